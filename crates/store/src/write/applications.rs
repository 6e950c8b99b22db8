//! Candidates and the life of an application: apply, move through the pipeline, archive, hire.
//!
//! The stage history is a chain (the format's rule): the first transition enters the job's first
//! stage at `applied_at`, every next one starts where the previous ended, strictly later, and the
//! last ends in the application's current stage. Each entry also sets the previous stay's
//! `left_at` and adds the stage's kind to `application_stage_kinds`.

use domain::entity::{Application, Candidate, Demographics, Stage, StageTransition};
use domain::enums::{ApplicationStatus, CustomEntity, JobStatus, StageKind};
use domain::{Id, Instant, TimeZone};

use serde_json::json;

use super::custom::check_custom;
use super::tx::{Kind, Tx};
use super::{WriteError, non_empty};
use crate::events;
use crate::rows::{Table, Val};
use crate::{Store, StoreError};

/// A new candidate.
#[derive(Clone, Debug)]
pub struct NewCandidate {
    /// The id to give the candidate; generated (`cand_...`) when `None`.
    pub id: Option<Id>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<TimeZone>,
    pub tags: Vec<String>,
    /// Values by key, checked against the org's candidate fields; `null` means no value.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    pub demographics: Option<Demographics>,
    /// When the candidate was created (`created_at`).
    pub at: Instant,
}

/// Changes a candidate's own fields (custom fields: [`crate::CustomFieldValue`]). `None` leaves
/// a field as it is; for the optional ones, `Some(None)` clears it.
#[derive(Clone, Debug)]
pub struct UpdateCandidate {
    pub candidate_id: Id,
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub timezone: Option<Option<TimeZone>>,
    /// The whole list of tags, replacing the old one.
    pub tags: Option<Vec<String>>,
}

/// A candidate applying to (or being added to) a job.
#[derive(Clone, Debug)]
pub struct NewApplication {
    /// The id to give the application; generated (`app_...`) when `None`.
    pub id: Option<Id>,
    pub candidate_id: Id,
    pub job_id: Id,
    pub source_id: Option<Id>,
    pub credited_to_user_id: Option<Id>,
    /// Values by key, checked against the org's application fields.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// `applied_at`, and the time of the entry into the first stage.
    pub at: Instant,
    /// Who added the application (the first transition's `by_user_id`); `None` for the candidate.
    pub by_user_id: Option<Id>,
}

/// Moves an active application to another stage of its job.
#[derive(Clone, Debug)]
pub struct MoveStage {
    pub application_id: Id,
    pub to_stage_id: Id,
    pub by_user_id: Option<Id>,
    /// Strictly after the application's last transition.
    pub at: Instant,
    /// The id of the new transition; generated (`tr_...`) when `None`.
    pub transition_id: Option<Id>,
}

/// Archives (rejects, withdraws, ...) an active application.
#[derive(Clone, Debug)]
pub struct Archive {
    pub application_id: Id,
    /// Why, free text (`position filled`, `withdrew`, ...); must not be empty.
    pub reason: String,
    /// Not before the application's last transition.
    pub at: Instant,
}

/// Brings an archived application back ([`Store::unarchive`]).
#[derive(Clone, Debug)]
pub struct Unarchive {
    pub application_id: Id,
}

/// Hires an active application: it enters its job's `hired` stage and its status becomes `hired`.
#[derive(Clone, Debug)]
pub struct Hire {
    pub application_id: Id,
    pub by_user_id: Option<Id>,
    /// `hired_at`; not before the application's last transition (strictly after it when the
    /// application still has to enter the hired stage).
    pub at: Instant,
    /// The id of the transition into the hired stage; generated when `None`.
    pub transition_id: Option<Id>,
}

/// What a stage change did: the application as it now is, and the transition it recorded (none
/// when a hire found the application already in the hired stage).
#[derive(Clone, Debug, PartialEq)]
pub struct StageChange {
    pub application: Application,
    pub transition: Option<StageTransition>,
}

impl Store {
    /// Creates a candidate.
    pub fn create_candidate(
        &mut self,
        org: &str,
        cmd: NewCandidate,
    ) -> Result<Candidate, WriteError> {
        self.write_tx(org, |tx| create_candidate_tx(tx, org, cmd))
    }

    /// Changes a candidate's own fields, each checked as on creation.
    pub fn update_candidate(&mut self, org: &str, cmd: UpdateCandidate) -> Result<(), WriteError> {
        self.write_tx(org, |tx| {
            tx.must_exist(
                Table::Candidates,
                org,
                "candidate_id",
                "candidate",
                &cmd.candidate_id,
            )?;
            let id = cmd.candidate_id.as_str();
            let mut set = |column: &str, value: Val<'_>| {
                tx.execute(
                    &format!("UPDATE candidates SET {column} = $3 WHERE org_id = $1 AND id = $2"),
                    &[Val::Text(org), Val::Text(id), value],
                )
            };
            if let Some(name) = &cmd.name {
                let name = non_empty("name", name)?;
                set("name", Val::Text(&name))?;
            }
            // As on creation: email and phone, when given, are not empty.
            for (field, value) in [("email", &cmd.email), ("phone", &cmd.phone)] {
                if let Some(Some(v)) = value {
                    non_empty(field, v)?;
                }
            }
            for (column, value) in [
                ("email", &cmd.email),
                ("phone", &cmd.phone),
                ("location", &cmd.location),
            ] {
                if let Some(value) = value {
                    set(column, value.as_deref().map_or(Val::Null, Val::Text))?;
                }
            }
            if let Some(zone) = &cmd.timezone {
                set(
                    "timezone",
                    zone.as_ref().map_or(Val::Null, |z| Val::Text(z.name())),
                )?;
            }
            if let Some(tags) = &cmd.tags {
                check_tags(tags)?;
                let json =
                    serde_json::to_string(tags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                set("tags", Val::Json(json))?;
            }
            let changed: Vec<&str> = [
                ("name", cmd.name.is_some()),
                ("email", cmd.email.is_some()),
                ("phone", cmd.phone.is_some()),
                ("location", cmd.location.is_some()),
                ("timezone", cmd.timezone.is_some()),
                ("tags", cmd.tags.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect();
            tx.emit(
                &events::CANDIDATE_UPDATED,
                format!("candidate/{id}"),
                json!({"candidate_id": id, "changed": changed}),
            );
            Ok(())
        })
    }

    /// Applies a candidate to a job (a `draft` or `open` one): the application is active and enters
    /// the job's first stage at `at`.
    pub fn apply(&mut self, org: &str, cmd: NewApplication) -> Result<Application, WriteError> {
        self.write_tx(org, |tx| apply_tx(tx, org, cmd))
    }

    /// Creates a candidate and applies them to a job, in one transaction (`cmd.candidate_id` is
    /// ignored: the new candidate's id is used).
    pub fn create_candidate_and_apply(
        &mut self,
        org: &str,
        candidate: NewCandidate,
        mut cmd: NewApplication,
    ) -> Result<(Candidate, Application), WriteError> {
        self.write_tx(org, |tx| {
            let candidate = create_candidate_tx(tx, org, candidate)?;
            cmd.candidate_id = candidate.id.clone();
            let application = apply_tx(tx, org, cmd)?;
            Ok((candidate, application))
        })
    }

    /// Moves an active application to another stage of its job (not the `hired` stage: see
    /// [`Store::hire`]), recording the transition.
    pub fn move_stage(&mut self, org: &str, cmd: MoveStage) -> Result<StageChange, WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let mut app =
                tx.must_application(org, "application_id", &cmd.application_id, &schema, true)?;
            must_be_active(&app)?;
            let (job_id, stage) = tx.stage(org, cmd.to_stage_id.as_str())?.ok_or_else(|| {
                WriteError::not_found("to_stage_id", "stage", cmd.to_stage_id.as_str())
            })?;
            if job_id != app.job_id {
                return Err(WriteError::invalid(
                    "to_stage_id",
                    format!(
                        "stage `{}` belongs to job `{job_id}`, not to the application's job `{}`",
                        stage.id, app.job_id
                    ),
                ));
            }
            if stage.id == app.current_stage_id {
                return Err(WriteError::invalid(
                    "to_stage_id",
                    format!("the application is already in stage `{}`", stage.id),
                ));
            }
            if stage.kind == StageKind::Hired {
                return Err(WriteError::invalid(
                    "to_stage_id",
                    format!(
                        "stage `{}` is the job's hired stage: hire the application instead",
                        stage.id
                    ),
                ));
            }
            if let Some(u) = &cmd.by_user_id {
                tx.must_exist(Table::Users, org, "by_user_id", "user", u)?;
            }
            let from_stage_id = app.current_stage_id.clone();
            let t = enter_stage(
                tx,
                org,
                &mut app,
                &stage,
                cmd.at,
                cmd.by_user_id,
                cmd.transition_id.as_ref(),
            )?;
            tx.update_application(org, &app)?;
            tx.emit(
                &events::APPLICATION_MOVED,
                format!("application/{}", app.id),
                json!({
                    "application_id": app.id,
                    "candidate_id": app.candidate_id,
                    "job_id": app.job_id,
                    "from_stage_id": from_stage_id,
                    "to_stage_id": t.to_stage_id,
                    "transition_id": t.id,
                }),
            );
            Ok(StageChange {
                application: app,
                transition: Some(t),
            })
        })
    }

    /// Archives an active application with a reason (any text that is not empty: history as it
    /// was, e.g. of an import's callers); it stays in its stage. The workflow's command takes
    /// its reason from the org's list: [`Store::archive_with_listed_reason`].
    pub fn archive(&mut self, org: &str, cmd: Archive) -> Result<Application, WriteError> {
        self.write_tx(org, |tx| archive_tx(tx, org, cmd, false))
    }

    /// [`Store::archive`] with a reason from the org's archive reasons (compared without regard
    /// to case, stored as the list spells it; checked after the application is locked, in the
    /// same transaction). Anything else is refused on `reason`, listing the reasons.
    pub fn archive_with_listed_reason(
        &mut self,
        org: &str,
        cmd: Archive,
    ) -> Result<Application, WriteError> {
        self.write_tx(org, |tx| archive_tx(tx, org, cmd, true))
    }

    /// Brings an archived application back (Greenhouse's "unreject", Ashby's "unarchive"):
    /// active again, in the stage it was archived in, its archive time and reason cleared; its
    /// stage history, interviews, scorecards and offers are as they were. Refused (CONFLICT)
    /// unless it is archived (a hired one stays hired), when its job no longer takes
    /// applications (closed or archived: reopen the job first), or when the candidate has
    /// another active application to the job.
    pub fn unarchive(&mut self, org: &str, cmd: Unarchive) -> Result<Application, WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            // The candidate is locked (PostgreSQL) before the application, in the order
            // `merge_candidates` takes them, so that an application to the job at once (which
            // takes the candidate's lock too) does not pass the check for an active one below.
            let mut candidate = None;
            if tx.is_postgres()
                && let Some(r) = tx.query_opt(
                    "SELECT candidate_id FROM applications WHERE org_id = $1 AND id = $2",
                    &[Val::Text(org), Val::Text(cmd.application_id.as_str())],
                    &[Kind::Text],
                )?
            {
                let id = r.id(0)?;
                tx.lock_candidate(org, id.as_str())?;
                candidate = Some(id);
            }
            let mut app =
                tx.must_application(org, "application_id", &cmd.application_id, &schema, true)?;
            if tx.is_postgres() && candidate.as_ref() != Some(&app.candidate_id) {
                // A merge moved the application to another candidate meanwhile.
                tx.lock_candidate(org, app.candidate_id.as_str())?;
            }
            if app.status != ApplicationStatus::Archived {
                return Err(WriteError::conflict(
                    "application_id",
                    format!(
                        "application `{}` is {}; only an archived application is unarchived",
                        app.id, app.status
                    ),
                ));
            }
            let job = tx
                .job(org, app.job_id.as_str(), &schema, false)?
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("application `{}` has no job", app.id))
                })?;
            if !matches!(job.status, JobStatus::Draft | JobStatus::Open) {
                return Err(WriteError::conflict(
                    "application_id",
                    format!(
                        "job `{}` is {}; reopen it before unarchiving its applications",
                        job.id, job.status
                    ),
                ));
            }
            let active = tx.query_opt(
                "SELECT id FROM applications WHERE org_id = $1 AND candidate_id = $2 \
                 AND job_id = $3 AND status = 'active' AND id <> $4",
                &[
                    Val::Text(org),
                    Val::Text(app.candidate_id.as_str()),
                    Val::Text(app.job_id.as_str()),
                    Val::Text(app.id.as_str()),
                ],
                &[Kind::Text],
            )?;
            if let Some(r) = active {
                return Err(WriteError::conflict(
                    "application_id",
                    format!(
                        "candidate `{}` already has an active application `{}` to job `{}`",
                        app.candidate_id,
                        r.text(0)?,
                        app.job_id
                    ),
                ));
            }
            app.status = ApplicationStatus::Active;
            app.archived_at = None;
            app.archive_reason = None;
            tx.update_application(org, &app)?;
            tx.emit(
                &events::APPLICATION_UNARCHIVED,
                format!("application/{}", app.id),
                json!({
                    "application_id": app.id,
                    "candidate_id": app.candidate_id,
                    "job_id": app.job_id,
                    "stage_id": app.current_stage_id,
                }),
            );
            Ok(app)
        })
    }

    /// Hires an active application: it enters its job's `hired` stage (the first by position, if
    /// the pipeline has several) unless it is there already, its status becomes `hired` and
    /// `hired_at` is `at`. With an offer, its latest version must be accepted (a draft, a sent
    /// or a declined offer is not a hire: CONFLICT naming it). Its interviews still scheduled
    /// after `at` are cancelled.
    pub fn hire(&mut self, org: &str, cmd: Hire) -> Result<StageChange, WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let mut app =
                tx.must_application(org, "application_id", &cmd.application_id, &schema, true)?;
            must_be_active(&app)?;
            if let Some(u) = &cmd.by_user_id {
                tx.must_exist(Table::Users, org, "by_user_id", "user", u)?;
            }
            let offer = tx.query_opt(
                "SELECT id, status FROM offers WHERE org_id = $1 AND application_id = $2 \
                 ORDER BY version DESC LIMIT 1",
                &[Val::Text(org), Val::Text(app.id.as_str())],
                &[Kind::Text, Kind::Text],
            )?;
            if let Some(offer) = offer {
                let status = offer.text(1)?;
                if status != "accepted" {
                    return Err(WriteError::conflict(
                        "application_id",
                        format!(
                            "offer `{}` of application `{}` is `{status}`; an application is hired on an accepted offer",
                            offer.text(0)?,
                            app.id
                        ),
                    ));
                }
            }
            let cancelled = tx.query(
                "UPDATE interviews SET status = 'cancelled' WHERE org_id = $1 \
                 AND application_id = $2 AND status = 'scheduled' AND starts_at > $3 RETURNING id",
                &[
                    Val::Text(org),
                    Val::Text(app.id.as_str()),
                    Val::Instant(cmd.at),
                ],
                &[Kind::Text],
            )?;
            let mut cancelled = cancelled
                .iter()
                .map(|r| r.id(0))
                .collect::<Result<Vec<_>, _>>()?;
            cancelled.sort();
            let stages = tx.stages_of(org, app.job_id.as_str())?;
            let Some(hired) = stages.iter().find(|s| s.kind == StageKind::Hired) else {
                return Err(WriteError::conflict(
                    "application_id",
                    format!(
                        "the application's job `{}` has no stage of kind `hired`",
                        app.job_id
                    ),
                ));
            };
            let from_stage_id = app.current_stage_id.clone();
            let transition = if app.current_stage_id == hired.id {
                not_before_last(tx, org, &app, cmd.at, false)?;
                None
            } else {
                Some(enter_stage(
                    tx,
                    org,
                    &mut app,
                    hired,
                    cmd.at,
                    cmd.by_user_id,
                    cmd.transition_id.as_ref(),
                )?)
            };
            app.status = ApplicationStatus::Hired;
            app.hired_at = Some(cmd.at);
            tx.update_application(org, &app)?;
            for interview in &cancelled {
                tx.emit(
                    &events::INTERVIEW_CANCELLED,
                    format!("interview/{interview}"),
                    json!({
                        "interview_id": interview,
                        "application_id": app.id,
                        "job_id": app.job_id,
                        "by_hire": true,
                    }),
                );
            }
            tx.emit(
                &events::APPLICATION_HIRED,
                format!("application/{}", app.id),
                json!({
                    "application_id": app.id,
                    "candidate_id": app.candidate_id,
                    "job_id": app.job_id,
                    "from_stage_id": from_stage_id,
                    "to_stage_id": app.current_stage_id,
                    "transition_id": transition.as_ref().map(|t| &t.id),
                    "cancelled_interview_ids": cancelled,
                }),
            );
            Ok(StageChange {
                application: app,
                transition,
            })
        })
    }

    /// The candidates of org `org` whose email equals `email` regardless of case (lower-cased
    /// as the report language's `email =` does: PostgreSQL's `lower`, SQLite's `hp_lower`), at
    /// most 20, by id. What duplicate detection asks; the caller decides what it may tell.
    pub fn candidates_with_email(&mut self, org: &str, email: &str) -> Result<Vec<Id>, StoreError> {
        self.read_tx(org, |tx| {
            let lower = if tx.is_postgres() {
                "lower"
            } else {
                "hp_lower"
            };
            let sql = format!(
                "SELECT id FROM candidates WHERE org_id = $1 AND {lower}(email) = {lower}($2) \
                 ORDER BY id LIMIT 20"
            );
            let rows = tx.query(
                &sql,
                &[Val::Text(org), Val::Text(email.trim())],
                &[Kind::Text],
            )?;
            rows.iter().map(|r| r.id(0)).collect()
        })
    }

    /// Application `id` of org `org`, or `None`.
    pub fn application(&mut self, org: &str, id: &str) -> Result<Option<Application>, StoreError> {
        self.read_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            tx.application(org, id, &schema, false)
        })
    }

    /// The stage history of application `id` of org `org`, in order (by time, then id).
    pub fn stage_history(
        &mut self,
        org: &str,
        id: &str,
    ) -> Result<Vec<StageTransition>, StoreError> {
        self.read_tx(org, |tx| {
            let rows = tx.query(
                "SELECT id, application_id, from_stage_id, to_stage_id, at, by_user_id FROM stage_transitions \
                 WHERE org_id = $1 AND application_id = $2 ORDER BY at, id",
                &[Val::Text(org), Val::Text(id)],
                &[
                    super::tx::Kind::Text,
                    super::tx::Kind::Text,
                    super::tx::Kind::Text,
                    super::tx::Kind::Text,
                    super::tx::Kind::Instant,
                    super::tx::Kind::Text,
                ],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(StageTransition {
                        id: r.id(0)?,
                        application_id: r.id(1)?,
                        from_stage_id: r.opt_id(2)?,
                        to_stage_id: r.id(3)?,
                        at: r.instant(4)?,
                        by_user_id: r.opt_id(5)?,
                    })
                })
                .collect()
        })
    }
}

fn archive_tx(
    tx: &mut Tx<'_>,
    org: &str,
    cmd: Archive,
    listed: bool,
) -> Result<Application, WriteError> {
    let schema = tx.custom_schema(org)?;
    let mut app = tx.must_application(org, "application_id", &cmd.application_id, &schema, true)?;
    must_be_active(&app)?;
    let reason = non_empty("reason", &cmd.reason)?;
    let reason = if listed {
        super::archive_reasons::listed_reason(tx, org, &reason)?
    } else {
        reason
    };
    not_before_last(tx, org, &app, cmd.at, false)?;
    app.status = ApplicationStatus::Archived;
    app.archived_at = Some(cmd.at);
    app.archive_reason = Some(reason);
    tx.update_application(org, &app)?;
    tx.emit(
        &events::APPLICATION_ARCHIVED,
        format!("application/{}", app.id),
        json!({
            "application_id": app.id,
            "candidate_id": app.candidate_id,
            "job_id": app.job_id,
            "stage_id": app.current_stage_id,
        }),
    );
    Ok(app)
}

fn must_be_active(app: &Application) -> Result<(), WriteError> {
    if app.status == ApplicationStatus::Active {
        return Ok(());
    }
    Err(WriteError::conflict(
        "application_id",
        format!(
            "application `{}` is {}; only active applications change stage or status",
            app.id, app.status
        ),
    ))
}

/// Refuses `at` before the application's last transition (or, when `strictly`, not after it).
fn not_before_last(
    tx: &mut Tx<'_>,
    org: &str,
    app: &Application,
    at: Instant,
    strictly: bool,
) -> Result<Option<Id>, WriteError> {
    let Some((id, _, last)) = tx.last_transition(org, app.id.as_str())? else {
        return Ok(None);
    };
    if at < last || (strictly && at == last) {
        return Err(WriteError::invalid(
            "at",
            format!(
                "`{at}` is {} the application's last stage transition `{id}` at `{last}`",
                if strictly { "not after" } else { "before" }
            ),
        ));
    }
    Ok(Some(id))
}

/// Records `app` entering `stage` at `at`: ends the previous stay (`left_at`), inserts the
/// transition (from the current stage, or from nothing for the first), adds the stage's kind to
/// the application's reached kinds and sets its current stage (the caller writes the
/// application). Entries are strictly after the last one, so that the chain's order (by time,
/// then id) is the order of the commands whatever the ids.
fn enter_stage(
    tx: &mut Tx<'_>,
    org: &str,
    app: &mut Application,
    stage: &Stage,
    at: Instant,
    by_user_id: Option<Id>,
    id: Option<&Id>,
) -> Result<StageTransition, WriteError> {
    let previous = not_before_last(tx, org, app, at, true)?;
    let id = tx.fresh_id(Table::StageTransitions, org, id, "tr")?;
    let transition = StageTransition {
        id,
        application_id: app.id.clone(),
        from_stage_id: previous.as_ref().map(|_| app.current_stage_id.clone()),
        to_stage_id: stage.id.clone(),
        at,
        by_user_id,
    };
    if let Some(previous) = &previous {
        tx.execute(
            "UPDATE stage_transitions SET left_at = $3 WHERE org_id = $1 AND id = $2",
            &[
                Val::Text(org),
                Val::Text(previous.as_str()),
                Val::Instant(at),
            ],
        )?;
    }
    tx.insert_stage_transition(org, app, &transition)?;
    tx.reach_stage_kind(org, app, stage.kind)?;
    app.current_stage_id = stage.id.clone();
    Ok(transition)
}

/// The most tags a candidate has.
pub const MAX_TAGS: usize = 100;

/// Tags are non-empty, listed once and at most [`MAX_TAGS`]: checked in one pass with a set
/// (red team, pass 16: 34,000 tags and a duplicate at the end, compared each with every one
/// before it, held SQLite's write lock for 1.4 s, and other orgs' writes waited).
fn check_tags(tags: &[String]) -> Result<(), WriteError> {
    if tags.len() > MAX_TAGS {
        return Err(WriteError::invalid(
            "tags",
            format!("{} tags: at most {MAX_TAGS}", tags.len()),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(tags.len());
    for (i, t) in tags.iter().enumerate() {
        non_empty(&format!("tags[{i}]"), t)?;
        if !seen.insert(t) {
            return Err(WriteError::invalid(
                format!("tags[{i}]"),
                format!("`{t}` is listed twice"),
            ));
        }
    }
    Ok(())
}

fn create_candidate_tx(
    tx: &mut Tx<'_>,
    org: &str,
    cmd: NewCandidate,
) -> Result<Candidate, WriteError> {
    let schema = tx.custom_schema(org)?;
    let name = non_empty("name", &cmd.name)?;
    for (field, v) in [("email", &cmd.email), ("phone", &cmd.phone)] {
        if let Some(v) = v {
            non_empty(field, v)?;
        }
    }
    check_tags(&cmd.tags)?;
    let custom_fields = check_custom(&schema, CustomEntity::Candidate, &cmd.custom_fields)?;
    let id = tx.fresh_id(Table::Candidates, org, cmd.id.as_ref(), "cand")?;
    let candidate = Candidate {
        id,
        name,
        email: cmd.email,
        phone: cmd.phone,
        location: cmd.location,
        timezone: cmd.timezone,
        created_at: cmd.at,
        tags: cmd.tags,
        custom_fields,
        demographics: cmd.demographics,
    };
    tx.insert_candidate(org, &candidate)?;
    tx.emit(
        &events::CANDIDATE_CREATED,
        format!("candidate/{}", candidate.id),
        json!({"candidate_id": candidate.id}),
    );
    Ok(candidate)
}

fn apply_tx(tx: &mut Tx<'_>, org: &str, cmd: NewApplication) -> Result<Application, WriteError> {
    let schema = tx.custom_schema(org)?;
    // Locked until commit, so that two applications at once of one candidate to one job do not
    // both pass the check for an active one below.
    if !tx.lock_candidate(org, cmd.candidate_id.as_str())? {
        return Err(WriteError::not_found(
            "candidate_id",
            "candidate",
            cmd.candidate_id.as_str(),
        ));
    }
    let job = tx
        .job(org, cmd.job_id.as_str(), &schema, false)?
        .ok_or_else(|| WriteError::not_found("job_id", "job", cmd.job_id.as_str()))?;
    if !matches!(job.status, JobStatus::Draft | JobStatus::Open) {
        return Err(WriteError::conflict(
            "job_id",
            format!(
                "job `{}` is {}; only draft and open jobs take applications",
                job.id, job.status
            ),
        ));
    }
    if let Some(s) = &cmd.source_id {
        tx.must_exist(Table::Sources, org, "source_id", "source", s)?;
    }
    if let Some(u) = &cmd.credited_to_user_id {
        tx.must_exist(Table::Users, org, "credited_to_user_id", "user", u)?;
    }
    if let Some(u) = &cmd.by_user_id {
        tx.must_exist(Table::Users, org, "by_user_id", "user", u)?;
    }
    let active = tx.query_opt(
            "SELECT id FROM applications WHERE org_id = $1 AND candidate_id = $2 AND job_id = $3 AND status = 'active'",
            &[
                Val::Text(org),
                Val::Text(cmd.candidate_id.as_str()),
                Val::Text(job.id.as_str()),
            ],
            &[super::tx::Kind::Text],
        )?;
    if let Some(r) = active {
        return Err(WriteError::conflict(
            "candidate_id",
            format!(
                "candidate `{}` already has an active application `{}` to job `{}`",
                cmd.candidate_id,
                r.text(0)?,
                job.id
            ),
        ));
    }
    let custom_fields = check_custom(&schema, CustomEntity::Application, &cmd.custom_fields)?;
    let Some(first) = job.stages.first() else {
        return Err(StoreError::Corrupt(format!("job `{}` has no stages", job.id)).into());
    };
    let id = tx.fresh_id(Table::Applications, org, cmd.id.as_ref(), "app")?;
    let mut app = Application {
        id,
        candidate_id: cmd.candidate_id,
        job_id: job.id.clone(),
        source_id: cmd.source_id,
        credited_to_user_id: cmd.credited_to_user_id,
        applied_at: cmd.at,
        status: ApplicationStatus::Active,
        current_stage_id: first.id.clone(),
        hired_at: None,
        archived_at: None,
        archive_reason: None,
        custom_fields,
    };
    tx.insert_application(org, &app)?;
    enter_stage(tx, org, &mut app, first, cmd.at, cmd.by_user_id, None)?;
    tx.emit(
        &events::APPLICATION_CREATED,
        format!("application/{}", app.id),
        json!({
            "application_id": app.id,
            "candidate_id": app.candidate_id,
            "job_id": app.job_id,
            "stage_id": app.current_stage_id,
            "source_id": app.source_id,
        }),
    );
    Ok(app)
}
