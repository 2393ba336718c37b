use std::time::Duration;

use thiserror::Error;

use super::redact::Redactor;
use crate::engine::{Answer, Failure};

/// A failed call to Hatchet. Its texts come from the server or the connection, so the client
/// passes every one through its `Redactor` (see `redacted`): messages never contain the token.
#[derive(Debug, Error, Clone)]
pub enum HatchetError {
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("cannot connect to the Hatchet server: {0}")]
    Connect(String),
    /// The TLS handshake failed on a certificate (the server's, or ours it refused): a setting
    /// to fix, not a server to wait for.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    #[error("connection failed mid-request: {0}")]
    Transport(String),
    #[error("unexpected response body: {0}")]
    Decode(String),
}

impl HatchetError {
    pub fn status(&self) -> Option<u16> {
        match self {
            HatchetError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The same error with its text cleaned of the connection's secrets and cut to length.
    pub(super) fn redacted(self, redactor: &Redactor) -> Self {
        match self {
            HatchetError::Status {
                status,
                message,
                retry_after,
            } => HatchetError::Status {
                status,
                message: redactor.clean(&message),
                retry_after,
            },
            HatchetError::Timeout(after) => HatchetError::Timeout(after),
            HatchetError::Connect(text) => HatchetError::Connect(redactor.clean(&text)),
            HatchetError::Tls(text) => HatchetError::Tls(redactor.clean(&text)),
            HatchetError::Transport(text) => HatchetError::Transport(redactor.clean(&text)),
            HatchetError::Decode(text) => HatchetError::Decode(redactor.clean(&text)),
        }
    }

    pub(super) fn from_reqwest(err: reqwest::Error, timeout: Duration) -> Self {
        // Strip the URL: it is harmless, but keeps messages short and stable.
        let err = err.without_url();
        if err.is_timeout() {
            HatchetError::Timeout(timeout)
        } else if super::tls::failure_hint(&err).is_some() {
            // A refused client certificate shows only once the request is sent (TLS 1.3), but
            // the connection failed as surely as for an untrusted server certificate.
            HatchetError::Tls(source_chain(&err))
        } else if err.is_connect() {
            HatchetError::Connect(source_chain(&err))
        } else if err.is_decode() {
            HatchetError::Decode(source_chain(&err))
        } else {
            HatchetError::Transport(source_chain(&err))
        }
    }
}

/// What the engine reads of a failed call: whether to retry it, resend it, back off, and how
/// the server answered.
impl Failure for HatchetError {
    /// Worth another attempt for a request that is safe to repeat.
    fn is_transient(&self) -> bool {
        match self {
            HatchetError::Status { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            HatchetError::Timeout(_) | HatchetError::Connect(_) | HatchetError::Transport(_) => {
                true
            }
            HatchetError::Tls(_) | HatchetError::Decode(_) => false,
        }
    }

    /// The server certainly did not act on the request, so even a non-idempotent call may be
    /// resent: it refused the connection, or rate-limited the call before handling it.
    fn certainly_not_applied(&self) -> bool {
        match self {
            HatchetError::Connect(_) | HatchetError::Tls(_) => true,
            HatchetError::Status { status, .. } => *status == 429 || (400..500).contains(status),
            _ => false,
        }
    }

    /// The server signalled overload: the concurrency window should shrink.
    fn is_pressure(&self) -> bool {
        match self {
            HatchetError::Status { status, .. } => *status == 429 || *status >= 500,
            HatchetError::Timeout(_) | HatchetError::Transport(_) => true,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            HatchetError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn http_status(&self) -> Option<u16> {
        self.status()
    }

    fn answer(&self) -> Answer {
        match self {
            HatchetError::Status { status: 429, .. } => Answer::Throttled,
            HatchetError::Status { status, .. } if *status >= 500 => Answer::ServerError,
            HatchetError::Timeout(_)
            | HatchetError::Connect(_)
            | HatchetError::Tls(_)
            | HatchetError::Transport(_) => Answer::Unanswered,
            HatchetError::Status { .. } | HatchetError::Decode(_) => Answer::Refused,
        }
    }
}

/// The error and its causes on one line, with the fix when TLS failed.
fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if let Some(hint) = super::tls::failure_hint(err) {
        text.push_str("; ");
        text.push_str(hint);
    }
    text
}

/// Reads the error message out of any of Hatchet's four error body shapes
/// (docs/hatchet-contract.md §f):
/// `{"errors":[{"description":..}]}`, a bare `{"description":..}`, Echo's `{"message":..}`,
/// and the rate limiter's `null`. Not cut here: the redactor cuts after redacting.
pub(super) fn error_message(status: u16, body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        if let Some(errors) = v.get("errors").and_then(|e| e.as_array()) {
            let texts: Vec<&str> = errors
                .iter()
                .filter_map(|e| e.get("description").and_then(|d| d.as_str()))
                .collect();
            if !texts.is_empty() {
                return Some(texts.join("; "));
            }
        }
        v.get("description")
            .or_else(|| v.get("message"))
            .and_then(|d| d.as_str())
            .map(str::to_string)
    });
    from_json.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() || text == "null" {
            default_reason(status).to_string()
        } else {
            text.to_string()
        }
    })
}

fn default_reason(status: u16) -> &'static str {
    match status {
        429 => "rate limited",
        403 => "forbidden",
        404 => "not found",
        500..=599 => "server error",
        _ => "request failed",
    }
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub(super) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_all_four_error_shapes() {
        assert_eq!(
            error_message(
                400,
                br#"{"errors":[{"description":"bad since","field":"since"}]}"#
            ),
            "bad since"
        );
        assert_eq!(
            error_message(
                403,
                br#"{"description":"Cannot delete scheduled run created via code definition."}"#
            ),
            "Cannot delete scheduled run created via code definition."
        );
        assert_eq!(
            error_message(500, br#"{"message":"Internal Server Error"}"#),
            "Internal Server Error"
        );
        assert_eq!(error_message(429, b"null"), "rate limited");
        assert_eq!(
            error_message(502, b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("soon"), None);
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&later).unwrap();
        assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(28));
    }
}
