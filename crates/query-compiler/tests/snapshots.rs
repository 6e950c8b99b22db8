//! Snapshot tests of the compiler's output: the SQL and parameters of every standard report and
//! of one report per language feature, on PostgreSQL and SQLite, and the rendered text of
//! common errors. Snapshots live in `tests/snapshots/`; after an intended change, review and
//! accept them with `INSTA_UPDATE=always cargo test -p query-compiler --test snapshots` (or
//! `cargo insta review`).
//!
//! Everything compiles against one fixed in-memory catalog (a copy of the unit tests' acme
//! catalog), so the snapshots change only when the compiler does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use query_compiler::{
    Compiled, Dialect, MemoryCatalog, OrgScope, compile, compile_report, library,
};

/// One report per language feature: (snapshot name, report text).
const FEATURES: &[(&str, &str)] = &[
    (
        "demographics_filtered_on_coarse_values",
        "report applications where job.department.name != \"Sales\" and (status in (\"active\", \"hired\") or applied_at in previous quarter) group by quarter(applied_at) as q, candidate.demographics.gender as g show count(distinct candidate) as n",
    ),
    (
        "rows_show_order_limit",
        "report candidates show name, location order by name limit 10",
    ),
    ("default_count", "report applications"),
    ("group_default_count", "report applications group by status"),
    (
        "clauses_in_any_order",
        "report applications limit 5 order by applications desc show count() as applications \
         group by source.kind as source where status != \"archived\"",
    ),
    (
        "repeated_where_and_having",
        "report applications where status = \"hired\" where hired_at >= 2025-01-01 \
         group by job.title as job show count() as hires having hires > 1 having hires < 100",
    ),
    (
        "dot_paths",
        "report applications where job.department.parent.name = \"R&D\" \
         group by job.department.name as department, credited_to.name as recruiter",
    ),
    (
        "custom_number",
        "report applications where candidate.custom.years_of_experience >= 5 \
         group by job.title show avg(candidate.custom.years_of_experience) as years",
    ),
    (
        "custom_select",
        "report jobs where custom.level in (\"L5\", \"L6\") group by custom.level as level",
    ),
    (
        "custom_multi_select_contains",
        "report candidates where custom.languages contains \"German\" \
         and custom.languages not contains \"Spanish\" show name, custom.languages",
    ),
    (
        "custom_date_and_sensitive_boolean",
        "report applications where custom.expected_start < 2025-09-01 \
         and candidate.custom.visa_sponsorship = true show id, custom.expected_start",
    ),
    (
        "literals",
        "report offers where salary > 100000.5 and version = 2 and current = true \
         and start_date >= 2025-07-01 and status = \"accepted\" show id",
    ),
    (
        "precedence_and_or_not",
        "report applications where status = \"active\" or status = \"hired\" \
         and not (source.kind = \"agency\") show id",
    ),
    (
        "arithmetic",
        "report users show name, max_interviews_per_week - max_interviews_per_day * 5 as spare, \
         -max_interviews_per_day as negated, max_interviews_per_week / 5 as per_day",
    ),
    (
        "null_tests",
        "report applications where source is null and hired_at is not null \
         and current_offer is not null show id",
    ),
    (
        "text_matching",
        "report jobs where title contains \"eng\" and title starts with \"Sen\" \
         and location not ends with \"Remote\" show title",
    ),
    (
        "in_list_and_between",
        "report jobs where headcount between 2 and 5 and status not in (\"draft\", \"archived\") \
         and opened_at not between 2024-01-01 and 2024-12-31 show title",
    ),
    (
        "date_against_timestamp",
        "report applications where applied_at = 2025-03-01 or hired_at > 2025-03-01 \
         or archived_at <= 2025-03-01 or applied_at != 2025-03-02 show id",
    ),
    (
        "relative_last",
        "report applications where applied_at in last 90 days group by month(applied_at) as month",
    ),
    (
        "relative_this_previous_not",
        "report applications where hired_at in this month or hired_at in previous quarter \
         or archived_at not in last 2 years group by status",
    ),
    (
        "relative_on_a_date_field",
        "report offers where start_date in this quarter show id, start_date",
    ),
    (
        "time_buckets",
        "report applications group by day(applied_at) as day, week(applied_at) as week, \
         month(applied_at) as month, quarter(applied_at) as quarter, year(applied_at) as year, \
         month(custom.expected_start) as start_month",
    ),
    (
        "row_functions",
        "report applications show id, \
         round(days_between(applied_at, coalesce(hired_at, archived_at)), 1) as days, \
         round(days_since(applied_at)) as age, days_since(custom.expected_start) as since_start",
    ),
    (
        "aggregates",
        "report offers group by status show count() as n, count(distinct application) as apps, \
         sum(salary) as total, avg(salary) as mean, min(created_at) as first, max(salary) as top, \
         median(salary) as mid, percentile(salary, 90) as p90",
    ),
    (
        "aggregate_where",
        "report applications group by job.title as job show count(where status = \"hired\") as hires, \
         avg(time_to_hire where source.kind = \"referral\") as referral_days",
    ),
    (
        "rate",
        "report applications group by source.kind as source show round(rate(status = \"hired\"), 4) as hire_rate",
    ),
    (
        "grains_without_double_counting",
        "report jobs group by department.name as department show sum(headcount) as headcount, \
         count(applications) as applications, count(applications.interviews) as interviews, \
         count(applications.interviews.interview_participants) as seats, \
         avg(applications.feedback.score) as avg_score, count(hiring_team) as team",
    ),
    (
        "grain_with_where",
        "report departments show count(jobs.applications where status = \"hired\") as hires, \
         count(jobs where status = \"open\") as open_jobs",
    ),
    (
        "reached",
        "report applications where reached(\"Onsite\") and not reached(kind(\"offer\")) \
         group by job.title",
    ),
    (
        "funnel",
        "report applications group by job.department.name as department \
         funnel \"Application Review\", \"Phone Screen\", kind(\"onsite\"), kind(\"hired\")",
    ),
    (
        "conversion",
        "report applications group by source.kind as source \
         show conversion(\"Phone Screen\", \"Onsite\") as phone_to_onsite, \
         conversion(kind(\"onsite\"), kind(\"offer\") where applied_at in last 1 year) as recent",
    ),
    (
        "time_in_stage",
        "report stage_transitions where left_at is not null group by stage.name as stage \
         show median(days_in_stage) as median_days, max(left_at) as last_left",
    ),
    (
        "time_to_hire",
        "report applications where status = \"hired\" group by month(hired_at) as month \
         show avg(time_to_hire) as avg_days order by month desc",
    ),
    (
        "group_keys_shown_first",
        "report applications group by status show count() as n, status",
    ),
    (
        "order_by_unshown_aggregate",
        "report applications group by current_stage.kind as stage order by min(current_stage.position)",
    ),
    (
        "current_offer_and_derived_fields",
        "report applications where current_offer.status = \"accepted\" \
         show id, current_offer.salary, time_to_hire",
    ),
    (
        "derived_interview_and_feedback_fields",
        "report feedback group by interview.status as status \
         show avg(score) as score, avg(interview.duration_minutes) as minutes",
    ),
    (
        "tags_contains",
        "report candidates where tags contains \"python\" show name, tags",
    ),
    (
        "feedback_scores_and_notes",
        "report feedback where notes contains \"clear\" and scores is not null \
         show id, scores, notes order by id",
    ),
    (
        "demographics_group_key",
        "report applications group by candidate.demographics.gender as gender \
         show count(distinct candidate) as candidates",
    ),
    (
        "demographics_and_department",
        "report applications group by job.department.name as department, \
         candidate.demographics.gender as gender, \
         status show count(distinct candidate) as candidates, \
         round(candidates / 10, 1) as tens order by gender",
    ),
    (
        "demographics_from_candidates_two_keys_and_a_list",
        "report candidates \
         group by demographics.gender as gender, demographics.race_ethnicity, quarter(created_at) as q, location \
         show count() as candidates order by gender desc",
    ),
    (
        "zone_clause",
        "report applications in zone \"UTC\" where applied_at >= 2025-01-01 \
         and hired_at in last 4 quarters group by month(applied_at) as month \
         show count() as n, round(avg(days_since(applied_at)), 1) as age",
    ),
    (
        "timestamp_literals",
        "report applications where applied_at >= 2025-01-01T00:00Z \
         and applied_at < 2025-01-01T09:30 and hired_at between 2025-01-01T09:30:00.25+02:00 and 2025-06-30 \
         show id, days_between(applied_at, 2025-06-30T12:00Z) as days",
    ),
    (
        "distinct_records_from_a_list",
        "report jobs group by department.name as department \
         show avg(distinct applications.candidate.custom.years_of_experience) as years, \
         percentile(distinct applications.candidate.custom.years_of_experience, 90 where status = \"hired\") as p90, \
         count(applications) as applications",
    ),
    (
        "distinct_records_without_group_keys",
        "report applications show sum(distinct job.headcount) as headcount, \
         min(distinct job.department.name) as first_department, count() as n",
    ),
];

/// Reports that must fail, with the diagnostic rendered against their text.
const ERRORS: &[(&str, &str)] = &[
    (
        "list_inside_an_aggregate",
        "report jobs show count(applications where interviews.status = \"completed\")",
    ),
    (
        "demographics_in_where",
        "report applications where candidate.demographics.gender = \"female\" group by status",
    ),
    (
        "demographics_in_a_row_report",
        "report candidates show name, demographics.gender",
    ),
    (
        "demographics_shown_without_group_by",
        "report applications show count(), candidate.demographics.race_ethnicity",
    ),
    (
        "demographics_in_a_measure_argument",
        "report applications group by status show count(distinct candidate.demographics.gender) as genders",
    ),
    (
        "demographics_in_a_measure_filter",
        "report applications group by status show count(where candidate.demographics.gender = \"female\") as women",
    ),
    (
        "demographics_in_rate",
        "report applications group by status show rate(candidate.demographics.veteran_status = \"veteran\") as veterans",
    ),
    (
        "demographics_in_having",
        "report applications group by status show count() as n having candidate.demographics.gender = \"female\"",
    ),
    (
        "demographics_split_report_with_having",
        "report applications group by candidate.demographics.gender as gender show count(distinct candidate) as n having n > 10",
    ),
    (
        "demographics_split_report_with_limit",
        "report applications group by candidate.demographics.gender as gender show count(distinct candidate) as n order by n desc limit 2",
    ),
    (
        "demographics_in_order_by",
        "report applications group by candidate.demographics.gender as gender show count(distinct candidate) as n order by candidate.demographics.gender",
    ),
    (
        "demographics_key_in_an_order_by_formula",
        "report applications group by candidate.demographics.gender as gender show count(distinct candidate) as n order by gender = \"female\" desc",
    ),
    (
        "demographics_key_in_a_show_formula",
        "report applications group by candidate.demographics.gender as gender show count(distinct candidate) as n, gender != \"male\" as not_male",
    ),
    (
        "demographics_inside_a_group_key_expression",
        "report applications group by coalesce(candidate.demographics.gender, \"unknown\") as gender",
    ),
    (
        "demographics_funnel",
        "report applications group by candidate.demographics.gender as gender funnel kind(\"onsite\"), kind(\"hired\")",
    ),
    (
        "demographics_of_two_candidate_paths",
        "report feedback group by application.candidate.demographics.gender as gender, interview.application.candidate.demographics.race_ethnicity as race",
    ),
    (
        "demographics_report_counting_one_person",
        "report candidates group by demographics.gender as g show count() as n, count(where id = \"cand_1\") as target",
    ),
    (
        "demographics_report_with_min_of_a_name",
        "report candidates group by demographics.gender as g show count() as n, min(name) as first",
    ),
    (
        "demographics_report_filtering_on_an_id",
        "report candidates where id != \"cand_1\" group by demographics.gender as g show count() as n",
    ),
    (
        "demographics_record_listed",
        "report candidates where demographics is not null show name",
    ),
    (
        "demographics_report_counting_applications",
        "report applications group by candidate.demographics.gender as g show count() as n",
    ),
    (
        "demographics_report_on_an_exact_timestamp",
        "report applications group by applied_at, candidate.demographics.gender as g show count(distinct candidate) as n",
    ),
    (
        "demographics_report_averaging_a_number",
        "report applications group by candidate.demographics.gender as g show count(distinct candidate) as n, avg(time_to_hire) as t",
    ),
    (
        "demographics_report_grouped_by_a_name",
        "report candidates group by name, demographics.gender as g show count() as n",
    ),
    (
        "demographics_report_filtering_on_a_demographic_field",
        "report applications group by candidate.demographics.gender as g show count(distinct candidate where candidate.demographics.veteran_status = \"veteran\") as n",
    ),
    (
        "demographics_report_filtering_by_text_matching",
        "report candidates where location contains \"Ber\" group by demographics.gender as g show count() as n",
    ),
    (
        "demographics_report_filtering_on_an_exact_timestamp",
        "report candidates where created_at >= 2025-01-01 group by demographics.gender as g show count() as n",
    ),
    (
        "demographics_report_filtering_on_the_last_days",
        "report applications where applied_at in last 90 days group by candidate.demographics.gender as g show count(distinct candidate) as n",
    ),
    (
        "demographics_report_filtering_on_two_fields",
        "report applications where job.location = candidate.location group by candidate.demographics.gender as g show count(distinct candidate) as n",
    ),
    (
        "demographics_report_ordering_a_coarse_field",
        "report candidates where location >= \"M\" group by demographics.gender as g show count() as n",
    ),
    (
        "demographics_report_ordered_by_a_count",
        "report candidates group by demographics.gender as g show count() as n order by n desc",
    ),
    (
        "demographics_report_in_days",
        "report candidates group by week(created_at) as w, demographics.gender as g show count() as n",
    ),
    (
        "percentile_on_the_0_to_100_scale",
        "report offers show percentile(salary, 0.9)",
    ),
    (
        "column_named_later",
        "report applications group by status show round(hires / n, 3) as r, count() as n, count(where status = \"hired\") as hires",
    ),
    (
        "unknown_field_did_you_mean",
        "report applications where job.departmnet.name = \"Engineering\"",
    ),
    ("unknown_subject", "report aplications group by status"),
    (
        "parse_expected_expression",
        "report applications where status =",
    ),
    (
        "not_one_of_the_values",
        "report applications where status = \"hird\"",
    ),
    (
        "unknown_custom_field",
        "report applications where candidate.custom.years = 3",
    ),
    (
        "custom_field_without_custom",
        "report applications where candidate.years_of_experience > 3",
    ),
    (
        "aggregate_in_where",
        "report applications where count() > 5",
    ),
    (
        "neither_grouped_nor_aggregated",
        "report applications group by status show job.title",
    ),
    ("list_used_as_value", "report jobs show title, applications"),
    ("map_compared", "report feedback where scores = \"x\""),
    ("map_group_key", "report feedback group by scores"),
    (
        "map_order",
        "report feedback show id, scores order by scores",
    ),
    (
        "map_aggregated",
        "report interviews show max(feedback.scores)",
    ),
    (
        "unknown_stage",
        "report applications where reached(\"Onsight\")",
    ),
    (
        "duplicate_clause",
        "report applications show id show status",
    ),
    (
        "unknown_clause",
        "report applications wher status = \"hired\"",
    ),
    ("chained_comparison", "report jobs where 1 < headcount < 5"),
    (
        "quoted_date",
        "report applications where applied_at >= \"2025-01-01\"",
    ),
    (
        "unknown_zone",
        "report applications in zone \"Europe/Berln\" group by month(applied_at)",
    ),
    (
        "malformed_timestamp",
        "report applications where applied_at >= 2025-01-01T24:00Z",
    ),
    (
        "timestamp_against_a_date",
        "report offers where start_date < 2025-07-01T00:00Z show id",
    ),
    (
        "distinct_over_the_rows_own_field",
        "report applications group by status show avg(distinct time_to_hire) as t",
    ),
    (
        "distinct_over_two_records",
        "report applications show avg(distinct candidate.custom.years_of_experience + job.headcount) as x",
    ),
    (
        "demographics_in_another_zone",
        "report candidates in zone \"UTC\" group by demographics.gender as gender, month(created_at) as m",
    ),
];

/// The SQL and the parameter list of a compiled report (the org id is always the first).
fn describe(compiled: &Compiled) -> String {
    let mark = |i: usize| match compiled.dialect {
        Dialect::Postgres => format!("${i}"),
        Dialect::Sqlite => format!("?{i}"),
    };
    let mut out = format!("{}\n\n-- parameters\n{} = org id\n", compiled.sql, mark(1));
    for (i, p) in compiled.params.iter().enumerate() {
        let value = serde_json::to_string(p).unwrap();
        out.push_str(&format!("{} = {value}\n", mark(i + 2)));
    }
    let columns: Vec<String> = compiled
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, serde_json::to_string(&c.kind).unwrap()))
        .collect();
    out.push_str(&format!("-- columns: {}\n", columns.join(", ")));
    if let Some(s) = &compiled.suppression {
        out.push_str(&format!(
            "-- suppression: {}\n",
            serde_json::to_string(s).unwrap()
        ));
    }
    out
}

fn compile_ok(text: &str, dialect: Dialect, name: &str) -> Compiled {
    match compile(text, &MemoryCatalog::example(), dialect, &OrgScope) {
        Ok(compiled) => compiled,
        Err(d) => panic!("{name} does not compile:\n{}", d.render(text, name)),
    }
}

/// Both dialects of one report, in one snapshot.
fn both_dialects(text: &str, name: &str) -> String {
    let mut out = format!("{}\n", text.trim_end());
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        out.push_str(&format!("\n== {}\n", dialect.name()));
        out.push_str(&describe(&compile_ok(text, dialect, name)));
    }
    out
}

#[test]
fn standard_reports() {
    assert_eq!(library::STANDARD.len(), 17);
    for (name, text) in library::STANDARD {
        insta::assert_snapshot!(format!("standard__{name}"), both_dialects(text, name));
    }
}

#[test]
fn language_features() {
    let mut names: Vec<&str> = FEATURES.iter().map(|(n, _)| *n).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), FEATURES.len(), "feature names are unique");
    for (name, text) in FEATURES {
        insta::assert_snapshot!(format!("feature__{name}"), both_dialects(text, name));
    }
}

#[test]
fn error_diagnostics() {
    for (name, text) in ERRORS {
        let rendered = match compile(text, &MemoryCatalog::example(), Dialect::Sqlite, &OrgScope) {
            Ok(c) => panic!("{name} should not compile, got:\n{}", c.sql),
            Err(d) => d.render(text, "<report>"),
        };
        // Errors do not depend on the dialect.
        let postgres = compile(
            text,
            &MemoryCatalog::example(),
            Dialect::Postgres,
            &OrgScope,
        )
        .err()
        .map(|d| d.render(text, "<report>"));
        assert_eq!(postgres.as_deref(), Some(rendered.as_str()), "{name}");
        insta::assert_snapshot!(format!("error__{name}"), rendered);
    }
}

/// The JSON form of every standard report (and every feature report) compiles to exactly the
/// SQL and parameters of its text.
#[test]
fn json_form_compiles_like_text() {
    for (name, text) in library::STANDARD.iter().chain(FEATURES) {
        let parsed = query_syntax::parse(text).unwrap();
        let json = query_syntax::to_json(&parsed);
        let back = match query_syntax::from_json(&json) {
            Ok(report) => report,
            Err(d) => panic!(
                "{name}: the JSON form does not read back: {}\n{json}",
                d.message
            ),
        };
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            let from_text = compile_ok(text, dialect, name);
            let from_json = compile_report(&back, &MemoryCatalog::example(), dialect, &OrgScope)
                .unwrap_or_else(|d| panic!("{name}: JSON form fails: {}", d.message));
            assert_eq!(from_json.sql, from_text.sql, "{name} on {}", dialect.name());
            assert_eq!(
                from_json.params,
                from_text.params,
                "{name} on {}",
                dialect.name()
            );
            assert_eq!(
                from_json.columns,
                from_text.columns,
                "{name} on {}",
                dialect.name()
            );
        }
    }
}
