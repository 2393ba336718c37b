use std::time::Duration;

use thiserror::Error;

use super::ApiKey;
use crate::engine::{Answer, Failure};

/// The SDK obeys a server's requested delay only within (0, 60] s; beyond that it falls back to
/// its own backoff, and so do we.
const MAX_SERVER_DELAY: Duration = Duration::from_secs(60);

/// A failed call to Handinger. Its texts come from the server or the connection, so the client
/// passes every one through `redacted`: messages never contain the API key.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum HandingerError {
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
        /// The server's own verdict (`x-should-retry`), which wins over the status.
        should_retry: Option<bool>,
    },
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("cannot connect to the Handinger server: {0}")]
    Connect(String),
    #[error("connection failed mid-request: {0}")]
    Transport(String),
    #[error("unexpected response body: {0}")]
    Decode(String),
}

impl HandingerError {
    pub fn status(&self) -> Option<u16> {
        match self {
            HandingerError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(super) fn redacted(self, key: &ApiKey) -> Self {
        match self {
            HandingerError::Status {
                status,
                message,
                retry_after,
                should_retry,
            } => HandingerError::Status {
                status,
                message: key.redact(&message),
                retry_after,
                should_retry,
            },
            HandingerError::Timeout(after) => HandingerError::Timeout(after),
            HandingerError::Connect(text) => HandingerError::Connect(key.redact(&text)),
            HandingerError::Transport(text) => HandingerError::Transport(key.redact(&text)),
            HandingerError::Decode(text) => HandingerError::Decode(key.redact(&text)),
        }
    }

    pub(super) fn from_reqwest(err: reqwest::Error, timeout: Duration) -> Self {
        let err = err.without_url();
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        if err.is_timeout() {
            HandingerError::Timeout(timeout)
        } else if err.is_connect() {
            HandingerError::Connect(text)
        } else if err.is_decode() {
            HandingerError::Decode(text)
        } else {
            HandingerError::Transport(text)
        }
    }
}

/// Retries as the SDK makes them: connection errors, timeouts, 408, 409, 429 and 5xx, unless
/// `x-should-retry` says otherwise. What may have been applied is told apart, so that a create
/// is never repeated blindly.
impl Failure for HandingerError {
    fn is_transient(&self) -> bool {
        match self {
            HandingerError::Status {
                should_retry: Some(verdict),
                ..
            } => *verdict,
            HandingerError::Status { status, .. } => {
                matches!(status, 408 | 409 | 429) || *status >= 500
            }
            HandingerError::Timeout(_)
            | HandingerError::Connect(_)
            | HandingerError::Transport(_) => true,
            HandingerError::Decode(_) => false,
        }
    }

    /// Refused connections and 4xx answers (a lock conflict and a rate limit included) were not
    /// acted on; a timeout, a dropped connection or a 5xx may have been, whatever the server
    /// says about retrying.
    fn certainly_not_applied(&self) -> bool {
        match self {
            HandingerError::Connect(_) => true,
            HandingerError::Status { status, .. } => (400..500).contains(status),
            _ => false,
        }
    }

    fn is_pressure(&self) -> bool {
        match self {
            HandingerError::Status { status, .. } => *status == 429 || *status >= 500,
            HandingerError::Timeout(_) | HandingerError::Transport(_) => true,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            HandingerError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn http_status(&self) -> Option<u16> {
        self.status()
    }

    fn answer(&self) -> Answer {
        match self {
            HandingerError::Status { status: 429, .. } => Answer::Throttled,
            HandingerError::Status { status, .. } if *status >= 500 => Answer::ServerError,
            HandingerError::Timeout(_)
            | HandingerError::Connect(_)
            | HandingerError::Transport(_) => Answer::Unanswered,
            HandingerError::Status { .. } | HandingerError::Decode(_) => Answer::Refused,
        }
    }
}

/// The delay a server asked for, as the SDK reads it: `retry-after-ms`, else `retry-after` as
/// seconds (fractions allowed) or an HTTP date; only a delay within (0, 60] s counts.
pub(super) fn server_delay(
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
) -> Option<Duration> {
    let from_ms = retry_after_ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|ms| ms / 1000.0);
    let from_header = || {
        let value = retry_after?.trim();
        if let Ok(secs) = value.parse::<f64>() {
            return Some(secs);
        }
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        let ms = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
        Some(ms as f64 / 1000.0)
    };
    let secs = from_ms.or_else(from_header)?;
    let within = secs.is_finite() && secs > 0.0 && secs <= MAX_SERVER_DELAY.as_secs_f64();
    within.then(|| Duration::from_secs_f64(secs))
}

/// The message of an error answer: `{"error": ..}` or `{"message": ..}` (a string, or an
/// object with a `message`), else the body's text, else the status's reason.
pub(super) fn error_message(status: u16, body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let text_of = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        other => other
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_string),
    };
    let from_json = parsed
        .as_ref()
        .and_then(|v| v.get("error").or_else(|| v.get("message")))
        .and_then(text_of);
    from_json.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body).trim().to_string();
        if text.is_empty() || text == "null" {
            match status {
                404 => "not found".to_string(),
                429 => "rate limited".to_string(),
                _ => format!("status {status}"),
            }
        } else {
            text
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, should_retry: Option<bool>) -> HandingerError {
        HandingerError::Status {
            status,
            message: String::new(),
            retry_after: None,
            should_retry,
        }
    }

    #[test]
    fn retried_as_the_sdk_retries_and_the_servers_verdict_wins() {
        for code in [408, 409, 429, 500, 502, 503, 504, 599] {
            assert!(status(code, None).is_transient(), "{code}");
        }
        for code in [400, 401, 403, 404, 422] {
            assert!(!status(code, None).is_transient(), "{code}");
        }
        assert!(!status(503, Some(false)).is_transient());
        assert!(status(400, Some(true)).is_transient());
        assert!(HandingerError::Timeout(Duration::from_secs(1)).is_transient());
        assert!(HandingerError::Transport("reset".into()).is_transient());
        assert!(HandingerError::Connect("refused".into()).is_transient());
        assert!(!HandingerError::Decode("junk".into()).is_transient());
    }

    #[test]
    fn only_what_never_reached_the_server_counts_as_not_applied() {
        assert!(HandingerError::Connect("refused".into()).certainly_not_applied());
        assert!(status(429, None).certainly_not_applied());
        assert!(status(409, None).certainly_not_applied());
        assert!(!status(500, Some(true)).certainly_not_applied());
        assert!(!HandingerError::Timeout(Duration::from_secs(1)).certainly_not_applied());
        assert!(!HandingerError::Transport("reset".into()).certainly_not_applied());
    }

    #[test]
    fn server_delays_are_read_as_the_sdk_reads_them() {
        assert_eq!(
            server_delay(Some("1500"), Some("9")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            server_delay(None, Some("2.5")),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            server_delay(Some("junk"), Some("3")),
            Some(Duration::from_secs(3))
        );
        assert_eq!(server_delay(None, Some("0")), None);
        assert_eq!(
            server_delay(None, Some("61")),
            None,
            "beyond 60 s the backoff applies"
        );
        assert_eq!(server_delay(None, Some("soon")), None);
        assert_eq!(server_delay(None, None), None);
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = server_delay(None, Some(&later)).expect("a date");
        assert!(
            d <= Duration::from_secs(30) && d >= Duration::from_secs(28),
            "{d:?}"
        );
    }

    #[test]
    fn error_messages_from_every_body_shape() {
        assert_eq!(
            error_message(404, br#"{"error":"Worker not found"}"#),
            "Worker not found"
        );
        assert_eq!(error_message(400, br#"{"message":"bad when"}"#), "bad when");
        assert_eq!(
            error_message(400, br#"{"error":{"message":"bad cron"}}"#),
            "bad cron"
        );
        assert_eq!(error_message(502, b"Bad Gateway"), "Bad Gateway");
        assert_eq!(error_message(429, b""), "rate limited");
    }
}
