//! The resilience layer against real components: fault-injecting HTTP receivers on local ports
//! (failing, hanging, throttling, redirecting), webhook signatures checked by Python's `hmac`,
//! an `aiosmtpd` sink (when `HIREPLANE_TEST_SMTP` names a python that has it) and a real
//! Radicale (when `HIREPLANE_TEST_RADICALE` names a python that has it), and an HTTPS receiver
//! (rustls, with a CA made at run time).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../caldav/tests/support/radicale.rs"]
mod radicale;
#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/smtp_sink.rs"]
mod smtp_sink;
#[path = "support/tls_receiver.rs"]
mod tls_receiver;

use std::time::{Duration, Instant};

use effects::{
    CalendarPut, CallError, Effects, EffectsSettings, Email, SmtpRelay, SmtpTls, WebhookRequest,
};
use receiver::{Mode, Receiver};
use workflow::backoff::Backoff;
use workflow::breaker::{BreakerSettings, State};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn answer(status: u16) -> Mode {
    Mode::Answer(status, vec![])
}

/// Quick settings: a small breaker, short timeouts, short waits.
fn settings() -> EffectsSettings {
    EffectsSettings {
        breaker: BreakerSettings {
            window: 4,
            minimum_calls: 4,
            failure_rate_percent: 50,
            slow_call: None,
            slow_call_rate_percent: 100,
            open_for: Duration::from_millis(600),
            half_open_probes: 1,
            max_half_open: Duration::from_secs(10),
        },
        max_concurrent: 2,
        connect_timeout: Duration::from_millis(500),
        attempt_timeout: Duration::from_millis(400),
        retries: 2,
        backoff: Backoff {
            base: Duration::from_millis(20),
            cap: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(2),
        },
        smtp: None,
        tls_roots: None,
        public_only: false,
    }
}

fn hook(url: String, key: &str) -> WebhookRequest {
    WebhookRequest {
        url,
        secret: SECRET.into(),
        idempotency_key: key.into(),
        body: r#"{"type":"application.hired","data":{"id":"app_1","name":"Zoë"}}"#.into(),
    }
}

/// The python of the SMTP sink, which also checks signatures.
fn python() -> String {
    std::env::var("HIREPLANE_TEST_SMTP").expect("HIREPLANE_TEST_SMTP: a python interpreter")
}

/// The signature the layer's own code gives a received request (for tests that do not need an
/// independent check: `webhooks_are_signed_as_an_independent_receiver_checks` does that).
fn signed_as_sent(req: &receiver::Request) -> bool {
    let ts: i64 = req.header("webhook-timestamp").unwrap().parse().unwrap();
    let want = effects::sign(SECRET, req.header("webhook-id").unwrap(), ts, &req.body).unwrap();
    req.header("webhook-signature") == Some(want.as_str())
}

/// Python's `hmac` checks a received webhook as a Standard Webhooks receiver would: the
/// signature over `id.timestamp.body` with the secret's bytes, and the timestamp within 5
/// minutes. True when it verifies.
fn python_verifies(req: &receiver::Request) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    std::fs::write(&body, &req.body).unwrap();
    let script = r#"
import base64, hashlib, hmac, sys, time
secret, wid, ts, sigs, path = sys.argv[1:6]
key = base64.b64decode(secret.removeprefix("whsec_"))
body = open(path, "rb").read()
want = base64.b64encode(hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
fresh = abs(time.time() - int(ts)) <= 300
ok = fresh and any(s.startswith("v1,") and hmac.compare_digest(s[3:], want) for s in sigs.split(" "))
print("valid" if ok else "invalid")
"#;
    let out = std::process::Command::new(python())
        .args(["-c", script, SECRET])
        .arg(req.header("webhook-id").unwrap_or(""))
        .arg(req.header("webhook-timestamp").unwrap_or(""))
        .arg(req.header("webhook-signature").unwrap_or(""))
        .arg(&body)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        said == "valid" || said == "invalid",
        "python: {said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    said == "valid"
}

#[test]
#[cfg_attr(
    not(hp_smtp),
    ignore = "needs HIREPLANE_TEST_SMTP: a python (with aiosmtpd, see .ci/run) to check signatures with Python's hmac"
)]
fn webhooks_are_signed_as_an_independent_receiver_checks() {
    let r = Receiver::start(answer(204));
    let e = Effects::new(settings());
    let req = hook(r.url("/hooks/hired?x=1"), "evt_01J9Z");
    let delivered = e.webhook(&req).unwrap();
    assert_eq!(delivered.attempts, 1);
    assert_eq!(delivered.status, 204);
    assert_eq!(
        delivered.destination,
        format!("http://127.0.0.1:{}", r.port)
    );
    let got = r.requests();
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert_eq!(
        (g.method.as_str(), g.path.as_str()),
        ("POST", "/hooks/hired?x=1")
    );
    assert_eq!(
        g.body,
        req.body.as_bytes(),
        "the body is sent byte for byte"
    );
    assert_eq!(g.header("content-type"), Some("application/json"));
    assert_eq!(g.header("webhook-id"), Some("evt_01J9Z"));
    assert!(python_verifies(g), "{g:?}");
    // The verifier is no rubber stamp: a changed body, id or secret fails it.
    let mut tampered = g.clone();
    tampered.body = br#"{"type":"application.hired","data":{"id":"app_2"}}"#.to_vec();
    assert!(!python_verifies(&tampered));
    let mut renamed = g.clone();
    for h in &mut renamed.headers {
        if h.0 == "webhook-id" {
            h.1 = "evt_other".into();
        }
    }
    assert!(!python_verifies(&renamed));
    let other_secret = WebhookRequest {
        secret: "whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=".into(),
        ..hook(r.url("/"), "evt_x")
    };
    e.webhook(&other_secret).unwrap();
    assert!(!python_verifies(&r.requests()[1]));
}

#[test]
fn retries_keep_the_idempotency_key_and_wait_as_retry_after_says() {
    // 503 with `Retry-After: 1`, then 200.
    let r = Receiver::start(Mode::FirstThen(
        1,
        Box::new(Mode::Answer(503, vec![("Retry-After".into(), "1".into())])),
        Box::new(answer(200)),
    ));
    let e = Effects::new(settings());
    let started = Instant::now();
    let delivered = e.webhook(&hook(r.url("/"), "evt_retry")).unwrap();
    let took = started.elapsed();
    assert_eq!(delivered.attempts, 2);
    let got = r.requests();
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|g| g.header("webhook-id") == Some("evt_retry"))
    );
    assert!(
        got.iter().all(signed_as_sent),
        "each attempt signs its own timestamp"
    );
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(990),
        "waited {gap:?}, Retry-After said 1 s"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_long_retry_after_goes_back_to_the_durable_job_at_once() {
    let r = Receiver::start(Mode::Answer(
        429,
        vec![("Retry-After".into(), "120".into())],
    ));
    let e = Effects::new(settings());
    let started = Instant::now();
    let err = e.webhook(&hook(r.url("/"), "evt_429")).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(
        err,
        CallError::Transient {
            destination: format!("http://127.0.0.1:{}", r.port),
            error: "the server answered 429".into(),
            retry_after: Some(Duration::from_secs(120)),
        }
    );
    assert_eq!(
        r.requests().len(),
        1,
        "no in-call retry against a 2-minute Retry-After"
    );
    // An HTTP date works too.
    let r = Receiver::start(Mode::Answer(
        503,
        vec![("Retry-After".into(), "Fri, 01 Jan 2100 00:00:00 GMT".into())],
    ));
    match e.webhook(&hook(r.url("/"), "evt_503")).unwrap_err() {
        CallError::Transient { retry_after, .. } => {
            assert!(retry_after.unwrap() > Duration::from_secs(3600 * 24 * 365))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn statuses_and_redirects_are_classified() {
    let e = Effects::new(EffectsSettings {
        retries: 0,
        ..settings()
    });
    for (status, transient) in [
        (408, true),
        (500, true),
        (503, true),
        (400, false),
        (404, false),
        (410, false),
    ] {
        let r = Receiver::start(answer(status));
        let err = e.webhook(&hook(r.url("/"), "evt_s")).unwrap_err();
        match (&err, transient) {
            (
                CallError::Transient {
                    retry_after: None, ..
                },
                true,
            )
            | (CallError::Permanent { .. }, false) => {}
            _ => panic!("{status}: {err:?}"),
        }
        assert!(
            err.to_string().contains(&format!("answered {status}")),
            "{err}"
        );
    }
    // A redirect is not followed, whatever it points at.
    let elsewhere = Receiver::start(answer(200));
    let r = Receiver::start(Mode::Answer(
        307,
        vec![("Location".into(), elsewhere.url("/stolen"))],
    ));
    let err = e.webhook(&hook(r.url("/"), "evt_r")).unwrap_err();
    assert!(matches!(err, CallError::Permanent { .. }), "{err:?}");
    assert!(err.to_string().contains("redirect (not followed)"), "{err}");
    assert!(elsewhere.requests().is_empty());
    // Nothing listens: transient (connection refused).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = e
        .webhook(&hook(format!("http://127.0.0.1:{port}/"), "evt_c"))
        .unwrap_err();
    assert!(matches!(err, CallError::Transient { .. }), "{err:?}");
    // A request that cannot be made.
    let err = e
        .webhook(&hook("ftp://127.0.0.1/".into(), "evt_f"))
        .unwrap_err();
    assert!(matches!(err, CallError::Permanent { .. }), "{err:?}");
    let bad_secret = WebhookRequest {
        secret: "whsec_c2hvcnQ=".into(),
        ..hook(r.url("/"), "evt_b")
    };
    let err = e.webhook(&bad_secret).unwrap_err();
    assert!(err.to_string().contains("5 bytes"), "{err}");
    let injected = hook(r.url("/"), "evt\r\nx-evil: 1");
    assert!(matches!(
        e.webhook(&injected).unwrap_err(),
        CallError::Permanent { .. }
    ));
    assert_eq!(r.requests().len(), 1, "refused requests are not sent");
}

#[test]
fn the_breaker_opens_fails_fast_and_half_open_probes_recover_it() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        let r = Receiver::start(answer(500));
        let e = Effects::new(settings());
        let dest = format!("http://127.0.0.1:{}", r.port);
        // Call 1: 3 attempts fail (4 needed); call 2: the 4th attempt opens the breaker, and
        // the retry after it is refused: Open.
        let err = e.webhook(&hook(r.url("/"), "evt_1")).unwrap_err();
        assert!(matches!(err, CallError::Transient { .. }), "{err:?}");
        let err = e.webhook(&hook(r.url("/"), "evt_2")).unwrap_err();
        assert!(matches!(err, CallError::Open { .. }), "{err:?}");
        assert_eq!(r.requests().len(), 4);
        let status = e.status();
        assert_eq!(status.len(), 1);
        assert_eq!(status[0].state, State::Open);
        assert_eq!(status[0].attempts, 4);
        assert_eq!(status[0].failures, 4);
        assert_eq!(
            status[0].last_error.as_deref(),
            Some("the server answered 500")
        );

        // While open: fail fast, nothing sent. The slowest refusal is far below the timeout.
        let mut slowest = Duration::ZERO;
        for i in 0..200 {
            let started = Instant::now();
            let err = e
                .webhook(&hook(r.url("/"), &format!("evt_fast{i}")))
                .unwrap_err();
            slowest = slowest.max(started.elapsed());
            match err {
                CallError::Open {
                    destination,
                    retry_in,
                } => {
                    assert_eq!(destination, dest);
                    assert!(retry_in <= Duration::from_millis(600));
                }
                other => panic!("{other:?}"),
            }
        }
        eprintln!("open: the slowest of 200 refusals took {slowest:?} (attempt timeout 400 ms)");
        assert!(slowest < Duration::from_millis(100), "{slowest:?}");
        assert_eq!(r.requests().len(), 4, "nothing sent while open");

        // The store's writer: due at once after a transition, else every `every`.
        let mut written = effects::StatusWritten::default();
        let every = Duration::from_secs(3600);
        assert!(
            e.status_due(&mut written, every).is_some(),
            "the first time"
        );
        assert!(
            e.status_due(&mut written, every).is_none(),
            "nothing changed"
        );

        // The destination recovers; after `open_for` one probe goes through and closes it.
        r.set(answer(200));
        std::thread::sleep(Duration::from_millis(650));
        let delivered = e.webhook(&hook(r.url("/"), "evt_3")).unwrap();
        assert_eq!(delivered.attempts, 1);
        let status = e.status();
        assert_eq!(status[0].state, State::Closed);
        assert_eq!(
            status[0].transitions, 3,
            "closed > open > half-open > closed"
        );
        assert_eq!(status[0].rejected, 201);
        let due = e
            .status_due(&mut written, every)
            .expect("due after transitions");
        assert_eq!(due, status);
        assert!(e.status_due(&mut written, every).is_none());
        assert!(
            e.status_due(&mut written, Duration::ZERO).is_some(),
            "every 0 s"
        );

        // A probe that fails reopens it.
        r.set(answer(500));
        for i in 0..2 {
            let _ = e.webhook(&hook(r.url("/"), &format!("evt_again{i}")));
        }
        assert_eq!(e.status()[0].state, State::Open);
        std::thread::sleep(Duration::from_millis(650));
        let err = e.webhook(&hook(r.url("/"), "evt_probe")).unwrap_err();
        assert!(
            matches!(err, CallError::Open { .. }),
            "the failed probe reopened it: {err:?}"
        );
        assert_eq!(e.status()[0].state, State::Open);
    });
    let text = metrics.render();
    let has = |needle: &str| {
        assert!(
            text.lines().any(|l| l.contains(needle)),
            "no `{needle}` in:\n{text}"
        );
    };
    has("hireplane_breaker_state{destination=\"http://127.0.0.1:");
    has("hireplane_breaker_transitions_total{");
    has("from=\"half_open\",to=\"closed\"");
    has("from=\"closed\",to=\"open\"");
    has("outcome=\"open\"");
    has("outcome=\"transient\"");
    has("outcome=\"ok\"");
    has("hireplane_external_call_seconds");
    let state = text
        .lines()
        .find(|l| l.starts_with("hireplane_breaker_state{"))
        .unwrap();
    assert!(state.ends_with(" 2"), "open is 2: {state}");
}

/// With `public_only`, a call whose host resolves to a private address is refused as it
/// connects, whatever a check before it found: the addresses checked are the ones connected
/// to, so a name that resolves to a public address first and to a private one next (DNS
/// rebinding) cannot reach the internal network. Here `localhost` and `127.0.0.1` stand for
/// what the name resolves to at connect time.
#[test]
fn public_only_calls_never_connect_to_a_private_address() {
    let r = Receiver::start(answer(200));
    let e = Effects::new(EffectsSettings {
        public_only: true,
        ..settings()
    });
    for url in [
        r.url("/"),
        format!("http://localhost:{}/", r.port),
        format!("http://[::ffff:127.0.0.1]:{}/", r.port),
    ] {
        let err = e.webhook(&hook(url.clone(), "evt_private")).unwrap_err();
        let CallError::Permanent { error, .. } = &err else {
            panic!("{url}: {err}");
        };
        assert!(error.contains("private address"), "{url}: {error}");
    }
    assert!(r.requests().is_empty(), "nothing reached the receiver");
    // A calendar's PUT likewise (red team, pass 10: it had a client of its own).
    let err = e
        .caldav_put(&CalendarPut {
            collection_url: r.url("/dav/cal/"),
            uid: "private@hireplane.test".into(),
            ics: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into(),
            credentials: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("private address"), "{err}");
    assert!(r.requests().is_empty(), "nothing reached the receiver");
    // The same layer without `public_only` reaches it.
    let open = Effects::new(settings());
    open.webhook(&hook(r.url("/"), "evt_open")).unwrap();
    assert_eq!(r.requests().len(), 1);
}

#[test]
fn permanent_refusals_do_not_open_the_breaker() {
    let r = Receiver::start(answer(422));
    let e = Effects::new(settings());
    for i in 0..10 {
        let err = e
            .webhook(&hook(r.url("/"), &format!("evt_{i}")))
            .unwrap_err();
        assert!(matches!(err, CallError::Permanent { .. }));
    }
    assert_eq!(r.requests().len(), 10, "one attempt each, no retry");
    assert_eq!(e.status()[0].state, State::Closed);
    assert_eq!(e.status()[0].failures, 0);
}

#[test]
fn a_hanging_destination_holds_its_bulkhead_not_the_others() {
    let hanging = Receiver::start(Mode::Hang);
    let healthy = Receiver::start(answer(200));
    let e = Effects::new(EffectsSettings {
        retries: 0,
        ..settings()
    });
    let results = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..6)
            .map(|i| {
                let e = &e;
                let url = hanging.url("/");
                scope.spawn(move || {
                    let started = Instant::now();
                    let out = e.webhook(&hook(url, &format!("evt_h{i}")));
                    (out, started.elapsed())
                })
            })
            .collect();
        // Meanwhile the healthy destination answers as usual.
        std::thread::sleep(Duration::from_millis(50));
        let mut slowest = Duration::ZERO;
        for i in 0..20 {
            let started = Instant::now();
            e.webhook(&hook(healthy.url("/"), &format!("evt_ok{i}")))
                .unwrap();
            slowest = slowest.max(started.elapsed());
        }
        eprintln!("healthy destination while the other hangs: slowest of 20 calls {slowest:?}");
        assert!(slowest < Duration::from_millis(200), "{slowest:?}");
        calls
            .into_iter()
            .map(|c| c.join().unwrap())
            .collect::<Vec<_>>()
    });
    let busy: Vec<_> = results
        .iter()
        .filter(|(r, _)| matches!(r, Err(CallError::Busy { .. })))
        .collect();
    let timed_out: Vec<_> = results
        .iter()
        .filter(|(r, _)| matches!(r, Err(CallError::Transient { .. })))
        .collect();
    assert_eq!(busy.len(), 4, "{results:?}");
    assert_eq!(timed_out.len(), 2, "{results:?}");
    for (_, took) in &busy {
        assert!(
            *took < Duration::from_millis(100),
            "busy refused in {took:?}"
        );
    }
    for (r, took) in &timed_out {
        assert!(
            *took >= Duration::from_millis(390) && *took < Duration::from_millis(1500),
            "{r:?} after {took:?}"
        );
        assert!(format!("{r:?}").contains("timeout"), "{r:?}");
    }
    assert!(
        hanging.max_in_flight() <= 2,
        "the bulkhead let {} in",
        hanging.max_in_flight()
    );
    let status = e.status();
    let h = status
        .iter()
        .find(|s| s.destination.ends_with(&format!(":{}", hanging.port)))
        .unwrap();
    assert_eq!(
        (h.attempts, h.failures, h.rejected, h.in_flight),
        (2, 2, 4, 0)
    );
}

#[test]
#[cfg_attr(
    not(hp_smtp),
    ignore = "needs HIREPLANE_TEST_SMTP: a python with aiosmtpd installed (see .ci/run)"
)]
fn email_reaches_a_real_smtp_server_once_per_message_id() {
    let sink = smtp_sink::SmtpSink::start();
    let e = Effects::new(EffectsSettings {
        smtp: Some(SmtpRelay {
            host: "127.0.0.1".into(),
            port: sink.port,
            hello: "hireplane.test".into(),
            tls: SmtpTls::None,
            credentials: None,
        }),
        attempt_timeout: Duration::from_secs(5),
        ..settings()
    });
    let email = Email {
        idempotency_key: "interview-7@hireplane.test".into(),
        from: "noreply@hireplane.test".into(),
        to: vec!["ada@example.test".into(), "grace@example.test".into()],
        subject: "Entretien planifié : mardi à 10 h — salle « Ada »".into(),
        text: "Bonjour,\n.\nune ligne qui commence par un point\nÀ bientôt\n".into(),
    };
    let delivered = e.email(&email).unwrap();
    assert_eq!((delivered.attempts, delivered.status), (1, 250));
    assert_eq!(
        delivered.destination,
        format!("smtp://127.0.0.1:{}", sink.port)
    );
    let seen: serde_json::Value = serde_json::from_str(&sink.next()).unwrap();
    assert_eq!(seen["message_id"], "<interview-7@hireplane.test>");
    assert_eq!(seen["accepted"], 1);
    assert_eq!(seen["from"], "noreply@hireplane.test");
    assert_eq!(
        seen["to"],
        serde_json::json!(["ada@example.test", "grace@example.test"])
    );
    assert_eq!(seen["subject"], email.subject.as_str());
    // In the canonical form of text (CRLF line ends), the line with a lone `.` intact.
    assert_eq!(
        seen["text"],
        "Bonjour,\r\n.\r\nune ligne qui commence par un point\r\nÀ bientôt\r\n"
    );

    // Refused once with 451: retried with the same Message-ID, accepted once.
    let flaky = Email {
        idempotency_key: "flaky-1".into(),
        ..email.clone()
    };
    let delivered = e.email(&flaky).unwrap();
    assert_eq!(delivered.attempts, 2);
    let first: serde_json::Value = serde_json::from_str(&sink.next()).unwrap();
    let second: serde_json::Value = serde_json::from_str(&sink.next()).unwrap();
    assert_eq!(first["message_id"], "<flaky-1@hireplane>");
    assert_eq!(second["message_id"], "<flaky-1@hireplane>");
    assert_eq!(
        (first["verdict"].as_str(), second["verdict"].as_str()),
        (Some("451"), Some("250"))
    );
    assert_eq!(second["accepted"], 1);

    // A recipient refused with 550: permanent, no retry, nothing delivered.
    let refused = Email {
        idempotency_key: "refused-1".into(),
        to: vec!["nobody@example.test".into()],
        ..email.clone()
    };
    let err = e.email(&refused).unwrap_err();
    assert!(matches!(err, CallError::Permanent { .. }), "{err:?}");
    assert!(err.to_string().contains("`RCPT TO` with 550"), "{err}");
    assert_eq!(sink.more(Duration::from_millis(200)), None);

    // Header injection never reaches the relay.
    let injected = Email {
        subject: "hi\r\nBcc: eve@evil.test".into(),
        ..email.clone()
    };
    assert!(matches!(
        e.email(&injected),
        Err(CallError::Permanent { .. })
    ));
    assert_eq!(sink.more(Duration::from_millis(200)), None);
    assert_eq!(e.status()[0].state, State::Closed);
}

#[test]
fn email_to_a_relay_that_is_down_is_transient_and_quick() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = Effects::new(EffectsSettings {
        smtp: Some(SmtpRelay {
            host: "127.0.0.1".into(),
            port,
            hello: "hireplane.test".into(),
            tls: SmtpTls::None,
            credentials: None,
        }),
        ..settings()
    });
    let email = Email {
        idempotency_key: "down-1".into(),
        from: "noreply@hireplane.test".into(),
        to: vec!["ada@example.test".into()],
        subject: "x".into(),
        text: "x".into(),
    };
    let started = Instant::now();
    let err = e.email(&email).unwrap_err();
    assert!(matches!(err, CallError::Transient { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A relay that accepts and never greets: the attempt's deadline cuts it.
    let silent = Receiver::start(Mode::Hang);
    let e = Effects::new(EffectsSettings {
        smtp: Some(SmtpRelay {
            host: "127.0.0.1".into(),
            port: silent.port,
            hello: "hireplane.test".into(),
            tls: SmtpTls::None,
            credentials: None,
        }),
        retries: 0,
        ..settings()
    });
    let started = Instant::now();
    let err = e.email(&email).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, CallError::Transient { .. }), "{err:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    // No relay configured.
    let e = Effects::new(settings());
    assert!(matches!(e.email(&email), Err(CallError::Permanent { .. })));
}

#[test]
#[cfg_attr(
    not(hp_radicale),
    ignore = "needs HIREPLANE_TEST_RADICALE: a python with radicale installed (see .ci/run)"
)]
fn caldav_events_are_put_once_by_their_uid() {
    let server = radicale::Radicale::start();
    server.mkcalendar("/alice/interviews/");
    let e = Effects::new(EffectsSettings {
        attempt_timeout: Duration::from_secs(10),
        ..settings()
    });
    let ics = |summary: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hireplane//effects tests//EN\r\n\
             BEGIN:VEVENT\r\nUID:interview-42@hireplane.test\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART:20260310T140000Z\r\nDTEND:20260310T150000Z\r\nSUMMARY:{summary}\r\n\
             END:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    };
    let put = |summary: &str| CalendarPut {
        collection_url: server.url("/alice/interviews/"),
        uid: "interview-42@hireplane.test".into(),
        ics: ics(summary),
        credentials: None,
    };
    let created = e.caldav_put(&put("Interview")).unwrap();
    assert_eq!(created.status, 201);
    assert_eq!(
        created.destination,
        format!("http://127.0.0.1:{}", server.port)
    );
    // The job retried (the first attempt's answer was lost): the same href, replaced.
    let replaced = e.caldav_put(&put("Interview (moved)")).unwrap();
    assert!([200, 204].contains(&replaced.status), "{replaced:?}");
    let client = caldav::Client::new(&server.base(), None);
    let bodies = client
        .calendar_query(
            "/alice/interviews/",
            "2026-03-01T00:00:00Z".parse().unwrap(),
            "2026-04-01T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    assert!(
        bodies[0].contains("SUMMARY:Interview (moved)"),
        "{bodies:#?}"
    );
    let stored = server.request(
        "GET",
        "/alice/interviews/interview-42%40hireplane.test.ics",
        None,
        "",
        &[200],
    );
    assert!(
        stored.contains("UID:interview-42@hireplane.test"),
        "{stored}"
    );

    // No such collection's parent: a permanent refusal (Radicale: 409), not the breaker's.
    let err = e
        .caldav_put(&CalendarPut {
            collection_url: server.url("/nobody/none/"),
            ..put("x")
        })
        .unwrap_err();
    assert!(matches!(err, CallError::Permanent { .. }), "{err:?}");
    assert_eq!(e.status()[0].state, State::Closed);
}

/// A hostile relay on a local port that writes `chunk` over and over (at most 10,000 times).
fn babbling_relay(chunk: &'static [u8]) -> u16 {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            for _ in 0..10_000 {
                if stream.write_all(chunk).is_err() {
                    break;
                }
            }
        }
    });
    port
}

#[test]
fn a_relay_that_babbles_is_cut_short() {
    let email = Email {
        idempotency_key: "babble-1".into(),
        from: "noreply@hireplane.test".into(),
        to: vec!["ada@example.test".into()],
        subject: "x".into(),
        text: "x".into(),
    };
    for (chunk, says) in [
        (
            &b"220-hello again\r\n"[..],
            "a reply of more than 100 lines",
        ),
        (
            &b"220 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"[..],
            "longer than 2048 bytes",
        ),
    ] {
        let e = Effects::new(EffectsSettings {
            smtp: Some(SmtpRelay {
                host: "127.0.0.1".into(),
                port: babbling_relay(chunk),
                hello: "hireplane.test".into(),
                tls: SmtpTls::None,
                credentials: None,
            }),
            retries: 0,
            ..settings()
        });
        let started = Instant::now();
        let err = e.email(&email).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
        match &err {
            CallError::Transient { error, .. } => assert!(error.contains(says), "{err}"),
            other => panic!("{other:?}"),
        }
    }
}

/// A calendar's redirect is not followed (red team, pass 10: a public calendar URL answering
/// 303 to an internal address reached it).
#[test]
fn caldav_puts_follow_no_redirect() {
    let elsewhere = Receiver::start(answer(201));
    let e = Effects::new(EffectsSettings {
        retries: 0,
        ..settings()
    });
    for status in [303, 307] {
        let r = Receiver::start(Mode::Answer(
            status,
            vec![("Location".into(), elsewhere.url("/internal/admin"))],
        ));
        let err = e
            .caldav_put(&CalendarPut {
                collection_url: r.url("/dav/cal/"),
                uid: format!("redirect-{status}@hireplane.test"),
                ics: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into(),
                credentials: None,
            })
            .unwrap_err();
        assert!(err.to_string().contains(&status.to_string()), "{err}");
        assert_eq!(r.requests().len(), 1);
    }
    assert!(elsewhere.requests().is_empty(), "a redirect was followed");
}

#[test]
fn caldav_puts_are_classified_and_timed_out_like_the_rest() {
    let r = Receiver::start(Mode::Answer(
        503,
        vec![("Retry-After".into(), "120".into())],
    ));
    let e = Effects::new(EffectsSettings {
        retries: 0,
        ..settings()
    });
    let put = CalendarPut {
        collection_url: r.url("/dav/alice/cal"),
        uid: "interview 9@hireplane.test".into(),
        ics: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into(),
        credentials: Some(("alice".into(), "s3cret".into())),
    };
    match e.caldav_put(&put).unwrap_err() {
        CallError::Transient {
            retry_after, error, ..
        } => {
            assert_eq!(retry_after, Some(Duration::from_secs(120)));
            assert!(error.contains("answered 503"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    let got = r.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "PUT");
    assert_eq!(
        got[0].path,
        "/dav/alice/cal/interview%209%40hireplane.test.ics"
    );
    assert_eq!(
        got[0].header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    // alice:s3cret
    assert_eq!(
        got[0].header("authorization"),
        Some("Basic YWxpY2U6czNjcmV0")
    );
    assert_eq!(got[0].body, put.ics.as_bytes());

    r.set(Mode::Hang);
    let started = Instant::now();
    let err = e.caldav_put(&put).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, CallError::Transient { .. }), "{err:?}");
    assert!(
        took >= Duration::from_millis(390) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    r.set(answer(403));
    assert!(matches!(
        e.caldav_put(&put).unwrap_err(),
        CallError::Permanent { .. }
    ));
}

/// HTTPS webhooks: delivered to a receiver whose CA the layer is told to trust; refused, with
/// the certificate problem named, when the layer trusts only Mozilla's roots; and a roots file
/// without a certificate is an error.
#[test]
fn https_webhooks_trust_the_given_roots_only() {
    let rx = tls_receiver::TlsReceiver::start();
    let url = format!("{}/hook", rx.url);
    let trusting = Effects::new(EffectsSettings {
        tls_roots: Some(effects::tls_roots_from_pem(&rx.ca_pem).unwrap()),
        ..settings()
    });
    let done = trusting.webhook(&hook(url.clone(), "msg_tls_1")).unwrap();
    assert_eq!((done.status, done.attempts), (200, 1));
    {
        let seen = rx.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].starts_with("post /hook http/1.1"), "{}", seen[0]);
        assert!(seen[0].contains("webhook-id: msg_tls_1"), "{}", seen[0]);
        assert!(seen[0].contains("webhook-signature: v1,"), "{}", seen[0]);
    }

    let mozilla = Effects::new(settings());
    // Transient, like any failed connection: a receiver fixes its certificate, and the job's
    // retries deliver then.
    match mozilla.webhook(&hook(url, "msg_tls_2")) {
        Err(CallError::Transient {
            destination, error, ..
        }) => {
            assert_eq!(destination, rx.url);
            assert!(
                error.contains("invalid peer certificate: UnknownIssuer"),
                "{error}"
            );
        }
        other => panic!("an unknown issuer must be refused: {other:?}"),
    }
    assert_eq!(
        rx.seen.lock().unwrap().len(),
        1,
        "nothing sent without trust"
    );

    assert_eq!(
        effects::tls_roots_from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .unwrap_err(),
        "no certificate in the PEM text"
    );
}

/// A CA and a `localhost` certificate signed by it ([`tls_receiver::localhost_certificate`]),
/// written as PEM files into `dir`: the CA's certificate (to trust), the certificate and its key
/// (to serve).
fn localhost_certificate(
    dir: &std::path::Path,
) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let (ca_pem, leaf, key) = tls_receiver::localhost_certificate();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca_pem, cert_path, key_path)
}

fn secure_relay(port: u16, tls: SmtpTls, credentials: Option<(&str, &str)>) -> SmtpRelay {
    SmtpRelay {
        host: "localhost".into(),
        port,
        hello: "hireplane.test".into(),
        tls,
        credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
    }
}

fn secure_email(key: &str) -> Email {
    Email {
        idempotency_key: key.into(),
        from: "noreply@hireplane.test".into(),
        to: vec!["ada@example.test".into()],
        subject: "Your interview".into(),
        text: "Tuesday, 10:00.\n".into(),
    }
}

/// Email to relays that want TLS and credentials, as providers' submission ports do: STARTTLS
/// (required by the relay) then `AUTH`, and implicit TLS then `AUTH`, each delivered once with
/// the relay seeing TLS and an authenticated session; a wrong password is a permanent refusal
/// naming `AUTH`; a relay whose certificate is not trusted gets nothing; a relay that does not
/// offer STARTTLS is never spoken to in the clear when the configuration asks for it; and
/// credentials are refused outright for a relay configured without TLS.
#[test]
#[cfg_attr(
    not(hp_smtp),
    ignore = "needs HIREPLANE_TEST_SMTP: a python with aiosmtpd installed (see .ci/run)"
)]
fn email_over_starttls_and_implicit_tls_with_auth() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = localhost_certificate(dir.path());
    let roots = effects::tls_roots_from_pem(&ca).unwrap();
    let layer = |relay: SmtpRelay, roots: Option<effects::TlsRoots>| {
        Effects::new(EffectsSettings {
            smtp: Some(relay),
            tls_roots: roots,
            attempt_timeout: Duration::from_secs(5),
            retries: 0,
            ..settings()
        })
    };
    let user = Some(("hireplane", "s3cret pass"));

    for mode in ["starttls", "implicit"] {
        let sink = smtp_sink::SmtpSink::start_secure(mode, &cert, &key, user);
        let tls = if mode == "starttls" {
            SmtpTls::StartTls
        } else {
            SmtpTls::Implicit
        };
        let e = layer(secure_relay(sink.port, tls, user), Some(roots.clone()));
        let done = e
            .email(&secure_email(&format!("{mode}-1@hireplane.test")))
            .unwrap();
        assert_eq!(done.status, 250, "{mode}");
        let seen: serde_json::Value = serde_json::from_str(&sink.next()).unwrap();
        assert_eq!(seen["message_id"], format!("<{mode}-1@hireplane.test>"));
        assert_eq!(
            (seen["tls"].as_bool(), seen["authenticated"].as_bool()),
            (Some(true), Some(true)),
            "{mode}: {seen}"
        );

        let wrong = layer(
            secure_relay(sink.port, tls, Some(("hireplane", "guess"))),
            Some(roots.clone()),
        );
        match wrong.email(&secure_email(&format!("{mode}-2@hireplane.test"))) {
            Err(CallError::Permanent { error, .. }) => {
                assert!(error.contains("`AUTH` with 535"), "{mode}: {error}");
            }
            other => panic!("{mode}: a wrong password must be refused: {other:?}"),
        }
        let untrusted = layer(secure_relay(sink.port, tls, user), None);
        match untrusted.email(&secure_email(&format!("{mode}-3@hireplane.test"))) {
            Err(CallError::Transient { error, .. }) => {
                assert!(error.contains("UnknownIssuer"), "{mode}: {error}");
            }
            other => panic!("{mode}: an untrusted relay must be refused: {other:?}"),
        }
        assert!(
            sink.more(Duration::from_millis(300)).is_none(),
            "{mode}: only one message"
        );
    }

    // A relay in the clear, while the configuration asks for STARTTLS: nothing is sent.
    let plain = smtp_sink::SmtpSink::start();
    let e = layer(
        secure_relay(plain.port, SmtpTls::StartTls, None),
        Some(roots.clone()),
    );
    match e.email(&secure_email("plain-1@hireplane.test")) {
        Err(CallError::Permanent { error, .. }) => {
            assert!(error.contains("does not offer STARTTLS"), "{error}");
        }
        other => panic!("no downgrade: {other:?}"),
    }
    let e = layer(secure_relay(plain.port, SmtpTls::None, user), None);
    match e.email(&secure_email("plain-2@hireplane.test")) {
        Err(CallError::Permanent { error, .. }) => {
            assert!(error.contains("only sent over TLS"), "{error}");
        }
        other => panic!("credentials in the clear: {other:?}"),
    }
    assert!(
        plain.more(Duration::from_millis(300)).is_none(),
        "nothing reached the plain relay"
    );
}
