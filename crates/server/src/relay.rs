//! The outbox relay: publishes the org's domain events from the store's transactional outbox
//! to a NATS JetStream stream (docs/events.md, "Publishing to NATS").
//!
//! Every `serve` replica with `events.nats.url` set runs one relay, on its own thread with its
//! own database connection (the store is synchronous) and a one-worker tokio runtime for the
//! NATS client. The relay holds the org partitions no other relay holds (the store's
//! `relay_try_hold`: an advisory lock of its connection on PostgreSQL, so a relay that dies frees
//! them at once), and for each org of its partitions with events past its cursor it reads them
//! in `seq` order, publishes them (`<prefix>.<org>.<type>`, CloudEvents JSON, header
//! `Nats-Msg-Id` = the event's id), waits for JetStream's acks, and marks the acknowledged
//! prefix published. One publisher per org and in-order publishing on one connection keep each
//! org's events in commit order in the stream; a batch published again after a crash (acked but
//! not yet marked) is dropped by JetStream's de-duplication on `Nats-Msg-Id` within the stream's
//! duplicate window.
//!
//! NATS down: publishing fails after the ack timeout, the relay backs off (doubling, with
//! jitter, up to 5 s) and tries again; the API keeps working and the backlog grows, shown by
//! `hireplane_outbox_lag_events`, `hireplane_outbox_lag_seconds` and `/readyz`'s detail. It
//! wakes at once when this replica commits a change ([`Relay::wake`]) and otherwise looks every
//! `events.nats.poll_ms` (for changes committed by other replicas). Published events are
//! deleted from the outbox after `events.retention_hours`; without NATS none are.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use async_nats::jetstream::{self, message::PublishMessage};
use domain::Instant;
use store::events::OutboxEvent;
use store::relay::{Backlog, partition_of};
use store::{Store, StoreError};

use crate::settings::EventSettings;

/// What `/readyz` and the metrics say of the relay.
#[derive(Debug, Default)]
pub struct RelayStatus {
    /// Whether the last pass succeeded: connected to NATS, the stream there, every publish
    /// acknowledged.
    pub publishing: AtomicBool,
    /// Events committed and not yet published, in the orgs of every partition.
    pub lag_events: AtomicI64,
    /// The age of the oldest of them, in milliseconds.
    pub lag_ms: AtomicI64,
    /// Partitions this relay holds.
    pub partitions_held: AtomicI64,
    /// Events this relay published (acknowledged by JetStream).
    pub published: AtomicU64,
    /// The last failure, if the last attempt failed.
    pub last_error: Mutex<Option<String>>,
}

impl RelayStatus {
    fn failed(&self, what: &str, e: &dyn std::fmt::Display) {
        self.publishing.store(false, Ordering::Relaxed);
        metrics::counter!("hireplane_relay_errors_total", "what" => what.to_owned()).increment(1);
        let message = format!("{what}: {e}");
        tracing::warn!(error = %message, "outbox relay");
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(message);
        }
    }

    fn ok(&self) {
        self.publishing.store(true, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = None;
        }
    }

    /// The detail `/readyz` shows.
    pub fn detail(&self) -> String {
        let error = self
            .last_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .map(|e| format!(", last error: {e}"))
            .unwrap_or_default();
        format!(
            "events relay: {}, {} partition(s) held, {} event(s) behind, oldest {} ms{error}",
            if self.publishing.load(Ordering::Relaxed) {
                "publishing"
            } else {
                "not publishing"
            },
            self.partitions_held.load(Ordering::Relaxed),
            self.lag_events.load(Ordering::Relaxed),
            self.lag_ms.load(Ordering::Relaxed),
        )
    }
}

/// What the relay thread and its handle share.
struct Shared {
    stop: AtomicBool,
    wake: tokio::sync::Notify,
    status: RelayStatus,
}

/// A running relay.
pub struct Relay {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The relay's settings, resolved.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    pub database: String,
    pub nats_url: String,
    pub stream: String,
    pub subject_prefix: String,
    pub partitions: u32,
    pub batch: u32,
    pub poll: Duration,
    pub ack_timeout: Duration,
    pub duplicate_window: Duration,
    pub retention: Duration,
    /// This relay's name (the SQLite lease's holder; logs).
    pub holder: String,
}

impl RelayConfig {
    /// The relay of `settings` for store `database`, or `None` when no NATS URL is set.
    pub fn from_settings(database: &str, settings: &EventSettings, holder: &str) -> Option<Self> {
        let nats = &settings.nats;
        (!nats.url.trim().is_empty()).then(|| RelayConfig {
            database: database.to_owned(),
            nats_url: nats.url.trim().to_owned(),
            stream: nats.stream.clone(),
            subject_prefix: nats.subject_prefix.clone(),
            partitions: nats.partitions.max(1),
            batch: nats.batch.clamp(1, 10_000),
            poll: Duration::from_millis(nats.poll_ms.max(1)),
            ack_timeout: Duration::from_millis(nats.ack_timeout_ms.max(1)),
            duplicate_window: Duration::from_secs(nats.duplicate_window_s.max(1)),
            retention: Duration::from_secs(settings.retention_hours.saturating_mul(3600)),
            holder: holder.to_owned(),
        })
    }
}

/// Checks what can be checked of the settings before starting: the stream's name and the
/// subject prefix.
pub fn check_settings(settings: &EventSettings) -> Result<()> {
    let nats = &settings.nats;
    if nats.stream.is_empty()
        || nats
            .stream
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
    {
        anyhow::bail!(
            "`events.nats.stream`: `{}` is not a stream name (no spaces, `.`, `*`, `>`, `/`)",
            nats.stream
        );
    }
    let prefix = &nats.subject_prefix;
    if prefix.is_empty()
        || prefix
            .split('.')
            .any(|t| t.is_empty() || t.chars().any(|c| c.is_whitespace() || c == '*' || c == '>'))
    {
        anyhow::bail!(
            "`events.nats.subject_prefix`: `{prefix}` is not a subject prefix (dot-separated tokens without spaces, `*` or `>`)"
        );
    }
    Ok(())
}

/// The subject an event is published on: `<prefix>.<org>.<type without "hireplane.">`, e.g.
/// `hireplane.acme.application.moved.v1`. An org id is one token: characters other than ASCII
/// letters, digits, `-` and `_` are written `~XX` (their UTF-8 bytes in hex), so that no id can
/// add a token or a wildcard.
pub fn subject(prefix: &str, org: &str, event_type: &str) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(prefix.len() + org.len() + event_type.len() + 2);
    s.push_str(prefix);
    s.push('.');
    for b in org.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "~{b:02X}");
        }
    }
    s.push('.');
    s.push_str(event_type.strip_prefix("hireplane.").unwrap_or(event_type));
    s
}

impl Relay {
    /// Starts the relay of `config` on its own thread. It connects to the store and to NATS
    /// there, retrying until both answer, so a relay started while NATS is down catches up
    /// when it comes.
    pub fn start(config: RelayConfig) -> Result<Relay> {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
            status: RelayStatus::default(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("relay-nats")
            .enable_all()
            .build()
            .context("starting the relay's runtime")?;
        let thread = std::thread::Builder::new()
            .name("relay".to_owned())
            .spawn({
                let shared = shared.clone();
                move || run(&config, &shared, &runtime)
            })
            .context("starting the relay's thread")?;
        Ok(Relay {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Tells the relay that a change committed: it looks at once rather than at its next poll.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// What the relay is doing.
    pub fn status(&self) -> &RelayStatus {
        &self.shared.status
    }

    /// Stops the relay: it finishes the batch it is publishing, gives its partitions up and
    /// returns (blocks until then: call it off the async threads).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

/// The longest back-off after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often the relay tries to take the partitions it does not hold, and renews the SQLite
/// lease (held for three of these).
const HOLD_EVERY: Duration = Duration::from_secs(1);
/// The least time the relay waits for JetStream to create or describe the stream.
const STREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// How often published events past the retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

fn now() -> Instant {
    Instant::from_timestamp(jiff::Timestamp::now())
}

fn later(at: Instant, d: Duration) -> Instant {
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    Instant::from_micros(at.as_micros().saturating_add(micros)).unwrap_or(at)
}

fn earlier(at: Instant, d: Duration) -> Instant {
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    Instant::from_micros(at.as_micros().saturating_sub(micros)).unwrap_or(at)
}

/// The relay's state between passes.
struct Worker<'a> {
    config: &'a RelayConfig,
    shared: &'a Shared,
    runtime: &'a tokio::runtime::Runtime,
    store: Option<Store>,
    held: Vec<bool>,
    last_hold: Option<std::time::Instant>,
    last_prune: std::time::Instant,
    nats: Option<jetstream::Context>,
    stream_ready: bool,
    failures: u32,
}

fn run(config: &RelayConfig, shared: &Shared, runtime: &tokio::runtime::Runtime) {
    tracing::info!(
        nats = %config.nats_url,
        stream = %config.stream,
        partitions = config.partitions,
        "outbox relay starting"
    );
    let mut w = Worker {
        config,
        shared,
        runtime,
        store: None,
        held: vec![false; config.partitions as usize],
        last_hold: None,
        last_prune: std::time::Instant::now(),
        nats: None,
        stream_ready: false,
        failures: 0,
    };
    while !shared.stop.load(Ordering::Acquire) {
        let outcome = w.pass();
        let pause = match outcome {
            Ok(true) => {
                w.failures = 0;
                continue; // more may be waiting
            }
            Ok(false) => {
                w.failures = 0;
                config.poll
            }
            Err(()) => {
                w.failures = w.failures.saturating_add(1);
                backoff(w.failures)
            }
        };
        runtime.block_on(async {
            let _ = tokio::time::timeout(pause, shared.wake.notified()).await;
        });
    }
    if let Some(store) = w.store.as_mut() {
        let _ = store.relay_release(&config.holder);
    }
    tracing::info!("outbox relay stopped");
}

/// Doubling from 100 ms with full jitter, at most [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    let ceiling = Duration::from_millis(100)
        .saturating_mul(1u32 << failures.min(10))
        .min(MAX_BACKOFF);
    let jitter = (getrandom::u64().unwrap_or(0) % 1000) as f64 / 1000.0;
    ceiling.mul_f64(0.5 + jitter / 2.0)
}

impl Worker<'_> {
    /// One pass: hold partitions, publish what is behind in them. `Ok(true)` when it published
    /// a full batch (more may wait), `Err` after a failure (logged and counted).
    fn pass(&mut self) -> Result<bool, ()> {
        if self.store.is_none() {
            match Store::open(&self.config.database) {
                Ok(s) => {
                    self.store = Some(s);
                    self.held.iter_mut().for_each(|h| *h = false);
                    self.last_hold = None;
                }
                Err(e) => {
                    self.shared.status.failed("store", &e);
                    return Err(());
                }
            }
        }
        if self.nats.is_none() {
            let options = async_nats::ConnectOptions::new()
                .name("hireplane-relay")
                .retry_on_initial_connect()
                .connection_timeout(self.config.ack_timeout)
                // Back within a second or so of NATS' return (the default waits up to 4 s).
                .reconnect_delay_callback(|attempts| {
                    backoff(u32::try_from(attempts).unwrap_or(u32::MAX)).min(Duration::from_secs(2))
                });
            let url = self.config.nats_url.clone();
            match self.runtime.block_on(options.connect(url)) {
                Ok(client) => {
                    // The context spawns its ack handler on the relay's runtime.
                    let _runtime = self.runtime.enter();
                    let batch = usize::try_from(self.config.batch).unwrap_or(1_000);
                    self.nats = Some(
                        jetstream::ContextBuilder::new()
                            .timeout(self.config.ack_timeout)
                            // Acks not awaited (none: every one is) give their slot back as
                            // soon as awaited ones would.
                            .ack_timeout(self.config.ack_timeout)
                            .max_ack_inflight(batch)
                            .backpressure_on_inflight(true)
                            .build(client),
                    );
                }
                Err(e) => {
                    self.shared.status.failed("nats", &e);
                    return Err(());
                }
            }
        }
        self.hold().map_err(|e| self.store_failed(&e))?;
        if !self.stream_ready {
            self.ensure_stream()?;
        }
        // NATS down shows at once, also when there is nothing to publish; and while the client
        // reconnects its buffer fills and a send would wait for NATS: back off instead (the
        // API is not concerned; the backlog grows).
        let connected = self.nats.as_ref().is_some_and(|js| {
            js.client().connection_state() == async_nats::connection::State::Connected
        });
        if !connected {
            self.shared
                .status
                .failed("nats", &"not connected to the NATS server");
            let _ = self.backlog();
            return Err(());
        }
        let backlog = self.backlog().map_err(|e| self.store_failed(&e))?;
        let mut full = false;
        for org in &backlog {
            let p = partition_of(&org.org_id, self.config.partitions) as usize;
            if !self.held.get(p).copied().unwrap_or(false) {
                continue;
            }
            if self.shared.stop.load(Ordering::Acquire) {
                break;
            }
            full |= self.publish_org(org)?;
        }
        if self.last_prune.elapsed() >= PRUNE_EVERY {
            self.last_prune = std::time::Instant::now();
            self.prune().map_err(|e| self.store_failed(&e))?;
        }
        self.shared.status.ok();
        Ok(full)
    }

    fn store(&mut self) -> Result<&mut Store, StoreError> {
        self.store
            .as_mut()
            .ok_or_else(|| StoreError::Corrupt("the relay has no store connection".to_owned()))
    }

    /// A failed store call: the connection is dropped (with it, on PostgreSQL, the partitions
    /// held) and opened again at the next pass.
    fn store_failed(&mut self, e: &StoreError) {
        self.shared.status.failed("store", e);
        self.store = None;
        self.held.iter_mut().for_each(|h| *h = false);
        self.shared
            .status
            .partitions_held
            .store(0, Ordering::Relaxed);
    }

    /// Takes the partitions no relay holds (every [`HOLD_EVERY`]).
    fn hold(&mut self) -> Result<(), StoreError> {
        if self.last_hold.is_some_and(|t| t.elapsed() < HOLD_EVERY) {
            return Ok(());
        }
        self.last_hold = Some(std::time::Instant::now());
        let (holder, now) = (self.config.holder.clone(), now());
        let until = later(now, HOLD_EVERY * 3);
        let sqlite = matches!(self.store()?, Store::Sqlite(_));
        if sqlite {
            // One lease for every partition, renewed every time.
            let holds = self.store()?.relay_try_hold(0, &holder, now, until)?;
            self.held.iter_mut().for_each(|h| *h = holds);
        } else {
            for p in 0..self.held.len() {
                if !self.held[p] {
                    let partition = u32::try_from(p).unwrap_or(u32::MAX);
                    self.held[p] = self
                        .store()?
                        .relay_try_hold(partition, &holder, now, until)?;
                }
            }
        }
        let n = self.held.iter().filter(|h| **h).count();
        self.shared
            .status
            .partitions_held
            .store(i64::try_from(n).unwrap_or(0), Ordering::Relaxed);
        metrics::gauge!("hireplane_relay_partitions_held").set(n as f64);
        Ok(())
    }

    /// Creates the stream when it does not exist (an existing one is used as it is). Creating
    /// a stream on disk may take longer than a publish's ack: its own, longer timeout.
    fn ensure_stream(&mut self) -> Result<(), ()> {
        let Some(js) = self.nats.as_ref() else {
            return Err(());
        };
        let mut js = js.clone();
        js.set_timeout(self.config.ack_timeout.max(STREAM_TIMEOUT));
        let config = jetstream::stream::Config {
            name: self.config.stream.clone(),
            subjects: vec![format!("{}.>", self.config.subject_prefix)],
            duplicate_window: self.config.duplicate_window,
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        };
        match self.runtime.block_on(js.get_or_create_stream(config)) {
            Ok(_) => {
                self.stream_ready = true;
                Ok(())
            }
            Err(e) => {
                self.shared.status.failed("stream", &e);
                Err(())
            }
        }
    }

    /// The orgs behind, and the lag's gauges.
    fn backlog(&mut self) -> Result<Vec<Backlog>, StoreError> {
        let backlog = self.store()?.relay_backlog()?;
        let behind: i64 = backlog.iter().map(Backlog::behind).sum();
        // The oldest unpublished event: the first past the cursor of the most behind orgs.
        let mut oldest: Option<Instant> = None;
        for b in backlog.iter().take(32) {
            let t = self
                .store()?
                .relay_event_time(&b.org_id, b.published_seq + 1)?;
            oldest = match (oldest, t) {
                (Some(o), Some(t)) => Some(o.min(t)),
                (o, t) => o.or(t),
            };
        }
        let lag_ms = oldest.map_or(0, |t| (now().as_micros() - t.as_micros()).max(0) / 1000);
        // The gauges first: what `/readyz` shows is then on `/metrics` already.
        metrics::gauge!("hireplane_outbox_lag_events").set(behind as f64);
        metrics::gauge!("hireplane_outbox_lag_seconds").set(lag_ms as f64 / 1000.0);
        let status = &self.shared.status;
        status.lag_events.store(behind, Ordering::Relaxed);
        status.lag_ms.store(lag_ms, Ordering::Relaxed);
        Ok(backlog)
    }

    /// Publishes one batch of org `org`'s events and marks the acknowledged prefix. `Ok(true)`
    /// when the batch was full.
    fn publish_org(&mut self, org: &Backlog) -> Result<bool, ()> {
        let batch = self.config.batch;
        let read = self
            .store()
            .and_then(|s| s.relay_events(&org.org_id, org.published_seq, org.last_seq, batch));
        let (events, committed): (Vec<OutboxEvent>, Vec<Option<Instant>>) = match read {
            Ok(e) => e.into_iter().unzip(),
            Err(e) => {
                self.store_failed(&e);
                return Err(());
            }
        };
        let Some(first) = events.first().map(|e| e.seq) else {
            return Ok(false);
        };
        let js = self.nats.clone().ok_or(())?;
        let prefix = self.config.subject_prefix.clone();
        // Bounded as a whole too: sends wait for the client's buffer.
        let limit = self.config.ack_timeout * 2 + Duration::from_secs(1);
        let (acked, failure) = self.runtime.block_on(async {
            tokio::time::timeout(limit, publish_all(&js, &prefix, &events))
                .await
                .unwrap_or_else(|_| (0, Some(format!("no answer within {limit:?}"))))
        });
        if let Some(last) = acked.checked_sub(1).and_then(|i| events.get(i)) {
            let at = now();
            for (e, committed) in events[..acked].iter().zip(&committed) {
                let since = committed.unwrap_or(e.time);
                let seconds = (at.as_micros() - since.as_micros()).max(0) as f64 / 1e6;
                metrics::histogram!("hireplane_relay_commit_to_ack_seconds").record(seconds);
            }
            metrics::counter!("hireplane_relay_published_total").increment(acked as u64);
            self.shared
                .status
                .published
                .fetch_add(acked as u64, Ordering::Relaxed);
            let marked = self
                .store()
                .and_then(|s| s.relay_mark_published(&org.org_id, first, last.seq, at));
            if let Err(e) = marked {
                // Published but not marked: published again by the next pass and dropped by
                // JetStream as duplicates.
                self.store_failed(&e);
                return Err(());
            }
        }
        match failure {
            Some(e) => {
                self.shared.status.failed("publish", &e);
                Err(())
            }
            None => Ok(events.len() >= batch as usize),
        }
    }

    /// Deletes the published events past the retention, a bounded amount per org and pass.
    fn prune(&mut self) -> Result<(), StoreError> {
        let before = earlier(now(), self.config.retention);
        let orgs = self.store()?.relay_orgs()?;
        for org in orgs {
            let p = partition_of(&org, self.config.partitions) as usize;
            if self.held.get(p).copied().unwrap_or(false) {
                let n = self.store()?.relay_prune(&org, before, 10_000)?;
                if n > 0 {
                    metrics::counter!("hireplane_outbox_pruned_total").increment(n);
                }
            }
        }
        Ok(())
    }
}

/// Publishes `events` in order (each send waits only for the client's buffer, so they are
/// pipelined on the one connection), then waits for their acks in order. Returns how many
/// from the start were acknowledged, and the first failure.
async fn publish_all(
    js: &jetstream::Context,
    prefix: &str,
    events: &[OutboxEvent],
) -> (usize, Option<String>) {
    let mut pending = Vec::with_capacity(events.len());
    let mut failure = None;
    for e in events {
        let payload = match serde_json::to_vec(&e.cloudevent()) {
            Ok(p) => p,
            Err(err) => {
                failure = Some(format!("event `{}`: {err}", e.id));
                break;
            }
        };
        let publish = PublishMessage::build()
            .payload(payload.into())
            .message_id(e.id.as_str());
        match js
            .send_publish(subject(prefix, &e.org_id, &e.event_type), publish)
            .await
        {
            Ok(ack) => pending.push(ack),
            Err(err) => {
                failure = Some(err.to_string());
                break;
            }
        }
    }
    // Every ack is awaited (they time out together), so that none holds its in-flight slot
    // into the next batch; only the prefix before the first failure counts as published.
    let mut acked = 0;
    for ack in pending {
        match ack.await {
            Ok(_) if failure.is_none() => acked += 1,
            Ok(_) => {}
            Err(err) => {
                failure.get_or_insert_with(|| err.to_string());
            }
        }
    }
    (acked, failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_keep_an_org_id_one_token() {
        assert_eq!(
            subject("hireplane", "acme", "hireplane.application.moved.v1"),
            "hireplane.acme.application.moved.v1"
        );
        assert_eq!(
            subject("hp", "a.b *>c~é", "hireplane.candidate.created.v1"),
            "hp.a~2Eb~20~2A~3Ec~7E~C3~A9.candidate.created.v1"
        );
        // Escaping is one-to-one: two ids never share a subject.
        assert_ne!(subject("p", "a~2E", "t"), subject("p", "a.", "t"));
    }

    #[test]
    fn backoff_grows_to_its_ceiling_with_jitter() {
        assert!(backoff(1) <= Duration::from_millis(200));
        assert!(backoff(1) >= Duration::from_millis(100));
        for _ in 0..20 {
            let b = backoff(30);
            assert!(b <= MAX_BACKOFF && b >= MAX_BACKOFF / 2, "{b:?}");
        }
    }

    #[test]
    fn settings_are_checked() {
        let mut s = EventSettings::default();
        assert!(check_settings(&s).is_ok());
        s.nats.stream = "A.B".to_owned();
        assert!(check_settings(&s).is_err());
        s.nats.stream = "OK".to_owned();
        s.nats.subject_prefix = "a..b".to_owned();
        assert!(check_settings(&s).is_err());
        s.nats.subject_prefix = "a.>".to_owned();
        assert!(check_settings(&s).is_err());
    }
}
