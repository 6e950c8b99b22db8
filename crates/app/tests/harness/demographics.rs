//! The attack harness on reports over demographics (docs/privacy.md), shared by the app's test
//! (`crates/app/tests/it/demographics_attacks.rs`, through `app::Services`) and the server's
//! (`crates/server/tests/it/demographics.rs`, through GraphQL's `report(text:)` and
//! `report(json:)`): the same attacks and the same criterion whatever carries the reports.
//!
//! The attacker is an admin (sees every candidate, may run reports over demographics) and knows
//! every non-demographic fact (read with ordinary reports).
//!
//! 1. For every candidate, the forms that single a person out (an `id` or `name` predicate in a
//!    filter or an aggregate's filter; `min`/`max` of identifying fields; listing who answered)
//!    and every other form outside the safe form are refused, text and JSON alike, with a
//!    message that says why.
//! 2. Differencing through group keys: for every table the attacker can publish (up to two
//!    coarse keys) and the same table split by one more key, every target whose group differs
//!    between them by 1..3 known people: the published cells compared gender by gender (a cell
//!    that changed is evidence for the target's answer).
//! 3. Complementary margins: a target's 1..3-person group recomputed as the coarser cell minus
//!    its siblings.
//! 4. Differencing through filters: `KEY != "v"` against no filter, `KEY = "v"` against
//!    `KEY in ("v", "w")`... in general every two filters (no filter; `k = v`, `k != v` for every
//!    coarse value; `k1 = a and k2 != b`, `k1 = a and k2 = b` for every tiny coarse cell
//!    `(a, b)`) whose populations, as the attacker knows them, nest and differ by 1..3 people;
//!    and a filter that selects 1..3 people read directly.
//!
//! A guess for a candidate is the answer with the most evidence, else the org's most common
//! answer. Over all candidates, the attacker's accuracy must not exceed that of always guessing
//! the most common answer by more than 2 points. Stricter, since few candidates of an org sit
//! in such small differences: no pair of attacks 2 to 4 may have both populations published
//! with a cell that differs (the tell of the cell-key method: the same people get the same
//! noise, so a changed cell is the target's answer). Without the rule on filtered reports'
//! atoms, attack 4 finds such pairs on this org.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

/// Carries reports as the attacker.
pub trait Runner {
    /// Runs a report given as text: each cell as text (`null` for null, numbers in decimal), or
    /// the error's message.
    fn text(&mut self, text: &str) -> Result<Vec<Vec<String>>, String>;
    /// Runs the same report given in its JSON form.
    fn json(&mut self, json: &str) -> Result<Vec<Vec<String>>, String>;
}

/// What the attacks achieved.
#[derive(Debug)]
pub struct Outcome {
    pub candidates: usize,
    /// Attack pairs tried through group keys (attacks 2 and 3).
    pub grouped_pairs: usize,
    /// Of those, the pairs whose two populations were both published and differ in a cell.
    pub grouped_revealing: usize,
    /// Attack pairs tried through filters (attack 4), and the filtered reports run for them.
    pub filtered_pairs: usize,
    pub filtered_reports: usize,
    /// Of those pairs, the ones whose two populations were both published and differ in a cell.
    pub filtered_revealing: usize,
    /// Candidates for whom some attack gave positive evidence.
    pub targets: usize,
    pub accuracy: f64,
    pub baseline: f64,
}

/// A published table: (coarse key values, gender) -> published count (None: withheld or
/// suppressed; a missing row reads as None too).
type Table = BTreeMap<(Vec<String>, String), Option<i64>>;

/// The coarse keys the attacker splits and filters by, per subject, as written in a report;
/// the filters use the text keys (`TEXT_KEYS` of them).
const CANDIDATE_KEYS: &[&str] = &["location", "quarter(created_at)", "year(created_at)"];
const CANDIDATE_TEXT_KEYS: usize = 1;
const APPLICATION_KEYS: &[&str] = &["job.department.name", "status", "job.title"];
const APPLICATION_TEXT_KEYS: usize = 3;

fn subjects() -> [(&'static str, &'static [&'static str], usize); 2] {
    [
        ("candidates", CANDIDATE_KEYS, CANDIDATE_TEXT_KEYS),
        ("applications", APPLICATION_KEYS, APPLICATION_TEXT_KEYS),
    ]
}

fn json_of(text: &str) -> String {
    query_syntax::to_json(&query_syntax::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}")))
}

/// Runs `text` in both forms; they must agree (the same rows, or both refused alike).
fn run(r: &mut dyn Runner, text: &str) -> Result<Vec<Vec<String>>, String> {
    let a = r.text(text);
    let b = r.json(&json_of(text));
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "{text}: text and JSON forms publish other rows"),
        (Err(x), Err(y)) => assert_eq!(x, y, "{text}: text and JSON forms refused otherwise"),
        _ => panic!("{text}: text form {a:?}, JSON form {b:?}"),
    }
    a
}

fn refused(r: &mut dyn Runner, text: &str, why: &str) {
    match run(r, text) {
        Ok(rows) => panic!("{text}: not refused ({} rows)", rows.len()),
        Err(e) => assert!(e.contains(why), "{text}: `{e}` does not say `{why}`"),
    }
}

fn count(cell: &str) -> Option<i64> {
    if cell == "null" {
        None
    } else {
        Some(cell.parse().unwrap_or_else(|_| panic!("count `{cell}`")))
    }
}

/// `report SUBJECT [where FILTER] group by KEYS..., GENDER as g show count(...) as n`.
fn table(r: &mut dyn Runner, subject: &str, keys: &[&str], filter: Option<&str>) -> Table {
    let (gender, n) = match subject {
        "candidates" => ("demographics.gender", "count()"),
        _ => ("candidate.demographics.gender", "count(distinct candidate)"),
    };
    let mut group: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} as k{i}"))
        .collect();
    group.push(format!("{gender} as g"));
    let filter = filter.map(|f| format!(" where {f}")).unwrap_or_default();
    let text = format!(
        "report {subject}{filter} group by {} show {n} as n",
        group.join(", ")
    );
    let rows = r.text(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    rows.into_iter()
        .map(|row| {
            (
                (row[..keys.len()].to_vec(), row[keys.len()].clone()),
                count(&row[keys.len() + 1]),
            )
        })
        .collect()
}

/// candidate -> subject -> the coarse key values of each of its rows (one for candidates, one
/// per application).
type Known = BTreeMap<String, BTreeMap<&'static str, Vec<Vec<String>>>>;

fn known(r: &mut dyn Runner) -> Known {
    let mut rows: Known = BTreeMap::new();
    for (subject, keys, _) in subjects() {
        let id = if subject == "candidates" {
            "id"
        } else {
            "candidate.id"
        };
        let text = format!("report {subject} show {id}, {}", keys.join(", "));
        for row in r.text(&text).unwrap_or_else(|e| panic!("{text}: {e}")) {
            rows.entry(row[0].clone())
                .or_default()
                .entry(subject)
                .or_default()
                .push(row[1..].to_vec());
        }
    }
    rows
}

/// Evidence per candidate and answer.
#[derive(Default)]
struct Evidence(BTreeMap<String, BTreeMap<String, f64>>);

impl Evidence {
    /// A larger population's cells `whole` against a smaller one's `part`, the difference
    /// being `targets`: per gender, the published difference, and a strong sign when a cell
    /// changed at all (the same people would have the same noise).
    /// Whether some gender's cells were published in both and differ.
    fn compare(
        &mut self,
        targets: &[&String],
        genders: &BTreeSet<String>,
        whole: impl Fn(&str) -> Option<i64>,
        part: impl Fn(&str) -> Option<i64>,
    ) -> bool {
        let mut differs = false;
        for g in genders {
            if let (Some(w), Some(p)) = (whole(g), part(g)) {
                let d = (w - p) as f64;
                differs |= d != 0.0;
                for t in targets {
                    *self
                        .0
                        .entry((*t).clone())
                        .or_default()
                        .entry(g.clone())
                        .or_default() += d + if d != 0.0 { 10.0 } else { 0.0 };
                }
            }
        }
        differs
    }
}

/// A filter of the attacker's: a conjunction of `key = value` / `key != value` over a
/// subject's text keys, with SQL's meaning (a null value satisfies neither).
#[derive(Clone)]
struct Filter {
    text: Option<String>,
    terms: Vec<(usize, bool, String)>,
}

impl Filter {
    fn none() -> Filter {
        Filter {
            text: None,
            terms: Vec::new(),
        }
    }

    fn of(keys: &[&str], terms: Vec<(usize, bool, String)>) -> Filter {
        let text = terms
            .iter()
            .map(|(k, eq, v)| {
                format!(
                    "{} {} \"{}\"",
                    keys[*k],
                    if *eq { "=" } else { "!=" },
                    v.replace('\\', "\\\\").replace('"', "\\\"")
                )
            })
            .collect::<Vec<_>>()
            .join(" and ");
        Filter {
            text: Some(text),
            terms,
        }
    }

    fn selects(&self, row: &[String]) -> bool {
        self.terms
            .iter()
            .all(|(k, eq, v)| row[*k] != "null" && ((row[*k] == *v) == *eq))
    }
}

pub fn attack(r: &mut dyn Runner, truth: &BTreeMap<String, String>) -> Outcome {
    // Attack 1: every identifying form, for every candidate, text and JSON.
    let people = r.text("report candidates show id, name").unwrap();
    assert!(people.len() >= 100, "{} candidates", people.len());
    assert_eq!(people.len(), truth.len());
    for p in &people {
        let (id, name) = (&p[0], p[1].replace('"', ""));
        for text in [
            format!(
                "report candidates group by demographics.gender as g show count() as n, count(where id = \"{id}\") as target"
            ),
            format!(
                "report candidates where id = \"{id}\" group by demographics.gender as g show count() as n"
            ),
            format!(
                "report candidates where name = \"{name}\" group by demographics.gender as g show count() as n"
            ),
            format!(
                "report candidates where location = \"Berlin\" or id = \"{id}\" group by demographics.gender as g show count() as n"
            ),
            format!(
                "report applications where candidate.id != \"{id}\" group by candidate.demographics.gender as g show count(distinct candidate) as n"
            ),
        ] {
            refused(r, &text, "cannot filter a report over demographics");
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
        // Filters: only coarse values compared with values.
        (
            "report candidates where demographics.gender = \"female\" group by location as l, demographics.race_ethnicity as r show count() as n",
            "demographic field",
        ),
        (
            "report applications group by candidate.demographics.gender as g show count(distinct candidate where candidate.demographics.veteran_status = \"veteran\") as n",
            "demographic field",
        ),
        (
            "report candidates where created_at >= 2025-03-01 group by demographics.gender as g show count() as n",
            "exact timestamp",
        ),
        (
            "report candidates where created_at in last 3 months group by demographics.gender as g show count() as n",
            "not on a whole month",
        ),
        (
            "report candidates where created_at in this week group by demographics.gender as g show count() as n",
            "too fine",
        ),
        (
            "report candidates where created_at in next 2 months group by demographics.gender as g show count() as n",
            "`in next N ...` starts today and ends on a day of its own",
        ),
        (
            "report candidates where created_at in next 10 days group by demographics.gender as g show count() as n",
            "too fine",
        ),
        (
            "report candidates where created_at >= today group by demographics.gender as g show count() as n",
            "exact timestamp",
        ),
        (
            "report candidates where week(created_at) = \"2025-W10\" group by demographics.gender as g show count() as n",
            "too fine",
        ),
        (
            "report candidates where name contains \"an\" group by demographics.gender as g show count() as n",
            "text matching",
        ),
        (
            "report candidates where location > \"M\" group by demographics.gender as g show count() as n",
            "applies to `month(..)`",
        ),
        (
            "report applications where job.location = candidate.location group by candidate.demographics.gender as g show count(distinct candidate) as n",
            "never two fields",
        ),
        (
            "report applications where time_to_hire > 30 group by candidate.demographics.gender as g show count(distinct candidate) as n",
            "cannot filter a report over demographics",
        ),
        (
            "report candidates where email = \"a@b.example\" group by demographics.gender as g show count() as n",
            "not a coarse field",
        ),
    ] {
        refused(r, text, why);
    }
    // The forms that are allowed run, in both forms.
    for text in [
        "report candidates where location != \"Berlin\" and not (location in (\"Paris\", \"Lyon\") or location is null) group by demographics.gender as g show count() as n",
        "report candidates where quarter(created_at) >= \"2025-Q1\" and year(created_at) between \"2024\" and \"2026\" group by demographics.gender as g show count() as n",
        "report applications where job.department.name != \"Sales\" and quarter(applied_at) >= \"2025-Q1\" group by status, candidate.demographics.gender as gender show count(distinct candidate) as n",
    ] {
        run(r, text).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    // A count's own filter, however coarse (red team, pass 12: `count()` beside `count(where
    // location != "X")` told the answers of the few in X, 66 of 67, none wrong).
    for text in [
        "report applications where applied_at in previous year or job.status = \"open\" group by job.department.name as d, candidate.demographics.gender as g show count(distinct candidate) as n, count(distinct candidate where status = \"hired\") as hired",
        "report candidates group by demographics.gender as gender show count() as everyone, count(where location != \"Auckland, NZ\") as x",
        "report candidates group by demographics.gender as gender show count() as everyone, count(where not (location = \"Kraków, PL\" and month(created_at) = \"2025-12\")) as t0",
    ] {
        refused(r, text, "a count cannot filter its own people");
    }

    // Repeated runs and the JSON form publish the same rows (the same noise).
    let text = "report applications group by job.department.name as d, candidate.demographics.gender as g show count(distinct candidate) as n";
    let first = run(r, text).unwrap();
    assert!(!first.is_empty());
    for _ in 0..3 {
        assert_eq!(r.text(text).unwrap(), first);
    }

    let known = known(r);
    let genders: BTreeSet<String> = truth.values().cloned().collect();
    let empty = BTreeSet::new();
    let mut evidence = Evidence::default();

    // Attacks 2 and 3: every table of up to two coarse keys per subject, and each split by one
    // more key.
    let mut grouped_pairs = 0usize;
    let mut revealing = 0usize;
    for (subject, keys, _) in subjects() {
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
            tables.insert(s.clone(), table(r, subject, &names, None));
        }
        for coarse in sets.iter().filter(|s| s.len() < 2) {
            for extra in (0..keys.len()).filter(|e| !coarse.contains(e)) {
                let mut fine: Vec<usize> = coarse.clone();
                fine.push(extra);
                let mut fine_sorted = fine.clone();
                fine_sorted.sort();
                let (t1, t2) = (&tables[coarse], &tables[&fine_sorted]);
                // The fine table's values in the order `coarse..., extra`.
                let position: Vec<usize> = fine
                    .iter()
                    .map(|k| fine_sorted.iter().position(|x| x == k).unwrap())
                    .collect();
                let fine_cells: Table = t2
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
                // Who is in each coarse and fine group (what the attacker knows).
                let mut members: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
                let mut fine_members: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
                for (c, m) in &known {
                    for row in m.get(subject).into_iter().flatten() {
                        let v: Vec<String> = coarse.iter().map(|k| row[*k].clone()).collect();
                        let f: Vec<String> = fine.iter().map(|k| row[*k].clone()).collect();
                        members.entry(v).or_default().insert(c.clone());
                        fine_members.entry(f).or_default().insert(c.clone());
                    }
                }
                for (v, c1) in &members {
                    let siblings: Vec<&Vec<String>> = fine_members
                        .keys()
                        .filter(|f| f[..v.len()] == v[..])
                        .collect();
                    let whole = |g: &str| t1.get(&(v.clone(), g.to_owned())).copied().flatten();
                    for own in &siblings {
                        let c2 = fine_members.get(*own).unwrap_or(&empty);
                        let others: Vec<&Vec<String>> =
                            siblings.iter().filter(|f| **f != *own).copied().collect();
                        // Attack 2: the coarse cell against one other fine cell that holds all
                        // but 1..3 people.
                        for other in &others {
                            let c3 = fine_members.get(*other).unwrap_or(&empty);
                            let gone: Vec<&String> = c1.difference(c3).collect();
                            if (1..=3).contains(&gone.len()) {
                                grouped_pairs += gone.len();
                                revealing +=
                                    usize::from(evidence.compare(&gone, &genders, whole, |g| {
                                        fine_cells
                                            .get(&((*other).clone(), g.to_owned()))
                                            .copied()
                                            .flatten()
                                    }));
                            }
                        }
                        // Attack 3: a fine group of 1..3 people, its cell recomputed as the
                        // coarse cell minus its siblings.
                        if (1..=3).contains(&c2.len()) {
                            let targets: Vec<&String> = c2.iter().collect();
                            grouped_pairs += targets.len();
                            revealing +=
                                usize::from(evidence.compare(&targets, &genders, whole, |g| {
                                    others
                                        .iter()
                                        .map(|f| {
                                            fine_cells
                                                .get(&((*f).clone(), g.to_owned()))
                                                .copied()
                                                .flatten()
                                        })
                                        .try_fold(0i64, |acc, n| n.map(|n| acc + n))
                                }));
                        }
                    }
                }
            }
        }
    }

    // Attack 4: differencing through filters.
    let mut filtered_pairs = 0usize;
    let mut revealing_filtered = 0usize;
    let mut revealed: Vec<String> = Vec::new();
    let mut filtered_reports = 0usize;
    for (subject, keys, text_keys) in subjects() {
        let rows_of = |c: &String| -> &[Vec<String>] {
            known
                .get(c)
                .and_then(|m| m.get(subject))
                .map_or(&[], |v| v.as_slice())
        };
        let population: BTreeSet<&String> =
            known.keys().filter(|c| !rows_of(c).is_empty()).collect();
        let mut filters = vec![Filter::none()];
        let values = |k: usize| -> BTreeSet<String> {
            population
                .iter()
                .flat_map(|c| rows_of(c).iter().map(move |row| row[k].clone()))
                .filter(|v| v != "null")
                .collect()
        };
        for k in 0..text_keys {
            for v in values(k) {
                filters.push(Filter::of(keys, vec![(k, true, v.clone())]));
                filters.push(Filter::of(keys, vec![(k, false, v)]));
            }
        }
        // Tiny coarse cells (a, b) of two keys: isolate them with a filter and its complement.
        for k1 in 0..text_keys {
            for k2 in (0..text_keys).filter(|k| *k != k1) {
                let mut cells: BTreeMap<(String, String), BTreeSet<&String>> = BTreeMap::new();
                for c in &population {
                    for row in rows_of(c) {
                        if row[k1] != "null" && row[k2] != "null" {
                            cells
                                .entry((row[k1].clone(), row[k2].clone()))
                                .or_default()
                                .insert(*c);
                        }
                    }
                }
                for ((a, b), who) in cells {
                    if (1..=3).contains(&who.len()) {
                        filters.push(Filter::of(
                            keys,
                            vec![(k1, true, a.clone()), (k2, false, b.clone())],
                        ));
                        filters.push(Filter::of(keys, vec![(k1, true, a), (k2, true, b)]));
                    }
                }
            }
        }
        let selected: Vec<BTreeSet<&String>> = filters
            .iter()
            .map(|f| {
                population
                    .iter()
                    .filter(|c| rows_of(c).iter().any(|row| f.selects(row)))
                    .copied()
                    .collect()
            })
            .collect();
        // The pairs: a population and a nested one 1..3 people smaller; and populations of
        // 1..3 people read directly (against an empty one).
        let mut pairs: Vec<(usize, Option<usize>, Vec<&String>)> = Vec::new();
        for (i, s) in selected.iter().enumerate() {
            if (1..=3).contains(&s.len()) {
                pairs.push((i, None, s.iter().copied().collect()));
            }
            for (j, t) in selected.iter().enumerate() {
                if i != j && s.len() > t.len() && s.len() - t.len() <= 3 && t.is_subset(s) {
                    pairs.push((i, Some(j), s.difference(t).copied().collect()));
                }
            }
        }
        let mut tables: BTreeMap<usize, Table> = BTreeMap::new();
        for (i, j, targets) in pairs {
            for f in std::iter::once(i).chain(j) {
                if let std::collections::btree_map::Entry::Vacant(e) = tables.entry(f) {
                    filtered_reports += 1;
                    e.insert(table(r, subject, &[], filters[f].text.as_deref()));
                }
            }
            filtered_pairs += targets.len();
            let cell = |t: &Table, g: &str| t.get(&(vec![], g.to_owned())).copied().flatten();
            let whole = &tables[&i];
            let differs = match j {
                Some(j) => {
                    let part = &tables[&j];
                    evidence.compare(&targets, &genders, |g| cell(whole, g), |g| cell(part, g))
                }
                None => evidence.compare(&targets, &genders, |g| cell(whole, g), |_| Some(0)),
            };
            revealing_filtered += usize::from(differs);
            if differs {
                revealed.push(format!(
                    "{subject}: {:?} against {:?}, {targets:?}",
                    filters[i].text,
                    j.map(|j| filters[j].text.clone())
                ));
            }
        }
    }
    assert!(
        grouped_pairs > 0,
        "the org offers no differencing pair at all"
    );
    assert!(filtered_pairs > 0, "the org offers no filter pair at all");

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
    let mut targets = 0usize;
    for (c, g) in truth {
        let guess = match evidence.0.get(c) {
            Some(e) if e.values().any(|x| *x > 0.0) => {
                targets += 1;
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
    let outcome = Outcome {
        candidates: truth.len(),
        grouped_pairs,
        grouped_revealing: revealing,
        filtered_pairs,
        filtered_revealing: revealing_filtered,
        filtered_reports,
        targets,
        accuracy: right as f64 / n,
        baseline,
    };
    // No pair of nested populations a few people apart is ever published on both sides with a
    // cell that changed (the tell of the cell-key method: same people, same noise).
    assert_eq!(outcome.grouped_revealing, 0, "{outcome:?}");
    assert_eq!(outcome.filtered_revealing, 0, "{outcome:?}: {revealed:#?}");
    assert!(
        outcome.accuracy <= baseline + 0.02,
        "attacker accuracy {:.3} > baseline {baseline:.3} + 0.02 ({outcome:?})",
        outcome.accuracy
    );
    outcome
}
