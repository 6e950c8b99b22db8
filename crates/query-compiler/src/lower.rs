//! Lowering: the typed [`Ir`] to a SQL AST for one dialect.
//!
//! The shape of every statement:
//! - each *grain* (the subject's rows, or the rows one to-many walk away such as a job's
//!   applications or their interviews) is aggregated grouped by the report's group keys. Rows of
//!   a grain belong to exactly one subject row, so nothing is counted twice, whatever mix of
//!   grains a report asks for. Grains are computed in *units*, one CTE `g0`, `g1`, ... each: the
//!   subject's grain; a family per first list (`applications`) that also holds the lists one step
//!   below it (`applications.interviews`) when their measures decompose (count, sum, min, max,
//!   avg): those are pre-aggregated per parent row (`p1`, ...: one row per application) and
//!   joined to the parent rows, so the parent table is read once and nothing multiplies; when
//!   every measure of a family decomposes, each list is instead aggregated per subject row on
//!   its own, reaching the subject by a declared shortcut (`catalog::SHORTCUTS`) or by its own
//!   lists reversed, and joined to the subject (one row each); a grain of distinct records
//!   (`avg(distinct candidate.x)`, [`Grain::per`]) alone, in two steps: one row per group and
//!   record (`p<n>`), then the aggregates over those rows; any other grain alone;
//! - with group keys, the units are stacked (`UNION ALL`) and grouped again, which matches NULL
//!   keys and hashes; without, they are single rows joined side by side. The final select
//!   computes formulas and applies `having`, `order by` (ties broken by the group keys) and
//!   `limit`; a report grouped by demographics gets one more column, last, not in
//!   [`crate::Compiled::columns`]: its hidden measure (distinct candidates per group, named
//!   [`CANDIDATES_COLUMN`]), for [`crate::suppress()`];
//! - `reached(kind(...))` reads the store's per-application bitmask `application_stage_kinds`;
//!   `reached("name")` one `reach` CTE over the stage history per statement; `left_at` and
//!   `days_in_stage` read the store's derived `stage_transitions.left_at`;
//! - every table reference is scoped to the org (`org_id = $1`) and to-one relations are joined
//!   only when used (join pruning), on the org-led keys the store indexes; only the parameters
//!   the statement uses are bound.
//!
//! The viewer's [`Guard`] restricts what a statement reads, on top of the org scope (which the
//! compiler adds itself whatever the guard says). *Row filters*: every reference to an entity's
//! table gets `guard.rows(entity)` bound to its alias (a subject's or pre-aggregation's FROM: in
//! the WHERE; a to-one join, extension or current offer: in the ON, and the join becomes a LEFT
//! join whose alias may be absent, since the foreign key no longer guarantees a visible row; a
//! to-many hop: in its ON; the newer-version test of current offers: in its subquery;
//! [`Visibility::None`] is `FALSE`). A row below a hidden row is never reached: to-many walks
//! filter every hop, per-parent partial aggregates join visible parents only, a declared
//! shortcut (`catalog::SHORTCUTS`) is taken only when every entity it skips or passes is entirely
//! visible, and a to-one key (`count(distinct application.job)`) reads the filtered target's key
//! rather than the foreign key when the target is filtered. `application_stage_kinds` and the
//! `reach` CTE are facts of an application and are only joined to a (filtered) application row.
//! *Masks*: a restricted field (`group != Plain`, sensitive custom fields) reads
//! `guard.fields(owner, group)` at row level on its owner's alias, before anything filters,
//! groups, orders or aggregates it: the value, NULL, or `CASE WHEN predicate THEN value END`.
//! Filters can only remove rows and masks only NULL values, so a guard narrows a report and
//! never widens it; each restriction placed is listed once in [`crate::Compiled::guarded`].

use std::cell::RefCell;
use std::rc::Rc;

use crate::catalog::{Entity, EntityId, Field, FieldGroup, Link, Relation, Source, Type};
use crate::ir::*;
use crate::sql::{
    Dialect, Join, JoinKind, Name, ParamType, Select, SqlExpr, TableSource, bind_row, indexed, name,
};
use query_syntax::BinaryOp;

/// What the viewer sees of an entity's rows, or of a restricted field group on those rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Visibility {
    /// Every row (of the org).
    All,
    /// No row.
    None,
    /// The rows for which this predicate holds. The predicate refers to the guarded row only
    /// through `SqlExpr::RowColumn(column)`; it is two-valued (never NULL). It may contain
    /// uncorrelated subqueries (`IN (SELECT ...)`, `EXISTS`) with their own aliases, which start
    /// with `z`. It holds no parameter of the report (`SqlExpr::Param`): a predicate that does
    /// is treated as [`Visibility::None`]; its values are literals (`Text`, `Int`, `Bool`) and
    /// `SqlExpr::Org`.
    Rows(SqlExpr),
}

/// What the viewer may see, asked at every table and field reference. The policy engine
/// implements it; [`OrgScope`] is the org boundary alone, which the compiler enforces itself on
/// every table reference whatever the guard says.
pub trait Guard {
    /// Which rows of `entity` the viewer sees.
    fn rows(&self, entity: EntityId) -> Visibility;
    /// On which of its visible rows the viewer sees a restricted field group (`group` is never
    /// `Plain`).
    fn fields(&self, entity: EntityId, group: FieldGroup) -> Visibility;
    /// Identifies the viewer's guard for caching compiled statements (`None` for OrgScope-like
    /// guards that never change).
    fn cache_key(&self) -> Option<String> {
        None
    }
    /// [`Guard::rows`] for a statement that reads a page (at most [`PAGE_ROWS`] rows in the
    /// subject's key order, no aggregation): the same rows, written with subqueries correlated
    /// to the row, which the database probes for the few rows it reads, rather than sets it
    /// builds in full before the first row (right for whole-org reports, seconds for a page).
    fn rows_in_page(&self, entity: EntityId) -> Visibility {
        self.rows(entity)
    }
    /// [`Guard::fields`] for a statement that reads a page (see [`Guard::rows_in_page`]).
    fn fields_in_page(&self, entity: EntityId, group: FieldGroup) -> Visibility {
        self.fields(entity, group)
    }
    /// Whether every row of `from` the viewer sees references, through its foreign key
    /// `column`, only rows the viewer sees (the guard proved it from its policies): the compiler
    /// then joins the target from a visible row without the target's row filter.
    fn implied(&self, from: EntityId, column: &str) -> bool {
        let _ = (from, column);
        false
    }
}

/// The most rows a statement may read to be a page ([`Guard::rows_in_page`]).
pub const PAGE_ROWS: u64 = 1000;

/// Whether a report reads a page: rows (no aggregation), a limit of at most [`PAGE_ROWS`], in
/// the order of the subject's key (the database walks its index and stops at the limit).
pub fn reads_a_page(ir: &Ir) -> bool {
    matches!(ir.shape, Shape::Rows)
        && ir.measures.is_empty()
        && ir.limit.is_some_and(|n| n <= PAGE_ROWS) && ir.order.iter().all(|o| {
        matches!(
            &o.value,
            OutputValue::Row(Scalar::Field { path, field }) if path.is_empty() && field.name == "id"
        )
    })
}

/// Everything in the org is visible.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrgScope;

impl Guard for OrgScope {
    fn rows(&self, _: EntityId) -> Visibility {
        Visibility::All
    }
    fn fields(&self, _: EntityId, _: FieldGroup) -> Visibility {
        Visibility::All
    }
}

/// A restriction a viewer's guard placed in a statement: a row filter (`group` is `None`) or a
/// mask of a field group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Guarded {
    pub entity: EntityId,
    pub group: Option<FieldGroup>,
    pub visibility: GuardKind,
}

/// How a [`Guarded`] entity or field group is restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardKind {
    /// Nothing is visible.
    None,
    /// Some rows are visible (a predicate).
    Rows,
    /// Some rows are visible, and the statement reaches them only from rows whose own filter
    /// proves them visible ([`Guard::implied`]): no filter of their own is placed.
    Implied,
}

/// Lowers a resolved report to one SQL statement and the parameters it binds (after the org):
/// those of the report that the statement uses, numbered in order.
pub fn lower(ir: &Ir, dialect: Dialect, guard: &dyn Guard) -> (Select, Vec<Param>) {
    let (select, params, _) = lower_guarded(ir, dialect, guard);
    (select, params)
}

/// [`lower`], and the restrictions the guard placed in the statement (entities and field groups
/// not entirely visible, one per (entity, group), in first-use order).
pub fn lower_guarded(
    ir: &Ir,
    dialect: Dialect,
    guard: &dyn Guard,
) -> (Select, Vec<Param>, Vec<Guarded>) {
    let (mut select, guarded) = lower_all(ir, dialect, guard);
    // Some parameters only shape the SQL (a stage kind becomes a bit): bind only those used.
    let mut used = vec![false; ir.params.len()];
    crate::sql::visit_params(&mut select, &mut |id| {
        if let Some(u) = used.get_mut(id.0) {
            *u = true;
        }
    });
    if used.iter().all(|u| *u) {
        // The common case: nothing to renumber, no second walk over the statement.
        return (select, ir.params.clone(), guarded);
    }
    let mut renumber = Vec::with_capacity(ir.params.len());
    let mut params = Vec::new();
    for (p, is_used) in ir.params.iter().zip(&used) {
        renumber.push(params.len());
        if *is_used {
            params.push(p.clone());
        }
    }
    crate::sql::visit_params(&mut select, &mut |id| {
        *id = ParamId(renumber.get(id.0).copied().unwrap_or(id.0))
    });
    (select, params, guarded)
}

fn lower_all(ir: &Ir, dialect: Dialect, guard: &dyn Guard) -> (Select, Vec<Guarded>) {
    // Which stages `reached` asks about, and whether time in stage is needed: both are computed
    // once per statement, set-based, rather than per row.
    let mut stages: Vec<StageRef> = Vec::new();
    ir.walk_scalars(&mut |s| {
        if let Scalar::Reached {
            stage: stage @ StageRef::Name(_),
            ..
        } = s
            && !stages.contains(stage)
        {
            stages.push(stage.clone());
        }
    });
    let mut lower = Lower {
        ir,
        d: dialect,
        guard,
        next: 0,
        stages: stages.clone(),
        guarded: Vec::new(),
        page: reads_a_page(ir),
        asked: RefCell::new(Vec::new()),
    };
    let mut select = lower.report();
    let mut ctes = Vec::new();
    if !stages.is_empty() {
        ctes.push((Name::new(REACH), reach_cte(&stages)));
    }
    ctes.append(&mut select.ctes);
    select.ctes = ctes;
    (select, lower.guarded)
}

/// The name of the hidden last column of a report split by demographics (no output name can
/// start with `#`).
pub const CANDIDATES_COLUMN: &str = "#candidates";

/// The CTE of one row per group and candidate of a report over demographics (`Lower::candidate_rows`).
const CANDIDATE_ROWS: &str = "candidate_rows";
/// The CTE of a report over demographics' partial cells per group and bucket of the population
/// sketch (`Lower::candidate_rows`).
const CANDIDATE_CELLS: &str = "candidate_cells";
/// The CTE of how many groups (by the report's other keys, over the org's rows whatever its
/// filter) each candidate is in, and the CTE of those rows.
const MULTIPLICITY: &str = "multiplicity";
const MULTIPLICITY_ROWS: &str = "multiplicity_rows";
/// The candidate's key in [`CANDIDATE_ROWS`]: `id`, so that its rows join as candidates' rows.
const CANDIDATE_KEY: &str = "id";

/// The store's table of the stage kinds each application reached (a bitmask).
const KINDS: &str = "application_stage_kinds";
/// The CTE with, per application, one 0/1 column per stage name that `reached` asks about.
const REACH: &str = "reach";

fn reach_cte(stages: &[StageRef]) -> Select {
    let (t, st) = ("t", "st");
    let mut columns = vec![(col(t, "application_id"), Name::new("application_id"))];
    for (k, stage) in stages.iter().enumerate() {
        let (column, id) = match stage {
            StageRef::Name(id) => ("name", *id),
            StageRef::Kind(id) => ("kind", *id),
        };
        let hit = SqlExpr::Case {
            whens: vec![(
                SqlExpr::eq(col(st, column), SqlExpr::Param(id, ParamType::Text)),
                SqlExpr::Int(1),
            )],
            otherwise: Some(Box::new(SqlExpr::Int(0))),
        };
        columns.push((
            SqlExpr::Agg {
                func: "max",
                distinct: false,
                arg: Some(Box::new(hit)),
            },
            REACH_COLUMNS[k.min(REACH_COLUMNS.len() - 1)].into(),
        ));
    }
    Select {
        columns,
        from: Some((TableSource::Table("stage_transitions"), t.into())),
        joins: vec![Join {
            kind: JoinKind::Inner,
            source: TableSource::Table("stages"),
            alias: st.into(),
            on: SqlExpr::and(
                SqlExpr::eq(col(st, "org_id"), col(t, "org_id")),
                SqlExpr::eq(col(st, "id"), col(t, "to_stage_id")),
            ),
        }],
        filter: Some(SqlExpr::eq(col(t, "org_id"), SqlExpr::Org)),
        group_by: vec![col(t, "application_id")],
        ..Default::default()
    }
}

/// Column names of the `reach` CTE (a report names at most this many stages in `reached`).
const REACH_COLUMNS: &[&str] = &[
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15",
];

/// The source of a table reference.
fn table_source(table: &'static str) -> TableSource {
    TableSource::Table(table)
}

/// A measure's place and how it is finished from a per-parent CTE's alias.
type Finished = (usize, Box<dyn Fn(&str) -> SqlExpr>);

struct Lower<'a> {
    ir: &'a Ir,
    d: Dialect,
    guard: &'a dyn Guard,
    next: usize,
    /// The stages of `reached`, in the order of the `reach` CTE's columns.
    stages: Vec<StageRef>,
    /// The restrictions placed so far (for [`crate::Compiled::guarded`]).
    guarded: Vec<Guarded>,
    /// The statement reads a page: filters and masks in their page form.
    page: bool,
    /// The guard's row filters asked so far, per (entity, page form), already `checked`: a
    /// filter is a tree, and copying it at every question the compiler asks (is every row
    /// visible, is this reference implied, which columns does it read) cost more than the rest
    /// of compiling a report of many references.
    asked: RefCell<Vec<(EntityId, bool, Rc<Visibility>)>>,
}

/// The tables of one SELECT: the root and the joins made so far, each to-one join made once.
struct Tables {
    joins: Vec<Join>,
    made: Vec<(Name, &'static str, Name)>,
    /// Aliases whose row may be absent (left-joined).
    nullable: Vec<Name>,
}

impl Tables {
    fn new() -> Tables {
        Tables {
            joins: Vec::new(),
            made: Vec::new(),
            nullable: Vec::new(),
        }
    }
}

fn col(alias: &str, c: &'static str) -> SqlExpr {
    SqlExpr::col(alias, c)
}

fn key(entity: EntityId) -> &'static str {
    Entity::get(entity).key[0]
}

/// A guard's answer as the compiler uses it: a predicate holding a parameter of the report (which
/// renumbering would change) is refused as hiding everything.
/// A stretch of a to-one path taken by a column the row stores (see [`Lower::stored_key`]).
struct StoredKey {
    column: &'static str,
    /// How many relations of the path it stands for.
    hops: usize,
    /// The entities the path passes that need a filter (applied to the row's column).
    passed: Vec<EntityId>,
    target: EntityId,
    /// Whether the target needs its own filter (not when the viewer sees every target row, or
    /// the rows before it prove it visible).
    target_filtered: bool,
}

impl StoredKey {
    /// Whether the row's column names a visible target by itself: nothing to filter.
    fn unfiltered(&self) -> bool {
        self.passed.is_empty() && !self.target_filtered
    }
}

/// The columns of its row a guard predicate reads (`RowColumn`s, also inside subqueries).
fn row_columns(p: &SqlExpr) -> Vec<&'static str> {
    let mut p = p.clone();
    let mut out: Vec<&'static str> = Vec::new();
    crate::sql::walk_expr_mut(&mut p, &mut |e| {
        if let SqlExpr::RowColumn(c) = e
            && !out.contains(c)
        {
            out.push(c);
        }
    });
    out
}

fn checked(v: Visibility) -> Visibility {
    match v {
        Visibility::Rows(p) if crate::sql::has_params(&p) => Visibility::None,
        v => v,
    }
}

/// The disjunction of memberships a page can be driven from ([`Lower::page_driver`]): the
/// first conjunct of `p` (or `p` itself) that is an `OR` of two or more memberships of a column
/// of the row in a set, `RowColumn(c) IN (SELECT k ...)` or `RowColumn(c) = ANY(ARRAY(SELECT
/// k ...))`, each set one plain select of one column (no grouping, union, CTE or limit). Each
/// as (column, the set's select), and the other conjuncts of `p`.
#[allow(clippy::type_complexity)]
fn driving_members(p: &SqlExpr) -> Option<(Vec<(&'static str, &Select)>, Vec<&SqlExpr>)> {
    fn terms<'e>(e: &'e SqlExpr, op: &str, out: &mut Vec<&'e SqlExpr>) {
        match e {
            SqlExpr::Binary(o, operands) if *o == op => {
                terms(&operands.0, op, out);
                terms(&operands.1, op, out);
            }
            e => out.push(e),
        }
    }
    fn member(e: &SqlExpr) -> Option<(&'static str, &Select)> {
        let (x, set) = match e {
            SqlExpr::InSelect(x, set, false) => (x.as_ref(), set.as_ref()),
            SqlExpr::Binary(op, operands) if *op == "=" => match &operands.1 {
                SqlExpr::Func("ANY", args) => match args.as_slice() {
                    [SqlExpr::Func("ARRAY", inner)] => match inner.as_slice() {
                        [SqlExpr::Subquery(set)] => (&operands.0, set.as_ref()),
                        _ => return None,
                    },
                    _ => return None,
                },
                _ => return None,
            },
            _ => return None,
        };
        let SqlExpr::RowColumn(column) = x else {
            return None;
        };
        let plain = set.columns.len() == 1
            && set.from.is_some()
            && set.group_by.is_empty()
            && set.having.is_none()
            && set.union_all.is_empty()
            && set.ctes.is_empty()
            && set.order_by.is_empty()
            && set.limit.is_none();
        plain.then_some((*column, set))
    }
    let mut conjuncts = Vec::new();
    terms(p, "AND", &mut conjuncts);
    let (i, members) = conjuncts.iter().enumerate().find_map(|(i, c)| {
        let mut disjuncts = Vec::new();
        terms(c, "OR", &mut disjuncts);
        if disjuncts.len() < 2 {
            return None;
        }
        let members: Option<Vec<_>> = disjuncts.into_iter().map(member).collect();
        members.map(|m| (i, m))
    })?;
    conjuncts.remove(i);
    Some((members, conjuncts))
}

/// The operands of `e`'s top-level `AND`s (`e` itself when it is no `AND`).
fn conjuncts(e: SqlExpr) -> Vec<SqlExpr> {
    match e {
        SqlExpr::Binary("AND", operands) => {
            let (l, r) = *operands;
            let mut out = conjuncts(l);
            out.extend(conjuncts(r));
            out
        }
        e => vec![e],
    }
}

/// Whether `e` reads nothing of `alias` but its column `key` (also inside subqueries), and
/// nothing of the row a policy predicate guards.
fn reads_only(e: &SqlExpr, alias: &Name, key: &str) -> bool {
    let mut only = true;
    let mut copy = e.clone();
    crate::sql::walk_expr_mut(&mut copy, &mut |e| match e {
        SqlExpr::Column(a, c) if a == alias => only &= *c == key,
        SqlExpr::Ref(a, _) if a == alias => only = false,
        SqlExpr::RowColumn(_) => only = false,
        _ => {}
    });
    only
}

/// The predicate that keeps the visible rows at `alias`; `None` when every row is visible.
fn keep(v: &Visibility, alias: &str) -> Option<SqlExpr> {
    match v {
        Visibility::All => None,
        Visibility::None => Some(SqlExpr::Bool(false)),
        Visibility::Rows(p) => Some(bind_row(p, alias)),
    }
}

impl Lower<'_> {
    /// Notes a restriction for [`crate::Compiled::guarded`] (once per entity and group).
    fn record(&mut self, entity: EntityId, group: Option<FieldGroup>, v: &Visibility) {
        let visibility = match v {
            Visibility::All => return,
            Visibility::None => GuardKind::None,
            Visibility::Rows(_) => GuardKind::Rows,
        };
        self.record_kind(entity, group, visibility);
    }

    fn record_kind(&mut self, entity: EntityId, group: Option<FieldGroup>, visibility: GuardKind) {
        if let Some(g) = self
            .guarded
            .iter_mut()
            .find(|g| g.entity == entity && g.group == group)
        {
            // A filter placed anywhere outranks one implied elsewhere.
            if g.visibility == GuardKind::Implied {
                g.visibility = visibility;
            }
        } else {
            self.guarded.push(Guarded {
                entity,
                group,
                visibility,
            });
        }
    }

    /// The guard's row filter of `entity` (in its page form when `page`), `checked`; asked of
    /// the guard once per compile.
    fn visible(&self, entity: EntityId, page: bool) -> Rc<Visibility> {
        if let Some((_, _, v)) = self
            .asked
            .borrow()
            .iter()
            .find(|(e, p, _)| *e == entity && *p == page)
        {
            return v.clone();
        }
        let v = Rc::new(checked(if page {
            self.guard.rows_in_page(entity)
        } else {
            self.guard.rows(entity)
        }));
        self.asked.borrow_mut().push((entity, page, v.clone()));
        v
    }

    /// The row filter of `entity` placed on its table reference `alias` (`None`: every row).
    fn row_filter(&mut self, entity: EntityId, alias: &str) -> Option<SqlExpr> {
        let v = self.visible(entity, self.page);
        self.record(entity, None, &v);
        keep(&v, alias)
    }

    /// Whether the viewer sees every row of `entity` (asked before choosing a plan).
    fn sees_all(&self, entity: EntityId) -> bool {
        matches!(*self.visible(entity, false), Visibility::All)
    }

    /// Whether the target of `rel` from a visible row of `from` is visible without a filter of
    /// its own: the guard proved it ([`Guard::implied`]) and the target is filtered (not hidden
    /// altogether, which stays `FALSE`).
    fn implied(&self, from: EntityId, rel: &Relation) -> bool {
        match rel.link {
            Link::ToOne { local, .. } => {
                matches!(*self.visible(rel.target, false), Visibility::Rows(_))
                    && self.guard.implied(from, local)
            }
            _ => false,
        }
    }

    /// What the viewer sees of a restricted field group of `entity` (recorded as placed).
    fn group_visibility(&mut self, entity: EntityId, group: FieldGroup) -> Visibility {
        let v = checked(if self.page {
            self.guard.fields_in_page(entity, group)
        } else {
            self.guard.fields(entity, group)
        });
        self.record(entity, Some(group), &v);
        v
    }

    /// Whether the viewer sees every row's values of a field group of `entity` (asked before
    /// choosing a plan; nothing recorded).
    fn sees_group(&self, entity: EntityId, group: FieldGroup) -> bool {
        group == FieldGroup::Plain
            || matches!(checked(self.guard.fields(entity, group)), Visibility::All)
    }

    /// For a list that is the other end of a to-one relation of a restricted field group (a
    /// source's `applications`, through their `source_id`): the predicate that keeps the list's
    /// rows at `alias` whose group the viewer sees, so that a masked relation is not followed
    /// from its other end either. `None` for any other list, or when the viewer sees the group
    /// on every row.
    fn list_mask(&mut self, child: EntityId, remote: &str, alias: &str) -> Option<SqlExpr> {
        let up = Entity::get(child)
            .relations
            .iter()
            .find(|r| matches!(r.link, Link::ToOne { local, .. } if local == remote))?;
        match crate::catalog::relation_group(child, up.name) {
            FieldGroup::Plain => None,
            group => {
                let v = self.group_visibility(child, group);
                keep(&v, alias)
            }
        }
    }

    /// A restricted field's value on the row at `alias`: itself, NULL, or NULL on the rows where
    /// the viewer does not see its group.
    fn mask(&mut self, entity: EntityId, group: FieldGroup, alias: &str, e: SqlExpr) -> SqlExpr {
        if group == FieldGroup::Plain {
            return e;
        }
        let v = self.group_visibility(entity, group);
        match v {
            Visibility::All => e,
            // A NULL of the field's type (a bare NULL is `unknown` to PostgreSQL, which refuses
            // `sum(NULL)`, `GROUP BY NULL` and a UNION of it with numbers).
            Visibility::None => SqlExpr::Case {
                whens: vec![(SqlExpr::Bool(false), e)],
                otherwise: None,
            },
            Visibility::Rows(p) => SqlExpr::Case {
                whens: vec![(bind_row(&p, alias), e)],
                otherwise: None,
            },
        }
    }

    fn alias(&mut self, prefix: &str) -> Name {
        self.next += 1;
        indexed(prefix, self.next)
    }

    fn param(&self, id: ParamId) -> SqlExpr {
        let ty = match &self.ir.params[id.0] {
            Param::Text(_) => ParamType::Text,
            Param::Integer(_) => ParamType::Integer,
            Param::Number(_) => ParamType::Number,
            Param::Bool(_) => ParamType::Bool,
            Param::Instant(_) => ParamType::Instant,
            Param::Date(_) => ParamType::Date,
            Param::Relative { date: true, .. } | Param::Today { date: true } => ParamType::Date,
            Param::Relative { date: false, .. } | Param::Today { date: false } => {
                ParamType::Instant
            }
        };
        SqlExpr::Param(id, ty)
    }

    /// Joins a to-one relation from `base` (once per SELECT) and returns the target's alias.
    fn join(
        &mut self,
        tables: &mut Tables,
        base: &str,
        base_entity: EntityId,
        rel: &'static Relation,
    ) -> Name {
        if let Some((_, _, alias)) = tables
            .made
            .iter()
            .find(|(b, r, _)| b == base && *r == rel.name)
        {
            return alias.clone();
        }
        let target = Entity::get(rel.target);
        let alias = self.alias("t");
        let same_org = SqlExpr::eq(col(&alias, "org_id"), col(base, "org_id"));
        let on = match rel.link {
            Link::ToOne { local, .. } => SqlExpr::and(
                same_org,
                SqlExpr::eq(col(&alias, target.key[0]), col(base, local)),
            ),
            Link::Extension { remote } | Link::ToMany { remote } => {
                let on = SqlExpr::and(
                    same_org,
                    SqlExpr::eq(col(&alias, remote), col(base, key(base_entity))),
                );
                match self.list_mask(rel.target, remote, &alias) {
                    Some(m) => SqlExpr::and(on, m),
                    None => on,
                }
            }
            Link::CurrentOffer => {
                let later = self.alias("o");
                let mut newer = vec![
                    SqlExpr::eq(col(&later, "org_id"), col(&alias, "org_id")),
                    SqlExpr::eq(col(&later, "application_id"), col(&alias, "application_id")),
                    SqlExpr::bin(">", col(&later, "version"), col(&alias, "version")),
                ];
                // The current offer is the newest the viewer sees.
                newer.extend(self.row_filter(EntityId::Offers, &later));
                let newer = Select {
                    columns: vec![(SqlExpr::Int(1), "newer".into())],
                    from: Some((TableSource::Table("offers"), later.clone())),
                    filter: SqlExpr::all(newer),
                    ..Default::default()
                };
                SqlExpr::all(vec![
                    same_org,
                    SqlExpr::eq(col(&alias, "application_id"), col(base, "id")),
                    SqlExpr::Not(Box::new(SqlExpr::Exists(Box::new(newer)))),
                ])
                .unwrap_or(SqlExpr::Null)
            }
        };
        // The target's row filter: a referencing row whose target the viewer does not see stays,
        // with the target's fields NULL. None when the base row (visible: every table reference
        // has its filter) proves its target visible.
        let filter = if self.implied(base_entity, rel) {
            self.record_kind(rel.target, None, GuardKind::Implied);
            None
        } else {
            self.row_filter(rel.target, &alias)
        };
        // A relation of a restricted field group (an application's source): the base rows
        // where the viewer does not see the group reach nothing.
        let group = crate::catalog::relation_group(base_entity, rel.name);
        let masked = match group {
            FieldGroup::Plain => None,
            group => keep(&self.group_visibility(base_entity, group), base),
        };
        let filtered = filter.is_some() || masked.is_some();
        let on = match filter {
            Some(f) => SqlExpr::and(on, f),
            None => on,
        };
        let on = match masked {
            Some(m) => SqlExpr::and(on, m),
            None => on,
        };
        // A required reference from a row that is there always finds its row (the foreign key
        // guarantees it): an inner join, which leaves the planner free to pick the join order.
        // Not when the target is filtered: the guarantee is gone.
        let required = matches!(rel.link, Link::ToOne { required: true, .. });
        let inner = required && !filtered && !tables.nullable.iter().any(|n| n == base);
        if !inner {
            tables.nullable.push(alias.clone());
        }
        tables.joins.push(Join {
            kind: if inner {
                JoinKind::Inner
            } else {
                JoinKind::Left
            },
            source: table_source(target.table),
            alias: alias.clone(),
            on,
        });
        tables.made.push((base.into(), rel.name, alias.clone()));
        alias
    }

    /// Walks a to-one path from `base`, joining as needed (a stored key instead of a stretch of
    /// the path where [`Lower::stored_key`] allows).
    fn walk(
        &mut self,
        tables: &mut Tables,
        base: &str,
        entity: EntityId,
        path: &Path,
    ) -> (Name, EntityId) {
        let mut alias = Name::new(base);
        let mut entity = entity;
        let mut at = 0;
        while let Some(rel) = path.get(at) {
            let rest = path.get(at..).unwrap_or_default();
            if let Some(stored) = self.stored_key(entity, rest) {
                alias = self.join_stored(tables, &alias, &stored);
                entity = stored.target;
                at += stored.hops;
                continue;
            }
            alias = self.join(tables, &alias, entity, rel);
            entity = rel.target;
            at += 1;
        }
        (alias, entity)
    }

    /// A stored key ([`crate::catalog::STORED_KEYS`]) that `path` from a row of `entity` starts
    /// with, when taking it is the same as the walk and saves joining filtered rows: some entity
    /// the walk passes is filtered, and every filter of those entities that a row before it does
    /// not prove ([`Guard::implied`]) reads no column of its row but the stored one (which holds
    /// the same key there), so it can be applied to the row's own column instead.
    fn stored_key(&self, entity: EntityId, path: &[&'static Relation]) -> Option<StoredKey> {
        let (_, names, column) = crate::catalog::STORED_KEYS.iter().find(|(row, names, _)| {
            *row == entity
                && names.len() <= path.len()
                && names.iter().zip(path).all(|(n, rel)| *n == rel.name)
        })?;
        let hops = path.get(..names.len())?;
        let (last, middle) = hops.split_last()?;
        let target = last.target;
        if middle.iter().all(|r| self.sees_all(r.target)) {
            return None;
        }
        // The entities passed that need a filter: not those the viewer sees entirely, nor those
        // a visible row before them proves visible (every row passed is visible: its filter is
        // applied, to the stored column, or implied).
        let mut passed: Vec<EntityId> = Vec::new();
        let mut from = entity;
        for rel in middle {
            if !self.sees_all(rel.target) && !self.implied(from, rel) {
                passed.push(rel.target);
            }
            from = rel.target;
        }
        passed.reverse();
        let target_filtered = !self.sees_all(target) && !self.implied(from, last);
        let readable = passed.iter().all(|e| match &*self.visible(*e, false) {
            Visibility::All | Visibility::None => true,
            Visibility::Rows(p) => row_columns(p).iter().all(|c| c == column),
        });
        readable.then_some(StoredKey {
            column,
            hops: names.len(),
            passed,
            target,
            target_filtered,
        })
    }

    /// Joins the end of a stored key by the row's own column (once per SELECT): a left join
    /// whose condition holds the target's filter and the filters of the entities passed, applied
    /// to the row's column.
    fn join_stored(&mut self, tables: &mut Tables, base: &str, stored: &StoredKey) -> Name {
        if let Some((_, _, alias)) = tables
            .made
            .iter()
            .find(|(b, r, _)| b == base && *r == stored.column)
        {
            return alias.clone();
        }
        let target = Entity::get(stored.target);
        let alias = self.alias("t");
        let mut on = vec![
            SqlExpr::eq(col(&alias, "org_id"), col(base, "org_id")),
            SqlExpr::eq(col(&alias, target.key[0]), col(base, stored.column)),
        ];
        if stored.target_filtered {
            on.extend(self.row_filter(stored.target, &alias));
        } else if !self.sees_all(stored.target) {
            self.record_kind(stored.target, None, GuardKind::Implied);
        }
        for e in &stored.passed {
            on.extend(self.row_filter(*e, base));
        }
        tables.nullable.push(alias.clone());
        tables.joins.push(Join {
            kind: JoinKind::Left,
            source: table_source(target.table),
            alias: alias.clone(),
            on: SqlExpr::all(on).unwrap_or(SqlExpr::Bool(false)),
        });
        tables
            .made
            .push((base.into(), stored.column, alias.clone()));
        alias
    }

    fn scalar(&mut self, s: &Scalar, tables: &mut Tables, base: &str, entity: EntityId) -> SqlExpr {
        let d = self.d;
        match s {
            Scalar::Field { path, field } => {
                let (alias, owner) = self.walk(tables, base, entity, path);
                let absent = tables.nullable.contains(&alias);
                self.field(field, &alias, owner, absent)
            }
            Scalar::Custom {
                path,
                param,
                sensitive,
                ty,
                ..
            } => {
                let (alias, owner) = self.walk(tables, base, entity, path);
                let value = d.custom_field(
                    col(&alias, "custom_fields"),
                    SqlExpr::Param(*param, ParamType::Text),
                    ty,
                );
                let group = if *sensitive {
                    FieldGroup::SensitiveCustom
                } else {
                    FieldGroup::Details
                };
                self.mask(owner, group, &alias, value)
            }
            Scalar::Key { path } => {
                let stored = self
                    .stored_key(entity, path)
                    .filter(|k| k.hops == path.len());
                match (stored, path.split_last()) {
                    // The row's own column names a visible target: no join.
                    (Some(k), _) if k.unfiltered() => {
                        for e in path.iter().map(|r| r.target) {
                            if !self.sees_all(e) {
                                self.record_kind(e, None, GuardKind::Implied);
                            }
                        }
                        col(base, k.column)
                    }
                    (Some(_), _) => {
                        let (alias, target) = self.walk(tables, base, entity, path);
                        col(&alias, key(target))
                    }
                    (None, None) => col(base, key(entity)),
                    (None, Some((last, rest))) => {
                        let rest: Path = rest.to_vec();
                        let (alias, parent) = self.walk(tables, base, entity, &rest);
                        match last.link {
                            // The foreign key names the target only when the viewer sees every
                            // target row (or the parent row proves it visible); otherwise the
                            // key of the joined (filtered) target.
                            Link::ToOne { local, .. }
                                if (self.sees_all(last.target) || self.implied(parent, last))
                                    && self.sees_group(
                                        parent,
                                        crate::catalog::relation_group(parent, last.name),
                                    ) =>
                            {
                                col(&alias, local)
                            }
                            _ => {
                                let target = self.join(tables, &alias, parent, last);
                                col(&target, key(last.target))
                            }
                        }
                    }
                }
            }
            Scalar::Param(id) => self.param(*id),
            Scalar::Not(inner) => SqlExpr::Not(Box::new(self.scalar(inner, tables, base, entity))),
            Scalar::Neg(inner) => SqlExpr::Neg(Box::new(self.scalar(inner, tables, base, entity))),
            Scalar::Binary {
                op,
                left,
                right,
                operand,
            } => {
                let l = self.scalar(left, tables, base, entity);
                let r = self.scalar(right, tables, base, entity);
                // Text compares by code point in both dialects, as it sorts (`sort_key`), so
                // that `name > "M"` agrees with `order by name` (keyset pages rely on it).
                let ordered = matches!(
                    op,
                    BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq
                ) && matches!(operand, Type::Text | Type::Enum(_) | Type::Select(_));
                let l = if ordered { d.sort_key(l, true) } else { l };
                binary(d, *op, l, r)
            }
            Scalar::In {
                expr,
                list,
                negated,
            } => {
                let e = self.scalar(expr, tables, base, entity);
                let items = list
                    .iter()
                    .map(|i| self.scalar(i, tables, base, entity))
                    .collect();
                SqlExpr::InList(Box::new(e), items, *negated)
            }
            Scalar::IsNull { expr, negated } => {
                SqlExpr::IsNull(Box::new(self.scalar(expr, tables, base, entity)), *negated)
            }
            Scalar::Text {
                op,
                expr,
                pattern,
                negated,
            } => {
                let e = self.scalar(expr, tables, base, entity);
                let p = self.scalar(pattern, tables, base, entity);
                let m = d.text_match(*op, e, p);
                if *negated {
                    SqlExpr::Not(Box::new(m))
                } else {
                    m
                }
            }
            Scalar::FoldedEq {
                left,
                right,
                negated,
            } => {
                let l = self.scalar(left, tables, base, entity);
                let r = self.scalar(right, tables, base, entity);
                let m = d.text_equal_folded(l, r);
                if *negated {
                    SqlExpr::Not(Box::new(m))
                } else {
                    m
                }
            }
            Scalar::ListContains {
                list,
                value,
                negated,
            } => {
                let l = self.scalar(list, tables, base, entity);
                let v = self.scalar(value, tables, base, entity);
                let m = d.list_contains(l, v);
                if *negated {
                    SqlExpr::Not(Box::new(m))
                } else {
                    m
                }
            }
            Scalar::Bucket {
                unit,
                expr,
                instant,
            } => {
                let e = self.scalar(expr, tables, base, entity);
                let zone = self
                    .ir
                    .zone_param
                    .map(|z| SqlExpr::Param(z, ParamType::Text));
                d.bucket(*unit, e, *instant, zone)
            }
            Scalar::DaysBetween { from, to, instant } => {
                let a = self.scalar(from, tables, base, entity);
                let b = self.scalar(to, tables, base, entity);
                d.days_between(a, b, *instant)
            }
            Scalar::Round { expr, digits } => {
                let e = self.scalar(expr, tables, base, entity);
                d.round(e, *digits)
            }
            Scalar::Coalesce(items) => SqlExpr::Func(
                "COALESCE",
                items
                    .iter()
                    .map(|i| self.scalar(i, tables, base, entity))
                    .collect(),
            ),
            Scalar::Reached {
                path,
                stage: StageRef::Kind(id),
            } => {
                // Stage kinds reached are kept by the store per application, as a bitmask.
                let (app, owner) = self.walk(tables, base, entity, path);
                let kinds = self.kinds_join(tables, &app);
                let bit = match &self.ir.params[id.0] {
                    Param::Text(kind) => domain::enums::StageKind::NAMES
                        .iter()
                        .position(|k| k == kind)
                        .map_or(0, |p| 1_i64 << p),
                    _ => 0,
                };
                let reached = SqlExpr::Func(
                    "COALESCE",
                    vec![col(&kinds, "reached_kinds"), SqlExpr::Int(0)],
                );
                let reached = SqlExpr::bin(
                    "<>",
                    SqlExpr::bin("&", reached, SqlExpr::Int(bit)),
                    SqlExpr::Int(0),
                );
                self.mask(owner, FieldGroup::StageHistory, &app, reached)
            }
            Scalar::Reached { path, stage } => {
                let (app, owner) = self.walk(tables, base, entity, path);
                let k = self.stages.iter().position(|x| x == stage).unwrap_or(0);
                let reach = self.reach_join(tables, &app);
                let reached = SqlExpr::eq(
                    SqlExpr::Func(
                        "COALESCE",
                        vec![
                            col(&reach, REACH_COLUMNS[k.min(REACH_COLUMNS.len() - 1)]),
                            SqlExpr::Int(0),
                        ],
                    ),
                    SqlExpr::Int(1),
                );
                self.mask(owner, FieldGroup::StageHistory, &app, reached)
            }
        }
    }

    /// Joins `application_stage_kinds` to an application (once per SELECT); returns its alias.
    fn kinds_join(&mut self, tables: &mut Tables, app: &str) -> Name {
        if let Some((_, _, alias)) = tables.made.iter().find(|(b, r, _)| b == app && *r == KINDS) {
            return alias.clone();
        }
        let alias = self.alias("k");
        tables.joins.push(Join {
            kind: JoinKind::Left,
            source: TableSource::Table(KINDS),
            alias: alias.clone(),
            on: SqlExpr::and(
                SqlExpr::eq(col(&alias, "org_id"), col(app, "org_id")),
                SqlExpr::eq(col(&alias, "application_id"), col(app, "id")),
            ),
        });
        tables.made.push((app.into(), KINDS, alias.clone()));
        alias
    }

    /// Joins the `reach` CTE to an application (once per SELECT) and returns its alias.
    fn reach_join(&mut self, tables: &mut Tables, app: &str) -> Name {
        if let Some((_, _, alias)) = tables.made.iter().find(|(b, r, _)| b == app && *r == REACH) {
            return alias.clone();
        }
        let alias = self.alias("r");
        tables.joins.push(Join {
            kind: JoinKind::Left,
            source: TableSource::Cte(REACH.into()),
            alias: alias.clone(),
            on: SqlExpr::eq(col(&alias, "application_id"), col(app, "id")),
        });
        tables.made.push((app.into(), REACH, alias.clone()));
        alias
    }

    fn field(
        &mut self,
        field: &'static Field,
        alias: &str,
        entity: EntityId,
        may_be_absent: bool,
    ) -> SqlExpr {
        let value = self.field_value(field, alias, may_be_absent);
        self.mask(entity, field.group, alias, value)
    }

    /// A field's value on the row at `alias`, unmasked.
    fn field_value(&mut self, field: &'static Field, alias: &str, may_be_absent: bool) -> SqlExpr {
        let d = self.d;
        match field.source {
            Source::Column(c) | Source::JsonList(c) => col(alias, c),
            Source::DaysBetween(a, b) => d.days_between(col(alias, a), col(alias, b), true),
            Source::MinutesBetween(a, b) => SqlExpr::bin(
                "*",
                d.days_between(col(alias, a), col(alias, b), true),
                SqlExpr::Float(1440.0),
            ),
            Source::RecommendationScore => SqlExpr::Case {
                whens: ["strong_no", "no", "yes", "strong_yes"]
                    .iter()
                    .zip(1..)
                    .map(|(r, n)| {
                        (
                            SqlExpr::eq(col(alias, "recommendation"), SqlExpr::Const(r)),
                            SqlExpr::Int(n),
                        )
                    })
                    .collect(),
                otherwise: None,
            },
            Source::StageKindRank => SqlExpr::Case {
                whens: domain::enums::StageKind::NAMES
                    .iter()
                    .zip(1..)
                    .map(|(k, n)| {
                        (
                            SqlExpr::eq(col(alias, "kind"), SqlExpr::Const(k)),
                            SqlExpr::Int(n),
                        )
                    })
                    .collect(),
                otherwise: None,
            },
            Source::CurrentOffer => {
                let later = self.alias("o");
                let mut newer = vec![
                    SqlExpr::eq(col(&later, "org_id"), col(alias, "org_id")),
                    SqlExpr::eq(col(&later, "application_id"), col(alias, "application_id")),
                    SqlExpr::bin(">", col(&later, "version"), col(alias, "version")),
                ];
                // Current among the versions the viewer sees.
                newer.extend(self.row_filter(EntityId::Offers, &later));
                let newer_absent = SqlExpr::Not(Box::new(SqlExpr::Exists(Box::new(Select {
                    columns: vec![(SqlExpr::Int(1), "newer".into())],
                    from: Some((TableSource::Table("offers"), later.clone())),
                    filter: SqlExpr::all(newer),
                    ..Default::default()
                }))));
                if !may_be_absent {
                    return newer_absent;
                }
                // Null, not true, when there is no offer at all (a left-joined row that is absent).
                SqlExpr::Case {
                    whens: vec![(
                        SqlExpr::IsNull(Box::new(col(alias, "id")), false),
                        SqlExpr::Null,
                    )],
                    otherwise: Some(Box::new(newer_absent)),
                }
            }
            Source::LeftStageAt => self.left_stage_at(alias),
            Source::DaysInStage => {
                let left = self.left_stage_at(alias);
                d.days_between(col(alias, "at"), left, true)
            }
        }
    }

    /// The time of the application's next transition after this one (derived by the store).
    fn left_stage_at(&mut self, alias: &str) -> SqlExpr {
        col(alias, "left_at")
    }

    /// The subject's table, scoped to the org and filtered by the report's `where`.
    fn subject_from(&mut self, tables: &mut Tables) -> (Name, Option<SqlExpr>) {
        let s = Name::new("s");
        let mut filter = vec![SqlExpr::eq(col(&s, "org_id"), SqlExpr::Org)];
        match self.page_driver(&s) {
            // The keys of the page's first visible rows, found from the filter's sets: every
            // one of them passes the filter (its branch's member makes the disjunction true,
            // the other conjuncts are in the branch), so the filter is not tested again.
            Some(driver) => {
                let v = self.visible(self.ir.subject, self.page);
                self.record(self.ir.subject, None, &v);
                filter.push(driver);
            }
            None => filter.extend(self.row_filter(self.ir.subject, &s)),
        }
        if let Some(f) = &self.ir.filter {
            filter.push(self.scalar(f, tables, &s, self.ir.subject));
        }
        (s, SqlExpr::all(filter))
    }

    fn report(&mut self) -> Select {
        match &self.ir.shape {
            Shape::Rows => self.rows(),
            Shape::Groups | Shape::Funnel { .. } => self.groups(),
        }
    }

    fn rows(&mut self) -> Select {
        let mut tables = Tables::new();
        let (s, filter) = self.subject_from(&mut tables);
        let subject = self.ir.subject;
        let mut columns = Vec::new();
        for o in &self.ir.outputs {
            if let OutputValue::Row(v) = &o.value {
                let e = self.scalar(v, &mut tables, &s, subject);
                columns.push((self.d.output(e, &o.ty), Name::new(&o.name)));
            }
        }
        let mut order_by = Vec::new();
        for o in &self.ir.order {
            if let OutputValue::Row(v) = &o.value {
                let e = self.scalar(v, &mut tables, &s, subject);
                order_by.push((self.d.sort_key(e, o.text), o.descending));
            }
        }
        // Ties broken by the subject's key, so both dialects return rows in one order.
        for k in Entity::get(subject).key {
            order_by.push((self.d.sort_key(col(&s, k), true), false));
        }
        Select {
            columns,
            from: Some((table_source(Entity::get(subject).table), s)),
            joins: tables.joins,
            filter,
            order_by,
            limit: self.ir.limit,
            ..Default::default()
        }
    }

    /// The keys of a page's rows found from the sets that make the viewer's row filter, when
    /// the filter is (or has as a conjunct) a disjunction of memberships of the row's own
    /// columns in sets (`job_id IN <the viewer's jobs> OR id IN <the applications they
    /// interview for>`, a hiring manager's), on PostgreSQL: `s.id = ANY(ARRAY(SELECT k FROM
    /// (branch UNION ALL ...) GROUP BY k ORDER BY k LIMIT n))`, one branch per set, each the
    /// set's rows joined `LATERAL` to the subject's first `n` rows after the cursor in the
    /// page's order whose column is that member (and which pass the filter's other conjuncts
    /// and the report's `where`). The database then reads, per member of each set, an index
    /// range of the column and the key (`applications_job_page`, migration 29) up to the limit,
    /// and the page's rows by key, instead of walking the key index over every row of the org
    /// to find the few the viewer sees (a hiring manager sees 0.1% of the applications on
    /// 1,000,000: about 48,000 rows per page). The rows are the same: every visible row's
    /// column is a member of one of the sets, so the page's first `n` visible rows are among
    /// the first `n` of the branches together; each key found passes the whole filter (its
    /// branch's member makes the disjunction true, the other conjuncts are tested in the branch),
    /// so the statement tests the keys in place of the filter, and keeps the `where`. A set of
    /// the key itself (the applications a hiring manager interviews for) holds at most one row
    /// per member, so its branch reads the members in the page's order instead, each once
    /// (`GROUP BY`), probes each one's row (the filter's other conjuncts, the `where`) and
    /// stops at the limit; the `where`'s conjuncts that read nothing but the key (the cursor)
    /// are applied to the members too, so that over an index of the set in key order (a user's
    /// seats by application, migration 34) the branch is one index range from the cursor of at
    /// most `n` members. `None` (the statement as it was) when the statement does not
    /// read a page, the dialect cannot (`Dialect::drives_pages_from_sets`), the filter has no
    /// such disjunction (a single set is already an index condition: `x = ANY(ARRAY(...))`), a
    /// member's column has no index in key order (`catalog::KEY_ORDERED_INDEXES`), or the
    /// report's `where` reads anything but the subject's row. Chosen from the filter's form and
    /// the declared indexes alone, never from the data.
    fn page_driver(&mut self, s: &Name) -> Option<SqlExpr> {
        if !self.page || !self.d.drives_pages_from_sets() {
            return None;
        }
        let limit = self.ir.limit?;
        let subject = self.ir.subject;
        let entity = Entity::get(subject);
        let &[key] = entity.key else {
            return None;
        };
        let visible = self.visible(subject, true);
        let Visibility::Rows(p) = &*visible else {
            return None;
        };
        let (members, others) = driving_members(p)?;
        // Each member's rows by an index range: the key's, or one the store keeps.
        let ordered = |column: &str| {
            column == key || crate::catalog::KEY_ORDERED_INDEXES.contains(&(subject, column))
        };
        if !members.iter().all(|(column, _)| ordered(column)) {
            return None;
        }
        let b = Name::new("pb");
        let mut conditions: Vec<SqlExpr> = others.iter().map(|c| bind_row(c, &b)).collect();
        if let Some(f) = &self.ir.filter {
            let mut own = Tables::new();
            let e = self.scalar(f, &mut own, &b, subject);
            if !own.joins.is_empty() {
                return None;
            }
            conditions.push(e);
        }
        // The page's order: the subject's key (`reads_a_page`), ascending or descending.
        let descending = self.ir.order.first().is_some_and(|o| o.descending);
        let mut branches = Vec::new();
        for (i, (column, set)) in members.into_iter().enumerate() {
            let mut branch = set.clone();
            let (member, _) = branch.columns.pop()?;
            let x = indexed("px", i);
            let rows = Select {
                columns: vec![(col(&b, key), Name::new(key))],
                from: Some((table_source(entity.table), b.clone())),
                filter: SqlExpr::all(
                    [
                        SqlExpr::eq(col(&b, "org_id"), SqlExpr::Org),
                        SqlExpr::eq(col(&b, column), member.clone()),
                    ]
                    .into_iter()
                    .chain(conditions.iter().cloned())
                    .collect(),
                ),
                order_by: vec![(self.d.sort_key(col(&b, key), true), descending)],
                limit: Some(limit),
                ..Default::default()
            };
            let lateral = |rows: Select| Join {
                kind: JoinKind::Inner,
                source: TableSource::Lateral(Box::new(rows)),
                alias: x.clone(),
                on: SqlExpr::Bool(true),
            };
            let found = vec![(SqlExpr::Ref(x.clone(), Name::new(key)), Name::new(key))];
            if column != key {
                branch.joins.push(lateral(rows));
                branch.columns = found;
                branches.push(branch);
                continue;
            }
            // A set of the key itself (the applications one interviews for): each member is
            // at most one row, so the branch reads the set's members in the page's order, each
            // once, probes their rows, and stops at the limit: `SELECT x.key FROM (SELECT
            // member AS key ... GROUP BY member) z JOIN LATERAL (row by key) x ORDER BY z.key
            // LIMIT n`. Over an index of the set in key order (migration 34: a user's seats by
            // application) that is one index range from the cursor on, the `where` applied to
            // the member when it reads nothing but the key (the cursor), so that the range
            // starts there instead of probing every member before it.
            let z = indexed("pz", i);
            let key_of_z = SqlExpr::Ref(z.clone(), Name::new(key));
            branch.columns = vec![(member.clone(), Name::new(key))];
            branch.group_by = vec![member];
            let rows = Select {
                filter: SqlExpr::all(
                    [
                        SqlExpr::eq(col(&b, "org_id"), SqlExpr::Org),
                        SqlExpr::eq(col(&b, key), key_of_z.clone()),
                    ]
                    .into_iter()
                    .chain(conditions.iter().cloned())
                    .collect(),
                ),
                order_by: Vec::new(),
                limit: None,
                ..rows
            };
            let mut from_cursor = Vec::new();
            if let Some(f) = &self.ir.filter {
                let mut own = Tables::new();
                let e = self.scalar(f, &mut own, &z, subject);
                if own.joins.is_empty() {
                    from_cursor = conjuncts(e)
                        .into_iter()
                        .filter(|c| reads_only(c, &z, key))
                        .collect();
                }
            }
            let ordered = Select {
                columns: found,
                from: Some((TableSource::Subquery(Box::new(branch)), z)),
                joins: vec![lateral(rows)],
                filter: SqlExpr::all(from_cursor),
                order_by: vec![(self.d.sort_key(key_of_z, true), descending)],
                limit: Some(limit),
                ..Default::default()
            };
            // Within a `UNION ALL` a branch's own order and limit need a subquery.
            let q = indexed("pq", i);
            branches.push(Select {
                columns: vec![(SqlExpr::Ref(q.clone(), Name::new(key)), Name::new(key))],
                from: Some((TableSource::Subquery(Box::new(ordered)), q)),
                ..Default::default()
            });
        }
        let mut union = branches.remove(0);
        union.union_all = branches;
        let k = Name::new("pk");
        let found = SqlExpr::Ref(k.clone(), Name::new(key));
        let keys = Select {
            columns: vec![(found.clone(), Name::new(key))],
            from: Some((TableSource::Subquery(Box::new(union)), k)),
            group_by: vec![found.clone()],
            order_by: vec![(self.d.sort_key(found, true), descending)],
            limit: Some(limit),
            ..Default::default()
        };
        Some(SqlExpr::eq(
            col(s, key),
            SqlExpr::Func(
                "ANY",
                vec![SqlExpr::Func(
                    "ARRAY",
                    vec![SqlExpr::Subquery(Box::new(keys))],
                )],
            ),
        ))
    }

    /// The start of every grouped CTE: the subject's rows (org scope and `where`), and the group
    /// keys `d0..` as columns and as the `GROUP BY`.
    #[allow(clippy::type_complexity)]
    fn keyed_rows(
        &mut self,
    ) -> (
        Tables,
        Name,
        Option<SqlExpr>,
        Vec<(SqlExpr, Name)>,
        Vec<SqlExpr>,
    ) {
        let mut tables = Tables::new();
        let (s, filter) = self.subject_from(&mut tables);
        let subject = self.ir.subject;
        let mut columns = Vec::new();
        let mut group_by = Vec::new();
        for (i, dim) in self.ir.dims.iter().enumerate() {
            let e = self.scalar(&dim.expr, &mut tables, &s, subject);
            group_by.push(e.clone());
            columns.push((e, indexed("d", i)));
        }
        (tables, s, filter, columns, group_by)
    }

    /// One grain's CTE: group keys `d0..` and this grain's measures `m<j>`.
    fn grain(&mut self, grain: &Grain) -> Select {
        let subject = self.ir.subject;
        let (mut tables, s, filter, mut columns, group_by) = self.keyed_rows();
        let (alias, entity) = self.down(&mut tables, &s, grain);
        for (j, m) in self.ir.measures.iter().enumerate() {
            if m.grain != *grain {
                continue;
            }
            let e = self.measure(m, &mut tables, &alias, entity);
            columns.push((e, indexed("m", j)));
        }
        if columns.is_empty() {
            columns.push((
                SqlExpr::Agg {
                    func: "count",
                    distinct: false,
                    arg: None,
                },
                "rows".into(),
            ));
        }
        // A grain below the subject: only subject rows that have such rows; the left join from
        // g0 brings back the groups without any.
        keyed_select(subject, tables, s, filter, columns, group_by)
    }

    /// A report over demographics whose measures all count distinct candidates
    /// ([`Ir::candidate_cells`]): first one row per group and candidate (CTE [`CANDIDATE_ROWS`]: the group
    /// keys, the candidate's key `k`, and per measure filter whether one of the candidate's
    /// rows passes it, `f<j>`), then each count as `count(*)` and each record-key sum as a plain
    /// `sum` over those rows. One deduplication instead of a sort per `DISTINCT` aggregate, key
    /// sums exact even when two keys collide, and the margins can be counted from the same
    /// rows.
    fn candidate_rows(&mut self, ctes: &mut Vec<(Name, Select)>) -> Select {
        let ir = self.ir;
        let subject = ir.subject;
        let late = self.late_demographics();
        let mut tables = Tables::new();
        let (s, filter) = self.subject_from(&mut tables);
        let mut columns = Vec::new();
        let mut group_by = Vec::new();
        for (i, dim) in ir.dims.iter().enumerate() {
            if late.iter().any(|(j, _)| *j == i) {
                continue;
            }
            let e = self.scalar(&dim.expr, &mut tables, &s, subject);
            group_by.push(e.clone());
            columns.push((e, indexed("d", i)));
        }
        let k = match ir.candidate_cells() {
            Some(candidate) => self.scalar(candidate, &mut tables, &s, subject),
            None => SqlExpr::Null,
        };
        columns.push((k.clone(), CANDIDATE_KEY.into()));
        group_by.push(k.clone());
        let d = self.d;
        let q = Name::new("q");
        // Each distinct measure filter once, as a flag of the candidate's rows.
        let mut flags: Vec<&Scalar> = Vec::new();
        let mut flag_of = Vec::with_capacity(ir.measures.len());
        for m in &ir.measures {
            flag_of.push(m.filter.as_ref().map(|f| {
                let at = flags.iter().position(|g| *g == f).unwrap_or(flags.len());
                if at == flags.len() {
                    flags.push(f);
                }
                at
            }));
        }
        for (n, f) in flags.iter().enumerate() {
            let e = self.scalar(f, &mut tables, &s, subject);
            columns.push((
                aggregate(d, "max", false, Some(SqlExpr::Int(1)), Some(e)),
                indexed("f", n),
            ));
        }
        let filter = SqlExpr::all(
            filter
                .into_iter()
                .chain([SqlExpr::IsNull(Box::new(k), true)])
                .collect(),
        );
        ctes.push((
            CANDIDATE_ROWS.into(),
            keyed_select(subject, tables, s, filter, columns, group_by),
        ));
        // The demographic keys, joined to the candidates' rows (one per group and candidate)
        // rather than to every subject row before they are made distinct.
        let mut late_tables = Tables::new();
        let mut dims: Vec<SqlExpr> = Vec::with_capacity(self.ir.dims.len());
        for i in 0..self.ir.dims.len() {
            let e = match late.iter().find(|(j, _)| *j == i) {
                Some((_, field)) => self.scalar(field, &mut late_tables, &q, EntityId::Candidates),
                None => SqlExpr::Ref(q.clone(), indexed("d", i)),
            };
            dims.push(e);
        }
        // The rows are the org's: the joins compare the org with the parameter, one hash key
        // fewer, and the demographics read through the org's index.
        for join in &mut late_tables.joins {
            crate::sql::walk_expr_mut(&mut join.on, &mut |e| {
                if matches!(e, SqlExpr::Column(alias, "org_id") if *alias == q) {
                    *e = SqlExpr::Org;
                }
            });
        }
        let mut columns: Vec<(SqlExpr, Name)> = dims
            .iter()
            .cloned()
            .zip((0..).map(|i| indexed("d", i)))
            .collect();
        for (j, m) in self.ir.measures.iter().enumerate() {
            let passes = flag_of[j]
                .map(|n| SqlExpr::IsNull(Box::new(SqlExpr::Ref(q.clone(), indexed("f", n))), true));
            let e = match m.func {
                AggFunc::KeySum(n) => aggregate(
                    d,
                    "sum",
                    false,
                    Some(d.record_key(SqlExpr::Ref(q.clone(), CANDIDATE_KEY.into()), n)),
                    passes,
                ),
                // `Ir::candidate_cells`: every other measure counts the distinct candidates.
                _ => aggregate(d, "count", false, None, passes),
            };
            columns.push((e, indexed("m", j)));
        }
        // Per group and bucket of the population sketch: the cells' partial counts and sums,
        // and the bucket's candidates and first record keys whatever the measures' filters. The
        // cells sum them over the buckets, the sketches over the demographic keys
        // ([`Lower::population`]): one pass over the rows for both.
        let key = || SqlExpr::Ref(q.clone(), CANDIDATE_KEY.into());
        let bucket = SqlExpr::bin(
            "%",
            d.record_key(key(), 3),
            SqlExpr::Int(crate::demographics::POPULATION_BUCKETS),
        );
        columns.push((bucket.clone(), "b".into()));
        columns.push((aggregate(d, "count", false, None, None), "pc".into()));
        columns.push((
            aggregate(d, "sum", false, Some(d.record_key(key(), 1)), None),
            "ps".into(),
        ));
        // How many groups the candidates of the group are in, at most: one candidate in many
        // groups of one report (applications to many jobs) gets a draw of noise in each, which
        // a sum over the groups averages (red team, pass 20: one run told three targets'
        // answers). `crate::demographics::publish` widens the noise by it and `app` withholds
        // a group above a bound.
        //
        // Counted over the org's rows whatever the report's filter, by the report's other group
        // keys: a filter that keeps one group per report made every candidate's count 1, and 25
        // reports of one job each summed to the answer again (red team, pass 21).
        let mut mt = Tables::new();
        let ms = Name::new("s");
        let mut mgroup = Vec::new();
        for dim in ir.dims.iter().filter(|d| !d.is_demographic()) {
            mgroup.push(self.scalar(&dim.expr, &mut mt, &ms, subject));
        }
        // And by every field the filter reads: a filter keeps the groups of those values, so
        // 25 reports each filtered to one job (`job.title = "X" or job.title = "X"`) are 25
        // groups of one candidate's (red team, pass 21).
        let mut read: Vec<Scalar> = Vec::new();
        if let Some(f) = &ir.filter {
            f.walk(&mut |e| {
                if matches!(e, Scalar::Field { .. }) && !read.contains(e) {
                    read.push(e.clone());
                }
            });
        }
        for e in &read {
            mgroup.push(self.scalar(e, &mut mt, &ms, subject));
        }
        let mk = match ir.candidate_cells() {
            Some(candidate) => self.scalar(candidate, &mut mt, &ms, subject),
            None => SqlExpr::Null,
        };
        mgroup.push(mk.clone());
        let mfilter = SqlExpr::all(
            [SqlExpr::eq(col(&ms, "org_id"), SqlExpr::Org)]
                .into_iter()
                .chain(self.row_filter(subject, &ms))
                .chain([SqlExpr::IsNull(Box::new(mk.clone()), true)])
                .collect(),
        );
        ctes.push((
            MULTIPLICITY_ROWS.into(),
            keyed_select(
                subject,
                mt,
                ms,
                mfilter,
                vec![(mk, CANDIDATE_KEY.into())],
                mgroup,
            ),
        ));
        ctes.push((
            MULTIPLICITY.into(),
            Select {
                columns: vec![
                    (
                        SqlExpr::Ref("r".into(), CANDIDATE_KEY.into()),
                        CANDIDATE_KEY.into(),
                    ),
                    (aggregate(d, "count", false, None, None), "m".into()),
                ],
                from: Some((TableSource::Cte(MULTIPLICITY_ROWS.into()), "r".into())),
                group_by: vec![SqlExpr::Ref("r".into(), CANDIDATE_KEY.into())],
                ..Default::default()
            },
        ));
        columns.push((
            aggregate(
                d,
                "max",
                false,
                Some(SqlExpr::Ref(MULTIPLICITY.into(), "m".into())),
                None,
            ),
            "pm".into(),
        ));
        let mut joins = late_tables.joins;
        joins.push(Join {
            kind: JoinKind::Left,
            source: TableSource::Cte(MULTIPLICITY.into()),
            alias: MULTIPLICITY.into(),
            on: SqlExpr::eq(
                SqlExpr::Ref(MULTIPLICITY.into(), CANDIDATE_KEY.into()),
                key(),
            ),
        });
        let mut group_by = dims;
        group_by.push(bucket);
        // A candidate in more groups than that counts in none of them: what they answered
        // would otherwise add up over their groups (one candidate's count of groups is the
        // viewer's to know without demographics, so leaving them out tells nothing).
        let few = SqlExpr::bin(
            "<=",
            SqlExpr::Func(
                "COALESCE",
                vec![
                    SqlExpr::Ref(MULTIPLICITY.into(), "m".into()),
                    SqlExpr::Int(1),
                ],
            ),
            SqlExpr::Int(crate::demographics::MAX_MULTIPLICITY),
        );
        ctes.push((
            CANDIDATE_CELLS.into(),
            Select {
                columns,
                from: Some((TableSource::Cte(CANDIDATE_ROWS.into()), q)),
                joins,
                filter: Some(few),
                group_by,
                ..Default::default()
            },
        ));
        let c = |name: Name| SqlExpr::Ref("c".into(), name);
        let dims: Vec<SqlExpr> = (0..self.ir.dims.len())
            .map(|i| c(indexed("d", i)))
            .collect();
        let mut columns: Vec<(SqlExpr, Name)> = dims
            .iter()
            .cloned()
            .zip((0..).map(|i| indexed("d", i)))
            .collect();
        for j in 0..self.ir.measures.len() {
            columns.push((
                aggregate(d, "sum", false, Some(c(indexed("m", j))), None),
                indexed("m", j),
            ));
        }
        Select {
            columns,
            from: Some((TableSource::Cte(CANDIDATE_CELLS.into()), "c".into())),
            group_by: dims,
            ..Default::default()
        }
    }

    /// The demographic keys of a report lowered by [`Lower::candidate_rows`] that can be read
    /// after its rows are made distinct: each a field of the demographics of the very
    /// candidate the cells count (`candidate.demographics.gender` with `count(distinct
    /// candidate)`), so one candidate has one value and the key adds nothing to the rows'
    /// distinctness. With the dim's index, the field as read from the candidate. Empty when any
    /// demographic key is not of that form (then all are read with the other keys).
    fn late_demographics(&self) -> Vec<(usize, Scalar)> {
        let Some(Scalar::Key { path: key }) = self.ir.candidate_cells() else {
            return Vec::new();
        };
        let candidate = key.last().map_or(self.ir.subject, |r| r.target);
        if candidate != EntityId::Candidates {
            return Vec::new();
        }
        let mut late = Vec::new();
        for (i, dim) in self.ir.dims.iter().enumerate() {
            if !dim.is_demographic() {
                continue;
            }
            let Scalar::Field { path, field } = &dim.expr else {
                return Vec::new();
            };
            let from_candidate = path.len() == key.len() + 1
                && path.iter().zip(key).all(|(a, b)| std::ptr::eq(*a, *b))
                && path
                    .last()
                    .is_some_and(|r| r.target == EntityId::Demographics);
            if !from_candidate {
                return Vec::new();
            }
            late.push((
                i,
                Scalar::Field {
                    path: path[key.len()..].to_vec(),
                    field,
                },
            ));
        }
        late
    }

    /// The sketch of each row's population (its candidates, whatever their demographics: the
    /// rows of [`CANDIDATE_ROWS`] with the same other group keys), as hidden columns after the
    /// cells: per bucket of [`crate::demographics::Population`] (by the third record key), the
    /// candidates and the sum of their first record keys, summed from [`CANDIDATE_CELLS`] over
    /// the demographic keys. Counted over one row per candidate, so no `DISTINCT`.
    fn population(&mut self, select: &mut Select) {
        use crate::demographics::POPULATION_BUCKETS as BUCKETS;
        let d = self.d;
        let others: Vec<usize> = (0..self.ir.dims.len())
            .filter(|i| !self.ir.dims[*i].is_demographic())
            .collect();
        let p = |c: &str| SqlExpr::Ref("p".into(), c.into());
        let mut columns: Vec<(SqlExpr, Name)> = others
            .iter()
            .map(|i| (SqlExpr::Ref("p".into(), indexed("d", *i)), indexed("d", *i)))
            .collect();
        let mut group_by: Vec<SqlExpr> = others
            .iter()
            .map(|i| SqlExpr::Ref("p".into(), indexed("d", *i)))
            .collect();
        columns.push((p("b"), "b".into()));
        group_by.push(p("b"));
        columns.push((aggregate(d, "sum", false, Some(p("pc")), None), "c".into()));
        columns.push((aggregate(d, "sum", false, Some(p("ps")), None), "s".into()));
        // The answered part (rows with a demographic value): who can change it is the
        // candidates alone, by answering; an admin can pad a population with people who have
        // not (`crate::demographics::Population`, the answered sketch).
        let answered = (0..self.ir.dims.len())
            .filter(|i| self.ir.dims[*i].is_demographic())
            .map(|i| SqlExpr::IsNull(Box::new(p(&indexed("d", i))), true))
            .reduce(|a, b| SqlExpr::bin("OR", a, b));
        columns.push((
            aggregate(d, "sum", false, Some(p("pc")), answered.clone()),
            "ac".into(),
        ));
        columns.push((
            aggregate(d, "sum", false, Some(p("ps")), answered),
            "as_".into(),
        ));
        columns.push((aggregate(d, "max", false, Some(p("pm")), None), "pm".into()));
        select.ctes.push((
            "population_buckets".into(),
            Select {
                columns,
                from: Some((TableSource::Cte(CANDIDATE_CELLS.into()), "p".into())),
                group_by,
                ..Default::default()
            },
        ));
        let q = |c: &str| SqlExpr::Ref("q".into(), c.into());
        let mut columns: Vec<(SqlExpr, Name)> = others
            .iter()
            .map(|i| (q(&indexed("d", *i)), indexed("d", *i)))
            .collect();
        for b in 0..BUCKETS {
            let here = SqlExpr::eq(q("b"), SqlExpr::Int(b));
            columns.push((
                aggregate(d, "sum", false, Some(q("c")), Some(here.clone())),
                name!("c{b}"),
            ));
            columns.push((
                aggregate(d, "sum", false, Some(q("s")), Some(here.clone())),
                name!("s{b}"),
            ));
            columns.push((
                aggregate(d, "sum", false, Some(q("ac")), Some(here.clone())),
                name!("a{b}"),
            ));
            columns.push((
                aggregate(d, "sum", false, Some(q("as_")), Some(here)),
                name!("t{b}"),
            ));
        }
        columns.push((aggregate(d, "max", false, Some(q("pm")), None), "m".into()));
        select.ctes.push((
            "population".into(),
            Select {
                columns,
                from: Some((TableSource::Cte("population_buckets".into()), "q".into())),
                group_by: others.iter().map(|i| q(&indexed("d", *i))).collect(),
                ..Default::default()
            },
        ));
        select.joins.push(join_on_keys(d, "population", &others));
        // The population's sketch, then its answered part's.
        for (c, s) in [("c", "s"), ("a", "t")] {
            for b in 0..BUCKETS {
                for c in [c, s] {
                    select.columns.push((
                        d.output(
                            SqlExpr::Func(
                                "COALESCE",
                                vec![
                                    SqlExpr::Ref("population".into(), name!("{c}{b}")),
                                    SqlExpr::Int(0),
                                ],
                            ),
                            &Type::Integer,
                        ),
                        name!("#population_{c}{b}"),
                    ));
                }
            }
        }
        // Then how many groups its candidates are in, at most (1 for a group of nobody).
        select.columns.push((
            d.output(
                SqlExpr::Func(
                    "COALESCE",
                    vec![
                        SqlExpr::Ref("population".into(), "m".into()),
                        SqlExpr::Int(1),
                    ],
                ),
                &Type::Integer,
            ),
            "#multiplicity".into(),
        ));
    }

    /// A grain of distinct records (`per`, [`Grain`]): first one row per group and record, its
    /// key `k` and each measure's value `v<j>` (the record's value when one of its rows passes
    /// the measure's filter: the same from every row, so `max` picks it), in a CTE `p<n>`; then
    /// the measures over those rows per group. Rows that reach no record (a missing or hidden
    /// one) are left out.
    fn distinct_grain(&mut self, grain: &Grain, ctes: &mut Vec<(Name, Select)>) -> Select {
        let subject = self.ir.subject;
        let (mut tables, s, filter, mut columns, mut group_by) = self.keyed_rows();
        let (alias, entity) = self.down(&mut tables, &s, grain);
        let record = Scalar::Key {
            path: grain.per.clone(),
        };
        let k = self.scalar(&record, &mut tables, &alias, entity);
        columns.push((k.clone(), "k".into()));
        group_by.push(k.clone());
        let d = self.d;
        let mut finals = Vec::new();
        for (j, m) in self.ir.measures.iter().enumerate() {
            if m.grain != *grain {
                continue;
            }
            let arg = m
                .arg
                .as_ref()
                .map(|a| self.scalar(a, &mut tables, &alias, entity));
            let f = m
                .filter
                .as_ref()
                .map(|f| self.scalar(f, &mut tables, &alias, entity));
            columns.push((aggregate(d, "max", false, arg, f), indexed("v", j)));
            finals.push((j, m.func));
        }
        let filter = SqlExpr::all(
            filter
                .into_iter()
                .chain([SqlExpr::IsNull(Box::new(k), true)])
                .collect(),
        );
        let name = indexed("p", ctes.len());
        ctes.push((
            name.clone(),
            keyed_select(subject, tables, s, filter, columns, group_by),
        ));
        let q = self.alias("q");
        let dims: Vec<SqlExpr> = (0..self.ir.dims.len())
            .map(|i| SqlExpr::Ref(q.clone(), indexed("d", i)))
            .collect();
        let mut columns: Vec<(SqlExpr, Name)> = dims
            .iter()
            .cloned()
            .zip((0..).map(|i| indexed("d", i)))
            .collect();
        for (j, func) in finals {
            let v = SqlExpr::Ref(q.clone(), indexed("v", j));
            let e = match func {
                AggFunc::Sum => aggregate(d, "sum", false, Some(v), None),
                AggFunc::Avg => aggregate(d, "avg", false, Some(v), None),
                AggFunc::Min => aggregate(d, "min", false, Some(v), None),
                AggFunc::Max => aggregate(d, "max", false, Some(v), None),
                AggFunc::Percentile(p) => d.percentile(v, SqlExpr::Param(p, ParamType::Number)),
                // The resolver makes no other measure of distinct records.
                AggFunc::Count | AggFunc::CountDistinct | AggFunc::KeySum(_) => aggregate(
                    d,
                    "count",
                    true,
                    Some(SqlExpr::Ref(q.clone(), "k".into())),
                    None,
                ),
            };
            columns.push((e, indexed("m", j)));
        }
        Select {
            columns,
            from: Some((TableSource::Cte(name), q)),
            group_by: dims,
            ..Default::default()
        }
    }

    /// Joins the grain's to-many relations down from the subject's rows at `s`: the alias and
    /// entity of the grain's rows. Each row below belongs to one row above.
    fn down(&mut self, tables: &mut Tables, s: &str, grain: &Grain) -> (Name, EntityId) {
        let mut alias = Name::new(s);
        let mut entity = self.ir.subject;
        for rel in &grain.steps {
            let target = Entity::get(rel.target);
            let next = self.alias("g");
            let Link::ToMany { remote } = rel.link else {
                continue;
            };
            let mut on = SqlExpr::and(
                SqlExpr::eq(col(&next, "org_id"), col(&alias, "org_id")),
                SqlExpr::eq(col(&next, remote), col(&alias, key(entity))),
            );
            // Each hop keeps only the rows the viewer sees: a row below a hidden row is not
            // reached, even when it is visible itself.
            if let Some(f) = self.row_filter(rel.target, &next) {
                on = SqlExpr::and(on, f);
            }
            if let Some(m) = self.list_mask(rel.target, remote, &next) {
                on = SqlExpr::and(on, m);
            }
            tables.joins.push(Join {
                kind: JoinKind::Inner,
                source: table_source(target.table),
                alias: next.clone(),
                on,
            });
            alias = next;
            entity = rel.target;
        }
        (alias, entity)
    }

    fn measure(
        &mut self,
        m: &Measure,
        tables: &mut Tables,
        alias: &str,
        entity: EntityId,
    ) -> SqlExpr {
        let arg = m
            .arg
            .as_ref()
            .map(|a| self.scalar(a, tables, alias, entity));
        let filter = m
            .filter
            .as_ref()
            .map(|f| self.scalar(f, tables, alias, entity));
        let d = self.d;
        match m.func {
            AggFunc::Count => aggregate(d, "count", false, arg, filter),
            AggFunc::CountDistinct => aggregate(d, "count", true, arg, filter),
            AggFunc::KeySum(n) => {
                aggregate(d, "sum", true, arg.map(|a| d.record_key(a, n)), filter)
            }
            AggFunc::Sum => aggregate(d, "sum", false, arg, filter),
            AggFunc::Avg => aggregate(d, "avg", false, arg, filter),
            AggFunc::Min => aggregate(d, "min", false, arg, filter),
            AggFunc::Max => aggregate(d, "max", false, arg, filter),
            AggFunc::Percentile(p) => {
                let fraction = SqlExpr::Param(p, ParamType::Number);
                match (d, filter) {
                    (Dialect::Postgres, Some(f)) => SqlExpr::Filtered(
                        Box::new(d.percentile(arg.unwrap_or(SqlExpr::Null), fraction)),
                        Box::new(f),
                    ),
                    (_, f) => {
                        d.percentile(case_filtered(arg, f).unwrap_or(SqlExpr::Null), fraction)
                    }
                }
            }
        }
    }

    /// The report's grains, in units computed by one CTE each: the subject's grain first; then a
    /// *family* per first to-many step (`applications`) holding that grain and the grains one
    /// step further down whose measures can be pre-aggregated per parent row
    /// (`applications.interviews`), so that the middle table is read once; other grains alone.
    fn units(&self) -> Vec<Vec<Grain>> {
        let mut units: Vec<Vec<Grain>> = vec![vec![Grain::root()]];
        for g in self.ir.grains().into_iter().skip(1) {
            // A grain of distinct records is a unit of its own.
            let family = g.per.is_empty()
                && match g.steps.as_slice() {
                    [_] => true,
                    [_, _] => self.eager(&g),
                    _ => false,
                };
            let home = units.iter().position(|u| {
                family
                    && u.iter().all(|h| {
                        h.per.is_empty()
                            && h.steps.first().map(|r| r.name) == g.steps.first().map(|r| r.name)
                            && (h.steps.len() == 1 || self.eager(h))
                    })
                    && !u[0].steps.is_empty()
            });
            match home {
                Some(i) => units[i].push(g),
                None => units.push(vec![g]),
            }
        }
        units
    }

    /// Whether every measure of a two-step grain can be computed from partial aggregates per
    /// parent row: count, sum, min, max and avg over the rows' own fields.
    fn eager(&self, grain: &Grain) -> bool {
        grain.steps.len() == 2
            && matches!(grain.steps[1].link, Link::ToMany { .. })
            && self.decomposable(grain)
    }

    /// Whether every measure of a grain is count, sum, min, max or avg over the rows' own fields
    /// (so it can be computed from partial aggregates per parent row).
    fn decomposable(&self, grain: &Grain) -> bool {
        if !grain.per.is_empty() {
            return false;
        }
        if !matches!(
            grain.steps.last().map(|r| r.link),
            Some(Link::ToMany { .. })
        ) {
            return false;
        }
        self.ir
            .measures
            .iter()
            .filter(|m| m.grain == *grain)
            .all(partial_ok)
    }

    /// A first list's grain from partial aggregates per subject row: the list's rows are grouped
    /// by their key to the subject first, so the subject and its group keys meet a few rows each.
    fn child(&mut self, grain: &Grain, ctes: &mut Vec<(Name, Select)>) -> Select {
        let rel = grain.steps[0];
        let Link::ToMany { remote } = rel.link else {
            return self.grain(grain);
        };
        let subject = self.ir.subject;
        let (mut tables, s, filter, mut columns, group_by) = self.keyed_rows();
        let name = indexed("p", ctes.len());
        let (partial, finals) = self.partial(grain, rel.target, remote);
        ctes.push((name.clone(), partial));
        self.join_parts(&mut tables, &mut columns, &s, name, JoinKind::Inner, finals);
        keyed_select(subject, tables, s, filter, columns, group_by)
    }

    /// For each grain of a family, a to-one path from its rows back to the subject: a declared
    /// shortcut ([`crate::catalog::SHORTCUTS`]) when there is one, else its own lists reversed.
    fn routes(&self, family: &[Grain]) -> Option<Vec<Path>> {
        let subject = self.ir.subject;
        family
            .iter()
            .map(|g| {
                let row = g.entity(subject);
                if let Some((_, _, names)) = crate::catalog::SHORTCUTS
                    .iter()
                    .find(|(from, to, _)| *from == row && *to == subject)
                {
                    let mut path = Vec::new();
                    let mut at = Entity::get(row);
                    for name in *names {
                        let rel = at.relation(name)?;
                        path.push(rel);
                        at = Entity::get(rel.target);
                    }
                    // A shortcut skips the walk's middle rows (an interview's application) and
                    // passes others (its stage): only when the viewer sees all of both is it the
                    // same as the walk; otherwise the lists reversed, each hop filtered.
                    let skipped = g.steps.iter().rev().skip(1).map(|r| r.target);
                    let passed = path.iter().rev().skip(1).map(|r| r.target);
                    if skipped.chain(passed).all(|e| self.sees_all(e)) {
                        return Some(path);
                    }
                }
                // Up each list: the to-one relation whose column is the list's foreign key.
                let mut path = Vec::new();
                let mut parents: Vec<EntityId> = vec![subject];
                parents.extend(g.steps.iter().map(|r| r.target));
                for (step, parent) in g.steps.iter().rev().zip(parents.iter().rev().skip(1)) {
                    let Link::ToMany { remote } = step.link else {
                        return None;
                    };
                    let child = Entity::get(step.target);
                    let up = child.relations.iter().find(|r| {
                        r.target == *parent
                            && matches!(r.link, Link::ToOne { local, .. } if local == remote)
                    })?;
                    path.push(up);
                }
                Some(path)
            })
            .collect()
    }

    /// Joins a CTE of per-parent partial aggregates (`parent`, then the parts) to the subject's
    /// rows at `s` and adds its measures, finished, as `m{j}`.
    fn join_parts(
        &mut self,
        tables: &mut Tables,
        columns: &mut Vec<(SqlExpr, Name)>,
        s: &str,
        cte: Name,
        kind: JoinKind,
        finals: Vec<Finished>,
    ) {
        let p = self.alias("p");
        tables.joins.push(Join {
            kind,
            source: TableSource::Cte(cte),
            alias: p.clone(),
            on: SqlExpr::eq(
                SqlExpr::Ref(p.clone(), "parent".into()),
                col(s, key(self.ir.subject)),
            ),
        });
        for (j, finish) in finals {
            columns.push((finish(&p), indexed("m", j)));
        }
    }

    /// A family whose measures all decompose: each list aggregated per subject row on its own
    /// (reaching the subject by its route), then joined to the subject's rows, one row each.
    fn routed(
        &mut self,
        family: &[Grain],
        routes: Vec<Path>,
        ctes: &mut Vec<(Name, Select)>,
    ) -> Select {
        let subject = self.ir.subject;
        let (mut tables, s, filter, mut columns, group_by) = self.keyed_rows();
        for (grain, route) in family.iter().zip(routes) {
            let entity = grain.entity(subject);
            let mut inner = Tables::new();
            let c = self.alias("c");
            let parent = self.scalar(&Scalar::Key { path: route }, &mut inner, &c, entity);
            let mut part = vec![(parent.clone(), "parent".into())];
            let finals = self.partial_columns(grain, &mut inner, &c, entity, &mut part);
            let name = indexed("p", ctes.len());
            let mut filter = vec![SqlExpr::eq(col(&c, "org_id"), SqlExpr::Org)];
            filter.extend(self.row_filter(entity, &c));
            ctes.push((
                name.clone(),
                Select {
                    columns: part,
                    from: Some((table_source(Entity::get(entity).table), c.clone())),
                    joins: inner.joins,
                    filter: SqlExpr::all(filter),
                    group_by: vec![parent],
                    ..Default::default()
                },
            ));
            self.join_parts(&mut tables, &mut columns, &s, name, JoinKind::Left, finals);
        }
        keyed_select(subject, tables, s, filter, columns, group_by)
    }

    /// A family's CTE: the subject's rows joined to the first list's rows (each belongs to one
    /// subject row) and to per-parent partial aggregates of the lists below them (one row per
    /// parent, so nothing multiplies), grouped by the report's group keys.
    fn family(&mut self, family: &[Grain], ctes: &mut Vec<(Name, Select)>) -> Select {
        let subject = self.ir.subject;
        let (mut tables, s, filter, mut columns, group_by) = self.keyed_rows();
        let first = family[0].steps[0];
        let Link::ToMany { remote } = first.link else {
            return self.grain(&family[0]);
        };
        let parent = self.alias("g");
        let mut on = SqlExpr::and(
            SqlExpr::eq(col(&parent, "org_id"), col(&s, "org_id")),
            SqlExpr::eq(col(&parent, remote), col(&s, key(subject))),
        );
        // Only visible parents: the partial aggregates below are joined to these rows, so a
        // row under a hidden parent is not counted.
        if let Some(f) = self.row_filter(first.target, &parent) {
            on = SqlExpr::and(on, f);
        }
        if let Some(m) = self.list_mask(first.target, remote, &parent) {
            on = SqlExpr::and(on, m);
        }
        tables.joins.push(Join {
            kind: JoinKind::Inner,
            source: table_source(Entity::get(first.target).table),
            alias: parent.clone(),
            on,
        });
        for grain in family {
            match grain.steps.as_slice() {
                [_] => {
                    for (j, m) in self.ir.measures.iter().enumerate() {
                        if m.grain == *grain {
                            let e = self.measure(m, &mut tables, &parent, first.target);
                            columns.push((e, indexed("m", j)));
                        }
                    }
                }
                [_, below] => {
                    let Link::ToMany { remote: up } = below.link else {
                        continue;
                    };
                    let name = indexed("p", ctes.len());
                    let (partial, finals) = self.partial(grain, below.target, up);
                    ctes.push((name.clone(), partial));
                    let p = self.alias("p");
                    tables.joins.push(Join {
                        kind: JoinKind::Left,
                        source: TableSource::Cte(name),
                        alias: p.clone(),
                        on: SqlExpr::eq(
                            SqlExpr::Ref(p.clone(), "parent".into()),
                            col(&parent, key(first.target)),
                        ),
                    });
                    for (j, finish) in finals {
                        columns.push((finish(&p), indexed("m", j)));
                    }
                }
                _ => {}
            }
        }
        keyed_select(subject, tables, s, filter, columns, group_by)
    }

    /// Partial aggregates of a grain's measures per parent row (`up` is the column pointing to
    /// the parent), and for each measure how to finish it from a joined partial row.
    #[allow(clippy::type_complexity)]
    fn partial(
        &mut self,
        grain: &Grain,
        entity: EntityId,
        up: &'static str,
    ) -> (Select, Vec<Finished>) {
        let mut tables = Tables::new();
        let c = self.alias("c");
        let mut columns = vec![(col(&c, up), "parent".into())];
        let finals = self.partial_columns(grain, &mut tables, &c, entity, &mut columns);
        let mut filter = vec![SqlExpr::eq(col(&c, "org_id"), SqlExpr::Org)];
        filter.extend(self.row_filter(entity, &c));
        filter.extend(self.list_mask(entity, up, &c));
        let select = Select {
            columns,
            from: Some((table_source(Entity::get(entity).table), c.clone())),
            joins: tables.joins,
            filter: SqlExpr::all(filter),
            group_by: vec![col(&c, up)],
            ..Default::default()
        };
        (select, finals)
    }

    /// The partial aggregates of a grain's measures over rows at `c` (added to `columns`), and
    /// for each measure how to finish it from the partial rows.
    #[allow(clippy::type_complexity)]
    fn partial_columns(
        &mut self,
        grain: &Grain,
        tables: &mut Tables,
        c: &str,
        entity: EntityId,
        columns: &mut Vec<(SqlExpr, Name)>,
    ) -> Vec<Finished> {
        let mut finals: Vec<Finished> = Vec::new();
        let d = self.d;
        let c = c.to_owned();
        for (j, m) in self.ir.measures.iter().enumerate() {
            if m.grain != *grain {
                continue;
            }
            let arg = m.arg.as_ref().map(|a| self.scalar(a, tables, &c, entity));
            let filter = m
                .filter
                .as_ref()
                .map(|f| self.scalar(f, tables, &c, entity));
            let agg = |func: &'static str| aggregate(d, func, false, arg.clone(), filter.clone());
            let (a, b) = (indexed("a", j), indexed("b", j));
            let finish_sum = |name: Name| -> Box<dyn Fn(&str) -> SqlExpr> {
                Box::new(move |p: &str| SqlExpr::Agg {
                    func: "sum",
                    distinct: false,
                    arg: Some(Box::new(SqlExpr::Ref(p.into(), name.clone()))),
                })
            };
            match m.func {
                AggFunc::Count => {
                    columns.push((agg("count"), a.clone()));
                    finals.push((j, finish_sum(a)));
                }
                AggFunc::Sum => {
                    columns.push((agg("sum"), a.clone()));
                    finals.push((j, finish_sum(a)));
                }
                AggFunc::Min | AggFunc::Max => {
                    let func = if m.func == AggFunc::Min { "min" } else { "max" };
                    columns.push((agg(func), a.clone()));
                    finals.push((
                        j,
                        Box::new(move |p: &str| SqlExpr::Agg {
                            func,
                            distinct: false,
                            arg: Some(Box::new(SqlExpr::Ref(p.into(), a.clone()))),
                        }),
                    ));
                }
                AggFunc::Avg => {
                    columns.push((agg("sum"), a.clone()));
                    columns.push((agg("count"), b.clone()));
                    finals.push((
                        j,
                        Box::new(move |p: &str| {
                            let sum = |n: &str| SqlExpr::Agg {
                                func: "sum",
                                distinct: false,
                                arg: Some(Box::new(SqlExpr::Ref(p.into(), n.into()))),
                            };
                            d.divide(sum(&a), sum(&b))
                        }),
                    ));
                }
                AggFunc::CountDistinct | AggFunc::KeySum(_) | AggFunc::Percentile(_) => {}
            }
        }
        finals
    }

    /// The foreign keys through which every group key reaches a small lookup table (users,
    /// departments, sources, jobs, stages), when the report's own measures decompose: then the
    /// subject's rows are aggregated per key first and the lookups joined to a few rows.
    fn lookup_keys(&self) -> Option<Vec<&'static str>> {
        let root = Grain::root();
        if self.ir.dims.is_empty() || !self.ir.measures.iter().any(|m| m.grain == root) {
            return None;
        }
        let measures_ok = self
            .ir
            .measures
            .iter()
            .filter(|m| m.grain == root)
            .all(partial_ok);
        if !measures_ok {
            return None;
        }
        let small = |e: EntityId| {
            matches!(
                e,
                EntityId::Users
                    | EntityId::Departments
                    | EntityId::Sources
                    | EntityId::Jobs
                    | EntityId::Stages
            )
        };
        let mut keys: Vec<&'static str> = Vec::new();
        let mut ok = true;
        for dim in &self.ir.dims {
            dim.expr.walk(&mut |x| match x {
                Scalar::Field { path, .. } | Scalar::Custom { path, .. } | Scalar::Key { path } => {
                    match path.first() {
                        Some(rel) => match rel.link {
                            Link::ToOne { local, .. }
                                if small(rel.target)
                                    && self.sees_group(
                                        self.ir.subject,
                                        crate::catalog::relation_group(self.ir.subject, rel.name),
                                    ) =>
                            {
                                if !keys.contains(&local) {
                                    keys.push(local);
                                }
                            }
                            _ => ok = false,
                        },
                        None => ok = false,
                    }
                }
                Scalar::Reached { .. } => ok = false,
                _ => {}
            });
        }
        (ok && !keys.is_empty()).then_some(keys)
    }

    /// The subject's grain aggregated per lookup key first (see [`Self::lookup_keys`]).
    fn by_lookup(&mut self, keys: &[&'static str], ctes: &mut Vec<(Name, Select)>) -> Select {
        let mut inner = Tables::new();
        let (s, filter) = self.subject_from(&mut inner);
        let subject = self.ir.subject;
        // The org is one value here: carried as a column for the joins, not grouped by.
        let mut columns = vec![(SqlExpr::Org, "org_id".into())];
        let mut group_by = Vec::new();
        for k in keys {
            columns.push((col(&s, k), (*k).into()));
            group_by.push(col(&s, k));
        }
        let finals = self.partial_columns(&Grain::root(), &mut inner, &s, subject, &mut columns);
        let name = indexed("p", ctes.len());
        ctes.push((
            name.clone(),
            Select {
                columns,
                from: Some((table_source(Entity::get(subject).table), s)),
                joins: inner.joins,
                filter,
                group_by,
                ..Default::default()
            },
        ));
        // The partial rows carry the subject's org and foreign keys: group keys are computed
        // from them as from the subject's rows.
        let q = self.alias("q");
        let mut tables = Tables::new();
        let mut columns = Vec::new();
        let mut group_by = Vec::new();
        for (i, dim) in self.ir.dims.iter().enumerate() {
            let e = self.scalar(&dim.expr, &mut tables, &q, subject);
            group_by.push(e.clone());
            columns.push((e, indexed("d", i)));
        }
        for (j, finish) in finals {
            columns.push((finish(&q), indexed("m", j)));
        }
        Select {
            columns,
            from: Some((TableSource::Cte(name), q)),
            joins: tables.joins,
            group_by,
            ..Default::default()
        }
    }

    fn groups(&mut self) -> Select {
        let units = self.units();
        let mut ctes = Vec::new();
        let candidate_cells = self.ir.candidate_cells().is_some();
        for (k, unit) in units.iter().enumerate() {
            let lookup = if k == 0 { self.lookup_keys() } else { None };
            let select = match unit.as_slice() {
                [_] if candidate_cells => self.candidate_rows(&mut ctes),
                [one] if !one.per.is_empty() => self.distinct_grain(one, &mut ctes),
                [_] if lookup.is_some() => {
                    self.by_lookup(lookup.as_deref().unwrap_or(&[]), &mut ctes)
                }
                [one] if one.steps.len() == 1 && self.decomposable(one) => {
                    self.child(one, &mut ctes)
                }
                [one] if one.steps.len() <= 1 || !self.eager(one) => self.grain(one),
                family => {
                    let routes = if family.iter().all(|g| self.decomposable(g)) {
                        self.routes(family)
                    } else {
                        None
                    };
                    match routes {
                        Some(routes) => self.routed(family, routes, &mut ctes),
                        None => self.family(family, &mut ctes),
                    }
                }
            };
            ctes.push((indexed("g", k), select));
        }
        let grains: Vec<Grain> = self.ir.measures.iter().map(|m| m.grain.clone()).collect();
        let unit_of: Vec<usize> = grains
            .iter()
            .map(|g| units.iter().position(|u| u.contains(g)).unwrap_or(0))
            .collect();
        // Several units with group keys: stack their rows and group again (NULL keys group
        // together, and a hash aggregate needs no join on nullable keys).
        let merged = units.len() > 1 && !self.ir.dims.is_empty();
        if merged {
            let mut parts: Vec<Select> = (0..units.len())
                .map(|k| {
                    let name = indexed("g", k);
                    let mut columns: Vec<(SqlExpr, Name)> = (0..self.ir.dims.len())
                        .map(|i| (SqlExpr::Ref(name.clone(), indexed("d", i)), indexed("d", i)))
                        .collect();
                    for (j, unit) in unit_of.iter().enumerate() {
                        let value = if *unit == k {
                            SqlExpr::Ref(name.clone(), indexed("m", j))
                        } else {
                            self.d.typed_null(&self.ir.measures[j].ty)
                        };
                        columns.push((value, indexed("m", j)));
                    }
                    Select {
                        columns,
                        from: Some((TableSource::Cte(name.clone()), name)),
                        ..Default::default()
                    }
                })
                .collect();
            let mut stacked = parts.remove(0);
            stacked.union_all = parts;
            ctes.push(("stacked".into(), stacked));
            let group_by: Vec<SqlExpr> = (0..self.ir.dims.len())
                .map(|i| SqlExpr::Ref("u".into(), indexed("d", i)))
                .collect();
            let mut columns: Vec<(SqlExpr, Name)> = group_by
                .iter()
                .cloned()
                .zip((0..).map(|i| indexed("d", i)))
                .collect();
            for j in 0..unit_of.len() {
                let value = SqlExpr::Ref("u".into(), indexed("m", j));
                columns.push((
                    SqlExpr::Agg {
                        func: "max",
                        distinct: false,
                        arg: Some(Box::new(value)),
                    },
                    indexed("m", j),
                ));
            }
            ctes.push((
                "grouped".into(),
                Select {
                    columns,
                    from: Some((TableSource::Cte("stacked".into()), "u".into())),
                    group_by,
                    ..Default::default()
                },
            ));
        }
        let mut joins = Vec::new();
        for k in (1..units.len()).filter(|_| !merged) {
            let dims: Vec<usize> = (0..self.ir.dims.len()).collect();
            joins.push(join_on_keys(self.d, &indexed("g", k), &dims));
        }
        let refs = Refs {
            unit_of: &unit_of,
            merged,
            ir: self.ir,
        };
        let d = self.d;
        let source = if merged { "grouped" } else { "g0" };
        let mut select = Select {
            ctes,
            from: Some((TableSource::Cte(source.into()), "g0".into())),
            joins,
            ..Default::default()
        };
        match &self.ir.shape {
            Shape::Funnel { steps } => {
                // `limit` counts groups, not step rows: keep the first groups of g0.
                if let Some(n) = self.ir.limit {
                    let mut columns: Vec<(SqlExpr, Name)> = (0..self.ir.dims.len())
                        .map(|i| (SqlExpr::Ref("g0".into(), indexed("d", i)), indexed("d", i)))
                        .collect();
                    columns
                        .extend((0..self.ir.measures.len()).map(|j| {
                            (SqlExpr::Ref("g0".into(), indexed("m", j)), indexed("m", j))
                        }));
                    let mut order_by: Vec<(SqlExpr, bool)> = self
                        .ir
                        .order
                        .iter()
                        .map(|o| {
                            (
                                d.sort_key(refs.formula(d, o.value.formula()), o.text),
                                o.descending,
                            )
                        })
                        .collect();
                    for (i, dim) in self.ir.dims.iter().enumerate() {
                        order_by.push((
                            d.sort_key(
                                SqlExpr::Ref("g0".into(), indexed("d", i)),
                                dim.ty.is_textual(),
                            ),
                            false,
                        ));
                    }
                    select.ctes.push((
                        "groups".into(),
                        Select {
                            columns,
                            from: Some((TableSource::Cte("g0".into()), "g0".into())),
                            order_by,
                            limit: Some(n),
                            ..Default::default()
                        },
                    ));
                    select.from = Some((TableSource::Cte("groups".into()), "g0".into()));
                }
                // One select per step over the grouped counts, appended with UNION ALL.
                let first = refs.measure(d, 0);
                let mut parts = Vec::new();
                for (i, (label, stage)) in steps.iter().enumerate() {
                    let _ = label;
                    let p = match stage {
                        StageRef::Name(p) | StageRef::Kind(p) => *p,
                    };
                    let mut columns: Vec<(SqlExpr, Name)> = self
                        .ir
                        .outputs
                        .iter()
                        .map(|o| {
                            (
                                d.output(refs.formula(d, o.value.formula()), &o.ty),
                                Name::new(&o.name),
                            )
                        })
                        .collect();
                    let reached = refs.measure(d, i);
                    let before = if i == 0 {
                        reached.clone()
                    } else {
                        refs.measure(d, i - 1)
                    };
                    columns.push((SqlExpr::Param(p, ParamType::Text), "stage".into()));
                    columns.push((
                        d.output(SqlExpr::Int(i as i64 + 1), &Type::Integer),
                        "step".into(),
                    ));
                    columns.push((d.output(reached.clone(), &Type::Integer), "reached".into()));
                    columns.push((
                        d.output(d.divide(reached.clone(), before), &Type::Number),
                        "pass_through".into(),
                    ));
                    columns.push((
                        d.output(d.divide(reached, first.clone()), &Type::Number),
                        "overall".into(),
                    ));
                    parts.push(Select {
                        columns,
                        from: select.from.clone(),
                        ..Default::default()
                    });
                }
                let mut first_part = parts.remove(0);
                first_part.union_all = parts;
                let mut order_by: Vec<(SqlExpr, bool)> = Vec::new();
                for o in &self.ir.order {
                    let e = refs.formula_named(d, o.value.formula(), self.ir);
                    order_by.push((d.sort_key(e, o.text), o.descending));
                }
                for o in &self.ir.outputs {
                    let e = SqlExpr::Ref("f".into(), Name::new(&o.name));
                    order_by.push((d.sort_key(e, o.ty.is_textual()), false));
                }
                order_by.push((SqlExpr::Ref("f".into(), "step".into()), false));
                let mut ctes = std::mem::take(&mut select.ctes);
                ctes.push(("funnel".into(), first_part));
                let mut columns: Vec<(SqlExpr, Name)> = self
                    .ir
                    .outputs
                    .iter()
                    .map(|o| {
                        (
                            SqlExpr::Ref("f".into(), Name::new(&o.name)),
                            Name::new(&o.name),
                        )
                    })
                    .collect();
                for c in ["stage", "step", "reached", "pass_through", "overall"] {
                    columns.push((SqlExpr::Ref("f".into(), c.into()), c.into()));
                }
                Select {
                    ctes,
                    columns,
                    from: Some((TableSource::Cte("funnel".into()), "f".into())),
                    order_by,
                    ..Default::default()
                }
            }
            _ => {
                select.columns = self
                    .ir
                    .outputs
                    .iter()
                    .map(|o| {
                        (
                            d.output(refs.formula(d, o.value.formula()), &o.ty),
                            Name::new(&o.name),
                        )
                    })
                    .collect();
                // A report split by demographics: the hidden count of distinct candidates per
                // group, last (see `crate::Suppression`).
                // A report over demographics (`crate::demographics`): each cell's count and the
                // two halves of its key instead, three hidden columns per cell.
                if self.ir.cells.is_empty()
                    && let Some(j) = self.ir.candidates
                {
                    select.columns.push((
                        d.output(refs.measure(d, j), &Type::Integer),
                        CANDIDATES_COLUMN.into(),
                    ));
                }
                for (i, cell) in self.ir.cells.iter().enumerate() {
                    let names = [
                        name!("{CANDIDATES_COLUMN}{i}"),
                        name!("{CANDIDATES_COLUMN}{i}_k1"),
                        name!("{CANDIDATES_COLUMN}{i}_k2"),
                    ];
                    for (j, name) in [cell.count, cell.keys[0], cell.keys[1]]
                        .into_iter()
                        .zip(names)
                    {
                        select
                            .columns
                            .push((d.output(refs.measure(d, j), &Type::Integer), name));
                    }
                }
                // The sketch of each row's population without demographics, for the check
                // against populations published before (`crate::demographics::Population`).
                if self.ir.candidate_cells().is_some() {
                    self.population(&mut select);
                }
                select.filter = self.ir.having.as_ref().map(|h| refs.formula(d, h));
                select.order_by = self
                    .ir
                    .order
                    .iter()
                    .map(|o| {
                        (
                            d.sort_key(refs.formula(d, o.value.formula()), o.text),
                            o.descending,
                        )
                    })
                    .collect();
                // Ties broken by the group keys, so both dialects return rows in one order.
                for (i, dim) in self.ir.dims.iter().enumerate() {
                    let ordered = self
                        .ir
                        .order
                        .iter()
                        .any(|o| o.value == OutputValue::Formula(Formula::Dim(i)));
                    if !ordered {
                        let e = SqlExpr::Ref("g0".into(), indexed("d", i));
                        select
                            .order_by
                            .push((d.sort_key(e, dim.ty.is_textual()), false));
                    }
                }
                select.limit = self.ir.limit;
                select
            }
        }
    }
}

impl OutputValue {
    fn formula(&self) -> &Formula {
        match self {
            OutputValue::Formula(f) => f,
            OutputValue::Row(_) => &Formula::Dim(usize::MAX),
        }
    }
}

/// Whether a measure can be computed from partial aggregates: count, sum, min, max or avg over
/// its rows' own fields (no paths, no stage history).
fn partial_ok(m: &Measure) -> bool {
    let mut own = matches!(
        m.func,
        AggFunc::Count | AggFunc::Sum | AggFunc::Min | AggFunc::Max | AggFunc::Avg
    );
    for e in m.arg.iter().chain(&m.filter) {
        e.walk(&mut |x| match x {
            Scalar::Field { path, field } => {
                own &= path.is_empty()
                    && !matches!(field.source, Source::LeftStageAt | Source::DaysInStage)
            }
            Scalar::Custom { path, .. } | Scalar::Key { path } => own &= path.is_empty(),
            Scalar::Reached { .. } => own = false,
            _ => {}
        });
    }
    own
}

/// `LEFT JOIN cte AS cte` on the group keys `d<i>` (`dims`) of `g0`, nulls equal to nulls (on
/// nothing but `1 = 1` without keys): a CTE of the same groups, or of coarser ones.
fn join_on_keys(d: Dialect, cte: &str, dims: &[usize]) -> Join {
    let on = SqlExpr::all(
        dims.iter()
            .map(|i| {
                d.null_safe_eq(
                    SqlExpr::Ref(cte.into(), indexed("d", *i)),
                    SqlExpr::Ref("g0".into(), indexed("d", *i)),
                )
            })
            .collect(),
    )
    .unwrap_or(SqlExpr::eq(SqlExpr::Int(1), SqlExpr::Int(1)));
    Join {
        kind: JoinKind::Left,
        source: TableSource::Cte(cte.into()),
        alias: cte.into(),
        on,
    }
}

/// A grouped CTE over the subject's rows with the joins made for it.
fn keyed_select(
    subject: EntityId,
    tables: Tables,
    s: Name,
    filter: Option<SqlExpr>,
    columns: Vec<(SqlExpr, Name)>,
    group_by: Vec<SqlExpr>,
) -> Select {
    Select {
        columns,
        from: Some((table_source(Entity::get(subject).table), s)),
        joins: tables.joins,
        filter,
        group_by,
        ..Default::default()
    }
}

/// An aggregate over the rows where `filter` holds: `FILTER (WHERE ...)` on PostgreSQL (the
/// aggregate skips the other rows without evaluating its argument), a `CASE` inside it on SQLite.
fn aggregate(
    d: Dialect,
    func: &'static str,
    distinct: bool,
    arg: Option<SqlExpr>,
    filter: Option<SqlExpr>,
) -> SqlExpr {
    match (d, filter) {
        (Dialect::Postgres, Some(f)) => SqlExpr::Filtered(
            Box::new(SqlExpr::Agg {
                func,
                distinct,
                arg: arg.map(Box::new),
            }),
            Box::new(f),
        ),
        (_, f) => SqlExpr::Agg {
            func,
            distinct,
            arg: case_filtered(arg, f).map(Box::new),
        },
    }
}

/// `CASE WHEN filter THEN arg END` (or `THEN 1` for `count(*)`).
fn case_filtered(arg: Option<SqlExpr>, filter: Option<SqlExpr>) -> Option<SqlExpr> {
    match (arg, filter) {
        (a, None) => a,
        (a, Some(f)) => Some(SqlExpr::Case {
            whens: vec![(f, a.unwrap_or(SqlExpr::Int(1)))],
            otherwise: None,
        }),
    }
}

/// Where group keys and measures live once the grains are joined.
struct Refs<'a> {
    /// For each measure, the CTE (`g<k>`) that computes it.
    unit_of: &'a [usize],
    /// Whether the units were stacked and grouped into one relation (aliased `g0`).
    merged: bool,
    ir: &'a Ir,
}

impl Refs<'_> {
    fn measure(&self, d: Dialect, j: usize) -> SqlExpr {
        let _ = d;
        let m = &self.ir.measures[j];
        let k = self.unit_of.get(j).copied().unwrap_or(0);
        let alias = if self.merged {
            Name::new("g0")
        } else {
            indexed("g", k)
        };
        let r = SqlExpr::Ref(alias, indexed("m", j));
        // A group with no rows in a lower grain has no row in its CTE: counts are zero there.
        if k > 0
            && matches!(
                m.func,
                AggFunc::Count | AggFunc::CountDistinct | AggFunc::KeySum(_)
            )
        {
            SqlExpr::Func("COALESCE", vec![r, SqlExpr::Int(0)])
        } else {
            r
        }
    }

    fn formula(&self, d: Dialect, f: &Formula) -> SqlExpr {
        match f {
            Formula::Dim(i) if *i == usize::MAX => SqlExpr::Null,
            Formula::Dim(i) => SqlExpr::Ref("g0".into(), indexed("d", *i)),
            Formula::Measure(j) => self.measure(d, *j),
            Formula::Param(p) => {
                let ty = match &self.ir.params[p.0] {
                    Param::Integer(_) => ParamType::Integer,
                    Param::Number(_) => ParamType::Number,
                    Param::Bool(_) => ParamType::Bool,
                    Param::Instant(_) => ParamType::Instant,
                    Param::Date(_)
                    | Param::Relative { date: true, .. }
                    | Param::Today { date: true } => ParamType::Date,
                    Param::Relative { .. } | Param::Today { .. } => ParamType::Instant,
                    Param::Text(_) => ParamType::Text,
                };
                SqlExpr::Param(*p, ty)
            }
            Formula::Not(inner) => SqlExpr::Not(Box::new(self.formula(d, inner))),
            Formula::Neg(inner) => SqlExpr::Neg(Box::new(self.formula(d, inner))),
            Formula::Binary { op, left, right } => {
                binary(d, *op, self.formula(d, left), self.formula(d, right))
            }
            Formula::IsNull { expr, negated } => {
                SqlExpr::IsNull(Box::new(self.formula(d, expr)), *negated)
            }
            Formula::Round { expr, digits } => d.round(self.formula(d, expr), *digits),
        }
    }

    /// In the funnel's outer select, group keys are the funnel CTE's named columns.
    fn formula_named(&self, d: Dialect, f: &Formula, ir: &Ir) -> SqlExpr {
        match f {
            Formula::Dim(i) => ir.dims.get(*i).map_or(SqlExpr::Null, |dim| {
                SqlExpr::Ref("f".into(), Name::new(&dim.name))
            }),
            other => self.formula(d, other),
        }
    }
}

fn binary(d: Dialect, op: BinaryOp, l: SqlExpr, r: SqlExpr) -> SqlExpr {
    let sym = match op {
        BinaryOp::Div => return d.divide(l, r),
        BinaryOp::Or => "OR",
        BinaryOp::And => "AND",
        BinaryOp::Eq => "=",
        BinaryOp::NotEq => "<>",
        BinaryOp::Lt => "<",
        BinaryOp::LtEq => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::GtEq => ">=",
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
    };
    SqlExpr::bin(sym, l, r)
}
