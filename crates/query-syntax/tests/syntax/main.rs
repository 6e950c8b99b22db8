//! Integration tests of the report language through its public API: a corpus of reports that
//! must survive text -> JSON -> tree and tree -> text -> tree, and property tests (nothing panics
//! or hangs; generated trees print and parse back).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod corpus;
mod properties;
