//! The hiring workflow's mutations, each one store command run as the caller after the policy
//! engine allowed it.

use async_graphql::dynamic::{Field, Type};

pub fn fields() -> Vec<Field> {
    Vec::new()
}

pub fn types() -> Vec<Type> {
    Vec::new()
}
