//! The JSON shapes of the REST responses (camelCase, as in openapi.yaml).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::state::{Cron, Run, Scheduled, Store, Task};

/// RFC 3339 in UTC with a `Z`, with as many fractional digits as needed (like Go's RFC3339Nano).
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn meta(id: Uuid, created: DateTime<Utc>, updated: DateTime<Utc>) -> Value {
    json!({ "id": id, "createdAt": ts(created), "updatedAt": ts(updated) })
}

/// `PaginationResponse` as the scheduled, cron and workflow lists compute it:
/// `next_page` stops growing only when `current_page == num_pages`.
/// `limit` must be at least 1 and `offset` not negative (see `routes::limit_offset`).
pub fn page_info(count: usize, offset: i64, limit: i64) -> Value {
    let (offset, limit) = (offset.unsigned_abs(), limit.unsigned_abs().max(1));
    let num_pages = (count as u64).div_ceil(limit);
    let current_page = offset.div_ceil(limit).saturating_add(1);
    let next_page = if current_page == num_pages {
        current_page
    } else {
        current_page.saturating_add(1)
    };
    json!({ "current_page": current_page, "next_page": next_page, "num_pages": num_pages })
}

fn display_name(name: &str, id: Uuid) -> String {
    let short = id.simple().to_string();
    format!("{name}-{}", &short[..6])
}

/// What Hatchet shows as a run's `createdAt` where it is really the start of its latest attempt
/// (a DAG row of the list, the details' `run`): only `metadata.createdAt` is the creation time
/// (docs/hatchet-behaviour.md D13).
fn latest_start(run: &Run) -> String {
    ts(run.started_at.unwrap_or(run.created_at))
}

/// The `createdAt` of every task in the details endpoint (D13).
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A `V1TaskSummary` for a whole run (the list endpoint with `only_tasks=false`).
pub fn run_summary(store: &Store, tenant: Uuid, run: &Run) -> Value {
    let wf = &store.workflows[run.workflow];
    let mut row = json!({
        "metadata": meta(run.id, run.created_at, run.updated_at),
        "createdAt": if run.is_dag() { latest_start(run) } else { ts(run.created_at) },
        "displayName": display_name(&wf.name, run.id),
        "input": {},
        "output": {},
        "numSpawnedChildren": 0,
        "status": run.status,
        "taskExternalId": run.id,
        "taskId": run.task_id,
        "taskInsertedAt": ts(run.created_at),
        "tenantId": tenant,
        "type": if run.is_dag() { "DAG" } else { "TASK" },
        "workflowId": wf.id,
        "workflowName": wf.name,
        "workflowVersionId": wf.version_id,
        "workflowRunExternalId": run.id,
        "additionalMetadata": run.metadata,
        "retryCount": run.retry_count,
        "attempt": run.retry_count.saturating_add(1),
    });
    if run.is_dag() {
        row["children"] = run
            .tasks
            .iter()
            .map(|t| task_summary(store, tenant, run, Some(t)))
            .collect();
    }
    row
}

/// A `V1TaskSummary` for one task: a DAG task, or the task of a standalone run (`task=None`).
pub fn task_summary(store: &Store, tenant: Uuid, run: &Run, task: Option<&Task>) -> Value {
    let wf = &store.workflows[run.workflow];
    let (id, task_id, step) = match task {
        Some(t) => (t.external_id, t.task_id, t.step),
        None => (run.id, run.task_id, 0),
    };
    json!({
        "metadata": meta(id, run.created_at, run.updated_at),
        "createdAt": ts(run.created_at),
        "displayName": display_name(&format!("{}-step{step}", wf.name), id),
        "input": {},
        "output": {},
        "numSpawnedChildren": 0,
        "status": run.status,
        "taskExternalId": id,
        "taskId": task_id,
        "taskInsertedAt": ts(run.created_at),
        "tenantId": tenant,
        "type": "TASK",
        "stepId": wf.steps[step],
        "workflowId": wf.id,
        "workflowName": wf.name,
        "workflowVersionId": wf.version_id,
        "workflowRunExternalId": run.id,
        "additionalMetadata": run.metadata,
        "retryCount": run.retry_count,
        "attempt": run.retry_count.saturating_add(1),
    })
}

/// The rows `only_tasks=true` lists for a run: its DAG tasks, or the run as one task.
pub fn task_rows(store: &Store, tenant: Uuid, run: &Run) -> Vec<Value> {
    if run.is_dag() {
        run.tasks
            .iter()
            .map(|t| task_summary(store, tenant, run, Some(t)))
            .collect()
    } else {
        vec![task_summary(store, tenant, run, None)]
    }
}

/// `V1WorkflowRunDetails`.
pub fn run_details(store: &Store, tenant: Uuid, run: &Run) -> Value {
    let wf = &store.workflows[run.workflow];
    let shape: Vec<Value> = if run.is_dag() {
        run.tasks
            .iter()
            .map(|t| {
                json!({
                    "taskExternalId": t.external_id,
                    "stepId": wf.steps[t.step],
                    "childrenStepIds": wf.steps.get(t.step + 1).map(|s| vec![*s]).unwrap_or_default(),
                    "taskName": format!("step{}", t.step),
                })
            })
            .collect()
    } else {
        vec![json!({
            "taskExternalId": run.id,
            "stepId": wf.steps[0],
            "childrenStepIds": [],
            "taskName": wf.name,
        })]
    };
    json!({
        "run": {
            "metadata": meta(run.id, run.created_at, run.updated_at),
            "status": run.status,
            "tenantId": tenant,
            "displayName": display_name(&wf.name, run.id),
            "workflowId": wf.id,
            "workflowVersionId": wf.version_id,
            "additionalMetadata": run.metadata,
            "createdAt": latest_start(run),
            "input": {},
            "output": {},
        },
        "taskEvents": [],
        "shape": shape,
        "tasks": task_rows(store, tenant, run)
            .into_iter()
            .map(|mut task| {
                task["createdAt"] = json!(ZERO_TIME);
                task
            })
            .collect::<Vec<_>>(),
    })
}

/// `ScheduledWorkflows`.
pub fn scheduled_row(store: &Store, tenant: Uuid, s: &Scheduled) -> Value {
    let wf = &store.workflows[s.workflow];
    json!({
        "metadata": meta(s.id, s.created_at, s.updated_at),
        "tenantId": tenant,
        "workflowVersionId": wf.version_id,
        "workflowId": wf.id,
        "workflowName": wf.name,
        "triggerAt": ts(s.trigger_at),
        "input": s.input,
        "additionalMetadata": s.metadata,
        "workflowRunCreatedAt": "0001-01-01T00:00:00Z",
        "workflowRunName": "",
        "method": s.method,
        "priority": s.priority,
    })
}

/// `CronWorkflows`.
pub fn cron_row(store: &Store, tenant: Uuid, c: &Cron) -> Value {
    let wf = &store.workflows[c.workflow];
    json!({
        "metadata": meta(c.id, c.created_at, c.updated_at),
        "tenantId": tenant,
        "workflowVersionId": wf.version_id,
        "workflowId": wf.id,
        "workflowName": wf.name,
        "cron": c.expression,
        "name": c.name,
        "input": c.input,
        "additionalMetadata": c.metadata,
        "enabled": c.enabled,
        "method": c.method,
        "priority": c.priority,
    })
}
