//! Bad requests are refused with a message naming the field; good ones round-trip.

use serde_json::{Value, json};

use super::person;

pub fn base() -> Value {
    json!({
        "now": "2026-03-08T00:00:00Z",
        "loop": {
            "sessions": [
                { "id": "coding", "duration_minutes": 60, "seats": [ { "pool": "coding", "count": 2 } ] },
                { "id": "chat", "duration_minutes": 30, "seats": [ { "person": "c" } ] }
            ],
            "order": [ { "last": "chat" } ]
        },
        "candidate": { "zone": "Europe/Paris", "windows": [["2026-03-09T08:00:00Z", "2026-03-09T16:00:00Z"]] },
        "interviewers": [ person("a", "UTC"), person("b", "Asia/Kolkata"), person("c", "Asia/Kathmandu") ],
        "pools": [ { "id": "coding", "members": [
            { "user": "a", "status": "qualified" }, { "user": "b", "status": "qualified" } ] } ]
    })
}

fn refusal(pointer: &str, value: Value) -> String {
    let mut v = base();
    match v.pointer_mut(pointer) {
        Some(slot) => *slot = value,
        None => {
            // Add a new field to the parent object.
            let (parent, field) = pointer.rsplit_once('/').unwrap();
            let parent = v.pointer_mut(parent).unwrap();
            match parent.as_array_mut() {
                Some(items) => items.push(value),
                None => parent[field] = value,
            }
        }
    }
    match scheduling::parse_request(&v.to_string()) {
        Ok(_) => panic!("{pointer} = accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_requests_name_the_field() {
    let cases: &[(&str, Value, &str)] = &[
        (
            "/loop/sessions/0/seats/0/pool",
            json!("design"),
            "loop.sessions[0].seats[0].pool: unknown pool `design`",
        ),
        (
            "/loop/sessions/1/seats/0/person",
            json!("zed"),
            "loop.sessions[1].seats[0].person: unknown interviewer `zed`",
        ),
        (
            "/candidate/zone",
            json!("Mars/Olympus"),
            "candidate.zone: unknown time zone `Mars/Olympus`",
        ),
        (
            "/interviewers/1/zone",
            json!("Asia/Calcutta2"),
            "interviewers[1].zone: unknown time zone `Asia/Calcutta2`",
        ),
        (
            "/loop/sessions/0/duration_minutes",
            json!(50),
            "loop.sessions[0].duration_minutes: 50 is not a multiple of the 15-minute grid",
        ),
        (
            "/candidate/windows/0",
            json!(["2026-03-09T16:00:00Z", "2026-03-09T08:00:00Z"]),
            "candidate.windows[0]: ends (`2026-03-09T08:00:00Z`) before it starts (`2026-03-09T16:00:00Z`)",
        ),
        (
            "/candidate/windows/0/0",
            json!("monday"),
            "candidate.windows[0][0]: invalid instant `monday` (expected RFC 3339)",
        ),
        (
            "/loop/sessions/0/seats/0/count",
            json!(3),
            "loop.sessions[0].seats[0].count: asks for 3 people but pool `coding` has 2 eligible (active, qualified) members",
        ),
        (
            "/interviewers/0/working_hours/mon/0/1",
            json!("08:00"),
            "interviewers[0].working_hours.mon[0]: ends (`08:00`) before it starts (`09:00`)",
        ),
        (
            "/interviewers/0/working_hours/mon/0/0",
            json!("9am"),
            "interviewers[0].working_hours.mon[0][0]: invalid local time `9am` (expected HH:MM)",
        ),
        (
            "/grid_minutes",
            json!(7),
            "grid_minutes: 7 does not divide a day of 1440 minutes",
        ),
        (
            "/loop/order/0",
            json!({ "last": "lunch" }),
            "loop.order[0].last: unknown session `lunch`",
        ),
        (
            "/loop/order/1",
            json!({ "before": ["chat", "coding"] }),
            "loop.order: session `chat` is last but must come before another",
        ),
        (
            "/loop/sessions/1/id",
            json!("coding"),
            "loop.sessions[1].id: duplicate session `coding`",
        ),
        (
            "/pools/0/members/1/user",
            json!("nobody"),
            "pools[0].members[1].user: unknown interviewer `nobody`",
        ),
        (
            "/loop/sessions/1/seats/0/pool",
            json!("coding"),
            "loop.sessions[1].seats[0]: a seat has either `person` or `pool`, not both",
        ),
        (
            "/loop/sessions/0/trainee",
            json!({ "pool": "ux" }),
            "loop.sessions[0].trainee.pool: unknown pool `ux`",
        ),
        (
            "/candidate/horizon_days",
            json!(0),
            "candidate.horizon_days: must be between 1 and 366",
        ),
        (
            "/loop/max_gap_minutes",
            json!(-5),
            "loop.max_gap_minutes: invalid value: integer `-5`, expected a non-negative whole number of minutes",
        ),
        (
            "/loop/sessions/1/duration_minutes",
            json!(-45),
            "loop.sessions[1].duration_minutes: invalid value: integer `-45`, expected a non-negative whole number of minutes",
        ),
        (
            "/loop/max_span_minutes",
            json!(90.5),
            "loop.max_span_minutes: invalid value: floating point `90.5`, expected a non-negative whole number of minutes",
        ),
        (
            "/interviewers/2/max_per_day",
            json!(-1),
            "interviewers[2].max_per_day: invalid value: integer `-1`, expected a non-negative whole number",
        ),
        (
            "/candidate/horizon_days",
            json!("ten"),
            "candidate.horizon_days: invalid type: string \"ten\", expected a non-negative whole number of days",
        ),
        (
            "/loop/sessions/0/seats/0/count",
            json!(1e10),
            "loop.sessions[0].seats[0].count: invalid value: floating point `10000000000.0`, expected a non-negative whole number",
        ),
    ];
    for (pointer, value, want) in cases {
        let got = refusal(pointer, value.clone());
        assert!(
            got.starts_with(want),
            "{pointer}:\n got: {got}\nwant: {want}"
        );
    }
    // Missing fields are named by their path.
    let mut v = base();
    v["candidate"].as_object_mut().unwrap().remove("zone");
    let e = scheduling::parse_request(&v.to_string())
        .unwrap_err()
        .to_string();
    assert_eq!(e, "candidate.zone: missing");
    let mut v = base();
    v["loop"]["sessions"][1]
        .as_object_mut()
        .unwrap()
        .remove("duration_minutes");
    let e = scheduling::parse_request(&v.to_string())
        .unwrap_err()
        .to_string();
    assert_eq!(e, "loop.sessions[1].duration_minutes: missing");
    let mut v = base();
    v.as_object_mut().unwrap().remove("now");
    let e = scheduling::parse_request(&v.to_string())
        .unwrap_err()
        .to_string();
    assert_eq!(e, "now: missing");
    // Text that is not JSON says where.
    let e = scheduling::parse_request("{\"now\": ")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("invalid request: EOF while parsing a value at line 1"),
        "{e}"
    );
    // Unknown fields are refused.
    let mut v = base();
    v["loop"]["lunch"] = json!(true);
    let e = scheduling::parse_request(&v.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("loop"), "{e}");
    assert!(e.contains("unknown field `lunch`"), "{e}");
    // A person seat in two sessions.
    let mut v = base();
    v["loop"]["sessions"][0]["seats"] = json!([{ "person": "c" }]);
    let e = scheduling::parse_request(&v.to_string())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "loop.sessions[1].seats[0].person: `c` already sits in loop.sessions[0].seats[0] (one seat per person per loop)"
    );
}

#[test]
fn garbage_never_panics() {
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let text = base().to_string();
    for _ in 0..400 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut bytes = text.clone().into_bytes();
        let at = (rng % bytes.len() as u64) as usize;
        bytes[at] = b"0123456789:-\"[]{}Z,"[(rng >> 32) as usize % 19];
        if let Ok(s) = String::from_utf8(bytes)
            && let Ok(r) = scheduling::parse_request(&s)
        {
            let solution = scheduling::solve(&r).unwrap();
            super::assert_options_sound(&r, solution.options());
        }
    }
}

#[test]
fn the_example_request_is_valid_and_solved() {
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/request.json"
    ))
    .unwrap();
    let r = scheduling::parse_request(&json).unwrap();
    let s = super::solve(&r);
    assert_eq!(s.options().len(), 3);
    let best = &s.options()[0];
    assert_eq!(best.objective.trainees_missing, 0);
    // The request serializes back to the same value.
    let again: Value = serde_json::to_value(&r).unwrap();
    let back: scheduling::Request = serde_json::from_value(again).unwrap();
    assert_eq!(back, r);
}

#[test]
fn solutions_serialize_as_documented() {
    let r = super::request(base());
    let s = super::solve(&r);
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["status"], "options");
    let first = &v["options"][0];
    assert_eq!(first["rank"], 1);
    assert_eq!(first["sessions"][1]["session"], "chat");
    assert_eq!(first["sessions"][1]["seats"], json!([["c"]]));
    let back: scheduling::Solution = serde_json::from_value(v).unwrap();
    assert_eq!(back, s);
}
