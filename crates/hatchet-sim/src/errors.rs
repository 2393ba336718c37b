//! Error responses in the four body shapes Hatchet uses (docs/hatchet-contract.md §f).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Everything a handler can fail with. Each variant knows its status code and body shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 403 `{"message":"Please provide valid credentials"}`.
    #[error("invalid credentials")]
    Forbidden,
    /// 500 `{"message":"Internal Server Error"}`: Hatchet's answer to every unmapped error.
    #[error("internal server error")]
    Internal,
    /// 400 `{"message":"Invalid format for parameter X: ..."}` (query/path binding errors).
    #[error("invalid format for parameter {name}: {detail}")]
    BadParam { name: &'static str, detail: String },
    /// 400 `{"message": ...}` for a body that does not parse.
    #[error("bad body: {0}")]
    BadBody(String),
    /// 404 `{"message": ...}` from a resource lookup.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// 404 with no body: what the populator answers for a missing row (`pgx.ErrNoRows`).
    #[error("not found")]
    NoRow,
    /// `APIErrors`: `{"errors":[{"description": ...}]}`.
    #[error("{1}")]
    Api(StatusCode, String),
    /// A bare `APIError`: `{"description": ...}` (only DELETE of a code-defined scheduled run).
    #[error("{1}")]
    BareApi(StatusCode, String),
}

impl ApiError {
    pub fn bad_param(name: &'static str, detail: impl ToString) -> Self {
        ApiError::BadParam {
            name,
            detail: detail.to_string(),
        }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        ApiError::Api(StatusCode::BAD_REQUEST, description.into())
    }
}

/// Echo's `{"message": ...}` body.
pub fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Forbidden => {
                message(StatusCode::FORBIDDEN, "Please provide valid credentials")
            }
            ApiError::Internal => {
                message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
            ApiError::BadParam { name, detail } => message(
                StatusCode::BAD_REQUEST,
                &format!("Invalid format for parameter {name}: {detail}"),
            ),
            ApiError::BadBody(text) => message(StatusCode::BAD_REQUEST, &text),
            ApiError::NotFound(text) => message(StatusCode::NOT_FOUND, text),
            ApiError::NoRow => StatusCode::NOT_FOUND.into_response(),
            ApiError::Api(status, description) => {
                let body: Value = json!({ "errors": [{ "description": description }] });
                (status, Json(body)).into_response()
            }
            ApiError::BareApi(status, description) => {
                (status, Json(json!({ "description": description }))).into_response()
            }
        }
    }
}
