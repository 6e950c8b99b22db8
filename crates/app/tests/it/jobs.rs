//! Durable jobs through `app`: a claimed job runs with its kind's handler; a kind without one is
//! dead at once with an error naming it; a panicking handler is a retryable failure and the
//! caller goes on; retries wait the backoff (growing, full jitter, never sooner than the
//! handler's `retry_after`) and die after `max_attempts`; operators (the CLI) and admins of the
//! job's org list, count, retry and cancel, nobody else, and never another org's jobs. On
//! SQLite always, on PostgreSQL when `HIREPLANE_TEST_POSTGRES` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use app::jobs::{Backoff, JobHandlers, JobOutcome, JobsActor, Settled, run_job, settle};
use app::{AppError, Services};
use common::{Fresh, at};
use store::Store;
use store::jobs::{Job, JobState, NewJob, later};

const ORG: &str = "jobsorg";

fn secs(at: domain::Instant, from: domain::Instant) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let d = (at.as_micros() - from.as_micros()) as f64;
    d / 1e6
}

/// Claims the one due job, runs it, settles it.
fn step(
    s: &mut Store,
    handlers: &JobHandlers,
    services: &Services,
    now: domain::Instant,
    unit: f64,
) -> Option<(Job, JobOutcome, Settled)> {
    let job = s
        .claim_jobs("pool", 1, now, later(now, Duration::from_secs(30)))
        .unwrap()
        .into_iter()
        .next()?;
    let outcome = run_job(handlers, services, s, &job, now);
    let settled = settle(s, &job, "pool", &outcome, &Backoff::default(), unit, now).unwrap();
    Some((job, outcome, settled))
}

fn handlers_and_retries(mut f: Fresh) {
    let s = f.store();
    let services = Services::new();
    let runs = Arc::new(AtomicU32::new(0));
    let mut handlers = JobHandlers::new();
    let counted = runs.clone();
    handlers.register(
        "ok",
        Arc::new(move |_: &Services, _: &mut Store, job: &Job, _| {
            assert_eq!(job.payload["to"], "someone");
            counted.fetch_add(1, Ordering::SeqCst);
            JobOutcome::Done
        }),
    );
    handlers.register(
        "flaky",
        Arc::new(
            |_: &Services, _: &mut Store, _: &Job, _| JobOutcome::Retry {
                error: "503 from the destination".to_owned(),
                retry_after: None,
            },
        ),
    );
    handlers.register(
        "slow-down",
        Arc::new(
            |_: &Services, _: &mut Store, _: &Job, _| JobOutcome::Retry {
                error: "429".to_owned(),
                retry_after: Some(Duration::from_secs(120)),
            },
        ),
    );
    handlers.register(
        "panics",
        Arc::new(|_: &Services, _: &mut Store, _: &Job, _| -> JobOutcome {
            panic!("index out of bounds in a handler")
        }),
    );
    handlers.register(
        "permanent",
        Arc::new(
            |_: &Services, _: &mut Store, _: &Job, _| JobOutcome::Discard {
                error: "the template does not exist".to_owned(),
            },
        ),
    );
    let t0 = at();
    let enqueue = |s: &mut Store, kind: &str, max: i32| {
        let mut j = NewJob::new(ORG, kind, serde_json::json!({"to": "someone"}), t0);
        j.max_attempts = max;
        s.enqueue_job(&j, t0).unwrap().id
    };

    // A kind nobody handles: dead at once, the error names it.
    let orphan = enqueue(s, "no.such.kind", 5);
    let (_, outcome, settled) = step(s, &handlers, &services, t0, 0.5).unwrap();
    assert_eq!(settled, Settled::Dead);
    match outcome {
        JobOutcome::Discard { error } => {
            assert!(error.contains("`no.such.kind`"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    let r = s.job_record(ORG, orphan).unwrap().unwrap();
    assert_eq!(r.state, JobState::Dead);

    // A panicking handler: a retryable failure, and the next job runs on the same store.
    let panicky = enqueue(s, "panics", 5);
    let ok = enqueue(s, "ok", 5);
    let (job, outcome, settled) = step(s, &handlers, &services, t0, 0.5).unwrap();
    assert_eq!(job.id, panicky);
    assert!(matches!(settled, Settled::Retrying(_)), "{settled:?}");
    assert!(
        matches!(&outcome, JobOutcome::Retry { error, .. } if error.contains("panicked") && error.contains("index out of bounds")),
        "{outcome:?}"
    );
    let (job, _, settled) = step(s, &handlers, &services, t0, 0.0).unwrap();
    assert_eq!((job.id, settled), (ok, Settled::Done));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    s.cancel_job(ORG, panicky, t0).unwrap();

    // Backoff: with the jitter at its top, each wait doubles (1 s, 2 s, 4 s, 8 s); dead after
    // the fifth attempt.
    let flaky = enqueue(s, "flaky", 5);
    let mut now = t0;
    let mut waits = Vec::new();
    for attempt in 1..=5 {
        let (job, _, settled) = step(s, &handlers, &services, now, 0.999_999).unwrap();
        assert_eq!((job.id, job.attempt), (flaky, attempt));
        match settled {
            Settled::Retrying(next) => {
                waits.push(secs(next, now).round());
                // Nothing is due before the retry.
                assert!(
                    step(
                        s,
                        &handlers,
                        &services,
                        later(now, Duration::from_millis(1)),
                        0.5
                    )
                    .is_none_or(|(j, _, _)| j.id != flaky)
                );
                now = next;
            }
            Settled::Dead => assert_eq!(attempt, 5),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(waits, vec![1.0, 2.0, 4.0, 8.0]);
    // Full jitter: the wait is anywhere from 0 to the ceiling.
    let spread = enqueue(s, "flaky", 5);
    let (job, _, settled) = step(s, &handlers, &services, now, 0.0).unwrap();
    assert_eq!((job.id, settled), (spread, Settled::Retrying(now)));
    s.cancel_job(ORG, spread, now).unwrap();

    // Retry-After is a floor.
    let slow = enqueue(s, "slow-down", 5);
    let (job, _, settled) = step(s, &handlers, &services, now, 0.0).unwrap();
    assert_eq!(job.id, slow);
    assert_eq!(
        settled,
        Settled::Retrying(later(now, Duration::from_secs(120)))
    );

    // A permanent failure with attempts left: dead.
    let permanent = enqueue(s, "permanent", 5);
    let (job, _, settled) = step(
        s,
        &handlers,
        &services,
        later(now, Duration::from_secs(1)),
        0.0,
    )
    .unwrap();
    assert_eq!((job.id, settled), (permanent, Settled::Dead));
    let r = s.job_record(ORG, permanent).unwrap().unwrap();
    assert_eq!(r.last_error.as_deref(), Some("the template does not exist"));
}

#[test]
fn handlers_and_retries_sqlite() {
    handlers_and_retries(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn handlers_and_retries_postgres() {
    handlers_and_retries(common::postgres());
}

fn operators(mut f: Fresh) {
    let g = common::generate(ORG, 60, 5);
    f.import(g.dir.path());
    let other = common::generate("jobsother", 30, 6);
    f.import(other.dir.path());
    let s = f.store();
    let users = s.active_users(ORG).unwrap();
    let admin = users.iter().find(|u| u.role == "admin").unwrap().id.clone();
    let recruiter = users
        .iter()
        .find(|u| u.role == "recruiter")
        .unwrap()
        .id
        .clone();
    let other_admin = s
        .active_users("jobsother")
        .unwrap()
        .into_iter()
        .find(|u| u.role == "admin")
        .unwrap()
        .id;
    let services = Services::new();
    let admin = services.access(s, ORG, &admin).unwrap();
    let recruiter = services.access(s, ORG, &recruiter).unwrap();
    let other_admin = services.access(s, "jobsother", &other_admin).unwrap();

    let t0 = at();
    let mut j = NewJob::new(ORG, "mail", serde_json::json!({"n": 1}), t0);
    j.max_attempts = 1;
    let dead = s.enqueue_job(&j, t0).unwrap().id;
    let waiting = s
        .enqueue_job(
            &NewJob::new(ORG, "mail", serde_json::json!({"n": 2}), t0),
            t0,
        )
        .unwrap()
        .id;
    let theirs = s
        .enqueue_job(
            &NewJob::new("jobsother", "mail", serde_json::json!({}), t0),
            t0,
        )
        .unwrap()
        .id;
    let claimed = s
        .claim_jobs("pool", 1, t0, later(t0, Duration::from_secs(30)))
        .unwrap();
    assert_eq!(claimed[0].id, dead);
    s.fail_job(dead, "pool", "smtp refused", Some(t0), t0)
        .unwrap();

    let as_admin = JobsActor::User(&admin);
    let page = services
        .list_jobs(s, as_admin, Some(JobState::Dead), None, 10, t0)
        .unwrap();
    assert_eq!(page.jobs.len(), 1);
    assert_eq!(page.jobs[0].job.id, dead);
    assert_eq!(page.jobs[0].last_error.as_deref(), Some("smtp refused"));
    let all = services.list_jobs(s, as_admin, None, None, 1, t0).unwrap();
    assert_eq!((all.jobs[0].job.id, all.has_next_page), (waiting, true));
    let counts: std::collections::HashMap<JobState, u64> = services
        .job_counts(s, as_admin, t0)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        (counts[&JobState::Dead], counts[&JobState::Available]),
        (1, 1)
    );

    // A recruiter may not, whatever the job.
    for e in [
        services
            .list_jobs(s, JobsActor::User(&recruiter), None, None, 10, t0)
            .map(|_| ()),
        services
            .job_counts(s, JobsActor::User(&recruiter), t0)
            .map(|_| ()),
        services
            .retry_job(s, JobsActor::User(&recruiter), dead, t0)
            .map(|_| ()),
        services
            .cancel_job(s, JobsActor::User(&recruiter), waiting, t0)
            .map(|_| ()),
    ] {
        let e = e.unwrap_err();
        // The policy refuses `edit` on the org (the role check would refuse `manageJobs`).
        assert!(matches!(&e, AppError::Forbidden { .. }), "{e}");
    }
    // Not even when the org's policy lets everyone edit the org: a job's payload and errors
    // hold any of the org's data, so the admin role is required besides.
    services
        .set_policy(
            s,
            ORG,
            r#"@id("all") permit (principal, action, resource);"#,
            "all.cedar",
            None,
            t0,
        )
        .unwrap();
    let recruiter = services.access(s, ORG, &recruiter.viewer.user).unwrap();
    let e = services
        .list_jobs(s, JobsActor::User(&recruiter), None, None, 10, t0)
        .unwrap_err();
    assert!(
        matches!(&e, AppError::Forbidden { action, .. } if action == "manageJobs"),
        "{e}"
    );
    services.reset_policy(s, ORG, None, t0).unwrap();
    // Another org's admin sees their own org only: this org's jobs do not exist for them.
    let e = services
        .retry_job(s, JobsActor::User(&other_admin), dead, t0)
        .unwrap_err();
    assert!(
        matches!(&e, AppError::NotFound { field, .. } if field == "id"),
        "{e}"
    );
    let e = services
        .cancel_job(s, JobsActor::User(&admin), theirs, t0)
        .unwrap_err();
    assert!(matches!(&e, AppError::NotFound { .. }), "{e}");
    let theirs_listed = services
        .list_jobs(s, JobsActor::User(&other_admin), None, None, 10, t0)
        .unwrap();
    assert_eq!(
        theirs_listed
            .jobs
            .iter()
            .map(|r| r.job.id)
            .collect::<Vec<_>>(),
        vec![theirs]
    );

    // Retry: only a dead job; then it runs again.
    let e = services.retry_job(s, as_admin, waiting, t0).unwrap_err();
    assert!(matches!(&e, AppError::Conflict { .. }), "{e}");
    assert!(e.to_string().contains("available"), "{e}");
    let r = services.retry_job(s, as_admin, dead, t0).unwrap();
    assert_eq!((r.state, r.job.attempt), (JobState::Available, 0));
    // Cancel, as the operator; twice is a conflict.
    let operator = JobsActor::Operator { org: ORG };
    let r = services.cancel_job(s, operator, waiting, t0).unwrap();
    assert_eq!(r.state, JobState::Cancelled);
    let e = services.cancel_job(s, operator, waiting, t0).unwrap_err();
    assert!(matches!(&e, AppError::Conflict { .. }), "{e}");
}

#[test]
fn operators_sqlite() {
    operators(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn operators_postgres() {
    operators(common::postgres());
}
