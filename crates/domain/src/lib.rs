//! hireplane's shared vocabulary: the recruiting data model and its interchange format.
//!
//! Everything here is a *validated* value: an [`Id`] is never empty, an [`Instant`] is always UTC,
//! a [`TimeZone`] is always a zone the IANA database knows, an enum only ever holds one of its
//! variants. Other crates receive these types and never re-check them (parse, don't validate).
//!
//! - [`entity`]: the entities of an org (jobs, candidates, applications, ...).
//! - [`enums`]: the closed enumerations of the format.
//! - [`time`]: instants, dates, zones and local clock times.
//! - [`custom`]: tenant-defined custom fields and their typed values.
//! - [`format`]: reading and writing an org folder in `hireplane-org/1`, streaming, with every
//!   problem reported as `FILE:LINE: field: what is wrong`.
//!
//! Architecture invariant: this crate does no database work and has no notion of a store; the only
//! IO it does is reading and writing the interchange files it is handed.

pub mod custom;
pub mod entity;
pub mod enums;
pub mod format;
mod id;
pub mod time;

pub use id::{Id, IdError};
pub use time::{Date, Instant, LocalTime, TimeZone};
