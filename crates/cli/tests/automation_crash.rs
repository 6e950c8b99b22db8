//! Crash safety of the workflow engine (issue 19): `hireplane worker` processes on PostgreSQL,
//! running automation rules with effects inside (moving applications) and outside (webhooks to
//! a real HTTP receiver that answers slowly), are killed with SIGKILL at random points while
//! changes keep coming, again and again. Afterwards, once a last worker has drained the queue:
//! - no job is lost: every new application was moved by its rule, and every move reached the
//!   webhook receiver; no job is dead;
//! - no effect happened twice: each application was moved exactly once (one stage transition
//!   after its first), and the receiver, counting by `webhook-id`, took each move's webhook
//!   once (a delivery repeated after a kill carries the same id, and is counted as one);
//! - each rule recorded one run per event.
//!
//! `HIREPLANE_CRASH_RUNS` sets the number of kills (default 100).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ORG: &str = "wfcrash";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A fresh database on the test server; dropped afterwards.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create() -> Database {
        let admin = std::env::var("HIREPLANE_TEST_POSTGRES").unwrap();
        let name = format!("hp_wfcrash_{}", std::process::id());
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = &admin[..admin.rfind('/').unwrap()];
        Database {
            url: format!("{base}/{name}"),
            admin,
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// xorshift64*: the kills' random points (no dependency for a test's dice).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A webhook receiver counting deliveries by `webhook-id`; it answers after 0 to 40 ms, so
/// that kills land while calls are in flight.
fn receiver() -> (String, Arc<Mutex<HashMap<String, u32>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let record = got.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut dice = Dice(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1));
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut id = None;
                    let mut length = 0;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap();
                        match k.trim().to_ascii_lowercase().as_str() {
                            "webhook-id" => id = Some(v.trim().to_owned()),
                            "content-length" => length = v.trim().parse().unwrap(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    // Applied (counted) before the answer, which takes up to 40 ms: a worker
                    // killed before it reads the answer sends the same id again.
                    *record.lock().unwrap().entry(id.unwrap()).or_default() += 1;
                    std::thread::sleep(Duration::from_millis(dice.below(40)));
                    if stream
                        .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, got)
}

fn worker(database: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hireplane"))
        .args(["--database", database, "worker", "--workers", "2"])
        .env("HIREPLANE_WORKFLOW__LEASE_S", "1")
        .env("HIREPLANE_WORKFLOW__POLL_MS", "50")
        .env("HIREPLANE_WORKFLOW__DISPATCH_POLL_MS", "10")
        .env("HIREPLANE_WORKFLOW__DISPATCH_LEASE_S", "1")
        .env("HIREPLANE_WORKFLOW__CALLS__TIMEOUT_MS", "2000")
        .env("HIREPLANE_WORKFLOW__CALLS__ALLOW_PRIVATE_NETWORKS", "true")
        .env("HIREPLANE_LOG_LEVEL", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

/// Ids the first column of `report` lists, as the org's admin.
fn ids(
    store: &mut store::Store,
    services: &app::Services,
    admin: &str,
    report: &str,
) -> Vec<String> {
    services
        .run_report(
            store,
            ORG,
            admin,
            &query_syntax::parse(report).unwrap(),
            jiff::civil::date(2026, 1, 1),
            now(),
        )
        .unwrap()
        .rows
        .rows
        .iter()
        .map(|r| r[0].to_json().as_str().unwrap().to_owned())
        .collect()
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn killed_workers_lose_no_job_and_apply_no_effect_twice() {
    let runs: u32 = std::env::var("HIREPLANE_CRASH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let db = Database::create();
    let dir = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: ORG.into(),
            applications: 30,
            seed: 5,
        },
        dir.path(),
    )
    .unwrap();
    let mut store = store::Store::open(&db.url).unwrap();
    store
        .import(dir.path(), store::ImportOptions::default(), &mut |_| {})
        .unwrap();
    let services = app::Services::new();
    let admin_id = store
        .active_users(ORG)
        .unwrap()
        .into_iter()
        .find(|u| u.role == "admin")
        .unwrap()
        .id;
    let admin = services.access(&mut store, ORG, &admin_id).unwrap();
    let job = ids(
        &mut store,
        &services,
        &admin_id,
        "report jobs where status = \"open\" show id",
    )[0]
    .clone();
    let stages = ids(
        &mut store,
        &services,
        &admin_id,
        &format!("report stages where job.id = \"{job}\" where kind != \"hired\" show id"),
    );
    let (url, received) = receiver();
    let save = |store: &mut store::Store, definition: String| {
        services
            .save_rule(
                store,
                &admin,
                app::automation::SaveRule {
                    id: None,
                    expected_version: None,
                    definition,
                    reason: "crash test".to_owned(),
                    token: None,
                },
                now(),
            )
            .unwrap()
            .id
    };
    let mover = save(
        &mut store,
        format!(
            r#"{{"name": "screen new applications", "when": "application.created", "then": [{{"do": "move", "to_stage": "{}"}}]}}"#,
            stages[1]
        ),
    );
    let hook = save(
        &mut store,
        format!(
            r#"{{"name": "tell the ATS bridge", "when": "application.moved", "then": [{{"do": "webhook", "url": "{url}", "secret": "{SECRET}"}}]}}"#
        ),
    );

    let mut dice = Dice(u64::from(std::process::id()) | 1);
    let mut applications: Vec<String> = Vec::new();
    let create = |store: &mut store::Store, n: usize| {
        let candidate = services
            .create_candidate(
                store,
                &admin,
                app::hiring::CreateCandidate {
                    name: format!("Crash {n}"),
                    email: None,
                    phone: None,
                    location: None,
                    timezone: None,
                    tags: Vec::new(),
                    custom_fields: serde_json::Map::new(),
                    job_id: Some(domain::Id::parse(job.clone()).unwrap()),
                    source_id: None,
                },
                now(),
            )
            .unwrap();
        candidate.to_string()
    };
    let mut candidates = Vec::new();
    for run in 0..runs {
        for _ in 0..3 {
            candidates.push(create(&mut store, candidates.len()));
        }
        let mut child = worker(&db.url);
        std::thread::sleep(Duration::from_millis(100 + dice.below(500)));
        if run % 10 == 0 {
            // Changes also arrive while workers run.
            candidates.push(create(&mut store, candidates.len()));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    for c in &candidates {
        let a = ids(
            &mut store,
            &services,
            &admin_id,
            &format!("report applications where candidate.id = \"{c}\" show id"),
        );
        applications.push(a[0].clone());
    }

    // A last worker drains what the killed ones left (their leases expire first).
    let mut child = worker(&db.url);
    let started = Instant::now();
    let moved_events = |store: &mut store::Store| -> Vec<store::OutboxEvent> {
        store
            .outbox_events(
                ORG,
                &store::EventQuery {
                    after_seq: 0,
                    types: vec!["hireplane.application.moved.v1".to_owned()],
                    limit: 100_000,
                },
            )
            .unwrap()
    };
    loop {
        let counts = store.job_counts(Some(ORG)).unwrap();
        let pending: u64 = counts
            .iter()
            .filter(|(s, _)| {
                matches!(
                    s,
                    store::jobs::JobState::Available | store::jobs::JobState::Running
                )
            })
            .map(|(_, n)| n)
            .sum();
        let delivered = received.lock().unwrap().len();
        if pending == 0
            && delivered >= applications.len()
            && store.automation_backlog().unwrap().is_empty()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "not drained: {counts:?}, {delivered} of {} webhooks",
            applications.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // No job lost or dead.
    let counts = store.job_counts(Some(ORG)).unwrap();
    assert!(
        counts
            .iter()
            .all(|(s, n)| *s != store::jobs::JobState::Dead || *n == 0),
        "{counts:?}"
    );
    // Each application moved exactly once.
    for a in &applications {
        let transitions = ids(
            &mut store,
            &services,
            &admin_id,
            &format!("report stage_transitions where application.id = \"{a}\" show id"),
        );
        assert_eq!(transitions.len(), 2, "application {a}: {transitions:?}");
    }
    // Each move's webhook taken once, by its id.
    let moves = moved_events(&mut store);
    assert_eq!(moves.len(), applications.len());
    let got = received.lock().unwrap().clone();
    let expected: HashSet<String> = moves
        .iter()
        .map(|e| format!("msg_{hook}.{}.0", e.id))
        .collect();
    let delivered: HashSet<String> = got.keys().cloned().collect();
    assert_eq!(
        delivered, expected,
        "webhook ids delivered against the moves"
    );
    let repeated: u32 = got.values().map(|n| n - 1).sum();
    // One run recorded per rule and event.
    let mut runs_of = |rule: &str| store.rule_runs(ORG, Some(rule), 100_000).unwrap();
    let mover_runs = runs_of(&mover);
    let hook_runs = runs_of(&hook);
    assert_eq!(mover_runs.len(), applications.len());
    assert_eq!(hook_runs.len(), applications.len());
    assert!(
        mover_runs
            .iter()
            .chain(&hook_runs)
            .all(|r| r.outcome == "fired")
    );
    eprintln!(
        "{runs} kills: {} applications moved once each, {} webhooks taken once each ({repeated} deliveries repeated after a kill, same id), no job dead",
        applications.len(),
        delivered.len()
    );
}
