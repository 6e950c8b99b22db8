//! The per-user rate limit (GCRA, `governor`, keyed by the caller's user, all their tokens and
//! console sessions together: `auth::Caller::user_key`), and the heartbeat that makes it hold
//! for the whole cluster.
//!
//! With `limits.rate_scope = "cluster"` (the default) each replica registers itself in the
//! database and renews a heartbeat every `limits.replica_heartbeat_ms` ([`Heartbeat`], a tokio
//! task started by the server and stopped on shutdown, when it removes the replica's row). Each
//! heartbeat returns n, the replicas whose heartbeat is younger than three heartbeats (itself
//! included), and the replica enforces rate / n and burst / n, rounded up, at least 1
//! ([`RateLimit::set_replicas`]; the limiter is rebuilt only when n changes, which starts every
//! token afresh). No request waits for the database because of the limit: the check is local.
//!
//! What it assumes: the load balancer spreads a token's requests evenly over the replicas. With
//! sticky routing (one token always on one replica) a token gets rate / n. While n changes (a
//! replica starts, stops or dies) the split lags by up to one heartbeat (three for a replica that
//! dies without leaving). When the heartbeat fails (database unreachable) the replica keeps the
//! last n and logs a warning; requests are not failed because of it.
//!
//! With `limits.rate_scope = "replica"` there is no heartbeat and each replica enforces the full
//! rate: n replicas let a token make n times the rate.
//!
//! The limiter keeps one state per token that called. A state whose token has been idle for
//! longer than it takes to replenish is the same as none, so [`Pruner`] (a task started beside
//! the server whenever there is a limit, and stopped on shutdown) forgets such states every
//! [`PRUNE_EVERY`] ([`RateLimit::prune`]): memory follows the tokens in use, not every token
//! that ever called.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::db::Db;

/// The keyed limiter on clock `C` (governor's default keyed limiter when `C` is the default
/// clock).
type Limiter<C> =
    RateLimiter<String, DashMapStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// How often [`Pruner`] forgets the states of idle tokens.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The rate limit of every token on this replica: the configured rate and burst, divided by the
/// number of live replicas. `C` is the clock (a fake one in tests).
pub struct RateLimit<C: Clock = DefaultClock> {
    per_second: u32,
    burst: u32,
    replicas: AtomicU32,
    clock: C,
    limiter: RwLock<Option<Arc<Limiter<C>>>>,
}

impl RateLimit {
    /// `per_second` requests per second on average per token (0: no limit), `burst` at once; as
    /// if this were the only replica until told otherwise.
    pub fn new(per_second: u32, burst: u32) -> RateLimit {
        RateLimit::with_clock(per_second, burst, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimit<C> {
    /// [`RateLimit::new`] on `clock`.
    pub fn with_clock(per_second: u32, burst: u32, clock: C) -> RateLimit<C> {
        metrics::gauge!("hireplane_rate_limit_replicas").set(1.0);
        RateLimit {
            per_second,
            burst,
            replicas: AtomicU32::new(1),
            limiter: RwLock::new(limiter(per_second, burst, 1, &clock)),
            clock,
        }
    }

    /// The current limiter (None: no limit).
    fn limiter(&self) -> Option<Arc<Limiter<C>>> {
        match self.limiter.read() {
            Ok(l) => l.clone(),
            // A thread panicked while rebuilding: the last limiter is still whole.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Whether token `token_id` may make a request now; if not, how long until it may.
    pub fn check(&self, token_id: &String) -> Result<(), Duration> {
        let Some(limiter) = self.limiter() else {
            return Ok(());
        };
        limiter
            .check_key(token_id)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets the state of every token whose state is as good as none: idle for longer than
    /// its requests take to replenish (governor's `retain_recent`), and gives the memory back.
    /// Such a token starts afresh at its next request, exactly as if it had been kept.
    pub fn prune(&self) {
        if let Some(limiter) = self.limiter() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// The number of tokens the limiter holds a state for (0 with no limit).
    pub fn tracked(&self) -> usize {
        self.limiter().map_or(0, |l| l.len())
    }

    /// The number of live replicas the limit is divided by.
    pub fn replicas(&self) -> u32 {
        self.replicas.load(Ordering::Relaxed)
    }

    /// The rate and burst each token gets on this replica (None: no limit).
    pub fn local_quota(&self) -> Option<(u32, u32)> {
        split(self.per_second, self.burst, self.replicas())
    }

    /// Divides the limit by `n` live replicas (at least 1) from now on. The limiter is rebuilt
    /// only when `n` changes.
    pub fn set_replicas(&self, n: u32) {
        let n = n.max(1);
        if self.replicas.swap(n, Ordering::Relaxed) == n {
            return;
        }
        let fresh = limiter(self.per_second, self.burst, n, &self.clock);
        match self.limiter.write() {
            Ok(mut l) => *l = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        metrics::gauge!("hireplane_rate_limit_replicas").set(f64::from(n));
        if let Some((rate, burst)) = split(self.per_second, self.burst, n) {
            tracing::info!(
                replicas = n,
                rate_per_second = rate,
                burst,
                "per-token rate limit split between the live replicas"
            );
        }
    }
}

/// The local rate and burst for `n` replicas: each divided by `n`, rounded up, at least 1; the
/// burst at least the rate (as for one replica). None when `per_second` is 0 (no limit).
fn split(per_second: u32, burst: u32, n: u32) -> Option<(u32, u32)> {
    let n = n.max(1);
    if per_second == 0 {
        return None;
    }
    let rate = per_second.div_ceil(n).max(1);
    let burst = burst.max(per_second).div_ceil(n).max(rate);
    Some((rate, burst))
}

fn limiter<C: Clock + Clone>(
    per_second: u32,
    burst: u32,
    n: u32,
    clock: &C,
) -> Option<Arc<Limiter<C>>> {
    let (rate, burst) = split(per_second, burst, n)?;
    let rate = NonZeroU32::new(rate)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Some(Arc::new(RateLimiter::dashmap_with_clock(
        Quota::per_second(rate).allow_burst(burst),
        clock.clone(),
    )))
}

/// A task that prunes the rate limiter every interval ([`RateLimit::prune`]).
pub struct Pruner {
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Pruner {
    /// Starts pruning `rate` every `every` (the first time one interval from now).
    pub fn start(rate: Arc<RateLimit>, every: Duration) -> Pruner {
        let every = every.max(Duration::from_millis(10));
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut ticks =
                    tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = stop.notified() => break,
                        _ = ticks.tick() => {
                            let before = rate.tracked();
                            rate.prune();
                            tracing::debug!(before, after = rate.tracked(), "rate limiter pruned");
                        }
                    }
                }
            }
        });
        Pruner { stop, task }
    }

    /// Stops pruning.
    pub async fn stop(self) {
        self.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "rate limiter pruning task failed");
        }
    }
}

/// How long a stopping replica waits for the database to remove its row.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The replica's heartbeat: a task that renews its row every interval and tells the rate limit
/// how many replicas are live.
pub struct Heartbeat {
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
    replica_id: String,
}

impl Heartbeat {
    /// Registers this replica (one heartbeat now, so that it starts with the right share) and
    /// starts renewing every `every`.
    pub async fn start(db: Db, rate: Arc<RateLimit>, every: Duration) -> Heartbeat {
        let every = every.max(Duration::from_millis(10));
        let live_within = every.saturating_mul(3);
        let replica_id = replica_id();
        beat(&db, &rate, &replica_id, live_within).await;
        tracing::info!(%replica_id, replicas = rate.replicas(), "replica registered");
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn({
            let (stop, replica_id) = (stop.clone(), replica_id.clone());
            async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks.tick().await; // the first tick is now: the beat above was it
                loop {
                    tokio::select! {
                        _ = stop.notified() => break,
                        _ = async {
                            ticks.tick().await;
                            beat(&db, &rate, &replica_id, live_within).await;
                        } => {}
                    }
                }
                leave(&db, &replica_id).await;
            }
        });
        Heartbeat {
            stop,
            task,
            replica_id,
        }
    }

    /// This replica's id in the database.
    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    /// What tells the task to stop and leave (`notify_one`), without waiting for it.
    pub fn stopper(&self) -> Arc<tokio::sync::Notify> {
        self.stop.clone()
    }

    /// Stops the heartbeat and removes this replica's row (waiting at most a few seconds for the
    /// database).
    pub async fn stop(self) {
        self.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "replica heartbeat task failed");
        }
    }
}

async fn beat(db: &Db, rate: &RateLimit, replica_id: &str, live_within: Duration) {
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let id = replica_id.to_owned();
    let counted = db
        .run(move |store| store.replica_heartbeat(&id, now, live_within))
        .await;
    let problem = match counted {
        Ok(Ok(n)) => {
            rate.set_replicas(n);
            return;
        }
        Ok(Err(e)) => chain(&e),
        Err(e) => chain(&e),
    };
    tracing::warn!(
        %replica_id,
        error = %problem,
        replicas = rate.replicas(),
        "replica heartbeat failed; keeping the last count of live replicas"
    );
}

async fn leave(db: &Db, replica_id: &str) {
    let id = replica_id.to_owned();
    let left =
        tokio::time::timeout(LEAVE_TIMEOUT, db.run(move |store| store.replica_leave(&id))).await;
    match left {
        Ok(Ok(Ok(_))) => tracing::info!(%replica_id, "replica left"),
        Ok(Ok(Err(e))) => {
            tracing::warn!(%replica_id, error = %chain(&e), "replica could not leave; its row expires")
        }
        Ok(Err(e)) => {
            tracing::warn!(%replica_id, error = %chain(&e), "replica could not leave; its row expires")
        }
        Err(_) => {
            tracing::warn!(%replica_id, "replica could not leave within {LEAVE_TIMEOUT:?}; its row expires")
        }
    }
}

/// An error with its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A fresh id for this replica: the host name when the environment tells it (`HOSTNAME`, as in
/// a container), the process id, and 64 random bits (two replicas never share an id).
pub(crate) fn replica_id() -> String {
    let mut random = [0u8; 8];
    if getrandom::fill(&mut random).is_err() {
        // No randomness: the clock's nanoseconds still tell two processes apart.
        let nanos = jiff::Timestamp::now().as_nanosecond();
        random = (nanos as u64).to_le_bytes();
    }
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let host = if host.is_empty() {
        "replica".to_owned()
    } else {
        host
    };
    format!("{host}-{}-{random}", std::process::id())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn admitted<C: Clock + Clone>(rate: &RateLimit<C>, token: &str, tries: u32) -> u32 {
        let token = token.to_owned();
        (0..tries).filter(|_| rate.check(&token).is_ok()).count() as u32
    }

    #[test]
    fn the_limit_is_split_between_replicas_rounded_up() {
        assert_eq!(split(100, 200, 1), Some((100, 200)));
        assert_eq!(split(100, 200, 3), Some((34, 67)));
        assert_eq!(split(5, 5, 2), Some((3, 3)));
        assert_eq!(split(1, 1, 10), Some((1, 1)), "at least 1");
        assert_eq!(
            split(10, 0, 2),
            Some((5, 5)),
            "the burst is at least the rate"
        );
        assert_eq!(split(10, 20, 0), Some((10, 20)), "n is at least 1");
        assert_eq!(split(0, 20, 2), None, "0: no limit");
    }

    #[test]
    fn the_limiter_follows_the_count_of_replicas() {
        let rate = RateLimit::new(1, 10);
        assert_eq!(admitted(&rate, "t", 30), 10);
        let wait = rate.check(&"t".to_owned()).unwrap_err();
        assert!(
            wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        rate.set_replicas(2);
        assert_eq!(rate.replicas(), 2);
        assert_eq!(rate.local_quota(), Some((1, 5)));
        assert_eq!(admitted(&rate, "t", 30), 5, "rebuilt with the local burst");
        rate.set_replicas(2);
        assert_eq!(
            admitted(&rate, "t", 30),
            0,
            "the same count keeps the limiter"
        );
        assert_eq!(admitted(&rate, "u", 30), 5, "per token");
        rate.set_replicas(0);
        assert_eq!(rate.replicas(), 1);
        assert_eq!(admitted(&rate, "t", 30), 10);
        let unlimited = RateLimit::new(0, 10);
        unlimited.set_replicas(3);
        assert_eq!(admitted(&unlimited, "t", 100), 100);
    }

    #[test]
    fn idle_tokens_are_forgotten() {
        let clock = governor::clock::FakeRelativeClock::default();
        // One request a second, two at once: a token's state is as good as none one second
        // after its last request.
        let rate = RateLimit::with_clock(1, 2, clock.clone());
        for t in ["a", "b", "c"] {
            assert_eq!(admitted(&rate, t, 1), 1);
        }
        assert_eq!(rate.tracked(), 3);
        rate.prune();
        assert_eq!(rate.tracked(), 3, "all three called just now");
        clock.advance(Duration::from_secs(2));
        assert_eq!(admitted(&rate, "a", 1), 1, "a keeps calling");
        clock.advance(Duration::from_secs(1));
        rate.prune();
        assert_eq!(rate.tracked(), 1, "b and c were idle for 3 s");
        // A forgotten token starts afresh, with its whole burst, as if it had been kept.
        assert_eq!(admitted(&rate, "b", 5), 2);
        assert_eq!(rate.tracked(), 2);
        clock.advance(Duration::from_secs(10));
        rate.prune();
        assert_eq!(rate.tracked(), 0);
        let unlimited = RateLimit::with_clock(0, 10, clock);
        assert_eq!(admitted(&unlimited, "a", 3), 3);
        unlimited.prune();
        assert_eq!(unlimited.tracked(), 0);
    }

    #[tokio::test]
    async fn the_pruner_prunes_in_the_background() {
        // A thousand a second, one at once: a state is as good as none 1 ms after its request.
        let rate = Arc::new(RateLimit::new(1000, 1));
        assert_eq!(admitted(&rate, "a", 1), 1);
        let pruner = Pruner::start(rate.clone(), Duration::from_millis(10));
        let mut waited = Duration::ZERO;
        while rate.tracked() > 0 && waited < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += Duration::from_millis(10);
        }
        assert_eq!(rate.tracked(), 0, "pruned within {waited:?}");
        pruner.stop().await;
    }
}
