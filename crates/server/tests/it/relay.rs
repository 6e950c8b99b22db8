//! The outbox relay against a real NATS server with JetStream (a private one per test, see
//! `common/nats.rs`), on both stores: every event published once, in each org's order, with its
//! id as `Nats-Msg-Id`; two relays on one database; NATS down and back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
#[path = "../common/nats.rs"]
mod nats;

/// `common::on_both!`, for tests that also need a NATS server.
macro_rules! on_both_with_nats {
    ($name:ident) => {
        mod $name {
            #[test]
            #[cfg_attr(
                not(hp_nats),
                ignore = "set HIREPLANE_TEST_NATS_SERVER (the nats-server binary) to run"
            )]
            fn on_sqlite() {
                super::$name($crate::common::sqlite_db());
            }

            #[test]
            #[cfg_attr(
                not(all(hp_postgres, hp_nats)),
                ignore = "set HIREPLANE_TEST_POSTGRES and HIREPLANE_TEST_NATS_SERVER (nats-server) to run"
            )]
            fn on_postgres() {
                super::$name($crate::common::postgres_db());
            }
        }
    };
}

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::Db;
use nats::Nats;
use serde_json::json;
use server::relay::{Relay, RelayConfig};

const STREAM: &str = "HIREPLANE_EVENTS";

/// The relay's gauges are the process's (one relay per process in production): the tests of
/// this file, which run relays in one process, take turns so that each reads its own.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

fn config(db: &Db, nats: &Nats, holder: &str) -> RelayConfig {
    let mut settings = server::settings::EventSettings::default();
    settings.nats.url = nats.url();
    settings.nats.ack_timeout_ms = 1_000;
    settings.nats.batch = 50;
    RelayConfig::from_settings(&db.url, &settings, holder).unwrap()
}

/// Creates `n` candidates in org `org` of store `url`, one command (and one event) each.
fn candidates(url: &str, org: &str, n: usize) {
    let mut store = store::Store::open(url).unwrap();
    for i in 0..n {
        store
            .acting_as(None, now())
            .create_candidate(
                org,
                store::NewCandidate {
                    id: None,
                    name: format!("Candidate {i}"),
                    email: None,
                    phone: None,
                    location: None,
                    timezone: None,
                    tags: Vec::new(),
                    custom_fields: serde_json::Map::new(),
                    demographics: None,
                    at: now(),
                },
            )
            .unwrap();
    }
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every event of the outbox of `orgs`, by org, in `seq` order.
fn outbox(db: &Db, orgs: &[&str]) -> HashMap<String, Vec<store::OutboxEvent>> {
    let mut store = store::Store::open(&db.url).unwrap();
    orgs.iter()
        .map(|org| {
            let query = store::EventQuery {
                after_seq: 0,
                types: Vec::new(),
                limit: 100_000,
            };
            ((*org).to_owned(), store.outbox_events(org, &query).unwrap())
        })
        .collect()
}

/// The stream holds each outbox event once, with its id as `Nats-Msg-Id`, its CloudEvent as
/// payload, on its org's subject, and each org's events in `seq` order; and every outbox event
/// is marked published.
fn check_stream(nats: &Nats, db: &Db, orgs: &[(&str, &str)]) -> usize {
    let names: Vec<&str> = orgs.iter().map(|(o, _)| *o).collect();
    let outbox = outbox(db, &names);
    let messages = nats.messages(STREAM);
    let ids: HashSet<&str> = messages.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), messages.len(), "an event was published twice");
    let total: usize = outbox.values().map(Vec::len).sum();
    assert_eq!(messages.len(), total, "stream and outbox differ");
    for (org, token) in orgs {
        let events = &outbox[*org];
        let published: Vec<_> = messages
            .iter()
            .filter(|(_, _, p)| p["orgid"] == json!(org))
            .collect();
        assert_eq!(published.len(), events.len(), "org `{org}`");
        for (e, (subject, id, payload)) in events.iter().zip(&published) {
            assert_eq!(id, &e.id, "org `{org}`: out of order at seq {}", e.seq);
            assert_eq!(payload, &e.cloudevent());
            assert_eq!(
                subject,
                &format!(
                    "hireplane.{token}.{}",
                    e.event_type.trim_start_matches("hireplane.")
                )
            );
            assert!(e.published_at.is_some(), "seq {} not marked", e.seq);
        }
    }
    total
}

fn relay_publishes_each_event_once_in_order(db: Db) {
    let _turn = one_at_a_time();
    let (a, b) = ("relay_a", "relay-b");
    common::generated_org(&db, a, 5, 1, &[]);
    common::generated_org(&db, b, 5, 2, &[]);
    candidates(&db.url, a, 30);
    candidates(&db.url, b, 20);
    let nats = Nats::start();
    // What was committed before the relay started (the import made none) is published.
    let relay = Relay::start(config(&db, &nats, "r1")).unwrap();
    wait_until("the backlog published", Duration::from_secs(20), || {
        relay.status().published.load(Ordering::Relaxed) == 50
    });
    candidates(&db.url, a, 25);
    wait_until("the new events published", Duration::from_secs(20), || {
        relay.status().published.load(Ordering::Relaxed) == 75
            && relay.status().lag_events.load(Ordering::Relaxed) == 0
    });
    let orgs = [(a, "relay_a"), (b, "relay-b")];
    assert_eq!(check_stream(&nats, &db, &orgs), 75);
    let detail = relay.status().detail();
    assert!(detail.starts_with("events relay: publishing"), "{detail}");
    relay.stop();

    // A relay started again publishes nothing twice: the cursor says where it stopped.
    let again = Relay::start(config(&db, &nats, "r2")).unwrap();
    candidates(&db.url, b, 3);
    wait_until("the new events published", Duration::from_secs(20), || {
        again.status().published.load(Ordering::Relaxed) == 3
    });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(again.status().published.load(Ordering::Relaxed), 3);
    again.stop();
    assert_eq!(check_stream(&nats, &db, &orgs), 78);
}

on_both_with_nats!(relay_publishes_each_event_once_in_order);

/// Two relays (two replicas) on one PostgreSQL database while four writers commit: each event is
/// published by one of them, once (their counts add up to the events: JetStream's
/// de-duplication is not what keeps the stream clean), and when one stops the other takes its
/// partitions over.
#[test]
#[cfg_attr(
    not(all(hp_postgres, hp_nats)),
    ignore = "set HIREPLANE_TEST_POSTGRES and HIREPLANE_TEST_NATS_SERVER (nats-server) to run"
)]
fn two_relays_publish_each_event_once() {
    let _turn = one_at_a_time();
    let db = common::postgres_db();
    let orgs = ["two_a", "two_b", "two_c", "two_d"];
    for (i, org) in orgs.iter().enumerate() {
        common::generated_org(&db, org, 5, i as u64, &[]);
    }
    let nats = Nats::start();
    let first = Relay::start(config(&db, &nats, "first")).unwrap();
    let second = Relay::start(config(&db, &nats, "second")).unwrap();
    let writers: Vec<_> = orgs
        .iter()
        .map(|org| {
            let (url, org) = (db.url.clone(), (*org).to_owned());
            std::thread::spawn(move || candidates(&url, &org, 60))
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let published = |r: &Relay| r.status().published.load(Ordering::Relaxed);
    wait_until("every event published", Duration::from_secs(30), || {
        published(&first) + published(&second) >= 240
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(published(&first) + published(&second), 240);
    let held = |r: &Relay| r.status().partitions_held.load(Ordering::Relaxed);
    assert_eq!(held(&first) + held(&second), 16);
    let tokens: Vec<(&str, &str)> = orgs.iter().map(|o| (*o, *o)).collect();
    assert_eq!(check_stream(&nats, &db, &tokens), 240);

    // The first stops (gives its partitions up): the second takes them within a second or two.
    let before = published(&second);
    first.stop();
    wait_until(
        "the second relay holds every partition",
        Duration::from_secs(5),
        || held(&second) == 16,
    );
    for org in orgs {
        candidates(&db.url, org, 5);
    }
    wait_until(
        "the second relay published the rest",
        Duration::from_secs(20),
        || published(&second) == before + 20,
    );
    second.stop();
    assert_eq!(check_stream(&nats, &db, &tokens), 260);
}

/// NATS stopped while the API takes changes: the API keeps answering, the backlog grows and
/// shows in `/readyz` and the metrics, and when NATS is back the relay catches up with no event
/// lost or published twice. `HIREPLANE_TEST_NATS_OUTAGE_S` sets the outage (default 3 s).
fn nats_down_then_back(db: Db) {
    let _turn = one_at_a_time();
    let org = "outage";
    let admin = common::generated_org(&db, org, 5, 3, &["admin"]).remove(0);
    let mut nats = Nats::start();
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.limits.rate_per_second = 0;
    settings.events.nats.url = nats.url();
    settings.events.nats.ack_timeout_ms = 500;
    let server = common::Server::start(settings);
    let create = |i: usize| {
        let started = Instant::now();
        let mut r = server
            .agent
            .post(format!("{}/graphql", server.base))
            .header("Authorization", format!("Bearer {}", admin.token))
            .send_json(json!({"query": format!(
                r#"mutation {{ createCandidate(input: {{name: "Outage {i}"}}) {{ id }} }}"#
            )}))
            .unwrap();
        let body: serde_json::Value =
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert!(body["data"]["createCandidate"]["id"].is_string(), "{body}");
        started.elapsed()
    };
    let get = |path: &str| {
        let mut r = server
            .agent
            .get(format!("{}{path}", server.base))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    for i in 0..10 {
        create(i);
    }
    wait_until(
        "the first events published",
        Duration::from_secs(20),
        || {
            get("/readyz")
                .1
                .contains("relay: publishing, 16 partition(s) held, 0 event(s) behind")
        },
    );

    nats.stop();
    let outage = Duration::from_secs(
        std::env::var("HIREPLANE_TEST_NATS_OUTAGE_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3),
    );
    let started = Instant::now();
    let mut during = 0;
    let mut slowest = Duration::ZERO;
    while started.elapsed() < outage || during < 40 {
        slowest = slowest.max(create(10 + during));
        during += 1;
    }
    // Mutations do not wait for NATS.
    assert!(
        slowest < Duration::from_secs(2),
        "a mutation took {slowest:?}"
    );
    let lag_shows = format!("{during} event(s) behind");
    let started = Instant::now();
    loop {
        let (status, body) = get("/readyz");
        if status == 200 && body.contains("not publishing") && body.contains(&lag_shows) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the lag does not show {lag_shows}: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let metrics = get("/metrics").1;
    assert!(
        metrics.contains(&format!("hireplane_outbox_lag_events {during}")),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("outbox"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    nats.restart();
    let back = Instant::now();
    wait_until("the relay caught up", Duration::from_secs(30), || {
        get("/readyz")
            .1
            .contains("relay: publishing, 16 partition(s) held, 0 event(s) behind")
    });
    eprintln!(
        "{during} mutations during a {outage:?} outage (slowest {slowest:?}); caught up {:?} after NATS came back",
        back.elapsed()
    );
    assert_eq!(check_stream(&nats, &db, &[(org, org)]), 10 + during);
}

on_both_with_nats!(nats_down_then_back);
