//! Gradual rollouts of the installation's flags (migration 16): each flag's rollout plan and
//! its state, the history of every change of it (who, when, why, with the cohort figures that
//! caused an automatic one), the cohort counters each replica reports, and the lease that lets
//! one replica at a time drive the plans.
//!
//! [`Store::write_rollout`] is the one write of a plan: in one transaction it checks the plan's
//! revision is the one the caller read (two drivers, or a driver and an operator, cannot both
//! move a plan from one state), writes the plan's new state, appends its history and sets the
//! flag's new definition through the path of [`Store::set_flags`] (so the flag's history and
//! the replicas' polling see a step as any other change). The store does not read plans or
//! definitions: `app` does, with crate `flags`.
//!
//! Like `flags`, these tables belong to no org (they describe the deployment).

use domain::Instant;
use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::audit::system_time;
use crate::flags::{micros, pg_time, set_flags_postgres, set_flags_sqlite};
use crate::{FlagAuthor, FlagKind, NewFlagChange, Store, StoreError};

/// A plan as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRollout {
    pub flag: String,
    /// The plan's JSON (crate `flags`' `rollout::Plan`).
    pub plan: String,
    /// `running`, `paused`, `halted`, `completed` or `aborted`.
    pub phase: String,
    /// The index of the current step.
    pub step: i64,
    /// Grows at every write; the cohort figures are kept per revision.
    pub revision: i64,
    pub step_started_at: Instant,
    pub updated_at: Instant,
    pub updated_by: String,
}

/// One change of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutEvent {
    pub id: i64,
    pub flag: String,
    pub at: Instant,
    pub by: String,
    /// `plan`, `pause`, `resume`, `abort`, `advance`, `complete`, `halt`.
    pub action: String,
    pub reason: String,
    /// The state after the change.
    pub phase: String,
    pub step: i64,
    pub percent: i64,
    /// The cohort figures behind an automatic change (JSON).
    pub figures: Option<String>,
}

/// A write of a plan ([`Store::write_rollout`]).
#[derive(Clone, Copy, Debug)]
pub struct RolloutWrite<'a> {
    pub flag: &'a str,
    pub plan: &'a str,
    pub phase: &'a str,
    pub step: i64,
    pub step_started_at: Instant,
    /// The revision the caller read (None: the flag must have no plan, or one that no longer
    /// manages it, as the caller saw: `replace` says so).
    pub expected_revision: Option<i64>,
    pub action: &'a str,
    pub percent: i64,
    pub figures: Option<&'a str>,
    /// The flag's new definition (None: unchanged); its history's reason is `rollout ACTION:
    /// REASON`.
    pub definition: Option<&'a str>,
    pub author: FlagAuthor<'a>,
}

/// One replica's counts of one cohort of one plan revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CohortCounts<'a> {
    pub flag: &'a str,
    pub revision: i64,
    /// `on` or `off`.
    pub cohort: &'a str,
    pub requests: i64,
    pub errors: i64,
    pub latency_requests: i64,
    pub slow: i64,
}

/// The sums over the replicas of one cohort.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CohortSums {
    pub requests: i64,
    pub errors: i64,
    pub latency_requests: i64,
    pub slow: i64,
}

const PLAN_COLUMNS: &str =
    "flag, plan, phase, step, revision, step_started_at, updated_at, updated_by";
const EVENT_COLUMNS: &str = "id, flag, at, by, action, reason, phase, step, percent, figures";

impl Store {
    /// Every plan, by flag.
    pub fn rollouts(&mut self) -> Result<Vec<StoredRollout>, StoreError> {
        self.rollout_rows(
            &format!("SELECT {PLAN_COLUMNS} FROM rollout_plans ORDER BY flag"),
            None,
        )
    }

    /// The plan of flag `flag`.
    pub fn rollout(&mut self, flag: &str) -> Result<Option<StoredRollout>, StoreError> {
        Ok(self
            .rollout_rows(
                &format!("SELECT {PLAN_COLUMNS} FROM rollout_plans WHERE flag = $1"),
                Some(flag),
            )?
            .pop())
    }

    /// Writes a plan's new state, its history and the flag's definition in one transaction.
    /// Returns the new revision, or None when the plan's revision is not `expected_revision`
    /// (someone else wrote it first: nothing is written).
    pub fn write_rollout(&mut self, w: RolloutWrite<'_>) -> Result<Option<i64>, StoreError> {
        // The flag's history says which change of the plan set it.
        let flag_reason = format!("rollout {}: {}", w.action, w.author.reason);
        let flag_author = FlagAuthor {
            reason: &flag_reason,
            ..w.author
        };
        let change = w.definition.map(|d| NewFlagChange {
            kind: FlagKind::Flag,
            name: w.flag,
            definition: Some(d),
        });
        match self {
            Store::Sqlite(s) => {
                let tx = s
                    .conn()
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let current: Option<i64> = tx
                    .query_row(
                        "SELECT revision FROM rollout_plans WHERE flag = ?1",
                        [w.flag],
                        |r| r.get(0),
                    )
                    .optional()?;
                if current != w.expected_revision {
                    return Ok(None);
                }
                let revision = current.unwrap_or(0) + 1;
                let at = w.author.at.as_micros();
                tx.execute(
                    &format!(
                        "INSERT INTO rollout_plans ({PLAN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                         ON CONFLICT (flag) DO UPDATE SET plan = excluded.plan, phase = excluded.phase, \
                         step = excluded.step, revision = excluded.revision, \
                         step_started_at = excluded.step_started_at, updated_at = excluded.updated_at, \
                         updated_by = excluded.updated_by"
                    ),
                    rusqlite::params![
                        w.flag,
                        w.plan,
                        w.phase,
                        w.step,
                        revision,
                        w.step_started_at.as_micros(),
                        at,
                        w.author.by
                    ],
                )?;
                tx.execute(
                    "INSERT INTO rollout_history (flag, at, by, action, reason, phase, step, percent, figures) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    rusqlite::params![
                        w.flag,
                        at,
                        w.author.by,
                        w.action,
                        w.author.reason,
                        w.phase,
                        w.step,
                        w.percent,
                        w.figures
                    ],
                )?;
                tx.execute(
                    "DELETE FROM rollout_figures WHERE flag = ?1 AND revision < ?2",
                    rusqlite::params![w.flag, revision],
                )?;
                if let Some(c) = change {
                    set_flags_sqlite(&tx, &[c], flag_author)?;
                }
                tx.commit()?;
                Ok(Some(revision))
            }
            Store::Postgres(s) => {
                let at = system_time(w.author.at)?;
                let started = system_time(w.step_started_at)?;
                let mut tx = s.client().transaction()?;
                // The flag history's lock first, always: `set_flags` takes it too, and two
                // writers taking the two locks in different orders could deadlock.
                tx.batch_execute("LOCK TABLE flag_history IN EXCLUSIVE MODE")?;
                let current: Option<i64> = match tx.query_opt(
                    "SELECT revision FROM rollout_plans WHERE flag = $1 FOR UPDATE",
                    &[&w.flag],
                )? {
                    Some(r) => Some(r.try_get(0)?),
                    None => None,
                };
                if current != w.expected_revision {
                    return Ok(None);
                }
                let revision = current.unwrap_or(0) + 1;
                let step = i32::try_from(w.step)
                    .map_err(|_| StoreError::Corrupt(format!("step {} out of range", w.step)))?;
                let percent = i32::try_from(w.percent).map_err(|_| {
                    StoreError::Corrupt(format!("percent {} out of range", w.percent))
                })?;
                tx.execute(
                    &format!(
                        "INSERT INTO rollout_plans ({PLAN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (flag) DO UPDATE SET plan = excluded.plan, phase = excluded.phase, \
                         step = excluded.step, revision = excluded.revision, \
                         step_started_at = excluded.step_started_at, updated_at = excluded.updated_at, \
                         updated_by = excluded.updated_by"
                    ),
                    &[
                        &w.flag,
                        &w.plan,
                        &w.phase,
                        &step,
                        &revision,
                        &started,
                        &at,
                        &w.author.by,
                    ],
                )?;
                tx.execute(
                    "INSERT INTO rollout_history (flag, at, by, action, reason, phase, step, percent, figures) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[
                        &w.flag,
                        &at,
                        &w.author.by,
                        &w.action,
                        &w.author.reason,
                        &w.phase,
                        &step,
                        &percent,
                        &w.figures,
                    ],
                )?;
                tx.execute(
                    "DELETE FROM rollout_figures WHERE flag = $1 AND revision < $2",
                    &[&w.flag, &revision],
                )?;
                if let Some(c) = change {
                    set_flags_postgres(&mut tx, &[c], flag_author)?;
                }
                tx.commit()?;
                Ok(Some(revision))
            }
        }
    }

    /// The history of flag `flag`'s plans (or of every plan), newest first, at most `limit`.
    pub fn rollout_history(
        &mut self,
        flag: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RolloutEvent>, StoreError> {
        let limit = i64::from(limit);
        let filter = if flag.is_some() {
            "WHERE flag = $1 ORDER BY id DESC LIMIT $2"
        } else {
            "ORDER BY id DESC LIMIT $1"
        };
        let sql = format!("SELECT {EVENT_COLUMNS} FROM rollout_history {filter}");
        let mut out = Vec::new();
        match self {
            Store::Sqlite(s) => {
                let mut stmt = s.conn().prepare_cached(&sql.replace('$', "?"))?;
                let mut rows = match flag {
                    Some(f) => stmt.query(rusqlite::params![f, limit])?,
                    None => stmt.query([limit])?,
                };
                while let Some(r) = rows.next()? {
                    let id: i64 = r.get(0)?;
                    out.push(RolloutEvent {
                        id,
                        flag: r.get(1)?,
                        at: micros("rollout_history", id, r.get(2)?)?,
                        by: r.get(3)?,
                        action: r.get(4)?,
                        reason: r.get(5)?,
                        phase: r.get(6)?,
                        step: r.get(7)?,
                        percent: r.get(8)?,
                        figures: r.get(9)?,
                    });
                }
            }
            Store::Postgres(s) => {
                let rows = match flag {
                    Some(f) => s.client().query(&sql, &[&f, &limit])?,
                    None => s.client().query(&sql, &[&limit])?,
                };
                for r in rows {
                    let id: i64 = r.try_get(0)?;
                    let step: i32 = r.try_get(7)?;
                    let percent: i32 = r.try_get(8)?;
                    out.push(RolloutEvent {
                        id,
                        flag: r.try_get(1)?,
                        at: pg_time("rollout_history", id, r.try_get(2)?)?,
                        by: r.try_get(3)?,
                        action: r.try_get(4)?,
                        reason: r.try_get(5)?,
                        phase: r.try_get(6)?,
                        step: i64::from(step),
                        percent: i64::from(percent),
                        figures: r.try_get(9)?,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Upserts replica `replica`'s running totals of each cohort (one transaction).
    pub fn report_rollout_counts(
        &mut self,
        replica: &str,
        counts: &[CohortCounts<'_>],
        at: Instant,
    ) -> Result<(), StoreError> {
        const UPSERT: &str = "INSERT INTO rollout_figures \
            (flag, revision, replica, cohort, requests, errors, latency_requests, slow, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
            ON CONFLICT (flag, revision, replica, cohort) DO UPDATE SET \
            requests = excluded.requests, errors = excluded.errors, \
            latency_requests = excluded.latency_requests, slow = excluded.slow, \
            updated_at = excluded.updated_at";
        match self {
            Store::Sqlite(s) => {
                let tx = s
                    .conn()
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                {
                    let mut stmt = tx.prepare_cached(&UPSERT.replace('$', "?"))?;
                    for c in counts {
                        stmt.execute(rusqlite::params![
                            c.flag,
                            c.revision,
                            replica,
                            c.cohort,
                            c.requests,
                            c.errors,
                            c.latency_requests,
                            c.slow,
                            at.as_micros()
                        ])?;
                    }
                }
                tx.commit()?;
            }
            Store::Postgres(s) => {
                let at = system_time(at)?;
                let mut tx = s.client().transaction()?;
                let stmt = tx.prepare(UPSERT)?;
                for c in counts {
                    tx.execute(
                        &stmt,
                        &[
                            &c.flag,
                            &c.revision,
                            &replica,
                            &c.cohort,
                            &c.requests,
                            &c.errors,
                            &c.latency_requests,
                            &c.slow,
                            &at,
                        ],
                    )?;
                }
                tx.commit()?;
            }
        }
        Ok(())
    }

    /// The counts of revision `revision` of flag `flag`'s plan summed over the replicas:
    /// (`on`, `off`).
    pub fn rollout_counts(
        &mut self,
        flag: &str,
        revision: i64,
    ) -> Result<(CohortSums, CohortSums), StoreError> {
        let sql = "SELECT cohort, sum(requests), sum(errors), sum(latency_requests), sum(slow) \
                   FROM rollout_figures WHERE flag = $1 AND revision = $2 GROUP BY cohort";
        let mut on = CohortSums::default();
        let mut off = CohortSums::default();
        let mut put = |cohort: &str, sums: CohortSums| match cohort {
            "on" => on = sums,
            _ => off = sums,
        };
        match self {
            Store::Sqlite(s) => {
                let mut stmt = s.conn().prepare_cached(&sql.replace('$', "?"))?;
                let mut rows = stmt.query(rusqlite::params![flag, revision])?;
                while let Some(r) = rows.next()? {
                    let cohort: String = r.get(0)?;
                    put(
                        &cohort,
                        CohortSums {
                            requests: r.get(1)?,
                            errors: r.get(2)?,
                            latency_requests: r.get(3)?,
                            slow: r.get(4)?,
                        },
                    );
                }
            }
            Store::Postgres(s) => {
                // PostgreSQL's sum of bigint is numeric.
                let sql = "SELECT cohort, sum(requests)::int8, sum(errors)::int8, \
                           sum(latency_requests)::int8, sum(slow)::int8 FROM rollout_figures \
                           WHERE flag = $1 AND revision = $2 GROUP BY cohort";
                for r in s.client().query(sql, &[&flag, &revision])? {
                    let cohort: String = r.try_get(0)?;
                    put(
                        &cohort,
                        CohortSums {
                            requests: r.try_get(1)?,
                            errors: r.try_get(2)?,
                            latency_requests: r.try_get(3)?,
                            slow: r.try_get(4)?,
                        },
                    );
                }
            }
        }
        Ok((on, off))
    }

    /// Takes lease `name` for `holder` until `until`, when it is free, expired at `now`, or
    /// held by `holder` already (then it is extended). Returns whether `holder` holds it.
    pub fn take_lease(
        &mut self,
        name: &str,
        holder: &str,
        now: Instant,
        until: Instant,
    ) -> Result<bool, StoreError> {
        const TAKE: &str = "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
            WHERE leases.holder = excluded.holder OR leases.expires_at < $4";
        let n = match self {
            Store::Sqlite(s) => s.conn().execute(
                &TAKE.replace('$', "?"),
                rusqlite::params![name, holder, until.as_micros(), now.as_micros()],
            )?,
            Store::Postgres(s) => {
                let n = s.client().execute(
                    TAKE,
                    &[&name, &holder, &system_time(until)?, &system_time(now)?],
                )?;
                usize::try_from(n).unwrap_or(0)
            }
        };
        Ok(n == 1)
    }

    /// Gives lease `name` up, if `holder` holds it.
    pub fn release_lease(&mut self, name: &str, holder: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM leases WHERE name = $1 AND holder = $2";
        match self {
            Store::Sqlite(s) => {
                s.conn()
                    .execute(&sql.replace('$', "?"), rusqlite::params![name, holder])?;
            }
            Store::Postgres(s) => {
                s.client().execute(sql, &[&name, &holder])?;
            }
        }
        Ok(())
    }

    fn rollout_rows(
        &mut self,
        sql: &str,
        flag: Option<&str>,
    ) -> Result<Vec<StoredRollout>, StoreError> {
        let mut out = Vec::new();
        match self {
            Store::Sqlite(s) => {
                let mut stmt = s.conn().prepare_cached(&sql.replace('$', "?"))?;
                let mut rows = match flag {
                    Some(f) => stmt.query([f])?,
                    None => stmt.query([])?,
                };
                while let Some(r) = rows.next()? {
                    let revision: i64 = r.get(4)?;
                    out.push(StoredRollout {
                        flag: r.get(0)?,
                        plan: r.get(1)?,
                        phase: r.get(2)?,
                        step: r.get(3)?,
                        revision,
                        step_started_at: micros("rollout_plans", revision, r.get(5)?)?,
                        updated_at: micros("rollout_plans", revision, r.get(6)?)?,
                        updated_by: r.get(7)?,
                    });
                }
            }
            Store::Postgres(s) => {
                let rows = match flag {
                    Some(f) => s.client().query(sql, &[&f])?,
                    None => s.client().query(sql, &[])?,
                };
                for r in rows {
                    let revision: i64 = r.try_get(4)?;
                    let step: i32 = r.try_get(3)?;
                    out.push(StoredRollout {
                        flag: r.try_get(0)?,
                        plan: r.try_get(1)?,
                        phase: r.try_get(2)?,
                        step: i64::from(step),
                        revision,
                        step_started_at: pg_time("rollout_plans", revision, r.try_get(5)?)?,
                        updated_at: pg_time("rollout_plans", revision, r.try_get(6)?)?,
                        updated_by: r.try_get(7)?,
                    });
                }
            }
        }
        Ok(out)
    }
}
