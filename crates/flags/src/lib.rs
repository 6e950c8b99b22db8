//! Feature flags: Unleash definitions evaluated in-process.
//!
//! The definition format and the evaluation semantics are Unleash's (toggles with strategies,
//! constraints with every operator, segments, variants with weights, stickiness and overrides,
//! dependent flags), so a team's Unleash definitions give the same answer here as in any
//! Unleash SDK. The evaluation is Unleash's own Rust engine (`unleash-yggdrasil`, the one its
//! SDKs embed), wrapped behind hireplane's types:
//!
//! - [`Flags`]: a set of definitions, checked ([`check_feature`], [`check_segment`]: errors name
//!   the JSON path) and compiled once; [`Flags::evaluate`] and [`Flags::variant`] answer for a
//!   [`Context`].
//! - [`Context`]: who asks. hireplane's fields map to Unleash's context: the user is `userId`,
//!   the org, role and replica version are the properties `orgId`, `role` and
//!   `replicaVersion` (so a rollout can stick to `orgId`), the environment is `environment`,
//!   the caller's clock is `currentTime`, and any other property is passed as is.
//! - [`rollout`]: gradual rollouts guarded by the SLOs, the engine that decides whether a
//!   rollout plan holds, advances, completes or halts, from the time and the cohorts' figures.
//!
//! **Pure:** no IO, no clock (the caller passes the time `DATE_*` constraints compare with; a
//! context without one makes them false), no async. The only impurity is Unleash's `random`
//! stickiness (and `gradualRolloutRandom`), which asks the OS for randomness by definition.

mod definition;
pub mod rollout;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use unleash_types::client_features::{
    ClientFeature, ClientFeatures, Context as UnleashContext, Segment,
};
use unleash_yggdrasil::{EngineState, UpdateMessage};

pub use definition::{
    DefinitionError, MAX_LIST, MAX_NAME, MAX_TEXT, OPERATORS, check_feature, check_segment,
    read_feature, read_segment,
};

/// How a document is read: as an Unleash SDK reads a server's answer (its shape), or as
/// hireplane checks what an admin sets or imports ([`check_feature`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unleash,
    Strict,
}

fn feature(v: &Value, mode: Mode) -> Result<ClientFeature, DefinitionError> {
    match mode {
        Mode::Unleash => read_feature(v),
        Mode::Strict => check_feature(v),
    }
}

fn segment(v: &Value, mode: Mode) -> Result<Segment, DefinitionError> {
    match mode {
        Mode::Unleash => read_segment(v),
        Mode::Strict => check_segment(v),
    }
}

/// A features document checked as hireplane checks what an admin imports: each feature and
/// segment with its JSON as given (what the store keeps) and as the engine reads it.
#[derive(Debug, Clone)]
pub struct Document {
    pub features: Vec<(ClientFeature, Value)>,
    pub segments: Vec<(Segment, Value)>,
}

/// Checks Unleash's client features document (`{"version": 1, "features": [...],
/// "segments": [...]}`) strictly ([`check_feature`]): every operator known, weights in range,
/// no two features of one name, no two segments of one id, every segment a strategy names
/// defined in the document.
pub fn check_document(text: &str) -> Result<Document, FlagsError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| FlagsError::Json(e.to_string()))?;
    let features = features_of(&doc, "", Mode::Strict)?;
    let segments = segments_of(&doc, "", Mode::Strict)?;
    let raw = |key: &str| -> Vec<Value> {
        doc.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut names = std::collections::HashSet::new();
    for (i, f) in features.iter().enumerate() {
        if !names.insert(f.name.as_str()) {
            return Err(DefinitionError {
                path: format!("features[{i}].name"),
                message: format!("a second flag named `{}`", f.name),
            }
            .into());
        }
    }
    let mut ids = std::collections::HashSet::new();
    for (i, s) in segments.iter().enumerate() {
        if !ids.insert(s.id) {
            return Err(DefinitionError {
                path: format!("segments[{i}].id"),
                message: format!("a second segment with id {}", s.id),
            }
            .into());
        }
    }
    for (i, f) in features.iter().enumerate() {
        for (j, s) in f.strategies.iter().flatten().enumerate() {
            for (k, id) in s.segments.iter().flatten().enumerate() {
                if !ids.contains(id) {
                    return Err(DefinitionError {
                        path: format!("features[{i}].strategies[{j}].segments[{k}]"),
                        message: format!("no segment with id {id} in the document"),
                    }
                    .into());
                }
            }
        }
    }
    Ok(Document {
        features: features.into_iter().zip(raw("features")).collect(),
        segments: segments.into_iter().zip(raw("segments")).collect(),
    })
}

/// The property that carries the org (stickiness `orgId` rolls out org by org).
pub const ORG_PROPERTY: &str = "orgId";
/// The property that carries the caller's role.
pub const ROLE_PROPERTY: &str = "role";
/// The property that carries the replica's version (for canaries).
pub const REPLICA_VERSION_PROPERTY: &str = "replicaVersion";
/// The `appName` hireplane passes unless a caller says otherwise.
pub const APP_NAME: &str = "hireplane";

/// Why a set of definitions was refused.
#[derive(Debug, thiserror::Error)]
pub enum FlagsError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error(transparent)]
    Definition(#[from] DefinitionError),
}

/// Who a flag is evaluated for. Built with its setters; every field is optional.
#[derive(Debug, Clone)]
pub struct Context {
    inner: UnleashContext,
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl Context {
    /// An empty context (with `appName` `hireplane`).
    pub fn new() -> Context {
        Context {
            inner: UnleashContext {
                app_name: Some(APP_NAME.to_owned()),
                ..UnleashContext::default()
            },
        }
    }

    /// The org the request acts in (property `orgId`).
    pub fn org(self, org: &str) -> Context {
        self.property(ORG_PROPERTY, org)
    }

    /// The user (`userId`).
    pub fn user(mut self, user: &str) -> Context {
        self.inner.user_id = Some(user.to_owned());
        self
    }

    /// The user's role (property `role`).
    pub fn role(self, role: &str) -> Context {
        self.property(ROLE_PROPERTY, role)
    }

    /// The version of the replica evaluating (property `replicaVersion`).
    pub fn replica_version(self, version: &str) -> Context {
        self.property(REPLICA_VERSION_PROPERTY, version)
    }

    /// The deployment's environment (`environment`).
    pub fn environment(mut self, environment: &str) -> Context {
        self.inner.environment = Some(environment.to_owned());
        self
    }

    /// The session (`sessionId`).
    pub fn session(mut self, session: &str) -> Context {
        self.inner.session_id = Some(session.to_owned());
        self
    }

    /// The client's address (`remoteAddress`).
    pub fn remote_address(mut self, address: &str) -> Context {
        self.inner.remote_address = Some(address.to_owned());
        self
    }

    /// The application (`appName`), `hireplane` unless set.
    pub fn app_name(mut self, name: &str) -> Context {
        self.inner.app_name = Some(name.to_owned());
        self
    }

    /// Removes `appName` (Unleash's contexts may have none).
    pub fn without_app_name(mut self) -> Context {
        self.inner.app_name = None;
        self
    }

    /// The caller's clock (`currentTime`, which `DATE_AFTER` and `DATE_BEFORE` compare with).
    pub fn current_time(mut self, now: jiff::Timestamp) -> Context {
        self.inner.current_time = Some(now.to_string());
        self
    }

    /// Any other property (custom context fields of constraints and stickiness).
    pub fn property(mut self, name: &str, value: &str) -> Context {
        self.inner
            .properties
            .get_or_insert_with(HashMap::new)
            .insert(name.to_owned(), value.to_owned());
        self
    }

    /// The properties, sorted by name.
    pub fn properties(&self) -> BTreeMap<&str, &str> {
        self.inner
            .properties
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// A variant's payload, as Unleash defines it (`type`: `string`, `json`, `csv`, `number`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Payload {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// The variant a context gets: `disabled` (not enabled) when the flag is off for it, unknown, or
/// has no variants.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Variant {
    pub name: String,
    /// Whether a variant was chosen (false for `disabled`).
    pub enabled: bool,
    /// Whether the flag itself is on for the context.
    pub feature_enabled: bool,
    pub payload: Option<Payload>,
}

/// A compiled set of flag definitions. Cheap to evaluate from many threads at once.
pub struct Flags {
    engine: EngineState,
    names: Vec<String>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flags")
            .field("names", &self.names)
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl Default for Flags {
    fn default() -> Self {
        Flags::new(Vec::new(), Vec::new())
    }
}

fn features_of(doc: &Value, path: &str, mode: Mode) -> Result<Vec<ClientFeature>, DefinitionError> {
    let obj = doc.as_object().ok_or_else(|| DefinitionError {
        path: if path.is_empty() {
            ".".into()
        } else {
            path.into()
        },
        message: "expected an object with `features`".into(),
    })?;
    let mut out = Vec::new();
    let here = if path.is_empty() {
        "features".to_owned()
    } else {
        format!("{path}.features")
    };
    match obj.get("features") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, f) in items.iter().enumerate() {
                out.push(feature(f, mode).map_err(|e| e.under(&format!("{here}[{i}]")))?);
            }
        }
        Some(_) => {
            return Err(DefinitionError {
                path: here,
                message: "expected a list".into(),
            });
        }
    }
    Ok(out)
}

fn segments_of(doc: &Value, path: &str, mode: Mode) -> Result<Vec<Segment>, DefinitionError> {
    let here = if path.is_empty() {
        "segments".to_owned()
    } else {
        format!("{path}.segments")
    };
    let mut out = Vec::new();
    match doc.get("segments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, s) in items.iter().enumerate() {
                out.push(segment(s, mode).map_err(|e| e.under(&format!("{here}[{i}]")))?);
            }
        }
        Some(_) => {
            return Err(DefinitionError {
                path: here,
                message: "expected a list".into(),
            });
        }
    }
    Ok(out)
}

/// Applies Unleash's delta events (`hydration`, `feature-updated`, `feature-removed`,
/// `segment-updated`, `segment-removed`) in order.
fn apply_events(
    events: &[Value],
    features: &mut BTreeMap<String, ClientFeature>,
    segments: &mut BTreeMap<i32, Segment>,
) -> Result<(), DefinitionError> {
    for (i, event) in events.iter().enumerate() {
        let at = format!("events[{i}]");
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "hydration" => {
                features.clear();
                segments.clear();
                for f in features_of(event, &at, Mode::Unleash)? {
                    features.insert(f.name.clone(), f);
                }
                for s in segments_of(event, &at, Mode::Unleash)? {
                    segments.insert(s.id, s);
                }
            }
            "feature-updated" => {
                let f = event.get("feature").unwrap_or(&Value::Null);
                let f = read_feature(f).map_err(|e| e.under(&format!("{at}.feature")))?;
                features.insert(f.name.clone(), f);
            }
            "feature-removed" => {
                let name = event
                    .get("featureName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| DefinitionError {
                        path: format!("{at}.featureName"),
                        message: "expected a flag name".into(),
                    })?;
                features.remove(name);
            }
            "segment-updated" => {
                let s = event.get("segment").unwrap_or(&Value::Null);
                let s = read_segment(s).map_err(|e| e.under(&format!("{at}.segment")))?;
                segments.insert(s.id, s);
            }
            "segment-removed" => {
                let id = event
                    .get("segmentId")
                    .and_then(Value::as_i64)
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| DefinitionError {
                        path: format!("{at}.segmentId"),
                        message: "expected a segment id".into(),
                    })?;
                segments.remove(&id);
            }
            other => {
                return Err(DefinitionError {
                    path: format!("{at}.type"),
                    message: format!("unknown event type `{other}`"),
                });
            }
        }
    }
    Ok(())
}

impl Flags {
    /// Reads Unleash's feature JSON as any Unleash SDK reads a server's answer: a client
    /// features document (`{"version": 1, "features": [...], "segments": [...]}`) or a delta
    /// document (`{"events": [...]}`, applied in order). Only the shape is checked (errors name
    /// the JSON path from the root: `` `features[2].strategies[0].parameters.rollout` ``);
    /// what Unleash evaluates as false (an unknown operator, a regular expression that does not
    /// compile, a dangling segment) stays so. What hireplane stores is checked strictly first
    /// ([`check_document`], [`check_feature`]). Of two features with one name the later wins.
    pub fn from_unleash_json(text: &str) -> Result<Flags, FlagsError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| FlagsError::Json(e.to_string()))?;
        let (features, segments) = if let Some(events) = doc.get("events") {
            let events = events.as_array().ok_or_else(|| DefinitionError {
                path: "events".into(),
                message: "expected a list".into(),
            })?;
            let mut features = BTreeMap::new();
            let mut segments = BTreeMap::new();
            apply_events(events, &mut features, &mut segments)?;
            (
                features.into_values().collect(),
                segments.into_values().collect(),
            )
        } else {
            (
                features_of(&doc, "", Mode::Unleash)?,
                segments_of(&doc, "", Mode::Unleash)?,
            )
        };
        Ok(Flags::new(features, segments))
    }

    /// Compiles checked definitions (a later feature of the same name replaces an earlier one).
    pub fn new(features: Vec<ClientFeature>, segments: Vec<Segment>) -> Flags {
        let mut names: Vec<String> = features.iter().map(|f| f.name.clone()).collect();
        names.sort();
        names.dedup();
        let engine = EngineState::initial_state(chrono::DateTime::UNIX_EPOCH);
        let warnings = engine
            .take_state(UpdateMessage::FullResponse(ClientFeatures {
                version: 2,
                features,
                segments: Some(segments),
                query: None,
                meta: None,
            }))
            .unwrap_or_default()
            .into_iter()
            .map(|w| format!("`{}`: {}", w.toggle_name, w.message))
            .collect();
        Flags {
            engine,
            names,
            warnings,
        }
    }

    /// The flags defined, sorted by name.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// What the engine could not compile (a strategy it evaluates as false), one line each.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether flag `name` is on for `context` (false for a flag that is not defined).
    pub fn evaluate(&self, name: &str, context: &Context) -> bool {
        self.engine.is_enabled(name, &context.inner, &None)
    }

    /// The variant of flag `name` that `context` gets.
    pub fn variant(&self, name: &str, context: &Context) -> Variant {
        let v = self.engine.get_variant(name, &context.inner, &None);
        Variant {
            name: v.name,
            enabled: v.enabled,
            feature_enabled: v.feature_enabled,
            payload: v.payload.map(|p| Payload {
                kind: p.payload_type,
                value: p.value,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(percent: u32, stickiness: &str) -> Flags {
        let doc = serde_json::json!({"version": 1, "features": [{
        "name": "f", "enabled": true,
        "strategies": [{"name": "flexibleRollout", "parameters": {
            "rollout": percent.to_string(), "stickiness": stickiness, "groupId": "f"}}],
        "variants": [
            {"name": "a", "weight": 500, "stickiness": stickiness},
            {"name": "b", "weight": 500, "stickiness": stickiness}
        ]}]});
        match Flags::from_unleash_json(&doc.to_string()) {
            Ok(f) => f,
            Err(e) => unreachable!("{e}"),
        }
    }

    #[test]
    fn an_org_rollout_buckets_orgs_within_one_percent_and_keeps_them_as_it_grows() {
        let orgs: Vec<String> = (0..100_000).map(|i| format!("org_{i}")).collect();
        let mut on_at = Vec::new();
        let mut variant_of: HashMap<&str, String> = HashMap::new();
        for percent in [1u32, 5, 25, 50, 100] {
            let flags = rollout(percent, ORG_PROPERTY);
            let mut on = Vec::new();
            let mut a = 0u32;
            for org in &orgs {
                let cx = Context::new().org(org).user("same user for every org");
                if flags.evaluate("f", &cx) {
                    on.push(org.as_str());
                    let variant = flags.variant("f", &cx).name;
                    if variant == "a" {
                        a += 1;
                    }
                    // An org keeps its variant as the percentage grows.
                    let first = variant_of.entry(org).or_insert_with(|| variant.clone());
                    assert_eq!(*first, variant, "{org} at {percent}%");
                }
            }
            let share = on.len() as f64 / orgs.len() as f64 * 100.0;
            assert!(
                (share - f64::from(percent)).abs() < 1.0,
                "{percent}%: {share}"
            );
            let a_share = f64::from(a) / on.len() as f64;
            assert!(
                (a_share - 0.5).abs() < 0.01 + 1.0 / (on.len() as f64).sqrt(),
                "{a_share}"
            );
            on_at.push(on);
        }
        // An org that had the flag keeps it when the percentage grows.
        for pair in on_at.windows(2) {
            let bigger: std::collections::HashSet<&str> = pair[1].iter().copied().collect();
            assert!(pair[0].iter().all(|o| bigger.contains(o)));
        }
    }

    #[test]
    fn a_user_keeps_their_variant_when_the_percentage_grows() {
        let small = rollout(10, "default");
        let big = rollout(90, "default");
        let mut checked = 0;
        for i in 0..10_000 {
            let cx = Context::new().user(&format!("user_{i}"));
            if small.evaluate("f", &cx) {
                assert!(big.evaluate("f", &cx));
                assert_eq!(small.variant("f", &cx), big.variant("f", &cx));
                checked += 1;
            }
        }
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn context_fields_reach_unleash_names() {
        let doc = serde_json::json!({"features": [{
        "name": "admins-in-prod", "enabled": true,
        "strategies": [{"name": "default", "constraints": [
            {"contextName": "role", "operator": "IN", "values": ["admin"]},
            {"contextName": "environment", "operator": "IN", "values": ["production"]},
            {"contextName": "replicaVersion", "operator": "SEMVER_GTE", "value": "1.2.0"},
            {"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2026-01-01T00:00:00Z"},
            {"contextName": "plan", "operator": "STR_STARTS_WITH", "values": ["ent"]}
        ]}]}]});
        let flags = Flags::from_unleash_json(&doc.to_string()).map_err(|e| e.to_string());
        let Ok(flags) = flags else {
            unreachable!("{flags:?}")
        };
        let now: jiff::Timestamp = "2026-12-06T10:00:00Z".parse().unwrap_or_default();
        let cx = Context::new()
            .org("org_1")
            .user("u")
            .role("admin")
            .environment("production")
            .replica_version("1.3.0")
            .current_time(now)
            .property("plan", "enterprise");
        assert!(flags.evaluate("admins-in-prod", &cx));
        assert!(!flags.evaluate("admins-in-prod", &cx.clone().role("recruiter")));
        assert!(!flags.evaluate("admins-in-prod", &cx.clone().replica_version("1.1.9")));
        let before: jiff::Timestamp = "2025-12-31T23:00:00Z".parse().unwrap_or_default();
        assert!(!flags.evaluate("admins-in-prod", &cx.clone().current_time(before)));
        // No clock is read: without a time, a DATE constraint is false.
        let mut no_time = cx.clone();
        no_time.inner.current_time = None;
        assert!(!flags.evaluate("admins-in-prod", &no_time));
        assert!(!flags.evaluate("unknown", &cx));
        assert_eq!(flags.variant("unknown", &cx).name, "disabled");
    }

    #[test]
    fn a_checked_document_names_the_path_from_the_root() {
        let doc = r#"{"features": [{"name": "a", "enabled": true},
            {"name": "b", "enabled": true, "strategies": [{"name": "default",
              "constraints": [{"contextName": "x", "operator": "IN"},
                              {"contextName": "x", "operator": "FOO"}]}]}]}"#;
        let e = check_document(doc).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err(
                "`features[1].strategies[0].constraints[1].operator`: unknown operator `FOO`"
                    .into()
            )
        );
        // As Unleash reads it, the unknown operator is false, not an error.
        let flags = Flags::from_unleash_json(doc).map_err(|e| e.to_string());
        let Ok(flags) = flags else {
            unreachable!("{flags:?}")
        };
        assert!(flags.evaluate("a", &Context::new()));
        assert!(!flags.evaluate("b", &Context::new().property("x", "y")));
        let dup =
            r#"{"features": [{"name": "a", "enabled": true}, {"name": "a", "enabled": false}]}"#;
        let e = check_document(dup).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(e, Err("`features[1].name`: a second flag named `a`".into()));
        let dangling = r#"{"features": [{"name": "a", "enabled": true,
            "strategies": [{"name": "default", "segments": [7]}]}], "segments": []}"#;
        let e = check_document(dangling)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err(
                "`features[0].strategies[0].segments[0]`: no segment with id 7 in the document"
                    .into()
            )
        );
        let shape = r#"{"features": [{"name": "a", "enabled": true,
            "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": 5}}]}]}"#;
        let e = Flags::from_unleash_json(shape)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            matches!(&e, Err(m) if m.starts_with("`features[0].strategies[0].parameters.rollout`: ")),
            "{e:?}"
        );
        let e = Flags::from_unleash_json("{")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(matches!(e, Err(m) if m.starts_with("not JSON: ")));
    }

    #[test]
    fn unleash_edge_cases_hold() {
        let doc = serde_json::json!({"features": [
            {"name": "tz", "enabled": true, "strategies": [{"name": "default", "constraints": [
                {"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2022-01-22T13:00:00.000+02:00"},
                {"contextName": "currentTime", "operator": "DATE_BEFORE", "value": "2022-01-22T14:00:00.000+02:00"}]}]},
            {"name": "missing-not-in", "enabled": true, "strategies": [{"name": "default", "constraints": [
                {"contextName": "absent", "operator": "NOT_IN", "values": ["s1"]}]}]},
            {"name": "num", "enabled": true, "strategies": [{"name": "default", "constraints": [
                {"contextName": "n", "operator": "NUM_EQ", "value": "12"}]}]},
            {"name": "cidr", "enabled": true, "strategies": [{"name": "default", "constraints": [
                {"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}]}]}
        ]});
        let flags = Flags::from_unleash_json(&doc.to_string()).map_err(|e| e.to_string());
        let Ok(flags) = flags else {
            unreachable!("{flags:?}")
        };
        let at: jiff::Timestamp = "2022-01-22T11:30:00Z".parse().unwrap_or_default();
        assert!(flags.evaluate("tz", &Context::new().current_time(at)));
        assert!(flags.evaluate("missing-not-in", &Context::new()));
        assert!(flags.evaluate("num", &Context::new().property("n", "12.0")));
        assert!(!flags.evaluate("num", &Context::new().property("n", "13")));
        assert!(flags.evaluate("cidr", &Context::new().remote_address("10.1.2.3")));
        assert!(!flags.evaluate("cidr", &Context::new().remote_address("11.1.2.3")));
    }
}
