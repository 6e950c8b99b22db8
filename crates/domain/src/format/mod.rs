//! The interchange format `hireplane-org/1`: an org as a folder of `org.json` plus one JSON Lines
//! file per entity (see `shared/spec/org-format.md`).
//!
//! - [`read_org`] streams a folder into an [`OrgSink`] (a store's import, a test's collector) in
//!   dependency order, checking every rule of the format on the way: fields, types, enums,
//!   references, duplicate ids, stage-transition chains, custom fields. Every problem is reported as
//!   `FILE:LINE: field: what is wrong`; once one is found the sink is not fed any more, and the
//!   caller is expected to drop what it received (an import is all or nothing).
//! - [`OrgWriter`] writes records back, one file per entity.
//!
//! Memory does not grow with the size of the files: each line is parsed, checked and handed on.
//! What is kept is a compact index of ids (to resolve references) and a few numbers per
//! application and transition (to check the chains once the whole history has been read).

mod index;
mod line;
mod reader;
mod writer;

use std::fmt;
use std::path::PathBuf;

pub use line::MAX_TEXT_CHARS;
pub use reader::{MAX_LINE_BYTES, Progress, ReadSummary, read_org};
pub use writer::{OrgWriter, WriteError};

use crate::custom::CustomFieldDef;
use crate::entity::*;

/// The files of an org folder, in the order they are read (every reference points backwards).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum FileKind {
    Org,
    Departments,
    Users,
    Sources,
    CustomFields,
    Jobs,
    Candidates,
    Applications,
    StageTransitions,
    Interviews,
    Feedback,
    Offers,
    InterviewerPools,
    BusyBlocks,
}

impl FileKind {
    pub const ALL: [FileKind; 14] = [
        FileKind::Org,
        FileKind::Departments,
        FileKind::Users,
        FileKind::Sources,
        FileKind::CustomFields,
        FileKind::Jobs,
        FileKind::Candidates,
        FileKind::Applications,
        FileKind::StageTransitions,
        FileKind::Interviews,
        FileKind::Feedback,
        FileKind::Offers,
        FileKind::InterviewerPools,
        FileKind::BusyBlocks,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::Org => "org.json",
            FileKind::Departments => "departments.jsonl",
            FileKind::Users => "users.jsonl",
            FileKind::Sources => "sources.jsonl",
            FileKind::CustomFields => "custom_fields.jsonl",
            FileKind::Jobs => "jobs.jsonl",
            FileKind::Candidates => "candidates.jsonl",
            FileKind::Applications => "applications.jsonl",
            FileKind::StageTransitions => "stage_transitions.jsonl",
            FileKind::Interviews => "interviews.jsonl",
            FileKind::Feedback => "feedback.jsonl",
            FileKind::Offers => "offers.jsonl",
            FileKind::InterviewerPools => "interviewer_pools.jsonl",
            FileKind::BusyBlocks => "busy_blocks.jsonl",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// One record of an org, borrowed, as handed to an [`OrgSink`].
#[derive(Clone, Copy, Debug)]
pub enum Record<'a> {
    Org(&'a Org),
    Department(&'a Department),
    User(&'a User),
    Source(&'a Source),
    CustomField(&'a CustomFieldDef),
    Job(&'a Job),
    Candidate(&'a Candidate),
    Application(&'a Application),
    StageTransition(&'a StageTransition),
    Interview(&'a Interview),
    Feedback(&'a Feedback),
    Offer(&'a Offer),
    InterviewerPool(&'a InterviewerPool),
    BusyBlock(&'a BusyBlock),
}

/// Receives the records of an org in dependency order: an org before anything else, a department
/// after its parent, every record after the records it references.
pub trait OrgSink {
    type Error: std::error::Error + Send + Sync + 'static;
    fn record(&mut self, record: Record<'_>) -> Result<(), Self::Error>;
}

/// One thing wrong with an input file: `FILE:LINE: field: what is wrong`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: FileKind,
    /// 1-based; 0 when the problem is about the file as a whole.
    pub line: u64,
    /// The field, as a path into the record (`stages[2].kind`); empty when about the whole line.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Why an org folder could not be read into a sink.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E: std::error::Error + 'static> {
    /// The input breaks rules of the format; nothing should be kept.
    #[error("{} problem{} in the org folder", .total, if *.total == 1 { "" } else { "s" })]
    Invalid {
        /// The first problems found, in file order (at most [`MAX_PROBLEMS`]).
        problems: Vec<Problem>,
        /// How many were found in all.
        total: u64,
    },
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sink(E),
}

/// How many problems are kept for the report; counting goes on past it.
pub const MAX_PROBLEMS: usize = 10_000;

/// The records of an org folder in a canonical form, for comparing two folders: per file, the
/// sorted list of its records as JSON text, with keys sorted, `null` fields dropped (the format
/// treats `null` and missing alike) and numbers compared by value (`94000` equals `94000.0`).
pub fn canonical_records(
    dir: &std::path::Path,
) -> std::io::Result<std::collections::BTreeMap<&'static str, Vec<String>>> {
    let mut out = std::collections::BTreeMap::new();
    for kind in FileKind::ALL {
        let text = match std::fs::read_to_string(dir.join(kind.file_name())) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let parse = |s: &str| -> std::io::Result<String> {
            let v: serde_json::Value = serde_json::from_str(s)?;
            Ok(canonical(v).to_string())
        };
        let mut rows = if kind == FileKind::Org {
            vec![parse(&text)?]
        } else {
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(parse)
                .collect::<std::io::Result<Vec<_>>>()?
        };
        rows.sort();
        out.insert(kind.file_name(), rows);
    }
    Ok(out)
}

fn canonical(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut fields: Vec<(String, Value)> = m
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, canonical(v)))
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(fields.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        v => v,
    }
}
