//! hireplane's report language, up to the AST: text to [`Report`] with spans, the JSON form,
//! and [`Diagnostic`]s rendered with a caret under the source.
//!
//! [`parse`] reads report text (stopping at the first error), [`from_json`] and [`to_json`]
//! convert the JSON form, and `Display` on [`Report`] prints canonical text that parses back to
//! the same tree. Names are not resolved here; the compiler does that.

pub mod ast;
pub mod diagnostic;
mod display;
mod json;
mod lexer;
mod parser;
mod spans;

pub use ast::*;
pub use diagnostic::{Diagnostic, closest};
pub use json::{MAX_JSON_DEPTH, from_json, json_too_deep_at, to_json};
pub use lexer::check_date;
pub use parser::{KEYWORDS, MAX_DEPTH, is_identifier, is_keyword};

/// Parses report text. Returns the first problem found; never panics, and nesting deeper than
/// [`MAX_DEPTH`] is an error rather than a stack overflow.
pub fn parse(text: &str) -> Result<Report, Diagnostic> {
    parser::parse_report(text)
}
