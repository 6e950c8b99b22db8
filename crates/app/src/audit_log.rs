//! The org's audit log as a user reads it (the API's `auditLog`, the console's audit page):
//! newest first, a bounded page at a time, by actor and outcome, for a user who may `edit` the
//! org (`authorize_command(ReadAuditLog)`: admins under the shipped policy). The operator's CLI
//! reads the store directly (`hireplane audit`).

use store::{AuditEvent, AuditOutcome, AuditQuery, Store};

use crate::{Access, AppError, Command, Services};

/// The most entries one page holds.
pub const MAX_AUDIT_PAGE: usize = 200;

/// Which entries to read.
#[derive(Clone, Debug, Default)]
pub struct AuditLogQuery {
    /// At most this many (1 to [`MAX_AUDIT_PAGE`]).
    pub first: usize,
    /// The entries before this `seq` (the last of the previous page); `None`: the newest.
    pub before_seq: Option<i64>,
    /// Only this actor's entries (a user id, or a service's name).
    pub actor: Option<String>,
    /// Only denials.
    pub denied_only: bool,
}

/// One page of the log, newest first, each entry with its `seq`.
#[derive(Clone, Debug)]
pub struct AuditLogPage {
    pub entries: Vec<(i64, AuditEvent)>,
    /// Whether older entries match too.
    pub has_more: bool,
}

impl Services {
    /// A page of the caller's org's audit log. `first` outside 1 to [`MAX_AUDIT_PAGE`] is
    /// refused on `first`.
    pub fn audit_log(
        &self,
        store: &mut Store,
        access: &Access,
        query: AuditLogQuery,
        at: domain::Instant,
    ) -> Result<AuditLogPage, AppError> {
        if query.first == 0 || query.first > MAX_AUDIT_PAGE {
            return Err(AppError::invalid(
                "first",
                format!("`first`: between 1 and {MAX_AUDIT_PAGE}"),
            ));
        }
        if query.before_seq.is_some_and(|s| s < 1) {
            return Err(AppError::invalid(
                "after",
                "`after`: not a cursor of this log",
            ));
        }
        self.authorize_command(store, access, &Command::ReadAuditLog, at)?;
        let stored = AuditQuery {
            // One more, to know whether there are more.
            limit: query.first + 1,
            actor: query.actor,
            outcome: query.denied_only.then_some(AuditOutcome::Denied),
            since: None,
        };
        let mut entries = store.audit_before(&access.viewer.org, &stored, query.before_seq)?;
        let has_more = entries.len() > query.first;
        entries.truncate(query.first);
        Ok(AuditLogPage { entries, has_more })
    }
}
