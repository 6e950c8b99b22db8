//! The PostgreSQL backend: production.
//!
//! Imports send batches of rows as `COPY ... FROM STDIN` text, one `COPY` per table per batch in
//! table order (parents first, so foreign keys hold at every step), all in one transaction.

use std::io::Write;
use std::path::Path;

use domain::format::Progress;
use domain::{Date, Id, Instant};
use postgres::types::{FromSql, Type};
use postgres::{Client, NoTls};

use crate::export::{Get, RunQuery};
use crate::import::{self, Batch, ImportTx, Msg, Written};
use crate::migrate::{MIGRATIONS, latest};
use crate::rows::{Table, Val, check_dangling, dangling_sql};
use crate::{ImportError, ImportOptions, ImportReport, StoreError, redact};

/// Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_US: i64 = 946_684_800_000_000;

/// Serialises migrations of concurrently starting replicas (an arbitrary constant).
const MIGRATION_LOCK: i64 = 0x6869_7265_706c_616e; // "hireplan"

pub struct PgStore {
    client: Client,
    /// Report statements prepared on this connection, by SQL text (a server runs the same
    /// compiled statements again and again; parsing and planning them was most of a small
    /// read's cost). Bounded: cleared when full.
    prepared: std::collections::HashMap<String, postgres::Statement>,
    /// The kind of statement the connection's settings are for now.
    plan: Plan,
    /// The outbox's insert, prepared on this connection on first use.
    outbox_insert: Option<postgres::Statement>,
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

/// The kind of report statement a connection is set up for: the settings that make one fast
/// make the other slow, so a connection switches (one round trip) only when the kind changes,
/// and a server reading page after page never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// A whole-org report: planned for the parameters' values (`plan_cache_mode = auto`: its
    /// best plan depends on a date range or a status), and hash tables and sorts of a million
    /// groups in memory (`work_mem = 64MB`, not the default 4 MB).
    Report,
    /// A page (`query_compiler::Compiled::reads_a_page`): planned once per connection without
    /// the values (`force_generic_plan`; the plan, walk the key index and stop at the limit,
    /// does not depend on them), default `work_mem`, no Memoize. Measured on the admin's page
    /// of 50 applications (1,000,000 in the org): planning it for its values on every request
    /// cost more than running it, and Memoize nodes sized for 64 MB cost another millisecond
    /// per execution (0.8 ms instead of 1.3 to 2.1 ms, median).
    Page,
    /// A report over demographics with its cells (`query_compiler::Suppression::cells`): as
    /// `Report`, with
    /// `work_mem = 256MB`. Its statement makes one row per group and candidate (a million on
    /// the benchmark org) and aggregates them twice; at 64 MB the first aggregate spilled to
    /// disk and the second was planned as an external sort, 4.6 s instead of 3.3 s on the
    /// benchmark org (`EXPLAIN ANALYZE` of eeo-hires). Such reports are few (a daily budget per
    /// user, admins only by default), so the larger budget is spent rarely.
    Demographics,
}

impl Plan {
    fn settings(self) -> &'static str {
        match self {
            Plan::Report => {
                "SET plan_cache_mode = auto; SET work_mem = '64MB'; SET enable_memoize = on"
            }
            Plan::Demographics => {
                "SET plan_cache_mode = auto; SET work_mem = '256MB'; SET enable_memoize = on"
            }
            Plan::Page => {
                "SET plan_cache_mode = force_generic_plan; SET work_mem = '4MB'; \
                 SET enable_memoize = off"
            }
        }
    }
}

/// How many prepared report statements a connection keeps.
const PREPARED_MAX: usize = 256;

/// One row of a report statement as values of `kinds`.
fn pg_values(
    row: &postgres::Row,
    kinds: &[query_compiler::ValueKind],
) -> Result<Vec<query_compiler::Value>, StoreError> {
    use query_compiler::{Value, ValueKind};
    let mut values = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        let v = match kind {
            ValueKind::Integer => row.try_get::<_, Option<i64>>(i)?.map(Value::Integer),
            ValueKind::Instant => row.try_get::<_, Option<i64>>(i)?.map(Value::Instant),
            ValueKind::Number => row.try_get::<_, Option<f64>>(i)?.map(Value::Number),
            ValueKind::Bool => row.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
            ValueKind::Date => row.try_get::<_, Option<String>>(i)?.map(Value::Date),
            ValueKind::List => row.try_get::<_, Option<String>>(i)?.map(Value::List),
            ValueKind::Map => row.try_get::<_, Option<String>>(i)?.map(Value::Map),
            ValueKind::Text => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(values)
}

impl PgStore {
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let client = Client::connect(url, NoTls).map_err(|source| StoreError::PostgresConnect {
            url: redact(url),
            source,
        })?;
        let mut store = PgStore {
            client,
            prepared: std::collections::HashMap::new(),
            plan: Plan::Report,
            outbox_insert: None,
            event_context: crate::events::EventContext::default(),
            emit_events: true,
            row_limit: None,
            request: None,
        };
        store.migrate()?;
        store.client.batch_execute(SESSION_SETTINGS)?;
        store.client.batch_execute(Plan::Report.settings())?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
        )?;
        let applied: Vec<i64> = tx
            .query("SELECT version::int8 FROM schema_migrations", &[])?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
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

    /// Statement `sql` prepared on this connection (once; kept with the report statements),
    /// and the client to run it: one round trip per execution for the store's hot paths (the
    /// job queue's claim and completion).
    pub(crate) fn prepared(
        &mut self,
        sql: &str,
    ) -> Result<(&mut Client, postgres::Statement), StoreError> {
        let statement = match self.prepared.get(sql) {
            Some(s) => s.clone(),
            None => {
                if self.prepared.len() >= PREPARED_MAX {
                    self.prepared.clear();
                }
                let s = self.client.prepare(sql)?;
                self.prepared.insert(sql.to_owned(), s.clone());
                s
            }
        };
        Ok((&mut self.client, statement))
    }

    /// The client, for the store's own modules (see `audit`).
    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The client and the slot of its prepared outbox insert.
    pub(crate) fn client_and_outbox_statement(
        &mut self,
    ) -> (&mut Client, &mut Option<postgres::Statement>) {
        (&mut self.client, &mut self.outbox_insert)
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
        let client = &mut self.client;
        let report =
            import::run::<CopyText>(dir, options, progress, move |from_reader, options| {
                write(client, from_reader, options)
            })?;
        // Fresh statistics, so that reports on the new data get good plans at once (after a bulk
        // `COPY` the planner would otherwise assume tiny tables until autovacuum runs).
        let tables: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        self.client
            .batch_execute(&format!("ANALYZE {}", tables.join(", ")))
            .map_err(|e| ImportError::Store(StoreError::from(e)))?;
        Ok(report)
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
        let mut run =
            |sql: &str,
             params: &[&str],
             each: &mut dyn FnMut(&dyn Get) -> Result<(), StoreError>| {
                let all: Vec<&str> = std::iter::once(org_id)
                    .chain(params.iter().copied())
                    .collect();
                let mut rows = tx.query_raw(sql, all)?;
                while let Some(row) =
                    postgres::fallible_iterator::FallibleIterator::next(&mut rows)?
                {
                    each(&PgRow(&row))?;
                }
                Ok(())
            };
        let result = f(&mut run);
        tx.commit()?;
        result
    }

    /// Runs a report statement: `$1` is the org, then the bound parameters.
    pub fn run(
        &mut self,
        sql: &str,
        org_id: &str,
        bound: &[query_compiler::Bound],
        kinds: &[query_compiler::ValueKind],
    ) -> Result<Vec<Vec<query_compiler::Value>>, StoreError> {
        let mut meter = crate::Meter::rows(self.request.clone(), None);
        self.run_planned(sql, org_id, bound, kinds, Plan::Report, &mut meter)
    }

    /// [`PgStore::run`], with the connection set up for `plan` (the settings change only when
    /// the previous statement on the connection wanted the other kind), each row counted by
    /// `meter`. With a limit in it, the rows are read as they come and the run stops at the
    /// first row it refuses: what it holds stays bounded whatever the statement would return.
    pub(crate) fn run_planned(
        &mut self,
        sql: &str,
        org_id: &str,
        bound: &[query_compiler::Bound],
        kinds: &[query_compiler::ValueKind],
        plan: Plan,
        meter: &mut crate::Meter,
    ) -> Result<Vec<Vec<query_compiler::Value>>, StoreError> {
        if plan != self.plan {
            self.client.batch_execute(plan.settings())?;
            self.plan = plan;
        }
        let params = pg_params(org_id, bound);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            params.iter().map(|p| p.as_ref()).collect();
        let statement = match self.prepared.get(sql) {
            Some(s) => s.clone(),
            None => {
                if self.prepared.len() >= PREPARED_MAX {
                    self.prepared.clear();
                }
                let s = self.client.prepare(sql)?;
                self.prepared.insert(sql.to_owned(), s.clone());
                s
            }
        };
        let limited = meter.limited();
        let mut values = |row: &postgres::Row| -> Result<Vec<query_compiler::Value>, StoreError> {
            let v = pg_values(row, kinds)?;
            meter.admit(&v)?;
            Ok(v)
        };
        if !limited {
            // One statement sees one snapshot: no transaction needed, and one round trip.
            let rows = self.client.query(&statement, &refs)?;
            return rows.iter().map(values).collect();
        }
        // The rows as they arrive, stopping at the first past the limit: at most `limit` are
        // held. Not a portal fetched in batches: PostgreSQL plans no parallel workers for a
        // portal run with a row count, and a report over the whole org took 1.5x as long.
        // The rest of a refused report's rows are read and dropped by the connection (the
        // statement timeout bounds how long that takes).
        let mut rows = self.client.query_raw(&statement, refs)?;
        let mut out = Vec::new();
        while let Some(row) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
            out.push(values(&row)?);
        }
        Ok(out)
    }

    /// The plans (`EXPLAIN`, nothing run) of what an import of org `org_id` runs on the org's rows
    /// before commit (the derived updates, the set-based foreign key checks), planned as the
    /// import plans them (`migrate::IMPORT_PLAN_POSTGRES`) with the statistics the store holds
    /// now; in a transaction that is rolled back. For tests and diagnostics.
    pub fn explain_import(&mut self, org_id: &str) -> Result<Vec<String>, StoreError> {
        let mut tx = self.client.transaction()?;
        tx.batch_execute(crate::migrate::IMPORT_PLAN_POSTGRES)?;
        let statements = [
            crate::migrate::DERIVE_LEFT_AT_POSTGRES.to_owned(),
            crate::migrate::DERIVE_CANDIDATE_FLAGS_POSTGRES.to_owned(),
            crate::migrate::DERIVE_APPLICATION_JOB_CONFIDENTIAL_POSTGRES.to_owned(),
        ]
        .into_iter()
        .chain(
            Table::ALL
                .into_iter()
                .filter_map(dangling_sql)
                .map(|(_, sql)| sql),
        );
        let mut plans = Vec::new();
        for sql in statements {
            let rows = tx.query(&format!("EXPLAIN {sql}"), &[&org_id])?;
            let lines: Vec<String> = rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            plans.push(format!("{sql}\n{}", lines.join("\n")));
        }
        tx.rollback()?;
        Ok(plans)
    }

    /// `EXPLAIN (ANALYZE, BUFFERS)`: runs the statement and returns the plan with timings.
    pub fn explain(
        &mut self,
        sql: &str,
        org_id: &str,
        bound: &[query_compiler::Bound],
    ) -> Result<String, StoreError> {
        let params = pg_params(org_id, bound);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            params.iter().map(|p| p.as_ref()).collect();
        let rows = self
            .client
            .query(&format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"), &refs)?;
        let mut out = String::new();
        for row in rows {
            out.push_str(&row.try_get::<_, String>(0)?);
            out.push('\n');
        }
        Ok(out)
    }

    pub fn orgs(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self
            .client
            .query("SELECT org_id, name FROM orgs ORDER BY org_id", &[])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The first column (text) of every row of `sql`: for tests and diagnostics.
    pub fn query_strings(&mut self, sql: &str) -> Result<Vec<String>, StoreError> {
        let rows = self.client.query(sql, &[])?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// The first column (text) of every row of `sql` for `org_id`.
    pub fn org_strings(&mut self, sql: &str, org_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = self.client.query(sql, &[&org_id])?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Runs `sql` (rows of a label and a count) for `org_id`.
    pub fn labelled_counts(
        &mut self,
        sql: &str,
        org_id: &str,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = self.client.query(sql, &[&org_id])?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// Runs `sql` (one row of `n` integers) for `org_id`.
    pub fn counts(&mut self, sql: &str, org_id: &str, n: usize) -> Result<Vec<i64>, StoreError> {
        let row = self.client.query_one(sql, &[&org_id])?;
        (0..n).map(|i| Ok(row.try_get(i)?)).collect()
    }

    pub fn count(&mut self, table: Table, org_id: &str) -> Result<u64, StoreError> {
        let sql = format!("SELECT count(*) FROM {} WHERE org_id = $1", table.name());
        let n: i64 = self.client.query_one(&sql, &[&org_id])?.get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// A batch of rows as `COPY` text, one buffer per table (by `Table as usize`).
pub(crate) struct CopyText {
    buffers: Vec<Vec<u8>>,
    size: usize,
}

impl Default for CopyText {
    fn default() -> Self {
        CopyText {
            buffers: Table::ALL.iter().map(|_| Vec::new()).collect(),
            size: 0,
        }
    }
}

impl Batch for CopyText {
    fn push(&mut self, table: Table, vals: &[Val<'_>]) {
        if let Some(buf) = self.buffers.get_mut(table as usize) {
            let before = buf.len();
            copy_row(buf, vals);
            self.size += buf.len() - before;
        }
    }

    fn size(&self) -> usize {
        self.size
    }
}

/// The writer thread: one transaction.
fn write(
    client: &mut Client,
    from_reader: std::sync::mpsc::Receiver<Msg<CopyText>>,
    options: ImportOptions,
) -> Result<Written, StoreError> {
    let mut tx = client.transaction()?;
    // Bulk mode: where this role may (a superuser, or `GRANT SET ON PARAMETER
    // session_replication_role`), skip the per-row foreign key triggers and check every key of the
    // org set-based before commit instead: the same guarantee, several times faster. Otherwise the
    // triggers check each row.
    let bulk = {
        let mut sp = tx.savepoint("bulk_mode")?;
        match sp.batch_execute("SET LOCAL session_replication_role = replica") {
            Ok(()) => {
                sp.commit()?;
                true
            }
            Err(_) => {
                sp.rollback()?;
                false
            }
        }
    };
    let checks = if bulk {
        crate::ForeignKeyChecks::SetBased
    } else {
        crate::ForeignKeyChecks::PerRow
    };
    import::write_all(PgImport { tx, bulk }, from_reader, options, checks)
}

struct PgImport<'c> {
    tx: postgres::Transaction<'c>,
    /// Foreign key triggers are off: check the keys before commit.
    bulk: bool,
}

impl ImportTx<CopyText> for PgImport<'_> {
    fn org_exists(&mut self, org: &Id) -> Result<bool, StoreError> {
        let row = self.tx.query_opt(
            "SELECT 1 FROM orgs WHERE org_id = $1 FOR UPDATE",
            &[&org.as_str()],
        )?;
        Ok(row.is_some())
    }

    fn delete_org(&mut self, org: &Id) -> Result<(), StoreError> {
        // The booked loops name the org's interviews, which go (migration 32).
        self.tx.execute(
            "DELETE FROM interview_loops WHERE org_id = $1",
            &[&org.as_str()],
        )?;
        for table in Table::ALL.iter().rev() {
            let sql = format!("DELETE FROM {} WHERE org_id = $1", table.name());
            self.tx.execute(&sql, &[&org.as_str()])?;
        }
        Ok(())
    }

    fn next_generation(&mut self, org: &Id) -> Result<(), StoreError> {
        self.tx
            .execute(crate::warehouse::NEXT_GENERATION, &[&org.as_str()])?;
        Ok(())
    }

    /// One `COPY` per table, parents first: a batch holds whole records, so every foreign key
    /// points to a row already sent.
    fn write(&mut self, batch: CopyText) -> Result<(), StoreError> {
        for (table, buf) in Table::ALL.iter().zip(&batch.buffers) {
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
        }
        Ok(())
    }

    fn commit(mut self, org: Option<&Id>) -> Result<(), StoreError> {
        if let Some(org) = org {
            // What runs before commit reads only the org's rows, planned without statistics for
            // them (`ANALYZE` runs after commit).
            self.tx
                .batch_execute(crate::migrate::IMPORT_PLAN_POSTGRES)?;
            self.tx
                .execute(crate::migrate::DERIVE_LEFT_AT_POSTGRES, &[&org.as_str()])?;
            self.tx.execute(
                crate::migrate::DERIVE_CANDIDATE_FLAGS_POSTGRES,
                &[&org.as_str()],
            )?;
            self.tx.execute(
                crate::migrate::DERIVE_APPLICATION_JOB_CONFIDENTIAL_POSTGRES,
                &[&org.as_str()],
            )?;
        }
        if let (true, Some(org)) = (self.bulk, org) {
            for (fks, sql) in Table::ALL.into_iter().filter_map(dangling_sql) {
                let row = self.tx.query_one(&sql, &[&org.as_str()])?;
                for (i, fk) in fks.into_iter().enumerate() {
                    check_dangling(fk, row.try_get(i)?, org)?;
                }
            }
        }
        Ok(self.tx.commit()?)
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

/// Settings of every connection, set once when it opens (per statement they cost three round
/// trips: BEGIN, SET LOCAL, COMMIT). Reports are short analytic queries, for which JIT
/// compilation costs more than it saves (PostgreSQL turns it on by estimated cost, and a plan
/// over a million rows crosses that line). The settings that depend on the kind of statement
/// are [`Plan`]'s.
const SESSION_SETTINGS: &str = "SET jit = off; SET standard_conforming_strings = on";

fn pg_params(
    org_id: &str,
    bound: &[query_compiler::Bound],
) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    use query_compiler::Bound;
    let mut params: Vec<Box<dyn postgres::types::ToSql + Sync>> = vec![Box::new(org_id.to_owned())];
    for b in bound {
        params.push(match b {
            Bound::Text(s) | Bound::Date(s) => Box::new(s.clone()),
            Bound::Integer(i) | Bound::Instant(i) => Box::new(*i),
            Bound::Number(f) => Box::new(*f),
            Bound::Bool(b) => Box::new(*b),
        });
    }
    params
}
