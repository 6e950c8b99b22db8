//! Custom fields: definitions (per entity: candidate, application, job) and values on records.
//!
//! The format's rules: keys are letters, digits and `_`, unique per entity; `select` and
//! `multi_select` fields have options (no duplicates), other types none; every value has its
//! field's type (a `multi_select` value is an array of distinct options). A definition may later
//! change its label and sensitivity and gain options, never lose one, so that stored values stay
//! valid.

use domain::Id;
use domain::custom::{CustomFieldDef, CustomSchema, CustomValues};
use domain::enums::{CustomEntity, CustomFieldType};

use super::tx::Kind;
use super::{WriteError, non_empty};
use crate::Store;
use crate::rows::{Table, Val};

/// A new custom field definition.
#[derive(Clone, Debug)]
pub struct NewCustomField {
    /// The id to give the definition; generated (`cf_...`) when `None`.
    pub id: Option<Id>,
    pub entity: CustomEntity,
    pub key: String,
    pub label: String,
    pub field_type: CustomFieldType,
    pub options: Vec<String>,
    pub sensitive: bool,
}

/// Changes to a custom field definition; `None` leaves a value as it is.
#[derive(Clone, Debug)]
pub struct UpdateCustomField {
    pub id: Id,
    pub label: Option<String>,
    pub sensitive: Option<bool>,
    /// The new list of options: every current option must stay (values may use it).
    pub options: Option<Vec<String>>,
}

/// Sets (or, with `null`, removes) one custom field value of one record.
#[derive(Clone, Debug)]
pub struct CustomFieldValue {
    pub entity: CustomEntity,
    /// The candidate, application or job.
    pub record_id: Id,
    pub key: String,
    pub value: serde_json::Value,
}

/// Checks a `custom_fields` object of a record of `entity` against the org's definitions; the
/// error names the first bad key as `custom_fields["KEY"]` and lists every problem.
pub(crate) fn check_custom(
    schema: &CustomSchema,
    entity: CustomEntity,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<CustomValues, WriteError> {
    schema.check(entity, values).map_err(|errors| {
        let key = errors
            .first()
            .map(|e| match e {
                domain::custom::CustomValueError::UnknownKey { key, .. }
                | domain::custom::CustomValueError::WrongType { key, .. }
                | domain::custom::CustomValueError::NotAnOption { key, .. }
                | domain::custom::CustomValueError::Invalid { key, .. } => key.clone(),
            })
            .unwrap_or_default();
        WriteError::invalid(
            super::map_entry_path("custom_fields", &key),
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

/// The most options a choice field has.
pub const MAX_OPTIONS: usize = 1_000;

fn check_options(field_type: CustomFieldType, options: &[String]) -> Result<(), WriteError> {
    let is_choice = matches!(
        field_type,
        CustomFieldType::Select | CustomFieldType::MultiSelect
    );
    if is_choice && options.is_empty() {
        return Err(WriteError::invalid(
            "options",
            format!("a {field_type} field needs at least one option"),
        ));
    }
    if !is_choice && !options.is_empty() {
        return Err(WriteError::invalid(
            "options",
            format!("a {field_type} field takes no options"),
        ));
    }
    if options.len() > MAX_OPTIONS {
        return Err(WriteError::invalid(
            "options",
            format!("{} options: at most {MAX_OPTIONS}", options.len()),
        ));
    }
    // One pass with a set (red team, pass 16: 34,000 options compared each with every one before
    // it held SQLite's write lock for 1.5 s).
    let mut seen = std::collections::HashSet::with_capacity(options.len());
    for (i, o) in options.iter().enumerate() {
        non_empty(&format!("options[{i}]"), o)?;
        if !seen.insert(o) {
            return Err(WriteError::invalid(
                format!("options[{i}]"),
                format!("`{o}` is listed twice"),
            ));
        }
    }
    Ok(())
}

fn table_of(entity: CustomEntity) -> (Table, &'static str) {
    match entity {
        CustomEntity::Candidate => (Table::Candidates, "candidate"),
        CustomEntity::Application => (Table::Applications, "application"),
        CustomEntity::Job => (Table::Jobs, "job"),
    }
}

impl Store {
    /// The org's custom field definitions, by entity (candidate, application, job) and key.
    pub fn custom_fields(&mut self, org: &str) -> Result<Vec<CustomFieldDef>, crate::StoreError> {
        self.read_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            Ok([
                CustomEntity::Candidate,
                CustomEntity::Application,
                CustomEntity::Job,
            ]
            .into_iter()
            .flat_map(|e| schema.fields_of(e).cloned().collect::<Vec<_>>())
            .collect())
        })
    }

    /// Defines a custom field.
    pub fn create_custom_field(
        &mut self,
        org: &str,
        cmd: NewCustomField,
    ) -> Result<CustomFieldDef, WriteError> {
        self.write_tx(org, |tx| {
            let key = non_empty("key", &cmd.key)?;
            if !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(WriteError::invalid(
                    "key",
                    format!("`{key}` must consist of letters, digits and `_`"),
                ));
            }
            let label = non_empty("label", &cmd.label)?;
            check_options(cmd.field_type, &cmd.options)?;
            let schema = tx.custom_schema(org)?;
            if let Some(prev) = schema.get(cmd.entity, &key) {
                return Err(WriteError::conflict(
                    "key",
                    format!(
                        "`{key}` is already a custom field of {}s (`{}`)",
                        cmd.entity, prev.id
                    ),
                ));
            }
            let id = tx.fresh_id(Table::CustomFields, org, cmd.id.as_ref(), "cf")?;
            let def = CustomFieldDef {
                id,
                entity: cmd.entity,
                key,
                label,
                field_type: cmd.field_type,
                options: cmd.options,
                sensitive: cmd.sensitive,
            };
            tx.insert_custom_field(org, &def)?;
            tx.emit(
                &crate::events::CUSTOM_FIELD_CREATED,
                format!("org/{org}"),
                serde_json::json!({
                    "custom_field_id": def.id,
                    "entity": def.entity.as_str(),
                    "key": def.key,
                    "type": def.field_type.as_str(),
                    "sensitive": def.sensitive,
                }),
            );
            Ok(def)
        })
    }

    /// Changes a custom field's label, sensitivity or options (options may only be added).
    pub fn update_custom_field(
        &mut self,
        org: &str,
        cmd: UpdateCustomField,
    ) -> Result<CustomFieldDef, WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let Some(mut def) = [
                CustomEntity::Candidate,
                CustomEntity::Application,
                CustomEntity::Job,
            ]
            .iter()
            .flat_map(|e| schema.fields_of(*e))
            .find(|d| d.id == cmd.id)
            .cloned() else {
                return Err(WriteError::not_found("id", "custom field", cmd.id.as_str()));
            };
            let changed: Vec<&str> = [
                ("label", cmd.label.is_some()),
                ("sensitive", cmd.sensitive.is_some()),
                ("options", cmd.options.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect();
            if let Some(label) = &cmd.label {
                def.label = non_empty("label", label)?;
            }
            if let Some(s) = cmd.sensitive {
                def.sensitive = s;
            }
            if let Some(options) = cmd.options {
                check_options(def.field_type, &options)?;
                let given: std::collections::HashSet<&String> = options.iter().collect();
                if let Some(gone) = def.options.iter().find(|o| !given.contains(o)) {
                    return Err(WriteError::invalid(
                        "options",
                        format!("`{gone}` is missing: options may be added, not removed"),
                    ));
                }
                def.options = options;
            }
            let options = serde_json::to_string(&def.options)
                .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
            tx.execute(
                "UPDATE custom_fields SET label = $3, sensitive = $4, options = $5 WHERE org_id = $1 AND id = $2",
                &[
                    Val::Text(org),
                    Val::Text(def.id.as_str()),
                    Val::Text(&def.label),
                    Val::Bool(def.sensitive),
                    Val::Json(options),
                ],
            )?;
            tx.emit(
                &crate::events::CUSTOM_FIELD_UPDATED,
                format!("org/{org}"),
                serde_json::json!({
                    "custom_field_id": def.id,
                    "entity": def.entity.as_str(),
                    "key": def.key,
                    "changed": changed,
                    "sensitive": def.sensitive,
                }),
            );
            Ok(def)
        })
    }

    /// Sets one custom field value of a candidate, application or job (`null` removes it),
    /// checked against the field's type and options; returns the record's values.
    pub fn set_custom_field_value(
        &mut self,
        org: &str,
        cmd: CustomFieldValue,
    ) -> Result<CustomValues, WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let (table, entity_name) = table_of(cmd.entity);
            let sql = format!(
                "SELECT custom_fields FROM {} WHERE org_id = $1 AND id = $2{}",
                table.name(),
                tx.lock()
            );
            let Some(row) = tx.query_opt(
                &sql,
                &[Val::Text(org), Val::Text(cmd.record_id.as_str())],
                &[Kind::Json],
            )?
            else {
                return Err(WriteError::not_found(
                    "record_id",
                    entity_name,
                    cmd.record_id.as_str(),
                ));
            };
            let serde_json::Value::Object(mut values) = row.json(0)? else {
                return Err(crate::StoreError::Corrupt(format!(
                    "`{}.custom_fields` of `{}` is not an object",
                    table.name(),
                    cmd.record_id
                ))
                .into());
            };
            let Some(field_id) = schema.get(cmd.entity, &cmd.key).map(|d| d.id.clone()) else {
                return Err(WriteError::invalid(
                    "key",
                    format!("`{}` is not a custom field of {}s", cmd.key, cmd.entity),
                ));
            };
            if cmd.value.is_null() {
                values.remove(&cmd.key);
            } else {
                let one = serde_json::Map::from_iter([(cmd.key.clone(), cmd.value.clone())]);
                check_custom(&schema, cmd.entity, &one).map_err(|e| match e {
                    WriteError::Invalid { message, .. } => WriteError::invalid("value", message),
                    other => other,
                })?;
                values.insert(cmd.key.clone(), cmd.value);
            }
            let checked = check_custom(&schema, cmd.entity, &values)?;
            let json = serde_json::to_string(&checked)
                .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
            let sql = format!(
                "UPDATE {} SET custom_fields = $3 WHERE org_id = $1 AND id = $2",
                table.name()
            );
            tx.execute(
                &sql,
                &[
                    Val::Text(org),
                    Val::Text(cmd.record_id.as_str()),
                    Val::Json(json),
                ],
            )?;
            tx.emit(
                &crate::events::CUSTOM_FIELD_VALUE_SET,
                format!("{}/{}", cmd.entity.as_str(), cmd.record_id),
                serde_json::json!({
                    "entity": cmd.entity.as_str(),
                    "record_id": cmd.record_id,
                    "key": cmd.key,
                    "custom_field_id": field_id,
                }),
            );
            Ok(checked)
        })
    }
}
