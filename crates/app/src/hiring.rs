//! The hiring workflow's commands: one function per command of the API (`createCandidate`,
//! `moveApplication`, ..., `bookInterviewLoop`), which the server's mutations and the CLI's
//! `hireplane application move ...` both call. Each one:
//!
//! 1. checks its input beyond its types, with errors that name the field in the input's names
//!    ([`AppError::Invalid`]: `sourceId` without `jobId`, a score that is no whole number, a
//!    salary without its currency);
//! 2. asks the policy engine through the one authorization path of commands
//!    ([`Services::authorize_command`]; what the caller may not see is
//!    [`AppError::NoSuchEntity`] / [`AppError::NoSuchInput`], what it sees but may not change is
//!    [`AppError::Forbidden`]);
//! 3. runs one store command, one transaction, all or nothing, which keeps the workflow's rules
//!    (refusals become [`AppError::Invalid`], [`AppError::Conflict`] or [`AppError::NotFound`]
//!    with their field renamed to the input's names by [`crate::api_names`]), its domain
//!    events written in that transaction and attributed to the caller at `at`
//!    (`store.acting_as(...)`, docs/events.md);
//! 4. answers with the id of what it changed, for the edge to read back as the caller
//!    ([`Services::read_as_caller`] for the CLI; the server reads what the query selects), so
//!    masks apply to the answer too.
//!
//! The inputs are plain Rust: what the edges parse (ids, enums, instants, JSON) is already
//! typed; the field names follow the API's inputs, in snake case. The caller is the
//! [`Access`]'s viewer: who moved, hired or wrote a scorecard is always the caller.

use std::collections::BTreeMap;

use domain::{Id, Instant};
use store::Store;

use crate::{Access, AppError, Command, Services};

/// `createCandidate`.
#[derive(Debug, Clone, Default)]
pub struct CreateCandidate {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<domain::TimeZone>,
    pub tags: Vec<String>,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// Apply the new candidate to this job in the same transaction.
    pub job_id: Option<Id>,
    /// With `job_id` only: where the application came from.
    pub source_id: Option<Id>,
}

/// `updateCandidate`: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone)]
pub struct UpdateCandidate {
    pub candidate_id: Id,
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub timezone: Option<Option<domain::TimeZone>>,
    pub tags: Option<Vec<String>>,
}

/// `applyToJob`.
#[derive(Debug, Clone)]
pub struct ApplyToJob {
    pub candidate_id: Id,
    pub job_id: Id,
    pub source_id: Option<Id>,
    pub credited_to_id: Option<Id>,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

/// `moveApplication`.
#[derive(Debug, Clone)]
pub struct MoveApplication {
    pub application_id: Id,
    pub to_stage_id: Id,
}

/// `archiveApplication`.
#[derive(Debug, Clone)]
pub struct ArchiveApplication {
    pub application_id: Id,
    pub reason: String,
}

/// `unarchiveApplication`.
#[derive(Debug, Clone)]
pub struct UnarchiveApplication {
    pub application_id: Id,
}

/// `markInterview`: what became of a scheduled interview.
#[derive(Debug, Clone)]
pub struct MarkInterview {
    pub interview_id: Id,
    /// `completed` or `no_show`.
    pub status: domain::enums::InterviewStatus,
}

/// `setArchiveReasons`: the org's whole list, in order.
#[derive(Debug, Clone)]
pub struct SetArchiveReasons {
    pub reasons: Vec<String>,
}

/// `hireApplication`.
#[derive(Debug, Clone)]
pub struct HireApplication {
    pub application_id: Id,
}

/// `scheduleInterview`.
#[derive(Debug, Clone)]
pub struct ScheduleInterview {
    pub application_id: Id,
    pub stage_id: Id,
    pub title: String,
    pub starts_at: Instant,
    pub ends_at: Instant,
    /// `scheduled` books one ahead; `completed` records one that took place.
    pub status: domain::enums::InterviewStatus,
    pub interview_participants: Vec<domain::entity::InterviewParticipant>,
}

/// `cancelInterview`.
#[derive(Debug, Clone)]
pub struct CancelInterview {
    pub interview_id: Id,
}

/// `submitFeedback`: the caller's scorecard.
#[derive(Debug, Clone)]
pub struct SubmitFeedback {
    pub interview_id: Id,
    pub recommendation: domain::enums::Recommendation,
    /// Attribute → whole number 1 to 4, as the caller gave it (checked by [`scores`]).
    pub scores: Option<serde_json::Value>,
    pub notes: Option<String>,
}

/// `updateFeedback`: `None` keeps a field, `notes: Some(None)` clears the notes.
#[derive(Debug, Clone)]
pub struct UpdateFeedback {
    pub feedback_id: Id,
    pub recommendation: Option<domain::enums::Recommendation>,
    /// The whole map, replacing the old one.
    pub scores: Option<serde_json::Value>,
    pub notes: Option<Option<String>>,
}

/// An offer's terms (`OfferTermsInput`); fields left out keep their value in an update.
#[derive(Debug, Clone, Default)]
pub struct OfferTerms {
    pub start_date: Option<domain::Date>,
    pub salary: Option<f64>,
    /// Required with a salary.
    pub salary_currency: Option<String>,
    /// Per year when left out.
    pub salary_period: Option<domain::enums::SalaryPeriod>,
    pub bonus: Option<f64>,
    pub equity: Option<String>,
}

/// `createOffer`.
#[derive(Debug, Clone)]
pub struct CreateOffer {
    pub application_id: Id,
    pub status: domain::enums::OfferStatus,
    pub terms: Option<OfferTerms>,
}

/// `updateOffer`.
#[derive(Debug, Clone)]
pub struct UpdateOffer {
    pub offer_id: Id,
    pub status: Option<domain::enums::OfferStatus>,
    pub terms: Option<OfferTerms>,
}

/// One stage of a new job's pipeline (`StageInput`).
#[derive(Debug, Clone)]
pub struct StageInput {
    pub name: String,
    pub kind: domain::enums::StageKind,
}

/// `createJob`.
#[derive(Debug, Clone)]
pub struct CreateJob {
    pub title: String,
    pub department_id: Id,
    pub location: String,
    pub employment_type: domain::enums::EmploymentType,
    pub status: domain::enums::JobStatus,
    pub confidential: bool,
    pub headcount: u32,
    pub stages: Vec<StageInput>,
    pub hiring_team: Vec<domain::entity::HiringTeamMember>,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

/// `updateJob`: fields left out (`None`) keep their value.
#[derive(Debug, Clone)]
pub struct UpdateJob {
    pub job_id: Id,
    pub title: Option<String>,
    pub location: Option<String>,
    pub status: Option<domain::enums::JobStatus>,
    pub confidential: Option<bool>,
    pub headcount: Option<u32>,
    pub hiring_team: Option<Vec<domain::entity::HiringTeamMember>>,
}

/// `addStage`.
#[derive(Debug, Clone)]
pub struct AddStage {
    pub job_id: Id,
    pub name: String,
    pub kind: domain::enums::StageKind,
    pub before_stage_id: Option<Id>,
}

/// `renameStage`.
#[derive(Debug, Clone)]
pub struct RenameStage {
    pub stage_id: Id,
    pub name: String,
}

/// `removeStage`.
#[derive(Debug, Clone)]
pub struct RemoveStage {
    pub stage_id: Id,
}

/// `createCustomField`.
#[derive(Debug, Clone)]
pub struct CreateCustomField {
    pub entity: domain::enums::CustomEntity,
    pub key: String,
    pub label: String,
    pub field_type: domain::enums::CustomFieldType,
    pub options: Vec<String>,
    pub sensitive: bool,
}

/// `updateCustomField`: `None` keeps a part as it is.
#[derive(Debug, Clone)]
pub struct UpdateCustomField {
    pub id: Id,
    pub label: Option<String>,
    pub sensitive: Option<bool>,
    /// The whole new list of options: every current option must stay.
    pub options: Option<Vec<String>>,
}

/// `mergeCandidates`: the duplicate `merge` into `keep`.
#[derive(Debug, Clone)]
pub struct MergeCandidates {
    pub keep: Id,
    pub merge: Id,
}

/// Candidates that share an email (regardless of case), as the caller sees them: the email as
/// the first of them has it, and their ids (at least two).
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateCandidates {
    pub email: String,
    pub candidate_ids: Vec<Id>,
}

/// `setCustomFieldValue`: `value` null removes it.
#[derive(Debug, Clone)]
pub struct SetCustomFieldValue {
    pub entity: domain::enums::CustomEntity,
    pub record_id: Id,
    pub key: String,
    pub value: serde_json::Value,
}

/// `bookInterviewLoop`: an option of `schedulingOptions` for `plan`, booked as one interview
/// per session.
#[derive(Debug, Clone)]
pub struct BookInterviewLoop {
    pub application_id: String,
    pub stage_id: Id,
    pub plan: serde_json::Value,
    pub option: scheduling::ScheduleOption,
}

/// The caller's user id, as a command records who did it.
pub(crate) fn caller(access: &Access) -> Option<Id> {
    Id::parse(access.viewer.user.clone()).ok()
}

/// A scorecard's `scores` as given: an object of attribute → whole number (the store checks 1
/// to 4); a value that is no whole number is refused naming its entry (`scores["coding"]`).
pub fn scores(value: Option<serde_json::Value>) -> Result<Option<BTreeMap<String, u8>>, AppError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let serde_json::Value::Object(m) = value else {
        return Err(AppError::invalid(
            "scores",
            "`scores` must be an object of attribute → 1..4",
        ));
    };
    let mut scores = BTreeMap::new();
    for (k, v) in m {
        let field = crate::api_names::camel_path(&store::map_entry_path("scores", &k));
        let n = v
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| {
                AppError::invalid(&field, format!("`{field}` must be a whole number 1 to 4"))
            })?;
        scores.insert(k, n);
    }
    Ok(Some(scores))
}

impl OfferTerms {
    /// The store's terms: a salary needs its currency (`terms.salaryCurrency`).
    fn to_store(&self) -> Result<store::OfferTerms, AppError> {
        let salary = match self.salary {
            None => None,
            Some(amount) => Some(domain::entity::Salary {
                amount: domain::entity::Amount(amount),
                currency: self.salary_currency.clone().ok_or_else(|| {
                    AppError::invalid(
                        "terms.salaryCurrency",
                        "`terms.salaryCurrency` is required with a salary",
                    )
                })?,
                period: self
                    .salary_period
                    .unwrap_or(domain::enums::SalaryPeriod::Year),
            }),
        };
        Ok(store::OfferTerms {
            start_date: self.start_date,
            salary,
            bonus: self.bonus.map(domain::entity::Amount),
            equity: self.equity.clone(),
        })
    }
}

/// Where a caller may read a custom field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomFieldAccess {
    /// On every record of its entity they see.
    All,
    /// On some of them (the policy's condition on the record).
    Some,
    /// On none.
    None,
}

impl CustomFieldAccess {
    /// The API's name: `ALL`, `SOME`, `NONE`.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomFieldAccess::All => "ALL",
            CustomFieldAccess::Some => "SOME",
            CustomFieldAccess::None => "NONE",
        }
    }
}

impl Services {
    /// `createCandidate`: the candidate, applied to `job_id` in the same transaction when
    /// given. Answers with the candidate's id.
    pub fn create_candidate(
        &self,
        store: &mut Store,
        access: &Access,
        input: CreateCandidate,
        at: Instant,
    ) -> Result<Id, AppError> {
        if input.source_id.is_some() && input.job_id.is_none() {
            // A source is where an application came from: without one, it would be dropped.
            return Err(AppError::invalid(
                "sourceId",
                "`sourceId` needs `jobId`: a source is where an application came from",
            ));
        }
        let org = access.viewer.org.clone();
        let command = Command::CreateCandidate {
            job: input.job_id.as_ref().map(Id::as_str),
        };
        self.authorize_command(store, access, &command, at)?;
        if let Some(email) = &input.email {
            self.refuse_visible_duplicate(store, access, email, at)?;
        }
        let cmd = store::NewCandidate {
            id: None,
            name: input.name,
            email: input.email,
            phone: input.phone,
            location: input.location,
            timezone: input.timezone,
            tags: input.tags,
            custom_fields: input.custom_fields,
            demographics: None,
            at,
        };
        match input.job_id {
            // Added to a job: candidate and application are written in one transaction.
            Some(job) => {
                let apply = store::NewApplication {
                    id: None,
                    // Filled in by the store with the new candidate's id.
                    candidate_id: job.clone(),
                    job_id: job,
                    source_id: input.source_id,
                    credited_to_user_id: None,
                    custom_fields: serde_json::Map::new(),
                    at,
                    by_user_id: caller(access),
                };
                let (candidate, _) = store
                    .acting_as(Some(&access.viewer.user), at)
                    .create_candidate_and_apply(&org, cmd, apply)?;
                Ok(candidate.id)
            }
            None => Ok(store
                .acting_as(Some(&access.viewer.user), at)
                .create_candidate(&org, cmd)?
                .id),
        }
    }

    /// Duplicate detection on `createCandidate`: a candidate of the org with the same email
    /// (regardless of case) whom the caller may see, contact details included, refuses the new
    /// one (CONFLICT on `email`, naming the candidate, whom the caller may already read). One
    /// the caller may not see, or whose email they may not read, refuses nothing: the refusal
    /// would tell them that someone with this email is in the org, which their policy hides.
    /// That candidate is created and the two are left for those who see both (admins by
    /// default) to find and merge. Detection, not a constraint: two creations at the same
    /// moment may both pass.
    fn refuse_visible_duplicate(
        &self,
        store: &mut Store,
        access: &Access,
        email: &str,
        at: Instant,
    ) -> Result<(), AppError> {
        if email.trim().is_empty() {
            return Ok(());
        }
        for existing in store.candidates_with_email(&access.viewer.org, email)? {
            let sees = |action| crate::Request {
                action,
                resource_type: "Candidate",
                resource_id: existing.as_str(),
            };
            if self
                .decide_entity(store, access, sees(policy::Action::View), at)?
                .allowed
                && self
                    .decide_entity(store, access, sees(policy::Action::ViewContactDetails), at)?
                    .allowed
            {
                return Err(AppError::Conflict {
                    field: "email".to_owned(),
                    message: format!(
                        "`email`: candidate `{existing}` already has this email (compared regardless of case); apply them to a job with `applyToJob` instead"
                    ),
                });
            }
        }
        Ok(())
    }

    /// `updateCandidate`. Answers with the candidate's id.
    pub fn update_candidate(
        &self,
        store: &mut Store,
        access: &Access,
        input: UpdateCandidate,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::UpdateCandidate {
            candidate: input.candidate_id.as_str(),
            contact_details: input.email.is_some() || input.phone.is_some(),
        };
        self.authorize_command(store, access, &command, at)?;
        let id = input.candidate_id.clone();
        store
            .acting_as(Some(&access.viewer.user), at)
            .update_candidate(
                &access.viewer.org,
                store::UpdateCandidate {
                    candidate_id: input.candidate_id,
                    name: input.name,
                    email: input.email,
                    phone: input.phone,
                    location: input.location,
                    timezone: input.timezone,
                    tags: input.tags,
                },
            )?;
        Ok(id)
    }

    /// `applyToJob`. Answers with the application's id.
    pub fn apply_to_job(
        &self,
        store: &mut Store,
        access: &Access,
        input: ApplyToJob,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::ApplyToJob {
            candidate: input.candidate_id.as_str(),
            job: input.job_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::NewApplication {
            id: None,
            candidate_id: input.candidate_id,
            job_id: input.job_id,
            source_id: input.source_id,
            credited_to_user_id: input.credited_to_id,
            custom_fields: input.custom_fields,
            at,
            by_user_id: caller(access),
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .apply(&access.viewer.org, cmd)?
            .id)
    }

    /// `moveApplication`. Answers with the application's id.
    pub fn move_application(
        &self,
        store: &mut Store,
        access: &Access,
        input: MoveApplication,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::MoveApplication {
            application: input.application_id.as_str(),
            to_stage: input.to_stage_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::MoveStage {
            application_id: input.application_id,
            to_stage_id: input.to_stage_id,
            by_user_id: caller(access),
            at,
            transition_id: None,
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .move_stage(&access.viewer.org, cmd)?
            .application
            .id)
    }

    /// `archiveApplication`. Answers with the application's id.
    pub fn archive_application(
        &self,
        store: &mut Store,
        access: &Access,
        input: ArchiveApplication,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::ArchiveApplication {
            application: input.application_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::Archive {
            application_id: input.application_id,
            reason: input.reason,
            at,
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .archive_with_listed_reason(&access.viewer.org, cmd)?
            .id)
    }

    /// `unarchiveApplication`: active again in the stage it was archived in. Answers with the
    /// application's id.
    pub fn unarchive_application(
        &self,
        store: &mut Store,
        access: &Access,
        input: UnarchiveApplication,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::UnarchiveApplication {
            application: input.application_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::Unarchive {
            application_id: input.application_id,
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .unarchive(&access.viewer.org, cmd)?
            .id)
    }

    /// `markInterview`: a scheduled interview completed (once ended) or missed by the candidate
    /// (`no_show`, once started). Answers with the interview's id.
    pub fn mark_interview(
        &self,
        store: &mut Store,
        access: &Access,
        input: MarkInterview,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::MarkInterview {
            interview: input.interview_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::MarkInterview {
            interview_id: input.interview_id.clone(),
            status: input.status,
            at,
        };
        store
            .acting_as(Some(&access.viewer.user), at)
            .mark_interview(&access.viewer.org, cmd)?;
        Ok(input.interview_id)
    }

    /// `setArchiveReasons`: replaces the org's list (whoever may edit the org: admins by
    /// default). Answers with the list as stored.
    pub fn set_archive_reasons(
        &self,
        store: &mut Store,
        access: &Access,
        input: SetArchiveReasons,
        at: Instant,
    ) -> Result<Vec<String>, AppError> {
        self.authorize_command(store, access, &Command::SetArchiveReasons, at)?;
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .set_archive_reasons(&access.viewer.org, &input.reasons)?)
    }

    /// `updateUser`: an admin changes a user's role or whether they are active (never leaving
    /// the org without an active admin). A role change applies to the user's next request
    /// (within `auth.cache_ms` for API tokens, as a revocation does); a deactivated user's
    /// sessions and tokens stop at once.
    pub fn update_user(
        &self,
        store: &mut Store,
        access: &Access,
        input: store::UpdateUser,
        at: Instant,
    ) -> Result<store::UpdatedUser, AppError> {
        self.authorize_command(store, access, &Command::UpdateUser, at)?;
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .update_user(&access.viewer.org, input)?)
    }

    /// The org's archive reasons, in order (the default list until an admin sets one): what
    /// `archiveApplication` takes. Every user of the org may read them (they name no record).
    pub fn archive_reasons(
        &self,
        store: &mut Store,
        access: &Access,
    ) -> Result<Vec<String>, AppError> {
        Ok(store.archive_reasons(&access.viewer.org)?)
    }

    /// `hireApplication`. Answers with the application's id.
    pub fn hire_application(
        &self,
        store: &mut Store,
        access: &Access,
        input: HireApplication,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::HireApplication {
            application: input.application_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::Hire {
            application_id: input.application_id,
            by_user_id: caller(access),
            at,
            transition_id: None,
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .hire(&access.viewer.org, cmd)?
            .application
            .id)
    }

    /// `scheduleInterview`. Answers with the interview's id.
    pub fn schedule_interview(
        &self,
        store: &mut Store,
        access: &Access,
        input: ScheduleInterview,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::ScheduleInterview {
            application: input.application_id.as_str(),
            stage: input.stage_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::NewInterview {
            id: None,
            application_id: input.application_id,
            stage_id: input.stage_id,
            title: input.title,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            status: input.status,
            interviewers: input.interview_participants,
            booked_at: Some(at),
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .create_interview(&access.viewer.org, cmd)?
            .id)
    }

    /// `cancelInterview`. Answers with the interview's id.
    pub fn cancel_interview(
        &self,
        store: &mut Store,
        access: &Access,
        input: CancelInterview,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::CancelInterview {
            interview: input.interview_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        store
            .acting_as(Some(&access.viewer.user), at)
            .cancel_interview(&access.viewer.org, &input.interview_id)?;
        Ok(input.interview_id)
    }

    /// `submitFeedback`: the caller's scorecard. Answers with the feedback's id.
    pub fn submit_feedback(
        &self,
        store: &mut Store,
        access: &Access,
        input: SubmitFeedback,
        at: Instant,
    ) -> Result<Id, AppError> {
        let scores = scores(input.scores)?.unwrap_or_default();
        let Some(author) = caller(access) else {
            return Err(AppError::Store(store::StoreError::Corrupt(format!(
                "the caller's id `{}` is not an id",
                access.viewer.user
            ))));
        };
        let command = Command::SubmitFeedback {
            interview: input.interview_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::NewFeedback {
            id: None,
            interview_id: input.interview_id,
            author_id: author,
            submitted_at: at,
            recommendation: input.recommendation,
            scores,
            notes: input.notes,
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .submit_feedback(&access.viewer.org, cmd)?
            .id)
    }

    /// `updateFeedback`. Answers with the feedback's id.
    pub fn update_feedback(
        &self,
        store: &mut Store,
        access: &Access,
        input: UpdateFeedback,
        at: Instant,
    ) -> Result<Id, AppError> {
        let scores = scores(input.scores)?;
        let command = Command::UpdateFeedback {
            feedback: input.feedback_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::UpdateFeedback {
            feedback_id: input.feedback_id,
            recommendation: input.recommendation,
            scores,
            notes: input.notes,
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .update_feedback(&access.viewer.org, cmd)?
            .id)
    }

    /// `createOffer`: a new version, the application's current offer. Answers with its id.
    pub fn create_offer(
        &self,
        store: &mut Store,
        access: &Access,
        input: CreateOffer,
        at: Instant,
    ) -> Result<Id, AppError> {
        let terms = input.terms.as_ref().map(OfferTerms::to_store).transpose()?;
        let command = Command::CreateOffer {
            application: input.application_id.as_str(),
            status: input.status.as_str(),
            terms: terms.is_some(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::NewOffer {
            id: None,
            application_id: input.application_id,
            created_at: at,
            status: input.status,
            terms: terms.unwrap_or_default(),
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .create_offer(&access.viewer.org, cmd)?
            .id)
    }

    /// `updateOffer`. Answers with the offer's id.
    pub fn update_offer(
        &self,
        store: &mut Store,
        access: &Access,
        input: UpdateOffer,
        at: Instant,
    ) -> Result<Id, AppError> {
        let terms = input.terms.as_ref().map(OfferTerms::to_store).transpose()?;
        let command = Command::UpdateOffer {
            offer: input.offer_id.as_str(),
            terms: terms.is_some(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::UpdateOffer {
            offer_id: input.offer_id,
            at,
            status: input.status,
            terms,
        };
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .update_offer(&access.viewer.org, cmd)?
            .id)
    }

    /// `createJob`: the job with its pipeline and hiring team. Answers with its id.
    pub fn create_job(
        &self,
        store: &mut Store,
        access: &Access,
        input: CreateJob,
        at: Instant,
    ) -> Result<Id, AppError> {
        let org = access.viewer.org.clone();
        let command = Command::CreateJob {
            department: input.department_id.as_str(),
            status: input.status.as_str(),
            confidential: input.confidential,
            team: &input.hiring_team,
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::NewJob {
            id: None,
            title: input.title,
            department_id: input.department_id,
            location: input.location,
            employment_type: input.employment_type,
            status: input.status,
            confidential: input.confidential,
            opened_at: at,
            headcount: input.headcount,
            hiring_team: input.hiring_team,
            stages: input
                .stages
                .into_iter()
                .map(|s| store::NewStage {
                    id: None,
                    name: s.name,
                    kind: s.kind,
                })
                .collect(),
            custom_fields: input.custom_fields,
        };
        let job = store
            .acting_as(Some(&access.viewer.user), at)
            .create_job(&org, cmd)?;
        self.forget_catalog(&org); // its stage names
        Ok(job.id)
    }

    /// `updateJob`. Answers with the job's id.
    pub fn update_job(
        &self,
        store: &mut Store,
        access: &Access,
        input: UpdateJob,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::UpdateJob {
            job: input.job_id.as_str(),
            confidential: input.confidential,
            team: input.hiring_team.as_deref(),
        };
        self.authorize_command(store, access, &command, at)?;
        let mut cmd = store::UpdateJob::new(input.job_id, at);
        cmd.title = input.title;
        cmd.location = input.location;
        cmd.status = input.status;
        cmd.confidential = input.confidential;
        cmd.headcount = input.headcount;
        cmd.hiring_team = input.hiring_team;
        Ok(store
            .acting_as(Some(&access.viewer.user), at)
            .update_job(&access.viewer.org, cmd)?
            .id)
    }

    /// `addStage`. Answers with the job's id.
    pub fn add_stage(
        &self,
        store: &mut Store,
        access: &Access,
        input: AddStage,
        at: Instant,
    ) -> Result<Id, AppError> {
        let org = access.viewer.org.clone();
        let command = Command::AddStage {
            job: input.job_id.as_str(),
            before_stage: input.before_stage_id.as_ref().map(Id::as_str),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::AddStage {
            job_id: input.job_id,
            stage: store::NewStage {
                id: None,
                name: input.name,
                kind: input.kind,
            },
            before_stage_id: input.before_stage_id,
        };
        let job = store
            .acting_as(Some(&access.viewer.user), at)
            .add_stage(&org, cmd)?;
        self.forget_catalog(&org); // its stage names
        Ok(job.id)
    }

    /// `renameStage`. Answers with the stage's id.
    pub fn rename_stage(
        &self,
        store: &mut Store,
        access: &Access,
        input: RenameStage,
        at: Instant,
    ) -> Result<Id, AppError> {
        let org = access.viewer.org.clone();
        let command = Command::RenameStage {
            stage: input.stage_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::UpdateStage {
            stage_id: input.stage_id,
            name: input.name,
        };
        let stage = store
            .acting_as(Some(&access.viewer.user), at)
            .update_stage(&org, cmd)?;
        self.forget_catalog(&org);
        Ok(stage.id)
    }

    /// `removeStage`. Answers with the job's id.
    pub fn remove_stage(
        &self,
        store: &mut Store,
        access: &Access,
        input: RemoveStage,
        at: Instant,
    ) -> Result<Id, AppError> {
        let org = access.viewer.org.clone();
        let command = Command::RemoveStage {
            stage: input.stage_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let job = store
            .acting_as(Some(&access.viewer.user), at)
            .remove_stage(&org, &input.stage_id)?;
        self.forget_catalog(&org);
        Ok(job.id)
    }

    /// `createCustomField`. Answers with the field's definition.
    pub fn create_custom_field(
        &self,
        store: &mut Store,
        access: &Access,
        input: CreateCustomField,
        at: Instant,
    ) -> Result<domain::custom::CustomFieldDef, AppError> {
        let org = access.viewer.org.clone();
        self.authorize_command(store, access, &Command::CreateCustomField, at)?;
        let cmd = store::NewCustomField {
            id: None,
            entity: input.entity,
            key: input.key,
            label: input.label,
            field_type: input.field_type,
            options: input.options,
            sensitive: input.sensitive,
        };
        let def = store
            .acting_as(Some(&access.viewer.user), at)
            .create_custom_field(&org, cmd)?;
        self.forget_catalog(&org);
        Ok(def)
    }

    /// `updateCustomField`: a field's label, sensitivity or options (options are only added).
    /// Answers with the field's definition.
    pub fn update_custom_field(
        &self,
        store: &mut Store,
        access: &Access,
        input: UpdateCustomField,
        at: Instant,
    ) -> Result<domain::custom::CustomFieldDef, AppError> {
        let org = access.viewer.org.clone();
        self.authorize_command(store, access, &Command::UpdateCustomField, at)?;
        if input.label.is_none() && input.sensitive.is_none() && input.options.is_none() {
            return Err(AppError::invalid(
                "id",
                "nothing to change: give `label`, `sensitive` or `options`",
            ));
        }
        let cmd = store::UpdateCustomField {
            id: input.id,
            label: input.label,
            sensitive: input.sensitive,
            options: input.options,
        };
        let def = store
            .acting_as(Some(&access.viewer.user), at)
            .update_custom_field(&org, cmd)?;
        self.forget_catalog(&org);
        Ok(def)
    }

    /// The org's custom field definitions (by entity and key), each with where the caller's
    /// policy lets them read its values ([`CustomFieldAccess`]). The definitions are the org's
    /// schema, which every user's reports compile against, so every user of the org gets them;
    /// the values follow the policy (a sensitive field's `viewSensitiveCustomFields`, another's
    /// `viewDetails`, as reports mask them).
    pub fn custom_field_definitions(
        &self,
        store: &mut Store,
        access: &Access,
    ) -> Result<Vec<(domain::custom::CustomFieldDef, CustomFieldAccess)>, AppError> {
        use query_compiler::lower::{Guard, Visibility};
        use query_compiler::{EntityId, FieldGroup};
        let defs = store.custom_fields(&access.viewer.org)?;
        Ok(defs
            .into_iter()
            .map(|d| {
                let entity = match d.entity {
                    domain::enums::CustomEntity::Candidate => EntityId::Candidates,
                    domain::enums::CustomEntity::Application => EntityId::Applications,
                    domain::enums::CustomEntity::Job => EntityId::Jobs,
                };
                let group = if d.sensitive {
                    FieldGroup::SensitiveCustom
                } else {
                    FieldGroup::Details
                };
                let values = match access.guard.rows(entity) {
                    Visibility::None => CustomFieldAccess::None,
                    _ => match access.guard.fields(entity, group) {
                        Visibility::All => CustomFieldAccess::All,
                        Visibility::None => CustomFieldAccess::None,
                        Visibility::Rows(_) => CustomFieldAccess::Some,
                    },
                };
                (d, values)
            })
            .collect())
    }

    /// `mergeCandidates`: the duplicate `merge` merged into `keep` (its applications with
    /// everything below them become `keep`'s, its details fill what `keep` lacks, it is removed;
    /// `store::Store::merge_candidates`). Answers with the kept candidate's id.
    pub fn merge_candidates(
        &self,
        store: &mut Store,
        access: &Access,
        input: MergeCandidates,
        at: Instant,
    ) -> Result<Id, AppError> {
        let command = Command::MergeCandidates {
            keep: input.keep.as_str(),
            merge: input.merge.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        store
            .acting_as(Some(&access.viewer.user), at)
            .merge_candidates(
                &access.viewer.org,
                store::MergeCandidates {
                    keep: input.keep.clone(),
                    merge: input.merge,
                },
            )?;
        Ok(input.keep)
    }

    /// Candidates of the caller's org that share an email (regardless of case), for merging:
    /// only groups of at least two candidates the caller may see with their email (one report
    /// as the caller, `show id, email`: row filter and contact-details mask), so the list tells
    /// nothing the caller's policy hides. At most `store::MAX_DUPLICATE_CANDIDATES` candidates
    /// are looked at.
    pub fn duplicate_candidates(
        &self,
        store: &mut Store,
        access: &Access,
        at: Instant,
    ) -> Result<Vec<DuplicateCandidates>, AppError> {
        let groups = store.duplicate_candidates_by_email(&access.viewer.org)?;
        let ids: Vec<&Id> = groups.iter().flatten().collect();
        let mut emails: BTreeMap<String, String> = BTreeMap::new();
        for chunk in ids.chunks(200) {
            let list: Vec<String> = chunk
                .iter()
                .map(|id| serde_json::Value::from(id.as_str()).to_string())
                .collect();
            let text = format!(
                "report candidates\nwhere id in ({})\nshow id, email\nlimit {}",
                list.join(", "),
                chunk.len()
            );
            let report = query_syntax::parse(&text).map_err(|d| AppError::Report(Box::new(d)))?;
            let run = self.run_report_as(store, access.clone(), &report, None, at)?;
            for row in run.rows.rows {
                let mut cells = row.into_iter().map(|v| v.to_json());
                if let (
                    Some(serde_json::Value::String(id)),
                    Some(serde_json::Value::String(email)),
                ) = (cells.next(), cells.next())
                {
                    emails.insert(id, email);
                }
            }
        }
        Ok(groups
            .into_iter()
            .filter_map(|group| {
                let seen: Vec<Id> = group
                    .into_iter()
                    .filter(|id| emails.contains_key(id.as_str()))
                    .collect();
                let email = emails.get(seen.first()?.as_str())?.clone();
                (seen.len() > 1).then_some(DuplicateCandidates {
                    email,
                    candidate_ids: seen,
                })
            })
            .collect())
    }

    /// `setCustomFieldValue`. Answers with the keys of the record's values after it (the edge
    /// reads them back as the caller: `edit` does not let every caller read every field).
    pub fn set_custom_field_value(
        &self,
        store: &mut Store,
        access: &Access,
        input: SetCustomFieldValue,
        at: Instant,
    ) -> Result<Vec<String>, AppError> {
        // Read as it is now (not from a cache): whether the field is sensitive decides who may
        // write it.
        let sensitive = store
            .catalog(&access.viewer.org)?
            .custom
            .iter()
            .any(|(e, f)| *e == input.entity && f.key == input.key && f.sensitive);
        let command = Command::SetCustomFieldValue {
            entity: input.entity,
            record: input.record_id.as_str(),
            sensitive,
        };
        self.authorize_command(store, access, &command, at)?;
        let cmd = store::CustomFieldValue {
            entity: input.entity,
            record_id: input.record_id,
            key: input.key,
            value: input.value,
        };
        let values = store
            .acting_as(Some(&access.viewer.user), at)
            .set_custom_field_value(&access.viewer.org, cmd)?;
        Ok(values.0.into_keys().collect())
    }

    /// `bookInterviewLoop`: the option, checked again against the calendars as they are now,
    /// booked as one `scheduled` interview per session (its seats as interviewers, its trainee
    /// as shadow or reverse shadow), all or none. Answers with the interviews' ids in the
    /// option's session order. An option that no longer fits, or does not parse, is
    /// [`AppError::Invalid`] on `option`; a plan that makes no request, on `plan`.
    pub fn book_interview_loop(
        &self,
        store: &mut Store,
        access: &Access,
        input: BookInterviewLoop,
        at: Instant,
    ) -> Result<Vec<Id>, AppError> {
        let org = access.viewer.org.clone();
        let application = input.application_id;
        let stage = input.stage_id;
        let option = input.option;
        let command = Command::BookInterviewLoop {
            application: &application,
            stage: stage.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let plan = input.plan;
        let request =
            crate::scheduling::request_from_store(store, &org, &application, plan.clone(), at)
                .map_err(plan_error)?;
        if let Err(v) = scheduling::check(&request, &option) {
            let list: Vec<String> = v.iter().map(ToString::to_string).collect();
            return Err(AppError::invalid(
                "option",
                format!("the option no longer fits: {}", list.join("; ")),
            ));
        }
        let app_id = Id::parse(application.clone())
            .map_err(|e| AppError::invalid("option", format!("`applicationId`: {e}")))?;
        let mut cmds = Vec::new();
        for s in &option.sessions {
            cmds.push(session_interview(&app_id, &stage, s, at)?);
        }
        let record = store::NewInterviewLoop {
            plan: plan_to_keep(plan),
            booked: serde_json::to_value(&option)
                .map_err(|e| AppError::invalid("option", format!("`option`: {e}")))?,
            booked_at: at,
            booked_by: caller(access),
        };
        let (booked, _) = store
            .acting_as(Some(&access.viewer.user), at)
            .book_interview_loop(&org, cmds, record)?;
        Ok(booked.into_iter().map(|i| i.id).collect())
    }

    /// The record `id` of `subject` (`applications`, `candidates`, ...) as the caller reads it:
    /// the fields `show` (each a name and a report path such as `current_stage.name`), one
    /// report run as the
    /// caller, so a field the caller may not read is masked (null) and a record they may not
    /// see is `None`. What the CLI's commands print after a change.
    pub fn read_as_caller(
        &self,
        store: &mut Store,
        access: &Access,
        subject: &str,
        id: &Id,
        show: &[(&str, &str)],
        at: Instant,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, AppError> {
        let items: Vec<String> = show
            .iter()
            .enumerate()
            .map(|(i, (_, path))| format!("{path} as c{i}"))
            .collect();
        // A text literal: an id holds no control character (`Id::parse`); quotes and
        // backslashes are escaped.
        let literal = id.as_str().replace('\\', "\\\\").replace('"', "\\\"");
        let text = format!(
            "report {subject}\nwhere id = \"{literal}\"\nshow {}\nlimit 2",
            items.join(", ")
        );
        let report = query_syntax::parse(&text).map_err(|d| AppError::Report(Box::new(d)))?;
        let run = self.run_report_as(store, access.clone(), &report, None, at)?;
        Ok(run.rows.rows.into_iter().next().map(|row| {
            show.iter()
                .zip(row)
                .map(|((name, _), value)| ((*name).to_owned(), value.to_json()))
                .collect()
        }))
    }
}

/// What kind of refusal a command's error is, for the edges' codes (the API's
/// `extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The input breaks a rule (`BAD_USER_INPUT`).
    Invalid,
    /// Nothing the caller may see (`NOT_FOUND`).
    NotFound,
    /// Seen, but not the caller's to change (`FORBIDDEN`).
    Forbidden,
    /// The stored state does not allow it (`CONFLICT`).
    Conflict,
    /// Longer than the statement timeout (`TIMEOUT`); nothing was changed.
    Timeout,
}

/// A command's refusal as every edge shows it: the kind, the input field (in the input's
/// names) and the message. The API and the CLI print the same message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub field: Option<String>,
    pub message: String,
}

impl AppError {
    /// The refusal this error is to the caller of a command, or `None` for a failure that is
    /// not the caller's (the edge reports it as internal, without its detail). A hidden entity
    /// is told as one that may not exist, without its org.
    pub fn refusal(&self) -> Option<Refusal> {
        let refusal = |kind, field: Option<&str>, message: String| Refusal {
            kind,
            field: field.map(str::to_owned),
            message,
        };
        Some(match self {
            AppError::NoSuchEntity { ty, id, .. } => refusal(
                RefusalKind::NotFound,
                None,
                format!("no {ty} `{id}` (or the caller may not see it)"),
            ),
            AppError::NoSuchInput { field, ty, id, .. } => {
                let field = crate::api_names::api_path(field);
                let message = format!("`{field}`: no {ty} `{id}` (or the caller may not see it)");
                refusal(RefusalKind::NotFound, Some(&field), message)
            }
            AppError::Forbidden { .. } => refusal(RefusalKind::Forbidden, None, self.to_string()),
            AppError::Invalid { field, message } => {
                refusal(RefusalKind::Invalid, Some(field), message.clone())
            }
            AppError::Conflict { field, message } => {
                refusal(RefusalKind::Conflict, Some(field), message.clone())
            }
            AppError::NotFound { field, message } => {
                refusal(RefusalKind::NotFound, Some(field), message.clone())
            }
            // A value the database refuses (PostgreSQL's data exceptions: a NUL in text, a
            // number or a date out of its range) came from the caller: their mistake, not the
            // server's (`INTERNAL` pages the on-call).
            AppError::Store(store::StoreError::BadValue(m)) => refusal(
                RefusalKind::Invalid,
                None,
                format!("a value given is not one the database takes ({m}); nothing was changed"),
            ),
            AppError::Store(store::StoreError::Timeout) => refusal(
                RefusalKind::Timeout,
                None,
                "the command ran longer than the server's statement timeout; nothing was changed"
                    .to_owned(),
            ),
            _ => return None,
        })
    }
}

/// The plan a booked loop keeps for its repairs: as given, without its `now` (a repair looks
/// forward from its own clock; a `now` kept would soon be refused as in the past).
pub(crate) fn plan_to_keep(mut plan: serde_json::Value) -> serde_json::Value {
    if let Some(obj) = plan.as_object_mut() {
        obj.remove("now");
    }
    plan
}

/// The interview that books session `s` of an option for application `app_id` in `stage`: its
/// seats as interviewers, its trainee as shadow or reverse shadow, titled with the session's
/// name. A person or an instant that does not parse is refused on `option`.
pub(crate) fn session_interview(
    app_id: &Id,
    stage: &Id,
    s: &scheduling::ScheduledSession,
    at: Instant,
) -> Result<store::NewInterview, AppError> {
    let bad_option = |message: String| AppError::invalid("option", message);
    let instant = |t: &str| {
        Instant::parse(t).map_err(|e| bad_option(format!("session `{}`: {e}", s.session)))
    };
    let mut interviewers = Vec::new();
    for person in s.seats.iter().flatten() {
        let user_id =
            Id::parse(person.clone()).map_err(|e| bad_option(format!("`{person}`: {e}")))?;
        interviewers.push(domain::entity::InterviewParticipant {
            user_id,
            role: domain::enums::InterviewerRole::Interviewer,
        });
    }
    if let Some(t) = &s.trainee {
        let role = match t.role {
            scheduling::TrainingStep::Shadow => domain::enums::InterviewerRole::Shadow,
            scheduling::TrainingStep::ReverseShadow => {
                domain::enums::InterviewerRole::ReverseShadow
            }
            scheduling::TrainingStep::Graduated => domain::enums::InterviewerRole::Interviewer,
        };
        let user_id =
            Id::parse(t.person.clone()).map_err(|e| bad_option(format!("`{}`: {e}", t.person)))?;
        interviewers.push(domain::entity::InterviewParticipant { user_id, role });
    }
    Ok(store::NewInterview {
        id: None,
        application_id: app_id.clone(),
        stage_id: stage.clone(),
        title: s.session.clone(),
        starts_at: instant(&s.start)?,
        ends_at: instant(&s.end)?,
        status: domain::enums::InterviewStatus::Scheduled,
        interviewers,
        booked_at: Some(at),
    })
}

/// A plan that does not make a request: refused on `plan`; the store's failure stays one.
pub(crate) fn plan_error(e: crate::scheduling::PlanError) -> AppError {
    match e {
        crate::scheduling::PlanError::Store(e) => AppError::Store(e),
        e => AppError::invalid("plan", e.to_string()),
    }
}
