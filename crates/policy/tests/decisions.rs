//! The shipped default policy, decision by decision, per role of DESIGN.md; loading and refusing
//! org policy files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use policy::{Action, Fact, Facts, Policies, PolicyError, PolicySource, Viewer};

fn viewer(user: &str, role: &str) -> Viewer {
    Viewer {
        org: "acme".into(),
        user: user.into(),
        role: role.into(),
        active: true,
    }
}

fn users(ids: &[&str]) -> Fact {
    Fact::Entities("User", ids.iter().map(|s| s.to_string()).collect())
}

fn entity(ty: &'static str, id: &str) -> Fact {
    Fact::Entity(ty, id.into())
}

/// A small org: `secret` is a confidential job whose hiring team is recruiter `rec-in` and
/// hiring manager `hm`; `public` is not confidential and has no team. Application `a-secret`
/// (candidate `c1`) is for `secret`, `a-public` (candidate `c2`) for `public`; interviewer
/// `int` sits on `a-public`'s interview `i1` and wrote feedback `f1`.
fn world(org: &str) -> Facts {
    let mut f = Facts::new(org);
    for (id, role) in [
        ("admin", "admin"),
        ("rec-in", "recruiter"),
        ("rec-out", "recruiter"),
        ("hm", "hiring_manager"),
        ("int", "interviewer"),
    ] {
        f.add(
            "User",
            id,
            vec![
                ("role", Fact::Text(role.into())),
                ("active", Fact::Bool(true)),
            ],
        );
    }
    f.add("Department", "eng", vec![]);
    for (id, confidential, team, interviewers) in [
        ("secret", true, users(&["rec-in", "hm"]), users(&[])),
        ("public", false, users(&[]), users(&["int"])),
    ] {
        f.add(
            "Job",
            id,
            vec![
                ("status", Fact::Text("open".into())),
                ("confidential", Fact::Bool(confidential)),
                ("department", entity("Department", "eng")),
                ("hiringTeam", team),
                ("interviewers", interviewers),
            ],
        );
        f.add(
            "Stage",
            &format!("{id}-screen"),
            vec![
                ("job", entity("Job", id)),
                ("kind", Fact::Text("screen".into())),
            ],
        );
    }
    f.add(
        "Candidate",
        "c1",
        vec![
            ("hiringTeam", users(&["rec-in", "hm"])),
            ("interviewers", users(&[])),
            ("hasNonConfidentialJob", Fact::Bool(false)),
        ],
    );
    f.add(
        "Candidate",
        "c2",
        vec![
            ("hiringTeam", users(&[])),
            ("interviewers", users(&["int"])),
            ("hasNonConfidentialJob", Fact::Bool(true)),
        ],
    );
    for (id, job, candidate, interviewers, authors) in [
        ("a-secret", "secret", "c1", users(&[]), users(&[])),
        ("a-public", "public", "c2", users(&["int"]), users(&["int"])),
    ] {
        f.add(
            "Application",
            id,
            vec![
                ("job", entity("Job", job)),
                ("candidate", entity("Candidate", candidate)),
                ("stage", entity("Stage", &format!("{job}-screen"))),
                ("status", Fact::Text("active".into())),
                ("interviewers", interviewers),
                ("feedbackAuthors", authors),
            ],
        );
        f.add(
            "Offer",
            &format!("o-{job}"),
            vec![
                ("application", entity("Application", id)),
                ("status", Fact::Text("sent".into())),
            ],
        );
    }
    f.add(
        "Interview",
        "i1",
        vec![
            ("application", entity("Application", "a-public")),
            ("stage", entity("Stage", "public-screen")),
            ("status", Fact::Text("completed".into())),
            ("participants", users(&["int"])),
        ],
    );
    f.add(
        "Feedback",
        "f1",
        vec![
            ("application", entity("Application", "a-public")),
            ("interview", entity("Interview", "i1")),
            ("author", entity("User", "int")),
        ],
    );
    f
}

fn allowed(p: &Policies, v: &Viewer, action: Action, ty: &str, id: &str) -> bool {
    match p.decide(v, action, ty, id, &world("acme")) {
        Ok(d) => {
            assert!(d.errors.is_empty(), "{action} {ty} {id}: {:?}", d.errors);
            d.allowed
        }
        Err(e) => panic!("{action} {ty} {id}: {e}"),
    }
}

#[test]
fn admin_sees_everything_in_the_org() {
    let p = Policies::shipped("acme").unwrap();
    let v = viewer("admin", "admin");
    for (ty, id) in [
        ("Job", "secret"),
        ("Application", "a-secret"),
        ("Candidate", "c1"),
        ("Offer", "o-secret"),
        ("Feedback", "f1"),
    ] {
        assert!(allowed(&p, &v, Action::View, ty, id), "{ty} {id}");
    }
    assert!(allowed(
        &p,
        &v,
        Action::ViewCompensation,
        "Offer",
        "o-secret"
    ));
    assert!(allowed(
        &p,
        &v,
        Action::ViewSensitiveCustomFields,
        "Candidate",
        "c1"
    ));
    assert!(allowed(
        &p,
        &v,
        Action::ViewDemographicsAggregate,
        "Org",
        "acme"
    ));
    let d = p
        .decide(&v, Action::View, "Job", "secret", &world("acme"))
        .unwrap();
    assert_eq!(d.policies, vec!["admin".to_string()]);
}

#[test]
fn recruiters_see_open_jobs_and_confidential_ones_they_hire_for() {
    let p = Policies::shipped("acme").unwrap();
    let inside = viewer("rec-in", "recruiter");
    let outside = viewer("rec-out", "recruiter");
    for v in [&inside, &outside] {
        assert!(allowed(&p, v, Action::View, "Job", "public"));
        assert!(allowed(&p, v, Action::View, "Application", "a-public"));
        assert!(allowed(&p, v, Action::View, "Candidate", "c2"));
        assert!(allowed(
            &p,
            v,
            Action::ViewContactDetails,
            "Candidate",
            "c2"
        ));
        assert!(allowed(&p, v, Action::View, "Feedback", "f1"));
        // Reports over demographics: admins only by default (issue 17).
        assert!(!allowed(
            &p,
            v,
            Action::ViewDemographicsAggregate,
            "Org",
            "acme"
        ));
        // Compensation only for jobs on whose hiring team they are.
        assert!(!allowed(
            &p,
            v,
            Action::ViewCompensation,
            "Offer",
            "o-public"
        ));
        assert!(!allowed(
            &p,
            v,
            Action::ViewSensitiveCustomFields,
            "Candidate",
            "c2"
        ));
    }
    assert!(allowed(&p, &inside, Action::View, "Job", "secret"));
    assert!(allowed(
        &p,
        &inside,
        Action::View,
        "Application",
        "a-secret"
    ));
    assert!(allowed(&p, &inside, Action::View, "Candidate", "c1"));
    assert!(allowed(
        &p,
        &inside,
        Action::ViewCompensation,
        "Offer",
        "o-secret"
    ));
    assert!(!allowed(&p, &outside, Action::View, "Job", "secret"));
    assert!(!allowed(
        &p,
        &outside,
        Action::View,
        "Application",
        "a-secret"
    ));
    assert!(!allowed(&p, &outside, Action::View, "Candidate", "c1"));
    assert!(!allowed(&p, &outside, Action::View, "Offer", "o-secret"));
}

#[test]
fn hiring_managers_see_their_jobs_and_what_they_interview_for() {
    let p = Policies::shipped("acme").unwrap();
    let v = viewer("hm", "hiring_manager");
    assert!(allowed(&p, &v, Action::View, "Job", "secret"));
    assert!(allowed(&p, &v, Action::View, "Application", "a-secret"));
    assert!(allowed(
        &p,
        &v,
        Action::ViewCompensation,
        "Offer",
        "o-secret"
    ));
    assert!(!allowed(&p, &v, Action::View, "Job", "public"));
    assert!(!allowed(&p, &v, Action::View, "Application", "a-public"));
    assert!(!allowed(
        &p,
        &v,
        Action::ViewDemographicsAggregate,
        "Org",
        "acme"
    ));
    assert!(!allowed(
        &p,
        &v,
        Action::ViewSensitiveCustomFields,
        "Job",
        "secret"
    ));
}

#[test]
fn interviewers_see_only_what_they_interview_for_without_contact_or_pay() {
    let p = Policies::shipped("acme").unwrap();
    let v = viewer("int", "interviewer");
    assert!(allowed(&p, &v, Action::View, "Application", "a-public"));
    assert!(allowed(&p, &v, Action::View, "Candidate", "c2"));
    assert!(allowed(&p, &v, Action::View, "Interview", "i1"));
    assert!(allowed(&p, &v, Action::View, "Feedback", "f1"));
    assert!(allowed(&p, &v, Action::Edit, "Feedback", "f1"));
    assert!(allowed(&p, &v, Action::View, "Stage", "public-screen"));
    assert!(!allowed(&p, &v, Action::View, "Application", "a-secret"));
    assert!(!allowed(&p, &v, Action::View, "Candidate", "c1"));
    // The job they interview for (its title and department), not the others.
    assert!(allowed(&p, &v, Action::View, "Job", "public"));
    assert!(!allowed(&p, &v, Action::View, "Job", "secret"));
    assert!(!allowed(&p, &v, Action::View, "Offer", "o-public"));
    // No details, no stage history (DESIGN: no archive reason, source, custom fields, ...).
    for (action, ty, id) in [
        (Action::ViewDetails, "Application", "a-public"),
        (Action::ViewDetails, "Candidate", "c2"),
        (Action::ViewDetails, "Job", "public"),
        (Action::ViewStageHistory, "Application", "a-public"),
    ] {
        assert!(!allowed(&p, &v, action, ty, id), "{action} {ty} {id}");
    }
    assert!(!allowed(
        &p,
        &v,
        Action::ViewContactDetails,
        "Candidate",
        "c2"
    ));
    assert!(!allowed(
        &p,
        &v,
        Action::ViewCompensation,
        "Offer",
        "o-public"
    ));
    assert!(!allowed(
        &p,
        &v,
        Action::ViewSensitiveCustomFields,
        "Application",
        "a-public"
    ));
    assert!(!allowed(
        &p,
        &v,
        Action::ViewDemographicsAggregate,
        "Org",
        "acme"
    ));
    assert!(!allowed(&p, &v, Action::Edit, "Application", "a-public"));
}

#[test]
fn only_admins_and_the_hiring_team_manage_a_jobs_team_and_confidentiality() {
    let p = Policies::shipped("acme").unwrap();
    let may = |user: &str, role: &str, job: &str| {
        allowed(
            &p,
            &viewer(user, role),
            Action::ManageHiringTeam,
            "Job",
            job,
        )
    };
    // Admins on any job; the recruiter and the hiring manager on the team of `secret`.
    assert!(may("admin", "admin", "secret") && may("admin", "admin", "public"));
    assert!(may("rec-in", "recruiter", "secret"));
    assert!(may("hm", "hiring_manager", "secret"));
    // A recruiter may edit `public` (not confidential) but, off its team, not manage its team:
    // else they could add themselves (and see its offers' pay) or make it confidential.
    let outside = viewer("rec-out", "recruiter");
    assert!(allowed(&p, &outside, Action::Edit, "Job", "public"));
    assert!(!may("rec-out", "recruiter", "public"));
    assert!(!may("rec-out", "recruiter", "secret"));
    assert!(!may("rec-in", "recruiter", "public"));
    assert!(!may("hm", "hiring_manager", "public"));
    assert!(!may("int", "interviewer", "secret"));
    let d = p
        .decide(
            &viewer("rec-in", "recruiter"),
            Action::ManageHiringTeam,
            "Job",
            "secret",
            &world("acme"),
        )
        .unwrap();
    assert_eq!(d.policies, vec!["hiring-team-managers".to_string()]);
    // Other entity types are outside the action's scope: refused by the schema, never allowed.
    assert!(
        p.decide(
            &viewer("admin", "admin"),
            Action::ManageHiringTeam,
            "Application",
            "a-secret",
            &world("acme")
        )
        .map_or(true, |d| !d.allowed)
    );
    assert_eq!(
        Action::parse("manageHiringTeam"),
        Some(Action::ManageHiringTeam)
    );
}

#[test]
fn nothing_crosses_orgs_whatever_the_policy_says() {
    let open = r#"@id("everyone-everything") permit (principal, action, resource);"#;
    let p =
        Policies::from_text("acme", open, "open.cedar", PolicySource::Org { version: 1 }).unwrap();
    let v = viewer("admin", "admin");
    // Facts of another org: the boundary forbids, whatever the org's file permits.
    let d = p
        .decide(&v, Action::View, "Job", "secret", &world("globex"))
        .unwrap();
    assert!(!d.allowed);
    assert_eq!(d.policies, vec!["org-boundary".to_string()]);
    assert!(
        p.decide(&v, Action::View, "Job", "secret", &world("acme"))
            .unwrap()
            .allowed
    );
    // An inactive user sees nothing.
    let gone = Viewer {
        active: false,
        ..viewer("admin", "admin")
    };
    let d = p
        .decide(&gone, Action::View, "Job", "public", &world("acme"))
        .unwrap();
    assert!(!d.allowed);
    assert_eq!(d.policies, vec!["inactive-users".to_string()]);
}

fn refused(text: &str) -> String {
    match Policies::from_text("acme", text, "org.cedar", PolicySource::Org { version: 1 }) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_policy_files_are_refused_with_their_place() {
    let e =
        refused("@id(\"a\")\npermit (principal, action, resource)\nwhen { principal.role == };");
    assert!(
        e.starts_with("`org.cedar` is not a valid policy file:"),
        "{e}"
    );
    assert!(e.contains("org.cedar:3:"), "{e}");

    let e = refused(
        "@id(\"pay\")\npermit (principal, action, resource is Hireplane::Offer)\nwhen { resource.salary > 100 };",
    );
    assert!(e.contains("org.cedar:3:"), "{e}");
    assert!(e.contains("policy `pay`"), "{e}");
    assert!(e.contains("salary"), "{e}");

    let e = refused("permit (principal, action, resource);");
    assert!(e.contains("org.cedar:1:1: policy has no `@id"), "{e}");

    let e = refused("@id(\"org-boundary\") permit (principal, action, resource);");
    assert!(e.contains("built-in policy"), "{e}");

    let e = refused(
        "@id(\"a\") permit (principal, action, resource);\n@id(\"a\") forbid (principal, action, resource);",
    );
    assert!(e.contains("used twice"), "{e}");
}

#[test]
fn a_file_that_names_another_org_is_refused() {
    let text = "@id(\"peek\")\npermit (principal, action, resource)\nwhen { resource has org && resource.org == Hireplane::Org::\"globex\" };";
    match Policies::from_text("acme", text, "peek.cedar", PolicySource::Org { version: 1 }) {
        Err(PolicyError::CrossOrg { named, line, .. }) => {
            assert_eq!(named, "globex");
            assert_eq!(line, 1);
        }
        other => panic!("{other:?}"),
    }
    // Naming one's own org is fine.
    let own = text.replace("globex", "acme");
    assert!(
        Policies::from_text("acme", &own, "own.cedar", PolicySource::Org { version: 1 }).is_ok()
    );
}
