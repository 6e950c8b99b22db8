//! The JSON form of a report: the AST serialised with serde, spans left out.
//!
//! [`from_json`] also checks what the types cannot: that every name could be written in report
//! text, dates are calendar dates, `in` lists are not empty and ranges have sensible counts, so a
//! report read from JSON is one that could have been parsed from text (and prints as such).

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::lexer::{check_date, check_timestamp};
use crate::parser::{MAX_DEPTH, is_identifier, is_word};

/// The report as pretty-printed JSON.
pub fn to_json(report: &Report) -> String {
    // Serialising these types cannot fail: every map key is a string.
    serde_json::to_string_pretty(report).unwrap_or_default()
}

/// The deepest a report's JSON form may nest (objects and arrays): the deepest expression
/// text can say ([`MAX_DEPTH`] JSON levels) plus the report's own levels around it.
pub const MAX_JSON_DEPTH: usize = MAX_DEPTH + 4;

/// A report from its JSON form. Its spans are all empty. Nesting deeper than
/// [`MAX_JSON_DEPTH`] is refused before anything recursive reads the text.
pub fn from_json(text: &str) -> Result<Report, Diagnostic> {
    if let Some((line, column)) = too_deep(text, MAX_JSON_DEPTH) {
        return Err(Diagnostic::new(
            format!(
                "invalid report JSON at line {line}, column {column}: nested more than \
                 {MAX_JSON_DEPTH} levels deep"
            ),
            Span::default(),
        ));
    }
    let report: Report = serde_json::from_str(text).map_err(|error| {
        let message = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message);
        Diagnostic::new(
            format!(
                "invalid report JSON at line {}, column {}: {message}",
                error.line(),
                error.column()
            ),
            Span::default(),
        )
    })?;
    check_report(&report).map_err(|message| {
        Diagnostic::new(format!("invalid report JSON: {message}"), Span::default())
    })?;
    Ok(report)
}

/// Where (line and column, from 1) `text` opens its `max + 1`th nested JSON object or array, if
/// it does.
pub(crate) fn too_deep(text: &str, max: usize) -> Option<(usize, usize)> {
    let at = json_too_deep_at(text.as_bytes(), max)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    Some((line, column))
}

/// The byte offset at which JSON `text` opens its `max + 1`th nested object or array, if it
/// does: one pass over the bytes, counting brackets outside strings, with no recursion (so it
/// is safe on input of any depth; the server uses it on request bodies too).
pub fn json_too_deep_at(text: &[u8], max: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, &b) in text.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(at);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn check_report(report: &Report) -> Result<(), String> {
    check_name(&report.subject, "subject")?;
    if let Some(zone) = &report.zone
        && !is_zone_name(&zone.name)
    {
        return Err(format!(
            "zone `{}` is not a time zone name (such as \"Europe/Berlin\" or \"UTC\")",
            zone.name
        ));
    }
    for item in report.group_by.iter().chain(&report.show) {
        check_expr(&item.expr)?;
        if let Some(alias) = &item.alias {
            check_name(alias, "output name")?;
        }
    }
    let exprs = report
        .filters
        .iter()
        .chain(&report.having)
        .chain(report.order_by.iter().map(|o| &o.expr));
    for expr in exprs {
        check_expr(expr)?;
    }
    for (clauses, name) in [(&report.filters, "where"), (&report.having, "having")] {
        if crate::parser::conjunction_too_deep(clauses).is_some() {
            return Err(format!(
                "`{name}` has too many conditions: joined by `and`, they nest more than {MAX_DEPTH} levels"
            ));
        }
    }
    if let Some(limit) = &report.limit
        && i64::try_from(limit.rows).is_err()
    {
        return Err(format!(
            "limit {} is too large (the largest is {})",
            limit.rows,
            i64::MAX
        ));
    }
    if let Some(funnel) = &report.funnel {
        if funnel.stages.is_empty() {
            return Err("a funnel needs at least one stage".to_string());
        }
        funnel.stages.iter().try_for_each(check_expr)?;
    }
    Ok(())
}

/// A subject, an output name or the start of a path: any word (one spelled like a keyword is
/// written in backticks in text).
fn check_name(ident: &Ident, what: &str) -> Result<(), String> {
    if is_word(&ident.name) {
        return Ok(());
    }
    Err(format!(
        "{what} `{}` is not a name (not letters, digits and `_`)",
        ident.name
    ))
}

/// A function's name: a word that is not a keyword (text cannot quote a function).
fn check_function(ident: &Ident) -> Result<(), String> {
    if is_identifier(&ident.name) {
        return Ok(());
    }
    Err(format!(
        "function `{}` is not a name (a keyword, or not letters, digits and `_`)",
        ident.name
    ))
}

fn check_expr(expr: &Expr) -> Result<(), String> {
    match &expr.kind {
        ExprKind::Literal {
            value: Literal::Date(date),
        } => check_date(date).map_err(|why| format!("invalid date `{date}`: {why}")),
        ExprKind::Literal {
            value: Literal::Timestamp(t),
        } => check_timestamp(t).map_err(|why| format!("invalid timestamp `{t}`: {why}")),
        ExprKind::Literal {
            value: Literal::Float(x),
        } if !x.is_finite() => Err(format!("number `{x}` is not finite")),
        ExprKind::Literal { .. } => Ok(()),
        ExprKind::Path { path } => {
            let Some((first, rest)) = path.split_first() else {
                return Err("a path needs at least one name".to_string());
            };
            check_name(first, "field")?;
            match rest.iter().find(|i| !is_word(&i.name)) {
                Some(bad) => Err(format!(
                    "field `{}` is not letters, digits and `_`",
                    bad.name
                )),
                None => Ok(()),
            }
        }
        ExprKind::Call {
            function,
            args,
            filter,
            ..
        } => {
            check_function(function)?;
            args.iter().try_for_each(check_expr)?;
            filter.as_deref().map_or(Ok(()), check_expr)
        }
        ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => check_expr(expr),
        ExprKind::Binary { left, right, .. } => check_expr(left).and_then(|()| check_expr(right)),
        ExprKind::In { expr, list, .. } => {
            if list.is_empty() {
                return Err("an `in` list needs at least one value".to_string());
            }
            check_expr(expr)?;
            list.iter().try_for_each(check_expr)
        }
        ExprKind::Between {
            expr, low, high, ..
        } => {
            check_expr(expr)?;
            check_expr(low)?;
            check_expr(high)
        }
        ExprKind::Text { expr, pattern, .. } => check_expr(expr).and_then(|()| check_expr(pattern)),
        ExprKind::Within { expr, range, .. } => {
            match range.which {
                RangeKind::Last if range.count == 0 => {
                    return Err("`last 0` is not a range".to_string());
                }
                RangeKind::Next if range.count == 0 => {
                    return Err("`next 0` is not a range".to_string());
                }
                RangeKind::This | RangeKind::Previous if range.count != 1 => {
                    return Err(format!(
                        "a `this` or `previous` range has count 1, not {}",
                        range.count
                    ));
                }
                _ => {}
            }
            check_expr(expr)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn message(json: &str) -> String {
        let d = from_json(json).unwrap_err();
        assert!(d.span.is_empty());
        d.message
    }

    #[test]
    fn reads_the_json_form() {
        let json = r#"{"subject": "applications",
            "where": [{"kind": "binary", "op": "=", "left": {"kind": "path", "path": ["status"]},
                       "right": {"kind": "literal", "value": {"string": "hired"}}}],
            "show": [{"expr": {"kind": "call", "function": "count"}, "as": "n"}],
            "order_by": [{"expr": {"kind": "path", "path": ["n"]}, "descending": true}],
            "limit": {"rows": 5},
            "funnel": {"stages": [{"kind": "literal", "value": {"string": "Onsite"}}]}}"#;
        let report = from_json(json).unwrap();
        let text = "report applications where status = \"hired\" show count() as n order by n desc limit 5 funnel \"Onsite\"";
        assert_eq!(report, parse(text).unwrap().without_spans());
        assert_eq!(from_json(&to_json(&report)).unwrap(), report);
    }

    #[test]
    fn nesting_is_bounded_before_serde() {
        // Run on a thread with the usual 2 MB stack: serde's own recursion would overflow it
        // long before 100,000 levels.
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let n = 100_000;
                let expr = |open: &str, close: &str| {
                    format!(
                        r#"{{"subject": "a", "where": [{}{{"kind": "path", "path": ["x"]}}{}]}}"#,
                        open.repeat(n),
                        close.repeat(n)
                    )
                };
                for json in [
                    "[".repeat(n),
                    "{\"a\":".repeat(n),
                    expr(r#"{"kind": "unary", "op": "not", "expr": "#, "}"),
                    expr("[", "]"),
                    format!(
                        r#"{{"subject": "a", "x": {}1{}}}"#,
                        "[".repeat(n),
                        "]".repeat(n)
                    ),
                ] {
                    let m = message(&json);
                    assert!(m.contains("nested more than 68 levels deep"), "{m}");
                }
                // Brackets inside strings do not count.
                let quoted = format!(r#"{{"subject": "{}"}}"#, "[".repeat(n));
                assert!(message(&quoted).contains("is not a name"));
                assert_eq!(too_deep("{\n [\"[\\\"\", [[]]]}", 3), Some((2, 11)));
                assert_eq!(too_deep("{\n [\"[\\\"\", [[]]]}", 4), None);
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn zones_and_timestamps() {
        let json = r#"{"subject": "applications", "zone": "America/New_York",
            "where": [{"kind": "binary", "op": ">=", "left": {"kind": "path", "path": ["applied_at"]},
                       "right": {"kind": "literal", "value": {"timestamp": "2025-01-01T09:30"}}}]}"#;
        let report = from_json(json).unwrap();
        let text =
            "report applications in zone \"America/New_York\" where applied_at >= 2025-01-01T09:30";
        assert_eq!(report, parse(text).unwrap().without_spans());
        assert_eq!(from_json(&to_json(&report)).unwrap(), report);
        assert!(to_json(&report).contains(r#""zone": "America/New_York""#));
        assert!(to_json(&report).contains(r#""timestamp": "2025-01-01T09:30""#));
        assert_eq!(
            message(r#"{"subject": "a", "zone": "Europe Berlin"}"#),
            "invalid report JSON: zone `Europe Berlin` is not a time zone name (such as \"Europe/Berlin\" or \"UTC\")"
        );
        assert_eq!(
            message(r#"{"subject": "a", "zone": ""}"#),
            "invalid report JSON: zone `` is not a time zone name (such as \"Europe/Berlin\" or \"UTC\")"
        );
        let ts = |t: &str| {
            format!(
                r#"{{"subject": "a", "where": [{{"kind": "literal", "value": {{"timestamp": "{t}"}}}}]}}"#
            )
        };
        assert_eq!(
            message(&ts("2025-01-01T24:00Z")),
            "invalid report JSON: invalid timestamp `2025-01-01T24:00Z`: hour 24 is not between 00 and 23"
        );
        assert!(
            message(&ts("2025-01-01")).starts_with(
                "invalid report JSON: invalid timestamp `2025-01-01`: expected the form YYYY-MM-DDTHH:MM"
            )
        );
        assert_eq!(
            message(&ts("2025-01-01T00:00+2")),
            "invalid report JSON: invalid timestamp `2025-01-01T00:00+2`: offset `+2`: expected `+HH:MM`"
        );
    }

    #[test]
    fn range_count_defaults_to_one() {
        let json = r#"{"subject": "a", "where": [{"kind": "within", "expr": {"kind": "path", "path": ["x"]},
            "range": {"which": "this", "unit": "month"}, "negated": true}]}"#;
        assert_eq!(
            from_json(json).unwrap(),
            parse("report a where x not in this month")
                .unwrap()
                .without_spans()
        );
    }

    #[test]
    fn serde_errors_name_the_line_and_column() {
        assert_eq!(
            message("{\"subject\": \"a\",\n \"limit\": {\"rows\": -1}}"),
            "invalid report JSON at line 2, column 21: invalid value: integer `-1`, expected u64"
        );
        assert_eq!(
            message(r#"{"subject": "a", "colour": 1}"#),
            "invalid report JSON at line 1, column 25: unknown field `colour`, expected one of `subject`, `zone`, `where`, `group_by`, `show`, `having`, `order_by`, `limit`, `funnel`"
        );
        assert_eq!(
            message("{"),
            "invalid report JSON at line 1, column 1: EOF while parsing an object"
        );
    }

    #[test]
    fn trees_that_text_cannot_say_are_refused() {
        let with_where = |expr: &str| format!(r#"{{"subject": "a", "where": [{expr}]}}"#);
        let path = |name: &str| format!(r#"{{"kind": "path", "path": ["{name}"]}}"#);
        assert_eq!(
            message(r#"{"subject": "two words"}"#),
            "invalid report JSON: subject `two words` is not a name (not letters, digits and `_`)"
        );
        assert_eq!(
            message(&with_where(&path("two words"))),
            "invalid report JSON: field `two words` is not a name (not letters, digits and `_`)"
        );
        let call = r#"{"kind": "call", "function": "order", "args": []}"#;
        assert_eq!(
            message(&with_where(call)),
            "invalid report JSON: function `order` is not a name (a keyword, or not letters, digits and `_`)"
        );
        // Names spelled like keywords are names: text writes them in backticks.
        let by = from_json(&with_where(&path("by"))).unwrap();
        assert_eq!(by.to_string(), "report a\nwhere `by`");
        assert_eq!(parse(&by.to_string()).unwrap().without_spans(), by);
        let ok = r#"{"kind": "path", "path": ["application", "order"]}"#;
        assert!(from_json(&with_where(ok)).is_ok());
        let date = r#"{"kind": "literal", "value": {"date": "2025-02-30"}}"#;
        assert_eq!(
            message(&with_where(date)),
            "invalid report JSON: invalid date `2025-02-30`: february 2025 has 28 days"
        );
        let date = r#"{"kind": "literal", "value": {"date": "yesterday"}}"#;
        assert_eq!(
            message(&with_where(date)),
            "invalid report JSON: invalid date `yesterday`: expected the form YYYY-MM-DD"
        );
        let empty_in = format!(r#"{{"kind": "in", "expr": {}, "list": []}}"#, path("x"));
        assert_eq!(
            message(&with_where(&empty_in)),
            "invalid report JSON: an `in` list needs at least one value"
        );
        let last0 = format!(
            r#"{{"kind": "within", "expr": {}, "range": {{"which": "last", "count": 0, "unit": "day"}}}}"#,
            path("x")
        );
        assert_eq!(
            message(&with_where(&last0)),
            "invalid report JSON: `last 0` is not a range"
        );
        let this2 = format!(
            r#"{{"kind": "within", "expr": {}, "range": {{"which": "this", "count": 2, "unit": "day"}}}}"#,
            path("x")
        );
        assert_eq!(
            message(&with_where(&this2)),
            "invalid report JSON: a `this` or `previous` range has count 1, not 2"
        );
        assert_eq!(
            message(r#"{"subject": "a", "path": []}"#).split(':').next(),
            Some("invalid report JSON at line 1, column 23")
        );
        assert_eq!(
            message(r#"{"subject": "a", "limit": {"rows": 18446744073709551615}}"#),
            "invalid report JSON: limit 18446744073709551615 is too large (the largest is 9223372036854775807)"
        );
        assert_eq!(
            message(r#"{"subject": "a", "funnel": {"stages": []}}"#),
            "invalid report JSON: a funnel needs at least one stage"
        );
    }
}
