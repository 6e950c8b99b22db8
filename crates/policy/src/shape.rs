//! Bounds on a policy text's shape, checked before Cedar sees it.
//!
//! Cedar's parser and the passes after it (validation, partial evaluation into row filters,
//! `residual`) recurse on the expression tree with no limit of their own, and partial
//! evaluation of nested `if ... then ... else` doubles its work with each level. A 588-byte
//! text of 200 nested parentheses overflowed a database worker's stack (the process aborted),
//! a chain of 5,000 `&&` did the same, and 16 nested `if`s took seconds and gigabytes. An org's
//! admin sets the policy, and one org must not take the server from the others, so the text is
//! held to what a policy needs, in one pass over its bytes without recursion:
//!
//! - brackets (`(`, `[`, `{`) nest at most [`MAX_NESTING`] levels;
//! - one policy (up to its `;`) has at most [`MAX_OPERATORS`] operators (`&&`, `||`, comparisons,
//!   arithmetic, `!`, `.` of an attribute or a method, and `[`): a chain of operators nests as
//!   deep as it is long;
//! - one policy has at most [`MAX_IFS`] `if`s;
//! - a string holds at most [`MAX_STRING`] bytes (`like` backtracks over its two strings).
//!
//! Strings and `//` comments are skipped. The shipped default policy is far inside every bound
//! (its deepest nesting is 4 levels, its longest policy a dozen operators, no `if`).

use crate::engine::Problem;

/// The deepest bracket nesting a policy text may have.
pub const MAX_NESTING: usize = 32;
/// The most operators one policy may have.
pub const MAX_OPERATORS: usize = 200;
/// The most `if` expressions one policy may have.
pub const MAX_IFS: usize = 4;
/// The longest string a policy text may hold, in bytes.
pub const MAX_STRING: usize = 1_000;

/// The first place where `text` goes past a bound, as a problem at its line and column.
pub fn check(text: &str) -> Option<Problem> {
    let bytes = text.as_bytes();
    let (mut depth, mut operators, mut ifs) = (0usize, 0usize, 0usize);
    let mut i = 0;
    let problem = |at: usize, message: String| {
        let (line, column) = crate::engine::line_col(text, at);
        Some(Problem {
            line,
            column,
            policy: None,
            message,
        })
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                // A string: up to the closing quote that is not escaped.
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                // `like` matches with backtracking, in time the product of its two strings'
                // lengths (red team, pass 21: two of 40,000 and 20,000 characters ran minutes
                // past the request's end).
                if i - start > MAX_STRING {
                    return problem(
                        start,
                        format!(
                            "a string longer than {MAX_STRING} bytes: policies compare short values"
                        ),
                    );
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                // `[` also reads an attribute (`principal["a"]`) or opens a set: a chain of
                // them nests as deep as it is long, each closed before the next opens (red
                // team, pass 20: `principal["a"]` 4,000 times overflowed the stack).
                if b == b'[' {
                    operators += 1;
                }
                depth += 1;
                if depth > MAX_NESTING {
                    return problem(
                        i,
                        format!(
                            "brackets nest more than {MAX_NESTING} levels deep: write the condition with fewer levels"
                        ),
                    );
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => {
                operators = 0;
                ifs = 0;
            }
            b'&' | b'|' if bytes.get(i + 1) == Some(&b) => {
                operators += 1;
                i += 1;
            }
            // `.` reads an attribute or calls a method: a chain of them nests as deep as it is
            // long too (red team, pass 19: `principal.a.a...` 5,000 long overflowed the stack).
            b'.' => operators += 1,
            b'=' | b'!' | b'<' | b'>' | b'+' | b'-' | b'*' => {
                operators += 1;
                if bytes.get(i + 1) == Some(&b'=') {
                    i += 1;
                }
            }
            b'i' if bytes.get(i + 1) == Some(&b'f')
                && (i == 0 || !is_word(bytes[i - 1]))
                && !bytes.get(i + 2).copied().is_some_and(is_word) =>
            {
                ifs += 1;
                if ifs > MAX_IFS {
                    return problem(
                        i,
                        format!(
                            "one policy has more than {MAX_IFS} `if` expressions: split it into several policies"
                        ),
                    );
                }
                i += 1;
            }
            _ => {}
        }
        if operators > MAX_OPERATORS {
            return problem(
                i,
                format!(
                    "one policy has more than {MAX_OPERATORS} operators: split it into several policies, or use `in [...]` for a list of values"
                ),
            );
        }
        i += 1;
    }
    None
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_inside_every_bound() {
        assert_eq!(check(crate::DEFAULT_POLICY), None);
    }

    #[test]
    fn deep_long_and_branching_texts_are_refused_where_they_go_past() {
        let deep = format!(
            "@id(\"a\")\npermit (principal, action, resource)\nwhen {{ {}true{} }};",
            "(".repeat(200),
            ")".repeat(200)
        );
        let p = check(&deep).unwrap();
        assert!(p.message.contains("nest more than 32"), "{p:?}");
        // The `{` of `when` is the first level.
        assert_eq!((p.line, p.column), (3, 8 + 31));

        let chain = format!(
            "@id(\"a\")\npermit (principal, action, resource)\nwhen {{ {} }};",
            vec!["principal.role == \"x\""; 2_500].join(" && ")
        );
        assert!(
            check(&chain)
                .unwrap()
                .message
                .contains("more than 200 operators")
        );

        // A `like` of two long strings (red team, pass 21: minutes of CPU).
        let like = format!(
            "@id(\"x\")\npermit(principal, action, resource) when {{ \"{}\" like \"*{}b\" }};",
            "a".repeat(4_000),
            "a".repeat(2_000)
        );
        let p = check(&like).unwrap();
        assert!(p.message.contains("longer than 1000 bytes"), "{p:?}");
        assert_eq!((p.line, p.column), (2, 44));
        // Attributes read one after another (red team, pass 19: 5,000 overflowed the stack).
        let attributes = format!(
            "@id(\"x\")\npermit(principal, action, resource) when {{ principal{} == 1 }};",
            ".a".repeat(5_000)
        );
        let p = check(&attributes).unwrap();
        assert!(p.message.contains("more than 200 operators"), "{p:?}");
        // And read with brackets (red team, pass 20).
        let brackets = format!(
            "@id(\"x\")\npermit(principal, action, resource) when {{ principal{} == 1 }};",
            "[\"a\"]".repeat(4_000)
        );
        let q = check(&brackets).unwrap();
        assert!(q.message.contains("more than 200 operators"), "{q:?}");
        assert_eq!((q.line, q.column), (2, 52 + 5 * 200 + 1));
        // The 201st `.`, after `permit(...) when { principal` (52 characters).
        assert_eq!((p.line, p.column), (2, 52 + 2 * 200 + 1));

        let mut ifs = "true".to_owned();
        for _ in 0..16 {
            ifs = format!("if principal.role == \"a\" then {ifs} else false");
        }
        let nested = format!("@id(\"a\")\npermit (principal, action, resource)\nwhen {{ {ifs} }};");
        assert!(check(&nested).unwrap().message.contains("more than 4 `if`"));

        // The bounds are per policy: many policies of a few operators each are fine.
        let many = vec!["@id(\"a\") permit (principal, action, resource) when { principal.role == \"x\" && resource.confidential == false };"; 500].join("\n");
        assert_eq!(check(&many), None);
        // Strings and comments do not count; words that contain `if` are not `if`s.
        let quiet = format!(
            "// (((((( {}\n@id(\"a\") permit (principal, action, resource) when {{ principal.name == \"(((if if if if if &&&&\" && principal.notified }};",
            "((".repeat(100)
        );
        assert_eq!(check(&quiet), None);
    }
}
