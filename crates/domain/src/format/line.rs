//! Reading the fields of one JSON object (a line of a `.jsonl` file, or a nested object),
//! recording a [`Problem`] for every field that is missing, of the wrong type or invalid, so that a
//! line with three mistakes gets three messages.
//!
//! Each getter returns `Some(value)`, or `None` after it has recorded why there is no value.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{FileKind, Problem};
use crate::Id;
use crate::enums::EnumError;
use crate::time::{Date, Instant, TimeZone};

/// The longest text a field of the format may hold, in characters (the API's longest, a
/// scorecard's notes, is 20,000).
pub const MAX_TEXT_CHARS: usize = 100_000;

/// Problems found so far, capped at [`super::MAX_PROBLEMS`] but counted in full.
#[derive(Default, Debug)]
pub(crate) struct Problems {
    pub list: Vec<Problem>,
    pub total: u64,
}

impl Problems {
    pub fn push(&mut self, file: FileKind, line: u64, field: impl Into<String>, message: String) {
        self.total += 1;
        if self.list.len() < super::MAX_PROBLEMS {
            self.list.push(Problem {
                file,
                line,
                field: field.into(),
                message,
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// The fields of one JSON object, not yet interpreted.
pub(crate) struct Obj<'a, 'p> {
    pub file: FileKind,
    pub line: u64,
    /// Path of this object inside the line (`stages[2]`), empty for the line itself.
    prefix: String,
    fields: BTreeMap<String, &'a RawValue>,
    pub problems: &'p mut Problems,
    /// Problems recorded through this object (so a caller can tell whether it is sound).
    pub failed: bool,
}

fn json_kind(raw: &RawValue) -> &'static str {
    match raw.get().trim_start().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

impl<'a, 'p> Obj<'a, 'p> {
    /// Parses `text` as one JSON object; records a problem and returns `None` if it is not one.
    pub fn parse(
        file: FileKind,
        line: u64,
        text: &'a str,
        problems: &'p mut Problems,
    ) -> Option<Obj<'a, 'p>> {
        match serde_json::from_str::<BTreeMap<String, &'a RawValue>>(text) {
            Ok(fields) => Some(Obj {
                file,
                line,
                prefix: String::new(),
                fields,
                problems,
                failed: false,
            }),
            Err(e) => {
                let msg = if text.trim_start().starts_with('{') {
                    format!("not valid JSON: {e}")
                } else {
                    "expected a JSON object".to_owned()
                };
                problems.push(file, line, "", msg);
                None
            }
        }
    }

    pub fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    pub fn problem(&mut self, name: &str, message: impl Into<String>) {
        self.failed = true;
        let path = self.path(name);
        self.problems
            .push(self.file, self.line, path, message.into());
    }

    /// The raw value of a field; `None` when missing or `null`.
    fn take(&mut self, name: &str) -> Option<&'a RawValue> {
        self.fields.remove(name).filter(|raw| raw.get() != "null")
    }

    fn decode<T: DeserializeOwned>(&mut self, name: &str, raw: &RawValue, what: &str) -> Option<T> {
        match serde_json::from_str::<T>(raw.get()) {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(name, format!("expected {what}, got {}", json_kind(raw)));
                None
            }
        }
    }

    fn required<T: DeserializeOwned>(&mut self, name: &str, what: &str) -> Option<T> {
        match self.take(name) {
            Some(raw) => self.decode(name, raw, what),
            None => {
                self.problem(name, format!("missing; expected {what}"));
                None
            }
        }
    }

    /// `Some(None)` for a missing or null field, `None` after a problem.
    fn optional<T: DeserializeOwned>(&mut self, name: &str, what: &str) -> Option<Option<T>> {
        match self.take(name) {
            Some(raw) => self.decode(name, raw, what).map(Some),
            None => Some(None),
        }
    }

    pub fn text(&mut self, name: &str) -> Option<String> {
        let s: String = self.required(name, "a string")?;
        self.bounded(name, s)
    }

    /// `s` when it is at most [`MAX_TEXT_CHARS`] characters long and holds no NUL (which
    /// PostgreSQL cannot store: a file SQLite took was refused there without a line), else a
    /// problem.
    fn bounded(&mut self, name: &str, s: String) -> Option<String> {
        if s.contains('\0') {
            self.problem(
                name,
                "contains a NUL character (U+0000), which no store keeps",
            );
            return None;
        }
        if s.len() > MAX_TEXT_CHARS && s.chars().count() > MAX_TEXT_CHARS {
            self.problem(
                name,
                format!(
                    "longer than {MAX_TEXT_CHARS} characters ({})",
                    s.chars().count()
                ),
            );
            return None;
        }
        Some(s)
    }

    pub fn non_empty_text(&mut self, name: &str) -> Option<String> {
        let s = self.text(name)?;
        if s.trim().is_empty() {
            self.problem(name, "must not be empty");
            return None;
        }
        Some(s)
    }

    pub fn opt_text(&mut self, name: &str) -> Option<Option<String>> {
        match self.optional::<String>(name, "a string or null")? {
            Some(s) => self.bounded(name, s).map(Some),
            None => Some(None),
        }
    }

    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        self.required(name, "true or false")
    }

    pub fn uint(&mut self, name: &str, min: u32) -> Option<u32> {
        let n: u64 = self.required(name, "a whole number")?;
        self.check_uint(name, n, min)
    }

    pub fn opt_uint(&mut self, name: &str, min: u32) -> Option<Option<u32>> {
        match self.optional::<u64>(name, "a whole number or null")? {
            Some(n) => self.check_uint(name, n, min).map(Some),
            None => Some(None),
        }
    }

    fn check_uint(&mut self, name: &str, n: u64, min: u32) -> Option<u32> {
        match u32::try_from(n) {
            Ok(v) if v >= min => Some(v),
            Ok(_) => {
                self.problem(name, format!("`{n}` is less than {min}"));
                None
            }
            Err(_) => {
                self.problem(name, format!("`{n}` is too large"));
                None
            }
        }
    }

    pub fn opt_number(&mut self, name: &str) -> Option<Option<f64>> {
        self.optional(name, "a number or null")
    }

    pub fn id(&mut self, name: &str) -> Option<Id> {
        let s = self.text(name)?;
        self.check_id(name, s)
    }

    pub fn opt_id(&mut self, name: &str) -> Option<Option<Id>> {
        match self.opt_text(name)? {
            Some(s) => self.check_id(name, s).map(Some),
            None => Some(None),
        }
    }

    fn check_id(&mut self, name: &str, s: String) -> Option<Id> {
        match Id::parse(s) {
            Ok(id) => Some(id),
            Err(e) => {
                self.problem(name, e.to_string());
                None
            }
        }
    }

    pub fn instant(&mut self, name: &str) -> Option<Instant> {
        let s = self.text(name)?;
        self.check(name, Instant::parse(&s))
    }

    pub fn opt_instant(&mut self, name: &str) -> Option<Option<Instant>> {
        match self.opt_text(name)? {
            Some(s) => self.check(name, Instant::parse(&s)).map(Some),
            None => Some(None),
        }
    }

    pub fn opt_date(&mut self, name: &str) -> Option<Option<Date>> {
        match self.opt_text(name)? {
            Some(s) => self.check(name, Date::parse(&s)).map(Some),
            None => Some(None),
        }
    }

    pub fn zone(&mut self, name: &str) -> Option<TimeZone> {
        let s = self.text(name)?;
        self.check(name, TimeZone::parse(&s))
    }

    pub fn opt_zone(&mut self, name: &str) -> Option<Option<TimeZone>> {
        match self.opt_text(name)? {
            Some(s) => self.check(name, TimeZone::parse(&s)).map(Some),
            None => Some(None),
        }
    }

    pub fn enumeration<E>(
        &mut self,
        name: &str,
        parse: fn(&str) -> Result<E, EnumError>,
    ) -> Option<E> {
        let s = self.text(name)?;
        self.check(name, parse(&s))
    }

    pub fn check<T, E: std::fmt::Display>(&mut self, name: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(name, e.to_string());
                None
            }
        }
    }

    pub fn string_list(&mut self, name: &str) -> Option<Vec<String>> {
        Some(
            self.optional(name, "an array of strings")?
                .unwrap_or_default(),
        )
    }

    pub fn object(
        &mut self,
        name: &str,
    ) -> Option<Option<serde_json::Map<String, serde_json::Value>>> {
        self.optional(name, "an object")
    }

    /// The elements of an array of objects, each as an [`Obj`] whose field paths read
    /// `name[i].field`; a missing or null array is empty.
    pub fn objects(&mut self, name: &str) -> Option<Vec<(String, BTreeMap<String, &'a RawValue>)>> {
        let Some(raw) = self.take(name) else {
            return Some(Vec::new());
        };
        let items: Vec<&'a RawValue> = match serde_json::from_str(raw.get()) {
            Ok(items) => items,
            Err(_) => {
                self.problem(
                    name,
                    format!("expected an array of objects, got {}", json_kind(raw)),
                );
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("{name}[{i}]");
            match serde_json::from_str::<BTreeMap<String, &'a RawValue>>(item.get()) {
                Ok(fields) => out.push((path, fields)),
                Err(_) => {
                    self.problem(
                        &path,
                        format!("expected an object, got {}", json_kind(item)),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// An [`Obj`] over an element returned by [`Obj::objects`], reporting into the same problems.
    pub fn nested<'q>(
        &'q mut self,
        path: String,
        fields: BTreeMap<String, &'a RawValue>,
    ) -> Obj<'a, 'q> {
        let prefix = if self.prefix.is_empty() {
            path
        } else {
            format!("{}.{path}", self.prefix)
        };
        Obj {
            file: self.file,
            line: self.line,
            prefix,
            fields,
            problems: self.problems,
            failed: false,
        }
    }

    /// Reports fields that the format does not define; returns whether the object is sound.
    pub fn finish(mut self) -> bool {
        let unknown: Vec<String> = std::mem::take(&mut self.fields).into_keys().collect();
        for name in unknown {
            self.problem(&name, "unknown field");
        }
        !self.failed
    }
}
