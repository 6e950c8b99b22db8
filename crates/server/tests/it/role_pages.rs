//! A page of the API reads, for every role, exactly the rows and values the same question asked
//! through the report language returns (issue 22). A page (`applications(first: 50, after,
//! orderBy: {field: ID})`) is compiled in its page form (`Guard::rows_in_page`: row filters
//! written for a statement that stops after a few rows), a report without a limit in its report
//! form; both must mean the same for every viewer. Every active user of a generated org with
//! confidential jobs pages through all its applications (with candidate, job and current stage,
//! the page of bench/api.sh) and runs the report; the rows must agree, and the roles must see
//! different things (so the filters are exercised). On SQLite and, with `HIREPLANE_TEST_POSTGRES`,
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use crate::common;
use common::Db;

const ORG: &str = "rp";

/// The page's selection (bench/api-page.lua's, without the page info).
const PAGE: &str = "query Page($after: String) { applications(first: 50, after: $after, orderBy: {field: ID}) { pageInfo { hasNextPage endCursor } nodes { id status appliedAt candidate { id name } job { id title } currentStage { id name kind } } } }";

/// The same question in the report language, without a limit (so not a page).
const REPORT: &str = "report applications show id, status, applied_at, candidate.id, candidate.name, job.id, job.title, current_stage.id, current_stage.name, current_stage.kind order by id";

struct Caller {
    role: String,
    user: String,
    token: String,
}

fn post(server: &common::Server, token: &str, query: &str, variables: Value) -> Value {
    let mut resp = server
        .agent
        .post(format!("{}/graphql", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(json!({ "query": query, "variables": variables }))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert!(v.get("errors").is_none(), "{query}: {v}");
    v["data"].clone()
}

/// A value as text for comparing (enums are upper case in GraphQL, lower case in reports).
fn text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    }
}

/// Every application the caller's pages list, as rows of text in the report's column order.
fn pages(server: &common::Server, token: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut after = Value::Null;
    for _ in 0..100 {
        let data = post(server, token, PAGE, json!({ "after": after }));
        let page = &data["applications"];
        for n in page["nodes"].as_array().unwrap() {
            let get = |relation: &str, field: &str| text(&n[relation][field]);
            rows.push(vec![
                text(&n["id"]),
                text(&n["status"]),
                text(&n["appliedAt"]),
                get("candidate", "id"),
                get("candidate", "name"),
                get("job", "id"),
                get("job", "title"),
                get("currentStage", "id"),
                get("currentStage", "name"),
                get("currentStage", "kind"),
            ]);
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return rows;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    panic!("more than 100 pages");
}

/// The report's rows as text.
fn report(server: &common::Server, token: &str) -> Vec<Vec<String>> {
    let data = post(
        server,
        token,
        "query R($text: String) { report(text: $text) { rows } }",
        json!({ "text": REPORT }),
    );
    data["report"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(text).collect())
        .collect()
}

fn every_role_pages_as_it_reports(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: ORG.into(),
            applications: 300,
            seed: 22,
        },
        dir.path(),
    )
    .unwrap();
    let mut store = store::Store::open(&db.url).unwrap();
    store
        .import(dir.path(), store::ImportOptions::default(), &mut |_| {})
        .unwrap();
    let services = app::Services::new();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    // Up to four users of each role (on and off the hiring teams of confidential jobs).
    let mut callers: Vec<Caller> = Vec::new();
    for user in store.active_users(ORG).unwrap() {
        if callers.iter().filter(|c| c.role == user.role).count() >= 4 {
            continue;
        }
        let made = services
            .create_token(&mut store, ORG, &user.id, "test", None, now)
            .unwrap();
        callers.push(Caller {
            role: user.role.clone(),
            user: user.id.clone(),
            token: made.token,
        });
    }
    for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
        assert!(
            callers.iter().any(|c| c.role == role),
            "no {role} in the org"
        );
    }
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.pool.size = 2;
    let server = common::Server::start(settings);

    let mut seen = Vec::new();
    for caller in &callers {
        let paged = pages(&server, &caller.token);
        let reported = report(&server, &caller.token);
        assert_eq!(
            paged.len(),
            reported.len(),
            "{} {}: the pages list {} applications, the report {}",
            caller.role,
            caller.user,
            paged.len(),
            reported.len()
        );
        for (p, r) in paged.iter().zip(&reported) {
            assert_eq!(
                p, r,
                "{} {}: a page row and the report's",
                caller.role, caller.user
            );
        }
        seen.push((caller.role.as_str(), paged.len()));
    }
    // The filters were exercised: the admin sees every application; recruiters (confidential
    // jobs), hiring managers (their jobs and interviews) and interviewers (their interviews)
    // fewer, and users of one role different sets (so the viewer's own memberships count).
    assert!(
        seen.iter().all(|s| s.0 != "admin" || s.1 == 300),
        "{seen:?}"
    );
    for role in ["recruiter", "hiring_manager", "interviewer"] {
        let counts: Vec<usize> = seen.iter().filter(|s| s.0 == role).map(|s| s.1).collect();
        assert!(counts.iter().all(|c| *c < 300), "{role}: {seen:?}");
        assert!(counts.iter().any(|c| *c > 0), "{role}: {seen:?}");
    }
    let managers: Vec<usize> = seen
        .iter()
        .filter(|s| s.0 == "hiring_manager")
        .map(|s| s.1)
        .collect();
    assert!(managers.windows(2).any(|w| w[0] != w[1]), "{seen:?}");
}

on_both!(every_role_pages_as_it_reports);
