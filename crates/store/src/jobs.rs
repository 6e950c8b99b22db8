//! The durable job queue (migration 20, table `job_queue`; `jobs` is the hiring jobs): enqueueing (alone or inside another write
//! path's transaction), claiming with leases, heartbeats, completion, failure with retries or
//! the dead-letter state, cancellation, the operators' views (lists, counts, retrying a dead
//! job) and pruning. `app::jobs` runs a claimed job's handler; `server::worker` is the pool of
//! worker threads.
//!
//! Written on the store rather than taken from riverqueue or apalis: both are built on sqlx,
//! whose SQLite driver cannot sit beside `rusqlite` in one binary (both link `sqlite3`), and the
//! store is synchronous (`postgres` + `rusqlite`); a queue here also lets a write path enqueue a
//! job in its own transaction ([`Tx::enqueue_job`]), so a job exists exactly when the change
//! that asked for it committed.
//!
//! Semantics, alike on both backends:
//! - A job is `available` from its `run_at` on; claims take the due ones fairly across orgs
//!   (below) and, within an org, by `priority` (higher first), then `run_at`, then id. A claim
//!   sets `running`, counts the attempt (`attempt` is 1
//!   on the first run) and leases the job to the claiming pool (`locked_by`) until
//!   `locked_until`. The pool's heartbeat extends the lease of all its running jobs
//!   ([`Store::heartbeat_jobs`]); a lease that expired (the pool died or stalled) puts the job
//!   back ([`Store::requeue_expired_jobs`]), or dead-letters it when that was its last attempt,
//!   so a job that kills its worker does not loop for ever.
//! - Unique jobs: while a job with an `(org_id, unique_key)` is `available` or `running`,
//!   enqueueing another answers the existing id (`Enqueued::existing`); a partial unique index
//!   holds it, also between two transactions racing.
//! - A failure with a retry time goes back to `available` at that time, unless it was the last
//!   attempt: then, as a permanent failure, it is `dead` (kept with its last error, listed,
//!   and retryable by an operator: [`Store::retry_dead_job`] gives it `max_attempts` again).
//!   The retry time is the caller's (`workflow::backoff::Backoff` with the caller's randomness):
//!   the store has no clock and no randomness.
//! - Cancelling an available, running or dead job makes it `cancelled`; a running job's worker
//!   finds out when it completes (its completion changes nothing).
//! - Graceful shutdown: [`Store::release_jobs`] gives the pool's running jobs back, due at once,
//!   without counting the attempt.
//! - Completion, failure and heartbeat only act on a job the caller's pool still holds: a worker
//!   whose lease expired and was taken over cannot overwrite the new run's outcome.
//!
//! PostgreSQL: claims use `FOR UPDATE SKIP LOCKED`, so any number of pools on any number of
//! replicas share the queue and never claim one job twice; every enqueue sends
//! `NOTIFY hireplane_jobs` in its transaction (delivered at commit, dropped at rollback), which
//! wakes the pools that [`Store::listen_jobs`] on their connection. SQLite serves one process
//! (one writer: every write here is a `BEGIN IMMEDIATE` transaction); wake-ups are an in-process
//! signal that every enqueue bumps.
//!
//! Fairness: the queue is shared by every org of the deployment, and one org can queue
//! thousands of jobs at once (a rule over a bulk change). A claim therefore does not take the
//! oldest due jobs overall, which would put every other org behind that backlog; it orders the
//! due jobs by their org's *load*: the org's running jobs (across all pools) plus the job's rank
//! in its org's own order (1 for its next job, 2 for the one after...), then by priority, due
//! time and id. An org with nothing running gets its next job before a busy org's next one,
//! and two equally busy orgs alternate, so a job of a quiet org waits for at most about one
//! free worker whatever the other orgs queued. It is work-conserving: an org alone gets every
//! worker. Where the store holds more than one org, a pool also caps the running jobs of one
//! org it holds ([`ClaimLimits::per_org`]; `server::worker` uses `workers - 1`), so an org whose
//! jobs are slow cannot hold every worker of the pool either, and a job of another org finds a
//! free worker at once. The claim costs one index probe per org with available jobs
//! (`job_queue_available` leads with `org_id`; at most [`MAX_CLAIM_ORGS`], and where more orgs
//! have available jobs a pool's claims rotate through them, so none is starved) plus each
//! org's few next jobs, not a scan of the backlog.
//!
//! The table and the org invariant ("every index starts with `org_id`"): the queue is
//! deployment-wide. A job belongs to an org (`org_id`, whose operators see it), but workers
//! claim across orgs and lease by time, so the lease and pruning indexes cannot lead with
//! `org_id`; like `replicas`, the table describes the deployment's work in flight rather than an
//! org's data, and stays a local table on a sharded PostgreSQL. Every read an org's operator
//! makes ([`Store::list_jobs`], [`Store::job_counts`] of an org, unique keys, retry, cancel) is
//! bound to one org and served by an index that leads with `org_id`. Jobs have no foreign key
//! to `orgs`: replacing an org keeps them.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use domain::Instant;
use postgres::fallible_iterator::FallibleIterator;
use rusqlite::TransactionBehavior;

use crate::audit::{pg_instant, system_time};
use crate::events::EventContext;
use crate::rows::Val;
use crate::write::tx::{Conn, Kind, Row, Tx};
use crate::{Store, StoreError};

/// The PostgreSQL channel enqueues notify and pools listen on.
pub const NOTIFY_CHANNEL: &str = "hireplane_jobs";

/// The attempts a job gets when its enqueuer does not say.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 20;

/// The longest error text kept with a job (longer ones are cut at a character boundary).
pub const MAX_ERROR_CHARS: usize = 2_000;

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    pub org_id: String,
    /// What runs it: the handler registered under this name.
    pub kind: String,
    pub payload: serde_json::Value,
    /// Higher runs first; 0 is normal.
    pub priority: i16,
    /// Not before.
    pub run_at: Instant,
    /// Runs at most this often (at least 1); the last failure makes it dead.
    pub max_attempts: i32,
    /// While a job of the org with this key is available or running, no other is enqueued.
    pub unique_key: Option<String>,
}

/// How much one claim may take ([`Store::claim_jobs_within`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimLimits {
    /// Jobs this claim takes at most.
    pub jobs: u32,
    /// Running jobs of one org the claiming pool may hold at most, counting the ones it holds
    /// already: a pool of `n` workers caps each org at `n - 1`, so one org's slow jobs never
    /// hold all of them. Only where the store holds more than one org: an org alone uses every
    /// worker.
    pub per_org: u32,
}

/// Orgs with available jobs one claim looks at, in org id order, a bound on the claim's work.
/// Where more orgs have available jobs (due or not), a pool's next claim goes on after the
/// last org this one looked at, and the one after the end starts again at the first
/// ([`CLAIM_RESUME`]): every org is looked at within a few claims, whatever the others queued.
pub const MAX_CLAIM_ORGS: usize = 1_000;

/// Where each pool's next claim starts its walk over the orgs: after this org when its last
/// claim stopped at [`MAX_CLAIM_ORGS`], from the first org otherwise. Kept in the process per
/// pool (`holder`): the rotation only has to reach every org eventually, not to be shared.
/// Bounded: one entry per pool of this process, removed when a walk reaches the end.
static CLAIM_RESUME: std::sync::LazyLock<Mutex<std::collections::HashMap<String, String>>> =
    std::sync::LazyLock::new(|| Mutex::new(std::collections::HashMap::new()));

fn claim_resume(holder: &str) -> String {
    CLAIM_RESUME
        .lock()
        .ok()
        .and_then(|m| m.get(holder).cloned())
        .unwrap_or_default()
}

fn set_claim_resume(holder: &str, after: Option<String>) {
    if let Ok(mut m) = CLAIM_RESUME.lock() {
        match after {
            Some(org) => {
                m.insert(holder.to_owned(), org);
            }
            None => {
                m.remove(holder);
            }
        }
    }
}

impl NewJob {
    /// A job of `kind` for org `org_id`, due at `now`, normal priority, [`DEFAULT_MAX_ATTEMPTS`],
    /// not unique.
    pub fn new(org_id: &str, kind: &str, payload: serde_json::Value, now: Instant) -> NewJob {
        NewJob {
            org_id: org_id.to_owned(),
            kind: kind.to_owned(),
            payload,
            priority: 0,
            run_at: now,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            unique_key: None,
        }
    }
}

/// What enqueueing did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enqueued {
    pub id: i64,
    /// An active job with the same unique key was there: `id` is its id, nothing was added.
    pub existing: bool,
}

/// A claimed job, as its handler sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: i64,
    pub org_id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    /// 1 on the first run.
    pub attempt: i32,
    pub max_attempts: i32,
    pub unique_key: Option<String>,
    pub enqueued_at: Instant,
    pub run_at: Instant,
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    /// Waiting for its `run_at` (first run or retry).
    Available,
    /// Claimed, under a lease.
    Running,
    Done,
    /// Failed for good: listed for operators, retryable.
    Dead,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Available,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Available => "available",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Reads a state's name; `None` for anything else.
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as operators see it: the job and its bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    pub job: Job,
    pub state: JobState,
    pub priority: i16,
    /// The pool holding it (running).
    pub locked_by: Option<String>,
    pub locked_until: Option<Instant>,
    /// When it became done, dead or cancelled.
    pub finished_at: Option<Instant>,
    /// The last failure's error.
    pub last_error: Option<String>,
}

/// What a failure did to the job ([`Store::fail_job`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// Available again at this time.
    Retrying(Instant),
    /// Dead: its last attempt, or a permanent failure.
    Dead,
    /// The caller's pool no longer held the job (lease expired, cancelled): nothing changed.
    Lost,
}

/// What an operator's change of a job did ([`Store::retry_dead_job`], [`Store::cancel_job`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobChange {
    Changed,
    /// No such job in the org.
    NotFound,
    /// The job is in a state the change does not apply to.
    InState(JobState),
    /// Retrying it would make a second active job with its unique key: this one's id.
    UniqueTaken(i64),
}

/// What putting back expired leases did ([`Store::requeue_expired_jobs`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requeued {
    pub available: u64,
    pub dead: u64,
}

/// A pool's view of the wake-ups ([`Store::listen_jobs`], [`Store::wait_for_jobs`]).
#[derive(Debug)]
pub struct JobSignal {
    /// SQLite: the in-process signal's generation last seen.
    seen: u64,
}

/// SQLite's in-process wake-up: a generation counter per database file, bumped by every
/// enqueue of the process into it. Per file, so that a pool waits only for its own database's
/// jobs (one counter for the whole process woke every pool at every enqueue anywhere, and a
/// test that waits for nothing saw other tests' enqueues).
static SQLITE_WAKE: (Mutex<BTreeMap<String, u64>>, Condvar) =
    (Mutex::new(BTreeMap::new()), Condvar::new());

fn wake_sqlite(path: Option<&str>) {
    let (lock, cvar) = &SQLITE_WAKE;
    if let Ok(mut files) = lock.lock() {
        let n = files
            .entry(path.unwrap_or_default().to_owned())
            .or_default();
        *n = n.wrapping_add(1);
    }
    cvar.notify_all();
}

fn sqlite_generation(path: &str) -> u64 {
    SQLITE_WAKE
        .0
        .lock()
        .map_or(0, |files| files.get(path).copied().unwrap_or(0))
}

/// `at` plus `d`, saturating at the end of time the store keeps.
pub fn later(at: Instant, d: Duration) -> Instant {
    let us = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    Instant::from_micros(at.as_micros().saturating_add(us)).unwrap_or(at)
}

fn cut_error(error: &str) -> &str {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((i, _)) => error.get(..i).unwrap_or(error),
        None => error,
    }
}

/// The columns of a [`Job`], in [`job_from_row`]'s order, then `priority`.
const JOB_COLUMNS: &str =
    "id, org_id, kind, payload, attempt, max_attempts, unique_key, enqueued_at, run_at, priority";
const JOB_KINDS: [Kind; 10] = [
    Kind::Int,
    Kind::Text,
    Kind::Text,
    Kind::Json,
    Kind::Int,
    Kind::Int,
    Kind::Text,
    Kind::Instant,
    Kind::Instant,
    Kind::Int,
];
/// [`JOB_COLUMNS`] and the bookkeeping of a [`JobRecord`].
const RECORD_COLUMNS: &str = "id, org_id, kind, payload, attempt, max_attempts, unique_key, \
    enqueued_at, run_at, priority, state, locked_by, locked_until, finished_at, last_error";
const RECORD_KINDS: [Kind; 15] = [
    Kind::Int,
    Kind::Text,
    Kind::Text,
    Kind::Json,
    Kind::Int,
    Kind::Int,
    Kind::Text,
    Kind::Instant,
    Kind::Instant,
    Kind::Int,
    Kind::Text,
    Kind::Text,
    Kind::Instant,
    Kind::Instant,
    Kind::Text,
];

fn int32(r: &Row, i: usize) -> Result<i32, StoreError> {
    i32::try_from(r.int(i)?)
        .map_err(|_| StoreError::Corrupt(format!("job_queue column {i}: not i32")))
}

fn job_from_row(r: &Row) -> Result<(Job, i16), StoreError> {
    let priority = i16::try_from(r.int(9)?)
        .map_err(|_| StoreError::Corrupt("job_queue.priority: not a smallint".to_owned()))?;
    Ok((
        Job {
            id: r.int(0)?,
            org_id: r.text(1)?,
            kind: r.text(2)?,
            payload: r.json(3)?,
            attempt: int32(r, 4)?,
            max_attempts: int32(r, 5)?,
            unique_key: r.opt_text(6)?,
            enqueued_at: r.instant(7)?,
            run_at: r.instant(8)?,
        },
        priority,
    ))
}

fn record_from_row(r: &Row) -> Result<JobRecord, StoreError> {
    let (job, priority) = job_from_row(r)?;
    let state = r.text(10)?;
    Ok(JobRecord {
        job,
        priority,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job_queue.state: `{state}`")))?,
        locked_by: r.opt_text(11)?,
        locked_until: r.opt_instant(12)?,
        finished_at: r.opt_instant(13)?,
        last_error: r.opt_text(14)?,
    })
}

/// `$n` as a timestamp for the backend: PostgreSQL cannot always infer a parameter's type
/// inside `CASE`; SQLite keeps microseconds.
fn ts(pg: bool, n: u8) -> String {
    if pg {
        format!("${n}::timestamptz")
    } else {
        format!("${n}")
    }
}

impl Tx<'_> {
    /// Enqueues `job` in this transaction: it exists (and wakes workers) only if the
    /// transaction commits. A job whose unique key an active job of the org holds is not
    /// added: the answer is that job's id.
    pub fn enqueue_job(&mut self, job: &NewJob, now: Instant) -> Result<Enqueued, StoreError> {
        if job.kind.trim().is_empty() {
            return Err(StoreError::InvalidJob("`kind` is empty".to_owned()));
        }
        if job.max_attempts < 1 {
            return Err(StoreError::InvalidJob(format!(
                "`max_attempts` is {}: a job runs at least once",
                job.max_attempts
            )));
        }
        let payload = serde_json::to_string(&job.payload)
            .map_err(|e| StoreError::InvalidJob(format!("`payload`: {e}")))?;
        // Bounded: each round either inserts, finds the active job holding the key, or saw
        // that job finish between the two statements (then inserting succeeds next time).
        for _ in 0..5 {
            let inserted = self.query_opt(
                "INSERT INTO job_queue (org_id, kind, payload, priority, max_attempts, unique_key, enqueued_at, run_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
                &[
                    Val::Text(&job.org_id),
                    Val::Text(&job.kind),
                    Val::Json(payload.clone()),
                    Val::Int(job.priority.into()),
                    Val::Int(job.max_attempts.into()),
                    job.unique_key.as_deref().map_or(Val::Null, Val::Text),
                    Val::Instant(now),
                    Val::Instant(job.run_at),
                ],
                &[Kind::Int],
            )?;
            if let Some(r) = inserted {
                if self.is_postgres() {
                    self.execute(&format!("SELECT pg_notify('{NOTIFY_CHANNEL}', '')"), &[])?;
                } else {
                    // Before commit: a woken worker's claim waits for this transaction's
                    // write lock (BEGIN IMMEDIATE), so it sees the job once committed.
                    wake_sqlite(self.sqlite_path());
                }
                return Ok(Enqueued {
                    id: r.int(0)?,
                    existing: false,
                });
            }
            let Some(key) = job.unique_key.as_deref() else {
                return Err(StoreError::Corrupt(
                    "a job without a unique key conflicted".to_owned(),
                ));
            };
            if let Some(id) = self.active_with_key(&job.org_id, key)? {
                return Ok(Enqueued { id, existing: true });
            }
        }
        Err(StoreError::InvalidJob(format!(
            "unique key `{}` kept changing hands while enqueueing",
            job.unique_key.as_deref().unwrap_or_default()
        )))
    }

    fn active_with_key(&mut self, org: &str, key: &str) -> Result<Option<i64>, StoreError> {
        self.query_opt(
            "SELECT id FROM job_queue WHERE org_id = $1 AND unique_key = $2 \
             AND state IN ('available', 'running')",
            &[Val::Text(org), Val::Text(key)],
            &[Kind::Int],
        )?
        .map(|r| r.int(0))
        .transpose()
    }
}

impl Store {
    /// Runs `f` in one transaction of the queue (SQLite: `BEGIN IMMEDIATE`, every one of them
    /// writes or must see the latest writes).
    fn jobs_tx<T>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = match self {
            Store::Sqlite(s) => Tx::new(
                Conn::Sqlite(
                    s.conn()
                        .transaction_with_behavior(TransactionBehavior::Immediate)?,
                ),
                EventContext::default(),
            ),
            Store::Postgres(s) => Tx::new(
                Conn::Postgres(s.client().transaction()?),
                EventContext::default(),
            ),
        };
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Enqueues `job` in a transaction of its own; see [`Tx::enqueue_job`].
    pub fn enqueue_job(&mut self, job: &NewJob, now: Instant) -> Result<Enqueued, StoreError> {
        self.jobs_tx(|tx| tx.enqueue_job(job, now))
    }

    /// Claims up to `limit` due jobs for pool `holder`, leased until `lease_until`, fairly
    /// across orgs (see the module's "Fairness"), with no cap per org beyond `limit`. Each
    /// one's `attempt` counts this run.
    pub fn claim_jobs(
        &mut self,
        holder: &str,
        limit: u32,
        now: Instant,
        lease_until: Instant,
    ) -> Result<Vec<Job>, StoreError> {
        let limits = ClaimLimits {
            jobs: limit,
            per_org: u32::MAX,
        };
        self.claim_jobs_within(holder, limits, now, lease_until)
    }

    /// Claims up to `limits.jobs` due jobs for pool `holder`, leased until `lease_until`, in
    /// the fair order of the module's "Fairness", never leaving the pool with more than
    /// `limits.per_org` running jobs of one org. Each one's `attempt` counts this run.
    pub fn claim_jobs_within(
        &mut self,
        holder: &str,
        limits: ClaimLimits,
        now: Instant,
        lease_until: Instant,
    ) -> Result<Vec<Job>, StoreError> {
        if limits.jobs == 0 {
            return Ok(Vec::new());
        }
        let limits = ClaimLimits {
            per_org: limits.per_org.max(1),
            ..limits
        };
        if let Store::Postgres(s) = self {
            return claim_postgres(s, holder, limits, now, lease_until);
        }
        self.jobs_tx(|tx| claim_in_tx(tx, holder, limits, now, lease_until))
    }

    /// Extends to `until` the lease of every job pool `holder` is running; returns their ids.
    pub fn heartbeat_jobs(&mut self, holder: &str, until: Instant) -> Result<Vec<i64>, StoreError> {
        self.jobs_tx(|tx| {
            let sql = format!(
                "UPDATE job_queue SET locked_until = {} WHERE state = 'running' AND locked_by = $1 RETURNING id",
                ts(tx.is_postgres(), 2)
            );
            let rows = tx.query(
                &sql,
                &[Val::Text(holder), Val::Instant(until)],
                &[Kind::Int],
            )?;
            rows.iter().map(|r| r.int(0)).collect()
        })
    }

    /// Marks job `id` done, if pool `holder` still runs it; returns whether it did.
    pub fn complete_job(
        &mut self,
        id: i64,
        holder: &str,
        now: Instant,
    ) -> Result<bool, StoreError> {
        if let Store::Postgres(s) = self {
            // One statement, no transaction around it: one round trip.
            let (client, statement) = s.prepared(COMPLETE_POSTGRES)?;
            let n = client.execute(&statement, &[&id, &holder, &system_time(now)?])?;
            return Ok(n == 1);
        }
        self.jobs_tx(|tx| {
            let sql = format!(
                "UPDATE job_queue SET state = 'done', finished_at = {}, locked_by = NULL, locked_until = NULL \
                 WHERE id = $1 AND state = 'running' AND locked_by = $2",
                ts(tx.is_postgres(), 3)
            );
            Ok(tx.execute(&sql, &[Val::Int(id), Val::Text(holder), Val::Instant(now)])? == 1)
        })
    }

    /// Records that job `id`, run by pool `holder`, failed with `error`: with `retry_at` it is
    /// available again then, unless that was its last attempt; without, or after its last
    /// attempt, it is dead.
    pub fn fail_job(
        &mut self,
        id: i64,
        holder: &str,
        error: &str,
        retry_at: Option<Instant>,
        now: Instant,
    ) -> Result<Failed, StoreError> {
        let error = cut_error(error);
        self.jobs_tx(|tx| {
            let pg = tx.is_postgres();
            let row = match retry_at {
                Some(at) => {
                    let sql = format!(
                        "UPDATE job_queue SET \
                           state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'available' END, \
                           run_at = CASE WHEN attempt >= max_attempts THEN run_at ELSE {at} END, \
                           finished_at = CASE WHEN attempt >= max_attempts THEN {now} ELSE NULL END, \
                           locked_by = NULL, locked_until = NULL, last_error = $3 \
                         WHERE id = $1 AND state = 'running' AND locked_by = $2 RETURNING state, run_at",
                        at = ts(pg, 4),
                        now = ts(pg, 5),
                    );
                    tx.query_opt(
                        &sql,
                        &[
                            Val::Int(id),
                            Val::Text(holder),
                            Val::Text(error),
                            Val::Instant(at),
                            Val::Instant(now),
                        ],
                        &[Kind::Text, Kind::Instant],
                    )?
                }
                None => {
                    let sql = format!(
                        "UPDATE job_queue SET state = 'dead', finished_at = {}, \
                           locked_by = NULL, locked_until = NULL, last_error = $3 \
                         WHERE id = $1 AND state = 'running' AND locked_by = $2 RETURNING state, run_at",
                        ts(pg, 4)
                    );
                    tx.query_opt(
                        &sql,
                        &[
                            Val::Int(id),
                            Val::Text(holder),
                            Val::Text(error),
                            Val::Instant(now),
                        ],
                        &[Kind::Text, Kind::Instant],
                    )?
                }
            };
            let Some(row) = row else {
                return Ok(Failed::Lost);
            };
            Ok(if row.text(0)? == "dead" {
                Failed::Dead
            } else {
                Failed::Retrying(row.instant(1)?)
            })
        })
    }

    /// Gives back every job pool `holder` is running (graceful shutdown): available at `now`,
    /// the attempt not counted. Returns how many.
    pub fn release_jobs(&mut self, holder: &str, now: Instant) -> Result<u64, StoreError> {
        self.jobs_tx(|tx| {
            let sql = format!(
                "UPDATE job_queue SET state = 'available', attempt = attempt - 1, run_at = {}, \
                   locked_by = NULL, locked_until = NULL \
                 WHERE state = 'running' AND locked_by = $1",
                ts(tx.is_postgres(), 2)
            );
            tx.execute(&sql, &[Val::Text(holder), Val::Instant(now)])
        })
    }

    /// Puts back the running jobs whose lease expired before `now` (their pool died or
    /// stalled): available at once, or dead when that run was their last attempt.
    pub fn requeue_expired_jobs(&mut self, now: Instant) -> Result<Requeued, StoreError> {
        self.jobs_tx(|tx| {
            let sql = format!(
                "UPDATE job_queue SET \
                   state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'available' END, \
                   finished_at = CASE WHEN attempt >= max_attempts THEN {now} ELSE NULL END, \
                   run_at = {now}, locked_by = NULL, locked_until = NULL, \
                   last_error = 'the lease expired: its worker stopped or stalled' \
                 WHERE state = 'running' AND locked_until < {now} RETURNING state",
                now = ts(tx.is_postgres(), 1)
            );
            let rows = tx.query(&sql, &[Val::Instant(now)], &[Kind::Text])?;
            let mut out = Requeued::default();
            for r in rows {
                if r.text(0)? == "dead" {
                    out.dead += 1;
                } else {
                    out.available += 1;
                }
            }
            Ok(out)
        })
    }

    /// Cancels job `id` of org `org` if it is available, running or dead.
    pub fn cancel_job(
        &mut self,
        org: &str,
        id: i64,
        now: Instant,
    ) -> Result<JobChange, StoreError> {
        self.jobs_tx(|tx| {
            let Some(state) = job_state(tx, org, id)? else {
                return Ok(JobChange::NotFound);
            };
            if !matches!(
                state,
                JobState::Available | JobState::Running | JobState::Dead
            ) {
                return Ok(JobChange::InState(state));
            }
            let sql = format!(
                "UPDATE job_queue SET state = 'cancelled', finished_at = {}, locked_by = NULL, locked_until = NULL \
                 WHERE org_id = $1 AND id = $2",
                ts(tx.is_postgres(), 3)
            );
            tx.execute(&sql, &[Val::Text(org), Val::Int(id), Val::Instant(now)])?;
            Ok(JobChange::Changed)
        })
    }

    /// Gives dead job `id` of org `org` its `max_attempts` again, due at `now`.
    pub fn retry_dead_job(
        &mut self,
        org: &str,
        id: i64,
        now: Instant,
    ) -> Result<JobChange, StoreError> {
        self.jobs_tx(|tx| {
            let Some(state) = job_state(tx, org, id)? else {
                return Ok(JobChange::NotFound);
            };
            if state != JobState::Dead {
                return Ok(JobChange::InState(state));
            }
            let key = tx
                .query_opt(
                    "SELECT unique_key FROM job_queue WHERE org_id = $1 AND id = $2",
                    &[Val::Text(org), Val::Int(id)],
                    &[Kind::Text],
                )?
                .map(|r| r.opt_text(0))
                .transpose()?
                .flatten();
            if let Some(key) = key
                && let Some(other) = tx.active_with_key(org, &key)?
            {
                return Ok(JobChange::UniqueTaken(other));
            }
            let sql = format!(
                "UPDATE job_queue SET state = 'available', attempt = 0, run_at = {}, finished_at = NULL \
                 WHERE org_id = $1 AND id = $2",
                ts(tx.is_postgres(), 3)
            );
            tx.execute(&sql, &[Val::Text(org), Val::Int(id), Val::Instant(now)])?;
            if tx.is_postgres() {
                tx.execute(&format!("SELECT pg_notify('{NOTIFY_CHANNEL}', '')"), &[])?;
            } else {
                wake_sqlite(tx.sqlite_path());
            }
            Ok(JobChange::Changed)
        })
    }

    /// Job `id` of org `org`.
    pub fn job_record(&mut self, org: &str, id: i64) -> Result<Option<JobRecord>, StoreError> {
        self.jobs_tx(|tx| {
            tx.query_opt(
                &format!("SELECT {RECORD_COLUMNS} FROM job_queue WHERE org_id = $1 AND id = $2"),
                &[Val::Text(org), Val::Int(id)],
                &RECORD_KINDS,
            )?
            .as_ref()
            .map(record_from_row)
            .transpose()
        })
    }

    /// Org `org`'s jobs, newest first, in state `state` (any without), with ids below
    /// `before` (a page's cursor), at most `limit`.
    pub fn list_jobs(
        &mut self,
        org: &str,
        state: Option<JobState>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs_tx(|tx| {
            let rows = tx.query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM job_queue WHERE org_id = $1 \
                     AND ($2 = '' OR state = $2) AND id < $3 ORDER BY id DESC LIMIT $4"
                ),
                &[
                    Val::Text(org),
                    Val::Text(state.map_or("", JobState::as_str)),
                    Val::Int(before.unwrap_or(i64::MAX)),
                    Val::Int(limit.into()),
                ],
                &RECORD_KINDS,
            )?;
            rows.iter().map(record_from_row).collect()
        })
    }

    /// How many jobs are in each state (every state, zeros included): of org `org`, or of the
    /// whole deployment (the queue depth a pool exports) without.
    pub fn job_counts(&mut self, org: Option<&str>) -> Result<Vec<(JobState, u64)>, StoreError> {
        self.jobs_tx(|tx| {
            let rows = match org {
                Some(org) => tx.query(
                    "SELECT state, count(*) FROM job_queue WHERE org_id = $1 GROUP BY state",
                    &[Val::Text(org)],
                    &[Kind::Text, Kind::Int],
                )?,
                None => tx.query(
                    "SELECT state, count(*) FROM job_queue GROUP BY state",
                    &[],
                    &[Kind::Text, Kind::Int],
                )?,
            };
            let mut out: Vec<(JobState, u64)> = JobState::ALL.iter().map(|s| (*s, 0)).collect();
            for r in rows {
                let name = r.text(0)?;
                let state = JobState::parse(&name)
                    .ok_or_else(|| StoreError::Corrupt(format!("job_queue.state: `{name}`")))?;
                let n = u64::try_from(r.int(1)?).unwrap_or(0);
                if let Some(slot) = out.iter_mut().find(|(s, _)| *s == state) {
                    slot.1 = n;
                }
            }
            Ok(out)
        })
    }

    /// Deletes up to `limit` done and cancelled jobs that finished before `before`, oldest
    /// first; returns how many. Dead jobs stay until an operator retries or cancels them.
    pub fn prune_jobs(&mut self, before: Instant, limit: u32) -> Result<u64, StoreError> {
        self.jobs_tx(|tx| {
            let sql = format!(
                "DELETE FROM job_queue WHERE id IN (SELECT id FROM job_queue \
                   WHERE state IN ('done', 'cancelled') AND finished_at < {} \
                   ORDER BY finished_at LIMIT $2)",
                ts(tx.is_postgres(), 1)
            );
            tx.execute(&sql, &[Val::Instant(before), Val::Int(limit.into())])
        })
    }

    /// Starts listening for enqueues on this connection (PostgreSQL `LISTEN`); what
    /// [`Store::wait_for_jobs`] waits on.
    pub fn listen_jobs(&mut self) -> Result<JobSignal, StoreError> {
        match self {
            Store::Postgres(s) => {
                s.client()
                    .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}"))?;
                Ok(JobSignal { seen: 0 })
            }
            Store::Sqlite(s) => Ok(JobSignal {
                seen: sqlite_generation(s.path()),
            }),
        }
    }

    /// Waits up to `timeout` for an enqueue since the last wait (PostgreSQL: a notification on
    /// this connection, which must [`Store::listen_jobs`]; SQLite: the in-process signal).
    /// Returns whether one came; every pending one is consumed.
    pub fn wait_for_jobs(
        &mut self,
        signal: &mut JobSignal,
        timeout: Duration,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Postgres(s) => {
                let mut notes = s.client().notifications();
                let mut woken = false;
                // Pending ones first (received during other statements), without waiting.
                let pending = notes.len();
                for _ in 0..pending {
                    if notes.iter().next()?.is_some() {
                        woken = true;
                    }
                }
                if woken {
                    return Ok(true);
                }
                Ok(notes.timeout_iter(timeout).next()?.is_some())
            }
            Store::Sqlite(s) => {
                let (lock, cvar) = &SQLITE_WAKE;
                let Ok(guard) = lock.lock() else {
                    std::thread::sleep(timeout);
                    return Ok(false);
                };
                let (path, seen) = (s.path(), signal.seen);
                let now = |files: &BTreeMap<String, u64>| files.get(path).copied().unwrap_or(0);
                let (guard, _) =
                    match cvar.wait_timeout_while(guard, timeout, |files| now(files) == seen) {
                        Ok(g) => g,
                        Err(_) => return Ok(false),
                    };
                let generation = now(&guard);
                signal.seen = generation;
                Ok(generation != seen)
            }
        }
    }
}

/// A claim in `tx` (SQLite; PostgreSQL runs [`CLAIM_POSTGRES`], the same steps in one
/// statement): the orgs with available jobs (one index probe each), the running jobs per org,
/// each org's next due jobs in its own order, then the fair order across orgs.
fn claim_in_tx(
    tx: &mut Tx<'_>,
    holder: &str,
    limits: ClaimLimits,
    now: Instant,
    lease_until: Instant,
) -> Result<Vec<Job>, StoreError> {
    let pg = tx.is_postgres();
    let start = claim_resume(holder);
    let mut orgs: Vec<String> = Vec::new();
    let mut ended = false;
    // Bounded by MAX_CLAIM_ORGS.
    while orgs.len() < MAX_CLAIM_ORGS {
        let after = orgs.last().map_or(start.as_str(), String::as_str);
        let next = tx.query_opt(
            "SELECT min(org_id) FROM job_queue WHERE state = 'available' AND org_id > $1",
            &[Val::Text(after)],
            &[Kind::Text],
        )?;
        match next.map(|r| r.opt_text(0)).transpose()?.flatten() {
            Some(org) => orgs.push(org),
            None => {
                ended = true;
                break;
            }
        }
    }
    // The next claim goes on after the last org looked at, unless this walk reached the end.
    set_claim_resume(holder, if ended { None } else { orgs.last().cloned() });
    let mut load: std::collections::HashMap<String, (i64, i64)> = tx
        .query(
            "SELECT org_id, count(*), sum(CASE WHEN locked_by = $1 THEN 1 ELSE 0 END) \
             FROM job_queue WHERE state = 'running' GROUP BY org_id",
            &[Val::Text(holder)],
            &[Kind::Text, Kind::Int, Kind::Int],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, (r.int(1)?, r.int(2)?))))
        .collect::<Result<_, StoreError>>()?;
    // The cap per org only matters beside another org: one org alone uses every worker.
    let tenants = tx
        .query_opt(
            "SELECT count(*) FROM (SELECT 1 FROM orgs LIMIT 2) t",
            &[],
            &[Kind::Int],
        )?
        .map_or(Ok(0), |r| r.int(0))?;
    let per_org = if tenants < 2 {
        i64::MAX
    } else {
        i64::from(limits.per_org)
    };
    let next_of_org = format!(
        "SELECT id, priority, run_at FROM job_queue \
         WHERE org_id = $1 AND state = 'available' AND run_at <= {} \
         ORDER BY priority DESC, run_at, id LIMIT $3",
        ts(pg, 2)
    );
    // (load, priority, run_at, id): the fair order sorts by load, then the org's own order.
    let mut candidates: Vec<(i64, i64, Instant, i64)> = Vec::new();
    for org in &orgs {
        let (running, mine) = load.remove(org).unwrap_or((0, 0));
        let room = per_org.saturating_sub(mine).min(i64::from(limits.jobs));
        if room <= 0 {
            continue;
        }
        let rows = tx.query(
            &next_of_org,
            &[Val::Text(org), Val::Instant(now), Val::Int(room)],
            &[Kind::Int, Kind::Int, Kind::Instant],
        )?;
        for (rank, r) in (1_i64..).zip(&rows) {
            candidates.push((running + rank, r.int(1)?, r.instant(2)?, r.int(0)?));
        }
    }
    candidates.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(b.1.cmp(&a.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    let claim = format!(
        "UPDATE job_queue SET state = 'running', attempt = attempt + 1, locked_by = $1, \
         locked_until = {} WHERE id = $2 AND state = 'available' RETURNING {JOB_COLUMNS}",
        ts(pg, 3)
    );
    let mut jobs = Vec::new();
    for (_, _, _, id) in candidates.into_iter().take(limits.jobs as usize) {
        if let Some(r) = tx.query_opt(
            &claim,
            &[Val::Text(holder), Val::Int(id), Val::Instant(lease_until)],
            &JOB_KINDS,
        )? {
            jobs.push(job_from_row(&r)?.0);
        }
    }
    Ok(jobs)
}

/// The claim on PostgreSQL: one statement (atomic on its own, `SKIP LOCKED` leaves the rows
/// other claims hold), prepared once per connection, no transaction around it: one round trip.
const CLAIM_POSTGRES: &str = "WITH RECURSIVE queued(org_id, n) AS ( \
      (SELECT org_id, 1::bigint FROM job_queue WHERE state = 'available' AND org_id > $7 \
       ORDER BY org_id LIMIT 1) \
      UNION ALL \
      SELECT (SELECT q.org_id FROM job_queue q WHERE q.state = 'available' AND q.org_id > o.org_id \
              ORDER BY q.org_id LIMIT 1), o.n + 1 \
      FROM queued o WHERE o.org_id IS NOT NULL AND o.n < $6), \
    load AS (SELECT org_id, count(*) AS running, count(*) FILTER (WHERE locked_by = $1) AS mine \
      FROM job_queue WHERE state = 'running' GROUP BY org_id), \
    cand AS (SELECT j.id, j.priority, j.run_at, coalesce(l.running, 0) + j.rk AS load \
      FROM queued o LEFT JOIN load l ON l.org_id = o.org_id \
      CROSS JOIN LATERAL (SELECT q.id, q.priority, q.run_at, \
          row_number() OVER (ORDER BY q.priority DESC, q.run_at, q.id) AS rk \
        FROM job_queue q WHERE q.org_id = o.org_id AND q.state = 'available' \
          AND q.run_at <= $3::timestamptz \
        ORDER BY q.priority DESC, q.run_at, q.id LIMIT $4) j \
      WHERE o.org_id IS NOT NULL AND (j.rk + coalesce(l.mine, 0) <= $5 \
        OR (SELECT count(*) FROM (SELECT 1 FROM orgs LIMIT 2) t) < 2)), \
    picked AS (SELECT q.id, c.load FROM job_queue q \
      JOIN (SELECT id, load, priority, run_at FROM cand \
            ORDER BY load, priority DESC, run_at, id LIMIT $4 * 4) c ON c.id = q.id \
      WHERE q.state = 'available' \
      ORDER BY c.load, c.priority DESC, c.run_at, c.id LIMIT $4 \
      FOR UPDATE OF q SKIP LOCKED), \
    claimed AS (UPDATE job_queue j SET state = 'running', attempt = j.attempt + 1, \
      locked_by = $1, locked_until = $2::timestamptz \
      FROM picked WHERE j.id = picked.id \
      RETURNING j.id, j.org_id, j.kind, j.payload, j.attempt, j.max_attempts, j.unique_key, \
        j.enqueued_at, j.run_at, j.priority, picked.load) \
    SELECT * FROM claimed \
    UNION ALL SELECT NULL, (SELECT org_id FROM queued WHERE n = $6), NULL, NULL, NULL, NULL, \
      NULL, NULL, NULL, NULL, NULL";

/// A completion on PostgreSQL, likewise.
const COMPLETE_POSTGRES: &str = "UPDATE job_queue SET state = 'done', finished_at = $3::timestamptz, \
    locked_by = NULL, locked_until = NULL WHERE id = $1 AND state = 'running' AND locked_by = $2";

fn claim_postgres(
    s: &mut crate::postgres::PgStore,
    holder: &str,
    limits: ClaimLimits,
    now: Instant,
    lease_until: Instant,
) -> Result<Vec<Job>, StoreError> {
    let (client, statement) = s.prepared(CLAIM_POSTGRES)?;
    let rows = client.query(
        &statement,
        &[
            &holder,
            &system_time(lease_until)?,
            &system_time(now)?,
            &i64::from(limits.jobs),
            &i64::from(limits.per_org),
            &i64::try_from(MAX_CLAIM_ORGS).unwrap_or(i64::MAX),
            &claim_resume(holder),
        ],
    )?;
    let mut jobs = Vec::with_capacity(rows.len());
    for r in rows {
        // The last row says where the next claim starts: after the org at the bound, if the
        // walk reached it (null: it reached the end).
        let Some(id) = r.try_get::<_, Option<i64>>(0)? else {
            set_claim_resume(holder, r.try_get(1)?);
            continue;
        };
        let org_id: String = r.try_get(1)?;
        let enqueued_at = pg_instant(&org_id, "job_queue", id, r.try_get(7)?)?;
        let run_at = pg_instant(&org_id, "job_queue", id, r.try_get(8)?)?;
        let priority: i16 = r.try_get(9)?;
        let job = Job {
            id,
            org_id,
            kind: r.try_get(2)?,
            payload: r.try_get(3)?,
            attempt: r.try_get(4)?,
            max_attempts: r.try_get(5)?,
            unique_key: r.try_get(6)?,
            enqueued_at,
            run_at,
        };
        let load: i64 = r.try_get(10)?;
        jobs.push((load, job, priority));
    }
    // `RETURNING` does not keep the claim's order: the load it was claimed at gives it back.
    jobs.sort_by(|(la, a, pa), (lb, b, pb)| {
        la.cmp(lb)
            .then(pb.cmp(pa))
            .then(a.run_at.cmp(&b.run_at))
            .then(a.id.cmp(&b.id))
    });
    Ok(jobs.into_iter().map(|(_, j, _)| j).collect())
}

fn job_state(tx: &mut Tx<'_>, org: &str, id: i64) -> Result<Option<JobState>, StoreError> {
    let sql = format!(
        "SELECT state FROM job_queue WHERE org_id = $1 AND id = $2{}",
        tx.lock()
    );
    let Some(r) = tx.query_opt(&sql, &[Val::Text(org), Val::Int(id)], &[Kind::Text])? else {
        return Ok(None);
    };
    let name = r.text(0)?;
    JobState::parse(&name)
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt(format!("job_queue.state: `{name}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_and_errors_are_cut() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobState::parse("Dead"), None);
        let long = "é".repeat(MAX_ERROR_CHARS + 10);
        assert_eq!(cut_error(&long).chars().count(), MAX_ERROR_CHARS);
        assert_eq!(cut_error("short"), "short");
    }
}
