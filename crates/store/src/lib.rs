//! hireplane's store: the only crate that talks to a database.
//!
//! Two backends behave the same: SQLite, the embedded default (a file created on first use, no
//! server), and PostgreSQL for production. One URL picks the backend: `sqlite://PATH` or
//! `postgres://...` (see [`Store::open`]).
//!
//! - Versioned migrations for each backend live in `migrations/` and run on open.
//! - Every table of org data carries `org_id`, and every primary key, foreign key and index starts
//!   with it, so the schema distributes by org on a sharded PostgreSQL (Citus) unchanged. Every
//!   statement of this crate that touches org data is bound to one org: there is no API that reads
//!   or writes across orgs. (`replicas`, which describes the deployment, holds no org data.)
//! - [`Store::import`] streams an org folder (`hireplane-org/1`) into the store in one transaction:
//!   all or nothing. [`Store::export`] writes it back.
//! - Beside the org's data, and outside the interchange format: the org's own access policies,
//!   versioned ([`Store::set_org_policy`]), and an append-only audit log ([`Store::record_audit`]);
//!   see the `audit` module. Replacing an org keeps both.
//! - Each org's domain events, in a transactional outbox written by the write paths in the
//!   change's own transaction, in commit order per org (`events`: the catalogue, docs/events.md,
//!   [`Store::outbox_events`]). Replacing an org keeps them. A relay (`relay`) publishes
//!   them: it lists the orgs with events to publish (ids and counters, like [`Store::orgs`]),
//!   then reads and marks each org's events on their own.
//! - [`Store::warehouse_read`]: every table reports read and the org's events, typed, in one
//!   snapshot, streamed to a sink (the `warehouse` crate writes Parquet); or a delta since an
//!   export's event `seq` (the `warehouse` module).
//! - A durable job queue (`jobs`): deployment-wide, each job of an org; claimed with leases
//!   (`FOR UPDATE SKIP LOCKED` on PostgreSQL), retried, dead-lettered, enqueued alone or in a
//!   write path's transaction.
//! - Outside every org: the server replicas serving the database and their heartbeats
//!   ([`Store::replica_heartbeat`], [`Store::replica_leave`]; the `replicas` module), so that the
//!   server's per-token rate limit can be split between the live replicas; and each replica's
//!   view of the external destinations its effects call ([`Store::record_destinations`],
//!   [`Store::destination_statuses`]; the `destinations` module).
//! - The web console's sessions, passwords and one-time codes, as hashes
//!   ([`Store::create_session`], [`Store::set_password`], [`Store::take_code`]; the `sessions`
//!   module).
//!
//! Architecture invariant: the store knows tables and rows, not policies or reports; it is handed
//! validated values from `domain` and gives them back.

mod audit;
pub mod automation;
pub mod destinations;
pub mod events;
mod export;
mod facts;
mod flags;
mod import;
pub mod jobs;
mod migrate;
mod postgres;
mod privacy;
pub mod relay;
mod replicas;
mod report;
mod rollouts;
mod rows;
mod sessions;
mod sqlite;
mod tokens;
pub mod warehouse;
mod write;

use std::path::{Path, PathBuf};

use domain::Id;
use domain::format::{Problem, Progress};

pub use audit::{AuditEvent, AuditOutcome, AuditQuery, OrgPolicy};
pub use events::{Acting, EventQuery, OutboxEvent};
pub use export::{Calendars, Dialect, Get};
pub use facts::{DECIDABLE, EntityFacts, FactValue};
pub use flags::{FlagAuthor, FlagChange, FlagKind, NewFlagChange, StoredFlag};
pub use privacy::{DemographicRun, PrivacySettings};
pub use report::{ReportRows, UserAccess};
pub use rollouts::{CohortCounts, CohortSums, RolloutEvent, RolloutWrite, StoredRollout};
pub use rows::{FOREIGN_KEYS, ForeignKey, Table};
pub use sessions::{
    CodePurpose, SESSIONS_PER_USER, SessionVia, StoredCode, StoredPassword, StoredSession,
};
pub use tokens::{
    CONSOLE_TOKEN_PREFIX, IDEMPOTENCY_KEPT_FOR, IDEMPOTENCY_KEYS_KEPT, IdempotencyBegin,
    StoredToken, console_name,
};
pub use write::{
    AddStage, Archive, CustomFieldValue, DEFAULT_ARCHIVE_REASONS, Hire, InterviewLoop,
    MAX_ARCHIVE_REASON_CHARS, MAX_ARCHIVE_REASONS, MAX_DUPLICATE_CANDIDATES, MAX_OPTIONS,
    MAX_PARTICIPANTS, MAX_SCORES, MAX_TAGS, MAX_TEAM, MarkInterview, MergeCandidates, Merged,
    MoveStage, NewApplication, NewCandidate, NewCustomField, NewFeedback, NewInterview,
    NewInterviewLoop, NewJob, NewOffer, NewStage, OfferTerms, RepairLoop, RepairedLoop,
    StageChange, Unarchive, UpdateCandidate, UpdateCustomField, UpdateFeedback, UpdateJob,
    UpdateOffer, UpdateStage, UpdateUser, UpdatedUser, WriteError, map_entry_path,
};

/// Where the store lives, parsed from a database URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (relative or absolute) or `sqlite://:memory:`.
    Sqlite(PathBuf),
    /// `postgres://...` or `postgresql://...`, as libpq understands it.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::BadUrl(url.to_owned()));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        Err(StoreError::BadUrl(redact(url)))
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => f.write_str(&redact(u)),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The schema version this binary migrates to; a store at a lower version is not current.
pub fn latest_schema_version() -> i64 {
    migrate::latest()
}

/// A URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((creds, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match creds.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// What went wrong talking to the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("`{0}` is not a database URL: expected `sqlite://PATH` or `postgres://USER@HOST/DB`")]
    BadUrl(String),
    #[error("cannot open the SQLite database `{}`", path.display())]
    SqliteOpen {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot connect to PostgreSQL at `{url}`")]
    PostgresConnect {
        url: String,
        #[source]
        source: ::postgres::Error,
    },
    #[error("SQLite")]
    Sqlite(#[from] rusqlite::Error),
    /// Any other error of PostgreSQL (a statement cancelled by the statement timeout is
    /// [`StoreError::Timeout`]).
    #[error("PostgreSQL")]
    Postgres(#[source] ::postgres::Error),
    /// The statement timeout ([`Store::set_statement_timeout`]) stopped a statement: the
    /// connection is still good, the statement asked for too much.
    #[error("the statement timeout stopped a statement")]
    Timeout,
    #[error("migration {version} (`{name}`) failed")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: Box<StoreError>,
    },
    #[error(
        "the database has schema version {found}, newer than this hireplane knows ({known}): upgrade hireplane"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("no org `{0}` in the store")]
    NoSuchOrg(String),
    /// What a token would make is refused once the token is revoked (migration 36).
    #[error("token `{0}` was revoked")]
    TokenRevoked(String),
    #[error("no application `{0}` in the org")]
    NoSuchApplication(String),
    #[error("org `{0}` already exists in the store; pass `--replace` to replace it")]
    OrgExists(String),
    #[error("`{0}` is not an audit outcome: expected `allowed` or `denied`")]
    BadAuditOutcome(String),
    #[error("the database writer stopped")]
    WriterStopped,
    #[error("the stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("report: {0}")]
    Report(String),
    /// A statement past a limit of the database (SQLite: too many columns, terms or tables in
    /// a join, an expression tree too large; PostgreSQL: SQLSTATE class 54): the report asked
    /// for too much at once, not a fault of the store.
    #[error("the report is larger than the database takes: {0}")]
    TooLarge(String),
    /// A value the database refuses, given by the caller (PostgreSQL: SQLSTATE class 22, a data
    /// exception: a NUL in text, a number or a date out of range; SQLite: an integer overflow
    /// in a report): the caller's mistake, not a fault of the store. The database's message.
    #[error("the database refuses a value: {0}")]
    BadValue(String),
    #[error("`{0}` is not an entity type decisions can name one by one; expected one of {1}")]
    NotDecidable(String, String),
    #[error(transparent)]
    Write(#[from] domain::format::WriteError),
    /// A job that cannot be enqueued (`jobs`).
    #[error("job: {0}")]
    InvalidJob(String),
    #[error("replica heartbeat: {0}")]
    Replica(String),
    /// A destination status that cannot be stored (`destinations`).
    #[error("destination status: {0}")]
    Destination(String),
    /// A warehouse delta that cannot be read (`warehouse`).
    #[error(transparent)]
    Delta(#[from] warehouse::DeltaError),
    /// What a [`warehouse::WarehouseSink`] failed with while it was handed rows.
    #[error("writing the rows read")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A report would return more rows than the connection's row limit
    /// ([`Store::set_row_limit`]); the run stopped at the first row past it.
    #[error("the report returns more than {limit} rows: add a `limit` or narrow the report")]
    TooManyRows { limit: usize },
    /// A report over demographics would return more groups (the values of its other group
    /// keys) than the connection's row limit; counted by groups, not rows ([`Meter`]).
    #[error(
        "the report over demographics has more than {limit} groups: group by fewer or coarser \
         keys, or filter"
    )]
    TooManyGroups { limit: usize },
    /// The reports and pages of one request would return more than their byte budget
    /// ([`Store::set_request`]); the run stopped at the first row past it.
    #[error(
        "the reports and lists of this request return more than {limit} bytes: show fewer \
         columns or rows"
    )]
    TooManyBytes { limit: usize },
}

/// What the statements of one request share (the server sets it on the connection for each of
/// the request's jobs: [`Store::set_request`]):
/// - the bytes its reports and pages may still return, all of them together: a row costs its
///   texts' bytes and 64 bytes per value, about what a value takes in memory on its way to the
///   answer (the row, the answer's value tree, its JSON; red team, pass 3: at 8 bytes per value
///   a report of 400 columns counted 26 MB and took the server to 967 MB);
/// - the reads it audited, so that a read its aliases repeat (the same actor, action, subject,
///   outcome, policies, query and detail) is recorded once (red team, pass 2: 1,000 aliased
///   pages wrote 1,000 identical rows of the append-only log).
#[derive(Clone, Debug, Default)]
pub struct RequestScope {
    left: Option<std::sync::Arc<std::sync::atomic::AtomicI64>>,
    limit: usize,
    audited: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<u64>>>,
}

impl RequestScope {
    /// A request whose reports and pages may return `bytes` in all (`None`: no limit).
    pub fn new(bytes: Option<usize>) -> RequestScope {
        RequestScope {
            left: bytes.map(|b| {
                std::sync::Arc::new(std::sync::atomic::AtomicI64::new(
                    i64::try_from(b).unwrap_or(i64::MAX),
                ))
            }),
            limit: bytes.unwrap_or(0),
            audited: Default::default(),
        }
    }

    /// Takes `row`'s bytes from the budget; [`StoreError::TooManyBytes`] once it is spent.
    pub(crate) fn take(&self, row: &[query_compiler::Value]) -> Result<(), StoreError> {
        self.take_bytes(row.iter().map(value_bytes).sum())
    }

    /// Takes a group's bytes from the budget: 64 for each of the row's values and the texts of
    /// its `keys` only ([`Meter`]).
    fn take_group(&self, keys: &[usize], row: &[query_compiler::Value]) -> Result<(), StoreError> {
        let key_texts: usize = keys
            .iter()
            .filter_map(|&k| row.get(k))
            .map(|v| value_bytes(v) - 64)
            .sum();
        self.take_bytes(64 * row.len() + key_texts)
    }

    fn take_bytes(&self, bytes: usize) -> Result<(), StoreError> {
        let Some(left) = &self.left else {
            return Ok(());
        };
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        let before = left.fetch_sub(bytes, std::sync::atomic::Ordering::Relaxed);
        if before < bytes {
            return Err(StoreError::TooManyBytes { limit: self.limit });
        }
        Ok(())
    }

    /// Whether this request records `event` for the first time (then it is remembered).
    pub(crate) fn first_time(&self, event: &AuditEvent) -> bool {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            &event.actor,
            &event.action,
            &event.subject,
            event.outcome.as_str(),
            &event.policies,
            &event.query_hash,
            &event.detail,
        )
            .hash(&mut h);
        self.audited
            .lock()
            .map_or(true, |mut seen| seen.insert(h.finish()))
    }
}

/// What a value costs of a request's byte budget: its text and 64 bytes, about what it takes in
/// memory on its way to the answer.
fn value_bytes(v: &query_compiler::Value) -> usize {
    use query_compiler::Value;
    64 + match v {
        Value::Text(s) | Value::Date(s) | Value::List(s) | Value::Map(s) => s.len(),
        _ => 0,
    }
}

/// How a statement's rows are counted as they are read: against the connection's row limit
/// ([`Store::set_row_limit`]) and the request's byte budget ([`Store::set_request`]), the first
/// row past either refused, so that what a statement holds stays bounded.
///
/// A report over demographics is counted by its **groups** (the values of its other group
/// keys), not its rows: its rows are cells, one per group and answer, so how many it has, and
/// their bytes, depend on the people's answers, and a refusal that depends on them tells them
/// (red team, pass 13: with a row limit of 201, 200 groups of one person each and a group of
/// two, "more than 201 rows" or not told whether the two gave the same answer, 11 of 11 pairs
/// right). The number of groups, and a group's bytes (64 per value, its keys' texts), are what
/// the viewer can count without demographics. What it holds is then bounded by its groups times
/// the answers' combinations.
pub(crate) struct Meter {
    budget: Option<RequestScope>,
    limit: Option<usize>,
    rows: usize,
    /// A report over demographics: the indexes of its other group keys, and the groups seen.
    groups: Option<(Vec<usize>, std::collections::HashSet<u64>)>,
}

impl Meter {
    /// Counts rows: at most `limit` (`None`: any number), each row's bytes from `budget`.
    pub(crate) fn rows(budget: Option<RequestScope>, limit: Option<usize>) -> Meter {
        Meter {
            budget,
            limit,
            rows: 0,
            groups: None,
        }
    }

    /// Counts the groups of a report over demographics (`keys`: the indexes of its group keys
    /// that are not demographic): at most `limit`, each group's bytes from `budget` once.
    pub(crate) fn groups(
        budget: Option<RequestScope>,
        limit: Option<usize>,
        keys: Vec<usize>,
    ) -> Meter {
        Meter {
            groups: Some((keys, Default::default())),
            ..Meter::rows(budget, limit)
        }
    }

    /// Whether a row is streamed (read as it comes, with a limit to stop at).
    pub(crate) fn limited(&self) -> bool {
        self.limit.is_some()
    }

    /// Counts one row read; [`StoreError::TooManyRows`], [`StoreError::TooManyGroups`] or
    /// [`StoreError::TooManyBytes`] past a limit.
    pub(crate) fn admit(&mut self, row: &[query_compiler::Value]) -> Result<(), StoreError> {
        let Some((keys, seen)) = &mut self.groups else {
            if let Some(limit) = self.limit
                && self.rows == limit
            {
                return Err(StoreError::TooManyRows { limit });
            }
            self.rows += 1;
            return match &self.budget {
                Some(b) => b.take(row),
                None => Ok(()),
            };
        };
        if !seen.insert(group_hash(keys, row)) {
            return Ok(());
        }
        if let Some(limit) = self.limit
            && seen.len() > limit
        {
            return Err(StoreError::TooManyGroups { limit });
        }
        match &self.budget {
            Some(b) => b.take_group(keys, row),
            None => Ok(()),
        }
    }
}

/// A hash of a row's values at `keys` (a group of a report over demographics). Two groups that
/// collide count as one: the chance is 2^-64 per pair, and it depends on no answer.
fn group_hash(keys: &[usize], row: &[query_compiler::Value]) -> u64 {
    use query_compiler::Value;
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for &k in keys {
        match row.get(k) {
            None | Some(Value::Null) => 0u8.hash(&mut h),
            Some(Value::Text(s)) => (1u8, s).hash(&mut h),
            Some(Value::Integer(n)) => (2u8, n).hash(&mut h),
            Some(Value::Number(f)) => (3u8, f.to_bits()).hash(&mut h),
            Some(Value::Bool(b)) => (4u8, b).hash(&mut h),
            Some(Value::Instant(n)) => (5u8, n).hash(&mut h),
            Some(Value::Date(s)) => (6u8, s).hash(&mut h),
            Some(Value::List(s)) => (7u8, s).hash(&mut h),
            Some(Value::Map(s)) => (8u8, s).hash(&mut h),
        }
    }
    h.finish()
}

impl From<::postgres::Error> for StoreError {
    /// Classifies by SQLSTATE: `57014` (`query_canceled`, what the statement timeout raises; the
    /// store cancels nothing else) is [`StoreError::Timeout`], class `54` (a limit of the
    /// database) [`StoreError::TooLarge`], class `22` (a data exception: `22021` a NUL in text,
    /// `22003` a number out of range, `22008` a date out of range...) [`StoreError::BadValue`],
    /// anything else [`StoreError::Postgres`]. Every statement of the store that can raise a
    /// data exception carries a caller's value (a report's literal or arithmetic, a written
    /// value): the values the store wrote itself are valid by the domain's types.
    fn from(e: ::postgres::Error) -> StoreError {
        if e.code() == Some(&::postgres::error::SqlState::QUERY_CANCELED) {
            StoreError::Timeout
        } else if e.code().is_some_and(|c| c.code().starts_with("54")) {
            // program_limit_exceeded and its kin (statement_too_complex, too_many_columns,
            // too_many_arguments).
            StoreError::TooLarge(
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
            )
        } else if e.code().is_some_and(|c| c.code().starts_with("22")) {
            StoreError::BadValue(
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
            )
        } else {
            StoreError::Postgres(e)
        }
    }
}

/// Why an import did not happen. In every case nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{total} problem{} in `{}`; nothing was imported", if *.total == 1 { "" } else { "s" }, dir.display())]
    Invalid {
        dir: PathBuf,
        /// The first problems, in file order.
        problems: Vec<Problem>,
        total: u64,
    },
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    fn from_read(dir: &Path, e: domain::format::ReadError<StoreError>) -> ImportError {
        match e {
            domain::format::ReadError::Invalid { problems, total } => ImportError::Invalid {
                dir: dir.to_owned(),
                problems,
                total,
            },
            domain::format::ReadError::Io { path, source } => ImportError::Io { path, source },
            domain::format::ReadError::Sink(e) => ImportError::Store(e),
        }
    }
}

/// How to import.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Replace an org with the same id, atomically, instead of refusing.
    pub replace: bool,
}

/// How an import made sure that every reference of the org resolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForeignKeyChecks {
    /// The format reader resolved every reference before a row was written (SQLite).
    ByReader,
    /// PostgreSQL's triggers checked each row as it was written.
    PerRow,
    /// Every foreign key of the org was checked in one query per table before commit.
    SetBased,
}

/// What an import stored.
#[derive(Clone, Debug)]
pub struct ImportReport {
    pub org_id: Id,
    pub replaced: bool,
    pub foreign_keys: ForeignKeyChecks,
    pub summary: domain::format::ReadSummary,
}

/// Rows per table of one org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgCounts {
    pub org_id: String,
    pub name: String,
    pub counts: Vec<(Table, u64)>,
}

impl OrgCounts {
    pub fn get(&self, table: Table) -> u64 {
        self.counts
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    }
}

/// Counts that summarise an org; see [`Store::overview`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overview {
    /// Jobs per status.
    pub jobs: Vec<(String, u64)>,
    /// Applications per status.
    pub applications: Vec<(String, u64)>,
    /// Applications that reached each stage kind, in pipeline order.
    pub funnel: Vec<(String, u64)>,
}

/// A connection to the store, on one of its backends.
pub enum Store {
    /// Boxed, as PostgreSQL's: the connection and its settings are some 200 bytes.
    Sqlite(Box<sqlite::SqliteStore>),
    /// Boxed: the PostgreSQL client and its statement cache are larger than SQLite's.
    Postgres(Box<postgres::PgStore>),
}

impl Store {
    /// Opens (SQLite: creating the file if needed) and migrates the store at `url`.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => {
                Ok(Store::Sqlite(Box::new(sqlite::SqliteStore::open(&path)?)))
            }
            DatabaseUrl::Postgres(url) => {
                Ok(Store::Postgres(Box::new(postgres::PgStore::connect(&url)?)))
            }
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Store::Sqlite(_) => Dialect::Sqlite,
            Store::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Whether the database answers: one round trip.
    pub fn ping(&mut self) -> Result<(), StoreError> {
        self.schema_version().map(|_| ())
    }

    /// Whether the connection is lost for good (PostgreSQL: the server closed it), so that a
    /// pool drops it instead of handing it out again.
    pub fn is_broken(&mut self) -> bool {
        match self {
            Store::Sqlite(_) => false,
            Store::Postgres(s) => s.client().is_closed(),
        }
    }

    /// Whether the connection still answers, asked with an empty statement (one round trip) and
    /// waiting at most `timeout`: what a pool asks of an idle connection once it has reason to
    /// doubt it (a connection is not told that the server closed it while nobody uses it).
    pub fn is_valid(&mut self, timeout: std::time::Duration) -> bool {
        match self {
            Store::Sqlite(_) => true,
            Store::Postgres(s) => s.client().is_valid(timeout).is_ok(),
        }
    }

    /// Stops any statement of this connection that runs longer than `timeout` (PostgreSQL's
    /// `statement_timeout`; zero means none) with [`StoreError::Timeout`]. SQLite has no such
    /// setting: there reports are interrupted by a progress handler that watches the clock
    /// (every 1,000 of its instructions); its other statements are short.
    pub fn set_statement_timeout(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.set_statement_timeout(timeout);
                Ok(())
            }
            Store::Postgres(s) => {
                let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
                s.client()
                    .batch_execute(&format!("SET statement_timeout = {ms}"))?;
                Ok(())
            }
        }
    }

    /// Refuses a report ([`Store::run_report`]) that would return more than `limit` rows with
    /// [`StoreError::TooManyRows`] (`None`: no limit, the default). The rows are read as they
    /// come and the run stops at the first one past the limit, so what a report holds in memory
    /// stays bounded: the server sets `limits.max_report_rows` on its connections, the CLI none.
    /// A page (`query_compiler::Compiled::reads_a_page`) is not counted: its statement's own
    /// `LIMIT` bounds it (at most `query_compiler::lower::PAGE_ROWS` rows).
    pub fn set_row_limit(&mut self, limit: Option<usize>) {
        match self {
            Store::Sqlite(s) => s.row_limit = limit,
            Store::Postgres(s) => s.row_limit = limit,
        }
    }

    /// Runs what follows as part of request `scope` until set again (`None`, the default: no
    /// request). The rows of every report and page ([`Store::run_report`]) are counted against
    /// its byte budget, the first row past it refused with [`StoreError::TooManyBytes`]; an
    /// audit event it already recorded is not recorded again ([`Store::record_audit`]). The
    /// server sets one scope per request (`limits.max_response_bytes`) before each of its
    /// jobs, so that what a request holds in memory stays bounded whatever its reports show
    /// (red team, pass 2: 400 columns, or a long custom field, gave answers of hundreds of MB).
    pub fn set_request(&mut self, scope: Option<RequestScope>) {
        match self {
            Store::Sqlite(s) => s.request = scope,
            Store::Postgres(s) => s.request = scope,
        }
    }

    /// The scope [`Store::set_request`] set.
    pub(crate) fn request(&self) -> Option<&RequestScope> {
        match self {
            Store::Sqlite(s) => s.request.as_ref(),
            Store::Postgres(s) => s.request.as_ref(),
        }
    }

    /// The limit [`Store::set_row_limit`] set.
    pub fn row_limit(&self) -> Option<usize> {
        match self {
            Store::Sqlite(s) => s.row_limit,
            Store::Postgres(s) => s.row_limit,
        }
    }

    /// The schema version the store is at.
    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.schema_version(),
            Store::Postgres(s) => s.schema_version(),
        }
    }

    /// Imports the org folder `dir`, all or nothing, in one transaction.
    pub fn import(
        &mut self,
        dir: &Path,
        options: ImportOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        match self {
            Store::Sqlite(s) => s.import(dir, options, progress),
            Store::Postgres(s) => s.import(dir, options, progress),
        }
    }

    /// Writes org `org_id` into `dir` in the interchange format.
    pub fn export(&mut self, org_id: &str, dir: &Path) -> Result<(), StoreError> {
        let mut writer = domain::format::OrgWriter::create(dir)?;
        let dialect = self.dialect();
        let mut write = |r: domain::format::Record<'_>| writer.write(r).map_err(StoreError::from);
        let result = match self {
            Store::Sqlite(s) => {
                s.with_org_rows(org_id, &mut |run| export::export(dialect, run, &mut write))
            }
            Store::Postgres(s) => {
                s.with_org_rows(org_id, &mut |run| export::export(dialect, run, &mut write))
            }
        };
        match result {
            Err(StoreError::NoSuchOrg(_)) => Err(StoreError::NoSuchOrg(org_id.to_owned())),
            Err(e) => Err(e),
            Ok(()) => Ok(writer.finish()?),
        }
    }

    /// Every reference of org `org_id` that does not resolve, as (foreign key, rows): empty for a
    /// sound org. Set-based, one query per table; an integrity check for operators and tests.
    pub fn dangling_references(
        &mut self,
        org_id: &str,
    ) -> Result<Vec<(&'static ForeignKey, i64)>, StoreError> {
        let mut out = Vec::new();
        for (fks, sql) in Table::ALL.into_iter().filter_map(rows::dangling_sql) {
            let counts = match self {
                Store::Sqlite(s) => s.counts(&sql, org_id, fks.len())?,
                Store::Postgres(s) => s.counts(&sql, org_id, fks.len())?,
            };
            out.extend(fks.into_iter().zip(counts).filter(|(_, n)| *n > 0));
        }
        Ok(out)
    }

    /// Rows of org `org_id` whose stored `job_id` is not their application's job, per table
    /// ([`rows::STORED_JOB_IDS`]): empty for a sound org. An integrity check for operators and
    /// tests, like [`Store::dangling_references`].
    pub fn stale_job_ids(&mut self, org_id: &str) -> Result<Vec<(Table, i64)>, StoreError> {
        let mut out = Vec::new();
        for (table, sql) in rows::STORED_JOB_IDS {
            let n = match self {
                Store::Sqlite(s) => s.counts(sql, org_id, 1)?,
                Store::Postgres(s) => s.counts(sql, org_id, 1)?,
            };
            let n = n.first().copied().unwrap_or(0);
            if n > 0 {
                out.push((table, n));
            }
        }
        Ok(out)
    }

    /// The interview seats of org `org_id` whose stored `application_id` (migration 34) is not
    /// their interview's application ([`rows::STALE_SEAT_APPLICATIONS`]), as
    /// `interview_id/user_id`: empty for a sound org. An integrity check for operators and tests,
    /// like [`Store::stale_job_ids`].
    pub fn stale_seat_applications(&mut self, org_id: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.org_strings(rows::STALE_SEAT_APPLICATIONS, org_id),
            Store::Postgres(s) => s.org_strings(rows::STALE_SEAT_APPLICATIONS, org_id),
        }
    }

    /// The candidates of org `org_id` whose stored `has_non_confidential_job` (migration 8) is not
    /// whether they have an application to a job that is not confidential
    /// ([`rows::STALE_CANDIDATE_FLAGS`]), by id: empty for a sound org. An integrity check for
    /// operators and tests, like [`Store::stale_job_ids`].
    pub fn stale_candidate_flags(&mut self, org_id: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.org_strings(rows::STALE_CANDIDATE_FLAGS, org_id),
            Store::Postgres(s) => s.org_strings(rows::STALE_CANDIDATE_FLAGS, org_id),
        }
    }

    /// The applications of org `org_id` whose stored `job_confidential` (migration 30) is not
    /// their job's `confidential` ([`rows::STALE_APPLICATION_FLAGS`]), by id: empty for a sound
    /// org. An integrity check for operators and tests, like [`Store::stale_candidate_flags`].
    pub fn stale_application_flags(&mut self, org_id: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.org_strings(rows::STALE_APPLICATION_FLAGS, org_id),
            Store::Postgres(s) => s.org_strings(rows::STALE_APPLICATION_FLAGS, org_id),
        }
    }

    /// A first look at org `org_id`: jobs and applications by status, and how many applications
    /// reached each kind of stage (the funnel), for `demo` and `orgs`.
    pub fn overview(&mut self, org_id: &str) -> Result<Overview, StoreError> {
        let mut run = |sql: &str| match self {
            Store::Sqlite(s) => s.labelled_counts(sql, org_id),
            Store::Postgres(s) => s.labelled_counts(sql, org_id),
        };
        let jobs = run(
            "SELECT status, count(*) FROM jobs WHERE org_id = $1 GROUP BY status ORDER BY status",
        )?;
        let applications = run(
            "SELECT status, count(*) FROM applications WHERE org_id = $1 GROUP BY status ORDER BY status",
        )?;
        let reached = run(
            "SELECT s.kind, count(DISTINCT t.application_id) FROM stage_transitions t \
             JOIN stages s ON s.org_id = t.org_id AND s.id = t.to_stage_id \
             WHERE t.org_id = $1 GROUP BY s.kind",
        )?;
        // Stage kinds in pipeline order, not alphabetical.
        let funnel = domain::enums::StageKind::ALL
            .iter()
            .filter_map(|k| reached.iter().find(|(name, _)| name == k.as_str()).cloned())
            .collect();
        Ok(Overview {
            jobs,
            applications,
            funnel,
        })
    }

    /// What scheduling needs for application `application_id` of org `org_id` between `from` and
    /// `to`: zones, users with working hours and limits, pools, busy time, booked interviews.
    pub fn calendars(
        &mut self,
        org_id: &str,
        application_id: &str,
        from: domain::Instant,
        to: domain::Instant,
    ) -> Result<Calendars, StoreError> {
        let dialect = self.dialect();
        let mut out = None;
        let mut read = |run: &mut export::RunQuery<'_>| {
            out = Some(export::calendars(dialect, run, application_id, from, to)?);
            Ok(())
        };
        let result = match self {
            Store::Sqlite(s) => s.with_org_rows(org_id, &mut read),
            Store::Postgres(s) => s.with_org_rows(org_id, &mut read),
        };
        match result {
            Err(StoreError::NoSuchOrg(_)) => Err(StoreError::NoSuchOrg(org_id.to_owned())),
            Err(e) => Err(e),
            Ok(()) => out.ok_or_else(|| StoreError::NoSuchOrg(org_id.to_owned())),
        }
    }

    /// Ids and names of the orgs in the store.
    pub fn orgs(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.orgs(),
            Store::Postgres(s) => s.orgs(),
        }
    }

    /// Rows per table of org `org_id`.
    pub fn org_counts(&mut self, org_id: &str) -> Result<OrgCounts, StoreError> {
        let orgs = self.orgs()?;
        let Some((_, name)) = orgs.into_iter().find(|(id, _)| id == org_id) else {
            return Err(StoreError::NoSuchOrg(org_id.to_owned()));
        };
        let mut counts = Vec::new();
        for table in Table::ALL {
            let n = match self {
                Store::Sqlite(s) => s.count(table, org_id)?,
                Store::Postgres(s) => s.count(table, org_id)?,
            };
            counts.push((table, n));
        }
        Ok(OrgCounts {
            org_id: org_id.to_owned(),
            name,
            counts,
        })
    }
}
