//! What the policy engine keeps in the store: each org's own access policies and the audit log.
//!
//! - **Org policies.** An org may replace the shipped access policies with its own Cedar policy
//!   text. [`Store::set_org_policy`] stores a new version (1, 2, ... per org) and keeps every
//!   earlier one; [`Store::org_policy`] is the current (highest) version. The store keeps the text
//!   as given: validating it is the caller's job, before it calls. [`Store::reset_org_policy`]
//!   stores a version with an empty text, which stands for the shipped default
//!   ([`OrgPolicy::is_shipped_default`]): the org is back on it, and its history stays.
//! - **Audit log.** [`Store::record_audit`] appends events (who, when, which action on which
//!   subject, allowed or denied, the ids of the policies that decided, a hash of the query, and a
//!   short note of what was accessed, never values), numbering them per org with `seq` in the order
//!   of recording; [`Store::audit`] reads them newest first. There is no method that changes or
//!   removes an entry: the log is append-only.
//!
//! Both live outside the interchange format: import and export do not touch them, and replacing an
//! org (`import --replace`) keeps them, since the org id stays. The tables have no foreign key to
//! `orgs` (the migration says why); every method here checks that the org exists in the
//! transaction it runs in, and fails with [`StoreError::NoSuchOrg`] otherwise.
//!
//! Concurrency: SQLite writes in a `BEGIN IMMEDIATE` transaction (one writer at a time); PostgreSQL
//! serialises the writers of one org with a transaction-level advisory lock keyed by the org, so
//! that two replicas never pick the same version or `seq`, without locking the `orgs` row (which a
//! running replacement holds until it commits).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::Instant;
use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::rows::Val;
use crate::write::tx::Kind;
use crate::{Store, StoreError};

/// One version of an org's policy text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgPolicy {
    pub version: i64,
    /// The Cedar text; empty for a return to the shipped default.
    pub text: String,
    pub set_at: Instant,
    pub set_by: Option<String>,
}

impl OrgPolicy {
    /// Whether this version returned the org to the shipped default policy
    /// ([`Store::reset_org_policy`]).
    pub fn is_shipped_default(&self) -> bool {
        self.text.is_empty()
    }
}

/// Whether a request was allowed or denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    Allowed,
    Denied,
}

impl AuditOutcome {
    /// The text stored for the outcome: `allowed` or `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Allowed => "allowed",
            AuditOutcome::Denied => "denied",
        }
    }

    /// The outcome written `s` (`allowed` or `denied`, exactly).
    pub fn parse(s: &str) -> Result<AuditOutcome, StoreError> {
        match s {
            "allowed" => Ok(AuditOutcome::Allowed),
            "denied" => Ok(AuditOutcome::Denied),
            _ => Err(StoreError::BadAuditOutcome(s.to_owned())),
        }
    }
}

impl std::fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuditOutcome {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<AuditOutcome, StoreError> {
        AuditOutcome::parse(s)
    }
}

/// One entry of the audit log. It names what was done and to what, never the values read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: Instant,
    /// Who: a user id, or a service's name.
    pub actor: String,
    /// What: the policy action, e.g. `read_compensation` or `run_report`.
    pub action: String,
    /// On what: the resource, e.g. a candidate or report id.
    pub subject: String,
    pub outcome: AuditOutcome,
    /// The ids of the policies that decided (for a denial with no matching policy: none).
    pub policies: Vec<String>,
    /// A hash of the query, for reports; never the query's values.
    pub query_hash: Option<String>,
    /// What was accessed, short, e.g. `compensation, contact_details`; never values.
    pub detail: Option<String>,
}

/// Which audit entries to read: at most `limit`, newest first, matching every filter given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    pub limit: usize,
    /// Only this actor's entries.
    pub actor: Option<String>,
    /// Only entries with this outcome.
    pub outcome: Option<AuditOutcome>,
    /// Only entries at or after this instant (by the event's `at`).
    pub since: Option<Instant>,
}

impl AuditQuery {
    /// The newest `limit` entries, unfiltered.
    pub fn latest(limit: usize) -> AuditQuery {
        AuditQuery {
            limit,
            actor: None,
            outcome: None,
            since: None,
        }
    }
}

/// The class of PostgreSQL's two-key advisory locks that serialise the writers of one org's
/// policies (the second key is the org id's hash); arbitrary constants. The two-key form never
/// collides with the one-key lock of the migrations.
const PG_POLICY_LOCK: i32 = 0x6870_0001;
/// The same, for one org's audit log.
const PG_AUDIT_LOCK: i32 = 0x6870_0002;
/// The same, for one org's publications over demographics (`Store::publish_populations`).
pub(crate) const PG_POPULATIONS_LOCK: i32 = 0x6870_0003;

const AUDIT_COLUMNS: &str =
    "org_id, seq, at, actor, action, subject, outcome, policies, query_hash, detail";

impl Store {
    /// Stores `text` as the newest version of org `org_id`'s policies and returns its version (1
    /// for the first). Earlier versions are kept. The caller has validated the text.
    pub fn set_org_policy(
        &mut self,
        org_id: &str,
        text: &str,
        set_by: Option<&str>,
        at: Instant,
    ) -> Result<i64, StoreError> {
        // One transaction with its event, attributed to `set_by` at `at`.
        let mut acting = self.acting_as(set_by, at);
        let out = acting.write_tx(org_id, |tx| {
            if tx.is_postgres() {
                // Versions are numbered one writer at a time.
                tx.query(
                    "SELECT CAST(pg_advisory_xact_lock(CAST($1 AS integer), hashtext($2)) AS text)",
                    &[Val::Int(i64::from(PG_POLICY_LOCK)), Val::Text(org_id)],
                    &[Kind::Text],
                )?;
            }
            let version = tx
                .query_opt(
                    "SELECT CAST(coalesce(max(version), 0) + 1 AS bigint) FROM org_policies WHERE org_id = $1",
                    &[Val::Text(org_id)],
                    &[Kind::Int],
                )?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(1);
            tx.execute(
                "INSERT INTO org_policies (org_id, version, text, set_at, set_by) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    Val::Text(org_id),
                    Val::Int(version),
                    Val::Text(text),
                    Val::Instant(at),
                    set_by.map_or(Val::Null, Val::Text),
                ],
            )?;
            tx.emit(
                &crate::events::POLICY_VERSION_SET,
                format!("org/{org_id}"),
                serde_json::json!({"version": version, "default": text.is_empty()}),
            );
            Ok(version)
        });
        out.map_err(|e| match e {
            crate::WriteError::Store(e) => e,
            _ => StoreError::NoSuchOrg(org_id.to_owned()),
        })
    }

    /// Returns org `org_id` to the shipped default policy: a new version with an empty text
    /// (earlier versions are kept). Returns the version.
    pub fn reset_org_policy(
        &mut self,
        org_id: &str,
        set_by: Option<&str>,
        at: Instant,
    ) -> Result<i64, StoreError> {
        self.set_org_policy(org_id, "", set_by, at)
    }

    /// The current (highest) version of org `org_id`'s policies; `None` if the org never set any.
    pub fn org_policy(&mut self, org_id: &str) -> Result<Option<OrgPolicy>, StoreError> {
        // One statement: no row means no org; a row of NULLs, an org without policies.
        let sql = "SELECT p.version, p.text, p.set_at, p.set_by \
                   FROM orgs o LEFT JOIN org_policies p ON p.org_id = o.org_id \
                   WHERE o.org_id = $1 ORDER BY p.version DESC LIMIT 1";
        let rows = self.policy_rows(org_id, sql)?;
        match rows {
            None => Err(StoreError::NoSuchOrg(org_id.to_owned())),
            Some(rows) => Ok(rows.into_iter().next().flatten()),
        }
    }

    /// Every version of org `org_id`'s policies, newest first; empty if the org never set any.
    pub fn org_policy_history(&mut self, org_id: &str) -> Result<Vec<OrgPolicy>, StoreError> {
        let sql = "SELECT p.version, p.text, p.set_at, p.set_by \
                   FROM orgs o LEFT JOIN org_policies p ON p.org_id = o.org_id \
                   WHERE o.org_id = $1 ORDER BY p.version DESC";
        match self.policy_rows(org_id, sql)? {
            None => Err(StoreError::NoSuchOrg(org_id.to_owned())),
            Some(rows) => Ok(rows.into_iter().flatten().collect()),
        }
    }

    /// The org's newest `limit` (at least 1) policy versions, newest first (versions are numbered 1, 2, ...
    /// without gaps, so the first one's number is how many there are). Errors with
    /// [`StoreError::NoSuchOrg`] for an unknown org.
    pub fn org_policy_newest(
        &mut self,
        org_id: &str,
        limit: u32,
    ) -> Result<Vec<OrgPolicy>, StoreError> {
        // `limit` is a number, formatted into the text: both backends take it as a literal.
        let sql = format!(
            "SELECT p.version, p.text, p.set_at, p.set_by \
             FROM orgs o LEFT JOIN org_policies p ON p.org_id = o.org_id \
             WHERE o.org_id = $1 ORDER BY p.version DESC LIMIT {}",
            limit.max(1)
        );
        match self.policy_rows(org_id, &sql)? {
            None => Err(StoreError::NoSuchOrg(org_id.to_owned())),
            Some(rows) => Ok(rows.into_iter().flatten().collect()),
        }
    }

    /// Runs `sql` (`$1` the org; columns version, text, set_at, set_by, all NULL for an org
    /// without policies): `None` when it returns no row, else the rows (`None` for a NULL row).
    fn policy_rows(
        &mut self,
        org_id: &str,
        sql: &str,
    ) -> Result<Option<Vec<Option<OrgPolicy>>>, StoreError> {
        let mut out = Vec::new();
        match self {
            Store::Sqlite(s) => {
                let mut stmt = s.conn().prepare(sql)?;
                let mut rows = stmt.query([org_id])?;
                while let Some(r) = rows.next()? {
                    let version: Option<i64> = r.get(0)?;
                    let Some(version) = version else {
                        out.push(None);
                        continue;
                    };
                    let set_at = instant(org_id, "org_policies", version, r.get(2)?)?;
                    out.push(Some(OrgPolicy {
                        version,
                        text: r.get(1)?,
                        set_at,
                        set_by: r.get(3)?,
                    }));
                }
            }
            Store::Postgres(s) => {
                for r in s.client().query(sql, &[&org_id])? {
                    let Some(version) = r.try_get::<_, Option<i64>>(0)? else {
                        out.push(None);
                        continue;
                    };
                    let set_at = pg_instant(org_id, "org_policies", version, r.try_get(2)?)?;
                    out.push(Some(OrgPolicy {
                        version,
                        text: r.try_get(1)?,
                        set_at,
                        set_by: r.try_get(3)?,
                    }));
                }
            }
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }

    /// Appends `events` to org `org_id`'s audit log, in order, in one transaction, numbering them
    /// after the org's last entry. Within a request ([`Store::set_request`]), a read it
    /// recorded before (an event with a query hash, all but its time alike: an alias of the
    /// same report or page) is not recorded again; other events (changes, sign-ins) always are.
    pub fn record_audit(&mut self, org_id: &str, events: &[AuditEvent]) -> Result<(), StoreError> {
        let fresh: Vec<AuditEvent>;
        let events = match self.request() {
            Some(scope) => {
                fresh = events
                    .iter()
                    .filter(|e| e.query_hash.is_none() || scope.first_time(e))
                    .cloned()
                    .collect();
                if fresh.is_empty() {
                    return Ok(());
                }
                &fresh[..]
            }
            None => events,
        };
        match self {
            Store::Sqlite(s) => {
                let tx = s
                    .conn()
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let last: Option<i64> = tx
                    .query_row(
                        "SELECT (SELECT coalesce(max(seq), 0) FROM audit_log WHERE org_id = ?1) \
                         FROM orgs WHERE org_id = ?1",
                        [org_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                let mut seq = last.ok_or_else(|| StoreError::NoSuchOrg(org_id.to_owned()))?;
                {
                    let mut insert = tx.prepare_cached(&format!(
                        "INSERT INTO audit_log ({AUDIT_COLUMNS}) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                    ))?;
                    for e in events {
                        seq += 1;
                        insert.execute(rusqlite::params![
                            org_id,
                            seq,
                            e.at.as_micros(),
                            e.actor,
                            e.action,
                            e.subject,
                            e.outcome.as_str(),
                            policies_json(&e.policies),
                            e.query_hash,
                            e.detail,
                        ])?;
                    }
                }
                tx.commit()?;
                Ok(())
            }
            Store::Postgres(s) => {
                let mut tx = s.client().transaction()?;
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&PG_AUDIT_LOCK, &org_id],
                )?;
                let row = tx.query_opt(
                    "SELECT (SELECT coalesce(max(seq), 0) FROM audit_log WHERE org_id = $1)::int8 \
                     FROM orgs WHERE org_id = $1",
                    &[&org_id],
                )?;
                let last: i64 = row
                    .ok_or_else(|| StoreError::NoSuchOrg(org_id.to_owned()))?
                    .try_get(0)?;
                if !events.is_empty() {
                    // One statement for the whole batch: one array per column.
                    let at: Vec<SystemTime> = events
                        .iter()
                        .map(|e| system_time(e.at))
                        .collect::<Result<_, _>>()?;
                    let actor: Vec<&str> = events.iter().map(|e| e.actor.as_str()).collect();
                    let action: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
                    let subject: Vec<&str> = events.iter().map(|e| e.subject.as_str()).collect();
                    let outcome: Vec<&str> = events.iter().map(|e| e.outcome.as_str()).collect();
                    let policies: Vec<String> =
                        events.iter().map(|e| policies_json(&e.policies)).collect();
                    let query_hash: Vec<Option<&str>> =
                        events.iter().map(|e| e.query_hash.as_deref()).collect();
                    let detail: Vec<Option<&str>> =
                        events.iter().map(|e| e.detail.as_deref()).collect();
                    tx.execute(
                        &format!(
                            "INSERT INTO audit_log ({AUDIT_COLUMNS}) \
                             SELECT $1, $2 + e.n, e.at, e.actor, e.action, e.subject, e.outcome, \
                                    e.policies::jsonb, e.query_hash, e.detail \
                             FROM unnest($3::timestamptz[], $4::text[], $5::text[], $6::text[], \
                                         $7::text[], $8::text[], $9::text[], $10::text[]) \
                                  WITH ORDINALITY \
                                  AS e(at, actor, action, subject, outcome, policies, query_hash, detail, n)"
                        ),
                        &[
                            &org_id,
                            &last,
                            &at,
                            &actor,
                            &action,
                            &subject,
                            &outcome,
                            &policies,
                            &query_hash,
                            &detail,
                        ],
                    )?;
                }
                tx.commit()?;
                Ok(())
            }
        }
    }

    /// Org `org_id`'s audit entries that match `query`, newest (highest `seq`) first, with their
    /// `seq`.
    pub fn audit(
        &mut self,
        org_id: &str,
        query: &AuditQuery,
    ) -> Result<Vec<(i64, AuditEvent)>, StoreError> {
        self.audit_before(org_id, query, None)
    }

    /// [`Store::audit`] from the entry before `seq` on (`None`: from the newest): a page after
    /// a page, by the last `seq` the previous one held (the key, so pages neither skip nor
    /// repeat entries recorded in between).
    pub fn audit_before(
        &mut self,
        org_id: &str,
        query: &AuditQuery,
        before_seq: Option<i64>,
    ) -> Result<Vec<(i64, AuditEvent)>, StoreError> {
        // `$1` the org, then the filters given, then the limit; both backends read `$n`.
        let mut filter = String::from("FROM audit_log WHERE org_id = $1");
        let mut n = 1;
        for (given, cond) in [
            (query.actor.is_some(), "actor ="),
            (query.outcome.is_some(), "outcome ="),
            (query.since.is_some(), "at >="),
            (before_seq.is_some(), "seq <"),
        ] {
            if given {
                n += 1;
                filter.push_str(&format!(" AND {cond} ${n}"));
            }
        }
        filter.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", n + 1));
        let select = |policies: &str| {
            format!(
                "SELECT seq, at, actor, action, subject, outcome, {policies}, query_hash, detail \
                 {filter}"
            )
        };
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let outcome = query.outcome.map(AuditOutcome::as_str);

        let mut out = Vec::new();
        match self {
            Store::Sqlite(s) => {
                // A read: no write lock (the connection's default is `Immediate`).
                let tx = s
                    .conn()
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?;
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM orgs WHERE org_id = ?1)",
                    [org_id],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Err(StoreError::NoSuchOrg(org_id.to_owned()));
                }
                let mut params: Vec<rusqlite::types::Value> = vec![org_id.to_owned().into()];
                params.extend(query.actor.clone().map(Into::into));
                params.extend(outcome.map(|o| o.to_owned().into()));
                params.extend(query.since.map(|t| t.as_micros().into()));
                params.extend(before_seq.map(Into::into));
                params.push(limit.into());
                {
                    let mut stmt = tx.prepare(&select("policies"))?;
                    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
                    while let Some(r) = rows.next()? {
                        let seq: i64 = r.get(0)?;
                        let at = instant(org_id, "audit_log", seq, r.get(1)?)?;
                        out.push(audit_event(
                            org_id,
                            seq,
                            at,
                            (r.get(2)?, r.get(3)?, r.get(4)?),
                            &r.get::<_, String>(5)?,
                            &r.get::<_, String>(6)?,
                            (r.get(7)?, r.get(8)?),
                        )?);
                    }
                }
                tx.finish()?;
            }
            Store::Postgres(s) => {
                let client = s.client();
                let exists = client
                    .query_opt("SELECT 1 FROM orgs WHERE org_id = $1", &[&org_id])?
                    .is_some();
                if !exists {
                    return Err(StoreError::NoSuchOrg(org_id.to_owned()));
                }
                let since = query.since.map(system_time).transpose()?;
                let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&org_id];
                if let Some(actor) = &query.actor {
                    params.push(actor);
                }
                if let Some(outcome) = &outcome {
                    params.push(outcome);
                }
                if let Some(since) = &since {
                    params.push(since);
                }
                if let Some(before) = &before_seq {
                    params.push(before);
                }
                params.push(&limit);
                for r in client.query(&select("policies::text"), &params)? {
                    let seq: i64 = r.try_get(0)?;
                    let at = pg_instant(org_id, "audit_log", seq, r.try_get(1)?)?;
                    out.push(audit_event(
                        org_id,
                        seq,
                        at,
                        (r.try_get(2)?, r.try_get(3)?, r.try_get(4)?),
                        r.try_get(5)?,
                        r.try_get(6)?,
                        (r.try_get(7)?, r.try_get(8)?),
                    )?);
                }
            }
        }
        Ok(out)
    }
}

/// An audit entry from its columns, refusing what the store would never have written.
fn audit_event(
    org_id: &str,
    seq: i64,
    at: Instant,
    (actor, action, subject): (String, String, String),
    outcome: &str,
    policies: &str,
    (query_hash, detail): (Option<String>, Option<String>),
) -> Result<(i64, AuditEvent), StoreError> {
    let outcome = AuditOutcome::parse(outcome)
        .map_err(|e| StoreError::Corrupt(format!("audit entry {seq} of org `{org_id}`: {e}")))?;
    let policies: Vec<String> = serde_json::from_str(policies).map_err(|e| {
        StoreError::Corrupt(format!(
            "audit entry {seq} of org `{org_id}`: `policies` is not a JSON array of policy ids: {e}"
        ))
    })?;
    Ok((
        seq,
        AuditEvent {
            at,
            actor,
            action,
            subject,
            outcome,
            policies,
            query_hash,
            detail,
        },
    ))
}

/// The policy ids as a JSON array.
fn policies_json(ids: &[String]) -> String {
    serde_json::Value::Array(ids.iter().cloned().map(serde_json::Value::String).collect())
        .to_string()
}

/// An instant stored in SQLite (microseconds since 1970), for row `key` of `table`.
pub(crate) fn instant(
    org_id: &str,
    table: &str,
    key: i64,
    micros: i64,
) -> Result<Instant, StoreError> {
    Instant::from_micros(micros)
        .map_err(|e| StoreError::Corrupt(format!("{table} row {key} of org `{org_id}`: {e}")))
}

/// An instant as PostgreSQL's driver binds a `timestamptz`. Both are microseconds, so the value
/// survives the round trip exactly.
pub(crate) fn system_time(at: Instant) -> Result<SystemTime, StoreError> {
    let micros = at.as_micros();
    let d = Duration::from_micros(micros.unsigned_abs());
    let t = if micros < 0 {
        UNIX_EPOCH.checked_sub(d)
    } else {
        UNIX_EPOCH.checked_add(d)
    };
    // Unreachable where `SystemTime` spans more than the years 1 to 9999 (every 64-bit target).
    t.ok_or_else(|| StoreError::Corrupt(format!("`{at}` is out of this platform's time range")))
}

/// An instant read from a PostgreSQL `timestamptz`, for row `key` of `table`.
pub(crate) fn pg_instant(
    org_id: &str,
    table: &str,
    key: i64,
    t: SystemTime,
) -> Result<Instant, StoreError> {
    let micros = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()),
        Err(e) => i64::try_from(e.duration().as_micros()).map(|m| -m),
    };
    let micros = micros.map_err(|_| {
        StoreError::Corrupt(format!(
            "{table} row {key} of org `{org_id}`: `{t:?}` is out of range"
        ))
    })?;
    instant(org_id, table, key, micros)
}
