//! Typed settings, layered: the defaults below, then a TOML file (`--config FILE`), then the
//! `HIREPLANE_*` environment (nested keys with `__`: `HIREPLANE_LIMITS__MAX_DEPTH=8`), then the
//! command line. The database URL may carry a password: `Debug` and the log show it redacted.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where to listen (`127.0.0.1:8080`; port 0 picks a free port).
    pub listen: SocketAddr,
    /// The store: `sqlite://PATH` or `postgres://...`.
    pub database: String,
    /// Serve the GraphiQL page on `GET /graphql`.
    pub graphiql: bool,
    /// `json` (one object per line, for log collectors) or `text`.
    pub log_format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `server=debug,info`.
    pub log_level: String,
    /// How long an org's report catalog (custom fields, stage names) is reused, in
    /// milliseconds; changes made through this replica apply at once, others within this time.
    pub catalog_cache_ms: u64,
    /// The bearer token `GET /metrics` asks for (`Authorization: Bearer <token>`, as
    /// Prometheus' `authorization` sends it). Empty: `/metrics` is open, for a server on a
    /// private address; set it wherever the API's port is reachable by the orgs' users, since
    /// the metrics name the hosts of the orgs' webhooks and calendars.
    pub metrics_token: String,
    pub pool: Pool,
    pub limits: Limits,
    pub auth: Auth,
    pub flags: FlagSettings,
    pub events: EventSettings,
    pub subscriptions: Subscriptions,
    pub workflow: WorkflowSettings,
    pub console: ConsoleSettings,
    /// The users of `hireplane serve --demo`'s org with their tokens, which the start page
    /// (`GET /`) shows. Set by the CLI's demo mode only: never read from a file or the
    /// environment, so a normal server shows no token.
    #[serde(skip)]
    pub demo_users: Vec<DemoUser>,
}

/// A user of the demo org and the API token made for them (`hireplane serve --demo`).
#[derive(Clone)]
pub struct DemoUser {
    pub role: String,
    pub user_id: String,
    pub name: String,
    pub token: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pool {
    /// Database connections per replica (each request holds one while it reads or writes).
    pub size: u32,
    /// How long a request waits for a connection before it fails, in milliseconds.
    pub acquire_timeout_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The deepest selection a query may have.
    pub max_depth: usize,
    /// The highest complexity: the fields a query selects, each counted once (async-graphql's
    /// count; page sizes are `max_cost`'s).
    pub max_complexity: usize,
    /// The most rows a request may ask for: each list counts its page size (`first`) times the
    /// page sizes of the lists above it ([`crate::cost`]).
    pub max_cost: u64,
    /// The most mutations (root fields) one request may have.
    pub max_mutations: usize,
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The deepest a request may nest: brackets of the body's JSON (variables included) and of
    /// the query text (selection sets, argument lists, lists and input objects counted together),
    /// checked before either is parsed ([`crate::nesting`]).
    pub max_nesting: usize,
    /// The largest page (`first`) a connection returns.
    pub max_page_size: usize,
    /// The default page when `first` is not given.
    pub default_page_size: usize,
    /// A request's whole time budget once its headers are in, reading its body included, in
    /// milliseconds; over it the caller gets a timeout error (408 while the body is still
    /// arriving, 504 once the query runs).
    pub request_timeout_ms: u64,
    /// The most time the scheduling searches (`schedulingOptions`, `repairInterviewLoop`) of one
    /// request may take together, in milliseconds from the first one's start, within the
    /// request's own time: a real loop is found in a few milliseconds; a plan whose pools
    /// overlap so that no loop fits searched for 8.6 s of CPU (red team, pass 7), and ten
    /// aliases of it had a second each. Out of it, the best options so far, or `TIMEOUT` when
    /// none was found.
    pub max_scheduling_ms: u64,
    /// How long a connection may take to send a request's headers (and an idle keep-alive
    /// connection to start its next request), in milliseconds; then it is closed.
    pub header_read_timeout_ms: u64,
    /// How long one statement may run, in milliseconds (0: no limit): PostgreSQL's
    /// `statement_timeout` for the server's connections; on SQLite, reports are interrupted
    /// after it (`store::Store::set_statement_timeout`).
    pub statement_timeout_ms: u64,
    /// The most rows one report may return through the API and the console (its CSV
    /// included; 0: no limit). A report that would return more is refused (`BAD_USER_INPUT`,
    /// "more than N rows: add a `limit` or narrow the report"), never cut short: the store
    /// reads its rows as they come and stops at the first past the limit, so what a run holds
    /// in memory stays bounded (`store::Store::set_row_limit`). The CLI has no limit. Lists
    /// run as reports too: the limit is never under `max_page_size` + 1, so no page is refused.
    pub max_report_rows: usize,
    /// The most bytes one request's answer may take (0: no limit), counted three times: as the
    /// store reads the rows of its reports and lists (texts' bytes and 64 per value, shared by
    /// the request's aliases: `store::Store::set_request`), as its fields resolve (their JSON
    /// and 32 per value: no field resolves once the count is over, `graphql::budget`), and as
    /// the answer is written (its JSON, aliases of one field and errors included). Past any of
    /// them the request is refused
    /// (`BAD_USER_INPUT`, "show fewer columns or rows", "select fewer fields, aliases or
    /// rows"), so what one request holds in memory and what an idempotency key keeps stay
    /// bounded. The CLI has no limit.
    pub max_response_bytes: usize,
    /// The most database jobs of one org queued or running at once (0: half of
    /// `pool.size`, rounded up); more wait for their turn before they are queued, at most
    /// `pool.acquire_timeout_ms` and never past the request's deadline, then fail with `BUSY`.
    pub max_workers_per_org: u32,
    /// The same for one user, all their tokens and console sessions together, and for one
    /// client address while its token is checked (0: a quarter of `pool.size`, rounded up; at
    /// most the org's).
    pub max_workers_per_user: u32,
    /// The jobs in flight that the orgs active at once share (0: the machine's cores): while n
    /// orgs have had work in the last second, each may have at most max(1, slots / n) jobs
    /// queued or running (within its share above); more wait for a turn like for a share. An
    /// org alone is not held back. So one org's heavy reports cannot take the CPU from another
    /// org's requests; raise it (to `pool.size`: no gate) where the database has CPU to spare.
    pub fair_share_slots: u32,
    /// The most connections one client address may hold open at once (0: no limit); a further
    /// one is answered 429 and closed. A proxy of `console.trusted_proxies` is not limited (it
    /// carries many clients' connections; their requests are limited by the addresses it
    /// forwards); behind an untrusted one every client shares its address: raise it.
    pub max_connections_per_ip: usize,
    /// Failed authentications (no token, a wrong, expired or revoked one) each client address may
    /// make per minute on average (0: no limit) ...
    pub auth_failures_per_minute: u32,
    /// ... and at once above that. Over it, the address's tokens are not checked until the
    /// limit allows again: 429 `RATE_LIMITED` with `Retry-After` (a token already checked and
    /// cached passes).
    pub auth_failure_burst: u32,
    /// Requests per second each user may make on average, all their tokens and console
    /// sessions together (0: no limit) ...
    pub rate_per_second: u32,
    /// ... and how many it may make at once above that.
    pub rate_burst: u32,
    /// Whom the rate and burst are for: the whole cluster (split between the live replicas) or
    /// each replica.
    pub rate_scope: RateScope,
    /// How often a replica renews its heartbeat in the database (scope `cluster`), in
    /// milliseconds; a replica is live while its heartbeat is younger than three of these.
    pub replica_heartbeat_ms: u64,
}

/// Whom `limits.rate_per_second` and `limits.rate_burst` are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateScope {
    /// The whole cluster: each of the n live replicas (counted through heartbeats in the
    /// database) enforces rate / n and burst / n, rounded up. Exact when the load balancer
    /// spreads a token's requests evenly; with sticky routing a token gets rate / n.
    Cluster,
    /// Each replica enforces the full rate: n replicas let a token make n times the rate.
    Replica,
}

/// Feature flags (docs/flags.md): how often a replica looks for changes, and the environment
/// its flag contexts carry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlagSettings {
    /// How often the replica asks the store for the flags' version, in milliseconds; a change
    /// reaches it within this time (and one load). When the store is unreachable it keeps
    /// evaluating its last copy.
    pub poll_ms: u64,
    /// The `environment` of every flag context this replica evaluates (none when empty).
    pub environment: String,
    /// The org whose admins may manage the installation's flags through the API (`setFlag`,
    /// `flags`, `flagHistory`). Empty (the default): no org's, only the CLI's operator; flags
    /// switch features for every tenant, so no tenant's admin should by default.
    pub operator_org: String,
    /// This replica is a canary (`serve --canary`): every flag context it evaluates has the
    /// property `canary` = `true` (`false` on other replicas), so a flag can target canaries.
    pub canary: bool,
    /// How often the replica reports its rollout cohorts' counts and, holding the lease,
    /// drives the rollout plans, in milliseconds.
    pub rollout_tick_ms: u64,
}

/// Domain events (docs/events.md): how long the outbox keeps published events, and the relay
/// that publishes them to NATS JetStream.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventSettings {
    /// How long an event stays in the outbox once a relay published it, in hours. Events no
    /// relay published (no `events.nats.url`) stay.
    pub retention_hours: u64,
    pub nats: NatsSettings,
}

/// The relay to NATS JetStream ([`crate::relay`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSettings {
    /// The NATS server (`nats://127.0.0.1:4222`); empty (the default): no relay, events stay
    /// readable from the outbox (`hireplane events tail`, the API's `events`).
    pub url: String,
    /// The JetStream stream the relay creates if missing (an existing one is used as it is).
    pub stream: String,
    /// The first token(s) of every subject: `<prefix>.<org>.<type>`; the stream takes
    /// `<prefix>.>`.
    pub subject_prefix: String,
    /// Org partitions: each is published by one relay at a time (of any replica).
    pub partitions: u32,
    /// Events published per org before the relay looks at the next org (at most 10,000).
    pub batch: u32,
    /// How often the relay looks for events committed by other replicas, in milliseconds (this
    /// replica's commits wake it at once).
    pub poll_ms: u64,
    /// How long the relay waits for JetStream's ack of a publish (and for a connection), in
    /// milliseconds.
    pub ack_timeout_ms: u64,
    /// The duplicate window of a stream the relay creates, in seconds: a batch published again
    /// after a crash within it is dropped by JetStream as duplicates (by `Nats-Msg-Id`).
    pub duplicate_window_s: u64,
}

impl Default for EventSettings {
    fn default() -> EventSettings {
        EventSettings {
            retention_hours: 168,
            nats: NatsSettings::default(),
        }
    }
}

impl Default for NatsSettings {
    fn default() -> NatsSettings {
        NatsSettings {
            url: String::new(),
            stream: "HIREPLANE_EVENTS".to_owned(),
            subject_prefix: "hireplane".to_owned(),
            partitions: 16,
            batch: 1_000,
            poll_ms: 25,
            ack_timeout_ms: 5_000,
            duplicate_window_s: 120,
        }
    }
}

/// The durable jobs' worker pool of this replica ([`crate::worker`]; `hireplane worker` runs
/// one without HTTP).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowSettings {
    /// Worker threads, each with its own database connection, each running one job at a time;
    /// 0: this replica runs no jobs (another pool does).
    pub workers: u32,
    /// How often an idle worker looks for due jobs, in milliseconds, besides the wake-ups of
    /// enqueues (PostgreSQL `NOTIFY`; in-process on SQLite): what finds scheduled jobs and
    /// retries coming due.
    pub poll_ms: u64,
    /// How long a claimed job's lease lasts, in seconds; the pool's heartbeat extends it every
    /// third of it while the job runs. A pool that dies loses its jobs to others after this.
    pub lease_s: u64,
    /// How long a graceful stop waits for running jobs to finish, in seconds; those still
    /// running then are released, to run again at once elsewhere.
    pub grace_s: u64,
    /// How long done and cancelled jobs are kept, in hours (dead ones stay until retried or
    /// cancelled).
    pub retention_hours: u64,
    /// How often the automation dispatcher looks for new events, in milliseconds (and at once
    /// when this replica commits a change): the delay from a change to its rules' jobs.
    pub dispatch_poll_ms: u64,
    /// The dispatchers' lease, in seconds: a replica that dies hands dispatching to another
    /// after this.
    pub dispatch_lease_s: u64,
    /// Calls outside (webhooks, SMTP, CalDAV): timeouts, retries within a call, bulkhead.
    pub calls: CallSettings,
    /// Each external destination's circuit breaker.
    pub breaker: BreakerConfig,
    /// The SMTP server rules' emails go through.
    pub smtp: SmtpSettings,
    /// The account rules' `calendar_event` actions put interviews on CalDAV calendars with.
    pub caldav: CaldavSettings,
}

/// The CalDAV account of rules' calendar events (HTTP Basic; empty: no credentials sent).
/// The credentials go only to calendars under `base_url`, the server the account belongs to:
/// any org's admin names the calendars of their rules, and must not receive the account that
/// writes every org's.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaldavSettings {
    pub username: String,
    pub password: String,
    /// `https://host[:port]/path/`: calendars under it get the credentials, others none.
    /// Required with a `username`.
    pub base_url: String,
}

impl std::fmt::Debug for CaldavSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password is a secret: never in a log line.
        f.debug_struct("CaldavSettings")
            .field("username", &self.username)
            .field("base_url", &self.base_url)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .finish()
    }
}

/// Calls outside ([`effects`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallSettings {
    /// One attempt's whole time (connect, send, answer), in milliseconds.
    pub timeout_ms: u64,
    /// Connecting, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Attempts after the first within one call (short waits with jitter; longer ones are the
    /// job's retries).
    pub retries: u32,
    /// Calls in flight per destination (the bulkhead); more are refused at once and retried.
    pub max_concurrent: u32,
    /// Whether rules may call addresses of private networks (loopback, RFC 1918, link-local,
    /// unique local, ...). Off by default: an org's admin must not reach the deployment's
    /// internal services (a database, a metadata endpoint) through a webhook or calendar URL.
    pub allow_private_networks: bool,
    /// A PEM file of the certificates HTTPS calls (webhooks, CalDAV) trust instead of Mozilla's
    /// roots: an internal CA, or the system's bundle (`/etc/ssl/certs/ca-certificates.crt`).
    /// Empty: Mozilla's roots, built in.
    pub ca_file: String,
}

impl Default for CallSettings {
    fn default() -> CallSettings {
        CallSettings {
            timeout_ms: 10_000,
            connect_timeout_ms: 3_000,
            retries: 2,
            max_concurrent: 4,
            allow_private_networks: false,
            ca_file: String::new(),
        }
    }
}

/// A destination's circuit breaker (resilience4j's semantics, `workflow::breaker`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// The last calls looked at.
    pub window: u32,
    /// Calls the window needs before its failure rate counts.
    pub minimum_calls: u32,
    /// The failure rate that opens the breaker, in percent.
    pub failure_rate_percent: u8,
    /// How long it stays open before probes, in milliseconds.
    pub open_ms: u64,
    /// Probe calls in the half-open state.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> BreakerConfig {
        BreakerConfig {
            window: 20,
            minimum_calls: 10,
            failure_rate_percent: 50,
            open_ms: 30_000,
            half_open_probes: 3,
        }
    }
}

/// The SMTP server of rules' emails.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// Its host; empty (the default): emails fail permanently, naming this setting.
    pub host: String,
    pub port: u16,
    /// The sender (`From` and envelope).
    pub from: String,
    /// `none` (in the clear, a relay on the local network), `starttls` (required, usually
    /// port 587) or `tls` (implicit TLS, usually port 465); the certificate is checked against
    /// Mozilla's roots or `workflow.calls.ca_file`.
    pub tls: SmtpTlsSetting,
    /// `AUTH` credentials (PLAIN or LOGIN), sent only over TLS; empty: none.
    pub username: String,
    pub password: String,
}

/// `workflow.smtp.tls`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTlsSetting {
    #[default]
    None,
    Starttls,
    Tls,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password is a secret: never in a log line.
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .finish()
    }
}

impl Default for SmtpSettings {
    fn default() -> SmtpSettings {
        SmtpSettings {
            host: String::new(),
            port: 25,
            from: "hireplane@localhost".to_owned(),
            tls: SmtpTlsSetting::None,
            username: String::new(),
            password: String::new(),
        }
    }
}

impl Default for WorkflowSettings {
    fn default() -> WorkflowSettings {
        WorkflowSettings {
            workers: 4,
            poll_ms: 1_000,
            lease_s: 30,
            grace_s: 10,
            retention_hours: 168,
            dispatch_poll_ms: 20,
            dispatch_lease_s: 10,
            calls: CallSettings::default(),
            breaker: BreakerConfig::default(),
            smtp: SmtpSettings::default(),
            caldav: CaldavSettings::default(),
        }
    }
}

/// GraphQL subscriptions over WebSocket (`GET /graphql` upgraded; [`crate::subscriptions`]):
/// how often new events are looked for, and the bounds of what a client holds open.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Subscriptions {
    /// How often the replica looks at the head of each org that has subscribers (one read of a
    /// row per org, however many subscribe), in milliseconds; an event reaches its subscribers
    /// within this time and one read of the outbox.
    pub poll_ms: u64,
    /// The most subscriptions one connection may run at once; a further one gets an error.
    pub max_per_connection: usize,
    /// The most WebSocket connections one token may hold open at once (on this replica); a
    /// further one is closed at `connection_init` with 4429.
    pub max_connections_per_token: usize,
    /// The most WebSocket connections one user may hold open at once, all their tokens
    /// together (on this replica); a further one is closed at `connection_init` with 4429.
    pub max_connections_per_user: usize,
    /// The most WebSocket connections one org's users may hold open at once, all together (on
    /// this replica); a further one is closed at `connection_init` with 4429. Bounds what an
    /// org's admin can hold by inviting users: each connection may queue
    /// `4 * max_event_bytes` and run `max_per_connection` readers.
    pub max_connections_per_org: usize,
    /// The largest message the server sends a subscriber, in bytes (JSON); a subscription
    /// whose message would be larger ends with an `error` that says so. A connection queues
    /// at most four such messages' worth for a client that reads slowly; its subscriptions
    /// wait meanwhile.
    pub max_event_bytes: usize,
    /// The largest message (and frame) a client may send, in bytes; a larger one closes the
    /// connection (1009).
    pub max_message_bytes: usize,
    /// How long a client has from the upgrade to its `connection_init`, in milliseconds; then
    /// the connection is closed (4408).
    pub init_timeout_ms: u64,
    /// How often the server pings an idle client, in milliseconds; a client that has sent
    /// nothing (not even a pong) for two of these is closed (3008).
    pub ping_ms: u64,
    /// How long a message to a client may take to be written, in milliseconds; a client that
    /// reads slower is closed, so its subscriptions hold no buffers.
    pub send_timeout_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// How long a console session lasts from sign-in, in minutes.
    pub session_minutes: u32,
    /// Mark the session cookie `Secure` (the browser sends it over HTTPS only): set it when a
    /// proxy serves the console over TLS. Off by default, since `serve` itself speaks plain HTTP.
    pub secure_cookie: bool,
    /// Failed sign-ins per account (email or token) from one address per minute on average,
    /// and at once; four times as many per address, and per account from every address (while
    /// an account is over it, only browsers with its device cookie get in: `console::signin`).
    pub sign_in_failures_per_minute: u32,
    pub sign_in_failure_burst: u32,
    /// The address people reach the console at (`https://hire.example.com`), for the links it
    /// makes (invitations). Empty: the request's `Host` when it is a plain `host[:port]`, over
    /// https when `secure_cookie` is set. Set it behind a proxy.
    pub public_url: String,
    /// The proxies (load balancers) in front of the server, as addresses or CIDR networks
    /// (`10.0.0.0/8`, `2001:db8::/32`). A request from one of them is taken to come from the
    /// last address of its `X-Forwarded-For` that is not one of them (the proxies append the
    /// address of whoever connected to them); from anywhere else, from its TCP peer, whatever
    /// its headers say. Every per-address limit (the API's and the console's) uses that address;
    /// connections are still counted per TCP peer. Empty: always the TCP peer.
    pub trusted_proxies: Vec<String>,
}

impl ConsoleSettings {
    /// `public_url` without its trailing `/`, checked: `http://` or `https://`, then a host
    /// (and port) and an optional path, without a query, a fragment, user info or spaces.
    /// `None` when it is not set.
    pub fn public_url(&self) -> Result<Option<String>, String> {
        let url = self.public_url.trim().trim_end_matches('/');
        if url.is_empty() {
            return Ok(None);
        }
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| {
                format!("`console.public_url` `{url}` must start with `https://` or `http://`")
            })?;
        let host = rest.split('/').next().unwrap_or("");
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~/:[]%".contains(c);
        if host.is_empty() || !is_host(host) || !rest.chars().all(allowed) {
            return Err(format!(
                "`console.public_url` `{url}` must be a scheme, a host (and port) and a path, \
                 without a query, a fragment, user info or spaces"
            ));
        }
        Ok(Some(url.to_owned()))
    }

    /// `trusted_proxies`, parsed: each an address or a network (`address/prefix`).
    pub fn trusted_proxies(&self) -> Result<Vec<Network>, String> {
        self.trusted_proxies
            .iter()
            .map(|text| {
                Network::parse(text).ok_or_else(|| {
                    format!(
                        "`console.trusted_proxies` has `{}`, which is not an address or a network \
                         (`10.0.0.0/8`, `2001:db8::/32`)",
                        text.chars().take(60).collect::<String>()
                    )
                })
            })
            .collect()
    }
}

/// An address and the number of its leading bits that name a network (`10.0.0.0/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    address: std::net::IpAddr,
    prefix: u8,
}

impl Network {
    /// `address` or `address/prefix` (the bits past the prefix need not be zero).
    pub fn parse(text: &str) -> Option<Network> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let address: std::net::IpAddr = address.parse().ok()?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
            None => bits,
        };
        (prefix <= bits).then_some(Network { address, prefix })
    }

    /// Whether `ip` is in the network (an IPv4 address written as IPv6, `::ffff:a.b.c.d`, is
    /// taken as the IPv4 one).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let keep = |bits: u32, width: u32| -> u128 {
            if bits == 0 {
                0
            } else {
                (u128::MAX >> (128 - width)) & !((1u128 << (width - bits)).wrapping_sub(1))
            }
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = keep(u32::from(self.prefix), 32);
                u128::from(u32::from(net)) & mask == u128::from(u32::from(ip)) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = keep(u32::from(self.prefix), 128);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `text` is a plain `host[:port]`: a DNS name or IPv4 address, or a bracketed IPv6 address,
/// and a port of digits (what a `Host` header may be trusted to be in a link).
pub fn is_host(text: &str) -> bool {
    let port_ok = |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(v6) = text.strip_prefix('[') {
        let Some((addr, rest)) = v6.split_once(']') else {
            return false;
        };
        return addr.parse::<std::net::Ipv6Addr>().is_ok()
            && (rest.is_empty() || rest.strip_prefix(':').is_some_and(port_ok));
    }
    let (name, port) = match text.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (text, None),
    };
    let label = |l: &str| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    name.len() <= 253 && name.split('.').all(label) && port.is_none_or(port_ok)
}

impl Default for ConsoleSettings {
    fn default() -> ConsoleSettings {
        ConsoleSettings {
            session_minutes: 8 * 60,
            secure_cookie: false,
            sign_in_failures_per_minute: 5,
            sign_in_failure_burst: 10,
            public_url: String::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// How long a checked token is trusted without asking the store again, in milliseconds. A
    /// revocation takes effect on every replica within this time. 0: check every request.
    pub cache_ms: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: "sqlite://hireplane.db".to_owned(),
            graphiql: true,
            log_format: LogFormat::Json,
            log_level: "info".to_owned(),
            catalog_cache_ms: 5_000,
            metrics_token: String::new(),
            pool: Pool::default(),
            limits: Limits::default(),
            auth: Auth::default(),
            flags: FlagSettings::default(),
            events: EventSettings::default(),
            subscriptions: Subscriptions::default(),
            workflow: WorkflowSettings::default(),
            console: ConsoleSettings::default(),
            demo_users: Vec::new(),
        }
    }
}

impl Default for Pool {
    fn default() -> Pool {
        Pool {
            size: 16,
            acquire_timeout_ms: 5_000,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 10,
            max_complexity: 5_000,
            max_cost: 50_000,
            max_mutations: 10,
            max_body_bytes: 256 * 1024,
            max_nesting: 100,
            max_page_size: 200,
            default_page_size: 50,
            request_timeout_ms: 30_000,
            max_scheduling_ms: 1_000,
            header_read_timeout_ms: 10_000,
            statement_timeout_ms: 20_000,
            max_report_rows: 10_000,
            max_response_bytes: 32 << 20,
            max_workers_per_org: 0,
            max_workers_per_user: 0,
            fair_share_slots: 0,
            max_connections_per_ip: 64,
            auth_failures_per_minute: 60,
            auth_failure_burst: 20,
            rate_per_second: 100,
            rate_burst: 200,
            rate_scope: RateScope::Cluster,
            replica_heartbeat_ms: 2_000,
        }
    }
}

impl Default for FlagSettings {
    fn default() -> FlagSettings {
        FlagSettings {
            poll_ms: 500,
            environment: String::new(),
            operator_org: String::new(),
            canary: false,
            rollout_tick_ms: 5_000,
        }
    }
}

impl Default for Subscriptions {
    fn default() -> Subscriptions {
        Subscriptions {
            poll_ms: 200,
            max_per_connection: 10,
            max_connections_per_token: 4,
            max_connections_per_user: 8,
            max_connections_per_org: 256,
            max_event_bytes: 256 * 1024,
            max_message_bytes: 64 * 1024,
            init_timeout_ms: 10_000,
            ping_ms: 30_000,
            send_timeout_ms: 10_000,
        }
    }
}

impl Default for Auth {
    fn default() -> Auth {
        Auth { cache_ms: 2_000 }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database", &store::redact(&self.database))
            .field("graphiql", &self.graphiql)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("catalog_cache_ms", &self.catalog_cache_ms)
            .field(
                "metrics_token",
                &if self.metrics_token.is_empty() {
                    ""
                } else {
                    "(set)"
                },
            )
            .field("pool", &self.pool)
            .field("limits", &self.limits)
            .field("auth", &self.auth)
            .field("flags", &self.flags)
            .field("events", &self.events)
            .field("subscriptions", &self.subscriptions)
            .field("workflow", &self.workflow)
            // Their tokens are secrets.
            .field("demo_users", &self.demo_users.len())
            .finish()
    }
}

/// The top-level keys, as the environment spells them after `HIREPLANE_` (lower-cased).
const KEYS: &[&str] = &[
    "listen",
    "database",
    "graphiql",
    "log_format",
    "log_level",
    "catalog_cache_ms",
    "metrics_token",
    "pool",
    "limits",
    "auth",
    "flags",
    "events",
    "subscriptions",
    "workflow",
    "console",
];

impl Settings {
    /// The defaults, then `file` (if given), then the `HIREPLANE_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "settings file `{}` does not exist",
                    file.display()
                ))));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment
            .merge(
                Env::prefixed("HIREPLANE_")
                    // Other HIREPLANE_ variables (the CLI's `HIREPLANE_AS`, the tests') are not
                    // settings: only the settings' own keys are read.
                    .filter(|key| {
                        let key = key.as_str().to_ascii_lowercase();
                        KEYS.iter()
                            .any(|k| key == *k || key.starts_with(&format!("{k}__")))
                    })
                    .split("__"),
            )
            .extract()
            .map_err(Box::new)
    }
}

#[cfg(test)]
mod tests {
    // `result_large_err`: the closure's error type is figment's own (`Jail::expect_with`).
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::result_large_err
    )]
    use super::*;

    #[test]
    fn hosts_and_public_urls_are_checked() {
        for ok in [
            "localhost",
            "localhost:8080",
            "hire.example.com",
            "10.0.0.1:80",
            "[::1]:8080",
            "[2001:db8::1]",
        ] {
            assert!(is_host(ok), "{ok}");
        }
        for bad in [
            "",
            ":80",
            "evil.com/x",
            "a@b",
            "host:",
            "host:123456",
            "host:8o",
            "[::1",
            "[nope]:1",
            "a..b",
            "a b",
            "x\"onmouseover=1",
            "evil.com#",
            "evil.com?x",
        ] {
            assert!(!is_host(bad), "{bad}");
        }
        let url = |u: &str| {
            ConsoleSettings {
                public_url: u.to_owned(),
                ..ConsoleSettings::default()
            }
            .public_url()
        };
        assert_eq!(url(""), Ok(None));
        assert_eq!(
            url("https://hire.example.com/"),
            Ok(Some("https://hire.example.com".to_owned()))
        );
        assert_eq!(
            url("http://10.0.0.1:8080/hp"),
            Ok(Some("http://10.0.0.1:8080/hp".to_owned()))
        );
        for bad in [
            "hire.example.com",
            "ftp://x",
            "https://",
            "https://u@x",
            "https://x/?a",
            "https://x/#a",
            "https://x y",
        ] {
            assert!(
                url(bad).unwrap_err().contains("`console.public_url`"),
                "{bad}"
            );
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let net = |t: &str| Network::parse(t).unwrap();
        let ip = |t: &str| t.parse::<std::net::IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.200.1.2")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.0.0.7")));
        assert!(net("192.168.1.10").contains(ip("192.168.1.10")));
        assert!(!net("192.168.1.10").contains(ip("192.168.1.11")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!net("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(!net("2001:db8::/32").contains(ip("10.0.0.1")));
        assert!(net("::1").contains(ip("::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "host",
            "10/8",
        ] {
            assert_eq!(Network::parse(bad), None, "{bad}");
        }
        let settings = ConsoleSettings {
            trusted_proxies: vec!["10.0.0.0/8".to_owned(), "proxy.local".to_owned()],
            ..ConsoleSettings::default()
        };
        let e = settings.trusted_proxies().unwrap_err();
        assert!(
            e.contains("`console.trusted_proxies`") && e.contains("`proxy.local`"),
            "{e}"
        );
        assert_eq!(ConsoleSettings::default().trusted_proxies(), Ok(Vec::new()));
    }

    #[test]
    fn file_then_environment_then_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "hp.toml",
                "listen = \"0.0.0.0:9000\"\n[limits]\nmax_depth = 4\nrate_per_second = 7\n",
            )?;
            jail.set_env("HIREPLANE_LIMITS__MAX_DEPTH", "5");
            jail.set_env("HIREPLANE_LIMITS__RATE_SCOPE", "replica");
            jail.set_env("HIREPLANE_DATABASE", "postgres://u:secret@db/hp");
            // Not settings: the CLI's and the tests' variables are left alone.
            jail.set_env("HIREPLANE_AS", "someone");
            jail.set_env("HIREPLANE_TEST_POSTGRES", "x");
            jail.set_env("HIREPLANE_CONSOLE__PUBLIC_URL", "https://hire.example.com");
            jail.set_env("HIREPLANE_METRICS_TOKEN", "scrape-me");
            jail.set_env(
                "HIREPLANE_CONSOLE__TRUSTED_PROXIES",
                "[10.0.0.0/8, \"2001:db8::/32\"]",
            );
            let s = Settings::load(Some(Path::new("hp.toml"))).unwrap();
            assert_eq!(s.console.trusted_proxies, ["10.0.0.0/8", "2001:db8::/32"]);
            assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
            assert_eq!(s.limits.max_depth, 5, "the environment wins over the file");
            assert_eq!(s.limits.rate_per_second, 7);
            assert_eq!(s.limits.rate_scope, RateScope::Replica);
            assert_eq!(Limits::default().rate_scope, RateScope::Cluster);
            assert_eq!(s.limits.max_page_size, Limits::default().max_page_size);
            assert_eq!(s.database, "postgres://u:secret@db/hp");
            assert_eq!(s.console.public_url, "https://hire.example.com");
            assert_eq!(s.metrics_token, "scrape-me");
            assert!(
                !format!("{s:?}").contains("scrape-me"),
                "the token is a secret"
            );
            let shown = format!("{s:?}");
            assert!(!shown.contains("secret"), "{shown}");
            Ok(())
        });
    }

    #[test]
    fn mistakes_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("typo.toml", "[limits]\nmax_dept = 4\n")?;
            let e = Settings::load(Some(Path::new("typo.toml")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("max_dept") && e.contains("typo.toml"), "{e}");
            jail.create_file("type.toml", "[limits]\nmax_depth = \"deep\"\n")?;
            let e = Settings::load(Some(Path::new("type.toml")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("max_depth"), "{e}");
            let e = Settings::load(Some(Path::new("missing.toml")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("missing.toml"), "{e}");
            jail.create_file("scope.toml", "[limits]\nrate_scope = \"global\"\n")?;
            let e = Settings::load(Some(Path::new("scope.toml")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("global") && e.contains("cluster"), "{e}");
            // The demo users' tokens come from `serve --demo` alone.
            jail.create_file(
                "demo.toml",
                "[[demo_users]]\nrole = \"admin\"\nuser_id = \"u\"\nname = \"n\"\ntoken = \"t\"\n",
            )?;
            let e = Settings::load(Some(Path::new("demo.toml")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("demo_users"), "{e}");
            jail.set_env("HIREPLANE_DEMO_USERS", "[]");
            assert!(Settings::load(None).unwrap().demo_users.is_empty());
            jail.set_env("HIREPLANE_LIMITS__RATE_PER_SECOND", "lots");
            let e = Settings::load(None).unwrap_err().to_string();
            assert!(e.to_lowercase().contains("rate_per_second"), "{e}");
            Ok(())
        });
    }
}
