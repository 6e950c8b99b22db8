//! What a request asks of the database, counted from its parsed document before it runs.
//!
//! async-graphql's own limits (`limits.max_depth`, `limits.max_complexity`) count fields: ten
//! fields that nest three pages of 200 ask for 8 million rows, and its dynamic schema has no
//! per-field complexity to weigh a list by its page. So the server counts rows itself:
//! every list (a field with a `first` argument: root lists and to-many connections) asks for
//! its page size (`first`, resolved from the variables, else `limits.default_page_size`, at most
//! `limits.max_page_size`) times the rows of the lists above it, and the request's cost is the
//! sum over its lists. A request over `limits.max_cost` is refused before it runs, naming the
//! list that asks for the most; so is a mutation request with more root fields than
//! `limits.max_mutations` (each is a command, and the rate limit counts the request once).
//!
//! The walk follows the schema's types (the registry), fragments and aliases; what the schema
//! does not know is skipped (validation then refuses it with its position).

use async_graphql::Pos;
use async_graphql::Variables;
use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};

use crate::settings::Limits;

/// Deeper than this the walk stops (a cycle of fragments, which validation refuses anyway).
const MAX_WALK_DEPTH: usize = 64;

/// The list that asks for the most rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Costliest {
    /// Its path by response keys (aliases where given), e.g. `a.nodes.job.applications`.
    pub path: String,
    /// The rows it asks for: its page times the pages above it.
    pub rows: u64,
    /// Where it is in the query.
    pub pos: Pos,
}

/// What one operation asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// The rows every list of the operation may return, in all.
    pub rows: u64,
    /// The list that asks for the most rows, if there is one.
    pub costliest: Option<Costliest>,
    /// Where each root field of a mutation is (none for a query).
    pub mutations: Vec<Pos>,
}

/// Why a request is refused before it runs: the message (lower case, naming the setting) and
/// where in the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub pos: Option<Pos>,
}

/// Counts what the operation of `doc` that a request runs (`operation_name`, else the first)
/// asks for.
pub fn measure(
    registry: &Registry,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: &Limits,
) -> Cost {
    let op = doc
        .operations
        .iter()
        .find(|(name, _)| operation_name.is_none() || name.map(|n| n.as_str()) == operation_name);
    let Some((_, op)) = op else {
        return Cost::default();
    };
    let root = match op.node.ty {
        OperationType::Query => Some(registry.query_type.as_str()),
        OperationType::Mutation => registry.mutation_type.as_deref(),
        OperationType::Subscription => None,
    };
    let Some(root) = root.and_then(|name| registry.types.get(name)) else {
        return Cost::default();
    };
    let mut walk = Walk {
        registry,
        doc,
        op: &op.node,
        variables,
        default_page: limits.default_page_size as u64,
        max_page: limits.max_page_size as u64,
        cost: Cost::default(),
    };
    if op.node.ty == OperationType::Mutation {
        let mut roots = Vec::new();
        walk.root_fields(&op.node.selection_set.node, 0, &mut roots);
        walk.cost.mutations = roots;
    }
    walk.selection_set(root, &op.node.selection_set.node, 1, "", 0);
    walk.cost
}

impl Cost {
    /// Why the request may not run under `limits`, if it may not.
    pub fn refusal(&self, limits: &Limits) -> Option<Refusal> {
        if self.mutations.len() > limits.max_mutations {
            return Some(Refusal {
                message: format!(
                    "the request has {} mutations, over the limit of {} per request \
                     (`limits.max_mutations`): send them in several requests",
                    self.mutations.len(),
                    limits.max_mutations
                ),
                // The first one past the limit.
                pos: self.mutations.get(limits.max_mutations).copied(),
            });
        }
        if self.rows > limits.max_cost {
            let (most, pos) = match &self.costliest {
                Some(c) => (
                    format!("; the most, {} rows, at `{}`", c.rows, c.path),
                    Some(c.pos),
                ),
                None => (String::new(), None),
            };
            return Some(Refusal {
                message: format!(
                    "the query asks for up to {} rows, over the limit of {} (`limits.max_cost`: \
                     each list counts its page size (`first`) times the pages above it){most}: \
                     ask for smaller pages or fewer nested lists",
                    self.rows, limits.max_cost
                ),
                pos,
            });
        }
        None
    }
}

struct Walk<'a> {
    registry: &'a Registry,
    doc: &'a ExecutableDocument,
    op: &'a OperationDefinition,
    variables: &'a Variables,
    default_page: u64,
    max_page: u64,
    cost: Cost,
}

impl Walk<'_> {
    /// The positions of the root fields of `set`, through fragments.
    fn root_fields(&self, set: &SelectionSet, depth: usize, out: &mut Vec<Pos>) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => out.push(f.pos),
                Selection::FragmentSpread(s) => {
                    if let Some(fragment) = self.doc.fragments.get(&s.node.fragment_name.node) {
                        self.root_fields(&fragment.node.selection_set.node, depth + 1, out);
                    }
                }
                Selection::InlineFragment(i) => {
                    self.root_fields(&i.node.selection_set.node, depth + 1, out);
                }
            }
        }
    }

    /// Adds the lists of `set`, selected on `ty`, each resolved `above` times.
    fn selection_set(
        &mut self,
        ty: &MetaType,
        set: &SelectionSet,
        above: u64,
        path: &str,
        depth: usize,
    ) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let field = &f.node;
                    let Some(meta) = ty.field_by_name(field.name.node.as_str()) else {
                        continue;
                    };
                    let key = field.response_key().node.as_str();
                    let path = if path.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{path}.{key}")
                    };
                    let mut rows = above;
                    if meta.args.contains_key("first") {
                        rows = above.saturating_mul(self.page(field));
                        self.cost.rows = self.cost.rows.saturating_add(rows);
                        if self.cost.costliest.as_ref().is_none_or(|c| rows > c.rows) {
                            self.cost.costliest = Some(Costliest {
                                path: path.clone(),
                                rows,
                                pos: f.pos,
                            });
                        }
                    }
                    let inner = MetaTypeName::concrete_typename(&meta.ty);
                    if let Some(inner) = self.registry.types.get(inner) {
                        self.selection_set(
                            inner,
                            &field.selection_set.node,
                            rows,
                            &path,
                            depth + 1,
                        );
                    }
                }
                Selection::FragmentSpread(s) => {
                    if let Some(fragment) = self.doc.fragments.get(&s.node.fragment_name.node) {
                        let on = &fragment.node.type_condition.node.on.node;
                        let ty = self.registry.types.get(on.as_str()).unwrap_or(ty);
                        self.selection_set(
                            ty,
                            &fragment.node.selection_set.node,
                            above,
                            path,
                            depth + 1,
                        );
                    }
                }
                Selection::InlineFragment(i) => {
                    let ty = i
                        .node
                        .type_condition
                        .as_ref()
                        .and_then(|c| self.registry.types.get(c.node.on.node.as_str()))
                        .unwrap_or(ty);
                    self.selection_set(ty, &i.node.selection_set.node, above, path, depth + 1);
                }
            }
        }
    }

    /// The page a list field asks for: its `first` (a literal or a variable, else the
    /// variable's default), else the default page, at most the largest page (a larger `first`
    /// is refused by the field itself, with its own message).
    fn page(&self, field: &async_graphql::parser::types::Field) -> u64 {
        let given = field.get_argument("first").and_then(|v| {
            v.node
                .clone()
                .into_const_with(|name| {
                    self.variables
                        .get(&name)
                        .cloned()
                        .or_else(|| {
                            self.op
                                .variable_definitions
                                .iter()
                                .find(|d| d.node.name.node == name)
                                .and_then(|d| d.node.default_value.as_ref())
                                .map(|d| d.node.clone())
                        })
                        .ok_or(())
                })
                .ok()
        });
        match given {
            Some(async_graphql::Value::Number(n)) => n
                .as_u64()
                .map_or(self.default_page, |n| n.min(self.max_page)),
            _ => self.default_page,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn cost(query: &str, variables: serde_json::Value) -> Cost {
        let limits = Limits::default();
        let schema = crate::graphql::schema(&limits).unwrap();
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let variables = Variables::from_json(variables);
        measure(schema.registry(), &doc, None, &variables, &limits)
    }

    #[test]
    fn lists_count_their_page_times_the_pages_above() {
        let c = cost(
            "{ a: applications(first: 200) { nodes { id job { applications(first: 200) { nodes { id job { applications(first: 200) { nodes { id } } } } } } } } }",
            serde_json::json!({}),
        );
        assert_eq!(c.rows, 200 + 200 * 200 + 200 * 200 * 200);
        let most = c.costliest.clone().unwrap();
        assert_eq!(most.path, "a.nodes.job.applications.nodes.job.applications");
        assert_eq!(most.rows, 8_000_000);
        let refusal = c.refusal(&Limits::default()).unwrap();
        assert!(
            refusal.message.contains("8040200 rows"),
            "{}",
            refusal.message
        );
        // Defaults, variables (and their defaults), fragments, a `first` over the page cap.
        let c = cost(
            "query($n: Int, $m: Int = 7) { jobs { nodes { ...J } } x: applications(first: $m) { nodes { id } } }
             fragment J on Job { applications(first: $n) { nodes { id } } y: applications(first: 100000) { nodes { id } } }",
            serde_json::json!({"n": 3}),
        );
        assert_eq!(c.rows, 50 + 50 * 3 + 50 * 200 + 7);
        assert!(c.mutations.is_empty());
        assert!(c.refusal(&Limits::default()).is_none());
        // Unknown fields count nothing (validation refuses them).
        assert_eq!(
            cost("{ nope(first: 200) { x } }", serde_json::json!({})).rows,
            0
        );
    }

    #[test]
    fn mutations_are_counted_through_fragments() {
        let c = cost(
            r#"mutation { a: createCandidate(input: {name: "a"}) { id } ... on Mutation { b: createCandidate(input: {name: "b"}) { id } } }"#,
            serde_json::json!({}),
        );
        assert_eq!(c.mutations.len(), 2);
        let limits = Limits {
            max_mutations: 1,
            ..Limits::default()
        };
        let refusal = c.refusal(&limits).unwrap();
        assert!(
            refusal.message.contains("2 mutations"),
            "{}",
            refusal.message
        );
        assert!(refusal.pos.is_some());
    }
}
