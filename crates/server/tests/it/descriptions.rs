//! Every type, field, argument, input field and enum value of the API has a description, so
//! that GraphiQL's docs pane documents the whole API: the schema is introspected as a client
//! would, and every element without one (or with one that only repeats its name) is listed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;

const INTROSPECTION: &str = r#"{
  __schema {
    types {
      kind name description
      fields(includeDeprecated: true) {
        name description
        args { name description }
      }
      inputFields { name description }
      enumValues(includeDeprecated: true) { name description }
    }
  }
}"#;

fn introspect() -> Value {
    let schema = server::graphql::schema(&server::settings::Limits::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let resp = rt.block_on(schema.execute(INTROSPECTION));
    assert!(resp.errors.is_empty(), "{:?}", resp.errors);
    resp.data.into_json().unwrap()
}

/// Whether `d` describes `name` rather than being absent, empty or its name again.
fn describes(name: &str, d: &Value) -> bool {
    let Some(d) = d.as_str() else {
        return false;
    };
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let d = d.trim();
    !d.is_empty() && squash(d) != squash(name)
}

#[test]
fn every_element_of_the_schema_is_described() {
    let data = introspect();
    let types = data["__schema"]["types"].as_array().unwrap();
    let mut missing = Vec::new();
    let mut counted = 0;
    for t in types {
        let name = t["name"].as_str().unwrap();
        // GraphQL's own types (`__Type`) and built-in scalars (`String`) are the spec's.
        if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
            continue;
        }
        counted += 1;
        if !describes(name, &t["description"]) {
            missing.push(format!("type {name}"));
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            let fname = f["name"].as_str().unwrap();
            if !describes(fname, &f["description"]) {
                missing.push(format!("field {name}.{fname}"));
            }
            for a in f["args"].as_array().into_iter().flatten() {
                let aname = a["name"].as_str().unwrap();
                if !describes(aname, &a["description"]) {
                    missing.push(format!("argument {name}.{fname}({aname})"));
                }
            }
        }
        for f in t["inputFields"].as_array().into_iter().flatten() {
            let fname = f["name"].as_str().unwrap();
            if !describes(fname, &f["description"]) {
                missing.push(format!("input field {name}.{fname}"));
            }
        }
        for v in t["enumValues"].as_array().into_iter().flatten() {
            let vname = v["name"].as_str().unwrap();
            if !describes(vname, &v["description"]) {
                missing.push(format!("enum value {name}.{vname}"));
            }
        }
    }
    // The test looked at the API, not at an empty schema.
    assert!(counted > 50, "only {counted} types");
    assert!(
        missing.is_empty(),
        "{} elements lack a description:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn the_check_catches_a_missing_description() {
    assert!(!describes("status", &Value::Null));
    assert!(!describes("status", &Value::String(" ".into())));
    assert!(!describes("appliedAt", &Value::String("Applied at".into())));
    assert!(describes(
        "status",
        &Value::String("Where it stands".into())
    ));
}
