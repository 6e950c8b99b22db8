//! Who is calling: the `Authorization: Bearer hpt_...` token, checked against the store (through
//! `app::Services::authenticate`) and then trusted for `auth.cache_ms`, and each token's rate
//! limit ([`crate::rate`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::{Db, DbError};
use crate::rate::RateLimit;
use app::Access;
use app::tokens::AuthError;

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token_id: String,
    pub access: Access,
}

impl Caller {
    pub fn org(&self) -> &str {
        &self.access.viewer.org
    }
    pub fn user(&self) -> &str {
        &self.access.viewer.user
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
    #[error("rate limit of token `{token}` exceeded; retry in {retry_after_s} s")]
    RateLimited { token: String, retry_after_s: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// The client's share of the database workers is used up ([`crate::db::DbError::Throttled`]).
    #[error("{0}")]
    Busy(String),
}

type Cached = (Instant, Caller);

/// Tokens checked recently, and the rate limiter.
pub struct Gate {
    cache_for: Duration,
    cache: Mutex<HashMap<String, Cached>>,
    rate: Arc<RateLimit>,
}

impl Gate {
    pub fn new(cache_for: Duration, rate: Arc<RateLimit>) -> Gate {
        Gate {
            cache_for,
            cache: Mutex::new(HashMap::new()),
            rate,
        }
    }

    /// The caller presenting `header` (the `Authorization` value), rate limit applied.
    pub async fn admit(
        &self,
        services: &Arc<app::Services>,
        db: &Db,
        header: Option<&str>,
    ) -> Result<Caller, Denied> {
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(Denied::Missing)?
            .to_owned();
        let caller = match self.cached(&token) {
            Some(c) => c,
            None => {
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
                    e => Denied::Token(e),
                })?;
                let caller = Caller {
                    token_id: stored.id,
                    access,
                };
                // A token that expires inside the cache window is not cached past its expiry:
                // it is simply checked again on every request.
                let expires_soon = stored.expires_at.is_some_and(|at| {
                    at.as_micros() - now.as_micros()
                        < i64::try_from(self.cache_for.as_micros()).unwrap_or(i64::MAX)
                });
                if !self.cache_for.is_zero()
                    && !expires_soon
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
        if let Err(wait) = self.rate.check(&caller.token_id) {
            return Err(Denied::RateLimited {
                token: caller.token_id.clone(),
                retry_after_s: wait.as_secs() + 1,
            });
        }
        Ok(caller)
    }

    fn cached(&self, token: &str) -> Option<Caller> {
        let cache = self.cache.lock().ok()?;
        let (at, caller) = cache.get(token)?;
        (at.elapsed() < self.cache_for).then(|| caller.clone())
    }
}
