//! The durable jobs' worker pool: N threads that claim jobs from the store's queue
//! (`store::jobs`), run them with their kind's handler (`app::jobs::run_job`) and record the
//! outcome (`app::jobs::settle`: done, retried after the backoff, or dead), plus one
//! maintenance thread that heartbeats the pool's leases, puts back the jobs of pools that died
//! (expired leases), prunes finished jobs past the retention and exports the queue's depth.
//!
//! The store is synchronous: every thread has its own connection (as `relay`), and a handler
//! runs on its worker's thread with that connection. Each pool has a holder id of its own
//! (the replica's id: host, process, 64 random bits), which the store's leases name, so pools of
//! many replicas (`serve`, `hireplane worker`) share one queue: PostgreSQL's
//! `FOR UPDATE SKIP LOCKED` gives each job to one of them.
//!
//! Wake-ups: an idle worker waits for an enqueue (PostgreSQL `LISTEN`/`NOTIFY` on its own
//! connection; on SQLite the store's in-process signal) or `workflow.poll_ms` (scheduled jobs
//! and retries coming due, enqueues of other processes if a notification was missed), in slices
//! short enough to see a stop at once.
//!
//! Graceful stop ([`WorkerPool::stop`]): no more claims; the running jobs get
//! `workflow.grace_s` to finish; what still runs then (and what was claimed but not started)
//! is released, to run again at once in another pool, and the pool's threads that still run a
//! handler are left behind (a handler cannot be interrupted): their outcome is not recorded
//! (the store sees the pool no longer holds the job).
//!
//! Metrics: `hireplane_jobs_total{kind, outcome}` (`done`, `retry`, `dead`, `lost`),
//! `hireplane_job_run_seconds{kind}` (a histogram), `hireplane_jobs{state}` (the queue's depth,
//! deployment-wide, every few seconds), `hireplane_jobs_requeued_total{to}` (expired leases).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use app::Services;
use app::jobs::{Backoff, JobHandlers, Settled, run_job, settle};
use domain::Instant;
use store::Store;
use store::jobs::later;

use crate::settings::WorkflowSettings;

/// A pool's settings, resolved.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub database: String,
    /// Worker threads (at least 1).
    pub workers: u32,
    pub poll: Duration,
    pub lease: Duration,
    pub grace: Duration,
    /// Done and cancelled jobs older than this are pruned.
    pub retention: Duration,
    /// The retry schedule.
    pub backoff: Backoff,
    /// Jobs one claim takes (each worker runs them one after the other).
    pub batch: u32,
}

impl WorkerConfig {
    /// What one claim of a worker takes: `batch` jobs, and never so many of one org that the
    /// pool runs more than `workers - 1` of its jobs at once (at least 1): one org's slow jobs
    /// leave a worker to the others (the store's claim is fair across orgs besides).
    pub fn claim_limits(&self) -> store::jobs::ClaimLimits {
        store::jobs::ClaimLimits {
            jobs: self.batch.max(1),
            per_org: self.workers.saturating_sub(1).max(1),
        }
    }

    /// The pool of `settings` for store `database`, or `None` when `workflow.workers` is 0.
    pub fn from_settings(database: &str, settings: &WorkflowSettings) -> Option<WorkerConfig> {
        (settings.workers > 0).then(|| WorkerConfig {
            database: database.to_owned(),
            workers: settings.workers.min(256),
            poll: Duration::from_millis(settings.poll_ms.max(1)),
            lease: Duration::from_secs(settings.lease_s.max(1)),
            grace: Duration::from_secs(settings.grace_s),
            retention: Duration::from_secs(settings.retention_hours.saturating_mul(3600)),
            backoff: Backoff::default(),
            batch: 1,
        })
    }
}

/// What the threads of a pool share.
struct Shared {
    config: WorkerConfig,
    holder: String,
    handlers: JobHandlers,
    services: Arc<Services>,
    stop: AtomicBool,
    /// Jobs being run now.
    running: AtomicUsize,
    /// Worker threads that have returned.
    finished: AtomicUsize,
    /// Tells the maintenance thread to stop (it waits on this between passes).
    maintenance: (Mutex<bool>, std::sync::Condvar),
}

/// A running pool.
pub struct WorkerPool {
    shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
    maintenance: Option<std::thread::JoinHandle<()>>,
}

/// What a graceful stop did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// Whether every worker finished within the grace period.
    pub drained: bool,
    /// Jobs released to run again elsewhere.
    pub released: u64,
}

fn now() -> Instant {
    Instant::from_timestamp(jiff::Timestamp::now())
}

/// A random number in `[0, 1)` for the backoff's jitter.
fn unit() -> f64 {
    let bits = getrandom::u64()
        .unwrap_or_else(|_| u64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap_or(0));
    #[allow(clippy::cast_precision_loss)]
    let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
    unit
}

/// How long an idle worker waits at a time before looking at the stop flag again.
const WAIT_SLICE: Duration = Duration::from_millis(100);
/// How often the queue's depth is exported.
const DEPTH_EVERY: Duration = Duration::from_secs(5);
/// How often finished jobs past the retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

impl WorkerPool {
    /// Starts `config.workers` worker threads and the maintenance thread, running
    /// `handlers`. Each thread connects to the store itself, retrying until it answers.
    pub fn start(
        config: WorkerConfig,
        handlers: JobHandlers,
        services: Arc<Services>,
    ) -> Result<WorkerPool> {
        let shared = Arc::new(Shared {
            holder: crate::rate::replica_id(),
            config,
            handlers,
            services,
            stop: AtomicBool::new(false),
            running: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            maintenance: (Mutex::new(false), std::sync::Condvar::new()),
        });
        tracing::info!(
            holder = %shared.holder,
            workers = shared.config.workers,
            kinds = ?shared.handlers.kinds(),
            "job workers starting"
        );
        let mut threads = Vec::new();
        for n in 0..shared.config.workers {
            let s = shared.clone();
            let t = std::thread::Builder::new()
                .name(format!("job-worker-{n}"))
                .spawn(move || {
                    work(&s);
                    s.finished.fetch_add(1, Ordering::AcqRel);
                })
                .context("starting a job worker thread")?;
            threads.push(t);
        }
        let s = shared.clone();
        let maintenance = std::thread::Builder::new()
            .name("job-maintenance".to_owned())
            .spawn(move || maintain(&s))
            .context("starting the job maintenance thread")?;
        Ok(WorkerPool {
            shared,
            threads,
            maintenance: Some(maintenance),
        })
    }

    /// The id the pool's leases carry.
    pub fn holder(&self) -> &str {
        &self.shared.holder
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Stops gracefully (see the module): blocks up to the grace period and a release (call it
    /// off the async threads).
    pub fn stop(mut self) -> Stopped {
        self.shared.stop.store(true, Ordering::Release);
        let deadline = std::time::Instant::now() + self.shared.config.grace;
        let workers = self.threads.len();
        // Bounded by the grace period.
        while self.shared.finished.load(Ordering::Acquire) < workers
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        let drained = self.shared.finished.load(Ordering::Acquire) >= workers;
        for t in std::mem::take(&mut self.threads) {
            if t.is_finished() {
                let _ = t.join();
            }
            // Otherwise left behind: a handler cannot be interrupted.
        }
        // The maintenance thread stops heartbeating, then the pool's jobs are released.
        if let Ok(mut stop) = self.shared.maintenance.0.lock() {
            *stop = true;
        }
        self.shared.maintenance.1.notify_all();
        if let Some(t) = self.maintenance.take() {
            let _ = t.join();
        }
        let released = release(&self.shared);
        tracing::info!(drained, released, "job workers stopped");
        Stopped { drained, released }
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Ok(mut stop) = self.shared.maintenance.0.lock() {
            *stop = true;
        }
        self.shared.maintenance.1.notify_all();
    }
}

/// Releases the pool's running jobs, on a connection of its own (a few tries).
fn release(shared: &Shared) -> u64 {
    for _ in 0..3 {
        match Store::open(&shared.config.database)
            .and_then(|mut s| s.release_jobs(&shared.holder, now()))
        {
            Ok(n) => return n,
            Err(e) => {
                tracing::warn!(error = %e, "releasing the pool's jobs");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    0
}

/// A connection, retried (doubling, up to 5 s) until the store answers or the pool stops.
fn connect(shared: &Shared, stop: &dyn Fn() -> bool) -> Option<Store> {
    let mut wait = Duration::from_millis(100);
    // Bounded by the stop flag.
    loop {
        if stop() {
            return None;
        }
        match Store::open(&shared.config.database) {
            Ok(s) => return Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "job worker: cannot open the store");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// One worker thread: claim, run, settle, until stopped.
fn work(shared: &Shared) {
    let stopped = || shared.stop.load(Ordering::Acquire);
    let mut store: Option<Store> = None;
    let mut signal = None;
    // Bounded by the stop flag.
    while !stopped() {
        let s = match store.as_mut() {
            Some(s) => s,
            None => {
                let Some(mut s) = connect(shared, &stopped) else {
                    return;
                };
                match s.listen_jobs() {
                    Ok(sig) => signal = Some(sig),
                    Err(e) => {
                        tracing::warn!(error = %e, "job worker: listen");
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                }
                store.insert(s)
            }
        };
        let at = now();
        let claimed = match s.claim_jobs_within(
            &shared.holder,
            shared.config.claim_limits(),
            at,
            later(at, shared.config.lease),
        ) {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "job worker: claim");
                if s.is_broken() {
                    store = None;
                }
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        if claimed.is_empty() {
            let Some(sig) = signal.as_mut() else {
                store = None;
                continue;
            };
            // Wait for a wake-up or the poll interval, looking at the stop flag every slice.
            let until = std::time::Instant::now() + shared.config.poll;
            while !stopped() && std::time::Instant::now() < until {
                match s.wait_for_jobs(sig, WAIT_SLICE.min(shared.config.poll)) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "job worker: wait");
                        store = None;
                        break;
                    }
                }
            }
            continue;
        }
        for job in claimed {
            // Claimed but not started when the pool stops: released by the stop.
            if stopped() {
                return;
            }
            shared.running.fetch_add(1, Ordering::AcqRel);
            let started = std::time::Instant::now();
            let outcome = run_job(&shared.handlers, &shared.services, s, &job, now());
            let took = started.elapsed();
            let settled = settle(
                s,
                &job,
                &shared.holder,
                &outcome,
                &shared.config.backoff,
                unit(),
                now(),
            );
            shared.running.fetch_sub(1, Ordering::AcqRel);
            metrics::histogram!("hireplane_job_run_seconds", "kind" => job.kind.clone())
                .record(took.as_secs_f64());
            match settled {
                Ok(settled) => {
                    metrics::counter!(
                        "hireplane_jobs_total",
                        "kind" => job.kind.clone(),
                        "outcome" => settled.label()
                    )
                    .increment(1);
                    match settled {
                        Settled::Dead => {
                            tracing::warn!(job = job.id, kind = %job.kind, org = %job.org_id, ?outcome, "job dead");
                        }
                        Settled::Lost => {
                            tracing::warn!(job = job.id, kind = %job.kind, "job's lease lost before it settled");
                        }
                        Settled::Retrying(at) => {
                            tracing::info!(job = job.id, kind = %job.kind, %at, ?outcome, "job retrying");
                        }
                        Settled::Done => {}
                    }
                }
                Err(e) => {
                    // The lease expires and the job runs again: at least once.
                    tracing::warn!(job = job.id, error = %e, "job worker: recording the outcome");
                    if s.is_broken() {
                        store = None;
                        break;
                    }
                }
            }
        }
    }
}

/// The maintenance thread: heartbeats every third of the lease, puts back expired leases,
/// exports the depth, prunes.
fn maintain(shared: &Shared) {
    let every = (shared.config.lease / 3).max(Duration::from_millis(50));
    let mut store: Option<Store> = None;
    let mut last_depth: Option<std::time::Instant> = None;
    let mut last_prune: Option<std::time::Instant> = None;
    let told = || shared.maintenance.0.lock().map_or(true, |s| *s);
    // Bounded by the stop flag.
    while !told() {
        if store.is_none() {
            store = connect(shared, &told);
        }
        if let Some(s) = store.as_mut() {
            let at = now();
            let pass = (|| -> Result<(), store::StoreError> {
                s.heartbeat_jobs(&shared.holder, later(at, shared.config.lease))?;
                let requeued = s.requeue_expired_jobs(at)?;
                if requeued.available > 0 || requeued.dead > 0 {
                    tracing::warn!(
                        available = requeued.available,
                        dead = requeued.dead,
                        "jobs of a stopped pool put back"
                    );
                    metrics::counter!("hireplane_jobs_requeued_total", "to" => "available")
                        .increment(requeued.available);
                    metrics::counter!("hireplane_jobs_requeued_total", "to" => "dead")
                        .increment(requeued.dead);
                }
                if last_depth.is_none_or(|t| t.elapsed() >= DEPTH_EVERY) {
                    last_depth = Some(std::time::Instant::now());
                    for (state, n) in s.job_counts(None)? {
                        #[allow(clippy::cast_precision_loss)]
                        metrics::gauge!("hireplane_jobs", "state" => state.as_str()).set(n as f64);
                    }
                }
                if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                    last_prune = Some(std::time::Instant::now());
                    let before = Instant::from_micros(at.as_micros().saturating_sub(
                        i64::try_from(shared.config.retention.as_micros()).unwrap_or(i64::MAX),
                    ))
                    .unwrap_or(at);
                    // Bounded: at most 100 batches a pass.
                    for _ in 0..100 {
                        if s.prune_jobs(before, 1_000)? < 1_000 {
                            break;
                        }
                    }
                }
                Ok(())
            })();
            if let Err(e) = pass {
                tracing::warn!(error = %e, "job maintenance");
                if s.is_broken() {
                    store = None;
                }
            }
        }
        let (lock, cvar) = &shared.maintenance;
        if let Ok(guard) = lock.lock() {
            let _ = cvar.wait_timeout_while(guard, every, |stop| !*stop);
        }
    }
}
