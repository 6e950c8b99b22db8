//! Reading an org for the warehouse export (`hireplane warehouse export`, crate `warehouse`):
//! every table the report language reads, typed column by column, and the org's events, in one
//! consistent snapshot, streamed row by row to a [`WarehouseSink`].
//!
//! - **One snapshot.** Everything is read in one read transaction: on PostgreSQL `REPEATABLE
//!   READ, READ ONLY` (one snapshot for every statement), on SQLite one transaction (a reader
//!   keeps its snapshot until it ends). The event `seq` the export is consistent with is the
//!   org's `outbox_heads.last_seq` in that snapshot: every change up to it is in the rows, none
//!   after it.
//! - **Streaming.** Rows go to the sink as the database returns them (PostgreSQL's rows are
//!   read off the connection as they arrive, SQLite steps its statement), so an org of any size
//!   is never held in memory.
//! - **Deltas.** Given the `seq` of a previous export, only the events after it and the rows of
//!   the entities they name are read ([`Scope`]); each table of a delta replaces the rows of
//!   its *scope* (the values of one column, [`WarehouseTable::scope`]) in the previous data:
//!   rows in scope that the delta does not carry were deleted. docs/warehouse.md.
//!
//! The column lists are [`crate::Table::columns`] (a test checks it), typed here for Parquet.

use std::collections::BTreeSet;

use crate::export::{Dialect, Get, RunQuery};
use crate::{Store, StoreError, Table};

/// The type of a column as the warehouse writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text.
    Text,
    /// JSON, as UTF-8 text.
    Json,
    /// A 64-bit integer.
    Integer,
    /// A 64-bit float.
    Real,
    Boolean,
    /// An instant, microseconds since 1970-01-01 UTC.
    Instant,
    /// A calendar date.
    Date,
}

impl ColumnType {
    /// The name the manifest and docs/warehouse.md use.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Json => "json",
            ColumnType::Integer => "integer",
            ColumnType::Real => "real",
            ColumnType::Boolean => "boolean",
            ColumnType::Instant => "timestamp",
            ColumnType::Date => "date",
        }
    }
}

/// One column of a warehouse table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
}

/// A table as the warehouse export writes it.
#[derive(Debug, PartialEq, Eq)]
pub struct WarehouseTable {
    /// The file's and the table's name.
    pub name: &'static str,
    /// The store's table; `None` for the events.
    pub table: Option<Table>,
    /// The columns that identify a row within the org (after `org_id`).
    pub key: &'static [&'static str],
    /// The column whose values a delta's scope lists for this table: a delta replaces every
    /// row of the previous data whose `scope` column holds one of the listed values.
    pub scope: &'static str,
    pub columns: &'static [Column],
}

use ColumnType::{Boolean, Date, Instant, Integer, Json, Real, Text};

const fn c(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
    }
}

const fn n(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: true,
    }
}

const ORG: Column = c("org_id", Text);

const fn t(
    name: &'static str,
    table: Table,
    key: &'static [&'static str],
    scope: &'static str,
    columns: &'static [Column],
) -> WarehouseTable {
    WarehouseTable {
        name,
        table: Some(table),
        key,
        scope,
        columns,
    }
}

/// Every table the report language reads (`query_compiler::catalog`), plus the org itself (its
/// time zone), its custom field definitions and the per-application bitmask of stage kinds
/// reached that `reached(kind(...))` and funnels read; in the store's insert order. Scheduling's
/// tables (interviewer pools, busy blocks, users' departments) are not reports' and not here.
pub const TABLES: &[WarehouseTable] = &[
    t(
        "orgs",
        Table::Orgs,
        &[],
        "org_id",
        &[
            ORG,
            c("name", Text),
            c("timezone", Text),
            c("created_at", Instant),
        ],
    ),
    t(
        "departments",
        Table::Departments,
        &["id"],
        "org_id",
        &[ORG, c("id", Text), c("name", Text), n("parent_id", Text)],
    ),
    t(
        "users",
        Table::Users,
        &["id"],
        "org_id",
        &[
            ORG,
            c("id", Text),
            c("name", Text),
            c("email", Text),
            c("role", Text),
            c("timezone", Text),
            c("working_hours", Json),
            n("max_interviews_per_day", Integer),
            n("max_interviews_per_week", Integer),
            c("active", Boolean),
        ],
    ),
    t(
        "sources",
        Table::Sources,
        &["id"],
        "org_id",
        &[ORG, c("id", Text), c("name", Text), c("kind", Text)],
    ),
    t(
        "custom_fields",
        Table::CustomFields,
        &["id"],
        "org_id",
        &[
            ORG,
            c("id", Text),
            c("entity", Text),
            c("key", Text),
            c("label", Text),
            c("type", Text),
            c("options", Json),
            c("sensitive", Boolean),
        ],
    ),
    t(
        "jobs",
        Table::Jobs,
        &["id"],
        "id",
        &[
            ORG,
            c("id", Text),
            c("title", Text),
            c("department_id", Text),
            c("location", Text),
            c("employment_type", Text),
            c("status", Text),
            c("confidential", Boolean),
            c("opened_at", Instant),
            n("closed_at", Instant),
            c("headcount", Integer),
            c("custom_fields", Json),
        ],
    ),
    t(
        "stages",
        Table::Stages,
        &["id"],
        "job_id",
        &[
            ORG,
            c("id", Text),
            c("job_id", Text),
            c("name", Text),
            c("kind", Text),
            c("position", Integer),
        ],
    ),
    t(
        "hiring_team",
        Table::HiringTeam,
        &["job_id", "user_id", "role"],
        "job_id",
        &[
            ORG,
            c("job_id", Text),
            c("user_id", Text),
            c("role", Text),
            c("position", Integer),
        ],
    ),
    t(
        "candidates",
        Table::Candidates,
        &["id"],
        "id",
        &[
            ORG,
            c("id", Text),
            c("name", Text),
            n("email", Text),
            n("phone", Text),
            n("location", Text),
            n("timezone", Text),
            c("created_at", Instant),
            c("tags", Json),
            c("custom_fields", Json),
        ],
    ),
    t(
        "candidate_demographics",
        Table::CandidateDemographics,
        &["candidate_id"],
        "candidate_id",
        &[
            ORG,
            c("candidate_id", Text),
            n("gender", Text),
            n("race_ethnicity", Text),
            n("veteran_status", Text),
            n("disability_status", Text),
        ],
    ),
    t(
        "applications",
        Table::Applications,
        &["id"],
        "id",
        &[
            ORG,
            c("id", Text),
            c("candidate_id", Text),
            c("job_id", Text),
            n("source_id", Text),
            n("credited_to_user_id", Text),
            c("applied_at", Instant),
            c("status", Text),
            c("current_stage_id", Text),
            n("hired_at", Instant),
            n("archived_at", Instant),
            n("archive_reason", Text),
            c("custom_fields", Json),
        ],
    ),
    t(
        "stage_transitions",
        Table::StageTransitions,
        &["id"],
        "application_id",
        &[
            ORG,
            c("id", Text),
            c("application_id", Text),
            n("from_stage_id", Text),
            c("to_stage_id", Text),
            c("at", Instant),
            n("by_user_id", Text),
            n("left_at", Instant),
            c("job_id", Text),
        ],
    ),
    t(
        "application_stage_kinds",
        Table::ApplicationStageKinds,
        &["application_id"],
        "application_id",
        &[ORG, c("application_id", Text), c("reached_kinds", Integer)],
    ),
    t(
        "interviews",
        Table::Interviews,
        &["id"],
        "application_id",
        &[
            ORG,
            c("id", Text),
            c("application_id", Text),
            c("stage_id", Text),
            c("title", Text),
            c("starts_at", Instant),
            c("ends_at", Instant),
            c("status", Text),
            c("job_id", Text),
        ],
    ),
    t(
        "interview_participants",
        Table::InterviewParticipants,
        &["interview_id", "user_id"],
        "interview_id",
        &[
            ORG,
            c("interview_id", Text),
            c("user_id", Text),
            c("role", Text),
            c("position", Integer),
            c("job_id", Text),
            c("application_id", Text),
        ],
    ),
    t(
        "feedback",
        Table::Feedback,
        &["id"],
        "application_id",
        &[
            ORG,
            c("id", Text),
            c("interview_id", Text),
            c("application_id", Text),
            c("author_id", Text),
            c("submitted_at", Instant),
            c("recommendation", Text),
            c("scores", Json),
            n("notes", Text),
            c("job_id", Text),
        ],
    ),
    t(
        "offers",
        Table::Offers,
        &["id"],
        "application_id",
        &[
            ORG,
            c("id", Text),
            c("application_id", Text),
            c("version", Integer),
            c("created_at", Instant),
            c("status", Text),
            n("resolved_at", Instant),
            n("start_date", Date),
            n("salary_amount", Real),
            n("salary_currency", Text),
            n("salary_period", Text),
            n("bonus", Real),
            n("equity", Text),
            c("job_id", Text),
        ],
    ),
];

/// The org's events (the outbox, `crate::events`), by `seq`; `published_at` (a relay's state)
/// is left out.
pub const EVENTS: WarehouseTable = WarehouseTable {
    name: "events",
    table: None,
    key: &["seq"],
    scope: "seq",
    columns: &[
        ORG,
        c("seq", Integer),
        c("id", Text),
        c("type", Text),
        c("subject", Text),
        c("time", Instant),
        c("data", Json),
    ],
};

/// The entities the events of a delta name: the rows of a delta are theirs.
///
/// An event names an entity by its subject (`application/<id>`, `candidate/<id>`,
/// `job/<id>`) and by the fields of its `data` called `application_id`, `candidate_id` and
/// `job_id` (a custom field value's `record_id` of its `entity`). Every write of the workflow
/// changes only rows of the entities its events name this way (a stage is its job's, an
/// interview, its seats, a scorecard or an offer their application's), which the test of deltas
/// (crates/warehouse/tests) holds it to; the small tables of the org's configuration (the org,
/// departments, users, sources, custom field definitions) are always exported whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub applications: BTreeSet<String>,
    pub candidates: BTreeSet<String>,
    pub jobs: BTreeSet<String>,
}

impl Scope {
    /// Adds the entities one event names (its subject and its `data`).
    pub fn add_event(&mut self, subject: &str, data: &serde_json::Value) {
        if let Some((kind, id)) = subject.split_once('/') {
            self.add(kind, id);
        }
        let field = |name: &str| data.get(name).and_then(|v| v.as_str());
        for (name, kind) in [
            ("application_id", "application"),
            ("candidate_id", "candidate"),
            ("job_id", "job"),
        ] {
            if let Some(id) = field(name) {
                self.add(kind, id);
            }
        }
        if let (Some(entity), Some(id)) = (field("entity"), field("record_id")) {
            self.add(entity, id);
        }
    }

    fn add(&mut self, kind: &str, id: &str) {
        let set = match kind {
            "application" => &mut self.applications,
            "candidate" => &mut self.candidates,
            "job" => &mut self.jobs,
            _ => return,
        };
        if !set.contains(id) {
            set.insert(id.to_owned());
        }
    }

    /// The ids of `table`'s scope column, before the interview seats' (which are read from the
    /// store); `None` for the tables a delta exports whole.
    fn ids(&self, table: &WarehouseTable) -> Option<&BTreeSet<String>> {
        match (table.name, table.scope) {
            (_, "org_id") => None,
            ("jobs" | "stages" | "hiring_team", _) => Some(&self.jobs),
            ("candidates" | "candidate_demographics", _) => Some(&self.candidates),
            _ => Some(&self.applications),
        }
    }
}

/// Counts an import of org `$1` in its generation (migration 19): run by every import, in its
/// transaction. Replacing an org writes no events, so a delta after one would miss it; the
/// generation lets a delta see it and refuse ([`DeltaError::Replaced`]).
pub(crate) const NEXT_GENERATION: &str = "INSERT INTO org_generations (org_id, generation) \
    VALUES ($1, 1) ON CONFLICT (org_id) DO UPDATE SET generation = org_generations.generation + 1";

/// What a delta's table replaces: the rows of the previous data whose `column` holds one of
/// `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeList {
    pub table: &'static str,
    pub column: &'static str,
    pub values: Vec<String>,
}

/// Where the rows read go.
pub trait WarehouseSink {
    /// A table begins; its rows follow.
    fn begin(&mut self, table: &'static WarehouseTable) -> Result<(), StoreError>;
    /// One row of the current table, its columns in [`WarehouseTable::columns`] order, typed as
    /// they say (`Get::text` for text and JSON, `int`, `real`, `boolean`, `instant`, `date`).
    fn row(&mut self, row: &dyn Get) -> Result<(), StoreError>;
    /// The current table is complete.
    fn end(&mut self) -> Result<(), StoreError>;
}

/// What a warehouse read saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarehouseRead {
    /// The org's last event `seq` in the snapshot (0 when it has none): the rows are the state
    /// after that event and before the next.
    pub seq: i64,
    /// How many times the org was imported (migration 19; 0 when it was imported before the
    /// store counted): a delta is refused across an import.
    pub generation: i64,
    /// For a delta: what each table replaces, in [`TABLES`] order.
    pub scopes: Option<Vec<ScopeList>>,
}

/// Why a delta cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error(
        "the previous export is at event {since} but org `{org}` has only {head} events: it was exported from another store, or the org was replaced since"
    )]
    Ahead { org: String, since: i64, head: i64 },
    #[error(
        "the events of org `{org}` after {since} are no longer in the outbox (the first kept is {first}): export the org in full"
    )]
    Gone { org: String, since: i64, first: i64 },
    #[error(
        "org `{org}` was imported again since the previous export (import generation {previous}, now {now}): an import writes no events, so export the org in full"
    )]
    Replaced {
        org: String,
        previous: i64,
        now: i64,
    },
}

/// The previous export a delta follows: its event `seq` and the org's import generation then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Since {
    pub seq: i64,
    pub generation: i64,
}

impl Store {
    /// Reads org `org_id` for the warehouse in one snapshot: every table of [`TABLES`] and the
    /// events, or, with `since` (a previous export's event `seq` and import generation), only
    /// the events after it and the rows of the entities they name (see [`Scope`]). The events
    /// come first, then the tables in [`TABLES`] order.
    pub fn warehouse_read(
        &mut self,
        org_id: &str,
        since: Option<Since>,
        sink: &mut dyn WarehouseSink,
    ) -> Result<WarehouseRead, StoreError> {
        let dialect = self.dialect();
        let mut out = None;
        let mut read = |run: &mut RunQuery<'_>| {
            out = Some(read_snapshot(dialect, run, org_id, since, sink)?);
            Ok(())
        };
        let result = match self {
            Store::Sqlite(s) => s.with_org_rows(org_id, &mut read),
            Store::Postgres(s) => s.with_org_rows(org_id, &mut read),
        };
        result?;
        out.ok_or_else(|| StoreError::NoSuchOrg(org_id.to_owned()))
    }
}

fn read_snapshot(
    d: Dialect,
    run: &mut RunQuery<'_>,
    org: &str,
    since: Option<Since>,
    sink: &mut dyn WarehouseSink,
) -> Result<WarehouseRead, StoreError> {
    let mut found = false;
    run("SELECT 1 FROM orgs WHERE org_id = $1", &[], &mut |_| {
        found = true;
        Ok(())
    })?;
    if !found {
        return Err(StoreError::NoSuchOrg(org.to_owned()));
    }
    let mut head = 0;
    run(
        "SELECT last_seq FROM outbox_heads WHERE org_id = $1",
        &[],
        &mut |r| {
            head = r
                .int(0)
                .map_err(StoreError::Corrupt)?
                .ok_or_else(|| StoreError::Corrupt("`outbox_heads.last_seq` is null".into()))?;
            Ok(())
        },
    )?;
    let mut generation = 0;
    run(
        "SELECT generation FROM org_generations WHERE org_id = $1",
        &[],
        &mut |r| {
            generation = r.int(0).map_err(StoreError::Corrupt)?.unwrap_or(0);
            Ok(())
        },
    )?;
    if let Some(previous) = since
        && previous.generation != generation
    {
        return Err(StoreError::Delta(DeltaError::Replaced {
            org: org.to_owned(),
            previous: previous.generation,
            now: generation,
        }));
    }
    let since = since.map(|s| s.seq);
    let after = since.unwrap_or(0);
    if let Some(since) = since
        && since > head
    {
        return Err(StoreError::Delta(DeltaError::Ahead {
            org: org.to_owned(),
            since,
            head,
        }));
    }

    // The events after `after` up to the head (the snapshot sees no later one).
    let mut scope = Scope::default();
    let mut first = None;
    sink.begin(&EVENTS)?;
    let sql = format!(
        "SELECT org_id, seq, id, type, subject, time, {} FROM outbox WHERE org_id = $1 AND seq > {} ORDER BY seq",
        d.json("data"),
        d.int_param(2),
    );
    let after_text = after.to_string();
    run(&sql, &[&after_text], &mut |r| {
        if first.is_none() {
            first = r.int(1).map_err(StoreError::Corrupt)?;
        }
        if since.is_some() {
            let subject = r.text(4).map_err(StoreError::Corrupt)?.unwrap_or_default();
            let data = r.text(6).map_err(StoreError::Corrupt)?.unwrap_or_default();
            let data: serde_json::Value = serde_json::from_str(&data)
                .map_err(|e| StoreError::Corrupt(format!("`outbox.data`: {e}")))?;
            scope.add_event(&subject, &data);
        }
        sink.row(r)
    })?;
    sink.end()?;
    if let Some(since) = since
        && head > since
        && first != Some(since + 1)
    {
        return Err(StoreError::Delta(DeltaError::Gone {
            org: org.to_owned(),
            since,
            first: first.unwrap_or(head + 1),
        }));
    }

    let mut scopes = since.is_some().then(Vec::new);
    for table in TABLES {
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|col| match col.ty {
                ColumnType::Json => d.json(col.name),
                _ => col.name.to_owned(),
            })
            .collect();
        let mut sql = format!(
            "SELECT {} FROM {} WHERE org_id = $1",
            columns.join(", "),
            table.name
        );
        let mut ids_json = String::new();
        if let Some(scopes) = &mut scopes {
            let values: Vec<String> = match (table.name, scope.ids(table)) {
                (_, None) => vec![org.to_owned()],
                ("interview_participants", Some(applications)) => {
                    // A seat's scope is its interview: the interviews of the applications.
                    let json = to_json(applications)?;
                    let sql = format!(
                        "SELECT id FROM interviews WHERE org_id = $1 AND application_id IN {} ORDER BY id",
                        d.json_text_set(2)
                    );
                    let mut ids = Vec::new();
                    run(&sql, &[&json], &mut |r| {
                        ids.extend(r.text(0).map_err(StoreError::Corrupt)?);
                        Ok(())
                    })?;
                    ids
                }
                (_, Some(ids)) => ids.iter().cloned().collect(),
            };
            if table.scope != "org_id" {
                ids_json = to_json(&values)?;
                sql.push_str(&format!(" AND {} IN {}", table.scope, d.json_text_set(2)));
            }
            scopes.push(ScopeList {
                table: table.name,
                column: table.scope,
                values,
            });
        }
        sink.begin(table)?;
        if ids_json.is_empty() {
            run(&sql, &[], &mut |r| sink.row(r))?;
        } else {
            run(&sql, &[&ids_json], &mut |r| sink.row(r))?;
        }
        sink.end()?;
    }
    Ok(WarehouseRead {
        seq: head,
        generation,
        scopes,
    })
}

fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_have_the_stores_columns() {
        for table in TABLES {
            let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            let store = table.table.map(|t| t.columns().to_vec());
            assert_eq!(Some(names), store, "{}", table.name);
            assert_eq!(store.map(|_| table.name), table.table.map(|t| t.name()));
            assert!(table.columns.iter().any(|c| c.name == table.scope));
            for key in table.key {
                assert!(table.columns.iter().any(|c| c.name == *key && !c.nullable));
            }
        }
    }

    #[test]
    fn events_name_their_entities() {
        let mut scope = Scope::default();
        scope.add_event(
            "feedback/fb_1",
            &serde_json::json!({"feedback_id": "fb_1", "application_id": "app_1", "job_id": "job_1"}),
        );
        scope.add_event(
            "candidate/can_1",
            &serde_json::json!({"entity": "job", "record_id": "job_2"}),
        );
        scope.add_event("org/acme", &serde_json::json!({"version": 2}));
        assert_eq!(scope.applications, BTreeSet::from(["app_1".to_owned()]));
        assert_eq!(scope.candidates, BTreeSet::from(["can_1".to_owned()]));
        assert_eq!(
            scope.jobs,
            BTreeSet::from(["job_1".to_owned(), "job_2".to_owned()])
        );
    }
}
