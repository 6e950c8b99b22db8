//! A NATS server with JetStream of the test's own (`HIREPLANE_TEST_NATS_SERVER` names the
//! `nats-server` binary), on a free port with its store in a temporary folder, so that a test
//! has its streams to itself and can stop and restart the server. Dropping it stops it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nats {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Nats {
    /// Starts a server on a free port.
    pub fn start() -> Nats {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut nats = Nats {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        nats.restart();
        nats
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port and store, and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the NATS server is running");
        let binary =
            std::env::var("HIREPLANE_TEST_NATS_SERVER").expect("HIREPLANE_TEST_NATS_SERVER");
        let child = Command::new(binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGKILL: what a crash or a network partition looks like to clients).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every message of stream `stream`, in the stream's order: (subject, `Nats-Msg-Id`,
    /// payload as JSON).
    pub fn messages(&self, stream: &str) -> Vec<(String, String, serde_json::Value)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = async_nats::connect(self.url()).await.unwrap();
            let js = async_nats::jetstream::new(client);
            let mut stream = js.get_stream(stream).await.unwrap();
            let state = stream.info().await.unwrap().state.clone();
            let (first, last) = (state.first_sequence, state.last_sequence);
            let mut out = Vec::new();
            for seq in first..=last {
                if state.messages == 0 {
                    break;
                }
                let m = stream.get_raw_message(seq).await.unwrap();
                let id = m
                    .headers
                    .get("Nats-Msg-Id")
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default();
                out.push((
                    m.subject.to_string(),
                    id,
                    serde_json::from_slice(&m.payload).unwrap(),
                ));
            }
            out
        })
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}
