//! Compiler tests that need no database: resolution errors and the SQL's shape.

use super::*;

fn sql(text: &str, dialect: Dialect) -> String {
    match compile(text, &MemoryCatalog::example(), dialect, &OrgScope) {
        Ok(c) => c.sql,
        Err(d) => panic!("{}", d.render(text, "<test>")),
    }
}

fn error(text: &str) -> String {
    match compile(text, &MemoryCatalog::example(), Dialect::Sqlite, &OrgScope) {
        Ok(c) => panic!("expected an error, got {}", c.sql),
        Err(d) => d.render(text, "<test>"),
    }
}

#[test]
fn prints() {
    for t in [
        "report applications where job.department.name = \"Engineering\" and applied_at in last 90 days group by month(applied_at) as month, source.kind show count() as applicants, count(where status = \"hired\") as hires, hires / applicants as rate order by month",
        "report jobs group by department.name show count(applications) as applications, count(applications.interviews) as interviews, avg(applications.feedback.score) as avg_score",
        "report applications group by job.title funnel \"Application Review\", \"Phone Screen\", kind(\"onsite\"), kind(\"hired\")",
        "report applications where candidate.custom.languages contains \"German\" show candidate.name, job.title, current_offer.salary order by candidate.name limit 5",
    ] {
        println!("{}\n", sql(t, Dialect::Postgres));
        println!("{}\n", sql(t, Dialect::Sqlite));
    }
}

#[test]
fn unknown_fields_suggest_near_names() {
    let e = error("report applications where job.departmnet.name = \"x\"");
    assert!(e.contains("unknown field `departmnet` on jobs"), "{e}");
    assert!(e.contains("did you mean `department`?"), "{e}");
}

#[test]
fn every_standard_report_compiles_on_both_dialects() {
    for (name, text) in library::STANDARD {
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            if let Err(d) = compile(text, &MemoryCatalog::example(), dialect, &OrgScope) {
                panic!("{name}:\n{}", d.render(text, name));
            }
        }
    }
    assert!(library::STANDARD.len() >= 15);
}

#[test]
fn the_cache_is_keyed_by_catalog_version_dialect_and_text() {
    let cache = Cache::new(8);
    let text = "report applications group by status";
    let a = cache
        .compile(text, &MemoryCatalog::example(), Dialect::Sqlite, &OrgScope)
        .unwrap();
    let b = cache
        .compile(text, &MemoryCatalog::example(), Dialect::Sqlite, &OrgScope)
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let pg = cache
        .compile(
            text,
            &MemoryCatalog::example(),
            Dialect::Postgres,
            &OrgScope,
        )
        .unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &pg));
    assert!(pg.sql.contains("$1::text"));
    // A new catalog version (a custom field added, say) compiles again.
    let mut newer = MemoryCatalog::example();
    newer.version += 1;
    let c = cache
        .compile(text, &newer, Dialect::Sqlite, &OrgScope)
        .unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &c));
    assert_eq!(a.sql, c.sql);
    // Errors are not cached as successes.
    assert!(
        cache
            .compile(
                "report nothing",
                &MemoryCatalog::example(),
                Dialect::Sqlite,
                &OrgScope
            )
            .is_err()
    );
}
