//! The resolved, typed report: every name bound to the catalog, every literal a parameter,
//! every aggregate placed at its grain. Nothing here depends on a SQL dialect.

use crate::catalog::{EntityId, Field, Relation, Type};
use query_syntax::{BinaryOp, RelativeRange, TextOp, TimeUnit};
use serde::Serialize;

/// A value bound to the SQL statement as a parameter; no user text is ever spliced into SQL.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    Text(String),
    Integer(i64),
    Number(f64),
    Bool(bool),
    /// UTC microseconds since 1970.
    Instant(i64),
    /// `YYYY-MM-DD`.
    Date(String),
    /// The first instant (or date) of a relative range, or the first after it; resolved when the
    /// report runs, from today's date in the org's time zone.
    Relative {
        range: RangeSpec,
        end: bool,
        date: bool,
    },
    /// The start of today in the report's zone (`in zone`, else the org's) (or today's date); resolved when the report runs.
    Today {
        date: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RangeSpec {
    pub which: &'static str,
    pub count: u32,
    pub unit: &'static str,
    #[serde(skip)]
    pub range: RelativeRange,
}

/// An index into [`Ir::params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ParamId(pub usize);

/// A to-one walk from a grain's row: `job.department` is `[job, department]`.
pub type Path = Vec<&'static Relation>;

/// A row-level expression, evaluated on one row of a grain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scalar {
    Field {
        #[serde(serialize_with = "ser_path")]
        path: Path,
        #[serde(serialize_with = "ser_field")]
        field: &'static Field,
    },
    Custom {
        #[serde(serialize_with = "ser_path")]
        path: Path,
        key: String,
        /// The key, bound as a parameter (it is the tenant's text).
        param: ParamId,
        sensitive: bool,
        #[serde(skip)]
        ty: Type,
    },
    /// The identity of the row at `path` (for `count(distinct candidate)`).
    Key {
        #[serde(serialize_with = "ser_path")]
        path: Path,
    },
    Param(ParamId),
    Not(Box<Scalar>),
    Neg(Box<Scalar>),
    Binary {
        op: BinaryOp,
        left: Box<Scalar>,
        right: Box<Scalar>,
        /// Comparisons of instants and dates need their type in some dialects.
        #[serde(skip)]
        operand: Type,
    },
    In {
        expr: Box<Scalar>,
        list: Vec<Scalar>,
        negated: bool,
    },
    IsNull {
        expr: Box<Scalar>,
        negated: bool,
    },
    Text {
        op: TextOp,
        expr: Box<Scalar>,
        pattern: Box<Scalar>,
        negated: bool,
    },
    /// `email = "x"` (or `!=`): the two texts equal regardless of case. Emails are compared so
    /// (`candidates.email`, `users.email`): `Ada@Example.com` is `ada@example.com`.
    FoldedEq {
        left: Box<Scalar>,
        right: Box<Scalar>,
        negated: bool,
    },
    /// A list (tags, multi-select) holds the value.
    ListContains {
        list: Box<Scalar>,
        value: Box<Scalar>,
        negated: bool,
    },
    /// The local day, ISO week, month, quarter or year of an instant (in the report's zone) or a
    /// date, as a sortable label: `2025-01-31`, `2025-W05`, `2025-01`, `2025-Q1`, `2025`.
    Bucket {
        unit: TimeUnit,
        expr: Box<Scalar>,
        instant: bool,
    },
    /// `to - from` in days (fractional for instants).
    DaysBetween {
        from: Box<Scalar>,
        to: Box<Scalar>,
        instant: bool,
    },
    Coalesce(Vec<Scalar>),
    Round {
        expr: Box<Scalar>,
        digits: i64,
    },
    /// The application (at `path`) ever entered a stage with this name or kind.
    Reached {
        #[serde(serialize_with = "ser_path")]
        path: Path,
        stage: StageRef,
    },
}

impl Scalar {
    /// Calls `f` on this expression and every expression inside it.
    pub fn walk(&self, f: &mut dyn FnMut(&Scalar)) {
        f(self);
        match self {
            Scalar::Field { .. }
            | Scalar::Custom { .. }
            | Scalar::Key { .. }
            | Scalar::Param(_)
            | Scalar::Reached { .. } => {}
            Scalar::Not(e) | Scalar::Neg(e) => e.walk(f),
            Scalar::Binary { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            Scalar::In { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            Scalar::IsNull { expr, .. }
            | Scalar::Bucket { expr, .. }
            | Scalar::Round { expr, .. } => expr.walk(f),
            Scalar::Text { expr, pattern, .. } => {
                expr.walk(f);
                pattern.walk(f);
            }
            Scalar::ListContains { list, value, .. } => {
                list.walk(f);
                value.walk(f);
            }
            Scalar::FoldedEq { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            Scalar::DaysBetween { from, to, .. } => {
                from.walk(f);
                to.walk(f);
            }
            Scalar::Coalesce(items) => items.iter().for_each(|e| e.walk(f)),
        }
    }
}

impl Ir {
    /// The restricted field groups the report reads, with the entity that owns each, in
    /// first-use order: what an audit log records (whatever the viewer may see of them).
    pub fn restricted_reads(&self) -> Vec<(EntityId, crate::catalog::FieldGroup)> {
        use crate::catalog::FieldGroup;
        let mut out: Vec<(EntityId, FieldGroup)> = Vec::new();
        let mut note = |base: EntityId, s: &Scalar| {
            let (path, group) = match s {
                Scalar::Field { path, field } if field.group != FieldGroup::Plain => {
                    (path, field.group)
                }
                Scalar::Custom {
                    path,
                    sensitive: true,
                    ..
                } => (path, FieldGroup::SensitiveCustom),
                _ => return,
            };
            let owner = path.last().map_or(base, |r| r.target);
            if !out.contains(&(owner, group)) {
                out.push((owner, group));
            }
        };
        let subject = self.subject;
        let mut at_subject = |s: &Scalar| note(subject, s);
        if let Some(w) = &self.filter {
            w.walk(&mut at_subject);
        }
        for d in &self.dims {
            d.expr.walk(&mut at_subject);
        }
        let values = self.outputs.iter().map(|o| &o.value);
        for value in values.chain(self.order.iter().map(|o| &o.value)) {
            if let OutputValue::Row(s) = value {
                s.walk(&mut at_subject);
            }
        }
        for m in &self.measures {
            let base = m.grain.entity(subject);
            let mut at_grain = |s: &Scalar| note(base, s);
            if let Some(a) = &m.arg {
                a.walk(&mut at_grain);
            }
            if let Some(w) = &m.filter {
                w.walk(&mut at_grain);
            }
        }
        out
    }

    /// Calls `f` on every row-level expression of the report.
    pub fn walk_scalars(&self, f: &mut dyn FnMut(&Scalar)) {
        if let Some(w) = &self.filter {
            w.walk(f);
        }
        for d in &self.dims {
            d.expr.walk(f);
        }
        for m in &self.measures {
            if let Some(a) = &m.arg {
                a.walk(f);
            }
            if let Some(w) = &m.filter {
                w.walk(f);
            }
        }
        for o in &self.outputs {
            if let OutputValue::Row(s) = &o.value {
                s.walk(f);
            }
        }
        for o in &self.order {
            if let OutputValue::Row(s) = &o.value {
                s.walk(f);
            }
        }
    }
}

/// A stage named by its name (`"Onsite"`) or by its kind (`kind("onsite")`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageRef {
    Name(ParamId),
    Kind(ParamId),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AggFunc {
    Count,
    CountDistinct,
    /// The sum of the distinct record keys of the candidates its argument (a candidate's
    /// [`Scalar::Key`]) reaches, the `n`th of two independent keys: one half of a cell key for
    /// the perturbation of a report over demographics ([`crate::demographics`]).
    KeySum(u8),
    Sum,
    Avg,
    Min,
    Max,
    /// `percentile_cont` at the fraction held by the parameter (median: 0.5).
    Percentile(ParamId),
}

/// Where an aggregate's rows come from: the subject's rows (`steps` empty) or the rows reached
/// from each subject row through to-many relations (`applications`, `applications.interviews`).
/// Each such row belongs to exactly one subject row, so aggregating a grain never counts a row
/// twice; grains are aggregated separately and joined on the group keys.
///
/// With `per` (a to-one walk from those rows, `candidate`), the rows aggregated are the distinct
/// records it reaches in each group instead, each once however many of the grain's rows reach
/// it (`avg(distinct candidate.custom.years_of_experience)`: each candidate of the group's
/// applications once). A measure of such a grain reads only that record's values, so they are
/// the same from every row that reaches it; a record is aggregated when one of those rows passes
/// the measure's filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grain {
    #[serde(serialize_with = "ser_path")]
    pub steps: Path,
    #[serde(serialize_with = "ser_path", skip_serializing_if = "Vec::is_empty")]
    pub per: Path,
}

impl Grain {
    pub fn root() -> Grain {
        Grain {
            steps: Vec::new(),
            per: Vec::new(),
        }
    }
    pub fn entity(&self, subject: EntityId) -> EntityId {
        self.steps.last().map_or(subject, |r| r.target)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    pub func: AggFunc,
    pub grain: Grain,
    /// Evaluated on the grain's rows; `None` for `count()`.
    pub arg: Option<Scalar>,
    /// The aggregate's own filter, on the grain's rows.
    pub filter: Option<Scalar>,
    #[serde(skip)]
    pub ty: Type,
}

/// An expression over the groups' keys and measures (the aggregate level).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Formula {
    Dim(usize),
    Measure(usize),
    Param(ParamId),
    Not(Box<Formula>),
    Neg(Box<Formula>),
    Binary {
        op: BinaryOp,
        left: Box<Formula>,
        right: Box<Formula>,
    },
    IsNull {
        expr: Box<Formula>,
        negated: bool,
    },
    Round {
        expr: Box<Formula>,
        digits: i64,
    },
}

impl Formula {
    /// Calls `f` on this formula and every formula inside it.
    pub fn walk(&self, f: &mut dyn FnMut(&Formula)) {
        f(self);
        match self {
            Formula::Dim(_) | Formula::Measure(_) | Formula::Param(_) => {}
            Formula::Not(e)
            | Formula::Neg(e)
            | Formula::IsNull { expr: e, .. }
            | Formula::Round { expr: e, .. } => e.walk(f),
            Formula::Binary { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dim {
    pub name: String,
    pub expr: Scalar,
    #[serde(skip)]
    pub ty: Type,
}

impl Dim {
    /// Whether the key is a demographic field (the only way one may be read).
    pub fn is_demographic(&self) -> bool {
        matches!(&self.expr, Scalar::Field { field, .. } if field.group == crate::catalog::FieldGroup::Demographics)
    }
}

/// A column of the result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub name: String,
    pub value: OutputValue,
    #[serde(skip)]
    pub ty: Type,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputValue {
    /// A row-level value (reports without aggregates).
    Row(Scalar),
    Formula(Formula),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    pub value: OutputValue,
    pub descending: bool,
    /// Text sorts by code point in both dialects.
    pub text: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// One output row per subject row.
    Rows,
    /// One output row per group.
    Groups,
    /// One output row per group and funnel step: the step's stage, how many reached it (or a later
    /// step), and the pass-through from the step before and from the first.
    Funnel { steps: Vec<(String, StageRef)> },
}

/// A resolved report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ir {
    #[serde(serialize_with = "ser_entity")]
    pub subject: EntityId,
    pub shape: Shape,
    pub filter: Option<Scalar>,
    pub dims: Vec<Dim>,
    pub measures: Vec<Measure>,
    pub outputs: Vec<Output>,
    pub having: Option<Formula>,
    pub order: Vec<Order>,
    pub limit: Option<u64>,
    pub params: Vec<Param>,
    /// The report's time zone (`in zone`, else the org's), for buckets and relative dates.
    pub time_zone: String,
    /// The parameter holding the time zone's name, when SQL needs it.
    pub zone_param: Option<ParamId>,
    /// In a report grouped by a demographic field: the hidden measure counting the distinct
    /// candidates of each group, which the statement returns after the outputs so that the
    /// result can be suppressed ([`crate::Suppression`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates: Option<usize>,
    /// In a report over demographics: every published count as a cell (first the group's
    /// distinct candidates, `candidates`, then each count measure in order), with the measures
    /// of its cell key. The statement returns each cell's count and key halves after the
    /// outputs, for [`crate::demographics::publish`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<Cell>,
    /// In a report over demographics: what it needs besides its statement (atoms, grouped
    /// form, margins: [`crate::demographics::Safe`]).
    #[serde(skip_serializing_if = "crate::demographics::Safe::is_empty")]
    pub safe: crate::demographics::Safe,
}

/// A published count of a report over demographics and the hidden measures of its cell key:
/// the sums of its candidates' two record keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The measure counting the cell's distinct candidates.
    pub count: usize,
    /// The measures summing their record keys ([`AggFunc::KeySum`] 1 and 2).
    pub keys: [usize; 2],
}

impl Ir {
    /// In a report over demographics whose every measure counts the group's distinct
    /// candidates or sums their record keys (its cells, with their own filters), on the
    /// subject's rows: the candidate's key, which all of them read. Such a report is lowered
    /// over one row per group and candidate (`crate::lower`), which also give each group's
    /// population sketch.
    pub fn candidate_cells(&self) -> Option<&Scalar> {
        if self.cells.is_empty() {
            return None;
        }
        let key = self.measures.get(self.candidates?)?.arg.as_ref()?;
        let Scalar::Key { path } = key else {
            return None;
        };
        let counts = |m: &Measure| {
            m.grain == Grain::root()
                && match (&m.func, &m.arg) {
                    (AggFunc::CountDistinct | AggFunc::KeySum(_), Some(a)) => {
                        a == key
                            || matches!(a, Scalar::Field { path: p, field } if field.name == "id" && p == path)
                    }
                    // `count()` of a report on candidates: one row per candidate.
                    (AggFunc::Count, None) => path.is_empty(),
                    _ => false,
                }
        };
        self.measures.iter().all(counts).then_some(key)
    }

    /// The result column that shows group key `i`, if one does.
    pub fn dim_column(&self, i: usize) -> Option<usize> {
        self.outputs
            .iter()
            .position(|o| o.value == OutputValue::Formula(Formula::Dim(i)))
    }

    /// The grains the report aggregates, the subject's first.
    pub fn grains(&self) -> Vec<Grain> {
        let mut grains = vec![Grain::root()];
        for m in &self.measures {
            if !grains.contains(&m.grain) {
                grains.push(m.grain.clone());
            }
        }
        grains
    }
}

fn ser_path<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    let names: Vec<&str> = path.iter().map(|r| r.name).collect();
    s.serialize_str(&names.join("."))
}

fn ser_field<S: serde::Serializer>(field: &&'static Field, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(field.name)
}

fn ser_entity<S: serde::Serializer>(entity: &EntityId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(crate::catalog::Entity::get(*entity).name)
}
