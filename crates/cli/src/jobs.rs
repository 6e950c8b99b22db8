//! `hireplane jobs` (the operators' view of the durable job queue: `list`, `counts`, `retry`,
//! `cancel`) and `hireplane worker` (a pool of job workers without HTTP, beside or instead of
//! the ones inside `serve`). A thin edge: every command is one of `app::jobs`' functions, as
//! the operator (without `--as`, with the database's own credentials) or as a user (admins of
//! their own org only); the job handlers are [`handlers`], the same for `serve` and `worker`.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use app::jobs::{JobHandlers, JobOutcome, JobsActor};
use store::Store;
use store::jobs::{JobRecord, JobState};

/// The kind of the benchmark's no-op job (`hireplane worker --bench-noop`, `bench/jobs.sh`).
pub const BENCH_NOOP: &str = "bench.noop";

#[derive(clap::Subcommand, Debug)]
pub enum JobsCommand {
    /// List an org's jobs, newest first, one JSON object per line
    List {
        #[command(flatten)]
        who: Who,
        /// Only jobs in this state: available, running, done, dead, cancelled
        #[arg(long, value_name = "STATE", value_parser = state)]
        state: Option<JobState>,
        /// Only jobs older than this id (the last id of the previous page)
        #[arg(long, value_name = "ID")]
        before: Option<i64>,
        /// At most this many (up to 500)
        #[arg(long, value_name = "N", default_value_t = 50)]
        first: u32,
    },
    /// How many of an org's jobs are in each state
    Counts {
        #[command(flatten)]
        who: Who,
    },
    /// Run a dead job again (with all its attempts again)
    Retry {
        #[command(flatten)]
        who: Who,
        /// The job's id
        id: i64,
    },
    /// Cancel an available, running or dead job
    Cancel {
        #[command(flatten)]
        who: Who,
        /// The job's id
        id: i64,
    },
}

/// Whose jobs, as whom.
#[derive(clap::Args, Debug)]
pub struct Who {
    /// The org (default: the only org in the store; with --as, the user's org)
    #[arg(long, value_name = "ID")]
    org: Option<String>,
    /// Act as this user (an admin of the org). Without it, the operator's view
    #[arg(long = "as", env = "HIREPLANE_AS", value_name = "USER_ID")]
    as_user: Option<String>,
}

/// `hireplane worker`'s arguments.
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// A settings file (TOML; `[workflow]` holds the pool's settings)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Worker threads [default: `workflow.workers`]
    #[arg(long, value_name = "N")]
    workers: Option<u32>,
    /// Also run the benchmark's no-op jobs (`bench/jobs.sh`); never in a real deployment
    #[arg(long, hide = true)]
    bench_noop: bool,
}

fn state(s: &str) -> Result<JobState, String> {
    JobState::parse(s).ok_or_else(|| {
        format!("`{s}` is not a job state: expected available, running, done, dead or cancelled")
    })
}

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

/// The job handlers of this binary (`serve` and `worker` run the same). `bench_noop` adds the
/// benchmark's no-op kind.
pub fn handlers(bench_noop: bool) -> JobHandlers {
    let mut handlers = JobHandlers::new();
    if bench_noop {
        handlers.register(
            BENCH_NOOP,
            Arc::new(|_: &app::Services, _: &mut Store, _: &store::jobs::Job, _| JobOutcome::Done),
        );
    }
    handlers
}

/// A job as one JSON object.
fn json(r: &JobRecord) -> serde_json::Value {
    let t = |i: Option<domain::Instant>| i.map(|i| i.to_string());
    serde_json::json!({
        "id": r.job.id,
        "org": r.job.org_id,
        "kind": r.job.kind,
        "state": r.state.as_str(),
        "priority": r.priority,
        "attempt": r.job.attempt,
        "maxAttempts": r.job.max_attempts,
        "uniqueKey": r.job.unique_key,
        "enqueuedAt": r.job.enqueued_at.to_string(),
        "runAt": r.job.run_at.to_string(),
        "lockedBy": r.locked_by,
        "lockedUntil": t(r.locked_until),
        "finishedAt": t(r.finished_at),
        "lastError": r.last_error,
        "payload": r.job.payload,
    })
}

pub fn run(store: &mut Store, command: JobsCommand) -> Result<()> {
    let services = app::Services::new();
    let who = match &command {
        JobsCommand::List { who, .. }
        | JobsCommand::Counts { who }
        | JobsCommand::Retry { who, .. }
        | JobsCommand::Cancel { who, .. } => who,
    };
    let access = match &who.as_user {
        Some(user) => {
            let org = crate::report::pick_org(store, who.org.clone())?;
            Some(
                services
                    .access(store, &org, user)
                    .with_context(|| format!("cannot act as `{user}`"))?,
            )
        }
        None => None,
    };
    let org = match &access {
        Some(a) => a.viewer.org.clone(),
        None => crate::report::pick_org(store, who.org.clone())?,
    };
    let actor = match &access {
        Some(a) => JobsActor::User(a),
        None => JobsActor::Operator { org: &org },
    };
    let mut out = std::io::stdout().lock();
    match command {
        JobsCommand::List {
            state,
            before,
            first,
            ..
        } => {
            let page = services
                .list_jobs(store, actor, state, before, first, now())
                .map_err(refused)?;
            for r in &page.jobs {
                writeln!(out, "{}", json(r))?;
            }
            if page.has_next_page
                && let Some(last) = page.jobs.last()
            {
                eprintln!("more: --before {}", last.job.id);
            }
        }
        JobsCommand::Counts { .. } => {
            let counts = services.job_counts(store, actor, now()).map_err(refused)?;
            for (state, n) in counts {
                writeln!(out, "{:<10} {n}", state.as_str())?;
            }
        }
        JobsCommand::Retry { id, .. } => {
            let r = services
                .retry_job(store, actor, id, now())
                .map_err(refused)?;
            writeln!(out, "{}", json(&r))?;
        }
        JobsCommand::Cancel { id, .. } => {
            let r = services
                .cancel_job(store, actor, id, now())
                .map_err(refused)?;
            writeln!(out, "{}", json(&r))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `hireplane worker`: the pool until ctrl-c or SIGTERM.
pub fn worker(database: Option<&str>, args: WorkerArgs) -> Result<()> {
    let mut settings =
        server::Settings::load(args.config.as_deref()).map_err(|e| anyhow!("{e}"))?;
    if let Some(url) = database {
        settings.database = url.to_owned();
    }
    if let Some(n) = args.workers {
        settings.workflow.workers = n;
    }
    server::init_logging(&settings);
    let stopped = server::work_blocking(&settings, handlers(args.bench_noop), |holder| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "job workers running on `{}` as `{holder}`; ctrl-c stops them gracefully",
            store::redact(&settings.database)
        );
    })?;
    eprintln!(
        "stopped: {}, {} job(s) released",
        if stopped.drained {
            "every running job finished"
        } else {
            "the grace period ended"
        },
        stopped.released
    );
    Ok(())
}

/// A refusal as the API says it; other failures keep their detail.
fn refused(e: app::AppError) -> anyhow::Error {
    match e.refusal() {
        Some(r) => anyhow!(r.message),
        None => anyhow::Error::new(e),
    }
}
