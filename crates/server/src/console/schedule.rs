//! Scheduling an application's interview loop: a plan (the API's JSON plan, `docs/api.md`,
//! "Scheduling"; prefilled with one hour seated by the viewer), the ranked options of the API's
//! `schedulingOptions` as the viewer (or the reasons nothing fits), each with a button that books
//! it through `bookInterviewLoop` into a stage of the job. Finding options is a read (`GET`);
//! booking is a `POST` with the CSRF token. The options are drawn on a week calendar (a table
//! per week, days as columns and hours as rows, each session of each option in the cell of its
//! start: the calendar is its own accessible form) and then listed, each with its booking form.
//! The interviewers' busy time is drawn in the same cells ("busy: Raj 10:00 to 11:00"), as the
//! API's `interviewerBusyTime` gives it to the viewer: another person's time as opaque
//! intervals, the viewer's own interviews with their titles; the people are everyone seated in
//! an option or named in the plan (at most [`MAX_BUSY_PEOPLE`]), read one week at a time from
//! the clock on. Where the API refuses it, the calendar says so and shows the options alone.

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
    // The people of the options, named as the viewer reads them, and their busy time.
    let people = match &outcome {
        Ok(Some(solution)) => {
            let plan: Value = serde_json::from_str(&plan_text).unwrap_or(Value::Null);
            let people = people_of(solution, &plan);
            let names = names(&shared, &signed, &people).await?;
            let busy = busy_time(&shared, &signed, &app_id, solution, &people, &names).await?;
            People { names, busy }
        }
        _ => People {
            names: Names::new(),
            busy: Ok(Vec::new()),
        },
    };
    let body = render(
        &signed, &app_id, &head, &stages, &plan_text, &outcome, &people,
    );
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
    people: &People,
) -> Markup {
    let (busy, names) = (&people.busy, &people.names);
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
                    @if let Err(message) = busy {
                        p.notice { "Busy time is not shown: " (message) }
                    }
                    (week_calendar(solution, busy.as_deref().unwrap_or_default()))
                    @for option in at(solution, "options").as_array().into_iter().flatten() {
                        article.card {
                            h3 { "Option " (text(option, "rank")) }
                            ul {
                                @for s in at(option, "sessions").as_array().into_iter().flatten() {
                                    li { strong { (text(s, "session")) } ": " (text(s, "start")) " to " (text(s, "end"))
                                        " · " (seats(s, names)) }
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

/// A session's seats, each person by name where the viewer reads one.
fn seats(session: &Value, names: &Names) -> String {
    let named = |v: &Value| {
        let id = cell(v);
        names.get(&id).cloned().unwrap_or(id)
    };
    at(session, "seats")
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|seat| match seat {
            Value::Array(people) => people.iter().map(named).collect::<Vec<_>>(),
            other => vec![named(other)],
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

/// The most people whose busy time the calendar shows (the API's bound).
pub const MAX_BUSY_PEOPLE: usize = 20;

/// One busy interval of one person, as the viewer may see it (UTC).
pub struct Busy {
    /// The person's name as the viewer reads it (their id when hidden), "you" for the viewer.
    who: String,
    start: jiff::civil::DateTime,
    end: jiff::civil::DateTime,
    /// The viewer's own interviews only.
    title: Option<String>,
}

/// The people of a solution's options (seats and trainees) and of the plan's named seats, in
/// order of first appearance, at most [`MAX_BUSY_PEOPLE`].
fn people_of(solution: &Value, plan: &Value) -> Vec<String> {
    let mut people: Vec<String> = Vec::new();
    let mut add = |p: &Value| {
        if let Some(p) = p.as_str()
            && !people.iter().any(|q| q == p)
        {
            people.push(p.to_owned());
        }
    };
    for option in at(solution, "options").as_array().into_iter().flatten() {
        for s in at(option, "sessions").as_array().into_iter().flatten() {
            for seat in at(s, "seats").as_array().into_iter().flatten() {
                for p in seat.as_array().into_iter().flatten() {
                    add(p);
                }
            }
            add(at(s, "trainee.person"));
        }
    }
    for s in at(plan, "loop.sessions").as_array().into_iter().flatten() {
        for seat in at(s, "seats").as_array().into_iter().flatten() {
            add(at(seat, "person"));
        }
    }
    people.truncate(MAX_BUSY_PEOPLE);
    people
}

/// User id to name.
pub type Names = std::collections::HashMap<String, String>;

/// The people of a page's options: their names as the viewer reads them, and their busy time
/// (`Err`: the API's refusal, shown on the page).
struct People {
    names: Names,
    busy: Result<Vec<Busy>, String>,
}

/// The names of users `ids` as the viewer reads them (`user(id:)`, one document); an id the
/// viewer may not read keeps its id.
pub async fn names(
    shared: &Arc<Shared>,
    signed: &Signed,
    ids: &[String],
) -> Result<Names, PageError> {
    let mut out: std::collections::HashMap<String, String> =
        ids.iter().map(|i| (i.clone(), i.clone())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let doc: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!("u{i}: user(id: {}) {{ name }} ", lit(id)))
        .collect();
    let data = graphql(shared, signed, &format!("{{ {doc}}}"), json!({})).await?;
    for (i, id) in ids.iter().enumerate() {
        let name = text(&data, &format!("u{i}.name"));
        if !name.is_empty() {
            out.insert(id.clone(), name);
        }
    }
    Ok(out)
}

/// The busy time of the solution's people over the weeks the calendar draws, one
/// `interviewerBusyTime` per week from the clock on. `Err` (shown on the page) when the API
/// refuses it; a failure of ours stays one.
async fn busy_time(
    shared: &Arc<Shared>,
    signed: &Signed,
    app_id: &str,
    solution: &Value,
    people: &[String],
    names: &Names,
) -> Result<Result<Vec<Busy>, String>, PageError> {
    if people.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let me = &signed.caller.access.viewer.user;
    let utc = jiff::tz::TimeZone::UTC;
    // Whole seconds: the API takes instants to the microsecond.
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let mut out = Vec::new();
    for week in weeks_of(&placed_sessions(solution)) {
        let Ok(monday) = utc.to_timestamp(week.to_datetime(jiff::civil::Time::midnight())) else {
            continue;
        };
        let Ok(sunday_night) = monday.checked_add(jiff::SignedDuration::from_hours(24 * 7)) else {
            continue;
        };
        let from = monday.max(now);
        if sunday_night <= from {
            continue;
        }
        let answer = graphql(
            shared,
            signed,
            "query($a: ID!, $u: [ID!]!, $f: DateTime!, $t: DateTime!) { interviewerBusyTime(applicationId: $a, userIds: $u, from: $f, to: $t) { userId busy { start end title } } }",
            json!({"a": app_id, "u": people, "f": from.to_string(), "t": sunday_night.to_string()}),
        )
        .await;
        let data = match answer {
            Ok(data) => data,
            Err(e @ (PageError::Refused { .. } | PageError::BadInput(_) | PageError::NotFound)) => {
                return Ok(Err(e.message()));
            }
            Err(e) => return Err(e),
        };
        for person in at(&data, "interviewerBusyTime")
            .as_array()
            .into_iter()
            .flatten()
        {
            let id = text(person, "userId");
            let who = if id == *me {
                "you".to_owned()
            } else {
                names.get(&id).cloned().unwrap_or(id)
            };
            for b in at(person, "busy").as_array().into_iter().flatten() {
                let (Ok(start), Ok(end)) = (
                    text(b, "start").parse::<jiff::Timestamp>(),
                    text(b, "end").parse::<jiff::Timestamp>(),
                ) else {
                    continue;
                };
                out.push(Busy {
                    who: who.clone(),
                    start: utc.to_datetime(start),
                    end: utc.to_datetime(end),
                    title: at(b, "title").as_str().map(str::to_owned),
                });
            }
        }
    }
    Ok(Ok(out))
}

/// The sessions of every option, placed on the calendar (UTC).
fn placed_sessions(solution: &Value) -> Vec<Placed> {
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
    placed
}

/// The Monday of the week of `z`.
fn monday(z: &jiff::civil::DateTime) -> jiff::civil::Date {
    let offset = i64::from(z.weekday().to_monday_zero_offset());
    z.date()
        .checked_sub(jiff::Span::new().days(offset))
        .unwrap_or(z.date())
}

/// The Mondays of the weeks the calendar draws: those with a session, at most [`MAX_WEEKS`].
fn weeks_of(placed: &[Placed]) -> Vec<jiff::civil::Date> {
    let mut weeks: Vec<jiff::civil::Date> = placed.iter().map(|p| monday(&p.start)).collect();
    weeks.sort();
    weeks.dedup();
    weeks.truncate(MAX_WEEKS);
    weeks
}

/// The options on a week calendar: one table per week with a session, days as columns, the
/// hours with sessions or busy time as rows; each cell lists the sessions starting in it
/// ("Option 2: onsite 09:30 to 10:30"), then the busy time starting in it ("busy: Raj 10:00 to
/// 11:00"). Times in UTC, as the API gives them.
fn week_calendar(solution: &Value, busy: &[Busy]) -> Markup {
    let placed = placed_sessions(solution);
    let weeks: Vec<Week<'_>> = weeks_of(&placed)
        .into_iter()
        .map(|week| {
            let in_week: Vec<&Placed> =
                placed.iter().filter(|p| monday(&p.start) == week).collect();
            let mut hours: Vec<i8> = in_week
                .iter()
                .map(|p| p.start.hour())
                .chain(
                    busy.iter()
                        .filter(|b| monday(&b.start) == week)
                        .map(|b| b.start.hour()),
                )
                .collect();
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
                caption { "Options and busy time in the week of " (week) " (times in UTC)" }
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
                                @let taken: Vec<&Busy> = busy.iter()
                                    .filter(|b| b.start.date() == *d && b.start.hour() == *h)
                                    .collect();
                                td.slot[!here.is_empty()] {
                                    @for p in &here {
                                        div {
                                            "Option " (p.rank) ": " (p.session) " "
                                            (hh_mm(&p.start)) " to " (hh_mm(&p.end))
                                        }
                                    }
                                    @for b in &taken {
                                        div.busy {
                                            "busy: " (b.who)
                                            @if let Some(t) = &b.title { " (" (t) ")" }
                                            " " (hh_mm(&b.start)) " to " (until(&b.start, &b.end))
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

/// The end of an interval as the cell says it: its time, with its day when another.
fn until(start: &jiff::civil::DateTime, end: &jiff::civil::DateTime) -> String {
    if end.date() == start.date() {
        hh_mm(end)
    } else {
        let day = DAYS
            .get(usize::from(
                end.weekday().to_monday_zero_offset().unsigned_abs(),
            ))
            .copied()
            .unwrap_or_default();
        format!("{day} {} {}", end.date(), hh_mm(end))
    }
}

fn hh_mm(t: &jiff::civil::DateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}
