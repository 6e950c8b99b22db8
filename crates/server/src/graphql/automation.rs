//! Automation rules in the API (docs/automation.md): `automationRules`, `automationRule`,
//! `automationRuns`, `automationDryRun`; `saveAutomationRule`, `deleteAutomationRule`. A thin
//! translator over `app::automation` (the same functions as `hireplane rule`), whose one
//! authorization is `authorize_command(ManageAutomation)` (`edit` on the org: admins by
//! default).

use super::json_field;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, Object, ResolverContext, Type, TypeRef,
};
use serde_json::{Value, json};

use super::mutations::run_as;
use super::{Code, RequestCtx, error};
use store::automation::{RuleRun, RuleVersion, StoredRule};

/// A field holding a list of JSON objects of another type.
fn list_field(name: &'static str, ty: &'static str, doc: &'static str) -> Field {
    Field::new(name, TypeRef::named_nn_list_nn(ty), move |ctx| {
        FieldFuture::new(async move {
            let parent = ctx.parent_value.try_downcast_ref::<Value>()?;
            let items = parent
                .get(name)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            Ok(Some(FieldValue::list(
                items.into_iter().map(FieldValue::owned_any),
            )))
        })
    })
    .description(doc)
}

fn definition(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn rule_json(r: &StoredRule, versions: Option<&[RuleVersion]>) -> Value {
    json!({
        "id": r.id,
        "version": r.version,
        "name": r.name,
        "when": r.event_type,
        "enabled": r.enabled,
        "deleted": r.deleted,
        "owner": r.owner_user_id,
        "definition": definition(&r.definition),
        "updatedAt": r.updated_at.to_string(),
        "updatedBy": r.updated_by,
        "versions": versions.unwrap_or_default().iter().map(|v| json!({
            "version": v.version,
            "enabled": v.enabled,
            "deleted": v.deleted,
            "owner": v.owner_user_id,
            "definition": definition(&v.definition),
            "changedAt": v.changed_at.to_string(),
            "changedBy": v.changed_by,
            "reason": v.reason,
        })).collect::<Vec<_>>(),
    })
}

fn run_json(r: &RuleRun) -> Value {
    json!({
        "rule": r.rule_id,
        "ruleVersion": r.rule_version,
        "event": r.event_id,
        "sequence": r.seq,
        "subject": r.subject,
        "outcome": r.outcome,
        "detail": r.detail,
        "at": r.at.to_string(),
    })
}

fn list(values: Vec<Value>) -> Option<FieldValue<'static>> {
    Some(FieldValue::list(
        values.into_iter().map(FieldValue::owned_any),
    ))
}

fn string_arg(ctx: &ResolverContext<'_>, name: &str) -> async_graphql::Result<Option<String>> {
    Ok(match ctx.args.get(name) {
        Some(v) if !v.is_null() => Some(v.string()?.to_owned()),
        _ => None,
    })
}

fn json_arg(ctx: &ResolverContext<'_>, name: &str) -> async_graphql::Result<Option<String>> {
    Ok(match ctx.args.get(name) {
        Some(v) if !v.is_null() => Some(
            v.as_value()
                .clone()
                .into_json()
                .map_err(|e| error(Code::BadUserInput, Some(name), format!("`{name}`: {e}")))?
                .to_string(),
        ),
        _ => None,
    })
}

pub fn types() -> Vec<Type> {
    let version = Object::new("AutomationRuleVersion")
        .description("One version of an automation rule")
        .field(json_field(
            "version",
            TypeRef::named_nn(TypeRef::INT),
            "The version, from 1",
        ))
        .field(json_field(
            "enabled",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether it was on",
        ))
        .field(json_field(
            "deleted",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether this version deleted it",
        ))
        .field(json_field(
            "owner",
            TypeRef::named_nn(TypeRef::STRING),
            "The user it ran as",
        ))
        .field(json_field(
            "definition",
            TypeRef::named_nn("JSON"),
            "The rule's document then",
        ))
        .field(json_field(
            "changedAt",
            TypeRef::named_nn("DateTime"),
            "When",
        ))
        .field(json_field(
            "changedBy",
            TypeRef::named_nn(TypeRef::STRING),
            "Who",
        ))
        .field(json_field(
            "reason",
            TypeRef::named_nn(TypeRef::STRING),
            "Why",
        ));
    let rule = Object::new("AutomationRule")
        .description(
            "An automation rule: when an event happens, if a condition holds for its subject \
             (as the rule's owner sees it), do actions, optionally after a delay \
             (docs/automation.md)",
        )
        .field(json_field(
            "id",
            TypeRef::named_nn(TypeRef::ID),
            "The rule's id",
        ))
        .field(json_field(
            "version",
            TypeRef::named_nn(TypeRef::INT),
            "Its current version (what `saveAutomationRule`'s `version` expects)",
        ))
        .field(json_field(
            "name",
            TypeRef::named_nn(TypeRef::STRING),
            "What people call it",
        ))
        .field(json_field(
            "when",
            TypeRef::named_nn(TypeRef::STRING),
            "The event type that triggers it (`application.moved`)",
        ))
        .field(json_field(
            "enabled",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether it is on",
        ))
        .field(json_field(
            "deleted",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether it was deleted",
        ))
        .field(json_field(
            "owner",
            TypeRef::named_nn(TypeRef::STRING),
            "The user it runs as: it sees and does only what they may",
        ))
        .field(json_field(
            "definition",
            TypeRef::named_nn("JSON"),
            "The rule's JSON document",
        ))
        .field(json_field(
            "updatedAt",
            TypeRef::named_nn("DateTime"),
            "When it last changed",
        ))
        .field(json_field(
            "updatedBy",
            TypeRef::named_nn(TypeRef::STRING),
            "Who changed it last",
        ))
        .field(list_field(
            "versions",
            "AutomationRuleVersion",
            "Every version, oldest first (filled by `automationRule` only)",
        ));
    let run = Object::new("AutomationRuleRun")
        .description("What a rule did with an event that triggered it")
        .field(json_field(
            "rule",
            TypeRef::named_nn(TypeRef::ID),
            "The rule",
        ))
        .field(json_field(
            "ruleVersion",
            TypeRef::named_nn(TypeRef::INT),
            "The rule's version then",
        ))
        .field(json_field(
            "event",
            TypeRef::named_nn(TypeRef::STRING),
            "The event's id",
        ))
        .field(json_field(
            "sequence",
            TypeRef::named_nn(TypeRef::INT),
            "The event's place in the org's commit order",
        ))
        .field(json_field(
            "subject",
            TypeRef::named_nn(TypeRef::STRING),
            "The event's subject",
        ))
        .field(json_field(
            "outcome",
            TypeRef::named_nn(TypeRef::STRING),
            "`fired` (its actions queued), `skipped` or `failed`",
        ))
        .field(json_field(
            "detail",
            TypeRef::named_nn(TypeRef::STRING),
            "Why",
        ))
        .field(json_field(
            "at",
            TypeRef::named_nn("DateTime"),
            "When the rule was checked",
        ));
    let dry = Object::new("AutomationDryRun")
        .description("Whether a rule would fire for an event, and why")
        .field(json_field(
            "rule",
            TypeRef::named_nn(TypeRef::STRING),
            "The rule's id (`(unsaved)` for a definition tried)",
        ))
        .field(json_field(
            "name",
            TypeRef::named_nn(TypeRef::STRING),
            "The rule's name",
        ))
        .field(json_field(
            "version",
            TypeRef::named_nn(TypeRef::INT),
            "The rule's version",
        ))
        .field(json_field(
            "fires",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether it would fire",
        ))
        .field(json_field(
            "why",
            TypeRef::named_nn(TypeRef::STRING),
            "Why, or why not",
        ))
        .field(json_field(
            "due",
            TypeRef::named("DateTime"),
            "When its condition is checked and its actions run",
        ))
        .field(json_field(
            "actions",
            TypeRef::named_nn_list_nn(TypeRef::STRING),
            "Its actions, by name",
        ));
    vec![version.into(), rule.into(), run.into(), dry.into()]
}

pub fn query_fields() -> Vec<Field> {
    vec![
        Field::new("automationRules", TypeRef::named_nn_list_nn("AutomationRule"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                let rc = ctx.data::<RequestCtx>()?;
                let deleted = match ctx.args.get("deleted") {
                    Some(v) if !v.is_null() => v.boolean()?,
                    _ => false,
                };
                let rules = run_as(rc, move |store, services, access, _org, at| {
                    Ok(services.automation_rules(store, access, deleted, at)?)
                })
                .await?;
                Ok(list(rules.iter().map(|r| rule_json(r, None)).collect()))
            })
        })
        .argument(InputValue::new("deleted", TypeRef::named(TypeRef::BOOLEAN)).description("Also deleted rules (default false)"))
        .description("The org's automation rules, by id. Who may: whoever may `edit` the org (admins by default)"),
        Field::new("automationRule", TypeRef::named_nn("AutomationRule"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                let rc = ctx.data::<RequestCtx>()?;
                let id = ctx.args.try_get("id")?.string()?.to_owned();
                let (rule, versions) = run_as(rc, move |store, services, access, _org, at| {
                    Ok(services.automation_rule(store, access, &id, at)?)
                })
                .await?;
                Ok(Some(FieldValue::owned_any(rule_json(&rule, Some(&versions)))))
            })
        })
        .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)).description("The rule's id"))
        .description("One automation rule with every version of it"),
        Field::new("automationRuns", TypeRef::named_nn_list_nn("AutomationRuleRun"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                let rc = ctx.data::<RequestCtx>()?;
                let rule = string_arg(&ctx, "rule")?;
                let limit = match ctx.args.get("limit") {
                    Some(v) if !v.is_null() => v.i64()?,
                    _ => 50,
                };
                let limit = u32::try_from(limit).ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                    error(Code::BadUserInput, Some("limit"), format!("`limit` is {limit}; give 1 to 1000"))
                })?;
                let runs = run_as(rc, move |store, services, access, _org, at| {
                    Ok(services.automation_runs(store, access, rule.as_deref(), limit, at)?)
                })
                .await?;
                Ok(list(runs.iter().map(run_json).collect()))
            })
        })
        .argument(InputValue::new("rule", TypeRef::named(TypeRef::ID)).description("Only this rule's runs"))
        .argument(InputValue::new("limit", TypeRef::named(TypeRef::INT)).description("At most this many, newest first (default 50, at most 1000)"))
        .description("What the org's rules did with recent events: fired, or skipped and why"),
        Field::new("automationDryRun", TypeRef::named_nn_list_nn("AutomationDryRun"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                let rc = ctx.data::<RequestCtx>()?;
                let event = ctx.args.try_get("event")?.string()?.to_owned();
                let definition = json_arg(&ctx, "definition")?;
                let rows = run_as(rc, move |store, services, access, _org, at| {
                    Ok(services.dry_run(store, access, &event, definition.as_deref(), at)?)
                })
                .await?;
                Ok(list(
                    rows.iter()
                        .map(|d| json!({
                            "rule": d.rule_id,
                            "name": d.rule_name,
                            "version": d.rule_version,
                            "fires": d.fires,
                            "why": d.why,
                            "due": d.due.map(|t| t.to_string()),
                            "actions": d.actions,
                        }))
                        .collect(),
                ))
            })
        })
        .argument(InputValue::new("event", TypeRef::named_nn(TypeRef::STRING)).description("The event's id"))
        .argument(InputValue::new("definition", TypeRef::named("JSON")).description("Try this rule document instead of the saved rules"))
        .description("Which rules an event would trigger and why, as their owners see it now; nothing is done"),
    ]
}

pub fn mutation_fields() -> Vec<Field> {
    vec![
        Field::new(
            "saveAutomationRule",
            TypeRef::named_nn("AutomationRule"),
            |ctx| {
                super::spans::traced(super::spans::resolver(&ctx), async move {
                    let rc = ctx.data::<RequestCtx>()?;
                    let input = app::automation::SaveRule {
                        id: string_arg(&ctx, "id")?,
                        expected_version: match ctx.args.get("version") {
                            Some(v) if !v.is_null() => Some(v.i64()?),
                            _ => None,
                        },
                        definition: json_arg(&ctx, "definition")?.unwrap_or_default(),
                        reason: string_arg(&ctx, "reason")?.unwrap_or_default(),
                        token: rc.caller.revoked_with.clone(),
                    };
                    let saved = run_as(rc, move |store, services, access, _org, at| {
                        Ok(services.save_rule(store, access, input, at)?)
                    })
                    .await?;
                    Ok(Some(FieldValue::owned_any(rule_json(&saved, None))))
                })
            },
        )
        .argument(
            InputValue::new("id", TypeRef::named(TypeRef::ID))
                .description("The rule to change (default: a new rule)"),
        )
        .argument(
            InputValue::new("version", TypeRef::named(TypeRef::INT)).description(
                "With `id`: the version read (refused with CONFLICT if it changed since)",
            ),
        )
        .argument(
            InputValue::new("definition", TypeRef::named_nn("JSON"))
                .description("The rule's document (docs/automation.md)"),
        )
        .argument(
            InputValue::new("reason", TypeRef::named(TypeRef::STRING))
                .description("Why (kept in its history)"),
        )
        .description(
            "Saves an automation rule, checked in full as its owner (errors name the path in \
             `definition`, and the byte in a condition), as a new version in its history and \
             the audit log. Who may: whoever may `edit` the org (admins by default)",
        ),
        Field::new(
            "deleteAutomationRule",
            TypeRef::named_nn("AutomationRule"),
            |ctx| {
                super::spans::traced(super::spans::resolver(&ctx), async move {
                    let rc = ctx.data::<RequestCtx>()?;
                    let id = ctx.args.try_get("id")?.string()?.to_owned();
                    let version = match ctx.args.get("version") {
                        Some(v) if !v.is_null() => Some(v.i64()?),
                        _ => None,
                    };
                    let reason = string_arg(&ctx, "reason")?.unwrap_or_default();
                    let deleted = run_as(rc, move |store, services, access, _org, at| {
                        Ok(services.delete_rule(store, access, &id, version, &reason, at)?)
                    })
                    .await?;
                    Ok(Some(FieldValue::owned_any(rule_json(&deleted, None))))
                })
            },
        )
        .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)).description("The rule"))
        .argument(
            InputValue::new("version", TypeRef::named(TypeRef::INT))
                .description("The version read (default: the current one)"),
        )
        .argument(
            InputValue::new("reason", TypeRef::named(TypeRef::STRING))
                .description("Why (kept in its history)"),
        )
        .description(
            "Deletes an automation rule: it triggers nothing more; its history and runs stay",
        ),
    ]
}
