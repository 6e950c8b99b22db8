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
//! (`console.sign_in_failures_per_minute`, `console.sign_in_failure_burst`). A client address
//! is the request's ([`crate::client_address`]: behind `console.trusted_proxies`, the one they
//! forwarded), an IPv6 one taken by its /64. A password attempt counts:
//! - per account (the email) *from one address*;
//! - per client address, four times as many (offices behind one address);
//! - per account from every address, four times as many: while an account is over it, only
//!   browsers with the account's device cookie (below) get in. An attacker spread over many
//!   addresses is bounded by it however many they have (red team, pass 4: refusing only the
//!   addresses that had failed gave each new address a guess, 150 from 150 addresses), while
//!   the owner's browser, which signed in before, is never locked out by someone else's
//!   guesses (OWASP's device cookies; passes 2 and 3 found lockouts anyone could trigger).
//! - A browser that signed in to the account with its password before carries a device cookie
//!   (`hp_device`: a random id and an HMAC of the account and the id under the installation's
//!   key, kept in the database: `Path=/console/sign-in`, `HttpOnly`, `SameSite=Strict`, 30
//!   days). Its
//!   attempts at that account count against the cookie alone, the way one address's do, and
//!   none of the three limits above refuses them: the owner who mistypes *during* an attack,
//!   or signs in from an address someone else guesses from, gets in (OWASP's "device cookies").
//!   A stolen cookie gives a thief the guesses of one address. Every replica, and the next
//!   process, trusts the cookie; the limits' counts, though, are each process's own (n replicas
//!   behind a balancer allow n times the guesses).
//!
//! A right password gives its attempt back, so the limits count failures: an office's people
//! signing in at once are not refused. Tokens and one-time codes are secrets nobody guesses;
//! their failures are bounded per (token, address) and per address for the database work they
//! cost, apart from passwords: wrong passwords from an address never refuse a token or a code.
//!
//! Once over, that key is refused at once (429) until the limit allows again, without a
//! password or a token being checked.
//!
//! Why marks taken during an attack, and a device cookie, rather than marking an address only
//! after a few failures: such a threshold still locks out an owner who mistyped that many
//! times, and gives every attacking address that many more guesses; marks taken only while the
//! account is over its limit give an attacker nothing more than before (one try per address),
//! and the cookie covers the owner who fails during the attack. Nothing of this is stored: a
//! cookie checked by its HMAC needs no table, and the counts are the process's already.
//!
//! A password costs an Argon2 check (tens of megabytes and a core for a fraction of a second),
//! so a password attempt is counted against its limits *before* it is checked, whatever its
//! outcome: sixty attempts sent at once from one address are sixty attempts, not sixty checks
//! that each found the address under its limit. And the checks the whole process runs at once
//! are bounded ([`PASSWORD_CHECK_WAIT`], one per core): an attempt waits briefly for its turn,
//! then is refused (429, "try again"). An unknown email is checked against a decoy hash, in the
//! same turn, so it costs what a known one does.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
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
use crate::client_network as network;
use crate::http::{ClientAddr, Shared};
use crate::settings::ConsoleSettings;
use app::sessions::{NewSession, SignInError};

/// A GCRA limit per key: each charge moves the key's theoretical arrival time one interval on
/// (from now at the earliest); the key is over its limit while that time is more than `burst`
/// intervals ahead. A charge can be given back ([`Limit::refund`]), which `governor` cannot
/// do: a password attempt is charged before it is checked, and a right one is given back.
struct Limit<K: Hash + Eq + Clone> {
    /// `None`: no limit (`console.sign_in_failures_per_minute` 0).
    interval: Option<Duration>,
    burst: u32,
    arrivals: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn new(per_minute: u32, burst: u32) -> Limit<K> {
        Limit {
            interval: (per_minute > 0).then(|| Duration::from_secs(60) / per_minute),
            burst: burst.max(1),
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` stays over its limit, if it is.
    fn blocked_for(&self, key: &K) -> Option<Duration> {
        let interval = self.interval?;
        let arrivals = self.arrivals.lock().ok()?;
        let ahead = arrivals.get(key)?.checked_duration_since(Instant::now())?;
        ahead
            .checked_sub(interval.saturating_mul(self.burst))
            .filter(|d| !d.is_zero())
    }

    /// One attempt of `key`.
    fn charge(&self, key: &K) {
        let (Some(interval), Ok(mut arrivals)) = (self.interval, self.arrivals.lock()) else {
            return;
        };
        let now = Instant::now();
        if arrivals.len() > 100_000 {
            arrivals.retain(|_, at| *at > now);
        }
        let at = arrivals.entry(key.clone()).or_insert(now);
        *at = (*at).max(now) + interval;
    }

    /// Gives one attempt of `key` back (it was charged, and turned out right).
    fn refund(&self, key: &K) {
        let (Some(interval), Ok(mut arrivals)) = (self.interval, self.arrivals.lock()) else {
            return;
        };
        if let Some(at) = arrivals.get_mut(key) {
            match at.checked_sub(interval).filter(|t| *t > Instant::now()) {
                Some(earlier) => *at = earlier,
                None => {
                    arrivals.remove(key);
                }
            }
        }
    }
}

/// The account key of one-time codes ([`Attempts::failed_code`]).
const CODE_KEY: &str = "code";

/// How long a password attempt waits for a turn to be checked when the process already checks
/// as many as it has cores; then it is refused (429).
pub const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(2);

/// The cookie that marks a browser that signed in to an account with its password.
const DEVICE_COOKIE: &str = "hp_device";

/// How long a device cookie lasts in the browser (the key that signs it is the installation's:
/// [`installation_device_key`]).
const DEVICE_DAYS: u32 = 30;

/// A browser's device cookie, checked for the account it attempts: its random id.
type Device = [u8; 16];

/// HMAC-SHA-256 (RFC 2104) of `parts` one after the other, under a 32-byte key.
fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut padded = [0u8; 64];
    padded[..32].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(padded.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(padded.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The bounds on failed sign-ins, per account and per address, and on the password checks
/// running at once.
pub struct Attempts {
    /// An account from one address ([`network`]; none: a router embedded without `serve`'s
    /// listener).
    pairs: Limit<(String, Option<IpAddr>)>,
    /// An account from every address; refuses attempts without a device cookie.
    accounts: Limit<String>,
    /// Password attempts from one address, whatever the account.
    addresses: Limit<IpAddr>,
    /// Wrong tokens and one-time codes from one address: secrets nobody guesses, bounded for
    /// the database work they cost, apart from passwords.
    secrets: Limit<IpAddr>,
    /// Password attempts with one device cookie.
    devices: Limit<Device>,
    /// Signs the device cookies: random, made at start.
    device_key: [u8; 32],
    /// Turns to run a password check (Argon2): one per core.
    checks: Arc<tokio::sync::Semaphore>,
    session_s: i64,
    secure: bool,
}

fn too_many(wait: Duration) -> PageError {
    PageError::TooMany(format!(
        "too many failed sign-ins for this account or from this address; try again in {} s",
        wait.as_secs() + 1
    ))
}

/// The key that signs the console's device cookies, kept in the database
/// (`Store::installation_key`) so that every replica, and the next process, trusts the
/// browsers one of them marked. `None` when the database cannot give it (the process then makes
/// its own, [`Attempts::new`]) or no randomness is to be had.
pub async fn installation_device_key(db: &crate::db::Db) -> Option<[u8; 32]> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).ok()?;
    let fresh = hex(&fresh);
    let stored = db
        .run(move |store| store.installation_key("console device cookies", &fresh))
        .await;
    match stored {
        Ok(Ok(key)) => unhex::<32>(&key).or_else(|| {
            tracing::warn!("the stored key of the console's device cookies is not 32 hex bytes");
            None
        }),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "reading the key of the console's device cookies");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading the key of the console's device cookies");
            None
        }
    }
}

impl Attempts {
    /// The limits of `settings`; device cookies signed with `device_key`
    /// ([`installation_device_key`]), or, without one, a key of this process alone.
    pub fn new(settings: &ConsoleSettings, device_key: Option<[u8; 32]>) -> Attempts {
        let (n, burst) = (
            settings.sign_in_failures_per_minute,
            settings.sign_in_failure_burst,
        );
        let device_key = device_key.unwrap_or_else(|| {
            let mut key = [0u8; 32];
            if getrandom::fill(&mut key).is_err() {
                // No randomness: a key nobody knows cannot be made, so no device cookie is
                // ever taken ([`Attempts::device_of`]).
                tracing::warn!("no random key for the console's device cookies: none is trusted");
            }
            key
        });
        Attempts {
            pairs: Limit::new(n, burst),
            accounts: Limit::new(n.saturating_mul(4), burst.saturating_mul(4)),
            addresses: Limit::new(n.saturating_mul(4), burst.saturating_mul(4)),
            secrets: Limit::new(n.saturating_mul(4), burst.saturating_mul(4)),
            devices: Limit::new(n, burst),
            device_key,
            checks: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            session_s: i64::from(settings.session_minutes.max(1)) * 60,
            secure: settings.secure_cookie,
        }
    }

    fn pair(account: &str, client: Option<IpAddr>) -> (String, Option<IpAddr>) {
        (account.to_owned(), client.map(network))
    }

    /// A password attempt is refused at once when its device (with a valid cookie) is over its
    /// limit; without one, when the account from this address, or the address, is over its
    /// limit, or the account is over its own. While an account is over its own limit only
    /// browsers that signed in to it before (a device cookie) get in, as in OWASP's device
    /// cookies: refusing only the addresses marked against it let an attacker guess once from
    /// every new address, bounded by how many addresses they had (red team, pass 4: 150
    /// guesses from 150 addresses in 6 s, 60 from 60 /64s).
    fn check_password(
        &self,
        account: &str,
        client: Option<IpAddr>,
        device: Option<&Device>,
    ) -> Result<(), PageError> {
        if let Some(device) = device {
            return self
                .devices
                .blocked_for(device)
                .map_or(Ok(()), |w| Err(too_many(w)));
        }
        let pair = Attempts::pair(account, client);
        let wait = self
            .pairs
            .blocked_for(&pair)
            .or_else(|| pair.1.and_then(|c| self.addresses.blocked_for(&c)))
            .or_else(|| self.accounts.blocked_for(&pair.0));
        wait.map_or(Ok(()), |w| Err(too_many(w)))
    }

    /// A password attempt, counted before its password is checked: refused at once (429) when
    /// over a limit ([`Attempts::check_password`]), or when this attempt takes it over.
    fn attempt(
        &self,
        account: &str,
        client: Option<IpAddr>,
        device: Option<&Device>,
    ) -> Result<(), PageError> {
        self.check_password(account, client, device)?;
        match device {
            Some(device) => self.devices.charge(device),
            None => {
                let pair = Attempts::pair(account, client);
                self.pairs.charge(&pair);
                self.accounts.charge(&pair.0);
                if let Some(c) = pair.1 {
                    self.addresses.charge(&c);
                }
            }
        }
        self.check_password(account, client, device)
    }

    /// A wrong password (already counted by [`Attempts::attempt`]): the metric.
    fn failed_password(&self, _account: &str, _client: Option<IpAddr>, _device: Option<&Device>) {
        metrics::counter!("hireplane_console_sign_in_failures_total").increment(1);
    }

    /// A right password: its attempt is given back (the limits count failures).
    fn succeeded(&self, account: &str, client: Option<IpAddr>, device: Option<&Device>) {
        let pair = Attempts::pair(account, client);
        match device {
            Some(device) => self.devices.refund(device),
            None => {
                self.pairs.refund(&pair);
                self.accounts.refund(&pair.0);
                if let Some(c) = pair.1 {
                    self.addresses.refund(&c);
                }
            }
        }
    }

    /// The `Set-Cookie` of a new device cookie for `account`: a random id and an HMAC of the
    /// account and the id under [`Attempts::device_key`], so that it names no account and
    /// cannot be made for one without a sign-in.
    fn device_cookie(&self, account: &str) -> String {
        let mut id: Device = [0; 16];
        let _ = getrandom::fill(&mut id);
        format!(
            "{DEVICE_COOKIE}={}{}; Path=/console/sign-in; HttpOnly; SameSite=Strict; Max-Age={}{}",
            hex(&id),
            hex(&self.device_mac(account, &id)),
            u64::from(DEVICE_DAYS) * 24 * 3600,
            if self.secure { "; Secure" } else { "" }
        )
    }

    fn device_mac(&self, account: &str, id: &Device) -> [u8; 16] {
        let mac = hmac(
            &self.device_key,
            &[
                b"hireplane console device\0",
                &(account.len() as u64).to_be_bytes(),
                account.as_bytes(),
                id,
            ],
        );
        let mut short = [0u8; 16];
        short.copy_from_slice(&mac[..16]);
        short
    }

    /// The device of the request's device cookie when it was made for `account` (by any
    /// replica of the installation, before a restart or after).
    fn device_of(&self, headers: &HeaderMap, account: &str) -> Option<Device> {
        if self.device_key == [0; 32] {
            return None;
        }
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            if text.len() > 8 * 1024 {
                continue;
            }
            for pair in text.split(';') {
                let Some((name, v)) = pair.trim().split_once('=') else {
                    continue;
                };
                if name != DEVICE_COOKIE || v.len() != 64 {
                    continue;
                }
                let (Some(id), Some(mac)) = (
                    v.get(..32).and_then(unhex::<16>),
                    v.get(32..).and_then(unhex::<16>),
                ) else {
                    continue;
                };
                // In constant time: the comparison tells nothing of the right MAC.
                let right = self.device_mac(account, &id);
                if right.iter().zip(mac).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0 {
                    return Some(id);
                }
            }
        }
        None
    }

    /// A token or a one-time code is refused at once when the account (the token's id, or
    /// [`CODE_KEY`]) from this address, or the address's wrong secrets, are over their limit.
    /// Wrong passwords from the address do not count: nobody guesses a token or a code.
    fn check_secret(&self, account: &str, client: Option<IpAddr>) -> Result<(), PageError> {
        let pair = Attempts::pair(account, client);
        let wait = self
            .pairs
            .blocked_for(&pair)
            .or_else(|| pair.1.and_then(|c| self.secrets.blocked_for(&c)));
        wait.map_or(Ok(()), |w| Err(too_many(w)))
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
    /// the one key `"code"`, which [`Attempts::check_secret`] asks for, so guesses stay bounded.
    fn failed_code(&self, client: Option<IpAddr>) {
        metrics::counter!("hireplane_console_sign_in_failures_total").increment(1);
        match client {
            Some(c) => self.secrets.charge(&network(c)),
            None => self.pairs.charge(&(CODE_KEY.to_owned(), None)),
        }
    }

    /// A token that did not work: counted against its id from the address, and the address.
    fn failed_token(&self, account: &str, client: Option<IpAddr>) {
        metrics::counter!("hireplane_console_sign_in_failures_total").increment(1);
        let pair = Attempts::pair(account, client);
        self.pairs.charge(&pair);
        if let Some(c) = pair.1 {
            self.secrets.charge(&c);
        }
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
            let account = format!("login:{login}");
            // A browser that signed in to this account before counts on its own.
            let device = attempts.device_of(headers, &account);
            // Counted now, before the check: concurrent attempts each find the ones before.
            attempts
                .attempt(&account, client, device.as_ref())
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
            let Some(record) = record.filter(|_| ok) else {
                // Counted before the check ([`Attempts::attempt`]); here the metric.
                attempts.failed_password(&account, client, device.as_ref());
                return Err((
                    PageError::BadInput(SignInError::WrongPassword.to_string()),
                    keep,
                ));
            };
            let opened = db
                .run(move |store| services.open_password_session(store, &record, now(), ttl))
                .await
                .map_err(run_err)?;
            match opened {
                Ok((session, _)) => {
                    attempts.succeeded(&account, client, device.as_ref());
                    let mut r = signed_in_response(attempts, &session);
                    if let Ok(v) = HeaderValue::from_str(&attempts.device_cookie(&account)) {
                        r.headers_mut().append(header::SET_COOKIE, v);
                    }
                    Ok(r)
                }
                Err(SignInError::App(e)) => Err((PageError::internal(&e), keep)),
                Err(e) => Err((PageError::BadInput(e.to_string()), keep)),
            }
        }
        "token" => {
            let token = form.token.trim().to_owned();
            // The account of a token is its id (`hpt_<id>_...`); malformed ones share one.
            let account = match app::tokens::parse(&token) {
                Ok((id, _)) => format!("token:{id}"),
                Err(_) => "token:malformed".to_owned(),
            };
            attempts
                .check_secret(&account, client)
                .map_err(|e| (e, String::new()))?;
            let opened = db
                .run(move |store| services.sign_in_with_token(store, &token, now(), ttl))
                .await
                .map_err(run_err)?;
            match opened {
                Ok((session, _)) => Ok(signed_in_response(attempts, &session)),
                Err(SignInError::App(e)) => Err((PageError::internal(&e), String::new())),
                Err(e) => {
                    attempts.failed_token(&account, client);
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
    attempts.check_secret(CODE_KEY, client)?;
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
    attempts.check_secret(CODE_KEY, client)?;
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
    if let Err(wait) = shared.gate.check_rate(&signed.caller.user_key()) {
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
        Attempts::new(
            &ConsoleSettings {
                sign_in_failures_per_minute: 1,
                sign_in_failure_burst: 1,
                ..ConsoleSettings::default()
            },
            None,
        )
    }

    /// Three tries a minute for an account from one address; twelve for the account from
    /// everywhere, and for an address.
    fn attempts_of_three() -> Attempts {
        Attempts::new(
            &ConsoleSettings {
                sign_in_failures_per_minute: 1,
                sign_in_failure_burst: 3,
                ..ConsoleSettings::default()
            },
            None,
        )
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Wrong passwords for `account` from 50 addresses, three from each, until the account is
    /// over its own limit; how many were let through to be checked.
    fn attack(a: &Attempts, account: &str) -> usize {
        let mut tried = 0;
        for i in 0..50 {
            let from = ip(&format!("10.1.0.{i}"));
            for _ in 0..3 {
                if a.attempt(account, Some(from), None).is_ok() {
                    tried += 1;
                    a.failed_password(account, Some(from), None);
                }
            }
        }
        tried
    }

    fn cookie_header(set_cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let pair = set_cookie.split(';').next().unwrap();
        h.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
        h
    }

    #[test]
    fn a_limit_is_gcra_and_gives_attempts_back() {
        let limit = Limit::<u8>::new(1, 3);
        for _ in 0..3 {
            assert!(limit.blocked_for(&1).is_none());
            limit.charge(&1);
        }
        assert!(
            limit.blocked_for(&1).is_none(),
            "three at once is the burst"
        );
        limit.charge(&1);
        let wait = limit.blocked_for(&1).unwrap();
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60));
        assert!(limit.blocked_for(&2).is_none(), "per key");
        limit.refund(&1);
        assert!(limit.blocked_for(&1).is_none(), "given back");
        let none = Limit::<u8>::new(0, 3);
        for _ in 0..10 {
            none.charge(&1);
        }
        assert!(none.blocked_for(&1).is_none(), "0 a minute: no limit");
    }

    #[test]
    fn password_attempts_count_before_they_are_checked() {
        // The red team's 60 attempts at once from one address all found it under its limit,
        // as none had failed yet: counted first, the fifth (burst 1, four for an address) is
        // refused whatever the others' checks say, and nothing is checked for it.
        let a = attempts();
        let one = ip("10.0.0.1");
        let passed = (0..60)
            .filter(|i| {
                a.attempt(&format!("login:x{i}@example.com"), Some(one), None)
                    .is_ok()
            })
            .count();
        assert_eq!(passed, 4);
        // Another address goes on; the account's own limit holds on its own.
        let two = ip("10.0.0.2");
        assert!(a.attempt("login:y@example.com", Some(two), None).is_ok());
        assert!(a.attempt("login:y@example.com", Some(two), None).is_err());
    }

    /// Someone else's wrong passwords do not lock the account's owner out (red team, pass 2:
    /// eleven from one address locked the real user out from everywhere), while guesses
    /// spread over many addresses stay bounded by the account's own limit.
    #[test]
    fn nobody_locks_an_account_out_from_another_address() {
        let a = attempts_of_three();
        let victim = "login:victim@example.com";
        let owner = ip("10.0.0.9");
        // Guesses from many addresses, each failing: once the account is over its own limit,
        // every address that failed against it since is refused, so each gets one try then.
        let tried = attack(&a, victim);
        assert!(tried <= 50 + 12, "{tried} guesses");
        assert!(
            a.check_password(victim, Some(ip("10.1.0.49")), None)
                .is_err()
        );
        // The first ones used the account's limit from their address.
        assert!(a.attempt(victim, Some(ip("10.1.0.0")), None).is_err());
        // The owner's browser, which signed in before (its device cookie), gets in, twice;
        // a browser without one is refused while the account is over its limit.
        let b = attempts_of_three();
        assert!(b.attempt(victim, Some(owner), None).is_ok());
        b.succeeded(victim, Some(owner), None);
        let device = b
            .device_of(&cookie_header(&b.device_cookie(victim)), victim)
            .unwrap();
        attack(&b, victim);
        for _ in 0..2 {
            assert!(b.attempt(victim, Some(owner), Some(&device)).is_ok());
            b.succeeded(victim, Some(owner), Some(&device));
        }
        assert!(b.check_password(victim, Some(owner), None).is_err());
    }

    /// Red team, pass 3 (a): the owner mistyped once from their address, then an attacker
    /// took the account over its own limit from other addresses. While the account is over,
    /// only a browser with the account's device cookie gets in (the next test); a typo never
    /// counts for more than one address's failure.
    #[test]
    fn during_an_attack_a_browser_without_a_device_cookie_waits() {
        let a = attempts_of_three();
        let victim = "login:victim@example.com";
        let owner = ip("10.0.0.9");
        assert!(a.attempt(victim, Some(owner), None).is_ok());
        a.failed_password(victim, Some(owner), None);
        attack(&a, victim);
        assert!(
            a.check_password(victim, Some(ip("10.1.0.3")), None)
                .is_err()
        );
        // During the attack a browser without a device cookie is refused, the owner's too
        // (their cookie gets them in: the next test); after it, the owner's typo counts for
        // nothing against them.
        assert!(
            a.check_password(victim, Some(owner), None).is_err(),
            "the owner"
        );
    }

    /// Red team, pass 4: while an account is over its own limit, a new address got one guess
    /// (150 guesses from 150 addresses). Now the account's limit bounds the guesses however
    /// many addresses there are.
    #[test]
    fn guesses_from_many_addresses_are_bounded_by_the_account() {
        let a = attempts_of_three();
        let victim = "login:victim@example.com";
        let mut checked = 0;
        for i in 0..150 {
            let from = ip(&format!("10.3.{}.{}", i / 200, i % 200));
            if a.attempt(victim, Some(from), None).is_ok() {
                checked += 1;
                a.failed_password(victim, Some(from), None);
            }
        }
        // The account's burst (four times an address's three), and none after.
        assert!(checked <= 12, "{checked} guesses checked");
    }

    /// A browser that signed in to the account carries a device cookie: its attempts count
    /// against that cookie only, so an owner who mistypes during an attack, or from an
    /// address someone else guesses from, is not refused; a cookie of another account, or a
    /// forged one, is no device; a stolen one is bounded like one address.
    #[test]
    fn a_device_cookie_keeps_its_browser_signed_in_during_an_attack() {
        let a = attempts_of_three();
        let victim = "login:victim@example.com";
        let owner = ip("10.0.0.9");
        // The owner signed in before, and got a cookie.
        assert!(a.attempt(victim, Some(owner), None).is_ok());
        a.succeeded(victim, Some(owner), None);
        let set = a.device_cookie(victim);
        assert!(
            set.starts_with("hp_device=")
                && set.contains("Path=/console/sign-in; HttpOnly; SameSite=Strict")
                && !set.contains("victim"),
            "{set}"
        );
        let headers = cookie_header(&set);
        let device = a
            .device_of(&headers, victim)
            .expect("the cookie is the device's");
        assert_eq!(a.device_of(&headers, "login:other@example.com"), None);
        let mut forged = set.clone();
        forged.replace_range(10..12, if &set[10..12] == "00" { "01" } else { "00" });
        assert_eq!(a.device_of(&cookie_header(&forged), victim), None);
        assert_eq!(a.device_of(&HeaderMap::new(), victim), None);
        // The attack; the owner mistypes during it, and without the cookie would be locked out.
        attack(&a, victim);
        assert!(a.attempt(victim, Some(owner), Some(&device)).is_ok());
        a.failed_password(victim, Some(owner), Some(&device));
        assert!(a.attempt(victim, Some(owner), Some(&device)).is_ok());
        a.succeeded(victim, Some(owner), Some(&device));
        // Without the cookie the owner is refused while the account is over its limit.
        assert!(a.check_password(victim, Some(owner), None).is_err());
        assert!(a.check_password(victim, Some(owner), Some(&device)).is_ok());
        // The attacker's address, over every limit, with the owner's cookie: three guesses.
        let thief = ip("10.1.0.7");
        let mut guesses = 0;
        for _ in 0..10 {
            if a.attempt(victim, Some(thief), Some(&device)).is_ok() {
                guesses += 1;
                a.failed_password(victim, Some(thief), Some(&device));
            }
        }
        assert_eq!(
            guesses, 2,
            "one of the device's three went to the owner's typo"
        );
    }

    /// Red team, pass 3 (b): 41 wrong passwords for made-up emails from one address refused a
    /// valid token's sign-in from it (on the code before, `check` asked the address's limit of
    /// every kind). Tokens and codes now count only wrong tokens and codes of the address,
    /// and right passwords are given back, so an office's sign-ins do not lock it out.
    #[test]
    fn wrong_passwords_from_an_address_refuse_no_token_and_right_ones_count_nothing() {
        let a = attempts_of_three();
        let office = ip("192.0.2.10");
        for i in 0..41 {
            if a.attempt(
                &format!("login:made-up-{i}@example.com"),
                Some(office),
                None,
            )
            .is_ok()
            {
                a.failed_password(
                    &format!("login:made-up-{i}@example.com"),
                    Some(office),
                    None,
                );
            }
        }
        assert!(
            a.check_password("login:someone@example.com", Some(office), None)
                .is_err(),
            "passwords from the address are bounded"
        );
        assert!(a.check_secret("token:t1", Some(office)).is_ok(), "a token");
        assert!(a.check_secret(CODE_KEY, Some(office)).is_ok(), "a code");
        // Fifty people of another office sign in at once with their right passwords.
        let other = ip("192.0.2.20");
        for i in 0..50 {
            let account = format!("login:person-{i}@example.com");
            assert!(a.attempt(&account, Some(other), None).is_ok(), "{i}");
            a.succeeded(&account, Some(other), None);
        }
        // Wrong tokens are bounded per address on their own.
        for i in 0..13 {
            assert!(a.check_secret(&format!("token:x{i}"), Some(office)).is_ok());
            a.failed_token(&format!("token:x{i}"), Some(office));
        }
        assert!(a.check_secret("token:t1", Some(office)).is_err());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(network(ip("2001:db8:1:2:a:b:c:d")), ip("2001:db8:1:2::"));
        assert_eq!(network(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(network(ip("192.0.2.1")), ip("192.0.2.1"));
        let a = attempts();
        // A new address of the same /64 for every guess: one address all the same.
        for i in 1..=4 {
            let from = ip(&format!("2001:db8:1:2::{i:x}"));
            assert!(
                a.attempt(&format!("login:u{i}@example.com"), Some(from), None)
                    .is_ok()
            );
        }
        assert!(
            a.attempt(
                "login:u9@example.com",
                Some(ip("2001:db8:1:2:ffff::1")),
                None
            )
            .is_err()
        );
        assert!(
            a.attempt("login:u9@example.com", Some(ip("2001:db8:1:3::1")), None)
                .is_ok(),
            "another /64"
        );
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
        let (one, two) = (ip("10.0.0.1"), ip("10.0.0.2"));
        // An address gets four times an account's burst.
        for _ in 0..5 {
            assert!(a.check_secret(CODE_KEY, Some(one)).is_ok());
            a.failed_code(Some(one));
        }
        assert!(
            a.check_secret(CODE_KEY, Some(one)).is_err(),
            "the guessing address"
        );
        assert!(
            a.check_secret(CODE_KEY, Some(two)).is_ok(),
            "another address goes on"
        );
        assert!(
            a.check_secret(CODE_KEY, None).is_ok(),
            "one address locks no one else out"
        );
        // Requests without an address share one key: bounded all the same.
        a.failed_code(None);
        a.failed_code(None);
        assert!(
            a.check_secret(CODE_KEY, None).is_err(),
            "guesses without an address"
        );
    }
}
