//! Residual policies to SQL predicates.
//!
//! Cedar's type-aware partial evaluation, run with the viewer known and the resource unknown,
//! leaves per policy a residual condition over `resource`. This module translates one into a
//! predicate over the guarded row (`SqlExpr::RowColumn`), using the attribute meanings of
//! [`crate::model`]:
//!
//! - a condition on an entity a path of references away (`resource.application.job.confidential`)
//!   becomes a chain of uncorrelated `fk IN (SELECT key FROM target WHERE ...)`, which both
//!   databases evaluate once per statement (a hashed set) rather than once per row;
//! - `set.contains(User::"u")` becomes `key IN (SELECT ... the rows linking u)`;
//! - `resource.org == Org::"o"` is true for the viewer's org and false for any other: every table
//!   reference of a statement is already scoped to the viewer's org by the compiler.
//!
//! Every predicate is two-valued (never NULL), so `NOT` means what Cedar means. Anything else
//! (extension functions, `like`, arithmetic, attributes of named entities, comparisons between
//! two attributes, residual errors) is refused with [`Untranslatable`]: the caller refuses the
//! report rather than guess, because a filter that is too wide must be impossible.

use crate::model::{AttrKind, ColumnType, Derived, Membership, TypeModel, entity_type};
use cedar_policy::pst::{self, BinaryOp, Expr, Literal, UnaryOp, Var};
use query_compiler::sql::{Name, Select, SqlExpr, TableSource};

/// Why a residual cannot be expressed in SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable(pub String);

type Result<T> = std::result::Result<T, Untranslatable>;

fn refuse<T>(what: impl Into<String>) -> Result<T> {
    Err(Untranslatable(what.into()))
}

/// Translates residual conditions for rows of one type.
pub struct Translator<'a> {
    /// The viewer's org (the only org any statement reads).
    pub org: &'a str,
    /// The viewer's user id (what `principal` stands for, if a residual still names it).
    pub user: &'a str,
    /// The type of `resource`.
    pub resource: &'static TypeModel,
    /// When the guarded rows are not the resource's own but reference it (demographics rows
    /// and their candidate): the referencing column.
    via: Option<&'static str>,
    /// Write top-level references as correlated `EXISTS` (see [`Translator::sql`]).
    correlate: bool,
    /// Read attributes the row stores itself from its own column ([`Translator::stored`]).
    stored: bool,
    next: usize,
}

/// The row an atom is about: the guarded row, whose columns are `RowColumn`s until the compiler
/// (or a subquery of [`Translator::sql`]) binds them to an alias.
struct Row;

impl Row {
    fn column(&self, c: &'static str) -> SqlExpr {
        SqlExpr::RowColumn(c)
    }
}

/// A path of references from `resource`: the references taken, and the type reached.
#[derive(Clone)]
struct Path {
    hops: Vec<(&'static str, &'static str, bool)>,
    /// Per hop, the attribute names it stands for: one, several where a declared shortcut
    /// replaced a chain of references, none for the referencing column of [`Translator::through`].
    names: Vec<Vec<&'static str>>,
    ty: &'static TypeModel,
}

/// What a sub-expression stands for.
enum Val {
    Pred(P),
    Const(bool),
    Long(i64),
    Str(String),
    Entity(String, String),
    Path(Path),
    Column(Path, &'static str, ColumnType),
    Users(Path, Membership),
    Org,
}

impl<'a> Translator<'a> {
    pub fn new(org: &'a str, user: &'a str, resource: &'static TypeModel) -> Translator<'a> {
        Translator {
            org,
            user,
            resource,
            via: None,
            correlate: false,
            stored: false,
            next: 0,
        }
    }

    /// Top-level references as correlated `EXISTS` (for PostgreSQL; SQLite does not
    /// decorrelate them and keeps the uncorrelated `IN`).
    pub fn correlated(mut self, correlate: bool) -> Translator<'a> {
        self.correlate = correlate;
        self
    }

    /// Attributes of referenced entities that the row stores in a column of its own
    /// ([`crate::model::STORED_ATTRS`]: an application's `job.confidential`) read from that
    /// column (`job_confidential = TRUE`) instead of through the reference (`job_id IN (SELECT
    /// id FROM jobs WHERE confidential = TRUE)`), and a reference tested only for its key being
    /// in a set as the foreign key in that set. For the page form of a filter on PostgreSQL,
    /// where a set under `OR` or `NOT` is probed once per row a page reads.
    pub fn stored(mut self, stored: bool) -> Translator<'a> {
        self.stored = stored;
        self
    }

    /// Filters rows that reference the resource through `column`, e.g. demographics through
    /// their `candidate_id`, instead of the resource's own rows.
    pub fn through(mut self, column: &'static str) -> Translator<'a> {
        self.via = Some(column);
        self
    }

    /// A residual condition as a predicate over the row, or the constant it comes to.
    pub fn condition(&mut self, expr: &Expr) -> Result<Condition> {
        match self.expr(expr)? {
            Val::Const(b) => Ok(Condition::Const(b)),
            Val::Pred(p) => Ok(Condition::Rows(p)),
            Val::Column(path, c, ColumnType::Bool) => {
                Ok(Condition::Rows(self.bool_column(&path, c)))
            }
            _ => refuse("the condition is not a boolean"),
        }
    }

    fn alias(&mut self) -> Name {
        self.next += 1;
        query_compiler::sql::indexed("z", self.next)
    }

    fn expr(&mut self, e: &Expr) -> Result<Val> {
        match e {
            Expr::Literal(lit) => Ok(match lit {
                Literal::Bool(b) => Val::Const(*b),
                Literal::Long(n) => Val::Long(*n),
                Literal::String(s) => Val::Str(s.to_string()),
                Literal::EntityUID(uid) => Val::Entity(type_name(&uid.ty), uid.eid.to_string()),
                _ => return refuse("a literal of an unsupported kind"),
            }),
            Expr::Var(Var::Resource) => Ok(Val::Path(match self.via {
                Some(column) => Path {
                    hops: vec![(column, self.resource.name, false)],
                    names: vec![Vec::new()],
                    ty: self.resource,
                },
                None => Path {
                    hops: Vec::new(),
                    names: Vec::new(),
                    ty: self.resource,
                },
            })),
            Expr::Var(Var::Principal) => Ok(Val::Entity("User".into(), self.user.to_owned())),
            Expr::Var(_) => refuse("`action` and `context` are not known per row"),
            Expr::GetAttr { expr, attr } => {
                let base = self.expr(expr)?;
                self.get_attr(base, attr)
            }
            Expr::HasAttr { expr, attrs } => {
                if attrs.len() != 1 {
                    return refuse("`has` with a nested attribute path");
                }
                let attr = attrs.first();
                match self.expr(expr)? {
                    Val::Path(path) => self.has(&path, attr),
                    _ => refuse(format!(
                        "`has {attr}` on something other than an entity of the row"
                    )),
                }
            }
            Expr::UnaryOp {
                op: UnaryOp::Not,
                expr,
            } => {
                let inner = self.boolean(expr)?;
                Ok(not(inner))
            }
            Expr::UnaryOp { op, .. } => refuse(format!("the operator `{op:?}`")),
            Expr::BinaryOp { op, left, right } => self.binary(*op, left, right),
            Expr::IfThenElse {
                cond,
                then_expr,
                else_expr,
            } => {
                let c = self.boolean(cond)?;
                let t = self.boolean(then_expr)?;
                let f = self.boolean(else_expr)?;
                let neg = not(clone_val(&c));
                Ok(or(and(c, t), and(neg, f)))
            }
            Expr::Is {
                expr,
                entity_type,
                in_expr,
            } => {
                if in_expr.is_some() {
                    return refuse("`is ... in ...`");
                }
                let ty = strip(&entity_type.to_string()).to_owned();
                match self.expr(expr)? {
                    Val::Path(path) => Ok(Val::Const(path.ty.name == ty)),
                    Val::Entity(t, _) => Ok(Val::Const(t == ty)),
                    _ => refuse("`is` on something other than an entity"),
                }
            }
            Expr::Like { .. } => refuse("`like` patterns"),
            Expr::Set(_) => refuse("set literals"),
            Expr::Record(_) => refuse("records"),
            Expr::Slot(_) => refuse("template slots"),
            Expr::Unknown { name } => refuse(format!("the unknown `{name}`")),
            Expr::ResidualError => refuse("a part that always fails to evaluate"),
            _ => refuse("an expression of an unsupported kind"),
        }
    }

    /// A sub-expression that must be a boolean (a predicate or a constant).
    fn boolean(&mut self, e: &Expr) -> Result<Val> {
        match self.expr(e)? {
            v @ (Val::Pred(_) | Val::Const(_)) => Ok(v),
            Val::Column(path, c, ColumnType::Bool) => Ok(Val::Pred(self.bool_column(&path, c))),
            _ => refuse("an operand that is not a boolean"),
        }
    }

    fn bool_column(&mut self, path: &Path, c: &'static str) -> P {
        self.at(path, &|row| {
            SqlExpr::bin("=", row.column(c), SqlExpr::Bool(true))
        })
    }

    fn get_attr(&mut self, base: Val, attr: &str) -> Result<Val> {
        let Val::Path(path) = base else {
            return refuse(format!(
                "the attribute `{attr}` of something other than the row or an entity it references (attributes of named entities are not known here)"
            ));
        };
        let Some(a) = path.ty.attr(attr) else {
            return refuse(format!("`{}` has no attribute `{attr}`", path.ty.name));
        };
        if self.stored
            && self.via.is_none()
            && let AttrKind::Column(_, ty) = a.kind
        {
            let names: Vec<&'static str> = path.names.iter().flatten().copied().collect();
            if let Some(s) = crate::model::stored_attr(self.resource.name, &names, attr)
                && s.column_type == ty
                && path.hops.iter().all(|(_, _, optional)| !optional)
            {
                let row = Path {
                    hops: Vec::new(),
                    names: Vec::new(),
                    ty: self.resource,
                };
                return Ok(Val::Column(row, s.column, ty));
            }
        }
        Ok(match a.kind {
            AttrKind::Org => Val::Org,
            AttrKind::Column(c, ty) => Val::Column(path, c, ty),
            AttrKind::Ref {
                column,
                target,
                optional,
            } => {
                let Some(ty) = entity_type(target) else {
                    return refuse(format!("unknown type `{target}`"));
                };
                let mut path = Path { ty, ..path };
                path.hops.push((column, target, optional));
                path.names.push(vec![a.name]);
                self.shorten(&mut path);
                Val::Path(path)
            }
            AttrKind::Users(m) => Val::Users(path, m),
            AttrKind::Derived(d) => Val::Pred(under(&path, derived(d))),
        })
    }

    fn has(&mut self, path: &Path, attr: &str) -> Result<Val> {
        match path.ty.attr(attr).map(|a| a.kind) {
            Some(AttrKind::Ref {
                column,
                optional: true,
                ..
            }) => Ok(Val::Pred(self.at_sel(path, 0.5, &|row| {
                SqlExpr::IsNull(Box::new(row.column(column)), true)
            }))),
            Some(_) => Ok(Val::Const(true)),
            None => Ok(Val::Const(false)),
        }
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr) -> Result<Val> {
        match op {
            BinaryOp::And => {
                let l = self.boolean(left)?;
                if let Val::Const(false) = l {
                    return Ok(l);
                }
                let r = self.boolean(right)?;
                Ok(and(l, r))
            }
            BinaryOp::Or => {
                let l = self.boolean(left)?;
                if let Val::Const(true) = l {
                    return Ok(l);
                }
                let r = self.boolean(right)?;
                Ok(or(l, r))
            }
            BinaryOp::Eq => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                self.equal(l, r)
            }
            BinaryOp::NotEq => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                Ok(not(self.equal(l, r)?))
            }
            BinaryOp::Less | BinaryOp::LessEq | BinaryOp::Greater | BinaryOp::GreaterEq => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                let sql = match op {
                    BinaryOp::Less => "<",
                    BinaryOp::LessEq => "<=",
                    BinaryOp::Greater => ">",
                    _ => ">=",
                };
                match (l, r) {
                    (Val::Long(a), Val::Long(b)) => Ok(Val::Const(match op {
                        BinaryOp::Less => a < b,
                        BinaryOp::LessEq => a <= b,
                        BinaryOp::Greater => a > b,
                        _ => a >= b,
                    })),
                    (Val::Column(path, c, ColumnType::Long), Val::Long(n)) => {
                        Ok(Val::Pred(self.at(&path, &|row| {
                            SqlExpr::bin(sql, row.column(c), SqlExpr::Int(n))
                        })))
                    }
                    (Val::Long(n), Val::Column(path, c, ColumnType::Long)) => {
                        Ok(Val::Pred(self.at(&path, &|row| {
                            SqlExpr::bin(sql, SqlExpr::Int(n), row.column(c))
                        })))
                    }
                    _ => refuse("a comparison other than an integer attribute with a number"),
                }
            }
            BinaryOp::Contains => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                self.contains(l, r)
            }
            BinaryOp::In => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                // hireplane's entities have no parents: `a in b` is `a == b`, and `a in set` is
                // membership.
                match r {
                    users @ Val::Users(..) => self.contains(users, l),
                    r => self.equal(l, r),
                }
            }
            other => refuse(format!("the operator `{other:?}`")),
        }
    }

    fn contains(&mut self, set: Val, member: Val) -> Result<Val> {
        match (set, member) {
            (Val::Users(path, m), Val::Entity(ty, id)) => {
                if ty != "User" {
                    return Ok(Val::Const(false));
                }
                let key = key_of(path.ty)?;
                let keys = membership(m, &id);
                Ok(Val::Pred(self.at(&path, &|row| {
                    in_select(row.column(key), keys.clone())
                })))
            }
            _ => refuse("`contains` other than a set of users of the row containing a named user"),
        }
    }

    fn equal(&mut self, l: Val, r: Val) -> Result<Val> {
        match (l, r) {
            (Val::Const(a), Val::Const(b)) => Ok(Val::Const(a == b)),
            (Val::Long(a), Val::Long(b)) => Ok(Val::Const(a == b)),
            (Val::Str(a), Val::Str(b)) => Ok(Val::Const(a == b)),
            (Val::Entity(t1, i1), Val::Entity(t2, i2)) => Ok(Val::Const(t1 == t2 && i1 == i2)),
            (Val::Org, Val::Entity(ty, id)) | (Val::Entity(ty, id), Val::Org) => {
                Ok(Val::Const(ty == "Org" && id == self.org))
            }
            (Val::Column(path, c, ty), lit) | (lit, Val::Column(path, c, ty)) => {
                let value = match (ty, lit) {
                    (ColumnType::Text, Val::Str(s)) => SqlExpr::Text(s),
                    (ColumnType::Long, Val::Long(n)) => SqlExpr::Int(n),
                    (ColumnType::Bool, Val::Const(b)) => SqlExpr::Bool(b),
                    // Values of different types are never equal in Cedar.
                    (_, Val::Str(_) | Val::Long(_) | Val::Const(_) | Val::Entity(..)) => {
                        return Ok(Val::Const(false));
                    }
                    _ => return refuse("a comparison between two attributes"),
                };
                Ok(Val::Pred(self.at(&path, &|row| {
                    SqlExpr::eq(row.column(c), value.clone())
                })))
            }
            (Val::Path(path), Val::Entity(ty, id)) | (Val::Entity(ty, id), Val::Path(path)) => {
                if path.ty.name != ty {
                    return Ok(Val::Const(false));
                }
                let value = SqlExpr::Text(id);
                match path.hops.split_last() {
                    None => {
                        let key = key_of(path.ty)?;
                        Ok(Val::Pred(P::Atom(
                            SqlExpr::eq(SqlExpr::RowColumn(key), value),
                            0.01,
                        )))
                    }
                    Some(((column, _, optional), rest)) => {
                        let (column, optional) = (*column, *optional);
                        let from = Path {
                            hops: rest.to_vec(),
                            names: path.names.iter().take(rest.len()).cloned().collect(),
                            ty: self.type_at(rest)?,
                        };
                        Ok(Val::Pred(self.at(&from, &|row| {
                            let eq = SqlExpr::eq(row.column(column), value.clone());
                            if optional {
                                SqlExpr::and(
                                    SqlExpr::IsNull(Box::new(row.column(column)), true),
                                    eq,
                                )
                            } else {
                                eq
                            }
                        })))
                    }
                }
            }
            (Val::Path(_), Val::Path(_)) => refuse("a comparison between two entities of the row"),
            _ => refuse("a comparison between values of different kinds"),
        }
    }

    /// Replaces the longest chain of required references at the end of `path` that the type it
    /// starts from declares as a [`crate::model::Shortcut`] by one reference through the column
    /// that stores the chain's end (`resource.application.job` of an interview is
    /// `interviews.job_id`). The store keeps that column equal to the chain's end, so the
    /// predicate means the same; the database reads a few jobs instead of every application.
    fn shorten(&self, path: &mut Path) {
        let n = path.hops.len();
        for start in 0..n.saturating_sub(1) {
            let from = match start.checked_sub(1) {
                // The referencing column of `through` is not an attribute of the resource.
                None if self.via.is_some() => continue,
                None => Some(self.resource),
                Some(before) => path.hops.get(before).and_then(|h| entity_type(h.1)),
            };
            let Some(from) = from else { continue };
            let chain = path.hops.get(start..).unwrap_or_default();
            if chain.iter().any(|(_, _, optional)| *optional) {
                continue;
            }
            let names: Vec<&'static str> = path
                .names
                .get(start..)
                .unwrap_or_default()
                .iter()
                .flatten()
                .copied()
                .collect();
            let Some(shortcut) = from.shortcuts.iter().find(|s| s.path == names.as_slice()) else {
                continue;
            };
            let Some(&(_, target, _)) = chain.last() else {
                continue;
            };
            path.hops.truncate(start);
            path.names.truncate(start);
            path.hops.push((shortcut.column, target, false));
            path.names.push(names);
            return;
        }
    }

    /// The type reached after `hops` from the resource.
    fn type_at(&self, hops: &[(&'static str, &'static str, bool)]) -> Result<&'static TypeModel> {
        match hops.last() {
            None if self.via.is_some() => refuse("naming a row that is reached through another"),
            None => Ok(self.resource),
            Some((_, target, _)) => match entity_type(target) {
                Some(t) => Ok(t),
                None => refuse(format!("unknown type `{target}`")),
            },
        }
    }

    /// A predicate on the entity at the end of `path`, as a predicate on the guarded row (an
    /// atom of estimated selectivity 0.1 under the path's references).
    fn at(&mut self, path: &Path, pred: &dyn Fn(&Row) -> SqlExpr) -> P {
        self.at_sel(path, 0.1, pred)
    }

    fn at_sel(&mut self, path: &Path, selectivity: f64, pred: &dyn Fn(&Row) -> SqlExpr) -> P {
        under(path, P::Atom(pred(&Row), selectivity))
    }

    /// The SQL of a predicate over the guarded row (`RowColumn`s). Each reference becomes one
    /// uncorrelated `fk IN (SELECT key FROM target WHERE ...)`; a required reference whose
    /// condition is estimated to hold for most rows is written as `NOT (fk IN (SELECT ... WHERE
    /// NOT ...))` instead, so that the set the database builds is the small one (the foreign key
    /// guarantees the target row exists, so both mean the same). With [`Translator::correlated`],
    /// a reference at the top level of the predicate (alone or in its `AND`) is written
    /// `[NOT] EXISTS (SELECT 1 FROM target WHERE key = fk AND ...)`: PostgreSQL turns that into a
    /// semi or anti join applied after the report's own conditions, where a hashed `IN` is
    /// probed for every row first.
    pub fn sql(&mut self, p: &P) -> SqlExpr {
        let top = self.correlate;
        self.lower(p, top)
    }

    fn lower(&mut self, p: &P, top: bool) -> SqlExpr {
        match p {
            P::Const(b) => SqlExpr::Bool(*b),
            P::Atom(e, _) => e.clone(),
            P::Not(inner) => SqlExpr::Not(Box::new(self.lower(inner, false))),
            P::And(items) => self.join(items, "AND", top),
            P::Or(items) => self.join(items, "OR", false),
            P::At((column, target, optional), inner) => {
                let (Some(ty), Some(key)) =
                    (entity_type(target), entity_type(target).and_then(|t| t.key))
                else {
                    // Every referenced type has a key (a test over the model checks it).
                    return SqlExpr::Bool(false);
                };
                let flip = !optional && inner.selectivity() > 0.5;
                // With the row's stored attributes (the page form on PostgreSQL): a required
                // reference whose target is tested only for its key being in a set (`job_id IN
                // (SELECT id FROM jobs WHERE id IN <the viewer's hiring teams>)`) is the
                // foreign key in that set (`job_id IN <the viewer's hiring teams>`): the key
                // names an existing row of the org (the foreign key), so the same rows, without
                // reading the target table (a recruiter's page read every job of the org to
                // build its confidential jobs' set).
                if self.stored
                    && !top
                    && !optional
                    && !flip
                    && let P::Atom(SqlExpr::InSelect(x, set, false), _) = inner.as_ref()
                    && **x == SqlExpr::RowColumn(key)
                {
                    return in_select(SqlExpr::RowColumn(column), set.as_ref().clone());
                }
                let inner = if flip {
                    p_not(inner.as_ref().clone())
                } else {
                    inner.as_ref().clone()
                };
                let alias = self.alias();
                let condition = query_compiler::sql::bind_row(&self.lower(&inner, false), &alias);
                let org = SqlExpr::eq(SqlExpr::Column(alias.clone(), "org_id"), SqlExpr::Org);
                let member = if top {
                    let select = Select {
                        columns: vec![(SqlExpr::Int(1), "k".into())],
                        from: Some((TableSource::Table(ty.table), alias.clone())),
                        filter: SqlExpr::all(vec![
                            org,
                            SqlExpr::eq(SqlExpr::Column(alias, key), SqlExpr::RowColumn(column)),
                            condition,
                        ]),
                        ..Default::default()
                    };
                    SqlExpr::Exists(Box::new(select))
                } else {
                    let select = Select {
                        columns: vec![(SqlExpr::Column(alias.clone(), key), "k".into())],
                        from: Some((TableSource::Table(ty.table), alias)),
                        filter: Some(SqlExpr::and(org, condition)),
                        ..Default::default()
                    };
                    in_select(SqlExpr::RowColumn(column), select)
                };
                match (flip, optional) {
                    (true, _) => SqlExpr::Not(Box::new(member)),
                    (false, true) => SqlExpr::and(
                        SqlExpr::IsNull(Box::new(SqlExpr::RowColumn(column)), true),
                        member,
                    ),
                    (false, false) => member,
                }
            }
        }
    }

    fn join(&mut self, items: &[P], op: &'static str, top: bool) -> SqlExpr {
        let mut out: Option<SqlExpr> = None;
        for item in items {
            let e = self.lower(item, top);
            out = Some(match out {
                None => e,
                Some(acc) => SqlExpr::bin(op, acc, e),
            });
        }
        out.unwrap_or(SqlExpr::Bool(op == "AND"))
    }
}

/// A derived boolean of the row: the column the store keeps it in (NOT NULL, so two-valued),
/// with its estimated share of rows, which steers a reference to it to the smaller set (most
/// candidates have a job that is not confidential: `resource.candidate.hasNonConfidentialJob`
/// of an application is `NOT (candidate_id IN (<candidates without one>))`).
fn derived(d: Derived) -> P {
    P::Atom(
        SqlExpr::eq(SqlExpr::RowColumn(d.column()), SqlExpr::Bool(true)),
        d.selectivity(),
    )
}

/// What a residual condition comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Const(bool),
    Rows(P),
}

/// A row predicate before it becomes SQL: atoms (two-valued SQL over the row, with an estimated
/// share of rows for which they hold) under references (`At`: the referenced row satisfies the
/// inner predicate). Built by [`p_and`], [`p_or`], [`p_not`], which fold constants, push `NOT`
/// down to the atoms and merge conditions on the same reference, so each reference is read once.
#[derive(Debug, Clone, PartialEq)]
pub enum P {
    Const(bool),
    Atom(SqlExpr, f64),
    Not(Box<P>),
    And(Vec<P>),
    Or(Vec<P>),
    At(Hop, Box<P>),
}

/// A reference: the foreign key column, the target type, whether it may be absent.
pub type Hop = (&'static str, &'static str, bool);

impl P {
    /// Whether the predicate reads its row's own columns only (atoms under `AND`, `OR`, `NOT`),
    /// or is one reference further.
    fn is_one_scan(&self) -> bool {
        fn atoms_only(p: &P) -> bool {
            match p {
                P::Const(_) | P::Atom(..) => true,
                P::Not(q) => atoms_only(q),
                P::And(items) | P::Or(items) => items.iter().all(atoms_only),
                P::At(..) => false,
            }
        }
        matches!(self, P::At(..)) || atoms_only(self)
    }

    /// The estimated share of rows for which the predicate holds (atoms guess; the estimate
    /// only chooses between equivalent SQL forms, never the meaning).
    pub fn selectivity(&self) -> f64 {
        match self {
            P::Const(b) => f64::from(u8::from(*b)),
            P::Atom(_, s) => *s,
            P::Not(p) => 1.0 - p.selectivity(),
            P::And(items) => items.iter().map(P::selectivity).product(),
            P::Or(items) => 1.0 - items.iter().map(|p| 1.0 - p.selectivity()).product::<f64>(),
            P::At(_, p) => p.selectivity(),
        }
    }
}

pub fn p_not(p: P) -> P {
    match p {
        P::Const(b) => P::Const(!b),
        P::Not(inner) => *inner,
        P::And(items) => items.into_iter().map(p_not).fold(P::Const(false), p_or),
        P::Or(items) => items.into_iter().map(p_not).fold(P::Const(true), p_and),
        // A required reference always finds its row: "not (the row satisfies p)" is "the row
        // satisfies not p".
        P::At(hop, inner) if !hop.2 => P::At(hop, Box::new(p_not(*inner))),
        other => P::Not(Box::new(other)),
    }
}

pub fn p_and(a: P, b: P) -> P {
    combine(a, b, true)
}

pub fn p_or(a: P, b: P) -> P {
    combine(a, b, false)
}

fn combine(a: P, b: P, conjunction: bool) -> P {
    let (absorbing, neutral) = (!conjunction, conjunction);
    match (&a, &b) {
        (P::Const(x), _) if *x == absorbing => return P::Const(absorbing),
        (_, P::Const(x)) if *x == absorbing => return P::Const(absorbing),
        (P::Const(x), _) if *x == neutral => return b,
        (_, P::Const(x)) if *x == neutral => return a,
        _ => {}
    }
    let parts = |p: P| -> Vec<P> {
        match p {
            P::And(items) if conjunction => items,
            P::Or(items) if !conjunction => items,
            other => vec![other],
        }
    };
    let mut items: Vec<P> = parts(a);
    for item in parts(b) {
        // Conditions on the same reference share one subquery, when the merged condition stays
        // one scan of the target: atoms on its own columns, or one further reference. (`a.job
        // IN S OR a.id IN T` inside one subquery would make the database scan every
        // application; two subqueries read two small sets.)
        if let P::At(hop, inner) = &item
            && let Some(P::At(_, existing)) = items
                .iter_mut()
                .find(|i| matches!(i, P::At(h, _) if h == hop))
        {
            let merged = combine(
                existing.as_ref().clone(),
                inner.as_ref().clone(),
                conjunction,
            );
            if merged.is_one_scan() {
                **existing = merged;
                continue;
            }
        }
        items.push(item);
    }
    if items.len() == 1 {
        return items.remove(0);
    }
    if conjunction {
        P::And(items)
    } else {
        P::Or(items)
    }
}

/// A predicate on the entity at the end of `path` as a predicate on the guarded row.
fn under(path: &Path, p: P) -> P {
    path.hops
        .iter()
        .rev()
        .fold(p, |inner, hop| P::At(*hop, Box::new(inner)))
}

/// The keys of the rows whose set of users contains `user`. A set reached through another
/// table is a nested `IN` (the candidates whose applications are among those of the user's
/// seats), not a join: the page form on PostgreSQL turns each level into `= ANY(ARRAY(...))`,
/// evaluated once and used as an index condition of the next (`applications_pkey`), where a
/// join may be planned as a hash join over every application of the org.
fn membership(m: Membership, user_id: &str) -> Select {
    let user = SqlExpr::Text(user_id.to_owned());
    let org = |alias: &str| SqlExpr::eq(SqlExpr::Column(alias.into(), "org_id"), SqlExpr::Org);
    let seat = |alias: &str| SqlExpr::eq(SqlExpr::Column(alias.into(), "user_id"), user.clone());
    let select = |key: (&str, &'static str), from: (&'static str, &str), filter| Select {
        columns: vec![(SqlExpr::Column(key.0.into(), key.1), "k".into())],
        from: Some((TableSource::Table(from.0), from.1.into())),
        filter,
        ..Default::default()
    };
    // `alias.column IN (inner)`, on the org's rows of `alias`.
    let among = |alias: &str, column: &'static str, inner: Select| {
        SqlExpr::all(vec![
            org(alias),
            in_select(SqlExpr::Column(alias.into(), column), inner),
        ])
    };
    let seats = || {
        select(
            ("zp", "interview_id"),
            ("interview_participants", "zp"),
            SqlExpr::all(vec![org("zp"), seat("zp")]),
        )
    };
    // The applications of the user's seats: each seat stores its interview's application
    // (migration 34), so the set is one index range of (org_id, user_id, application_id), in
    // key order, instead of a lookup of each interview.
    let interviewed = || {
        select(
            ("zp", "application_id"),
            ("interview_participants", "zp"),
            SqlExpr::all(vec![org("zp"), seat("zp")]),
        )
    };
    match m {
        Membership::JobHiringTeam => select(
            ("zh", "job_id"),
            ("hiring_team", "zh"),
            SqlExpr::all(vec![org("zh"), seat("zh")]),
        ),
        Membership::InterviewParticipants => seats(),
        Membership::ApplicationInterviewers => interviewed(),
        Membership::CandidateHiringTeam => select(
            ("za", "candidate_id"),
            ("applications", "za"),
            among(
                "za",
                "job_id",
                membership(Membership::JobHiringTeam, user_id),
            ),
        ),
        Membership::JobInterviewers => select(
            ("zp", "job_id"),
            ("interview_participants", "zp"),
            SqlExpr::all(vec![org("zp"), seat("zp")]),
        ),
        Membership::ApplicationFeedbackAuthors => select(
            ("zf", "application_id"),
            ("feedback", "zf"),
            SqlExpr::all(vec![
                org("zf"),
                SqlExpr::eq(SqlExpr::Column("zf".into(), "author_id"), user.clone()),
            ]),
        ),
        Membership::CandidateInterviewers => select(
            ("za", "candidate_id"),
            ("applications", "za"),
            among("za", "id", interviewed()),
        ),
    }
}

fn in_select(e: SqlExpr, select: Select) -> SqlExpr {
    SqlExpr::InSelect(Box::new(e), Box::new(select), false)
}

fn key_of(ty: &TypeModel) -> Result<&'static str> {
    match ty.key {
        Some(k) => Ok(k),
        None => refuse(format!(
            "`{}` rows have no single key, so they cannot be named one by one",
            ty.name
        )),
    }
}

fn strip(name: &str) -> &str {
    name.strip_prefix(crate::engine::NAMESPACE)
        .and_then(|n| n.strip_prefix("::"))
        .unwrap_or(name)
}

fn type_name(ty: &pst::EntityType) -> String {
    strip(&ty.to_string()).to_owned()
}

fn clone_val(v: &Val) -> Val {
    match v {
        Val::Pred(p) => Val::Pred(p.clone()),
        Val::Const(b) => Val::Const(*b),
        // `boolean` only returns predicates and constants.
        _ => Val::Const(false),
    }
}

fn as_p(v: Val) -> P {
    match v {
        Val::Pred(p) => p,
        Val::Const(b) => P::Const(b),
        // Only booleans reach here (see `boolean`): anything else is no row.
        _ => P::Const(false),
    }
}

fn from_p(p: P) -> Val {
    match p {
        P::Const(b) => Val::Const(b),
        p => Val::Pred(p),
    }
}

fn not(v: Val) -> Val {
    from_p(p_not(as_p(v)))
}

fn and(l: Val, r: Val) -> Val {
    from_p(p_and(as_p(l), as_p(r)))
}

fn or(l: Val, r: Val) -> Val {
    from_p(p_or(as_p(l), as_p(r)))
}
