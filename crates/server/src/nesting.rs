//! How deeply a request nests, measured before anything recursive reads it.
//!
//! async-graphql's parser and validation, serde and the resolvers all recurse on nested input: a
//! few kilobytes of `[[[[...]]]]` in any argument would overflow a thread's stack and abort the
//! process. So the server scans the body's JSON and then the query text once, iteratively,
//! counting open brackets outside strings and comments, and refuses a request nested deeper
//! than `limits.max_nesting` before parsing it ([`json`], [`graphql`]).

/// Where a text first nests deeper than allowed (line and column from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooDeep {
    pub line: usize,
    pub column: usize,
}

impl TooDeep {
    fn at(text: &[u8], offset: usize) -> TooDeep {
        let before = &text[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Columns count characters, not bytes.
        let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        TooDeep { line, column }
    }
}

/// Where JSON `text` opens its `max + 1`th nested array or object, if it does.
pub fn json(text: &[u8], max: usize) -> Option<TooDeep> {
    query_syntax::json_too_deep_at(text, max).map(|at| TooDeep::at(text, at))
}

/// Where GraphQL document `text` opens its `max + 1`th nested selection set, argument list, list
/// or input object (`{`, `(`, `[`, counted together), if it does. Strings (`"..."` with escapes,
/// block strings `"""..."""`) and comments (`#` to the end of the line) do not count.
pub fn graphql(text: &str, max: usize) -> Option<TooDeep> {
    #[derive(PartialEq)]
    enum In {
        Code,
        String,
        Block,
        Comment,
    }
    let bytes = text.as_bytes();
    let (mut depth, mut state, mut at) = (0usize, In::Code, 0usize);
    let starts = |at: usize, s: &[u8]| bytes.get(at..at + s.len()) == Some(s);
    while at < bytes.len() {
        let b = bytes[at];
        match state {
            In::Code => match b {
                b'#' => state = In::Comment,
                b'"' if starts(at, b"\"\"\"") => {
                    state = In::Block;
                    at += 2;
                }
                b'"' => state = In::String,
                b'{' | b'(' | b'[' => {
                    depth += 1;
                    if depth > max {
                        return Some(TooDeep::at(bytes, at));
                    }
                }
                b'}' | b')' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            },
            In::String => match b {
                b'\\' => at += 1,
                b'"' | b'\n' | b'\r' => state = In::Code,
                _ => {}
            },
            In::Block => {
                if starts(at, b"\\\"\"\"") {
                    at += 3;
                } else if starts(at, b"\"\"\"") {
                    state = In::Code;
                    at += 2;
                }
            }
            In::Comment => {
                if b == b'\n' || b == b'\r' {
                    state = In::Code;
                }
            }
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn counts_brackets_outside_strings_and_comments() {
        let q = "{ a(x: [1, {b: [2]}]) { c } }";
        assert_eq!(graphql(q, 5), None);
        assert_eq!(
            graphql(q, 4),
            Some(TooDeep {
                line: 1,
                column: 16
            })
        );
        let q = "# ((((((\n{ a(s: \"[[[[\\\"[[\", t: \"\"\"\n[[[[ \\\"\"\" [[\"\"\") }";
        assert_eq!(graphql(q, 2), None);
        assert_eq!(graphql(q, 1), Some(TooDeep { line: 2, column: 4 }));
        assert_eq!(graphql("{ é ( [", 2), Some(TooDeep { line: 1, column: 7 }));
        let j = br#"{"query": "[[[[{{", "v": [{"x": "\"[["}]}"#;
        assert_eq!(json(j, 3), None);
        assert_eq!(
            json(j, 2),
            Some(TooDeep {
                line: 1,
                column: 27
            })
        );
    }

    #[test]
    fn a_hundred_thousand_levels_on_a_small_stack() {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let n = 100_000;
                let q = format!(
                    "{{ viewer(x: {}1{}) {{ id }} }}",
                    "[".repeat(n),
                    "]".repeat(n)
                );
                assert!(graphql(&q, 100).is_some());
                let q = format!(
                    "{{ viewer(x: {}1{}) {{ id }} }}",
                    "{a:".repeat(n),
                    "}".repeat(n)
                );
                assert!(graphql(&q, 100).is_some());
                let body = format!(
                    "{{\"variables\": {{\"x\": {}{}}}}}",
                    "[".repeat(n),
                    "]".repeat(n)
                );
                assert!(json(body.as_bytes(), 100).is_some());
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
