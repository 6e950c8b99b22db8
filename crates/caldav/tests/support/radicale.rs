#![allow(dead_code)]
//! A real Radicale CalDAV server for tests: `$HIREPLANE_TEST_RADICALE -m radicale` on
//! 127.0.0.1 with a free port and a temporary storage folder, killed on drop. Shared by the
//! tests of `caldav` and `cli` (`#[path]`); it speaks plain HTTP/1.1 over std's `TcpStream` so
//! that it needs no HTTP crate.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Radicale {
    child: Child,
    pub port: u16,
    /// `user:password` sent with every request of the harness, when the server checks them.
    basic: Option<String>,
    dir: tempfile::TempDir,
}

fn python() -> String {
    std::env::var("HIREPLANE_TEST_RADICALE")
        .expect("HIREPLANE_TEST_RADICALE: a python interpreter with radicale installed")
}

/// A port that was free a moment ago (bound, then released); `start` retries on a race.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Radicale {
    /// A server without authentication.
    pub fn start() -> Radicale {
        Radicale::start_with(None)
    }

    /// A server that checks HTTP Basic credentials (`user`, `password`) from an htpasswd file.
    pub fn start_with_user(user: &str, password: &str) -> Radicale {
        Radicale::start_with(Some((user, password)))
    }

    fn start_with(user: Option<(&str, &str)>) -> Radicale {
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("radicale.log")).unwrap();
            let mut cmd = Command::new(python());
            cmd.args(["-m", "radicale", "--server-hosts"])
                .arg(format!("127.0.0.1:{port}"))
                .arg("--storage-filesystem-folder")
                .arg(dir.path().join("collections"))
                .args(["--web-type", "none", "--logging-level", "warning"]);
            match user {
                None => {
                    cmd.args(["--auth-type", "none"]);
                }
                Some((user, password)) => {
                    let htpasswd = dir.path().join("htpasswd");
                    std::fs::write(&htpasswd, format!("{user}:{password}\n")).unwrap();
                    cmd.args(["--auth-type", "htpasswd", "--auth-htpasswd-filename"])
                        .arg(&htpasswd)
                        .args(["--auth-htpasswd-encryption", "plain"]);
                }
            }
            // No configuration file of this machine: `--config` with no path.
            cmd.arg("--config")
                .env_remove("RADICALE_CONFIG")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            let child = cmd.spawn().unwrap_or_else(|e| {
                panic!("cannot start `{} -m radicale`: {e}", python());
            });
            let mut server = Radicale {
                child,
                port,
                basic: user.map(|(u, p)| format!("{u}:{p}")),
                dir,
            };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(30) {
                if server.child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile, or radicale failed: try again
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && server.try_request("OPTIONS", "/", None, "").is_some()
                {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            last_log = server.log();
        }
        panic!("radicale did not start; its log:\n{last_log}");
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("radicale.log")).unwrap_or_default()
    }

    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("collections")
    }

    fn try_request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        if let Some(basic) = &self.basic {
            head.push_str(&format!("Authorization: Basic {}\r\n", base64(basic)));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).ok()?;
        stream.write_all(body.as_bytes()).ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let status = answer.split_whitespace().nth(1)?.parse().ok()?;
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Some((status, body))
    }

    /// Sends a request; panics unless the status is one of `expected`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
        expected: &[u16],
    ) -> String {
        let (status, answer) = self
            .try_request(method, path, content_type, body)
            .unwrap_or_else(|| panic!("{method} {path}: no answer; log:\n{}", self.log()));
        assert!(
            expected.contains(&status),
            "{method} {path}: {status} {answer}\nlog:\n{}",
            self.log()
        );
        answer
    }

    /// A calendar collection at `path` (`/user/name/`), its parent created first.
    pub fn mkcalendar(&self, path: &str) {
        let parent = Path::new(path.trim_end_matches('/'))
            .parent()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if parent != "/" {
            self.request("MKCOL", &format!("{parent}/"), None, "", &[201, 405]);
        }
        self.request("MKCALENDAR", path, None, "", &[201]);
    }

    /// Stores a calendar object resource.
    pub fn put(&self, path: &str, ics: &str) {
        self.request(
            "PUT",
            path,
            Some("text/calendar; charset=utf-8"),
            ics,
            &[201, 204],
        );
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
