//! Feature flags in the API (docs/flags.md): any caller gets the flags evaluated for
//! themselves (`viewer { flags }`, from the replica's copy, no database round trip); admins read
//! the definitions and their history (`flags`, `flagHistory`) and set a flag (`setFlag`). The
//! admin fields go through `app::Services`' flag functions, whose one authorization is
//! `authorize_command(ManageFlags)` plus the admin role (`app::flags`).

use super::json_field;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, Object, ResolverContext, Type, TypeRef,
};
use serde_json::{Value, json};

use super::mutations::run_as;
use super::{Code, RequestCtx, error};
use app::flags::FlagsActor;

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

fn list(values: Vec<Value>) -> Option<FieldValue<'static>> {
    Some(FieldValue::list(
        values.into_iter().map(FieldValue::owned_any),
    ))
}

fn stored_json(f: &store::StoredFlag) -> Value {
    json!({
        "name": f.name,
        "kind": f.kind.as_str(),
        "definition": serde_json::from_str::<Value>(&f.definition).unwrap_or(Value::Null),
        "version": f.version,
        "updatedAt": f.updated_at.to_string(),
        "updatedBy": f.updated_by,
    })
}

fn change_json(c: &store::FlagChange) -> Value {
    let parse = |d: &Option<String>| {
        d.as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .unwrap_or(Value::Null)
    };
    json!({
        "version": c.version,
        "kind": c.kind.as_str(),
        "name": c.name,
        "changedAt": c.changed_at.to_string(),
        "changedBy": c.changed_by,
        "reason": c.reason,
        "before": parse(&c.before),
        "after": parse(&c.after),
    })
}

/// The types: `FlagState` (a flag evaluated for the caller), `Flag` (a stored definition),
/// `FlagChange` (one change of the history).
pub fn types() -> Vec<Type> {
    let state = Object::new("FlagState")
        .description("A feature flag evaluated for the caller (their org, user id and role, this replica's version and environment)")
        .field(json_field("name", TypeRef::named_nn(TypeRef::STRING), "The flag's name"))
        .field(json_field(
            "enabled",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether the flag is on for the caller",
        ))
        .field(json_field(
            "variant",
            TypeRef::named_nn(TypeRef::STRING),
            "The variant the caller gets (`disabled` when the flag is off or has no variants)",
        ))
        .field(json_field(
            "payload",
            TypeRef::named("JSON"),
            "The variant's payload as Unleash defines it (`{type, value}`), or null",
        ));
    let flag = Object::new("Flag")
        .description("A stored feature flag definition (or segment), as an admin reads it")
        .field(json_field(
            "name",
            TypeRef::named_nn(TypeRef::STRING),
            "The flag's name (a segment's id)",
        ))
        .field(json_field(
            "kind",
            TypeRef::named_nn(TypeRef::STRING),
            "`flag`, or `segment` (constraints flags share)",
        ))
        .field(json_field(
            "definition",
            TypeRef::named_nn("JSON"),
            "The definition in Unleash's feature JSON, as set",
        ))
        .field(json_field(
            "version",
            TypeRef::named_nn(TypeRef::INT),
            "The history version of its last change",
        ))
        .field(json_field(
            "updatedAt",
            TypeRef::named_nn("DateTime"),
            "When it last changed",
        ))
        .field(json_field(
            "updatedBy",
            TypeRef::named_nn(TypeRef::STRING),
            "Who changed it last: `ORG/USER`, or `cli` for the operator",
        ));
    let change = Object::new("FlagChange")
        .description("One change of the flags' history: who, when, why, before and after")
        .field(json_field(
            "version",
            TypeRef::named_nn(TypeRef::INT),
            "The change's number (the installation's flags count their changes 1, 2, ...)",
        ))
        .field(json_field(
            "kind",
            TypeRef::named_nn(TypeRef::STRING),
            "`flag` or `segment`",
        ))
        .field(json_field(
            "name",
            TypeRef::named_nn(TypeRef::STRING),
            "The flag's name (a segment's id)",
        ))
        .field(json_field(
            "changedAt",
            TypeRef::named_nn("DateTime"),
            "When the change was made",
        ))
        .field(json_field(
            "changedBy",
            TypeRef::named_nn(TypeRef::STRING),
            "Who made it: `ORG/USER`, or `cli` for the operator",
        ))
        .field(json_field(
            "reason",
            TypeRef::named_nn(TypeRef::STRING),
            "Why, as given with the change",
        ))
        .field(json_field(
            "before",
            TypeRef::named("JSON"),
            "The definition before (null: the change created it)",
        ))
        .field(json_field(
            "after",
            TypeRef::named("JSON"),
            "The definition after (null: the change removed it)",
        ));
    vec![state.into(), flag.into(), change.into()]
}

/// `Viewer.flags`: every flag evaluated for the caller, from the replica's copy.
pub fn viewer_flags_field() -> Field {
    Field::new("flags", TypeRef::named_nn_list_nn("FlagState"), |ctx| {
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            let loaded = rc.flags.get();
            let states = rc.services.evaluate_flags(
                &loaded.flags,
                &rc.caller.access,
                rc.flags.deployment(),
                now(),
            );
            Ok(list(
                states
                    .into_iter()
                    .map(|s| {
                        json!({
                            "name": s.name,
                            "enabled": s.enabled,
                            "variant": s.variant.name,
                            "payload": s.variant.payload,
                        })
                    })
                    .collect(),
            ))
        })
    })
    .description(
        "The installation's feature flags evaluated for the caller (their org, user id and \
         role; docs/flags.md), by name; from this replica's copy, current within `flags.poll_ms`",
    )
}

/// `flags` and `flagHistory`: the stored definitions and their history, for admins.
pub fn query_fields() -> Vec<Field> {
    vec![
        Field::new("flags", TypeRef::named_nn_list_nn("Flag"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                let rc = ctx.data::<RequestCtx>()?;
                let operator = rc.flags.deployment().operator_org.clone();
                let rows = run_as(rc, move |store, services, access, _org, at| {
                    Ok(services.list_flags(
                        store,
                        FlagsActor::User(access, operator.as_deref()),
                        at,
                    )?)
                })
                .await?;
                Ok(list(rows.iter().map(stored_json).collect()))
            })
        })
        .description(
            "The installation's feature flag definitions and segments, by kind and name. Who \
             may: admins of the operator org (`flags.operator_org`; none by default) allowed \
             `edit` on it (others get `FORBIDDEN`)",
        ),
        Field::new(
            "flagHistory",
            TypeRef::named_nn_list_nn("FlagChange"),
            |ctx| {
                super::spans::traced(super::spans::resolver(&ctx), async move {
                    let rc = ctx.data::<RequestCtx>()?;
                    let name = match ctx.args.get("name") {
                        Some(v) if !v.is_null() => Some(v.string()?.to_owned()),
                        _ => None,
                    };
                    let limit = match ctx.args.get("limit") {
                        Some(v) if !v.is_null() => v.i64()?,
                        _ => 20,
                    };
                    let limit = u32::try_from(limit).map_err(|_| {
                        error(
                            Code::BadUserInput,
                            Some("limit"),
                            format!("`limit`: between 0 and {}", app::flags::MAX_HISTORY),
                        )
                    })?;
                    let operator = rc.flags.deployment().operator_org.clone();
                    let changes = run_as(rc, move |store, services, access, _org, at| {
                        Ok(services.flag_history(
                            store,
                            FlagsActor::User(access, operator.as_deref()),
                            name.as_deref(),
                            limit,
                            at,
                        )?)
                    })
                    .await?;
                    Ok(list(changes.iter().map(change_json).collect()))
                })
            },
        )
        .argument(
            InputValue::new("name", TypeRef::named(TypeRef::STRING))
                .description("Only this flag's changes (default: every flag's and segment's)"),
        )
        .argument(
            InputValue::new("limit", TypeRef::named(TypeRef::INT))
                .description("At most this many changes, newest first (default 20, at most 1000)"),
        )
        .description(
            "The history of the flags, newest first: who, when, why, before and after. Who \
             may: admins of the operator org (`flags.operator_org`; none by default)",
        ),
    ]
}

/// `setFlag(name, definition, reason)`: for admins.
pub fn set_flag_field() -> Field {
    Field::new("setFlag", TypeRef::named_nn("Flag"), |ctx| {
        super::spans::traced(super::spans::resolver(&ctx), set_flag(ctx))
    })
    .argument(
        InputValue::new("name", TypeRef::named_nn(TypeRef::STRING))
            .description("The flag's name (the definition's `name` must be the same)"),
    )
    .argument(
        InputValue::new("definition", TypeRef::named_nn("JSON"))
            .description("The flag's definition in Unleash's feature JSON (docs/flags.md)"),
    )
    .argument(
        InputValue::new("reason", TypeRef::named_nn(TypeRef::STRING))
            .description("Why the flag changes (kept in the history; not empty)"),
    )
    .description(
        "Creates or replaces a feature flag of the installation, recorded in the history with \
         the caller and the reason. Who may: admins of the operator org (`flags.operator_org`; none by default; others get \
         `FORBIDDEN`). Checks: the definition as Unleash reads it, strictly (`BAD_USER_INPUT` \
         naming the JSON path, e.g. `strategies[0].constraints[1].operator`). Every replica \
         evaluates the new definition within `flags.poll_ms`, this one at once. Answers with \
         the stored flag",
    )
}

async fn set_flag(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let rc = ctx.data::<RequestCtx>()?;
    let name = ctx.args.try_get("name")?.string()?.to_owned();
    let reason = ctx.args.try_get("reason")?.string()?.to_owned();
    let definition = ctx
        .args
        .try_get("definition")?
        .as_value()
        .clone()
        .into_json()
        .map_err(|e| {
            error(
                Code::BadUserInput,
                Some("definition"),
                format!("`definition`: {e}"),
            )
        })?
        .to_string();
    let operator = rc.flags.deployment().operator_org.clone();
    let stored = run_as(rc, move |store, services, access, _org, at| {
        let actor = FlagsActor::User(access, operator.as_deref());
        services.set_flag(store, actor, &name, &definition, "definition", &reason, at)?;
        Ok(services.show_flag(store, actor, &name, at)?)
    })
    .await?;
    if let Err(e) = rc.flags.refresh(&rc.db, &rc.services).await {
        tracing::warn!(error = %e, "cannot reload the flags after setFlag; the poll will");
    }
    Ok(Some(FieldValue::owned_any(stored_json(&stored))))
}

/// The API error of a refused flag operation (`Failure::App(AppError::Flags(..))`).
pub(super) fn flag_error(e: &app::flags::FlagError) -> async_graphql::Error {
    use app::flags::FlagError;
    match e {
        FlagError::Definition { source, .. } => error(
            Code::BadUserInput,
            Some("definition"),
            format!("`definition`: {source}"),
        ),
        FlagError::NameMismatch { name, found, .. } => error(
            Code::BadUserInput,
            Some("name"),
            format!("`name`: the definition names flag `{found}`, not `{name}`"),
        ),
        FlagError::Reason => error(Code::BadUserInput, Some("reason"), e.to_string()),
        FlagError::NoSuchFlag(_) => error(Code::NotFound, None, e.to_string()),
        FlagError::Stored { .. } => super::internal("reading the flags", e.to_string()),
        FlagError::Plan(p) => error(Code::BadUserInput, Some("plan"), p.to_string()),
        FlagError::NoRollout(_) => error(Code::NotFound, None, e.to_string()),
        FlagError::RolloutActive(_)
        | FlagError::RolloutChanged(_)
        | FlagError::RolloutPhase { .. }
        | FlagError::NotRolloutShaped(_) => error(Code::Conflict, Some("flag"), e.to_string()),
    }
}
