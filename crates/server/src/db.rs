//! The store behind the server: a fixed set of worker threads, each owning one
//! [`store::Store`] connection, fed from one queue. Async handlers hand a closure to
//! [`Db::run`] and await its result, so a slow query never stalls the event loop.
//!
//! Why not tokio's blocking pool with a connection pool (r2d2, deadpool): the store's PostgreSQL
//! client is the blocking `postgres` crate, which drives its own runtime and refuses to run on a
//! thread of another one (tokio's blocking threads count as such). Plain threads own their
//! connection for their whole life, which is also what a pool would give; a worker reconnects
//! when the database closed its connection, so the server recovers when the database comes back.
//!
//! An idle connection is not told that the database closed it (a restart, an administrator's
//! `pg_terminate_backend`): the first request on it would fail. So when any worker finds its
//! connection lost or cannot connect, it counts a new *generation*; every other worker then
//! checks its connection with a round trip ([`store::Store::is_valid`]) before its next request
//! and opens a new one if it is gone. One request can still fail (the one that found the loss),
//! not one per idle connection.
//!
//! A job that panics (a bug in any engine it calls) does not take its worker with it: the panic
//! is caught around the job, its caller gets [`DbError::Panicked`] (answered `INTERNAL` with the
//! request id), the connection it was using is dropped (it may be inside a transaction; the next
//! job opens a fresh one), and `hireplane_worker_panics_total` counts it. The thread goes on
//! serving. [`Db::live_workers`] counts the threads still running; `/healthz` fails when none is.
//!
//! Fair sharing: a request's handle ([`Db::for_caller`], [`Db::for_address`] before
//! authentication) counts its jobs against its org's and its user's (all their tokens together;
//! or, before that, its address's) share
//! of the workers: at most `limits.max_workers_per_org` (default half the pool, rounded up) and
//! `limits.max_workers_per_user` (default a quarter) of its jobs are queued or running at
//! once. A job waits for its share *before* it enters the queue, so one org's backlog never
//! stands in the queue in front of another org's requests; it waits at most the pool's acquire
//! timeout and never past the request's deadline, then fails with [`DbError::Throttled`]
//! (`BUSY`, naming whose share is used up), which only the org or user over its share sees.
//!
//! Shares bound how many jobs an org has in the pool, not how much of the machine's CPU they
//! take: eight heavy reports of one org running beside another org's one small query leave that
//! query a ninth of the CPU. So the orgs active in the last second also share a fixed number of
//! *slots* (`limits.fair_share_slots`, default the machine's cores; see [`Fair`]): while n orgs
//! are active, each may have at most max(1, slots / n) jobs in flight. An org alone keeps its
//! whole share (the gate costs nothing then); a busy org that meets another waits for its turn
//! at the gate, under the same deadline, so the other org's requests keep their latency.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use store::{Store, StoreError};

/// Why a request could not get to the store.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database is not available: {0}")]
    Unavailable(String),
    #[error("no database connection was free within {0:?}")]
    Busy(Duration),
    #[error("the database worker stopped")]
    Stopped,
    #[error("the request's work on the database panicked: {0}")]
    Panicked(String),
    #[error(
        "{who} already has {limit} requests on the server's {size} database workers (its \
         share), and none finished within {} ms; retry later or send fewer requests at once",
        within.as_millis()
    )]
    Throttled {
        /// Whose share: ``org `ta` ``, ``user `ta/usr_1` ``, ``address `10.0.0.1` ``.
        who: String,
        limit: u32,
        size: u32,
        within: Duration,
    },
}

/// A share of the workers (an org's, a user's, an address's): how many of its jobs may be
/// queued or running at once.
struct Share {
    who: String,
    /// For the metric: `org`, `user` or `address`.
    kind: &'static str,
    limit: u32,
    permits: Arc<tokio::sync::Semaphore>,
}

/// The shares a handle's jobs count against, the org whose turn at the fair gate they take
/// (none before the caller is known), and the request's deadline.
struct Claim {
    shares: Vec<Share>,
    org: Option<Arc<str>>,
    deadline: Instant,
    /// What the request's statements share: the bytes its reports and pages may return in
    /// all (`limits.max_response_bytes`), the audit events it recorded.
    scope: Option<store::RequestScope>,
}

/// What a job holds while it is queued or running: its places in its shares and its turn at
/// the fair gate, given back when it ends.
struct Held {
    _permits: Vec<tokio::sync::OwnedSemaphorePermit>,
    _turn: Option<Turn>,
}

/// How long an org counts as active after its last job ended.
const ACTIVE_WINDOW: Duration = Duration::from_secs(1);

/// The gate that shares the machine between the orgs active at once (see the module's doc).
///
/// Written here rather than taken from a library: what it shares (jobs in flight per org,
/// with the fair number depending on how many orgs were active in the last second) is specific
/// to this pool; a weighted semaphore or a rate limiter (governor) bounds one key at a time and
/// cannot rebalance when a second org arrives.
struct Fair {
    /// Jobs in flight the active orgs share; 0: no gate.
    slots: AtomicU32,
    orgs: Mutex<HashMap<Arc<str>, OrgLoad>>,
    /// Woken when a job ends, so that waiting jobs look again.
    ended: tokio::sync::Notify,
}

#[derive(Clone, Copy)]
struct OrgLoad {
    in_flight: u32,
    /// When its last job started or ended.
    seen: Instant,
}

/// One org's job in flight at the fair gate.
struct Turn {
    fair: Arc<Shared>,
    org: Arc<str>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let fair = &self.fair.fair;
        {
            let mut orgs = lock(&fair.orgs);
            if let Some(load) = orgs.get_mut(&self.org) {
                load.in_flight = load.in_flight.saturating_sub(1);
                load.seen = Instant::now();
            }
        }
        fair.ended.notify_waiters();
    }
}

impl Fair {
    /// The most jobs `org` may have in flight now: the slots divided between the orgs with a
    /// job in flight or one that ended within [`ACTIVE_WINDOW`] (`org` counted), at least one;
    /// no bound while no other org is active.
    fn limit(&self, orgs: &HashMap<Arc<str>, OrgLoad>, org: &str, now: Instant) -> u32 {
        let slots = self.slots.load(Ordering::Relaxed);
        let others = orgs
            .iter()
            .filter(|(k, load)| {
                &***k != org
                    && (load.in_flight > 0 || now.duration_since(load.seen) < ACTIVE_WINDOW)
            })
            .count() as u32;
        if others == 0 {
            return u32::MAX; // alone: only its shares hold it
        }
        (slots / (others + 1)).max(1)
    }

    /// Takes a turn for `org` if it is under its fair number of jobs.
    fn try_take(&self, org: &Arc<str>) -> bool {
        let now = Instant::now();
        let mut orgs = lock(&self.orgs);
        let limit = self.limit(&orgs, org, now);
        if orgs.len() >= 4096 {
            orgs.retain(|_, load| {
                load.in_flight > 0 || now.duration_since(load.seen) < ACTIVE_WINDOW
            });
        }
        let load = match orgs.entry(org.clone()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(OrgLoad {
                in_flight: 0,
                seen: now,
            }),
        };
        if load.in_flight >= limit {
            return false;
        }
        load.in_flight += 1;
        load.seen = now;
        true
    }
}

/// A mutex's guard, also after a panic elsewhere poisoned it (the data are counters that stay
/// consistent: every change is one statement).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Whether a job ran to its end or panicked (then its connection is not trusted again).
#[derive(PartialEq, Eq)]
enum Ran {
    Done,
    Panicked,
}

type Job = Box<dyn FnOnce(Result<&mut Store, DbError>) -> Ran + Send>;

struct Shared {
    busy: AtomicU32,
    /// Worker threads running.
    live: AtomicU32,
    connected: AtomicU32,
    size: u32,
    /// Counts the losses of a connection seen by any worker (see the module's doc).
    generation: AtomicU64,
    acquire_timeout: Duration,
    /// The most jobs of one org, and of one user or address, queued or running at once.
    per_org: AtomicU32,
    per_user: AtomicU32,
    /// The shares in use, by key (`org:ID`, `user:ORG/ID`, `address:IP`); a share no handle holds
    /// any more is dropped.
    shares: Mutex<HashMap<String, Weak<tokio::sync::Semaphore>>>,
    fair: Fair,
    /// Each caller's handle's byte budget ([`ConnectionLimits::response_bytes`]).
    response_bytes: Option<usize>,
}

/// How long a worker waits for an idle connection it doubts to answer.
const VALIDATE_TIMEOUT: Duration = Duration::from_secs(2);

/// The workers, shared by every request.
#[derive(Clone)]
pub struct Db {
    tx: mpsc::Sender<(Instant, Job)>,
    shared: Arc<Shared>,
    /// The shares this handle's jobs count against (none: the server's own work).
    claim: Option<Arc<Claim>>,
}

impl Db {
    /// Opens one connection now (so that a wrong URL or an old schema fails at start, with the
    /// migrations applied once) and starts `size` workers that connect on first use.
    pub fn open(
        url: &str,
        size: u32,
        acquire_timeout: Duration,
        statement_timeout: Duration,
    ) -> Result<Db, StoreError> {
        Db::open_with(
            url,
            size,
            acquire_timeout,
            ConnectionLimits {
                statement_timeout,
                row_limit: None,
                response_bytes: None,
            },
        )
    }

    /// [`Db::open`], every connection set up with `limits`.
    pub fn open_with(
        url: &str,
        size: u32,
        acquire_timeout: Duration,
        limits: ConnectionLimits,
    ) -> Result<Db, StoreError> {
        let mut first = Store::open(url)?;
        limits.set_up(&mut first)?;
        let (tx, rx) = mpsc::channel::<(Instant, Job)>();
        let rx = Arc::new(Mutex::new(rx));
        let size = size.max(1);
        let shared = Arc::new(Shared {
            busy: AtomicU32::new(0),
            live: AtomicU32::new(0),
            connected: AtomicU32::new(0),
            size,
            generation: AtomicU64::new(0),
            acquire_timeout,
            per_org: AtomicU32::new(size.div_ceil(2)),
            per_user: AtomicU32::new(size.div_ceil(4)),
            shares: Mutex::new(HashMap::new()),
            fair: Fair {
                slots: AtomicU32::new(default_slots()),
                orgs: Mutex::new(HashMap::new()),
                ended: tokio::sync::Notify::new(),
            },
            response_bytes: limits.response_bytes,
        });
        let mut first = Some(first);
        for i in 0..size {
            let rx = rx.clone();
            let shared = shared.clone();
            let url = url.to_owned();
            let mut conn = first.take();
            if conn.is_some() {
                shared.connected.fetch_add(1, Ordering::Relaxed);
            }
            shared.live.fetch_add(1, Ordering::AcqRel);
            std::thread::Builder::new()
                .name(format!("hireplane-db-{i}"))
                .spawn(move || {
                    let _live = Live(&shared);
                    worker(&rx, &shared, &url, limits, acquire_timeout, &mut conn)
                })
                .map_err(|e| StoreError::Corrupt(format!("cannot start a database worker: {e}")))?;
        }
        Ok(Db {
            tx,
            shared,
            claim: None,
        })
    }

    /// Runs `f` with a connection on a worker thread.
    pub async fn run<T, E, F>(&self, f: F) -> Result<Result<T, E>, DbError>
    where
        F: FnOnce(&mut Store) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        // Wait for the caller's shares before queueing: see the module's doc.
        let held = match &self.claim {
            Some(claim) => Some(self.acquire(claim).await?),
            None => None,
        };
        let (done, result) = tokio::sync::oneshot::channel();
        let scope = self.claim.as_ref().and_then(|c| c.scope.clone());
        let job: Job = Box::new(move |conn| {
            let _held = held;
            let (answer, ran) = match conn {
                Err(e) => (Err(e), Ran::Done),
                Ok(store) => {
                    // The request's scope for this job only: the connection serves others.
                    let scoped = scope.is_some();
                    if scoped {
                        store.set_request(scope);
                    }
                    let out = match catch_unwind(AssertUnwindSafe(|| f(store))) {
                        Ok(r) => (Ok(r), Ran::Done),
                        Err(payload) => (Err(DbError::Panicked(describe(payload))), Ran::Panicked),
                    };
                    if scoped {
                        store.set_request(None);
                    }
                    out
                }
            };
            let _ = done.send(answer);
            ran
        });
        self.tx
            .send((Instant::now(), job))
            .map_err(|_| DbError::Stopped)?;
        result.await.map_err(|_| DbError::Stopped)?
    }

    /// Sets the most jobs of one org and of one user (or address) that may be queued or
    /// running at once; 0: half the workers for an org, a quarter for a user, rounded up.
    /// Each is at most the number of workers.
    pub fn set_shares(&self, per_org: u32, per_user: u32) {
        let size = self.shared.size;
        let pick = |given: u32, auto: u32| if given == 0 { auto } else { given.min(size) };
        let org = pick(per_org, size.div_ceil(2));
        self.shared.per_org.store(org, Ordering::Relaxed);
        self.shared
            .per_user
            .store(pick(per_user, size.div_ceil(4)).min(org), Ordering::Relaxed);
    }

    /// Sets the jobs in flight that the active orgs share (see [`Fair`]); 0: the machine's
    /// cores.
    pub fn set_fair_share_slots(&self, slots: u32) {
        let slots = if slots == 0 { default_slots() } else { slots };
        self.shared.fair.slots.store(slots, Ordering::Relaxed);
    }

    /// A handle whose jobs count against `org`'s and `user`'s ([`crate::auth::Caller::user_key`]) shares, and take `org`'s turns
    /// at the fair gate, waiting for them at most until `deadline`.
    pub fn for_caller(&self, org: &str, user: &str, deadline: Instant) -> Db {
        let shares = vec![
            self.share(format!("user `{user}`"), "user", format!("user:{user}")),
            self.share(format!("org `{org}`"), "org", format!("org:{org}")),
        ];
        let scope = store::RequestScope::new(self.shared.response_bytes);
        self.claimed(shares, Some(Arc::from(org)), deadline, Some(scope))
    }

    /// A handle whose jobs count against the share of client address `address` (work done
    /// before the caller is known: checking its token).
    pub fn for_address(&self, address: std::net::IpAddr, deadline: Instant) -> Db {
        // An IPv6 client by its /64 (`client_network`).
        let address = crate::client_network(address);
        let share = self.share(
            format!("address `{address}`"),
            "address",
            format!("address:{address}"),
        );
        self.claimed(vec![share], None, deadline, None)
    }

    fn claimed(
        &self,
        shares: Vec<Share>,
        org: Option<Arc<str>>,
        deadline: Instant,
        scope: Option<store::RequestScope>,
    ) -> Db {
        Db {
            tx: self.tx.clone(),
            shared: self.shared.clone(),
            claim: Some(Arc::new(Claim {
                shares,
                org,
                deadline,
                scope,
            })),
        }
    }

    /// The share under `key` (made on first use; forgotten when no handle holds it).
    fn share(&self, who: String, kind: &'static str, key: String) -> Share {
        let limit = if kind == "org" {
            self.shared.per_org.load(Ordering::Relaxed)
        } else {
            self.shared.per_user.load(Ordering::Relaxed)
        }
        .max(1);
        let mut shares = lock(&self.shared.shares);
        let permits = match shares.get(&key).and_then(Weak::upgrade) {
            Some(p) => p,
            None => {
                if shares.len() >= 4096 {
                    shares.retain(|_, w| w.strong_count() > 0);
                }
                let p = Arc::new(tokio::sync::Semaphore::new(limit as usize));
                shares.insert(key, Arc::downgrade(&p));
                p
            }
        };
        Share {
            who,
            kind,
            limit,
            permits,
        }
    }

    /// One place in each of `claim`'s shares and a turn at the fair gate, waiting at most the
    /// acquire timeout and never past the request's deadline.
    async fn acquire(&self, claim: &Claim) -> Result<Held, DbError> {
        let started = Instant::now();
        let until = claim
            .deadline
            .min(started + self.shared.acquire_timeout)
            .max(started);
        let mut held = Vec::with_capacity(claim.shares.len());
        for share in &claim.shares {
            let acquired = tokio::time::timeout_at(
                tokio::time::Instant::from_std(until),
                share.permits.clone().acquire_owned(),
            )
            .await;
            match acquired {
                Ok(Ok(permit)) => held.push(permit),
                Ok(Err(_)) => return Err(DbError::Stopped),
                Err(_) => {
                    metrics::counter!("hireplane_db_throttled_total", "share" => share.kind)
                        .increment(1);
                    return Err(DbError::Throttled {
                        who: share.who.clone(),
                        limit: share.limit,
                        size: self.shared.size,
                        within: until - started,
                    });
                }
            }
        }
        let turn = match &claim.org {
            Some(org) => Some(self.take_turn(org, until, started).await?),
            None => None,
        };
        Ok(Held {
            _permits: held,
            _turn: turn,
        })
    }

    /// `org`'s turn at the fair gate, waiting for one of its jobs to end (or another org to go
    /// quiet) until `until`.
    async fn take_turn(
        &self,
        org: &Arc<str>,
        until: Instant,
        started: Instant,
    ) -> Result<Turn, DbError> {
        let fair = &self.shared.fair;
        let deadline = tokio::time::Instant::from_std(until);
        loop {
            // Listen before looking, so that a job ending in between is not missed.
            let ended = fair.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if fair.slots.load(Ordering::Relaxed) == 0 || fair.try_take(org) {
                return Ok(Turn {
                    fair: self.shared.clone(),
                    org: org.clone(),
                });
            }
            // An org stays active for a window after its last job: look again then too.
            let relook = tokio::time::Instant::now() + ACTIVE_WINDOW / 4;
            tokio::select! {
                () = &mut ended => {}
                () = tokio::time::sleep_until(relook.min(deadline)) => {
                    if tokio::time::Instant::now() >= deadline {
                        metrics::counter!("hireplane_db_throttled_total", "share" => "fair")
                            .increment(1);
                        let limit = {
                            let orgs = lock(&fair.orgs);
                            fair.limit(&orgs, org, Instant::now())
                        };
                        return Err(DbError::Throttled {
                            who: format!("org `{org}` (other orgs are active: its fair share)"),
                            limit,
                            size: self.shared.size,
                            within: until - started,
                        });
                    }
                }
            }
        }
    }

    /// The worker threads still running (all of them, unless the process is going down).
    pub fn live_workers(&self) -> u32 {
        self.shared.live.load(Ordering::Acquire)
    }

    /// Connections (open, busy, workers), for the metrics.
    pub fn state(&self) -> (u32, u32, u32) {
        (
            self.shared.connected.load(Ordering::Relaxed),
            self.shared.busy.load(Ordering::Relaxed),
            self.shared.size,
        )
    }
}

/// The machine's cores (threads the OS runs at once), at least one.
fn default_slots() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
}

/// Counts a worker thread as live while it exists, however it ends.
struct Live<'a>(&'a Shared);

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
        if std::thread::panicking() {
            tracing::error!("a database worker stopped");
        }
    }
}

/// A panic's message, for the log and the error; the payload is dropped here, where a payload
/// that panics in its own `drop` cannot unwind further.
fn describe(payload: Box<dyn std::any::Any + Send>) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    message
}

/// Counts a caught panic and drops the connection its job was using.
fn panicked(shared: &Shared, conn: &mut Option<Store>) {
    metrics::counter!("hireplane_worker_panics_total").increment(1);
    tracing::error!(
        "a job panicked on a database worker; the worker goes on with a new connection"
    );
    if let Some(store) = conn.take() {
        shared.connected.fetch_sub(1, Ordering::Relaxed);
        let _ = catch_unwind(AssertUnwindSafe(move || drop(store)));
    }
}

/// What every connection of the pool is set up with.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// How long one statement may run (zero: no limit); `Store::set_statement_timeout`.
    pub statement_timeout: Duration,
    /// The most rows one report may return (`limits.max_report_rows`); `Store::set_row_limit`.
    pub row_limit: Option<usize>,
    /// The most bytes the reports and pages of one caller's handle (one request:
    /// [`Db::for_caller`]) may return in all (`limits.max_response_bytes`);
    /// `Store::set_request`.
    pub response_bytes: Option<usize>,
}

impl ConnectionLimits {
    fn set_up(self, store: &mut Store) -> Result<(), StoreError> {
        store.set_statement_timeout(self.statement_timeout)?;
        store.set_row_limit(self.row_limit);
        Ok(())
    }
}

fn worker(
    rx: &Mutex<mpsc::Receiver<(Instant, Job)>>,
    shared: &Shared,
    url: &str,
    limits: ConnectionLimits,
    acquire_timeout: Duration,
    conn: &mut Option<Store>,
) {
    // The generation this worker's connection was last known good in.
    let mut checked = shared.generation.load(Ordering::Acquire);
    loop {
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((queued, job)) = next else {
            return; // every sender is gone: the server stopped
        };
        let waited = queued.elapsed();
        metrics::histogram!("hireplane_db_acquire_seconds").record(waited);
        if waited > acquire_timeout {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                job(Err(DbError::Busy(acquire_timeout)))
            }));
            continue;
        }
        let generation = shared.generation.load(Ordering::Acquire);
        if generation != checked {
            if let Some(store) = conn.as_mut()
                && !store.is_valid(VALIDATE_TIMEOUT)
            {
                tracing::info!("database connection lost while idle; reconnecting");
                *conn = None;
                shared.connected.fetch_sub(1, Ordering::Relaxed);
            }
            checked = generation;
        }
        if conn.is_none() {
            match Store::open(url).and_then(|mut s| {
                limits.set_up(&mut s)?;
                Ok(s)
            }) {
                Ok(s) => {
                    *conn = Some(s);
                    shared.connected.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "database connection failed");
                    checked = shared.generation.fetch_add(1, Ordering::AcqRel) + 1;
                    let failed = DbError::Unavailable(e.to_string());
                    let _ = catch_unwind(AssertUnwindSafe(|| job(Err(failed))));
                    continue;
                }
            }
        }
        let Some(store) = conn.as_mut() else {
            continue;
        };
        shared.busy.fetch_add(1, Ordering::Relaxed);
        // `run`'s jobs catch their own panics; this catches anything else, so that no job ends
        // the thread.
        let ran = catch_unwind(AssertUnwindSafe(|| job(Ok(store)))).unwrap_or_else(|payload| {
            describe(payload);
            Ran::Panicked
        });
        shared.busy.fetch_sub(1, Ordering::Relaxed);
        if ran == Ran::Panicked {
            panicked(shared, conn);
            continue;
        }
        if store.is_broken() {
            *conn = None;
            shared.connected.fetch_sub(1, Ordering::Relaxed);
            checked = shared.generation.fetch_add(1, Ordering::AcqRel) + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job of `db` that blocks its worker until `release` is closed, and counts its start.
    fn blocking(
        db: &Db,
        release: &Arc<Mutex<mpsc::Receiver<()>>>,
        started: &Arc<AtomicU32>,
    ) -> tokio::task::JoinHandle<Result<Result<(), ()>, DbError>> {
        let (db, release, started) = (db.clone(), release.clone(), started.clone());
        tokio::spawn(async move {
            db.run(move |_| {
                started.fetch_add(1, Ordering::SeqCst);
                let _ = lock(&release).recv(); // returns once the sender is dropped
                Ok::<(), ()>(())
            })
            .await
        })
    }

    async fn until(what: impl Fn() -> bool) {
        for _ in 0..500 {
            if what() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_org_waits_for_its_fair_turn_once_another_org_is_active() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("fair.db").display());
        let db = Db::open(&url, 8, Duration::from_secs(5), Duration::ZERO).unwrap();
        db.set_shares(8, 8);
        db.set_fair_share_slots(2);
        let far = Instant::now() + Duration::from_secs(30);
        let (tx, rx) = mpsc::channel::<()>();
        let release = Arc::new(Mutex::new(rx));
        let started = Arc::new(AtomicU32::new(0));

        // Org A alone: three jobs at once, more than the slots, all run (only its share holds it).
        let a = db.for_caller("a", "ta", far);
        let first: Vec<_> = (0..3).map(|_| blocking(&a, &release, &started)).collect();
        until(|| started.load(Ordering::SeqCst) == 3).await;

        // Org B arrives: its job runs at once, beside A's three.
        let b = db.for_caller("b", "tb", far);
        let answer = b.run(|_| Ok::<u32, ()>(7)).await.unwrap().unwrap();
        assert_eq!(answer, 7);

        // A's next job waits: with B active, A's fair number is 2 / 2 = 1 and it has 3.
        let fourth = blocking(&a, &release, &started);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            started.load(Ordering::SeqCst),
            3,
            "A's fourth job ran beside B"
        );

        // ... and fails with BUSY naming the fair share when its deadline comes first.
        let hurried = db.for_caller("a", "ta2", Instant::now() + Duration::from_millis(100));
        match hurried.run(|_| Ok::<(), ()>(())).await {
            Err(DbError::Throttled { who, limit, .. }) => {
                assert!(who.contains("fair share"), "{who}");
                assert_eq!(limit, 1);
            }
            other => panic!("expected BUSY, got {:?}", other.map(|_| ())),
        }

        // Once A's jobs end, its waiting job runs.
        drop(tx);
        for job in first {
            job.await.unwrap().unwrap().unwrap();
        }
        fourth.await.unwrap().unwrap().unwrap();
        assert_eq!(started.load(Ordering::SeqCst), 4);

        // B goes quiet: after the window A is alone again and runs three at once.
        tokio::time::sleep(ACTIVE_WINDOW + Duration::from_millis(100)).await;
        let (tx, rx) = mpsc::channel::<()>();
        let release = Arc::new(Mutex::new(rx));
        let again: Vec<_> = (0..3).map(|_| blocking(&a, &release, &started)).collect();
        until(|| started.load(Ordering::SeqCst) == 7).await;
        drop(tx);
        for job in again {
            job.await.unwrap().unwrap().unwrap();
        }
    }

    /// `/healthz` answers 503 when [`Db::live_workers`] is 0: the count must follow the threads
    /// down whichever way they end (here: the queue's last sender dropped, as at shutdown).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn live_workers_count_the_threads_down_to_zero() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("live.db").display());
        let db = Db::open(&url, 3, Duration::from_secs(5), Duration::ZERO).unwrap();
        assert_eq!(db.live_workers(), 3);
        db.run(|_| Ok::<(), ()>(())).await.unwrap().unwrap();
        let shared = db.shared.clone();
        drop(db);
        until(|| shared.live.load(Ordering::Acquire) == 0).await;
    }
}
