//! The web console's sign-in: sessions opened with an API token, a password or a one-time
//! code, looked up on every request, closed by signing out or by their expiry; passwords chosen
//! through an invitation.
//!
//! - A session id is 32 random bytes (hex) in the browser's cookie; the store keeps its SHA-256
//!   ([`store::StoredSession`]), so a copy of the table signs no one in. Each session has its own
//!   CSRF token (32 random bytes) that every state-changing request must carry.
//! - [`Services::session`] is the check on every request: the session exists, has not expired
//!   (an expired one is deleted), and its user still exists and is active; the answer is the
//!   user's [`Access`], the same as an API token's, so a console page sees what the API shows.
//! - Passwords: Argon2id (RustCrypto's `argon2`, its default parameters: 19 MiB, 2 passes),
//!   a 16-byte salt from the OS, stored as a PHC string under the user's email folded to lower
//!   case. Checking one is CPU work, so it is split from the store's: [`Services::password`]
//!   reads the record, [`verify_password`] checks it (the server runs it off the database
//!   workers), [`Services::open_session`] opens the session. A login without a password is
//!   checked against a fixed hash all the same ([`verify_password`] with `None`), so the time
//!   taken does not tell which emails have one.
//! - One-time codes (16 random bytes, hex; SHA-256 kept): a sign-in link (`serve --demo` prints
//!   one per role) or an invitation to choose a password. A code is used once and expires.
//!
//! Bounding attempts (per account and per address) is the server's: it sees addresses.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use store::{CodePurpose, SessionVia, Store, StoredCode, StoredPassword, StoredSession};

use crate::tokens::{AuthError, secret_hash};
use crate::{Access, AppError, Services};

/// The shortest password that may be chosen, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password that may be chosen or presented, in bytes (Argon2 takes any length; the
/// bound keeps a request's work small).
pub const MAX_PASSWORD_BYTES: usize = 256;
/// The longest email that may be presented.
pub const MAX_LOGIN_BYTES: usize = 320;

/// The name of every API token the console makes for GraphiQL starts with this; the rest is
/// the first 16 hex digits of its session's hash ([`console_token_name`]).
pub use store::CONSOLE_TOKEN_PREFIX;

/// The name of the API tokens the console makes for the session whose id hashes to `id_hash`:
/// signing out revokes them.
pub fn console_token_name(id_hash: &str) -> String {
    store::console_name(id_hash)
}

/// A session just opened: the cookie's value (shown to the browser once) and what is stored.
#[derive(Debug)]
pub struct NewSession {
    pub id: String,
    pub stored: StoredSession,
}

/// Why a sign-in or a session check fails. The messages are safe to show: they never tell
/// whether an email has an account.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the email or the password is wrong")]
    WrongPassword,
    #[error("the password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} characters long")]
    BadPassword,
    #[error("this link is not valid: it was used already, has expired, or was never made")]
    BadCode,
    #[error("the session is not valid (signed out, expired, or never made)")]
    NoSession,
    #[error("the user `{0}` no longer exists or is not active")]
    UserGone(String),
    #[error("user `{user}` of org `{org}` has no email to sign in with")]
    NoEmail { org: String, user: String },
    /// The user's email is another account's login. The message does not repeat the email:
    /// the page is shown to whoever holds the link.
    #[error(
        "this account's email signs in to another account already; ask an admin to give this \
         user another email, then a new link"
    )]
    LoginTaken(String),
    /// Hashing failed, or a time is out of range: not the caller's doing.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Token(AuthError),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<store::StoreError> for SignInError {
    fn from(e: store::StoreError) -> SignInError {
        SignInError::App(AppError::Store(e))
    }
}

/// What a request whose token was revoked after the auth cache let it in may not make: the
/// store refused it ([`store::StoreError::TokenRevoked`]).
pub(crate) fn revoked(access: &Access, action: &str) -> AppError {
    AppError::Forbidden {
        user: access.viewer.user.clone(),
        action: action.to_owned(),
        subject: "anything with a token that was revoked".to_owned(),
    }
}

fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| AppError::Random(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// `text` is `n` lower-case hex digits.
fn is_hex(text: &str, n: usize) -> bool {
    text.len() == n
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A session id as a cookie holds it: 64 lower-case hex digits (anything else is no session,
/// without a store round trip).
pub fn is_session_id(text: &str) -> bool {
    is_hex(text, 64)
}

/// A one-time code as a link holds it: 32 lower-case hex digits.
pub fn is_code(text: &str) -> bool {
    is_hex(text, 32)
}

/// The login an email signs in with: trimmed, folded to lower case.
pub fn login_of(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Compares two strings without stopping at the first difference.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The Argon2id PHC string of `password` with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, SignInError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AppError::Random(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SignInError::Internal(format!("hashing a password with argon2: {e}")))
}

/// A fixed hash, checked when a login has no password, so that both cases take as long.
static DECOY: LazyLock<Option<String>> =
    LazyLock::new(|| hash_password("not anyone's password").ok());

/// Whether `password` matches `record` (None: there is no record; the check runs against a
/// decoy and fails). CPU work of tens of milliseconds: keep it off the database workers.
pub fn verify_password(record: Option<&StoredPassword>, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let argon = argon2::Argon2::default();
    match record {
        Some(r) => argon
            .verify_password(password.as_bytes(), r.phc.as_str())
            .is_ok(),
        None => {
            if let Some(decoy) = DECOY.as_deref() {
                let _ = argon.verify_password(password.as_bytes(), decoy);
            }
            false
        }
    }
}

fn later(now: domain::Instant, seconds: i64) -> Result<domain::Instant, SignInError> {
    domain::Instant::from_micros(
        now.as_micros()
            .saturating_add(seconds.saturating_mul(1_000_000)),
    )
    .map_err(|e| SignInError::Internal(format!("the expiry is out of range: {e}")))
}

impl Services {
    /// The user's access, if they exist and are active.
    fn active_access(
        &self,
        store: &mut Store,
        org: &str,
        user: &str,
    ) -> Result<Access, SignInError> {
        match self.access(store, org, user) {
            Ok(a) if a.user.active => Ok(a),
            Ok(_) | Err(AppError::NoSuchUser { .. }) => Err(SignInError::UserGone(user.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens a session of `user` of `org` (who must exist and be active) for `ttl_s` seconds.
    pub fn open_session(
        &self,
        store: &mut Store,
        org: &str,
        user: &str,
        via: SessionVia,
        now: domain::Instant,
        ttl_s: i64,
    ) -> Result<(NewSession, Access), SignInError> {
        self.open_session_with(store, org, user, via, None, now, ttl_s)
    }

    /// A session for the user whose password `record` is (checked by the caller), remembering
    /// the API token of the invitation the password was set through: revoking that token ends
    /// the session, and what the session makes counts as the token's (red team, pass 20: a
    /// password from a stolen token's invitation signed in, and its session's invitations and
    /// rules outlived the revocation).
    pub fn open_password_session(
        &self,
        store: &mut Store,
        record: &StoredPassword,
        now: domain::Instant,
        ttl_s: i64,
    ) -> Result<(NewSession, Access), SignInError> {
        self.open_session_with(
            store,
            &record.org_id,
            &record.user_id,
            SessionVia::Password,
            record.token_id.clone(),
            now,
            ttl_s,
        )
    }

    /// [`Services::open_session`], remembering the API token it was opened with, or that its
    /// password comes from.
    #[allow(clippy::too_many_arguments)]
    fn open_session_with(
        &self,
        store: &mut Store,
        org: &str,
        user: &str,
        via: SessionVia,
        token_id: Option<String>,
        now: domain::Instant,
        ttl_s: i64,
    ) -> Result<(NewSession, Access), SignInError> {
        let access = self.active_access(store, org, user)?;
        let id = random_hex(32)?;
        let stored = StoredSession {
            id_hash: secret_hash(&id),
            org_id: org.to_owned(),
            user_id: user.to_owned(),
            csrf_token: random_hex(32)?,
            via,
            created_at: now,
            expires_at: later(now, ttl_s)?,
            token_id,
        };
        store.create_session(&stored)?;
        // Each sign-in sweeps a bounded batch of expired sessions and codes (index on expiry).
        store.delete_expired_sessions(now, 100)?;
        Ok((NewSession { id, stored }, access))
    }

    /// Signs in with an API token (`hpt_...`): a session of the token's user. The session may
    /// not outlive the token, and ends when the token is revoked ([`Services::session`] checks it
    /// on every request; revoking also deletes the session).
    pub fn sign_in_with_token(
        &self,
        store: &mut Store,
        presented: &str,
        now: domain::Instant,
        ttl_s: i64,
    ) -> Result<(NewSession, Access), SignInError> {
        let (token, _) = self
            .authenticate(store, presented.trim(), now)
            .map_err(|e| match e {
                AuthError::App(e) => SignInError::App(e),
                e => SignInError::Token(e),
            })?;
        if token.name.starts_with(CONSOLE_TOKEN_PREFIX) {
            return Err(SignInError::Token(AuthError::ConsoleMade(token.id)));
        }
        let ttl_s = match token.expires_at {
            Some(at) => ttl_s.min((at.as_micros() - now.as_micros()) / 1_000_000),
            None => ttl_s,
        };
        self.open_session_with(
            store,
            &token.org_id,
            &token.user_id,
            SessionVia::Token,
            Some(token.id),
            now,
            ttl_s,
        )
    }

    /// The password record of `email` (folded), for [`verify_password`]. An email no account
    /// can have (too long, or with a control character such as NUL, which PostgreSQL refuses
    /// in any text) has none: the sign-in fails as with any wrong email.
    pub fn password(
        &self,
        store: &mut Store,
        email: &str,
    ) -> Result<Option<StoredPassword>, SignInError> {
        if email.len() > MAX_LOGIN_BYTES || email.chars().any(char::is_control) {
            return Ok(None);
        }
        Ok(store.password(&login_of(email))?)
    }

    /// Signs in with a one-time sign-in code (the code is used up, whatever follows).
    pub fn sign_in_with_code(
        &self,
        store: &mut Store,
        code: &str,
        now: domain::Instant,
        ttl_s: i64,
    ) -> Result<(NewSession, Access), SignInError> {
        let taken = self.take_code(store, code, CodePurpose::SignIn, now)?;
        self.open_session(
            store,
            &taken.org_id,
            &taken.user_id,
            SessionVia::Code,
            now,
            ttl_s,
        )
    }

    fn take_code(
        &self,
        store: &mut Store,
        code: &str,
        purpose: CodePurpose,
        now: domain::Instant,
    ) -> Result<StoredCode, SignInError> {
        if !is_code(code) {
            return Err(SignInError::BadCode);
        }
        match store.take_code(&secret_hash(code), purpose)? {
            Some(c) if c.expires_at > now => Ok(c),
            _ => Err(SignInError::BadCode),
        }
    }

    /// Makes a one-time code of `purpose` for `user` of `org` (who must exist and be active),
    /// valid `ttl_s` seconds. For the operator (the CLI, `made_with` None) and for admins
    /// ([`Services::invite_user`], after their own authorization, with the API token revoking
    /// which deletes the code while unused).
    #[allow(clippy::too_many_arguments)]
    pub fn create_code(
        &self,
        store: &mut Store,
        org: &str,
        user: &str,
        purpose: CodePurpose,
        now: domain::Instant,
        ttl_s: i64,
        made_with: Option<String>,
    ) -> Result<String, SignInError> {
        self.active_access(store, org, user)?;
        if purpose == CodePurpose::Invitation && store.user_email(org, user)?.is_none() {
            return Err(SignInError::NoEmail {
                org: org.to_owned(),
                user: user.to_owned(),
            });
        }
        let code = random_hex(16)?;
        store.create_code(&StoredCode {
            code_hash: secret_hash(&code),
            org_id: org.to_owned(),
            user_id: user.to_owned(),
            purpose,
            created_at: now,
            expires_at: later(now, ttl_s)?,
            token_id: made_with,
        })?;
        Ok(code)
    }

    /// The API token whose revocation cancels what a caller with `token` made: the token
    /// itself, or for a token the console made for one of `access`'s sessions (GraphiQL's),
    /// the token that session was opened with (None for a session opened with a password or a
    /// code, like a session's own requests: `token` None).
    pub(crate) fn revoking_token(
        store: &mut Store,
        access: &Access,
        token: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        let Some(id) = token else {
            return Ok(None);
        };
        let console = store
            .token(id)?
            .and_then(|t| t.name.strip_prefix(CONSOLE_TOKEN_PREFIX).map(str::to_owned));
        Ok(match console {
            None => Some(id.to_owned()),
            Some(session) => store
                .session_token(&access.viewer.org, &access.viewer.user, &session)?
                // A session gone since: its token answers no more, so whatever it made goes
                // with the token itself.
                .unwrap_or_else(|| Some(id.to_owned())),
        })
    }

    /// An admin of `access`'s org invites `user` of the same org to choose a password: the
    /// one-time code of the link, valid `ttl_s` seconds. Needs `edit` on the org and the admin
    /// role, which an org's policy cannot widen ([`crate::Command::InviteUser`]: an invitation
    /// lets its holder act as the user). Recorded in the org's audit log (`inviteUser`).
    ///
    /// `token` is the API token the caller presented (None for a console session's own
    /// requests, whose session's token the caller passes instead): revoking it deletes the
    /// invitation while unused ([`Store::revoke_token`]), so a stolen admin token's holder
    /// cannot keep a way in past the revocation (red team, pass 17).
    #[allow(clippy::too_many_arguments)]
    pub fn invite_user(
        &self,
        store: &mut Store,
        access: &Access,
        user: &str,
        now: domain::Instant,
        ttl_s: i64,
        token: Option<&str>,
    ) -> Result<String, SignInError> {
        self.authorize_command(store, access, &crate::Command::InviteUser, now)?;
        // Not oneself: a token's holder would turn it into a password that outlives the
        // token's revocation (red team, pass 15); another admin, or the operator's `hireplane
        // console invite`, can.
        if user == access.viewer.user {
            return Err(SignInError::App(AppError::Forbidden {
                user: access.viewer.user.clone(),
                action: crate::Command::InviteUser.name().to_owned(),
                subject: "an invitation for oneself: another admin, or the operator's `hireplane \
                          console invite`, can make it"
                    .to_owned(),
            }));
        }
        // Not someone who signs in with a password already: the link, handed to the caller,
        // would replace it and let its holder act as them after the caller's token is revoked
        // (red team, pass 16: an admin token took over another user, made them admin, and kept
        // the account past the revocation). The operator's `hireplane console invite` resets a
        // password.
        if let Some(email) = store.user_email(&access.viewer.org, user)?
            && store
                .password(&login_of(&email))?
                .is_some_and(|p| p.org_id == access.viewer.org && p.user_id == user)
        {
            return Err(SignInError::App(AppError::Forbidden {
                user: access.viewer.user.clone(),
                action: crate::Command::InviteUser.name().to_owned(),
                subject: format!(
                    "an invitation for `{user}`, who signs in with a password already: the \
                     operator's `hireplane console invite` resets it"
                ),
            }));
        }
        let made_with = Self::revoking_token(store, access, token)?;
        let code = self
            .create_code(
                store,
                &access.viewer.org,
                user,
                CodePurpose::Invitation,
                now,
                ttl_s,
                made_with,
            )
            .map_err(|e| match e {
                SignInError::App(AppError::Store(store::StoreError::TokenRevoked(_))) => {
                    SignInError::App(revoked(access, crate::Command::InviteUser.name()))
                }
                e => e,
            })?;
        // Who invited whom, and until when, is in the org's audit log; never the code.
        store.record_audit(
            &access.viewer.org,
            &[store::AuditEvent {
                at: now,
                actor: access.viewer.user.clone(),
                action: crate::Command::InviteUser.name().to_owned(),
                subject: format!("User::\"{user}\""),
                outcome: store::AuditOutcome::Allowed,
                policies: Vec::new(),
                query_hash: None,
                detail: Some(format!("valid until {}", later(now, ttl_s)?)),
            }],
        )?;
        Ok(code)
    }

    /// Accepts an invitation: sets the password of the code's user under their email (every
    /// other session of theirs is closed) and opens a session. A refused password (checked
    /// before the code is used) or an email that is another account's login (the code is put
    /// back) leaves the link working.
    pub fn accept_invitation(
        &self,
        store: &mut Store,
        code: &str,
        password: &str,
        now: domain::Instant,
        ttl_s: i64,
    ) -> Result<(NewSession, Access), SignInError> {
        let chars = password.chars().count();
        if chars < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
            return Err(SignInError::BadPassword);
        }
        let taken = self.take_code(store, code, CodePurpose::Invitation, now)?;
        let (org, user) = (taken.org_id.as_str(), taken.user_id.as_str());
        self.active_access(store, org, user)?;
        let Some(email) = store.user_email(org, user)? else {
            return Err(SignInError::UserGone(user.to_owned()));
        };
        let login = login_of(&email);
        let record = StoredPassword {
            login: login.clone(),
            org_id: org.to_owned(),
            user_id: user.to_owned(),
            phc: hash_password(password)?,
            set_at: now,
            // Revoking the invitation's token deletes the password (red team, pass 18).
            token_id: taken.token_id.clone(),
        };
        if !store.set_password(&record)? {
            // The link was not used: it works again once an admin has changed the email,
            // unless its token was revoked meanwhile.
            match store.create_code(&taken) {
                Ok(()) | Err(store::StoreError::TokenRevoked(_)) => {}
                Err(e) => return Err(e.into()),
            }
            return Err(SignInError::LoginTaken(login));
        }
        store.delete_user_sessions(org, user)?;
        store.revoke_tokens_named(org, user, CONSOLE_TOKEN_PREFIX, now)?;
        let opened = self.open_session_with(
            store,
            org,
            user,
            SessionVia::Password,
            taken.token_id.clone(),
            now,
            ttl_s,
        )?;
        // The invitation's token revoked while the password was hashed and stored (red team,
        // pass 20: 6 of 7 such races left a working password): the revocation found no
        // password to delete, so this does. A revocation after this check deletes both itself.
        if let Some(token) = &taken.token_id
            && store.token(token)?.is_none_or(|t| t.revoked_at.is_some())
        {
            store.delete_user_sessions(org, user)?;
            store.delete_password(org, user)?;
            return Err(SignInError::BadCode);
        }
        Ok(opened)
    }

    /// The session whose cookie holds `id` at `now`, with its user's access. An expired session,
    /// or one opened with an API token that has since been revoked or expired, is deleted; one
    /// whose user is gone or inactive is refused.
    pub fn session(
        &self,
        store: &mut Store,
        id: &str,
        now: domain::Instant,
    ) -> Result<(StoredSession, Access), SignInError> {
        if !is_session_id(id) {
            return Err(SignInError::NoSession);
        }
        let hash = secret_hash(id);
        let Some(session) = store.session(&hash)? else {
            return Err(SignInError::NoSession);
        };
        if session.expires_at <= now {
            store.delete_session(&hash)?;
            return Err(SignInError::NoSession);
        }
        if let Some(token_id) = &session.token_id {
            // A session opened with the token lives as long as it does; one opened with a
            // password from the token's invitation until the token is revoked (its expiry is
            // the inviter's rotation, not a compromise).
            let by_token = session.via == SessionVia::Token;
            let live = store.token(token_id)?.is_some_and(|t| {
                t.revoked_at.is_none() && (!by_token || t.expires_at.is_none_or(|at| at > now))
            });
            if !live {
                store.delete_session(&hash)?;
                return Err(SignInError::NoSession);
            }
        }
        let access = self.active_access(store, &session.org_id, &session.user_id)?;
        Ok((session, access))
    }

    /// An API token for the user of `session`, for GraphiQL ("API" in the console): valid an
    /// hour at most, never past the session's end, named for the session
    /// ([`console_token_name`]) so that signing out revokes it (the link that carries it stays
    /// in the browser's history); it replaces the session's earlier one (revoked), so a session
    /// has one live token and the limits per token are not multiplied by clicking. The user's
    /// expired console tokens are deleted first (a bounded batch), so they do not pile up.
    pub fn session_api_token(
        &self,
        store: &mut Store,
        session: &StoredSession,
        now: domain::Instant,
    ) -> Result<String, SignInError> {
        let hour = later(now, 3_600)?;
        let expires = if session.expires_at < hour {
            session.expires_at
        } else {
            hour
        };
        store.delete_expired_tokens_named(
            &session.org_id,
            &session.user_id,
            CONSOLE_TOKEN_PREFIX,
            now,
            100,
        )?;
        // One live token per session: each token has its own rate limit and worker share, so
        // tokens made one per click would multiply the session's. Made with the session locked,
        // only while it lives and its token is not revoked, the earlier one revoked at once
        // (`Store::create_console_token`).
        let name = console_token_name(&session.id_hash);
        let made = self.new_token(
            store,
            &session.org_id,
            &session.user_id,
            &name,
            Some(expires),
            now,
        )?;
        if !store.create_console_token(&session.id_hash, &made.stored)? {
            return Err(SignInError::NoSession);
        }
        Ok(made.token)
    }

    /// Signs out: deletes the session whose cookie holds `id` and revokes the API tokens the
    /// console made for it (GraphiQL's). Returns whether there was one.
    pub fn sign_out(
        &self,
        store: &mut Store,
        id: &str,
        now: domain::Instant,
    ) -> Result<bool, SignInError> {
        if !is_session_id(id) {
            return Ok(false);
        }
        let hash = secret_hash(id);
        let Some(session) = store.session(&hash)? else {
            return Ok(false);
        };
        // The session first, then its tokens: a token being made for it waits for the
        // deletion or is seen by the revocation (`Store::create_console_token`).
        let deleted = store.delete_session(&hash)?;
        store.revoke_tokens_named(
            &session.org_id,
            &session.user_id,
            &console_token_name(&hash),
            now,
        )?;
        Ok(deleted)
    }
}
