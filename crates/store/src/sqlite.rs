//! The SQLite backend: the embedded default. One file, created on first use.
//!
//! Instants are stored as integer microseconds since 1970 (UTC), booleans as 0/1, JSON as text.
//! Imports run in one `BEGIN IMMEDIATE` transaction with cached prepared statements.

use std::path::Path;

use domain::format::Progress;
use domain::{Date, Id, Instant};
use std::fmt::Write as _;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use crate::export::{Get, RunQuery};
use crate::import::{self, Batch, ImportTx, Msg, Written};
use crate::migrate::{MIGRATIONS, latest};
use crate::rows::{Table, Val};
use crate::{ImportError, ImportOptions, ImportReport, StoreError};

pub struct SqliteStore {
    conn: Connection,
    /// Reports that run longer are interrupted ([`StoreError::Timeout`]); `None`: no limit.
    statement_timeout: Option<std::time::Duration>,
    /// Who and when the write paths' events are attributed to ([`crate::Store::acting_as`]).
    pub(crate) event_context: crate::events::EventContext,
    /// Whether write paths write their events ([`crate::Store::set_emit_events`]: the
    /// mutation benchmark only).
    pub(crate) emit_events: bool,
    /// The most rows a report may return ([`crate::Store::set_row_limit`]); `None`: no limit.
    pub(crate) row_limit: Option<usize>,
    /// The request running ([`crate::Store::set_request`]).
    pub(crate) request: Option<crate::RequestScope>,
}

/// SQLite's virtual machine instructions between two looks at the clock while a report runs
/// (a few microseconds of work).
const PROGRESS_OPS: std::ffi::c_int = 1000;

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let open = || -> rusqlite::Result<Connection> {
            let mut conn = Connection::open(path)?;
            // A transaction that reads and then writes must take the write lock when it
            // begins: upgrading a deferred one fails at once with "database is locked" when
            // another connection wrote in between (SQLite does not wait then, to avoid a
            // deadlock), which made concurrent sign-ins answer 500 (red team, pass 4). Reads
            // that need a snapshot ask for `Deferred` (`read_tx`, `with_org_rows`).
            conn.set_transaction_behavior(TransactionBehavior::Immediate);
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.pragma_update(None, "cache_size", -65536)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.set_prepared_statement_cache_capacity(64);
            crate::report::sqlite_functions::register(&conn)?;
            Ok(conn)
        };
        let conn = open().map_err(|source| StoreError::SqliteOpen {
            path: path.to_owned(),
            source,
        })?;
        let mut store = SqliteStore {
            conn,
            statement_timeout: None,
            event_context: crate::events::EventContext::default(),
            emit_events: true,
            row_limit: None,
            request: None,
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
        )?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied: Vec<i64> = {
            let mut stmt = tx.prepare("SELECT version FROM schema_migrations")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let current = applied.iter().copied().max().unwrap_or(0);
        if current > latest() {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: latest(),
            });
        }
        // Every migration not yet recorded, in order (not only those above the highest: two
        // branches may land migrations out of order).
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let apply = || -> Result<(), StoreError> {
                tx.execute_batch(m.sqlite)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    rusqlite::params![m.version, m.name, jiff::Timestamp::now().as_microsecond()],
                )?;
                Ok(())
            };
            apply().map_err(|e| StoreError::Migration {
                version: m.version,
                name: m.name,
                source: Box::new(e),
            })?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The connection, for the store's own modules (see `audit`).
    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn import(
        &mut self,
        dir: &Path,
        options: ImportOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        let conn = &mut self.conn;
        import::run::<Rows>(dir, options, progress, move |from_reader, options| {
            write(conn, from_reader, options)
        })
    }

    /// Runs `f` with a query runner bound to `org_id` (its `$1`), in one read transaction so that
    /// an export sees one consistent state.
    pub fn with_org_rows(
        &mut self,
        org_id: &str,
        f: &mut dyn FnMut(&mut RunQuery<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        let mut run =
            |sql: &str,
             params: &[&str],
             each: &mut dyn FnMut(&dyn Get) -> Result<(), StoreError>| {
                let mut stmt = tx.prepare(sql)?;
                let all = std::iter::once(org_id).chain(params.iter().copied());
                let mut rows = stmt.query(rusqlite::params_from_iter(all))?;
                while let Some(row) = rows.next()? {
                    each(&SqliteRow(row))?;
                }
                Ok(())
            };
        let result = f(&mut run);
        tx.finish()?;
        result
    }

    /// Runs a report statement: `?1` is the org, then the bound parameters.
    /// Interrupts a report that runs longer than `timeout` (zero: none). SQLite has no
    /// statement timeout of its own; a progress handler looks at the clock every
    /// [`PROGRESS_OPS`] instructions while a report runs, and is removed after it. Other
    /// statements (writes, lookups by key) are short by construction.
    pub fn set_statement_timeout(&mut self, timeout: std::time::Duration) {
        self.statement_timeout = (!timeout.is_zero()).then_some(timeout);
    }

    /// The database's file as SQLite names it (absolute; empty for a store in memory).
    pub(crate) fn path(&self) -> &str {
        self.conn.path().unwrap_or_default()
    }

    /// Runs a report's statement within the statement timeout, if one is set. The rows are
    /// read one by one, each counted by `meter`, and the run stops at the first it refuses.
    pub(crate) fn run(
        &mut self,
        sql: &str,
        org_id: &str,
        bound: &[query_compiler::Bound],
        kinds: &[query_compiler::ValueKind],
        meter: &mut crate::Meter,
    ) -> Result<Vec<Vec<query_compiler::Value>>, StoreError> {
        let Some(timeout) = self.statement_timeout else {
            return self
                .run_rows(sql, org_id, bound, kinds, meter)
                .map_err(callers_error);
        };
        let deadline = std::time::Instant::now() + timeout;
        self.conn.progress_handler(
            PROGRESS_OPS,
            Some(move || std::time::Instant::now() >= deadline),
        )?;
        let out = self.run_rows(sql, org_id, bound, kinds, meter);
        // Removed whatever happened, before anything else runs on this connection.
        self.conn.progress_handler(0, None::<fn() -> bool>)?;
        out.map_err(|e| match e {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                StoreError::Timeout
            }
            e => callers_error(e),
        })
    }

    fn run_rows(
        &mut self,
        sql: &str,
        org_id: &str,
        bound: &[query_compiler::Bound],
        kinds: &[query_compiler::ValueKind],
        meter: &mut crate::Meter,
    ) -> Result<Vec<Vec<query_compiler::Value>>, StoreError> {
        use query_compiler::{Value, ValueKind};
        let mut stmt = self.conn.prepare_cached(sql)?;
        let params = sqlite_params(org_id, bound);
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(kinds.len());
            for (i, kind) in kinds.iter().enumerate() {
                let v = row.get_ref(i)?;
                values.push(match (v, kind) {
                    (ValueRef::Null, _) => Value::Null,
                    (ValueRef::Integer(n), ValueKind::Bool) => Value::Bool(n != 0),
                    (ValueRef::Integer(n), ValueKind::Instant) => Value::Instant(n),
                    (ValueRef::Integer(n), ValueKind::Number) => Value::Number(n as f64),
                    (ValueRef::Real(f), ValueKind::Number | ValueKind::Integer) => Value::Number(f),
                    (ValueRef::Integer(n), _) => Value::Integer(n),
                    (ValueRef::Real(f), _) => Value::Number(f),
                    (ValueRef::Text(t), kind) => {
                        let s = String::from_utf8_lossy(t).into_owned();
                        match kind {
                            ValueKind::Date => Value::Date(s),
                            ValueKind::List => Value::List(s),
                            ValueKind::Map => Value::Map(s),
                            _ => Value::Text(s),
                        }
                    }
                    (ValueRef::Blob(_), _) => Value::Text("<blob>".into()),
                });
            }
            meter.admit(&values)?;
            out.push(values);
        }
        Ok(out)
    }

    /// `EXPLAIN QUERY PLAN`, drawn as a tree.
    pub fn explain(
        &mut self,
        sql: &str,
        org_id: &str,
        bound: &[query_compiler::Bound],
    ) -> Result<String, StoreError> {
        let mut stmt = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let params = sqlite_params(org_id, bound);
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let mut depth: Vec<(i64, usize)> = Vec::new();
        let mut out = String::new();
        while let Some(row) = rows.next()? {
            let (id, parent, detail): (i64, i64, String) = (row.get(0)?, row.get(1)?, row.get(3)?);
            let level = depth
                .iter()
                .find(|(i, _)| *i == parent)
                .map_or(0, |(_, l)| l + 1);
            depth.push((id, level));
            let _ = writeln!(out, "{}{detail}", "  ".repeat(level));
        }
        Ok(out)
    }

    pub fn orgs(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT org_id, name FROM orgs ORDER BY org_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The first column of every row of `sql`, as text: for tests and diagnostics.
    pub fn query_strings(&mut self, sql: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| {
            let v: rusqlite::types::Value = r.get(0)?;
            Ok(match v {
                rusqlite::types::Value::Text(s) => s,
                rusqlite::types::Value::Integer(n) => n.to_string(),
                rusqlite::types::Value::Real(x) => x.to_string(),
                rusqlite::types::Value::Null => "NULL".to_owned(),
                rusqlite::types::Value::Blob(_) => "<blob>".to_owned(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The first column (text) of every row of `sql` for `org_id`.
    pub fn org_strings(&mut self, sql: &str, org_id: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([org_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Runs `sql` (rows of a label and a count) for `org_id`.
    pub fn labelled_counts(
        &mut self,
        sql: &str,
        org_id: &str,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([org_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Runs `sql` (one row of `n` integers) for `org_id`.
    pub fn counts(&mut self, sql: &str, org_id: &str, n: usize) -> Result<Vec<i64>, StoreError> {
        Ok(self
            .conn
            .query_row(sql, [org_id], |r| (0..n).map(|i| r.get(i)).collect())?)
    }

    pub fn count(&mut self, table: Table, org_id: &str) -> Result<u64, StoreError> {
        let sql = format!("SELECT count(*) FROM {} WHERE org_id = ?1", table.name());
        let n: i64 = self.conn.query_row(&sql, [org_id], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

fn insert_sql(table: Table) -> String {
    let cols = table.columns();
    let params: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table.name(),
        cols.join(", "),
        params.join(", ")
    )
}

/// A batch of rows, converted to SQLite values; all text in one buffer.
#[derive(Default)]
pub(crate) struct Rows {
    /// Table, index of the first value, number of values.
    rows: Vec<(Table, usize, usize)>,
    vals: Vec<Cell>,
    text: String,
}

enum Cell {
    Null,
    Int(i64),
    Real(f64),
    /// A range of `Rows::text`.
    Text(usize, usize),
}

impl Batch for Rows {
    fn push(&mut self, table: Table, vals: &[Val<'_>]) {
        let first = self.vals.len();
        for v in vals {
            let cell = match v {
                Val::Null => Cell::Null,
                Val::Int(n) => Cell::Int(*n),
                Val::Real(x) => Cell::Real(*x),
                Val::Bool(b) => Cell::Int(i64::from(*b)),
                Val::Instant(i) => Cell::Int(i.as_micros()),
                Val::Text(s) => self.text_cell(s),
                Val::Json(s) => self.text_cell(s),
                Val::Date(d) => {
                    let start = self.text.len();
                    // Writing into a String cannot fail.
                    let _ = write!(self.text, "{d}");
                    Cell::Text(start, self.text.len())
                }
            };
            self.vals.push(cell);
        }
        self.rows.push((table, first, vals.len()));
    }

    fn size(&self) -> usize {
        self.text.len() + self.vals.len() * std::mem::size_of::<Cell>()
    }
}

impl Rows {
    fn text_cell(&mut self, s: &str) -> Cell {
        let start = self.text.len();
        self.text.push_str(s);
        Cell::Text(start, self.text.len())
    }
}

/// The writer thread: one `BEGIN IMMEDIATE` transaction.
fn write(
    conn: &mut Connection,
    from_reader: std::sync::mpsc::Receiver<Msg<Rows>>,
    options: ImportOptions,
) -> Result<Written, StoreError> {
    // Foreign keys are not checked by SQLite during an import: the format reader has already
    // resolved every reference of the folder before a row is written (the store's tests run
    // `PRAGMA foreign_key_check` after imports to hold it to that), and deleting the org being
    // replaced removes every row that could point at it. Checking again here would look up a
    // parent per row, a third of the import's time. The pragma only changes outside a
    // transaction, so it is switched here and back on when the import ends, however it ends.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = write_unchecked(conn, from_reader, options);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}

fn write_unchecked(
    conn: &mut Connection,
    from_reader: std::sync::mpsc::Receiver<Msg<Rows>>,
    options: ImportOptions,
) -> Result<Written, StoreError> {
    let tx = SqliteImport {
        tx: conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
        insert: Table::ALL.iter().map(|t| insert_sql(*t)).collect(),
    };
    import::write_all(tx, from_reader, options, crate::ForeignKeyChecks::ByReader)
}

struct SqliteImport<'c> {
    tx: rusqlite::Transaction<'c>,
    /// `INSERT` statement text per table, by `Table as usize`.
    insert: Vec<String>,
}

impl ImportTx<Rows> for SqliteImport<'_> {
    fn org_exists(&mut self, org: &Id) -> Result<bool, StoreError> {
        Ok(self.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM orgs WHERE org_id = ?1)",
            [org.as_str()],
            |r| r.get(0),
        )?)
    }

    fn delete_org(&mut self, org: &Id) -> Result<(), StoreError> {
        // The booked loops name the org's interviews, which go (migration 32).
        self.tx.execute(
            "DELETE FROM interview_loops WHERE org_id = ?1",
            [org.as_str()],
        )?;
        for table in Table::ALL.iter().rev() {
            let sql = format!("DELETE FROM {} WHERE org_id = ?1", table.name());
            self.tx.execute(&sql, [org.as_str()])?;
        }
        Ok(())
    }

    fn next_generation(&mut self, org: &Id) -> Result<(), StoreError> {
        self.tx
            .execute(crate::warehouse::NEXT_GENERATION, [org.as_str()])?;
        Ok(())
    }

    fn write(&mut self, batch: Rows) -> Result<(), StoreError> {
        for &(table, first, len) in &batch.rows {
            let sql = self.insert.get(table as usize).map_or("", String::as_str);
            let mut stmt = self.tx.prepare_cached(sql)?;
            let cells = batch.vals.get(first..first + len).unwrap_or_default();
            for (i, cell) in cells.iter().enumerate() {
                let value = match cell {
                    Cell::Null => ValueRef::Null,
                    Cell::Int(n) => ValueRef::Integer(*n),
                    Cell::Real(x) => ValueRef::Real(*x),
                    Cell::Text(a, b) => {
                        ValueRef::Text(batch.text.get(*a..*b).unwrap_or_default().as_bytes())
                    }
                };
                stmt.raw_bind_parameter(i + 1, ToSqlOutput::Borrowed(value))?;
            }
            stmt.raw_execute()?;
        }
        Ok(())
    }

    fn commit(self, org: Option<&Id>) -> Result<(), StoreError> {
        if let Some(org) = org {
            self.tx
                .execute(crate::migrate::DERIVE_LEFT_AT_SQLITE, [org.as_str()])?;
            self.tx.execute(
                crate::migrate::DERIVE_CANDIDATE_FLAGS_SQLITE,
                [org.as_str()],
            )?;
            self.tx.execute(
                crate::migrate::DERIVE_APPLICATION_JOB_CONFIDENTIAL_SQLITE,
                [org.as_str()],
            )?;
        }
        Ok(self.tx.commit()?)
    }
}

struct SqliteRow<'r>(&'r rusqlite::Row<'r>);

impl Get for SqliteRow<'_> {
    fn text(&self, i: usize) -> Result<Option<String>, String> {
        self.0.get(i).map_err(|e| e.to_string())
    }
    fn int(&self, i: usize) -> Result<Option<i64>, String> {
        self.0.get(i).map_err(|e| e.to_string())
    }
    fn real(&self, i: usize) -> Result<Option<f64>, String> {
        self.0.get(i).map_err(|e| e.to_string())
    }
    fn boolean(&self, i: usize) -> Result<Option<bool>, String> {
        Ok(self.int(i)?.map(|n| n != 0))
    }
    fn instant(&self, i: usize) -> Result<Option<Instant>, String> {
        self.int(i)?
            .map(|us| Instant::from_micros(us).map_err(|e| e.to_string()))
            .transpose()
    }
    fn date(&self, i: usize) -> Result<Option<Date>, String> {
        self.text(i)?
            .map(|s| Date::parse(&s).map_err(|e| e.to_string()))
            .transpose()
    }
}

fn sqlite_params(org_id: &str, bound: &[query_compiler::Bound]) -> Vec<rusqlite::types::Value> {
    use query_compiler::Bound;
    use rusqlite::types::Value;
    let mut params = vec![Value::Text(org_id.to_owned())];
    params.extend(bound.iter().map(|b| match b {
        Bound::Text(s) | Bound::Date(s) => Value::Text(s.clone()),
        Bound::Integer(i) | Bound::Instant(i) => Value::Integer(*i),
        Bound::Number(f) => Value::Real(*f),
        Bound::Bool(b) => Value::Integer(i64::from(*b)),
    }));
    params
}

/// A report's statement past one of SQLite's limits (`SQLITE_MAX_COLUMN`, compound terms,
/// tables in a join, expression depth, arguments, variables; SQLITE_TOOBIG) as
/// [`StoreError::TooLarge`], and an integer overflow of its arithmetic (`sum(...)`, `*`) as
/// [`StoreError::BadValue`]: the caller asked for too much, the store is sound.
fn callers_error(e: StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(_, Some(message)))
            if message == "integer overflow" =>
        {
            StoreError::BadValue(message)
        }
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, Some(message)))
            if f.code == rusqlite::ErrorCode::TooBig
                || message.starts_with("too many")
                || message.contains("at most 64 tables")
                || message.contains("too large") =>
        {
            StoreError::TooLarge(message)
        }
        e => e,
    }
}
