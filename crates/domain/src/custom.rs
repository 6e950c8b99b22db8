//! Tenant-defined custom fields: their definitions and typed values.
//!
//! Each org defines its own fields per entity (`candidate`, `application`, `job`). A record's
//! `custom_fields` object is checked against those definitions: every key must be defined for
//! that entity and every value must have the field's type. Numbers keep their JSON spelling, so an
//! export writes back exactly what was imported.

use std::collections::BTreeMap;

use crate::Id;
use crate::enums::{CustomEntity, CustomFieldType};
use crate::time::Date;

/// The definition of one custom field.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CustomFieldDef {
    pub id: Id,
    pub entity: CustomEntity,
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: CustomFieldType,
    /// Allowed values of `select` and `multi_select` fields; empty for the other types.
    pub options: Vec<String>,
    /// Treated as personal data by the access policies.
    pub sensitive: bool,
}

/// A typed value of a custom field.
#[derive(Clone, Debug, PartialEq)]
pub enum CustomValue {
    Text(String),
    Number(serde_json::Number),
    Boolean(bool),
    Date(Date),
    Select(String),
    MultiSelect(Vec<String>),
}

impl CustomValue {
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            CustomValue::Text(s) | CustomValue::Select(s) => Value::String(s.clone()),
            CustomValue::Number(n) => Value::Number(n.clone()),
            CustomValue::Boolean(b) => Value::Bool(*b),
            CustomValue::Date(d) => Value::String(d.to_string()),
            CustomValue::MultiSelect(v) => {
                Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
            }
        }
    }
}

/// The custom field values of one record, by key. A `null` value means the same as a missing key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomValues(pub BTreeMap<String, CustomValue>);

impl serde::Serialize for CustomValues {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, &v.to_json())?;
        }
        map.end()
    }
}

impl CustomValues {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }
}

/// Why a custom field value is refused; `key` names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomValueError {
    #[error("`{key}` is not a custom field of {entity}s; defined: {defined}")]
    UnknownKey {
        key: String,
        entity: CustomEntity,
        defined: String,
    },
    #[error("`{key}` is a {expected} field, got {got}")]
    WrongType {
        key: String,
        expected: CustomFieldType,
        got: String,
    },
    #[error("`{key}`: `{value}` is not one of its options {options}")]
    NotAnOption {
        key: String,
        value: String,
        options: String,
    },
    #[error("`{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

/// The custom field definitions of one org, looked up by entity and key.
#[derive(Clone, Debug, Default)]
pub struct CustomSchema {
    defs: BTreeMap<(CustomEntity, String), CustomFieldDef>,
}

impl CustomSchema {
    /// Adds a definition; returns the existing one if the (entity, key) pair is taken.
    pub fn insert(&mut self, def: CustomFieldDef) -> Result<(), &CustomFieldDef> {
        let k = (def.entity, def.key.clone());
        if self.defs.contains_key(&k) {
            return Err(&self.defs[&k]);
        }
        self.defs.insert(k, def);
        Ok(())
    }

    pub fn get(&self, entity: CustomEntity, key: &str) -> Option<&CustomFieldDef> {
        self.defs.get(&(entity, key.to_owned()))
    }

    pub fn fields_of(&self, entity: CustomEntity) -> impl Iterator<Item = &CustomFieldDef> {
        self.defs.values().filter(move |d| d.entity == entity)
    }

    fn defined_keys(&self, entity: CustomEntity) -> String {
        let keys: Vec<String> = self
            .fields_of(entity)
            .map(|d| format!("`{}`", d.key))
            .collect();
        if keys.is_empty() {
            "none".to_owned()
        } else {
            keys.join(", ")
        }
    }

    /// Checks a `custom_fields` object of a record of `entity`; reports every bad key.
    pub fn check(
        &self,
        entity: CustomEntity,
        object: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<CustomValues, Vec<CustomValueError>> {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for (key, raw) in object {
            if raw.is_null() {
                continue;
            }
            let Some(def) = self.get(entity, key) else {
                errors.push(CustomValueError::UnknownKey {
                    key: key.clone(),
                    entity,
                    defined: self.defined_keys(entity),
                });
                continue;
            };
            match check_value(def, raw) {
                Ok(v) => {
                    values.insert(key.clone(), v);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(CustomValues(values))
        } else {
            Err(errors)
        }
    }
}

fn json_kind(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string `{s}`"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn options_list(def: &CustomFieldDef) -> String {
    def.options
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Custom numbers are below this in magnitude: as offer amounts are bounded, so that sums and
/// products in reports stay finite and exact enough (`1e308` stored, `sum(custom.x)` overflowed).
pub const LARGEST_CUSTOM_NUMBER: f64 = 1e15;

/// The most characters a custom text holds (a few pages): a value is shown on every page and
/// report that selects its field (red team, pass 2: one of 200,000 characters made a report's
/// answer 285 MB).
pub const LONGEST_CUSTOM_TEXT: usize = 10_000;

fn check_value(
    def: &CustomFieldDef,
    raw: &serde_json::Value,
) -> Result<CustomValue, CustomValueError> {
    use serde_json::Value;
    let wrong = || CustomValueError::WrongType {
        key: def.key.clone(),
        expected: def.field_type,
        got: json_kind(raw),
    };
    let option = |s: &str| -> Result<String, CustomValueError> {
        if def.options.iter().any(|o| o == s) {
            Ok(s.to_owned())
        } else {
            Err(CustomValueError::NotAnOption {
                key: def.key.clone(),
                value: s.to_owned(),
                options: options_list(def),
            })
        }
    };
    match (def.field_type, raw) {
        (CustomFieldType::Text, Value::String(s)) if s.contains('\0') => {
            Err(CustomValueError::Invalid {
                key: def.key.clone(),
                reason: "a text must not contain the NUL character (U+0000)".to_owned(),
            })
        }
        (CustomFieldType::Text, Value::String(s))
            if s.len() > LONGEST_CUSTOM_TEXT && s.chars().count() > LONGEST_CUSTOM_TEXT =>
        {
            Err(CustomValueError::Invalid {
                key: def.key.clone(),
                reason: format!(
                    "a text holds at most {LONGEST_CUSTOM_TEXT} characters, not {}",
                    s.chars().count()
                ),
            })
        }
        (CustomFieldType::Text, Value::String(s)) => Ok(CustomValue::Text(s.clone())),
        (CustomFieldType::Number, Value::Number(n))
            if !n
                .as_f64()
                .is_some_and(|x| x.is_finite() && x.abs() < LARGEST_CUSTOM_NUMBER) =>
        {
            Err(CustomValueError::Invalid {
                key: def.key.clone(),
                reason: format!(
                    "`{n}` is out of range: a custom number is between -10^15 and 10^15"
                ),
            })
        }
        (CustomFieldType::Number, Value::Number(n)) => Ok(CustomValue::Number(n.clone())),
        (CustomFieldType::Boolean, Value::Bool(b)) => Ok(CustomValue::Boolean(*b)),
        (CustomFieldType::Date, Value::String(s)) => {
            Date::parse(s)
                .map(CustomValue::Date)
                .map_err(|e| CustomValueError::Invalid {
                    key: def.key.clone(),
                    reason: e.to_string(),
                })
        }
        (CustomFieldType::Select, Value::String(s)) => option(s).map(CustomValue::Select),
        (CustomFieldType::MultiSelect, Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Value::String(s) = item else {
                    return Err(wrong());
                };
                let s = option(s)?;
                if out.contains(&s) {
                    return Err(CustomValueError::Invalid {
                        key: def.key.clone(),
                        reason: format!("`{s}` is listed twice"),
                    });
                }
                out.push(s);
            }
            Ok(CustomValue::MultiSelect(out))
        }
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> CustomSchema {
        let mut s = CustomSchema::default();
        let def = |key: &str, t, options: &[&str]| CustomFieldDef {
            id: Id::parse(format!("cf_{key}")).unwrap(),
            entity: CustomEntity::Candidate,
            key: key.into(),
            label: key.into(),
            field_type: t,
            options: options.iter().map(|s| s.to_string()).collect(),
            sensitive: false,
        };
        s.insert(def("yoe", CustomFieldType::Number, &[])).unwrap();
        s.insert(def("langs", CustomFieldType::MultiSelect, &["en", "de"]))
            .unwrap();
        s.insert(def("start", CustomFieldType::Date, &[])).unwrap();
        s
    }

    #[test]
    fn values_are_typed_by_their_definition() {
        let s = schema();
        let obj = json!({"yoe": 5.7, "langs": ["de"], "start": "2025-01-02", "gone": null});
        let v = s
            .check(CustomEntity::Candidate, obj.as_object().unwrap())
            .unwrap();
        assert_eq!(
            v.to_json(),
            json!({"yoe": 5.7, "langs": ["de"], "start": "2025-01-02"})
        );
    }

    #[test]
    fn values_the_databases_cannot_keep_are_refused_at_their_key() {
        let mut s = schema();
        s.insert(CustomFieldDef {
            id: Id::parse("cf_note").unwrap(),
            entity: CustomEntity::Candidate,
            key: "note".into(),
            label: "note".into(),
            field_type: CustomFieldType::Text,
            options: Vec::new(),
            sensitive: false,
        })
        .unwrap();
        let refused = |obj: serde_json::Value| {
            s.check(CustomEntity::Candidate, obj.as_object().unwrap())
                .unwrap_err()
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            refused(json!({"start": "0000-01-01"})),
            ["`start`: `0000-01-01` is not a date `YYYY-MM-DD` from 0001-01-01 to 9999-12-31"]
        );
        assert_eq!(
            refused(json!({"yoe": 1e308})),
            ["`yoe`: `1e+308` is out of range: a custom number is between -10^15 and 10^15"]
        );
        assert_eq!(refused(json!({"yoe": -1e15})).len(), 1);
        assert_eq!(refused(json!({"yoe": 1_000_000_000_000_000_u64})).len(), 1);
        assert_eq!(
            refused(json!({"note": "a\u{0}b"})),
            ["`note`: a text must not contain the NUL character (U+0000)"]
        );
        assert_eq!(
            refused(json!({"note": "é".repeat(LONGEST_CUSTOM_TEXT + 1)})),
            ["`note`: a text holds at most 10000 characters, not 10001"]
        );
        // Characters, not bytes: 10,000 of two bytes each are taken.
        let longest = "é".repeat(LONGEST_CUSTOM_TEXT);
        assert!(
            s.check(
                CustomEntity::Candidate,
                json!({"note": longest}).as_object().unwrap()
            )
            .is_ok()
        );
        let ok = json!({"yoe": 999_999_999_999_999.0, "start": "0001-01-01", "note": "a\tb"});
        assert!(
            s.check(CustomEntity::Candidate, ok.as_object().unwrap())
                .is_ok()
        );
    }

    #[test]
    fn every_bad_key_is_reported() {
        let s = schema();
        let obj = json!({"yoe": "five", "langs": ["fr"], "start": "soon", "nope": 1});
        let errs = s
            .check(CustomEntity::Candidate, obj.as_object().unwrap())
            .unwrap_err();
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            [
                "`yoe` is a number field, got string `five`",
                "`langs`: `fr` is not one of its options `en`, `de`",
                "`start`: `soon` is not a date `YYYY-MM-DD` from 0001-01-01 to 9999-12-31",
                "`nope` is not a custom field of candidates; defined: `langs`, `start`, `yoe`",
            ]
        );
    }
}
