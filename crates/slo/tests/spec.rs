//! Reading and checking specs: what is accepted, and that each refusal names the input at fault
//! with its `FILE:LINE:COL`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use slo::{Sli, SloErrorKind, Spec};

/// The message of the error `text` gives.
fn error(text: &str) -> String {
    match Spec::parse(text, "slo.yaml") {
        Ok(spec) => panic!("expected an error, got {spec:?}"),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str = "version: hireplane-slo/1\nservice: hireplane\nslos:\n";

const EVENTS: &str = "    events:\n      error_query: sum(rate(e[{{window}}]))\n      total_query: sum(rate(t[{{window}}]))\n";

#[test]
fn a_full_spec_reads() {
    let text = r#"version: hireplane-slo/1
service: hireplane
labels:
  team: platform
slos:
  - name: api-availability
    description: API requests succeed.
    objective: 99.95
    period: 4w
    labels: {tier: "1"}
    events:
      error_query: |
        sum(rate(http_requests_total{code=~"5.."}[{{window}}]))
      total_query: sum(rate(http_requests_total[{{window}}]))
    alerts:
      page:
        name: ApiDown
        labels: {team: api}
        annotations: {runbook: "https://example.invalid/runbook"}
      ticket: {enabled: false}
  - name: api-latency
    description: Fast.
    objective: 99
    latency:
      metric: http_request_duration_seconds
      threshold_seconds: 0.250
      selector: 'route!="/metrics"'
      buckets: [0.1, 0.25, 1]
"#;
    let spec = Spec::parse(text, "slo.yaml").unwrap();
    assert_eq!(spec.service, "hireplane");
    assert_eq!(spec.labels["team"], "platform");
    let [availability, latency] = &spec.slos[..] else {
        panic!("two SLOs expected")
    };
    assert_eq!(availability.objective.to_string(), "99.95");
    assert_eq!(availability.objective_ratio().to_string(), "0.9995");
    assert_eq!(availability.error_budget().to_string(), "0.0005");
    assert_eq!(availability.period.days, 28);
    assert_eq!(availability.labels["tier"], "1");
    match &availability.sli {
        Sli::Events { error_query, .. } => assert_eq!(
            error_query,
            r#"sum(rate(http_requests_total{code=~"5.."}[{{window}}]))"#
        ),
        other => panic!("events expected, got {other:?}"),
    }
    assert_eq!(availability.alerts.page.name, "ApiDown");
    assert_eq!(availability.alerts.page.labels["severity"], "page");
    assert_eq!(availability.alerts.page.labels["team"], "api");
    assert!(!availability.alerts.ticket.enabled);

    assert_eq!(latency.period.days, 30, "the default period");
    assert_eq!(latency.alerts.page.name, "HireplaneApiLatencyBurnRate");
    assert_eq!(latency.alerts.ticket.labels["severity"], "ticket");
    match &latency.sli {
        Sli::Latency {
            threshold_seconds,
            selector,
            ..
        } => {
            assert_eq!(threshold_seconds.to_string(), "0.25");
            assert_eq!(selector, r#"route!="/metrics""#);
        }
        other => panic!("latency expected, got {other:?}"),
    }
}

#[test]
fn the_repository_spec_reads() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../slo.yaml"))
        .expect("slo.yaml at the repository root");
    let spec = Spec::parse(&text, "slo.yaml").unwrap();
    let names: Vec<&str> = spec.slos.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "api-availability",
            "api-latency",
            "report-availability",
            "report-latency"
        ]
    );
}

#[test]
fn an_objective_out_of_range_is_refused_at_its_node() {
    let text = format!("{HEAD}  - name: a\n    description: d\n    objective: 100.5\n{EVENTS}");
    assert_eq!(
        error(&text),
        "slo.yaml:6:16: `objective` must be between 0 and 100 (exclusive), got 100.5"
    );
    for bad in ["100", "0", "-5", "abc", "99.9%", "1e2"] {
        let text = format!("{HEAD}  - name: a\n    description: d\n    objective: {bad}\n{EVENTS}");
        let e = Spec::parse(&text, "slo.yaml").unwrap_err();
        assert!(
            matches!(e.kind, SloErrorKind::Objective { .. }),
            "{bad}: {e}"
        );
        assert_eq!((e.at.line, e.at.column), (6, 16), "{bad}: {e}");
    }
}

#[test]
fn an_objective_too_low_for_the_page_alert_is_refused_unless_it_is_disabled() {
    let text = format!("{HEAD}  - name: a\n    description: d\n    objective: 90\n{EVENTS}");
    let e = error(&text);
    assert!(
        e.starts_with("slo.yaml:6:16: `objective` 90 leaves an error budget of 0.1"),
        "{e}"
    );
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objective: 90\n{EVENTS}    alerts:\n      page:\n        enabled: false\n"
    );
    Spec::parse(&text, "slo.yaml").unwrap();
    // 93.1% is just enough: 14.4 × 0.069 = 0.9936.
    let text = format!("{HEAD}  - name: a\n    description: d\n    objective: 93.1\n{EVENTS}");
    Spec::parse(&text, "slo.yaml").unwrap();
}

#[test]
fn unknown_keys_are_refused_where_they_are() {
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objetive: 99.9\n    objective: 99.9\n{EVENTS}"
    );
    let e = error(&text);
    assert!(
        e.starts_with("slo.yaml:6:5: unknown key `objetive` in slos[]; expected one of `name`,"),
        "{e}"
    );
    let text = "version: hireplane-slo/1\nservice: s\nslo: []\n";
    assert!(
        error(text).starts_with("slo.yaml:3:1: unknown key `slo` in the spec"),
        "{}",
        error(text)
    );
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objective: 99\n    latency:\n      metric: m\n      threshold: 0.25\n"
    );
    assert!(
        error(&text).starts_with("slo.yaml:9:7: unknown key `threshold` in latency"),
        "{}",
        error(&text)
    );
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objective: 99\n{EVENTS}    alerts:\n      pager: {{}}\n"
    );
    assert!(
        error(&text).starts_with("slo.yaml:11:7: unknown key `pager` in alerts"),
        "{}",
        error(&text)
    );
}

#[test]
fn an_slo_without_an_sli_is_refused_at_the_slo() {
    let text = format!("{HEAD}  - name: a\n    description: d\n    objective: 99.9\n");
    assert_eq!(
        error(&text),
        "slo.yaml:4:5: an SLO needs exactly one SLI: `events` or `latency` (SLO `a` has neither)"
    );
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objective: 99.9\n{EVENTS}    latency:\n      metric: m\n      threshold_seconds: 1\n"
    );
    assert_eq!(
        error(&text),
        "slo.yaml:10:5: an SLO needs exactly one SLI: `events` or `latency`, not both"
    );
}

#[test]
fn duplicate_names_are_refused_at_the_second() {
    let slo =
        |name: &str| format!("  - name: {name}\n    description: d\n    objective: 99.9\n{EVENTS}");
    let text = format!("{HEAD}{}{}{}", slo("a"), slo("b"), slo("a"));
    assert_eq!(
        error(&text),
        "slo.yaml:16:11: SLO name `a` is already used on line 4"
    );
}

#[test]
fn duplicate_keys_are_refused() {
    let text = "version: hireplane-slo/1\nservice: a\nservice: b\nslos: []\n";
    assert_eq!(
        error(text),
        "slo.yaml:3:1: `service` is given twice (first on line 2)"
    );
}

#[test]
fn missing_keys_and_wrong_types_are_named() {
    let text = "version: hireplane-slo/1\nslos: []\n";
    assert_eq!(
        error(text),
        "slo.yaml:1:1: `service` is missing in the spec"
    );
    let text = format!("{HEAD}  - name: a\n    objective: 99.9\n{EVENTS}");
    assert_eq!(
        error(&text),
        "slo.yaml:4:5: `description` is missing in an SLO"
    );
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objective: 99.9\n    events:\n      error_query: x[{{{{window}}}}]\n"
    );
    assert_eq!(
        error(&text),
        "slo.yaml:8:7: `total_query` is missing in `events`"
    );
    let text = "version: hireplane-slo/1\nservice: s\nslos: {a: 1}\n";
    assert_eq!(
        error(text),
        "slo.yaml:3:7: `slos` must be a list of SLOs, got a mapping"
    );
    let text = "version: hireplane-slo/2\nservice: s\nslos: []\n";
    assert_eq!(
        error(text),
        "slo.yaml:1:10: `version` must be `hireplane-slo/1`, got `hireplane-slo/2`"
    );
}

#[test]
fn queries_need_the_window_placeholder() {
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objective: 99.9\n    events:\n      error_query: sum(rate(e[{{{{.window}}}}]))\n      total_query: sum(rate(t[5m]))\n"
    );
    assert_eq!(
        error(&text),
        "slo.yaml:8:20: `error_query` must contain the `{{window}}` placeholder (Sloth's `{{.window}}` is written `{{window}}` here)"
    );
}

#[test]
fn the_latency_threshold_must_be_a_listed_bucket() {
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objective: 99\n    latency:\n      metric: m\n      threshold_seconds: 0.3\n      buckets: [0.1, 0.25, 1]\n"
    );
    assert_eq!(
        error(&text),
        "slo.yaml:9:26: `threshold_seconds` must be one of the histogram's `buckets` (0.1, 0.25, 1), got 0.3"
    );
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objective: 99\n    latency:\n      metric: m_bucket\n      threshold_seconds: 1\n"
    );
    assert_eq!(
        error(&text),
        "slo.yaml:8:15: `metric` must be the histogram's base name, without `_bucket` (got `m_bucket`)"
    );
}

#[test]
fn reserved_labels_bad_periods_and_bad_yaml_are_refused() {
    let text = "version: hireplane-slo/1\nservice: s\nlabels:\n  slo_name: x\nslos: []\n";
    assert_eq!(
        error(text),
        "slo.yaml:4:3: `slo_name` is reserved: the generator sets the `slo_*` labels"
    );
    let text = format!(
        "{HEAD}  - name: a\n    description: d\n    objective: 99\n    period: 2d\n{EVENTS}"
    );
    assert_eq!(
        error(&text),
        "slo.yaml:7:13: `period` must be whole days or weeks from 7d to 365d (`30d`, `28d`, `4w`), got `2d`"
    );
    let e = Spec::parse("version: [unclosed\n", "x.yaml").unwrap_err();
    assert!(matches!(e.kind, SloErrorKind::Syntax { .. }), "{e}");
    assert!(e.to_string().starts_with("x.yaml:"), "{e}");
    let e = Spec::parse("# nothing\n", "x.yaml").unwrap_err();
    assert_eq!(e.kind, SloErrorKind::Empty);
    let e = Spec::parse("a: &x 1\nb: *x\n", "x.yaml").unwrap_err();
    assert_eq!(e.kind, SloErrorKind::AnchorOrTag);
}
