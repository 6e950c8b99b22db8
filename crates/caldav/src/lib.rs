//! Busy time from a CalDAV server (RFC 4791), for the interview scheduler.
//!
//! An edge crate: it does HTTP, the engines stay pure. A blocking [`Client`] (ureq, one agent,
//! HTTP Basic auth when credentials are given) asks a calendar collection for what its owner has
//! in a window `[from, to)`, with two `REPORT`s of RFC 4791:
//!
//! - [`Client::calendar_query`] (RFC 4791 §7.8): `CALDAV:calendar-query` with `Depth: 1`, a
//!   `CALDAV:comp-filter` on `VEVENT` with a `CALDAV:time-range` (§9.9), asking for
//!   `CALDAV:calendar-data` with `CALDAV:expand` (§9.6.5), so that the server expands recurring
//!   events into instances (in UTC). The `207 Multi-Status` answer (RFC 4918 §13) is parsed with
//!   quick-xml, by namespace; each `DAV:response` gives the iCalendar text of one calendar object
//!   resource. A `DAV:status` other than 2xx, for a whole response or for its `DAV:propstat`, is
//!   an error naming the `DAV:href`.
//! - [`Client::free_busy`] (RFC 4791 §7.10): `CALDAV:free-busy-query`; the answer is a `VFREEBUSY`
//!   (RFC 5545 §3.6.4) whose `FREEBUSY` periods with `FBTYPE` `BUSY`, `BUSY-TENTATIVE` or
//!   `BUSY-UNAVAILABLE` are busy (`FREE` is not), each `start/end` or `start/duration` in UTC.
//!   A server that refuses the report (400, 403, 405, 501) gives
//!   [`CaldavError::FreeBusyUnsupported`].
//!
//! [`Client::busy_times`] combines them for the scheduler: the calendar-query bodies go through the
//! pure [`calendar::busy_times`] in the owner's zone, merged and sorted. It asks for free-busy only
//! when the server forbids the calendar-query (`403`, as for an account that holds only the
//! `CALDAV:read-free-busy` privilege of RFC 4791 §6.1.1): free-busy loses what the calendar-query
//! keeps, since a server places all-day and floating events in *its* calendar zone (Radicale:
//! UTC), not in the owner's, and returns no `UID` or `SUMMARY`.
//!
//! And one write, for the workflow engine's effects: [`Client::put_event`] creates or replaces
//! one calendar object resource by `PUT` (RFC 4791 §5.3.2) at `{collection}{uid}.ics`, the UID
//! percent-encoded: the same event always goes to the same href, so a retry replaces what an
//! earlier attempt wrote instead of adding a copy. It sends no `If-Match`/`If-None-Match`.
//!
//! Not used: discovery (`current-user-principal`, `calendar-home-set`; the caller gives the
//! collection URL), `VTODO`/`VJOURNAL`, scheduling inbox/outbox (RFC 6638), sync-collection,
//! `CALDAV:limit-recurrence-set`. Request bodies are fixed templates; the only values put into
//! them are timestamps formatted as `YYYYMMDDTHHMMSSZ`.
//!
//! HTTPS is rustls (with ring) trusting Mozilla's roots (the `webpki-roots` crate), or the
//! roots given to [`Client::with_options`] (an internal CA, or the system's bundle).

mod freebusy;
mod xml;

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The largest answer read from a server, in bytes.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Certificates to trust for HTTPS instead of Mozilla's roots (an internal CA, or the
/// system's bundle such as `/etc/ssl/certs/ca-certificates.crt`).
pub type TlsRoots = std::sync::Arc<Vec<ureq::tls::Certificate<'static>>>;

/// The certificates of PEM text (other sections, such as keys, are skipped); an error names
/// what is wrong: no certificate at all, or a section that does not parse.
pub fn tls_roots_from_pem(pem: &str) -> Result<TlsRoots, String> {
    let mut roots = Vec::new();
    for item in ureq::tls::parse_pem(pem.as_bytes()) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => roots.push(c),
            Ok(_) => {}
            Err(e) => return Err(format!("PEM text: {e}")),
        }
    }
    if roots.is_empty() {
        return Err("no certificate in the PEM text".to_owned());
    }
    Ok(std::sync::Arc::new(roots))
}

/// rustls trusting `roots`, or Mozilla's roots.
pub fn tls_config(roots: Option<TlsRoots>) -> ureq::tls::TlsConfig {
    let builder = ureq::tls::TlsConfig::builder();
    match roots {
        Some(roots) => builder.root_certs(ureq::tls::RootCerts::Specific(roots)),
        None => builder.root_certs(ureq::tls::RootCerts::WebPki),
    }
    .build()
}

/// A problem talking to a CalDAV server or reading its answer.
#[derive(Debug, thiserror::Error)]
pub enum CaldavError {
    #[error("`{url}`: not an http:// or https:// URL")]
    Url { url: String },
    #[error("`{url}`: cannot talk to the server")]
    Transport {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("`{url}`: the server answered {status}{}", reason(*.status))]
    Status { url: String, status: u16 },
    #[error("`{url}`: the server does not support `free-busy-query` (it answered {status})")]
    FreeBusyUnsupported { url: String, status: u16 },
    #[error("`{url}`: `{href}`: the server answered {status} for this resource")]
    ResponseStatus {
        url: String,
        href: String,
        status: String,
    },
    #[error("`{url}`: invalid WebDAV multistatus XML: {message}")]
    Xml { url: String, message: String },
    #[error("`{url}`: invalid `VFREEBUSY`: `{field}`: {message}")]
    FreeBusy {
        url: String,
        field: String,
        message: String,
    },
    #[error("`{url}`: the server refused the event: it answered {status}{}", reason(*.status))]
    PutStatus {
        url: String,
        status: u16,
        /// The answer's `Retry-After`, as sent.
        retry_after: Option<String>,
    },
    #[error("`{uid}`: an event UID is 1 to 255 characters, none of them a control character")]
    Uid { uid: String },
    #[error("`{url}`: `{href}`: cannot read its iCalendar")]
    Calendar {
        url: String,
        href: String,
        #[source]
        source: calendar::IcalError,
    },
}

fn reason(status: u16) -> String {
    ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {}", r.to_lowercase()))
        .unwrap_or_default()
}

/// An event stored by [`Client::put_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPut {
    /// The event's absolute URL.
    pub url: String,
    /// The server's status: 201 when it created the resource, 200 or 204 when it replaced it.
    pub status: u16,
}

/// A blocking CalDAV client for one server.
pub struct Client {
    base: String,
    /// The `Authorization` header value, when credentials were given.
    authorization: Option<String>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("authorization", &self.authorization.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `base` (collection URLs may be absolute, or paths relative to
    /// `base`), with HTTP Basic auth when `credentials` (user, password) are given.
    pub fn new(base: &str, credentials: Option<(String, String)>) -> Client {
        Client::build(base, credentials, None, Duration::from_secs(60), None)
    }

    /// [`Client::new`] with a connect timeout and a timeout for each whole request (instead of
    /// none and 60 s).
    pub fn with_timeouts(
        base: &str,
        credentials: Option<(String, String)>,
        connect: Duration,
        request: Duration,
    ) -> Client {
        Client::build(base, credentials, Some(connect), request, None)
    }

    /// [`Client::with_timeouts`] trusting, for HTTPS, the certificates `roots` instead of
    /// Mozilla's roots when given.
    pub fn with_options(
        base: &str,
        credentials: Option<(String, String)>,
        connect: Duration,
        request: Duration,
        roots: Option<TlsRoots>,
    ) -> Client {
        Client::build(base, credentials, Some(connect), request, roots)
    }

    /// A client that makes its requests with `agent`: its redirects, resolver, timeouts and
    /// roots (the effects layer's, which follows no redirect and, for calls an org's rules
    /// make, connects to public addresses only).
    pub fn with_agent(
        base: &str,
        credentials: Option<(String, String)>,
        agent: ureq::Agent,
    ) -> Client {
        Client {
            base: base.to_owned(),
            authorization: credentials
                .map(|(user, password)| format!("Basic {}", base64(format!("{user}:{password}")))),
            agent,
        }
    }

    fn build(
        base: &str,
        credentials: Option<(String, String)>,
        connect: Option<Duration>,
        request: Duration,
        roots: Option<TlsRoots>,
    ) -> Client {
        let config = ureq::Agent::config_builder()
            .tls_config(tls_config(roots))
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .timeout_connect(connect)
            .timeout_global(Some(request))
            .user_agent(concat!("hireplane-caldav/", env!("CARGO_PKG_VERSION")))
            .build();
        Client::with_agent(base, credentials, config.new_agent())
    }

    /// The iCalendar text of every calendar object resource of the collection with a `VEVENT`
    /// overlapping `[from, to)`, recurring events expanded by the server into instances.
    pub fn calendar_query(
        &self,
        collection_url: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<String>, CaldavError> {
        let (_, resources) = self.query(collection_url, from, to)?;
        Ok(resources.into_iter().map(|(_, body)| body).collect())
    }

    /// The calendar-query: the absolute URL, and (href, calendar-data) of each resource.
    fn query(
        &self,
        collection_url: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(String, Vec<(String, String)>), CaldavError> {
        let url = self.url(collection_url)?;
        let (status, text) = self.report(&url, xml::calendar_query_body(from, to))?;
        if status != 207 {
            return Err(CaldavError::Status { url, status });
        }
        let responses = match xml::parse_multistatus(&text) {
            Ok(responses) => responses,
            Err(message) => return Err(CaldavError::Xml { url, message }),
        };
        let mut resources = Vec::new();
        for response in responses {
            if let Some(status) = response.failed_status() {
                let status = status.to_owned();
                return Err(CaldavError::ResponseStatus {
                    url,
                    href: response.href,
                    status,
                });
            }
            for body in response.calendar_data {
                resources.push((response.href.clone(), body));
            }
        }
        Ok((url, resources))
    }

    /// The busy periods of the collection in `[from, to)` from a `free-busy-query`, sorted.
    pub fn free_busy(
        &self,
        collection_url: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, Timestamp)>, CaldavError> {
        let url = self.url(collection_url)?;
        let body = xml::free_busy_query_body(from, to);
        let (status, text) = self.report(&url, body)?;
        match status {
            200..=299 => {}
            400 | 403 | 405 | 501 => return Err(CaldavError::FreeBusyUnsupported { url, status }),
            _ => return Err(CaldavError::Status { url, status }),
        }
        let mut periods =
            freebusy::busy_periods(&text).map_err(|(field, message)| CaldavError::FreeBusy {
                url: url.clone(),
                field,
                message,
            })?;
        // An empty period (end = start) is no busy time (the scheduler's one rule).
        periods.retain(|(start, end)| start < end && *start < to && *end > from);
        periods.sort();
        Ok(periods)
    }

    /// The busy time of the collection's owner in `[from, to)`, sorted by start: the
    /// calendar-query read by [`calendar::busy_times`] in `owner_zone` (all-day and floating events
    /// in the owner's zone); free-busy only when the server forbids the calendar-query (`403`),
    /// with an empty `uid` and no `summary`.
    pub fn busy_times(
        &self,
        collection_url: &str,
        owner_zone: &TimeZone,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<calendar::Busy>, CaldavError> {
        let (url, resources) = match self.query(collection_url, from, to) {
            Ok(found) => found,
            Err(forbidden @ CaldavError::Status { status: 403, .. }) => {
                let periods = match self.free_busy(collection_url, from, to) {
                    Ok(periods) => periods,
                    // Neither report is allowed: the refusal of the query says most.
                    Err(CaldavError::FreeBusyUnsupported { .. }) => return Err(forbidden),
                    Err(e) => return Err(e),
                };
                return Ok(periods
                    .into_iter()
                    .map(|(start, end)| calendar::Busy {
                        start,
                        end,
                        uid: String::new(),
                        summary: None,
                    })
                    .collect());
            }
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for (href, body) in resources {
            match calendar::busy_times(&body, owner_zone, from, to) {
                Ok(busy) => out.extend(busy),
                Err(source) => {
                    return Err(CaldavError::Calendar { url, href, source });
                }
            }
        }
        out.sort_by(|a, b| (a.start, a.end, &a.uid).cmp(&(b.start, b.end, &b.uid)));
        out.dedup();
        Ok(out)
    }

    /// Creates or replaces the event `uid` of the collection: `PUT` of `ics` (a `VCALENDAR`) at
    /// `{collection_url}/{uid}.ics`, the UID percent-encoded (all but `A-Z a-z 0-9 - . _ ~`).
    pub fn put_event(
        &self,
        collection_url: &str,
        uid: &str,
        ics: &str,
    ) -> Result<EventPut, CaldavError> {
        if uid.is_empty() || uid.len() > 255 || uid.chars().any(char::is_control) {
            return Err(CaldavError::Uid {
                uid: uid.escape_debug().to_string(),
            });
        }
        let collection = self.url(collection_url)?;
        let url = format!(
            "{}/{}.ics",
            collection.trim_end_matches('/'),
            percent_encode(uid)
        );
        let transport = |source: ureq::Error| CaldavError::Transport {
            url: url.clone(),
            source: Box::new(source),
        };
        let mut request = ureq::http::Request::builder()
            .method(ureq::http::Method::PUT)
            .uri(&url)
            .header("Content-Type", "text/calendar; charset=utf-8");
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        let request = request
            .body(ics.to_owned())
            .map_err(|e| transport(ureq::Error::Http(e)))?;
        let mut response = self.agent.run(request).map_err(transport)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Read the (small) answer so the connection can be reused; its text says nothing more.
        let _ = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec();
        if (200..300).contains(&status) {
            Ok(EventPut { url, status })
        } else {
            Err(CaldavError::PutStatus {
                url,
                status,
                retry_after,
            })
        }
    }

    /// The absolute URL of `collection_url`: itself when absolute, else joined to the base.
    fn url(&self, collection_url: &str) -> Result<String, CaldavError> {
        let url = if has_scheme(collection_url) {
            collection_url.to_owned()
        } else if let Some(path) = collection_url.strip_prefix('/') {
            let origin_end = self
                .base
                .find("://")
                .map(|i| i + 3)
                .and_then(|i| self.base[i..].find('/').map(|j| i + j))
                .unwrap_or(self.base.len());
            format!("{}/{path}", &self.base[..origin_end])
        } else {
            format!("{}/{collection_url}", self.base.trim_end_matches('/'))
        };
        let lower = url.to_ascii_lowercase();
        if (lower.starts_with("https://") && url.len() > "https://".len())
            || (lower.starts_with("http://") && url.len() > "http://".len())
        {
            Ok(url)
        } else {
            Err(CaldavError::Url { url })
        }
    }

    /// Sends a `REPORT` with `Depth: 1` and an XML body; the status and the body read as text.
    fn report(&self, url: &str, body: String) -> Result<(u16, String), CaldavError> {
        let transport = |source: ureq::Error| CaldavError::Transport {
            url: url.to_owned(),
            source: Box::new(source),
        };
        let method = ureq::http::Method::from_bytes(b"REPORT")
            .map_err(|e| transport(ureq::Error::Http(e.into())))?;
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Depth", "1")
            .header("Content-Type", "application/xml; charset=utf-8");
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        let request = request
            .body(body)
            .map_err(|e| transport(ureq::Error::Http(e)))?;
        let mut response = self.agent.run(request).map_err(transport)?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(transport)?;
        Ok((status, text))
    }
}

fn has_scheme(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// Percent-encodes every byte but the unreserved characters of RFC 3986 §2.3.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648 §4), for the Basic `Authorization` header.
fn base64(text: String) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("martin:secret", "bWFydGluOnNlY3JldA=="),
        ] {
            assert_eq!(base64(plain.to_owned()), encoded, "{plain}");
        }
    }

    #[test]
    fn collection_urls_are_joined_to_the_base() {
        let c = Client::new("http://cal.example:5232/dav/", None);
        assert_eq!(
            c.url("alice/work/").unwrap(),
            "http://cal.example:5232/dav/alice/work/"
        );
        assert_eq!(
            c.url("/alice/work/").unwrap(),
            "http://cal.example:5232/alice/work/"
        );
        assert_eq!(c.url("http://other/x/").unwrap(), "http://other/x/");
        let c = Client::new("http://cal.example:5232", None);
        assert_eq!(c.url("/a/").unwrap(), "http://cal.example:5232/a/");
        let err = Client::new("", None).url("ftp://x/").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`ftp://x/`: not an http:// or https:// URL"
        );
    }

    #[test]
    fn https_urls_are_taken() {
        let url = Client::new("https://cal.example/", None)
            .url("alice/")
            .unwrap();
        assert_eq!(url, "https://cal.example/alice/");
        let err = Client::new("", None).url("https://").unwrap_err();
        assert!(matches!(err, CaldavError::Url { .. }), "{err}");
    }

    #[test]
    fn roots_come_from_pem_and_bad_pem_is_an_error() {
        let err = tls_roots_from_pem("not a certificate").unwrap_err();
        assert_eq!(err, "no certificate in the PEM text");
        let err = tls_roots_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap_err();
        assert!(err.starts_with("PEM text: "), "{err}");
    }

    #[test]
    fn uids_are_percent_encoded_into_one_path_segment() {
        assert_eq!(percent_encode("abc-1.2_3~"), "abc-1.2_3~");
        assert_eq!(percent_encode("a/../b@x y"), "a%2F..%2Fb%40x%20y");
        assert_eq!(percent_encode("é"), "%C3%A9");
        let err = Client::new("http://x/", None)
            .put_event("c/", "a\r\nb", "")
            .unwrap_err();
        assert!(matches!(err, CaldavError::Uid { .. }), "{err}");
        let err = Client::new("http://x/", None)
            .put_event("c/", "a\nb", "")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`a\\nb`: an event UID is 1 to 255 characters, none of them a control character"
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let c = Client::new("http://x/", Some(("u".into(), "hunter2".into())));
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains(&base64("u:hunter2".into())));
    }

    #[test]
    fn status_errors_name_the_url_and_the_reason() {
        let err = CaldavError::Status {
            url: "http://x/a/".into(),
            status: 404,
        };
        assert_eq!(
            err.to_string(),
            "`http://x/a/`: the server answered 404 not found"
        );
    }
}
