//! `GET /api/v1/tenants/{tenant}/workflows`: the workflow name to id lookup.

use axum::extract::{RawQuery, State};
use axum::Json;
use serde_json::{json, Value};

use super::{limit_offset, page_of};
use crate::errors::ApiError;
use crate::query::Query;
use crate::state::Shared;
use crate::views::meta;

/// `name` is a case-insensitive substring search ("Search by name"), so a client must pick the
/// exact match itself.
pub async fn list(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = Query::parse(raw.as_deref());
    let (limit, offset) = limit_offset(&query)?;
    let needle = query.first("name").map(str::to_lowercase);
    let store = state.store();
    let matching: Vec<_> = store
        .workflows
        .iter()
        .filter(|w| {
            needle
                .as_ref()
                .is_none_or(|n| w.name.to_lowercase().contains(n))
        })
        .collect();
    Ok(page_of(&matching, offset, limit, |w| {
        json!({
            "metadata": meta(w.id, w.created_at, w.created_at),
            "name": w.name,
            "tenantId": state.tenant,
            "isPaused": false,
            "versions": [{
                "metadata": meta(w.version_id, w.created_at, w.created_at),
                "version": "v1",
                "order": 1,
                "workflowId": w.id,
            }],
        })
    }))
}
