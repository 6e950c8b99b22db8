//! The guard hook: row filters at every table reference and row-dependent field masks, placed by
//! the compiler for a test policy. Snapshots (both dialects) live in `tests/snapshots/` like the
//! others (`INSTA_UPDATE=always cargo test -p query-compiler --test guard` after an intended
//! change); the assertions below hold the placement rules independently of the snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use query_compiler::sql::{Select, SqlExpr, TableSource};
use query_compiler::{
    Cache, Compiled, Dialect, EntityId, FieldGroup, Guard, GuardKind, Guarded, MemoryCatalog,
    OrgScope, Visibility, compile,
};
use std::collections::HashMap;

/// A policy as the policy engine would hand it to the compiler.
#[derive(Default)]
struct TestGuard {
    rows: HashMap<EntityId, Visibility>,
    fields: HashMap<(EntityId, FieldGroup), Visibility>,
    key: Option<String>,
    /// References along which the test policy says visible rows reach visible entities.
    implied: Vec<(EntityId, &'static str)>,
}

impl Guard for TestGuard {
    fn rows(&self, entity: EntityId) -> Visibility {
        self.rows.get(&entity).cloned().unwrap_or(Visibility::All)
    }
    fn fields(&self, entity: EntityId, group: FieldGroup) -> Visibility {
        self.fields
            .get(&(entity, group))
            .cloned()
            .unwrap_or(Visibility::All)
    }
    fn cache_key(&self) -> Option<String> {
        self.key.clone()
    }
    fn implied(&self, from: EntityId, column: &str) -> bool {
        self.implied.iter().any(|(e, c)| *e == from && *c == column)
    }
}

fn row(c: &'static str) -> SqlExpr {
    SqlExpr::RowColumn(c)
}

fn eq(a: SqlExpr, b: SqlExpr) -> SqlExpr {
    SqlExpr::eq(a, b)
}

/// `jobs.confidential = FALSE`.
fn open_jobs() -> Visibility {
    Visibility::Rows(eq(row("confidential"), SqlExpr::Bool(false)))
}

/// Applications of non-confidential jobs, through an uncorrelated subquery.
fn applications_of_open_jobs() -> Visibility {
    let z = "z1".to_owned();
    Visibility::Rows(SqlExpr::InSelect(
        Box::new(row("job_id")),
        Box::new(Select {
            columns: vec![(SqlExpr::col(&z, "id"), "id".into())],
            from: Some((TableSource::Table("jobs"), z.clone().into())),
            filter: Some(SqlExpr::and(
                eq(SqlExpr::col(&z, "org_id"), SqlExpr::Org),
                eq(SqlExpr::col(&z, "confidential"), SqlExpr::Bool(false)),
            )),
            ..Default::default()
        }),
        false,
    ))
}

/// Compensation seen on accepted offers only (a policy text value, with a quote to escape).
fn accepted_offers() -> Visibility {
    Visibility::Rows(SqlExpr::bin(
        "OR",
        eq(row("status"), SqlExpr::Text("accepted".into())),
        eq(row("equity"), SqlExpr::Text("it's none".into())),
    ))
}

/// The test policy: confidential jobs and their applications hidden, compensation on accepted
/// offers only, candidates' contact details hidden, sensitive custom fields on hired
/// candidates' ... own rows only where `id <> ''` (a row-dependent mask).
fn policy() -> TestGuard {
    let mut g = TestGuard {
        key: Some("policy".into()),
        ..Default::default()
    };
    g.rows.insert(EntityId::Jobs, open_jobs());
    g.rows
        .insert(EntityId::Applications, applications_of_open_jobs());
    g.fields.insert(
        (EntityId::Offers, FieldGroup::Compensation),
        accepted_offers(),
    );
    g.fields.insert(
        (EntityId::Candidates, FieldGroup::ContactDetails),
        Visibility::None,
    );
    g.fields.insert(
        (EntityId::Candidates, FieldGroup::SensitiveCustom),
        Visibility::Rows(SqlExpr::bin("<>", row("id"), SqlExpr::Text(String::new()))),
    );
    g
}

/// Reports compiled under [`policy`]: (snapshot name, report text).
const UNDER_POLICY: &[(&str, &str)] = &[
    (
        "subject_filter",
        "report jobs where status = \"open\" show title order by title",
    ),
    (
        "to_one_join_becomes_left",
        "report interviews show id, application.status, application.job.title",
    ),
    (
        "lookup_join_filtered",
        "report applications group by job.title as job show count() as n",
    ),
    (
        "to_many_through_filtered_intermediate",
        "report jobs group by department.name as department \
         show count(applications.interviews) as interviews, \
         count(applications.feedback) as scorecards",
    ),
    (
        "to_many_family_not_decomposable",
        "report departments show count(jobs.applications where status = \"hired\") as hires, \
         count(distinct jobs.applications.candidate) as people",
    ),
    (
        "masks_where_group_aggregate",
        "report offers where salary > 100000 group by salary_period as period \
         show sum(salary) as total, median(bonus) as mid, count(distinct equity) as kinds \
         order by total desc",
    ),
    (
        "masks_current_offer_rows",
        "report applications show id, current_offer.salary, current_offer.current",
    ),
    (
        "masks_contact_and_sensitive_custom",
        "report candidates where custom.visa_sponsorship = true show name, email",
    ),
    (
        "count_distinct_filtered_key",
        "report interviews group by status show count(distinct application.job) as jobs",
    ),
    (
        "reached_on_filtered_applications",
        "report jobs show count(applications where reached(\"Onsite\")) as onsite, \
         count(applications where reached(kind(\"offer\"))) as offers",
    ),
];

fn compile_with(text: &str, dialect: Dialect, guard: &dyn Guard, name: &str) -> Compiled {
    match compile(text, &MemoryCatalog::example(), dialect, guard) {
        Ok(c) => c,
        Err(d) => panic!("{name} does not compile:\n{}", d.render(text, name)),
    }
}

fn describe(c: &Compiled) -> String {
    let mut out = format!("{}\n\n-- parameters\n", c.sql);
    for (i, p) in c.params.iter().enumerate() {
        out.push_str(&format!(
            "{} = {}\n",
            i + 2,
            serde_json::to_string(p).unwrap()
        ));
    }
    out.push_str(&format!(
        "-- guarded: {}\n",
        serde_json::to_string(&c.guarded).unwrap()
    ));
    out
}

fn both(text: &str, guard: &dyn Guard, name: &str) -> String {
    let mut out = format!("{}\n", text.trim_end());
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        let c = compile_with(text, dialect, guard, name);
        assert!(!c.sql.contains("\"row\"."), "{name}: an unbound row column");
        out.push_str(&format!("\n== {}\n{}", dialect.name(), describe(&c)));
    }
    out
}

#[test]
fn snapshots_under_a_policy() {
    let guard = policy();
    for (name, text) in UNDER_POLICY {
        insta::assert_snapshot!(name.to_string(), both(text, &guard, name));
    }
}

#[test]
fn snapshots_with_nothing_visible() {
    let mut joined = policy();
    joined.rows.insert(EntityId::Sources, Visibility::None);
    insta::assert_snapshot!(
        "none_for_a_joined_entity",
        both(
            "report applications group by source.kind as source show count() as n",
            &joined,
            "none_joined"
        )
    );
    let mut subject = TestGuard::default();
    subject.rows.insert(EntityId::Offers, Visibility::None);
    insta::assert_snapshot!(
        "none_for_the_subject",
        both(
            "report offers group by status show count() as n",
            &subject,
            "none_subject"
        )
    );
}

/// Every standard report compiles under the policy, binds every row column, and under a guard
/// that sees everything is byte-identical to [`OrgScope`].
#[test]
fn standard_reports_under_guards() {
    let everything = TestGuard::default();
    let guard = policy();
    for (name, text) in query_compiler::library::STANDARD {
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            let plain = compile_with(text, dialect, &OrgScope, name);
            assert!(plain.guarded.is_empty());
            assert_eq!(compile_with(text, dialect, &everything, name), plain);
            let c = compile_with(text, dialect, &guard, name);
            assert!(!c.sql.contains("\"row\"."), "{name}");
            // Every reference to jobs and applications carries its filter: one filter per
            // reference, counted in the text.
            for (table, mark) in [
                ("jobs", "\"confidential\" = FALSE"),
                ("applications", "\"job_id\" IN ("),
            ] {
                let refs = c.sql.matches(&format!("\"{table}\" AS ")).count();
                // The applications filter's subquery reads jobs itself, with its own filter.
                let inner = if table == "jobs" {
                    c.sql.matches("\"job_id\" IN (").count()
                } else {
                    0
                };
                let filters = c.sql.matches(mark).count();
                // Rows below an application that store its job also carry the applications'
                // filter (on their `job_id`) where they stand for their application
                // (`catalog::STORED_KEYS`): for applications, at least one filter per reference.
                let enough = if table == "applications" {
                    filters >= refs
                } else {
                    filters == refs
                };
                assert!(
                    enough,
                    "{name} on {}: {refs} references to {table} but {filters} filters ({inner} \
                     from subqueries)\n{}",
                    dialect.name(),
                    c.sql
                );
            }
        }
    }
}

#[test]
fn a_required_reference_to_a_filtered_entity_is_a_left_join() {
    let text = "report interviews show id, application.status";
    let plain = compile_with(text, Dialect::Sqlite, &OrgScope, "plain");
    assert!(
        plain.sql.contains("\nJOIN \"applications\""),
        "{}",
        plain.sql
    );
    let c = compile_with(text, Dialect::Sqlite, &policy(), "guarded");
    assert!(c.sql.contains("LEFT JOIN \"applications\""), "{}", c.sql);
    assert!(!c.sql.contains("\nJOIN \"applications\""), "{}", c.sql);
}

#[test]
fn shortcuts_are_taken_only_when_the_skipped_rows_are_all_visible() {
    let text = "report jobs show count(applications.interviews) as interviews";
    // Under OrgScope an interview reaches its job through its stage, not its application.
    let plain = compile_with(text, Dialect::Sqlite, &OrgScope, "plain");
    assert!(plain.sql.contains("\"stages\""), "{}", plain.sql);
    assert!(!plain.sql.contains("\"applications\""), "{}", plain.sql);
    // Applications filtered by something else than their job: through the application,
    // filtered.
    let mut by_status = TestGuard::default();
    by_status.rows.insert(
        EntityId::Applications,
        Visibility::Rows(eq(row("status"), SqlExpr::Text("active".into()))),
    );
    let c = compile_with(text, Dialect::Sqlite, &by_status, "guarded");
    assert!(!c.sql.contains("\"stages\""), "{}", c.sql);
    assert!(c.sql.contains("\"applications\""), "{}", c.sql);
    // Applications filtered by their job alone: the job the interview stores, with the
    // applications' filter applied to it; no application is read.
    let k = compile_with(text, Dialect::Sqlite, &policy(), "stored key");
    assert!(!k.sql.contains("\"stages\""), "{}", k.sql);
    assert!(!k.sql.contains("\"applications\""), "{}", k.sql);
    assert!(k.sql.contains("= \"c1\".\"job_id\""), "{}", k.sql);
    // Only jobs filtered (the subject): the shortcut stays.
    let mut jobs_only = TestGuard::default();
    jobs_only.rows.insert(EntityId::Jobs, open_jobs());
    let j = compile_with(text, Dialect::Sqlite, &jobs_only, "jobs only");
    assert!(j.sql.contains("\"stages\""), "{}", j.sql);
    // Stages filtered: the shortcut would pass through them, so the walk is taken instead.
    let mut stages = TestGuard::default();
    stages.rows.insert(
        EntityId::Stages,
        Visibility::Rows(eq(row("position"), SqlExpr::Int(1))),
    );
    let s = compile_with(text, Dialect::Sqlite, &stages, "stages");
    assert!(!s.sql.contains("\"stages\""), "{}", s.sql);
    assert!(s.sql.contains("\"applications\""), "{}", s.sql);
}

/// How a statement restricts the rows of `entity` (`None`: not at all).
fn row_guard(c: &Compiled, entity: EntityId) -> Option<GuardKind> {
    c.guarded
        .iter()
        .find(|g| g.entity == entity && g.group.is_none())
        .map(|g| g.visibility)
}

#[test]
fn a_reference_the_guard_proves_visible_is_joined_without_a_second_filter() {
    let text = "report interviews show id, application.status, application.candidate.email";
    let mut guard = policy();
    let filtered = compile_with(text, Dialect::Sqlite, &guard, "filtered");
    assert!(
        filtered.sql.contains("LEFT JOIN \"applications\""),
        "{}",
        filtered.sql
    );
    // Interviews the viewer sees belong to applications they see, and those to candidates they
    // see: inner joins with no filter, still listed as restricted; the mask stays.
    guard.implied = vec![
        (EntityId::Interviews, "application_id"),
        (EntityId::Applications, "candidate_id"),
    ];
    guard.rows.insert(
        EntityId::Interviews,
        Visibility::Rows(eq(row("status"), SqlExpr::Text("scheduled".into()))),
    );
    guard.rows.insert(
        EntityId::Candidates,
        Visibility::Rows(eq(row("name"), SqlExpr::Text("x".into()))),
    );
    let c = compile_with(text, Dialect::Sqlite, &guard, "implied");
    assert!(c.sql.contains("\nJOIN \"applications\""), "{}", c.sql);
    assert!(c.sql.contains("\nJOIN \"candidates\""), "{}", c.sql);
    assert!(!c.sql.contains("\"name\" = 'x'"), "{}", c.sql);
    assert!(
        c.sql.contains("CASE WHEN"),
        "the contact mask stays: {}",
        c.sql
    );
    for entity in [EntityId::Applications, EntityId::Candidates] {
        assert_eq!(
            row_guard(&c, entity),
            Some(GuardKind::Implied),
            "{entity:?}"
        );
    }
    // The interviews' own filter is placed as before.
    assert_eq!(row_guard(&c, EntityId::Interviews), Some(GuardKind::Rows));
    // Reached from a row that the guard proves nothing about, the filter is placed.
    let from_offers = compile_with(
        "report offers show id, application.candidate.name",
        Dialect::Sqlite,
        &guard,
        "offers",
    );
    assert!(
        from_offers.sql.contains("LEFT JOIN \"applications\""),
        "{}",
        from_offers.sql
    );
    // An entity hidden altogether stays hidden, whatever the guard proves.
    guard.rows.insert(EntityId::Candidates, Visibility::None);
    let none = compile_with(text, Dialect::Sqlite, &guard, "none");
    assert!(
        none.sql.contains("LEFT JOIN \"candidates\""),
        "{}",
        none.sql
    );
    assert!(
        none.sql.contains("FALSE") || none.sql.contains("0"),
        "{}",
        none.sql
    );
}

#[test]
fn a_proved_reference_names_its_target_by_the_foreign_key() {
    let text = "report interviews show count(distinct application) as n";
    let mut guard = policy();
    let filtered = compile_with(text, Dialect::Sqlite, &guard, "filtered");
    assert!(
        filtered.sql.contains("\"applications\""),
        "{}",
        filtered.sql
    );
    guard.implied = vec![(EntityId::Interviews, "application_id")];
    let c = compile_with(text, Dialect::Sqlite, &guard, "implied");
    assert!(!c.sql.contains("\"applications\""), "{}", c.sql);
    assert!(c.sql.contains("\"s\".\"application_id\""), "{}", c.sql);
    // Through two references the stored key (`interviews.job_id`) names the job: filtered,
    // the job is joined by it with the job's filter; proved visible, it is read as it is.
    let text = "report interviews show count(distinct application.job) as n";
    let stored = compile_with(text, Dialect::Sqlite, &guard, "stored");
    assert!(stored.sql.contains("LEFT JOIN \"jobs\""), "{}", stored.sql);
    assert!(stored.sql.contains("= \"s\".\"job_id\""), "{}", stored.sql);
    guard.implied.push((EntityId::Applications, "job_id"));
    let c = compile_with(text, Dialect::Sqlite, &guard, "stored, implied");
    assert!(!c.sql.contains("\"jobs\""), "{}", c.sql);
    assert!(!c.sql.contains("\"applications\""), "{}", c.sql);
    assert!(
        c.sql.contains("count(DISTINCT \"s\".\"job_id\")"),
        "{}",
        c.sql
    );
    assert_eq!(row_guard(&c, EntityId::Jobs), Some(GuardKind::Implied));
}

#[test]
fn masks_apply_at_row_level_everywhere_a_field_is_read() {
    let text = "report offers where salary > 100000 group by salary_period \
                show sum(salary) as total order by total desc";
    let c = compile_with(text, Dialect::Postgres, &policy(), "masks");
    // where, group key, aggregate: three masked reads (group keys appear as column and GROUP BY).
    let masked = c
        .sql
        .matches("CASE WHEN (\"s\".\"status\" = 'accepted')")
        .count();
    assert!(masked >= 4, "{masked}\n{}", c.sql);
    assert!(c.sql.contains("'it''s none'"), "{}", c.sql);
    assert!(!c.sql.contains("\"s\".\"salary_amount\" >"), "{}", c.sql);
    // A hidden group reads as a NULL of its own type (never the value).
    let n = compile_with(
        "report candidates show name, email",
        Dialect::Sqlite,
        &policy(),
        "contact",
    );
    assert!(
        n.sql
            .contains("CASE WHEN FALSE THEN \"s\".\"email\" END AS \"email\""),
        "{}",
        n.sql
    );
}

#[test]
fn guarded_lists_each_restriction_once_in_first_use_order() {
    let c = compile_with(
        "report applications where current_offer.salary > 1 show id, candidate.email",
        Dialect::Sqlite,
        &policy(),
        "guarded",
    );
    assert_eq!(
        c.guarded,
        vec![
            Guarded {
                entity: EntityId::Applications,
                group: None,
                visibility: GuardKind::Rows
            },
            Guarded {
                entity: EntityId::Offers,
                group: Some(FieldGroup::Compensation),
                visibility: GuardKind::Rows
            },
            Guarded {
                entity: EntityId::Candidates,
                group: Some(FieldGroup::ContactDetails),
                visibility: GuardKind::None
            },
        ]
    );
    let json = serde_json::to_string(&c.guarded[2]).unwrap();
    assert_eq!(
        json,
        r#"{"entity":"candidates","group":"contact_details","visibility":"none"}"#
    );
}

#[test]
fn a_predicate_with_a_report_parameter_hides_everything() {
    let mut g = TestGuard::default();
    g.rows.insert(
        EntityId::Jobs,
        Visibility::Rows(eq(
            row("title"),
            SqlExpr::Param(
                query_compiler::ir::ParamId(0),
                query_compiler::sql::ParamType::Text,
            ),
        )),
    );
    let c = compile_with("report jobs show title", Dialect::Sqlite, &g, "param");
    assert!(c.sql.contains("AND FALSE"), "{}", c.sql);
    assert_eq!(c.guarded[0].visibility, GuardKind::None);
}

#[test]
fn the_cache_keys_on_the_guard() {
    let cache = Cache::new(16);
    let text = "report jobs show title";
    let catalog = MemoryCatalog::example();
    let plain = cache
        .compile(text, &catalog, Dialect::Sqlite, &OrgScope)
        .unwrap();
    let keyed = cache
        .compile(text, &catalog, Dialect::Sqlite, &policy())
        .unwrap();
    assert_ne!(plain.sql, keyed.sql);
    let again = cache
        .compile(text, &catalog, Dialect::Sqlite, &policy())
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(&keyed, &again));
    // A guard that sees everything but has no key shares OrgScope's entry.
    let everything = TestGuard::default();
    let same = cache
        .compile(text, &catalog, Dialect::Sqlite, &everything)
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(&plain, &same));
    // A restricting guard without a key is never served a cached statement, nor cached.
    let mut unkeyed = policy();
    unkeyed.key = None;
    let u = cache
        .compile(text, &catalog, Dialect::Sqlite, &unkeyed)
        .unwrap();
    assert_eq!(u.sql, keyed.sql);
    assert!(!std::sync::Arc::ptr_eq(&u, &keyed));
    let plain_again = cache
        .compile(text, &catalog, Dialect::Sqlite, &OrgScope)
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(&plain, &plain_again));
}

/// Every standard and guard report compiled under the policy (and under one whose masks hold
/// subqueries, and one that hides archived applications) is valid SQL for SQLite: each statement
/// runs on an empty in-memory database migrated by the store's migrations (through `rusqlite`, a
/// dev-dependency; `crates/store/tests` run reports on both databases, with data and the store's
/// own SQL functions). The statements
/// of both dialects are written to `DIR/<name>.<guard>.<dialect>.sql`, with
/// `HP_GUARD_SQL_DUMP=DIR`, to run against a database by hand (else to a temporary folder).
#[test]
fn dump_for_databases() {
    let temporary = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("HP_GUARD_SQL_DUMP")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temporary.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let db = migrated_sqlite();
    let mut ran = 0;
    let mut deep = policy();
    let Visibility::Rows(p) = applications_of_open_jobs() else {
        unreachable!()
    };
    // Compensation seen on offers of applications of open jobs (a mask with a subquery).
    let z = "z2".to_owned();
    deep.fields.insert(
        (EntityId::Offers, FieldGroup::Compensation),
        Visibility::Rows(SqlExpr::InSelect(
            Box::new(row("application_id")),
            Box::new(Select {
                columns: vec![(SqlExpr::col(&z, "id"), "id".into())],
                from: Some((TableSource::Table("applications"), z.clone().into())),
                filter: Some(SqlExpr::and(
                    eq(SqlExpr::col(&z, "org_id"), SqlExpr::Org),
                    query_compiler::sql::bind_row(&p, &z),
                )),
                ..Default::default()
            }),
            false,
        )),
    );
    let mut archived = TestGuard::default();
    archived.rows.insert(EntityId::Jobs, open_jobs());
    archived.rows.insert(
        EntityId::Applications,
        Visibility::Rows(SqlExpr::bin(
            "<>",
            row("status"),
            SqlExpr::Text("archived".into()),
        )),
    );
    let reports = query_compiler::library::STANDARD
        .iter()
        .chain(UNDER_POLICY)
        .map(|(n, t)| (n.to_string(), *t))
        .chain([
            (
                "total_interviews".to_string(),
                "report jobs show count(applications.interviews) as n",
            ),
            (
                "interview_rows".to_string(),
                "report interviews show id, application.status, application.job.title order by id",
            ),
        ]);
    for (name, text) in reports {
        for (label, guard) in [
            ("policy", &policy()),
            ("deep", &deep),
            ("archived", &archived),
        ] {
            for dialect in [Dialect::Postgres, Dialect::Sqlite] {
                let c = compile_with(text, dialect, guard, &name);
                let file = dir.join(format!("{name}.{label}.{}.sql", dialect.name()));
                std::fs::write(file, format!("{};\n", c.sql)).unwrap();
                if dialect == Dialect::Sqlite {
                    run_on_sqlite(&db, &c, &format!("{name} under {label}"));
                    ran += 1;
                }
            }
        }
    }
    assert!(ran >= 3 * query_compiler::library::STANDARD.len(), "{ran}");
}

/// An empty in-memory SQLite database with the store's schema (every migration, in order) and
/// stand-ins for the SQL functions the store registers on its connections (`store::report`):
/// same names and arities, never called on an empty database.
fn migrated_sqlite() -> rusqlite::Connection {
    use rusqlite::functions::{Aggregate, Context, FunctionFlags};
    struct Percentile;
    impl Aggregate<(), Option<f64>> for Percentile {
        fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<()> {
            Ok(())
        }
        fn step(&self, _: &mut Context<'_>, _: &mut ()) -> rusqlite::Result<()> {
            Ok(())
        }
        fn finalize(&self, _: &mut Context<'_>, _: Option<()>) -> rusqlite::Result<Option<f64>> {
            Ok(None)
        }
    }
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let null = |_: &mut Context<'_>| Ok(rusqlite::types::Value::Null);
    for (name, arity) in [
        ("hp_round", 2),
        ("hp_bucket", 2),
        ("hp_bucket", 3),
        ("hp_lower", 1),
        ("hp_record_key", 2),
    ] {
        db.create_scalar_function(name, arity, flags, null).unwrap();
    }
    db.create_aggregate_function("hp_percentile", 2, flags, Percentile)
        .unwrap();
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../store/migrations/sqlite");
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no migrations in `{folder}`");
    for file in files {
        db.execute_batch(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("migration `{}`: {e}", file.display()));
    }
    db
}

/// Prepares and runs `c` on `db` for org `o` (the report's own parameters left NULL): SQLite
/// accepts it, with every table and column it names.
fn run_on_sqlite(db: &rusqlite::Connection, c: &Compiled, what: &str) {
    let mut statement = db
        .prepare(&c.sql)
        .unwrap_or_else(|e| panic!("{what}: SQLite refuses the statement: {e}\n{}", c.sql));
    statement.raw_bind_parameter(1, "o").unwrap();
    let mut rows = statement.raw_query();
    while rows
        .next()
        .unwrap_or_else(|e| panic!("{what}: {e}\n{}", c.sql))
        .is_some()
    {}
}

/// A report split by demographics counts, in its hidden last column, the distinct candidates the
/// viewer sees: the key of the filtered candidates join, not the applications' foreign key; and
/// demographics hidden from the viewer read as NULL (one more cell, suppressed like any other).
#[test]
fn hidden_candidates_count_only_visible_candidates() {
    let mut guard = TestGuard::default();
    guard.rows.insert(
        EntityId::Candidates,
        Visibility::Rows(eq(row("location"), SqlExpr::Text("Berlin".into()))),
    );
    guard.fields.insert(
        (EntityId::Demographics, FieldGroup::Demographics),
        Visibility::None,
    );
    let text = "report applications group by candidate.demographics.gender as gender \
                show count(distinct candidate) as candidates";
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        let c = compile_with(text, dialect, &guard, "hidden candidates");
        let s = c.suppression.clone().unwrap();
        assert_eq!(s.candidates_column, c.columns.len());
        assert_eq!(s.demographic_keys, vec![0]);
        assert!(
            c.sql.contains("\"t1\".\"id\" AS \"id\""),
            "the visible candidates' key: {}",
            c.sql
        );
        assert!(!c.sql.contains("\"candidate_id\") AS \"m"), "{}", c.sql);
        assert!(c.sql.contains("AS \"#candidates0\""), "{}", c.sql);
        assert!(
            c.sql
                .contains("CASE WHEN FALSE THEN \"t2\".\"gender\" END AS \"d0\""),
            "{}",
            c.sql
        );
    }
}

/// A guard whose page form is told apart from its whole-report form.
struct PageMarked;

impl Guard for PageMarked {
    fn rows(&self, entity: EntityId) -> Visibility {
        match entity {
            EntityId::Candidates => {
                Visibility::Rows(eq(row("name"), SqlExpr::Text("whole".into())))
            }
            _ => Visibility::All,
        }
    }
    fn fields(&self, _: EntityId, _: FieldGroup) -> Visibility {
        Visibility::All
    }
    fn rows_in_page(&self, entity: EntityId) -> Visibility {
        match entity {
            EntityId::Candidates => Visibility::Rows(eq(row("name"), SqlExpr::Text("page".into()))),
            _ => Visibility::All,
        }
    }
}

#[test]
fn pages_in_key_order_get_the_guards_page_form() {
    let form = |text: &str| {
        let sql = compile_with(text, Dialect::Postgres, &PageMarked, "page form").sql;
        match (sql.contains("'page'"), sql.contains("'whole'")) {
            (true, false) => "page",
            (false, true) => "whole",
            other => panic!("{text}: {other:?}\n{sql}"),
        }
    };
    // The API's list: rows in key order after a cursor, a limit.
    assert_eq!(
        form("report applications where id > \"a\" show id, candidate.name order by id limit 51"),
        "page"
    );
    assert_eq!(form("report candidates show id, name limit 10"), "page");
    // Anything that reads every row first: no limit, a large one, another order, aggregates.
    for text in [
        "report applications show id, candidate.name order by id",
        "report applications show id, candidate.name order by id limit 5000",
        "report applications show id, candidate.name order by applied_at limit 10",
        "report applications group by candidate.name show count() limit 10",
    ] {
        assert_eq!(form(text), "whole", "{text}");
    }
}

/// `x IN (SELECT column FROM table z WHERE z.user_id = 'u')`.
fn member(x: &'static str, table: &'static str, column: &'static str) -> SqlExpr {
    SqlExpr::InSelect(
        Box::new(row(x)),
        Box::new(Select {
            columns: vec![(SqlExpr::col("z", column), "k".into())],
            from: Some((TableSource::Table(table), "z".into())),
            filter: Some(eq(SqlExpr::col("z", "user_id"), SqlExpr::Text("u".into()))),
            ..Default::default()
        }),
        false,
    )
}

/// Applications filtered by `page` in a page, by `status <> 'archived'` otherwise.
struct PageFilter(SqlExpr);

impl Guard for PageFilter {
    fn rows(&self, entity: EntityId) -> Visibility {
        match entity {
            EntityId::Applications => Visibility::Rows(SqlExpr::bin(
                "<>",
                row("status"),
                SqlExpr::Text("archived".into()),
            )),
            _ => Visibility::All,
        }
    }
    fn fields(&self, _: EntityId, _: FieldGroup) -> Visibility {
        Visibility::All
    }
    fn rows_in_page(&self, entity: EntityId) -> Visibility {
        match entity {
            EntityId::Applications | EntityId::Interviews => Visibility::Rows(self.0.clone()),
            _ => Visibility::All,
        }
    }
}

#[test]
fn a_page_filtered_by_a_disjunction_of_sets_is_driven_from_the_sets() {
    // A hiring manager's: their jobs' applications or those they interview for.
    let jobs = member("job_id", "hiring_team", "job_id");
    let interviewed = member("id", "interview_participants", "application_id");
    let either = SqlExpr::bin("OR", jobs.clone(), interviewed.clone());
    let page =
        "report applications where id > \"a_5\" show id, candidate.name order by id limit 51";
    let c = compile_with(
        page,
        Dialect::Postgres,
        &PageFilter(either.clone()),
        "driven",
    );
    // One branch per set: each member's first 51 visible rows after the cursor in key order,
    // joined LATERAL to the set's rows; the first 51 keys of the branches together an index
    // condition of the statement, which keeps its filter and its `where`.
    assert_eq!(c.sql.matches("JOIN LATERAL (").count(), 2, "{}", c.sql);
    assert!(
        c.sql
            .contains("AND (\"s\".\"id\" = ANY(ARRAY((SELECT \"pk\".\"id\" AS \"id\""),
        "{}",
        c.sql
    );
    assert_eq!(c.sql.matches("UNION ALL").count(), 1, "{}", c.sql);
    assert!(
        c.sql.contains("GROUP BY \"pk\".\"id\"\n    ORDER BY \"pk\".\"id\" COLLATE \"C\" ASC NULLS LAST\n    LIMIT 51"),
        "{}",
        c.sql
    );
    assert!(
        c.sql.contains("(\"pb\".\"job_id\" = \"z\".\"job_id\")"),
        "{}",
        c.sql
    );
    // The set of the key itself: its members in key order, each once, from the cursor on (the
    // `where`'s condition on the key applied to the members), each one's row probed, up to the
    // limit.
    assert!(
        c.sql
            .contains("GROUP BY \"z\".\"application_id\"\n        ) AS \"pz1\""),
        "{}",
        c.sql
    );
    assert!(
        c.sql.contains("(\"pb\".\"id\" = \"pz1\".\"id\")"),
        "{}",
        c.sql
    );
    assert!(
        c.sql.contains(
            "WHERE (\"pz1\".\"id\" COLLATE \"C\") > $2::text\n        ORDER BY \"pz1\".\"id\" COLLATE \"C\" ASC NULLS LAST\n        LIMIT 51"
        ),
        "{}",
        c.sql
    );
    // Inside: the cursor, bound to the same parameter as the statement's, the order and limit;
    // the disjunction itself is what each branch's set makes true.
    assert_eq!(
        c.sql
            .matches("(\"pb\".\"id\" COLLATE \"C\") > $2::text")
            .count(),
        2,
        "{}",
        c.sql
    );
    assert_eq!(
        c.sql
            .matches("(\"s\".\"id\" COLLATE \"C\") > $2::text")
            .count(),
        1,
        "{}",
        c.sql
    );
    assert_eq!(c.sql.matches("LIMIT 51").count(), 4, "{}", c.sql);
    // The filter is not tested again: every key found passes it (the branch's set makes the
    // disjunction true), and it is still listed as placed.
    assert!(!c.sql.contains("\"job_id\" IN (SELECT"), "{}", c.sql);
    assert_eq!(
        c.guarded
            .iter()
            .find(|g| g.entity == EntityId::Applications)
            .map(|g| g.visibility),
        Some(GuardKind::Rows)
    );
    assert!(
        c.sql
            .contains("ORDER BY \"pb\".\"id\" COLLATE \"C\" ASC NULLS LAST"),
        "{}",
        c.sql
    );
    assert_eq!(c.params.len(), 1);
    // Newest first: the branches in the same order.
    let desc = "report applications where id < \"a_5\" show id order by id desc limit 20";
    let c = compile_with(desc, Dialect::Postgres, &PageFilter(either.clone()), "desc");
    for order in [
        "ORDER BY \"pb\".\"id\" COLLATE \"C\" DESC NULLS FIRST",
        "WHERE (\"pz1\".\"id\" COLLATE \"C\") < $2::text\n        ORDER BY \"pz1\".\"id\" COLLATE \"C\" DESC NULLS FIRST\n        LIMIT 20",
    ] {
        assert_eq!(c.sql.matches(order).count(), 1, "{}", c.sql);
    }
    // A `where` of the key and another column: only the key's condition reaches the members,
    // the whole `where` the rows probed.
    let status = "report applications where id > \"a_5\" and status = \"active\" show id order by id limit 51";
    let c = compile_with(
        status,
        Dialect::Postgres,
        &PageFilter(either.clone()),
        "status",
    );
    assert!(
        c.sql
            .contains("WHERE (\"pz1\".\"id\" COLLATE \"C\") > $2::text\n        ORDER BY"),
        "{}",
        c.sql
    );
    assert!(!c.sql.contains("\"pz1\".\"status\""), "{}", c.sql);
    assert_eq!(
        c.sql.matches("(\"pb\".\"status\" = $3::text)").count(),
        2,
        "{}",
        c.sql
    );
    // A disjunction under another condition: driven, the whole filter in each branch.
    let archived = SqlExpr::bin("<>", row("status"), SqlExpr::Text("archived".into()));
    let both = SqlExpr::bin("AND", archived, either.clone());
    let c = compile_with(page, Dialect::Postgres, &PageFilter(both), "and");
    assert_eq!(c.sql.matches("JOIN LATERAL (").count(), 2, "{}", c.sql);
    assert_eq!(
        c.sql.matches("(\"pb\".\"status\" <> 'archived')").count(),
        2,
        "{}",
        c.sql
    );
    assert!(!c.sql.contains("\"s\".\"status\" <>"), "{}", c.sql);
    // Not driven: one set (already an index condition), a set under NOT, SQLite, a whole
    // report, a `where` that reads another table.
    let negated = SqlExpr::bin("OR", SqlExpr::Not(Box::new(jobs.clone())), interviewed);
    for (text, filter, dialect) in [
        (page, jobs, Dialect::Postgres),
        (page, negated, Dialect::Postgres),
        (page, either.clone(), Dialect::Sqlite),
        (
            "report applications show id order by id",
            either.clone(),
            Dialect::Postgres,
        ),
        (
            "report applications where candidate.name = \"x\" show id order by id limit 51",
            either.clone(),
            Dialect::Postgres,
        ),
        // Interviews have no index of (job_id, id): each job would walk the key index.
        (
            "report interviews where id > \"i\" show id order by id limit 51",
            either,
            Dialect::Postgres,
        ),
    ] {
        let c = compile_with(text, dialect, &PageFilter(filter), "not driven");
        assert!(!c.sql.contains("LATERAL"), "{text}: {}", c.sql);
    }
}
