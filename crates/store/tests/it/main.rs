//! The store's integration tests on both backends: import and export, writes, reports against an oracle, audit, jobs, flags, destinations.
//!
//! One test binary for the crate (each file a module, `common` shared): it compiles the
//! helpers once and links once, instead of once per file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod demographics;
mod destinations;
mod flags;
mod jobs;
mod reports;
mod rollouts;
mod store;
mod write;
