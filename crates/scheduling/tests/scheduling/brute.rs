//! Seeded random tiny instances: the solver's options against an exhaustive search written here,
//! which enumerates every start time and every assignment, keeps what the independent checker
//! accepts, and ranks by the objective computed here.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use scheduling::{
    Objective, Request, ScheduleOption, ScheduledSession, Solution, TraineeAssignment, TrainingStep,
};
use serde_json::{Value, json};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "Asia/Kolkata",
    "America/New_York",
    "Asia/Kathmandu",
];

fn at(h: u64, m: u64) -> String {
    format!("2026-03-04T{h:02}:{m:02}:00Z")
}

fn instance(rng: &mut Rng) -> Value {
    let grid = [30u64, 60][rng.below(2) as usize];
    let mut people = Vec::new();
    for i in 0..4 {
        let zone = ZONES[rng.below(ZONES.len() as u64) as usize];
        let start = 5 + rng.below(8);
        let end = (start + 3 + rng.below(8)).min(24);
        let hours = json!([[format!("{start:02}:00"), format!("{end:02}:00")]]);
        let mut busy = Vec::new();
        for _ in 0..rng.below(3) {
            let h = 6 + rng.below(12);
            busy.push(json!([at(h, 0), at(h + 1, 30 * rng.below(2))]));
        }
        // Empty blocks (end = start), on the grid or between minutes: no time at all.
        if rng.chance(40) {
            let h = 6 + rng.below(12);
            let t = if rng.chance(50) {
                at(h, 30)
            } else {
                format!("2026-03-04T{h:02}:17:29Z")
            };
            busy.push(json!([t, t]));
        }
        let mut booked = Vec::new();
        if rng.chance(30) {
            let h = 6 + rng.below(12);
            booked.push(json!([at(h, 0), at(h, 0)]));
        }
        for _ in 0..rng.below(3) {
            // Earlier this week (Monday or Tuesday) or on the day itself.
            let day = 2 + rng.below(3);
            let h = 6 + rng.below(12);
            booked.push(json!([
                format!("2026-03-{day:02}T{h:02}:00:00Z"),
                format!("2026-03-{day:02}T{h:02}:45:00Z")
            ]));
        }
        let mut p = json!({
            "id": format!("p{i}"), "zone": zone,
            "working_hours": { "wed": hours, "thu": hours },
            "busy": busy, "booked": booked,
            "active": rng.chance(90),
        });
        if rng.chance(30) {
            p["max_per_day"] = json!(1 + rng.below(2));
        }
        if rng.chance(30) {
            p["max_per_week"] = json!(1 + rng.below(3));
        }
        people.push(p);
    }
    let mut members = Vec::new();
    for i in 0..4 {
        if rng.chance(85) {
            let trainee = rng.chance(30);
            members.push(json!({
                "user": format!("p{i}"),
                "status": if trainee { "trainee" } else { "qualified" },
                "shadows_completed": rng.below(3),
                "reverse_shadows_completed": rng.below(2),
            }));
        }
    }
    let d = |rng: &mut Rng| {
        if grid == 30 {
            30 * (1 + rng.below(4))
        } else {
            60 * (1 + rng.below(2))
        }
    };
    let mut s0 = json!({ "id": "a", "duration_minutes": d(rng),
        "seats": [ { "pool": "p", "count": 1 + rng.below(2) } ] });
    let mut s1 = json!({ "id": "b", "duration_minutes": d(rng),
        "seats": [ if rng.chance(50) { json!({ "person": format!("p{}", rng.below(4)) }) } else { json!({ "pool": "p" }) } ] });
    if rng.chance(50) {
        s0["trainee"] = json!({ "pool": "p" });
    } else if rng.chance(30) {
        s1["trainee"] = json!({ "pool": "p" });
    }
    let mut lp = json!({ "sessions": [s0, s1] });
    match rng.below(4) {
        0 => lp["order"] = json!([{ "before": ["a", "b"] }]),
        1 => lp["order"] = json!([{ "last": "a" }]),
        _ => {}
    }
    if rng.chance(30) {
        lp["min_gap_minutes"] = json!(grid);
    }
    if rng.chance(30) {
        lp["max_gap_minutes"] = json!(grid);
    }
    if rng.chance(30) {
        lp["max_span_minutes"] = json!(180);
    }
    if rng.chance(30) {
        lp["split_days"] = json!(true);
    }
    if rng.chance(20) {
        lp["breaks"] = json!([["12:00", "13:00"]]);
    }
    let ws = 7 + rng.below(4);
    let we = ws + 3 + rng.below(6);
    let mut windows = vec![json!([at(ws, 0), at(we, 0)])];
    if rng.chance(50) {
        windows.push(json!([
            format!("2026-03-05T{ws:02}:00:00Z"),
            format!("2026-03-05T{we:02}:00:00Z")
        ]));
    }
    json!({
        "now": "2026-03-03T12:00:00Z",
        "grid_minutes": grid,
        "options": 4,
        "loop": lp,
        "candidate": {
            "zone": ZONES[rng.below(3) as usize],
            "windows": windows,
            "horizon_days": 3
        },
        "interviewers": people,
        "pools": [ {
            "id": "p", "members": members,
            "required_shadows": rng.below(3), "required_reverse_shadows": rng.below(2)
        } ]
    })
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Interviews `who` already has booked in the local ISO week of `t`.
fn week_load(r: &Request, who: &str, t: Timestamp) -> u32 {
    let p = r.interviewers.iter().find(|p| p.id == who).unwrap();
    let tz = TimeZone::get(&p.zone).unwrap();
    let w = tz.to_datetime(t).date().iso_week_date();
    p.booked
        .iter()
        .filter(|b| ts(&b[0]) < ts(&b[1]))
        .filter(|b| {
            let x = tz.to_datetime(ts(&b[0])).date().iso_week_date();
            (x.year(), x.week()) == (w.year(), w.week())
        })
        .count() as u32
}

fn trainee_step(r: &Request, who: &str) -> Option<TrainingStep> {
    let pool = &r.pools[0];
    let m = pool.members.iter().find(|m| m.user == who)?;
    if m.status != scheduling::request::MemberStatus::Trainee {
        return None;
    }
    if m.shadows_completed < pool.required_shadows {
        Some(TrainingStep::Shadow)
    } else if m.reverse_shadows_completed < pool.required_reverse_shadows {
        Some(TrainingStep::ReverseShadow)
    } else {
        None
    }
}

fn combos(n: usize, k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for first in 0..n {
        for rest in combos(n, k - 1) {
            if rest.iter().all(|&x| x > first) {
                let mut v = vec![first];
                v.extend(rest);
                out.push(v);
            }
        }
    }
    out
}

/// Every feasible option's objective, sorted.
fn brute(r: &Request) -> Vec<(String, u32, u32, u32)> {
    let grid = i64::from(r.grid_minutes);
    let day_start = ts("2026-03-04T00:00:00Z");
    let people: Vec<String> = (0..4).map(|i| format!("p{i}")).collect();
    let starts: Vec<Timestamp> = (0..(2 * 24 * 60 / grid))
        .map(|i| day_start + jiff::SignedDuration::from_mins(i * grid))
        .collect();
    let sessions = &r.interview_loop.sessions;
    let mut out = Vec::new();
    // Seat choices per session: list of (people of the seat).
    let seat_choices = |s: usize| -> Vec<Vec<String>> {
        let seat = &sessions[s].seats[0];
        match &seat.person {
            Some(p) => vec![vec![p.clone()]],
            None => combos(4, seat.count.unwrap_or(1) as usize)
                .into_iter()
                .map(|c| c.into_iter().map(|i| people[i].clone()).collect())
                .collect(),
        }
    };
    let trainee_choices = |s: usize| -> Vec<Option<String>> {
        let mut v = vec![None];
        if sessions[s].trainee.is_some() {
            v.extend(
                people
                    .iter()
                    .filter(|p| trainee_step(r, p).is_some())
                    .cloned()
                    .map(Some),
            );
        }
        v
    };
    let d0 = jiff::SignedDuration::from_mins(i64::from(sessions[0].duration_minutes));
    let d1 = jiff::SignedDuration::from_mins(i64::from(sessions[1].duration_minutes));
    let inside = |t: Timestamp, d| {
        r.candidate
            .windows
            .iter()
            .any(|w| ts(&w[0]) <= t && t + d <= ts(&w[1]))
    };
    let ctz = TimeZone::get(&r.candidate.zone).unwrap();
    let same_day =
        |x: Timestamp, y: Timestamp| ctz.to_datetime(x).date() == ctz.to_datetime(y).date();
    for &a in starts.iter().filter(|&&a| inside(a, d0)) {
        for &b in starts.iter().filter(|&&b| inside(b, d1)) {
            let (ea, eb) = (a + d0, b + d1);
            if a < eb && b < ea {
                continue;
            }
            let end = ea.max(eb);
            let idle = if !same_day(a, b) {
                0
            } else if ea <= b {
                b.duration_since(ea).as_mins() as u32
            } else {
                a.duration_since(eb).as_mins() as u32
            };
            for s0 in seat_choices(0) {
                for s1 in seat_choices(1) {
                    for t0 in trainee_choices(0) {
                        for t1 in trainee_choices(1) {
                            let mut load = 0;
                            for p in &s0 {
                                load += week_load(r, p, a);
                            }
                            for p in &s1 {
                                load += week_load(r, p, b);
                            }
                            let missing = u32::from(sessions[0].trainee.is_some() && t0.is_none())
                                + u32::from(sessions[1].trainee.is_some() && t1.is_none());
                            let role = |t: &Option<String>| {
                                t.as_ref().map(|p| TraineeAssignment {
                                    person: p.clone(),
                                    role: trainee_step(r, p).unwrap_or(TrainingStep::Shadow),
                                })
                            };
                            let o = ScheduleOption {
                                rank: 1,
                                objective: Objective {
                                    end: end.to_string(),
                                    load,
                                    idle_minutes: idle,
                                    trainees_missing: missing,
                                },
                                sessions: vec![
                                    ScheduledSession {
                                        session: "a".into(),
                                        start: a.to_string(),
                                        end: ea.to_string(),
                                        seats: vec![s0.clone()],
                                        trainee: role(&t0),
                                    },
                                    ScheduledSession {
                                        session: "b".into(),
                                        start: b.to_string(),
                                        end: eb.to_string(),
                                        seats: vec![s1.clone()],
                                        trainee: role(&t1),
                                    },
                                ],
                            };
                            if scheduling::check(r, &o).is_ok() {
                                out.push((end.to_string(), load, idle, missing));
                            }
                        }
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// The solver's options for `v` (checked by the checker) against the exhaustive search;
/// whether `v` is a valid request and whether it is feasible.
fn compare(v: &Value) -> (bool, bool) {
    let Ok(r) = scheduling::parse_request(&v.to_string()) else {
        return (false, false);
    };
    let solution = super::solve(&r);
    let expected = brute(&r);
    match &solution {
        Solution::Infeasible { .. } => {
            assert!(
                expected.is_empty(),
                "solver found nothing, brute force {:?}\n{v}",
                expected.first()
            );
            (true, false)
        }
        Solution::Options { options, .. } => {
            let got: Vec<_> = options.iter().map(super::key).collect();
            let want: Vec<_> = expected.iter().take(4).cloned().collect();
            assert_eq!(got, want, "\n{v}");
            (true, true)
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]

    /// Random tiny requests (with empty and sub-minute blocks): every option of the solver
    /// passes the checker, and the ranking is the exhaustive search's.
    #[test]
    fn the_solver_and_the_checker_agree_on_random_requests(seed in 1u64..u64::MAX) {
        compare(&instance(&mut Rng(seed)));
    }
}

/// An empty busy block or booked interview inside a session blocks nothing, for the solver
/// and the checker alike (the checker once counted it as an overlap).
#[test]
fn an_empty_block_blocks_nothing() {
    let v = super::requests::base();
    let before = super::solve(&super::request(v.clone())).options()[0].clone();
    // Empty blocks in the middle of every session of the best option, for everyone, on the
    // minute and between minutes; and empty booked interviews under a daily limit of one.
    let mut blocked = v.clone();
    for i in 0..3 {
        let mut busy = Vec::new();
        for s in &before.sessions {
            let a: jiff::Timestamp = s.start.parse().unwrap();
            let t = (a + jiff::SignedDuration::from_mins(15)).to_string();
            let u = (a + jiff::SignedDuration::from_secs(17 * 60 + 29)).to_string();
            busy.push(json!([t, t]));
            busy.push(json!([u, u]));
        }
        blocked["interviewers"][i]["busy"] = json!(busy);
        blocked["interviewers"][i]["booked"] = busy[..1].into();
        blocked["interviewers"][i]["max_per_day"] = json!(1);
    }
    let after = super::solve(&super::request(blocked.clone())).options()[0].clone();
    assert_eq!(after.sessions, before.sessions);
    // Empty breaks and working spans are no time either: not refused, blocking nothing.
    let start: jiff::Timestamp = before.sessions[0].start.parse().unwrap();
    let t = (start + jiff::SignedDuration::from_mins(15))
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .strftime("%H:%M")
        .to_string();
    blocked["loop"]["breaks"] = json!([[t, t]]);
    blocked["interviewers"][0]["working_hours"]["tue"] = json!([["10:00", "10:00"]]);
    let after = super::solve(&super::request(blocked)).options()[0].clone();
    assert_eq!(after.sessions, before.sessions);
}

#[test]
fn solver_matches_exhaustive_search_on_tiny_instances() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut compared, mut feasible) = (0, 0);
    for _ in 0..90 {
        let v = instance(&mut rng);
        let Ok(r) = scheduling::parse_request(&v.to_string()) else {
            continue;
        };
        let solution = super::solve(&r);
        let expected = brute(&r);
        compared += 1;
        match &solution {
            Solution::Infeasible { .. } => assert!(
                expected.is_empty(),
                "solver found nothing, brute force {:?}\n{v}",
                expected.first()
            ),
            Solution::Options { options, .. } => {
                feasible += 1;
                let got: Vec<_> = options.iter().map(super::key).collect();
                let want: Vec<_> = expected.iter().take(4).cloned().collect();
                assert_eq!(got, want, "\n{v}");
            }
        }
    }
    assert!(compared >= 45, "only {compared} valid instances");
    assert!(feasible >= 15, "only {feasible} feasible instances");
}
