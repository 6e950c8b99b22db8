//! Admin pages (the "Admin" navigation, shown to admins; every page reads and writes through
//! the API, which refuses others: its `FORBIDDEN` message is the page, its `NOT_FOUND` the 404):
//!
//! - users and roles (the API's `users`), each user's role and `active` changed through
//!   `updateUser` (a refusal, such as the org's last active admin, shown on the page), and
//!   invitations to the console: an admin makes a
//!   one-time link for a user to choose a password (the API's `inviteUser`: `edit` on the org
//!   and the admin role). The link starts with `console.public_url`, or the request's `Host`
//!   when that is a plain host name ([`link_base`]); it is shown once, on the page that made it;
//!   only its hash is stored.
//! - custom fields: the definitions (`customFields`), created and changed through
//!   `createCustomField` and `updateCustomField`.
//! - the access policy: the text in force and its versions (`policy`), a pasted text checked
//!   (`validatePolicy`: each problem at its line, the text shown with those lines marked), set
//!   (`setPolicy`) or the org returned to the shipped default (`resetPolicy`).
//! - the audit log (`auditLog`): newest first, a page at a time, by actor and denials.
//! - feature flags (`flags`, `setFlag`) and their rollouts (`rollouts`, `pauseRollout`,
//!   `resumeRollout`, `abortRollout`): each flag on or off, switched with a reason, and each
//!   rollout's state and cohorts, changed with a reason (admins of
//!   the installation's operator org only: others see the API's refusal).

use app::policy_changes::MAX_POLICY_BYTES;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::board::or_hidden;
use super::layout::{self, AdminPage, Nav};
use super::{
    PageError, Signed, at, bounded, check_post, graphql, id, page_response, seg, signed_in, text,
};
use crate::http::{ClientAddr, Shared};

/// How long an invitation link works, in hours (7 days).
const INVITATION_HOURS: i64 = crate::graphql::admin::INVITATION_HOURS;

async fn users(shared: &Arc<Shared>, signed: &Signed) -> Result<Vec<Value>, PageError> {
    let data = graphql(
        shared,
        signed,
        "{ users(first: 200) { nodes { id name email role active } } }",
        json!({}),
    )
    .await?;
    Ok(at(&data, "users.nodes")
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn render(
    signed: &Signed,
    users: &[Value],
    error: Option<&str>,
    invited: Option<(&str, &str)>,
) -> Markup {
    let admin = signed.role() == "admin";
    html! {
        h1 { "Users" }
        (layout::admin_nav(AdminPage::Users))
        (layout::message(error, None))
        @if let Some((name, link)) = invited {
            div.notice role="status" {
                p { "An invitation for " (name) ". Send them this link (it works once, for 7 days, and is not shown again):" }
                p { code { (link) } }
            }
        }
        table {
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Active" }
                @if admin { th scope="col" { "Console" } th scope="col" { "Change" } }
            } }
            tbody {
                @for u in users {
                    tr {
                        td { (or_hidden(u, "name")) }
                        td { (or_hidden(u, "email")) }
                        td { (text(u, "role").replace('_', " ")) }
                        td { @if at(u, "active").as_bool() == Some(true) { "yes" } @else { "no" } }
                        @if admin {
                            td {
                                @if at(u, "active").as_bool() == Some(true) {
                                    form method="post" action={ "/console/admin/users/" (seg(&text(u, "id"))) "/invite" } {
                                        input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                        button.secondary type="submit" aria-label={ "Invite " (text(u, "name")) } { "Invite" }
                                    }
                                }
                            }
                            td {
                                @let id = text(u, "id");
                                @let name = text(u, "name");
                                form.inline method="post" action={ "/console/admin/users/" (seg(&id)) } {
                                    input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                    label for={ "role-" (id) } { "Role of " (name) }
                                    select id={ "role-" (id) } name="role" {
                                        @for r in ["admin", "recruiter", "hiring_manager", "interviewer"] {
                                            option value=(r) selected[text(u, "role") == r] { (r.replace('_', " ")) }
                                        }
                                    }
                                    label for={ "active-" (id) } { "Active" }
                                    input id={ "active-" (id) } type="checkbox" name="active" value="true" checked[at(u, "active").as_bool() == Some(true)];
                                    button.secondary type="submit" aria-label={ "Save " (name) } { "Save" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/admin/users`.
pub async fn users_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let list = users(&shared, &signed).await?;
    Ok(admin_response(
        &signed,
        "Users",
        render(&signed, &list, None, None),
    ))
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    /// Present (`true`) when the box is ticked; browsers send nothing for an unticked box.
    #[serde(default)]
    active: Option<String>,
}

/// `POST /console/admin/users/{id}`: the API's `updateUser` (a refusal, such as the org's last
/// active admin, is shown on the page).
pub async fn update_user(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(user): Path<String>,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let user = id(&user)?.to_owned();
    let role = bounded("role", &form.role, 20)?.to_owned();
    let changed = graphql(
        &shared,
        &signed,
        "mutation($u: ID!, $r: String, $a: Boolean) { updateUser(input: {userId: $u, role: $r, active: $a}) { id } }",
        json!({ "u": user, "r": role, "a": form.active.is_some() }),
    )
    .await;
    match changed {
        Ok(_) => Ok(super::redirect("/console/admin/users")),
        Err(e) => {
            let (status, message) = shown(e)?;
            let list = users(&shared, &signed).await?;
            Ok(page_response(
                status,
                layout::page(
                    &signed,
                    "Users",
                    Nav::Admin,
                    render(&signed, &list, Some(&message), None),
                ),
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/admin/users/{id}/invite`.
pub async fn invite(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(user): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let user = id(&user)?.to_owned();
    let base = link_base(
        &shared.settings.console,
        headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok()),
    )?;
    let made = graphql(
        &shared,
        &signed,
        "mutation($u: ID!, $h: Int) { inviteUser(userId: $u, validHours: $h) { path } }",
        json!({ "u": user, "h": INVITATION_HOURS }),
    )
    .await?;
    let link = format!("{base}{}", text(&made, "inviteUser.path"));
    let list = users(&shared, &signed).await?;
    let name = list
        .iter()
        .find(|u| text(u, "id") == user)
        .map(|u| text(u, "name"))
        .unwrap_or_else(|| user.clone());
    Ok(admin_response(
        &signed,
        "Users",
        render(&signed, &list, None, Some((&name, &link))),
    ))
}

/// Where the console's links start: `console.public_url` when set; otherwise the request's
/// `Host` when it is a plain `host[:port]` (never a path, a quote or user info, which would make
/// the link point elsewhere), over https when the cookie is `Secure` (the console is then
/// served over TLS).
fn link_base(
    settings: &crate::settings::ConsoleSettings,
    host: Option<&str>,
) -> Result<String, PageError> {
    if let Some(url) = settings.public_url().map_err(PageError::Internal)? {
        return Ok(url);
    }
    match host {
        Some(host) if crate::settings::is_host(host) => {
            let scheme = if settings.secure_cookie {
                "https"
            } else {
                "http"
            };
            Ok(format!("{scheme}://{host}"))
        }
        _ => Err(PageError::BadInput(
            "the request's `Host` is not a plain host name, so the console cannot make a link \
             with it: set `console.public_url`"
                .to_owned(),
        )),
    }
}

/// A page of the admin section.
fn admin_response(signed: &Signed, title: &str, body: Markup) -> Response {
    page_response(
        StatusCode::OK,
        layout::page(signed, title, Nav::Admin, body),
    )
}

/// A refusal or bad input shown on the page it came from (with the status it has); anything
/// else is the error page.
fn shown(e: PageError) -> Result<(StatusCode, String), PageError> {
    match e {
        e @ (PageError::Refused { .. } | PageError::BadInput(_)) => Ok((e.status(), e.message())),
        e => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    /// What the `POST` before the redirect did.
    #[serde(default)]
    done: String,
}

// Custom fields.

const CUSTOM_FIELDS_DOC: &str =
    "{ customFields { id entity key label type options sensitive valuesVisible } }";

/// The types a custom field may have (the API's names, in the order offered).
pub const FIELD_TYPES: &[&str] = &[
    "text",
    "number",
    "boolean",
    "date",
    "select",
    "multi_select",
];
/// The entities custom fields belong to.
pub const FIELD_ENTITIES: &[&str] = &["candidate", "application", "job"];

async fn custom_fields(shared: &Arc<Shared>, signed: &Signed) -> Result<Vec<Value>, PageError> {
    let data = graphql(shared, signed, CUSTOM_FIELDS_DOC, json!({})).await?;
    Ok(at(&data, "customFields")
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn options_text(field: &Value) -> String {
    at(field, "options")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Options as typed in a form: separated by commas or new lines, trimmed, empty ones dropped.
fn split_options(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect()
}

fn render_custom_fields(
    signed: &Signed,
    fields: &[Value],
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    let admin = signed.role() == "admin";
    let csrf = &signed.session.csrf_token;
    html! {
        h1 { "Custom fields" }
        (layout::admin_nav(AdminPage::CustomFields))
        (layout::message(error, notice))
        @if fields.is_empty() {
            p.muted { "The org has no custom fields yet." }
        } @else {
            table {
                caption.sr-only { "The org's custom fields" }
                thead { tr {
                    th scope="col" { "Entity" } th scope="col" { "Key" } th scope="col" { "Label" }
                    th scope="col" { "Type" } th scope="col" { "Options" } th scope="col" { "Sensitive" }
                    th scope="col" { "Values you may read" }
                    @if admin { th scope="col" { "Change" } }
                } }
                tbody {
                    @for f in fields {
                        @let fid = text(f, "id");
                        tr {
                            td { (text(f, "entity")) }
                            td { code { (text(f, "key")) } }
                            td { (text(f, "label")) }
                            td { (text(f, "type").replace('_', " ")) }
                            td { (options_text(f)) }
                            td { @if at(f, "sensitive").as_bool() == Some(true) { "yes" } @else { "no" } }
                            td { (text(f, "valuesVisible")) }
                            @if admin {
                                td {
                                    details {
                                        summary { "Change " span.sr-only { (text(f, "label")) } }
                                        form.stack method="post" action={ "/console/admin/custom-fields/" (seg(&fid)) } {
                                            input type="hidden" name="csrf" value=(csrf);
                                            label for={ "label-" (fid) } { "Label" }
                                            input id={ "label-" (fid) } name="label" value=(text(f, "label")) maxlength="200" required;
                                            @if matches!(text(f, "type").as_str(), "select" | "multi_select") {
                                                label for={ "options-" (fid) } { "Options (comma separated; add, never remove)" }
                                                input id={ "options-" (fid) } name="options" value=(options_text(f)) maxlength="4000";
                                            }
                                            div {
                                                input type="checkbox" id={ "sensitive-" (fid) } name="sensitive" value="on" checked[at(f, "sensitive").as_bool() == Some(true)];
                                                " " label for={ "sensitive-" (fid) } { "Sensitive" }
                                            }
                                            button type="submit" { "Save " span.sr-only { (text(f, "label")) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if admin {
            section aria-labelledby="h-new-field" {
                h2 #h-new-field { "New custom field" }
                form.stack method="post" action="/console/admin/custom-fields" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="cf-entity" { "Entity" }
                    select #cf-entity name="entity" {
                        @for e in FIELD_ENTITIES { option value=(e) { (e) } }
                    }
                    label for="cf-key" { "Key (letters, digits and _)" }
                    input #cf-key name="key" maxlength="100" required pattern="[A-Za-z0-9_]+";
                    label for="cf-label" { "Label" }
                    input #cf-label name="label" maxlength="200" required;
                    label for="cf-type" { "Type" }
                    select #cf-type name="type" {
                        @for t in FIELD_TYPES { option value=(t) { (t.replace('_', " ")) } }
                    }
                    label for="cf-options" { "Options of a select or multi select field (comma separated)" }
                    input #cf-options name="options" maxlength="4000";
                    div {
                        input type="checkbox" #cf-sensitive name="sensitive" value="on";
                        " " label for="cf-sensitive" { "Sensitive (only those allowed to read sensitive custom fields see its values)" }
                    }
                    button type="submit" { "Create the field" }
                }
            }
        }
    }
}

/// `GET /console/admin/custom-fields`.
pub async fn custom_fields_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let fields = custom_fields(&shared, &signed).await?;
    let notice = match q.done.as_str() {
        "created" => Some("The custom field was created."),
        "updated" => Some("The custom field was changed."),
        _ => None,
    };
    Ok(admin_response(
        &signed,
        "Custom fields",
        render_custom_fields(&signed, &fields, None, notice),
    ))
}

#[derive(Deserialize, Default)]
pub struct CustomFieldForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    label: String,
    #[serde(default, rename = "type")]
    field_type: String,
    #[serde(default)]
    options: String,
    #[serde(default)]
    sensitive: Option<String>,
}

async fn custom_field_change(
    shared: &Arc<Shared>,
    signed: &Signed,
    outcome: Result<(), PageError>,
    done: &str,
) -> Result<Response, PageError> {
    match outcome {
        Ok(()) => Ok(super::redirect(&format!(
            "/console/admin/custom-fields?done={done}"
        ))),
        Err(e) => {
            let (status, message) = shown(e)?;
            let fields = custom_fields(shared, signed).await?;
            Ok(page_response(
                status,
                layout::page(
                    signed,
                    "Custom fields",
                    Nav::Admin,
                    render_custom_fields(signed, &fields, Some(&message), None),
                ),
            ))
        }
    }
}

/// `POST /console/admin/custom-fields`: `createCustomField`.
pub async fn create_custom_field(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Form(form): Form<CustomFieldForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let outcome = async {
        let options = split_options(bounded("options", &form.options, 4000)?);
        let mut input = json!({
            "entity": bounded("entity", form.entity.trim(), 20)?,
            "key": bounded("key", form.key.trim(), 100)?,
            "label": bounded("label", form.label.trim(), 200)?,
            "type": bounded("type", form.field_type.trim(), 20)?,
            "sensitive": form.sensitive.is_some(),
        });
        if !options.is_empty() {
            input["options"] = json!(options);
        }
        graphql(
            &shared,
            &signed,
            "mutation($input: CreateCustomFieldInput!) { createCustomField(input: $input) }",
            json!({ "input": input }),
        )
        .await
        .map(|_| ())
    }
    .await;
    custom_field_change(&shared, &signed, outcome, "created").await
}

/// `POST /console/admin/custom-fields/{id}`: `updateCustomField`.
pub async fn update_custom_field(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(field): Path<String>,
    Form(form): Form<CustomFieldForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let field = id(&field)?.to_owned();
    let outcome = async {
        let options = split_options(bounded("options", &form.options, 4000)?);
        let mut input = json!({
            "id": field,
            "label": bounded("label", form.label.trim(), 200)?,
            "sensitive": form.sensitive.is_some(),
        });
        if !options.is_empty() {
            input["options"] = json!(options);
        }
        graphql(
            &shared,
            &signed,
            "mutation($input: UpdateCustomFieldInput!) { updateCustomField(input: $input) }",
            json!({ "input": input }),
        )
        .await
        .map(|_| ())
    }
    .await;
    custom_field_change(&shared, &signed, outcome, "updated").await
}

// The access policy.

const POLICY_FIELDS: &str = "policy(versions: 20) { version text hash setBy setAt shippedDefault \
     versionCount versions { version hash setBy setAt shippedDefault } }";

/// A pasted policy text and what `validatePolicy` found in it.
struct Pasted<'a> {
    text: &'a str,
    /// Problems (each `{line column policy message}`); empty: valid.
    problems: Vec<Value>,
    /// Whether it was checked (a text refused by `setPolicy` is checked again to show where).
    checked: bool,
}

/// The text with line numbers, each line with a problem marked and given an id to link to.
fn source_with_problems(text: &str, problems: &[Value]) -> Markup {
    let bad: std::collections::BTreeSet<u64> = problems
        .iter()
        .filter_map(|p| at(p, "line").as_u64())
        .collect();
    html! {
        p.muted { "The text, with the lines that have problems marked:" }
        pre.source {
            @for (n, line) in text.lines().enumerate() {
                @let no = n as u64 + 1;
                span.line-no aria-hidden="true" { (no) }
                @if bad.contains(&no) {
                    mark id={ "pl-" (no) } { (line) }
                } @else {
                    (line)
                }
                "\n"
            }
        }
    }
}

fn render_policy(
    signed: &Signed,
    data: &Value,
    pasted: Option<&Pasted<'_>>,
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    let csrf = &signed.session.csrf_token;
    let policy = at(data, "policy");
    let current_text = text(policy, "text");
    let versions = at(policy, "versions")
        .as_array()
        .cloned()
        .unwrap_or_default();
    html! {
        h1 { "Access policy" }
        (layout::admin_nav(AdminPage::Policy))
        (layout::message(error, notice))
        section aria-labelledby="h-in-force" {
            h2 #h-in-force { "In force" }
            dl.facts {
                dt { "Version" }
                dd {
                    @if at(policy, "version").is_null() { "none set: the shipped default" }
                    @else { (text(policy, "version")) }
                }
                dt { "Shipped default" }
                dd { @if at(policy, "shippedDefault").as_bool() == Some(true) { "yes" } @else { "no, the org's own text" } }
                dt { "Set by" } dd { (text(policy, "setBy")) }
                dt { "Set at" } dd { (text(policy, "setAt")) }
                dt { "Hash" } dd { code { (text(policy, "hash")) } }
            }
            details {
                summary { "The text in force" }
                pre { (current_text) }
            }
        }
        section aria-labelledby="h-change" {
            h2 #h-change { "Check or set a policy" }
            @if let Some(p) = pasted {
                @if p.checked && p.problems.is_empty() {
                    p.notice role="status" { "The text is valid: it can be set." }
                } @else if !p.problems.is_empty() {
                    div.error role="alert" {
                        p { (p.problems.len()) " problem(s) in the text:" }
                        ol.problems {
                            @for pr in &p.problems {
                                li {
                                    a href={ "#pl-" (text(pr, "line")) } {
                                        "Line " (text(pr, "line")) ", column " (text(pr, "column"))
                                    }
                                    @if !at(pr, "policy").is_null() { " (policy " code { (text(pr, "policy")) } ")" }
                                    ": " (text(pr, "message"))
                                }
                            }
                        }
                    }
                    (source_with_problems(p.text, &p.problems))
                }
            }
            form.stack method="post" action="/console/admin/policy" {
                input type="hidden" name="csrf" value=(csrf);
                label for="policy-text" { "Policy text (Cedar; docs/policy.md)" }
                textarea #policy-text name="text" rows="18" spellcheck="false" {
                    (pasted.map(|p| p.text.to_owned()).unwrap_or(current_text))
                }
                div {
                    button.secondary type="submit" name="action" value="validate" { "Validate" }
                    " "
                    button type="submit" name="action" value="set" { "Set the policy" }
                }
            }
            form method="post" action="/console/admin/policy/reset" {
                input type="hidden" name="csrf" value=(csrf);
                button.secondary type="submit" { "Reset to the shipped default" }
            }
        }
        section aria-labelledby="h-versions" {
            h2 #h-versions { "Versions" }
            p.muted { (text(policy, "versionCount")) " in all; the newest 20:" }
            @if versions.is_empty() {
                p.muted { "The org never set a policy." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Version" } th scope="col" { "Set at" } th scope="col" { "Set by" }
                        th scope="col" { "Shipped default" } th scope="col" { "Hash" }
                    } }
                    tbody {
                        @for v in &versions {
                            tr {
                                td { (text(v, "version")) }
                                td { (text(v, "setAt")) }
                                td { (text(v, "setBy")) }
                                td { @if at(v, "shippedDefault").as_bool() == Some(true) { "yes" } @else { "no" } }
                                td { code { (text(v, "hash")) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/admin/policy`.
pub async fn policy_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let data = graphql(
        &shared,
        &signed,
        &format!("{{ {POLICY_FIELDS} }}"),
        json!({}),
    )
    .await?;
    let notice = match q.done.as_str() {
        "set" => Some("The new policy is in force."),
        "reset" => Some("The org is back on the shipped default policy."),
        _ => None,
    };
    Ok(admin_response(
        &signed,
        "Access policy",
        render_policy(&signed, &data, None, None, notice),
    ))
}

#[derive(Deserialize, Default)]
pub struct PolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    text: String,
}

/// The policy and what `validatePolicy` says of `text`: one document.
async fn validated(
    shared: &Arc<Shared>,
    signed: &Signed,
    text: &str,
) -> Result<(Value, Vec<Value>), PageError> {
    let data = graphql(
        shared,
        signed,
        &format!(
            "query($text: String!) {{ validatePolicy(text: $text) {{ valid problems {{ line column policy message }} }} {POLICY_FIELDS} }}"
        ),
        json!({ "text": text }),
    )
    .await?;
    let problems = at(&data, "validatePolicy.problems")
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok((data, problems))
}

/// `POST /console/admin/policy`: `action=validate` (`validatePolicy`) or `action=set`
/// (`setPolicy`; refused texts are shown with their problems at their lines).
pub async fn policy_post(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Form(form): Form<PolicyForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    if form.text.len() > MAX_POLICY_BYTES {
        return Err(PageError::BadInput(format!(
            "`text` is longer than {MAX_POLICY_BYTES} bytes"
        )));
    }
    // Browsers send a textarea's lines with CR LF.
    let text = form.text.replace("\r\n", "\n");
    match form.action.as_str() {
        "validate" => {
            let (data, problems) = validated(&shared, &signed, &text).await?;
            let pasted = Pasted {
                text: &text,
                problems,
                checked: true,
            };
            Ok(admin_response(
                &signed,
                "Access policy",
                render_policy(&signed, &data, Some(&pasted), None, None),
            ))
        }
        "set" => {
            let set = graphql(
                &shared,
                &signed,
                "mutation($text: String!) { setPolicy(text: $text, versions: 0) { version } }",
                json!({ "text": text }),
            )
            .await;
            match set {
                Ok(_) => Ok(super::redirect("/console/admin/policy?done=set")),
                Err(e) => {
                    let (status, message) = shown(e)?;
                    let (data, problems) = validated(&shared, &signed, &text).await?;
                    let pasted = Pasted {
                        text: &text,
                        problems,
                        checked: false,
                    };
                    Ok(page_response(
                        status,
                        layout::page(
                            &signed,
                            "Access policy",
                            Nav::Admin,
                            render_policy(&signed, &data, Some(&pasted), Some(&message), None),
                        ),
                    ))
                }
            }
        }
        _ => Err(PageError::BadInput(
            "`action`: `validate` or `set`".to_owned(),
        )),
    }
}

/// `POST /console/admin/policy/reset`: `resetPolicy`.
pub async fn policy_reset(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    graphql(
        &shared,
        &signed,
        "mutation { resetPolicy(versions: 0) { version } }",
        json!({}),
    )
    .await?;
    Ok(super::redirect("/console/admin/policy?done=reset"))
}

// The audit log.

/// Entries per page of the audit log.
pub const AUDIT_PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub struct AuditFilter {
    #[serde(default)]
    actor: String,
    /// `1`: only denials.
    #[serde(default)]
    denied: String,
    #[serde(default)]
    after: String,
}

/// `GET /console/admin/audit`.
pub async fn audit_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let actor = bounded("actor", filter.actor.trim(), 200)?;
    let after = bounded("after", filter.after.trim(), 200)?;
    let denied = !filter.denied.is_empty();
    let data = graphql(
        &shared,
        &signed,
        &format!(
            "query($after: String, $actor: String, $denied: Boolean) {{ auditLog(first: {AUDIT_PAGE}, after: $after, actor: $actor, deniedOnly: $denied) {{ \
               nodes {{ sequence at actor action subject outcome policies detail }} pageInfo {{ hasNextPage endCursor }} }} }}"
        ),
        json!({
            "after": if after.is_empty() { Value::Null } else { json!(after) },
            "actor": if actor.is_empty() { Value::Null } else { json!(actor) },
            "denied": denied,
        }),
    )
    .await?;
    let entries = at(&data, "auditLog.nodes")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let next = (at(&data, "auditLog.pageInfo.hasNextPage").as_bool() == Some(true))
        .then(|| text(&data, "auditLog.pageInfo.endCursor"));
    let body = html! {
        h1 { "Audit log" }
        (layout::admin_nav(AdminPage::Audit))
        form.inline.filters method="get" action="/console/admin/audit" {
            div {
                label for="audit-actor" { "Actor (a user id, or cli)" }
                input #audit-actor name="actor" value=(actor) maxlength="200";
            }
            div {
                input type="checkbox" #audit-denied name="denied" value="1" checked[denied];
                " " label for="audit-denied" { "Only denials" }
            }
            button type="submit" { "Filter" }
        }
        @if entries.is_empty() {
            p.muted { "No entries." }
        } @else {
            table {
                caption.sr-only { "Audit entries, newest first" }
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Actor" }
                    th scope="col" { "Action" } th scope="col" { "Subject" } th scope="col" { "Outcome" }
                    th scope="col" { "Policies" } th scope="col" { "Detail" }
                } }
                tbody {
                    @for e in &entries {
                        tr {
                            td { (text(e, "sequence")) }
                            td { (text(e, "at")) }
                            td { (text(e, "actor")) }
                            td { (text(e, "action")) }
                            td { (text(e, "subject")) }
                            td { (text(e, "outcome")) }
                            td {
                                (at(e, "policies").as_array().into_iter().flatten()
                                    .filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                            }
                            td { (text(e, "detail")) }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = next {
            p {
                a href={
                    "/console/admin/audit?after=" (seg(&cursor))
                    @if !actor.is_empty() { "&actor=" (seg(actor)) }
                    @if denied { "&denied=1" }
                } { "Older entries" }
            }
        }
    };
    Ok(admin_response(&signed, "Audit log", body))
}

// Feature flags.

const FLAGS_DOC: &str = "{ flags { name kind definition version updatedAt updatedBy } rollouts { flag phase step percent stepStartedAt updatedAt updatedBy on off comparisons } }";

/// The rollouts of the installation's flags: each plan's phase, step and percentage, its
/// cohorts' figures in the step, and a form to pause, resume or abort it with a reason (the
/// API's `pauseRollout`, `resumeRollout`, `abortRollout`).
fn render_rollouts(csrf: &str, rollouts: &[Value]) -> Markup {
    let figures = |c: &Value| -> String {
        if c.is_null() {
            return "no figures yet".to_owned();
        }
        format!(
            "{} requests, {} errors, {} slow",
            at(c, "requests"),
            at(c, "errors"),
            at(c, "slow")
        )
    };
    html! {
        h2 { "Rollouts" }
        @if rollouts.is_empty() {
            p.muted { "No flag is being rolled out (a plan is set with the API's `setRolloutPlan` or `hireplane flags rollout`)." }
        } @else {
            table {
                caption.sr-only { "The flags' rollouts" }
                thead { tr {
                    th scope="col" { "Flag" } th scope="col" { "State" } th scope="col" { "Flagged orgs" }
                    th scope="col" { "Control orgs" } th scope="col" { "Change" }
                } }
                tbody {
                    @for (i, r) in rollouts.iter().enumerate() {
                        @let flag = text(r, "flag");
                        @let phase = text(r, "phase");
                        tr {
                            td { code { (flag) } }
                            td { (phase) ", step " (text(r, "step")) ", " (text(r, "percent")) "% since " (text(r, "stepStartedAt")) }
                            td { (figures(at(r, "on"))) }
                            td { (figures(at(r, "off"))) }
                            td {
                                @if phase == "running" || phase == "paused" || phase == "halted" {
                                    form.inline method="post" action="/console/admin/rollouts" {
                                        input type="hidden" name="csrf" value=(csrf);
                                        input type="hidden" name="flag" value=(flag);
                                        label for={ "rollout-reason-" (i) } { "Why" }
                                        input id={ "rollout-reason-" (i) } name="reason" maxlength="500" required;
                                        @if phase == "running" {
                                            button type="submit" name="action" value="pause" { "Pause" span.sr-only { " " (flag) } }
                                        } @else {
                                            button type="submit" name="action" value="resume" { "Resume" span.sr-only { " " (flag) } }
                                        }
                                        button.secondary type="submit" name="action" value="abort" { "Abort" span.sr-only { " " (flag) } }
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

fn render_flags(
    signed: &Signed,
    flags: Option<&[Value]>,
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    render_flags_and_rollouts(signed, flags.map(|f| (f, &[][..])), error, notice)
}

fn render_flags_and_rollouts(
    signed: &Signed,
    data: Option<(&[Value], &[Value])>,
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    let csrf = &signed.session.csrf_token;
    let flags = data.map(|(f, _)| f);
    html! {
        h1 { "Feature flags" }
        (layout::admin_nav(AdminPage::Flags))
        (layout::message(error, notice))
        @if let Some(flags) = flags {
            @if flags.is_empty() {
                p.muted { "The installation has no feature flags." }
            } @else {
                table {
                    caption.sr-only { "The installation's feature flags" }
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "State" }
                        th scope="col" { "Changed" } th scope="col" { "Switch" }
                    } }
                    tbody {
                        @for (i, f) in flags.iter().enumerate() {
                            @let on = at(f, "definition.enabled").as_bool() == Some(true);
                            @let name = text(f, "name");
                            tr {
                                td { code { (name) } }
                                td { (text(f, "kind")) }
                                td { @if text(f, "kind") == "flag" { @if on { "on" } @else { "off" } } }
                                td { (text(f, "updatedAt")) " by " (text(f, "updatedBy")) }
                                td {
                                    @if text(f, "kind") == "flag" {
                                        form.inline method="post" action="/console/admin/flags" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="name" value=(name);
                                            input type="hidden" name="enable" value=(if on { "false" } else { "true" });
                                            label for={ "reason-" (i) } { "Why" }
                                            input id={ "reason-" (i) } name="reason" maxlength="500" required;
                                            button type="submit" {
                                                @if on { "Switch off" } @else { "Switch on" }
                                                span.sr-only { " " (name) }
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
        @if let Some((_, rollouts)) = data {
            (render_rollouts(csrf, rollouts))
        }
    }
}

/// The flags and their rollouts, or the API's refusal as the page's message (the page stays
/// in the admin frame).
async fn flags_and_rollouts(
    shared: &Arc<Shared>,
    signed: &Signed,
) -> Result<Result<(Vec<Value>, Vec<Value>), String>, PageError> {
    let list = |data: &Value, key: &str| at(data, key).as_array().cloned().unwrap_or_default();
    match graphql(shared, signed, FLAGS_DOC, json!({})).await {
        Ok(data) => Ok(Ok((list(&data, "flags"), list(&data, "rollouts")))),
        Err(PageError::Refused { code, message }) if code == "FORBIDDEN" => Ok(Err(message)),
        Err(e) => Err(e),
    }
}

/// The flags, or the API's refusal.
async fn flags(
    shared: &Arc<Shared>,
    signed: &Signed,
) -> Result<Result<Vec<Value>, String>, PageError> {
    Ok(flags_and_rollouts(shared, signed).await?.map(|(f, _)| f))
}

/// `GET /console/admin/flags`.
pub async fn flags_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let notice = match q.done.as_str() {
        "switched" => Some("The flag was switched."),
        "rollout" => Some("The rollout was changed."),
        _ => None,
    };
    let body = match flags_and_rollouts(&shared, &signed).await? {
        Ok((list, rollouts)) => {
            render_flags_and_rollouts(&signed, Some((&list, &rollouts)), None, notice)
        }
        Err(refusal) => {
            return Ok(page_response(
                StatusCode::FORBIDDEN,
                layout::page(
                    &signed,
                    "Feature flags",
                    Nav::Admin,
                    render_flags(&signed, None, Some(&refusal), None),
                ),
            ));
        }
    };
    Ok(admin_response(&signed, "Feature flags", body))
}

#[derive(Deserialize, Default)]
pub struct FlagForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    /// `true` or `false`.
    #[serde(default)]
    enable: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/admin/flags`: a flag switched on or off (its stored definition with
/// `enabled` changed, through `setFlag` with the reason).
pub async fn flag_switch(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Form(form): Form<FlagForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let name = bounded("name", form.name.trim(), 200)?.to_owned();
    let reason = bounded("reason", form.reason.trim(), 500)?.to_owned();
    let enable = match form.enable.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(PageError::BadInput(
                "`enable`: `true` or `false`".to_owned(),
            ));
        }
    };
    let list = match flags(&shared, &signed).await? {
        Ok(list) => list,
        Err(refusal) => {
            return Err(PageError::Refused {
                code: "FORBIDDEN".to_owned(),
                message: refusal,
            });
        }
    };
    let Some(flag) = list
        .iter()
        .find(|f| text(f, "name") == name && text(f, "kind") == "flag")
    else {
        return Err(PageError::NotFound);
    };
    let mut definition = at(flag, "definition").clone();
    let Some(object) = definition.as_object_mut() else {
        return Err(PageError::Internal(format!(
            "the stored definition of flag `{name}` is not an object"
        )));
    };
    object.insert("enabled".to_owned(), json!(enable));
    let outcome = graphql(
        &shared,
        &signed,
        "mutation($name: String!, $definition: JSON!, $reason: String!) { setFlag(name: $name, definition: $definition, reason: $reason) { name } }",
        json!({ "name": name, "definition": definition, "reason": reason }),
    )
    .await;
    match outcome {
        Ok(_) => Ok(super::redirect("/console/admin/flags?done=switched")),
        Err(e) => {
            let (status, message) = shown(e)?;
            Ok(page_response(
                status,
                layout::page(
                    &signed,
                    "Feature flags",
                    Nav::Admin,
                    render_flags(&signed, Some(&list), Some(&message), None),
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ConsoleSettings;

    #[test]
    fn links_start_at_the_public_url_or_a_plain_host() {
        let plain = ConsoleSettings::default();
        assert_eq!(
            link_base(&plain, Some("127.0.0.1:8080")).ok(),
            Some("http://127.0.0.1:8080".to_owned())
        );
        for forged in [
            None,
            Some(""),
            Some("evil.example/x?"),
            Some("a@evil.example"),
            Some("x\"><b>"),
        ] {
            assert!(
                matches!(link_base(&plain, forged), Err(PageError::BadInput(_))),
                "{forged:?}"
            );
        }
        let tls = ConsoleSettings {
            secure_cookie: true,
            ..ConsoleSettings::default()
        };
        assert_eq!(
            link_base(&tls, Some("hire.example.com")).ok(),
            Some("https://hire.example.com".to_owned())
        );
        let public = ConsoleSettings {
            public_url: "https://hire.example.com/".to_owned(),
            ..ConsoleSettings::default()
        };
        // The configured address wins over whatever `Host` the request names.
        assert_eq!(
            link_base(&public, Some("evil.example")).ok(),
            Some("https://hire.example.com".to_owned())
        );
    }
}

#[derive(Deserialize, Default)]
pub struct RolloutForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    flag: String,
    /// `pause`, `resume` or `abort`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/admin/rollouts`: a rollout paused, resumed or aborted with a reason (the
/// API's `pauseRollout`, `resumeRollout`, `abortRollout`, which authorize).
pub async fn rollout_change(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Form(form): Form<RolloutForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let flag = bounded("flag", form.flag.trim(), 200)?.to_owned();
    let reason = bounded("reason", form.reason.trim(), 500)?.to_owned();
    let field = match form.action.as_str() {
        "pause" => "pauseRollout",
        "resume" => "resumeRollout",
        "abort" => "abortRollout",
        _ => {
            return Err(PageError::BadInput(
                "`action`: `pause`, `resume` or `abort`".to_owned(),
            ));
        }
    };
    let outcome = graphql(
        &shared,
        &signed,
        &format!("mutation($flag: String!, $reason: String!) {{ {field}(flag: $flag, reason: $reason) {{ flag }} }}"),
        json!({ "flag": flag, "reason": reason }),
    )
    .await;
    match outcome {
        Ok(_) => Ok(super::redirect("/console/admin/flags?done=rollout")),
        Err(e) => {
            let (status, message) = shown(e)?;
            let data = flags_and_rollouts(&shared, &signed).await?;
            let body = match &data {
                Ok((f, r)) => {
                    render_flags_and_rollouts(&signed, Some((f, r)), Some(&message), None)
                }
                Err(refusal) => render_flags(&signed, None, Some(refusal), None),
            };
            Ok(page_response(
                status,
                layout::page(&signed, "Feature flags", Nav::Admin, body),
            ))
        }
    }
}
