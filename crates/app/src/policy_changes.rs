//! Changing an org's access policy: a new version from a file ([`Services::set_policy`]) or
//! back to the shipped default ([`Services::reset_policy`]). Every change is recorded in the
//! org's audit log (who, when, the version and a hash of the text in force), whoever makes it:
//! the CLI and any other caller go through here.
//!
//! The CLI without `--as` is the operator and is trusted ([`Services::set_policy`],
//! [`Services::reset_policy`]); a user (the API, the console) goes through the `_as` forms,
//! which authorize first: `authorize_command(ManagePolicy)`, `edit` on the caller's org and the
//! admin role (which no org policy widens: a policy decides what every user sees), and record
//! the caller as `set_by`. Reading the policy in force
//! and its versions ([`Services::policy_view`]) and validating a text
//! ([`Services::validate_policy`]) take the same authorization.

use sha2::Digest;
use store::{AuditEvent, AuditOutcome, Store};

use crate::{Access, AppError, Command, Services, check_policy};

/// The most versions [`Services::policy_view`] lists.
pub const MAX_POLICY_VERSIONS: usize = 100;
/// The longest policy text a user may set or validate, in bytes (the shipped default is about
/// 15 KB).
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

/// One version of an org's policy as a user reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersion {
    /// The store's version (1, 2, ...); `None` for an org that never set one (the shipped
    /// default of the running release).
    pub version: Option<i64>,
    /// The Cedar text in force with this version (the shipped default's for a reset).
    pub text: String,
    /// [`policy_hash`] of `text`.
    pub hash: String,
    /// Who set it (`cli` or nobody for the operator).
    pub set_by: Option<String>,
    pub set_at: Option<domain::Instant>,
    /// Whether this version stands for the shipped default.
    pub shipped_default: bool,
}

/// An org's policy in force and its history, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyView {
    pub current: PolicyVersion,
    /// At most the limit asked, newest first; empty for an org that never set a policy.
    pub versions: Vec<PolicyVersion>,
    /// How many versions the org has in all.
    pub total_versions: usize,
}

/// One problem of a policy text, with its place (1-based line and column; a problem without a
/// place in the text, e.g. a policy the row filter cannot express, at its `@id` line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyProblem {
    pub line: usize,
    pub column: usize,
    /// The `@id` of the policy concerned, when known.
    pub policy: Option<String>,
    pub message: String,
}

impl PolicyVersion {
    fn of(stored: &store::OrgPolicy) -> PolicyVersion {
        let shipped_default = stored.is_shipped_default();
        let text = if shipped_default {
            policy::DEFAULT_POLICY.to_owned()
        } else {
            stored.text.clone()
        };
        PolicyVersion {
            version: Some(stored.version),
            hash: policy_hash(&text),
            text,
            set_by: stored.set_by.clone(),
            set_at: Some(stored.set_at),
            shipped_default,
        }
    }
}

/// The problems of a refused policy text, each with its place in `text`.
pub fn policy_problems(text: &str, error: &AppError) -> Vec<PolicyProblem> {
    use policy::PolicyError;
    let at_id = |id: &str| -> (usize, usize) {
        let needle = format!("@id(\"{id}\")");
        text.lines()
            .enumerate()
            .find_map(|(n, l)| l.find(&needle).map(|c| (n + 1, c + 1)))
            .unwrap_or((1, 1))
    };
    match error {
        AppError::EmptyPolicy { .. } => vec![PolicyProblem {
            line: 1,
            column: 1,
            policy: None,
            message: "the text is empty; reset the policy to return to the shipped default"
                .to_owned(),
        }],
        AppError::Policy(e) => match e.as_ref() {
            PolicyError::Invalid { problems, .. } => problems
                .iter()
                .map(|p| PolicyProblem {
                    line: p.line,
                    column: p.column,
                    policy: p.policy.clone(),
                    message: p.message.clone(),
                })
                .collect(),
            PolicyError::CrossOrg {
                line,
                column,
                policy,
                named,
                org,
                ..
            } => vec![PolicyProblem {
                line: *line,
                column: *column,
                policy: Some(policy.clone()),
                message: format!(
                    "names org `{named}`, but this policy is for org `{org}`: an org's policies cannot reach another org"
                ),
            }],
            PolicyError::Untranslatable { policy, .. } => {
                let (line, column) = at_id(policy);
                vec![PolicyProblem {
                    line,
                    column,
                    policy: Some(policy.clone()),
                    message: e.to_string(),
                }]
            }
            other => vec![PolicyProblem {
                line: 1,
                column: 1,
                policy: None,
                message: other.to_string(),
            }],
        },
        other => vec![PolicyProblem {
            line: 1,
            column: 1,
            policy: None,
            message: other.to_string(),
        }],
    }
}

/// Whether `error` is a refusal of the policy text itself (its problems are
/// [`policy_problems`]), rather than of the caller or a failure.
pub fn is_text_refusal(error: &AppError) -> bool {
    use policy::PolicyError;
    match error {
        AppError::EmptyPolicy { .. } => true,
        AppError::Policy(e) => matches!(
            e.as_ref(),
            PolicyError::Invalid { .. }
                | PolicyError::CrossOrg { .. }
                | PolicyError::Untranslatable { .. }
        ),
        _ => false,
    }
}

/// The audit log's action for a policy file set as an org's new version.
pub const SET_POLICY: &str = "setPolicy";
/// The audit log's action for an org's return to the shipped default policy.
pub const RESET_POLICY: &str = "resetPolicy";

/// Who changed a policy when the caller names nobody.
const UNNAMED: &str = "cli";

/// The first 16 bytes of the SHA-256 of a policy text, in hex: which text was in force, without
/// the text.
pub fn policy_hash(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Services {
    /// Validates an org's policy file (strictly, and refusing anything that names another org
    /// or that the row-filter translator cannot express for some role), stores it as the org's
    /// next version and records the change in the audit log. An empty file is refused: it is
    /// not a way back to the shipped default ([`Services::reset_policy`] is).
    pub fn set_policy(
        &self,
        store: &mut Store,
        org: &str,
        text: &str,
        origin: &str,
        set_by: Option<&str>,
        at: domain::Instant,
    ) -> Result<i64, AppError> {
        if text.is_empty() {
            return Err(AppError::EmptyPolicy {
                origin: origin.to_owned(),
            });
        }
        check_policy(org, text, origin)?;
        let version = store.set_org_policy(org, text, set_by, at)?;
        record(store, org, SET_POLICY, version, text, set_by, at)?;
        Ok(version)
    }

    /// Returns an org to the shipped default policy: a new version (the history keeps the
    /// org's own files) that stands for the default of the running release, recorded in the
    /// audit log. Returns the version.
    pub fn reset_policy(
        &self,
        store: &mut Store,
        org: &str,
        set_by: Option<&str>,
        at: domain::Instant,
    ) -> Result<i64, AppError> {
        let version = store.reset_org_policy(org, set_by, at)?;
        record(
            store,
            org,
            RESET_POLICY,
            version,
            policy::DEFAULT_POLICY,
            set_by,
            at,
        )?;
        Ok(version)
    }
}

impl Services {
    /// The org's policy in force and its newest `limit` versions (at most
    /// [`MAX_POLICY_VERSIONS`]), for an admin (`edit` on the org and the admin role).
    pub fn policy_view(
        &self,
        store: &mut Store,
        access: &Access,
        limit: usize,
        at: domain::Instant,
    ) -> Result<PolicyView, AppError> {
        self.authorize_command(store, access, &Command::ManagePolicy, at)?;
        let limit = limit.min(MAX_POLICY_VERSIONS);
        // At least the one in force; `limit` is at most 100.
        let history = store.org_policy_newest(&access.viewer.org, limit.max(1) as u32)?;
        let total_versions = history
            .first()
            .map_or(0, |p| usize::try_from(p.version).unwrap_or(0));
        let current = match history.first() {
            Some(p) => PolicyVersion::of(p),
            None => PolicyVersion {
                version: None,
                text: policy::DEFAULT_POLICY.to_owned(),
                hash: policy_hash(policy::DEFAULT_POLICY),
                set_by: None,
                set_at: None,
                shipped_default: true,
            },
        };
        let versions = history.iter().take(limit).map(PolicyVersion::of).collect();
        Ok(PolicyView {
            current,
            versions,
            total_versions,
        })
    }

    /// Checks `text` as [`Services::set_policy`] would, storing nothing: its problems with
    /// their places (empty: it could be set). For an admin (`edit` on the org and the admin role).
    pub fn validate_policy(
        &self,
        store: &mut Store,
        access: &Access,
        text: &str,
        at: domain::Instant,
    ) -> Result<Vec<PolicyProblem>, AppError> {
        self.authorize_command(store, access, &Command::ManagePolicy, at)?;
        check_size(text)?;
        let checked = if text.is_empty() {
            Err(AppError::EmptyPolicy {
                origin: "text".to_owned(),
            })
        } else {
            check_policy(&access.viewer.org, text, "text").map(|_| ())
        };
        match checked {
            Ok(()) => Ok(Vec::new()),
            Err(e) if is_text_refusal(&e) => Ok(policy_problems(text, &e)),
            Err(e) => Err(e),
        }
    }

    /// [`Services::set_policy`] for a user: authorized (`edit` on their org and the admin role), recorded as
    /// set by them. A text with problems is refused ([`is_text_refusal`]) and nothing stored.
    pub fn set_policy_as(
        &self,
        store: &mut Store,
        access: &Access,
        text: &str,
        at: domain::Instant,
    ) -> Result<i64, AppError> {
        self.authorize_command(store, access, &Command::ManagePolicy, at)?;
        check_size(text)?;
        let by = access.viewer.user.clone();
        self.set_policy(store, &access.viewer.org, text, "text", Some(&by), at)
    }

    /// [`Services::reset_policy`] for a user: authorized (`edit` on their org and the admin role), recorded as
    /// set by them.
    pub fn reset_policy_as(
        &self,
        store: &mut Store,
        access: &Access,
        at: domain::Instant,
    ) -> Result<i64, AppError> {
        self.authorize_command(store, access, &Command::ManagePolicy, at)?;
        let by = access.viewer.user.clone();
        self.reset_policy(store, &access.viewer.org, Some(&by), at)
    }
}

/// A policy text the store can keep: at most [`MAX_POLICY_BYTES`], no NUL character (PostgreSQL
/// keeps none in text).
fn check_size(text: &str) -> Result<(), AppError> {
    if let Some(at) = text.find('\0') {
        return Err(AppError::invalid(
            "text",
            format!(
                "`text`: a policy must not contain the NUL character (U+0000), found at byte {at}"
            ),
        ));
    }
    if text.len() > MAX_POLICY_BYTES {
        return Err(AppError::invalid(
            "text",
            format!(
                "`text`: a policy of {} bytes is longer than the {MAX_POLICY_BYTES} allowed",
                text.len()
            ),
        ));
    }
    Ok(())
}

fn record(
    store: &mut Store,
    org: &str,
    action: &str,
    version: i64,
    text: &str,
    set_by: Option<&str>,
    at: domain::Instant,
) -> Result<(), AppError> {
    let what = if action == RESET_POLICY {
        "the shipped default, "
    } else {
        ""
    };
    store.record_audit(
        org,
        &[AuditEvent {
            at,
            actor: set_by.unwrap_or(UNNAMED).to_owned(),
            action: action.to_owned(),
            subject: format!("policy v{version}"),
            outcome: AuditOutcome::Allowed,
            policies: Vec::new(),
            query_hash: None,
            detail: Some(format!("{what}sha256 {}", policy_hash(text))),
        }],
    )?;
    Ok(())
}
