//! The closed enumerations of `hireplane-org/1`: any value not listed is an error.

use std::fmt;

/// Why a string is not a value of a closed enumeration; lists what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not one of {}", allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "))]
pub struct EnumError {
    pub value: String,
    pub allowed: &'static [&'static str],
}

macro_rules! closed_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the order the format lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The spelling of every value, in the order the format lists them.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<$name, EnumError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(EnumError { value: s.to_owned(), allowed: Self::NAMES }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

closed_enum!(
    /// A user's org-wide permission level.
    Role { Admin => "admin", Recruiter => "recruiter", HiringManager => "hiring_manager", Interviewer => "interviewer" }
);
closed_enum!(
    /// Where an application came from.
    SourceKind { Referral => "referral", Agency => "agency", JobBoard => "job_board", Sourced => "sourced", CareerSite => "career_site", Event => "event", Other => "other" }
);
closed_enum!(
    /// Which entity a custom field belongs to.
    CustomEntity { Candidate => "candidate", Application => "application", Job => "job" }
);
closed_enum!(
    /// The type of a custom field's values.
    CustomFieldType { Text => "text", Number => "number", Boolean => "boolean", Date => "date", Select => "select", MultiSelect => "multi_select" }
);
closed_enum!(
    EmploymentType { FullTime => "full_time", PartTime => "part_time", Contract => "contract", Intern => "intern" }
);
closed_enum!(
    JobStatus { Draft => "draft", Open => "open", Closed => "closed", Archived => "archived" }
);
closed_enum!(
    /// A member's role on a job's hiring team.
    HiringTeamRole { HiringManager => "hiring_manager", Recruiter => "recruiter", Coordinator => "coordinator", Interviewer => "interviewer" }
);
closed_enum!(
    /// What a pipeline stage is, so that reports can compare pipelines whose stage names differ.
    StageKind { Lead => "lead", ApplicationReview => "application_review", Screen => "screen", Assessment => "assessment", Interview => "interview", Onsite => "onsite", Offer => "offer", Hired => "hired" }
);
closed_enum!(
    ApplicationStatus { Active => "active", Hired => "hired", Archived => "archived" }
);
closed_enum!(
    InterviewStatus { Scheduled => "scheduled", Completed => "completed", Cancelled => "cancelled", NoShow => "no_show" }
);
closed_enum!(
    /// How a person sits on an interview.
    InterviewerRole { Interviewer => "interviewer", Shadow => "shadow", ReverseShadow => "reverse_shadow" }
);
closed_enum!(
    Recommendation { StrongNo => "strong_no", No => "no", Yes => "yes", StrongYes => "strong_yes" }
);
closed_enum!(
    OfferStatus { Draft => "draft", PendingApproval => "pending_approval", Approved => "approved", Sent => "sent", Accepted => "accepted", Declined => "declined", Rescinded => "rescinded" }
);
closed_enum!(
    SalaryPeriod { Year => "year", Hour => "hour" }
);
closed_enum!(
    /// A member's standing in an interviewer pool.
    PoolMemberStatus { Qualified => "qualified", Trainee => "trainee" }
);
closed_enum!(
    /// A day of the week, as the keys of `working_hours` spell it.
    Weekday { Mon => "mon", Tue => "tue", Wed => "wed", Thu => "thu", Fri => "fri", Sat => "sat", Sun => "sun" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_enums_parse_and_list_what_is_allowed() {
        assert_eq!(StageKind::parse("onsite"), Ok(StageKind::Onsite));
        assert_eq!(StageKind::Onsite.as_str(), "onsite");
        let err = Role::parse("ceo").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`ceo` is not one of `admin`, `recruiter`, `hiring_manager`, `interviewer`"
        );
        for k in SourceKind::ALL {
            assert_eq!(SourceKind::parse(k.as_str()), Ok(*k));
        }
    }
}
