//! Repairs after a decline: swap the seat, else move the session, else re-plan.

use scheduling::{Decline, RepairStep, Request, ScheduleOption, Solution};
use serde_json::{Value, json};

use super::{assert_options_sound, person, request, solve};

fn base(b_busy: Option<[&str; 2]>) -> Value {
    let mut b = person("b", "UTC");
    if let Some([x, y]) = b_busy {
        b["busy"] = json!([[x, y]]);
    }
    json!({
        "now": "2026-03-08T00:00:00Z",
        "loop": { "sessions": [
            { "id": "coding", "duration_minutes": 60, "seats": [ { "pool": "coding" } ] },
            { "id": "chat", "duration_minutes": 30, "seats": [ { "person": "hm" } ] } ],
            "order": [ { "last": "chat" } ] },
        "candidate": { "zone": "UTC", "windows": [["2026-03-09T09:00:00Z", "2026-03-09T17:00:00Z"]] },
        "interviewers": [ person("a", "UTC"), b, person("hm", "UTC") ],
        "pools": [ { "id": "coding", "members": [
            { "user": "a", "status": "qualified" }, { "user": "b", "status": "qualified" } ] } ]
    })
}

/// The booked option's interviews written into the people's calendars, as a store would have them.
fn with_bookings(v: &Value, booked: &ScheduleOption) -> Request {
    let mut v = v.clone();
    for s in &booked.sessions {
        for p in s.seats.iter().flatten() {
            let people = v["interviewers"].as_array_mut().unwrap();
            let who = people.iter_mut().find(|x| x["id"] == json!(p)).unwrap();
            who["booked"] = json!([[s.start, s.end]]);
        }
    }
    request(v)
}

fn after(v: &Value, declined: Option<&str>) -> Request {
    let mut v = v.clone();
    if let Some(d) = declined {
        let people = v["interviewers"].as_array_mut().unwrap();
        people.iter_mut().find(|x| x["id"] == json!(d)).unwrap()["active"] = json!(false);
    }
    request(v)
}

fn times(o: &ScheduleOption) -> Vec<(String, Vec<Vec<String>>)> {
    o.sessions
        .iter()
        .map(|s| (s.start.clone(), s.seats.clone()))
        .collect()
}

#[test]
fn a_declined_pool_seat_is_swapped_at_the_same_time() {
    let v = base(None);
    let booked = solve(&request(v.clone())).options()[0].clone();
    assert_eq!(booked.sessions[0].seats[0], ["a"]);
    let r = with_bookings(&v, &booked);
    let fix =
        scheduling::repair(&r, &booked, &Decline::Interviewer { person: "a".into() }).unwrap();
    assert_eq!(fix.step, RepairStep::SwapSeat);
    let best = &fix.solution.options()[0];
    assert_eq!(best.sessions[0].seats[0], ["b"]);
    assert_eq!(best.sessions[0].start, booked.sessions[0].start);
    assert_eq!(best.sessions[1], booked.sessions[1]);
    assert_options_sound(&after(&v, Some("a")), fix.solution.options());
}

#[test]
fn when_nobody_can_take_the_seat_the_session_moves_else_the_loop_is_replanned() {
    // `b` is busy when coding is booked (09:00-10:00), so coding moves after chat; chat stays.
    let mut v = base(Some(["2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z"]));
    v["loop"]["order"] = json!([]);
    let booked = solve(&request(v.clone())).options()[0].clone();
    assert_eq!(
        times(&booked)[0],
        ("2026-03-09T09:00:00Z".into(), vec![vec!["a".into()]])
    );
    let r = with_bookings(&v, &booked);
    let fix =
        scheduling::repair(&r, &booked, &Decline::Interviewer { person: "a".into() }).unwrap();
    assert_eq!(fix.step, RepairStep::MoveSession);
    let best = &fix.solution.options()[0];
    assert_eq!(best.sessions[1], booked.sessions[1]);
    assert_eq!(
        times(best)[0],
        ("2026-03-09T10:30:00Z".into(), vec![vec!["b".into()]])
    );
    assert_options_sound(&after(&v, Some("a")), fix.solution.options());

    // With chat last, coding cannot move alone (chat at 10:00 must stay last): re-plan.
    let v = base(Some(["2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z"]));
    let booked = solve(&request(v.clone())).options()[0].clone();
    let r = with_bookings(&v, &booked);
    let fix =
        scheduling::repair(&r, &booked, &Decline::Interviewer { person: "a".into() }).unwrap();
    assert_eq!(fix.step, RepairStep::Replan);
    let best = &fix.solution.options()[0];
    assert_eq!(
        times(best)[0],
        ("2026-03-09T10:00:00Z".into(), vec![vec!["b".into()]])
    );
    assert_eq!(best.sessions[1].start, "2026-03-09T11:00:00Z");
    assert_options_sound(&after(&v, Some("a")), fix.solution.options());
}

#[test]
fn a_declined_named_person_leaves_the_loop_infeasible() {
    let v = base(None);
    let booked = solve(&request(v.clone())).options()[0].clone();
    let r = with_bookings(&v, &booked);
    let fix = scheduling::repair(
        &r,
        &booked,
        &Decline::Interviewer {
            person: "hm".into(),
        },
    )
    .unwrap();
    assert_eq!(fix.step, RepairStep::Replan);
    assert_eq!(
        super::reasons(&fix.solution),
        ["session `chat` seat 0 (person `hm`): `hm` is inactive"]
    );
}

#[test]
fn a_candidate_who_can_no_longer_make_it_gets_the_affected_sessions_moved() {
    let v = base(None);
    let booked = solve(&request(v.clone())).options()[0].clone();
    // The candidate is now only free from 09:00 to 10:00 and from 15:00.
    let mut v2 = v.clone();
    v2["candidate"]["windows"] = json!([
        ["2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z"],
        ["2026-03-09T15:00:00Z", "2026-03-09T17:00:00Z"]
    ]);
    let r = with_bookings(&v2, &booked);
    let fix = scheduling::repair(&r, &booked, &Decline::Candidate).unwrap();
    // Coding (09:00-10:00) still fits but chat (10:00) must move: to 15:00 (no gap rule).
    assert_eq!(fix.step, RepairStep::MoveSession);
    let best = &fix.solution.options()[0];
    assert_eq!(best.sessions[0], booked.sessions[0]);
    assert_eq!(best.sessions[1].start, "2026-03-09T15:00:00Z");
    assert_options_sound(&after(&v2, None), fix.solution.options());
    // Nothing affected: unchanged.
    let r = with_bookings(&v, &booked);
    let fix = scheduling::repair(&r, &booked, &Decline::Candidate).unwrap();
    assert_eq!(fix.step, RepairStep::Unchanged);
    assert!(matches!(fix.solution, Solution::Options { .. }));
}
