//! An application's page: the candidate, the job and stage, the stage history, the interviews
//! with their panels and scorecards, the offers with every version, and the scorecard form for
//! an interviewer who sat an interview and has not written one.
//!
//! One GraphQL document as the viewer reads it all, plus `explain` of the offers' compensation,
//! so that a value the viewer's policy masks shows as "hidden" rather than as a blank. An
//! application the viewer may not see (or of another org) is a 404, as the API's lookup is null.
//! Scorecards of others appear only as the API returns them (the policy's row filter on
//! feedback). Submitting a scorecard is the API's `submitFeedback` as the viewer.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::board::{lit, or_hidden};
use super::layout::{self, Nav};
use super::{
    PageError, Signed, at, bounded, check_post, graphql, id, page_response, redirect, seg,
    signed_in, text,
};
use crate::http::{ClientAddr, Shared};

/// The recommendations a scorecard may give (the API's enum, in order).
pub const RECOMMENDATIONS: &[(&str, &str)] = &[
    ("strong_yes", "Strong yes"),
    ("yes", "Yes"),
    ("no", "No"),
    ("strong_no", "Strong no"),
];
/// Score attributes one form may set.
pub const MAX_SCORES: usize = 8;
/// The longest notes, in characters.
pub const MAX_NOTES_CHARS: usize = 10_000;

async fn load(shared: &Arc<Shared>, signed: &Signed, app_id: &str) -> Result<Value, PageError> {
    let doc = format!(
        "{{ application(id: {app}) {{ id status appliedAt hiredAt archiveReason \
           candidate {{ id name email phone location }} \
           job {{ id title }} currentStage {{ id name }} source {{ name }} \
           stageTransitions(first: 100, orderBy: {{field: AT, direction: ASC}}) {{ nodes {{ at daysInStage stage {{ name }} }} }} \
           interviews(first: 50, orderBy: {{field: STARTS_AT, direction: ASC}}) {{ nodes {{ id title startsAt endsAt status \
             interviewParticipants(first: 20) {{ nodes {{ role user {{ id name }} }} }} \
             feedback(first: 20) {{ nodes {{ id submittedAt recommendation scores notes author {{ id name }} }} }} }} }} \
           offers(first: 20, orderBy: {{field: VERSION, direction: ASC}}) {{ nodes {{ id version current status startDate salary salaryCurrency salaryPeriod createdAt }} }} \
         }} \
         compensation: explain(text: \"report offers show salary\") {{ restrictions }} }}",
        app = lit(app_id)
    );
    let data = graphql(shared, signed, &doc, json!({})).await?;
    if at(&data, "application").is_null() {
        return Err(PageError::NotFound);
    }
    Ok(data)
}

/// Whether the viewer's policy masks compensation on some or all offers.
fn compensation_masked(data: &Value) -> bool {
    at(data, "compensation.restrictions")
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| {
            r.as_str()
                .is_some_and(|r| r.contains("compensation masked"))
        })
}

fn render(signed: &Signed, data: &Value, error: Option<&str>, notice: Option<&str>) -> Markup {
    let app = at(data, "application");
    let masked = compensation_masked(data);
    let money = |offer: &Value, path: &str| -> Markup {
        match at(offer, path) {
            Value::Null if masked => layout::hidden(),
            Value::Null => html! { "—" },
            _ => html! { (text(offer, path)) },
        }
    };
    let me = &signed.caller.access.viewer.user;
    let interviews = at(app, "interviews.nodes")
        .as_array()
        .cloned()
        .unwrap_or_default();
    html! {
        h1 { (or_hidden(app, "candidate.name")) }
        p.muted {
            a href={ "/console/jobs/" (seg(&text(app, "job.id"))) } { (or_hidden(app, "job.title")) }
            " · " (or_hidden(app, "currentStage.name")) " · " (text(app, "status"))
        }
        (layout::message(error, notice))
        p { a href={ "/console/applications/" (seg(&text(app, "id"))) "/schedule" } { "Schedule interviews" } }
        section aria-labelledby="h-candidate" {
            h2 #h-candidate { "Candidate" }
            dl.facts {
                dt { "Email" } dd { (or_hidden(app, "candidate.email")) }
                dt { "Phone" } dd { (or_hidden(app, "candidate.phone")) }
                dt { "Location" } dd { (or_hidden(app, "candidate.location")) }
                dt { "Source" } dd { (or_hidden(app, "source.name")) }
                dt { "Applied" } dd { (text(app, "appliedAt")) }
                @if !at(app, "hiredAt").is_null() { dt { "Hired" } dd { (text(app, "hiredAt")) } }
                @if !at(app, "archiveReason").is_null() { dt { "Archived because" } dd { (text(app, "archiveReason")) } }
            }
        }
        section aria-labelledby="h-history" {
            h2 #h-history { "Stage history" }
            @let moves = at(app, "stageTransitions.nodes").as_array().cloned().unwrap_or_default();
            @if moves.is_empty() {
                p.muted { "No stage history you may see." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Stage" } th scope="col" { "Entered" } th scope="col" { "Days in stage" } } }
                    tbody {
                        @for m in &moves {
                            tr { td { (or_hidden(m, "stage.name")) } td { (text(m, "at")) } td { (days(m)) } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="h-interviews" {
            h2 #h-interviews { "Interviews" }
            @if interviews.is_empty() { p.muted { "No interviews you may see." } }
            @for iv in &interviews {
                @let iv_id = text(iv, "id");
                @let sat = at(iv, "interviewParticipants.nodes").as_array().into_iter().flatten()
                    .any(|p| text(p, "user.id") == *me);
                @let wrote = at(iv, "feedback.nodes").as_array().into_iter().flatten()
                    .any(|f| text(f, "author.id") == *me);
                article.card {
                    h3 { (or_hidden(iv, "title")) }
                    p.muted { (text(iv, "startsAt")) " to " (text(iv, "endsAt")) " · " (text(iv, "status")) }
                    p { "Panel: "
                        @for (i, p) in at(iv, "interviewParticipants.nodes").as_array().into_iter().flatten().enumerate() {
                            @if i > 0 { ", " }
                            (or_hidden(p, "user.name")) " (" (text(p, "role")) ")"
                        }
                    }
                    @for f in at(iv, "feedback.nodes").as_array().into_iter().flatten() {
                        div {
                            strong { "Scorecard by " (or_hidden(f, "author.name")) ": " }
                            (text(f, "recommendation").replace('_', " "))
                            @if let Some(scores) = at(f, "scores").as_object() {
                                " · "
                                @for (k, v) in scores { (k) " " (v) " " }
                            }
                            @if !at(f, "notes").is_null() { p { (text(f, "notes")) } }
                        }
                    }
                    @if sat && !wrote && text(iv, "status") != "cancelled" {
                        (scorecard_form(signed, &text(app, "id"), &iv_id))
                    }
                }
            }
        }
        section aria-labelledby="h-offers" {
            h2 #h-offers { "Offers" }
            @let offers = at(app, "offers.nodes").as_array().cloned().unwrap_or_default();
            @if offers.is_empty() {
                p.muted { "No offers you may see." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Version" } th scope="col" { "Status" } th scope="col" { "Start date" }
                        th scope="col" { "Salary" } th scope="col" { "Currency" } th scope="col" { "Period" }
                    } }
                    tbody {
                        @for o in &offers {
                            tr {
                                td { (text(o, "version")) @if at(o, "current").as_bool() == Some(true) { " (current)" } }
                                td { (text(o, "status")) }
                                td { (text(o, "startDate")) }
                                td { (money(o, "salary")) }
                                td { (money(o, "salaryCurrency")) }
                                td { (money(o, "salaryPeriod")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Days in a stage, to one decimal ("" while the application is still in it).
fn days(transition: &Value) -> String {
    at(transition, "daysInStage")
        .as_f64()
        .map(|d| format!("{d:.1}"))
        .unwrap_or_default()
}

fn scorecard_form(signed: &Signed, app_id: &str, interview_id: &str) -> Markup {
    let prefix = format!("sc-{interview_id}");
    html! {
        form.stack method="post" action={ "/console/interviews/" (seg(interview_id)) "/feedback" } {
            h4 { "Your scorecard" }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            input type="hidden" name="application" value=(app_id);
            fieldset {
                legend { "Recommendation" }
                @for (i, (value, label)) in RECOMMENDATIONS.iter().enumerate() {
                    @let rid = format!("{prefix}-rec-{i}");
                    div {
                        input type="radio" id=(rid) name="recommendation" value=(value) required;
                        " " label for=(rid) { (label) }
                    }
                }
            }
            fieldset {
                legend { "Scores (1 to 4)" }
                @for (i, attr) in ["communication", "problem_solving", "technical", "collaboration"].iter().enumerate() {
                    @let sid = format!("{prefix}-score-{i}");
                    div {
                        label for=(sid) { (attr.replace('_', " ")) }
                        " "
                        select id=(sid) name={ "score_" (attr) } {
                            option value="" { "not scored" }
                            @for n in 1..=4 { option value=(n) { (n) } }
                        }
                    }
                }
            }
            label for={ (prefix) "-notes" } { "Notes" }
            textarea id={ (prefix) "-notes" } name="notes" rows="5" maxlength=(MAX_NOTES_CHARS) {}
            button type="submit" { "Submit the scorecard" }
        }
    }
}

/// `GET /console/applications/{id}`.
pub async fn page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(app_id): Path<String>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let app_id = id(&app_id)?;
    let data = load(&shared, &signed, app_id).await?;
    let name = text(&data, "application.candidate.name");
    Ok(page_response(
        StatusCode::OK,
        layout::page(
            &signed,
            if name.is_empty() {
                "Application"
            } else {
                &name
            },
            Nav::Jobs,
            render(&signed, &data, None, None),
        ),
    ))
}

/// `POST /console/interviews/{id}/feedback`: the scorecard form, as `submitFeedback`. Fields:
/// `csrf`, `application` (the page to return to), `recommendation`, `score_<attribute>`
/// (1 to 4, at most [`MAX_SCORES`]), `notes`.
pub async fn submit_feedback(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(interview): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    check_post(&signed, &headers, field("csrf"))?;
    let interview = id(&interview)?.to_owned();
    let app_id = id(field("application"))?.to_owned();
    let outcome: Result<(), PageError> = async {
        let recommendation = field("recommendation");
        if !RECOMMENDATIONS.iter().any(|(v, _)| *v == recommendation) {
            return Err(PageError::BadInput(
                "`recommendation`: choose one of strong yes, yes, no, strong no".to_owned(),
            ));
        }
        let mut scores = serde_json::Map::new();
        for (k, v) in &form {
            let Some(attr) = k.strip_prefix("score_") else {
                continue;
            };
            if v.is_empty() {
                continue;
            }
            let attr = bounded("score attribute", attr, 60)?;
            let n: u8 = v
                .parse()
                .ok()
                .filter(|n| (1..=4).contains(n))
                .ok_or_else(|| PageError::BadInput(format!("`{k}`: a score is 1 to 4")))?;
            scores.insert(attr.to_owned(), json!(n));
            if scores.len() > MAX_SCORES {
                return Err(PageError::BadInput(format!(
                    "at most {MAX_SCORES} scores per scorecard"
                )));
            }
        }
        let notes = bounded("notes", field("notes").trim(), MAX_NOTES_CHARS)?;
        graphql(
            &shared,
            &signed,
            "mutation($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { id } }",
            json!({"input": {
                "interviewId": interview,
                "recommendation": recommendation,
                "scores": Value::Object(scores),
                "notes": if notes.is_empty() { Value::Null } else { json!(notes) },
            }}),
        )
        .await?;
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Ok(redirect(&format!("/console/applications/{}", seg(&app_id)))),
        Err(e @ (PageError::Refused { .. } | PageError::BadInput(_))) => {
            let data = load(&shared, &signed, &app_id).await?;
            Ok(page_response(
                e.status(),
                layout::page(
                    &signed,
                    "Application",
                    Nav::Jobs,
                    render(&signed, &data, Some(&e.message()), None),
                ),
            ))
        }
        Err(e) => Err(e),
    }
}
