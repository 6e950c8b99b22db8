//! Signing in and out of the console, through `app::sessions`.
//!
//! - `GET /console/sign-in`: two forms, email and password (users an admin invited) or an API
//!   token (`hpt_...`). `POST` opens a session: the cookie `hp_session` (`Path=/console;
//!   HttpOnly; SameSite=Lax`, `Secure` with `console.secure_cookie`, `Max-Age` the session's
//!   life) holds its id; the store keeps its hash.
//! - `GET /console/code/{code}`: a one-time sign-in link (`serve --demo` prints one per role);
//!   the page has a button that `POST`s it, so a link preview does not use the code up.
//! - `GET /console/invitation/{code}`: choose a password (at least
//!   [`app::sessions::MIN_PASSWORD_CHARS`] characters), which signs in.
//! - `POST /console/sign-out`: with the session's CSRF token; deletes the session.
//!
//! Failed sign-ins are bounded ([`Attempts`]), each a GCRA limit
//! (`console.sign_in_failures_per_minute`, `console.sign_in_failure_burst`):
//! - per account (the email, or the token's id) *from one address*;
//! - per client address, four times as many (offices behind one address);
//! - per account from every address, four times as many, which refuses only the addresses that
//!   have failed against that account in the last quarter of an hour. An attacker spread over
//!   many addresses is bounded by it (each new address gets one try), while the account's
//!   owner, signing in from an address that has not failed, is not locked out by someone else's
//!   guesses (red team, pass 2: eleven wrong passwords from one address locked the real user
//!   out everywhere; OWASP's advice against account lockout as a denial of service).
//!
//! Once over, that key is refused at once (429) until the limit allows again, without a
//! password or a token being checked.
//!
//! A password costs an Argon2 check (tens of megabytes and a core for a fraction of a second),
//! so a password attempt is counted against both limits *before* it is checked, whatever its
//! outcome: sixty attempts sent at once from one address are sixty attempts, not sixty checks
//! that each found the address under its limit. And the checks the whole process runs at once
//! are bounded ([`PASSWORD_CHECK_WAIT`], one per core): an attempt waits briefly for its turn,
//! then is refused (429, "try again"). An unknown email is checked against a decoy hash, in the
//! same turn, so it costs what a known one does.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout;
use super::{PageError, check_origin, page_response, redirect, signed_in};
use crate::http::{ClientAddr, Shared};
use crate::settings::ConsoleSettings;
use app::sessions::{NewSession, SignInError};

/// Failed attempts of one kind of key, and the keys over their limit until when.
struct Limit<K: Hash + Eq + Clone> {
    limiter: Option<governor::DefaultKeyedRateLimiter<K>>,
    blocked: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn new(per_minute: u32, burst: u32) -> Limit<K> {
        let limiter = NonZeroU32::new(per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
            governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute).allow_burst(burst))
        });
        Limit {
            limiter,
            blocked: Mutex::new(HashMap::new()),
        }
    }

    fn blocked_for(&self, key: &K) -> Option<Duration> {
        let blocked = self.blocked.lock().ok()?;
        blocked.get(key)?.checked_duration_since(Instant::now())
    }

    fn failed(&self, key: &K) {
        let Some(limiter) = &self.limiter else {
            return;
        };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        if let Err(not_until) = limiter.check_key(key) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            if let Ok(mut blocked) = self.blocked.lock() {
                if blocked.len() > 100_000 {
                    let now = Instant::now();
                    blocked.retain(|_, until| *until > now);
                }
                blocked.insert(key.clone(), Instant::now() + wait);
            }
        }
    }
}

/// The account key of one-time codes ([`Attempts::failed_code`]).
const CODE_KEY: &str = "code";

/// How long an address that failed against an account counts against the account's own limit.
const FAILED_FOR: Duration = Duration::from_secs(15 * 60);

/// How long a password attempt waits for a turn to be checked when the process already checks
/// as many as it has cores; then it is refused (429).
pub const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(2);

/// The bounds on failed sign-ins, per account and per address, and on the password checks
/// running at once.
pub struct Attempts {
    /// An account from one address (none: a router embedded without `serve`'s listener).
    pairs: Limit<(String, Option<IpAddr>)>,
    /// An account from every address; refuses only addresses in `failed_from`.
    accounts: Limit<String>,
    addresses: Limit<IpAddr>,
    /// When each (account, address) last failed; forgotten after [`FAILED_FOR`] or a success.
    failed_from: Mutex<HashMap<(String, Option<IpAddr>), Instant>>,
    /// Turns to run a password check (Argon2): one per core.
    checks: Arc<tokio::sync::Semaphore>,
    session_s: i64,
    secure: bool,
}

impl Attempts {
    pub fn new(settings: &ConsoleSettings) -> Attempts {
        let (n, burst) = (
            settings.sign_in_failures_per_minute,
            settings.sign_in_failure_burst,
        );
        Attempts {
            pairs: Limit::new(n, burst),
            accounts: Limit::new(n.saturating_mul(4), burst.saturating_mul(4)),
            addresses: Limit::new(n.saturating_mul(4), burst.saturating_mul(4)),
            failed_from: Mutex::new(HashMap::new()),
            checks: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            session_s: i64::from(settings.session_minutes.max(1)) * 60,
            secure: settings.secure_cookie,
        }
    }

    /// Refused at once when the account from this address, or the address, is over its
    /// limit, or the account is over its own and this address has failed against it.
    fn check(&self, account: &str, client: Option<IpAddr>) -> Result<(), PageError> {
        let pair = (account.to_owned(), client);
        let wait = self
            .pairs
            .blocked_for(&pair)
            .or_else(|| client.and_then(|c| self.addresses.blocked_for(&c)))
            .or_else(|| {
                self.failed_before(&pair)
                    .then(|| self.accounts.blocked_for(&pair.0))
                    .flatten()
            });
        match wait {
            Some(wait) => Err(PageError::TooMany(format!(
                "too many failed sign-ins for this account or from this address; try again in \
                 {} s",
                wait.as_secs() + 1
            ))),
            None => Ok(()),
        }
    }

    /// A password attempt, counted before its password is checked: refused at once (429) when
    /// the account or the address is over its limit, or goes over it with this attempt.
    fn attempt(&self, account: &str, client: Option<IpAddr>) -> Result<(), PageError> {
        self.check(account, client)?;
        self.count(account, client);
        self.check(account, client)
    }

    /// An attempt against the three limits.
    fn count(&self, account: &str, client: Option<IpAddr>) {
        self.pairs.failed(&(account.to_owned(), client));
        self.accounts.failed(&account.to_owned());
        if let Some(c) = client {
            self.addresses.failed(&c);
        }
    }

    /// Whether `pair`'s address failed against its account in the last [`FAILED_FOR`].
    fn failed_before(&self, pair: &(String, Option<IpAddr>)) -> bool {
        self.failed_from
            .lock()
            .ok()
            .and_then(|f| f.get(pair).copied())
            .is_some_and(|at| at.elapsed() < FAILED_FOR)
    }

    /// An attempt that failed (its password or token was wrong): its address now counts
    /// against the account's own limit.
    fn mark_failed(&self, account: &str, client: Option<IpAddr>) {
        metrics::counter!("hireplane_console_sign_in_failures_total").increment(1);
        if let Ok(mut failed) = self.failed_from.lock() {
            if failed.len() > 100_000 {
                failed.retain(|_, at| at.elapsed() < FAILED_FOR);
            }
            failed.insert((account.to_owned(), client), Instant::now());
        }
    }

    /// A sign-in that worked: its address is the account's owner's again.
    fn succeeded(&self, account: &str, client: Option<IpAddr>) {
        if let Ok(mut failed) = self.failed_from.lock() {
            failed.remove(&(account.to_owned(), client));
        }
    }

    /// A turn to check a password, waiting at most `wait` while the process checks as many as
    /// it has cores; held until the check ends (the permit moves to the blocking task).
    async fn check_turn(
        &self,
        wait: Duration,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, PageError> {
        let busy = || {
            metrics::counter!("hireplane_console_sign_in_busy_total").increment(1);
            PageError::TooMany(
                "the server is checking many sign-ins at once; try again in a few seconds"
                    .to_owned(),
            )
        };
        match tokio::time::timeout(wait, self.checks.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }

    /// A one-time code that did not work. Codes are guessed per address (the account of every
    /// code is the same, so a shared key would let one client lock everyone out); a request
    /// without a client address (a router embedded without `serve`'s listener) counts against
    /// the one key `"code"`, which [`Attempts::check`] asks for, so guesses stay bounded.
    fn failed_code(&self, client: Option<IpAddr>) {
        metrics::counter!("hireplane_console_sign_in_failures_total").increment(1);
        match client {
            Some(c) => self.addresses.failed(&c),
            None => self.pairs.failed(&(CODE_KEY.to_owned(), None)),
        }
    }

    /// A token that did not work: counted, and its address marked.
    fn failed(&self, account: &str, client: Option<IpAddr>) {
        self.count(account, client);
        self.mark_failed(account, client);
    }
}

/// The cookie that holds `session`'s id.
fn session_cookie(attempts: &Attempts, session: &NewSession) -> String {
    let max_age =
        (session.stored.expires_at.as_micros() - session.stored.created_at.as_micros()) / 1_000_000;
    format!(
        "{}={}; Path=/console; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        super::COOKIE,
        session.id,
        if attempts.secure { "; Secure" } else { "" }
    )
}

/// Signed in: the cookie, and on to the jobs.
fn signed_in_response(attempts: &Attempts, session: &NewSession) -> Response {
    let mut r = redirect("/console/jobs");
    if let Ok(v) = HeaderValue::from_str(&session_cookie(attempts, session)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

/// `GET /console`: the jobs when signed in, else the sign-in page.
pub async fn home(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    let client = super::client_of(request.extensions());
    match signed_in(&shared, &headers, client).await {
        Ok(_) => redirect("/console/jobs"),
        Err(e) => e.into_response(),
    }
}

fn sign_in_form(error: Option<&str>, email: &str) -> Markup {
    layout::bare_with(
        "Sign in",
        html! {
            div.signin {
                h1 { "Sign in to hireplane" }
                (layout::message(error, None))
                form.stack method="post" action="/console/sign-in" {
                    input type="hidden" name="method" value="password";
                    label for="email" { "Email" }
                    input #email type="email" name="email" autocomplete="username" required maxlength="320" value=(email);
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required maxlength="256";
                    button type="submit" { "Sign in" }
                }
                h2 { "Or with an API token" }
                form.stack method="post" action="/console/sign-in" {
                    input type="hidden" name="method" value="token";
                    label for="token" { "API token" }
                    input #token type="password" name="token" autocomplete="off" required maxlength="200" placeholder="hpt_...";
                    button type="submit" { "Sign in with the token" }
                }
                p.muted { "An admin invites you with a link to choose a password; "
                    code { "hireplane token create" } " makes an API token." }
            }
        },
    )
}

/// `GET /console/sign-in`.
pub async fn sign_in_page() -> Response {
    page_response(StatusCode::OK, sign_in_form(None, ""))
}

#[derive(Deserialize)]
pub struct SignInForm {
    method: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

/// `POST /console/sign-in`.
pub async fn sign_in(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Form(form): Form<SignInForm>,
) -> Response {
    let client = client.map(|c| c.0.0);
    match sign_in_inner(&shared, &headers, client, form).await {
        Ok(r) => r,
        Err((PageError::BadInput(m), email)) => {
            page_response(StatusCode::UNAUTHORIZED, sign_in_form(Some(&m), &email))
        }
        Err((PageError::TooMany(m), email)) => page_response(
            StatusCode::TOO_MANY_REQUESTS,
            sign_in_form(Some(&m), &email),
        ),
        Err((e, _)) => e.into_response(),
    }
}

async fn sign_in_inner(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    client: Option<IpAddr>,
    form: SignInForm,
) -> Result<Response, (PageError, String)> {
    check_origin(headers).map_err(|e| (e, String::new()))?;
    let attempts = &shared.console;
    let ttl = attempts.session_s;
    let services = shared.services.clone();
    let db = match client {
        Some(addr) => shared
            .db
            .for_address(addr, std::time::Instant::now() + Duration::from_secs(10)),
        None => shared.db.clone(),
    };
    let run_err = |e: crate::db::DbError| (super::db_error(&e), String::new());
    match form.method.as_str() {
        "password" => {
            let email = form.email.chars().take(320).collect::<String>();
            let login = app::sessions::login_of(&email);
            let keep = email.clone();
            // Counted now, before the check: concurrent attempts each find the ones before.
            attempts
                .attempt(&format!("login:{login}"), client)
                .map_err(|e| (e, keep.clone()))?;
            let record = {
                let services = services.clone();
                let email = email.clone();
                db.run(move |store| services.password(store, &email))
                    .await
                    .map_err(run_err)?
                    .map_err(|e| (PageError::internal(&e), keep.clone()))?
            };
            let password = form.password;
            let checked = record.clone();
            // A known email and an unknown one (a decoy hash) wait for the same turn.
            let turn = attempts
                .check_turn(PASSWORD_CHECK_WAIT)
                .await
                .map_err(|e| (e, keep.clone()))?;
            let ok = tokio::task::spawn_blocking(move || {
                let _turn = turn;
                app::sessions::verify_password(checked.as_ref(), &password)
            })
            .await
            .unwrap_or(false);
            let account = format!("login:{login}");
            let Some(record) = record.filter(|_| ok) else {
                // Counted before the check ([`Attempts::attempt`]); here the address is marked.
                attempts.mark_failed(&account, client);
                return Err((
                    PageError::BadInput(SignInError::WrongPassword.to_string()),
                    keep,
                ));
            };
            let opened = db
                .run(move |store| {
                    services.open_session(
                        store,
                        &record.org_id,
                        &record.user_id,
                        store::SessionVia::Password,
                        now(),
                        ttl,
                    )
                })
                .await
                .map_err(run_err)?;
            match opened {
                Ok((session, _)) => {
                    attempts.succeeded(&account, client);
                    Ok(signed_in_response(attempts, &session))
                }
                Err(SignInError::App(e)) => Err((PageError::internal(&e), keep)),
                Err(e) => Err((PageError::BadInput(e.to_string()), keep)),
            }
        }
        "token" => {
            let token = form.token.trim().to_owned();
            // The account of a token is its id (`hpt_<id>_...`); a malformed one counts
            // against the address only.
            let account = match app::tokens::parse(&token) {
                Ok((id, _)) => format!("token:{id}"),
                Err(_) => "token:malformed".to_owned(),
            };
            attempts
                .check(&account, client)
                .map_err(|e| (e, String::new()))?;
            let opened = db
                .run(move |store| services.sign_in_with_token(store, &token, now(), ttl))
                .await
                .map_err(run_err)?;
            match opened {
                Ok((session, _)) => Ok(signed_in_response(attempts, &session)),
                Err(SignInError::App(e)) => Err((PageError::internal(&e), String::new())),
                Err(e) => {
                    attempts.failed(&account, client);
                    Err((PageError::BadInput(e.to_string()), String::new()))
                }
            }
        }
        other => Err((
            PageError::BadInput(format!(
                "`method` must be `password` or `token`, not `{}`",
                other.chars().take(40).collect::<String>()
            )),
            String::new(),
        )),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/sign-out`.
pub async fn sign_out(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    super::check_post(&signed, &headers, &form.csrf)?;
    let Some(id) = super::session_cookie(&headers) else {
        return Err(PageError::SignedOut);
    };
    let services = shared.services.clone();
    shared
        .db
        .run(move |store| services.sign_out(store, &id, now()))
        .await
        .map_err(|e| super::db_error(&e))?
        .map_err(|e| PageError::internal(&e))?;
    let mut r = redirect("/console/sign-in");
    let clear = format!(
        "{}=; Path=/console; HttpOnly; SameSite=Lax; Max-Age=0{}",
        super::COOKIE,
        if shared.console.secure {
            "; Secure"
        } else {
            ""
        }
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// `GET /console/code/{code}`: a button that uses the one-time code.
pub async fn code_page(Path(code): Path<String>) -> Response {
    if !app::sessions::is_code(&code) {
        return page_response(
            StatusCode::NOT_FOUND,
            layout::bare("Not a sign-in link", &SignInError::BadCode.to_string()),
        );
    }
    page_response(
        StatusCode::OK,
        layout::bare_with(
            "Sign in",
            html! {
                div.signin {
                    h1 { "Sign in with this link" }
                    p { "The link works once and expires soon." }
                    form method="post" action={ "/console/code/" (code) } {
                        button type="submit" { "Sign in" }
                    }
                }
            },
        ),
    )
}

/// `POST /console/code/{code}`: signs in with the one-time code.
pub async fn code_sign_in(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let client = client.map(|c| c.0.0);
    let attempts = &shared.console;
    attempts.check(CODE_KEY, client)?;
    let services = shared.services.clone();
    let ttl = attempts.session_s;
    let opened = shared
        .db
        .run(move |store| services.sign_in_with_code(store, &code, now(), ttl))
        .await
        .map_err(|e| super::db_error(&e))?;
    match opened {
        Ok((session, _)) => Ok(signed_in_response(attempts, &session)),
        Err(SignInError::App(e)) => Err(PageError::internal(&e)),
        Err(e) => {
            attempts.failed_code(client);
            Ok(page_response(
                StatusCode::UNAUTHORIZED,
                layout::bare("Not a sign-in link", &e.to_string()),
            ))
        }
    }
}

fn invitation_form(code: &str, error: Option<&str>) -> Markup {
    layout::bare_with(
        "Choose a password",
        html! {
            div.signin {
                h1 { "Choose your password" }
                (layout::message(error, None))
                form.stack method="post" action={ "/console/invitation/" (code) } {
                    label for="password" { "Password (at least " (app::sessions::MIN_PASSWORD_CHARS) " characters)" }
                    input #password type="password" name="password" autocomplete="new-password" required
                        minlength=(app::sessions::MIN_PASSWORD_CHARS) maxlength="256";
                    label for="again" { "The same password again" }
                    input #again type="password" name="again" autocomplete="new-password" required maxlength="256";
                    button type="submit" { "Set the password and sign in" }
                }
            }
        },
    )
}

/// `GET /console/invitation/{code}`.
pub async fn invitation_page(Path(code): Path<String>) -> Response {
    if !app::sessions::is_code(&code) {
        return page_response(
            StatusCode::NOT_FOUND,
            layout::bare("Not an invitation", &SignInError::BadCode.to_string()),
        );
    }
    page_response(StatusCode::OK, invitation_form(&code, None))
}

#[derive(Deserialize)]
pub struct InvitationForm {
    password: String,
    again: String,
}

/// `POST /console/invitation/{code}`: sets the password and signs in.
pub async fn accept_invitation(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(code): Path<String>,
    Form(form): Form<InvitationForm>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let client = client.map(|c| c.0.0);
    if !app::sessions::is_code(&code) {
        return Err(PageError::NotFound);
    }
    if form.password != form.again {
        return Ok(page_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            invitation_form(&code, Some("the two passwords differ")),
        ));
    }
    let attempts = &shared.console;
    attempts.check(CODE_KEY, client)?;
    let services = shared.services.clone();
    let ttl = attempts.session_s;
    let code_for_form = code.clone();
    // Argon2 runs on a database worker here: an invitation is accepted once per user.
    let opened = shared
        .db
        .run(move |store| services.accept_invitation(store, &code, &form.password, now(), ttl))
        .await
        .map_err(|e| super::db_error(&e))?;
    match opened {
        Ok((session, _)) => Ok(signed_in_response(attempts, &session)),
        Err(SignInError::App(e)) => Err(PageError::internal(&e)),
        Err(e @ SignInError::BadPassword) => Ok(page_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            invitation_form(&code_for_form, Some(&e.to_string())),
        )),
        Err(e) => {
            attempts.failed_code(client);
            Ok(page_response(
                StatusCode::UNAUTHORIZED,
                layout::bare("Not an invitation", &e.to_string()),
            ))
        }
    }
}

/// `POST /console/api`: GraphiQL as the signed-in user, with a token of theirs made for it
/// (an hour at most, never past the session) in the address's fragment, which the browser does
/// not send to the server.
pub async fn api(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    super::check_post(&signed, &headers, &form.csrf)?;
    // Each call makes a token: bounded by the session's rate limit, as its API requests are.
    if let Err(wait) = shared.gate.check_rate(&signed.caller.token_id) {
        return Err(PageError::TooMany(format!(
            "too many requests in this session; retry in {} s",
            wait.as_secs() + 1
        )));
    }
    let services = shared.services.clone();
    let session = signed.session.clone();
    let token = shared
        .db
        .run(move |store| services.session_api_token(store, &session, now()))
        .await
        .map_err(|e| super::db_error(&e))?
        .map_err(|e| PageError::internal(&e))?;
    Ok(redirect(&format!("/graphql#token={token}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempts() -> Attempts {
        Attempts::new(&ConsoleSettings {
            sign_in_failures_per_minute: 1,
            sign_in_failure_burst: 1,
            ..ConsoleSettings::default()
        })
    }

    #[test]
    fn password_attempts_count_before_they_are_checked() {
        // The red team's 60 attempts at once from one address all found it under its limit,
        // as none had failed yet: counted first, the fifth (burst 1, four for an address) is
        // refused whatever the others' checks say, and nothing is checked for it.
        let a = attempts();
        let one: IpAddr = "10.0.0.1".parse().unwrap();
        let passed = (0..60)
            .filter(|i| {
                a.attempt(&format!("login:x{i}@example.com"), Some(one))
                    .is_ok()
            })
            .count();
        assert_eq!(passed, 4);
        // Another address goes on; the account's own limit holds on its own.
        let two: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(a.attempt("login:y@example.com", Some(two)).is_ok());
        assert!(a.attempt("login:y@example.com", Some(two)).is_err());
    }

    /// Someone else's wrong passwords do not lock the account's owner out (red team, pass 2:
    /// eleven from one address locked the real user out from everywhere), while guesses
    /// spread over many addresses stay bounded by the account's own limit.
    #[test]
    fn nobody_locks_an_account_out_from_another_address() {
        // Three tries a minute for an account from one address; twelve for the account from
        // everywhere, and for an address.
        let a = Attempts::new(&ConsoleSettings {
            sign_in_failures_per_minute: 1,
            sign_in_failure_burst: 3,
            ..ConsoleSettings::default()
        });
        let victim = "login:victim@example.com";
        let owner: IpAddr = "10.0.0.9".parse().unwrap();
        // Guesses from many addresses, each failing: once the account is over its own limit,
        // every address that failed against it is refused, and a new one gets a single try.
        let mut tried = 0;
        for i in 0..50 {
            let from: IpAddr = format!("10.1.0.{i}").parse().unwrap();
            for _ in 0..3 {
                if a.attempt(victim, Some(from)).is_ok() {
                    tried += 1;
                    a.mark_failed(victim, Some(from));
                }
            }
        }
        assert!(tried <= 50 + 12, "{tried} guesses");
        let first: IpAddr = "10.1.0.0".parse().unwrap();
        assert!(a.check(victim, Some(first)).is_err());
        // The owner, from an address that has not failed, signs in, twice.
        for _ in 0..2 {
            assert!(a.attempt(victim, Some(owner)).is_ok());
            a.succeeded(victim, Some(owner));
        }
        // A wrong password of theirs marks their address like any other.
        assert!(a.attempt(victim, Some(owner)).is_ok());
        a.mark_failed(victim, Some(owner));
        assert!(a.check(victim, Some(owner)).is_err());
    }

    #[test]
    fn password_checks_wait_for_a_turn_then_are_refused() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let a = attempts();
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let mut held = Vec::new();
            for _ in 0..cores {
                held.push(a.check_turn(Duration::from_millis(10)).await.unwrap());
            }
            // Every turn taken: the next waits, then is told to try again.
            let started = Instant::now();
            let refused = a.check_turn(Duration::from_millis(100)).await;
            assert!(matches!(refused, Err(PageError::TooMany(ref m)) if m.contains("try again")));
            assert!(started.elapsed() >= Duration::from_millis(100));
            // A turn given back is taken at once.
            held.pop();
            assert!(a.check_turn(Duration::from_millis(10)).await.is_ok());
        });
    }

    #[test]
    fn code_guesses_are_bounded_per_address_and_without_one() {
        let a = attempts();
        let (one, two): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        // An address gets four times an account's burst.
        for _ in 0..5 {
            assert!(a.check(CODE_KEY, Some(one)).is_ok());
            a.failed_code(Some(one));
        }
        assert!(
            a.check(CODE_KEY, Some(one)).is_err(),
            "the guessing address"
        );
        assert!(
            a.check(CODE_KEY, Some(two)).is_ok(),
            "another address goes on"
        );
        assert!(
            a.check(CODE_KEY, None).is_ok(),
            "one address locks no one else out"
        );
        // Requests without an address share one key: bounded all the same.
        a.failed_code(None);
        a.failed_code(None);
        assert!(
            a.check(CODE_KEY, None).is_err(),
            "guesses without an address"
        );
    }
}
