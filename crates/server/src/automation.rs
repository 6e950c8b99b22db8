//! Automation rules at run time (docs/automation.md): the dispatcher, the job handlers of
//! `automation.rule` and `automation.action`, and the adapter through which an action's
//! effects outside (email, webhooks, CalDAV) go to the resilience layer (crate `effects`).
//!
//! Wherever a job worker pool runs (`serve` with `workflow.workers` > 0, `hireplane worker`),
//! [`Automation::start`] registers the two handlers and starts one dispatcher thread with its
//! own connection. The dispatchers of every replica take turns by a lease
//! (`automation-dispatch`, renewed every third of `workflow.dispatch_lease_s`): the holder
//! reads each org's new events and queues their rules' jobs with the cursor's move, in one
//! transaction (`app::Services::dispatch_automation`); the others stand by. It looks every
//! `workflow.dispatch_poll_ms`, and at once when this replica commits a change
//! ([`Automation::wake`]). The same thread writes this process's view of each external
//! destination (breaker state, calls, last error) to the store when a breaker changes state
//! and every 5 s otherwise, which `hireplane workflow status` reads.
//!
//! No policy decision is made here: the handlers call `app`, which runs each rule as its owner.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use app::automation::{
    ACTION_JOB, EffectError, OutgoingCalendarEvent, OutgoingEmail, OutgoingWebhook, Outside,
    RULE_JOB, Step,
};
use app::jobs::{JobHandlers, JobOutcome};
use domain::Instant;
use effects::{CallError, Effects};
use store::Store;
use store::destinations::{BreakerState, DestinationReport};

use crate::settings::{CaldavSettings, WorkflowSettings};

/// The lease the dispatchers take turns by.
pub const DISPATCH_LEASE: &str = "automation-dispatch";
/// How often the destinations' status is written when nothing changed.
const STATUS_EVERY: Duration = Duration::from_secs(5);
/// Destination rows of replicas silent this long are forgotten.
const STATUS_FORGET: Duration = Duration::from_secs(300);

fn now() -> Instant {
    Instant::from_timestamp(jiff::Timestamp::now())
}

fn after(at: Instant, d: Duration) -> Instant {
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    Instant::from_micros(at.as_micros().saturating_add(micros)).unwrap_or(at)
}

/// The effects outside, as `app` asks for them, through the resilience layer.
pub struct EffectsOutside {
    pub effects: Arc<Effects>,
    /// The sender of rules' emails.
    pub from: String,
    /// The CalDAV account (user, password, the server's base URL), if any
    /// ([`crate::settings::CaldavSettings`]).
    pub caldav: Option<(String, String, String)>,
    /// `workflow.calls.allow_private_networks`.
    pub allow_private: bool,
}

/// The CalDAV account of `settings`, refused without the server it belongs to: the
/// credentials go only there.
fn caldav_account(settings: &CaldavSettings) -> Result<Option<(String, String, String)>> {
    if settings.username.is_empty() {
        return Ok(None);
    }
    let base = settings.base_url.trim();
    if base.is_empty() {
        anyhow::bail!(
            "workflow.caldav.base_url: required with `workflow.caldav.username`: the CalDAV server the account belongs to (credentials are sent to calendars under it only)"
        );
    }
    effects::http_destination(base)
        .map_err(|e| anyhow::anyhow!("workflow.caldav.base_url: {e}"))?;
    Ok(Some((
        settings.username.clone(),
        settings.password.clone(),
        base.to_owned(),
    )))
}

/// Refuses a URL whose host resolves to a private address ([`effects::is_private`]), unless
/// allowed, with a message that names the setting. The call itself checks again the addresses
/// it connects to (`EffectsSettings::public_only`), so a name that resolves differently a
/// moment later (DNS rebinding) is refused too.
fn check_public(url: &str, allow: bool) -> Result<(), EffectError> {
    if allow {
        return Ok(());
    }
    let destination =
        effects::http_destination(url).map_err(|error| EffectError::Permanent { error })?;
    let host_port = destination
        .split_once("://")
        .map_or(destination.as_str(), |(_, rest)| rest);
    let host_port = host_port.trim_start_matches('[').replacen("]:", ":", 1);
    let (host, port) = host_port
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| EffectError::Permanent {
            error: format!("`{url}`: no host and port"),
        })?;
    let addrs = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).map_err(|e| {
        EffectError::Retry {
            error: format!("`{destination}`: cannot resolve `{host}`: {e}"),
            after: None,
        }
    })?;
    for a in addrs {
        if effects::is_private(a.ip()) {
            return Err(EffectError::Permanent {
                error: format!(
                    "`{destination}`: `{host}` is the private address {}; rules may call only public addresses unless `workflow.calls.allow_private_networks` is set",
                    a.ip()
                ),
            });
        }
    }
    Ok(())
}

fn effect_error(e: CallError) -> EffectError {
    match e {
        CallError::Open { retry_in, .. } => EffectError::Retry {
            error: e.to_string(),
            after: Some(retry_in),
        },
        CallError::Busy { .. } => EffectError::Retry {
            error: e.to_string(),
            after: None,
        },
        CallError::Transient { retry_after, .. } => EffectError::Retry {
            error: e.to_string(),
            after: retry_after,
        },
        CallError::Permanent { .. } => EffectError::Permanent {
            error: e.to_string(),
        },
    }
}

/// How long an action waits for a free place in its destination's bulkhead before it gives up
/// and retries later: a call finishing soon frees one, while a destination that hangs keeps
/// the wait short.
const SLOT_WAIT: Duration = Duration::from_millis(250);

/// `call`, tried again while the destination's bulkhead is full, for up to [`SLOT_WAIT`].
fn with_slot<T>(mut call: impl FnMut() -> Result<T, CallError>) -> Result<T, CallError> {
    let started = std::time::Instant::now();
    loop {
        match call() {
            Err(CallError::Busy { .. }) if started.elapsed() < SLOT_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

impl Outside for EffectsOutside {
    fn email(&self, email: &OutgoingEmail) -> Result<(), EffectError> {
        let key = email
            .message_id
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned();
        let email = effects::Email {
            idempotency_key: key,
            from: self.from.clone(),
            to: email.to.clone(),
            subject: email.subject.clone(),
            text: email.body.clone(),
        };
        with_slot(|| self.effects.email(&email))
            .map(|_| ())
            .map_err(effect_error)
    }

    fn webhook(&self, hook: &OutgoingWebhook) -> Result<(), EffectError> {
        check_public(&hook.url, self.allow_private)?;
        let request = effects::WebhookRequest {
            url: hook.url.clone(),
            secret: hook.secret.clone(),
            idempotency_key: hook.id.clone(),
            body: hook.body.clone(),
        };
        with_slot(|| self.effects.webhook(&request))
            .map(|_| ())
            .map_err(effect_error)
    }

    fn calendar_put(&self, event: &OutgoingCalendarEvent) -> Result<(), EffectError> {
        check_public(&event.calendar, self.allow_private)?;
        // The account's credentials only to its own server (red team R1).
        let credentials = self.caldav.as_ref().and_then(|(user, password, base)| {
            effects::http_within(&event.calendar, base).then(|| (user.clone(), password.clone()))
        });
        let put = effects::CalendarPut {
            collection_url: event.calendar.clone(),
            uid: event.uid.clone(),
            ics: event.ics.clone(),
            credentials,
        };
        with_slot(|| self.effects.caldav_put(&put))
            .map(|_| ())
            .map_err(effect_error)
    }
}

fn outcome(step: Step, kind: &str) -> JobOutcome {
    match step {
        Step::Done(what) => {
            tracing::debug!(kind, what = %what, "automation job done");
            JobOutcome::Done
        }
        Step::Retry { error, after } => JobOutcome::Retry {
            error,
            retry_after: after,
        },
        Step::Fail(error) => JobOutcome::Discard { error },
    }
}

/// The resilience layer's settings from the server's.
pub fn effects_settings(settings: &WorkflowSettings) -> effects::EffectsSettings {
    // The bulkhead leaves one worker free for other destinations: a destination that hangs
    // holds at most `workers - 1` of them (the rest get `Busy` and retry later).
    let max_concurrent = settings
        .calls
        .max_concurrent
        .min(settings.workers.saturating_sub(1))
        .max(1);
    let mut out = effects::EffectsSettings {
        max_concurrent,
        connect_timeout: Duration::from_millis(settings.calls.connect_timeout_ms.max(1)),
        attempt_timeout: Duration::from_millis(settings.calls.timeout_ms.max(1)),
        retries: settings.calls.retries.min(10),
        // Checked again as each call connects (DNS rebinding), besides `check_public`'s
        // early check, which names the rule's setting.
        public_only: !settings.calls.allow_private_networks,
        ..effects::EffectsSettings::default()
    };
    out.breaker.window = settings.breaker.window.max(1);
    out.breaker.minimum_calls = settings.breaker.minimum_calls.max(1);
    out.breaker.failure_rate_percent = settings.breaker.failure_rate_percent.clamp(1, 100);
    out.breaker.open_for = Duration::from_millis(settings.breaker.open_ms.max(1));
    out.breaker.half_open_probes = settings.breaker.half_open_probes.max(1);
    if !settings.smtp.host.trim().is_empty() {
        out.smtp = Some(effects::SmtpRelay {
            host: settings.smtp.host.trim().to_owned(),
            port: settings.smtp.port,
            hello: "hireplane".to_owned(),
            tls: match settings.smtp.tls {
                crate::settings::SmtpTlsSetting::None => effects::SmtpTls::None,
                crate::settings::SmtpTlsSetting::Starttls => effects::SmtpTls::StartTls,
                crate::settings::SmtpTlsSetting::Tls => effects::SmtpTls::Implicit,
            },
            credentials: (!settings.smtp.username.is_empty()).then(|| {
                (
                    settings.smtp.username.clone(),
                    settings.smtp.password.clone(),
                )
            }),
        });
    }
    out
}

struct Shared {
    stop: AtomicBool,
    wake: (Mutex<bool>, Condvar),
}

/// The automation of one process: its handlers registered, its dispatcher running.
pub struct Automation {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Automation {
    /// Registers the rule and action handlers in `handlers` and starts the dispatcher for
    /// store `database` (see the module).
    pub fn start(
        database: &str,
        settings: &WorkflowSettings,
        services: Arc<app::Services>,
        handlers: &mut JobHandlers,
        holder: &str,
    ) -> Result<Automation> {
        let mut calls = effects_settings(settings);
        let ca_file = settings.calls.ca_file.trim();
        if !ca_file.is_empty() {
            let pem = std::fs::read_to_string(ca_file)
                .with_context(|| format!("workflow.calls.ca_file: cannot read `{ca_file}`"))?;
            calls.tls_roots = Some(
                effects::tls_roots_from_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("workflow.calls.ca_file: `{ca_file}`: {e}"))?,
            );
        }
        let effects = Arc::new(Effects::new(calls));
        let outside = Arc::new(EffectsOutside {
            effects: effects.clone(),
            from: settings.smtp.from.clone(),
            allow_private: settings.calls.allow_private_networks,
            caldav: caldav_account(&settings.caldav)?,
        });
        handlers.register(
            RULE_JOB,
            Arc::new(
                |services: &app::Services, store: &mut Store, job: &store::jobs::Job, at| {
                    outcome(services.run_rule_job(store, job, at), RULE_JOB)
                },
            ),
        );
        handlers.register(
            ACTION_JOB,
            Arc::new(
                move |services: &app::Services, store: &mut Store, job: &store::jobs::Job, at| {
                    outcome(
                        services.run_action_job(store, outside.as_ref(), job, at),
                        ACTION_JOB,
                    )
                },
            ),
        );
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
        });
        let config = Dispatch {
            database: database.to_owned(),
            holder: holder.to_owned(),
            poll: Duration::from_millis(settings.dispatch_poll_ms.max(1)),
            lease: Duration::from_secs(settings.dispatch_lease_s.max(1)),
        };
        let thread = std::thread::Builder::new()
            .name("automation".to_owned())
            .spawn({
                let shared = shared.clone();
                move || dispatch_loop(&config, &shared, &services, &effects)
            })
            .context("starting the automation dispatcher")?;
        Ok(Automation {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Tells the dispatcher a change committed here: it looks at once.
    pub fn wake(&self) {
        if let Ok(mut w) = self.shared.wake.0.lock() {
            *w = true;
        }
        self.shared.wake.1.notify_one();
    }

    /// Stops the dispatcher (its lease is given up) and waits for it.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.wake();
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

struct Dispatch {
    database: String,
    holder: String,
    poll: Duration,
    lease: Duration,
}

fn report(s: &effects::DestinationStatus) -> DestinationReport {
    DestinationReport {
        destination: s.destination.clone(),
        state: match s.state {
            workflow::breaker::State::Closed => BreakerState::Closed,
            workflow::breaker::State::Open => BreakerState::Open,
            workflow::breaker::State::HalfOpen => BreakerState::HalfOpen,
        },
        failure_rate: s.failure_rate,
        window_calls: s.window_calls,
        window_failures: s.window_failures,
        in_flight: s.in_flight,
        attempts: s.attempts,
        failures: s.failures,
        rejected: s.rejected,
        retry_in: s.retry_in,
        last_error: s.last_error.clone(),
        last_error_at: s.last_error_at.and_then(|t| {
            let micros = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_micros();
            Instant::from_micros(i64::try_from(micros).ok()?).ok()
        }),
    }
}

fn dispatch_loop(config: &Dispatch, shared: &Shared, services: &app::Services, effects: &Effects) {
    let mut store: Option<Store> = None;
    let mut held_until: Option<Instant> = None;
    let mut written = effects::StatusWritten::default();
    let mut backoff = Duration::from_millis(100);
    while !shared.stop.load(Ordering::Acquire) {
        let s = match store.as_mut() {
            Some(s) => s,
            None => match Store::open(&config.database) {
                Ok(s) => store.insert(s),
                Err(e) => {
                    tracing::warn!(error = %e, "automation dispatcher: cannot open the store");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            },
        };
        let at = now();
        let mut busy = false;
        let pass = (|| -> Result<(), anyhow::Error> {
            // Renew the lease every third of it; hold it only while renewed.
            let renew = held_until.is_none_or(|until| {
                until.as_micros() - at.as_micros()
                    < i64::try_from((config.lease * 2 / 3).as_micros()).unwrap_or(0)
            });
            if renew {
                let until = after(at, config.lease);
                held_until = s
                    .take_lease(DISPATCH_LEASE, &config.holder, at, until)?
                    .then_some(until);
            }
            if held_until.is_some() {
                busy = services.dispatch_automation(s, at)? > 0;
            }
            if let Some(status) = effects.status_due(&mut written, STATUS_EVERY) {
                let reports: Vec<DestinationReport> = status.iter().map(report).collect();
                s.record_destinations(&config.holder, at, &reports, STATUS_FORGET)?;
            }
            Ok(())
        })();
        if let Err(e) = pass {
            tracing::warn!(error = %format!("{e:#}"), "automation dispatcher");
            held_until = None;
            if s.is_broken() {
                store = None;
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(5));
            continue;
        }
        backoff = Duration::from_millis(100);
        if busy {
            continue;
        }
        let (lock, cvar) = &shared.wake;
        if let Ok(mut woken) = lock.lock() {
            if !*woken {
                woken = match cvar.wait_timeout(woken, config.poll) {
                    Ok((w, _)) => w,
                    Err(_) => continue,
                };
            }
            *woken = false;
        }
    }
    if let Some(s) = store.as_mut() {
        let _ = s.release_lease(DISPATCH_LEASE, &config.holder);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_networks_are_told_apart_from_public_ones() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            // Red team notes: IPv4 inside IPv6, and site-local.
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "fec0::1",
            // Pass 11: benchmarking, protocol assignments, reserved, SIIT.
            "198.18.0.1",
            "198.19.255.1",
            "192.0.0.8",
            "240.0.0.1",
            "::ffff:0:127.0.0.1",
        ] {
            assert!(effects::is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "198.20.0.1",
            "192.0.3.200",
        ] {
            assert!(!effects::is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn calls_to_private_addresses_are_refused_unless_allowed() {
        let refused = check_public("http://127.0.0.1:8080/hook", false).unwrap_err();
        assert!(
            matches!(&refused, EffectError::Permanent { error } if error.contains("allow_private_networks")),
            "{refused:?}"
        );
        assert!(check_public("http://[::1]:8080/hook", false).is_err());
        assert!(check_public("http://localhost:5432/", false).is_err());
        assert!(check_public("http://127.0.0.1:8080/hook", true).is_ok());
    }
}
