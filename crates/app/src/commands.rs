//! The one authorization path of every command (a mutation of the API, a scheduling call): a
//! [`Command`] names every stored entity it touches, and [`Services::authorize_command`] asks
//! the policy engine about each of them, with the facts of the entity and of everything it
//! references loaded from the store (an application's job and candidate, a stage's job, an
//! interview's application). What the caller may not see answers as what does not exist
//! ([`AppError::NoSuchEntity`], or [`AppError::NoSuchInput`] for an id given in a field, such as
//! a stage of a confidential job), so no refusal tells the name, or even the existence, of
//! anything hidden; what it sees but may not change is [`AppError::Forbidden`].
//!
//! | command | asks |
//! |---|---|
//! | `createCandidate` | with `jobId`: `edit` the job; without: `edit` a new candidate tied to no job |
//! | `updateCandidate` | `edit` the candidate (+ `viewContactDetails` when email or phone change) |
//! | `mergeCandidates` | `edit` and `viewContactDetails` of both candidates, and `edit` the org (admins by default) |
//! | `applyToJob` | `edit` the job, `view` the candidate |
//! | `moveApplication` | `edit` the application, `view` the target stage's job |
//! | `archiveApplication`, `unarchiveApplication`, `hireApplication` | `edit` the application |
//! | `scheduleInterview`, `bookInterviewLoop` | `edit` the application, `view` the stage's job |
//! | `schedulingOptions`, `repairInterviewLoop`, `interviewerBusyTime`, `interviewLoops` | `edit` the application |
//! | `applyInterviewLoopRepair` | `edit` the application, `view` the loop's stage's job, `edit` each interview it cancels |
//! | `cancelInterview`, `markInterview` | `edit` the interview |
//! | `submitFeedback` | `view` the interview, `edit` a new feedback by the caller |
//! | `updateFeedback` | `edit` the feedback (its author, by default) |
//! | `createOffer` | `edit` the application, and `edit` (+ `viewCompensation` with terms) of the new offer |
//! | `updateOffer` | `edit` the offer (+ `viewCompensation` when terms change) |
//! | `createJob` | `edit` the department (+ `manageHiringTeam` of the new job when confidential) |
//! | `updateJob` | `edit` the job (+ `manageHiringTeam` when the team or `confidential` change) |
//! | `addStage` | `edit` the job (+ `view` the job of `beforeStageId`) |
//! | `renameStage`, `removeStage` | `view` then `edit` the stage's job |
//! | `createCustomField`, `updateCustomField`, `setArchiveReasons` | `edit` the org |
//! | `setCustomFieldValue` | `edit` the record |
//! | `manageFlags` (set, import, read the installation's flags) | `edit` the caller's org (and, outside the policy, the admin role: `crate::flags`) |
//! | `manageAutomation` (save, delete, list, dry-run automation rules) | `edit` the caller's org |
//! | `managePolicy` (read, validate, set, reset the org's access policy) | `edit` the caller's org and the admin role |
//! | `inviteUser` (a link to choose a console password) | `edit` the caller's org and the admin role |
//! | `manageJobs` (the org's durable jobs) | `edit` the caller's org and the admin role |
//! | `updateUser` (a user's role, active or not) | `edit` the caller's org and the admin role |
//! | `readAuditLog` (the org's audit log) | `edit` the caller's org |

use policy::{Action, Fact};
use store::Store;

use crate::{Access, AppError, Request, Services};

/// A command as the policy engine needs it: what it is and the ids of what it touches (ids as
/// the caller gave them; each is checked against the store here).
#[derive(Debug, Clone, Copy)]
pub enum Command<'a> {
    /// A new candidate, applied at once to `job` when given.
    CreateCandidate {
        job: Option<&'a str>,
    },
    UpdateCandidate {
        candidate: &'a str,
        /// Whether the email or phone change.
        contact_details: bool,
    },
    ApplyToJob {
        candidate: &'a str,
        job: &'a str,
    },
    /// A duplicate `merge` merged into `keep`.
    MergeCandidates {
        keep: &'a str,
        merge: &'a str,
    },
    MoveApplication {
        application: &'a str,
        to_stage: &'a str,
    },
    ArchiveApplication {
        application: &'a str,
    },
    UnarchiveApplication {
        application: &'a str,
    },
    HireApplication {
        application: &'a str,
    },
    ScheduleInterview {
        application: &'a str,
        stage: &'a str,
    },
    CancelInterview {
        interview: &'a str,
    },
    /// Completed or no-show.
    MarkInterview {
        interview: &'a str,
    },
    /// A scorecard by the caller.
    SubmitFeedback {
        interview: &'a str,
    },
    UpdateFeedback {
        feedback: &'a str,
    },
    CreateOffer {
        application: &'a str,
        status: &'a str,
        /// Whether the new offer has terms (compensation).
        terms: bool,
    },
    UpdateOffer {
        offer: &'a str,
        terms: bool,
    },
    CreateJob {
        department: &'a str,
        status: &'a str,
        confidential: bool,
        team: &'a [domain::entity::HiringTeamMember],
    },
    UpdateJob {
        job: &'a str,
        confidential: Option<bool>,
        team: Option<&'a [domain::entity::HiringTeamMember]>,
    },
    AddStage {
        job: &'a str,
        before_stage: Option<&'a str>,
    },
    RenameStage {
        stage: &'a str,
    },
    RemoveStage {
        stage: &'a str,
    },
    CreateCustomField,
    UpdateCustomField,
    /// The org's list of archive reasons.
    SetArchiveReasons,
    SetCustomFieldValue {
        entity: domain::enums::CustomEntity,
        record: &'a str,
        /// The field is sensitive: writing it takes reading it too.
        sensitive: bool,
    },
    SchedulingOptions {
        application: &'a str,
    },
    BookInterviewLoop {
        application: &'a str,
        stage: &'a str,
    },
    RepairInterviewLoop {
        application: &'a str,
    },
    /// The busy time of interviewers, as one who schedules `application` may see it
    /// (`crate::scheduling`).
    BusyTime {
        application: &'a str,
    },
    /// The booked loops of `application` that can be repaired.
    InterviewLoops {
        application: &'a str,
    },
    /// Applying a repair to a loop of `application` booked in `stage` (the interviews it
    /// cancels are each asked about as [`Command::CancelInterview`] too).
    ApplyInterviewLoopRepair {
        application: &'a str,
        stage: &'a str,
    },
    /// Reading or changing the installation's feature flags (`crate::flags`).
    ManageFlags,
    /// Automation rules of the caller's org: save, delete, list, dry-run.
    ManageAutomation,
    /// Reading or changing the org's durable jobs (`crate::jobs`).
    ManageJobs,
    /// Inviting a user of the caller's org to the console (`crate::sessions`).
    InviteUser,
    /// Reading, validating, setting or resetting the org's access policy
    /// (`crate::policy_changes`).
    ManagePolicy,
    /// Reading the org's audit log (`crate::audit_log`).
    ReadAuditLog,
    /// Changing a user's role or whether they are active (`updateUser`).
    UpdateUser,
}

impl Command<'_> {
    /// The API's name of the command.
    pub fn name(&self) -> &'static str {
        match self {
            Command::CreateCandidate { .. } => "createCandidate",
            Command::UpdateCandidate { .. } => "updateCandidate",
            Command::ApplyToJob { .. } => "applyToJob",
            Command::MergeCandidates { .. } => "mergeCandidates",
            Command::MoveApplication { .. } => "moveApplication",
            Command::ArchiveApplication { .. } => "archiveApplication",
            Command::UnarchiveApplication { .. } => "unarchiveApplication",
            Command::HireApplication { .. } => "hireApplication",
            Command::ScheduleInterview { .. } => "scheduleInterview",
            Command::CancelInterview { .. } => "cancelInterview",
            Command::MarkInterview { .. } => "markInterview",
            Command::SubmitFeedback { .. } => "submitFeedback",
            Command::UpdateFeedback { .. } => "updateFeedback",
            Command::CreateOffer { .. } => "createOffer",
            Command::UpdateOffer { .. } => "updateOffer",
            Command::CreateJob { .. } => "createJob",
            Command::UpdateJob { .. } => "updateJob",
            Command::AddStage { .. } => "addStage",
            Command::RenameStage { .. } => "renameStage",
            Command::RemoveStage { .. } => "removeStage",
            Command::CreateCustomField => "createCustomField",
            Command::UpdateCustomField => "updateCustomField",
            Command::SetArchiveReasons => "setArchiveReasons",
            Command::SetCustomFieldValue { .. } => "setCustomFieldValue",
            Command::SchedulingOptions { .. } => "schedulingOptions",
            Command::BookInterviewLoop { .. } => "bookInterviewLoop",
            Command::RepairInterviewLoop { .. } => "repairInterviewLoop",
            Command::BusyTime { .. } => "interviewerBusyTime",
            Command::InterviewLoops { .. } => "interviewLoops",
            Command::ApplyInterviewLoopRepair { .. } => "applyInterviewLoopRepair",
            Command::ManageFlags => "manageFlags",
            Command::ManageAutomation => "manageAutomation",
            Command::ManageJobs => "manageJobs",
            Command::InviteUser => "inviteUser",
            Command::ManagePolicy => "managePolicy",
            Command::ReadAuditLog => "readAuditLog",
            Command::UpdateUser => "updateUser",
        }
    }
}

impl Services {
    /// Whether the caller may run `command`: every entity it touches is asked about (see the
    /// module's table), through [`Services::authorize`] and [`Services::authorize_new`]. The
    /// only authorization the edges (API, CLI) make before a command.
    pub fn authorize_command(
        &self,
        store: &mut Store,
        access: &Access,
        command: &Command<'_>,
        at: domain::Instant,
    ) -> Result<(), AppError> {
        match *command {
            Command::CreateCandidate { job: Some(job) } => {
                self.authorize(store, access, Action::Edit, "Job", job, at)
            }
            // A candidate tied to no job yet: the policy decides on it as it will be (no hiring
            // team, no interviewers, no job): admins only, by default.
            Command::CreateCandidate { job: None } => {
                let attrs = vec![
                    ("hiringTeam", Fact::Entities("User", Vec::new())),
                    ("interviewers", Fact::Entities("User", Vec::new())),
                    ("hasNonConfidentialJob", Fact::Bool(false)),
                ];
                self.authorize_new(store, access, Action::Edit, "Candidate", attrs, &[], at)
            }
            Command::UpdateCandidate {
                candidate,
                contact_details,
            } => {
                self.authorize(store, access, Action::Edit, "Candidate", candidate, at)?;
                if contact_details {
                    self.authorize(
                        store,
                        access,
                        Action::ViewContactDetails,
                        "Candidate",
                        candidate,
                        at,
                    )?;
                }
                Ok(())
            }
            Command::ApplyToJob { candidate, job } => {
                self.authorize(store, access, Action::Edit, "Job", job, at)?;
                self.authorize(store, access, Action::View, "Candidate", candidate, at)
            }
            // Merging moves applications, contact details and demographics between two
            // people's records and removes one: both must be the caller's to change and to
            // read in full, and it is an org-wide act (admins by default).
            Command::MergeCandidates { keep, merge } => {
                for candidate in [keep, merge] {
                    self.authorize(store, access, Action::Edit, "Candidate", candidate, at)?;
                    self.authorize(
                        store,
                        access,
                        Action::ViewContactDetails,
                        "Candidate",
                        candidate,
                        at,
                    )?;
                }
                self.authorize_own_org(store, access, Action::Edit, at)
            }
            Command::MoveApplication {
                application,
                to_stage,
            } => {
                self.authorize(store, access, Action::Edit, "Application", application, at)?;
                self.stage_of_visible_job(store, access, to_stage, "to_stage_id", at)
                    .map(drop)
            }
            Command::ArchiveApplication { application }
            | Command::UnarchiveApplication { application }
            | Command::HireApplication { application }
            | Command::SchedulingOptions { application }
            | Command::RepairInterviewLoop { application }
            | Command::BusyTime { application }
            | Command::InterviewLoops { application } => {
                self.authorize(store, access, Action::Edit, "Application", application, at)
            }
            Command::ScheduleInterview { application, stage }
            | Command::BookInterviewLoop { application, stage }
            | Command::ApplyInterviewLoopRepair { application, stage } => {
                self.authorize(store, access, Action::Edit, "Application", application, at)?;
                self.stage_of_visible_job(store, access, stage, "stage_id", at)
                    .map(drop)
            }
            Command::CancelInterview { interview } | Command::MarkInterview { interview } => {
                self.authorize(store, access, Action::Edit, "Interview", interview, at)
            }
            Command::SubmitFeedback { interview } => {
                self.authorize(store, access, Action::View, "Interview", interview, at)?;
                let org = access.viewer.org.clone();
                let application = store
                    .entity_facts(&org, "Interview", interview)?
                    .and_then(|found| {
                        found
                            .into_iter()
                            .find(|e| e.ty == "Interview")
                            .and_then(|e| {
                                e.attrs.into_iter().find_map(|(name, v)| match (name, v) {
                                    ("application", store::FactValue::Ref(_, id)) => Some(id),
                                    _ => None,
                                })
                            })
                    })
                    .unwrap_or_default();
                let attrs = vec![
                    ("application", Fact::Entity("Application", application)),
                    ("interview", Fact::Entity("Interview", interview.to_owned())),
                    ("author", Fact::Entity("User", access.viewer.user.clone())),
                ];
                self.authorize_new(
                    store,
                    access,
                    Action::Edit,
                    "Feedback",
                    attrs,
                    &[("Interview", interview)],
                    at,
                )
            }
            Command::UpdateFeedback { feedback } => {
                self.authorize(store, access, Action::Edit, "Feedback", feedback, at)
            }
            Command::CreateOffer {
                application,
                status,
                terms,
            } => {
                self.authorize(store, access, Action::Edit, "Application", application, at)?;
                let attrs = vec![
                    (
                        "application",
                        Fact::Entity("Application", application.to_owned()),
                    ),
                    ("status", Fact::Text(status.to_owned())),
                ];
                let parents = [("Application", application)];
                self.authorize_new(
                    store,
                    access,
                    Action::Edit,
                    "Offer",
                    attrs.clone(),
                    &parents,
                    at,
                )?;
                if terms {
                    self.authorize_new(
                        store,
                        access,
                        Action::ViewCompensation,
                        "Offer",
                        attrs,
                        &parents,
                        at,
                    )?;
                }
                Ok(())
            }
            Command::UpdateOffer { offer, terms } => {
                self.authorize(store, access, Action::Edit, "Offer", offer, at)?;
                if terms {
                    self.authorize(store, access, Action::ViewCompensation, "Offer", offer, at)?;
                }
                Ok(())
            }
            Command::CreateJob {
                department,
                status,
                confidential,
                team,
            } => {
                self.authorize(store, access, Action::Edit, "Department", department, at)?;
                // A confidential job is seen by admins and its hiring team only: the caller must
                // be allowed to manage the team of the job as it will be (by default: an admin,
                // or a recruiter or hiring manager who is on the team given), so that a
                // recruiter who may create jobs cannot create one they lose sight of at once.
                if confidential {
                    let team = team.iter().map(|m| m.user_id.to_string()).collect();
                    let attrs = vec![
                        ("status", Fact::Text(status.to_owned())),
                        ("confidential", Fact::Bool(true)),
                        (
                            "department",
                            Fact::Entity("Department", department.to_owned()),
                        ),
                        ("hiringTeam", Fact::Entities("User", team)),
                        // A new job has no interviews yet.
                        ("interviewers", Fact::Entities("User", Vec::new())),
                    ];
                    self.authorize_new(
                        store,
                        access,
                        Action::ManageHiringTeam,
                        "Job",
                        attrs,
                        &[("Department", department)],
                        at,
                    )?;
                }
                Ok(())
            }
            Command::UpdateJob {
                job,
                confidential,
                team,
            } => {
                self.authorize(store, access, Action::Edit, "Job", job, at)?;
                // Who is on the team and whether the job is confidential decide who sees it and
                // its offers' pay: changing them takes `manageHiringTeam` too.
                if changes_team_or_confidentiality(
                    store,
                    &access.viewer.org,
                    job,
                    confidential,
                    team,
                )? {
                    self.authorize(store, access, Action::ManageHiringTeam, "Job", job, at)?;
                }
                Ok(())
            }
            Command::AddStage { job, before_stage } => {
                self.authorize(store, access, Action::Edit, "Job", job, at)?;
                if let Some(before) = before_stage {
                    self.stage_of_visible_job(store, access, before, "before_stage_id", at)?;
                }
                Ok(())
            }
            Command::RenameStage { stage } | Command::RemoveStage { stage } => {
                let job = self.stage_of_visible_job(store, access, stage, "stage_id", at)?;
                self.authorize(store, access, Action::Edit, "Job", &job, at)
            }
            Command::CreateCustomField
            | Command::UpdateCustomField
            | Command::SetArchiveReasons
            | Command::ManageFlags
            | Command::ReadAuditLog => self.authorize_own_org(store, access, Action::Edit, at),
            // What gives power over every other user of the org needs the admin role besides
            // `edit` on the org, which an org's own policy may grant more widely: the access
            // policy (it decides what everyone sees), invitations (a link lets its holder act as
            // the user), durable jobs (their payloads and errors hold any of the org's data),
            // users' roles, and automation rules (a rule acts and reads as its owner, any user
            // of the org: its condition and messages see what the owner sees).
            Command::ManagePolicy
            | Command::InviteUser
            | Command::ManageJobs
            | Command::UpdateUser
            | Command::ManageAutomation => {
                self.authorize_own_org(store, access, Action::Edit, at)?;
                if access.user.role == "admin" {
                    return Ok(());
                }
                let org = &access.viewer.org;
                let subject = match command {
                    Command::ManagePolicy => format!(
                        "the access policy of org `{org}` (admins only: it decides what every user sees)"
                    ),
                    Command::InviteUser => format!(
                        "users of org `{org}` (admins only: an invitation lets its holder act as the user)"
                    ),
                    Command::UpdateUser => format!(
                        "users of org `{org}` (admins only: a role decides what its holder sees)"
                    ),
                    Command::ManageAutomation => format!(
                        "the automation rules of org `{org}` (admins only: a rule acts and reads as its owner, any user of the org)"
                    ),
                    _ => format!(
                        "the jobs of org `{org}` (admins only: a job's payload and errors hold any of the org's data)"
                    ),
                };
                Err(AppError::Forbidden {
                    user: access.viewer.user.clone(),
                    action: command.name().to_owned(),
                    subject,
                })
            }
            Command::SetCustomFieldValue {
                entity,
                record,
                sensitive,
            } => {
                let ty = match entity {
                    domain::enums::CustomEntity::Candidate => "Candidate",
                    domain::enums::CustomEntity::Application => "Application",
                    domain::enums::CustomEntity::Job => "Job",
                };
                self.authorize(store, access, Action::Edit, ty, record, at)?;
                // As `updateCandidate` asks `viewContactDetails` for an email: a value one may
                // not read is not one's to overwrite.
                if sensitive {
                    self.authorize(
                        store,
                        access,
                        Action::ViewSensitiveCustomFields,
                        ty,
                        record,
                        at,
                    )?;
                }
                Ok(())
            }
        }
    }

    /// The job of `stage` when the org has the stage and the caller may see its job; otherwise
    /// [`AppError::NoSuchInput`] naming `field`, the same whether the stage does not exist or
    /// belongs to a job hidden from the caller (a confidential one), which is not named.
    fn stage_of_visible_job(
        &self,
        store: &mut Store,
        access: &Access,
        stage: &str,
        field: &str,
        at: domain::Instant,
    ) -> Result<String, AppError> {
        let absent = || AppError::NoSuchInput {
            org: access.viewer.org.clone(),
            field: field.to_owned(),
            ty: "stage".to_owned(),
            id: stage.to_owned(),
        };
        let Some(job) = store.stage_job(&access.viewer.org, stage)? else {
            return Err(absent());
        };
        match self.authorize(store, access, Action::View, "Job", job.as_str(), at) {
            Ok(()) => Ok(job.to_string()),
            Err(AppError::NoSuchEntity { .. }) => Err(absent()),
            Err(e) => Err(e),
        }
    }

    /// `action` on the caller's own org: [`AppError::Forbidden`] when denied (never
    /// `NoSuchEntity`: the caller knows their org exists, though only admins may `view` the
    /// org entity by default).
    fn authorize_own_org(
        &self,
        store: &mut Store,
        access: &Access,
        action: Action,
        at: domain::Instant,
    ) -> Result<(), AppError> {
        let org = access.viewer.org.clone();
        let request = Request {
            action,
            resource_type: "Org",
            resource_id: &org,
        };
        if self.decide_entity(store, access, request, at)?.allowed {
            return Ok(());
        }
        Err(AppError::Forbidden {
            user: access.viewer.user.clone(),
            action: action.name().to_owned(),
            subject: format!("Org `{org}`"),
        })
    }
}

/// Whether an update of `job` changes its hiring team (as a set of members with their roles)
/// or its `confidential`; giving them as they are changes nothing.
fn changes_team_or_confidentiality(
    store: &mut Store,
    org: &str,
    job: &str,
    confidential: Option<bool>,
    team: Option<&[domain::entity::HiringTeamMember]>,
) -> Result<bool, AppError> {
    if team.is_none() && confidential.is_none() {
        return Ok(false);
    }
    let Some(stored) = store.job(org, job)? else {
        // Gone since it was authorized: the store command says so.
        return Ok(false);
    };
    let members = |team: &[domain::entity::HiringTeamMember]| {
        team.iter()
            .map(|m| (m.user_id.to_string(), m.role.as_str()))
            .collect::<std::collections::BTreeSet<_>>()
    };
    let team_changes = team.is_some_and(|team| members(team) != members(&stored.hiring_team));
    let confidential_changes = confidential.is_some_and(|c| c != stored.confidential);
    Ok(team_changes || confidential_changes)
}
