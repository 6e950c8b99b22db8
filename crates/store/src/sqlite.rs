//! The SQLite backend: the embedded default. One file, created on first use.
//!
//! Instants are stored as integer microseconds since 1970 (UTC), booleans as 0/1, JSON as text.
//! Imports run in one `BEGIN IMMEDIATE` transaction with cached prepared statements.

use std::path::Path;

use domain::format::{OrgSink, Progress, Record, read_org};
use domain::{Date, Instant};
use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Connection, ToSql, TransactionBehavior};

use crate::export::{Get, RunQuery};
use crate::migrate::{MIGRATIONS, latest};
use crate::rows::{Table, Val, rows};
use crate::{ImportError, ImportOptions, ImportReport, StoreError};

pub struct SqliteStore {
    conn: Connection,
}

impl ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Owned(Value::Null),
            Val::Text(s) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())),
            Val::Int(n) => ToSqlOutput::Owned(Value::Integer(*n)),
            Val::Real(x) => ToSqlOutput::Owned(Value::Real(*x)),
            Val::Bool(b) => ToSqlOutput::Owned(Value::Integer(i64::from(*b))),
            Val::Instant(i) => ToSqlOutput::Owned(Value::Integer(i.as_micros())),
            Val::Date(d) => ToSqlOutput::Owned(Value::Text(d.to_string())),
            Val::Json(s) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())),
        })
    }
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.pragma_update(None, "cache_size", -65536)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.set_prepared_statement_cache_capacity(64);
            Ok(conn)
        };
        let conn = open().map_err(|source| StoreError::SqliteOpen {
            path: path.to_owned(),
            source,
        })?;
        let mut store = SqliteStore { conn };
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
        let current: i64 = tx.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?;
        if current > latest() {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: latest(),
            });
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
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
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let mut sink = Sink {
            tx: &tx,
            org: None,
            replace: options.replace,
            replaced: false,
            refused: None,
            seq: 0,
            insert: Table::ALL.iter().map(|t| insert_sql(*t)).collect(),
        };
        // On any error `tx` is dropped un-committed: SQLite rolls everything back.
        let summary =
            read_org(dir, &mut sink, progress).map_err(|e| ImportError::from_read(dir, e))?;
        if let Some(id) = sink.refused {
            return Err(StoreError::OrgExists(id.to_string()).into());
        }
        let (org, replaced) = (sink.org.take(), sink.replaced);
        let Some(org_id) = org else {
            return Err(StoreError::Corrupt("the org folder yielded no org".into()).into());
        };
        tx.commit().map_err(StoreError::from)?;
        Ok(ImportReport {
            org_id,
            replaced,
            summary,
        })
    }

    /// Runs `f` with a query runner bound to `org_id` (its `$1`), in one read transaction so that
    /// an export sees one consistent state.
    pub fn with_org_rows(
        &mut self,
        org_id: &str,
        f: &mut dyn FnMut(&mut RunQuery<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let mut run = |sql: &str, each: &mut dyn FnMut(&dyn Get) -> Result<(), StoreError>| {
            let mut stmt = tx.prepare(sql)?;
            let mut rows = stmt.query([org_id])?;
            while let Some(row) = rows.next()? {
                each(&SqliteRow(row))?;
            }
            Ok(())
        };
        let result = f(&mut run);
        tx.finish()?;
        result
    }

    pub fn orgs(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT org_id, name FROM orgs ORDER BY org_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn count(&mut self, table: Table, org_id: &str) -> Result<u64, StoreError> {
        let sql = format!("SELECT count(*) FROM {} WHERE org_id = ?1", table.name());
        let n: i64 = self.conn.query_row(&sql, [org_id], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

struct Sink<'t> {
    tx: &'t rusqlite::Transaction<'t>,
    org: Option<domain::Id>,
    replace: bool,
    replaced: bool,
    /// The org exists and may not be replaced: the import will be refused.
    refused: Option<domain::Id>,
    seq: i64,
    /// `INSERT` statement text per table, by `Table as usize`.
    insert: Vec<String>,
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

impl OrgSink for Sink<'_> {
    type Error = StoreError;

    fn record(&mut self, record: Record<'_>) -> Result<(), StoreError> {
        if let Record::Org(org) = record {
            let exists: bool = self.tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM orgs WHERE org_id = ?1)",
                [org.id.as_str()],
                |r| r.get(0),
            )?;
            if exists {
                if !self.replace {
                    // Refuse, but let the reader go on so that every problem of the folder is
                    // reported too; nothing more is written.
                    self.refused = Some(org.id.clone());
                    return Ok(());
                }
                for table in Table::ALL.iter().rev() {
                    self.tx.execute(
                        &format!("DELETE FROM {} WHERE org_id = ?1", table.name()),
                        [org.id.as_str()],
                    )?;
                }
                self.replaced = true;
            }
            self.org = Some(org.id.clone());
        }
        if self.refused.is_some() {
            return Ok(());
        }
        let Some(org) = &self.org else {
            return Err(StoreError::Corrupt("a record came before its org".into()));
        };
        if let Record::BusyBlock(_) = record {
            self.seq += 1;
        }
        let (tx, insert) = (self.tx, &self.insert);
        rows(org.as_str(), record, self.seq, &mut |table, vals| {
            let sql = insert.get(table as usize).map_or("", String::as_str);
            let mut stmt = tx.prepare_cached(sql)?;
            stmt.execute(rusqlite::params_from_iter(vals.iter()))?;
            Ok(())
        })
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
