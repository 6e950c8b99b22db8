//! What Cedar's entity types and attributes mean in the store: the one place where policies meet
//! tables. Each attribute of `policies/hireplane.cedarschema` is declared here once with its SQL
//! meaning; [`crate::residual`] translates residual policies with it, and a test checks that this
//! table and the schema declare the same attributes.

use query_compiler::EntityId;

/// An entity type: its table and attributes.
#[derive(Debug)]
pub struct TypeModel {
    /// The Cedar type name, without the namespace (`Application`).
    pub name: &'static str,
    /// The report subject whose rows these are (none for `Org`).
    pub entity: Option<EntityId>,
    pub table: &'static str,
    /// The key column within the org; `None` for link tables keyed by several columns, which
    /// policies cannot name one by one.
    pub key: Option<&'static str>,
    pub attrs: &'static [Attr],
    /// References through other entities whose end the row stores itself (see [`Shortcut`]).
    pub shortcuts: &'static [Shortcut],
}

/// A path of required references from a type whose last entity the row stores in a column of
/// its own: `Interview`'s `application.job` is `interviews.job_id`. The residual translator
/// takes the column instead of going through the references, so a condition on an
/// interview's job is one lookup of a few jobs, not a join through every application. Declared
/// only where the store keeps the column equal to the path's end on every write (migration 6:
/// the job of the rows below an application; `crates/store/src/rows.rs`).
#[derive(Debug)]
pub struct Shortcut {
    /// Attribute names from the type, each a required reference (`["application", "job"]`).
    pub path: &'static [&'static str],
    /// The column of the type's table that holds the key of the path's end.
    pub column: &'static str,
}

/// The job of the row's application, stored as `job_id`.
const APPLICATION_JOB: Shortcut = Shortcut {
    path: &["application", "job"],
    column: "job_id",
};

#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: AttrKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Bool,
    Long,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    /// The row's org (`org_id`): within a statement always the viewer's org.
    Org,
    /// A NOT NULL column.
    Column(&'static str, ColumnType),
    /// A reference to another entity through a foreign key column.
    Ref {
        column: &'static str,
        target: &'static str,
        optional: bool,
    },
    /// A set of users, defined by the rows that link them (see [`Membership`]).
    Users(Membership),
    /// A boolean derived from other tables, which the store keeps in a column of the row (see
    /// [`Derived`]).
    Derived(Derived),
}

/// Set-of-users attributes: for a user, the keys of the rows whose set contains them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// `Job.hiringTeam`: `hiring_team` rows of the job, any role.
    JobHiringTeam,
    /// `Application.interviewers`: seats on any of the application's interviews (the seat's
    /// stored `application_id`, migration 34: always its interview's application).
    ApplicationInterviewers,
    /// `Interview.participants`: the interview's seats.
    InterviewParticipants,
    /// `Candidate.hiringTeam`: hiring teams of the jobs the candidate applied to.
    CandidateHiringTeam,
    /// `Candidate.interviewers`: seats on interviews of any of the candidate's applications.
    CandidateInterviewers,
    /// `Job.interviewers`: seats on interviews of any of the job's applications (the seat's
    /// stored `job_id`).
    JobInterviewers,
    /// `Application.feedbackAuthors`: authors of feedback on the application.
    ApplicationFeedbackAuthors,
}

/// Booleans defined by other tables, which the store keeps in a column of the row so that a
/// policy on one reads the row instead of computing the definition on every statement. Declared
/// only where the store keeps the column equal to the definition on every write (the import at
/// commit, each write path in its transaction; `crates/store/src/rows.rs`,
/// `Table::derived_columns`). Single Cedar decisions (`crates/store/src/facts.rs`) compute the
/// definition itself, so that the agreement tests between row filters and decisions check the
/// column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived {
    /// `Candidate.hasNonConfidentialJob`: an application to a job that is not confidential
    /// (migration 8: `candidates.has_non_confidential_job`).
    CandidateHasNonConfidentialJob,
}

impl Derived {
    /// The NOT NULL boolean column of the type's table that holds it.
    pub const fn column(self) -> &'static str {
        match self {
            Derived::CandidateHasNonConfidentialJob => "has_non_confidential_job",
        }
    }

    /// The estimated share of rows for which it holds.
    pub const fn selectivity(self) -> f64 {
        match self {
            // Most candidates have applied to a job that is not confidential.
            Derived::CandidateHasNonConfidentialJob => 0.9,
        }
    }
}

const fn col(name: &'static str, column: &'static str, ty: ColumnType) -> Attr {
    Attr {
        name,
        kind: AttrKind::Column(column, ty),
    }
}

const fn reference(name: &'static str, column: &'static str, target: &'static str) -> Attr {
    Attr {
        name,
        kind: AttrKind::Ref {
            column,
            target,
            optional: false,
        },
    }
}

const fn optional(name: &'static str, column: &'static str, target: &'static str) -> Attr {
    Attr {
        name,
        kind: AttrKind::Ref {
            column,
            target,
            optional: true,
        },
    }
}

const fn users(name: &'static str, m: Membership) -> Attr {
    Attr {
        name,
        kind: AttrKind::Users(m),
    }
}

const ORG: Attr = Attr {
    name: "org",
    kind: AttrKind::Org,
};

use ColumnType::{Bool, Text};

pub static TYPES: [TypeModel; 15] = [
    TypeModel {
        name: "Org",
        entity: None,
        table: "orgs",
        key: Some("org_id"),
        attrs: &[],
        shortcuts: &[],
    },
    TypeModel {
        name: "User",
        entity: Some(EntityId::Users),
        table: "users",
        key: Some("id"),
        attrs: &[
            ORG,
            col("role", "role", Text),
            col("active", "active", Bool),
        ],
        shortcuts: &[],
    },
    TypeModel {
        name: "Department",
        entity: Some(EntityId::Departments),
        table: "departments",
        key: Some("id"),
        attrs: &[ORG],
        shortcuts: &[],
    },
    TypeModel {
        name: "Source",
        entity: Some(EntityId::Sources),
        table: "sources",
        key: Some("id"),
        attrs: &[ORG, col("kind", "kind", Text)],
        shortcuts: &[],
    },
    TypeModel {
        name: "Job",
        entity: Some(EntityId::Jobs),
        table: "jobs",
        key: Some("id"),
        attrs: &[
            ORG,
            col("status", "status", Text),
            col("confidential", "confidential", Bool),
            reference("department", "department_id", "Department"),
            users("hiringTeam", Membership::JobHiringTeam),
            users("interviewers", Membership::JobInterviewers),
        ],
        shortcuts: &[],
    },
    TypeModel {
        name: "HiringTeamMember",
        entity: Some(EntityId::HiringTeam),
        table: "hiring_team",
        key: None,
        attrs: &[
            ORG,
            reference("job", "job_id", "Job"),
            reference("user", "user_id", "User"),
            col("role", "role", Text),
        ],
        shortcuts: &[],
    },
    TypeModel {
        name: "Stage",
        entity: Some(EntityId::Stages),
        table: "stages",
        key: Some("id"),
        attrs: &[
            ORG,
            reference("job", "job_id", "Job"),
            col("kind", "kind", Text),
        ],
        shortcuts: &[],
    },
    TypeModel {
        name: "Candidate",
        entity: Some(EntityId::Candidates),
        table: "candidates",
        key: Some("id"),
        attrs: &[
            ORG,
            users("hiringTeam", Membership::CandidateHiringTeam),
            users("interviewers", Membership::CandidateInterviewers),
            Attr {
                name: "hasNonConfidentialJob",
                kind: AttrKind::Derived(Derived::CandidateHasNonConfidentialJob),
            },
        ],
        shortcuts: &[],
    },
    TypeModel {
        name: "Application",
        entity: Some(EntityId::Applications),
        table: "applications",
        key: Some("id"),
        attrs: &[
            ORG,
            reference("job", "job_id", "Job"),
            reference("candidate", "candidate_id", "Candidate"),
            reference("stage", "current_stage_id", "Stage"),
            col("status", "status", Text),
            users("interviewers", Membership::ApplicationInterviewers),
            users("feedbackAuthors", Membership::ApplicationFeedbackAuthors),
            optional("source", "source_id", "Source"),
            optional("creditedTo", "credited_to_user_id", "User"),
        ],
        shortcuts: &[],
    },
    TypeModel {
        name: "StageTransition",
        entity: Some(EntityId::StageTransitions),
        table: "stage_transitions",
        key: Some("id"),
        attrs: &[
            ORG,
            reference("application", "application_id", "Application"),
            optional("byUser", "by_user_id", "User"),
        ],
        shortcuts: &[APPLICATION_JOB],
    },
    TypeModel {
        name: "Interview",
        entity: Some(EntityId::Interviews),
        table: "interviews",
        key: Some("id"),
        attrs: &[
            ORG,
            reference("application", "application_id", "Application"),
            reference("stage", "stage_id", "Stage"),
            col("status", "status", Text),
            users("participants", Membership::InterviewParticipants),
        ],
        shortcuts: &[APPLICATION_JOB],
    },
    TypeModel {
        name: "InterviewParticipant",
        entity: Some(EntityId::InterviewParticipants),
        table: "interview_participants",
        key: None,
        attrs: &[
            ORG,
            reference("interview", "interview_id", "Interview"),
            reference("user", "user_id", "User"),
            col("role", "role", Text),
        ],
        shortcuts: &[Shortcut {
            path: &["interview", "application", "job"],
            column: "job_id",
        }],
    },
    TypeModel {
        name: "Feedback",
        entity: Some(EntityId::Feedback),
        table: "feedback",
        key: Some("id"),
        attrs: &[
            ORG,
            reference("application", "application_id", "Application"),
            reference("interview", "interview_id", "Interview"),
            reference("author", "author_id", "User"),
        ],
        shortcuts: &[APPLICATION_JOB],
    },
    TypeModel {
        name: "Offer",
        entity: Some(EntityId::Offers),
        table: "offers",
        key: Some("id"),
        attrs: &[
            ORG,
            reference("application", "application_id", "Application"),
            col("status", "status", Text),
        ],
        shortcuts: &[APPLICATION_JOB],
    },
    // Demographics are not a Cedar resource: nobody sees them at row level; aggregates are
    // allowed per org by `viewDemographicsAggregate` and count only candidates the viewer sees.
    TypeModel {
        name: "Demographics",
        entity: Some(EntityId::Demographics),
        table: "candidate_demographics",
        key: None,
        attrs: &[],
        shortcuts: &[],
    },
];

/// An attribute of an entity a path of required references away whose value the row stores
/// itself: an application's `job.confidential` is `applications.job_confidential` (migration 30).
/// Declared only where the store keeps the column equal to the attribute on every write (the
/// import at commit, each write path in its transaction; `crates/store/src/rows.rs`,
/// `Table::derived_columns`, `Store::stale_application_flags`). The translator reads the
/// column instead of the reference in the page form of a filter only
/// ([`crate::residual::Translator::stored`]): a page probes the rows it reads, and the column
/// costs nothing per row, where the set of the org's confidential jobs costs a hash probe per
/// row; whole-org reports keep the reference, whose filter on an application then reads nothing
/// but its `job_id`, which the compiler can apply to the rows below an application by their own
/// stored `job_id` (`lower::stored_key`). Single decisions read the job's own attribute, so the
/// agreement tests, which read every viewer's applications in pages too, check the column.
#[derive(Debug)]
pub struct StoredAttr {
    /// The row's type (`Application`).
    pub ty: &'static str,
    /// Attribute names from the type, each a required reference (`["job"]`), and the
    /// attribute of the entity they reach (`confidential`).
    pub path: &'static [&'static str],
    pub attr: &'static str,
    /// The NOT NULL column of the row's table that holds it, and its type.
    pub column: &'static str,
    pub column_type: ColumnType,
}

pub static STORED_ATTRS: [StoredAttr; 1] = [StoredAttr {
    ty: "Application",
    path: &["job"],
    attr: "confidential",
    column: "job_confidential",
    column_type: ColumnType::Bool,
}];

/// The column of a row of type `ty` that stores attribute `attr` of the entity at the end of
/// the references `path` ([`STORED_ATTRS`]).
pub fn stored_attr(ty: &str, path: &[&str], attr: &str) -> Option<&'static StoredAttr> {
    STORED_ATTRS
        .iter()
        .find(|s| s.ty == ty && s.path == path && s.attr == attr)
}

/// A condition on a row that implies a condition on the entity it references, by the
/// definition of the referenced entity's attribute (the [`Membership`] or [`Derived`] it reads):
/// an application's `job.hiringTeam.contains(u)` implies `hiringTeam.contains(u)` of its
/// candidate, whose hiring team is the hiring teams of the jobs the candidate applied to. With
/// these, [`crate::implied`] proves from a viewer's residual policies that every visible row
/// reaches a visible entity, so that a report need not filter it again. Declared only where the
/// definition makes it true of every row; a test checks each path against the model.
#[derive(Debug)]
pub struct Lift {
    /// The row's type (`Application`) and its reference attribute (`candidate`).
    pub from: &'static str,
    pub via: &'static str,
    /// The condition on the row, and the one it implies on the referenced entity.
    pub row: Atom,
    pub target: Atom,
}

/// A condition on `resource` that [`Lift`]s are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atom {
    /// A boolean attribute at the end of a path of references holds (`true`) or not.
    Is(&'static [&'static str], bool),
    /// A set of users at the end of a path of references contains the principal (the same user
    /// on both sides of a lift).
    Contains(&'static [&'static str]),
}

pub static LIFTS: [Lift; 5] = [
    // `Derived::CandidateHasNonConfidentialJob`: an application to a job that is not confidential.
    Lift {
        from: "Application",
        via: "candidate",
        row: Atom::Is(&["job", "confidential"], false),
        target: Atom::Is(&["hasNonConfidentialJob"], true),
    },
    // `Membership::CandidateHiringTeam`: the hiring teams of the jobs the candidate applied to.
    Lift {
        from: "Application",
        via: "candidate",
        row: Atom::Contains(&["job", "hiringTeam"]),
        target: Atom::Contains(&["hiringTeam"]),
    },
    // `Membership::CandidateInterviewers`: seats on interviews of any of the candidate's
    // applications (`Membership::ApplicationInterviewers` of each).
    Lift {
        from: "Application",
        via: "candidate",
        row: Atom::Contains(&["interviewers"]),
        target: Atom::Contains(&["interviewers"]),
    },
    // `Membership::JobInterviewers`: seats on interviews of any of the job's applications (the
    // seats of this application's interviews among them).
    Lift {
        from: "Application",
        via: "job",
        row: Atom::Contains(&["interviewers"]),
        target: Atom::Contains(&["interviewers"]),
    },
    // `Membership::ApplicationInterviewers`: seats on any of the application's interviews.
    Lift {
        from: "Interview",
        via: "application",
        row: Atom::Contains(&["participants"]),
        target: Atom::Contains(&["interviewers"]),
    },
];

/// The model of a Cedar type (`Job`), namespace optional.
pub fn entity_type(name: &str) -> Option<&'static TypeModel> {
    let name = name
        .strip_prefix(crate::engine::NAMESPACE)
        .and_then(|n| n.strip_prefix("::"))
        .unwrap_or(name);
    TYPES
        .iter()
        .find(|t| t.name == name && t.name != "Demographics")
}

/// The Cedar type whose rows a report subject reads.
pub fn for_entity(entity: EntityId) -> Option<&'static TypeModel> {
    TYPES.iter().find(|t| t.entity == Some(entity))
}

impl TypeModel {
    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        // `TYPES` is static, so its attributes are too.
        self.attrs.iter().find(|a| a.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_policy::SchemaFragment;

    /// The schema's entity types and attributes, with each attribute's Cedar type and whether
    /// it is required, from its JSON form.
    /// An attribute: its name, Cedar type and whether it is required.
    type SchemaAttr = (String, String, bool);

    fn schema_attrs() -> Vec<(String, Vec<SchemaAttr>)> {
        let (fragment, _) = SchemaFragment::from_cedarschema_str(crate::engine::SCHEMA).unwrap();
        let json = fragment.to_json_value().unwrap();
        let types = json[crate::engine::NAMESPACE]["entityTypes"]
            .as_object()
            .unwrap();
        types
            .iter()
            .map(|(name, def)| {
                let attrs = def["shape"]["attributes"]
                    .as_object()
                    .map(|a| {
                        a.iter()
                            .map(|(attr, t)| {
                                let ty = match t["type"].as_str().unwrap() {
                                    "Set" => {
                                        format!("Set<{}>", t["element"]["name"].as_str().unwrap())
                                    }
                                    "Entity" | "EntityOrCommon" => {
                                        t["name"].as_str().unwrap().to_owned()
                                    }
                                    other => other.to_owned(),
                                };
                                let ty = if ty == "Bool" {
                                    "Boolean".to_owned()
                                } else {
                                    ty
                                };
                                (attr.clone(), ty, t["required"].as_bool() != Some(false))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (name.clone(), attrs)
            })
            .collect()
    }

    #[test]
    fn the_model_declares_exactly_the_schemas_attributes() {
        let schema = schema_attrs();
        let modelled: Vec<&TypeModel> = TYPES.iter().filter(|t| t.name != "Demographics").collect();
        assert_eq!(schema.len(), modelled.len(), "{schema:?}");
        for (name, attrs) in &schema {
            let model = entity_type(name).unwrap_or_else(|| panic!("`{name}` is not modelled"));
            assert_eq!(attrs.len(), model.attrs.len(), "{name}: {attrs:?}");
            for (attr, ty, required) in attrs {
                let a = model
                    .attr(attr)
                    .unwrap_or_else(|| panic!("`{name}.{attr}` is not modelled"));
                let expected = match a.kind {
                    AttrKind::Org => ("Org".to_owned(), true),
                    AttrKind::Column(_, ColumnType::Text) => ("String".to_owned(), true),
                    AttrKind::Column(_, ColumnType::Bool) | AttrKind::Derived(_) => {
                        ("Boolean".to_owned(), true)
                    }
                    AttrKind::Column(_, ColumnType::Long) => ("Long".to_owned(), true),
                    AttrKind::Ref {
                        target, optional, ..
                    } => (target.to_owned(), !optional),
                    AttrKind::Users(_) => ("Set<User>".to_owned(), true),
                };
                assert_eq!((ty.clone(), *required), expected, "{name}.{attr}");
            }
        }
    }

    #[test]
    fn every_shortcut_is_a_path_of_required_references_to_a_keyed_type() {
        for t in TYPES.iter() {
            for shortcut in t.shortcuts {
                assert!(shortcut.path.len() >= 2, "{}: {shortcut:?}", t.name);
                let mut ty: &TypeModel = t;
                for name in shortcut.path {
                    let attr = ty
                        .attr(name)
                        .unwrap_or_else(|| panic!("{}: `{}` has no `{name}`", t.name, ty.name));
                    let AttrKind::Ref {
                        target,
                        optional: false,
                        ..
                    } = attr.kind
                    else {
                        panic!(
                            "{}: `{}.{name}` is not a required reference",
                            t.name, ty.name
                        );
                    };
                    ty = entity_type(target).unwrap();
                }
                assert!(ty.key.is_some(), "{}: {shortcut:?}", t.name);
                assert!(
                    t.attrs.iter().all(|a| !matches!(
                        a.kind,
                        AttrKind::Column(c, _) | AttrKind::Ref { column: c, .. } if c == shortcut.column
                    )),
                    "{}: `{}` is also an attribute's column",
                    t.name,
                    shortcut.column
                );
            }
        }
    }

    /// The type reached by a path of references from `ty`, and the last attribute's kind.
    fn walk(ty: &'static TypeModel, path: &[&str]) -> AttrKind {
        let (last, refs) = path.split_last().unwrap();
        let mut ty = ty;
        for name in refs {
            let Some(AttrKind::Ref { target, .. }) = ty.attr(name).map(|a| a.kind) else {
                panic!("`{}.{name}` is not a reference", ty.name);
            };
            ty = entity_type(target).unwrap();
        }
        ty.attr(last)
            .unwrap_or_else(|| panic!("`{}` has no `{last}`", ty.name))
            .kind
    }

    #[test]
    fn every_lift_reads_attributes_of_the_right_kind_through_a_reference() {
        for lift in LIFTS.iter() {
            let from = entity_type(lift.from).unwrap();
            let Some(AttrKind::Ref { target, .. }) = from.attr(lift.via).map(|a| a.kind) else {
                panic!("{lift:?}: `via` is not a reference");
            };
            let target = entity_type(target).unwrap();
            for (ty, atom) in [(from, lift.row), (target, lift.target)] {
                match atom {
                    Atom::Is(path, _) => assert!(
                        matches!(
                            walk(ty, path),
                            AttrKind::Column(_, ColumnType::Bool) | AttrKind::Derived(_)
                        ),
                        "{lift:?}"
                    ),
                    Atom::Contains(path) => {
                        assert!(matches!(walk(ty, path), AttrKind::Users(_)), "{lift:?}")
                    }
                }
            }
        }
    }

    #[test]
    fn every_referenced_type_has_a_key() {
        for t in TYPES.iter() {
            for a in t.attrs {
                if let AttrKind::Ref { target, .. } = a.kind {
                    let target = entity_type(target).unwrap();
                    assert!(
                        target.key.is_some(),
                        "{}.{} -> {}",
                        t.name,
                        a.name,
                        target.name
                    );
                }
            }
        }
    }
}
