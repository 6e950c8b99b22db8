//! An HTTPS receiver for the tests: a CA and a certificate for `localhost` made at run time
//! (rcgen), served by rustls on a local port; it answers every request `200` and records each
//! request's head (request line and headers, lower-cased names). A client that does not trust
//! the CA ends the handshake, and nothing is recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

pub struct TlsReceiver {
    /// `https://localhost:PORT`.
    pub url: String,
    /// The CA's certificate, PEM.
    pub ca_pem: String,
    /// The heads of the requests read, in order.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl TlsReceiver {
    pub fn start() -> TlsReceiver {
        let (ca_pem, leaf, key) = localhost_certificate();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let record = seen.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                serve(&mut tls, &record);
            }
        });
        TlsReceiver {
            url: format!("https://localhost:{port}"),
            ca_pem,
            seen,
        }
    }
}

/// A CA made here (its certificate, PEM) and a certificate for `localhost` it signed, with
/// that certificate's key.
pub fn localhost_certificate() -> (String, rcgen::Certificate, rcgen::KeyPair) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "hireplane test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (ca.pem(), leaf, key)
}

/// Reads one request (head and `content-length` body), records its head in `seen`, then
/// answers it (recorded first: the client may look as soon as it has the answer); `None` when
/// the handshake or the read fails.
fn serve(tls: &mut (impl Read + Write), seen: &Mutex<Vec<String>>) -> Option<()> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tls.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = tls.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    seen.lock().unwrap().push(head);
    tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .ok()?;
    tls.flush().ok()?;
    Some(())
}
