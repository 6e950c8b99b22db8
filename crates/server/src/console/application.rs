//! An application's page: the candidate, the job and stage, the stage history, the interviews
//! with their panels and scorecards, the offers with every version, and the scorecard form for
//! an interviewer who sat an interview and has not written one.
//!
//! Two GraphQL documents: the custom fields' definitions (`customFields`, each with where the
//! viewer may read its values), then one as the viewer reads it all, their values included
//! (`custom(key:)`), plus `explain` of the offers' compensation, so that a value the viewer's
//! policy masks shows as "hidden" rather than as a blank. A custom field value is changed
//! through `setCustomFieldValue` as the viewer. An
//! application the viewer may not see (or of another org) is a 404, as the API's lookup is null.
//! Scorecards of others appear only as the API returns them (the policy's row filter on
//! feedback). Submitting a scorecard is the API's `submitFeedback` as the viewer. For a viewer
//! who may schedule the application, the loops booked for it that can be repaired, each with
//! the form that starts a repair ([`super::repair`]).

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

/// The custom fields of applications and candidates (`customFields`), each with where the
/// viewer may read its values.
async fn custom_fields(shared: &Arc<Shared>, signed: &Signed) -> Result<Vec<Value>, PageError> {
    let data = graphql(
        shared,
        signed,
        "{ customFields { entity key label type options sensitive valuesVisible } }",
        json!({}),
    )
    .await?;
    Ok(at(&data, "customFields")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| matches!(text(f, "entity").as_str(), "application" | "candidate"))
        // Keys are letters, digits and `_` (the API's rule): safe as aliases.
        .filter(|f| {
            let k = text(f, "key");
            !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .cloned()
        .collect())
}

/// `cf_KEY: custom(key: "KEY")` for every field of `entity`.
fn custom_selection(fields: &[Value], entity: &str) -> String {
    fields
        .iter()
        .filter(|f| text(f, "entity") == entity)
        .map(|f| {
            let key = text(f, "key");
            format!("cf_{key}: custom(key: {}) ", lit(&key))
        })
        .collect()
}

/// The page's data: the custom fields' definitions (one document), then the application with
/// its values of them (a second).
async fn load(shared: &Arc<Shared>, signed: &Signed, app_id: &str) -> Result<Value, PageError> {
    let fields = custom_fields(shared, signed).await?;
    let doc = format!(
        "{{ application(id: {app}) {{ id status appliedAt hiredAt archiveReason {app_custom} \
           candidate {{ id name email phone location {candidate_custom} }} \
           job {{ id title }} currentStage {{ id name }} source {{ name }} \
           stageTransitions(first: 100, orderBy: {{field: AT, direction: ASC}}) {{ nodes {{ at daysInStage stage {{ name }} }} }} \
           interviews(first: 50, orderBy: {{field: STARTS_AT, direction: ASC}}) {{ nodes {{ id title startsAt endsAt status \
             interviewParticipants(first: 20) {{ nodes {{ role user {{ id name }} }} }} \
             feedback(first: 20) {{ nodes {{ id submittedAt recommendation scores notes author {{ id name }} }} }} }} }} \
           offers(first: 20, orderBy: {{field: VERSION, direction: ASC}}) {{ nodes {{ id version current status startDate salary salaryCurrency salaryPeriod createdAt }} }} \
         }} \
         compensation: explain(text: \"report offers show salary\") {{ restrictions }} }}",
        app = lit(app_id),
        app_custom = custom_selection(&fields, "application"),
        candidate_custom = custom_selection(&fields, "candidate"),
    );
    let mut data = graphql(shared, signed, &doc, json!({})).await?;
    if at(&data, "application").is_null() {
        return Err(PageError::NotFound);
    }
    // The booked loops the viewer may repair (none shown when the API refuses them).
    let loops = super::repair::loops(shared, signed, app_id).await?;
    if let Value::Object(m) = &mut data {
        m.insert("customFields".to_owned(), Value::Array(fields));
        if let Some((loops, names)) = loops {
            m.insert("interviewLoops".to_owned(), Value::Array(loops));
            m.insert("loopNames".to_owned(), json!(names));
        }
    }
    Ok(data)
}

/// A custom field's value as the viewer reads it: "hidden" where their policy masks it (on
/// every record or on some: then a null may be either, and is shown as hidden), "—" when unset.
fn custom_value(record: &Value, field: &Value) -> Markup {
    let value = at(record, &format!("cf_{}", text(field, "key")));
    match value {
        Value::Null if text(field, "valuesVisible") != "all" => layout::hidden(),
        Value::Null => html! { "—" },
        Value::Array(items) => html! {
            (items.iter().map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }).collect::<Vec<_>>().join(", "))
        },
        Value::Bool(b) => html! { @if *b { "yes" } @else { "no" } },
        Value::String(s) => html! { (s) },
        other => html! { (other.to_string()) },
    }
}

/// The input of a custom field's value, by its type, holding the current value.
fn custom_input(field: &Value, current: &Value, input_id: &str) -> Markup {
    let cur = match current {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let options: Vec<String> = at(field, "options")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_str().map(str::to_owned))
        .collect();
    match text(field, "type").as_str() {
        "number" => {
            html! { input id=(input_id) name="value" type="number" step="any" value=(cur); }
        }
        "date" => html! { input id=(input_id) name="value" type="date" value=(cur); },
        "boolean" => html! {
            select id=(input_id) name="value" {
                option value="" { "not set" }
                option value="true" selected[current == &Value::Bool(true)] { "yes" }
                option value="false" selected[current == &Value::Bool(false)] { "no" }
            }
        },
        "select" => html! {
            select id=(input_id) name="value" {
                option value="" { "not set" }
                @for o in &options { option value=(o) selected[cur == *o] { (o) } }
            }
        },
        "multi_select" => html! {
            @let chosen: Vec<&str> = current.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            fieldset id=(input_id) {
                legend { (text(field, "label")) }
                @for (i, o) in options.iter().enumerate() {
                    @let oid = format!("{input_id}-{i}");
                    div {
                        input type="checkbox" id=(oid) name="values" value=(o) checked[chosen.contains(&o.as_str())];
                        " " label for=(oid) { (o) }
                    }
                }
            }
        },
        _ => html! { input id=(input_id) name="value" value=(cur) maxlength=(MAX_CUSTOM_CHARS); },
    }
}

/// The longest custom text value the form takes, in characters.
pub const MAX_CUSTOM_CHARS: usize = 2_000;

/// The custom fields of one record (the application or its candidate): each value, and a form
/// to change it where the viewer reads it on this record (the API decides whether they may).
fn custom_section(
    signed: &Signed,
    app_id: &str,
    entity: &str,
    record: &Value,
    fields: &[Value],
) -> Markup {
    let record_id = text(record, "id");
    html! {
        dl.facts {
            @for f in fields.iter().filter(|f| text(f, "entity") == entity) {
                @let key = text(f, "key");
                @let input_id = format!("cf-{entity}-{key}");
                dt { (text(f, "label")) }
                dd {
                    (custom_value(record, f))
                    @if text(f, "valuesVisible") == "all" && !record_id.is_empty() {
                        details {
                            summary { "Change " span.sr-only { (text(f, "label")) } }
                            form.inline method="post" action={ "/console/applications/" (seg(app_id)) "/custom" } {
                                input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                input type="hidden" name="entity" value=(entity);
                                input type="hidden" name="record" value=(record_id);
                                input type="hidden" name="key" value=(key);
                                input type="hidden" name="type" value=(text(f, "type"));
                                @if text(f, "type") != "multi_select" {
                                    label for=(input_id) { "New value of " (text(f, "label")) }
                                }
                                (custom_input(f, at(record, &format!("cf_{key}")), &input_id))
                                button type="submit" { "Save " span.sr-only { (text(f, "label")) } }
                            }
                        }
                    }
                }
            }
        }
    }
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
        @let fields = at(data, "customFields").as_array().cloned().unwrap_or_default();
        @if !fields.is_empty() {
            section aria-labelledby="h-custom" {
                h2 #h-custom { "Custom fields" }
                @if fields.iter().any(|f| text(f, "entity") == "application") {
                    h3 { "Application" }
                    (custom_section(signed, &text(app, "id"), "application", app, &fields))
                }
                @if fields.iter().any(|f| text(f, "entity") == "candidate") && !at(app, "candidate").is_null() {
                    h3 { "Candidate" }
                    (custom_section(signed, &text(app, "id"), "candidate", at(app, "candidate"), &fields))
                }
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
        @if let Some(loops) = at(data, "interviewLoops").as_array() {
            @let names: std::collections::HashMap<String, String> = serde_json::from_value(at(data, "loopNames").clone()).unwrap_or_default();
            (super::repair::section(&text(app, "id"), loops, &names))
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

/// `POST /console/applications/{id}/custom`: one custom field value of the application or its
/// candidate, as `setCustomFieldValue`. Fields: `csrf`, `entity` (`application` or
/// `candidate`), `record`, `key`, `type` (how to read the value), `value` (empty: remove it) or,
/// for a multi select, one `values` per option chosen.
pub async fn set_custom_value(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(app_id): Path<String>,
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
    let app_id = id(&app_id)?.to_owned();
    let outcome: Result<(), PageError> = async {
        let entity = match field("entity") {
            e @ ("application" | "candidate") => e,
            _ => {
                return Err(PageError::BadInput(
                    "`entity`: `application` or `candidate`".to_owned(),
                ));
            }
        };
        let record = id(field("record"))?;
        let key = bounded("key", field("key"), 100)?;
        let raw = bounded("value", field("value").trim(), MAX_CUSTOM_CHARS)?;
        let value = match field("type") {
            "multi_select" => {
                let chosen: Vec<&str> = form
                    .iter()
                    .filter(|(k, _)| k == "values")
                    .map(|(_, v)| v.as_str())
                    .take(200)
                    .collect();
                if chosen.is_empty() {
                    Value::Null
                } else {
                    json!(chosen)
                }
            }
            _ if raw.is_empty() => Value::Null,
            "number" if raw.parse::<i64>().is_ok() => json!(raw.parse::<i64>().unwrap_or(0)),
            "number" => {
                let n: f64 = raw.parse().map_err(|_| {
                    PageError::BadInput(format!("`value`: `{raw}` is not a number"))
                })?;
                serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| {
                        PageError::BadInput(format!("`value`: `{raw}` is not a number"))
                    })?
            }
            "boolean" => json!(raw == "true"),
            _ => json!(raw),
        };
        graphql(
            &shared,
            &signed,
            "mutation($input: SetCustomFieldValueInput!) { setCustomFieldValue(input: $input) }",
            json!({"input": {"entity": entity, "recordId": record, "key": key, "value": value}}),
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
