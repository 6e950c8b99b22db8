//! Reports split by demographics, on real databases: a generated org imported into SQLite (and
//! into a fresh PostgreSQL database when `HIREPLANE_TEST_POSTGRES` holds a server URL), reports
//! grouped by demographic fields compiled under `OrgScope`, run with `Store::run_report` (which
//! returns each cell's hidden count of distinct candidates and record-key sums last),
//! suppressed on the true counts with `query_compiler::suppress`, and checked against counts
//! computed with plain hand-written SQL: distinct candidates per group and per margin. Both
//! databases give the same counts, before and after suppression (the key sums depend on each
//! backend's hash; the perturbation on top is tested in `crates/app/tests/it/demographics_attacks.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use query_compiler::{Compiled, Dialect, OrgScope, SuppressionSummary, Value};
use store::ImportOptions;

use crate::common;
use common::{Fresh, generated, postgres, sqlite};

/// What these tests add to the shared fixture.
trait Query {
    fn dialect(&self) -> Dialect;
    fn query(&self, sql: &str, org: &str, keys: usize, numbers: usize) -> Vec<Row>;
}

impl Query for Fresh {
    fn dialect(&self) -> Dialect {
        if self.pg.is_some() {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    /// Runs hand-written SQL (`$1` is the org) and returns its rows: text keys, then integers.
    fn query(&self, sql: &str, org: &str, keys: usize, numbers: usize) -> Vec<Row> {
        let mut out = Vec::new();
        if let Some(file) = &self.file {
            let conn = rusqlite::Connection::open(file).unwrap();
            let mut stmt = conn.prepare(&sql.replace("$1", "?1")).unwrap();
            let mut rows = stmt.query([org]).unwrap();
            while let Some(r) = rows.next().unwrap() {
                out.push(Row {
                    keys: (0..keys)
                        .map(|i| r.get::<_, Option<String>>(i).unwrap())
                        .collect(),
                    numbers: (keys..keys + numbers)
                        .map(|i| r.get::<_, i64>(i).unwrap())
                        .collect(),
                });
            }
        } else if self.pg.is_some() {
            let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
            for r in c.query(sql, &[&org]).unwrap() {
                out.push(Row {
                    keys: (0..keys).map(|i| r.get::<_, Option<String>>(i)).collect(),
                    numbers: (keys..keys + numbers).map(|i| r.get::<_, i64>(i)).collect(),
                });
            }
        }
        out.sort_by(|a, b| a.keys.cmp(&b.keys));
        out
    }
}

/// A row of hand-written SQL: group keys (NULL as `None`) and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    keys: Vec<Option<String>>,
    numbers: Vec<i64>,
}

const ORG: &str = "demo_demog";

/// A generated org imported into SQLite, and into PostgreSQL when `with_pg`.
fn stores(with_pg: bool) -> (Vec<Fresh>, tempfile::TempDir) {
    let dir = generated(ORG, 600, 11);
    let mut out = vec![sqlite()];
    if with_pg {
        out.push(postgres("hp_demographics"));
    }
    for s in &mut out {
        s.store()
            .import(dir.path(), ImportOptions::default(), &mut |_| {})
            .unwrap();
    }
    (out, dir)
}

/// One report split by demographics.
struct Case {
    name: &'static str,
    report: &'static str,
    /// The key columns (in the report's columns) of the demographic and the other keys.
    demographic_keys: &'static [usize],
    other_keys: &'static [usize],
}

const FROM: &str = "FROM applications a \
     JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id \
     JOIN departments d ON d.org_id = j.org_id AND d.id = j.department_id \
     LEFT JOIN candidate_demographics g ON g.org_id = a.org_id AND g.candidate_id = a.candidate_id \
     WHERE a.org_id = $1";

/// Each case with its hand-written SQL: keys, applications and distinct candidates per group;
/// and for each key, distinct candidates per margin along it (the other keys, then the count)
/// and whether the margin's cells add up to it (each candidate has one value of that key).
#[allow(clippy::type_complexity)]
fn cases() -> Vec<(Case, String, Vec<(usize, String, bool)>)> {
    let q = |select: &str, group: &str| {
        if group.is_empty() {
            format!("SELECT {select} {FROM}")
        } else {
            format!("SELECT {select} {FROM} GROUP BY {group}")
        }
    };
    let all = [
        Case {
            name: "gender",
            report: "report applications group by candidate.demographics.gender as gender \
                     show count(distinct candidate) as n",
            demographic_keys: &[0],
            other_keys: &[],
        },
        Case {
            name: "department by gender",
            report: "report applications group by job.department.name as department, \
                     candidate.demographics.gender as gender show count(distinct candidate) as n",
            demographic_keys: &[1],
            other_keys: &[0],
        },
        Case {
            name: "gender by race",
            report: "report applications group by candidate.demographics.gender as gender, \
                     candidate.demographics.race_ethnicity as race show count(distinct candidate) as n",
            demographic_keys: &[0, 1],
            other_keys: &[],
        },
    ];
    let sql = [
        (
            q(
                "g.gender, COUNT(DISTINCT a.candidate_id), COUNT(DISTINCT a.candidate_id)",
                "g.gender",
            ),
            // Along gender: every row; the total's candidates.
            vec![(0, q("COUNT(DISTINCT a.candidate_id)", ""), true)],
        ),
        (
            q(
                "d.name, g.gender, COUNT(DISTINCT a.candidate_id), COUNT(DISTINCT a.candidate_id)",
                "d.name, g.gender",
            ),
            vec![
                // Along gender, per department: each candidate has one gender.
                (
                    1,
                    q("d.name, COUNT(DISTINCT a.candidate_id)", "d.name"),
                    true,
                ),
                // Along department, per gender: a candidate may apply to several departments.
                (
                    0,
                    q("g.gender, COUNT(DISTINCT a.candidate_id)", "g.gender"),
                    false,
                ),
            ],
        ),
        (
            q(
                "g.gender, g.race_ethnicity, COUNT(DISTINCT a.candidate_id), COUNT(DISTINCT a.candidate_id)",
                "g.gender, g.race_ethnicity",
            ),
            vec![
                (
                    0,
                    q(
                        "g.race_ethnicity, COUNT(DISTINCT a.candidate_id)",
                        "g.race_ethnicity",
                    ),
                    true,
                ),
                (
                    1,
                    q("g.gender, COUNT(DISTINCT a.candidate_id)", "g.gender"),
                    true,
                ),
            ],
        ),
    ];
    all.into_iter()
        .zip(sql)
        .map(|(c, (groups, margins))| (c, groups, margins))
        .collect()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        other => panic!("a key should be text, got {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        other => panic!("a count should be an integer, got {other:?}"),
    }
}

/// Runs every case on one store; returns the raw and the suppressed rows and the summaries.
#[allow(clippy::type_complexity)]
fn run(s: &mut Fresh) -> Vec<(Vec<Vec<Value>>, Vec<Vec<Value>>, SuppressionSummary)> {
    let today: jiff::civil::Date = "2025-06-30".parse().unwrap();
    let dialect = s.dialect();
    let catalog = s.store().catalog(ORG).unwrap();
    let mut out = Vec::new();
    for (case, groups_sql, margins_sql) in cases() {
        let name = case.name;
        let compiled: Compiled =
            query_compiler::compile(case.report, &catalog, dialect, &OrgScope).unwrap();
        let keys = case.demographic_keys.len() + case.other_keys.len();
        let spec = compiled.suppression.clone().unwrap();
        assert_eq!(
            (
                spec.min_candidates,
                spec.candidates_column,
                spec.demographic_keys.clone(),
                spec.other_keys.clone(),
                spec.cells
            ),
            (
                5,
                keys + 1,
                case.demographic_keys.to_vec(),
                case.other_keys.to_vec(),
                1
            ),
            "{name}"
        );
        assert!(
            !compiled
                .columns
                .iter()
                .any(|c| c.name.contains("candidates")),
            "{name}: the hidden column is not a column"
        );
        let result = s.store().run_report(ORG, &compiled, today).unwrap();
        assert_eq!(result.columns, compiled.columns);
        // The hidden cell (count, two key sums) follows the columns; the key sums depend on
        // the backend's record-key hash, so the rows compared here keep the count only.
        let raw: Vec<Vec<Value>> = result
            .rows
            .into_iter()
            .map(|mut r| {
                // Then the sketch of the row's population (two values per bucket), and that of
                // its answered part; no margins (the check against populations published
                // before stands in for them).
                let half = 2 * query_compiler::demographics::POPULATION_BUCKETS as usize;
                // and the most groups one of its candidates is in.
                let sketch = 2 * half + 1;
                assert!(spec.margins.is_empty(), "{name}");
                assert_eq!(spec.hidden_columns(), 3 + sketch, "{name}");
                assert_eq!(
                    r.len(),
                    compiled.columns.len() + spec.hidden_columns(),
                    "{name}"
                );
                assert!(
                    r[keys + 2..].iter().all(|k| matches!(k, Value::Integer(_))),
                    "{name}: key sums {r:?}"
                );
                let count = |values: &[Value]| -> i64 {
                    values
                        .iter()
                        .step_by(2)
                        .map(|c| match c {
                            Value::Integer(n) => *n,
                            _ => 0,
                        })
                        .sum()
                };
                let population = count(&r[keys + 4..keys + 4 + half]);
                let answered = count(&r[keys + 4 + half..keys + 4 + 2 * half]);
                assert!(
                    matches!(r.last(), Some(Value::Integer(m)) if *m >= 1),
                    "{name}: multiplicity {:?}",
                    r.last()
                );
                assert!(population >= 1, "{name}: population sketch {r:?}");
                assert!(
                    (0..=population).contains(&answered),
                    "{name}: answered part {answered} of {population}"
                );
                r.truncate(keys + 2);
                r
            })
            .collect();
        // Before suppression: exactly the hand-written groups, with the hidden count last.
        let mut got: Vec<Row> = raw
            .iter()
            .map(|r| {
                assert_eq!(r.len(), compiled.columns.len() + 1, "{name}");
                Row {
                    keys: r[..keys].iter().map(text).collect(),
                    numbers: vec![int(&r[keys]), int(&r[keys + 1])],
                }
            })
            .collect();
        got.sort_by(|a, b| a.keys.cmp(&b.keys));
        let expected = s.query(&groups_sql, ORG, keys, 2);
        assert_eq!(got, expected, "{name}: groups on {}", dialect.name());
        let candidates: BTreeMap<Vec<Option<String>>, i64> = expected
            .iter()
            .map(|r| (r.keys.clone(), r.numbers[1]))
            .collect();

        let (shown, summary) = query_compiler::suppress(&spec, raw.clone());
        let shown_keys: Vec<Vec<Option<String>>> = shown
            .iter()
            .map(|r| {
                assert_eq!(
                    r.len(),
                    compiled.columns.len(),
                    "{name}: hidden column dropped"
                );
                r[..keys].iter().map(text).collect()
            })
            .collect();
        // Every shown group counts at least 5 distinct candidates; every smaller one is gone.
        for (k, n) in &candidates {
            let visible = shown_keys.contains(k);
            if *n < 5 {
                assert!(!visible, "{name}: {k:?} has {n} candidates and is shown");
            }
        }
        for k in &shown_keys {
            assert!(candidates[k] >= 5, "{name}: {k:?}");
        }
        let small = candidates.values().filter(|n| **n < 5).count();
        assert_eq!(summary.below_threshold, small, "{name}");
        assert_eq!(
            summary.total(),
            candidates.len() - shown.len(),
            "{name}: every removed cell is counted"
        );
        // Margins: the hand-written distinct candidates per margin; where cells add up to it,
        // a margin with one hidden cell would give it away, so none has exactly one.
        for (along, sql, additive) in &margins_sql {
            let others = keys - 1;
            let totals = s.query(sql, ORG, others, 1);
            for t in &totals {
                let in_margin = |k: &Vec<Option<String>>| {
                    let rest: Vec<Option<String>> = k
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i != along)
                        .map(|(_, v)| v.clone())
                        .collect();
                    rest == t.keys
                };
                let cells: Vec<(&Vec<Option<String>>, &i64)> =
                    candidates.iter().filter(|(k, _)| in_margin(k)).collect();
                let sum: i64 = cells.iter().map(|(_, n)| **n).sum();
                if *additive {
                    assert_eq!(sum, t.numbers[0], "{name}: margin {:?}", t.keys);
                } else {
                    assert!(sum >= t.numbers[0], "{name}: margin {:?}", t.keys);
                }
                let hidden = cells
                    .iter()
                    .filter(|(k, _)| !shown_keys.contains(k))
                    .count();
                assert!(
                    hidden != 1 || cells.len() == 1,
                    "{name}: margin {:?} along key {along} hides one cell of {}",
                    t.keys,
                    cells.len()
                );
            }
        }
        out.push((raw, shown, summary));
    }
    // The org is split finely enough that suppression does something.
    assert!(out.iter().skip(1).all(|(_, _, s)| s.below_threshold > 0));
    assert!(out.iter().any(|(_, _, s)| s.complementary > 0));
    out
}

fn agree(with_pg: bool) {
    let (mut stores, _dir) = stores(with_pg);
    let results: Vec<_> = stores.iter_mut().map(run).collect();
    for other in &results[1..] {
        assert_eq!(other, &results[0], "PostgreSQL and SQLite differ");
    }
}

#[test]
fn demographic_reports_are_suppressed_on_sqlite() {
    agree(false);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn demographic_reports_agree_on_postgres_and_sqlite() {
    agree(true);
}

#[test]
fn demographics_are_refused_outside_group_keys() {
    let (mut stores, _dir) = stores(false);
    let catalog = stores[0].store().catalog(ORG).unwrap();
    for text in [
        "report applications where candidate.demographics.gender = \"female\"",
        "report candidates show name, demographics.gender",
        "report applications group by status show count(where candidate.demographics.gender = \"female\") as women",
        "report applications group by candidate.demographics.gender as gender show count() as n limit 1",
        "report applications group by candidate.demographics.gender as gender show count() as n",
        "report candidates where demographics is not null show name",
    ] {
        let e = query_compiler::compile(text, &catalog, Dialect::Sqlite, &OrgScope).unwrap_err();
        assert!(e.message.contains("demographic"), "{text}: {}", e.message);
    }
}
