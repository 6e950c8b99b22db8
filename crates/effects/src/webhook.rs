//! Webhooks: a JSON `POST` signed per Standard Webhooks 1.0 (<https://www.standardwebhooks.com/>).
//!
//! Three headers: `webhook-id` (the caller's idempotency key, the same on every retry, so the
//! receiver can drop duplicates), `webhook-timestamp` (Unix seconds of this attempt, so the
//! receiver can refuse replays) and `webhook-signature`: `v1,` and the base64 of the
//! HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed with the secret's bytes. The secret is
//! written `whsec_` and base64 (a bare base64 text is taken too); the specification asks for
//! 24 to 64 bytes of key, and shorter or longer ones are refused.
//!
//! The body is sent as given, byte for byte: the signature covers exactly those bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};

use crate::{Attempt, http_status, now_unix, transport_error};

/// The largest answer body read (and thrown away, so the connection can be reused).
const MAX_ANSWER: u64 = 64 * 1024;

/// A webhook to deliver.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// The receiver's URL, `http://` or `https://`.
    pub url: String,
    /// The endpoint's signing secret, `whsec_` and base64.
    pub secret: String,
    /// The `webhook-id`: the same for every attempt of this one event.
    pub idempotency_key: String,
    /// The JSON body, sent and signed as these bytes.
    pub body: String,
}

impl std::fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("url", &self.url)
            .field("secret", &"***")
            .field("idempotency_key", &self.idempotency_key)
            .field("body", &self.body)
            .finish()
    }
}

/// The key of an endpoint's secret.
pub(crate) struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Reads `whsec_BASE64` (or bare `BASE64`). The error never shows the secret.
    pub(crate) fn parse(secret: &str) -> Result<SigningKey, String> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| "the webhook secret is not `whsec_` followed by base64".to_owned())?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(format!(
                "the webhook secret is {} bytes: Standard Webhooks asks for 24 to 64",
                bytes.len()
            ));
        }
        Ok(SigningKey(bytes))
    }
}

/// A `webhook-id` must be a header value that cannot be confused with the signed content's
/// separators: 1 to 255 visible ASCII characters.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`{}`: a webhook id is 1 to 255 visible ASCII characters",
            id.escape_debug()
        ));
    }
    Ok(())
}

/// The `webhook-signature` value for `id`, `timestamp` and `body` with `secret`
/// (`whsec_BASE64`): `v1,BASE64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = SigningKey::parse(secret)?;
    Ok(signature(&key, id, timestamp, body))
}

fn signature(key: &SigningKey, id: &str, timestamp: i64, body: &[u8]) -> String {
    // Any key length is valid for HMAC: the error branch cannot happen.
    let Ok(mut mac) = Hmac::<sha2_11::Sha256>::new_from_slice(&key.0) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// One attempt: signs with this attempt's timestamp and posts.
pub(crate) fn post(agent: &ureq::Agent, req: &WebhookRequest, key: &SigningKey) -> Attempt {
    let timestamp = now_unix();
    let signature = signature(key, &req.idempotency_key, timestamp, req.body.as_bytes());
    let result = agent
        .post(&req.url)
        .header("content-type", "application/json")
        .header("webhook-id", &req.idempotency_key)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .send(req.body.as_bytes());
    let mut response = match result {
        Ok(r) => r,
        Err(e) => return transport_error(&e),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Read what is left so the connection goes back to the pool; a body that does not arrive
    // in time is the attempt's timeout, and does not change what the status said.
    let _ = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_vec();
    http_status(status, retry_after.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of svix-webhooks (the reference libraries of Standard Webhooks), e.g.
    /// `go/webhook_test.go`; recomputed with Python's `hmac` when it was copied here.
    #[test]
    fn the_reference_vector_signs_as_published() {
        assert_eq!(
            sign(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#,
            )
            .unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // The bare base64 is the same key.
        assert_eq!(
            sign(
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#,
            )
            .unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn bad_secrets_are_refused_without_showing_them() {
        let err = sign("whsec_not base64!", "id", 0, b"").unwrap_err();
        assert_eq!(err, "the webhook secret is not `whsec_` followed by base64");
        // 3 bytes.
        let err = sign("whsec_YWJj", "id", 0, b"").unwrap_err();
        assert_eq!(
            err,
            "the webhook secret is 3 bytes: Standard Webhooks asks for 24 to 64"
        );
        assert!(!err.contains("YWJj"));
    }

    #[test]
    fn ids_are_visible_ascii() {
        assert!(check_id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W").is_ok());
        for bad in ["", "a b", "a\r\nX-Evil: 1", "é", &"x".repeat(256)] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let req = WebhookRequest {
            url: "http://x/".into(),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            idempotency_key: "k".into(),
            body: "{}".into(),
        };
        assert!(!format!("{req:?}").contains("MfKQ"));
    }
}
