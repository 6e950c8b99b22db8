//! The generated rule file: its exact text for the repository's `slo.yaml` (an insta snapshot),
//! and the windows, burn-rate factors and guards it must hold whatever the snapshot says.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use slo::render::{PAGE, TICKET, WINDOWS};
use slo::{Spec, render_rules};

fn repository_rules() -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../slo.yaml"))
        .expect("slo.yaml at the repository root");
    render_rules(&Spec::parse(&text, "slo.yaml").unwrap())
}

/// The text of the rule `record` (or `alert`) `name` in group `group`: from its line to the next
/// rule or group.
fn rule<'a>(rules: &'a str, group: &str, kind: &str, name: &str) -> &'a str {
    let group_start = rules
        .find(&format!("  - name: \"{group}\"\n"))
        .unwrap_or_else(|| panic!("group {group} in:\n{rules}"));
    let group_text = &rules[group_start..];
    let group_end = group_text[1..]
        .find("\n  - name: ")
        .map_or(group_text.len(), |i| i + 1);
    let group_text = &group_text[..group_end];
    let start = group_text
        .find(&format!("      - {kind}: \"{name}\"\n"))
        .unwrap_or_else(|| panic!("{kind} {name} in:\n{group_text}"));
    let text = &group_text[start..];
    let end = text[1..].find("\n      - ").map_or(text.len(), |i| i + 1);
    &text[..end]
}

#[test]
fn the_repository_rules_are_as_committed() {
    insta::assert_snapshot!("hireplane_slo_rules", repository_rules());
}

#[test]
fn rendering_is_deterministic() {
    assert_eq!(repository_rules(), repository_rules());
}

#[test]
fn every_window_is_recorded_for_every_slo() {
    let rules = repository_rules();
    for slo in [
        "api-availability",
        "api-latency",
        "report-availability",
        "report-latency",
    ] {
        let group = format!("slo-hireplane-{slo}-recordings");
        for window in WINDOWS.into_iter().chain(["30d"]) {
            let r = rule(
                &rules,
                &group,
                "record",
                &format!("slo:sli_error:ratio_rate{window}"),
            );
            assert!(r.contains(&format!("slo_window: \"{window}\"")), "{r}");
            assert!(r.contains(&format!("slo_name: \"{slo}\"")), "{r}");
            assert!(r.contains("slo_service: \"hireplane\""), "{r}");
            if window != "30d" {
                assert!(r.contains(&format!("[{window}]")), "{r}");
                // No sample for a window without traffic.
                assert!(r.contains("> 0"), "{r}");
            }
        }
        for name in [
            "slo:objective:ratio",
            "slo:error_budget:ratio",
            "slo:time_period:days",
            "slo:current_burn_rate:ratio",
            "slo:period_burn_rate:ratio",
            "slo:period_error_budget_remaining:ratio",
            "slo_info",
        ] {
            rule(&rules, &group, "record", name);
        }
    }
}

#[test]
fn the_period_ratio_is_the_mean_of_the_5m_ratios() {
    let rules = repository_rules();
    let r = rule(
        &rules,
        "slo-hireplane-api-availability-recordings",
        "record",
        "slo:sli_error:ratio_rate30d",
    );
    let sel = r#"{slo_service="hireplane", slo_name="api-availability"}"#;
    assert!(
        r.contains(&format!(
            "sum_over_time(slo:sli_error:ratio_rate5m{sel}[30d])"
        )),
        "{r}"
    );
    assert!(
        r.contains(&format!(
            "count_over_time(slo:sli_error:ratio_rate5m{sel}[30d])"
        )),
        "{r}"
    );
}

#[test]
fn the_alerts_use_the_workbook_windows_and_factors() {
    assert_eq!(
        PAGE.map(|b| (b.long, b.short, b.factor)),
        [("1h", "5m", "14.4"), ("6h", "30m", "6")]
    );
    assert_eq!(
        TICKET.map(|b| (b.long, b.short, b.factor)),
        [("1d", "2h", "3"), ("3d", "6h", "1")]
    );
    let rules = repository_rules();
    let alerts = &rules[rules
        .find("  - name: \"slo-hireplane-api-availability-alerts\"")
        .unwrap()..];
    let alerts = &alerts[..alerts
        .find("  - name: \"slo-hireplane-api-latency")
        .unwrap()];
    let sel = r#"{slo_service="hireplane", slo_name="api-availability"}"#;
    let above = |window: &str, factor: &str| {
        format!(
            "max(slo:sli_error:ratio_rate{window}{sel} > ({factor} * 0.001)) without (slo_window)"
        )
    };
    let page = format!(
        "(\n            {}\n            and\n            {}\n          )\n          or\n          (\n            {}\n            and\n            {}\n          )",
        above("5m", "14.4"),
        above("1h", "14.4"),
        above("30m", "6"),
        above("6h", "6")
    );
    let ticket = format!(
        "(\n            {}\n            and\n            {}\n          )\n          or\n          (\n            {}\n            and\n            {}\n          )",
        above("2h", "3"),
        above("1d", "3"),
        above("6h", "1"),
        above("3d", "1")
    );
    let (page_at, ticket_at) = (
        alerts
            .find(&page)
            .unwrap_or_else(|| panic!("{page}\nin\n{alerts}")),
        alerts
            .find(&ticket)
            .unwrap_or_else(|| panic!("{ticket}\nin\n{alerts}")),
    );
    assert!(page_at < ticket_at);
    assert_eq!(
        alerts
            .matches("- alert: \"HireplaneApiAvailabilityBurnRate\"")
            .count(),
        2
    );
    assert!(alerts.contains("severity: \"page\""));
    assert!(alerts.contains("slo_severity: \"page\""));
    assert!(alerts.contains("severity: \"ticket\""));
    assert!(alerts.contains("slo_severity: \"ticket\""));
    assert!(alerts.contains("slo_objective: \"99.9\""));
}

#[test]
fn latency_slis_count_slow_events_and_keep_the_selector() {
    let rules = repository_rules();
    let r = rule(
        &rules,
        "slo-hireplane-api-latency-recordings",
        "record",
        "slo:sli_error:ratio_rate5m",
    );
    assert!(
        r.contains(r#"sum(rate(hireplane_api_request_duration_seconds_bucket{operation!="report", le="0.25"}[5m]))"#),
        "{r}"
    );
    assert!(
        r.contains(r#"(sum(rate(hireplane_api_request_duration_seconds_count{operation!="report"}[5m])) > 0)"#),
        "{r}"
    );
    assert!(r.contains("1 - ("), "{r}");
    // An integral threshold matches `le="1"` and Prometheus 3's `le="1.0"`.
    let text = "version: hireplane-slo/1\nservice: s\nslos:\n  - name: l\n    description: d\n    objective: 99\n    latency: {metric: m, threshold_seconds: 1.0}\n";
    let rules = render_rules(&Spec::parse(text, "t.yaml").unwrap());
    assert!(
        rules.contains(r#"sum(rate(m_bucket{le=~"1|1\\.0"}[5m]))"#),
        "{rules}"
    );
}

#[test]
fn strings_are_quoted_and_custom_alerts_are_kept() {
    let text = r#"version: hireplane-slo/1
service: s
labels: {team: "a \"quoted\" team"}
slos:
  - name: e
    description: "Two\nlines."
    objective: 99.5
    events:
      error_query: sum(rate(e[{{window}}]))
      total_query: sum(rate(t[{{window}}]))
    alerts:
      page: {name: Custom, labels: {severity: critical}, annotations: {runbook: "r: 1"}}
      ticket: {enabled: false}
"#;
    let rules = render_rules(&Spec::parse(text, "t.yaml").unwrap());
    assert!(rules.contains(r#"team: "a \"quoted\" team""#), "{rules}");
    assert!(rules.contains(r#"runbook: "r: 1""#), "{rules}");
    assert!(rules.contains("Two\\nlines."), "{rules}");
    assert!(rules.contains("- alert: \"Custom\""), "{rules}");
    assert!(rules.contains("severity: \"critical\""), "{rules}");
    assert!(!rules.contains("ticket"), "{rules}");
    assert!(rules.contains("vector(0.995)"), "{rules}");
    assert!(rules.contains("vector(0.005)"), "{rules}");
}
