//! Each server replica's view of each external destination (migration 21), for
//! `hireplane workflow status`: the circuit breaker's state and window, the replica's counts,
//! the last error.
//!
//! The server hands its resilience layer's snapshot (crate `effects`) to
//! [`Store::record_destinations`] when a breaker changed state and every few seconds otherwise:
//! one transaction upserts the replica's rows and deletes every row (of any replica) not written
//! for `forget_after`, so a replica that died does not show for ever. [`Store::destination_statuses`]
//! reads them all, by destination then replica. Times are the caller's clock, passed in.
//!
//! The `destination_status` table belongs to no org, like `replicas`: it describes the
//! deployment's outside connections (`scheme://host:port`, never a path, query or credentials).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::Instant;
use rusqlite::TransactionBehavior;

use crate::audit::system_time;
use crate::{Store, StoreError};

/// A circuit breaker's state, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::HalfOpen => "half_open",
            BreakerState::Open => "open",
        }
    }

    fn parse(s: &str) -> Option<BreakerState> {
        match s {
            "closed" => Some(BreakerState::Closed),
            "half_open" => Some(BreakerState::HalfOpen),
            "open" => Some(BreakerState::Open),
            _ => None,
        }
    }
}

/// One destination as one replica sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct DestinationReport {
    /// `scheme://host:port`.
    pub destination: String,
    pub state: BreakerState,
    /// Failures over calls in the breaker's window, 0 to 1; `None` with no calls in it.
    pub failure_rate: Option<f64>,
    pub window_calls: u32,
    pub window_failures: u32,
    /// Calls in flight when written.
    pub in_flight: u32,
    /// Since the replica started: attempts, transient failures, calls refused unattempted.
    pub attempts: u64,
    pub failures: u64,
    pub rejected: u64,
    /// Open: the time left until probes are let through, when written.
    pub retry_in: Option<Duration>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Instant>,
}

/// A stored row: the replica, its report, and when it wrote it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDestination {
    pub replica_id: String,
    pub report: DestinationReport,
    pub updated_at: Instant,
}

fn bad(message: String) -> StoreError {
    StoreError::Destination(message)
}

fn check(replica_id: &str, r: &DestinationReport) -> Result<(), StoreError> {
    if replica_id.is_empty() {
        return Err(bad("replica id must not be empty".into()));
    }
    if r.destination.is_empty() {
        return Err(bad("a destination must not be empty".into()));
    }
    if let Some(rate) = r.failure_rate
        && !(0.0..=1.0).contains(&rate)
    {
        return Err(bad(format!(
            "`{}`: failure rate `{rate}` is not between 0 and 1",
            r.destination
        )));
    }
    if r.window_failures > r.window_calls {
        return Err(bad(format!(
            "`{}`: {} failures in a window of {} calls",
            r.destination, r.window_failures, r.window_calls
        )));
    }
    Ok(())
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn millis(d: Option<Duration>) -> Option<i64> {
    d.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn count<T: TryFrom<i64>>(destination: &str, column: &str, v: i64) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| {
        StoreError::Corrupt(format!(
            "destination_status `{destination}`: {column} `{v}` is out of range"
        ))
    })
}

fn instant(destination: &str, micros: i64) -> Result<Instant, StoreError> {
    Instant::from_micros(micros)
        .map_err(|e| StoreError::Corrupt(format!("destination_status `{destination}`: {e}")))
}

fn pg_micros(destination: &str, t: SystemTime) -> Result<i64, StoreError> {
    let micros = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()),
        Err(e) => i64::try_from(e.duration().as_micros()).map(|m| -m),
    };
    micros.map_err(|_| {
        StoreError::Corrupt(format!(
            "destination_status `{destination}`: `{t:?}` is out of range"
        ))
    })
}

/// The columns as read, backend aside.
struct Row {
    replica_id: String,
    destination: String,
    state: String,
    failure_rate: Option<f64>,
    counts: [i64; 6],
    retry_in_ms: Option<i64>,
    last_error: Option<String>,
    last_error_at: Option<i64>,
    updated_at: i64,
}

impl Row {
    fn typed(self) -> Result<StoredDestination, StoreError> {
        let d = self.destination;
        let state = BreakerState::parse(&self.state).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "destination_status `{d}`: `{}` is not a breaker state",
                self.state
            ))
        })?;
        let [
            window_calls,
            window_failures,
            in_flight,
            attempts,
            failures,
            rejected,
        ] = self.counts;
        let report = DestinationReport {
            state,
            failure_rate: self.failure_rate,
            window_calls: count(&d, "window_calls", window_calls)?,
            window_failures: count(&d, "window_failures", window_failures)?,
            in_flight: count(&d, "in_flight", in_flight)?,
            attempts: count(&d, "attempts", attempts)?,
            failures: count(&d, "failures", failures)?,
            rejected: count(&d, "rejected", rejected)?,
            retry_in: match self.retry_in_ms {
                Some(ms) => Some(Duration::from_millis(count(&d, "retry_in_ms", ms)?)),
                None => None,
            },
            last_error: self.last_error,
            last_error_at: match self.last_error_at {
                Some(m) => Some(instant(&d, m)?),
                None => None,
            },
            destination: d.clone(),
        };
        Ok(StoredDestination {
            replica_id: self.replica_id,
            updated_at: instant(&d, self.updated_at)?,
            report,
        })
    }
}

const UPSERT_COLUMNS: &str = "replica_id, destination, state, failure_rate, window_calls, \
    window_failures, in_flight, attempts, failures, rejected, retry_in_ms, last_error, \
    last_error_at, updated_at";
const UPSERT_SET: &str = "state = excluded.state, failure_rate = excluded.failure_rate, \
    window_calls = excluded.window_calls, window_failures = excluded.window_failures, \
    in_flight = excluded.in_flight, attempts = excluded.attempts, failures = excluded.failures, \
    rejected = excluded.rejected, retry_in_ms = excluded.retry_in_ms, \
    last_error = excluded.last_error, last_error_at = excluded.last_error_at, \
    updated_at = excluded.updated_at";

impl Store {
    /// Writes replica `replica_id`'s view of its destinations at `now`, and deletes every row
    /// (of any replica) last written before `now - forget_after`. One transaction; nothing is
    /// written when a report is invalid.
    pub fn record_destinations(
        &mut self,
        replica_id: &str,
        now: Instant,
        reports: &[DestinationReport],
        forget_after: Duration,
    ) -> Result<(), StoreError> {
        for r in reports {
            check(replica_id, r)?;
        }
        if replica_id.is_empty() {
            return Err(bad("replica id must not be empty".into()));
        }
        let forget_before = i64::try_from(forget_after.as_micros())
            .ok()
            .and_then(|m| now.as_micros().checked_sub(m))
            .and_then(|m| Instant::from_micros(m).ok())
            .ok_or_else(|| bad(format!("forget_after `{forget_after:?}` is out of range")))?;
        match self {
            Store::Sqlite(s) => {
                let tx = s
                    .conn()
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                {
                    let mut upsert = tx.prepare(&format!(
                        "INSERT INTO destination_status ({UPSERT_COLUMNS}) VALUES \
                         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
                         ON CONFLICT (replica_id, destination) DO UPDATE SET {UPSERT_SET}"
                    ))?;
                    for r in reports {
                        upsert.execute(rusqlite::params![
                            replica_id,
                            r.destination,
                            r.state.as_str(),
                            r.failure_rate,
                            i64::from(r.window_calls),
                            i64::from(r.window_failures),
                            i64::from(r.in_flight),
                            big(r.attempts),
                            big(r.failures),
                            big(r.rejected),
                            millis(r.retry_in),
                            r.last_error,
                            r.last_error_at.map(|t| t.as_micros()),
                            now.as_micros(),
                        ])?;
                    }
                }
                tx.execute(
                    "DELETE FROM destination_status WHERE updated_at < ?1",
                    [forget_before.as_micros()],
                )?;
                tx.commit()?;
            }
            Store::Postgres(s) => {
                let mut tx = s.client().transaction()?;
                let upsert = tx.prepare(&format!(
                    "INSERT INTO destination_status ({UPSERT_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                     ON CONFLICT (replica_id, destination) DO UPDATE SET {UPSERT_SET}"
                ))?;
                let now_t = system_time(now)?;
                for r in reports {
                    let last_error_at = match r.last_error_at {
                        Some(t) => Some(system_time(t)?),
                        None => None,
                    };
                    tx.execute(
                        &upsert,
                        &[
                            &replica_id,
                            &r.destination,
                            &r.state.as_str(),
                            &r.failure_rate,
                            &i64::from(r.window_calls),
                            &i64::from(r.window_failures),
                            &i64::from(r.in_flight),
                            &big(r.attempts),
                            &big(r.failures),
                            &big(r.rejected),
                            &millis(r.retry_in),
                            &r.last_error,
                            &last_error_at,
                            &now_t,
                        ],
                    )?;
                }
                tx.execute(
                    "DELETE FROM destination_status WHERE updated_at < $1",
                    &[&system_time(forget_before)?],
                )?;
                tx.commit()?;
            }
        }
        Ok(())
    }

    /// Every replica's view of every destination, by destination then replica.
    pub fn destination_statuses(&mut self) -> Result<Vec<StoredDestination>, StoreError> {
        let select = format!(
            "SELECT {UPSERT_COLUMNS} FROM destination_status ORDER BY destination, replica_id"
        );
        let rows: Vec<Row> = match self {
            Store::Sqlite(s) => {
                let conn = s.conn();
                let mut stmt = conn.prepare(&select)?;
                stmt.query_map([], |r| {
                    Ok(Row {
                        replica_id: r.get(0)?,
                        destination: r.get(1)?,
                        state: r.get(2)?,
                        failure_rate: r.get(3)?,
                        counts: [
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                            r.get(9)?,
                        ],
                        retry_in_ms: r.get(10)?,
                        last_error: r.get(11)?,
                        last_error_at: r.get(12)?,
                        updated_at: r.get(13)?,
                    })
                })?
                .collect::<Result<_, _>>()?
            }
            Store::Postgres(s) => {
                let mut out = Vec::new();
                for r in s.client().query(&select, &[])? {
                    let destination: String = r.try_get(1)?;
                    let last_error_at: Option<SystemTime> = r.try_get(12)?;
                    let updated_at: SystemTime = r.try_get(13)?;
                    out.push(Row {
                        replica_id: r.try_get(0)?,
                        state: r.try_get(2)?,
                        failure_rate: r.try_get(3)?,
                        counts: [
                            r.try_get(4)?,
                            r.try_get(5)?,
                            r.try_get(6)?,
                            r.try_get(7)?,
                            r.try_get(8)?,
                            r.try_get(9)?,
                        ],
                        retry_in_ms: r.try_get(10)?,
                        last_error: r.try_get(11)?,
                        last_error_at: match last_error_at {
                            Some(t) => Some(pg_micros(&destination, t)?),
                            None => None,
                        },
                        updated_at: pg_micros(&destination, updated_at)?,
                        destination,
                    });
                }
                out
            }
        };
        rows.into_iter().map(Row::typed).collect()
    }
}
