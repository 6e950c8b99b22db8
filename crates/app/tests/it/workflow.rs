//! The hiring workflow's rules decided in `app::hiring` and the store's transaction (docs/api.md,
//! "Mutations"), through the commands the API and the CLI call, on a generated org, on SQLite
//! and, with `HIREPLANE_TEST_POSTGRES`, PostgreSQL:
//! - archive reasons come from the org's list (a default list; admins replace it; a reason is
//!   matched regardless of case and stored as the list spells it);
//! - an archived application is brought back, in its stage, unless its job is closed or the
//!   candidate has another active application to the job;
//! - an interview is marked completed once it ended, no-show once it started, and a mark is
//!   corrected; a cancelled one is not marked;
//! - a duplicate email is refused only to a caller who may see the existing candidate and their
//!   email; to anyone else the creation answers as for a new email; duplicates are listed only
//!   to who may see both, and merged by admins only (by default).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use app::hiring::{
    ApplyToJob, ArchiveApplication, CreateCandidate, MarkInterview, MergeCandidates,
    ScheduleInterview, SetArchiveReasons, UnarchiveApplication, UpdateJob,
};
use app::{AppError, Command, Services};
use common::Fresh;
use domain::enums::{ApplicationStatus, InterviewStatus, JobStatus};
use domain::{Id, Instant};

const ORG: &str = "wfr";

fn now() -> Instant {
    Instant::from_timestamp(jiff::Timestamp::now())
}

fn id(s: &str) -> Id {
    Id::parse(s.to_owned()).unwrap()
}

/// The refusal's kind and field, or a panic naming what came instead.
fn refused<T: std::fmt::Debug>(r: Result<T, AppError>) -> (app::hiring::RefusalKind, String) {
    let e = r.expect_err("expected a refusal");
    let refusal = e.refusal().unwrap_or_else(|| panic!("not a refusal: {e}"));
    (
        refusal.kind,
        format!("{:?}: {}", refusal.field, refusal.message),
    )
}

struct Org {
    services: Services,
    admin: app::Access,
    recruiter: app::Access,
}

fn org(f: &mut Fresh) -> Org {
    let generated = common::generate(ORG, 120, 3);
    f.import(generated.dir.path());
    let services = Services::new();
    let users = f.store().active_users(ORG).unwrap();
    let of_role = |role: &str| users.iter().find(|u| u.role == role).unwrap().id.clone();
    let (admin, recruiter) = (of_role("admin"), of_role("recruiter"));
    let admin = services.access(f.store(), ORG, &admin).unwrap();
    let recruiter = services.access(f.store(), ORG, &recruiter).unwrap();
    Org {
        services,
        admin,
        recruiter,
    }
}

/// The rows of `report` run as the org's first admin, as JSON values.
fn rows(store: &mut store::Store, report: &str) -> Vec<Vec<serde_json::Value>> {
    let services = Services::new();
    let admin = store
        .active_users(ORG)
        .unwrap()
        .into_iter()
        .find(|u| u.role == "admin")
        .unwrap()
        .id;
    let report = query_syntax::parse(report).unwrap();
    let today = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    let run = services
        .run_report(store, ORG, &admin, &report, today, now())
        .unwrap();
    run.rows
        .rows
        .iter()
        .map(|r| r.iter().map(|v| v.to_json()).collect())
        .collect()
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().unwrap().to_owned()
}

/// An active application of an open job (the `skip`-th by id): it, its job and candidate.
fn application_of_open_job(store: &mut store::Store, skip: usize) -> (Id, Id, Id) {
    let found = rows(
        store,
        r#"report applications where status = "active" and job.status = "open" show id, job.id as job, candidate.id as candidate order by id"#,
    );
    let row = &found[skip];
    (id(&text(&row[0])), id(&text(&row[1])), id(&text(&row[2])))
}

fn archive_reasons_unarchive_and_marks(mut f: Fresh) {
    let o = org(&mut f);
    let s = &o.services;
    let store = f.store();
    // The default list, for every user.
    let reasons = s.archive_reasons(store, &o.recruiter).unwrap();
    assert_eq!(
        reasons,
        store::DEFAULT_ARCHIVE_REASONS
            .iter()
            .map(|r| (*r).to_owned())
            .collect::<Vec<_>>()
    );
    let (application, job, candidate) = application_of_open_job(store, 0);
    // A reason not on the list is refused, naming the field and listing the reasons.
    let (kind, said) = refused(s.archive_application(
        store,
        &o.admin,
        ArchiveApplication {
            application_id: application.clone(),
            reason: "x".into(),
        },
        now(),
    ));
    assert_eq!(kind, app::hiring::RefusalKind::Invalid);
    assert!(said.starts_with("Some(\"reason\")"), "{said}");
    assert!(
        said.contains("not a fit, lacks required experience, withdrew"),
        "{said}"
    );
    assert_eq!(status_of(store, &application), ApplicationStatus::Active);
    // Listed, in another case: stored as the list spells it.
    s.archive_application(
        store,
        &o.admin,
        ArchiveApplication {
            application_id: application.clone(),
            reason: "  Withdrew ".into(),
        },
        now(),
    )
    .unwrap();
    let stored = store
        .application(ORG, application.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(stored.archive_reason.as_deref(), Some("withdrew"));
    let stage = stored.current_stage_id.clone();

    // Only admins (who may edit the org) replace the list.
    let (kind, _) = refused(s.set_archive_reasons(
        store,
        &o.recruiter,
        SetArchiveReasons {
            reasons: vec!["nope".into()],
        },
        now(),
    ));
    assert_eq!(kind, app::hiring::RefusalKind::Forbidden);
    for (bad, field) in [
        (vec![], "reasons"),
        (vec!["a".to_owned(), " ".to_owned()], "reasons[1]"),
        (
            vec!["Hired elsewhere".to_owned(), "hired ELSEWHERE".to_owned()],
            "reasons[1]",
        ),
    ] {
        let (kind, said) = refused(s.set_archive_reasons(
            store,
            &o.admin,
            SetArchiveReasons { reasons: bad },
            now(),
        ));
        assert_eq!(kind, app::hiring::RefusalKind::Invalid);
        assert!(said.starts_with(&format!("Some(\"{field}\")")), "{said}");
    }
    let list = s
        .set_archive_reasons(
            store,
            &o.admin,
            SetArchiveReasons {
                reasons: vec![" Position filled".into(), "Not a fit".into()],
            },
            now(),
        )
        .unwrap();
    assert_eq!(list, ["Position filled", "Not a fit"]);
    assert_eq!(s.archive_reasons(store, &o.recruiter).unwrap(), list);
    // The archived application keeps its reason.
    let stored = store
        .application(ORG, application.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(stored.archive_reason.as_deref(), Some("withdrew"));

    // Unarchive: back in its stage, reason and time cleared; a second time is a conflict.
    let back = s
        .unarchive_application(
            store,
            &o.admin,
            UnarchiveApplication {
                application_id: application.clone(),
            },
            now(),
        )
        .unwrap();
    assert_eq!(back, application);
    let stored = store
        .application(ORG, application.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, ApplicationStatus::Active);
    assert_eq!(stored.archive_reason, None);
    assert_eq!(stored.archived_at, None);
    assert_eq!(stored.current_stage_id, stage);
    let (kind, said) = refused(s.unarchive_application(
        store,
        &o.admin,
        UnarchiveApplication {
            application_id: application.clone(),
        },
        now(),
    ));
    assert_eq!(kind, app::hiring::RefusalKind::Conflict);
    assert!(
        said.contains("only an archived application is unarchived"),
        "{said}"
    );
    // The old list's reason is gone; the new one is taken.
    let archive = |s: &Services, store: &mut store::Store, reason: &str| {
        s.archive_application(
            store,
            &o.admin,
            ArchiveApplication {
                application_id: application.clone(),
                reason: reason.into(),
            },
            now(),
        )
    };
    assert_eq!(
        refused(archive(s, store, "withdrew")).0,
        app::hiring::RefusalKind::Invalid
    );
    archive(s, store, "position filled").unwrap();
    // Another active application of the candidate to the job: no unarchive.
    let again = s
        .apply_to_job(
            store,
            &o.admin,
            ApplyToJob {
                candidate_id: candidate.clone(),
                job_id: job.clone(),
                source_id: None,
                credited_to_id: None,
                custom_fields: serde_json::Map::new(),
            },
            now(),
        )
        .unwrap();
    let unarchive = |s: &Services, store: &mut store::Store| {
        s.unarchive_application(
            store,
            &o.admin,
            UnarchiveApplication {
                application_id: application.clone(),
            },
            now(),
        )
    };
    let (kind, said) = refused(unarchive(s, store));
    assert_eq!(kind, app::hiring::RefusalKind::Conflict);
    assert!(
        said.contains(&format!("already has an active application `{again}`")),
        "{said}"
    );
    s.archive_application(
        store,
        &o.admin,
        ArchiveApplication {
            application_id: again,
            reason: "Not a fit".into(),
        },
        now(),
    )
    .unwrap();
    // A closed job takes no unarchived application back.
    let close = |status| UpdateJob {
        job_id: job.clone(),
        title: None,
        location: None,
        status: Some(status),
        confidential: None,
        headcount: None,
        hiring_team: None,
    };
    s.update_job(store, &o.admin, close(JobStatus::Closed), now())
        .unwrap();
    let (kind, said) = refused(unarchive(s, store));
    assert_eq!(kind, app::hiring::RefusalKind::Conflict);
    assert!(said.contains("reopen it"), "{said}");
    s.update_job(store, &o.admin, close(JobStatus::Open), now())
        .unwrap();
    unarchive(s, store).unwrap();
    assert_eq!(status_of(store, &application), ApplicationStatus::Active);

    // Marks: not before the interview ends (completed) or starts (no-show).
    let interviewer = store
        .active_users(ORG)
        .unwrap()
        .into_iter()
        .find(|u| u.role == "interviewer")
        .unwrap()
        .id;
    let schedule = |s: &Services, store: &mut store::Store, start: &str, end: &str, status| {
        s.schedule_interview(
            store,
            &o.admin,
            ScheduleInterview {
                application_id: application.clone(),
                stage_id: stage.clone(),
                title: "Onsite".into(),
                starts_at: Instant::parse(start).unwrap(),
                ends_at: Instant::parse(end).unwrap(),
                status,
                interview_participants: vec![domain::entity::InterviewParticipant {
                    user_id: id(&interviewer),
                    role: domain::enums::InterviewerRole::Interviewer,
                }],
            },
            now(),
        )
        .unwrap()
    };
    let mark = |s: &Services, store: &mut store::Store, iv: &Id, status| {
        s.mark_interview(
            store,
            &o.admin,
            MarkInterview {
                interview_id: iv.clone(),
                status,
            },
            now(),
        )
    };
    let ahead = schedule(
        s,
        store,
        "2099-01-05T09:00:00Z",
        "2099-01-05T10:00:00Z",
        InterviewStatus::Scheduled,
    );
    for status in [InterviewStatus::Completed, InterviewStatus::NoShow] {
        let (kind, said) = refused(mark(s, store, &ahead, status));
        assert_eq!(kind, app::hiring::RefusalKind::Invalid);
        assert!(said.starts_with("Some(\"status\")"), "{said}");
    }
    let (kind, _) = refused(mark(s, store, &ahead, InterviewStatus::Cancelled));
    assert_eq!(kind, app::hiring::RefusalKind::Invalid);
    s.cancel_interview(
        store,
        &o.admin,
        app::hiring::CancelInterview {
            interview_id: ahead.clone(),
        },
        now(),
    )
    .unwrap();
    let (kind, said) = refused(mark(s, store, &ahead, InterviewStatus::NoShow));
    assert_eq!(kind, app::hiring::RefusalKind::Conflict);
    assert!(said.starts_with("Some(\"interviewId\")"), "{said}");
    // One that took place, recorded completed: corrected to a no-show, and back.
    let past = schedule(
        s,
        store,
        "2026-01-05T09:00:00Z",
        "2026-01-05T10:00:00Z",
        InterviewStatus::Completed,
    );
    mark(s, store, &past, InterviewStatus::NoShow).unwrap();
    assert_eq!(interview_status(store, &past), "no_show");
    let (kind, _) = refused(mark(s, store, &past, InterviewStatus::NoShow));
    assert_eq!(kind, app::hiring::RefusalKind::Conflict);
    mark(s, store, &past, InterviewStatus::Completed).unwrap();
    assert_eq!(interview_status(store, &past), "completed");
    // The recruiter's marks and unarchives ask the policy as cancelling and archiving do.
    for command in [
        Command::MarkInterview {
            interview: past.as_str(),
        },
        Command::UnarchiveApplication {
            application: application.as_str(),
        },
    ] {
        let twin = match command {
            Command::MarkInterview { interview } => Command::CancelInterview { interview },
            _ => Command::ArchiveApplication {
                application: application.as_str(),
            },
        };
        assert_eq!(
            s.authorize_command(store, &o.recruiter, &command, now())
                .is_ok(),
            s.authorize_command(store, &o.recruiter, &twin, now())
                .is_ok(),
            "{}",
            command.name()
        );
    }
}

fn duplicates_are_told_only_to_who_may_see_them(mut f: Fresh) {
    let o = org(&mut f);
    let s = &o.services;
    let store = f.store();
    let create = |s: &Services, store: &mut store::Store, who: &app::Access, email: &str, job| {
        s.create_candidate(
            store,
            who,
            CreateCandidate {
                name: "Ada Lovelace".into(),
                email: Some(email.to_owned()),
                job_id: job,
                ..CreateCandidate::default()
            },
            now(),
        )
    };
    // The admin sees every candidate: the same email, in any case, is refused, naming the one
    // that has it.
    let first = create(s, store, &o.admin, "Ada.Lovelace@Example.com", None).unwrap();
    let (kind, said) = refused(create(s, store, &o.admin, "ada.lovelace@EXAMPLE.COM", None));
    assert_eq!(kind, app::hiring::RefusalKind::Conflict);
    assert!(said.starts_with("Some(\"email\")"), "{said}");
    assert!(said.contains(&format!("candidate `{first}`")), "{said}");
    // A recruiter with a job they may add candidates to.
    let jobs: Vec<Id> = rows(
        store,
        r#"report jobs where status = "open" show id order by id"#,
    )
    .iter()
    .map(|r| id(&text(&r[0])))
    .collect();
    let job = jobs
        .into_iter()
        .find(|j| {
            s.authorize_command(
                store,
                &o.recruiter,
                &Command::CreateCandidate {
                    job: Some(j.as_str()),
                },
                now(),
            )
            .is_ok()
        })
        .expect("a job the recruiter may add candidates to");
    let sees = |s: &Services, store: &mut store::Store, candidate: &Id| {
        [policy::Action::View, policy::Action::ViewContactDetails]
            .into_iter()
            .all(|action| {
                s.decide_entity(
                    store,
                    &o.recruiter,
                    app::Request {
                        action,
                        resource_type: "Candidate",
                        resource_id: candidate.as_str(),
                    },
                    now(),
                )
                .unwrap()
                .allowed
            })
    };
    // The admin's candidate tied to no job is hidden from the recruiter: their candidate with
    // the same email is created, as any other would be.
    assert!(
        !sees(s, store, &first),
        "the admin's loose candidate is hidden"
    );
    let theirs = create(
        s,
        store,
        &o.recruiter,
        "ADA.lovelace@example.com",
        Some(job.clone()),
    )
    .unwrap();
    assert_ne!(theirs, first);
    let fresh = create(
        s,
        store,
        &o.recruiter,
        "someone.new@example.com",
        Some(job.clone()),
    );
    assert!(fresh.is_ok(), "{fresh:?}");
    // Their own candidate they see, email included: refused, naming it.
    if sees(s, store, &theirs) {
        let (kind, said) = refused(create(
            s,
            store,
            &o.recruiter,
            "ada.lovelace@example.com",
            Some(job.clone()),
        ));
        assert_eq!(kind, app::hiring::RefusalKind::Conflict);
        assert!(said.contains(&format!("candidate `{theirs}`")), "{said}");
        assert!(!said.contains(first.as_str()), "{said}");
    } else {
        panic!("the recruiter should see the candidate they added to their job");
    }
    // Letters beyond ASCII are folded too, as the report language's `email =` folds them,
    // the same on both stores.
    let elodie = create(s, store, &o.admin, "élodie@example.com", None).unwrap();
    let (kind, said) = refused(create(s, store, &o.admin, "ÉLODIE@example.com", None));
    assert_eq!(kind, app::hiring::RefusalKind::Conflict);
    assert!(said.contains(&format!("candidate `{elodie}`")), "{said}");
    // What the check found, a report as the admin finds with `email =`.
    let found = rows(
        store,
        r#"report candidates where email = "ÉLODIE@EXAMPLE.COM" show id"#,
    );
    assert_eq!(found, vec![vec![serde_json::Value::from(elodie.as_str())]]);

    // Finding them: the admin sees the pair; the recruiter, who may not see the admin's
    // candidate, sees no group with either (a group of one tells nothing).
    let groups = s.duplicate_candidates(store, &o.admin, now()).unwrap();
    let pair = groups
        .iter()
        .find(|g| g.candidate_ids.contains(&first))
        .expect("the admin finds the pair");
    assert_eq!(
        pair.candidate_ids
            .iter()
            .collect::<std::collections::BTreeSet<_>>(),
        [&first, &theirs].into_iter().collect(),
        "{groups:?}"
    );
    assert_eq!(pair.email.to_lowercase(), "ada.lovelace@example.com");
    let seen = s.duplicate_candidates(store, &o.recruiter, now()).unwrap();
    assert!(
        seen.iter()
            .all(|g| !g.candidate_ids.contains(&first) && !g.candidate_ids.contains(&theirs)),
        "{seen:?}"
    );
    // Merging: admins only by default. The recruiter is told the hidden candidate does not
    // exist, and may not merge two they see.
    let mut merge = |who: &app::Access, keep: &Id, merge: &Id| {
        s.merge_candidates(
            store,
            who,
            MergeCandidates {
                keep: keep.clone(),
                merge: merge.clone(),
            },
            now(),
        )
    };
    let (kind, _) = refused(merge(&o.recruiter, &theirs, &first));
    assert_eq!(kind, app::hiring::RefusalKind::NotFound);
    let other = fresh.unwrap();
    let (kind, said) = refused(merge(&o.recruiter, &theirs, &other));
    assert_eq!(kind, app::hiring::RefusalKind::Forbidden, "{said}");
    // Both active on the recruiter's job: refused to the admin too, naming the job.
    let (kind, said) = refused(merge(&o.admin, &theirs, &other));
    assert_eq!(kind, app::hiring::RefusalKind::Conflict);
    assert!(
        said.starts_with("Some(\"merge\")") && said.contains(job.as_str()),
        "{said}"
    );
    // The admin merges their loose duplicate into the recruiter's candidate.
    assert_eq!(merge(&o.admin, &theirs, &first).unwrap(), theirs);
    assert!(
        s.duplicate_candidates(store, &o.admin, now())
            .unwrap()
            .iter()
            .all(|g| !g.candidate_ids.contains(&theirs))
    );
    assert!(
        store
            .candidates_with_email(ORG, "ada.lovelace@example.com")
            .unwrap()
            == vec![theirs]
    );
}

fn status_of(store: &mut store::Store, application: &Id) -> ApplicationStatus {
    store
        .application(ORG, application.as_str())
        .unwrap()
        .unwrap()
        .status
}

fn interview_status(store: &mut store::Store, interview: &Id) -> String {
    let found = rows(
        store,
        &format!(r#"report interviews where id = "{interview}" show status"#),
    );
    text(&found[0][0])
}

#[test]
fn archive_reasons_unarchive_and_marks_on_sqlite() {
    archive_reasons_unarchive_and_marks(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn archive_reasons_unarchive_and_marks_on_postgres() {
    archive_reasons_unarchive_and_marks(common::postgres());
}

#[test]
fn duplicates_are_told_only_to_who_may_see_them_on_sqlite() {
    duplicates_are_told_only_to_who_may_see_them(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn duplicates_are_told_only_to_who_may_see_them_on_postgres() {
    duplicates_are_told_only_to_who_may_see_them(common::postgres());
}
