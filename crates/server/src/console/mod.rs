//! The web console: server-rendered HTML pages for the people who hire, under `/console/`.
//!
//! No side door: every page's data and every action is a GraphQL document executed in process
//! against the API's own schema ([`Console::graphql`]), with the signed-in user as the caller:
//! the same [`RequestCtx`] (rate limit, worker shares, cost limit, deadline), the same
//! resolvers, reports and `app` commands, so the same policies. A `NOT_FOUND` from the API is a
//! 404 page; any other refusal is shown with the API's message.
//!
//! - [`signin`]: sessions (cookie `hp_session`, `HttpOnly; SameSite=Lax`, `Secure` with
//!   `console.secure_cookie`), sign-in by API token, email and password, or a one-time code;
//!   invitations; sign-out; failed sign-ins bounded per account and per address.
//! - [`board`]: a job's pipeline board (columns by stage with counts, cards as the viewer may
//!   see them, move and archive by form, keyboard or drag and drop, filters).
//! - [`application`]: an application's page (stage history, interviews, scorecards and the
//!   scorecard form, offers with their versions, custom fields as the viewer may read them,
//!   editable).
//! - [`reports`]: the report editor (errors marked at their span, with the suggestion), the
//!   standard reports, a table and a chart chosen from the result's shape, CSV, `explain`.
//! - [`admin`]: the org's users and roles, invitations to the console, custom fields, the
//!   access policy (view, validate, set, reset), the audit log and feature flags (admins).
//! - [`schedule`]: an application's interview loop: the ranked options of a plan on a week
//!   calendar with the interviewers' busy time as the viewer may see it, or why nothing fits,
//!   and booking one.
//! - [`repair`]: repairing a booked loop after an interviewer declined or the candidate cannot
//!   make it: the API's proposal explained, applied in one transaction.
//! - [`layout`]: the page frame (navigation, skip link, messages), 404 and error pages.
//! - [`assets`]: the console's CSS and scripts and the vendored htmx, served from the binary.
//!
//! Every state-changing request is a `POST` that carries the session's CSRF token (a hidden
//! field) and, when the browser sends an `Origin`, comes from this server's origin. Pages are
//! `no-store` and carry a strict Content-Security-Policy (scripts and styles from `/console/
//! assets/` only). Every input is bounded (form fields, filters) before it reaches the API.

pub mod admin;
pub mod application;
pub mod assets;
pub mod board;
pub mod layout;
pub mod repair;
pub mod reports;
pub mod schedule;
pub mod signin;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use crate::auth::Caller;
use crate::graphql::RequestCtx;
use crate::http::Shared;

/// The session cookie's name.
pub const COOKIE: &str = "hp_session";

/// What the console's pages may load and do.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The console's routes (state: the server's [`Shared`]).
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/console", get(signin::home))
        .route(
            "/console/sign-in",
            get(signin::sign_in_page).post(signin::sign_in),
        )
        .route("/console/sign-out", post(signin::sign_out))
        .route("/console/api", post(signin::api))
        .route(
            "/console/code/{code}",
            get(signin::code_page).post(signin::code_sign_in),
        )
        .route(
            "/console/invitation/{code}",
            get(signin::invitation_page).post(signin::accept_invitation),
        )
        .route("/console/jobs", get(board::jobs_page))
        .route("/console/jobs/{id}", get(board::board_page))
        .route("/console/applications/{id}", get(application::page))
        .route(
            "/console/applications/{id}/schedule",
            get(schedule::page).post(schedule::book),
        )
        .route(
            "/console/applications/{id}/repair",
            get(repair::page).post(repair::apply),
        )
        .route(
            "/console/applications/{id}/move",
            post(board::move_application),
        )
        .route(
            "/console/applications/{id}/archive",
            post(board::archive_application),
        )
        .route(
            "/console/interviews/{id}/feedback",
            post(application::submit_feedback),
        )
        .route("/console/admin/users", get(admin::users_page))
        .route("/console/admin/users/{id}/invite", post(admin::invite))
        .route("/console/admin/users/{id}", post(admin::update_user))
        .route("/console/admin/rollouts", post(admin::rollout_change))
        .route(
            "/console/admin/custom-fields",
            get(admin::custom_fields_page).post(admin::create_custom_field),
        )
        .route(
            "/console/admin/custom-fields/{id}",
            post(admin::update_custom_field),
        )
        .route(
            "/console/admin/policy",
            get(admin::policy_page).post(admin::policy_post),
        )
        .route("/console/admin/policy/reset", post(admin::policy_reset))
        .route("/console/admin/audit", get(admin::audit_page))
        .route(
            "/console/admin/flags",
            get(admin::flags_page).post(admin::flag_switch),
        )
        .route(
            "/console/applications/{id}/custom",
            post(application::set_custom_value),
        )
        .route("/console/reports", get(reports::page))
        .route("/console/reports.csv", get(reports::csv))
        .route("/console/assets/{*path}", get(assets::asset))
        .route("/console/{*rest}", get(not_found_page).post(not_found_page))
}

/// The signed-in user of a request.
#[derive(Clone)]
pub struct Signed {
    pub session: store::StoredSession,
    pub caller: Caller,
    pub name: String,
}

impl Signed {
    pub fn role(&self) -> &str {
        &self.caller.access.user.role
    }
}

/// Why a console request fails.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): to the sign-in page.
    SignedOut,
    /// A 404: no such thing, or nothing the viewer may see.
    NotFound,
    /// A state-changing request without the session's CSRF token, or from another origin.
    Forbidden(String),
    /// Refused by the API: its code and message (shown on the page).
    Refused { code: String, message: String },
    /// A report that does not compile: the API's message, where, and its rendered diagnostic
    /// (the source line, carets under the span, the help).
    Report {
        message: String,
        line: u64,
        column: u64,
        detail: String,
    },
    /// Bad input before the API saw it (a field too long, a filter with quotes).
    BadInput(String),
    /// Slow down (rate limits, worker shares).
    TooMany(String),
    /// Our failure or the database's: logged, told without detail.
    Internal(String),
}

impl PageError {
    /// Our failure `e`, with the whole chain of its causes for the log.
    pub fn internal(e: &(dyn std::error::Error + 'static)) -> PageError {
        PageError::Internal(crate::graphql::error_chain(e))
    }

    fn status(&self) -> StatusCode {
        match self {
            PageError::SignedOut => StatusCode::SEE_OTHER,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::Refused { code, .. } => match code.as_str() {
                "FORBIDDEN" => StatusCode::FORBIDDEN,
                "CONFLICT" => StatusCode::CONFLICT,
                "TIMEOUT" => StatusCode::GATEWAY_TIMEOUT,
                "BUSY" | "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
                "UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
                "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            PageError::BadInput(_) | PageError::Report { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            PageError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the page says.
    pub fn message(&self) -> String {
        match self {
            PageError::SignedOut => "sign in first".to_owned(),
            PageError::NotFound => "There is nothing here, or nothing you may see.".to_owned(),
            PageError::Forbidden(m)
            | PageError::BadInput(m)
            | PageError::TooMany(m)
            | PageError::Refused { message: m, .. }
            | PageError::Report { message: m, .. } => m.clone(),
            PageError::Internal(_) => {
                "Something failed on our side; the server log has the details.".to_owned()
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match &self {
            PageError::SignedOut => return redirect("/console/sign-in"),
            PageError::Internal(detail) => tracing::error!(error = %detail, "console"),
            _ => {}
        }
        let status = self.status();
        let (title, body) = match self {
            PageError::NotFound => ("Not found", self.message()),
            _ => ("Something went wrong", self.message()),
        };
        page_response(status, layout::bare(title, &body))
    }
}

/// A `303 See Other` to `to` (a path on this server).
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// An HTML page with the console's headers.
pub fn page_response(status: StatusCode, html: maud::Markup) -> Response {
    let mut r = (status, axum::response::Html(html.into_string())).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

/// `GET`/`POST /console/...` that matches no route: the 404 page (`/console/` is the console).
async fn not_found_page(uri: axum::http::Uri) -> Response {
    if uri.path() == "/console/" {
        return redirect("/console");
    }
    PageError::NotFound.into_response()
}

/// The session id in the request's cookies, if any (only a well-formed one).
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        // A browser sends a few hundred bytes; a header of more is not read.
        if text.len() > 8 * 1024 {
            continue;
        }
        for pair in text.split(';') {
            if let Some((name, v)) = pair.trim().split_once('=')
                && name == COOKIE
                && app::sessions::is_session_id(v)
            {
                return Some(v.to_owned());
            }
        }
    }
    None
}

/// The client's address, if the accept loop put it on the request.
pub fn client_of(parts: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    parts.get::<crate::http::ClientAddr>().map(|c| c.0)
}

/// The request's budget: `limits.request_timeout_ms` from now.
fn deadline(shared: &Shared) -> std::time::Instant {
    std::time::Instant::now() + Duration::from_millis(shared.settings.limits.request_timeout_ms)
}

/// The signed-in user of a request, or [`PageError::SignedOut`].
pub async fn signed_in(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    client: Option<std::net::IpAddr>,
) -> Result<Signed, PageError> {
    let Some(id) = session_cookie(headers) else {
        return Err(PageError::SignedOut);
    };
    let db = match client {
        Some(addr) => shared.db.for_address(addr, deadline(shared)),
        None => shared.db.clone(),
    };
    let services = shared.services.clone();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let checked = db
        .run(move |store| services.session(store, &id, now))
        .await
        .map_err(|e| db_error(&e))?;
    let (session, access) = match checked {
        Ok(found) => found,
        Err(app::sessions::SignInError::App(e)) => return Err(PageError::internal(&e)),
        Err(_) => return Err(PageError::SignedOut),
    };
    let name = access.user.name.clone();
    Ok(Signed {
        caller: Caller {
            // The rate limit and the worker shares count per session, as per token.
            token_id: format!("session-{}", session.id_hash.get(..16).unwrap_or("")),
            revoked_with: session.token_id.clone(),
            access,
        },
        session,
        name,
    })
}

fn db_error(e: &crate::db::DbError) -> PageError {
    use crate::db::DbError;
    match e {
        DbError::Throttled { .. } | DbError::Busy(_) => PageError::TooMany(e.to_string()),
        _ => PageError::Internal(e.to_string()),
    }
}

/// Checks a state-changing request: the form's `csrf` is the session's token, and the
/// browser's `Origin`, when it sends one, is this server's.
pub fn check_post(signed: &Signed, headers: &HeaderMap, csrf: &str) -> Result<(), PageError> {
    check_origin(headers)?;
    if !app::sessions::same(csrf, &signed.session.csrf_token) {
        return Err(PageError::Forbidden(
            "the form is out of date or did not come from this console (CSRF token `csrf` \
             missing or wrong); reload the page and try again"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Whether the browser says a navigation came from another site (`Sec-Fetch-Site:
/// cross-site` or `same-site`, which every current browser sends). A `GET` that does more
/// than read (a report over demographics spends the org's privacy budget and is audited) is
/// not run from a link on another site: `SameSite=Lax` sends the session cookie with such
/// top-level navigations. Without the header (other clients) it is taken as same-origin.
pub fn from_another_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site" || v == "same-site")
}

/// A `POST` whose `Origin` names another host than the request's `Host` is refused.
pub fn check_origin(headers: &HeaderMap) -> Result<(), PageError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    if host.is_empty() || origin_host != host {
        return Err(PageError::Forbidden(format!(
            "a form sent from `{}` to this console is refused (the `Origin` is not this server's)",
            origin.chars().take(100).collect::<String>()
        )));
    }
    Ok(())
}

/// The whole answer of a GraphQL document run as `signed`: the data, or the first error.
pub async fn graphql(
    shared: &Arc<Shared>,
    signed: &Signed,
    document: &str,
    variables: Value,
) -> Result<Value, PageError> {
    let caller = &signed.caller;
    if let Err(wait) = shared.gate.check_rate(&caller.user_key()) {
        return Err(PageError::TooMany(format!(
            "too many requests in this session; retry in {} s",
            wait.as_secs() + 1
        )));
    }
    let deadline = deadline(shared);
    let db = shared
        .db
        .for_caller(caller.org(), &caller.user_key(), deadline);
    let doc = shared
        .documents
        .parse(document)
        .map_err(|e| PageError::Internal(format!("a console document does not parse: {e}")))?;
    let variables = async_graphql::Variables::from_json(variables);
    let cost = crate::cost::measure(
        shared.schema.registry(),
        &doc,
        None,
        &variables,
        &shared.limits,
    );
    if let Some(refusal) = cost.refusal(&shared.limits) {
        return Err(PageError::TooMany(refusal.message));
    }
    let committed = Arc::new(AtomicBool::new(false));
    let ctx = RequestCtx {
        caller: caller.clone(),
        services: shared.services.clone(),
        db,
        limits: shared.limits.clone(),
        committed: committed.clone(),
        secret_answer: Default::default(),
        scheduling_until: Default::default(),
        deadline,
        flags: shared.flags.clone(),
    };
    let mut request = async_graphql::Request::new(document).variables(variables);
    request.set_parsed_query(doc);
    let executed =
        tokio::time::timeout_at(deadline.into(), shared.schema.execute(request.data(ctx)))
            .await
            .map_err(|_| PageError::Refused {
                code: "TIMEOUT".to_owned(),
                message: "the page took too long to make; try again".to_owned(),
            })?;
    if committed.load(Ordering::Acquire) {
        if let Some(relay) = &shared.relay {
            relay.wake();
        }
        if let Some(automation) = &shared.automation {
            automation.wake();
        }
    }
    if let Some(e) = executed.errors.first() {
        let code = e
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .and_then(|v| match v {
                async_graphql::Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "INTERNAL".to_owned());
        let ext = |key: &str| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get(key))
                .cloned()
                .and_then(|v| v.into_json().ok())
        };
        if let Some(serde_json::Value::String(detail)) = ext("detail") {
            return Err(PageError::Report {
                message: e.message.clone(),
                line: ext("line").and_then(|v| v.as_u64()).unwrap_or(1),
                column: ext("column").and_then(|v| v.as_u64()).unwrap_or(1),
                detail,
            });
        }
        return Err(match code.as_str() {
            "NOT_FOUND" => PageError::NotFound,
            "INTERNAL" => PageError::Internal(e.message.clone()),
            _ => PageError::Refused {
                code,
                message: e.message.clone(),
            },
        });
    }
    executed
        .data
        .into_json()
        .map_err(|e| PageError::Internal(format!("a console answer is not JSON: {e}")))
}

/// `value` at `path` (`a.b.0.c`), or null.
pub fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    let mut v = value;
    for key in path.split('.') {
        v = match key.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(key),
        }
        .unwrap_or(&Value::Null);
    }
    v
}

/// `value` at `path` as text ("" for null; numbers and booleans as written).
pub fn text(value: &Value, path: &str) -> String {
    match at(value, path) {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A form field's value, refused when longer than `max` characters.
pub fn bounded<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, PageError> {
    if value.chars().count() > max {
        return Err(PageError::BadInput(format!(
            "`{field}` is longer than {max} characters"
        )));
    }
    Ok(value)
}

/// An id from a path or a form, as the org format allows one ([`domain::Id`]); anything else
/// is no such thing (404), without a query.
pub fn id(value: &str) -> Result<&str, PageError> {
    match domain::Id::parse(value) {
        Ok(_) => Ok(value),
        Err(_) => Err(PageError::NotFound),
    }
}

/// `id` as one path segment of a link: everything but letters, digits and `-._~`
/// percent-encoded.
pub fn seg(id: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Whether the request came from htmx (it then wants the page to swap a part of).
pub fn from_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some()
}
