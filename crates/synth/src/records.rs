//! The rows of `hireplane-org/1`, as the generator writes them.
//!
//! These structs mirror `spec/org-format.md` field by field (names, order, nullability) and
//! borrow wherever they can so that writing a row allocates little. They are write-only:
//! reading the format is the `domain` crate's business, and this crate deliberately does not
//! depend on it, so the generator doubles as an independent check of the reader.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::time::{Day, Ts};

/// An id of the shape `{org}_{kind}_{n}`, printed without allocating.
#[derive(Clone, Copy)]
pub struct Id<'a> {
    pub org: &'a str,
    pub kind: &'static str,
    pub n: u64,
}

impl Serialize for Id<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}_{}_{}", self.org, self.kind, self.n))
    }
}

/// Id constructors for one org.
#[derive(Clone, Copy)]
pub struct Ids<'a> {
    pub org: &'a str,
}

impl<'a> Ids<'a> {
    fn id(self, kind: &'static str, index: usize) -> Id<'a> {
        Id {
            org: self.org,
            kind,
            n: index as u64 + 1,
        }
    }
    pub fn department(self, index: usize) -> Id<'a> {
        self.id("dep", index)
    }
    pub fn user(self, index: usize) -> Id<'a> {
        self.id("usr", index)
    }
    pub fn source(self, index: usize) -> Id<'a> {
        self.id("src", index)
    }
    pub fn custom_field(self, index: usize) -> Id<'a> {
        self.id("cf", index)
    }
    pub fn job(self, index: usize) -> Id<'a> {
        self.id("job", index)
    }
    pub fn pool(self, index: usize) -> Id<'a> {
        self.id("pool", index)
    }
    pub fn candidate(self, index: u64) -> Id<'a> {
        Id {
            org: self.org,
            kind: "cand",
            n: index + 1,
        }
    }
    pub fn application(self, index: u64) -> Id<'a> {
        Id {
            org: self.org,
            kind: "app",
            n: index + 1,
        }
    }
    pub fn transition(self, index: u64) -> Id<'a> {
        Id {
            org: self.org,
            kind: "tr",
            n: index + 1,
        }
    }
    pub fn interview(self, index: u64) -> Id<'a> {
        Id {
            org: self.org,
            kind: "iv",
            n: index + 1,
        }
    }
    pub fn feedback(self, index: u64) -> Id<'a> {
        Id {
            org: self.org,
            kind: "fb",
            n: index + 1,
        }
    }
    pub fn offer(self, index: u64) -> Id<'a> {
        Id {
            org: self.org,
            kind: "off",
            n: index + 1,
        }
    }
}

#[derive(Serialize)]
pub struct OrgRec<'a> {
    pub format: &'static str,
    pub id: &'a str,
    pub name: &'a str,
    pub timezone: &'a str,
    pub created_at: Ts,
}

#[derive(Serialize)]
pub struct DepartmentRec<'a> {
    pub id: Id<'a>,
    pub name: &'a str,
    pub parent_id: Option<Id<'a>>,
}

/// Minutes since local midnight, printed `HH:MM`.
#[derive(Clone, Copy)]
pub struct Hm(pub u32);

impl Serialize for Hm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:02}:{:02}", self.0 / 60, self.0 % 60))
    }
}

/// Working intervals (start, end minutes) per weekday, Monday first.
pub type Week = [Vec<(u32, u32)>; 7];

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Working hours as `{"mon": [["09:00","17:00"]], ...}`, days without hours left out.
pub struct WorkingHours<'a>(pub &'a Week);

impl Serialize for WorkingHours<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (day, intervals) in WEEKDAYS.iter().zip(self.0.iter()) {
            if !intervals.is_empty() {
                let pairs: Vec<[Hm; 2]> = intervals.iter().map(|(a, b)| [Hm(*a), Hm(*b)]).collect();
                map.serialize_entry(day, &pairs)?;
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
pub struct UserRec<'a> {
    pub id: Id<'a>,
    pub name: &'a str,
    pub email: &'a str,
    pub role: &'static str,
    pub department_ids: Vec<Id<'a>>,
    pub timezone: &'a str,
    pub working_hours: WorkingHours<'a>,
    pub max_interviews_per_day: Option<u32>,
    pub max_interviews_per_week: Option<u32>,
    pub active: bool,
}

#[derive(Serialize)]
pub struct SourceRec<'a> {
    pub id: Id<'a>,
    pub name: &'a str,
    pub kind: &'a str,
}

#[derive(Serialize)]
pub struct CustomFieldRec<'a> {
    pub id: Id<'a>,
    pub entity: &'static str,
    pub key: &'static str,
    pub label: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub options: &'static [&'static str],
    pub sensitive: bool,
}

/// A custom field value; serialises as the bare JSON value.
pub enum Value {
    Text(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    Date(Day),
    Select(&'static str),
    Multi(Vec<&'static str>),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(s) => serializer.serialize_str(s),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Number(f) => serializer.serialize_f64(*f),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Date(d) => d.serialize(serializer),
            Value::Select(s) => serializer.serialize_str(s),
            Value::Multi(v) => {
                let mut seq = serializer.serialize_seq(Some(v.len()))?;
                for s in v {
                    seq.serialize_element(s)?;
                }
                seq.end()
            }
        }
    }
}

/// A `custom_fields` object, in definition order.
#[derive(Default)]
pub struct Fields(pub Vec<(&'static str, Value)>);

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
pub struct TeamRec<'a> {
    pub user_id: Id<'a>,
    pub role: &'static str,
}

#[derive(Serialize)]
pub struct StageRec<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: &'static str,
    pub position: usize,
}

#[derive(Serialize)]
pub struct JobRec<'a> {
    pub id: Id<'a>,
    pub title: &'a str,
    pub department_id: Id<'a>,
    pub location: &'a str,
    pub employment_type: &'static str,
    pub status: &'static str,
    pub confidential: bool,
    pub opened_at: Ts,
    pub closed_at: Option<Ts>,
    pub headcount: u32,
    pub hiring_team: Vec<TeamRec<'a>>,
    pub stages: Vec<StageRec<'a>>,
    pub custom_fields: &'a Fields,
}

#[derive(Serialize)]
pub struct Demographics {
    pub gender: Option<&'static str>,
    pub race_ethnicity: Option<&'static str>,
    pub veteran_status: Option<&'static str>,
    pub disability_status: Option<&'static str>,
}

#[derive(Serialize)]
pub struct CandidateRec<'a> {
    pub id: Id<'a>,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub location: &'a str,
    pub timezone: &'a str,
    pub created_at: Ts,
    pub tags: Vec<&'static str>,
    pub custom_fields: Fields,
    pub demographics: Option<Demographics>,
}

#[derive(Serialize)]
pub struct ApplicationRec<'a> {
    pub id: Id<'a>,
    pub candidate_id: Id<'a>,
    pub job_id: Id<'a>,
    pub source_id: Option<Id<'a>>,
    pub credited_to_user_id: Option<Id<'a>>,
    pub applied_at: Ts,
    pub status: &'static str,
    pub current_stage_id: &'a str,
    pub hired_at: Option<Ts>,
    pub archived_at: Option<Ts>,
    pub archive_reason: Option<&'static str>,
    pub custom_fields: Fields,
}

#[derive(Serialize)]
pub struct TransitionRec<'a> {
    pub id: Id<'a>,
    pub application_id: Id<'a>,
    pub from_stage_id: Option<&'a str>,
    pub to_stage_id: &'a str,
    pub at: Ts,
    pub by_user_id: Option<Id<'a>>,
}

#[derive(Serialize)]
pub struct PanelRec<'a> {
    pub user_id: Id<'a>,
    pub role: &'static str,
}

#[derive(Serialize)]
pub struct InterviewRec<'a> {
    pub id: Id<'a>,
    pub application_id: Id<'a>,
    pub stage_id: &'a str,
    pub title: &'a str,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub status: &'static str,
    pub interviewers: Vec<PanelRec<'a>>,
}

/// Scorecard scores `{attribute: 1..4}`.
pub struct Scores(pub Vec<(&'static str, u8)>);

impl Serialize for Scores {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
pub struct FeedbackRec<'a> {
    pub id: Id<'a>,
    pub interview_id: Id<'a>,
    pub application_id: Id<'a>,
    pub author_id: Id<'a>,
    pub submitted_at: Ts,
    pub recommendation: &'static str,
    pub scores: Scores,
    pub notes: &'static str,
}

#[derive(Serialize)]
pub struct Salary<'a> {
    pub amount: f64,
    pub currency: &'a str,
    pub period: &'static str,
}

#[derive(Serialize)]
pub struct OfferRec<'a> {
    pub id: Id<'a>,
    pub application_id: Id<'a>,
    pub version: u32,
    pub created_at: Ts,
    pub status: &'static str,
    pub resolved_at: Option<Ts>,
    pub start_date: Option<Day>,
    pub salary: Salary<'a>,
    pub bonus: Option<u64>,
    pub equity: Option<String>,
}

#[derive(Serialize)]
pub struct MemberRec<'a> {
    pub user_id: Id<'a>,
    pub status: &'static str,
    pub shadows_completed: u32,
    pub reverse_shadows_completed: u32,
}

#[derive(Serialize)]
pub struct PoolRec<'a> {
    pub id: Id<'a>,
    pub name: &'a str,
    pub required_shadows: u32,
    pub required_reverse_shadows: u32,
    pub members: Vec<MemberRec<'a>>,
}

#[derive(Serialize)]
pub struct BusyRec<'a> {
    pub user_id: Id<'a>,
    pub starts_at: Ts,
    pub ends_at: Ts,
}
