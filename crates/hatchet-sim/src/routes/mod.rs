//! The HTTP surface: the Hatchet REST routes under `/api`, and the control API under `/_sim`.
//!
//! Layers, outermost first: request counting (all routes), fault injection (`/api` only),
//! bearer auth (`/api/v1` only), then the handler.

mod auth;
mod control;
mod crons;
mod runs;
mod scheduled;
mod tasks;
mod workflows;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::errors::{message, ApiError};
use crate::faults;
use crate::state::Shared;

pub fn router(state: Shared) -> Router {
    let tenant = "/api/v1/tenants/{tenant}";
    let stable = "/api/v1/stable/tenants/{tenant}";
    let v1 = Router::new()
        .route(&format!("{tenant}/workflows"), get(workflows::list))
        .route(&format!("{stable}/workflow-runs"), get(runs::list))
        .route(
            &format!("{stable}/workflow-runs/external-ids"),
            get(runs::external_ids),
        )
        .route(
            "/api/v1/stable/workflow-runs/{v1-workflow-run}",
            get(runs::details),
        )
        .route(
            "/api/v1/stable/workflow-runs/{v1-workflow-run}/status",
            get(runs::status),
        )
        .route(&format!("{stable}/tasks/cancel"), post(tasks::cancel))
        .route(&format!("{stable}/tasks/replay"), post(tasks::replay))
        .route(
            &format!("{tenant}/workflows/cancel"),
            post(tasks::deprecated_cancel),
        )
        .route(
            &format!("{tenant}/workflow-runs/replay"),
            post(tasks::deprecated_replay),
        )
        .route(
            &format!("{tenant}/workflows/scheduled"),
            get(scheduled::list),
        )
        .route(
            &format!("{tenant}/workflows/{{workflow}}/scheduled"),
            post(scheduled::create),
        )
        .route(
            &format!("{tenant}/workflows/scheduled/bulk-delete"),
            post(scheduled::bulk_delete),
        )
        .route(
            &format!("{tenant}/workflows/scheduled/bulk-update"),
            post(scheduled::bulk_update),
        )
        .route(
            &format!("{tenant}/workflows/scheduled/{{scheduled-workflow-run}}"),
            get(scheduled::get_one)
                .patch(scheduled::update)
                .delete(scheduled::delete)
                .post(scheduled::trigger),
        )
        .route(&format!("{tenant}/workflows/crons"), get(crons::list))
        .route(
            &format!("{tenant}/workflows/{{workflow}}/crons"),
            post(crons::create),
        )
        .route(
            &format!("{tenant}/workflows/crons/{{cron-workflow}}"),
            get(crons::get_one)
                .delete(crons::delete)
                .patch(crons::set_enabled)
                .post(crons::trigger),
        )
        .route_layer(from_fn_with_state(state.clone(), auth::require_token));
    let api = Router::new()
        .merge(v1)
        .route("/api/ready", get(|| async { StatusCode::OK }))
        .layer(from_fn_with_state(state.clone(), faults::inject));
    let control = Router::new()
        .route("/_sim/seed", post(control::seed))
        .route("/_sim/stats", get(control::stats))
        .route("/_sim/requests", get(control::requests))
        .route("/_sim/arrivals", get(control::arrivals))
        .route("/_sim/dump", get(control::dump))
        .route(
            "/_sim/faults",
            get(control::get_faults).post(control::set_faults),
        );
    Router::new()
        .merge(api)
        .merge(control)
        .fallback(|| async { message(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .layer(from_fn_with_state(state.clone(), sim_kit::count_request))
        .with_state(state)
}

/// `Path` whose rejection is a Hatchet-style 400 instead of axum's plain-text one.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| PathParams(t))
            .map_err(|e| ApiError::bad_param("path", e.body_text()))
    }
}

/// Parses a JSON body the way Echo binds one: an empty body binds as `{}`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::BadBody(format!("Syntax error: {e}")))
}

/// `orderByDirection`: DESC unless given as ASC; any other value is the 500 Hatchet answers.
pub fn descending(query: &crate::query::Query) -> Result<bool, ApiError> {
    match query.first("orderByDirection").unwrap_or("DESC") {
        "DESC" => Ok(true),
        "ASC" => Ok(false),
        _ => Err(ApiError::Internal),
    }
}

/// One `limit`/`offset` page of `rows` as `{rows, pagination}`, each row shown by `view`.
pub fn page_of<T>(rows: &[T], offset: i64, limit: i64, view: impl Fn(&T) -> Value) -> Json<Value> {
    let page: Vec<Value> = rows
        .iter()
        .skip(offset.unsigned_abs() as usize)
        .take(limit.unsigned_abs() as usize)
        .map(view)
        .collect();
    Json(json!({ "rows": page, "pagination": crate::views::page_info(rows.len(), offset, limit) }))
}

/// Resolves `limit` and `offset` (defaults 50 and 0). A limit below 1 or a negative offset
/// is a 500, as it is on the real server (division by zero or a SQL error).
pub fn limit_offset(query: &crate::query::Query) -> Result<(i64, i64), ApiError> {
    let limit = query.int("limit")?.unwrap_or(50);
    let offset = query.int("offset")?.unwrap_or(0);
    if limit < 1 || offset < 0 {
        return Err(ApiError::Internal);
    }
    Ok((limit, offset))
}
