//! Interviews and scorecards.
//!
//! The compiler's shortcuts hold for every write: an interview's stage is a stage of its
//! application's job, and a scorecard's application is its interview's (taken from the interview,
//! never from the caller).
//!
//! A scorecard's author may change its recommendation, scores and notes after submitting it
//! ([`Store::update_feedback`]); its interview, application, author and `submitted_at` stay (the
//! format keeps no history of edits). A cancelled interview takes no scorecard, and the ones it
//! has can no longer be changed (CONFLICT on `feedback_id`).

use std::collections::BTreeMap;

use domain::entity::{Feedback, Interview, InterviewParticipant};
use domain::enums::{ApplicationStatus, InterviewStatus, InterviewerRole, Recommendation};
use domain::{Id, Instant};

use serde_json::json;

use super::tx::{Kind, Row, Tx};
use super::{WriteError, non_empty};
use crate::events;
use crate::rows::{Table, Val};
use crate::{Store, StoreError};

/// A new interview of an active application.
#[derive(Clone, Debug)]
pub struct NewInterview {
    /// The id to give the interview; generated (`iv_...`) when `None`.
    pub id: Option<Id>,
    pub application_id: Id,
    /// A stage of the application's job.
    pub stage_id: Id,
    pub title: String,
    pub starts_at: Instant,
    /// After `starts_at`.
    pub ends_at: Instant,
    pub status: InterviewStatus,
    pub interviewers: Vec<InterviewParticipant>,
    /// When the command runs, for a scheduled interview booked now: it must not start before
    /// then. `None` records an interview as it was (imports, history).
    pub booked_at: Option<Instant>,
}

/// A scorecard for an interview, by one of the org's users.
#[derive(Clone, Debug)]
pub struct NewFeedback {
    /// The id to give the scorecard; generated (`fb_...`) when `None`.
    pub id: Option<Id>,
    /// The interview; the scorecard's application is the interview's.
    pub interview_id: Id,
    pub author_id: Id,
    /// Not before the interview starts.
    pub submitted_at: Instant,
    pub recommendation: Recommendation,
    /// Attribute to score, 1 to 4.
    pub scores: BTreeMap<String, u8>,
    pub notes: Option<String>,
}

/// What became of a scheduled interview ([`Store::mark_interview`]).
#[derive(Clone, Debug)]
pub struct MarkInterview {
    pub interview_id: Id,
    /// `completed` (it took place: once it has ended) or `no_show` (the candidate did not come:
    /// once it has started).
    pub status: InterviewStatus,
    /// Now: the rule above is checked against it.
    pub at: Instant,
}

/// A change to a submitted scorecard: what is given replaces what was stored, the rest stays.
#[derive(Clone, Debug)]
pub struct UpdateFeedback {
    pub feedback_id: Id,
    pub recommendation: Option<Recommendation>,
    /// The whole map of attribute to score (1 to 4), replacing the old one.
    pub scores: Option<BTreeMap<String, u8>>,
    /// `Some(None)` clears the notes.
    pub notes: Option<Option<String>>,
}

/// The most attributes a scorecard scores (the console's form shows 8).
pub const MAX_SCORES: usize = 50;
/// The most people on one interview.
pub const MAX_PARTICIPANTS: usize = 50;

/// Refuses more than [`MAX_SCORES`] attributes (red team, pass 17: 25,000 were stored), an
/// empty attribute name or a score outside 1 to 4, naming the attribute (`scores["coding"]`).
fn check_scores(scores: &BTreeMap<String, u8>) -> Result<(), WriteError> {
    if scores.len() > MAX_SCORES {
        return Err(WriteError::invalid(
            "scores",
            format!("{} attributes: at most {MAX_SCORES}", scores.len()),
        ));
    }
    for (attr, score) in scores {
        if attr.trim().is_empty() {
            return Err(WriteError::invalid("scores", "an attribute name is empty"));
        }
        if !(1..=4).contains(score) {
            return Err(WriteError::invalid(
                super::map_entry_path("scores", attr),
                format!("expected a score 1 to 4, got `{score}`"),
            ));
        }
    }
    Ok(())
}

/// The longest an interview may last: a day, in microseconds.
const LONGEST_INTERVIEW_US: i64 = 24 * 60 * 60 * 1_000_000;

const FEEDBACK_COLUMNS: &str =
    "id, interview_id, application_id, author_id, submitted_at, recommendation, scores, notes";
const FEEDBACK_KINDS: [Kind; 8] = [
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Instant,
    Kind::Text,
    Kind::Json,
    Kind::Text,
];

fn feedback_of(r: &Row) -> Result<Feedback, StoreError> {
    Ok(Feedback {
        id: r.id(0)?,
        interview_id: r.id(1)?,
        application_id: r.id(2)?,
        author_id: r.id(3)?,
        submitted_at: r.instant(4)?,
        recommendation: r.enumeration(5, Recommendation::parse)?,
        scores: serde_json::from_value(r.json(6)?)
            .map_err(|e| StoreError::Corrupt(format!("feedback scores: {e}")))?,
        notes: r.opt_text(7)?,
    })
}

impl Store {
    /// Schedules (or records) an interview of an active application.
    pub fn create_interview(
        &mut self,
        org: &str,
        cmd: NewInterview,
    ) -> Result<Interview, WriteError> {
        self.write_tx(org, |tx| Ok(create_interview_tx(tx, org, cmd)?.0))
    }

    /// Books several interviews of one application and stage (a loop) in one transaction: all
    /// or none. A refusal names the interview: `interviews[1].stage_id`. Emits each
    /// interview's `interview.scheduled`, then `interview_loop.booked`.
    pub fn create_interviews(
        &mut self,
        org: &str,
        cmds: Vec<NewInterview>,
    ) -> Result<Vec<Interview>, WriteError> {
        self.write_tx(org, |tx| {
            let (out, job) = create_interviews_tx(tx, org, cmds)?;
            if let Some(job) = job {
                let ids: Vec<Id> = out.iter().map(|i| i.id.clone()).collect();
                emit_loop_booked(tx, &out, &job, &ids);
            }
            Ok(out)
        })
    }

    /// Cancels a scheduled interview (a completed, missed or already cancelled one stays as it
    /// is: CONFLICT). Its seats and any feedback are kept; no feedback can be added after.
    pub fn cancel_interview(&mut self, org: &str, interview_id: &Id) -> Result<(), WriteError> {
        self.write_tx(org, |tx| cancel_interview_tx(tx, org, interview_id))
    }

    /// Records what became of a scheduled interview: `completed` once it has ended, `no_show`
    /// (the candidate did not come) once it has started; refused on `status` before then, or
    /// for another status. A mark recorded wrongly is corrected the same way (completed ⇄
    /// no_show); a cancelled interview stays as it is (CONFLICT), and so does a mark given
    /// again. Its seats and scorecards are kept; scorecards are still taken for it (a
    /// no-show's panel may say so).
    pub fn mark_interview(&mut self, org: &str, cmd: MarkInterview) -> Result<(), WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let Some(iv) = tx.query_opt(
                "SELECT application_id, status, starts_at, ends_at FROM interviews \
                 WHERE org_id = $1 AND id = $2",
                &[Val::Text(org), Val::Text(cmd.interview_id.as_str())],
                &[Kind::Text, Kind::Text, Kind::Instant, Kind::Instant],
            )?
            else {
                return Err(WriteError::not_found(
                    "interview_id",
                    "interview",
                    cmd.interview_id.as_str(),
                ));
            };
            let application_id = iv.id(0)?;
            let status = iv.enumeration(1, InterviewStatus::parse)?;
            let (starts_at, ends_at) = (iv.instant(2)?, iv.instant(3)?);
            // Locks the application, as every write below an application does.
            let app = tx.must_application(org, "interview_id", &application_id, &schema, true)?;
            // A scheduled interview is marked; a mark is corrected (completed ⇄ no_show); a
            // cancelled one stays as it is.
            let correction = matches!(
                (status, cmd.status),
                (InterviewStatus::Completed, InterviewStatus::NoShow)
                    | (InterviewStatus::NoShow, InterviewStatus::Completed)
            );
            if status != InterviewStatus::Scheduled && !correction {
                return Err(WriteError::conflict(
                    "interview_id",
                    format!(
                        "interview `{}` is {status}; a scheduled interview is marked `completed` or `no_show`, and a mark corrected to the other",
                        cmd.interview_id
                    ),
                ));
            }
            match cmd.status {
                InterviewStatus::Completed if ends_at > cmd.at => {
                    return Err(WriteError::invalid(
                        "status",
                        format!(
                            "the interview ends at `{ends_at}` (now `{}`); it is completed once it has ended",
                            cmd.at
                        ),
                    ));
                }
                InterviewStatus::NoShow if starts_at > cmd.at => {
                    return Err(WriteError::invalid(
                        "status",
                        format!(
                            "the interview starts at `{starts_at}` (now `{}`); a no-show is marked once it has started",
                            cmd.at
                        ),
                    ));
                }
                InterviewStatus::Completed | InterviewStatus::NoShow => {}
                other => {
                    return Err(WriteError::invalid(
                        "status",
                        format!(
                            "an interview is marked `completed` or `no_show`, not `{other}` (`cancelInterview` cancels)"
                        ),
                    ));
                }
            }
            tx.execute(
                "UPDATE interviews SET status = $3 WHERE org_id = $1 AND id = $2",
                &[
                    Val::Text(org),
                    Val::Text(cmd.interview_id.as_str()),
                    Val::Text(cmd.status.as_str()),
                ],
            )?;
            let ty = if cmd.status == InterviewStatus::Completed {
                &events::INTERVIEW_COMPLETED
            } else {
                &events::INTERVIEW_NO_SHOW
            };
            tx.emit(
                ty,
                format!("interview/{}", cmd.interview_id),
                json!({
                    "interview_id": cmd.interview_id,
                    "application_id": app.id,
                    "job_id": app.job_id,
                    "from_status": status.as_str(),
                }),
            );
            Ok(())
        })
    }

    /// Submits a scorecard: one per author and interview, not for a cancelled interview.
    pub fn submit_feedback(&mut self, org: &str, cmd: NewFeedback) -> Result<Feedback, WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let Some(iv) = tx.query_opt(
                "SELECT application_id, starts_at, status FROM interviews WHERE org_id = $1 AND id = $2",
                &[Val::Text(org), Val::Text(cmd.interview_id.as_str())],
                &[Kind::Text, Kind::Instant, Kind::Text],
            )?
            else {
                return Err(WriteError::not_found(
                    "interview_id",
                    "interview",
                    cmd.interview_id.as_str(),
                ));
            };
            let application_id = iv.id(0)?;
            let starts_at = iv.instant(1)?;
            let status = iv.enumeration(2, InterviewStatus::parse)?;
            // Locks the application, as every write below an application does.
            let app =
                tx.must_application(org, "interview_id", &application_id, &schema, true)?;
            if status == InterviewStatus::Cancelled {
                return Err(WriteError::conflict(
                    "interview_id",
                    format!("interview `{}` was cancelled", cmd.interview_id),
                ));
            }
            tx.must_exist(Table::Users, org, "author_id", "user", &cmd.author_id)?;
            // A scorecard is its interviewer's: who did not sit the interview has nothing to
            // score (a coordinator records one on an interviewer's behalf as that interviewer).
            let seat = tx.query_opt(
                "SELECT role FROM interview_participants WHERE org_id = $1 AND interview_id = $2 AND user_id = $3",
                &[
                    Val::Text(org),
                    Val::Text(cmd.interview_id.as_str()),
                    Val::Text(cmd.author_id.as_str()),
                ],
                &[Kind::Text],
            )?;
            if seat.is_none() {
                return Err(WriteError::invalid(
                    "author_id",
                    format!(
                        "`{}` is not a participant of interview `{}`; only its interviewers and shadows submit its scorecards",
                        cmd.author_id, cmd.interview_id
                    ),
                ));
            }
            if cmd.submitted_at < starts_at {
                return Err(WriteError::invalid(
                    "submitted_at",
                    format!(
                        "`{}` is before the interview starts at `{starts_at}`",
                        cmd.submitted_at
                    ),
                ));
            }
            check_scores(&cmd.scores)?;
            let dup = tx.query_opt(
                "SELECT id FROM feedback WHERE org_id = $1 AND interview_id = $2 AND author_id = $3",
                &[
                    Val::Text(org),
                    Val::Text(cmd.interview_id.as_str()),
                    Val::Text(cmd.author_id.as_str()),
                ],
                &[Kind::Text],
            )?;
            if let Some(dup) = dup {
                return Err(WriteError::conflict(
                    "author_id",
                    format!(
                        "`{}` already submitted scorecard `{}` for interview `{}`",
                        cmd.author_id,
                        dup.text(0)?,
                        cmd.interview_id
                    ),
                ));
            }
            let id = tx.fresh_id(Table::Feedback, org, cmd.id.as_ref(), "fb")?;
            let feedback = Feedback {
                id,
                interview_id: cmd.interview_id,
                application_id: app.id.clone(),
                author_id: cmd.author_id,
                submitted_at: cmd.submitted_at,
                recommendation: cmd.recommendation,
                scores: cmd.scores,
                notes: cmd.notes,
            };
            tx.insert_feedback(org, &app, &feedback)?;
            tx.emit(
                &events::FEEDBACK_SUBMITTED,
                format!("feedback/{}", feedback.id),
                json!({
                    "feedback_id": feedback.id,
                    "interview_id": feedback.interview_id,
                    "application_id": app.id,
                    "job_id": app.job_id,
                    "author_id": feedback.author_id,
                    "recommendation": feedback.recommendation.as_str(),
                }),
            );
            Ok(feedback)
        })
    }

    /// Changes a submitted scorecard's recommendation, scores (the whole map) or notes; at least
    /// one of them must be given. A scorecard of a cancelled interview is refused (CONFLICT on
    /// `feedback_id`). Whether the caller may (its author, by default) is the policy's business,
    /// not the store's.
    pub fn update_feedback(
        &mut self,
        org: &str,
        cmd: UpdateFeedback,
    ) -> Result<Feedback, WriteError> {
        if cmd.recommendation.is_none() && cmd.scores.is_none() && cmd.notes.is_none() {
            return Err(WriteError::invalid(
                "input",
                "nothing to change: give `recommendation`, `scores` or `notes`",
            ));
        }
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let sql =
                format!("SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE org_id = $1 AND id = $2");
            let params = [Val::Text(org), Val::Text(cmd.feedback_id.as_str())];
            let Some(r) = tx.query_opt(&sql, &params, &FEEDBACK_KINDS)? else {
                return Err(WriteError::not_found(
                    "feedback_id",
                    "feedback",
                    cmd.feedback_id.as_str(),
                ));
            };
            let application_id = r.id(2)?;
            // Locks the application, as every write below an application does; then reads the
            // scorecard again: it is now current.
            let app = tx.must_application(org, "feedback_id", &application_id, &schema, true)?;
            let changed: Vec<&str> = [
                ("recommendation", cmd.recommendation.is_some()),
                ("scores", cmd.scores.is_some()),
                ("notes", cmd.notes.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect();
            let mut feedback = tx
                .query_opt(&sql, &params, &FEEDBACK_KINDS)?
                .map(|r| feedback_of(&r))
                .transpose()?
                .ok_or_else(|| {
                    WriteError::not_found("feedback_id", "feedback", cmd.feedback_id.as_str())
                })?;
            // A cancelled interview takes no feedback (`submit_feedback`), and what it has
            // stays as it was when it was cancelled. Read under the application's lock, which
            // `cancel_interview` takes too.
            let status = tx
                .query_opt(
                    "SELECT status FROM interviews WHERE org_id = $1 AND id = $2",
                    &[Val::Text(org), Val::Text(feedback.interview_id.as_str())],
                    &[Kind::Text],
                )?
                .map(|r| r.enumeration(0, InterviewStatus::parse))
                .transpose()?;
            if status == Some(InterviewStatus::Cancelled) {
                return Err(WriteError::conflict(
                    "feedback_id",
                    format!(
                        "interview `{}` of scorecard `{}` was cancelled; its scorecards can no longer be changed",
                        feedback.interview_id, feedback.id
                    ),
                ));
            }
            if let Some(scores) = cmd.scores {
                check_scores(&scores)?;
                feedback.scores = scores;
            }
            if let Some(recommendation) = cmd.recommendation {
                feedback.recommendation = recommendation;
            }
            if let Some(notes) = cmd.notes {
                feedback.notes = notes;
            }
            let scores = serde_json::to_string(&feedback.scores)
                .map_err(|e| StoreError::Corrupt(format!("feedback scores: {e}")))?;
            tx.execute(
                "UPDATE feedback SET recommendation = $3, scores = $4, notes = $5 \
                 WHERE org_id = $1 AND id = $2",
                &[
                    Val::Text(org),
                    Val::Text(feedback.id.as_str()),
                    Val::Text(feedback.recommendation.as_str()),
                    Val::Json(scores),
                    feedback.notes.as_deref().map_or(Val::Null, Val::Text),
                ],
            )?;
            tx.emit(
                &events::FEEDBACK_EDITED,
                format!("feedback/{}", feedback.id),
                json!({
                    "feedback_id": feedback.id,
                    "interview_id": feedback.interview_id,
                    "application_id": app.id,
                    "job_id": app.job_id,
                    "recommendation": feedback.recommendation.as_str(),
                    "changed": changed,
                }),
            );
            Ok(feedback)
        })
    }

    /// Scorecard `feedback_id` of org `org`, if there is one.
    pub fn feedback(
        &mut self,
        org: &str,
        feedback_id: &str,
    ) -> Result<Option<Feedback>, StoreError> {
        self.read_tx(org, |tx| {
            let sql =
                format!("SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE org_id = $1 AND id = $2");
            tx.query_opt(
                &sql,
                &[Val::Text(org), Val::Text(feedback_id)],
                &FEEDBACK_KINDS,
            )?
            .map(|r| feedback_of(&r))
            .transpose()
        })
    }
}

/// The interviews of a loop (one application, one stage), each checked and written as
/// [`create_interview_tx`] does; with the job of their application (`None` when `cmds` is
/// empty). Emits each interview's `interview.scheduled`; the caller emits
/// `interview_loop.booked` ([`emit_loop_booked`]).
pub(super) fn create_interviews_tx(
    tx: &mut Tx<'_>,
    org: &str,
    cmds: Vec<NewInterview>,
) -> Result<(Vec<Interview>, Option<Id>), WriteError> {
    // The seats of the whole loop at once: each interview's own locks are then held already.
    lock_seats(tx, org, &cmds)?;
    let mut out: Vec<Interview> = Vec::with_capacity(cmds.len());
    let mut job = None;
    for (i, cmd) in cmds.into_iter().enumerate() {
        let field = format!("interviews[{i}]");
        if let Some(first) = out.first()
            && (first.application_id != cmd.application_id || first.stage_id != cmd.stage_id)
        {
            return Err(WriteError::invalid(
                format!("{field}.stage_id"),
                "the interviews of a loop share one application and one stage",
            ));
        }
        let (interview, job_id) =
            create_interview_tx(tx, org, cmd).map_err(|e| e.within(&field))?;
        job = Some(job_id);
        out.push(interview);
    }
    Ok((out, job))
}

/// `interview_loop.booked` for a loop whose interviews (in session order) are `ids`, `booked`
/// among them (which give the application and stage).
pub(super) fn emit_loop_booked(tx: &mut Tx<'_>, booked: &[Interview], job: &Id, ids: &[Id]) {
    if let Some(first) = booked.first() {
        tx.emit(
            &events::INTERVIEW_LOOP_BOOKED,
            format!("application/{}", first.application_id),
            json!({
                "application_id": first.application_id,
                "job_id": job,
                "stage_id": first.stage_id,
                "interview_ids": ids,
            }),
        );
    }
}

/// Cancels scheduled interview `interview_id` in `tx` (see [`Store::cancel_interview`]).
pub(super) fn cancel_interview_tx(
    tx: &mut Tx<'_>,
    org: &str,
    interview_id: &Id,
) -> Result<(), WriteError> {
    let schema = tx.custom_schema(org)?;
    let Some(iv) = tx.query_opt(
        "SELECT application_id, status FROM interviews WHERE org_id = $1 AND id = $2",
        &[Val::Text(org), Val::Text(interview_id.as_str())],
        &[Kind::Text, Kind::Text],
    )?
    else {
        return Err(WriteError::not_found(
            "interview_id",
            "interview",
            interview_id.as_str(),
        ));
    };
    let application_id = iv.id(0)?;
    let status = iv.enumeration(1, InterviewStatus::parse)?;
    // Locks the application, as every write below an application does.
    let app = tx.must_application(org, "interview_id", &application_id, &schema, true)?;
    if status != InterviewStatus::Scheduled {
        return Err(WriteError::conflict(
            "interview_id",
            format!(
                "interview `{interview_id}` is {status}; only a scheduled one can be cancelled"
            ),
        ));
    }
    tx.execute(
        "UPDATE interviews SET status = $3 WHERE org_id = $1 AND id = $2",
        &[
            Val::Text(org),
            Val::Text(interview_id.as_str()),
            Val::Text(InterviewStatus::Cancelled.as_str()),
        ],
    )?;
    tx.emit(
        &events::INTERVIEW_CANCELLED,
        format!("interview/{interview_id}"),
        json!({
            "interview_id": interview_id,
            "application_id": app.id,
            "job_id": app.job_id,
            "by_hire": false,
        }),
    );
    Ok(())
}

/// The class of PostgreSQL's two-key advisory locks on seats at interviews (a candidate's, a
/// user's: the second key is [`seat_key`]); an arbitrary constant beside the classes of
/// `audit.rs`.
const PG_SEAT_LOCK: i32 = 0x6870_0004;

/// The second key of the advisory lock on the seat of `who` (`candidate` or `user`) `id` of
/// `org`: a 32-bit FNV-1a hash, computed here so that the locks can be taken in key order. Two
/// seats that share a key only wait for each other.
fn seat_key(org: &str, who: &str, id: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in [org, who, id].iter().flat_map(|s| s.bytes().chain([0])) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(h.to_ne_bytes())
}

/// Holds until commit the seats that `cmds` (interviews of one application) are checked for
/// ("nobody sits two scheduled interviews at once"): the candidate's and every participant's,
/// so that two bookings at once of the same person do not both pass the check before either
/// is written. PostgreSQL only (SQLite's `BEGIN IMMEDIATE` already excludes other writers):
/// the application's row first (as every write below an application takes it), then the seats'
/// advisory locks in key order, all at once, so that bookings never wait for each other in a
/// circle. Advisory locks, not the users' and candidates' rows, which other commands lock or
/// reference (`FOR KEY SHARE`) in orders of their own.
fn lock_seats(tx: &mut Tx<'_>, org: &str, cmds: &[NewInterview]) -> Result<(), StoreError> {
    let checked =
        |c: &&NewInterview| c.status == InterviewStatus::Scheduled && c.booked_at.is_some();
    let Some(first) = cmds.iter().find(checked) else {
        return Ok(());
    };
    if !tx.is_postgres() {
        return Ok(());
    }
    let sql = format!(
        "SELECT candidate_id FROM applications WHERE org_id = $1 AND id = $2{}",
        tx.lock()
    );
    let Some(app) = tx.query_opt(
        &sql,
        &[Val::Text(org), Val::Text(first.application_id.as_str())],
        &[Kind::Text],
    )?
    else {
        // Refused by the command's checks.
        return Ok(());
    };
    let mut keys = vec![seat_key(org, "candidate", &app.text(0)?)];
    for c in cmds.iter().filter(checked) {
        keys.extend(
            c.interviewers
                .iter()
                .map(|p| seat_key(org, "user", p.user_id.as_str())),
        );
    }
    take_seats(tx, keys)
}

/// Takes the seats' advisory locks `keys` until commit, in key order, each once.
fn take_seats(tx: &mut Tx<'_>, mut keys: Vec<i32>) -> Result<(), StoreError> {
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        tx.query(
            "SELECT CAST(pg_advisory_xact_lock(CAST($1 AS integer), CAST($2 AS integer)) AS text)",
            &[Val::Int(i64::from(PG_SEAT_LOCK)), Val::Int(i64::from(key))],
            &[Kind::Text],
        )?;
    }
    Ok(())
}

/// Holds until commit the seats of candidates `ids` of `org` (the advisory locks bookings take,
/// [`lock_seats`]), in key order: a merge of two candidates waits for bookings of either and
/// makes them wait. PostgreSQL only, taken after the rows a booking would lock first.
pub(super) fn lock_candidate_seats(
    tx: &mut Tx<'_>,
    org: &str,
    ids: &[&str],
) -> Result<(), StoreError> {
    if !tx.is_postgres() {
        return Ok(());
    }
    let keys: Vec<i32> = ids
        .iter()
        .map(|id| seat_key(org, "candidate", id))
        .collect();
    take_seats(tx, keys)
}

fn create_interview_tx(
    tx: &mut Tx<'_>,
    org: &str,
    cmd: NewInterview,
) -> Result<(Interview, Id), WriteError> {
    // At most `MAX_PARTICIPANTS`, each once, before any is looked up (red team, pass 17: 5,800
    // participants each ran an overlap query in the write transaction before the duplicate
    // was found, and held SQLite's write lock for 0.5 s).
    if cmd.interviewers.len() > MAX_PARTICIPANTS {
        return Err(WriteError::invalid(
            "interviewers",
            format!(
                "{} participants: at most {MAX_PARTICIPANTS}",
                cmd.interviewers.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(cmd.interviewers.len());
    for (i, p) in cmd.interviewers.iter().enumerate() {
        if !seen.insert(&p.user_id) {
            return Err(WriteError::invalid(
                format!("interviewers[{i}].user_id"),
                format!("`{}` already sits on this interview", p.user_id),
            ));
        }
    }
    let schema = tx.custom_schema(org)?;
    lock_seats(tx, org, std::slice::from_ref(&cmd))?;
    let app = tx.must_application(org, "application_id", &cmd.application_id, &schema, true)?;
    if app.status != ApplicationStatus::Active {
        return Err(WriteError::conflict(
            "application_id",
            format!(
                "application `{}` is {}; only active applications get interviews",
                app.id, app.status
            ),
        ));
    }
    let (job_id, stage) = tx
        .stage(org, cmd.stage_id.as_str())?
        .ok_or_else(|| WriteError::not_found("stage_id", "stage", cmd.stage_id.as_str()))?;
    if job_id != app.job_id {
        return Err(WriteError::invalid(
            "stage_id",
            format!(
                "stage `{}` belongs to job `{job_id}`, not to the application's job `{}`",
                stage.id, app.job_id
            ),
        ));
    }
    let title = non_empty("title", &cmd.title)?;
    if cmd.ends_at <= cmd.starts_at {
        return Err(WriteError::invalid(
            "ends_at",
            format!(
                "`{}` is not after `starts_at` `{}`",
                cmd.ends_at, cmd.starts_at
            ),
        ));
    }
    if cmd.ends_at.as_micros() - cmd.starts_at.as_micros() > LONGEST_INTERVIEW_US {
        return Err(WriteError::invalid(
            "ends_at",
            format!(
                "`{}` is more than 24 hours after `starts_at` `{}`; an interview lasts at most a day",
                cmd.ends_at, cmd.starts_at
            ),
        ));
    }
    // Booked now: a scheduled interview lies ahead; one recorded as completed took place.
    if let Some(now) = cmd.booked_at {
        match cmd.status {
            InterviewStatus::Scheduled if cmd.starts_at < now => {
                return Err(WriteError::invalid(
                    "starts_at",
                    format!(
                        "`{}` is in the past (now `{now}`); schedule an interview ahead, or record one that took place with status `completed`",
                        cmd.starts_at
                    ),
                ));
            }
            InterviewStatus::Completed if cmd.ends_at > now => {
                return Err(WriteError::invalid(
                    "ends_at",
                    format!(
                        "`{}` has not come yet (now `{now}`); a completed interview took place",
                        cmd.ends_at
                    ),
                ));
            }
            InterviewStatus::Scheduled | InterviewStatus::Completed => {}
            other => {
                return Err(WriteError::invalid(
                    "status",
                    format!("a new interview is `scheduled` or `completed`, not `{other}`"),
                ));
            }
        }
    }
    // Booked now, nobody sits two scheduled interviews at once: the candidate (in any of its
    // applications), nor any participant (recorded history is taken as it was). The seats are
    // locked ([`lock_seats`]).
    let overlapping = |tx: &mut Tx<'_>, join: &str, cond: &str, who: &str| {
        tx.query_opt(
            &format!(
                "SELECT i.id, i.starts_at, i.ends_at, i.application_id FROM interviews i {join} \
                 WHERE i.org_id = $1 AND {cond} = $2 AND i.status = 'scheduled' \
                 AND i.starts_at < $4 AND i.ends_at > $3 ORDER BY i.starts_at, i.id LIMIT 1"
            ),
            &[
                Val::Text(org),
                Val::Text(who),
                Val::Instant(cmd.starts_at),
                Val::Instant(cmd.ends_at),
            ],
            &[Kind::Text, Kind::Instant, Kind::Instant, Kind::Text],
        )
    };
    if cmd.status == InterviewStatus::Scheduled && cmd.booked_at.is_some() {
        let join = "JOIN applications a ON a.org_id = i.org_id AND a.id = i.application_id";
        if let Some(other) = overlapping(tx, join, "a.candidate_id", app.candidate_id.as_str())? {
            let (starts_at, ends_at) = (other.instant(1)?, other.instant(2)?);
            // An interview of another application may be of a job the caller may not see: its
            // time only, never its id.
            let message = if other.text(3)? == app.id.as_str() {
                format!(
                    "the candidate is already in interview `{}` from `{starts_at}` to `{ends_at}`",
                    other.text(0)?
                )
            } else {
                format!(
                    "the candidate is already in another interview from `{starts_at}` to `{ends_at}`; nobody sits two interviews at once"
                )
            };
            return Err(WriteError::conflict("starts_at", message));
        }
        for (i, p) in cmd.interviewers.iter().enumerate() {
            let join =
                "JOIN interview_participants p ON p.org_id = i.org_id AND p.interview_id = i.id";
            if let Some(other) = overlapping(tx, join, "p.user_id", p.user_id.as_str())? {
                // The other interview may be of a job the caller may not see: its time only
                // (what the participant's calendar shows anyway), never its id.
                return Err(WriteError::conflict(
                    format!("interviewers[{i}].user_id"),
                    format!(
                        "`{}` is already in another interview from `{}` to `{}`; nobody sits two interviews at once",
                        p.user_id,
                        other.instant(1)?,
                        other.instant(2)?
                    ),
                ));
            }
        }
    }
    if !cmd
        .interviewers
        .iter()
        .any(|p| p.role == InterviewerRole::Interviewer)
    {
        return Err(WriteError::invalid(
            "interviewers",
            "an interview needs at least one participant with role `interviewer` (shadows learn from one)",
        ));
    }
    for (i, p) in cmd.interviewers.iter().enumerate() {
        let field = format!("interviewers[{i}].user_id");
        let active = tx.query_opt(
            "SELECT active FROM users WHERE org_id = $1 AND id = $2",
            &[Val::Text(org), Val::Text(p.user_id.as_str())],
            &[Kind::Bool],
        )?;
        match active.map(|r| r.boolean(0)).transpose()? {
            None => return Err(WriteError::not_found(field, "user", p.user_id.as_str())),
            Some(false) => {
                return Err(WriteError::invalid(
                    field,
                    format!("user `{}` is inactive and cannot interview", p.user_id),
                ));
            }
            Some(true) => {}
        }
    }
    let id = tx.fresh_id(Table::Interviews, org, cmd.id.as_ref(), "iv")?;
    let interview = Interview {
        id,
        application_id: app.id.clone(),
        stage_id: stage.id,
        title,
        starts_at: cmd.starts_at,
        ends_at: cmd.ends_at,
        status: cmd.status,
        interviewers: cmd.interviewers,
    };
    tx.insert_interview(org, &app, &interview)?;
    let participants: Vec<&Id> = interview.interviewers.iter().map(|p| &p.user_id).collect();
    tx.emit(
        &events::INTERVIEW_SCHEDULED,
        format!("interview/{}", interview.id),
        json!({
            "interview_id": interview.id,
            "application_id": app.id,
            "job_id": app.job_id,
            "stage_id": interview.stage_id,
            "starts_at": interview.starts_at.to_string(),
            "ends_at": interview.ends_at.to_string(),
            "status": interview.status.as_str(),
            "participant_ids": participants,
        }),
    );
    Ok((interview, app.job_id))
}
