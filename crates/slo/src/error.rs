//! Errors of reading and checking a spec: each carries the `FILE:LINE:COL` of the YAML node at
//! fault (1-based line and column, as editors count) and says which input is wrong.

use std::fmt;

/// Where a YAML node starts: the origin the caller named (usually the file's path), its line and
/// its column, both counted from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub origin: String,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub(crate) fn new(origin: &str, line: usize, column: usize) -> Self {
        Self {
            origin: origin.to_owned(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.origin, self.line, self.column)
    }
}

/// A spec that cannot be read or does not hold: where, and what.
///
/// Displays as `slo.yaml:12:7: `objective` must be between 0 and 100 (exclusive), got 100.5`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {kind}")]
pub struct SloError {
    /// The offending node.
    pub at: Location,
    /// What is wrong with it.
    pub kind: SloErrorKind,
}

impl SloError {
    pub(crate) fn new(at: Location, kind: SloErrorKind) -> Self {
        Self { at, kind }
    }
}

/// What is wrong, without the location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SloErrorKind {
    /// Not YAML.
    #[error("invalid YAML: {message}")]
    Syntax { message: String },
    /// Nothing but whitespace and comments.
    #[error("the spec is empty; expected a mapping with `version`, `service` and `slos`")]
    Empty,
    /// More than one `---` document.
    #[error("a spec is a single YAML document")]
    MultipleDocuments,
    /// `&anchor`, `*alias` or `!tag`.
    #[error("anchors, aliases and tags are not supported in a spec")]
    AnchorOrTag,
    /// A mapping key that is not a scalar.
    #[error("mapping keys must be plain strings")]
    ComplexKey,
    /// The same key twice in one mapping.
    #[error("`{key}` is given twice (first on line {first_line})")]
    DuplicateKey { key: String, first_line: usize },
    /// A key the format does not know.
    #[error("unknown key `{key}` in {context}; expected one of {expected}")]
    UnknownKey {
        key: String,
        context: String,
        expected: String,
    },
    /// A required key that is absent.
    #[error("`{key}` is missing in {context}")]
    MissingKey { key: String, context: String },
    /// A node of the wrong kind (a list where a string is expected, ...).
    #[error("`{key}` must be {expected}, got a {found}")]
    WrongType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    /// `version` is not `hireplane-slo/1`.
    #[error("`version` must be `{expected}`, got `{found}`")]
    Version {
        expected: &'static str,
        found: String,
    },
    /// `objective` outside (0, 100) or not a decimal number.
    #[error("`objective` must be between 0 and 100 (exclusive), got {found}")]
    Objective { found: String },
    /// An objective so low that the page alert could never fire.
    #[error(
        "`objective` {objective} leaves an error budget of {budget}: the page alert fires at \
         14.4 times the budget, more than 100% errors, so it could never fire; raise the \
         objective or set `alerts.page.enabled: false`"
    )]
    ObjectiveTooLowForPage { objective: String, budget: String },
    /// Two SLOs with one name.
    #[error("SLO name `{name}` is already used on line {first_line}")]
    DuplicateName { name: String, first_line: usize },
    /// Neither `events` nor `latency`, or both.
    #[error("an SLO needs exactly one SLI: `events` or `latency`{found}")]
    Sli { found: String },
    /// A value that breaks a rule of its own (a name, a label, a window, a query, ...).
    #[error("`{key}` {message}")]
    Invalid { key: String, message: String },
}
