//! `hireplane-privacy-bench`: the utility and the cost of perturbing reports over demographics
//! (docs/privacy.md), for `bench/demographics.sh`. Not part of the product: built only with the
//! `bench` feature of `cli` (`cargo build --release -p cli --features bench`), never installed
//! with `hireplane`, and reachable by no user: it needs the database's own credentials, which
//! already give every row.
//!
//! For each report it runs, as an active admin of the org:
//! - the report as users get it (`app::Services::run_report`: compile, budget, statement with
//!   the record-key sums, publication with the org's secret, audit);
//! - the same report unperturbed: the compiler's public stages (`resolve`, `lower_guarded`,
//!   `render`) with the cells cleared, so the statement counts distinct candidates per group
//!   and nothing else, run by the store, and nothing published (its true counts are printed
//!   only as error statistics).
//!
//! (a) Utility: per report, the relative error |published - true| / true of every published
//! count whose true count is at least 20, and how many such cells were not published.
//! (b) Time: the two runs alternated `--runs` times, medians and their ratio.
#![allow(clippy::print_stdout)]

use anyhow::{Context, Result, anyhow, bail};
use query_compiler::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The reports measured: (name, text, timed).
const REPORTS: &[(&str, &str, bool)] = &[
    ("eeo-applicants", "", true),
    ("eeo-hires", "", true),
    (
        "candidates by location x gender",
        "report candidates group by location as location, demographics.gender as gender show count() as n",
        false,
    ),
    (
        "applications by quarter x race",
        "report applications group by quarter(applied_at) as quarter, candidate.demographics.race_ethnicity as race show count(distinct candidate) as n",
        false,
    ),
    (
        "hires by source kind x veteran",
        "report applications where status = \"hired\" group by source.kind as source, candidate.demographics.veteran_status as veteran show count(distinct candidate) as n",
        false,
    ),
    (
        "department x disability, hire rate",
        "report applications group by job.department.name as department, candidate.demographics.disability_status as disability show count(distinct candidate) as n, count(distinct candidate where status = \"hired\") as hired",
        false,
    ),
];

struct Args {
    database: String,
    org: String,
    runs: usize,
}

fn args() -> Result<Args> {
    let mut database = None;
    let mut org = None;
    let mut runs = 7;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("`{a}` needs a value"));
        match a.as_str() {
            "--database" => database = Some(value()?),
            "--org" => org = Some(value()?),
            "--runs" => runs = value()?.parse().context("`--runs`")?,
            other => bail!("unknown argument `{other}`; give --database URL --org ORG [--runs N]"),
        }
    }
    Ok(Args {
        database: database.ok_or_else(|| anyhow!("give --database URL"))?,
        org: org.ok_or_else(|| anyhow!("give --org ORG"))?,
        runs,
    })
}

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The report unperturbed, compiled as `access` would be: the same statement without the
/// record-key sums (the group's true count last), nothing to publish.
fn unperturbed(
    services: &app::Services,
    store: &mut store::Store,
    org: &str,
    access: &app::Access,
    report: &query_syntax::Report,
) -> Result<query_compiler::Compiled> {
    let catalog = services.catalog(store, org)?;
    let mut ir =
        query_compiler::resolve(report, catalog.as_ref()).map_err(|d| anyhow!("{}", d.message))?;
    ir.cells.clear();
    let dialect = match store.dialect() {
        store::Dialect::Sqlite => query_compiler::Dialect::Sqlite,
        store::Dialect::Postgres => query_compiler::Dialect::Postgres,
    };
    let (select, params, guarded) =
        query_compiler::lower_guarded(&ir, dialect, access.guard.as_ref());
    Ok(query_compiler::Compiled {
        sql: query_compiler::render(&select, dialect),
        columns: query_compiler::columns(&ir),
        params,
        dialect,
        subject: Some(ir.subject),
        restricted: ir.restricted_reads(),
        suppression: query_compiler::suppression(&ir),
        reads_a_page: query_compiler::reads_a_page(&ir),
        time_zone: ir.time_zone.clone(),
        guarded,
    })
}

fn main() -> Result<()> {
    let args = args()?;
    let mut store = store::Store::open(&args.database)?;
    let services = app::Services::new();
    let admin = store
        .active_users(&args.org)?
        .into_iter()
        .find(|u| u.role == "admin")
        .ok_or_else(|| anyhow!("org `{}` has no active admin", args.org))?;
    let access = services.access(&mut store, &args.org, &admin.id)?;
    // The benchmark runs many reports over demographics: the org's budget is raised for it.
    services.set_privacy_settings(
        &mut store,
        &access,
        app::PrivacyChange {
            daily_budget: Some(100_000),
            ..Default::default()
        },
        now(),
    )?;
    // No report here reads a relative range: any day will do.
    let today = jiff::civil::date(2026, 1, 1);
    let mut errors_all: Vec<f64> = Vec::new();
    println!("## (a) utility: relative error of published counts whose true count is >= 20");
    println!(
        "| report | cells >= 20 | published | mean | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut timed = Vec::new();
    for (name, text, time) in REPORTS {
        let text = if text.is_empty() {
            query_compiler::library::get(name).ok_or_else(|| anyhow!("no report `{name}`"))?
        } else {
            text
        };
        let report = query_syntax::parse(text).map_err(|d| anyhow!("{name}: {}", d.message))?;
        let published =
            services.run_report(&mut store, &args.org, &admin.id, &report, today, now())?;
        let plain = unperturbed(&services, &mut store, &args.org, &access, &report)?;
        // How each visible column is published (the same columns in both statements).
        let spec = published
            .compiled
            .suppression
            .clone()
            .ok_or_else(|| anyhow!("{name} is not a report over demographics"))?;
        let truth = store.run_report(&args.org, &plain, today)?.rows;
        let keys: Vec<usize> = spec
            .outputs
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p, query_compiler::demographics::Published::Key))
            .map(|(i, _)| i)
            .collect();
        let counts: Vec<usize> = spec
            .outputs
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p, query_compiler::demographics::Published::Cell(_)))
            .map(|(i, _)| i)
            .collect();
        let key = |r: &[Value]| -> Vec<String> {
            keys.iter().map(|k| format!("{:?}", r.get(*k))).collect()
        };
        let shown: HashMap<Vec<String>, &Vec<Value>> =
            published.rows.rows.iter().map(|r| (key(r), r)).collect();
        let mut errors = Vec::new();
        let mut big = 0usize;
        for t in &truth {
            for c in &counts {
                let Some(Value::Integer(n)) = t.get(*c) else {
                    continue;
                };
                if *n < 20 {
                    continue;
                }
                big += 1;
                if let Some(Value::Integer(p)) = shown.get(&key(t)).and_then(|r| r.get(*c)) {
                    errors.push((p - n).abs() as f64 / *n as f64);
                }
            }
        }
        errors.sort_by(f64::total_cmp);
        let mean = if errors.is_empty() {
            f64::NAN
        } else {
            errors.iter().sum::<f64>() / errors.len() as f64
        };
        println!(
            "| {name} | {big} | {} | {:.2}% | {:.2}% | {:.2}% | {:.2}% | {:.2}% |",
            errors.len(),
            100.0 * mean,
            100.0 * percentile(&errors, 0.5),
            100.0 * percentile(&errors, 0.9),
            100.0 * percentile(&errors, 0.99),
            100.0 * errors.last().copied().unwrap_or(0.0)
        );
        errors_all.extend(errors);
        if *time {
            timed.push((*name, report, plain));
        }
    }
    errors_all.sort_by(f64::total_cmp);
    let max = errors_all.last().copied().unwrap_or(0.0);
    println!(
        "| all | | {} | | {:.2}% | {:.2}% | {:.2}% | {:.2}% |",
        errors_all.len(),
        100.0 * percentile(&errors_all, 0.5),
        100.0 * percentile(&errors_all, 0.9),
        100.0 * percentile(&errors_all, 0.99),
        100.0 * max
    );

    println!(
        "\n## (b) time: standard reports perturbed (as users get them) vs unperturbed, {} alternated runs, medians",
        args.runs
    );
    println!("| report | perturbed | unperturbed | ratio |\n|---|---:|---:|---:|");
    let mut worst: f64 = 0.0;
    for (name, report, _) in &timed {
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..args.runs {
            let t = Instant::now();
            services.run_report(&mut store, &args.org, &admin.id, report, today, now())?;
            with.push(t.elapsed());
            let t = Instant::now();
            // Compiled each time, as the perturbed run is.
            let plain = unperturbed(&services, &mut store, &args.org, &access, report)?;
            store.run_report(&args.org, &plain, today)?;
            without.push(t.elapsed());
        }
        let (a, b) = (median(with), median(without));
        let ratio = a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        worst = worst.max(ratio);
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {ratio:.2}x |",
            a.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3
        );
    }
    println!(
        "\nmax relative error of cells >= 20: {:.2}% (limit 10%); worst time ratio {worst:.2}x (limit 1.5x)",
        100.0 * max
    );
    if max > 0.10 || worst > 1.5 {
        bail!("a limit is exceeded");
    }
    Ok(())
}
