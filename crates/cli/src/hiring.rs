//! The hiring workflow's commands a person runs by hand: `hireplane candidate create`,
//! `application move|archive|unarchive|hire`, `interview schedule|cancel|mark`, `feedback submit`,
//! `offer create`, each `--as USER`. A thin edge: the flags mirror the API's input names
//! (`applicationId` → `--application-id`), each command calls the same `app::hiring` function
//! as the API's mutation (validation, the one authorization path, one store transaction), and
//! a refusal prints the API's message (`error: ` before it, exit status 1). On success it
//! prints the changed record as the caller reads it (masked fields are null), as one JSON line.

use anyhow::{Context, Result, anyhow};
use app::hiring;
use domain::{Id, Instant};
use store::Store;

/// Who runs the command, and in which org.
#[derive(clap::Args, Debug)]
pub struct Caller {
    /// The user the command runs as: their org's policies decide what they may do
    #[arg(long = "as", env = "HIREPLANE_AS", value_name = "USER_ID")]
    pub as_user: String,
    /// The org (default: the only org in the store)
    #[arg(long = "org", value_name = "ID")]
    pub org: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum CandidateCommand {
    /// Add a candidate (`createCandidate`); with --job-id also applied to that job
    Create {
        #[command(flatten)]
        caller: Caller,
        /// The candidate's full name
        #[arg(long)]
        name: String,
        /// Contact email
        #[arg(long)]
        email: Option<String>,
        /// Contact phone number
        #[arg(long)]
        phone: Option<String>,
        /// Where the candidate lives or wants to work
        #[arg(long)]
        location: Option<String>,
        /// IANA time zone, e.g. Europe/Berlin
        #[arg(long)]
        timezone: Option<String>,
        /// A free-form label (repeatable)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Custom field values, a JSON object of key → value
        #[arg(long, value_name = "JSON")]
        custom_fields: Option<String>,
        /// Apply the new candidate to this job at once
        #[arg(long, value_name = "ID")]
        job_id: Option<String>,
        /// With --job-id: where the application came from
        #[arg(long, value_name = "ID")]
        source_id: Option<String>,
    },
    /// Merge a duplicate candidate into the one kept (`mergeCandidates`; admins by default)
    Merge {
        #[command(flatten)]
        caller: Caller,
        /// The candidate kept (`keep`): its id, applications and details stay
        #[arg(value_name = "KEEP")]
        keep: String,
        /// The duplicate (`merge`): its applications move to KEEP, then it is removed
        #[arg(value_name = "MERGE")]
        merge: String,
    },
    /// List candidates that share an email, regardless of case (`duplicateCandidates`), one
    /// JSON line per group: only those the caller may see with their email
    Duplicates {
        #[command(flatten)]
        caller: Caller,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum ApplicationCommand {
    /// Move an active application to another stage of its job (`moveApplication`)
    Move {
        #[command(flatten)]
        caller: Caller,
        /// The application (`applicationId`)
        #[arg(long, value_name = "ID")]
        application_id: String,
        /// The stage of its job to move it to (`toStageId`)
        #[arg(long, value_name = "ID")]
        to_stage_id: String,
    },
    /// Archive an active application with a reason (`archiveApplication`)
    Archive {
        #[command(flatten)]
        caller: Caller,
        /// The application (`applicationId`)
        #[arg(long, value_name = "ID")]
        application_id: String,
        /// Why: one of the org's archive reasons (`archiveReasons`), in any case
        #[arg(long)]
        reason: String,
    },
    /// Bring an archived application back (`unarchiveApplication`)
    Unarchive {
        #[command(flatten)]
        caller: Caller,
        /// The application (`applicationId`)
        #[arg(long, value_name = "ID")]
        application_id: String,
    },
    /// Hire (`hireApplication`): needs the latest offer accepted; cancels interviews ahead
    Hire {
        #[command(flatten)]
        caller: Caller,
        /// The application (`applicationId`)
        #[arg(long, value_name = "ID")]
        application_id: String,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum InterviewCommand {
    /// Book one interview of an application (`scheduleInterview`)
    Schedule {
        #[command(flatten)]
        caller: Caller,
        /// The application (`applicationId`)
        #[arg(long, value_name = "ID")]
        application_id: String,
        /// The stage of the application's job the interview is for (`stageId`)
        #[arg(long, value_name = "ID")]
        stage_id: String,
        /// What the interview is, e.g. `Onsite`
        #[arg(long)]
        title: String,
        /// RFC 3339 instant, e.g. 2026-12-08T09:00:00Z
        #[arg(long, value_name = "INSTANT")]
        starts_at: String,
        /// When it ends, after --starts-at
        #[arg(long, value_name = "INSTANT")]
        ends_at: String,
        /// `scheduled` (default) or `completed` (one that took place)
        #[arg(long)]
        status: Option<String>,
        /// A participant, `USER_ID` or `USER_ID:ROLE` (role: interviewer (default), shadow,
        /// reverse_shadow); repeatable, at least one
        #[arg(long = "participant", value_name = "USER_ID[:ROLE]", required = true)]
        participants: Vec<String>,
    },
    /// Record what became of an interview (`markInterview`): completed or no_show
    Mark {
        #[command(flatten)]
        caller: Caller,
        /// The interview (`interviewId`)
        #[arg(long, value_name = "ID")]
        interview_id: String,
        /// `completed` (once it has ended) or `no_show` (once it has started)
        #[arg(long)]
        status: String,
    },
    /// Cancel a scheduled interview (`cancelInterview`)
    Cancel {
        #[command(flatten)]
        caller: Caller,
        /// The interview (`interviewId`)
        #[arg(long, value_name = "ID")]
        interview_id: String,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum FeedbackCommand {
    /// Submit the caller's scorecard for an interview (`submitFeedback`)
    Submit {
        #[command(flatten)]
        caller: Caller,
        /// The interview (`interviewId`)
        #[arg(long, value_name = "ID")]
        interview_id: String,
        /// The caller's recommendation: strong_yes, yes, no or strong_no
        #[arg(long)]
        recommendation: String,
        /// A score, `ATTRIBUTE=1..4` (repeatable)
        #[arg(long = "score", value_name = "ATTRIBUTE=N")]
        scores: Vec<String>,
        /// Free-text notes
        #[arg(long)]
        notes: Option<String>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum OfferCommand {
    /// Make a new offer version for an application (`createOffer`)
    Create {
        #[command(flatten)]
        caller: Caller,
        /// The application (`applicationId`)
        #[arg(long, value_name = "ID")]
        application_id: String,
        /// The new offer's status (default draft)
        #[arg(long)]
        status: Option<String>,
        /// Terms: the proposed first day, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        start_date: Option<String>,
        /// Terms: the base salary per --salary-period, in --salary-currency
        #[arg(long)]
        salary: Option<f64>,
        /// Terms: ISO 4217 code of the salary
        #[arg(long, value_name = "CODE")]
        salary_currency: Option<String>,
        /// Terms: `year` (default) or `hour`
        #[arg(long)]
        salary_period: Option<String>,
        /// Terms: a bonus in --salary-currency
        #[arg(long)]
        bonus: Option<f64>,
        /// Terms: equity, free text
        #[arg(long)]
        equity: Option<String>,
    },
}

/// A command that prints what it changed, read back as the caller.
struct Ran {
    subject: &'static str,
    id: Id,
    show: &'static [(&'static str, &'static str)],
}

const APPLICATION: &[(&str, &str)] = &[
    ("id", "id"),
    ("status", "status"),
    ("stage", "current_stage.name"),
    ("candidate", "candidate.id"),
    ("job", "job.id"),
    ("archiveReason", "archive_reason"),
];
const CANDIDATE: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("email", "email"),
    ("phone", "phone"),
];
const INTERVIEW: &[(&str, &str)] = &[
    ("id", "id"),
    ("title", "title"),
    ("status", "status"),
    ("startsAt", "starts_at"),
    ("endsAt", "ends_at"),
    ("application", "application.id"),
];
const FEEDBACK: &[(&str, &str)] = &[
    ("id", "id"),
    ("recommendation", "recommendation"),
    ("interview", "interview.id"),
];
const OFFER: &[(&str, &str)] = &[
    ("id", "id"),
    ("status", "status"),
    ("version", "version"),
    ("application", "application.id"),
];

/// Runs `command` as the caller, then prints the changed record as they read it.
fn run_as(
    store: &mut Store,
    caller: &Caller,
    command: impl FnOnce(
        &app::Services,
        &mut Store,
        &app::Access,
        Instant,
    ) -> Result<Ran, app::AppError>,
) -> Result<()> {
    let org = crate::report::pick_org(store, caller.org.clone())?;
    let services = app::Services::new();
    let access = services
        .access(store, &org, &caller.as_user)
        .with_context(|| format!("cannot run the command as `{}`", caller.as_user))?;
    let at = Instant::from_timestamp(jiff::Timestamp::now());
    let ran = command(&services, store, &access, at).map_err(refused)?;
    let record = services
        .read_as_caller(store, &access, ran.subject, &ran.id, ran.show, at)
        .context("cannot read the changed record back")?;
    let line = match record {
        Some(fields) => serde_json::Value::Object(fields),
        // Changed, but no longer visible to the caller (e.g. a job made confidential).
        None => serde_json::json!({ "id": ran.id.as_str() }),
    };
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
    Ok(())
}

/// A command's error as the API says it: the refusal's message alone (`error: ` comes before
/// it); a failure that is not a refusal keeps its detail (this is the operator's own tool).
pub fn refused(e: app::AppError) -> anyhow::Error {
    match e.refusal() {
        Some(r) => anyhow!(r.message),
        None => anyhow::Error::new(e),
    }
}

/// An id given for the input `field`, refused as the API refuses it.
fn id(field: &str, text: &str) -> Result<Id, app::AppError> {
    Id::parse(text.to_owned())
        .map_err(|e| app::AppError::invalid(field, format!("`{field}`: `{text}`: {e}")))
}

fn opt_id(field: &str, text: Option<&String>) -> Result<Option<Id>, app::AppError> {
    text.map(|t| id(field, t)).transpose()
}

fn instant(field: &str, text: &str) -> Result<Instant, app::AppError> {
    Instant::parse(text).map_err(|e| app::AppError::invalid(field, format!("`{field}`: {e}")))
}

fn enum_of<T>(
    field: &str,
    text: Option<&String>,
    parse: impl Fn(&str) -> Result<T, domain::enums::EnumError>,
) -> Result<Option<T>, app::AppError> {
    text.map(|t| parse(t).map_err(|e| app::AppError::invalid(field, format!("`{field}`: {e}"))))
        .transpose()
}

pub fn candidate(store: &mut Store, command: CandidateCommand) -> Result<()> {
    match command {
        CandidateCommand::Merge {
            caller,
            keep,
            merge,
        } => run_as(store, &caller, |services, store, access, at| {
            let input = hiring::MergeCandidates {
                keep: id("keep", &keep)?,
                merge: id("merge", &merge)?,
            };
            Ok(Ran {
                subject: "candidates",
                id: services.merge_candidates(store, access, input, at)?,
                show: CANDIDATE,
            })
        }),
        CandidateCommand::Duplicates { caller } => duplicates(store, &caller),
        create @ CandidateCommand::Create { .. } => create_candidate(store, create),
    }
}

fn create_candidate(store: &mut Store, command: CandidateCommand) -> Result<()> {
    let CandidateCommand::Create {
        caller,
        name,
        email,
        phone,
        location,
        timezone,
        tags,
        custom_fields,
        job_id,
        source_id,
    } = command
    else {
        return Ok(());
    };
    run_as(store, &caller, |services, store, access, at| {
        let timezone = timezone
            .map(|z| {
                domain::TimeZone::parse(&z)
                    .map_err(|e| app::AppError::invalid("timezone", format!("`timezone`: {e}")))
            })
            .transpose()?;
        let custom_fields = match custom_fields {
            None => serde_json::Map::new(),
            Some(text) => match serde_json::from_str(&text) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => {
                    return Err(app::AppError::invalid(
                        "customFields",
                        "`customFields` must be an object of custom field keys and values",
                    ));
                }
            },
        };
        let input = hiring::CreateCandidate {
            name,
            email,
            phone,
            location,
            timezone,
            tags,
            custom_fields,
            job_id: opt_id("jobId", job_id.as_ref())?,
            source_id: opt_id("sourceId", source_id.as_ref())?,
        };
        Ok(Ran {
            subject: "candidates",
            id: services.create_candidate(store, access, input, at)?,
            show: CANDIDATE,
        })
    })
}

/// `candidate duplicates`: one JSON line per group of candidates sharing an email.
fn duplicates(store: &mut Store, caller: &Caller) -> Result<()> {
    let org = crate::report::pick_org(store, caller.org.clone())?;
    let services = app::Services::new();
    let access = services
        .access(store, &org, &caller.as_user)
        .with_context(|| format!("cannot run the command as `{}`", caller.as_user))?;
    let at = Instant::from_timestamp(jiff::Timestamp::now());
    let groups = services
        .duplicate_candidates(store, &access, at)
        .map_err(refused)?;
    let mut out = std::io::stdout().lock();
    for g in groups {
        let line = serde_json::json!({"email": g.email, "candidateIds": g.candidate_ids});
        std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
    }
    Ok(())
}

pub fn application(store: &mut Store, command: ApplicationCommand) -> Result<()> {
    match command {
        ApplicationCommand::Move {
            caller,
            application_id,
            to_stage_id,
        } => run_as(store, &caller, |services, store, access, at| {
            let input = hiring::MoveApplication {
                application_id: id("applicationId", &application_id)?,
                to_stage_id: id("toStageId", &to_stage_id)?,
            };
            Ok(Ran {
                subject: "applications",
                id: services.move_application(store, access, input, at)?,
                show: APPLICATION,
            })
        }),
        ApplicationCommand::Archive {
            caller,
            application_id,
            reason,
        } => run_as(store, &caller, |services, store, access, at| {
            let input = hiring::ArchiveApplication {
                application_id: id("applicationId", &application_id)?,
                reason,
            };
            Ok(Ran {
                subject: "applications",
                id: services.archive_application(store, access, input, at)?,
                show: APPLICATION,
            })
        }),
        ApplicationCommand::Unarchive {
            caller,
            application_id,
        } => run_as(store, &caller, |services, store, access, at| {
            let input = hiring::UnarchiveApplication {
                application_id: id("applicationId", &application_id)?,
            };
            Ok(Ran {
                subject: "applications",
                id: services.unarchive_application(store, access, input, at)?,
                show: APPLICATION,
            })
        }),
        ApplicationCommand::Hire {
            caller,
            application_id,
        } => run_as(store, &caller, |services, store, access, at| {
            let input = hiring::HireApplication {
                application_id: id("applicationId", &application_id)?,
            };
            Ok(Ran {
                subject: "applications",
                id: services.hire_application(store, access, input, at)?,
                show: APPLICATION,
            })
        }),
    }
}

pub fn interview(store: &mut Store, command: InterviewCommand) -> Result<()> {
    match command {
        InterviewCommand::Schedule {
            caller,
            application_id,
            stage_id,
            title,
            starts_at,
            ends_at,
            status,
            participants,
        } => run_as(store, &caller, |services, store, access, at| {
            let mut seats = Vec::new();
            for (n, p) in participants.iter().enumerate() {
                let (user, role) = match p.split_once(':') {
                    Some((user, role)) => (user, Some(role.to_owned())),
                    None => (p.as_str(), None),
                };
                let field = format!("interviewParticipants[{n}]");
                seats.push(domain::entity::InterviewParticipant {
                    user_id: id(&format!("{field}.userId"), user)?,
                    role: enum_of(
                        &format!("{field}.role"),
                        role.as_ref(),
                        domain::enums::InterviewerRole::parse,
                    )?
                    .unwrap_or(domain::enums::InterviewerRole::Interviewer),
                });
            }
            let input = hiring::ScheduleInterview {
                application_id: id("applicationId", &application_id)?,
                stage_id: id("stageId", &stage_id)?,
                title,
                starts_at: instant("startsAt", &starts_at)?,
                ends_at: instant("endsAt", &ends_at)?,
                status: enum_of(
                    "status",
                    status.as_ref(),
                    domain::enums::InterviewStatus::parse,
                )?
                .unwrap_or(domain::enums::InterviewStatus::Scheduled),
                interview_participants: seats,
            };
            Ok(Ran {
                subject: "interviews",
                id: services.schedule_interview(store, access, input, at)?,
                show: INTERVIEW,
            })
        }),
        InterviewCommand::Mark {
            caller,
            interview_id,
            status,
        } => run_as(store, &caller, |services, store, access, at| {
            let input = hiring::MarkInterview {
                interview_id: id("interviewId", &interview_id)?,
                status: enum_of(
                    "status",
                    Some(&status),
                    domain::enums::InterviewStatus::parse,
                )?
                .ok_or_else(|| app::AppError::invalid("status", "`status` is required"))?,
            };
            Ok(Ran {
                subject: "interviews",
                id: services.mark_interview(store, access, input, at)?,
                show: INTERVIEW,
            })
        }),
        InterviewCommand::Cancel {
            caller,
            interview_id,
        } => run_as(store, &caller, |services, store, access, at| {
            let input = hiring::CancelInterview {
                interview_id: id("interviewId", &interview_id)?,
            };
            Ok(Ran {
                subject: "interviews",
                id: services.cancel_interview(store, access, input, at)?,
                show: INTERVIEW,
            })
        }),
    }
}

pub fn feedback(store: &mut Store, command: FeedbackCommand) -> Result<()> {
    let FeedbackCommand::Submit {
        caller,
        interview_id,
        recommendation,
        scores,
        notes,
    } = command;
    run_as(store, &caller, |services, store, access, at| {
        // `ATTRIBUTE=N` as the API's JSON object: the command checks the numbers.
        let mut map = serde_json::Map::new();
        for s in &scores {
            let (key, n) = s.split_once('=').unwrap_or((s.as_str(), ""));
            let value = n
                .trim()
                .parse::<u64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| serde_json::Value::from(n));
            map.insert(key.to_owned(), value);
        }
        let input = hiring::SubmitFeedback {
            interview_id: id("interviewId", &interview_id)?,
            recommendation: enum_of(
                "recommendation",
                Some(&recommendation),
                domain::enums::Recommendation::parse,
            )?
            .ok_or_else(|| {
                app::AppError::invalid("recommendation", "`recommendation` is required")
            })?,
            scores: (!map.is_empty()).then_some(serde_json::Value::Object(map)),
            notes,
        };
        Ok(Ran {
            subject: "feedback",
            id: services.submit_feedback(store, access, input, at)?,
            show: FEEDBACK,
        })
    })
}

pub fn offer(store: &mut Store, command: OfferCommand) -> Result<()> {
    let OfferCommand::Create {
        caller,
        application_id,
        status,
        start_date,
        salary,
        salary_currency,
        salary_period,
        bonus,
        equity,
    } = command;
    run_as(store, &caller, |services, store, access, at| {
        let start_date = start_date
            .map(|d| {
                domain::Date::parse(&d).map_err(|e| {
                    app::AppError::invalid("terms.startDate", format!("`terms.startDate`: {e}"))
                })
            })
            .transpose()?;
        let given = start_date.is_some()
            || salary.is_some()
            || salary_currency.is_some()
            || salary_period.is_some()
            || bonus.is_some()
            || equity.is_some();
        let terms = hiring::OfferTerms {
            start_date,
            salary,
            salary_period: enum_of(
                "terms.salaryPeriod",
                salary_period.as_ref(),
                domain::enums::SalaryPeriod::parse,
            )?,
            salary_currency,
            bonus,
            equity,
        };
        let input = hiring::CreateOffer {
            application_id: id("applicationId", &application_id)?,
            status: enum_of("status", status.as_ref(), domain::enums::OfferStatus::parse)?
                .unwrap_or(domain::enums::OfferStatus::Draft),
            terms: given.then_some(terms),
        };
        Ok(Ran {
            subject: "offers",
            id: services.create_offer(store, access, input, at)?,
            show: OFFER,
        })
    })
}
