//! The job worker pool end to end, on SQLite and (with `HIREPLANE_TEST_POSTGRES`) PostgreSQL:
//! enqueues wake idle workers (long before the poll interval); two pools on one database run
//! every job exactly once; a pool that died (its lease expired) loses its job to another pool;
//! a graceful stop lets short jobs finish and releases the ones still running, which then run
//! again elsewhere while the left-behind handler's outcome is not recorded; one org's backlog
//! of slow jobs neither delays another org's job nor holds every worker.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::Services;
use app::jobs::{Backoff, JobHandlers, JobOutcome};
use common::Db;
use server::worker::{WorkerConfig, WorkerPool};
use store::Store;
use store::jobs::{Job, JobState, NewJob, later};

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

fn config(db: &Db, workers: u32, poll: Duration, lease: Duration, grace: Duration) -> WorkerConfig {
    WorkerConfig {
        database: db.url.clone(),
        workers,
        poll,
        lease,
        grace,
        retention: Duration::from_secs(3600),
        backoff: Backoff::default(),
        batch: 1,
    }
}

/// Waits (bounded) until `done` holds.
fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn state(s: &mut Store, id: i64) -> JobState {
    s.job_record("acme", id).unwrap().unwrap().state
}

/// A handler counting runs per job id, never two runs of one job at a time.
fn counting(runs: Arc<Mutex<HashMap<i64, u32>>>) -> JobHandlers {
    let running: Arc<Mutex<std::collections::HashSet<i64>>> = Arc::default();
    let mut h = JobHandlers::new();
    h.register(
        "count",
        Arc::new(move |_: &Services, _: &mut Store, job: &Job, _| {
            assert!(
                running.lock().unwrap().insert(job.id),
                "job {} twice at once",
                job.id
            );
            *runs.lock().unwrap().entry(job.id).or_default() += 1;
            running.lock().unwrap().remove(&job.id);
            JobOutcome::Done
        }),
    );
    h
}

fn wakeups_and_two_pools(db: Db) {
    let mut s = Store::open(&db.url).unwrap();
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    // A poll far longer than the test: only wake-ups get the jobs run in time.
    let poll = Duration::from_secs(60);
    let lease = Duration::from_secs(30);
    let a = WorkerPool::start(
        config(&db, 2, poll, lease, Duration::from_secs(5)),
        counting(runs.clone()),
        Arc::new(Services::new()),
    )
    .unwrap();
    let b = WorkerPool::start(
        config(&db, 2, poll, lease, Duration::from_secs(5)),
        counting(runs.clone()),
        Arc::new(Services::new()),
    )
    .unwrap();
    // Let the workers reach their wait.
    std::thread::sleep(Duration::from_millis(500));
    let n = if db.pg.is_some() { 2_000 } else { 300 };
    let mut ids = Vec::new();
    for i in 0..n {
        let j = NewJob::new("acme", "count", serde_json::json!({ "i": i }), now());
        ids.push(s.enqueue_job(&j, now()).unwrap().id);
    }
    wait_until("every job done", Duration::from_secs(50), || {
        runs.lock().unwrap().len() == ids.len()
    });
    let sa = a.stop();
    let sb = b.stop();
    assert!(sa.drained && sb.drained);
    let runs = runs.lock().unwrap();
    assert!(runs.values().all(|n| *n == 1), "a job ran twice");
    let counts: HashMap<JobState, u64> = s.job_counts(Some("acme")).unwrap().into_iter().collect();
    assert_eq!(counts[&JobState::Done], u64::try_from(ids.len()).unwrap());
}

on_both!(wakeups_and_two_pools);

/// Org `busy` queues 400 slow jobs on a pool of 3 workers; a job of org `quiet` queued
/// afterwards starts at once (a worker is kept from `busy`, and the claim puts `quiet` first),
/// not after the backlog (400 x 25 ms / 3 workers, about 3.3 s); `busy` never runs more than 2
/// at a time while another org exists, and runs its backlog meanwhile.
fn one_org_cannot_starve_another(db: Db) {
    common::generated_org(&db, "busy", 20, 1, &[]);
    common::generated_org(&db, "quiet", 20, 2, &[]);
    let mut s = Store::open(&db.url).unwrap();
    let running: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let most: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let started: Arc<Mutex<HashMap<i64, std::time::Instant>>> = Arc::default();
    let mut h = JobHandlers::new();
    let (r, m, st) = (running.clone(), most.clone(), started.clone());
    h.register(
        "slow",
        Arc::new(move |_: &Services, _: &mut Store, job: &Job, _| {
            st.lock().unwrap().insert(job.id, std::time::Instant::now());
            {
                let mut r = r.lock().unwrap();
                let n = r.entry(job.org_id.clone()).or_default();
                *n += 1;
                let mut m = m.lock().unwrap();
                let most = m.entry(job.org_id.clone()).or_default();
                *most = (*most).max(*n);
            }
            std::thread::sleep(Duration::from_millis(25));
            *r.lock().unwrap().get_mut(&job.org_id).unwrap() -= 1;
            JobOutcome::Done
        }),
    );
    let pool = WorkerPool::start(
        config(
            &db,
            3,
            Duration::from_secs(60),
            Duration::from_secs(30),
            Duration::from_secs(5),
        ),
        h,
        Arc::new(Services::new()),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t0 = now();
    for i in 0..400 {
        let j = NewJob::new("busy", "slow", serde_json::json!({ "i": i }), t0);
        s.enqueue_job(&j, t0).unwrap();
    }
    wait_until("busy's jobs running", Duration::from_secs(10), || {
        started.lock().unwrap().len() >= 10
    });
    let queued = std::time::Instant::now();
    let at = now();
    let quiet = s
        .enqueue_job(&NewJob::new("quiet", "slow", serde_json::json!({}), at), at)
        .unwrap()
        .id;
    wait_until("quiet's job started", Duration::from_secs(10), || {
        started.lock().unwrap().contains_key(&quiet)
    });
    let waited = started.lock().unwrap()[&quiet] - queued;
    let busy_done = started.lock().unwrap().len() - 1;
    pool.stop();
    assert!(
        waited < Duration::from_millis(500),
        "quiet's job waited {waited:?} behind busy's backlog"
    );
    assert!(
        busy_done < 300,
        "busy's backlog ran first ({busy_done} jobs)"
    );
    assert_eq!(most.lock().unwrap()["busy"], 2, "busy held every worker");
}

on_both!(one_org_cannot_starve_another);

fn dead_pool_loses_its_job(db: Db) {
    let mut s = Store::open(&db.url).unwrap();
    let id = s
        .enqueue_job(
            &NewJob::new("acme", "count", serde_json::json!({}), now()),
            now(),
        )
        .unwrap()
        .id;
    // A pool claims it and dies: nobody heartbeats its one-second lease.
    let ghost = s
        .claim_jobs("ghost", 1, now(), later(now(), Duration::from_secs(1)))
        .unwrap();
    assert_eq!(ghost[0].attempt, 1);
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let pool = WorkerPool::start(
        config(
            &db,
            1,
            Duration::from_millis(100),
            Duration::from_secs(1),
            Duration::from_secs(5),
        ),
        counting(runs.clone()),
        Arc::new(Services::new()),
    )
    .unwrap();
    wait_until(
        "the job runs in the live pool",
        Duration::from_secs(20),
        || runs.lock().unwrap().get(&id) == Some(&1),
    );
    pool.stop();
    let r = s.job_record("acme", id).unwrap().unwrap();
    assert_eq!((r.state, r.job.attempt), (JobState::Done, 2));
    // The ghost comes back: nothing it says counts.
    assert!(!s.complete_job(id, "ghost", now()).unwrap());
}

on_both!(dead_pool_loses_its_job);

fn graceful_stop(db: Db) {
    let mut s = Store::open(&db.url).unwrap();
    let gate = Arc::new(AtomicBool::new(false));
    let mut handlers = JobHandlers::new();
    handlers.register(
        "short",
        Arc::new(|_: &Services, _: &mut Store, _: &Job, _| {
            std::thread::sleep(Duration::from_millis(300));
            JobOutcome::Done
        }),
    );
    let held = gate.clone();
    handlers.register(
        "stuck",
        Arc::new(move |_: &Services, _: &mut Store, _: &Job, _| {
            // Bounded: until the test opens the gate, at most 30 s.
            for _ in 0..3_000 {
                if held.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            JobOutcome::Done
        }),
    );
    let poll = Duration::from_millis(100);
    let lease = Duration::from_secs(30);

    // Short jobs finish within the grace period.
    let pool = WorkerPool::start(
        config(&db, 1, poll, lease, Duration::from_secs(5)),
        handlers.clone(),
        Arc::new(Services::new()),
    )
    .unwrap();
    let short = s
        .enqueue_job(
            &NewJob::new("acme", "short", serde_json::json!({}), now()),
            now(),
        )
        .unwrap()
        .id;
    wait_until("the short job runs", Duration::from_secs(10), || {
        pool.running() == 1
    });
    let stopped = pool.stop();
    assert!(stopped.drained);
    assert_eq!(stopped.released, 0);
    assert_eq!(state(&mut s, short), JobState::Done);

    // A job still running when the grace period ends is released: available at once, its
    // attempt not counted.
    let pool = WorkerPool::start(
        config(&db, 1, poll, lease, Duration::from_millis(200)),
        handlers.clone(),
        Arc::new(Services::new()),
    )
    .unwrap();
    let stuck = s
        .enqueue_job(
            &NewJob::new("acme", "stuck", serde_json::json!({}), now()),
            now(),
        )
        .unwrap()
        .id;
    wait_until("the stuck job runs", Duration::from_secs(10), || {
        pool.running() == 1
    });
    let stopped = pool.stop();
    assert!(!stopped.drained);
    assert_eq!(stopped.released, 1);
    let r = s.job_record("acme", stuck).unwrap().unwrap();
    assert_eq!(
        (r.state, r.job.attempt, r.locked_by),
        (JobState::Available, 0, None)
    );
    // The handler left behind finishes: its outcome is not recorded (the pool let go).
    gate.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(state(&mut s, stuck), JobState::Available);
    // Another pool runs it.
    let pool = WorkerPool::start(
        config(&db, 1, poll, lease, Duration::from_secs(5)),
        handlers,
        Arc::new(Services::new()),
    )
    .unwrap();
    wait_until(
        "the released job runs again",
        Duration::from_secs(10),
        || state(&mut s, stuck) == JobState::Done,
    );
    pool.stop();
}

on_both!(graceful_stop);

/// The API's `backgroundJobs`, `retryJob` and `cancelJob`: admins of the org only; another
/// org's job does not exist for them.
#[test]
fn the_api_is_for_admins_of_the_org() {
    let db = common::sqlite_db();
    let tokens = common::generated_org(&db, "wa", 40, 3, &["admin", "recruiter"]);
    common::generated_org(&db, "wb", 20, 4, &["admin"]);
    let mut s = Store::open(&db.url).unwrap();
    let t = now();
    let mut dead = NewJob::new("wa", "mail", serde_json::json!({"to": "x"}), t);
    dead.max_attempts = 1;
    let dead = s.enqueue_job(&dead, t).unwrap().id;
    s.claim_jobs("p", 1, t, later(t, Duration::from_secs(60)))
        .unwrap();
    s.fail_job(dead, "p", "550 mailbox unavailable", Some(t), t)
        .unwrap();
    let theirs = s
        .enqueue_job(&NewJob::new("wb", "mail", serde_json::json!({}), t), t)
        .unwrap()
        .id;
    let settings = server::Settings {
        database: db.url.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..server::Settings::default()
    };
    let server = common::Server::start(settings);
    let ask = |role: &str, query: &str| -> serde_json::Value {
        let token = &tokens.iter().find(|r| r.role == role).unwrap().token;
        let mut resp = server
            .agent
            .post(format!("{}/graphql", server.base))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(serde_json::json!({ "query": query }))
            .unwrap();
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    };
    let code = |v: &serde_json::Value| v["errors"][0]["extensions"]["code"].clone();
    let list = "{ backgroundJobs(state: \"dead\") { nodes { id kind state lastError } pageInfo { endCursor } } }";
    let v = ask("admin", list);
    let nodes = &v["data"]["backgroundJobs"]["nodes"];
    assert_eq!(nodes[0]["id"], dead.to_string(), "{v}");
    assert_eq!(nodes[0]["lastError"], "550 mailbox unavailable");
    assert_eq!(code(&ask("recruiter", list)), "FORBIDDEN");
    let retry = format!("mutation {{ retryJob(id: \"{dead}\") {{ state attempt }} }}");
    assert_eq!(code(&ask("recruiter", &retry)), "FORBIDDEN");
    let v = ask("admin", &retry);
    assert_eq!(v["data"]["retryJob"]["state"], "available", "{v}");
    assert_eq!(code(&ask("admin", &retry)), "CONFLICT");
    let cancel = format!("mutation {{ cancelJob(id: \"{theirs}\") {{ state }} }}");
    assert_eq!(code(&ask("admin", &cancel)), "NOT_FOUND");
    assert_eq!(state_of(&mut s, "wb", theirs), JobState::Available);
    let v = ask(
        "admin",
        "{ backgroundJobs(state: \"nope\") { nodes { id } } }",
    );
    assert_eq!(code(&v), "BAD_USER_INPUT");
}

fn state_of(s: &mut Store, org: &str, id: i64) -> JobState {
    s.job_record(org, id).unwrap().unwrap().state
}

/// `serve` with handlers runs a pool (`workflow.workers`), and its stop stops the pool.
#[test]
fn serve_runs_a_pool() {
    let db = common::sqlite_db();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut settings = server::Settings {
        database: db.url.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..server::Settings::default()
    };
    settings.workflow.workers = 1;
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let running = rt
        .block_on(server::start_with_jobs(
            settings,
            counting(runs.clone()),
            false,
        ))
        .unwrap();
    let mut s = Store::open(&db.url).unwrap();
    let id = s
        .enqueue_job(
            &NewJob::new("acme", "count", serde_json::json!({}), now()),
            now(),
        )
        .unwrap()
        .id;
    wait_until("the job runs inside serve", Duration::from_secs(20), || {
        runs.lock().unwrap().get(&id) == Some(&1)
    });
    rt.block_on(running.stop()).unwrap();
    assert_eq!(state(&mut s, id), JobState::Done);
    // Stopped: a job enqueued now stays.
    let later_one = s
        .enqueue_job(
            &NewJob::new("acme", "count", serde_json::json!({}), now()),
            now(),
        )
        .unwrap()
        .id;
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(state(&mut s, later_one), JobState::Available);
}
