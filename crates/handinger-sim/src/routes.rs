//! The HTTP surface: the worker-schedules routes under `/api`, the control API under `/_sim`.
//!
//! Layers, outermost first: request counting (all `/api` routes), fault injection, bearer auth,
//! then the handler.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::{self, FaultConfig};
use crate::state::{Budget, Cancelled, Shared, When};

/// Upper bound on schedules per seeding call, to keep a typo from eating the machine.
const MAX_SEED: usize = 2_000_000;

/// An error answer: `{"error": text}` with `status`.
pub fn error_body(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "error": text }))).into_response()
}

/// What a handler can fail with; each variant knows its status.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Worker not found")]
    WorkerNotFound,
    #[error("Schedule not found")]
    ScheduleNotFound,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::WorkerNotFound | ApiError::ScheduleNotFound => StatusCode::NOT_FOUND,
        };
        error_body(status, &self.to_string())
    }
}

pub fn router(state: Shared) -> Router {
    let api = Router::new()
        .route("/api/workers/{worker_id}/schedules", get(list).post(create))
        .route(
            "/api/workers/{worker_id}/schedules/{schedule_id}",
            delete(cancel),
        )
        .route_layer(from_fn_with_state(state.clone(), require_key))
        .layer(from_fn_with_state(state.clone(), faults::inject));
    let control = Router::new()
        .route("/_sim/seed", post(seed))
        .route("/_sim/stats", get(stats))
        .route("/_sim/dump", get(dump))
        .route("/_sim/faults", get(get_faults).post(set_faults));
    Router::new()
        .merge(api)
        .merge(control)
        .fallback(|| async { error_body(StatusCode::NOT_FOUND, "Not found") })
        .method_not_allowed_fallback(|| async {
            error_body(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
        })
        .layer(from_fn_with_state(state.clone(), sim_kit::count_request))
        .with_state(state)
}

/// `Authorization: Bearer <api key>`, else 401.
async fn require_key(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given != Some(state.api_key.as_str()) {
        return error_body(StatusCode::UNAUTHORIZED, "Invalid API key");
    }
    next.run(req).await
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))
}

/// `GET /api/workers/{workerId}/schedules`: the whole list, in creation order.
async fn list(
    State(state): State<Shared>,
    Path(worker): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store();
    let w = store.workers.get(&worker).ok_or(ApiError::WorkerNotFound)?;
    let rows: Vec<Value> = w.schedules.iter().map(|s| s.view()).collect();
    Ok(Json(json!({ "schedules": rows, "workerId": worker })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    input: String,
    when: When,
    #[serde(default)]
    budget: Budget,
}

/// `POST /api/workers/{workerId}/schedules`.
async fn create(
    State(state): State<Shared>,
    Path(worker): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: CreateBody = parse_json(&body)?;
    body.when.validate().map_err(ApiError::BadRequest)?;
    let schedule = state
        .store()
        .create(&worker, body.input, body.budget, body.when)
        .ok_or(ApiError::WorkerNotFound)?;
    Ok(Json(schedule.view()))
}

/// `DELETE /api/workers/{workerId}/schedules/{scheduleId}`: `{"cancelled": true}` once,
/// `{"cancelled": false}` for a schedule already cancelled, 404 for one never known.
async fn cancel(
    State(state): State<Shared>,
    Path((worker, schedule)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    match state.store().cancel(&worker, &schedule) {
        Cancelled::Now => Ok(Json(json!({ "cancelled": true }))),
        Cancelled::Already => Ok(Json(json!({ "cancelled": false }))),
        Cancelled::Unknown => Err(ApiError::ScheduleNotFound),
    }
}

/// One seed body: `workers` (a count, named `worker-0001`…) or `worker_ids`, and
/// `per_worker` schedules on each.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRequest {
    workers: Option<usize>,
    worker_ids: Option<Vec<String>>,
    #[serde(default)]
    per_worker: usize,
    /// Types to cycle through; all four when absent.
    types: Option<Vec<String>>,
    #[serde(default)]
    budget: Budget,
    input_prefix: Option<String>,
    /// `scheduled` dates are spread over `[date_from, date_to]` (default: 1 to 2 hours ahead).
    date_from: Option<DateTime<FixedOffset>>,
    date_to: Option<DateTime<FixedOffset>>,
    cron: Option<String>,
    delay_in_seconds: Option<i64>,
    interval_seconds: Option<i64>,
}

impl SeedRequest {
    fn worker_ids(&self) -> Result<Vec<String>, String> {
        match (&self.workers, &self.worker_ids) {
            (Some(n), None) => Ok((1..=*n).map(|i| format!("worker-{i:04}")).collect()),
            (None, Some(ids)) => Ok(ids.clone()),
            _ => Err("give exactly one of \"workers\" (a count) or \"worker_ids\"".into()),
        }
    }

    /// The timing of the `n`-th schedule of `count`, of `type_name`.
    fn when(&self, type_name: &str, n: usize, count: usize) -> Result<When, String> {
        let now = Utc::now();
        let from = self
            .date_from
            .map_or(now + TimeDelta::hours(1), |t| t.with_timezone(&Utc));
        let to = self
            .date_to
            .map_or(now + TimeDelta::hours(2), |t| t.with_timezone(&Utc));
        let span = (to - from).num_milliseconds().max(0);
        let step = span / i64::try_from(count.max(1)).unwrap_or(i64::MAX);
        let at = from + TimeDelta::milliseconds(step * i64::try_from(n).unwrap_or(0));
        let when = match type_name {
            "scheduled" => When::Scheduled { date: at.into() },
            "delayed" => When::Delayed {
                delay_in_seconds: self.delay_in_seconds.unwrap_or(3600),
            },
            "cron" => When::Cron {
                cron: self.cron.clone().unwrap_or_else(|| "0 3 * * *".into()),
            },
            "interval" => When::Interval {
                interval_seconds: self.interval_seconds.unwrap_or(3600),
            },
            other => return Err(format!("unknown schedule type {other:?}")),
        };
        when.validate().map(|()| when)
    }
}

/// `POST /_sim/seed` → `{"seeded": N, "workers": [ids]}`. Seeded schedules are not creates.
async fn seed(State(state): State<Shared>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let req: SeedRequest = parse_json(&body)?;
    let workers = req.worker_ids().map_err(ApiError::BadRequest)?;
    let total = workers.len().saturating_mul(req.per_worker);
    if total > MAX_SEED {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_SEED} schedules per call"
        )));
    }
    let types: Vec<String> = req
        .types
        .clone()
        .unwrap_or_else(|| When::TYPES.iter().map(|t| t.to_string()).collect());
    if types.is_empty() {
        return Err(ApiError::BadRequest("\"types\" must not be empty".into()));
    }
    let prefix = req.input_prefix.as_deref().unwrap_or("task");
    let mut store = state.store();
    for worker in &workers {
        store.workers.entry(worker.clone()).or_default();
        for n in 0..req.per_worker {
            let when = req
                .when(&types[n % types.len()], n, req.per_worker)
                .map_err(ApiError::BadRequest)?;
            store.seed(worker, prefix, req.budget, when);
        }
    }
    Ok(Json(json!({ "seeded": total, "workers": workers })))
}

/// `GET /_sim/stats`: schedule counts, creates per logical schedule, cancels, requests.
async fn stats(State(state): State<Shared>) -> Json<Value> {
    let mut stats = state.store().stats();
    let requests = state.requests();
    stats["requests"] = json!(requests.by_route);
    stats["mutating_requests"] = json!(requests.mutating);
    Json(stats)
}

/// `GET /_sim/dump`: every worker's live and cancelled schedules, and the create counters.
async fn dump(State(state): State<Shared>) -> Json<Value> {
    Json(state.store().dump())
}

async fn get_faults(State(state): State<Shared>) -> Json<FaultConfig> {
    Json(state.faults())
}

/// `POST /_sim/faults`: replaces the fault configuration (omitted fields are off).
async fn set_faults(
    State(state): State<Shared>,
    body: Bytes,
) -> Result<Json<FaultConfig>, ApiError> {
    let config: FaultConfig = parse_json(&body)?;
    config.validate().map_err(ApiError::BadRequest)?;
    state.set_faults(config.clone());
    Ok(Json(config))
}
