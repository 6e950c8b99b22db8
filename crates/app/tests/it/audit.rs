//! Reports that read restricted field groups are audited, without any value of the data.
//!
//! On a generated org (SQLite; PostgreSQL too when `HIREPLANE_TEST_POSTGRES` is set): a
//! recruiter on a hiring team runs a report reading `salary`; the store's audit log then holds an
//! event with the recruiter as actor, action `viewCompensation`, subject `offers`, outcome
//! allowed, the ids of the policies that grant it, the report's query hash
//! (`app::query_hash` of its canonical JSON form), and no salary, currency, email or phone of the
//! org anywhere in it; the same for contact details (`email`). An interviewer's report on
//! offers' salary records a denied `viewCompensation` event (and a denied `view` of the subject,
//! which they cannot see at all). The events `run_report` returns are the ones stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{Fresh, OrgFacts, at};
use store::{AuditEvent, AuditOutcome, AuditQuery};

/// Every value of the org's restricted fields, as text, for "never in the audit log".
fn secrets(path: &std::path::Path, org: &str) -> Vec<String> {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT CAST(salary_amount AS TEXT) FROM offers WHERE org_id = ?1 AND salary_amount IS NOT NULL",
        "SELECT CAST(CAST(salary_amount AS INTEGER) AS TEXT) FROM offers WHERE org_id = ?1 AND salary_amount IS NOT NULL",
        "SELECT salary_currency FROM offers WHERE org_id = ?1 AND salary_currency IS NOT NULL",
        "SELECT email FROM candidates WHERE org_id = ?1 AND email IS NOT NULL",
        "SELECT phone FROM candidates WHERE org_id = ?1 AND phone IS NOT NULL",
    ] {
        let mut stmt = c.prepare(sql).unwrap();
        out.extend(
            stmt.query_map([org], |r| r.get::<_, String>(0))
                .unwrap()
                .map(Result::unwrap),
        );
    }
    out.sort();
    out.dedup();
    out
}

fn leaks(event: &AuditEvent, secrets: &[String]) -> Vec<String> {
    let mut texts = vec![event.subject.clone(), event.action.clone()];
    texts.extend(event.detail.clone());
    texts.extend(event.policies.iter().cloned());
    secrets
        .iter()
        .filter(|s| texts.iter().any(|t| t.contains(s.as_str())))
        .cloned()
        .collect()
}

fn audit(store: &mut Fresh) {
    let org = "audited";
    let generated = common::generate(org, 150, 9);
    store.import(generated.dir.path());
    let path = common::sqlite_copy(store, &generated);
    let facts = OrgFacts::load(&path, org);
    let secrets = secrets(&path, org);
    assert!(secrets.len() > 100, "{} secrets", secrets.len());
    let recruiter = facts
        .users
        .iter()
        .find(|u| {
            u.active
                && u.role == "recruiter"
                && facts.jobs.values().any(|(_, team)| team.contains(&u.id))
        })
        .unwrap()
        .clone();
    let interviewer = facts
        .users
        .iter()
        .find(|u| u.active && u.role == "interviewer")
        .unwrap()
        .clone();
    let services = app::Services::new();
    let text = "report offers group by status show max(salary) as top, count(salary) as n";
    let report = query_syntax::parse(text).unwrap();
    let hash = app::query_hash(org, &query_syntax::to_json(&report));
    assert_eq!(hash.len(), 32);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{hash}");

    // The recruiter reads salaries: allowed, audited.
    let run = services
        .run_report(
            store.store(),
            org,
            &recruiter.id,
            &report,
            generated.today,
            at(),
        )
        .unwrap();
    assert!(
        run.rows
            .rows
            .iter()
            .any(|r| r[1] != query_compiler::Value::Null),
        "the recruiter sees some salary: {:?}",
        run.rows.rows
    );
    let logged = store.store().audit(org, &AuditQuery::latest(10)).unwrap();
    for e in &run.audited {
        assert!(
            logged.iter().any(|(_, l)| l == e),
            "{}: {e:?} was returned but not stored",
            store.name()
        );
    }
    let (_, event) = logged
        .iter()
        .find(|(_, e)| e.actor == recruiter.id && e.action == "viewCompensation")
        .unwrap_or_else(|| panic!("{}: no viewCompensation event: {logged:?}", store.name()));
    assert_eq!(event.subject, "offers");
    assert_eq!(event.outcome, AuditOutcome::Allowed);
    assert!(
        event.policies.iter().any(|p| p == "recruiter-compensation"),
        "{:?}",
        event.policies
    );
    assert_eq!(event.query_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(event.at, at());
    assert_eq!(leaks(event, &secrets), Vec::<String>::new(), "{event:?}");

    // Contact details: the same.
    let contact =
        query_syntax::parse("report candidates where email is not null show id, email").unwrap();
    let run = services
        .run_report(
            store.store(),
            org,
            &recruiter.id,
            &contact,
            generated.today,
            at(),
        )
        .unwrap();
    assert!(!run.rows.rows.is_empty());
    let logged = store.store().audit(org, &AuditQuery::latest(10)).unwrap();
    let (_, event) = logged
        .iter()
        .find(|(_, e)| e.actor == recruiter.id && e.action == "viewContactDetails")
        .unwrap_or_else(|| panic!("{}: no viewContactDetails event: {logged:?}", store.name()));
    assert_eq!(event.subject, "candidates");
    assert_eq!(event.outcome, AuditOutcome::Allowed);
    assert!(!event.policies.is_empty());
    assert_eq!(
        event.query_hash.as_deref(),
        Some(app::query_hash(org, &query_syntax::to_json(&contact)).as_str())
    );
    assert_eq!(leaks(event, &secrets), Vec::<String>::new(), "{event:?}");

    // The interviewer's report on salary: denied.
    let run = services
        .run_report(
            store.store(),
            org,
            &interviewer.id,
            &report,
            generated.today,
            at(),
        )
        .unwrap();
    assert!(
        run.rows
            .rows
            .iter()
            .all(|r| r[1] == query_compiler::Value::Null),
        "{:?}",
        run.rows.rows
    );
    let logged = store.store().audit(org, &AuditQuery::latest(10)).unwrap();
    let mine: Vec<&AuditEvent> = logged
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.actor == interviewer.id)
        .collect();
    let comp = mine
        .iter()
        .find(|e| e.action == "viewCompensation")
        .unwrap_or_else(|| panic!("{}: no viewCompensation event: {logged:?}", store.name()));
    assert_eq!(comp.subject, "offers");
    assert_eq!(comp.outcome, AuditOutcome::Denied);
    assert_eq!(comp.query_hash.as_deref(), Some(hash.as_str()));
    assert!(
        mine.iter().any(|e| e.action == "view"
            && e.subject == "offers"
            && e.outcome == AuditOutcome::Denied),
        "{mine:?}"
    );
    for e in &mine {
        assert_eq!(leaks(e, &secrets), Vec::<String>::new(), "{e:?}");
    }
    // Filtering by actor and outcome finds the denial.
    let denied = store
        .store()
        .audit(
            org,
            &AuditQuery {
                actor: Some(interviewer.id.clone()),
                outcome: Some(AuditOutcome::Denied),
                ..AuditQuery::latest(10)
            },
        )
        .unwrap();
    assert!(denied.iter().any(|(_, e)| e.action == "viewCompensation"));
    assert!(denied.iter().all(|(_, e)| e.actor == interviewer.id));
}

#[test]
fn compensation_reads_are_audited_without_values_on_sqlite() {
    audit(&mut common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn compensation_reads_are_audited_without_values_on_postgres() {
    audit(&mut common::postgres());
}
