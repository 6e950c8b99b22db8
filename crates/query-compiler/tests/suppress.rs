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
        cells: 0,
        outputs: Vec::new(),
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
                cells: 0,
                outputs: Vec::new(),
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
