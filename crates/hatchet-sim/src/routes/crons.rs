//! Cron triggers: list, get, create, delete, enable/disable, run now. An unknown cron id is a
//! 500 (the populator does not map "cron workflow not found"), and delete has no method check.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{descending, limit_offset, page_of, parse_json, PathParams};
use crate::errors::ApiError;
use crate::query::{metadata_pairs_strict, Query};
use crate::state::{metadata_matches, Cron, Metadata, Method, Shared};
use crate::views::cron_row;

/// `GET /api/v1/tenants/{tenant}/workflows/crons`.
pub async fn list(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = Query::parse(raw.as_deref());
    let (limit, offset) = limit_offset(&query)?;
    let by_name = match query.first("orderByField").unwrap_or("createdAt") {
        "createdAt" => false,
        "name" => true,
        _ => return Err(ApiError::Internal),
    };
    let descending = descending(&query)?;
    let workflow_id = query.uuid("workflowId")?;
    let workflow_name = query.first("workflowName");
    let cron_name = query.first("cronName");
    let metadata = metadata_pairs_strict(&query.all("additionalMetadata")).ok_or_else(|| {
        ApiError::bad_request("Additional metadata filters must be in the format key:value.")
    })?;
    let store = state.store();
    let mut rows: Vec<&Cron> = store
        .crons
        .values()
        .filter(|c| {
            let wf = &store.workflows[c.workflow];
            workflow_id.is_none_or(|id| wf.id == id)
                && workflow_name.is_none_or(|n| wf.name == n)
                && cron_name.is_none_or(|n| c.name == n)
                && metadata_matches(&c.metadata, &metadata, true)
        })
        .collect();
    // Stable sort over an id-ordered map: ties stay in `id ASC` order.
    rows.sort_by(|a, b| {
        let order = if by_name {
            a.name.cmp(&b.name)
        } else {
            a.created_at.cmp(&b.created_at)
        };
        if descending {
            order.reverse()
        } else {
            order
        }
    });
    Ok(page_of(&rows, offset, limit, |c| {
        cron_row(&store, state.tenant, c)
    }))
}

/// `GET .../workflows/crons/{cron-workflow}`.
pub async fn get_one(
    State(state): State<Shared>,
    PathParams((_, id)): PathParams<(Uuid, Uuid)>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store();
    let cron = store.crons.get(&id).ok_or(ApiError::Internal)?;
    Ok(Json(cron_row(&store, state.tenant, cron)))
}

/// `DELETE .../workflows/crons/{cron-workflow}`: 204, code-defined crons included.
pub async fn delete(
    State(state): State<Shared>,
    PathParams((_, id)): PathParams<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state.store().crons.remove(&id).ok_or(ApiError::Internal)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct EnabledRequest {
    enabled: Option<bool>,
}

/// `PATCH .../workflows/crons/{cron-workflow}` with `{enabled?}`: 204.
pub async fn set_enabled(
    State(state): State<Shared>,
    PathParams((_, id)): PathParams<(Uuid, Uuid)>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: EnabledRequest = parse_json(&body)?;
    let mut store = state.store();
    let cron = store.crons.get_mut(&id).ok_or(ApiError::Internal)?;
    if let Some(enabled) = req.enabled {
        cron.enabled = enabled;
        cron.updated_at = Utc::now();
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../workflows/crons/{cron-workflow}`: run it now (200 `TriggerRunResult`).
pub async fn trigger(
    State(state): State<Shared>,
    PathParams((_, id)): PathParams<(Uuid, Uuid)>,
) -> Result<Json<Value>, ApiError> {
    let mut store = state.store();
    let cron = store.crons.get(&id).ok_or(ApiError::Internal)?;
    let (workflow, metadata) = (cron.workflow, cron.metadata.clone());
    let run = store.trigger_run(workflow, metadata);
    Ok(Json(json!({ "externalId": run })))
}

/// `CreateCronWorkflowTriggerRequest`; `expression` is accepted as an alias of `cronExpression`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    #[serde(default)]
    cron_name: String,
    #[serde(default, alias = "expression")]
    cron_expression: String,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    additional_metadata: Metadata,
    priority: Option<i64>,
}

/// A cron expression with five or six fields.
fn valid_expression(expr: &str) -> bool {
    matches!(expr.split_whitespace().count(), 5 | 6)
}

/// `POST /api/v1/tenants/{tenant}/workflows/{workflow}/crons` (`{workflow}` is the name).
pub async fn create(
    State(state): State<Shared>,
    PathParams((_, name)): PathParams<(Uuid, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: CreateRequest = parse_json(&body)?;
    let mut store = state.store();
    let workflow = store
        .workflow_named(&name)
        .ok_or_else(|| ApiError::bad_request("workflow not found"))?;
    if req.cron_name.is_empty() {
        return Err(ApiError::bad_request("cronName is required"));
    }
    if !valid_expression(&req.cron_expression) {
        return Err(ApiError::bad_request("Invalid cron expression"));
    }
    if store
        .crons
        .values()
        .any(|c| c.workflow == workflow && c.name == req.cron_name)
    {
        return Err(ApiError::bad_request(
            "cron trigger with this name already exists",
        ));
    }
    let now = Utc::now();
    let cron = Cron {
        id: Uuid::new_v4(),
        workflow,
        name: req.cron_name,
        expression: req.cron_expression,
        enabled: true,
        created_at: now,
        updated_at: now,
        input: if req.input.is_null() {
            json!({})
        } else {
            req.input
        },
        metadata: req.additional_metadata,
        priority: req.priority.unwrap_or(1),
        method: Method::Api,
    };
    let json = cron_row(&store, state.tenant, &cron);
    store.crons.insert(cron.id, cron);
    Ok(Json(json))
}
