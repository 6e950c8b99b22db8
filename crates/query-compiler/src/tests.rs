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

fn resolved(text: &str) -> Ir {
    match parse(text).and_then(|r| resolve(&r, &MemoryCatalog::example())) {
        Ok(ir) => ir,
        Err(d) => panic!("{}", d.render(text, "<test>")),
    }
}

/// The diagnostic of a report that does not compile: its message and the text under its span.
fn refusal(text: &str) -> (String, String, crate::Diagnostic) {
    match compile(text, &MemoryCatalog::example(), Dialect::Sqlite, &OrgScope) {
        Ok(c) => panic!("expected an error, got {}", c.sql),
        Err(d) => (d.message.clone(), text[d.span.range()].to_owned(), d),
    }
}

fn instants(ir: &Ir) -> Vec<i64> {
    ir.params
        .iter()
        .filter_map(|p| match p {
            Param::Instant(i) => Some(*i),
            _ => None,
        })
        .collect()
}

#[test]
fn the_report_zone_replaces_the_orgs() {
    // The example org is in New York; `in zone` governs buckets, ranges and date literals.
    let ir = resolved("report applications group by month(applied_at) as m");
    assert_eq!(ir.time_zone, "America/New_York");
    let ir = resolved(
        "report applications in zone \"utc\" where applied_at = 2025-03-03 group by month(applied_at) as m",
    );
    assert_eq!(ir.time_zone, "UTC", "the database's spelling");
    assert!(ir.params.contains(&Param::Text("UTC".into())));
    assert!(!ir.params.contains(&Param::Text("America/New_York".into())));
    // The whole UTC day, not New York's.
    assert_eq!(
        instants(&ir),
        [1_740_960_000_000_000, 1_741_046_400_000_000]
    );
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        let c = compile(
            "report applications in zone \"Asia/Tokyo\" where applied_at in last 7 days group by week(applied_at)",
            &MemoryCatalog::example(),
            dialect,
            &OrgScope,
        )
        .unwrap();
        assert_eq!(c.time_zone, "Asia/Tokyo");
        assert!(c.params.contains(&Param::Text("Asia/Tokyo".into())));
        // Relative ranges are bound in the report's zone.
        let today: jiff::civil::Date = "2025-06-30".parse().unwrap();
        let bound = bind(&c.params, &c.time_zone, today).unwrap();
        let midnight = |d: &str| {
            d.parse::<jiff::civil::Date>()
                .unwrap()
                .to_zoned_datetime(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap())
                .unwrap()
                .timestamp()
                .as_microsecond()
        };
        assert!(bound.contains(&Bound::Instant(midnight("2025-06-24"))));
        assert!(bound.contains(&Bound::Instant(midnight("2025-07-01"))));
    }
}

#[test]
fn an_unknown_zone_is_refused_at_its_name_with_a_suggestion() {
    let (message, under, d) =
        refusal("report applications in zone \"Europe/Berln\" group by status");
    assert_eq!(message, "unknown time zone `Europe/Berln`");
    assert_eq!(under, "\"Europe/Berln\"");
    assert!(
        d.help.iter().any(|h| h == "did you mean `Europe/Berlin`?"),
        "{d:?}"
    );
    let (message, _, d) = refusal("report applications in zone \"new_york\"");
    assert_eq!(message, "unknown time zone `new_york`");
    assert!(
        d.help
            .iter()
            .any(|h| h == "did you mean `America/New_York`?"),
        "{d:?}"
    );
    // The JSON form is checked the same way (without a span).
    let report =
        query_syntax::from_json(r#"{"subject": "applications", "zone": "Mars/Olympus"}"#).unwrap();
    let d = resolve(&report, &MemoryCatalog::example()).unwrap_err();
    assert_eq!(d.message, "unknown time zone `Mars/Olympus`");
}

#[test]
fn timestamp_literals_are_moments() {
    let ir = resolved(
        "report applications where applied_at >= 2025-01-01T00:00Z and applied_at < 2025-01-01T09:30:00.250+02:00",
    );
    assert_eq!(
        instants(&ir),
        [1_735_689_600_000_000, 1_735_716_600_250_000]
    );
    // A local time is in the report's zone: New York's, or the one named.
    let ir = resolved("report applications where applied_at < 2025-01-01T02:30");
    assert_eq!(instants(&ir), [1_735_716_600_000_000]);
    let ir = resolved("report applications in zone \"UTC\" where applied_at < 2025-01-01T07:30");
    assert_eq!(instants(&ir), [1_735_716_600_000_000]);
    // In the gap of the spring change, moved forward; in the autumn fold, the earlier moment.
    let ir = resolved("report applications where applied_at < 2025-03-09T02:30");
    assert_eq!(instants(&ir), [1_741_505_400_000_000]);
    let ir = resolved("report applications where applied_at < 2025-11-02T01:30");
    assert_eq!(instants(&ir), [1_762_061_400_000_000]);
    // Wherever a date literal goes: between, days_between, coalesce; the JSON form too.
    resolved(
        "report applications where hired_at between 2025-01-01T00:00Z and 2025-02-01 show days_between(applied_at, 2025-06-30T12:00Z) as d, coalesce(hired_at, 2025-01-01T00:00Z) as h",
    );
    let json = r#"{"subject": "applications", "where": [{"kind": "binary", "op": ">=",
        "left": {"kind": "path", "path": ["applied_at"]},
        "right": {"kind": "literal", "value": {"timestamp": "2025-01-01T00:00Z"}}}]}"#;
    let ir = resolve(
        &query_syntax::from_json(json).unwrap(),
        &MemoryCatalog::example(),
    )
    .unwrap();
    assert_eq!(instants(&ir), [1_735_689_600_000_000]);
}

#[test]
fn timestamp_literals_are_refused_where_a_timestamp_is_not_expected() {
    let (message, under, d) =
        refusal("report offers where start_date >= 2025-07-01T00:00Z show id");
    assert_eq!(message, "expected a date, found a timestamp");
    assert_eq!(under, "2025-07-01T00:00Z");
    assert!(d.help.iter().any(|h| h.contains("`2025-07-01`")), "{d:?}");
    let (message, under, _) = refusal("report jobs where headcount > 2025-07-01T00:00Z");
    assert_eq!(message, "expected an integer, found a timestamp");
    assert_eq!(under, "2025-07-01T00:00Z");
    let (message, under, _) =
        refusal("report applications where applied_at < 9999-12-31T23:00-23:00");
    assert_eq!(
        message,
        "timestamp `9999-12-31T23:00-23:00` is outside the supported range"
    );
    assert_eq!(under, "9999-12-31T23:00-23:00");
    // Not in a report over demographics: its filters compare coarse values only, and an
    // exact timestamp is not one.
    let (message, under, _) = refusal(
        "report candidates where created_at < 2025-01-01T00:00Z group by demographics.gender as g",
    );
    assert_eq!(
        message,
        "`created_at` cannot filter a report over demographics: it is an exact timestamp; use `month(created_at)`, `quarter(created_at)` or `year(created_at)`"
    );
    assert_eq!(under, "created_at");
    // Nor as a group key: a comparison with a moment is not a coarse value.
    let text = "report candidates group by created_at < 2025-01-01T00:00Z as before, demographics.gender as g";
    let (message, under, _) = refusal(text);
    assert_eq!(
        message,
        "`created_at < 2025-01-01T00:00Z` cannot be used in a report over demographics: only coarse fields and `month`, `quarter` or `year` of a coarse timestamp are allowed here"
    );
    assert_eq!(under, "created_at < 2025-01-01T00:00Z");
}

#[test]
fn a_report_over_demographics_keeps_the_orgs_zone() {
    let text = "report candidates in zone \"UTC\" group by demographics.gender as g, month(created_at) as m";
    let (message, under, _) = refusal(text);
    assert_eq!(
        message,
        "a report over demographics is counted in the org's time zone (`America/New_York`), not in `UTC`"
    );
    assert_eq!(under, "\"UTC\"");
    let ir = resolved(
        "report candidates in zone \"America/New_York\" group by demographics.gender as g, month(created_at) as m",
    );
    assert!(ir.candidates.is_some());
}

#[test]
fn distinct_aggregates_take_each_related_record_once() {
    let ir = resolved(
        "report applications group by job.title show avg(distinct candidate.custom.years_of_experience) as years, sum(distinct job.headcount) as heads, min(distinct job.department.name) as dept, max(distinct candidate.created_at) as newest, median(distinct candidate.custom.years_of_experience) as mid, percentile(distinct candidate.custom.years_of_experience, 90) as p90, count(distinct candidate) as people",
    );
    let per: Vec<Vec<&str>> = ir
        .measures
        .iter()
        .map(|m| m.grain.per.iter().map(|r| r.name).collect())
        .collect();
    assert_eq!(
        per,
        [
            vec!["candidate"],
            vec!["job"],
            vec!["job", "department"],
            vec!["candidate"],
            vec!["candidate"],
            vec!["candidate"],
            vec![],
        ]
    );
    // From a list: the distinct candidates of a job's applications.
    let ir = resolved(
        "report jobs group by department.name show avg(distinct applications.candidate.custom.years_of_experience where status = \"hired\") as years",
    );
    let m = &ir.measures[0];
    assert_eq!(
        m.grain.steps.iter().map(|r| r.name).collect::<Vec<_>>(),
        ["applications"]
    );
    assert_eq!(
        m.grain.per.iter().map(|r| r.name).collect::<Vec<_>>(),
        ["candidate"]
    );
    assert!(m.filter.is_some());
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        let sql = sql(
            "report jobs group by department.name show avg(distinct applications.candidate.custom.years_of_experience) as years, count(applications) as n",
            dialect,
        );
        assert!(sql.contains("\"k\""), "{sql}");
        assert!(sql.contains("IS NOT NULL"), "{sql}");
    }
}

#[test]
fn distinct_aggregates_are_refused_on_the_rows_own_values_and_across_records() {
    let (message, under, d) =
        refusal("report applications group by status show avg(distinct time_to_hire) as t");
    assert_eq!(
        message,
        "`avg(distinct ...)` takes each related record once, and `time_to_hire` belongs to the applications themselves, each aggregated once already"
    );
    assert_eq!(under, "time_to_hire");
    assert!(
        d.help.iter().any(|h| h.contains("`avg(time_to_hire)`")),
        "{d:?}"
    );
    let (message, under, _) = refusal(
        "report jobs show sum(distinct applications.candidate.custom.years_of_experience + applications.job.headcount) as x",
    );
    assert_eq!(
        message,
        "`sum(distinct ...)` takes each related record once, and `applications.candidate.custom.years_of_experience + applications.job.headcount` reads several: `candidate`, `job`"
    );
    assert_eq!(
        under,
        "applications.candidate.custom.years_of_experience + applications.job.headcount"
    );
    let (message, under, _) =
        refusal("report applications show rate(distinct status = \"hired\") as r");
    assert_eq!(
        message,
        "`distinct` applies to `count`, `sum`, `avg`, `min`, `max`, `median` and `percentile`, not `rate`"
    );
    assert_eq!(under, "rate(distinct status = \"hired\")");
    // Not in a report over demographics (only counts of distinct candidates are).
    let (message, _, _) = refusal(
        "report applications group by candidate.demographics.gender as g show avg(distinct candidate.custom.years_of_experience) as y",
    );
    assert!(
        message.contains("cannot be used in a report over demographics"),
        "{message}"
    );
}

#[test]
fn equalities_of_a_report_over_demographics_become_group_keys() {
    use crate::Value;
    let ir = resolved(
        r#"report applications where status = "hired" and job.department.name in ("Sales") and candidate.location != "Paris" and source.kind is null group by job.title as t, candidate.demographics.gender as g show count(distinct candidate) as n order by t"#,
    );
    let g = ir.safe.grouped.expect("a grouped form");
    // The other filter stays; the three equalities are group keys after the report's own.
    assert_eq!(g.report.filters.len(), 1);
    assert_eq!(
        g.report.filters[0].to_string(),
        r#"candidate.location != "Paris""#
    );
    let keys: Vec<String> = g
        .report
        .group_by
        .iter()
        .map(|i| i.expr.to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "job.title",
            "candidate.demographics.gender",
            "status",
            "job.department.name",
            "source.kind"
        ]
    );
    assert_eq!(g.added, 2..5);
    assert_eq!(
        g.keys,
        [
            (2, Value::Text("hired".into())),
            (3, Value::Text("Sales".into())),
            (4, Value::Null)
        ]
    );
    // The grouped form compiles and is itself a report over demographics, without equalities.
    let grouped = resolve(&g.report, &MemoryCatalog::example()).unwrap();
    assert!(grouped.candidates.is_some());
    assert!(grouped.safe.grouped.is_none());
    assert!(
        grouped.safe.atoms.is_some(),
        "`location != ...` still has atoms"
    );
    // A row of it is the report's when it holds the values; the added columns go.
    let row = |status: &str| {
        vec![
            Value::Text("Engineer".into()),
            Value::Text("female".into()),
            Value::Text(status.into()),
            Value::Text("Sales".into()),
            Value::Null,
            Value::Integer(7),
        ]
    };
    let p = g.select(crate::demographics::Publication {
        rows: vec![row("hired"), row("active")],
        withheld: vec![],
    });
    assert_eq!(
        p.rows,
        [vec![
            Value::Text("Engineer".into()),
            Value::Text("female".into()),
            Value::Integer(7)
        ]]
    );

    // A key already grouped by is reused, not added twice.
    let ir = resolved(
        r#"report applications where status = "hired" group by status, candidate.demographics.gender as g show count(distinct candidate) as n"#,
    );
    let g = ir.safe.grouped.unwrap();
    assert_eq!(g.report.group_by.len(), 2);
    assert!(g.report.filters.is_empty());
    assert_eq!(g.keys, [(0, Value::Text("hired".into()))]);
    assert!(g.added.is_empty());

    // Not equalities: `!=`, `in` of several values, `or`, `is not null`: no grouped form.
    for filter in [
        r#"status != "hired""#,
        r#"status in ("hired", "active")"#,
        r#"status = "hired" or status = "active""#,
        "source.kind is not null",
    ] {
        let ir = resolved(&format!(
            "report applications where {filter} group by candidate.demographics.gender as g show count(distinct candidate) as n"
        ));
        assert!(ir.safe.grouped.is_none(), "{filter}");
        assert!(ir.safe.atoms.is_some(), "{filter}");
    }
}

#[test]
fn margins_of_application_keys_are_counted_in_distinct_candidates() {
    // Several rows per candidate: one margin report per coarse key, with the report's filters.
    let ir = resolved(
        r#"report applications where candidate.location != "Paris" group by job.department.name as d, status, candidate.demographics.gender as g show count(distinct candidate) as n"#,
    );
    let margins: Vec<String> = ir.safe.margins.iter().map(|r| r.to_string()).collect();
    assert_eq!(margins.len(), 2);
    assert!(margins[0].contains("group by status"), "{}", margins[0]);
    assert!(
        margins[1].contains("group by job.department.name"),
        "{}",
        margins[1]
    );
    for m in &ir.safe.margins {
        assert_eq!(m.filters.len(), 1);
        let text = m.to_string();
        assert!(text.contains("count(distinct candidate)"), "{text}");
        // Each compiles as an ordinary report (no demographics).
        assert!(
            resolve(m, &MemoryCatalog::example())
                .unwrap()
                .candidates
                .is_none()
        );
    }
    // One row per candidate: the sums are exact, nothing more to count.
    let ir =
        resolved("report candidates group by location, demographics.gender as g show count() as n");
    assert!(ir.safe.margins.is_empty());
}

#[test]
fn today_and_next_are_bound_when_the_report_runs() {
    let zone = "America/New_York";
    let midnight = |d: &str| {
        d.parse::<jiff::civil::Date>()
            .unwrap()
            .to_zoned_datetime(jiff::tz::TimeZone::get(zone).unwrap())
            .unwrap()
            .timestamp()
            .as_microsecond()
    };
    let today: jiff::civil::Date = "2025-06-30".parse().unwrap();
    let bound = |text: &str| {
        let c = compile(text, &MemoryCatalog::example(), Dialect::Sqlite, &OrgScope)
            .unwrap_or_else(|d| panic!("{}", d.render(text, "<test>")));
        assert_eq!(c.time_zone, zone);
        bind(&c.params, &c.time_zone, today).unwrap()
    };
    // `today` against a timestamp: its whole local day.
    assert!(
        bound("report interviews where starts_at >= today")
            .contains(&Bound::Instant(midnight("2025-06-30")))
    );
    assert!(
        bound("report interviews where starts_at > today")
            .contains(&Bound::Instant(midnight("2025-07-01")))
    );
    assert!(
        bound("report offers where start_date >= today")
            .contains(&Bound::Date("2025-06-30".into()))
    );
    // `next 7 days`: today's midnight up to the end of the 7th day ahead.
    let next = bound("report interviews where starts_at in next 7 days");
    assert!(
        next.contains(&Bound::Instant(midnight("2025-06-30"))),
        "{next:?}"
    );
    assert!(
        next.contains(&Bound::Instant(midnight("2025-07-08"))),
        "{next:?}"
    );
    let next = bound("report offers where start_date in next 2 months");
    assert_eq!(
        next,
        [
            Bound::Date("2025-06-30".into()),
            Bound::Date("2025-08-31".into())
        ]
    );
}

#[test]
fn misused_today_and_next_are_refused_at_their_span() {
    let (message, under, _) = refusal("report applications where status = today");
    assert_eq!(under, "today");
    assert!(message.starts_with("expected "), "{message}");
    assert!(message.ends_with("found `today` (a date)"), "{message}");
    let (message, under, _) = refusal("report applications where today = 2025-01-01");
    assert_eq!(message, "a comparison needs a field on at least one side");
    assert_eq!(under, "today = 2025-01-01");
    let (message, under, _) = refusal("report applications where status in next 3 days");
    assert_eq!(under, "status");
    assert!(
        message.ends_with("`in last/next/this/previous ...` needs a timestamp or a date"),
        "{message}"
    );
    let (message, under, _) = refusal("report applications where applied_at in next 0 days");
    assert_eq!(
        message,
        "`next 0` is not a range: the count must be between 1 and 4294967295"
    );
    assert_eq!(under, "0");
    // Read from JSON, `next 0` is refused too.
    let json = r#"{"subject": "applications", "where": [{"kind": "within", "expr": {"kind": "path", "path": ["applied_at"]}, "range": {"which": "next", "count": 0, "unit": "day"}}]}"#;
    let d = query_syntax::from_json(json).unwrap_err();
    assert_eq!(d.message, "invalid report JSON: `next 0` is not a range");
    // And `today` in JSON is the same literal as in text.
    let json = r#"{"subject": "interviews", "where": [{"kind": "binary", "op": ">=", "left": {"kind": "path", "path": ["starts_at"]}, "right": {"kind": "literal", "value": "today"}}]}"#;
    assert_eq!(
        query_syntax::from_json(json).unwrap(),
        parse("report interviews where starts_at >= today")
            .unwrap()
            .without_spans()
    );
}

#[test]
fn instants_print_as_strftime_prints_them() {
    let strftime = |us: i64| {
        jiff::Timestamp::from_microsecond(us)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    // The calendar's edges (epoch, before it, leap days, year 0 and 9999, the ends of jiff's
    // range) and a spread of values between, with their microseconds.
    let mut samples = vec![
        0,
        -1,
        1,
        951_782_400_000_000,     // 2000-02-29
        4_107_542_399_999_999,   // 2100-02-28T23:59:59.999999
        -62_167_219_200_000_000, // 0000-01-01
        -62_167_219_200_000_001, // -0001-12-31T23:59:59.999999
        253_402_207_199_999_999, // 9999-12-30T21:59:59.999999, the last second jiff has
        jiff::Timestamp::MIN.as_microsecond(),
        253_402_207_200_000_000,
    ];
    let mut x: i64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        samples.push(x.rem_euclid(400 * 366 * 86_400_000_000) - 100 * 366 * 86_400_000_000);
    }
    for us in samples {
        assert_eq!(Value::Instant(us).to_string(), strftime(us), "{us}");
    }
}

#[test]
fn relative_ranges_before_year_one_are_refused_on_both_dialects() {
    // PostgreSQL's timestamps stop at 4713 BC (`timestamp out of range`, INTERNAL), SQLite's
    // dates compare as text: both refuse any bound before 0001-01-01 at bind time.
    let today: jiff::civil::Date = "2025-06-30".parse().unwrap();
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        for text in [
            "report applications where applied_at in last 2500000 days show count()",
            "report applications where applied_at in last 2030 years show count()",
            "report offers where start_date in last 740000 days show count()",
        ] {
            let c = compile(text, &MemoryCatalog::example(), dialect, &OrgScope)
                .unwrap_or_else(|d| panic!("{}", d.render(text, "<test>")));
            let e = bind(&c.params, &c.time_zone, today).unwrap_err();
            assert!(matches!(e, BindError::Range(_)), "{text}: {e}");
            assert!(
                e.to_string().contains("0001-01-01 to 9999-12-31"),
                "{text}: {e}"
            );
        }
        // Year one itself is still in.
        let c = compile(
            "report applications where applied_at in last 739000 days show count()",
            &MemoryCatalog::example(),
            dialect,
            &OrgScope,
        )
        .unwrap();
        assert!(bind(&c.params, &c.time_zone, today).is_ok());
    }
}

/// Red team, pass 19: texts of a few hundred characters whose statements grew exponentially
/// (names of columns repeating each other), with the square of the steps (a funnel), or past
/// what SQLite takes (`coalesce`), are refused at the span that goes too far; below the bounds
/// they compile.
#[test]
fn texts_that_would_make_huge_statements_are_refused_at_their_span() {
    let doubling = |k: usize| {
        let mut t = "report applications group by status show count() as a0".to_owned();
        for i in 1..=k {
            t.push_str(&format!(", a{p} + a{p} as a{i}", p = i - 1));
        }
        t
    };
    // 2^11 - 1 terms in the last column, 4,072 copied in all: within the bound.
    let ok = sql(&doubling(10), Dialect::Postgres);
    assert!(ok.len() < 1_000_000, "{}", ok.len());
    let (message, at, _) = refusal(&doubling(28));
    assert!(message.contains("more than 5000 terms"), "{message}");
    assert_eq!(at, "a10", "the first use past the bound");

    let kinds = ["lead", "application_review", "screen", "onsite"];
    let funnel = |k: usize| {
        let steps: Vec<String> = (0..k)
            .map(|i| format!("kind(\"{}\")", kinds[i % kinds.len()]))
            .collect();
        format!("report applications funnel {}", steps.join(", "))
    };
    sql(&funnel(16), Dialect::Sqlite);
    let (message, at, _) = refusal(&funnel(150));
    assert!(message.contains("at most 16 steps"), "{message}");
    assert_eq!(at, format!("kind(\"{}\")", kinds[16 % 4]));

    let coalesce = |k: usize| {
        format!(
            "report jobs show coalesce({}) as x",
            vec!["headcount"; k].join(", ")
        )
    };
    sql(&coalesce(100), Dialect::Sqlite);
    let (message, at, _) = refusal(&coalesce(3_000));
    assert!(message.contains("at most 100 arguments"), "{message}");
    assert_eq!(at, "headcount");
}
