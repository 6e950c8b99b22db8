//! Domain events: the catalogue of event types (the one source of truth that docs/events.md is
//! generated from), the transactional outbox they are written to, and the CloudEvents 1.0
//! envelope they are read in.
//!
//! **The outbox invariant.** Events are written only by the store's write paths, inside the
//! transaction of the change they describe (`crate::write`'s `Tx::emit`, flushed just before
//! commit): a change that rolls back leaves no event, a committed one exactly the events the
//! catalogue says. No other code inserts into `outbox`.
//!
//! **Order.** Each org's events carry a sequence (`seq`, 1, 2, ...) in the order their
//! transactions committed. The sequence is taken from the org's row of `outbox_heads` by an
//! upsert, as the last statements of the transaction: on PostgreSQL that row stays locked until
//! commit, so a second transaction of the same org waits there and takes the next number only
//! after the first committed (and is visible to a reader paging by `seq`: a reader never sees
//! `seq` n+1 committed while n is still to come). SQLite has one writer at a time
//! (`BEGIN IMMEDIATE`). The lock is held from the first event's insert to commit only, after
//! every other lock of the command, so it adds no deadlock. The head row, not `max(seq)`,
//! keeps numbers from being reused once a relay deletes published events.
//!
//! **Payloads** carry ids, the changed fields' names and values no policy restricts (stage
//! ids, statuses, recommendations); never compensation, contact details, demographics, values of
//! custom fields (sensitive or not), notes, archive reasons or other restricted fields. Who may
//! read an event is decided from its `subject` (`app::events`); what of it they read, by the
//! type's [`Guard`]s (a source, a stage history, the names of changed contact details are
//! restricted for some readers) and its lists of other subjects' ids.

use domain::Instant;
use serde_json::{Map, Value, json};

use crate::StoreError;

/// The type of a field of an event's `data`, for its JSON Schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// An id of the org's data (`app_...`, `stg_...`).
    Id,
    Text,
    Integer,
    Boolean,
    /// RFC 3339, UTC.
    Timestamp,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// A list of ids.
    IdList,
    /// A list of strings (field names, keys).
    TextList,
}

/// One field of an event's `data`. Every field is present; a `nullable` one may be `null`.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub nullable: bool,
    pub description: &'static str,
}

const fn f(name: &'static str, ty: FieldType, description: &'static str) -> Field {
    Field {
        name,
        ty,
        nullable: false,
        description,
    }
}

const fn opt(name: &'static str, ty: FieldType, description: &'static str) -> Field {
    Field {
        name,
        ty,
        nullable: true,
        description,
    }
}

/// The field every event's `data` has besides its own.
pub const ACTOR: Field = opt(
    "actor_id",
    FieldType::Id,
    "the user who made the change; null when the operator's CLI made it without `--as`",
);

/// One type of event.
#[derive(Debug)]
pub struct EventType {
    /// `application.moved`: the CloudEvents type is `hireplane.application.moved.v1`.
    pub name: &'static str,
    /// Bumped when a field is removed or changes meaning (a new type name, `...v2`, emitted
    /// beside or instead of the old one); adding a field keeps the version.
    pub version: u32,
    /// The CloudEvents `subject`'s form: `application/<id>`, ...
    pub subject: &'static str,
    pub description: &'static str,
    /// The fields of `data` besides [`ACTOR`].
    pub fields: &'static [Field],
    /// What of `data` a reader needs more than `view` on the subject for.
    pub guards: &'static [Guard],
    /// Lists of ids of other subjects (field, kind of subject): a reader gets the ids of those
    /// they may see.
    pub refers: &'static [(&'static str, &'static str)],
}

/// What of an event's `data` a reader needs an action on the event's subject for, besides
/// `view`. `app::events` applies the guards to every user's view of the outbox (the API's
/// `events`, subscriptions, `events tail --as`); relays and the operator's CLI read events whole.
#[derive(Debug)]
pub struct Guard {
    /// The Cedar action asked on the subject (`viewStageHistory`).
    pub action: &'static str,
    /// For `custom_field_value.set`: the guard holds for a sensitive custom field's value
    /// (`Some(true)`), for the others' (`Some(false)`), or always (`None`).
    pub sensitive: Option<bool>,
    /// What a reader without the action does not get.
    pub hides: Hides,
}

/// What a [`Guard`] hides.
#[derive(Debug)]
pub enum Hides {
    /// The whole event: it is about the guarded data.
    Event,
    /// These fields, which read as null.
    Fields(&'static [&'static str]),
    /// These names in `changed`; an event left with no name in it is left out.
    Changed(&'static [&'static str]),
}

const fn guard(action: &'static str, hides: Hides) -> Guard {
    Guard {
        action,
        sensitive: None,
        hides,
    }
}

impl EventType {
    /// The CloudEvents `type`: `hireplane.<name>.v<version>`.
    pub fn type_name(&self) -> String {
        format!("hireplane.{}.v{}", self.name, self.version)
    }

    /// Every field of `data`, [`ACTOR`] last.
    pub fn all_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().chain(std::iter::once(&ACTOR))
    }

    /// The JSON Schema (draft 2020-12) of `data`.
    pub fn schema(&self) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        for field in self.all_fields() {
            let mut s = match field.ty {
                FieldType::Id | FieldType::Text => json!({"type": "string"}),
                FieldType::Integer => json!({"type": "integer"}),
                FieldType::Boolean => json!({"type": "boolean"}),
                FieldType::Timestamp => json!({"type": "string", "format": "date-time"}),
                FieldType::Enum(names) => json!({"type": "string", "enum": names}),
                FieldType::IdList | FieldType::TextList => {
                    json!({"type": "array", "items": {"type": "string"}})
                }
            };
            if field.nullable
                && let Some(obj) = s.as_object_mut()
            {
                let ty = obj.remove("type").unwrap_or(Value::Null);
                obj.insert("type".into(), json!([ty, "null"]));
                if let Some(Value::Array(names)) = obj.get_mut("enum") {
                    names.push(Value::Null);
                }
            }
            if let Some(obj) = s.as_object_mut() {
                obj.insert("description".into(), Value::from(field.description));
            }
            props.insert(field.name.to_owned(), s);
            required.push(field.name);
        }
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": format!("https://hireplane.dev/events/{}.json", self.type_name()),
            "title": self.type_name(),
            "type": "object",
            "additionalProperties": false,
            "required": required,
            "properties": props,
        })
    }

    /// Problems of `data` against the type's fields (missing, unknown, of the wrong type), each
    /// naming the field; empty when it conforms. What the schema says, checked by hand.
    pub fn check(&self, data: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let Some(obj) = data.as_object() else {
            return vec![format!("`data`: expected an object, got {data}")];
        };
        for key in obj.keys() {
            if !self.all_fields().any(|f| f.name == key) {
                problems.push(format!("`{key}`: not a field of {}", self.type_name()));
            }
        }
        for field in self.all_fields() {
            let Some(v) = obj.get(field.name) else {
                problems.push(format!("`{}`: missing", field.name));
                continue;
            };
            if v.is_null() {
                if !field.nullable {
                    problems.push(format!("`{}`: null, not nullable", field.name));
                }
                continue;
            }
            let ok = match field.ty {
                FieldType::Id => v
                    .as_str()
                    .is_some_and(|s| domain::Id::parse(s.to_owned()).is_ok()),
                FieldType::Text => v.is_string(),
                FieldType::Integer => v.is_i64() || v.is_u64(),
                FieldType::Boolean => v.is_boolean(),
                FieldType::Timestamp => v.as_str().is_some_and(|s| Instant::parse(s).is_ok()),
                FieldType::Enum(names) => v.as_str().is_some_and(|s| names.contains(&s)),
                FieldType::IdList | FieldType::TextList => {
                    v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
                }
            };
            if !ok {
                problems.push(format!("`{}`: {v} is not a {:?}", field.name, field.ty));
            }
        }
        problems
    }
}

use domain::enums::{
    CustomEntity, CustomFieldType, InterviewStatus, OfferStatus, Recommendation, StageKind,
};

const INTERVIEW_STATUS: &[&str] = InterviewStatus::NAMES;
const RECOMMENDATION: &[&str] = Recommendation::NAMES;
const OFFER_STATUS: &[&str] = OfferStatus::NAMES;
const STAGE_KIND: &[&str] = StageKind::NAMES;
const CUSTOM_ENTITY: &[&str] = CustomEntity::NAMES;
const ROLE: &[&str] = domain::enums::Role::NAMES;
const CUSTOM_FIELD_TYPE: &[&str] = CustomFieldType::NAMES;

use FieldType::{Boolean, Enum, Id, IdList, Integer, Text, TextList, Timestamp};

const APPLICATION_ID: Field = f("application_id", Id, "the application");
const CANDIDATE_ID: Field = f("candidate_id", Id, "the application's candidate");
const JOB_ID: Field = f("job_id", Id, "the application's job");
const INTERVIEW_ID: Field = f("interview_id", Id, "the interview");

pub const CANDIDATE_CREATED: EventType = EventType {
    name: "candidate.created",
    version: 1,
    subject: "candidate/<candidate id>",
    description: "A candidate was created (`createCandidate`). With `jobId`, an `application.created` follows in the same transaction.",
    fields: &[f("candidate_id", Id, "the new candidate")],
    guards: &[],
    refers: &[],
};

pub const CANDIDATE_UPDATED: EventType = EventType {
    name: "candidate.updated",
    version: 1,
    subject: "candidate/<candidate id>",
    description: "A candidate's own fields changed (`updateCandidate`). Names the fields given, never their values (contact details are restricted).",
    fields: &[
        f("candidate_id", Id, "the candidate"),
        f(
            "changed",
            TextList,
            "the fields the command set: `name`, `email`, `phone`, `location`, `timezone`, `tags`",
        ),
    ],
    guards: &[
        guard("viewContactDetails", Hides::Changed(&["email", "phone"])),
        guard(
            "viewDetails",
            Hides::Changed(&["location", "timezone", "tags"]),
        ),
    ],
    refers: &[],
};

pub const CANDIDATE_MERGED: EventType = EventType {
    name: "candidate.merged",
    version: 1,
    subject: "candidate/<kept candidate id>",
    description: "A duplicate candidate was merged into the one kept (`mergeCandidates`): the duplicate's applications (with their stage history, interviews, scorecards and offers) now belong to the kept candidate, its contact details, tags and custom field values fill what the kept one lacks, and the duplicate is removed. Ids only.",
    fields: &[
        f("candidate_id", Id, "the candidate kept"),
        f("merged_candidate_id", Id, "the duplicate, removed"),
        f(
            "application_ids",
            IdList,
            "the applications that moved to the kept candidate",
        ),
    ],
    guards: &[],
    refers: &[("application_ids", "application")],
};

pub const APPLICATION_CREATED: EventType = EventType {
    name: "application.created",
    version: 1,
    subject: "application/<application id>",
    description: "A candidate applied to (was added to) a job and entered its first stage (`applyToJob`, `createCandidate` with `jobId`).",
    fields: &[
        f("application_id", Id, "the new application"),
        CANDIDATE_ID,
        JOB_ID,
        f("stage_id", Id, "the job's first stage, where it starts"),
        opt("source_id", Id, "where it came from"),
    ],
    guards: &[guard("viewDetails", Hides::Fields(&["source_id"]))],
    refers: &[],
};

pub const APPLICATION_MOVED: EventType = EventType {
    name: "application.moved",
    version: 1,
    subject: "application/<application id>",
    description: "An active application moved to another stage of its job (`moveApplication`).",
    fields: &[
        APPLICATION_ID,
        CANDIDATE_ID,
        JOB_ID,
        f("from_stage_id", Id, "the stage it left"),
        f("to_stage_id", Id, "the stage it entered"),
        f("transition_id", Id, "the stage transition recorded"),
    ],
    guards: &[guard("viewStageHistory", Hides::Event)],
    refers: &[],
};

pub const APPLICATION_ARCHIVED: EventType = EventType {
    name: "application.archived",
    version: 1,
    subject: "application/<application id>",
    description: "An active application was archived (`archiveApplication`); it stays in its stage. The reason is not in the event (a restricted field).",
    fields: &[
        APPLICATION_ID,
        CANDIDATE_ID,
        JOB_ID,
        f("stage_id", Id, "the stage it was archived in"),
    ],
    guards: &[],
    refers: &[],
};

pub const APPLICATION_UNARCHIVED: EventType = EventType {
    name: "application.unarchived",
    version: 1,
    subject: "application/<application id>",
    description: "An archived application became active again, in the stage it was archived in (`unarchiveApplication`).",
    fields: &[
        APPLICATION_ID,
        CANDIDATE_ID,
        JOB_ID,
        f("stage_id", Id, "its stage"),
    ],
    guards: &[],
    refers: &[],
};

pub const APPLICATION_HIRED: EventType = EventType {
    name: "application.hired",
    version: 1,
    subject: "application/<application id>",
    description: "An application was hired (`hireApplication`): it entered its job's hired stage, unless it was there. Each interview the hire cancelled has its own `interview.cancelled`.",
    fields: &[
        APPLICATION_ID,
        CANDIDATE_ID,
        JOB_ID,
        opt(
            "from_stage_id",
            Id,
            "the stage it was in; null for a reader without `viewStageHistory` on the application",
        ),
        f("to_stage_id", Id, "the hired stage"),
        opt(
            "transition_id",
            Id,
            "the stage transition recorded; null when it was in the hired stage already",
        ),
        f(
            "cancelled_interview_ids",
            IdList,
            "the interviews still ahead that the hire cancelled",
        ),
    ],
    guards: &[guard(
        "viewStageHistory",
        Hides::Fields(&["from_stage_id", "transition_id"]),
    )],
    refers: &[("cancelled_interview_ids", "interview")],
};

pub const INTERVIEW_SCHEDULED: EventType = EventType {
    name: "interview.scheduled",
    version: 1,
    subject: "interview/<interview id>",
    description: "An interview was scheduled, or recorded as completed (`scheduleInterview`; one per interview of `bookInterviewLoop`, and per session `applyInterviewLoopRepair` books again).",
    fields: &[
        f("interview_id", Id, "the new interview"),
        APPLICATION_ID,
        JOB_ID,
        f("stage_id", Id, "the stage it belongs to"),
        f("starts_at", Timestamp, "when it starts"),
        f("ends_at", Timestamp, "when it ends"),
        f(
            "status",
            Enum(INTERVIEW_STATUS),
            "`scheduled`, or `completed` for one recorded after it took place",
        ),
        f(
            "participant_ids",
            IdList,
            "its interviewers and shadows (users)",
        ),
    ],
    guards: &[],
    refers: &[],
};

pub const INTERVIEW_CANCELLED: EventType = EventType {
    name: "interview.cancelled",
    version: 1,
    subject: "interview/<interview id>",
    description: "A scheduled interview was cancelled (`cancelInterview`, a hire of its application, or `applyInterviewLoopRepair` for a session it changes).",
    fields: &[
        INTERVIEW_ID,
        APPLICATION_ID,
        JOB_ID,
        f(
            "by_hire",
            Boolean,
            "whether hiring the application cancelled it",
        ),
    ],
    guards: &[],
    refers: &[],
};

pub const INTERVIEW_COMPLETED: EventType = EventType {
    name: "interview.completed",
    version: 1,
    subject: "interview/<interview id>",
    description: "An interview was marked completed (`markInterview`), or a no-show corrected to completed.",
    fields: &[
        INTERVIEW_ID,
        APPLICATION_ID,
        JOB_ID,
        f("from_status", Enum(INTERVIEW_STATUS), "its status before"),
    ],
    guards: &[],
    refers: &[],
};

pub const INTERVIEW_NO_SHOW: EventType = EventType {
    name: "interview.no_show",
    version: 1,
    subject: "interview/<interview id>",
    description: "An interview was marked a no-show (`markInterview`), or a completed one corrected to no-show.",
    fields: &[
        INTERVIEW_ID,
        APPLICATION_ID,
        JOB_ID,
        f("from_status", Enum(INTERVIEW_STATUS), "its status before"),
    ],
    guards: &[],
    refers: &[],
};

pub const INTERVIEW_LOOP_BOOKED: EventType = EventType {
    name: "interview_loop.booked",
    version: 1,
    subject: "application/<application id>",
    description: "An interview loop was booked (`bookInterviewLoop`), or repaired (`applyInterviewLoopRepair`: with the repaired loop's interviews, kept and new): after one `interview.scheduled` per new interview, in the same transaction.",
    fields: &[
        APPLICATION_ID,
        JOB_ID,
        f("stage_id", Id, "the stage of its interviews"),
        f("interview_ids", IdList, "its interviews, in session order"),
    ],
    guards: &[],
    refers: &[("interview_ids", "interview")],
};

pub const FEEDBACK_SUBMITTED: EventType = EventType {
    name: "feedback.submitted",
    version: 1,
    subject: "feedback/<feedback id>",
    description: "A scorecard was submitted (`submitFeedback`). Never its notes or scores.",
    fields: &[
        f("feedback_id", Id, "the scorecard"),
        INTERVIEW_ID,
        APPLICATION_ID,
        JOB_ID,
        f("author_id", Id, "its author"),
        f("recommendation", Enum(RECOMMENDATION), "the recommendation"),
    ],
    guards: &[],
    refers: &[],
};

pub const FEEDBACK_EDITED: EventType = EventType {
    name: "feedback.edited",
    version: 1,
    subject: "feedback/<feedback id>",
    description: "A submitted scorecard changed (`updateFeedback`). Names the fields given; never its notes or scores.",
    fields: &[
        f("feedback_id", Id, "the scorecard"),
        INTERVIEW_ID,
        APPLICATION_ID,
        JOB_ID,
        f(
            "recommendation",
            Enum(RECOMMENDATION),
            "the recommendation after the change",
        ),
        f(
            "changed",
            TextList,
            "the fields given: `recommendation`, `scores`, `notes`",
        ),
    ],
    guards: &[],
    refers: &[],
};

pub const OFFER_CREATED: EventType = EventType {
    name: "offer.created",
    version: 1,
    subject: "offer/<offer id>",
    description: "A new offer version was created (`createOffer`). Never its terms (compensation is restricted).",
    fields: &[
        f("offer_id", Id, "the offer"),
        APPLICATION_ID,
        JOB_ID,
        f("version", Integer, "its version, 1, 2, ... per application"),
        f("status", Enum(OFFER_STATUS), "its status"),
    ],
    guards: &[],
    refers: &[],
};

pub const OFFER_UPDATED: EventType = EventType {
    name: "offer.updated",
    version: 1,
    subject: "offer/<offer id>",
    description: "An offer's status or terms changed without resolving it (`updateOffer`). Names what changed, never the terms.",
    fields: &[
        f("offer_id", Id, "the offer"),
        APPLICATION_ID,
        JOB_ID,
        f("from_status", Enum(OFFER_STATUS), "its status before"),
        f("status", Enum(OFFER_STATUS), "its status now"),
        f(
            "changed",
            TextList,
            "what the command gave: `status`, `terms`",
        ),
    ],
    guards: &[guard("viewCompensation", Hides::Changed(&["terms"]))],
    refers: &[],
};

pub const OFFER_RESOLVED: EventType = EventType {
    name: "offer.resolved",
    version: 1,
    subject: "offer/<offer id>",
    description: "An offer was accepted, declined or rescinded (`updateOffer`).",
    fields: &[
        f("offer_id", Id, "the offer"),
        APPLICATION_ID,
        JOB_ID,
        f("from_status", Enum(OFFER_STATUS), "its status before"),
        f(
            "status",
            Enum(&["accepted", "declined", "rescinded"]),
            "how it was resolved",
        ),
    ],
    guards: &[],
    refers: &[],
};

pub const JOB_CREATED: EventType = EventType {
    name: "job.created",
    version: 1,
    subject: "job/<job id>",
    description: "A job was created with its pipeline and hiring team (`createJob`).",
    fields: &[
        f("job_id", Id, "the job"),
        f("stage_ids", IdList, "its pipeline, in order"),
    ],
    guards: &[],
    refers: &[],
};

pub const JOB_UPDATED: EventType = EventType {
    name: "job.updated",
    version: 1,
    subject: "job/<job id>",
    description: "A job changed (`updateJob`). Names the fields given, never their values (a job's details are restricted for some roles).",
    fields: &[
        f("job_id", Id, "the job"),
        f(
            "changed",
            TextList,
            "the fields given: `title`, `department_id`, `location`, `employment_type`, `status`, `confidential`, `headcount`, `hiring_team`, `custom_fields`",
        ),
    ],
    guards: &[guard(
        "viewDetails",
        Hides::Changed(&[
            "location",
            "employment_type",
            "status",
            "confidential",
            "headcount",
            "custom_fields",
        ]),
    )],
    refers: &[],
};

pub const STAGE_ADDED: EventType = EventType {
    name: "stage.added",
    version: 1,
    subject: "job/<job id>",
    description: "A stage was added to a job's pipeline (`addStage`).",
    fields: &[
        f("job_id", Id, "the job"),
        f("stage_id", Id, "the new stage"),
        f("kind", Enum(STAGE_KIND), "its kind"),
        f(
            "stage_ids",
            IdList,
            "the pipeline after the change, in order",
        ),
    ],
    guards: &[],
    refers: &[],
};

pub const STAGE_RENAMED: EventType = EventType {
    name: "stage.renamed",
    version: 1,
    subject: "job/<job id>",
    description: "A stage was renamed (`renameStage`).",
    fields: &[
        f("job_id", Id, "the stage's job"),
        f("stage_id", Id, "the stage"),
    ],
    guards: &[],
    refers: &[],
};

pub const STAGE_REMOVED: EventType = EventType {
    name: "stage.removed",
    version: 1,
    subject: "job/<job id>",
    description: "A stage nothing referred to was removed from its job's pipeline (`removeStage`).",
    fields: &[
        f("job_id", Id, "the job"),
        f("stage_id", Id, "the stage removed"),
        f(
            "stage_ids",
            IdList,
            "the pipeline after the change, in order",
        ),
    ],
    guards: &[],
    refers: &[],
};

pub const CUSTOM_FIELD_CREATED: EventType = EventType {
    name: "custom_field.created",
    version: 1,
    subject: "org/<org id>",
    description: "A custom field was defined (`createCustomField`).",
    fields: &[
        f("custom_field_id", Id, "the field"),
        f("entity", Enum(CUSTOM_ENTITY), "what it is a field of"),
        f("key", Text, "its key"),
        f("type", Enum(CUSTOM_FIELD_TYPE), "its type"),
        f("sensitive", Boolean, "whether its values are sensitive"),
    ],
    guards: &[],
    refers: &[],
};

pub const CUSTOM_FIELD_UPDATED: EventType = EventType {
    name: "custom_field.updated",
    version: 1,
    subject: "org/<org id>",
    description: "A custom field's definition changed (`updateCustomField`): its label, sensitivity or options (options are only ever added).",
    fields: &[
        f("custom_field_id", Id, "the field"),
        f("entity", Enum(CUSTOM_ENTITY), "what it is a field of"),
        f("key", Text, "its key"),
        f(
            "changed",
            TextList,
            "what the command set: `label`, `sensitive`, `options`",
        ),
        f(
            "sensitive",
            Boolean,
            "whether its values are sensitive after the change",
        ),
    ],
    guards: &[],
    refers: &[],
};

pub const CUSTOM_FIELD_VALUE_SET: EventType = EventType {
    name: "custom_field_value.set",
    version: 1,
    subject: "candidate/<id>, application/<id> or job/<id> (the record's)",
    description: "A custom field's value was set or cleared on a record (`setCustomFieldValue`). Never the value.",
    fields: &[
        f("entity", Enum(CUSTOM_ENTITY), "the record's entity"),
        f("record_id", Id, "the record"),
        f("key", Text, "the field's key"),
        f("custom_field_id", Id, "the field"),
    ],
    guards: &[
        Guard {
            action: "viewSensitiveCustomFields",
            sensitive: Some(true),
            hides: Hides::Event,
        },
        Guard {
            action: "viewDetails",
            sensitive: Some(false),
            hides: Hides::Event,
        },
    ],
    refers: &[],
};

pub const ARCHIVE_REASONS_SET: EventType = EventType {
    name: "archive_reasons.set",
    version: 1,
    subject: "org/<org id>",
    description: "The org's list of archive reasons was replaced (`setArchiveReasons`).",
    fields: &[f("reasons", TextList, "the list, in order")],
    guards: &[],
    refers: &[],
};

pub const USER_UPDATED: EventType = EventType {
    name: "user.updated",
    version: 1,
    subject: "org/<org id>",
    description: "An admin changed a user's role or whether they are active (`updateUser`); a deactivated user's access ends at once.",
    fields: &[
        f("user_id", Id, "the user"),
        f("role", Enum(ROLE), "the role now"),
        f("active", Boolean, "whether the user is active now"),
        f("previous_role", Enum(ROLE), "the role before"),
        f(
            "previous_active",
            Boolean,
            "whether the user was active before",
        ),
    ],
    guards: &[],
    refers: &[],
};

pub const POLICY_VERSION_SET: EventType = EventType {
    name: "policy.version_set",
    version: 1,
    subject: "org/<org id>",
    description: "A new version of the org's access policy is in force (`setPolicy` or `hireplane policy set`; or back to the shipped default: `resetPolicy`, `hireplane policy reset`).",
    fields: &[
        f("version", Integer, "the new version"),
        f(
            "default",
            Boolean,
            "whether it stands for the shipped default policy",
        ),
    ],
    guards: &[],
    refers: &[],
};

/// Every event type, in the catalogue's order.
pub const CATALOGUE: &[&EventType] = &[
    &CANDIDATE_CREATED,
    &CANDIDATE_UPDATED,
    &CANDIDATE_MERGED,
    &APPLICATION_CREATED,
    &APPLICATION_MOVED,
    &APPLICATION_ARCHIVED,
    &APPLICATION_UNARCHIVED,
    &APPLICATION_HIRED,
    &INTERVIEW_SCHEDULED,
    &INTERVIEW_CANCELLED,
    &INTERVIEW_COMPLETED,
    &INTERVIEW_NO_SHOW,
    &INTERVIEW_LOOP_BOOKED,
    &FEEDBACK_SUBMITTED,
    &FEEDBACK_EDITED,
    &OFFER_CREATED,
    &OFFER_UPDATED,
    &OFFER_RESOLVED,
    &JOB_CREATED,
    &JOB_UPDATED,
    &STAGE_ADDED,
    &STAGE_RENAMED,
    &STAGE_REMOVED,
    &CUSTOM_FIELD_CREATED,
    &CUSTOM_FIELD_UPDATED,
    &CUSTOM_FIELD_VALUE_SET,
    &ARCHIVE_REASONS_SET,
    &USER_UPDATED,
    &POLICY_VERSION_SET,
];

/// How many events of a type a command emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    One,
    /// One per item the text names (`"interview it cancels"`), possibly none.
    EachOf(&'static str),
}

/// The events a command emits, in order, each with how many.
pub type Emits = &'static [(&'static EventType, Times)];

/// What each command emits, in order: (command, condition or "", events).
pub const COMMANDS: &[(&str, &str, Emits)] = &[
    ("createCandidate", "", &[(&CANDIDATE_CREATED, Times::One)]),
    (
        "createCandidate",
        "with `jobId`",
        &[
            (&CANDIDATE_CREATED, Times::One),
            (&APPLICATION_CREATED, Times::One),
        ],
    ),
    ("updateCandidate", "", &[(&CANDIDATE_UPDATED, Times::One)]),
    ("mergeCandidates", "", &[(&CANDIDATE_MERGED, Times::One)]),
    ("applyToJob", "", &[(&APPLICATION_CREATED, Times::One)]),
    ("moveApplication", "", &[(&APPLICATION_MOVED, Times::One)]),
    (
        "archiveApplication",
        "",
        &[(&APPLICATION_ARCHIVED, Times::One)],
    ),
    (
        "unarchiveApplication",
        "",
        &[(&APPLICATION_UNARCHIVED, Times::One)],
    ),
    (
        "hireApplication",
        "",
        &[
            (
                &INTERVIEW_CANCELLED,
                Times::EachOf("interview still ahead it cancels"),
            ),
            (&APPLICATION_HIRED, Times::One),
        ],
    ),
    (
        "scheduleInterview",
        "",
        &[(&INTERVIEW_SCHEDULED, Times::One)],
    ),
    ("cancelInterview", "", &[(&INTERVIEW_CANCELLED, Times::One)]),
    (
        "markInterview",
        "`status: completed`",
        &[(&INTERVIEW_COMPLETED, Times::One)],
    ),
    (
        "markInterview",
        "`status: no_show`",
        &[(&INTERVIEW_NO_SHOW, Times::One)],
    ),
    (
        "bookInterviewLoop",
        "",
        &[
            (&INTERVIEW_SCHEDULED, Times::EachOf("session of the option")),
            (&INTERVIEW_LOOP_BOOKED, Times::One),
        ],
    ),
    (
        "applyInterviewLoopRepair",
        "",
        &[
            (
                &INTERVIEW_CANCELLED,
                Times::EachOf("session the repair changes"),
            ),
            (
                &INTERVIEW_SCHEDULED,
                Times::EachOf("session the repair changes"),
            ),
            (&INTERVIEW_LOOP_BOOKED, Times::One),
        ],
    ),
    ("submitFeedback", "", &[(&FEEDBACK_SUBMITTED, Times::One)]),
    ("updateFeedback", "", &[(&FEEDBACK_EDITED, Times::One)]),
    ("createOffer", "", &[(&OFFER_CREATED, Times::One)]),
    (
        "updateOffer",
        "to `accepted`, `declined` or `rescinded`",
        &[(&OFFER_RESOLVED, Times::One)],
    ),
    ("updateOffer", "otherwise", &[(&OFFER_UPDATED, Times::One)]),
    ("createJob", "", &[(&JOB_CREATED, Times::One)]),
    ("updateJob", "", &[(&JOB_UPDATED, Times::One)]),
    ("addStage", "", &[(&STAGE_ADDED, Times::One)]),
    ("renameStage", "", &[(&STAGE_RENAMED, Times::One)]),
    ("removeStage", "", &[(&STAGE_REMOVED, Times::One)]),
    (
        "createCustomField",
        "",
        &[(&CUSTOM_FIELD_CREATED, Times::One)],
    ),
    (
        "updateCustomField",
        "",
        &[(&CUSTOM_FIELD_UPDATED, Times::One)],
    ),
    (
        "setCustomFieldValue",
        "",
        &[(&CUSTOM_FIELD_VALUE_SET, Times::One)],
    ),
    (
        "setArchiveReasons",
        "",
        &[(&ARCHIVE_REASONS_SET, Times::One)],
    ),
    (
        "updateUser",
        "when the role or `active` changes",
        &[(&USER_UPDATED, Times::One)],
    ),
    (
        "setPolicy / resetPolicy (hireplane policy set / reset)",
        "",
        &[(&POLICY_VERSION_SET, Times::One)],
    ),
];

/// The catalogue type whose CloudEvents type is `type_name` (`hireplane.application.moved.v1`).
pub fn event_type(type_name: &str) -> Option<&'static EventType> {
    CATALOGUE
        .iter()
        .copied()
        .find(|t| t.type_name() == type_name)
}

/// The CloudEvents `source` of org `org`'s events.
pub fn source(org: &str) -> String {
    format!("/hireplane/orgs/{org}")
}

/// One event as the outbox holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEvent {
    pub org_id: String,
    /// The org's sequence: the order its transactions committed in, 1, 2, ...
    pub seq: i64,
    /// A UUID (version 7: time-ordered).
    pub id: String,
    /// The CloudEvents type (`hireplane.application.moved.v1`).
    pub event_type: String,
    /// `application/<id>`, `org/<org>`, ...
    pub subject: String,
    pub time: Instant,
    pub data: Value,
    /// When a relay published it; `None` until then.
    pub published_at: Option<Instant>,
}

impl OutboxEvent {
    /// The event as a CloudEvents 1.0 JSON object (structured mode), with the extension
    /// attributes `orgid` (the org) and `orgseq` (its sequence in the org).
    pub fn cloudevent(&self) -> Value {
        json!({
            "specversion": "1.0",
            "id": self.id,
            "source": source(&self.org_id),
            "type": self.event_type,
            "subject": self.subject,
            "time": self.time.to_string(),
            "datacontenttype": "application/json",
            "orgid": self.org_id,
            "orgseq": self.seq,
            "data": self.data,
        })
    }

    /// The subject's kind and id: `("application", "app_...")`.
    pub fn subject_parts(&self) -> Option<(&str, &str)> {
        self.subject.split_once('/')
    }
}

/// Which of an org's events to read ([`crate::Store::outbox_events`]).
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// Only events with a greater `seq`.
    pub after_seq: i64,
    /// Only events of these CloudEvents types; all when empty.
    pub types: Vec<String>,
    /// At most this many, by `seq`.
    pub limit: u32,
}

/// What a type's guards and lists of ids mean for a reader, as a sentence for docs/events.md.
fn readers_markdown(t: &EventType) -> Option<String> {
    let code = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    for g in t.guards {
        let which = match g.sensitive {
            Some(true) => " (a sensitive custom field's value)",
            Some(false) => " (another custom field's value)",
            None => "",
        };
        let what = match g.hides {
            Hides::Event => "does not get the event".to_owned(),
            Hides::Fields(names) => format!("reads {} as null", code(names)),
            Hides::Changed(names) => format!(
                "finds {} left out of `changed` (and no event when nothing is left)",
                code(names)
            ),
        };
        parts.push(format!(
            "without `{}` on the subject{which} a reader {what}",
            g.action
        ));
    }
    for (field, kind) in t.refers {
        parts.push(format!("`{field}` holds the {kind}s the reader may see"));
    }
    if parts.is_empty() {
        return None;
    }
    let mut text = parts.join("; ");
    if let Some(first) = text.get(..1) {
        text = format!("{}{}", first.to_uppercase(), text.get(1..).unwrap_or(""));
    }
    Some(format!("Readers: {text}."))
}

/// The catalogue as docs/events.md: generated, never edited by hand.
pub fn catalogue_markdown() -> Result<String, StoreError> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let w = |out: &mut String, s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    w(&mut out, "# Events");
    w(&mut out, "");
    w(
        &mut out,
        "<!-- Generated from crates/store/src/events.rs by `hireplane events catalogue > docs/events.md`; do not edit. -->",
    );
    w(&mut out, "");
    w(
        &mut out,
        "Every change the hiring workflow's commands make writes its domain events into the org's \
         outbox in the same transaction (a rolled-back change has none; a committed one exactly \
         those below). Events are read as CloudEvents 1.0 JSON with `hireplane events tail` and \
         the API's `events` connection (docs/api.md), each caller seeing only the events whose \
         subject their policy lets them see.",
    );
    w(&mut out, "");
    w(&mut out, "## Envelope");
    w(&mut out, "");
    w(&mut out, "```json");
    let example = OutboxEvent {
        org_id: "acme".into(),
        seq: 42,
        id: "0190f7c4-5e2a-7b3c-9d4e-1f2a3b4c5d6e".into(),
        event_type: APPLICATION_MOVED.type_name(),
        subject: "application/app_0001".into(),
        time: Instant::parse("2026-03-02T10:15:00Z")
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        data: json!({
            "application_id": "app_0001",
            "candidate_id": "cand_0001",
            "job_id": "job_0001",
            "from_stage_id": "stg_0002",
            "to_stage_id": "stg_0003",
            "transition_id": "tr_0009",
            "actor_id": "user_0003",
        }),
        published_at: None,
    };
    w(
        &mut out,
        &serde_json::to_string_pretty(&example.cloudevent())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    );
    w(&mut out, "```");
    w(&mut out, "");
    for line in [
        "- `specversion` `1.0`; `datacontenttype` `application/json`.",
        "- `id`: a UUID (version 7), unique; a consumer de-duplicates by it.",
        "- `source`: `/hireplane/orgs/<org id>`.",
        "- `type`: `hireplane.<name>.v<version>` (below). A field is only ever added to a version; removing or changing one makes a new version.",
        "- `time`: when the change was made (RFC 3339, UTC).",
        "- `subject`: what the event is about, `<kind>/<id>`; who may see the subject may see the event, less what its type's guards keep for readers with a further action on the subject (\"Readers\" below: a field that reads as null, a name left out of `changed`, or the whole event); lists of other subjects' ids hold those the reader may see. That is every user's view (the API's `events`, subscriptions, `hireplane events tail --as`); the relay to NATS and the operator's CLI read events whole.",
        "- `orgid`: the org (extension attribute); `orgseq`: the event's place in the org's commit order, 1, 2, ... without reuse (extension attribute; `--since` and the API's cursors page by it).",
        "- `data`: ids, the names of changed fields and values no policy restricts. Never compensation, contact details, demographics, custom field values, notes, scores or archive reasons. Every `data` has `actor_id`, the user who made the change (null for the operator's CLI without `--as`).",
    ] {
        w(&mut out, line);
    }
    w(&mut out, "");
    w(&mut out, "## The outbox");
    w(&mut out, "");
    for line in [
        "Events are rows of the table `outbox` (store migration 15), written by the store's write paths as the last statements of the change's own transaction: a change that rolls back leaves no event. Imports write none (they load history, not changes).",
        "",
        "| Column | What |",
        "|---|---|",
        "| `org_id` | the org; every key starts with it |",
        "| `seq` | 1, 2, ... per org, in commit order, never reused (primary key `(org_id, seq)`) |",
        "| `id` | the event's UUID (unique per org) |",
        "| `type`, `subject`, `time` | the CloudEvents attributes |",
        "| `data` | the payload (JSON; `jsonb` on PostgreSQL) |",
        "| `published_at` | NULL until a relay publishes the event |",
        "| `committed_at` | the clock at the event's insert, the last statement before commit (migration 17; the relay's commit-to-ack latency starts there) |",
        "",
        "`seq` comes from the org's row of `outbox_heads` (`last_seq`), taken by an upsert whose row lock PostgreSQL holds until commit: a second transaction of the org waits there and takes the next number only once the first has committed, so a reader that pages by `seq` (`after_seq`) never sees `n + 1` while `n` is still to commit. SQLite has one writer at a time.",
    ] {
        w(&mut out, line);
    }
    w(&mut out, "");
    w(&mut out, "## Publishing to NATS JetStream");
    w(&mut out, "");
    for line in [
        "With `events.nats.url` set (`HIREPLANE_EVENTS__NATS__URL=nats://127.0.0.1:4222`), every `hireplane serve` replica runs a relay that publishes the outbox to a JetStream stream. Without it (the embedded default) events stay readable from the outbox only.",
        "",
        "- **Stream and subjects.** The stream `events.nats.stream` (default `HIREPLANE_EVENTS`, created with file storage if missing, subjects `<prefix>.>`); each event on `<prefix>.<org>.<type without hireplane.>`, e.g. `hireplane.acme.application.moved.v1` (prefix `events.nats.subject_prefix`, default `hireplane`). An org id is one subject token: characters other than ASCII letters, digits, `-` and `_` are written `~XX` (UTF-8 bytes in hex). The payload is the CloudEvent above; the header `Nats-Msg-Id` is the event's `id`.",
        "- **Exactly once into the stream.** The relay publishes a batch, waits for JetStream's acks, then marks the acknowledged events published (`published_at`) and moves the org's cursor (`outbox_relay.published_seq`, migration 17) in one transaction. A relay killed between the ack and the mark publishes the batch again after its restart (or another replica does), and JetStream drops the copies by `Nats-Msg-Id` within the stream's duplicate window (`events.nats.duplicate_window_s`, default 120 s, for a stream the relay creates).",
        "- **Order.** Orgs are split into `events.nats.partitions` (default 16) by a hash of their id; a relay publishes a partition only while it holds it (PostgreSQL: a session advisory lock of its own connection, freed at once when its process dies; SQLite: a lease renewed every second), so each org has one publisher at a time, which sends its events in `seq` order on one connection. The stream holds each org's events in commit order (`orgseq` increasing).",
        "- **Latency.** A replica's relay wakes when that replica commits a change, and looks every `events.nats.poll_ms` (default 25 ms) for changes committed by other replicas.",
        "- **NATS down.** The API keeps working and the backlog grows in the outbox; the relay backs off (100 ms doubling to 5 s, with jitter) and catches up when NATS is back. `/readyz` stays 200 and adds a line such as `events relay: not publishing, 16 partition(s) held, 1355 event(s) behind, oldest 5120 ms, last error: nats: not connected to the NATS server`.",
        "- **Metrics.** `hireplane_outbox_lag_events` and `hireplane_outbox_lag_seconds` (committed, not yet published), `hireplane_relay_published_total`, `hireplane_relay_errors_total{what}`, `hireplane_relay_partitions_held`, `hireplane_relay_commit_to_ack_seconds` (from the commit of the event's transaction, `outbox.committed_at`, to JetStream's ack), `hireplane_outbox_pruned_total`.",
        "- **Retention.** Published events are deleted from the outbox `events.retention_hours` (default 168) after publication, oldest first; unpublished ones never are.",
    ] {
        w(&mut out, line);
    }
    w(&mut out, "");
    w(&mut out, "## What each command emits");
    w(&mut out, "");
    w(&mut out, "| Command | When | Events, in order |");
    w(&mut out, "|---|---|---|");
    for (command, when, events) in COMMANDS {
        let list: Vec<String> = events
            .iter()
            .map(|(t, times)| match times {
                Times::One => format!("`{}`", t.type_name()),
                Times::EachOf(what) => format!("`{}` per {what}", t.type_name()),
            })
            .collect();
        let when = if when.is_empty() { "always" } else { when };
        let _ = writeln!(out, "| `{command}` | {when} | {} |", list.join(", "));
    }
    w(&mut out, "");
    w(&mut out, "## Types");
    for t in CATALOGUE {
        w(&mut out, "");
        let _ = writeln!(out, "### `{}`", t.type_name());
        w(&mut out, "");
        w(&mut out, t.description);
        w(&mut out, "");
        let _ = writeln!(out, "Subject: `{}`. Version {}.", t.subject, t.version);
        w(&mut out, "");
        if let Some(readers) = readers_markdown(t) {
            w(&mut out, &readers);
            w(&mut out, "");
        }
        w(&mut out, "| Field | Type | Description |");
        w(&mut out, "|---|---|---|");
        for field in t.all_fields() {
            let ty = match field.ty {
                FieldType::Id => "id".to_owned(),
                FieldType::Text => "string".to_owned(),
                FieldType::Integer => "integer".to_owned(),
                FieldType::Boolean => "boolean".to_owned(),
                FieldType::Timestamp => "timestamp".to_owned(),
                FieldType::Enum(names) => names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" \\| "),
                FieldType::IdList => "list of ids".to_owned(),
                FieldType::TextList => "list of strings".to_owned(),
            };
            let null = if field.nullable { " or null" } else { "" };
            let _ = writeln!(
                out,
                "| `{}` | {ty}{null} | {} |",
                field.name, field.description
            );
        }
        w(&mut out, "");
        w(
            &mut out,
            "<details><summary>JSON Schema of <code>data</code></summary>",
        );
        w(&mut out, "");
        w(&mut out, "```json");
        w(
            &mut out,
            &serde_json::to_string_pretty(&t.schema())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        w(&mut out, "```");
        w(&mut out, "");
        w(&mut out, "</details>");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_are_unique_and_lowercase() {
        let mut seen = std::collections::HashSet::new();
        for t in CATALOGUE {
            assert!(seen.insert(t.type_name()), "{} twice", t.type_name());
            assert!(
                t.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{}",
                t.name
            );
            let mut fields = std::collections::HashSet::new();
            for field in t.all_fields() {
                assert!(fields.insert(field.name), "{}: {}", t.name, field.name);
            }
        }
        // Every type is emitted by some command.
        for t in CATALOGUE {
            assert!(
                COMMANDS
                    .iter()
                    .any(|(_, _, evs)| evs.iter().any(|(e, _)| e.name == t.name)),
                "{} is emitted by no command",
                t.name
            );
        }
    }

    /// docs/events.md is what the code generates.
    #[test]
    fn docs_events_md_is_generated_from_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        let generated = catalogue_markdown().unwrap();
        assert!(
            on_disk == generated,
            "docs/events.md differs from the catalogue in crates/store/src/events.rs; regenerate it: \
             cargo run -- events catalogue > docs/events.md"
        );
    }

    /// A guard names fields its type has (and `changed` names the field lists), and a list of
    /// ids names an id list of the type and a kind of subject.
    #[test]
    fn guards_and_lists_name_what_their_type_has() {
        for t in CATALOGUE {
            let field = |name: &str| t.fields.iter().find(|f| f.name == name);
            for g in t.guards {
                match g.hides {
                    Hides::Event => {}
                    Hides::Fields(names) => {
                        for n in names {
                            let f = field(n).unwrap_or_else(|| panic!("{}: no `{n}`", t.name));
                            assert!(f.nullable, "{}: `{n}` is hidden as null", t.name);
                        }
                    }
                    Hides::Changed(names) => {
                        let changed =
                            field("changed").unwrap_or_else(|| panic!("{}: no `changed`", t.name));
                        for n in names {
                            assert!(
                                changed.description.contains(&format!("`{n}`")),
                                "{}: `changed` never names `{n}`",
                                t.name
                            );
                        }
                    }
                }
            }
            for (name, kind) in t.refers {
                let f = field(name).unwrap_or_else(|| panic!("{}: no `{name}`", t.name));
                assert_eq!(f.ty, FieldType::IdList, "{}: `{name}`", t.name);
                assert!(["application", "interview"].contains(kind), "{kind}");
            }
        }
    }

    /// Every field of every type is in its schema, required, and nothing else is.
    #[test]
    fn schemas_list_every_field() {
        for t in CATALOGUE {
            let schema = t.schema();
            let required = schema["required"].as_array().unwrap();
            let props = schema["properties"].as_object().unwrap();
            assert_eq!(required.len(), t.all_fields().count());
            assert_eq!(props.len(), t.all_fields().count());
            assert_eq!(schema["additionalProperties"], false);
        }
    }

    #[test]
    fn check_finds_missing_unknown_and_mistyped_fields() {
        let ok = json!({"candidate_id": "cand_1", "actor_id": null});
        assert!(CANDIDATE_CREATED.check(&ok).is_empty());
        let bad = json!({"candidate_id": 3, "email": "x@y"});
        let problems = CANDIDATE_CREATED.check(&bad);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn cloudevents_extension_names_are_lowercase_alphanumerics() {
        let e = OutboxEvent {
            org_id: "o".into(),
            seq: 1,
            id: "x".into(),
            event_type: CANDIDATE_CREATED.type_name(),
            subject: "candidate/c".into(),
            time: Instant::parse("2026-01-01T00:00:00Z").unwrap(),
            data: json!({}),
            published_at: None,
        };
        for key in e.cloudevent().as_object().unwrap().keys() {
            assert!(
                key.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{key}"
            );
        }
    }
}

/// Who and when the events of the next writes are attributed to: the `actor_id` of their
/// `data` and their `time`. Set for one command with [`crate::Store::acting_as`]; by default
/// no actor and the clock at commit.
#[derive(Clone, Debug, Default)]
pub struct EventContext {
    pub actor: Option<String>,
    pub at: Option<Instant>,
    /// Set while an automation rule's action runs: the depth its events get
    /// (`outbox.automation_depth`, migration 22).
    pub automation_depth: Option<i64>,
}

/// A store whose writes' events are attributed to an actor and a time until it is dropped
/// ([`crate::Store::acting_as`]).
pub struct Acting<'s> {
    store: &'s mut crate::Store,
}

impl std::ops::Deref for Acting<'_> {
    type Target = crate::Store;
    fn deref(&self) -> &crate::Store {
        self.store
    }
}

impl std::ops::DerefMut for Acting<'_> {
    fn deref_mut(&mut self) -> &mut crate::Store {
        self.store
    }
}

impl Drop for Acting<'_> {
    fn drop(&mut self) {
        *self.store.event_context_mut() = EventContext::default();
    }
}

impl crate::Store {
    /// The store with the events of its writes attributed to user `actor` (`None`: nobody
    /// named, e.g. the operator's CLI) at `at`, until the returned guard is dropped:
    /// `store.acting_as(Some(user), at).move_stage(org, cmd)`.
    pub fn acting_as(&mut self, actor: Option<&str>, at: Instant) -> Acting<'_> {
        let automation_depth = self.event_context().automation_depth;
        *self.event_context_mut() = EventContext {
            actor: actor.map(str::to_owned),
            at: Some(at),
            automation_depth,
        };
        Acting { store: self }
    }

    /// Marks the writes of this connection as an automation rule's, `depth` steps from a
    /// person's change (`None`: a person's again). Kept across [`crate::Store::acting_as`].
    pub fn set_automation_depth(&mut self, depth: Option<i64>) {
        self.event_context_mut().automation_depth = depth;
    }

    /// **For the mutation benchmark only** (`crates/app/benches/mutations.rs`,
    /// `bench/mutations.sh`): with `false`, this connection's write paths commit their changes
    /// without writing their events to the outbox, breaking the outbox invariant, so that a
    /// mutation can be timed with and without its event side by side. Nothing else calls it;
    /// every store starts with `true`.
    pub fn set_emit_events(&mut self, emit: bool) {
        match self {
            crate::Store::Sqlite(s) => s.emit_events = emit,
            crate::Store::Postgres(s) => s.emit_events = emit,
        }
    }

    pub(crate) fn emits_events(&self) -> bool {
        match self {
            crate::Store::Sqlite(s) => s.emit_events,
            crate::Store::Postgres(s) => s.emit_events,
        }
    }

    pub(crate) fn event_context(&mut self) -> &EventContext {
        self.event_context_mut()
    }

    fn event_context_mut(&mut self) -> &mut EventContext {
        match self {
            crate::Store::Sqlite(s) => &mut s.event_context,
            crate::Store::Postgres(s) => &mut s.event_context,
        }
    }

    /// The last `seq` org `org` has given out (0 before its first event): what a replica polls
    /// to learn that an org has new events without reading them (the API's subscriptions).
    pub fn outbox_head(&mut self, org: &str) -> Result<i64, StoreError> {
        use crate::rows::Val;
        use crate::write::tx::Kind;
        self.read_tx(org, |tx| {
            tx.query_opt(
                "SELECT last_seq FROM outbox_heads WHERE org_id = $1",
                &[Val::Text(org)],
                &[Kind::Int],
            )?
            .map_or(Ok(0), |r| r.int(0))
        })
    }

    /// Org `org`'s events after `query.after_seq`, by `seq`, at most `query.limit`, of the
    /// given types (all when none). Reading needs no lock: a committed event's predecessors in
    /// the org's sequence are all committed (see the module's doc).
    pub fn outbox_events(
        &mut self,
        org: &str,
        query: &EventQuery,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        use crate::rows::Val;
        let types =
            serde_json::to_string(&query.types).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.read_tx(org, |tx| {
            let filter = match (query.types.is_empty(), tx.is_postgres()) {
                (true, _) => "",
                (false, true) => " AND type IN (SELECT jsonb_array_elements_text($4::jsonb))",
                (false, false) => " AND type IN (SELECT value FROM json_each($4))",
            };
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM outbox \
                 WHERE org_id = $1 AND seq > $2{filter} ORDER BY seq LIMIT $3"
            );
            let mut params = vec![
                Val::Text(org),
                Val::Int(query.after_seq),
                Val::Int(i64::from(query.limit)),
            ];
            if !query.types.is_empty() {
                params.push(Val::Json(types.clone()));
            }
            let rows = tx.query(&sql, &params, &EVENT_KINDS)?;
            rows.iter().map(|r| OutboxEvent::from_row(org, r)).collect()
        })
    }
}

/// The columns an [`OutboxEvent`] is read from, in order ([`OutboxEvent::from_row`]).
pub(crate) const EVENT_COLUMNS: &str = "seq, id, type, subject, time, data, published_at";

/// What each of [`EVENT_COLUMNS`] holds.
pub(crate) const EVENT_KINDS: [crate::write::tx::Kind; 7] = {
    use crate::write::tx::Kind;
    [
        Kind::Int,
        Kind::Text,
        Kind::Text,
        Kind::Text,
        Kind::Instant,
        Kind::Json,
        Kind::Instant,
    ]
};

impl OutboxEvent {
    /// The event of org `org` in a row that starts with [`EVENT_COLUMNS`].
    pub(crate) fn from_row(org: &str, r: &crate::write::tx::Row) -> Result<Self, StoreError> {
        Ok(OutboxEvent {
            org_id: org.to_owned(),
            seq: r.int(0)?,
            id: r.text(1)?,
            event_type: r.text(2)?,
            subject: r.text(3)?,
            time: r.instant(4)?,
            data: r.json(5)?,
            published_at: r.opt_instant(6)?,
        })
    }
}
