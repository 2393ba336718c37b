//! What the engine must know of a failed request to retry it, pace it and count it, whatever
//! backend it went to. Each backend's error type answers these questions about itself.

use std::time::Duration;

/// How a failed request was answered, for the run's traffic counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Rate-limited (429).
    Throttled,
    /// A server error (5xx).
    ServerError,
    /// No answer: refused connection, timeout, dropped connection.
    Unanswered,
    /// An answer about the request itself (4xx, an unreadable body): not the server's state.
    Refused,
}

pub trait Failure: std::error::Error + Send + Sync + 'static {
    /// The same request may succeed later: worth retrying, and no verdict on the items.
    fn is_transient(&self) -> bool;
    /// The server certainly did not act on the request, so even a non-idempotent one may be
    /// sent again.
    fn certainly_not_applied(&self) -> bool;
    /// The server signalled overload: the concurrency window should shrink.
    fn is_pressure(&self) -> bool;
    /// How long the server asked the client to wait before the next attempt.
    fn retry_after(&self) -> Option<Duration>;
    fn answer(&self) -> Answer;
    /// The HTTP status the server answered with, if it answered at all.
    fn http_status(&self) -> Option<u16>;
}

/// A failure no test call meets: the error type of calls that always succeed.
#[cfg(test)]
#[derive(Debug, thiserror::Error)]
#[error("never")]
pub(crate) struct Never;

#[cfg(test)]
impl Failure for Never {
    fn is_transient(&self) -> bool {
        false
    }
    fn certainly_not_applied(&self) -> bool {
        true
    }
    fn is_pressure(&self) -> bool {
        false
    }
    fn retry_after(&self) -> Option<Duration> {
        None
    }
    fn answer(&self) -> Answer {
        Answer::Refused
    }
    fn http_status(&self) -> Option<u16> {
        None
    }
}
