//! The control API under `/_sim` (no auth, no faults): seeding, stats, dumps, fault config.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse_json;
use crate::errors::ApiError;
use crate::faults::FaultConfig;
use crate::state::{Metadata, RunSeed, RunStatus, Shared, TriggerSeed};
use crate::views::{cron_row, scheduled_row, ts};

/// Upper bound on rows per seeding call, to keep a typo from eating the machine.
const MAX_SEED: usize = 5_000_000;

/// One seed body; exactly one of `runs`, `scheduled` or `crons` says what to make.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRequest {
    runs: Option<usize>,
    scheduled: Option<usize>,
    crons: Option<usize>,
    workflow: Option<String>,
    #[serde(default)]
    metadata: Metadata,
    // runs
    status: Option<RunStatus>,
    created_from: Option<DateTime<FixedOffset>>,
    created_to: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    dag_tasks: usize,
    // scheduled and crons
    trigger_from: Option<DateTime<FixedOffset>>,
    trigger_to: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    code_defined_every: usize,
    input: Option<Value>,
    expression: Option<String>,
}

fn utc(t: Option<DateTime<FixedOffset>>, default: DateTime<Utc>) -> DateTime<Utc> {
    t.map_or(default, |t| t.with_timezone(&Utc))
}

/// `POST /_sim/seed` → `{"seeded": N, "workflow_id": uuid}`.
pub async fn seed(State(state): State<Shared>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let req: SeedRequest = parse_json(&body)?;
    let (count, kind) = match (req.runs, req.scheduled, req.crons) {
        (Some(n), None, None) => (n, "runs"),
        (None, Some(n), None) => (n, "scheduled"),
        (None, None, Some(n)) => (n, "crons"),
        _ => {
            return Err(ApiError::BadBody(
                "give exactly one of \"runs\", \"scheduled\" or \"crons\"".into(),
            ))
        }
    };
    if count > MAX_SEED {
        return Err(ApiError::BadBody(format!(
            "at most {MAX_SEED} rows per call"
        )));
    }
    let now = Utc::now();
    let mut store = state.store();
    let workflow = store.workflow_or_create(req.workflow.as_deref().unwrap_or("sim-workflow"));
    match kind {
        "runs" => {
            let seed = RunSeed {
                count,
                status: req.status.unwrap_or(RunStatus::Completed),
                metadata: req.metadata,
                from: utc(req.created_from, now - TimeDelta::hours(1)),
                to: utc(req.created_to, now),
                dag_tasks: req.dag_tasks,
            };
            if seed.from > seed.to {
                return Err(ApiError::BadBody("created_from is after created_to".into()));
            }
            store.seed_runs(workflow, seed);
        }
        _ => {
            let seed = TriggerSeed {
                count,
                metadata: req.metadata,
                input: req.input.unwrap_or_else(|| json!({})),
                code_defined_every: req.code_defined_every,
                from: utc(req.trigger_from, now + TimeDelta::hours(1)),
                to: utc(req.trigger_to, now + TimeDelta::hours(2)),
                expression: req.expression.unwrap_or_else(|| "0 3 * * *".into()),
            };
            if seed.from > seed.to {
                return Err(ApiError::BadBody("trigger_from is after trigger_to".into()));
            }
            if kind == "scheduled" {
                store.seed_scheduled(workflow, &seed);
            } else {
                store.seed_crons(workflow, &seed);
            }
        }
    }
    Ok(Json(
        json!({ "seeded": count, "workflow_id": store.workflows[workflow].id }),
    ))
}

fn status_counts() -> BTreeMap<&'static str, u64> {
    RunStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect()
}

/// `GET /_sim/stats`.
pub async fn stats(State(state): State<Shared>) -> Json<Value> {
    let store = state.store();
    let mut by_status = status_counts();
    let mut by_workflow: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    let (mut max_cancels, mut max_replays, mut replayed, mut wedged) = (0, 0, 0, 0);
    for run in &store.runs {
        *by_status.entry(run.status.as_str()).or_default() += 1;
        let wf = by_workflow
            .entry(store.workflows[run.workflow].name.as_str())
            .or_insert_with(status_counts);
        *wf.entry(run.status.as_str()).or_default() += 1;
        max_cancels = max_cancels.max(run.cancels);
        max_replays = max_replays.max(run.replays);
        replayed += u64::from(run.replays > 0);
        wedged += u64::from(run.wedged);
    }
    let requests = state.requests();
    let cancels = state.cancels();
    Json(json!({
        "cancel_backlog": cancels.waiting.len(),
        "cancel_backlog_max": cancels.backlog_max,
        "cancel_apply_lag_max_ms": cancels.lag_max.as_millis() as u64,
        "runs_by_status": by_status,
        "runs_by_workflow": by_workflow,
        "mutating_requests": requests.mutating,
        "requests": requests.by_route,
        "max_cancels_per_run": max_cancels,
        "max_replays_per_run": max_replays,
        "replayed_runs": replayed,
        "wedged_runs": wedged,
        "dropped_replays": store.dropped_replays,
        "replay_request_tasks": store.replay_request_tasks,
        "max_in_flight": requests.max_in_flight,
        "requests_above_knee": requests.above_knee,
        "max_runs_per_read": requests.max_runs_per_read,
        "requests_per_second": requests.per_second,
        "scheduled": store.scheduled.len(),
        "crons": store.crons.len(),
    }))
}

/// `GET /_sim/requests`: the request counters alone. Unlike `/_sim/stats` it does not walk the
/// runs, so a benchmark can poll it while a job of a million runs goes on.
pub async fn requests(State(state): State<Shared>) -> Json<Value> {
    Json(json!({ "mutating_requests": state.requests().mutating }))
}

/// `GET /_sim/arrivals`: when each `/api` request arrived (ms since the Unix epoch), in order.
/// A route of its own, since the list grows with every request.
pub async fn arrivals(State(state): State<Shared>) -> Json<Value> {
    Json(json!({ "arrivals_ms": state.requests().arrivals_ms }))
}

/// `GET /_sim/dump`: every run (compact), scheduled run and cron (full API rows).
pub async fn dump(State(state): State<Shared>) -> Json<Value> {
    let store = state.store();
    let runs: Vec<Value> = store
        .runs
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "workflow": store.workflows[r.workflow].name,
                "status": r.status,
                "metadata": r.metadata,
                "created_at": ts(r.created_at),
                "cancels": r.cancels,
                "replays": r.replays,
                "retry_count": r.retry_count,
                "wedged": r.wedged,
                "task_ids": r.tasks.iter().map(|t| t.external_id).collect::<Vec<_>>(),
            })
        })
        .collect();
    let scheduled: Vec<Value> = store
        .scheduled
        .values()
        .map(|s| scheduled_row(&store, state.tenant, s))
        .collect();
    let crons: Vec<Value> = store
        .crons
        .values()
        .map(|c| cron_row(&store, state.tenant, c))
        .collect();
    Json(json!({ "runs": runs, "scheduled": scheduled, "crons": crons }))
}

/// `GET /_sim/faults`: the current fault configuration.
pub async fn get_faults(State(state): State<Shared>) -> Json<FaultConfig> {
    Json(state.faults())
}

/// `POST /_sim/faults`: replaces the fault configuration (omitted fields are 0 = off).
pub async fn set_faults(
    State(state): State<Shared>,
    body: Bytes,
) -> Result<Json<FaultConfig>, ApiError> {
    let config: FaultConfig = parse_json(&body)?;
    config.validate().map_err(ApiError::BadBody)?;
    state.set_faults(config.clone());
    Ok(Json(config))
}
