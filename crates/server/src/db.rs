//! The store behind the server: a fixed set of worker threads, each owning one
//! [`store::Store`] connection, fed from one queue. Async handlers hand a closure to
//! [`Db::run`] and await its result, so a slow query never stalls the event loop.
//!
//! Why not tokio's blocking pool with a connection pool (r2d2, deadpool): the store's PostgreSQL
//! client is the blocking `postgres` crate, which drives its own runtime and refuses to run on a
//! thread of another one (tokio's blocking threads count as such). Plain threads own their
//! connection for their whole life, which is also what a pool would give; a worker reconnects
//! when the database closed its connection, so the server recovers when the database comes back.
//!
//! An idle connection is not told that the database closed it (a restart, an administrator's
//! `pg_terminate_backend`): the first request on it would fail. So when any worker finds its
//! connection lost or cannot connect, it counts a new *generation*; every other worker then
//! checks its connection with a round trip ([`store::Store::is_valid`]) before its next request
//! and opens a new one if it is gone. One request can still fail (the one that found the loss),
//! not one per idle connection.
//!
//! A job that panics (a bug in any engine it calls) does not take its worker with it: the panic
//! is caught around the job, its caller gets [`DbError::Panicked`] (answered `INTERNAL` with the
//! request id), the connection it was using is dropped (it may be inside a transaction; the next
//! job opens a fresh one), and `hireplane_worker_panics_total` counts it. The thread goes on
//! serving. [`Db::live_workers`] counts the threads still running; `/healthz` fails when none is.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use store::{Store, StoreError};

/// Why a request could not get to the store.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database is not available: {0}")]
    Unavailable(String),
    #[error("no database connection was free within {0:?}")]
    Busy(Duration),
    #[error("the database worker stopped")]
    Stopped,
    #[error("the request's work on the database panicked: {0}")]
    Panicked(String),
}

/// Whether a job ran to its end or panicked (then its connection is not trusted again).
#[derive(PartialEq, Eq)]
enum Ran {
    Done,
    Panicked,
}

type Job = Box<dyn FnOnce(Result<&mut Store, DbError>) -> Ran + Send>;

struct Shared {
    busy: AtomicU32,
    /// Worker threads running.
    live: AtomicU32,
    connected: AtomicU32,
    size: u32,
    /// Counts the losses of a connection seen by any worker (see the module's doc).
    generation: AtomicU64,
}

/// How long a worker waits for an idle connection it doubts to answer.
const VALIDATE_TIMEOUT: Duration = Duration::from_secs(2);

/// The workers, shared by every request.
#[derive(Clone)]
pub struct Db {
    tx: mpsc::Sender<(Instant, Job)>,
    shared: Arc<Shared>,
}

impl Db {
    /// Opens one connection now (so that a wrong URL or an old schema fails at start, with the
    /// migrations applied once) and starts `size` workers that connect on first use.
    pub fn open(
        url: &str,
        size: u32,
        acquire_timeout: Duration,
        statement_timeout: Duration,
    ) -> Result<Db, StoreError> {
        let mut first = Store::open(url)?;
        first.set_statement_timeout(statement_timeout)?;
        let (tx, rx) = mpsc::channel::<(Instant, Job)>();
        let rx = Arc::new(Mutex::new(rx));
        let size = size.max(1);
        let shared = Arc::new(Shared {
            busy: AtomicU32::new(0),
            live: AtomicU32::new(0),
            connected: AtomicU32::new(0),
            size,
            generation: AtomicU64::new(0),
        });
        let mut first = Some(first);
        for i in 0..size {
            let rx = rx.clone();
            let shared = shared.clone();
            let url = url.to_owned();
            let mut conn = first.take();
            if conn.is_some() {
                shared.connected.fetch_add(1, Ordering::Relaxed);
            }
            shared.live.fetch_add(1, Ordering::AcqRel);
            std::thread::Builder::new()
                .name(format!("hireplane-db-{i}"))
                .spawn(move || {
                    let _live = Live(&shared);
                    worker(
                        &rx,
                        &shared,
                        &url,
                        statement_timeout,
                        acquire_timeout,
                        &mut conn,
                    )
                })
                .map_err(|e| StoreError::Corrupt(format!("cannot start a database worker: {e}")))?;
        }
        Ok(Db { tx, shared })
    }

    /// Runs `f` with a connection on a worker thread.
    pub async fn run<T, E, F>(&self, f: F) -> Result<Result<T, E>, DbError>
    where
        F: FnOnce(&mut Store) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let (answer, ran) = match conn {
                Err(e) => (Err(e), Ran::Done),
                Ok(store) => match catch_unwind(AssertUnwindSafe(|| f(store))) {
                    Ok(r) => (Ok(r), Ran::Done),
                    Err(payload) => (Err(DbError::Panicked(describe(payload))), Ran::Panicked),
                },
            };
            let _ = done.send(answer);
            ran
        });
        self.tx
            .send((Instant::now(), job))
            .map_err(|_| DbError::Stopped)?;
        result.await.map_err(|_| DbError::Stopped)?
    }

    /// The worker threads still running (all of them, unless the process is going down).
    pub fn live_workers(&self) -> u32 {
        self.shared.live.load(Ordering::Acquire)
    }

    /// Connections (open, busy, workers), for the metrics.
    pub fn state(&self) -> (u32, u32, u32) {
        (
            self.shared.connected.load(Ordering::Relaxed),
            self.shared.busy.load(Ordering::Relaxed),
            self.shared.size,
        )
    }
}

/// Counts a worker thread as live while it exists, however it ends.
struct Live<'a>(&'a Shared);

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
        if std::thread::panicking() {
            tracing::error!("a database worker stopped");
        }
    }
}

/// A panic's message, for the log and the error; the payload is dropped here, where a payload
/// that panics in its own `drop` cannot unwind further.
fn describe(payload: Box<dyn std::any::Any + Send>) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    message
}

/// Counts a caught panic and drops the connection its job was using.
fn panicked(shared: &Shared, conn: &mut Option<Store>) {
    metrics::counter!("hireplane_worker_panics_total").increment(1);
    tracing::error!(
        "a job panicked on a database worker; the worker goes on with a new connection"
    );
    if let Some(store) = conn.take() {
        shared.connected.fetch_sub(1, Ordering::Relaxed);
        let _ = catch_unwind(AssertUnwindSafe(move || drop(store)));
    }
}

fn worker(
    rx: &Mutex<mpsc::Receiver<(Instant, Job)>>,
    shared: &Shared,
    url: &str,
    statement_timeout: Duration,
    acquire_timeout: Duration,
    conn: &mut Option<Store>,
) {
    // The generation this worker's connection was last known good in.
    let mut checked = shared.generation.load(Ordering::Acquire);
    loop {
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((queued, job)) = next else {
            return; // every sender is gone: the server stopped
        };
        let waited = queued.elapsed();
        metrics::histogram!("hireplane_db_acquire_seconds").record(waited);
        if waited > acquire_timeout {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                job(Err(DbError::Busy(acquire_timeout)))
            }));
            continue;
        }
        let generation = shared.generation.load(Ordering::Acquire);
        if generation != checked {
            if let Some(store) = conn.as_mut()
                && !store.is_valid(VALIDATE_TIMEOUT)
            {
                tracing::info!("database connection lost while idle; reconnecting");
                *conn = None;
                shared.connected.fetch_sub(1, Ordering::Relaxed);
            }
            checked = generation;
        }
        if conn.is_none() {
            match Store::open(url).and_then(|mut s| {
                s.set_statement_timeout(statement_timeout)?;
                Ok(s)
            }) {
                Ok(s) => {
                    *conn = Some(s);
                    shared.connected.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "database connection failed");
                    checked = shared.generation.fetch_add(1, Ordering::AcqRel) + 1;
                    let failed = DbError::Unavailable(e.to_string());
                    let _ = catch_unwind(AssertUnwindSafe(|| job(Err(failed))));
                    continue;
                }
            }
        }
        let Some(store) = conn.as_mut() else {
            continue;
        };
        shared.busy.fetch_add(1, Ordering::Relaxed);
        // `run`'s jobs catch their own panics; this catches anything else, so that no job ends
        // the thread.
        let ran = catch_unwind(AssertUnwindSafe(|| job(Ok(store)))).unwrap_or_else(|payload| {
            describe(payload);
            Ran::Panicked
        });
        shared.busy.fetch_sub(1, Ordering::Relaxed);
        if ran == Ran::Panicked {
            panicked(shared, conn);
            continue;
        }
        if store.is_broken() {
            *conn = None;
            shared.connected.fetch_sub(1, Ordering::Relaxed);
            checked = shared.generation.fetch_add(1, Ordering::AcqRel) + 1;
        }
    }
}
