//! Extreme values never panic: requests with instants at the ends of time, huge horizons,
//! notices, durations, gaps, limits and counts are refused naming the field, or solved; every
//! option of a solved one passes the checker; and the checker itself survives any option,
//! however far its times lie (the API checks options sent by clients).

use proptest::prelude::*;
use serde_json::{Value, json};

use super::requests::base;

const INSTANTS: &[&str] = &[
    "9999-12-30T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
    "-009999-01-01T00:00:00Z",
    "-009999-01-01T00:00:00+23:59",
    "0000-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "8999-12-31T23:59:59Z",
    "8999-12-31T00:00:00+14:00",
    "2026-03-09T08:00:00Z",
    "2026-03-09T16:00:00Z",
];

const NUMBERS: &[u64] = &[
    0,
    1,
    15,
    59,
    60,
    366,
    367,
    1440,
    1441,
    10_080,
    527_040,
    10_000_000,
    u32::MAX as u64,
];

/// Where a value goes: a JSON pointer, and whether it takes an instant or a number.
const NUMBER_FIELDS: &[&str] = &[
    "/grid_minutes",
    "/options",
    "/candidate/horizon_days",
    "/candidate/min_notice_minutes",
    "/loop/sessions/0/duration_minutes",
    "/loop/sessions/1/duration_minutes",
    "/loop/min_gap_minutes",
    "/loop/max_gap_minutes",
    "/loop/max_span_minutes",
    "/loop/sessions/0/seats/0/count",
    "/interviewers/0/max_per_day",
    "/interviewers/1/max_per_week",
];
const INSTANT_FIELDS: &[&str] = &[
    "/now",
    "/candidate/windows/0/0",
    "/candidate/windows/0/1",
    "/interviewers/0/busy/0/0",
    "/interviewers/0/busy/0/1",
    "/interviewers/1/booked/0/0",
    "/interviewers/1/booked/0/1",
];

#[derive(Debug, Clone)]
enum Change {
    Number(usize, usize),
    Instant(usize, usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..NUMBER_FIELDS.len(), 0..NUMBERS.len()).prop_map(|(f, v)| Change::Number(f, v)),
        (0..INSTANT_FIELDS.len(), 0..INSTANTS.len()).prop_map(|(f, v)| Change::Instant(f, v)),
    ]
}

fn extreme_request(changes: &[Change]) -> Value {
    let mut v = base();
    v["interviewers"][0]["busy"] = json!([["2026-03-09T10:00:00Z", "2026-03-09T11:00:00Z"]]);
    v["interviewers"][1]["booked"] = json!([["2026-03-09T09:00:00Z", "2026-03-09T09:30:00Z"]]);
    for c in changes {
        let (pointer, value) = match *c {
            Change::Number(f, n) => (NUMBER_FIELDS[f], json!(NUMBERS[n])),
            Change::Instant(f, i) => (INSTANT_FIELDS[f], json!(INSTANTS[i])),
        };
        match v.pointer_mut(pointer) {
            Some(slot) => *slot = value,
            None => {
                let (parent, field) = pointer.rsplit_once('/').unwrap();
                v.pointer_mut(parent).unwrap()[field] = value;
            }
        }
    }
    v
}

/// An option of `r`'s shape with every session from `start` to `end`.
fn option_at(r: &scheduling::Request, start: &str, end: &str) -> scheduling::ScheduleOption {
    scheduling::ScheduleOption {
        rank: 1,
        objective: scheduling::Objective {
            end: end.to_owned(),
            load: 0,
            idle_minutes: 0,
            trainees_missing: 0,
        },
        sessions: r
            .interview_loop
            .sessions
            .iter()
            .map(|s| scheduling::ScheduledSession {
                session: s.id.clone(),
                start: start.to_owned(),
                end: end.to_owned(),
                seats: s
                    .seats
                    .iter()
                    .map(|seat| seat.person.iter().cloned().collect())
                    .collect(),
                trainee: None,
            })
            .collect(),
    }
}

/// Checks options at the ends of time against the request as read (validated or not: the
/// checker is public), then solves it when valid and checks every option.
fn survive(v: &Value) {
    let Ok(read) = serde_json::from_value::<scheduling::Request>(v.clone()) else {
        return;
    };
    for a in INSTANTS {
        for b in INSTANTS {
            let _ = scheduling::check(&read, &option_at(&read, a, b));
        }
    }
    let Ok(r) = scheduling::parse_request(&v.to_string()) else {
        return;
    };
    let Ok(solution) = scheduling::solve(&r) else {
        return;
    };
    super::assert_options_sound(&r, solution.options());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn extreme_values_never_panic(changes in proptest::collection::vec(change(), 1..4)) {
        survive(&extreme_request(&changes));
    }
}

#[test]
fn every_single_extreme_value_never_panics() {
    for f in 0..NUMBER_FIELDS.len() {
        for n in 0..NUMBERS.len() {
            survive(&extreme_request(&[Change::Number(f, n)]));
        }
    }
    for f in 0..INSTANT_FIELDS.len() {
        for i in 0..INSTANTS.len() {
            survive(&extreme_request(&[Change::Instant(f, i)]));
        }
    }
}

#[test]
fn instants_outside_the_supported_years_are_refused_naming_the_field() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "/now",
            "9999-12-30T00:00:00Z",
            "now: `9999-12-30T00:00:00Z` is outside the years 1970 to 8999",
        ),
        (
            "/candidate/windows/0/1",
            "0001-01-01T00:00:00Z",
            "candidate.windows[0][1]: `0001-01-01T00:00:00Z` is outside the years 1970 to 8999",
        ),
        (
            "/interviewers/0/busy/0/0",
            "1969-12-31T23:59:59Z",
            "interviewers[0].busy[0][0]: `1969-12-31T23:59:59Z` is outside the years 1970 to 8999",
        ),
    ];
    for (pointer, value, want) in cases {
        let mut v = extreme_request(&[]);
        *v.pointer_mut(pointer).unwrap() = json!(value);
        let got = scheduling::parse_request(&v.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            got.starts_with(want),
            "{pointer}:\n got: {got}\nwant: {want}"
        );
    }
}

#[test]
fn limits_are_refused_naming_the_field() {
    let cases: &[(&str, Value, &str)] = &[
        (
            "/candidate/horizon_days",
            json!(10_000_000),
            "candidate.horizon_days: must be between 1 and 366",
        ),
        (
            "/interviewers/0/max_per_day",
            json!(1441),
            "interviewers[0].max_per_day: must be at most 1440",
        ),
        (
            "/interviewers/1/max_per_week",
            json!(u32::MAX),
            "interviewers[1].max_per_week: must be at most 10080",
        ),
        (
            "/options",
            json!(1001),
            "options: must be between 1 and 1000",
        ),
    ];
    for (pointer, value, want) in cases {
        let mut v = extreme_request(&[]);
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        v.pointer_mut(parent).unwrap()[field] = value.clone();
        let got = scheduling::parse_request(&v.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            got.starts_with(want),
            "{pointer}:\n got: {got}\nwant: {want}"
        );
    }
    // Too many of anything.
    let mut v = extreme_request(&[]);
    v["candidate"]["windows"] = json!(vec![["2026-03-09T08:00:00Z", "2026-03-09T16:00:00Z"]; 1001]);
    let got = scheduling::parse_request(&v.to_string())
        .unwrap_err()
        .to_string();
    assert_eq!(got, "candidate.windows: at most 1000 windows");
    let mut v = extreme_request(&[]);
    v["interviewers"][2]["busy"] = json!(vec![
        ["2026-03-09T08:00:00Z", "2026-03-09T08:01:00Z"];
        20_001
    ]);
    let got = scheduling::parse_request(&v.to_string())
        .unwrap_err()
        .to_string();
    assert_eq!(
        got,
        "interviewers[2]: at most 20000 busy blocks and booked interviews together"
    );
}

/// The horizon of a plan is computed only from validated values.
#[test]
fn the_horizon_is_validated_before_it_is_computed() {
    assert!(scheduling::request::horizon("9999-12-30T00:00:00Z", 14).is_err());
    assert!(scheduling::request::horizon("2026-03-01T00:00:00Z", 10_000_000).is_err());
    assert!(scheduling::request::horizon("2026-03-01T00:00:00Z", 0).is_err());
    let (a, b) = scheduling::request::horizon("8999-12-31T23:59:59Z", 366).unwrap();
    assert_eq!(b.duration_since(a).as_hours(), 366 * 24);
}
