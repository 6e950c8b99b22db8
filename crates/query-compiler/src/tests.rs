//! Compiler tests that need no database: resolution errors and the SQL's shape.

use super::*;
use crate::catalog::{CustomEntity, CustomFieldType};

pub(crate) fn acme_catalog() -> MemoryCatalog {
    let def = |key: &str, field_type, options: &[&str], sensitive| CustomFieldDef {
        key: key.into(),
        label: key.into(),
        field_type,
        options: options.iter().map(|s| s.to_string()).collect(),
        sensitive,
    };
    MemoryCatalog::new(
        1,
        "America/New_York",
        vec![
            (
                CustomEntity::Candidate,
                def("years_of_experience", CustomFieldType::Number, &[], false),
            ),
            (
                CustomEntity::Candidate,
                def("visa_sponsorship", CustomFieldType::Boolean, &[], true),
            ),
            (
                CustomEntity::Application,
                def(
                    "referral_strength",
                    CustomFieldType::Select,
                    &["weak", "medium", "strong"],
                    false,
                ),
            ),
            (
                CustomEntity::Job,
                def(
                    "level",
                    CustomFieldType::Select,
                    &["L3", "L4", "L5", "L6", "L7"],
                    false,
                ),
            ),
            (
                CustomEntity::Candidate,
                def(
                    "languages",
                    CustomFieldType::MultiSelect,
                    &["English", "Spanish", "German"],
                    false,
                ),
            ),
            (
                CustomEntity::Application,
                def("expected_start", CustomFieldType::Date, &[], false),
            ),
        ],
        [
            "Application Review",
            "Phone Screen",
            "Onsite",
            "Offer",
            "Hired",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    )
}

fn sql(text: &str, dialect: Dialect) -> String {
    match compile(text, &acme_catalog(), dialect, &OrgScope) {
        Ok(c) => c.sql,
        Err(d) => panic!("{}", d.render(text, "<test>")),
    }
}

fn error(text: &str) -> String {
    match compile(text, &acme_catalog(), Dialect::Sqlite, &OrgScope) {
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
            if let Err(d) = compile(text, &acme_catalog(), dialect, &OrgScope) {
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
        .compile(text, &acme_catalog(), Dialect::Sqlite)
        .unwrap();
    let b = cache
        .compile(text, &acme_catalog(), Dialect::Sqlite)
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let pg = cache
        .compile(text, &acme_catalog(), Dialect::Postgres)
        .unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &pg));
    assert!(pg.sql.contains("$1::text"));
    // A new catalog version (a custom field added, say) compiles again.
    let mut newer = acme_catalog();
    newer.version += 1;
    let c = cache.compile(text, &newer, Dialect::Sqlite).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &c));
    assert_eq!(a.sql, c.sql);
    // Errors are not cached as successes.
    assert!(
        cache
            .compile("report nothing", &acme_catalog(), Dialect::Sqlite)
            .is_err()
    );
}
