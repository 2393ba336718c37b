//! Scheduled runs: list, get, create, reschedule, delete, run now, bulk delete, bulk update.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{descending, limit_offset, page_of, parse_json, PathParams};
use crate::errors::ApiError;
use crate::query::{metadata_pairs_strict, Query};
use crate::state::{
    metadata_matches, to_millis, Metadata, Method, OrderedIds, Scheduled, Shared, Store,
};
use crate::views::scheduled_row;

/// The bulk endpoints work in chunks of this many ids, each its own statement.
const BULK_CHUNK: usize = 200;

const BAD_METADATA: &str = "Additional metadata filters must be in the format key:value.";
const NOT_FOUND: &str = "scheduled workflow run not found";
const CODE_DEFINED_DELETE: &str = "Cannot delete scheduled run created via code definition.";

/// What selects scheduled rows in the list and in bulk-delete filter mode.
#[derive(Default)]
struct ScheduledFilter {
    workflow_id: Option<Uuid>,
    /// Hatchet's SQL compares this with the row's own id (a bug the sim keeps).
    parent_workflow_run_id: Option<Uuid>,
    /// No v1 row has a parent step run, so any value matches nothing.
    parent_step_run_id: Option<Uuid>,
    metadata: Vec<(String, String)>,
}

impl ScheduledFilter {
    fn matches(&self, store: &Store, row: &Scheduled) -> bool {
        self.workflow_id
            .is_none_or(|w| store.workflows[row.workflow].id == w)
            && self.parent_workflow_run_id.is_none_or(|p| row.id == p)
            && self.parent_step_run_id.is_none()
            && metadata_matches(&row.metadata, &self.metadata, true)
    }
}

fn strict_metadata<S: AsRef<str>>(entries: &[S]) -> Result<Vec<(String, String)>, ApiError> {
    metadata_pairs_strict(entries).ok_or_else(|| ApiError::bad_request(BAD_METADATA))
}

/// `GET /api/v1/tenants/{tenant}/workflows/scheduled`.
pub async fn list(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = Query::parse(raw.as_deref());
    let (limit, offset) = limit_offset(&query)?;
    let by_created = match query.first("orderByField").unwrap_or("triggerAt") {
        "triggerAt" => false,
        "createdAt" => true,
        _ => return Err(ApiError::Internal),
    };
    let descending = descending(&query)?;
    let filter = ScheduledFilter {
        workflow_id: query.uuid("workflowId")?,
        parent_workflow_run_id: query.uuid("parentWorkflowRunId")?,
        parent_step_run_id: query.uuid("parentStepRunId")?,
        metadata: strict_metadata(&query.all("additionalMetadata"))?,
    };
    // Every v1 row is un-triggered, so only SCHEDULED (or no status filter) can match.
    let statuses = query.all("statuses");
    let status_ok = statuses.is_empty() || statuses.contains(&"SCHEDULED");
    let store = state.store();
    let mut rows: Vec<&Scheduled> = store
        .scheduled
        .values()
        .filter(|r| status_ok && filter.matches(&store, r))
        .collect();
    // The map iterates by id and the sort is stable: ties stay in `id ASC` order.
    rows.sort_by(|a, b| {
        let (ka, kb) = if by_created {
            (a.created_at, b.created_at)
        } else {
            (a.trigger_at, b.trigger_at)
        };
        if descending {
            kb.cmp(&ka)
        } else {
            ka.cmp(&kb)
        }
    });
    Ok(page_of(&rows, offset, limit, |r| {
        scheduled_row(&store, state.tenant, r)
    }))
}

/// `GET .../workflows/scheduled/{scheduled-workflow-run}`.
pub async fn get_one(
    State(state): State<Shared>,
    PathParams((_, id)): PathParams<(Uuid, Uuid)>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store();
    let row = store
        .scheduled
        .get(&id)
        .ok_or(ApiError::NotFound(NOT_FOUND))?;
    Ok(Json(scheduled_row(&store, state.tenant, row)))
}

/// `ScheduleWorkflowRunRequest`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    input: Value,
    additional_metadata: Metadata,
    trigger_at: DateTime<FixedOffset>,
    priority: Option<i64>,
}

/// `POST /api/v1/tenants/{tenant}/workflows/{workflow}/scheduled` (`{workflow}` is the name).
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
    let now = Utc::now();
    let row = Scheduled {
        id: Uuid::new_v4(),
        workflow,
        trigger_at: to_millis(req.trigger_at.with_timezone(&Utc)),
        created_at: now,
        updated_at: now,
        input: req.input,
        metadata: req.additional_metadata,
        priority: req.priority.unwrap_or(1),
        method: Method::Api,
    };
    let json = scheduled_row(&store, state.tenant, &row);
    store.scheduled.insert(row.id, row);
    Ok(Json(json))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateRequest {
    trigger_at: Option<DateTime<FixedOffset>>,
}

/// `PATCH .../workflows/scheduled/{id}`: reschedule one API-created row.
pub async fn update(
    State(state): State<Shared>,
    PathParams((_, id)): PathParams<(Uuid, Uuid)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: UpdateRequest = parse_json(&body)?;
    let mut store = state.store();
    let row = store
        .scheduled
        .get_mut(&id)
        .ok_or(ApiError::NotFound(NOT_FOUND))?;
    let trigger_at = req
        .trigger_at
        .ok_or_else(|| ApiError::bad_request("triggerAt is required"))?;
    if row.method != Method::Api {
        return Err(ApiError::Api(
            StatusCode::FORBIDDEN,
            "Cannot update scheduled run created via code definition.".into(),
        ));
    }
    row.trigger_at = to_millis(trigger_at.with_timezone(&Utc));
    row.updated_at = Utc::now();
    let row = row.clone();
    Ok(Json(scheduled_row(&store, state.tenant, &row)))
}

/// `DELETE .../workflows/scheduled/{id}`: 204; a code-defined row is a 403 bare `APIError`.
pub async fn delete(
    State(state): State<Shared>,
    PathParams((_, id)): PathParams<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let mut store = state.store();
    let row = store
        .scheduled
        .get(&id)
        .ok_or(ApiError::NotFound(NOT_FOUND))?;
    if row.method != Method::Api {
        return Err(ApiError::BareApi(
            StatusCode::FORBIDDEN,
            CODE_DEFINED_DELETE.into(),
        ));
    }
    store.scheduled.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../workflows/scheduled/{id}`: run it now; the schedule is consumed.
pub async fn trigger(
    State(state): State<Shared>,
    PathParams((_, id)): PathParams<(Uuid, Uuid)>,
) -> Result<Json<Value>, ApiError> {
    let mut store = state.store();
    let row = store
        .scheduled
        .remove(&id)
        .ok_or(ApiError::NotFound(NOT_FOUND))?;
    let run = store.trigger_run(row.workflow, row.metadata);
    Ok(Json(json!({ "externalId": run })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkDeleteFilter {
    workflow_id: Option<Uuid>,
    parent_workflow_run_id: Option<Uuid>,
    parent_step_run_id: Option<Uuid>,
    #[serde(default)]
    additional_metadata: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkDeleteRequest {
    #[serde(default)]
    scheduled_workflow_run_ids: Vec<Uuid>,
    filter: Option<BulkDeleteFilter>,
}

fn bulk_error(id: Uuid, error: &str) -> Value {
    json!({ "id": id, "error": error })
}

/// `POST .../workflows/scheduled/bulk-delete` (docs/hatchet-contract.md §d.7).
pub async fn bulk_delete(
    State(state): State<Shared>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: BulkDeleteRequest = parse_json(&body)?;
    let partial_failure = state.faults().bulk_partial_failure();
    let mut store = state.store();
    let mut errors = Vec::new();
    let targets: Vec<Uuid> = match (&req.scheduled_workflow_run_ids[..], req.filter) {
        ([_, ..], Some(_)) => {
            return Err(ApiError::bad_request(
                "Provide either scheduledWorkflowRunIds or filter, not both.",
            ))
        }
        ([], None) => {
            return Err(ApiError::bad_request(
                "Provide scheduledWorkflowRunIds or filter.",
            ))
        }
        (ids, None) => ids.to_vec(),
        ([], Some(f)) => {
            let filter = ScheduledFilter {
                workflow_id: f.workflow_id,
                parent_workflow_run_id: f.parent_workflow_run_id,
                parent_step_run_id: f.parent_step_run_id,
                metadata: strict_metadata(&f.additional_metadata)?,
            };
            let mut ids = Vec::new();
            for row in store
                .scheduled
                .values()
                .filter(|r| filter.matches(&store, r))
            {
                if row.method == Method::Api {
                    ids.push(row.id);
                } else {
                    errors.push(bulk_error(row.id, CODE_DEFINED_DELETE));
                }
            }
            ids
        }
    };
    let mut deleted = OrderedIds::default();
    for (n, chunk) in targets.chunks(BULK_CHUNK).enumerate() {
        if n == 1 && partial_failure {
            return Err(ApiError::Internal);
        }
        for &id in chunk {
            if store
                .scheduled
                .get(&id)
                .is_some_and(|r| r.method == Method::Api)
            {
                store.scheduled.remove(&id);
                deleted.push(id);
            } else if !deleted.contains(id) {
                errors.push(bulk_error(id, "Failed to delete scheduled workflow."));
            }
        }
    }
    if partial_failure {
        return Err(ApiError::Internal);
    }
    Ok(Json(json!({ "deletedIds": deleted.ids, "errors": errors })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkUpdateItem {
    id: Uuid,
    trigger_at: DateTime<FixedOffset>,
}

#[derive(Deserialize)]
struct BulkUpdateRequest {
    updates: Vec<BulkUpdateItem>,
}

/// `POST .../workflows/scheduled/bulk-update` (docs/hatchet-contract.md §d.8).
pub async fn bulk_update(
    State(state): State<Shared>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: BulkUpdateRequest = parse_json(&body)?;
    let partial_failure = state.faults().bulk_partial_failure();
    let mut store = state.store();
    let now = Utc::now();
    let (mut updated, mut errors) = (Vec::new(), Vec::new());
    for (n, chunk) in req.updates.chunks(BULK_CHUNK).enumerate() {
        if n == 1 && partial_failure {
            return Err(ApiError::Internal);
        }
        for item in chunk {
            match store.scheduled.get_mut(&item.id) {
                None => errors.push(bulk_error(item.id, "Scheduled workflow not found.")),
                Some(row) if row.method != Method::Api => {
                    errors.push(bulk_error(item.id, "Failed to update scheduled workflow."))
                }
                Some(row) => {
                    row.trigger_at = to_millis(item.trigger_at.with_timezone(&Utc));
                    row.updated_at = now;
                    updated.push(item.id);
                }
            }
        }
    }
    if partial_failure {
        return Err(ApiError::Internal);
    }
    Ok(Json(json!({ "updatedIds": updated, "errors": errors })))
}
