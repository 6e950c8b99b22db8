//! Reports over demographics: the safe form the compiler accepts, and how their counts are
//! published (perturbed, then suppressed). The reasoning is in `docs/privacy.md`.
//!
//! **The safe form** ([`check`], called by the resolver for every report with a demographic
//! group key, in text or JSON form alike). Such a report may only
//! - count distinct candidates: `count(distinct candidate)` (or `count()` when the subject is
//!   candidates), and show arithmetic of such counts and numbers;
//! - group by demographic fields, by coarse fields ([`crate::catalog::COARSE_FIELDS`]) and by
//!   `month`, `quarter` or `year` of a coarse timestamp ([`crate::catalog::COARSE_TIMESTAMPS`]);
//! - order by its group keys;
//! - filter (`where`; a count's own `where` is refused, red team, pass 12) by comparing coarse
//!   values with literals:
//!   a coarse field with `=`, `!=`, `in`, `is null`; `month`, `quarter` or `year` of a coarse
//!   timestamp also with `<`, `<=`, `>`, `>=`, `between`; a coarse timestamp with
//!   `in this|previous month|quarter|year`; combined with `and`, `or`, `not`.
//!
//! Its calendar is the org's: `in zone` naming another zone is refused ([`zone_refused`]),
//! since the same months seen from two zones differ by the few people at their edges.
//! Everything else is refused with the span of what is wrong, why, and what is allowed:
//! ids and other per-record fields (names, emails, free text, numbers), custom fields, exact
//! timestamps, every other aggregate (`min(name)` shows one person's value), `having`, `limit`,
//! funnels, the `demographics` record itself (whether someone answered is demographic too), and
//! in filters demographic fields, text matching, relative ranges of days, `in last N ...` and
//! `in next N ...` (they start or end on a day of their own), and comparisons of two
//! fields. So no cell can be narrowed to one named person by the report's text, and every
//! population a report counts is a union of *atoms*: the groups of its coarse keys and of the
//! coarse values its filters read.
//!
//! **Atoms of a filtered report** ([`Atoms`], [`tiny_atoms`]): a filter selects whole atoms, so
//! two reports' populations differ by whole atoms. Before publication the caller counts the
//! atoms (the same report without filters and demographics, grouped by the group keys and the
//! filtered values, as the same viewer); a group holding an atom of `1..threshold` distinct
//! candidates, selected by the filter or not, is withheld with all its demographic splits. So
//! `where location != "Paris"` against the same report without it, or `department in (a, b)`
//! against `department = a`, can only differ by at least the threshold's people.
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
//! what the viewer knows already, so what it withholds tells nothing new. Where the statement
//! gives population sketches ([`Population`]: every report whose cells count distinct
//! candidates), the second half of the rule is left to the check against populations published
//! before, which withholds whichever of a group and its margin is published second when they
//! are a few people apart; the margins are then not counted at all. Pure.

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

/// The label of every refusal of the safe form.
const NOT_SAFE: &str = "not in the safe form";

fn refused(what: &str, why: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        format!("`{what}` cannot be used in a report over demographics: {why}"),
        span,
    )
    .with_label(NOT_SAFE)
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
        "a report over demographics counts distinct candidates (`count(distinct candidate)`), grouped by demographic fields and coarse fields, filtered only by comparing coarse values with values; coarse fields: {}; and timestamps as `month(..)`, `quarter(..)` or `year(..)`: {}",
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

/// The partition a filtered report over demographics is checked against: the report's coarse
/// group keys and every coarse value its filters read, without filters and without
/// demographics (see [`tiny_atoms`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Atoms {
    /// `report SUBJECT group by [CANDIDATE.id,] KEYS..., FILTERED... show count()`: run as the
    /// same viewer, its rows give the atoms.
    pub report: Report,
    /// How many columns of an atom row (after the candidate's id, with `per_candidate`) are the
    /// report's coarse group keys, in the order of [`crate::Suppression::other_keys`].
    pub keys: usize,
    /// The subject has several rows per candidate (applications): the atom report's rows are
    /// per candidate and values (its first column the candidate's id), and an atom is the set of
    /// candidates with the same group and the same set of filtered values over their rows.
    pub per_candidate: bool,
}

/// A report over demographics whose `where` holds equalities (`status = "hired"`,
/// `department in ("Sales")`, `location is null`): the same report grouped by those values
/// instead of filtered by them, whose rows with these values are the report's.
///
/// Such a filter selects a cell of the grouped report: the same candidates, hence the same
/// published counts, withheld by the same margins. Running the grouped report and keeping its
/// rows with the filtered values publishes exactly what the grouped report publishes for them,
/// so the filtered report tells nothing the grouped one does not; the grouped report's margin
/// rule (not the stricter atom rule) decides what is withheld.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Grouped {
    /// The report with the equalities moved from `where` to `group by` (the other filters
    /// stay); its group keys are the report's, then the filtered values not already keys.
    pub report: Report,
    /// Per equality: the index of its group key in `report.group_by` (which is the key's
    /// column in a result row) and the value a row must hold there.
    #[serde(skip)]
    pub keys: Vec<(usize, Value)>,
    /// The group keys added after the report's own: their columns are dropped.
    pub added: std::ops::Range<usize>,
}

impl Grouped {
    /// Whether a row of the grouped report (as returned or as published: the group keys'
    /// columns are the same) is one of the filtered report's.
    pub fn selects(&self, row: &[Value]) -> bool {
        self.keys.iter().all(|(at, v)| row.get(*at) == Some(v))
    }

    /// The rows of the grouped report's publication that are the filtered report's, with the
    /// added group keys' columns dropped.
    pub fn select(&self, p: Publication) -> Publication {
        let project = |rows: Vec<Vec<Value>>| -> Vec<Vec<Value>> {
            rows.into_iter()
                .filter(|r| self.selects(r))
                .map(|mut r| {
                    if self.added.end <= r.len() {
                        r.drain(self.added.clone());
                    }
                    r
                })
                .collect()
        };
        Publication {
            rows: project(p.rows),
            withheld: project(p.withheld),
        }
    }
}

/// The equalities of a report's `where` (a top-level conjunction): a coarse value compared with
/// `=` to a literal, `in` with one literal, `is null`. `None` without any.
fn as_grouped(report: &Report) -> Option<Grouped> {
    fn conjuncts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
        match &e.kind {
            ExprKind::Binary {
                op: BinaryOp::And,
                left,
                right,
            } => {
                conjuncts(left, out);
                conjuncts(right, out);
            }
            _ => out.push(e),
        }
    }
    fn value(l: &Literal) -> Option<Value> {
        match l {
            Literal::String(s) => Some(Value::Text(s.clone())),
            Literal::Integer(i) => Some(Value::Integer(*i)),
            Literal::Bool(b) => Some(Value::Bool(*b)),
            _ => None,
        }
    }
    fn equality(e: &Expr) -> Option<(&Expr, Value)> {
        let literal = |e: &Expr| match &e.kind {
            ExprKind::Literal { value: l } => value(l),
            _ => None,
        };
        match &e.kind {
            ExprKind::Binary {
                op: BinaryOp::Eq,
                left,
                right,
            } => match (literal(left), literal(right)) {
                (None, Some(v)) if !is_literal(left) => Some((left, v)),
                (Some(v), None) if !is_literal(right) => Some((right, v)),
                _ => None,
            },
            ExprKind::In {
                expr,
                list,
                negated: false,
            } => match list.as_slice() {
                [one] => literal(one).map(|v| (&**expr, v)),
                _ => None,
            },
            ExprKind::IsNull {
                expr,
                negated: false,
            } => Some((&**expr, Value::Null)),
            _ => None,
        }
    }
    let mut all = Vec::new();
    for f in &report.filters {
        conjuncts(f, &mut all);
    }
    let mut rest = Vec::new();
    let mut equal = Vec::new();
    for c in all {
        match equality(c) {
            Some(eq) => equal.push(eq),
            None => rest.push(c.clone()),
        }
    }
    if equal.is_empty() {
        return None;
    }
    let mut group_by = report.group_by.clone();
    let original = group_by.len();
    let mut keys = Vec::new();
    for (e, v) in equal {
        let text = e.to_string();
        let at = match group_by.iter().position(|g| g.expr.to_string() == text) {
            Some(at) => at,
            None => {
                group_by.push(query_syntax::Item {
                    expr: e.clone(),
                    alias: Some(query_syntax::Ident::new(
                        format!("filtered value {}", group_by.len() - original),
                        Span::default(),
                    )),
                });
                group_by.len() - 1
            }
        };
        keys.push((at, v));
    }
    let added = original..group_by.len();
    Some(Grouped {
        report: Report {
            filters: rest,
            group_by,
            ..report.clone()
        },
        keys,
        added,
    })
}

/// What of the org a viewer does not see whole, among what a report over demographics counts
/// (its candidates and their answers, and the rows and fields of every coarse key): `None`
/// when they see it all. Populations are compared with those published before by anyone
/// (`app::demographics::near_groups`), and a viewer who sees part of a group would find it
/// withheld exactly when 1 to 4 people of it are hidden from them, which tells them so (red
/// team, pass 14: a recruiter allowed `viewDemographicsAggregate` learnt which departments had
/// 1 to 4 candidates on confidential searches); compared with their own view only, the same
/// group seen whole and seen in part would be two populations a few people apart, the
/// differencing the comparison exists to stop. So a report over demographics needs the whole
/// view; the default policy gives it, with `viewDemographicsAggregate`, to admins.
pub fn partial_view(guard: &dyn crate::Guard) -> Option<String> {
    use crate::lower::Visibility;
    let whole = |v: Visibility| matches!(v, Visibility::All);
    let entity = |id: EntityId| crate::catalog::ENTITIES.iter().find(|e| e.id == id);
    if !whole(guard.rows(EntityId::Candidates)) || !whole(guard.rows(EntityId::Demographics)) {
        return Some("every candidate".to_owned());
    }
    for (id, name) in COARSE_FIELDS.iter().chain(COARSE_TIMESTAMPS) {
        let Some(e) = entity(*id) else { continue };
        if !whole(guard.rows(*id)) {
            return Some(format!("every {}", e.singular));
        }
        if let Some(field) = e.field(name)
            && field.group != FieldGroup::Plain
            && !whole(guard.fields(*id, field.group))
        {
            return Some(format!("the `{name}` of every {}", e.singular));
        }
    }
    None
}

/// What of the org a report's statement does not read whole for its viewer: the first row
/// filter or field mask the guard placed in it (`Compiled::guarded`), `None` when none. A
/// report over demographics needs none, for the reason [`partial_view`] gives, whatever its
/// subject and paths (red team, pass 15: interviews as the subject, with some hidden, and a
/// masked `source` of hired applications, withheld exactly the groups with people hidden).
pub fn partial_statement(compiled: &crate::Compiled) -> Option<String> {
    let g = compiled.guarded.first()?;
    let entity = Entity::get(g.entity);
    Some(match g.group {
        None => format!("every {}", entity.singular),
        Some(group) => format!(
            "the {} fields of every {}",
            serde_json::to_value(group)
                .ok()
                .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                .unwrap_or_default(),
            entity.singular
        ),
    })
}

/// What a report over demographics needs besides its own statement, from [`check`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Safe {
    /// A filtered report's atoms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atoms: Option<Atoms>,
    /// A report whose `where` holds equalities: the grouped report that runs instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grouped: Option<Box<Grouped>>,
    /// With several rows per candidate (applications): per coarse group key, in the order of
    /// [`crate::Suppression::other_keys`], the report counting the distinct candidates of the
    /// margins along it (grouped by the other coarse keys, with the same filters), so that the
    /// margin rule counts each candidate once ([`coarse_margins`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub margins: Vec<Report>,
}

impl Safe {
    /// Nothing needed (not a report over demographics, or one without filters and margins).
    pub fn is_empty(&self) -> bool {
        self.atoms.is_none() && self.grouped.is_none() && self.margins.is_empty()
    }
}

/// Refuses anything of a report over demographics outside the safe form (see the module
/// documentation). `candidate` is the path from the subject to the candidates whose
/// demographics the report is grouped by. What the report needs besides its statement: its
/// [`Atoms`] when filtered, its [`Grouped`] form when its `where` holds equalities, the
/// statements of its margins with several rows per candidate.
pub(crate) fn check(
    report: &Report,
    candidate: &Path,
    r: &mut dyn Resolve,
) -> Result<Safe, Diagnostic> {
    let mut c = Checker {
        r,
        candidate,
        filtered: Vec::new(),
    };
    for f in &report.filters {
        c.filter(f)?;
    }
    let mut coarse_keys = Vec::new();
    for item in &report.group_by {
        if !c.group_key(&item.expr)? {
            coarse_keys.push(item.expr.clone());
        }
    }
    for item in &report.show {
        c.published(&item.expr)?;
    }
    let margins = c.margins(report, &coarse_keys);
    Ok(Safe {
        atoms: c.atoms(report, coarse_keys),
        grouped: as_grouped(report).map(Box::new),
        margins,
    })
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

const FILTERS: &str = "a filter of a report over demographics compares a coarse field with values (`=`, `!=`, `in`, `not in`, `is null`), or `month(..)`, `quarter(..)` or `year(..)` of a coarse timestamp with buckets such as `\"2025-03\"`, `\"2025-Q1\"`, `\"2025\"` (also `<`, `<=`, `>`, `>=`, `between`), or a coarse timestamp with `in this|previous month|quarter|year`; combined with `and`, `or`, `not`";

fn filter_refused(what: &str, why: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        format!("`{what}` cannot filter a report over demographics: {why}"),
        span,
    )
    .with_label(NOT_SAFE)
    .with_help(format!("{FILTERS}; {}", allowed()))
}

fn is_literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Literal { .. } => true,
        ExprKind::Unary {
            op: query_syntax::UnaryOp::Neg,
            expr,
        } => is_literal(expr),
        _ => false,
    }
}

struct Checker<'a> {
    r: &'a mut dyn Resolve,
    candidate: &'a Path,
    /// The coarse values the filters read (paths, buckets), as group keys of the atoms.
    filtered: Vec<Expr>,
}

impl Checker<'_> {
    /// With several rows per candidate: per coarse group key, `report SUBJECT where FILTERS
    /// group by OTHER KEYS... show count(distinct CANDIDATE)`. Empty otherwise: a candidate has
    /// one value of each key, and the sum of a margin's groups is its count.
    fn margins(&self, report: &Report, coarse_keys: &[Expr]) -> Vec<Report> {
        if self.candidate.is_empty() {
            return Vec::new();
        }
        let ident = |name: &str| query_syntax::Ident::new(name, Span::default());
        let candidate = Expr::new(
            ExprKind::Path {
                path: self.candidate.iter().map(|r| ident(r.name)).collect(),
            },
            Span::default(),
        );
        let count = Expr::new(
            ExprKind::Call {
                function: ident("count"),
                distinct: true,
                args: vec![candidate],
                filter: None,
            },
            Span::default(),
        );
        (0..coarse_keys.len())
            .map(|along| Report {
                subject: report.subject.clone(),
                zone: report.zone.clone(),
                filters: report.filters.clone(),
                group_by: coarse_keys
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != along)
                    .map(|(i, e)| query_syntax::Item {
                        expr: e.clone(),
                        alias: Some(ident(&format!("margin_key_{i}"))),
                    })
                    .collect(),
                show: vec![query_syntax::Item {
                    expr: count.clone(),
                    alias: Some(ident("margin_candidates")),
                }],
                having: Vec::new(),
                order_by: Vec::new(),
                limit: None,
                funnel: None,
                span: Span::default(),
            })
            .collect()
    }

    /// The atoms of a filtered report: its coarse group keys, then each coarse value a filter
    /// reads (once), counted in distinct candidates. `None` without filters.
    fn atoms(&self, report: &Report, coarse_keys: Vec<Expr>) -> Option<Atoms> {
        if self.filtered.is_empty() {
            return None;
        }
        let ident = |name: &str| query_syntax::Ident::new(name, Span::default());
        let keys = coarse_keys.len();
        let mut seen: Vec<String> = coarse_keys.iter().map(|e| e.to_string()).collect();
        let mut group_by: Vec<query_syntax::Item> = Vec::new();
        // Candidates with several rows (applications): one atom row per candidate and values.
        let per_candidate = !self.candidate.is_empty();
        if per_candidate {
            let mut path: Vec<query_syntax::Ident> =
                self.candidate.iter().map(|r| ident(r.name)).collect();
            path.push(ident("id"));
            group_by.push(query_syntax::Item {
                expr: Expr::new(ExprKind::Path { path }, Span::default()),
                alias: None,
            });
        }
        group_by.extend(
            coarse_keys
                .into_iter()
                .map(|expr| query_syntax::Item { expr, alias: None }),
        );
        for e in &self.filtered {
            let text = e.to_string();
            if !seen.contains(&text) {
                seen.push(text);
                group_by.push(query_syntax::Item {
                    expr: e.clone(),
                    alias: None,
                });
            }
        }
        for (i, item) in group_by.iter_mut().enumerate() {
            item.alias = Some(ident(&format!("atom_key_{i}")));
        }
        let count = Expr::new(
            ExprKind::Call {
                function: ident("count"),
                distinct: false,
                args: Vec::new(),
                filter: None,
            },
            Span::default(),
        );
        Some(Atoms {
            report: Report {
                subject: report.subject.clone(),
                zone: report.zone.clone(),
                filters: Vec::new(),
                group_by,
                show: vec![query_syntax::Item {
                    expr: count,
                    alias: Some(ident("atom_rows")),
                }],
                having: Vec::new(),
                order_by: Vec::new(),
                limit: None,
                funnel: None,
                span: Span::default(),
            },
            keys,
            per_candidate,
        })
    }

    /// A filter: coarse values compared with literals, combined with `and`, `or`, `not`.
    fn filter(&mut self, e: &Expr) -> Result<(), Diagnostic> {
        match &e.kind {
            ExprKind::Literal {
                value: Literal::Bool(_),
            } => Ok(()),
            ExprKind::Binary {
                op: BinaryOp::And | BinaryOp::Or,
                left,
                right,
            } => {
                self.filter(left)?;
                self.filter(right)
            }
            ExprKind::Unary {
                op: query_syntax::UnaryOp::Not,
                expr,
            } => self.filter(expr),
            ExprKind::Binary {
                op:
                    op @ (BinaryOp::Eq
                    | BinaryOp::NotEq
                    | BinaryOp::Lt
                    | BinaryOp::LtEq
                    | BinaryOp::Gt
                    | BinaryOp::GtEq),
                left,
                right,
            } => {
                let operand = match (is_literal(left), is_literal(right)) {
                    (false, true) => left,
                    (true, false) => right,
                    _ => {
                        return Err(filter_refused(
                            &e.to_string(),
                            "a filter compares one coarse field with values, never two fields or two values",
                            e.span,
                        ));
                    }
                };
                let bucket = self.filter_operand(operand)?;
                if !bucket && !matches!(op, BinaryOp::Eq | BinaryOp::NotEq) {
                    return Err(filter_refused(
                        &e.to_string(),
                        &format!(
                            "`{}` applies to `month(..)`, `quarter(..)` or `year(..)` of a coarse timestamp; compare a coarse field with `=`, `!=` or `in`",
                            op.symbol()
                        ),
                        e.span,
                    ));
                }
                Ok(())
            }
            ExprKind::In { expr, list, .. } => {
                self.filter_operand(expr)?;
                match list.iter().find(|x| !is_literal(x)) {
                    Some(x) => Err(filter_refused(
                        &x.to_string(),
                        "`in` takes a list of values",
                        x.span,
                    )),
                    None => Ok(()),
                }
            }
            ExprKind::Between {
                expr, low, high, ..
            } => {
                if !self.filter_operand(expr)? {
                    return Err(filter_refused(
                        &e.to_string(),
                        "`between` applies to `month(..)`, `quarter(..)` or `year(..)` of a coarse timestamp",
                        e.span,
                    ));
                }
                match [low, high].into_iter().find(|x| !is_literal(x)) {
                    Some(x) => Err(filter_refused(
                        &x.to_string(),
                        "`between` takes two values",
                        x.span,
                    )),
                    None => Ok(()),
                }
            }
            ExprKind::IsNull { expr, .. } => self.filter_operand(expr).map(|_| ()),
            ExprKind::Within { expr, range, .. } => {
                use query_syntax::{RangeKind, TimeUnit};
                let unit = match range.unit {
                    TimeUnit::Month => "month",
                    TimeUnit::Quarter => "quarter",
                    TimeUnit::Year => "year",
                    TimeUnit::Day | TimeUnit::Week => {
                        return Err(filter_refused(
                            &e.to_string(),
                            "days and weeks are too fine; use `in this|previous month|quarter|year`",
                            e.span,
                        ));
                    }
                };
                if range.which == RangeKind::Last {
                    return Err(filter_refused(
                        &e.to_string(),
                        "`in last N ...` ends today and starts on a day of its own, not on a whole month; use `in this|previous month|quarter|year`, or compare `month(..)` with months such as `\"2025-03\"`",
                        e.span,
                    ));
                }
                if range.which == RangeKind::Next {
                    return Err(filter_refused(
                        &e.to_string(),
                        "`in next N ...` starts today and ends on a day of its own, not on a whole month; use `in this|previous month|quarter|year`, or compare `month(..)` with months such as `\"2025-03\"`",
                        e.span,
                    ));
                }
                // A whole calendar period: a union of buckets of its unit.
                let bucket = Expr::new(
                    ExprKind::Call {
                        function: query_syntax::Ident::new(unit, expr.span),
                        distinct: false,
                        args: vec![(**expr).clone()],
                        filter: None,
                    },
                    expr.span,
                );
                if !matches!(expr.kind, ExprKind::Path { .. }) {
                    return Err(filter_refused(
                        &expr.to_string(),
                        "`in this|previous ...` applies to a coarse timestamp",
                        expr.span,
                    ));
                }
                if !self.filter_operand(&bucket)? {
                    return Err(filter_refused(
                        &expr.to_string(),
                        "`in this|previous ...` applies to a coarse timestamp",
                        expr.span,
                    ));
                }
                Ok(())
            }
            ExprKind::Text { expr, .. } => Err(filter_refused(
                &e.to_string(),
                &format!(
                    "text matching is not a comparison with values; write `{} in (...)` with the values you mean",
                    expr
                ),
                e.span,
            )),
            _ => Err(filter_refused(
                &e.to_string(),
                "it is not a comparison of a coarse field with values",
                e.span,
            )),
        }
    }

    /// The value a filter compares: a coarse field or a bucket of a coarse timestamp (then
    /// `true`), never a demographic field (see `docs/privacy.md`). Recorded for the atoms.
    fn filter_operand(&mut self, e: &Expr) -> Result<bool, Diagnostic> {
        if let ExprKind::Path { path } = &e.kind {
            let s = self.r.resolve_path(path, e.span)?;
            if let Scalar::Field { field, .. } = &s
                && field.group == FieldGroup::Demographics
            {
                return Err(filter_refused(
                    &written(path),
                    "it is a demographic field: which groups are withheld would then depend on demographic counts, and grouping by it gives the same numbers",
                    e.span,
                ));
            }
        }
        let bucket = matches!(e.kind, ExprKind::Call { .. });
        self.operand(e).map_err(|d| {
            if d.label.as_deref() != Some(NOT_SAFE) {
                return d;
            }
            // The operand's reason, said of a filter.
            let why = d
                .message
                .split_once(": ")
                .map_or(d.message.as_str(), |(_, why)| why)
                .to_owned();
            filter_refused(&e.to_string(), &why, d.span)
        })?;
        self.filtered.push(e.clone());
        Ok(bucket)
    }

    /// A group key: a demographic field (then `true`) or a coarse value.
    fn group_key(&mut self, e: &Expr) -> Result<bool, Diagnostic> {
        if let ExprKind::Path { path } = &e.kind {
            let s = self.r.resolve_path(path, e.span)?;
            if let Scalar::Field { field, .. } = &s
                && field.group == FieldGroup::Demographics
            {
                return Ok(true);
            }
        }
        self.operand(e).map(|()| false)
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
                    // A count of its own people beside the others of its group: within one
                    // group, `count()` and `count(where location != "X")` count the same people
                    // in every answer's cell but those of the few in X, so every other cell gets
                    // the same noise and the same value, and the one that differs tells their
                    // answers (red team, pass 12: 66 of 67 candidates alone in their location
                    // and month, none wrong, in three runs). A report filters all its counts
                    // at once (`where`), or groups by the value.
                    if let Some(f) = filter {
                        // What no filter may say is refused as such first (ids, demographic
                        // fields, ...); then any count's own filter.
                        self.filter(f)?;
                        return Err(refused(
                            &format!("count(... where {})", display(f)),
                            "a count cannot filter its own people apart from the report's: two \
                             counts of one group that differ by a few people show their answers; \
                             filter the whole report with `where`, or group by the value",
                            f.span,
                        ));
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
/// (the default `10,20,40,20,10` per hundred: variance 1.2, at most 2 either way, so that a
/// published count of 20 or more is within 10% of the truth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerturbationTable {
    weights: Vec<u32>,
}

impl Default for PerturbationTable {
    fn default() -> Self {
        PerturbationTable {
            weights: vec![10, 20, 40, 20, 10],
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

/// [`perturb`] with the noise `widen` times as large (a group whose candidates are in several
/// groups of the report: [`Hidden::multiplicity`]).
pub fn perturb_widened(count: i64, bits: u64, table: &PerturbationTable, widen: i64) -> i64 {
    if count <= 0 {
        return 0;
    }
    (count + table.noise(bits).saturating_mul(widen.max(1))).max(0)
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

/// The values of a result row's coarse group keys, as [`publish`] and [`Publication`] name a group.
pub fn group_of(s: &Suppression, row: &[Value]) -> Vec<String> {
    s.other_keys
        .iter()
        .map(|k| format!("{:?}", row.get(*k)))
        .collect()
}

/// The groups (values of the coarse group keys) of a filtered report that hold an atom of
/// `1..min` distinct candidates, from the rows of [`Atoms::report`]; `None` when every group
/// must be withheld (the atoms do not line up with the group keys).
///
/// An atom: the candidates of a group with the same filtered values. A filter keeps or drops
/// whole atoms, so two filters' populations differ by whole atoms. With several rows per
/// candidate ([`Atoms::per_candidate`]), a candidate is kept when one of their rows is, so the
/// atom is the set of filtered values over the candidate's rows in the group: the candidates
/// whose applications are all `active` are an atom of their own, apart from those who also
/// have an `archived` one.
pub fn tiny_atoms(
    s: &Suppression,
    spec: &Atoms,
    atoms: &[Vec<Value>],
    min: i64,
) -> Option<std::collections::HashSet<Vec<String>>> {
    use std::collections::{BTreeSet, HashMap, HashSet};
    if spec.keys != s.other_keys.len() {
        return if atoms.is_empty() {
            Some(HashSet::new())
        } else {
            None
        };
    }
    let text = |v: &Value| format!("{:?}", Some(v));
    // (group, atom) -> distinct candidates.
    let mut sizes: HashMap<(Vec<String>, Vec<String>), i64> = HashMap::new();
    if spec.per_candidate {
        // (group, candidate) -> the filtered values of their rows.
        let mut sets: HashMap<(Vec<String>, String), BTreeSet<Vec<String>>> = HashMap::new();
        for a in atoms {
            let width = a.len().saturating_sub(1);
            let (Some(candidate), Some(rest)) = (a.first(), a.get(1..width)) else {
                continue;
            };
            let (group, values) = rest.split_at(spec.keys.min(rest.len()));
            sets.entry((group.iter().map(text).collect(), text(candidate)))
                .or_default()
                .insert(values.iter().map(text).collect());
        }
        for ((group, _), values) in sets {
            let atom: Vec<String> = values
                .into_iter()
                .flatten()
                .chain([";".to_owned()])
                .collect();
            *sizes.entry((group, atom)).or_default() += 1;
        }
    } else {
        for a in atoms {
            let width = a.len().saturating_sub(1);
            let n = match a.last() {
                Some(Value::Integer(n)) => *n,
                _ => 0,
            };
            let Some(rest) = a.get(..width) else { continue };
            let (group, values) = rest.split_at(spec.keys.min(rest.len()));
            *sizes
                .entry((
                    group.iter().map(text).collect(),
                    values.iter().map(text).collect(),
                ))
                .or_default() += n;
        }
    }
    Some(
        sizes
            .into_iter()
            .filter(|(_, n)| *n > 0 && *n < min)
            .map(|((group, _), _)| group)
            .collect(),
    )
}

/// A report over demographics as published: its rows, and the groups withheld by the rules
/// that read only what the viewer can count without demographics (the margins of the coarse
/// keys, the atoms of a filtered report), each as a row holding its coarse group keys' values
/// and nulls elsewhere. Saying which groups were withheld tells the viewer nothing new; the
/// cells suppressed because their perturbed counts are small are not among them, and how many
/// there were is said nowhere.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Publication {
    pub rows: Vec<Vec<Value>>,
    pub withheld: Vec<Vec<Value>>,
}

/// Publishes the rows of a report over demographics: every count perturbed (`bits` gives the
/// uniform bits of a cell key, with the org's secret), groups withheld by the margins of the
/// coarse keys (counted exactly with the rows of `s.margins`' reports, `margins`; a report
/// that needs them and does not get them publishes nothing) and, in a filtered report, by its
/// `atoms` ([`tiny_atoms`]; likewise), counts under `s.min_candidates` shown as null, rows
/// whose own count is under it removed along with the cells that would reveal them
/// ([`suppress`]), ratios from the perturbed counts, the hidden columns dropped. The groups
/// in `near` ([`group_of`]: populations a few people apart from one published before, see
/// [`Population`]) are withheld too. `bits` is given each cell's row with its key: the caller
/// seeds a cell's noise with its group's population as well as its own people, so that a
/// group whose population changed draws every cell anew.
#[allow(clippy::too_many_arguments)]
pub fn publish(
    s: &Suppression,
    rows: Vec<Vec<Value>>,
    atoms: Option<&[Vec<Value>]>,
    margins: &[Vec<Vec<Value>>],
    near: &std::collections::HashSet<Vec<String>>,
    table: &PerturbationTable,
    bits: &dyn Fn(&[Value], &CellKey) -> u64,
    scale: &dyn Fn(&[Value]) -> i64,
) -> Publication {
    let visible = s.candidates_column;
    let min = i64::from(s.min_candidates);
    let mut withheld = if margins.len() == s.margins.len() {
        coarse_margins(s, &rows, margins, min)
    } else {
        // Margins that were not counted: nothing is published.
        vec![true; rows.len()]
    };
    if !near.is_empty() {
        for (w, row) in withheld.iter_mut().zip(&rows) {
            *w |= near.contains(&group_of(s, row));
        }
    }
    if let (Some(spec), Some(atoms)) = (&s.atoms, atoms) {
        let tiny = tiny_atoms(s, spec, atoms, min);
        for (w, row) in withheld.iter_mut().zip(&rows) {
            *w |= tiny
                .as_ref()
                .is_none_or(|groups| groups.contains(&group_of(s, row)));
        }
    } else if s.atoms.is_some() {
        // A filtered report whose atoms were not counted publishes nothing.
        withheld.iter_mut().for_each(|w| *w = true);
    }
    // The withheld groups, once each, as rows of their coarse keys.
    let mut groups: Vec<Vec<Value>> = Vec::new();
    for (row, _) in rows.iter().zip(&withheld).filter(|(_, w)| **w) {
        let group: Vec<Value> = (0..visible)
            .map(|i| {
                if s.other_keys.contains(&i) {
                    row.get(i).cloned().unwrap_or(Value::Null)
                } else {
                    Value::Null
                }
            })
            .collect();
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for (row, withheld) in rows.into_iter().zip(withheld) {
        let widen = scale(&row).max(1);
        let cells: Vec<i64> = (0..s.cells)
            .map(|i| {
                let key = cell_key(&row, visible + 3 * i);
                perturb_widened(key.count, bits(&row, &key), table, widen)
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
    Publication {
        rows: suppress(s, out).0,
        withheld: groups,
    }
}

/// The buckets of a [`Population`] sketch.
pub const POPULATION_BUCKETS: i64 = 32;

/// A sketch of a set of candidates (a published group's population, without demographics):
/// per bucket (by a third record key of the candidate's id), how many of them and the sum of
/// their first record keys. Two sketches tell a lower bound of how many people are in one set
/// and not the other ([`Population::apart`]), and that bound is exact when the difference is
/// a few people on one side: what the check against earlier publications needs (two groups
/// whose populations differ by 1 to 4 people would tell those people's answers with little
/// noise between them; the cell key holds the group's population too, so their cells are
/// drawn anew, but a pair so close is not published at all). The sketch holds
/// counts and sums of public hashes of ids, nothing of anyone's demographics.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Population {
    buckets: Vec<(i64, i64)>,
}

impl Population {
    /// From the values of a row's hidden columns (count, sum per bucket).
    fn of(values: &[Value]) -> Option<Population> {
        let int = |v: &Value| match v {
            Value::Integer(n) => Some(*n),
            Value::Number(x) if x.is_finite() => Some(*x as i64),
            _ => None,
        };
        let buckets = values
            .chunks(2)
            .map(|pair| Some((int(pair.first()?)?, int(pair.get(1)?)?)))
            .collect::<Option<Vec<_>>>()?;
        (buckets.len() == POPULATION_BUCKETS as usize).then_some(Population { buckets })
    }

    /// How many candidates.
    pub fn total(&self) -> i64 {
        self.buckets.iter().map(|(c, _)| c).sum()
    }

    /// A lower bound of the people in one population and not in the other: per bucket, the
    /// difference of the counts, or 2 when the counts are equal and the sums are not (at least
    /// one person left and another came). Zero for the same set (short of two sums of 31-bit
    /// hashes colliding); exact when one set holds the other and a few more.
    pub fn apart(&self, other: &Population) -> i64 {
        self.buckets
            .iter()
            .zip(&other.buckets)
            .map(|((c1, s1), (c2, s2))| match (c1 - c2).abs() {
                0 if s1 != s2 => 2,
                d => d,
            })
            .sum()
    }

    /// As stored: `count:sum` per bucket, comma-separated.
    pub fn text(&self) -> String {
        self.buckets
            .iter()
            .map(|(c, s)| format!("{c}:{s}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// From [`Population::text`]; `None` for anything else.
    pub fn parse(text: &str) -> Option<Population> {
        let buckets = text
            .split(',')
            .map(|b| {
                let (c, s) = b.split_once(':')?;
                Some((c.parse().ok()?, s.parse().ok()?))
            })
            .collect::<Option<Vec<(i64, i64)>>>()?;
        (buckets.len() == POPULATION_BUCKETS as usize).then_some(Population { buckets })
    }
}

/// What a statement returns besides its cells, taken out of its rows: each row's
/// [`Population`] and that of its answered part (when [`Suppression::population`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hidden {
    pub populations: Vec<Option<Population>>,
    /// The part of each row's population with an answer to a demographic key of the report:
    /// what only the candidates change, by answering (red team, pass 19: an admin padded a
    /// group's population with candidates without answers, 60 times with 16 of them, and each
    /// population drew its cells anew, so the answered cells' noise averaged away).
    pub answered: Vec<Option<Population>>,
    /// The most groups one counted candidate of each row's group is in (1 when not given, at
    /// most [`MAX_MULTIPLICITY`]: the statement leaves out those in more): each group draws its
    /// own noise for that candidate, so [`publish`] widens the noise by it.
    pub multiplicity: Vec<i64>,
}

/// The most groups a candidate counted by a report may be in (by the report's other keys and
/// the fields its filter reads, over the org's rows): a candidate in `m` groups, and in a group
/// holding them all, gives `m` draws whose sum is `m` times their answer (red team, pass 20: 24
/// jobs of 150 random candidates each plus the target, and one job of them all, told three
/// targets' answers in one run; pass 21: 25 reports of one job each). Up to this bound the
/// noise is widened `m` times, so such a sum tells no more than one cell does; a candidate
/// above it counts in none of the report's cells (the statement leaves them out).
pub const MAX_MULTIPLICITY: i64 = 4;

/// Takes the population sketches out of a report's rows ([`Hidden`]).
pub fn take_hidden(s: &Suppression, rows: &mut [Vec<Value>]) -> Hidden {
    let base = s.candidates_column + 3 * s.cells;
    let half = 2 * POPULATION_BUCKETS as usize;
    let mut multiplicity = Vec::with_capacity(rows.len());
    let (populations, answered) = rows
        .iter_mut()
        .map(|row| {
            let sketch = if row.len() > base && s.cells > 0 {
                row.split_off(base)
            } else {
                Vec::new()
            };
            if !s.population || sketch.len() != 2 * half + 1 {
                multiplicity.push(1);
                return (None, None);
            }
            multiplicity.push(match sketch.get(2 * half) {
                Some(Value::Integer(m)) => (*m).max(1),
                _ => i64::MAX,
            });
            (
                Population::of(&sketch[..half]),
                Population::of(&sketch[half..2 * half]),
            )
        })
        .unzip();
    Hidden {
        populations,
        answered,
        multiplicity,
    }
}

/// The rows withheld by the rule on margins of the coarse keys (see the module documentation):
/// along each coarse key, a group counting `1..min` true distinct candidates over all
/// demographic values, or (when the statement gives no population sketches,
/// [`Suppression::population`]) whose margin counts `1..min` outside it. A margin's candidates are
/// the rows of `margins` (per key, in the order of `s.other_keys`: the other keys' values and
/// the distinct candidates, from the reports of [`Safe::margins`]) where given, else the sum
/// of its groups (exact when each candidate has one value of each key).
pub fn coarse_margins(
    s: &Suppression,
    rows: &[Vec<Value>],
    margins: &[Vec<Vec<Value>>],
    min: i64,
) -> Vec<bool> {
    use std::collections::HashMap;
    let mut withheld = vec![false; rows.len()];
    let keys = &s.other_keys;
    let count = |r: &Vec<Value>| match r.get(s.candidates_column) {
        Some(Value::Integer(n)) => *n,
        _ => 0,
    };
    let value = |r: &Vec<Value>, k: usize| format!("{:?}", r.get(k));
    let counted = margins;
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
        // Margin -> its distinct candidates, where counted.
        let exact: Option<HashMap<Vec<String>, i64>> = counted.get(n).map(|rows| {
            rows.iter()
                .map(|r| {
                    let (count, key) = r.split_last().unwrap_or((&Value::Null, &[]));
                    let n = match count {
                        Value::Integer(n) => *n,
                        _ => 0,
                    };
                    (key.iter().map(|v| format!("{:?}", Some(v))).collect(), n)
                })
                .collect()
        });
        for (i, r) in rows.iter().enumerate() {
            let Some(groups) = margins.get(&margin_of(r)) else {
                continue;
            };
            let total: i64 = match &exact {
                Some(exact) => match exact.get(&margin_of(r)) {
                    Some(n) => *n,
                    None => {
                        // A margin the count does not have: withheld rather than guessed.
                        withheld[i] = true;
                        continue;
                    }
                },
                None => groups.values().sum(),
            };
            let group = groups.get(&value(r, *along)).copied().unwrap_or(0);
            let outside = total - group;
            // With population sketches the check against populations published before
            // withholds whichever of a group and its margin is published second when they are
            // a few people apart, so the margin itself need not be counted here.
            let near_margin = !s.population && outside > 0 && outside < min;
            if (group > 0 && group < min) || near_margin {
                withheld[i] = true;
            }
        }
    }
    withheld
}
