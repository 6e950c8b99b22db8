//! Seeded benchmark instances for the scheduling engine (issue 5), and their timing.
//!
//! Shape: a 4-session loop (`screen` 45 min, `coding` 60 min with 2 interviewers from a pool plus
//! an optional trainee, `design` 60 min, `values` 45 min; `screen` before `coding`, `values`
//! last, gaps at most 60 min, span at most 6 h, a lunch break in half the instances), 5 working
//! days (Wednesday 2026-03-04 to Tuesday 2026-03-10: two ISO weeks, and the US daylight-saving
//! change on Sunday 2026-03-08 in between), a 15-minute grid, busy blocks covering about 40% of
//! working time (a tenth of them off the grid by 5 minutes), booked interviews (some before
//! `now`, in the current week) that count towards load limits per day and week, interviewers in
//! several IANA zones, a few inactive. Sizes: `30` (pools of 10), `200` (pools of 40), `1000`
//! (pools of 150); four pools sampled independently, so people sit in several pools.
//!
//! ```text
//! cargo run --release -p scheduling --example instances -- gen SIZE SEED OUT.json
//! cargo run --release -p scheduling --example instances -- time SIZE N [REPS]
//! cargo run --release -p scheduling --example instances -- dump SIZE N DIR
//! cargo run --release -p scheduling --example instances -- solve REQUEST.json
//! ```
//!
//! `INSTANCES_BUSY_PERCENT` (default 40) changes the busy share, for harder stress instances.
//!
//! `time` solves seeds `0..N` (timing only `scheduling::solve` on a parsed request, median of
//! REPS runs per instance), checks every returned option with `scheduling::check` (exit 1 on any
//! violation), and prints one JSON line per instance
//! (`{"seed":..,"end":..,"load":..,"idle":..,"trainees_missing":..,"ms":..}`, `end` null when
//! infeasible) and a last summary line (`{"summary":true,"size":..,"median_ms":..,"p90_ms":..}`).
//! `dump` writes `DIR/SIZE-SEED.json` for seeds `0..N`. `solve` prints the objective line of
//! any request file (for spot checks against `bench/cpsat.py`; every option is checked).

use std::error::Error;
use std::fmt::Write as _;
use std::time::Instant;

use jiff::Timestamp;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn Error>>;

/// splitmix64: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

const ZONES: [&str; 7] = [
    "Europe/Berlin",
    "Europe/London",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "Asia/Kolkata",
    "Asia/Kathmandu",
];

fn pool_size(size: usize) -> Res<usize> {
    match size {
        30 => Ok(10),
        200 => Ok(40),
        1000 => Ok(150),
        _ => Err(format!("size must be 30, 200 or 1000, not {size}").into()),
    }
}

fn rfc(ts: Timestamp) -> String {
    ts.to_string()
}

/// The instant of a local date and minute of the day in a zone.
fn at(tz: &TimeZone, d: Date, minute: i64) -> Res<Timestamp> {
    let dt = d.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
    Ok(tz.to_timestamp(dt)?)
}

fn clock(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// One request of the given size and seed, as JSON.
fn generate(size: usize, seed: u64) -> Res<Value> {
    let pool = pool_size(size)?;
    let busy_percent: usize = match std::env::var("INSTANCES_BUSY_PERCENT") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("invalid INSTANCES_BUSY_PERCENT `{v}`"))?,
        Err(_) => 40,
    };
    let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(size as u64));
    // Working days of the horizon, and the days before `now` in the same ISO week.
    let days = [
        date(2026, 3, 4),
        date(2026, 3, 5),
        date(2026, 3, 6),
        date(2026, 3, 9),
        date(2026, 3, 10),
    ];
    let past = [date(2026, 3, 2), date(2026, 3, 3)];

    let cand_zone = *rng.pick(&["Europe/Berlin", "Europe/London", "Europe/Paris"]);
    let ctz = TimeZone::get(cand_zone)?;
    let mut windows = Vec::new();
    for d in days {
        windows.push(json!([
            rfc(at(&ctz, d, 8 * 60)?),
            rfc(at(&ctz, d, 19 * 60)?)
        ]));
    }

    let mut interviewers = Vec::with_capacity(size);
    for i in 0..size {
        let zone = *rng.pick(&ZONES);
        let tz = TimeZone::get(zone)?;
        let start = 60 * (7 + rng.below(4) as i64); // 07:00 .. 10:00
        let lunch = rng.chance(30);
        let spans: Vec<(i64, i64)> = if lunch {
            vec![(start, start + 240), (start + 300, start + 540)]
        } else {
            vec![(start, start + 480)]
        };
        let hours: Vec<Value> = spans
            .iter()
            .map(|&(a, b)| json!([clock(a), clock(b)]))
            .collect();
        let mut busy = Vec::new();
        let mut booked = Vec::new();
        for d in past.iter().chain(days.iter()) {
            // Busy cells: 15-minute cells of the working spans, about 40% covered.
            let cells: Vec<i64> = spans
                .iter()
                .flat_map(|&(a, b)| (a / 15..b / 15).map(|c| c * 15))
                .collect();
            let target = cells.len() * busy_percent / 100;
            let mut taken = vec![false; cells.len()];
            let mut covered = 0;
            let mut guard = 0;
            while covered < target && guard < 200 {
                guard += 1;
                let len = 1 + rng.below(6) as usize; // 15 .. 90 min
                let first = rng.below(cells.len() as u64) as usize;
                let last = (first + len).min(cells.len());
                for t in &mut taken[first..last] {
                    if !*t {
                        *t = true;
                        covered += 1;
                    }
                }
                let a = cells[first];
                let b = cells[last - 1] + 15;
                let is_booked = rng.chance(8) && b - a >= 45;
                let (sa, sb) = if !is_booked && rng.chance(10) {
                    (a + 5, b - 5) // off the grid: widened by the engine to whole minutes
                } else {
                    (a, b)
                };
                if sb <= sa {
                    continue;
                }
                let block = json!([rfc(at(&tz, *d, sa)?), rfc(at(&tz, *d, sb)?)]);
                if is_booked {
                    booked.push(block);
                } else {
                    busy.push(block);
                }
            }
        }
        let mut person = json!({
            "id": format!("u{i:04}"),
            "zone": zone,
            "working_hours": {
                "mon": hours, "tue": hours, "wed": hours, "thu": hours, "fri": hours
            },
            "busy": busy,
            "booked": booked,
        });
        if rng.chance(50) {
            person["max_per_day"] = json!(1 + rng.below(2));
        }
        if rng.chance(50) {
            person["max_per_week"] = json!(2 + rng.below(4));
        }
        if rng.chance(3) {
            person["active"] = json!(false);
        }
        interviewers.push(person);
    }

    let mut pools = Vec::new();
    for name in ["screen", "coding", "design", "values"] {
        // A random sample of `pool` people (partial Fisher-Yates).
        let mut idx: Vec<usize> = (0..size).collect();
        for k in 0..pool {
            let j = k + rng.below((size - k) as u64) as usize;
            idx.swap(k, j);
        }
        let mut members = Vec::new();
        for (k, &who) in idx[..pool].iter().enumerate() {
            let id = format!("u{who:04}");
            // The coding pool: a fifth of it in training (shadow, reverse shadow or graduated).
            if name == "coding" && k % 5 == 4 {
                members.push(json!({
                    "user": id, "status": "trainee",
                    "shadows_completed": rng.below(3),
                    "reverse_shadows_completed": rng.below(2),
                }));
            } else {
                members.push(json!({ "user": id, "status": "qualified" }));
            }
        }
        let mut p = json!({ "id": name, "members": members });
        if name == "coding" {
            p["required_shadows"] = json!(2);
            p["required_reverse_shadows"] = json!(1);
        }
        pools.push(p);
    }

    let mut interview_loop = json!({
        "sessions": [
            { "id": "screen", "duration_minutes": 45, "seats": [ { "pool": "screen" } ] },
            { "id": "coding", "duration_minutes": 60,
              "seats": [ { "pool": "coding", "count": 2 } ], "trainee": { "pool": "coding" } },
            { "id": "design", "duration_minutes": 60, "seats": [ { "pool": "design" } ] },
            { "id": "values", "duration_minutes": 45, "seats": [ { "pool": "values" } ] }
        ],
        "order": [ { "before": ["screen", "coding"] }, { "last": "values" } ],
        "min_gap_minutes": 0,
        "max_gap_minutes": 60,
        "max_span_minutes": 360
    });
    if rng.chance(50) {
        interview_loop["breaks"] = json!([["12:30", "13:15"]]);
    }
    Ok(json!({
        "now": "2026-03-03T18:00:00Z",
        "grid_minutes": 15,
        "options": 5,
        "loop": interview_loop,
        "candidate": {
            "zone": cand_zone,
            "windows": windows,
            "min_notice_minutes": 720,
            "horizon_days": 8
        },
        "interviewers": interviewers,
        "pools": pools
    }))
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Res<T> {
    args.get(i)
        .ok_or_else(|| format!("missing {what}"))?
        .parse::<T>()
        .map_err(|_| format!("invalid {what}: `{}`", args[i]).into())
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn time(size: usize, n: u64, reps: usize) -> Res<()> {
    let mut medians = Vec::new();
    for seed in 0..n {
        let text = serde_json::to_string(&generate(size, seed)?)?;
        let request = scheduling::parse_request(&text)?;
        let mut times = Vec::with_capacity(reps);
        let mut last = None;
        for _ in 0..reps.max(1) {
            let t0 = Instant::now();
            let solution = scheduling::solve(&request)?;
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            last = Some(solution);
        }
        let solution = last.ok_or("no run")?;
        for option in solution.options() {
            if let Err(violations) = scheduling::check(&request, option) {
                eprintln!(
                    "CHECK FAILED: size {size} seed {seed} option {}: {violations:?}",
                    option.rank
                );
                std::process::exit(1);
            }
        }
        times.sort_by(f64::total_cmp);
        let ms = times[times.len() / 2];
        medians.push(ms);
        println!("{}", objective_line(&format!("{seed}"), &solution, ms)?);
    }
    medians.sort_by(f64::total_cmp);
    println!(
        "{{\"summary\":true,\"size\":{size},\"instances\":{},\"median_ms\":{:.4},\"p90_ms\":{:.4}}}",
        medians.len(),
        percentile(&medians, 0.5),
        percentile(&medians, 0.9)
    );
    Ok(())
}

/// `{"seed":..,"end":..,"load":..,"idle":..,"trainees_missing":..,"ms":..}` of the best option.
fn objective_line(seed: &str, solution: &scheduling::Solution, ms: f64) -> Res<String> {
    let mut line = format!("{{\"seed\":{seed},");
    match solution.options().first() {
        Some(o) => {
            let ob = &o.objective;
            write!(
                line,
                "\"end\":\"{}\",\"load\":{},\"idle\":{},\"trainees_missing\":{},",
                ob.end, ob.load, ob.idle_minutes, ob.trainees_missing
            )?;
        }
        None => {
            line.push_str("\"end\":null,\"load\":null,\"idle\":null,\"trainees_missing\":null,")
        }
    }
    write!(line, "\"ms\":{ms:.4}}}")?;
    Ok(line)
}

/// Solves one request file, checks every option, prints its objective line (`seed`: the file).
fn solve_file(path: &str) -> Res<()> {
    let request = scheduling::parse_request(&std::fs::read_to_string(path)?)?;
    let t0 = Instant::now();
    let solution = scheduling::solve(&request)?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    for option in solution.options() {
        if let Err(violations) = scheduling::check(&request, option) {
            eprintln!(
                "CHECK FAILED: {path} option {}: {violations:?}",
                option.rank
            );
            std::process::exit(1);
        }
    }
    println!(
        "{}",
        objective_line(&serde_json::to_string(path)?, &solution, ms)?
    );
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") => {
            let size: usize = arg(&args, 1, "SIZE")?;
            let seed: u64 = arg(&args, 2, "SEED")?;
            let out = args.get(3).ok_or("missing OUT.json")?;
            let text = serde_json::to_string_pretty(&generate(size, seed)?)?;
            scheduling::parse_request(&text)?;
            std::fs::write(out, text)?;
        }
        Some("time") => {
            let size: usize = arg(&args, 1, "SIZE")?;
            let n: u64 = arg(&args, 2, "N")?;
            let reps: usize = if args.len() > 3 {
                arg(&args, 3, "REPS")?
            } else {
                5
            };
            time(size, n, reps)?;
        }
        Some("solve") => solve_file(args.get(1).ok_or("missing REQUEST.json")?)?,
        Some("dump") => {
            let size: usize = arg(&args, 1, "SIZE")?;
            let n: u64 = arg(&args, 2, "N")?;
            let dir = std::path::Path::new(args.get(3).ok_or("missing DIR")?);
            std::fs::create_dir_all(dir)?;
            for seed in 0..n {
                let text = serde_json::to_string(&generate(size, seed)?)?;
                scheduling::parse_request(&text)?;
                std::fs::write(dir.join(format!("{size}-{seed}.json")), text)?;
            }
        }
        _ => {
            return Err(
                "usage: instances gen SIZE SEED OUT.json | time SIZE N [REPS] | dump SIZE N DIR | solve REQUEST.json"
                    .into(),
            );
        }
    }
    Ok(())
}
