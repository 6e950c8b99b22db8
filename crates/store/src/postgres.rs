//! The PostgreSQL backend: production.
//!
//! Imports stream rows into per-table `COPY ... FROM STDIN` buffers inside one transaction; when
//! the buffers hold more than [`FLUSH_BYTES`] they are flushed in table order (parents first, so
//! foreign keys hold at every step). Memory stays flat whatever the size of the org.

use std::io::Write;
use std::path::Path;

use domain::format::{OrgSink, Progress, Record, read_org};
use domain::{Date, Instant};
use postgres::types::{FromSql, Type};
use postgres::{Client, NoTls, Transaction};

use crate::export::{Get, RunQuery};
use crate::migrate::{MIGRATIONS, latest};
use crate::rows::{Table, Val, rows};
use crate::{ImportError, ImportOptions, ImportReport, StoreError, redact};

/// Buffered `COPY` text, all tables together, before a flush.
const FLUSH_BYTES: usize = 16 << 20;

/// Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_US: i64 = 946_684_800_000_000;

/// Serialises migrations of concurrently starting replicas (an arbitrary constant).
const MIGRATION_LOCK: i64 = 0x6869_7265_706c_616e; // "hireplan"

pub struct PgStore {
    client: Client,
}

impl PgStore {
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let client = Client::connect(url, NoTls).map_err(|source| StoreError::PostgresConnect {
            url: redact(url),
            source,
        })?;
        let mut store = PgStore { client };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
        )?;
        let current: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations",
                &[],
            )?
            .get(0);
        if current > latest() {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: latest(),
            });
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            let mut apply = || -> Result<(), StoreError> {
                tx.batch_execute(m.postgres)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    &[&m.version, &m.name],
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
        Ok(self
            .client
            .query_one(
                "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations",
                &[],
            )?
            .get(0))
    }

    pub fn import(
        &mut self,
        dir: &Path,
        options: ImportOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        let tx = self.client.transaction().map_err(StoreError::from)?;
        let mut sink = Sink {
            tx,
            org: None,
            replace: options.replace,
            replaced: false,
            refused: None,
            seq: 0,
            buffers: Table::ALL.iter().map(|_| Vec::new()).collect(),
            buffered: 0,
        };
        // On any error the transaction is dropped un-committed: PostgreSQL rolls it back.
        let summary =
            read_org(dir, &mut sink, progress).map_err(|e| ImportError::from_read(dir, e))?;
        if let Some(id) = sink.refused {
            return Err(StoreError::OrgExists(id.to_string()).into());
        }
        sink.flush()?;
        let Sink {
            tx, org, replaced, ..
        } = sink;
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

    /// Runs `f` with a query runner bound to `org_id` (its `$1`), in one repeatable-read
    /// transaction so that an export sees one consistent snapshot.
    pub fn with_org_rows(
        &mut self,
        org_id: &str,
        f: &mut dyn FnMut(&mut RunQuery<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let mut run = |sql: &str, each: &mut dyn FnMut(&dyn Get) -> Result<(), StoreError>| {
            let mut rows = tx.query_raw(sql, [org_id])?;
            while let Some(row) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
                each(&PgRow(&row))?;
            }
            Ok(())
        };
        let result = f(&mut run);
        tx.commit()?;
        result
    }

    pub fn orgs(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self
            .client
            .query("SELECT org_id, name FROM orgs ORDER BY org_id", &[])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub fn count(&mut self, table: Table, org_id: &str) -> Result<u64, StoreError> {
        let sql = format!("SELECT count(*) FROM {} WHERE org_id = $1", table.name());
        let n: i64 = self.client.query_one(&sql, &[&org_id])?.get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

struct Sink<'c> {
    tx: Transaction<'c>,
    org: Option<domain::Id>,
    replace: bool,
    replaced: bool,
    /// The org exists and may not be replaced: the import will be refused.
    refused: Option<domain::Id>,
    seq: i64,
    /// `COPY` text per table, by `Table as usize`.
    buffers: Vec<Vec<u8>>,
    buffered: usize,
}

impl Sink<'_> {
    /// Sends every buffer, parents first.
    fn flush(&mut self) -> Result<(), StoreError> {
        for table in Table::ALL {
            let Some(buf) = self.buffers.get_mut(table as usize) else {
                continue;
            };
            if buf.is_empty() {
                continue;
            }
            let sql = format!(
                "COPY {} ({}) FROM STDIN",
                table.name(),
                table.columns().join(", ")
            );
            let mut w = self.tx.copy_in(&sql)?;
            w.write_all(buf)
                .map_err(|e| StoreError::Corrupt(format!("copy into `{}`: {e}", table.name())))?;
            w.finish()?;
            buf.clear();
        }
        self.buffered = 0;
        Ok(())
    }
}

/// Appends `s` escaped for `COPY` text format.
fn escape(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

fn copy_row(out: &mut Vec<u8>, vals: &[Val<'_>]) {
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        // Writing into a Vec cannot fail.
        let _ = match v {
            Val::Null => out.write_all(b"\\N"),
            Val::Text(s) => {
                escape(out, s);
                Ok(())
            }
            Val::Int(n) => write!(out, "{n}"),
            Val::Real(x) => write!(out, "{x:?}"),
            Val::Bool(b) => out.write_all(if *b { b"t" } else { b"f" }),
            Val::Instant(t) => write!(out, "{t}"),
            Val::Date(d) => write!(out, "{d}"),
            Val::Json(s) => {
                escape(out, s);
                Ok(())
            }
        };
    }
    out.push(b'\n');
}

impl OrgSink for Sink<'_> {
    type Error = StoreError;

    fn record(&mut self, record: Record<'_>) -> Result<(), StoreError> {
        if let Record::Org(org) = record {
            let existing = self.tx.query_opt(
                "SELECT 1 FROM orgs WHERE org_id = $1 FOR UPDATE",
                &[&org.id.as_str()],
            )?;
            if existing.is_some() {
                if !self.replace {
                    // Refuse, but let the reader go on so that every problem of the folder is
                    // reported too; nothing more is written.
                    self.refused = Some(org.id.clone());
                    return Ok(());
                }
                for table in Table::ALL.iter().rev() {
                    self.tx.execute(
                        &format!("DELETE FROM {} WHERE org_id = $1", table.name()),
                        &[&org.id.as_str()],
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
        let buffers = &mut self.buffers;
        let mut added = 0;
        rows(org.as_str(), record, self.seq, &mut |table, vals| {
            if let Some(buf) = buffers.get_mut(table as usize) {
                let before = buf.len();
                copy_row(buf, vals);
                added += buf.len() - before;
            }
            Ok::<(), StoreError>(())
        })?;
        self.buffered += added;
        if self.buffered > FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }
}

/// A `timestamptz` as microseconds since 1970.
struct PgMicros(i64);

impl<'a> FromSql<'a> for PgMicros {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let bytes: [u8; 8] = raw.try_into()?;
        Ok(PgMicros(i64::from_be_bytes(bytes) + PG_EPOCH_US))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP
    }
}

/// A `date` as days since 2000-01-01.
struct PgDays(i32);

impl<'a> FromSql<'a> for PgDays {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let bytes: [u8; 4] = raw.try_into()?;
        Ok(PgDays(i32::from_be_bytes(bytes)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
}

struct PgRow<'r>(&'r postgres::Row);

impl Get for PgRow<'_> {
    fn text(&self, i: usize) -> Result<Option<String>, String> {
        self.0.try_get(i).map_err(|e| e.to_string())
    }
    fn int(&self, i: usize) -> Result<Option<i64>, String> {
        let ty = self.0.columns().get(i).map(|c| c.type_().clone());
        match ty {
            Some(Type::INT4) => self
                .0
                .try_get::<_, Option<i32>>(i)
                .map(|v| v.map(i64::from))
                .map_err(|e| e.to_string()),
            Some(Type::INT2) => self
                .0
                .try_get::<_, Option<i16>>(i)
                .map(|v| v.map(i64::from))
                .map_err(|e| e.to_string()),
            _ => self.0.try_get(i).map_err(|e| e.to_string()),
        }
    }
    fn real(&self, i: usize) -> Result<Option<f64>, String> {
        self.0.try_get(i).map_err(|e| e.to_string())
    }
    fn boolean(&self, i: usize) -> Result<Option<bool>, String> {
        self.0.try_get(i).map_err(|e| e.to_string())
    }
    fn instant(&self, i: usize) -> Result<Option<Instant>, String> {
        self.0
            .try_get::<_, Option<PgMicros>>(i)
            .map_err(|e| e.to_string())?
            .map(|us| Instant::from_micros(us.0).map_err(|e| e.to_string()))
            .transpose()
    }
    fn date(&self, i: usize) -> Result<Option<Date>, String> {
        let Some(days) = self
            .0
            .try_get::<_, Option<PgDays>>(i)
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        let epoch = jiff::civil::date(2000, 1, 1);
        epoch
            .checked_add(jiff::Span::new().days(i64::from(days.0)))
            .map(|d| Some(Date::from_civil(d)))
            .map_err(|e| e.to_string())
    }
}
