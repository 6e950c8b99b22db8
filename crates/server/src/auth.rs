//! Who is calling: the `Authorization: Bearer hpt_...` token, checked against the store (through
//! `app::Services::authenticate`) and then trusted for `auth.cache_ms`, and each token's rate
//! limit ([`crate::rate`]).
//!
//! Failed authentication slows down per client address: each failure (no token, a wrong,
//! expired or revoked one) takes a cell of a GCRA limit (`limits.auth_failures_per_minute`,
//! `limits.auth_failure_burst`, `governor`, keyed by address); once an address is over it, its
//! tokens are not checked at all until the limit allows again (429 with `Retry-After`), so
//! guessing runs at the configured rate at most and costs the database nothing meanwhile. A
//! token checked and cached before passes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::{Db, DbError};
use crate::rate::RateLimit;
use app::Access;
use app::tokens::AuthError;

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// What the rate limits and shares count: the API token's id, or for a console session's
    /// own requests `session-` and the start of its hash.
    pub token_id: String,
    /// The API token whose revocation ends this caller and cancels the links it made
    /// (`app::Services::invite_user`): the token presented, or the one a console session was
    /// opened with (None for a session opened with a password or a code).
    pub revoked_with: Option<String>,
    pub access: Access,
}

impl Caller {
    pub fn org(&self) -> &str {
        &self.access.viewer.org
    }
    pub fn user(&self) -> &str {
        &self.access.viewer.user
    }

    /// Whose request rate and share of the database workers the caller's requests count
    /// against: their user's, all their tokens together (`org/user`). Per token, the 50
    /// console sessions a user may hold, each with its GraphiQL token, made 50 times the
    /// rate (red team, pass 9).
    pub fn user_key(&self) -> String {
        format!("{}/{}", self.org(), self.user())
    }
}

/// Why a request is not let in.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    #[error(
        "missing `Authorization: Bearer <token>` header (make one with `hireplane token create`)"
    )]
    Missing,
    #[error("{0}")]
    Token(AuthError),
    #[error(
        "rate limit of user `{user}` (all their tokens together) exceeded; retry in {retry_after_s} s"
    )]
    RateLimited { user: String, retry_after_s: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error(
        "too many failed authentication attempts from address `{address}`; retry in {retry_after_s} s"
    )]
    SlowDown {
        address: std::net::IpAddr,
        retry_after_s: u64,
    },
    /// The client's share of the database workers is used up ([`crate::db::DbError::Throttled`]).
    #[error("{0}")]
    Busy(String),
}

type Cached = (Instant, Caller);

/// Tokens checked recently, the rate limiter, and the addresses slowed down.
pub struct Gate {
    cache_for: Duration,
    cache: Mutex<HashMap<String, Cached>>,
    rate: Arc<RateLimit>,
    /// Failed authentications per address (None: no limit).
    failures: Option<governor::DefaultKeyedRateLimiter<IpAddr>>,
    /// Addresses over their limit of failures, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl Gate {
    /// `failures_per_minute` failed authentications per client address on average (0: no
    /// limit), `failure_burst` at once.
    pub fn new(
        cache_for: Duration,
        rate: Arc<RateLimit>,
        failures_per_minute: u32,
        failure_burst: u32,
    ) -> Gate {
        let failures = NonZeroU32::new(failures_per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(failure_burst).unwrap_or(NonZeroU32::MIN);
            governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute).allow_burst(burst))
        });
        Gate {
            cache_for,
            cache: Mutex::new(HashMap::new()),
            rate,
            failures,
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// How long `client` must wait before its tokens are checked again, if it must.
    fn blocked_for(&self, client: Option<IpAddr>) -> Option<Duration> {
        let client = crate::client_network(client?);
        let blocked = self.blocked.lock().ok()?;
        let until = *blocked.get(&client)?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failed authentication of `client`; over its limit, blocks it for as long as the
    /// limit says.
    fn failed(&self, client: Option<IpAddr>) {
        metrics::counter!("hireplane_auth_failures_total").increment(1);
        let (Some(limiter), Some(client)) = (&self.failures, client.map(crate::client_network))
        else {
            return;
        };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        if let Err(not_until) = limiter.check_key(&client) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            if let Ok(mut blocked) = self.blocked.lock() {
                if blocked.len() > 100_000 {
                    let now = Instant::now();
                    blocked.retain(|_, until| *until > now);
                }
                blocked.insert(client, Instant::now() + wait);
            }
            metrics::counter!("hireplane_auth_slowed_down_total").increment(1);
        }
    }

    /// The caller presenting `header` (the `Authorization` value) from `client`, rate limit and
    /// failed-authentication slow-down applied.
    pub async fn admit(
        &self,
        services: &Arc<app::Services>,
        db: &Db,
        header: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Caller, Denied> {
        let caller = self.authenticate(services, db, header, client).await?;
        if let Err(wait) = self.rate.check(&caller.user_key()) {
            return Err(Denied::RateLimited {
                user: caller.user().to_owned(),
                retry_after_s: wait.as_secs() + 1,
            });
        }
        Ok(caller)
    }

    /// [`Gate::admit`] without the token's rate limit: who the token is now (its user's role
    /// and the org's policy as they are), for a check that is not a request of the token's
    /// (a WebSocket's periodic check: a token that keeps itself rate limited must not keep
    /// the access it had, red team, pass 7). The failed-authentication slow-down applies to
    /// `client`; a check of a token already admitted passes no client (it is no guess, and
    /// others' bad tokens from its address must not close its socket: red team, pass 8).
    pub async fn authenticate(
        &self,
        services: &Arc<app::Services>,
        db: &Db,
        header: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Caller, Denied> {
        let slow_down = |wait: Duration| Denied::SlowDown {
            address: client.unwrap_or(IpAddr::from([0, 0, 0, 0])),
            retry_after_s: wait.as_secs() + 1,
        };
        let Some(token) = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .map(str::to_owned)
        else {
            if let Some(wait) = self.blocked_for(client) {
                return Err(slow_down(wait));
            }
            self.failed(client);
            return Err(Denied::Missing);
        };
        let caller = match self.cached(&token) {
            Some(c) => c,
            None => {
                if let Some(wait) = self.blocked_for(client) {
                    return Err(slow_down(wait));
                }
                let services = services.clone();
                let presented = token.clone();
                let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
                let checked = db
                    .run(move |store| services.authenticate(store, &presented, now))
                    .await
                    .map_err(|e| match e {
                        DbError::Throttled { .. } | DbError::Busy(_) => Denied::Busy(e.to_string()),
                        e => Denied::Unavailable(e.to_string()),
                    })?;
                let (stored, access) = checked.map_err(|e| match e {
                    AuthError::App(app::AppError::Store(e)) => Denied::Unavailable(e.to_string()),
                    e => {
                        self.failed(client);
                        Denied::Token(e)
                    }
                })?;
                let caller = Caller {
                    revoked_with: Some(stored.id.clone()),
                    token_id: stored.id,
                    access,
                };
                // A token that expires inside the cache window is not cached past its expiry:
                // it is simply checked again on every request.
                let expires_soon = stored.expires_at.is_some_and(|at| {
                    at.as_micros() - now.as_micros()
                        < i64::try_from(self.cache_for.as_micros()).unwrap_or(i64::MAX)
                });
                // An admin's token is checked on every request: what it can do (roles,
                // policies, invitations, rules) must stop at its revocation, not up to
                // `auth.cache_ms` later (red team, pass 20: a revoked admin token changed a
                // role within the window). Admins' requests are few; one lookup each.
                let admin = caller.access.viewer.role == "admin";
                if !self.cache_for.is_zero()
                    && !expires_soon
                    && !admin
                    && let Ok(mut cache) = self.cache.lock()
                {
                    if cache.len() > 100_000 {
                        cache.clear();
                    }
                    cache.insert(token, (Instant::now(), caller.clone()));
                }
                caller
            }
        };
        Ok(caller)
    }

    /// The rate limit of `key` (a caller's [`Caller::user_key`], or a console session's): Err
    /// with the wait when it is over.
    pub fn check_rate(&self, key: &String) -> Result<(), Duration> {
        self.rate.check(key)
    }

    fn cached(&self, token: &str) -> Option<Caller> {
        let cache = self.cache.lock().ok()?;
        let (at, caller) = cache.get(token)?;
        (at.elapsed() < self.cache_for).then(|| caller.clone())
    }
}
