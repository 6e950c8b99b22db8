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
//! folded, converted to an instant), or no parameter holds it. So does a value the report
//! language may refuse as a literal (NUL in a text, a date outside years 0001 to 9999, a number
//! written with an exponent, `i64::MIN`): compiled from its real text, it gets the lexer's
//! diagnostic, as it would without templates ([`Fill::ordinary`]). The cache follows
//! [`crate::Cache`] as to guards: a guard without a key is cached only when it sees
//! everything, so a viewer is never served a statement compiled for another.
//!
//! The cache is bounded in entries and in bytes and forgets its least recently used shape
//! first, and texts longer than [`MAX_TEXT`] (filters with long values) are never kept: a
//! client that sends new shapes without end cannot grow the process or make others' pages
//! compile again (red team, pass 2).

use std::sync::{Arc, Mutex};

use hashlink::LruCache;

use crate::catalog::Catalog;
use crate::ir::Param;
use crate::lower::Guard;
use crate::sql::Dialect;
use crate::{Compiled, Diagnostic, compile, sees_everything};

/// The most holes a template may have (the stand-in dates are days of one month).
pub const MAX_HOLES: usize = 20;

/// The longest text (with the stand-ins) kept as a shape; longer ones compile every time.
/// A page of a list with a few filters is a few hundred bytes.
pub const MAX_TEXT: usize = 4096;

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
    /// Whether any caller writes this value as a literal that the report language reads back
    /// as this value: a text without NUL, an integer other than `i64::MIN` (written `-` and a
    /// positive integer), a number that `{:?}` writes without an exponent, and dates and
    /// instants in years 0001 to 9999. Other values compile from their real text.
    fn ordinary(&self) -> bool {
        match self {
            Fill::Text(s) => !s.contains('\0'),
            Fill::Integer(n) => *n != i64::MIN,
            Fill::Number(x) => *x == 0.0 || (x.is_finite() && (1e-4..1e15).contains(&x.abs())),
            // 0001-01-01T00:00:00Z up to the end of 9999 (UTC).
            Fill::Instant(us) => (-62_135_596_800_000_000..253_402_300_800_000_000).contains(us),
            Fill::Date(d) => query_syntax::check_date(d).is_ok(),
        }
    }

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

/// Compiled shapes, at most `capacity` of them and about `max_bytes` in all, the least
/// recently used forgotten first. A shape seen once is compiled as itself and remembered as
/// seen; the second time it comes it becomes a template, or is remembered as plain (compiled
/// from its real text every time) when it cannot be one.
pub struct Templates {
    shapes: Mutex<Shapes>,
    capacity: usize,
    max_bytes: usize,
}

/// The shapes in least-recently-used order, with each one's weight and their sum.
struct Shapes {
    lru: LruCache<Key, (Entry, usize)>,
    bytes: usize,
}

/// How many shapes a process keeps by default: a shape per (list, selection, order, cursor
/// null or not, viewer), so a few thousand active viewers' pages.
const DEFAULT_CAPACITY: usize = 4096;

/// About how many bytes of texts and statements a process keeps by default.
const DEFAULT_MAX_BYTES: usize = 32 << 20;

impl Default for Templates {
    fn default() -> Templates {
        Templates::new(DEFAULT_CAPACITY)
    }
}

/// About what an entry holds in memory: its key's texts, and a template's statement.
fn weight(key: &Key, entry: &Entry) -> usize {
    let statement = match entry {
        Entry::Template(shape) => {
            let c = &shape.compiled;
            c.sql.len()
                + c.params.len() * std::mem::size_of::<Param>()
                + c.params
                    .iter()
                    .map(|p| match p {
                        Param::Text(s) | Param::Date(s) => s.len(),
                        _ => 0,
                    })
                    .sum::<usize>()
                + c.columns.len() * 64
        }
        Entry::Seen | Entry::Plain => 0,
    };
    // The map's own bookkeeping per entry, roughly.
    128 + key.2.len() + key.3.as_ref().map_or(0, String::len) + statement
}

impl Templates {
    pub fn new(capacity: usize) -> Templates {
        Templates::bounded(capacity, DEFAULT_MAX_BYTES)
    }

    /// At most `capacity` shapes and about `max_bytes` of them.
    pub fn bounded(capacity: usize, max_bytes: usize) -> Templates {
        Templates {
            shapes: Mutex::new(Shapes {
                lru: LruCache::new_unbounded(),
                bytes: 0,
            }),
            capacity: capacity.max(1),
            max_bytes,
        }
    }

    /// What is known of `key`, which becomes the most recently used.
    fn known(&self, key: &Key) -> Option<Entry> {
        let mut shapes = self.shapes.lock().ok()?;
        shapes.lru.get(key).map(|(entry, _)| entry.clone())
    }

    fn remember(&self, key: Key, entry: Entry) {
        if let Ok(mut shapes) = self.shapes.lock() {
            let w = weight(&key, &entry);
            shapes.bytes += w;
            if let Some((_, before)) = shapes.lru.insert(key, (entry, w)) {
                shapes.bytes -= before;
            }
            while shapes.lru.len() > self.capacity
                || (shapes.bytes > self.max_bytes && shapes.lru.len() > 1)
            {
                match shapes.lru.remove_lru() {
                    Some((_, (_, w))) => shapes.bytes -= w,
                    None => break,
                }
            }
        }
    }

    /// How many shapes are kept, and about how many bytes.
    pub fn size(&self) -> (usize, usize) {
        self.shapes
            .lock()
            .map_or((0, 0), |s| (s.lru.len(), s.bytes))
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
        if fills.len() > MAX_HOLES
            || !fills.iter().all(Fill::ordinary)
            || (guard_key.is_none() && !sees_everything(guard))
        {
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
        let text = render(&first);
        if text.len() > MAX_TEXT {
            return real();
        }
        let key = (catalog.version(), dialect, text, guard_key);
        let known = self.known(&key);
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
        assert_eq!(shapes.lru.len(), 2);
        // The instant is one parameter wherever the text repeats it; the id another.
        assert!(
            shapes
                .lru
                .iter()
                .all(|(_, (s, _))| matches!(s, Entry::Template(s) if s.slots.len() == 2))
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
                matches!(shapes.lru.peek(&key), Some((Entry::Template(_), _))),
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
        assert_eq!(shapes.lru.len(), 5);
        assert!(
            shapes
                .lru
                .iter()
                .all(|(_, (e, _))| matches!(e, Entry::Seen))
        );
    }

    /// Values the report language refuses as literals are refused as their text is, however
    /// often the shape came before (red team, pass 2: a forged cursor's NUL, year 0000 or
    /// 1e300 was refused the first time and filled into the template the second).
    #[test]
    fn values_the_language_refuses_are_refused_every_time() {
        let templates = Templates::new(16);
        let catalog = MemoryCatalog::example();
        let run = |fills: &[Fill]| {
            templates.compile(&page, fills, &catalog, Dialect::Postgres, &OrgScope)
        };
        let good = [
            Fill::Text("a_1".into()),
            Fill::Instant(1_700_000_000_000_000),
        ];
        for _ in 0..3 {
            run(&good).unwrap();
        }
        assert_eq!(templates.size().0, 1);
        let refused = [
            [Fill::Text("a\0b".into()), good[1].clone()],
            // Year 0000.
            [good[0].clone(), Fill::Instant(-62_167_219_200_000_000)],
        ];
        for fills in &refused {
            for _ in 0..3 {
                assert!(run(fills).is_err(), "{fills:?}");
            }
        }
        // Numbers written with an exponent, and `i64::MIN`, are compiled from their text too.
        for x in [1e300, 1e-7, f64::MIN_POSITIVE] {
            assert!(!Fill::Number(x).ordinary(), "{x}");
        }
        for x in [0.0, -12.5, 1e-4, 999_999_999_999_999.0] {
            assert!(Fill::Number(x).ordinary(), "{x}");
        }
        assert!(!Fill::Integer(i64::MIN).ordinary());
        assert!(!Fill::Date("0000-01-01".into()).ordinary());
        assert!(Fill::Date("0001-01-01".into()).ordinary());
    }

    /// The cache keeps at most its capacity and about its bytes, forgetting the least recently
    /// used shape first, and never keeps long texts (red team, pass 2: 200 KB filters made
    /// 2 GB of shapes, and a full cache was emptied for everyone).
    #[test]
    fn the_cache_is_bounded_and_forgets_the_coldest_shape_first() {
        let catalog = MemoryCatalog::example();
        let shape = |title: String| {
            move |f: &[Fill]| {
                format!(
                    "report applications where job.title = \"{title}\" where id > {}",
                    lit(&f[0])
                )
            }
        };
        let fills = [Fill::Text("a_1".into())];
        let templates = Templates::new(3);
        let come = |title: &str| {
            let render = shape(title.to_owned());
            templates
                .compile(&render, &fills, &catalog, Dialect::Sqlite, &OrgScope)
                .unwrap();
        };
        for t in ["hot", "b", "c"] {
            come(t);
            come(t);
        }
        come("hot");
        come("d");
        let kept = |title: &str| {
            let render = shape(title.to_owned());
            let key = (
                catalog.version(),
                Dialect::Sqlite,
                render(&[fills[0].stand_in(0, 0)]),
                OrgScope.cache_key(),
            );
            templates.shapes.lock().unwrap().lru.peek(&key).is_some()
        };
        assert_eq!(templates.size().0, 3);
        assert!(kept("hot") && kept("c") && kept("d") && !kept("b"));
        // A long text is compiled, never kept.
        let long = "x".repeat(MAX_TEXT);
        for _ in 0..3 {
            come(&long);
        }
        assert!(!kept(&long));
        // Bytes: a cache of 4 KB holds a few small shapes, however many come.
        let small = Templates::bounded(1000, 4096);
        for n in 0..100 {
            let render = shape(format!("title {n}"));
            small
                .compile(&render, &fills, &catalog, Dialect::Sqlite, &OrgScope)
                .unwrap();
        }
        let (n, bytes) = small.size();
        assert!(n < 30 && bytes <= 4096, "{n} shapes, {bytes} bytes");
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
        assert!(templates.shapes.lock().unwrap().lru.is_empty());
    }
}
