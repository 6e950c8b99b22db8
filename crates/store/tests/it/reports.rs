//! Reports give the same rows on SQLite, on PostgreSQL and in a naive in-memory evaluator
//! (`oracle`), over the same generated org:
//! - every standard report of `reports/` (`query_compiler::library::STANDARD`) on a generated
//!   org of 2,000 applications;
//! - a hand-written corpus of feature queries (every subject, dot paths, custom fields of each
//!   type, dates against timestamps, relative ranges, buckets, every aggregate, rates,
//!   conversion, funnels, multi-grain measures, having, order and limit, null tests, text
//!   matching, `in` and `between`, a report's own time zone, timestamp literals, aggregates
//!   over distinct related records);
//! - random reports drawn from a small grammar over the catalog (random subject, filters, group
//!   keys, measures at the subject's and lower grains and over distinct related records, a
//!   zone now and then, timestamp literals) over a few small generated orgs, with
//!   proptest's deterministic RNG (`HP_REPORTS_CASES=N` for more cases, `HP_REPORTS_COLLECT=1`
//!   to print every disagreement instead of stopping at the first, `HP_REPORTS_VERBOSE=1` to
//!   print each report with its row count and timings);
//! - pairs of reports that must mean the same (a date literal against a timestamp is the whole
//!   local day; `in last/this/previous ...` are the calendar periods seen from `today`; in a
//!   report's own zone (`in zone`) too; timestamp literals, UTC, with offsets and local, across
//!   Berlin's daylight-saving gap and fold), the right-hand side written with bucket labels or
//!   timestamps computed in the test.
//!
//! Numbers are compared with a relative tolerance of 1e-9; rows in order when the report fixes
//! one (`order by`, row reports, funnels), otherwise as multisets. `today` is always explicit.
//! SQLite always runs; the PostgreSQL tests run when `HIREPLANE_TEST_POSTGRES` holds a server
//! URL, each in a freshly created database that is dropped afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
#[path = "../oracle/mod.rs"]
mod oracle;

use common::{Fresh, postgres, sqlite};

use oracle::Org;
use query_compiler::catalog::{Entity, EntityId, Link, Type};
use query_compiler::ir::{Ir, Shape};
use query_compiler::{Catalog, Dialect, MemoryCatalog, OrgScope, Value};
use store::ImportOptions;

/// One generated org: its folder, the oracle's copy, its catalog and the `today` it runs at.
struct Fixture {
    org_id: String,
    _dir: tempfile::TempDir,
    oracle: Org,
    catalog: MemoryCatalog,
    today: jiff::civil::Date,
    stores: Vec<(&'static str, Fresh)>,
}

/// Generates an org and imports it into SQLite (and PostgreSQL when `with_pg`).
fn fixture(org_id: &str, applications: u64, seed: u64, with_pg: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let summary = synth::generate(
        &synth::Config {
            org_id: org_id.into(),
            applications,
            seed,
        },
        dir.path(),
    )
    .unwrap();
    // The data's own "now" (derived from the seed, not the wall clock), so that relative
    // ranges select something.
    let today: jiff::civil::Date = summary.reference_time[..10].parse().unwrap();
    let mut stores = vec![("sqlite", sqlite())];
    if with_pg {
        stores.push(("postgres", postgres("hp_reports")));
    }
    for (_, s) in &mut stores {
        s.store()
            .import(dir.path(), ImportOptions::default(), &mut |_| {})
            .unwrap();
        // The import leaves the new tables without statistics, and PostgreSQL then plans
        // nested loops that take seconds even on a few hundred rows; give it statistics.
        if s.pg.is_some() {
            let mut c = postgres::Client::connect(&s.url, postgres::NoTls).unwrap();
            c.batch_execute("ANALYZE").unwrap();
        }
    }
    let catalog = stores[0].1.store().catalog(org_id).unwrap();
    Fixture {
        org_id: org_id.into(),
        oracle: Org::load(dir.path()),
        _dir: dir,
        catalog,
        today,
        stores,
    }
}

/// A value as compared: numbers (and instants) as floats, lists as JSON.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
    Bool(bool),
    Json(serde_json::Value),
}

fn cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Integer(i) | Value::Instant(i) => Cell::Num(*i as f64),
        Value::Number(f) => Cell::Num(*f),
        Value::Bool(b) => Cell::Bool(*b),
        Value::Text(s) | Value::Date(s) => Cell::Text(s.clone()),
        Value::List(s) | Value::Map(s) => {
            Cell::Json(serde_json::from_str(s).unwrap_or(serde_json::Value::Null))
        }
    }
}

fn close(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Num(x), Cell::Num(y)) => {
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300)
        }
        _ => a == b,
    }
}

fn sort_key(row: &[Cell]) -> String {
    row.iter()
        .map(|c| match c {
            Cell::Null => "~null".to_owned(),
            Cell::Num(x) => format!("{x:+.6e}"),
            Cell::Text(s) => format!("t{s}"),
            Cell::Bool(b) => format!("b{b}"),
            Cell::Json(j) => format!("j{j}"),
        })
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

fn show(rows: &[Vec<Cell>]) -> String {
    rows.iter()
        .map(|r| format!("  {r:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether two results hold the same rows (in the same order when `ordered`).
fn compare(a: &[Vec<Value>], b: &[Vec<Value>], ordered: bool) -> Result<(), String> {
    let conv = |rows: &[Vec<Value>]| -> Vec<Vec<Cell>> {
        let mut out: Vec<Vec<Cell>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
        if !ordered {
            out.sort_by_key(|r| sort_key(r));
        }
        out
    };
    let (a, b) = (conv(a), conv(b));
    let same_row = |x: &Vec<Cell>, y: &Vec<Cell>| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| close(p, q))
    };
    if a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| same_row(x, y)) {
        return Ok(());
    }
    // Describe the difference: rows only on one side (as multisets), or the first reordering.
    let only = |x: &[Vec<Cell>], y: &[Vec<Cell>]| -> Vec<Vec<Cell>> {
        let mut used = vec![false; y.len()];
        x.iter()
            .filter(|r| {
                match y
                    .iter()
                    .enumerate()
                    .position(|(i, s)| !used[i] && same_row(r, s))
                {
                    Some(i) => {
                        used[i] = true;
                        false
                    }
                    None => true,
                }
            })
            .cloned()
            .collect()
    };
    let (oa, ob) = (only(&a, &b), only(&b, &a));
    if oa.is_empty() && ob.is_empty() {
        let i = a
            .iter()
            .zip(&b)
            .position(|(x, y)| !same_row(x, y))
            .unwrap_or(0);
        return Err(format!(
            "same rows, different order; first difference at row {i}:\n  {:?}\nvs\n  {:?}",
            a[i], b[i]
        ));
    }
    let cap = |v: &[Vec<Cell>]| v.iter().take(12).cloned().collect::<Vec<_>>();
    Err(format!(
        "{} rows vs {} rows\nonly in the first ({}):\n{}\nonly in the second ({}):\n{}",
        a.len(),
        b.len(),
        oa.len(),
        show(&cap(&oa)),
        ob.len(),
        show(&cap(&ob))
    ))
}

/// Whether a report's result has a fixed row order.
fn ordered(ir: &Ir) -> bool {
    matches!(ir.shape, Shape::Rows | Shape::Funnel { .. }) || !ir.order.is_empty()
}

enum Outcome {
    Same,
    /// The compiler refused the report with a diagnostic.
    Refused,
    Differs(String),
}

/// Runs one report on every store of the fixture and in the oracle.
fn check(f: &mut Fixture, text: &str) -> Outcome {
    let report = match query_compiler::parse(text) {
        Ok(r) => r,
        Err(_) => return Outcome::Refused,
    };
    let ir = match query_compiler::resolve(&report, &f.catalog) {
        Ok(ir) => ir,
        Err(_) => return Outcome::Refused,
    };
    let verbose = std::env::var_os("HP_REPORTS_VERBOSE").is_some();
    let started = std::time::Instant::now();
    let expected = f.oracle.run(&ir, f.today);
    if verbose {
        eprintln!(
            "{} rows, oracle {:?}: {}",
            expected.len(),
            started.elapsed(),
            text.replace('\n', " ")
        );
    }
    let mut problems = Vec::new();
    let mut results: Vec<(&str, Vec<Vec<Value>>)> = Vec::new();
    for (name, store) in &mut f.stores {
        let dialect = match *name {
            "postgres" => Dialect::Postgres,
            _ => Dialect::Sqlite,
        };
        let compiled = query_compiler::compile_report(&report, &f.catalog, dialect, &OrgScope)
            .unwrap_or_else(|d| {
                panic!(
                    "resolved but did not compile: {}",
                    d.render(text, "<report>")
                )
            });
        let started = std::time::Instant::now();
        let result = store.store().run_report(&f.org_id, &compiled, f.today);
        if verbose {
            eprintln!("  {name} {:?}", started.elapsed());
        }
        match result {
            Ok(mut rows) => {
                // A report split by demographics returns the hidden count of distinct candidates
                // per group last (checked in tests/demographics.rs); the oracle has the columns.
                if compiled.suppression.is_some() {
                    for r in &mut rows.rows {
                        r.truncate(compiled.columns.len());
                    }
                }
                if let Err(e) = compare(&rows.rows, &expected, ordered(&ir)) {
                    problems.push(format!("{name} (first) vs oracle (second): {e}"));
                }
                results.push((name, rows.rows));
            }
            Err(e) => problems.push(format!("{name} failed: {e}\n{}", compiled.sql)),
        }
    }
    if let [(a, ra), (b, rb)] = results.as_slice()
        && let Err(e) = compare(ra, rb, ordered(&ir))
    {
        problems.push(format!("{a} (first) vs {b} (second): {e}"));
    }
    if problems.is_empty() {
        Outcome::Same
    } else {
        Outcome::Differs(problems.join("\n"))
    }
}

/// Runs reports that must all compile and agree; fails listing every disagreement.
fn check_all<'a>(f: &mut Fixture, reports: impl IntoIterator<Item = (&'a str, String)>) {
    let mut failures = Vec::new();
    let mut n = 0;
    for (name, text) in reports {
        n += 1;
        match check(f, &text) {
            Outcome::Same => {}
            Outcome::Refused => {
                let why = query_compiler::parse(&text)
                    .and_then(|r| query_compiler::resolve(&r, &f.catalog).map(|_| ()))
                    .err()
                    .map(|d| d.render(&text, name))
                    .unwrap_or_default();
                failures.push(format!("== {name}: refused\n{why}"));
            }
            Outcome::Differs(e) => failures.push(format!("== {name}\n{}\n{e}", text.trim())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} reports disagree:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

const STANDARD_ORG: (&str, u64, u64) = ("rep", 2_000, 7);

fn standard_reports(with_pg: bool) {
    let (org, apps, seed) = STANDARD_ORG;
    let mut f = fixture(org, apps, seed, with_pg);
    assert!(query_compiler::library::STANDARD.len() >= 17);
    check_all(
        &mut f,
        query_compiler::library::STANDARD
            .iter()
            .map(|(n, t)| (*n, (*t).to_owned())),
    );
}

#[test]
fn standard_reports_agree_on_sqlite_and_in_the_oracle() {
    standard_reports(false);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn standard_reports_agree_on_postgres_sqlite_and_in_the_oracle() {
    standard_reports(true);
}

/// Feature queries, one or a few language features each. `{d1}`..`{d3}` are dates before
/// `today` (90, 180 and 365 days) so that date literals cut through the data.
const CORPUS: &[(&str, &str)] = &[
    (
        "rows-dot-paths",
        "report applications where job.department.name is not null show id, candidate.name, job.title, job.department.name as department, source.kind, applied_at order by applied_at desc limit 25",
    ),
    (
        "rows-default-order",
        "report candidates show id, name, tags, created_at limit 30",
    ),
    (
        "rows-scorecard-scores-and-notes",
        "report feedback where scores is not null and notes contains \"e\" show id, scores, notes, recommendation order by id limit 40",
    ),
    (
        "candidates-custom",
        "report candidates group by custom.work_mode as mode show count() as n, avg(custom.years_of_experience) as years, count(where custom.visa_sponsorship) as visa, min(custom.available_from) as first_available, max(custom.linkedin_url) as last_url",
    ),
    (
        "multi-select-contains",
        "report candidates where custom.languages contains \"English\" show count() as n",
    ),
    (
        "multi-select-not-contains",
        "report candidates where custom.languages not contains \"English\" show count() as n",
    ),
    (
        "application-custom",
        "report applications where custom.relocation = true or custom.notice_period_weeks >= 4 group by custom.screening_rating as rating show count() as n, sum(custom.notice_period_weeks) as weeks, max(custom.earliest_start) as latest_start",
    ),
    (
        "job-custom",
        "report jobs where custom.remote_eligible group by custom.priority as priority, custom.level as level show count() as jobs, sum(headcount) as headcount, min(custom.target_start) as start",
    ),
    (
        "job-multi-select",
        "report jobs where custom.required_skills contains \"Rust\" show title, custom.required_skills as skills, custom.cost_center order by title",
    ),
    (
        "custom-date-literal",
        "report applications where custom.earliest_start >= {d2} show count() as n",
    ),
    (
        "instant-equals-date",
        "report applications where applied_at = {d1} show id, applied_at",
    ),
    (
        "instant-vs-date-bounds",
        "report applications group by applied_at < {d2} as before, applied_at <= {d2} as through, applied_at > {d2} as after show count() as n",
    ),
    (
        "instant-between-dates",
        "report interviews where starts_at between {d3} and {d2} show count() as n, min(starts_at) as first, max(ends_at) as latest",
    ),
    (
        "relative-ranges",
        "report applications group by applied_at in last 30 days as last30, applied_at in this month as this_month, applied_at in previous quarter as prev_q, applied_at in last 2 years as two_years show count() as n",
    ),
    (
        "relative-weeks-dates",
        "report offers where start_date in last 26 weeks or start_date in this year show count() as n, min(start_date) as first",
    ),
    (
        "not-in-relative",
        "report applications where applied_at not in last 180 days show count() as n",
    ),
    (
        "buckets",
        "report applications group by day(applied_at) as day, week(applied_at) as week, month(applied_at) as month, quarter(applied_at) as quarter, year(applied_at) as year show count() as n order by day desc limit 40",
    ),
    (
        "date-buckets",
        "report offers where start_date is not null group by week(start_date) as week, quarter(start_date) as q show count() as n order by week",
    ),
    (
        "every-aggregate",
        "report applications where status = \"hired\" group by source.kind as kind show count() as n, count(distinct candidate) as people, sum(time_to_hire) as total, avg(time_to_hire) as mean, min(time_to_hire) as fastest, max(time_to_hire) as slowest, median(time_to_hire) as median, percentile(time_to_hire, 90) as p90, percentile(time_to_hire, 0) as p0, percentile(time_to_hire, 100) as p100",
    ),
    (
        "count-distinct",
        "report interview_participants group by role show count() as seats, count(distinct user) as people, count(distinct interview) as interviews, count(distinct interview.application) as applications",
    ),
    (
        "rates",
        "report applications group by job.employment_type as type show rate(status = \"hired\") as hired, rate(status = \"archived\" and archive_reason contains \"fit\") as not_fit, rate(source is null) as no_source",
    ),
    (
        "conversion",
        "report applications group by job.department.name as department show conversion(kind(\"screen\"), kind(\"onsite\")) as s2o, conversion(kind(\"application_review\"), kind(\"hired\") where applied_at in last 365 days) as r2h",
    ),
    (
        "funnel-groups",
        "report applications group by source.kind as kind, job.employment_type as type funnel kind(\"application_review\"), kind(\"screen\"), kind(\"onsite\"), kind(\"offer\"), kind(\"hired\")",
    ),
    (
        "funnel-limit",
        "report applications group by job.department.name as department funnel kind(\"screen\"), kind(\"offer\") order by department desc limit 2",
    ),
    (
        "funnel-names",
        "report applications where applied_at in last 2 years group by job.employment_type as type funnel \"Hired\", kind(\"offer\") order by type desc",
    ),
    (
        "multi-grain-jobs",
        "report jobs group by department.name as department show count() as jobs, count(applications) as applications, count(applications where status = \"hired\") as hires, count(applications.interviews) as interviews, count(applications.interviews where status = \"completed\") as done, avg(applications.feedback.score) as score, count(applications.offers where current) as offers, count(stages) as stages, count(hiring_team) as team, max(applications.applied_at) as last_applied",
    ),
    (
        "multi-grain-users",
        "report users group by role show count() as users, count(feedback) as scorecards, avg(feedback.score) as score, count(interview_participants where role = \"shadow\") as shadows, count(distinct interview_participants.interview) as interviews, count(hiring_team) as teams",
    ),
    (
        "multi-grain-deep",
        "report departments group by name show count(jobs) as jobs, count(jobs.applications) as applications, count(jobs.applications.stage_transitions) as moves, median(jobs.applications.stage_transitions.days_in_stage) as days, sum(jobs.headcount) as headcount",
    ),
    (
        "having-order-limit",
        "report applications group by job.title as title show count() as n, count(where status = \"hired\") as hires having n >= 5 and hires > 0 order by hires desc, n limit 7",
    ),
    (
        "order-by-hidden-aggregate",
        "report applications group by current_stage.name as stage show count() as n order by max(current_stage.position) desc, stage",
    ),
    (
        "null-tests",
        "report applications group by source is null as no_source, credited_to is null as uncredited, hired_at is not null as hired, current_offer is null as no_offer show count() as n",
    ),
    (
        "demographics",
        "report candidates group by demographics.gender as gender, location as place show count() as n",
    ),
    (
        "text-match",
        "report candidates where name contains \"an\" or name starts with \"Ó\" or name ends with \"SON\" or location contains \"é\" show count() as n, count(where name not starts with \"a\") as not_a",
    ),
    (
        "text-match-unicode",
        "report jobs group by title contains \"É\" as accent, title ends with \"er\" as er show count() as n",
    ),
    (
        "in-between",
        "report offers where status in (\"accepted\", \"declined\") and version between 1 and 2 and salary not between 100 and 1000 group by status, salary_period show count() as n, avg(salary) as salary, sum(bonus) as bonus, count(where bonus is null) as no_bonus",
    ),
    (
        "not-in",
        "report applications where status not in (\"archived\") and archive_reason is null show count() as n",
    ),
    (
        "arithmetic",
        "report applications where status = \"hired\" show id, round(time_to_hire * 24, 2) as hours, -time_to_hire as neg, days_between(applied_at, hired_at) as days, coalesce(archived_at, hired_at) as ended order by id limit 20",
    ),
    (
        "days-since",
        "report jobs show title, round(days_since(opened_at), 3) as open_days, days_since(custom.target_start) as since_target, status order by opened_at, title",
    ),
    (
        "days-between-dates",
        "report offers where start_date is not null show id, days_between(start_date, {d1}) as to_d1 order by id limit 30",
    ),
    (
        "stage-transitions",
        "report stage_transitions group by stage.kind as kind, from_stage is null as first show count() as n, avg(days_in_stage) as days, count(where left_at is null) as current, max(left_at) as last_left",
    ),
    (
        "interviews",
        "report interviews where status != \"cancelled\" group by stage.kind as stage, application.job.department.name as department show count() as n, sum(duration_minutes) as minutes, count(feedback) as scorecards, count(interview_participants) as seats",
    ),
    (
        "feedback",
        "report feedback group by recommendation, interview.status as status show count() as n, avg(score) as score, min(submitted_at) as first",
    ),
    (
        "offers-current",
        "report offers group by current, application.status as status show count() as n, max(version) as max_version",
    ),
    (
        "sources-stages-team",
        "report hiring_team group by role, user.role as user_role show count() as n, count(distinct job) as jobs",
    ),
    (
        "sources",
        "report sources group by name, kind show count(applications) as applications, rate(kind = \"referral\") as referral order by applications desc, name",
    ),
    (
        "stages-subject",
        "report stages where kind in (\"onsite\", \"offer\") group by name show count() as stages, count(stage_transitions) as entries, avg(position) as position",
    ),
    (
        "reached",
        "report applications group by reached(\"Hired\") as hired_name, reached(kind(\"onsite\")) as onsite show count() as n",
    ),
    (
        "users-rows",
        "report users where active and max_interviews_per_day is not null show name, email, timezone, max_interviews_per_day, max_interviews_per_week order by max_interviews_per_day desc, name limit 15",
    ),
    (
        "empty-result",
        "report applications where status = \"hired\" and hired_at is null show count() as n, avg(time_to_hire) as t, sum(time_to_hire) as s",
    ),
    (
        "empty-groups",
        "report applications where status = \"hired\" and hired_at is null group by source.kind show count() as n",
    ),
    (
        "formula-nulls",
        "report applications group by status show count(where hired_at is not null) as hires, count() as n, round(hires / n, 4) as share, avg(time_to_hire) is null as no_time, hires * 2 - n as score",
    ),
    (
        "bool-fields",
        "report jobs group by confidential, status show count() as n, count(where not confidential) as open_ones",
    ),
    (
        "round-halves",
        "report jobs show title, round(headcount * 0 + 5.55, 1) as a, round(headcount * 0 + 0.285, 2) as b, round(headcount * 0 - 2.675, 2) as c, round(headcount * 0 + 2.5) as d order by title limit 1",
    ),
    (
        "round-halves-formula",
        "report jobs show round(sum(headcount) * 0 + 5.55, 1) as a, round(count() * 0 + 1.005, 2) as b",
    ),
    (
        "current-through-path",
        "report applications group by current_offer.current as current, current_offer.status as status show count() as n",
    ),
    (
        "current-through-path-filter",
        "report feedback where application.current_offer.current show count() as n",
    ),
    (
        "zone-buckets-utc",
        "report applications in zone \"UTC\" group by day(applied_at) as day, week(applied_at) as week, month(applied_at) as month, quarter(applied_at) as q, year(applied_at) as y show count() as n order by day desc limit 40",
    ),
    (
        "zone-buckets-far-east",
        "report interviews in zone \"Pacific/Kiritimati\" group by day(starts_at) as d, month(starts_at) as m show count() as n order by d limit 40",
    ),
    (
        "zone-relative-ranges",
        "report applications in zone \"America/Los_Angeles\" group by applied_at in last 30 days as last30, applied_at in this month as this_month, applied_at in previous quarter as prev_q, hired_at in last 2 years as two_years show count() as n",
    ),
    (
        "zone-days-since-and-date-literal",
        "report jobs in zone \"Asia/Kolkata\" where opened_at >= {d3} show title, round(days_since(opened_at), 3) as open_days order by opened_at, title",
    ),
    (
        "zone-date-literal-day",
        "report applications in zone \"UTC\" where applied_at = {d1} show id, applied_at",
    ),
    (
        "timestamp-literals",
        "report applications where applied_at >= {d3}T00:00Z and applied_at < {d1}T12:30:00+05:30 group by month(applied_at) as m show count() as n, min(applied_at) as first, max(applied_at) as latest",
    ),
    (
        "timestamp-literals-local",
        "report interviews in zone \"America/New_York\" where starts_at between {d3}T09:00 and {d2}T17:30:00.5 show count() as n, min(starts_at) as first, max(starts_at) as latest, round(avg(days_between(starts_at, {d1}T00:00Z)), 6) as days",
    ),
    (
        "distinct-records-per-group",
        "report applications group by job.department.name as department show avg(distinct candidate.custom.years_of_experience) as years, sum(distinct job.headcount) as headcount, count(distinct candidate) as people, count() as n, avg(candidate.custom.years_of_experience) as per_application",
    ),
    (
        "distinct-records-from-a-list",
        "report jobs group by department.name as department show avg(distinct applications.candidate.custom.years_of_experience where status != \"archived\") as years, median(distinct applications.candidate.custom.years_of_experience) as mid, max(distinct applications.candidate.created_at) as newest, min(distinct applications.source.name) as first_source, count(applications) as apps",
    ),
    (
        "distinct-records-without-keys",
        "report applications where status = \"hired\" show sum(distinct job.headcount) as headcount, min(distinct job.department.name) as dept, percentile(distinct candidate.custom.years_of_experience, 75) as p75, count() as n",
    ),
    (
        "distinct-records-two-lists-down",
        "report departments group by name show sum(distinct jobs.applications.candidate.custom.years_of_experience) as years, count(jobs.applications) as apps, avg(distinct jobs.applications.job.headcount) as heads",
    ),
    (
        "distinct-records-two-steps-up",
        "report interviews group by status show avg(distinct application.candidate.custom.years_of_experience) as years, sum(distinct application.job.headcount) as heads, count() as n",
    ),
    (
        "upcoming-interviews",
        "report interviews where starts_at >= today and status != \"cancelled\" group by day(starts_at) as day show count() as n, min(starts_at) as first order by day",
    ),
    (
        "today-and-next",
        "report applications group by applied_at < today as before, applied_at in next 30 days as next30 show count() as n, count(interviews where starts_at in next 2 weeks) as soon, count(where hired_at = today) as hired_today, min(current_offer.start_date) as start",
    ),
    (
        "stage-kind-order",
        "report stages group by kind, kind_order show count() as n, count(stage_transitions) as entries order by kind_order",
    ),
];

fn corpus(with_pg: bool) {
    let (org, apps, seed) = STANDARD_ORG;
    let mut f = fixture(org, apps, seed, with_pg);
    let day = |n: i64| {
        f.today
            .checked_sub(jiff::Span::new().days(n))
            .unwrap()
            .to_string()
    };
    let (d1, d2, d3) = (day(90), day(180), day(365));
    let reports: Vec<(&str, String)> = CORPUS
        .iter()
        .map(|(n, t)| {
            (
                *n,
                t.replace("{d1}", &d1)
                    .replace("{d2}", &d2)
                    .replace("{d3}", &d3),
            )
        })
        .collect();
    check_all(&mut f, reports);
}

/// Pairs of reports that mean the same: a date literal against a timestamp is the whole local
/// day, and a relative range is the calendar days, weeks, months, quarters or years it names,
/// seen from `today` in the report's zone. The right-hand side is written with day, week, month,
/// quarter and year labels computed here with jiff, so this checks the resolver's day bounds and
/// `bind`'s ranges independently of both.
fn equivalences(with_pg: bool) {
    use jiff::civil::Date;
    let (org, apps, seed) = STANDARD_ORG;
    let mut f = fixture(org, apps, seed, with_pg);
    let t = f.today;
    let minus = |d: Date, n: i64| d.checked_sub(jiff::Span::new().days(n)).unwrap();
    let months = |d: Date, n: i64| d.checked_sub(jiff::Span::new().months(n)).unwrap();
    let month = |d: Date| format!("{:04}-{:02}", d.year(), d.month());
    let quarter = |d: Date| format!("{:04}-Q{}", d.year(), (d.month() + 2) / 3);
    let week = |d: Date| {
        let w = d.iso_week_date();
        format!("{:04}-W{:02}", w.year(), w.week())
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    // Ordinary days, and the days the clocks change in Europe (the org's zone is Berlin).
    let days = [
        minus(t, 90),
        minus(t, 180),
        "2025-03-30".parse().unwrap(),
        "2025-10-26".parse().unwrap(),
    ];
    for d in days {
        for op in ["=", "!=", "<", "<=", ">", ">="] {
            pairs.push((
                format!("applied_at {op} {d}"),
                format!("day(applied_at) {op} \"{d}\""),
            ));
        }
        pairs.push((
            format!("hired_at between {d} and {t}"),
            format!("day(hired_at) between \"{d}\" and \"{t}\""),
        ));
    }
    // `today` is the date the report runs on, in its zone: against a timestamp, its whole day.
    for field in ["applied_at", "starts_at"] {
        for op in ["=", "!=", "<", "<=", ">", ">="] {
            pairs.push((
                format!("{field} {op} today"),
                format!("day({field}) {op} \"{t}\""),
            ));
        }
        pairs.push((
            format!("today <= {field}"),
            format!("day({field}) >= \"{t}\""),
        ));
        pairs.push((
            format!("{field} between {} and today", minus(t, 30)),
            format!("day({field}) between \"{}\" and \"{t}\"", minus(t, 30)),
        ));
        pairs.push((
            format!("{field} >= today in zone \"Pacific/Kiritimati\""),
            format!("day({field}) >= \"{t}\" in zone \"Pacific/Kiritimati\""),
        ));
    }
    // A date field against `today`: the date.
    for op in ["=", "<", ">="] {
        pairs.push((
            format!("current_offer.start_date {op} today"),
            format!("current_offer.start_date {op} {t}"),
        ));
    }
    let between = |from: Date, to: Date| format!("between \"{from}\" and \"{to}\"");
    // Applications' `applied_at`, and (from feedback) an interview's `starts_at`.
    for field in ["applied_at", "interview.starts_at", "starts_at"] {
        let mut add = |range: String, unit: &str, rhs: String| {
            pairs.push((
                format!("{field} in {range}"),
                format!("{unit}({field}) {rhs}"),
            ));
        };
        add("last 1 day".into(), "day", format!("= \"{t}\""));
        add("last 30 days".into(), "day", between(minus(t, 29), t));
        add("last 2 weeks".into(), "day", between(minus(t, 13), t));
        add(
            "last 3 months".into(),
            "day",
            between(minus(months(t, 3), -1), t),
        );
        add(
            "last 4 quarters".into(),
            "day",
            between(minus(months(t, 12), -1), t),
        );
        add(
            "last 2 years".into(),
            "day",
            between(minus(months(t, 24), -1), t),
        );
        // `next N units`: from the start of today to the end of the day N units ahead.
        add("next 1 day".into(), "day", between(t, minus(t, -1)));
        add("next 7 days".into(), "day", between(t, minus(t, -7)));
        add("next 2 weeks".into(), "day", between(t, minus(t, -14)));
        add("next 3 months".into(), "day", between(t, months(t, -3)));
        add("next 1 quarter".into(), "day", between(t, months(t, -3)));
        add("next 1 year".into(), "day", between(t, months(t, -12)));
        add("this day".into(), "day", format!("= \"{t}\""));
        add(
            "previous day".into(),
            "day",
            format!("= \"{}\"", minus(t, 1)),
        );
        add("this week".into(), "week", format!("= \"{}\"", week(t)));
        add(
            "previous week".into(),
            "week",
            format!("= \"{}\"", week(minus(t, 7))),
        );
        add("this month".into(), "month", format!("= \"{}\"", month(t)));
        add(
            "previous month".into(),
            "month",
            format!("= \"{}\"", month(months(t, 1))),
        );
        add(
            "this quarter".into(),
            "quarter",
            format!("= \"{}\"", quarter(t)),
        );
        add(
            "previous quarter".into(),
            "quarter",
            format!("= \"{}\"", quarter(months(t, 3))),
        );
        add("this year".into(), "year", format!("= \"{}\"", t.year()));
        add(
            "previous year".into(),
            "year",
            format!("= \"{}\"", t.year() - 1),
        );
    }
    // A report's own zone (`in zone`, written after the condition: the clause may come
    // anywhere) and timestamp literals: UTC, with an offset, and local in the report's zone.
    for d in days {
        let next = minus(d, -1);
        pairs.push((
            format!("applied_at = {d} in zone \"UTC\""),
            format!("applied_at >= {d}T00:00Z and applied_at < {next}T00:00Z"),
        ));
        pairs.push((
            format!("applied_at = {d}"),
            format!("applied_at >= {d}T00:00 and applied_at < {next}T00:00"),
        ));
        pairs.push((
            format!("day(applied_at) = \"{d}\" in zone \"Asia/Kolkata\""),
            format!("applied_at >= {d}T00:00+05:30 and applied_at < {next}T00:00:00.000+05:30"),
        ));
        pairs.push((
            format!("month(hired_at) = \"{}\" in zone \"UTC\"", month(d)),
            format!(
                "hired_at >= {}T00:00Z and hired_at < {}T00:00Z",
                d.first_of_month(),
                d.last_of_month().tomorrow().unwrap()
            ),
        ));
    }
    // Berlin's spring gap (02:30 does not exist: moved forward to 03:30 CEST) and autumn fold
    // (02:30 happens twice: the earlier, CEST).
    pairs.push((
        "applied_at >= 2025-03-30T02:30".into(),
        "applied_at >= 2025-03-30T01:30Z".into(),
    ));
    pairs.push((
        "applied_at >= 2025-10-26T02:30".into(),
        "applied_at >= 2025-10-26T00:30Z".into(),
    ));
    // Ranges and buckets in the report's zone agree with each other.
    for zone in ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"] {
        let z = format!("in zone \"{zone}\"");
        pairs.push((
            format!("applied_at in last 30 days {z}"),
            format!("day(applied_at) {} {z}", between(minus(t, 29), t)),
        ));
        pairs.push((
            format!("applied_at in this month {z}"),
            format!("month(applied_at) = \"{}\" {z}", month(t)),
        ));
        pairs.push((
            format!("applied_at in previous quarter {z}"),
            format!("quarter(applied_at) = \"{}\" {z}", quarter(months(t, 3))),
        ));
    }
    let mut failures = Vec::new();
    for (a, b) in &pairs {
        let subject = if a.starts_with("interview.") {
            "feedback"
        } else if a.starts_with("starts_at") || a.contains(" starts_at") {
            "interviews"
        } else {
            "applications"
        };
        let ra = format!("report {subject} where {a} show count() as n, min(id) as first");
        let rb = format!("report {subject} where {b} show count() as n, min(id) as first");
        for r in [&ra, &rb] {
            match check(&mut f, r) {
                Outcome::Same => {}
                Outcome::Refused => failures.push(format!("refused: {r}")),
                Outcome::Differs(e) => failures.push(format!("{r}\n{e}")),
            }
        }
        let run = |r: &str| {
            let ir =
                query_compiler::resolve(&query_compiler::parse(r).unwrap(), &f.catalog).unwrap();
            f.oracle.run(&ir, f.today)
        };
        let (xa, xb) = (run(&ra), run(&rb));
        if let Err(e) = compare(&xa, &xb, true) {
            failures.push(format!("not the same:\n{ra}\n{rb}\n{e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} equivalences fail:\n\n{}",
        failures.len(),
        pairs.len(),
        failures.join("\n\n")
    );
    // The fixture has interviews after `today` and applications on it, so the `today` and
    // `next` pairs compare rows, not two empty answers.
    for text in [
        "report interviews where starts_at > today show count() as n",
        "report interviews where starts_at in next 7 days show count() as n",
        "report applications where applied_at in last 2 days and applied_at <= today show count() as n",
    ] {
        let ir =
            query_compiler::resolve(&query_compiler::parse(text).unwrap(), &f.catalog).unwrap();
        let rows = f.oracle.run(&ir, f.today);
        assert!(
            matches!(rows[0][0], Value::Integer(n) if n > 0),
            "{text}: {rows:?}"
        );
    }
}

#[test]
fn date_literals_and_relative_ranges_mean_local_calendar_days() {
    equivalences(false);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn date_literals_and_relative_ranges_mean_local_calendar_days_on_postgres() {
    equivalences(true);
}

/// `email = "..."` and `!=` compare regardless of case (docs/report-language.md): an email of
/// the generated org, upper-cased, finds its candidate, on every store and in the oracle.
fn emails_compare_regardless_of_case(with_pg: bool) {
    let (org, apps, seed) = STANDARD_ORG;
    let mut f = fixture(org, apps, seed, with_pg);
    let candidates = std::fs::read_to_string(f._dir.path().join("candidates.jsonl")).unwrap();
    let email = candidates
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|c| c["email"].as_str().map(str::to_owned))
        .unwrap();
    let upper = email.to_uppercase();
    assert_ne!(upper, email, "the email has letters");
    let count = format!("report candidates where email = \"{upper}\" show count() as n");
    check_all(
        &mut f,
        [
            ("email-folded", count.clone()),
            (
                "email-folded-not",
                format!(
                    "report applications where candidate.email != \"{upper}\" show count() as n, count(where candidate.email = \"{email}\") as same"
                ),
            ),
        ],
    );
    // Not only equal to the oracle: the upper-cased email finds its one candidate.
    let report = query_compiler::parse(&count).unwrap();
    for (_, store) in &mut f.stores {
        let compiled =
            query_compiler::compile_report(&report, &f.catalog, Dialect::Sqlite, &OrgScope);
        let compiled = match store.pg {
            Some(_) => {
                query_compiler::compile_report(&report, &f.catalog, Dialect::Postgres, &OrgScope)
            }
            None => compiled,
        }
        .unwrap();
        let rows = store
            .store()
            .run_report(&f.org_id, &compiled, f.today)
            .unwrap();
        assert_eq!(rows.rows, vec![vec![Value::Integer(1)]], "{upper}");
    }
}

#[test]
fn emails_compare_regardless_of_case_on_sqlite_and_in_the_oracle() {
    emails_compare_regardless_of_case(false);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn emails_compare_regardless_of_case_on_postgres_sqlite_and_in_the_oracle() {
    emails_compare_regardless_of_case(true);
}

#[test]
fn feature_corpus_agrees_on_sqlite_and_in_the_oracle() {
    corpus(false);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn feature_corpus_agrees_on_postgres_sqlite_and_in_the_oracle() {
    corpus(true);
}

// ---- random reports --------------------------------------------------------------------------

/// A small deterministic generator (splitmix64), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A row-level value reachable from an entity: its path as written and its type.
struct Term {
    path: String,
    ty: Type,
}

/// Fields of `entity` and of entities up to `depth` to-one steps away.
fn terms(cat: &MemoryCatalog, entity: EntityId, prefix: &str, depth: usize, out: &mut Vec<Term>) {
    let e = Entity::get(entity);
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    for f in e.fields {
        out.push(Term {
            path: join(f.name),
            ty: f.ty.clone(),
        });
    }
    if let Some(owner) = e.custom {
        for d in cat.custom_fields(owner) {
            out.push(Term {
                path: join(&format!("custom.{}", d.key)),
                ty: d.ty(),
            });
        }
    }
    if depth > 0 {
        for r in e.relations {
            if !r.is_to_many() {
                terms(cat, r.target, &join(r.name), depth - 1, out);
            }
        }
    }
}

struct ReportGen<'a> {
    rng: Rng,
    cat: &'a MemoryCatalog,
    today: jiff::civil::Date,
}

impl ReportGen<'_> {
    fn date(&mut self) -> String {
        let back = *self
            .rng
            .pick(&[-30i64, -7, -1, 0, 1, 7, 30, 45, 90, 200, 365, 500, 800]);
        self.today
            .checked_sub(jiff::Span::new().days(back))
            .unwrap()
            .to_string()
    }

    /// A timestamp literal: UTC, with an offset, or local (in the report's zone).
    fn timestamp(&mut self) -> String {
        let date = self.date();
        let (h, m) = (self.rng.below(24), *self.rng.pick(&[0, 15, 30, 59]));
        let offset = *self.rng.pick(&["Z", "", "+05:30", "-08:00", ":59.999999Z"]);
        format!("{date}T{h:02}:{m:02}{offset}")
    }

    /// A date literal, or `today`.
    fn day(&mut self) -> String {
        if self.rng.chance(20) {
            "today".into()
        } else {
            self.date()
        }
    }

    fn number(&mut self) -> &'static str {
        const NUMBERS: &[&str] = &[
            "0", "1", "2", "3", "4", "5", "10", "30", "2.5", "100", "1000", "100000",
        ];
        NUMBERS[self.rng.below(NUMBERS.len())]
    }

    fn range(&mut self) -> String {
        let which = self.rng.below(4);
        let unit = *self.rng.pick(&["day", "week", "month", "quarter", "year"]);
        match which {
            0 => format!("last {} {unit}s", self.rng.pick(&[1, 2, 3, 6, 12, 30, 90])),
            3 => format!("next {} {unit}s", self.rng.pick(&[1, 2, 3, 6, 12, 30, 90])),
            1 => format!("this {unit}"),
            _ => format!("previous {unit}"),
        }
    }

    fn text(&mut self) -> &'static str {
        const TEXTS: &[&str] = &[
            "a", "e", "an", "S", "er", "ÉN", "é", "ö", "Eng", "-", "", "%", "_",
        ];
        TEXTS[self.rng.below(TEXTS.len())]
    }

    /// A condition on rows of `entity`.
    fn predicate(&mut self, entity: EntityId) -> String {
        let mut ts = Vec::new();
        terms(self.cat, entity, "", 2, &mut ts);
        let t = &ts[self.rng.below(ts.len())];
        let p = t.path.clone();
        let neg = if self.rng.chance(25) { "not " } else { "" };
        if self.rng.chance(10) {
            return format!("{p} is {neg}null");
        }
        // Two fields of one type compared with each other.
        if self.rng.chance(10) {
            let same: Vec<&Term> = ts
                .iter()
                .filter(|u| {
                    u.ty == t.ty
                        && matches!(
                            u.ty,
                            Type::Text | Type::Integer | Type::Number | Type::Instant | Type::Date
                        )
                })
                .collect();
            if !same.is_empty() {
                let u = self.rng.pick(&same).path.clone();
                let op = *self.rng.pick(&["=", "!=", "<", ">="]);
                return format!("{p} {op} {u}");
            }
        }
        match &t.ty {
            // A map (a scorecard's scores) is only tested for null.
            Type::Map => format!("{p} is {neg}null"),
            Type::Text => match self.rng.below(5) {
                0 => format!("{p} {neg}contains \"{}\"", self.text()),
                1 => format!("{p} {neg}starts with \"{}\"", self.text()),
                2 => format!("{p} {neg}ends with \"{}\"", self.text()),
                3 => format!("{p} < \"{}\"", self.text()),
                _ => format!("{p} != \"{}\"", self.text()),
            },
            Type::Enum(_) | Type::Select(_) => {
                let choices: Vec<String> =
                    t.ty.choices()
                        .unwrap_or_default()
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                if choices.is_empty() {
                    return format!("{p} is not null");
                }
                let a = self.rng.pick(&choices).clone();
                let b = self.rng.pick(&choices).clone();
                match self.rng.below(3) {
                    0 => format!("{p} = \"{a}\""),
                    1 => format!("{p} {neg}in (\"{a}\", \"{b}\")"),
                    _ => format!("{p} != \"{a}\""),
                }
            }
            Type::Multi(options) => {
                let v = if options.is_empty() {
                    self.rng
                        .pick(&["campus", "bootcamp", "relocation", "x"])
                        .to_string()
                } else {
                    self.rng.pick(options).clone()
                };
                format!("{p} {neg}contains \"{v}\"")
            }
            Type::Integer | Type::Number => {
                let n = self.number();
                match self.rng.below(6) {
                    0 => format!("{p} > {n}"),
                    1 => format!("{p} <= {n}"),
                    2 => format!("{p} {neg}between {n} and {}", self.number()),
                    3 => format!("{p} {neg}in ({n}, {})", self.number()),
                    4 => format!("coalesce({p}, {n}) = {n}"),
                    _ => format!("{p} * 2 - 1 >= {n}"),
                }
            }
            Type::Bool => match self.rng.below(3) {
                0 => p,
                1 => format!("not {p}"),
                _ => format!("{p} = false"),
            },
            Type::Instant => match self.rng.below(8) {
                6 => format!("{p} >= {}", self.timestamp()),
                7 => format!("{p} {neg}between {} and {}", self.timestamp(), self.day()),
                0 => format!("{p} > {}", self.day()),
                1 => format!("{p} = {}", self.day()),
                2 => format!("{p} <= {}", self.day()),
                3 => format!("{p} {neg}between {} and {}", self.day(), self.day()),
                4 => format!("days_since({p}) > {}", self.number()),
                _ => format!("{p} {neg}in {}", self.range()),
            },
            Type::Date => match self.rng.below(3) {
                0 => format!("{p} >= {}", self.day()),
                1 => format!("{p} {neg}in {}", self.range()),
                _ => format!("{p} < {}", self.day()),
            },
        }
    }

    fn conditions(&mut self, entity: EntityId) -> String {
        let n = 1 + self.rng.below(2);
        let parts: Vec<String> = (0..n).map(|_| self.predicate(entity)).collect();
        let op = if self.rng.chance(70) { " and " } else { " or " };
        parts.join(op)
    }

    /// A group key on the subject's rows, or `None` when none fits.
    fn group_key(&mut self, subject: EntityId) -> Option<String> {
        let mut ts = Vec::new();
        terms(self.cat, subject, "", 2, &mut ts);
        ts.retain(|t| !matches!(t.ty, Type::Multi(_) | Type::Map | Type::Number));
        let t = &ts[self.rng.below(ts.len())];
        Some(match t.ty {
            Type::Instant | Type::Date => {
                let unit = self.rng.pick(&["day", "week", "month", "quarter", "year"]);
                format!("{unit}({})", t.path)
            }
            _ if self.rng.chance(10) => format!("{} is null", t.path),
            _ => t.path.clone(),
        })
    }

    /// A measure over the subject's rows or a grain below it.
    fn measure(&mut self, subject: EntityId) -> String {
        let s = Entity::get(subject);
        let many: Vec<_> = s.relations.iter().filter(|r| r.is_to_many()).collect();
        if !many.is_empty() && self.rng.chance(35) {
            let r = *self.rng.pick(&many);
            let mut prefix = r.name.to_owned();
            let mut entity = r.target;
            let deeper: Vec<_> = Entity::get(entity)
                .relations
                .iter()
                .filter(|r| matches!(r.link, Link::ToMany { .. }))
                .collect();
            if !deeper.is_empty() && self.rng.chance(30) {
                let d = *self.rng.pick(&deeper);
                prefix = format!("{prefix}.{}", d.name);
                entity = d.target;
            }
            return self.aggregate(entity, &prefix);
        }
        match self.rng.below(8) {
            0 => format!("rate({})", self.predicate(subject)),
            1 if subject == EntityId::Applications => {
                let kinds = [
                    "application_review",
                    "screen",
                    "assessment",
                    "interview",
                    "onsite",
                    "offer",
                    "hired",
                ];
                let (a, b) = (self.rng.pick(&kinds), self.rng.pick(&kinds));
                format!("conversion(kind(\"{a}\"), kind(\"{b}\"))")
            }
            2 => {
                let ones: Vec<_> = s.relations.iter().filter(|r| !r.is_to_many()).collect();
                if ones.is_empty() {
                    "count()".into()
                } else {
                    format!("count(distinct {})", self.rng.pick(&ones).name)
                }
            }
            _ => self.aggregate(subject, ""),
        }
    }

    /// An aggregate over rows of `entity`, written from the subject through `prefix`.
    fn aggregate(&mut self, entity: EntityId, prefix: &str) -> String {
        let mut ts = Vec::new();
        terms(self.cat, entity, "", 1, &mut ts);
        let join = |p: &str| {
            if prefix.is_empty() {
                p.to_owned()
            } else {
                format!("{prefix}.{p}")
            }
        };
        let filter = if self.rng.chance(40) {
            format!(" where {}", self.predicate(entity))
        } else {
            String::new()
        };
        let space = if prefix.is_empty() { "" } else { " " };
        let numeric: Vec<&Term> = ts.iter().filter(|t| t.ty.is_numeric()).collect();
        let orderable: Vec<&Term> = ts
            .iter()
            .filter(|t| {
                matches!(
                    t.ty,
                    Type::Integer | Type::Number | Type::Instant | Type::Date | Type::Text
                )
            })
            .collect();
        match self.rng.below(6) {
            0 | 1 => format!("count({prefix}{space}{})", filter.trim_start()),
            2 if !numeric.is_empty() => {
                let t = self.rng.pick(&numeric);
                let f = self.rng.pick(&["sum", "avg", "median"]);
                format!("{f}({}{filter})", join(&t.path))
            }
            3 if !numeric.is_empty() => {
                let t = self.rng.pick(&numeric);
                let pct = self.rng.pick(&[0, 10, 25, 50, 90, 100]);
                format!("percentile({}, {pct}{filter})", join(&t.path))
            }
            4 if !orderable.is_empty() => {
                let t = self.rng.pick(&orderable);
                let f = self.rng.pick(&["min", "max"]);
                format!("{f}({}{filter})", join(&t.path))
            }
            // Each related record once: a field behind a to-one relation.
            5 if numeric.iter().any(|t| t.path.contains('.')) => {
                let related: Vec<&&Term> =
                    numeric.iter().filter(|t| t.path.contains('.')).collect();
                let t = self.rng.pick(&related);
                let f = self.rng.pick(&["sum", "avg", "min", "max", "median"]);
                format!("{f}(distinct {}{filter})", join(&t.path))
            }
            _ => {
                if prefix.is_empty() {
                    format!("count({})", filter.trim_start())
                } else {
                    format!("count({prefix}{filter})")
                }
            }
        }
    }

    fn report(&mut self) -> String {
        let subjects: Vec<&Entity> = Entity::subjects().collect();
        let s = self.rng.pick(&subjects).id;
        let mut text = format!("report {}", Entity::get(s).name);
        if self.rng.chance(15) {
            let zone = self.rng.pick(&[
                "UTC",
                "Pacific/Kiritimati",
                "America/Los_Angeles",
                "Asia/Kolkata",
                "Europe/Berlin",
            ]);
            text += &format!("\nin zone \"{zone}\"");
        }
        if self.rng.chance(70) {
            text += &format!("\nwhere {}", self.conditions(s));
        }
        if self.rng.chance(10) {
            // A row report.
            let mut ts = Vec::new();
            terms(self.cat, s, "", 1, &mut ts);
            let cols: Vec<String> = (0..1 + self.rng.below(3))
                .map(|i| {
                    let t = self.rng.pick(&ts);
                    match t.ty {
                        Type::Instant if self.rng.chance(30) => {
                            format!("days_since({}) as c{i}", t.path)
                        }
                        Type::Integer | Type::Number if self.rng.chance(30) => {
                            format!("-{} * 3 as c{i}", t.path)
                        }
                        _ => format!("{} as c{i}", t.path),
                    }
                })
                .collect();
            text += &format!("\nshow {}", cols.join(", "));
            if self.rng.chance(50) {
                let c = self.rng.below(cols.len());
                let desc = if self.rng.chance(50) { " desc" } else { "" };
                text += &format!("\norder by c{c}{desc}");
            }
            if self.rng.chance(50) {
                text += &format!("\nlimit {}", 1 + self.rng.below(20));
            }
            return text;
        }
        let keys: Vec<String> = (0..self.rng.below(3))
            .filter_map(|_| self.group_key(s))
            .collect();
        if !keys.is_empty() {
            let items: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{k} as g{i}"))
                .collect();
            text += &format!("\ngroup by {}", items.join(", "));
        }
        if s == EntityId::Applications && self.rng.chance(10) {
            let kinds = ["application_review", "screen", "onsite", "offer", "hired"];
            let steps: Vec<String> = (0..1 + self.rng.below(3))
                .map(|_| format!("kind(\"{}\")", self.rng.pick(&kinds)))
                .collect();
            text += &format!("\nfunnel {}", steps.join(", "));
            if !keys.is_empty() && self.rng.chance(50) {
                text += &format!("\norder by g0 desc\nlimit {}", 1 + self.rng.below(4));
            }
            return text;
        }
        let n = 1 + self.rng.below(3);
        let measures: Vec<String> = (0..n).map(|_| self.measure(s)).collect();
        let mut items: Vec<String> = measures
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{m} as m{i}"))
            .collect();
        if n >= 2 && self.rng.chance(30) {
            items.push("m0 / m1 as ratio".into());
        }
        if self.rng.chance(15) {
            let f = *self.rng.pick(&[
                "m0 is null",
                "-m0",
                "m0 + 1",
                "m0 * 2 - 1",
                "round(m0 * 1.0, 1)",
            ]);
            items.push(format!("{f} as f0"));
        }
        text += &format!("\nshow {}", items.join(", "));
        // Only counts are ordered by or compared in `having` (exact, so no float ties).
        let counts: Vec<usize> = measures
            .iter()
            .enumerate()
            .filter(|(_, m)| m.starts_with("count("))
            .map(|(i, _)| i)
            .collect();
        if !counts.is_empty() && self.rng.chance(25) {
            text += &format!(
                "\nhaving m{} >= {}",
                self.rng.pick(&counts),
                self.rng.below(4)
            );
        }
        if self.rng.chance(40) {
            let mut order = Vec::new();
            if !counts.is_empty() && self.rng.chance(60) {
                order.push(format!("m{} desc", self.rng.pick(&counts)));
            }
            if !keys.is_empty() {
                order.push(format!(
                    "g{}{}",
                    self.rng.below(keys.len()),
                    if self.rng.chance(50) { " desc" } else { "" }
                ));
            }
            if !order.is_empty() {
                text += &format!("\norder by {}", order.join(", "));
                if self.rng.chance(50) {
                    text += &format!("\nlimit {}", 1 + self.rng.below(10));
                }
            }
        }
        text
    }
}

fn random_reports(with_pg: bool, cases: u32) {
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
    let orgs: Vec<std::cell::RefCell<Fixture>> = (0..3)
        .map(|k| {
            std::cell::RefCell::new(fixture(&format!("rnd{k}"), 150 + 40 * k, 100 + k, with_pg))
        })
        .collect();
    // `HP_REPORTS_CASES=N` runs more cases; `HP_REPORTS_COLLECT=1` prints every disagreement
    // instead of stopping at the first (for hunting bugs).
    let cases = std::env::var("HP_REPORTS_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    let collect = std::env::var_os("HP_REPORTS_COLLECT").is_some();
    let differs = std::cell::Cell::new(0u32);
    // `HP_REPORTS_SKIP=TEXT` skips reports containing TEXT (to look past a known bug).
    let skip = std::env::var("HP_REPORTS_SKIP").ok();
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 0,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let (same, refused) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    let result = runner.run(
        &(0..orgs.len(), proptest::prelude::any::<u64>()),
        |(k, seed)| {
            let mut f = orgs[k].borrow_mut();
            let f = &mut *f;
            let text = ReportGen {
                rng: Rng(seed),
                cat: &f.catalog.clone(),
                today: f.today,
            }
            .report();
            if let Some(skip) = &skip
                && text.contains(skip.as_str())
            {
                return Ok(());
            }
            // A report the compiler refuses must be refused with a diagnostic, never a panic.
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(f, &text)))
                    .map_err(|_| TestCaseError::fail(format!("panicked on:\n{text}")))?;
            match outcome {
                Outcome::Same => same.set(same.get() + 1),
                Outcome::Refused => refused.set(refused.get() + 1),
                Outcome::Differs(e) => {
                    let e = format!("org rnd{k}, today {}:\n{text}\n{e}", f.today);
                    if collect {
                        eprintln!("DIFFERS {e}\n");
                        differs.set(differs.get() + 1);
                    } else {
                        return Err(TestCaseError::fail(e));
                    }
                }
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    // The grammar should mostly produce reports the compiler accepts.
    let (same, refused) = (same.get(), refused.get());
    assert_eq!(differs.get(), 0, "reports disagree (see above)");
    assert!(same > refused, "{same} agreed, {refused} refused");
}

#[test]
fn random_reports_agree_on_sqlite_and_in_the_oracle() {
    random_reports(false, 8000);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn random_reports_agree_on_postgres_sqlite_and_in_the_oracle() {
    random_reports(true, 4000);
}
