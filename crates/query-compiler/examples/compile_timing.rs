//! Compile time of every standard report, for `bench/compile.sh` (side by side with prqlc):
//! each report's text to SQL text and parameters (`query_compiler::compile`: parse, resolve,
//! lower, render) for PostgreSQL, against a catalog shaped like a generated org's. Each report is
//! compiled WARMUP times untimed, then N times timed one call at a time; one JSON line per report
//! with the median and p90 in microseconds.
//!
//! ```text
//! cargo run --release -p query-compiler --example compile_timing -- [N] [WARMUP] [postgres|sqlite] [REPORT]
//! ```
//!
//! Defaults: N 2000, WARMUP 200, postgres, every standard report (REPORT: only that one, e.g.
//! to profile it). Output lines:
//! `{"report":"funnel","dialect":"postgres","n":2000,"median_us":12.3,"p90_us":14.0,"sql_bytes":1234}`.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use query_compiler::{Dialect, MemoryCatalog, OrgScope, compile, library};

/// The q-quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let warmup: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let dialect = match args.get(2).map(String::as_str) {
        None | Some("postgres") => Dialect::Postgres,
        Some("sqlite") => Dialect::Sqlite,
        Some(other) => {
            eprintln!("unknown dialect `{other}`: postgres or sqlite");
            return ExitCode::from(2);
        }
    };
    let label = if dialect == Dialect::Postgres {
        "postgres"
    } else {
        "sqlite"
    };
    let catalog = MemoryCatalog::example();
    let mut times = Vec::with_capacity(n);
    let only = args.get(3);
    for (name, text) in library::STANDARD {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let sql_bytes = match compile(text, &catalog, dialect, &OrgScope) {
            Ok(c) => c.sql.len(),
            Err(d) => {
                eprintln!("{name} does not compile:\n{}", d.render(text, name));
                return ExitCode::FAILURE;
            }
        };
        for _ in 0..warmup {
            let _ = black_box(compile(black_box(text), &catalog, dialect, &OrgScope));
        }
        times.clear();
        for _ in 0..n {
            let start = Instant::now();
            let out = compile(black_box(text), &catalog, dialect, &OrgScope);
            times.push(start.elapsed().as_secs_f64() * 1e6);
            drop(black_box(out));
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{{\"report\":\"{name}\",\"dialect\":\"{label}\",\"n\":{n},\"median_us\":{:.3},\"p90_us\":{:.3},\"sql_bytes\":{sql_bytes}}}",
            quantile(&times, 0.5),
            quantile(&times, 0.9)
        );
    }
    ExitCode::SUCCESS
}
