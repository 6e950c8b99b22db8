//! A viewer's row filters and column masks: Cedar's type-aware partial evaluation per (action,
//! entity type) with the resource unknown, residuals translated to SQL ([`crate::residual`]),
//! combined as `(any permit) AND NOT (any forbid)`. Built once per (policies, viewer) and
//! cached by [`GuardCache`]; the report compiler asks it at every table and field reference.

use crate::engine::{
    Action, Decision, Policies, PolicyError, PolicySource, Prepared, Viewer, authorize, principal,
    shared, type_name,
};
use crate::facts::Facts;
use crate::implied::{Clause, Residuals, implies};
use crate::model::{AttrKind, TYPES, TypeModel, entity_type};
use crate::residual::{Condition, P, Translator, p_and, p_not, p_or};
use cedar_policy as cedar;
use cedar_policy::pst::{self, Expr};
use query_compiler::catalog::FieldGroup;
use query_compiler::sql::SqlExpr;
use query_compiler::{Dialect, EntityId, Visibility};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

/// What the viewer's policies say about one entity (and field group), for `explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardNote {
    pub entity: EntityId,
    pub group: Option<FieldGroup>,
    pub action: Action,
    /// `all`, `none` or `rows`.
    pub outcome: &'static str,
    /// The policies that decided (for `all`/`none`) or whose residuals make the filter.
    pub policies: Vec<String>,
    /// The residual conditions, in Cedar syntax, as `id: condition`.
    pub residuals: Vec<String>,
}

/// A viewer's guard for the report compiler.
#[derive(Debug, Clone)]
pub struct ViewerGuard {
    viewer: Viewer,
    source: PolicySource,
    rows: HashMap<EntityId, Visibility>,
    fields: HashMap<(EntityId, FieldGroup), Visibility>,
    /// The same filters and masks in their page form ([`page_form`]).
    rows_page: HashMap<EntityId, Visibility>,
    fields_page: HashMap<(EntityId, FieldGroup), Visibility>,
    notes: Vec<GuardNote>,
    key: String,
    demographics: bool,
    /// References (row's entity, foreign key column) that lead from every row the viewer sees
    /// only to entities the viewer sees ([`crate::implied`]).
    implied: HashSet<(EntityId, &'static str)>,
    /// Per (action, entity type), the viewer's residual policies for single decisions
    /// ([`ViewerGuard::decide_prepared`]), made on first use. Indexed by
    /// `action * TYPES.len() + type`.
    decisions: Vec<OnceLock<Result<cedar::PolicySet, String>>>,
}

/// Which action guards which field group of which subject.
const FIELD_ACTIONS: [(EntityId, FieldGroup, Action, &str); 9] = [
    (
        EntityId::Offers,
        FieldGroup::Compensation,
        Action::ViewCompensation,
        "Offer",
    ),
    (
        EntityId::Candidates,
        FieldGroup::ContactDetails,
        Action::ViewContactDetails,
        "Candidate",
    ),
    (
        EntityId::Candidates,
        FieldGroup::SensitiveCustom,
        Action::ViewSensitiveCustomFields,
        "Candidate",
    ),
    (
        EntityId::Applications,
        FieldGroup::SensitiveCustom,
        Action::ViewSensitiveCustomFields,
        "Application",
    ),
    (
        EntityId::Jobs,
        FieldGroup::SensitiveCustom,
        Action::ViewSensitiveCustomFields,
        "Job",
    ),
    (
        EntityId::Candidates,
        FieldGroup::Details,
        Action::ViewDetails,
        "Candidate",
    ),
    (
        EntityId::Applications,
        FieldGroup::Details,
        Action::ViewDetails,
        "Application",
    ),
    (
        EntityId::Jobs,
        FieldGroup::Details,
        Action::ViewDetails,
        "Job",
    ),
    (
        EntityId::Applications,
        FieldGroup::StageHistory,
        Action::ViewStageHistory,
        "Application",
    ),
];

/// The field group `action` guards on `entity`, with the entity's Cedar type, when it guards
/// one (`viewStageHistory` on applications: their stage history, `Application`).
pub fn field_guard(entity: EntityId, action: Action) -> Option<(FieldGroup, &'static str)> {
    FIELD_ACTIONS
        .iter()
        .find(|(e, _, a, _)| *e == entity && *a == action)
        .map(|(_, group, _, ty)| (*group, *ty))
}

impl ViewerGuard {
    pub(crate) fn new(
        policies: &Policies,
        viewer: &Viewer,
        dialect: Dialect,
    ) -> Result<ViewerGuard, PolicyError> {
        let mut guard = ViewerGuard {
            viewer: viewer.clone(),
            source: policies.source(),
            rows: HashMap::new(),
            fields: HashMap::new(),
            rows_page: HashMap::new(),
            fields_page: HashMap::new(),
            notes: Vec::new(),
            key: format!(
                "{}\u{1f}{}\u{1f}{:?}\u{1f}{}\u{1f}{}\u{1f}{:?}",
                viewer.org,
                viewer.user,
                policies.source(),
                viewer.role,
                viewer.active,
                dialect
            ),
            demographics: false,
            implied: HashSet::new(),
            decisions: (0..Action::ALL.len() * TYPES.len())
                .map(|_| OnceLock::new())
                .collect(),
        };
        if viewer.org != policies.org() {
            // Another org's policies never apply; nothing is visible.
            return Ok(guard);
        }
        let mut eval = Evaluator::new(policies, viewer, dialect == Dialect::Postgres)?;
        let mut residuals: HashMap<&'static str, Residuals> = HashMap::new();
        for ty in TYPES.iter() {
            let Some(entity) = ty.entity else { continue };
            if ty.name == "Demographics" {
                continue;
            }
            let (vis, page, note, res) = eval.visibility(Action::View, ty, None)?;
            residuals.insert(ty.name, res);
            guard.notes.push(GuardNote {
                entity,
                group: None,
                ..note
            });
            guard.rows.insert(entity, vis);
            guard.rows_page.insert(entity, page);
        }
        for (entity, group, action, ty) in FIELD_ACTIONS {
            let Some(model) = entity_type(ty) else {
                continue;
            };
            let (vis, page, note, _) = eval.visibility(action, model, None)?;
            guard.notes.push(GuardNote {
                entity,
                group: Some(group),
                ..note
            });
            guard.fields.insert((entity, group), vis);
            guard.fields_page.insert((entity, group), page);
        }
        // Demographics: only in aggregates, only with `viewDemographicsAggregate` on the org,
        // and only over the candidates the viewer sees (the candidate filter, through
        // `candidate_id`).
        let org_decision = eval.org_decision(Action::ViewDemographicsAggregate)?;
        guard.demographics = org_decision.0;
        let (vis, page) = match (org_decision.0, entity_type("Candidate")) {
            (true, Some(candidate)) => {
                let (vis, page, _, _) =
                    eval.visibility(Action::View, candidate, Some("candidate_id"))?;
                (vis, page)
            }
            _ => (Visibility::None, Visibility::None),
        };
        guard.notes.push(GuardNote {
            entity: EntityId::Demographics,
            group: Some(FieldGroup::Demographics),
            action: Action::ViewDemographicsAggregate,
            outcome: if org_decision.0 { "aggregates" } else { "none" },
            policies: org_decision.1,
            residuals: Vec::new(),
        });
        guard.rows.insert(EntityId::Demographics, vis);
        guard.rows_page.insert(EntityId::Demographics, page);
        guard.implied = implied_references(&residuals);
        Ok(guard)
    }

    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    pub fn source(&self) -> PolicySource {
        self.source
    }

    /// What the policies say per entity and field group, for `explain`.
    pub fn notes(&self) -> &[GuardNote] {
        &self.notes
    }

    /// Whether the viewer may run reports over demographics (aggregates only).
    pub fn demographics_aggregates(&self) -> bool {
        self.demographics
    }

    /// [`Policies::decide`] for the guard's viewer.
    pub fn decide(
        &self,
        policies: &Policies,
        action: Action,
        resource_type: &str,
        resource_id: &str,
        facts: &Facts,
    ) -> Result<Decision, PolicyError> {
        entity_type(resource_type)
            .ok_or_else(|| PolicyError::UnknownType(resource_type.to_owned()))?;
        let prepared = policies.prepare(&self.viewer, facts)?;
        self.decide_prepared(policies, action, resource_type, resource_id, &prepared)
    }

    /// [`Policies::decide_prepared`] for the guard's viewer, answered from the viewer's residual
    /// policies: what Cedar's partial evaluation of the policies in scope leaves with the viewer
    /// known and the resource unknown (a role test already decided, the viewer's id already in
    /// place), less the policies it proved false for every resource. This is Cedar's own
    /// reauthorization (`TpeResponse::reauthorize`: the same decision and deciding policies as
    /// evaluating every policy), without its consistency checks, which hold by construction:
    /// the only entity the partial evaluation knew, the viewer, is made from the same
    /// [`Viewer`] for the concrete facts ([`Policies::prepare`] must be given this viewer).
    /// `policies` must be the ones the guard was made from; for others, and for a request the
    /// schema does not allow, every policy is evaluated as [`Policies::decide_prepared`] does.
    pub fn decide_prepared(
        &self,
        policies: &Policies,
        action: Action,
        resource_type: &str,
        resource_id: &str,
        facts: &Prepared,
    ) -> Result<Decision, PolicyError> {
        let slot = Action::ALL
            .iter()
            .position(|a| *a == action)
            .zip(TYPES.iter().position(|t| t.name == resource_type))
            .and_then(|(a, t)| self.decisions.get(a * TYPES.len() + t));
        let own = policies.org() == self.viewer.org && policies.source() == self.source;
        match slot {
            Some(slot) if own => {
                let set = slot.get_or_init(|| {
                    residual_policies(policies, &self.viewer, action, resource_type)
                        .map_err(|e| e.to_string())
                });
                match set {
                    Ok(set) => {
                        authorize(set, &self.viewer, action, resource_type, resource_id, facts)
                    }
                    Err(_) => policies.decide_prepared(
                        &self.viewer,
                        action,
                        resource_type,
                        resource_id,
                        facts,
                    ),
                }
            }
            _ => policies.decide_prepared(&self.viewer, action, resource_type, resource_id, facts),
        }
    }
}

/// The viewer's residual policies for `action` on `resource_type` (see
/// [`ViewerGuard::decide_prepared`]): every residual of the policies in scope (true ones, those
/// that stay conditions on the resource and those that fail to evaluate) but the false ones,
/// which can neither decide nor report an error.
fn residual_policies(
    policies: &Policies,
    viewer: &Viewer,
    action: Action,
    resource_type: &str,
) -> Result<cedar::PolicySet, PolicyError> {
    let schema = &shared()?.schema;
    let entities = viewer_entities(viewer, schema)?;
    let request = unknown_resource(principal(viewer)?, action, resource_type, schema)?;
    let response = policies
        .scoped(action, resource_type)
        .tpe(&request, &entities, schema)
        .map_err(|e| PolicyError::Internal(format!("`{action}` on `{resource_type}`: {e}")))?;
    let never: HashSet<&cedar::PolicyId> = response
        .false_permits()
        .chain(response.false_forbids())
        .collect();
    let mut set = cedar::PolicySet::new();
    for policy in response.policies() {
        if !never.contains(policy.id()) {
            set.add(policy)
                .map_err(|e| PolicyError::Internal(e.to_string()))?;
        }
    }
    Ok(set)
}

/// What partial evaluation knows of the entities: the viewer (as [`Facts::to_cedar`] makes it
/// for concrete decisions too), nothing else.
fn viewer_entities(
    viewer: &Viewer,
    schema: &cedar::Schema,
) -> Result<cedar::PartialEntities, PolicyError> {
    let facts = Facts::new(&viewer.org).to_cedar(viewer, schema)?;
    cedar::PartialEntities::from_concrete(facts, schema)
        .map_err(|e| PolicyError::Internal(format!("partial entities: {e}")))
}

/// The request of `principal` for `action` on a resource of type `resource_type` whose id is
/// unknown; refused when the schema does not let `action` apply to that type.
fn unknown_resource(
    principal: cedar::EntityUid,
    action: Action,
    resource_type: &str,
    schema: &cedar::Schema,
) -> Result<cedar::PartialRequest, PolicyError> {
    cedar::PartialRequest::new(
        cedar::PartialEntityUid::from_concrete(principal),
        action.uid()?,
        cedar::PartialEntityUid::new(type_name(resource_type)?, None),
        Some(cedar::Context::empty()),
        schema,
    )
    .map_err(|e| PolicyError::Facts(format!("`{action}` on `{resource_type}`: {e}")))
}

impl ViewerGuard {
    fn fields_in(
        &self,
        masks: &HashMap<(EntityId, FieldGroup), Visibility>,
        entity: EntityId,
        group: FieldGroup,
    ) -> Visibility {
        match group {
            FieldGroup::Plain => Visibility::All,
            FieldGroup::Demographics => {
                if self.demographics {
                    Visibility::All
                } else {
                    Visibility::None
                }
            }
            _ => masks
                .get(&(entity, group))
                .cloned()
                .unwrap_or(Visibility::None),
        }
    }
}

impl query_compiler::Guard for ViewerGuard {
    fn rows(&self, entity: EntityId) -> Visibility {
        // An entity the policies were not asked about is invisible, never visible.
        self.rows.get(&entity).cloned().unwrap_or(Visibility::None)
    }

    fn fields(&self, entity: EntityId, group: FieldGroup) -> Visibility {
        self.fields_in(&self.fields, entity, group)
    }

    fn rows_in_page(&self, entity: EntityId) -> Visibility {
        self.rows_page
            .get(&entity)
            .cloned()
            .unwrap_or(Visibility::None)
    }

    fn fields_in_page(&self, entity: EntityId, group: FieldGroup) -> Visibility {
        self.fields_in(&self.fields_page, entity, group)
    }

    fn cache_key(&self) -> Option<String> {
        Some(self.key.clone())
    }

    fn implied(&self, from: EntityId, column: &str) -> bool {
        self.implied.contains(&(from, column))
    }
}

/// Every reference (entity, foreign key column) along which the viewer's `view` residuals prove
/// that a visible row reaches only visible entities.
fn implied_references(
    residuals: &HashMap<&'static str, Residuals>,
) -> HashSet<(EntityId, &'static str)> {
    let mut out = HashSet::new();
    for ty in TYPES.iter() {
        let (Some(entity), Some(row)) = (ty.entity, residuals.get(ty.name)) else {
            continue;
        };
        for attr in ty.attrs {
            let AttrKind::Ref { column, target, .. } = attr.kind else {
                continue;
            };
            let (Some(target_ty), Some(target_res)) = (entity_type(target), residuals.get(target))
            else {
                continue;
            };
            if implies(ty, attr.name, row, target_ty, target_res) {
                out.insert((entity, column));
            }
        }
    }
    out
}

/// Runs partial evaluation for one viewer.
struct Evaluator<'a> {
    policies: &'a Policies,
    viewer: &'a Viewer,
    schema: &'static cedar::Schema,
    entities: cedar::PartialEntities,
    principal: cedar::EntityUid,
    /// Write top-level references as `EXISTS` (PostgreSQL).
    correlate: bool,
}

impl<'a> Evaluator<'a> {
    fn new(
        policies: &'a Policies,
        viewer: &'a Viewer,
        correlate: bool,
    ) -> Result<Evaluator<'a>, PolicyError> {
        let schema = &shared()?.schema;
        let entities = viewer_entities(viewer, schema)?;
        Ok(Evaluator {
            policies,
            viewer,
            schema,
            entities,
            principal: principal(viewer)?,
            correlate,
        })
    }

    /// A concrete decision about the org itself (`viewDemographicsAggregate`).
    fn org_decision(&self, action: Action) -> Result<(bool, Vec<String>), PolicyError> {
        let decision = self.policies.decide(
            self.viewer,
            action,
            "Org",
            &self.viewer.org,
            &Facts::new(&self.viewer.org),
        )?;
        Ok((decision.allowed, decision.policies))
    }

    /// Which rows of `ty` the viewer may `action`, as a filter over rows that reference them
    /// through the column `through`
    /// (the demographics of candidates) or of `ty` itself: the filter, the same filter in its
    /// page form ([`query_compiler::Guard::rows_in_page`]), what the policies said, and the
    /// residuals.
    fn visibility(
        &mut self,
        action: Action,
        ty: &'static TypeModel,
        through: Option<&'static str>,
    ) -> Result<(Visibility, Visibility, GuardNote, Residuals), PolicyError> {
        let request = unknown_resource(self.principal.clone(), action, ty.name, self.schema)?;
        let response = self
            .policies
            .set
            .tpe(&request, &self.entities, self.schema)
            .map_err(|e| PolicyError::Internal(format!("`{action}` on `{}`: {e}", ty.name)))?;
        let mut note = GuardNote {
            entity: EntityId::Users,
            group: None,
            action,
            outcome: "none",
            policies: Vec::new(),
            residuals: Vec::new(),
        };
        match response.decision() {
            Some(cedar::Decision::Allow) => {
                note.outcome = "all";
                note.policies = response
                    .reason()
                    .into_iter()
                    .flatten()
                    .map(|p| p.to_string())
                    .collect();
                let all = Residuals {
                    permits: vec![Vec::new()],
                    forbids: false,
                };
                return Ok((Visibility::All, Visibility::All, note, all));
            }
            Some(cedar::Decision::Deny) => {
                note.policies = response
                    .reason()
                    .into_iter()
                    .flatten()
                    .map(|p| p.to_string())
                    .collect();
                return Ok((
                    Visibility::None,
                    Visibility::None,
                    note,
                    Residuals::default(),
                ));
            }
            None => {}
        }
        let mut translator =
            Translator::new(&self.viewer.org, &self.viewer.user, ty).correlated(self.correlate);
        // PostgreSQL's page form is translated again with the attributes the row stores read
        // from its own columns (`Translator::stored`).
        let mut stored = Translator::new(&self.viewer.org, &self.viewer.user, ty).stored(true);
        if let Some(column) = through {
            translator = translator.through(column);
            stored = stored.through(column);
        }
        let true_permits: Vec<String> = response.true_permits().map(|p| p.to_string()).collect();
        let any_true_permit = !true_permits.is_empty();
        note.policies = true_permits;
        let mut permits = Vec::new();
        let mut forbids = Vec::new();
        let (mut page_permits, mut page_forbids) = (Vec::new(), Vec::new());
        let mut residuals = Residuals::default();
        if any_true_permit {
            residuals.permits.push(Vec::new());
        }
        let ids: Vec<(cedar::PolicyId, bool)> = response
            .residual_permits()
            .map(|id| (id.clone(), true))
            .chain(response.residual_forbids().map(|id| (id.clone(), false)))
            .collect();
        for (id, permit) in ids {
            let Some(policy) = response.get_policy(&id) else {
                continue;
            };
            let untranslatable = |what: String| PolicyError::Untranslatable {
                policy: id.to_string(),
                action,
                resource: ty.name.to_owned(),
                what,
            };
            let pst = policy.to_pst().map_err(|e| untranslatable(e.to_string()))?;
            let mut condition = Condition::Const(true);
            let mut page_condition = Condition::Const(true);
            let mut clauses = Vec::new();
            for clause in pst.body().clauses() {
                let (expr, negate) = match clause {
                    pst::Clause::When(e) => (e, false),
                    pst::Clause::Unless(e) => (e, true),
                };
                let c = translator
                    .condition(expr)
                    .map_err(|u| untranslatable(u.0))?;
                let c = if negate { negated(c) } else { c };
                if self.correlate {
                    let p = stored.condition(expr).map_err(|u| untranslatable(u.0))?;
                    let p = if negate { negated(p) } else { p };
                    page_condition = both(page_condition, p);
                }
                // A clause that comes to true here (the org within the viewer's own org)
                // constrains nothing.
                if c != Condition::Const(true) {
                    clauses.push(Clause {
                        expr: Expr::clone(expr),
                        holds: !negate,
                    });
                }
                condition = both(condition, c);
            }
            // A residual that comes to false here (the org boundary within the viewer's own
            // org) decides nothing and is not listed.
            if condition == Condition::Const(false) {
                continue;
            }
            if permit {
                residuals.permits.push(clauses);
            } else {
                residuals.forbids = true;
            }
            note.residuals.push(format!("{id}: {}", policy_text(&pst)));
            note.policies.push(id.to_string());
            if permit {
                permits.push(condition);
                page_permits.push(page_condition);
            } else {
                forbids.push(condition);
                page_forbids.push(page_condition);
            }
        }
        let permit = if any_true_permit {
            Condition::Const(true)
        } else {
            permits.into_iter().fold(Condition::Const(false), either)
        };
        let forbid = forbids.into_iter().fold(Condition::Const(false), either);
        let page_permit = if any_true_permit {
            Condition::Const(true)
        } else {
            page_permits
                .into_iter()
                .fold(Condition::Const(false), either)
        };
        let page_forbid = page_forbids
            .into_iter()
            .fold(Condition::Const(false), either);
        let (vis, page) = match both(permit, negated(forbid)) {
            Condition::Const(true) => (Visibility::All, Visibility::All),
            Condition::Const(false) => (Visibility::None, Visibility::None),
            Condition::Rows(p) => {
                let rows = translator.sql(&p);
                let page = if self.correlate {
                    // PostgreSQL: from the uncorrelated form, with the attributes the row
                    // stores read from the row, every set once per statement.
                    let mut sets =
                        Translator::new(&self.viewer.org, &self.viewer.user, ty).stored(true);
                    if let Some(column) = through {
                        sets = sets.through(column);
                    }
                    match both(page_permit, negated(page_forbid)) {
                        // The same residuals with a column for a reference come to the same
                        // constant; should they not, the filter without stored columns stands.
                        Condition::Rows(page) => Visibility::Rows(array_form(sets.sql(&page))),
                        Condition::Const(_) => Visibility::Rows(array_form(sets.sql(&p))),
                    }
                } else {
                    page_form(&Visibility::Rows(rows.clone()))
                };
                (Visibility::Rows(rows), page)
            }
        };
        note.outcome = match vis {
            Visibility::All => "all",
            Visibility::None => "none",
            Visibility::Rows(_) => "rows",
        };
        Ok((vis, page, note, residuals))
    }
}

fn policy_text(policy: &pst::Policy) -> String {
    policy
        .body()
        .clauses()
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn both(a: Condition, b: Condition) -> Condition {
    condition(p_and(pred(a), pred(b)))
}

fn either(a: Condition, b: Condition) -> Condition {
    condition(p_or(pred(a), pred(b)))
}

fn negated(c: Condition) -> Condition {
    condition(p_not(pred(c)))
}

fn pred(c: Condition) -> P {
    match c {
        Condition::Const(b) => P::Const(b),
        Condition::Rows(p) => p,
    }
}

fn condition(p: P) -> Condition {
    match p {
        P::Const(b) => Condition::Const(b),
        p => Condition::Rows(p),
    }
}

/// Guards per (org, policy source, viewer), so a viewer's filters are translated once per
/// policy version.
#[derive(Debug, Default)]
pub struct GuardCache {
    entries: Mutex<HashMap<(Viewer, PolicySource, Dialect), Arc<ViewerGuard>>>,
}

impl GuardCache {
    pub fn new() -> GuardCache {
        GuardCache::default()
    }

    pub fn guard(
        &self,
        policies: &Policies,
        viewer: &Viewer,
        dialect: Dialect,
    ) -> Result<Arc<ViewerGuard>, PolicyError> {
        let key = (viewer.clone(), policies.source(), dialect);
        if let Ok(entries) = self.entries.lock()
            && let Some(hit) = entries.get(&key)
        {
            return Ok(hit.clone());
        }
        let guard = Arc::new(policies.guard_for(viewer, dialect)?);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= 4096 {
                entries.clear();
            }
            entries.insert(key, guard.clone());
        }
        Ok(guard)
    }
}

/// The page form of a row filter or mask on PostgreSQL ([`query_compiler::Guard::rows_in_page`]),
/// made from the uncorrelated form (every reference a set `x IN (SELECT k ...)`), so that every
/// set is built once per statement and none is probed by a subplan per row:
/// - a set that is a conjunct of the filter (an interviewer's applications; on a joined job,
///   the jobs they interview for) becomes `x = ANY(ARRAY(SELECT k ...))`: an InitPlan, then an
///   index condition, or a filter on the row a join probes by key (the `EXISTS` of
///   [`page_form`] in a join's condition was pulled up into a semi join that hashed every job
///   of the org for every page: an interviewer's page 1.6-2.2x the admin's on 1,000,000
///   applications, 1.2x now);
/// - a set under `OR` or `NOT` (a hiring manager's `job_id IN <their jobs> OR id IN <the
///   applications they interview for>`, a recruiter's `NOT (job_id IN <hidden jobs>)`) stays
///   `x IN (SELECT ...)`: a hashed subplan, built once, one hash probe per row (PostgreSQL 15
///   searches `= ANY` of a computed array linearly). An `EXISTS` under `OR` ran as a subplan for
///   every row the page's index walk read, and the anti join planned for the recruiter's
///   `NOT EXISTS` compared every row of the page with every hidden job (2.6x the admin's on
///   1,000,000 applications; 1.3x now, the hidden jobs read by the `jobs_confidential` index,
///   migration 24);
/// - inside a set, the sets it is built from (`applications.id IN <the applications of the
///   user's seats>`, of the candidates they interview) become
///   `= ANY(ARRAY(...))`: evaluated once, an index condition on the next table.
///
/// Anything else (a negated `IN`, which the translator does not write) is correlated as in
/// [`page_form`]. The rows are the same: `x = ANY(array)` is `x IN (list)` for the list of the
/// set's values, NULLs included. `bench/page-sql.sh` measures each role's page statement.
fn array_form(e: SqlExpr) -> SqlExpr {
    page_sets(e, false)
}

fn page_sets(e: SqlExpr, under_or: bool) -> SqlExpr {
    match e {
        SqlExpr::Binary(op, operands) if op == "OR" && key_sets(&operands) >= 2 => {
            key_union(SqlExpr::Binary(op, operands))
        }
        SqlExpr::Binary(op, operands) if op == "AND" || op == "OR" => {
            let (l, r) = *operands;
            let under_or = under_or || op == "OR";
            SqlExpr::bin(op, page_sets(l, under_or), page_sets(r, under_or))
        }
        SqlExpr::Not(inner) => SqlExpr::Not(Box::new(page_sets(*inner, true))),
        SqlExpr::InSelect(x, mut select, negated) if under_or => {
            sets_as_arrays(&mut select);
            SqlExpr::InSelect(x, select, negated)
        }
        SqlExpr::InSelect(x, mut select, false) => {
            sets_as_arrays(&mut select);
            SqlExpr::eq(*x, any_array(*select))
        }
        mut other => {
            correlate_sets(&mut other);
            other
        }
    }
}

/// The key of every row the translator filters (`model::TypeModel::key`): never NULL, the
/// last column of an org-led primary key.
const KEY: &str = "id";

/// How many of the terms of the `OR` of `operands` are sets of the row's key, `id IN (SELECT
/// ...)` ([`key_union`]).
fn key_sets(operands: &(SqlExpr, SqlExpr)) -> usize {
    let mut terms = Vec::new();
    or_terms(&operands.0, &mut terms);
    or_terms(&operands.1, &mut terms);
    terms.iter().filter(|t| is_key_set(t)).count()
}

fn or_terms<'e>(e: &'e SqlExpr, out: &mut Vec<&'e SqlExpr>) {
    match e {
        SqlExpr::Binary(op, operands) if *op == "OR" => {
            or_terms(&operands.0, out);
            or_terms(&operands.1, out);
        }
        e => out.push(e),
    }
}

fn is_key_set(e: &SqlExpr) -> bool {
    matches!(e, SqlExpr::InSelect(x, set, false)
        if **x == SqlExpr::RowColumn(KEY)
            && set.columns.len() == 1
            && set.union_all.is_empty()
            && set.ctes.is_empty()
            && set.order_by.is_empty()
            && set.limit.is_none())
}

/// An `OR` with two or more sets of the row's key (a hiring manager's jobs: those of their
/// hiring teams or `id IN <the jobs they interview for>`) as one array of their union, `id =
/// ANY(ARRAY(SELECT ... UNION ALL SELECT ...))`, the other terms as [`page_sets`] writes them:
/// an index condition of the key (or a filter on the row a join probes by key), built once per
/// statement, instead of a hashed subplan per set, whose `OR` kept PostgreSQL from probing the
/// key at all (a hiring manager's page read every job of the org, a sequential scan, to join
/// each row's job: 1.8 ms of its 5.2 ms on 1,000,000 applications). One array, not `ARRAY(a)
/// || ARRAY(b)`, which PostgreSQL concatenates again for every row it tests. The same rows: the
/// key is never NULL and neither is any member of the translator's sets, so `id = ANY(a ∪ b)`
/// is `id IN a OR id IN b`.
fn key_union(e: SqlExpr) -> SqlExpr {
    let mut terms = Vec::new();
    let mut flat = Vec::new();
    or_terms(&e, &mut flat);
    let mut sets: Vec<query_compiler::sql::Select> = Vec::new();
    for t in flat {
        match t.clone() {
            SqlExpr::InSelect(_, mut select, false) if is_key_set(t) => {
                sets_as_arrays(&mut select);
                sets.push(*select);
            }
            other => terms.push(page_sets(other, true)),
        }
    }
    let mut out = if sets.is_empty() {
        None
    } else {
        let mut union = sets.remove(0);
        union.union_all = sets;
        Some(SqlExpr::eq(SqlExpr::RowColumn(KEY), any_array(union)))
    };
    for t in terms {
        out = Some(match out {
            None => t,
            Some(acc) => SqlExpr::bin("OR", acc, t),
        });
    }
    out.unwrap_or(SqlExpr::Bool(false))
}

/// Every `x IN (SELECT ...)` of a subquery as `x = ANY(ARRAY(SELECT ...))`.
fn sets_as_arrays(select: &mut query_compiler::sql::Select) {
    query_compiler::sql::walk_select_mut(select, &mut |node| {
        let SqlExpr::InSelect(x, inner, negated) = node else {
            return;
        };
        let member = SqlExpr::eq(
            std::mem::replace(x.as_mut(), SqlExpr::Null),
            any_array(std::mem::take(inner.as_mut())),
        );
        *node = if *negated {
            SqlExpr::Not(Box::new(member))
        } else {
            member
        };
    });
}

/// `ANY(ARRAY(select))`.
fn any_array(select: query_compiler::sql::Select) -> SqlExpr {
    SqlExpr::Func(
        "ANY",
        vec![SqlExpr::Func(
            "ARRAY",
            vec![SqlExpr::Subquery(Box::new(select))],
        )],
    )
}

/// The page form of a row filter or mask ([`query_compiler::Guard::rows_in_page`]): every
/// `x IN (SELECT k FROM t ... WHERE c)` becomes `EXISTS (SELECT 1 FROM t ... WHERE c AND k = x)`,
/// at every depth, so that the database probes the few rows a page reads (by index) instead of
/// building each set in full first. The rows are the same: the translator's predicates are
/// two-valued, `x` is a key or a foreign key tested for NULL before it is compared, and `k`
/// (a key or a NOT NULL foreign key) is never NULL.
fn page_form(v: &Visibility) -> Visibility {
    let Visibility::Rows(e) = v else {
        return v.clone();
    };
    let mut e = e.clone();
    correlate_sets(&mut e);
    Visibility::Rows(e)
}

/// Every `x IN (SELECT k ...)` in `e`, at every depth, as `EXISTS (SELECT 1 ... AND k = x)`.
fn correlate_sets(e: &mut SqlExpr) {
    use query_compiler::sql::walk_expr_mut;
    walk_expr_mut(e, &mut |node| {
        let SqlExpr::InSelect(x, select, negated) = node else {
            return;
        };
        if select.columns.len() != 1
            || !select.group_by.is_empty()
            || !select.union_all.is_empty()
            || !select.ctes.is_empty()
            || select.limit.is_some()
        {
            return;
        }
        let mut correlated = std::mem::take(select.as_mut());
        let Some((key, _)) = correlated.columns.pop() else {
            return;
        };
        correlated.columns = vec![(SqlExpr::Int(1), "k".into())];
        correlated.filter = SqlExpr::all(
            correlated
                .filter
                .take()
                .into_iter()
                .chain([SqlExpr::eq(key, x.as_ref().clone())])
                .collect(),
        );
        let exists = SqlExpr::Exists(Box::new(correlated));
        *node = if *negated {
            SqlExpr::Not(Box::new(exists))
        } else {
            exists
        };
    });
}
