//! Rollout plans on both backends (migration 16): a write of a plan checks the revision read,
//! writes the plan, its history and the flag's definition in one transaction (the flag's
//! history and version move with it); cohort counts upserted per replica are summed per
//! revision, and older revisions' counts go when the plan moves; one lease holder at a time.
//! SQLite tests always run; PostgreSQL tests run when `HIREPLANE_TEST_POSTGRES` holds a server
//! URL, each in a freshly created database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use store::{CohortCounts, CohortSums, FlagAuthor, FlagKind, NewFlagChange, RolloutWrite};

use crate::common;
use common::{Fresh, on_both};

fn at(s: i64) -> domain::Instant {
    domain::Instant::from_micros(1_780_000_000_000_000 + s * 1_000_000).unwrap()
}

fn write<'a>(
    expected: Option<i64>,
    phase: &'a str,
    step: i64,
    definition: Option<&'a str>,
    t: i64,
) -> RolloutWrite<'a> {
    RolloutWrite {
        flag: "f",
        plan: r#"{"steps":[1,5]}"#,
        phase,
        step,
        step_started_at: at(t),
        expected_revision: expected,
        action: "advance",
        percent: 5,
        figures: Some(r#"{"on":{}}"#),
        definition,
        author: FlagAuthor {
            by: "rollout",
            reason: "why",
            at: at(t),
        },
    }
}

fn counts(
    revision: i64,
    cohort: &'static str,
    requests: i64,
    errors: i64,
) -> CohortCounts<'static> {
    CohortCounts {
        flag: "f",
        revision,
        cohort,
        requests,
        errors,
        latency_requests: requests,
        slow: 1,
    }
}

on_both!(
    "hp_rollouts",
    rollout_plans_move_with_their_flag,
    |mut f: Fresh| {
        let s = f.store();
        s.set_flags(
            &[NewFlagChange {
                kind: FlagKind::Flag,
                name: "f",
                definition: Some(r#"{"name":"f","enabled":false}"#),
            }],
            FlagAuthor {
                by: "cli",
                reason: "new",
                at: at(0),
            },
        )
        .unwrap();
        assert!(s.rollouts().unwrap().is_empty());
        // The first write expects no plan; one that expects a revision is refused, writing nothing.
        assert_eq!(
            s.write_rollout(write(Some(1), "running", 0, None, 1))
                .unwrap(),
            None
        );
        assert!(s.rollout("f").unwrap().is_none());
        let d1 = r#"{"name":"f","enabled":true,"rollout":1}"#;
        assert_eq!(
            s.write_rollout(write(None, "running", 0, Some(d1), 1))
                .unwrap(),
            Some(1)
        );
        assert_eq!(
            s.write_rollout(write(None, "running", 0, Some(d1), 1))
                .unwrap(),
            None
        );
        let r = s.rollout("f").unwrap().unwrap();
        assert_eq!((r.phase.as_str(), r.step, r.revision), ("running", 0, 1));
        assert_eq!(
            (r.step_started_at, r.updated_by.as_str()),
            (at(1), "rollout")
        );
        // The flag changed through its own history, in the same transaction.
        assert_eq!(s.flags_version().unwrap(), 2);
        let h = s.flag_history(Some((FlagKind::Flag, "f")), 5).unwrap();
        assert_eq!(h[0].after.as_deref(), Some(d1));
        assert_eq!(
            (h[0].changed_by.as_str(), h[0].reason.as_str()),
            ("rollout", "rollout advance: why")
        );
        // Two replicas report their counts of revision 1; the sums are per cohort.
        s.report_rollout_counts(
            "r1",
            &[counts(1, "on", 10, 1), counts(1, "off", 100, 0)],
            at(2),
        )
        .unwrap();
        s.report_rollout_counts("r2", &[counts(1, "on", 5, 1)], at(2))
            .unwrap();
        // A replica's later report replaces its earlier one (running totals).
        s.report_rollout_counts(
            "r1",
            &[counts(1, "on", 12, 2), counts(1, "off", 120, 0)],
            at(3),
        )
        .unwrap();
        let (on, off) = s.rollout_counts("f", 1).unwrap();
        assert_eq!(
            on,
            CohortSums {
                requests: 17,
                errors: 3,
                latency_requests: 17,
                slow: 2
            }
        );
        assert_eq!(off.requests, 120);
        assert_eq!(
            s.rollout_counts("f", 2).unwrap(),
            (CohortSums::default(), CohortSums::default())
        );
        // The plan moves (revision 2) without a definition change: revision 1's counts are gone.
        assert_eq!(
            s.write_rollout(write(Some(1), "paused", 0, None, 4))
                .unwrap(),
            Some(2)
        );
        assert_eq!(s.rollout_counts("f", 1).unwrap().0, CohortSums::default());
        assert_eq!(s.flags_version().unwrap(), 2);
        let events = s.rollout_history(Some("f"), 10).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].phase.as_str(), events[0].at), ("paused", at(4)));
        assert_eq!(events[1].figures.as_deref(), Some(r#"{"on":{}}"#));
        assert!(s.rollout_history(Some("g"), 10).unwrap().is_empty());
        assert_eq!(s.rollout_history(None, 1).unwrap().len(), 1);
    }
);

on_both!(
    "hp_rollouts",
    one_replica_holds_the_lease,
    |mut f: Fresh| {
        let s = f.store();
        assert!(s.take_lease("rollouts", "a", at(0), at(3)).unwrap());
        // Held by `a`: `b` does not get it; `a` renews it.
        assert!(!s.take_lease("rollouts", "b", at(1), at(4)).unwrap());
        assert!(s.take_lease("rollouts", "a", at(2), at(5)).unwrap());
        assert!(!s.take_lease("rollouts", "b", at(4), at(7)).unwrap());
        // Expired: `b` takes it; `a` no longer holds it.
        assert!(s.take_lease("rollouts", "b", at(6), at(9)).unwrap());
        assert!(!s.take_lease("rollouts", "a", at(7), at(10)).unwrap());
        // Given up by its holder (not by another): free at once.
        s.release_lease("rollouts", "a").unwrap();
        assert!(!s.take_lease("rollouts", "a", at(7), at(10)).unwrap());
        s.release_lease("rollouts", "b").unwrap();
        assert!(s.take_lease("rollouts", "a", at(7), at(10)).unwrap());
        // Another lease name is another lease.
        assert!(s.take_lease("other", "b", at(7), at(10)).unwrap());
    }
);
