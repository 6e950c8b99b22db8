//! Scheduling an application's interview loop: a plan (the API's JSON plan, `docs/api.md`,
//! "Scheduling"; prefilled with one hour seated by the viewer), the ranked options of the API's
//! `schedulingOptions` as the viewer (or the reasons nothing fits), each with a button that books
//! it through `bookInterviewLoop` into a stage of the job. Finding options is a read (`GET`);
//! booking is a `POST` with the CSRF token. The options are drawn on a week calendar (a table
//! per week, days as columns and hours as rows, each session of each option in the cell of its
//! start: the calendar is its own accessible form) and then listed, each with its booking form.
//! The interviewers' busy time is not drawn: the API does not give it (yet).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::board::lit;
use super::layout::{self, Nav};
use super::{
    PageError, Signed, at, bounded, check_post, graphql, id, page_response, redirect, seg,
    signed_in, text,
};
use crate::http::{ClientAddr, Shared};

/// The longest plan, in characters.
pub const MAX_PLAN_CHARS: usize = 20_000;

#[derive(Deserialize, Default)]
pub struct ScheduleQuery {
    #[serde(default)]
    plan: String,
}

fn template(viewer: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "options": 5,
        "loop": {"sessions": [{"id": "interview", "duration_minutes": 60,
            "seats": [{"person": viewer}]}]},
        "candidate": {"min_notice_minutes": 1440, "horizon_days": 10},
    }))
    .unwrap_or_default()
}

/// `GET /console/applications/{id}/schedule`.
pub async fn page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(app_id): Path<String>,
    Query(query): Query<ScheduleQuery>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let app_id = id(&app_id)?.to_owned();
    let head = graphql(
        &shared,
        &signed,
        &format!(
            "{{ application(id: {app}) {{ id candidate {{ name }} job {{ id }} }} }}",
            app = lit(&app_id)
        ),
        json!({}),
    )
    .await?;
    if at(&head, "application").is_null() {
        return Err(PageError::NotFound);
    }
    let job = text(&head, "application.job.id");
    let stages = graphql(
        &shared,
        &signed,
        &format!(
            "{{ stages(first: 30, filter: {{jobId: {}}}, orderBy: {{field: POSITION, direction: ASC}}) {{ nodes {{ id name }} }} }}",
            lit(&job)
        ),
        json!({}),
    )
    .await?;
    let stages = at(&stages, "stages.nodes")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let plan_text = if query.plan.trim().is_empty() {
        template(&signed.caller.access.viewer.user)
    } else {
        bounded("plan", &query.plan, MAX_PLAN_CHARS)?.to_owned()
    };
    let mut outcome: Result<Option<Value>, String> = Ok(None);
    if !query.plan.trim().is_empty() {
        outcome = match serde_json::from_str::<Value>(&plan_text) {
            Err(e) => Err(format!(
                "`plan` is not JSON: line {}, column {}: {e}",
                e.line(),
                e.column()
            )),
            Ok(plan) => match graphql(
                &shared,
                &signed,
                &format!(
                    "query($p: JSON!) {{ schedulingOptions(applicationId: {}, plan: $p) }}",
                    lit(&app_id)
                ),
                json!({ "p": plan }),
            )
            .await
            {
                Ok(v) => Ok(Some(at(&v, "schedulingOptions").clone())),
                Err(e @ (PageError::Refused { .. } | PageError::BadInput(_))) => Err(e.message()),
                Err(e) => return Err(e),
            },
        };
    }
    let status = if outcome.is_err() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = render(&signed, &app_id, &head, &stages, &plan_text, &outcome);
    Ok(page_response(
        status,
        layout::page(&signed, "Schedule", Nav::Jobs, body),
    ))
}

fn render(
    signed: &Signed,
    app_id: &str,
    head: &Value,
    stages: &[Value],
    plan_text: &str,
    outcome: &Result<Option<Value>, String>,
) -> Markup {
    html! {
        h1 { "Schedule: " (text(head, "application.candidate.name")) }
        p { a href={ "/console/applications/" (seg(app_id)) } { "Back to the application" } }
        form method="get" action={ "/console/applications/" (seg(app_id)) "/schedule" } {
            label for="plan" { "Plan (JSON: the loop's sessions and seats, the candidate's notice and horizon)" }
            br;
            textarea #plan name="plan" rows="12" maxlength=(MAX_PLAN_CHARS) spellcheck="false" { (plan_text) }
            p { button type="submit" { "Find options" } }
        }
        @match outcome {
            Err(message) => { p.error role="alert" { (message) } }
            Ok(None) => {}
            Ok(Some(solution)) => {
                @if text(solution, "status") == "infeasible" {
                    h2 { "Nothing fits" }
                    ul { @for r in at(solution, "reasons").as_array().into_iter().flatten() { li { (reason(r)) } } }
                } @else {
                    h2 { "Options" }
                    @if at(solution, "unproven").as_bool() == Some(true) {
                        p.notice { "The search ran out of time: these are the best found, maybe not the earliest." }
                    }
                    (week_calendar(solution))
                    @for option in at(solution, "options").as_array().into_iter().flatten() {
                        article.card {
                            h3 { "Option " (text(option, "rank")) }
                            ul {
                                @for s in at(option, "sessions").as_array().into_iter().flatten() {
                                    li { strong { (text(s, "session")) } ": " (text(s, "start")) " to " (text(s, "end"))
                                        " · " (seats(s)) }
                                }
                            }
                            form.inline method="post" action={ "/console/applications/" (seg(app_id)) "/schedule" } {
                                input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                input type="hidden" name="plan" value=(plan_text);
                                input type="hidden" name="option" value=(option.to_string());
                                @let sel = format!("stage-{}", text(option, "rank"));
                                div {
                                    label for=(sel) { "Stage" } br;
                                    select id=(sel) name="stage" {
                                        @for s in stages { option value=(text(s, "id")) { (text(s, "name")) } }
                                    }
                                }
                                button type="submit" { "Book option " (text(option, "rank")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn seats(session: &Value) -> String {
    at(session, "seats")
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|seat| match seat {
            Value::Array(people) => people.iter().map(cell).collect::<Vec<_>>(),
            other => vec![cell(other)],
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn reason(r: &Value) -> String {
    match r {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .or_else(|| o.get("reason"))
            .map(cell)
            .unwrap_or_else(|| r.to_string()),
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
pub struct BookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    option: String,
    #[serde(default)]
    stage: String,
}

/// `POST /console/applications/{id}/schedule`: books an option.
pub async fn book(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(app_id): Path<String>,
    Form(form): Form<BookForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let app_id = id(&app_id)?.to_owned();
    let stage = id(&form.stage)
        .map_err(|_| PageError::BadInput("`stage`: choose a stage".to_owned()))?
        .to_owned();
    let parse = |field: &str, text: &str| -> Result<Value, PageError> {
        let text = bounded(field, text, MAX_PLAN_CHARS)?;
        serde_json::from_str(text)
            .map_err(|e| PageError::BadInput(format!("`{field}` is not JSON: {e}")))
    };
    let plan = parse("plan", &form.plan)?;
    let option = parse("option", &form.option)?;
    graphql(
        &shared,
        &signed,
        &format!(
            "mutation($p: JSON!, $o: JSON!) {{ bookInterviewLoop(input: {{applicationId: {}, stageId: {}, plan: $p, option: $o}}) {{ id }} }}",
            lit(&app_id),
            lit(&stage)
        ),
        json!({"p": plan, "o": option}),
    )
    .await?;
    Ok(redirect(&format!("/console/applications/{}", seg(&app_id))))
}

/// At most this many weeks are drawn (options further out are in the list below).
const MAX_WEEKS: usize = 3;

/// A week of the calendar: its Monday, its sessions, the hours they start in, its seven days.
type Week<'a> = (
    jiff::civil::Date,
    Vec<&'a Placed>,
    Vec<i8>,
    Vec<jiff::civil::Date>,
);

/// One session of one option, placed on the calendar (UTC).
struct Placed {
    rank: String,
    session: String,
    start: jiff::civil::DateTime,
    end: jiff::civil::DateTime,
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The options on a week calendar: one table per week with a session, days as columns, the
/// hours with sessions as rows; each cell lists the sessions starting in it ("Option 2:
/// onsite 09:30 to 10:30"). Times in UTC, as the API gives them.
fn week_calendar(solution: &Value) -> Markup {
    let utc = jiff::tz::TimeZone::UTC;
    let mut placed: Vec<Placed> = Vec::new();
    for option in at(solution, "options").as_array().into_iter().flatten() {
        for s in at(option, "sessions").as_array().into_iter().flatten() {
            let (Ok(start), Ok(end)) = (
                text(s, "start").parse::<jiff::Timestamp>(),
                text(s, "end").parse::<jiff::Timestamp>(),
            ) else {
                continue;
            };
            placed.push(Placed {
                rank: text(option, "rank"),
                session: text(s, "session"),
                start: utc.to_datetime(start),
                end: utc.to_datetime(end),
            });
        }
    }
    // The Monday of each session's week.
    let monday = |z: &jiff::civil::DateTime| {
        let offset = i64::from(z.weekday().to_monday_zero_offset());
        z.date()
            .checked_sub(jiff::Span::new().days(offset))
            .unwrap_or(z.date())
    };
    let mut weeks: Vec<jiff::civil::Date> = placed.iter().map(|p| monday(&p.start)).collect();
    weeks.sort();
    weeks.dedup();
    weeks.truncate(MAX_WEEKS);
    let weeks: Vec<Week<'_>> = weeks
        .into_iter()
        .map(|week| {
            let in_week: Vec<&Placed> =
                placed.iter().filter(|p| monday(&p.start) == week).collect();
            let mut hours: Vec<i8> = in_week.iter().map(|p| p.start.hour()).collect();
            hours.sort_unstable();
            hours.dedup();
            let dates = (0..7i64)
                .map(|d| week.checked_add(jiff::Span::new().days(d)).unwrap_or(week))
                .collect();
            (week, in_week, hours, dates)
        })
        .collect();
    html! {
        @for (week, in_week, hours, dates) in &weeks {
            table.calendar {
                caption { "Options in the week of " (week) " (times in UTC)" }
                thead { tr {
                    th scope="col" { "Hour" }
                    @for (d, day) in dates.iter().zip(DAYS) { th scope="col" { (day) " " (d) } }
                } }
                tbody {
                    @for h in hours.iter() {
                        tr {
                            th scope="row" { (format!("{h:02}:00")) }
                            @for d in dates.iter() {
                                @let here: Vec<&&Placed> = in_week.iter()
                                    .filter(|p| p.start.date() == *d && p.start.hour() == *h)
                                    .collect();
                                td.slot[!here.is_empty()] {
                                    @for p in &here {
                                        div {
                                            "Option " (p.rank) ": " (p.session) " "
                                            (hh_mm(&p.start)) " to " (hh_mm(&p.end))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn hh_mm(t: &jiff::civil::DateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}
