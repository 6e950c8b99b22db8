//! The durable job queue on both backends (migrations 20 and 23): claims fair across orgs and,
//! within an org, by priority then due time (one org's backlog never delays another's job; a
//! pool's cap per org where the store holds several),
//! scheduled runs, unique keys, cancellation, failures retried at the caller's time or dead
//! after `max_attempts`, dead jobs retried, leases (expired ones put back, heartbeats extend
//! them, a pool that lost its lease cannot settle the job), graceful release, lists, counts,
//! pruning, wake-ups, and concurrent claimers on separate connections never running one job
//! twice. SQLite tests always run; PostgreSQL tests run when `HIREPLANE_TEST_POSTGRES` holds a
//! server URL, each in a freshly created database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use store::jobs::{Enqueued, Failed, Job, JobChange, JobState, NewJob, Requeued, later};
use store::{Store, StoreError};

use crate::common;
use common::{Fresh, on_both};

fn at(s: i64) -> domain::Instant {
    domain::Instant::from_micros(1_780_000_000_000_000 + s * 1_000_000).unwrap()
}

fn job(org: &str, kind: &str, n: i64) -> NewJob {
    NewJob::new(org, kind, serde_json::json!({ "n": n }), at(0))
}

fn enqueue(s: &mut Store, j: &NewJob) -> i64 {
    let e = s.enqueue_job(j, at(0)).unwrap();
    assert!(!e.existing);
    e.id
}

fn counts(s: &mut Store, org: Option<&str>) -> HashMap<JobState, u64> {
    s.job_counts(org).unwrap().into_iter().collect()
}

on_both!("hp_jobs", priority_then_due_time_then_age, |mut f| {
    let s = f.store();
    let low = enqueue(s, &job("acme", "k", 1));
    let mut high = job("acme", "k", 2);
    high.priority = 5;
    let high = enqueue(s, &high);
    let mut later_due = job("acme", "k", 3);
    later_due.run_at = at(-10);
    let earlier_due = enqueue(s, &later_due);
    let mut future = job("acme", "k", 4);
    future.run_at = at(60);
    let future = enqueue(s, &future);
    let low2 = enqueue(s, &job("other", "k", 5));

    let claimed = s.claim_jobs("pool-a", 10, at(1), at(31)).unwrap();
    let ids: Vec<i64> = claimed.iter().map(|j| j.id).collect();
    // Within an org: priority first, then the earliest due, then the oldest; across orgs, each
    // org's first job before any org's second (fair_claims below). The future job is not due.
    assert_eq!(ids, vec![high, low2, earlier_due, low]);
    assert!(claimed.iter().all(|j| j.attempt == 1));
    assert_eq!(claimed[3].payload, serde_json::json!({"n": 1}));
    assert_eq!(claimed[1].org_id, "other");
    assert!(
        s.claim_jobs("pool-a", 10, at(59), at(89))
            .unwrap()
            .is_empty()
    );
    let due = s.claim_jobs("pool-b", 10, at(60), at(90)).unwrap();
    assert_eq!(due.iter().map(|j| j.id).collect::<Vec<_>>(), vec![future]);
    // One at a time: the limit holds.
    for n in 0..3 {
        enqueue(s, &job("acme", "k", 10 + n));
    }
    assert_eq!(s.claim_jobs("pool-a", 2, at(61), at(91)).unwrap().len(), 2);
});

on_both!("hp_jobs", unique_keys_answer_the_active_job, |mut f| {
    let s = f.store();
    let mut a = job("acme", "mail", 1);
    a.unique_key = Some("remind:app_1".to_owned());
    let first = s.enqueue_job(&a, at(0)).unwrap();
    assert!(!first.existing);
    // While it waits, and while it runs: the same id, nothing added.
    assert_eq!(
        s.enqueue_job(&a, at(1)).unwrap(),
        Enqueued {
            id: first.id,
            existing: true
        }
    );
    let claimed = s.claim_jobs("p", 1, at(2), at(30)).unwrap();
    assert_eq!(claimed[0].unique_key.as_deref(), Some("remind:app_1"));
    assert_eq!(s.enqueue_job(&a, at(3)).unwrap().id, first.id);
    // Another org's key is its own.
    let mut b = a.clone();
    b.org_id = "other".to_owned();
    assert!(!s.enqueue_job(&b, at(3)).unwrap().existing);
    // Once done, the key is free again.
    assert!(s.complete_job(first.id, "p", at(4)).unwrap());
    let again = s.enqueue_job(&a, at(5)).unwrap();
    assert!(!again.existing);
    assert_ne!(again.id, first.id);
    assert_eq!(counts(s, Some("acme"))[&JobState::Available], 1);
});

on_both!("hp_jobs", bad_jobs_are_refused, |mut f| {
    let s = f.store();
    let mut j = job("acme", "k", 1);
    j.max_attempts = 0;
    let e = s.enqueue_job(&j, at(0)).unwrap_err();
    assert!(matches!(e, StoreError::InvalidJob(_)), "{e}");
    assert!(e.to_string().contains("`max_attempts`"), "{e}");
    let mut j = job("acme", " ", 1);
    j.max_attempts = 3;
    assert!(matches!(
        s.enqueue_job(&j, at(0)),
        Err(StoreError::InvalidJob(_))
    ));
    assert_eq!(counts(s, None).values().sum::<u64>(), 0);
});

on_both!("hp_jobs", cancelled_jobs_do_not_run, |mut f| {
    let s = f.store();
    let waiting = enqueue(s, &job("acme", "k", 1));
    let running = enqueue(s, &job("acme", "k", 2));
    assert_eq!(
        s.cancel_job("acme", waiting, at(1)).unwrap(),
        JobChange::Changed
    );
    let claimed = s.claim_jobs("p", 10, at(1), at(30)).unwrap();
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![running]
    );
    // Cancelled while it runs: its worker's completion changes nothing.
    assert_eq!(
        s.cancel_job("acme", running, at(2)).unwrap(),
        JobChange::Changed
    );
    assert!(!s.complete_job(running, "p", at(3)).unwrap());
    assert_eq!(
        s.fail_job(running, "p", "boom", Some(at(9)), at(3))
            .unwrap(),
        Failed::Lost
    );
    let r = s.job_record("acme", running).unwrap().unwrap();
    assert_eq!(r.state, JobState::Cancelled);
    assert_eq!(r.finished_at, Some(at(2)));
    // Twice, another org's, a missing one.
    assert_eq!(
        s.cancel_job("acme", running, at(4)).unwrap(),
        JobChange::InState(JobState::Cancelled)
    );
    assert_eq!(
        s.cancel_job("other", waiting, at(4)).unwrap(),
        JobChange::NotFound
    );
    assert_eq!(
        s.cancel_job("acme", 999_999, at(4)).unwrap(),
        JobChange::NotFound
    );
});

on_both!("hp_jobs", failures_retry_then_die, |mut f| {
    let s = f.store();
    let mut j = job("acme", "k", 1);
    j.max_attempts = 3;
    let id = enqueue(s, &j);
    let mut t = 0;
    for attempt in 1..=3 {
        let claimed = s.claim_jobs("p", 1, at(t), at(t + 30)).unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt}");
        assert_eq!(claimed[0].attempt, attempt);
        let retry_at = at(t + 10 * i64::from(attempt));
        let failed = s
            .fail_job(
                id,
                "p",
                &format!("failure {attempt}"),
                Some(retry_at),
                at(t + 1),
            )
            .unwrap();
        if attempt < 3 {
            assert_eq!(failed, Failed::Retrying(retry_at));
            // Not before its retry time.
            assert!(
                s.claim_jobs("p", 1, at(t + 10 * i64::from(attempt) - 1), at(t + 99))
                    .unwrap()
                    .is_empty()
            );
            t += 10 * i64::from(attempt);
        } else {
            assert_eq!(failed, Failed::Dead);
        }
    }
    let r = s.job_record("acme", id).unwrap().unwrap();
    assert_eq!(r.state, JobState::Dead);
    assert_eq!(r.last_error.as_deref(), Some("failure 3"));
    assert_eq!(r.job.attempt, 3);
    assert!(s.claim_jobs("p", 1, at(1000), at(1030)).unwrap().is_empty());

    // A permanent failure is dead at once, whatever attempts are left.
    let other = enqueue(s, &job("acme", "k", 2));
    s.claim_jobs("p", 1, at(1000), at(1030)).unwrap();
    assert_eq!(
        s.fail_job(other, "p", "bad payload", None, at(1001))
            .unwrap(),
        Failed::Dead
    );
    // A long error is kept cut.
    let dead = s.list_jobs("acme", Some(JobState::Dead), None, 10).unwrap();
    assert_eq!(
        dead.iter().map(|r| r.job.id).collect::<Vec<_>>(),
        vec![other, id]
    );
});

on_both!("hp_jobs", dead_jobs_are_retried_by_operators, |mut f| {
    let s = f.store();
    let mut j = job("acme", "k", 1);
    j.max_attempts = 1;
    j.unique_key = Some("u".to_owned());
    let id = enqueue(s, &j);
    s.claim_jobs("p", 1, at(0), at(30)).unwrap();
    assert_eq!(
        s.fail_job(id, "p", "x", Some(at(5)), at(1)).unwrap(),
        Failed::Dead
    );
    // Only a dead one.
    let fresh = enqueue(s, &job("acme", "k", 2));
    assert_eq!(
        s.retry_dead_job("acme", fresh, at(2)).unwrap(),
        JobChange::InState(JobState::Available)
    );
    assert_eq!(
        s.retry_dead_job("other", id, at(2)).unwrap(),
        JobChange::NotFound
    );
    // Its unique key is taken by an active job meanwhile: refused.
    let holder = s.enqueue_job(&j, at(2)).unwrap();
    assert!(!holder.existing);
    assert_eq!(
        s.retry_dead_job("acme", id, at(3)).unwrap(),
        JobChange::UniqueTaken(holder.id)
    );
    s.cancel_job("acme", holder.id, at(3)).unwrap();
    assert_eq!(
        s.retry_dead_job("acme", id, at(4)).unwrap(),
        JobChange::Changed
    );
    let r = s.job_record("acme", id).unwrap().unwrap();
    assert_eq!(
        (r.state, r.job.attempt, r.job.run_at),
        (JobState::Available, 0, at(4))
    );
    assert_eq!(r.finished_at, None);
    s.cancel_job("acme", fresh, at(4)).unwrap();
    let again = s.claim_jobs("p", 5, at(4), at(34)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempt), (id, 1));
});

on_both!("hp_jobs", expired_leases_run_again, |mut f| {
    let s = f.store();
    let mut j = job("acme", "k", 1);
    j.max_attempts = 2;
    let id = enqueue(s, &j);
    let claimed = s.claim_jobs("dead-pool", 1, at(0), at(10)).unwrap();
    assert_eq!(claimed[0].attempt, 1);
    // Within the lease nothing moves; a heartbeat extends it.
    assert_eq!(s.requeue_expired_jobs(at(9)).unwrap(), Requeued::default());
    assert_eq!(s.heartbeat_jobs("dead-pool", at(20)).unwrap(), vec![id]);
    assert_eq!(
        s.heartbeat_jobs("another", at(20)).unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(s.requeue_expired_jobs(at(15)).unwrap(), Requeued::default());
    // The pool died: past the lease the job is available at once, for another pool.
    assert_eq!(
        s.requeue_expired_jobs(at(21)).unwrap(),
        Requeued {
            available: 1,
            dead: 0
        }
    );
    let again = s.claim_jobs("live-pool", 1, at(21), at(51)).unwrap();
    assert_eq!((again[0].id, again[0].attempt), (id, 2));
    // The first pool comes back: it cannot settle what it no longer holds.
    assert!(!s.complete_job(id, "dead-pool", at(22)).unwrap());
    assert_eq!(
        s.fail_job(id, "dead-pool", "late", Some(at(40)), at(22))
            .unwrap(),
        Failed::Lost
    );
    assert!(s.heartbeat_jobs("dead-pool", at(60)).unwrap().is_empty());
    // Its last attempt's lease expires too: dead, not another run (a job that kills its
    // worker does not loop for ever).
    assert_eq!(
        s.requeue_expired_jobs(at(52)).unwrap(),
        Requeued {
            available: 0,
            dead: 1
        }
    );
    let r = s.job_record("acme", id).unwrap().unwrap();
    assert_eq!(r.state, JobState::Dead);
    assert!(r.last_error.unwrap().contains("lease expired"));
});

on_both!("hp_jobs", graceful_release_runs_again_at_once, |mut f| {
    let s = f.store();
    let a = enqueue(s, &job("acme", "k", 1));
    let b = enqueue(s, &job("acme", "k", 2));
    let c = enqueue(s, &job("acme", "k", 3));
    let claimed = s.claim_jobs("leaving", 2, at(0), at(300)).unwrap();
    assert_eq!(claimed.len(), 2);
    s.claim_jobs("staying", 1, at(0), at(300)).unwrap();
    assert_eq!(s.release_jobs("leaving", at(5)).unwrap(), 2);
    // Available at once, the attempt not counted; the other pool's job untouched.
    let again = s.claim_jobs("next", 10, at(5), at(35)).unwrap();
    let mut ids: Vec<i64> = again.iter().map(|j| j.id).collect();
    ids.sort();
    assert_eq!(ids, vec![a, b]);
    assert!(again.iter().all(|j| j.attempt == 1));
    let r = s.job_record("acme", c).unwrap().unwrap();
    assert_eq!(
        (r.state, r.locked_by.as_deref()),
        (JobState::Running, Some("staying"))
    );
});

on_both!("hp_jobs", lists_counts_and_pruning, |mut f| {
    let s = f.store();
    let ids: Vec<i64> = (0..5).map(|n| enqueue(s, &job("acme", "k", n))).collect();
    for j in s.claim_jobs("p", 3, at(1), at(31)).unwrap() {
        assert!(s.complete_job(j.id, "p", at(2)).unwrap());
    }
    enqueue(s, &job("other", "k", 9));
    s.cancel_job("acme", ids[3], at(3)).unwrap();
    let c = counts(s, Some("acme"));
    assert_eq!(
        (
            c[&JobState::Done],
            c[&JobState::Cancelled],
            c[&JobState::Available]
        ),
        (3, 1, 1)
    );
    assert_eq!(c[&JobState::Dead], 0);
    assert_eq!(counts(s, None)[&JobState::Available], 2);
    // Newest first, by state, paged by id, one org only.
    let all = s.list_jobs("acme", None, None, 10).unwrap();
    assert_eq!(
        all.iter().map(|r| r.job.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    let page = s.list_jobs("acme", None, Some(ids[2]), 1).unwrap();
    assert_eq!(page[0].job.id, ids[1]);
    let done = s.list_jobs("acme", Some(JobState::Done), None, 10).unwrap();
    assert_eq!(done.len(), 3);
    assert!(done.iter().all(|r| r.finished_at == Some(at(2))));
    // Pruning: finished before the cut, oldest first, bounded; available ones stay.
    assert_eq!(s.prune_jobs(at(3), 2).unwrap(), 2);
    assert_eq!(s.prune_jobs(at(3), 10).unwrap(), 1);
    assert_eq!(s.prune_jobs(at(4), 10).unwrap(), 1);
    let c = counts(s, Some("acme"));
    assert_eq!(
        (
            c[&JobState::Done],
            c[&JobState::Cancelled],
            c[&JobState::Available]
        ),
        (0, 0, 1)
    );
    // Ids are not reused after pruning.
    let next = enqueue(s, &job("acme", "k", 7));
    assert!(next > *ids.iter().max().unwrap());
});

on_both!("hp_jobs", enqueues_wake_a_listening_worker, |mut f| {
    let url = f.url.clone();
    let s = f.store();
    let mut signal = s.listen_jobs().unwrap();
    // Nothing enqueued: the wait times out.
    let started = std::time::Instant::now();
    assert!(
        !s.wait_for_jobs(&mut signal, Duration::from_millis(150))
            .unwrap()
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
    // An enqueue on another connection (another thread) wakes it well before the timeout.
    let enqueuer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let mut other = Store::open(&url).unwrap();
        other.enqueue_job(&job("acme", "k", 1), at(0)).unwrap();
    });
    let started = std::time::Instant::now();
    assert!(
        s.wait_for_jobs(&mut signal, Duration::from_secs(20))
            .unwrap()
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    enqueuer.join().unwrap();
    assert_eq!(s.claim_jobs("p", 1, at(1), at(31)).unwrap().len(), 1);
});

/// SQLite's wake-ups are per database file: enqueues into another store of the same process
/// wake no pool of this one (one counter for the whole process woke every pool at every
/// enqueue, and the test above failed when another test enqueued while it waited for nothing).
#[test]
fn sqlite_wakes_only_the_pools_of_its_own_file() {
    let mut mine = crate::common::sqlite();
    let other = crate::common::sqlite();
    let s = mine.store();
    let mut signal = s.listen_jobs().unwrap();
    let url = other.url.clone();
    let enqueuer = std::thread::spawn(move || {
        let mut o = Store::open(&url).unwrap();
        for n in 0..5 {
            std::thread::sleep(Duration::from_millis(40));
            o.enqueue_job(&job("acme", "k", n), at(0)).unwrap();
        }
    });
    assert!(
        !s.wait_for_jobs(&mut signal, Duration::from_millis(400))
            .unwrap(),
        "woken by another file's enqueues"
    );
    enqueuer.join().unwrap();
    s.enqueue_job(&job("acme", "k", 9), at(0)).unwrap();
    assert!(
        s.wait_for_jobs(&mut signal, Duration::from_millis(400))
            .unwrap()
    );
}

/// `threads` claimers, each on its own connection, run `jobs` jobs: each exactly once, never
/// two at a time.
fn concurrent_claimers(f: &mut Fresh, jobs: i64, threads: usize) {
    let s = f.store();
    for n in 0..jobs {
        enqueue(s, &job("acme", "k", n));
    }
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let running: Arc<Mutex<std::collections::HashSet<i64>>> = Arc::default();
    let mut handles = Vec::new();
    for t in 0..threads {
        let url = f.url.clone();
        let runs = runs.clone();
        let running = running.clone();
        handles.push(std::thread::spawn(move || {
            let mut s = Store::open(&url).unwrap();
            let holder = format!("pool-{t}");
            let mut idle = 0;
            // Bounded: stops after a few empty claims, or after far more rounds than jobs.
            for _ in 0..(jobs * 4) {
                let claimed = s.claim_jobs(&holder, 1, at(1), at(600)).unwrap();
                let Some(j) = claimed.into_iter().next() else {
                    idle += 1;
                    if idle > 3 {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                idle = 0;
                assert!(
                    running.lock().unwrap().insert(j.id),
                    "job {} runs twice at once",
                    j.id
                );
                *runs.lock().unwrap().entry(j.id).or_default() += 1;
                assert!(running.lock().unwrap().remove(&j.id));
                assert!(s.complete_job(j.id, &holder, at(2)).unwrap());
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let runs = runs.lock().unwrap();
    assert_eq!(runs.len(), usize::try_from(jobs).unwrap());
    assert!(runs.values().all(|n| *n == 1), "a job ran twice");
    assert_eq!(
        counts(f.store(), Some("acme"))[&JobState::Done],
        u64::try_from(jobs).unwrap()
    );
}

#[test]
fn concurrent_claimers_sqlite() {
    concurrent_claimers(&mut common::sqlite(), 400, 4);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn concurrent_claimers_postgres() {
    concurrent_claimers(&mut common::postgres("hp_jobs"), 2_000, 4);
}

fn enqueue_many(s: &mut Store, org: &str, n: usize, due: domain::Instant) -> Vec<i64> {
    (0..n)
        .map(|i| {
            let job = NewJob::new(org, "x", serde_json::json!({ "i": i }), due);
            s.enqueue_job(&job, due).unwrap().id
        })
        .collect()
}

fn claim(s: &mut Store, pool: &str, jobs: u32, per_org: u32, now: domain::Instant) -> Vec<Job> {
    let limits = store::jobs::ClaimLimits { jobs, per_org };
    s.claim_jobs_within(pool, limits, now, later(now, Duration::from_secs(60)))
        .unwrap()
}

fn orgs_of(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.org_id.as_str()).collect()
}

// One org's backlog never puts another org's job behind it: claims order due jobs by the
// org's running jobs plus the job's rank in its org, so a quiet org's job is next whatever
// the busy org queued; a pool holds at most `per_org` running jobs of one org where the store
// holds several orgs, and any number where it holds one; within an org, priority and due time
// still order.
on_both!("hp_jobs", fair_claims, |mut f| {
    let t0 = at(0);
    let s = f.store();
    // One org alone: the cap does not apply, it may take every worker.
    let lone = enqueue_many(s, "busy", 1_000, t0);
    let got = claim(s, "p1", 2, 1, t0);
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), lone[..2]);
    let got = claim(s, "p1", 1, 1, t0);
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), lone[2..3]);
    f.execute_raw(&add_orgs(f.pg.is_some(), &["busy", "quiet", "late"]));
    let s = f.store();
    // Queued after the backlog of 997 due jobs.
    let quiet = enqueue_many(s, "quiet", 2, at_plus(t0, 1));
    let late = enqueue_many(s, "late", 1, at_plus(t0, 2));
    let now = at_plus(t0, 10);
    // "busy" runs 3 (load 4 for its next job), "quiet" and "late" nothing (load 1): theirs first.
    let got = claim(s, "p1", 1, 100, now);
    assert_eq!(got[0].id, quiet[0]);
    let got = claim(s, "p1", 1, 100, now);
    assert_eq!(got[0].id, late[0], "`late` runs nothing; `quiet` runs one");
    // Now "quiet" has load 2 for its second job, "busy" 4: quiet again, then busy.
    let got = claim(s, "p2", 2, 100, now);
    assert_eq!(orgs_of(&got), ["quiet", "busy"]);
    assert_eq!(got[0].id, quiet[1]);
    assert_eq!(got[1].id, lone[3]);

    // The cap per org and pool: "p1" holds 3 of busy's jobs, so with a cap of 4 it gets one
    // more; "p3" holds none, so with a cap of 2 it gets two, though it asked for five.
    let got = claim(s, "p1", 5, 4, now);
    assert_eq!(orgs_of(&got), ["busy"]);
    let got = claim(s, "p3", 5, 2, now);
    assert_eq!(orgs_of(&got), ["busy", "busy"]);

    // Within an org, a higher priority goes first even when due later.
    let mut urgent = NewJob::new("quiet", "x", serde_json::json!({}), at_plus(t0, 5));
    urgent.priority = 5;
    let urgent = s.enqueue_job(&urgent, now).unwrap().id;
    let mut normal = NewJob::new("quiet", "x", serde_json::json!({}), t0);
    normal.priority = 0;
    let normal = s.enqueue_job(&normal, now).unwrap().id;
    let got = claim(s, "p4", 2, 100, now);
    assert_eq!(
        got.iter().map(|j| j.id).collect::<Vec<_>>(),
        [urgent, normal],
        "quiet's two jobs (load 3 and 4) before busy's (load 8)"
    );

    // Two busy orgs alternate within one batch; the batch comes back in that order.
    let a = enqueue_many(s, "late", 3, t0);
    let got = claim(s, "p5", 4, 100, now);
    assert_eq!(
        orgs_of(&got),
        ["late", "late", "late", "busy"],
        "late: loads 2, 3, 4; busy: 8"
    );
    assert_eq!(got.iter().map(|j| j.id).take(3).collect::<Vec<_>>(), a);
    // Nothing claimed twice.
    let running = counts(s, None)[&JobState::Running];
    assert_eq!(running, 3 + 2 + 2 + 1 + 2 + 2 + 4);
});

// More orgs with available jobs than one claim looks at: the orgs past the bound are not
// starved by those before it (here, a thousand orgs whose jobs are all due later). A pool's next
// claim goes on where its last one stopped, and the one after the end starts at the first again.
on_both!("hp_jobs", claims_rotate_past_the_org_bound, |mut f| {
    let now = at(0);
    let pool = format!("rotation-{}", if f.pg.is_some() { "pg" } else { "sqlite" });
    let s = f.store();
    let bound = store::jobs::MAX_CLAIM_ORGS;
    for i in 0..bound {
        let job = NewJob::new(&format!("f{i:05}"), "x", serde_json::json!({}), at(3_600));
        s.enqueue_job(&job, now).unwrap();
    }
    let early = enqueue_many(s, "a", 1, now);
    let starved = enqueue_many(s, "z", 1, now);
    // The first walk: "a" and 999 orgs with nothing due.
    assert_eq!(
        claim(s, &pool, 5, 100, now)
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        early
    );
    // The next goes on after them: the last "f" org, then "z".
    assert_eq!(
        claim(s, &pool, 5, 100, now)
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        starved
    );
    // That walk reached the end: the next starts at the first org again.
    let again = enqueue_many(s, "a", 1, now);
    assert_eq!(
        claim(s, &pool, 5, 100, now)
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        again
    );
});

/// Bare org rows, as an import would add them (the claim caps per org only beside another org).
fn add_orgs(pg: bool, orgs: &[&str]) -> String {
    orgs.iter()
        .map(|o| {
            format!(
                "INSERT INTO orgs (org_id, name, timezone, created_at) VALUES ('{o}', '{o}', 'UTC', {});",
                if pg { "now()" } else { "0" }
            )
        })
        .collect()
}

fn at_plus(t: domain::Instant, secs: i64) -> domain::Instant {
    domain::Instant::from_micros(t.as_micros() + secs * 1_000_000).unwrap()
}
