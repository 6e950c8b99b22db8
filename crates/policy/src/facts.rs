//! Facts about entities for single decisions, in our own terms (so Cedar's types stay inside
//! this crate). The caller (the store, through `app`) loads them; every entity of a [`Facts`]
//! belongs to one org, which the boundary policy compares with the viewer's.

use crate::engine::{NAMESPACE, PolicyError, Viewer, principal};
use cedar_policy as cedar;
use serde_json::{Value, json};

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Bool(bool),
    Long(i64),
    Text(String),
    /// A reference to another entity: its type (`Job`) and id.
    Entity(&'static str, String),
    /// A set of references to entities of one type.
    Entities(&'static str, Vec<String>),
}

/// One entity: its type, id and attributes.
type Entity = (&'static str, String, Vec<(&'static str, Fact)>);

/// The entities a decision may look at, all of one org.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    org: String,
    entities: Vec<Entity>,
}

impl Facts {
    pub fn new(org: &str) -> Facts {
        Facts {
            org: org.to_owned(),
            entities: Vec::new(),
        }
    }

    pub fn org(&self) -> &str {
        &self.org
    }

    /// Adds an entity of type `ty` (`Application`) with its attributes (the `org` attribute is
    /// added from the facts' org).
    pub fn add(&mut self, ty: &'static str, id: &str, attrs: Vec<(&'static str, Fact)>) {
        self.entities.push((ty, id.to_owned(), attrs));
    }

    pub fn len(&self) -> usize {
        self.entities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Cedar entities: these facts, the viewer and the org(s), checked against the schema.
    pub(crate) fn to_cedar(
        &self,
        viewer: &Viewer,
        schema: &cedar::Schema,
    ) -> Result<cedar::Entities, PolicyError> {
        let org = entity_ref("Org", &self.org);
        let mut list = Vec::with_capacity(self.entities.len() + 2);
        let viewer_uid = principal(viewer)?;
        for (ty, id, attrs) in &self.entities {
            // The principal is always the viewer as authenticated, never a fact: in another
            // org's facts the same id is someone else.
            if *ty == "User" && *id == viewer.user {
                continue;
            }
            let mut map = serde_json::Map::new();
            if *ty != "Org" {
                map.insert("org".into(), org.clone());
            }
            for (name, fact) in attrs {
                map.insert((*name).into(), fact_json(fact));
            }
            list.push(json!({
                "uid": { "type": format!("{NAMESPACE}::{ty}"), "id": id },
                "attrs": map,
                "parents": [],
            }));
        }
        list.push(json!({
            "uid": { "type": format!("{NAMESPACE}::User"), "id": viewer_uid.id().unescaped() },
            "attrs": {
                "org": entity_ref("Org", &viewer.org),
                "role": viewer.role,
                "active": viewer.active,
            },
            "parents": [],
        }));
        list.push(json!({
            "uid": { "type": format!("{NAMESPACE}::Org"), "id": self.org },
            "attrs": {},
            "parents": [],
        }));
        if viewer.org != self.org {
            list.push(json!({
                "uid": { "type": format!("{NAMESPACE}::Org"), "id": viewer.org },
                "attrs": {},
                "parents": [],
            }));
        }
        cedar::Entities::from_json_value(Value::Array(list), Some(schema))
            .map_err(|e| PolicyError::Facts(e.to_string()))
    }
}

fn entity_ref(ty: &str, id: &str) -> Value {
    json!({ "__entity": { "type": format!("{NAMESPACE}::{ty}"), "id": id } })
}

fn fact_json(fact: &Fact) -> Value {
    match fact {
        Fact::Bool(b) => Value::Bool(*b),
        Fact::Long(n) => Value::from(*n),
        Fact::Text(s) => Value::String(s.clone()),
        Fact::Entity(ty, id) => entity_ref(ty, id),
        Fact::Entities(ty, ids) => Value::Array(ids.iter().map(|id| entity_ref(ty, id)).collect()),
    }
}
