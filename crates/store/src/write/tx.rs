//! One write transaction on either backend, the shared SQL it runs (`$n` parameters; SQLite gets
//! them as `?n`), the one insert function per table, and the lookups the commands share.

use std::borrow::Cow;

use domain::custom::{CustomFieldDef, CustomSchema, CustomValues};
use domain::entity::*;
use domain::enums::*;
use domain::format::Record;
use domain::{Date, Id, Instant};
use postgres::types::{FromSql, Type};
use rusqlite::TransactionBehavior;

use super::WriteError;
use crate::events::{EventContext, EventType};
use crate::rows::{self, Table, Val};
use crate::{Store, StoreError};

/// The truth of `candidates.has_non_confidential_job` (migration 8) for the row of an
/// `UPDATE candidates`: an application of the candidate to a job that is not confidential.
const HAS_NON_CONFIDENTIAL_JOB: &str = "EXISTS (SELECT 1 FROM applications a \
    JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id \
    WHERE a.org_id = candidates.org_id AND a.candidate_id = candidates.id AND j.confidential = FALSE)";

/// The truth of `applications.job_confidential` (migration 30) for the row of an
/// `UPDATE applications`: the `confidential` of the application's job.
const JOB_CONFIDENTIAL: &str = "(SELECT j.confidential FROM jobs j \
    WHERE j.org_id = applications.org_id AND j.id = applications.job_id)";

/// A transaction on either backend.
pub(crate) enum Conn<'c> {
    Sqlite(rusqlite::Transaction<'c>),
    Postgres(postgres::Transaction<'c>),
}

/// A transaction, with the events its write path emitted ([`Tx::emit`]), written to the outbox
/// just before commit ([`Store::write_tx`]).
pub(crate) struct Tx<'c> {
    conn: Conn<'c>,
    events: Vec<Pending>,
    context: EventContext,
}

/// An event emitted, not yet in the outbox.
struct Pending {
    ty: &'static EventType,
    subject: String,
    data: serde_json::Value,
}

/// The outbox insert on PostgreSQL: the org's next sequence number from its `outbox_heads` row
/// (locked until commit: see `crate::events`), and the event, in one statement.
const OUTBOX_INSERT_POSTGRES: &str = "WITH head AS ( \
    INSERT INTO outbox_heads (org_id, last_seq) VALUES ($1::text, 1) \
    ON CONFLICT (org_id) DO UPDATE SET last_seq = outbox_heads.last_seq + 1 \
    RETURNING last_seq) \
    INSERT INTO outbox (org_id, seq, id, type, subject, time, data, committed_at, automation_depth) \
    SELECT $1::text, last_seq, $2::text, $3::text, $4::text, $5::timestamptz, $6::jsonb, \
    clock_timestamp(), $7::bigint FROM head";

/// The same on SQLite (one writer at a time): the head, then the event.
const OUTBOX_HEAD_SQLITE: &str = "INSERT INTO outbox_heads (org_id, last_seq) VALUES (?1, 1) \
    ON CONFLICT (org_id) DO UPDATE SET last_seq = outbox_heads.last_seq + 1 RETURNING last_seq";
const OUTBOX_INSERT_SQLITE: &str = "INSERT INTO outbox (org_id, seq, id, type, subject, time, data, committed_at, automation_depth) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER), ?8)";

/// What a result column holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Text,
    Int,
    Real,
    Bool,
    Instant,
    Date,
    Json,
}

/// One value of a result row.
#[derive(Clone, Debug)]
pub(crate) enum Cell {
    Null,
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
    Instant(Instant),
    Date(Date),
    Json(serde_json::Value),
}

/// A result row, with typed accessors that report a corrupt store (not a user error).
pub(crate) struct Row {
    cells: Vec<Cell>,
}

impl Row {
    fn bad(&self, i: usize, what: &str) -> StoreError {
        StoreError::Corrupt(format!(
            "column {i}: expected {what}, got {:?}",
            self.cells.get(i)
        ))
    }
    fn cell(&self, i: usize) -> &Cell {
        self.cells.get(i).unwrap_or(&Cell::Null)
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            Cell::Text(s) => Ok(Some(s.clone())),
            _ => Err(self.bad(i, "text")),
        }
    }
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| self.bad(i, "text"))
    }
    pub fn id(&self, i: usize) -> Result<Id, StoreError> {
        Id::parse(self.text(i)?).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    pub fn opt_id(&self, i: usize) -> Result<Option<Id>, StoreError> {
        self.opt_text(i)?
            .map(|s| Id::parse(s).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(*n)),
            _ => Err(self.bad(i, "an integer")),
        }
    }
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| self.bad(i, "an integer"))
    }
    pub fn uint(&self, i: usize) -> Result<u32, StoreError> {
        u32::try_from(self.int(i)?).map_err(|_| self.bad(i, "a small non-negative integer"))
    }
    pub fn opt_real(&self, i: usize) -> Result<Option<f64>, StoreError> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            Cell::Real(x) => Ok(Some(*x)),
            #[allow(clippy::cast_precision_loss)]
            Cell::Int(n) => Ok(Some(*n as f64)),
            _ => Err(self.bad(i, "a number")),
        }
    }
    pub fn boolean(&self, i: usize) -> Result<bool, StoreError> {
        match self.cell(i) {
            Cell::Bool(b) => Ok(*b),
            _ => Err(self.bad(i, "a boolean")),
        }
    }
    pub fn opt_instant(&self, i: usize) -> Result<Option<Instant>, StoreError> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            Cell::Instant(t) => Ok(Some(*t)),
            _ => Err(self.bad(i, "an instant")),
        }
    }
    pub fn instant(&self, i: usize) -> Result<Instant, StoreError> {
        self.opt_instant(i)?
            .ok_or_else(|| self.bad(i, "an instant"))
    }
    pub fn opt_date(&self, i: usize) -> Result<Option<Date>, StoreError> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            Cell::Date(d) => Ok(Some(*d)),
            _ => Err(self.bad(i, "a date")),
        }
    }
    pub fn json(&self, i: usize) -> Result<serde_json::Value, StoreError> {
        match self.cell(i) {
            Cell::Json(v) => Ok(v.clone()),
            _ => Err(self.bad(i, "JSON")),
        }
    }
    pub fn enumeration<E>(
        &self,
        i: usize,
        parse: fn(&str) -> Result<E, EnumError>,
    ) -> Result<E, StoreError> {
        parse(&self.text(i)?).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    /// A `custom_fields` column, checked against the org's definitions.
    pub fn custom(
        &self,
        i: usize,
        schema: &CustomSchema,
        entity: CustomEntity,
    ) -> Result<CustomValues, StoreError> {
        match self.json(i)? {
            serde_json::Value::Object(m) => schema.check(entity, &m).map_err(|errs| {
                StoreError::Corrupt(
                    errs.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            }),
            other => Err(StoreError::Corrupt(format!(
                "custom fields: expected an object, got {other}"
            ))),
        }
    }
}

impl Store {
    /// Runs `f` in one write transaction on org `org_id` (which must exist), committing only if it
    /// succeeds: on any error nothing is written.
    pub(crate) fn write_tx<T>(
        &mut self,
        org_id: &str,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, WriteError>,
    ) -> Result<T, WriteError> {
        let run = |tx: &mut Tx<'_>| -> Result<T, WriteError> {
            // PostgreSQL: a shared lock on the org row makes a command wait for an org
            // replacement that is running (which holds the row exclusively) instead of writing
            // into the org being replaced; commands do not block each other on it.
            let sql = format!(
                "SELECT org_id FROM orgs WHERE org_id = $1{}",
                tx.lock_shared()
            );
            if tx
                .query_opt(&sql, &[Val::Text(org_id)], &[Kind::Text])?
                .is_none()
            {
                return Err(WriteError::not_found("org_id", "org", org_id));
            }
            f(tx)
        };
        let context = self.event_context().clone();
        let emit = self.emits_events();
        match self {
            Store::Sqlite(s) => {
                let tx = s
                    .conn()
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut tx = Tx::new(Conn::Sqlite(tx), context);
                let out = run(&mut tx)?;
                if emit {
                    tx.flush_events(org_id, None)?;
                }
                tx.commit()?;
                Ok(out)
            }
            Store::Postgres(s) => {
                let (client, statement) = s.client_and_outbox_statement();
                let tx = client.transaction()?;
                let mut tx = Tx::new(Conn::Postgres(tx), context);
                let out = run(&mut tx)?;
                if emit {
                    tx.flush_events(org_id, Some(statement))?;
                }
                tx.commit()?;
                Ok(out)
            }
        }
    }
}

impl Store {
    /// Runs `f` in one read transaction on org `org_id`, which must exist.
    pub(crate) fn read_tx<T>(
        &mut self,
        org_id: &str,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let run = |tx: &mut Tx<'_>| -> Result<T, StoreError> {
            let found = tx.query_opt(
                "SELECT org_id FROM orgs WHERE org_id = $1",
                &[Val::Text(org_id)],
                &[Kind::Text],
            )?;
            if found.is_none() {
                return Err(StoreError::NoSuchOrg(org_id.to_owned()));
            }
            f(tx)
        };
        let mut tx = match self {
            Store::Sqlite(s) => Tx::new(
                Conn::Sqlite(
                    s.conn()
                        .transaction_with_behavior(TransactionBehavior::Deferred)?,
                ),
                EventContext::default(),
            ),
            Store::Postgres(s) => Tx::new(
                Conn::Postgres(s.client().transaction()?),
                EventContext::default(),
            ),
        };
        let out = run(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// A parameter for PostgreSQL in text format: the server parses it as the type it infers for the
/// parameter (as `COPY` text does for the import), so one `Val` works for every column type.
#[derive(Debug)]
struct PgText(Option<String>);

impl postgres::types::ToSql for PgText {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            None => Ok(postgres::types::IsNull::Yes),
            Some(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(postgres::types::IsNull::No)
            }
        }
    }
    fn accepts(_ty: &Type) -> bool {
        true
    }
    fn encode_format(&self, _ty: &Type) -> postgres::types::Format {
        postgres::types::Format::Text
    }
    postgres::types::to_sql_checked!();
}

fn pg_text(v: &Val<'_>) -> PgText {
    PgText(match v {
        Val::Null => None,
        Val::Text(s) => Some((*s).to_owned()),
        Val::Int(n) => Some(n.to_string()),
        Val::Real(x) => Some(format!("{x:?}")),
        Val::Bool(b) => Some(if *b { "t" } else { "f" }.to_owned()),
        Val::Instant(t) => Some(t.to_string()),
        Val::Date(d) => Some(d.to_string()),
        Val::Json(s) => Some(s.clone()),
    })
}

/// [`StoreError::BadValue`] when a text (or a JSON document's string) holds the NUL character:
/// PostgreSQL keeps no NUL in text or `jsonb` (SQLSTATE 22021, 22P05), so SQLite is not let to
/// keep one either. The last net under the inputs' own checks, which name the field.
pub(crate) fn refuse_nul(params: &[Val<'_>]) -> Result<(), StoreError> {
    let nul = params.iter().any(|v| match v {
        Val::Text(s) => s.contains('\0'),
        Val::Json(s) => s.contains('\0') || json_escapes_nul(s),
        _ => false,
    });
    if nul {
        return Err(StoreError::BadValue(
            "a text holds the NUL character (U+0000), which the store does not keep".to_owned(),
        ));
    }
    Ok(())
}

/// Whether JSON text `s` holds the escape `\u0000` (a backslash that is not itself escaped,
/// then `u0000`).
fn json_escapes_nul(s: &str) -> bool {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(at) = s[from..].find("u0000").map(|i| from + i) {
        let backslashes = b[..at].iter().rev().take_while(|c| **c == b'\\').count();
        if backslashes % 2 == 1 {
            return true;
        }
        from = at + 1;
    }
    false
}

fn sqlite_value(v: &Val<'_>) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match v {
        Val::Null => Value::Null,
        Val::Text(s) => Value::Text((*s).to_owned()),
        Val::Int(n) => Value::Integer(*n),
        Val::Real(x) => Value::Real(*x),
        Val::Bool(b) => Value::Integer(i64::from(*b)),
        Val::Instant(t) => Value::Integer(t.as_micros()),
        Val::Date(d) => Value::Text(d.to_string()),
        Val::Json(s) => Value::Text(s.clone()),
    }
}

/// The shared SQL for SQLite: `$n` becomes `?n` (the SQL of this module has no `$` elsewhere).
fn sqlite_sql(sql: &str) -> Cow<'_, str> {
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

/// A `timestamptz` as microseconds since 1970.
struct PgMicros(i64);

/// Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_US: i64 = 946_684_800_000_000;

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

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn pg_cell(row: &postgres::Row, i: usize, kind: Kind) -> Result<Cell, StoreError> {
    let ty = row.columns().get(i).map(|c| c.type_().clone());
    Ok(match kind {
        Kind::Text => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Cell::Null, Cell::Text),
        Kind::Int => match ty {
            Some(Type::INT2) => row
                .try_get::<_, Option<i16>>(i)?
                .map_or(Cell::Null, |n| Cell::Int(n.into())),
            Some(Type::INT4) => row
                .try_get::<_, Option<i32>>(i)?
                .map_or(Cell::Null, |n| Cell::Int(n.into())),
            _ => row
                .try_get::<_, Option<i64>>(i)?
                .map_or(Cell::Null, Cell::Int),
        },
        Kind::Real => row
            .try_get::<_, Option<f64>>(i)?
            .map_or(Cell::Null, Cell::Real),
        Kind::Bool => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Cell::Null, Cell::Bool),
        Kind::Instant => match row.try_get::<_, Option<PgMicros>>(i)? {
            None => Cell::Null,
            Some(us) => Cell::Instant(Instant::from_micros(us.0).map_err(corrupt)?),
        },
        Kind::Date => match row.try_get::<_, Option<PgDays>>(i)? {
            None => Cell::Null,
            Some(days) => {
                let d = jiff::civil::date(2000, 1, 1)
                    .checked_add(jiff::Span::new().days(i64::from(days.0)))
                    .map_err(corrupt)?;
                Cell::Date(Date::from_civil(d))
            }
        },
        Kind::Json => row
            .try_get::<_, Option<serde_json::Value>>(i)?
            .map_or(Cell::Null, Cell::Json),
    })
}

fn sqlite_cell(row: &rusqlite::Row<'_>, i: usize, kind: Kind) -> Result<Cell, StoreError> {
    use rusqlite::types::ValueRef;
    let v = row.get_ref(i)?;
    Ok(match (v, kind) {
        (ValueRef::Null, _) => Cell::Null,
        (ValueRef::Integer(n), Kind::Bool) => Cell::Bool(n != 0),
        (ValueRef::Integer(n), Kind::Instant) => {
            Cell::Instant(Instant::from_micros(n).map_err(corrupt)?)
        }
        #[allow(clippy::cast_precision_loss)]
        (ValueRef::Integer(n), Kind::Real) => Cell::Real(n as f64),
        (ValueRef::Integer(n), _) => Cell::Int(n),
        (ValueRef::Real(x), _) => Cell::Real(x),
        (ValueRef::Text(t), kind) => {
            let s = std::str::from_utf8(t).map_err(corrupt)?;
            match kind {
                Kind::Json => Cell::Json(serde_json::from_str(s).map_err(corrupt)?),
                Kind::Date => Cell::Date(Date::parse(s).map_err(corrupt)?),
                _ => Cell::Text(s.to_owned()),
            }
        }
        (ValueRef::Blob(_), _) => return Err(corrupt("unexpected blob")),
    })
}

impl<'c> Tx<'c> {
    pub fn new(conn: Conn<'c>, context: EventContext) -> Tx<'c> {
        Tx {
            conn,
            events: Vec::new(),
            context,
        }
    }

    pub fn commit(self) -> Result<(), StoreError> {
        match self.conn {
            Conn::Sqlite(tx) => Ok(tx.commit()?),
            Conn::Postgres(tx) => Ok(tx.commit()?),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.conn, Conn::Postgres(_))
    }

    /// The file of a SQLite store (`None` on PostgreSQL, or for a store in memory).
    pub(crate) fn sqlite_path(&self) -> Option<&str> {
        match &self.conn {
            Conn::Sqlite(tx) => tx.path(),
            Conn::Postgres(_) => None,
        }
    }

    /// Emits an event of type `ty` about `subject` (`application/<id>`) with `data` (an object
    /// of the type's fields; `actor_id` is added from the store's [`EventContext`]). It is
    /// written to the outbox when the transaction commits, in the order emitted, and not at all
    /// when it rolls back.
    pub fn emit(&mut self, ty: &'static EventType, subject: String, mut data: serde_json::Value) {
        if let Some(obj) = data.as_object_mut() {
            obj.insert(
                "actor_id".to_owned(),
                self.context
                    .actor
                    .as_deref()
                    .map_or(serde_json::Value::Null, serde_json::Value::from),
            );
        }
        debug_assert!(
            ty.check(&data).is_empty(),
            "{}: {:?}",
            ty.name,
            ty.check(&data)
        );
        self.events.push(Pending { ty, subject, data });
    }

    /// Writes the emitted events to the outbox, each with the org's next sequence number: the
    /// last statements of the transaction (see `crate::events` for why last). `statement` is
    /// the connection's prepared PostgreSQL insert, prepared on first use.
    fn flush_events(
        &mut self,
        org: &str,
        mut statement: Option<&mut Option<postgres::Statement>>,
    ) -> Result<(), StoreError> {
        if self.events.is_empty() {
            return Ok(());
        }
        let time = self
            .context
            .at
            .unwrap_or_else(|| Instant::from_timestamp(jiff::Timestamp::now()));
        let depth = self.context.automation_depth;
        for e in std::mem::take(&mut self.events) {
            let id = super::new_uuid();
            let data = serde_json::to_string(&e.data).map_err(corrupt)?;
            let type_name = e.ty.type_name();
            match &mut self.conn {
                Conn::Sqlite(tx) => {
                    let seq: i64 = tx
                        .prepare_cached(OUTBOX_HEAD_SQLITE)?
                        .query_row([org], |r| r.get(0))?;
                    tx.prepare_cached(OUTBOX_INSERT_SQLITE)?
                        .execute(rusqlite::params![
                            org,
                            seq,
                            id,
                            type_name,
                            e.subject,
                            time.as_micros(),
                            data,
                            depth
                        ])?;
                }
                Conn::Postgres(tx) => {
                    let mut fresh = None;
                    let slot = statement.as_deref_mut().unwrap_or(&mut fresh);
                    let prepared = match slot {
                        Some(s) => s.clone(),
                        None => {
                            let s = tx.prepare(OUTBOX_INSERT_POSTGRES)?;
                            *slot = Some(s.clone());
                            s
                        }
                    };
                    let time = time.to_string();
                    tx.execute(
                        &prepared,
                        &[
                            &org,
                            &id,
                            &type_name,
                            &e.subject,
                            &PgText(Some(time)),
                            &PgText(Some(data)),
                            &depth,
                        ],
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Appended to a `SELECT` of the row a command is about to change: PostgreSQL locks it until
    /// commit (SQLite's `BEGIN IMMEDIATE` already excludes other writers).
    pub fn lock(&self) -> &'static str {
        match self.conn {
            Conn::Sqlite(_) => "",
            Conn::Postgres(_) => " FOR UPDATE",
        }
    }

    /// Like [`Tx::lock`], shared: the row must not change or go away, others may read it.
    pub fn lock_shared(&self) -> &'static str {
        match self.conn {
            Conn::Sqlite(_) => "",
            Conn::Postgres(_) => " FOR KEY SHARE",
        }
    }

    /// Runs a statement; returns the number of rows it changed. A text holding NUL is refused
    /// ([`refuse_nul`]) on both stores alike.
    pub fn execute(&mut self, sql: &str, params: &[Val<'_>]) -> Result<u64, StoreError> {
        refuse_nul(params)?;
        match &mut self.conn {
            Conn::Sqlite(tx) => {
                let mut stmt = tx.prepare_cached(&sqlite_sql(sql))?;
                let n =
                    stmt.execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
            Conn::Postgres(tx) => {
                let params: Vec<PgText> = params.iter().map(pg_text).collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                Ok(tx.execute(sql, &refs)?)
            }
        }
    }

    /// Runs a query; `kinds` says what each column holds.
    pub fn query(
        &mut self,
        sql: &str,
        params: &[Val<'_>],
        kinds: &[Kind],
    ) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        match &mut self.conn {
            Conn::Sqlite(tx) => {
                let mut stmt = tx.prepare_cached(&sqlite_sql(sql))?;
                let mut rows =
                    stmt.query(rusqlite::params_from_iter(params.iter().map(sqlite_value)))?;
                while let Some(r) = rows.next()? {
                    let cells = kinds
                        .iter()
                        .enumerate()
                        .map(|(i, k)| sqlite_cell(r, i, *k))
                        .collect::<Result<_, _>>()?;
                    out.push(Row { cells });
                }
            }
            Conn::Postgres(tx) => {
                let params: Vec<PgText> = params.iter().map(pg_text).collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                for r in tx.query(sql, &refs)? {
                    let cells = kinds
                        .iter()
                        .enumerate()
                        .map(|(i, k)| pg_cell(&r, i, *k))
                        .collect::<Result<_, _>>()?;
                    out.push(Row { cells });
                }
            }
        }
        Ok(out)
    }

    /// The first row of a query, if any.
    pub fn query_opt(
        &mut self,
        sql: &str,
        params: &[Val<'_>],
        kinds: &[Kind],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params, kinds)?.into_iter().next())
    }

    /// Whether `id` is a row of `table` in `org`.
    pub fn exists(&mut self, table: Table, org: &str, id: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT id FROM {} WHERE org_id = $1 AND id = $2",
            table.name()
        );
        Ok(self
            .query_opt(&sql, &[Val::Text(org), Val::Text(id)], &[Kind::Text])?
            .is_some())
    }

    /// Locks candidate `id` of `org` until commit (PostgreSQL: its row, `FOR UPDATE`; SQLite's
    /// `BEGIN IMMEDIATE` already excludes other writers); whether it exists. The candidate's row
    /// is the lock of the rules across its applications (one active application per job):
    /// `apply`, `unarchive` and `merge_candidates` take it, before any application's.
    pub fn lock_candidate(&mut self, org: &str, id: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT id FROM candidates WHERE org_id = $1 AND id = $2{}",
            self.lock()
        );
        Ok(self
            .query_opt(&sql, &[Val::Text(org), Val::Text(id)], &[Kind::Text])?
            .is_some())
    }

    /// Refuses `id` (field `field`) unless it names a row of `table` in `org`.
    pub fn must_exist(
        &mut self,
        table: Table,
        org: &str,
        field: &str,
        entity: &'static str,
        id: &Id,
    ) -> Result<(), WriteError> {
        if self.exists(table, org, id.as_str())? {
            Ok(())
        } else {
            Err(WriteError::not_found(field, entity, id.as_str()))
        }
    }

    /// The id of a new row of `table`: `given` if it is free, else a generated one.
    pub fn fresh_id(
        &mut self,
        table: Table,
        org: &str,
        given: Option<&Id>,
        prefix: &str,
    ) -> Result<Id, WriteError> {
        match given {
            Some(id) => {
                if self.exists(table, org, id.as_str())? {
                    return Err(WriteError::conflict(
                        "id",
                        format!("`{id}` is already the id of a row of `{}`", table.name()),
                    ));
                }
                Ok(id.clone())
            }
            None => Ok(super::new_id(prefix)?),
        }
    }

    /// Inserts the rows a record becomes, as the import does (`rows::rows`); `job_id` is the
    /// job of the record's application, for the rows below an application (migration 6: it
    /// always equals the application's job).
    fn insert_record(
        &mut self,
        org: &str,
        record: Record<'_>,
        job_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let context = rows::Context { seq: 0, job_id };
        rows::rows(org, record, context, &mut |table, vals| {
            self.insert_row(table, vals)
        })
    }

    /// One `INSERT` of `vals`, in the order of [`Table::columns`].
    fn insert_row(&mut self, table: Table, vals: &[Val<'_>]) -> Result<(), StoreError> {
        let cols = table.columns();
        if cols.len() != vals.len() {
            return Err(StoreError::Corrupt(format!(
                "`{}` has {} columns, the write gave {} values",
                table.name(),
                cols.len(),
                vals.len()
            )));
        }
        let params: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name(),
            cols.join(", "),
            params.join(", ")
        );
        self.execute(&sql, vals)?;
        Ok(())
    }

    // One insert function per table (or per record, for tables whose rows come with their
    // parent's). Rows that belong to an application take the application, so that a column
    // copied from it (its job) is one change here.

    /// A candidate, with its derived `has_non_confidential_job` (migration 8; FALSE: no
    /// application yet).
    pub fn insert_candidate(&mut self, org: &str, c: &Candidate) -> Result<(), StoreError> {
        self.insert_record(org, Record::Candidate(c), None)?;
        self.derive_candidate_flag(org, &c.id)
    }

    /// An application, with its derived `job_confidential` (migration 30: its job's
    /// `confidential`) and its candidate's derived `has_non_confidential_job` (TRUE once the
    /// candidate applies to a job that is not confidential).
    pub fn insert_application(&mut self, org: &str, a: &Application) -> Result<(), StoreError> {
        self.insert_record(org, Record::Application(a), None)?;
        self.execute(
            &format!(
                "UPDATE applications SET job_confidential = {JOB_CONFIDENTIAL} \
                 WHERE org_id = $1 AND id = $2"
            ),
            &[Val::Text(org), Val::Text(a.id.as_str())],
        )?;
        self.derive_candidate_flag(org, &a.candidate_id)
    }

    /// Sets the derived `job_confidential` (migration 30) of every application to job `job_id`
    /// to the job's `confidential`, after it changed; only the applications whose flag changes
    /// are written.
    pub fn derive_application_flags_of_job(
        &mut self,
        org: &str,
        job_id: &Id,
    ) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "UPDATE applications SET job_confidential = {JOB_CONFIDENTIAL} \
                 WHERE org_id = $1 AND job_id = $2 AND job_confidential <> {JOB_CONFIDENTIAL}"
            ),
            &[Val::Text(org), Val::Text(job_id.as_str())],
        )?;
        Ok(())
    }

    /// Sets the derived `has_non_confidential_job` of candidate `candidate_id` (migration 8) to
    /// the truth: whether it has an application to a job that is not confidential.
    pub fn derive_candidate_flag(
        &mut self,
        org: &str,
        candidate_id: &Id,
    ) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "UPDATE candidates SET has_non_confidential_job = {HAS_NON_CONFIDENTIAL_JOB} \
                 WHERE org_id = $1 AND id = $2"
            ),
            &[Val::Text(org), Val::Text(candidate_id.as_str())],
        )?;
        Ok(())
    }

    /// Sets the derived `has_non_confidential_job` (migration 8) of every candidate with an
    /// application to job `job_id` to the truth, after the job's `confidential` changed; only the
    /// candidates whose flag changes are written.
    pub fn derive_candidate_flags_of_job(
        &mut self,
        org: &str,
        job_id: &Id,
    ) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "UPDATE candidates SET has_non_confidential_job = {HAS_NON_CONFIDENTIAL_JOB} \
                 WHERE org_id = $1 \
                 AND id IN (SELECT candidate_id FROM applications WHERE org_id = $1 AND job_id = $2) \
                 AND has_non_confidential_job <> {HAS_NON_CONFIDENTIAL_JOB}"
            ),
            &[Val::Text(org), Val::Text(job_id.as_str())],
        )?;
        Ok(())
    }

    /// A stage transition of `app` (its `left_at` NULL: the application is in the stage).
    pub fn insert_stage_transition(
        &mut self,
        org: &str,
        app: &Application,
        t: &StageTransition,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(app.id, t.application_id);
        self.insert_record(org, Record::StageTransition(t), Some(app.job_id.as_str()))
    }

    /// An interview of `app` with its participants.
    pub fn insert_interview(
        &mut self,
        org: &str,
        app: &Application,
        i: &Interview,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(app.id, i.application_id);
        self.insert_record(org, Record::Interview(i), Some(app.job_id.as_str()))
    }

    pub fn insert_feedback(
        &mut self,
        org: &str,
        app: &Application,
        f: &Feedback,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(app.id, f.application_id);
        self.insert_record(org, Record::Feedback(f), Some(app.job_id.as_str()))
    }

    pub fn insert_offer(
        &mut self,
        org: &str,
        app: &Application,
        o: &Offer,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(app.id, o.application_id);
        self.insert_record(org, Record::Offer(o), Some(app.job_id.as_str()))
    }

    /// A job with its stages and hiring team.
    pub fn insert_job(&mut self, org: &str, j: &Job) -> Result<(), StoreError> {
        self.insert_record(org, Record::Job(j), None)
    }

    /// One stage of job `job_id` (a job's stages otherwise come with [`Tx::insert_job`]).
    pub fn insert_stage(&mut self, org: &str, job_id: &Id, s: &Stage) -> Result<(), StoreError> {
        self.insert_row(
            Table::Stages,
            &[
                Val::Text(org),
                Val::Text(s.id.as_str()),
                Val::Text(job_id.as_str()),
                Val::Text(&s.name),
                Val::Text(s.kind.as_str()),
                Val::Int(s.position.into()),
            ],
        )
    }

    /// The hiring team of job `job_id`, in order (after its old rows were deleted).
    pub fn insert_hiring_team(
        &mut self,
        org: &str,
        job_id: &Id,
        team: &[HiringTeamMember],
    ) -> Result<(), StoreError> {
        for (i, m) in team.iter().enumerate() {
            self.insert_row(
                Table::HiringTeam,
                &[
                    Val::Text(org),
                    Val::Text(job_id.as_str()),
                    Val::Text(m.user_id.as_str()),
                    Val::Text(m.role.as_str()),
                    Val::Int(i64::try_from(i).unwrap_or(i64::MAX)),
                ],
            )?;
        }
        Ok(())
    }

    pub fn insert_custom_field(&mut self, org: &str, d: &CustomFieldDef) -> Result<(), StoreError> {
        self.insert_record(org, Record::CustomField(d), None)
    }

    /// Adds stage kind `kind` to those application `app` ever entered (the derived
    /// `application_stage_kinds`, one bit per kind).
    pub fn reach_stage_kind(
        &mut self,
        org: &str,
        app: &Application,
        kind: StageKind,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO application_stage_kinds (org_id, application_id, reached_kinds) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id, application_id) \
             DO UPDATE SET reached_kinds = application_stage_kinds.reached_kinds | excluded.reached_kinds",
            &[
                Val::Text(org),
                Val::Text(app.id.as_str()),
                Val::Int(i64::from(crate::import::kind_bit(kind))),
            ],
        )?;
        Ok(())
    }

    /// Writes the state of application `app` that commands change: stage, status and its
    /// timestamps, custom fields.
    pub fn update_application(&mut self, org: &str, app: &Application) -> Result<(), StoreError> {
        self.execute(
            "UPDATE applications SET current_stage_id = $3, status = $4, hired_at = $5, archived_at = $6, archive_reason = $7, custom_fields = $8 \
             WHERE org_id = $1 AND id = $2",
            &[
                Val::Text(org),
                Val::Text(app.id.as_str()),
                Val::Text(app.current_stage_id.as_str()),
                Val::Text(app.status.as_str()),
                app.hired_at.map_or(Val::Null, Val::Instant),
                app.archived_at.map_or(Val::Null, Val::Instant),
                app.archive_reason.as_deref().map_or(Val::Null, Val::Text),
                Val::Json(serde_json::to_string(&app.custom_fields).map_err(corrupt)?),
            ],
        )?;
        Ok(())
    }

    // Lookups the commands share.

    /// The org's custom field definitions.
    pub fn custom_schema(&mut self, org: &str) -> Result<CustomSchema, StoreError> {
        let rows = self.query(
            "SELECT id, entity, key, label, type, options, sensitive FROM custom_fields WHERE org_id = $1 ORDER BY id",
            &[Val::Text(org)],
            &[
                Kind::Text,
                Kind::Text,
                Kind::Text,
                Kind::Text,
                Kind::Text,
                Kind::Json,
                Kind::Bool,
            ],
        )?;
        let mut schema = CustomSchema::default();
        for r in rows {
            let options: Vec<String> = serde_json::from_value(r.json(5)?).map_err(corrupt)?;
            let def = CustomFieldDef {
                id: r.id(0)?,
                entity: r.enumeration(1, CustomEntity::parse)?,
                key: r.text(2)?,
                label: r.text(3)?,
                field_type: r.enumeration(4, CustomFieldType::parse)?,
                options,
                sensitive: r.boolean(6)?,
            };
            schema
                .insert(def)
                .map_err(|prev| corrupt(format!("custom field `{}` defined twice", prev.key)))?;
        }
        Ok(schema)
    }

    /// Application `id` of `org`; `lock` locks its row until commit (PostgreSQL).
    pub fn application(
        &mut self,
        org: &str,
        id: &str,
        schema: &CustomSchema,
        lock: bool,
    ) -> Result<Option<Application>, StoreError> {
        let sql = format!(
            "SELECT id, candidate_id, job_id, source_id, credited_to_user_id, applied_at, status, current_stage_id, hired_at, archived_at, archive_reason, custom_fields \
             FROM applications WHERE org_id = $1 AND id = $2{}",
            if lock { self.lock() } else { "" }
        );
        use Kind::*;
        let Some(r) = self.query_opt(
            &sql,
            &[Val::Text(org), Val::Text(id)],
            &[
                Text, Text, Text, Text, Text, Instant, Text, Text, Instant, Instant, Text, Json,
            ],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(domain::entity::Application {
            id: r.id(0)?,
            candidate_id: r.id(1)?,
            job_id: r.id(2)?,
            source_id: r.opt_id(3)?,
            credited_to_user_id: r.opt_id(4)?,
            applied_at: r.instant(5)?,
            status: r.enumeration(6, ApplicationStatus::parse)?,
            current_stage_id: r.id(7)?,
            hired_at: r.opt_instant(8)?,
            archived_at: r.opt_instant(9)?,
            archive_reason: r.opt_text(10)?,
            custom_fields: r.custom(11, schema, CustomEntity::Application)?,
        }))
    }

    /// Like [`Tx::application`], refusing a missing one as field `field`.
    pub fn must_application(
        &mut self,
        org: &str,
        field: &str,
        id: &Id,
        schema: &CustomSchema,
        lock: bool,
    ) -> Result<Application, WriteError> {
        self.application(org, id.as_str(), schema, lock)?
            .ok_or_else(|| WriteError::not_found(field, "application", id.as_str()))
    }

    /// Stage `id` of `org` with its job: (job id, stage).
    pub fn stage(&mut self, org: &str, id: &str) -> Result<Option<(Id, Stage)>, StoreError> {
        let Some(r) = self.query_opt(
            "SELECT id, job_id, name, kind, position FROM stages WHERE org_id = $1 AND id = $2",
            &[Val::Text(org), Val::Text(id)],
            &[Kind::Text, Kind::Text, Kind::Text, Kind::Text, Kind::Int],
        )?
        else {
            return Ok(None);
        };
        Ok(Some((
            r.id(1)?,
            Stage {
                id: r.id(0)?,
                name: r.text(2)?,
                kind: r.enumeration(3, StageKind::parse)?,
                position: r.uint(4)?,
            },
        )))
    }

    /// The stages of job `job_id`, by position.
    pub fn stages_of(&mut self, org: &str, job_id: &str) -> Result<Vec<Stage>, StoreError> {
        let rows = self.query(
            "SELECT id, name, kind, position FROM stages WHERE org_id = $1 AND job_id = $2 ORDER BY position",
            &[Val::Text(org), Val::Text(job_id)],
            &[Kind::Text, Kind::Text, Kind::Text, Kind::Int],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Stage {
                    id: r.id(0)?,
                    name: r.text(1)?,
                    kind: r.enumeration(2, StageKind::parse)?,
                    position: r.uint(3)?,
                })
            })
            .collect()
    }

    /// Job `id` of `org` with its stages and hiring team; `lock` locks its row (PostgreSQL).
    pub fn job(
        &mut self,
        org: &str,
        id: &str,
        schema: &CustomSchema,
        lock: bool,
    ) -> Result<Option<Job>, StoreError> {
        let sql = format!(
            "SELECT id, title, department_id, location, employment_type, status, confidential, opened_at, closed_at, headcount, custom_fields \
             FROM jobs WHERE org_id = $1 AND id = $2{}",
            if lock { self.lock() } else { "" }
        );
        use Kind::*;
        let Some(r) = self.query_opt(
            &sql,
            &[Val::Text(org), Val::Text(id)],
            &[
                Text, Text, Text, Text, Text, Text, Bool, Instant, Instant, Int, Json,
            ],
        )?
        else {
            return Ok(None);
        };
        let team = self.query(
            "SELECT user_id, role FROM hiring_team WHERE org_id = $1 AND job_id = $2 ORDER BY position",
            &[Val::Text(org), Val::Text(id)],
            &[Text, Text],
        )?;
        let hiring_team = team
            .iter()
            .map(|m| {
                Ok(HiringTeamMember {
                    user_id: m.id(0)?,
                    role: m.enumeration(1, HiringTeamRole::parse)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(domain::entity::Job {
            id: r.id(0)?,
            title: r.text(1)?,
            department_id: r.id(2)?,
            location: r.text(3)?,
            employment_type: r.enumeration(4, EmploymentType::parse)?,
            status: r.enumeration(5, JobStatus::parse)?,
            confidential: r.boolean(6)?,
            opened_at: r.instant(7)?,
            closed_at: r.opt_instant(8)?,
            headcount: r.uint(9)?,
            hiring_team,
            stages: self.stages_of(org, id)?,
            custom_fields: r.custom(10, schema, CustomEntity::Job)?,
        }))
    }

    /// The application's last stage transition (by time, then id): (id, to stage, at).
    pub fn last_transition(
        &mut self,
        org: &str,
        application_id: &str,
    ) -> Result<Option<(Id, Id, Instant)>, StoreError> {
        let Some(r) = self.query_opt(
            "SELECT id, to_stage_id, at FROM stage_transitions WHERE org_id = $1 AND application_id = $2 ORDER BY at DESC, id DESC LIMIT 1",
            &[Val::Text(org), Val::Text(application_id)],
            &[Kind::Text, Kind::Text, Kind::Instant],
        )?
        else {
            return Ok(None);
        };
        Ok(Some((r.id(0)?, r.id(1)?, r.instant(2)?)))
    }
}
