//! Tenants stay apart whatever an org's policy file says.
//!
//! Two generated orgs (`tenanta`, `tenantb`; synth prefixes every id with the org id) are
//! imported into one store (one SQLite file; one PostgreSQL database when
//! `HIREPLANE_TEST_POSTGRES` is set). Proven here:
//! - whatever policy org A installs (the shipped one, `permit (principal, action, resource)`,
//!   a file that only forbids), no report of A's users, of any role, over any keyed subject
//!   returns an id of org B, and under the permit-all file A's admin sees exactly A's ids;
//! - `Policies::decide` for a viewer of A on any entity of B, given B's own facts, is denied by
//!   the built-in `org-boundary` policy, under every one of those files;
//! - a user of B is no user of A: running a report in A as B's user fails;
//! - a policy file that names `Hireplane::Org::"tenantb"` is refused by `Services::set_policy`
//!   and nothing is stored (A's policy version and history are unchanged).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{Fresh, OrgFacts, SUBJECTS, at, report_ids};
use policy::{Action, Policies, PolicySource};
use std::collections::BTreeSet;

const A: &str = "tenanta";
const B: &str = "tenantb";

const FILES: [(&str, &str); 3] = [
    (
        "all.cedar",
        r#"@id("all") permit (principal, action, resource);"#,
    ),
    (
        "own-org.cedar",
        r#"@id("own-org") permit (principal, action, resource is Hireplane::Job) when { resource.org == principal.org };
@id("everything-viewable") permit (principal, action == Hireplane::Action::"view", resource);"#,
    ),
    (
        "forbid-only.cedar",
        r#"@id("nothing-confidential") forbid (principal, action, resource is Hireplane::Job) when { resource.confidential };"#,
    ),
];

fn isolation(stores: &mut [Fresh]) {
    let a = common::generate(A, 120, 21);
    let b = common::generate(B, 120, 22);
    for s in stores.iter_mut() {
        s.import(a.dir.path());
        s.import(b.dir.path());
    }
    let path = stores[0].sqlite_path().unwrap();
    let facts_a = OrgFacts::load(&path, A);
    let facts_b = OrgFacts::load(&path, B);
    let services = app::Services::new();
    let viewers = facts_a.viewers();
    let mut cases: Vec<(&str, Option<&str>)> = vec![("shipped default", None)];
    cases.extend(FILES.iter().map(|(n, t)| (*n, Some(*t))));
    let mut version = 0;
    for (name, text) in cases {
        let policies = match text {
            None => Policies::shipped(A).unwrap(),
            Some(text) => {
                version += 1;
                for s in stores.iter_mut() {
                    services
                        .set_policy(s.store(), A, text, name, None, at())
                        .unwrap();
                }
                Policies::from_text(A, text, name, PolicySource::Org { version }).unwrap()
            }
        };
        for (why, user) in &viewers {
            for s in stores.iter_mut() {
                for (subject, ty) in SUBJECTS {
                    let ids = report_ids(&services, s.store(), A, &user.id, subject, a.today);
                    let foreign: Vec<&String> = ids
                        .iter()
                        .filter(|id| !id.starts_with("tenanta_"))
                        .collect();
                    assert!(
                        foreign.is_empty(),
                        "{}: policy {name}, {} ({why}) sees ids of another org in {subject}: {foreign:?}",
                        s.name(),
                        user.id
                    );
                    if name == "all.cedar" && user.active {
                        let all: BTreeSet<String> =
                            facts_a.ids(ty).into_iter().map(str::to_owned).collect();
                        assert_eq!(ids, all, "{}: all.cedar, {}, {subject}", s.name(), user.id);
                    }
                }
            }
            // Cedar: a viewer of A on B's entities, with B's facts: denied by the boundary.
            let viewer = facts_a.viewer(user);
            for (_, ty) in SUBJECTS {
                for id in facts_b.ids(ty).into_iter().take(4) {
                    let b_facts = facts_b.facts_for(ty, id);
                    for action in [Action::View, Action::Edit] {
                        let d = policies.decide(&viewer, action, ty, id, &b_facts).unwrap();
                        assert!(
                            !d.allowed,
                            "{name}: {} may {action} {ty}::{id} of {B}",
                            user.id
                        );
                        assert!(
                            d.policies.iter().any(|p| p == "org-boundary"),
                            "{name}: {action} {ty}::{id} for {}: denied by {:?}, not by org-boundary",
                            user.id,
                            d.policies
                        );
                    }
                }
            }
            let d = policies
                .decide(
                    &viewer,
                    Action::ViewDemographicsAggregate,
                    "Org",
                    B,
                    &policy::Facts::new(B),
                )
                .unwrap();
            assert!(
                !d.allowed && d.policies.iter().any(|p| p == "org-boundary"),
                "{name}: viewDemographicsAggregate on {B} for {}: {d:?}",
                user.id
            );
        }
        // A user of B is nobody in A.
        let b_user = &facts_b.users[0].id;
        for s in stores.iter_mut() {
            let report =
                query_syntax::parse("report applications group by id show count() as n").unwrap();
            let err = services
                .run_report(s.store(), A, b_user, &report, a.today, at())
                .unwrap_err();
            assert!(
                matches!(err, app::AppError::NoSuchUser { .. }),
                "{}: {err}",
                s.name()
            );
        }
    }
    // A file naming org B is refused and nothing is stored.
    for naming in [
        r#"@id("reach-b") permit (principal, action, resource) when { principal.org == Hireplane::Org::"tenantb" };"#,
        r#"@id("reach-b") permit (principal, action == Hireplane::Action::"viewDemographicsAggregate", resource == Hireplane::Org::"tenantb");"#,
        r#"@id("ok") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Job);
@id("reach-b") permit (principal, action, resource is Hireplane::Job) when { resource.org == Hireplane::Org::"tenantb" };"#,
    ] {
        for s in stores.iter_mut() {
            let before = s.store().org_policy(A).unwrap().map(|p| p.version);
            let history = s.store().org_policy_history(A).unwrap().len();
            let err = services
                .set_policy(s.store(), A, naming, "reach-b.cedar", None, at())
                .unwrap_err();
            assert!(
                matches!(
                    &err,
                    app::AppError::Policy(e) if matches!(**e, policy::PolicyError::CrossOrg { .. })
                ),
                "{}: {err}",
                s.name()
            );
            assert!(err.to_string().contains(B), "{err}");
            assert_eq!(
                s.store().org_policy(A).unwrap().map(|p| p.version),
                before,
                "{}",
                s.name()
            );
            assert_eq!(
                s.store().org_policy_history(A).unwrap().len(),
                history,
                "{}",
                s.name()
            );
            assert_eq!(s.store().org_policy(B).unwrap(), None, "{}", s.name());
        }
    }
}

#[test]
fn no_policy_file_reaches_another_org_on_sqlite() {
    isolation(&mut [common::sqlite()]);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn no_policy_file_reaches_another_org_on_postgres() {
    // The facts come from the SQLite copy; the reports run on both.
    isolation(&mut [common::sqlite(), common::postgres()]);
}
