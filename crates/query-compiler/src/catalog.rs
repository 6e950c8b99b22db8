//! What a report can name: the recruiting model's subjects, their fields and relations (fixed,
//! declared here once), and the tenant's part (custom fields, stage names, time zone), which is
//! only known at run time and comes through the [`Catalog`] trait.
//!
//! Relations are declared, never inferred: a to-one relation is a foreign key on this entity's
//! table (or, for `current_offer` and `demographics`, a key on the other's), a to-many relation a
//! foreign key on the target's table pointing here. The compiler uses that direction to decide
//! where rows could multiply (see `plan`).
//!
//! Fields of the `Demographics` group are never read row by row: the resolver accepts them only
//! as group keys of a report in the safe form ([`crate::demographics`]), whose other dimensions
//! and filters come from [`COARSE_FIELDS`] and [`COARSE_TIMESTAMPS`].

use domain::enums::{
    ApplicationStatus, EmploymentType, HiringTeamRole, InterviewStatus, InterviewerRole, JobStatus,
    OfferStatus, Recommendation, Role, SalaryPeriod, SourceKind, StageKind,
};

pub use domain::enums::{CustomEntity, CustomFieldType};

/// A value type in the language.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Text,
    Integer,
    Number,
    Bool,
    /// A point in time (UTC microseconds in SQLite, `timestamptz` in PostgreSQL).
    Instant,
    /// A calendar date (`YYYY-MM-DD`).
    Date,
    /// One of fixed values.
    Enum(&'static [&'static str]),
    /// One of a custom select field's options.
    Select(Vec<String>),
    /// A list of values (tags, multi-select custom fields): only `contains` applies.
    Multi(Vec<String>),
    /// An object of names to whole numbers (a scorecard's `scores`: attribute to 1..4), stored as
    /// a JSON object. A report shows it whole and may test it for null; nothing else applies (no
    /// comparison, grouping, ordering or aggregate but `count`), so both dialects agree on it.
    Map,
}

impl Type {
    pub fn name(&self) -> &'static str {
        match self {
            Type::Text => "text",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Bool => "boolean",
            Type::Instant => "timestamp",
            Type::Date => "date",
            Type::Enum(_) | Type::Select(_) => "choice",
            Type::Multi(_) => "list",
            Type::Map => "map",
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Integer | Type::Number)
    }

    pub fn is_textual(&self) -> bool {
        matches!(self, Type::Text | Type::Enum(_) | Type::Select(_))
    }

    /// The allowed values of a choice, when it has a fixed list.
    pub fn choices(&self) -> Option<Vec<&str>> {
        match self {
            Type::Enum(values) => Some(values.to_vec()),
            Type::Select(values) | Type::Multi(values) if !values.is_empty() => {
                Some(values.iter().map(String::as_str).collect())
            }
            _ => None,
        }
    }
}

/// Who may see a field: the policy engine masks the restricted groups per viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldGroup {
    Plain,
    Compensation,
    ContactDetails,
    Demographics,
    SensitiveCustom,
    /// Details beyond what an interviewer needs: an application's archive reason, source and
    /// credited user, a candidate's location, time zone and tags, a job's fields but its title
    /// (its department is a relation, not a detail), and every custom field that is not
    /// sensitive (of candidates, applications and jobs).
    Details,
    /// An application's stage history as read through `reached(...)`.
    StageHistory,
}

/// To-one relations that belong to a restricted field group of their row (the foreign key is
/// masked with the group: where the viewer does not see it, the relation leads nowhere).
pub static RESTRICTED_RELATIONS: &[(EntityId, &str, FieldGroup)] = &[
    (EntityId::Applications, "source", FieldGroup::Details),
    (EntityId::Applications, "credited_to", FieldGroup::Details),
];

/// The field group of the to-one relation `relation` of `entity` ([`RESTRICTED_RELATIONS`]).
pub fn relation_group(entity: EntityId, relation: &str) -> FieldGroup {
    RESTRICTED_RELATIONS
        .iter()
        .find(|(e, r, _)| *e == entity && *r == relation)
        .map_or(FieldGroup::Plain, |(_, _, g)| *g)
}

/// How a field is computed from its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Column(&'static str),
    /// A list stored as a JSON array column.
    JsonList(&'static str),
    /// Days between two instant columns (the second minus the first), null if either is.
    DaysBetween(&'static str, &'static str),
    /// Minutes between two instant columns.
    MinutesBetween(&'static str, &'static str),
    /// Feedback's recommendation as a score: strong_no 1, no 2, yes 3, strong_yes 4.
    RecommendationScore,
    /// A stage kind's place in a typical pipeline: lead 1, application_review 2, ... hired 8.
    StageKindRank,
    /// An offer is current when no later version exists for its application.
    CurrentOffer,
    /// When the application left the stage this transition entered: the next transition's time.
    LeftStageAt,
    /// Days from this transition to the next one of the same application (null while in stage).
    DaysInStage,
}

#[derive(Debug, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub source: Source,
    pub ty: Type,
    pub group: FieldGroup,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `local` column here references the target's key; `required` when it is never null.
    ToOne { local: &'static str, required: bool },
    /// The target's `remote` column references this entity's key.
    ToMany { remote: &'static str },
    /// The target's `remote` column references this entity's key and holds at most one row.
    Extension { remote: &'static str },
    /// The application's offer with the highest version.
    CurrentOffer,
}

#[derive(Debug, PartialEq)]
pub struct Relation {
    pub name: &'static str,
    pub target: EntityId,
    pub link: Link,
    pub doc: &'static str,
}

impl Relation {
    pub fn is_to_many(&self) -> bool {
        matches!(self.link, Link::ToMany { .. })
    }
}

/// Every entity a report can name, as an index into [`ENTITIES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityId {
    Applications,
    Candidates,
    Demographics,
    Jobs,
    Departments,
    Users,
    Sources,
    Stages,
    HiringTeam,
    StageTransitions,
    Interviews,
    InterviewParticipants,
    Feedback,
    Offers,
}

#[derive(Debug)]
pub struct Entity {
    pub id: EntityId,
    /// The name used in reports (`report applications`).
    pub name: &'static str,
    /// Singular, for messages ("each application").
    pub singular: &'static str,
    pub table: &'static str,
    /// The columns that identify a row within the org (after `org_id`).
    pub key: &'static [&'static str],
    pub fields: &'static [Field],
    pub relations: &'static [Relation],
    /// Whose custom fields live in this table's `custom_fields` column.
    pub custom: Option<CustomEntity>,
    /// Whether `report NAME` may start here.
    pub subject: bool,
    pub doc: &'static str,
}

impl Entity {
    pub fn get(id: EntityId) -> &'static Entity {
        &ENTITIES[id as usize]
    }

    pub fn by_name(name: &str) -> Option<&'static Entity> {
        ENTITIES.iter().find(|e| e.subject && e.name == name)
    }

    pub fn subjects() -> impl Iterator<Item = &'static Entity> {
        ENTITIES.iter().filter(|e| e.subject)
    }

    pub fn field(&self, name: &str) -> Option<&'static Field> {
        Entity::get(self.id).fields.iter().find(|f| f.name == name)
    }

    pub fn relation(&self, name: &str) -> Option<&'static Relation> {
        Entity::get(self.id)
            .relations
            .iter()
            .find(|r| r.name == name)
    }
}

/// The tenant's part of the catalog. The store implements it from the org's data.
pub trait Catalog {
    /// Changes whenever anything below changes; part of the compile cache key.
    fn version(&self) -> u64;
    /// The org's IANA time zone: dates and time buckets are local to it.
    fn time_zone(&self) -> &str;
    fn custom_fields(&self, entity: CustomEntity) -> &[CustomFieldDef];
    /// Every stage name used by any job of the org (for checking `reached("...")`).
    fn stage_names(&self) -> &[String];
}

/// A custom field as the compiler needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFieldDef {
    pub key: String,
    pub label: String,
    pub field_type: CustomFieldType,
    pub options: Vec<String>,
    pub sensitive: bool,
}

impl CustomFieldDef {
    pub fn ty(&self) -> Type {
        match self.field_type {
            CustomFieldType::Text => Type::Text,
            CustomFieldType::Number => Type::Number,
            CustomFieldType::Boolean => Type::Bool,
            CustomFieldType::Date => Type::Date,
            CustomFieldType::Select => Type::Select(self.options.clone()),
            CustomFieldType::MultiSelect => Type::Multi(self.options.clone()),
        }
    }
}

/// A catalog held in memory: what the store builds, and what tests use.
#[derive(Debug, Clone, Default)]
pub struct MemoryCatalog {
    pub version: u64,
    pub time_zone: String,
    pub custom: Vec<(CustomEntity, CustomFieldDef)>,
    pub stage_names: Vec<String>,
    by_entity: [Vec<CustomFieldDef>; 3],
}

impl MemoryCatalog {
    pub fn new(
        version: u64,
        time_zone: impl Into<String>,
        custom: Vec<(CustomEntity, CustomFieldDef)>,
        mut stage_names: Vec<String>,
    ) -> MemoryCatalog {
        stage_names.sort();
        stage_names.dedup();
        let mut by_entity: [Vec<CustomFieldDef>; 3] = Default::default();
        for (entity, def) in &custom {
            by_entity[custom_slot(*entity)].push(def.clone());
        }
        MemoryCatalog {
            version,
            time_zone: time_zone.into(),
            custom,
            stage_names,
            by_entity,
        }
    }
}

fn custom_slot(entity: CustomEntity) -> usize {
    match entity {
        CustomEntity::Candidate => 0,
        CustomEntity::Application => 1,
        CustomEntity::Job => 2,
    }
}

impl MemoryCatalog {
    /// A catalog shaped like the sample org `acme` (America/New_York; custom fields of every
    /// type, one of them sensitive; five stage names): what the compiler's tests, snapshots,
    /// benchmark and timing example compile against.
    pub fn example() -> MemoryCatalog {
        let def = |key: &str, field_type, options: &[&str], sensitive| CustomFieldDef {
            key: key.into(),
            label: key.into(),
            field_type,
            options: options.iter().map(|s| s.to_string()).collect(),
            sensitive,
        };
        MemoryCatalog::new(
            1,
            "America/New_York",
            vec![
                (
                    CustomEntity::Candidate,
                    def("years_of_experience", CustomFieldType::Number, &[], false),
                ),
                (
                    CustomEntity::Candidate,
                    def("visa_sponsorship", CustomFieldType::Boolean, &[], true),
                ),
                (
                    CustomEntity::Application,
                    def(
                        "referral_strength",
                        CustomFieldType::Select,
                        &["weak", "medium", "strong"],
                        false,
                    ),
                ),
                (
                    CustomEntity::Job,
                    def(
                        "level",
                        CustomFieldType::Select,
                        &["L3", "L4", "L5", "L6", "L7"],
                        false,
                    ),
                ),
                (
                    CustomEntity::Candidate,
                    def(
                        "languages",
                        CustomFieldType::MultiSelect,
                        &["English", "Spanish", "German"],
                        false,
                    ),
                ),
                (
                    CustomEntity::Application,
                    def("expected_start", CustomFieldType::Date, &[], false),
                ),
            ],
            [
                "Application Review",
                "Phone Screen",
                "Onsite",
                "Offer",
                "Hired",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        )
    }
}

impl Catalog for MemoryCatalog {
    fn version(&self) -> u64 {
        self.version
    }
    fn time_zone(&self) -> &str {
        &self.time_zone
    }
    fn custom_fields(&self, entity: CustomEntity) -> &[CustomFieldDef] {
        &self.by_entity[custom_slot(entity)]
    }
    fn stage_names(&self) -> &[String] {
        &self.stage_names
    }
}

const fn field(name: &'static str, column: &'static str, ty: Type, doc: &'static str) -> Field {
    Field {
        name,
        source: Source::Column(column),
        ty,
        group: FieldGroup::Plain,
        doc,
    }
}

const fn restricted(
    name: &'static str,
    column: &'static str,
    ty: Type,
    group: FieldGroup,
    doc: &'static str,
) -> Field {
    Field {
        name,
        source: Source::Column(column),
        ty,
        group,
        doc,
    }
}

const fn derived(name: &'static str, source: Source, ty: Type, doc: &'static str) -> Field {
    Field {
        name,
        source,
        ty,
        group: FieldGroup::Plain,
        doc,
    }
}

const fn one(
    name: &'static str,
    target: EntityId,
    local: &'static str,
    required: bool,
    doc: &'static str,
) -> Relation {
    Relation {
        name,
        target,
        link: Link::ToOne { local, required },
        doc,
    }
}

const fn many(
    name: &'static str,
    target: EntityId,
    remote: &'static str,
    doc: &'static str,
) -> Relation {
    Relation {
        name,
        target,
        link: Link::ToMany { remote },
        doc,
    }
}

const ID: Field = field("id", "id", Type::Text, "the record's id");

/// Shorter ways from a row to an ancestor than back up its own lists, valid because the importer
/// (and every write path) enforces them: an interview's stage belongs to its application's job,
/// and a scorecard's interview to its application. `(row entity, ancestor, to-one path)`.
pub static SHORTCUTS: &[(EntityId, EntityId, &[&str])] = &[
    (EntityId::Interviews, EntityId::Jobs, &["stage", "job"]),
    (
        EntityId::Feedback,
        EntityId::Jobs,
        &["interview", "stage", "job"],
    ),
];

/// The coarse fields: what a report over demographics may filter and group on besides its
/// demographic keys (see [`crate::demographics`]). Each names many people at once in any org
/// (a department, a job's title, a stage kind, a source kind, a location), never one record.
/// `(entity, field)`; anything not listed (ids, names, emails, free text, numbers, custom
/// fields) is refused there.
pub static COARSE_FIELDS: &[(EntityId, &str)] = &[
    (EntityId::Applications, "status"),
    (EntityId::Candidates, "location"),
    (EntityId::Jobs, "title"),
    (EntityId::Jobs, "location"),
    (EntityId::Jobs, "employment_type"),
    (EntityId::Jobs, "status"),
    (EntityId::Departments, "name"),
    (EntityId::Sources, "name"),
    (EntityId::Sources, "kind"),
    (EntityId::Stages, "name"),
    (EntityId::Stages, "kind"),
];

/// Timestamps a report over demographics may read only coarsened: as `month(..)`, `quarter(..)`
/// or `year(..)`, or in a relative range of months, quarters or years. Never exact.
pub static COARSE_TIMESTAMPS: &[(EntityId, &str)] = &[
    (EntityId::Applications, "applied_at"),
    (EntityId::Applications, "hired_at"),
    (EntityId::Applications, "archived_at"),
    (EntityId::Candidates, "created_at"),
    (EntityId::Jobs, "opened_at"),
    (EntityId::Jobs, "closed_at"),
];

/// Columns by which the store indexes an entity's rows in key order: `(entity, column)` for an
/// index of (`org_id`, column, key). A page may be driven from a set of such a column's values
/// (`lower`, `Lower::page_driver`: per value, an index range up to the page's limit); driven by
/// a column without one, each value would walk the key index instead. The key itself is always
/// indexed (the primary key). The store keeps these indexes (migration 29:
/// `applications_job_page`).
pub static KEY_ORDERED_INDEXES: &[(EntityId, &str)] = &[(EntityId::Applications, "job_id")];

/// Keys of an ancestor that a row stores itself: `(row entity, to-one path, column)`. The row's
/// `column` holds the key of the path's end, and so does the column of the same name of every
/// entity the path passes (an application's `job_id`; an interview's stored `job_id`): the store
/// writes them with the row and every write path keeps them equal (migration 6). When a viewer's
/// filters on the entities the path passes read nothing but that column, the compiler joins the
/// path's end by the row's own column and applies those filters to it (see `lower`): the same
/// rows, without joining every application.
pub static STORED_KEYS: &[(EntityId, &[&str], &str)] = &[
    (
        EntityId::StageTransitions,
        &["application", "job"],
        "job_id",
    ),
    (EntityId::Interviews, &["application", "job"], "job_id"),
    (
        EntityId::InterviewParticipants,
        &["interview", "application", "job"],
        "job_id",
    ),
    (EntityId::Feedback, &["application", "job"], "job_id"),
    (EntityId::Offers, &["application", "job"], "job_id"),
];

/// The model, indexed by [`EntityId`].
pub static ENTITIES: [Entity; 14] = [
    Entity {
        id: EntityId::Applications,
        name: "applications",
        singular: "application",
        table: "applications",
        key: &["id"],
        fields: &[
            ID,
            field(
                "applied_at",
                "applied_at",
                Type::Instant,
                "when the candidate applied",
            ),
            field(
                "status",
                "status",
                Type::Enum(ApplicationStatus::NAMES),
                "active, hired or archived",
            ),
            field(
                "hired_at",
                "hired_at",
                Type::Instant,
                "when hired (null unless hired)",
            ),
            field(
                "archived_at",
                "archived_at",
                Type::Instant,
                "when archived (null unless archived)",
            ),
            restricted(
                "archive_reason",
                "archive_reason",
                Type::Text,
                FieldGroup::Details,
                "why it was archived",
            ),
            derived(
                "time_to_hire",
                Source::DaysBetween("applied_at", "hired_at"),
                Type::Number,
                "days from applying to being hired (null unless hired)",
            ),
        ],
        relations: &[
            one(
                "candidate",
                EntityId::Candidates,
                "candidate_id",
                true,
                "who applied",
            ),
            one("job", EntityId::Jobs, "job_id", true, "the job applied to"),
            one(
                "source",
                EntityId::Sources,
                "source_id",
                false,
                "where the application came from",
            ),
            one(
                "credited_to",
                EntityId::Users,
                "credited_to_user_id",
                false,
                "the user credited with it",
            ),
            one(
                "current_stage",
                EntityId::Stages,
                "current_stage_id",
                true,
                "the stage it is in now",
            ),
            Relation {
                name: "current_offer",
                target: EntityId::Offers,
                link: Link::CurrentOffer,
                doc: "the offer with the highest version, if any",
            },
            many(
                "stage_transitions",
                EntityId::StageTransitions,
                "application_id",
                "entries into stages",
            ),
            many(
                "interviews",
                EntityId::Interviews,
                "application_id",
                "its interviews",
            ),
            many(
                "feedback",
                EntityId::Feedback,
                "application_id",
                "feedback on its interviews",
            ),
            many(
                "offers",
                EntityId::Offers,
                "application_id",
                "every version of every offer",
            ),
        ],
        custom: Some(CustomEntity::Application),
        subject: true,
        doc: "one candidate's application to one job",
    },
    Entity {
        id: EntityId::Candidates,
        name: "candidates",
        singular: "candidate",
        table: "candidates",
        key: &["id"],
        fields: &[
            ID,
            field("name", "name", Type::Text, "full name"),
            restricted(
                "email",
                "email",
                Type::Text,
                FieldGroup::ContactDetails,
                "email address",
            ),
            restricted(
                "phone",
                "phone",
                Type::Text,
                FieldGroup::ContactDetails,
                "phone number",
            ),
            restricted(
                "location",
                "location",
                Type::Text,
                FieldGroup::Details,
                "where they live",
            ),
            restricted(
                "timezone",
                "timezone",
                Type::Text,
                FieldGroup::Details,
                "their IANA time zone",
            ),
            field(
                "created_at",
                "created_at",
                Type::Instant,
                "when the record was created",
            ),
            Field {
                name: "tags",
                source: Source::JsonList("tags"),
                ty: Type::Multi(Vec::new()),
                group: FieldGroup::Details,
                doc: "free tags (use `tags contains \"x\"`)",
            },
        ],
        relations: &[
            many(
                "applications",
                EntityId::Applications,
                "candidate_id",
                "their applications",
            ),
            Relation {
                name: "demographics",
                target: EntityId::Demographics,
                link: Link::Extension {
                    remote: "candidate_id",
                },
                doc: "self-reported demographics (aggregates only, groups of 5 or more)",
            },
        ],
        custom: Some(CustomEntity::Candidate),
        subject: true,
        doc: "a person who applied or was sourced",
    },
    Entity {
        id: EntityId::Demographics,
        name: "demographics",
        singular: "demographics record",
        table: "candidate_demographics",
        key: &["candidate_id"],
        fields: &[
            restricted(
                "gender",
                "gender",
                Type::Text,
                FieldGroup::Demographics,
                "self-reported gender",
            ),
            restricted(
                "race_ethnicity",
                "race_ethnicity",
                Type::Text,
                FieldGroup::Demographics,
                "self-reported race or ethnicity",
            ),
            restricted(
                "veteran_status",
                "veteran_status",
                Type::Text,
                FieldGroup::Demographics,
                "self-reported veteran status",
            ),
            restricted(
                "disability_status",
                "disability_status",
                Type::Text,
                FieldGroup::Demographics,
                "self-reported disability status",
            ),
        ],
        relations: &[],
        custom: None,
        subject: false,
        doc: "a candidate's self-reported demographics",
    },
    Entity {
        id: EntityId::Jobs,
        name: "jobs",
        singular: "job",
        table: "jobs",
        key: &["id"],
        fields: &[
            ID,
            field("title", "title", Type::Text, "the job's title"),
            // The rest is details: an interviewer sees a job's title and department only.
            restricted(
                "location",
                "location",
                Type::Text,
                FieldGroup::Details,
                "where the job is",
            ),
            restricted(
                "employment_type",
                "employment_type",
                Type::Enum(EmploymentType::NAMES),
                FieldGroup::Details,
                "full_time, ...",
            ),
            restricted(
                "status",
                "status",
                Type::Enum(JobStatus::NAMES),
                FieldGroup::Details,
                "draft, open, closed or archived",
            ),
            restricted(
                "confidential",
                "confidential",
                Type::Bool,
                FieldGroup::Details,
                "whether only its hiring team sees it",
            ),
            restricted(
                "opened_at",
                "opened_at",
                Type::Instant,
                FieldGroup::Details,
                "when it opened",
            ),
            restricted(
                "closed_at",
                "closed_at",
                Type::Instant,
                FieldGroup::Details,
                "when it closed (null while open)",
            ),
            restricted(
                "headcount",
                "headcount",
                Type::Integer,
                FieldGroup::Details,
                "how many people it hires",
            ),
        ],
        relations: &[
            one(
                "department",
                EntityId::Departments,
                "department_id",
                true,
                "its department",
            ),
            many(
                "applications",
                EntityId::Applications,
                "job_id",
                "applications to it",
            ),
            many("stages", EntityId::Stages, "job_id", "its pipeline"),
            many(
                "hiring_team",
                EntityId::HiringTeam,
                "job_id",
                "its hiring team",
            ),
        ],
        custom: Some(CustomEntity::Job),
        subject: true,
        doc: "a requisition with its pipeline",
    },
    Entity {
        id: EntityId::Departments,
        name: "departments",
        singular: "department",
        table: "departments",
        key: &["id"],
        fields: &[
            ID,
            field("name", "name", Type::Text, "the department's name"),
        ],
        relations: &[
            one(
                "parent",
                EntityId::Departments,
                "parent_id",
                false,
                "the department above it",
            ),
            many("jobs", EntityId::Jobs, "department_id", "its jobs"),
        ],
        custom: None,
        subject: true,
        doc: "a part of the org",
    },
    Entity {
        id: EntityId::Users,
        name: "users",
        singular: "user",
        table: "users",
        key: &["id"],
        fields: &[
            ID,
            field("name", "name", Type::Text, "full name"),
            field("email", "email", Type::Text, "work email"),
            field(
                "role",
                "role",
                Type::Enum(Role::NAMES),
                "admin, recruiter, hiring_manager or interviewer",
            ),
            field("timezone", "timezone", Type::Text, "their IANA time zone"),
            field(
                "active",
                "active",
                Type::Bool,
                "whether they can be scheduled",
            ),
            field(
                "max_interviews_per_day",
                "max_interviews_per_day",
                Type::Integer,
                "load limit per day",
            ),
            field(
                "max_interviews_per_week",
                "max_interviews_per_week",
                Type::Integer,
                "load limit per week",
            ),
        ],
        relations: &[
            many(
                "interview_participants",
                EntityId::InterviewParticipants,
                "user_id",
                "their seats on interviews",
            ),
            many(
                "feedback",
                EntityId::Feedback,
                "author_id",
                "feedback they wrote",
            ),
            many(
                "hiring_team",
                EntityId::HiringTeam,
                "user_id",
                "their places on hiring teams",
            ),
        ],
        custom: None,
        subject: true,
        doc: "someone at the org who uses hireplane",
    },
    Entity {
        id: EntityId::Sources,
        name: "sources",
        singular: "source",
        table: "sources",
        key: &["id"],
        fields: &[
            ID,
            field("name", "name", Type::Text, "the source's name"),
            field(
                "kind",
                "kind",
                Type::Enum(SourceKind::NAMES),
                "referral, agency, job_board, ...",
            ),
        ],
        relations: &[many(
            "applications",
            EntityId::Applications,
            "source_id",
            "applications it brought",
        )],
        custom: None,
        subject: true,
        doc: "where applications come from",
    },
    Entity {
        id: EntityId::Stages,
        name: "stages",
        singular: "stage",
        table: "stages",
        key: &["id"],
        fields: &[
            ID,
            field("name", "name", Type::Text, "the stage's name"),
            field(
                "kind",
                "kind",
                Type::Enum(StageKind::NAMES),
                "lead, screen, onsite, offer, hired, ...",
            ),
            field(
                "position",
                "position",
                Type::Integer,
                "its place in the job's pipeline, from 1",
            ),
            derived(
                "kind_order",
                Source::StageKindRank,
                Type::Integer,
                "the kind's place in a typical pipeline: lead 1, application_review 2, ... hired 8",
            ),
        ],
        relations: &[
            one(
                "job",
                EntityId::Jobs,
                "job_id",
                true,
                "the job whose pipeline it is in",
            ),
            many(
                "stage_transitions",
                EntityId::StageTransitions,
                "to_stage_id",
                "entries into it",
            ),
        ],
        custom: None,
        subject: true,
        doc: "a step of a job's pipeline",
    },
    Entity {
        id: EntityId::HiringTeam,
        name: "hiring_team",
        singular: "hiring team member",
        table: "hiring_team",
        key: &["job_id", "user_id", "role"],
        fields: &[field(
            "role",
            "role",
            Type::Enum(HiringTeamRole::NAMES),
            "their role on the team",
        )],
        relations: &[
            one("job", EntityId::Jobs, "job_id", true, "the job"),
            one("user", EntityId::Users, "user_id", true, "the member"),
        ],
        custom: None,
        subject: true,
        doc: "one person's role on one job's hiring team",
    },
    Entity {
        id: EntityId::StageTransitions,
        name: "stage_transitions",
        singular: "stage transition",
        table: "stage_transitions",
        key: &["id"],
        fields: &[
            ID,
            field(
                "at",
                "at",
                Type::Instant,
                "when the application entered the stage",
            ),
            derived(
                "left_at",
                Source::LeftStageAt,
                Type::Instant,
                "when it left the stage (null while in it)",
            ),
            derived(
                "days_in_stage",
                Source::DaysInStage,
                Type::Number,
                "days from entering to leaving the stage (null while in it)",
            ),
        ],
        relations: &[
            one(
                "application",
                EntityId::Applications,
                "application_id",
                true,
                "whose move it was",
            ),
            one(
                "stage",
                EntityId::Stages,
                "to_stage_id",
                true,
                "the stage entered",
            ),
            one(
                "from_stage",
                EntityId::Stages,
                "from_stage_id",
                false,
                "the stage left (null for the first)",
            ),
            one("by", EntityId::Users, "by_user_id", false, "who moved it"),
        ],
        custom: None,
        subject: true,
        doc: "an application entering a stage",
    },
    Entity {
        id: EntityId::Interviews,
        name: "interviews",
        singular: "interview",
        table: "interviews",
        key: &["id"],
        fields: &[
            ID,
            field("title", "title", Type::Text, "what the interview is"),
            field("starts_at", "starts_at", Type::Instant, "when it starts"),
            field("ends_at", "ends_at", Type::Instant, "when it ends"),
            field(
                "status",
                "status",
                Type::Enum(InterviewStatus::NAMES),
                "scheduled, completed, ...",
            ),
            derived(
                "duration_minutes",
                Source::MinutesBetween("starts_at", "ends_at"),
                Type::Number,
                "its length",
            ),
        ],
        relations: &[
            one(
                "application",
                EntityId::Applications,
                "application_id",
                true,
                "the application",
            ),
            one(
                "stage",
                EntityId::Stages,
                "stage_id",
                true,
                "the stage it belongs to",
            ),
            many(
                "interview_participants",
                EntityId::InterviewParticipants,
                "interview_id",
                "who sits in",
            ),
            many(
                "feedback",
                EntityId::Feedback,
                "interview_id",
                "feedback on it",
            ),
        ],
        custom: None,
        subject: true,
        doc: "a scheduled conversation with a candidate",
    },
    Entity {
        id: EntityId::InterviewParticipants,
        name: "interview_participants",
        singular: "interview participant",
        table: "interview_participants",
        key: &["interview_id", "user_id"],
        fields: &[field(
            "role",
            "role",
            Type::Enum(InterviewerRole::NAMES),
            "interviewer, shadow or reverse_shadow",
        )],
        relations: &[
            one(
                "interview",
                EntityId::Interviews,
                "interview_id",
                true,
                "the interview",
            ),
            one("user", EntityId::Users, "user_id", true, "the interviewer"),
        ],
        custom: None,
        subject: true,
        doc: "one interviewer on one interview, with their role",
    },
    Entity {
        id: EntityId::Feedback,
        name: "feedback",
        singular: "feedback",
        table: "feedback",
        key: &["id"],
        fields: &[
            ID,
            field(
                "submitted_at",
                "submitted_at",
                Type::Instant,
                "when it was submitted",
            ),
            field(
                "recommendation",
                "recommendation",
                Type::Enum(Recommendation::NAMES),
                "strong_no .. strong_yes",
            ),
            derived(
                "score",
                Source::RecommendationScore,
                Type::Integer,
                "the recommendation as 1 (strong_no) to 4",
            ),
            // Visible with the scorecard: the default policy restricts scorecards by row (their
            // author, the job's recruiters and hiring team), and no field group masks these.
            field(
                "scores",
                "scores",
                Type::Map,
                "each attribute's score, 1 to 4 (`{\"coding\": 3}`)",
            ),
            field("notes", "notes", Type::Text, "what the author wrote"),
        ],
        relations: &[
            one(
                "interview",
                EntityId::Interviews,
                "interview_id",
                true,
                "the interview",
            ),
            one(
                "application",
                EntityId::Applications,
                "application_id",
                true,
                "the application",
            ),
            one("author", EntityId::Users, "author_id", true, "who wrote it"),
        ],
        custom: None,
        subject: true,
        doc: "an interviewer's scorecard",
    },
    Entity {
        id: EntityId::Offers,
        name: "offers",
        singular: "offer",
        table: "offers",
        key: &["id"],
        fields: &[
            ID,
            field(
                "version",
                "version",
                Type::Integer,
                "1 for the first offer, then each revision",
            ),
            derived(
                "current",
                Source::CurrentOffer,
                Type::Bool,
                "whether it is the highest version",
            ),
            field(
                "created_at",
                "created_at",
                Type::Instant,
                "when it was created",
            ),
            field(
                "status",
                "status",
                Type::Enum(OfferStatus::NAMES),
                "draft .. accepted, declined, rescinded",
            ),
            field(
                "resolved_at",
                "resolved_at",
                Type::Instant,
                "when accepted, declined or rescinded",
            ),
            field(
                "start_date",
                "start_date",
                Type::Date,
                "the proposed start date",
            ),
            restricted(
                "salary",
                "salary_amount",
                Type::Number,
                FieldGroup::Compensation,
                "base salary",
            ),
            restricted(
                "salary_currency",
                "salary_currency",
                Type::Text,
                FieldGroup::Compensation,
                "ISO currency",
            ),
            restricted(
                "salary_period",
                "salary_period",
                Type::Enum(SalaryPeriod::NAMES),
                FieldGroup::Compensation,
                "year or hour",
            ),
            restricted(
                "bonus",
                "bonus",
                Type::Number,
                FieldGroup::Compensation,
                "bonus amount",
            ),
            restricted(
                "equity",
                "equity",
                Type::Text,
                FieldGroup::Compensation,
                "equity terms",
            ),
        ],
        relations: &[one(
            "application",
            EntityId::Applications,
            "application_id",
            true,
            "the application",
        )],
        custom: None,
        subject: true,
        doc: "one version of an offer",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_indexed_by_their_id() {
        for (i, entity) in ENTITIES.iter().enumerate() {
            assert_eq!(entity.id as usize, i, "{}", entity.name);
        }
    }

    #[test]
    fn names_are_unique_within_an_entity() {
        for entity in &ENTITIES {
            let mut names: Vec<&str> = entity.fields.iter().map(|f| f.name).collect();
            names.extend(entity.relations.iter().map(|r| r.name));
            names.push("custom");
            let before = names.len();
            names.sort();
            names.dedup();
            assert_eq!(before, names.len(), "{}", entity.name);
        }
    }
}
