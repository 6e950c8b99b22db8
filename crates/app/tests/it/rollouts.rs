//! Rollout plans through `app`: managed by the same people as flags (the operator, or an admin
//! of the operator org; a tenant's admin and a recruiter are refused); a plan drives the flag's
//! org rollout through the flag's history; the driver advances on figures summed over the
//! replicas, halts and rolls back to 0% when the flagged cohort is worse beyond the margin,
//! and records the figures; pause, resume and abort follow their phases. On SQLite always, on
//! PostgreSQL when `HIREPLANE_TEST_POSTGRES` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use app::flags::{FlagError, FlagsActor};
use app::{AppError, Services};
use common::Fresh;
use flags::rollout::{ErrorGuard, Guard, Phase, Plan};
use store::{CohortCounts, FlagKind};

const ORG: &str = "rollorg";

fn t(s: i64) -> domain::Instant {
    domain::Instant::from_micros(1_780_000_000_000_000 + s * 1_000_000).unwrap()
}

fn plan() -> Plan {
    Plan {
        steps: vec![10, 50, 100],
        hold_ms: 60_000,
        guard: Guard {
            min_requests: 100,
            errors: Some(ErrorGuard {
                slo: "api-availability".into(),
                margin_ppm: 5_000,
            }),
            latency: None,
        },
    }
}

fn percent_of(s: &mut store::Store, flag: &str) -> String {
    let d = s.flag(FlagKind::Flag, flag).unwrap().unwrap().definition;
    let v: serde_json::Value = serde_json::from_str(&d).unwrap();
    v["strategies"][0]["parameters"]["rollout"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn report(s: &mut store::Store, flag: &str, revision: i64, on: (i64, i64), off: (i64, i64)) {
    let c = |cohort, (requests, errors)| CohortCounts {
        flag,
        revision,
        cohort,
        requests,
        errors,
        latency_requests: requests,
        slow: 0,
    };
    s.report_rollout_counts("replica-a", &[c("on", on), c("off", off)], t(0))
        .unwrap();
}

fn rollouts(mut f: Fresh) {
    let g = common::generate(ORG, 40, 5);
    f.import(g.dir.path());
    let s = f.store();
    let users = s.active_users(ORG).unwrap();
    let admin = users.iter().find(|u| u.role == "admin").unwrap().id.clone();
    let recruiter = users
        .iter()
        .find(|u| u.role == "recruiter")
        .unwrap()
        .id
        .clone();
    let services = Services::new();
    let op = FlagsActor::Operator;
    services
        .set_flag(
            s,
            op,
            "f",
            r#"{"name":"f","enabled":false}"#,
            "f.json",
            "new",
            t(0),
        )
        .unwrap();

    // Who may: not a tenant's admin (no operator org, or another), not a recruiter of it.
    let admin_access = services.access(s, ORG, &admin).unwrap();
    let recruiter_access = services.access(s, ORG, &recruiter).unwrap();
    for actor in [
        FlagsActor::User(&admin_access, None),
        FlagsActor::User(&admin_access, Some("other")),
        FlagsActor::User(&recruiter_access, Some(ORG)),
    ] {
        let e = services
            .set_rollout_plan(s, actor, "f", &plan(), "go", t(0))
            .unwrap_err();
        assert!(matches!(&e, AppError::Forbidden { .. }), "{e}");
        assert!(matches!(
            services.rollout_status(s, actor, t(0)),
            Err(AppError::Forbidden { .. })
        ));
    }
    assert!(s.rollouts().unwrap().is_empty());
    // A plan that does not hold names its field; a flag with other strategies is refused.
    let mut bad = plan();
    bad.steps = vec![50, 10];
    let e = services
        .set_rollout_plan(s, op, "f", &bad, "go", t(0))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`steps[1]`: 10 is not above the step before it"
    );
    services
        .set_flag(
            s,
            op,
            "other",
            r#"{"name":"other","enabled":true,"strategies":[{"name":"default"}]}"#,
            "o.json",
            "new",
            t(0),
        )
        .unwrap();
    let e = services
        .set_rollout_plan(s, op, "other", &plan(), "go", t(0))
        .unwrap_err();
    assert!(
        matches!(&e, AppError::Flags(b) if matches!(**b, FlagError::NotRolloutShaped(_))),
        "{e}"
    );

    // An admin of the operator org starts it: the flag is at 10%, in the flag's history.
    let as_operator_admin = FlagsActor::User(&admin_access, Some(ORG));
    let rev = services
        .set_rollout_plan(s, as_operator_admin, "f", &plan(), "go", t(0))
        .unwrap();
    assert_eq!(percent_of(s, "f"), "10");
    let h = s.flag_history(Some((FlagKind::Flag, "f")), 1).unwrap();
    assert_eq!(h[0].reason, "rollout plan: go");
    assert_eq!(h[0].changed_by, format!("{ORG}/{admin}"));
    // A second plan while it runs: refused.
    let e = services
        .set_rollout_plan(s, op, "f", &plan(), "again", t(1))
        .unwrap_err();
    assert!(
        matches!(&e, AppError::Flags(b) if matches!(**b, FlagError::RolloutActive(_))),
        "{e}"
    );
    assert_eq!(
        services.measured_rollouts(s).unwrap()[0].revision,
        rev,
        "measured at its revision"
    );
    // While the plan runs, only the plan changes the flag: a hand-made change, a removal or an
    // import of another definition is refused, and the flag stays where the plan put it; the
    // same definition imported back (an export) changes nothing and passes.
    let active = |e: &AppError| matches!(e, AppError::Flags(b) if matches!(**b, FlagError::RolloutActive(_)));
    let e = services
        .set_flag(
            s,
            op,
            "f",
            r#"{"name":"f","enabled":true}"#,
            "f.json",
            "by hand",
            t(2),
        )
        .unwrap_err();
    assert!(active(&e), "{e}");
    assert!(e.to_string().contains("abort the plan first"), "{e}");
    let e = services.remove_flag(s, op, "f", "gone", t(2)).unwrap_err();
    assert!(active(&e), "{e}");
    let exported = services.export_flags(s, op, t(2)).unwrap();
    let mut changed = exported.clone();
    changed["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["name"] == "f")
        .unwrap()["enabled"] = serde_json::json!(false);
    let e = services
        .import_flags(s, op, &changed.to_string(), "all.json", "sync", t(2))
        .unwrap_err();
    assert!(active(&e), "{e}");
    assert_eq!(
        services
            .import_flags(s, op, &exported.to_string(), "all.json", "sync", t(2))
            .unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(percent_of(s, "f"), "10");

    // Healthy figures, but the hold has not passed: nothing moves.
    report(s, "f", rev, (200, 0), (2000, 2));
    assert!(services.drive_rollouts(s, t(59)).unwrap().is_empty());
    // After the hold: 50%; the history keeps the figures.
    let driven = services.drive_rollouts(s, t(60)).unwrap();
    assert_eq!(driven.len(), 1, "{driven:?}");
    assert_eq!(percent_of(s, "f"), "50");
    let e = &s.rollout_history(Some("f"), 1).unwrap()[0];
    assert_eq!(
        (e.action.as_str(), e.by.as_str(), e.percent),
        ("advance", "rollout", 50)
    );
    let figures: serde_json::Value = serde_json::from_str(e.figures.as_ref().unwrap()).unwrap();
    assert_eq!(figures["on"]["requests"], 200);
    assert_eq!(figures["off"]["errors"], 2);
    // The new step is judged on its own requests: the old revision's counts are gone.
    let status = services.rollout_status(s, op, t(61)).unwrap();
    assert_eq!(status[0].figures.on.requests, 0);
    let rev = status[0].rollout.revision;

    // Pause, then resume: the step holds again from the resume.
    services.pause_rollout(s, op, "f", "look", t(70)).unwrap();
    report(s, "f", rev + 1, (500, 50), (500, 0));
    assert!(services.drive_rollouts(s, t(200)).unwrap().is_empty());
    assert_eq!(percent_of(s, "f"), "50");
    let e = services
        .pause_rollout(s, op, "f", "again", t(71))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot pause the rollout plan of flag `f`: it is paused"
    );
    let r = services.resume_rollout(s, op, "f", "fine", t(300)).unwrap();
    assert_eq!((r.state.phase, r.percent), (Phase::Running, 50));

    // The flagged cohort fails 5%, the control 0.1%: halt before the hold, back to 0%.
    report(s, "f", r.revision, (100, 5), (1000, 1));
    let driven = services.drive_rollouts(s, t(301)).unwrap();
    assert!(
        matches!(
            &driven[0].decision,
            Ok(flags::rollout::Decision::Halt { .. })
        ),
        "{driven:?}"
    );
    assert_eq!(percent_of(s, "f"), "0");
    let status = services.rollout_status(s, op, t(302)).unwrap();
    assert_eq!(status[0].rollout.state.phase, Phase::Halted);
    assert!(services.measured_rollouts(s).unwrap().is_empty());
    let e = &s.rollout_history(Some("f"), 1).unwrap()[0];
    assert_eq!((e.action.as_str(), e.phase.as_str()), ("halt", "halted"));
    assert!(
        e.reason
            .contains("errors: on 5/100 (5.000%), off 1/1000 (0.100%)"),
        "{}",
        e.reason
    );
    // Aborted after the halt; a new plan may start then.
    services
        .abort_rollout(s, op, "f", "give up", t(400))
        .unwrap();
    assert_eq!(percent_of(s, "f"), "0");
    services
        .set_rollout_plan(s, op, "f", &plan(), "retry", t(500))
        .unwrap();
    assert_eq!(percent_of(s, "f"), "10");
    let actions: Vec<String> = s
        .rollout_history(Some("f"), 20)
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "plan", "advance", "pause", "resume", "halt", "abort", "plan"
        ]
    );

    // A flag removed under its running plan (not through `app`, which refuses it, but as a
    // database edit or an older binary could): that plan cannot be driven, the others are.
    for flag in ["g", "h"] {
        services
            .set_flag(
                s,
                op,
                flag,
                &format!(r#"{{"name":"{flag}","enabled":false}}"#),
                "x.json",
                "new",
                t(500),
            )
            .unwrap();
        services
            .set_rollout_plan(s, op, flag, &plan(), "go", t(500))
            .unwrap();
    }
    assert!(services.remove_flag(s, op, "g", "gone", t(501)).is_err());
    s.set_flags(
        &[store::NewFlagChange {
            kind: FlagKind::Flag,
            name: "g",
            definition: None,
        }],
        store::FlagAuthor {
            by: "dba",
            reason: "gone",
            at: t(501),
        },
    )
    .unwrap();
    for flag in ["g", "h"] {
        let rev = s.rollout(flag).unwrap().unwrap().revision;
        report(s, flag, rev, (200, 0), (200, 0));
    }
    let mut driven = services.drive_rollouts(s, t(560)).unwrap();
    driven.retain(|d| d.flag != "f");
    assert_eq!(driven.len(), 2, "{driven:?}");
    assert_eq!(driven[0].flag, "g");
    assert_eq!(driven[0].decision, Err("no flag `g`".to_owned()));
    assert_eq!(
        driven[1].decision,
        Ok(flags::rollout::Decision::Advance {
            step: 1,
            percent: 50
        })
    );
    assert_eq!(percent_of(s, "h"), "50");
    // The plan of the removed flag can still be aborted.
    let r = services
        .abort_rollout(s, op, "g", "flag gone", t(570))
        .unwrap();
    assert_eq!(r.state.phase, Phase::Aborted);
    assert!(s.flag(FlagKind::Flag, "g").unwrap().is_none());

    // Canaries: a flag for canary replicas is on only in a canary's contexts.
    services
        .set_flag(
            s,
            op,
            "canary-only",
            r#"{"name":"canary-only","enabled":true,"strategies":[{"name":"flexibleRollout",
              "parameters":{"rollout":"100","stickiness":"orgId","groupId":"canary-only"},
              "constraints":[{"contextName":"canary","operator":"IN","values":["true"]}]}]}"#,
            "c.json",
            "canaries first",
            t(600),
        )
        .unwrap();
    let loaded = services.load_flags(s).unwrap();
    for canary in [true, false] {
        let d = app::flags::Deployment {
            replica_version: "0.1.0".into(),
            environment: None,
            operator_org: None,
            canary,
        };
        let states = services.evaluate_flags(&loaded.flags, &recruiter_access, &d, t(600));
        let state = states.iter().find(|f| f.name == "canary-only").unwrap();
        assert_eq!(state.enabled, canary);
    }
}

#[test]
fn rollouts_on_sqlite() {
    rollouts(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn rollouts_on_postgres() {
    rollouts(common::postgres());
}
