//! The parts of Hatchet's JSON that bulkops reads. Unknown fields are ignored, so newer servers
//! that add fields keep working.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct ResourceMeta {
    pub id: String,
    #[serde(rename = "createdAt")]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
pub struct Workflow {
    pub metadata: ResourceMeta,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowList {
    #[serde(default)]
    pub rows: Option<Vec<Workflow>>,
}

/// One row of `GET .../workflow-runs` with `only_tasks=false`: one run.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub metadata: ResourceMeta,
    pub status: String,
    #[serde(default)]
    pub additional_metadata: Option<serde_json::Value>,
    #[serde(default)]
    pub retry_count: Option<i64>,
    #[serde(default)]
    pub attempt: Option<i64>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// The tasks of a DAG run (absent for a standalone task run).
    #[serde(default)]
    pub children: Vec<TaskSummary>,
}

/// One task, as a DAG run's child in the run list or in a run's details.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    pub task_external_id: String,
    #[serde(default)]
    pub retry_count: Option<i64>,
}

/// `GET /api/v1/stable/workflow-runs/{id}` (`V1WorkflowRunDetails`), the parts bulkops reads.
#[derive(Debug, Clone, Deserialize)]
pub struct RunDetails {
    pub run: RunHeader,
    #[serde(default)]
    pub tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunHeader {
    pub metadata: ResourceMeta,
    pub status: String,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
pub struct RunList {
    pub rows: Vec<RunSummary>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

/// A list's paging fields; only `num_pages` is read (docs/hatchet-contract.md §b.1).
#[derive(Debug, Deserialize)]
pub struct Pagination {
    #[serde(default)]
    pub num_pages: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct IdsResponse {
    #[serde(default)]
    pub ids: Option<Vec<String>>,
}

/// A scheduled run (`ScheduledWorkflows`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledRun {
    pub metadata: ScheduledMeta,
    pub workflow_name: String,
    #[serde(default)]
    pub workflow_id: Option<String>,
    pub trigger_at: DateTime<Utc>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub input: Option<serde_json::Value>,
    #[serde(default)]
    pub additional_metadata: Option<serde_json::Value>,
    #[serde(default)]
    pub priority: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledMeta {
    pub id: String,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

impl ScheduledRun {
    pub fn is_code_defined(&self) -> bool {
        self.method.as_deref() == Some("DEFAULT")
    }
}

#[derive(Debug, Deserialize)]
pub struct ScheduledList {
    #[serde(default)]
    pub rows: Option<Vec<ScheduledRun>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BulkError {
    #[serde(default)]
    pub id: Option<String>,
    pub error: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkDeleteResponse {
    #[serde(default)]
    pub deleted_ids: Vec<String>,
    #[serde(default)]
    pub errors: Vec<BulkError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkUpdateResponse {
    #[serde(default)]
    pub updated_ids: Vec<String>,
    #[serde(default)]
    pub errors: Vec<BulkError>,
}

/// A cron trigger (`CronWorkflows`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cron {
    pub metadata: ScheduledMeta,
    pub workflow_name: String,
    #[serde(default)]
    pub name: Option<String>,
    pub cron: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub input: Option<serde_json::Value>,
    #[serde(default)]
    pub additional_metadata: Option<serde_json::Value>,
    #[serde(default)]
    pub priority: Option<i32>,
}

impl Cron {
    pub fn is_code_defined(&self) -> bool {
        self.method.as_deref() == Some("DEFAULT")
    }
}

#[derive(Debug, Deserialize)]
pub struct CronList {
    #[serde(default)]
    pub rows: Option<Vec<Cron>>,
}
