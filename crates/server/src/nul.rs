//! Text no store keeps: the NUL character (U+0000), refused where a request carries it.
//!
//! PostgreSQL keeps no NUL in text (SQLSTATE 22021) and SQLite would keep one that PostgreSQL
//! then refuses on export or import, so no argument of any field may hold one. Mutations'
//! inputs name the field themselves (`graphql::mutations`); this check covers every other
//! argument (scheduling, automation, flags, reports, filters) before anything runs, and names
//! where the character is: a variable's path (`$input.sessions[1].name`) or an argument's line
//! and column in the query. Without it such a value would reach the store and be refused there
//! by the safety net (`StoreError::BadValue`), which cannot say which field it was.

use async_graphql::Pos;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql_value::{ConstValue, Value};

/// Where a request holds the NUL character.
#[derive(Debug, PartialEq, Eq)]
pub struct Nul {
    /// `$name.field[2]` for a variable, `field(argument:)` for a literal argument.
    pub what: String,
    /// The argument's position in the query, for a literal.
    pub pos: Option<Pos>,
}

impl Nul {
    pub fn message(&self) -> String {
        match self.pos {
            Some(pos) => format!(
                "`{}` at line {}, column {} must not contain the NUL character (U+0000)",
                self.what, pos.line, pos.column
            ),
            None => format!(
                "`{}` must not contain the NUL character (U+0000)",
                self.what
            ),
        }
    }
}

/// The first of `variables` (by name) that holds NUL in a string or an object's key.
pub fn in_variables(variables: &async_graphql::Variables) -> Option<Nul> {
    variables.iter().find_map(|(name, value)| {
        nul_path(value).map(|path| Nul {
            what: format!("${name}{path}"),
            pos: None,
        })
    })
}

/// The first argument of `doc` (of a field or a directive, or a variable's default) whose
/// literal holds NUL. Fragments are looked at once each, where they are defined.
pub fn in_document(doc: &ExecutableDocument) -> Option<Nul> {
    let mut sets: Vec<&SelectionSet> = Vec::new();
    for (_, op) in doc.operations.iter() {
        for var in &op.node.variable_definitions {
            if let Some(default) = &var.node.default_value
                && let Some(path) = nul_path(&default.node)
            {
                return Some(Nul {
                    what: format!("${}{path} (default)", var.node.name.node),
                    pos: Some(default.pos),
                });
            }
        }
        sets.push(&op.node.selection_set.node);
    }
    sets.extend(doc.fragments.values().map(|f| &f.node.selection_set.node));
    // Depth-first with a stack: selection sets nest as deep as the query (bounded before by
    // `nesting::graphql`, but no recursion is needed).
    while let Some(set) = sets.pop() {
        for item in &set.items {
            let (directives, inner) = match &item.node {
                Selection::Field(f) => {
                    let field = &f.node;
                    for (name, value) in &field.arguments {
                        if let Some(path) = nul_path(&value.node) {
                            return Some(Nul {
                                what: format!("{}({}:){path}", field.name.node, name.node),
                                pos: Some(value.pos),
                            });
                        }
                    }
                    (&field.directives, Some(&field.selection_set.node))
                }
                // The fragment is looked at where it is defined.
                Selection::FragmentSpread(s) => (&s.node.directives, None),
                Selection::InlineFragment(i) => {
                    (&i.node.directives, Some(&i.node.selection_set.node))
                }
            };
            for directive in directives {
                for (name, value) in &directive.node.arguments {
                    if let Some(path) = nul_path(&value.node) {
                        return Some(Nul {
                            what: format!("@{}({}:){path}", directive.node.name.node, name.node),
                            pos: Some(value.pos),
                        });
                    }
                }
            }
            sets.extend(inner);
        }
    }
    None
}

/// A value of a request: a constant (a variable's) or a literal of the query (which may name
/// variables: they are checked by [`in_variables`]). One walk serves both.
trait Tree: Sized {
    fn node(&self) -> Node<'_, Self>;
}

enum Node<'a, T> {
    Text(&'a str),
    List(&'a [T]),
    Object(Vec<(&'a str, &'a T)>),
    Other,
}

impl Tree for ConstValue {
    fn node(&self) -> Node<'_, Self> {
        match self {
            ConstValue::String(s) => Node::Text(s),
            ConstValue::List(items) => Node::List(items),
            ConstValue::Object(fields) => {
                Node::Object(fields.iter().map(|(k, v)| (k.as_str(), v)).collect())
            }
            _ => Node::Other,
        }
    }
}

impl Tree for Value {
    fn node(&self) -> Node<'_, Self> {
        match self {
            Value::String(s) => Node::Text(s),
            Value::List(items) => Node::List(items),
            Value::Object(fields) => {
                Node::Object(fields.iter().map(|(k, v)| (k.as_str(), v)).collect())
            }
            _ => Node::Other,
        }
    }
}

/// The path below `value` to its first string or key holding NUL (`""` for `value` itself).
/// Walked first without paths, since nearly every request holds none: the paths are made only
/// when there is one to name.
fn nul_path<T: Tree>(value: &T) -> Option<String> {
    let mut stack = vec![value];
    let mut found = false;
    while let Some(v) = stack.pop() {
        match v.node() {
            Node::Text(s) if s.contains('\0') => found = true,
            Node::List(items) => stack.extend(items),
            Node::Object(fields) => {
                found |= fields.iter().any(|(k, _)| k.contains('\0'));
                stack.extend(fields.into_iter().map(|(_, v)| v));
            }
            _ => {}
        }
        if found {
            break;
        }
    }
    if !found {
        return None;
    }
    let mut stack: Vec<(&T, String)> = vec![(value, String::new())];
    while let Some((v, path)) = stack.pop() {
        match v.node() {
            Node::Text(s) if s.contains('\0') => return Some(path),
            Node::List(items) => stack.extend(
                items
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(i, item)| (item, format!("{path}[{i}]"))),
            ),
            Node::Object(fields) => {
                for (key, item) in fields.into_iter().rev() {
                    if key.contains('\0') {
                        return Some(path);
                    }
                    stack.push((item, format!("{path}.{key}")));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(query: &str) -> Option<Nul> {
        in_document(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn literals_anywhere_in_a_query_are_found_with_their_place() {
        assert_eq!(doc("{ a(x: \"fine\") { b(y: [\"ok\"]) } }"), None);
        let nul = doc("{ a(x: \"fine\") {\n  b(y: [\"ok\", {k: \"x\\u0000\"}]) } }").unwrap();
        assert_eq!(nul.what, "b(y:)[1].k");
        assert_eq!(nul.pos.map(|p| (p.line, p.column)), Some((2, 8)));
        assert!(
            nul.message().contains("line 2, column 8"),
            "{}",
            nul.message()
        );
        // In a fragment never spread, in a directive, in a variable's default.
        assert_eq!(
            doc("{ a } fragment F on Q { b(y: \"\\u0000\") }")
                .unwrap()
                .what,
            "b(y:)"
        );
        assert_eq!(
            doc("{ a @include(if: true) ... on Q @skip(n: \"\\u0000\") { b } }")
                .unwrap()
                .what,
            "@skip(n:)"
        );
        assert_eq!(
            doc("query($v: String = \"\\u0000\") { a(x: $v) }")
                .unwrap()
                .what,
            "$v (default)"
        );
    }

    #[test]
    fn variables_are_found_by_their_path() {
        let vars = |json: serde_json::Value| {
            in_variables(&async_graphql::Variables::from_json(json)).map(|n| n.message())
        };
        assert_eq!(
            vars(serde_json::json!({"a": "fine", "b": [1, {"c": "ok"}]})),
            None
        );
        assert_eq!(
            vars(serde_json::json!({"a": "fine", "input": {"sessions": [{}, {"name": "x\u{0}"}]}})),
            Some("`$input.sessions[1].name` must not contain the NUL character (U+0000)".into())
        );
        assert_eq!(
            vars(serde_json::json!({"k": {"bad\u{0}key": 1}})),
            Some("`$k` must not contain the NUL character (U+0000)".into())
        );
    }
}
