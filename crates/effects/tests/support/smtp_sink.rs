#![allow(dead_code)]
//! A real SMTP server for the tests: `aiosmtpd` (run by `$HIREPLANE_TEST_SMTP`, a python that has
//! it) on 127.0.0.1 and a free port, as a sink that counts the messages it accepts by
//! `Message-ID` and prints one JSON line per `DATA` it sees. Messages whose `Message-ID` contains
//! `flaky` are refused with `451` the first time; recipients starting with `nobody@` are refused
//! with `550`. [`SmtpSink::start_secure`] adds TLS (STARTTLS required, or implicit) with a given
//! certificate and, optionally, required `AUTH` with one user. Killed on drop.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const SINK: &str = r#"
import asyncio, email, email.policy, json, socket, sys, threading
from aiosmtpd.controller import Controller

accepted = {}
tries = {}

class Sink:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        mid = msg["Message-ID"]
        tries[mid] = tries.get(mid, 0) + 1
        if "flaky" in mid and tries[mid] == 1:
            verdict = "451 4.3.0 try again later"
        else:
            accepted[mid] = accepted.get(mid, 0) + 1
            verdict = "250 OK"
        print(json.dumps({
            "message_id": mid,
            "tls": session.ssl is not None or mode == "implicit",
            "authenticated": bool(session.authenticated),
            "verdict": verdict[:3],
            "accepted": accepted.get(mid, 0),
            "tries": tries[mid],
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["Subject"]),
            "text": msg.get_content(),
        }), flush=True)
        return verdict

mode, cert, key, user, password = (sys.argv[1:] + [""] * 5)[:5]
kwargs = {}
if mode:
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    else:
        kwargs.update(ssl_context=context, server_hostname="localhost")
if user:
    from aiosmtpd.smtp import AuthResult, LoginPassword
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)
    # With implicit TLS every session is TLS, but aiosmtpd only counts STARTTLS as such.
    kwargs.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=(mode == "starttls"))

s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
controller = Controller(Sink(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
print(json.dumps({"port": port}), flush=True)
sys.stdin.read()
controller.stop()
"#;

pub struct SmtpSink {
    child: Child,
    pub port: u16,
    lines: mpsc::Receiver<String>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        SmtpSink::start_with(&[])
    }

    /// A sink with TLS (`mode`: `starttls`, required before `MAIL`, or `implicit`) with the
    /// certificate and key in PEM files, and, when `auth` is given, `AUTH` required for that
    /// user and password.
    pub fn start_secure(
        mode: &str,
        cert: &std::path::Path,
        key: &std::path::Path,
        auth: Option<(&str, &str)>,
    ) -> SmtpSink {
        let (user, password) = auth.unwrap_or(("", ""));
        SmtpSink::start_with(&[
            mode,
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
            user,
            password,
        ])
    }

    fn start_with(args: &[&str]) -> SmtpSink {
        let python = std::env::var("HIREPLANE_TEST_SMTP")
            .expect("HIREPLANE_TEST_SMTP: a python interpreter with aiosmtpd installed");
        let mut child = Command::new(&python)
            .args(["-c", SINK])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{python}`: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("aiosmtpd did not start within 30 s");
        let port = first
            .strip_prefix("{\"port\": ")
            .and_then(|p| p.strip_suffix('}'))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("aiosmtpd said `{first}`"));
        SmtpSink { child, port, lines }
    }

    /// The next `DATA` the sink saw, as its JSON line.
    pub fn next(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the sink saw no message within 10 s")
    }

    /// Whether the sink saw another `DATA` within `wait`.
    pub fn more(&self, wait: Duration) -> Option<String> {
        self.lines.recv_timeout(wait).ok()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
