//! The store behind the server: a pool of [`store::Store`] connections (r2d2: the store's
//! clients are blocking), used from async handlers through [`Db::run`], which moves the work to
//! tokio's blocking threads so that a slow query never stalls the event loop.

use std::sync::Arc;
use std::time::Duration;

use store::{Store, StoreError};

/// Opens store connections for the pool; PostgreSQL connections get the statement timeout.
#[derive(Debug)]
pub struct StoreManager {
    url: String,
    statement_timeout: Duration,
}

impl r2d2::ManageConnection for StoreManager {
    type Connection = Store;
    type Error = StoreError;

    fn connect(&self) -> Result<Store, StoreError> {
        let mut store = Store::open(&self.url)?;
        store.set_statement_timeout(self.statement_timeout)?;
        Ok(store)
    }

    fn is_valid(&self, store: &mut Store) -> Result<(), StoreError> {
        store.ping()
    }

    fn has_broken(&self, _: &mut Store) -> bool {
        false
    }
}

/// Why a request could not get to the store.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database is not available: {0}")]
    Unavailable(String),
    #[error("the request was cancelled")]
    Cancelled,
}

/// The pool, shared by every request.
#[derive(Clone)]
pub struct Db {
    pool: Arc<r2d2::Pool<StoreManager>>,
}

impl Db {
    /// Opens the first connection now (so that a wrong URL or an old schema fails at start) and
    /// the rest on demand.
    pub fn open(
        url: &str,
        size: u32,
        acquire_timeout: Duration,
        statement_timeout: Duration,
    ) -> Result<Db, StoreError> {
        // Migrate once, up front, with a clear error (the pool would only say "timed out").
        let mut first = Store::open(url)?;
        first.set_statement_timeout(statement_timeout)?;
        drop(first);
        let manager = StoreManager {
            url: url.to_owned(),
            statement_timeout,
        };
        let pool = r2d2::Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(1))
            .connection_timeout(acquire_timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(LogErrors))
            .build_unchecked(manager);
        Ok(Db {
            pool: Arc::new(pool),
        })
    }

    /// Runs `f` with a connection on a blocking thread.
    pub async fn run<T, E, F>(&self, f: F) -> Result<Result<T, E>, DbError>
    where
        F: FnOnce(&mut Store) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let pool = self.pool.clone();
        let task = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let mut conn = pool
                .get()
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
            metrics::histogram!("hireplane_db_acquire_seconds").record(started.elapsed());
            Ok(f(&mut conn))
        });
        task.await.map_err(|_| DbError::Cancelled)?
    }

    /// Connections open and idle, for the metrics.
    pub fn state(&self) -> (u32, u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections, self.pool.max_size())
    }
}

#[derive(Debug)]
struct LogErrors;

impl r2d2::HandleError<StoreError> for LogErrors {
    fn handle_error(&self, error: StoreError) {
        tracing::warn!(error = %error, "database connection failed");
    }
}
