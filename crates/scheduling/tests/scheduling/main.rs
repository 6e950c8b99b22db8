//! Integration tests of the scheduling engine: one binary, one module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod brute;
mod calendars;
mod explain;
mod extremes;
mod large;
mod repair;
mod requests;
mod training;

use scheduling::{Request, ScheduleOption, Solution};
use serde_json::Value;

/// Builds a request from JSON (must be valid).
pub fn request(v: Value) -> Request {
    scheduling::parse_request(&v.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// The ordering key of an option's objective.
pub fn key(o: &ScheduleOption) -> (String, u32, u32, u32) {
    (
        o.objective.end.clone(),
        o.objective.load,
        o.objective.idle_minutes,
        o.objective.trainees_missing,
    )
}

/// Solves and checks every option with the independent checker, the ranking and distinctness.
pub fn solve(r: &Request) -> Solution {
    let s = scheduling::solve(r).unwrap_or_else(|e| panic!("{e}"));
    assert_options_sound(r, s.options());
    s
}

pub fn assert_options_sound(r: &Request, options: &[ScheduleOption]) {
    for (i, o) in options.iter().enumerate() {
        if let Err(v) = scheduling::check(r, o) {
            panic!(
                "option {} breaks rules: {v:?}\n{}",
                i + 1,
                serde_json::to_string_pretty(o).unwrap()
            );
        }
        assert_eq!(o.rank as usize, i + 1);
    }
    for w in options.windows(2) {
        let (a, b) = (key(&w[0]), key(&w[1]));
        // Ends compare as instants: same format, same length, so strings compare.
        assert!(a <= b, "options out of order: {a:?} then {b:?}");
    }
    for i in 0..options.len() {
        for j in i + 1..options.len() {
            let same = options[i]
                .sessions
                .iter()
                .zip(&options[j].sessions)
                .all(|(x, y)| {
                    let mut px: Vec<&String> = x.seats.iter().flatten().collect();
                    let mut py: Vec<&String> = y.seats.iter().flatten().collect();
                    px.sort();
                    py.sort();
                    x.start == y.start && px == py && x.trainee == y.trainee
                });
            assert!(!same, "options {} and {} are the same", i + 1, j + 1);
        }
    }
}

/// The reasons of an infeasible solution.
pub fn reasons(s: &Solution) -> Vec<String> {
    match s {
        Solution::Infeasible { reasons } => reasons.clone(),
        Solution::Options { options, .. } => {
            panic!("expected infeasible, got {} options", options.len())
        }
    }
}

/// A standard interviewer working 09:00-17:00 local Monday to Friday.
pub fn person(id: &str, zone: &str) -> Value {
    let day = serde_json::json!([["09:00", "17:00"]]);
    serde_json::json!({
        "id": id, "zone": zone,
        "working_hours": { "mon": day, "tue": day, "wed": day, "thu": day, "fri": day }
    })
}
