//! Rollouts on a replica (docs/flags.md, "Rollouts"): every API request is labelled with the
//! cohort it fell in for each flag under a running or paused rollout plan (`on`: the flag was
//! on for the request's context, `off`: the control), and the replica counts per (flag, cohort)
//! the requests, those that failed through our fault (a server error or a timeout, as
//! `slo.yaml`'s availability SLO counts them), the requests the plan's latency SLI counts (its
//! selector on `operation`) and those slower than its threshold. The counts are also
//! Prometheus counters with labels `flag` and `cohort` (`hireplane_rollout_*_total`; only flags
//! under a plan get a label, so the series stay few).
//!
//! One task per replica ([`RolloutTask`]) ticks every `flags.rollout_tick_ms`: it loads the
//! plans to measure, upserts this replica's running totals of the current revision of each
//! into the store (`rollout_figures`), and, when it holds the store's lease `rollouts` (taken
//! for three ticks, renewed every tick; a replica that stops gives it up), drives every running
//! plan once ([`app::Services::drive_rollouts`]): the decision is made on the sums over every
//! replica. A step the driver writes changes the flag's definition, which every replica's flag
//! poll picks up; the driver's own replica reloads at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use app::rollouts::MeasuredRollout;
use flags::rollout::Cohort;

use crate::db::Db;
use crate::flags::FlagsCache;

/// Fails requests on purpose, for tests of the guard: asked once per request with the flags
/// under a plan that were on for it.
pub trait Faults: Send + Sync {
    /// Whether this request fails (answered as an internal error, counted as a server error).
    fn fail(&self, flags_on: &[&str]) -> bool;
}

/// The cohorts one request fell in.
#[derive(Clone, Default)]
pub struct Labels {
    plans: Arc<Vec<Measured>>,
    on: Vec<bool>,
}

impl Labels {
    /// The flags under a plan that were on for the request.
    pub fn flags_on(&self) -> Vec<&str> {
        self.plans
            .iter()
            .zip(&self.on)
            .filter(|(_, on)| **on)
            .map(|(m, _)| m.plan.flag.as_str())
            .collect()
    }
}

/// One cohort's running totals and its Prometheus counters (handles taken once per plan
/// revision, so counting a request is a few atomic additions: no lock, no label lookup).
struct CohortCells {
    requests: AtomicU64,
    errors: AtomicU64,
    latency_requests: AtomicU64,
    slow: AtomicU64,
    /// requests, errors, latency requests, slow requests.
    counters: [metrics::Counter; 4],
}

impl CohortCells {
    fn new(flag: &str, on: bool) -> CohortCells {
        let labels = [
            ("flag", flag.to_owned()),
            ("cohort", cohort_name(on).to_owned()),
        ];
        CohortCells {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            latency_requests: AtomicU64::new(0),
            slow: AtomicU64::new(0),
            counters: [
                metrics::counter!("hireplane_rollout_requests_total", &labels),
                metrics::counter!("hireplane_rollout_errors_total", &labels),
                metrics::counter!("hireplane_rollout_latency_requests_total", &labels),
                metrics::counter!("hireplane_rollout_slow_requests_total", &labels),
            ],
        }
    }

    fn totals(&self) -> Cohort {
        Cohort {
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            latency_requests: self.latency_requests.load(Ordering::Relaxed),
            slow: self.slow.load(Ordering::Relaxed),
        }
    }
}

/// A plan measured on this replica, with its cohorts' cells (`[off, on]`).
struct Measured {
    plan: MeasuredRollout,
    cells: Arc<[CohortCells; 2]>,
}

/// The replica's cohort counters and the plans it measures.
pub struct Cohorts {
    replica: String,
    plans: RwLock<Arc<Vec<Measured>>>,
}

fn cohort_name(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

impl Cohorts {
    /// Counters of replica `replica` (its id in `rollout_figures`).
    pub fn new(replica: String) -> Cohorts {
        Cohorts {
            replica,
            plans: RwLock::new(Arc::new(Vec::new())),
        }
    }

    /// This replica's id.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    fn plans(&self) -> Arc<Vec<Measured>> {
        match self.plans.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the plans measured: a plan at the revision measured already keeps its running
    /// totals; counts of revisions no longer measured are dropped.
    pub fn set_plans(&self, plans: Vec<MeasuredRollout>) {
        let old = self.plans();
        let measured: Vec<Measured> = plans
            .into_iter()
            .map(|plan| {
                let cells = old
                    .iter()
                    .find(|m| m.plan.flag == plan.flag && m.plan.revision == plan.revision)
                    .map(|m| m.cells.clone())
                    .unwrap_or_else(|| {
                        Arc::new([
                            CohortCells::new(&plan.flag, false),
                            CohortCells::new(&plan.flag, true),
                        ])
                    });
                Measured { plan, cells }
            })
            .collect();
        match self.plans.write() {
            Ok(mut g) => *g = Arc::new(measured),
            Err(p) => *p.into_inner() = Arc::new(measured),
        }
    }

    /// Whether no plan is measured (a request then needs no context and no label).
    pub fn is_idle(&self) -> bool {
        self.plans().is_empty()
    }

    /// Labels a request: the cohort of each flag under a plan, evaluated for its context.
    pub fn label(&self, flags: &flags::Flags, context: &flags::Context) -> Labels {
        let plans = self.plans();
        let on = plans
            .iter()
            .map(|m| flags.evaluate(&m.plan.flag, context))
            .collect();
        Labels { plans, on }
    }

    /// Counts a finished request of `operation` with `outcome` that took `elapsed`.
    pub fn record(&self, labels: &Labels, operation: &str, outcome: &str, elapsed: Duration) {
        let failed = matches!(outcome, "server_error" | "timeout");
        for (m, &on) in labels.plans.iter().zip(&labels.on) {
            let (counted, slow) = match &m.plan.guard.latency {
                Some(l) if l.counts(operation) => {
                    (true, elapsed > Duration::from_millis(l.threshold_ms))
                }
                _ => (false, false),
            };
            let c = &m.cells[usize::from(on)];
            c.requests.fetch_add(1, Ordering::Relaxed);
            c.counters[0].increment(1);
            if failed {
                c.errors.fetch_add(1, Ordering::Relaxed);
                c.counters[1].increment(1);
            }
            if counted {
                c.latency_requests.fetch_add(1, Ordering::Relaxed);
                c.counters[2].increment(1);
            }
            if slow {
                c.slow.fetch_add(1, Ordering::Relaxed);
                c.counters[3].increment(1);
            }
        }
    }

    /// This replica's running totals, per (flag, revision, on).
    pub fn snapshot(&self) -> Vec<((String, i64, bool), Cohort)> {
        self.plans()
            .iter()
            .flat_map(|m| {
                [false, true].map(|on| {
                    (
                        (m.plan.flag.clone(), m.plan.revision, on),
                        m.cells[usize::from(on)].totals(),
                    )
                })
            })
            .collect()
    }
}

/// The task that reports this replica's counts and, holding the lease, drives the plans.
pub struct RolloutTask {
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

/// One tick: load the plans, report the counts, drive when holding the lease. Returns whether
/// a plan changed.
async fn tick(
    db: &Db,
    services: &Arc<app::Services>,
    cohorts: &Arc<Cohorts>,
    lease_for: Duration,
) -> Result<bool, String> {
    let loaded = {
        let services = services.clone();
        db.run(move |store| services.measured_rollouts(store))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    cohorts.set_plans(loaded);
    let counts = cohorts.snapshot();
    let replica = cohorts.replica().to_owned();
    let services = services.clone();
    let lease_for = jiff::SignedDuration::try_from(lease_for).unwrap_or_default();
    let driven = db
        .run(
            move |store| -> Result<Vec<app::rollouts::Driven>, app::AppError> {
                let at = now();
                if !counts.is_empty() {
                    let rows: Vec<store::CohortCounts<'_>> = counts
                        .iter()
                        .map(|((flag, revision, on), c)| store::CohortCounts {
                            flag,
                            revision: *revision,
                            cohort: cohort_name(*on),
                            requests: i64::try_from(c.requests).unwrap_or(i64::MAX),
                            errors: i64::try_from(c.errors).unwrap_or(i64::MAX),
                            latency_requests: i64::try_from(c.latency_requests).unwrap_or(i64::MAX),
                            slow: i64::try_from(c.slow).unwrap_or(i64::MAX),
                        })
                        .collect();
                    store.report_rollout_counts(&replica, &rows, at)?;
                }
                let until = domain::Instant::from_timestamp(
                    jiff::Timestamp::now()
                        .checked_add(lease_for)
                        .unwrap_or(jiff::Timestamp::MAX),
                );
                if !store.take_lease(app::rollouts::LEASE, &replica, at, until)? {
                    return Ok(Vec::new());
                }
                services.drive_rollouts(store, at)
            },
        )
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let mut changed = false;
    for d in &driven {
        match &d.decision {
            Ok(flags::rollout::Decision::Halt { reason }) => {
                tracing::warn!(flag = %d.flag, %reason, "rollout halted and rolled back");
                changed = true;
            }
            Ok(other) => {
                tracing::info!(flag = %d.flag, decision = ?other, "rollout moved");
                changed = true;
            }
            Err(e) => tracing::error!(flag = %d.flag, error = %e, "cannot drive a rollout plan"),
        }
    }
    Ok(changed)
}

impl RolloutTask {
    /// Starts ticking every `every`.
    pub fn start(
        db: Db,
        services: Arc<app::Services>,
        cohorts: Arc<Cohorts>,
        flags: Arc<FlagsCache>,
        every: Duration,
    ) -> RolloutTask {
        let every = every.max(Duration::from_millis(10));
        let lease_for = (every * 3).max(Duration::from_secs(1));
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut failing = false;
                loop {
                    tokio::select! {
                        _ = stop.notified() => break,
                        _ = ticks.tick() => {
                            match tick(&db, &services, &cohorts, lease_for).await {
                                Ok(changed) => {
                                    failing = false;
                                    if changed {
                                        if let Err(e) = flags.refresh(&db, &services).await {
                                            tracing::warn!(error = %e, "cannot reload the flags after a rollout step; the poll will");
                                        }
                                        let services = services.clone();
                                        if let Ok(Ok(plans)) = db.run(move |s| services.measured_rollouts(s)).await {
                                            cohorts.set_plans(plans);
                                        }
                                    }
                                }
                                Err(e) if !failing => {
                                    tracing::warn!(error = %e, "rollouts: cannot report or drive; trying again");
                                    failing = true;
                                }
                                Err(_) => {}
                            }
                        }
                    }
                }
                let replica = cohorts.replica().to_owned();
                let _ = db
                    .run(move |store| store.release_lease(app::rollouts::LEASE, &replica))
                    .await;
            }
        });
        RolloutTask { stop, task }
    }

    /// Stops ticking and gives the lease up.
    pub async fn stop(self) {
        self.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "rollout task failed");
        }
    }
}
