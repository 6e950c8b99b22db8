//! A small SQL AST, rendered to text per dialect. Only what the compiler emits: every identifier
//! is quoted, every value of a report is a parameter (`$n` for PostgreSQL, `?n` for SQLite); the
//! only literals are the compiler's own constants (format strings, stage-kind scores, numbers)
//! and the values of a viewer's policy ([`SqlExpr::Text`], [`SqlExpr::Bool`], [`SqlExpr::Int`]),
//! which the policy engine builds and which are rendered as escaped standard SQL literals.

use crate::ir::ParamId;
use std::fmt::Write;

/// A name in a statement: a table alias, a CTE, a result column. Short names (every name the
/// compiler makes: `s`, `t3`, `g0`, `m12`, and a report's output names up to 23 bytes) are
/// kept inline, so making and copying one allocates nothing; a statement holds hundreds.
pub type Name = smol_str::SmolStr;

/// `format!` for a [`Name`] (inline when short: no allocation).
pub use smol_str::format_smolstr as name;

/// The name `prefix` followed by the decimal digits of `n` (`d0`, `m12`, `t3`): the compiler's
/// own names, made without the formatting machinery.
pub fn indexed(prefix: &str, n: usize) -> Name {
    let mut buffer = [0u8; 20];
    let mut name = smol_str::SmolStrBuilder::new();
    name.push_str(prefix);
    name.push_str(digits(n as u64, &mut buffer));
    name.finish()
}

/// The SQL dialects hireplane targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// How a parameter is typed in the statement (PostgreSQL needs to be told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Text,
    Integer,
    Number,
    Bool,
    Instant,
    Date,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SqlExpr {
    /// `"alias"."column"`.
    Column(Name, &'static str),
    /// A column of a CTE or subquery: `"alias"."name"`.
    Ref(Name, Name),
    /// The org id: always the first parameter.
    Org,
    Param(ParamId, ParamType),
    Int(i64),
    Float(f64),
    /// A string constant of the compiler's own (never user text).
    Const(&'static str),
    /// A string literal from a viewer's policy (data, not the compiler's): rendered as a
    /// standard SQL string literal with single quotes doubled, the same in both dialects.
    Text(String),
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// A column of the row a policy predicate guards; the compiler binds it to the row's alias
    /// ([`bind_row`]) when it places the predicate, so it never reaches the rendered SQL.
    RowColumn(&'static str),
    Null,
    Not(Box<SqlExpr>),
    Neg(Box<SqlExpr>),
    /// `left op right`; both operands in one box (one allocation per operator).
    Binary(&'static str, Box<(SqlExpr, SqlExpr)>),
    Func(&'static str, Vec<SqlExpr>),
    Agg {
        func: &'static str,
        distinct: bool,
        arg: Option<Box<SqlExpr>>,
    },
    /// `percentile_cont(fraction) WITHIN GROUP (ORDER BY expr)`.
    WithinGroup {
        func: &'static str,
        fraction: Box<SqlExpr>,
        order: Box<SqlExpr>,
    },
    Case {
        whens: Vec<(SqlExpr, SqlExpr)>,
        otherwise: Option<Box<SqlExpr>>,
    },
    Cast(Box<SqlExpr>, &'static str),
    IsNull(Box<SqlExpr>, bool),
    InList(Box<SqlExpr>, Vec<SqlExpr>, bool),
    Exists(Box<Select>),
    Subquery(Box<Select>),
    /// `expr IN (SELECT ...)`, or `NOT IN` when negated.
    InSelect(Box<SqlExpr>, Box<Select>, bool),
    /// `EXTRACT(EPOCH FROM expr)`.
    Epoch(Box<SqlExpr>),
    /// `expr AT TIME ZONE zone`.
    AtTimeZone(Box<SqlExpr>, Box<SqlExpr>),
    /// `func(arg) OVER (PARTITION BY .. ORDER BY ..)`.
    Window {
        func: &'static str,
        arg: Box<SqlExpr>,
        partition_by: Vec<SqlExpr>,
        order_by: Vec<SqlExpr>,
    },
    /// `aggregate FILTER (WHERE condition)` (PostgreSQL).
    Filtered(Box<SqlExpr>, Box<SqlExpr>),
    /// `expr COLLATE "C"`: byte order, as SQLite's default (PostgreSQL).
    CollateC(Box<SqlExpr>),
    /// `TIMESTAMPTZ 'epoch' + expr * INTERVAL '1 microsecond'` (PostgreSQL).
    FromMicros(Box<SqlExpr>),
}

impl SqlExpr {
    pub fn col(alias: &str, column: &'static str) -> SqlExpr {
        SqlExpr::Column(alias.into(), column)
    }
    pub fn bin(op: &'static str, l: SqlExpr, r: SqlExpr) -> SqlExpr {
        SqlExpr::Binary(op, Box::new((l, r)))
    }
    pub fn and(l: SqlExpr, r: SqlExpr) -> SqlExpr {
        SqlExpr::bin("AND", l, r)
    }
    pub fn eq(l: SqlExpr, r: SqlExpr) -> SqlExpr {
        SqlExpr::bin("=", l, r)
    }
    pub fn all(mut parts: Vec<SqlExpr>) -> Option<SqlExpr> {
        let first = if parts.is_empty() {
            return None;
        } else {
            parts.remove(0)
        };
        Some(parts.into_iter().fold(first, SqlExpr::and))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TableSource {
    Table(&'static str),
    Cte(Name),
    /// A table-valued function such as SQLite's `json_each(list)`.
    Function(&'static str, Vec<SqlExpr>),
    /// `LATERAL (select)` (PostgreSQL): a subquery that may read the columns of the tables
    /// before it, run once per row of them.
    Lateral(Box<Select>),
    /// `(select)`: a derived table.
    Subquery(Box<Select>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub source: TableSource,
    pub alias: Name,
    pub on: SqlExpr,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    pub ctes: Vec<(Name, Select)>,
    pub columns: Vec<(SqlExpr, Name)>,
    pub from: Option<(TableSource, Name)>,
    pub joins: Vec<Join>,
    pub filter: Option<SqlExpr>,
    pub group_by: Vec<SqlExpr>,
    pub having: Option<SqlExpr>,
    /// Other selects appended with `UNION ALL` (same columns).
    pub union_all: Vec<Select>,
    pub order_by: Vec<(SqlExpr, bool)>,
    pub limit: Option<u64>,
}

/// Renders a statement.
pub fn render(select: &Select, dialect: Dialect) -> String {
    // Most statements are 0.5-5 KB: one allocation up front rather than a dozen doublings.
    let mut out = String::with_capacity(2048);
    Renderer {
        dialect,
        out: &mut out,
        indent: 0,
    }
    .select(select);
    out
}

/// Appends `ident` as a quoted identifier (no allocation unless it holds a quote).
fn push_quoted(out: &mut String, ident: &str) {
    out.push('"');
    if ident.contains('"') {
        out.push_str(&ident.replace('"', "\"\""));
    } else {
        out.push_str(ident);
    }
    out.push('"');
}

/// Appends the decimal digits of `n` (what `write!` does, without the formatting machinery:
/// a statement holds dozens of numbers).
fn push_uint(out: &mut String, n: u64) {
    let mut buffer = [0u8; 20];
    out.push_str(digits(n, &mut buffer));
}

/// The decimal digits of `n`, written at the end of `buffer` (20 digits hold any `u64`).
fn digits(mut n: u64, buffer: &mut [u8; 20]) -> &str {
    let mut start = buffer.len();
    for slot in buffer.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(buffer.get(start..).unwrap_or_default()).unwrap_or_default()
}

/// Appends `text` as a standard SQL string literal, single quotes doubled (no allocation
/// unless it holds a quote).
fn push_literal(out: &mut String, text: &str) {
    out.push('\'');
    if text.contains('\'') {
        out.push_str(&text.replace('\'', "''"));
    } else {
        out.push_str(text);
    }
    out.push('\'');
}

struct Renderer<'a> {
    dialect: Dialect,
    out: &'a mut String,
    indent: usize,
}

impl Renderer<'_> {
    fn nl(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    fn select(&mut self, s: &Select) {
        if !s.ctes.is_empty() {
            self.out.push_str("WITH ");
            for (i, (name, cte)) in s.ctes.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                    self.nl();
                    self.out.push_str("     ");
                }
                push_quoted(self.out, name);
                self.out.push_str(" AS (");
                self.indent += 1;
                self.nl();
                self.select(cte);
                self.indent -= 1;
                self.nl();
                self.out.push(')');
            }
            self.nl();
        }
        self.core(s);
        for other in &s.union_all {
            self.nl();
            self.out.push_str("UNION ALL");
            self.nl();
            self.core(other);
        }
        if !s.order_by.is_empty() {
            self.nl();
            self.out.push_str("ORDER BY ");
            for (i, (e, desc)) in s.order_by.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.expr(e);
                // NULLs sort the same way in both dialects: last ascending, first descending.
                self.out.push_str(if *desc {
                    " DESC NULLS FIRST"
                } else {
                    " ASC NULLS LAST"
                });
            }
        }
        if let Some(n) = s.limit {
            self.nl();
            let _ = write!(self.out, "LIMIT {n}");
        }
    }

    fn core(&mut self, s: &Select) {
        self.out.push_str("SELECT ");
        for (i, (e, name)) in s.columns.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
                self.nl();
                self.out.push_str("       ");
            }
            self.expr(e);
            self.out.push_str(" AS ");
            push_quoted(self.out, name);
        }
        if let Some((source, alias)) = &s.from {
            self.nl();
            self.out.push_str("FROM ");
            self.source(source);
            self.out.push_str(" AS ");
            push_quoted(self.out, alias);
        }
        for j in &s.joins {
            self.nl();
            self.out.push_str(match j.kind {
                JoinKind::Inner => "JOIN ",
                JoinKind::Left => "LEFT JOIN ",
            });
            self.source(&j.source);
            self.out.push_str(" AS ");
            push_quoted(self.out, &j.alias);
            self.out.push_str(" ON ");
            self.expr(&j.on);
        }
        if let Some(f) = &s.filter {
            self.nl();
            self.out.push_str("WHERE ");
            self.expr(f);
        }
        if !s.group_by.is_empty() {
            self.nl();
            self.out.push_str("GROUP BY ");
            for (i, e) in s.group_by.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.expr(e);
            }
        }
        if let Some(h) = &s.having {
            self.nl();
            self.out.push_str("HAVING ");
            self.expr(h);
        }
    }

    fn source(&mut self, source: &TableSource) {
        match source {
            TableSource::Table(t) => push_quoted(self.out, t),
            TableSource::Cte(t) => push_quoted(self.out, t),
            TableSource::Function(name, args) => {
                self.out.push_str(name);
                self.out.push('(');
                self.list(args);
                self.out.push(')');
            }
            TableSource::Lateral(select) | TableSource::Subquery(select) => {
                if matches!(source, TableSource::Lateral(_)) {
                    self.out.push_str("LATERAL ");
                }
                self.out.push('(');
                self.indent += 1;
                self.nl();
                self.select(select);
                self.indent -= 1;
                self.nl();
                self.out.push(')');
            }
        }
    }

    fn param(&mut self, index: usize, ty: ParamType) {
        match self.dialect {
            Dialect::Sqlite => {
                self.out.push('?');
                push_uint(self.out, index as u64);
            }
            Dialect::Postgres => {
                let (before, after) = match ty {
                    ParamType::Text => ("", "::text"),
                    ParamType::Integer => ("", "::bigint"),
                    ParamType::Number => ("", "::float8"),
                    ParamType::Bool => ("", "::boolean"),
                    ParamType::Instant => (
                        "(TIMESTAMPTZ 'epoch' + ",
                        "::bigint * INTERVAL '1 microsecond')",
                    ),
                    ParamType::Date => ("", "::text::date"),
                };
                self.out.push_str(before);
                self.out.push('$');
                push_uint(self.out, index as u64);
                self.out.push_str(after);
            }
        }
    }

    fn expr(&mut self, e: &SqlExpr) {
        match e {
            SqlExpr::Column(alias, column) => {
                push_quoted(self.out, alias);
                self.out.push('.');
                push_quoted(self.out, column);
            }
            SqlExpr::Ref(alias, name) => {
                push_quoted(self.out, alias);
                self.out.push('.');
                push_quoted(self.out, name);
            }
            SqlExpr::Org => self.param(1, ParamType::Text),
            SqlExpr::Param(id, ty) => self.param(id.0 + 2, *ty),
            SqlExpr::Int(i) => {
                if *i < 0 {
                    self.out.push('-');
                }
                push_uint(self.out, i.unsigned_abs());
            }
            SqlExpr::Float(f) => {
                let _ = write!(self.out, "{f:?}");
            }
            SqlExpr::Const(s) => push_literal(self.out, s),
            SqlExpr::Text(s) => push_literal(self.out, s),
            SqlExpr::Bool(b) => self.out.push_str(if *b { "TRUE" } else { "FALSE" }),
            SqlExpr::RowColumn(column) => {
                // Always bound before rendering; an unbound one names no alias of the statement.
                push_quoted(self.out, "row");
                self.out.push('.');
                push_quoted(self.out, column);
            }
            SqlExpr::Null => self.out.push_str("NULL"),
            SqlExpr::Not(inner) => {
                self.out.push_str("NOT (");
                self.expr(inner);
                self.out.push(')');
            }
            SqlExpr::Neg(inner) => {
                self.out.push_str("-(");
                self.expr(inner);
                self.out.push(')');
            }
            SqlExpr::Binary(op, operands) => {
                let (l, r) = operands.as_ref();
                self.operand(l);
                self.out.push(' ');
                self.out.push_str(op);
                self.out.push(' ');
                self.operand(r);
            }
            SqlExpr::Func(name, args) => {
                self.out.push_str(name);
                self.out.push('(');
                self.list(args);
                self.out.push(')');
            }
            SqlExpr::Agg {
                func,
                distinct,
                arg,
            } => {
                self.out.push_str(func);
                self.out.push('(');
                if *distinct {
                    self.out.push_str("DISTINCT ");
                }
                match arg {
                    Some(a) => self.expr(a),
                    None => self.out.push('*'),
                }
                self.out.push(')');
            }
            SqlExpr::WithinGroup {
                func,
                fraction,
                order,
            } => {
                let _ = write!(self.out, "{func}(");
                self.expr(fraction);
                self.out.push_str(") WITHIN GROUP (ORDER BY ");
                self.expr(order);
                self.out.push(')');
            }
            SqlExpr::Case { whens, otherwise } => {
                self.out.push_str("CASE");
                for (w, t) in whens {
                    self.out.push_str(" WHEN ");
                    self.expr(w);
                    self.out.push_str(" THEN ");
                    self.expr(t);
                }
                if let Some(o) = otherwise {
                    self.out.push_str(" ELSE ");
                    self.expr(o);
                }
                self.out.push_str(" END");
            }
            SqlExpr::Cast(inner, ty) => {
                self.out.push_str("CAST(");
                self.expr(inner);
                let _ = write!(self.out, " AS {ty})");
            }
            SqlExpr::IsNull(inner, negated) => {
                self.operand(inner);
                self.out
                    .push_str(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            SqlExpr::InList(inner, list, negated) => {
                self.operand(inner);
                self.out
                    .push_str(if *negated { " NOT IN (" } else { " IN (" });
                self.list(list);
                self.out.push(')');
            }
            SqlExpr::Exists(select) => {
                self.out.push_str("EXISTS (");
                self.indent += 2;
                self.select(select);
                self.indent -= 2;
                self.out.push(')');
            }
            SqlExpr::Subquery(select) => {
                self.out.push('(');
                self.indent += 2;
                self.select(select);
                self.indent -= 2;
                self.out.push(')');
            }
            SqlExpr::InSelect(inner, select, negated) => {
                self.operand(inner);
                self.out
                    .push_str(if *negated { " NOT IN (" } else { " IN (" });
                self.indent += 2;
                self.select(select);
                self.indent -= 2;
                self.out.push(')');
            }
            SqlExpr::Epoch(inner) => {
                self.out.push_str("EXTRACT(EPOCH FROM ");
                self.expr(inner);
                self.out.push(')');
            }
            SqlExpr::AtTimeZone(inner, zone) => {
                self.operand(inner);
                self.out.push_str(" AT TIME ZONE ");
                self.operand(zone);
            }
            SqlExpr::Window {
                func,
                arg,
                partition_by,
                order_by,
            } => {
                let _ = write!(self.out, "{func}(");
                self.expr(arg);
                self.out.push_str(") OVER (PARTITION BY ");
                self.list(partition_by);
                self.out.push_str(" ORDER BY ");
                self.list(order_by);
                self.out.push(')');
            }
            SqlExpr::Filtered(agg, cond) => {
                self.expr(agg);
                self.out.push_str(" FILTER (WHERE ");
                self.expr(cond);
                self.out.push(')');
            }
            SqlExpr::CollateC(inner) => {
                self.operand(inner);
                self.out.push_str(" COLLATE \"C\"");
            }
            SqlExpr::FromMicros(inner) => {
                self.out.push_str("(TIMESTAMPTZ 'epoch' + ");
                self.operand(inner);
                self.out.push_str(" * INTERVAL '1 microsecond')");
            }
        }
    }

    /// An operand of a binary operator: parenthesised unless atomic.
    fn operand(&mut self, e: &SqlExpr) {
        let atomic = matches!(
            e,
            SqlExpr::Column(..)
                | SqlExpr::Ref(..)
                | SqlExpr::Org
                | SqlExpr::Param(..)
                | SqlExpr::Int(_)
                | SqlExpr::Const(_)
                | SqlExpr::Text(_)
                | SqlExpr::Bool(_)
                | SqlExpr::RowColumn(_)
                | SqlExpr::Null
                | SqlExpr::Func(..)
                | SqlExpr::Agg { .. }
                | SqlExpr::Cast(..)
                | SqlExpr::Case { .. }
                | SqlExpr::Exists(..)
                | SqlExpr::Subquery(..)
                | SqlExpr::Epoch(..)
                | SqlExpr::FromMicros(..)
                | SqlExpr::WithinGroup { .. }
                | SqlExpr::Window { .. }
                | SqlExpr::Filtered(..)
        ) || matches!(e, SqlExpr::Float(f) if *f >= 0.0);
        if atomic {
            self.expr(e);
        } else {
            self.out.push('(');
            self.expr(e);
            self.out.push(')');
        }
    }

    fn list(&mut self, items: &[SqlExpr]) {
        for (i, a) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(a);
        }
    }
}

/// Calls `f` on every parameter reference of a statement (to renumber them).
pub fn visit_params(select: &mut Select, f: &mut dyn FnMut(&mut ParamId)) {
    walk_select_mut(select, &mut |e| {
        if let SqlExpr::Param(id, _) = e {
            f(id)
        }
    });
}

/// A policy predicate placed on the row at `alias`: a copy with every [`SqlExpr::RowColumn`]
/// (also inside nested subqueries) replaced by that column of `alias`.
pub fn bind_row(expr: &SqlExpr, alias: &str) -> SqlExpr {
    let mut bound = expr.clone();
    walk_expr_mut(&mut bound, &mut |e| {
        if let SqlExpr::RowColumn(c) = e {
            *e = SqlExpr::Column(alias.into(), c);
        }
    });
    bound
}

/// Whether an expression (or a subquery inside it) holds a parameter of the report.
pub fn has_params(expr: &SqlExpr) -> bool {
    let mut found = false;
    let mut copy = expr.clone();
    walk_expr_mut(&mut copy, &mut |e| found |= matches!(e, SqlExpr::Param(..)));
    found
}

/// Calls `f` on every expression of a statement, its CTEs, unions and subqueries (each node
/// before the nodes inside it).
pub fn walk_select_mut(select: &mut Select, f: &mut dyn FnMut(&mut SqlExpr)) {
    for (_, cte) in &mut select.ctes {
        walk_select_mut(cte, f);
    }
    for (e, _) in &mut select.columns {
        walk_expr_mut(e, f);
    }
    if let Some((source, _)) = &mut select.from {
        walk_source_mut(source, f);
    }
    for j in &mut select.joins {
        walk_source_mut(&mut j.source, f);
        walk_expr_mut(&mut j.on, f);
    }
    for e in select
        .filter
        .iter_mut()
        .chain(select.having.iter_mut())
        .chain(select.group_by.iter_mut())
    {
        walk_expr_mut(e, f);
    }
    for (e, _) in &mut select.order_by {
        walk_expr_mut(e, f);
    }
    for u in &mut select.union_all {
        walk_select_mut(u, f);
    }
}

fn walk_source_mut(source: &mut TableSource, f: &mut dyn FnMut(&mut SqlExpr)) {
    match source {
        TableSource::Table(_) | TableSource::Cte(_) => {}
        TableSource::Function(_, args) => args.iter_mut().for_each(|a| walk_expr_mut(a, f)),
        TableSource::Lateral(select) | TableSource::Subquery(select) => walk_select_mut(select, f),
    }
}

/// Calls `f` on an expression and every expression inside it, subqueries included.
pub fn walk_expr_mut(e: &mut SqlExpr, f: &mut dyn FnMut(&mut SqlExpr)) {
    f(e);
    match e {
        SqlExpr::Param(..)
        | SqlExpr::Column(..)
        | SqlExpr::Ref(..)
        | SqlExpr::Org
        | SqlExpr::Int(_)
        | SqlExpr::Float(_)
        | SqlExpr::Const(_)
        | SqlExpr::Text(_)
        | SqlExpr::Bool(_)
        | SqlExpr::RowColumn(_)
        | SqlExpr::Null => {}
        SqlExpr::Not(a)
        | SqlExpr::Neg(a)
        | SqlExpr::Cast(a, _)
        | SqlExpr::IsNull(a, _)
        | SqlExpr::Epoch(a)
        | SqlExpr::FromMicros(a)
        | SqlExpr::CollateC(a) => walk_expr_mut(a, f),
        SqlExpr::Binary(_, operands) => {
            walk_expr_mut(&mut operands.0, f);
            walk_expr_mut(&mut operands.1, f);
        }
        SqlExpr::AtTimeZone(a, b) | SqlExpr::Filtered(a, b) => {
            walk_expr_mut(a, f);
            walk_expr_mut(b, f);
        }
        SqlExpr::WithinGroup {
            fraction, order, ..
        } => {
            walk_expr_mut(fraction, f);
            walk_expr_mut(order, f);
        }
        SqlExpr::Func(_, args) => args.iter_mut().for_each(|a| walk_expr_mut(a, f)),
        SqlExpr::Agg { arg, .. } => {
            if let Some(a) = arg {
                walk_expr_mut(a, f);
            }
        }
        SqlExpr::Window {
            arg,
            partition_by,
            order_by,
            ..
        } => {
            walk_expr_mut(arg, f);
            partition_by
                .iter_mut()
                .chain(order_by.iter_mut())
                .for_each(|a| walk_expr_mut(a, f));
        }
        SqlExpr::Case { whens, otherwise } => {
            for (w, t) in whens {
                walk_expr_mut(w, f);
                walk_expr_mut(t, f);
            }
            if let Some(o) = otherwise {
                walk_expr_mut(o, f);
            }
        }
        SqlExpr::InList(a, list, _) => {
            walk_expr_mut(a, f);
            list.iter_mut().for_each(|x| walk_expr_mut(x, f));
        }
        SqlExpr::Exists(s) | SqlExpr::Subquery(s) => walk_select_mut(s, f),
        SqlExpr::InSelect(a, s, _) => {
            walk_expr_mut(a, f);
            walk_select_mut(s, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_render_as_write_would() {
        for n in [0u64, 7, 9, 10, 99, 100, 12_345, u64::MAX] {
            let mut out = String::new();
            push_uint(&mut out, n);
            assert_eq!(out, n.to_string());
            assert_eq!(indexed("m", n as usize).as_str(), format!("m{n}"));
        }
        for i in [0i64, -1, 42, -42, i64::MAX, i64::MIN] {
            let select = Select {
                columns: vec![(SqlExpr::Int(i), "v".into())],
                ..Default::default()
            };
            assert_eq!(
                render(&select, Dialect::Sqlite),
                format!("SELECT {i} AS \"v\"")
            );
        }
        let select = Select {
            columns: vec![
                (SqlExpr::Param(ParamId(10), ParamType::Instant), "a".into()),
                (SqlExpr::Const("it's"), "b".into()),
            ],
            ..Default::default()
        };
        assert_eq!(
            render(&select, Dialect::Postgres),
            "SELECT (TIMESTAMPTZ 'epoch' + $12::bigint * INTERVAL '1 microsecond') AS \"a\",\n       'it''s' AS \"b\""
        );
        assert_eq!(
            render(&select, Dialect::Sqlite),
            "SELECT ?12 AS \"a\",\n       'it''s' AS \"b\""
        );
    }
}
