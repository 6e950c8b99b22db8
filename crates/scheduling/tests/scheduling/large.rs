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
