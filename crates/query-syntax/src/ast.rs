//! The report AST: what a report says, with the byte span of every part in its source text.
//!
//! The same tree is the report's JSON form (for UIs that build reports by clicking): it
//! serialises with serde, spans left out, and a report read from JSON compiles to exactly the
//! SQL its text form does. Names are not resolved here; the compiler does that against the
//! tenant's catalog.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A byte range `start..end` in the report's source text. JSON reports have empty spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            start: clamp(start),
            end: clamp(end),
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A name as written, with where it was written. In JSON, just the string.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

impl Ident {
    pub fn new(name: impl Into<String>, span: Span) -> Ident {
        Ident {
            name: name.into(),
            span,
        }
    }
}

impl Serialize for Ident {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for Ident {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Ident, D::Error> {
        Ok(Ident {
            name: String::deserialize(deserializer)?,
            span: Span::default(),
        })
    }
}

/// One report:
///
/// ```text
/// report applications
/// where job.department.name = "Engineering" and applied_at in last 90 days
/// group by month(applied_at) as month
/// show count() as applicants, count(where status = "hired") as hires, hires / applicants as rate
/// having applicants >= 10
/// order by month desc
/// limit 12
/// ```
///
/// Clauses after the subject may come in any order, each at most once except `where` and
/// `having`, whose repetitions are joined with `and`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// What one row of the input is: `applications`, `candidates`, `interviews`, ...
    pub subject: Ident,
    /// `in zone "UTC"`: the IANA time zone the report's calendar is in (time buckets, relative
    /// ranges, date literals, local timestamp literals, `days_since`); the org's zone without it.
    /// In JSON, the zone's name: `"zone": "UTC"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<Zone>,
    #[serde(default, rename = "where", skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Expr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub show: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub having: Vec<Expr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<OrderItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// `funnel "Application Review", "Phone Screen", kind("onsite"), kind("hired")`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funnel: Option<Funnel>,
    /// The span of the whole report text.
    #[serde(skip)]
    pub span: Span,
}

/// The time zone of a report (`in zone "Europe/Berlin"`), as written, with the span of its name.
/// The parser checks only its spelling (letters, digits, `/`, `_`, `+`, `-`); the compiler
/// looks it up in the time zone database. In JSON, just the string.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: String,
    pub span: Span,
}

impl Zone {
    pub fn new(name: impl Into<String>, span: Span) -> Zone {
        Zone {
            name: name.into(),
            span,
        }
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Zone, D::Error> {
        Ok(Zone {
            name: String::deserialize(deserializer)?,
            span: Span::default(),
        })
    }
}

/// Whether `name` is spelled like an IANA time zone name: not empty, at most 64 bytes of
/// letters, digits, `/`, `_`, `+` and `-`.
pub fn is_zone_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'+' | b'-'))
}

/// An expression with an optional output name: `count() as applicants`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub expr: Expr,
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub alias: Option<Ident>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    pub expr: Expr,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub rows: u64,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Funnel {
    /// Stage references: a string is a stage name, `kind("onsite")` a stage kind.
    pub stages: Vec<Expr>,
    #[serde(skip)]
    pub span: Span,
}

/// An expression and its span (empty for JSON reports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    #[serde(flatten)]
    pub kind: ExprKind,
    #[serde(skip)]
    pub span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}

/// In JSON each expression is an object tagged by `"kind"`, for example
/// `{"kind": "binary", "op": "=", "left": {"kind": "path", "path": ["status"]},
///   "right": {"kind": "literal", "value": {"string": "hired"}}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExprKind {
    Literal {
        value: Literal,
    },
    /// `status`, `job.department.name`, `candidate.custom.years_of_experience`.
    Path {
        path: Vec<Ident>,
    },
    /// `count()`, `count(distinct candidate)`, `avg(time_to_hire where source.kind = "referral")`,
    /// `month(applied_at)`, `reached("Onsite")`, `kind("hired")`.
    Call {
        function: Ident,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        distinct: bool,
        #[serde(default)]
        args: Vec<Expr>,
        /// An aggregate's own filter: `count(where status = "hired")`.
        #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
        filter: Option<Box<Expr>>,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `x in ("a", "b")`, `x not in (...)`.
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        negated: bool,
    },
    /// `x between a and b` (both ends included).
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        negated: bool,
    },
    /// `x is null`, `x is not null`.
    IsNull {
        expr: Box<Expr>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        negated: bool,
    },
    /// `x contains "eng"`, `x starts with "Sen"`, `x ends with "II"`: case-insensitive.
    Text {
        op: TextOp,
        expr: Box<Expr>,
        pattern: Box<Expr>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        negated: bool,
    },
    /// `applied_at in last 90 days`, `hired_at in this quarter`, `x not in previous month`,
    /// `starts_at in next 7 days`: relative to today in the report's time zone.
    Within {
        expr: Box<Expr>,
        range: RelativeRange,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        negated: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Literal {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    /// `2025-01-31`, validated as a calendar date by the parser.
    Date(String),
    /// `2025-01-31T09:30`, `2025-01-31T09:30:00Z`, `2025-01-31T09:30:00.250+02:00`, as
    /// written, validated by the parser: a moment when it has an offset (`Z` is UTC), else a
    /// local time in the report's time zone.
    Timestamp(String),
    /// `today`: the date the report runs on, in the report's time zone (a date, compared with a
    /// timestamp as its whole day, like a date literal).
    Today,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    #[serde(rename = "or")]
    Or,
    #[serde(rename = "and")]
    And,
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    NotEq,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    LtEq,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    GtEq,
    #[serde(rename = "+")]
    Add,
    #[serde(rename = "-")]
    Sub,
    #[serde(rename = "*")]
    Mul,
    #[serde(rename = "/")]
    Div,
}

impl BinaryOp {
    /// The operator as written in report text.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// `last 90 days` (the 90 days up to and including today), `next 7 days` (from the start of
/// today to the end of the 7th day after it: 8 calendar days), `this month` (the calendar month
/// containing today), `previous quarter` (the one before the current).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelativeRange {
    pub which: RangeKind,
    /// For `last N units` and `next N units`; 1 for `this` and `previous`.
    #[serde(default = "one")]
    pub count: u32,
    pub unit: TimeUnit,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeKind {
    Last,
    Next,
    This,
    Previous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl TimeUnit {
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
            TimeUnit::Quarter => "quarter",
            TimeUnit::Year => "year",
        }
    }
}
