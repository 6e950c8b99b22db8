//! Automation rules end to end, on SQLite and (with `HIREPLANE_TEST_POSTGRES`) PostgreSQL: a
//! server with job workers, rules saved through the API, applications moved through the API,
//! and a real HTTP receiver of the rules' webhooks. Checked: every move reaches its rule's
//! webhook once, signed per Standard Webhooks over the exact bytes received, with one
//! `webhook-id` per (rule, event); a rule owned by a hiring manager fires only for the
//! applications they may see, and a false condition fires nothing (both recorded
//! with the reason in `automationRuns`); a receiver answering 503 gets the same `webhook-id`
//! again until it takes it; the destination's breaker state reaches the store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Db;
use serde_json::{Value, json};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// A real HTTP receiver on 127.0.0.1: records every request; the first `fail_first` answered
/// 503 (with `Retry-After: 0`), the rest 204.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(fail_first: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = Arc::new(AtomicUsize::new(0));
        let record = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let record = record.clone();
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                        let mut headers = HashMap::new();
                        loop {
                            let mut h = String::new();
                            reader.read_line(&mut h).unwrap();
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            let (k, v) = h.split_once(':').unwrap();
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                        }
                        let n: usize = headers
                            .get("content-length")
                            .map_or(0, |v| v.parse().unwrap());
                        let mut body = vec![0; n];
                        reader.read_exact(&mut body).unwrap();
                        let nth = seen.fetch_add(1, Ordering::SeqCst);
                        record.lock().unwrap().push(Received {
                            path,
                            headers,
                            body: String::from_utf8(body).unwrap(),
                        });
                        let answer = if nth < fail_first {
                            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
                        } else {
                            "HTTP/1.1 204 No Content\r\n\r\n"
                        };
                        if stream.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Receiver { url, got }
    }

    fn at(&self, path: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

struct Api {
    rt: tokio::runtime::Runtime,
    running: Option<server::Running>,
    base: String,
    agent: ureq::Agent,
}

impl Api {
    fn start(db: &Db) -> Api {
        Api::start_with(db, |_| {})
    }

    fn start_with(db: &Db, tune: impl FnOnce(&mut server::Settings)) -> Api {
        let mut settings = server::Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: db.url.clone(),
            ..server::Settings::default()
        };
        settings.limits.rate_per_second = 0;
        settings.workflow.workers = 2;
        settings.workflow.poll_ms = 100;
        settings.workflow.dispatch_poll_ms = 20;
        settings.workflow.calls.timeout_ms = 2_000;
        // The receivers are on this machine.
        settings.workflow.calls.allow_private_networks = true;
        tune(&mut settings);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt
            .block_on(server::start_with_jobs(
                settings,
                app::jobs::JobHandlers::new(),
                false,
            ))
            .unwrap();
        Api {
            base: format!("http://{}", running.addr),
            running: Some(running),
            rt,
            agent: ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(60)))
                    .build(),
            ),
        }
    }

    fn query(&self, token: &str, query: &str, variables: Value) -> Value {
        let mut r = self
            .agent
            .post(format!("{}/graphql", self.base))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(json!({"query": query, "variables": variables}))
            .unwrap();
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = self.rt.block_on(r.stop());
        }
    }
}

/// Ids the first column of `report` lists, as `user`.
fn ids(db: &Db, org: &str, user: &str, report: &str) -> Vec<String> {
    let mut store = store::Store::open(&db.url).unwrap();
    let services = app::Services::new();
    let at = domain::Instant::from_timestamp(jiff::Timestamp::now());
    services
        .run_report(
            &mut store,
            org,
            user,
            &query_syntax::parse(report).unwrap(),
            jiff::civil::date(2026, 1, 1),
            at,
        )
        .unwrap()
        .rows
        .rows
        .iter()
        .map(|r| r[0].to_json().as_str().unwrap().to_owned())
        .collect()
}

const SAVE: &str = "mutation($d: JSON!) { saveAutomationRule(definition: $d, reason: \"test\") { id version owner } }";

fn rules_fire_once_as_their_owners(db: Db) {
    let org = "auto";
    let tokens = common::generated_org(&db, org, 200, 7, &["admin", "hiring_manager"]);
    let (admin, manager) = (&tokens[0], &tokens[1]);
    let receiver = Receiver::start(0);
    let api = Api::start(&db);
    let webhook = |path: &str| json!({"do": "webhook", "url": format!("{}{path}", receiver.url), "secret": SECRET});
    let save = |definition: Value| {
        let v = api.query(&admin.token, SAVE, json!({"d": definition}));
        assert!(v["errors"].is_null(), "{v}");
        v["data"]["saveAutomationRule"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let every = save(
        json!({"name": "every move", "when": "application.moved", "then": [webhook("/every")]}),
    );
    let theirs = save(
        json!({"name": "as the hiring manager", "when": "application.moved",
        "owner": manager.user_id, "then": [webhook("/theirs")]}),
    );
    let never = save(json!({"name": "archived only", "when": "application.moved",
        "if": "status = \"archived\"", "then": [webhook("/never")]}));
    // A non-admin may not manage rules.
    let refused = api.query(
        &manager.token,
        SAVE,
        json!({"d": {"name": "x", "when": "application.moved", "then": [webhook("/x")]}}),
    );
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    // A bad condition is refused with where.
    let bad = api.query(&admin.token, SAVE, json!({"d": {"name": "x", "when": "application.moved", "if": "stauts = \"active\"", "then": [webhook("/x")]}}));
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`definition.if` at byte 0"),
        "{bad}"
    );

    // Three new applications to jobs the hiring manager sees and three to jobs they do not,
    // each moved once.
    let open = ids(
        &db,
        org,
        &admin.user_id,
        "report jobs where status = \"open\" show id",
    );
    let theirs_jobs = ids(&db, org, &manager.user_id, "report jobs show id");
    let mut moved: Vec<(String, bool)> = Vec::new();
    for visible in [true, false] {
        let job = open
            .iter()
            .find(|j| theirs_jobs.contains(j) == visible)
            .expect("an open job of each kind");
        for n in 0..3 {
            let v = api.query(
                &admin.token,
                "mutation($j: ID!, $n: String!) { createCandidate(input: {name: $n, jobId: $j}) { id } }",
                json!({"j": job, "n": format!("Automation {visible} {n}")}),
            );
            assert!(v["errors"].is_null(), "{v}");
            let candidate = v["data"]["createCandidate"]["id"].as_str().unwrap();
            let application = ids(
                &db,
                org,
                &admin.user_id,
                &format!("report applications where candidate.id = \"{candidate}\" show id"),
            );
            moved.push((application[0].clone(), visible));
        }
    }
    for (application, _) in &moved {
        let job = &ids(
            &db,
            org,
            &admin.user_id,
            &format!("report applications where id = \"{application}\" show job.id"),
        )[0];
        let current = &ids(
            &db,
            org,
            &admin.user_id,
            &format!("report applications where id = \"{application}\" show current_stage.id"),
        )[0];
        let stages = ids(
            &db,
            org,
            &admin.user_id,
            &format!("report stages where job.id = \"{job}\" where kind != \"hired\" show id"),
        );
        let to = stages.iter().find(|s| *s != current).unwrap();
        let v = api.query(
            &admin.token,
            "mutation($a: ID!, $s: ID!) { moveApplication(input: {applicationId: $a, toStageId: $s}) { id } }",
            json!({"a": application, "s": to}),
        );
        assert!(v["errors"].is_null(), "{v}");
    }
    wait_until("every move's webhook", Duration::from_secs(30), || {
        receiver.at("/every").len() >= 6
    });
    let runs = |rule: &str| {
        let v = api.query(
            &admin.token,
            "query($r: ID) { automationRuns(rule: $r, limit: 100) { outcome detail subject } }",
            json!({"r": rule}),
        );
        v["data"]["automationRuns"].as_array().unwrap().clone()
    };
    wait_until("the rules' runs", Duration::from_secs(30), || {
        runs(&theirs).len() >= 6 && runs(&never).len() >= 6
    });
    wait_until(
        "the hiring manager's webhooks",
        Duration::from_secs(30),
        || receiver.at("/theirs").len() >= 3,
    );
    std::thread::sleep(Duration::from_millis(500));

    // Every move once, signed over the bytes received, one id per event.
    let every_got = receiver.at("/every");
    assert_eq!(every_got.len(), 6, "{every_got:?}");
    let mut subjects = Vec::new();
    let mut ids_seen = std::collections::HashSet::new();
    for r in &every_got {
        let id = &r.headers["webhook-id"];
        let ts: i64 = r.headers["webhook-timestamp"].parse().unwrap();
        let expected = effects::sign(SECRET, id, ts, r.body.as_bytes()).unwrap();
        assert!(
            r.headers["webhook-signature"]
                .split(' ')
                .any(|s| s == expected),
            "{r:?}"
        );
        assert!(ids_seen.insert(id.clone()), "webhook-id {id} twice");
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["rule"]["id"], every.as_str());
        assert_eq!(body["event"]["type"], "hireplane.application.moved.v1");
        subjects.push(body["event"]["subject"].as_str().unwrap().to_owned());
    }
    subjects.sort();
    let mut expected: Vec<String> = moved
        .iter()
        .map(|(a, _)| format!("application/{a}"))
        .collect();
    expected.sort();
    assert_eq!(subjects, expected);

    // The hiring manager's rule: only what they may see.
    let mut theirs_got: Vec<String> = receiver
        .at("/theirs")
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["event"]["subject"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    theirs_got.sort();
    let mut visible: Vec<String> = moved
        .iter()
        .filter(|(_, v)| *v)
        .map(|(a, _)| format!("application/{a}"))
        .collect();
    visible.sort();
    assert_eq!(theirs_got, visible);
    let theirs_runs = runs(&theirs);
    assert_eq!(
        theirs_runs
            .iter()
            .filter(|r| r["outcome"] == "fired")
            .count(),
        3,
        "{theirs_runs:?}"
    );
    assert!(
        theirs_runs
            .iter()
            .filter(|r| r["outcome"] == "skipped")
            .all(|r| r["detail"].as_str().unwrap().contains("may not see"))
    );
    assert!(receiver.at("/never").is_empty());
    assert!(runs(&never).iter().all(|r| r["outcome"] == "skipped"
        && r["detail"].as_str().unwrap().contains("condition is false")));

    // The destination's status reached the store (breaker closed).
    wait_until("the destination's status", Duration::from_secs(15), || {
        let mut store = store::Store::open(&db.url).unwrap();
        store
            .destination_statuses()
            .unwrap()
            .iter()
            .any(|d| d.report.destination == receiver.url && d.report.attempts >= 9)
    });
}

on_both!(rules_fire_once_as_their_owners);

/// A receiver that answers 503 first gets the same `webhook-id` again until it takes it.
fn a_failing_receiver_gets_the_same_id_again(db: Db) {
    let org = "retry";
    let tokens = common::generated_org(&db, org, 10, 3, &["admin"]);
    let admin = &tokens[0];
    let receiver = Receiver::start(4);
    let api = Api::start(&db);
    let v = api.query(
        &admin.token,
        SAVE,
        json!({"d": {"name": "new candidates", "when": "candidate.created",
        "then": [{"do": "webhook", "url": format!("{}/hook", receiver.url), "secret": SECRET}]}}),
    );
    assert!(v["errors"].is_null(), "{v}");
    let v = api.query(
        &admin.token,
        r#"mutation { createCandidate(input: {name: "Retried Once"}) { id } }"#,
        json!({}),
    );
    assert!(v["errors"].is_null(), "{v}");
    wait_until("a delivery taken", Duration::from_secs(60), || {
        receiver.at("/hook").len() >= 5
    });
    let got = receiver.at("/hook");
    let first = &got[0].headers["webhook-id"];
    assert!(
        got.iter().all(|r| &r.headers["webhook-id"] == first),
        "{got:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        receiver.at("/hook").len(),
        5,
        "delivered again after it was taken"
    );
}

on_both!(a_failing_receiver_gets_the_same_id_again);

/// A destination that hangs (accepts, never answers) holds up neither another destination's
/// jobs nor the API: the bulkhead keeps a worker free for the others.
fn a_hanging_destination_holds_up_no_other(db: Db) {
    let org = "hang";
    let tokens = common::generated_org(&db, org, 10, 3, &["admin"]);
    let admin = &tokens[0];
    let hanging = TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging_url = format!("http://{}/hook", hanging.local_addr().unwrap());
    let held: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
    let keep = held.clone();
    std::thread::spawn(move || {
        for s in hanging.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    let good = Receiver::start(0);
    let api = Api::start_with(&db, |s| {
        s.workflow.calls.timeout_ms = 5_000;
    });
    for (name, url) in [
        ("to the hanging one", hanging_url.clone()),
        ("to the good one", format!("{}/ok", good.url)),
    ] {
        let v = api.query(
            &admin.token,
            SAVE,
            json!({"d": {"name": name, "when": "candidate.created",
            "then": [{"do": "webhook", "url": url, "secret": SECRET}]}}),
        );
        assert!(v["errors"].is_null(), "{v}");
    }
    let started = Instant::now();
    for i in 0..6 {
        let v = api.query(
            &admin.token,
            &format!(r#"mutation {{ createCandidate(input: {{name: "Hang {i}"}}) {{ id }} }}"#),
            json!({}),
        );
        assert!(v["errors"].is_null(), "{v}");
    }
    wait_until(
        "the good destination's webhooks",
        Duration::from_secs(20),
        || good.at("/ok").len() >= 6,
    );
    let took = started.elapsed();
    // Each call to the hanging destination takes 5 s per attempt, 3 attempts: the good one's
    // six were delivered well before even one of those ended.
    assert!(
        took < Duration::from_secs(5),
        "the good destination waited {took:?}"
    );
    // The API answers as usual meanwhile.
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let v = api.query(
            &admin.token,
            "{ jobs(first: 5) { nodes { id title } } }",
            json!({}),
        );
        assert!(v["errors"].is_null(), "{v}");
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_secs(1),
        "an API request took {slowest:?}"
    );
    assert!(
        !held.lock().unwrap().is_empty(),
        "the hanging destination was called"
    );
}

on_both!(a_hanging_destination_holds_up_no_other);

/// By default a rule cannot reach a private address (the deployment's own services): the
/// webhook is never sent, and its job is dead with the reason.
fn private_addresses_are_refused_by_default(db: Db) {
    let org = "ssrf";
    let tokens = common::generated_org(&db, org, 10, 3, &["admin"]);
    let admin = &tokens[0];
    let receiver = Receiver::start(0);
    let api = Api::start_with(&db, |s| s.workflow.calls.allow_private_networks = false);
    let v = api.query(&admin.token, SAVE, json!({"d": {"name": "inside", "when": "candidate.created",
        "then": [{"do": "webhook", "url": format!("{}/internal", receiver.url), "secret": SECRET}]}}));
    assert!(v["errors"].is_null(), "{v}");
    let v = api.query(
        &admin.token,
        r#"mutation { createCandidate(input: {name: "Probe"}) { id } }"#,
        json!({}),
    );
    assert!(v["errors"].is_null(), "{v}");
    let mut dead = Value::Null;
    wait_until("the job dead", Duration::from_secs(30), || {
        dead = api.query(
            &admin.token,
            r#"{ backgroundJobs(first: 5, state: "dead") { nodes { kind lastError } } }"#,
            json!({}),
        );
        dead["data"]["backgroundJobs"]["nodes"]
            .as_array()
            .is_some_and(|n| !n.is_empty())
    });
    let node = &dead["data"]["backgroundJobs"]["nodes"][0];
    assert_eq!(node["kind"], "automation.action");
    assert!(
        node["lastError"]
            .as_str()
            .unwrap()
            .contains("allow_private_networks"),
        "{node}"
    );
    assert!(receiver.at("/internal").is_empty());
}

on_both!(private_addresses_are_refused_by_default);

/// The installation's CalDAV account goes only to its own server (red team R1): any org's
/// admin names the calendar of their rules' `calendar_event`, and one pointing at their own
/// host got the account that writes every org's calendars. Real receivers, the real effects.
#[test]
fn caldav_credentials_go_only_to_their_server() {
    use app::automation::{OutgoingCalendarEvent, Outside};
    let operator = Receiver::start(0);
    let attacker = Receiver::start(0);
    let outside = server::automation::EffectsOutside {
        effects: Arc::new(effects::Effects::new(effects::EffectsSettings::default())),
        from: "hireplane@example.com".to_owned(),
        caldav: Some((
            "operator-caldav".to_owned(),
            "shared-secret".to_owned(),
            format!("{}/dav/", operator.url),
        )),
        allow_private: true,
    };
    let put = |calendar: String, uid: &str| {
        outside
            .calendar_put(&OutgoingCalendarEvent {
                calendar,
                uid: uid.to_owned(),
                ics: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_owned(),
            })
            .unwrap();
    };
    for calendar in [
        format!("{}/cal/", attacker.url),
        format!("{}/dav/", attacker.url),
        format!("{}/dav/../cal/", operator.url),
        format!("{}/other/", operator.url),
    ] {
        put(calendar.clone(), "iv_1@hireplane");
        let got = attacker.got.lock().unwrap().clone();
        let got_here = operator.got.lock().unwrap().clone();
        for r in got.iter().chain(&got_here) {
            assert!(
                !r.headers.contains_key("authorization"),
                "{calendar}: {r:?}"
            );
        }
    }
    put(format!("{}/dav/raj/work/", operator.url), "iv_2@hireplane");
    let got = operator.at("/dav/raj/work/iv_2%40hireplane.ics");
    assert_eq!(got.len(), 1, "{:?}", operator.got.lock().unwrap());
    assert!(
        got[0].headers["authorization"].starts_with("Basic "),
        "{:?}",
        got[0]
    );
    // Without the server named, the account is refused at start.
    let db = common::sqlite_db();
    let mut settings = server::Settings::default();
    settings.workflow.caldav.username = "operator-caldav".to_owned();
    let refused = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(server::start_with_jobs(
            server::Settings {
                database: db.url.clone(),
                listen: "127.0.0.1:0".parse().unwrap(),
                ..settings
            },
            app::jobs::JobHandlers::new(),
            false,
        ));
    let Err(e) = refused else {
        panic!("a CalDAV account without its server started")
    };
    assert!(
        format!("{e:#}").contains("workflow.caldav.base_url"),
        "{e:#}"
    );
}
