//! Attacks on reports over demographics (docs/privacy.md), on a generated org, on SQLite and
//! PostgreSQL, through `app::Services::run_report` as an admin (the strongest attacker: sees
//! every candidate and holds `viewDemographicsAggregate`). The attacks and the accuracy
//! criterion are `harness/demographics.rs`, which the server's test runs through GraphQL;
//! here also the permission, the audit detail, bursts and budgets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "harness/demographics.rs"]
mod harness;

use common::{Fresh, OrgFacts, at};
use query_compiler::Value;
use std::collections::BTreeMap;
use store::{AuditOutcome, AuditQuery};

/// A cell as the harness reads it.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Text(t) | Value::Date(t) => t.clone(),
        Value::Integer(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

struct Attack<'a> {
    services: app::Services,
    store: &'a mut Fresh,
    org: String,
    admin: String,
    today: jiff::civil::Date,
}

impl Attack<'_> {
    fn report(&mut self, report: &query_syntax::Report) -> Result<Vec<Vec<String>>, String> {
        self.services
            .run_report(
                self.store.store(),
                &self.org,
                &self.admin,
                report,
                self.today,
                at(),
            )
            .map(|r| {
                r.rows
                    .rows
                    .iter()
                    .map(|r| r.iter().map(cell).collect())
                    .collect()
            })
            .map_err(message)
    }

    fn run(&mut self, text: &str) -> Result<Vec<Vec<Value>>, app::AppError> {
        let report = query_syntax::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        self.services
            .run_report(
                self.store.store(),
                &self.org,
                &self.admin,
                &report,
                self.today,
                at(),
            )
            .map(|r| r.rows.rows)
    }
}

impl harness::Runner for Attack<'_> {
    fn text(&mut self, text: &str) -> Result<Vec<Vec<String>>, String> {
        match query_syntax::parse(text) {
            Ok(report) => self.report(&report),
            Err(d) => Err(d.message),
        }
    }

    fn json(&mut self, json: &str) -> Result<Vec<Vec<String>>, String> {
        match query_syntax::from_json(json) {
            Ok(report) => self.report(&report),
            Err(d) => Err(d.message),
        }
    }
}

/// Every candidate's gender (`null` when not disclosed), read with plain SQL.
fn truth(path: &std::path::Path, org: &str) -> BTreeMap<String, String> {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let mut stmt = c
        .prepare(
            "SELECT c.id, g.gender FROM candidates c LEFT JOIN candidate_demographics g \
             ON g.org_id = c.org_id AND g.candidate_id = c.id WHERE c.org_id = ?1",
        )
        .unwrap();
    stmt.query_map([org], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?
                .unwrap_or_else(|| "null".to_owned()),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn message(e: app::AppError) -> String {
    match e {
        app::AppError::Report(d) => d.message.clone(),
        other => other.to_string(),
    }
}

fn harness(store: &mut Fresh) {
    let org = "attacked";
    let generated = common::generate(org, 500, 17);
    store.import(generated.dir.path());
    let path = common::sqlite_copy(store, &generated);
    let facts = OrgFacts::load(&path, org);
    let admin = facts
        .users
        .iter()
        .find(|u| u.role == "admin" && u.active)
        .unwrap()
        .id
        .clone();
    let recruiter = facts
        .users
        .iter()
        .find(|u| u.role == "recruiter" && u.active)
        .unwrap()
        .id
        .clone();
    let truth = truth(&path, org);
    let mut a = Attack {
        services: app::Services::new(),
        store,
        org: org.to_owned(),
        admin: admin.clone(),
        today: generated.today,
    };
    // The attacker raises the budget (an admin may), so that only the design stands in its way.
    let access = a.services.access(a.store.store(), org, &admin).unwrap();
    a.services
        .set_privacy_settings(
            a.store.store(),
            &access,
            app::PrivacyChange {
                daily_budget: Some(100_000),
                ..Default::default()
            },
            at(),
        )
        .unwrap();

    // A recruiter may not run any report over demographics.
    let report = query_syntax::parse(
        "report candidates group by demographics.gender as g show count() as n",
    )
    .unwrap();
    let recruiter_access = a.services.access(a.store.store(), org, &recruiter).unwrap();
    let run = a
        .services
        .run_report(a.store.store(), org, &recruiter, &report, a.today, at());
    if recruiter_access.guard.demographics_aggregates() {
        assert!(run.is_ok());
    } else {
        let e = run.unwrap_err();
        assert!(e.to_string().contains("viewDemographicsAggregate"), "{e}");
    }

    let outcome = harness::attack(&mut a, &truth);
    eprintln!("{}: {outcome:?}", a.store.name());
    let text = "report applications group by job.department.name as d, candidate.demographics.gender as g show count(distinct candidate) as n";

    // Who and how often: the audit holds each run with its population and hash; a burst of the
    // same shape raises an alert; the budget refuses once spent.
    let events = a
        .store
        .store()
        .audit(
            org,
            &AuditQuery {
                actor: Some(admin.clone()),
                ..AuditQuery::latest(10_000)
            },
        )
        .unwrap();
    assert!(events.iter().any(|(_, e)| {
        e.action == "viewDemographicsAggregate"
            && e.detail
                .as_deref()
                .is_some_and(|d| d.contains("population "))
            && e.query_hash.is_some()
    }));
    assert!(
        events.iter().any(|(_, e)| e
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("alert: "))),
        "the attack's bursts raise an alert"
    );
    a.services
        .set_privacy_settings(
            a.store.store(),
            &access,
            app::PrivacyChange {
                daily_budget: Some(1),
                ..Default::default()
            },
            at(),
        )
        .unwrap();
    let e = a.run(text).unwrap_err();
    assert!(
        matches!(e, app::AppError::DemographicsBudget { budget: 1, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("daily budget"), "{e}");
    let denied = a
        .store
        .store()
        .audit(
            org,
            &AuditQuery {
                outcome: Some(AuditOutcome::Denied),
                ..AuditQuery::latest(10)
            },
        )
        .unwrap();
    assert!(denied.iter().any(|(_, e)| {
        e.detail
            .as_deref()
            .is_some_and(|d| d.contains("daily budget"))
    }));
    // Only a user allowed `viewDemographicsAggregate` may change the settings.
    assert_eq!(
        a.services
            .set_privacy_settings(
                a.store.store(),
                &recruiter_access,
                app::PrivacyChange {
                    daily_budget: Some(1000),
                    ..Default::default()
                },
                at(),
            )
            .is_ok(),
        recruiter_access.guard.demographics_aggregates()
    );
}

#[test]
fn demographic_attacks_fail_on_sqlite() {
    harness(&mut common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn demographic_attacks_fail_on_postgres() {
    harness(&mut common::postgres());
}
