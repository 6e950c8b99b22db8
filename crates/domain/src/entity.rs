//! The entities of an org, as validated values.
//!
//! Each struct mirrors one record of `hireplane-org/1` and serializes back to exactly that shape
//! (`serde::Serialize`), so the format writer needs no mapping of its own. They are built by the
//! format reader ([`crate::format`]) or by a store reading its rows back.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Id;
use crate::custom::CustomValues;
use crate::enums::*;
use crate::time::{Date, Instant, LocalTime, TimeZone};

/// The org (tenant) itself: `org.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Org {
    pub format: &'static str,
    pub id: Id,
    pub name: String,
    pub timezone: TimeZone,
    pub created_at: Instant,
}

/// The only format this version reads and writes.
pub const FORMAT: &str = "hireplane-org/1";

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Department {
    pub id: Id,
    pub name: String,
    pub parent_id: Option<Id>,
}

/// Working hours per weekday, local to the user's zone; a missing day is not a working day.
/// Intervals are sorted, non-empty and do not overlap.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkingHours(pub BTreeMap<Weekday, Vec<(LocalTime, LocalTime)>>);

impl Serialize for WorkingHours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (day, spans) in &self.0 {
            map.serialize_entry(day.as_str(), spans)?;
        }
        map.end()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct User {
    pub id: Id,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub department_ids: Vec<Id>,
    pub timezone: TimeZone,
    pub working_hours: WorkingHours,
    pub max_interviews_per_day: Option<u32>,
    pub max_interviews_per_week: Option<u32>,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Source {
    pub id: Id,
    pub name: String,
    pub kind: SourceKind,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HiringTeamMember {
    pub user_id: Id,
    pub role: HiringTeamRole,
}

/// A stage of a job's pipeline. Stage ids are unique across the org.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stage {
    pub id: Id,
    pub name: String,
    pub kind: StageKind,
    pub position: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Job {
    pub id: Id,
    pub title: String,
    pub department_id: Id,
    pub location: String,
    pub employment_type: EmploymentType,
    pub status: JobStatus,
    pub confidential: bool,
    pub opened_at: Instant,
    pub closed_at: Option<Instant>,
    pub headcount: u32,
    pub hiring_team: Vec<HiringTeamMember>,
    /// Ordered by `position`.
    pub stages: Vec<Stage>,
    pub custom_fields: CustomValues,
}

/// Voluntary self-identification (EEO). Highly sensitive: never shown at row level.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Demographics {
    pub gender: Option<String>,
    pub race_ethnicity: Option<String>,
    pub veteran_status: Option<String>,
    pub disability_status: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub id: Id,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<TimeZone>,
    pub created_at: Instant,
    pub tags: Vec<String>,
    pub custom_fields: CustomValues,
    pub demographics: Option<Demographics>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Application {
    pub id: Id,
    pub candidate_id: Id,
    pub job_id: Id,
    pub source_id: Option<Id>,
    pub credited_to_user_id: Option<Id>,
    pub applied_at: Instant,
    pub status: ApplicationStatus,
    pub current_stage_id: Id,
    pub hired_at: Option<Instant>,
    pub archived_at: Option<Instant>,
    pub archive_reason: Option<String>,
    pub custom_fields: CustomValues,
}

/// An entry into a pipeline stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageTransition {
    pub id: Id,
    pub application_id: Id,
    pub from_stage_id: Option<Id>,
    pub to_stage_id: Id,
    pub at: Instant,
    pub by_user_id: Option<Id>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InterviewParticipant {
    pub user_id: Id,
    pub role: InterviewerRole,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Interview {
    pub id: Id,
    pub application_id: Id,
    pub stage_id: Id,
    pub title: String,
    pub starts_at: Instant,
    pub ends_at: Instant,
    pub status: InterviewStatus,
    pub interviewers: Vec<InterviewParticipant>,
}

/// A scorecard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Feedback {
    pub id: Id,
    pub interview_id: Id,
    pub application_id: Id,
    pub author_id: Id,
    pub submitted_at: Instant,
    pub recommendation: Recommendation,
    /// attribute -> score 1..=4
    pub scores: BTreeMap<String, u8>,
    pub notes: Option<String>,
}

/// An amount of money. Written back as an integer when it has no fraction (`94000`), else as is.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Amount(pub f64);

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // 2^53: every integer below is exact in an f64.
        if self.0.fract() == 0.0 && self.0.abs() < 9_007_199_254_740_992.0 {
            #[allow(clippy::cast_possible_truncation)]
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Salary {
    pub amount: Amount,
    /// ISO 4217 code, three upper-case letters.
    pub currency: String,
    pub period: SalaryPeriod,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Offer {
    pub id: Id,
    pub application_id: Id,
    /// 1, 2, ... per application; the highest is the current offer.
    pub version: u32,
    pub created_at: Instant,
    pub status: OfferStatus,
    pub resolved_at: Option<Instant>,
    pub start_date: Option<Date>,
    pub salary: Option<Salary>,
    pub bonus: Option<Amount>,
    pub equity: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolMember {
    pub user_id: Id,
    pub status: PoolMemberStatus,
    pub shadows_completed: u32,
    pub reverse_shadows_completed: u32,
}

/// Who may run which interview, and who is training for it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InterviewerPool {
    pub id: Id,
    pub name: String,
    pub required_shadows: u32,
    pub required_reverse_shadows: u32,
    pub members: Vec<PoolMember>,
}

/// A time at which a user is busy. Busy blocks have no id in the format.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BusyBlock {
    pub user_id: Id,
    pub starts_at: Instant,
    pub ends_at: Instant,
}
