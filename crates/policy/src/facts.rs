//! Facts about entities for single decisions, in our own terms (so Cedar's types stay inside
//! this crate). The caller (the store, through `app`) loads them; every entity of a [`Facts`]
//! belongs to one org, which the boundary policy compares with the viewer's.

use crate::engine::{PolicyError, Viewer, principal, uid};
use cedar_policy::{self as cedar, RestrictedExpression};
use std::collections::HashMap;

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
    /// Built directly (not through Cedar's JSON form, which costs ten times more).
    pub(crate) fn to_cedar(
        &self,
        viewer: &Viewer,
        schema: &cedar::Schema,
    ) -> Result<cedar::Entities, PolicyError> {
        let org_uid = uid("Org", &self.org)?;
        let viewer_uid = principal(viewer)?;
        let mut list = Vec::with_capacity(self.entities.len() + 3);
        let no_parents = std::collections::HashSet::new;
        for (ty, id, attrs) in &self.entities {
            // The principal is always the viewer as authenticated, never a fact: in another
            // org's facts the same id is someone else.
            if *ty == "User" && *id == viewer.user {
                continue;
            }
            let mut map = HashMap::with_capacity(attrs.len() + 1);
            if *ty != "Org" {
                map.insert(
                    "org".to_owned(),
                    RestrictedExpression::new_entity_uid(org_uid.clone()),
                );
            }
            for (name, fact) in attrs {
                map.insert((*name).to_owned(), restricted(fact)?);
            }
            let entity = cedar::Entity::new(uid(ty, id)?, map, no_parents())
                .map_err(|e| PolicyError::Facts(e.to_string()))?;
            list.push(entity);
        }
        let mut attrs = HashMap::with_capacity(3);
        attrs.insert(
            "org".to_owned(),
            RestrictedExpression::new_entity_uid(uid("Org", &viewer.org)?),
        );
        attrs.insert(
            "role".to_owned(),
            RestrictedExpression::new_string(viewer.role.clone()),
        );
        attrs.insert(
            "active".to_owned(),
            RestrictedExpression::new_bool(viewer.active),
        );
        list.push(
            cedar::Entity::new(viewer_uid, attrs, no_parents())
                .map_err(|e| PolicyError::Facts(e.to_string()))?,
        );
        list.push(cedar::Entity::new_no_attrs(org_uid, no_parents()));
        if viewer.org != self.org {
            list.push(cedar::Entity::new_no_attrs(
                uid("Org", &viewer.org)?,
                no_parents(),
            ));
        }
        cedar::Entities::from_entities(list, Some(schema))
            .map_err(|e| PolicyError::Facts(e.to_string()))
    }
}

fn restricted(fact: &Fact) -> Result<RestrictedExpression, PolicyError> {
    Ok(match fact {
        Fact::Bool(b) => RestrictedExpression::new_bool(*b),
        Fact::Long(n) => RestrictedExpression::new_long(*n),
        Fact::Text(s) => RestrictedExpression::new_string(s.clone()),
        Fact::Entity(ty, id) => RestrictedExpression::new_entity_uid(uid(ty, id)?),
        Fact::Entities(ty, ids) => RestrictedExpression::new_set(
            ids.iter()
                .map(|id| uid(ty, id).map(RestrictedExpression::new_entity_uid))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    })
}
