//! `app`'s integration tests: policies, masks, isolation, demographics, audit, events, flags, jobs and automation, against real SQLite and PostgreSQL (when `HIREPLANE_TEST_POSTGRES` is set).
//!
//! One test binary for the crate (each file a module, `common` shared): it compiles the
//! helpers once and links once, instead of once per file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod agreement;
mod architecture;
mod audit;
mod automation;
mod demographics_attacks;
mod events;
mod flags;
mod isolation;
mod jobs;
mod masks;
mod query_plan;
mod rollouts;
mod workflow;
