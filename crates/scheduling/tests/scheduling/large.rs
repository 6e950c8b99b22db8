//! Larger seeded instances of the benchmark's shape (4 sessions, one with 2 interviewers and a
//! trainee seat, 5 working days, 15-minute grid, about 40% busy, load limits): every option passes
//! the checker. Timing lives in benchmarks, not here.

use serde_json::{Value, json};

fn instance(seed: u64, people: usize, pool_size: usize) -> Value {
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let zones = [
        "UTC",
        "Europe/Berlin",
        "Europe/London",
        "America/New_York",
        "Asia/Kolkata",
    ];
    let day = json!([["09:00", "17:00"]]);
    let mut interviewers = Vec::new();
    for i in 0..people {
        let mut busy = Vec::new();
        let mut booked = Vec::new();
        for d in 9..14 {
            for half_hour in 0..36 {
                // 03:00Z to 21:00Z in half hours, about 40% busy.
                if next() % 100 < 40 {
                    let m = 180 + half_hour * 30;
                    busy.push(json!([
                        format!("2026-03-{d:02}T{:02}:{:02}:00Z", m / 60, m % 60),
                        format!(
                            "2026-03-{d:02}T{:02}:{:02}:00Z",
                            (m + 30) / 60,
                            (m + 30) % 60
                        )
                    ]));
                }
            }
            if next() % 100 < 30 {
                booked.push(json!([
                    format!("2026-03-{d:02}T02:00:00Z"),
                    format!("2026-03-{d:02}T02:45:00Z")
                ]));
            }
        }
        interviewers.push(json!({
            "id": format!("u{i}"),
            "zone": zones[(next() % zones.len() as u64) as usize],
            "working_hours": { "mon": day, "tue": day, "wed": day, "thu": day, "fri": day },
            "busy": busy, "booked": booked,
            "max_per_day": 2, "max_per_week": 5
        }));
    }
    let pools: Vec<Value> = (0..4)
        .map(|p| {
            let members: Vec<Value> = (0..pool_size)
                .map(|k| {
                    let who = (p * pool_size + k) % people;
                    let trainee = k % 5 == 4;
                    json!({ "user": format!("u{who}"), "status": if trainee { "trainee" } else { "qualified" },
                            "shadows_completed": k % 3 })
                })
                .collect();
            json!({ "id": format!("pool{p}"), "members": members, "required_shadows": 2, "required_reverse_shadows": 1 })
        })
        .collect();
    json!({
        "now": "2026-03-08T12:00:00Z",
        "loop": {
            "sessions": [
                { "id": "screen", "duration_minutes": 45, "seats": [ { "pool": "pool0" } ] },
                { "id": "coding", "duration_minutes": 60, "seats": [ { "pool": "pool1", "count": 2 } ], "trainee": { "pool": "pool1" } },
                { "id": "design", "duration_minutes": 60, "seats": [ { "pool": "pool2" } ] },
                { "id": "values", "duration_minutes": 30, "seats": [ { "pool": "pool3" } ] }
            ],
            "order": [ { "before": ["screen", "coding"] } ],
            "max_gap_minutes": 60,
            "max_span_minutes": 360
        },
        "candidate": { "zone": "Europe/Paris", "windows": (9..14).map(|d| [format!("2026-03-{d:02}T08:00:00Z"), format!("2026-03-{d:02}T18:00:00Z")]).collect::<Vec<_>>() },
        "interviewers": interviewers,
        "pools": pools
    })
}

#[test]
fn larger_instances_pass_the_checker() {
    for (seed, people, pool) in [(1, 30, 10), (2, 30, 10), (3, 200, 40)] {
        let r = super::request(instance(seed, people, pool));
        let s = super::solve(&r);
        assert_eq!(s.options().len(), 5, "seed {seed}");
    }
}

/// A request that is infeasible only once people are assigned (two pools of the same eleven
/// people, twelve sessions that each need one of them): the search would try every placement of
/// the loop on every day of a year. Under a budget of `limit` it stops soon after.
fn heavy(sessions: usize) -> Value {
    let day = json!([["00:00", "24:00"]]);
    let people: Vec<Value> = (0..11)
        .map(|i| {
            json!({ "id": format!("u{i}"), "zone": "UTC",
                "working_hours": { "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day } })
        })
        .collect();
    let members: Vec<Value> = (0..11)
        .map(|i| json!({ "user": format!("u{i}"), "status": "qualified" }))
        .collect();
    let sessions: Vec<Value> = (0..sessions)
        .map(|s| {
            json!({ "id": format!("s{s}"), "duration_minutes": 15,
                "seats": [ { "pool": if s % 2 == 0 { "a" } else { "b" } } ] })
        })
        .collect();
    json!({
        "now": "2026-03-01T00:00:00Z",
        "options": 1000,
        "loop": { "sessions": sessions, "split_days": true },
        "candidate": { "zone": "UTC", "windows": [["2026-03-01T00:00:00Z", "2027-03-01T00:00:00Z"]], "horizon_days": 366 },
        "interviewers": people,
        "pools": [ { "id": "a", "members": members }, { "id": "b", "members": members } ]
    })
}

#[test]
fn a_heavy_request_stops_within_its_time_budget() {
    let r = super::request(heavy(12));
    let limit = std::time::Duration::from_millis(700);
    let started = std::time::Instant::now();
    let deadline = started + limit;
    let mut asked = 0u64;
    let mut budget = || {
        asked += 1;
        std::time::Instant::now() < deadline
    };
    let answer = scheduling::solve_within(&r, &mut budget);
    let took = started.elapsed();
    assert!(
        took < limit + std::time::Duration::from_millis(500),
        "took {took:?} for a budget of {limit:?}"
    );
    assert!(asked > 0);
    match answer {
        Err(scheduling::SolveError::Stopped(stop)) => {
            assert_eq!(stop, scheduling::Stop::TimeLimit)
        }
        Ok(scheduling::Solution::Options {
            options, stopped, ..
        }) => {
            assert_eq!(stopped, Some(scheduling::Stop::TimeLimit));
            super::assert_options_sound(&r, &options);
        }
        other => panic!("{other:?}"),
    }
}

/// Out of budget after some options were found: those options, marked as not proven best.
#[test]
fn out_of_budget_the_options_found_so_far_are_marked_unproven() {
    let r = super::request(instance(3, 200, 40));
    let full = super::solve(&r);
    let mut unproven_seen = 0;
    // Budgets that say stop after 1, 2, 4, ... questions: some stop before anything is found,
    // some after options were found but before the search is done, some never.
    for calls in (0..16).map(|k| 1u32 << k) {
        let mut left = calls;
        let mut budget = || {
            left = left.saturating_sub(1);
            left > 0
        };
        match scheduling::solve_within(&r, &mut budget) {
            Err(scheduling::SolveError::Stopped(stop)) => {
                assert_eq!(stop, scheduling::Stop::TimeLimit)
            }
            Ok(s @ scheduling::Solution::Options { .. }) => {
                super::assert_options_sound(&r, s.options());
                let v = serde_json::to_value(&s).unwrap();
                if v["unproven"] == true {
                    unproven_seen += 1;
                    assert_eq!(v["stopped"], "time_limit");
                } else {
                    assert_eq!(s, full);
                }
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        unproven_seen > 0,
        "no budget stopped the search after it found options"
    );
}
