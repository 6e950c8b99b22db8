//! A naive in-memory evaluator of resolved reports, the oracle the SQL path is compared with.
//!
//! It loads an org straight from its folder (`org.json` and the `.jsonl` files of
//! `hireplane-org/1`, read with serde_json; never from a database) and evaluates a
//! [`query_compiler::Ir`] by plain iteration: each subject row is filtered, its relations are
//! followed by id lookups, group keys are collected in a `BTreeMap`, each measure walks the
//! to-many relations of its grain row by row, then formulas, `having`, `order by` and `limit`
//! apply; funnels count per step. It is written from the meaning documented in the IR and the
//! catalog (three-valued logic for nulls, time buckets in the report's zone (`in zone`, else the
//! org's) with jiff, aggregates of distinct records (`avg(distinct candidate.x)`: each record
//! reached once per group, its value from any of its rows), fractional
//! days between instants, `percentile_cont` interpolation, case-insensitive text matching,
//! `reached` as any transition into a stage of that name or kind, the current offer as the
//! highest version, the time in a stage up to the application's next transition with ties
//! broken by id), not by translating the compiler's SQL. Relative ranges and `today` come from
//! `query_compiler::bind`, which is the documented resolution of those parameters.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use query_compiler::catalog::{Entity, EntityId, Field, Link, Relation, Source, Type};
use query_compiler::ir::{
    AggFunc, Formula, Grain, Ir, Measure, Order, OutputValue, Scalar, Shape, StageRef,
};
use query_compiler::{Bound, Value, ValueKind};

/// Output rows with their sort keys.
type Sorted = Vec<(Vec<(V, bool)>, Vec<Value>)>;

/// A value in the oracle.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Text(String),
    Int(i64),
    Num(f64),
    Bool(bool),
    /// UTC microseconds.
    Instant(i64),
    Date(jiff::civil::Date),
    List(Vec<String>),
    /// A JSON object (a scorecard's scores).
    Map(serde_json::Map<String, serde_json::Value>),
}

impl V {
    fn num(&self) -> Option<f64> {
        match self {
            V::Int(i) => Some(*i as f64),
            V::Num(f) => Some(*f),
            _ => None,
        }
    }
    fn is_null(&self) -> bool {
        matches!(self, V::Null)
    }
    fn truth(&self) -> Option<bool> {
        match self {
            V::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn rank(&self) -> u8 {
        match self {
            V::Null => 0,
            V::Bool(_) => 1,
            V::Int(_) | V::Num(_) => 2,
            V::Instant(_) => 3,
            V::Date(_) => 4,
            V::Text(_) => 5,
            V::List(_) => 6,
            V::Map(_) => 7,
        }
    }
}

/// A total order on values (for group keys and sorting; nulls first).
pub fn total_cmp(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Int(x), V::Int(y)) => x.cmp(y),
        (V::Int(_) | V::Num(_), V::Int(_) | V::Num(_)) => {
            a.num().unwrap_or(0.0).total_cmp(&b.num().unwrap_or(0.0))
        }
        (V::Bool(x), V::Bool(y)) => x.cmp(y),
        (V::Instant(x), V::Instant(y)) => x.cmp(y),
        (V::Date(x), V::Date(y)) => x.cmp(y),
        (V::Text(x), V::Text(y)) => x.cmp(y),
        (V::List(x), V::List(y)) => x.cmp(y),
        (V::Map(x), V::Map(y)) => serde_json::to_string(x)
            .unwrap_or_default()
            .cmp(&serde_json::to_string(y).unwrap_or_default()),
        _ => a.rank().cmp(&b.rank()),
    }
}

/// SQL-style comparison: `None` when either side is null.
fn compare(a: &V, b: &V) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    Some(total_cmp(a, b))
}

#[derive(Debug, Clone)]
struct Key(Vec<V>);
impl PartialEq for Key {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> Ordering {
        for (a, b) in self.0.iter().zip(&o.0) {
            let c = total_cmp(a, b);
            if c != Ordering::Equal {
                return c;
            }
        }
        self.0.len().cmp(&o.0.len())
    }
}

#[derive(Debug, Default)]
struct Row {
    cols: HashMap<&'static str, V>,
    custom: serde_json::Map<String, serde_json::Value>,
}

impl Row {
    fn get(&self, c: &str) -> V {
        self.cols.get(c).cloned().unwrap_or(V::Null)
    }
    fn text(&self, c: &str) -> Option<&str> {
        match self.cols.get(c) {
            Some(V::Text(s)) => Some(s),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
enum K {
    T,
    I,
    N,
    B,
    Ts,
    D,
    L,
    M,
}

/// One org, in memory.
pub struct Org {
    /// The zone of the report being evaluated (`in zone`, else the org's), set by [`Org::run`];
    /// the org's until then.
    report_zone: std::cell::RefCell<jiff::tz::TimeZone>,
    tables: HashMap<EntityId, Vec<Row>>,
    by_key: HashMap<EntityId, HashMap<String, usize>>,
    /// (entity, column) -> column value -> rows.
    by_col: HashMap<(EntityId, &'static str), HashMap<String, Vec<usize>>>,
}

fn instant(s: &str) -> V {
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => V::Instant(t.as_microsecond()),
        Err(_) => V::Null,
    }
}

fn convert(v: Option<&serde_json::Value>, k: K) -> V {
    use serde_json::Value as J;
    let Some(v) = v else { return V::Null };
    match (k, v) {
        (_, J::Null) => V::Null,
        (K::T, J::String(s)) => V::Text(s.clone()),
        (K::I, J::Number(n)) => n.as_i64().map_or(V::Null, V::Int),
        (K::N, J::Number(n)) => n.as_f64().map_or(V::Null, V::Num),
        (K::B, J::Bool(b)) => V::Bool(*b),
        (K::Ts, J::String(s)) => instant(s),
        (K::D, J::String(s)) => s.parse().map_or(V::Null, V::Date),
        (K::L, J::Array(items)) => V::List(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        ),
        (K::M, J::Object(m)) => V::Map(m.clone()),
        _ => V::Null,
    }
}

fn row_of(obj: &serde_json::Value, spec: &[(&'static str, &'static str, K)]) -> Row {
    let mut row = Row::default();
    for (col, json, k) in spec {
        row.cols.insert(col, convert(obj.get(*json), *k));
    }
    if let Some(serde_json::Value::Object(m)) = obj.get("custom_fields") {
        row.custom = m.clone();
    }
    row
}

fn lines(dir: &Path, file: &str) -> Vec<serde_json::Value> {
    let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn key_text(e: EntityId, row: &Row) -> V {
    let key = Entity::get(e).key;
    let parts: Vec<String> = key
        .iter()
        .map(|k| match row.get(k) {
            V::Text(s) => s,
            other => format!("{other:?}"),
        })
        .collect();
    V::Text(parts.join("\u{1f}"))
}

impl Org {
    /// Reads an org folder.
    pub fn load(dir: &Path) -> Org {
        use K::*;
        let org: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("org.json")).unwrap()).unwrap();
        let zone_name = org["timezone"].as_str().unwrap().to_owned();
        let zone = jiff::tz::TimeZone::get(&zone_name).unwrap();
        let mut t: HashMap<EntityId, Vec<Row>> = HashMap::new();
        let mut put = |e: EntityId, r: Row| t.entry(e).or_default().push(r);

        for o in lines(dir, "departments.jsonl") {
            put(
                EntityId::Departments,
                row_of(
                    &o,
                    &[
                        ("id", "id", T),
                        ("name", "name", T),
                        ("parent_id", "parent_id", T),
                    ],
                ),
            );
        }
        for o in lines(dir, "users.jsonl") {
            put(
                EntityId::Users,
                row_of(
                    &o,
                    &[
                        ("id", "id", T),
                        ("name", "name", T),
                        ("email", "email", T),
                        ("role", "role", T),
                        ("timezone", "timezone", T),
                        ("active", "active", B),
                        ("max_interviews_per_day", "max_interviews_per_day", I),
                        ("max_interviews_per_week", "max_interviews_per_week", I),
                    ],
                ),
            );
        }
        for o in lines(dir, "sources.jsonl") {
            put(
                EntityId::Sources,
                row_of(
                    &o,
                    &[("id", "id", T), ("name", "name", T), ("kind", "kind", T)],
                ),
            );
        }
        for o in lines(dir, "jobs.jsonl") {
            let job_id = o["id"].as_str().unwrap().to_owned();
            put(
                EntityId::Jobs,
                row_of(
                    &o,
                    &[
                        ("id", "id", T),
                        ("title", "title", T),
                        ("department_id", "department_id", T),
                        ("location", "location", T),
                        ("employment_type", "employment_type", T),
                        ("status", "status", T),
                        ("confidential", "confidential", B),
                        ("opened_at", "opened_at", Ts),
                        ("closed_at", "closed_at", Ts),
                        ("headcount", "headcount", I),
                    ],
                ),
            );
            for m in o["hiring_team"].as_array().into_iter().flatten() {
                let mut r = row_of(m, &[("user_id", "user_id", T), ("role", "role", T)]);
                r.cols.insert("job_id", V::Text(job_id.clone()));
                put(EntityId::HiringTeam, r);
            }
            for s in o["stages"].as_array().into_iter().flatten() {
                let mut r = row_of(
                    s,
                    &[
                        ("id", "id", T),
                        ("name", "name", T),
                        ("kind", "kind", T),
                        ("position", "position", I),
                    ],
                );
                r.cols.insert("job_id", V::Text(job_id.clone()));
                put(EntityId::Stages, r);
            }
        }
        for o in lines(dir, "candidates.jsonl") {
            let id = o["id"].as_str().unwrap().to_owned();
            put(
                EntityId::Candidates,
                row_of(
                    &o,
                    &[
                        ("id", "id", T),
                        ("name", "name", T),
                        ("email", "email", T),
                        ("phone", "phone", T),
                        ("location", "location", T),
                        ("timezone", "timezone", T),
                        ("created_at", "created_at", Ts),
                        ("tags", "tags", L),
                    ],
                ),
            );
            if let Some(d) = o.get("demographics").filter(|d| d.is_object()) {
                let mut r = row_of(
                    d,
                    &[
                        ("gender", "gender", T),
                        ("race_ethnicity", "race_ethnicity", T),
                        ("veteran_status", "veteran_status", T),
                        ("disability_status", "disability_status", T),
                    ],
                );
                r.cols.insert("candidate_id", V::Text(id));
                put(EntityId::Demographics, r);
            }
        }
        for o in lines(dir, "applications.jsonl") {
            put(
                EntityId::Applications,
                row_of(
                    &o,
                    &[
                        ("id", "id", T),
                        ("candidate_id", "candidate_id", T),
                        ("job_id", "job_id", T),
                        ("source_id", "source_id", T),
                        ("credited_to_user_id", "credited_to_user_id", T),
                        ("applied_at", "applied_at", Ts),
                        ("status", "status", T),
                        ("current_stage_id", "current_stage_id", T),
                        ("hired_at", "hired_at", Ts),
                        ("archived_at", "archived_at", Ts),
                        ("archive_reason", "archive_reason", T),
                    ],
                ),
            );
        }
        for o in lines(dir, "stage_transitions.jsonl") {
            put(
                EntityId::StageTransitions,
                row_of(
                    &o,
                    &[
                        ("id", "id", T),
                        ("application_id", "application_id", T),
                        ("from_stage_id", "from_stage_id", T),
                        ("to_stage_id", "to_stage_id", T),
                        ("at", "at", Ts),
                        ("by_user_id", "by_user_id", T),
                    ],
                ),
            );
        }
        for o in lines(dir, "interviews.jsonl") {
            let id = o["id"].as_str().unwrap().to_owned();
            put(
                EntityId::Interviews,
                row_of(
                    &o,
                    &[
                        ("id", "id", T),
                        ("application_id", "application_id", T),
                        ("stage_id", "stage_id", T),
                        ("title", "title", T),
                        ("starts_at", "starts_at", Ts),
                        ("ends_at", "ends_at", Ts),
                        ("status", "status", T),
                    ],
                ),
            );
            for p in o["interviewers"].as_array().into_iter().flatten() {
                let mut r = row_of(p, &[("user_id", "user_id", T), ("role", "role", T)]);
                r.cols.insert("interview_id", V::Text(id.clone()));
                put(EntityId::InterviewParticipants, r);
            }
        }
        for o in lines(dir, "feedback.jsonl") {
            put(
                EntityId::Feedback,
                row_of(
                    &o,
                    &[
                        ("id", "id", T),
                        ("interview_id", "interview_id", T),
                        ("application_id", "application_id", T),
                        ("author_id", "author_id", T),
                        ("submitted_at", "submitted_at", Ts),
                        ("recommendation", "recommendation", T),
                        ("scores", "scores", M),
                        ("notes", "notes", T),
                    ],
                ),
            );
        }
        for o in lines(dir, "offers.jsonl") {
            let mut r = row_of(
                &o,
                &[
                    ("id", "id", T),
                    ("application_id", "application_id", T),
                    ("version", "version", I),
                    ("created_at", "created_at", Ts),
                    ("status", "status", T),
                    ("resolved_at", "resolved_at", Ts),
                    ("start_date", "start_date", D),
                    ("bonus", "bonus", N),
                    ("equity", "equity", T),
                ],
            );
            let salary = o.get("salary");
            r.cols.insert(
                "salary_amount",
                convert(salary.and_then(|s| s.get("amount")), N),
            );
            r.cols.insert(
                "salary_currency",
                convert(salary.and_then(|s| s.get("currency")), T),
            );
            r.cols.insert(
                "salary_period",
                convert(salary.and_then(|s| s.get("period")), T),
            );
            put(EntityId::Offers, r);
        }

        let mut by_key = HashMap::new();
        for (e, rows) in &t {
            if Entity::get(*e).key.len() == 1 {
                let k = Entity::get(*e).key[0];
                let m: HashMap<String, usize> = rows
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| r.text(k).map(|s| (s.to_owned(), i)))
                    .collect();
                by_key.insert(*e, m);
            }
        }
        let mut by_col = HashMap::new();
        for entity in &query_compiler::catalog::ENTITIES {
            for rel in entity.relations {
                if let Link::ToMany { remote } | Link::Extension { remote } = rel.link {
                    let mut m: HashMap<String, Vec<usize>> = HashMap::new();
                    for (i, r) in t.get(&rel.target).into_iter().flatten().enumerate() {
                        if let Some(s) = r.text(remote) {
                            m.entry(s.to_owned()).or_default().push(i);
                        }
                    }
                    by_col.insert((rel.target, remote), m);
                }
            }
        }
        Org {
            report_zone: std::cell::RefCell::new(zone),
            tables: t,
            by_key,
            by_col,
        }
    }

    fn row(&self, e: EntityId, i: usize) -> &Row {
        &self.tables[&e][i]
    }

    fn rows(&self, e: EntityId) -> usize {
        self.tables.get(&e).map_or(0, Vec::len)
    }

    fn children(&self, target: EntityId, remote: &'static str, key: &str) -> &[usize] {
        self.by_col
            .get(&(target, remote))
            .and_then(|m| m.get(key))
            .map_or(&[], Vec::as_slice)
    }

    fn lookup(&self, e: EntityId, key: &str) -> Option<usize> {
        self.by_key.get(&e)?.get(key).copied()
    }

    /// Follows one relation that yields at most one row.
    fn step(&self, e: EntityId, i: usize, rel: &Relation) -> Option<usize> {
        let row = self.row(e, i);
        match rel.link {
            Link::ToOne { local, .. } => self.lookup(rel.target, row.text(local)?),
            Link::Extension { remote } => self
                .children(rel.target, remote, row.text(Entity::get(e).key[0])?)
                .first()
                .copied(),
            Link::CurrentOffer => {
                let offers = self.children(EntityId::Offers, "application_id", row.text("id")?);
                offers.iter().copied().max_by_key(|o| {
                    match self.row(EntityId::Offers, *o).get("version") {
                        V::Int(v) => v,
                        _ => i64::MIN,
                    }
                })
            }
            Link::ToMany { .. } => panic!("a to-many relation in a to-one path: {}", rel.name),
        }
    }

    fn walk(&self, e: EntityId, i: usize, path: &[&'static Relation]) -> Option<(EntityId, usize)> {
        let (mut e, mut i) = (e, i);
        for rel in path {
            i = self.step(e, i, rel)?;
            e = rel.target;
        }
        Some((e, i))
    }

    /// The application's transitions in chain order: by time, ties by id.
    fn transitions(&self, app_id: &str) -> Vec<usize> {
        let mut ts: Vec<usize> = self
            .children(EntityId::StageTransitions, "application_id", app_id)
            .to_vec();
        ts.sort_by(|a, b| {
            let (ra, rb) = (
                self.row(EntityId::StageTransitions, *a),
                self.row(EntityId::StageTransitions, *b),
            );
            total_cmp(&ra.get("at"), &rb.get("at"))
                .then_with(|| total_cmp(&ra.get("id"), &rb.get("id")))
        });
        ts
    }

    fn left_stage_at(&self, i: usize) -> V {
        let row = self.row(EntityId::StageTransitions, i);
        let Some(app) = row.text("application_id") else {
            return V::Null;
        };
        let chain = self.transitions(app);
        match chain.iter().position(|t| *t == i) {
            Some(p) => chain.get(p + 1).map_or(V::Null, |n| {
                self.row(EntityId::StageTransitions, *n).get("at")
            }),
            None => V::Null,
        }
    }

    fn field(&self, f: &Field, e: EntityId, i: usize) -> V {
        let row = self.row(e, i);
        let days = |a: &V, b: &V| match (a, b) {
            (V::Instant(x), V::Instant(y)) => V::Num((y - x) as f64 / 86_400_000_000.0),
            _ => V::Null,
        };
        match f.source {
            Source::Column(c) | Source::JsonList(c) => row.get(c),
            Source::DaysBetween(a, b) => days(&row.get(a), &row.get(b)),
            Source::MinutesBetween(a, b) => match (row.get(a), row.get(b)) {
                (V::Instant(x), V::Instant(y)) => V::Num((y - x) as f64 / 60_000_000.0),
                _ => V::Null,
            },
            Source::RecommendationScore => match row.text("recommendation") {
                Some("strong_no") => V::Int(1),
                Some("no") => V::Int(2),
                Some("yes") => V::Int(3),
                Some("strong_yes") => V::Int(4),
                _ => V::Null,
            },
            Source::StageKindRank => {
                const KINDS: [&str; 8] = [
                    "lead",
                    "application_review",
                    "screen",
                    "assessment",
                    "interview",
                    "onsite",
                    "offer",
                    "hired",
                ];
                row.text("kind")
                    .and_then(|k| KINDS.iter().position(|x| *x == k))
                    .map_or(V::Null, |i| V::Int(i as i64 + 1))
            }
            Source::CurrentOffer => {
                let Some(app) = row.text("application_id") else {
                    return V::Null;
                };
                let mine = row.get("version");
                let newer = self
                    .children(EntityId::Offers, "application_id", app)
                    .iter()
                    .any(|o| {
                        compare(&self.row(EntityId::Offers, *o).get("version"), &mine)
                            == Some(Ordering::Greater)
                    });
                V::Bool(!newer)
            }
            Source::LeftStageAt => self.left_stage_at(i),
            Source::DaysInStage => days(&row.get("at"), &self.left_stage_at(i)),
        }
    }

    fn custom(&self, e: EntityId, i: usize, key: &str, ty: &Type) -> V {
        let v = self.row(e, i).custom.get(key);
        let k = match ty {
            Type::Number | Type::Integer => K::N,
            Type::Bool => K::B,
            Type::Date => K::D,
            Type::Multi(_) => K::L,
            Type::Map => K::M,
            _ => K::T,
        };
        convert(v, k)
    }

    fn label(&self, unit: &str, d: jiff::civil::Date) -> String {
        match unit {
            "day" => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
            "week" => {
                let w = d.iso_week_date();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            "month" => format!("{:04}-{:02}", d.year(), d.month()),
            "quarter" => format!("{:04}-Q{}", d.year(), (d.month() + 2) / 3),
            _ => format!("{:04}", d.year()),
        }
    }

    fn scalar(&self, s: &Scalar, e: EntityId, i: usize, p: &[V]) -> V {
        match s {
            Scalar::Field { path, field } => match self.walk(e, i, path) {
                Some((e2, i2)) => self.field(field, e2, i2),
                None => V::Null,
            },
            Scalar::Custom { path, key, ty, .. } => match self.walk(e, i, path) {
                Some((e2, i2)) => self.custom(e2, i2, key, ty),
                None => V::Null,
            },
            Scalar::Key { path } => match path.split_last() {
                None => key_text(e, self.row(e, i)),
                Some((last, rest)) => match self.walk(e, i, rest) {
                    None => V::Null,
                    Some((e2, i2)) => match self.step(e2, i2, last) {
                        Some(t) => key_text(last.target, self.row(last.target, t)),
                        None => V::Null,
                    },
                },
            },
            Scalar::Param(id) => p[id.0].clone(),
            Scalar::Not(inner) => match self.scalar(inner, e, i, p).truth() {
                Some(b) => V::Bool(!b),
                None => V::Null,
            },
            Scalar::Neg(inner) => match self.scalar(inner, e, i, p) {
                V::Int(x) => V::Int(-x),
                V::Num(x) => V::Num(-x),
                _ => V::Null,
            },
            Scalar::Binary {
                op, left, right, ..
            } => {
                let op = op_name(op);
                let l = self.scalar(left, e, i, p);
                // `and`/`or` short-circuit only on definite answers.
                let r = self.scalar(right, e, i, p);
                binary(&op, &l, &r)
            }
            Scalar::In {
                expr,
                list,
                negated,
            } => {
                let v = self.scalar(expr, e, i, p);
                if v.is_null() {
                    return V::Null;
                }
                let mut saw_null = false;
                let mut hit = false;
                for item in list {
                    match compare(&v, &self.scalar(item, e, i, p)) {
                        Some(Ordering::Equal) => hit = true,
                        None => saw_null = true,
                        _ => {}
                    }
                }
                if hit {
                    V::Bool(!negated)
                } else if saw_null {
                    V::Null
                } else {
                    V::Bool(*negated)
                }
            }
            Scalar::IsNull { expr, negated } => {
                V::Bool(self.scalar(expr, e, i, p).is_null() != *negated)
            }
            Scalar::Text {
                op,
                expr,
                pattern,
                negated,
            } => {
                let (V::Text(t), V::Text(pat)) =
                    (self.scalar(expr, e, i, p), self.scalar(pattern, e, i, p))
                else {
                    return V::Null;
                };
                let (t, pat) = (t.to_lowercase(), pat.to_lowercase());
                let hit = match serde_json::to_value(op).unwrap().as_str().unwrap() {
                    "contains" => t.contains(&pat),
                    "starts_with" => t.starts_with(&pat),
                    _ => t.ends_with(&pat),
                };
                V::Bool(hit != *negated)
            }
            Scalar::FoldedEq {
                left,
                right,
                negated,
            } => {
                let (V::Text(l), V::Text(r)) =
                    (self.scalar(left, e, i, p), self.scalar(right, e, i, p))
                else {
                    return V::Null;
                };
                V::Bool((l.to_lowercase() == r.to_lowercase()) != *negated)
            }
            Scalar::ListContains {
                list,
                value,
                negated,
            } => {
                let v = self.scalar(value, e, i, p);
                // A missing list is a missing value: `contains` on it is neither true nor
                // false, and neither is `not contains` (docs/report-language.md, "Null tests
                // and missing values").
                let hit = match (self.scalar(list, e, i, p), &v) {
                    (V::List(items), V::Text(x)) => items.iter().any(|it| it == x),
                    _ => return V::Null,
                };
                V::Bool(hit != *negated)
            }
            Scalar::Bucket { unit, expr, .. } => {
                let date = match self.scalar(expr, e, i, p) {
                    V::Instant(us) => jiff::Timestamp::from_microsecond(us)
                        .unwrap()
                        .to_zoned_datetime(self.report_zone.borrow().clone())
                        .date(),
                    V::Date(d) => d,
                    _ => return V::Null,
                };
                V::Text(self.label(unit.name(), date))
            }
            Scalar::DaysBetween { from, to, .. } => {
                match (self.scalar(from, e, i, p), self.scalar(to, e, i, p)) {
                    (V::Instant(a), V::Instant(b)) => V::Num((b - a) as f64 / 86_400_000_000.0),
                    (V::Date(a), V::Date(b)) => V::Num(a.until(b).unwrap().get_days() as f64),
                    _ => V::Null,
                }
            }
            Scalar::Coalesce(items) => items
                .iter()
                .map(|it| self.scalar(it, e, i, p))
                .find(|v| !v.is_null())
                .unwrap_or(V::Null),
            Scalar::Round { expr, digits } => round(&self.scalar(expr, e, i, p), *digits),
            Scalar::Reached { path, stage } => {
                let Some((ea, ia)) = self.walk(e, i, path) else {
                    return V::Null;
                };
                let Some(app) = self.row(ea, ia).text("id") else {
                    return V::Null;
                };
                let (col, pid) = match stage {
                    StageRef::Name(id) => ("name", id),
                    StageRef::Kind(id) => ("kind", id),
                };
                let want = &p[pid.0];
                let hit = self
                    .children(EntityId::StageTransitions, "application_id", app)
                    .iter()
                    .any(|t| {
                        let to = self.row(EntityId::StageTransitions, *t).text("to_stage_id");
                        to.and_then(|s| self.lookup(EntityId::Stages, s))
                            .is_some_and(|st| self.row(EntityId::Stages, st).get(col) == *want)
                    });
                V::Bool(hit)
            }
        }
    }

    /// The rows of a grain below one subject row.
    fn grain_rows(&self, g: &Grain, e: EntityId, i: usize, out: &mut Vec<usize>) {
        let mut level = vec![i];
        let mut entity = e;
        for rel in &g.steps {
            let Link::ToMany { remote } = rel.link else {
                panic!("a grain step that is not to-many: {}", rel.name)
            };
            let mut next = Vec::new();
            for r in level {
                if let Some(k) = self.row(entity, r).text(Entity::get(entity).key[0]) {
                    next.extend_from_slice(self.children(rel.target, remote, k));
                }
            }
            level = next;
            entity = rel.target;
        }
        out.extend(level);
    }

    fn measure(&self, m: &Measure, subject: EntityId, rows: &[usize], p: &[V]) -> V {
        let e = m.grain.entity(subject);
        let mut grain = Vec::new();
        for r in rows {
            self.grain_rows(&m.grain, subject, *r, &mut grain);
        }
        // A grain of distinct records (`per`): each record reached from a row that passes the
        // filter, once, with its value.
        let per = Scalar::Key {
            path: m.grain.per.clone(),
        };
        let mut records: BTreeMap<Key, V> = BTreeMap::new();
        let mut values = Vec::new();
        for r in grain {
            if let Some(f) = &m.filter
                && self.scalar(f, e, r, p).truth() != Some(true)
            {
                continue;
            }
            let v = match &m.arg {
                Some(a) => self.scalar(a, e, r, p),
                None => V::Int(1),
            };
            if !m.grain.per.is_empty() {
                let record = self.scalar(&per, e, r, p);
                if !record.is_null() {
                    records.entry(Key(vec![record])).or_insert(v);
                }
                continue;
            }
            if !v.is_null() {
                values.push(v);
            }
        }
        values.extend(records.into_values().filter(|v| !v.is_null()));
        match m.func {
            AggFunc::Count => V::Int(values.len() as i64),
            AggFunc::CountDistinct => {
                let set: BTreeSet<Key> = values.into_iter().map(|v| Key(vec![v])).collect();
                V::Int(set.len() as i64)
            }
            // The hidden sums of record keys behind a demographic cell's noise: the store's
            // rows are compared without them (tests/demographics.rs checks them), so any value.
            AggFunc::KeySum(_) => V::Int(0),
            _ if values.is_empty() => V::Null,
            AggFunc::Sum => {
                if values.iter().all(|v| matches!(v, V::Int(_))) && m.ty == Type::Integer {
                    V::Int(
                        values
                            .iter()
                            .map(|v| if let V::Int(x) = v { *x } else { 0 })
                            .sum(),
                    )
                } else {
                    V::Num(values.iter().filter_map(V::num).sum())
                }
            }
            AggFunc::Avg => {
                let n = values.len() as f64;
                V::Num(values.iter().filter_map(V::num).sum::<f64>() / n)
            }
            AggFunc::Min => values.into_iter().min_by(total_cmp).unwrap_or(V::Null),
            AggFunc::Max => values.into_iter().max_by(total_cmp).unwrap_or(V::Null),
            AggFunc::Percentile(pid) => {
                let frac = p[pid.0].num().unwrap();
                let mut xs: Vec<f64> = values.iter().filter_map(V::num).collect();
                xs.sort_by(f64::total_cmp);
                // percentile_cont: the value at rank frac * (n - 1), interpolated linearly.
                let rank = frac * (xs.len() - 1) as f64;
                let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
                V::Num(xs[lo] + (xs[hi] - xs[lo]) * (rank - lo as f64))
            }
        }
    }

    fn formula(&self, f: &Formula, dims: &[V], measures: &[V], p: &[V]) -> V {
        match f {
            Formula::Dim(i) => dims.get(*i).cloned().unwrap_or(V::Null),
            Formula::Measure(j) => measures[*j].clone(),
            Formula::Param(id) => p[id.0].clone(),
            Formula::Not(inner) => match self.formula(inner, dims, measures, p).truth() {
                Some(b) => V::Bool(!b),
                None => V::Null,
            },
            Formula::Neg(inner) => match self.formula(inner, dims, measures, p) {
                V::Int(x) => V::Int(-x),
                V::Num(x) => V::Num(-x),
                _ => V::Null,
            },
            Formula::Binary { op, left, right } => binary(
                &op_name(op),
                &self.formula(left, dims, measures, p),
                &self.formula(right, dims, measures, p),
            ),
            Formula::IsNull { expr, negated } => {
                V::Bool(self.formula(expr, dims, measures, p).is_null() != *negated)
            }
            Formula::Round { expr, digits } => {
                round(&self.formula(expr, dims, measures, p), *digits)
            }
        }
    }

    /// Evaluates a resolved report as of `today` (a date in the report's zone).
    pub fn run(&self, ir: &Ir, today: jiff::civil::Date) -> Vec<Vec<Value>> {
        *self.report_zone.borrow_mut() = jiff::tz::TimeZone::get(&ir.time_zone).unwrap();
        let bound = query_compiler::bind(&ir.params, &ir.time_zone, today).unwrap();
        let p: Vec<V> = bound.into_iter().map(from_bound).collect();
        let s = ir.subject;
        let subject_rows: Vec<usize> = (0..self.rows(s))
            .filter(|i| {
                ir.filter
                    .as_ref()
                    .is_none_or(|f| self.scalar(f, s, *i, &p).truth() == Some(true))
            })
            .collect();
        match &ir.shape {
            Shape::Rows => {
                let mut out: Sorted = Vec::new();
                for i in subject_rows {
                    let row: Vec<Value> = ir
                        .outputs
                        .iter()
                        .map(|o| match &o.value {
                            OutputValue::Row(sc) => to_value(self.scalar(sc, s, i, &p), &o.ty),
                            OutputValue::Formula(_) => Value::Null,
                        })
                        .collect();
                    let mut keys: Vec<(V, bool)> = ir
                        .order
                        .iter()
                        .map(|o| match &o.value {
                            OutputValue::Row(sc) => (self.scalar(sc, s, i, &p), o.descending),
                            OutputValue::Formula(_) => (V::Null, false),
                        })
                        .collect();
                    for k in Entity::get(s).key {
                        keys.push((self.row(s, i).get(k), false));
                    }
                    out.push((keys, row));
                }
                out.sort_by(|a, b| order_cmp(&a.0, &b.0));
                let mut rows: Vec<Vec<Value>> = out.into_iter().map(|(_, r)| r).collect();
                if let Some(l) = ir.limit {
                    rows.truncate(l as usize);
                }
                rows
            }
            Shape::Groups | Shape::Funnel { .. } => self.groups(ir, &subject_rows, &p),
        }
    }

    fn groups(&self, ir: &Ir, subject_rows: &[usize], p: &[V]) -> Vec<Vec<Value>> {
        let s = ir.subject;
        let mut groups: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
        for i in subject_rows {
            let k: Vec<V> = ir
                .dims
                .iter()
                .map(|d| self.scalar(&d.expr, s, *i, p))
                .collect();
            groups.entry(Key(k)).or_default().push(*i);
        }
        // Without group keys there is one group, even over no rows.
        if ir.dims.is_empty() && groups.is_empty() {
            groups.insert(Key(Vec::new()), Vec::new());
        }
        let mut out: Sorted = Vec::new();
        for (Key(dims), rows) in groups {
            let measures: Vec<V> = ir
                .measures
                .iter()
                .map(|m| self.measure(m, s, &rows, p))
                .collect();
            let outputs: Vec<Value> = ir
                .outputs
                .iter()
                .map(|o| match &o.value {
                    OutputValue::Formula(f) => {
                        to_value(self.formula(f, &dims, &measures, p), &o.ty)
                    }
                    OutputValue::Row(_) => Value::Null,
                })
                .collect();
            let order_keys = |ir_order: &[Order]| -> Vec<(V, bool)> {
                ir_order
                    .iter()
                    .map(|o| match &o.value {
                        OutputValue::Formula(f) => {
                            (self.formula(f, &dims, &measures, p), o.descending)
                        }
                        OutputValue::Row(_) => (V::Null, o.descending),
                    })
                    .collect()
            };
            match &ir.shape {
                Shape::Funnel { steps } => {
                    let first = measures[0].clone();
                    for (i, (_, stage)) in steps.iter().enumerate() {
                        let pid = match stage {
                            StageRef::Name(id) | StageRef::Kind(id) => id,
                        };
                        let reached = measures[i].clone();
                        let before = if i == 0 {
                            reached.clone()
                        } else {
                            measures[i - 1].clone()
                        };
                        let mut row = outputs.clone();
                        row.push(to_value(p[pid.0].clone(), &Type::Text));
                        row.push(Value::Integer(i as i64 + 1));
                        row.push(to_value(reached.clone(), &Type::Integer));
                        row.push(to_value(binary("/", &reached, &before), &Type::Number));
                        row.push(to_value(binary("/", &reached, &first), &Type::Number));
                        let mut keys = order_keys(&ir.order);
                        for d in &dims {
                            keys.push((d.clone(), false));
                        }
                        keys.push((V::Int(i as i64), false));
                        out.push((keys, row));
                    }
                }
                _ => {
                    if let Some(h) = &ir.having
                        && self.formula(h, &dims, &measures, p).truth() != Some(true)
                    {
                        continue;
                    }
                    let mut keys = order_keys(&ir.order);
                    for d in &dims {
                        keys.push((d.clone(), false));
                    }
                    out.push((keys, outputs));
                }
            }
        }
        out.sort_by(|a, b| order_cmp(&a.0, &b.0));
        let mut rows: Vec<Vec<Value>> = out.into_iter().map(|(_, r)| r).collect();
        if let Some(l) = ir.limit {
            // A funnel's limit counts groups, each with all its steps (its rows are adjacent).
            let per_group = match &ir.shape {
                Shape::Funnel { steps } => steps.len(),
                _ => 1,
            };
            rows.truncate(l as usize * per_group);
        }
        rows
    }
}

/// `order by`: nulls last ascending and first descending; text by code point.
fn order_cmp(a: &[(V, bool)], b: &[(V, bool)]) -> Ordering {
    for ((x, desc), (y, _)) in a.iter().zip(b) {
        let c = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let c = total_cmp(x, y);
                if *desc { c.reverse() } else { c }
            }
        };
        // A null sorts last ascending and first descending.
        let c = if *desc && (x.is_null() != y.is_null()) {
            c.reverse()
        } else {
            c
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

fn op_name<T: serde::Serialize>(op: &T) -> String {
    serde_json::to_value(op)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn binary(op: &str, l: &V, r: &V) -> V {
    match op {
        "and" => match (l.truth(), r.truth()) {
            (Some(false), _) | (_, Some(false)) => V::Bool(false),
            (Some(true), Some(true)) => V::Bool(true),
            _ => V::Null,
        },
        "or" => match (l.truth(), r.truth()) {
            (Some(true), _) | (_, Some(true)) => V::Bool(true),
            (Some(false), Some(false)) => V::Bool(false),
            _ => V::Null,
        },
        "=" | "!=" | "<" | "<=" | ">" | ">=" => match compare(l, r) {
            None => V::Null,
            Some(c) => V::Bool(match op {
                "=" => c == Ordering::Equal,
                "!=" => c != Ordering::Equal,
                "<" => c == Ordering::Less,
                "<=" => c != Ordering::Greater,
                ">" => c == Ordering::Greater,
                _ => c != Ordering::Less,
            }),
        },
        "/" => match (l.num(), r.num()) {
            (Some(_), Some(0.0)) => V::Null,
            (Some(a), Some(d)) => V::Num(a / d),
            _ => V::Null,
        },
        _ => match (l, r) {
            (V::Int(a), V::Int(b)) => match op {
                "+" => a.checked_add(*b).map_or(V::Null, V::Int),
                "-" => a.checked_sub(*b).map_or(V::Null, V::Int),
                _ => a.checked_mul(*b).map_or(V::Null, V::Int),
            },
            _ => match (l.num(), r.num()) {
                (Some(a), Some(b)) => V::Num(match op {
                    "+" => a + b,
                    "-" => a - b,
                    _ => a * b,
                }),
                _ => V::Null,
            },
        },
    }
}

/// Rounds half away from zero, on the decimal the value was meant to be.
fn round(v: &V, digits: i64) -> V {
    let Some(x) = v.num() else { return V::Null };
    let scale = 10f64.powi(digits as i32);
    let y = x * scale;
    let frac = y - y.trunc();
    let r = if (frac.abs() - 0.5).abs() < 1e-9 * y.abs().max(1.0) {
        y.trunc() + y.signum()
    } else {
        y.round()
    };
    V::Num(r / scale)
}

fn from_bound(b: Bound) -> V {
    match b {
        Bound::Text(s) => V::Text(s),
        Bound::Integer(i) => V::Int(i),
        Bound::Number(f) => V::Num(f),
        Bound::Bool(b) => V::Bool(b),
        Bound::Instant(i) => V::Instant(i),
        Bound::Date(d) => d.parse().map_or(V::Null, V::Date),
    }
}

fn to_value(v: V, ty: &Type) -> Value {
    let kind = ValueKind::of(ty);
    match (v, kind) {
        (V::Null, _) => Value::Null,
        (V::Int(i), ValueKind::Number) => Value::Number(i as f64),
        (V::Num(f), ValueKind::Integer) if f.fract() == 0.0 => Value::Integer(f as i64),
        (V::Int(i), _) => Value::Integer(i),
        (V::Num(f), _) => Value::Number(f),
        (V::Text(s), _) => Value::Text(s),
        (V::Bool(b), _) => Value::Bool(b),
        (V::Instant(i), _) => Value::Instant(i),
        (V::Date(d), _) => Value::Date(d.to_string()),
        (V::List(items), _) => Value::List(serde_json::to_string(&items).unwrap()),
        (V::Map(m), _) => Value::Map(serde_json::to_string(&m).unwrap()),
    }
}
