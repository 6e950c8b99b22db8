//! Unleash's client specification: every file `index.json` lists in
//! `../shared/conformance/unleash-client-specification/` (beside the repository, or the folder
//! `HIREPLANE_TEST_UNLEASH_SPEC` names), each of its `tests` (is the toggle on for the context)
//! and `variantTests` (which variant, with its payload), run through [`flags::Flags`]. Every
//! case must pass. Without the folder the test is reported as ignored, with the reason (the
//! build script sets cfg `hp_unleash_spec`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use flags::{Context, Flags};
use serde_json::Value;

/// An Unleash context of the specification as hireplane's [`Context`].
#[cfg_attr(not(hp_unleash_spec), allow(dead_code))]
fn context(v: &Value) -> Context {
    let mut cx = Context::new().without_app_name();
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    if let Some(s) = text("userId") {
        cx = cx.user(s);
    }
    if let Some(s) = text("sessionId") {
        cx = cx.session(s);
    }
    if let Some(s) = text("remoteAddress") {
        cx = cx.remote_address(s);
    }
    if let Some(s) = text("environment") {
        cx = cx.environment(s);
    }
    if let Some(s) = text("appName") {
        cx = cx.app_name(s);
    }
    if let Some(s) = text("currentTime") {
        let at: jiff::Timestamp = s
            .parse()
            .unwrap_or_else(|e| panic!("currentTime `{s}`: {e}"));
        cx = cx.current_time(at);
    }
    if let Some(props) = v.get("properties").and_then(Value::as_object) {
        for (k, value) in props {
            // A null property is no property (as the SDKs read a context).
            match value {
                Value::Null => {}
                Value::String(s) => cx = cx.property(k, s),
                other => cx = cx.property(k, &other.to_string()),
            }
        }
    }
    cx
}

/// The specification's folder, found at build time (build/test-cfg.rs).
#[cfg(hp_unleash_spec)]
fn spec_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("HIREPLANE_UNLEASH_SPEC_DIR"))
}

/// Not found at build time: the test is ignored, and run anyway (`--ignored`) it says why.
#[cfg(not(hp_unleash_spec))]
fn spec_dir() -> std::path::PathBuf {
    panic!("the specification folder was not found at build time")
}

#[test]
#[cfg_attr(
    not(hp_unleash_spec),
    ignore = "../shared/conformance/unleash-client-specification is absent beside the repository \
              (or set HIREPLANE_TEST_UNLEASH_SPEC to the folder)"
)]
fn every_case_of_the_unleash_client_specification_passes() {
    let dir = spec_dir();
    let index: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    assert!(!index.is_empty());
    let (mut toggles, mut variants) = (0, 0);
    let mut failures = Vec::new();
    for file in &index {
        let spec: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        let flags = Flags::from_unleash_json(&spec["state"].to_string())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        for case in spec["tests"].as_array().into_iter().flatten() {
            toggles += 1;
            let name = case["toggleName"].as_str().unwrap();
            let got = flags.evaluate(name, &context(&case["context"]));
            if Value::Bool(got) != case["expectedResult"] {
                failures.push(format!(
                    "{file}: {}: expected {}, got {got}",
                    case["description"], case["expectedResult"]
                ));
            }
        }
        for case in spec["variantTests"].as_array().into_iter().flatten() {
            variants += 1;
            let name = case["toggleName"].as_str().unwrap();
            let v = flags.variant(name, &context(&case["context"]));
            let expected = &case["expectedResult"];
            let mut got = serde_json::json!({
                "name": v.name,
                "enabled": v.enabled,
            });
            if let Some(p) = &v.payload {
                got["payload"] = serde_json::json!({"type": p.kind, "value": p.value});
            }
            // Older files have no `feature_enabled`; newer ones spell it both ways.
            for key in ["feature_enabled", "featureEnabled"] {
                if expected.get(key).is_some() {
                    got[key] = Value::Bool(v.feature_enabled);
                }
            }
            if &got != expected {
                failures.push(format!(
                    "{file}: {}: expected {expected}, got {got}",
                    case["description"]
                ));
            }
        }
    }
    println!(
        "unleash client specification: {} files, {toggles} toggle cases and {variants} variant \
         cases ran, {} failed",
        index.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(toggles > 0 && variants > 0);
}
