//! An org's users as its admins change them: a user's role, and whether they are active
//! (`update_user`). Users come from the org's import; this is the one write path after it.
//!
//! An org keeps at least one active admin: a change that would leave none is refused (the org
//! could not be administered, nor its policy changed, without the operator). Deactivating a user
//! ends their access at once (`app` checks `active` on every request, sessions and tokens
//! included); their records stay.

use domain::Id;
use domain::enums::Role;

use super::WriteError;
use super::tx::Kind;
use crate::Store;
use crate::rows::Val;

/// The class of PostgreSQL's two-key advisory locks that serialise the changes of one org's users
/// (`update_user`; the second key is the org id's hash, two orgs sharing one only wait for each
/// other); an arbitrary constant, after `crate::audit`'s. Taken before any row: only
/// `update_user` locks users' rows, other writers reference them (`FOR KEY SHARE`) and never
/// take this lock, so nothing waits for it while holding a row it waits for.
const PG_USERS_LOCK: i32 = 0x6870_0005;

/// A change of one user: what is given changes.
#[derive(Clone, Debug)]
pub struct UpdateUser {
    pub user_id: Id,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// A user's role and state after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdatedUser {
    pub user_id: Id,
    pub role: Role,
    pub active: bool,
    /// Whether anything changed (a change to the same values emits nothing).
    pub changed: bool,
}

impl Store {
    /// Changes a user's role and whether they are active, in one transaction (the user's row
    /// locked), emitting `user.updated` when something changed.
    ///
    /// The changes of one org's users run one at a time: SQLite's `BEGIN IMMEDIATE` excludes
    /// other writers, PostgreSQL takes the org's users lock (`PG_USERS_LOCK`) first. So the
    /// rule's check reads the admins as every earlier change left them: of two admins removing
    /// each other at once, the second is refused. (Locking the user's row, then the other
    /// admins', deadlocked when two admins did so at once: each held the row the other wanted.)
    pub fn update_user(&mut self, org: &str, cmd: UpdateUser) -> Result<UpdatedUser, WriteError> {
        self.write_tx(org, |tx| {
            if tx.is_postgres() {
                tx.query(
                    "SELECT CAST(pg_advisory_xact_lock(CAST($1 AS integer), hashtext($2)) AS text)",
                    &[Val::Int(i64::from(PG_USERS_LOCK)), Val::Text(org)],
                    &[Kind::Text],
                )?;
            }
            let lock = tx.lock();
            let row = tx.query_opt(
                &format!("SELECT role, active FROM users WHERE org_id = $1 AND id = $2{lock}"),
                &[Val::Text(org), Val::Text(cmd.user_id.as_str())],
                &[Kind::Text, Kind::Bool],
            )?;
            let Some(row) = row else {
                return Err(WriteError::not_found(
                    "user_id",
                    "user",
                    cmd.user_id.as_str(),
                ));
            };
            let (was_role, was_active) = (row.text(0)?, row.boolean(1)?);
            let was_role = Role::parse(&was_role)
                .map_err(|e| crate::StoreError::Corrupt(format!("users.role: {e}")))?;
            let role = cmd.role.unwrap_or(was_role);
            let active = cmd.active.unwrap_or(was_active);
            let changed = role != was_role || active != was_active;
            let was_admin = was_role == Role::Admin && was_active;
            if was_admin && !(role == Role::Admin && active) {
                // The other active admins, as the changes before this one left them (the users
                // lock above; their rows need no lock of their own).
                let others = tx.query(
                    "SELECT id FROM users WHERE org_id = $1 AND role = 'admin' AND active \
                     AND id <> $2",
                    &[Val::Text(org), Val::Text(cmd.user_id.as_str())],
                    &[Kind::Text],
                )?;
                if others.is_empty() {
                    return Err(WriteError::conflict(
                        if cmd.role.is_some_and(|r| r != Role::Admin) {
                            "role"
                        } else {
                            "active"
                        },
                        format!(
                            "`{}` is the org's last active admin: make another user an admin first",
                            cmd.user_id
                        ),
                    ));
                }
            }
            if changed {
                tx.execute(
                    "UPDATE users SET role = $3, active = $4 WHERE org_id = $1 AND id = $2",
                    &[
                        Val::Text(org),
                        Val::Text(cmd.user_id.as_str()),
                        Val::Text(role.as_str()),
                        Val::Bool(active),
                    ],
                )?;
                tx.emit(
                    &crate::events::USER_UPDATED,
                    format!("org/{org}"),
                    serde_json::json!({
                        "user_id": cmd.user_id.as_str(),
                        "role": role.as_str(),
                        "active": active,
                        "previous_role": was_role.as_str(),
                        "previous_active": was_active,
                    }),
                );
            }
            Ok(UpdatedUser {
                user_id: cmd.user_id.clone(),
                role,
                active,
                changed,
            })
        })
    }
}
