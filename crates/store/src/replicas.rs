//! The server replicas that serve one database (migration 9), so that a limit can hold for the
//! whole cluster: the server splits each token's rate limit between the live replicas.
//!
//! A replica calls [`Store::replica_heartbeat`] every few seconds: it upserts its own row, forgets
//! rows whose heartbeat is older than twice `live_within` (replicas that died without leaving), and
//! counts the replicas whose heartbeat is younger than `live_within`, itself included. On a
//! graceful stop it calls [`Store::replica_leave`], so that the others take its share at their
//! next heartbeat. Times are the caller's clock, passed in like everywhere in the store; replicas
//! whose clocks disagree by a good part of `live_within` miscount each other.
//!
//! The `replicas` table belongs to no org (it describes the deployment): the one exception to
//! "every table starts with `org_id`".

use std::time::Duration;

use domain::Instant;
use rusqlite::TransactionBehavior;

use crate::audit::system_time;
use crate::{Store, StoreError};

impl Store {
    /// Records that replica `replica_id` is alive at `now` and returns how many replicas are live
    /// (heartbeat younger than `live_within`), at least 1: the caller itself. Rows older than
    /// twice `live_within` are deleted. One transaction (one statement on PostgreSQL).
    pub fn replica_heartbeat(
        &mut self,
        replica_id: &str,
        now: Instant,
        live_within: Duration,
    ) -> Result<u32, StoreError> {
        if replica_id.is_empty() {
            return Err(StoreError::Replica(
                "replica id must not be empty".to_owned(),
            ));
        }
        let live_since = before(now, live_within, 1)?;
        let forget_before = before(now, live_within, 2)?;
        let others: i64 = match self {
            Store::Sqlite(s) => {
                let tx = s
                    .conn()
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute(
                    "INSERT INTO replicas (replica_id, heartbeat_at, started_at) VALUES (?1, ?2, ?2) \
                     ON CONFLICT (replica_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                    rusqlite::params![replica_id, now.as_micros()],
                )?;
                tx.execute(
                    "DELETE FROM replicas WHERE heartbeat_at < ?1",
                    [forget_before.as_micros()],
                )?;
                let n = tx.query_row(
                    "SELECT count(*) FROM replicas WHERE heartbeat_at >= ?1 AND replica_id <> ?2",
                    rusqlite::params![live_since.as_micros(), replica_id],
                    |r| r.get(0),
                )?;
                tx.commit()?;
                n
            }
            Store::Postgres(s) => {
                // The statements of one query see the same snapshot: the count does not see the
                // upsert, so it counts the others and the caller adds itself.
                let row = s.client().query_one(
                    "WITH beat AS ( \
                         INSERT INTO replicas (replica_id, heartbeat_at, started_at) VALUES ($1, $2, $2) \
                         ON CONFLICT (replica_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at \
                         RETURNING 1), \
                     forgotten AS (DELETE FROM replicas WHERE heartbeat_at < $3 AND replica_id <> $1 RETURNING 1) \
                     SELECT count(*) FROM replicas WHERE heartbeat_at >= $4 AND replica_id <> $1",
                    &[
                        &replica_id,
                        &system_time(now)?,
                        &system_time(forget_before)?,
                        &system_time(live_since)?,
                    ],
                )?;
                row.try_get(0)?
            }
        };
        Ok(u32::try_from(others)
            .unwrap_or(u32::MAX - 1)
            .saturating_add(1))
    }

    /// Removes replica `replica_id` (it is stopping); the others stop counting it at their next
    /// heartbeat. Returns false when it had no row.
    pub fn replica_leave(&mut self, replica_id: &str) -> Result<bool, StoreError> {
        let n = match self {
            Store::Sqlite(s) => s
                .conn()
                .execute("DELETE FROM replicas WHERE replica_id = ?1", [replica_id])?
                as u64,
            Store::Postgres(s) => s
                .client()
                .execute("DELETE FROM replicas WHERE replica_id = $1", &[&replica_id])?,
        };
        Ok(n > 0)
    }
}

/// `now` less `times` × `within`.
fn before(now: Instant, within: Duration, times: u32) -> Result<Instant, StoreError> {
    let out_of_range = || StoreError::Replica(format!("live_within `{within:?}` is out of range"));
    let span = within.checked_mul(times).ok_or_else(out_of_range)?;
    let micros = i64::try_from(span.as_micros()).map_err(|_| out_of_range())?;
    now.as_micros()
        .checked_sub(micros)
        .and_then(|m| Instant::from_micros(m).ok())
        .ok_or_else(out_of_range)
}
