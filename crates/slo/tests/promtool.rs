//! The rules generated from the repository's `slo.yaml`, checked by Prometheus itself:
//! `promtool check rules`, and `promtool test rules` on synthetic series (a burst of errors
//! pages, a slow burn opens a ticket, a healthy error rate and zero traffic raise nothing).
//!
//! promtool is the program HIREPLANE_TEST_PROMTOOL names, or else `promtool` on PATH (Debian:
//! `apt-get install prometheus`), as the build script found it (`build/test-cfg.rs`, cfg
//! `hp_promtool`). Without it the tests are reported as ignored, with the reason, and CI (which
//! fails on any ignored test) installs it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use slo::{Spec, render_rules};

/// The promtool the build script found (see `build/test-cfg.rs`).
#[cfg(hp_promtool)]
fn promtool() -> String {
    env!("HIREPLANE_PROMTOOL").to_string()
}

/// None was found: the tests that call this are ignored, with the reason, unless asked for.
#[cfg(not(hp_promtool))]
fn promtool() -> String {
    panic!("promtool was not found when crate `slo` was built: set HIREPLANE_TEST_PROMTOOL")
}

/// Writes the rules generated from the repository's `slo.yaml` into `dir`.
fn write_rules(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../slo.yaml"))
        .expect("slo.yaml at the repository root");
    let spec = Spec::parse(&text, "slo.yaml").unwrap();
    let path = dir.join("slo.rules.yml");
    std::fs::write(&path, render_rules(&spec)).unwrap();
    path
}

fn run(promtool: &str, args: &[&str]) -> String {
    let out = Command::new(promtool).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "`promtool {}` failed:\n{text}",
        args.join(" ")
    );
    text
}

#[test]
#[cfg_attr(
    not(hp_promtool),
    ignore = "needs promtool (apt-get install prometheus, or HIREPLANE_TEST_PROMTOOL)"
)]
fn promtool_checks_the_generated_rules() {
    let promtool = promtool();
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let out = run(&promtool, &["check", "rules", rules.to_str().unwrap()]);
    // 4 SLOs × (8 error ratios + 7 metadata rules + 2 alerts).
    assert!(out.contains("SUCCESS: 68 rules found"), "{out}");
}

/// The labels of an alert of `slo`, as promtool expands them (without `alertname`).
fn alert(slo: &str, objective: &str, severity: &str, annotations: (&str, &str)) -> String {
    format!(
        r#"
          - exp_labels:
              severity: {severity}
              slo_name: {slo}
              slo_objective: "{objective}"
              slo_service: hireplane
              slo_severity: {severity}
            exp_annotations:
              summary: "hireplane {slo}: the error budget burns {pace} ({severity})"
              description: "{description}"
"#,
        pace = annotations.0,
        description = annotations.1,
    )
}

const AVAILABILITY_PAGE: (&str, &str) = (
    "fast",
    "API requests do not fail with a server error or a timeout. Objective 99.9% over 30d; this \
     alert fires when the error ratio exceeds the error budget (0.001) by 14.4x over 1h and 5m, \
     or 6x over 6h and 30m.",
);
const AVAILABILITY_TICKET: (&str, &str) = (
    "steadily",
    "API requests do not fail with a server error or a timeout. Objective 99.9% over 30d; this \
     alert fires when the error ratio exceeds the error budget (0.001) by 3x over 1d and 2h, \
     or 1x over 3d and 6h.",
);
const LATENCY_PAGE: (&str, &str) = (
    "fast",
    "API requests other than reports are answered within 250 ms. Objective 99% over 30d; this \
     alert fires when the error ratio exceeds the error budget (0.01) by 14.4x over 1h and 5m, \
     or 6x over 6h and 30m.",
);
const LATENCY_TICKET: (&str, &str) = (
    "steadily",
    "API requests other than reports are answered within 250 ms. Objective 99% over 30d; this \
     alert fires when the error ratio exceeds the error budget (0.01) by 3x over 1d and 2h, \
     or 1x over 3d and 6h.",
);

#[test]
#[cfg_attr(
    not(hp_promtool),
    ignore = "needs promtool (apt-get install prometheus, or HIREPLANE_TEST_PROMTOOL)"
)]
fn promtool_unit_tests_pass_on_the_generated_rules() {
    let promtool = promtool();
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let availability = "HireplaneApiAvailabilityBurnRate";
    let latency = "HireplaneApiLatencyBurnRate";
    let requests = "hireplane_api_requests_total";
    let duration = "hireplane_api_request_duration_seconds";

    // Three hours of samples, one a minute; eval at 3h.
    let tests = format!(
        r#"rule_files:
  - {rules}
evaluation_interval: 1m
tests:
  # 100 requests a minute, all good for 170 minutes, then all failing for 10: the 5m and 1h
  # ratios (1 and 1/6) are far above 14.4 x 0.001, so it pages; the 2h and 1d ratios (1/12,
  # 1/18) are above 3 x 0.001, so the ticket fires too.
  - name: a burst of errors pages
    interval: 1m
    input_series:
      - series: '{requests}{{operation="list_candidates", outcome="ok"}}'
        values: '0+100x170 17000x10'
      - series: '{requests}{{operation="list_candidates", outcome="server_error"}}'
        values: '0x170 100+100x9'
    alert_rule_test:
      - alertname: {availability}
        eval_time: 150m
        exp_alerts: []
      - alertname: {availability}
        eval_time: 180m
        exp_alerts:{page}{ticket}
    promql_expr_test:
      - expr: slo:sli_error:ratio_rate5m{{slo_name="api-availability"}}
        eval_time: 180m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{{slo_service="hireplane", slo_name="api-availability", slo_window="5m"}}'
            value: 1

  # 0.5% of requests fail, five times the budget: above 3 x and 1 x the budget on every long
  # window, a ticket; below 6 x and 14.4 x, no page.
  - name: a slow burn opens a ticket
    interval: 1m
    input_series:
      - series: '{requests}{{operation="list_candidates", outcome="ok"}}'
        values: '0+995x180'
      - series: '{requests}{{operation="list_candidates", outcome="timeout"}}'
        values: '0+5x180'
    alert_rule_test:
      - alertname: {availability}
        eval_time: 180m
        exp_alerts:{ticket}

  # 0.05% of requests fail, half the budget; client errors and rate limiting are not failures.
  - name: a healthy error rate raises nothing
    interval: 1m
    input_series:
      - series: '{requests}{{operation="list_candidates", outcome="ok"}}'
        values: '0+9000x180'
      - series: '{requests}{{operation="list_candidates", outcome="client_error"}}'
        values: '0+500x180'
      - series: '{requests}{{operation="list_candidates", outcome="rate_limited"}}'
        values: '0+495x180'
      - series: '{requests}{{operation="list_candidates", outcome="server_error"}}'
        values: '0+5x180'
    alert_rule_test:
      - alertname: {availability}
        eval_time: 180m
        exp_alerts: []
    promql_expr_test:
      # Half the budget spent: rounded, as the ratios are floating point.
      - expr: round(slo:period_error_budget_remaining:ratio{{slo_name="api-availability"}}, 0.001)
        eval_time: 180m
        exp_samples:
          - labels: '{{slo_service="hireplane", slo_name="api-availability", slo_window="30d"}}'
            value: 0.5

  # Counters that stop moving: no traffic, so no ratio at all (not NaN) and no alert.
  - name: zero traffic raises nothing
    interval: 1m
    input_series:
      - series: '{requests}{{operation="list_candidates", outcome="ok"}}'
        values: '1000x180'
      - series: '{requests}{{operation="list_candidates", outcome="server_error"}}'
        values: '1000x180'
    alert_rule_test:
      - alertname: {availability}
        eval_time: 180m
        exp_alerts: []
    promql_expr_test:
      - expr: slo:sli_error:ratio_rate1h{{slo_name="api-availability"}}
        eval_time: 180m
        exp_samples: []

  # No error counter at all (never incremented): zero errors, not a missing ratio.
  - name: a missing error series counts as no errors
    interval: 1m
    input_series:
      - series: '{requests}{{operation="list_candidates", outcome="ok"}}'
        values: '0+100x180'
    promql_expr_test:
      - expr: slo:sli_error:ratio_rate5m{{slo_name="api-availability"}}
        eval_time: 180m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{{slo_service="hireplane", slo_name="api-availability", slo_window="5m"}}'
            value: 0

  # Latency: other operations are fast until the last 10 minutes, when all of them take over
  # 250 ms (1h ratio 1/6 > 14.4 x 0.01: page; 2h and 1d above 3 x 0.01: ticket). Reports are
  # always slow and must not count against the API latency SLO: nothing fires before.
  - name: slow requests page, slow reports do not
    interval: 1m
    input_series:
      - series: '{duration}_bucket{{operation="list_candidates", le="0.25"}}'
        values: '0+100x170 17000x10'
      - series: '{duration}_count{{operation="list_candidates"}}'
        values: '0+100x180'
      - series: '{duration}_bucket{{operation="report", le="0.25"}}'
        values: '0x180'
      - series: '{duration}_count{{operation="report"}}'
        values: '0+100x180'
    alert_rule_test:
      - alertname: {latency}
        eval_time: 170m
        exp_alerts: []
      - alertname: {latency}
        eval_time: 180m
        exp_alerts:{latency_page}{latency_ticket}
"#,
        rules = rules.display(),
        page = alert("api-availability", "99.9", "page", AVAILABILITY_PAGE),
        ticket = alert("api-availability", "99.9", "ticket", AVAILABILITY_TICKET),
        latency_page = alert("api-latency", "99", "page", LATENCY_PAGE),
        latency_ticket = alert("api-latency", "99", "ticket", LATENCY_TICKET),
    );
    let test_file = dir.path().join("slo.test.yml");
    std::fs::write(&test_file, tests).unwrap();
    let out = run(&promtool, &["test", "rules", test_file.to_str().unwrap()]);
    assert!(out.contains("SUCCESS"), "{out}");
}
