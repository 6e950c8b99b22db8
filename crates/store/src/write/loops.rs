//! Booked interview loops (migration 32, table `interview_loops`): what `bookInterviewLoop`
//! booked, kept so that the loop can be repaired later from the store (the plan it came from,
//! the option as booked, its interviews in session order) rather than from what a client
//! remembers.
//!
//! - [`Store::book_interview_loop`]: the loop's interviews (as [`Store::create_interviews`])
//!   and its row, one transaction.
//! - [`Store::interview_loops`]: an application's loops that can still be repaired: not
//!   replaced by a repair, every interview still `scheduled` (a loop of which an interview was
//!   cancelled, held or missed is history, not a booking to repair).
//! - [`Store::repair_interview_loop`]: one transaction that cancels the interviews a repair
//!   changes, books the repaired sessions, writes the repaired loop's row and marks the old one
//!   replaced: all or none, so a booking that fails leaves the cancelled interviews scheduled.
//!
//! The rows are outside the interchange format: an import neither reads nor writes them, and
//! replacing an org deletes its rows with its interviews.

use domain::entity::Interview;
use domain::enums::InterviewStatus;
use domain::{Id, Instant};

use super::WriteError;
use super::interviews::{
    NewInterview, cancel_interview_tx, create_interviews_tx, emit_loop_booked,
};
use super::tx::{Kind, Tx};
use crate::rows::Val;
use crate::{Store, StoreError};

/// What a booked loop keeps besides its interviews.
#[derive(Clone, Debug)]
pub struct NewInterviewLoop {
    /// The plan the option came from, as given.
    pub plan: serde_json::Value,
    /// The option as booked (one session per interview, in order).
    pub booked: serde_json::Value,
    pub booked_at: Instant,
    pub booked_by: Option<Id>,
}

/// A booked loop as the store keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct InterviewLoop {
    pub id: Id,
    pub application_id: Id,
    pub stage_id: Id,
    pub plan: serde_json::Value,
    pub booked: serde_json::Value,
    /// The interviews of its sessions, in session order.
    pub interview_ids: Vec<Id>,
    pub booked_at: Instant,
    pub booked_by: Option<Id>,
}

/// A repair of loop `loop_id`: the interviews to cancel (interviews of the loop), the
/// interviews to book, and the repaired loop (its plan and option, and per session the kept
/// interview or `None` for the next one of `book`, in order).
#[derive(Clone, Debug)]
pub struct RepairLoop {
    pub loop_id: Id,
    pub cancel: Vec<Id>,
    pub book: Vec<NewInterview>,
    pub sessions: Vec<Option<Id>>,
    pub repaired: NewInterviewLoop,
}

/// What a repair did.
#[derive(Clone, Debug)]
pub struct RepairedLoop {
    /// The repaired loop's id (a new row).
    pub loop_id: Id,
    pub cancelled: Vec<Id>,
    pub booked: Vec<Interview>,
    /// The repaired loop's interviews, in session order.
    pub interview_ids: Vec<Id>,
}

const LOOP_COLUMNS: &str =
    "id, application_id, stage_id, plan, booked, interview_ids, booked_at, booked_by, replaced_by";
const LOOP_KINDS: [Kind; 9] = [
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Instant,
    Kind::Text,
    Kind::Text,
];

fn json_text(field: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("interview_loops.{field}: {e}")))
}

/// A row of `interview_loops` (columns [`LOOP_COLUMNS`]) and whether it was replaced.
fn loop_of(r: &super::tx::Row) -> Result<(InterviewLoop, bool), StoreError> {
    let ids = json_text("interview_ids", &r.text(5)?)?;
    let interview_ids = serde_json::from_value::<Vec<String>>(ids)
        .map_err(|e| StoreError::Corrupt(format!("interview_loops.interview_ids: {e}")))?
        .into_iter()
        .map(|id| Id::parse(id).map_err(|e| StoreError::Corrupt(format!("interview_loops: {e}"))))
        .collect::<Result<Vec<Id>, StoreError>>()?;
    Ok((
        InterviewLoop {
            id: r.id(0)?,
            application_id: r.id(1)?,
            stage_id: r.id(2)?,
            plan: json_text("plan", &r.text(3)?)?,
            booked: json_text("booked", &r.text(4)?)?,
            interview_ids,
            booked_at: r.instant(6)?,
            booked_by: r.opt_id(7)?,
        },
        r.opt_text(8)?.is_some(),
    ))
}

fn insert_loop(
    tx: &mut Tx<'_>,
    org: &str,
    application: &Id,
    stage: &Id,
    ids: &[Id],
    record: &NewInterviewLoop,
) -> Result<Id, WriteError> {
    let id = super::new_id("loop")?;
    let ids: Vec<&str> = ids.iter().map(Id::as_str).collect();
    let (plan, booked, ids) = (
        record.plan.to_string(),
        record.booked.to_string(),
        serde_json::Value::from(ids).to_string(),
    );
    tx.execute(
        "INSERT INTO interview_loops (org_id, id, application_id, stage_id, plan, booked, \
         interview_ids, booked_at, booked_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            Val::Text(org),
            Val::Text(id.as_str()),
            Val::Text(application.as_str()),
            Val::Text(stage.as_str()),
            Val::Text(&plan),
            Val::Text(&booked),
            Val::Text(&ids),
            Val::Instant(record.booked_at),
            record
                .booked_by
                .as_ref()
                .map_or(Val::Null, |b| Val::Text(b.as_str())),
        ],
    )?;
    Ok(id)
}

/// Whether every interview of `ids` is still `scheduled`.
fn all_scheduled(tx: &mut Tx<'_>, org: &str, ids: &[Id]) -> Result<bool, StoreError> {
    for id in ids {
        let status = tx.query_opt(
            "SELECT status FROM interviews WHERE org_id = $1 AND id = $2",
            &[Val::Text(org), Val::Text(id.as_str())],
            &[Kind::Text],
        )?;
        match status {
            Some(r) if r.enumeration(0, InterviewStatus::parse)? == InterviewStatus::Scheduled => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

impl Store {
    /// Books a loop: its interviews as [`Store::create_interviews`] does (same events, same
    /// refusals) and its row, in one transaction. Answers with the interviews and the loop's id.
    pub fn book_interview_loop(
        &mut self,
        org: &str,
        cmds: Vec<NewInterview>,
        record: NewInterviewLoop,
    ) -> Result<(Vec<Interview>, Id), WriteError> {
        self.write_tx(org, |tx| {
            let (out, job) = create_interviews_tx(tx, org, cmds)?;
            let (Some(first), Some(job)) = (out.first(), job) else {
                return Err(WriteError::invalid("interviews", "a loop has a session"));
            };
            let ids: Vec<Id> = out.iter().map(|i| i.id.clone()).collect();
            let (application, stage) = (first.application_id.clone(), first.stage_id.clone());
            emit_loop_booked(tx, &out, &job, &ids);
            let loop_id = insert_loop(tx, org, &application, &stage, &ids, &record)?;
            Ok((out, loop_id))
        })
    }

    /// The loops of application `application_id` that can be repaired, newest first: not
    /// replaced by a repair, and every interview still `scheduled`.
    pub fn interview_loops(
        &mut self,
        org: &str,
        application_id: &str,
    ) -> Result<Vec<InterviewLoop>, StoreError> {
        self.read_tx(org, |tx| {
            let rows = tx.query(
                &format!(
                    "SELECT {LOOP_COLUMNS} FROM interview_loops WHERE org_id = $1 \
                     AND application_id = $2 AND replaced_by IS NULL ORDER BY booked_at DESC, id DESC"
                ),
                &[Val::Text(org), Val::Text(application_id)],
                &LOOP_KINDS,
            )?;
            let mut out = Vec::new();
            for r in &rows {
                let (l, _) = loop_of(r)?;
                if all_scheduled(tx, org, &l.interview_ids)? {
                    out.push(l);
                }
            }
            Ok(out)
        })
    }

    /// Repairs a booked loop in one transaction: the loop must still be current (not replaced:
    /// CONFLICT on `loop_id`, so two repairs of one loop do not both apply), `cancel` must be
    /// interviews of it (each still scheduled), then the repaired sessions are booked (the
    /// cancelled interviews no longer count as anyone's time), the repaired loop written and
    /// the old one marked replaced. Any refusal leaves everything as it was. Emits
    /// `interview.cancelled` per cancelled interview, `interview.scheduled` per booked one, then
    /// `interview_loop.booked` with the repaired loop's interviews.
    pub fn repair_interview_loop(
        &mut self,
        org: &str,
        cmd: RepairLoop,
    ) -> Result<RepairedLoop, WriteError> {
        self.write_tx(org, |tx| {
            let sql = format!(
                "SELECT {LOOP_COLUMNS} FROM interview_loops WHERE org_id = $1 AND id = $2{}",
                tx.lock()
            );
            let Some(row) = tx.query_opt(
                &sql,
                &[Val::Text(org), Val::Text(cmd.loop_id.as_str())],
                &LOOP_KINDS,
            )?
            else {
                return Err(WriteError::not_found(
                    "loop_id",
                    "interview loop",
                    cmd.loop_id.as_str(),
                ));
            };
            let (old, replaced) = loop_of(&row)?;
            if replaced {
                return Err(WriteError::conflict(
                    "loop_id",
                    format!("interview loop `{}` was already repaired", old.id),
                ));
            }
            if cmd.sessions.len() != old.interview_ids.len() {
                return Err(WriteError::invalid(
                    "sessions",
                    format!(
                        "the loop has {} sessions, the repair {}",
                        old.interview_ids.len(),
                        cmd.sessions.len()
                    ),
                ));
            }
            for (i, id) in cmd.cancel.iter().enumerate() {
                if !old.interview_ids.contains(id) {
                    return Err(WriteError::invalid(
                        format!("cancel[{i}]"),
                        format!("interview `{id}` is not one of the loop's"),
                    ));
                }
            }
            for (i, kept) in cmd.sessions.iter().enumerate() {
                if let Some(id) = kept
                    && (!old.interview_ids.contains(id) || cmd.cancel.contains(id))
                {
                    return Err(WriteError::invalid(
                        format!("sessions[{i}]"),
                        format!("interview `{id}` is not one of the loop's kept interviews"),
                    ));
                }
            }
            let new_sessions = cmd.sessions.iter().filter(|s| s.is_none()).count();
            if new_sessions != cmd.book.len() {
                return Err(WriteError::invalid(
                    "book",
                    format!(
                        "{} new sessions, {} interviews to book",
                        new_sessions,
                        cmd.book.len()
                    ),
                ));
            }
            for (i, b) in cmd.book.iter().enumerate() {
                if b.application_id != old.application_id || b.stage_id != old.stage_id {
                    return Err(WriteError::invalid(
                        format!("book[{i}]"),
                        "a repaired session belongs to the loop's application and stage",
                    ));
                }
            }
            for (i, id) in cmd.cancel.iter().enumerate() {
                cancel_interview_tx(tx, org, id).map_err(|e| e.within(&format!("cancel[{i}]")))?;
            }
            // The kept interviews must still be scheduled: a loop is repaired whole.
            let kept: Vec<Id> = cmd.sessions.iter().flatten().cloned().collect();
            if !all_scheduled(tx, org, &kept)? {
                return Err(WriteError::conflict(
                    "loop_id",
                    format!("an interview of loop `{}` is no longer scheduled", old.id),
                ));
            }
            let (booked, job) = create_interviews_tx(tx, org, cmd.book)?;
            let mut fresh = booked.iter().map(|i| i.id.clone());
            let mut ids = Vec::with_capacity(cmd.sessions.len());
            for kept in &cmd.sessions {
                match kept {
                    Some(id) => ids.push(id.clone()),
                    None => ids.push(fresh.next().ok_or_else(|| {
                        WriteError::invalid("book", "fewer interviews than new sessions")
                    })?),
                }
            }
            if let Some(job) = &job {
                emit_loop_booked(tx, &booked, job, &ids);
            }
            let loop_id = insert_loop(
                tx,
                org,
                &old.application_id,
                &old.stage_id,
                &ids,
                &cmd.repaired,
            )?;
            tx.execute(
                "UPDATE interview_loops SET replaced_by = $3 WHERE org_id = $1 AND id = $2",
                &[
                    Val::Text(org),
                    Val::Text(old.id.as_str()),
                    Val::Text(loop_id.as_str()),
                ],
            )?;
            Ok(RepairedLoop {
                loop_id,
                cancelled: cmd.cancel,
                booked,
                interview_ids: ids,
            })
        })
    }
}
