//! Reports compiled once per shape (issue 22: parsing and compiling an API page's report was
//! an eighth of the server's instructions per page, and every page of a list has its own text
//! only because its cursor differs).
//!
//! A *template* is a report text with holes: literals that change from run to run (a page's
//! cursor), each a [`Fill`] of a known kind. The caller renders the text for any values of the
//! holes. The first time a shape comes it is compiled as itself (so that texts that never come
//! again cost what they did); the second time, [`Templates::compile`] compiles the text twice,
//! for two sets of stand-in values, and finds the parameters the holes became by comparing the
//! two statements: a parameter that
//! differs must be exactly the first stand-in in one and the second in the other. Later runs of
//! the same shape (same text with the stand-ins, same catalog version, dialect and guard) take
//! the statement and put the holes' values into those parameters, without parsing or compiling.
//!
//! Anything unexpected makes a shape a plain report, compiled on every run from the text with
//! the real values: the two statements differ in anything but the holes' parameters (their SQL,
//! columns, masks, audit, suppression), a hole's value was changed by the compiler (case
//! folded, converted to an instant), or no parameter holds it. The cache follows
//! [`crate::Cache`] as to guards: a guard without a key is cached only when it sees
//! everything, so a viewer is never served a statement compiled for another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::catalog::Catalog;
use crate::ir::Param;
use crate::lower::Guard;
use crate::sql::Dialect;
use crate::{Compiled, Diagnostic, compile, sees_everything};

/// The most holes a template may have (the stand-in dates are days of one month).
pub const MAX_HOLES: usize = 20;

/// The value of one hole of a template, as the literal the caller writes into the text.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    Text(String),
    Integer(i64),
    /// Finite.
    Number(f64),
    /// UTC microseconds of a valid instant.
    Instant(i64),
    /// `YYYY-MM-DD`, a valid date.
    Date(String),
}

impl Fill {
    /// The parameter the compiler makes of this literal, compared with a field of its kind.
    fn param(&self) -> Param {
        match self {
            Fill::Text(s) => Param::Text(s.clone()),
            Fill::Integer(n) => Param::Integer(*n),
            Fill::Number(x) => Param::Number(*x),
            Fill::Instant(us) => Param::Instant(*us),
            Fill::Date(d) => Param::Date(d.clone()),
        }
    }

    /// Stand-in `which` (0 or 1) for the hole `k` of this kind: distinct per hole and per set,
    /// and for text with what case folding, trimming or pattern escaping would change.
    fn stand_in(&self, k: usize, which: usize) -> Fill {
        let k64 = k as i64;
        match self {
            Fill::Text(_) => Fill::Text(format!(" \u{1}{k}{}Aa%_\\ ", ["x", "y"][which])),
            Fill::Integer(_) => Fill::Integer([1_000_003, 2_000_003][which] + k64),
            Fill::Number(_) => Fill::Number([0.5, 0.25][which] + k as f64),
            // 2023-11-14 and 2020-09-13 (UTC), plus a microsecond per hole.
            Fill::Instant(_) => {
                Fill::Instant([1_700_000_000_000_000, 1_600_000_000_000_000][which] + k64)
            }
            Fill::Date(_) => Fill::Date(format!("{}-{:02}", ["2001-01", "2002-02"][which], k + 1)),
        }
    }
}

/// A shape compiled: the statement, and which parameter each hole fills.
struct Shape {
    compiled: Arc<Compiled>,
    /// (index in `compiled.params`, hole).
    slots: Vec<(usize, usize)>,
}

/// The key of a shape: catalog version, dialect, text with the first stand-ins, guard.
type Key = (u64, Dialect, String, Option<String>);

/// What is known of a shape.
#[derive(Clone)]
enum Entry {
    /// Compiled once, as itself.
    Seen,
    /// Not a template: compiled from the real text every time.
    Plain,
    Template(Arc<Shape>),
}

/// Compiled shapes, bounded like [`crate::Cache`]: emptied when full. A shape seen once is
/// compiled as itself and remembered as seen; the second time it comes it becomes a template, or
/// is remembered as plain (compiled from its real text every time) when it cannot be one.
pub struct Templates {
    shapes: Mutex<HashMap<Key, Entry>>,
    capacity: usize,
}

/// How many shapes a process keeps by default: a shape per (list, selection, order, cursor
/// null or not, viewer), so a few thousand active viewers' pages.
const DEFAULT_CAPACITY: usize = 4096;

impl Default for Templates {
    fn default() -> Templates {
        Templates::new(DEFAULT_CAPACITY)
    }
}

impl Templates {
    pub fn new(capacity: usize) -> Templates {
        Templates {
            shapes: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn remember(&self, key: Key, entry: Entry) {
        if let Ok(mut shapes) = self.shapes.lock() {
            if shapes.len() >= self.capacity {
                shapes.clear();
            }
            shapes.insert(key, entry);
        }
    }

    /// The report that `render` writes for `fills`, compiled: from the shape's statement with
    /// the holes' parameters put in when this shape was compiled before, else compiled (and
    /// the shape kept when it can be a template). Errors are those of the text with the real
    /// values, so that they point at what the caller wrote.
    pub fn compile(
        &self,
        render: &dyn Fn(&[Fill]) -> String,
        fills: &[Fill],
        catalog: &dyn Catalog,
        dialect: Dialect,
        guard: &dyn Guard,
    ) -> Result<Compiled, Diagnostic> {
        let real = || compile(&render(fills), catalog, dialect, guard);
        let guard_key = guard.cache_key();
        if fills.len() > MAX_HOLES || (guard_key.is_none() && !sees_everything(guard)) {
            return real();
        }
        let stand_ins = |which: usize| -> Vec<Fill> {
            fills
                .iter()
                .enumerate()
                .map(|(k, f)| f.stand_in(k, which))
                .collect()
        };
        let (first, second) = (stand_ins(0), stand_ins(1));
        let key = (catalog.version(), dialect, render(&first), guard_key);
        let known = self.shapes.lock().ok().and_then(|s| s.get(&key).cloned());
        let shape = match known {
            Some(Entry::Template(shape)) => Some(shape),
            Some(Entry::Plain) => None,
            // Seen once: compiled as itself. A shape is made a template the second time it
            // comes, so that texts that never come again (a filter's value changing with every
            // request) cost one compilation each, as before, not three.
            None => {
                self.remember(key, Entry::Seen);
                return real();
            }
            Some(Entry::Seen) => {
                let a = compile(&key.2, catalog, dialect, guard);
                let shape = match a {
                    // Without holes the text is the report itself.
                    Ok(a) if fills.is_empty() => holes(a.clone(), &a, &[], &[]),
                    Ok(a) => match compile(&render(&second), catalog, dialect, guard) {
                        Ok(b) => holes(a, &b, &first, &second),
                        Err(_) => None,
                    },
                    Err(_) => None,
                }
                .map(Arc::new);
                self.remember(
                    key,
                    match &shape {
                        Some(shape) => Entry::Template(shape.clone()),
                        None => Entry::Plain,
                    },
                );
                shape
            }
        };
        let Some(shape) = shape else {
            return real();
        };
        let mut compiled = Compiled::clone(&shape.compiled);
        for &(at, k) in &shape.slots {
            compiled.params[at] = fills[k].param();
        }
        Ok(compiled)
    }
}

/// The shape of `a` and `b`, the same report compiled with the stand-ins `first` and `second`:
/// `None` unless they differ only in parameters that are exactly a hole's stand-ins, and every
/// hole has at least one.
fn holes(a: Compiled, b: &Compiled, first: &[Fill], second: &[Fill]) -> Option<Shape> {
    let same_but_params = a.sql == b.sql
        && a.params.len() == b.params.len()
        && a.columns == b.columns
        && a.dialect == b.dialect
        && a.time_zone == b.time_zone
        && a.guarded == b.guarded
        && a.subject == b.subject
        && a.restricted == b.restricted
        && a.suppression.is_none()
        && b.suppression.is_none()
        && a.reads_a_page == b.reads_a_page;
    if !same_but_params {
        return None;
    }
    let mut slots = Vec::new();
    for (at, (pa, pb)) in a.params.iter().zip(&b.params).enumerate() {
        if pa == pb {
            continue;
        }
        let k = (0..first.len()).find(|&k| *pa == first[k].param() && *pb == second[k].param())?;
        slots.push((at, k));
    }
    if !(0..first.len()).all(|k| slots.iter().any(|&(_, hole)| hole == k)) {
        return None;
    }
    Some(Shape {
        compiled: Arc::new(a),
        slots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryCatalog, OrgScope};

    /// A literal of the report language for `fill`, as the API writes them.
    fn lit(fill: &Fill) -> String {
        match fill {
            Fill::Text(s) => {
                let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
                format!("\"{}\"", escaped.replace('\n', "\\n").replace('\t', "\\t"))
            }
            Fill::Integer(n) => n.to_string(),
            Fill::Number(x) => format!("{x:?}"),
            Fill::Instant(us) => format!("{:.6}", jiff::Timestamp::from_microsecond(*us).unwrap()),
            Fill::Date(d) => d.clone(),
        }
    }

    /// A page after a cursor, newest first, as the API writes it.
    fn page(f: &[Fill]) -> String {
        let (v, id) = (lit(&f[1]), lit(&f[0]));
        format!(
            "report applications\nwhere status = \"active\"\n\
             where applied_at <= {v} and (applied_at < {v} or id < {id})\n\
             show id as c0, applied_at as c1, candidate.name as c2\n\
             order by applied_at desc, id desc\nlimit 51"
        )
    }

    fn direct(text: &str, dialect: Dialect) -> Compiled {
        compile(text, &MemoryCatalog::example(), dialect, &OrgScope).unwrap()
    }

    #[test]
    fn every_page_of_a_shape_is_the_statement_its_own_text_compiles_to() {
        let templates = Templates::new(16);
        let cursors = [
            ("a_9", 1_735_689_600_000_000),
            ("", 0),
            ("quote \" back \\ é 😀", -1),
            (" \u{1}0xAa%_\\ ", 1_700_000_000_000_000),
            ("a_1\n\t", 253_402_207_200_000_000),
        ];
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for (id, us) in cursors {
                let fills = [Fill::Text(id.to_owned()), Fill::Instant(us)];
                let got = templates
                    .compile(&page, &fills, &MemoryCatalog::example(), dialect, &OrgScope)
                    .unwrap();
                assert_eq!(got, direct(&page(&fills), dialect), "{id:?} {us}");
            }
        }
        // One shape per dialect, reused by every cursor.
        let shapes = templates.shapes.lock().unwrap();
        assert_eq!(shapes.len(), 2);
        // The instant is one parameter wherever the text repeats it; the id another.
        assert!(
            shapes
                .values()
                .all(|s| matches!(s, Entry::Template(s) if s.slots.len() == 2))
        );
    }

    #[test]
    fn holes_the_compiler_changes_make_a_plain_report() {
        let catalog = MemoryCatalog::example();
        let templates = Templates::new(16);
        // A date against a timestamp becomes the instants of that day in the org's zone: no
        // parameter holds the literal as written.
        let day = |f: &[Fill]| format!("report applications where applied_at = {}", lit(&f[0]));
        // An email is compared regardless of case, by `lower()` in the statement: the
        // parameter is the literal as written, so this one is a template.
        let email =
            |f: &[Fill]| format!("report applications where candidate.email = {}", lit(&f[0]));
        for (render, fill, template) in [
            (
                &day as &dyn Fn(&[Fill]) -> String,
                Fill::Date("2025-03-03".into()),
                false,
            ),
            (&email, Fill::Text("Ana@Example.COM".into()), true),
        ] {
            for _ in 0..2 {
                let fills = [fill.clone()];
                let got = templates
                    .compile(render, &fills, &catalog, Dialect::Postgres, &OrgScope)
                    .unwrap();
                assert_eq!(got, direct(&render(&fills), Dialect::Postgres));
            }
            let first = [fill.stand_in(0, 0)];
            let key = (catalog.version(), Dialect::Postgres, render(&first), None);
            let shapes = templates.shapes.lock().unwrap();
            assert_eq!(
                matches!(shapes[&key], Entry::Template(_)),
                template,
                "{}",
                render(&first)
            );
        }
    }

    /// Texts that never come again (a filter's value changing with every request) are
    /// compiled once each, as themselves: no template is made for them.
    #[test]
    fn shapes_seen_once_are_compiled_once() {
        let templates = Templates::new(16);
        for n in 0..5 {
            let render = |f: &[Fill]| {
                format!(
                    "report applications where job.title = \"title {n}\" where id > {}",
                    lit(&f[0])
                )
            };
            let fills = [Fill::Text("a_1".into())];
            let got = templates
                .compile(
                    &render,
                    &fills,
                    &MemoryCatalog::example(),
                    Dialect::Sqlite,
                    &OrgScope,
                )
                .unwrap();
            assert_eq!(got, direct(&render(&fills), Dialect::Sqlite));
        }
        let shapes = templates.shapes.lock().unwrap();
        assert_eq!(shapes.len(), 5);
        assert!(shapes.values().all(|e| matches!(e, Entry::Seen)));
    }

    #[test]
    fn errors_are_those_of_the_real_text() {
        let templates = Templates::new(16);
        let render = |f: &[Fill]| format!("report applications where nosuch = {}", lit(&f[0]));
        let fills = [Fill::Integer(7)];
        let got = templates
            .compile(
                &render,
                &fills,
                &MemoryCatalog::example(),
                Dialect::Sqlite,
                &OrgScope,
            )
            .unwrap_err();
        let want = compile(
            &render(&fills),
            &MemoryCatalog::example(),
            Dialect::Sqlite,
            &OrgScope,
        )
        .unwrap_err();
        assert_eq!(got.message, want.message);
        assert_eq!(got.span, want.span);
    }

    /// A guard that hides every row and has no cache key.
    struct Hides;
    impl Guard for Hides {
        fn rows(&self, _: crate::EntityId) -> crate::Visibility {
            crate::Visibility::None
        }
        fn fields(&self, _: crate::EntityId, _: crate::FieldGroup) -> crate::Visibility {
            crate::Visibility::None
        }
    }

    #[test]
    fn a_guard_without_a_key_that_hides_something_is_never_cached() {
        let templates = Templates::new(16);
        let fills = [Fill::Text("a_9".into()), Fill::Instant(0)];
        let got = templates
            .compile(
                &page,
                &fills,
                &MemoryCatalog::example(),
                Dialect::Sqlite,
                &Hides,
            )
            .unwrap();
        let want = compile(
            &page(&fills),
            &MemoryCatalog::example(),
            Dialect::Sqlite,
            &Hides,
        )
        .unwrap();
        assert_eq!(got, want);
        assert!(templates.shapes.lock().unwrap().is_empty());
    }
}
