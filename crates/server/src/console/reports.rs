//! The reports page: an editor for the report language, the standard reports, the result as a
//! table and a chart, CSV, and `explain`.
//!
//! Reports are reads, so the page is a `GET` form (`/console/reports?text=...&action=run`):
//! the text goes to the API's `report(text:)` or `explain(text:)` as a variable, run as the
//! viewer (row filters, masks, demographics rules and audit as for the API). A report that does
//! not compile comes back with the API's line, column and rendered diagnostic: the page marks
//! the span in a copy of the text (`<mark>`) and shows the diagnostic, whose `help` line is the
//! suggestion. The chart is chosen from the result's shape and drawn as inline SVG by the server
//! (no chart library): a line for a date or time key with numbers, bars for any other key with
//! numbers, a funnel's bars for the `funnel` report; the table is always there, and is the
//! chart's text alternative. `/console/reports.csv` answers the same report as CSV. Both run
//! through the API's `report`, so both are bounded by `limits.max_report_rows`: a report that
//! would return more is refused with the API's message (add a `limit` or narrow the report),
//! never exported cut short.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::layout::{self, Nav};
use super::{PageError, Signed, at, bounded, graphql, page_response, signed_in, text};
use crate::http::{ClientAddr, Shared};

/// The longest report text, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Rows shown in the table (the CSV has them all, up to `limits.max_report_rows`).
pub const MAX_TABLE_ROWS: usize = 500;
/// Bars or points drawn.
const MAX_CHART_POINTS: usize = 60;

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    #[serde(default)]
    text: String,
    /// A standard report's name (fills `text`).
    #[serde(default)]
    name: String,
    /// `run` (default) or `explain`.
    #[serde(default)]
    action: String,
}

/// What the page shows under the editor.
enum Outcome {
    None,
    Ran(Value),
    Explained(Value),
    Error(PageError),
}

fn standard(name: &str) -> Option<&'static str> {
    query_compiler::library::STANDARD
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

async fn run(
    shared: &Arc<Shared>,
    signed: &Signed,
    text: &str,
    explain: bool,
) -> Result<Value, PageError> {
    let doc = if explain {
        "query($t: String) { explain(text: $t) { columns { name kind } restrictions sql } }"
    } else {
        "query($t: String) { report(text: $t) { columns { name kind } rows restrictions withheld } }"
    };
    let data = graphql(shared, signed, doc, json!({ "t": text })).await?;
    Ok(at(&data, if explain { "explain" } else { "report" }).clone())
}

/// `GET /console/reports`.
pub async fn page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let mut report_text = query.text.clone();
    if !query.name.is_empty() {
        match standard(&query.name) {
            Some(t) => report_text = t.to_owned(),
            None => return Err(PageError::NotFound),
        }
    }
    let outcome = if report_text.trim().is_empty() {
        Outcome::None
    } else if super::from_another_site(&headers) {
        // Shown in the editor, not run: a link on another site must not spend the org's
        // privacy budget or fill its audit log in the viewer's name.
        Outcome::Error(PageError::Refused {
            code: "NOT_RUN".to_owned(),
            message: "this report was opened from a link on another site, so it was not run: \
                      read it, then press Run"
                .to_owned(),
        })
    } else {
        match bounded("text", &report_text, MAX_TEXT_CHARS) {
            Err(e) => Outcome::Error(e),
            Ok(t) => {
                let explain = query.action == "explain";
                match run(&shared, &signed, t, explain).await {
                    Ok(v) if explain => Outcome::Explained(v),
                    Ok(v) => Outcome::Ran(v),
                    Err(e @ (PageError::Refused { .. } | PageError::Report { .. })) => {
                        Outcome::Error(e)
                    }
                    Err(PageError::BadInput(m)) => Outcome::Error(PageError::BadInput(m)),
                    Err(e) => return Err(e),
                }
            }
        }
    };
    let status = match &outcome {
        Outcome::Error(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    Ok(page_response(
        status,
        layout::page(
            &signed,
            "Reports",
            Nav::Reports,
            render(&report_text, &query.name, &outcome),
        ),
    ))
}

fn render(report_text: &str, name: &str, outcome: &Outcome) -> Markup {
    html! {
        h1 { "Reports" }
        form.inline method="get" action="/console/reports" {
            div {
                label for="name" { "Standard report" } br;
                select #name name="name" {
                    option value="" { "(your own, below)" }
                    @for (n, _) in query_compiler::library::STANDARD {
                        option value=(n) selected[*n == name] { (n) }
                    }
                }
            }
            button.secondary type="submit" { "Open" }
        }
        form method="get" action="/console/reports" {
            label for="text" { "Report" }
            br;
            textarea #text name="text" rows="8" cols="80" maxlength=(MAX_TEXT_CHARS) spellcheck="false"
                aria-describedby=[matches!(outcome, Outcome::Error(PageError::Report { .. })).then_some("report-error")] {
                (report_text)
            }
            p.inline {
                button type="submit" name="action" value="run" { "Run" }
                " "
                button.secondary type="submit" name="action" value="explain" { "Explain" }
                " "
                button.secondary type="submit" formaction="/console/reports.csv" name="action" value="csv" { "CSV" }
            }
        }
        @match outcome {
            Outcome::None => { p.muted { "Write a report (docs/report-language.md), or open a standard one." } }
            Outcome::Error(PageError::Report { message, line, column, detail }) => {
                div #report-error .error role="alert" {
                    p { "Line " (line) ", column " (column) ": " (message) }
                    (marked(report_text, *line, *column, caret_width(detail)))
                    pre tabindex="0" aria-label="The diagnostic" { (detail) }
                }
            }
            Outcome::Error(e) => { p.error role="alert" { (e.message()) } }
            Outcome::Explained(v) => { (explained(v)) }
            Outcome::Ran(v) => { (result(v, name)) }
        }
    }
}

/// How many `^` the rendered diagnostic puts under the span (at least 1).
fn caret_width(detail: &str) -> usize {
    detail
        .lines()
        .map(|l| l.chars().filter(|c| *c == '^').count())
        .max()
        .unwrap_or(1)
        .max(1)
}

/// The report's text with the error's span marked (`line`, `column` from 1; `width` chars).
fn marked(report_text: &str, line: u64, column: u64, width: usize) -> Markup {
    let lines: Vec<&str> = report_text.lines().collect();
    let index = usize::try_from(line.saturating_sub(1)).unwrap_or(0);
    let Some(source) = lines.get(index) else {
        return html! {};
    };
    let chars: Vec<char> = source.chars().collect();
    let start = usize::try_from(column.saturating_sub(1))
        .unwrap_or(0)
        .min(chars.len());
    let end = (start + width).min(chars.len());
    let before: String = chars[..start].iter().collect();
    let span: String = chars[start..end].iter().collect();
    let after: String = chars[end..].iter().collect();
    html! {
        pre.source tabindex="0" aria-label="The report, the mistake marked" { code { (before) mark { (if span.is_empty() { " ".to_owned() } else { span }) } (after) } }
    }
}

fn restrictions(v: &Value) -> Markup {
    let list: Vec<String> = at(v, "restrictions")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    html! {
        @if !list.is_empty() {
            h2 { "What your access policy changed" }
            ul { @for r in &list { li { (r) } } }
        }
    }
}

fn explained(v: &Value) -> Markup {
    html! {
        h2 { "Columns" }
        ul {
            @for c in at(v, "columns").as_array().into_iter().flatten() {
                li { code { (text(c, "name")) } " (" (text(c, "kind")) ")" }
            }
        }
        (restrictions(v))
        @if !at(v, "sql").is_null() {
            h2 { "SQL" }
            pre tabindex="0" aria-label="The SQL" { code { (text(v, "sql")) } }
        } @else {
            p.muted { "The SQL is shown to admins." }
        }
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.2}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn result(v: &Value, name: &str) -> Markup {
    let columns: Vec<(String, String)> = at(v, "columns")
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (text(c, "name"), text(c, "kind")))
        .collect();
    let rows: Vec<Value> = at(v, "rows").as_array().cloned().unwrap_or_default();
    html! {
        p.muted { (rows.len()) " rows." }
        (chart(&columns, &rows, name))
        table {
            thead { tr { @for (n, _) in &columns { th scope="col" { (n) } } } }
            tbody {
                @for row in rows.iter().take(MAX_TABLE_ROWS) {
                    tr { @for c in row.as_array().into_iter().flatten() { td { (cell(c)) } } }
                }
            }
        }
        @if rows.len() > MAX_TABLE_ROWS { p.muted { "The first " (MAX_TABLE_ROWS) " rows; the CSV has them all." } }
        @if at(v, "withheld").as_array().is_some_and(|w| !w.is_empty()) {
            p.notice { "Some groups were withheld so that no one can be singled out (docs/privacy.md)." }
        }
        (restrictions(v))
    }
}

/// A chart when the result's shape has one: a key column and a numeric column after it.
fn chart(columns: &[(String, String)], rows: &[Value], name: &str) -> Markup {
    let numeric = |k: &str| matches!(k, "integer" | "number");
    // The key is the first column; the value the first numeric column after it.
    let Some((key_name, key_kind)) = columns.first() else {
        return html! {};
    };
    let Some((value_at, (value_name, _))) = columns
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, (_, kind))| numeric(kind))
    else {
        return html! {};
    };
    let points: Vec<(String, f64)> = rows
        .iter()
        .take(MAX_CHART_POINTS)
        .filter_map(|r| {
            let r = r.as_array()?;
            let key = match r.first()? {
                Value::Null => "(none)".to_owned(),
                k => cell(k),
            };
            Some((key, r.get(value_at)?.as_f64()?))
        })
        .collect();
    if points.is_empty() {
        return html! {};
    }
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max).max(1e-9);
    let line = matches!(key_kind.as_str(), "date" | "instant" | "timestamp");
    let funnel = name == "funnel";
    let label = format!(
        "{} of {value_name} by {key_name}",
        if line { "Line chart" } else { "Bar chart" }
    );
    let (w, bar_h) = (640.0_f64, 22.0_f64);
    if line {
        let h = 220.0_f64;
        let n = points.len().max(2) - 1;
        let xy: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    20.0 + (w - 40.0) * i as f64 / n as f64,
                    h - 20.0 - (h - 40.0) * p.1 / max,
                )
            })
            .collect();
        let path: String = xy
            .iter()
            .enumerate()
            .map(|(i, (x, y))| format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" }))
            .collect();
        return html! {
            figure {
                svg role="img" aria-label=(label) viewBox={ "0 0 " (w) " " (h) } width="100%" height=(h) {
                    path d=(path) fill="none" stroke="#0b57d0" stroke-width="2" {}
                    @for (x, y) in &xy { circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" fill="#0b57d0" {} }
                }
                figcaption.muted { (label) "; " (points.first().map(|p| p.0.clone()).unwrap_or_default()) " to " (points.last().map(|p| p.0.clone()).unwrap_or_default()) }
            }
        };
    }
    let h = bar_h * points.len() as f64 + 10.0;
    html! {
        figure {
            svg role="img" aria-label=(label) viewBox={ "0 0 " (w) " " (h) } width="100%" height=(h) {
                @for (i, (k, v)) in points.iter().enumerate() {
                    @let y = 5.0 + bar_h * i as f64;
                    @let len = (w - 260.0) * v / max;
                    @let x = if funnel { 200.0 + (w - 260.0 - len) / 2.0 } else { 200.0 };
                    text x="195" y=(format!("{:.1}", y + 15.0)) text-anchor="end" font-size="13" fill="#1b1b1f" { (k.chars().take(28).collect::<String>()) }
                    rect x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{len:.1}")) height=(bar_h - 6.0) fill="#0b57d0" {}
                    text x=(format!("{:.1}", x + len + 4.0)) y=(format!("{:.1}", y + 15.0)) font-size="13" fill="#1b1b1f" { (cell(&json!(v))) }
                }
            }
            figcaption.muted { (label) }
        }
    }
}

/// A text cell as a spreadsheet reads it as text: one that starts like a formula (`=`, `+`,
/// `-`, `@`, a tab or a carriage return; a candidate's name can be anything) gets a leading `'`,
/// as OWASP's advice on CSV injection has it, so opening the export runs nothing.
fn spreadsheet_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// `GET /console/reports.csv`: the report as CSV (RFC 4180), every row; text cells as
/// [`spreadsheet_text`] writes them. A report over `limits.max_report_rows` rows is refused
/// by the API (a page with its message), not exported in part.
pub async fn csv(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    if super::from_another_site(&headers) {
        return Err(PageError::Forbidden(
            "a report is not exported from a link on another site: open it in the console"
                .to_owned(),
        ));
    }
    let report_text = match standard(&query.name) {
        Some(t) if !query.name.is_empty() => t.to_owned(),
        _ => query.text.clone(),
    };
    let report_text = bounded("text", &report_text, MAX_TEXT_CHARS)?;
    let v = run(&shared, &signed, report_text, false).await?;
    let quote = |s: String| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = String::new();
    let names: Vec<String> = at(&v, "columns")
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| quote(text(c, "name")))
        .collect();
    out.push_str(&names.join(","));
    out.push_str("\r\n");
    for row in at(&v, "rows").as_array().into_iter().flatten() {
        let cells: Vec<String> = row
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                quote(match c {
                    Value::Null => String::new(),
                    Value::String(s) => spreadsheet_text(s),
                    other => other.to_string(),
                })
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    let mut r = (StatusCode::OK, out).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"report.csv\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_text;

    #[test]
    fn text_that_looks_like_a_formula_stays_text() {
        for cell in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(spreadsheet_text(cell), format!("'{cell}"));
        }
        for cell in ["Ana", "", "a=b", "1-2"] {
            assert_eq!(spreadsheet_text(cell), cell);
        }
    }
}
