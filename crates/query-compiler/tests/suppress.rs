//! Small-cell suppression (`query_compiler::suppress`): examples, and properties over random
//! tables of groups checked against an independent, naive implementation of the rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use query_compiler::{Suppression, SuppressionSummary, Value, suppress};
use std::collections::BTreeSet;

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Rows `[key..., measure, candidates]` for keys given as text (`""` is NULL).
fn table(rows: &[(&[&str], i64)]) -> Vec<Vec<Value>> {
    rows.iter()
        .map(|(keys, n)| {
            let mut r: Vec<Value> = keys
                .iter()
                .map(|k| if k.is_empty() { Value::Null } else { text(k) })
                .collect();
            r.push(Value::Integer(n * 3));
            r.push(Value::Integer(*n));
            r
        })
        .collect()
}

fn spec(demographic: Vec<usize>, other: Vec<usize>, width: usize) -> Suppression {
    Suppression {
        min_candidates: 5,
        candidates_column: width,
        demographic_keys: demographic,
        other_keys: other,
        demographic_fields: Vec::new(),
        cells: 0,
        outputs: Vec::new(),
        atoms: None,
        grouped: None,
        margins: Vec::new(),
        population: false,
    }
}

fn keys_of(rows: &[Vec<Value>], n: usize) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r[..n]
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

#[test]
fn one_key_small_cell_and_its_complement() {
    let rows = table(&[
        (&["female"], 40),
        (&["male"], 50),
        (&["nonbinary"], 3),
        (&[""], 12),
    ]);
    let (out, summary) = suppress(&spec(vec![0], vec![], 2), rows);
    // nonbinary is under 5; the smallest other cell (the undisclosed, 12) goes with it.
    assert_eq!(
        out,
        vec![
            vec![text("female"), Value::Integer(120)],
            vec![text("male"), Value::Integer(150)],
        ]
    );
    assert_eq!(
        summary,
        SuppressionSummary {
            below_threshold: 1,
            complementary: 1
        }
    );
}

#[test]
fn nothing_small_nothing_removed() {
    let rows = table(&[(&["female"], 5), (&["male"], 6)]);
    let (out, summary) = suppress(&spec(vec![0], vec![], 2), rows);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].len(), 2, "the hidden column is dropped");
    assert_eq!(summary.total(), 0);
}

#[test]
fn two_small_cells_protect_each_other() {
    let rows = table(&[(&["a"], 40), (&["b"], 2), (&["c"], 4)]);
    let (out, summary) = suppress(&spec(vec![0], vec![], 2), rows);
    assert_eq!(out.len(), 1);
    assert_eq!(summary.below_threshold, 2);
    assert_eq!(summary.complementary, 0);
}

#[test]
fn department_by_gender_protects_both_margins() {
    // Eng/female is small: within Eng (along gender) the next smallest goes, and within female
    // (along department, whose total the gender report gives) too, and so on.
    let rows = table(&[
        (&["eng", "female"], 3),
        (&["eng", "male"], 30),
        (&["eng", ""], 8),
        (&["sales", "female"], 20),
        (&["sales", "male"], 25),
        (&["sales", ""], 9),
        (&["hr", "female"], 15),
        (&["hr", "male"], 6),
    ]);
    let s = spec(vec![1], vec![0], 3);
    let (out, summary) = suppress(&s, rows);
    let kept = keys_of(&out, 2);
    assert!(
        !kept
            .iter()
            .any(|k| k.contains("eng") && k.contains("female"))
    );
    assert!(
        !kept.iter().any(|k| k.contains("eng") && k.contains("Null")),
        "{kept:?}"
    );
    assert!(
        !kept
            .iter()
            .any(|k| k.contains("hr") && k.contains("female")),
        "{kept:?}"
    );
    assert_eq!(summary.below_threshold, 1);
    assert!(summary.complementary >= 2, "{summary:?}");
}

/// The rule, written naively: margins by comparing every pair of rows.
fn naive(s: &Suppression, rows: &[Vec<Value>]) -> Vec<bool> {
    let count = |r: &Vec<Value>| match r[s.candidates_column] {
        Value::Integer(i) => i,
        _ => 0,
    };
    let keys: Vec<usize> = s
        .demographic_keys
        .iter()
        .chain(&s.other_keys)
        .copied()
        .collect();
    let mut hidden: Vec<bool> = rows
        .iter()
        .map(|r| count(r) < i64::from(s.min_candidates))
        .collect();
    if !hidden.iter().any(|h| *h) {
        return hidden;
    }
    let key_text = |r: &Vec<Value>| -> Vec<String> {
        keys.iter()
            .map(|k| match &r[*k] {
                Value::Null => String::new(),
                Value::Text(t) => format!("~{t}"),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    loop {
        let mut changed = false;
        for n in 0..keys.len() {
            let mut seen: Vec<usize> = Vec::new();
            for i in 0..rows.len() {
                if seen.contains(&i) {
                    continue;
                }
                let same = |j: usize| {
                    keys.iter()
                        .enumerate()
                        .all(|(m, k)| m == n || rows[i][*k] == rows[j][*k])
                };
                let margin: Vec<usize> = (0..rows.len()).filter(|j| same(*j)).collect();
                seen.extend(&margin);
                if margin.iter().filter(|j| hidden[**j]).count() == 1
                    && let Some(j) = margin
                        .iter()
                        .copied()
                        .filter(|j| !hidden[*j])
                        .min_by_key(|j| (count(&rows[*j]), key_text(&rows[*j])))
                {
                    hidden[j] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            return hidden;
        }
    }
}

/// A random table of groups: 1 to 3 keys (the first `demographic` of them demographic), values
/// from a few texts or NULL, each combination at most once, with random candidate counts.
fn tables() -> impl Strategy<Value = (Suppression, Vec<Vec<Value>>)> {
    (1usize..=3, 1usize..=3, 0usize..=1).prop_flat_map(|(keys, values, extra)| {
        let demographic = (1..=keys).prop_map(move |d| d);
        let combos = prop::collection::vec(
            (
                prop::collection::vec(0..=values, keys),
                prop_oneof![0i64..5, 0i64..40],
            ),
            0..40,
        );
        (demographic, combos).prop_map(move |(d, combos)| {
            let mut seen = BTreeSet::new();
            let mut rows = Vec::new();
            for (key, n) in combos {
                if !seen.insert(key.clone()) {
                    continue;
                }
                let mut row: Vec<Value> = key
                    .iter()
                    .map(|v| {
                        if *v == 0 {
                            Value::Null
                        } else {
                            Value::Text(format!("v{v}"))
                        }
                    })
                    .collect();
                // A measure column between the keys and the hidden count.
                for _ in 0..=extra {
                    row.push(Value::Integer(n * 2 + 1));
                }
                row.push(Value::Integer(n));
                rows.push(row);
            }
            let s = Suppression {
                min_candidates: 5,
                candidates_column: keys + 1 + extra,
                demographic_keys: (0..d).collect(),
                other_keys: (d..keys).collect(),
                demographic_fields: Vec::new(),
                cells: 0,
                outputs: Vec::new(),
                atoms: None,
                grouped: None,
                margins: Vec::new(),
                population: false,
            };
            (s, rows)
        })
    })
}

fn all_keys(s: &Suppression) -> Vec<usize> {
    s.demographic_keys
        .iter()
        .chain(&s.other_keys)
        .copied()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn suppression_properties((s, rows) in tables(), seed in any::<u64>()) {
        let (out, summary) = suppress(&s, rows.clone());
        let hidden = naive(&s, &rows);
        let count = |r: &Vec<Value>| match r[s.candidates_column] {
            Value::Integer(i) => i,
            _ => 0,
        };
        // The same cells as the naive rule, in order, without the hidden column.
        let expected: Vec<Vec<Value>> = rows
            .iter()
            .zip(&hidden)
            .filter(|(_, h)| !**h)
            .map(|(r, _)| r[..s.candidates_column].to_vec())
            .collect();
        prop_assert_eq!(&out, &expected);
        prop_assert_eq!(summary.total(), hidden.iter().filter(|h| **h).count());
        prop_assert_eq!(
            summary.below_threshold,
            rows.iter().filter(|r| count(r) < 5).count()
        );
        // Every shown cell counts at least the minimum.
        for (r, h) in rows.iter().zip(&hidden) {
            if !h {
                prop_assert!(count(r) >= 5);
            }
        }
        // In every margin, no suppressed cell or at least two (or the margin is that one cell).
        let keys = all_keys(&s);
        for n in 0..keys.len() {
            for i in 0..rows.len() {
                let margin: Vec<usize> = (0..rows.len())
                    .filter(|j| {
                        keys.iter()
                            .enumerate()
                            .all(|(m, k)| m == n || rows[i][*k] == rows[*j][*k])
                    })
                    .collect();
                let suppressed = margin.iter().filter(|j| hidden[**j]).count();
                prop_assert!(
                    suppressed != 1 || margin.len() == 1,
                    "margin {:?} along key {} has one suppressed cell",
                    margin,
                    n
                );
            }
        }
        // A cell with enough candidates goes only to protect another: some margin of it holds
        // another suppressed cell.
        for i in (0..rows.len()).filter(|i| hidden[*i] && count(&rows[*i]) >= 5) {
            let linked = (0..keys.len()).any(|n| {
                (0..rows.len()).any(|j| {
                    j != i
                        && hidden[j]
                        && keys
                            .iter()
                            .enumerate()
                            .all(|(m, k)| m == n || rows[i][*k] == rows[j][*k])
                })
            });
            prop_assert!(linked, "row {} was suppressed for nothing", i);
        }
        // Without small cells nothing is removed.
        if summary.below_threshold == 0 {
            prop_assert_eq!(out.len(), rows.len());
        }
        // Deterministic, and independent of the rows' order.
        let (again, summary_again) = suppress(&s, rows.clone());
        prop_assert_eq!(&again, &out);
        prop_assert_eq!(summary_again, summary);
        let mut shuffled = rows.clone();
        let mut state = seed | 1;
        for k in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(k, (state % (k as u64 + 1)) as usize);
        }
        let (out_shuffled, summary_shuffled) = suppress(&s, shuffled);
        let as_set = |rows: &[Vec<Value>]| -> BTreeSet<String> {
            rows.iter().map(|r| format!("{r:?}")).collect()
        };
        prop_assert_eq!(as_set(&out_shuffled), as_set(&out));
        prop_assert_eq!(summary_shuffled, summary);
    }
}

/// A filtered report over demographics carries its atoms (the group keys and the filtered
/// values, without filters and demographics), and a group holding an atom of 1..threshold
/// candidates, selected by the filter or not, is withheld; without the atoms' counts nothing is
/// published.
#[test]
fn filtered_reports_are_checked_against_their_atoms() {
    use query_compiler::demographics::{PerturbationTable, publish};
    let text = "report applications where job.department.name != \"Sales\" and month(applied_at) >= \"2025-01\" group by status as s, candidate.demographics.gender as g show count(distinct candidate) as n";
    let compiled = query_compiler::compile(
        text,
        &query_compiler::MemoryCatalog::example(),
        query_compiler::Dialect::Sqlite,
        &query_compiler::OrgScope,
    )
    .unwrap();
    let s = compiled.suppression.clone().unwrap();
    let atoms = s.atoms.clone().unwrap();
    assert_eq!(
        atoms.report.to_string().replace('\n', " "),
        "report applications group by candidate.id as atom_key_0, status as atom_key_1, job.department.name as atom_key_2, month(applied_at) as atom_key_3 show count() as atom_rows"
    );
    assert_eq!(atoms.keys, 1);
    assert!(atoms.per_candidate);
    assert_eq!(s.other_keys, vec![0]);
    // The statement's rows: status, gender, n, then three values per cell.
    let row = |status: &str, gender: &str, n: i64| {
        let mut r = vec![text_value(status), text_value(gender), Value::Integer(n)];
        for i in 0..s.cells {
            r.extend([
                Value::Integer(n),
                Value::Integer(1000 + i as i64),
                Value::Integer(2000),
            ]);
        }
        r
    };
    let rows = vec![
        row("active", "female", 30),
        row("active", "male", 31),
        row("hired", "female", 20),
        row("hired", "male", 22),
        row("archived", "female", 40),
        row("archived", "male", 44),
    ];
    // The atom report's rows: candidate, status, department, month, rows. `n` candidates
    // from `first` with applications of these values.
    let atom = |first: usize, n: usize, status: &str, department: &str, month: &str| {
        (first..first + n)
            .map(|c| {
                vec![
                    text_value(&format!("cand_{c}")),
                    text_value(status),
                    text_value(department),
                    text_value(month),
                    Value::Integer(1),
                ]
            })
            .collect::<Vec<_>>()
    };
    let counted: Vec<Vec<Value>> = [
        atom(0, 40, "active", "Engineering", "2025-01"),
        atom(40, 7, "active", "Sales", "2025-01"),
        atom(100, 30, "hired", "Engineering", "2025-02"),
        atom(130, 12, "hired", "Sales", "2025-02"),
        atom(200, 50, "archived", "Engineering", "2025-01"),
        atom(250, 50, "archived", "Engineering", "2025-02"),
    ]
    .concat();
    let exact = PerturbationTable::parse("1").unwrap();
    let statuses = |published: Vec<Vec<Value>>| -> Vec<String> {
        published
            .iter()
            .map(|r| match &r[0] {
                Value::Text(t) => t.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    // The statement gives population sketches: no margins to count (the check against
    // populations published before stands in for them).
    assert!(s.population);
    assert!(s.margins.is_empty());
    let margins: Vec<Vec<Vec<Value>>> = Vec::new();
    let all = statuses(
        publish(
            &s,
            rows.clone(),
            Some(&counted),
            &margins,
            &Default::default(),
            &exact,
            &|_, _| 0,
            &|_| 1,
        )
        .rows,
    );
    assert_eq!(all.len(), 6, "{all:?}");
    // `active` holds an atom of 2 candidates (a department the filter drops): withheld, and so
    // is the smallest other group of each gender's margin (complementary suppression).
    let withheld = |counted: &[Vec<Value>]| {
        statuses(
            publish(
                &s,
                rows.clone(),
                Some(counted),
                &margins,
                &Default::default(),
                &exact,
                &|_, _| 0,
                &|_| 1,
            )
            .rows,
        )
    };
    let small = [
        atom(0, 40, "active", "Engineering", "2025-01"),
        atom(40, 2, "active", "Sales", "2025-01"),
    ]
    .concat();
    let mut with_small = small.clone();
    with_small.extend(counted[47..].iter().cloned());
    assert_eq!(withheld(&with_small), vec!["archived", "archived"]);
    // Several rows per candidate: 3 of the 40 `active` candidates in Engineering also have an
    // application in Sales. Every atom (department) counts at least 5 candidates, but the 3 are
    // an atom of their own (Engineering and Sales), which `department != "Sales"` against no
    // filter would tell apart: withheld.
    let mut mixed = counted.clone();
    mixed.extend(atom(0, 3, "active", "Sales", "2025-01"));
    assert_eq!(withheld(&mixed), vec!["archived", "archived"]);
    let published = publish(
        &s,
        rows.clone(),
        Some(&with_small),
        &margins,
        &Default::default(),
        &exact,
        &|_, _| 0,
        &|_| 1,
    )
    .rows;
    assert_eq!(published[0][2], Value::Integer(40));
    // Without the atoms' counts, a filtered report publishes nothing.
    assert!(
        publish(
            &s,
            rows,
            None,
            &margins,
            &Default::default(),
            &exact,
            &|_, _| 0,
            &|_| 1
        )
        .rows
        .is_empty()
    );
}

fn text_value(s: &str) -> Value {
    Value::Text(s.into())
}

/// On applications a candidate can be in several groups of a key: the margins are then counted
/// in distinct candidates (the rows of `Safe::margins`' reports), not as sums of their groups.
#[test]
fn margins_of_application_keys_use_their_distinct_candidates() {
    use query_compiler::demographics::coarse_margins;
    // Rows `[status, gender, candidates]`: 38 candidates have a `hired` application, 30 an
    // `active` one, 40 in all (28 have both).
    let rows = vec![
        vec![text("hired"), text("female"), Value::Integer(20)],
        vec![text("hired"), text("male"), Value::Integer(18)],
        vec![text("active"), text("female"), Value::Integer(15)],
        vec![text("active"), text("male"), Value::Integer(15)],
    ];
    let mut s = spec(vec![1], vec![0], 2);
    // As sums: `hired` has 30 outside it, nothing is withheld.
    assert_eq!(coarse_margins(&s, &rows, &[], 5), vec![false; 4]);
    // Counted: 40 candidates, 2 outside `hired`: `group by status` against no key would tell
    // those 2 apart, so `hired` is withheld; `active` (10 outside) is not.
    s.margins =
        vec![query_syntax::parse("report applications show count(distinct candidate)").unwrap()];
    let margins = vec![vec![vec![Value::Integer(40)]]];
    assert_eq!(
        coarse_margins(&s, &rows, &margins, 5),
        vec![true, true, false, false]
    );
    // A margin the count lacks is withheld, not guessed.
    let other = vec![vec![vec![text("elsewhere"), Value::Integer(40)]]];
    assert_eq!(coarse_margins(&s, &rows, &other, 5), vec![true; 4]);
}

/// A population sketch of `people` (ids hashed as the statement's record keys are not: any
/// stable hash serves the test).
fn sketch(people: &[u64]) -> query_compiler::demographics::Population {
    use query_compiler::demographics::{POPULATION_BUCKETS, Population};
    let key = |x: u64, n: u64| {
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(n.wrapping_mul(0xD1B5_4A32_D192_ED03))
            >> 33) as i64
    };
    let mut buckets = vec![(0i64, 0i64); POPULATION_BUCKETS as usize];
    for p in people {
        let b = (key(*p, 3) % POPULATION_BUCKETS) as usize;
        buckets[b].0 += 1;
        buckets[b].1 += key(*p, 1);
    }
    let text = buckets
        .iter()
        .map(|(c, s)| format!("{c}:{s}"))
        .collect::<Vec<_>>()
        .join(",");
    Population::parse(&text).unwrap()
}

#[test]
fn population_sketches_bound_the_people_apart() {
    let base: Vec<u64> = (0..200).collect();
    let a = sketch(&base);
    assert_eq!(a.total(), 200);
    assert_eq!(a.apart(&a), 0);
    assert_eq!(
        query_compiler::demographics::Population::parse(&a.text()),
        Some(a.clone())
    );
    // One set holding the other and k more: exactly k, either way round.
    for k in 1..=6u64 {
        let more: Vec<u64> = (0..200 + k).collect();
        assert_eq!(a.apart(&sketch(&more)), k as i64);
        assert_eq!(sketch(&more).apart(&a), k as i64);
    }
    // One left and another came: never under 2 (same size, other people).
    let swapped: Vec<u64> = (1..201).collect();
    assert!(a.apart(&sketch(&swapped)) >= 2);
    // Unrelated sets of the same size are far apart.
    let other: Vec<u64> = (1000..1200).collect();
    assert!(
        a.apart(&sketch(&other)) >= 50,
        "{}",
        a.apart(&sketch(&other))
    );
    // Never more than the true difference: 30 swapped out of 200.
    let mixed: Vec<u64> = (30..230).collect();
    let apart = a.apart(&sketch(&mixed));
    assert!((5..=60).contains(&apart), "{apart}");
    // Malformed text is no sketch.
    assert!(query_compiler::demographics::Population::parse("1:2,3").is_none());
    assert!(query_compiler::demographics::Population::parse("").is_none());
}
