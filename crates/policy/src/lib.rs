//! hireplane's policy engine: who may see and change what, written in Cedar and enforced in
//! every report, decision and export.
//!
//! - [`Policies`]: the schema (`policies/hireplane.cedarschema`), the org boundary that is always
//!   in force (`policies/boundary.cedar`), and either the shipped default access policy
//!   (`policies/default.cedar`, the one DESIGN.md describes) or an org's own file, validated
//!   strictly when loaded.
//! - [`Policies::decide`]: one decision, with the ids of the policies that decided.
//! - [`Policies::guard`]: a viewer's row filters and column masks for reports, from Cedar's
//!   type-aware partial evaluation with the resource unknown ([`residual`] translates what is
//!   left into SQL predicates, or refuses). The result implements [`query_compiler::Guard`],
//!   including which references need no second filter ([`implied`] proves it from the
//!   residuals and the model's [`model::LIFTS`]).
//! - [`model`]: what each Cedar entity type and attribute means in the store's tables: the one
//!   place where policies meet SQL.
//! - [`matrix`]: the access matrix (role and situation x entity x action) of a policy set,
//!   rendered from single decisions (docs/policy.md holds the shipped policy's).
//!
//! Architecture invariant: pure. No IO, no clock, no database: facts come in as values
//! ([`Facts`]), filters go out as SQL AST for the compiler to place.

mod engine;
mod facts;
mod guard;
mod implied;
pub mod matrix;
pub mod model;
pub mod residual;
pub mod shape;

pub use engine::{
    Action, DEFAULT_POLICY, Decision, NAMESPACE, Policies, PolicyError, PolicySource, Problem,
    SCHEMA, Viewer,
};
pub use facts::{Fact, Facts};
pub use guard::{GuardCache, GuardNote, ViewerGuard, field_guard};
