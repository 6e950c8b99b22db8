//! The attack harness on reports over demographics (`crates/app/tests/harness/demographics.rs`,
//! docs/privacy.md) through the API: the real server on port 0, a generated org, every report
//! sent as an admin (the only role the default policy allows them) through GraphQL's
//! `report(text:)` and `report(json:)`, on SQLite and PostgreSQL. The same attacks and the same
//! criterion as through `app`: the attacker's accuracy at one person's gender no better than
//! guessing the most common answer plus 2 points, and every refused form a `BAD_USER_INPUT`
//! error whose message says why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
#[path = "../../../app/tests/harness/demographics.rs"]
mod harness;

use common::Db;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const ORG: &str = "attacked";

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

struct Api {
    /// First, so that it stops before the database goes.
    server: common::Server,
    _db: Db,
}

/// The attacker: an admin's token.
struct Attacker<'a> {
    api: &'a Api,
    token: String,
}

impl Attacker<'_> {
    /// Posts `query` with `variables`; the report's rows as the harness reads them, or the
    /// error's message (which must be a `BAD_USER_INPUT`: a clear refusal, never a failure).
    fn report(&self, query: &str, variables: Value) -> Result<Vec<Vec<String>>, String> {
        let (status, v) = post(
            self.api,
            &self.token,
            &json!({ "query": query, "variables": variables }),
        );
        assert_eq!(status, 200, "{v}");
        if let Some(e) = v["errors"].get(0) {
            assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{v}");
            return Err(e["message"].as_str().unwrap().to_owned());
        }
        Ok(v["data"]["report"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| match c {
                        Value::Null => "null".to_owned(),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect())
    }
}

impl harness::Runner for Attacker<'_> {
    fn text(&mut self, text: &str) -> Result<Vec<Vec<String>>, String> {
        self.report(
            "query($t: String) { report(text: $t) { rows } }",
            json!({ "t": text }),
        )
    }

    fn json(&mut self, json: &str) -> Result<Vec<Vec<String>>, String> {
        let form: Value = serde_json::from_str(json).unwrap();
        self.report(
            "query($j: JSON) { report(json: $j) { rows } }",
            json!({ "j": form }),
        )
    }
}

fn post(api: &Api, token: &str, body: &Value) -> (u16, Value) {
    let mut resp = api
        .server
        .agent
        .post(format!("{}/graphql", api.server.base))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(body)
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Every candidate's gender (`null` when not disclosed), from the generated folder.
fn truth(dir: &std::path::Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("candidates.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let c: Value = serde_json::from_str(line).unwrap();
            let gender = match &c["demographics"]["gender"] {
                Value::String(g) => g.clone(),
                _ => "null".to_owned(),
            };
            (c["id"].as_str().unwrap().to_owned(), gender)
        })
        .collect()
}

fn demographic_attacks_fail_through_the_api(db: Db) {
    let mut store = store::Store::open(&db.url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: ORG.into(),
            applications: 500,
            seed: 17,
        },
        dir.path(),
    )
    .unwrap();
    store
        .import(dir.path(), store::ImportOptions::default(), &mut |_| {})
        .unwrap();
    let truth = truth(dir.path());
    let services = app::Services::new();
    let users = store.active_users(ORG).unwrap();
    let token = |role: &str, store: &mut store::Store| {
        let u = users.iter().find(|u| u.role == role).unwrap();
        services
            .create_token(store, ORG, &u.id, "test", None, now())
            .unwrap()
            .token
    };
    let admin = token("admin", &mut store);
    let recruiter = token("recruiter", &mut store);
    // The attacker raises the budget (an admin may), so that only the design stands in its way.
    let admin_id = &users.iter().find(|u| u.role == "admin").unwrap().id;
    let access = services.access(&mut store, ORG, admin_id).unwrap();
    services
        .set_privacy_settings(
            &mut store,
            &access,
            app::PrivacyChange {
                daily_budget: Some(100_000),
                ..Default::default()
            },
            now(),
        )
        .unwrap();

    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.auth.cache_ms = 60_000;
    settings.pool.size = 2;
    settings.limits.rate_per_second = 100_000;
    settings.limits.rate_burst = 100_000;
    let server = common::Server::start(settings);
    let api = Api { server, _db: db };

    // Only admins may run reports over demographics: a recruiter is FORBIDDEN.
    let (status, v) = post(
        &api,
        &recruiter,
        &json!({ "query": r#"{ report(text: "report candidates group by demographics.gender as g show count() as n") { rows } }"# }),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["errors"][0]["extensions"]["code"], "FORBIDDEN", "{v}");

    let mut attacker = Attacker {
        api: &api,
        token: admin,
    };
    let outcome = harness::attack(&mut attacker, &truth);
    eprintln!("{outcome:?}");

    // The caller is told which groups were withheld, by their coarse keys, never how many cells
    // were suppressed: a report withheld whole by its atoms says `[{}]`; a grouped report names
    // its withheld sources (the generated org has sources of 1 to 4 candidates), none of them
    // among its rows.
    let query = "query($t: String) { report(text: $t) { rows withheld } }";
    let (_, v) = post(
        &api,
        &attacker.token,
        &json!({ "query": query, "variables": { "t": "report applications where status != \"hired\" group by candidate.demographics.gender as g show count(distinct candidate) as n" } }),
    );
    assert_eq!(v["data"]["report"]["withheld"], json!([{}]), "{v}");
    assert_eq!(v["data"]["report"]["rows"], json!([]), "{v}");
    let (_, v) = post(
        &api,
        &attacker.token,
        &json!({ "query": query, "variables": { "t": "report applications group by source.name as source, candidate.demographics.gender as g show count(distinct candidate) as n" } }),
    );
    let withheld = v["data"]["report"]["withheld"].as_array().unwrap();
    assert!(!withheld.is_empty(), "{v}");
    for group in withheld {
        let source = &group["source"];
        assert!(source.is_string(), "{group}");
        assert_eq!(group.as_object().unwrap().len(), 1, "{group}");
        assert!(
            v["data"]["report"]["rows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| &r[0] != source),
            "{source} withheld and published"
        );
    }
}

on_both!(demographic_attacks_fail_through_the_api);
