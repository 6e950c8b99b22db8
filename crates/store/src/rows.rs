//! The tables of the store and how each record of the interchange format becomes rows of them.
//!
//! Both backends share this mapping: SQLite binds the values as parameters, PostgreSQL writes them
//! as `COPY` text. Column lists here must match the migrations (a test checks it).

use domain::custom::CustomValues;
use domain::format::Record;
use domain::{Date, Instant};

/// A table, in the order rows are inserted (every foreign key points to an earlier table).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Table {
    Orgs,
    Departments,
    Users,
    UserDepartments,
    Sources,
    CustomFields,
    Jobs,
    Stages,
    HiringTeam,
    Candidates,
    CandidateDemographics,
    Applications,
    StageTransitions,
    ApplicationStageKinds,
    Interviews,
    InterviewParticipants,
    Feedback,
    Offers,
    InterviewerPools,
    PoolMembers,
    BusyBlocks,
}

impl Table {
    pub const ALL: [Table; 21] = [
        Table::Orgs,
        Table::Departments,
        Table::Users,
        Table::UserDepartments,
        Table::Sources,
        Table::CustomFields,
        Table::Jobs,
        Table::Stages,
        Table::HiringTeam,
        Table::Candidates,
        Table::CandidateDemographics,
        Table::Applications,
        Table::StageTransitions,
        Table::ApplicationStageKinds,
        Table::Interviews,
        Table::InterviewParticipants,
        Table::Feedback,
        Table::Offers,
        Table::InterviewerPools,
        Table::PoolMembers,
        Table::BusyBlocks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Orgs => "orgs",
            Table::Departments => "departments",
            Table::Users => "users",
            Table::UserDepartments => "user_departments",
            Table::Sources => "sources",
            Table::CustomFields => "custom_fields",
            Table::Jobs => "jobs",
            Table::Stages => "stages",
            Table::HiringTeam => "hiring_team",
            Table::Candidates => "candidates",
            Table::CandidateDemographics => "candidate_demographics",
            Table::Applications => "applications",
            Table::StageTransitions => "stage_transitions",
            Table::ApplicationStageKinds => "application_stage_kinds",
            Table::Interviews => "interviews",
            Table::InterviewParticipants => "interview_participants",
            Table::Feedback => "feedback",
            Table::Offers => "offers",
            Table::InterviewerPools => "interviewer_pools",
            Table::PoolMembers => "pool_members",
            Table::BusyBlocks => "busy_blocks",
        }
    }

    /// Derived columns that no record of the interchange format carries and no insert writes:
    /// each row gets the column's default, which the store then sets where it differs from the
    /// truth (the import at commit, the write paths in their transaction). The migrations add
    /// them after [`Table::columns`]; export never reads them.
    pub fn derived_columns(self) -> &'static [&'static str] {
        match self {
            // Migration 8: whether the candidate has an application to a job that is not
            // confidential (see [`STALE_CANDIDATE_FLAGS`]).
            Table::Candidates => &["has_non_confidential_job"],
            // Migration 30: whether the application's job is confidential (see
            // [`STALE_APPLICATION_FLAGS`]).
            Table::Applications => &["job_confidential"],
            _ => &[],
        }
    }

    /// Columns in insert order; the first is always `org_id`. Import and inserts write exactly
    /// these; see also [`Table::derived_columns`].
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Orgs => &["org_id", "name", "timezone", "created_at"],
            Table::Departments => &["org_id", "id", "name", "parent_id"],
            Table::Users => &[
                "org_id",
                "id",
                "name",
                "email",
                "role",
                "timezone",
                "working_hours",
                "max_interviews_per_day",
                "max_interviews_per_week",
                "active",
            ],
            Table::UserDepartments => &["org_id", "user_id", "department_id", "position"],
            Table::Sources => &["org_id", "id", "name", "kind"],
            Table::CustomFields => &[
                "org_id",
                "id",
                "entity",
                "key",
                "label",
                "type",
                "options",
                "sensitive",
            ],
            Table::Jobs => &[
                "org_id",
                "id",
                "title",
                "department_id",
                "location",
                "employment_type",
                "status",
                "confidential",
                "opened_at",
                "closed_at",
                "headcount",
                "custom_fields",
            ],
            Table::Stages => &["org_id", "id", "job_id", "name", "kind", "position"],
            Table::HiringTeam => &["org_id", "job_id", "user_id", "role", "position"],
            Table::Candidates => &[
                "org_id",
                "id",
                "name",
                "email",
                "phone",
                "location",
                "timezone",
                "created_at",
                "tags",
                "custom_fields",
            ],
            Table::CandidateDemographics => &[
                "org_id",
                "candidate_id",
                "gender",
                "race_ethnicity",
                "veteran_status",
                "disability_status",
            ],
            Table::Applications => &[
                "org_id",
                "id",
                "candidate_id",
                "job_id",
                "source_id",
                "credited_to_user_id",
                "applied_at",
                "status",
                "current_stage_id",
                "hired_at",
                "archived_at",
                "archive_reason",
                "custom_fields",
            ],
            Table::StageTransitions => &[
                "org_id",
                "id",
                "application_id",
                "from_stage_id",
                "to_stage_id",
                "at",
                "by_user_id",
                "left_at",
                "job_id",
            ],
            Table::ApplicationStageKinds => &["org_id", "application_id", "reached_kinds"],
            Table::Interviews => &[
                "org_id",
                "id",
                "application_id",
                "stage_id",
                "title",
                "starts_at",
                "ends_at",
                "status",
                "job_id",
            ],
            Table::InterviewParticipants => &[
                "org_id",
                "interview_id",
                "user_id",
                "role",
                "position",
                "job_id",
                "application_id",
            ],
            Table::Feedback => &[
                "org_id",
                "id",
                "interview_id",
                "application_id",
                "author_id",
                "submitted_at",
                "recommendation",
                "scores",
                "notes",
                "job_id",
            ],
            Table::Offers => &[
                "org_id",
                "id",
                "application_id",
                "version",
                "created_at",
                "status",
                "resolved_at",
                "start_date",
                "salary_amount",
                "salary_currency",
                "salary_period",
                "bonus",
                "equity",
                "job_id",
            ],
            Table::InterviewerPools => &[
                "org_id",
                "id",
                "name",
                "required_shadows",
                "required_reverse_shadows",
            ],
            Table::PoolMembers => &[
                "org_id",
                "pool_id",
                "user_id",
                "status",
                "shadows_completed",
                "reverse_shadows_completed",
                "position",
            ],
            Table::BusyBlocks => &["org_id", "seq", "user_id", "starts_at", "ends_at"],
        }
    }
}

/// One value of a row, typed as the store sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Val<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    Real(f64),
    Bool(bool),
    Instant(Instant),
    Date(Date),
    Json(String),
}

fn text_opt(s: Option<&str>) -> Val<'_> {
    s.map_or(Val::Null, Val::Text)
}

fn instant_opt(i: Option<Instant>) -> Val<'static> {
    i.map_or(Val::Null, Val::Instant)
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> Val<'static> {
    // Serializing our own entity types into a String cannot fail (no maps with non-string keys,
    // no failing Serialize impls); fall back to `null` rather than panic.
    Val::Json(serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned()))
}

fn custom(v: &CustomValues) -> Val<'static> {
    json(v)
}

/// Receives one row: its table and its values in the order of [`Table::columns`].
pub type RowSink<'s, E> = dyn FnMut(Table, &[Val<'_>]) -> Result<(), E> + 's;

/// What a record's rows hold besides the record itself: facts of earlier records, kept by the
/// importer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context<'a> {
    /// Numbers busy blocks, which have no id of their own.
    pub seq: i64,
    /// The job of the record's application, for the records below an application (stage
    /// transitions, interviews and their seats, feedback, offers): their rows store it as
    /// `job_id` (migration 6), which must always equal the application's job.
    pub job_id: Option<&'a str>,
}

/// Calls `row` for every row that `record` becomes, parents before children.
pub fn rows<E>(
    org: &str,
    record: Record<'_>,
    context: Context<'_>,
    row: &mut RowSink<'_, E>,
) -> Result<(), E> {
    use Val::*;
    let o = Text(org);
    let job = text_opt(context.job_id);
    let seq = context.seq;
    match record {
        Record::Org(v) => row(
            Table::Orgs,
            &[
                o,
                Text(&v.name),
                Text(v.timezone.name()),
                Instant(v.created_at),
            ],
        ),
        Record::Department(v) => row(
            Table::Departments,
            &[
                o,
                Text(v.id.as_str()),
                Text(&v.name),
                text_opt(v.parent_id.as_ref().map(|p| p.as_str())),
            ],
        ),
        Record::User(v) => {
            row(
                Table::Users,
                &[
                    o.clone(),
                    Text(v.id.as_str()),
                    Text(&v.name),
                    Text(&v.email),
                    Text(v.role.as_str()),
                    Text(v.timezone.name()),
                    json(&v.working_hours),
                    v.max_interviews_per_day.map_or(Null, |n| Int(n.into())),
                    v.max_interviews_per_week.map_or(Null, |n| Int(n.into())),
                    Bool(v.active),
                ],
            )?;
            for (i, d) in v.department_ids.iter().enumerate() {
                row(
                    Table::UserDepartments,
                    &[
                        o.clone(),
                        Text(v.id.as_str()),
                        Text(d.as_str()),
                        Int(i as i64),
                    ],
                )?;
            }
            Ok(())
        }
        Record::Source(v) => row(
            Table::Sources,
            &[o, Text(v.id.as_str()), Text(&v.name), Text(v.kind.as_str())],
        ),
        Record::CustomField(v) => row(
            Table::CustomFields,
            &[
                o,
                Text(v.id.as_str()),
                Text(v.entity.as_str()),
                Text(&v.key),
                Text(&v.label),
                Text(v.field_type.as_str()),
                json(&v.options),
                Bool(v.sensitive),
            ],
        ),
        Record::Job(v) => {
            row(
                Table::Jobs,
                &[
                    o.clone(),
                    Text(v.id.as_str()),
                    Text(&v.title),
                    Text(v.department_id.as_str()),
                    Text(&v.location),
                    Text(v.employment_type.as_str()),
                    Text(v.status.as_str()),
                    Bool(v.confidential),
                    Instant(v.opened_at),
                    instant_opt(v.closed_at),
                    Int(v.headcount.into()),
                    custom(&v.custom_fields),
                ],
            )?;
            for s in &v.stages {
                row(
                    Table::Stages,
                    &[
                        o.clone(),
                        Text(s.id.as_str()),
                        Text(v.id.as_str()),
                        Text(&s.name),
                        Text(s.kind.as_str()),
                        Int(s.position.into()),
                    ],
                )?;
            }
            for (i, m) in v.hiring_team.iter().enumerate() {
                row(
                    Table::HiringTeam,
                    &[
                        o.clone(),
                        Text(v.id.as_str()),
                        Text(m.user_id.as_str()),
                        Text(m.role.as_str()),
                        Int(i as i64),
                    ],
                )?;
            }
            Ok(())
        }
        Record::Candidate(v) => {
            row(
                Table::Candidates,
                &[
                    o.clone(),
                    Text(v.id.as_str()),
                    Text(&v.name),
                    text_opt(v.email.as_deref()),
                    text_opt(v.phone.as_deref()),
                    text_opt(v.location.as_deref()),
                    text_opt(v.timezone.as_ref().map(|z| z.name())),
                    Instant(v.created_at),
                    json(&v.tags),
                    custom(&v.custom_fields),
                ],
            )?;
            if let Some(d) = &v.demographics {
                row(
                    Table::CandidateDemographics,
                    &[
                        o,
                        Text(v.id.as_str()),
                        text_opt(d.gender.as_deref()),
                        text_opt(d.race_ethnicity.as_deref()),
                        text_opt(d.veteran_status.as_deref()),
                        text_opt(d.disability_status.as_deref()),
                    ],
                )?;
            }
            Ok(())
        }
        Record::Application(v) => row(
            Table::Applications,
            &[
                o,
                Text(v.id.as_str()),
                Text(v.candidate_id.as_str()),
                Text(v.job_id.as_str()),
                text_opt(v.source_id.as_ref().map(|s| s.as_str())),
                text_opt(v.credited_to_user_id.as_ref().map(|s| s.as_str())),
                Instant(v.applied_at),
                Text(v.status.as_str()),
                Text(v.current_stage_id.as_str()),
                instant_opt(v.hired_at),
                instant_opt(v.archived_at),
                text_opt(v.archive_reason.as_deref()),
                custom(&v.custom_fields),
            ],
        ),
        Record::StageTransition(v) => row(
            Table::StageTransitions,
            &[
                o,
                Text(v.id.as_str()),
                Text(v.application_id.as_str()),
                text_opt(v.from_stage_id.as_ref().map(|s| s.as_str())),
                Text(v.to_stage_id.as_str()),
                Instant(v.at),
                text_opt(v.by_user_id.as_ref().map(|s| s.as_str())),
                // Derived before commit, once the whole history is in (see migrate.rs).
                Null,
                job,
            ],
        ),
        Record::Interview(v) => {
            row(
                Table::Interviews,
                &[
                    o.clone(),
                    Text(v.id.as_str()),
                    Text(v.application_id.as_str()),
                    Text(v.stage_id.as_str()),
                    Text(&v.title),
                    Instant(v.starts_at),
                    Instant(v.ends_at),
                    Text(v.status.as_str()),
                    job.clone(),
                ],
            )?;
            for (i, p) in v.interviewers.iter().enumerate() {
                row(
                    Table::InterviewParticipants,
                    &[
                        o.clone(),
                        Text(v.id.as_str()),
                        Text(p.user_id.as_str()),
                        Text(p.role.as_str()),
                        Int(i as i64),
                        job.clone(),
                        Text(v.application_id.as_str()),
                    ],
                )?;
            }
            Ok(())
        }
        Record::Feedback(v) => row(
            Table::Feedback,
            &[
                o,
                Text(v.id.as_str()),
                Text(v.interview_id.as_str()),
                Text(v.application_id.as_str()),
                Text(v.author_id.as_str()),
                Instant(v.submitted_at),
                Text(v.recommendation.as_str()),
                json(&v.scores),
                text_opt(v.notes.as_deref()),
                job,
            ],
        ),
        Record::Offer(v) => {
            let s = v.salary.as_ref();
            row(
                Table::Offers,
                &[
                    o,
                    Text(v.id.as_str()),
                    Text(v.application_id.as_str()),
                    Int(v.version.into()),
                    Instant(v.created_at),
                    Text(v.status.as_str()),
                    instant_opt(v.resolved_at),
                    v.start_date.map_or(Null, Date),
                    s.map_or(Null, |s| Real(s.amount.0)),
                    text_opt(s.map(|s| s.currency.as_str())),
                    text_opt(s.map(|s| s.period.as_str())),
                    v.bonus.map_or(Null, |b| Real(b.0)),
                    text_opt(v.equity.as_deref()),
                    job,
                ],
            )
        }
        Record::InterviewerPool(v) => {
            row(
                Table::InterviewerPools,
                &[
                    o.clone(),
                    Text(v.id.as_str()),
                    Text(&v.name),
                    Int(v.required_shadows.into()),
                    Int(v.required_reverse_shadows.into()),
                ],
            )?;
            for (i, m) in v.members.iter().enumerate() {
                row(
                    Table::PoolMembers,
                    &[
                        o.clone(),
                        Text(v.id.as_str()),
                        Text(m.user_id.as_str()),
                        Text(m.status.as_str()),
                        Int(m.shadows_completed.into()),
                        Int(m.reverse_shadows_completed.into()),
                        Int(i as i64),
                    ],
                )?;
            }
            Ok(())
        }
        Record::BusyBlock(v) => row(
            Table::BusyBlocks,
            &[
                o,
                Int(seq),
                Text(v.user_id.as_str()),
                Instant(v.starts_at),
                Instant(v.ends_at),
            ],
        ),
    }
}

/// The tables whose rows store the job of their application as `job_id` (migration 6; for an
/// interview seat, the job of its interview's application), each with a query that counts, for
/// org `$1`, the rows whose `job_id` is not that job. The importer writes the column with the
/// row; every write path must keep it equal, since access policies read it instead of the
/// application (`crates/policy/src/model.rs`, `Shortcut`).
pub const STORED_JOB_IDS: [(Table, &str); 5] = [
    (
        Table::StageTransitions,
        "SELECT count(*) FROM stage_transitions c LEFT JOIN applications a \
         ON a.org_id = c.org_id AND a.id = c.application_id \
         WHERE c.org_id = $1 AND (a.job_id IS NULL OR c.job_id IS NULL OR c.job_id <> a.job_id)",
    ),
    (
        Table::Interviews,
        "SELECT count(*) FROM interviews c LEFT JOIN applications a \
         ON a.org_id = c.org_id AND a.id = c.application_id \
         WHERE c.org_id = $1 AND (a.job_id IS NULL OR c.job_id IS NULL OR c.job_id <> a.job_id)",
    ),
    (
        Table::InterviewParticipants,
        "SELECT count(*) FROM interview_participants c LEFT JOIN interviews i \
         ON i.org_id = c.org_id AND i.id = c.interview_id LEFT JOIN applications a \
         ON a.org_id = i.org_id AND a.id = i.application_id \
         WHERE c.org_id = $1 AND (a.job_id IS NULL OR c.job_id IS NULL OR c.job_id <> a.job_id)",
    ),
    (
        Table::Feedback,
        "SELECT count(*) FROM feedback c LEFT JOIN applications a \
         ON a.org_id = c.org_id AND a.id = c.application_id \
         WHERE c.org_id = $1 AND (a.job_id IS NULL OR c.job_id IS NULL OR c.job_id <> a.job_id)",
    ),
    (
        Table::Offers,
        "SELECT count(*) FROM offers c LEFT JOIN applications a \
         ON a.org_id = c.org_id AND a.id = c.application_id \
         WHERE c.org_id = $1 AND (a.job_id IS NULL OR c.job_id IS NULL OR c.job_id <> a.job_id)",
    ),
];

/// A query that lists, for org `$1`, the interview seats whose stored `application_id` (migration
/// 34) is not their interview's application, as `interview_id/user_id`. The importer writes it
/// with the row and every write path inserts seats with their interview, since access policies
/// read it (`crates/policy/src/residual.rs`: the applications a user interviews for).
pub const STALE_SEAT_APPLICATIONS: &str = "SELECT c.interview_id || '/' || c.user_id \
    FROM interview_participants c LEFT JOIN interviews i \
    ON i.org_id = c.org_id AND i.id = c.interview_id \
    WHERE c.org_id = $1 AND (i.application_id IS NULL OR c.application_id IS NULL \
        OR c.application_id <> i.application_id) \
    ORDER BY c.interview_id, c.user_id";

/// A query that lists, for org `$1`, the candidates whose stored `has_non_confidential_job`
/// (migration 8) is not the truth: whether the candidate has an application to a job that is not
/// confidential. The importer sets it at commit and every write path keeps it equal, since access
/// policies read it (`crates/policy/src/model.rs`, `Derived`).
pub const STALE_CANDIDATE_FLAGS: &str = "SELECT c.id FROM candidates c \
    WHERE c.org_id = $1 AND (c.has_non_confidential_job = TRUE) <> EXISTS (SELECT 1 FROM applications a \
        JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id \
        WHERE a.org_id = c.org_id AND a.candidate_id = c.id AND j.confidential = FALSE) \
    ORDER BY c.id";

/// A query that lists, for org `$1`, the applications whose stored `job_confidential` (migration
/// 30) is not the `confidential` of their job. The importer sets it at commit and every write
/// path keeps it equal, since access policies read it (`crates/policy/src/model.rs`, stored
/// attributes).
pub const STALE_APPLICATION_FLAGS: &str = "SELECT a.id FROM applications a \
    JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id \
    WHERE a.org_id = $1 AND (a.job_confidential = TRUE) <> (j.confidential = TRUE) \
    ORDER BY a.id";

/// A foreign key within one org: `table.column` references `parent.id` (both also keyed by
/// `org_id`). Every table additionally belongs to its org.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForeignKey {
    pub table: Table,
    pub column: &'static str,
    pub parent: Table,
}

/// Every foreign key of the schema other than `org_id` itself (a test checks the list against
/// the constraints the migrations declare).
pub const FOREIGN_KEYS: &[ForeignKey] = &[
    fk(Table::Departments, "parent_id", Table::Departments),
    fk(Table::UserDepartments, "user_id", Table::Users),
    fk(Table::UserDepartments, "department_id", Table::Departments),
    fk(Table::Jobs, "department_id", Table::Departments),
    fk(Table::Stages, "job_id", Table::Jobs),
    fk(Table::HiringTeam, "job_id", Table::Jobs),
    fk(Table::HiringTeam, "user_id", Table::Users),
    fk(
        Table::CandidateDemographics,
        "candidate_id",
        Table::Candidates,
    ),
    fk(Table::Applications, "candidate_id", Table::Candidates),
    fk(Table::Applications, "job_id", Table::Jobs),
    fk(Table::Applications, "source_id", Table::Sources),
    fk(Table::Applications, "credited_to_user_id", Table::Users),
    fk(Table::Applications, "current_stage_id", Table::Stages),
    fk(
        Table::StageTransitions,
        "application_id",
        Table::Applications,
    ),
    fk(Table::StageTransitions, "from_stage_id", Table::Stages),
    fk(Table::StageTransitions, "to_stage_id", Table::Stages),
    fk(Table::StageTransitions, "by_user_id", Table::Users),
    fk(
        Table::ApplicationStageKinds,
        "application_id",
        Table::Applications,
    ),
    fk(Table::Interviews, "application_id", Table::Applications),
    fk(Table::Interviews, "stage_id", Table::Stages),
    fk(
        Table::InterviewParticipants,
        "interview_id",
        Table::Interviews,
    ),
    fk(Table::InterviewParticipants, "user_id", Table::Users),
    fk(Table::Feedback, "interview_id", Table::Interviews),
    fk(Table::Feedback, "application_id", Table::Applications),
    fk(Table::Feedback, "author_id", Table::Users),
    fk(Table::Offers, "application_id", Table::Applications),
    fk(Table::PoolMembers, "pool_id", Table::InterviewerPools),
    fk(Table::PoolMembers, "user_id", Table::Users),
    fk(Table::BusyBlocks, "user_id", Table::Users),
];

const fn fk(table: Table, column: &'static str, parent: Table) -> ForeignKey {
    ForeignKey {
        table,
        column,
        parent,
    }
}

/// A query that counts, for org `$1`, the rows of `table` whose references do not resolve: one
/// column per foreign key of `table` (in the order returned), one scan of `table` for them all.
/// Set-based, so the database can join instead of looking up a parent per row.
pub fn dangling_sql(table: Table) -> Option<(Vec<&'static ForeignKey>, String)> {
    let fks: Vec<&ForeignKey> = FOREIGN_KEYS.iter().filter(|fk| fk.table == table).collect();
    if fks.is_empty() {
        return None;
    }
    let counts: Vec<String> = fks
        .iter()
        .enumerate()
        .map(|(i, fk)| {
            format!(
                "coalesce(sum(CASE WHEN c.{col} IS NOT NULL AND p{i}.id IS NULL THEN 1 ELSE 0 END), 0)",
                col = fk.column
            )
        })
        .collect();
    let joins: Vec<String> = fks
        .iter()
        .enumerate()
        .map(|(i, fk)| {
            format!(
                "LEFT JOIN (SELECT id FROM {p} WHERE org_id = $1) p{i} ON p{i}.id = c.{col}",
                p = fk.parent.name(),
                col = fk.column
            )
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM {} c {} WHERE c.org_id = $1",
        counts.join(", "),
        table.name(),
        joins.join(" ")
    );
    Some((fks, sql))
}

/// Refuses an import that left `n` rows of `org` with a dangling `fk`. The format reader resolves
/// every reference before a row is written, so this is a last line of defence, not a message
/// users are meant to see.
pub fn check_dangling(fk: &ForeignKey, n: i64, org: &domain::Id) -> Result<(), crate::StoreError> {
    if n == 0 {
        return Ok(());
    }
    Err(crate::StoreError::Corrupt(format!(
        "{n} rows of `{}` in org `{org}` have a `{}` that is not a row of `{}`; nothing was imported",
        fk.table.name(),
        fk.column,
        fk.parent.name()
    )))
}
