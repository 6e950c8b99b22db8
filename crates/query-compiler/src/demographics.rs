//! Reports over demographics: the safe form the compiler accepts, and how their counts are
//! published (perturbed, then suppressed). The reasoning is in `docs/privacy.md`.
//!
//! **The safe form** ([`check`], called by the resolver for every report with a demographic
//! group key, in text or JSON form alike). Such a report may only
//! - count distinct candidates: `count(distinct candidate)` (or `count()` when the subject is
//!   candidates), and show arithmetic of such counts and numbers;
//! - group by demographic fields, by coarse fields ([`crate::catalog::COARSE_FIELDS`]) and by
//!   `month`, `quarter` or `year` of a coarse timestamp ([`crate::catalog::COARSE_TIMESTAMPS`]);
//! - order by its group keys.
//!
//! It has no `where` and no aggregate filter: every population it counts is a group of its
//! coarse keys, so two reports can only differ by whole groups, and the groups too close to
//! their margin are withheld (below). Its calendar is the org's: `in zone` naming another zone
//! is refused ([`zone_refused`]), since the same months seen from two zones differ by the few
//! people at their edges.
//! Everything else is refused with the span of what is wrong, why, and what is allowed: filters,
//! ids and other per-record fields (names, emails, free text, numbers), custom fields, exact
//! timestamps, every other aggregate (`min(name)` shows one person's value), `having`, `limit`,
//! funnels, and the `demographics` record itself (whether someone answered is demographic too).
//! So no cell can be narrowed to one named person by the report's text.
//!
//! **Publication** ([`publish`]): the statement returns, after the visible columns, each cell's
//! count of distinct candidates and the two sums of their record keys
//! ([`crate::ir::AggFunc::KeySum`]). Every count is perturbed by the cell-key method: the
//! caller turns a cell's key (its count and key sums) into 64 uniform bits with the org's
//! secret, and [`PerturbationTable::noise`] maps them to a small symmetric noise. The same set
//! of candidates always gets the same noise; a set one person larger gets unrelated noise.
//! Counts under the threshold after perturbation are suppressed (a count: shown as null; the
//! group's own count: the row is removed, with the complementary cells of
//! [`crate::suppress()`]); ratios are computed from the perturbed counts.
//!
//! **Margins of the coarse keys** (before any of that): along each coarse key, the groups that
//! share the other coarse keys form a margin, counted in true distinct candidates over all
//! demographic values (what the viewer can count without demographics). A group with fewer
//! than the threshold, or whose margin holds fewer than the threshold outside it, is withheld
//! with all its demographic splits: otherwise this report's group and the report without that
//! key would count sets that differ by a few known people, and comparing them (same set, same
//! noise; one more person, other noise) would tell those people's answers. The rule reads only
//! what the viewer knows already, so what it withholds tells nothing new. Pure.

use crate::Value;
use crate::catalog::{COARSE_FIELDS, COARSE_TIMESTAMPS, Entity, EntityId, FieldGroup};
use crate::ir::{Formula, Ir, OutputValue, Param, Path, Scalar};
use crate::resolve::display;
use crate::suppress::{Suppression, suppress};
use query_syntax::{BinaryOp, Diagnostic, Expr, ExprKind, Literal, Report, Span};

/// What the safe-form check needs of the resolver.
pub(crate) trait Resolve {
    /// The report's subject.
    fn subject(&self) -> EntityId;
    /// A path read from the subject's row (a relation at its end is its key).
    fn resolve_path(
        &mut self,
        path: &[query_syntax::Ident],
        span: Span,
    ) -> Result<Scalar, Diagnostic>;
}

fn refused(what: &str, why: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        format!("`{what}` cannot be used in a report over demographics: {why}"),
        span,
    )
    .with_label("not in the safe form")
    .with_help(allowed())
}

/// What a report over demographics may contain, for help texts.
pub fn allowed() -> String {
    let fields: Vec<String> = COARSE_FIELDS
        .iter()
        .map(|(e, f)| format!("{}.{f}", Entity::get(*e).singular))
        .collect();
    let times: Vec<String> = COARSE_TIMESTAMPS
        .iter()
        .map(|(e, f)| format!("{}.{f}", Entity::get(*e).singular))
        .collect();
    format!(
        "a report over demographics counts distinct candidates (`count(distinct candidate)`), grouped by demographic fields and coarse fields, without filters; coarse fields: {}; and timestamps as `month(..)`, `quarter(..)` or `year(..)`: {}",
        fields.join(", "),
        times.join(", ")
    )
}

fn written(path: &[query_syntax::Ident]) -> String {
    path.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// Refuses anything of a report over demographics outside the safe form (see the module
/// documentation). `candidate` is the path from the subject to the candidates whose
/// demographics the report is grouped by.
pub(crate) fn check(
    report: &Report,
    candidate: &Path,
    r: &mut dyn Resolve,
) -> Result<(), Diagnostic> {
    let mut c = Checker { r, candidate };
    if let Some(f) = report.filters.first() {
        return Err(filter_refused(f));
    }
    for item in &report.group_by {
        c.group_key(&item.expr)?;
    }
    for item in &report.show {
        c.published(&item.expr)?;
    }
    Ok(())
}

/// `in zone` with another zone than the org's is refused in a report over demographics: its
/// months, quarters and years would start a few hours earlier or later than the org's, and the
/// same report in two zones would count sets that differ by the few people at the edges (with
/// the hundreds of zones, down to the quarter hour).
pub(crate) fn zone_refused(zone: &query_syntax::Zone, org_zone: &str) -> Diagnostic {
    Diagnostic::new(
        format!(
            "a report over demographics is counted in the org's time zone (`{org_zone}`), not in `{}`",
            zone.name
        ),
        zone.span,
    )
    .with_label("not in the safe form")
    .with_help("the same months seen from two zones differ by the few people at their edges; remove `in zone`")
}

/// Filters are refused: a filter makes a population that another report's differs from by a
/// few people (and, applied before the margins are checked, hides the rows that would show it).
fn filter_refused(f: &Expr) -> Diagnostic {
    Diagnostic::new(
        "a report over demographics cannot filter rows: two reports whose filters differ by a few people would reveal those people's answers",
        f.span,
    )
    .with_label("not in the safe form")
    .with_help("group by the field instead (`group by status, ...`) and read the rows you need; every group is published, perturbed, unless it is too small or would single someone out")
}

struct Checker<'a> {
    r: &'a mut dyn Resolve,
    candidate: &'a Path,
}

impl Checker<'_> {
    fn group_key(&mut self, e: &Expr) -> Result<(), Diagnostic> {
        if let ExprKind::Path { path } = &e.kind {
            let s = self.r.resolve_path(path, e.span)?;
            if let Scalar::Field { field, .. } = &s
                && field.group == FieldGroup::Demographics
            {
                return Ok(());
            }
        }
        self.operand(e)
    }

    /// A value that names many people at once: a coarse field, a coarsened timestamp.
    fn operand(&mut self, e: &Expr) -> Result<(), Diagnostic> {
        match &e.kind {
            ExprKind::Path { path } => {
                let what = written(path);
                let s = self.r.resolve_path(path, e.span)?;
                let (path, field) = match s {
                    Scalar::Field { path, field } => (path, field),
                    Scalar::Custom { key, .. } => {
                        return Err(refused(
                            &what,
                            &format!(
                                "the custom field `{key}` is not declared coarse, and could single out a person"
                            ),
                            e.span,
                        ));
                    }
                    _ => {
                        return Err(refused(
                            &what,
                            "it is a record's key, which identifies one record",
                            e.span,
                        ));
                    }
                };
                let entity = path.last().map_or(self.r.subject(), |rel| rel.target);
                let at = (entity, field.name);
                if field.name == "id" {
                    return Err(refused(&what, "it identifies one record", e.span));
                }
                if COARSE_TIMESTAMPS.contains(&at) {
                    return Err(refused(
                        &what,
                        &format!(
                            "it is an exact timestamp; use `month({what})`, `quarter({what})` or `year({what})`"
                        ),
                        e.span,
                    ));
                }
                if !COARSE_FIELDS.contains(&at) {
                    return Err(refused(
                        &what,
                        "it is not a coarse field (it can single out a person)",
                        e.span,
                    ));
                }
                Ok(())
            }
            ExprKind::Call { function, args, .. } => {
                match (function.name.as_str(), args.as_slice()) {
                    ("month" | "quarter" | "year", [arg]) => {
                        let ExprKind::Path { path } = &arg.kind else {
                            return Err(refused(
                                &display(e),
                                "only a coarse timestamp can be bucketed here",
                                e.span,
                            ));
                        };
                        let what = written(path);
                        let s = self.r.resolve_path(path, arg.span)?;
                        if let Scalar::Field { path, field } = &s {
                            let entity = path.last().map_or(self.r.subject(), |rel| rel.target);
                            if COARSE_TIMESTAMPS.contains(&(entity, field.name)) {
                                return Ok(());
                            }
                        }
                        Err(refused(&what, "it is not a coarse timestamp", arg.span))
                    }
                    ("day" | "week", _) => Err(refused(
                        &function.name,
                        "days and weeks are too fine; use `month`, `quarter` or `year`",
                        function.span,
                    )),
                    _ => Err(refused(
                        &display(e),
                        "only coarse fields and `month`, `quarter` or `year` of a coarse timestamp are allowed here",
                        e.span,
                    )),
                }
            }
            _ => Err(refused(
                &display(e),
                "only coarse fields and `month`, `quarter` or `year` of a coarse timestamp are allowed here",
                e.span,
            )),
        }
    }

    /// A shown value: counts of distinct candidates, numbers, arithmetic of them, group keys.
    fn published(&mut self, e: &Expr) -> Result<(), Diagnostic> {
        const ONLY: &str = "a report over demographics can only count distinct candidates";
        match &e.kind {
            ExprKind::Literal {
                value: Literal::Integer(_) | Literal::Float(_),
            } => Ok(()),
            // A group key or an earlier column by its name (checked where it was defined), or
            // a group key's path (the resolver refuses any other path here).
            ExprKind::Path { .. } => Ok(()),
            ExprKind::Unary {
                op: query_syntax::UnaryOp::Neg,
                expr,
            } => self.published(expr),
            ExprKind::Binary {
                op: BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div,
                left,
                right,
            } => {
                self.published(left)?;
                self.published(right)
            }
            ExprKind::Call {
                function,
                distinct,
                args,
                filter,
            } => match function.name.as_str() {
                "round" => match args.as_slice() {
                    [x] | [x, _] => self.published(x),
                    _ => Ok(()),
                },
                "count" => {
                    if let Some(f) = filter {
                        return Err(filter_refused(f));
                    }
                    let whose = if self.candidate.is_empty() {
                        "candidates".to_owned()
                    } else {
                        self.candidate
                            .iter()
                            .map(|r| r.name)
                            .collect::<Vec<_>>()
                            .join(".")
                    };
                    let how = format!(
                        "{ONLY}: `count(distinct {})`",
                        if self.candidate.is_empty() {
                            "id".to_owned()
                        } else {
                            whose.clone()
                        }
                    );
                    match args.as_slice() {
                        [] if self.candidate.is_empty() => Ok(()),
                        [] => Err(refused(
                            "count()",
                            &format!(
                                "it counts {}, not distinct candidates; write `count(distinct {whose})`",
                                Entity::get(self.r.subject()).name
                            ),
                            e.span,
                        )),
                        [a] => {
                            let ExprKind::Path { path } = &a.kind else {
                                return Err(refused(&display(a), &how, a.span));
                            };
                            let s = self.r.resolve_path(path, a.span)?;
                            let counts_candidates = match &s {
                                Scalar::Key { path } => path == self.candidate,
                                Scalar::Field { path, field } => {
                                    field.name == "id" && path == self.candidate
                                }
                                _ => false,
                            };
                            if !counts_candidates || !*distinct {
                                return Err(refused(&display(e), &how, e.span));
                            }
                            Ok(())
                        }
                        _ => Err(refused(&display(e), &how, e.span)),
                    }
                }
                "min" | "max" => Err(refused(
                    &display(e),
                    &format!("`{}` shows one person's value; {ONLY}", function.name),
                    e.span,
                )),
                _ => Err(refused(
                    &display(e),
                    &format!(
                        "`{}` computes over each person's values; {ONLY}",
                        function.name
                    ),
                    e.span,
                )),
            },
            _ => Err(refused(
                &display(e),
                &format!("{ONLY}, and show arithmetic of such counts"),
                e.span,
            )),
        }
    }
}

/// How one visible column of a report over demographics is published.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Published {
    /// A group key: as returned.
    Key,
    /// A count: the perturbed count of the cell with this index (null when suppressed).
    Cell(usize),
    /// Arithmetic of counts, computed from the perturbed counts (null when one is suppressed
    /// or on division by zero); `integer` when the column holds integers.
    Formula { formula: CellFormula, integer: bool },
}

/// Arithmetic over the perturbed counts of a row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellFormula {
    Cell(usize),
    Number(f64),
    Neg(Box<CellFormula>),
    Binary {
        op: &'static str,
        left: Box<CellFormula>,
        right: Box<CellFormula>,
    },
    Round {
        expr: Box<CellFormula>,
        digits: i64,
    },
}

impl CellFormula {
    fn from_formula(ir: &Ir, f: &Formula) -> Option<CellFormula> {
        let cell_of = |j: usize| ir.cells.iter().position(|c| c.count == j);
        Some(match f {
            Formula::Measure(j) => CellFormula::Cell(cell_of(*j)?),
            Formula::Param(p) => match ir.params.get(p.0)? {
                Param::Integer(i) => CellFormula::Number(*i as f64),
                Param::Number(x) => CellFormula::Number(*x),
                _ => return None,
            },
            Formula::Neg(e) => CellFormula::Neg(Box::new(Self::from_formula(ir, e)?)),
            Formula::Binary { op, left, right } => CellFormula::Binary {
                op: match op {
                    BinaryOp::Add => "+",
                    BinaryOp::Sub => "-",
                    BinaryOp::Mul => "*",
                    BinaryOp::Div => "/",
                    _ => return None,
                },
                left: Box::new(Self::from_formula(ir, left)?),
                right: Box::new(Self::from_formula(ir, right)?),
            },
            Formula::Round { expr, digits } => CellFormula::Round {
                expr: Box::new(Self::from_formula(ir, expr)?),
                digits: *digits,
            },
            _ => return None,
        })
    }

    fn eval(&self, cells: &[Option<i64>]) -> Option<f64> {
        Some(match self {
            CellFormula::Cell(i) => (*cells.get(*i)?)? as f64,
            CellFormula::Number(x) => *x,
            CellFormula::Neg(e) => -e.eval(cells)?,
            CellFormula::Binary { op, left, right } => {
                let (a, b) = (left.eval(cells)?, right.eval(cells)?);
                match *op {
                    "+" => a + b,
                    "-" => a - b,
                    "*" => a * b,
                    _ if b == 0.0 => return None,
                    _ => a / b,
                }
            }
            CellFormula::Round { expr, digits } => {
                let x = expr.eval(cells)?;
                let scale = 10f64.powi((*digits).clamp(-15, 15) as i32);
                (x * scale).round() / scale
            }
        })
    }
}

/// The visible columns of a report over demographics, as published; `None` when a column is
/// neither a group key nor arithmetic of counts (the safe form rules that out).
pub fn published_outputs(ir: &Ir) -> Option<Vec<Published>> {
    ir.outputs
        .iter()
        .map(|o| match &o.value {
            OutputValue::Formula(Formula::Dim(_)) => Some(Published::Key),
            OutputValue::Formula(Formula::Measure(j)) => ir
                .cells
                .iter()
                .position(|c| c.count == *j)
                .map(Published::Cell),
            OutputValue::Formula(f) => Some(Published::Formula {
                formula: CellFormula::from_formula(ir, f)?,
                integer: o.ty == crate::Type::Integer,
            }),
            OutputValue::Row(_) => None,
        })
        .collect()
}

/// A cell of a result: its true count of distinct candidates and the sums of their two
/// record keys. Never shown; the caller derives the cell's noise from it with the org's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CellKey {
    pub count: i64,
    pub keys: [i64; 2],
}

/// The noise added to a count: a symmetric distribution over `-d..=d`, given as integer weights
/// (the default `1,6,24,38,24,6,1` per hundred: variance 1.14, at most 3 either way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerturbationTable {
    weights: Vec<u32>,
}

impl Default for PerturbationTable {
    fn default() -> Self {
        PerturbationTable {
            weights: vec![1, 6, 24, 38, 24, 6, 1],
        }
    }
}

impl PerturbationTable {
    /// A table from its weights, written `1,6,24,38,24,6,1`: an odd number of them (offsets
    /// `-d..=d`), symmetric, the middle one positive, at most 10 either way.
    pub fn parse(text: &str) -> Result<PerturbationTable, String> {
        let weights: Vec<u32> = text
            .split(',')
            .map(|w| w.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                format!("`{text}` is not a list of whole weights such as `1,6,24,38,24,6,1`")
            })?;
        let n = weights.len();
        if n.is_multiple_of(2) || n > 21 {
            return Err(format!(
                "`{text}` needs an odd number of weights (offsets -d..d, d at most 10)"
            ));
        }
        if weights
            .iter()
            .zip(weights.iter().rev())
            .any(|(a, b)| a != b)
        {
            return Err(format!(
                "`{text}` is not symmetric: noise must not move counts one way"
            ));
        }
        if weights.get(n / 2).is_none_or(|w| *w == 0)
            || weights.iter().map(|w| u64::from(*w)).sum::<u64>() > u64::from(u32::MAX)
        {
            return Err(format!("`{text}`: the middle weight must be positive"));
        }
        Ok(PerturbationTable { weights })
    }

    /// The weights, as [`PerturbationTable::parse`] reads them.
    pub fn text(&self) -> String {
        self.weights
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The largest noise either way.
    pub fn max(&self) -> i64 {
        (self.weights.len() / 2) as i64
    }

    /// The noise's variance.
    pub fn variance(&self) -> f64 {
        let total: f64 = self.weights.iter().map(|w| f64::from(*w)).sum();
        let d = self.max();
        self.weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let x = (i as i64 - d) as f64;
                f64::from(*w) * x * x
            })
            .sum::<f64>()
            / total
    }

    /// The noise for 64 uniform bits (the cell key through the org's secret): the offset whose
    /// share of the total weight holds `u`.
    pub fn noise(&self, u: u64) -> i64 {
        let total: u64 = self.weights.iter().map(|w| u64::from(*w)).sum();
        // Uniform in [0, total): multiply-high, no modulo bias worth speaking of.
        let mut x = ((u128::from(u) * u128::from(total.max(1))) >> 64) as u64;
        for (i, w) in self.weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i as i64 - self.max();
            }
            x -= w;
        }
        0
    }
}

/// A count perturbed: unchanged when zero (an empty cell has no records, and nothing to
/// hide), else the count plus the table's noise for the cell's bits, never below zero.
pub fn perturb(count: i64, bits: u64, table: &PerturbationTable) -> i64 {
    if count <= 0 {
        return 0;
    }
    (count + table.noise(bits)).max(0)
}

fn cell_key(row: &[Value], at: usize) -> CellKey {
    let int = |i: usize| match row.get(i) {
        Some(Value::Integer(x)) => *x,
        Some(Value::Number(x)) if x.is_finite() => *x as i64,
        _ => 0,
    };
    CellKey {
        count: int(at),
        keys: [int(at + 1), int(at + 2)],
    }
}

/// Publishes the rows of a report over demographics: every count perturbed (`bits` gives the
/// uniform bits of a cell key, with the org's secret), counts under `s.min_candidates` shown
/// as null, rows whose own count is under it removed along with the cells that would reveal
/// them ([`suppress`]), ratios from the perturbed counts, the hidden columns dropped.
pub fn publish(
    s: &Suppression,
    rows: Vec<Vec<Value>>,
    table: &PerturbationTable,
    bits: &dyn Fn(&CellKey) -> u64,
) -> Vec<Vec<Value>> {
    let visible = s.candidates_column;
    let min = i64::from(s.min_candidates);
    let withheld = coarse_margins(s, &rows, min);
    let mut out = Vec::with_capacity(rows.len());
    for (row, withheld) in rows.into_iter().zip(withheld) {
        let cells: Vec<i64> = (0..s.cells)
            .map(|i| {
                let key = cell_key(&row, visible + 3 * i);
                perturb(key.count, bits(&key), table)
            })
            .collect();
        let shown: Vec<Option<i64>> = cells.iter().map(|c| (*c >= min).then_some(*c)).collect();
        let mut values: Vec<Value> = Vec::with_capacity(visible + 1);
        for i in 0..visible {
            values.push(match s.outputs.get(i) {
                None => Value::Null,
                Some(Published::Key) => row.get(i).cloned().unwrap_or(Value::Null),
                Some(Published::Cell(c)) => shown
                    .get(*c)
                    .copied()
                    .flatten()
                    .map_or(Value::Null, Value::Integer),
                Some(Published::Formula { formula, integer }) => match formula.eval(&shown) {
                    Some(x) if *integer && x.fract() == 0.0 && x.abs() < 9e15 => {
                        Value::Integer(x as i64)
                    }
                    Some(x) if x.is_finite() => Value::Number(x),
                    _ => Value::Null,
                },
            });
        }
        // The group's own count decides whether the row is shown at all.
        let own = if withheld {
            0
        } else {
            cells.first().copied().unwrap_or(0)
        };
        values.push(Value::Integer(own));
        out.push(values);
    }
    suppress(s, out).0
}

/// The rows withheld by the rule on margins of the coarse keys (see the module documentation):
/// along each coarse key, a group counting `1..min` true distinct candidates over all
/// demographic values, or whose margin counts `1..min` outside it. Sums over a margin's groups
/// stand for the margin's candidates (exact when each candidate has one value of the key).
pub fn coarse_margins(s: &Suppression, rows: &[Vec<Value>], min: i64) -> Vec<bool> {
    use std::collections::HashMap;
    let mut withheld = vec![false; rows.len()];
    let keys = &s.other_keys;
    let count = |r: &Vec<Value>| match r.get(s.candidates_column) {
        Some(Value::Integer(n)) => *n,
        _ => 0,
    };
    let value = |r: &Vec<Value>, k: usize| format!("{:?}", r.get(k));
    for (n, along) in keys.iter().enumerate() {
        let margin_of = |r: &Vec<Value>| -> Vec<String> {
            keys.iter()
                .enumerate()
                .filter(|(m, _)| *m != n)
                .map(|(_, k)| value(r, *k))
                .collect()
        };
        // Margin -> group (the value along the key) -> true distinct candidates.
        let mut margins: HashMap<Vec<String>, HashMap<String, i64>> = HashMap::new();
        for r in rows {
            *margins
                .entry(margin_of(r))
                .or_default()
                .entry(value(r, *along))
                .or_default() += count(r);
        }
        for (i, r) in rows.iter().enumerate() {
            let Some(groups) = margins.get(&margin_of(r)) else {
                continue;
            };
            let total: i64 = groups.values().sum();
            let group = groups.get(&value(r, *along)).copied().unwrap_or(0);
            let outside = total - group;
            if (group > 0 && group < min) || (outside > 0 && outside < min) {
                withheld[i] = true;
            }
        }
    }
    withheld
}
