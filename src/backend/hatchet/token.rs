use std::fmt;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use thiserror::Error;
use uuid::Uuid;

use super::redact::{without_credentials, Redactor};
use super::tls::{TlsConfig, TlsError};

/// The API token. It is a secret: it has no `Display`, its `Debug` is redacted, and it is only
/// ever written into the `Authorization` header.
#[derive(Clone)]
pub struct ApiToken(String);

impl ApiToken {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("HATCHET_CLIENT_TOKEN is not set: export an API token created in the Hatchet dashboard (Settings > API Tokens)")]
    Missing,
    #[error("HATCHET_CLIENT_TOKEN is not a Hatchet API token (expected a JWT starting with 'ey'): copy the whole token again")]
    Malformed,
    #[error("HATCHET_CLIENT_TOKEN expired at {0}: create a new API token")]
    Expired(DateTime<Utc>),
    #[error("the token names no server (no server_url claim): set HATCHET_CLIENT_SERVER_URL")]
    NoServerUrl,
    #[error("HATCHET_CLIENT_SERVER_URL '{0}' is not a URL: use e.g. https://hatchet.example.com")]
    BadServerUrl(String),
    #[error("HATCHET_CLIENT_SERVER_URL '{0}' has no scheme, and none is guessed (plain or TLS): write http://{0} or https://{0}")]
    NoScheme(String),
    #[error("the token is for tenant {token} but HATCHET_CLIENT_TENANT_ID is {configured}: unset HATCHET_CLIENT_TENANT_ID or use a token of that tenant")]
    TenantMismatch { token: Uuid, configured: String },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    server_url: Option<String>,
    exp: Option<i64>,
}

/// Where and as whom to connect, resolved the way the Hatchet SDKs do it: tenant = JWT `sub`,
/// server = `server_url` claim, each overridable by the `HATCHET_CLIENT_*` variables.
#[derive(Debug, Clone)]
pub struct Connection {
    pub token: ApiToken,
    pub tenant: Uuid,
    pub server_url: url::Url,
    /// `HATCHET_CLIENT_NAMESPACE` as the SDKs normalise it: lower case, ending in `_`.
    pub namespace: Option<String>,
    /// For an `https://` server: roots, client certificate and name to check (`with_tls`).
    pub tls: Option<TlsConfig>,
}

impl Connection {
    pub fn resolve(
        token: Option<&str>,
        server_url_override: Option<&str>,
        tenant_override: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, TokenError> {
        let raw = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::Missing)?;
        let claims = decode_claims(raw)?;
        let tenant = Uuid::parse_str(&claims.sub).map_err(|_| TokenError::Malformed)?;
        if let Some(exp) = claims.exp {
            let expires = DateTime::from_timestamp(exp, 0).ok_or(TokenError::Malformed)?;
            if expires <= now {
                return Err(TokenError::Expired(expires));
            }
        }
        if let Some(configured) = tenant_override.map(str::trim).filter(|t| !t.is_empty()) {
            if Uuid::parse_str(configured).ok() != Some(tenant) {
                return Err(TokenError::TenantMismatch {
                    token: tenant,
                    configured: configured.to_string(),
                });
            }
        }
        let server = server_url_override
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or(claims.server_url)
            .ok_or(TokenError::NoServerUrl)?;
        if !server.contains("://") {
            return Err(TokenError::NoScheme(without_credentials(&server)));
        }
        let server_url = url::Url::parse(&server)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| TokenError::BadServerUrl(without_credentials(&server)))?;
        Ok(Connection {
            token: ApiToken(raw.to_string()),
            tenant,
            server_url,
            namespace: None,
            tls: None,
        })
    }

    /// The same connection in a namespace: the SDKs register every workflow under the
    /// namespace's prefix, so a name given without it means the prefixed one.
    pub fn with_namespace(self, namespace: Option<&str>) -> Self {
        let namespace = namespace
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty())
            .map(|n| if n.ends_with('_') { n } else { format!("{n}_") });
        Connection { namespace, ..self }
    }

    /// The same connection with the SDKs' TLS settings, read through `var`. They apply to an
    /// `https://` server only; for `http://` they are left unread, as nothing uses them.
    pub fn with_tls(self, var: impl Fn(&str) -> Option<String>) -> Result<Self, TokenError> {
        if self.server_url.scheme() != "https" {
            return Ok(self);
        }
        let tls = Some(TlsConfig::from_vars(var)?);
        Ok(Connection { tls, ..self })
    }

    /// A workflow name as the server knows it: with the namespace's prefix.
    pub fn workflow_name(&self, name: &str) -> String {
        match &self.namespace {
            Some(prefix) if !name.starts_with(prefix.as_str()) => format!("{prefix}{name}"),
            _ => name.to_string(),
        }
    }
}

impl Connection {
    /// What finds this connection's secrets (token, URL password) in text from the server.
    pub(super) fn redactor(&self) -> Redactor {
        Redactor::new(&self.token.0, &self.server_url)
    }
}

fn decode_claims(raw: &str) -> Result<Claims, TokenError> {
    if !raw.starts_with("ey") {
        return Err(TokenError::Malformed);
    }
    let mut parts = raw.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_url_without_a_scheme_names_both_fixes() {
        let t = token(serde_json::json!({"sub": TENANT, "server_url": "http://x"}));
        let error = Connection::resolve(Some(&t), Some("localhost:8080"), None, Utc::now())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("http://localhost:8080") && error.contains("https://localhost:8080"),
            "{error}"
        );
    }

    #[test]
    fn tls_settings_apply_to_https_servers_only() {
        let t = token(serde_json::json!({"sub": TENANT, "server_url": "http://x"}));
        let bad_strategy =
            |name: &str| (name == "HATCHET_CLIENT_TLS_STRATEGY").then(|| "tsl".to_string());
        let plain = Connection::resolve(Some(&t), None, None, Utc::now()).unwrap();
        assert!(plain.with_tls(bad_strategy).unwrap().tls.is_none());
        let secure = Connection::resolve(Some(&t), Some("https://x"), None, Utc::now()).unwrap();
        assert_eq!(
            secure.clone().with_tls(bad_strategy).unwrap_err(),
            TokenError::Tls(TlsError::UnknownStrategy("tsl".into()))
        );
        assert!(secure.with_tls(|_| None).unwrap().tls.is_some());
    }

    #[test]
    fn a_namespace_prefixes_workflow_names_as_the_sdks_do() {
        let now = Utc::now();
        let t = token(serde_json::json!({"sub": TENANT, "server_url": "http://x"}));
        let plain = Connection::resolve(Some(&t), None, None, now).unwrap();
        assert_eq!(plain.workflow_name("orders"), "orders");
        let spaced = plain.clone().with_namespace(Some(" Staging "));
        assert_eq!(spaced.namespace.as_deref(), Some("staging_"));
        assert_eq!(spaced.workflow_name("orders"), "staging_orders");
        assert_eq!(spaced.workflow_name("staging_orders"), "staging_orders");
        let underscored = plain.clone().with_namespace(Some("prod_"));
        assert_eq!(underscored.workflow_name("orders"), "prod_orders");
        assert_eq!(plain.with_namespace(Some("  ")).namespace, None);
    }

    fn token(claims: serde_json::Value) -> String {
        let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            enc(br#"{"alg":"ES256","typ":"JWT"}"#),
            enc(claims.to_string().as_bytes())
        )
    }

    const TENANT: &str = "707d0855-80ab-4e1f-a156-f1c4546cbf52";

    #[test]
    fn resolves_like_the_sdks() {
        let now = Utc::now();
        let t = token(
            serde_json::json!({"sub": TENANT, "server_url": "http://127.0.0.1:8080", "exp": now.timestamp() + 60}),
        );
        let c = Connection::resolve(Some(&t), None, None, now).unwrap();
        assert_eq!(c.tenant.to_string(), TENANT);
        assert_eq!(c.server_url.as_str(), "http://127.0.0.1:8080/");
        let c =
            Connection::resolve(Some(&t), Some("http://10.0.0.1:9"), Some(TENANT), now).unwrap();
        assert_eq!(c.server_url.host_str(), Some("10.0.0.1"));
        assert!(
            !format!("{c:?}").contains(&t),
            "the token leaked into Debug output"
        );
    }

    #[test]
    fn refuses_bad_tokens() {
        let now = Utc::now();
        assert_eq!(
            Connection::resolve(None, None, None, now).unwrap_err(),
            TokenError::Missing
        );
        assert_eq!(
            Connection::resolve(Some("not-a-token"), None, None, now).unwrap_err(),
            TokenError::Malformed
        );
        let expired =
            token(serde_json::json!({"sub": TENANT, "server_url": "http://x", "exp": 1000}));
        assert!(matches!(
            Connection::resolve(Some(&expired), None, None, now),
            Err(TokenError::Expired(_))
        ));
        let ok = token(serde_json::json!({"sub": TENANT, "server_url": "http://x"}));
        assert!(matches!(
            Connection::resolve(
                Some(&ok),
                None,
                Some("00000000-0000-0000-0000-000000000001"),
                now
            ),
            Err(TokenError::TenantMismatch { .. })
        ));
        let no_url = token(serde_json::json!({"sub": TENANT}));
        assert_eq!(
            Connection::resolve(Some(&no_url), None, None, now).unwrap_err(),
            TokenError::NoServerUrl
        );
    }

    mod never_panic {
        use proptest::prelude::*;

        use super::*;

        fn claims() -> impl Strategy<Value = serde_json::Value> {
            let text = prop_oneof![
                any::<String>(),
                Just(TENANT.to_string()),
                "https?://[a-z0-9.:]{0,20}"
            ];
            (
                prop::option::of(text.clone()),
                prop::option::of(text),
                prop::option::of(any::<i64>()),
            )
                .prop_map(|(sub, server_url, exp)| {
                    serde_json::json!({"sub": sub, "server_url": server_url, "exp": exp})
                })
        }

        proptest! {
            #[test]
            fn any_token_resolves_or_fails(
                raw in any::<String>(),
                claims in claims(),
                server in prop::option::of(any::<String>()),
                tenant in prop::option::of(any::<String>()),
                now in any::<i64>(),
            ) {
                let now = DateTime::from_timestamp(now / 1000, 0).unwrap_or_default();
                for t in [raw, token(claims)] {
                    let _ = Connection::resolve(Some(&t), server.as_deref(), tenant.as_deref(), now);
                }
            }
        }
    }
}
