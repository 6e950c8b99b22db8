//! A corpus of realistic reports: each parses, survives the JSON round trip and the
//! print-and-parse round trip, and prints the same text a second time.

use query_syntax::{from_json, parse, to_json};

const CORPUS: &[&str] = &[
    r#"report applications in zone "UTC"
where applied_at >= 2025-01-01T00:00Z and applied_at < 2025-01-01T09:30:00+02:00
group by month(applied_at) as month, job.title
show count() as n, avg(distinct candidate.custom.years_of_experience) as years, sum(distinct job.headcount) as heads"#,
    "report interviews where starts_at between 2025-03-30T01:30 and 2025-03-30T03:30:59.999999 in zone 'Europe/Berlin'",
    r#"report applications
where job.department.name = "Engineering" and applied_at in last 90 days
group by month(applied_at) as month
show count() as applicants, count(where status = "hired") as hires, hires / applicants as rate
having applicants >= 10
order by month desc
limit 12"#,
    "report candidates",
    "report candidates show count()",
    r#"report applications
funnel "Application Review", "Phone Screen", kind("onsite"), kind("hired")"#,
    r#"report applications where source.kind in ("referral", "agency") and not archived
group by source.kind show count(distinct candidate) as people order by people desc"#,
    "report interviews where scheduled_at in this week group by interviewer.name show count() as n, avg(duration_minutes) as minutes",
    "report offers where sent_at in previous quarter and salary between 100000 and 150000.50 show avg(salary), max(salary), min(salary)",
    "report applications where hired_at is not null show percentile(time_to_hire, 90) as p90, percentile(time_to_hire, 50) as median",
    r#"report candidates where email ends with "@example.com" or name starts with 'Dr' or notes contains "python" show count()"#,
    r#"report candidates where email not ends with "@example.com" and name not starts with 'Dr' and notes not contains "java""#,
    "report applications where applied_at >= 2025-01-01 and applied_at < 2025-04-01 group by week(applied_at) as week show count()",
    "report applications where applied_at not between 2024-02-29 and 2024-12-31 show count()",
    "report jobs where candidate.custom.years_of_experience >= 5 and -salary.min < -10 * 2 show count() limit 0",
    "report applications where a or b and not c = 1 or (d or e) and f",
    "report applications where (a - b) - (c - d) * (e / (f * g)) > -(-h)",
    r#"report applications # the pipeline
where status != "rejected" # not rejected
  and status <> 'withdrawn'
having count() > 5 having count() < 500
where stage.name = "Onsite""#,
    "report applications show count(applications where status = \"hired\") / count() as rate order by rate asc, count() desc limit 100",
    "report candidates where tags is null and x not in (1, 2, 3) and y in (true, false, null) and z not in last 12 months",
    "REPORT Applications WHERE Job.Title = 'Staff \\'Engineer\\'\\n' SHOW COUNT(DISTINCT Candidate.Id) AS People",
    "report interviews where feedback.score in (1.5, 2.25) and started_at in last 1 year and ended_at in this day show sum(score * weight) / sum(weight) as weighted",
    "report applications where application.order.limit = 1 show day(applied_at) as day, year(applied_at) as year, quarter(x) as quarter",
    "report interviews where starts_at >= today and starts_at in next 7 days and today > `today` and x not in next 2 months show count()",
    r#"report stage_transitions where `by`.name = "Ada" and `by`.`order` is null group by `by`.id as `by` show count() as `limit` order by `limit` desc"#,
];

#[test]
fn corpus_survives_json_and_text_round_trips() {
    for text in CORPUS {
        let report = parse(text).unwrap_or_else(|e| panic!("{}", e.render(text, "<corpus>")));
        let stripped = report.without_spans();

        let json = to_json(&report);
        let from = from_json(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
        assert_eq!(from, stripped, "json round trip of {text}");
        assert_eq!(to_json(&from), json);

        let printed = report.to_string();
        let reparsed =
            parse(&printed).unwrap_or_else(|e| panic!("{}", e.render(&printed, "<printed>")));
        assert_eq!(
            reparsed.without_spans(),
            stripped,
            "text round trip of {text}\nprinted as\n{printed}"
        );
        assert_eq!(
            reparsed.to_string(),
            printed,
            "printing is not stable for {text}"
        );
    }
}

#[test]
fn corpus_size() {
    assert!(CORPUS.len() >= 20);
}

#[test]
fn errors_render_with_a_caret() {
    let text = "report applications\nwhere status = ";
    let error = parse(text).unwrap_err();
    assert_eq!(
        error.render(text, "<report>"),
        "error: expected an expression after `=`, found end of input\n --> <report>:2:15\n  |\n2 | where status = \n  |               ^\n"
    );
    // A file ending in a newline: the caret stays on the line of the last token, not on an
    // empty line past the end.
    let text = "report applications\nwhere\n";
    let error = parse(text).unwrap_err();
    assert_eq!(
        error.render(text, "q.hpr"),
        "error: expected an expression after `where`, found end of input\n --> q.hpr:2:6\n  |\n2 | where\n  |      ^\n"
    );
    let text = "report applications\ngroup by x\nshow y\ngroup by z";
    assert_eq!(
        parse(text).unwrap_err().render(text, "<report>"),
        "error: duplicate `group by` clause\n --> <report>:4:1\n  |\n4 | group by z\n  | ^^^^^^^^ second `group by` here\n  = help: a report has at most one `group by`; list all its items in one clause\n"
    );
}
