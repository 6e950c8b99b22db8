//! One evaluation of a flag with a rollout and two constraints (issue 20's target: under 1 µs
//! median), and its variant. `cargo bench --workspace --bench evaluate`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use flags::{Context, Flags};

const DEFINITION: &str = r#"{"version": 1, "features": [{
    "name": "new-pipeline-board", "enabled": true,
    "strategies": [{"name": "flexibleRollout",
        "parameters": {"rollout": "50", "stickiness": "orgId", "groupId": "new-pipeline-board"},
        "constraints": [
            {"contextName": "role", "operator": "IN", "values": ["admin", "recruiter"]},
            {"contextName": "environment", "operator": "NOT_IN", "values": ["test"]}
        ]}],
    "variants": [
        {"name": "compact", "weight": 500, "stickiness": "orgId"},
        {"name": "wide", "weight": 500, "stickiness": "orgId"}
    ]}]}"#;

fn evaluate(c: &mut Criterion) {
    let flags = Flags::from_unleash_json(DEFINITION).unwrap();
    let contexts: Vec<Context> = (0..64)
        .map(|i| {
            Context::new()
                .org(&format!("org_{i}"))
                .user(&format!("usr_{i}"))
                .role("recruiter")
                .environment("production")
                .replica_version("0.1.0")
        })
        .collect();
    assert!(
        contexts
            .iter()
            .any(|cx| flags.evaluate("new-pipeline-board", cx))
    );
    let mut i = 0;
    c.bench_function("evaluate: rollout + two constraints", |b| {
        b.iter(|| {
            i = (i + 1) % contexts.len();
            flags.evaluate("new-pipeline-board", std::hint::black_box(&contexts[i]))
        })
    });
    c.bench_function("variant: rollout + two constraints", |b| {
        b.iter(|| {
            i = (i + 1) % contexts.len();
            flags.variant("new-pipeline-board", std::hint::black_box(&contexts[i]))
        })
    });
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
