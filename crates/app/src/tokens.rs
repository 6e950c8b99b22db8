//! API tokens: minting (for `hireplane token create`) and authenticating (for the server).
//!
//! A token reads `hpt_<id>_<secret>`: `id` (16 random bytes, hex) finds the stored row, `secret`
//! (32 random bytes, hex) is checked against the SHA-256 stored with it. The secret is shown once,
//! when the token is made, and never stored. A token acts as its user: every request it makes goes
//! through the policy engine as that user, and stops working when it expires, is revoked, or its
//! user is removed or deactivated.

use sha2::Digest;
use store::{Store, StoredToken};

use crate::{Access, AppError, Services};

const PREFIX: &str = "hpt_";

/// A token just made: the text to hand over (once) and what the store keeps.
#[derive(Debug)]
pub struct NewToken {
    pub token: String,
    pub stored: StoredToken,
}

/// Why a presented token does not authenticate.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not a hireplane API token (expected `hpt_<id>_<secret>`)")]
    Malformed,
    #[error("the token is not valid")]
    Unknown,
    #[error("the token `{0}` was revoked")]
    Revoked(String),
    #[error("the token `{0}` expired at {1}")]
    Expired(String, domain::Instant),
    #[error("the token's user `{0}` no longer exists or is not active")]
    UserGone(String),
    /// The console's own token (GraphiQL's), presented to open a console session: a session
    /// opened with it would make tokens that outlive the revocation of the one it came from.
    #[error("the token `{0}` was made by the console for GraphiQL; sign in with your own token")]
    ConsoleMade(String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<store::StoreError> for AuthError {
    fn from(e: store::StoreError) -> AuthError {
        AuthError::App(AppError::Store(e))
    }
}

fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| AppError::Random(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The stored hash of a secret: SHA-256, lower-case hex.
pub fn secret_hash(secret: &str) -> String {
    sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Splits `hpt_<id>_<secret>` into id and secret.
pub fn parse(presented: &str) -> Result<(&str, &str), AuthError> {
    let rest = presented.strip_prefix(PREFIX).ok_or(AuthError::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(AuthError::Malformed)?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(id, 32) || !hex(secret, 64) {
        return Err(AuthError::Malformed);
    }
    Ok((id, secret))
}

/// Compares two equal-length strings without stopping at the first difference (hand-written:
/// eight lines do not justify a dependency).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Services {
    /// Makes a token for `user` of `org` (who must exist and be active) and stores it.
    pub fn create_token(
        &self,
        store: &mut Store,
        org: &str,
        user: &str,
        name: &str,
        expires_at: Option<domain::Instant>,
        now: domain::Instant,
    ) -> Result<NewToken, AppError> {
        let made = self.new_token(store, org, user, name, expires_at, now)?;
        store.create_token(&made.stored)?;
        Ok(made)
    }

    /// A token for `user` of `org` (active), not stored yet: its secret, once, and its row.
    pub(crate) fn new_token(
        &self,
        store: &mut Store,
        org: &str,
        user: &str,
        name: &str,
        expires_at: Option<domain::Instant>,
        now: domain::Instant,
    ) -> Result<NewToken, AppError> {
        let access = self.access(store, org, user)?;
        if !access.user.active {
            return Err(AppError::InactiveUser {
                org: org.to_owned(),
                user: user.to_owned(),
            });
        }
        let id = random_hex(16)?;
        let secret = random_hex(32)?;
        let stored = StoredToken {
            id: id.clone(),
            org_id: org.to_owned(),
            user_id: user.to_owned(),
            name: name.to_owned(),
            secret_hash: secret_hash(&secret),
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        Ok(NewToken {
            token: format!("{PREFIX}{id}_{secret}"),
            stored,
        })
    }

    /// Who presents `presented` at `now`: the token's user as the policy engine sees them.
    pub fn authenticate(
        &self,
        store: &mut Store,
        presented: &str,
        now: domain::Instant,
    ) -> Result<(StoredToken, Access), AuthError> {
        let (id, secret) = parse(presented)?;
        let Some(token) = store.token(id)? else {
            return Err(AuthError::Unknown);
        };
        if !same(&token.secret_hash, &secret_hash(secret)) {
            return Err(AuthError::Unknown);
        }
        if token.revoked_at.is_some() {
            return Err(AuthError::Revoked(token.id));
        }
        if let Some(at) = token.expires_at
            && at <= now
        {
            return Err(AuthError::Expired(token.id, at));
        }
        let access = match self.access(store, &token.org_id, &token.user_id) {
            Ok(a) if a.user.active => a,
            Ok(_) | Err(AppError::NoSuchUser { .. }) => {
                return Err(AuthError::UserGone(token.user_id));
            }
            Err(e) => return Err(e.into()),
        };
        Ok((token, access))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_the_token_shape() {
        let id = "0".repeat(32);
        let secret = "a".repeat(64);
        let ok = format!("hpt_{id}_{secret}");
        assert_eq!(parse(&ok).ok(), Some((id.as_str(), secret.as_str())));
        for bad in [
            "",
            "Bearer x",
            &format!("hpt_{id}"),
            &format!("hpx_{id}_{secret}"),
            &format!("hpt_{}_{secret}", "0".repeat(31)),
            &format!("hpt_{id}_{}", "g".repeat(64)),
        ] {
            assert!(matches!(parse(bad), Err(AuthError::Malformed)), "{bad}");
        }
    }

    #[test]
    fn hashes_differ_and_compare_exactly() {
        let a = secret_hash("a");
        assert_eq!(a.len(), 64);
        assert!(same(&a, &secret_hash("a")));
        assert!(!same(&a, &secret_hash("b")));
        assert!(!same(&a, &a[..63]));
    }
}
