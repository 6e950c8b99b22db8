//! Answers to known read documents without async-graphql's execution (issue 22: server CPU per
//! page). Resolving a page of 50 applications field by field through async-graphql's dynamic
//! schema (a boxed future, an index map keyed by SipHash and a `Value` per field, then the
//! `Value` tree serialised) was two thirds of the server's instructions per page; the rows
//! themselves come from one report either way.
//!
//! A [`Plan`] is made from a parsed document that async-graphql has already executed without
//! an error (so it passed every validation rule; [`crate::documents`] keeps it with the
//! document), and only for the documents whose every field this module can write exactly as
//! async-graphql would: one query operation, no fragments and no directives, root fields that
//! are entity lists (`applications(first, after, orderBy, filter, where)`) selecting
//! `totalCount`, `pageInfo`, `nodes`, `edges { cursor node }` and `__typename`, and on nodes
//! their scalar fields, `custom(key:)` and to-one relations, to any depth. Arguments are
//! literals, or variables for `first`, `after` and `where` only.
//!
//! The page is read by the same [`read::list_page`] as the resolver's, as the caller, with
//! the same report text, so the same row filters and masks; this module only writes the rows
//! as JSON. Anything it does not expect (a variable of another type, an enum value the schema
//! does not know, a null where the schema says non-null, any error) makes it give up, and the
//! request runs through async-graphql as before, which answers or reports the error itself.
//! A test (`tests/it/direct.rs`) compares the two answers byte for byte, per role.

use std::fmt::Write as _;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Value, Variables};
use query_compiler::catalog::Type as CType;

use super::RequestCtx;
use super::model::{Shape, field_type};
use super::read::{self, ListArgs, Node, Page};

/// What a known document reads and how its answer is laid out. Every `key` below is a member
/// name as the answer writes it (`"total":`, [`member`]).
pub struct Plan {
    /// The operation's name in the document, if any.
    operation: Option<Name>,
    /// The variables the document declares: the default, whether `null` is refused, and
    /// the kind of value.
    variables: Vec<(Name, Option<Value>, bool, Kind)>,
    roots: Vec<Root>,
}

struct Root {
    key: String,
    shape: &'static Shape,
    first: Arg,
    after: Arg,
    order_by: Arg,
    filter: Arg,
    where_: Arg,
    /// The report paths the selection reads, as `read::collect` makes them for the resolver.
    paths: Vec<String>,
    wants_total: bool,
    items: Vec<ConnItem>,
}

enum Arg {
    Absent,
    Literal(Value),
    /// A variable (declared with the argument's kind: its value is of that kind, or null).
    Variable(Name),
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Text,
}

impl Kind {
    /// The kind of a variable declared with `ty` (`Int`, `String!`, ...), if a plan takes it.
    fn of(ty: &BaseType) -> Option<Kind> {
        match ty {
            BaseType::Named(n) if n.as_str() == "Int" => Some(Kind::Int),
            BaseType::Named(n) if n.as_str() == "String" => Some(Kind::Text),
            _ => None,
        }
    }
}

enum ConnItem {
    Typename(String, String),
    Total(String),
    PageInfo(String, Vec<(String, Info)>),
    Nodes(String, Vec<NodeItem>),
    Edges(String, Vec<EdgeItem>),
}

enum Info {
    Typename,
    HasNext,
    HasPrevious,
    EndCursor,
}

enum EdgeItem {
    Typename(String, String),
    Cursor(String),
    Node(String, Vec<NodeItem>),
}

enum NodeItem {
    Typename(String, &'static str),
    /// A field, read from the row's `column`.
    Field {
        key: String,
        column: usize,
        /// An enum field's values (its value must be one of them).
        values: Option<Vec<String>>,
    },
    Custom {
        key: String,
        column: usize,
    },
    /// A to-one relation, null when the column of its id is.
    Relation {
        key: String,
        id_column: usize,
        items: Vec<NodeItem>,
    },
}

/// The plan of `doc`, when every part of it is one this module writes.
pub fn plan(doc: &ExecutableDocument) -> Option<Plan> {
    if !doc.fragments.is_empty() {
        return None;
    }
    let (operation, op) = match &doc.operations {
        DocumentOperations::Single(op) => (None, op),
        DocumentOperations::Multiple(ops) if ops.len() == 1 => {
            let (name, op) = ops.iter().next()?;
            (Some(name.clone()), op)
        }
        DocumentOperations::Multiple(_) => return None,
    };
    let op = &op.node;
    if op.ty != OperationType::Query || !op.directives.is_empty() {
        return None;
    }
    let mut variables = Vec::new();
    for v in &op.variable_definitions {
        let v = &v.node;
        if !v.directives.is_empty() {
            return None;
        }
        variables.push((
            v.name.node.clone(),
            v.default_value.as_ref().map(|d| d.node.clone()),
            !v.var_type.node.nullable,
            Kind::of(&v.var_type.node.base)?,
        ));
    }
    let mut roots = Vec::new();
    let mut keys = Vec::new();
    for item in &op.selection_set.node.items {
        let Selection::Field(field) = &item.node else {
            return None;
        };
        let field = &field.node;
        let key = unique_key(&mut keys, field)?;
        let shape = read::shapes()
            .iter()
            .find(|s| s.entity.subject && s.has_id() && s.list_field == field.name.node.as_str())?;
        let mut root = Root {
            key,
            shape,
            first: Arg::Absent,
            after: Arg::Absent,
            order_by: Arg::Absent,
            filter: Arg::Absent,
            where_: Arg::Absent,
            paths: Vec::new(),
            wants_total: false,
            items: Vec::new(),
        };
        for (name, value) in &field.arguments {
            let value = &value.node;
            let (slot, kind) = match name.node.as_str() {
                "first" => (&mut root.first, Some(Kind::Int)),
                "after" => (&mut root.after, Some(Kind::Text)),
                "where" => (&mut root.where_, Some(Kind::Text)),
                "orderBy" => (&mut root.order_by, None),
                "filter" => (&mut root.filter, None),
                _ => return None,
            };
            // A variable standing for the whole argument: the only one met, and in its place
            // a null (the parser's `Value` is not exported, only this way to read it).
            let mut met = Vec::new();
            let whole = value.clone().into_const_with(|name| {
                met.push(name);
                Ok::<_, ()>(Value::Null)
            });
            let variable = match (whole, met.as_slice()) {
                (Ok(Value::Null), [name]) => Some(name.clone()),
                (_, []) => None,
                _ => return None,
            };
            *slot = match variable {
                // Declared with the argument's own kind (validation saw to the rest).
                Some(v) => {
                    let declared = variables.iter().find(|(n, ..)| *n == v)?.3;
                    if kind != Some(declared) {
                        return None;
                    }
                    Arg::Variable(v)
                }
                None => Arg::Literal(value.clone().into_const()?),
            };
        }
        connection(&field.selection_set.node, &mut root)?;
        roots.push(root);
    }
    if roots.is_empty() {
        return None;
    }
    Some(Plan {
        operation,
        variables,
        roots,
    })
}

/// The connection's selection, and the paths its nodes read.
fn connection(set: &SelectionSet, root: &mut Root) -> Option<()> {
    let shape = root.shape;
    let mut keys = Vec::new();
    let mut nodes_seen = false;
    for item in &set.items {
        let Selection::Field(f) = &item.node else {
            return None;
        };
        let f = &f.node;
        let key = unique_key(&mut keys, f)?;
        if !f.arguments.is_empty() {
            return None;
        }
        match f.name.node.as_str() {
            "__typename" => root.items.push(ConnItem::Typename(
                key,
                format!("{}Connection", shape.type_name),
            )),
            "totalCount" => {
                root.wants_total = true;
                root.items.push(ConnItem::Total(key));
            }
            "pageInfo" => {
                let mut infos = Vec::new();
                let mut info_keys = Vec::new();
                for i in &f.selection_set.node.items {
                    let Selection::Field(i) = &i.node else {
                        return None;
                    };
                    let i = &i.node;
                    let k = unique_key(&mut info_keys, i)?;
                    if !i.arguments.is_empty() {
                        return None;
                    }
                    let info = match i.name.node.as_str() {
                        "__typename" => Info::Typename,
                        "hasNextPage" => Info::HasNext,
                        "hasPreviousPage" => Info::HasPrevious,
                        "endCursor" => Info::EndCursor,
                        _ => return None,
                    };
                    infos.push((k, info));
                }
                root.items.push(ConnItem::PageInfo(key, infos));
            }
            "nodes" => {
                nodes_seen = true;
                let items = node_items(shape, &f.selection_set.node, "", &mut root.paths)?;
                root.items.push(ConnItem::Nodes(key, items));
            }
            "edges" => {
                let mut edge_items = Vec::new();
                let mut edge_keys = Vec::new();
                for e in &f.selection_set.node.items {
                    let Selection::Field(e) = &e.node else {
                        return None;
                    };
                    let e = &e.node;
                    let k = unique_key(&mut edge_keys, e)?;
                    if !e.arguments.is_empty() {
                        return None;
                    }
                    match e.name.node.as_str() {
                        "__typename" => edge_items
                            .push(EdgeItem::Typename(k, format!("{}Edge", shape.type_name))),
                        "cursor" => edge_items.push(EdgeItem::Cursor(k)),
                        "node" => {
                            nodes_seen = true;
                            let items =
                                node_items(shape, &e.selection_set.node, "", &mut root.paths)?;
                            edge_items.push(EdgeItem::Node(k, items));
                        }
                        _ => return None,
                    }
                }
                root.items.push(ConnItem::Edges(key, edge_items));
            }
            _ => return None,
        }
    }
    // Without a node selection the resolver reads the ids alone.
    if !nodes_seen {
        push(&mut root.paths, "id");
    }
    Some(())
}

/// The field's response key, written as the answer's member name (`"key":`), when it is the
/// only field of its selection with that key.
fn unique_key(keys: &mut Vec<String>, f: &async_graphql::parser::types::Field) -> Option<String> {
    if !f.directives.is_empty() {
        return None;
    }
    let key = member(f.response_key().node.as_str());
    if keys.contains(&key) {
        return None;
    }
    keys.push(key.clone());
    Some(key)
}

/// `"key":`, written once when the plan is made rather than for every row.
fn member(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 3);
    string(&mut out, key);
    out.push(':');
    out
}

/// The column of the report path `p`, added when new.
fn push(paths: &mut Vec<String>, p: &str) -> usize {
    match paths.iter().position(|q| q == p) {
        Some(i) => i,
        None => {
            paths.push(p.to_owned());
            paths.len() - 1
        }
    }
}

/// The literal `key` of `custom(key: "...")`, when it is a valid key.
fn custom_key(f: &async_graphql::parser::types::Field) -> Option<String> {
    let [(name, value)] = f.arguments.as_slice() else {
        return None;
    };
    match (&name.node, value.node.clone().into_const()?) {
        (n, Value::String(key))
            if n.as_str() == "key"
                && !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Some(key)
        }
        _ => None,
    }
}

/// The items of a node selection of `shape` under `prefix` (`candidate.`), and the report
/// paths they read, in the order `read::collect` gives them for the resolver (its id first,
/// then each field as selected), so that both run the same report text.
fn node_items(
    shape: &'static Shape,
    set: &SelectionSet,
    prefix: &str,
    paths: &mut Vec<String>,
) -> Option<Vec<NodeItem>> {
    if !shape.has_id() {
        // A related object is null when its id is: without one, the resolver's way is kept.
        return None;
    }
    push(paths, &format!("{prefix}id"));
    let mut items = Vec::new();
    let mut keys = Vec::new();
    for item in &set.items {
        let Selection::Field(f) = &item.node else {
            return None;
        };
        let f = &f.node;
        let key = unique_key(&mut keys, f)?;
        let name = f.name.node.as_str();
        if name == "__typename" {
            items.push(NodeItem::Typename(key, shape.type_name.as_str()));
        } else if let Some((_, field)) = shape.fields.iter().find(|(g, _)| g == name) {
            if !f.arguments.is_empty() || matches!(field.ty, CType::Multi(_)) {
                return None;
            }
            let (_, values) = field_type(&shape.type_name, field);
            items.push(NodeItem::Field {
                key,
                column: push(paths, &format!("{prefix}{}", field.name)),
                values: values.map(|(_, v)| v),
            });
        } else if name == "custom" && shape.entity.custom.is_some() {
            let path = format!("{prefix}custom.{}", custom_key(f)?);
            items.push(NodeItem::Custom {
                key,
                column: push(paths, &path),
            });
        } else if let Some((_, rel)) = shape.to_one.iter().find(|(g, _)| g == name) {
            if !f.arguments.is_empty() {
                return None;
            }
            let target = read::shapes().iter().find(|s| s.entity.id == rel.target)?;
            let inner = format!("{prefix}{}.", rel.name);
            let id_column = push(paths, &format!("{inner}id"));
            items.push(NodeItem::Relation {
                key,
                id_column,
                items: node_items(target, &f.selection_set.node, &inner, paths)?,
            });
        } else {
            return None;
        }
    }
    Some(items)
}

impl Plan {
    /// The answer to the document as the caller of `rc`, as the response's JSON text; `None`
    /// when the request must run through async-graphql instead (anything unexpected, any
    /// error: that path reports it).
    /// The value of `arg` in this request: `Some(None)` when not given, `None` when a variable's
    /// value is not of its declared kind or a null where the type refuses one (async-graphql
    /// reports those).
    fn argument<'a>(&'a self, arg: &'a Arg, variables: &'a Variables) -> Option<Option<&'a Value>> {
        static NULL: Value = Value::Null;
        let name = match arg {
            Arg::Absent => return Some(None),
            Arg::Literal(v) => return Some(Some(v)),
            Arg::Variable(name) => name,
        };
        let (_, default, non_null, kind) = self.variables.iter().find(|(n, ..)| n == name)?;
        let v = variables.get(name).or(default.as_ref()).unwrap_or(&NULL);
        match (v, kind) {
            (Value::Null, _) if *non_null => None,
            (Value::Null, _) => Some(Some(v)),
            (Value::Number(n), Kind::Int) if n.is_i64() => Some(Some(v)),
            (Value::String(_), Kind::Text) => Some(Some(v)),
            _ => None,
        }
    }

    /// The answer, written up to `limit` bytes (`limits.max_response_bytes`): past it the
    /// writing stops and the request is refused as the usual way refuses it (red team, pass 4:
    /// a plan wrote 303 MB against 32 MiB).
    pub async fn run(
        &self,
        rc: &RequestCtx,
        operation_name: Option<&str>,
        variables: &Variables,
        limit: usize,
    ) -> Run {
        match self.answer(rc, operation_name, variables, limit).await {
            Some(text) if text.len() > limit => Run::TooLarge,
            Some(text) => Run::Answer(text),
            None => Run::Fallback,
        }
    }

    async fn answer(
        &self,
        rc: &RequestCtx,
        operation_name: Option<&str>,
        variables: &Variables,
        limit: usize,
    ) -> Option<String> {
        if let Some(asked) = operation_name
            && self.operation.as_ref().map(Name::as_str) != Some(asked)
        {
            return None;
        }
        let mut out = String::with_capacity(16 * 1024);
        out.push_str("{\"data\":{");
        for (i, root) in self.roots.iter().enumerate() {
            let value = |arg| self.argument(arg, variables);
            let args = ListArgs {
                first: value(&root.first)?,
                after: value(&root.after)?,
                order_by: value(&root.order_by)?,
                filter: value(&root.filter)?,
                where_: value(&root.where_)?,
            };
            let span = tracing::info_span!("resolver", field = root.shape.list_field.as_str());
            let page = tracing::Instrument::instrument(
                read::list_page(
                    rc,
                    root.shape,
                    Vec::new(),
                    &args,
                    root.paths.clone(),
                    root.wants_total,
                ),
                span,
            )
            .await
            .ok()?;
            if i > 0 {
                out.push(',');
            }
            out.push_str(&root.key);
            if !write_connection(&mut out, &root.items, &page, limit)? {
                return Some(out);
            }
        }
        out.push_str("}}");
        Some(out)
    }
}

/// `s` as a JSON string, escaped as serde_json escapes it (async-graphql's answers are
/// written with serde_json; the tests below hold the two to the same bytes). By hand: serde_json
/// writes only to an `io::Write`, and a buffer and a copy per value were a tenth of a page.
/// Eight bytes at a time are checked for anything to escape ([`needs_escape`]), and copied whole
/// when there is none: most of a page's text (ids, names, titles) has nothing to escape.
fn string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // The next eight bytes (fewer at the end, padded with spaces, which need no escape).
        let n = (bytes.len() - i).min(8);
        let mut word = [b' '; 8];
        word[..n].copy_from_slice(&bytes[i..i + n]);
        if !needs_escape(u64::from_le_bytes(word)) {
            i += n;
            continue;
        }
        for (j, &b) in bytes.iter().enumerate().skip(i).take(n) {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            // `j` is at an ASCII byte, so on a character boundary.
            out.push_str(&s[start..j]);
            if escape.is_empty() {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            } else {
                out.push_str(escape);
            }
            start = j + 1;
        }
        i += n;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether any of the eight bytes of `word` is a control character (below 0x20), `"` or `\`:
/// the classic word-at-a-time tests ("determine if a word has a byte less than n", and "has a
/// zero byte" after XOR with the byte repeated), exact as to whether one is there.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero = |v: u64| v.wrapping_sub(ONES) & !v;
    (below | zero(quote) | zero(backslash)) & HIGH != 0
}

/// What a plan's run gives.
pub enum Run {
    /// The answer, whole.
    Answer(String),
    /// The answer went past `limits.max_response_bytes`: refuse the request.
    TooLarge,
    /// The plan does not answer this request: run it the usual way.
    Fallback,
}

/// Writes a connection's answer; `Some(false)` when `out` went past `limit` (it stops there).
fn write_connection(
    out: &mut String,
    items: &[ConnItem],
    page: &Page,
    limit: usize,
) -> Option<bool> {
    out.push('{');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            ConnItem::Typename(key, name) => {
                out.push_str(key);
                string(out, name);
            }
            ConnItem::Total(key) => {
                out.push_str(key);
                let _ = write!(out, "{}", page.total.unwrap_or(0));
            }
            ConnItem::PageInfo(key, infos) => {
                out.push_str(key);
                out.push('{');
                for (j, (k, info)) in infos.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    match info {
                        Info::Typename => string(out, "PageInfo"),
                        Info::HasNext => out.push_str(bool_text(page.has_next)),
                        Info::HasPrevious => out.push_str(bool_text(page.has_previous)),
                        Info::EndCursor => match page.end_cursor() {
                            Some(c) => string(out, &c),
                            None => out.push_str("null"),
                        },
                    }
                }
                out.push('}');
            }
            ConnItem::Nodes(key, node_items) => {
                out.push_str(key);
                out.push('[');
                for (j, node) in page.nodes.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_node(out, node_items, node)?;
                    if out.len() > limit {
                        return Some(false);
                    }
                }
                out.push(']');
            }
            ConnItem::Edges(key, edge_items) => {
                out.push_str(key);
                out.push('[');
                for (j, node) in page.nodes.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push('{');
                    for (e, item) in edge_items.iter().enumerate() {
                        if e > 0 {
                            out.push(',');
                        }
                        match item {
                            EdgeItem::Typename(k, name) => {
                                out.push_str(k);
                                string(out, name);
                            }
                            EdgeItem::Cursor(k) => {
                                out.push_str(k);
                                string(out, &read::cursor_of(node));
                            }
                            EdgeItem::Node(k, node_items) => {
                                out.push_str(k);
                                write_node(out, node_items, node)?;
                            }
                        }
                    }
                    out.push('}');
                    if out.len() > limit {
                        return Some(false);
                    }
                }
                out.push(']');
            }
        }
    }
    out.push('}');
    Some(true)
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn write_node(out: &mut String, items: &[NodeItem], node: &Node) -> Option<()> {
    use query_compiler::Value as V;
    out.push('{');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            NodeItem::Typename(key, name) => {
                out.push_str(key);
                string(out, name);
            }
            NodeItem::Field {
                key,
                column,
                values,
            } => {
                out.push_str(key);
                match (node.column(*column)?, values) {
                    (V::Null, _) => out.push_str("null"),
                    (V::Text(s), Some(values)) => {
                        if !values.iter().any(|v| v == s) {
                            return None;
                        }
                        string(out, s);
                    }
                    (_, Some(_)) => return None,
                    (V::Text(s) | V::Date(s), None) => string(out, s),
                    (V::Integer(n), None) => {
                        let _ = write!(out, "{n}");
                    }
                    (V::Bool(b), None) => out.push_str(bool_text(*b)),
                    // An RFC 3339 instant: digits, `-`, `:`, `.`, `T` and `Z`, nothing to escape.
                    (v @ V::Instant(us), None) => {
                        match query_compiler::instant_text(*us)
                            .as_ref()
                            .and_then(|b| std::str::from_utf8(b).ok())
                        {
                            Some(text) => {
                                out.push('"');
                                out.push_str(text);
                                out.push('"');
                            }
                            None => {
                                let _ = write!(out, "\"{v}\"");
                            }
                        }
                    }
                    (other, None) => {
                        let text = serde_json::to_string(&read::to_value(other, false)).ok()?;
                        out.push_str(&text);
                    }
                }
            }
            NodeItem::Custom { key, column } => {
                out.push_str(key);
                match node.column(*column)? {
                    V::Null => out.push_str("null"),
                    v => {
                        let text = serde_json::to_string(&read::to_value(v, false)).ok()?;
                        out.push_str(&text);
                    }
                }
            }
            NodeItem::Relation {
                key,
                id_column,
                items,
            } => {
                out.push_str(key);
                match node.column(*id_column)? {
                    // Absent, or hidden from the caller: null, as the resolver answers.
                    V::Null => out.push_str("null"),
                    _ => write_node(out, items, node)?,
                }
            }
        }
    }
    out.push('}');
    Some(())
}

#[cfg(test)]
mod tests {
    use super::string;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut every = String::new();
        for c in (0u32..0x300).chain([0x2028, 0x2029, 0xfeff, 0x1f600]) {
            every.extend(char::from_u32(c));
        }
        for s in [
            "",
            "plain",
            "a \"quoted\" \\ back",
            "tab\tnew\nline\r",
            every.as_str(),
        ] {
            let mut ours = String::new();
            string(&mut ours, s);
            assert_eq!(ours, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    /// Every byte that needs escaping, and some that do not, at every position of strings of
    /// every length up to 40 (so in every lane of a word and in the tail after the last word),
    /// beside multi-byte characters.
    #[test]
    fn escapes_are_found_in_every_lane_of_a_word() {
        let specials: Vec<char> = (0u8..0x20)
            .map(char::from)
            .chain(['"', '\\', ' ', '!', '#', '[', ']', '\u{7f}', 'é', '😀'])
            .collect();
        for len in 0..40 {
            for at in 0..len.max(1) {
                for &c in &specials {
                    let s: String = (0..len).map(|i| if i == at { c } else { 'a' }).collect();
                    let mut ours = String::new();
                    string(&mut ours, &s);
                    assert_eq!(ours, serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
    }
}
