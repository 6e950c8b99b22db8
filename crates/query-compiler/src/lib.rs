//! hireplane's report compiler: a report (text or JSON) to one SQL statement and its parameters,
//! for PostgreSQL or SQLite.
//!
//! One public function per stage, each with its own types:
//! [`parse`] (text to AST with spans, in `query-syntax`) -> [`resolve()`] (AST to typed [`Ir`]
//! against the tenant's [`Catalog`]) -> [`lower()`] (IR to a SQL AST for a [`Dialect`], through
//! the viewer's [`Guard`]: row filters at every table reference, masks of restricted field groups
//! at every field read) -> [`render`] (SQL text). [`compile`] runs them all and lists what the
//! guard restricted ([`Compiled::guarded`]); [`Cache`] keeps results per (catalog version,
//! dialect, report text, guard); [`bind`] turns parameters into values when the report runs
//! (relative dates are resolved then, from today in the report's zone).
//!
//! Demographic fields are read only as group keys of a grouped report (the resolver refuses
//! them anywhere else); such a report's statement returns, after its columns, the hidden count of
//! distinct candidates per group, and [`Compiled::suppression`] says how [`suppress()`] must
//! remove the groups under 5 candidates and those that would reveal them before anyone sees the
//! result (module [`suppress`](mod@suppress)).
//!
//! Pure: no IO, no clock. Every literal of a report is a bound parameter; the only other literals
//! are the compiler's constants and a policy's values (escaped); every identifier is quoted.

pub mod catalog;
pub mod demographics;
pub mod dialect;
pub mod ir;
pub mod library;
pub mod lower;
pub mod resolve;
pub mod sql;
pub mod suppress;
pub mod template;

pub use catalog::{Catalog, CustomFieldDef, Entity, EntityId, FieldGroup, MemoryCatalog, Type};
pub use ir::{Ir, Param};
pub use lower::{
    Guard, GuardKind, Guarded, OrgScope, Visibility, lower, lower_guarded, reads_a_page,
};
pub use query_syntax::{Diagnostic, Report, parse};
pub use resolve::resolve;
pub use sql::{Dialect, render};
pub use suppress::{Suppression, SuppressionSummary, suppress, suppression};
pub use template::{Fill, Templates};

use jiff::civil::Date;
use query_syntax::{RangeKind, TimeUnit};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A compiled report: the statement, its parameters (after the org id, which is always `$1`),
/// the result's columns, and what the viewer's guard restricted in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub sql: String,
    pub params: Vec<Param>,
    pub columns: Vec<Column>,
    pub dialect: Dialect,
    pub time_zone: String,
    /// The row filters and field masks the guard placed (entities and field groups not entirely
    /// visible), one per (entity, group), in first-use order; empty under [`OrgScope`].
    pub guarded: Vec<Guarded>,
    /// The report's subject.
    pub subject: Option<EntityId>,
    /// The restricted field groups the statement reads (whatever the viewer sees of them),
    /// with their owning entity: what the audit log records.
    pub restricted: Vec<(EntityId, catalog::FieldGroup)>,
    /// Set when the report is grouped by a demographic field: the statement then returns one
    /// more value per row than `columns`, last, the distinct candidates of the group, and the
    /// rows must go through [`suppress()`] (which drops that value) before anyone sees them.
    pub suppression: Option<Suppression>,
    /// The statement reads a page ([`lower::reads_a_page`]): its best plan (walk the subject's
    /// key index, probe the rest per row, stop at the limit) does not depend on the parameters'
    /// values, so a database that caches plans may plan it once and reuse the plan.
    pub reads_a_page: bool,
}

/// A result column: its name and the kind of value it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub kind: ValueKind,
}

/// The kinds of value a result holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    Text,
    Integer,
    Number,
    Bool,
    /// UTC microseconds.
    Instant,
    Date,
    /// A JSON list (tags, multi-select values).
    List,
    /// A JSON object (a scorecard's scores).
    Map,
}

impl ValueKind {
    pub fn of(ty: &Type) -> ValueKind {
        match ty {
            Type::Text | Type::Enum(_) | Type::Select(_) => ValueKind::Text,
            Type::Integer => ValueKind::Integer,
            Type::Number => ValueKind::Number,
            Type::Bool => ValueKind::Bool,
            Type::Instant => ValueKind::Instant,
            Type::Date => ValueKind::Date,
            Type::Multi(_) => ValueKind::List,
            Type::Map => ValueKind::Map,
        }
    }
}

/// The columns of a resolved report, in order (funnels add their step columns).
pub fn columns(ir: &Ir) -> Vec<Column> {
    let mut out: Vec<Column> = ir
        .outputs
        .iter()
        .map(|o| Column {
            name: o.name.clone(),
            kind: ValueKind::of(&o.ty),
        })
        .collect();
    if let ir::Shape::Funnel { .. } = ir.shape {
        for (name, kind) in [
            ("stage", ValueKind::Text),
            ("step", ValueKind::Integer),
            ("reached", ValueKind::Integer),
            ("pass_through", ValueKind::Number),
            ("overall", ValueKind::Number),
        ] {
            out.push(Column {
                name: name.into(),
                kind,
            });
        }
    }
    out
}

/// Every stage, for a resolved report.
pub fn compile_report(
    report: &Report,
    catalog: &dyn Catalog,
    dialect: Dialect,
    guard: &dyn Guard,
) -> Result<Compiled, Diagnostic> {
    let ir = resolve(report, catalog)?;
    let (select, params, guarded) = lower_guarded(&ir, dialect, guard);
    Ok(Compiled {
        sql: render(&select, dialect),
        columns: columns(&ir),
        params,
        dialect,
        subject: Some(ir.subject),
        restricted: ir.restricted_reads(),
        suppression: suppression(&ir),
        reads_a_page: reads_a_page(&ir),
        time_zone: ir.time_zone,
        guarded,
    })
}

/// Text to SQL in one call.
pub fn compile(
    text: &str,
    catalog: &dyn Catalog,
    dialect: Dialect,
    guard: &dyn Guard,
) -> Result<Compiled, Diagnostic> {
    compile_report(&parse(text)?, catalog, dialect, guard)
}

/// The key of a compiled report: catalog version, dialect, report text, guard.
type CacheKey = (u64, Dialect, String, Option<String>);

/// Compiled reports per (catalog version, dialect, report text, guard). Compiling is cheap (tens
/// of microseconds), so the cache is bounded simply: it is emptied when it reaches its capacity.
///
/// A guard is part of the key through [`Guard::cache_key`]: the guard promises that two guards
/// with the same key answer alike. A guard without a key is cached only when it sees everything
/// (every entity's rows and every field group: [`OrgScope`] or a guard that answers like it),
/// which the cache checks by asking it; any other guard without a key is compiled every time,
/// never cached, so a viewer can never be served a statement compiled for another.
pub struct Cache {
    entries: Mutex<HashMap<CacheKey, Arc<Compiled>>>,
    capacity: usize,
}

/// Whether a guard answers like [`OrgScope`] (everything visible) for every entity and group.
fn sees_everything(guard: &dyn Guard) -> bool {
    const GROUPS: [FieldGroup; 4] = [
        FieldGroup::Compensation,
        FieldGroup::ContactDetails,
        FieldGroup::Demographics,
        FieldGroup::SensitiveCustom,
    ];
    catalog::ENTITIES.iter().all(|e| {
        guard.rows(e.id) == Visibility::All
            && GROUPS
                .iter()
                .all(|g| guard.fields(e.id, *g) == Visibility::All)
    })
}

impl Cache {
    pub fn new(capacity: usize) -> Cache {
        Cache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The compiled report, from the cache when this catalog version compiled it before for the
    /// same guard (see [`Cache`] for guards without a key, which may bypass the cache).
    pub fn compile(
        &self,
        text: &str,
        catalog: &dyn Catalog,
        dialect: Dialect,
        guard: &dyn Guard,
    ) -> Result<Arc<Compiled>, Diagnostic> {
        let guard_key = guard.cache_key();
        if guard_key.is_none() && !sees_everything(guard) {
            return Ok(Arc::new(compile(text, catalog, dialect, guard)?));
        }
        let key = (catalog.version(), dialect, text.to_owned(), guard_key);
        if let Ok(entries) = self.entries.lock()
            && let Some(hit) = entries.get(&key)
        {
            return Ok(hit.clone());
        }
        let compiled = Arc::new(compile(text, catalog, dialect, guard)?);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.capacity {
                entries.clear();
            }
            entries.insert(key, compiled.clone());
        }
        Ok(compiled)
    }
}

/// A parameter's value, ready for the database driver.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Bound {
    Text(String),
    Integer(i64),
    Number(f64),
    Bool(bool),
    /// UTC microseconds.
    Instant(i64),
    /// `YYYY-MM-DD`.
    Date(String),
}

/// Why parameters could not be bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error("the time zone `{0}` is not a known IANA zone")]
    Zone(String),
    #[error("the date range `{0}` falls outside the supported calendar (0001-01-01 to 9999-12-31)")]
    Range(String),
}

/// The parameters' values when the report runs `today` (a date in the report's zone, `time_zone`).
pub fn bind(params: &[Param], time_zone: &str, today: Date) -> Result<Vec<Bound>, BindError> {
    let zone =
        jiff::tz::TimeZone::get(time_zone).map_err(|_| BindError::Zone(time_zone.to_owned()))?;
    params
        .iter()
        .map(|p| {
            Ok(match p {
                Param::Text(s) => Bound::Text(s.clone()),
                Param::Integer(i) => Bound::Integer(*i),
                Param::Number(f) => Bound::Number(*f),
                Param::Bool(b) => Bound::Bool(*b),
                Param::Instant(i) => Bound::Instant(*i),
                Param::Date(d) => Bound::Date(d.clone()),
                Param::Today { date: true } => Bound::Date(today.to_string()),
                Param::Today { date: false } => {
                    let at = today
                        .to_zoned_datetime(zone.clone())
                        .map_err(|_| BindError::Range("today".into()))?;
                    Bound::Instant(at.timestamp().as_microsecond())
                }
                Param::Relative { range, end, date } => {
                    let what = || {
                        BindError::Range(format!("{} {} {}", range.which, range.count, range.unit))
                    };
                    let (start, stop) = relative_dates(
                        range.range.which,
                        range.range.count,
                        range.range.unit,
                        today,
                    )
                    .ok_or_else(what)?;
                    let day = if *end { stop } else { start };
                    // jiff stops at 9999-12-31; below, the stores part ways (PostgreSQL's
                    // timestamps stop at 4713 BC, SQLite's dates compare as text), so both
                    // refuse any bound before 0001-01-01 alike.
                    if day.year() < 1 {
                        return Err(what());
                    }
                    if *date {
                        Bound::Date(day.to_string())
                    } else {
                        let at = day.to_zoned_datetime(zone.clone()).map_err(|_| what())?;
                        Bound::Instant(at.timestamp().as_microsecond())
                    }
                }
            })
        })
        .collect()
}

/// The local dates `[start, end)` of a relative range, seen from `today`.
pub fn relative_dates(
    which: RangeKind,
    count: u32,
    unit: TimeUnit,
    today: Date,
) -> Option<(Date, Date)> {
    let days = |d: Date, n: i64| d.checked_add(jiff::Span::new().try_days(n).ok()?).ok();
    let months = |d: Date, n: i64| d.checked_add(jiff::Span::new().try_months(n).ok()?).ok();
    let n = i64::from(count);
    if which == RangeKind::Last {
        let end = days(today, 1)?;
        let start = match unit {
            TimeUnit::Day => days(today, 1 - n)?,
            TimeUnit::Week => days(today, 1 - 7 * n)?,
            TimeUnit::Month => days(months(today, -n)?, 1)?,
            TimeUnit::Quarter => days(months(today, -3 * n)?, 1)?,
            TimeUnit::Year => days(months(today, -12 * n)?, 1)?,
        };
        return Some((start, end));
    }
    if which == RangeKind::Next {
        // From the start of today to the end of the day `count` units ahead.
        let last = match unit {
            TimeUnit::Day => days(today, n)?,
            TimeUnit::Week => days(today, 7 * n)?,
            TimeUnit::Month => months(today, n)?,
            TimeUnit::Quarter => months(today, 3 * n)?,
            TimeUnit::Year => months(today, 12 * n)?,
        };
        return Some((today, days(last, 1)?));
    }
    // The calendar period containing today, then shifted back one for `previous`.
    let (start, len_days, len_months) = match unit {
        TimeUnit::Day => (today, 1, 0),
        TimeUnit::Week => (
            days(today, -i64::from(today.weekday().to_monday_zero_offset()))?,
            7,
            0,
        ),
        TimeUnit::Month => (today.first_of_month(), 0, 1),
        TimeUnit::Quarter => {
            let first = (today.month() - 1) / 3 * 3 + 1;
            (Date::new(today.year(), first, 1).ok()?, 0, 3)
        }
        TimeUnit::Year => (Date::new(today.year(), 1, 1).ok()?, 0, 12),
    };
    let shift = |d: Date, k: i64| {
        if len_months > 0 {
            months(d, k * len_months)
        } else {
            days(d, k * len_days)
        }
    };
    match which {
        RangeKind::This => Some((start, shift(start, 1)?)),
        _ => Some((shift(start, -1)?, start)),
    }
}

#[cfg(test)]
mod tests;

/// One value of a report's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    Number(f64),
    Bool(bool),
    /// UTC microseconds.
    Instant(i64),
    /// `YYYY-MM-DD`.
    Date(String),
    /// A JSON list as text.
    List(String),
    /// A JSON object as text (its spacing and key order are the database's).
    Map(String),
}

impl Value {
    /// The value in JSON: instants as RFC 3339 UTC text, lists as arrays, maps as objects.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Text(s) | Value::Date(s) => serde_json::Value::String(s.clone()),
            Value::Integer(i) => serde_json::Value::from(*i),
            Value::Number(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Instant(_) => serde_json::Value::String(self.to_string()),
            Value::List(s) | Value::Map(s) => {
                serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.clone()))
            }
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Text(s) | Value::Date(s) | Value::List(s) | Value::Map(s) => f.write_str(s),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Number(n) => {
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    write!(f, "{n:.0}")
                } else {
                    write!(f, "{}", (n * 1e4).round() / 1e4)
                }
            }
            Value::Bool(b) => write!(f, "{b}"),
            Value::Instant(us) => match instant_text(*us) {
                Some(buf) => f.write_str(std::str::from_utf8(&buf).map_err(|_| std::fmt::Error)?),
                None => match jiff::Timestamp::from_microsecond(*us) {
                    Ok(t) => write!(f, "{}", t.strftime("%Y-%m-%dT%H:%M:%SZ")),
                    Err(_) => write!(f, "{us}"),
                },
            },
        }
    }
}

/// The instant `us` (UTC microseconds) as `YYYY-MM-DDTHH:MM:SSZ` (to the second, as
/// `Value::Instant`'s `Display` and `strftime("%Y-%m-%dT%H:%M:%SZ")` write it), for years 0 to
/// 9999; `None` for others. By hand because an API page writes one per instant it answers, and
/// jiff's `strftime` (a format string interpreted each time) was a tenth of the server's
/// instructions per page (issue 22).
pub fn instant_text(us: i64) -> Option<[u8; 20]> {
    let t = jiff::Timestamp::from_microsecond(us).ok()?;
    let dt = jiff::tz::Offset::UTC.to_datetime(t);
    let year = u32::try_from(dt.year()).ok().filter(|y| *y <= 9999)?;
    let mut buf = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, value: u32, width: usize| {
        let mut v = value;
        for i in (at..at + width).rev() {
            // `v % 10` is a digit: the cast keeps it whole.
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    let two = |v: i8| u32::from(v.unsigned_abs());
    put(0, year, 4);
    put(5, two(dt.month()), 2);
    put(8, two(dt.day()), 2);
    put(11, two(dt.hour()), 2);
    put(14, two(dt.minute()), 2);
    put(17, two(dt.second()), 2);
    Some(buf)
}
