//! Infeasible requests and the text of their explanation.

use serde_json::json;

use super::{person, request, solve};

#[test]
fn infeasible_requests_say_why() {
    // Monday 2026-03-02 and Tuesday 2026-03-03, candidate 08:00-16:00 UTC.
    let mut busy = person("busy", "UTC");
    busy["busy"] = json!([["2026-03-02T00:00:00Z", "2026-03-02T23:00:00Z"]]);
    let mut full = person("full", "UTC");
    full["max_per_day"] = json!(1);
    full["booked"] = json!([["2026-03-03T07:00:00Z", "2026-03-03T07:30:00Z"]]);
    let mut full2 = person("full2", "UTC");
    full2["max_per_week"] = json!(1);
    full2["booked"] = json!([["2026-03-02T17:00:00Z", "2026-03-02T17:30:00Z"]]);
    let mut gone = person("gone", "UTC");
    gone["active"] = json!(false);
    let mut late = person("late", "UTC");
    late["working_hours"] = json!({ "mon": [["16:00", "20:00"]], "tue": [["16:00", "20:00"]] });
    let v = json!({
        "now": "2026-03-01T00:00:00Z",
        "loop": { "sessions": [
            { "id": "onsite-1", "duration_minutes": 60, "seats": [ { "person": "gone" } ] },
            { "id": "onsite-2", "duration_minutes": 60, "seats": [ { "pool": "coding", "count": 2 } ] },
            { "id": "wrap", "duration_minutes": 60, "seats": [ { "person": "late" } ] }
        ] },
        "candidate": { "zone": "UTC", "horizon_days": 3,
            "windows": [["2026-03-02T08:00:00Z", "2026-03-02T16:00:00Z"], ["2026-03-03T08:00:00Z", "2026-03-03T16:00:00Z"]] },
        "interviewers": [ busy, full, full2, gone, late ],
        "pools": [ { "id": "coding", "members": [
            { "user": "busy", "status": "qualified" }, { "user": "full", "status": "qualified" },
            { "user": "full2", "status": "qualified" } ] } ]
    });
    let r = request(v);
    let got = super::reasons(&solve(&r));
    let want = [
        "session `onsite-1` seat 0 (person `gone`): `gone` is inactive",
        // `busy` is busy all Monday; `full2` has its one interview of the week on Monday evening.
        "session `onsite-2` seat 0 (pool `coding`): on 2026-03-02 only 1 of the 2 free members are under their daily and weekly limits, 2 needed",
        // `full` has its one interview of Tuesday already.
        "session `onsite-2` seat 0 (pool `coding`): on 2026-03-03 only 1 of the 3 free members are under their daily and weekly limits, 2 needed",
        "session `wrap` seat 0 (person `late`): on 2026-03-02 `late` is not free for 60 min inside working hours and the candidate's windows",
        "session `wrap` seat 0 (person `late`): on 2026-03-03 `late` is not free for 60 min inside working hours and the candidate's windows",
    ];
    assert_eq!(got, want);
}

#[test]
fn no_window_and_combination_explanations() {
    // The candidate is only available before the minimum notice.
    let v = json!({
        "now": "2026-03-01T00:00:00Z",
        "loop": { "sessions": [ { "id": "s", "duration_minutes": 60, "seats": [ { "person": "a" } ] } ] },
        "candidate": { "zone": "UTC", "min_notice_minutes": 2880,
            "windows": [["2026-03-02T08:00:00Z", "2026-03-02T16:00:00Z"]] },
        "interviewers": [ person("a", "UTC") ]
    });
    assert_eq!(
        super::reasons(&solve(&request(v))),
        [
            "candidate.windows: no availability window of at least one grid slot between 2026-03-03T00:00:00Z (now plus minimum notice) and 2026-03-15T00:00:00Z (horizon)"
        ]
    );
    // Each session alone fits, but not both within the maximum span.
    let v = json!({
        "now": "2026-03-01T00:00:00Z",
        "loop": { "sessions": [
            { "id": "x", "duration_minutes": 60, "seats": [ { "person": "a" } ] },
            { "id": "y", "duration_minutes": 60, "seats": [ { "person": "b" } ] } ],
            "max_span_minutes": 90 },
        "candidate": { "zone": "UTC", "windows": [["2026-03-02T08:00:00Z", "2026-03-02T16:00:00Z"]] },
        "interviewers": [ person("a", "UTC"), person("b", "UTC") ]
    });
    let got = super::reasons(&solve(&request(v)));
    assert!(
        got[0].starts_with("every session can be staffed on its own"),
        "{got:?}"
    );
    // A session longer than any candidate window.
    let v = json!({
        "now": "2026-03-01T00:00:00Z",
        "loop": { "sessions": [ { "id": "long", "duration_minutes": 120, "seats": [ { "person": "a" } ] } ] },
        "candidate": { "zone": "Asia/Kolkata", "windows": [["2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z"]] },
        "interviewers": [ person("a", "UTC") ]
    });
    assert_eq!(
        super::reasons(&solve(&request(v))),
        ["session `long`: on 2026-03-02 the candidate has no window of 120 min"]
    );
}

#[test]
fn everyone_at_their_limit() {
    let mut people = Vec::new();
    for id in ["a", "b", "hm"] {
        let mut p = person(id, "Asia/Kathmandu");
        p["max_per_day"] = json!(1);
        p["booked"] = json!([["2026-03-02T03:15:00Z", "2026-03-02T04:00:00Z"]]);
        people.push(p);
    }
    let v = json!({
        "now": "2026-03-01T00:00:00Z",
        "loop": { "sessions": [
            { "id": "coding", "duration_minutes": 45, "seats": [ { "pool": "p", "count": 2 } ] },
            { "id": "chat", "duration_minutes": 30, "seats": [ { "person": "hm" } ] } ] },
        "candidate": { "zone": "UTC", "windows": [["2026-03-02T04:00:00Z", "2026-03-02T11:00:00Z"]] },
        "interviewers": people,
        "pools": [ { "id": "p", "members": [ { "user": "a", "status": "qualified" }, { "user": "b", "status": "qualified" } ] } ]
    });
    assert_eq!(
        super::reasons(&solve(&request(v))),
        [
            "session `coding` seat 0 (pool `p`): on 2026-03-02 all 2 free members are at their daily or weekly limit",
            "session `chat` seat 0 (person `hm`): on 2026-03-02 `hm` is at their daily or weekly limit",
        ]
    );
}
