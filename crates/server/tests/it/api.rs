//! End to end: the real server on port 0, on a fresh SQLite file and (when
//! `HIREPLANE_TEST_POSTGRES` is set) a fresh PostgreSQL database, with two generated orgs, talked
//! to over HTTP. Each role's view through the API is compared with the same user's reports (which
//! the `app` tests prove equal to Cedar's per-row decisions) and spot-checked against single Cedar
//! decisions; tokens, limits, bad input and readiness are checked as a client sees them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use store::Store;

use crate::common;
use common::{Db, postgres_db, sqlite_db};

const ORG: &str = "ta";
const OTHER: &str = "tb";

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

/// A running server with two orgs and a token per role of `ta`, and an admin token of `tb`.
struct Api {
    /// First, so that it stops before the database goes.
    server: common::Server,
    db: Db,
    /// (role, user, token) of org `ta`.
    tokens: Vec<(String, String, String)>,
    other_admin: String,
    store: Store,
}

impl Api {
    fn start(db: Db, tweak: impl FnOnce(&mut server::Settings)) -> Api {
        let mut store = Store::open(&db.url).unwrap();
        for (org, n, seed) in [(ORG, 200, 5), (OTHER, 60, 6)] {
            let dir = tempfile::tempdir().unwrap();
            synth::generate(
                &synth::Config {
                    org_id: org.into(),
                    applications: n,
                    seed,
                },
                dir.path(),
            )
            .unwrap();
            store
                .import(dir.path(), store::ImportOptions::default(), &mut |_| {})
                .unwrap();
        }
        let services = app::Services::new();
        let users = store.active_users(ORG).unwrap();
        let mut tokens = Vec::new();
        for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
            let u = users.iter().find(|u| u.role == role).unwrap();
            let t = services
                .create_token(&mut store, ORG, &u.id, "test", None, now())
                .unwrap();
            tokens.push((role.to_owned(), u.id.clone(), t.token));
        }
        let other = store.active_users(OTHER).unwrap();
        let other_admin = other.iter().find(|u| u.role == "admin").unwrap();
        let other_admin = services
            .create_token(&mut store, OTHER, &other_admin.id, "test", None, now())
            .unwrap()
            .token;
        let mut settings = server::Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: db.url.clone(),
            ..server::Settings::default()
        };
        settings.auth.cache_ms = 0;
        settings.pool.size = 4;
        tweak(&mut settings);
        let server = common::Server::start(settings);
        Api {
            server,
            db,
            tokens,
            other_admin,
            store,
        }
    }

    fn token(&self, role: &str) -> &str {
        &self.tokens.iter().find(|t| t.0 == role).unwrap().2
    }

    fn user(&self, role: &str) -> &str {
        &self.tokens.iter().find(|t| t.0 == role).unwrap().1
    }

    /// POSTs `body` as JSON with `token`; the status and the JSON answer.
    fn post(&self, token: Option<&str>, body: &Value, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self
            .server
            .agent
            .post(format!("{}/graphql", self.server.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send_json(body).unwrap();
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn query(&self, role: &str, query: &str) -> Value {
        let (status, v) = self.post(Some(self.token(role)), &json!({ "query": query }), &[]);
        assert_eq!(status, 200, "{v}");
        v
    }

    fn data(&self, role: &str, query: &str) -> Value {
        let v = self.query(role, query);
        assert!(v.get("errors").is_none(), "{query}: {v}");
        v["data"].clone()
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut resp = self
            .server
            .agent
            .get(format!("{}{path}", self.server.base))
            .call()
            .unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    }

    /// An open job every role's recruiter sees (not confidential) and its first stage.
    fn open_job(&self) -> (String, String) {
        let jobs = self.data(
            "recruiter",
            "{ jobs(filter: {status: open, confidential: false}, first: 1) { nodes { id stages { nodes { id } } } } }",
        );
        let job = at(&jobs, "jobs.nodes.0.id").as_str().unwrap().to_owned();
        let stage = at(&jobs, "jobs.nodes.0.stages.nodes.0.id")
            .as_str()
            .unwrap()
            .to_owned();
        (job, stage)
    }

    /// A new candidate `name` applied to `job` by the recruiter: the application's id.
    fn new_applicant(&self, job: &str, name: &str) -> String {
        let d = self.data(
            "recruiter",
            &format!(r#"mutation {{ createCandidate(input: {{name: "{name}", jobId: "{job}"}}) {{ applications {{ nodes {{ id }} }} }} }}"#),
        );
        at(&d, "createCandidate.applications.nodes.0.id")
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every id of `list` the role sees, page by page (exercises the cursors).
    fn all_ids(&self, role: &str, list: &str) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        let mut after = String::new();
        loop {
            let q = format!(
                "{{ {list}(first: 37{after}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ id }} }} }}"
            );
            let d = self.data(role, &q);
            for n in d[list]["nodes"].as_array().unwrap() {
                assert!(
                    ids.insert(n["id"].as_str().unwrap().to_owned()),
                    "a row twice"
                );
            }
            if !d[list]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                return ids;
            }
            after = format!(", after: {}", d[list]["pageInfo"]["endCursor"]);
        }
    }

    /// The ids a report as `role` lists (the CLI's path, through `app`).
    fn report_ids(&mut self, role: &str, subject: &str) -> BTreeSet<String> {
        let user = self.user(role).to_owned();
        let report = query_syntax::parse(&format!("report {subject} show id")).unwrap();
        let run = app::Services::new()
            .run_report(
                &mut self.store,
                ORG,
                &user,
                &report,
                "2026-01-01".parse().unwrap(),
                now(),
            )
            .unwrap();
        run.rows
            .rows
            .into_iter()
            .map(|r| match &r[0] {
                query_compiler::Value::Text(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    }
}

fn each_role_sees_what_its_reports_and_cedar_allow(db: Db) {
    let mut api = Api::start(db, |_| {});
    let services = app::Services::new();
    for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
        for (list, subject, ty) in [
            ("applications", "applications", "Application"),
            ("candidates", "candidates", "Candidate"),
            ("jobs", "jobs", "Job"),
            ("offers", "offers", "Offer"),
        ] {
            let via_api = api.all_ids(role, list);
            let via_report = api.report_ids(role, subject);
            assert_eq!(via_api, via_report, "{role} {list}");
            // Spot checks against single Cedar decisions: seen rows allowed, others denied.
            let user = api.user(role).to_owned();
            let access = services.access(&mut api.store, ORG, &user).unwrap();
            let everything = api.report_ids("admin", subject);
            for id in everything.iter().step_by(7) {
                let d = services
                    .decide_entity(
                        &mut api.store,
                        &access,
                        app::Request {
                            action: policy::Action::View,
                            resource_type: ty,
                            resource_id: id,
                        },
                        now(),
                    )
                    .unwrap();
                assert_eq!(d.allowed, via_api.contains(id), "{role} {ty} {id}");
            }
        }
    }
    // The admin sees more than the interviewer, who sees some.
    let admin = api.all_ids("admin", "applications");
    let interviewer = api.all_ids("interviewer", "applications");
    assert!(interviewer.len() < admin.len() && !interviewer.is_empty());

    // Masks: compensation as null for an interviewer, visible for an admin; nested objects the
    // caller may not see are null.
    let q = "{ offers(first: 200) { nodes { id salary status application { id } } } }";
    let admin_offers = api.data("admin", q);
    let salaries = |v: &Value| {
        v["offers"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| !n["salary"].is_null())
            .count()
    };
    assert!(salaries(&admin_offers) > 0);
    assert_eq!(salaries(&api.data("interviewer", q)), 0);
    // Filtering on a masked field reveals nothing either.
    let d = api.data(
        "interviewer",
        r#"{ offers(where: "salary > 0") { totalCount } }"#,
    );
    assert_eq!(d["offers"]["totalCount"], 0);

    // totalCount counts every page; a lookup of a hidden row is null, as is one of another org.
    let d = api.data(
        "admin",
        "{ applications(first: 2) { totalCount nodes { id } } }",
    );
    assert_eq!(
        d["applications"]["totalCount"].as_u64().unwrap() as usize,
        admin.len()
    );
    let hidden = admin.difference(&interviewer).next().unwrap();
    let q = format!(r#"{{ application(id: "{hidden}") {{ id }} }}"#);
    assert!(api.data("interviewer", &q)["application"].is_null());
    assert_eq!(api.data("admin", &q)["application"]["id"], hidden.as_str());
    let (_, other) = api.post(Some(&api.other_admin.clone()), &json!({ "query": q }), &[]);
    assert!(other["data"]["application"].is_null(), "{other}");
    let other_ids = {
        let (_, v) = api.post(
            Some(&api.other_admin.clone()),
            &json!({ "query": "{ applications(first: 200) { nodes { id } } }" }),
            &[],
        );
        v["data"]["applications"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert!(!other_ids.is_empty() && other_ids.is_disjoint(&admin));

    // Nested connections and filters.
    let d = api.data(
        "admin",
        r#"{ jobs(first: 3) { nodes { id title applications(first: 5, filter: {status: archived}) { nodes { status job { id } } } } } }"#,
    );
    for job in d["jobs"]["nodes"].as_array().unwrap() {
        for a in job["applications"]["nodes"].as_array().unwrap() {
            assert_eq!(a["status"], "archived");
            assert_eq!(a["job"]["id"], job["id"]);
        }
    }

    // Reports through the API equal the same user's report.
    let d = api.data(
        "recruiter",
        r#"{ report(text: "report applications group by status show count() as n order by status") { columns { name kind } rows restrictions } }"#,
    );
    let rows = d["report"]["rows"].as_array().unwrap();
    let total: i64 = rows.iter().map(|r| r[1].as_i64().unwrap()).sum();
    assert_eq!(
        total as usize,
        api.report_ids("recruiter", "applications").len()
    );
    // Demographics: refused for an interviewer, with FORBIDDEN.
    let v = api.query(
        "interviewer",
        r#"{ report(text: "report candidates group by demographics.gender show count()") { rows } }"#,
    );
    assert_eq!(v["errors"][0]["extensions"]["code"], "FORBIDDEN", "{v}");
}

on_both!(each_role_sees_what_its_reports_and_cedar_allow);

/// What an interviewer sees of the applications they interview for (DESIGN, "The default
/// access policy"): the candidate's name, the job's title and department, the current stage;
/// not the archive reason, source, credited user, custom fields, the job's other fields, the
/// candidate's location, time zone and tags, nor the stage history (rows or `reached(...)`). The admin sees them on the
/// same applications, so each null is a mask, not missing data.
fn interviewers_see_name_job_and_stage_only(db: Db) {
    let api = Api::start(db, |_| {});
    let fields = "id archiveReason source { id } creditedTo { id } currentStage { id } \
        job { title location headcount department { name } } candidate { name location timezone tags } \
        stageTransitions { totalCount }";
    let mine: BTreeMap<String, Value> = api.data(
        "interviewer",
        &format!("{{ applications(first: 200) {{ nodes {{ {fields} }} }} }}"),
    )["applications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap().to_owned(), n.clone()))
        .collect();
    assert!(!mine.is_empty());
    // The same applications as the admin reads them, by id.
    let lookups: String = mine
        .keys()
        .enumerate()
        .map(|(i, id)| format!(r#"a{i}: application(id: "{id}") {{ {fields} }} "#))
        .collect();
    let d = api.data("admin", &format!("{{ {lookups} }}"));
    let admin: BTreeMap<String, Value> = (0..mine.len())
        .map(|i| {
            let n = d[format!("a{i}")].clone();
            (n["id"].as_str().unwrap().to_owned(), n)
        })
        .collect();
    let mut unmasked = BTreeMap::<&str, usize>::new();
    for (id, n) in &mine {
        assert!(n["candidate"]["name"].is_string(), "{n}");
        assert!(n["job"]["title"].is_string(), "{n}");
        assert!(n["job"]["department"]["name"].is_string(), "{n}");
        assert!(n["currentStage"]["id"].is_string(), "{n}");
        let a = &admin[id];
        for (what, theirs, full) in [
            ("archiveReason", &n["archiveReason"], &a["archiveReason"]),
            ("source", &n["source"], &a["source"]),
            ("creditedTo", &n["creditedTo"], &a["creditedTo"]),
            ("job.location", &n["job"]["location"], &a["job"]["location"]),
            (
                "job.headcount",
                &n["job"]["headcount"],
                &a["job"]["headcount"],
            ),
            (
                "candidate.location",
                &n["candidate"]["location"],
                &a["candidate"]["location"],
            ),
            (
                "candidate.timezone",
                &n["candidate"]["timezone"],
                &a["candidate"]["timezone"],
            ),
        ] {
            assert!(theirs.is_null(), "{what} of {id}: {n}");
            if !full.is_null() {
                *unmasked.entry(what).or_default() += 1;
            }
        }
        assert!(
            n["candidate"]["tags"].is_null() || n["candidate"]["tags"] == json!([]),
            "{n}"
        );
        assert_eq!(n["stageTransitions"]["totalCount"], 0, "{n}");
        assert!(
            a["stageTransitions"]["totalCount"].as_u64().unwrap() > 0,
            "{a}"
        );
    }
    for what in [
        "source",
        "job.location",
        "job.headcount",
        "candidate.location",
        "candidate.timezone",
    ] {
        assert!(
            unmasked.get(what).copied().unwrap_or(0) > 0,
            "{what}: {unmasked:?}"
        );
    }
    // Stage history through `reached(...)`: none, though the admin finds some of theirs.
    let reached = r#"reached(kind(\"application_review\"))"#;
    let ids = |role: &str| {
        node_ids(
            &api.data(
                role,
                &format!(
                    r#"{{ applications(first: 200, where: "{reached}") {{ nodes {{ id }} }} }}"#
                ),
            ),
            "applications.nodes",
        )
    };
    assert!(ids("interviewer").is_empty());
    assert!(ids("admin").iter().any(|id| mine.contains_key(id)));
}

on_both!(interviewers_see_name_job_and_stage_only);

fn tokens_expire_and_revoke(db: Db) {
    let mut api = Api::start(db, |_| {});
    let q = json!({ "query": "{ viewer { user role } }" });
    let (s, v) = api.post(None, &q, &[]);
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let (s, _) = api.post(Some("hpt_nonsense"), &q, &[]);
    assert_eq!(s, 401);
    // Right shape, wrong secret.
    let good = api.token("admin").to_owned();
    let forged = format!(
        "{}{}",
        &good[..good.len() - 1],
        if good.ends_with('0') { '1' } else { '0' }
    );
    let (s, _) = api.post(Some(&forged), &q, &[]);
    assert_eq!(s, 401);
    let (s, v) = api.post(Some(&good), &q, &[]);
    assert_eq!(
        (s, v["data"]["viewer"]["role"].as_str()),
        (200, Some("admin"))
    );

    // Expired.
    let services = app::Services::new();
    let user = api.user("recruiter").to_owned();
    let past = domain::Instant::from_micros(now().as_micros() - 1_000_000).unwrap();
    let expired = services
        .create_token(&mut api.store, ORG, &user, "old", Some(past), now())
        .unwrap();
    let (s, v) = api.post(Some(&expired.token), &q, &[]);
    assert_eq!(s, 401);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{v}"
    );

    // Revoked: refused from the next request on.
    let fresh = services
        .create_token(&mut api.store, ORG, &user, "soon revoked", None, now())
        .unwrap();
    assert_eq!(api.post(Some(&fresh.token), &q, &[]).0, 200);
    assert!(
        api.store
            .revoke_token(ORG, &fresh.stored.id, now())
            .unwrap()
    );
    let (s, v) = api.post(Some(&fresh.token), &q, &[]);
    assert_eq!(s, 401);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{v}"
    );
    // Another org's token id cannot be revoked through this org.
    assert!(
        !api.store
            .revoke_token(OTHER, &expired.stored.id, now())
            .unwrap()
    );
}

on_both!(tokens_expire_and_revoke);

#[test]
fn limits_and_bad_input_get_clear_errors() {
    let mut api = Api::start(sqlite_db(), |s| {
        s.limits.max_depth = 6;
        s.limits.max_complexity = 40;
        s.limits.max_body_bytes = 4096;
        s.limits.rate_per_second = 3;
        s.limits.rate_burst = 3;
    });
    let admin = api.token("admin").to_owned();
    // Too deep.
    let v = api.query(
        "admin",
        "{ applications { nodes { job { department { parent { parent { parent { name } } } } } } } }",
    );
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{v}"
    );
    assert_eq!(code(&v), "GRAPHQL_VALIDATION_FAILED", "{v}");
    // Too complex: 41 fields.
    let wide: String = (0..41)
        .map(|i| format!("f{i}: viewer {{ user }} "))
        .collect();
    let v = api.query("admin", &format!("{{ {wide} }}"));
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too complex"),
        "{v}"
    );
    assert_eq!(code(&v), "GRAPHQL_VALIDATION_FAILED", "{v}");
    // Too big.
    let big = json!({ "query": format!("{{ viewer {{ user }} }} #{}", "x".repeat(10_000)) });
    let (s, _) = api.post(Some(&admin), &big, &[]);
    assert_eq!(s, 413);
    // Page too large, bad cursor, unknown filter, wrong type, malformed query, bad `where`.
    for (query, expect) in [
        (
            "{ applications(first: 1000) { nodes { id } } }",
            "between 0 and 200",
        ),
        (
            r#"{ applications(after: "zz") { nodes { id } } }"#,
            "not a cursor",
        ),
        (
            "{ applications(filter: {nope: 1}) { nodes { id } } }",
            "nope",
        ),
        (r#"{ applications(first: "x") { nodes { id } } }"#, "Int"),
        ("{ applications { nodes { id }", "expected"),
        (
            r#"{ applications(where: "stauts = 1") { nodes { id } } }"#,
            "stauts",
        ),
        (
            r#"{ applications(where: "true show id") { nodes { id } } }"#,
            "condition only",
        ),
    ] {
        std::thread::sleep(Duration::from_millis(400));
        let v = api.query("admin", query);
        let message = v["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(expect), "{query}: {v}");
        // Every error has a code: ours, or the document's.
        assert!(
            v["errors"][0]["extensions"]["code"].is_string(),
            "{query}: {v}"
        );
    }
    // Not JSON.
    std::thread::sleep(Duration::from_millis(400));
    let mut resp = api
        .server
        .agent
        .post(format!("{}/graphql", api.server.base))
        .header("Authorization", format!("Bearer {admin}"))
        .send("{not json")
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.body_mut().read_to_string().unwrap().contains("line 1"));
    // A second token of the admin's.
    let admin_id = api.user("admin").to_owned();
    let second = app::Services::new()
        .create_token(&mut api.store, ORG, &admin_id, "second", None, now())
        .unwrap()
        .token;
    // Too fast: 429 with Retry-After.
    std::thread::sleep(Duration::from_millis(1200));
    let mut limited = None;
    for _ in 0..20 {
        let mut resp = api
            .server
            .agent
            .post(format!("{}/graphql", api.server.base))
            .header("Authorization", format!("Bearer {admin}"))
            .send_json(json!({ "query": "{ viewer { user } }" }))
            .unwrap();
        if resp.status().as_u16() == 429 {
            let retry = resp
                .headers()
                .get("retry-after")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            limited = Some((retry, resp.body_mut().read_to_string().unwrap()));
            break;
        }
    }
    // SQLite, one process: the cluster scope (the default) counts this replica alone.
    assert_eq!(api.server.running.as_ref().unwrap().rate_replicas(), 1);
    let (retry, body) = limited.expect("never rate limited");
    assert!(retry.parse::<u64>().unwrap() >= 1);
    assert!(body.contains("RATE_LIMITED"));
    // The limit is per user: the admin's second token is over it too (per token, a user's
    // 50 console sessions, each with its own token, made 50 times the rate: red team, pass 9)
    // ...
    let (s, v) = api.post(
        Some(&second),
        &json!({ "query": "{ viewer { user } }" }),
        &[],
    );
    assert_eq!(s, 429, "{v}");
    assert!(v.to_string().contains("all their tokens together"), "{v}");
    // ... and another user's token still gets in.
    let (s, _) = api.post(
        Some(api.token("recruiter")),
        &json!({ "query": "{ viewer { user } }" }),
        &[],
    );
    assert_eq!(s, 200);
    // Metrics saw all of it.
    let (s, metrics) = api.get("/metrics");
    assert_eq!(s, 200);
    assert!(
        metrics.contains(r#"hireplane_api_requests_total{operation="any",outcome="rate_limited"}"#),
        "{metrics}"
    );
    assert!(metrics.contains("hireplane_api_request_duration_seconds_bucket"));
}

/// Polls `cond` every 20 ms until it holds or `within` has passed; whether it held.
fn wait_until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Sends `{ viewer { user } }` to `base` with `token`: the status and the `Retry-After` header.
fn viewer_at(agent: &ureq::Agent, base: &str, token: &str) -> (u16, Option<String>) {
    let resp = agent
        .post(format!("{base}/graphql"))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(json!({ "query": "{ viewer { user } }" }))
        .unwrap();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), retry)
}

/// `n` requests sent one after the other, alternating over `bases`: how many each base admitted,
/// the `Retry-After` of every 429, and how long it took.
fn burst(
    agent: &ureq::Agent,
    bases: &[&str],
    token: &str,
    n: usize,
) -> (Vec<u32>, Vec<u64>, Duration) {
    let started = std::time::Instant::now();
    let mut admitted = vec![0; bases.len()];
    let mut retries = Vec::new();
    for i in 0..n {
        match viewer_at(agent, bases[i % bases.len()], token) {
            (200, _) => admitted[i % bases.len()] += 1,
            (429, retry) => retries.push(
                retry
                    .expect("a 429 without Retry-After")
                    .parse::<u64>()
                    .unwrap(),
            ),
            (status, _) => panic!("status {status}"),
        }
    }
    (admitted, retries, started.elapsed())
}

/// Two replicas on one PostgreSQL database share each token's rate limit: each counts the other
/// through its heartbeat and enforces half of it, so a token that alternates between them gets
/// about the cluster's burst, not twice it. When one stops gracefully it leaves the table, and
/// the other takes the full limit back at its next heartbeat.
#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn two_replicas_share_one_rate_limit() {
    // Bursts of 10 in the cluster; refilled at 2 per second (1 per replica while there are two),
    // slow enough for the sequential requests of a debug build to stay within a few refills.
    const RATE: u32 = 2;
    const BURST: u32 = 10;
    let tweak = |s: &mut server::Settings| {
        s.limits.rate_per_second = RATE;
        s.limits.rate_burst = BURST;
        s.limits.replica_heartbeat_ms = 100;
    };
    let api = Api::start(postgres_db(), tweak);
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: api.db.url.clone(),
        ..server::Settings::default()
    };
    settings.auth.cache_ms = 0;
    settings.pool.size = 4;
    tweak(&mut settings);
    assert_eq!(
        settings.limits.rate_scope,
        server::settings::RateScope::Cluster,
        "the default"
    );
    let second = api.server.rt.block_on(server::start(settings)).unwrap();
    let second_base = format!("http://{}", second.addr);
    let first = api.server.running.as_ref().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || first.rate_replicas() == 2
            && second.rate_replicas() == 2),
        "the replicas did not see each other: {} and {}",
        first.rate_replicas(),
        second.rate_replicas()
    );
    let token = api.token("admin").to_owned();

    // One token, alternating: each replica lets through its half of the burst (5) at once, then
    // 1 per second.
    let (admitted, retries, took) = burst(
        &api.server.agent,
        &[&api.server.base, &second_base],
        &token,
        40,
    );
    let total: u32 = admitted.iter().sum();
    eprintln!("two replicas: {admitted:?} of 40 admitted in {took:?}, Retry-After {retries:?}");
    let refills = (f64::from(RATE) * took.as_secs_f64()).ceil() as u32;
    assert!(
        admitted.iter().all(|&a| a >= BURST / 2),
        "each replica admits its share of the burst: {admitted:?}"
    );
    assert!(
        total <= BURST + refills + 1,
        "{total} admitted in {took:?} ({admitted:?}): more than the cluster's burst of {BURST}"
    );
    assert!(total < 2 * BURST, "{total}: the burst is per replica");
    assert_eq!(retries.len(), 40 - total as usize);
    assert!(
        retries.iter().all(|&r| (1..=2).contains(&r)),
        "Retry-After for 1 request per second: {retries:?}"
    );

    // A graceful stop removes the replica's row at once ...
    let second_id = second.replica_id().unwrap().to_owned();
    api.server.rt.block_on(second.stop()).unwrap();
    let mut c = postgres::Client::connect(&api.db.url, postgres::NoTls).unwrap();
    let ids: Vec<String> = c
        .query("SELECT replica_id FROM replicas ORDER BY replica_id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        ids,
        [first.replica_id().unwrap()],
        "{second_id} did not leave"
    );
    // ... and the other takes the full limit back at its next heartbeat (100 ms; 2 s allowed).
    let left = std::time::Instant::now();
    assert!(
        wait_until(Duration::from_secs(2), || first.rate_replicas() == 1),
        "still split after {:?}",
        left.elapsed()
    );
    let back = left.elapsed();
    let (admitted, retries, took) = burst(&api.server.agent, &[&api.server.base], &token, 30);
    eprintln!(
        "one replica left (full limit after {back:?}): {admitted:?} of 30 admitted in {took:?}"
    );
    let refills = (f64::from(RATE) * took.as_secs_f64()).ceil() as u32;
    assert!(
        admitted[0] >= BURST && admitted[0] <= BURST + refills + 1,
        "{admitted:?} admitted in {took:?} by the last replica: expected the whole burst of {BURST}"
    );
    assert!(retries.iter().all(|&r| r >= 1), "{retries:?}");
}

/// With `limits.rate_scope = "replica"` there is no heartbeat: the replica never registers and
/// enforces the full rate.
#[test]
fn replica_scope_has_no_heartbeat() {
    let mut api = Api::start(sqlite_db(), |s| {
        s.limits.rate_scope = server::settings::RateScope::Replica;
        s.limits.rate_per_second = 1;
        s.limits.rate_burst = 4;
    });
    assert_eq!(api.server.running.as_ref().unwrap().replica_id(), None);
    assert_eq!(api.server.running.as_ref().unwrap().rate_replicas(), 1);
    let (admitted, _, _) = burst(
        &api.server.agent,
        &[&api.server.base],
        api.token("admin"),
        8,
    );
    assert!((4..=5).contains(&admitted[0]), "{admitted:?}");
    // A probe of our own counts only itself: the server never registered.
    let live = Duration::from_secs(60);
    assert_eq!(
        api.store.replica_heartbeat("probe", now(), live).unwrap(),
        1
    );
    assert!(api.store.replica_leave("probe").unwrap());
}

#[test]
fn health_and_readiness() {
    let api = Api::start(sqlite_db(), |_| {});
    assert_eq!(api.get("/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(api.get("/readyz").0, 200);
    let (s, page) = api.get("/graphql");
    assert_eq!(s, 200);
    assert!(page.contains("graphiql"));
    // Request ids: a client's is kept when it looks like an id, replaced otherwise.
    let id_of = |sent: Option<&str>| -> String {
        let mut req = api.server.agent.get(format!("{}/healthz", api.server.base));
        if let Some(id) = sent {
            req = req.header("x-request-id", id);
        }
        let resp = req.call().unwrap();
        resp.headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(id_of(Some("trace-7f3a:12")), "trace-7f3a:12");
    let made = id_of(None);
    assert!(!made.is_empty());
    for odd in ["a b", "{\"x\":1}", &"x".repeat(200)] {
        let got = id_of(Some(odd));
        assert_ne!(got, odd);
        assert!(got.len() <= 40 && !got.contains(' '), "{got}");
    }
}

/// Readiness follows the database: not ready while PostgreSQL refuses connections, ready again
/// when it takes them back, without a restart.
#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn readiness_follows_the_database() {
    let api = Api::start(postgres_db(), |_| {});
    assert_eq!(api.get("/readyz").0, 200);
    let (admin, name) = api.db.pg.clone().unwrap();
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .unwrap();
    let mut down = None;
    for _ in 0..20 {
        let (s, body) = api.get("/readyz");
        if s == 503 {
            down = Some(body);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let body = down.expect("still ready with the database gone");
    assert!(body.starts_with("not ready"), "{body}");
    c.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .unwrap();
    let mut up = false;
    for _ in 0..40 {
        if api.get("/readyz").0 == 200 {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(up, "not ready again after the database came back");
    let d = api.data("admin", "{ viewer { user } }");
    assert_eq!(d["viewer"]["user"], api.user("admin"));
}

/// The id at `path` (`data.createCandidate.id`) of an answer, or a panic that shows it.
fn at<'v>(v: &'v Value, path: &str) -> &'v Value {
    let mut cur = v;
    for key in path.split('.') {
        cur = match key.parse::<usize>() {
            Ok(i) => &cur[i],
            Err(_) => &cur[key],
        };
    }
    assert!(!cur.is_null(), "no `{path}` in {v}");
    cur
}

fn code(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {v}"))
}

fn workflow_through_the_api(db: Db) {
    let mut api = Api::start(db, |_| {});
    let counts = |api: &Api| {
        api.data(
            "admin",
            "{ candidates { totalCount } applications { totalCount } interviews { totalCount } feedback { totalCount } offers { totalCount } jobs { totalCount } stageTransitions { totalCount } }",
        )
    };
    let before = counts(&api);
    // A non-confidential open job the recruiter may change, and its pipeline.
    let jobs = api.data(
        "recruiter",
        "{ jobs(filter: {status: open, confidential: false}, first: 1) { nodes { id stages { nodes { id kind } } } } }",
    );
    let job = at(&jobs, "jobs.nodes.0.id").as_str().unwrap().to_owned();
    let stages: Vec<(String, String)> = at(&jobs, "jobs.nodes.0.stages.nodes")
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();

    // Create and apply, retried with the same key: applied once.
    let create = json!({ "query": format!(
        r#"mutation {{ createCandidate(input: {{name: "Ada Lovelace", email: "ada@example.com", jobId: "{job}"}}) {{ id name email applications {{ nodes {{ id status currentStage {{ id }} }} }} }} }}"#
    )});
    let recruiter = api.token("recruiter").to_owned();
    let (s, first) = api.post(
        Some(&recruiter),
        &create,
        &[("Idempotency-Key", "create-ada")],
    );
    assert_eq!(s, 200, "{first}");
    let (s, again) = api.post(
        Some(&recruiter),
        &create,
        &[("Idempotency-Key", "create-ada")],
    );
    assert_eq!(
        (s, &again),
        (200, &first),
        "a retry answers as the first time"
    );
    let candidate = at(&first, "data.createCandidate.id")
        .as_str()
        .unwrap()
        .to_owned();
    let application = at(&first, "data.createCandidate.applications.nodes.0.id")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        at(
            &first,
            "data.createCandidate.applications.nodes.0.currentStage.id"
        ),
        &json!(stages[0].0)
    );
    let after = counts(&api);
    assert_eq!(
        at(&after, "candidates.totalCount").as_i64().unwrap(),
        at(&before, "candidates.totalCount").as_i64().unwrap() + 1,
        "the retry created nothing"
    );
    // A document of a query and a mutation, the mutation named (as GraphiQL sends it), is a
    // mutation: retried with its key, it runs once.
    let named = json!({
        "query": format!(
            r#"query Look {{ viewer {{ name }} }} mutation Make {{ createCandidate(input: {{name: "Grace Hopper", jobId: "{job}"}}) {{ id }} }}"#
        ),
        "operationName": "Make",
    });
    let (s, first_named) = api.post(Some(&recruiter), &named, &[("Idempotency-Key", "grace")]);
    assert_eq!(s, 200, "{first_named}");
    assert!(first_named.get("errors").is_none(), "{first_named}");
    let (s, again_named) = api.post(Some(&recruiter), &named, &[("Idempotency-Key", "grace")]);
    assert_eq!(
        (s, &again_named),
        (200, &first_named),
        "replayed, not run again"
    );
    let after_named = counts(&api);
    assert_eq!(
        at(&after_named, "candidates.totalCount").as_i64().unwrap(),
        at(&before, "candidates.totalCount").as_i64().unwrap() + 2,
        "Grace was created once"
    );
    // The same key with another request is refused.
    let other =
        json!({ "query": "mutation { createCandidate(input: {name: \"Someone Else\"}) { id } }" });
    let (s, v) = api.post(
        Some(&recruiter),
        &other,
        &[("Idempotency-Key", "create-ada")],
    );
    assert_eq!((s, code(&v)), (422, "IDEMPOTENCY_KEY_REUSED"));
    // Without a job, a recruiter may not add a candidate (default policy); an admin may.
    assert_eq!(
        code(&api.query(
            "recruiter",
            "mutation { createCandidate(input: {name: \"Loose\"}) { id } }"
        )),
        "FORBIDDEN"
    );
    at(
        &api.data(
            "admin",
            "mutation { createCandidate(input: {name: \"Loose\"}) { id } }",
        ),
        "createCandidate.id",
    );

    // Move, schedule, feedback, offer, hire.
    let next = &stages
        .iter()
        .find(|(_, k)| k != "lead" && k != "hired" && k != &stages[0].1)
        .unwrap()
        .0;
    let d = api.data(
        "recruiter",
        &format!(r#"mutation {{ moveApplication(input: {{applicationId: "{application}", toStageId: "{next}"}}) {{ currentStage {{ id }} stageTransitions {{ totalCount }} }} }}"#),
    );
    assert_eq!(at(&d, "moveApplication.currentStage.id"), &json!(next));
    assert_eq!(
        at(&d, "moveApplication.stageTransitions.totalCount"),
        &json!(2)
    );
    // Moving to a stage of another job: a clear error naming the field, nothing changed.
    let foreign = api.data(
        "admin",
        &format!(r#"{{ stages(where: "job.id != \"{job}\"", first: 1) {{ nodes {{ id }} }} }}"#),
    );
    let foreign = at(&foreign, "stages.nodes.0.id")
        .as_str()
        .unwrap()
        .to_owned();
    let v = api.query("recruiter", &format!(r#"mutation {{ moveApplication(input: {{applicationId: "{application}", toStageId: "{foreign}"}}) {{ id }} }}"#));
    assert_eq!(v["errors"][0]["extensions"]["field"], "toStageId", "{v}");
    // The interviewer cannot see the application yet: NOT_FOUND, not FORBIDDEN.
    let interviewer = api.user("interviewer").to_owned();
    let move_it = format!(
        r#"mutation {{ archiveApplication(input: {{applicationId: "{application}", reason: "x"}}) {{ id }} }}"#
    );
    assert_eq!(code(&api.query("interviewer", &move_it)), "NOT_FOUND");
    // A second interviewer of the org, on the same panel.
    let co_interviewer = api
        .store
        .active_users(ORG)
        .unwrap()
        .into_iter()
        .find(|u| u.role == "interviewer" && u.id != interviewer)
        .unwrap()
        .id;
    let co_token = app::Services::new()
        .create_token(&mut api.store, ORG, &co_interviewer, "test", None, now())
        .unwrap()
        .token;
    // An interview that took place an hour ago (feedback comes after it).
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
    let end = start + jiff::SignedDuration::from_hours(1);
    let (start, end) = (
        start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    );
    let d = api.data(
        "recruiter",
        &format!(r#"mutation {{ scheduleInterview(input: {{applicationId: "{application}", stageId: "{next}", title: "Technical", startsAt: "{start}", endsAt: "{end}", interviewers: [{{userId: "{interviewer}", role: interviewer}}, {{userId: "{co_interviewer}", role: interviewer}}], status: completed}}) {{ id status }} }}"#),
    );
    let interview = at(&d, "scheduleInterview.id").as_str().unwrap().to_owned();
    // Now the interviewer sees it, and may still not change it: FORBIDDEN.
    assert!(
        !api.data(
            "interviewer",
            &format!(r#"{{ application(id: "{application}") {{ id }} }}"#)
        )["application"]
            .is_null()
    );
    assert_eq!(code(&api.query("interviewer", &move_it)), "FORBIDDEN");
    let d = api.data(
        "interviewer",
        &format!(r#"mutation {{ submitFeedback(input: {{interviewId: "{interview}", recommendation: strong_yes, scores: {{coding: 4}}}}) {{ id recommendation author {{ id }} }} }}"#),
    );
    assert_eq!(at(&d, "submitFeedback.author.id"), &json!(interviewer));
    let feedback = at(&d, "submitFeedback.id").as_str().unwrap().to_owned();
    // The author edits their scorecard and sees the change; what is not given stays.
    let edit = |fields: &str| {
        format!(
            r#"mutation {{ updateFeedback(input: {{feedbackId: "{feedback}"{fields}}}) {{ id recommendation score author {{ id }} }} }}"#
        )
    };
    let d = api.data(
        "interviewer",
        &edit(r#", recommendation: no, scores: {coding: 2, system_design: 3}, notes: "Weaker than I first thought""#),
    );
    assert_eq!(at(&d, "updateFeedback.id"), &json!(feedback));
    assert_eq!(at(&d, "updateFeedback.recommendation"), "no");
    assert_eq!(at(&d, "updateFeedback.score"), &json!(2));
    assert_eq!(at(&d, "updateFeedback.author.id"), &json!(interviewer));
    let d = api.data("interviewer", &edit(", notes: null"));
    assert_eq!(at(&d, "updateFeedback.recommendation"), "no");
    let stored = api.store.feedback(ORG, &feedback).unwrap().unwrap();
    assert_eq!(
        (stored.recommendation, stored.notes.as_deref()),
        (domain::enums::Recommendation::No, None)
    );
    assert_eq!(
        stored.scores,
        [("coding".to_owned(), 2), ("system_design".to_owned(), 3)].into()
    );
    // Another interviewer on the panel may not see the scorecard (NOT_FOUND); a recruiter sees
    // it but may not change it (FORBIDDEN). Nothing changes.
    let steal = edit(", recommendation: strong_yes, notes: \"not mine\"");
    let (status, v) = api.post(Some(&co_token), &json!({ "query": steal }), &[]);
    assert_eq!(status, 200, "{v}");
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    assert_eq!(code(&api.query("recruiter", &steal)), "FORBIDDEN");
    assert_eq!(api.store.feedback(ORG, &feedback).unwrap().unwrap(), stored);
    // Bad input names the field (map keys quoted in brackets, as the caller wrote them);
    // nothing changes.
    for (bad, field) in [
        (", scores: {coding: 5}", r#"scores["coding"]"#),
        (
            ", recommendation: yes, scores: {system_design: 0}",
            r#"scores["system_design"]"#,
        ),
        (", scores: {coding: 2.5}", r#"scores["coding"]"#),
        (", scores: [4]", "scores"),
        ("", "input"),
    ] {
        let v = api.query("interviewer", &edit(bad));
        assert_eq!(code(&v), "BAD_USER_INPUT", "{bad}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{bad}: {v}");
        let message = v["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("`{field}`")), "{bad}: {v}");
    }
    assert_eq!(api.store.feedback(ORG, &feedback).unwrap().unwrap(), stored);
    let v = api.query(
        "interviewer",
        r#"mutation { updateFeedback(input: {feedbackId: "fb_nope", recommendation: yes}) { id } }"#,
    );
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    // A second interview, cancelled: the interviewer sees it but may not cancel it; once
    // cancelled it takes no feedback and cannot be cancelled again.
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48);
    let (later_start, later_end) = (
        later.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (later + jiff::SignedDuration::from_hours(1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    );
    let d = api.data(
        "recruiter",
        &format!(r#"mutation {{ scheduleInterview(input: {{applicationId: "{application}", stageId: "{next}", title: "Follow-up", startsAt: "{later_start}", endsAt: "{later_end}", interviewers: [{{userId: "{interviewer}", role: interviewer}}]}}) {{ id }} }}"#),
    );
    let second = at(&d, "scheduleInterview.id").as_str().unwrap().to_owned();
    let cancel = format!(
        r#"mutation {{ cancelInterview(input: {{interviewId: "{second}"}}) {{ id status }} }}"#
    );
    assert_eq!(code(&api.query("interviewer", &cancel)), "FORBIDDEN");
    let d = api.data("recruiter", &cancel);
    assert_eq!(at(&d, "cancelInterview.status"), "cancelled");
    let v = api.query("recruiter", &cancel);
    assert_eq!(code(&v), "CONFLICT", "{v}");
    assert_eq!(v["errors"][0]["extensions"]["field"], "interviewId", "{v}");
    let v = api.query(
        "recruiter",
        r#"mutation { cancelInterview(input: {interviewId: "no_such_interview"}) { id } }"#,
    );
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let d = api.data(
        "admin",
        &format!(r#"mutation {{ createOffer(input: {{applicationId: "{application}", terms: {{salary: 120000, salaryCurrency: "EUR", salaryPeriod: year}}}}) {{ id version status salary }} }}"#),
    );
    let offer = at(&d, "createOffer.id").as_str().unwrap().to_owned();
    assert_eq!(at(&d, "createOffer.salary"), &json!(120000.0));
    // A refusal names the input as the API spells it (the store's `salary.currency`).
    let v = api.query(
        "admin",
        &format!(r#"mutation {{ createOffer(input: {{applicationId: "{application}", terms: {{salary: 1, salaryCurrency: "eur"}}}}) {{ id }} }}"#),
    );
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["field"], "terms.salaryCurrency",
        "{v}"
    );
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("`terms.salaryCurrency`"),
        "{v}"
    );
    let d = api.data("admin", &format!(r#"mutation {{ updateOffer(input: {{offerId: "{offer}", status: pending_approval}}) {{ status }} }}"#));
    assert_eq!(at(&d, "updateOffer.status"), "pending_approval");
    // An offer status that may not follow: CONFLICT or BAD_USER_INPUT, with the field.
    let v = api.query("admin", &format!(r#"mutation {{ updateOffer(input: {{offerId: "{offer}", status: accepted}}) {{ status }} }}"#));
    assert!(matches!(code(&v), "CONFLICT" | "BAD_USER_INPUT"), "{v}");
    // Not hired on an offer that is not accepted: CONFLICT naming it.
    let hire = format!(
        r#"mutation {{ hireApplication(input: {{applicationId: "{application}"}}) {{ status currentStage {{ kind }} interviews {{ nodes {{ id status }} }} }} }}"#
    );
    let v = api.query("recruiter", &hire);
    assert_eq!(code(&v), "CONFLICT", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("is `pending_approval`; an application is hired on an accepted offer"),
        "{v}"
    );
    for status in ["approved", "sent", "accepted"] {
        let d = api.data("admin", &format!(r#"mutation {{ updateOffer(input: {{offerId: "{offer}", status: {status}}}) {{ status }} }}"#));
        assert_eq!(at(&d, "updateOffer.status"), status);
    }
    // An interview still ahead is cancelled by the hire.
    let ahead = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(72);
    let d = api.data(
        "recruiter",
        &format!(
            r#"mutation {{ scheduleInterview(input: {{applicationId: "{application}", stageId: "{next}", title: "Late", startsAt: "{}", endsAt: "{}", interviewers: [{{userId: "{interviewer}", role: interviewer}}]}}) {{ id }} }}"#,
            ahead.strftime("%Y-%m-%dT%H:%M:%SZ"),
            (ahead + jiff::SignedDuration::from_hours(1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
    );
    let late = at(&d, "scheduleInterview.id").clone();
    let d = api.data("recruiter", &hire);
    assert_eq!(at(&d, "hireApplication.status"), "hired");
    let nodes = at(&d, "hireApplication.interviews.nodes")
        .as_array()
        .unwrap();
    let late = nodes.iter().find(|n| n["id"] == late).unwrap();
    assert_eq!(late["status"], "cancelled", "{late}");
    assert_eq!(at(&d, "hireApplication.currentStage.kind"), "hired");
    // A hired application cannot be archived: CONFLICT, nothing changed.
    assert!(matches!(
        code(&api.query("recruiter", &move_it)),
        "CONFLICT" | "BAD_USER_INPUT"
    ));

    // Jobs: a recruiter may not create one (no `edit` on departments by default); an admin may.
    let department = api.data("admin", "{ departments(first: 1) { nodes { id } } }");
    let department = at(&department, "departments.nodes.0.id")
        .as_str()
        .unwrap()
        .to_owned();
    let recruiter_id = api.user("recruiter").to_owned();
    let new_job = format!(
        r#"mutation {{ createJob(input: {{title: "Staff Engineer", departmentId: "{department}", location: "Berlin", employmentType: full_time, stages: [{{name: "Screen", kind: screen}}, {{name: "Hired", kind: hired}}], hiringTeam: [{{userId: "{recruiter_id}", role: recruiter}}]}}) {{ id status stages {{ totalCount }} }} }}"#
    );
    assert_eq!(code(&api.query("recruiter", &new_job)), "FORBIDDEN");
    let d = api.data("admin", &new_job);
    let new_job_id = at(&d, "createJob.id").as_str().unwrap().to_owned();
    assert_eq!(at(&d, "createJob.stages.totalCount"), &json!(2));
    let d = api.data("recruiter", &format!(r#"mutation {{ updateJob(input: {{jobId: "{new_job_id}", status: open}}) {{ status }} }}"#));
    assert_eq!(at(&d, "updateJob.status"), "open");

    // The job's pipeline: a stage added before `Hired`, renamed, removed; one in use stays.
    let stage_names = |d: &Value, path: &str| -> Vec<String> {
        let mut stages: Vec<(i64, String)> = at(d, path)
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["position"].as_i64().unwrap(),
                    n["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        stages.sort();
        stages.into_iter().map(|(_, n)| n).collect()
    };
    let d = api.data("admin", &format!(r#"{{ job(id: "{new_job_id}") {{ stages(first: 10, filter: {{kind: hired}}) {{ nodes {{ id }} }} }} }}"#));
    let hired_stage = at(&d, "job.stages.nodes.0.id").as_str().unwrap().to_owned();
    let d = api.data("recruiter", &format!(r#"mutation {{ addStage(input: {{jobId: "{new_job_id}", name: "Onsite", kind: onsite, beforeStageId: "{hired_stage}"}}) {{ id stages(first: 10) {{ nodes {{ id name kind position }} }} }} }}"#));
    assert_eq!(
        stage_names(&d, "addStage.stages.nodes"),
        ["Screen", "Onsite", "Hired"]
    );
    let onsite = at(&d, "addStage.stages.nodes")
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "onsite")
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .unwrap();
    let d = api.data("recruiter", &format!(r#"mutation {{ renameStage(input: {{stageId: "{onsite}", name: "Final interviews"}}) {{ id name job {{ id }} }} }}"#));
    assert_eq!(at(&d, "renameStage.name"), "Final interviews");
    assert_eq!(at(&d, "renameStage.job.id"), new_job_id.as_str());
    // The interviewer cannot see the new job (no application of it): not found, nothing changed.
    let v = api.query(
        "interviewer",
        &format!(
            r#"mutation {{ renameStage(input: {{stageId: "{onsite}", name: "x"}}) {{ id }} }}"#
        ),
    );
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let v = api.query(
        "admin",
        r#"mutation { removeStage(input: {stageId: "no_such_stage"}) { id } }"#,
    );
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    assert_eq!(v["errors"][0]["extensions"]["field"], "stageId", "{v}");
    let d = api.data("recruiter", &format!(r#"mutation {{ removeStage(input: {{stageId: "{onsite}"}}) {{ stages(first: 10) {{ nodes {{ name position }} }} }} }}"#));
    assert_eq!(
        stage_names(&d, "removeStage.stages.nodes"),
        ["Screen", "Hired"]
    );
    let d = api.data(
        "admin",
        &format!(r#"{{ application(id: "{application}") {{ currentStage {{ id }} }} }}"#),
    );
    let in_use = at(&d, "application.currentStage.id")
        .as_str()
        .unwrap()
        .to_owned();
    let v = api.query(
        "admin",
        &format!(r#"mutation {{ removeStage(input: {{stageId: "{in_use}"}}) {{ id }} }}"#),
    );
    assert_eq!(code(&v), "CONFLICT", "{v}");
    let d = api.data(
        "admin",
        &format!(r#"{{ application(id: "{application}") {{ currentStage {{ id }} }} }}"#),
    );
    assert_eq!(at(&d, "application.currentStage.id"), in_use.as_str());

    // Custom fields.
    at(&api.data("admin", r#"mutation { createCustomField(input: {entity: "candidate", key: "github", label: "GitHub", type: "text"}) }"#), "createCustomField");
    api.data("recruiter", &format!(r#"mutation {{ setCustomFieldValue(input: {{entity: "candidate", recordId: "{candidate}", key: "github", value: "ada"}}) }}"#));
    let d = api.data(
        "recruiter",
        &format!(r#"{{ candidate(id: "{candidate}") {{ custom(key: "github") }} }}"#),
    );
    assert_eq!(at(&d, "candidate.custom"), "ada");
    let v = api.query("recruiter", &format!(r#"mutation {{ setCustomFieldValue(input: {{entity: "candidate", recordId: "{candidate}", key: "nope", value: 1}}) }}"#));
    assert_eq!(v["errors"][0]["extensions"]["field"], "key", "{v}");
    // A map of custom fields: the field path camel-cases the API's names, never the keys.
    for (values, field) in [
        (r#"{github: 1}"#, r#"customFields["github"]"#),
        (r#"{no_such_key: "x"}"#, r#"customFields["no_such_key"]"#),
    ] {
        let v = api.query(
            "admin",
            &format!(r#"mutation {{ createCandidate(input: {{name: "Mapped", customFields: {values}}}) {{ id }} }}"#),
        );
        assert_eq!(code(&v), "BAD_USER_INPUT", "{values}: {v}");
        assert_eq!(
            v["errors"][0]["extensions"]["field"], field,
            "{values}: {v}"
        );
        let message = v["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("`{field}`: ")),
            "{values}: {v}"
        );
    }

    // A candidate's own fields: given ones set, null clears, absent ones stay.
    let update = |fields: &str| {
        api.data("recruiter", &format!(r#"mutation {{ updateCandidate(input: {{candidateId: "{candidate}", {fields}}}) {{ name phone location email }} }}"#))
    };
    let d = update(r#"name: "Ada L.", phone: "+49 30 1234", location: "Paris""#);
    assert_eq!(at(&d, "updateCandidate.name"), "Ada L.");
    assert_eq!(at(&d, "updateCandidate.phone"), "+49 30 1234");
    let d = update("phone: null");
    assert_eq!(d["updateCandidate"]["phone"], Value::Null, "{d}");
    assert_eq!(at(&d, "updateCandidate.location"), "Paris");
    assert_eq!(at(&d, "updateCandidate.name"), "Ada L.");
    assert!(at(&d, "updateCandidate.email").is_string(), "{d}");
    for (bad, field) in [
        (r#"name: """#, "name"),
        (r#"tags: ["a", "a"]"#, "tags[1]"),
        (r#"timezone: "Mars/Base""#, "timezone"),
        ("name: null", "name"),
    ] {
        let v = api.query("recruiter", &format!(r#"mutation {{ updateCandidate(input: {{candidateId: "{candidate}", {bad}}}) {{ id }} }}"#));
        assert_eq!(code(&v), "BAD_USER_INPUT", "{bad}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{bad}: {v}");
    }
    // The interviewer sees the candidate (they interview them) but may not change them.
    let v = api.query("interviewer", &format!(r#"mutation {{ updateCandidate(input: {{candidateId: "{candidate}", name: "x"}}) {{ id }} }}"#));
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    let d = api.data(
        "admin",
        &format!(r#"{{ candidate(id: "{candidate}") {{ name }} }}"#),
    );
    assert_eq!(at(&d, "candidate.name"), "Ada L.");

    // Another org's ids are simply not found, and that org is untouched.
    let theirs = {
        let (_, v) = api.post(Some(&api.other_admin.clone()), &json!({ "query": "{ applications(first: 1, filter: {status: active}) { nodes { id } } }" }), &[]);
        at(&v, "data.applications.nodes.0.id")
            .as_str()
            .unwrap()
            .to_owned()
    };
    let v = api.query("admin", &format!(r#"mutation {{ archiveApplication(input: {{applicationId: "{theirs}", reason: "x"}}) {{ id }} }}"#));
    assert_eq!(code(&v), "NOT_FOUND");
    let (_, v) = api.post(
        Some(&api.other_admin.clone()),
        &json!({ "query": format!(r#"{{ application(id: "{theirs}") {{ status }} }}"#) }),
        &[],
    );
    assert_eq!(at(&v, "data.application.status"), "active");
    // Malformed input to a mutation: a validation error, nothing written.
    let before = counts(&api);
    for bad in [
        "mutation { createCandidate(input: {}) { id } }",
        "mutation { createCandidate(input: {name: 3}) { id } }",
        r#"mutation { applyToJob(input: {candidateId: "", jobId: "x"}) { id } }"#,
        r#"mutation { createCandidate(input: {name: "T", timezone: "Mars/Base"}) { id } }"#,
    ] {
        let v = api.query("admin", bad);
        assert!(v.get("errors").is_some(), "{bad}: {v}");
    }
    assert_eq!(counts(&api), before);
}

on_both!(workflow_through_the_api);

/// A scorecard's notes and scores through the API: submitted and edited by its author, who
/// reads them back in the mutations' answers, by id, through the interview and with a `where` in
/// the report language; an admin and the job's recruiter see the same (the default policy shows a
/// scorecard whole to whoever may see it: no field group masks notes or scores), another
/// interviewer on the panel sees no scorecard until they have submitted their own.
fn feedback_notes_and_scores_through_the_api(db: Db) {
    let mut api = Api::start(db, |_| {});
    let (job, stage) = api.open_job();
    let application = api.new_applicant(&job, "Grace Hopper");
    let interviewer = api.user("interviewer").to_owned();
    let co_interviewer = api
        .store
        .active_users(ORG)
        .unwrap()
        .into_iter()
        .find(|u| u.role == "interviewer" && u.id != interviewer)
        .unwrap()
        .id;
    let co_token = app::Services::new()
        .create_token(&mut api.store, ORG, &co_interviewer, "test", None, now())
        .unwrap()
        .token;
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
    let (start, end) = (
        start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (start + jiff::SignedDuration::from_hours(1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    );
    let d = api.data(
        "recruiter",
        &format!(r#"mutation {{ scheduleInterview(input: {{applicationId: "{application}", stageId: "{stage}", title: "Design", startsAt: "{start}", endsAt: "{end}", interviewers: [{{userId: "{interviewer}", role: interviewer}}, {{userId: "{co_interviewer}", role: interviewer}}], status: completed}}) {{ id }} }}"#),
    );
    let interview = at(&d, "scheduleInterview.id").as_str().unwrap().to_owned();

    // Submitted, then edited: each answer shows what was stored.
    let d = api.data(
        "interviewer",
        &format!(r#"mutation {{ submitFeedback(input: {{interviewId: "{interview}", recommendation: yes, scores: {{coding: 4, system_design: 3}}, notes: "Clear on trade-offs"}}) {{ id notes scores }} }}"#),
    );
    let feedback = at(&d, "submitFeedback.id").as_str().unwrap().to_owned();
    assert_eq!(at(&d, "submitFeedback.notes"), "Clear on trade-offs");
    assert_eq!(
        at(&d, "submitFeedback.scores"),
        &json!({"coding": 4, "system_design": 3})
    );
    let d = api.data(
        "interviewer",
        &format!(r#"mutation {{ updateFeedback(input: {{feedbackId: "{feedback}", scores: {{coding: 2}}, notes: "Second look: weaker on code"}}) {{ notes scores recommendation }} }}"#),
    );
    assert_eq!(
        at(&d, "updateFeedback.notes"),
        "Second look: weaker on code"
    );
    assert_eq!(at(&d, "updateFeedback.scores"), &json!({"coding": 2}));
    assert_eq!(at(&d, "updateFeedback.recommendation"), "yes");

    // Read back by whoever may see the scorecard: the same notes and scores.
    let by_id = format!(r#"{{ feedbackById(id: "{feedback}") {{ notes scores }} }}"#);
    for role in ["interviewer", "admin", "recruiter"] {
        let d = api.data(role, &by_id);
        assert_eq!(
            d["feedbackById"],
            json!({"notes": "Second look: weaker on code", "scores": {"coding": 2}}),
            "{role}"
        );
    }
    let d = api.data(
        "interviewer",
        &format!(
            r#"{{ interview(id: "{interview}") {{ feedback {{ nodes {{ id notes scores }} }} }} }}"#
        ),
    );
    assert_eq!(
        at(&d, "interview.feedback.nodes"),
        &json!([{"id": feedback, "notes": "Second look: weaker on code", "scores": {"coding": 2}}])
    );
    // Notes are text in the report language; scores may only be shown (or tested for null).
    let d = api.data(
        "interviewer",
        r#"{ feedback(where: "notes contains \"weaker\" and scores is not null") { nodes { id } } }"#,
    );
    assert_eq!(at(&d, "feedback.nodes"), &json!([{ "id": feedback }]));
    let v = api.query(
        "interviewer",
        r#"{ feedback(where: "scores = \"x\"") { nodes { id } } }"#,
    );
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
    // Another interviewer on the panel sees no scorecard, so neither notes nor scores.
    let (status, v) = api.post(Some(&co_token), &json!({ "query": by_id }), &[]);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["feedbackById"], Value::Null, "{v}");
    // Once they have submitted their own, they see the others' (DESIGN: others' feedback only
    // after submitting one's own).
    let own = format!(
        r#"mutation {{ submitFeedback(input: {{interviewId: "{interview}", recommendation: no, scores: {{coding: 3}}}}) {{ id }} }}"#
    );
    let (status, v) = api.post(Some(&co_token), &json!({ "query": own }), &[]);
    assert_eq!(status, 200, "{v}");
    assert!(v.get("errors").is_none(), "{v}");
    let (_, v) = api.post(Some(&co_token), &json!({ "query": by_id }), &[]);
    assert_eq!(
        v["data"]["feedbackById"],
        json!({"notes": "Second look: weaker on code", "scores": {"coding": 2}}),
        "{v}"
    );
    // Clearing the notes keeps the scores.
    let d = api.data(
        "interviewer",
        &format!(r#"mutation {{ updateFeedback(input: {{feedbackId: "{feedback}", notes: null}}) {{ notes scores }} }}"#),
    );
    assert_eq!(
        d["updateFeedback"],
        json!({"notes": null, "scores": {"coding": 2}})
    );
}

on_both!(feedback_notes_and_scores_through_the_api);

/// Scheduling through the API on an org generated with id `acme` (so that its ids are those of
/// the CLI's plan: `acme_pool_1`, `acme_usr_8`, `acme_app_5`; a generated org's eighth user is an
/// active hiring manager): the plan completed with the org's calendars gives ranked options, the
/// hiring-manager session seats its named person; an interviewer, who may not change the
/// application, is refused; a bad plan names the field.
fn scheduling_options_through_the_api(db: Db) {
    let acme = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: "acme".into(),
            applications: 300,
            seed: 7,
        },
        acme.path(),
    )
    .unwrap();
    {
        let mut store = Store::open(&db.url).unwrap();
        store
            .import(acme.path(), store::ImportOptions::default(), &mut |_| {})
            .unwrap();
    }
    let users: Vec<Value> = std::fs::read_to_string(acme.path().join("users.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hm = users.iter().find(|u| u["id"] == "acme_usr_8").unwrap();
    assert_eq!(
        (&hm["role"], &hm["active"]),
        (&json!("hiring_manager"), &json!(true))
    );
    // The recruiter on the hiring team of acme_app_5's job, and an interviewer.
    let job_of_app_5 = std::fs::read_to_string(acme.path().join("applications.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|a| a["id"] == "acme_app_5")
        .unwrap()["job_id"]
        .clone();
    let recruiter = std::fs::read_to_string(acme.path().join("jobs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|j| j["id"] == job_of_app_5)
        .unwrap()["hiring_team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "recruiter")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let interviewer = users
        .iter()
        .find(|u| u["role"] == "interviewer" && u["active"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut api = Api::start(db, |_| {});
    let services = app::Services::new();
    let mut token = |user: &str| {
        services
            .create_token(&mut api.store, "acme", user, "test", None, now())
            .unwrap()
            .token
    };
    let recruiter = token(&recruiter);
    let interviewer = token(&interviewer);
    let mut plan: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../cli/tests/data/acme-plan.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // Scheduling looks forward from the clock only: the plan's days from today on.
    plan.as_object_mut().unwrap().remove("now");
    let midnight = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .unwrap()
        .timestamp();
    let day = |d: i64| (midnight + jiff::SignedDuration::from_hours(24 * d)).to_string();
    plan["candidate"]["windows"] = json!([[day(2), day(10)]]);
    plan["candidate"]["horizon_days"] = json!(12);
    let body = |plan: &Value| {
        json!({
            "query": "query($plan: JSON!) { schedulingOptions(applicationId: \"acme_app_5\", plan: $plan) }",
            "variables": { "plan": plan },
        })
    };
    let (s, v) = api.post(Some(&recruiter), &body(&plan), &[]);
    assert_eq!(s, 200);
    let solution = at(&v, "data.schedulingOptions");
    assert_eq!(solution["status"], "options", "{v}");
    let hm = solution["options"][0]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session"] == "hiring-manager")
        .unwrap();
    assert_eq!(hm["seats"][0][0], "acme_usr_8");
    // The same as the CLI's path through `app`, solved directly.
    let request = app::scheduling::request_from_store(
        &mut api.store,
        "acme",
        "acme_app_5",
        plan.clone(),
        now(),
    )
    .unwrap();
    let direct = serde_json::to_value(scheduling::solve(&request).unwrap()).unwrap();
    assert_eq!(solution, &direct);
    // Book the best option for an active application: one interview per session.
    let (_, v) = api.post(
        Some(&recruiter),
        &json!({ "query": "{ applications(first: 1, filter: {status: active}) { nodes { id job { stages { nodes { id kind } } } } } }" }),
        &[],
    );
    let active = at(&v, "data.applications.nodes.0.id")
        .as_str()
        .unwrap()
        .to_owned();
    let (_, options) = api.post(
        Some(&recruiter),
        &json!({
            "query": format!("query($plan: JSON!) {{ schedulingOptions(applicationId: \"{active}\", plan: $plan) }}"),
            "variables": { "plan": plan },
        }),
        &[],
    );
    let best = at(&options, "data.schedulingOptions.options.0").clone();
    let stage = at(&v, "data.applications.nodes.0.job.stages.nodes")
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "onsite" || s["kind"] == "interview")
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .unwrap();
    let book = |option: &Value| {
        json!({
            "query": "mutation($plan: JSON!, $option: JSON!, $stage: ID!, $app: ID!) { bookInterviewLoop(input: {applicationId: $app, stageId: $stage, plan: $plan, option: $option}) { id title startsAt interviewParticipants { totalCount } } }",
            "variables": { "plan": plan, "option": option, "stage": stage, "app": active },
        })
    };
    let (_, v) = api.post(Some(&recruiter), &book(&best), &[]);
    let booked = at(&v, "data.bookInterviewLoop").as_array().unwrap().clone();
    assert_eq!(
        booked.len(),
        best["sessions"].as_array().unwrap().len(),
        "{v}"
    );
    for (interview, session) in booked.iter().zip(best["sessions"].as_array().unwrap()) {
        assert_eq!(interview["title"], session["session"]);
        assert_eq!(interview["startsAt"], session["start"]);
    }
    // Its events: one `interview.scheduled` per session, then `interview_loop.booked`.
    let events = |token: &str, args: &str| {
        let (_, v) = api.post(
            Some(token),
            &json!({ "query": format!("{{ events({args}) {{ pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ sequence type subject data cloudEvent }} }} }} }}") }),
            &[],
        );
        v
    };
    let v = events(&recruiter, "first: 100");
    let nodes: Vec<Value> = at(&v, "data.events.edges")
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    let types: Vec<&str> = nodes.iter().map(|n| n["type"].as_str().unwrap()).collect();
    let mut expected = vec!["hireplane.interview.scheduled.v1"; booked.len()];
    expected.push("hireplane.interview_loop.booked.v1");
    assert_eq!(types, expected, "{v}");
    let ids: Vec<&Value> = booked.iter().map(|b| &b["id"]).collect();
    assert_eq!(nodes.last().unwrap()["data"]["interview_ids"], json!(ids));
    assert_eq!(
        nodes.last().unwrap()["subject"],
        format!("application/{active}")
    );
    assert_eq!(nodes[0]["cloudEvent"]["orgid"], "acme");
    assert_eq!(at(&v, "data.events.pageInfo.hasNextPage"), false);
    // Page by page with the cursors: the same events.
    let mut paged = Vec::new();
    let mut after = String::new();
    loop {
        let args = if after.is_empty() {
            "first: 1".to_owned()
        } else {
            format!("first: 1, after: \"{after}\"")
        };
        let v = events(&recruiter, &args);
        for e in at(&v, "data.events.edges").as_array().unwrap() {
            paged.push(e["node"]["sequence"].clone());
        }
        after = at(&v, "data.events.pageInfo.endCursor")
            .as_str()
            .unwrap()
            .to_owned();
        if at(&v, "data.events.pageInfo.hasNextPage") == false {
            break;
        }
    }
    let all: Vec<&Value> = nodes.iter().map(|n| &n["sequence"]).collect();
    assert_eq!(paged.iter().collect::<Vec<_>>(), all);
    // Polling after the end: nothing new, the cursor stays.
    let v = events(&recruiter, &format!("after: \"{after}\""));
    assert!(at(&v, "data.events.edges").as_array().unwrap().is_empty());
    assert_eq!(
        at(&v, "data.events.pageInfo.endCursor").as_str(),
        Some(after.as_str())
    );
    // Filtered by type; bad arguments name themselves.
    let v = events(&recruiter, "type: \"interview_loop.booked\"");
    assert_eq!(at(&v, "data.events.edges").as_array().unwrap().len(), 1);
    for (args, field) in [
        ("type: \"interview.teleported\"", "type"),
        ("after: \"zz\"", "after"),
        ("first: 0", "first"),
        ("first: 501", "first"),
    ] {
        let v = events(&recruiter, args);
        assert_eq!(code(&v), "BAD_USER_INPUT", "{args}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{args}: {v}");
    }
    // Booking it again: those people are now busy then, so it no longer fits; nothing written.
    let (_, v) = api.post(Some(&recruiter), &book(&best), &[]);
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
    assert_eq!(v["errors"][0]["extensions"]["field"], "option");
    let v = events(&recruiter, "first: 100");
    assert_eq!(
        at(&v, "data.events.edges").as_array().unwrap().len(),
        nodes.len(),
        "a refused booking wrote events"
    );
    // Someone the plan could seat who is not in the booked loop.
    let outsider =
        app::scheduling::request_from_store(&mut api.store, "acme", &active, plan.clone(), now())
            .unwrap()
            .interviewers
            .into_iter()
            .map(|i| i.id)
            .find(|u| !best.to_string().contains(&format!("\"{u}\"")))
            .unwrap();
    // Repairs of the booked loop. The loop's own interviews (now in the store) must not count
    // against it: with a decline by someone who is not in it, nothing has to change.
    let repair = |who: &str| {
        let (_, v) = api.post(
            Some(&recruiter),
            &json!({
                "query": "query($plan: JSON!, $booked: JSON!, $app: ID!, $who: ID!) { repairInterviewLoop(applicationId: $app, plan: $plan, booked: $booked, declined: $who) }",
                "variables": { "plan": plan, "booked": best, "app": active, "who": who },
            }),
            &[],
        );
        at(&v, "data.repairInterviewLoop").clone()
    };
    let r = repair(&outsider);
    assert_eq!(r["step"], "unchanged", "{r}");
    // A member of the loop declines: wherever a repair exists, the decliner no longer sits.
    for session in best["sessions"].as_array().unwrap() {
        let decliner = session["seats"][0][0].as_str().unwrap();
        let r = repair(decliner);
        assert_ne!(r["step"], "unchanged", "{r}");
        if let Some(first) = r["solution"]["options"].get(0) {
            assert!(
                !first.to_string().contains(&format!("\"{decliner}\"")),
                "{r}"
            );
        }
    }
    // Not the interviewer's to schedule.
    let (_, v) = api.post(Some(&interviewer), &body(&plan), &[]);
    assert!(matches!(code(&v), "NOT_FOUND" | "FORBIDDEN"), "{v}");
    // A plan that names interviewers itself is refused, naming the field.
    let mut bad = plan.clone();
    bad["interviewers"] = json!([]);
    let (_, v) = api.post(Some(&recruiter), &body(&bad), &[]);
    assert_eq!(code(&v), "BAD_USER_INPUT");
    assert_eq!(v["errors"][0]["extensions"]["field"], "plan");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("interviewers"),
        "{v}"
    );
}

on_both!(scheduling_options_through_the_api);

/// How many candidates named `name` the admin sees.
fn candidates_named(api: &Api, name: &str) -> i64 {
    let d = api.data(
        "admin",
        &format!(r#"{{ candidates(where: "name = \"{name}\"") {{ totalCount }} }}"#),
    );
    d["candidates"]["totalCount"].as_i64().unwrap()
}

/// An `Idempotency-Key` is released only when nothing was committed: a request whose first
/// mutation wrote and whose second failed, or whose write committed but whose read-back failed,
/// keeps its answer, and a retry replays it instead of writing again. A request that changed
/// nothing releases its key.
fn idempotency_keeps_what_committed(db: Db) {
    let api = Api::start(db, |_| {});
    let admin = api.token("admin").to_owned();
    let jobs = api.data(
        "admin",
        "{ jobs(filter: {status: open}, first: 1) { nodes { id } } }",
    );
    let job = at(&jobs, "jobs.nodes.0.id").as_str().unwrap().to_owned();
    // One mutation commits, the next fails.
    let multi = json!({ "query": format!(
        r#"mutation {{ a: createCandidate(input: {{name: "Multi1", jobId: "{job}"}}) {{ id }} b: createCandidate(input: {{name: ""}}) {{ id }} }}"#
    )});
    let answers: Vec<Value> = (0..3)
        .map(|_| {
            let (s, v) = api.post(Some(&admin), &multi, &[("Idempotency-Key", "multi-1")]);
            assert_eq!(s, 200, "{v}");
            v
        })
        .collect();
    at(&answers[0], "data.a.id");
    assert!(answers[0]["errors"][0].is_object(), "{}", answers[0]);
    assert_eq!(candidates_named(&api, "Multi1"), 1, "retries wrote again");
    assert_eq!(answers[1], answers[0], "a retry replays the first answer");
    assert_eq!(answers[2], answers[0], "a retry replays the first answer");
    // The write commits, the read-back selection fails.
    let readback = json!({ "query":
        r#"mutation { createCandidate(input: {name: "Readback1"}) { id applications(where: "stauts = 1") { nodes { id } } } }"#
    });
    let answers: Vec<Value> = (0..2)
        .map(|_| {
            let (s, v) = api.post(
                Some(&admin),
                &readback,
                &[("Idempotency-Key", "readback-1")],
            );
            assert_eq!(s, 200, "{v}");
            v
        })
        .collect();
    assert!(answers[0]["errors"][0].is_object(), "{}", answers[0]);
    assert_eq!(
        candidates_named(&api, "Readback1"),
        1,
        "the retry wrote again"
    );
    assert_eq!(answers[1], answers[0]);
    // Nothing committed: the key is released, so another request may use it.
    let empty = json!({ "query": r#"mutation { createCandidate(input: {name: ""}) { id } }"# });
    let (s, v) = api.post(Some(&admin), &empty, &[("Idempotency-Key", "empty-1")]);
    assert_eq!((s, code(&v)), (200, "BAD_USER_INPUT"));
    let other =
        json!({ "query": r#"mutation { createCandidate(input: {name: "Released1"}) { id } }"# });
    let (s, v) = api.post(Some(&admin), &other, &[("Idempotency-Key", "empty-1")]);
    assert_eq!(s, 200, "{v}");
    at(&v, "data.createCandidate.id");
    assert_eq!(candidates_named(&api, "Released1"), 1);
}

on_both!(idempotency_keeps_what_committed);

/// A client that sends a mutation with an `Idempotency-Key` and goes away at once still gets
/// its answer on a retry: the mutation and the storing of its answer run on (red team, pass 4:
/// the key stayed reserved for a day and every retry was refused `IDEMPOTENCY_KEY_IN_USE`).
fn idempotency_survives_a_client_that_goes_away(db: Db) {
    use std::io::Write;
    let api = Api::start(db, |_| {});
    let admin = api.token("admin").to_owned();
    let body = json!({ "query": r#"mutation { createCandidate(input: {name: "Gone1"}) { id } }"# })
        .to_string();
    let addr = api.server.base.trim_start_matches("http://").to_owned();
    for round in 0..5 {
        let key = format!("gone-{round}");
        {
            let mut socket = std::net::TcpStream::connect(&addr).unwrap();
            write!(
                socket,
                "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {admin}\r\n\
                 Content-Type: application/json\r\nIdempotency-Key: {key}\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            socket.flush().unwrap();
            // Gone before the answer.
        }
        let mut answered = None;
        for _ in 0..50 {
            let mut resp = api
                .server
                .agent
                .post(format!("{}/graphql", api.server.base))
                .header("Authorization", format!("Bearer {admin}"))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", &key)
                .send(body.as_str())
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.body_mut().read_to_string().unwrap();
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            if status == 409 {
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
            answered = Some((status, v));
            break;
        }
        let (status, v) = answered.expect("the key was settled");
        assert_eq!(status, 200, "{v}");
        at(&v, "data.createCandidate.id");
    }
    assert_eq!(candidates_named(&api, "Gone1"), 5, "each key wrote once");
}
on_both!(idempotency_survives_a_client_that_goes_away);

/// The `operation` label of the request metrics is a root field of the schema or `invalid`,
/// whatever root field names a client makes up.
#[test]
fn metric_labels_are_bounded_by_the_schema() {
    let api = Api::start(sqlite_db(), |s| s.limits.rate_per_second = 0);
    for i in 0..5 {
        let v = api.query("admin", &format!("{{ zzmadeup{i} }}"));
        assert!(v["errors"][0].is_object(), "{v}");
    }
    let long = format!("zzlong{}", "x".repeat(5000));
    api.query("admin", &format!("{{ {long} }}"));
    api.query("admin", "mutation { zzmadeupmutation(input: {}) { id } }");
    api.data("admin", "{ viewer { user } }");
    let (s, metrics) = api.get("/metrics");
    assert_eq!(s, 200);
    assert!(
        !metrics.contains("zzmadeup"),
        "a made-up field became a label"
    );
    assert!(
        !metrics.contains("zzlong"),
        "a made-up field became a label"
    );
    assert!(
        metrics.contains(
            r#"hireplane_api_requests_total{operation="invalid",outcome="client_error"}"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hireplane_api_requests_total{operation="viewer",outcome="ok"}"#),
        "{metrics}"
    );
}

/// One query text with the cursor in its variables, as Relay clients page: from its second
/// parse on the text's document is reused (the documents cache), and every page is still the
/// page its variables ask for.
#[test]
fn one_text_pages_through_its_variables() {
    let api = Api::start(sqlite_db(), |s| s.limits.rate_per_second = 0);
    let admin = api.token("admin").to_owned();
    let text = "query Page($after: String) { applications(first: 7, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } } }";
    let all = api.data("admin", "{ applications(first: 28) { nodes { id } } }");
    let all = node_ids(&all, "applications.nodes");
    assert_eq!(all.len(), 28, "the test org has more than four pages");
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for _ in 0..4 {
        let body = json!({ "query": text, "variables": { "after": after } });
        let (status, v) = api.post(Some(&admin), &body, &[]);
        assert_eq!(status, 200, "{v}");
        seen.extend(node_ids(&v["data"], "applications.nodes"));
        after = v["data"]["applications"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, all);
    let (_, metrics) = api.get("/metrics");
    assert!(
        metrics.contains(r#"hireplane_api_documents_total{outcome="cached"}"#),
        "{metrics}"
    );
}

/// A body that is JSON but no GraphQL request (no `query`, an empty one, an array) is a 400.
#[test]
fn bodies_without_a_query_are_bad_requests() {
    let api = Api::start(sqlite_db(), |s| s.limits.rate_per_second = 0);
    let admin = api.token("admin").to_owned();
    for body in [
        "{}",
        "[]",
        r#"{"query":""}"#,
        r#"{"query":"  "}"#,
        r#"["{ viewer { user } }"]"#,
    ] {
        let mut resp = api
            .server
            .agent
            .post(format!("{}/graphql", api.server.base))
            .header("Authorization", format!("Bearer {admin}"))
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap();
        assert_eq!(status, 400, "{body}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(code(&v), "BAD_REQUEST", "{body}: {v}");
        assert!(text.contains("JSON with `query`"), "{body}: {text}");
    }
}

/// On PostgreSQL a statement stopped by the statement timeout is `TIMEOUT` (reports and list
/// reads) and counts as `outcome="timeout"`: another session holds a lock on `applications`,
/// so every statement that reads them waits until the timeout stops it.
#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn statement_timeouts_are_timeouts() {
    let api = Api::start(postgres_db(), |s| {
        s.limits.statement_timeout_ms = 300;
        s.limits.rate_per_second = 0;
    });
    // Before the lock, all is well.
    api.data("admin", r#"{ report(name: "funnel") { rows } }"#);
    let first = api.data(
        "admin",
        r#"{ applications(first: 1, where: "status = \"active\"") { nodes { id } } }"#,
    );
    let application = node_ids(&first, "applications.nodes")[0].clone();
    let mut locker = postgres::Client::connect(&api.db.url, postgres::NoTls).unwrap();
    let mut tx = locker.transaction().unwrap();
    tx.batch_execute("LOCK TABLE applications IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    for query in [
        r#"{ report(name: "funnel") { rows } }"#,
        r#"{ report(text: "report applications show id, status") { rows } }"#,
        "{ applications(first: 5) { nodes { id } } }",
        r#"{ applications(where: "status = \"active\"") { nodes { id } } }"#,
    ] {
        let started = std::time::Instant::now();
        let v = api.query("admin", query);
        assert_eq!(code(&v), "TIMEOUT", "{query}: {v}");
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("statement timeout"),
            "{v}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{query}");
    }
    // A command waits for the same lock: a timeout too, and nothing changed.
    let v = api.query(
        "admin",
        &format!(
            r#"mutation {{ archiveApplication(input: {{applicationId: "{application}", reason: "x"}}) {{ id }} }}"#
        ),
    );
    assert_eq!(code(&v), "TIMEOUT", "{v}");
    tx.rollback().unwrap();
    let still = api.data(
        "admin",
        &format!(r#"{{ application(id: "{application}") {{ status }} }}"#),
    );
    assert_eq!(at(&still, "application.status"), "active", "{still}");
    api.data("admin", r#"{ report(name: "funnel") { rows } }"#);
    let (_, metrics) = api.get("/metrics");
    assert!(
        metrics.contains(r#"hireplane_report_runs_total{outcome="timeout"}"#),
        "{metrics}"
    );
}

/// Reads `stream` until the peer closes it or `within` passes: what arrived, and when the first
/// byte did (or the end, when nothing did).
fn read_answer(stream: &mut std::net::TcpStream, within: Duration) -> (String, Duration) {
    use std::io::Read;
    let started = std::time::Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut got = Vec::new();
    let mut first = None;
    let mut buf = [0u8; 4096];
    while started.elapsed() < within {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                first.get_or_insert(started.elapsed());
                got.extend_from_slice(&buf[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        first.unwrap_or_else(|| started.elapsed()),
    )
}

/// A client that never finishes its headers is disconnected after `limits.header_read_timeout_ms`;
/// one that sends its body a byte at a time gets a 408 once `limits.request_timeout_ms` has
/// passed, not when the body is complete.
#[test]
fn slow_clients_are_cut_off() {
    use std::io::Write;
    let api = Api::start(sqlite_db(), |s| {
        s.limits.header_read_timeout_ms = 500;
        s.limits.request_timeout_ms = 1_500;
        s.limits.rate_per_second = 0;
    });
    let addr = api.server.running.as_ref().unwrap().addr;
    // Headers never finished.
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    let (_, _) = read_answer(&mut c, Duration::from_secs(10));
    let closed_after = started.elapsed();
    assert!(
        closed_after < Duration::from_secs(4),
        "the connection stayed open {closed_after:?}"
    );
    // A body of 31 bytes, one every 300 ms (9.3 s in all).
    let body = br#"{"query":"{ viewer { user } }"}"#;
    assert_eq!(body.len(), 31);
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.write_all(
        format!(
            "POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            api.token("admin"),
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut writer = c.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for b in body {
            if writer.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    let (answer, after) = read_answer(&mut c, Duration::from_secs(15));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("TIMEOUT"), "{answer}");
    assert!(after < Duration::from_secs(5), "answered after {after:?}");
    drop(c);
    let _ = trickle.join();
    // The server still answers others.
    api.data("admin", "{ viewer { user } }");
}

/// Lists cost their page size times the pages above them: a query that nests large pages is
/// refused before it runs, naming the field and the cost; so is a request with more mutations
/// than `limits.max_mutations`.
#[test]
fn costly_queries_and_many_mutations_are_refused() {
    let api = Api::start(sqlite_db(), |s| s.limits.rate_per_second = 0);
    let nested = "{ a: applications(first: 200) { nodes { id job { applications(first: 200) { nodes { id job { applications(first: 200) { nodes { id } } } } } } } } }";
    let v = api.query("admin", nested);
    let message = v["errors"][0]["message"].as_str().unwrap_or_default();
    assert_eq!(code(&v), "TOO_COSTLY", "{v}");
    assert!(
        message.contains("`a.nodes.job.applications.nodes.job.applications`")
            && message.contains("8040200"),
        "{v}"
    );
    assert!(v.get("data").is_none_or(Value::is_null), "{v}");
    // Page sizes given as variables count as well.
    let (s, v) = api.post(
        Some(api.token("admin")),
        &json!({
            "query": "query($n: Int) { applications(first: $n) { nodes { job { applications(first: $n) { nodes { job { applications(first: $n) { nodes { id } } } } } } } } }",
            "variables": {"n": 200},
        }),
        &[],
    );
    assert_eq!((s, code(&v)), (200, "TOO_COSTLY"), "{v}");
    // Default pages (50) nest within the limit.
    api.data(
        "admin",
        "{ jobs { nodes { id applications { nodes { id } } } } }",
    );
    // Eleven mutations in one request: refused, nothing written.
    let many: String = (0..11)
        .map(|i| format!(r#"m{i}: createCandidate(input: {{name: "Many{i}"}}) {{ id }} "#))
        .collect();
    let v = api.query("admin", &format!("mutation {{ {many} }}"));
    assert_eq!(code(&v), "TOO_COSTLY", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("11 mutations"),
        "{v}"
    );
    assert_eq!(candidates_named(&api, "Many0"), 0);
    // Ten are fine.
    let ten: String = (0..10)
        .map(|i| format!(r#"m{i}: createCandidate(input: {{name: "Ten{i}"}}) {{ id }} "#))
        .collect();
    api.data("admin", &format!("mutation {{ {ten} }}"));
    assert_eq!(candidates_named(&api, "Ten9"), 1);
}

/// The ids of the nodes of the list at `path` of an answer.
fn node_ids(v: &Value, path: &str) -> Vec<String> {
    at(v, path)
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `setCustomFieldValue` answers with the record's custom fields as the caller reads them: a
/// sensitive field (admins only, by default) is not in a recruiter's or a hiring manager's
/// answer, even when they write a field of a record that has one; an admin's answer has it.
fn custom_field_answers_show_what_the_caller_reads(db: Db) {
    let api = Api::start(db, |_| {});
    let custom = |role: &str, entity: &str, id: &str, key: &str| {
        let q = format!(r#"{{ {entity}(id: "{id}") {{ custom(key: "{key}") }} }}"#);
        api.data(role, &q)[entity]["custom"].clone()
    };
    let set = |role: &str, entity: &str, id: &str, key: &str, value: &Value| {
        let q = format!(
            r#"mutation {{ setCustomFieldValue(input: {{entity: "{entity}", recordId: "{id}", key: "{key}", value: {value}}}) }}"#
        );
        at(&api.data(role, &q), "setCustomFieldValue").clone()
    };
    for (role, entity, list, sensitive, plain) in [
        (
            "recruiter",
            "candidate",
            "candidates",
            "visa_sponsorship",
            "years_of_experience",
        ),
        (
            "hiring_manager",
            "application",
            "applications",
            "current_salary",
            "",
        ),
    ] {
        // A record the role may change that has a value of the sensitive field.
        let with_sensitive: BTreeSet<String> = node_ids(
            &api.data(
                "admin",
                &format!(
                    r#"{{ {list}(first: 200, where: "custom.{sensitive} is not null") {{ nodes {{ id }} }} }}"#
                ),
            ),
            &format!("{list}.nodes"),
        )
        .into_iter()
        .collect();
        let id = api
            .all_ids(role, list)
            .into_iter()
            .find(|id| with_sensitive.contains(id))
            .unwrap_or_else(|| panic!("no {entity} of the {role} with `{sensitive}`"));
        assert!(!custom("admin", entity, &id, sensitive).is_null());
        assert!(
            custom(role, entity, &id, sensitive).is_null(),
            "masked for the {role}"
        );
        // A value the role may not read is not the role's to overwrite (red team R11).
        let before = custom("admin", entity, &id, sensitive);
        let q = format!(
            r#"mutation {{ setCustomFieldValue(input: {{entity: "{entity}", recordId: "{id}", key: "{sensitive}", value: 1}}) }}"#
        );
        let refused = api.query(role, &q);
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{role}: {refused}"
        );
        assert_eq!(custom("admin", entity, &id, sensitive), before, "{role}");
        // Writes a plain field (its current value back, or a new one).
        let (key, value) = if plain.is_empty() {
            let q = format!(
                r#"mutation {{ createCustomField(input: {{entity: "{entity}", key: "note_{role}", label: "Note", type: "text"}}) }}"#
            );
            at(&api.data("admin", &q), "createCustomField");
            (format!("note_{role}"), json!("hello"))
        } else {
            let current = custom(role, entity, &id, plain);
            let value = if current.is_null() { json!(7) } else { current };
            (plain.to_owned(), value)
        };
        let answer = set(role, entity, &id, &key, &value);
        let fields = answer.as_object().unwrap_or_else(|| panic!("{answer}"));
        assert!(!fields.contains_key(sensitive), "{role}: {answer}");
        assert_eq!(fields.get(&key), Some(&value), "{role}: {answer}");
        // Every field the answer shows reads the same through the read types.
        for (k, v) in fields {
            assert_eq!(&custom(role, entity, &id, k), v, "{role} {k}");
        }
        // The admin's answer for the same record shows the sensitive field.
        let answer = set("admin", entity, &id, &key, &value);
        assert_eq!(
            answer.get(sensitive),
            Some(&custom("admin", entity, &id, sensitive)),
            "{answer}"
        );
    }
}

on_both!(custom_field_answers_show_what_the_caller_reads);

/// Masked fields of every type read as null, for every role, without errors: compensation
/// (money, text, the salary period enum), contact details, and sensitive custom fields of
/// every custom type (text, number, boolean, date, select, multi-select); an admin reads them.
fn masked_fields_read_as_null(db: Db) {
    let api = Api::start(db, |_| {});
    let kinds = [
        ("text", "", json!("secret")),
        ("number", "", json!(12.5)),
        ("boolean", "", json!(true)),
        ("date", "", json!("2026-03-01")),
        ("select", r#", options: ["a", "b"]"#, json!("b")),
        (
            "multi_select",
            r#", options: ["a", "b"]"#,
            json!(["a", "b"]),
        ),
    ];
    for (ty, options, _) in &kinds {
        let q = format!(
            r#"mutation {{ createCustomField(input: {{entity: "candidate", key: "secret_{ty}", label: "Secret {ty}", type: "{ty}", sensitive: true{options}}}) }}"#
        );
        at(&api.data("admin", &q), "createCustomField");
    }
    let roles = ["admin", "recruiter", "hiring_manager", "interviewer"];
    // A candidate each role sees, with a value of every sensitive field.
    let mut seen = Vec::new();
    for role in roles {
        let id = api
            .all_ids(role, "candidates")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("the {role} sees no candidate"));
        for (ty, _, value) in &kinds {
            let q = format!(
                r#"mutation {{ setCustomFieldValue(input: {{entity: "candidate", recordId: "{id}", key: "secret_{ty}", value: {value}}}) }}"#
            );
            at(&api.data("admin", &q), "setCustomFieldValue");
        }
        seen.push((role, id));
    }
    let secrets: String = kinds
        .iter()
        .map(|(ty, _, _)| format!(r#" {ty}: custom(key: "secret_{ty}")"#))
        .collect();
    for (role, id) in &seen {
        let d = api.data(
            role,
            &format!(r#"{{ candidate(id: "{id}") {{ id email phone{secrets} }} }}"#),
        );
        for (ty, _, value) in &kinds {
            let expected = if *role == "admin" {
                value
            } else {
                &Value::Null
            };
            assert_eq!(&d["candidate"][ty], expected, "{role} {ty}: {d}");
        }
        if *role == "interviewer" {
            assert!(d["candidate"]["email"].is_null(), "{d}");
        }
        // Lists of every masked field, as every role.
        for q in [
            "{ offers(first: 200) { nodes { id status startDate salary salaryCurrency salaryPeriod bonus equity application { id } } } }",
            r#"{ applications(first: 200) { nodes { id status custom(key: "current_salary") } } }"#,
            r#"{ jobs(first: 200) { nodes { id status custom(key: "budget_max") } } }"#,
            &format!("{{ candidates(first: 200) {{ nodes {{ id email phone{secrets} }} }} }}"),
        ] {
            let d = api.data(role, q);
            if *role == "admin" {
                continue;
            }
            // Nothing restricted shows for the others, except what the policy grants.
            let list = d.as_object().unwrap().values().next().unwrap();
            for n in list["nodes"].as_array().unwrap() {
                for key in ["current_salary", "budget_max"]
                    .into_iter()
                    .chain(kinds.iter().map(|k| k.0))
                {
                    assert!(n.get("custom").is_none_or(Value::is_null), "{role}: {n}");
                    assert!(n.get(key).is_none_or(Value::is_null), "{role}: {n}");
                }
            }
        }
    }
    // The recruiter sees some offers whose compensation is masked (not on the hiring team),
    // and reads their salary period as null.
    let d = api.data(
        "recruiter",
        "{ offers(first: 200) { nodes { id salary salaryPeriod } } }",
    );
    let masked = d["offers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["salary"].is_null())
        .collect::<Vec<_>>();
    assert!(!masked.is_empty(), "{d}");
    assert!(masked.iter().all(|n| n["salaryPeriod"].is_null()), "{d}");
    let id = masked[0]["id"].as_str().unwrap();
    let d = api.data(
        "recruiter",
        &format!(r#"{{ offer(id: "{id}") {{ id salaryPeriod }} }}"#),
    );
    assert_eq!(d["offer"], json!({"id": id, "salaryPeriod": null}));
}

on_both!(masked_fields_read_as_null);

/// The named type under non-null and list wrappers of an introspected type reference, and its kind.
fn named_type(t: &Value) -> (String, String) {
    let mut t = t;
    while t["name"].is_null() {
        t = &t["ofType"];
    }
    (
        t["name"].as_str().unwrap().to_owned(),
        t["kind"].as_str().unwrap().to_owned(),
    )
}

/// The introspected type `name` of `types`.
fn type_named<'v>(types: &'v [Value], name: &str) -> &'v Value {
    types.iter().find(|t| t["name"] == name).unwrap()
}

/// Every field and every filter of every entity reads without error as an admin, found by
/// introspecting the schema (so a field added later is covered): a list of each entity with all
/// of its fields (to-one objects, to-many connections with their back condition, custom fields),
/// and each filter on its own with a value of its type. A field whose name is a keyword of the
/// report language (`StageTransition.by`) used to fail: the report text spelled it unquoted.
fn every_field_and_filter_reads(db: Db) {
    let api = Api::start(db, |_| {});
    let wrapped =
        "type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";
    let schema = api.data(
        "admin",
        &format!(
            "{{ __schema {{ queryType {{ fields {{ name args {{ name }} {wrapped} }} }} types {{ name kind fields {{ name args {{ name }} {wrapped} }} inputFields {{ name {wrapped} }} enumValues {{ name }} }} }} }}"
        ),
    );
    let types = at(&schema, "__schema.types").as_array().unwrap();
    let ty = |name: &str| type_named(types, name);
    // Every field of an entity: leaves, custom fields, to-one objects, and (when `nested`)
    // to-many connections with every field of theirs.
    fn selection(types: &[Value], entity: &str, nested: bool) -> String {
        let mut out = Vec::new();
        for f in type_named(types, entity)["fields"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            let (target, kind) = named_type(&f["type"]);
            match kind.as_str() {
                "OBJECT" => match target.strip_suffix("Connection") {
                    Some(node) if nested => out.push(format!(
                        "{name}(first: 2) {{ totalCount nodes {{ {} }} }}",
                        selection(types, node, false)
                    )),
                    Some(_) => {}
                    None => out.push(format!("{name} {{ __typename }}")),
                },
                _ if name == "custom" => {
                    let key = match entity {
                        "Candidate" => "visa_sponsorship",
                        "Application" => "current_salary",
                        "Job" => "budget_max",
                        other => panic!("a custom field of {other} for this test"),
                    };
                    out.push(format!(r#"custom(key: "{key}")"#));
                }
                _ => out.push(name.to_owned()),
            }
        }
        out.join(" ")
    }
    // Each filter of `entity` on its own, with a value of its type, as `filter: {...}`.
    let each_filter = |entity: &str| -> Vec<String> {
        ty(&format!("{entity}Filter"))["inputFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|input| {
                let name = input["name"].as_str().unwrap();
                let (target, kind) = named_type(&input["type"]);
                let value = match (kind.as_str(), target.as_str()) {
                    ("ENUM", _) => ty(&target)["enumValues"][0]["name"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    (_, "Int") => "1".to_owned(),
                    (_, "Float") => "1.5".to_owned(),
                    (_, "Boolean") => "true".to_owned(),
                    _ => r#""x""#.to_owned(),
                };
                format!("filter: {{{name}: {value}}}")
            })
            .collect()
    };
    let mut lists = 0;
    let mut filters = 0;
    let mut entities = BTreeSet::new();
    for root in at(&schema, "__schema.queryType.fields").as_array().unwrap() {
        let list = root["name"].as_str().unwrap();
        let (connection, _) = named_type(&root["type"]);
        let Some(entity) = connection.strip_suffix("Connection") else {
            continue;
        };
        if list == "events" || list == "backgroundJobs" || list == "auditLog" {
            // Not a list of an entity of the catalog (no filters, no totalCount): the org's
            // domain events, read in `scheduling_options_through_the_api`; its background
            // jobs; its audit log (`admin_api`).
            continue;
        }
        lists += 1;
        entities.insert(entity.to_owned());
        let q = format!(
            "{{ {list}(first: 3) {{ totalCount nodes {{ {} }} }} }}",
            selection(types, entity, true)
        );
        let d = api.data("admin", &q);
        assert!(
            !at(&d, &format!("{list}.nodes"))
                .as_array()
                .unwrap()
                .is_empty(),
            "{q}: {d}"
        );
        for filter in each_filter(entity) {
            api.data(
                "admin",
                &format!("{{ {list}(first: 1, {filter}) {{ totalCount }} }}"),
            );
            filters += 1;
        }
        // The filters of each to-many connection (entities without a list of their own too).
        for f in ty(entity)["fields"].as_array().unwrap() {
            let (target, _) = named_type(&f["type"]);
            let Some(node) = target.strip_suffix("Connection") else {
                continue;
            };
            entities.insert(node.to_owned());
            let name = f["name"].as_str().unwrap();
            for filter in each_filter(node) {
                api.data(
                    "admin",
                    &format!(
                        "{{ {list}(first: 2) {{ nodes {{ {name}(first: 1, {filter}) {{ totalCount }} }} }} }}"
                    ),
                );
                filters += 1;
            }
        }
    }
    assert!(
        lists >= 11 && entities.len() >= 13 && filters > 100,
        "{lists} lists, {entities:?}, {filters} filters"
    );
    // `by` itself, through the API: who moved each application.
    let d = api.data(
        "admin",
        "{ stageTransitions(first: 50) { nodes { id by { id } } } }",
    );
    let by = d["stageTransitions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|n| n["by"]["id"].as_str())
        .expect("a transition with `by`")
        .to_owned();
    let d = api.data(
        "admin",
        &format!(r#"{{ stageTransitions(first: 200, filter: {{byId: "{by}"}}) {{ nodes {{ by {{ id }} }} }} }}"#),
    );
    let nodes = d["stageTransitions"]["nodes"].as_array().unwrap();
    assert!(
        !nodes.is_empty() && nodes.iter().all(|n| n["by"]["id"] == by.as_str()),
        "{d}"
    );
}

on_both!(every_field_and_filter_reads);

/// A job's hiring team and `confidential` decide who sees it and its offers' pay: `updateJob`
/// changing them asks `manageHiringTeam` (admins, and the recruiters and hiring managers on
/// the team), so a recruiter who may edit a job cannot add themselves to its team nor hide it;
/// nothing changes when refused. A confidential job created by a recruiter must have them on
/// its team.
fn hiring_teams_are_managed_by_the_team(db: Db) {
    let mut api = Api::start(db, |_| {});
    let me = api.user("recruiter").to_owned();
    let hm = api.user("hiring_manager").to_owned();
    let team_of = |api: &Api, job: &str| -> BTreeSet<(String, String)> {
        let d = api.data(
            "admin",
            &format!(r#"{{ job(id: "{job}") {{ confidential hiringTeam(first: 50) {{ nodes {{ user {{ id }} role }} }} }} }}"#),
        );
        at(&d, "job.hiringTeam.nodes")
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["user"]["id"].as_str().unwrap().to_owned(),
                    m["role"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let team_input = |team: &BTreeSet<(String, String)>| -> String {
        let members: Vec<String> = team
            .iter()
            .map(|(u, r)| format!(r#"{{userId: "{u}", role: {r}}}"#))
            .collect();
        format!("[{}]", members.join(", "))
    };
    // A job the recruiter may edit (not confidential) but whose team they are not on, and one
    // of the hiring manager's.
    let jobs = node_ids(
        &api.data(
            "recruiter",
            "{ jobs(first: 200, filter: {confidential: false}) { nodes { id } } }",
        ),
        "jobs.nodes",
    );
    let off_team = jobs
        .iter()
        .find(|j| {
            let team = team_of(&api, j);
            !team.is_empty() && !team.iter().any(|(u, _)| *u == me)
        })
        .unwrap()
        .clone();
    let before = team_of(&api, &off_team);
    let mut with_me = before.clone();
    with_me.insert((me.clone(), "recruiter".to_owned()));
    for change in [
        format!("hiringTeam: {}", team_input(&with_me)),
        "confidential: true".to_owned(),
        format!("title: \"Renamed\", hiringTeam: {}", team_input(&with_me)),
    ] {
        let v = api.query(
            "recruiter",
            &format!(
                r#"mutation {{ updateJob(input: {{jobId: "{off_team}", {change}}}) {{ id }} }}"#
            ),
        );
        assert_eq!(code(&v), "FORBIDDEN", "{change}: {v}");
        assert_eq!(team_of(&api, &off_team), before, "{change}");
    }
    let d = api.data(
        "admin",
        &format!(r#"{{ job(id: "{off_team}") {{ title confidential }} }}"#),
    );
    assert_eq!(at(&d, "job.confidential"), false);
    assert_ne!(at(&d, "job.title"), "Renamed");
    // Editing the rest stays allowed, and so does giving the team and flag as they are.
    let d = api.data(
        "recruiter",
        &format!(
            r#"mutation {{ updateJob(input: {{jobId: "{off_team}", headcount: 3, confidential: false, hiringTeam: {}}}) {{ headcount }} }}"#,
            team_input(&before)
        ),
    );
    assert_eq!(at(&d, "updateJob.headcount"), 3);
    // The hiring manager manages the team of their own job; the admin any team.
    let hm_job = node_ids(
        &api.data("hiring_manager", "{ jobs(first: 1) { nodes { id } } }"),
        "jobs.nodes",
    )
    .remove(0);
    let mut grown = team_of(&api, &hm_job);
    assert!(grown.iter().any(|(u, _)| *u == hm));
    grown.insert((me.clone(), "recruiter".to_owned()));
    api.data(
        "hiring_manager",
        &format!(
            r#"mutation {{ updateJob(input: {{jobId: "{hm_job}", hiringTeam: {}}}) {{ id }} }}"#,
            team_input(&grown)
        ),
    );
    assert_eq!(team_of(&api, &hm_job), grown);
    // Now on that team, the recruiter may change it (remove themselves again).
    grown.remove(&(me.clone(), "recruiter".to_owned()));
    api.data(
        "recruiter",
        &format!(
            r#"mutation {{ updateJob(input: {{jobId: "{hm_job}", hiringTeam: {}}}) {{ id }} }}"#,
            team_input(&grown)
        ),
    );
    assert_eq!(team_of(&api, &hm_job), grown);
    api.data(
        "admin",
        &format!(
            r#"mutation {{ updateJob(input: {{jobId: "{off_team}", hiringTeam: {}}}) {{ id }} }}"#,
            team_input(&with_me)
        ),
    );
    assert_eq!(team_of(&api, &off_team), with_me);

    // createJob: a policy that lets recruiters create jobs (`edit` on departments). A
    // confidential job must have them on its team; a job that is not confidential need not.
    let policy = format!(
        "{}\n@id(\"recruiters-create-jobs\")\npermit (principal, action == Hireplane::Action::\"edit\", resource is Hireplane::Department)\nwhen {{ principal.role == \"recruiter\" }};\n",
        policy::DEFAULT_POLICY
    );
    app::Services::new()
        .set_policy(&mut api.store, ORG, &policy, "test.cedar", None, now())
        .unwrap();
    let department = api.data("admin", "{ departments(first: 1) { nodes { id } } }");
    let department = at(&department, "departments.nodes.0.id")
        .as_str()
        .unwrap()
        .to_owned();
    let create = |confidential: bool, team: &str| {
        format!(
            r#"mutation {{ createJob(input: {{title: "Secret project", departmentId: "{department}", location: "Remote", employmentType: full_time, confidential: {confidential}, stages: [{{name: "Screen", kind: screen}}], hiringTeam: {team}}}) {{ id confidential }} }}"#
        )
    };
    let count = |api: &Api| {
        at(
            &api.data("admin", "{ jobs { totalCount } }"),
            "jobs.totalCount",
        )
        .clone()
    };
    let jobs_before = count(&api);
    let others = format!(r#"[{{userId: "{hm}", role: hiring_manager}}]"#);
    let v = api.query("recruiter", &create(true, &others));
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    assert_eq!(count(&api), jobs_before, "nothing created");
    let mine = format!(
        r#"[{{userId: "{me}", role: recruiter}}, {{userId: "{hm}", role: hiring_manager}}]"#
    );
    let d = api.data("recruiter", &create(true, &mine));
    let secret = at(&d, "createJob.id").as_str().unwrap().to_owned();
    assert_eq!(at(&d, "createJob.confidential"), true);
    assert!(api.all_ids("recruiter", "jobs").contains(&secret));
    let d = api.data("recruiter", &create(false, &others));
    assert_eq!(at(&d, "createJob.confidential"), false);
    // An admin may create a confidential job whatever its team.
    let d = api.data("admin", &create(true, &others));
    assert_eq!(at(&d, "createJob.confidential"), true);
}

on_both!(hiring_teams_are_managed_by_the_team);

/// A thing the caller may not see answers as one that does not exist: a stage of a confidential
/// job hidden from the recruiter, given to `moveApplication`, `scheduleInterview`, `addStage`,
/// `renameStage` or `removeStage`, gets the same error as a stage id that exists nowhere (the
/// id aside), never the hidden job's id; nothing changes.
fn hidden_and_absent_look_the_same(db: Db) {
    let api = Api::start(db, |_| {});
    let seen = api.all_ids("recruiter", "jobs");
    let confidential = node_ids(
        &api.data(
            "admin",
            "{ jobs(first: 200, filter: {confidential: true}) { nodes { id } } }",
        ),
        "jobs.nodes",
    );
    let hidden_job = confidential
        .iter()
        .find(|j| !seen.contains(*j))
        .expect("a confidential job the recruiter does not see")
        .clone();
    let d = api.data(
        "admin",
        &format!(r#"{{ job(id: "{hidden_job}") {{ stages(first: 1) {{ nodes {{ id }} }} }} }}"#),
    );
    let hidden_stage = at(&d, "job.stages.nodes.0.id").as_str().unwrap().to_owned();
    let d = api.data(
        "recruiter",
        &format!(r#"{{ stage(id: "{hidden_stage}") {{ job {{ id }} }} }}"#),
    );
    assert!(d["stage"]["job"].is_null(), "{d}");
    // An application and a job the recruiter may change.
    let d = api.data(
        "recruiter",
        "{ applications(first: 1, filter: {status: active}) { nodes { id job { id } } } }",
    );
    let application = at(&d, "applications.nodes.0.id")
        .as_str()
        .unwrap()
        .to_owned();
    let job = at(&d, "applications.nodes.0.job.id")
        .as_str()
        .unwrap()
        .to_owned();
    let absent = "stage_that_never_was";
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let end = start + jiff::SignedDuration::from_hours(1);
    let (start, end) = (
        start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    );
    let interviewer = api.user("interviewer").to_owned();
    let mutations = [
        format!(
            r#"mutation {{ moveApplication(input: {{applicationId: "{application}", toStageId: "STAGE"}}) {{ id }} }}"#
        ),
        format!(
            r#"mutation {{ scheduleInterview(input: {{applicationId: "{application}", stageId: "STAGE", title: "x", startsAt: "{start}", endsAt: "{end}", interviewers: [{{userId: "{interviewer}", role: interviewer}}]}}) {{ id }} }}"#
        ),
        format!(
            r#"mutation {{ addStage(input: {{jobId: "{job}", name: "x", kind: onsite, beforeStageId: "STAGE"}}) {{ id }} }}"#
        ),
        r#"mutation { renameStage(input: {stageId: "STAGE", name: "x"}) { id } }"#.to_owned(),
        r#"mutation { removeStage(input: {stageId: "STAGE"}) { id } }"#.to_owned(),
    ];
    let before = api.data(
        "admin",
        &format!(r#"{{ job(id: "{hidden_job}") {{ stages(first: 50) {{ nodes {{ id name }} }} }} application(id: "{application}") {{ currentStage {{ id }} interviews {{ totalCount }} }} other: job(id: "{job}") {{ stages {{ totalCount }} }} }}"#),
    );
    for m in &mutations {
        let answer = |stage: &str| {
            let v = api.query("recruiter", &m.replace("STAGE", stage));
            let error = v["errors"][0].clone();
            assert!(!error.is_null(), "{m}: {v}");
            // (Synthetic stage ids embed their job's id: the caller gave that part.)
            let text = error.to_string().replace(stage, "ID");
            assert!(
                !text.contains(&hidden_job),
                "{m}: names the hidden job: {text}"
            );
            (
                error["message"].as_str().unwrap().replace(stage, "ID"),
                error["extensions"].clone(),
            )
        };
        let hidden = answer(&hidden_stage);
        assert_eq!(hidden, answer(absent), "{m}");
        assert_eq!(hidden.1["code"], "NOT_FOUND", "{m}");
    }
    let after = api.data(
        "admin",
        &format!(r#"{{ job(id: "{hidden_job}") {{ stages(first: 50) {{ nodes {{ id name }} }} }} application(id: "{application}") {{ currentStage {{ id }} interviews {{ totalCount }} }} other: job(id: "{job}") {{ stages {{ totalCount }} }} }}"#),
    );
    assert_eq!(before, after, "nothing changed");
}

on_both!(hidden_and_absent_look_the_same);

/// `createCandidate` with a `sourceId` but no `jobId` is refused naming `sourceId` (a source is
/// where an application came from; it used to be dropped silently), nothing written; with a
/// `jobId` an unknown source is NOT_FOUND.
#[test]
fn a_source_without_a_job_is_refused() {
    let api = Api::start(sqlite_db(), |_| {});
    let count = || {
        at(
            &api.data("admin", "{ candidates { totalCount } }"),
            "candidates.totalCount",
        )
        .clone()
    };
    let before = count();
    let source = at(
        &api.data("admin", "{ sources(first: 1) { nodes { id } } }"),
        "sources.nodes.0.id",
    )
    .as_str()
    .unwrap()
    .to_owned();
    for id in ["nope", source.as_str()] {
        let v = api.query(
            "admin",
            &format!(
                r#"mutation {{ createCandidate(input: {{name: "X", sourceId: "{id}"}}) {{ id }} }}"#
            ),
        );
        assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], "sourceId", "{v}");
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("`sourceId`"),
            "{v}"
        );
    }
    assert_eq!(count(), before);
    let job = at(
        &api.data(
            "admin",
            "{ jobs(first: 1, filter: {status: open}) { nodes { id } } }",
        ),
        "jobs.nodes.0.id",
    )
    .as_str()
    .unwrap()
    .to_owned();
    let v = api.query(
        "admin",
        &format!(r#"mutation {{ createCandidate(input: {{name: "X", jobId: "{job}", sourceId: "nope"}}) {{ id }} }}"#),
    );
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    assert_eq!(count(), before);
    let d = api.data(
        "admin",
        &format!(r#"mutation {{ createCandidate(input: {{name: "X", jobId: "{job}", sourceId: "{source}"}}) {{ applications {{ nodes {{ source {{ id }} }} }} }} }}"#),
    );
    assert_eq!(
        at(&d, "createCandidate.applications.nodes.0.source.id"),
        source.as_str()
    );
}

/// `createCustomField` by someone who may not change the org's fields is FORBIDDEN (they know
/// their own org exists), not NOT_FOUND; nothing is defined. An admin may.
#[test]
fn custom_fields_by_non_admins_are_forbidden() {
    let api = Api::start(sqlite_db(), |_| {});
    let create = r#"mutation { createCustomField(input: {entity: "candidate", key: "github", label: "GitHub", type: "text"}) }"#;
    for role in ["recruiter", "hiring_manager", "interviewer"] {
        let v = api.query(role, create);
        assert_eq!(code(&v), "FORBIDDEN", "{role}: {v}");
        let v = api.query(
            "admin",
            r#"{ candidates(first: 1) { nodes { custom(key: "github") } } }"#,
        );
        assert_eq!(code(&v), "BAD_USER_INPUT", "not defined: {v}");
    }
    at(&api.data("admin", create), "createCustomField");
}

/// Every node of `list` in the order `order_by` gives, page by page (`first: 23`), with the
/// fields `fields`; checks that no row comes twice and that the pages add up to `totalCount`.
fn ordered(api: &Api, role: &str, list: &str, order_by: &str, fields: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut after = String::new();
    loop {
        let q = format!(
            "{{ {list}(first: 23{order_by}{after}) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id {fields} }} }} }}"
        );
        let d = api.data(role, &q);
        for n in d[list]["nodes"].as_array().unwrap() {
            assert!(!out.iter().any(|o| o["id"] == n["id"]), "{q}: {n} twice");
            out.push(n.clone());
        }
        if !d[list]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            assert_eq!(
                out.len() as i64,
                d[list]["totalCount"].as_i64().unwrap(),
                "{q}"
            );
            return out;
        }
        after = format!(", after: {}", d[list]["pageInfo"]["endCursor"]);
    }
}

/// Lists are newest first by default and take `orderBy` on any own field, paged by cursors
/// that continue in that order (ties by id, nulls last ascending and first descending), on
/// both stores; a cursor of another order is refused; ordering by a field the caller may not
/// see orders by null, telling nothing.
fn lists_follow_their_order_across_pages(db: Db) {
    let api = Api::start(db, |_| {});
    // (value, id) in the order asked: nulls last ascending, first descending; ties by id in
    // the same direction; text by code point.
    let check = |nodes: &[Value], field: &str, desc: bool| {
        let key = |n: &Value| (n[field].clone(), n["id"].as_str().unwrap().to_owned());
        for w in nodes.windows(2) {
            let ((a, ia), (b, ib)) = (key(&w[0]), key(&w[1]));
            let ord = match (&a, &b) {
                (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
                (Value::Null, _) => std::cmp::Ordering::Greater,
                (_, Value::Null) => std::cmp::Ordering::Less,
                (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
                (Value::Number(x), Value::Number(y)) => {
                    x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap())
                }
                other => panic!("{other:?}"),
            }
            .then(ia.cmp(&ib));
            let expected = if desc {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Less
            };
            assert_eq!(ord, expected, "{field} desc={desc}: {} then {}", w[0], w[1]);
        }
    };
    // Newest first by default.
    let default = ordered(&api, "admin", "applications", "", "appliedAt");
    check(&default, "appliedAt", true);
    let everyone = api.all_ids("admin", "applications");
    assert_eq!(default.len(), everyone.len());
    for (list, field, gql) in [
        ("applications", "APPLIED_AT", "appliedAt"),
        ("applications", "HIRED_AT", "hiredAt"),
        ("applications", "STATUS", "status"),
        ("applications", "TIME_TO_HIRE", "timeToHire"),
        ("candidates", "NAME", "name"),
        ("candidates", "LOCATION", "location"),
    ] {
        for desc in [false, true] {
            let direction = if desc { "DESC" } else { "ASC" };
            let order_by = format!(", orderBy: {{field: {field}, direction: {direction}}}");
            for role in ["admin", "recruiter"] {
                let nodes = ordered(&api, role, list, &order_by, gql);
                check(&nodes, gql, desc);
                let ids: BTreeSet<String> = nodes
                    .iter()
                    .map(|n| n["id"].as_str().unwrap().to_owned())
                    .collect();
                assert_eq!(ids, api.all_ids(role, list), "{list} {order_by} as {role}");
            }
        }
    }
    // A cursor of another order is refused with the reason.
    let d = api.data(
        "admin",
        "{ applications(first: 2) { pageInfo { endCursor } } }",
    );
    let cursor = d["applications"]["pageInfo"]["endCursor"].clone();
    let v = api.query(
        "admin",
        &format!("{{ applications(first: 2, after: {cursor}, orderBy: {{field: APPLIED_AT}}) {{ nodes {{ id }} }} }}"),
    );
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("another order"),
        "{v}"
    );
    // An interviewer may not see archive reasons: ordering by them is ordering by null, that
    // is by id alone.
    let by_reason = ordered(
        &api,
        "interviewer",
        "applications",
        ", orderBy: {field: ARCHIVE_REASON, direction: DESC}",
        "archiveReason",
    );
    assert!(by_reason.len() > 1);
    assert!(by_reason.iter().all(|n| n["archiveReason"].is_null()));
    let ids: Vec<&str> = by_reason
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);
}

on_both!(lists_follow_their_order_across_pages);

/// The workflow's rules for interviews and scorecards, through the API on both stores: a new
/// interview lies ahead (or is recorded as completed, once it has ended); nobody, the
/// candidate included, sits two scheduled interviews at once; only an interview's
/// participants submit its scorecards.
fn interview_rules_hold(db: Db) {
    let mut api = Api::start(db, |_| {});
    let (job, stage) = api.open_job();
    let first = api.new_applicant(&job, "Ada Lovelace");
    let second = api.new_applicant(&job, "Alan Turing");
    let interviewer = api.user("interviewer").to_owned();
    let users = api.store.active_users(ORG).unwrap();
    let other = users
        .into_iter()
        .find(|u| u.role == "interviewer" && u.id != interviewer)
        .unwrap()
        .id;
    let time = |hours: i64| {
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let schedule = |application: &str, from: i64, to: i64, who: &str, status: &str| {
        api.query(
            "recruiter",
            &format!(
                r#"mutation {{ scheduleInterview(input: {{applicationId: "{application}", stageId: "{stage}", title: "Onsite", startsAt: "{}", endsAt: "{}", interviewers: [{{userId: "{who}", role: interviewer}}]{status}}}) {{ id status }} }}"#,
                time(from),
                time(to)
            ),
        )
    };
    let refused = |v: &Value, want_code: &str, field: &str, says: &str| {
        assert_eq!(code(v), want_code, "{v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{v}");
        let message = v["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    };
    // In the past, unless recorded as completed; completed, only once it has ended.
    refused(
        &schedule(&first, -3, -2, &interviewer, ""),
        "BAD_USER_INPUT",
        "startsAt",
        "is in the past",
    );
    refused(
        &schedule(&first, -1, 1, &interviewer, ", status: completed"),
        "BAD_USER_INPUT",
        "endsAt",
        "has not come yet",
    );
    let past = schedule(&first, -3, -2, &interviewer, ", status: completed");
    assert_eq!(
        at(&past, "data.scheduleInterview.status"),
        "completed",
        "{past}"
    );
    let past = at(&past, "data.scheduleInterview.id")
        .as_str()
        .unwrap()
        .to_owned();
    // Ahead: booked; the same interviewer, or the same candidate, at an overlapping time: no.
    let ahead = schedule(&first, 48, 49, &interviewer, "");
    assert_eq!(
        at(&ahead, "data.scheduleInterview.status"),
        "scheduled",
        "{ahead}"
    );
    let v = schedule(&second, 48, 50, &interviewer, "");
    refused(
        &v,
        "CONFLICT",
        "interviewParticipants[0].userId",
        "nobody sits two interviews at once",
    );
    // The other interview may be of a job the caller may not see: never named.
    let booked = at(&ahead, "data.scheduleInterview.id").as_str().unwrap();
    assert!(!v.to_string().contains(booked), "{v}");
    refused(
        &schedule(&first, 47, 49, &other, ""),
        "CONFLICT",
        "startsAt",
        "the candidate is already in interview",
    );
    // Right after it ends: fine, for both.
    let next = schedule(&second, 49, 50, &interviewer, "");
    assert!(next.get("errors").is_none(), "{next}");
    // A scorecard comes from the interview's participants only: the recruiter was not on it.
    let submit = format!(
        r#"mutation {{ submitFeedback(input: {{interviewId: "{past}", recommendation: yes}}) {{ id }} }}"#
    );
    let v = api.query("recruiter", &submit);
    refused(
        &v,
        "BAD_USER_INPUT",
        "interviewId",
        "is not a participant of interview",
    );
    let d = api.data("interviewer", &submit);
    assert!(at(&d, "submitFeedback.id").is_string());
}

on_both!(interview_rules_hold);
