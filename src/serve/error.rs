//! What a request can fail with, as an HTTP status and one JSON object: the one-line message
//! (for a job's input, the very one the command line prints) and its cause in a word.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::app::{BulkopsExitCode, Error};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// What the application refused or failed with, as the command line would say it.
    #[error(transparent)]
    App(#[from] Error),
    #[error("missing or wrong bearer token: send `Authorization: Bearer TOKEN` with the token of BULKOPS_API_TOKEN")]
    Unauthorized,
    /// Credentials come from the service's own environment only.
    #[error("the request carries '{field}': credentials are never taken from a request; bulkops serve uses HATCHET_CLIENT_TOKEN and HANDINGER_API_KEY of its own environment")]
    Credentials { field: String },
    /// A body (or query) that is not what the route takes (the parser's words, on one line).
    #[error("the request: {0}")]
    Body(String),
    #[error("unknown operation '{0}': use runs cancel, runs replay, scheduled delete, scheduled reschedule, crons delete, handinger schedules cancel or handinger schedules reschedule")]
    Operation(String),
    /// A field that the operation's command does not offer (or that a request cannot give).
    #[error("{operation} takes no field '{field}': its fields are in GET /openapi.yaml")]
    NotOffered {
        operation: &'static str,
        field: String,
    },
    #[error("ids lists {given} ids, more than a request takes ({max}): split them over several jobs, or give them to the command line's --ids-file", max = super::jobs::MAX_IDS)]
    TooManyIds { given: usize },
    /// `item` counts from 0, as the request's JSON array does (`ids[1]` is its second item).
    #[error("ids[{item}]: {value:?} is not a schedule id (no spaces, quotes or control characters): fix or remove that item")]
    BadScheduleId { item: usize, value: String },
    #[error("unknown report format '{0}': use csv or ndjson")]
    ReportFormat(String),
    #[error(
        "bulkops serve is shutting down: send it to another replica, or again once it is back"
    )]
    ShuttingDown,
    /// A task of this process ended without its answer (it panicked or was cancelled).
    #[error("the request's task ended without an answer ({0}): try again")]
    Lost(String),
}

impl ApiError {
    /// The cause in a word a program can match on.
    fn cause(&self) -> &'static str {
        match self {
            ApiError::App(e) => e.cause(),
            ApiError::Unauthorized => "unauthorized",
            ApiError::Credentials { .. } => "credentials_in_request",
            ApiError::Body(_) => "bad_body",
            ApiError::Operation(_) => "unknown_operation",
            ApiError::NotOffered { .. } => "flag_not_offered",
            ApiError::TooManyIds { .. } => "too_many_ids",
            ApiError::BadScheduleId { .. } => "ids_file",
            ApiError::ReportFormat(_) => "unknown_report_format",
            ApiError::ShuttingDown => "shutting_down",
            ApiError::Lost(_) => "lost",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::App(e) => app_status(e),
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Credentials { .. }
            | ApiError::Body(_)
            | ApiError::Operation(_)
            | ApiError::NotOffered { .. }
            | ApiError::TooManyIds { .. }
            | ApiError::BadScheduleId { .. }
            | ApiError::ReportFormat(_) => StatusCode::BAD_REQUEST,
            ApiError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Lost(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error as its JSON object.
    pub fn body(&self) -> Json<Value> {
        Json(json!({"error": self.to_string(), "cause": self.cause()}))
    }
}

/// An application error's status: a job that does not exist is 404, one in a state that does
/// not allow the action 409; otherwise by its exit code: bad input 400, transient 503.
fn app_status(error: &Error) -> StatusCode {
    match error {
        Error::UnknownJob { .. } => StatusCode::NOT_FOUND,
        Error::Held(_)
        | Error::RunningHere { .. }
        | Error::NotRunning { .. }
        | Error::NotOpen { .. }
        | Error::NothingToResume { .. }
        | Error::StillOpen { .. }
        | Error::AlreadyFinished { .. }
        | Error::AlreadyUndone { .. }
        | Error::OtherSelection { .. } => StatusCode::CONFLICT,
        e => match e.exit_code() {
            BulkopsExitCode::BAD_INPUT => StatusCode::BAD_REQUEST,
            BulkopsExitCode::INTERRUPTED => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        },
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::UNAUTHORIZED {
            return (status, [(header::WWW_AUTHENTICATE, "Bearer")], self.body()).into_response();
        }
        (status, self.body()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_job_is_404_a_state_conflict_409_bad_input_400_and_transient_503() {
        let unknown = Error::UnknownJob {
            job: "j".into(),
            state: "s.db".into(),
        };
        assert_eq!(ApiError::from(unknown).status(), StatusCode::NOT_FOUND);
        let not_running = Error::NotRunning {
            job: "j".into(),
            state: "finished",
        };
        assert_eq!(ApiError::from(not_running).status(), StatusCode::CONFLICT);
        let bad = Error::Spec(crate::job::SpecError::EmptySelector);
        assert_eq!(ApiError::from(bad).status(), StatusCode::BAD_REQUEST);
        let gone = Error::EngineVanished { job: "j".into() };
        assert_eq!(
            ApiError::from(gone).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(ApiError::Unauthorized.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn an_error_is_one_line_of_json_with_its_cause() {
        let error = ApiError::Credentials {
            field: "token".into(),
        };
        let Json(body) = error.body();
        let text = body.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(body["cause"], "credentials_in_request");
        assert_eq!(body["error"], error.to_string());
    }
}
