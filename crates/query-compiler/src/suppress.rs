//! Small-cell suppression of reports split by demographics.
//!
//! Demographic fields (gender, race or ethnicity, veteran and disability status) are never read
//! row by row: the resolver lets them be group keys of a grouped report and nothing else. Such a
//! report's statement returns one hidden column after the visible ones: the number of distinct
//! candidates (that the viewer sees) in each group. [`Suppression`] (in
//! [`crate::Compiled::suppression`]) says where it and the group keys are; [`suppress`] then
//! removes, before anyone sees the result:
//!
//! 1. every *cell* (result row, that is one group) that counts fewer than
//!    [`Suppression::min_candidates`] distinct candidates;
//! 2. complementary cells: a *margin* is the set of rows that share the values of every group
//!    key but one (one margin per key and per combination of the other keys' values; with one
//!    key, all the rows). The margin's total can be learned elsewhere (the same report without
//!    that key), so a margin with exactly one suppressed row and other rows would give the
//!    suppressed row away by subtraction: the smallest remaining row of that margin (fewest
//!    candidates, ties broken by the key values, then by place) is suppressed too. This runs over
//!    every key, demographic or not, until nothing changes, so that in every margin either no
//!    row or at least two rows are suppressed.
//!
//! A NULL key (a demographic not disclosed, or a department not set) is an ordinary value: its
//! row is a cell like any other. Suppressed rows are removed (not shown with NULLs), the hidden
//! column is dropped, and the [`SuppressionSummary`] says how many cells went for each reason.
//! Pure: rows in, rows out, in their order.

use crate::Value;
use crate::ir::Ir;
use std::cmp::Ordering;

/// How to post-process the result of a report split by demographics.
///
/// The statement's result rows hold the visible columns ([`crate::Compiled::columns`], in order)
/// and then, last, the hidden count of distinct candidates per group (an integer, at index
/// `candidates_column`, which equals `columns.len()`). Pass the rows, hidden column included, to
/// [`suppress`] before showing, exporting or storing anything of them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Suppression {
    /// Groups with fewer distinct candidates are suppressed ([`crate::resolve::MIN_CANDIDATES`]).
    pub min_candidates: u32,
    /// The index of the hidden count of distinct candidates in a result row (the last value).
    pub candidates_column: usize,
    /// The indexes (in a result row, as in `columns`) of the demographic group keys.
    pub demographic_keys: Vec<usize>,
    /// The indexes of the other group keys.
    pub other_keys: Vec<usize>,
    /// The demographic fields the report groups by, by name, sorted: the answered part of a
    /// group's population ([`crate::demographics::Hidden::answered`]) is of these questions,
    /// and is compared only with parts of the same ones (red team, pass 20: parts of other
    /// questions differed by those who answered one but not the other, and were withheld).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub demographic_fields: Vec<String>,
    /// In a report over demographics: the cells whose counts and keys follow the visible
    /// columns (three values each, from `candidates_column`), the first the group's own.
    pub cells: usize,
    /// How each visible column is published ([`crate::demographics::publish`]).
    pub outputs: Vec<crate::demographics::Published>,
    /// A filtered report's atoms, which the caller counts and passes to
    /// [`crate::demographics::publish`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atoms: Option<crate::demographics::Atoms>,
    /// A report whose `where` holds equalities runs as this grouped report instead
    /// ([`crate::demographics::Grouped`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grouped: Option<Box<crate::demographics::Grouped>>,
    /// With several rows per candidate: the reports counting the margins of each coarse key,
    /// which the caller runs and passes to [`crate::demographics::publish`]. Empty when the
    /// statement gives population sketches ([`Suppression::population`]): the check against
    /// populations published before then stands in for the margins (docs/privacy.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub margins: Vec<query_syntax::Report>,
    /// Whether each row then holds the sketch of its population without demographics
    /// ([`crate::demographics::Population`], two values per bucket), then the sketch of the
    /// part of it with an answer (the same), last.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub population: bool,
}

impl Suppression {
    /// How many values a result row holds after the visible columns: the hidden count of
    /// distinct candidates, or three per cell, then the population's and its answered part's
    /// sketches and the most groups one of its candidates is in.
    pub fn hidden_columns(&self) -> usize {
        if self.cells == 0 {
            1
        } else {
            3 * self.cells
                + if self.population {
                    4 * crate::demographics::POPULATION_BUCKETS as usize + 1
                } else {
                    0
                }
        }
    }
}

/// What [`suppress`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SuppressionSummary {
    /// Cells (rows) with fewer than `min_candidates` distinct candidates.
    pub below_threshold: usize,
    /// Cells removed so that no suppressed cell can be recovered from a margin's total.
    pub complementary: usize,
}

impl SuppressionSummary {
    /// Every cell removed.
    pub fn total(&self) -> usize {
        self.below_threshold + self.complementary
    }
}

/// The suppression a resolved report needs: `Some` exactly when it is grouped by a demographic
/// field (and its statement then returns the hidden column).
pub fn suppression(ir: &Ir) -> Option<Suppression> {
    ir.candidates?;
    let mut demographic_keys = Vec::new();
    let mut other_keys = Vec::new();
    let mut demographic_fields: Vec<String> = ir
        .dims
        .iter()
        .filter_map(|d| match &d.expr {
            crate::ir::Scalar::Field { field, .. } if d.is_demographic() => {
                Some(field.name.to_owned())
            }
            _ => None,
        })
        .collect();
    demographic_fields.sort();
    demographic_fields.dedup();
    for (i, dim) in ir.dims.iter().enumerate() {
        let Some(c) = ir.dim_column(i) else { continue };
        if dim.is_demographic() {
            demographic_keys.push(c);
        } else {
            other_keys.push(c);
        }
    }
    let population = ir.candidate_cells().is_some();
    Some(Suppression {
        min_candidates: crate::resolve::MIN_CANDIDATES,
        candidates_column: ir.outputs.len(),
        demographic_keys,
        other_keys,
        demographic_fields,
        cells: ir.cells.len(),
        // Never missing: the resolver refuses a report whose columns cannot be published.
        outputs: crate::demographics::published_outputs(ir).unwrap_or_default(),
        atoms: ir.safe.atoms.clone(),
        grouped: ir.safe.grouped.clone(),
        margins: if population {
            Vec::new()
        } else {
            ir.safe.margins.clone()
        },
        population,
    })
}

/// Suppresses the small cells of a result and those that would reveal them (see the module
/// documentation), and drops the hidden column. Rows keep their order.
pub fn suppress(s: &Suppression, rows: Vec<Vec<Value>>) -> (Vec<Vec<Value>>, SuppressionSummary) {
    let counts: Vec<i64> = rows
        .iter()
        .map(|r| candidates(r.get(s.candidates_column)))
        .collect();
    let min = i64::from(s.min_candidates);
    let mut suppressed: Vec<bool> = counts.iter().map(|c| *c < min).collect();
    let below_threshold = suppressed.iter().filter(|x| **x).count();
    let keys: Vec<usize> = s
        .demographic_keys
        .iter()
        .chain(&s.other_keys)
        .copied()
        .collect();
    // Ties between equal counts: by the key values (demographic keys first), then by place.
    let tie = |a: usize, b: usize| {
        keys.iter()
            .map(|k| compare(rows[a].get(*k), rows[b].get(*k)))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
            .then(a.cmp(&b))
    };
    if below_threshold > 0 {
        // The margins depend on the keys only: computed once, visited until nothing changes.
        let all: Vec<Vec<usize>> = (0..keys.len())
            .flat_map(|n| margins(&rows, &keys, n))
            .collect();
        loop {
            let mut changed = false;
            {
                for margin in &all {
                    let hidden = margin.iter().filter(|i| suppressed[**i]).count();
                    if hidden != 1 {
                        continue;
                    }
                    let smallest = margin
                        .iter()
                        .copied()
                        .filter(|i| !suppressed[*i])
                        .min_by(|a, b| counts[*a].cmp(&counts[*b]).then_with(|| tie(*a, *b)));
                    if let Some(i) = smallest {
                        suppressed[i] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }
    let total = suppressed.iter().filter(|x| **x).count();
    let out = rows
        .into_iter()
        .zip(suppressed)
        .filter(|(_, hidden)| !hidden)
        .map(|(mut row, _)| {
            if s.candidates_column < row.len() {
                row.remove(s.candidates_column);
            }
            row
        })
        .collect();
    (
        out,
        SuppressionSummary {
            below_threshold,
            complementary: total - below_threshold,
        },
    )
}

/// The hidden count of a row (a missing or non-numeric value counts as none).
fn candidates(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Integer(i)) => *i,
        // Only whole candidates: a fraction rounds down, so never up past the threshold.
        Some(Value::Number(f)) if f.is_finite() => f.floor() as i64,
        _ => 0,
    }
}

/// The margins along `keys[n]`: the rows grouped by the values of every other key, as row
/// indexes in their order, margins in the order of their first row.
fn margins(rows: &[Vec<Value>], keys: &[usize], n: usize) -> Vec<Vec<usize>> {
    let others: Vec<usize> = keys
        .iter()
        .enumerate()
        .filter(|(m, _)| *m != n)
        .map(|(_, k)| *k)
        .collect();
    let same = |a: usize, b: usize| {
        others
            .iter()
            .all(|k| compare(rows[a].get(*k), rows[b].get(*k)) == Ordering::Equal)
    };
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|a, b| {
        others
            .iter()
            .map(|k| compare(rows[*a].get(*k), rows[*b].get(*k)))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
            .then(a.cmp(b))
    });
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match out.last_mut() {
            Some(margin) if margin.first().is_some_and(|f| same(*f, i)) => margin.push(i),
            _ => out.push(vec![i]),
        }
    }
    out.sort_by_key(|m| m.first().copied());
    out
}

/// A total order on values: missing, NULL, then by kind, then by value (numbers by their total
/// order, so that grouping and tie-breaking never depend on the rows' order).
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None => 0,
            Some(Value::Null) => 1,
            Some(Value::Bool(_)) => 2,
            Some(Value::Integer(_) | Value::Number(_)) => 3,
            Some(Value::Instant(_)) => 4,
            Some(Value::Date(_)) => 5,
            Some(Value::Text(_)) => 6,
            Some(Value::List(_)) => 7,
            Some(Value::Map(_)) => 8,
        }
    }
    match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Integer(x)), Some(Value::Integer(y)))
        | (Some(Value::Instant(x)), Some(Value::Instant(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.total_cmp(y),
        (Some(Value::Integer(x)), Some(Value::Number(y))) => (*x as f64).total_cmp(y),
        (Some(Value::Number(x)), Some(Value::Integer(y))) => x.total_cmp(&(*y as f64)),
        (Some(Value::Date(x)), Some(Value::Date(y)))
        | (Some(Value::Text(x)), Some(Value::Text(y)))
        | (Some(Value::List(x)), Some(Value::List(y)))
        | (Some(Value::Map(x)), Some(Value::Map(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}
