//! Facts for single policy decisions: one entity's attributes as the policy schema
//! (`crates/policy/policies/hireplane.cedarschema`) declares them, and those of every entity
//! they reference, transitively. The store does not know Cedar; it answers in its own terms
//! ([`EntityFacts`]) and `app` hands them to the policy engine.

use crate::{Store, StoreError};
use query_compiler::Bound;

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactValue {
    Bool(bool),
    Text(String),
    /// A reference to another entity: its type and id.
    Ref(&'static str, String),
    /// References to entities of one type.
    Refs(&'static str, Vec<String>),
}

/// An entity's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityFacts {
    pub ty: &'static str,
    pub id: String,
    pub attrs: Vec<(&'static str, FactValue)>,
}

/// The types single decisions can be asked about (those with a key of their own).
pub const DECIDABLE: [&str; 12] = [
    "User",
    "Department",
    "Source",
    "Job",
    "Stage",
    "Candidate",
    "Application",
    "StageTransition",
    "Interview",
    "Feedback",
    "Offer",
    "Org",
];

/// How one attribute is read: a column of the entity's row, or a list query.
enum Read {
    Text(&'static str, &'static str),
    Bool(&'static str, &'static str),
    Ref(&'static str, &'static str, &'static str),
    OptionalRef(&'static str, &'static str, &'static str),
    /// A list of user ids; the query binds the org as `$1` and the entity's id as `$2`.
    Users(&'static str, &'static str),
    /// A boolean that holds when the query (same parameters) returns a row.
    Exists(&'static str, &'static str),
}

fn reads(ty: &str) -> Option<(&'static str, Vec<Read>)> {
    use Read::*;
    Some(match ty {
        "User" => (
            "users",
            vec![Text("role", "role"), Bool("active", "active")],
        ),
        "Department" => ("departments", vec![]),
        "Source" => ("sources", vec![Text("kind", "kind")]),
        "Job" => (
            "jobs",
            vec![
                Text("status", "status"),
                Bool("confidential", "confidential"),
                Ref("department", "department_id", "Department"),
                Users(
                    "hiringTeam",
                    "SELECT DISTINCT user_id FROM hiring_team WHERE org_id = $1 AND job_id = $2",
                ),
                // By definition (through the applications), not the seats' stored `job_id`
                // the row filters read: decisions check the stored column.
                Users(
                    "interviewers",
                    "SELECT DISTINCT p.user_id FROM applications a JOIN interviews i ON i.org_id = a.org_id AND i.application_id = a.id JOIN interview_participants p ON p.org_id = i.org_id AND p.interview_id = i.id WHERE a.org_id = $1 AND a.job_id = $2",
                ),
            ],
        ),
        "Stage" => (
            "stages",
            vec![Ref("job", "job_id", "Job"), Text("kind", "kind")],
        ),
        "Candidate" => (
            "candidates",
            vec![
                Users(
                    "hiringTeam",
                    "SELECT DISTINCT h.user_id FROM applications a JOIN hiring_team h ON h.org_id = a.org_id AND h.job_id = a.job_id WHERE a.org_id = $1 AND a.candidate_id = $2",
                ),
                Users(
                    "interviewers",
                    "SELECT DISTINCT p.user_id FROM applications a JOIN interviews i ON i.org_id = a.org_id AND i.application_id = a.id JOIN interview_participants p ON p.org_id = i.org_id AND p.interview_id = i.id WHERE a.org_id = $1 AND a.candidate_id = $2",
                ),
                Exists(
                    "hasNonConfidentialJob",
                    "SELECT a.id FROM applications a JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id WHERE a.org_id = $1 AND a.candidate_id = $2 AND j.confidential = FALSE",
                ),
            ],
        ),
        "Application" => (
            "applications",
            vec![
                Ref("job", "job_id", "Job"),
                Ref("candidate", "candidate_id", "Candidate"),
                Ref("stage", "current_stage_id", "Stage"),
                Text("status", "status"),
                Users(
                    "interviewers",
                    "SELECT DISTINCT p.user_id FROM interviews i JOIN interview_participants p ON p.org_id = i.org_id AND p.interview_id = i.id WHERE i.org_id = $1 AND i.application_id = $2",
                ),
                Users(
                    "feedbackAuthors",
                    "SELECT DISTINCT author_id FROM feedback WHERE org_id = $1 AND application_id = $2",
                ),
                OptionalRef("source", "source_id", "Source"),
                OptionalRef("creditedTo", "credited_to_user_id", "User"),
            ],
        ),
        "StageTransition" => (
            "stage_transitions",
            vec![
                Ref("application", "application_id", "Application"),
                OptionalRef("byUser", "by_user_id", "User"),
            ],
        ),
        "Interview" => (
            "interviews",
            vec![
                Ref("application", "application_id", "Application"),
                Ref("stage", "stage_id", "Stage"),
                Text("status", "status"),
                Users(
                    "participants",
                    "SELECT DISTINCT user_id FROM interview_participants WHERE org_id = $1 AND interview_id = $2",
                ),
            ],
        ),
        "Feedback" => (
            "feedback",
            vec![
                Ref("application", "application_id", "Application"),
                Ref("interview", "interview_id", "Interview"),
                Ref("author", "author_id", "User"),
            ],
        ),
        "Offer" => (
            "offers",
            vec![
                Ref("application", "application_id", "Application"),
                Text("status", "status"),
            ],
        ),
        _ => return None,
    })
}

impl Store {
    /// The facts a decision about entity `(ty, id)` of org `org_id` may look at: the entity and
    /// every entity it references, transitively. `Ok(None)` when there is no such entity;
    /// an error for a type decisions cannot name one by one.
    pub fn entity_facts(
        &mut self,
        org_id: &str,
        ty: &str,
        id: &str,
    ) -> Result<Option<Vec<EntityFacts>>, StoreError> {
        if ty == "Org" {
            return Ok((id == org_id).then(Vec::new));
        }
        if reads(ty).is_none() {
            return Err(StoreError::NotDecidable(
                ty.to_owned(),
                DECIDABLE.join(", "),
            ));
        }
        let mut out: Vec<EntityFacts> = Vec::new();
        let mut todo: Vec<(String, String)> = vec![(ty.to_owned(), id.to_owned())];
        while let Some((ty, id)) = todo.pop() {
            if out.iter().any(|e| e.ty == ty && e.id == id) {
                continue;
            }
            let Some(facts) = self.one_entity(org_id, &ty, &id)? else {
                if out.is_empty() {
                    return Ok(None);
                }
                continue;
            };
            for (_, value) in &facts.attrs {
                if let FactValue::Ref(t, i) = value {
                    todo.push(((*t).to_owned(), i.clone()));
                }
            }
            out.push(facts);
        }
        Ok(Some(out))
    }

    fn one_entity(
        &mut self,
        org_id: &str,
        ty: &str,
        id: &str,
    ) -> Result<Option<EntityFacts>, StoreError> {
        let Some((table, reads)) = reads(ty) else {
            return Ok(None);
        };
        let ty: &'static str = DECIDABLE.iter().find(|t| **t == ty).copied().unwrap_or("?");
        let columns: Vec<String> = std::iter::once("id".to_owned())
            .chain(reads.iter().filter_map(|r| match r {
                Read::Text(_, c) | Read::Ref(_, c, _) | Read::OptionalRef(_, c, _) => {
                    Some(format!("CAST({c} AS TEXT)"))
                }
                Read::Bool(_, c) => Some(format!("CAST({c} AS TEXT)")),
                Read::Users(..) | Read::Exists(..) => None,
            }))
            .collect();
        let width = columns.len();
        let sql = format!(
            "SELECT {} FROM {table} WHERE org_id = $1 AND id = $2",
            columns.join(", ")
        );
        let key = [Bound::Text(id.to_owned())];
        let rows = self.nullable_rows(&sql, org_id, &key, width)?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let mut values = row.into_iter().skip(1);
        let mut attrs = Vec::new();
        for r in &reads {
            match r {
                Read::Text(name, _) => {
                    if let Some(Some(v)) = values.next() {
                        attrs.push((*name, FactValue::Text(v)));
                    }
                }
                Read::Bool(name, _) => {
                    if let Some(Some(v)) = values.next() {
                        attrs.push((*name, FactValue::Bool(matches!(v.as_str(), "1" | "true"))));
                    }
                }
                Read::Ref(name, _, target) | Read::OptionalRef(name, _, target) => {
                    if let Some(Some(v)) = values.next() {
                        attrs.push((*name, FactValue::Ref(target, v)));
                    }
                }
                Read::Users(name, sql) => {
                    let users = self
                        .nullable_rows(sql, org_id, &key, 1)?
                        .into_iter()
                        .filter_map(|mut r| r.pop().flatten())
                        .collect();
                    attrs.push((*name, FactValue::Refs("User", users)));
                }
                Read::Exists(name, sql) => {
                    let found = !self.nullable_rows(sql, org_id, &key, 1)?.is_empty();
                    attrs.push((*name, FactValue::Bool(found)));
                }
            }
        }
        Ok(Some(EntityFacts {
            ty,
            id: id.to_owned(),
            attrs,
        }))
    }
}
