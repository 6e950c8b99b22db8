//! The server's integration tests: the API, its hardening, pages, events, workers and automation, against real SQLite and PostgreSQL (when `HIREPLANE_TEST_POSTGRES` is set), NATS and HTTP receivers.
//!
//! One test binary for the crate (each file a module, `common` shared): it compiles the
//! helpers once and links once, instead of once per file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod admin_api;
mod api;
mod api_docs;
mod automation;
mod console;
mod console_browser;
mod demographics;
mod descriptions;
mod direct;
mod flags;
mod hardening;
mod hardening_scheduling;
mod interview_loops;
mod logs;
mod pages;
mod policy_paths;
mod relay;
mod role_pages;
mod rollouts;
mod subscriptions;
mod worker;
