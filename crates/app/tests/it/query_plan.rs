//! The database's plan of a report (`explain`) is an operator's tool: its row counts are those
//! of every row a step read, hidden ones included, so `Services::query_plan` gives it only to
//! viewers the policy grants `viewQueryPlan` on the org (admins by default) and refuses, with
//! an audited denial, everyone else; nobody gets the plan of a report over demographics (its
//! row counts are true counts, docs/privacy.md). SQLite always; PostgreSQL (whose plan is `EXPLAIN
//! (ANALYZE, BUFFERS)` with actual row counts) when `HIREPLANE_TEST_POSTGRES` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use store::{AuditOutcome, AuditQuery};

fn plans_for_admins_only(mut store: common::Fresh) {
    let org = "plans";
    let generated = common::generate(org, 60, 7);
    store.import(generated.dir.path());
    let services = app::Services::new();
    let report = query_syntax::parse("report applications show count() as n").unwrap();
    let users = store.store().active_users(org).unwrap();
    for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
        let user = users.iter().find(|u| u.role == role).unwrap();
        let access = services.access(store.store(), org, &user.id).unwrap();
        let compiled = services
            .compile(store.store(), org, &access, &report)
            .unwrap();
        let plan = services.query_plan(
            store.store(),
            &access,
            &compiled,
            generated.today,
            common::at(),
        );
        if role == "admin" {
            let plan = plan.unwrap();
            assert!(!plan.trim().is_empty(), "{}: empty plan", store.name());
            // Not for a report over demographics: its row counts are true counts.
            let report = query_syntax::parse(
                "report candidates where location != \"Paris\" group by demographics.gender as g show count() as n",
            )
            .unwrap();
            let compiled = services
                .compile(store.store(), org, &access, &report)
                .unwrap();
            match services.query_plan(
                store.store(),
                &access,
                &compiled,
                generated.today,
                common::at(),
            ) {
                Err(e @ app::AppError::Forbidden { .. }) => {
                    assert!(e.to_string().contains("over demographics"), "{e}")
                }
                other => panic!("{}: a plan of demographics: {other:?}", store.name()),
            }
        } else {
            match plan {
                Err(app::AppError::Forbidden { action, .. }) => {
                    assert_eq!(action, "viewQueryPlan", "{role}")
                }
                other => panic!("{}: {role} got {other:?}", store.name()),
            }
            let denied = store
                .store()
                .audit(
                    org,
                    &AuditQuery {
                        limit: 10,
                        actor: Some(user.id.clone()),
                        outcome: Some(AuditOutcome::Denied),
                        since: None,
                    },
                )
                .unwrap();
            assert!(
                denied.iter().any(|(_, e)| e.action == "viewQueryPlan"),
                "{role}: the refusal is audited: {denied:?}"
            );
        }
    }
}

#[test]
fn query_plans_are_for_admins_only_on_sqlite() {
    plans_for_admins_only(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn query_plans_are_for_admins_only_on_postgres() {
    plans_for_admins_only(common::postgres());
}
