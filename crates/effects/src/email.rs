//! Email: one plain-text message handed to an SMTP relay (RFC 5321), in the clear, after
//! `STARTTLS` (RFC 3207), or over implicit TLS (RFC 8314, port 465), with `AUTH PLAIN` or
//! `AUTH LOGIN` (RFC 4954) when the relay wants credentials.
//!
//! A small client written here rather than `lettre`: lettre 0.11 with only `smtp-transport` and
//! `builder` is 60 crates (`url`, `idna` with ICU's tables, `nom`, `email_address`, ...), and
//! what we need is one session (`EHLO`, `MAIL FROM`, `RCPT TO`, `DATA`, `QUIT`) bounded by one
//! deadline, with the reply codes to tell transient (4xx) from permanent (5xx) refusals. A
//! relay that answers slowly or endlessly is cut by the attempt's deadline and by a limit on a
//! reply's lines and length.
//!
//! The message (RFC 5322) is `text/plain; charset=utf-8` in base64 (7-bit clean whatever the
//! text and the relay), its `Subject` an RFC 2047 encoded word when it is not plain ASCII.
//! Addresses are plain ASCII `local@domain` (no SMTPUTF8); no header value may hold a line
//! break, so nothing a caller writes can add a header or a recipient.
//!
//! TLS is never downgraded: a relay configured for `STARTTLS` that does not offer it fails the
//! attempt (permanent: it is the configuration's problem), and credentials are only ever sent
//! over TLS. The relay's certificate is checked against Mozilla's roots or the layer's
//! `tls_roots`, for the relay's host name. Replies buffered before the TLS handshake (a
//! man in the middle injecting commands, CVE-2011-0411's pattern) end the session.

use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Attempt;

/// The longest reply line read, and the most lines of one reply.
const MAX_LINE: u64 = 2048;
const MAX_LINES: usize = 100;

/// The relay email goes through.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpRelay {
    pub host: String,
    pub port: u16,
    /// The name this client gives in `EHLO`.
    pub hello: String,
    /// How the session is protected.
    pub tls: SmtpTls,
    /// `AUTH` user name and password (only ever sent over TLS).
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpRelay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("hello", &self.hello)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

/// How an SMTP session is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// In the clear (a relay on the local network); credentials are refused.
    None,
    /// `STARTTLS` after `EHLO`, required (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Implicit,
}

/// A plain-text email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// The `Message-ID` (without `<>`; `@hireplane` is added when it has no `@`): the same for
    /// every attempt of this one message, so a receiver can drop duplicates.
    pub idempotency_key: String,
    /// The envelope sender and `From`: `local@domain`.
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
}

/// A message ready to send: the envelope and the `DATA` (dot-stuffed, ending in CRLF).
#[derive(Debug)]
pub(crate) struct Message {
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

fn check_address(what: &str, address: &str) -> Result<(), String> {
    let ok = address.len() <= 254
        && address.bytes().all(|b| b.is_ascii_graphic())
        && !address.contains(|c| "<>(),;:\"[]\\".contains(c))
        && address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} `{}`: not a plain ASCII `local@domain` address",
            address.escape_debug()
        ))
    }
}

impl Message {
    /// Checks the email and writes its `DATA`, dated now.
    pub(crate) fn build(email: &Email) -> Result<Message, String> {
        check_address("sender", &email.from)?;
        if email.to.is_empty() {
            return Err("an email needs at least one recipient".into());
        }
        for to in &email.to {
            check_address("recipient", to)?;
        }
        let key = &email.idempotency_key;
        if key.is_empty()
            || key.len() > 200
            || !key
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
        {
            return Err(format!(
                "message id `{}`: 1 to 200 visible ASCII characters, without `<` or `>`",
                key.escape_debug()
            ));
        }
        let message_id = if key.contains('@') {
            key.clone()
        } else {
            format!("{key}@hireplane")
        };
        if email.subject.contains(['\r', '\n']) {
            return Err("the subject must be one line".into());
        }
        let date = jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S +0000");
        let mut head = format!(
            "Date: {date}\r\nFrom: <{}>\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: <{message_id}>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n",
            email.from,
            email
                .to
                .iter()
                .map(|t| format!("<{t}>"))
                .collect::<Vec<_>>()
                .join(",\r\n "),
            encode_subject(&email.subject),
        );
        // The text with CRLF line ends, in base64 lines of 76 characters.
        let text = email.text.replace("\r\n", "\n").replace('\n', "\r\n");
        let encoded = STANDARD.encode(text.as_bytes());
        for line in encoded.as_bytes().chunks(76) {
            head.push_str(&String::from_utf8_lossy(line));
            head.push_str("\r\n");
        }
        Ok(Message {
            from: email.from.clone(),
            to: email.to.clone(),
            data: dot_stuff(head.as_bytes()),
        })
    }
}

/// The subject as is when it is printable ASCII, else RFC 2047 `B` encoded words of at most 45
/// bytes of UTF-8 each (cut between characters), on folded lines.
fn encode_subject(subject: &str) -> String {
    if subject.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) && subject.len() <= 900 {
        return subject.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in subject.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?utf-8?B?{}?=", STANDARD.encode(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?utf-8?B?{}?=", STANDARD.encode(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// RFC 5321 §4.5.2: a line that starts with `.` gets another one.
fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    let mut line_start = true;
    for &b in data {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    out
}

/// Why a session failed.
enum Failure {
    Io(std::io::Error),
    /// The relay or the configuration cannot give the protection asked for.
    Setup(String),
    Reply {
        command: &'static str,
        code: u16,
        text: String,
    },
    Protocol(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Io(e)
    }
}

/// One attempt: one session with the relay, bounded by `attempt_timeout` in all.
pub(crate) fn send(
    relay: &SmtpRelay,
    message: &Message,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    roots: Option<&crate::TlsRoots>,
) -> Attempt {
    let deadline = Instant::now() + attempt_timeout;
    match session(relay, message, connect_timeout, deadline, roots) {
        Ok(code) => Attempt::Ok(code),
        Err(Failure::Io(e)) => Attempt::Transient {
            error: format!("cannot talk to the relay: {e}"),
            retry_after: None,
        },
        Err(Failure::Protocol(e)) => Attempt::Transient {
            error: format!("the relay does not speak SMTP: {e}"),
            retry_after: None,
        },
        Err(Failure::Setup(e)) => Attempt::Permanent(e),
        Err(Failure::Reply {
            command,
            code,
            text,
        }) => {
            let error = format!("the relay answered `{command}` with {code} {text}");
            if (400..500).contains(&code) {
                Attempt::Transient {
                    error,
                    retry_after: None,
                }
            } else {
                Attempt::Permanent(error)
            }
        }
    }
}

/// The connection: plain TCP, or TLS over it.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// The TLS client of a session with `host`: Mozilla's roots or `roots`.
fn tls_client(
    host: &str,
    roots: Option<&crate::TlsRoots>,
) -> Result<rustls::ClientConnection, Failure> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        Some(roots) => {
            for cert in roots.iter() {
                let der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
                store
                    .add(der)
                    .map_err(|e| Failure::Setup(format!("a certificate of the TLS roots: {e}")))?;
            }
        }
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::Setup(format!("TLS: {e}")))?
        .with_root_certificates(store)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| Failure::Setup(format!("`{host}`: not a TLS server name: {e}")))?;
    rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| Failure::Setup(format!("TLS: {e}")))
}

struct Session {
    reader: BufReader<Conn>,
    deadline: Instant,
}

impl Session {
    fn left(&self) -> Result<Duration, Failure> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Io(std::io::ErrorKind::TimedOut.into()));
        }
        Ok(left)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let left = self.left()?;
        let stream = self.reader.get_mut();
        stream.tcp().set_write_timeout(Some(left))?;
        stream.write_all(bytes)?;
        stream.flush()?;
        Ok(())
    }

    /// Puts TLS under the session (the handshake happens on the first read or write, within
    /// the deadline). Anything the relay sent ahead is refused: it would be read as if it came
    /// over TLS.
    fn start_tls(self, host: &str, roots: Option<&crate::TlsRoots>) -> Result<Session, Failure> {
        if !self.reader.buffer().is_empty() {
            return Err(Failure::Protocol(
                "the relay sent data ahead of the TLS handshake".into(),
            ));
        }
        let Conn::Plain(tcp) = self.reader.into_inner() else {
            return Err(Failure::Protocol("TLS started twice".into()));
        };
        let tls = rustls::StreamOwned::new(tls_client(host, roots)?, tcp);
        Ok(Session {
            reader: BufReader::new(Conn::Tls(Box::new(tls))),
            deadline: self.deadline,
        })
    }

    /// `EHLO`, falling back to `HELO` for a relay that knows only RFC 821; the `EHLO` reply's
    /// lines (its extensions), empty after `HELO`.
    fn hello(&mut self, hello: &str) -> Result<Vec<String>, Failure> {
        self.write(format!("EHLO {hello}\r\n").as_bytes())?;
        let (code, lines) = self.reply_lines()?;
        if code == 250 {
            return Ok(lines);
        }
        let refused = Failure::Reply {
            command: "EHLO",
            code,
            text: lines.join(" ").chars().take(200).collect(),
        };
        if self
            .command("HELO", &format!("HELO {hello}"), &[250])
            .is_err()
        {
            return Err(refused);
        }
        Ok(Vec::new())
    }

    /// `AUTH` with the first of PLAIN and LOGIN the relay offers.
    fn auth(&mut self, extensions: &[String], user: &str, password: &str) -> Result<(), Failure> {
        let offered: Vec<String> = extensions
            .iter()
            .filter_map(|l| {
                let upper = l.to_ascii_uppercase();
                upper
                    .strip_prefix("AUTH")
                    .map(|rest| rest.trim_start_matches(['=', ' ']).to_owned())
            })
            .flat_map(|rest| {
                rest.split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        if offered.iter().any(|m| m == "PLAIN") {
            let token = STANDARD.encode(format!("\0{user}\0{password}"));
            self.command("AUTH", &format!("AUTH PLAIN {token}"), &[235])?;
        } else if offered.iter().any(|m| m == "LOGIN") {
            self.command("AUTH", "AUTH LOGIN", &[334])?;
            self.command("AUTH", &STANDARD.encode(user), &[334])?;
            self.command("AUTH", &STANDARD.encode(password), &[235])?;
        } else {
            return Err(Failure::Setup(format!(
                "the relay offers no AUTH mechanism this client knows (PLAIN, LOGIN){}",
                if offered.is_empty() {
                    format!(" (its `EHLO` answered `{}`)", extensions.join("`, `"))
                } else {
                    format!(": it offers {}", offered.join(", "))
                }
            )));
        }
        Ok(())
    }

    /// Reads one reply: its code and text (lines joined by a space).
    fn reply(&mut self) -> Result<(u16, String), Failure> {
        let (code, lines) = self.reply_lines()?;
        Ok((code, lines.join(" ")))
    }

    /// Reads one reply: its code and the text of each line.
    fn reply_lines(&mut self) -> Result<(u16, Vec<String>), Failure> {
        let mut text = Vec::new();
        for _ in 0..MAX_LINES {
            let left = self.left()?;
            self.reader.get_ref().tcp().set_read_timeout(Some(left))?;
            let mut line = Vec::new();
            (&mut self.reader)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)?;
            if !line.ends_with(b"\n") {
                return Err(Failure::Protocol(if line.is_empty() {
                    "the connection closed".into()
                } else {
                    format!("a reply line longer than {MAX_LINE} bytes, or cut")
                }));
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| {
                    Failure::Protocol(format!("`{}`: no reply code", line.escape_debug()))
                })?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            text.push(line.get(4..).unwrap_or("").to_owned());
            if !more {
                return Ok((code, text));
            }
        }
        Err(Failure::Protocol(format!(
            "a reply of more than {MAX_LINES} lines"
        )))
    }

    /// Sends `line` (without CRLF) and expects one of `ok`.
    fn command(&mut self, name: &'static str, line: &str, ok: &[u16]) -> Result<u16, Failure> {
        self.write(format!("{line}\r\n").as_bytes())?;
        self.expect(name, ok)
    }

    fn expect(&mut self, name: &'static str, ok: &[u16]) -> Result<u16, Failure> {
        let (code, text) = self.reply()?;
        if ok.contains(&code) {
            Ok(code)
        } else {
            Err(Failure::Reply {
                command: name,
                code,
                text: text.chars().take(200).collect(),
            })
        }
    }
}

fn session(
    relay: &SmtpRelay,
    message: &Message,
    connect_timeout: Duration,
    deadline: Instant,
    roots: Option<&crate::TlsRoots>,
) -> Result<u16, Failure> {
    if relay.credentials.is_some() && relay.tls == SmtpTls::None {
        return Err(Failure::Setup(
            "SMTP credentials are only sent over TLS: set the relay's TLS to STARTTLS or implicit"
                .into(),
        ));
    }
    let mut last = None;
    let mut stream = None;
    for addr in (relay.host.as_str(), relay.port).to_socket_addrs()? {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, connect_timeout.min(left)) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(stream) = stream else {
        return Err(Failure::Io(last.unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no address for the relay")
        })));
    };
    let mut s = Session {
        reader: BufReader::new(Conn::Plain(stream)),
        deadline,
    };
    if relay.tls == SmtpTls::Implicit {
        s = s.start_tls(&relay.host, roots)?;
    }
    s.expect("connect", &[220])?;
    let mut extensions = s.hello(&relay.hello)?;
    if relay.tls == SmtpTls::StartTls {
        let offered = extensions
            .iter()
            .any(|l| l.trim().eq_ignore_ascii_case("STARTTLS"));
        if !offered {
            return Err(Failure::Setup(format!(
                "the relay `{}:{}` does not offer STARTTLS, and the configuration requires it",
                relay.host, relay.port
            )));
        }
        s.command("STARTTLS", "STARTTLS", &[220])?;
        s = s.start_tls(&relay.host, roots)?;
        // RFC 3207 4.2: what the relay said before TLS is forgotten; ask again.
        extensions = s.hello(&relay.hello)?;
    }
    if let Some((user, password)) = &relay.credentials {
        s.auth(&extensions, user, password)?;
    }
    s.command(
        "MAIL FROM",
        &format!("MAIL FROM:<{}>", message.from),
        &[250],
    )?;
    for to in &message.to {
        s.command("RCPT TO", &format!("RCPT TO:<{to}>"), &[250, 251])?;
    }
    s.command("DATA", "DATA", &[354])?;
    s.write(&message.data)?;
    s.write(b".\r\n")?;
    let code = s.expect("end of data", &[250])?;
    // The message is accepted; a relay that does not answer QUIT changes nothing.
    let _ = s.command("QUIT", "QUIT", &[221]);
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email {
            idempotency_key: "job-42".into(),
            from: "noreply@hireplane.test".into(),
            to: vec!["ada@example.test".into()],
            subject: "Interview".into(),
            text: "Hello\n.hidden\nBye".into(),
        }
    }

    #[test]
    fn the_message_has_its_headers_and_a_base64_body() {
        let m = Message::build(&email()).unwrap();
        let data = String::from_utf8(m.data).unwrap();
        assert!(
            data.contains("\r\nMessage-ID: <job-42@hireplane>\r\n"),
            "{data}"
        );
        assert!(data.contains("\r\nTo: <ada@example.test>\r\n"));
        assert!(data.contains("\r\nSubject: Interview\r\n"));
        let body = data.split_once("\r\n\r\n").unwrap().1;
        let decoded = STANDARD.decode(body.replace("\r\n", "")).unwrap();
        assert_eq!(decoded, b"Hello\r\n.hidden\r\nBye");
    }

    #[test]
    fn header_injection_is_refused() {
        let bad = |e: Email| Message::build(&e).unwrap_err();
        assert_eq!(
            bad(Email {
                subject: "Hi\r\nBcc: eve@evil.test".into(),
                ..email()
            }),
            "the subject must be one line"
        );
        assert!(
            bad(Email {
                to: vec!["ada@example.test>\r\nRCPT TO:<eve@evil.test".into()],
                ..email()
            })
            .starts_with("recipient `ada@example.test>\\r\\nRCPT")
        );
        assert!(
            bad(Email {
                from: "a b@x".into(),
                ..email()
            })
            .starts_with("sender")
        );
        assert!(
            bad(Email {
                idempotency_key: "k>\r\nX: y".into(),
                ..email()
            })
            .starts_with("message id")
        );
        assert!(
            bad(Email {
                to: vec![],
                ..email()
            })
            .contains("at least one recipient")
        );
    }

    #[test]
    fn non_ascii_subjects_are_encoded_words_cut_between_characters() {
        let subject = "Entretien planifié — ".repeat(5);
        let encoded = encode_subject(&subject);
        let mut decoded = Vec::new();
        for word in encoded.split("\r\n ") {
            assert!(word.len() <= 75, "{word}");
            let b64 = word
                .strip_prefix("=?utf-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .unwrap();
            let bytes = STANDARD.decode(b64).unwrap();
            assert!(
                String::from_utf8(bytes.clone()).is_ok(),
                "cut inside a character"
            );
            decoded.extend(bytes);
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), subject);
    }

    #[test]
    fn lines_starting_with_a_dot_are_stuffed() {
        assert_eq!(dot_stuff(b".a\r\nb.\r\n..c\r\n"), b"..a\r\nb.\r\n...c\r\n");
    }
}
