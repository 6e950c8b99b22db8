//! Changing an org's access policy: a new version from a file ([`Services::set_policy`]) or
//! back to the shipped default ([`Services::reset_policy`]). Every change is recorded in the
//! org's audit log (who, when, the version and a hash of the text in force), whoever makes it:
//! the CLI and any other caller go through here.

use sha2::Digest;
use store::{AuditEvent, AuditOutcome, Store};

use crate::{AppError, Services, check_policy};

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
