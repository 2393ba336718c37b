//! Cancel and replay (`POST .../tasks/cancel`, `POST .../tasks/replay`), both asynchronous.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::parse_json;
use crate::errors::ApiError;
use crate::state::{OrderedIds, ReplayFaults, RunFilter, RunStatus, Shared, Store};

/// Filter mode acts on at most this many runs per cancel request, newest first.
const CANCEL_FILTER_CAP: usize = 20_000;
/// ... and per replay request.
const REPLAY_FILTER_CAP: usize = 1_000;

/// `V1CancelTaskRequest` / `V1ReplayTaskRequest`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskActionRequest {
    #[serde(default)]
    external_ids: Vec<Uuid>,
    filter: Option<TaskFilter>,
}

/// `V1TaskFilter`. Statuses stay strings: an invalid one is a SQL error (500), not a 400.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskFilter {
    since: Option<DateTime<FixedOffset>>,
    until: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    statuses: Vec<String>,
    #[serde(default)]
    workflow_ids: Vec<Uuid>,
    #[serde(default)]
    additional_metadata: Vec<String>,
}

impl TaskFilter {
    /// The run filter the engine builds; every error here is a gRPC InvalidArgument or a SQL
    /// error, which the REST layer turns into a 500. A missing `since` is Go's zero time.
    fn to_run_filter(&self) -> Result<RunFilter, ApiError> {
        let statuses = self
            .statuses
            .iter()
            .map(|s| RunStatus::parse(s).ok_or(ApiError::Internal))
            .collect::<Result<_, _>>()?;
        let metadata = self
            .additional_metadata
            .iter()
            .map(|e| {
                e.split_once(':')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect::<Option<_>>()
            .ok_or(ApiError::Internal)?;
        Ok(RunFilter {
            since: self.since.map(|t| t.with_timezone(&Utc)),
            since_strict: false,
            until: self.until.map(|t| t.with_timezone(&Utc)),
            statuses,
            workflow_ids: self.workflow_ids.clone(),
            metadata,
            metadata_all: false,
        })
    }
}

/// What a request selected: the runs (each once) and, per external id, the run it names.
struct Selection {
    runs: Vec<usize>,
    /// `(external id as given or matched, run)`; `None` for an unknown id.
    named: Vec<(Uuid, Option<usize>)>,
}

fn select(store: &Store, body: &[u8], cap: usize) -> Result<Selection, ApiError> {
    let req: TaskActionRequest = parse_json(body)?;
    let named: Vec<(Uuid, Option<usize>)> = match (&req.external_ids[..], &req.filter) {
        ([_, ..], Some(_)) => return Err(ApiError::Internal),
        ([], None) => Vec::new(),
        (ids, None) => ids.iter().map(|&id| (id, store.resolve(id))).collect(),
        ([], Some(filter)) => {
            let filter = filter.to_run_filter()?;
            store
                .select_runs(&filter)
                .take(cap)
                .map(|i| (store.runs[i].id, Some(i)))
                .collect()
        }
    };
    let mut seen = std::collections::HashSet::new();
    let runs = named
        .iter()
        .filter_map(|&(_, run)| run)
        .filter(|&i| seen.insert(i))
        .collect();
    Ok(Selection { runs, named })
}

/// Runs `apply` on the store once `delay` has passed.
fn after(state: &Shared, delay: Duration, apply: impl FnOnce(&mut Store) + Send + 'static) {
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        apply(&mut state.store());
    });
}

/// Returns 200 at once; QUEUED/RUNNING runs flip to CANCELLED after `--cancel-delay-ms`, or,
/// with `cancel_apply_rate`, in the order accepted at that many runs a second. The response
/// echoes the request's ids, unknown ones included.
pub async fn cancel(State(state): State<Shared>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let (ids, flipping) = {
        let mut store = state.store();
        let selection = select(&store, &body, CANCEL_FILTER_CAP)?;
        let flipping = store.accept_cancel(&selection.runs);
        let ids: Vec<Uuid> = selection.named.iter().map(|&(id, _)| id).collect();
        (ids, flipping)
    };
    if state.faults().cancel_apply_rate > 0 {
        queue_cancels(&state, flipping);
    } else if !flipping.is_empty() {
        after(&state, state.cancel_delay, move |store| {
            store.finish_cancel(&flipping)
        });
    }
    Ok(Json(json!({ "ids": ids })))
}

/// How often the cancel backlog is worked off.
const APPLY_TICK: Duration = Duration::from_millis(10);

/// Puts accepted cancels in the backlog, and starts working it off if nothing does.
fn queue_cancels(state: &Shared, runs: Vec<usize>) {
    if runs.is_empty() {
        return;
    }
    let now = tokio::time::Instant::now();
    let start = {
        let mut queue = state.cancels();
        queue.waiting.extend(runs.into_iter().map(|run| (run, now)));
        queue.backlog_max = queue.backlog_max.max(queue.waiting.len());
        !std::mem::replace(&mut queue.draining, true)
    };
    if start {
        tokio::spawn(apply_cancels(state.clone()));
    }
}

/// Applies the backlog in order, `cancel_apply_rate` runs a second (all at once if it was set
/// to 0 meanwhile), each no sooner than `--cancel-delay-ms` after its acceptance; ends once it
/// is empty.
async fn apply_cancels(state: Shared) {
    let mut last = tokio::time::Instant::now();
    let mut credit = 0.0;
    loop {
        tokio::time::sleep(APPLY_TICK).await;
        let now = tokio::time::Instant::now();
        let rate = state.faults().cancel_apply_rate;
        credit += rate as f64 * (now - last).as_secs_f64();
        last = now;
        let (applying, empty) = {
            let mut queue = state.cancels();
            let due = queue
                .waiting
                .iter()
                .take_while(|(_, accepted)| now >= *accepted + state.cancel_delay)
                .count();
            let n = if rate == 0 {
                due
            } else {
                due.min(credit as usize)
            };
            credit -= n as f64;
            // The oldest waited longest.
            if let Some(&(_, oldest)) = queue.waiting.front().filter(|_| n > 0) {
                queue.lag_max = queue.lag_max.max(now - oldest);
            }
            let applying: Vec<usize> = queue.waiting.drain(..n).map(|(run, _)| run).collect();
            let empty = queue.waiting.is_empty();
            if empty {
                queue.draining = false;
            }
            (applying, empty)
        };
        state.store().finish_cancel(&applying);
        if empty {
            return;
        }
    }
}

/// Replays the selected runs (see `Store::accept_replay`: QUEUED ones are wedged, RUNNING ones
/// skipped, and with `replay_drop_rate` some are dropped); skipped and dropped runs are still
/// reported. The response lists TASK external ids; unknown ids are left out. A replayed run
/// turns QUEUED after `--replay-delay-ms` and COMPLETED after as long again. With
/// `replay_apply_ms` the replay is applied that long after the answer, under the replay lock,
/// and a request that meets the lock held is lost whole.
pub async fn replay(State(state): State<Shared>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let faults = state.faults();
    let apply = Duration::from_millis(faults.replay_apply_ms);
    let replay_faults = ReplayFaults {
        drop_rate: faults.replay_drop_rate,
        batch_tasks: faults.replay_batch_tasks,
    };
    let mut store = state.store();
    let selection = select(&store, &body, REPLAY_FILTER_CAP)?;
    let mut ids = OrderedIds::default();
    for &(id, run) in &selection.named {
        let Some(run) = run else { continue };
        let run = &store.runs[run];
        if run.id == id {
            for task in run.task_external_ids() {
                ids.push(task);
            }
        } else {
            ids.push(id);
        }
    }
    store.replay_request_tasks.push(ids.ids.len());
    if apply.is_zero() {
        let accepted = store.accept_replay(&selection.runs, replay_faults);
        drop(store);
        advance_replays(&state, accepted);
        return Ok(Json(json!({ "ids": ids.ids })));
    }
    let now = tokio::time::Instant::now();
    if store.replay_lock_until.is_some_and(|until| now < until) {
        store.lose_replay(&selection.runs);
        return Ok(Json(json!({ "ids": ids.ids })));
    }
    store.replay_lock_until = Some(now + apply);
    drop(store);
    let (state, runs) = (state.clone(), selection.runs);
    tokio::spawn(async move {
        tokio::time::sleep(apply).await;
        let accepted = state.store().accept_replay(&runs, replay_faults);
        advance_replays(&state, accepted);
    });
    Ok(Json(json!({ "ids": ids.ids })))
}

/// Moves accepted replays on: QUEUED after the replay delay, COMPLETED after as long again.
fn advance_replays(state: &Shared, accepted: Vec<(usize, u64)>) {
    if accepted.is_empty() {
        return;
    }
    let delay = state.replay_delay;
    let queued = accepted.clone();
    after(state, delay, move |store| {
        store.advance_replay(&queued, RunStatus::Queued, false)
    });
    after(state, delay * 2, move |store| {
        store.advance_replay(&accepted, RunStatus::Completed, true)
    });
}

/// The deprecated v0 bulk endpoints always answer 400.
pub async fn deprecated_cancel() -> ApiError {
    ApiError::bad_request("This endpoint is deprecated. Use the v1 task cancel endpoint instead.")
}

pub async fn deprecated_replay() -> ApiError {
    ApiError::bad_request("This endpoint is deprecated. Use the v1 task replay endpoint instead.")
}
