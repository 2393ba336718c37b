//! The API key and base URL, read as the official SDK reads them (`HANDINGER_API_KEY`,
//! `HANDINGER_BASE_URL`), and the redaction of the key from any text a server sends back.

use std::fmt;

use thiserror::Error;

/// Where the SDK sends requests when `HANDINGER_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://handinger.com";

const REDACTED: &str = "<redacted>";

/// The longest server text kept, in characters, cut after redaction so no piece of the key
/// survives a cut.
const MAX_SERVER_TEXT: usize = 300;

/// The API key. A secret: no `Display`, a redacted `Debug`, only ever written into the
/// `Authorization` header.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// `text` with every occurrence of the key replaced, cut to a readable length.
    pub fn redact(&self, text: &str) -> String {
        let text = text.replace(self.0.as_str(), REDACTED);
        match text.char_indices().nth(MAX_SERVER_TEXT) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text,
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConnectionError {
    #[error("HANDINGER_API_KEY is not set: export the API key of your Handinger account")]
    MissingKey,
    #[error("HANDINGER_API_KEY contains whitespace or control characters: copy the key again")]
    MalformedKey,
    #[error("HANDINGER_BASE_URL '{0}' is not a URL: use e.g. https://handinger.com")]
    BadBaseUrl(String),
    #[error("HANDINGER_BASE_URL '{0}' has no http:// or https:// scheme: write https://{0} (or http:// for a local server)")]
    NoScheme(String),
    #[error(
        "HANDINGER_BASE_URL '{0}' carries credentials: remove them, the API key authenticates"
    )]
    CredentialsInUrl(String),
}

/// Where and with which key to connect.
#[derive(Clone, Debug)]
pub struct HandingerConnection {
    pub base_url: url::Url,
    pub key: ApiKey,
}

impl HandingerConnection {
    /// From the values of `HANDINGER_API_KEY` and `HANDINGER_BASE_URL` (`None` when unset).
    pub fn resolve(key: Option<&str>, base_url: Option<&str>) -> Result<Self, ConnectionError> {
        let key = key.map(str::trim).filter(|k| !k.is_empty());
        let key = key.ok_or(ConnectionError::MissingKey)?;
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConnectionError::MalformedKey);
        }
        let raw = base_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_BASE_URL);
        let shown = crate::backend::hatchet::without_credentials(raw);
        if !raw.contains("://") {
            return Err(ConnectionError::NoScheme(shown));
        }
        let url = url::Url::parse(raw).map_err(|_| ConnectionError::BadBaseUrl(shown.clone()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConnectionError::BadBaseUrl(shown));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConnectionError::CredentialsInUrl(shown));
        }
        Ok(HandingerConnection {
            base_url: url,
            key: ApiKey(key.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_read_as_the_sdk_reads_it_and_never_shown() {
        let conn = HandingerConnection::resolve(Some(" hk_live_secret123 "), None).expect("ok");
        assert_eq!(conn.base_url.as_str(), "https://handinger.com/");
        assert_eq!(conn.key.bearer(), "Bearer hk_live_secret123");
        let shown = format!("{conn:?}");
        assert!(!shown.contains("secret123"), "{shown}");
        assert_eq!(
            conn.key
                .redact("echo: Authorization: Bearer hk_live_secret123"),
            "echo: Authorization: Bearer <redacted>"
        );
    }

    #[test]
    fn bad_connections_name_their_fix() {
        let err = |key: Option<&str>, url: Option<&str>| {
            HandingerConnection::resolve(key, url).expect_err("refused")
        };
        assert_eq!(err(None, None), ConnectionError::MissingKey);
        assert_eq!(err(Some("  "), None), ConnectionError::MissingKey);
        assert_eq!(err(Some("a b"), None), ConnectionError::MalformedKey);
        assert_eq!(
            err(Some("k"), Some("handinger.example")),
            ConnectionError::NoScheme("handinger.example".into())
        );
        assert!(matches!(
            err(Some("k"), Some("ftp://x")),
            ConnectionError::BadBaseUrl(_)
        ));
        let with_password = err(Some("k"), Some("https://u:pw12345@h.example"));
        assert!(matches!(
            with_password,
            ConnectionError::CredentialsInUrl(_)
        ));
        assert!(!with_password.to_string().contains("pw12345"));
        let local = HandingerConnection::resolve(Some("k"), Some("http://127.0.0.1:9/")).unwrap();
        assert_eq!(local.base_url.as_str(), "http://127.0.0.1:9/");
    }
}
