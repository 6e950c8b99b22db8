//! Trainees at each step of their training: shadow, reverse shadow (needs a qualified member of the
//! pool in the session), graduated (counts as qualified), busy (the seat stays empty).

use scheduling::TrainingStep;
use serde_json::{Value, json};

use super::{person, request, solve};

fn case(trainee: Value, seat: Value, busy_trainee: bool) -> (Option<(String, TrainingStep)>, u32) {
    let mut t = person("t", "UTC");
    if busy_trainee {
        t["busy"] = json!([["2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z"]]);
    }
    let mut member = trainee;
    member["user"] = json!("t");
    member["status"] = json!("trainee");
    let v = json!({
        "now": "2026-03-08T00:00:00Z",
        "loop": { "sessions": [ { "id": "s", "duration_minutes": 60, "seats": [seat], "trainee": { "pool": "p" } } ] },
        "candidate": { "zone": "UTC", "windows": [["2026-03-09T09:00:00Z", "2026-03-09T17:00:00Z"]] },
        "interviewers": [ person("q", "UTC"), person("hm", "UTC"), t ],
        "pools": [ { "id": "p", "required_shadows": 2, "required_reverse_shadows": 1,
            "members": [ { "user": "q", "status": "qualified" }, member ] } ]
    });
    let r = request(v);
    let s = solve(&r);
    let best = &s.options()[0];
    (
        best.sessions[0]
            .trainee
            .as_ref()
            .map(|t| (t.person.clone(), t.role)),
        best.objective.trainees_missing,
    )
}

#[test]
fn trainees_at_each_step() {
    let pool_seat = json!({ "pool": "p" });
    let manager_seat = json!({ "person": "hm" });
    let shadow = json!({ "shadows_completed": 1 });
    let reverse = json!({ "shadows_completed": 2, "reverse_shadows_completed": 0 });
    let graduated = json!({ "shadows_completed": 2, "reverse_shadows_completed": 1 });
    let t = |step| Some(("t".to_string(), step));
    let cases = [
        (
            shadow.clone(),
            pool_seat.clone(),
            false,
            (t(TrainingStep::Shadow), 0),
        ),
        (
            shadow.clone(),
            manager_seat.clone(),
            false,
            (t(TrainingStep::Shadow), 0),
        ),
        (shadow.clone(), pool_seat.clone(), true, (None, 1)),
        (
            reverse.clone(),
            pool_seat.clone(),
            false,
            (t(TrainingStep::ReverseShadow), 0),
        ),
        // Nobody qualified in the pool sits in: no reverse shadow.
        (reverse.clone(), manager_seat.clone(), false, (None, 1)),
        // Graduated: no longer a trainee.
        (graduated.clone(), manager_seat.clone(), false, (None, 1)),
    ];
    for (i, (member, seat, busy, want)) in cases.into_iter().enumerate() {
        assert_eq!(case(member, seat, busy), want, "case {i}");
    }
}

#[test]
fn graduated_trainees_fill_regular_seats() {
    let v = json!({
        "now": "2026-03-08T00:00:00Z",
        "loop": { "sessions": [ { "id": "s", "duration_minutes": 60, "seats": [ { "pool": "p", "count": 2 } ] } ] },
        "candidate": { "zone": "UTC", "windows": [["2026-03-09T09:00:00Z", "2026-03-09T17:00:00Z"]] },
        "interviewers": [ person("q", "UTC"), person("g", "UTC"), person("s", "UTC") ],
        "pools": [ { "id": "p", "required_shadows": 1,
            "members": [ { "user": "q", "status": "qualified" },
                         { "user": "g", "status": "trainee", "shadows_completed": 1 },
                         { "user": "s", "status": "trainee" } ] } ]
    });
    let s = solve(&request(v));
    assert_eq!(s.options()[0].sessions[0].seats[0], ["g", "q"]);
}
