//! Destination statuses on both backends (migration 21): each replica upserts its view of each
//! external destination, rows not written for a while are forgotten, and invalid reports write
//! nothing. SQLite tests always run; PostgreSQL tests run when `HIREPLANE_TEST_POSTGRES` holds a
//! server URL, each in a freshly created database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use store::StoreError;
use store::destinations::{BreakerState, DestinationReport};

use crate::common;
use common::{Fresh, on_both};

fn t(ms: i64) -> domain::Instant {
    domain::Instant::from_micros(1_780_000_000_000_000 + ms * 1000).unwrap()
}

fn report(destination: &str, state: BreakerState) -> DestinationReport {
    DestinationReport {
        destination: destination.into(),
        state,
        failure_rate: Some(0.75),
        window_calls: 4,
        window_failures: 3,
        in_flight: 1,
        attempts: 120,
        failures: 9,
        rejected: 40,
        retry_in: (state == BreakerState::Open).then_some(Duration::from_millis(29_500)),
        last_error: Some("the server answered 503".into()),
        last_error_at: Some(t(-500)),
    }
}

const HOOKS: &str = "https://hooks.example:443";
const SMTP: &str = "smtp://relay.example:25";
const HOUR: Duration = Duration::from_secs(3600);

on_both!("hp_dest", replicas_write_and_read_their_views, |mut f| {
    let s = f.store();
    assert!(s.destination_statuses().unwrap().is_empty());
    let open = report(HOOKS, BreakerState::Open);
    let closed = DestinationReport {
        failure_rate: None,
        window_calls: 0,
        window_failures: 0,
        last_error: None,
        last_error_at: None,
        attempts: u64::MAX,
        ..report(SMTP, BreakerState::Closed)
    };
    s.record_destinations("replica-b", t(0), &[open.clone(), closed.clone()], HOUR)
        .unwrap();
    s.record_destinations(
        "replica-a",
        t(10),
        &[report(HOOKS, BreakerState::HalfOpen)],
        HOUR,
    )
    .unwrap();
    let all = s.destination_statuses().unwrap();
    let keys: Vec<_> = all
        .iter()
        .map(|d| {
            (
                d.report.destination.as_str(),
                d.replica_id.as_str(),
                d.report.state,
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (HOOKS, "replica-a", BreakerState::HalfOpen),
            (HOOKS, "replica-b", BreakerState::Open),
            (SMTP, "replica-b", BreakerState::Closed),
        ]
    );
    assert_eq!(all[1].report, open, "read back as written");
    assert_eq!(all[1].updated_at, t(0));
    // Counts beyond i64 are kept at its maximum.
    assert_eq!(all[2].report.attempts, i64::MAX as u64);
    assert_eq!(all[2].report.failure_rate, None);

    // An update replaces the replica's row.
    let recovered = DestinationReport {
        retry_in: None,
        ..report(HOOKS, BreakerState::Closed)
    };
    s.record_destinations(
        "replica-b",
        t(5_000),
        std::slice::from_ref(&recovered),
        HOUR,
    )
    .unwrap();
    let all = s.destination_statuses().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].report, recovered);
    assert_eq!(all[1].updated_at, t(5_000));
    // replica-b did not report SMTP this time: its row stays until forgotten.
    assert_eq!(all[2].updated_at, t(0));
});

on_both!(
    "hp_dest",
    rows_not_written_for_a_while_are_forgotten,
    |mut f| {
        let s = f.store();
        let forget = Duration::from_secs(60);
        s.record_destinations("dead", t(0), &[report(HOOKS, BreakerState::Open)], forget)
            .unwrap();
        s.record_destinations(
            "live",
            t(60_000),
            &[report(HOOKS, BreakerState::Closed)],
            forget,
        )
        .unwrap();
        assert_eq!(
            s.destination_statuses().unwrap().len(),
            2,
            "not older than 60 s"
        );
        s.record_destinations(
            "live",
            t(60_001),
            &[report(HOOKS, BreakerState::Closed)],
            forget,
        )
        .unwrap();
        let all = s.destination_statuses().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].replica_id, "live");
    }
);

on_both!("hp_dest", invalid_reports_write_nothing, |mut f| {
    let s = f.store();
    let good = report(HOOKS, BreakerState::Closed);
    for (bad, message) in [
        (
            DestinationReport {
                failure_rate: Some(1.5),
                ..report(SMTP, BreakerState::Closed)
            },
            "destination status: `smtp://relay.example:25`: failure rate `1.5` is not between 0 and 1",
        ),
        (
            DestinationReport {
                failure_rate: Some(f64::NAN),
                ..report(SMTP, BreakerState::Closed)
            },
            "destination status: `smtp://relay.example:25`: failure rate `NaN` is not between 0 and 1",
        ),
        (
            DestinationReport {
                window_failures: 5,
                ..report(SMTP, BreakerState::Closed)
            },
            "destination status: `smtp://relay.example:25`: 5 failures in a window of 4 calls",
        ),
        (
            DestinationReport {
                destination: String::new(),
                ..report(SMTP, BreakerState::Closed)
            },
            "destination status: a destination must not be empty",
        ),
    ] {
        let err = s
            .record_destinations("r", t(0), &[good.clone(), bad], HOUR)
            .unwrap_err();
        assert!(matches!(err, StoreError::Destination(_)), "{err:?}");
        assert_eq!(err.to_string(), message);
    }
    let err = s
        .record_destinations("", t(0), std::slice::from_ref(&good), HOUR)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "destination status: replica id must not be empty"
    );
    let err = s
        .record_destinations("r", t(0), &[good], Duration::from_secs(u64::MAX))
        .unwrap_err();
    assert!(err.to_string().contains("forget_after"), "{err}");
    assert!(
        s.destination_statuses().unwrap().is_empty(),
        "nothing written"
    );
});
