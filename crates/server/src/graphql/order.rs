//! The order of a list (`applications(orderBy: {field: APPLIED_AT, direction: DESC})`) and its
//! cursors.
//!
//! A list is ordered by one of its entity's own fields and then by `id`, both in the same
//! direction, so that every row has one place and the next page starts right after the last
//! row's (value, id): keyset pagination, stable under inserts, in the order the caller chose.
//! Without `orderBy` a list is newest first: by its first timestamp field every role sees,
//! descending (`applied_at` for applications), else by `id`; the store keeps an index for each
//! of these orders (migration 11). The condition of a page after a cursor is
//! report text (`applied_at <= T and (applied_at < T or id < "a_9")`), so the caller's policy
//! filters and masks apply to it as to the rest of the list: ordering by a field the caller
//! may not see orders by null (masked values read as null), telling nothing.
//!
//! A cursor is the hex of a JSON object naming the order it belongs to, the last row's value
//! and id; a cursor of another order is refused. Ordered by `id`, a cursor is the hex of the
//! id alone (the form of the first cursors, still accepted).

use async_graphql::dynamic::{Enum, EnumItem, InputObject, InputValue, TypeRef};
use query_compiler::catalog::{Field, FieldGroup, Type as CType};
use query_compiler::{Fill, Value};

use super::model::Shape;
use super::read::{literal, path_text};
use super::{Code, error};

/// How a list is ordered: by `field` (a catalog field name; `id` alone when it is `id`), then
/// by `id`, both descending when `desc`.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub field: &'static str,
    ty: Kind,
    pub desc: bool,
}

/// The kinds of value an order field holds (how a cursor keeps and writes them).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Integer,
    Number,
    Instant,
    Date,
}

fn kind(ty: &CType) -> Option<Kind> {
    Some(match ty {
        CType::Text | CType::Enum(_) => Kind::Text,
        CType::Integer => Kind::Integer,
        CType::Number => Kind::Number,
        CType::Instant => Kind::Instant,
        CType::Date => Kind::Date,
        _ => return None,
    })
}

/// The fields a list of `shape` may be ordered by: its own fields holding text, numbers,
/// timestamps or dates (not lists, maps or booleans), with their GraphQL names
/// (`APPLIED_AT`).
pub fn fields(shape: &Shape) -> Vec<(String, &'static Field)> {
    shape
        .fields
        .iter()
        .filter(|(_, f)| kind(&f.ty).is_some())
        .map(|(_, f)| (f.name.to_ascii_uppercase(), *f))
        .collect()
}

/// The order of a list of `shape` without `orderBy`: newest first, by its first timestamp that
/// every role sees (jobs: `created_at`, not the restricted `opened_at`).
pub fn default(shape: &Shape) -> Order {
    let first_time = shape
        .fields
        .iter()
        .map(|(_, f)| *f)
        .find(|f| f.ty == CType::Instant && f.group == FieldGroup::Plain);
    match first_time {
        Some(f) => Order {
            field: f.name,
            ty: Kind::Instant,
            desc: true,
        },
        None => Order::by_id(),
    }
}

/// The `OrderDirection` enum, shared by every list.
pub fn direction_type() -> Enum {
    Enum::new("OrderDirection")
        .description("The direction of a list's order")
        .item(EnumItem::new("ASC").description("Smallest first; nulls last"))
        .item(EnumItem::new("DESC").description("Largest (newest) first; nulls first"))
}

/// The `{Type}OrderField` enum and the `{Type}Order` input of `shape`; `None` when it has no
/// field to order by.
pub fn types(shape: &Shape) -> Option<(Enum, InputObject)> {
    let fields = fields(shape);
    if fields.is_empty() {
        return None;
    }
    let t = &shape.type_name;
    let mut e = Enum::new(format!("{t}OrderField")).description(format!(
        "The fields {} can be ordered by (then by id)",
        shape.entity.name
    ));
    for (name, f) in &fields {
        e = e.item(EnumItem::new(name).description(f.doc));
    }
    let input = InputObject::new(format!("{t}Order"))
        .description(format!(
            "How to order {}: by a field, then by id, both in `direction`",
            shape.entity.name
        ))
        .field(
            InputValue::new("field", TypeRef::named_nn(format!("{t}OrderField")))
                .description("The field to order by; rows equal on it follow by id"),
        )
        .field(
            InputValue::new("direction", TypeRef::named("OrderDirection"))
                .description("`ASC` unless given"),
        );
    Some((e, input))
}

/// The `orderBy` argument of a list of `shape`, when it has fields to order by.
pub fn argument(shape: &Shape) -> Option<InputValue> {
    let d = default(shape);
    fields(shape).first()?;
    Some(
        InputValue::new(
            "orderBy",
            TypeRef::named(format!("{}Order", shape.type_name)),
        )
        .description(format!(
            "The order of the list (then by id); default: by `{}` {}",
            d.field,
            if d.desc {
                "descending (newest first)"
            } else {
                "ascending"
            }
        )),
    )
}

/// The order an `orderBy` argument asks for (`None`: the default).
pub fn parse(shape: &Shape, arg: Option<&async_graphql::Value>) -> async_graphql::Result<Order> {
    let Some(arg) = arg.filter(|v| !matches!(v, async_graphql::Value::Null)) else {
        return Ok(default(shape));
    };
    let async_graphql::Value::Object(arg) = arg else {
        return Err(error(
            Code::BadUserInput,
            Some("orderBy"),
            "`orderBy` must be an object",
        ));
    };
    let Some(name) = arg.get("field").and_then(super::read::enum_name) else {
        return Err(error(
            Code::BadUserInput,
            Some("orderBy.field"),
            "`orderBy.field` must be one of the order fields",
        ));
    };
    let Some((_, field)) = fields(shape).into_iter().find(|(n, _)| n == name) else {
        return Err(error(
            Code::BadUserInput,
            Some("orderBy.field"),
            format!(
                "`{name}` is not a field {} can be ordered by",
                shape.entity.name
            ),
        ));
    };
    let desc = match arg
        .get("direction")
        .filter(|v| !matches!(v, async_graphql::Value::Null))
    {
        Some(d) => super::read::enum_name(d) == Some("DESC"),
        None => false,
    };
    Ok(Order {
        field: field.name,
        ty: kind(&field.ty).unwrap_or(Kind::Text),
        desc,
    })
}

impl Order {
    /// By `id`, ascending: the order of lists of entities without a timestamp.
    pub fn by_id() -> Order {
        Order {
            field: "id",
            ty: Kind::Text,
            desc: false,
        }
    }

    fn is_by_id(&self) -> bool {
        self.field == "id"
    }

    fn direction(&self) -> &'static str {
        if self.desc { " desc" } else { "" }
    }

    /// The report's `order by` items.
    pub fn clause(&self) -> Vec<String> {
        let id = format!("id{}", self.direction());
        if self.is_by_id() {
            vec![id]
        } else {
            vec![format!("{}{}", path_text(self.field), self.direction()), id]
        }
    }

    /// The cursor of a row whose order field holds `value` and whose id is `id`.
    pub fn cursor(&self, value: Option<&Value>, id: &str) -> String {
        let text = if self.is_by_id() && !self.desc {
            id.to_owned()
        } else {
            let value = match value {
                Some(Value::Text(s) | Value::Date(s)) => serde_json::Value::from(s.as_str()),
                Some(Value::Integer(n) | Value::Instant(n)) => serde_json::Value::from(*n),
                Some(Value::Number(x)) => serde_json::Value::from(*x),
                _ => serde_json::Value::Null,
            };
            serde_json::json!({"by": self.field, "desc": self.desc, "after": value, "id": id})
                .to_string()
        };
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// The report condition of the rows after `cursor` in this order; the error says why the
    /// cursor does not fit.
    pub fn after(&self, cursor: &str) -> Result<String, String> {
        Ok(self.after_text(&self.holes(cursor)?))
    }

    /// The literals of the condition after `cursor` ([`Order::after_text`]): the last row's id,
    /// and its value of the order field unless it was null. They are the holes of a page's
    /// report ([`query_compiler::template`]), so every page of a list compiles once.
    pub fn holes(&self, cursor: &str) -> Result<Vec<Fill>, String> {
        let text =
            unhex(cursor).ok_or_else(|| format!("`{cursor}` is not a cursor of this API"))?;
        let parsed: Option<serde_json::Value> = serde_json::from_str(&text)
            .ok()
            .filter(|v: &serde_json::Value| v.is_object());
        let not_a_cursor = || format!("`{cursor}` is not a cursor of this API");
        let (by, desc, after, id) = match &parsed {
            None => ("id", false, serde_json::Value::Null, text.clone()),
            Some(v) => (
                v["by"].as_str().ok_or_else(not_a_cursor)?,
                v["desc"].as_bool().ok_or_else(not_a_cursor)?,
                v["after"].clone(),
                v["id"].as_str().ok_or_else(not_a_cursor)?.to_owned(),
            ),
        };
        // An id cursor of the first form fits an ascending order by id only.
        if by != self.field || desc != self.desc {
            return Err(format!(
                "`{cursor}` is a cursor of another order ({by}{}); ask for the first page of this one",
                if desc { " desc" } else { "" }
            ));
        }
        let mut holes = vec![Fill::Text(id)];
        if self.is_by_id() {
            return Ok(holes);
        }
        let value = match (&after, self.ty) {
            (serde_json::Value::Null, _) => None,
            (serde_json::Value::String(s), Kind::Text) => Some(Fill::Text(s.clone())),
            (serde_json::Value::String(s), Kind::Date) if valid_date(s) => {
                Some(Fill::Date(s.clone()))
            }
            (serde_json::Value::Number(n), Kind::Integer) if n.is_i64() => {
                n.as_i64().map(Fill::Integer)
            }
            (serde_json::Value::Number(n), Kind::Number) => {
                n.as_f64().filter(|x| x.is_finite()).map(Fill::Number)
            }
            (serde_json::Value::Number(n), Kind::Instant) => n
                .as_i64()
                .filter(|m| jiff::Timestamp::from_microsecond(*m).is_ok())
                .map(Fill::Instant),
            _ => return Err(format!("`{cursor}` is not a cursor of this API")),
        };
        holes.extend(value);
        Ok(holes)
    }

    /// The report condition of the rows after the row whose id and order value are `holes`
    /// ([`Order::holes`]; any values of those kinds).
    pub fn after_text(&self, holes: &[Fill]) -> String {
        let (id, value) = match holes {
            [id] => (id, None),
            [id, value, ..] => (id, Some(fill_text(value))),
            // Not made by `holes`, which always holds the id: no row comes after nothing.
            [] => return "id is null".to_owned(),
        };
        let lt = if self.desc { "<" } else { ">" };
        let id_after = format!("id {lt} {}", fill_text(id));
        if self.is_by_id() {
            return id_after;
        }
        let f = path_text(self.field);
        // Ascending: values, then nulls; descending: nulls, then values. Ties by id. The
        // redundant `<=` / `>=` lets the database start an index scan at the cursor.
        match (value, self.desc) {
            (Some(v), false) => {
                format!("({f} >= {v} and ({f} > {v} or {id_after}) or {f} is null)")
            }
            (Some(v), true) => format!("{f} <= {v} and ({f} < {v} or {id_after})"),
            (None, false) => format!("{f} is null and {id_after}"),
            (None, true) => format!("({f} is null and {id_after} or {f} is not null)"),
        }
    }
}

/// A hole's value as a literal of the report language.
fn fill_text(fill: &Fill) -> String {
    match fill {
        Fill::Text(s) => literal(s),
        Fill::Date(d) => d.clone(),
        Fill::Integer(n) => n.to_string(),
        // Written out, never with an exponent, which the report language does not read
        // (red team, pass 19: a bonus of `1e-7` made a cursor whose next page was refused);
        // `Display` gives the shortest digits that read back as the same number.
        Fill::Number(x) => {
            let text = format!("{x}");
            if text.contains('.') {
                text
            } else {
                format!("{text}.0")
            }
        }
        Fill::Instant(us) => match jiff::Timestamp::from_microsecond(*us) {
            Ok(t) => format!("{t:.6}"),
            // Not a valid instant: a literal the report refuses, with its own error.
            Err(_) => us.to_string(),
        },
    }
}

/// `YYYY-MM-DD` exactly (jiff also reads `+002026-01-01`, which no cursor of ours holds).
fn valid_date(s: &str) -> bool {
    s.len() == 10 && s.as_bytes()[4] == b'-' && s.parse::<jiff::civil::Date>().is_ok()
}

pub(super) fn unhex(cursor: &str) -> Option<String> {
    if !cursor.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applications() -> &'static Shape {
        super::super::read::shapes()
            .iter()
            .find(|s| s.type_name == "Application")
            .unwrap()
    }

    #[test]
    fn lists_are_newest_first_by_default() {
        let d = default(applications());
        assert_eq!((d.field, d.desc), ("applied_at", true));
        assert_eq!(d.clause(), ["applied_at desc", "id desc"]);
    }

    #[test]
    fn every_list_has_a_default_order_the_store_indexes() {
        // Each (entity, field) here has an index on (org_id, field DESC, id DESC) in migration
        // 11 of both stores.
        let defaults: Vec<(String, &str)> = super::super::read::shapes()
            .iter()
            .filter(|s| s.entity.subject && s.has_id())
            .map(|s| (s.entity.name.to_owned(), default(s).field))
            .collect();
        let expected = [
            ("applications", "applied_at"),
            ("candidates", "created_at"),
            ("jobs", "id"),
            ("departments", "id"),
            ("users", "id"),
            ("sources", "id"),
            ("stages", "id"),
            ("stage_transitions", "at"),
            ("interviews", "starts_at"),
            ("feedback", "submitted_at"),
            ("offers", "created_at"),
        ];
        let expected: Vec<(String, &str)> = expected
            .iter()
            .map(|(e, f)| ((*e).to_owned(), *f))
            .collect();
        assert_eq!(defaults, expected);
    }

    #[test]
    fn cursors_continue_after_the_last_row_in_their_order() {
        let d = default(applications());
        let c = d.cursor(Some(&Value::Instant(1_700_000_000_123_456)), "a\"1");
        assert_eq!(
            d.after(&c).unwrap(),
            r#"applied_at <= 2023-11-14T22:13:20.123456Z and (applied_at < 2023-11-14T22:13:20.123456Z or id < "a\"1")"#
        );
        // A null comes first descending: after it, the other nulls by id, then every value.
        let c = d.cursor(None, "a_1");
        assert_eq!(
            d.after(&c).unwrap(),
            r#"(applied_at is null and id < "a_1" or applied_at is not null)"#
        );
        // Another order's cursor is refused, and so is garbage.
        let asc = Order {
            desc: false,
            ..d.clone()
        };
        assert!(asc.after(&c).unwrap_err().contains("another order"));
        assert!(d.after("zz").unwrap_err().contains("not a cursor"));
        // An object without the order's fields (`{}`) is no cursor either.
        assert!(d.after("7b7d").unwrap_err().contains("not a cursor"));
        // Forged values (red team notes): a date in jiff's extended form is refused, and a
        // number the report language cannot write is a hole's value, never report text.
        let by = |field: &'static str, ty: Kind| Order {
            field,
            ty,
            desc: false,
        };
        let forged = |by: &str, after: serde_json::Value| {
            let text = serde_json::json!({"by": by, "desc": false, "after": after, "id": "a_1"})
                .to_string();
            text.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let date = by("start_date", Kind::Date);
        assert!(
            date.holes(&forged("start_date", "+002026-01-01".into()))
                .unwrap_err()
                .contains("not a cursor")
        );
        assert_eq!(
            date.holes(&forged("start_date", "2026-01-01".into()))
                .unwrap(),
            [Fill::Text("a_1".into()), Fill::Date("2026-01-01".into())]
        );
        let number = by("salary", Kind::Number);
        assert_eq!(
            number.holes(&forged("salary", 1e300.into())).unwrap(),
            [Fill::Text("a_1".into()), Fill::Number(1e300)]
        );
        // Numbers serde writes with an exponent become literals the report language reads,
        // and read back as the same number.
        for x in [1e-7, 1e300, 1.5e20, -2.5e-12, 100000.0, 0.1] {
            let text = fill_text(&Fill::Number(x));
            assert!(!text.contains(['e', 'E']), "{text}");
            let parsed = query_syntax::parse(&format!("report offers where bonus >= {text}"))
                .unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(parsed.filters.len(), 1);
            assert_eq!(text.parse::<f64>().unwrap(), x);
        }
        // By id: the cursor of the first form.
        let by_id = Order::by_id();
        let c = by_id.cursor(None, "a_9");
        assert_eq!(c, "615f39");
        assert_eq!(by_id.after(&c).unwrap(), r#"id > "a_9""#);
    }
}
