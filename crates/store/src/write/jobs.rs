//! Jobs, their pipelines (stages) and hiring teams.
//!
//! A job's status moves `draft` → `open` ⇄ `closed`, and any of them → `archived` (final);
//! closing sets `closed_at`, reopening clears it, opening a draft sets `opened_at`. A pipeline has
//! at least one stage; stage ids are unique across the org; a stage may be renamed, added at any
//! place, or removed while nothing refers to it. Its kind never changes: the stage kinds each
//! application reached (`application_stage_kinds`) are derived from it.

use domain::entity::{HiringTeamMember, Job, Stage};
use domain::enums::{CustomEntity, EmploymentType, JobStatus, StageKind};
use domain::{Id, Instant};

use super::custom::check_custom;
use super::tx::{Kind, Tx};
use super::{WriteError, non_empty};
use crate::rows::{Table, Val};
use crate::{Store, StoreError};

/// A stage of a new pipeline, or one added to a pipeline.
#[derive(Clone, Debug)]
pub struct NewStage {
    /// The id to give the stage (unique across the org); generated (`stg_...`) when `None`.
    pub id: Option<Id>,
    pub name: String,
    pub kind: StageKind,
}

/// A new job with its pipeline (stages in order) and hiring team.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// The id to give the job; generated (`job_...`) when `None`.
    pub id: Option<Id>,
    pub title: String,
    pub department_id: Id,
    pub location: String,
    pub employment_type: EmploymentType,
    /// `draft` or `open`.
    pub status: JobStatus,
    pub confidential: bool,
    pub opened_at: Instant,
    /// At least 1.
    pub headcount: u32,
    pub hiring_team: Vec<HiringTeamMember>,
    /// In pipeline order (positions 1, 2, ...); at least one.
    pub stages: Vec<NewStage>,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

/// Changes to a job; `None` leaves a value as it is.
#[derive(Clone, Debug)]
pub struct UpdateJob {
    pub job_id: Id,
    /// When the change happens (`closed_at` when closing or archiving, `opened_at` when a draft
    /// opens).
    pub at: Instant,
    pub title: Option<String>,
    pub department_id: Option<Id>,
    pub location: Option<String>,
    pub employment_type: Option<EmploymentType>,
    pub status: Option<JobStatus>,
    pub confidential: Option<bool>,
    pub headcount: Option<u32>,
    /// The whole new team, replacing the old one.
    pub hiring_team: Option<Vec<HiringTeamMember>>,
    /// The whole new custom field object, replacing the old one.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

impl UpdateJob {
    /// A change of nothing yet, to fill in.
    pub fn new(job_id: Id, at: Instant) -> UpdateJob {
        UpdateJob {
            job_id,
            at,
            title: None,
            department_id: None,
            location: None,
            employment_type: None,
            status: None,
            confidential: None,
            headcount: None,
            hiring_team: None,
            custom_fields: None,
        }
    }
}

/// Adds a stage to a job's pipeline.
#[derive(Clone, Debug)]
pub struct AddStage {
    pub job_id: Id,
    pub stage: NewStage,
    /// Insert before this stage of the job; at the end when `None`.
    pub before_stage_id: Option<Id>,
}

/// Renames a stage.
#[derive(Clone, Debug)]
pub struct UpdateStage {
    pub stage_id: Id,
    pub name: String,
}

/// The most members a job's hiring team has.
pub const MAX_TEAM: usize = 200;

/// Members exist, are listed once and at most [`MAX_TEAM`] (one pass with a set: a list of
/// tens of thousands compared each with every one before it held SQLite's write lock for
/// seconds, red team, pass 16).
fn check_team(tx: &mut Tx<'_>, org: &str, team: &[HiringTeamMember]) -> Result<(), WriteError> {
    if team.len() > MAX_TEAM {
        return Err(WriteError::invalid(
            "hiring_team",
            format!("{} members: at most {MAX_TEAM}", team.len()),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(team.len());
    for (i, m) in team.iter().enumerate() {
        let field = format!("hiring_team[{i}].user_id");
        tx.must_exist(Table::Users, org, &field, "user", &m.user_id)?;
        if !seen.insert((&m.user_id, &m.role)) {
            return Err(WriteError::invalid(
                field,
                format!(
                    "`{}` is already on the hiring team as {}",
                    m.user_id, m.role
                ),
            ));
        }
    }
    Ok(())
}

fn check_headcount(n: u32) -> Result<(), WriteError> {
    if n < 1 {
        return Err(WriteError::invalid("headcount", "must be at least 1"));
    }
    Ok(())
}

/// A stage id for a new stage: the given one if no stage of the org has it, else generated.
fn stage_id(tx: &mut Tx<'_>, org: &str, field: &str, given: Option<&Id>) -> Result<Id, WriteError> {
    tx.fresh_id(Table::Stages, org, given, "stg")
        .map_err(|e| match e {
            WriteError::Conflict { message, .. } => WriteError::conflict(field, message),
            other => other,
        })
}

fn must_job(tx: &mut Tx<'_>, org: &str, id: &Id, lock: bool) -> Result<Job, WriteError> {
    let schema = tx.custom_schema(org)?;
    tx.job(org, id.as_str(), &schema, lock)?
        .ok_or_else(|| WriteError::not_found("job_id", "job", id.as_str()))
}

/// Moves the stages of job `job_id` at `from` and after by `by` positions, through negative
/// positions so that no two stages ever share one on the way (PostgreSQL checks the unique key
/// row by row).
fn shift_stages(
    tx: &mut Tx<'_>,
    org: &str,
    job_id: &Id,
    from: u32,
    by: i64,
) -> Result<(), WriteError> {
    let params = [
        Val::Text(org),
        Val::Text(job_id.as_str()),
        Val::Int(from.into()),
        Val::Int(by),
    ];
    tx.execute(
        "UPDATE stages SET position = -(position + $4) WHERE org_id = $1 AND job_id = $2 AND position >= $3",
        &params,
    )?;
    tx.execute(
        "UPDATE stages SET position = -position WHERE org_id = $1 AND job_id = $2 AND position < 0",
        &params[..2],
    )?;
    Ok(())
}

impl Store {
    /// Creates a job with its pipeline and hiring team.
    pub fn create_job(&mut self, org: &str, cmd: NewJob) -> Result<Job, WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let title = non_empty("title", &cmd.title)?;
            tx.must_exist(
                Table::Departments,
                org,
                "department_id",
                "department",
                &cmd.department_id,
            )?;
            if !matches!(cmd.status, JobStatus::Draft | JobStatus::Open) {
                return Err(WriteError::invalid(
                    "status",
                    format!("a new job is `draft` or `open`, not `{}`", cmd.status),
                ));
            }
            check_headcount(cmd.headcount)?;
            check_team(tx, org, &cmd.hiring_team)?;
            if cmd.stages.is_empty() {
                return Err(WriteError::invalid(
                    "stages",
                    "a job needs at least one stage",
                ));
            }
            let mut stages: Vec<Stage> = Vec::with_capacity(cmd.stages.len());
            for (i, s) in cmd.stages.iter().enumerate() {
                let name = non_empty(&format!("stages[{i}].name"), &s.name)?;
                let field = format!("stages[{i}].id");
                if let Some(id) = &s.id
                    && stages.iter().any(|x| &x.id == id)
                {
                    return Err(WriteError::invalid(
                        field,
                        format!("`{id}` is listed twice"),
                    ));
                }
                let id = stage_id(tx, org, &field, s.id.as_ref())?;
                stages.push(Stage {
                    id,
                    name,
                    kind: s.kind,
                    position: u32::try_from(i + 1).unwrap_or(u32::MAX),
                });
            }
            let custom_fields = check_custom(&schema, CustomEntity::Job, &cmd.custom_fields)?;
            let id = tx.fresh_id(Table::Jobs, org, cmd.id.as_ref(), "job")?;
            let job = Job {
                id,
                title,
                department_id: cmd.department_id,
                location: cmd.location,
                employment_type: cmd.employment_type,
                status: cmd.status,
                confidential: cmd.confidential,
                opened_at: cmd.opened_at,
                closed_at: None,
                headcount: cmd.headcount,
                hiring_team: cmd.hiring_team,
                stages,
                custom_fields,
            };
            tx.insert_job(org, &job)?;
            let stage_ids: Vec<&Id> = job.stages.iter().map(|s| &s.id).collect();
            tx.emit(
                &crate::events::JOB_CREATED,
                format!("job/{}", job.id),
                serde_json::json!({"job_id": job.id, "stage_ids": stage_ids}),
            );
            Ok(job)
        })
    }

    /// Changes a job: its fields, its status (see the module's doc), its team, its custom fields.
    pub fn update_job(&mut self, org: &str, cmd: UpdateJob) -> Result<Job, WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let mut job = must_job(tx, org, &cmd.job_id, true)?;
            let was_confidential = job.confidential;
            let changed: Vec<&str> = [
                ("title", cmd.title.is_some()),
                ("department_id", cmd.department_id.is_some()),
                ("location", cmd.location.is_some()),
                ("employment_type", cmd.employment_type.is_some()),
                ("status", cmd.status.is_some()),
                ("confidential", cmd.confidential.is_some()),
                ("headcount", cmd.headcount.is_some()),
                ("hiring_team", cmd.hiring_team.is_some()),
                ("custom_fields", cmd.custom_fields.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect();
            if let Some(t) = &cmd.title {
                job.title = non_empty("title", t)?;
            }
            if let Some(d) = cmd.department_id {
                tx.must_exist(Table::Departments, org, "department_id", "department", &d)?;
                job.department_id = d;
            }
            if let Some(l) = cmd.location {
                job.location = l;
            }
            if let Some(e) = cmd.employment_type {
                job.employment_type = e;
            }
            if let Some(c) = cmd.confidential {
                job.confidential = c;
            }
            if let Some(h) = cmd.headcount {
                check_headcount(h)?;
                job.headcount = h;
            }
            if let Some(to) = cmd.status
                && to != job.status
            {
                use JobStatus::*;
                let from = job.status;
                let allowed = matches!(
                    (from, to),
                    (Draft, Open) | (Open, Closed) | (Closed, Open) | (Draft | Open | Closed, Archived)
                );
                if !allowed {
                    return Err(WriteError::invalid(
                        "status",
                        format!("a job that is {from} cannot become {to}"),
                    ));
                }
                match (from, to) {
                    (Draft, Open) => job.opened_at = cmd.at,
                    (Closed, Open) => job.closed_at = None,
                    _ => {
                        if job.closed_at.is_none() {
                            if cmd.at < job.opened_at {
                                return Err(WriteError::invalid(
                                    "at",
                                    format!(
                                        "`{}` is before the job's `opened_at` `{}`",
                                        cmd.at, job.opened_at
                                    ),
                                ));
                            }
                            job.closed_at = Some(cmd.at);
                        }
                    }
                }
                job.status = to;
            }
            if let Some(map) = &cmd.custom_fields {
                job.custom_fields = check_custom(&schema, CustomEntity::Job, map)?;
            }
            if let Some(team) = cmd.hiring_team {
                check_team(tx, org, &team)?;
                tx.execute(
                    "DELETE FROM hiring_team WHERE org_id = $1 AND job_id = $2",
                    &[Val::Text(org), Val::Text(job.id.as_str())],
                )?;
                tx.insert_hiring_team(org, &job.id, &team)?;
                job.hiring_team = team;
            }
            let custom = serde_json::to_string(&job.custom_fields)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.execute(
                "UPDATE jobs SET title = $3, department_id = $4, location = $5, employment_type = $6, status = $7, \
                 confidential = $8, opened_at = $9, closed_at = $10, headcount = $11, custom_fields = $12 \
                 WHERE org_id = $1 AND id = $2",
                &[
                    Val::Text(org),
                    Val::Text(job.id.as_str()),
                    Val::Text(&job.title),
                    Val::Text(job.department_id.as_str()),
                    Val::Text(&job.location),
                    Val::Text(job.employment_type.as_str()),
                    Val::Text(job.status.as_str()),
                    Val::Bool(job.confidential),
                    Val::Instant(job.opened_at),
                    job.closed_at.map_or(Val::Null, Val::Instant),
                    Val::Int(job.headcount.into()),
                    Val::Json(custom),
                ],
            )?;
            if job.confidential != was_confidential {
                // Its applications' stored `job_confidential` follows it, and the candidates
                // applying to the job may gain or lose their only application to a job that
                // is not confidential.
                tx.derive_application_flags_of_job(org, &job.id)?;
                tx.derive_candidate_flags_of_job(org, &job.id)?;
            }
            tx.emit(
                &crate::events::JOB_UPDATED,
                format!("job/{}", job.id),
                serde_json::json!({"job_id": job.id, "changed": changed}),
            );
            Ok(job)
        })
    }

    /// Adds a stage to a job's pipeline, before another stage or at the end.
    pub fn add_stage(&mut self, org: &str, cmd: AddStage) -> Result<Job, WriteError> {
        self.write_tx(org, |tx| {
            let job = must_job(tx, org, &cmd.job_id, true)?;
            let name = non_empty("stage.name", &cmd.stage.name)?;
            let position = match &cmd.before_stage_id {
                None => job.stages.last().map_or(1, |s| s.position + 1),
                Some(before) => {
                    let Some(s) = job.stages.iter().find(|s| &s.id == before) else {
                        return match tx.stage(org, before.as_str())? {
                            Some((other, _)) => Err(WriteError::invalid(
                                "before_stage_id",
                                format!(
                                    "stage `{before}` belongs to job `{other}`, not to job `{}`",
                                    job.id
                                ),
                            )),
                            None => Err(WriteError::not_found(
                                "before_stage_id",
                                "stage",
                                before.as_str(),
                            )),
                        };
                    };
                    // Make room: the stages from `before` on move down by one.
                    shift_stages(tx, org, &job.id, s.position, 1)?;
                    s.position
                }
            };
            let id = stage_id(tx, org, "stage.id", cmd.stage.id.as_ref())?;
            let stage = Stage {
                id,
                name,
                kind: cmd.stage.kind,
                position,
            };
            tx.insert_stage(org, &job.id, &stage)?;
            let job = must_job(tx, org, &job.id, false)?;
            let stage_ids: Vec<&Id> = job.stages.iter().map(|s| &s.id).collect();
            tx.emit(
                &crate::events::STAGE_ADDED,
                format!("job/{}", job.id),
                serde_json::json!({
                    "job_id": job.id,
                    "stage_id": stage.id,
                    "kind": stage.kind.as_str(),
                    "stage_ids": stage_ids,
                }),
            );
            Ok(job)
        })
    }

    /// Renames a stage.
    pub fn update_stage(&mut self, org: &str, cmd: UpdateStage) -> Result<Stage, WriteError> {
        self.write_tx(org, |tx| {
            let name = non_empty("name", &cmd.name)?;
            let Some((job_id, mut stage)) = tx.stage(org, cmd.stage_id.as_str())? else {
                return Err(WriteError::not_found(
                    "stage_id",
                    "stage",
                    cmd.stage_id.as_str(),
                ));
            };
            tx.execute(
                "UPDATE stages SET name = $3 WHERE org_id = $1 AND id = $2",
                &[
                    Val::Text(org),
                    Val::Text(stage.id.as_str()),
                    Val::Text(&name),
                ],
            )?;
            stage.name = name;
            tx.emit(
                &crate::events::STAGE_RENAMED,
                format!("job/{job_id}"),
                serde_json::json!({"job_id": job_id, "stage_id": stage.id}),
            );
            Ok(stage)
        })
    }

    /// Removes a stage nothing refers to (no application is or was in it, no interview is in
    /// it); a pipeline keeps at least one stage.
    pub fn remove_stage(&mut self, org: &str, stage_id: &Id) -> Result<Job, WriteError> {
        self.write_tx(org, |tx| {
            let Some((job_id, stage)) = tx.stage(org, stage_id.as_str())? else {
                return Err(WriteError::not_found("stage_id", "stage", stage_id.as_str()));
            };
            let job = must_job(tx, org, &job_id, true)?;
            if job.stages.len() <= 1 {
                return Err(WriteError::conflict(
                    "stage_id",
                    format!("stage `{}` is the only stage of job `{}`", stage.id, job.id),
                ));
            }
            let uses = tx.query_opt(
                "SELECT (SELECT count(*) FROM applications WHERE org_id = $1 AND current_stage_id = $2) \
                      + (SELECT count(*) FROM stage_transitions WHERE org_id = $1 AND (to_stage_id = $2 OR from_stage_id = $2)) \
                      + (SELECT count(*) FROM interviews WHERE org_id = $1 AND stage_id = $2)",
                &[Val::Text(org), Val::Text(stage.id.as_str())],
                &[Kind::Int],
            )?;
            if uses.map(|r| r.int(0)).transpose()?.unwrap_or(0) > 0 {
                return Err(WriteError::conflict(
                    "stage_id",
                    format!(
                        "stage `{}` is in use (applications, their history or interviews refer to it)",
                        stage.id
                    ),
                ));
            }
            tx.execute(
                "DELETE FROM stages WHERE org_id = $1 AND id = $2",
                &[Val::Text(org), Val::Text(stage.id.as_str())],
            )?;
            // Close the gap: the stages after it move up by one.
            shift_stages(tx, org, &job.id, stage.position + 1, -1)?;
            let job = must_job(tx, org, &job.id, false)?;
            let stage_ids: Vec<&Id> = job.stages.iter().map(|s| &s.id).collect();
            tx.emit(
                &crate::events::STAGE_REMOVED,
                format!("job/{}", job.id),
                serde_json::json!({
                    "job_id": job.id,
                    "stage_id": stage.id,
                    "stage_ids": stage_ids,
                }),
            );
            Ok(job)
        })
    }

    /// The job whose pipeline holds stage `stage_id`, or `None` when the org has no such stage.
    pub fn stage_job(&mut self, org: &str, stage_id: &str) -> Result<Option<Id>, StoreError> {
        self.read_tx(org, |tx| Ok(tx.stage(org, stage_id)?.map(|(job, _)| job)))
    }

    /// Job `id` of org `org` with its pipeline and hiring team, or `None`.
    pub fn job(&mut self, org: &str, id: &str) -> Result<Option<Job>, StoreError> {
        self.read_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            tx.job(org, id, &schema, false)
        })
    }
}
