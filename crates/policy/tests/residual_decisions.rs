//! A decision answered from the viewer's residual policies ([`ViewerGuard::decide`]) is the
//! decision Cedar makes evaluating every policy ([`Policies::decide`]): the same outcome, the
//! same deciding policies, errors in the same cases. Over random orgs, every user as the viewer,
//! every action on every entity, for the shipped policy and for an org's own file that uses what
//! partial evaluation leaves undecided (role tests, `unless`, forbids, named users, `has`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use policy::model::TYPES;
use policy::{Action, Fact, Facts, Policies, PolicySource, Viewer};
use proptest::prelude::*;

const ROLES: [&str; 5] = [
    "admin",
    "recruiter",
    "hiring_manager",
    "interviewer",
    "coordinator",
];

/// An org's own policies: each permit or forbid leaves a different kind of residual.
const ORG_POLICY: &str = r#"
@id("admins") permit (principal, action, resource) when { principal.role == "admin" };
@id("open-jobs") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Job)
  when { resource.status == "open" } unless { resource.confidential };
@id("team-edits") permit (principal, action == Hireplane::Action::"edit", resource is Hireplane::Application)
  when { resource.job.hiringTeam.contains(principal) && principal.role != "interviewer" };
@id("closed-jobs") forbid (principal, action, resource is Hireplane::Application)
  when { resource.job.status == "closed" && principal.role != "admin" };
@id("own-feedback") permit (principal, action, resource is Hireplane::Feedback)
  when { resource.author == principal };
@id("buddy") permit (principal, action == Hireplane::Action::"edit", resource is Hireplane::Candidate)
  when { Hireplane::User::"u1".role == "admin" && resource.hiringTeam.contains(principal) };
@id("credited") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
  when { resource has creditedTo && resource.creditedTo == principal };
@id("team-managers") permit (principal, action == Hireplane::Action::"manageHiringTeam", resource is Hireplane::Job)
  when { resource.hiringTeam.contains(principal) } unless { resource.status == "closed" };
@id("offers") permit (principal, action == Hireplane::Action::"viewCompensation", resource is Hireplane::Offer)
  when { principal.role == "recruiter" && resource.application.job.hiringTeam.contains(principal) }
  unless { resource.status == "draft" };
"#;

/// An application: job, candidate, interviewers, the user it is credited to (with a source),
/// whether its offer is a draft.
type App = (usize, usize, Vec<usize>, Option<usize>, bool);

/// A random org: who is on which team, which jobs are confidential or closed, who interviews.
#[derive(Debug, Clone)]
struct World {
    users: Vec<(usize, bool)>,
    jobs: Vec<(bool, bool, Vec<usize>)>,
    candidates: Vec<(Vec<usize>, Vec<usize>, bool)>,
    applications: Vec<App>,
    feedback: Vec<(usize, usize)>,
}

fn world() -> impl Strategy<Value = World> {
    let team = || proptest::collection::vec(0usize..6, 0..3);
    (
        proptest::collection::vec((0usize..ROLES.len(), proptest::bool::weighted(0.85)), 6),
        proptest::collection::vec((any::<bool>(), any::<bool>(), team()), 1..4),
        proptest::collection::vec((team(), team(), any::<bool>()), 1..4),
        proptest::collection::vec(
            (
                0usize..4,
                0usize..4,
                team(),
                proptest::option::of(0usize..6),
                any::<bool>(),
            ),
            1..5,
        ),
        proptest::collection::vec((0usize..5, 0usize..6), 0..4),
    )
        .prop_map(|(users, jobs, candidates, applications, feedback)| World {
            users,
            jobs,
            candidates,
            applications,
            feedback,
        })
}

fn user(i: usize) -> String {
    format!("u{i}")
}

fn users(ids: &[usize]) -> Fact {
    Fact::Entities("User", ids.iter().map(|i| user(*i)).collect())
}

/// The world's facts, and the ids per entity type.
fn facts(w: &World) -> (Facts, Vec<(&'static str, String)>) {
    let mut f = Facts::new("acme");
    let mut ids = vec![("Org", "acme".to_owned())];
    for (i, (role, active)) in w.users.iter().enumerate() {
        f.add(
            "User",
            &user(i),
            vec![
                ("role", Fact::Text(ROLES[*role].into())),
                ("active", Fact::Bool(*active)),
            ],
        );
        ids.push(("User", user(i)));
    }
    f.add("Department", "eng", vec![]);
    ids.push(("Department", "eng".into()));
    for (j, (confidential, closed, team)) in w.jobs.iter().enumerate() {
        let job = format!("j{j}");
        // Everyone seated on an interview of any of the job's applications.
        let seated: Vec<usize> = w
            .applications
            .iter()
            .filter(|a| a.0 % w.jobs.len() == j)
            .flat_map(|a| a.2.iter().copied())
            .collect();
        f.add(
            "Job",
            &job,
            vec![
                (
                    "status",
                    Fact::Text(if *closed { "closed" } else { "open" }.into()),
                ),
                ("confidential", Fact::Bool(*confidential)),
                ("department", Fact::Entity("Department", "eng".into())),
                ("hiringTeam", users(team)),
                ("interviewers", users(&seated)),
            ],
        );
        f.add(
            "Stage",
            &format!("{job}-s"),
            vec![
                ("job", Fact::Entity("Job", job.clone())),
                ("kind", Fact::Text("onsite".into())),
            ],
        );
        ids.push(("Job", job.clone()));
        ids.push(("Stage", format!("{job}-s")));
        for u in team {
            let member = format!("{job}-{}", user(*u));
            f.add(
                "HiringTeamMember",
                &member,
                vec![
                    ("job", Fact::Entity("Job", job.clone())),
                    ("user", Fact::Entity("User", user(*u))),
                    ("role", Fact::Text("recruiter".into())),
                ],
            );
            ids.push(("HiringTeamMember", member));
        }
    }
    f.add(
        "Source",
        "referrals",
        vec![("kind", Fact::Text("referral".into()))],
    );
    ids.push(("Source", "referrals".into()));
    for (c, (team, interviewers, open)) in w.candidates.iter().enumerate() {
        let id = format!("c{c}");
        f.add(
            "Candidate",
            &id,
            vec![
                ("hiringTeam", users(team)),
                ("interviewers", users(interviewers)),
                ("hasNonConfidentialJob", Fact::Bool(*open)),
            ],
        );
        ids.push(("Candidate", id));
    }
    for (a, (job, candidate, interviewers, credited, draft)) in w.applications.iter().enumerate() {
        let job = format!("j{}", job % w.jobs.len());
        let id = format!("a{a}");
        let mut attrs = vec![
            ("job", Fact::Entity("Job", job.clone())),
            (
                "candidate",
                Fact::Entity("Candidate", format!("c{}", candidate % w.candidates.len())),
            ),
            ("stage", Fact::Entity("Stage", format!("{job}-s"))),
            ("status", Fact::Text("active".into())),
            ("interviewers", users(interviewers)),
            (
                "feedbackAuthors",
                users(
                    &w.feedback
                        .iter()
                        .filter(|(fa, _)| fa % w.applications.len() == a)
                        .map(|(_, author)| *author)
                        .collect::<Vec<_>>(),
                ),
            ),
        ];
        if let Some(u) = credited {
            attrs.push(("creditedTo", Fact::Entity("User", user(*u))));
            attrs.push(("source", Fact::Entity("Source", "referrals".into())));
        }
        f.add("Application", &id, attrs);
        let mut moved = vec![("application", Fact::Entity("Application", id.clone()))];
        if let Some(u) = credited {
            moved.push(("byUser", Fact::Entity("User", user(*u))));
        }
        f.add("StageTransition", &format!("t{a}"), moved);
        ids.push(("StageTransition", format!("t{a}")));
        for u in interviewers {
            let seat = format!("i{a}-{}", user(*u));
            f.add(
                "InterviewParticipant",
                &seat,
                vec![
                    ("interview", Fact::Entity("Interview", format!("i{a}"))),
                    ("user", Fact::Entity("User", user(*u))),
                    ("role", Fact::Text("interviewer".into())),
                ],
            );
            ids.push(("InterviewParticipant", seat));
        }
        f.add(
            "Offer",
            &format!("o{a}"),
            vec![
                ("application", Fact::Entity("Application", id.clone())),
                (
                    "status",
                    Fact::Text(if *draft { "draft" } else { "sent" }.into()),
                ),
            ],
        );
        f.add(
            "Interview",
            &format!("i{a}"),
            vec![
                ("application", Fact::Entity("Application", id.clone())),
                ("stage", Fact::Entity("Stage", format!("{job}-s"))),
                ("status", Fact::Text("completed".into())),
                ("participants", users(interviewers)),
            ],
        );
        ids.push(("Application", id));
        ids.push(("Offer", format!("o{a}")));
        ids.push(("Interview", format!("i{a}")));
    }
    for (n, (a, author)) in w.feedback.iter().enumerate() {
        let a = a % w.applications.len();
        let id = format!("f{n}");
        f.add(
            "Feedback",
            &id,
            vec![
                ("application", Fact::Entity("Application", format!("a{a}"))),
                ("interview", Fact::Entity("Interview", format!("i{a}"))),
                ("author", Fact::Entity("User", user(*author))),
            ],
        );
        ids.push(("Feedback", id));
    }
    (f, ids)
}

/// Compares every decision of every viewer; returns how many were compared.
fn compare(policies: &Policies, w: &World) -> Result<usize, TestCaseError> {
    let (facts, ids) = facts(w);
    let mut compared = 0;
    let mut viewers: Vec<Viewer> = w
        .users
        .iter()
        .enumerate()
        .map(|(i, (role, active))| Viewer {
            org: "acme".into(),
            user: user(i),
            role: ROLES[*role].into(),
            active: *active,
        })
        .collect();
    // Someone of another org, whose guard holds nothing: every decision is the full one.
    viewers.push(Viewer {
        org: "globex".into(),
        user: "u0".into(),
        role: "admin".into(),
        active: true,
    });
    for viewer in &viewers {
        let guard = policies.guard(viewer).unwrap();
        for action in Action::ALL {
            for (ty, id) in &ids {
                let full = policies.decide(viewer, action, ty, id, &facts);
                let fast = guard.decide(policies, action, ty, id, &facts);
                let what = format!("{} ({}) {action} {ty}::{id}", viewer.user, viewer.role);
                match (full, fast) {
                    (Ok(full), Ok(fast)) => {
                        prop_assert_eq!(full.allowed, fast.allowed, "{}", what);
                        let (mut a, mut b) = (full.policies.clone(), fast.policies.clone());
                        a.sort();
                        b.sort();
                        prop_assert_eq!(a, b, "{}", what);
                        prop_assert_eq!(
                            full.errors.len(),
                            fast.errors.len(),
                            "{}: {:?} / {:?}",
                            what,
                            full.errors,
                            fast.errors
                        );
                    }
                    (Err(_), Err(_)) => {}
                    (full, fast) => {
                        return Err(TestCaseError::fail(format!("{what}: {full:?} / {fast:?}")));
                    }
                }
                compared += 1;
            }
        }
        // An unknown type is refused on both paths.
        prop_assert!(
            guard
                .decide(policies, Action::View, "Nothing", "x", &facts)
                .is_err()
        );
    }
    Ok(compared)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn residual_decisions_are_cedars_decisions_for_the_shipped_policy(w in world()) {
        let policies = Policies::shipped("acme").unwrap();
        let n = compare(&policies, &w)?;
        prop_assert!(n > 100, "{}", n);
    }

    #[test]
    fn residual_decisions_are_cedars_decisions_for_an_org_policy(w in world()) {
        let policies = Policies::from_text(
            "acme",
            ORG_POLICY,
            "org.cedar",
            PolicySource::Org { version: 3 },
        )
        .unwrap();
        let n = compare(&policies, &w)?;
        prop_assert!(n > 100, "{}", n);
    }
}

/// Every type the model knows is asked about (the comparison above covers them all).
#[test]
fn the_comparison_covers_the_model() {
    let w = World {
        users: vec![(0, true)],
        jobs: vec![(false, false, vec![0])],
        candidates: vec![(vec![], vec![], true)],
        applications: vec![(0, 0, vec![0], Some(0), false)],
        feedback: vec![(0, 0)],
    };
    let (_, ids) = facts(&w);
    for ty in TYPES.iter().map(|t| t.name) {
        // Demographics are never decided one by one (only in aggregates, on the org).
        let covered = ids.iter().any(|(t, _)| *t == ty) || ty == "Demographics";
        assert!(covered, "{ty} is never asked about");
    }
}
