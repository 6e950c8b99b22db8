//! Compile time of every standard report (issue: "median at most 50 µs per report"): report text
//! to SQL text and parameters (`query_compiler::compile`: parse, resolve, lower, render), one
//! benchmark per report and dialect, against a catalog shaped like a generated org's (the custom
//! fields `job.level` and `candidate.years_of_experience` the standard reports use, five stage
//! names).
//!
//! ```text
//! cargo bench -p query-compiler --bench compile
//! cargo bench -p query-compiler --bench compile -- postgres/funnel     # one report
//! ```
//!
//! `bench/compile.sh` runs the same compilations through `examples/compile_timing.rs` side by
//! side with prqlc.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use query_compiler::{Dialect, MemoryCatalog, OrgScope, compile, library};

fn bench_compile(c: &mut Criterion) {
    let catalog = MemoryCatalog::example();
    for (dialect, label) in [(Dialect::Postgres, "postgres"), (Dialect::Sqlite, "sqlite")] {
        let mut group = c.benchmark_group(label);
        for (name, text) in library::STANDARD {
            // A report that does not compile is a broken benchmark: say which and skip it.
            if let Err(d) = compile(text, &catalog, dialect, &OrgScope) {
                eprintln!("{label}/{name} does not compile:\n{}", d.render(text, name));
                continue;
            }
            group.bench_function(*name, |b| {
                b.iter(|| compile(black_box(text), &catalog, dialect, &OrgScope))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench_compile
}
criterion_main!(benches);
