//! The replica's copy of the feature flags (docs/flags.md): compiled once, evaluated in-process
//! for every request that asks (`viewer { flags }`), and kept current by polling.
//!
//! How a change reaches every replica: a task asks the store for the flags' version (the
//! highest version of the history, one indexed read) every `flags.poll_ms` (500 ms by default)
//! and loads and compiles the definitions when it changed, so a change made through any replica
//! or the CLI is seen within one poll and one load. Polling was chosen over PostgreSQL's
//! LISTEN/NOTIFY: it works the same on SQLite, needs no connection held outside the pool, and
//! cannot miss a notification sent while the listener was reconnecting. When the store is
//! unreachable the poll fails and the replica keeps evaluating its last copy (logged once per
//! failure streak); it loads the new version once the store answers again. A change made
//! through this replica is loaded at once ([`FlagsCache::refresh`]).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use app::flags::{Deployment, LoadedFlags};

use crate::db::Db;

/// The flags in force on this replica.
pub struct FlagsCache {
    current: RwLock<Arc<LoadedFlags>>,
    deployment: Deployment,
}

impl FlagsCache {
    /// An empty copy (version 0, no flags) for a replica of `deployment`.
    pub fn new(deployment: Deployment) -> FlagsCache {
        FlagsCache {
            current: RwLock::new(Arc::new(LoadedFlags {
                version: 0,
                flags: ::flags::Flags::default(),
            })),
            deployment,
        }
    }

    /// The copy in force (a poisoned lock still holds a whole copy: writers only swap it).
    pub fn get(&self) -> Arc<LoadedFlags> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// What this replica adds to every context.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    fn set(&self, loaded: LoadedFlags) {
        let loaded = Arc::new(loaded);
        match self.current.write() {
            Ok(mut g) => *g = loaded,
            Err(p) => *p.into_inner() = loaded,
        }
    }

    /// Asks the store for the flags' version and loads them when it differs from the copy's.
    /// Returns whether the copy is current; on an error the copy stays as it was.
    pub async fn refresh(&self, db: &Db, services: &Arc<app::Services>) -> Result<(), String> {
        let known = self.get().version;
        let services = services.clone();
        let loaded = db
            .run(move |store| -> Result<Option<LoadedFlags>, app::AppError> {
                if store.flags_version()? == known {
                    return Ok(None);
                }
                services.load_flags(store).map(Some)
            })
            .await;
        match loaded {
            Ok(Ok(Some(l))) => {
                tracing::info!(
                    version = l.version,
                    flags = l.flags.names().len(),
                    "flags loaded"
                );
                for w in l.flags.warnings() {
                    tracing::warn!(warning = %w, "a flag's strategy evaluates as false");
                }
                self.set(l);
                Ok(())
            }
            Ok(Ok(None)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The task that keeps a [`FlagsCache`] current.
pub struct FlagsPoller {
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl FlagsPoller {
    /// Loads the flags once now (a replica that cannot reach the store starts with none and
    /// keeps trying), then polls every `every`.
    pub async fn start(
        db: Db,
        services: Arc<app::Services>,
        cache: Arc<FlagsCache>,
        every: Duration,
    ) -> FlagsPoller {
        let every = every.max(Duration::from_millis(10));
        let mut failing = false;
        if let Err(e) = cache.refresh(&db, &services).await {
            tracing::warn!(error = %e, "cannot load the flags; evaluating none until the store answers");
            failing = true;
        }
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks.tick().await;
                loop {
                    tokio::select! {
                        _ = stop.notified() => break,
                        _ = ticks.tick() => {
                            match cache.refresh(&db, &services).await {
                                Ok(()) if failing => {
                                    tracing::info!("the flags' store answers again");
                                    failing = false;
                                }
                                Ok(()) => {}
                                Err(e) if !failing => {
                                    tracing::warn!(
                                        error = %e,
                                        version = cache.get().version,
                                        "cannot poll the flags; keeping the last copy"
                                    );
                                    failing = true;
                                }
                                Err(_) => {}
                            }
                        }
                    }
                }
            }
        });
        FlagsPoller { stop, task }
    }

    /// Stops polling.
    pub async fn stop(self) {
        self.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "flags poller task failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_cache_holds_no_flags() {
        let c = FlagsCache::new(Deployment::default());
        assert_eq!(c.get().version, 0);
        assert!(c.get().flags.names().is_empty());
    }
}
