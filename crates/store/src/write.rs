//! The write paths of the store: the commands of the hiring workflow (create a candidate, apply to
//! a job, move an application through the pipeline, archive, hire, interviews and scorecards,
//! offers, jobs and their pipelines, custom fields), as typed commands with typed results.
//!
//! Rules every command keeps:
//! - **One transaction, all or nothing.** Each command checks everything it needs inside one
//!   transaction and writes nothing if any check fails. SQLite writes in `BEGIN IMMEDIATE` (one
//!   writer at a time); PostgreSQL locks the row a command changes (`SELECT ... FOR UPDATE` on the
//!   application, the job, the offer's application, ...), so that two concurrent moves of one
//!   application are serialised and the second sees the first.
//! - **Scoped to one org.** Every statement is bound to the org; an id of another org is simply
//!   not found ([`WriteError::NotFound`], naming the field and the id).
//! - **The format's rules hold after every command**, so that an export is always a valid
//!   `hireplane-org/1` org: stage-transition chains, application status and its timestamps, offer
//!   versions 1, 2, ..., stage ids unique across the org, custom field values of the field's type,
//!   and the compiler's shortcuts (an interview's stage is a stage of its application's job; a
//!   scorecard's application is its interview's).
//! - **Derived data stays consistent**, in the same transaction: `application_stage_kinds` (the
//!   stage kinds an application ever entered), `stage_transitions.left_at` (when each stay
//!   ended) and `candidates.has_non_confidential_job` (an application to a job that is not
//!   confidential: recomputed when a candidate or an application is inserted, and for the job's
//!   candidates when a job's `confidential` changes).
//! - **Its events, in the same transaction.** A command emits the domain events the catalogue
//!   says (`crate::events::COMMANDS`) with `Tx::emit`; `Store::write_tx` writes them to the
//!   outbox as the last statements before commit, so a refusal or a rollback leaves none.
//!   `actor_id` and `time` come from [`Store::acting_as`].
//! - **Rows are written through one function per table** (`tx.rs`), whose values come from the
//!   shared record-to-row mapping of `rows.rs` (the import's), so that a new column is one change.
//!
//! New rows get generated ids (`PREFIX_` and 32 hex digits: 48 bits of milliseconds, then 80
//! random bits), unless the command names one.
//!
//! A refusal names the input field as a path: fields by name (`stage_id`), list items by index
//! (`interviews[1].stage_id`), and the entries of a map the caller keys (scores, custom field
//! values) by the key as a JSON string in brackets (`scores["system_design"]`,
//! `custom_fields["years_at_company"]`, [`map_entry_path`]), so that whoever shows the path can
//! tell the caller's keys from our names (the API renames the names, never the keys).

mod applications;
mod archive_reasons;
mod custom;
mod interviews;
mod jobs;
mod loops;
mod merge;
mod offers;
pub(crate) mod tx;
mod users;

use domain::Id;

pub use applications::{
    Archive, Hire, MAX_TAGS, MoveStage, NewApplication, NewCandidate, StageChange, Unarchive,
    UpdateCandidate,
};
pub use archive_reasons::{DEFAULT_ARCHIVE_REASONS, MAX_ARCHIVE_REASON_CHARS, MAX_ARCHIVE_REASONS};
pub use custom::{CustomFieldValue, MAX_OPTIONS, NewCustomField, UpdateCustomField};
pub use interviews::{
    MAX_PARTICIPANTS, MAX_SCORES, MarkInterview, NewFeedback, NewInterview, UpdateFeedback,
};
pub use jobs::{AddStage, MAX_TEAM, NewJob, NewStage, UpdateJob, UpdateStage};
pub use loops::{InterviewLoop, NewInterviewLoop, RepairLoop, RepairedLoop};
pub use merge::{MAX_DUPLICATE_CANDIDATES, MergeCandidates, Merged};
pub use offers::{NewOffer, OfferTerms, UpdateOffer};
pub use users::{UpdateUser, UpdatedUser};

use crate::StoreError;

/// Why a command was refused. In every case nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// `id` (given as `field`) names no `entity` of the org: it does not exist, or belongs to
    /// another org.
    #[error("`{field}`: no {entity} `{id}`{}", if *.entity == "org" { " in the store" } else { " in the org" })]
    NotFound {
        field: String,
        entity: &'static str,
        id: String,
    },
    /// The input breaks a rule; `message` says which.
    #[error("`{field}`: {message}")]
    Invalid { field: String, message: String },
    /// The input is well formed but conflicts with the stored state (an id that is taken, an
    /// application that is no longer active, an offer that is already resolved, ...).
    #[error("`{field}`: {message}")]
    Conflict { field: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WriteError {
    /// The same error with its field placed under `parent` (`interviews[1]` + `stage_id` →
    /// `interviews[1].stage_id`), for commands made of several.
    pub fn within(self, parent: &str) -> WriteError {
        match self {
            WriteError::NotFound { field, entity, id } => WriteError::NotFound {
                field: format!("{parent}.{field}"),
                entity,
                id,
            },
            WriteError::Invalid { field, message } => WriteError::Invalid {
                field: format!("{parent}.{field}"),
                message,
            },
            WriteError::Conflict { field, message } => WriteError::Conflict {
                field: format!("{parent}.{field}"),
                message,
            },
            other => other,
        }
    }

    /// The input field the error is about, if any (`stages[1].kind`, `custom_fields["level"]`).
    pub fn field(&self) -> Option<&str> {
        match self {
            WriteError::NotFound { field, .. }
            | WriteError::Invalid { field, .. }
            | WriteError::Conflict { field, .. } => Some(field),
            WriteError::Store(_) => None,
        }
    }

    pub(crate) fn not_found(field: impl Into<String>, entity: &'static str, id: &str) -> Self {
        WriteError::NotFound {
            field: field.into(),
            entity,
            id: id.to_owned(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        WriteError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        WriteError::Conflict {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> Self {
        WriteError::Store(StoreError::Sqlite(e))
    }
}

impl From<::postgres::Error> for WriteError {
    fn from(e: ::postgres::Error) -> Self {
        WriteError::Store(StoreError::from(e))
    }
}

/// A new id `PREFIX_` + 32 hex digits: 48 bits of milliseconds since 1970 and a 16-bit sequence,
/// strictly increasing within the process (an id made in the same millisecond as the last takes
/// the next sequence number; should 65,536 be made in one millisecond, the clock part runs
/// ahead by one), so ids of one table sort by creation, across processes by the millisecond;
/// then 64 random bits (std's randomly keyed SipHash over a process-wide counter and the clock:
/// unique within a process, unpredictable across processes). The same idea as ULID's monotonic
/// mode.
pub(crate) fn new_id(prefix: &str) -> Result<Id, StoreError> {
    let (stamp, random) = stamp_and_random();
    let text = format!("{prefix}_{stamp:016x}{random:016x}");
    Id::parse(text).map_err(|e| StoreError::Corrupt(format!("generated id: {e}")))
}

/// A new UUID version 7 (RFC 9562) from the same clock and sequence as [`new_id`]: 48 bits of
/// milliseconds, 12 bits of the sequence, 62 random bits. An event's id.
pub(crate) fn new_uuid() -> String {
    let (stamp, random) = stamp_and_random();
    let millis = stamp >> 16;
    let seq = stamp & 0x0FFF;
    let hi = (millis << 16) | 0x7000 | seq;
    let lo = (random & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// Milliseconds << 16 | a sequence (strictly increasing within the process), and 64 random bits.
fn stamp_and_random() -> (u64, u64) {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    // Milliseconds << 16 | sequence, of the last id made.
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let millis = u64::try_from(now.as_millis()).unwrap_or(0) & 0xFFFF_FFFF_FFFF;
    let mut last = LAST.load(Ordering::Relaxed);
    let stamp = loop {
        let next = (millis << 16).max(last.wrapping_add(1));
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(stamp);
    h.write_u128(now.as_nanos());
    (stamp, h.finish())
}

/// The path of the entry `key` of the map input `map` in a refusal: `scores["coding"]`. The key
/// is written as a JSON string (quoted, `"` and `\` escaped) whatever it holds, so a reader can
/// find where it ends.
pub fn map_entry_path(map: &str, key: &str) -> String {
    format!("{map}[{}]", serde_json::Value::from(key))
}

/// `text` trimmed, refused when empty or when it holds NUL ([`no_nul`]).
pub(crate) fn non_empty(field: &str, text: &str) -> Result<String, WriteError> {
    if text.trim().is_empty() {
        return Err(WriteError::invalid(field, "must not be empty"));
    }
    no_nul(field, text)?;
    Ok(text.to_owned())
}

/// Refuses a `text` of input `field` that holds the NUL character (U+0000): PostgreSQL keeps
/// none in text (SQLSTATE 22021), so neither store takes one.
pub(crate) fn no_nul(field: &str, text: &str) -> Result<(), WriteError> {
    if text.contains('\0') {
        return Err(WriteError::invalid(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_ids_are_unique_valid_and_prefixed() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = new_id("cand").unwrap();
            assert!(id.as_str().starts_with("cand_"));
            assert_eq!(id.as_str().len(), "cand_".len() + 32);
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn ids_sort_by_creation_within_a_process() {
        // Thousands per millisecond: the sequence, not the clock, orders most of them.
        let ids: Vec<Id> = (0..20_000).map(|_| new_id("stg").unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
        // From several threads at once: each thread's ids still increase.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let ids: Vec<Id> = (0..5_000).map(|_| new_id("stg").unwrap()).collect();
                    ids.windows(2).all(|w| w[0].as_str() < w[1].as_str())
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().unwrap());
        }
    }

    #[test]
    fn uuids_are_version_7_and_unique() {
        let a = new_uuid();
        let b = new_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'7');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn texts_with_nul_are_refused_at_their_field() {
        let e = non_empty("name", "a\0b").unwrap_err();
        assert_eq!(e.field(), Some("name"));
        assert!(e.to_string().contains("NUL"), "{e}");
        assert!(non_empty("name", "a\tb").is_ok());
        use crate::rows::Val;
        use tx::refuse_nul;
        assert!(matches!(
            refuse_nul(&[Val::Int(1), Val::Text("x\0")]),
            Err(StoreError::BadValue(_))
        ));
        assert!(refuse_nul(&[Val::Json(r#"{"a":"\u0000"}"#.into())]).is_err());
        // An escaped backslash before `u0000` is text, not NUL.
        assert!(refuse_nul(&[Val::Json(r#"{"a":"\\u0000"}"#.into())]).is_ok());
        assert!(refuse_nul(&[Val::Text("fine"), Val::Null]).is_ok());
    }

    #[test]
    fn map_entries_are_quoted_keys_in_brackets() {
        assert_eq!(map_entry_path("scores", "coding"), r#"scores["coding"]"#);
        assert_eq!(
            map_entry_path("scores", r#"say "hi" [x].y"#),
            r#"scores["say \"hi\" [x].y"]"#
        );
    }
}
