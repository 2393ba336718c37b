use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::job::{JobSpec, Window};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Paused,
    Finished,
    Aborted,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Finished => "finished",
            JobState::Aborted => "aborted",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, JobState::Running | JobState::Paused)
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            JobState::Running,
            JobState::Paused,
            JobState::Finished,
            JobState::Aborted,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| format!("unknown job state {s}"))
    }
}

/// Where an item stands. `Pending` and `Sent` are on the way; the other four are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemState {
    Pending,
    /// The request was accepted; the server's own state is not yet confirmed.
    Sent,
    Done,
    Failed,
    Skipped,
    Unconfirmed,
}

impl ItemState {
    pub const ALL: [ItemState; 6] = [
        ItemState::Pending,
        ItemState::Sent,
        ItemState::Done,
        ItemState::Failed,
        ItemState::Skipped,
        ItemState::Unconfirmed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::Sent => "sent",
            ItemState::Done => "done",
            ItemState::Failed => "failed",
            ItemState::Skipped => "skipped",
            ItemState::Unconfirmed => "unconfirmed",
        }
    }
}

impl fmt::Display for ItemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ItemState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ItemState::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown item state {s}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkState {
    Pending,
    /// Marked before a non-idempotent request goes out; found on resume, it means "in doubt".
    Sending,
    Done,
}

impl ChunkState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkState::Pending => "pending",
            ChunkState::Sending => "sending",
            ChunkState::Done => "done",
        }
    }
}

#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: String,
    pub identity: String,
    pub name: Option<String>,
    pub spec: JobSpec,
    pub window: Window,
    pub state: JobState,
    /// Opaque enumeration cursor of the operation; `None` once enumeration is complete.
    pub cursor: Option<String>,
    pub enumerated: bool,
    pub chunk_size: usize,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub started_by: String,
    pub reason: Option<String>,
    /// Requests per second set by `jobs retune`; it overrides the configured rate.
    pub rate: Option<f64>,
    /// Rounds of items sent again after verification so far (see `Operation::resend_unconfirmed`).
    pub resend_rounds: u32,
    /// Chunks in flight at most, as the job was created with: its resumes keep it unless told
    /// another. `None` for a job stored before it was kept.
    pub concurrency: Option<usize>,
}

/// What another process may change about a running job: its state (`jobs pause|abort`), its
/// rate and its concurrency (`jobs retune`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobControl {
    pub state: JobState,
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
}

/// How `Store::begin_job` took a job: the id of the job it created or of the unfinished one it
/// resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    Created(String),
    Resumed(String),
}

impl Begun {
    pub fn job_id(&self) -> &str {
        match self {
            Begun::Created(id) | Begun::Resumed(id) => id,
        }
    }
}

/// How replicas share a running job on a shared store (see `Store::share`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharing {
    /// Replicas whose process runs or whose heartbeat is recent, the caller included.
    pub live: usize,
    /// The caller holds the job's lease, and so is the one replica that enumerates.
    pub enumerator: bool,
    /// Where enumeration stands, as the enumerator last committed it.
    pub cursor: Option<String>,
    pub enumerated: bool,
}

/// What a process learns as it arrives at a job on a shared store (see `Store::arrive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrived {
    /// Other live processes on the job: its replicas, and others arriving.
    pub others: usize,
    /// The caller was counted already, by a registration still live: the others have slowed
    /// down for it since then.
    pub counted: bool,
}

impl Arrived {
    /// Where jobs are not shared: nobody else can be on the job.
    pub const ALONE: Arrived = Arrived {
        others: 0,
        counted: true,
    };
}

/// What a replica that has nothing more to send learns when it asks to complete the job (see
/// `Store::complete_job`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// Nothing was pending or sent: the caller marked the job finished, and reports it.
    Completed,
    /// Another replica completed the job (`finished`), or holds it and completes it: the
    /// caller's part is done.
    Elsewhere { by: String, finished: bool },
    /// Items are still open and the caller judges some of them, or no other live replica
    /// holds the job (the caller holds it now): it goes on.
    Open,
}

pub struct NewJob {
    pub identity: String,
    pub name: Option<String>,
    pub spec: JobSpec,
    pub window: Window,
    pub cursor: String,
    pub chunk_size: usize,
    /// The job's concurrency (see `JobRecord::concurrency`).
    pub concurrency: usize,
    pub started_by: String,
    pub reason: Option<String>,
}

/// An item as enumerated: its server id and what the operation needs to act on it later
/// (a target time, an archived definition, a baseline attempt count).
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    pub id: String,
    pub payload: Option<serde_json::Value>,
    /// Final state at enumeration, for items that are known up front not to need a request
    /// (e.g. code-defined rows): `(Skipped, reason)`.
    pub settled: Option<(ItemState, String)>,
}

impl NewItem {
    pub fn new(id: impl Into<String>) -> Self {
        NewItem {
            id: id.into(),
            payload: None,
            settled: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Item {
    pub seq: i64,
    pub id: String,
    pub page: i64,
    pub payload: Option<serde_json::Value>,
    /// Requests sent for it so far: above 0 for an item sent again after verification.
    pub attempts: u32,
}

/// One enumerated page, committed together with the cursor advance.
pub struct PageCommit {
    pub items: Vec<NewItem>,
    /// The cursor to continue from; `None` when this was the last page.
    pub next_cursor: Option<String>,
    /// What the page covered (for verification by page), e.g. a time slice.
    pub page_scope: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemOutcome {
    pub id: String,
    pub state: ItemState,
    pub reason: Option<String>,
    pub http_status: Option<u16>,
    pub attempts: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: u64,
    pub pending: u64,
    pub sent: u64,
    pub done: u64,
    pub failed: u64,
    pub skipped: u64,
    pub unconfirmed: u64,
}

impl Counts {
    /// Moves `n` items from `from` (or from nowhere, for new items) to `to`.
    pub fn shift(&mut self, from: Option<ItemState>, to: ItemState, n: u64) {
        if let Some(from) = from {
            let slot = self.slot(from);
            *slot = slot.saturating_sub(n);
            self.total = self.total.saturating_sub(n);
        }
        self.add(to, n);
    }

    pub fn merge(&mut self, other: &Counts) {
        for state in ItemState::ALL {
            let n = *other.clone().slot(state);
            self.add(state, n);
        }
    }

    fn slot(&mut self, state: ItemState) -> &mut u64 {
        match state {
            ItemState::Pending => &mut self.pending,
            ItemState::Sent => &mut self.sent,
            ItemState::Done => &mut self.done,
            ItemState::Failed => &mut self.failed,
            ItemState::Skipped => &mut self.skipped,
            ItemState::Unconfirmed => &mut self.unconfirmed,
        }
    }

    pub fn add(&mut self, state: ItemState, n: u64) {
        self.total += n;
        *self.slot(state) += n;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub id: String,
    pub operation: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub time: Option<String>,
    /// What the operation stored with the item, for the report to read (not reported as is).
    #[serde(skip)]
    pub payload: Option<serde_json::Value>,
}
