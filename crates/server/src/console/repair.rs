//! Repairing a booked interview loop after a decline. The application page lists the loops the
//! API's `interviewLoops` offers for repair (booked through `bookInterviewLoop`, every interview
//! still scheduled), each with a form: who declined (a person of the loop) or that the candidate
//! cannot make it. That form is a read (`GET /console/applications/{id}/repair`): the API's
//! `repairInterviewLoop` with the loop's stored plan and booked option proposes the smallest
//! repair, which the page explains (its `step`) and shows session by session beside the booked
//! one, changes marked in words. When the candidate cannot make it, the page first asks for the
//! plan with their new windows (the loop's plan prefilled). Applying a proposed option is a
//! `POST` with the CSRF token to the API's `applyInterviewLoopRepair`: one transaction that
//! cancels the changed sessions' interviews and books them again, so a failed booking cancels
//! nothing. The booked loop is never kept in the browser: the store keeps it.

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
use super::schedule::{MAX_PLAN_CHARS, names};
use super::{
    PageError, Signed, at, bounded, check_post, graphql, id, page_response, redirect, seg,
    signed_in, text,
};
use crate::http::{ClientAddr, Shared};

/// What went wrong, as the forms say it: `declined:<user id>` or `candidate`.
enum What {
    Declined(String),
    Candidate,
}

impl What {
    fn parse(value: &str) -> Result<What, PageError> {
        match value {
            "candidate" => Ok(What::Candidate),
            other => match other.strip_prefix("declined:") {
                Some(user) => Ok(What::Declined(id(user)?.to_owned())),
                None => Err(PageError::BadInput(
                    "`what`: choose who declined, or that the candidate cannot make it".to_owned(),
                )),
            },
        }
    }

    fn form_value(&self) -> String {
        match self {
            What::Declined(user) => format!("declined:{user}"),
            What::Candidate => "candidate".to_owned(),
        }
    }
}

/// The loops of `app_id` that can be repaired (`interviewLoops`), with the names of their
/// people; `None` when the viewer may not repair the application's loops (the API refuses).
pub async fn loops(
    shared: &Arc<Shared>,
    signed: &Signed,
    app_id: &str,
) -> Result<Option<(Vec<Value>, std::collections::HashMap<String, String>)>, PageError> {
    let answer = graphql(
        shared,
        signed,
        &format!(
            "{{ interviewLoops(applicationId: {}) {{ id stageId plan booked interviewIds bookedAt }} }}",
            lit(app_id)
        ),
        json!({}),
    )
    .await;
    let data = match answer {
        Ok(data) => data,
        Err(PageError::NotFound | PageError::Refused { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let loops = at(&data, "interviewLoops")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut people: Vec<String> = Vec::new();
    for l in &loops {
        for p in loop_people(at(l, "booked")) {
            if !people.contains(&p) {
                people.push(p);
            }
        }
    }
    people.truncate(50);
    let names = names(shared, signed, &people).await?;
    Ok(Some((loops, names)))
}

/// The people of a booked option, in order: seats, then trainees.
fn loop_people(booked: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in at(booked, "sessions").as_array().into_iter().flatten() {
        let seated = at(s, "seats")
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|seat| seat.as_array().cloned().unwrap_or_default())
            .chain(std::iter::once(at(s, "trainee.person").clone()));
        for p in seated {
            if let Some(p) = p.as_str()
                && !out.iter().any(|q| q == p)
            {
                out.push(p.to_owned());
            }
        }
    }
    out
}

fn name_of(names: &std::collections::HashMap<String, String>, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_owned())
}

/// A session's people as the page says them ("Raj Patel, Mei Chen; trainee Ana (shadow)").
fn session_people(s: &Value, names: &std::collections::HashMap<String, String>) -> String {
    let seats: Vec<String> = at(s, "seats")
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|seat| seat.as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_str().map(|p| name_of(names, p)))
        .collect();
    let mut out = seats.join(", ");
    if let Some(t) = at(s, "trainee.person").as_str() {
        out.push_str(&format!(
            "; trainee {} ({})",
            name_of(names, t),
            text(s, "trainee.role").replace('_', " ")
        ));
    }
    out
}

/// The application page's section: each loop that can be repaired, with the form that asks
/// what went wrong.
pub fn section(
    app_id: &str,
    loops: &[Value],
    names: &std::collections::HashMap<String, String>,
) -> Markup {
    html! {
        section aria-labelledby="h-loops" {
            h2 #h-loops { "Booked interview loops" }
            @if loops.is_empty() {
                p.muted { "No booked loop to repair." }
            }
            @for (n, l) in loops.iter().enumerate() {
                @let sel = format!("what-{n}");
                article.card {
                    h3 { "Loop booked " (text(l, "bookedAt")) }
                    ul {
                        @for s in at(l, "booked.sessions").as_array().into_iter().flatten() {
                            li { strong { (text(s, "session")) } ": " (text(s, "start")) " to " (text(s, "end"))
                                " · " (session_people(s, names)) }
                        }
                    }
                    form.inline method="get" action={ "/console/applications/" (seg(app_id)) "/repair" } {
                        input type="hidden" name="loop" value=(text(l, "id"));
                        div {
                            label for=(sel) { "What changed" } br;
                            select id=(sel) name="what" {
                                @for p in loop_people(at(l, "booked")) {
                                    option value={ "declined:" (p) } { (name_of(names, &p)) " declined" }
                                }
                                option value="candidate" { "The candidate cannot make it" }
                            }
                        }
                        button type="submit" { "Propose a repair" }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct RepairQuery {
    #[serde(default)]
    r#loop: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    plan: String,
}

/// What the repair's step means, in words.
fn explain(step: &str) -> &'static str {
    match step {
        "unchanged" => "Nothing needs to change: the booked loop still fits.",
        "swap_seat" => {
            "Same times: another qualified interviewer takes the seat of the one who declined; everything else stays."
        }
        "move_session" => {
            "The affected session moves (and may get new people); the other sessions keep their times and people."
        }
        "replan" => {
            "No small change fits: the whole loop is planned again. Every changed session is cancelled and booked again."
        }
        _ => "The repair the scheduler proposes.",
    }
}

/// `GET /console/applications/{id}/repair?loop=..&what=..[&plan=..]`: the proposed repair.
pub async fn page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(app_id): Path<String>,
    Query(query): Query<RepairQuery>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let app_id = id(&app_id)?.to_owned();
    let what = What::parse(&query.what)?;
    let plan = if query.plan.trim().is_empty() {
        None
    } else {
        Some(bounded("plan", &query.plan, MAX_PLAN_CHARS)?.to_owned())
    };
    let (status, body) =
        proposal(&shared, &signed, &app_id, &query.r#loop, &what, plan, None).await?;
    Ok(page_response(
        status,
        layout::page(&signed, "Repair a loop", Nav::Jobs, body),
    ))
}

/// The repair page's body for loop `loop_id`: the loop, what went wrong, and the proposal (or
/// the plan form when the candidate cannot make it and no plan was given yet).
async fn proposal(
    shared: &Arc<Shared>,
    signed: &Signed,
    app_id: &str,
    loop_id: &str,
    what: &What,
    plan_text: Option<String>,
    error: Option<String>,
) -> Result<(StatusCode, Markup), PageError> {
    let head = graphql(
        shared,
        signed,
        &format!(
            "{{ application(id: {}) {{ id candidate {{ name }} }} }}",
            lit(app_id)
        ),
        json!({}),
    )
    .await?;
    if at(&head, "application").is_null() {
        return Err(PageError::NotFound);
    }
    let Some((loops, names)) = loops(shared, signed, app_id).await? else {
        return Err(PageError::NotFound);
    };
    let Some(booked_loop) = loops.iter().find(|l| text(l, "id") == loop_id) else {
        return Ok((
            StatusCode::NOT_FOUND,
            html! {
                h1 { "Repair a loop" }
                p.error role="alert" { "This loop can no longer be repaired: it was repaired already, or one of its interviews is no longer scheduled." }
                p { a href={ "/console/applications/" (seg(app_id)) } { "Back to the application" } }
            },
        ));
    };
    let booked = at(booked_loop, "booked").clone();
    let stored_plan = at(booked_loop, "plan").clone();
    if let What::Declined(user) = what
        && !loop_people(&booked).contains(user)
    {
        return Err(PageError::BadInput(format!(
            "`what`: `{user}` sits in no session of the loop"
        )));
    }
    let plan_shown = plan_text
        .clone()
        .unwrap_or_else(|| serde_json::to_string_pretty(&stored_plan).unwrap_or_default());
    // The candidate's case needs their new windows first.
    let ask_plan = matches!(what, What::Candidate);
    let mut outcome: Result<Option<Value>, String> = Ok(None);
    let mut used_plan: Option<Value> = None;
    if !ask_plan || plan_text.is_some() {
        let plan = match &plan_text {
            None => Ok(stored_plan.clone()),
            Some(t) => serde_json::from_str::<Value>(t).map_err(|e| {
                format!(
                    "`plan` is not JSON: line {}, column {}: {e}",
                    e.line(),
                    e.column()
                )
            }),
        };
        outcome = match plan {
            Err(message) => Err(message),
            Ok(plan) => {
                let (args, vars) = match what {
                    What::Declined(user) => (
                        "declined: $who",
                        json!({"p": plan, "b": booked, "who": user}),
                    ),
                    What::Candidate => (
                        "candidateUnavailable: true",
                        json!({"p": plan, "b": booked}),
                    ),
                };
                let doc = format!(
                    "query($p: JSON!, $b: JSON!{}) {{ repairInterviewLoop(applicationId: {}, plan: $p, booked: $b, {args}) }}",
                    if matches!(what, What::Declined(_)) {
                        ", $who: ID"
                    } else {
                        ""
                    },
                    lit(app_id),
                );
                match graphql(shared, signed, &doc, vars).await {
                    Ok(v) => {
                        used_plan = Some(plan);
                        Ok(Some(at(&v, "repairInterviewLoop").clone()))
                    }
                    Err(e @ (PageError::Refused { .. } | PageError::BadInput(_))) => {
                        Err(e.message())
                    }
                    Err(e) => return Err(e),
                }
            }
        };
    }
    let status = if outcome.is_err() || error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // Names of the people a proposal seats that the loop did not.
    let mut extra: Vec<String> = Vec::new();
    if let Ok(Some(repair)) = &outcome {
        for option in at(repair, "solution.options")
            .as_array()
            .into_iter()
            .flatten()
        {
            for p in loop_people(option) {
                if !names.contains_key(&p) && !extra.contains(&p) {
                    extra.push(p);
                }
            }
        }
    }
    extra.truncate(50);
    let mut names = names;
    names.extend(super::schedule::names(shared, signed, &extra).await?);
    let body = html! {
        h1 { "Repair a loop: " (text(&head, "application.candidate.name")) }
        p { a href={ "/console/applications/" (seg(app_id)) } { "Back to the application" } }
        @if let Some(message) = &error { p.error role="alert" { (message) } }
        h2 { "As booked" }
        ul {
            @for s in at(&booked, "sessions").as_array().into_iter().flatten() {
                li { strong { (text(s, "session")) } ": " (text(s, "start")) " to " (text(s, "end"))
                    " · " (session_people(s, &names)) }
            }
        }
        p { "What changed: "
            strong { @match what {
                What::Declined(user) => { (name_of(&names, user)) " declined" }
                What::Candidate => { "the candidate cannot make it" }
            } }
        }
        @if ask_plan {
            form method="get" action={ "/console/applications/" (seg(app_id)) "/repair" } {
                input type="hidden" name="loop" value=(loop_id);
                input type="hidden" name="what" value=(what.form_value());
                label for="plan" { "The loop's plan with the candidate's new windows (`candidate.windows`: pairs of UTC instants)" }
                br;
                textarea #plan name="plan" rows="12" maxlength=(MAX_PLAN_CHARS) spellcheck="false" { (plan_shown) }
                p { button type="submit" { "Propose a repair" } }
            }
        }
        @match &outcome {
            Err(message) => { p.error role="alert" { (message) } }
            Ok(None) => {}
            Ok(Some(repair)) => {
                @let step = text(repair, "step");
                h2 { "Proposed repair" }
                p.notice { (explain(&step)) }
                @if text(repair, "solution.status") == "infeasible" {
                    p { "Nothing fits:" }
                    ul { @for r in at(repair, "solution.reasons").as_array().into_iter().flatten() { li { (r.as_str().map(str::to_owned).unwrap_or_else(|| r.to_string())) } } }
                } @else if step != "unchanged" {
                    @for option in at(repair, "solution.options").as_array().into_iter().flatten() {
                        article.card {
                            h3 { "Repair option " (text(option, "rank")) }
                            ul {
                                @for (i, s) in at(option, "sessions").as_array().into_iter().flatten().enumerate() {
                                    @let before = at(&booked, &format!("sessions.{i}"));
                                    @let moved = text(s, "start") != text(before, "start");
                                    @let reseated = at(s, "seats") != at(before, "seats") || at(s, "trainee") != at(before, "trainee");
                                    li {
                                        strong { (text(s, "session")) } ": "
                                        @if moved || reseated { span.changed { "changes: " } } @else { "unchanged: " }
                                        (text(s, "start")) " to " (text(s, "end"))
                                        " · " (session_people(s, &names))
                                        @if moved || reseated {
                                            " (was " (text(before, "start")) " to " (text(before, "end"))
                                            " · " (session_people(before, &names)) ")"
                                        }
                                    }
                                }
                            }
                            form.inline method="post" action={ "/console/applications/" (seg(app_id)) "/repair" } {
                                input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                input type="hidden" name="loop" value=(loop_id);
                                input type="hidden" name="what" value=(what.form_value());
                                @if let (Some(p), true) = (&used_plan, ask_plan) {
                                    input type="hidden" name="plan" value=(p.to_string());
                                }
                                input type="hidden" name="option" value=(option.to_string());
                                button type="submit" { "Apply repair option " (text(option, "rank")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok((status, body))
}

#[derive(Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    r#loop: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    option: String,
}

/// `POST /console/applications/{id}/repair`: applies a proposed repair option through
/// `applyInterviewLoopRepair`, then back to the application. A refusal shows the repair page
/// again with the API's message.
pub async fn apply(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(app_id): Path<String>,
    Form(form): Form<ApplyForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let app_id = id(&app_id)?.to_owned();
    let loop_id = id(&form.r#loop)?.to_owned();
    let what = What::parse(&form.what)?;
    let parse = |field: &str, text: &str| -> Result<Value, PageError> {
        let text = bounded(field, text, MAX_PLAN_CHARS)?;
        serde_json::from_str(text)
            .map_err(|e| PageError::BadInput(format!("`{field}` is not JSON: {e}")))
    };
    let option = parse("option", &form.option)?;
    let plan = if form.plan.trim().is_empty() {
        Value::Null
    } else {
        parse("plan", &form.plan)?
    };
    let mut input = json!({
        "applicationId": app_id,
        "loopId": loop_id,
        "option": option,
        "plan": plan,
    });
    match &what {
        What::Declined(user) => input["declined"] = json!(user),
        What::Candidate => input["candidateUnavailable"] = json!(true),
    }
    let done = graphql(
        &shared,
        &signed,
        "mutation($i: ApplyInterviewLoopRepairInput!) { applyInterviewLoopRepair(input: $i) { loopId } }",
        json!({ "i": input }),
    )
    .await;
    match done {
        Ok(_) => Ok(redirect(&format!("/console/applications/{}", seg(&app_id)))),
        Err(e @ (PageError::Refused { .. } | PageError::BadInput(_))) => {
            let plan_text = (!form.plan.trim().is_empty()).then(|| form.plan.clone());
            let (_, body) = proposal(
                &shared,
                &signed,
                &app_id,
                &loop_id,
                &what,
                plan_text,
                Some(e.message()),
            )
            .await?;
            Ok(page_response(
                e.status(),
                layout::page(&signed, "Repair a loop", Nav::Jobs, body),
            ))
        }
        Err(e) => Err(e),
    }
}
