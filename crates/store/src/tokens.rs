//! What the server keeps in the store about its callers: API tokens and idempotency keys.
//!
//! - **API tokens** ([`Store::create_token`], [`Store::token`], [`Store::revoke_token`],
//!   [`Store::tokens`]): a token belongs to one user of one org. The store keeps its id, a hash of
//!   its secret (computed by the caller: the store never sees a secret), when it was made, when it
//!   expires and when it was revoked. Revoking is the only change a token row ever sees.
//! - **Idempotency keys** ([`Store::idempotency_begin`], [`Store::idempotency_finish`],
//!   [`Store::idempotency_abandon`]): the first request with a key reserves it (the insert of the
//!   row is the lock: a primary key conflict means someone else has it), the mutation runs, and
//!   its response is stored so that a retry with the same key and the same request gets the same
//!   response without running again.
//!
//! Neither table belongs to the interchange format (import and export do not touch them), nor has
//! a foreign key to `orgs` (see migration 7): methods that create rows check that the org exists.

use domain::Instant;
use rusqlite::OptionalExtension;

use crate::audit::{instant, pg_instant, system_time};
use crate::{Store, StoreError};

/// A token as stored: everything but its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub name: String,
    /// The SHA-256 of the secret, lower-case hex.
    pub secret_hash: String,
    pub created_at: Instant,
    pub expires_at: Option<Instant>,
    pub revoked_at: Option<Instant>,
}

/// How long an idempotency key is kept ([`Store::idempotency_begin`]).
pub const IDEMPOTENCY_KEPT_FOR: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How many idempotency keys a user keeps at most, answered or not ([`Store::idempotency_begin`]:
/// a key whose request never finished, its client gone, counts too).
pub const IDEMPOTENCY_KEYS_KEPT: usize = 1000;

/// What happened when a request reserved an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new and now reserved for this request: run it, then finish or abandon.
    New,
    /// The same request already ran with this key: its response.
    Replay(String),
    /// The key was used with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

const TOKEN_COLUMNS: &str =
    "id, org_id, user_id, name, secret_hash, created_at, expires_at, revoked_at";

/// The name of every API token the console makes for GraphiQL starts with this; the rest is the
/// first 16 hex digits of its session's hash (`app::sessions::console_token_name`).
pub const CONSOLE_TOKEN_PREFIX: &str = "console session ";

/// Token `$1`'s id when it is there and not revoked: what is made with a token (a one-time
/// code, a rule: migration 36) is stored only while this finds it, its row locked on
/// PostgreSQL, so that a revocation waits for it and then undoes it, or comes first.
pub(crate) const LIVE_TOKEN: &str =
    "SELECT id FROM api_tokens WHERE id = $1 AND revoked_at IS NULL";

/// The name of the console's tokens for the session whose id hashes to `id_hash`.
pub fn console_name(id_hash: &str) -> String {
    format!(
        "{CONSOLE_TOKEN_PREFIX}{}",
        id_hash.get(..16).unwrap_or(id_hash)
    )
}

/// Inserts token `t` in SQLite transaction `tx`.
fn insert_sqlite(tx: &rusqlite::Transaction<'_>, t: &StoredToken) -> Result<(), StoreError> {
    tx.execute(
        &format!(
            "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        rusqlite::params![
            t.id,
            t.org_id,
            t.user_id,
            t.name,
            t.secret_hash,
            t.created_at.as_micros(),
            t.expires_at.map(Instant::as_micros),
            t.revoked_at.map(Instant::as_micros),
        ],
    )?;
    Ok(())
}

/// Inserts token `t` on PostgreSQL if its org exists; how many rows went in (0: no such org).
fn insert_pg(c: &mut impl postgres::GenericClient, t: &StoredToken) -> Result<u64, StoreError> {
    let created = system_time(t.created_at)?;
    let expires = t.expires_at.map(system_time).transpose()?;
    let revoked = t.revoked_at.map(system_time).transpose()?;
    Ok(c.execute(
        &format!(
            "INSERT INTO api_tokens ({TOKEN_COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM orgs WHERE org_id = $2"
        ),
        &[
            &t.id,
            &t.org_id,
            &t.user_id,
            &t.name,
            &t.secret_hash,
            &created,
            &expires,
            &revoked,
        ],
    )?)
}

impl Store {
    /// Stores a new token. Fails with [`StoreError::NoSuchOrg`] for an unknown org; whether the
    /// user exists is the caller's check (a token of a user who is later removed stops working).
    pub fn create_token(&mut self, token: &StoredToken) -> Result<(), StoreError> {
        let t = token;
        match self {
            Store::Sqlite(s) => {
                let tx = s.conn().transaction()?;
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM orgs WHERE org_id = ?1)",
                    [&t.org_id],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Err(StoreError::NoSuchOrg(t.org_id.clone()));
                }
                insert_sqlite(&tx, t)?;
                tx.commit()?;
            }
            Store::Postgres(s) => {
                let n = insert_pg(s.client(), t)?;
                if n == 0 {
                    return Err(StoreError::NoSuchOrg(t.org_id.clone()));
                }
            }
        }
        Ok(())
    }

    /// The token with id `id`, of any org (the id is what a caller presents).
    pub fn token(&mut self, id: &str) -> Result<Option<StoredToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
        Ok(self.token_rows(&sql, id)?.pop())
    }

    /// The tokens of org `org_id`, newest first.
    pub fn tokens(&mut self, org_id: &str) -> Result<Vec<StoredToken>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE org_id = $1 ORDER BY created_at DESC, id"
        );
        self.token_rows(&sql, org_id)
    }

    /// Stores `token`, the console's token (GraphiQL's) for the session whose id hashes to
    /// `session`, in one transaction with the session locked: only while the session exists and
    /// the token it was opened with (if any) is not revoked, and the session's earlier console
    /// tokens (named as `token`) are revoked at its creation. Returns false, storing nothing,
    /// when the session is gone. A revocation or a sign-out running at the same time deletes
    /// the session first (waiting for this lock) and revokes its tokens after, so the token made
    /// here cannot outlive them (red team, pass 15: made 1.5 ms after a revocation committed,
    /// one answered 45 s later).
    pub fn create_console_token(
        &mut self,
        session: &str,
        token: &StoredToken,
    ) -> Result<bool, StoreError> {
        let t = token;
        const LIVE: &str = "SELECT 1 FROM console_sessions s WHERE s.id_hash = $1 \
            AND (s.token_id IS NULL OR EXISTS (SELECT 1 FROM api_tokens a \
                 WHERE a.id = s.token_id AND a.revoked_at IS NULL))";
        const EARLIER: &str = "UPDATE api_tokens SET revoked_at = $4 \
            WHERE org_id = $1 AND user_id = $2 AND name = $3 AND revoked_at IS NULL";
        match self {
            Store::Sqlite(s) => {
                // BEGIN IMMEDIATE: the write lock from the start, so a revocation waits or has
                // committed before the session is read.
                let tx = s
                    .conn()
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let live = tx
                    .query_row(&LIVE.replace('$', "?"), [session], |_| Ok(()))
                    .optional()?
                    .is_some();
                if !live {
                    return Ok(false);
                }
                tx.execute(
                    &EARLIER.replace('$', "?"),
                    rusqlite::params![t.org_id, t.user_id, t.name, t.created_at.as_micros()],
                )?;
                insert_sqlite(&tx, t)?;
                tx.commit()?;
            }
            Store::Postgres(s) => {
                let created = system_time(t.created_at)?;
                let mut tx = s.client().transaction()?;
                let live = tx.query(&format!("{LIVE} FOR UPDATE OF s"), &[&session])?;
                if live.is_empty() {
                    return Ok(false);
                }
                tx.execute(
                    &EARLIER.replace("$3", "$3::text"),
                    &[&t.org_id, &t.user_id, &t.name, &created],
                )?;
                insert_pg(&mut tx, t)?;
                tx.commit()?;
            }
        }
        Ok(true)
    }

    /// Revokes token `id` of org `org_id` at `at` and undoes, in one transaction, what it made
    /// that would otherwise outlive it (migrations 31 and 36):
    /// - the console sessions opened with it, and the tokens the console made for them
    ///   (GraphiQL's, named [`CONSOLE_TOKEN_PREFIX`] and the session's hash; red team, pass 14:
    ///   the session ended, but its GraphiQL token answered for the rest of its hour);
    /// - the one-time links made with it and not used yet, and the passwords set through its
    ///   invitations, with the sessions (and their console tokens) opened without a token by
    ///   the users they belong to (red team, passes 17 and 18: a stolen admin token's holder
    ///   invited a user without a password, used the link at once, and signed in with it after
    ///   the revocation);
    /// - the automation rules last saved with it, disabled as a new version by `operator`
    ///   (red team, pass 18: a rule saved with a stolen token mailed candidates' contact
    ///   details out after the revocation); an admin reads and re-enables them.
    ///
    /// Returns false when the org has no such token; revoking a revoked token keeps the first
    /// time.
    pub fn revoke_token(
        &mut self,
        org_id: &str,
        id: &str,
        at: Instant,
    ) -> Result<bool, StoreError> {
        const TOKEN: &str = "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $3) \
            WHERE org_id = $1 AND id = $2";
        // The sessions first (waiting for a console token being made for one of them:
        // `Store::create_console_token`), then, in a statement that sees what that committed,
        // their console tokens.
        const SESSIONS: &str =
            "DELETE FROM console_sessions WHERE org_id = $1 AND token_id = $2 RETURNING id_hash";
        const PASSWORDS: &str =
            "DELETE FROM console_passwords WHERE org_id = $1 AND token_id = $2 RETURNING user_id";
        const USER_SESSIONS: &str = "DELETE FROM console_sessions \
            WHERE org_id = $1 AND user_id = $2 AND via <> 'token' RETURNING id_hash";
        const CONSOLE: &str = "UPDATE api_tokens SET revoked_at = $2 \
            WHERE org_id = $1 AND revoked_at IS NULL AND name = $3";
        const CODES: &str = "DELETE FROM console_codes WHERE org_id = $1 AND token_id = $2";
        const RULES: &str = "UPDATE automation_rules SET version = version + 1, enabled = FALSE, \
            saved_with_token = NULL, updated_at = $3, updated_by = 'operator' \
            WHERE org_id = $1 AND saved_with_token = $2 AND enabled AND NOT deleted RETURNING id";
        const RULE_VERSION: &str = "INSERT INTO automation_rule_versions (org_id, rule_id, \
            version, enabled, deleted, owner_user_id, definition, changed_at, changed_by, reason) \
            SELECT org_id, id, version, enabled, deleted, owner_user_id, definition, updated_at, \
            updated_by, $3 FROM automation_rules WHERE org_id = $1 AND id = $2";
        let reason = format!("the API token `{id}` it was saved with was revoked");
        let n = match self {
            Store::Sqlite(s) => {
                let q = |sql: &str| sql.replace('$', "?");
                let tx = s.conn().transaction()?;
                let n =
                    tx.execute(&q(TOKEN), rusqlite::params![org_id, id, at.as_micros()])? as u64;
                let column = |sql: &str, a: &str, b: &str| -> Result<Vec<String>, StoreError> {
                    Ok(tx
                        .prepare(&q(sql))?
                        .query_map([a, b], |r| r.get(0))?
                        .collect::<Result<_, _>>()?)
                };
                let mut hashes = column(SESSIONS, org_id, id)?;
                for user in column(PASSWORDS, org_id, id)? {
                    hashes.extend(column(USER_SESSIONS, org_id, &user)?);
                }
                for hash in &hashes {
                    tx.execute(
                        &q(CONSOLE),
                        rusqlite::params![org_id, at.as_micros(), console_name(hash)],
                    )?;
                }
                tx.execute(&q(CODES), [org_id, id])?;
                let rules: Vec<String> = tx
                    .prepare(&q(RULES))?
                    .query_map(rusqlite::params![org_id, id, at.as_micros()], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                for rule in &rules {
                    tx.execute(&q(RULE_VERSION), [org_id, rule, &reason])?;
                }
                tx.commit()?;
                n
            }
            Store::Postgres(s) => {
                let mut tx = s.client().transaction()?;
                let at = system_time(at)?;
                let n = tx.execute(TOKEN, &[&org_id, &id, &at])?;
                let mut column = |sql: &str, a: &str, b: &str| -> Result<Vec<String>, StoreError> {
                    Ok(tx
                        .query(sql, &[&a, &b])?
                        .iter()
                        .map(|r| r.try_get(0))
                        .collect::<Result<_, _>>()?)
                };
                let mut hashes = column(SESSIONS, org_id, id)?;
                for user in column(PASSWORDS, org_id, id)? {
                    hashes.extend(column(USER_SESSIONS, org_id, &user)?);
                }
                for hash in &hashes {
                    tx.execute(
                        &CONSOLE.replace("$3", "$3::text"),
                        &[&org_id, &at, &console_name(hash)],
                    )?;
                }
                tx.execute(CODES, &[&org_id, &id])?;
                let rules: Vec<String> = tx
                    .query(RULES, &[&org_id, &id, &at])?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?;
                for rule in &rules {
                    tx.execute(
                        &RULE_VERSION.replace("$3", "$3::text"),
                        &[&org_id, rule, &reason],
                    )?;
                }
                tx.commit()?;
                n
            }
        };
        Ok(n > 0)
    }

    /// Revokes at `at` the live tokens of `user_id` of `org_id` whose name starts with `prefix`
    /// (the console's tokens of one session, or of all of a user's sessions). Returns how many.
    pub fn revoke_tokens_named(
        &mut self,
        org_id: &str,
        user_id: &str,
        prefix: &str,
        at: Instant,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE api_tokens SET revoked_at = $4 \
            WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL \
            AND substr(name, 1, length($3)) = $3";
        Ok(match self {
            Store::Sqlite(s) => s.conn().execute(
                &SQL.replace('$', "?"),
                rusqlite::params![org_id, user_id, prefix, at.as_micros()],
            )? as u64,
            Store::Postgres(s) => s.client().execute(
                &SQL.replace("$3", "$3::text"),
                &[&org_id, &user_id, &prefix, &system_time(at)?],
            )?,
        })
    }

    /// Deletes up to `limit` tokens of `user_id` of `org_id` whose name starts with `prefix`
    /// and that expired before `now` (the console's short-lived tokens, which would otherwise
    /// pile up, one per click). Returns how many.
    pub fn delete_expired_tokens_named(
        &mut self,
        org_id: &str,
        user_id: &str,
        prefix: &str,
        now: Instant,
        limit: u32,
    ) -> Result<u64, StoreError> {
        Ok(match self {
            Store::Sqlite(s) => s.conn().execute(
                "DELETE FROM api_tokens WHERE id IN (SELECT id FROM api_tokens \
                 WHERE org_id = ?1 AND user_id = ?2 AND substr(name, 1, length(?3)) = ?3 \
                 AND expires_at <= ?4 LIMIT ?5)",
                rusqlite::params![org_id, user_id, prefix, now.as_micros(), limit],
            )? as u64,
            Store::Postgres(s) => s.client().execute(
                "DELETE FROM api_tokens WHERE id IN (SELECT id FROM api_tokens \
                 WHERE org_id = $1 AND user_id = $2 AND substr(name, 1, length($3::text)) = $3::text \
                 AND expires_at <= $4 LIMIT $5)",
                &[&org_id, &user_id, &prefix, &system_time(now)?, &i64::from(limit)],
            )?,
        })
    }

    fn token_rows(&mut self, sql: &str, param: &str) -> Result<Vec<StoredToken>, StoreError> {
        let mut out = Vec::new();
        match self {
            Store::Sqlite(s) => {
                let mut stmt = s.conn().prepare_cached(&sql.replace('$', "?"))?;
                let mut rows = stmt.query([param])?;
                while let Some(r) = rows.next()? {
                    let org_id: String = r.get(1)?;
                    let at = |i: usize| -> Result<Option<Instant>, StoreError> {
                        let v: Option<i64> = r.get(i)?;
                        v.map(|m| instant(&org_id, "api_tokens", 0, m)).transpose()
                    };
                    let created_at = at(5)?.ok_or_else(|| {
                        StoreError::Corrupt("api_tokens.created_at is null".to_owned())
                    })?;
                    out.push(StoredToken {
                        id: r.get(0)?,
                        user_id: r.get(2)?,
                        name: r.get(3)?,
                        secret_hash: r.get(4)?,
                        created_at,
                        expires_at: at(6)?,
                        revoked_at: at(7)?,
                        org_id: org_id.clone(),
                    });
                }
            }
            Store::Postgres(s) => {
                for r in s.client().query(sql, &[&param])? {
                    let org_id: String = r.try_get(1)?;
                    let at = |i: usize| -> Result<Option<Instant>, StoreError> {
                        let v: Option<std::time::SystemTime> = r.try_get(i)?;
                        v.map(|t| pg_instant(&org_id, "api_tokens", 0, t))
                            .transpose()
                    };
                    let created_at = at(5)?.ok_or_else(|| {
                        StoreError::Corrupt("api_tokens.created_at is null".to_owned())
                    })?;
                    out.push(StoredToken {
                        id: r.try_get(0)?,
                        user_id: r.try_get(2)?,
                        name: r.try_get(3)?,
                        secret_hash: r.try_get(4)?,
                        created_at,
                        expires_at: at(6)?,
                        revoked_at: at(7)?,
                        org_id: org_id.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Reserves idempotency key `key` of `user_id` in `org_id` for a request whose hash is
    /// `request_hash`, or says why not. Keys are kept for [`IDEMPOTENCY_KEPT_FOR`] and a user
    /// keeps at most [`IDEMPOTENCY_KEYS_KEPT`] keys: older ones are forgotten here,
    /// before the new key is reserved (a key forgotten is new again, as Stripe's are after a
    /// day), so that the table stays bounded however many keys a caller sends.
    pub fn idempotency_begin(
        &mut self,
        org_id: &str,
        user_id: &str,
        key: &str,
        request_hash: &str,
        at: Instant,
    ) -> Result<IdempotencyBegin, StoreError> {
        let cutoff = Instant::from_micros(
            at.as_micros() - i64::try_from(IDEMPOTENCY_KEPT_FOR.as_micros()).unwrap_or(i64::MAX),
        )
        .unwrap_or(at);
        let forget = format!(
            "DELETE FROM idempotency_keys WHERE org_id = $1 AND user_id = $2 AND (created_at < $3 \
             OR key IN (SELECT key FROM idempotency_keys WHERE org_id = $1 AND user_id = $2 \
             ORDER BY created_at DESC, key LIMIT 100 OFFSET {IDEMPOTENCY_KEYS_KEPT}))"
        );
        let existing: Option<(String, Option<String>)> = match self {
            Store::Sqlite(s) => {
                s.conn().execute(
                    &forget.replace('$', "?"),
                    rusqlite::params![org_id, user_id, cutoff.as_micros()],
                )?;
                let n = s.conn().execute(
                    "INSERT INTO idempotency_keys (org_id, user_id, key, request_hash, response, created_at) \
                     VALUES (?1, ?2, ?3, ?4, NULL, ?5) ON CONFLICT DO NOTHING",
                    rusqlite::params![org_id, user_id, key, request_hash, at.as_micros()],
                )?;
                if n == 1 {
                    return Ok(IdempotencyBegin::New);
                }
                s.conn()
                    .query_row(
                        "SELECT request_hash, response FROM idempotency_keys \
                         WHERE org_id = ?1 AND user_id = ?2 AND key = ?3",
                        [org_id, user_id, key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?
            }
            Store::Postgres(s) => {
                s.client()
                    .execute(&forget, &[&org_id, &user_id, &system_time(cutoff)?])?;
                let n = s.client().execute(
                    "INSERT INTO idempotency_keys (org_id, user_id, key, request_hash, response, created_at) \
                     VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT DO NOTHING",
                    &[&org_id, &user_id, &key, &request_hash, &system_time(at)?],
                )?;
                if n == 1 {
                    return Ok(IdempotencyBegin::New);
                }
                s.client()
                    .query_opt(
                        "SELECT request_hash, response FROM idempotency_keys \
                         WHERE org_id = $1 AND user_id = $2 AND key = $3",
                        &[&org_id, &user_id, &key],
                    )?
                    .map(|r| Ok::<_, StoreError>((r.try_get(0)?, r.try_get(1)?)))
                    .transpose()?
            }
        };
        Ok(match existing {
            // Abandoned between our insert and our read: the caller may retry.
            None => IdempotencyBegin::InProgress,
            Some((hash, _)) if hash != request_hash => IdempotencyBegin::Mismatch,
            Some((_, None)) => IdempotencyBegin::InProgress,
            Some((_, Some(response))) => IdempotencyBegin::Replay(response),
        })
    }

    /// Stores the response of the request that reserved `key`.
    pub fn idempotency_finish(
        &mut self,
        org_id: &str,
        user_id: &str,
        key: &str,
        response: &str,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.conn().execute(
                    "UPDATE idempotency_keys SET response = ?4 WHERE org_id = ?1 AND user_id = ?2 AND key = ?3",
                    [org_id, user_id, key, response],
                )?;
            }
            Store::Postgres(s) => {
                s.client().execute(
                    "UPDATE idempotency_keys SET response = $4 WHERE org_id = $1 AND user_id = $2 AND key = $3",
                    &[&org_id, &user_id, &key, &response],
                )?;
            }
        }
        Ok(())
    }

    /// Releases `key` after its request failed without changing anything, so that a retry runs.
    pub fn idempotency_abandon(
        &mut self,
        org_id: &str,
        user_id: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.conn().execute(
                    "DELETE FROM idempotency_keys WHERE org_id = ?1 AND user_id = ?2 AND key = ?3 AND response IS NULL",
                    [org_id, user_id, key],
                )?;
            }
            Store::Postgres(s) => {
                s.client().execute(
                    "DELETE FROM idempotency_keys WHERE org_id = $1 AND user_id = $2 AND key = $3 AND response IS NULL",
                    &[&org_id, &user_id, &key],
                )?;
            }
        }
        Ok(())
    }
}
