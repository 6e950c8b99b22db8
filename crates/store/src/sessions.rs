//! What the web console keeps in the store about who is signed in (migrations 25, 26, 31 and
//! 36).
//!
//! - **Sessions** ([`Store::create_session`], [`Store::session`], [`Store::delete_session`],
//!   [`Store::delete_expired_sessions`]): one row per signed-in browser, found by the SHA-256 of
//!   the session id its cookie holds (the store never sees the id itself), with the user, the
//!   session's CSRF token and its expiry.
//! - **Passwords** ([`Store::set_password`], [`Store::password`]): the Argon2id hash (PHC string,
//!   made by `app`) of the users who chose one, under their login (their email folded to lower
//!   case), unique across the installation.
//! - **One-time codes** ([`Store::create_code`], [`Store::take_code`]): a sign-in link or an
//!   invitation to choose a password, kept as a hash, deleted when used, and with the API token
//!   its maker called with (migration 36), deleted when that token is revoked
//!   ([`Store::revoke_token`]).
//!
//! None of these tables belongs to the interchange format, and none has a foreign key (an org's
//! replacement deletes and re-inserts its users; `app` checks the user on every use). Hashes
//! come from the caller, already computed: nothing here handles a secret.

use domain::Instant;
use rusqlite::OptionalExtension;

use crate::audit::{instant, pg_instant, system_time};
use crate::{Store, StoreError};

/// How a session was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionVia {
    /// With an API token.
    Token,
    /// With email and password.
    Password,
    /// With a one-time sign-in code.
    Code,
}

impl SessionVia {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionVia::Token => "token",
            SessionVia::Password => "password",
            SessionVia::Code => "code",
        }
    }

    fn parse(s: &str) -> Result<SessionVia, StoreError> {
        match s {
            "token" => Ok(SessionVia::Token),
            "password" => Ok(SessionVia::Password),
            "code" => Ok(SessionVia::Code),
            other => Err(StoreError::Corrupt(format!(
                "console_sessions.via `{other}` is not a known way in"
            ))),
        }
    }
}

/// A session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    /// SHA-256 of the session id, lower-case hex.
    pub id_hash: String,
    pub org_id: String,
    pub user_id: String,
    pub csrf_token: String,
    pub via: SessionVia,
    pub created_at: Instant,
    pub expires_at: Instant,
    /// The id of the API token it was opened with (`via` is [`SessionVia::Token`]): revoking
    /// the token ends the session.
    pub token_id: Option<String>,
}

/// The most sessions one user keeps: signing in again forgets the oldest beyond these.
pub const SESSIONS_PER_USER: usize = 50;

/// What a one-time code is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePurpose {
    /// Opens a session once.
    SignIn,
    /// Lets its user choose a password once.
    Invitation,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::SignIn => "sign_in",
            CodePurpose::Invitation => "invitation",
        }
    }
}

/// A one-time code as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    /// SHA-256 of the code, lower-case hex.
    pub code_hash: String,
    pub org_id: String,
    pub user_id: String,
    pub purpose: CodePurpose,
    pub created_at: Instant,
    pub expires_at: Instant,
    /// The id of the API token its maker called with (migration 36): revoking the token
    /// deletes the code if it is still unused. None when the operator made it, or an admin in
    /// a console session opened without a token.
    pub token_id: Option<String>,
}

/// A user's password as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPassword {
    /// The email it signs in with, folded to lower case.
    pub login: String,
    pub org_id: String,
    pub user_id: String,
    /// The Argon2id hash in PHC string form.
    pub phc: String,
    pub set_at: Instant,
    /// The API token of the invitation it was set through (migration 36): revoking the token
    /// deletes the password. None when the operator made the invitation, or an admin in a
    /// console session opened without a token.
    pub token_id: Option<String>,
}

/// A user's earlier invitations, deleted when a new one is made (`$1` org, `$2` user).
const REPLACED_INVITATIONS: &str =
    "DELETE FROM console_codes WHERE org_id = $1 AND user_id = $2 AND purpose = 'invitation'";

const SESSION_COLUMNS: &str =
    "id_hash, org_id, user_id, csrf_token, via, created_at, expires_at, token_id";

/// Micros on SQLite, `timestamptz` on PostgreSQL: one instant read either way.
fn read_sqlite(org: &str, table: &str, micros: i64) -> Result<Instant, StoreError> {
    instant(org, table, 0, micros)
}

fn read_pg(org: &str, table: &str, t: std::time::SystemTime) -> Result<Instant, StoreError> {
    pg_instant(org, table, 0, t)
}

impl Store {
    /// Stores a new session, and forgets the user's oldest beyond the newest
    /// [`SESSIONS_PER_USER`] (a browser signed in long ago signs in again), so that signing in
    /// again and again cannot grow the table without bound (red team, pass 4: 838 right-password
    /// sign-ins in 12 s). Fails with [`StoreError::NoSuchOrg`] for an unknown org.
    pub fn create_session(&mut self, s: &StoredSession) -> Result<(), StoreError> {
        // The user's sessions but the newest: `created_at`, then `id_hash` for a tie.
        const FORGET: &str = "DELETE FROM console_sessions WHERE org_id = $1 AND user_id = $2 \
             AND id_hash NOT IN (SELECT id_hash FROM console_sessions \
             WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id_hash DESC LIMIT $3)";
        let keep = i64::try_from(SESSIONS_PER_USER).unwrap_or(i64::MAX);
        match self {
            Store::Sqlite(db) => {
                // `Immediate` (the connection's default): this reads, then writes.
                let tx = db.conn().transaction()?;
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM orgs WHERE org_id = ?1)",
                    [&s.org_id],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Err(StoreError::NoSuchOrg(s.org_id.clone()));
                }
                tx.execute(
                    &format!(
                        "INSERT INTO console_sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ),
                    rusqlite::params![
                        s.id_hash,
                        s.org_id,
                        s.user_id,
                        s.csrf_token,
                        s.via.as_str(),
                        s.created_at.as_micros(),
                        s.expires_at.as_micros(),
                        s.token_id,
                    ],
                )?;
                tx.execute(
                    &FORGET.replace('$', "?"),
                    rusqlite::params![s.org_id, s.user_id, keep],
                )?;
                tx.commit()?;
            }
            Store::Postgres(db) => {
                let mut tx = db.client().transaction()?;
                let n = tx.execute(
                    &format!(
                        "INSERT INTO console_sessions ({SESSION_COLUMNS}) \
                         SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM orgs WHERE org_id = $2"
                    ),
                    &[
                        &s.id_hash,
                        &s.org_id,
                        &s.user_id,
                        &s.csrf_token,
                        &s.via.as_str(),
                        &system_time(s.created_at)?,
                        &system_time(s.expires_at)?,
                        &s.token_id,
                    ],
                )?;
                if n == 0 {
                    return Err(StoreError::NoSuchOrg(s.org_id.clone()));
                }
                tx.execute(FORGET, &[&s.org_id, &s.user_id, &keep])?;
                tx.commit()?;
            }
        }
        Ok(())
    }

    /// The installation's key `name` (lower-case hex), shared by every replica of the
    /// database: the one stored, or `fresh` when none is, which is then stored. Replicas that
    /// start at once agree on one (the first insert wins; the others read it).
    pub fn installation_key(&mut self, name: &str, fresh: &str) -> Result<String, StoreError> {
        const INSERT: &str = "INSERT INTO installation_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
        const READ: &str = "SELECT key FROM installation_keys WHERE name = $1";
        match self {
            Store::Sqlite(db) => {
                let tx = db.conn().transaction()?;
                tx.execute(&INSERT.replace('$', "?"), [name, fresh])?;
                let key: String = tx.query_row(&READ.replace('$', "?"), [name], |r| r.get(0))?;
                tx.commit()?;
                Ok(key)
            }
            Store::Postgres(db) => {
                let client = db.client();
                client.execute(INSERT, &[&name, &fresh])?;
                let row = client.query_one(READ, &[&name])?;
                Ok(row.try_get(0)?)
            }
        }
    }

    /// The API token that `user_id`'s session whose id hash starts with `hash_prefix` (a
    /// console token's name: [`crate::console_name`]) was opened with: `Some(None)` for a
    /// session opened with a password or a code, None when the user has no such session.
    pub fn session_token(
        &mut self,
        org_id: &str,
        user_id: &str,
        hash_prefix: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        // The user's sessions (50 at most) through `console_sessions_user`.
        const SQL: &str = "SELECT token_id FROM console_sessions \
            WHERE org_id = $1 AND user_id = $2 AND substr(id_hash, 1, length($3)) = $3";
        Ok(match self {
            Store::Sqlite(db) => db
                .conn()
                .query_row(
                    &SQL.replace('$', "?"),
                    [org_id, user_id, hash_prefix],
                    |r| r.get::<_, Option<String>>(0),
                )
                .optional()?,
            Store::Postgres(db) => db
                .client()
                .query_opt(
                    &SQL.replace("$3", "$3::text"),
                    &[&org_id, &user_id, &hash_prefix],
                )?
                .map(|r| r.try_get::<_, Option<String>>(0))
                .transpose()?,
        })
    }

    /// The session whose id hashes to `id_hash`, of any org (the cookie is what a browser
    /// presents), expired or not: the caller decides.
    pub fn session(&mut self, id_hash: &str) -> Result<Option<StoredSession>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM console_sessions WHERE id_hash = $1");
        match self {
            Store::Sqlite(db) => {
                let mut stmt = db.conn().prepare_cached(&sql.replace('$', "?"))?;
                let row = stmt
                    .query_row([id_hash], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, i64>(6)?,
                            r.get::<_, Option<String>>(7)?,
                        ))
                    })
                    .optional()?;
                let Some((id_hash, org_id, user_id, csrf_token, via, created, expires, token_id)) =
                    row
                else {
                    return Ok(None);
                };
                Ok(Some(StoredSession {
                    created_at: read_sqlite(&org_id, "console_sessions", created)?,
                    expires_at: read_sqlite(&org_id, "console_sessions", expires)?,
                    via: SessionVia::parse(&via)?,
                    id_hash,
                    org_id,
                    user_id,
                    csrf_token,
                    token_id,
                }))
            }
            Store::Postgres(db) => {
                let Some(r) = db.client().query_opt(&sql, &[&id_hash])? else {
                    return Ok(None);
                };
                let org_id: String = r.try_get(1)?;
                let via: String = r.try_get(4)?;
                Ok(Some(StoredSession {
                    id_hash: r.try_get(0)?,
                    user_id: r.try_get(2)?,
                    csrf_token: r.try_get(3)?,
                    via: SessionVia::parse(&via)?,
                    created_at: read_pg(&org_id, "console_sessions", r.try_get(5)?)?,
                    expires_at: read_pg(&org_id, "console_sessions", r.try_get(6)?)?,
                    token_id: r.try_get(7)?,
                    org_id,
                }))
            }
        }
    }

    /// Deletes the session whose id hashes to `id_hash` (signing out). Returns whether it was
    /// there.
    pub fn delete_session(&mut self, id_hash: &str) -> Result<bool, StoreError> {
        let n = match self {
            Store::Sqlite(db) => db
                .conn()
                .execute("DELETE FROM console_sessions WHERE id_hash = ?1", [id_hash])?
                as u64,
            Store::Postgres(db) => db.client().execute(
                "DELETE FROM console_sessions WHERE id_hash = $1",
                &[&id_hash],
            )?,
        };
        Ok(n > 0)
    }

    /// Deletes the sessions and one-time codes that expired before `now`, at most `limit` of
    /// each (a bounded statement; call again while it returns `limit`). Returns how many went.
    pub fn delete_expired_sessions(&mut self, now: Instant, limit: u32) -> Result<u64, StoreError> {
        let mut n = 0;
        for table in ["console_sessions", "console_codes"] {
            let key = if table == "console_sessions" {
                "id_hash"
            } else {
                "code_hash"
            };
            n += match self {
                Store::Sqlite(db) => db.conn().execute(
                    &format!(
                        "DELETE FROM {table} WHERE {key} IN \
                         (SELECT {key} FROM {table} WHERE expires_at <= ?1 LIMIT ?2)"
                    ),
                    rusqlite::params![now.as_micros(), limit],
                )? as u64,
                Store::Postgres(db) => db.client().execute(
                    &format!(
                        "DELETE FROM {table} WHERE {key} IN \
                         (SELECT {key} FROM {table} WHERE expires_at <= $1 LIMIT $2)"
                    ),
                    &[&system_time(now)?, &i64::from(limit)],
                )?,
            };
        }
        Ok(n)
    }

    /// Deletes every session of `user_id` in `org_id` (a password changed). Returns how many.
    pub fn delete_user_sessions(&mut self, org_id: &str, user_id: &str) -> Result<u64, StoreError> {
        Ok(match self {
            Store::Sqlite(db) => db.conn().execute(
                "DELETE FROM console_sessions WHERE org_id = ?1 AND user_id = ?2",
                [org_id, user_id],
            )? as u64,
            Store::Postgres(db) => db.client().execute(
                "DELETE FROM console_sessions WHERE org_id = $1 AND user_id = $2",
                &[&org_id, &user_id],
            )?,
        })
    }

    /// Deletes the password of `user_id` of `org_id`. Returns whether there was one.
    pub fn delete_password(&mut self, org_id: &str, user_id: &str) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM console_passwords WHERE org_id = $1 AND user_id = $2";
        let n = match self {
            Store::Sqlite(db) => {
                db.conn()
                    .execute(&SQL.replace('$', "?"), [org_id, user_id])? as u64
            }
            Store::Postgres(db) => db.client().execute(SQL, &[&org_id, &user_id])?,
        };
        Ok(n > 0)
    }

    /// The email of user `user_id` of org `org_id`, if the user exists.
    pub fn user_email(
        &mut self,
        org_id: &str,
        user_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(match self {
            Store::Sqlite(db) => db
                .conn()
                .query_row(
                    "SELECT email FROM users WHERE org_id = ?1 AND id = ?2",
                    [org_id, user_id],
                    |r| r.get(0),
                )
                .optional()?,
            Store::Postgres(db) => db
                .client()
                .query_opt(
                    "SELECT email FROM users WHERE org_id = $1 AND id = $2",
                    &[&org_id, &user_id],
                )?
                .map(|r| r.try_get(0))
                .transpose()?,
        })
    }

    /// Sets the password of `p.user_id` in `p.org_id` under `p.login`, replacing the user's
    /// earlier one. Returns false, changing nothing, when another user (of any org) signs in
    /// with that login already.
    pub fn set_password(&mut self, p: &StoredPassword) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let tx = db
                    .conn()
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let taken: Option<(String, String)> = tx
                    .query_row(
                        "SELECT org_id, user_id FROM console_passwords WHERE login = ?1",
                        [&p.login],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if taken.is_some_and(|(o, u)| o != p.org_id || u != p.user_id) {
                    return Ok(false);
                }
                tx.execute(
                    "DELETE FROM console_passwords WHERE org_id = ?1 AND user_id = ?2",
                    [&p.org_id, &p.user_id],
                )?;
                tx.execute(
                    "INSERT INTO console_passwords (login, org_id, user_id, phc, set_at, token_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    rusqlite::params![
                        p.login,
                        p.org_id,
                        p.user_id,
                        p.phc,
                        p.set_at.as_micros(),
                        p.token_id
                    ],
                )?;
                tx.commit()?;
                Ok(true)
            }
            Store::Postgres(db) => {
                let mut tx = db.client().transaction()?;
                // The login's row, if any, locked: two users racing for one login serialise.
                let taken = tx.query_opt(
                    "SELECT org_id, user_id FROM console_passwords WHERE login = $1 FOR UPDATE",
                    &[&p.login],
                )?;
                if let Some(r) = taken {
                    let (o, u): (String, String) = (r.try_get(0)?, r.try_get(1)?);
                    if o != p.org_id || u != p.user_id {
                        return Ok(false);
                    }
                }
                tx.execute(
                    "DELETE FROM console_passwords WHERE org_id = $1 AND user_id = $2",
                    &[&p.org_id, &p.user_id],
                )?;
                // A concurrent insert of the same login fails on the primary key: refused.
                let inserted = tx.execute(
                    "INSERT INTO console_passwords (login, org_id, user_id, phc, set_at, token_id) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (login) DO NOTHING",
                    &[
                        &p.login,
                        &p.org_id,
                        &p.user_id,
                        &p.phc,
                        &system_time(p.set_at)?,
                        &p.token_id,
                    ],
                )?;
                if inserted == 0 {
                    return Ok(false);
                }
                tx.commit()?;
                Ok(true)
            }
        }
    }

    /// The password stored under `login` (an email folded to lower case).
    pub fn password(&mut self, login: &str) -> Result<Option<StoredPassword>, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let row = db
                    .conn()
                    .query_row(
                        "SELECT login, org_id, user_id, phc, set_at, token_id \
                         FROM console_passwords WHERE login = ?1",
                        [login],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, String>(3)?,
                                r.get::<_, i64>(4)?,
                                r.get::<_, Option<String>>(5)?,
                            ))
                        },
                    )
                    .optional()?;
                row.map(|(login, org_id, user_id, phc, set_at, token_id)| {
                    Ok(StoredPassword {
                        set_at: read_sqlite(&org_id, "console_passwords", set_at)?,
                        login,
                        org_id,
                        user_id,
                        phc,
                        token_id,
                    })
                })
                .transpose()
            }
            Store::Postgres(db) => db
                .client()
                .query_opt(
                    "SELECT login, org_id, user_id, phc, set_at, token_id \
                     FROM console_passwords WHERE login = $1",
                    &[&login],
                )?
                .map(|r| {
                    let org_id: String = r.try_get(1)?;
                    Ok(StoredPassword {
                        login: r.try_get(0)?,
                        user_id: r.try_get(2)?,
                        phc: r.try_get(3)?,
                        set_at: read_pg(&org_id, "console_passwords", r.try_get(4)?)?,
                        token_id: r.try_get(5)?,
                        org_id,
                    })
                })
                .transpose(),
        }
    }

    /// Stores a one-time code. An invitation replaces the user's earlier ones, in the same
    /// transaction: a user has one working invitation at most, so the table grows with the
    /// users, not with how often an admin clicks. Fails with [`StoreError::NoSuchOrg`] for an
    /// unknown org.
    pub fn create_code(&mut self, c: &StoredCode) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => {
                // `Immediate` (the connection's default): this reads, then writes.
                let tx = db.conn().transaction()?;
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM orgs WHERE org_id = ?1)",
                    [&c.org_id],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Err(StoreError::NoSuchOrg(c.org_id.clone()));
                }
                // Made with a token: only while it lives (the write lock orders this with its
                // revocation, which deletes what is here by then).
                if let Some(token) = &c.token_id {
                    let live = tx
                        .query_row(
                            &crate::tokens::LIVE_TOKEN.replace('$', "?"),
                            [token],
                            |_| Ok(()),
                        )
                        .optional()?
                        .is_some();
                    if !live {
                        return Err(StoreError::TokenRevoked(token.clone()));
                    }
                }
                if c.purpose == CodePurpose::Invitation {
                    tx.execute(
                        &REPLACED_INVITATIONS.replace('$', "?"),
                        [&c.org_id, &c.user_id],
                    )?;
                }
                tx.execute(
                    "INSERT INTO console_codes \
                     (code_hash, org_id, user_id, purpose, created_at, expires_at, token_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    rusqlite::params![
                        c.code_hash,
                        c.org_id,
                        c.user_id,
                        c.purpose.as_str(),
                        c.created_at.as_micros(),
                        c.expires_at.as_micros(),
                        c.token_id,
                    ],
                )?;
                tx.commit()?;
            }
            Store::Postgres(db) => {
                let mut tx = db.client().transaction()?;
                // Made with a token: only while it lives, its row locked until commit, so that
                // its revocation waits and then deletes this code, or comes first and this
                // finds it revoked (red team, pass 18: a request the auth cache let in after the
                // revocation left a working link).
                if let Some(token) = &c.token_id {
                    let live = tx
                        .query_opt(
                            &format!("{} FOR SHARE", crate::tokens::LIVE_TOKEN),
                            &[token],
                        )?
                        .is_some();
                    if !live {
                        return Err(StoreError::TokenRevoked(token.clone()));
                    }
                }
                if c.purpose == CodePurpose::Invitation {
                    tx.execute(REPLACED_INVITATIONS, &[&c.org_id, &c.user_id])?;
                }
                let n = tx.execute(
                    "INSERT INTO console_codes \
                     (code_hash, org_id, user_id, purpose, created_at, expires_at, token_id) \
                     SELECT $1, $2, $3, $4, $5, $6, $7 FROM orgs WHERE org_id = $2",
                    &[
                        &c.code_hash,
                        &c.org_id,
                        &c.user_id,
                        &c.purpose.as_str(),
                        &system_time(c.created_at)?,
                        &system_time(c.expires_at)?,
                        &c.token_id,
                    ],
                )?;
                if n == 0 {
                    return Err(StoreError::NoSuchOrg(c.org_id.clone()));
                }
                tx.commit()?;
            }
        }
        Ok(())
    }

    /// Takes the code whose hash is `code_hash` for `purpose`: deletes it and returns its org,
    /// user and expiry, or None when there is no such code (never made, used already, or of
    /// the other purpose, which is left alone). A code is taken once, also by two requests at
    /// the same moment (the delete decides).
    pub fn take_code(
        &mut self,
        code_hash: &str,
        purpose: CodePurpose,
    ) -> Result<Option<StoredCode>, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let row = db
                    .conn()
                    .query_row(
                        "DELETE FROM console_codes WHERE code_hash = ?1 AND purpose = ?2 \
                         RETURNING org_id, user_id, created_at, expires_at, token_id",
                        [code_hash, purpose.as_str()],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, i64>(2)?,
                                r.get::<_, i64>(3)?,
                                r.get::<_, Option<String>>(4)?,
                            ))
                        },
                    )
                    .optional()?;
                row.map(|(org_id, user_id, created, expires, token_id)| {
                    Ok(StoredCode {
                        code_hash: code_hash.to_owned(),
                        created_at: read_sqlite(&org_id, "console_codes", created)?,
                        expires_at: read_sqlite(&org_id, "console_codes", expires)?,
                        org_id,
                        user_id,
                        purpose,
                        token_id,
                    })
                })
                .transpose()
            }
            Store::Postgres(db) => db
                .client()
                .query_opt(
                    "DELETE FROM console_codes WHERE code_hash = $1 AND purpose = $2 \
                     RETURNING org_id, user_id, created_at, expires_at, token_id",
                    &[&code_hash, &purpose.as_str()],
                )?
                .map(|r| {
                    let org_id: String = r.try_get(0)?;
                    Ok(StoredCode {
                        code_hash: code_hash.to_owned(),
                        user_id: r.try_get(1)?,
                        created_at: read_pg(&org_id, "console_codes", r.try_get(2)?)?,
                        expires_at: read_pg(&org_id, "console_codes", r.try_get(3)?)?,
                        token_id: r.try_get(4)?,
                        org_id,
                        purpose,
                    })
                })
                .transpose(),
        }
    }
}
