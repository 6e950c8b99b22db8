//! An OpenFeature provider over the replica's copy of the feature flags (docs/flags.md,
//! "OpenFeature"), so that code built on hireplane asks for flags through the standard API
//! (`open_feature::Client`) rather than through hireplane's own types, and can swap the
//! provider in tests.
//!
//! Each server registers its provider under its replica id ([`install`]; a process may run
//! several servers, as the tests do) and hands out clients bound to it
//! ([`crate::Running::feature_client`]). Evaluations read the copy the poller keeps current, in
//! process, without a database round trip.
//!
//! The evaluation context maps to Unleash's: `targeting_key` is the user id; the custom fields
//! `orgId`, `role`, `environment`, `sessionId`, `remoteAddress` and `currentTime` (a datetime)
//! are the fields of the same meaning; any other string, number or boolean field is a property.
//! The replica adds its version, environment (when the context has none) and `canary`, as for
//! `viewer { flags }`. Resolution:
//! - boolean: whether the flag is on for the context (reason `TARGETING_MATCH`);
//! - string: the variant's name (`disabled` when the flag is off or has no variants: the
//!   default value is returned with reason `DISABLED`);
//! - integer, float, object: the variant's payload of Unleash type `number` or `json`
//!   (`TYPE_MISMATCH` for another type, `PARSE_ERROR` when it does not parse);
//! - an unknown flag: `FLAG_NOT_FOUND` (the client returns the caller's default).

use std::collections::HashMap;
use std::sync::Arc;

use open_feature::async_trait;
use open_feature::provider::{
    FeatureProvider, ProviderMetadata, ProviderStatus, ResolutionDetails,
};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationError, EvaluationErrorCode,
    EvaluationReason, EvaluationResult, StructValue, Value,
};

use crate::flags::FlagsCache;

/// The provider: the replica's flags.
pub struct Provider {
    cache: Arc<FlagsCache>,
    metadata: ProviderMetadata,
}

impl Provider {
    pub fn new(cache: Arc<FlagsCache>) -> Provider {
        Provider {
            cache,
            metadata: ProviderMetadata::new("hireplane"),
        }
    }

    /// The Unleash context of an OpenFeature one, with what this replica adds.
    fn context(&self, cx: &EvaluationContext) -> flags::Context {
        let deployment = self.cache.deployment();
        let mut out = flags::Context::new().replica_version(&deployment.replica_version);
        if let Some(user) = &cx.targeting_key {
            out = out.user(user);
        }
        let mut environment = deployment.environment.clone();
        let mut now = jiff::Timestamp::now();
        for (key, value) in &cx.custom_fields {
            let text = match value {
                EvaluationContextFieldValue::String(s) => s.clone(),
                EvaluationContextFieldValue::Bool(b) => b.to_string(),
                EvaluationContextFieldValue::Int(i) => i.to_string(),
                EvaluationContextFieldValue::Float(f) => f.to_string(),
                EvaluationContextFieldValue::DateTime(t) => {
                    if key == "currentTime"
                        && let Ok(ts) = jiff::Timestamp::from_nanosecond(t.unix_timestamp_nanos())
                    {
                        now = ts;
                    }
                    continue;
                }
                // Opaque values mean nothing to Unleash's constraints.
                EvaluationContextFieldValue::Struct(_) => continue,
            };
            out = match key.as_str() {
                "orgId" => out.org(&text),
                "role" => out.role(&text),
                "sessionId" => out.session(&text),
                "remoteAddress" => out.remote_address(&text),
                "environment" => {
                    environment = Some(text);
                    out
                }
                // The replica's own: a caller does not choose them.
                "replicaVersion" | app::flags::CANARY_PROPERTY => out,
                other => out.property(other, &text),
            };
        }
        if let Some(env) = &environment {
            out = out.environment(env);
        }
        out.property(
            app::flags::CANARY_PROPERTY,
            if deployment.canary { "true" } else { "false" },
        )
        .current_time(now)
    }

    /// The flag's variant for `cx`, or `FLAG_NOT_FOUND`.
    fn variant(&self, key: &str, cx: &EvaluationContext) -> EvaluationResult<flags::Variant> {
        let loaded = self.cache.get();
        if !loaded.flags.names().iter().any(|n| n == key) {
            return Err(not_found(key));
        }
        Ok(loaded.flags.variant(key, &self.context(cx)))
    }

    /// The payload of the variant `key` gives `cx`, parsed by `parse` when its type is `kind`.
    fn payload<T>(
        &self,
        key: &str,
        cx: &EvaluationContext,
        kind: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> EvaluationResult<ResolutionDetails<T>> {
        let variant = self.variant(key, cx)?;
        let Some(payload) = variant.payload.as_ref().filter(|_| variant.enabled) else {
            return Err(error(
                EvaluationErrorCode::General("no variant".to_owned()),
                format!("flag `{key}` gives this context no variant with a payload"),
            ));
        };
        if payload.kind != kind {
            return Err(error(
                EvaluationErrorCode::TypeMismatch,
                format!(
                    "flag `{key}`: variant `{}` has a `{}` payload, not `{kind}`",
                    variant.name, payload.kind
                ),
            ));
        }
        let value = parse(&payload.value).ok_or_else(|| {
            error(
                EvaluationErrorCode::ParseError,
                format!(
                    "flag `{key}`: variant `{}`'s payload `{}` is not a {kind} of that type",
                    variant.name, payload.value
                ),
            )
        })?;
        Ok(ResolutionDetails {
            value,
            variant: Some(variant.name),
            reason: Some(EvaluationReason::TargetingMatch),
            flag_metadata: None,
        })
    }
}

fn error(code: EvaluationErrorCode, message: String) -> EvaluationError {
    EvaluationError {
        code,
        message: Some(message),
    }
}

fn not_found(key: &str) -> EvaluationError {
    error(
        EvaluationErrorCode::FlagNotFound,
        format!("no flag `{key}` on this replica"),
    )
}

/// A JSON value as OpenFeature's.
fn value_of(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Struct(StructValue::default()),
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::Array(items.iter().map(value_of).collect()),
        serde_json::Value::Object(map) => Value::Struct(StructValue {
            fields: map.iter().map(|(k, v)| (k.clone(), value_of(v))).collect(),
        }),
    }
}

#[async_trait]
impl FeatureProvider for Provider {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    fn status(&self) -> ProviderStatus {
        ProviderStatus::Ready
    }

    async fn resolve_bool_value(
        &self,
        key: &str,
        cx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        let loaded = self.cache.get();
        if !loaded.flags.names().iter().any(|n| n == key) {
            return Err(not_found(key));
        }
        let on = loaded.flags.evaluate(key, &self.context(cx));
        Ok(ResolutionDetails {
            value: on,
            variant: Some(if on { "on" } else { "off" }.to_owned()),
            reason: Some(EvaluationReason::TargetingMatch),
            flag_metadata: None,
        })
    }

    async fn resolve_string_value(
        &self,
        key: &str,
        cx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        let variant = self.variant(key, cx)?;
        if !variant.enabled {
            return Err(error(
                EvaluationErrorCode::General("disabled".to_owned()),
                format!("flag `{key}` is off for this context or has no variants"),
            ));
        }
        Ok(ResolutionDetails {
            value: variant.name.clone(),
            variant: Some(variant.name),
            reason: Some(EvaluationReason::TargetingMatch),
            flag_metadata: None,
        })
    }

    async fn resolve_int_value(
        &self,
        key: &str,
        cx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        self.payload(key, cx, "number", |s| s.trim().parse().ok())
    }

    async fn resolve_float_value(
        &self,
        key: &str,
        cx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        self.payload(key, cx, "number", |s| {
            s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
        })
    }

    async fn resolve_struct_value(
        &self,
        key: &str,
        cx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        self.payload(key, cx, "json", |s| {
            match value_of(&serde_json::from_str::<serde_json::Value>(s).ok()?) {
                Value::Struct(v) => Some(v),
                _ => None,
            }
        })
    }
}

/// Registers this replica's provider under `name` (unique to the server) with the process's
/// OpenFeature API; clients named `name` evaluate through it.
pub async fn install(name: &str, cache: Arc<FlagsCache>) {
    let mut api = open_feature::OpenFeature::singleton_mut().await;
    api.set_named_provider(name, Provider::new(cache)).await;
}

/// A client of the provider registered as `name`.
pub async fn client(name: &str) -> open_feature::Client {
    open_feature::OpenFeature::singleton()
        .await
        .create_named_client(name)
}

/// The evaluation context of a user: their org, id and role, as `viewer { flags }` sees them.
pub fn user_context(org: &str, user: &str, role: &str) -> EvaluationContext {
    let mut fields = HashMap::new();
    fields.insert(
        "orgId".to_owned(),
        EvaluationContextFieldValue::String(org.to_owned()),
    );
    fields.insert(
        "role".to_owned(),
        EvaluationContextFieldValue::String(role.to_owned()),
    );
    EvaluationContext {
        targeting_key: Some(user.to_owned()),
        custom_fields: fields,
    }
}
