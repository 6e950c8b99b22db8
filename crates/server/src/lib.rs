//! hireplane's HTTP server: the GraphQL API over `app`, with API tokens, per-token rate limits,
//! idempotent mutations, request and statement timeouts, Prometheus metrics, JSON logs and
//! health checks. Stateless: any number of replicas can serve one PostgreSQL database (tokens,
//! idempotency keys and policies live in the database; a replica caches only for a bounded time).
//!
//! - [`settings`]: typed, layered settings.
//! - [`db`]: the pool of store connections, used from async code.
//! - [`auth`]: tokens, and the gate that applies the rate limit.
//! - [`rate`]: the per-token rate limit, split between the live replicas through a heartbeat in
//!   the database (`limits.rate_scope = "cluster"`) or per replica.
//! - [`documents`]: the cache of parsed query documents.
//! - [`flags`]: the replica's copy of the feature flags, kept current by polling the store.
//! - [`relay`]: the outbox relay, which publishes the domain events to NATS JetStream when
//!   `events.nats.url` is set.
//! - [`worker`]: the durable jobs' worker pool (`workflow.workers` threads), started with the
//!   handlers passed in ([`start_with_jobs`]).
//! - [`openfeature`]: an OpenFeature provider over the replica's flags
//!   ([`Running::feature_client`]).
//! - [`rollouts`]: requests labelled with their rollout cohorts, counted per (flag, cohort),
//!   reported to the store; the replica holding the lease drives the rollout plans.
//! - [`nesting`]: how deeply a request nests, bounded before it is parsed.
//! - [`cost`]: the rows a query asks for and its mutations, counted before it runs.
//! - [`graphql`]: the schema, built from the report catalog; reads are reports as the caller.
//! - [`http`]: routes, the GraphQL endpoint, health and metrics.
//! - [`subscriptions`]: GraphQL subscriptions over WebSocket (`graphql-transport-ws`), bounded.
//! - [`logs`]: JSON log lines that carry their request's fields (one line per request).
//! - [`pages`]: what a browser gets: GraphiQL and its files, served from the binary.
//! - [`console`]: the web console (server-rendered pages over the same GraphQL schema, run in
//!   process as the signed-in user), its sessions and sign-in.
//!
//! Invariant: every read of the API's data model is a report compiled with the caller's guard
//! (the same row filters and masks as `hireplane report --as`); no resolver queries the store
//! around it. (The installation's feature flags are no org data: `viewer { flags }` evaluates
//! the replica's copy; `flags` and `flagHistory` go through `app`'s admin-only functions.)

pub mod auth;
pub mod automation;
pub mod console;
pub mod cost;
pub mod db;
pub mod documents;
pub mod flags;
pub mod graphql;
pub mod http;
pub mod logs;
pub mod nesting;
pub mod nul;
pub mod openfeature;
pub mod pages;
pub mod rate;
pub mod relay;
pub mod rollouts;
pub mod settings;
pub mod subscriptions;
pub mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use logs::{init_logging, init_logging_with};
pub use settings::Settings;

/// The latency buckets of every `_seconds` histogram (the SLO thresholds are among them).
pub const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The buckets of `hireplane_relay_commit_to_ack_seconds`.
const RELAY_BUCKETS: &[f64] = &[
    0.001, 0.002, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// The process's metrics recorder (one per process, however many servers a test starts, also
/// when they start at the same time: the lock makes the first one install it).
fn metrics_handle() -> Result<PrometheusHandle> {
    static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);
    let mut installed = HANDLE
        .lock()
        .map_err(|_| anyhow::anyhow!("installing the metrics recorder panicked before"))?;
    if let Some(h) = installed.as_ref() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), BUCKETS)
        .context("metric buckets")?
        // Finer, for the relay's latency target (p99 under 50 ms; Full matchers come first).
        .set_buckets_for_metric(
            Matcher::Full("hireplane_relay_commit_to_ack_seconds".to_owned()),
            RELAY_BUCKETS,
        )
        .context("metric buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    *installed = Some(handle.clone());
    Ok(handle)
}

/// A server that is listening.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    rate: Arc<rate::RateLimit>,
    replica_id: Option<String>,
    flags: Arc<crate::flags::FlagsCache>,
    /// The name of this server's OpenFeature provider.
    features: String,
}

impl Running {
    /// The number of live replicas the per-token rate limit is divided by (1 with
    /// `limits.rate_scope = "replica"`, or before another replica is seen).
    pub fn rate_replicas(&self) -> u32 {
        self.rate.replicas()
    }

    /// This replica's id in the database's `replicas` table (scope `cluster` with a rate limit).
    pub fn replica_id(&self) -> Option<&str> {
        self.replica_id.as_deref()
    }

    /// An OpenFeature client that evaluates this replica's flags ([`openfeature`]):
    /// `client.get_bool_value("flag", Some(&openfeature::user_context(org, user, role)), None)`.
    pub async fn feature_client(&self) -> open_feature::Client {
        openfeature::client(&self.features).await
    }

    /// The replica's copy of the feature flags (kept current by polling the store).
    pub fn flags(&self) -> Arc<app::flags::LoadedFlags> {
        self.flags.get()
    }

    /// Stops accepting, lets in-flight requests finish, and returns.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.context("server task")?.context("serving")
    }

    /// Waits until the server stops (on `stop` from elsewhere, or on ctrl-c / SIGTERM when
    /// started with [`start_with_signals`]).
    pub async fn wait(self) -> Result<()> {
        self.task.await.context("server task")?.context("serving")
    }
}

/// Opens the store, builds the schema and starts listening on `settings.listen`. Runs no
/// job workers (see [`start_with_jobs`]).
pub async fn start(settings: Settings) -> Result<Running> {
    start_inner(settings, false, None, None).await
}

/// [`start`], stopping gracefully on ctrl-c or SIGTERM.
pub async fn start_with_signals(settings: Settings) -> Result<Running> {
    start_inner(settings, true, None, None).await
}

/// [`start`] with a pool of `workflow.workers` job workers ([`worker`]) running `handlers`,
/// stopped gracefully after the HTTP server has drained; with `signals`, stopping on ctrl-c
/// or SIGTERM.
pub async fn start_with_jobs(
    settings: Settings,
    handlers: app::jobs::JobHandlers,
    signals: bool,
) -> Result<Running> {
    start_inner(settings, signals, None, Some(handlers)).await
}

/// [`start`] with requests failed on purpose by `faults` (tests of the rollouts' guard).
pub async fn start_with_faults(
    settings: Settings,
    faults: Arc<dyn rollouts::Faults>,
) -> Result<Running> {
    start_inner(settings, false, Some(faults), None).await
}

async fn start_inner(
    settings: Settings,
    signals: bool,
    faults: Option<Arc<dyn rollouts::Faults>>,
    jobs: Option<app::jobs::JobHandlers>,
) -> Result<Running> {
    let metrics = metrics_handle()?;
    settings.console.public_url().map_err(anyhow::Error::msg)?;
    if settings.metrics_token.is_empty() && !settings.listen.ip().is_loopback() {
        // Told once at start: the orgs' users may reach this address, and the metrics name the
        // hosts of the orgs' webhooks and calendars.
        tracing::warn!(
            listen = %settings.listen,
            "`/metrics` is open on an address beyond this machine: set `metrics_token`, or \
             listen on a private address"
        );
    }
    let catalog_ttl = Duration::from_millis(settings.catalog_cache_ms);
    let limits = &settings.limits;
    let url = settings.database.clone();
    let (size, acquire, connections) = (
        settings.pool.size,
        Duration::from_millis(settings.pool.acquire_timeout_ms),
        db::ConnectionLimits {
            statement_timeout: Duration::from_millis(limits.statement_timeout_ms),
            // Never under a page of a list and its look-ahead row: lists run as reports too.
            row_limit: (limits.max_report_rows > 0).then(|| {
                limits
                    .max_report_rows
                    .max(limits.max_page_size.saturating_add(1))
            }),
            response_bytes: (limits.max_response_bytes > 0).then_some(limits.max_response_bytes),
        },
    );
    // On a plain thread: the PostgreSQL client may not run on one of tokio's (see `db`).
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(db::Db::open_with(&url, size, acquire, connections));
    });
    let db = rx.await.context("opening the store")?.with_context(|| {
        format!(
            "cannot open the store `{}`",
            store::redact(&settings.database)
        )
    })?;
    db.set_shares(limits.max_workers_per_org, limits.max_workers_per_user);
    db.set_fair_share_slots(limits.fair_share_slots);
    let schema = graphql::schema(limits).context("building the GraphQL schema")?;
    let rate = Arc::new(rate::RateLimit::new(
        limits.rate_per_second,
        limits.rate_burst,
    ));
    let gate = auth::Gate::new(
        Duration::from_millis(settings.auth.cache_ms),
        rate.clone(),
        limits.auth_failures_per_minute,
        limits.auth_failure_burst,
    );
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr().context("local address")?;
    // Registered once listening: a replica that cannot listen never takes a share.
    let heartbeat =
        if limits.rate_scope == settings::RateScope::Cluster && limits.rate_per_second > 0 {
            Some(
                rate::Heartbeat::start(
                    db.clone(),
                    rate.clone(),
                    Duration::from_millis(limits.replica_heartbeat_ms),
                )
                .await,
            )
        } else {
            None
        };
    let replica_id = heartbeat.as_ref().map(|h| h.replica_id().to_owned());
    // Forgets idle tokens' states, in either scope, while there is a limit.
    let pruner =
        (limits.rate_per_second > 0).then(|| rate::Pruner::start(rate.clone(), rate::PRUNE_EVERY));
    let services = Arc::new(app::Services::with_catalog_ttl(catalog_ttl));
    let flags_cache = Arc::new(crate::flags::FlagsCache::new(app::flags::Deployment {
        replica_version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: Some(settings.flags.environment.clone()).filter(|e| !e.is_empty()),
        operator_org: Some(settings.flags.operator_org.clone()).filter(|o| !o.is_empty()),
        canary: settings.flags.canary,
    }));
    // The replica reports its version, and whether it is a canary.
    metrics::gauge!(
        "hireplane_replica_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "canary" => if settings.flags.canary { "true" } else { "false" }
    )
    .set(1.0);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        canary = settings.flags.canary,
        "replica version"
    );
    let poller = crate::flags::FlagsPoller::start(
        db.clone(),
        services.clone(),
        flags_cache.clone(),
        Duration::from_millis(settings.flags.poll_ms),
    )
    .await;
    let features = format!("hireplane-{}", rate::replica_id());
    openfeature::install(&features, flags_cache.clone()).await;
    let cohorts = Arc::new(rollouts::Cohorts::new(rate::replica_id()));
    let rollout_task = rollouts::RolloutTask::start(
        db.clone(),
        services.clone(),
        cohorts.clone(),
        flags_cache.clone(),
        Duration::from_millis(settings.flags.rollout_tick_ms),
    );
    relay::check_settings(&settings.events)?;
    let relay = match relay::RelayConfig::from_settings(
        &settings.database,
        &settings.events,
        &rate::replica_id(),
    ) {
        Some(config) => Some(Arc::new(relay::Relay::start(config)?)),
        None => None,
    };
    let (workers, automation) = match (
        jobs,
        worker::WorkerConfig::from_settings(&settings.database, &settings.workflow),
    ) {
        (Some(mut handlers), Some(config)) => {
            let automation = Arc::new(automation::Automation::start(
                &settings.database,
                &settings.workflow,
                services.clone(),
                &mut handlers,
                &rate::replica_id(),
            )?);
            let pool = worker::WorkerPool::start(config, handlers, services.clone())?;
            (Some(pool), Some(automation))
        }
        _ => (None, None),
    };
    // Told to the open WebSockets and the subscriptions' poller when the server stops.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let heads = Arc::new(subscriptions::Heads::default());
    let heads_task = heads.start(
        db.clone(),
        Duration::from_millis(settings.subscriptions.poll_ms),
        stop_rx.clone(),
    );
    let settings_console = settings.console.clone();
    let device_key = crate::console::signin::installation_device_key(&db).await;
    let shared = Arc::new(http::Shared {
        relay: relay.clone(),
        automation: automation.clone(),
        stop: stop_rx,
        heads,
        sockets: Arc::new(subscriptions::Sockets::default()),
        flags: flags_cache.clone(),
        cohorts,
        faults,
        limits: Arc::new(settings.limits.clone()),
        settings,
        schema,
        services,
        db,
        gate,
        metrics,
        documents: crate::documents::Documents::default(),
        console: crate::console::signin::Attempts::new(&settings_console, device_key),
    });
    let trusted = Arc::new(
        shared
            .settings
            .console
            .trusted_proxies()
            .map_err(anyhow::Error::msg)?,
    );
    let header_read_timeout = Duration::from_millis(shared.settings.limits.header_read_timeout_ms);
    let per_address = shared.settings.limits.max_connections_per_ip;
    let router = http::router(shared);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let leaving = heartbeat.as_ref().map(rate::Heartbeat::stopper);
    let task = tokio::spawn(async move {
        let served = serve(
            listener,
            router,
            header_read_timeout,
            per_address,
            trusted,
            stop_tx,
            async move {
                if signals {
                    tokio::select! {
                        _ = rx => {}
                        _ = shutdown_signal() => {}
                    }
                } else {
                    let _ = rx.await;
                }
                tracing::info!("shutting down: draining in-flight requests");
                // Leave the cluster now, so that the other replicas take this one's share of the
                // rate limit at their next heartbeat, while this one drains.
                if let Some(stop) = &leaving {
                    stop.notify_one();
                }
            },
        )
        .await;
        if let Some(h) = heartbeat {
            h.stop().await;
        }
        if let Some(p) = pruner {
            p.stop().await;
        }
        poller.stop().await;
        rollout_task.stop().await;
        if let Some(relay) = relay {
            let _ = tokio::task::spawn_blocking(move || relay.stop()).await;
        }
        if let Some(automation) = automation {
            let _ = tokio::task::spawn_blocking(move || automation.stop()).await;
        }
        if let Some(pool) = workers {
            let _ = tokio::task::spawn_blocking(move || pool.stop()).await;
        }
        let _ = heads_task.await;
        served
    });
    tracing::info!(%addr, "listening");
    Ok(Running {
        addr,
        shutdown: Some(tx),
        task,
        rate,
        replica_id,
        flags: flags_cache,
        features,
    })
}

/// Serves HTTP/1.1 on `listener` until `stop` resolves, then stops accepting, tells `stopping`
/// (open WebSockets close), lets every connection finish the request it is answering (idle ones
/// are closed) and waits for every receiver of `stopping` to go. A client address with
/// `per_address` connections open already (0: no limit) gets a 429 and its new connection
/// closed; each request's client address is [`client_address`] (behind `trusted` proxies, the
/// one they forwarded). axum's `serve` is this
/// loop without a header read timeout: hyper needs a timer for one, and axum gives it none, so a
/// client that never finishes its headers would hold its connection forever.
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    per_address: usize,
    trusted: Arc<Vec<settings::Network>>,
    stopping: tokio::sync::watch::Sender<bool>,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let open = Arc::new(Mutex::new(HashMap::<std::net::IpAddr, usize>::new()));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // A connection that went away before it was accepted is nothing; anything
                    // else (out of file descriptors) gets a pause before the next try.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                    ) {
                        tracing::error!(error = %e, "accepting a connection");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // A trusted proxy carries many clients' connections: only its clients' own addresses
        // are limited, per request ([`client_address`]), not the proxy's.
        let limit = if trusted.iter().any(|n| n.contains(peer.ip())) {
            0
        } else {
            per_address
        };
        let Some(counted) = Connection::open(&open, client_network(peer.ip()), limit).map(Arc::new)
        else {
            metrics::counter!("hireplane_connections_refused_total").increment(1);
            refuse_connection(stream, peer.ip(), per_address);
            continue;
        };
        // Answers go out as soon as they are written, not held back for the peer's ACK of the
        // previous segment (Nagle's algorithm) on a real network.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        // Every request knows its client's address (per-address limits) and holds its
        // connection's count (an upgraded WebSocket keeps it).
        let slot = http::ConnectionSlot(counted.clone());
        let trusted = trusted.clone();
        let service =
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                router.clone(),
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    let client = client_address(peer.ip(), req.headers(), &trusted);
                    req.extensions_mut().insert(http::ClientAddr(client));
                    req.extensions_mut().insert(slot.clone());
                    req
                },
            ));
        let conn = http
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
            .with_upgrades();
        let mut stopped = stopping.subscribe();
        tokio::spawn(async move {
            let _counted = counted;
            tokio::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                () = subscriptions::stopped(&mut stopped) => {
                    // Finish the request being answered, then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    drop(router);
    let _ = stopping.send(true);
    // Every connection, WebSocket and the subscriptions' poller holds a receiver until it ends.
    stopping.closed().await;
    Ok(())
}

/// The address a request comes from, for every per-address limit ([`http::ClientAddr`]): its
/// TCP peer, or, when the peer is one of the `trusted` proxies (`console.trusted_proxies`), the
/// last address of `X-Forwarded-For` (every such header, in order) that is not one of them. Each
/// proxy appends the address that connected to it, so the addresses right of that one were
/// written by trusted proxies and the one itself is who connected to the outermost of them;
/// what a client put further left is not believed. An entry that is not an address (or
/// `address:port`) stops the walk at the trusted address right of it; when every entry is
/// trusted, the leftmost is the client.
pub fn client_address(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[settings::Network],
) -> std::net::IpAddr {
    let is_trusted = |ip: std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if trusted.is_empty() || !is_trusted(peer) {
        return peer;
    }
    // Read from the right, where the trusted proxies wrote, however long the header is: a
    // client's long prefix must not make the request count as the proxy's own (red team, pass
    // 4: over 4,096 characters, every guess counted against the address all clients share).
    // More hops than `MAX_HOPS` of trusted proxies is no real chain: the walk stops there.
    const MAX_HOPS: usize = 32;
    let entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|v| v.as_bytes().rsplit(|b| *b == b','))
        .take(MAX_HOPS);
    let mut client = peer;
    for entry in entries {
        let entry = std::str::from_utf8(entry).map(str::trim).unwrap_or("");
        let parsed = entry
            .parse::<std::net::IpAddr>()
            .ok()
            .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()));
        let Some(ip) = parsed else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// The key of a client address for every per-address limit (failed authentications, database
/// shares, connections, console sign-ins): an IPv4 address, or an IPv6 address's /64 (the
/// smallest network one subscriber gets; a client picks any address of it at will: red team,
/// pass 5, sent 39 wrong tokens from one /64 without a 429). An IPv4 address written as IPv6
/// (`::ffff:a.b.c.d`) is the IPv4 one.
pub fn client_network(ip: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::IpAddr;
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !(u128::MAX >> 64),
            )),
        },
        v4 => v4,
    }
}

/// One open connection of a client address, counted while it lives.
struct Connection {
    open: Arc<Mutex<HashMap<std::net::IpAddr, usize>>>,
    address: std::net::IpAddr,
}

impl Connection {
    /// Counts a new connection of `address`, unless it has `limit` open already (0: no limit).
    fn open(
        open: &Arc<Mutex<HashMap<std::net::IpAddr, usize>>>,
        address: std::net::IpAddr,
        limit: usize,
    ) -> Option<Connection> {
        let mut map = match open.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let n = map.entry(address).or_insert(0);
        if limit > 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(Connection {
            open: open.clone(),
            address,
        })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut map = match self.open.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(n) = map.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// Tells a client over its connection limit why (best effort, without reading its request),
/// and closes the connection.
fn refuse_connection(stream: tokio::net::TcpStream, address: std::net::IpAddr, limit: usize) {
    let body = serde_json::json!({"errors": [{
        "message": format!(
            "address `{address}` has {limit} connections open already, the most one address \
             may (`limits.max_connections_per_ip`); reuse them"
        ),
        "extensions": {"code": "RATE_LIMITED"},
    }]})
    .to_string();
    let answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nconnection: close\r\n\
         retry-after: 1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            // A few hundred bytes: one write on a fresh connection.
            if stream.writable().await.is_ok() {
                let _ = stream.try_write(answer.as_bytes());
            }
        })
        .await;
    });
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Runs the server until ctrl-c or SIGTERM, on a runtime of its own (for the CLI, which has
/// none); `ready` is told the address once it listens.
pub fn serve_blocking(settings: Settings, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hireplane-server")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let running = start_with_signals(settings).await?;
        ready(running.addr);
        running.wait().await
    })
}

/// [`serve_blocking`] with a pool of job workers running `handlers` ([`start_with_jobs`]).
pub fn serve_blocking_with_jobs(
    settings: Settings,
    handlers: app::jobs::JobHandlers,
    ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hireplane-server")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let running = start_with_jobs(settings, handlers, true).await?;
        ready(running.addr);
        running.wait().await
    })
}

/// Runs a pool of job workers without HTTP (`hireplane worker`) until ctrl-c or SIGTERM, then
/// stops it gracefully; `ready` is told the pool's holder id once it runs. `workflow.workers`
/// 0 is taken as 1.
pub fn work_blocking(
    settings: &Settings,
    handlers: app::jobs::JobHandlers,
    ready: impl FnOnce(&str),
) -> Result<worker::Stopped> {
    let mut workflow = settings.workflow.clone();
    workflow.workers = workflow.workers.max(1);
    let config =
        worker::WorkerConfig::from_settings(&settings.database, &workflow).context("no workers")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal runtime")?;
    let _ = metrics_handle()?;
    let services = Arc::new(app::Services::with_catalog_ttl(Duration::from_millis(
        settings.catalog_cache_ms,
    )));
    let mut handlers = handlers;
    let automation = automation::Automation::start(
        &settings.database,
        &settings.workflow,
        services.clone(),
        &mut handlers,
        &rate::replica_id(),
    )?;
    let pool = worker::WorkerPool::start(config, handlers, services)?;
    ready(pool.holder());
    runtime.block_on(shutdown_signal());
    tracing::info!("shutting down: finishing or releasing the running jobs");
    automation.stop();
    Ok(pool.stop())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_client_address_is_the_last_untrusted_one_a_trusted_proxy_forwarded() {
        let ip = |t: &str| t.parse::<std::net::IpAddr>().unwrap();
        let trusted = [
            settings::Network::parse("10.0.0.0/8").unwrap(),
            settings::Network::parse("2001:db8::/32").unwrap(),
        ];
        let headers = |values: &[&str]| {
            let mut h = axum::http::HeaderMap::new();
            for v in values {
                h.append("x-forwarded-for", v.parse().unwrap());
            }
            h
        };
        let lb = ip("10.0.0.5");
        let of = |peer, values: &[&str]| client_address(peer, &headers(values), &trusted);
        // No trusted proxy: the peer, whatever the header says.
        assert_eq!(client_address(lb, &headers(&["203.0.113.7"]), &[]), lb);
        // A peer that is not trusted is the client (it may have written the header itself).
        assert_eq!(of(ip("198.51.100.1"), &["203.0.113.7"]), ip("198.51.100.1"));
        // Behind the balancer: the address it forwarded.
        assert_eq!(of(lb, &["203.0.113.7"]), ip("203.0.113.7"));
        // A client's own header is left of what the proxies appended: not believed.
        assert_eq!(of(lb, &["1.2.3.4, 203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(
            of(lb, &["1.2.3.4", "203.0.113.7, 10.1.1.1"]),
            ip("203.0.113.7")
        );
        assert_eq!(of(lb, &["[2001:db9::1]:4000"]), ip("2001:db9::1"));
        assert_eq!(of(lb, &["203.0.113.9:4000"]), ip("203.0.113.9"));
        // Nothing forwarded, garbage, or every hop trusted.
        assert_eq!(of(lb, &[]), lb);
        assert_eq!(of(lb, &["1.2.3.4, nonsense"]), lb);
        assert_eq!(of(lb, &["nonsense, 10.2.2.2"]), ip("10.2.2.2"));
        assert_eq!(of(lb, &["10.3.3.3, 10.2.2.2"]), ip("10.3.3.3"));
        // However long the client's own prefix, the address the proxy appended counts (red
        // team, pass 4: past 4,096 characters the proxy's own address did, which every client
        // shares).
        let long = format!("{}203.0.113.7", "1.2.3.4, ".repeat(2_000));
        assert_eq!(of(lb, &[long.as_str()]), ip("203.0.113.7"));
        let junk = format!("{}, 203.0.113.8", "x".repeat(10_000));
        assert_eq!(of(lb, &[junk.as_str()]), ip("203.0.113.8"));
        // Not UTF-8 on the left does not hide the right.
        let mut h = axum::http::HeaderMap::new();
        h.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.9").unwrap(),
        );
        assert_eq!(client_address(lb, &h, &trusted), ip("203.0.113.9"));
        // A chain of trusted hops is followed at most 32 deep.
        let hops = format!("203.0.113.10, {}", vec!["10.0.0.1"; 40].join(", "));
        assert_eq!(of(lb, &[hops.as_str()]), ip("10.0.0.1"));
    }
}
