//! Reading runs: the list, the external-ids snapshot, one run's details and its status.

use axum::extract::{RawQuery, State};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{limit_offset, PathParams};
use crate::errors::ApiError;
use crate::query::{metadata_pairs_lenient, Query};
use crate::state::{RunFilter, RunStatus, Shared};
use crate::views;

/// The list endpoint counts at most this many matches (`COUNT ... LIMIT 20000`).
const COUNT_CAP: usize = 20_000;

/// Unknown status values are dropped; if none are left the filter means "all statuses".
fn statuses(query: &Query) -> Vec<RunStatus> {
    query
        .all("statuses")
        .into_iter()
        .filter_map(RunStatus::parse)
        .collect()
}

/// The filter both read endpoints share; `since` strictness and the metadata operator differ.
fn run_filter(query: &Query, since_strict: bool) -> Result<RunFilter, ApiError> {
    Ok(RunFilter {
        since: Some(query.required_time("since")?),
        since_strict,
        until: query.time("until")?,
        statuses: statuses(query),
        workflow_ids: query.uuids("workflow_ids")?,
        metadata: metadata_pairs_lenient(&query.all("additional_metadata")),
        metadata_all: false,
    })
}

/// `GET /api/v1/stable/tenants/{tenant}/workflow-runs`.
pub async fn list(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = Query::parse(raw.as_deref());
    let mut filter = run_filter(&query, false)?;
    filter.metadata_all = query.first("additional_metadata_operator") == Some("AND");
    let only_tasks = query.bool("only_tasks")?.ok_or_else(|| {
        ApiError::bad_param("only_tasks", "query parameter 'only_tasks' is required")
    })?;
    query.bool("include_payloads")?;
    let (limit, offset) = limit_offset(&query)?;
    let store = state.store();
    let tenant = state.tenant;
    // Rows are numbered across runs (or across tasks with only_tasks); keep [skip, end).
    let (skip, take) = (offset as usize, limit as usize);
    let end = skip.saturating_add(take);
    let mut total = 0usize;
    let mut rows = Vec::new();
    for i in store.select_runs(&filter) {
        let run = &store.runs[i];
        let units = if only_tasks {
            run.tasks.len().max(1)
        } else {
            1
        };
        for unit in 0..units {
            if (skip..end).contains(&(total + unit)) {
                let row = if only_tasks {
                    views::task_summary(&store, tenant, run, run.tasks.get(unit))
                } else {
                    views::run_summary(&store, tenant, run)
                };
                rows.push(row);
            }
        }
        total += units;
        if total >= COUNT_CAP && total >= end {
            break;
        }
    }
    drop(store);
    state.record_read(rows.len());
    // The quirks: the count stops at 20,000 and next_page is always current_page + 1.
    let count = total.min(COUNT_CAP) as u64;
    let current_page = (offset / limit).saturating_add(1);
    let pagination = json!({
        "current_page": current_page,
        "next_page": current_page.saturating_add(1),
        "num_pages": count.div_ceil(limit as u64),
    });
    Ok(Json(json!({ "rows": rows, "pagination": pagination })))
}

/// `GET /api/v1/stable/tenants/{tenant}/workflow-runs/external-ids`: unbounded, `since` strict,
/// metadata pairs always OR'ed. An empty result is JSON `null`, as the real server sends it
/// (docs/hatchet-behaviour.md).
pub async fn external_ids(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Option<Vec<Uuid>>>, ApiError> {
    let query = Query::parse(raw.as_deref());
    let filter = run_filter(&query, true)?;
    let store = state.store();
    let ids: Vec<Uuid> = store
        .select_runs(&filter)
        .map(|i| store.runs[i].id)
        .collect();
    drop(store);
    state.record_read(ids.len());
    Ok(Json((!ids.is_empty()).then_some(ids)))
}

/// `GET /api/v1/stable/workflow-runs/{v1-workflow-run}/status`: a JSON string.
pub async fn status(
    State(state): State<Shared>,
    PathParams(id): PathParams<Uuid>,
) -> Result<Json<RunStatus>, ApiError> {
    let store = state.store();
    store
        .run_by_id(id)
        .map(|r| Json(r.status))
        .ok_or(ApiError::NoRow)
}

/// `GET /api/v1/stable/workflow-runs/{v1-workflow-run}`: `V1WorkflowRunDetails`.
pub async fn details(
    State(state): State<Shared>,
    PathParams(id): PathParams<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store();
    let run = store.run_by_id(id).ok_or(ApiError::NoRow)?;
    Ok(Json(views::run_details(&store, state.tenant, run)))
}
