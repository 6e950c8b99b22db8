//! Resolution: the AST against the catalog, to the typed [`Ir`]. Binds every name (fields along
//! to-one relations, custom fields by key, aliases), types every expression, turns every literal
//! into a parameter, and places every aggregate at its grain. Errors carry the span of what is
//! wrong, suggest near names and list what exists.
//!
//! Time is read in the report's zone: `in zone "..."` (looked up in the bundled time zone
//! database, refused with a suggestion when unknown), else the org's. Date literals against
//! timestamps become that zone's local day, timestamp literals their instant (a local one in
//! that zone), and buckets and relative ranges carry the zone to SQL and to `bind`.
//! `sum`/`avg`/`min`/`max`/`median`/`percentile` with `distinct` aggregate the distinct records
//! their argument reads ([`Grain::per`]: the longest to-one walk every value goes through).
//!
//! Demographic fields (`FieldGroup::Demographics`) are resolved only as a group key written as
//! the bare field (`group by candidate.demographics.gender as gender`); anywhere else (`where`,
//! row reports, aggregates' arguments and filters, `having`, `order by` a path, expressions in
//! `group by`, formulas over the key's name) they are refused with the span of the field. A
//! report with such a key may not have `having`, `limit` or `funnel`, and all its demographic
//! keys must reach the candidates by one path; it gets a hidden measure, the distinct
//! candidates of each group by that path ([`Ir::candidates`]), for [`crate::suppress()`].

use crate::catalog::{Catalog, Entity, EntityId, FieldGroup, Relation, Type};
use crate::ir::*;
use domain::enums::StageKind;
use jiff::civil::Date;
use query_syntax::{
    BinaryOp, Diagnostic, Expr, ExprKind, Literal, RangeKind, Report, Span, TextOp, TimeUnit,
    UnaryOp,
};

/// Resolves `report` against the tenant's catalog.
pub fn resolve(report: &Report, catalog: &dyn Catalog) -> Result<Ir, Diagnostic> {
    let subject = Entity::subjects()
        .find(|e| e.name == report.subject.name)
        .ok_or_else(|| {
            let names: Vec<&str> = Entity::subjects().map(|e| e.name).collect();
            Diagnostic::new(
                format!("unknown subject `{}`", report.subject.name),
                report.subject.span,
            )
            .with_label("not something to report on")
            .suggest(&report.subject.name, names.iter().copied())
            .with_help(format!("subjects: {}", names.join(", ")))
        })?;
    let (zone, zone_name) = match &report.zone {
        Some(z) => report_zone(z)?,
        None => {
            let zone = jiff::tz::TimeZone::get(catalog.time_zone()).map_err(|_| {
                Diagnostic::new(
                    format!(
                        "the org's time zone `{}` is not a known IANA zone",
                        catalog.time_zone()
                    ),
                    report.subject.span,
                )
            })?;
            (zone, catalog.time_zone().to_owned())
        }
    };
    let mut r = Resolver {
        catalog,
        zone,
        zone_name,
        subject,
        params: Vec::new(),
        dims: Vec::new(),
        measures: Vec::new(),
        aliases: Vec::new(),
        zone_param: None,
        aggregate_path: None,
        place: Place::Where,
        demographic_key: false,
        expanded: 0,
        all_names: report
            .group_by
            .iter()
            .chain(&report.show)
            .filter_map(|i| i.alias.as_ref().map(|a| a.name.clone()))
            .collect(),
    };
    r.report(report)
}

/// The zone of `in zone "..."`, looked up in the bundled time zone database, and its name as
/// the database spells it (`"utc"` is `UTC`).
fn report_zone(z: &query_syntax::Zone) -> Result<(jiff::tz::TimeZone, String), Diagnostic> {
    let found = jiff::tz::TimeZone::get(&z.name)
        .ok()
        .and_then(|tz| tz.iana_name().map(|n| (n.to_owned(), tz.clone())));
    if let Some((name, tz)) = found {
        return Ok((tz, name));
    }
    let names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_owned())
        .collect();
    // `Berlin` for `Europe/Berlin`, else the nearest spelling.
    let wanted = z.name.to_ascii_lowercase();
    let by_city = names.iter().find(|n| {
        n.rsplit('/')
            .next()
            .is_some_and(|city| city.to_ascii_lowercase() == wanted)
    });
    let mut d = err(format!("unknown time zone `{}`", z.name), z.span)
        .with_label("not in the time zone database");
    d = match by_city {
        Some(n) => d.with_help(format!("did you mean `{n}`?")),
        None => d.suggest(&z.name, names.iter().map(String::as_str)),
    };
    Err(d.with_help(
        "zones are IANA names such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\"",
    ))
}

struct Resolver<'c> {
    catalog: &'c dyn Catalog,
    /// The report's time zone (`in zone`, else the org's) and its name.
    zone: jiff::tz::TimeZone,
    zone_name: String,
    subject: &'static Entity,
    params: Vec<Param>,
    dims: Vec<Dim>,
    measures: Vec<Measure>,
    /// Output names usable in later expressions (show, having, order by).
    aliases: Vec<(String, OutputValue, Type)>,
    zone_param: Option<ParamId>,
    /// Every output name the report gives (`as`), for messages.
    all_names: Vec<String>,
    /// The list the aggregate being resolved reads, as written from the subject (for messages).
    aggregate_path: Option<String>,
    /// Where the expression being resolved stands (for messages about demographic fields).
    place: Place,
    /// Whether a demographic field may be read here: only as a bare group key.
    demographic_key: bool,
    /// The terms the report's uses of earlier columns' names have copied in so far
    /// ([`MAX_EXPANDED_TERMS`]).
    expanded: usize,
}

/// The most terms a report's uses of its own columns' names may copy in, all uses together: a
/// name is replaced by its column's expression, so `a1 + a1 as a2, a2 + a2 as a3, ...` doubles
/// with each column (red team, pass 19: 475 characters made an expression of 2^28 terms and
/// ended the server for want of memory; 403 took 2.6 GB).
pub const MAX_EXPANDED_TERMS: usize = 5_000;

/// The most arguments of `coalesce`.
pub const MAX_COALESCE_ARGS: usize = 100;

/// The most steps a funnel has: step i counts the applications that reached it or any later
/// step, so the statement grows with the square of the steps (red team, pass 19: 150 steps
/// took 4.8 GB on SQLite).
pub const MAX_FUNNEL_STEPS: usize = 16;

/// The clause an expression is resolved in: demographic fields are refused everywhere except as
/// a group key on its own, and the refusal names the place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Where,
    GroupKey,
    GroupExpr,
    RowShow,
    Show,
    Having,
    OrderBy,
    Aggregate,
}

impl Place {
    fn name(self) -> &'static str {
        match self {
            Place::Where => "`where`",
            Place::GroupKey => "`group by`",
            Place::GroupExpr => "an expression in `group by`",
            Place::RowShow => "`show` of a row report",
            Place::Show => "`show`",
            Place::Having => "`having`",
            Place::OrderBy => "`order by`",
            Place::Aggregate => "an aggregate",
        }
    }
}

/// The fewest distinct candidates a group split by demographics may count; smaller groups are
/// suppressed (see [`crate::suppress()`]).
pub const MIN_CANDIDATES: u32 = 5;

/// Where a row-level expression is evaluated.
#[derive(Clone, Copy)]
struct Row<'a> {
    /// The entity whose row it is.
    root: EntityId,
    /// Relation names every path must start with (an aggregate's grain, written from the subject).
    prefix: &'a [&'static Relation],
    /// Inside an aggregate (its argument or its `where`): aggregates cannot nest here.
    in_aggregate: bool,
}

type Typed = (Scalar, Type);

fn err(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::new(message, span)
}

const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "median",
    "percentile",
    "rate",
    "conversion",
];
const ROW_FUNCTIONS: &[&str] = &[
    "day",
    "week",
    "month",
    "quarter",
    "year",
    "days_between",
    "days_since",
    "reached",
    "coalesce",
    "round",
    "kind",
];

impl Resolver<'_> {
    fn report(&mut self, report: &Report) -> Result<Ir, Diagnostic> {
        let root = Row {
            root: self.subject.id,
            prefix: &[],
            in_aggregate: false,
        };
        // where
        let mut filter: Option<Scalar> = None;
        for f in &report.filters {
            if let Some(agg) = find_aggregate(f) {
                return Err(err("aggregates cannot be used in `where`", agg.span)
                    .with_help("filter on aggregates with `having`, or give the aggregate its own filter: `count(where ...)`"));
            }
            self.place = Place::Where;
            let (s, ty) = self.scalar(f, root)?;
            expect_bool(&ty, f.span, "`where`")?;
            filter = Some(match filter {
                None => s,
                Some(prev) => Scalar::Binary {
                    op: BinaryOp::And,
                    left: Box::new(prev),
                    right: Box::new(s),
                    operand: Type::Bool,
                },
            });
        }
        // group by
        for item in &report.group_by {
            if let Some(agg) = find_aggregate(&item.expr) {
                return Err(err("cannot group by an aggregate", agg.span)
                    .with_help("group by fields; filter groups with `having`"));
            }
            // A demographic field may be a group key on its own, never inside an expression.
            let bare = matches!(item.expr.kind, ExprKind::Path { .. });
            self.place = if bare {
                Place::GroupKey
            } else {
                Place::GroupExpr
            };
            self.demographic_key = bare;
            let resolved = self.scalar(&item.expr, root);
            self.demographic_key = false;
            let (s, ty) = resolved?;
            if let Type::Multi(_) = ty {
                return Err(err(
                    format!("cannot group by `{}`: it holds a list, and a row would count once per value", display(&item.expr)),
                    item.expr.span,
                )
                .with_help("filter on one value instead: `where FIELD contains \"value\"`"));
            }
            if ty == Type::Map {
                return Err(err(
                    format!("cannot group by `{}`: it holds a map", display(&item.expr)),
                    item.expr.span,
                )
                .with_help(
                    "maps (a scorecard's scores) can only be shown, or tested with `is null`",
                ));
            }
            let name = item
                .alias
                .as_ref()
                .map_or_else(|| display(&item.expr), |a| a.name.clone());
            self.check_new_name(
                &name,
                item.alias.as_ref().map_or(item.expr.span, |a| a.span),
            )?;
            self.aliases.push((
                name.clone(),
                OutputValue::Formula(Formula::Dim(self.dims.len())),
                ty.clone(),
            ));
            self.dims.push(Dim { name, expr: s, ty });
        }

        // Group keys that are demographic fields: the report is then an aggregate that the
        // caller suppresses (groups under MIN_CANDIDATES distinct candidates, and the cells that
        // would reveal them), which needs every group of the result, one candidate per person.
        let demographic: Vec<(Path, Span)> = self
            .dims
            .iter()
            .zip(&report.group_by)
            .filter_map(|(d, item)| match &d.expr {
                Scalar::Field { path, field } if field.group == FieldGroup::Demographics => {
                    Some((path.clone(), item.expr.span))
                }
                _ => None,
            })
            .collect();
        let mut candidate_path: Option<Path> = None;
        for (path, span) in &demographic {
            const HELP: &str = "groups split by demographics are published perturbed, and withheld when too small or when they would give others away, which needs every group of the result";
            if report.funnel.is_some() {
                return Err(
                    err("a funnel cannot be split by a demographic field", *span).with_help(
                        "count the groups of a grouped report instead: `group by ... show count() as applications`",
                    ),
                );
            }
            if let Some(h) = report.having.first() {
                return Err(err(
                    "`having` cannot be used in a report grouped by a demographic field",
                    h.span,
                )
                .with_help(HELP));
            }
            if let Some(l) = &report.limit {
                return Err(err(
                    "`limit` cannot be used in a report grouped by a demographic field",
                    l.span,
                )
                .with_help(HELP));
            }
            // The candidate whose demographics these are: the path up to `demographics`.
            let up: Path = match path.split_last() {
                Some((last, rest)) if last.target == EntityId::Demographics => rest.to_vec(),
                _ => path.clone(),
            };
            match &candidate_path {
                None => candidate_path = Some(up),
                Some(first) if *first == up => {}
                Some(first) => {
                    let name = |p: &Path| {
                        if p.is_empty() {
                            Entity::get(self.subject.id).singular.to_owned()
                        } else {
                            p.iter().map(|r| r.name).collect::<Vec<_>>().join(".")
                        }
                    };
                    return Err(err(
                        format!(
                            "every demographic group key must be of the same candidate: this one is of `{}`, the first of `{}`",
                            name(&up),
                            name(first)
                        ),
                        *span,
                    )
                    .with_help("groups are counted in distinct candidates; reach the demographics by one path"));
                }
            }
        }

        // A report over demographics: only in the safe form (`crate::demographics`).
        if let Some(zone) = &report.zone
            && candidate_path.is_some()
            && self.zone_name != self.catalog.time_zone()
        {
            return Err(crate::demographics::zone_refused(
                zone,
                self.catalog.time_zone(),
            ));
        }
        let safe = match &candidate_path {
            Some(path) => crate::demographics::check(report, path, self)?,
            None => crate::demographics::Safe::default(),
        };

        let aggregate_used = report
            .show
            .iter()
            .any(|i| find_aggregate(&i.expr).is_some());
        let shape_rows = report.funnel.is_none()
            && report.group_by.is_empty()
            && !aggregate_used
            && !report.show.is_empty();
        let mut outputs: Vec<Output> = Vec::new();
        let shape;
        if let Some(funnel) = &report.funnel {
            if self.subject.id != EntityId::Applications {
                return Err(err("`funnel` reports on applications", funnel.span)
                    .with_help("write `report applications ... funnel ...`"));
            }
            if let Some(item) = report.show.first() {
                return Err(err(
                    "a funnel report shows its own columns; `show` cannot be used with `funnel`",
                    item.expr.span,
                )
                .with_help("a funnel shows stage, reached, pass_through and overall per group"));
            }
            if let Some(h) = report.having.first() {
                return Err(err("`having` cannot be used with `funnel`", h.span));
            }
            if let Some(extra) = funnel.stages.get(MAX_FUNNEL_STEPS) {
                return Err(err(
                    format!("a funnel has at most {MAX_FUNNEL_STEPS} steps"),
                    extra.span,
                ));
            }
            let mut steps = Vec::new();
            for stage in &funnel.stages {
                let (label, r) = self.stage_ref(stage)?;
                steps.push((label, r));
            }
            if steps.is_empty() {
                return Err(err("a funnel needs at least one stage", funnel.span));
            }
            // Step i counts applications that reached stage i or any later step.
            for i in 0..steps.len() {
                let mut cond: Option<Scalar> = None;
                for (_, r) in &steps[i..] {
                    let reached = Scalar::Reached {
                        path: Vec::new(),
                        stage: r.clone(),
                    };
                    cond = Some(match cond {
                        None => reached,
                        Some(c) => Scalar::Binary {
                            op: BinaryOp::Or,
                            left: Box::new(c),
                            right: Box::new(reached),
                            operand: Type::Bool,
                        },
                    });
                }
                self.measures.push(Measure {
                    func: AggFunc::Count,
                    grain: Grain::root(),
                    arg: None,
                    filter: cond,
                    ty: Type::Integer,
                });
            }
            for (i, d) in self.dims.iter().enumerate() {
                outputs.push(Output {
                    name: d.name.clone(),
                    value: OutputValue::Formula(Formula::Dim(i)),
                    ty: d.ty.clone(),
                });
            }
            shape = Shape::Funnel { steps };
        } else if shape_rows {
            self.place = Place::RowShow;
            for item in &report.show {
                let (s, ty) = self.scalar(&item.expr, root)?;
                let name = item
                    .alias
                    .as_ref()
                    .map_or_else(|| display(&item.expr), |a| a.name.clone());
                self.check_new_name(
                    &name,
                    item.alias.as_ref().map_or(item.expr.span, |a| a.span),
                )?;
                self.aliases
                    .push((name.clone(), OutputValue::Row(s.clone()), ty.clone()));
                outputs.push(Output {
                    name,
                    value: OutputValue::Row(s),
                    ty,
                });
            }
            if let Some(h) = report.having.first() {
                return Err(
                    err("`having` filters groups, and this report has none", h.span).with_help(
                        "use `where` to filter rows, or add `group by` or an aggregate to `show`",
                    ),
                );
            }
            shape = Shape::Rows;
        } else {
            for (i, d) in self.dims.iter().enumerate() {
                outputs.push(Output {
                    name: d.name.clone(),
                    value: OutputValue::Formula(Formula::Dim(i)),
                    ty: d.ty.clone(),
                });
            }
            if report.show.is_empty() {
                let m = self.add_measure(Measure {
                    func: AggFunc::Count,
                    grain: Grain::root(),
                    arg: None,
                    filter: None,
                    ty: Type::Integer,
                });
                self.check_new_name("count", report.subject.span)?;
                outputs.push(Output {
                    name: "count".into(),
                    value: OutputValue::Formula(Formula::Measure(m)),
                    ty: Type::Integer,
                });
            }
            self.place = Place::Show;
            for item in &report.show {
                let (f, ty) = self.formula(&item.expr)?;
                self.demographic_formula(&f, &item.expr)?;
                if item.alias.is_none() && matches!(f, Formula::Dim(_)) {
                    continue; // a group key, already shown
                }
                let name = item
                    .alias
                    .as_ref()
                    .map_or_else(|| display(&item.expr), |a| a.name.clone());
                self.check_new_name(
                    &name,
                    item.alias.as_ref().map_or(item.expr.span, |a| a.span),
                )?;
                self.aliases
                    .push((name.clone(), OutputValue::Formula(f.clone()), ty.clone()));
                outputs.push(Output {
                    name,
                    value: OutputValue::Formula(f),
                    ty,
                });
            }
            shape = Shape::Groups;
        }

        let mut having: Option<Formula> = None;
        self.place = Place::Having;
        for h in &report.having {
            let (f, ty) = self.formula(h)?;
            self.demographic_formula(&f, h)?;
            expect_bool(&ty, h.span, "`having`")?;
            having = Some(match having {
                None => f,
                Some(prev) => Formula::Binary {
                    op: BinaryOp::And,
                    left: Box::new(prev),
                    right: Box::new(f),
                },
            });
        }
        let mut order = Vec::new();
        self.place = Place::OrderBy;
        for o in &report.order_by {
            let (value, ty) = match shape {
                Shape::Rows => match self.alias(&o.expr) {
                    Some((v, ty)) => (v, ty),
                    None => {
                        let (s, ty) = self.scalar(&o.expr, root)?;
                        (OutputValue::Row(s), ty)
                    }
                },
                _ => {
                    let (f, ty) = self.formula(&o.expr)?;
                    self.demographic_formula(&f, &o.expr)?;
                    if let (Shape::Funnel { .. }, Formula::Measure(_)) = (&shape, &f) {
                        return Err(err(
                            "a funnel is ordered by its group keys and steps",
                            o.expr.span,
                        ));
                    }
                    (OutputValue::Formula(f), ty)
                }
            };
            if let Type::Multi(_) = ty {
                return Err(err("cannot order by a list", o.expr.span).with_help(
                    "lists (tags, multi-select fields) have no order; order by another field",
                ));
            }
            if ty == Type::Map {
                return Err(err("cannot order by a map", o.expr.span).with_help(
                    "maps (a scorecard's scores) have no order; order by another field",
                ));
            }
            if candidate_path.is_some() && !matches!(value, OutputValue::Formula(Formula::Dim(_))) {
                return Err(err(
                    "a report over demographics can only be ordered by its group keys",
                    o.expr.span,
                )
                .with_help("counts are published perturbed; ordering by the true counts would tell them apart"));
            }
            order.push(Order {
                value,
                descending: o.descending,
                text: ty.is_textual(),
            });
        }
        let mut stages: Vec<StageRef> = Vec::new();
        {
            let mut count_stages = |s: &Scalar| {
                if let Scalar::Reached { stage, .. } = s
                    && !stages.contains(stage)
                {
                    stages.push(stage.clone());
                }
            };
            for m in &self.measures {
                m.filter
                    .iter()
                    .chain(&m.arg)
                    .for_each(|s| s.walk(&mut count_stages));
            }
            filter
                .iter()
                .chain(self.dims.iter().map(|d| &d.expr))
                .for_each(|s| s.walk(&mut count_stages));
            for o in outputs
                .iter()
                .map(|o| &o.value)
                .chain(order.iter().map(|o| &o.value))
            {
                if let OutputValue::Row(s) = o {
                    s.walk(&mut count_stages);
                }
            }
        }
        // The hidden measure of a report split by demographics: distinct candidates per group,
        // counted like any measure (under the guard: the candidates the viewer sees).
        let published = self.measures.len();
        let candidates = candidate_path.as_ref().map(|path| {
            self.add_measure(Measure {
                func: AggFunc::CountDistinct,
                grain: Grain::root(),
                arg: Some(Scalar::Key { path: path.clone() }),
                filter: None,
                ty: Type::Integer,
            })
        });
        // Every count of it is a cell, perturbed with the sums of its candidates' record keys:
        // the group's own count first, then each count the report shows.
        let mut cells = Vec::new();
        if let (Some(path), Some(own)) = (&candidate_path, candidates) {
            let counts: Vec<usize> = std::iter::once(own)
                .chain((0..published).filter(|j| *j != own))
                .collect();
            for count in counts {
                let filter = self.measures[count].filter.clone();
                let key = |n: u8, r: &mut Self| {
                    r.add_measure(Measure {
                        func: AggFunc::KeySum(n),
                        grain: Grain::root(),
                        arg: Some(Scalar::Key { path: path.clone() }),
                        filter: filter.clone(),
                        ty: Type::Integer,
                    })
                };
                let keys = [key(1, self), key(2, self)];
                cells.push(Cell { count, keys });
            }
        }
        if stages.len() > 16 {
            return Err(err(
                "a report can ask about at most 16 stages in `reached`, `conversion` and `funnel`",
                report.span,
            ));
        }
        let ir = Ir {
            subject: self.subject.id,
            shape,
            filter,
            dims: std::mem::take(&mut self.dims),
            measures: std::mem::take(&mut self.measures),
            outputs,
            having,
            order,
            limit: report.limit.as_ref().map(|l| l.rows),
            params: std::mem::take(&mut self.params),
            time_zone: self.zone_name.clone(),
            zone_param: self.zone_param,
            candidates,
            cells,
            safe,
        };
        if ir.candidates.is_some() && crate::demographics::published_outputs(&ir).is_none() {
            return Err(err(
                "this report over demographics has a column that is not a count of distinct candidates, a ratio of such counts or a group key",
                report.span,
            )
            .with_help(crate::demographics::allowed()));
        }
        Ok(ir)
    }

    /// Refuses a formula that computes with a demographic group key: the key may only be shown
    /// or ordered by on its own.
    fn demographic_formula(&self, f: &Formula, expr: &Expr) -> Result<(), Diagnostic> {
        if matches!(f, Formula::Dim(_)) {
            return Ok(());
        }
        let mut found = None;
        f.walk(&mut |g| {
            if let Formula::Dim(i) = g
                && found.is_none()
                && self.dims.get(*i).is_some_and(Dim::is_demographic)
            {
                found = Some(*i);
            }
        });
        let Some(i) = found else {
            return Ok(());
        };
        let name = self.dims.get(i).map_or("", |d| d.name.as_str());
        // The span of the name as written, else of the whole expression.
        let mut span = expr.span;
        visit_paths(expr, &mut |p| {
            if let [one] = p
                && self
                    .alias(&Expr::new(
                        ExprKind::Path {
                            path: vec![one.clone()],
                        },
                        one.span,
                    ))
                    .is_some()
                && span == expr.span
            {
                span = one.span;
            }
        });
        Err(err(
            format!(
                "the demographic group key `{name}` cannot be used in an expression in {}",
                self.place.name()
            ),
            span,
        )
        .with_help(format!(
            "a demographic group key can only be shown or ordered by on its own: `show {name}`, `order by {name}`"
        )))
    }

    fn check_new_name(&self, name: &str, span: Span) -> Result<(), Diagnostic> {
        if self.aliases.iter().any(|(n, _, _)| n == name) {
            return Err(err(format!("two columns are named `{name}`"), span)
                .with_help("give one of them another name with `as`"));
        }
        Ok(())
    }

    fn alias(&self, expr: &Expr) -> Option<(OutputValue, Type)> {
        if let ExprKind::Path { path } = &expr.kind
            && let [one] = path.as_slice()
        {
            return self
                .aliases
                .iter()
                .find(|(n, _, _)| *n == one.name)
                .map(|(_, v, t)| (v.clone(), t.clone()));
        }
        None
    }

    fn param(&mut self, p: Param) -> Scalar {
        Scalar::Param(self.param_id(p))
    }

    fn param_id(&mut self, p: Param) -> ParamId {
        if let Some(i) = self.params.iter().position(|q| *q == p) {
            return ParamId(i);
        }
        self.params.push(p);
        ParamId(self.params.len() - 1)
    }

    fn add_measure(&mut self, m: Measure) -> usize {
        if let Some(i) = self.measures.iter().position(|n| *n == m) {
            return i;
        }
        self.measures.push(m);
        self.measures.len() - 1
    }

    // ---- row level -------------------------------------------------------------------------

    fn scalar(&mut self, expr: &Expr, row: Row<'_>) -> Result<Typed, Diagnostic> {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Literal { value } => self.bare_literal(value, span),
            ExprKind::Path { path } => self.path(path, row, span, false),
            ExprKind::Call {
                function,
                distinct,
                args,
                filter,
            } => {
                let name = function.name.as_str();
                if AGGREGATES.contains(&name) {
                    return Err(err(
                        format!("`{name}` is an aggregate and cannot be used on single rows here"),
                        span,
                    )
                    .with_help(
                        "aggregates belong in `show`, `having` and `order by` of a grouped report",
                    ));
                }
                if *distinct || filter.is_some() {
                    return Err(err(
                        format!(
                            "`{name}` is not an aggregate: `distinct` and `where` do not apply"
                        ),
                        span,
                    ));
                }
                self.row_call(function, args, row, span)
            }
            ExprKind::Unary { op, expr: inner } => {
                let (s, ty) = self.scalar(inner, row)?;
                match op {
                    UnaryOp::Not => {
                        expect_bool(&ty, inner.span, "`not`")?;
                        Ok((Scalar::Not(Box::new(s)), Type::Bool))
                    }
                    UnaryOp::Neg => {
                        expect_numeric(&ty, inner.span)?;
                        Ok((Scalar::Neg(Box::new(s)), ty))
                    }
                }
            }
            ExprKind::Binary { op, left, right } => self.binary(*op, left, right, row, span),
            ExprKind::In {
                expr: inner,
                list,
                negated,
            } => {
                let (s, ty) = self.scalar(inner, row)?;
                if matches!(ty, Type::Instant) {
                    return Err(err("`in (...)` does not apply to timestamps", span)
                        .with_help("use `between`, comparisons, or `in last 30 days`"));
                }
                let mut items = Vec::new();
                for item in list {
                    items.push(self.operand(item, &ty, row)?);
                }
                Ok((
                    Scalar::In {
                        expr: Box::new(s),
                        list: items,
                        negated: *negated,
                    },
                    Type::Bool,
                ))
            }
            ExprKind::Between {
                expr: inner,
                low,
                high,
                negated,
            } => {
                let lo = Expr::new(
                    ExprKind::Binary {
                        op: BinaryOp::GtEq,
                        left: inner.clone(),
                        right: low.clone(),
                    },
                    span,
                );
                let hi = Expr::new(
                    ExprKind::Binary {
                        op: BinaryOp::LtEq,
                        left: inner.clone(),
                        right: high.clone(),
                    },
                    span,
                );
                let (lo, _) = self.scalar(&lo, row)?;
                let (hi, _) = self.scalar(&hi, row)?;
                let both = Scalar::Binary {
                    op: BinaryOp::And,
                    left: Box::new(lo),
                    right: Box::new(hi),
                    operand: Type::Bool,
                };
                Ok((
                    if *negated {
                        Scalar::Not(Box::new(both))
                    } else {
                        both
                    },
                    Type::Bool,
                ))
            }
            ExprKind::IsNull {
                expr: inner,
                negated,
            } => {
                // `source is null`: a relation may be tested for absence.
                let (s, _) = match &inner.kind {
                    ExprKind::Path { path } => self.path(path, row, inner.span, true)?,
                    _ => self.scalar(inner, row)?,
                };
                Ok((
                    Scalar::IsNull {
                        expr: Box::new(s),
                        negated: *negated,
                    },
                    Type::Bool,
                ))
            }
            ExprKind::Text {
                op,
                expr: inner,
                pattern,
                negated,
            } => {
                let (s, ty) = self.scalar(inner, row)?;
                match (&ty, op) {
                    (Type::Multi(_), TextOp::Contains) => {
                        let value = self.operand(pattern, &ty, row)?;
                        Ok((
                            Scalar::ListContains {
                                list: Box::new(s),
                                value: Box::new(value),
                                negated: *negated,
                            },
                            Type::Bool,
                        ))
                    }
                    (Type::Text | Type::Enum(_) | Type::Select(_), _) => {
                        let value = self.operand(pattern, &Type::Text, row)?;
                        Ok((
                            Scalar::Text {
                                op: *op,
                                expr: Box::new(s),
                                pattern: Box::new(value),
                                negated: *negated,
                            },
                            Type::Bool,
                        ))
                    }
                    _ => Err(err(
                        format!(
                            "`{}` is {}; text matching needs text",
                            display(inner),
                            article(&ty)
                        ),
                        inner.span,
                    )),
                }
            }
            ExprKind::Within {
                expr: inner,
                range,
                negated,
            } => {
                let (s, ty) = self.scalar(inner, row)?;
                let date = match ty {
                    Type::Instant => false,
                    Type::Date => true,
                    _ => {
                        return Err(err(
                            format!(
                                "`{}` is {}; `in last/next/this/previous ...` needs a timestamp or a date",
                                display(inner),
                                article(&ty)
                            ),
                            inner.span,
                        ));
                    }
                };
                if matches!(range.which, RangeKind::Last | RangeKind::Next) && range.count == 0 {
                    return Err(err(format!("`{range}` is an empty range"), span));
                }
                let spec = RangeSpec {
                    which: match range.which {
                        RangeKind::Last => "last",
                        RangeKind::Next => "next",
                        RangeKind::This => "this",
                        RangeKind::Previous => "previous",
                    },
                    count: range.count,
                    unit: range.unit.name(),
                    range: *range,
                };
                let start = self.param(Param::Relative {
                    range: spec,
                    end: false,
                    date,
                });
                let end = self.param(Param::Relative {
                    range: spec,
                    end: true,
                    date,
                });
                let inside = Scalar::Binary {
                    op: BinaryOp::And,
                    left: Box::new(Scalar::Binary {
                        op: BinaryOp::GtEq,
                        left: Box::new(s.clone()),
                        right: Box::new(start),
                        operand: ty.clone(),
                    }),
                    right: Box::new(Scalar::Binary {
                        op: BinaryOp::Lt,
                        left: Box::new(s),
                        right: Box::new(end),
                        operand: ty.clone(),
                    }),
                    operand: Type::Bool,
                };
                Ok((
                    if *negated {
                        Scalar::Not(Box::new(inside))
                    } else {
                        inside
                    },
                    Type::Bool,
                ))
            }
        }
    }

    /// A literal on its own (no other side to take a type from).
    fn bare_literal(&mut self, value: &Literal, span: Span) -> Result<Typed, Diagnostic> {
        Ok(match value {
            Literal::Null => {
                return Err(err("`null` cannot be used here", span)
                    .with_help("test for null with `is null`"));
            }
            Literal::Bool(b) => (self.param(Param::Bool(*b)), Type::Bool),
            Literal::Integer(i) => (self.param(Param::Integer(*i)), Type::Integer),
            Literal::Float(f) => (self.param(Param::Number(*f)), Type::Number),
            Literal::String(s) => (self.param(Param::Text(s.clone())), Type::Text),
            Literal::Date(d) => (self.param(Param::Date(d.clone())), Type::Date),
            Literal::Today => (self.param(Param::Today { date: true }), Type::Date),
            Literal::Timestamp(t) => {
                let at = self.instant_literal(t, span)?;
                (self.param(Param::Instant(at)), Type::Instant)
            }
        })
    }

    /// A timestamp literal in UTC microseconds: with an offset, that moment; without, the local
    /// time in the report's zone (in a gap of a daylight-saving change, moved forward by the
    /// gap; in a fold, the earlier of the two moments).
    fn instant_literal(&self, text: &str, span: Span) -> Result<i64, Diagnostic> {
        let outside = || {
            err(
                format!("timestamp `{text}` is outside the supported range"),
                span,
            )
            .with_help("timestamps go from the year 0001 to 9999 in every time zone")
        };
        let time = text.get(10..).unwrap_or_default();
        let local = !(time.ends_with('Z') || time.contains(['+', '-']));
        let at = if local {
            let civil: jiff::civil::DateTime = text.parse().map_err(|_| outside())?;
            civil
                .to_zoned_datetime(self.zone.clone())
                .map_err(|_| outside())?
                .timestamp()
        } else {
            text.parse::<jiff::Timestamp>().map_err(|_| outside())?
        };
        Ok(at.as_microsecond())
    }

    /// `expr` as an operand compared with something of type `want`.
    fn operand(&mut self, expr: &Expr, want: &Type, row: Row<'_>) -> Result<Scalar, Diagnostic> {
        let ExprKind::Literal { value } = &expr.kind else {
            let (s, ty) = self.scalar(expr, row)?;
            if !comparable(want, &ty) {
                return Err(err(
                    format!("cannot compare {} with {}", article(want), article(&ty)),
                    expr.span,
                ));
            }
            return Ok(s);
        };
        let span = expr.span;
        let mismatch = |what: &str| err(format!("expected {}, found {what}", article(want)), span);
        Ok(match (want, value) {
            (_, Literal::Null) => {
                return Err(err("`null` cannot be compared", span)
                    .with_help("test for null with `is null` or `is not null`"));
            }
            (Type::Text, Literal::String(s)) => self.param(Param::Text(s.clone())),
            (Type::Enum(_) | Type::Select(_) | Type::Multi(_), Literal::String(s)) => {
                if let Some(choices) = want.choices()
                    && !choices.contains(&s.as_str())
                {
                    return Err(err(format!("`{s}` is not one of the values"), span)
                        .suggest(s, choices.iter().copied())
                        .with_help(format!("values: {}", choices.join(", "))));
                }
                self.param(Param::Text(s.clone()))
            }
            (Type::Integer, Literal::Integer(i)) => self.param(Param::Integer(*i)),
            (Type::Number, Literal::Integer(i)) => self.param(Param::Number(*i as f64)),
            (Type::Integer | Type::Number, Literal::Float(f)) => self.param(Param::Number(*f)),
            (Type::Bool, Literal::Bool(b)) => self.param(Param::Bool(*b)),
            (Type::Date, Literal::Date(d)) => self.param(Param::Date(d.clone())),
            (Type::Date, Literal::Today) => self.param(Param::Today { date: true }),
            (Type::Instant, Literal::Today) => self.param(Param::Today { date: false }),
            (Type::Instant, Literal::Date(d)) => {
                let (start, _) = self.day_bounds(d, span)?;
                self.param(Param::Instant(start))
            }
            (Type::Instant, Literal::Timestamp(t)) => {
                let at = self.instant_literal(t, span)?;
                self.param(Param::Instant(at))
            }
            (Type::Date, Literal::Timestamp(t)) => {
                let day = t.get(..10).unwrap_or(t);
                return Err(mismatch("a timestamp")
                    .with_help(format!("a date is written without a time: `{day}`")));
            }
            (Type::Instant | Type::Date, Literal::String(_)) => {
                return Err(mismatch("text").with_help("write dates without quotes: `2025-01-31`"));
            }
            (_, Literal::String(_)) => return Err(mismatch("text")),
            (_, Literal::Integer(_) | Literal::Float(_)) => return Err(mismatch("a number")),
            (_, Literal::Bool(_)) => return Err(mismatch("a boolean")),
            (_, Literal::Date(_)) => return Err(mismatch("a date")),
            (_, Literal::Today) => {
                return Err(mismatch("`today` (a date)")
                    .with_help("`today` compares with timestamps and dates"));
            }
            (_, Literal::Timestamp(_)) => return Err(mismatch("a timestamp")),
        })
    }

    /// The first instant of a local date in the report's zone, and of the next date.
    fn day_bounds(&self, date: &str, span: Span) -> Result<(i64, i64), Diagnostic> {
        let bad = || err(format!("`{date}` is not a date"), span);
        let d: Date = date.parse().map_err(|_| bad())?;
        let next = d.tomorrow().map_err(|_| bad())?;
        let start = d
            .to_zoned_datetime(self.zone.clone())
            .map_err(|_| bad())?
            .timestamp()
            .as_microsecond();
        let end = next
            .to_zoned_datetime(self.zone.clone())
            .map_err(|_| bad())?
            .timestamp()
            .as_microsecond();
        Ok((start, end))
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        row: Row<'_>,
        span: Span,
    ) -> Result<Typed, Diagnostic> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let (l, lt) = self.scalar(left, row)?;
                expect_bool(&lt, left.span, &format!("`{}`", op.symbol()))?;
                let (r, rt) = self.scalar(right, row)?;
                expect_bool(&rt, right.span, &format!("`{}`", op.symbol()))?;
                Ok((
                    Scalar::Binary {
                        op,
                        left: Box::new(l),
                        right: Box::new(r),
                        operand: Type::Bool,
                    },
                    Type::Bool,
                ))
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                let (l, lt) = self.numeric_operand(left, row)?;
                let (r, rt) = self.numeric_operand(right, row)?;
                let ty = if op == BinaryOp::Div || lt == Type::Number || rt == Type::Number {
                    Type::Number
                } else {
                    Type::Integer
                };
                Ok((
                    Scalar::Binary {
                        op,
                        left: Box::new(l),
                        right: Box::new(r),
                        operand: ty.clone(),
                    },
                    ty,
                ))
            }
            BinaryOp::Eq
            | BinaryOp::NotEq
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq => {
                // Type the non-literal side first; a literal takes the other side's type.
                let (lit_left, typed, other) = match (&left.kind, &right.kind) {
                    (ExprKind::Literal { .. }, ExprKind::Literal { .. }) => {
                        return Err(err("a comparison needs a field on at least one side", span));
                    }
                    (ExprKind::Literal { .. }, _) => (true, right, left),
                    _ => (false, left, right),
                };
                let (s, ty) = self.scalar(typed, row)?;
                if let Type::Multi(_) = ty {
                    return Err(err(
                        format!("`{}` holds a list; use `contains`", display(typed)),
                        typed.span,
                    ));
                }
                if ty == Type::Map {
                    return Err(err(
                        format!("`{}` holds a map and cannot be compared", display(typed)),
                        typed.span,
                    )
                    .with_help("a map can only be shown, or tested with `is null`"));
                }
                let op = if lit_left { flip(op) } else { op };
                // An instant compared with a date (or `today`) means the date's whole day in the
                // report's zone.
                let day = match &other.kind {
                    ExprKind::Literal {
                        value: Literal::Date(d),
                    } if ty == Type::Instant => {
                        let (start, end) = self.day_bounds(d, other.span)?;
                        Some((Param::Instant(start), Param::Instant(end)))
                    }
                    ExprKind::Literal {
                        value: Literal::Today,
                    } if ty == Type::Instant => {
                        let spec = RangeSpec {
                            which: "this",
                            count: 1,
                            unit: "day",
                            range: query_syntax::RelativeRange {
                                which: RangeKind::This,
                                count: 1,
                                unit: query_syntax::TimeUnit::Day,
                            },
                        };
                        Some((
                            Param::Today { date: false },
                            Param::Relative {
                                range: spec,
                                end: true,
                                date: false,
                            },
                        ))
                    }
                    _ => None,
                };
                if let Some((start, end)) = day {
                    let cmp = |r: &mut Self, op, v: Param| Scalar::Binary {
                        op,
                        left: Box::new(s.clone()),
                        right: Box::new(r.param(v)),
                        operand: Type::Instant,
                    };
                    let out = match op {
                        BinaryOp::Eq | BinaryOp::NotEq => {
                            let inside = Scalar::Binary {
                                op: BinaryOp::And,
                                left: Box::new(cmp(self, BinaryOp::GtEq, start)),
                                right: Box::new(cmp(self, BinaryOp::Lt, end)),
                                operand: Type::Bool,
                            };
                            if op == BinaryOp::Eq {
                                inside
                            } else {
                                Scalar::Not(Box::new(inside))
                            }
                        }
                        BinaryOp::Lt => cmp(self, BinaryOp::Lt, start),
                        BinaryOp::LtEq => cmp(self, BinaryOp::Lt, end),
                        BinaryOp::Gt => cmp(self, BinaryOp::GtEq, end),
                        _ => cmp(self, BinaryOp::GtEq, start),
                    };
                    return Ok((out, Type::Bool));
                }
                let o = self.operand(other, &ty, row)?;
                let (l, r) = (Box::new(s), Box::new(o));
                if matches!(op, BinaryOp::Eq | BinaryOp::NotEq)
                    && ty == Type::Text
                    && is_email(typed)
                {
                    return Ok((
                        Scalar::FoldedEq {
                            left: l,
                            right: r,
                            negated: op == BinaryOp::NotEq,
                        },
                        Type::Bool,
                    ));
                }
                Ok((
                    Scalar::Binary {
                        op,
                        left: l,
                        right: r,
                        operand: ty,
                    },
                    Type::Bool,
                ))
            }
        }
    }

    fn numeric_operand(&mut self, expr: &Expr, row: Row<'_>) -> Result<Typed, Diagnostic> {
        let (s, ty) = self.scalar(expr, row)?;
        expect_numeric(&ty, expr.span)?;
        Ok((s, ty))
    }

    fn row_call(
        &mut self,
        function: &query_syntax::Ident,
        args: &[Expr],
        row: Row<'_>,
        span: Span,
    ) -> Result<Typed, Diagnostic> {
        let name = function.name.as_str();
        let arity = |n: usize| -> Result<(), Diagnostic> {
            if args.len() != n {
                return Err(err(
                    format!(
                        "`{name}` takes {n} argument{}, found {}",
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                    span,
                ));
            }
            Ok(())
        };
        match name {
            "day" | "week" | "month" | "quarter" | "year" => {
                arity(1)?;
                let unit = match name {
                    "day" => TimeUnit::Day,
                    "week" => TimeUnit::Week,
                    "month" => TimeUnit::Month,
                    "quarter" => TimeUnit::Quarter,
                    _ => TimeUnit::Year,
                };
                let (s, ty) = self.scalar(&args[0], row)?;
                let instant = match ty {
                    Type::Instant => true,
                    Type::Date => false,
                    _ => {
                        return Err(err(
                            format!(
                                "`{name}` needs a timestamp or a date, found {}",
                                article(&ty)
                            ),
                            args[0].span,
                        ));
                    }
                };
                if instant && self.zone_param.is_none() {
                    let zone = self.zone_name.clone();
                    self.zone_param = Some(self.param_id(Param::Text(zone)));
                }
                Ok((
                    Scalar::Bucket {
                        unit,
                        expr: Box::new(s),
                        instant,
                    },
                    Type::Text,
                ))
            }
            "days_between" => {
                arity(2)?;
                let (a, at) = self.scalar(&args[0], row)?;
                let b = self.operand(&args[1], &at, row)?;
                let instant = match at {
                    Type::Instant => true,
                    Type::Date => false,
                    _ => {
                        return Err(err(
                            format!(
                                "`days_between` needs timestamps or dates, found {}",
                                article(&at)
                            ),
                            args[0].span,
                        ));
                    }
                };
                Ok((
                    Scalar::DaysBetween {
                        from: Box::new(a),
                        to: Box::new(b),
                        instant,
                    },
                    Type::Number,
                ))
            }
            "days_since" => {
                arity(1)?;
                let (a, at) = self.scalar(&args[0], row)?;
                let instant = match at {
                    Type::Instant => true,
                    Type::Date => false,
                    _ => {
                        return Err(err(
                            format!(
                                "`days_since` needs a timestamp or a date, found {}",
                                article(&at)
                            ),
                            args[0].span,
                        ));
                    }
                };
                let today = self.param(Param::Today { date: !instant });
                Ok((
                    Scalar::DaysBetween {
                        from: Box::new(a),
                        to: Box::new(today),
                        instant,
                    },
                    Type::Number,
                ))
            }
            "round" => {
                let Some(first) = args.first() else {
                    return Err(err(
                        "`round` takes a number and, optionally, how many digits",
                        span,
                    ));
                };
                let (inner, ty) = self.scalar(first, row)?;
                expect_numeric(&ty, first.span)?;
                let digits = round_digits(args, span)?;
                Ok((
                    Scalar::Round {
                        expr: Box::new(inner),
                        digits,
                    },
                    Type::Number,
                ))
            }
            "coalesce" => {
                if args.len() < 2 {
                    return Err(err("`coalesce` takes at least 2 arguments", span));
                }
                // SQLite takes at most 127 (red team, pass 19: 3,000 were a database error).
                if let Some(extra) = args.get(MAX_COALESCE_ARGS) {
                    return Err(err(
                        format!("`coalesce` takes at most {MAX_COALESCE_ARGS} arguments"),
                        extra.span,
                    ));
                }
                let (first, ty) = self.scalar(&args[0], row)?;
                let mut all = vec![first];
                for a in &args[1..] {
                    all.push(self.operand(a, &ty, row)?);
                }
                Ok((Scalar::Coalesce(all), ty))
            }
            "reached" => {
                arity(1)?;
                if row.root != EntityId::Applications {
                    let e = Entity::get(row.root);
                    return Err(err(format!("`reached` applies to applications, and these rows are {}", e.name), span)
                        .with_help("report on applications, or count them: `count(applications where reached(\"Onsite\"))`"));
                }
                let (_, stage) = self.stage_ref(&args[0])?;
                Ok((
                    Scalar::Reached {
                        path: Vec::new(),
                        stage,
                    },
                    Type::Bool,
                ))
            }
            "kind" => Err(err(
                "`kind(...)` names a stage kind inside `reached(...)` or `funnel`",
                span,
            )),
            _ => {
                let mut names: Vec<&str> = ROW_FUNCTIONS.to_vec();
                names.extend(AGGREGATES);
                Err(err(format!("unknown function `{name}`"), function.span)
                    .suggest(name, names.iter().copied())
                    .with_help(format!("functions: {}", names.join(", "))))
            }
        }
    }

    /// `"Onsite"` (a stage name used by the org) or `kind("onsite")`.
    fn stage_ref(&mut self, expr: &Expr) -> Result<(String, StageRef), Diagnostic> {
        match &expr.kind {
            ExprKind::Literal {
                value: Literal::String(name),
            } => {
                let names = self.catalog.stage_names();
                if !names.iter().any(|n| n == name) {
                    let shown: Vec<&str> = names.iter().map(String::as_str).take(40).collect();
                    return Err(err(
                        format!("no job of this org has a stage named `{name}`"),
                        expr.span,
                    )
                    .suggest(name, names.iter().map(String::as_str))
                    .with_help(format!("stages: {}", shown.join(", ")))
                    .with_help(format!(
                        "or name a stage kind: kind(\"onsite\"); kinds: {}",
                        StageKind::NAMES.join(", ")
                    )));
                }
                let p = self.param_id(Param::Text(name.clone()));
                Ok((name.clone(), StageRef::Name(p)))
            }
            ExprKind::Call {
                function,
                args,
                distinct: false,
                filter: None,
            } if function.name == "kind" => {
                let [arg] = args.as_slice() else {
                    return Err(err("`kind` takes 1 argument, a stage kind", expr.span));
                };
                let ExprKind::Literal {
                    value: Literal::String(kind),
                } = &arg.kind
                else {
                    return Err(err("`kind(...)` takes a stage kind in quotes", arg.span));
                };
                if !StageKind::NAMES.contains(&kind.as_str()) {
                    return Err(err(format!("`{kind}` is not a stage kind"), arg.span)
                        .suggest(kind, StageKind::NAMES.iter().copied())
                        .with_help(format!("kinds: {}", StageKind::NAMES.join(", "))));
                }
                let p = self.param_id(Param::Text(kind.clone()));
                Ok((kind.clone(), StageRef::Kind(p)))
            }
            _ => Err(err(
                "expected a stage: a stage name in quotes, or `kind(\"onsite\")`",
                expr.span,
            )),
        }
    }

    /// A dotted path from `row.root`. `relation_ok` lets it end at a to-one relation (its key).
    fn path(
        &mut self,
        path: &[query_syntax::Ident],
        row: Row<'_>,
        span: Span,
        relation_ok: bool,
    ) -> Result<Typed, Diagnostic> {
        let mut segments = path;
        // An aggregate's arguments are written from the subject: drop its grain's steps.
        for step in row.prefix {
            match segments.first() {
                Some(first) if first.name == step.name => segments = &segments[1..],
                _ => {
                    let prefix: Vec<&str> = row.prefix.iter().map(|r| r.name).collect();
                    return Err(err(
                        format!("every field in this aggregate must come from `{}`", prefix.join(".")),
                        span,
                    )
                    .with_help("one aggregate reads one list of rows; use another aggregate for other rows"));
                }
            }
        }
        let mut entity = Entity::get(row.root);
        let mut walked: Path = Vec::new();
        let mut i = 0;
        while i < segments.len() {
            let seg = &segments[i];
            let last = i + 1 == segments.len();
            if seg.name == "custom"
                && let Some(owner) = entity.custom
            {
                let Some(key) = segments.get(i + 1) else {
                    return Err(self.custom_list(
                        entity,
                        owner,
                        seg.span,
                        "`custom` needs a field key: `custom.KEY`",
                    ));
                };
                let defs = self.catalog.custom_fields(owner);
                let Some(def) = defs.iter().find(|d| d.key == key.name) else {
                    let e = self.custom_list(
                        entity,
                        owner,
                        key.span,
                        &format!("unknown custom field `{}` on {}", key.name, entity.name),
                    );
                    return Err(e);
                };
                if let Some(extra) = segments.get(i + 2) {
                    return Err(err(
                        format!("`{}` is a field; it has no `{}`", key.name, extra.name),
                        extra.span,
                    ));
                }
                let (key, ty, sensitive) = (def.key.clone(), def.ty(), def.sensitive);
                let param = self.param_id(Param::Text(key.clone()));
                return Ok((
                    Scalar::Custom {
                        path: walked,
                        key,
                        param,
                        sensitive,
                        ty: ty.clone(),
                    },
                    ty,
                ));
            }
            if let Some(field) = entity.field(&seg.name) {
                if field.group == FieldGroup::Demographics && !self.demographic_key {
                    // Never at row level, for anyone; only as a group key of its own.
                    return Err(self.demographic_refused(path, seg));
                }
                if !last {
                    return Err(err(
                        format!(
                            "`{}` is a field; it has no `{}`",
                            seg.name,
                            segments[i + 1].name
                        ),
                        segments[i + 1].span,
                    ));
                }
                return Ok((
                    Scalar::Field {
                        path: walked,
                        field,
                    },
                    field.ty.clone(),
                ));
            }
            if let Some(rel) = entity.relation(&seg.name) {
                if rel.is_to_many() {
                    return Err(err(
                        format!(
                            "`{}` is a list of {} for each {}",
                            seg.name,
                            Entity::get(rel.target).name,
                            entity.singular
                        ),
                        seg.span,
                    )
                    .with_help(if row.in_aggregate {
                        format!(
                            "an aggregate reads one list of rows and cannot hold another; report on {} and aggregate `{}` there, or count the longer list from the subject: `count({}{} where ...)`",
                            Entity::get(row.root).name,
                            seg.name,
                            self.aggregate_path.as_deref().map(|p| format!("{p}.")).unwrap_or_default(),
                            seg.name
                        )
                    } else {
                        format!("aggregate it: `count({})`, `count({} where ...)`", seg.name, seg.name)
                    }));
                }
                walked.push(rel);
                entity = Entity::get(rel.target);
                if last && rel.target == EntityId::Demographics {
                    return Err(err(
                        format!(
                            "`{}` is a candidate's demographics record and cannot be used in {}: whether someone answered is demographic too",
                            seg.name,
                            self.place.name()
                        ),
                        seg.span,
                    )
                    .with_label("demographic")
                    .with_help(format!(
                        "group by one of its fields: `group by {}.gender as gender`",
                        path.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(".")
                    )));
                }
                if last {
                    if relation_ok {
                        return Ok((Scalar::Key { path: walked }, Type::Text));
                    }
                    let fields: Vec<&str> = entity.fields.iter().map(|f| f.name).collect();
                    return Err(err(
                        format!("`{}` is a {}, not a value", seg.name, entity.singular),
                        seg.span,
                    )
                    .with_help(format!("name one of its fields: {}", fields.join(", "))));
                }
                i += 1;
                continue;
            }
            return Err(self.unknown_name(
                entity,
                seg,
                i == 0 && row.prefix.is_empty() && row.root == self.subject.id,
            ));
        }
        Err(err("empty path", span))
    }

    /// A demographic field read where it may not be.
    fn demographic_refused(
        &self,
        path: &[query_syntax::Ident],
        seg: &query_syntax::Ident,
    ) -> Diagnostic {
        let written: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
        let written = written.join(".");
        let d = err(
            format!(
                "`{}` is a demographic field and cannot be used in {}",
                seg.name,
                self.place.name()
            ),
            seg.span,
        )
        .with_label("demographic");
        let key = written;
        let name = key.rsplit('.').next().unwrap_or("gender").to_owned();
        match self.place {
            Place::Show | Place::Having | Place::OrderBy => d.with_help(format!(
                "a demographic field can only be a group key: `group by {key} as {name}`, then use the name `{name}` on its own in `show` and `order by`"
            )),
            Place::GroupExpr => d.with_help(format!(
                "group by the field itself: `group by {key} as {name}`"
            )),
            _ => d.with_help(format!(
                "demographics are never filtered, shown or counted row by row; they can only be group keys of a grouped report, `group by {key} as {name}`, where groups of fewer than {MIN_CANDIDATES} candidates are suppressed"
            )),
        }
    }

    fn unknown_name(
        &self,
        entity: &Entity,
        seg: &query_syntax::Ident,
        aliases: bool,
    ) -> Diagnostic {
        let mut names: Vec<&str> = entity.fields.iter().map(|f| f.name).collect();
        names.extend(entity.relations.iter().map(|r| r.name));
        if entity.custom.is_some() {
            names.push("custom");
        }
        if aliases && self.all_names.contains(&seg.name) {
            return err(
                format!("`{}` is a column named later in the report", seg.name),
                seg.span,
            )
            .with_help(
                "a column can use the names of the columns before it: move this one after it",
            );
        }
        let mut d = err(
            format!("unknown field `{}` on {}", seg.name, entity.name),
            seg.span,
        )
        .with_label("unknown field");
        let mut candidates = names.clone();
        if aliases {
            candidates.extend(self.aliases.iter().map(|(n, _, _)| n.as_str()));
        }
        d = d.suggest(&seg.name, candidates.iter().copied());
        if let Some(owner) = entity.custom
            && self
                .catalog
                .custom_fields(owner)
                .iter()
                .any(|c| c.key == seg.name)
        {
            d = d.with_help(format!(
                "`{}` is a custom field: write `custom.{}`",
                seg.name, seg.name
            ));
        }
        d.with_help(format!("{} has: {}", entity.name, names.join(", ")))
    }

    fn custom_list(
        &self,
        entity: &Entity,
        owner: domain::enums::CustomEntity,
        span: Span,
        message: &str,
    ) -> Diagnostic {
        let keys: Vec<String> = self
            .catalog
            .custom_fields(owner)
            .iter()
            .map(|d| format!("{} ({})", d.key, d.ty().name()))
            .collect();
        let mut d = err(message.to_owned(), span);
        let wanted = message.split('`').nth(1).unwrap_or_default();
        d = d.suggest(
            wanted,
            self.catalog
                .custom_fields(owner)
                .iter()
                .map(|c| c.key.as_str()),
        );
        if keys.is_empty() {
            d.with_help(format!("{} have no custom fields in this org", entity.name))
        } else {
            d.with_help(format!(
                "custom fields of {}: {}",
                entity.name,
                keys.join(", ")
            ))
        }
    }

    // ---- aggregate level -------------------------------------------------------------------

    fn formula(&mut self, expr: &Expr) -> Result<(Formula, Type), Diagnostic> {
        let span = expr.span;
        if let Some((value, ty)) = self.alias(expr) {
            return match value {
                OutputValue::Formula(f) => {
                    let mut terms = 0;
                    f.walk(&mut |_| terms += 1);
                    self.expanded += terms;
                    if self.expanded > MAX_EXPANDED_TERMS {
                        return Err(err(
                            format!(
                                "the report's columns' names stand for more than \
                                 {MAX_EXPANDED_TERMS} terms in all"
                            ),
                            span,
                        )
                        .with_help(
                            "each use of a column's name repeats its whole expression: use \
                             each name fewer times",
                        ));
                    }
                    Ok((f, ty))
                }
                OutputValue::Row(_) => Err(err("a row value cannot be used here", span)),
            };
        }
        match &expr.kind {
            ExprKind::Literal { value } => {
                let (s, ty) = self.bare_literal(value, span)?;
                let Scalar::Param(p) = s else {
                    return Err(err("expected a literal", span));
                };
                Ok((Formula::Param(p), ty))
            }
            ExprKind::Call {
                function,
                distinct,
                args,
                filter,
            } if AGGREGATES.contains(&function.name.as_str()) => {
                self.aggregate(function, *distinct, args, filter.as_deref(), span)
            }
            ExprKind::Call { function, args, .. } if function.name == "round" => {
                let (inner, ty) = match args.first() {
                    Some(a) => self.formula(a)?,
                    None => {
                        return Err(err(
                            "`round` takes a number and, optionally, how many digits",
                            span,
                        ));
                    }
                };
                expect_numeric(&ty, span)?;
                let digits = round_digits(args, span)?;
                Ok((
                    Formula::Round {
                        expr: Box::new(inner),
                        digits,
                    },
                    Type::Number,
                ))
            }
            ExprKind::Unary {
                op: UnaryOp::Not,
                expr: inner,
            } => {
                let (f, ty) = self.formula(inner)?;
                expect_bool(&ty, inner.span, "`not`")?;
                Ok((Formula::Not(Box::new(f)), Type::Bool))
            }
            ExprKind::Unary {
                op: UnaryOp::Neg,
                expr: inner,
            } => {
                let (f, ty) = self.formula(inner)?;
                expect_numeric(&ty, inner.span)?;
                Ok((Formula::Neg(Box::new(f)), ty))
            }
            ExprKind::IsNull {
                expr: inner,
                negated,
            } => {
                let (f, _) = self.formula(inner)?;
                Ok((
                    Formula::IsNull {
                        expr: Box::new(f),
                        negated: *negated,
                    },
                    Type::Bool,
                ))
            }
            ExprKind::Binary { op, left, right }
                if find_aggregate(expr).is_some() || !self.is_row_expr(expr) =>
            {
                let (l, lt) = self.formula(left)?;
                let (r, rt) = self.formula(right)?;
                let ty = match op {
                    BinaryOp::And | BinaryOp::Or => {
                        expect_bool(&lt, left.span, &format!("`{}`", op.symbol()))?;
                        expect_bool(&rt, right.span, &format!("`{}`", op.symbol()))?;
                        Type::Bool
                    }
                    BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                        expect_numeric(&lt, left.span)?;
                        expect_numeric(&rt, right.span)?;
                        if *op == BinaryOp::Div || lt == Type::Number || rt == Type::Number {
                            Type::Number
                        } else {
                            Type::Integer
                        }
                    }
                    _ => {
                        if !comparable(&lt, &rt) {
                            return Err(err(
                                format!("cannot compare {} with {}", article(&lt), article(&rt)),
                                span,
                            ));
                        }
                        Type::Bool
                    }
                };
                Ok((
                    Formula::Binary {
                        op: *op,
                        left: Box::new(l),
                        right: Box::new(r),
                    },
                    ty,
                ))
            }
            _ => {
                // A row-level expression: it must be one of the group keys.
                let root = Row {
                    root: self.subject.id,
                    prefix: &[],
                    in_aggregate: false,
                };
                let (s, ty) = self.scalar(expr, root)?;
                match self.dims.iter().position(|d| d.expr == s) {
                    Some(i) => Ok((Formula::Dim(i), ty)),
                    None => Err(err(
                        format!("`{}` is neither grouped nor aggregated", display(expr)),
                        span,
                    )
                    .with_help(format!(
                        "add it to `group by`, or aggregate it: `count(distinct {})`, `min(...)`",
                        display(expr)
                    ))),
                }
            }
        }
    }

    /// Whether an expression is written entirely at row level (paths, no aliases or aggregates).
    fn is_row_expr(&self, expr: &Expr) -> bool {
        match &expr.kind {
            ExprKind::Literal { .. } => true,
            ExprKind::Path { .. } => self.alias(expr).is_none(),
            ExprKind::Call { function, .. }
                if AGGREGATES.contains(&function.name.as_str()) || function.name == "round" =>
            {
                false
            }
            ExprKind::Call { args, .. } => args.iter().all(|a| self.is_row_expr(a)),
            ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => self.is_row_expr(expr),
            ExprKind::Binary { left, right, .. } => {
                self.is_row_expr(left) && self.is_row_expr(right) && !has_literal_only(left, right)
            }
            ExprKind::In { expr, list, .. } => {
                self.is_row_expr(expr) && list.iter().all(|a| self.is_row_expr(a))
            }
            ExprKind::Between {
                expr, low, high, ..
            } => [expr, low, high].iter().all(|e| self.is_row_expr(e)),
            ExprKind::Text { expr, pattern, .. } => {
                self.is_row_expr(expr) && self.is_row_expr(pattern)
            }
            ExprKind::Within { expr, .. } => self.is_row_expr(expr),
        }
    }

    fn aggregate(
        &mut self,
        function: &query_syntax::Ident,
        distinct: bool,
        args: &[Expr],
        filter: Option<&Expr>,
        span: Span,
    ) -> Result<(Formula, Type), Diagnostic> {
        let place = std::mem::replace(&mut self.place, Place::Aggregate);
        let out = self.aggregate_in(function, distinct, args, filter, span);
        self.place = place;
        out
    }

    fn aggregate_in(
        &mut self,
        function: &query_syntax::Ident,
        distinct: bool,
        args: &[Expr],
        filter: Option<&Expr>,
        span: Span,
    ) -> Result<(Formula, Type), Diagnostic> {
        let name = function.name.as_str();
        for a in args.iter().chain(filter) {
            if let Some(inner) = find_aggregate(a) {
                return Err(err("aggregates cannot be nested", inner.span));
            }
        }
        if distinct && matches!(name, "rate" | "conversion") {
            return Err(err(
                format!(
                    "`distinct` applies to `count`, `sum`, `avg`, `min`, `max`, `median` and `percentile`, not `{name}`"
                ),
                span,
            ));
        }
        match name {
            "rate" => {
                let [cond] = args else {
                    return Err(err(
                        "`rate` takes one condition: `rate(status = \"hired\")`",
                        span,
                    ));
                };
                if filter.is_some() {
                    return Err(err(
                        "`rate` takes its condition as its argument, not `where`",
                        span,
                    ));
                }
                let root = Row {
                    root: self.subject.id,
                    prefix: &[],
                    in_aggregate: false,
                };
                let (c, ty) = self.scalar(cond, root)?;
                expect_bool(&ty, cond.span, "`rate`")?;
                let hit = self.add_measure(Measure {
                    func: AggFunc::Count,
                    grain: Grain::root(),
                    arg: None,
                    filter: Some(c),
                    ty: Type::Integer,
                });
                let all = self.add_measure(Measure {
                    func: AggFunc::Count,
                    grain: Grain::root(),
                    arg: None,
                    filter: None,
                    ty: Type::Integer,
                });
                return Ok((ratio(hit, all), Type::Number));
            }
            "conversion" => {
                if self.subject.id != EntityId::Applications {
                    return Err(err(
                        "`conversion` measures applications; report on applications",
                        span,
                    ));
                }
                let [from, to] = args else {
                    return Err(err(
                        "`conversion` takes two stages: `conversion(\"Phone Screen\", \"Onsite\")`",
                        span,
                    ));
                };
                let (_, a) = self.stage_ref(from)?;
                let (_, b) = self.stage_ref(to)?;
                let ra = Scalar::Reached {
                    path: Vec::new(),
                    stage: a,
                };
                let rb = Scalar::Reached {
                    path: Vec::new(),
                    stage: b,
                };
                let both = Scalar::Binary {
                    op: BinaryOp::And,
                    left: Box::new(ra.clone()),
                    right: Box::new(rb),
                    operand: Type::Bool,
                };
                let extra = match filter {
                    Some(f) => Some(
                        self.scalar(
                            f,
                            Row {
                                root: self.subject.id,
                                prefix: &[],
                                in_aggregate: false,
                            },
                        )?
                        .0,
                    ),
                    None => None,
                };
                let and = |c: Scalar| match &extra {
                    Some(e) => Scalar::Binary {
                        op: BinaryOp::And,
                        left: Box::new(e.clone()),
                        right: Box::new(c),
                        operand: Type::Bool,
                    },
                    None => c,
                };
                let hit = self.add_measure(Measure {
                    func: AggFunc::Count,
                    grain: Grain::root(),
                    arg: None,
                    filter: Some(and(both)),
                    ty: Type::Integer,
                });
                let all = self.add_measure(Measure {
                    func: AggFunc::Count,
                    grain: Grain::root(),
                    arg: None,
                    filter: Some(and(ra)),
                    ty: Type::Integer,
                });
                return Ok((ratio(hit, all), Type::Number));
            }
            _ => {}
        }
        // The grain: leading to-many relations of the first argument's path.
        let (grain, consumed_all) = match args.first().map(|a| &a.kind) {
            Some(ExprKind::Path { path }) => self.grain_of(path)?,
            Some(_) => (self.grain_in(&args[0])?, false),
            None => (Grain::root(), false),
        };
        let grain_entity = grain.entity(self.subject.id);
        let steps = grain.steps.clone();
        self.aggregate_path =
            (!steps.is_empty()).then(|| steps.iter().map(|r| r.name).collect::<Vec<_>>().join("."));
        let arg_row = Row {
            root: grain_entity,
            prefix: &steps,
            in_aggregate: true,
        };
        let filter_row = Row {
            root: grain_entity,
            prefix: &[],
            in_aggregate: true,
        };
        let filter = match filter {
            Some(f) => {
                let (s, ty) = self.scalar(f, filter_row)?;
                expect_bool(&ty, f.span, "an aggregate's `where`")?;
                Some(s)
            }
            None => None,
        };
        let one_arg = |what: &str| -> Result<&Expr, Diagnostic> {
            match args {
                [a] => Ok(a),
                _ => Err(err(format!("`{name}` takes {what}"), span)),
            }
        };
        let (func, arg, ty) = match name {
            "count" => {
                if args.len() > 1 {
                    return Err(err("`count` takes at most one argument", span));
                }
                match args.first() {
                    None => (AggFunc::Count, None, Type::Integer),
                    Some(_) if consumed_all => (AggFunc::Count, None, Type::Integer),
                    Some(a) => {
                        let (s, _) = match &a.kind {
                            ExprKind::Path { path } => self.path(path, arg_row, a.span, true)?,
                            _ => self.scalar(a, arg_row)?,
                        };
                        let f = if distinct {
                            AggFunc::CountDistinct
                        } else {
                            AggFunc::Count
                        };
                        (f, Some(s), Type::Integer)
                    }
                }
            }
            "sum" | "avg" | "min" | "max" | "median" => {
                let a = one_arg("one argument")?;
                if consumed_all {
                    return Err(err(
                        format!("`{name}` needs a field of these rows, not the rows themselves"),
                        a.span,
                    ));
                }
                let (s, ty) = self.scalar(a, arg_row)?;
                let (func, out) = match name {
                    "sum" => (AggFunc::Sum, ty.clone()),
                    "avg" => (AggFunc::Avg, Type::Number),
                    "median" => (
                        AggFunc::Percentile(self.param_id(Param::Number(0.5))),
                        Type::Number,
                    ),
                    "min" => (AggFunc::Min, ty.clone()),
                    _ => (AggFunc::Max, ty.clone()),
                };
                let ok = match func {
                    AggFunc::Min | AggFunc::Max => matches!(
                        ty,
                        Type::Integer | Type::Number | Type::Instant | Type::Date | Type::Text
                    ),
                    _ => ty.is_numeric(),
                };
                if !ok {
                    return Err(err(
                        format!(
                            "`{name}` needs {}, and `{}` is {}",
                            if matches!(func, AggFunc::Min | AggFunc::Max) {
                                "values that can be ordered"
                            } else {
                                "numbers"
                            },
                            display(a),
                            article(&ty)
                        ),
                        a.span,
                    ));
                }
                (func, Some(s), out)
            }
            "percentile" => {
                let [a, p] = args else {
                    return Err(err(
                        "`percentile` takes a field and a percentile: `percentile(time_to_hire, 90)`",
                        span,
                    ));
                };
                let pct = match &p.kind {
                    ExprKind::Literal {
                        value: Literal::Integer(i),
                    } => *i as f64,
                    ExprKind::Literal {
                        value: Literal::Float(f),
                    } => *f,
                    _ => f64::NAN,
                };
                if pct > 0.0 && pct < 1.0 {
                    return Err(err(
                        format!(
                            "percentiles are written from 0 to 100: `{pct}` is below the first"
                        ),
                        p.span,
                    )
                    .with_help(format!("did you mean `{}`?", pct * 100.0)));
                }
                if !(0.0..=100.0).contains(&pct) {
                    return Err(err("the percentile must be a number from 0 to 100", p.span));
                }
                let (s, ty) = self.scalar(a, arg_row)?;
                expect_numeric(&ty, a.span)?;
                (
                    AggFunc::Percentile(self.param_id(Param::Number(pct / 100.0))),
                    Some(s),
                    Type::Number,
                )
            }
            _ => return Err(err(format!("unknown aggregate `{name}`"), function.span)),
        };
        // `sum(distinct candidate.x)` and the like: each record reached once per group.
        let mut grain = grain;
        if distinct
            && name != "count"
            && let (Some(a), Some(written)) = (&arg, args.first())
        {
            grain.per = self.distinct_record(a, written, name, grain_entity)?;
        }
        let m = self.add_measure(Measure {
            func,
            grain,
            arg,
            filter,
            ty: ty.clone(),
        });
        Ok((Formula::Measure(m), ty))
    }

    /// The record a `distinct` aggregate takes once per group: the longest to-one walk that every
    /// value its argument reads goes through (`candidate` for `candidate.custom.years`,
    /// `job.department` for `job.department.name`). Refused when the argument reads the rows
    /// themselves (each is aggregated once already) or two records.
    fn distinct_record(
        &self,
        arg: &Scalar,
        written: &Expr,
        name: &str,
        rows: EntityId,
    ) -> Result<Path, Diagnostic> {
        let mut paths: Vec<Path> = Vec::new();
        arg.walk(&mut |s| match s {
            Scalar::Field { path, .. }
            | Scalar::Custom { path, .. }
            | Scalar::Key { path }
            | Scalar::Reached { path, .. } => paths.push(path.clone()),
            _ => {}
        });
        let mut common: Path = paths.first().cloned().unwrap_or_default();
        for p in &paths {
            let same = common
                .iter()
                .zip(p.iter())
                .take_while(|(a, b)| a == b)
                .count();
            common.truncate(same);
        }
        if !common.is_empty() {
            return Ok(common);
        }
        let shown = display(written);
        let rows = Entity::get(rows).name;
        let mut records: Vec<&str> = paths
            .iter()
            .filter_map(|p| p.first())
            .map(|r| r.name)
            .collect();
        records.dedup();
        if records.len() > 1 && paths.iter().all(|p| !p.is_empty()) {
            return Err(err(
                format!(
                    "`{name}(distinct ...)` takes each related record once, and `{shown}` reads several: {}",
                    records.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
                ),
                written.span,
            )
            .with_help("the values of a `distinct` aggregate must all belong to one related record"));
        }
        Err(err(
            format!(
                "`{name}(distinct ...)` takes each related record once, and `{shown}` belongs to the {rows} themselves, each aggregated once already"
            ),
            written.span,
        )
        .with_help(format!(
            "write `{name}({shown})`, or aggregate a related record's field, each record once: `avg(distinct candidate.custom.years_of_experience)`"
        )))
    }

    /// Splits a path into the grain (its leading to-many relations from the subject) and says
    /// whether the whole path was the grain (`count(applications)`).
    fn grain_of(&self, path: &[query_syntax::Ident]) -> Result<(Grain, bool), Diagnostic> {
        let mut entity = self.subject;
        let mut steps: Path = Vec::new();
        let mut seen_to_one = false;
        for seg in path {
            match entity.relation(&seg.name) {
                Some(rel) if rel.is_to_many() => {
                    if seen_to_one {
                        return Err(err(
                            format!("`{}` after a to-one step would count rows more than once", seg.name),
                            seg.span,
                        )
                        .with_help("report on that entity instead, or aggregate from the subject down its lists"));
                    }
                    steps.push(rel);
                    entity = Entity::get(rel.target);
                }
                Some(rel) => {
                    seen_to_one = true;
                    entity = Entity::get(rel.target);
                }
                None => break,
            }
        }
        // Only the leading to-many run is the grain.
        let lead = path
            .iter()
            .zip(&steps)
            .take_while(|(seg, rel)| seg.name == rel.name)
            .count();
        steps.truncate(lead);
        let all = lead == path.len() && lead > 0;
        Ok((
            Grain {
                steps,
                per: Vec::new(),
            },
            all,
        ))
    }

    /// The grain of an argument that is not a bare path: that of the first path inside it.
    fn grain_in(&self, expr: &Expr) -> Result<Grain, Diagnostic> {
        let mut found = None;
        visit_paths(expr, &mut |p| {
            if found.is_none() {
                found = Some(p.to_vec());
            }
        });
        match found {
            Some(p) => Ok(self.grain_of(&p)?.0),
            None => Ok(Grain::root()),
        }
    }
}

fn round_digits(args: &[Expr], span: Span) -> Result<i64, Diagnostic> {
    if args.len() > 2 {
        return Err(err("`round` takes at most 2 arguments", span));
    }
    match args.get(1).map(|a| &a.kind) {
        None => Ok(0),
        Some(ExprKind::Literal {
            value: Literal::Integer(d),
        }) if (0..=10).contains(d) => Ok(*d),
        Some(_) => Err(err(
            "`round`'s digits must be a whole number from 0 to 10",
            args[1].span,
        )),
    }
}

fn ratio(hit: usize, all: usize) -> Formula {
    Formula::Binary {
        op: BinaryOp::Div,
        left: Box::new(Formula::Measure(hit)),
        right: Box::new(Formula::Measure(all)),
    }
}

fn visit_paths(expr: &Expr, f: &mut dyn FnMut(&[query_syntax::Ident])) {
    match &expr.kind {
        ExprKind::Path { path } => f(path),
        ExprKind::Literal { .. } => {}
        ExprKind::Call { args, filter, .. } => {
            args.iter().for_each(|a| visit_paths(a, f));
            if let Some(w) = filter {
                visit_paths(w, f);
            }
        }
        ExprKind::Unary { expr, .. }
        | ExprKind::IsNull { expr, .. }
        | ExprKind::Within { expr, .. } => visit_paths(expr, f),
        ExprKind::Binary { left, right, .. } => {
            visit_paths(left, f);
            visit_paths(right, f);
        }
        ExprKind::In { expr, list, .. } => {
            visit_paths(expr, f);
            list.iter().for_each(|a| visit_paths(a, f));
        }
        ExprKind::Between {
            expr, low, high, ..
        } => {
            visit_paths(expr, f);
            visit_paths(low, f);
            visit_paths(high, f);
        }
        ExprKind::Text { expr, pattern, .. } => {
            visit_paths(expr, f);
            visit_paths(pattern, f);
        }
    }
}

fn has_literal_only(left: &Expr, right: &Expr) -> bool {
    matches!(left.kind, ExprKind::Literal { .. }) && matches!(right.kind, ExprKind::Literal { .. })
}

/// The first aggregate call inside `expr`, if any.
pub(crate) fn find_aggregate(expr: &Expr) -> Option<&Expr> {
    match &expr.kind {
        ExprKind::Call { function, .. } if AGGREGATES.contains(&function.name.as_str()) => {
            Some(expr)
        }
        ExprKind::Call { args, filter, .. } => args
            .iter()
            .find_map(find_aggregate)
            .or_else(|| filter.as_deref().and_then(find_aggregate)),
        ExprKind::Literal { .. } | ExprKind::Path { .. } => None,
        ExprKind::Unary { expr, .. }
        | ExprKind::IsNull { expr, .. }
        | ExprKind::Within { expr, .. } => find_aggregate(expr),
        ExprKind::Binary { left, right, .. } => {
            find_aggregate(left).or_else(|| find_aggregate(right))
        }
        ExprKind::In { expr, list, .. } => {
            find_aggregate(expr).or_else(|| list.iter().find_map(find_aggregate))
        }
        ExprKind::Between {
            expr, low, high, ..
        } => find_aggregate(expr)
            .or_else(|| find_aggregate(low))
            .or_else(|| find_aggregate(high)),
        ExprKind::Text { expr, pattern, .. } => {
            find_aggregate(expr).or_else(|| find_aggregate(pattern))
        }
    }
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::LtEq => BinaryOp::GtEq,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::GtEq => BinaryOp::LtEq,
        other => other,
    }
}

/// Whether values of `a` and `b` compare (never a map, not even with a map).
fn comparable(a: &Type, b: &Type) -> bool {
    if *a == Type::Map || *b == Type::Map {
        return false;
    }
    (a.is_numeric() && b.is_numeric())
        || (a.is_textual() && b.is_textual())
        || std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn article(ty: &Type) -> String {
    match ty {
        Type::Integer => "an integer".into(),
        Type::Instant => "a timestamp".into(),
        other => format!("a {}", other.name()),
    }
}

fn expect_bool(ty: &Type, span: Span, place: &str) -> Result<(), Diagnostic> {
    if *ty != Type::Bool {
        return Err(err(
            format!(
                "{place} needs a condition (true or false), found {}",
                article(ty)
            ),
            span,
        ));
    }
    Ok(())
}

fn expect_numeric(ty: &Type, span: Span) -> Result<(), Diagnostic> {
    if !ty.is_numeric() {
        return Err(
            err(format!("expected a number, found {}", article(ty)), span)
                .with_help("for days between two timestamps use `days_between(a, b)`"),
        );
    }
    Ok(())
}

/// A readable name for an unnamed column: the expression as written, compactly.
pub(crate) fn display(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Path { path } => path
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("."),
        ExprKind::Call {
            function,
            distinct,
            args,
            filter,
        } => {
            let mut s = format!("{}(", function.name);
            if *distinct {
                s.push_str("distinct ");
            }
            s.push_str(&args.iter().map(display).collect::<Vec<_>>().join(", "));
            if filter.is_some() {
                s.push_str(if args.is_empty() {
                    "where ..."
                } else {
                    " where ..."
                });
            }
            s.push(')');
            s
        }
        ExprKind::Literal { value } => match value {
            Literal::Null => "null".into(),
            Literal::Bool(b) => b.to_string(),
            Literal::Integer(i) => i.to_string(),
            Literal::Float(f) => f.to_string(),
            Literal::String(s) => format!("{s:?}"),
            Literal::Date(d) | Literal::Timestamp(d) => d.clone(),
            Literal::Today => "today".into(),
        },
        ExprKind::Binary { op, left, right } => {
            format!("{} {} {}", display(left), op.symbol(), display(right))
        }
        ExprKind::Unary {
            op: UnaryOp::Not,
            expr,
        } => format!("not {}", display(expr)),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            expr,
        } => format!("-{}", display(expr)),
        _ => "expression".into(),
    }
}

impl crate::demographics::Resolve for Resolver<'_> {
    fn subject(&self) -> EntityId {
        self.subject.id
    }

    fn resolve_path(
        &mut self,
        path: &[query_syntax::Ident],
        span: Span,
    ) -> Result<Scalar, Diagnostic> {
        let root = Row {
            root: self.subject.id,
            prefix: &[],
            in_aggregate: false,
        };
        let was = self.demographic_key;
        self.demographic_key = true;
        let out = self.path(path, root, span, true);
        self.demographic_key = was;
        out.map(|(s, _)| s)
    }
}

/// Whether `expr` reads an email field (`email`, `candidate.email`, `author.email`): `=` and
/// `!=` compare emails regardless of case. A custom field named `email` is not one.
fn is_email(expr: &Expr) -> bool {
    if !matches!(expr.kind, ExprKind::Path { .. }) {
        return false;
    }
    let text = display(expr);
    (text == "email" || text.ends_with(".email"))
        && !text.starts_with("custom.")
        && !text.contains(".custom.")
}
