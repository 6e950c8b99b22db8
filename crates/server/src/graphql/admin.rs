//! The org's administration in the API: its access policy (`policy`, `validatePolicy`,
//! `setPolicy`, `resetPolicy`), its audit log (`auditLog`) and its custom field definitions
//! (`customFields`). Thin translators over `app`: `app::Services::policy_view`,
//! `validate_policy`, `set_policy_as`, `reset_policy_as` and `audit_log` authorize the caller
//! themselves (`edit` on their org: admins under the shipped policy; others get `FORBIDDEN`);
//! `custom_field_definitions` gives every user of the org the definitions, each with where the
//! caller's policy lets them read its values.

use super::json_field;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, Object, ResolverContext, Type, TypeRef,
};
use async_graphql::{ErrorExtensions, Value as GqlValue};
use serde_json::{Value, json};

use super::mutations::{Failure, failure};
use super::{Code, RequestCtx, error, internal};

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

/// A list of JSON objects read from its parent's JSON object (each an object type).
fn json_list(name: &'static str, ty: TypeRef, doc: &'static str) -> Field {
    Field::new(name, ty, move |ctx| {
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

/// An object field read from its parent's JSON object.
fn json_object(name: &'static str, ty: TypeRef, doc: &'static str) -> Field {
    Field::new(name, ty, move |ctx| {
        FieldFuture::new(async move {
            let parent = ctx.parent_value.try_downcast_ref::<Value>()?;
            Ok(parent
                .get(name)
                .filter(|v| !v.is_null())
                .cloned()
                .map(FieldValue::owned_any))
        })
    })
    .description(doc)
}

fn version_json(v: &app::policy_changes::PolicyVersion) -> Value {
    json!({
        "version": v.version,
        "text": v.text,
        "hash": v.hash,
        "setBy": v.set_by,
        "setAt": v.set_at.map(|t| t.to_string()),
        "shippedDefault": v.shipped_default,
    })
}

fn view_json(view: &app::policy_changes::PolicyView) -> Value {
    let mut out = version_json(&view.current);
    if let Value::Object(m) = &mut out {
        m.insert(
            "versions".to_owned(),
            Value::Array(view.versions.iter().map(version_json).collect()),
        );
        m.insert("versionCount".to_owned(), json!(view.total_versions));
    }
    out
}

fn problem_json(p: &app::policy_changes::PolicyProblem) -> Value {
    json!({
        "line": p.line,
        "column": p.column,
        "policy": p.policy,
        "message": p.message,
    })
}

/// The cursor of audit entry `seq`: opaque to clients (hex of `audit:<seq>`).
fn cursor(seq: i64) -> String {
    format!("audit:{seq}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn after_seq(text: &str) -> async_graphql::Result<i64> {
    super::order::unhex(text)
        .and_then(|t| t.strip_prefix("audit:").and_then(|n| n.parse().ok()))
        .filter(|n: &i64| *n >= 1)
        .ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some("after"),
                format!("`after`: `{text}` is not a cursor of `auditLog`"),
            )
        })
}

fn entry_json(seq: i64, e: &store::AuditEvent) -> Value {
    json!({
        "sequence": seq,
        "cursor": cursor(seq),
        "at": e.at.to_string(),
        "actor": e.actor,
        "action": e.action,
        "subject": e.subject,
        "outcome": e.outcome.as_str(),
        "policies": e.policies,
        "queryHash": e.query_hash,
        "detail": e.detail,
    })
}

/// The types of this module.
pub fn types() -> Vec<Type> {
    let version = Object::new("PolicyVersion")
        .description("One version of the org's access policy")
        .field(json_field(
            "version",
            TypeRef::named(TypeRef::INT),
            "The version (1, 2, ... per org); null for an org that never set a policy (the shipped default)",
        ))
        .field(json_field(
            "text",
            TypeRef::named_nn(TypeRef::STRING),
            "The Cedar text in force with this version (the shipped default's text for a reset)",
        ))
        .field(json_field(
            "hash",
            TypeRef::named_nn(TypeRef::STRING),
            "The first 16 bytes of the text's SHA-256 in hex, as the audit log records it",
        ))
        .field(json_field(
            "setBy",
            TypeRef::named(TypeRef::STRING),
            "Who set it: a user id, `cli` or null for the operator",
        ))
        .field(json_field(
            "setAt",
            TypeRef::named("DateTime"),
            "When it was set (null for the shipped default of an org that never set one)",
        ))
        .field(json_field(
            "shippedDefault",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether this version is the shipped default policy (never set, or reset)",
        ));
    let policy = Object::new("Policy")
        .description("The org's access policy in force (docs/policy.md), with its history")
        .field(json_field(
            "version",
            TypeRef::named(TypeRef::INT),
            "The version in force; null for an org that never set a policy",
        ))
        .field(json_field(
            "text",
            TypeRef::named_nn(TypeRef::STRING),
            "The Cedar text in force (the shipped default's when the org is on it)",
        ))
        .field(json_field(
            "hash",
            TypeRef::named_nn(TypeRef::STRING),
            "The first 16 bytes of the text's SHA-256 in hex, as the audit log records it",
        ))
        .field(json_field(
            "setBy",
            TypeRef::named(TypeRef::STRING),
            "Who set the version in force: a user id, `cli` or null for the operator",
        ))
        .field(json_field(
            "setAt",
            TypeRef::named("DateTime"),
            "When the version in force was set",
        ))
        .field(json_field(
            "shippedDefault",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether the org is on the shipped default policy",
        ))
        .field(json_list(
            "versions",
            TypeRef::named_nn_list_nn("PolicyVersion"),
            "The org's versions, newest first, as many as `policy(versions:)` asked",
        ))
        .field(json_field(
            "versionCount",
            TypeRef::named_nn(TypeRef::INT),
            "How many versions the org has in all (0: it never set a policy)",
        ));
    let problem = Object::new("PolicyProblem")
        .description("A problem of a policy text, at its place")
        .field(json_field(
            "line",
            TypeRef::named_nn(TypeRef::INT),
            "The line of the text, from 1",
        ))
        .field(json_field(
            "column",
            TypeRef::named_nn(TypeRef::INT),
            "The column of the line, from 1",
        ))
        .field(json_field(
            "policy",
            TypeRef::named(TypeRef::STRING),
            "The `@id` of the policy concerned, when known",
        ))
        .field(json_field(
            "message",
            TypeRef::named_nn(TypeRef::STRING),
            "What is wrong",
        ));
    let validation = Object::new("PolicyValidation")
        .description("Whether a policy text could be set, and why not")
        .field(json_field(
            "valid",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether `setPolicy` would take the text",
        ))
        .field(json_list(
            "problems",
            TypeRef::named_nn_list_nn("PolicyProblem"),
            "Every problem found, each at its line and column (empty when valid)",
        ));
    let entry = Object::new("AuditEntry")
        .description(
            "One entry of the org's audit log: who did what to what, allowed or denied, by \
             which policies; never the values read",
        )
        .field(json_field(
            "sequence",
            TypeRef::named_nn(TypeRef::INT),
            "Its number in the org's log (1, 2, ... in the order of recording)",
        ))
        .field(json_field(
            "cursor",
            TypeRef::named_nn(TypeRef::STRING),
            "The `after` of the older entries",
        ))
        .field(json_field(
            "at",
            TypeRef::named_nn("DateTime"),
            "When it happened",
        ))
        .field(json_field(
            "actor",
            TypeRef::named_nn(TypeRef::STRING),
            "Who: a user id, or a service's name (`cli` for the operator)",
        ))
        .field(json_field(
            "action",
            TypeRef::named_nn(TypeRef::STRING),
            "What: a policy action (`viewCompensation`), `setPolicy`, `resetPolicy`, ...",
        ))
        .field(json_field(
            "subject",
            TypeRef::named_nn(TypeRef::STRING),
            "On what: a record, a report, `policy v3`, ...",
        ))
        .field(json_field(
            "outcome",
            TypeRef::named_nn(TypeRef::STRING),
            "`allowed` or `denied`",
        ))
        .field(json_field(
            "policies",
            TypeRef::named_nn_list_nn(TypeRef::STRING),
            "The ids of the policies that decided",
        ))
        .field(json_field(
            "queryHash",
            TypeRef::named(TypeRef::STRING),
            "A hash of the report, for reports (never its values)",
        ))
        .field(json_field(
            "detail",
            TypeRef::named(TypeRef::STRING),
            "What was accessed, short (field groups, the policy text's hash)",
        ));
    let connection = Object::new("AuditLogConnection")
        .description("A page of the org's audit log, newest first")
        .field(json_list(
            "nodes",
            TypeRef::named_nn_list_nn("AuditEntry"),
            "The page's entries, newest first",
        ))
        .field(json_object(
            "pageInfo",
            TypeRef::named_nn("PageInfo"),
            "`endCursor` (the last entry's cursor) is the `after` of the older entries",
        ));
    let field = Object::new("CustomFieldDefinition")
        .description("A custom field of the org's candidates, applications or jobs")
        .field(json_field(
            "id",
            TypeRef::named_nn(TypeRef::ID),
            "The field's id (`cf_...`), for `updateCustomField`",
        ))
        .field(json_field(
            "entity",
            TypeRef::named_nn(TypeRef::STRING),
            "What it belongs to: `candidate`, `application` or `job`",
        ))
        .field(json_field(
            "key",
            TypeRef::named_nn(TypeRef::STRING),
            "Its key: read a value as `custom(key:)`",
        ))
        .field(json_field(
            "label",
            TypeRef::named_nn(TypeRef::STRING),
            "Its name as people see it",
        ))
        .field(json_field(
            "type",
            TypeRef::named_nn(TypeRef::STRING),
            "The type of its values: text, number, boolean, date, select, multi_select",
        ))
        .field(json_field(
            "options",
            TypeRef::named_nn_list_nn(TypeRef::STRING),
            "The allowed values of a select or multi_select field (empty for the others)",
        ))
        .field(json_field(
            "sensitive",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether its values are sensitive (`viewSensitiveCustomFields`; others are details, `viewDetails`)",
        ))
        .field(json_field(
            "valuesVisible",
            TypeRef::named_nn(TypeRef::STRING),
            "Where the caller's policy lets them read its values: `all` (every record of the \
             entity they see), `some` (a condition on the record) or `none` (`custom(key:)` \
             reads null)",
        ));
    let invitation = Object::new("Invitation")
        .description(
            "A one-time link for a user to choose their console password (which signs them in). \
             Whoever holds it can act as the user until it is used or expires: hand it to them \
             only",
        )
        .field(json_field(
            "userId",
            TypeRef::named_nn(TypeRef::ID),
            "The user invited",
        ))
        .field(json_field(
            "code",
            TypeRef::named_nn(TypeRef::STRING),
            "The one-time code (32 hex digits); the store keeps only its hash",
        ))
        .field(json_field(
            "path",
            TypeRef::named_nn(TypeRef::STRING),
            "The link's path, `/console/invitation/<code>`: append it to the console's public \
             address",
        ))
        .field(json_field(
            "expiresAt",
            TypeRef::named_nn("DateTime"),
            "When the link stops working, if it was not used before",
        ));
    vec![
        invitation.into(),
        version.into(),
        policy.into(),
        problem.into(),
        validation.into(),
        entry.into(),
        connection.into(),
        field.into(),
    ]
}

/// Runs a read of `app` as the caller on a database worker.
async fn read_as<T, F>(rc: &RequestCtx, f: F) -> async_graphql::Result<T>
where
    F: FnOnce(&mut store::Store, &app::Services, &app::Access) -> Result<T, app::AppError>
        + Send
        + 'static,
    T: Send + 'static,
{
    let services = rc.services.clone();
    let access = rc.caller.access.clone();
    rc.db
        .run(move |store| f(store, &services, &access))
        .await
        .map_err(|e| internal("reaching the database", e))?
        .map_err(|e| failure(Failure::App(e)))
}

/// `versions:` of `policy`, `setPolicy`, `resetPolicy`.
fn versions_arg(ctx: &ResolverContext<'_>) -> async_graphql::Result<usize> {
    let n = match ctx.args.get("versions") {
        Some(v) if !v.is_null() => v.i64()?,
        _ => 20,
    };
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= app::policy_changes::MAX_POLICY_VERSIONS)
        .ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some("versions"),
                format!(
                    "`versions` is {n}; give 0 to {}",
                    app::policy_changes::MAX_POLICY_VERSIONS
                ),
            )
        })
}

fn versions_input() -> InputValue {
    InputValue::new("versions", TypeRef::named(TypeRef::INT))
        .description("How many versions `versions` lists, newest first (default 20, at most 100)")
}

/// The query fields: `policy`, `validatePolicy`, `auditLog`, `customFields`.
pub fn query_fields() -> Vec<Field> {
    vec![
        Field::new("policy", TypeRef::named_nn("Policy"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                let rc = ctx.data::<RequestCtx>()?;
                let limit = versions_arg(&ctx)?;
                let view = read_as(rc, move |store, services, access| {
                    services.policy_view(store, access, limit, now())
                })
                .await?;
                Ok(Some(FieldValue::owned_any(view_json(&view))))
            })
        })
        .argument(versions_input())
        .description(
            "The org's access policy in force (its Cedar text, version, hash, who set it and \
             when, whether it is the shipped default) and its versions, newest first. Who may: \
             admins (`edit` on the org and the admin role, which no org policy widens; others \
             get `FORBIDDEN`)",
        ),
        Field::new(
            "validatePolicy",
            TypeRef::named_nn("PolicyValidation"),
            |ctx| {
                super::spans::traced(super::spans::resolver(&ctx), async move {
                    let rc = ctx.data::<RequestCtx>()?;
                    let text = ctx.args.try_get("text")?.string()?.to_owned();
                    let problems = read_as(rc, move |store, services, access| {
                        services.validate_policy(store, access, &text, now())
                    })
                    .await?;
                    Ok(Some(FieldValue::owned_any(json!({
                        "valid": problems.is_empty(),
                        "problems": problems.iter().map(problem_json).collect::<Vec<_>>(),
                    }))))
                })
            },
        )
        .argument(
            InputValue::new("text", TypeRef::named_nn(TypeRef::STRING))
                .description("The Cedar policy text to check (at most 256 KiB)"),
        )
        .description(
            "Checks a policy text as `setPolicy` would (Cedar's strict validation against the \
             schema, an `@id` on every policy, no other org named, a row filter for every role) \
             and stores nothing: its problems, each at its line and column. Who may: admins \
             (`edit` on the org and the admin role; others get `FORBIDDEN`)",
        ),
        Field::new("auditLog", TypeRef::named_nn("AuditLogConnection"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), audit_log(ctx))
        })
        .argument(
            InputValue::new("first", TypeRef::named(TypeRef::INT))
                .description("At most this many entries (default 50, at most 200)"),
        )
        .argument(
            InputValue::new("after", TypeRef::named(TypeRef::STRING))
                .description("A cursor from `pageInfo.endCursor` or an entry: the older entries"),
        )
        .argument(
            InputValue::new("actor", TypeRef::named(TypeRef::STRING))
                .description("Only this actor's entries (a user id, or `cli`)"),
        )
        .argument(
            InputValue::new("deniedOnly", TypeRef::named(TypeRef::BOOLEAN))
                .description("Only denials (default false)"),
        )
        .description(
            "The org's audit log, newest first: every restricted read and every denial, policy \
             changes, ... (docs/policy.md). Who may: whoever may edit the org (admins by \
             default; others get `FORBIDDEN`)",
        ),
        Field::new(
            "customFields",
            TypeRef::named_nn_list_nn("CustomFieldDefinition"),
            |ctx| {
                super::spans::traced(super::spans::resolver(&ctx), async move {
                    let rc = ctx.data::<RequestCtx>()?;
                    let entity = match ctx.args.get("entity") {
                        Some(v) if !v.is_null() => {
                            let e = v.string()?;
                            Some(domain::enums::CustomEntity::parse(e).map_err(|err| {
                                error(
                                    Code::BadUserInput,
                                    Some("entity"),
                                    format!("`entity`: {err}"),
                                )
                            })?)
                        }
                        _ => None,
                    };
                    let defs = read_as(rc, move |store, services, access| {
                        services.custom_field_definitions(store, access)
                    })
                    .await?;
                    Ok(Some(FieldValue::list(
                        defs.into_iter()
                            .filter(|(d, _)| entity.is_none_or(|e| d.entity == e))
                            .map(|(d, values)| {
                                FieldValue::owned_any(json!({
                                    "id": d.id.as_str(),
                                    "entity": d.entity.as_str(),
                                    "key": d.key,
                                    "label": d.label,
                                    "type": d.field_type.as_str(),
                                    "options": d.options,
                                    "sensitive": d.sensitive,
                                    "valuesVisible": values.as_str().to_ascii_lowercase(),
                                }))
                            }),
                    )))
                })
            },
        )
        .argument(
            InputValue::new("entity", TypeRef::named(TypeRef::STRING)).description(
                "Only the fields of `candidate`, `application` or `job` (default: all)",
            ),
        )
        .description(
            "The org's custom field definitions, by entity and key: the org's schema, which \
             every user's reports compile against, so every user gets them; each says where \
             the caller's policy lets them read its values (`valuesVisible`). Define and change \
             them with `createCustomField` and `updateCustomField` (admins by default)",
        ),
    ]
}

async fn audit_log(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let rc = ctx.data::<RequestCtx>()?;
    let first = match ctx.args.get("first") {
        Some(v) if !v.is_null() => v.i64()?,
        _ => 50,
    };
    let first = usize::try_from(first)
        .ok()
        .filter(|n| (1..=app::audit_log::MAX_AUDIT_PAGE).contains(n))
        .ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some("first"),
                format!(
                    "`first` is {first}; give 1 to {}",
                    app::audit_log::MAX_AUDIT_PAGE
                ),
            )
        })?;
    let after = match ctx.args.get("after") {
        Some(v) if !v.is_null() => Some(after_seq(v.string()?)?),
        _ => None,
    };
    let actor = match ctx.args.get("actor") {
        Some(v) if !v.is_null() => {
            let a = v.string()?;
            if a.len() > 200 {
                return Err(error(
                    Code::BadUserInput,
                    Some("actor"),
                    "`actor` is longer than 200 bytes",
                ));
            }
            // An actor is a user id or `cli`: no control character (NUL would reach
            // PostgreSQL, which refuses it in any text).
            if a.chars().any(char::is_control) {
                return Err(error(
                    Code::BadUserInput,
                    Some("actor"),
                    "`actor` must not contain control characters",
                ));
            }
            Some(a.to_owned())
        }
        _ => None,
    };
    let denied_only = match ctx.args.get("deniedOnly") {
        Some(v) if !v.is_null() => v.boolean()?,
        _ => false,
    };
    let query = app::audit_log::AuditLogQuery {
        first,
        before_seq: after,
        actor,
        denied_only,
    };
    let page = read_as(rc, move |store, services, access| {
        services.audit_log(store, access, query, now())
    })
    .await?;
    let end = page.entries.last().map(|(seq, _)| cursor(*seq));
    Ok(Some(FieldValue::owned_any(json!({
        "nodes": page.entries.iter().map(|(seq, e)| entry_json(*seq, e)).collect::<Vec<_>>(),
        "pageInfo": {
            "hasNextPage": page.has_more,
            "hasPreviousPage": after.is_some(),
            "endCursor": end,
        },
    }))))
}

/// How long an invitation works by default, and at most, in hours.
pub const INVITATION_HOURS: i64 = 7 * 24;
pub const MAX_INVITATION_HOURS: i64 = 30 * 24;

/// The mutation fields: `setPolicy`, `resetPolicy`, `inviteUser`.
pub fn mutation_fields() -> Vec<Field> {
    vec![
        Field::new("inviteUser", TypeRef::named_nn("Invitation"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), invite_user(ctx))
        })
        .argument(
            InputValue::new("userId", TypeRef::named_nn(TypeRef::ID))
                .description("An active user of the caller's org, with an email"),
        )
        .argument(
            InputValue::new("validHours", TypeRef::named(TypeRef::INT))
                .description("How long the link works, 1 to 720 hours (default 168, a week)"),
        )
        .description(
            "Invites a user of the caller's org to the console: a one-time link to choose a \
             password under their email, which signs them in (earlier sessions of theirs are \
             closed). Recorded in the audit log (`inviteUser`; never the code). Who may: admins \
             (`edit` on the org and the admin role, which no org policy widens: the link lets \
             its holder act as the user; others get `FORBIDDEN`). Checks: `userId` an active \
             user of the org (`NOT_FOUND` otherwise) with an email (`BAD_USER_INPUT`); \
             `validHours` 1 to 720",
        ),
        Field::new("setPolicy", TypeRef::named_nn("Policy"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), set_policy(ctx))
        })
        .argument(
            InputValue::new("text", TypeRef::named_nn(TypeRef::STRING))
                .description("The org's whole new Cedar policy text (at most 256 KiB)"),
        )
        .argument(versions_input())
        .description(
            "Sets the org's access policy: a new version, in force at once for every user of \
             the org, recorded in the audit log (`setPolicy`, the caller, the text's hash). Who \
             may: admins (`edit` on the org and the admin role; others get `FORBIDDEN`). Checks: \
             as `validatePolicy`; a text with problems is `BAD_USER_INPUT` on `text`, its \
             message the first problem as `text:LINE:COLUMN: ...`, `extensions.line`, \
             `extensions.column` and `extensions.problems` every problem; nothing is stored. \
             Answers with the policy in force",
        ),
        Field::new("resetPolicy", TypeRef::named_nn("Policy"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), reset_policy(ctx))
        })
        .argument(versions_input())
        .description(
            "Returns the org to the shipped default policy: a new version that stands for the \
             default of the running release (the history keeps the org's texts), recorded in \
             the audit log (`resetPolicy`). Who may: admins (`edit` on the org and the admin \
             role; others get `FORBIDDEN`). Answers with the policy in force",
        ),
    ]
}

/// Runs a policy change as the caller; marks the request committed when it succeeds.
async fn change_as<F>(
    rc: &RequestCtx,
    limit: usize,
    f: F,
) -> async_graphql::Result<Result<app::policy_changes::PolicyView, app::AppError>>
where
    F: FnOnce(&mut store::Store, &app::Services, &app::Access) -> Result<i64, app::AppError>
        + Send
        + 'static,
{
    let services = rc.services.clone();
    let access = rc.caller.access.clone();
    let committed = rc.committed.clone();
    rc.db
        .run(move |store| {
            f(store, &services, &access)?;
            committed.store(true, std::sync::atomic::Ordering::Release);
            // Answered as the caller was authorized for the change (a new policy that takes
            // their own `edit` on the org away applies from their next request on).
            services.policy_view(store, &access, limit, now())
        })
        .await
        .map_err(|e| internal("reaching the database", e))
}

/// The API error of a refused policy text: `BAD_USER_INPUT` on `text`, with every problem.
fn text_refusal(text: &str, e: &app::AppError) -> async_graphql::Error {
    let problems = app::policy_changes::policy_problems(text, e);
    let first = problems.first().cloned();
    let message = match &first {
        Some(p) => format!("text:{}:{}: {}", p.line, p.column, p.message),
        None => e.to_string(),
    };
    let list: Vec<Value> = problems.iter().map(problem_json).collect();
    error(Code::BadUserInput, Some("text"), message).extend_with(move |_, ext| {
        if let Some(p) = &first {
            ext.set("line", p.line as u64);
            ext.set("column", p.column as u64);
        }
        ext.set(
            "problems",
            GqlValue::from_json(Value::Array(list.clone())).unwrap_or(GqlValue::Null),
        );
    })
}

async fn set_policy(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let rc = ctx.data::<RequestCtx>()?;
    let text = ctx.args.try_get("text")?.string()?.to_owned();
    let limit = versions_arg(&ctx)?;
    let given = text.clone();
    let done = change_as(rc, limit, move |store, services, access| {
        services.set_policy_as(store, access, &given, now())
    })
    .await?;
    match done {
        Ok(view) => Ok(Some(FieldValue::owned_any(view_json(&view)))),
        Err(e) if app::policy_changes::is_text_refusal(&e) => Err(text_refusal(&text, &e)),
        Err(e) => Err(failure(Failure::App(e))),
    }
}

async fn reset_policy(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let rc = ctx.data::<RequestCtx>()?;
    let limit = versions_arg(&ctx)?;
    let done = change_as(rc, limit, move |store, services, access| {
        services.reset_policy_as(store, access, now())
    })
    .await?;
    match done {
        Ok(view) => Ok(Some(FieldValue::owned_any(view_json(&view)))),
        Err(e) => Err(failure(Failure::App(e))),
    }
}

async fn invite_user(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    use app::sessions::SignInError;
    let rc = ctx.data::<RequestCtx>()?;
    let user = ctx.args.try_get("userId")?.string()?.to_owned();
    let hours = match ctx.args.get("validHours").filter(|v| !v.is_null()) {
        None => INVITATION_HOURS,
        Some(v) => match v.i64() {
            Ok(h) if (1..=MAX_INVITATION_HOURS).contains(&h) => h,
            _ => {
                return Err(error(
                    Code::BadUserInput,
                    Some("validHours"),
                    format!("`validHours` must be 1 to {MAX_INVITATION_HOURS}"),
                ));
            }
        },
    };
    let services = rc.services.clone();
    let access = rc.caller.access.clone();
    let token = rc.caller.revoked_with.clone();
    let committed = rc.committed.clone();
    rc.secret_answer
        .store(true, std::sync::atomic::Ordering::Release);
    let at = now();
    let target = user.clone();
    let made = rc
        .db
        .run(move |store| {
            let code = services.invite_user(
                store,
                &access,
                &target,
                at,
                hours * 3_600,
                token.as_deref(),
            )?;
            committed.store(true, std::sync::atomic::Ordering::Release);
            Ok::<_, SignInError>(code)
        })
        .await
        .map_err(|e| internal("reaching the database", e))?;
    let code = match made {
        Ok(code) => code,
        Err(SignInError::App(e)) => return Err(failure(Failure::App(e))),
        Err(SignInError::UserGone(_)) => {
            return Err(error(
                Code::NotFound,
                Some("userId"),
                format!("`userId`: the org has no active user `{user}`"),
            ));
        }
        Err(e @ SignInError::NoEmail { .. }) => {
            return Err(error(Code::BadUserInput, Some("userId"), e.to_string()));
        }
        Err(e) => return Err(internal("inviting a user", e)),
    };
    let expires = domain::Instant::from_micros(at.as_micros() + hours * 3_600_000_000)
        .map_err(|e| internal("the invitation's expiry", e))?;
    Ok(Some(FieldValue::owned_any(json!({
        "userId": user,
        "path": format!("/console/invitation/{code}"),
        "code": code,
        "expiresAt": expires.to_string(),
    }))))
}
