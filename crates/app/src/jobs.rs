//! Durable jobs: what runs a claimed job ([`JobHandler`], looked up by kind in
//! [`JobHandlers`]), what its outcome does to it ([`settle`]: done, retried with the
//! `workflow::backoff` schedule, or dead), and the operators' use cases on the queue (list by
//! state, counts by state, retry a dead job, cancel a job) through the one authorization path.
//!
//! The queue itself is `store::jobs`; the pool of worker threads that claims and heartbeats is
//! `server::worker`. Here:
//! - [`run_job`]: a job of a kind without a handler is a permanent failure (dead at once, with
//!   an error naming the kind); a handler that panics is a retryable failure (the panic is
//!   caught, the worker thread lives on).
//! - [`settle`]: `Retry` waits the backoff's delay for the attempt (full jitter from the
//!   caller's random number, never sooner than the handler's `retry_after`), dead after
//!   `max_attempts`; `Discard` is dead at once.
//! - Who manages jobs: the operator (the CLI without `--as`, with the database's credentials),
//!   or a user allowed `edit` on their org ([`crate::Command::ManageJobs`] through
//!   [`Services::authorize_command`]) who is also an admin; a user only ever sees and changes
//!   their own org's jobs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use domain::Instant;
use store::Store;
use store::jobs::{Failed, Job, JobChange, JobRecord, JobState};
pub use workflow::backoff::Backoff;

use crate::{Access, AppError, Command, Services};

/// What runs the jobs of one kind.
pub trait JobHandler: Send + Sync {
    /// Runs `job` (its `attempt` is 1 on the first run) with its own connection `store`.
    /// A job may run more than once (a worker that died mid-way, a retry): its effects must be
    /// idempotent.
    fn run(&self, services: &Services, store: &mut Store, job: &Job, now: Instant) -> JobOutcome;
}

/// Any function of the handler's arguments is a handler.
impl<F> JobHandler for F
where
    F: Fn(&Services, &mut Store, &Job, Instant) -> JobOutcome + Send + Sync,
{
    fn run(&self, services: &Services, store: &mut Store, job: &Job, now: Instant) -> JobOutcome {
        self(services, store, job, now)
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// A failure worth retrying: after the backoff's delay, and never sooner than
    /// `retry_after`; dead once the job had `max_attempts`.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// A permanent failure: dead at once.
    Discard {
        error: String,
    },
}

/// The handlers by job kind.
#[derive(Clone, Default)]
pub struct JobHandlers {
    by_kind: HashMap<String, Arc<dyn JobHandler>>,
}

impl JobHandlers {
    pub fn new() -> JobHandlers {
        JobHandlers::default()
    }

    /// Runs jobs of `kind` with `handler` (replacing any handler of the kind).
    pub fn register(&mut self, kind: impl Into<String>, handler: Arc<dyn JobHandler>) -> &mut Self {
        self.by_kind.insert(kind.into(), handler);
        self
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.by_kind.get(kind).cloned()
    }

    /// The kinds with a handler, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.by_kind.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

impl std::fmt::Debug for JobHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandlers")
            .field("kinds", &self.kinds())
            .finish()
    }
}

/// Runs `job` with its kind's handler: no handler is a permanent failure, a panic a retryable
/// one (caught: the caller's thread goes on).
pub fn run_job(
    handlers: &JobHandlers,
    services: &Services,
    store: &mut Store,
    job: &Job,
    now: Instant,
) -> JobOutcome {
    let Some(handler) = handlers.get(&job.kind) else {
        return JobOutcome::Discard {
            error: format!(
                "no handler for job kind `{}` (handlers: {})",
                job.kind,
                handlers.kinds().join(", ")
            ),
        };
    };
    let run = std::panic::AssertUnwindSafe(|| handler.run(services, store, job, now));
    match std::panic::catch_unwind(run) {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            JobOutcome::Retry {
                error: format!("the handler of `{}` panicked: {message}", job.kind),
                retry_after: None,
            }
        }
    }
}

/// What settling a run did to its job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    Done,
    /// Available again at this time.
    Retrying(Instant),
    Dead,
    /// The pool no longer held the job (its lease expired and it was taken over, or it was
    /// cancelled meanwhile): the outcome was not recorded.
    Lost,
}

impl Settled {
    /// The metrics' `outcome` label.
    pub fn label(self) -> &'static str {
        match self {
            Settled::Done => "done",
            Settled::Retrying(_) => "retry",
            Settled::Dead => "dead",
            Settled::Lost => "lost",
        }
    }
}

/// Records `outcome` of `job`, which pool `holder` ran: done; retried after
/// `backoff.delay(attempt, unit, retry_after)` (`unit` the caller's random number in `[0, 1)`)
/// unless it was the last attempt; dead.
pub fn settle(
    store: &mut Store,
    job: &Job,
    holder: &str,
    outcome: &JobOutcome,
    backoff: &Backoff,
    unit: f64,
    now: Instant,
) -> Result<Settled, store::StoreError> {
    let failed = match outcome {
        JobOutcome::Done => {
            return Ok(if store.complete_job(job.id, holder, now)? {
                Settled::Done
            } else {
                Settled::Lost
            });
        }
        JobOutcome::Retry { error, retry_after } => {
            let retry = u32::try_from(job.attempt.max(1)).unwrap_or(1);
            let delay = backoff.delay(retry, unit, *retry_after);
            store.fail_job(
                job.id,
                holder,
                error,
                Some(store::jobs::later(now, delay)),
                now,
            )?
        }
        JobOutcome::Discard { error } => store.fail_job(job.id, holder, error, None, now)?,
    };
    Ok(match failed {
        Failed::Retrying(at) => Settled::Retrying(at),
        Failed::Dead => Settled::Dead,
        Failed::Lost => Settled::Lost,
    })
}

/// Who manages jobs.
#[derive(Debug, Clone, Copy)]
pub enum JobsActor<'a> {
    /// Whoever runs the CLI against the database, on org `org`.
    Operator { org: &'a str },
    /// A user, on their own org (authorized as the module says).
    User(&'a Access),
}

/// The most jobs a page holds.
pub const MAX_JOBS_PAGE: u32 = 500;

/// A page of an org's jobs, newest first.
#[derive(Debug, Clone)]
pub struct JobsPage {
    pub jobs: Vec<JobRecord>,
    /// Whether older jobs follow (pass the last id as `before`).
    pub has_next_page: bool,
}

impl Services {
    /// The org `actor` may manage the jobs of, or why not.
    fn authorize_jobs(
        &self,
        store: &mut Store,
        actor: JobsActor<'_>,
        at: Instant,
    ) -> Result<String, AppError> {
        match actor {
            JobsActor::Operator { org } => Ok(org.to_owned()),
            JobsActor::User(access) => {
                // `edit` on the org and the admin role (see `authorize_command`).
                self.authorize_command(store, access, &Command::ManageJobs, at)?;
                Ok(access.viewer.org.clone())
            }
        }
    }

    /// The org's jobs, newest first, in `state` (any without), older than job `before`, at most
    /// `first` (1 to [`MAX_JOBS_PAGE`]).
    pub fn list_jobs(
        &self,
        store: &mut Store,
        actor: JobsActor<'_>,
        state: Option<JobState>,
        before: Option<i64>,
        first: u32,
        at: Instant,
    ) -> Result<JobsPage, AppError> {
        let org = self.authorize_jobs(store, actor, at)?;
        let first = first.clamp(1, MAX_JOBS_PAGE);
        let mut jobs = store.list_jobs(&org, state, before, first + 1)?;
        let has_next_page = jobs.len() > usize::try_from(first).unwrap_or(usize::MAX);
        jobs.truncate(usize::try_from(first).unwrap_or(usize::MAX));
        Ok(JobsPage {
            jobs,
            has_next_page,
        })
    }

    /// How many of the org's jobs are in each state (every state).
    pub fn job_counts(
        &self,
        store: &mut Store,
        actor: JobsActor<'_>,
        at: Instant,
    ) -> Result<Vec<(JobState, u64)>, AppError> {
        let org = self.authorize_jobs(store, actor, at)?;
        Ok(store.job_counts(Some(&org))?)
    }

    /// Runs dead job `id` again (with its `max_attempts` again), due at once; returns it.
    pub fn retry_job(
        &self,
        store: &mut Store,
        actor: JobsActor<'_>,
        id: i64,
        at: Instant,
    ) -> Result<JobRecord, AppError> {
        let org = self.authorize_jobs(store, actor, at)?;
        let change = store.retry_dead_job(&org, id, at)?;
        job_changed(store, &org, id, change, "retried: only a dead job is")
    }

    /// Cancels job `id` (available, running or dead); returns it.
    pub fn cancel_job(
        &self,
        store: &mut Store,
        actor: JobsActor<'_>,
        id: i64,
        at: Instant,
    ) -> Result<JobRecord, AppError> {
        let org = self.authorize_jobs(store, actor, at)?;
        let change = store.cancel_job(&org, id, at)?;
        job_changed(
            store,
            &org,
            id,
            change,
            "cancelled: only an available, running or dead job is",
        )
    }
}

fn job_changed(
    store: &mut Store,
    org: &str,
    id: i64,
    change: JobChange,
    refusal: &str,
) -> Result<JobRecord, AppError> {
    let not_found = || AppError::NotFound {
        field: "id".to_owned(),
        message: format!("`id`: org `{org}` has no job `{id}`"),
    };
    match change {
        JobChange::Changed => store.job_record(org, id)?.ok_or_else(not_found),
        JobChange::NotFound => Err(not_found()),
        JobChange::InState(state) => Err(AppError::Conflict {
            field: "id".to_owned(),
            message: format!("`id`: job `{id}` is {state} and cannot be {refusal}"),
        }),
        JobChange::UniqueTaken(other) => Err(AppError::Conflict {
            field: "id".to_owned(),
            message: format!(
                "`id`: job `{id}` cannot be retried while job `{other}` with its unique key is active"
            ),
        }),
    }
}
