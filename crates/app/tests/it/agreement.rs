//! The row filters that reports run with agree with Cedar, row for row.
//!
//! For random small generated orgs (synth seeds and sizes drawn by proptest with its
//! deterministic ChaCha RNG; `HP_POLICY_CASES=N` for more orgs), for viewers of every role (an
//! admin, recruiters on and off confidential jobs' hiring teams and on no team, hiring managers
//! on teams and with interview seats, interviewers with and without seats, an inactive user),
//! and for the shipped policy and several org policy files installed with
//! `Services::set_policy` that exercise every construct the translator handles (forbids,
//! `unless`, optional references with `has`, string comparisons, `!=`, `if then else`, entity
//! equality with the principal and with named entities, nested paths, `principal in set`,
//! `Candidate.hasNonConfidentialJob`, attributes of referenced entities, `is`, `resource in`
//! an entity, a set literal, a permit on every resource type, and `permit (principal, action,
//! resource)`), and for every keyed subject: the ids `report SUBJECT group by id show count()
//! as n` returns for the viewer are exactly the ids for which `Policies::decide(viewer, view,
//! Type, id, facts)` allows, and each is counted once. The link subjects (`hiring_team`,
//! `interview_participants`, no key of their own) are compared as multisets of (role, user id,
//! parent id), each reference read as null where the viewer may not see what it names.
//! A third test checks that the per-row facts given to `decide` (the entity and what its
//! references reach) decide exactly as the whole org's facts do.
//!
//! The facts are computed in this test (`common::OrgFacts`) from the store's tables with plain
//! SQL and Rust, independently of the policy crate's SQL. SQLite always runs; PostgreSQL runs
//! when `HIREPLANE_TEST_POSTGRES` holds a server URL, importing the same generated folder into a
//! fresh database and requiring the same id sets there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{Fresh, OrgFacts, SUBJECTS, at, diff, report_ids};
use policy::{Action, Policies, PolicySource};
use std::fmt::Write;

/// The org policy files under test, built with ids of the org (`Hireplane::Job::"..."`).
fn policy_files(f: &OrgFacts) -> Vec<(&'static str, String)> {
    let confidential = f
        .jobs
        .iter()
        .find(|(_, (c, _))| *c)
        .or_else(|| f.jobs.iter().next())
        .map(|(id, _)| id.clone())
        .unwrap();
    let other = f
        .jobs
        .iter()
        .find(|(_, (c, team))| !*c && !team.is_empty())
        .map(|(id, _)| id.clone())
        .unwrap();
    let dept = f.departments[f.departments.len() / 2].clone();
    let recruiter = f
        .users
        .iter()
        .find(|u| u.role == "recruiter" && u.active)
        .map(|u| u.id.clone())
        .unwrap();
    let forbids = r#"
@id("view-everything")
permit (principal, action == Hireplane::Action::"view", resource);

@id("hide-confidential-jobs")
forbid (principal, action, resource is Hireplane::Job)
when { resource.confidential }
unless { principal.role == "admin" || resource.hiringTeam.contains(principal) };

@id("hide-confidential-applications")
forbid (principal, action, resource is Hireplane::Application)
when { resource.job.confidential && !(principal in resource.job.hiringTeam) };

@id("hide-confidential-candidates")
forbid (principal, action, resource is Hireplane::Candidate)
unless { resource.hasNonConfidentialJob || resource.hiringTeam.contains(principal) };

@id("hide-confidential-history")
forbid (principal, action == Hireplane::Action::"view", resource is Hireplane::StageTransition)
when { resource.application.job.confidential };

@id("hide-confidential-interviews")
forbid (principal, action, resource is Hireplane::Interview)
when { resource.application.job.confidential }
unless { principal in resource.participants };

@id("hide-others-feedback-on-confidential")
forbid (principal, action, resource is Hireplane::Feedback)
when { resource.interview.application.job.confidential && resource.author != principal };

@id("hide-offers")
forbid (principal, action, resource is Hireplane::Offer)
when { principal.role == "interviewer" || resource.application.job.confidential };

@id("hide-inactive-users")
forbid (principal, action, resource is Hireplane::User)
unless { resource.active };

@id("hide-agency-sources")
forbid (principal, action, resource is Hireplane::Source)
when { resource.kind == "agency" };

@id("hide-stages-of-confidential-jobs")
forbid (principal, action, resource is Hireplane::Stage)
when { resource.job.confidential };
"#
    .to_owned();
    let optional = format!(
        r#"
@id("referrals")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when {{ resource has source && resource.source.kind == "referral" }};

@id("credited-to-me")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when {{ resource has creditedTo && resource.creditedTo == principal }};

@id("credited-to-one-recruiter")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when {{ principal.role == "admin" && resource has creditedTo && resource.creditedTo == Hireplane::User::"{recruiter}" }};

@id("no-agency-applications")
forbid (principal, action, resource is Hireplane::Application)
when {{ resource has source && resource.source.kind == "agency" && principal.role != "admin" }};

@id("moved-by-others")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::StageTransition)
when {{ if resource has byUser then resource.byUser != principal else principal.role == "recruiter" }};

@id("offers-without-source-or-from-events")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Offer)
when {{ if resource.application has source then resource.application.source.kind == "event" else true }};

@id("interviews-of-my-credits")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Interview)
when {{ resource.application has creditedTo && resource.application.creditedTo == principal }};

@id("sources-but-referrals")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Source)
when {{ resource.kind != "referral" }};

@id("users-like-me")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::User)
when {{ resource == principal || resource.role == principal.role }};

@id("candidates-i-interview")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Candidate)
when {{ resource.interviewers.contains(principal) }};
"#
    );
    let strings = r#"
@id("open-jobs")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Job)
when { resource.status == "open" || (resource.status != "draft" && principal.role == "hiring_manager") };

@id("applications-by-status")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when {
  if resource.status == "hired"
  then resource.job.hiringTeam.contains(principal)
  else resource.stage.kind != "lead" && resource.status != "archived"
};

@id("onsite-or-mine")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Interview)
when { (resource.status == "completed" && resource.stage.kind == "onsite") || principal in resource.participants };

@id("offers-by-status")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Offer)
when { resource.status != "draft" && resource.status != "declined" };

@id("stages-by-kind")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Stage)
when { resource.kind != "hired" && !resource.job.confidential };

@id("candidates-by-role")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Candidate)
when {
  if principal.role == "interviewer"
  then resource.interviewers.contains(principal)
  else !resource.hasNonConfidentialJob
};

@id("active-non-admins")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::User)
when { resource.active && resource.role != "admin" };

@id("history-of-active-interviews")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::StageTransition)
when { resource.application.status == "active" && resource.application.stage.kind == "interview" };

@id("feedback-by-interviewers")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Feedback)
when { resource.interview.status != "cancelled" && resource.author.role == "interviewer" };

@id("departments-but-interviewers")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Department)
when { principal.role != "interviewer" };
"#
    .to_owned();
    let entities = format!(
        r#"
@id("two-jobs-applications")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when {{ resource.job == Hireplane::Job::"{confidential}" || resource.job == Hireplane::Job::"{other}" }};

@id("one-job-interviews")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Interview)
when {{ resource.application.job == Hireplane::Job::"{other}" }};

@id("own-feedback")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Feedback)
when {{ resource.author == principal }};

@id("panel-feedback")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Feedback)
when {{ resource.interview.application.job.hiringTeam.contains(principal) }};

@id("team-jobs")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Job)
when {{ principal in resource.hiringTeam }};

@id("department-jobs")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Job)
when {{ resource.department == Hireplane::Department::"{dept}" }};

@id("one-department")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Department)
when {{ resource == Hireplane::Department::"{dept}" }};

@id("department-stages")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Stage)
when {{ resource.job.department == Hireplane::Department::"{dept}" }};

@id("candidates-i-meet")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Candidate)
when {{ resource.hiringTeam.contains(principal) || principal in resource.interviewers }};

@id("history-i-interview")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::StageTransition)
when {{ resource.application.interviewers.contains(principal) }};

@id("offers-of-open-candidates")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Offer)
when {{ resource.application.candidate.hasNonConfidentialJob }};

@id("no-offers-of-one-job")
forbid (principal, action, resource is Hireplane::Offer)
when {{ resource.application.job == Hireplane::Job::"{other}" }};

@id("jobs-by-type-test")
permit (principal, action == Hireplane::Action::"view", resource)
when {{ resource is Hireplane::Job && resource.confidential == false && principal in [Hireplane::User::"{recruiter}"] }};

@id("in-a-job")
permit (principal, action == Hireplane::Action::"view", resource)
when {{ resource in Hireplane::Job::"{confidential}" }};

@id("myself")
permit (principal, action == Hireplane::Action::"view", resource is Hireplane::User)
when {{ resource == principal }};
"#
    );
    let all = r#"@id("all") permit (principal, action, resource);"#.to_owned();
    vec![
        ("forbids.cedar", forbids),
        ("optional.cedar", optional),
        ("strings.cedar", strings),
        ("entities.cedar", entities),
        ("all.cedar", all),
    ]
}

/// Adds a candidate with no application (a prospect) to a generated folder: every attribute of
/// a candidate that is derived from applications is empty or false for it, and the filters must
/// say the same (the generator gives every candidate an application).
fn add_candidate_without_applications(dir: &std::path::Path, org: &str) {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("candidates.jsonl"))
        .unwrap();
    writeln!(
        file,
        r#"{{"id":"{org}_prospect","name":"Pat Prospect","email":null,"phone":null,"location":"Lisbon, PT","timezone":"Europe/Lisbon","created_at":"2024-01-02T03:04:05Z","tags":[],"custom_fields":{{}},"demographics":null}}"#
    )
    .unwrap();
}

/// Checks one generated org on the given stores; returns every disagreement found.
fn check_org(applications: u64, seed: u64, stores: &mut [Fresh]) -> Vec<String> {
    let org = format!("agree{seed}");
    let generated = common::generate(&org, applications, seed);
    add_candidate_without_applications(generated.dir.path(), &org);
    for s in stores.iter_mut() {
        s.import(generated.dir.path());
    }
    let facts = OrgFacts::load(&stores[0].sqlite_path().unwrap(), &org);
    let viewers = facts.viewers();
    let roles: std::collections::BTreeSet<&str> =
        viewers.iter().map(|(_, u)| u.role.as_str()).collect();
    assert_eq!(
        roles.len(),
        4,
        "the org has viewers of every role: {viewers:?}"
    );
    let services = app::Services::new();
    let mut problems = Vec::new();
    let files = policy_files(&facts);
    let mut cases: Vec<(&str, Option<&str>)> = vec![("shipped default", None)];
    cases.extend(files.iter().map(|(n, t)| (*n, Some(t.as_str()))));
    let mut version = 0;
    for (name, text) in cases {
        let policies = match text {
            None => Policies::shipped(&org).unwrap(),
            Some(text) => {
                version += 1;
                for s in stores.iter_mut() {
                    let v = services
                        .set_policy(s.store(), &org, text, name, None, at())
                        .unwrap_or_else(|e| panic!("{name} refused on {}: {e}", s.name()));
                    assert_eq!(v, version, "{name} on {}", s.name());
                }
                Policies::from_text(&org, text, name, PolicySource::Org { version }).unwrap()
            }
        };
        for (why, user) in &viewers {
            let viewer = facts.viewer(user);
            let mut seen = std::collections::BTreeMap::new();
            for (subject, ty) in SUBJECTS {
                let expected = facts.allowed(&policies, &viewer, Action::View, ty);
                seen.insert(ty, expected.clone());
                for s in stores.iter_mut() {
                    let actual = report_ids(
                        &services,
                        s.store(),
                        &org,
                        &user.id,
                        subject,
                        generated.today,
                    );
                    if actual != expected {
                        let mut p = String::new();
                        let _ = write!(
                            p,
                            "{}: org {org} ({applications} applications, seed {seed}), policy {name}, viewer {} ({}, {why}), subject {subject}: {}",
                            s.name(),
                            user.id,
                            user.role,
                            diff(&expected, &actual)
                        );
                        problems.push(p);
                    }
                }
            }
            // Pages (the API's lists): keyset pages of applications with their candidate and
            // job, whose statements carry the filters in their page form; a candidate or job
            // the viewer may not see reads as null.
            let expected_pages: Vec<common::PageRow> = seen["Application"]
                .iter()
                .map(|id| {
                    let shown = |ty: &'static str, attr: &str| {
                        let target = facts.ref_attr("Application", id, attr);
                        seen[ty].contains(&target).then_some(target)
                    };
                    (
                        id.clone(),
                        shown("Candidate", "candidate"),
                        shown("Job", "job"),
                    )
                })
                .collect();
            for s in stores.iter_mut() {
                let actual =
                    common::page_rows(&services, s.store(), &org, &user.id, 7, generated.today);
                if actual != expected_pages {
                    let wrong: Vec<String> = expected_pages
                        .iter()
                        .filter(|r| !actual.contains(r))
                        .map(|r| format!("expected {r:?}"))
                        .chain(
                            actual
                                .iter()
                                .filter(|r| !expected_pages.contains(r))
                                .map(|r| format!("got {r:?}")),
                        )
                        .take(6)
                        .collect();
                    problems.push(format!(
                        "{}: org {org} ({applications} applications, seed {seed}), policy {name}, viewer {} ({}, {why}): pages of applications: {} rows expected, {} read; {wrong:?}",
                        s.name(),
                        user.id,
                        user.role,
                        expected_pages.len(),
                        actual.len()
                    ));
                }
            }
            // Link rows (no key of their own): the allowed rows, with what they reference
            // read as null where the viewer may not see it (a to-one join to a hidden row).
            for (subject, ty, parent, parent_ty) in [
                ("hiring_team", "HiringTeamMember", "job", "Job"),
                (
                    "interview_participants",
                    "InterviewParticipant",
                    "interview",
                    "Interview",
                ),
            ] {
                let allowed = facts.allowed(&policies, &viewer, Action::View, ty);
                let mut expected = Links::new();
                for id in &allowed {
                    let parts: Vec<&str> = id.split('|').collect();
                    let role = facts.text_attr(ty, id, "role");
                    let shown = |set: &str, x: &str| seen[set].contains(x).then(|| x.to_owned());
                    *expected
                        .entry((role, shown("User", parts[1]), shown(parent_ty, parts[0])))
                        .or_default() += 1;
                }
                let text = format!(
                    "report {subject} group by role, user.id as u, {parent}.id as p show count() as n"
                );
                for s in stores.iter_mut() {
                    let actual =
                        links(&services, s.store(), &org, &user.id, &text, generated.today);
                    if actual != expected {
                        let differences: Vec<_> = expected
                            .iter()
                            .filter(|(k, v)| actual.get(*k) != Some(*v))
                            .map(|(k, v)| format!("{k:?}: expected {v}, got {:?}", actual.get(k)))
                            .chain(
                                actual
                                    .iter()
                                    .filter(|(k, _)| !expected.contains_key(*k))
                                    .map(|(k, v)| format!("{k:?}: expected none, got {v}")),
                            )
                            .take(6)
                            .collect();
                        problems.push(format!(
                            "{}: org {org} ({applications} applications, seed {seed}), policy {name}, viewer {} ({}, {why}): {text}: expected {} rows, got {}; {differences:?}",
                            s.name(),
                            user.id,
                            user.role,
                            expected.values().sum::<i64>(),
                            actual.values().sum::<i64>(),
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// Link rows counted by (role, user id or null, parent id or null).
type Links = std::collections::BTreeMap<(String, Option<String>, Option<String>), i64>;

fn links(
    services: &app::Services,
    store: &mut store::Store,
    org: &str,
    user: &str,
    text: &str,
    today: jiff::civil::Date,
) -> Links {
    use query_compiler::Value;
    let text_of = |v: &Value| match v {
        Value::Text(t) => Some(t.clone()),
        Value::Null => None,
        other => panic!("{text}: {other:?}"),
    };
    let mut out = Links::new();
    for row in common::run(services, store, org, user, text, today) {
        let Value::Integer(n) = row[3] else {
            panic!("{text}: {row:?}");
        };
        *out.entry((
            text_of(&row[0]).unwrap(),
            text_of(&row[1]),
            text_of(&row[2]),
        ))
        .or_default() += n;
    }
    out
}

fn agreement(with_pg: bool, default_cases: u32) {
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
    let config = Config {
        cases: common::cases(default_cases),
        failure_persistence: None,
        max_shrink_iters: 0,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&(40u64..100, 0u64..1_000_000), |(applications, seed)| {
        let mut stores = vec![common::sqlite()];
        if with_pg {
            stores.push(common::postgres());
        }
        let problems = check_org(applications, seed, &mut stores);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TestCaseError::fail(format!(
                "{} disagreements:\n{}",
                problems.len(),
                problems.join("\n")
            )))
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn report_rows_are_exactly_the_rows_cedar_allows_on_sqlite() {
    agreement(false, 2);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn report_rows_are_exactly_the_rows_cedar_allows_on_postgres_and_sqlite() {
    agreement(true, 1);
}

/// The facts a decision is given (the entity and what its references reach) decide exactly as
/// the whole org's facts do: the per-row facts of the agreement test are not missing anything.
/// And the viewer's residual policies (the app's decisions) decide as every policy does.
#[test]
fn per_row_facts_decide_like_the_whole_org() {
    let generated = common::generate("wholeorg", 60, 3);
    let mut s = common::sqlite();
    s.import(generated.dir.path());
    let facts = OrgFacts::load(&s.sqlite_path().unwrap(), "wholeorg");
    let all = facts.all_facts();
    let policies = Policies::shipped("wholeorg").unwrap();
    let mut compared = 0;
    for (_, user) in facts.viewers().iter().take(6) {
        let viewer = facts.viewer(user);
        let guard = policies.guard(&viewer).unwrap();
        for (_, ty) in SUBJECTS {
            for id in facts.ids(ty).into_iter().take(4) {
                for action in [Action::View, Action::ViewCompensation] {
                    if action == Action::ViewCompensation && ty != "Offer" {
                        continue;
                    }
                    let whole = policies.decide(&viewer, action, ty, id, &all).unwrap();
                    assert!(whole.errors.is_empty(), "{:?}", whole.errors);
                    let row = facts.decide(&policies, &viewer, action, ty, id);
                    assert_eq!(row, whole.allowed, "{action} {ty}::{id} for {}", user.id);
                    // The viewer's residual policies decide the same, for the same reasons.
                    let mut fast = guard.decide(&policies, action, ty, id, &all).unwrap();
                    let mut whole = whole;
                    fast.policies.sort();
                    whole.policies.sort();
                    assert_eq!(fast, whole, "{action} {ty}::{id} for {}", user.id);
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 100, "{compared}");
}
