//! The write paths on both backends: each command's effect, each refusal with the field it names,
//! ids of another org, atomicity (a refused command leaves every table as it was), the derived
//! tables (stage kinds reached, `left_at`), concurrent moves of one application, and after every
//! sequence of commands, an export that imports again (a valid `hireplane-org/1` org) with the
//! same derived data as the import computes.
//! SQLite tests always run; PostgreSQL tests run when `HIREPLANE_TEST_POSTGRES` holds a server
//! URL, each in a freshly created database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use domain::entity::{Amount, HiringTeamMember, InterviewParticipant, Salary};
use domain::enums::*;
use domain::{Date, Id, Instant};
use serde_json::json;
use store::{
    AddStage, Archive, CustomFieldValue, Hire, ImportOptions, MoveStage, NewApplication,
    NewCandidate, NewCustomField, NewFeedback, NewInterview, NewJob, NewOffer, NewStage,
    OfferTerms, Store, UpdateCustomField, UpdateFeedback, UpdateJob, UpdateOffer, UpdateStage,
    WriteError,
};

use crate::common;
use common::{Fresh, generated, on_both};

const A: &str = "org_a";
const B: &str = "org_b";

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

fn at(s: &str) -> Instant {
    Instant::parse(s).unwrap()
}

fn import(store: &mut Store, dir: &Path, replace: bool) {
    store
        .import(dir, ImportOptions { replace }, &mut |_| {})
        .unwrap();
}

/// The first column of `sql`'s rows as text, on either backend.
fn strings(store: &mut Store, sql: &str) -> Vec<String> {
    match store {
        Store::Sqlite(s) => s.query_strings(sql).unwrap(),
        Store::Postgres(s) => s.query_strings(sql).unwrap(),
    }
}

fn first(store: &mut Store, sql: &str) -> String {
    strings(store, sql).into_iter().next().expect(sql)
}

/// Two generated orgs in the store, and what the tests build in `org_a`.
struct World {
    dept: Id,
    users: Vec<Id>,
    job: Id,
    /// screen, interview, onsite, offer, hired; the first stage is `review`.
    review: Id,
    screen: Id,
    onsite: Id,
    hired: Id,
    candidate: Id,
}

fn world(store: &mut Store) -> World {
    for (org, seed) in [(A, 1), (B, 2)] {
        let dir = generated(org, 30, seed);
        import(store, dir.path(), false);
    }
    let dept = id(&first(
        store,
        "SELECT id FROM departments WHERE org_id = 'org_a' ORDER BY id",
    ));
    let users: Vec<Id> = strings(
        store,
        "SELECT id FROM users WHERE org_id = 'org_a' ORDER BY id LIMIT 3",
    )
    .iter()
    .map(|s| id(s))
    .collect();
    let job = store
        .create_job(
            A,
            NewJob {
                id: Some(id("job_w")),
                title: "Robotics Engineer — Zürich".into(),
                department_id: dept.clone(),
                location: "Zürich".into(),
                employment_type: EmploymentType::FullTime,
                status: JobStatus::Open,
                confidential: false,
                opened_at: at("2025-01-01T00:00:00Z"),
                headcount: 2,
                hiring_team: vec![
                    HiringTeamMember {
                        user_id: users[0].clone(),
                        role: HiringTeamRole::HiringManager,
                    },
                    HiringTeamMember {
                        user_id: users[1].clone(),
                        role: HiringTeamRole::Recruiter,
                    },
                ],
                stages: vec![
                    stage("stg_w_review", "Review", StageKind::ApplicationReview),
                    stage("stg_w_screen", "Screen", StageKind::Screen),
                    stage("stg_w_onsite", "Onsite", StageKind::Onsite),
                    stage("stg_w_offer", "Offer", StageKind::Offer),
                    stage("stg_w_hired", "Hired", StageKind::Hired),
                ],
                custom_fields: serde_json::Map::new(),
            },
        )
        .unwrap();
    assert_eq!(job.stages.len(), 5);
    assert_eq!(
        job.stages.iter().map(|s| s.position).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let candidate = store
        .create_candidate(A, candidate_cmd("Zoë O'Brien-Łukasiewicz"))
        .unwrap();
    assert!(candidate.id.as_str().starts_with("cand_"));
    World {
        dept,
        users,
        job: job.id,
        review: id("stg_w_review"),
        screen: id("stg_w_screen"),
        onsite: id("stg_w_onsite"),
        hired: id("stg_w_hired"),
        candidate: candidate.id,
    }
}

fn stage(s: &str, name: &str, kind: StageKind) -> NewStage {
    NewStage {
        id: Some(id(s)),
        name: name.into(),
        kind,
    }
}

fn candidate_cmd(name: &str) -> NewCandidate {
    NewCandidate {
        id: None,
        name: name.into(),
        email: Some("zoe@example.org".into()),
        phone: None,
        location: Some("東京".into()),
        timezone: Some(domain::TimeZone::parse("Asia/Tokyo").unwrap()),
        tags: vec!["referral".into()],
        custom_fields: serde_json::Map::new(),
        demographics: None,
        at: at("2025-02-01T09:00:00Z"),
    }
}

fn apply_cmd(w: &World, when: &str) -> NewApplication {
    NewApplication {
        id: None,
        candidate_id: w.candidate.clone(),
        job_id: w.job.clone(),
        source_id: None,
        credited_to_user_id: Some(w.users[1].clone()),
        custom_fields: serde_json::Map::new(),
        at: at(when),
        by_user_id: Some(w.users[1].clone()),
    }
}

fn move_cmd(app: &Id, to: &Id, when: &str) -> MoveStage {
    MoveStage {
        application_id: app.clone(),
        to_stage_id: to.clone(),
        by_user_id: None,
        at: at(when),
        transition_id: None,
    }
}

/// Checks that `r` is the refusal `kind` (`not_found`, `invalid`, `conflict`) naming `field`,
/// with a message containing `text`.
#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T, WriteError>, kind: &str, field: &str, text: &str) {
    let e = r.expect_err("the command should be refused");
    let k = match &e {
        WriteError::NotFound { .. } => "not_found",
        WriteError::Invalid { .. } => "invalid",
        WriteError::Conflict { .. } => "conflict",
        WriteError::Store(_) => "store",
    };
    assert_eq!((k, e.field()), (kind, Some(field)), "{e}");
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("`{field}`: ")), "{msg}");
    assert!(msg.contains(text), "{msg:?} should contain {text:?}");
}

fn counts(store: &mut Store) -> Vec<(store::Table, u64)> {
    store.org_counts(A).unwrap().counts
}

/// The derived data of org `org`: reached kinds per application and `left_at` per transition.
fn derived(store: &mut Store, org: &str) -> (Vec<String>, Vec<String>) {
    let kinds = strings(
        store,
        &format!(
            "SELECT application_id || ':' || CAST(reached_kinds AS text) FROM application_stage_kinds WHERE org_id = '{org}' ORDER BY application_id"
        ),
    );
    let left = strings(
        store,
        &format!(
            "SELECT id || ':' || coalesce(CAST(left_at AS text), '-') FROM stage_transitions WHERE org_id = '{org}' ORDER BY id"
        ),
    );
    (kinds, left)
}

/// The stored `has_non_confidential_job` of every candidate of `org`, as `id:yes` or `id:no`.
fn flags(store: &mut Store, org: &str) -> Vec<String> {
    strings(
        store,
        &format!(
            "SELECT id || ':' || CASE WHEN has_non_confidential_job THEN 'yes' ELSE 'no' END \
             FROM candidates WHERE org_id = '{org}' ORDER BY id"
        ),
    )
}

/// The applications of `org` whose stored `job_confidential` (migration 30) is TRUE, by id.
fn confidential_applications(store: &mut Store, org: &str) -> Vec<String> {
    strings(
        store,
        &format!(
            "SELECT id FROM applications WHERE org_id = '{org}' AND job_confidential = TRUE ORDER BY id"
        ),
    )
}

/// The stored `has_non_confidential_job` of candidate `candidate` of org A, checked against the
/// truth for every candidate of the org.
#[track_caller]
fn flag(store: &mut Store, candidate: &Id) -> bool {
    assert_eq!(
        store.stale_candidate_flags(A).unwrap(),
        Vec::<String>::new(),
        "stale candidate flags"
    );
    assert_eq!(
        store.stale_application_flags(A).unwrap(),
        Vec::<String>::new(),
        "stale applications' job_confidential"
    );
    let all = flags(store, A);
    let mine = format!("{candidate}:");
    let found = all
        .iter()
        .find_map(|f| f.strip_prefix(&mine))
        .unwrap_or_else(|| panic!("no candidate `{candidate}` in {all:?}"));
    found == "yes"
}

/// The strong check: org `org` exports to a valid org folder, which imports again (replacing
/// the org) into the same derived data, with every reference resolving.
#[track_caller]
fn assert_exports_validly(store: &mut Store, org: &str) {
    assert!(store.dangling_references(org).unwrap().is_empty());
    // The rows the commands wrote below applications carry their application's job.
    assert_eq!(
        store.stale_job_ids(org).unwrap(),
        vec![],
        "stored job ids after writes"
    );
    assert_eq!(
        store.stale_candidate_flags(org).unwrap(),
        Vec::<String>::new(),
        "candidates' has_non_confidential_job after writes"
    );
    assert_eq!(
        store.stale_application_flags(org).unwrap(),
        Vec::<String>::new(),
        "applications' job_confidential after writes"
    );
    assert_eq!(
        store.stale_seat_applications(org).unwrap(),
        Vec::<String>::new(),
        "seats' application_id after writes"
    );
    let confidential_before = confidential_applications(store, org);
    let before = derived(store, org);
    let flags_before = flags(store, org);
    let counts_before = store.org_counts(org).unwrap();
    let dir = tempfile::tempdir().unwrap();
    store.export(org, dir.path()).unwrap();
    import(store, dir.path(), true);
    assert_eq!(derived(store, org), before, "derived data after re-import");
    assert_eq!(
        flags(store, org),
        flags_before,
        "candidate flags after re-import"
    );
    assert_eq!(
        store.stale_candidate_flags(org).unwrap(),
        Vec::<String>::new(),
        "candidates' has_non_confidential_job after re-import"
    );
    assert_eq!(
        store.stale_application_flags(org).unwrap(),
        Vec::<String>::new(),
        "applications' job_confidential after re-import"
    );
    assert_eq!(
        store.stale_seat_applications(org).unwrap(),
        Vec::<String>::new(),
        "seats' application_id after re-import"
    );
    assert_eq!(
        confidential_applications(store, org),
        confidential_before,
        "applications' job_confidential after re-import"
    );
    assert_eq!(store.org_counts(org).unwrap(), counts_before);
    // And into a store of its own.
    let mut other = common::sqlite();
    import(other.store(), dir.path(), false);
}

on_both!(
    "hp_test_write",
    pipeline_from_application_to_hire,
    |mut f| {
        let s = f.store();
        let w = world(s);
        let app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
        assert!(app.id.as_str().starts_with("app_"));
        assert_eq!(app.status, ApplicationStatus::Active);
        assert_eq!(app.current_stage_id, w.review);
        assert_eq!(s.application(A, app.id.as_str()).unwrap().unwrap(), app);

        let moved = s
            .move_stage(A, move_cmd(&app.id, &w.screen, "2025-03-02T10:00:00Z"))
            .unwrap();
        let t = moved.transition.unwrap();
        assert_eq!(t.from_stage_id.as_ref(), Some(&w.review));
        assert_eq!(moved.application.current_stage_id, w.screen);
        // Stages may be skipped, and moved back.
        s.move_stage(A, move_cmd(&app.id, &w.onsite, "2025-03-05T10:00:00Z"))
            .unwrap();
        s.move_stage(A, move_cmd(&app.id, &w.screen, "2025-03-06T10:00:00Z"))
            .unwrap();
        s.move_stage(A, move_cmd(&app.id, &w.onsite, "2025-03-07T10:00:00.5Z"))
            .unwrap();
        let hired = s
            .hire(
                A,
                Hire {
                    application_id: app.id.clone(),
                    by_user_id: Some(w.users[0].clone()),
                    at: at("2025-03-20T12:00:00Z"),
                    transition_id: Some(id("tr_w_hire")),
                },
            )
            .unwrap();
        assert_eq!(hired.application.status, ApplicationStatus::Hired);
        assert_eq!(hired.application.hired_at, Some(at("2025-03-20T12:00:00Z")));
        assert_eq!(hired.application.current_stage_id, w.hired);
        assert_eq!(hired.transition.unwrap().id, id("tr_w_hire"));

        // The history is a chain from the entry at `applied_at` to the current stage.
        let h = s.stage_history(A, app.id.as_str()).unwrap();
        let path: Vec<(Option<&str>, &str)> = h
            .iter()
            .map(|t| {
                (
                    t.from_stage_id.as_ref().map(Id::as_str),
                    t.to_stage_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            path,
            [
                (None, "stg_w_review"),
                (Some("stg_w_review"), "stg_w_screen"),
                (Some("stg_w_screen"), "stg_w_onsite"),
                (Some("stg_w_onsite"), "stg_w_screen"),
                (Some("stg_w_screen"), "stg_w_onsite"),
                (Some("stg_w_onsite"), "stg_w_hired"),
            ]
        );
        assert_eq!(h[0].at, app.applied_at);
        assert_eq!(h[0].by_user_id.as_ref(), Some(&w.users[1]));
        // `left_at` is the next transition's time; NULL for the current stay.
        let left = strings(
            s,
            &format!(
                "SELECT coalesce(CAST(left_at AS text), '-') FROM stage_transitions WHERE org_id = 'org_a' AND application_id = '{}' ORDER BY at, id",
                app.id
            ),
        );
        assert_eq!(left.len(), 6);
        assert_eq!(left[5], "-");
        assert!(left[..5].iter().all(|l| l != "-"), "{left:?}");
        let nulls = first(
            s,
            &format!(
                "SELECT CAST(count(*) AS text) FROM stage_transitions t JOIN stage_transitions n \
             ON n.org_id = t.org_id AND n.application_id = t.application_id \
             AND n.at = (SELECT min(x.at) FROM stage_transitions x WHERE x.org_id = t.org_id AND x.application_id = t.application_id AND x.at > t.at) \
             WHERE t.org_id = 'org_a' AND t.application_id = '{}' AND t.left_at = n.at",
                app.id
            ),
        );
        assert_eq!(nulls, "5");
        // Stage kinds reached: review, screen, onsite, hired (not offer).
        let bits = first(
            s,
            &format!(
                "SELECT CAST(reached_kinds AS text) FROM application_stage_kinds WHERE org_id = 'org_a' AND application_id = '{}'",
                app.id
            ),
        );
        assert_eq!(bits, (2 + 4 + 32 + 128).to_string());
        // The funnel of the overview counts it.
        let funnel = s.overview(A).unwrap().funnel;
        assert!(funnel.iter().any(|(k, n)| k == "hired" && *n >= 1));

        // A hired application changes no more.
        refused(
            s.move_stage(A, move_cmd(&app.id, &w.screen, "2025-04-01T00:00:00Z")),
            "conflict",
            "application_id",
            "is hired",
        );
        assert_exports_validly(s, A);
    }
);

on_both!("hp_test_write", moves_are_validated, |mut f| {
    let s = f.store();
    let w = world(s);
    let app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
    s.move_stage(A, move_cmd(&app.id, &w.screen, "2025-03-02T10:00:00Z"))
        .unwrap();
    let before = counts(s);
    let other_job_stage = id(&first(
        s,
        "SELECT s.id FROM stages s WHERE s.org_id = 'org_a' AND s.job_id <> 'job_w' ORDER BY s.id",
    ));
    let other_job = first(
        s,
        &format!("SELECT job_id FROM stages WHERE org_id = 'org_a' AND id = '{other_job_stage}'"),
    );
    refused(
        s.move_stage(
            A,
            move_cmd(&app.id, &other_job_stage, "2025-03-03T00:00:00Z"),
        ),
        "invalid",
        "to_stage_id",
        &format!(
            "stage `{other_job_stage}` belongs to job `{other_job}`, not to the application's job `job_w`"
        ),
    );
    refused(
        s.move_stage(
            A,
            move_cmd(&app.id, &id("stg_nope"), "2025-03-03T00:00:00Z"),
        ),
        "not_found",
        "to_stage_id",
        "no stage `stg_nope` in the org",
    );
    refused(
        s.move_stage(
            A,
            move_cmd(&id("app_nope"), &w.onsite, "2025-03-03T00:00:00Z"),
        ),
        "not_found",
        "application_id",
        "no application `app_nope`",
    );
    refused(
        s.move_stage(A, move_cmd(&app.id, &w.onsite, "2025-03-01T12:00:00Z")),
        "invalid",
        "at",
        "is not after the application's last stage transition",
    );
    refused(
        s.move_stage(A, move_cmd(&app.id, &w.onsite, "2025-03-02T10:00:00Z")),
        "invalid",
        "at",
        "is not after",
    );
    refused(
        s.move_stage(A, move_cmd(&app.id, &w.screen, "2025-03-03T00:00:00Z")),
        "invalid",
        "to_stage_id",
        "already in stage",
    );
    refused(
        s.move_stage(A, move_cmd(&app.id, &w.hired, "2025-03-03T00:00:00Z")),
        "invalid",
        "to_stage_id",
        "hire the application instead",
    );
    let mut m = move_cmd(&app.id, &w.onsite, "2025-03-03T00:00:00Z");
    m.by_user_id = Some(id("usr_nope"));
    refused(s.move_stage(A, m), "not_found", "by_user_id", "usr_nope");
    let taken = first(
        s,
        "SELECT id FROM stage_transitions WHERE org_id = 'org_a' ORDER BY id",
    );
    let mut m = move_cmd(&app.id, &w.onsite, "2025-03-03T00:00:00Z");
    m.transition_id = Some(id(&taken));
    refused(s.move_stage(A, m), "conflict", "id", "already the id");
    assert_eq!(counts(s), before, "refused moves wrote nothing");

    // Archive: reason required, not before the last move; then no more moves.
    refused(
        s.archive(
            A,
            Archive {
                application_id: app.id.clone(),
                reason: "  ".into(),
                at: at("2025-03-04T00:00:00Z"),
            },
        ),
        "invalid",
        "reason",
        "must not be empty",
    );
    refused(
        s.archive(
            A,
            Archive {
                application_id: app.id.clone(),
                reason: "withdrew".into(),
                at: at("2025-03-01T00:00:00Z"),
            },
        ),
        "invalid",
        "at",
        "before the application's last stage transition",
    );
    let archived = s
        .archive(
            A,
            Archive {
                application_id: app.id.clone(),
                reason: "withdrew".into(),
                at: at("2025-03-04T00:00:00Z"),
            },
        )
        .unwrap();
    assert_eq!(archived.status, ApplicationStatus::Archived);
    assert_eq!(archived.archive_reason.as_deref(), Some("withdrew"));
    assert_eq!(archived.current_stage_id, w.screen);
    refused(
        s.move_stage(A, move_cmd(&app.id, &w.onsite, "2025-03-05T00:00:00Z")),
        "conflict",
        "application_id",
        "is archived; only active applications",
    );
    refused(
        s.hire(
            A,
            Hire {
                application_id: app.id.clone(),
                by_user_id: None,
                at: at("2025-03-05T00:00:00Z"),
                transition_id: None,
            },
        ),
        "conflict",
        "application_id",
        "is archived",
    );
    // Applying again is allowed once the earlier application is no longer active.
    let again = s.apply(A, apply_cmd(&w, "2025-05-01T00:00:00Z")).unwrap();
    refused(
        s.apply(A, apply_cmd(&w, "2025-05-02T00:00:00Z")),
        "conflict",
        "candidate_id",
        &format!("already has an active application `{}`", again.id),
    );
    assert_exports_validly(s, A);
});

on_both!(
    "hp_test_write",
    ids_of_another_org_are_not_found,
    |mut f| {
        let s = f.store();
        let w = world(s);
        // An active application of org b, made through org b.
        let b_open_job = id(&first(
            s,
            "SELECT j.id FROM jobs j WHERE j.org_id = 'org_b' AND j.status IN ('draft', 'open') \
         AND (SELECT count(*) FROM stages s WHERE s.org_id = j.org_id AND s.job_id = j.id AND s.kind <> 'hired') >= 2 ORDER BY j.id",
        ));
        let b_person = s.create_candidate(B, candidate_cmd("Bea")).unwrap();
        let b_app = s
            .apply(
                B,
                NewApplication {
                    id: None,
                    candidate_id: b_person.id.clone(),
                    job_id: b_open_job.clone(),
                    source_id: None,
                    credited_to_user_id: None,
                    custom_fields: serde_json::Map::new(),
                    at: at("2025-03-01T00:00:00Z"),
                    by_user_id: None,
                },
            )
            .unwrap()
            .id;
        let b_stage = id(&first(
            s,
            &format!(
                "SELECT s.id FROM stages s JOIN applications a ON a.org_id = s.org_id AND a.job_id = s.job_id \
             WHERE s.org_id = 'org_b' AND a.id = '{b_app}' AND s.id <> a.current_stage_id AND s.kind <> 'hired' ORDER BY s.position"
            ),
        ));
        let b_candidate = id(&first(
            s,
            "SELECT id FROM candidates WHERE org_id = 'org_b' ORDER BY id",
        ));
        let b_job = id(&first(
            s,
            "SELECT id FROM jobs WHERE org_id = 'org_b' ORDER BY id",
        ));
        let b_user = id(&first(
            s,
            "SELECT id FROM users WHERE org_id = 'org_b' ORDER BY id",
        ));
        let b_interview = id(&first(
            s,
            "SELECT id FROM interviews WHERE org_id = 'org_b' ORDER BY id",
        ));
        let before_a = counts(s);
        let before_b = s.org_counts(B).unwrap();
        // Org b's application, through org a: not found. Through org b it works.
        refused(
            s.move_stage(A, move_cmd(&b_app, &b_stage, "2030-01-01T00:00:00Z")),
            "not_found",
            "application_id",
            &format!("no application `{b_app}` in the org"),
        );
        let app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
        refused(
            s.move_stage(A, move_cmd(&app.id, &b_stage, "2025-03-02T00:00:00Z")),
            "not_found",
            "to_stage_id",
            b_stage.as_str(),
        );
        let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
        cmd.candidate_id = b_candidate.clone();
        refused(
            s.apply(A, cmd),
            "not_found",
            "candidate_id",
            b_candidate.as_str(),
        );
        let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
        cmd.job_id = b_job.clone();
        refused(s.apply(A, cmd), "not_found", "job_id", b_job.as_str());
        let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
        cmd.credited_to_user_id = Some(b_user.clone());
        refused(
            s.apply(A, cmd),
            "not_found",
            "credited_to_user_id",
            b_user.as_str(),
        );
        refused(
            s.submit_feedback(
                A,
                NewFeedback {
                    id: None,
                    interview_id: b_interview.clone(),
                    author_id: w.users[0].clone(),
                    submitted_at: at("2030-01-01T00:00:00Z"),
                    recommendation: Recommendation::Yes,
                    scores: BTreeMap::new(),
                    notes: None,
                },
            ),
            "not_found",
            "interview_id",
            b_interview.as_str(),
        );
        refused(
            s.create_offer(
                A,
                NewOffer {
                    id: None,
                    application_id: b_app.clone(),
                    created_at: at("2030-01-01T00:00:00Z"),
                    status: OfferStatus::Draft,
                    terms: OfferTerms::default(),
                },
            ),
            "not_found",
            "application_id",
            b_app.as_str(),
        );
        refused(
            s.set_custom_field_value(
                A,
                CustomFieldValue {
                    entity: CustomEntity::Candidate,
                    record_id: b_candidate.clone(),
                    key: "anything".into(),
                    value: json!(1),
                },
            ),
            "not_found",
            "record_id",
            b_candidate.as_str(),
        );
        refused(
            s.update_job(A, UpdateJob::new(b_job.clone(), at("2030-01-01T00:00:00Z"))),
            "not_found",
            "job_id",
            b_job.as_str(),
        );
        refused(
            s.archive(
                B,
                Archive {
                    application_id: app.id.clone(),
                    reason: "x".into(),
                    at: at("2030-01-01T00:00:00Z"),
                },
            ),
            "not_found",
            "application_id",
            app.id.as_str(),
        );
        refused(
            s.create_candidate("org_nope", candidate_cmd("x")),
            "not_found",
            "org_id",
            "org_nope",
        );
        assert!(s.application(A, b_app.as_str()).unwrap().is_none());
        assert_eq!(s.org_counts(B).unwrap(), before_b, "org b unchanged");
        // Org a gained exactly the one application and its first transition.
        let after_a = counts(s);
        for ((t, n0), (_, n1)) in before_a.iter().zip(&after_a) {
            let grew = matches!(
                t,
                store::Table::Applications
                    | store::Table::StageTransitions
                    | store::Table::ApplicationStageKinds
            );
            assert_eq!(*n1, n0 + u64::from(grew), "{t:?}");
        }
        // Org b's own application moves through org b.
        s.move_stage(B, move_cmd(&b_app, &b_stage, "2030-01-01T00:00:00Z"))
            .unwrap();
        assert_exports_validly(s, B);
    }
);

on_both!("hp_test_write", refused_commands_write_nothing, |mut f| {
    let s = f.store();
    let w = world(s);
    let before = counts(s);
    let positions = |s: &mut Store| {
        strings(
            s,
            "SELECT id || '@' || CAST(position AS text) FROM stages WHERE org_id = 'org_a' AND job_id = 'job_w' ORDER BY position",
        )
    };
    let pipeline = positions(s);
    // Refused after the pipeline was shifted to make room: the shift is rolled back.
    refused(
        s.add_stage(
            A,
            AddStage {
                job_id: w.job.clone(),
                stage: stage("stg_w_screen", "Second screen", StageKind::Screen),
                before_stage_id: Some(w.onsite.clone()),
            },
        ),
        "conflict",
        "stage.id",
        "already the id",
    );
    assert_eq!(positions(s), pipeline);
    // A job whose last stage repeats an id: nothing of it is written.
    let mut job = NewJob {
        id: None,
        title: "Welder".into(),
        department_id: w.dept.clone(),
        location: "".into(),
        employment_type: EmploymentType::Contract,
        status: JobStatus::Draft,
        confidential: true,
        opened_at: at("2025-01-01T00:00:00Z"),
        headcount: 1,
        hiring_team: vec![],
        stages: vec![
            stage("stg_new_1", "Review", StageKind::ApplicationReview),
            stage("stg_w_hired", "Hired", StageKind::Hired),
        ],
        custom_fields: serde_json::Map::new(),
    };
    refused(
        s.create_job(A, job.clone()),
        "conflict",
        "stages[1].id",
        "`stg_w_hired` is already the id",
    );
    job.stages[1].id = Some(id("stg_new_1"));
    refused(
        s.create_job(A, job.clone()),
        "invalid",
        "stages[1].id",
        "listed twice",
    );
    job.stages[1].id = None;
    job.stages[1].name = "".into();
    refused(
        s.create_job(A, job.clone()),
        "invalid",
        "stages[1].name",
        "must not be empty",
    );
    job.stages.clear();
    refused(
        s.create_job(A, job.clone()),
        "invalid",
        "stages",
        "at least one stage",
    );
    job.stages = vec![stage("stg_new_1", "Review", StageKind::ApplicationReview)];
    job.headcount = 0;
    refused(
        s.create_job(A, job.clone()),
        "invalid",
        "headcount",
        "at least 1",
    );
    job.headcount = 1;
    job.status = JobStatus::Closed;
    refused(
        s.create_job(A, job.clone()),
        "invalid",
        "status",
        "`draft` or `open`",
    );
    job.status = JobStatus::Draft;
    job.department_id = id("dep_nope");
    refused(
        s.create_job(A, job.clone()),
        "not_found",
        "department_id",
        "dep_nope",
    );
    job.department_id = w.dept.clone();
    job.hiring_team = vec![
        HiringTeamMember {
            user_id: w.users[0].clone(),
            role: HiringTeamRole::Interviewer,
        },
        HiringTeamMember {
            user_id: w.users[0].clone(),
            role: HiringTeamRole::Interviewer,
        },
    ];
    refused(
        s.create_job(A, job.clone()),
        "invalid",
        "hiring_team[1].user_id",
        "already on the hiring team",
    );
    job.hiring_team.pop();
    job.custom_fields = json!({"no_such_field": 1}).as_object().unwrap().clone();
    refused(
        s.create_job(A, job.clone()),
        "invalid",
        r#"custom_fields["no_such_field"]"#,
        "is not a custom field of jobs",
    );
    // Candidates and applications.
    let mut c = candidate_cmd("");
    refused(
        s.create_candidate(A, c.clone()),
        "invalid",
        "name",
        "must not be empty",
    );
    c.name = "Ana".into();
    c.tags = vec!["a".into(), "a".into()];
    refused(
        s.create_candidate(A, c.clone()),
        "invalid",
        "tags[1]",
        "listed twice",
    );
    // Bounded, and checked in one pass (red team, pass 16: 34,000 tags held SQLite's write
    // lock for 1.4 s): past the bound refused before any is compared.
    c.tags = (0..=store::MAX_TAGS).map(|i| format!("t{i}")).collect();
    refused(
        s.create_candidate(A, c.clone()),
        "invalid",
        "tags",
        "at most 100",
    );
    c.tags = (0..34_000).map(|i| format!("{i:x}")).collect();
    let started = std::time::Instant::now();
    refused(
        s.create_candidate(A, c.clone()),
        "invalid",
        "tags",
        "tags: at most",
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(200));
    c.tags.clear();
    // A NUL in text: refused at the field where the input has a check; where it has none
    // (`location`), the write refuses it as the caller's value on both stores alike (on
    // PostgreSQL it was INTERNAL, `invalid byte sequence for encoding "UTF8": 0x00`).
    let mut n = c.clone();
    n.name = "Ada\0".into();
    refused(s.create_candidate(A, n), "invalid", "name", "NUL");
    let mut n = c.clone();
    n.location = Some("Tok\0yo".into());
    let e = s.create_candidate(A, n).unwrap_err();
    assert!(
        matches!(e, WriteError::Store(store::StoreError::BadValue(_))),
        "{e:?}"
    );
    c.id = Some(w.candidate.clone());
    refused(s.create_candidate(A, c), "conflict", "id", "already the id");
    let mut a = apply_cmd(&w, "2025-03-01T00:00:00Z");
    a.custom_fields = json!({"nope": true}).as_object().unwrap().clone();
    refused(
        s.apply(A, a),
        "invalid",
        r#"custom_fields["nope"]"#,
        "not a custom field of applications",
    );
    let mut a = apply_cmd(&w, "2025-03-01T00:00:00Z");
    a.source_id = Some(id("src_nope"));
    refused(s.apply(A, a), "not_found", "source_id", "src_nope");
    assert_eq!(counts(s), before, "refused commands wrote nothing");
    // The job takes no applications once closed.
    s.update_job(A, {
        let mut u = UpdateJob::new(w.job.clone(), at("2025-06-01T00:00:00Z"));
        u.status = Some(JobStatus::Closed);
        u
    })
    .unwrap();
    refused(
        s.apply(A, apply_cmd(&w, "2025-07-01T00:00:00Z")),
        "conflict",
        "job_id",
        "is closed",
    );
    assert_exports_validly(s, A);
});

on_both!("hp_test_write", jobs_and_pipelines, |mut f| {
    let s = f.store();
    let w = world(s);
    // Status: open -> closed -> open -> archived; draft cannot come back.
    let mut u = UpdateJob::new(w.job.clone(), at("2024-01-01T00:00:00Z"));
    u.status = Some(JobStatus::Closed);
    refused(
        s.update_job(A, u),
        "invalid",
        "at",
        "before the job's `opened_at`",
    );
    let mut u = UpdateJob::new(w.job.clone(), at("2025-06-01T00:00:00Z"));
    u.status = Some(JobStatus::Closed);
    u.title = Some("Senior Robotics Engineer".into());
    u.headcount = Some(3);
    u.confidential = Some(true);
    u.hiring_team = Some(vec![HiringTeamMember {
        user_id: w.users[2].clone(),
        role: HiringTeamRole::Coordinator,
    }]);
    let job = s.update_job(A, u).unwrap();
    assert_eq!(job.status, JobStatus::Closed);
    assert_eq!(job.closed_at, Some(at("2025-06-01T00:00:00Z")));
    assert_eq!(job.title, "Senior Robotics Engineer");
    assert_eq!(job.hiring_team.len(), 1);
    assert_eq!(s.job(A, w.job.as_str()).unwrap().unwrap(), job);
    let mut u = UpdateJob::new(w.job.clone(), at("2025-07-01T00:00:00Z"));
    u.status = Some(JobStatus::Draft);
    refused(
        s.update_job(A, u),
        "invalid",
        "status",
        "a job that is closed cannot become draft",
    );
    let mut u = UpdateJob::new(w.job.clone(), at("2025-07-01T00:00:00Z"));
    u.status = Some(JobStatus::Open);
    let job = s.update_job(A, u).unwrap();
    assert_eq!((job.status, job.closed_at), (JobStatus::Open, None));
    let mut u = UpdateJob::new(w.job.clone(), at("2025-07-01T00:00:00Z"));
    u.title = Some(" ".into());
    refused(s.update_job(A, u), "invalid", "title", "must not be empty");

    // Pipeline: add before a stage, at the end; rename; remove an unused stage, not a used one.
    let job = s
        .add_stage(
            A,
            AddStage {
                job_id: w.job.clone(),
                stage: stage("stg_w_tech", "Technical screen", StageKind::Assessment),
                before_stage_id: Some(w.onsite.clone()),
            },
        )
        .unwrap();
    let order: Vec<&str> = job.stages.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        order,
        [
            "stg_w_review",
            "stg_w_screen",
            "stg_w_tech",
            "stg_w_onsite",
            "stg_w_offer",
            "stg_w_hired"
        ]
    );
    let job = s
        .add_stage(
            A,
            AddStage {
                job_id: w.job.clone(),
                stage: NewStage {
                    id: None,
                    name: "Alumni".into(),
                    kind: StageKind::Lead,
                },
                before_stage_id: None,
            },
        )
        .unwrap();
    let last = job.stages.last().unwrap();
    assert!(last.id.as_str().starts_with("stg_"));
    let other_stage = id(&first(
        s,
        "SELECT id FROM stages WHERE org_id = 'org_a' AND job_id <> 'job_w' ORDER BY id",
    ));
    refused(
        s.add_stage(
            A,
            AddStage {
                job_id: w.job.clone(),
                stage: stage("stg_w_x", "X", StageKind::Screen),
                before_stage_id: Some(other_stage.clone()),
            },
        ),
        "invalid",
        "before_stage_id",
        "not to job `job_w`",
    );
    let renamed = s
        .update_stage(
            A,
            UpdateStage {
                stage_id: id("stg_w_tech"),
                name: "Tech screen".into(),
            },
        )
        .unwrap();
    assert_eq!(renamed.name, "Tech screen");
    let app = s.apply(A, apply_cmd(&w, "2025-08-01T00:00:00Z")).unwrap();
    s.move_stage(
        A,
        move_cmd(&app.id, &id("stg_w_tech"), "2025-08-02T00:00:00Z"),
    )
    .unwrap();
    refused(
        s.remove_stage(A, &id("stg_w_tech")),
        "conflict",
        "stage_id",
        "is in use",
    );
    let job = s.remove_stage(A, &last.id).unwrap();
    assert_eq!(job.stages.len(), 6);
    // A stage from the middle: the ones after it move up, positions stay 1..n.
    let job = s
        .add_stage(
            A,
            AddStage {
                job_id: w.job.clone(),
                stage: stage("stg_w_mid", "Mid", StageKind::Screen),
                before_stage_id: Some(w.onsite.clone()),
            },
        )
        .unwrap();
    let mid = job
        .stages
        .iter()
        .find(|s| s.id.as_str() == "stg_w_mid")
        .unwrap()
        .position;
    let job = s.remove_stage(A, &id("stg_w_mid")).unwrap();
    let positions: Vec<(&str, u32)> = job
        .stages
        .iter()
        .map(|s| (s.id.as_str(), s.position))
        .collect();
    assert_eq!(
        positions,
        [
            ("stg_w_review", 1),
            ("stg_w_screen", 2),
            ("stg_w_tech", 3),
            ("stg_w_onsite", 4),
            ("stg_w_offer", 5),
            ("stg_w_hired", 6)
        ]
    );
    assert_eq!(mid, 4);
    assert_exports_validly(s, A);
});

on_both!("hp_test_write", interviews_and_feedback, |mut f| {
    let s = f.store();
    let w = world(s);
    let app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
    s.move_stage(A, move_cmd(&app.id, &w.onsite, "2025-03-02T10:00:00Z"))
        .unwrap();
    let other_stage = id(&first(
        s,
        "SELECT id FROM stages WHERE org_id = 'org_a' AND job_id <> 'job_w' ORDER BY id",
    ));
    let iv = |stage: &Id, starts: &str, ends: &str| NewInterview {
        id: None,
        application_id: app.id.clone(),
        stage_id: stage.clone(),
        title: "Onsite loop".into(),
        starts_at: at(starts),
        ends_at: at(ends),
        status: InterviewStatus::Scheduled,
        interviewers: vec![
            InterviewParticipant {
                user_id: w.users[0].clone(),
                role: InterviewerRole::Interviewer,
            },
            InterviewParticipant {
                user_id: w.users[2].clone(),
                role: InterviewerRole::Shadow,
            },
        ],
        booked_at: None,
    };
    refused(
        s.create_interview(
            A,
            iv(&other_stage, "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z"),
        ),
        "invalid",
        "stage_id",
        "not to the application's job `job_w`",
    );
    refused(
        s.create_interview(
            A,
            iv(&w.onsite, "2025-03-03T10:00:00Z", "2025-03-03T10:00:00Z"),
        ),
        "invalid",
        "ends_at",
        "is not after `starts_at`",
    );
    refused(
        s.create_interview(
            A,
            iv(&w.onsite, "2025-03-03T10:00:00Z", "2025-03-04T10:00:01Z"),
        ),
        "invalid",
        "ends_at",
        "an interview lasts at most a day",
    );
    let mut shadows_only = iv(&w.onsite, "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z");
    shadows_only.interviewers[0].role = InterviewerRole::ReverseShadow;
    refused(
        s.create_interview(A, shadows_only),
        "invalid",
        "interviewers",
        "at least one participant with role `interviewer`",
    );
    let mut nobody = iv(&w.onsite, "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z");
    nobody.interviewers.clear();
    refused(
        s.create_interview(A, nobody),
        "invalid",
        "interviewers",
        "at least one participant",
    );
    let mut twice = iv(&w.onsite, "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z");
    twice.interviewers[1].user_id = w.users[0].clone();
    refused(
        s.create_interview(A, twice.clone()),
        "invalid",
        "interviewers[1].user_id",
        "already sits on this interview",
    );
    // Bounded before any is looked up (red team, pass 17: 5,800 participants ran an overlap
    // query each before the duplicate was found).
    let one = twice.interviewers[0].clone();
    twice.interviewers = vec![one; store::MAX_PARTICIPANTS + 1];
    refused(
        s.create_interview(A, twice),
        "invalid",
        "interviewers",
        "at most 50",
    );
    let interview = s
        .create_interview(
            A,
            iv(&w.onsite, "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z"),
        )
        .unwrap();
    assert!(interview.id.as_str().starts_with("iv_"));
    let fb = |author: &Id, when: &str, score: u8| NewFeedback {
        id: None,
        interview_id: interview.id.clone(),
        author_id: author.clone(),
        submitted_at: at(when),
        recommendation: Recommendation::StrongYes,
        scores: BTreeMap::from([
            ("technical".to_owned(), score),
            ("communication".to_owned(), 3),
        ]),
        notes: Some("Très bien — “clear” thinker".into()),
    };
    refused(
        s.submit_feedback(A, fb(&w.users[0], "2025-03-03T12:00:00Z", 5)),
        "invalid",
        r#"scores["technical"]"#,
        "expected a score 1 to 4, got `5`",
    );
    // At most `MAX_SCORES` attributes (red team, pass 17: 25,000 were stored).
    let mut many = fb(&w.users[0], "2025-03-03T12:00:00Z", 4);
    many.scores = (0..=store::MAX_SCORES)
        .map(|i| (format!("a{i}"), 3))
        .collect();
    refused(
        s.submit_feedback(A, many),
        "invalid",
        "scores",
        "at most 50",
    );
    refused(
        s.submit_feedback(A, fb(&w.users[0], "2025-03-03T09:00:00Z", 4)),
        "invalid",
        "submitted_at",
        "before the interview starts",
    );
    refused(
        s.submit_feedback(A, fb(&id("usr_nope"), "2025-03-03T12:00:00Z", 4)),
        "not_found",
        "author_id",
        "usr_nope",
    );
    let card = s
        .submit_feedback(A, fb(&w.users[0], "2025-03-03T12:00:00Z", 4))
        .unwrap();
    assert_eq!(card.application_id, app.id);
    refused(
        s.submit_feedback(A, fb(&w.users[0], "2025-03-03T13:00:00Z", 3)),
        "conflict",
        "author_id",
        "already submitted scorecard",
    );
    s.submit_feedback(A, fb(&w.users[2], "2025-03-03T12:30:00Z", 2))
        .unwrap();
    assert_eq!(
        first(
            s,
            &format!(
                "SELECT CAST(count(*) AS text) FROM feedback WHERE org_id = 'org_a' AND interview_id = '{}'",
                interview.id
            )
        ),
        "2"
    );
    assert_exports_validly(s, A);
});

on_both!("hp_test_write", feedback_is_edited, |mut f| {
    let s = f.store();
    let w = world(s);
    let app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
    let interview = s
        .create_interview(
            A,
            NewInterview {
                id: None,
                application_id: app.id.clone(),
                stage_id: w.onsite.clone(),
                title: "Onsite loop".into(),
                starts_at: at("2025-03-03T10:00:00Z"),
                ends_at: at("2025-03-03T11:00:00Z"),
                status: InterviewStatus::Scheduled,
                interviewers: vec![InterviewParticipant {
                    user_id: w.users[0].clone(),
                    role: InterviewerRole::Interviewer,
                }],
                booked_at: None,
            },
        )
        .unwrap();
    let card = s
        .submit_feedback(
            A,
            NewFeedback {
                id: None,
                interview_id: interview.id.clone(),
                author_id: w.users[0].clone(),
                submitted_at: at("2025-03-03T12:00:00Z"),
                recommendation: Recommendation::Yes,
                scores: BTreeMap::from([("coding".to_owned(), 3), ("design".to_owned(), 2)]),
                notes: Some("Solid — “clear” thinker".into()),
            },
        )
        .unwrap();
    let change = || UpdateFeedback {
        feedback_id: card.id.clone(),
        recommendation: None,
        scores: None,
        notes: None,
    };
    let stored = |s: &mut Store| s.feedback(A, card.id.as_str()).unwrap().unwrap();
    assert_eq!(stored(s), card);

    // The recommendation alone: scores and notes stay.
    let edited = s
        .update_feedback(
            A,
            UpdateFeedback {
                recommendation: Some(Recommendation::StrongNo),
                ..change()
            },
        )
        .unwrap();
    let mut expected = card.clone();
    expected.recommendation = Recommendation::StrongNo;
    assert_eq!(edited, expected);
    assert_eq!(stored(s), expected);

    // Scores replace the whole map.
    let scores = BTreeMap::from([("coding".to_owned(), 4), ("system_design".to_owned(), 1)]);
    let edited = s
        .update_feedback(
            A,
            UpdateFeedback {
                scores: Some(scores.clone()),
                ..change()
            },
        )
        .unwrap();
    expected.scores = scores;
    assert_eq!(edited, expected);
    assert_eq!(stored(s), expected);

    // Notes cleared (and set again).
    let edited = s
        .update_feedback(
            A,
            UpdateFeedback {
                notes: Some(None),
                ..change()
            },
        )
        .unwrap();
    expected.notes = None;
    assert_eq!(edited, expected);
    assert_eq!(stored(s), expected);
    let edited = s
        .update_feedback(
            A,
            UpdateFeedback {
                recommendation: Some(Recommendation::Yes),
                notes: Some(Some("On reflection: yes".into())),
                ..change()
            },
        )
        .unwrap();
    expected.recommendation = Recommendation::Yes;
    expected.notes = Some("On reflection: yes".into());
    assert_eq!(edited, expected);
    assert_eq!(stored(s), expected);
    // What an edit never changes.
    assert_eq!(
        (
            &edited.interview_id,
            &edited.application_id,
            &edited.author_id,
            edited.submitted_at
        ),
        (
            &card.interview_id,
            &card.application_id,
            &card.author_id,
            card.submitted_at
        )
    );

    // Refusals name the field and change nothing, even with a valid part beside the bad one.
    let before = counts(s);
    refused(
        s.update_feedback(
            A,
            UpdateFeedback {
                recommendation: Some(Recommendation::StrongYes),
                scores: Some(BTreeMap::from([
                    ("coding".to_owned(), 4),
                    ("communication".to_owned(), 5),
                ])),
                notes: Some(None),
                ..change()
            },
        ),
        "invalid",
        r#"scores["communication"]"#,
        "expected a score 1 to 4, got `5`",
    );
    refused(
        s.update_feedback(
            A,
            UpdateFeedback {
                scores: Some(BTreeMap::from([("coding".to_owned(), 0)])),
                ..change()
            },
        ),
        "invalid",
        r#"scores["coding"]"#,
        "got `0`",
    );
    refused(
        s.update_feedback(
            A,
            UpdateFeedback {
                scores: Some(BTreeMap::from([(" ".to_owned(), 2)])),
                ..change()
            },
        ),
        "invalid",
        "scores",
        "an attribute name is empty",
    );
    refused(
        s.update_feedback(A, change()),
        "invalid",
        "input",
        "nothing to change",
    );
    refused(
        s.update_feedback(
            A,
            UpdateFeedback {
                feedback_id: id("fb_nope"),
                recommendation: Some(Recommendation::No),
                ..change()
            },
        ),
        "not_found",
        "feedback_id",
        "no feedback `fb_nope` in the org",
    );
    // A scorecard of another org is not found through this one.
    let b_card = id(&first(
        s,
        "SELECT id FROM feedback WHERE org_id = 'org_b' ORDER BY id",
    ));
    let b_before = s.feedback(B, b_card.as_str()).unwrap().unwrap();
    assert!(s.feedback(A, b_card.as_str()).unwrap().is_none());
    refused(
        s.update_feedback(
            A,
            UpdateFeedback {
                feedback_id: b_card.clone(),
                recommendation: Some(Recommendation::No),
                ..change()
            },
        ),
        "not_found",
        "feedback_id",
        b_card.as_str(),
    );
    assert_eq!(s.feedback(B, b_card.as_str()).unwrap().unwrap(), b_before);
    assert_eq!(stored(s), expected);
    assert_eq!(counts(s), before);
    assert_exports_validly(s, A);
});

on_both!(
    "hp_test_write",
    feedback_of_a_cancelled_interview_stays,
    |mut f| {
        let s = f.store();
        let w = world(s);
        let app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
        let interview = |title: &str| NewInterview {
            id: None,
            application_id: app.id.clone(),
            stage_id: w.onsite.clone(),
            title: title.into(),
            starts_at: at("2025-03-03T10:00:00Z"),
            ends_at: at("2025-03-03T11:00:00Z"),
            status: InterviewStatus::Scheduled,
            interviewers: vec![
                InterviewParticipant {
                    user_id: w.users[0].clone(),
                    role: InterviewerRole::Interviewer,
                },
                InterviewParticipant {
                    user_id: w.users[2].clone(),
                    role: InterviewerRole::Interviewer,
                },
            ],
            booked_at: None,
        };
        let card = |interview: &Id, author: &Id| NewFeedback {
            id: None,
            interview_id: interview.clone(),
            author_id: author.clone(),
            submitted_at: at("2025-03-03T12:00:00Z"),
            recommendation: Recommendation::Yes,
            scores: BTreeMap::from([("coding".to_owned(), 3)]),
            notes: Some("Good".into()),
        };
        let cancelled = s.create_interview(A, interview("Onsite")).unwrap();
        let kept = s.create_interview(A, interview("Second look")).unwrap();
        let on_cancelled = s
            .submit_feedback(A, card(&cancelled.id, &w.users[0]))
            .unwrap();
        let on_kept = s.submit_feedback(A, card(&kept.id, &w.users[0])).unwrap();
        s.cancel_interview(A, &cancelled.id).unwrap();

        // The scorecard of the cancelled interview stays as it was, whatever the change.
        let before = counts(s);
        for change in [
            UpdateFeedback {
                feedback_id: on_cancelled.id.clone(),
                recommendation: Some(Recommendation::StrongNo),
                scores: None,
                notes: None,
            },
            UpdateFeedback {
                feedback_id: on_cancelled.id.clone(),
                recommendation: None,
                scores: Some(BTreeMap::from([("coding".to_owned(), 1)])),
                notes: Some(None),
            },
        ] {
            refused(
                s.update_feedback(A, change),
                "conflict",
                "feedback_id",
                &format!(
                    "interview `{}` of scorecard `{}` was cancelled",
                    cancelled.id, on_cancelled.id
                ),
            );
        }
        assert_eq!(
            s.feedback(A, on_cancelled.id.as_str()).unwrap().unwrap(),
            on_cancelled
        );
        // Nor does it take a new one.
        refused(
            s.submit_feedback(A, card(&cancelled.id, &w.users[2])),
            "conflict",
            "interview_id",
            "was cancelled",
        );
        assert_eq!(counts(s), before);

        // A scorecard of an interview that was not cancelled is still edited.
        let edited = s
            .update_feedback(
                A,
                UpdateFeedback {
                    feedback_id: on_kept.id.clone(),
                    recommendation: Some(Recommendation::StrongYes),
                    scores: None,
                    notes: None,
                },
            )
            .unwrap();
        assert_eq!(edited.recommendation, Recommendation::StrongYes);
        assert_exports_validly(s, A);
    }
);

on_both!("hp_test_write", offers_have_versions, |mut f| {
    let s = f.store();
    let w = world(s);
    let app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
    let terms = |amount: f64| OfferTerms {
        start_date: Some(Date::parse("2025-05-01").unwrap()),
        salary: Some(Salary {
            amount: Amount(amount),
            currency: "EUR".into(),
            period: SalaryPeriod::Year,
        }),
        bonus: Some(Amount(5000.0)),
        equity: Some("0.1%".into()),
    };
    let new = |status, amount| NewOffer {
        id: None,
        application_id: app.id.clone(),
        created_at: at("2025-04-01T00:00:00Z"),
        status,
        terms: terms(amount),
    };
    let mut bad = new(OfferStatus::Draft, 90000.0);
    bad.terms.salary.as_mut().unwrap().currency = "eur".into();
    refused(
        s.create_offer(A, bad),
        "invalid",
        "salary.currency",
        "ISO 4217",
    );
    let mut bad = new(OfferStatus::Draft, 90000.0);
    bad.terms.bonus = Some(Amount(-1.0));
    refused(
        s.create_offer(A, bad),
        "invalid",
        "bonus",
        "expected a non-negative number below 10^12",
    );
    refused(
        s.create_offer(A, new(OfferStatus::Draft, 1e308)),
        "invalid",
        "salary.amount",
        "below 10^12, got `1e308`",
    );
    refused(
        s.create_offer(A, new(OfferStatus::Accepted, 90000.0)),
        "invalid",
        "status",
        "a new offer is",
    );
    let v1 = s.create_offer(A, new(OfferStatus::Draft, 90000.0)).unwrap();
    assert_eq!(v1.version, 1);
    assert!(v1.id.as_str().starts_with("off_"));
    // Terms change before the offer is sent; status moves forward.
    let upd =
        |offer: &Id, when: &str, status: Option<OfferStatus>, t: Option<OfferTerms>| UpdateOffer {
            offer_id: offer.clone(),
            at: at(when),
            status,
            terms: t,
        };
    let v1u = s
        .update_offer(
            A,
            upd(
                &v1.id,
                "2025-04-02T00:00:00Z",
                Some(OfferStatus::Sent),
                Some(terms(95000.5)),
            ),
        )
        .unwrap();
    assert_eq!(v1u.status, OfferStatus::Sent);
    assert_eq!(v1u.salary.as_ref().unwrap().amount, Amount(95000.5));
    refused(
        s.update_offer(A, upd(&v1.id, "2025-04-03T00:00:00Z", None, None)),
        "invalid",
        "input",
        "nothing to change",
    );
    refused(
        s.update_offer(
            A,
            upd(&v1.id, "2025-04-03T00:00:00Z", None, Some(terms(1.0))),
        ),
        "conflict",
        "terms",
        "new terms need a new offer version",
    );
    refused(
        s.update_offer(
            A,
            upd(
                &v1.id,
                "2025-04-03T00:00:00Z",
                Some(OfferStatus::Draft),
                None,
            ),
        ),
        "invalid",
        "status",
        "an offer that is sent cannot become draft",
    );
    let v2 = s.create_offer(A, new(OfferStatus::Draft, 99000.0)).unwrap();
    assert_eq!(v2.version, 2);
    refused(
        s.update_offer(
            A,
            upd(
                &v1.id,
                "2025-04-03T00:00:00Z",
                Some(OfferStatus::Rescinded),
                None,
            ),
        ),
        "conflict",
        "offer_id",
        "only the current version 2 can change",
    );
    refused(
        s.update_offer(
            A,
            upd(
                &v2.id,
                "2025-04-03T00:00:00Z",
                Some(OfferStatus::Accepted),
                None,
            ),
        ),
        "invalid",
        "status",
        "an offer that is draft cannot become accepted",
    );
    s.update_offer(
        A,
        upd(
            &v2.id,
            "2025-04-03T00:00:00Z",
            Some(OfferStatus::Sent),
            None,
        ),
    )
    .unwrap();
    let accepted = s
        .update_offer(
            A,
            upd(
                &v2.id,
                "2025-04-05T00:00:00Z",
                Some(OfferStatus::Accepted),
                None,
            ),
        )
        .unwrap();
    assert_eq!(accepted.resolved_at, Some(at("2025-04-05T00:00:00Z")));
    refused(
        s.update_offer(
            A,
            upd(
                &v2.id,
                "2025-04-06T00:00:00Z",
                Some(OfferStatus::Rescinded),
                None,
            ),
        ),
        "conflict",
        "offer_id",
        "is already accepted",
    );
    let offers = s.offers(A, app.id.as_str()).unwrap();
    assert_eq!(offers.iter().map(|o| o.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(offers[1], accepted);
    s.archive(
        A,
        Archive {
            application_id: app.id.clone(),
            reason: "declined elsewhere".into(),
            at: at("2025-04-07T00:00:00Z"),
        },
    )
    .unwrap();
    refused(
        s.create_offer(A, new(OfferStatus::Draft, 1.0)),
        "conflict",
        "application_id",
        "is archived",
    );
    assert_exports_validly(s, A);
});

on_both!("hp_test_write", custom_fields_and_values, |mut f| {
    let s = f.store();
    let w = world(s);
    let def = |key: &str, t, options: &[&str], entity| NewCustomField {
        id: None,
        entity,
        key: key.into(),
        label: format!("Label of {key} ✓"),
        field_type: t,
        options: options.iter().map(|o| o.to_string()).collect(),
        sensitive: false,
    };
    refused(
        s.create_custom_field(
            A,
            def("bad key", CustomFieldType::Text, &[], CustomEntity::Job),
        ),
        "invalid",
        "key",
        "letters, digits and `_`",
    );
    refused(
        s.create_custom_field(
            A,
            def("seniority", CustomFieldType::Select, &[], CustomEntity::Job),
        ),
        "invalid",
        "options",
        "needs at least one option",
    );
    refused(
        s.create_custom_field(
            A,
            def("n", CustomFieldType::Number, &["1"], CustomEntity::Job),
        ),
        "invalid",
        "options",
        "takes no options",
    );
    refused(
        s.create_custom_field(
            A,
            def(
                "seniority",
                CustomFieldType::Select,
                &["a", "a"],
                CustomEntity::Job,
            ),
        ),
        "invalid",
        "options[1]",
        "listed twice",
    );
    let many: Vec<String> = (0..=store::MAX_OPTIONS).map(|i| format!("o{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    refused(
        s.create_custom_field(
            A,
            def("level", CustomFieldType::Select, &many, CustomEntity::Job),
        ),
        "invalid",
        "options",
        "at most 1000",
    );
    let sel = s
        .create_custom_field(
            A,
            def(
                "seniority",
                CustomFieldType::Select,
                &["junior", "senior"],
                CustomEntity::Job,
            ),
        )
        .unwrap();
    assert!(sel.id.as_str().starts_with("cf_"));
    refused(
        s.create_custom_field(
            A,
            def("seniority", CustomFieldType::Text, &[], CustomEntity::Job),
        ),
        "conflict",
        "key",
        "already a custom field of jobs",
    );
    // The same key on another entity is another field; so is the same key in another org.
    s.create_custom_field(
        A,
        def(
            "seniority",
            CustomFieldType::MultiSelect,
            &["x", "y"],
            CustomEntity::Application,
        ),
    )
    .unwrap();
    s.create_custom_field(
        B,
        def("seniority", CustomFieldType::Text, &[], CustomEntity::Job),
    )
    .unwrap();
    s.create_custom_field(
        A,
        def(
            "start_on",
            CustomFieldType::Date,
            &[],
            CustomEntity::Candidate,
        ),
    )
    .unwrap();

    let set = |entity, record: &Id, key: &str, value| CustomFieldValue {
        entity,
        record_id: record.clone(),
        key: key.into(),
        value,
    };
    let v = s
        .set_custom_field_value(
            A,
            set(CustomEntity::Job, &w.job, "seniority", json!("senior")),
        )
        .unwrap();
    assert_eq!(v.to_json(), json!({"seniority": "senior"}));
    refused(
        s.set_custom_field_value(A, set(CustomEntity::Job, &w.job, "seniority", json!("cto"))),
        "invalid",
        "value",
        "`cto` is not one of its options `junior`, `senior`",
    );
    refused(
        s.set_custom_field_value(A, set(CustomEntity::Job, &w.job, "nope", json!(1))),
        "invalid",
        "key",
        "`nope` is not a custom field of jobs",
    );
    refused(
        s.set_custom_field_value(
            A,
            set(
                CustomEntity::Candidate,
                &w.candidate,
                "start_on",
                json!("soon"),
            ),
        ),
        "invalid",
        "value",
        "not a date",
    );
    s.set_custom_field_value(
        A,
        set(
            CustomEntity::Candidate,
            &w.candidate,
            "start_on",
            json!("2025-09-01"),
        ),
    )
    .unwrap();
    let app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
    let v = s
        .set_custom_field_value(
            A,
            set(
                CustomEntity::Application,
                &app.id,
                "seniority",
                json!(["y", "x"]),
            ),
        )
        .unwrap();
    assert_eq!(v.to_json(), json!({"seniority": ["y", "x"]}));
    assert_eq!(
        s.application(A, app.id.as_str())
            .unwrap()
            .unwrap()
            .custom_fields,
        v
    );
    // A job created with custom values; a value removed with null.
    let v = s
        .set_custom_field_value(A, set(CustomEntity::Job, &w.job, "seniority", json!(null)))
        .unwrap();
    assert!(v.is_empty());
    // Options may be added, not removed; label and sensitivity change.
    refused(
        s.update_custom_field(
            A,
            UpdateCustomField {
                id: sel.id.clone(),
                label: None,
                sensitive: None,
                options: Some(vec!["junior".into()]),
            },
        ),
        "invalid",
        "options",
        "`senior` is missing",
    );
    let changed = s
        .update_custom_field(
            A,
            UpdateCustomField {
                id: sel.id.clone(),
                label: Some("Seniority".into()),
                sensitive: Some(true),
                options: Some(vec!["junior".into(), "senior".into(), "staff".into()]),
            },
        )
        .unwrap();
    assert_eq!(changed.options.len(), 3);
    s.set_custom_field_value(
        A,
        set(CustomEntity::Job, &w.job, "seniority", json!("staff")),
    )
    .unwrap();
    let mut u = UpdateJob::new(w.job.clone(), at("2025-06-01T00:00:00Z"));
    u.custom_fields = Some(json!({"seniority": "bogus"}).as_object().unwrap().clone());
    refused(
        s.update_job(A, u),
        "invalid",
        r#"custom_fields["seniority"]"#,
        "not one of its options",
    );
    assert_exports_validly(s, A);
    assert_exports_validly(s, B);
});

on_both!(
    "hp_test_write",
    candidate_flag_follows_applications_and_confidential_jobs,
    |mut f| {
        let s = f.store();
        let w = world(s);
        // A new candidate has no application: no job that is not confidential.
        assert!(!flag(s, &w.candidate));
        // A confidential job of its own.
        let secret = s
            .create_job(
                A,
                NewJob {
                    id: Some(id("job_secret")),
                    title: "Secret Project Lead".into(),
                    department_id: w.dept.clone(),
                    location: "Remote".into(),
                    employment_type: EmploymentType::FullTime,
                    status: JobStatus::Open,
                    confidential: true,
                    opened_at: at("2025-01-01T00:00:00Z"),
                    headcount: 1,
                    hiring_team: vec![],
                    stages: vec![stage(
                        "stg_s_review",
                        "Review",
                        StageKind::ApplicationReview,
                    )],
                    custom_fields: serde_json::Map::new(),
                },
            )
            .unwrap();
        // Applying to the confidential job leaves it false; to the other job makes it true.
        let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
        cmd.job_id = secret.id.clone();
        let secret_app = s.apply(A, cmd).unwrap();
        assert!(!flag(s, &w.candidate));
        // The application stores its job's `confidential` (migration 30).
        let generated = confidential_applications(s, A);
        let stored = |s: &mut Store| -> Vec<String> {
            confidential_applications(s, A)
                .into_iter()
                .filter(|a| !generated.contains(a))
                .collect()
        };
        assert_eq!(
            confidential_applications(s, A)
                .into_iter()
                .filter(|a| *a == secret_app.id.as_str())
                .count(),
            1
        );
        s.apply(A, apply_cmd(&w, "2025-03-02T10:00:00Z")).unwrap();
        assert!(flag(s, &w.candidate));
        // Created and applied in one command.
        let (other, _) = s
            .create_candidate_and_apply(
                A,
                candidate_cmd("Ada Other"),
                apply_cmd(&w, "2025-03-03T10:00:00Z"),
            )
            .unwrap();
        assert!(flag(s, &other.id));
        // The job becomes confidential: both lose it; and back.
        let mut u = UpdateJob::new(w.job.clone(), at("2025-04-01T00:00:00Z"));
        u.confidential = Some(true);
        s.update_job(A, u).unwrap();
        assert!(!flag(s, &w.candidate));
        assert!(!flag(s, &other.id));
        // Its two applications then store it.
        assert_eq!(stored(s).len(), 2, "{:?}", stored(s));
        let mut u = UpdateJob::new(w.job.clone(), at("2025-04-02T00:00:00Z"));
        u.confidential = Some(false);
        s.update_job(A, u).unwrap();
        assert!(flag(s, &w.candidate));
        assert!(flag(s, &other.id));
        assert_eq!(stored(s), Vec::<String>::new());
        // Both jobs confidential, then only the other one: the candidate applying to both
        // keeps it through the secret job, the other candidate does not.
        let mut u = UpdateJob::new(w.job.clone(), at("2025-04-03T00:00:00Z"));
        u.confidential = Some(true);
        s.update_job(A, u).unwrap();
        let mut u = UpdateJob::new(secret.id.clone(), at("2025-04-03T00:00:00Z"));
        u.confidential = Some(false);
        s.update_job(A, u).unwrap();
        assert!(flag(s, &w.candidate));
        assert!(!flag(s, &other.id));
        // A change that leaves `confidential` as it was changes no flag.
        let mut u = UpdateJob::new(secret.id.clone(), at("2025-04-04T00:00:00Z"));
        u.title = Some("Project Lead".into());
        s.update_job(A, u).unwrap();
        assert!(flag(s, &w.candidate));
        assert!(!flag(s, &other.id));
        // The other org is untouched.
        assert_eq!(
            s.stale_candidate_flags(B).unwrap(),
            Vec::<String>::new(),
            "org B"
        );
        assert_eq!(
            s.stale_application_flags(B).unwrap(),
            Vec::<String>::new(),
            "org B"
        );
        assert_exports_validly(s, A);
    }
);

on_both!(
    "hp_test_write",
    concurrent_moves_of_one_application_serialise,
    |mut f| {
        let url = f.url.clone();
        let s = f.store();
        let w = world(s);
        for round in 0..4 {
            let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
            cmd.candidate_id = s
                .create_candidate(A, candidate_cmd(&format!("Candidate {round}")))
                .unwrap()
                .id;
            let app = s.apply(A, cmd).unwrap();
            // Two writers on their own connections, racing: one to `screen` a day later, one to
            // `onsite` two days later. Whichever order they commit in, the second sees the first.
            let handles: Vec<_> = [
                (w.screen.clone(), "2025-03-02T10:00:00Z"),
                (w.onsite.clone(), "2025-03-03T10:00:00Z"),
            ]
            .into_iter()
            .map(|(to, when)| {
                let url = url.clone();
                let app = app.id.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&url).unwrap();
                    store.move_stage(A, move_cmd(&app, &to, when)).map(|_| ())
                })
            })
            .collect();
            let results: Vec<Result<(), WriteError>> =
                handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert!(results.iter().any(Result::is_ok), "{results:?}");
            for r in &results {
                if let Err(e) = r {
                    // Only the time rule may refuse: `onsite` went first, `screen` came too early.
                    assert_eq!(e.field(), Some("at"), "{e}");
                }
            }
            let h = s.stage_history(A, app.id.as_str()).unwrap();
            let ok = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(h.len(), 1 + ok);
            for pair in h.windows(2) {
                assert_eq!(pair[1].from_stage_id.as_ref(), Some(&pair[0].to_stage_id));
            }
        }
        assert_exports_validly(s, A);
    }
);

/// A bigger org beside the two of `world`, shaped like the sample org `acme`: its id `org_acme`
/// is not the prefix of its records' ids (`acme_app_1`, ...), and some of its users are inactive
/// (generated with seed 7: 3 of its 30 users).
fn acme_beside_a_generated_org(mut f: Fresh) {
    let s = f.store();
    let acme = generated("acme", 300, 7);
    let org = acme.path().join("org.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&org).unwrap()).unwrap();
    v["id"] = "org_acme".into();
    std::fs::write(&org, v.to_string()).unwrap();
    import(s, acme.path(), false);
    let w = world(s);
    // An acme application, moved through acme; not visible through org_a.
    let app = id(&first(
        s,
        "SELECT id FROM applications WHERE org_id = 'org_acme' AND status = 'active' ORDER BY id",
    ));
    let to = id(&first(
        s,
        &format!(
            "SELECT s.id FROM stages s JOIN applications a ON a.org_id = s.org_id AND a.job_id = s.job_id \
             WHERE a.org_id = 'org_acme' AND a.id = '{app}' AND s.id <> a.current_stage_id AND s.kind <> 'hired' ORDER BY s.position"
        ),
    ));
    refused(
        s.move_stage(A, move_cmd(&app, &to, "2030-01-01T00:00:00Z")),
        "not_found",
        "application_id",
        app.as_str(),
    );
    refused(
        s.move_stage(
            "org_acme",
            move_cmd(&app, &w.screen, "2030-01-01T00:00:00Z"),
        ),
        "not_found",
        "to_stage_id",
        "stg_w_screen",
    );
    s.move_stage("org_acme", move_cmd(&app, &to, "2030-01-01T00:00:00Z"))
        .unwrap();
    // acme has inactive users (the generated orgs of `world` are too small to): none of them
    // may sit on a new interview.
    let inactive = strings(
        s,
        "SELECT id FROM users WHERE org_id = 'org_acme' AND NOT active ORDER BY id",
    );
    assert_eq!(
        inactive.len(),
        3,
        "seed 7 makes 3 users inactive: {inactive:?}"
    );
    let inactive = id(&inactive[0]);
    let active = id(&first(
        s,
        "SELECT id FROM users WHERE org_id = 'org_acme' AND active ORDER BY id",
    ));
    let interview = |second: &Id| NewInterview {
        id: None,
        application_id: app.clone(),
        stage_id: to.clone(),
        title: "Panel".into(),
        starts_at: at("2030-01-02T10:00:00Z"),
        ends_at: at("2030-01-02T11:00:00Z"),
        status: InterviewStatus::Scheduled,
        interviewers: vec![
            InterviewParticipant {
                user_id: active.clone(),
                role: InterviewerRole::Interviewer,
            },
            InterviewParticipant {
                user_id: second.clone(),
                role: InterviewerRole::Interviewer,
            },
        ],
        booked_at: None,
    };
    refused(
        s.create_interview("org_acme", interview(&inactive)),
        "invalid",
        "interviewers[1].user_id",
        "is inactive and cannot interview",
    );
    refused(
        s.create_interview("org_acme", interview(&id("acme_usr_nobody"))),
        "not_found",
        "interviewers[1].user_id",
        "acme_usr_nobody",
    );
    assert_exports_validly(s, "org_acme");
}

on_both!(
    "hp_test_write",
    acme_beside_a_generated_org,
    acme_beside_a_generated_org
);

on_both!(
    "hp_test_write",
    a_move_waits_for_the_application_lock,
    |mut f| {
        let url = f.url.clone();
        let is_pg = f.pg.is_some();
        let file = f.file.clone();
        let s = f.store();
        let w = world(s);
        let app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
        let mut writer = Store::open(&url).unwrap();
        // Another transaction holds the application (PostgreSQL: its row; SQLite: the write lock).
        enum Holder {
            Pg(postgres::Client),
            Lite(rusqlite::Connection),
        }
        let mut holder = if is_pg {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute("BEGIN").unwrap();
            c.execute(
                "SELECT id FROM applications WHERE org_id = $1 AND id = $2 FOR UPDATE",
                &[&A, &app.id.as_str()],
            )
            .unwrap();
            Holder::Pg(c)
        } else {
            let c = rusqlite::Connection::open(file.as_ref().unwrap()).unwrap();
            c.execute_batch("BEGIN IMMEDIATE").unwrap();
            Holder::Lite(c)
        };
        let id = app.id.clone();
        let to = w.screen.clone();
        let mover = std::thread::spawn(move || {
            writer
                .move_stage(A, move_cmd(&id, &to, "2025-03-02T10:00:00Z"))
                .map(|c| c.application.current_stage_id)
        });
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(!mover.is_finished(), "the move did not wait for the lock");
        match &mut holder {
            Holder::Pg(c) => c.batch_execute("COMMIT").unwrap(),
            Holder::Lite(c) => c.execute_batch("COMMIT").unwrap(),
        }
        assert_eq!(mover.join().unwrap().unwrap(), w.screen);
        assert_eq!(s.stage_history(A, app.id.as_str()).unwrap().len(), 2);
    }
);

on_both!("hp_test_write", duplicates_are_found_and_merged, |mut f| {
    let s = f.store();
    let w = world(s);
    let keep = w.candidate.clone();
    // The same email in other letters' case, a phone the first lacks, demographics.
    let duplicate = s
        .create_candidate(
            A,
            NewCandidate {
                email: Some("ZOE@Example.ORG".into()),
                phone: Some("+81 3 1234 5678".into()),
                location: None,
                tags: vec!["event".into(), "referral".into()],
                demographics: Some(domain::entity::Demographics {
                    gender: Some("female".into()),
                    race_ethnicity: None,
                    veteran_status: None,
                    disability_status: None,
                }),
                ..candidate_cmd("Zoe O'Brien")
            },
        )
        .unwrap()
        .id;
    let groups = s.duplicate_candidates_by_email(A).unwrap();
    let ours: Vec<&Vec<Id>> = groups.iter().filter(|g| g.contains(&keep)).collect();
    assert_eq!(
        ours,
        vec![&vec![keep.clone(), duplicate.clone()]],
        "{groups:?}"
    );
    assert!(
        s.duplicate_candidates_by_email(B)
            .unwrap()
            .iter()
            .all(|g| !g.contains(&keep))
    );

    let kept_app = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
    let dup_app = s
        .apply(
            A,
            NewApplication {
                candidate_id: duplicate.clone(),
                ..apply_cmd(&w, "2025-03-02T10:00:00Z")
            },
        )
        .unwrap();
    let merge = |keep: &Id, merge: &Id| store::MergeCandidates {
        keep: keep.clone(),
        merge: merge.clone(),
    };
    // Refusals write nothing.
    let before = counts(s);
    refused(
        s.merge_candidates(A, merge(&keep, &duplicate)),
        "conflict",
        "merge",
        &format!(
            "both have an active application to job `{}` (`{}` and `{}`)",
            w.job, kept_app.id, dup_app.id
        ),
    );
    refused(
        s.merge_candidates(A, merge(&keep, &keep)),
        "invalid",
        "merge",
        "is the candidate to keep",
    );
    refused(
        s.merge_candidates(A, merge(&keep, &id("cand_nobody"))),
        "not_found",
        "merge",
        "cand_nobody",
    );
    refused(
        s.merge_candidates(A, merge(&id("cand_nobody"), &duplicate)),
        "not_found",
        "keep",
        "cand_nobody",
    );
    // Another org's candidate is not found either.
    let foreign = id(&first(
        s,
        "SELECT id FROM candidates WHERE org_id = 'org_b' ORDER BY id",
    ));
    refused(
        s.merge_candidates(A, merge(&keep, &foreign)),
        "not_found",
        "merge",
        foreign.as_str(),
    );
    assert_eq!(counts(s), before);

    // Archived, the duplicate's application moves with its history.
    s.archive(
        A,
        store::Archive {
            application_id: dup_app.id.clone(),
            reason: "duplicate".into(),
            at: at("2025-03-03T10:00:00Z"),
        },
    )
    .unwrap();
    let history = s.stage_history(A, dup_app.id.as_str()).unwrap();
    let merged = s.merge_candidates(A, merge(&keep, &duplicate)).unwrap();
    assert_eq!(merged.application_ids, vec![dup_app.id.clone()]);
    assert_eq!(merged.filled, vec!["phone".to_owned(), "tags".to_owned()]);
    let moved = s.application(A, dup_app.id.as_str()).unwrap().unwrap();
    assert_eq!(moved.candidate_id, keep);
    assert_eq!(s.stage_history(A, dup_app.id.as_str()).unwrap(), history);
    let column = |s: &mut Store, c: &str| {
        strings(
            s,
            &format!("SELECT {c} FROM candidates WHERE org_id = 'org_a' AND id = '{keep}'"),
        )
    };
    assert_eq!(
        column(s, "email"),
        ["zoe@example.org"],
        "the kept one's stays"
    );
    assert_eq!(column(s, "phone"), ["+81 3 1234 5678"], "filled");
    assert_eq!(column(s, "location"), ["東京"]);
    let tags: Vec<String> = serde_json::from_str(&column(s, "CAST(tags AS text)")[0]).unwrap();
    assert_eq!(tags, ["referral", "event"]);
    assert_eq!(
        strings(
            s,
            &format!(
                "SELECT gender FROM candidate_demographics WHERE org_id = 'org_a' \
                     AND candidate_id IN ('{keep}', '{duplicate}')"
            )
        ),
        Vec::<String>::new(),
        "the duplicate's demographics go with it, the kept one having none (carried over, \
         they told one person's answer: red team, pass 11)"
    );
    assert!(
        strings(
            s,
            &format!("SELECT id FROM candidates WHERE id = '{duplicate}'")
        )
        .is_empty()
    );
    assert_eq!(
        s.candidates_with_email(A, "zoe@example.org").unwrap(),
        vec![keep.clone()]
    );
    assert!(flag(s, &keep));
    // One event, ids only.
    let events = s
        .outbox_events(
            A,
            &store::EventQuery {
                after_seq: 0,
                types: vec![store::events::CANDIDATE_MERGED.type_name()],
                limit: 10,
            },
        )
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject, format!("candidate/{keep}"));
    assert_eq!(
        events[0].data,
        serde_json::json!({
            "candidate_id": keep.as_str(),
            "merged_candidate_id": duplicate.as_str(),
            "application_ids": [dup_app.id.as_str()],
            "actor_id": null,
        })
    );
    assert_exports_validly(s, A);
});

on_both!(
    "hp_test_write",
    the_benchmarks_knob_turns_the_outbox_write_off,
    |mut f| {
        // `Store::set_emit_events` is for `bench/mutations.sh` only: with it off the change
        // commits without its event; back on, events are written again, in sequence.
        let s = f.store();
        world(s);
        let events = |s: &mut Store| {
            s.outbox_events(
                A,
                &store::EventQuery {
                    after_seq: 0,
                    types: vec![store::events::CANDIDATE_CREATED.type_name()],
                    limit: 100,
                },
            )
            .unwrap()
        };
        let before = events(s);
        s.set_emit_events(false);
        let quiet = s.create_candidate(A, candidate_cmd("Quiet")).unwrap();
        assert_eq!(events(s), before, "no event with the knob off");
        assert!(
            !strings(
                s,
                &format!("SELECT id FROM candidates WHERE id = '{}'", quiet.id)
            )
            .is_empty()
        );
        s.set_emit_events(true);
        let loud = s.create_candidate(A, candidate_cmd("Loud")).unwrap();
        let after = events(s);
        assert_eq!(after.len(), before.len() + 1);
        assert_eq!(
            after.last().unwrap().subject,
            format!("candidate/{}", loud.id)
        );
    }
);

/// Each seat of org A with the application it stores and its interview's application, as
/// `interview_id/user_id stored interview's`, by interview and user.
fn seat_applications(store: &mut Store) -> Vec<String> {
    strings(
        store,
        "SELECT p.interview_id || '/' || p.user_id || ' ' || coalesce(p.application_id, '-') \
             || ' ' || i.application_id \
         FROM interview_participants p JOIN interviews i \
         ON i.org_id = p.org_id AND i.id = p.interview_id \
         WHERE p.org_id = 'org_a' ORDER BY p.interview_id, p.user_id",
    )
}

/// Whether every seat of org A stores its interview's application, checked row by row (not
/// only through `Store::stale_seat_applications`); the number of seats.
#[track_caller]
fn assert_seats_store_their_application(store: &mut Store) -> usize {
    let seats = seat_applications(store);
    for seat in &seats {
        let (_, applications) = seat.split_once(' ').unwrap();
        let (stored, truth) = applications.split_once(' ').unwrap();
        assert_eq!(stored, truth, "{seat}");
    }
    assert_eq!(
        store.stale_seat_applications(A).unwrap(),
        Vec::<String>::new()
    );
    seats.len()
}

// Migration 34: a seat stores its interview's application (`application_id`), which the policy
// reads for "the applications a user interviews for" (a hiring manager's and an interviewer's
// rows). The import writes it, and it stays equal through scheduling and merging candidates
// (no write path moves an interview to another application, nor changes an application's
// id); the integrity check finds a seat that disagrees.
on_both!(
    "hp_test_write",
    seats_store_their_interviews_application,
    |mut f| {
        let s = f.store();
        let w = world(s);
        let imported = assert_seats_store_their_application(s);
        assert!(
            imported > 0,
            "the generated org has no seats: the check is vacuous"
        );
        assert!(
            !strings(
                s,
                "SELECT p.interview_id FROM interview_participants p WHERE p.org_id = 'org_b'"
            )
            .is_empty()
        );

        // Scheduling: an interview of an application of the candidate that will be merged.
        let duplicate = s
            .create_candidate(A, candidate_cmd("Zoe Duplicate"))
            .unwrap()
            .id;
        let app = s
            .apply(
                A,
                NewApplication {
                    candidate_id: duplicate.clone(),
                    ..apply_cmd(&w, "2025-03-01T10:00:00Z")
                },
            )
            .unwrap();
        s.move_stage(A, move_cmd(&app.id, &w.onsite, "2025-03-02T10:00:00Z"))
            .unwrap();
        let interview = s
            .create_interview(
                A,
                NewInterview {
                    id: None,
                    application_id: app.id.clone(),
                    stage_id: w.onsite.clone(),
                    title: "Onsite loop".into(),
                    starts_at: at("2025-03-03T10:00:00Z"),
                    ends_at: at("2025-03-03T11:00:00Z"),
                    status: InterviewStatus::Scheduled,
                    interviewers: vec![
                        InterviewParticipant {
                            user_id: w.users[0].clone(),
                            role: InterviewerRole::Interviewer,
                        },
                        InterviewParticipant {
                            user_id: w.users[2].clone(),
                            role: InterviewerRole::Shadow,
                        },
                    ],
                    booked_at: None,
                },
            )
            .unwrap();
        let ours = |s: &mut Store| {
            strings(
                s,
                &format!(
                    "SELECT user_id || ' ' || application_id FROM interview_participants \
                     WHERE org_id = 'org_a' AND interview_id = '{}' ORDER BY user_id",
                    interview.id
                ),
            )
        };
        let expected: Vec<String> = [&w.users[0], &w.users[2]]
            .iter()
            .map(|u| format!("{u} {}", app.id))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(ours(s), expected);
        assert_eq!(assert_seats_store_their_application(s), imported + 2);

        // Merging the candidate moves the application, interviews and seats with it.
        let merged = s
            .merge_candidates(
                A,
                store::MergeCandidates {
                    keep: w.candidate.clone(),
                    merge: duplicate,
                },
            )
            .unwrap();
        assert_eq!(merged.application_ids, vec![app.id.clone()]);
        assert_eq!(ours(s), expected);
        assert_eq!(assert_seats_store_their_application(s), imported + 2);
        assert_exports_validly(s, A);

        // The check finds a seat that names another application (the attack: a policy reading
        // the column would then show that application to the seat's user).
        let other = first(
            s,
            &format!(
                "SELECT id FROM applications WHERE org_id = 'org_a' AND id <> '{}' ORDER BY id",
                app.id
            ),
        );
        let seat = format!("{}/{}", interview.id, w.users[0]);
        let corrupt = format!(
            "UPDATE interview_participants SET application_id = '{other}' \
             WHERE org_id = 'org_a' AND interview_id = '{}' AND user_id = '{}'",
            interview.id, w.users[0]
        );
        f.execute_raw(&corrupt);
        let s = f.store();
        assert_eq!(s.stale_seat_applications(A).unwrap(), vec![seat]);
        assert_eq!(s.stale_seat_applications(B).unwrap(), Vec::<String>::new());
    }
);

/// Another open job of `org_a` like `world`'s, its stages' ids prefixed with `job`; answers the
/// job and its `onsite` stage.
fn another_job(s: &mut Store, w: &World, job: &str) -> (Id, Id) {
    let st = |name: &str, kind| stage(&format!("stg_{job}_{name}"), name, kind);
    let created = s
        .create_job(
            A,
            NewJob {
                id: Some(id(job)),
                title: format!("Engineer {job}"),
                department_id: w.dept.clone(),
                location: "Zürich".into(),
                employment_type: EmploymentType::FullTime,
                status: JobStatus::Open,
                confidential: false,
                opened_at: at("2025-01-01T00:00:00Z"),
                headcount: 1,
                hiring_team: vec![],
                stages: vec![
                    st("review", StageKind::ApplicationReview),
                    st("onsite", StageKind::Onsite),
                    st("hired", StageKind::Hired),
                ],
                custom_fields: serde_json::Map::new(),
            },
        )
        .unwrap();
    (created.id, id(&format!("stg_{job}_onsite")))
}

/// A scheduled interview of `app` in `stage` with `who` as its interviewer, booked on
/// 2025-03-01.
fn booking(app: &Id, stage: &Id, who: &Id, starts: &str, ends: &str) -> NewInterview {
    NewInterview {
        id: None,
        application_id: app.clone(),
        stage_id: stage.clone(),
        title: "Race booking".into(),
        starts_at: at(starts),
        ends_at: at(ends),
        status: InterviewStatus::Scheduled,
        interviewers: vec![InterviewParticipant {
            user_id: who.clone(),
            role: InterviewerRole::Interviewer,
        }],
        booked_at: Some(at("2025-03-01T00:00:00Z")),
    }
}

/// `n` active users of `org_a`.
fn active_users(s: &mut Store, n: usize) -> Vec<Id> {
    let users: Vec<Id> = strings(
        s,
        &format!("SELECT id FROM users WHERE org_id = 'org_a' AND active ORDER BY id LIMIT {n}"),
    )
    .iter()
    .map(|u| id(u))
    .collect();
    assert_eq!(users.len(), n);
    users
}

/// Runs `write(store, i)` for `i` in `0..n` at once, each on a connection of its own (opened
/// before they all start), and answers their results in order.
fn at_once<T: Send + 'static>(
    url: &str,
    n: usize,
    write: impl Fn(&mut Store, usize) -> Result<T, WriteError> + Send + Sync + 'static,
) -> Vec<Result<T, WriteError>> {
    let start = std::sync::Arc::new(std::sync::Barrier::new(n));
    let write = std::sync::Arc::new(write);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (url, start, write) = (url.to_owned(), start.clone(), write.clone());
            std::thread::spawn(move || {
                let mut store = Store::open(&url).unwrap();
                start.wait();
                write(&mut store, i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Exactly one of `results` succeeded; every other is a CONFLICT naming `field`.
#[track_caller]
fn one_wins<T: std::fmt::Debug>(results: &[Result<T, WriteError>], field: &str) {
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(e, WriteError::Conflict { .. }) && e.field() == Some(field),
            "{e}"
        );
    }
}

on_both!(
    "hp_test_write",
    a_merge_never_makes_one_person_sit_two_interviews_at_once,
    |mut f| {
        let s = f.store();
        let w = world(s);
        let (job2, onsite2) = another_job(s, &w, "job_m2");
        let keep = w.candidate.clone();
        let duplicate = s
            .create_candidate(A, candidate_cmd("Zoe O'Brien (again)"))
            .unwrap()
            .id;
        let app1 = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
        let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
        cmd.job_id = job2;
        cmd.candidate_id = duplicate.clone();
        let app2 = s.apply(A, cmd).unwrap();
        let first = s
            .create_interview(
                A,
                booking(
                    &app1.id,
                    &w.onsite,
                    &w.users[0],
                    "2031-05-01T10:00:00Z",
                    "2031-05-01T11:00:00Z",
                ),
            )
            .unwrap();
        // Two records of one person, each booked at the same hour (allowed: two candidates).
        let second = s
            .create_interview(
                A,
                booking(
                    &app2.id,
                    &onsite2,
                    &w.users[2],
                    "2031-05-01T10:30:00Z",
                    "2031-05-01T11:30:00Z",
                ),
            )
            .unwrap();
        let merge = store::MergeCandidates {
            keep: keep.clone(),
            merge: duplicate.clone(),
        };
        let before = counts(s);
        let r = s.merge_candidates(A, merge.clone());
        let e = r.as_ref().unwrap_err().to_string();
        refused(
            r,
            "conflict",
            "merge",
            "both have a scheduled interview at once (from `2031-05-01T10:00:00Z` to \
             `2031-05-01T11:00:00Z`, and from `2031-05-01T10:30:00Z` to `2031-05-01T11:30:00Z`)",
        );
        assert!(
            !e.contains(first.id.as_str()) && !e.contains(second.id.as_str()),
            "{e}"
        );
        assert_eq!(counts(s), before, "nothing merged");
        // One of them cancelled, they merge.
        f.execute_raw(&format!(
            "UPDATE interviews SET status = 'cancelled' WHERE org_id = 'org_a' AND id = '{}'",
            second.id
        ));
        let s = f.store();
        let merged = s.merge_candidates(A, merge).unwrap();
        assert_eq!(merged.application_ids, vec![app2.id.clone()]);
    }
);

on_both!(
    "hp_test_write",
    a_candidate_sits_one_interview_at_a_time_across_applications,
    |mut f| {
        let s = f.store();
        let w = world(s);
        let (job2, onsite2) = another_job(s, &w, "job_w2");
        let app1 = s.apply(A, apply_cmd(&w, "2025-03-01T10:00:00Z")).unwrap();
        let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
        cmd.job_id = job2;
        let app2 = s.apply(A, cmd).unwrap();
        let booked = s
            .create_interview(
                A,
                booking(
                    &app1.id,
                    &w.onsite,
                    &w.users[0],
                    "2031-04-01T10:00:00Z",
                    "2031-04-01T11:00:00Z",
                ),
            )
            .unwrap();
        // Another application of the same candidate, another interviewer, the same hour: the
        // candidate cannot be in both. The other interview may be of a job the caller cannot
        // see: its time only, never its id.
        let before = counts(s);
        let r = s.create_interview(
            A,
            booking(
                &app2.id,
                &onsite2,
                &w.users[2],
                "2031-04-01T10:30:00Z",
                "2031-04-01T11:30:00Z",
            ),
        );
        let e = r.as_ref().unwrap_err().to_string();
        refused(
            r,
            "conflict",
            "starts_at",
            "the candidate is already in another interview from `2031-04-01T10:00:00Z` to `2031-04-01T11:00:00Z`",
        );
        assert!(!e.contains(booked.id.as_str()), "{e}");
        assert_eq!(counts(s), before);
        // The same application: its own interview is named, as before.
        refused(
            s.create_interview(
                A,
                booking(
                    &app1.id,
                    &w.onsite,
                    &w.users[2],
                    "2031-04-01T10:30:00Z",
                    "2031-04-01T11:30:00Z",
                ),
            ),
            "conflict",
            "starts_at",
            &format!("the candidate is already in interview `{}`", booked.id),
        );
        // Right after it ends: fine. Recorded history is taken as it was.
        s.create_interview(
            A,
            booking(
                &app2.id,
                &onsite2,
                &w.users[2],
                "2031-04-01T11:00:00Z",
                "2031-04-01T12:00:00Z",
            ),
        )
        .unwrap();
        let mut history = booking(
            &app2.id,
            &onsite2,
            &w.users[2],
            "2031-04-01T10:00:00Z",
            "2031-04-01T11:00:00Z",
        );
        history.booked_at = None;
        s.create_interview(A, history).unwrap();
        assert_exports_validly(s, A);
    }
);

/// How many scheduled interviews of `org_a` booked by these tests ([`booking`]) overlap another one of the same candidate, or share
/// a participant with an overlapping one.
fn overlaps(s: &mut Store) -> String {
    first(
        s,
        "SELECT CAST(count(*) AS text) FROM interviews i \
         JOIN applications a ON a.org_id = i.org_id AND a.id = i.application_id \
         JOIN interviews j ON j.org_id = i.org_id AND j.id > i.id \
         JOIN applications b ON b.org_id = j.org_id AND b.id = j.application_id \
         WHERE i.org_id = 'org_a' AND i.title = 'Race booking' AND j.title = 'Race booking' \
         AND i.status = 'scheduled' AND j.status = 'scheduled' \
         AND i.starts_at < j.ends_at AND j.starts_at < i.ends_at \
         AND (a.candidate_id = b.candidate_id OR EXISTS (SELECT 1 FROM interview_participants p \
           JOIN interview_participants q ON q.org_id = p.org_id AND q.user_id = p.user_id \
           WHERE p.org_id = i.org_id AND p.interview_id = i.id AND q.interview_id = j.id))",
    )
}

on_both!(
    "hp_test_write",
    bookings_at_once_of_one_interviewer_serialise,
    |mut f| {
        const N: usize = 6;
        let url = f.url.clone();
        let s = f.store();
        let w = world(s);
        for round in 0..3 {
            // N candidates, each with an application, booked at once with one interviewer at
            // the same hour.
            let apps: Vec<Id> = (0..N)
                .map(|i| {
                    let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
                    cmd.candidate_id = s
                        .create_candidate(A, candidate_cmd(&format!("Candidate {round}.{i}")))
                        .unwrap()
                        .id;
                    s.apply(A, cmd).unwrap().id
                })
                .collect();
            let (stage, who) = (w.onsite.clone(), w.users[0].clone());
            let starts = format!("2031-04-0{}T10:00:00Z", round + 1);
            let ends = format!("2031-04-0{}T11:00:00Z", round + 1);
            let results = at_once(&url, N, move |store, i| {
                store.create_interview(A, booking(&apps[i], &stage, &who, &starts, &ends))
            });
            one_wins(&results, "interviewers[0].user_id");
            assert_eq!(overlaps(s), "0", "round {round}");
        }
    }
);

on_both!(
    "hp_test_write",
    bookings_at_once_of_one_candidate_serialise,
    |mut f| {
        const N: usize = 4;
        let url = f.url.clone();
        let s = f.store();
        let w = world(s);
        let users = active_users(s, N);
        // One candidate with an application to each of N jobs.
        let apps: Vec<(Id, Id)> = (0..N)
            .map(|i| {
                let (job, onsite) = another_job(s, &w, &format!("job_c{i}"));
                let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
                cmd.job_id = job;
                (s.apply(A, cmd).unwrap().id, onsite)
            })
            .collect();
        for round in 0..3 {
            // Each application booked at the same hour with an interviewer of its own; a loop
            // books the last one (two sessions, the first at that hour).
            let (apps, users) = (apps.clone(), users.clone());
            let starts = format!("2031-04-0{}T10:00:00Z", round + 1);
            let ends = format!("2031-04-0{}T11:00:00Z", round + 1);
            let later = format!("2031-04-0{}T15:00:00Z", round + 1);
            let results = at_once(&url, N, move |store, i| {
                let (app, stage) = &apps[i];
                let one = booking(app, stage, &users[i], &starts, &ends);
                if i + 1 < N {
                    store.create_interview(A, one).map(|_| ())
                } else {
                    let two = booking(app, stage, &users[i], &ends, &later);
                    store.create_interviews(A, vec![one, two]).map(|_| ())
                }
            });
            assert_eq!(
                results.iter().filter(|r| r.is_ok()).count(),
                1,
                "{results:?}"
            );
            for e in results.iter().filter_map(|r| r.as_ref().err()) {
                assert!(matches!(e, WriteError::Conflict { .. }), "{e}");
                assert!(
                    e.to_string()
                        .contains("the candidate is already in another interview"),
                    "{e}"
                );
            }
            assert_eq!(overlaps(s), "0", "round {round}");
        }
    }
);

on_both!(
    "hp_test_write",
    applications_at_once_to_one_job_serialise,
    |mut f| {
        const N: usize = 6;
        let url = f.url.clone();
        let s = f.store();
        let w = world(s);
        let active = |s: &mut Store, candidate: &Id| {
            first(
                s,
                &format!(
                    "SELECT CAST(count(*) AS text) FROM applications WHERE org_id = 'org_a' \
                     AND candidate_id = '{candidate}' AND job_id = 'job_w' AND status = 'active'"
                ),
            )
        };
        for round in 0..3 {
            let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
            cmd.candidate_id = s
                .create_candidate(A, candidate_cmd(&format!("Applicant {round}")))
                .unwrap()
                .id;
            let candidate = cmd.candidate_id.clone();
            let results = at_once(&url, N, move |store, _| store.apply(A, cmd.clone()));
            one_wins(&results, "candidate_id");
            assert_eq!(active(s, &candidate), "1", "round {round}");
        }
        // Unarchiving: the candidate's archived applications to the job brought back at once,
        // and a new application besides; one of them wins.
        for round in 0..3 {
            let mut cmd = apply_cmd(&w, "2025-03-01T10:00:00Z");
            cmd.candidate_id = s
                .create_candidate(A, candidate_cmd(&format!("Returner {round}")))
                .unwrap()
                .id;
            let candidate = cmd.candidate_id.clone();
            let archived: Vec<Id> = (0..N - 1)
                .map(|_| {
                    let app = s.apply(A, cmd.clone()).unwrap().id;
                    s.archive(
                        A,
                        Archive {
                            application_id: app.clone(),
                            reason: "withdrew".into(),
                            at: at("2025-03-02T10:00:00Z"),
                        },
                    )
                    .unwrap();
                    app
                })
                .collect();
            let results = at_once(&url, N, move |store, i| match archived.get(i) {
                Some(app) => store
                    .unarchive(
                        A,
                        store::Unarchive {
                            application_id: app.clone(),
                        },
                    )
                    .map(|_| ()),
                None => store.apply(A, cmd.clone()).map(|_| ()),
            });
            assert_eq!(
                results.iter().filter(|r| r.is_ok()).count(),
                1,
                "{results:?}"
            );
            for e in results.iter().filter_map(|r| r.as_ref().err()) {
                assert!(matches!(e, WriteError::Conflict { .. }), "{e}");
                assert!(
                    e.to_string().contains("already has an active application"),
                    "{e}"
                );
            }
            assert_eq!(active(s, &candidate), "1", "round {round}");
        }
        assert_exports_validly(s, A);
    }
);

/// The active admins of `org_a`, by id.
fn active_admins(s: &mut Store) -> Vec<String> {
    strings(
        s,
        "SELECT id FROM users WHERE org_id = 'org_a' AND role = 'admin' AND active ORDER BY id",
    )
}

on_both!(
    "hp_test_write",
    two_admins_removing_each_other_at_once_leave_one,
    |mut f| {
        const ROUNDS: usize = 24;
        let url = f.url.clone();
        let s = f.store();
        world(s);
        // Two active admins, the org's only ones.
        let pair = active_users(s, 2);
        let admin = |user: &Id| store::UpdateUser {
            user_id: user.clone(),
            role: Some(Role::Admin),
            active: Some(true),
        };
        for u in &pair {
            s.update_user(A, admin(u)).unwrap();
        }
        for other in active_admins(s) {
            if !pair.iter().any(|u| u.as_str() == other) {
                let cmd = store::UpdateUser {
                    user_id: id(&other),
                    role: Some(Role::Interviewer),
                    active: None,
                };
                s.update_user(A, cmd).unwrap();
            }
        }
        assert_eq!(active_admins(s).len(), 2);
        for round in 0..ROUNDS {
            // Each removes the other at once: both deactivate, both demote, or one of each.
            let users = pair.clone();
            let results = at_once(&url, 2, move |store, i| {
                let demote = match round % 3 {
                    0 => false,
                    1 => true,
                    _ => i == 0,
                };
                let user_id = users[1 - i].clone();
                let cmd = if demote {
                    store::UpdateUser {
                        user_id,
                        role: Some(Role::Recruiter),
                        active: None,
                    }
                } else {
                    store::UpdateUser {
                        user_id,
                        role: None,
                        active: Some(false),
                    }
                };
                store.update_user(A, cmd).map(|_| ())
            });
            assert_eq!(
                results.iter().filter(|r| r.is_ok()).count(),
                1,
                "round {round}: {results:?}"
            );
            for e in results.iter().filter_map(|r| r.as_ref().err()) {
                assert!(
                    matches!(e, WriteError::Conflict { .. })
                        && e.to_string().contains("is the org's last active admin"),
                    "round {round}: {e:?}"
                );
            }
            let left = active_admins(s);
            assert_eq!(left.len(), 1, "round {round}");
            // The removed admin made one again for the next round.
            for u in pair.iter().filter(|u| u.as_str() != left[0]) {
                s.update_user(A, admin(u)).unwrap();
            }
        }
        assert_exports_validly(s, A);
    }
);

on_both!(
    "hp_test_write",
    sessions_created_at_once_all_land_and_each_user_keeps_fifty,
    |mut f| {
        // Sign-ins at once each read the org and then write: on SQLite a deferred transaction
        // upgraded to a write failed at once with "database is locked" when another wrote in
        // between (red team, pass 4: two 500s in 838 right-password sign-ins).
        const THREADS: usize = 6;
        const EACH: usize = 40;
        let url = f.url.clone();
        let s = f.store();
        world(s);
        let users = active_users(s, THREADS);
        let start = std::sync::Arc::new(std::sync::Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (url, start, user) = (url.clone(), start.clone(), users[t].to_string());
                std::thread::spawn(move || {
                    let mut store = Store::open(&url).unwrap();
                    start.wait();
                    (0..EACH)
                        .map(|i| {
                            let at = Instant::parse("2031-01-01T00:00:00Z").unwrap();
                            let session = store::StoredSession {
                                id_hash: format!("{t:02}{i:062}"),
                                org_id: A.into(),
                                user_id: user.clone(),
                                csrf_token: format!("csrf-{t}-{i}"),
                                via: store::SessionVia::Password,
                                created_at: at,
                                expires_at: Instant::parse("2031-01-02T00:00:00Z").unwrap(),
                                token_id: None,
                            };
                            store.create_session(&session).map_err(|e| e.to_string())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for r in h.join().unwrap() {
                assert_eq!(r, Ok(()));
            }
        }
        let n = first(
            s,
            "SELECT CAST(count(*) AS TEXT) FROM console_sessions WHERE org_id = 'org_a'",
        );
        assert_eq!(n, (THREADS * EACH).to_string());

        // One user signing in again and again keeps the newest fifty sessions.
        let user = users[0].to_string();
        for i in 0..2 * store::SESSIONS_PER_USER {
            let at =
                Instant::parse(&format!("2032-01-01T{:02}:{:02}:00Z", i / 60, i % 60)).unwrap();
            s.create_session(&store::StoredSession {
                id_hash: format!("again{i:059}"),
                org_id: A.into(),
                user_id: user.clone(),
                csrf_token: format!("again-{i}"),
                via: store::SessionVia::Password,
                created_at: at,
                expires_at: Instant::parse("2033-01-01T00:00:00Z").unwrap(),
                token_id: None,
            })
            .unwrap();
        }
        let kept = strings(
            s,
            &format!(
                "SELECT csrf_token FROM console_sessions WHERE user_id = '{user}' \
                 ORDER BY created_at"
            ),
        );
        let newest: Vec<String> = (store::SESSIONS_PER_USER..2 * store::SESSIONS_PER_USER)
            .map(|i| format!("again-{i}"))
            .collect();
        assert_eq!(kept, newest);
        // The other users' sessions are untouched.
        let others = first(
            s,
            &format!(
                "SELECT CAST(count(*) AS TEXT) FROM console_sessions WHERE user_id <> '{user}'"
            ),
        );
        assert_eq!(others, ((THREADS - 1) * EACH).to_string());
    }
);
