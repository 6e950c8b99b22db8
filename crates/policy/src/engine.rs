//! Loading policies (shipped or an org's own, validated strictly against the schema) and
//! single decisions.

use crate::facts::Facts;
use cedar_policy as cedar;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// The Cedar namespace of hireplane's entity types and actions.
pub const NAMESPACE: &str = "Hireplane";

/// The Cedar schema policies are written against, as text.
pub const SCHEMA: &str = include_str!("../policies/hireplane.cedarschema");
const BOUNDARY: &str = include_str!("../policies/boundary.cedar");
/// The shipped default access policy (DESIGN.md), as text: what `hireplane policy show` prints.
pub const DEFAULT_POLICY: &str = include_str!("../policies/default.cedar");

/// What a viewer may do; each is a Cedar action of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    View,
    Edit,
    ViewCompensation,
    ViewContactDetails,
    ViewSensitiveCustomFields,
    ViewDemographicsAggregate,
    /// Changing a job's hiring team or whether it is confidential (on top of `edit`).
    ManageHiringTeam,
    /// Details beyond an interviewer's need (archive reason, source, custom fields, a
    /// candidate's location, ...), per row on top of `view`.
    ViewDetails,
    /// An application's stage history as reports read it (`reached(...)`), on top of `view`.
    ViewStageHistory,
    /// The database's plan of a report (`explain`), asked of the org: an operator's tool.
    ViewQueryPlan,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::View,
        Action::Edit,
        Action::ViewCompensation,
        Action::ViewContactDetails,
        Action::ViewSensitiveCustomFields,
        Action::ViewDemographicsAggregate,
        Action::ManageHiringTeam,
        Action::ViewDetails,
        Action::ViewStageHistory,
        Action::ViewQueryPlan,
    ];

    /// The action's Cedar id.
    pub fn name(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Edit => "edit",
            Action::ViewCompensation => "viewCompensation",
            Action::ViewContactDetails => "viewContactDetails",
            Action::ViewSensitiveCustomFields => "viewSensitiveCustomFields",
            Action::ViewDemographicsAggregate => "viewDemographicsAggregate",
            Action::ManageHiringTeam => "manageHiringTeam",
            Action::ViewDetails => "viewDetails",
            Action::ViewStageHistory => "viewStageHistory",
            Action::ViewQueryPlan => "viewQueryPlan",
        }
    }

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    pub(crate) fn uid(self) -> Result<cedar::EntityUid, PolicyError> {
        uid("Action", self.name())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who asks: a user of an org, with the facts about them that policies may test.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Viewer {
    pub org: String,
    pub user: String,
    /// `admin`, `recruiter`, `hiring_manager` or `interviewer`.
    pub role: String,
    pub active: bool,
}

/// Where an org's policies come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicySource {
    /// The shipped default access policy.
    Shipped,
    /// The org's own file, at this version of the store's history.
    Org { version: i64 },
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::Shipped => f.write_str("shipped default policy"),
            PolicySource::Org { version } => write!(f, "org policy v{version}"),
        }
    }
}

/// One problem in a policy file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub policy: Option<String>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{}", invalid(origin, problems))]
    Invalid {
        origin: String,
        problems: Vec<Problem>,
    },
    #[error(
        "{origin}:{line}:{column}: policy `{policy}` names org `{named}`, but this file is for org `{org}`: an org's policies cannot reach another org"
    )]
    CrossOrg {
        origin: String,
        line: usize,
        column: usize,
        policy: String,
        named: String,
        org: String,
    },
    #[error(
        "policy `{policy}` cannot be turned into a row filter for `{action}` on `{resource}`: {what}; the report is refused rather than run with a filter that might be too wide"
    )]
    Untranslatable {
        policy: String,
        action: Action,
        resource: String,
        what: String,
    },
    #[error("unknown entity type `{0}`")]
    UnknownType(String),
    #[error("facts: {0}")]
    Facts(String),
    #[error("policy engine: {0}")]
    Internal(String),
}

fn invalid(origin: &str, problems: &[Problem]) -> String {
    let mut out = format!("`{origin}` is not a valid policy file:");
    for p in problems {
        out.push_str(&format!("\n  {origin}:{}:{}: ", p.line, p.column));
        if let Some(id) = &p.policy {
            out.push_str(&format!("policy `{id}`: "));
        }
        out.push_str(&p.message);
    }
    out
}

/// The schema and the boundary, parsed once per process.
pub(crate) struct Shared {
    pub schema: cedar::Schema,
    boundary: Vec<cedar::Policy>,
    default: Vec<cedar::Policy>,
}

pub(crate) fn shared() -> Result<&'static Shared, PolicyError> {
    static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let (schema, _warnings) = cedar::Schema::from_cedarschema_str(SCHEMA)
                .map_err(|e| format!("the shipped schema: {e}"))?;
            let boundary = parse(BOUNDARY, "boundary.cedar", &schema, None)
                .map_err(|e| format!("the shipped boundary: {e}"))?;
            let default = parse(DEFAULT_POLICY, "default.cedar", &schema, None)
                .map_err(|e| format!("the shipped default policy: {e}"))?;
            Ok(Shared {
                schema,
                boundary,
                default,
            })
        })
        .as_ref()
        .map_err(|e| PolicyError::Internal(e.clone()))
}

/// The ids the boundary uses; an org's file may not reuse them.
const RESERVED: [&str; 2] = ["org-boundary", "inactive-users"];

/// An org's policies in force: the boundary plus the shipped default or the org's own file.
#[derive(Debug, Clone)]
pub struct Policies {
    org: String,
    pub(crate) set: cedar::PolicySet,
    source: PolicySource,
    /// Per (action, resource type), the policies whose scope can match: a decision evaluates
    /// only those (Cedar evaluates every policy of the set it is given).
    scoped: Vec<(Action, &'static str, cedar::PolicySet)>,
}

impl Policies {
    /// The shipped default access policy for `org`.
    pub fn shipped(org: &str) -> Result<Policies, PolicyError> {
        let shared = shared()?;
        Policies::assemble(org, shared.default.clone(), PolicySource::Shipped)
    }

    /// An org's own policy file (`origin` names it in errors), validated strictly against the
    /// schema; refused if it is invalid, reuses a reserved id, lacks `@id` annotations, or
    /// names another org.
    pub fn from_text(
        org: &str,
        text: &str,
        origin: &str,
        source: PolicySource,
    ) -> Result<Policies, PolicyError> {
        let shared = shared()?;
        let policies = parse(text, origin, &shared.schema, Some(org))?;
        Policies::assemble(org, policies, source)
    }

    fn assemble(
        org: &str,
        policies: Vec<cedar::Policy>,
        source: PolicySource,
    ) -> Result<Policies, PolicyError> {
        let shared = shared()?;
        let mut set = cedar::PolicySet::new();
        for p in shared.boundary.iter().chain(&policies) {
            set.add(p.clone())
                .map_err(|e| PolicyError::Internal(e.to_string()))?;
        }
        let mut scoped = Vec::new();
        for action in Action::ALL {
            let action_uid = action.uid()?;
            for ty in crate::model::TYPES.iter().map(|t| t.name) {
                let ty_name = type_name(ty)?;
                let mut subset = cedar::PolicySet::new();
                for p in set
                    .policies()
                    .filter(|p| in_scope(p, &action_uid, &ty_name))
                {
                    subset
                        .add(p.clone())
                        .map_err(|e| PolicyError::Internal(e.to_string()))?;
                }
                scoped.push((action, ty, subset));
            }
        }
        Ok(Policies {
            org: org.to_owned(),
            set,
            source,
            scoped,
        })
    }

    pub fn org(&self) -> &str {
        &self.org
    }

    pub fn source(&self) -> PolicySource {
        self.source
    }

    /// The ids of the policies in force, boundary first.
    pub fn ids(&self) -> Vec<String> {
        self.set.policies().map(|p| p.id().to_string()).collect()
    }

    /// One decision: may `viewer` do `action` on the entity `(resource_type, resource_id)`,
    /// given the facts about it (its attributes and those of the entities they name)?
    pub fn decide(
        &self,
        viewer: &Viewer,
        action: Action,
        resource_type: &str,
        resource_id: &str,
        facts: &Facts,
    ) -> Result<Decision, PolicyError> {
        let shared = shared()?;
        crate::model::entity_type(resource_type)
            .ok_or_else(|| PolicyError::UnknownType(resource_type.to_owned()))?;
        let entities = facts.to_cedar(viewer, &shared.schema)?;
        self.decide_prepared(
            viewer,
            action,
            resource_type,
            resource_id,
            &Prepared(entities),
        )
    }

    /// Facts converted once for several decisions of one viewer (the conversion, with its
    /// schema check, costs more than a decision).
    pub fn prepare(&self, viewer: &Viewer, facts: &Facts) -> Result<Prepared, PolicyError> {
        Ok(Prepared(facts.to_cedar(viewer, &shared()?.schema)?))
    }

    /// [`Policies::decide`] with facts converted by [`Policies::prepare`] for the same viewer.
    /// Every policy in scope is evaluated; [`crate::ViewerGuard::decide_prepared`] answers the
    /// same from the viewer's residual policies, faster.
    pub fn decide_prepared(
        &self,
        viewer: &Viewer,
        action: Action,
        resource_type: &str,
        resource_id: &str,
        facts: &Prepared,
    ) -> Result<Decision, PolicyError> {
        let set = self.scoped(action, resource_type);
        authorize(set, viewer, action, resource_type, resource_id, facts)
    }

    /// The policies whose scope can match `action` on `resource_type` (all of them for a type
    /// the model does not know).
    pub(crate) fn scoped(&self, action: Action, resource_type: &str) -> &cedar::PolicySet {
        self.scoped
            .iter()
            .find(|(a, t, _)| *a == action && *t == resource_type)
            .map_or(&self.set, |(_, _, s)| s)
    }

    /// A viewer's row filters and column masks for reports, in SQL that suits both dialects.
    pub fn guard(&self, viewer: &Viewer) -> Result<crate::ViewerGuard, PolicyError> {
        self.guard_for(viewer, query_compiler::Dialect::Sqlite)
    }

    /// A viewer's row filters and column masks, written for the database that runs them
    /// (PostgreSQL gets correlated `EXISTS` where it plans them better; the meaning is the same).
    pub fn guard_for(
        &self,
        viewer: &Viewer,
        dialect: query_compiler::Dialect,
    ) -> Result<crate::ViewerGuard, PolicyError> {
        crate::guard::ViewerGuard::new(self, viewer, dialect)
    }
}

/// One decision by Cedar's authorizer over `set`, with the deciding policy ids.
pub(crate) fn authorize(
    set: &cedar::PolicySet,
    viewer: &Viewer,
    action: Action,
    resource_type: &str,
    resource_id: &str,
    facts: &Prepared,
) -> Result<Decision, PolicyError> {
    let shared = shared()?;
    let request = cedar::Request::new(
        principal(viewer)?,
        action.uid()?,
        uid(resource_type, resource_id)?,
        cedar::Context::empty(),
        Some(&shared.schema),
    )
    .map_err(|e| PolicyError::Facts(format!("`{action}` on `{resource_type}`: {e}")))?;
    let response = cedar::Authorizer::new().is_authorized(&request, set, &facts.0);
    let diagnostics = response.diagnostics();
    Ok(Decision {
        allowed: response.decision() == cedar::Decision::Allow,
        policies: diagnostics.reason().map(|id| id.to_string()).collect(),
        errors: diagnostics.errors().map(|e| e.to_string()).collect(),
    })
}

/// Whether a policy's scope can match requests for `action` on resources of type `ty` (a scope
/// naming a parent with `in` is kept: hierarchy is not looked at here).
fn in_scope(p: &cedar::Policy, action: &cedar::EntityUid, ty: &cedar::EntityTypeName) -> bool {
    let action_matches = match p.action_constraint() {
        cedar::ActionConstraint::Any => true,
        cedar::ActionConstraint::Eq(a) => a == *action,
        cedar::ActionConstraint::In(list) => list.contains(action),
    };
    let resource_matches = match p.resource_constraint() {
        cedar::ResourceConstraint::Any | cedar::ResourceConstraint::In(_) => true,
        cedar::ResourceConstraint::Eq(uid) => uid.type_name() == ty,
        cedar::ResourceConstraint::Is(t) | cedar::ResourceConstraint::IsIn(t, _) => t == *ty,
    };
    action_matches && resource_matches
}

/// Facts in Cedar's form, for [`Policies::decide_prepared`].
#[derive(Debug, Clone)]
pub struct Prepared(pub(crate) cedar::Entities);

/// The outcome of one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The policies that decided: the satisfied permits when allowed, the satisfied forbids
    /// when denied (empty when nothing permitted).
    pub policies: Vec<String>,
    /// Policies that could not be evaluated (they count as not satisfied).
    pub errors: Vec<String>,
}

pub(crate) fn uid(ty: &str, id: &str) -> Result<cedar::EntityUid, PolicyError> {
    Ok(cedar::EntityUid::from_type_name_and_id(
        type_name(ty)?,
        cedar::EntityId::new(id),
    ))
}

/// A Cedar type name of the namespace, parsed once per process (parsing costs microseconds,
/// and a decision names a dozen entities).
pub(crate) fn type_name(ty: &str) -> Result<cedar::EntityTypeName, PolicyError> {
    static NAMES: OnceLock<Vec<(&'static str, cedar::EntityTypeName)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        crate::model::TYPES
            .iter()
            .map(|t| t.name)
            .chain(["Action"])
            .filter_map(|t| {
                cedar::EntityTypeName::from_str(&format!("{NAMESPACE}::{t}"))
                    .ok()
                    .map(|n| (t, n))
            })
            .collect()
    });
    match names.iter().find(|(t, _)| *t == ty) {
        Some((_, name)) => Ok(name.clone()),
        None => cedar::EntityTypeName::from_str(&format!("{NAMESPACE}::{ty}"))
            .map_err(|_| PolicyError::UnknownType(ty.to_owned())),
    }
}

pub(crate) fn principal(viewer: &Viewer) -> Result<cedar::EntityUid, PolicyError> {
    uid("User", &viewer.user)
}

/// Parses and validates one file of policies. Every policy must carry `@id("...")`, which
/// becomes its Cedar id (so audit records and explain name policies the way their authors do).
fn parse(
    text: &str,
    origin: &str,
    schema: &cedar::Schema,
    org: Option<&str>,
) -> Result<Vec<cedar::Policy>, PolicyError> {
    // Before Cedar, whose passes recurse on the expression tree without a bound (`shape`).
    if let Some(p) = crate::shape::check(text) {
        return Err(PolicyError::Invalid {
            origin: origin.to_owned(),
            problems: vec![p],
        });
    }
    let parsed = cedar::PolicySet::from_str(text).map_err(|errors| PolicyError::Invalid {
        origin: origin.to_owned(),
        problems: errors
            .iter()
            .map(|e| problem(text, e, None, e.to_string()))
            .collect(),
    })?;
    let mut problems = Vec::new();
    let mut policies = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    if parsed.templates().next().is_some() {
        problems.push(Problem {
            line: 1,
            column: 1,
            policy: None,
            message:
                "templates (`?principal`, `?resource`) are not supported: write static policies"
                    .into(),
        });
    }
    let starts = policy_starts(text);
    for p in parsed.policies() {
        // The parser names policies `policy0`, `policy1`, ... in source order.
        let (line, column) = p
            .id()
            .to_string()
            .strip_prefix("policy")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| starts.get(n))
            .map(|&offset| line_col(text, offset))
            .unwrap_or((1, 1));
        let Some(id) = p.annotation("id") else {
            problems.push(Problem {
                line,
                column,
                policy: None,
                message: "policy has no `@id(\"...\")` annotation: audit records and explain name policies by it".into(),
            });
            continue;
        };
        if org.is_some() && RESERVED.contains(&id) {
            problems.push(Problem {
                line,
                column,
                policy: Some(id.to_owned()),
                message: format!("`{id}` is the id of a built-in policy that is always in force; choose another id"),
            });
            continue;
        }
        if seen.iter().any(|s| s == id) {
            problems.push(Problem {
                line,
                column,
                policy: Some(id.to_owned()),
                message: format!("the id `{id}` is used twice"),
            });
            continue;
        }
        seen.push(id.to_owned());
        if let Some(org) = org {
            cross_org(p, org, origin, line, column, id)?;
        }
        policies.push(p.new_id(cedar::PolicyId::new(id)));
    }
    if !problems.is_empty() {
        return Err(PolicyError::Invalid {
            origin: origin.to_owned(),
            problems,
        });
    }
    // Validation needs the boundary beside an org's file only for id clashes (checked above);
    // each file is validated on its own, strictly.
    let mut set = cedar::PolicySet::new();
    for p in &policies {
        set.add(p.clone())
            .map_err(|e| PolicyError::Internal(e.to_string()))?;
    }
    let result =
        cedar::Validator::new(schema.clone()).validate(&set, cedar::ValidationMode::Strict);
    let problems: Vec<Problem> = result
        .validation_errors()
        .map(|e| problem(text, e, Some(e.policy_id().to_string()), e.to_string()))
        .collect();
    if !problems.is_empty() {
        return Err(PolicyError::Invalid {
            origin: origin.to_owned(),
            problems,
        });
    }
    Ok(policies)
}

/// Refuses a policy that names an org other than `org` (an `Org::"..."` literal anywhere).
fn cross_org(
    policy: &cedar::Policy,
    org: &str,
    origin: &str,
    line: usize,
    column: usize,
    id: &str,
) -> Result<(), PolicyError> {
    let json = policy
        .to_json()
        .map_err(|e| PolicyError::Internal(format!("policy `{id}`: {e}")))?;
    let mut named = None;
    find_orgs(&json, &mut |other| {
        if other != org && named.is_none() {
            named = Some(other.to_owned());
        }
    });
    match named {
        Some(named) => Err(PolicyError::CrossOrg {
            origin: origin.to_owned(),
            line,
            column,
            policy: id.to_owned(),
            named,
            org: org.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Every entity literal of type `Org` in a policy's JSON form (`{"type": .., "id": ..}`).
fn find_orgs(value: &serde_json::Value, found: &mut dyn FnMut(&str)) {
    match value {
        serde_json::Value::Object(map) => {
            if let (Some(serde_json::Value::String(ty)), Some(serde_json::Value::String(id))) =
                (map.get("type"), map.get("id"))
                && (ty == "Org" || ty == &format!("{NAMESPACE}::Org"))
            {
                found(id);
            }
            for v in map.values() {
                find_orgs(v, found);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                find_orgs(v, found);
            }
        }
        _ => {}
    }
}

fn problem(
    text: &str,
    diagnostic: &dyn miette::Diagnostic,
    policy: Option<String>,
    message: String,
) -> Problem {
    let offset = diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset())
        .unwrap_or(0);
    let (line, column) = line_col(text, offset);
    let mut message = message;
    if let Some(help) = diagnostic.help() {
        message.push_str(&format!(" ({help})"));
    }
    Problem {
        line,
        column,
        policy,
        message,
    }
}

/// Where each policy of a file starts (its first annotation or its effect), in source order.
/// Cedar's parsed policies do not carry their place; this scan skips comments and strings and
/// counts statements ended by `;` outside brackets.
fn policy_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let mut in_policy = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '/' if chars.peek().map(|(_, c)| *c) == Some('/') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                if !in_policy {
                    in_policy = true;
                    starts.push(i);
                }
                let mut escaped = false;
                for (_, c) in chars.by_ref() {
                    match (c, escaped) {
                        ('\\', false) => escaped = true,
                        ('"', false) => break,
                        _ => escaped = false,
                    }
                }
            }
            c if c.is_whitespace() => {}
            '(' | '[' | '{' => {
                depth += 1;
                if !in_policy {
                    in_policy = true;
                    starts.push(i);
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => in_policy = false,
            _ => {
                if !in_policy {
                    in_policy = true;
                    starts.push(i);
                }
            }
        }
    }
    starts
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count() + 1)
        .unwrap_or(1);
    (line, column)
}
