//! Attacks on reports over demographics (docs/privacy.md), on a generated org, on SQLite and
//! PostgreSQL, through `app::Services::run_report` as an admin (the strongest attacker: sees
//! every candidate and holds `viewDemographicsAggregate`).
//!
//! 1. For every candidate, the forms that single a person out (an `id` or `name` predicate in a
//!    filter or an aggregate's filter, text and JSON form; `min`/`max` of identifying fields;
//!    listing who answered) are refused with a message that says why.
//! 2. Differencing: for every pair of tables the attacker can publish (a table and the same
//!    table split by one more coarse key) and every target whose group differs between them by
//!    1..3 known people, the attacker compares the published cells, demographic value by value
//!    (a cell that changed is evidence for the target's answer).
//! 3. Complementary margins: the same pairs, the target's hidden cell estimated as the coarser
//!    cell minus the target's siblings.
//!
//! The attacker knows every non-demographic fact (read with ordinary reports). Its guess for a
//! candidate is the answer with the most evidence, else the org's most common answer. Over all
//! candidates, its accuracy must not exceed that of always guessing the most common answer by
//! more than 2 points. Repeated runs and the JSON form give the same published rows; budgets,
//! bursts, the permission and the audit detail are checked too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Fresh, OrgFacts, at};
use query_compiler::Value;
use std::collections::{BTreeMap, BTreeSet};
use store::{AuditOutcome, AuditQuery};

/// A value as a key.
fn key(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Text(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

/// A published table: (coarse key values, demographic value) -> published count (None: withheld
/// or suppressed; a missing row reads as None too).
type Table = BTreeMap<(Vec<String>, String), Option<i64>>;

/// The coarse keys the attacker splits by, per subject, as written in a report.
const CANDIDATE_KEYS: &[&str] = &["location", "quarter(created_at)", "year(created_at)"];
const APPLICATION_KEYS: &[&str] = &["job.department.name", "status", "job.title"];

struct Attack<'a> {
    services: app::Services,
    store: &'a mut Fresh,
    org: String,
    admin: String,
    today: jiff::civil::Date,
}

impl Attack<'_> {
    fn run(&mut self, text: &str) -> Result<Vec<Vec<Value>>, app::AppError> {
        let report = query_syntax::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        self.services
            .run_report(
                self.store.store(),
                &self.org,
                &self.admin,
                &report,
                self.today,
                at(),
            )
            .map(|r| r.rows.rows)
    }

    /// `report SUBJECT group by KEYS..., GENDER as g show count(...) as n`: coarse keys first.
    fn table(&mut self, subject: &str, keys: &[&str]) -> Table {
        let (gender, count) = match subject {
            "candidates" => ("demographics.gender", "count()"),
            _ => ("candidate.demographics.gender", "count(distinct candidate)"),
        };
        let mut group: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} as k{i}"))
            .collect();
        group.push(format!("{gender} as g"));
        let text = format!(
            "report {subject} group by {} show {count} as n",
            group.join(", ")
        );
        let rows = self.run(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut out = Table::new();
        for r in rows {
            let coarse: Vec<String> = r[..keys.len()].iter().map(key).collect();
            let n = match &r[keys.len() + 1] {
                Value::Integer(n) => Some(*n),
                Value::Null => None,
                other => panic!("{other:?}"),
            };
            out.insert((coarse, key(&r[keys.len()])), n);
        }
        out
    }
}

/// What the attacker knows of each candidate without demographics: per subject, the tuples of
/// coarse values of each of its rows (one for candidates, one per application).
struct Known {
    /// candidate -> per key set (of `CANDIDATE_KEYS` or `APPLICATION_KEYS`) -> rows' values.
    rows: BTreeMap<String, BTreeMap<&'static str, Vec<Vec<String>>>>,
}

impl Known {
    fn load(a: &mut Attack<'_>) -> Known {
        let mut rows: BTreeMap<String, BTreeMap<&'static str, Vec<Vec<String>>>> = BTreeMap::new();
        let cand = a
            .run(&format!(
                "report candidates show id, {}",
                CANDIDATE_KEYS.join(", ")
            ))
            .unwrap();
        for r in cand {
            rows.entry(key(&r[0]))
                .or_default()
                .entry("candidates")
                .or_default()
                .push(r[1..].iter().map(key).collect());
        }
        let apps = a
            .run(&format!(
                "report applications show candidate.id, {}",
                APPLICATION_KEYS.join(", ")
            ))
            .unwrap();
        for r in apps {
            rows.entry(key(&r[0]))
                .or_default()
                .entry("applications")
                .or_default()
                .push(r[1..].iter().map(key).collect());
        }
        Known { rows }
    }
}

/// Every candidate's gender (`null` when not disclosed), read with plain SQL.
fn truth(path: &std::path::Path, org: &str) -> BTreeMap<String, String> {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let mut stmt = c
        .prepare(
            "SELECT c.id, g.gender FROM candidates c LEFT JOIN candidate_demographics g \
             ON g.org_id = c.org_id AND g.candidate_id = c.id WHERE c.org_id = ?1",
        )
        .unwrap();
    stmt.query_map([org], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?
                .unwrap_or_else(|| "null".to_owned()),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn message(e: app::AppError) -> String {
    match e {
        app::AppError::Report(d) => d.message.clone(),
        other => other.to_string(),
    }
}

fn harness(store: &mut Fresh) {
    let org = "attacked";
    let generated = common::generate(org, 500, 17);
    store.import(generated.dir.path());
    let path = common::sqlite_copy(store, &generated);
    let facts = OrgFacts::load(&path, org);
    let admin = facts
        .users
        .iter()
        .find(|u| u.role == "admin" && u.active)
        .unwrap()
        .id
        .clone();
    let recruiter = facts
        .users
        .iter()
        .find(|u| u.role == "recruiter" && u.active)
        .unwrap()
        .id
        .clone();
    let truth = truth(&path, org);
    let mut a = Attack {
        services: app::Services::new(),
        store,
        org: org.to_owned(),
        admin: admin.clone(),
        today: generated.today,
    };
    // The attacker raises the budget (an admin may), so that only the design stands in its way.
    let access = a.services.access(a.store.store(), org, &admin).unwrap();
    a.services
        .set_privacy_settings(
            a.store.store(),
            &access,
            app::PrivacyChange {
                daily_budget: Some(100_000),
                ..Default::default()
            },
            at(),
        )
        .unwrap();

    // A recruiter may not run any report over demographics.
    let report = query_syntax::parse(
        "report candidates group by demographics.gender as g show count() as n",
    )
    .unwrap();
    let recruiter_access = a.services.access(a.store.store(), org, &recruiter).unwrap();
    let run = a
        .services
        .run_report(a.store.store(), org, &recruiter, &report, a.today, at());
    if recruiter_access.guard.demographics_aggregates() {
        assert!(run.is_ok());
    } else {
        let e = run.unwrap_err();
        assert!(e.to_string().contains("viewDemographicsAggregate"), "{e}");
    }

    // Attack 1: every identifying form, for every candidate the admin sees, text and JSON.
    let people = a.run("report candidates show id, name").unwrap();
    assert!(people.len() >= 100, "{} candidates", people.len());
    assert_eq!(people.len(), truth.len());
    for p in &people {
        let (id, name) = (key(&p[0]), key(&p[1]).replace('"', ""));
        for (text, why) in [
            (
                format!(
                    "report candidates group by demographics.gender as g show count() as n, count(where id = \"{id}\") as target"
                ),
                "cannot filter rows",
            ),
            (
                format!(
                    "report candidates where id = \"{id}\" group by demographics.gender as g show count() as n"
                ),
                "cannot filter rows",
            ),
            (
                format!(
                    "report candidates where name = \"{name}\" group by demographics.gender as g show count() as n"
                ),
                "cannot filter rows",
            ),
            (
                format!(
                    "report applications where candidate.id != \"{id}\" group by candidate.demographics.gender as g show count(distinct candidate) as n"
                ),
                "cannot filter rows",
            ),
        ] {
            let e = message(a.run(&text).unwrap_err());
            assert!(e.contains(why), "{text}: {e}");
            // The JSON form is the same report, refused the same way.
            let json = query_syntax::to_json(&query_syntax::parse(&text).unwrap());
            let report = query_syntax::from_json(&json).unwrap();
            let e = a
                .services
                .run_report(a.store.store(), org, &admin, &report, a.today, at())
                .unwrap_err();
            assert!(message(e).contains(why), "{json}");
        }
    }
    for (text, why) in [
        (
            "report candidates group by demographics.gender as g show count() as n, min(name) as first",
            "shows one person's value",
        ),
        (
            "report candidates group by demographics.gender as g show count() as n, max(email) as latest",
            "shows one person's value",
        ),
        (
            "report candidates where demographics is not null show name",
            "whether someone answered is demographic too",
        ),
        (
            "report candidates show name, demographics.gender",
            "demographic field",
        ),
        (
            "report candidates group by id, demographics.gender as g show count() as n",
            "identifies one record",
        ),
        (
            "report candidates group by name, demographics.gender as g show count() as n",
            "not a coarse field",
        ),
        (
            "report candidates group by created_at, demographics.gender as g show count() as n",
            "exact timestamp",
        ),
        (
            "report candidates group by demographics.gender as g show count() as n order by n",
            "ordered by its group keys",
        ),
        (
            "report applications group by candidate.demographics.gender as g show count() as n",
            "not distinct candidates",
        ),
        (
            "report applications group by candidate.demographics.gender as g show count(distinct candidate) as n, sum(time_to_hire) as t",
            "computes over each person's values",
        ),
    ] {
        let e = message(a.run(text).unwrap_err());
        assert!(e.contains(why), "{text}: {e}");
    }

    // Repeated runs and the JSON form publish the same rows (the same noise).
    let text = "report applications group by job.department.name as d, candidate.demographics.gender as g show count(distinct candidate) as n";
    let first = a.run(text).unwrap();
    assert!(!first.is_empty());
    for _ in 0..4 {
        assert_eq!(a.run(text).unwrap(), first);
    }
    let json = query_syntax::to_json(&query_syntax::parse(text).unwrap());
    let report = query_syntax::from_json(&json).unwrap();
    let again = a
        .services
        .run_report(a.store.store(), org, &admin, &report, a.today, at())
        .unwrap()
        .rows
        .rows;
    assert_eq!(again, first);

    // Attacks 2 and 3: every table of up to two coarse keys per subject, and each split by one
    // more key.
    let known = Known::load(&mut a);
    let mut evidence: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut pairs_used = 0usize;
    for (subject, keys) in [
        ("candidates", CANDIDATE_KEYS),
        ("applications", APPLICATION_KEYS),
    ] {
        let mut sets: Vec<Vec<usize>> = vec![vec![]];
        for i in 0..keys.len() {
            sets.push(vec![i]);
            for j in i + 1..keys.len() {
                sets.push(vec![i, j]);
            }
        }
        let mut tables: BTreeMap<Vec<usize>, Table> = BTreeMap::new();
        for s in &sets {
            let names: Vec<&str> = s.iter().map(|i| keys[*i]).collect();
            tables.insert(s.clone(), a.table(subject, &names));
        }
        for coarse in &sets {
            for extra in 0..keys.len() {
                if coarse.contains(&extra) || coarse.len() >= 2 {
                    continue;
                }
                let mut fine: Vec<usize> = coarse.clone();
                fine.push(extra);
                let mut fine_sorted = fine.clone();
                fine_sorted.sort();
                let (Some(t1), Some(t2)) = (tables.get(coarse), tables.get(&fine_sorted)) else {
                    continue;
                };
                // The fine table's values in the order `coarse..., extra`.
                let position: Vec<usize> = fine
                    .iter()
                    .map(|k| fine_sorted.iter().position(|x| x == k).unwrap())
                    .collect();
                let fine_cells: BTreeMap<(Vec<String>, String), Option<i64>> = t2
                    .iter()
                    .map(|((vals, g), n)| {
                        (
                            (
                                position.iter().map(|p| vals[*p].clone()).collect(),
                                g.clone(),
                            ),
                            *n,
                        )
                    })
                    .collect();
                let coarse_groups: BTreeSet<Vec<String>> =
                    t1.keys().map(|(v, _)| v.clone()).collect();
                let genders: BTreeSet<String> = truth.values().cloned().collect();
                // Who is in each coarse and fine group (what the attacker knows).
                let mut members: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
                let mut fine_members: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
                for (c, m) in &known.rows {
                    for r in m.get(subject).into_iter().flatten() {
                        let v: Vec<String> = coarse.iter().map(|k| r[*k].clone()).collect();
                        let f: Vec<String> = fine.iter().map(|k| r[*k].clone()).collect();
                        members.entry(v).or_default().insert(c.clone());
                        fine_members.entry(f).or_default().insert(c.clone());
                    }
                }
                let empty = BTreeSet::new();
                let mut add =
                    |c: &String, against: &[Vec<String>], v: &Vec<String>, changed: bool| {
                        for g in &genders {
                            let whole = t1.get(&(v.clone(), g.clone())).copied().flatten();
                            let parts: Option<i64> = against
                                .iter()
                                .map(|f| fine_cells.get(&(f.clone(), g.clone())).copied().flatten())
                                .try_fold(0i64, |acc, n| n.map(|n| acc + n));
                            if let (Some(w), Some(p)) = (whole, parts) {
                                let d = (w - p) as f64;
                                let e = evidence
                                    .entry(c.clone())
                                    .or_default()
                                    .entry(g.clone())
                                    .or_default();
                                // A changed cell is the strongest sign (same people, same noise).
                                *e += d + if changed && d != 0.0 { 10.0 } else { 0.0 };
                            }
                        }
                    };
                for (v, c1) in &members {
                    if !coarse_groups.contains(v) {
                        continue;
                    }
                    // The target's group and its siblings, as the attacker knows them (a
                    // withheld group is known all the same).
                    let siblings: Vec<&Vec<String>> = fine_members
                        .keys()
                        .filter(|f| f[..v.len()] == v[..])
                        .collect();
                    for own in &siblings {
                        let c2 = fine_members.get(*own).unwrap_or(&empty);
                        let others: Vec<Vec<String>> = siblings
                            .iter()
                            .filter(|f| **f != *own)
                            .map(|f| (*f).clone())
                            .collect();
                        // Attack 2: the coarse cell against one other fine cell that holds all
                        // but 1..3 people, the target among them.
                        for other in &others {
                            let c3 = fine_members.get(other).unwrap_or(&empty);
                            let gone: Vec<&String> = c1.difference(c3).collect();
                            if (1..=3).contains(&gone.len()) {
                                for t in gone {
                                    pairs_used += 1;
                                    add(t, std::slice::from_ref(other), v, true);
                                }
                            }
                        }
                        // Attack 3: a fine group of 1..3 people, its cell recomputed as the
                        // coarse cell minus its siblings.
                        if (1..=3).contains(&c2.len()) {
                            for t in c2 {
                                pairs_used += 1;
                                add(t, &others, v, true);
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(pairs_used > 0, "the org offers no differencing pair at all");

    // The baseline: the most common answer of the org.
    let mut tally: BTreeMap<&String, usize> = BTreeMap::new();
    for g in truth.values() {
        *tally.entry(g).or_default() += 1;
    }
    let (mode, _) = tally
        .iter()
        .max_by_key(|(g, n)| (**n, std::cmp::Reverse(**g)))
        .unwrap();
    let n = truth.len() as f64;
    let baseline = truth.values().filter(|g| g == mode).count() as f64 / n;
    let mut right = 0usize;
    let mut tried = 0usize;
    for (c, g) in &truth {
        let guess = match evidence.get(c) {
            Some(e) if e.values().any(|x| *x > 0.0) => {
                tried += 1;
                e.iter()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(g, _)| g.clone())
                    .unwrap()
            }
            _ => (*mode).clone(),
        };
        if guess == *g {
            right += 1;
        }
    }
    let accuracy = right as f64 / n;
    eprintln!(
        "{}: {} candidates, {pairs_used} attack pairs, {tried} targets with evidence; attacker accuracy {:.3}, baseline {:.3}",
        a.store.name(),
        truth.len(),
        accuracy,
        baseline
    );
    assert!(
        accuracy <= baseline + 0.02,
        "attacker accuracy {accuracy:.3} > baseline {baseline:.3} + 0.02"
    );

    // Who and how often: the audit holds each run with its population and hash; a burst of the
    // same shape raises an alert; the budget refuses once spent.
    let events = a
        .store
        .store()
        .audit(
            org,
            &AuditQuery {
                actor: Some(admin.clone()),
                ..AuditQuery::latest(10_000)
            },
        )
        .unwrap();
    assert!(events.iter().any(|(_, e)| {
        e.action == "viewDemographicsAggregate"
            && e.detail
                .as_deref()
                .is_some_and(|d| d.contains("population "))
            && e.query_hash.is_some()
    }));
    assert!(
        events.iter().any(|(_, e)| e
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("alert: "))),
        "the attack's bursts raise an alert"
    );
    a.services
        .set_privacy_settings(
            a.store.store(),
            &access,
            app::PrivacyChange {
                daily_budget: Some(1),
                ..Default::default()
            },
            at(),
        )
        .unwrap();
    let e = a.run(text).unwrap_err();
    assert!(
        matches!(e, app::AppError::DemographicsBudget { budget: 1, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("daily budget"), "{e}");
    let denied = a
        .store
        .store()
        .audit(
            org,
            &AuditQuery {
                outcome: Some(AuditOutcome::Denied),
                ..AuditQuery::latest(10)
            },
        )
        .unwrap();
    assert!(denied.iter().any(|(_, e)| {
        e.detail
            .as_deref()
            .is_some_and(|d| d.contains("daily budget"))
    }));
    // Only a user allowed `viewDemographicsAggregate` may change the settings.
    assert_eq!(
        a.services
            .set_privacy_settings(
                a.store.store(),
                &recruiter_access,
                app::PrivacyChange {
                    daily_budget: Some(1000),
                    ..Default::default()
                },
                at(),
            )
            .is_ok(),
        recruiter_access.guard.demographics_aggregates()
    );
}

#[test]
fn demographic_attacks_fail_on_sqlite() {
    harness(&mut common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn demographic_attacks_fail_on_postgres() {
    harness(&mut common::postgres());
}
