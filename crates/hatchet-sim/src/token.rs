//! API tokens shaped like Hatchet's tenant tokens (an ES256 JWT), and their validation.
//!
//! The sim never verifies a real ECDSA signature. Instead it mints one random signature segment
//! at start-up and accepts a token when:
//! - it has three dot-separated segments and starts with `ey`,
//! - its header decodes to JSON with `"alg": "ES256"`,
//! - its signature segment equals the sim's own (so a garbage token is refused),
//! - its payload decodes to JSON with a UUID `sub` and, if present, an `exp` in the future.
//!
//! The accepted token's `sub` is its tenant. A test that needs a token for a *foreign* tenant
//! takes the sim's token, swaps `sub` in the payload and keeps the other two segments: that token
//! is well-formed and "signed", and every tenant-scoped call with it gets 403.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, Utc};
use rand::RngCore;
use serde_json::{json, Value};
use uuid::Uuid;

/// Hatchet's default tenant-token lifetime.
const TOKEN_LIFETIME_DAYS: i64 = 90;

/// Mints the sim's token and checks presented ones.
pub struct TokenAuthority {
    token: String,
    signature: String,
}

impl TokenAuthority {
    /// Mints a token for `tenant` whose `server_url` is `url`.
    pub fn mint(tenant: Uuid, url: &str, port: u16) -> Self {
        let mut sig = [0u8; 64];
        rand::rng().fill_bytes(&mut sig);
        let signature = URL_SAFE_NO_PAD.encode(sig);
        let now = Utc::now();
        let header = json!({"alg": "ES256", "typ": "JWT"});
        let payload = json!({
            "sub": tenant.to_string(),
            "token_id": Uuid::new_v4().to_string(),
            "server_url": url,
            "grpc_broadcast_address": format!("127.0.0.1:{port}"),
            "iss": url,
            "aud": url,
            "iat": now.timestamp(),
            "exp": (now + Duration::days(TOKEN_LIFETIME_DAYS)).timestamp(),
        });
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            signature
        );
        TokenAuthority { token, signature }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Returns the tenant (`sub`) of an acceptable token, or `None`.
    pub fn verify(&self, token: &str) -> Option<Uuid> {
        if !token.starts_with("ey") {
            return None;
        }
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || signature != self.signature {
            return None;
        }
        let header = decode_segment(header)?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return None;
        }
        let payload = decode_segment(payload)?;
        if let Some(exp) = payload.get("exp") {
            if exp.as_i64()? <= Utc::now().timestamp() {
                return None;
            }
        }
        payload.get("sub")?.as_str()?.parse().ok()
    }
}

fn decode_segment(segment: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_token_is_accepted_and_garbage_is_not() {
        let tenant = Uuid::new_v4();
        let auth = TokenAuthority::mint(tenant, "http://127.0.0.1:1", 1);
        assert!(auth.token().starts_with("ey"));
        assert_eq!(auth.verify(auth.token()), Some(tenant));
        assert_eq!(auth.verify("garbage"), None);
        let other = TokenAuthority::mint(tenant, "http://127.0.0.1:1", 1);
        assert_eq!(auth.verify(other.token()), None, "foreign signature");
    }

    #[test]
    fn payload_carries_sdk_claims() {
        let tenant = Uuid::new_v4();
        let auth = TokenAuthority::mint(tenant, "http://127.0.0.1:9", 9);
        let payload = auth.token().split('.').nth(1).and_then(decode_segment);
        let payload = payload.unwrap_or_default();
        assert_eq!(payload["sub"], tenant.to_string());
        assert_eq!(payload["server_url"], "http://127.0.0.1:9");
        assert_eq!(payload["grpc_broadcast_address"], "127.0.0.1:9");
        assert!(payload["exp"].as_i64() > payload["iat"].as_i64());
    }
}
