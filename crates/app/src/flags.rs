//! Feature flags of the installation: list, show, set (from Unleash's feature JSON, with a
//! reason), remove, history, import and export of Unleash's features document, and evaluation
//! for a user. Definitions are checked strictly by crate `flags` ([`flags::check_feature`]:
//! errors name the JSON path) before the store keeps them; every change is a version of the
//! history (who, when, why, before and after).
//!
//! Who manages flags: an operator with the database (the CLI without `--as`), or a user through
//! the one authorization path ([`Services::authorize_command`] with [`Command::ManageFlags`]:
//! `edit` on the user's org) who is also an admin **of the installation's operator org**
//! (`flags.operator_org` in the server's settings; none by default, so that through the API
//! nobody does). Flags are the installation's, not an org's: an admin of one tenant must not
//! switch features for every other tenant, and the role check is not left to an org's policy
//! file, which could grant `edit` on the org to another role. Reading the definitions is for the same people; any user gets the flags
//! evaluated for themselves ([`Services::evaluate_flags`]).

use ::flags::{Context, Flags, Variant};
use serde_json::Value;
use store::{FlagAuthor, FlagChange, FlagKind, NewFlagChange, Store, StoredFlag};

use crate::{Access, AppError, Command, Services};

/// Who acts on flags.
#[derive(Debug, Clone, Copy)]
pub enum FlagsActor<'a> {
    /// Whoever runs the CLI against the database (recorded as `cli`).
    Operator,
    /// A user of an org, authorized as the module says, and the installation's operator org
    /// (whose admins may manage flags; `None`: no org's).
    User(&'a Access, Option<&'a str>),
}

impl FlagsActor<'_> {
    /// How the history names the actor: `cli`, or `ORG/USER`.
    pub fn name(&self) -> String {
        match self {
            FlagsActor::Operator => "cli".to_owned(),
            FlagsActor::User(a, _) => format!("{}/{}", a.viewer.org, a.viewer.user),
        }
    }
}

/// The most changes a history answer holds.
pub const MAX_HISTORY: u32 = 1000;
/// The longest reason.
pub const MAX_REASON: usize = 2000;

/// Why a flag operation was refused (besides authorization and the store).
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("`{input}`: {source}")]
    Definition {
        input: String,
        source: ::flags::FlagsError,
    },
    #[error("`{input}`: the definition names flag `{found}`, not `{name}`")]
    NameMismatch {
        input: String,
        name: String,
        found: String,
    },
    #[error("`reason`: a change needs a reason (at most {MAX_REASON} bytes)")]
    Reason,
    #[error("no flag `{0}`")]
    NoSuchFlag(String),
    #[error("stored flag `{name}` (version {version}) is no longer valid: {message}")]
    Stored {
        name: String,
        version: i64,
        message: String,
    },
    /// A rollout plan that does not hold ([`::flags::rollout::PlanError`] names the field).
    #[error(transparent)]
    Plan(::flags::rollout::PlanError),
    #[error("no rollout plan for flag `{0}`")]
    NoRollout(String),
    #[error(
        "flag `{0}` has a running or paused rollout plan, which alone changes its definition; abort the plan first (`hireplane rollout abort`)"
    )]
    RolloutActive(String),
    #[error("the rollout plan of flag `{0}` changed meanwhile; read it again")]
    RolloutChanged(String),
    #[error("cannot {action} the rollout plan of flag `{flag}`: it is {phase}")]
    RolloutPhase {
        flag: String,
        action: &'static str,
        phase: &'static str,
    },
    #[error(
        "flag `{0}` has strategies other than a `flexibleRollout` with stickiness `orgId`; a rollout plan drives only such strategies (remove the others, or give the flag none)"
    )]
    NotRolloutShaped(String),
}

impl From<FlagError> for AppError {
    fn from(e: FlagError) -> AppError {
        AppError::Flags(Box::new(e))
    }
}

/// One flag as a user gets it: evaluated for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluatedFlag {
    pub name: String,
    pub enabled: bool,
    pub variant: Variant,
}

/// What the caller's deployment adds to every context: the replica's version and the
/// environment.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    pub replica_version: String,
    pub environment: Option<String>,
    /// The org whose admins manage the installation's flags through the API
    /// (`flags.operator_org`); `None`: only the CLI's operator does.
    pub operator_org: Option<String>,
    /// The replica is a canary (`serve --canary`): contexts get the property `canary` =
    /// `true` (else `false`).
    pub canary: bool,
}

/// The context property that tells a canary replica (`true`) from the others (`false`).
pub const CANARY_PROPERTY: &str = "canary";

/// The stored definitions compiled, with the history version they stand for.
#[derive(Debug)]
pub struct LoadedFlags {
    pub version: i64,
    pub flags: Flags,
}

/// The context hireplane evaluates flags in for `access`'s user at `at`.
pub fn context_for(access: &Access, deployment: &Deployment, at: domain::Instant) -> Context {
    let mut cx = Context::new()
        .org(&access.viewer.org)
        .user(&access.viewer.user)
        .role(&access.user.role)
        .replica_version(&deployment.replica_version)
        .property(
            CANARY_PROPERTY,
            if deployment.canary { "true" } else { "false" },
        );
    if let Some(env) = &deployment.environment {
        cx = cx.environment(env);
    }
    match jiff::Timestamp::from_microsecond(at.as_micros()) {
        Ok(t) => cx.current_time(t),
        Err(_) => cx,
    }
}

/// A flag under a running or paused rollout plan changes only through the plan (each step
/// writes its definition): a hand-made change (`definition`; `None`: removal) that differs from
/// the stored definition would be overwritten by the next step, or would change the cohorts the
/// plan compares, so it is refused until the plan is aborted. The same definition again is no
/// change and passes (an export imported back).
fn refuse_under_rollout(
    store: &mut Store,
    name: &str,
    definition: Option<&Value>,
) -> Result<(), AppError> {
    let Some(plan) = store.rollout(name)? else {
        return Ok(());
    };
    if !::flags::rollout::Phase::parse(&plan.phase).is_some_and(::flags::rollout::Phase::is_active)
    {
        return Ok(());
    }
    let stored = store
        .flags()?
        .into_iter()
        .find(|f| f.kind == FlagKind::Flag && f.name == name)
        .and_then(|f| serde_json::from_str::<Value>(&f.definition).ok());
    if definition.is_some() && stored.as_ref() == definition {
        return Ok(());
    }
    Err(FlagError::RolloutActive(name.to_owned()).into())
}

pub(crate) fn check_reason(reason: &str) -> Result<(), FlagError> {
    if reason.trim().is_empty() || reason.len() > MAX_REASON {
        return Err(FlagError::Reason);
    }
    Ok(())
}

/// The features document of the stored definitions (`{"version": 1, "features": [...],
/// "segments": [...]}`), each definition as it was set.
fn document(rows: &[StoredFlag]) -> Result<Value, FlagError> {
    let mut features = Vec::new();
    let mut segments = Vec::new();
    for r in rows {
        let v: Value = serde_json::from_str(&r.definition).map_err(|e| FlagError::Stored {
            name: r.name.clone(),
            version: r.version,
            message: e.to_string(),
        })?;
        match r.kind {
            FlagKind::Flag => features.push(v),
            FlagKind::Segment => segments.push(v),
        }
    }
    Ok(serde_json::json!({"version": 1, "features": features, "segments": segments}))
}

impl Services {
    pub(crate) fn authorize_flags(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        at: domain::Instant,
    ) -> Result<(), AppError> {
        match actor {
            FlagsActor::Operator => Ok(()),
            FlagsActor::User(access, operator_org) => {
                self.authorize_command(store, access, &Command::ManageFlags, at)?;
                if access.user.role != "admin" || operator_org != Some(access.viewer.org.as_str()) {
                    return Err(AppError::Forbidden {
                        user: access.viewer.user.clone(),
                        action: "manageFlags".to_owned(),
                        subject: "the installation's flags (admins of the operator org, `flags.operator_org`)".to_owned(),
                    });
                }
                Ok(())
            }
        }
    }

    /// Every flag's stored definition (segments too), by name.
    pub fn list_flags(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        at: domain::Instant,
    ) -> Result<Vec<StoredFlag>, AppError> {
        self.authorize_flags(store, actor, at)?;
        Ok(store.flags()?)
    }

    /// Flag `name`'s stored definition.
    pub fn show_flag(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        name: &str,
        at: domain::Instant,
    ) -> Result<StoredFlag, AppError> {
        self.authorize_flags(store, actor, at)?;
        store
            .flag(FlagKind::Flag, name)?
            .ok_or_else(|| FlagError::NoSuchFlag(name.to_owned()).into())
    }

    /// Sets flag `name` from its definition (Unleash's feature JSON; its `name` must be
    /// `name`), checked strictly, with a reason. Returns the change's version, or None when the
    /// definition is the one in force. Segments the definition names must be stored already.
    #[allow(clippy::too_many_arguments)]
    pub fn set_flag(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        name: &str,
        definition: &str,
        origin: &str,
        reason: &str,
        at: domain::Instant,
    ) -> Result<Option<i64>, AppError> {
        self.authorize_flags(store, actor, at)?;
        check_reason(reason)?;
        let bad = |e: ::flags::DefinitionError| FlagError::Definition {
            input: origin.to_owned(),
            source: e.into(),
        };
        let value: Value = serde_json::from_str(definition).map_err(|e| FlagError::Definition {
            input: origin.to_owned(),
            source: ::flags::FlagsError::Json(e.to_string()),
        })?;
        let feature = ::flags::check_feature(&value).map_err(bad)?;
        if feature.name != name {
            return Err(FlagError::NameMismatch {
                input: origin.to_owned(),
                name: name.to_owned(),
                found: feature.name,
            }
            .into());
        }
        let segments: std::collections::HashSet<String> = store
            .flags()?
            .into_iter()
            .filter(|f| f.kind == FlagKind::Segment)
            .map(|f| f.name)
            .collect();
        for (i, s) in feature.strategies.iter().flatten().enumerate() {
            for (j, id) in s.segments.iter().flatten().enumerate() {
                if !segments.contains(&id.to_string()) {
                    return Err(bad(::flags::DefinitionError {
                        path: format!("strategies[{i}].segments[{j}]"),
                        message: format!("no segment with id {id} is stored (import it first)"),
                    })
                    .into());
                }
            }
        }
        // Stored compact, one form whatever the spacing given.
        let text = value.to_string();
        refuse_under_rollout(store, name, Some(&value))?;
        let versions = store.set_flags(
            &[NewFlagChange {
                kind: FlagKind::Flag,
                name,
                definition: Some(&text),
            }],
            FlagAuthor {
                by: &actor.name(),
                reason,
                at,
            },
        )?;
        Ok(versions.first().copied())
    }

    /// Removes flag `name`, with a reason. Returns the change's version.
    pub fn remove_flag(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        name: &str,
        reason: &str,
        at: domain::Instant,
    ) -> Result<i64, AppError> {
        self.authorize_flags(store, actor, at)?;
        check_reason(reason)?;
        refuse_under_rollout(store, name, None)?;
        let versions = store.set_flags(
            &[NewFlagChange {
                kind: FlagKind::Flag,
                name,
                definition: None,
            }],
            FlagAuthor {
                by: &actor.name(),
                reason,
                at,
            },
        )?;
        versions
            .first()
            .copied()
            .ok_or_else(|| FlagError::NoSuchFlag(name.to_owned()).into())
    }

    /// The history of flag `name` (or of every flag and segment), newest first.
    pub fn flag_history(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        name: Option<&str>,
        limit: u32,
        at: domain::Instant,
    ) -> Result<Vec<FlagChange>, AppError> {
        self.authorize_flags(store, actor, at)?;
        Ok(store.flag_history(name.map(|n| (FlagKind::Flag, n)), limit.min(MAX_HISTORY))?)
    }

    /// Imports Unleash's features document (`{"features": [...], "segments": [...]}`): every
    /// feature and segment checked strictly, then set in one transaction with `reason` (an
    /// import is all or nothing; a definition already in force is no change). Flags and
    /// segments the document does not name stay. Returns the versions of the changes.
    pub fn import_flags(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        text: &str,
        origin: &str,
        reason: &str,
        at: domain::Instant,
    ) -> Result<Vec<i64>, AppError> {
        self.authorize_flags(store, actor, at)?;
        check_reason(reason)?;
        let doc = ::flags::check_document(text).map_err(|e| FlagError::Definition {
            input: origin.to_owned(),
            source: e,
        })?;
        let texts: Vec<(FlagKind, String, String)> = doc
            .segments
            .iter()
            .map(|(s, v)| (FlagKind::Segment, s.id.to_string(), v.to_string()))
            .chain(
                doc.features
                    .iter()
                    .map(|(f, v)| (FlagKind::Flag, f.name.clone(), v.to_string())),
            )
            .collect();
        for (f, v) in &doc.features {
            refuse_under_rollout(store, &f.name, Some(v))?;
        }
        let changes: Vec<NewFlagChange<'_>> = texts
            .iter()
            .map(|(kind, name, text)| NewFlagChange {
                kind: *kind,
                name,
                definition: Some(text),
            })
            .collect();
        Ok(store.set_flags(
            &changes,
            FlagAuthor {
                by: &actor.name(),
                reason,
                at,
            },
        )?)
    }

    /// The stored definitions as Unleash's features document (what `import_flags` reads).
    pub fn export_flags(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        at: domain::Instant,
    ) -> Result<Value, AppError> {
        self.authorize_flags(store, actor, at)?;
        Ok(document(&store.flags()?)?)
    }

    /// The stored definitions compiled, with the version they stand for. No authorization:
    /// what every replica loads to evaluate flags.
    pub fn load_flags(&self, store: &mut Store) -> Result<LoadedFlags, AppError> {
        let version = store.flags_version()?;
        let rows = store.flags()?;
        let doc = document(&rows)?;
        let flags = Flags::from_unleash_json(&doc.to_string()).map_err(|e| FlagError::Stored {
            name: "*".to_owned(),
            version,
            message: e.to_string(),
        })?;
        Ok(LoadedFlags { version, flags })
    }

    /// Every flag evaluated for `access`'s user (their org, id and role, the deployment's
    /// version and environment, the time `at`), by name.
    pub fn evaluate_flags(
        &self,
        flags: &Flags,
        access: &Access,
        deployment: &Deployment,
        at: domain::Instant,
    ) -> Vec<EvaluatedFlag> {
        let cx = context_for(access, deployment, at);
        flags
            .names()
            .iter()
            .map(|name| EvaluatedFlag {
                name: name.clone(),
                enabled: flags.evaluate(name, &cx),
                variant: flags.variant(name, &cx),
            })
            .collect()
    }
}
