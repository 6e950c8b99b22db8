//! Reports in the store: the tenant catalog the compiler resolves against, the SQL functions
//! SQLite lacks (time zones, ISO weeks, percentiles, Unicode lower case), running a compiled
//! report with its parameters bound, and the database's plan for `explain`.

use crate::postgres::Plan;
use crate::{Store, StoreError};
use query_compiler::{Column, Compiled, CustomFieldDef, MemoryCatalog, Value, ValueKind};
use std::hash::{Hash, Hasher};

/// A user as the policy engine needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccess {
    pub id: String,
    pub name: String,
    pub role: String,
    pub active: bool,
}

/// A report's result: typed columns and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRows {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

impl Store {
    /// The org's part of the report catalog: its time zone, custom fields and stage names.
    pub fn catalog(&mut self, org_id: &str) -> Result<MemoryCatalog, StoreError> {
        let zone = self
            .query_text_rows("SELECT timezone FROM orgs WHERE org_id = $1", org_id, 1)?
            .into_iter()
            .next()
            .and_then(|mut r| r.pop())
            .ok_or_else(|| StoreError::NoSuchOrg(org_id.to_owned()))?;
        let defs = self.query_text_rows(
            "SELECT entity, key, label, type, CAST(options AS TEXT), CAST(sensitive AS TEXT) FROM custom_fields WHERE org_id = $1 ORDER BY entity, key",
            org_id,
            6,
        )?;
        let mut custom = Vec::new();
        for r in defs {
            let entity = domain::enums::CustomEntity::parse(&r[0])
                .map_err(|e| StoreError::Corrupt(format!("custom_fields.entity: {e}")))?;
            let field_type = domain::enums::CustomFieldType::parse(&r[3])
                .map_err(|e| StoreError::Corrupt(format!("custom_fields.type: {e}")))?;
            let options: Vec<String> = serde_json::from_str(&r[4])
                .map_err(|e| StoreError::Corrupt(format!("custom_fields.options: {e}")))?;
            let sensitive = matches!(r[5].as_str(), "1" | "true");
            custom.push((
                entity,
                CustomFieldDef {
                    key: r[1].clone(),
                    label: r[2].clone(),
                    field_type,
                    options,
                    sensitive,
                },
            ));
        }
        let stages: Vec<String> = self
            .query_text_rows(
                "SELECT DISTINCT name FROM stages WHERE org_id = $1 ORDER BY name",
                org_id,
                1,
            )?
            .into_iter()
            .filter_map(|mut r| r.pop())
            .collect();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (org_id, &zone, &stages).hash(&mut h);
        for (e, d) in &custom {
            (
                e.as_str(),
                &d.key,
                &d.label,
                d.field_type.as_str(),
                &d.options,
                d.sensitive,
            )
                .hash(&mut h);
        }
        Ok(MemoryCatalog::new(h.finish(), zone, custom, stages))
    }

    /// Runs a compiled report for `org_id` with its parameters bound for `today`. When
    /// `compiled.suppression` is set, each row holds more values than `columns`: three per cell
    /// (count, two record-key sums), then its inline margins, last
    /// (`Suppression::hidden_columns`); pass the rows to `query_compiler::demographics::publish`.
    pub fn run_report(
        &mut self,
        org_id: &str,
        compiled: &Compiled,
        today: jiff::civil::Date,
    ) -> Result<ReportRows, StoreError> {
        let bound = query_compiler::bind(&compiled.params, &compiled.time_zone, today)
            .map_err(|e| StoreError::Report(e.to_string()))?;
        let mut kinds: Vec<ValueKind> = compiled.columns.iter().map(|c| c.kind).collect();
        // A report over demographics returns each cell's count of distinct candidates and its
        // two record-key sums last, for `query_compiler::demographics::publish` (which drops
        // them); the rows keep them.
        if let Some(s) = &compiled.suppression {
            kinds.extend(std::iter::repeat_n(ValueKind::Integer, s.hidden_columns()));
        }
        // A page's statement has its own `LIMIT` of at most `query_compiler::lower::PAGE_ROWS` rows:
        // read at once, in one round trip. Other reports are read row by row up to the limit
        // (`Store::set_row_limit`).
        let streamed = self.row_limit().filter(|_| !compiled.reads_a_page);
        let budget = self.request().cloned();
        // A report over demographics is counted by its groups (`crate::Meter`).
        let mut meter = match &compiled.suppression {
            Some(s) => crate::Meter::groups(budget, streamed, s.other_keys.clone()),
            _ => crate::Meter::rows(budget, streamed),
        };
        let rows = match self {
            Store::Sqlite(s) => s.run(&compiled.sql, org_id, &bound, &kinds, &mut meter)?,
            Store::Postgres(s) => {
                let plan = if compiled.reads_a_page {
                    Plan::Page
                } else if compiled.suppression.as_ref().is_some_and(|s| s.cells > 0) {
                    Plan::Demographics
                } else {
                    Plan::Report
                };
                s.run_planned(&compiled.sql, org_id, &bound, &kinds, plan, &mut meter)?
            }
        };
        Ok(ReportRows {
            columns: compiled.columns.clone(),
            rows,
        })
    }

    /// The database's plan for a compiled report: `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL
    /// (it runs the statement), `EXPLAIN QUERY PLAN` on SQLite.
    pub fn explain_report(
        &mut self,
        org_id: &str,
        compiled: &Compiled,
        today: jiff::civil::Date,
    ) -> Result<String, StoreError> {
        let bound = query_compiler::bind(&compiled.params, &compiled.time_zone, today)
            .map_err(|e| StoreError::Report(e.to_string()))?;
        match self {
            Store::Sqlite(s) => s.explain(&compiled.sql, org_id, &bound),
            Store::Postgres(s) => s.explain(&compiled.sql, org_id, &bound),
        }
    }

    /// A user of an org as the policy engine sees them: name, role, and whether active.
    pub fn user_access(
        &mut self,
        org_id: &str,
        user_id: &str,
    ) -> Result<Option<UserAccess>, StoreError> {
        let rows = self.query_text_rows_with(
            "SELECT name, role, CAST(active AS TEXT) FROM users WHERE org_id = $1 AND id = $2",
            org_id,
            &[query_compiler::Bound::Text(user_id.to_owned())],
            3,
        )?;
        Ok(rows.into_iter().next().map(|r| UserAccess {
            id: user_id.to_owned(),
            name: r[0].clone(),
            role: r[1].clone(),
            active: matches!(r[2].as_str(), "1" | "true"),
        }))
    }

    /// The org's active users (id, name, role), by role and id: for hints such as "report as
    /// whom?".
    pub fn active_users(&mut self, org_id: &str) -> Result<Vec<UserAccess>, StoreError> {
        let active = match self {
            Store::Sqlite(_) => "active = 1",
            Store::Postgres(_) => "active",
        };
        let rows = self.query_text_rows(
            &format!(
                "SELECT id, name, role FROM users WHERE org_id = $1 AND {active} ORDER BY role, id"
            ),
            org_id,
            3,
        )?;
        Ok(rows
            .into_iter()
            .map(|r| UserAccess {
                id: r[0].clone(),
                name: r[1].clone(),
                role: r[2].clone(),
                active: true,
            })
            .collect())
    }

    fn query_text_rows(
        &mut self,
        sql: &str,
        org_id: &str,
        width: usize,
    ) -> Result<Vec<Vec<String>>, StoreError> {
        self.query_text_rows_with(sql, org_id, &[], width)
    }

    /// Rows of text values with NULL kept apart (`$1` is the org, `$2`... the parameters).
    pub(crate) fn nullable_rows(
        &mut self,
        sql: &str,
        org_id: &str,
        params: &[query_compiler::Bound],
        width: usize,
    ) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        let kinds = vec![ValueKind::Text; width];
        let rows = match self {
            Store::Sqlite(s) => s.run(
                &sql.replace("$1", "?1").replace("$2", "?2"),
                org_id,
                params,
                &kinds,
                &mut crate::Meter::rows(s.request.clone(), None),
            )?,
            Store::Postgres(s) => s.run(sql, org_id, params, &kinds)?,
        };
        Ok(rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| match v {
                        Value::Null => None,
                        v => Some(v.to_string()),
                    })
                    .collect()
            })
            .collect())
    }

    fn query_text_rows_with(
        &mut self,
        sql: &str,
        org_id: &str,
        params: &[query_compiler::Bound],
        width: usize,
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let kinds = vec![ValueKind::Text; width];
        let rows = match self {
            Store::Sqlite(s) => s.run(
                &sql.replace("$1", "?1").replace("$2", "?2"),
                org_id,
                params,
                &kinds,
                &mut crate::Meter::rows(s.request.clone(), None),
            )?,
            Store::Postgres(s) => s.run(sql, org_id, params, &kinds)?,
        };
        Ok(rows
            .into_iter()
            .map(|r| r.into_iter().map(|v| v.to_string()).collect())
            .collect())
    }
}

/// SQLite's side of the dialect: functions the compiler's SQLite output calls.
pub(crate) mod sqlite_functions {
    use rusqlite::functions::{Aggregate, Context, FunctionFlags};
    use rusqlite::types::{Value as SqlValue, ValueRef};
    use rusqlite::{Connection, Error, Result};
    use std::cell::RefCell;

    thread_local! {
        static ZONE: RefCell<Option<(String, jiff::tz::TimeZone)>> = const { RefCell::new(None) };
    }

    fn zone(name: &str) -> Result<jiff::tz::TimeZone> {
        ZONE.with(|z| {
            let mut z = z.borrow_mut();
            if let Some((n, tz)) = z.as_ref()
                && n == name
            {
                return Ok(tz.clone());
            }
            let tz = jiff::tz::TimeZone::get(name)
                .map_err(|e| Error::UserFunctionError(format!("time zone `{name}`: {e}").into()))?;
            *z = Some((name.to_owned(), tz.clone()));
            Ok(tz)
        })
    }

    /// The bucket label of a local date, as PostgreSQL's `to_char` formats it.
    pub fn label(unit: &str, d: jiff::civil::Date) -> Result<String> {
        Ok(match unit {
            "day" => d.to_string(),
            "week" => {
                let w = d.iso_week_date();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            "month" => format!("{:04}-{:02}", d.year(), d.month()),
            "quarter" => format!("{:04}-Q{}", d.year(), (d.month() - 1) / 3 + 1),
            "year" => format!("{:04}", d.year()),
            other => {
                return Err(Error::UserFunctionError(
                    format!("unknown bucket `{other}`").into(),
                ));
            }
        })
    }

    fn bucket(ctx: &mut Context<'_>) -> Result<SqlValue> {
        let unit: String = ctx.get(0)?;
        let date = match ctx.get_raw(1) {
            ValueRef::Null => return Ok(SqlValue::Null),
            ValueRef::Integer(us) if ctx.len() == 3 => {
                let zone_name: String = ctx.get(2)?;
                let tz = zone(&zone_name)?;
                let t = jiff::Timestamp::from_microsecond(us)
                    .map_err(|e| Error::UserFunctionError(e.to_string().into()))?;
                t.to_zoned_datetime(tz).date()
            }
            ValueRef::Text(t) => {
                let s = std::str::from_utf8(t)
                    .map_err(|e| Error::UserFunctionError(e.to_string().into()))?;
                s.parse::<jiff::civil::Date>()
                    .map_err(|e| Error::UserFunctionError(format!("date `{s}`: {e}").into()))?
            }
            _ => {
                return Err(Error::UserFunctionError(
                    "hp_bucket: expected an instant or a date".into(),
                ));
            }
        };
        Ok(SqlValue::Text(label(&unit, date)?))
    }

    /// `percentile_cont` as PostgreSQL computes it: linear interpolation between the two
    /// nearest ranks of the sorted non-null values.
    struct Percentile;

    impl Aggregate<(Vec<f64>, f64), Option<f64>> for Percentile {
        fn init(&self, _: &mut Context<'_>) -> Result<(Vec<f64>, f64)> {
            Ok((Vec::new(), 0.5))
        }
        fn step(&self, ctx: &mut Context<'_>, acc: &mut (Vec<f64>, f64)) -> Result<()> {
            acc.1 = ctx.get(1)?;
            match ctx.get_raw(0) {
                ValueRef::Integer(i) => acc.0.push(i as f64),
                ValueRef::Real(f) => acc.0.push(f),
                _ => {}
            }
            Ok(())
        }
        fn finalize(
            &self,
            _: &mut Context<'_>,
            acc: Option<(Vec<f64>, f64)>,
        ) -> Result<Option<f64>> {
            let Some((mut values, p)) = acc else {
                return Ok(None);
            };
            Ok(percentile_cont(&mut values, p))
        }
    }

    pub fn percentile_cont(values: &mut [f64], p: f64) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank = p * (values.len() - 1) as f64;
        let lo = rank.floor();
        let (a, b) = (values[lo as usize], values[rank.ceil() as usize]);
        Some(if rank > lo {
            a + (b - a) * (rank - lo)
        } else {
            a
        })
    }

    /// Rounds to `digits` decimals, half away from zero, on the value's 15-significant-digit
    /// decimal form: what PostgreSQL's `round(CAST(x AS numeric), digits)` computes for a float8
    /// (SQLite's own `round` works on the binary value, so 5.55 would become 5.5).
    pub fn round_half_away(x: f64, digits: i64) -> f64 {
        if !x.is_finite() || x == 0.0 {
            return x;
        }
        let text = format!("{:.14e}", x.abs());
        let Some((mantissa, exponent)) = text.split_once('e') else {
            return x;
        };
        let Ok(exponent) = exponent.parse::<i64>() else {
            return x;
        };
        let figures: Vec<u8> = mantissa
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        // Keep the figures down to 10^-digits: that is `exponent + 1 + digits` of them.
        let keep = exponent + 1 + digits.clamp(-300, 300);
        if keep >= figures.len() as i64 {
            return x;
        }
        let sign = if x < 0.0 { "-" } else { "" };
        let mut kept: u64 = 0;
        for f in figures.iter().take(keep.max(0) as usize) {
            kept = kept * 10 + u64::from(*f);
        }
        if keep >= 0 && figures.get(keep as usize).is_some_and(|f| *f >= 5) {
            kept += 1;
        }
        format!("{sign}{kept}e{}", -digits).parse().unwrap_or(x)
    }

    /// A candidate's record key for reports over demographics (the compiler's
    /// `Dialect::record_key` on SQLite): FNV-1a of the id, mixed with the seed by SplitMix64's
    /// finalizer, in `[0, 2^31)`. Not secret (the org's secret is applied to the sums later).
    pub(crate) fn record_key(id: &[u8], seed: i64) -> i64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in id {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut z = h ^ (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z & 0x7fff_ffff) as i64
    }

    pub fn register(conn: &Connection) -> Result<()> {
        conn.create_scalar_function(
            "hp_round",
            2,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| {
                let digits: i64 = ctx.get(1)?;
                Ok(match ctx.get_raw(0) {
                    ValueRef::Integer(i) if digits >= 0 => SqlValue::Real(i as f64),
                    ValueRef::Integer(i) => SqlValue::Real(round_half_away(i as f64, digits)),
                    ValueRef::Real(f) => SqlValue::Real(round_half_away(f, digits)),
                    _ => SqlValue::Null,
                })
            },
        )?;
        let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
        conn.create_scalar_function("hp_bucket", 2, flags, bucket)?;
        conn.create_scalar_function("hp_bucket", 3, flags, bucket)?;
        conn.create_scalar_function("hp_lower", 1, flags, |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).to_lowercase()),
                ValueRef::Null => SqlValue::Null,
                other => SqlValue::Text(format!("{other:?}")),
            })
        })?;
        conn.create_scalar_function("hp_record_key", 2, flags, |ctx| {
            let seed: i64 = ctx.get(1)?;
            Ok(match ctx.get_raw(0) {
                ValueRef::Text(t) => SqlValue::Integer(record_key(t, seed)),
                _ => SqlValue::Null,
            })
        })?;
        conn.create_aggregate_function("hp_percentile", 2, flags, Percentile)?;
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn percentiles_interpolate_like_postgres() {
            assert_eq!(percentile_cont(&mut [], 0.5), None);
            assert_eq!(percentile_cont(&mut [3.0], 0.9), Some(3.0));
            assert_eq!(percentile_cont(&mut [4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
            assert_eq!(
                percentile_cont(&mut [10.0, 20.0, 30.0, 40.0, 50.0], 0.9),
                Some(46.0)
            );
        }

        #[test]
        fn rounding_is_half_away_from_zero_on_the_decimal_value() {
            assert_eq!(round_half_away(5.55, 1), 5.6);
            assert_eq!(round_half_away(0.285, 2), 0.29);
            assert_eq!(round_half_away(-2.675, 2), -2.68);
            assert_eq!(round_half_away(2.5, 0), 3.0);
            assert_eq!(round_half_away(-2.5, 0), -3.0);
            assert_eq!(round_half_away(1.005, 2), 1.01);
            assert_eq!(round_half_away(0.04, 1), 0.0);
            assert_eq!(round_half_away(0.05, 1), 0.1);
            assert_eq!(round_half_away(9.96, 1), 10.0);
            assert_eq!(round_half_away(1234.5678, 2), 1234.57);
            assert_eq!(round_half_away(0.1234, 3), 0.123);
            assert_eq!(round_half_away(1e-20, 2), 0.0);
        }

        #[test]
        fn labels_use_iso_weeks() {
            let d: jiff::civil::Date = "2021-01-03".parse().unwrap();
            assert_eq!(label("week", d).unwrap(), "2020-W53");
            assert_eq!(label("quarter", d).unwrap(), "2021-Q1");
        }
    }
}
