//! The GraphQL shape of the data model, derived from the report catalog
//! (`query_compiler::catalog::ENTITIES`) so that the API and the report language can never
//! disagree: one object type per entity, one field per catalog field (camelCase), one nullable
//! object field per to-one relation, one connection per to-many relation. Demographics are not in
//! the API at all: they exist only inside safe aggregates.

use async_graphql::dynamic::TypeRef;
use query_compiler::catalog::{
    ENTITIES, Entity, EntityId, Field, FieldGroup, Link, Relation, Type,
};

/// What the API shows of one entity.
pub struct Shape {
    pub entity: &'static Entity,
    /// The GraphQL type name (`Application`).
    pub type_name: String,
    /// The root list field (`applications`) and single lookup (`application`), for entities
    /// with an `id`.
    pub list_field: String,
    pub single_field: String,
    pub fields: Vec<(String, &'static Field)>,
    pub to_one: Vec<(String, &'static Relation)>,
    /// To-many relations with the target's relation that points back (`job` for
    /// `Job.applications`).
    pub to_many: Vec<(String, &'static Relation, &'static str)>,
}

impl Shape {
    pub fn has_id(&self) -> bool {
        self.entity.field("id").is_some()
    }

    /// The report paths a stable order of this entity's rows follows: `id`, or the key.
    pub fn order_paths(&self) -> Vec<String> {
        if self.has_id() {
            return vec!["id".to_owned()];
        }
        self.entity
            .key
            .iter()
            .filter_map(|col| {
                let via = self
                    .entity
                    .relations
                    .iter()
                    .find(|r| matches!(r.link, Link::ToOne { local, .. } if local == *col));
                match via {
                    Some(r) => Some(format!("{}.id", r.name)),
                    None => self
                        .entity
                        .fields
                        .iter()
                        .find(|f| f.source == query_compiler::catalog::Source::Column(col))
                        .map(|f| f.name.to_owned()),
                }
            })
            .collect()
    }
}

/// `applied_at` → `appliedAt`: the names the API gives (one rule for every edge).
pub use app::api_names::camel;

/// `employment_type` → `EmploymentType`.
pub fn pascal(snake: &str) -> String {
    let c = camel(snake);
    let mut chars = c.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub fn type_name(id: EntityId) -> String {
    match id {
        EntityId::HiringTeam => "HiringTeamMember".to_owned(),
        EntityId::Feedback => "Feedback".to_owned(),
        other => pascal(Entity::get(other).singular),
    }
}

/// Whether the API shows `e` (demographics never).
fn shown(e: &Entity) -> bool {
    e.id != EntityId::Demographics
}

/// The GraphQL type of a field, and the enum it needs (name, values), if any.
pub fn field_type(shape_type: &str, f: &Field) -> (TypeRef, Option<(String, Vec<String>)>) {
    let named = |n: &str| (TypeRef::named(n), None);
    match &f.ty {
        Type::Text | Type::Select(_) => named(TypeRef::STRING),
        Type::Integer => named(TypeRef::INT),
        Type::Number => named(TypeRef::FLOAT),
        Type::Bool => named(TypeRef::BOOLEAN),
        Type::Instant => named("DateTime"),
        Type::Date => named("Date"),
        Type::Enum(values) => {
            let name = format!("{shape_type}{}", pascal(f.name));
            (
                TypeRef::named(&name),
                Some((name, values.iter().map(|v| (*v).to_owned()).collect())),
            )
        }
        Type::Multi(_) => (TypeRef::named_nn_list(TypeRef::STRING), None),
        // An object of names to numbers (a scorecard's scores), as the JSON scalar.
        Type::Map => named("JSON"),
    }
}

/// Every entity the API shows.
pub fn shapes() -> Vec<Shape> {
    ENTITIES
        .iter()
        .filter(|e| shown(e))
        .map(|e| {
            let type_name = type_name(e.id);
            let list_field = camel(e.name);
            let mut single_field = camel(e.singular);
            if single_field == list_field {
                single_field.push_str("ById");
            }
            let fields = e
                .fields
                .iter()
                .filter(|f| f.group != FieldGroup::Demographics)
                .map(|f| (camel(f.name), f))
                .collect();
            let to_one = e
                .relations
                .iter()
                .filter(|r| matches!(r.link, Link::ToOne { .. } | Link::CurrentOffer))
                .filter(|r| shown(Entity::get(r.target)))
                .map(|r| (camel(r.name), r))
                .collect();
            let to_many = e
                .relations
                .iter()
                .filter_map(|r| {
                    let Link::ToMany { remote } = r.link else {
                        return None;
                    };
                    let target = Entity::get(r.target);
                    let back = target.relations.iter().find(|b| {
                        b.target == e.id
                            && matches!(b.link, Link::ToOne { local, .. } if local == remote)
                    })?;
                    Some((camel(r.name), r, back.name))
                })
                .collect();
            Shape {
                entity: e,
                type_name,
                list_field,
                single_field,
                fields,
                to_one,
                to_many,
            }
        })
        .collect()
}

/// What value `value` of the enum of field `field` (catalog name) means, for the API's docs.
pub fn enum_value_doc(field: &str, value: &str) -> String {
    let doc = match (field, value) {
        // Application status.
        ("status", "active") => "In the pipeline: neither hired nor archived",
        ("status", "hired") => "Hired: reached the job's hired stage",
        ("status", "archived") => "Archived with a reason (rejected, withdrawn, ...); read-only",
        // Job status.
        ("status", "draft") => "Not yet published (a job) or not yet sent (an offer)",
        ("status", "open") => "Published and taking applications",
        ("status", "closed") => "No longer taking applications; may open again",
        // Interview status.
        ("status", "scheduled") => "Booked and not yet held",
        ("status", "completed") => "Held",
        ("status", "cancelled") => "Called off; its seats and feedback are kept",
        ("status", "no_show") => "The candidate did not come",
        // Offer status.
        ("status", "pending_approval") => "Waiting for approval before it can be sent",
        ("status", "approved") => "Approved and ready to send",
        ("status", "sent") => "Sent to the candidate; its terms no longer change",
        ("status", "accepted") => "The candidate accepted it",
        ("status", "declined") => "The candidate declined it",
        ("status", "rescinded") => "Withdrawn by the org before the candidate answered",
        ("employment_type", "full_time") => "Full-time employment",
        ("employment_type", "part_time") => "Part-time employment",
        ("employment_type", "contract") => "A fixed-term or freelance contract",
        ("employment_type", "intern") => "An internship",
        ("salary_period", "year") => "The salary is per year",
        ("salary_period", "hour") => "The salary is per hour",
        ("recommendation", "strong_no") => "Strongly against hiring",
        ("recommendation", "no") => "Against hiring",
        ("recommendation", "yes") => "For hiring",
        ("recommendation", "strong_yes") => "Strongly for hiring",
        ("kind", "lead") => "A sourced lead, before they applied",
        ("kind", "application_review") => "Reviewing the application",
        ("kind", "screen") => "A first call or screen",
        ("kind", "assessment") => "A take-home or test",
        ("kind", "interview") => "Interviews",
        ("kind", "onsite") => "The final loop of interviews",
        ("kind", "offer") => "Making an offer",
        ("kind", "hired") => "Hired: applications here are `hired`",
        ("kind", "referral") => "Referred by an employee",
        ("kind", "agency") => "Brought by a recruiting agency",
        ("kind", "job_board") => "Applied through a job board",
        ("kind", "sourced") => "Found and approached by a recruiter",
        ("kind", "career_site") => "Applied on the org's career site",
        ("kind", "event") => "Met at an event",
        ("kind", "other") => "Any other source",
        // Org roles and hiring team roles.
        ("role", "admin") => "Manages the org: users, policy, every job",
        ("role", "recruiter") => "Runs pipelines: candidates, applications, offers",
        ("role", "hiring_manager") => "Owns jobs and decides on their candidates",
        ("role", "coordinator") => "Schedules the job's interviews",
        ("role", "interviewer") => "Interviews candidates and submits feedback",
        ("role", "shadow") => "A trainee who watches the interview",
        ("role", "reverse_shadow") => {
            "A trainee who leads the interview, watched by a qualified one"
        }
        _ => return format!("The value `{value}` of `{field}`"),
    };
    doc.to_owned()
}
