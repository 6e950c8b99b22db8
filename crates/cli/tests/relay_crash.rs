//! Crash safety of the domain events (issue 18): `hireplane serve` on PostgreSQL, with its outbox
//! relay publishing to NATS JetStream, is killed with SIGKILL at random points while clients
//! send mutations (some refused), again and again. Afterwards:
//! - every committed change has exactly one event in the outbox (each stage transition one
//!   `application.moved` event naming it), and none exists for a refused or rolled-back one;
//! - every event reaches the stream exactly once (JetStream drops the batches a killed relay
//!   had published without marking them, by `Nats-Msg-Id`), in the org's commit order.
//!
//! `HIREPLANE_CRASH_RUNS` sets the number of kills (default 100).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../server/tests/common/nats.rs"]
mod nats;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ORG: &str = "crash";

fn hireplane(database: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hireplane"))
        .arg("--database")
        .arg(database)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hireplane {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A fresh database on the test server; dropped afterwards.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create() -> Database {
        let admin = std::env::var("HIREPLANE_TEST_POSTGRES").unwrap();
        let name = format!("hp_crashtest_{}", std::process::id());
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

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `hireplane serve` on `port` with the relay to `nats`.
fn serve(db: &Database, nats: &nats::Nats, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hireplane"))
        .args(["--database", &db.url, "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("HIREPLANE_EVENTS__NATS__URL", nats.url())
        .env("HIREPLANE_LIMITS__RATE_PER_SECOND", "0")
        .env("HIREPLANE_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build(),
    )
}

/// `/readyz`'s answer, when it answers 200.
fn ready(agent: &ureq::Agent, port: u16) -> Option<String> {
    let mut r = agent
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .call()
        .ok()?;
    (r.status() == 200).then(|| r.body_mut().read_to_string().ok())?
}

fn wait_ready(agent: &ureq::Agent, port: u16) {
    let started = Instant::now();
    while ready(agent, port).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
#[cfg_attr(
    not(all(hp_postgres, hp_nats)),
    ignore = "set HIREPLANE_TEST_POSTGRES and HIREPLANE_TEST_NATS_SERVER (nats-server) to run"
)]
fn killed_servers_lose_no_event_and_publish_each_once_in_order() {
    let runs: u32 = std::env::var("HIREPLANE_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let db = Database::create();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("org");
    let folder = folder.to_str().unwrap();
    hireplane(
        &db.url,
        &[
            "generate",
            "--org-id",
            ORG,
            "--applications",
            "2000",
            "--seed",
            "11",
            folder,
        ],
    );
    hireplane(&db.url, &["import", folder]);
    let mut client = db.client();
    let admin: String = client
        .query_one(
            "SELECT id FROM users WHERE org_id = $1 AND role = 'admin' AND active ORDER BY id LIMIT 1",
            &[&ORG],
        )
        .unwrap()
        .get(0);
    let token = hireplane(
        &db.url,
        &["token", "create", "--org", ORG, "--user", &admin],
    )
    .trim()
    .to_owned();
    // Active applications and the stages of their jobs (lead and hired excluded: a move there
    // is refused or is a hire), and a stage of another job for refused moves.
    let mut stages: HashMap<String, Vec<String>> = HashMap::new();
    for r in client
        .query(
            "SELECT job_id, id FROM stages WHERE org_id = $1 AND kind NOT IN ('lead', 'hired')",
            &[&ORG],
        )
        .unwrap()
    {
        stages.entry(r.get(0)).or_default().push(r.get(1));
    }
    let applications: Vec<(String, String)> = client
        .query(
            "SELECT id, job_id FROM applications WHERE org_id = $1 AND status = 'active' ORDER BY id",
            &[&ORG],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .filter(|(_, job): &(String, String)| stages.get(job).is_some_and(|s| s.len() >= 2))
        .collect();
    assert!(applications.len() >= 10, "{}", applications.len());
    let transition_ids = |client: &mut postgres::Client| -> HashSet<String> {
        client
            .query(
                "SELECT id FROM stage_transitions WHERE org_id = $1",
                &[&ORG],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let imported = transition_ids(&mut client);
    let nats = nats::Nats::start();
    let agent = agent();
    let (sent, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let work = Arc::new((applications, stages));
    for run in 0..runs {
        let port = free_port();
        let mut child = serve(&db, &nats, port);
        wait_ready(&agent, port);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..3u64)
            .map(|c| {
                let (stop, work, token, agent) =
                    (stop.clone(), work.clone(), token.clone(), agent.clone());
                let (sent, refused) = (sent.clone(), refused.clone());
                std::thread::spawn(move || {
                    let mut i = u64::from(run) * 7919 + c * 104_729;
                    while !stop.load(Ordering::Relaxed) {
                        i = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        let (apps, stages) = (&work.0, &work.1);
                        let (app, job) = &apps[(i >> 33) as usize % apps.len()];
                        let own = &stages[job];
                        // One move in ten to another job's stage: refused, so no event.
                        let stage = if (i >> 20) % 10 == 0 {
                            let other = stages.iter().find(|(j, _)| *j != job).unwrap().1;
                            &other[0]
                        } else {
                            &own[(i >> 40) as usize % own.len()]
                        };
                        let query = format!(
                            r#"mutation {{ moveApplication(input: {{applicationId: "{app}", toStageId: "{stage}"}}) {{ id }} }}"#
                        );
                        let answer = agent
                            .post(format!("http://127.0.0.1:{port}/graphql"))
                            .header("Authorization", format!("Bearer {token}"))
                            .send_json(serde_json::json!({ "query": query }));
                        match answer {
                            Ok(mut r) => {
                                sent.fetch_add(1, Ordering::Relaxed);
                                let body = r.body_mut().read_to_string().unwrap_or_default();
                                if body.contains("\"errors\"") {
                                    refused.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            Err(_) => break, // the server is gone
                        }
                    }
                })
            })
            .collect();
        // Kill at a random point: 100 to 900 ms into the load.
        let wait = 100 + (u64::from(run) * 2_654_435_761) % 800;
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
    }
    assert!(
        sent.load(Ordering::Relaxed) > u64::from(runs) * 5,
        "too little load"
    );
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "no refused move was tried"
    );

    // A last server drains what the killed ones left.
    let port = free_port();
    let mut child = serve(&db, &nats, port);
    wait_ready(&agent, port);
    let started = Instant::now();
    loop {
        let detail = ready(&agent, port).unwrap_or_default();
        if detail.contains("relay: publishing, 16 partition(s) held, 0 event(s) behind") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the relay did not catch up: {detail}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // Every committed move has exactly one event, and every event one committed move.
    let transitions: HashSet<String> = transition_ids(&mut client)
        .difference(&imported)
        .cloned()
        .collect();
    let events = client
        .query(
            "SELECT seq, id, type, data::text, published_at IS NOT NULL FROM outbox WHERE org_id = $1 ORDER BY seq",
            &[&ORG],
        )
        .unwrap();
    let mut moved = Vec::new();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.get::<_, i64>(0),
            i as i64 + 1,
            "the org's sequence has a gap"
        );
        assert!(
            e.get::<_, bool>(4),
            "event {} was not marked published",
            e.get::<_, i64>(0)
        );
        let ty: String = e.get(2);
        assert_eq!(ty, "hireplane.application.moved.v1");
        let data: serde_json::Value = serde_json::from_str(&e.get::<_, String>(3)).unwrap();
        moved.push(data["transition_id"].as_str().unwrap().to_owned());
    }
    let distinct: HashSet<String> = moved.iter().cloned().collect();
    assert_eq!(distinct.len(), moved.len(), "a change has two events");
    assert_eq!(distinct, transitions, "committed changes and events differ");
    assert!(
        transitions.len() >= runs as usize,
        "too few committed moves: {} ({} sent, {} refused)",
        transitions.len(),
        sent.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );

    // Every event reached the stream once, in the org's order.
    let messages = nats.messages("HIREPLANE_EVENTS");
    let ids: Vec<String> = events.iter().map(|e| e.get(1)).collect();
    let published: Vec<String> = messages.iter().map(|(_, id, _)| id.clone()).collect();
    assert_eq!(
        published, ids,
        "the stream is not the outbox, once each, in order"
    );
    for (subject, id, payload) in &messages {
        assert_eq!(subject, "hireplane.crash.application.moved.v1");
        assert_eq!(payload["id"], serde_json::json!(id));
    }
    eprintln!(
        "{runs} kills: {} moves sent ({} refused), {} committed, {} events published once each",
        sent.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        transitions.len(),
        messages.len()
    );
}
