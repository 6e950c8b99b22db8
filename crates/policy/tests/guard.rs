//! Row filters and masks from the shipped policy, per role: what they come to, and what the
//! translator refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use policy::{Policies, PolicyError, PolicySource, Viewer};
use query_compiler::catalog::FieldGroup;
use query_compiler::sql::{Dialect, Select, SqlExpr, TableSource, bind_row, render};
use query_compiler::{EntityId, Guard, Visibility};

fn viewer(user: &str, role: &str) -> Viewer {
    Viewer {
        org: "acme".into(),
        user: user.into(),
        role: role.into(),
        active: true,
    }
}

/// The filter as the WHERE clause of `SELECT 1 FROM table t`.
fn sql(vis: &Visibility, table: &'static str) -> String {
    match vis {
        Visibility::All => "all".into(),
        Visibility::None => "none".into(),
        Visibility::Rows(p) => {
            let select = Select {
                columns: vec![(SqlExpr::Int(1), "x".into())],
                from: Some((TableSource::Table(table), "t".into())),
                filter: Some(bind_row(p, "t")),
                ..Default::default()
            };
            let text = render(&select, Dialect::Postgres);
            let (_, filter) = text.split_once("WHERE").unwrap_or(("", &text));
            filter.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    }
}

#[test]
fn admins_are_not_filtered() {
    let p = Policies::shipped("acme").unwrap();
    let g = p.guard(&viewer("u1", "admin")).unwrap();
    for e in [
        EntityId::Applications,
        EntityId::Jobs,
        EntityId::Offers,
        EntityId::Candidates,
    ] {
        assert_eq!(g.rows(e), Visibility::All, "{e:?}");
    }
    assert_eq!(
        g.fields(EntityId::Offers, FieldGroup::Compensation),
        Visibility::All
    );
    assert_eq!(
        g.fields(EntityId::Candidates, FieldGroup::SensitiveCustom),
        Visibility::All
    );
    assert!(g.demographics_aggregates());
}

#[test]
fn recruiter_filters_read_like_the_policy() {
    let p = Policies::shipped("acme").unwrap();
    let g = p.guard(&viewer("r1", "recruiter")).unwrap();
    let jobs = sql(&g.rows(EntityId::Jobs), "jobs");
    assert_eq!(
        jobs,
        r#"(NOT ("t"."confidential" = TRUE)) OR ("t"."id" IN (SELECT "zh"."job_id" AS "k" FROM "hiring_team" AS "zh" WHERE ("zh"."org_id" = $1::text) AND ("zh"."user_id" = 'r1')))"#
    );
    let apps = sql(&g.rows(EntityId::Applications), "applications");
    assert!(
        apps.contains(r#""t"."job_id" IN (SELECT "z1"."id" AS "k" FROM "jobs" AS "z1""#),
        "{apps}"
    );
    assert_eq!(g.rows(EntityId::Users), Visibility::All);
    let pay = sql(
        &g.fields(EntityId::Offers, FieldGroup::Compensation),
        "offers",
    );
    assert!(pay.contains("hiring_team"), "{pay}");
    assert!(!pay.contains("confidential"), "{pay}");
    // Contact details on the candidates they see (the same condition as the rows).
    assert_eq!(
        g.fields(EntityId::Candidates, FieldGroup::ContactDetails),
        g.rows(EntityId::Candidates)
    );
    assert_eq!(
        g.fields(EntityId::Candidates, FieldGroup::SensitiveCustom),
        Visibility::None
    );
    // Reports over demographics need `viewDemographicsAggregate`: admins only by default.
    assert!(!g.demographics_aggregates());
}

#[test]
fn interviewer_sees_rows_they_sit_on_and_no_restricted_field() {
    let p = Policies::shipped("acme").unwrap();
    let g = p.guard(&viewer("i'1", "interviewer")).unwrap();
    let apps = sql(&g.rows(EntityId::Applications), "applications");
    // The id is a literal, quoted and escaped.
    assert!(apps.contains("'i''1'"), "{apps}");
    assert!(apps.contains("interview_participants"), "{apps}");
    // The jobs they interview for: a seat's stored job.
    let jobs = sql(&g.rows(EntityId::Jobs), "jobs");
    assert_eq!(
        jobs,
        r#""t"."id" IN (SELECT "zp"."job_id" AS "k" FROM "interview_participants" AS "zp" WHERE ("zp"."org_id" = $1::text) AND ("zp"."user_id" = 'i''1'))"#
    );
    assert_eq!(g.rows(EntityId::Offers), Visibility::None);
    assert_eq!(g.rows(EntityId::HiringTeam), Visibility::None);
    assert_eq!(g.rows(EntityId::StageTransitions), Visibility::None);
    // Their own feedback, and others' on an application they sit on once they wrote theirs.
    let feedback = sql(&g.rows(EntityId::Feedback), "feedback");
    assert!(
        feedback.contains(r#""t"."author_id" = 'i''1'"#),
        "{feedback}"
    );
    assert!(
        feedback.contains(r#"FROM "feedback" AS "zf""#)
            && feedback.contains(r#""zf"."author_id" = 'i''1'"#),
        "{feedback}"
    );
    for (e, group) in [
        (EntityId::Candidates, FieldGroup::Details),
        (EntityId::Applications, FieldGroup::Details),
        (EntityId::Jobs, FieldGroup::Details),
        (EntityId::Applications, FieldGroup::StageHistory),
        (EntityId::Offers, FieldGroup::Compensation),
        (EntityId::Candidates, FieldGroup::ContactDetails),
        (EntityId::Candidates, FieldGroup::SensitiveCustom),
        (EntityId::Applications, FieldGroup::SensitiveCustom),
        (EntityId::Jobs, FieldGroup::SensitiveCustom),
    ] {
        assert_eq!(g.fields(e, group), Visibility::None, "{e:?} {group:?}");
    }
    assert_eq!(g.rows(EntityId::Demographics), Visibility::None);
    assert!(!g.demographics_aggregates());
}

#[test]
fn every_role_translates_and_explains() {
    let p = Policies::shipped("acme").unwrap();
    for role in [
        "admin",
        "recruiter",
        "hiring_manager",
        "interviewer",
        "nobody",
    ] {
        let g = p.guard(&viewer("u1", role)).unwrap();
        assert!(!g.notes().is_empty());
        for note in g.notes() {
            if note.outcome == "rows" {
                assert!(!note.residuals.is_empty(), "{role}: {note:?}");
            }
        }
    }
    // An unknown role sees nothing but the directory.
    let g = p.guard(&viewer("u1", "nobody")).unwrap();
    assert_eq!(g.rows(EntityId::Applications), Visibility::None);
    assert_eq!(g.rows(EntityId::Users), Visibility::All);
}

#[test]
fn forbids_subtract_rows() {
    let text = r#"
@id("all") permit (principal, action, resource);
@id("no-confidential")
forbid (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when { resource.job.confidential };
"#;
    let p =
        Policies::from_text("acme", text, "org.cedar", PolicySource::Org { version: 2 }).unwrap();
    let g = p.guard(&viewer("u1", "recruiter")).unwrap();
    let apps = sql(&g.rows(EntityId::Applications), "applications");
    assert!(apps.starts_with("NOT ("), "{apps}");
    assert_eq!(g.rows(EntityId::Jobs), Visibility::All);
}

#[test]
fn what_cannot_be_translated_is_refused() {
    let text = r#"
@id("by-status")
permit (principal, action, resource is Hireplane::Job)
when { resource.status like "op*" };
"#;
    let p =
        Policies::from_text("acme", text, "org.cedar", PolicySource::Org { version: 1 }).unwrap();
    match p.guard(&viewer("u1", "recruiter")) {
        Err(PolicyError::Untranslatable {
            policy,
            resource,
            what,
            ..
        }) => {
            assert_eq!(policy, "by-status");
            assert_eq!(resource, "Job");
            assert!(what.contains("like"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn postgres_gets_correlated_exists_at_the_top_level_only() {
    let p = Policies::shipped("acme").unwrap();
    let g = p
        .guard_for(&viewer("r1", "recruiter"), Dialect::Postgres)
        .unwrap();
    // The applications of confidential jobs the recruiter does not hire for: an anti join.
    let apps = sql(&g.rows(EntityId::Applications), "applications");
    assert!(
        apps.starts_with("NOT (EXISTS (SELECT 1 AS \"k\" FROM \"jobs\" AS \"z1\""),
        "{apps}"
    );
    assert!(
        apps.contains("(\"z1\".\"id\" = \"t\".\"job_id\")"),
        "{apps}"
    );
    // Inside it, and under OR, references stay uncorrelated IN sets.
    assert!(
        apps.contains("NOT (\"z1\".\"id\" IN (SELECT \"zh\".\"job_id\""),
        "{apps}"
    );
    let portable = p.guard(&viewer("r1", "recruiter")).unwrap();
    let apps = sql(&portable.rows(EntityId::Applications), "applications");
    assert!(!apps.contains("EXISTS"), "{apps}");
    // The guards are told apart in compiled-statement caches.
    assert_ne!(g.cache_key(), portable.cache_key());
}

#[test]
fn pages_get_every_set_correlated_to_the_row() {
    let p = Policies::shipped("acme").unwrap();
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        let g = p.guard_for(&viewer("r1", "recruiter"), dialect).unwrap();
        for e in [EntityId::Applications, EntityId::Candidates, EntityId::Jobs] {
            let whole = sql(&g.rows(e), "t");
            assert!(whole.contains(" IN (SELECT"), "{dialect:?} {e:?}: {whole}");
        }
        // Masks too: compensation only for jobs on whose hiring team the recruiter is.
        let pay = sql(
            &g.fields_in_page(EntityId::Offers, FieldGroup::Compensation),
            "offers",
        );
        assert!(!pay.contains(" IN (SELECT"), "{dialect:?}: {pay}");
        // PostgreSQL: the recruiter's hiring teams once (an array), SQLite: probed per row.
        let per_row = if dialect == Dialect::Postgres {
            "= ANY(ARRAY((SELECT"
        } else {
            "EXISTS (SELECT 1"
        };
        assert!(pay.contains(per_row), "{dialect:?}: {pay}");
        // Admins: nothing to correlate.
        let admin = p.guard_for(&viewer("u1", "admin"), dialect).unwrap();
        assert_eq!(admin.rows_in_page(EntityId::Candidates), Visibility::All);
    }
    // SQLite: every set of a page probed for the row it reads.
    let g = p
        .guard_for(&viewer("r1", "recruiter"), Dialect::Sqlite)
        .unwrap();
    for e in [EntityId::Applications, EntityId::Candidates, EntityId::Jobs] {
        let page = sql(&g.rows_in_page(e), "t");
        assert!(!page.contains(" IN (SELECT"), "{e:?}: {page}");
        assert!(page.contains("EXISTS (SELECT 1"), "{e:?}: {page}");
    }
    // The hiring team of a job, probed for this job: `zh.job_id = t.id` inside the EXISTS.
    let jobs = sql(&g.rows_in_page(EntityId::Jobs), "jobs");
    assert!(
        jobs.contains("(\"zh\".\"job_id\" = \"t\".\"id\")"),
        "{jobs}"
    );
}

#[test]
fn postgres_pages_build_a_set_under_or_or_not_once() {
    let p = Policies::shipped("acme").unwrap();
    let g = p
        .guard_for(&viewer("r1", "recruiter"), Dialect::Postgres)
        .unwrap();
    // The job's `confidential` read from the row's stored `job_confidential` (migration 30);
    // under OR, the recruiter's hiring teams' jobs one hashed set per statement, read from the
    // hiring team alone (the job's key in it: no job read). The whole-org form keeps the set of
    // hidden jobs.
    let apps = sql(&g.rows_in_page(EntityId::Applications), "t");
    assert_eq!(
        apps,
        "(NOT (\"t\".\"job_confidential\" = TRUE)) OR (\"t\".\"job_id\" IN (SELECT \"zh\".\"job_id\" AS \"k\" FROM \"hiring_team\" AS \"zh\" WHERE (\"zh\".\"org_id\" = $1::text) AND (\"zh\".\"user_id\" = 'r1')))"
    );
    assert!(!apps.contains("EXISTS"), "{apps}");
    let whole = sql(&g.rows(EntityId::Applications), "t");
    assert!(!whole.contains("job_confidential"), "{whole}");
    assert!(whole.contains("\"z1\".\"confidential\" = TRUE"), "{whole}");
    // SQLite's page form probes the jobs per row, as before.
    let portable = p
        .guard_for(&viewer("r1", "recruiter"), Dialect::Sqlite)
        .unwrap();
    let apps = sql(&portable.rows_in_page(EntityId::Applications), "t");
    assert!(!apps.contains("job_confidential"), "{apps}");
    // Under OR: one uncorrelated set (a hashed subplan, built once per statement), whose own
    // set is an array (once, an index condition on applications), nothing per row.
    let candidates = sql(&g.rows_in_page(EntityId::Candidates), "t");
    assert!(
        candidates.contains("(\"t\".\"id\" IN (SELECT \"za\".\"candidate_id\""),
        "{candidates}"
    );
    assert!(
        candidates.contains("(\"za\".\"job_id\" = ANY(ARRAY((SELECT \"zh\".\"job_id\""),
        "{candidates}"
    );
    assert!(!candidates.contains("EXISTS"), "{candidates}");
    let jobs = sql(&g.rows_in_page(EntityId::Jobs), "t");
    assert!(
        jobs.contains("(\"t\".\"id\" IN (SELECT \"zh\".\"job_id\""),
        "{jobs}"
    );
    assert!(!jobs.contains("EXISTS"), "{jobs}");
    // A hiring manager's applications: their jobs OR the applications they interview for, both
    // sets once; the applications they interview for read from their seats alone (each seat
    // stores its interview's application, migration 34), no interview read.
    let hm = p
        .guard_for(&viewer("h1", "hiring_manager"), Dialect::Postgres)
        .unwrap();
    let apps = sql(&hm.rows_in_page(EntityId::Applications), "t");
    assert!(!apps.contains("EXISTS"), "{apps}");
    assert!(
        apps.contains(
            "(\"t\".\"id\" IN (SELECT \"zp\".\"application_id\" AS \"k\" FROM \"interview_participants\" AS \"zp\""
        ),
        "{apps}"
    );
    assert!(!apps.contains("\"interviews\""), "{apps}");
    // Their jobs: two sets of the key (their hiring teams', those they interview for) as one
    // array, an index condition of a job's key (a joined job is probed by it).
    let jobs = sql(&hm.rows_in_page(EntityId::Jobs), "t");
    assert!(
        jobs.starts_with("\"t\".\"id\" = ANY(ARRAY((SELECT"),
        "{jobs}"
    );
    for set in [
        "SELECT \"zh\".\"job_id\" AS \"k\" FROM \"hiring_team\"",
        "SELECT \"zp\".\"job_id\" AS \"k\" FROM \"interview_participants\"",
    ] {
        assert!(jobs.contains(set), "{jobs}");
    }
    assert_eq!(jobs.matches(" UNION ALL ").count(), 1, "{jobs}");
    assert!(!jobs.contains(" IN (SELECT"), "{jobs}");
}

#[test]
fn rows_below_an_application_are_filtered_by_their_stored_job() {
    // `resource.application.job` (and a seat's `interview.application.job`) is the row's own
    // `job_id`: one anti join against the few hidden jobs, no application read.
    let p = Policies::shipped("acme").unwrap();
    let g = p
        .guard_for(&viewer("r1", "recruiter"), Dialect::Postgres)
        .unwrap();
    for (entity, table) in [
        (EntityId::StageTransitions, "stage_transitions"),
        (EntityId::Interviews, "interviews"),
        (EntityId::InterviewParticipants, "interview_participants"),
        (EntityId::Feedback, "feedback"),
        (EntityId::Offers, "offers"),
    ] {
        let rows = sql(&g.rows(entity), table);
        if entity == EntityId::Feedback {
            // Under the OR of `own-feedback`: an uncorrelated set of the hidden jobs.
            assert!(
                rows.contains("NOT (\"t\".\"job_id\" IN (SELECT \"z1\".\"id\""),
                "{table}: {rows}"
            );
        } else {
            assert!(
                rows.starts_with("NOT (EXISTS (SELECT 1 AS \"k\" FROM \"jobs\" AS \"z1\""),
                "{table}: {rows}"
            );
            assert!(
                rows.contains("(\"z1\".\"id\" = \"t\".\"job_id\")"),
                "{table}: {rows}"
            );
        }
        assert!(!rows.contains("applications"), "{table}: {rows}");
        assert!(!rows.contains("interviews"), "{table}: {rows}");
    }
    // A hiring manager's: the job through the stored id, the interviewers through the
    // application.
    let hm = p
        .guard_for(&viewer("h1", "hiring_manager"), Dialect::Postgres)
        .unwrap();
    let feedback = sql(&hm.rows(EntityId::Feedback), "feedback");
    assert!(
        feedback.contains("\"t\".\"job_id\" IN (SELECT"),
        "{feedback}"
    );
    assert!(
        feedback.contains("\"t\".\"application_id\" IN (SELECT"),
        "{feedback}"
    );
    // Compensation on offers: the recruiter's hiring teams, by the stored job.
    let pay = sql(
        &g.fields(EntityId::Offers, FieldGroup::Compensation),
        "offers",
    );
    assert!(pay.contains("\"t\".\"job_id\""), "{pay}");
    assert!(!pay.contains("applications"), "{pay}");
}

#[test]
fn candidates_seen_by_a_recruiter_read_the_stored_flag() {
    // `hasNonConfidentialJob` is the column the store keeps (migration 8): no set of
    // candidates computed from applications and jobs' `confidential`.
    let p = Policies::shipped("acme").unwrap();
    let g = p.guard(&viewer("r1", "recruiter")).unwrap();
    let candidates = sql(&g.rows(EntityId::Candidates), "candidates");
    assert!(
        candidates.contains("\"t\".\"has_non_confidential_job\" = TRUE"),
        "{candidates}"
    );
    assert!(!candidates.contains("\"confidential\""), "{candidates}");
    assert!(candidates.contains("'r1'"), "{candidates}");
}

#[test]
fn demographics_rows_are_those_of_visible_candidates_for_allowed_roles_only() {
    let p = Policies::shipped("acme").unwrap();
    let admin = p.guard(&viewer("a1", "admin")).unwrap();
    assert_eq!(admin.rows(EntityId::Demographics), Visibility::All);
    // Reports over demographics are for admins only by default (issue 17).
    for role in ["recruiter", "hiring_manager", "interviewer"] {
        let g = p.guard(&viewer("u1", role)).unwrap();
        assert!(!g.demographics_aggregates(), "{role}");
        assert_eq!(g.rows(EntityId::Demographics), Visibility::None, "{role}");
    }
}

/// The references along which a guard proved that visible rows reach only visible entities.
fn implied(g: &policy::ViewerGuard) -> Vec<(EntityId, &'static str)> {
    let refs = [
        (EntityId::Applications, "candidate_id"),
        (EntityId::Applications, "job_id"),
        (EntityId::Applications, "current_stage_id"),
        (EntityId::Interviews, "application_id"),
        (EntityId::InterviewParticipants, "interview_id"),
        (EntityId::Feedback, "application_id"),
        (EntityId::Feedback, "interview_id"),
        (EntityId::Offers, "application_id"),
        (EntityId::StageTransitions, "application_id"),
        (EntityId::HiringTeam, "job_id"),
    ];
    refs.into_iter().filter(|(e, c)| g.implied(*e, c)).collect()
}

#[test]
fn visible_rows_prove_their_references_visible_per_role() {
    use EntityId::*;
    let p = Policies::shipped("acme").unwrap();
    // A recruiter sees an application when they see its job, and its candidate whenever they
    // see one of the candidate's applications; everything below an application follows it.
    // Not feedback: everyone sees their own, on any application. Stages are everyone's.
    let recruiter = p.guard(&viewer("r1", "recruiter")).unwrap();
    assert_eq!(
        implied(&recruiter),
        vec![
            (Applications, "candidate_id"),
            (Applications, "job_id"),
            (Applications, "current_stage_id"),
            (Interviews, "application_id"),
            (InterviewParticipants, "interview_id"),
            (Offers, "application_id"),
            (StageTransitions, "application_id"),
            (HiringTeam, "job_id"),
        ]
    );
    // A hiring manager also sees applications they interview for, whose job they see as one of
    // its interviewers (`Job.interviewers`: the seats on its applications' interviews).
    let manager = p.guard(&viewer("m1", "hiring_manager")).unwrap();
    let m = implied(&manager);
    assert!(m.contains(&(Applications, "candidate_id")), "{m:?}");
    assert!(m.contains(&(Offers, "application_id")), "{m:?}");
    assert!(m.contains(&(Applications, "job_id")), "{m:?}");
    // Not a scorecard's application: their own is visible on any application.
    assert!(!m.contains(&(Feedback, "application_id")), "{m:?}");
    // An interviewer sees interviews they sit on, hence their applications (a seat makes an
    // interviewer of the application) and those applications' candidates; not the feedback's
    // application: their own feedback is visible by authorship alone.
    let interviewer = p.guard(&viewer("i1", "interviewer")).unwrap();
    let i = implied(&interviewer);
    assert!(i.contains(&(Interviews, "application_id")), "{i:?}");
    assert!(i.contains(&(Applications, "candidate_id")), "{i:?}");
    assert!(i.contains(&(Applications, "job_id")), "{i:?}");
    assert!(!i.contains(&(Feedback, "application_id")), "{i:?}");
    // An admin sees every target.
    let admin = p.guard(&viewer("a1", "admin")).unwrap();
    assert_eq!(implied(&admin).len(), 10);
}

#[test]
fn what_the_policy_does_not_imply_keeps_its_filter() {
    use EntityId::*;
    let org = |text: &str| {
        Policies::from_text("acme", text, "org.cedar", PolicySource::Org { version: 3 }).unwrap()
    };
    // Candidates only through non-confidential jobs: an application on a confidential job of
    // the recruiter's team is visible, its candidate maybe not.
    let narrower = org(r#"
@id("apps") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when { !resource.job.confidential || resource.job.hiringTeam.contains(principal) };
@id("candidates") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Candidate)
when { resource.hasNonConfidentialJob };
"#);
    let g = narrower.guard(&viewer("r1", "recruiter")).unwrap();
    assert!(!g.implied(Applications, "candidate_id"));
    // The same permits with a forbid on candidates: nothing is implied about them.
    let forbidden = org(r#"
@id("apps") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when { !resource.job.confidential };
@id("candidates") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Candidate)
when { resource.hasNonConfidentialJob };
@id("no-talent-pool") forbid (principal, action == Hireplane::Action::"view", resource is Hireplane::Candidate)
when { resource.interviewers.contains(principal) };
"#);
    let g = forbidden.guard(&viewer("r1", "recruiter")).unwrap();
    assert!(!g.implied(Applications, "candidate_id"));
    // Without the forbid it is: `!job.confidential` makes the candidate one with a
    // non-confidential job; both clauses of a conjunction must be implied.
    let lifted = org(r#"
@id("apps") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when { !resource.job.confidential && resource.status == "active" };
@id("candidates") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Candidate)
when { resource.hasNonConfidentialJob };
@id("jobs") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Job)
when { !resource.confidential && resource.status == "open" };
"#);
    let g = lifted.guard(&viewer("r1", "recruiter")).unwrap();
    assert!(g.implied(Applications, "candidate_id"));
    assert!(
        !g.implied(Applications, "job_id"),
        "the job's status is not implied"
    );
    // A permit on the row that says nothing about the target implies nothing.
    let unrelated = org(r#"
@id("apps") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Application)
when { resource.status == "active" };
@id("jobs") permit (principal, action == Hireplane::Action::"view", resource is Hireplane::Job)
when { !resource.confidential };
"#);
    let g = unrelated.guard(&viewer("r1", "recruiter")).unwrap();
    assert!(!g.implied(Applications, "job_id"));
}
