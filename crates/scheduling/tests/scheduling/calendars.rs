//! Calendars: zones with odd offsets, daylight-saving weeks (US and Europe change on different
//! dates), busy time, load limits, inactive people.

use jiff::civil::date;
use jiff::tz::TimeZone;
use scheduling::interval::{Interval, IntervalSet, timestamp, working_intervals};
use serde_json::{Value, json};

use super::{person, request, solve};

/// A one-session loop with the given person seats, candidate free all of `day` (UTC).
fn loop_with(people: Vec<Value>, seats: Value, minutes: u32, now: &str, days: [&str; 2]) -> Value {
    json!({
        "now": now,
        "options": 3,
        "loop": { "sessions": [ { "id": "s", "duration_minutes": minutes, "seats": seats } ] },
        "candidate": { "zone": "UTC", "windows": [[days[0], days[1]]] , "horizon_days": 40 },
        "interviewers": people,
        "pools": []
    })
}

fn first_start(v: Value) -> Option<String> {
    let r = request(v);
    solve(&r)
        .options()
        .first()
        .map(|o| o.sessions[0].start.clone())
}

#[test]
fn earliest_start_across_zones_and_daylight_saving_weeks() {
    // (zones, duration, day, expected first start)
    let cases: &[(&[&str], u32, &str, Option<&str>)] = &[
        // US on daylight time since 2026-03-08, Europe not yet: New York 13-21Z, Berlin 08-16Z.
        (
            &["America/New_York", "Europe/Berlin"],
            60,
            "2026-03-09",
            Some("2026-03-09T13:00:00Z"),
        ),
        (
            &["America/New_York", "Europe/Berlin"],
            180,
            "2026-03-09",
            Some("2026-03-09T13:00:00Z"),
        ),
        // The week before: New York 14-22Z.
        (
            &["America/New_York", "Europe/Berlin"],
            60,
            "2026-03-06",
            Some("2026-03-06T14:00:00Z"),
        ),
        (
            &["America/New_York", "Europe/Berlin"],
            180,
            "2026-03-06",
            None,
        ),
        // Both on daylight time (Europe changed 2026-03-29): New York 13-21Z, Berlin 07-15Z.
        (
            &["America/New_York", "Europe/Berlin"],
            120,
            "2026-03-30",
            Some("2026-03-30T13:00:00Z"),
        ),
        (
            &["America/New_York", "Europe/Berlin"],
            180,
            "2026-03-30",
            None,
        ),
        (
            &["Europe/Berlin"],
            60,
            "2026-03-30",
            Some("2026-03-30T07:00:00Z"),
        ),
        (
            &["Europe/Berlin"],
            60,
            "2026-03-27",
            Some("2026-03-27T08:00:00Z"),
        ),
        // +05:30 and +05:45.
        (
            &["Asia/Kolkata"],
            60,
            "2026-03-09",
            Some("2026-03-09T03:30:00Z"),
        ),
        (
            &["Asia/Kathmandu"],
            60,
            "2026-03-09",
            Some("2026-03-09T03:15:00Z"),
        ),
        (
            &["Asia/Kathmandu", "Asia/Kolkata"],
            60,
            "2026-03-09",
            Some("2026-03-09T03:30:00Z"),
        ),
        // Kathmandu ends 11:15Z, Berlin starts 08:00Z: 3h15 overlap.
        (
            &["Asia/Kathmandu", "Europe/Berlin"],
            195,
            "2026-03-09",
            Some("2026-03-09T08:00:00Z"),
        ),
        (
            &["Asia/Kathmandu", "Europe/Berlin"],
            210,
            "2026-03-09",
            None,
        ),
    ];
    for (zones, minutes, day, want) in cases {
        let people: Vec<Value> = zones
            .iter()
            .enumerate()
            .map(|(i, z)| person(&format!("u{i}"), z))
            .collect();
        let seats: Vec<Value> = (0..zones.len())
            .map(|i| json!({ "person": format!("u{i}") }))
            .collect();
        let v = loop_with(
            people,
            json!(seats),
            *minutes,
            "2026-03-01T00:00:00Z",
            [&format!("{day}T00:00:00Z"), &format!("{day}T23:59:00Z")],
        );
        assert_eq!(
            first_start(v).as_deref(),
            *want,
            "{zones:?} {minutes} min on {day}"
        );
    }
}

#[test]
fn working_hours_resolve_gaps_forward_and_folds_earlier() {
    let ny = TimeZone::get("America/New_York").unwrap();
    let mut hours: [Vec<(i64, i64)>; 7] = Default::default();
    // Sunday 02:30-05:00: 02:30 does not exist on 2026-03-08 and moves to 03:30 EDT (07:30Z).
    hours[6] = vec![(150, 300)];
    let got = working_intervals(&ny, &hours, date(2026, 3, 8), date(2026, 3, 8));
    assert_eq!(got.len(), 1);
    assert_eq!(
        timestamp(got[0].1.start).to_string(),
        "2026-03-08T07:30:00Z"
    );
    assert_eq!(timestamp(got[0].1.end).to_string(), "2026-03-08T09:00:00Z");
    // Sunday 01:30-03:00 on 2026-11-01: 01:30 happens twice, the earlier (EDT, 05:30Z) is taken.
    hours[6] = vec![(90, 180)];
    let got = working_intervals(&ny, &hours, date(2026, 11, 1), date(2026, 11, 1));
    assert_eq!(
        timestamp(got[0].1.start).to_string(),
        "2026-11-01T05:30:00Z"
    );
    assert_eq!(timestamp(got[0].1.end).to_string(), "2026-11-01T08:00:00Z");
    // A whole week: Monday to Friday 09-17 in London across the European change (2026-03-29).
    let mut weekdays: [Vec<(i64, i64)>; 7] = Default::default();
    for d in weekdays.iter_mut().take(5) {
        *d = vec![(540, 1020)];
    }
    let london = TimeZone::get("Europe/London").unwrap();
    let got = working_intervals(&london, &weekdays, date(2026, 3, 27), date(2026, 3, 30));
    let starts: Vec<String> = got
        .iter()
        .map(|(_, i)| timestamp(i.start).to_string())
        .collect();
    assert_eq!(starts, ["2026-03-27T09:00:00Z", "2026-03-30T08:00:00Z"]);
}

#[test]
fn interval_algebra() {
    let set =
        |v: &[(i64, i64)]| IntervalSet::from_intervals(v.iter().map(|&(a, b)| Interval::new(a, b)));
    let a = set(&[(0, 10), (20, 30), (10, 12), (40, 40)]);
    assert_eq!(a, set(&[(0, 12), (20, 30)]));
    assert_eq!(a.subtract(&set(&[(5, 25)])), set(&[(0, 5), (25, 30)]));
    assert_eq!(a.subtract(&set(&[(-5, 100)])), set(&[]));
    assert_eq!(
        a.intersect(&set(&[(11, 21), (29, 50)])),
        set(&[(11, 12), (20, 21), (29, 30)])
    );
    assert_eq!(a.union(&set(&[(12, 20)])), set(&[(0, 30)]));
    assert!(a.contains(Interval::new(20, 30)) && !a.contains(Interval::new(11, 21)));
    assert_eq!(a.total(), 22);
}

fn limits_case(booked: usize, max_day: Option<u32>, max_week: Option<u32>) -> Option<String> {
    let mut p = person("u0", "UTC");
    // Booked interviews on Monday 2026-03-09 early morning (before the candidate's window).
    p["booked"] = json!(
        (0..booked)
            .map(|i| [
                format!("2026-03-09T0{i}:00:00Z"),
                format!("2026-03-09T0{i}:30:00Z")
            ])
            .collect::<Vec<_>>()
    );
    p["working_hours"]["mon"] = json!([["00:00", "17:00"]]);
    if let Some(m) = max_day {
        p["max_per_day"] = json!(m);
    }
    if let Some(m) = max_week {
        p["max_per_week"] = json!(m);
    }
    let v = loop_with(
        vec![p],
        json!([{ "person": "u0" }]),
        60,
        "2026-03-08T00:00:00Z",
        ["2026-03-09T09:00:00Z", "2026-03-17T17:00:00Z"],
    );
    first_start(v)
}

#[test]
fn load_limits_count_booked_interviews_per_local_day_and_week() {
    assert_eq!(
        limits_case(2, Some(3), None).as_deref(),
        Some("2026-03-09T09:00:00Z")
    );
    assert_eq!(
        limits_case(3, Some(3), None).as_deref(),
        Some("2026-03-10T09:00:00Z")
    );
    // Already over the limit.
    assert_eq!(
        limits_case(5, Some(3), None).as_deref(),
        Some("2026-03-10T09:00:00Z")
    );
    // The week is full: next Monday (working from midnight on Mondays).
    assert_eq!(
        limits_case(4, None, Some(4)).as_deref(),
        Some("2026-03-16T00:00:00Z")
    );
    assert_eq!(
        limits_case(3, None, Some(4)).as_deref(),
        Some("2026-03-09T09:00:00Z")
    );
}

#[test]
fn busy_blocks_inactive_people_and_least_loaded_interviewers() {
    let mut a = person("a", "UTC");
    a["busy"] = json!([["2026-03-09T09:00:00Z", "2026-03-09T10:30:00Z"]]);
    let mut b = person("b", "UTC");
    b["booked"] = json!([["2026-03-09T07:00:00Z", "2026-03-09T07:30:00Z"]]);
    let mut c = person("c", "UTC");
    c["active"] = json!(false);
    let d = person("d", "UTC");
    let v = json!({
        "now": "2026-03-08T00:00:00Z",
        "options": 9,
        "loop": { "sessions": [ { "id": "s", "duration_minutes": 60, "seats": [ { "pool": "p", "count": 2 } ] } ] },
        "candidate": { "zone": "UTC", "windows": [["2026-03-09T09:00:00Z", "2026-03-09T12:00:00Z"]] },
        "interviewers": [a, b, c, d],
        "pools": [ { "id": "p", "members": [
            { "user": "a", "status": "qualified" }, { "user": "b", "status": "qualified" },
            { "user": "c", "status": "qualified" }, { "user": "d", "status": "qualified" } ] } ]
    });
    let r = request(v);
    let s = solve(&r);
    let got: Vec<(String, Vec<String>, u32)> = s
        .options()
        .iter()
        .map(|o| {
            (
                o.sessions[0].start.clone(),
                o.sessions[0].seats[0].clone(),
                o.objective.load,
            )
        })
        .collect();
    let want = [
        ("2026-03-09T09:00:00Z", ["b", "d"], 1),
        ("2026-03-09T09:15:00Z", ["b", "d"], 1),
        ("2026-03-09T09:30:00Z", ["b", "d"], 1),
        ("2026-03-09T09:45:00Z", ["b", "d"], 1),
        ("2026-03-09T10:00:00Z", ["b", "d"], 1),
        ("2026-03-09T10:15:00Z", ["b", "d"], 1),
        // `a` is free from 10:30 and has nothing booked this week.
        ("2026-03-09T10:30:00Z", ["a", "d"], 0),
        ("2026-03-09T10:30:00Z", ["a", "b"], 1),
        ("2026-03-09T10:30:00Z", ["b", "d"], 1),
    ];
    let want: Vec<(String, Vec<String>, u32)> = want
        .iter()
        .map(|(t, p, l)| (t.to_string(), p.iter().map(|x| x.to_string()).collect(), *l))
        .collect();
    assert_eq!(got, want);
}

fn two_half_days(split: bool, order: Value) -> scheduling::Solution {
    let v = json!({
        "now": "2026-03-08T00:00:00Z",
        "loop": {
            "sessions": [
                { "id": "x", "duration_minutes": 240, "seats": [ { "person": "a" } ] },
                { "id": "y", "duration_minutes": 180, "seats": [ { "person": "b" } ] },
                { "id": "z", "duration_minutes": 60, "seats": [ { "person": "c" } ] }
            ],
            "order": order,
            "split_days": split
        },
        "candidate": { "zone": "America/New_York", "windows": [
            ["2026-03-09T13:00:00Z", "2026-03-09T17:00:00Z"], ["2026-03-10T13:00:00Z", "2026-03-10T17:00:00Z"] ] },
        "interviewers": [ person("a", "UTC"), person("b", "UTC"), person("c", "UTC") ]
    });
    solve(&request(v))
}

#[test]
fn split_days_and_fixed_order() {
    // Four hours a day: the loop (8 hours) needs two days.
    assert!(two_half_days(false, json!([])).options().is_empty());
    let s = two_half_days(true, json!([]));
    let best = &s.options()[0];
    let starts: Vec<&str> = best.sessions.iter().map(|s| s.start.as_str()).collect();
    // x takes a whole window, y and z the other: either way the loop ends Tuesday 17:00.
    assert_eq!(best.objective.end, "2026-03-10T17:00:00Z");
    assert_eq!(starts.len(), 3);
    // Fixed order z, y, x: z and y on Monday, x on Tuesday.
    let s = two_half_days(true, json!([{ "fixed": ["z", "y", "x"] }]));
    let best = &s.options()[0];
    let starts: Vec<&str> = best.sessions.iter().map(|s| s.start.as_str()).collect();
    assert_eq!(
        starts,
        [
            "2026-03-10T13:00:00Z",
            "2026-03-09T14:00:00Z",
            "2026-03-09T13:00:00Z"
        ]
    );
    assert_eq!(best.objective.idle_minutes, 0);
}

#[test]
fn sessions_avoid_the_candidates_lunch_break() {
    let v = json!({
        "now": "2026-03-08T00:00:00Z",
        "loop": {
            "sessions": [
                { "id": "x", "duration_minutes": 120, "seats": [ { "person": "a" } ] },
                { "id": "y", "duration_minutes": 60, "seats": [ { "person": "b" } ] }
            ],
            "breaks": [["12:00", "13:00"]]
        },
        // Kolkata: the window is 10:30-18:30 local, lunch 06:30-07:30Z.
        "candidate": { "zone": "Asia/Kolkata", "windows": [["2026-03-09T05:00:00Z", "2026-03-09T13:00:00Z"]] },
        "interviewers": [ person("a", "UTC"), person("b", "UTC") ]
    });
    let s = solve(&request(v.clone()));
    let best = &s.options()[0];
    let starts: Vec<&str> = best.sessions.iter().map(|s| s.start.as_str()).collect();
    // a and b work from 09:00Z; lunch ends 07:30Z, so nothing changes here...
    assert_eq!(starts, ["2026-03-09T09:00:00Z", "2026-03-09T11:00:00Z"]);
    // ...but with people working from 05:00Z, x cannot run across lunch.
    let mut v = v;
    for p in v["interviewers"].as_array_mut().unwrap() {
        p["working_hours"]["mon"] = json!([["05:00", "17:00"]]);
    }
    let s = solve(&request(v));
    let best = &s.options()[0];
    let starts: Vec<&str> = best.sessions.iter().map(|s| s.start.as_str()).collect();
    // y fits before lunch; 05:30 rather than 05:00 leaves the candidate less idle time.
    assert_eq!(starts, ["2026-03-09T07:30:00Z", "2026-03-09T05:30:00Z"]);
    assert_eq!(best.objective.idle_minutes, 60);
}
