//! What a request asks of the server, counted from its parsed document before it runs.
//!
//! async-graphql's own limits (`limits.max_depth`, `limits.max_complexity`) count fields: ten
//! fields that nest three pages of 200 ask for 8 million rows, and its dynamic schema has no
//! per-field complexity to weigh a list by its page. So the server counts a cost itself:
//! - every list (a field with a `first` argument: root lists and to-many connections) costs
//!   its page size (`first`, resolved from the variables, else `limits.default_page_size`, at
//!   most `limits.max_page_size`) times the rows of the lists above it;
//! - every root field costs its own weight besides ([`root_weight`]): a report or an explain
//!   [`REPORT_COST`] (it may aggregate the whole org and return up to `limits.max_report_rows`
//!   rows: at most five fit in the default `limits.max_cost`), `__schema` (the whole schema's
//!   introspection), `automationDryRun` (every rule of the org checked), a read of whole calendars
//!   (`interviewerBusyTime`, `interviewerPools`, `interviewLoops`) the same, a scheduling call
//!   [`SCHEDULING_COST`] (a search), any other root field (a lookup, the viewer, a mutation, a
//!   policy decision) [`ROOT_COST`], so that no root field is free and aliases cannot multiply
//!   work unseen;
//! - a list that filters (`where` in the report language, or `filter`), is ordered (`orderBy`) or counts
//!   (`totalCount`) reads every row it may hold, not a page by an index (red team, pass 9:
//!   1,000 aliased `applications(first: 1, where: ...) { totalCount }` cost 11,000 and took
//!   9 s of CPU). Besides its rows it costs, at the root, [`REPORT_COST`] with `where`,
//!   `filter` or `orderBy` (a report's work over the org) and [`COUNT_COST`] for `totalCount` alone (a
//!   count of the org's rows); nested, a default page per row above (each parent's children
//!   read whole: 200 jobs' applications counted weigh a report).
//!
//! The request's cost is the sum. A request over `limits.max_cost` is refused before it runs,
//! naming its cost, the limit and the field that costs the most; so is a mutation request with
//! more root fields than `limits.max_mutations` (each is a command, and the rate limit counts
//! the request once).
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

/// What a report or an explain costs (a statement that may read the whole org and return up
/// to `limits.max_report_rows` rows), and a read of whole calendars: a fifth of the default
/// `limits.max_cost` (50,000), so that one request holds at most five. At 1,000 a request of
/// 49 aliased reports of 10,000 rows each passed, 48.7 MB of answer.
pub const REPORT_COST: u64 = 10_000;
/// What a root list's `totalCount` costs without `where`, `filter` or `orderBy`: a count of the
/// org's rows the caller sees (an index range, or a scan under a row filter), a quarter of a
/// report; `events` (a scan of the org's outbox) the same.
pub const COUNT_COST: u64 = 2_500;
/// What a scheduling call costs (`schedulingOptions`, `repairInterviewLoop`: a search on the CPU
/// besides its reads).
pub const SCHEDULING_COST: u64 = 5_000;
/// What any other root field costs (a lookup, `viewer`, a mutation, a decision): at least one
/// statement.
pub const ROOT_COST: u64 = 10;

/// The weight of root field `name` of the query or mutation type, on top of its lists' rows.
pub fn root_weight(name: &str) -> (u64, &'static str) {
    match name {
        "report" | "explain" => (REPORT_COST, "a report"),
        // Every interviewer's calendar over a range, every pool with its people, every loop
        // of an application with its plan: 1,900 aliased `interviewerBusyTime` at a lookup's
        // weight held the workers for 5.3 s.
        "interviewerBusyTime" | "interviewerPools" | "interviewLoops" => {
            (REPORT_COST, "a read of whole calendars")
        }
        // Every candidate of the org grouped by email: 200 aliases at a lookup's weight ran
        // 33 whole-org scans of 183 ms and left the rest `BUSY` (red team, pass 2).
        "duplicateCandidates" => (REPORT_COST, "a search of the whole org"),
        // Up to 10,000 of the org's events read and filtered by their subjects (a report as
        // the caller per 200 subjects), whatever `first` asks: 1,500 aliased `events(first:
        // 1)` at a lookup's weight took 5 s (red team, pass 11).
        "events" => (COUNT_COST, "a scan of the org's events"),
        // The whole schema (hundreds of kilobytes, held several times over in memory while
        // it is written): 410 aliased `__schema` took a server to 353 MB (red team, pass 6).
        // GraphiQL asks for it once a request.
        "__schema" => (REPORT_COST, "the schema's introspection"),
        // One type's fields with their descriptions and arguments (tens of kilobytes for
        // `Query`): 1,000 aliases were 15.6 MB of answer in 0.57 s at a lookup's weight (red
        // team, pass 15); twenty fit in a request.
        "__type" => (COUNT_COST, "a type's introspection"),
        // Every rule of the org (up to 200) checked against an event, each condition a report
        // as its owner: 2,400 aliases at a lookup's weight took 8.9 s of CPU (red team, pass 15).
        "automationDryRun" => (REPORT_COST, "a dry run of the org's rules"),
        "schedulingOptions"
        | "repairInterviewLoop"
        | "bookInterviewLoop"
        | "applyInterviewLoopRepair" => (SCHEDULING_COST, "a scheduling call"),
        _ => (ROOT_COST, "a root field"),
    }
}

/// Deeper than this the walk stops (a cycle of fragments, which validation refuses anyway).
const MAX_WALK_DEPTH: usize = 64;

/// The most selections (fields, spreads, inline fragments) the walk visits, fragments expanded
/// where they are spread. A fragment that spreads the next one twice, 24 levels down, is a
/// 1 KB query of 2^24 fields: walked without a bound it held an async worker for 22 s, and
/// async-graphql's own validation walks it the same way. Past the bound the request is refused
/// before anything else looks at it. A document without fragments stays under it whatever it
/// selects (`limits.max_body_bytes` bounds its size); a real query selects a few hundred fields.
pub const MAX_WALK_VISITS: u64 = 100_000;

/// The field that costs the most: a list (its rows) or a root field (its weight).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Costliest {
    /// Its path by response keys (aliases where given), e.g. `a.nodes.job.applications`.
    pub path: String,
    /// What it costs: a list's page times the pages above it, or a root field's weight.
    pub rows: u64,
    /// What it is: `rows` for a list, else what the weight is for (`a report`, ...).
    pub what: &'static str,
    /// Where it is in the query.
    pub pos: Pos,
}

/// What one operation asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// The rows every list of the operation may return, in all.
    pub rows: u64,
    /// The weights of its root fields, in all ([`root_weight`]).
    pub roots: u64,
    /// The field that costs the most, if there is one.
    pub costliest: Option<Costliest>,
    /// Where each root field of a mutation is (none for a query).
    pub mutations: Vec<Pos>,
    /// How many root fields the operation has (through fragments).
    pub root_fields: u64,
    /// The weights of its lists that filter, order or count (see the module's doc).
    pub scans: u64,
    /// Where the walk stopped at [`MAX_WALK_VISITS`], if it did: the request is refused.
    pub overflow: Option<Pos>,
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
    // Every operation and fragment is validated, not only the one that runs: the bound holds
    // for the whole document first.
    if let Some(pos) = overflow(doc) {
        return Cost {
            overflow: Some(pos),
            ..Cost::default()
        };
    }
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
        visits: 0,
    };
    if op.node.ty == OperationType::Mutation {
        walk.cost.mutations = root_fields(doc, &op.node.selection_set.node)
            .into_iter()
            .map(|(_, pos)| pos)
            .collect();
    }
    walk.selection_set(root, &op.node.selection_set.node, 1, "", 0, true);
    walk.cost
}

/// Where the selections of `doc`'s operations, its fragments expanded where they are spread,
/// go past [`MAX_WALK_VISITS`], if they do. Called before anything else walks the document
/// (async-graphql's validation expands fragments the same way).
pub fn overflow(doc: &ExecutableDocument) -> Option<Pos> {
    selections_over(doc, MAX_WALK_VISITS)
}

/// Where the selections of `doc`'s operations (fields, spreads and inline fragments, its
/// fragments expanded where they are spread) go past `max`, if they do.
pub fn selections_over(doc: &ExecutableDocument, max: u64) -> Option<Pos> {
    fn walk(
        doc: &ExecutableDocument,
        set: &SelectionSet,
        depth: usize,
        visits: &mut u64,
        max: u64,
    ) -> Option<Pos> {
        if depth > MAX_WALK_DEPTH {
            return None;
        }
        for item in &set.items {
            *visits += 1;
            if *visits > max {
                return Some(item.pos);
            }
            let inner = match &item.node {
                Selection::Field(f) => Some(&f.node.selection_set.node),
                Selection::FragmentSpread(s) => doc
                    .fragments
                    .get(&s.node.fragment_name.node)
                    .map(|f| &f.node.selection_set.node),
                Selection::InlineFragment(i) => Some(&i.node.selection_set.node),
            };
            if let Some(pos) = inner.and_then(|set| walk(doc, set, depth + 1, visits, max)) {
                return Some(pos);
            }
        }
        None
    }
    let mut visits = 0;
    doc.operations
        .iter()
        .find_map(|(_, op)| walk(doc, &op.node.selection_set.node, 0, &mut visits, max))
}

/// The root fields of an operation whose selections are `set`, through fragments and inline
/// fragments: each one's response key and position, in the document's order. Call it on a
/// document whose size [`overflow`] has bounded; fragments that spread each other (which
/// validation refuses) stop at [`MAX_WALK_DEPTH`].
pub fn root_fields(doc: &ExecutableDocument, set: &SelectionSet) -> Vec<(String, Pos)> {
    fn walk(
        doc: &ExecutableDocument,
        set: &SelectionSet,
        depth: usize,
        out: &mut Vec<(String, Pos)>,
    ) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => out.push((f.node.response_key().node.to_string(), f.pos)),
                Selection::FragmentSpread(s) => {
                    if let Some(fragment) = doc.fragments.get(&s.node.fragment_name.node) {
                        walk(doc, &fragment.node.selection_set.node, depth + 1, out);
                    }
                }
                Selection::InlineFragment(i) => {
                    walk(doc, &i.node.selection_set.node, depth + 1, out)
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(doc, set, 0, &mut out);
    out
}

impl Cost {
    /// The request's cost: its lists' rows and its root fields' weights.
    pub fn total(&self) -> u64 {
        self.rows
            .saturating_add(self.roots)
            .saturating_add(self.scans)
    }

    /// Why the request may not run under `limits`, if it may not.
    pub fn refusal(&self, limits: &Limits) -> Option<Refusal> {
        if let Some(pos) = self.overflow {
            return Some(Refusal {
                message: format!(
                    "the query selects more than {MAX_WALK_VISITS} fields once its fragments \
                     are expanded where they are spread: spread each fragment fewer times"
                ),
                pos: Some(pos),
            });
        }
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
        let total = self.total();
        if total > limits.max_cost {
            let (most, pos) = match &self.costliest {
                Some(c) if c.what == "rows" => (
                    format!("; the most, {} rows, at `{}`", c.rows, c.path),
                    Some(c.pos),
                ),
                Some(c) => (
                    format!("; the most, {}, at `{}` ({})", c.rows, c.path, c.what),
                    Some(c.pos),
                ),
                None => (String::new(), None),
            };
            return Some(Refusal {
                message: format!(
                    "the query costs {total} (up to {} rows, {} for its {} root fields and {} for \
                     its lists that filter, order or count), over the limit of {} \
                     (`limits.max_cost`: each list counts its page size (`first`) times the \
                     pages above it; a root list {REPORT_COST} more with `where`, `filter` or `orderBy`, \
                     {COUNT_COST} with `totalCount` alone, a nested one that filters, orders or \
                     counts a default page per row above; each report, explain, read of whole \
                     calendars or `__schema` {REPORT_COST}, \
                     each scheduling call {SCHEDULING_COST}, any other root field \
                     {ROOT_COST}){most}: ask for smaller pages, fewer nested lists or fewer \
                     fields per request",
                    self.rows, self.roots, self.root_fields, self.scans, limits.max_cost
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
    /// Selections visited so far, against [`MAX_WALK_VISITS`].
    visits: u64,
}

impl Walk<'_> {
    /// Counts a visit; false once past [`MAX_WALK_VISITS`] (the walk stops, the cost keeps
    /// where).
    fn visit(&mut self, pos: Pos) -> bool {
        self.visits += 1;
        if self.visits > MAX_WALK_VISITS {
            self.cost.overflow.get_or_insert(pos);
            return false;
        }
        true
    }

    /// Keeps the field at `path` as the costliest when it costs more than the one kept.
    fn note(&mut self, path: &str, rows: u64, what: &'static str, pos: Pos) {
        if self.cost.costliest.as_ref().is_none_or(|c| rows > c.rows) {
            self.cost.costliest = Some(Costliest {
                path: path.to_owned(),
                rows,
                what,
                pos,
            });
        }
    }

    /// Adds the lists of `set`, selected on `ty`, each resolved `above` times (and the weights
    /// of the root fields when `set` is the operation's, `root`).
    fn selection_set(
        &mut self,
        ty: &MetaType,
        set: &SelectionSet,
        above: u64,
        path: &str,
        depth: usize,
        root: bool,
    ) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        for item in &set.items {
            if !self.visit(item.pos) {
                return;
            }
            match &item.node {
                Selection::Field(f) => {
                    let field = &f.node;
                    let name = field.name.node.as_str();
                    if root && name.starts_with("__") {
                        // Introspection (`__schema`, `__type`, `__typename`) is not in the
                        // registry's fields of the root type, but costs like any root field.
                        let (weight, what) = root_weight(name);
                        self.cost.roots = self.cost.roots.saturating_add(weight);
                        self.cost.root_fields += 1;
                        let key = field.response_key().node.as_str();
                        let path = if path.is_empty() {
                            key.to_owned()
                        } else {
                            format!("{path}.{key}")
                        };
                        self.note(&path, weight, what, f.pos);
                        continue;
                    }
                    let Some(meta) = ty.field_by_name(name) else {
                        continue;
                    };
                    let key = field.response_key().node.as_str();
                    let path = if path.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{path}.{key}")
                    };
                    if root {
                        let (weight, what) = root_weight(field.name.node.as_str());
                        self.cost.roots = self.cost.roots.saturating_add(weight);
                        self.cost.root_fields += 1;
                        self.note(&path, weight, what, f.pos);
                    }
                    let mut rows = above;
                    if meta.args.contains_key("first") {
                        rows = above.saturating_mul(self.page(field));
                        self.cost.rows = self.cost.rows.saturating_add(rows);
                        self.note(&path, rows, "rows", f.pos);
                        // `filter` too: `email` is a case-insensitive scan of every candidate
                        // (red team, pass 10: 1,600 aliased filters at a cost of 17,600).
                        let scans = ["where", "filter", "orderBy"]
                            .iter()
                            .any(|arg| field.get_argument(arg).is_some());
                        // Either way the statement reads every row the list may hold.
                        let reads_all =
                            scans || self.selects(&field.selection_set.node, "totalCount", depth);
                        if reads_all {
                            let (weight, what) = match (root, scans) {
                                (true, true) => (REPORT_COST, "a list that filters or orders"),
                                (true, false) => (COUNT_COST, "a count of the org's rows"),
                                (false, _) => (
                                    above.saturating_mul(self.default_page),
                                    "a nested list that filters, orders or counts",
                                ),
                            };
                            self.cost.scans = self.cost.scans.saturating_add(weight);
                            self.note(&path, weight, what, f.pos);
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
                            false,
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
                            root,
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
                    self.selection_set(
                        ty,
                        &i.node.selection_set.node,
                        above,
                        path,
                        depth + 1,
                        root,
                    );
                }
            }
        }
    }

    /// Whether `set` selects field `name` (through fragments and inline fragments).
    fn selects(&self, set: &SelectionSet, name: &str, depth: usize) -> bool {
        if depth > MAX_WALK_DEPTH {
            return false;
        }
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => f.node.name.node == name,
            Selection::FragmentSpread(s) => self
                .doc
                .fragments
                .get(&s.node.fragment_name.node)
                .is_some_and(|fragment| {
                    self.selects(&fragment.node.selection_set.node, name, depth + 1)
                }),
            Selection::InlineFragment(i) => {
                self.selects(&i.node.selection_set.node, name, depth + 1)
            }
        })
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
        // `first: 0` still costs a page of one: the field runs its statement (and its count)
        // once per row above, whatever it returns; counted as nothing, 200 nested empty lists
        // under 300 rows ran 60,000 statements at a cost of 210.
        match given {
            Some(async_graphql::Value::Number(n)) => n
                .as_u64()
                .map_or(self.default_page, |n| n.clamp(1, self.max_page)),
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
    fn fragments_spread_again_and_again_are_refused_not_walked() {
        // F_i spreads F_(i+1) twice: 2^30 fields from a kilobyte, refused at once.
        let n = 30;
        let mut q = "query { ...F0 }\n".to_owned();
        for i in 0..n {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{} ...F{} }}\n",
                i + 1,
                i + 1
            ));
        }
        q.push_str(&format!("fragment F{n} on Query {{ viewer {{ name }} }}\n"));
        let started = std::time::Instant::now();
        let c = cost(&q, serde_json::json!({}));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let refusal = c.refusal(&Limits::default()).unwrap();
        assert!(
            refusal.message.contains("more than 100000 fields"),
            "{}",
            refusal.message
        );
        // Also when the bomb is in an operation that does not run (validation walks it).
        let other = format!(
            "query Small {{ viewer {{ name }} }}\n{}",
            q.replacen("query {", "query Big {", 1)
        );
        let doc = async_graphql::parser::parse_query(&other).unwrap();
        assert!(overflow(&doc).is_some());
        // A real query is far inside.
        let c = cost(
            "{ applications(first: 50) { nodes { id candidate { name } job { title } } } }",
            serde_json::json!({}),
        );
        assert_eq!(c.overflow, None);
    }

    #[test]
    fn an_empty_page_still_costs_its_statements() {
        // Nested lists of `first: 0` run their statement once per row above all the same.
        let c = cost(
            "{ jobs(first: 200) { nodes { a: applications(first: 0) { totalCount } b: applications(first: 0) { totalCount } } } }",
            serde_json::json!({}),
        );
        assert_eq!(c.rows, 200 + 200 + 200);
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
    fn every_root_field_costs_something() {
        // 2,000 aliased reports: refused, naming the cost, the limit and the costliest field.
        let many: String = (0..2000)
            .map(|i| format!(r#"r{i}: report(name: "funnel") {{ rows }} "#))
            .collect();
        let c = cost(&format!("{{ {many} }}"), serde_json::json!({}));
        assert_eq!(c.total(), 2000 * REPORT_COST);
        assert_eq!(c.root_fields, 2000);
        let refusal = c.refusal(&Limits::default()).unwrap();
        assert!(
            refusal.message.contains("costs 20000000")
                && refusal.message.contains("limit of 50000")
                && refusal.message.contains("`r0` (a report)"),
            "{}",
            refusal.message
        );
        // Explain, scheduling, lookups and the viewer, through fragments; lists add their rows.
        let c = cost(
            r#"{ e: explain(name: "funnel") { rows } ...F viewer { org } application(id: "x") { id job { applications(first: 7) { nodes { id } } } } }
               fragment F on Query { s: schedulingOptions(applicationId: "x", plan: {}) }"#,
            serde_json::json!({}),
        );
        assert_eq!(c.roots, REPORT_COST + SCHEDULING_COST + 2 * ROOT_COST);
        assert_eq!(c.rows, 7);
        // A report weighs more than a scheduling call.
        assert_eq!(c.costliest.unwrap().path, "e");
        // A hundred aliased viewers cost something too, and ten scheduling calls are too many.
        let viewers: String = (0..100)
            .map(|i| format!("v{i}: viewer {{ org }} "))
            .collect();
        assert_eq!(
            cost(&format!("{{ {viewers} }}"), serde_json::json!({})).total(),
            1000
        );
        let s: String = (0..11)
            .map(|i| format!(r#"s{i}: schedulingOptions(applicationId: "x", plan: {{}}) "#))
            .collect();
        let c = cost(&format!("{{ {s} }}"), serde_json::json!({}));
        assert!(c.refusal(&Limits::default()).is_some());
    }

    #[test]
    fn reports_and_whole_calendars_fit_five_to_a_request() {
        // The red team's 49 aliased reports of up to 10,000 rows each (48.7 MB of answer) and
        // 1,900 aliased `interviewerBusyTime` (5.3 s of the workers) at a lookup's weight.
        let limits = Limits::default();
        let many = |field: &str, n: usize| -> String {
            let fields: String = (0..n).map(|i| format!("a{i}: {field} ")).collect();
            format!("{{ {fields} }}")
        };
        for field in [
            r#"report(text: "report applications show id") { rows }"#,
            r#"explain(text: "report applications show id") { sql }"#,
            r#"interviewerBusyTime(applicationId: "x", userIds: ["u"], from: "2026-01-01T00:00:00Z", to: "2026-01-15T00:00:00Z") { userId }"#,
            r#"interviewerPools(applicationId: "x") { id }"#,
            r#"interviewLoops(applicationId: "x") { id }"#,
            "duplicateCandidates { email }",
            r#"automationDryRun(event: "e") { rule }"#,
        ] {
            let c = cost(&many(field, 5), serde_json::json!({}));
            assert_eq!(c.roots, 5 * REPORT_COST, "{field}");
            assert!(c.refusal(&limits).is_none(), "{field}");
            let c = cost(&many(field, 6), serde_json::json!({}));
            let refusal = c.refusal(&limits).expect(field);
            assert!(
                refusal.message.contains("costs 60000"),
                "{}",
                refusal.message
            );
            let c = cost(&many(field, 1900), serde_json::json!({}));
            assert!(c.refusal(&limits).is_some(), "{field}");
        }
    }

    #[test]
    fn lists_that_filter_order_or_count_cost_like_a_report() {
        let limits = Limits::default();
        // Each of `where`, `orderBy` and `totalCount` (through a fragment too), at the root or
        // nested, once where it is selected; a plain page costs its rows only.
        for (list, weight) in [
            (
                r#"applications(first: 1, where: "candidate.name contains \"x\"") { nodes { id } }"#,
                REPORT_COST,
            ),
            (
                "applications(first: 1, orderBy: {field: UPDATED_AT}) { totalCount }",
                REPORT_COST,
            ),
            ("applications(first: 1) { totalCount }", COUNT_COST),
            (
                r#"candidates(first: 1, filter: {email: "a@b.c"}) { nodes { id } }"#,
                REPORT_COST,
            ),
            ("applications(first: 1) { ...C }", COUNT_COST),
            // Nested: each of 7 jobs' applications read whole, as a default page of 50 each.
            (
                "jobs(first: 7) { nodes { applications(first: 1) { totalCount } } }",
                7 * 50,
            ),
            (
                r#"application(id: "x") { interviews(first: 2, where: "status = \"scheduled\"") { nodes { id } } }"#,
                50,
            ),
        ] {
            let c = cost(
                &format!("{{ {list} }} fragment C on ApplicationConnection {{ totalCount }}"),
                serde_json::json!({}),
            );
            assert_eq!(c.scans, weight, "{list}");
        }
        let c = cost(
            "{ applications(first: 1) { nodes { id } } }",
            serde_json::json!({}),
        );
        assert_eq!((c.scans, c.total()), (0, 1 + ROOT_COST));
        // The red team's 1,000 aliased filtered counts (9 s of CPU at a cost of 11,000):
        // refused, naming them.
        let many: String = (0..1000)
            .map(|i| format!(r#"a{i}: applications(first: 1, where: "candidate.name contains \"zq{i}\"") {{ totalCount }} "#))
            .collect();
        let refusal = cost(&format!("{{ {many} }}"), serde_json::json!({}))
            .refusal(&limits)
            .unwrap();
        assert!(
            refusal.message.contains("a list that filters or orders"),
            "{}",
            refusal.message
        );
        // Three fit beside a report (the console's board asks one beside its counts' report).
        let three: String = (0..3)
            .map(|i| format!(r#"a{i}: applications(first: 50, where: "status = \"active\"") {{ totalCount nodes {{ id }} }} "#))
            .collect();
        let c = cost(
            &format!(r#"{{ {three} r: report(name: "funnel") {{ rows }} }}"#),
            serde_json::json!({}),
        );
        assert!(c.refusal(&limits).is_none(), "{}", c.total());
        // Every list of the org counted in one request fits; each job's applications counted
        // under the largest page of applications (a report's weight each) fit four times, not
        // five.
        let c = cost(
            "{ candidates { totalCount } applications { totalCount } interviews { totalCount } feedback { totalCount } offers { totalCount } jobs { totalCount } stageTransitions { totalCount } }",
            serde_json::json!({}),
        );
        assert!(c.refusal(&limits).is_none(), "{}", c.total());
        let per_job = |n: usize| -> String {
            let lists: String = (0..n)
                .map(|i| format!("a{i}: applications(first: 200) {{ nodes {{ job {{ applications(first: 1) {{ totalCount }} }} }} }} "))
                .collect();
            format!("{{ {lists} }}")
        };
        assert!(
            cost(&per_job(4), serde_json::json!({}))
                .refusal(&limits)
                .is_none()
        );
        assert!(
            cost(&per_job(5), serde_json::json!({}))
                .refusal(&limits)
                .is_some()
        );
    }

    #[test]
    fn events_cost_a_scan() {
        let c = cost(
            "{ events(first: 1) { edges { cursor } } }",
            serde_json::json!({}),
        );
        assert_eq!(c.roots, COUNT_COST);
        let many: String = (0..1500)
            .map(|i| format!("a{i}: events(first: 1) {{ pageInfo {{ hasNextPage }} }} "))
            .collect();
        let refusal = cost(&format!("{{ {many} }}"), serde_json::json!({}))
            .refusal(&Limits::default())
            .unwrap();
        assert!(
            refusal.message.contains("a scan of the org's events"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn introspection_costs_like_a_report() {
        // Five schemas fit in a request, as five reports do; the sixth is refused.
        let five: String = (0..5)
            .map(|i| format!("s{i}: __schema {{ queryType {{ name }} }} "))
            .collect();
        let c = cost(&format!("{{ {five} }}"), serde_json::json!({}));
        assert_eq!(c.roots, 5 * super::REPORT_COST);
        assert!(c.refusal(&Limits::default()).is_none());
        let six = format!("{{ {five} s5: __schema {{ queryType {{ name }} }} }}");
        let refusal = cost(&six, serde_json::json!({}))
            .refusal(&Limits::default())
            .unwrap();
        assert!(
            refusal.message.contains("the schema's introspection"),
            "{}",
            refusal.message
        );
        // `__type` costs a quarter of a report: twenty fit (red team, pass 15: 1,000 aliases
        // of `Query`'s fields, 15.6 MB); `__typename` what a lookup does.
        let c = cost(
            "{ __type(name: \"Job\") { name } __typename }",
            serde_json::json!({}),
        );
        assert_eq!(c.roots, super::COUNT_COST + super::ROOT_COST);
        let many = |n: usize| -> String {
            let fields: String = (0..n)
                .map(|i| format!("t{i}: __type(name: \"Query\") {{ name }} "))
                .collect();
            format!("{{ {fields} }}")
        };
        assert!(
            cost(&many(20), serde_json::json!({}))
                .refusal(&Limits::default())
                .is_none()
        );
        let refusal = cost(&many(21), serde_json::json!({}))
            .refusal(&Limits::default())
            .unwrap();
        assert!(
            refusal.message.contains("a type's introspection"),
            "{}",
            refusal.message
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
