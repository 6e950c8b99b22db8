//! Every call hireplane makes to the outside goes through [`Effects`]: webhooks (signed per
//! Standard Webhooks), email (SMTP) and CalDAV `PUT`s of interview events.
//!
//! An edge crate: it does IO and reads clocks; the decisions are the pure `workflow` crate's
//! ([`workflow::breaker`], [`workflow::backoff`]). For each *destination*, `scheme://host:port`
//! of an HTTP URL or `smtp://host:port` of the relay, one [`Effects`] keeps:
//!
//! - a **circuit breaker** (resilience4j semantics, [`workflow::breaker::Breaker`]): every
//!   attempt asks it for leave; while it is open, calls fail at once with [`CallError::Open`];
//! - a **bulkhead**: at most `max_concurrent` attempts in flight; one more fails at once with
//!   [`CallError::Busy`], so a destination that hangs holds at most that many worker threads,
//!   each for at most the attempt's timeout, and the others go on;
//! - **timeouts** on every attempt (connect, and the whole attempt);
//! - **in-call retries**: a few quick attempts (`retries`, default 2) with exponential backoff
//!   and full jitter capped at a couple of seconds, honouring `Retry-After`. A longer wait is the
//!   durable job's: it gets [`CallError::Transient`] with `retry_after` and schedules itself;
//! - **metrics**: `hireplane_external_calls_total{destination, kind, outcome}` per attempt
//!   (outcome `ok`, `transient`, `permanent`, `open`, `busy`), `hireplane_external_call_seconds
//!   {destination, kind}`, `hireplane_breaker_state{destination}` (0 closed, 1 half-open,
//!   2 open) and `hireplane_breaker_transitions_total{destination, from, to}`;
//! - a **status** ([`Effects::status`]) that the server writes to the store for
//!   `hireplane workflow status` ([`Effects::status_due`] says when: at once after a breaker
//!   transition, else every few seconds).
//!
//! **Idempotency:** the caller gives each effect a key, the same on every retry of the durable
//! job: the `webhook-id` header of a webhook, the `Message-ID` of an email, the resource name
//! (`{uid}.ics`) of a CalDAV event. A receiver that dedupes by it sees each effect once, even
//! when a process died after sending and before recording.
//!
//! What counts against a destination's breaker: transient failures (timeouts, connection errors,
//! HTTP 408, 429 and 5xx, SMTP 4xx). A permanent refusal (another 4xx, SMTP 5xx) is the
//! request's fault, not the destination's: it counts as a success of the destination.
//!
//! Not here: refusing URLs that point inside the network (the caller vets webhook URLs when they
//! are configured); the SMTP relay's name is resolved without the attempt's deadline (the
//! system resolver's own timeout applies). HTTPS (webhooks, CalDAV) is rustls trusting Mozilla's
//! roots, or the certificates of [`EffectsSettings::tls_roots`]; SMTP is plain, STARTTLS
//! (required, never downgraded) or implicit TLS, with the same roots, and AUTH only over TLS.
//!
//! **Invariant:** no lock is held across IO or a sleep; destinations' states are independent.

mod email;
mod webhook;

use std::collections::HashMap;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use workflow::backoff::Backoff;
use workflow::breaker::{Breaker, BreakerSettings, Permit, Rejected, State, Transition};

pub use caldav::{TlsRoots, tls_roots_from_pem};
pub use email::{Email, SmtpRelay, SmtpTls};
pub use webhook::{WebhookRequest, sign};

/// The longest error text kept in a destination's status.
const MAX_ERROR_CHARS: usize = 300;

/// How the layer behaves, for every destination.
#[derive(Clone, Debug)]
pub struct EffectsSettings {
    /// Each destination's breaker.
    pub breaker: BreakerSettings,
    /// The bulkhead: attempts in flight per destination.
    pub max_concurrent: u32,
    /// Connecting (TCP, and TLS when enabled).
    pub connect_timeout: Duration,
    /// One whole attempt: connecting, sending, and reading the answer.
    pub attempt_timeout: Duration,
    /// Attempts after the first, within one call.
    pub retries: u32,
    /// The waits between the attempts of one call: `cap` bounds them, and a `Retry-After`
    /// longer than `cap` ends the call with [`CallError::Transient`] at once.
    pub backoff: Backoff,
    /// The SMTP relay of [`Effects::email`]; `None`: email is refused as permanent.
    pub smtp: Option<SmtpRelay>,
    /// The certificates HTTPS trusts instead of Mozilla's roots ([`tls_roots_from_pem`]).
    pub tls_roots: Option<TlsRoots>,
    /// HTTP calls connect to public addresses only ([`is_private`]): the check is made on the
    /// addresses the call connects to, as it resolves the name, so a name that resolves to a
    /// public address when a caller checked it and to a private one a moment later (DNS
    /// rebinding) cannot reach the internal network. A refused call is permanent.
    pub public_only: bool,
}

impl Default for EffectsSettings {
    /// The default breaker, 4 calls in flight per destination, 5 s to connect, 15 s per attempt,
    /// 2 retries waiting up to 200 ms then 400 ms (capped at 2 s), no SMTP relay.
    fn default() -> EffectsSettings {
        EffectsSettings {
            breaker: BreakerSettings::default(),
            max_concurrent: 4,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(15),
            retries: 2,
            backoff: Backoff {
                base: Duration::from_millis(200),
                cap: Duration::from_secs(2),
                max_retry_after: Duration::from_secs(2),
            },
            smtp: None,
            tls_roots: None,
            public_only: false,
        }
    }
}

/// Whether `ip` is of a network no rule should reach unless the operator allows it: loopback,
/// unspecified, private (RFC 1918), shared (RFC 6598), link-local, broadcast, documentation,
/// multicast, unique local (fc00::/7), site-local, and IPv4 addresses carried in IPv6 ones
/// (mapped, compatible, NAT64, 6to4) judged by the IPv4 address.
pub fn is_private(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
                // Benchmarking (198.18.0.0/15), IETF protocol assignments (192.0.0.0/24) and
                // the reserved 240.0.0.0/4 (red team, pass 11).
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                is_private(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)))
            };
            // IPv4 addresses carried inside IPv6 ones reach the IPv4 host: IPv4-compatible
            // (`::a.b.c.d`, deprecated), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) and 6to4
            // (`2002:AABB:CCDD::/48`) are judged by the IPv4 address they carry.
            // SIIT's IPv4-translated `::ffff:0:a.b.c.d` likewise.
            let compatible = seg[..6].iter().all(|s| *s == 0)
                || (seg[..4].iter().all(|s| *s == 0) && seg[4] == 0xffff && seg[5] == 0);
            let nat64 = (seg[0] == 0x64 && seg[1] == 0xff9b)
                && (seg[2..6].iter().all(|s| *s == 0) || seg[2] == 1);
            if (compatible || nat64) && embedded(seg[6], seg[7]) {
                return true;
            }
            if seg[0] == 0x2002 && embedded(seg[1], seg[2]) {
                return true;
            }
            let first = seg[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                // link-local fe80::/10 and the deprecated site-local fec0::/10
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
        }
    }
}

/// A call refused because its host resolved to a private address ([`EffectsSettings::public_only`]).
#[derive(Debug)]
struct PrivateAddress {
    host: String,
    ip: std::net::IpAddr,
}

impl std::fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` resolves to the private address {}: calls reach public addresses only",
            self.host, self.ip
        )
    }
}

impl std::error::Error for PrivateAddress {}

/// ureq's resolver, answering public addresses only: the addresses checked are the ones the
/// call connects to (ureq's connector takes them from here), so no second lookup can differ.
/// Written here because ureq has no such option; it wraps ureq's own resolver, so lookups,
/// their timeouts and ports are ureq's.
struct PublicOnly(ureq::unversioned::resolver::DefaultResolver);

impl std::fmt::Debug for PublicOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicOnly")
    }
}

impl ureq::unversioned::resolver::Resolver for PublicOnly {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.0.resolve(uri, config, timeout)?;
        if let Some(a) = addrs.iter().find(|a| is_private(a.ip())) {
            return Err(ureq::Error::Other(Box::new(PrivateAddress {
                host: uri.host().unwrap_or_default().to_owned(),
                ip: a.ip(),
            })));
        }
        Ok(addrs)
    }
}

/// A CalDAV event to create or replace: `PUT {collection_url}{uid}.ics` with the iCalendar text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarPut {
    /// The calendar collection, an absolute `http://` or `https://` URL.
    pub collection_url: String,
    /// The event's UID: the resource name, so a retry replaces what an earlier attempt wrote.
    pub uid: String,
    /// The `VCALENDAR` object.
    pub ics: String,
    /// HTTP Basic credentials (user, password).
    pub credentials: Option<(String, String)>,
}

/// An effect that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub destination: String,
    /// Attempts made, the last one successful (1 when the first was).
    pub attempts: u32,
    /// The HTTP status, or the SMTP reply code to the end of `DATA`.
    pub status: u16,
}

/// Why an effect did not happen (yet).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The destination's breaker is open: nothing was sent; try again in `retry_in`.
    #[error("`{destination}`: circuit open, retry in {retry_in:?}")]
    Open {
        destination: String,
        retry_in: Duration,
    },
    /// The destination has as many calls in flight as its bulkhead allows: nothing was sent.
    #[error("`{destination}`: too many calls in flight")]
    Busy { destination: String },
    /// Worth retrying later: the last attempt's error, and how long the destination asked to
    /// wait (`Retry-After`), if it did.
    #[error("`{destination}`: {error}")]
    Transient {
        destination: String,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Retrying will not help: the request is refused or cannot be made.
    #[error("`{destination}`: {error}")]
    Permanent { destination: String, error: String },
}

impl CallError {
    /// The destination the error is about.
    pub fn destination(&self) -> &str {
        match self {
            CallError::Open { destination, .. }
            | CallError::Busy { destination }
            | CallError::Transient { destination, .. }
            | CallError::Permanent { destination, .. } => destination,
        }
    }
}

/// One destination as this process sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct DestinationStatus {
    pub destination: String,
    pub state: State,
    /// Failures over calls in the breaker's current window (`None`: no calls in it).
    pub failure_rate: Option<f64>,
    pub window_calls: u32,
    pub window_failures: u32,
    /// Open: the time until probes are let through.
    pub retry_in: Option<Duration>,
    /// Attempts in flight now.
    pub in_flight: u32,
    /// Attempts made since the process started, and how many failed transiently.
    pub attempts: u64,
    pub failures: u64,
    /// Calls refused without an attempt (breaker open, or bulkhead full).
    pub rejected: u64,
    /// The breaker's transitions since the process started: the server writes the status at
    /// once when this changed, and every few seconds otherwise.
    pub transitions: u64,
    /// The last transient or permanent error, and when it happened.
    pub last_error: Option<String>,
    pub last_error_at: Option<SystemTime>,
}

/// When the status was last handed out by [`Effects::status_due`] (start with the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusWritten {
    at: Option<Instant>,
    transitions: u64,
}

/// What [`Effects`] calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Webhook,
    Email,
    Caldav,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Email => "email",
            Kind::Caldav => "caldav",
        }
    }
}

/// The outcome of one attempt, as the transports report it.
#[derive(Debug)]
pub(crate) enum Attempt {
    Ok(u16),
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
    Permanent(String),
}

/// A destination's mutable state, behind its own lock.
#[derive(Debug)]
struct Destination {
    breaker: Breaker,
    in_flight: u32,
    attempts: u64,
    failures: u64,
    rejected: u64,
    transitions: u64,
    last_error: Option<(String, SystemTime)>,
}

/// The resilience layer, shared by all worker threads (`Send + Sync`).
#[derive(Debug)]
pub struct Effects {
    settings: EffectsSettings,
    /// A closed breaker with the settings, cloned for each new destination.
    breaker: Breaker,
    destinations: Mutex<HashMap<String, Arc<Mutex<Destination>>>>,
    /// The zero of the breakers' monotonic milliseconds.
    started: Instant,
    http: ureq::Agent,
    jitter: (std::collections::hash_map::RandomState, AtomicU64),
    /// Every destination's transitions, for [`Effects::status_due`].
    transitions: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a destination's lock leaves counts, never a broken invariant of the
    // breaker (its methods do not panic): go on with them.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Leaves the bulkhead when dropped.
struct Slot<'a>(&'a Mutex<Destination>);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut d = lock(self.0);
        d.in_flight = d.in_flight.saturating_sub(1);
    }
}

impl Effects {
    /// The layer. Invalid breaker settings are replaced by [`BreakerSettings::default`] (check
    /// them with [`BreakerSettings::check`] when reading configuration).
    pub fn new(mut settings: EffectsSettings) -> Effects {
        let breaker = Breaker::new(settings.breaker).unwrap_or_default();
        settings.breaker = *breaker.settings();
        let config = ureq::Agent::config_builder()
            .tls_config(caldav::tls_config(settings.tls_roots.clone()))
            .http_status_as_error(false)
            .max_redirects(0)
            // No proxy from the environment (`HTTPS_PROXY`): the public-only resolver would
            // judge the proxy's address, not the destination's (red team, pass 11).
            .proxy(None)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.attempt_timeout))
            .user_agent(concat!("hireplane-effects/", env!("CARGO_PKG_VERSION")))
            .build();
        let http = if settings.public_only {
            ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::new(),
                PublicOnly(Default::default()),
            )
        } else {
            config.new_agent()
        };
        Effects {
            settings,
            breaker,
            destinations: Mutex::new(HashMap::new()),
            started: Instant::now(),
            http,
            jitter: (Default::default(), AtomicU64::new(0)),
            transitions: AtomicU64::new(0),
        }
    }

    pub fn settings(&self) -> &EffectsSettings {
        &self.settings
    }

    /// POSTs a JSON webhook signed per Standard Webhooks (`webhook-id` = the idempotency key).
    pub fn webhook(&self, req: &WebhookRequest) -> Result<Delivered, CallError> {
        let destination = match http_destination(&req.url) {
            Ok(d) => d,
            Err(error) => return Err(permanent_unrouted(error)),
        };
        let key = match webhook::SigningKey::parse(&req.secret) {
            Ok(key) => key,
            Err(error) => {
                return Err(CallError::Permanent { destination, error });
            }
        };
        if let Err(error) = webhook::check_id(&req.idempotency_key) {
            return Err(CallError::Permanent { destination, error });
        }
        self.call(Kind::Webhook, destination, &mut || {
            webhook::post(&self.http, req, &key)
        })
    }

    /// Sends an email through the configured SMTP relay (`Message-ID` = the idempotency key).
    pub fn email(&self, msg: &Email) -> Result<Delivered, CallError> {
        let Some(relay) = &self.settings.smtp else {
            return Err(CallError::Permanent {
                destination: "smtp".into(),
                error: "no SMTP relay is configured".into(),
            });
        };
        let destination = format!("smtp://{}:{}", relay.host.to_ascii_lowercase(), relay.port);
        let message = match email::Message::build(msg) {
            Ok(m) => m,
            Err(error) => return Err(CallError::Permanent { destination, error }),
        };
        self.call(Kind::Email, destination, &mut || {
            email::send(
                relay,
                &message,
                self.settings.connect_timeout,
                self.settings.attempt_timeout,
                self.settings.tls_roots.as_ref(),
            )
        })
    }

    /// Creates or replaces one event on a CalDAV server (`PUT {collection_url}{uid}.ics`).
    pub fn caldav_put(&self, req: &CalendarPut) -> Result<Delivered, CallError> {
        let destination = match http_destination(&req.collection_url) {
            Ok(d) => d,
            Err(error) => return Err(permanent_unrouted(error)),
        };
        // The layer's own agent: no redirect followed, and with `public_only` no private
        // address connected to (red team, pass 10: a calendar's 303 to 127.0.0.1 was followed
        // by a client of its own).
        let client = caldav::Client::with_agent(
            &req.collection_url,
            req.credentials.clone(),
            self.http.clone(),
        );
        self.call(Kind::Caldav, destination, &mut || match client.put_event(
            &req.collection_url,
            &req.uid,
            &req.ics,
        ) {
            Ok(put) => Attempt::Ok(put.status),
            Err(e) => caldav_attempt(e),
        })
    }

    /// Every destination used since the process started, sorted by name.
    pub fn status(&self) -> Vec<DestinationStatus> {
        let now_ms = self.now_ms();
        let all: Vec<(String, Arc<Mutex<Destination>>)> = lock(&self.destinations)
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        let mut out: Vec<DestinationStatus> = all
            .into_iter()
            .map(|(name, d)| {
                let d = lock(&d);
                let b = d.breaker.status(now_ms);
                DestinationStatus {
                    destination: name,
                    state: b.state,
                    failure_rate: b.failure_rate,
                    window_calls: b.calls,
                    window_failures: b.failures,
                    retry_in: b.retry_in,
                    in_flight: d.in_flight,
                    attempts: d.attempts,
                    failures: d.failures,
                    rejected: d.rejected,
                    transitions: d.transitions,
                    last_error: d.last_error.as_ref().map(|(e, _)| e.clone()),
                    last_error_at: d.last_error.as_ref().map(|(_, at)| *at),
                }
            })
            .collect();
        out.sort_by(|a, b| a.destination.cmp(&b.destination));
        out
    }

    /// The status when it is due for the store: at once when a breaker changed state since
    /// `last`, else once `every` has passed since `last` (the first call always); `None` when
    /// not due. Updates `last` when it hands the status out.
    pub fn status_due(
        &self,
        last: &mut StatusWritten,
        every: Duration,
    ) -> Option<Vec<DestinationStatus>> {
        let transitions = self.transitions.load(Ordering::SeqCst);
        let due = match last.at {
            None => true,
            Some(at) => transitions != last.transitions || at.elapsed() >= every,
        };
        if !due {
            return None;
        }
        *last = StatusWritten {
            at: Some(Instant::now()),
            transitions,
        };
        Some(self.status())
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A random number in `[0, 1)` for the jitter (std's randomly keyed SipHash of a counter:
    /// unpredictable enough to spread retries, no generator to depend on).
    fn unit(&self) -> f64 {
        let n = self.jitter.1.fetch_add(1, Ordering::Relaxed);
        let mut h = self.jitter.0.build_hasher();
        h.write_u64(n);
        (h.finish() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn destination(&self, name: &str) -> Arc<Mutex<Destination>> {
        let mut all = lock(&self.destinations);
        if let Some(d) = all.get(name) {
            return Arc::clone(d);
        }
        let breaker = self.breaker.clone();
        metrics::gauge!("hireplane_breaker_state", "destination" => name.to_owned())
            .set(State::Closed.gauge());
        let d = Arc::new(Mutex::new(Destination {
            breaker,
            in_flight: 0,
            attempts: 0,
            failures: 0,
            rejected: 0,
            transitions: 0,
            last_error: None,
        }));
        all.insert(name.to_owned(), Arc::clone(&d));
        d
    }

    /// One call: attempts through the bulkhead and the breaker, retried while transient.
    fn call(
        &self,
        kind: Kind,
        destination: String,
        attempt: &mut dyn FnMut() -> Attempt,
    ) -> Result<Delivered, CallError> {
        let dest = self.destination(&destination);
        let count = |outcome: &'static str| {
            metrics::counter!(
                "hireplane_external_calls_total",
                "destination" => destination.clone(),
                "kind" => kind.as_str(),
                "outcome" => outcome
            )
            .increment(1);
        };
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let (slot, permit) = match self.enter(&dest, &destination) {
                Ok(entered) => entered,
                Err(e) => {
                    count(if matches!(e, CallError::Busy { .. }) {
                        "busy"
                    } else {
                        "open"
                    });
                    return Err(e);
                }
            };
            let started = Instant::now();
            let outcome = attempt();
            let took = started.elapsed();
            metrics::histogram!(
                "hireplane_external_call_seconds",
                "destination" => destination.clone(),
                "kind" => kind.as_str()
            )
            .record(took.as_secs_f64());
            {
                let mut d = lock(&dest);
                d.attempts += 1;
                let succeeded = !matches!(outcome, Attempt::Transient { .. });
                match &outcome {
                    Attempt::Ok(_) => {}
                    Attempt::Transient { error, .. } | Attempt::Permanent(error) => {
                        d.failures += u64::from(!succeeded);
                        d.last_error = Some((truncate(error), SystemTime::now()));
                    }
                }
                let t = d.breaker.record(permit, self.now_ms(), succeeded, took);
                self.transitioned(&mut d, &destination, t);
            }
            drop(slot);
            match outcome {
                Attempt::Ok(status) => {
                    count("ok");
                    return Ok(Delivered {
                        destination,
                        attempts,
                        status,
                    });
                }
                Attempt::Permanent(error) => {
                    count("permanent");
                    return Err(CallError::Permanent { destination, error });
                }
                Attempt::Transient { error, retry_after } => {
                    count("transient");
                    let backoff = &self.settings.backoff;
                    let too_long = retry_after.is_some_and(|after| after > backoff.cap);
                    if attempts > self.settings.retries || too_long {
                        return Err(CallError::Transient {
                            destination,
                            error,
                            retry_after,
                        });
                    }
                    let wait = backoff.delay(attempts, self.unit(), retry_after);
                    std::thread::sleep(wait.min(backoff.cap));
                }
            }
        }
    }

    /// Enters the bulkhead, then asks the breaker; leaves the bulkhead when the breaker refuses.
    fn enter<'a>(
        &self,
        dest: &'a Mutex<Destination>,
        destination: &str,
    ) -> Result<(Slot<'a>, Permit), CallError> {
        let mut d = lock(dest);
        if d.in_flight >= self.settings.max_concurrent {
            d.rejected += 1;
            return Err(CallError::Busy {
                destination: destination.to_owned(),
            });
        }
        let (permit, t) = d.breaker.try_acquire(self.now_ms());
        self.transitioned(&mut d, destination, t);
        match permit {
            Ok(permit) => {
                d.in_flight += 1;
                Ok((Slot(dest), permit))
            }
            Err(rejected) => {
                d.rejected += 1;
                let retry_in = match rejected {
                    Rejected::Open { retry_in } => retry_in,
                    // The probes are out; their outcome decides soon.
                    Rejected::ProbesOut => self.settings.backoff.base,
                };
                Err(CallError::Open {
                    destination: destination.to_owned(),
                    retry_in,
                })
            }
        }
    }

    fn transitioned(&self, d: &mut Destination, destination: &str, t: Option<Transition>) {
        let Some(t) = t else { return };
        d.transitions += 1;
        self.transitions.fetch_add(1, Ordering::SeqCst);
        metrics::counter!(
            "hireplane_breaker_transitions_total",
            "destination" => destination.to_owned(),
            "from" => t.from.as_str(),
            "to" => t.to.as_str()
        )
        .increment(1);
        metrics::gauge!("hireplane_breaker_state", "destination" => destination.to_owned())
            .set(t.to.gauge());
    }
}

fn permanent_unrouted(error: String) -> CallError {
    CallError::Permanent {
        destination: "-".into(),
        error,
    }
}

fn truncate(error: &str) -> String {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((i, _)) => format!("{}…", &error[..i]),
        None => error.to_owned(),
    }
}

/// `scheme://host:port` of an `http://` or `https://` URL (the port made explicit, the host in
/// lower case, no user information, path or query).
pub fn http_destination(url: &str) -> Result<String, String> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|_| format!("`{url}`: not a valid URL"))?;
    let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
    let default_port = match scheme.as_deref() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return Err(format!("`{url}`: not an http:// or https:// URL")),
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("`{url}`: no host"))?;
    Ok(format!(
        "{}://{}:{}",
        scheme.unwrap_or_default(),
        host.to_ascii_lowercase(),
        uri.port_u16().unwrap_or(default_port)
    ))
}

/// Whether `url` is under `base`: the same scheme, host and port ([`http_destination`]), and a
/// path that starts with `base`'s (taken as a folder) and climbs out of it by no `..` segment,
/// written or percent-encoded. What credentials meant for one server are sent to.
pub fn http_within(url: &str, base: &str) -> bool {
    let (Ok(d1), Ok(d2)) = (http_destination(url), http_destination(base)) else {
        return false;
    };
    let path = |u: &str| {
        u.parse::<ureq::http::Uri>()
            .ok()
            .map(|u| u.path().to_owned())
    };
    let (Some(path), Some(mut prefix)) = (path(url), path(base)) else {
        return false;
    };
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    let climbs = path.split('/').any(|segment| {
        let s = segment.to_ascii_lowercase().replace("%2e", ".");
        s == ".." || s == "."
    });
    d1 == d2 && !climbs && (path.starts_with(&prefix) || format!("{path}/") == prefix)
}

/// How an HTTP status reads as an attempt's outcome: 2xx ok; 408, 429 and 5xx transient (with
/// `Retry-After`); redirects and other statuses permanent.
pub(crate) fn http_status(status: u16, retry_after: Option<&str>) -> Attempt {
    match status {
        200..=299 => Attempt::Ok(status),
        408 | 429 | 500..=599 => Attempt::Transient {
            error: format!("the server answered {status}"),
            retry_after: retry_after
                .and_then(|v| workflow::backoff::parse_retry_after(v, now_unix())),
        },
        300..=399 => Attempt::Permanent(format!(
            "the server answered {status}, a redirect (not followed)"
        )),
        _ => Attempt::Permanent(format!("the server answered {status}")),
    }
}

/// How a transport error reads: timeouts, connection and IO failures are transient; a request
/// that cannot be made is permanent.
pub(crate) fn transport_error(e: &ureq::Error) -> Attempt {
    match e {
        ureq::Error::Other(private) if private.is::<PrivateAddress>() => {
            Attempt::Permanent(private.to_string())
        }
        ureq::Error::Timeout(_)
        | ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Protocol(_) => Attempt::Transient {
            error: format!("cannot talk to the server: {e}"),
            retry_after: None,
        },
        _ => Attempt::Permanent(format!("cannot make the request: {e}")),
    }
}

fn caldav_attempt(e: caldav::CaldavError) -> Attempt {
    match &e {
        caldav::CaldavError::Transport { url, source } => match transport_error(source) {
            Attempt::Transient { retry_after, .. } => Attempt::Transient {
                error: e.to_string(),
                retry_after,
            },
            // Why it cannot be made (a private address, ...), not "cannot talk to the server".
            Attempt::Permanent(why) => Attempt::Permanent(format!("`{url}`: {why}")),
            _ => Attempt::Permanent(e.to_string()),
        },
        caldav::CaldavError::PutStatus {
            status,
            retry_after,
            ..
        } => match http_status(*status, retry_after.as_deref()) {
            Attempt::Transient { retry_after, .. } => Attempt::Transient {
                error: e.to_string(),
                retry_after,
            },
            _ => Attempt::Permanent(e.to_string()),
        },
        _ => Attempt::Permanent(e.to_string()),
    }
}

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_is_the_same_server_and_folder() {
        let base = "https://cal.example.com/dav/";
        for inside in [
            "https://cal.example.com/dav/raj/work/",
            "https://CAL.example.com:443/dav/x",
            "https://cal.example.com/dav",
        ] {
            assert!(http_within(inside, base), "{inside}");
        }
        for outside in [
            "https://attacker.example/dav/raj/",
            "https://cal.example.com.attacker.example/dav/raj/",
            "http://cal.example.com/dav/raj/",
            "https://cal.example.com:8443/dav/raj/",
            "https://cal.example.com/davx/raj/",
            "https://cal.example.com/other/",
            "https://cal.example.com/dav/../other/",
            "https://cal.example.com/dav/%2E%2e/other/",
            "https://cal.example.com@attacker.example/dav/",
            "not a url",
        ] {
            assert!(!http_within(outside, base), "{outside}");
        }
        assert!(http_within(
            "https://cal.example.com/x/",
            "https://cal.example.com"
        ));
    }

    #[test]
    fn destinations_are_scheme_host_and_port() {
        assert_eq!(
            http_destination("http://Hooks.Example/a/b?token=secret").unwrap(),
            "http://hooks.example:80"
        );
        assert_eq!(
            http_destination("https://user:pw@hooks.example:8443/x").unwrap(),
            "https://hooks.example:8443"
        );
        assert_eq!(
            http_destination("ftp://x/").unwrap_err(),
            "`ftp://x/`: not an http:// or https:// URL"
        );
        assert!(http_destination("not a url").is_err());
    }

    #[test]
    fn statuses_are_classified() {
        assert!(matches!(http_status(204, None), Attempt::Ok(204)));
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(http_status(s, None), Attempt::Transient { .. }),
                "{s}"
            );
        }
        for s in [301, 302, 307, 400, 401, 403, 404, 410, 422] {
            assert!(matches!(http_status(s, None), Attempt::Permanent(_)), "{s}");
        }
        match http_status(429, Some("7")) {
            Attempt::Transient { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_errors_are_cut() {
        let long = "é".repeat(1000);
        let cut = truncate(&long);
        assert_eq!(cut.chars().count(), MAX_ERROR_CHARS + 1);
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn effects_are_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Effects>();
    }

    #[test]
    fn the_jitter_spans_the_unit_interval() {
        let e = Effects::new(EffectsSettings::default());
        let draws: Vec<f64> = (0..1000).map(|_| e.unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        assert!(draws.iter().any(|u| *u < 0.1) && draws.iter().any(|u| *u > 0.9));
    }
}
