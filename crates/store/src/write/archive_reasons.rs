//! Each org's archive reasons (migration 13): the list `archiveApplication` takes a reason from,
//! as Greenhouse's rejection reasons and Ashby's archive reasons are. An org that never set one
//! uses [`DEFAULT_ARCHIVE_REASONS`]. The list is the org's configuration, outside the
//! interchange format: an import neither reads nor writes it (archived applications of an
//! imported history keep the reasons they have), and it survives an org's replacement.

use super::WriteError;
use super::tx::{Kind, Tx};
use crate::rows::Val;
use crate::{Store, StoreError};

/// The list an org starts with: the reasons a recruiting team most often gives, the company's
/// (`not a fit`, ...) and the candidate's (`withdrew`, `accepted another offer`, ...).
pub const DEFAULT_ARCHIVE_REASONS: &[&str] = &[
    "not a fit",
    "lacks required experience",
    "withdrew",
    "unresponsive",
    "accepted another offer",
    "compensation mismatch",
    "location mismatch",
    "duplicate",
];

/// The most reasons a list may hold, and the longest reason, in characters.
pub const MAX_ARCHIVE_REASONS: usize = 100;
pub const MAX_ARCHIVE_REASON_CHARS: usize = 200;

/// The org's reasons, in order (the default list when it never set one).
pub(crate) fn reasons_tx(tx: &mut Tx<'_>, org: &str) -> Result<Vec<String>, StoreError> {
    let rows = tx.query(
        "SELECT reason FROM archive_reasons WHERE org_id = $1 ORDER BY position",
        &[Val::Text(org)],
        &[Kind::Text],
    )?;
    if rows.is_empty() {
        return Ok(DEFAULT_ARCHIVE_REASONS
            .iter()
            .map(|r| (*r).to_owned())
            .collect());
    }
    rows.iter().map(|r| r.text(0)).collect()
}

/// `reason` as the org's list spells it, when it is on the list (compared trimmed and without
/// regard to case); otherwise a refusal of `reason` that lists the reasons.
pub(crate) fn listed_reason(
    tx: &mut Tx<'_>,
    org: &str,
    reason: &str,
) -> Result<String, WriteError> {
    let reasons = reasons_tx(tx, org)?;
    let wanted = reason.trim().to_lowercase();
    if let Some(r) = reasons.iter().find(|r| r.to_lowercase() == wanted) {
        return Ok(r.clone());
    }
    Err(WriteError::invalid(
        "reason",
        format!(
            "`{reason}` is not one of the org's archive reasons: {} (admins change the list with `setArchiveReasons`)",
            reasons.join(", ")
        ),
    ))
}

impl Store {
    /// Org `org`'s archive reasons, in order: the list it set, or [`DEFAULT_ARCHIVE_REASONS`].
    pub fn archive_reasons(&mut self, org: &str) -> Result<Vec<String>, StoreError> {
        self.read_tx(org, |tx| reasons_tx(tx, org))
    }

    /// Replaces org `org`'s archive reasons with `reasons` (in this order; each trimmed, not
    /// empty, at most [`MAX_ARCHIVE_REASON_CHARS`] characters, unique regardless of case; at
    /// least one, at most [`MAX_ARCHIVE_REASONS`]). Answers with the list as stored.
    pub fn set_archive_reasons(
        &mut self,
        org: &str,
        reasons: &[String],
    ) -> Result<Vec<String>, WriteError> {
        let mut list: Vec<String> = Vec::with_capacity(reasons.len());
        if reasons.is_empty() {
            return Err(WriteError::invalid(
                "reasons",
                "an org needs at least one archive reason",
            ));
        }
        if reasons.len() > MAX_ARCHIVE_REASONS {
            return Err(WriteError::invalid(
                "reasons",
                format!(
                    "{} reasons; an org has at most {MAX_ARCHIVE_REASONS}",
                    reasons.len()
                ),
            ));
        }
        for (i, r) in reasons.iter().enumerate() {
            let field = format!("reasons[{i}]");
            let r = r.trim();
            if r.is_empty() {
                return Err(WriteError::invalid(field, "must not be empty"));
            }
            super::no_nul(&field, r)?;
            if r.chars().count() > MAX_ARCHIVE_REASON_CHARS {
                return Err(WriteError::invalid(
                    field,
                    format!("is longer than {MAX_ARCHIVE_REASON_CHARS} characters"),
                ));
            }
            if let Some(j) = list
                .iter()
                .position(|l| l.to_lowercase() == r.to_lowercase())
            {
                return Err(WriteError::invalid(
                    field,
                    format!("`{r}` is already the reason at `reasons[{j}]`"),
                ));
            }
            list.push(r.to_owned());
        }
        self.write_tx(org, |tx| {
            tx.execute(
                "DELETE FROM archive_reasons WHERE org_id = $1",
                &[Val::Text(org)],
            )?;
            for (i, r) in list.iter().enumerate() {
                let position = i64::try_from(i + 1).unwrap_or(i64::MAX);
                tx.execute(
                    "INSERT INTO archive_reasons (org_id, position, reason) VALUES ($1, $2, $3)",
                    &[Val::Text(org), Val::Int(position), Val::Text(r)],
                )?;
            }
            tx.emit(
                &crate::events::ARCHIVE_REASONS_SET,
                format!("org/{org}"),
                serde_json::json!({"reasons": list}),
            );
            Ok(list.clone())
        })
    }
}
