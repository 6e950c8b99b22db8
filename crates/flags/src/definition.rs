//! Checking Unleash definitions before the engine sees them: a feature (one flag) and a segment,
//! in Unleash's feature JSON. The engine itself is lenient (an unknown operator is simply false);
//! a definition an admin sets or imports is refused instead, with the JSON path of the first
//! problem (`` `strategies[0].constraints[1].operator`: unknown operator `FOO` ``).
//!
//! What is checked: the shape (types of every field Unleash reads), operator names, weights
//! (0 to 1000, Unleash's permille), `weightType`, segment ids, bounded sizes (so a definition
//! cannot make every evaluation slow). What is left to Unleash's semantics: unknown strategy
//! names (a custom strategy, false here), a regular expression that does not compile (false), a
//! dependency on a flag that does not exist (false).

use serde_json::Value;
use unleash_types::client_features::{ClientFeature, Segment};

/// The constraint operators Unleash defines (and yggdrasil evaluates).
pub const OPERATORS: &[&str] = &[
    "IN",
    "NOT_IN",
    "STR_STARTS_WITH",
    "STR_ENDS_WITH",
    "STR_CONTAINS",
    "NUM_EQ",
    "NUM_GT",
    "NUM_GTE",
    "NUM_LT",
    "NUM_LTE",
    "DATE_AFTER",
    "DATE_BEFORE",
    "SEMVER_EQ",
    "SEMVER_GT",
    "SEMVER_GTE",
    "SEMVER_LT",
    "SEMVER_LTE",
    "IN_CIDR",
    "REGEX",
];

/// The longest flag name.
pub const MAX_NAME: usize = 200;
/// The most elements of any list in a definition (strategies, constraints, values, variants).
pub const MAX_LIST: usize = 1000;
/// The longest string value in a definition (a constraint value, a payload).
pub const MAX_TEXT: usize = 10_000;

/// A definition that is not one Unleash would accept: where (the JSON path) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}`: {message}")]
pub struct DefinitionError {
    /// The JSON path of the offending value (`strategies[0].constraints[1].operator`), `.` for
    /// the whole document.
    pub path: String,
    pub message: String,
}

impl DefinitionError {
    fn new(path: &str, message: impl Into<String>) -> DefinitionError {
        DefinitionError {
            path: if path.is_empty() {
                ".".to_owned()
            } else {
                path.to_owned()
            },
            message: message.into(),
        }
    }

    /// The same error under a prefix (`features[3]` + `strategies[0]`).
    pub fn under(mut self, prefix: &str) -> DefinitionError {
        self.path = join(prefix, if self.path == "." { "" } else { &self.path });
        self
    }
}

fn join(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if rest.starts_with('[') => format!("{prefix}{rest}"),
        (false, false) => format!("{prefix}.{rest}"),
    }
}

fn field(path: &str, name: &str) -> String {
    join(path, name)
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn object<'a>(
    v: &'a Value,
    path: &str,
) -> Result<&'a serde_json::Map<String, Value>, DefinitionError> {
    v.as_object()
        .ok_or_else(|| DefinitionError::new(path, format!("expected an object, found {}", kind(v))))
}

/// A list field that may be absent or null (Unleash omits empty lists).
fn list<'a>(
    obj: &'a serde_json::Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<&'a [Value], DefinitionError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) if items.len() > MAX_LIST => Err(DefinitionError::new(
            &field(path, name),
            format!("at most {MAX_LIST} elements, found {}", items.len()),
        )),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(DefinitionError::new(
            &field(path, name),
            format!("expected a list, found {}", kind(other)),
        )),
    }
}

fn text<'a>(v: &'a Value, path: &str) -> Result<&'a str, DefinitionError> {
    match v {
        Value::String(s) if s.len() > MAX_TEXT => Err(DefinitionError::new(
            path,
            format!("at most {MAX_TEXT} bytes, found {}", s.len()),
        )),
        Value::String(s) => Ok(s),
        other => Err(DefinitionError::new(
            path,
            format!("expected a string, found {}", kind(other)),
        )),
    }
}

fn required<'a>(
    obj: &'a serde_json::Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<&'a Value, DefinitionError> {
    obj.get(name)
        .ok_or_else(|| DefinitionError::new(&field(path, name), "missing"))
}

fn optional_text<'a>(
    obj: &'a serde_json::Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<&'a str>, DefinitionError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => text(v, &field(path, name)).map(Some),
    }
}

fn optional_bool(
    obj: &serde_json::Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<(), DefinitionError> {
    match obj.get(name) {
        None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(()),
        Some(other) => Err(DefinitionError::new(
            &field(path, name),
            format!("expected a boolean, found {}", kind(other)),
        )),
    }
}

fn weight(obj: &serde_json::Map<String, Value>, path: &str) -> Result<(), DefinitionError> {
    let at = field(path, "weight");
    let v = required(obj, "weight", path)?;
    match v.as_i64() {
        Some(w) if (0..=1000).contains(&w) => Ok(()),
        Some(w) => Err(DefinitionError::new(
            &at,
            format!("a weight is between 0 and 1000 (permille), found {w}"),
        )),
        None => Err(DefinitionError::new(
            &at,
            format!("expected a whole number, found {}", kind(v)),
        )),
    }
}

fn check_name(v: &Value, path: &str) -> Result<(), DefinitionError> {
    let name = text(v, path)?;
    if name.is_empty() {
        return Err(DefinitionError::new(path, "a flag name is not empty"));
    }
    if name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(DefinitionError::new(
            path,
            format!("a flag name has at most {MAX_NAME} bytes and no control characters"),
        ));
    }
    Ok(())
}

fn check_constraint(v: &Value, path: &str) -> Result<(), DefinitionError> {
    let obj = object(v, path)?;
    text(
        required(obj, "contextName", path)?,
        &field(path, "contextName"),
    )?;
    let operator = text(required(obj, "operator", path)?, &field(path, "operator"))?;
    if !OPERATORS.contains(&operator) {
        return Err(DefinitionError::new(
            &field(path, "operator"),
            format!("unknown operator `{operator}`"),
        ));
    }
    optional_bool(obj, "caseInsensitive", path)?;
    optional_bool(obj, "inverted", path)?;
    optional_text(obj, "value", path)?;
    let values_path = field(path, "values");
    for (i, value) in list(obj, "values", path)?.iter().enumerate() {
        text(value, &index(&values_path, i))?;
    }
    Ok(())
}

fn check_constraints(
    obj: &serde_json::Map<String, Value>,
    path: &str,
) -> Result<(), DefinitionError> {
    let at = field(path, "constraints");
    for (i, c) in list(obj, "constraints", path)?.iter().enumerate() {
        check_constraint(c, &index(&at, i))?;
    }
    Ok(())
}

fn check_payload(obj: &serde_json::Map<String, Value>, path: &str) -> Result<(), DefinitionError> {
    match obj.get("payload") {
        None | Some(Value::Null) => Ok(()),
        Some(p) => {
            let at = field(path, "payload");
            let payload = object(p, &at)?;
            text(required(payload, "type", &at)?, &field(&at, "type"))?;
            text(required(payload, "value", &at)?, &field(&at, "value"))?;
            Ok(())
        }
    }
}

fn check_variant(v: &Value, path: &str, feature_level: bool) -> Result<(), DefinitionError> {
    let obj = object(v, path)?;
    text(required(obj, "name", path)?, &field(path, "name"))?;
    weight(obj, path)?;
    optional_text(obj, "stickiness", path)?;
    check_payload(obj, path)?;
    if feature_level {
        if let Some(t) = optional_text(obj, "weightType", path)?
            && t != "variable"
            && t != "fix"
        {
            return Err(DefinitionError::new(
                &field(path, "weightType"),
                format!("expected `variable` or `fix`, found `{t}`"),
            ));
        }
        let at = field(path, "overrides");
        for (i, o) in list(obj, "overrides", path)?.iter().enumerate() {
            let here = index(&at, i);
            let o = object(o, &here)?;
            text(
                required(o, "contextName", &here)?,
                &field(&here, "contextName"),
            )?;
            let values_at = field(&here, "values");
            let values = required(o, "values", &here)?;
            let values = values.as_array().ok_or_else(|| {
                DefinitionError::new(
                    &values_at,
                    format!("expected a list, found {}", kind(values)),
                )
            })?;
            for (j, value) in values.iter().enumerate() {
                text(value, &index(&values_at, j))?;
            }
        }
    }
    Ok(())
}

fn check_strategy(v: &Value, path: &str) -> Result<(), DefinitionError> {
    let obj = object(v, path)?;
    text(required(obj, "name", path)?, &field(path, "name"))?;
    match obj.get("parameters") {
        None | Some(Value::Null) => {}
        Some(p) => {
            let at = field(path, "parameters");
            for (k, value) in object(p, &at)? {
                text(value, &field(&at, k))?;
            }
        }
    }
    check_constraints(obj, path)?;
    let segments_at = field(path, "segments");
    for (i, s) in list(obj, "segments", path)?.iter().enumerate() {
        if s.as_i64().and_then(|n| i32::try_from(n).ok()).is_none() {
            return Err(DefinitionError::new(
                &index(&segments_at, i),
                format!("expected a segment id (a whole number), found {}", kind(s)),
            ));
        }
    }
    let variants_at = field(path, "variants");
    for (i, variant) in list(obj, "variants", path)?.iter().enumerate() {
        check_variant(variant, &index(&variants_at, i), false)?;
    }
    Ok(())
}

/// Checks one feature (a flag's definition in Unleash's feature JSON) and reads it. Paths are
/// relative to the feature (`strategies[0].constraints[1].operator`).
pub fn check_feature(v: &Value) -> Result<ClientFeature, DefinitionError> {
    let obj = object(v, "")?;
    check_name(required(obj, "name", "")?, "name")?;
    match required(obj, "enabled", "")? {
        Value::Bool(_) => {}
        other => {
            return Err(DefinitionError::new(
                "enabled",
                format!("expected a boolean, found {}", kind(other)),
            ));
        }
    }
    for (i, s) in list(obj, "strategies", "")?.iter().enumerate() {
        check_strategy(s, &index("strategies", i))?;
    }
    for (i, variant) in list(obj, "variants", "")?.iter().enumerate() {
        check_variant(variant, &index("variants", i), true)?;
    }
    for (i, d) in list(obj, "dependencies", "")?.iter().enumerate() {
        let here = index("dependencies", i);
        let d = object(d, &here)?;
        text(required(d, "feature", &here)?, &field(&here, "feature"))?;
        optional_bool(d, "enabled", &here)?;
        let at = field(&here, "variants");
        for (j, name) in list(d, "variants", &here)?.iter().enumerate() {
            text(name, &index(&at, j))?;
        }
    }
    read(v)
}

/// Checks one segment (`{"id": 1, "constraints": [...]}`) and reads it.
pub fn check_segment(v: &Value) -> Result<Segment, DefinitionError> {
    let obj = object(v, "")?;
    let id = required(obj, "id", "")?;
    if id.as_i64().and_then(|n| i32::try_from(n).ok()).is_none() {
        return Err(DefinitionError::new(
            "id",
            format!("expected a whole number, found {}", kind(id)),
        ));
    }
    check_constraints(obj, "")?;
    read(v)
}

/// Reads a feature as any Unleash SDK reads a server's answer: its shape only (an unknown
/// operator, a weight out of range or a dangling segment is Unleash's to evaluate: false).
pub fn read_feature(v: &Value) -> Result<ClientFeature, DefinitionError> {
    read(v)
}

/// Reads a segment as any Unleash SDK does (its shape only).
pub fn read_segment(v: &Value) -> Result<Segment, DefinitionError> {
    read(v)
}

/// Reads a checked value into the engine's type; a shape the checks above missed still gets
/// its path.
fn read<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, DefinitionError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        DefinitionError::new(if path == "." { "" } else { &path }, e.inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(v: Value) -> String {
        match check_feature(&v) {
            Ok(_) => "accepted".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn errors_name_the_json_path() {
        let bad_operator = json!({"name": "f", "enabled": true, "strategies": [
            {"name": "default", "constraints": [
                {"contextName": "userId", "operator": "IN", "values": ["a"]},
                {"contextName": "userId", "operator": "FOO", "values": ["a"]}
            ]}
        ]});
        assert_eq!(
            error(bad_operator),
            "`strategies[0].constraints[1].operator`: unknown operator `FOO`"
        );
        assert_eq!(error(json!({"name": "f"})), "`enabled`: missing".to_owned());
        assert_eq!(
            error(json!({"name": "", "enabled": true})),
            "`name`: a flag name is not empty"
        );
        assert_eq!(
            error(json!({"name": "f", "enabled": true, "variants": [
                {"name": "a", "weight": 1001}
            ]})),
            "`variants[0].weight`: a weight is between 0 and 1000 (permille), found 1001"
        );
        assert_eq!(
            error(json!({"name": "f", "enabled": true, "strategies": [
                {"name": "flexibleRollout", "parameters": {"rollout": 50}}
            ]})),
            "`strategies[0].parameters.rollout`: expected a string, found a number"
        );
        assert_eq!(
            error(json!({"name": "f", "enabled": true, "variants": [
                {"name": "a", "weight": 1, "overrides": [{"contextName": "userId", "values": [1]}]}
            ]})),
            "`variants[0].overrides[0].values[0]`: expected a string, found a number"
        );
        assert_eq!(error(json!([1])), "`.`: expected an object, found a list");
    }

    #[test]
    fn a_full_definition_is_read() {
        let v = json!({"name": "f", "enabled": true, "type": "release", "project": "default",
            "strategies": [{"name": "flexibleRollout",
                "parameters": {"rollout": "50", "stickiness": "orgId", "groupId": "f"},
                "constraints": [{"contextName": "role", "operator": "IN", "values": ["admin"],
                    "caseInsensitive": true, "inverted": false}],
                "segments": [1],
                "variants": [{"name": "x", "weight": 1000, "stickiness": "default"}]}],
            "variants": [{"name": "a", "weight": 500, "weightType": "variable",
                "payload": {"type": "string", "value": "v"},
                "overrides": [{"contextName": "userId", "values": ["u1"]}]}],
            "dependencies": [{"feature": "parent", "enabled": true, "variants": ["a"]}]});
        let f = check_feature(&v).map_err(|e| e.to_string());
        assert_eq!(f.map(|f| f.name), Ok("f".to_owned()));
    }
}
