//! What reports over demographics keep in the store (migration 10, `docs/privacy.md`): each
//! org's perturbation secret and settings ([`Store::privacy_settings`], created on first use
//! with the caller's fresh secret; [`Store::rotate_privacy_secret`],
//! [`Store::set_privacy_settings`]) and the log of runs that budgets and burst alerts count
//! ([`Store::record_demographic_run`], [`Store::demographic_runs`]), and the populations
//! published so far (migration 14: [`Store::publish_populations`], which reads and records
//! them under one lock per org).
//!
//! Like the audit log, these live outside the interchange format and survive an org's
//! replacement; every write checks that the org exists in its own statement.

use domain::Instant;
use rusqlite::OptionalExtension;

use crate::audit::{instant, pg_instant, system_time};
use crate::{Store, StoreError};

/// An org's perturbation secret and settings.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivacySettings {
    /// The key of every cell's noise (never shown).
    pub secret: Vec<u8>,
    pub secret_set_at: Instant,
    /// Counts under it after perturbation are suppressed.
    pub threshold: i64,
    /// The perturbation table's weights, `10,20,40,20,10`.
    pub noise: String,
    /// Reports over demographics per user per day.
    pub daily_budget: i64,
}

impl std::fmt::Debug for PrivacySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivacySettings")
            .field("secret", &"<hidden>")
            .field("secret_set_at", &self.secret_set_at)
            .field("threshold", &self.threshold)
            .field("noise", &self.noise)
            .field("daily_budget", &self.daily_budget)
            .finish()
    }
}

/// One run of a report over demographics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemographicRun {
    pub user: String,
    pub at: Instant,
    /// The report's hash (as in the audit log).
    pub report_hash: String,
    /// The hash of the report with its literals blanked.
    pub shape_hash: String,
    /// The distinct candidates it counted (before perturbation).
    pub population: i64,
}

const COLUMNS: &str = "secret, secret_set_at, threshold, noise, daily_budget";

/// The perturbation table a new org starts with.
fn default_noise() -> String {
    query_compiler::demographics::PerturbationTable::default().text()
}

impl Store {
    /// Org `org_id`'s privacy settings, created with `fresh_secret` and the defaults (threshold
    /// 5, the compiler's default noise `10,20,40,20,10`, 50 reports a day) on first use. (The
    /// column's default in migration 10, the earlier table, is not used.)
    pub fn privacy_settings(
        &mut self,
        org_id: &str,
        fresh_secret: &[u8],
        at: Instant,
    ) -> Result<PrivacySettings, StoreError> {
        let found = match self {
            Store::Sqlite(s) => {
                let conn = s.conn();
                conn.execute(
                    "INSERT INTO org_privacy (org_id, secret, secret_set_at, noise) \
                     SELECT ?1, ?2, ?3, ?4 FROM orgs WHERE org_id = ?1 \
                     ON CONFLICT (org_id) DO NOTHING",
                    rusqlite::params![org_id, fresh_secret, at.as_micros(), default_noise()],
                )?;
                conn.query_row(
                    &format!("SELECT {COLUMNS} FROM org_privacy WHERE org_id = ?1"),
                    [org_id],
                    |r| {
                        Ok((
                            r.get::<_, Vec<u8>>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    },
                )
                .optional()?
                .map(|(secret, set_at, threshold, noise, daily_budget)| {
                    Ok::<_, StoreError>(PrivacySettings {
                        secret,
                        secret_set_at: instant(org_id, "org_privacy", 0, set_at)?,
                        threshold,
                        noise,
                        daily_budget,
                    })
                })
                .transpose()?
            }
            Store::Postgres(s) => {
                let client = s.client();
                client.execute(
                    "INSERT INTO org_privacy (org_id, secret, secret_set_at, noise) \
                     SELECT $1, $2, $3, $4 FROM orgs WHERE org_id = $1 \
                     ON CONFLICT (org_id) DO NOTHING",
                    &[&org_id, &fresh_secret, &system_time(at)?, &default_noise()],
                )?;
                let row = client.query_opt(
                    "SELECT secret, secret_set_at, threshold::int8, noise, daily_budget::int8 \
                     FROM org_privacy WHERE org_id = $1",
                    &[&org_id],
                )?;
                match row {
                    None => None,
                    Some(r) => Some(PrivacySettings {
                        secret: r.try_get(0)?,
                        secret_set_at: pg_instant(org_id, "org_privacy", 0, r.try_get(1)?)?,
                        threshold: r.try_get(2)?,
                        noise: r.try_get(3)?,
                        daily_budget: r.try_get(4)?,
                    }),
                }
            }
        };
        found.ok_or_else(|| StoreError::NoSuchOrg(org_id.to_owned()))
    }

    /// Replaces org `org_id`'s secret (every cell gets new noise from now on).
    pub fn rotate_privacy_secret(
        &mut self,
        org_id: &str,
        secret: &[u8],
        at: Instant,
    ) -> Result<(), StoreError> {
        self.privacy_settings(org_id, secret, at)?;
        let n = match self {
            Store::Sqlite(s) => s.conn().execute(
                "UPDATE org_privacy SET secret = ?2, secret_set_at = ?3 WHERE org_id = ?1",
                rusqlite::params![org_id, secret, at.as_micros()],
            )?,
            Store::Postgres(s) => s.client().execute(
                "UPDATE org_privacy SET secret = $2, secret_set_at = $3 WHERE org_id = $1",
                &[&org_id, &secret, &system_time(at)?],
            )? as usize,
        };
        if n == 0 {
            return Err(StoreError::NoSuchOrg(org_id.to_owned()));
        }
        Ok(())
    }

    /// Changes the settings given (the caller validated them); creates the org's row first with
    /// `fresh_secret` if it has none.
    pub fn set_privacy_settings(
        &mut self,
        org_id: &str,
        fresh_secret: &[u8],
        at: Instant,
        threshold: Option<i64>,
        noise: Option<&str>,
        daily_budget: Option<i64>,
    ) -> Result<PrivacySettings, StoreError> {
        let now = self.privacy_settings(org_id, fresh_secret, at)?;
        let threshold = threshold.unwrap_or(now.threshold);
        let noise = noise.unwrap_or(&now.noise).to_owned();
        let daily_budget = daily_budget.unwrap_or(now.daily_budget);
        match self {
            Store::Sqlite(s) => {
                s.conn().execute(
                    "UPDATE org_privacy SET threshold = ?2, noise = ?3, daily_budget = ?4 WHERE org_id = ?1",
                    rusqlite::params![org_id, threshold, noise, daily_budget],
                )?;
            }
            Store::Postgres(s) => {
                let (t, b) = (
                    i32::try_from(threshold).map_err(|_| {
                        StoreError::Corrupt(format!("threshold `{threshold}` is out of range"))
                    })?,
                    i32::try_from(daily_budget).map_err(|_| {
                        StoreError::Corrupt(format!(
                            "daily budget `{daily_budget}` is out of range"
                        ))
                    })?,
                );
                s.client().execute(
                    "UPDATE org_privacy SET threshold = $2, noise = $3, daily_budget = $4 WHERE org_id = $1",
                    &[&org_id, &t, &noise, &b],
                )?;
            }
        }
        self.privacy_settings(org_id, fresh_secret, at)
    }

    /// Takes one run of `run.user`'s daily budget of reports over demographics, in one
    /// transaction under the org's publication lock (the one [`Store::publish_populations`]
    /// takes), so that runs at once cannot all pass the check before any is recorded: `run` is
    /// recorded (its population set later by [`Store::set_demographic_run_population`]) unless
    /// the user already has `budget` runs at or after `since`. Returns the user's runs before it
    /// (oldest first) and whether this one was recorded. A run recorded counts whether or not
    /// it then succeeds.
    pub fn reserve_demographic_run(
        &mut self,
        org_id: &str,
        run: &DemographicRun,
        since: Instant,
        budget: i64,
    ) -> Result<(Vec<DemographicRun>, bool), StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.conn().execute_batch("BEGIN IMMEDIATE")?;
            }
            Store::Postgres(s) => {
                s.client().batch_execute("BEGIN")?;
                let locked = s.client().execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&crate::audit::PG_POPULATIONS_LOCK, &org_id],
                );
                if let Err(e) = locked {
                    let _ = s.client().batch_execute("ROLLBACK");
                    return Err(e.into());
                }
            }
        }
        let outcome: Result<(Vec<DemographicRun>, bool), StoreError> = (|| {
            let runs = self.demographic_runs(org_id, &run.user, since)?;
            let reserved = (runs.len() as i64) < budget;
            if reserved {
                self.record_demographic_run(org_id, run)?;
            }
            Ok((runs, reserved))
        })();
        let end = if outcome.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        let ended = match self {
            Store::Sqlite(s) => s.conn().execute_batch(end).map_err(StoreError::from),
            Store::Postgres(s) => s.client().batch_execute(end).map_err(StoreError::from),
        };
        let outcome = outcome?;
        ended?;
        Ok(outcome)
    }

    /// Sets the population of a run recorded by [`Store::reserve_demographic_run`] (its user,
    /// time and report hash).
    pub fn set_demographic_run_population(
        &mut self,
        org_id: &str,
        run: &DemographicRun,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.conn().execute(
                    "UPDATE demographic_runs SET population = ?5 \
                     WHERE org_id = ?1 AND user_id = ?2 AND at = ?3 AND report_hash = ?4",
                    rusqlite::params![
                        org_id,
                        run.user,
                        run.at.as_micros(),
                        run.report_hash,
                        run.population
                    ],
                )?;
            }
            Store::Postgres(s) => {
                s.client().execute(
                    "UPDATE demographic_runs SET population = $5 \
                     WHERE org_id = $1 AND user_id = $2 AND at = $3 AND report_hash = $4",
                    &[
                        &org_id,
                        &run.user,
                        &system_time(run.at)?,
                        &run.report_hash,
                        &run.population,
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// Records one run of a report over demographics.
    pub fn record_demographic_run(
        &mut self,
        org_id: &str,
        run: &DemographicRun,
    ) -> Result<(), StoreError> {
        let n = match self {
            Store::Sqlite(s) => s.conn().execute(
                "INSERT INTO demographic_runs (org_id, user_id, at, report_hash, shape_hash, population) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 FROM orgs WHERE org_id = ?1",
                rusqlite::params![
                    org_id,
                    run.user,
                    run.at.as_micros(),
                    run.report_hash,
                    run.shape_hash,
                    run.population
                ],
            )?,
            Store::Postgres(s) => s.client().execute(
                "INSERT INTO demographic_runs (org_id, user_id, at, report_hash, shape_hash, population) \
                 SELECT $1, $2, $3, $4, $5, $6 FROM orgs WHERE org_id = $1",
                &[
                    &org_id,
                    &run.user,
                    &system_time(run.at)?,
                    &run.report_hash,
                    &run.shape_hash,
                    &run.population,
                ],
            )? as usize,
        };
        if n == 0 {
            return Err(StoreError::NoSuchOrg(org_id.to_owned()));
        }
        Ok(())
    }

    /// User `user`'s runs of reports over demographics at or after `since`, oldest first.
    pub fn demographic_runs(
        &mut self,
        org_id: &str,
        user: &str,
        since: Instant,
    ) -> Result<Vec<DemographicRun>, StoreError> {
        let mut out = Vec::new();
        match self {
            Store::Sqlite(s) => {
                let mut stmt = s.conn().prepare_cached(
                    "SELECT at, report_hash, shape_hash, population FROM demographic_runs \
                     WHERE org_id = ?1 AND user_id = ?2 AND at >= ?3 ORDER BY at",
                )?;
                let mut rows = stmt.query(rusqlite::params![org_id, user, since.as_micros()])?;
                while let Some(r) = rows.next()? {
                    out.push(DemographicRun {
                        user: user.to_owned(),
                        at: instant(org_id, "demographic_runs", 0, r.get(0)?)?,
                        report_hash: r.get(1)?,
                        shape_hash: r.get(2)?,
                        population: r.get(3)?,
                    });
                }
            }
            Store::Postgres(s) => {
                for r in s.client().query(
                    "SELECT at, report_hash, shape_hash, population FROM demographic_runs \
                     WHERE org_id = $1 AND user_id = $2 AND at >= $3 ORDER BY at",
                    &[&org_id, &user, &system_time(since)?],
                )? {
                    out.push(DemographicRun {
                        user: user.to_owned(),
                        at: pg_instant(org_id, "demographic_runs", 0, r.try_get(0)?)?,
                        report_hash: r.try_get(1)?,
                        shape_hash: r.try_get(2)?,
                        population: r.try_get(3)?,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Publication under one lock per org: the sketches of the populations published before in
    /// org `org_id` (by anyone) that count one of `totals` candidates go to `decide`, which
    /// answers with what it publishes and the populations (candidates, sketch) published; those
    /// are recorded, each once, in the same transaction. Two reports run at once therefore
    /// cannot both publish populations a few people apart: the second sees the first's.
    pub fn publish_populations<R>(
        &mut self,
        org_id: &str,
        at: Instant,
        report_hash: &str,
        totals: &[i64],
        decide: impl FnOnce(Vec<String>) -> (R, Vec<(i64, String)>),
    ) -> Result<R, StoreError> {
        const INSERT_SQLITE: &str = "INSERT INTO published_populations (org_id, total, sketch, first_at, report_hash) \
             SELECT ?1, ?2, ?3, ?4, ?5 FROM orgs WHERE org_id = ?1 AND NOT EXISTS \
             (SELECT 1 FROM published_populations WHERE org_id = ?1 AND total = ?2 AND sketch = ?3)";
        const INSERT_PG: &str = "INSERT INTO published_populations (org_id, total, sketch, first_at, report_hash) \
             SELECT $1, $2, $3, $4, $5 FROM orgs WHERE org_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM published_populations WHERE org_id = $1 AND total = $2 AND sketch = $3)";
        match self {
            Store::Sqlite(s) => {
                // `IMMEDIATE`: the write lock first, so publications of the store's processes
                // and threads take turns.
                let tx = s
                    .conn()
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let list = format!(
                    "[{}]",
                    totals
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                );
                let mut before = Vec::new();
                {
                    let mut stmt = tx.prepare_cached(
                        "SELECT sketch FROM published_populations \
                         WHERE org_id = ?1 AND total IN (SELECT value FROM json_each(?2))",
                    )?;
                    let mut rows = stmt.query(rusqlite::params![org_id, list])?;
                    while let Some(r) = rows.next()? {
                        before.push(r.get(0)?);
                    }
                }
                let (answer, published) = decide(before);
                {
                    let mut stmt = tx.prepare_cached(INSERT_SQLITE)?;
                    for (total, sketch) in &published {
                        stmt.execute(rusqlite::params![
                            org_id,
                            total,
                            sketch,
                            at.as_micros(),
                            report_hash
                        ])?;
                    }
                }
                tx.commit()?;
                Ok(answer)
            }
            Store::Postgres(s) => {
                let at = system_time(at)?;
                let mut tx = s.client().transaction()?;
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&crate::audit::PG_POPULATIONS_LOCK, &org_id],
                )?;
                let totals = totals.to_vec();
                let before = tx
                    .query(
                        "SELECT sketch FROM published_populations \
                         WHERE org_id = $1 AND total = ANY($2)",
                        &[&org_id, &totals],
                    )?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<Vec<String>, _>>()?;
                let (answer, published) = decide(before);
                let stmt = tx.prepare(INSERT_PG)?;
                for (total, sketch) in &published {
                    tx.execute(&stmt, &[&org_id, total, sketch, &at, &report_hash])?;
                }
                tx.commit()?;
                Ok(answer)
            }
        }
    }
}
