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
use query_compiler::catalog::{CustomEntity, CustomFieldType};
use query_compiler::{CustomFieldDef, Dialect, MemoryCatalog, OrgScope, compile, library};

/// The catalog of the compiler's own tests (`acme_catalog` in `src/tests.rs`), copied.
fn catalog() -> MemoryCatalog {
    let def = |key: &str, field_type, options: &[&str], sensitive| CustomFieldDef {
        key: key.into(),
        label: key.into(),
        field_type,
        options: options.iter().map(|s| s.to_string()).collect(),
        sensitive,
    };
    MemoryCatalog::new(
        1,
        "America/New_York",
        vec![
            (
                CustomEntity::Candidate,
                def("years_of_experience", CustomFieldType::Number, &[], false),
            ),
            (
                CustomEntity::Candidate,
                def("visa_sponsorship", CustomFieldType::Boolean, &[], true),
            ),
            (
                CustomEntity::Application,
                def(
                    "referral_strength",
                    CustomFieldType::Select,
                    &["weak", "medium", "strong"],
                    false,
                ),
            ),
            (
                CustomEntity::Job,
                def(
                    "level",
                    CustomFieldType::Select,
                    &["L3", "L4", "L5", "L6", "L7"],
                    false,
                ),
            ),
            (
                CustomEntity::Candidate,
                def(
                    "languages",
                    CustomFieldType::MultiSelect,
                    &["English", "Spanish", "German"],
                    false,
                ),
            ),
            (
                CustomEntity::Application,
                def("expected_start", CustomFieldType::Date, &[], false),
            ),
        ],
        [
            "Application Review",
            "Phone Screen",
            "Onsite",
            "Offer",
            "Hired",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    )
}

fn bench_compile(c: &mut Criterion) {
    let catalog = catalog();
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
