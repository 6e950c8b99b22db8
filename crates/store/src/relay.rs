//! What a relay needs of the outbox (crates/server's `relay` publishes the events to NATS
//! JetStream): which orgs have events to publish, those events in `seq` order, marking them
//! published, forgetting them after the retention period, the backlog, and who may relay which
//! orgs.
//!
//! Each org's cursor (`outbox_relay.published_seq`, migration 17) is the last `seq` published;
//! `outbox_heads.last_seq` the last committed. The orgs with work are those whose head is past
//! their cursor: found from these two small tables, never by scanning the outbox. Because an
//! org's `seq` numbers are taken in commit order with no gap (see [`crate::events`]), every
//! event up to the head a relay reads is committed and visible to its next statement.
//!
//! Orgs are split into partitions by a hash of their id ([`partition_of`]); at most one relay
//! publishes a partition at a time, so each org's events go out in `seq` order from one
//! publisher. On PostgreSQL a relay holds a partition by a session-level advisory lock on its
//! own connection ([`crate::Store::relay_try_hold`]): when its process dies, its connection
//! closes and the lock is free for the next relay at once. SQLite serves one process, which
//! holds every partition (a lease in `leases`, renewed like the rollouts' one, keeps a second
//! process that opens the same file from relaying at the same time).

use domain::Instant;

use crate::events::{EVENT_COLUMNS, EVENT_KINDS, OutboxEvent};
use crate::rows::Val;
use crate::write::tx::{Conn, Kind, Tx};
use crate::{Store, StoreError};

/// The first key of the relays' advisory locks (`pg_try_advisory_lock(KEY, partition)`):
/// "HPOB" in ASCII, so that other users of advisory locks in the database can tell them apart.
const ADVISORY_KEY: i32 = 0x4850_4F42;

/// The lease a SQLite relay holds (every partition).
pub const SQLITE_LEASE: &str = "outbox-relay";

/// An org whose committed events are ahead of what was published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backlog {
    pub org_id: String,
    /// The last `seq` published (0: none yet).
    pub published_seq: i64,
    /// The last `seq` committed.
    pub last_seq: i64,
}

impl Backlog {
    /// Events committed and not yet published.
    pub fn behind(&self) -> i64 {
        self.last_seq - self.published_seq
    }
}

/// The partition of org `org` among `partitions` (FNV-1a of its id): stable across
/// processes, versions and platforms, so every relay agrees on it.
pub fn partition_of(org: &str, partitions: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in org.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    u32::try_from(h % u64::from(partitions.max(1))).unwrap_or(0)
}

impl Store {
    /// Runs `f` in one transaction that is about no org in particular.
    pub(crate) fn plain_tx<T>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = match self {
            Store::Sqlite(s) => Tx::new(Conn::Sqlite(s.conn().transaction()?), Default::default()),
            Store::Postgres(s) => Tx::new(
                Conn::Postgres(s.client().transaction()?),
                Default::default(),
            ),
        };
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Tries to hold partition `partition` for this connection's relay: a session-level advisory
    /// lock on PostgreSQL (kept until [`Store::relay_release`] or the connection closes). On
    /// SQLite, lease [`SQLITE_LEASE`] for `holder` until `until` stands for every partition.
    /// Returns whether this relay holds it.
    pub fn relay_try_hold(
        &mut self,
        partition: u32,
        holder: &str,
        now: Instant,
        until: Instant,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Postgres(s) => {
                let p = i32::try_from(partition).unwrap_or(i32::MAX);
                let row = s
                    .client()
                    .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&ADVISORY_KEY, &p])?;
                Ok(row.try_get(0)?)
            }
            Store::Sqlite(_) => self.take_lease(SQLITE_LEASE, holder, now, until),
        }
    }

    /// Gives up every partition this connection's relay holds.
    pub fn relay_release(&mut self, holder: &str) -> Result<(), StoreError> {
        match self {
            Store::Postgres(s) => {
                // The relay's connection is its own: its only advisory locks are partitions.
                s.client().execute("SELECT pg_advisory_unlock_all()", &[])?;
                Ok(())
            }
            Store::Sqlite(_) => self.release_lease(SQLITE_LEASE, holder),
        }
    }

    /// The orgs whose committed events are ahead of their cursor, most behind first.
    pub fn relay_backlog(&mut self) -> Result<Vec<Backlog>, StoreError> {
        self.plain_tx(|tx| {
            let rows = tx.query(
                "SELECT h.org_id, COALESCE(r.published_seq, 0), h.last_seq \
                 FROM outbox_heads h LEFT JOIN outbox_relay r ON r.org_id = h.org_id \
                 WHERE h.last_seq > COALESCE(r.published_seq, 0) \
                 ORDER BY h.last_seq - COALESCE(r.published_seq, 0) DESC, h.org_id",
                &[],
                &[Kind::Text, Kind::Int, Kind::Int],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(Backlog {
                        org_id: r.text(0)?,
                        published_seq: r.int(1)?,
                        last_seq: r.int(2)?,
                    })
                })
                .collect()
        })
    }

    /// Org `org`'s events with `seq` in `after + 1 ..= up_to`, by `seq`, at most `limit`,
    /// each with when its transaction committed (`None` for events older than migration 17).
    /// Unlike [`Store::outbox_events`], the org need not exist any more (events outlive it).
    pub fn relay_events(
        &mut self,
        org: &str,
        after: i64,
        up_to: i64,
        limit: u32,
    ) -> Result<Vec<(OutboxEvent, Option<Instant>)>, StoreError> {
        self.plain_tx(|tx| {
            let sql = format!(
                "SELECT {EVENT_COLUMNS}, committed_at FROM outbox \
                 WHERE org_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4"
            );
            let mut kinds = EVENT_KINDS.to_vec();
            kinds.push(Kind::Instant);
            let rows = tx.query(
                &sql,
                &[
                    Val::Text(org),
                    Val::Int(after),
                    Val::Int(up_to),
                    Val::Int(i64::from(limit)),
                ],
                &kinds,
            )?;
            rows.iter()
                .map(|r| {
                    Ok((
                        OutboxEvent::from_row(org, r)?,
                        r.opt_instant(EVENT_KINDS.len())?,
                    ))
                })
                .collect()
        })
    }

    /// Records that org `org`'s events `from ..= to` were published at `at`: their
    /// `published_at` (where not set yet) and the org's cursor (never moved back), in one
    /// transaction.
    pub fn relay_mark_published(
        &mut self,
        org: &str,
        from: i64,
        to: i64,
        at: Instant,
    ) -> Result<(), StoreError> {
        self.plain_tx(|tx| {
            tx.execute(
                "UPDATE outbox SET published_at = $4 \
                 WHERE org_id = $1 AND seq >= $2 AND seq <= $3 AND published_at IS NULL",
                &[
                    Val::Text(org),
                    Val::Int(from),
                    Val::Int(to),
                    Val::Instant(at),
                ],
            )?;
            tx.execute(
                "INSERT INTO outbox_relay (org_id, published_seq) VALUES ($1, $2) \
                 ON CONFLICT (org_id) DO UPDATE SET published_seq = excluded.published_seq \
                 WHERE outbox_relay.published_seq < excluded.published_seq",
                &[Val::Text(org), Val::Int(to)],
            )?;
            Ok(())
        })
    }

    /// Forgets org `org`'s events published before `before`, oldest first, at most `limit`
    /// (their order of publication is their `seq` order, so the oldest are found by the
    /// primary key). Returns how many were deleted. Events not published are never deleted, nor
    /// events the org's automation rules have not looked at yet (past its dispatch cursor,
    /// while it has an enabled rule: migration 22).
    pub fn relay_prune(
        &mut self,
        org: &str,
        before: Instant,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.plain_tx(|tx| {
            let oldest = tx.query_opt(
                "SELECT seq FROM outbox WHERE org_id = $1 ORDER BY seq LIMIT 1",
                &[Val::Text(org)],
                &[Kind::Int],
            )?;
            let Some(oldest) = oldest else {
                return Ok(0);
            };
            let oldest = oldest.int(0)?;
            tx.execute(
                "DELETE FROM outbox WHERE org_id = $1 AND seq >= $2 AND seq < $3 \
                 AND published_at IS NOT NULL AND published_at < $4 \
                 AND (seq <= (SELECT c.seq FROM automation_cursors c WHERE c.org_id = $1) \
                   OR NOT EXISTS (SELECT 1 FROM automation_rules r \
                     WHERE r.org_id = $1 AND r.enabled AND NOT r.deleted))",
                &[
                    Val::Text(org),
                    Val::Int(oldest),
                    Val::Int(oldest.saturating_add(i64::from(limit))),
                    Val::Instant(before),
                ],
            )
        })
    }

    /// The orgs that have events in the outbox (published or not), for pruning.
    pub fn relay_orgs(&mut self) -> Result<Vec<String>, StoreError> {
        self.plain_tx(|tx| {
            let rows = tx.query(
                "SELECT org_id FROM outbox_heads ORDER BY org_id",
                &[],
                &[Kind::Text],
            )?;
            rows.iter().map(|r| r.text(0)).collect()
        })
    }

    /// When org `org`'s event `seq` happened (`None` when it is not in the outbox): the age
    /// of the oldest event a relay has still to publish.
    pub fn relay_event_time(&mut self, org: &str, seq: i64) -> Result<Option<Instant>, StoreError> {
        self.plain_tx(|tx| {
            let row = tx.query_opt(
                "SELECT time FROM outbox WHERE org_id = $1 AND seq = $2",
                &[Val::Text(org), Val::Int(seq)],
                &[Kind::Instant],
            )?;
            row.map(|r| r.instant(0)).transpose()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_spread() {
        // FNV-1a of "acme" is fixed: a relay of another version or platform agrees.
        assert_eq!(partition_of("acme", 16), partition_of("acme", 16));
        assert_eq!(partition_of("anything", 1), 0);
        assert_eq!(partition_of("anything", 0), 0);
        let mut seen = [0u32; 8];
        for i in 0..800 {
            seen[partition_of(&format!("org_{i}"), 8) as usize] += 1;
        }
        assert!(seen.iter().all(|n| (60..=140).contains(n)), "{seen:?}");
    }
}
