//! Feature flags of the installation (migration 12): each flag's definition (Unleash's feature
//! JSON, kept as the text given) and the segments flags share, with the history of every change
//! (who, when, why, before and after).
//!
//! [`Store::set_flags`] applies a batch of changes in one transaction (an import is all or
//! nothing) and numbers each change with the installation's next version; the highest version
//! ([`Store::flags_version`]) tells a replica whether its copy is current. The store does not
//! read definitions: `app` checks them (crate `flags`) before they get here.
//!
//! The tables belong to no org (they describe the deployment, like `replicas`): the other
//! exception to "every table starts with `org_id`".

use domain::Instant;
use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::audit::system_time;
use crate::{Store, StoreError};

/// What a row of `flags` defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlagKind {
    /// A flag: `name` is the flag's name.
    Flag,
    /// A segment flags share: `name` is its id.
    Segment,
}

impl FlagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::Flag => "flag",
            FlagKind::Segment => "segment",
        }
    }

    fn parse(s: &str) -> Result<FlagKind, StoreError> {
        match s {
            "flag" => Ok(FlagKind::Flag),
            "segment" => Ok(FlagKind::Segment),
            other => Err(StoreError::Corrupt(format!(
                "flags.kind is `{other}`, expected `flag` or `segment`"
            ))),
        }
    }
}

/// A definition as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFlag {
    pub kind: FlagKind,
    pub name: String,
    /// Unleash's feature JSON (or segment JSON), as given.
    pub definition: String,
    /// The version of its last change.
    pub version: i64,
    pub updated_at: Instant,
    pub updated_by: String,
}

/// One change of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagChange {
    pub version: i64,
    pub kind: FlagKind,
    pub name: String,
    pub changed_at: Instant,
    pub changed_by: String,
    pub reason: String,
    /// The definition before (None: the change created it).
    pub before: Option<String>,
    /// The definition after (None: the change removed it).
    pub after: Option<String>,
}

/// A change to make: `definition` None removes the definition.
#[derive(Clone, Copy, Debug)]
pub struct NewFlagChange<'a> {
    pub kind: FlagKind,
    pub name: &'a str,
    pub definition: Option<&'a str>,
}

/// Who makes a batch of changes, when and why.
#[derive(Clone, Copy, Debug)]
pub struct FlagAuthor<'a> {
    pub by: &'a str,
    pub reason: &'a str,
    pub at: Instant,
}

const FLAG_COLUMNS: &str = "kind, name, definition, version, updated_at, updated_by";
const HISTORY_COLUMNS: &str = "version, kind, name, changed_at, changed_by, reason, before, after";

/// A stored time (microseconds) of row `version` of `table`.
pub(crate) fn micros(table: &str, version: i64, m: i64) -> Result<Instant, StoreError> {
    Instant::from_micros(m)
        .map_err(|e| StoreError::Corrupt(format!("{table} version {version}: {e}")))
}

/// A stored time (PostgreSQL) of row `version` of `table`.
pub(crate) fn pg_time(
    table: &str,
    version: i64,
    t: std::time::SystemTime,
) -> Result<Instant, StoreError> {
    let m = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()),
        Err(e) => i64::try_from(e.duration().as_micros()).map(|m| -m),
    };
    let m = m.map_err(|_| {
        StoreError::Corrupt(format!(
            "{table} version {version}: `{t:?}` is out of range"
        ))
    })?;
    micros(table, version, m)
}

impl Store {
    /// Every definition (flags, then segments), by name.
    pub fn flags(&mut self) -> Result<Vec<StoredFlag>, StoreError> {
        self.flag_rows(
            &format!("SELECT {FLAG_COLUMNS} FROM flags ORDER BY kind, name"),
            None,
        )
    }

    /// The definition of `kind` named `name`.
    pub fn flag(&mut self, kind: FlagKind, name: &str) -> Result<Option<StoredFlag>, StoreError> {
        Ok(self
            .flag_rows(
                &format!("SELECT {FLAG_COLUMNS} FROM flags WHERE kind = $1 AND name = $2"),
                Some((kind, name)),
            )?
            .pop())
    }

    /// The installation's flag version: the number of the last change (0 before any).
    pub fn flags_version(&mut self) -> Result<i64, StoreError> {
        let sql = "SELECT coalesce(max(version), 0) FROM flag_history";
        Ok(match self {
            Store::Sqlite(s) => s.conn().query_row(sql, [], |r| r.get(0))?,
            Store::Postgres(s) => s.client().query_one(sql, &[])?.try_get(0)?,
        })
    }

    /// Applies `changes` in one transaction, each a new version of the history with its
    /// definition before and after, and returns the versions. A change that leaves a
    /// definition as it is (the same text, or removing what does not exist) is skipped: it
    /// gets no version. Concurrent batches are serialised (SQLite: `BEGIN IMMEDIATE`;
    /// PostgreSQL: the history table locked for the transaction).
    pub fn set_flags(
        &mut self,
        changes: &[NewFlagChange<'_>],
        author: FlagAuthor<'_>,
    ) -> Result<Vec<i64>, StoreError> {
        let versions = match self {
            Store::Sqlite(s) => {
                let tx = s
                    .conn()
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let versions = set_flags_sqlite(&tx, changes, author)?;
                tx.commit()?;
                versions
            }
            Store::Postgres(s) => {
                let mut tx = s.client().transaction()?;
                let versions = set_flags_postgres(&mut tx, changes, author)?;
                tx.commit()?;
                versions
            }
        };
        Ok(versions)
    }

    /// The history, newest first: of one definition when `of` names it, else of all; at most
    /// `limit` changes.
    pub fn flag_history(
        &mut self,
        of: Option<(FlagKind, &str)>,
        limit: u32,
    ) -> Result<Vec<FlagChange>, StoreError> {
        let limit = i64::from(limit);
        let mut out = Vec::new();
        let filter = if of.is_some() {
            "WHERE kind = $1 AND name = $2 ORDER BY version DESC LIMIT $3"
        } else {
            "ORDER BY version DESC LIMIT $1"
        };
        let sql = format!("SELECT {HISTORY_COLUMNS} FROM flag_history {filter}");
        match self {
            Store::Sqlite(s) => {
                let mut stmt = s.conn().prepare_cached(&sql.replace('$', "?"))?;
                let mut rows = match of {
                    Some((kind, name)) => {
                        stmt.query(rusqlite::params![kind.as_str(), name, limit])?
                    }
                    None => stmt.query([limit])?,
                };
                while let Some(r) = rows.next()? {
                    let version: i64 = r.get(0)?;
                    let kind: String = r.get(1)?;
                    out.push(FlagChange {
                        version,
                        kind: FlagKind::parse(&kind)?,
                        name: r.get(2)?,
                        changed_at: micros("flag_history", version, r.get(3)?)?,
                        changed_by: r.get(4)?,
                        reason: r.get(5)?,
                        before: r.get(6)?,
                        after: r.get(7)?,
                    });
                }
            }
            Store::Postgres(s) => {
                let rows = match of {
                    Some((kind, name)) => {
                        s.client().query(&sql, &[&kind.as_str(), &name, &limit])?
                    }
                    None => s.client().query(&sql, &[&limit])?,
                };
                for r in rows {
                    let version: i64 = r.try_get(0)?;
                    let kind: String = r.try_get(1)?;
                    out.push(FlagChange {
                        version,
                        kind: FlagKind::parse(&kind)?,
                        name: r.try_get(2)?,
                        changed_at: pg_time("flag_history", version, r.try_get(3)?)?,
                        changed_by: r.try_get(4)?,
                        reason: r.try_get(5)?,
                        before: r.try_get(6)?,
                        after: r.try_get(7)?,
                    });
                }
            }
        }
        Ok(out)
    }

    fn flag_rows(
        &mut self,
        sql: &str,
        key: Option<(FlagKind, &str)>,
    ) -> Result<Vec<StoredFlag>, StoreError> {
        let mut out = Vec::new();
        match self {
            Store::Sqlite(s) => {
                let mut stmt = s.conn().prepare_cached(&sql.replace('$', "?"))?;
                let mut rows = match key {
                    Some((kind, name)) => stmt.query(rusqlite::params![kind.as_str(), name])?,
                    None => stmt.query([])?,
                };
                while let Some(r) = rows.next()? {
                    let kind: String = r.get(0)?;
                    let version: i64 = r.get(3)?;
                    out.push(StoredFlag {
                        kind: FlagKind::parse(&kind)?,
                        name: r.get(1)?,
                        definition: r.get(2)?,
                        version,
                        updated_at: micros("flags", version, r.get(4)?)?,
                        updated_by: r.get(5)?,
                    });
                }
            }
            Store::Postgres(s) => {
                let rows = match key {
                    Some((kind, name)) => s.client().query(sql, &[&kind.as_str(), &name])?,
                    None => s.client().query(sql, &[])?,
                };
                for r in rows {
                    let kind: String = r.try_get(0)?;
                    let version: i64 = r.try_get(3)?;
                    out.push(StoredFlag {
                        kind: FlagKind::parse(&kind)?,
                        name: r.try_get(1)?,
                        definition: r.try_get(2)?,
                        version,
                        updated_at: pg_time("flags", version, r.try_get(4)?)?,
                        updated_by: r.try_get(5)?,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// [`Store::set_flags`] inside a SQLite transaction begun `IMMEDIATE` (also what a rollout's
/// step writes, so the flag's history and the replicas' polling see it as any other change).
pub(crate) fn set_flags_sqlite(
    tx: &rusqlite::Transaction<'_>,
    changes: &[NewFlagChange<'_>],
    author: FlagAuthor<'_>,
) -> Result<Vec<i64>, StoreError> {
    let mut versions = Vec::new();
    let mut next: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) FROM flag_history",
        [],
        |r| r.get(0),
    )?;
    for c in changes {
        let before: Option<String> = tx
            .query_row(
                "SELECT definition FROM flags WHERE kind = ?1 AND name = ?2",
                rusqlite::params![c.kind.as_str(), c.name],
                |r| r.get(0),
            )
            .optional()?;
        if before.as_deref() == c.definition {
            continue;
        }
        next += 1;
        tx.execute(
            &format!(
                "INSERT INTO flag_history ({HISTORY_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ),
            rusqlite::params![
                next,
                c.kind.as_str(),
                c.name,
                author.at.as_micros(),
                author.by,
                author.reason,
                before,
                c.definition
            ],
        )?;
        match c.definition {
            Some(d) => tx.execute(
                &format!(
                    "INSERT INTO flags ({FLAG_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (kind, name) DO UPDATE SET definition = excluded.definition, \
                     version = excluded.version, updated_at = excluded.updated_at, \
                     updated_by = excluded.updated_by"
                ),
                rusqlite::params![
                    c.kind.as_str(),
                    c.name,
                    d,
                    next,
                    author.at.as_micros(),
                    author.by
                ],
            )?,
            None => tx.execute(
                "DELETE FROM flags WHERE kind = ?1 AND name = ?2",
                rusqlite::params![c.kind.as_str(), c.name],
            )?,
        };
        versions.push(next);
    }
    Ok(versions)
}

/// [`Store::set_flags`] inside a PostgreSQL transaction: locks the history table for the rest
/// of it, so concurrent batches are serialised.
pub(crate) fn set_flags_postgres(
    tx: &mut postgres::Transaction<'_>,
    changes: &[NewFlagChange<'_>],
    author: FlagAuthor<'_>,
) -> Result<Vec<i64>, StoreError> {
    let mut versions = Vec::new();
    let at = system_time(author.at)?;
    tx.batch_execute("LOCK TABLE flag_history IN EXCLUSIVE MODE")?;
    let mut next: i64 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM flag_history", &[])?
        .try_get(0)?;
    for c in changes {
        let kind = c.kind.as_str();
        let before: Option<String> = match tx.query_opt(
            "SELECT definition FROM flags WHERE kind = $1 AND name = $2",
            &[&kind, &c.name],
        )? {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        };
        if before.as_deref() == c.definition {
            continue;
        }
        next += 1;
        tx.execute(
            &format!(
                "INSERT INTO flag_history ({HISTORY_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &[
                &next,
                &kind,
                &c.name,
                &at,
                &author.by,
                &author.reason,
                &before,
                &c.definition,
            ],
        )?;
        match c.definition {
            Some(d) => tx.execute(
                &format!(
                    "INSERT INTO flags ({FLAG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (kind, name) DO UPDATE SET definition = excluded.definition, \
                     version = excluded.version, updated_at = excluded.updated_at, \
                     updated_by = excluded.updated_by"
                ),
                &[&kind, &c.name, &d, &next, &at, &author.by],
            )?,
            None => tx.execute(
                "DELETE FROM flags WHERE kind = $1 AND name = $2",
                &[&kind, &c.name],
            )?,
        };
        versions.push(next);
    }
    Ok(versions)
}
