//! The in-memory model: workflows, runs (standalone or DAG), scheduled runs and crons.
//!
//! Everything belongs to the sim's one tenant. Runs are never deleted, so indexes into
//! `Store::runs` stay valid; `order` keeps them newest first (`inserted_at DESC, id DESC`).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, DurationRound, SubsecRound, TimeDelta, Utc};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::faults::FaultConfig;
use crate::token::TokenAuthority;

pub type Metadata = Map<String, Value>;

/// Shared application state handed to every handler.
pub struct AppState {
    pub tenant: Uuid,
    pub auth: TokenAuthority,
    pub cancel_delay: Duration,
    pub replay_delay: Duration,
    store: Mutex<Store>,
    faults: Mutex<FaultConfig>,
    requests: Mutex<RequestCounters>,
    cancels: Mutex<CancelQueue>,
    /// `/api` requests being served now.
    in_flight: AtomicUsize,
}

pub type Shared = Arc<AppState>;

/// Locks a mutex, ignoring poisoning: the sim's state stays usable whatever happened.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    pub fn new(
        tenant: Uuid,
        auth: TokenAuthority,
        cancel_delay: Duration,
        replay_delay: Duration,
    ) -> Self {
        AppState {
            tenant,
            auth,
            cancel_delay,
            replay_delay,
            store: Mutex::new(Store::default()),
            faults: Mutex::new(FaultConfig::default()),
            requests: Mutex::new(RequestCounters::default()),
            cancels: Mutex::new(CancelQueue::default()),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Counts an `/api` request in flight for as long as the guard lives, and records how many
    /// were in flight when it arrived (itself included) against `knee` (0 = no knee).
    pub fn arrive(&self, knee: usize) -> InFlight<'_> {
        let count = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let mut counters = self.requests();
        counters.max_in_flight = counters.max_in_flight.max(count);
        if knee > 0 && count > knee {
            counters.above_knee += 1;
        }
        InFlight {
            count,
            gauge: &self.in_flight,
        }
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub fn faults(&self) -> FaultConfig {
        lock(&self.faults).clone()
    }

    pub fn set_faults(&self, config: FaultConfig) {
        *lock(&self.faults) = config;
    }

    pub fn requests(&self) -> MutexGuard<'_, RequestCounters> {
        lock(&self.requests)
    }

    pub fn cancels(&self) -> MutexGuard<'_, CancelQueue> {
        lock(&self.cancels)
    }

    /// Notes that one read response carried `runs` runs (see `RequestCounters::max_runs_per_read`).
    pub fn record_read(&self, runs: usize) {
        let mut counters = self.requests();
        counters.max_runs_per_read = counters.max_runs_per_read.max(runs);
    }
}

/// One `/api` request in flight (see `AppState::arrive`).
pub struct InFlight<'a> {
    count: usize,
    gauge: &'a AtomicUsize,
}

impl InFlight<'_> {
    /// Requests in flight when this one arrived, itself included.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.gauge.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Accepted cancels waiting for the engine when `cancel_apply_rate` limits it (see
/// `routes::tasks::cancel`), and what the backlog came to.
#[derive(Default)]
pub struct CancelQueue {
    /// Runs in the order their cancels were accepted, with when.
    pub waiting: VecDeque<(usize, tokio::time::Instant)>,
    /// Whether a task applies them now.
    pub draining: bool,
    /// The most runs that waited at once.
    pub backlog_max: usize,
    /// The longest a run waited from its cancel's acceptance to its application.
    pub lag_max: Duration,
}

/// Per-route request counts for `/_sim/stats`.
#[derive(Default)]
pub struct RequestCounters {
    pub mutating: u64,
    pub by_route: BTreeMap<String, u64>,
    /// The most `/api` requests in flight at once.
    pub max_in_flight: usize,
    /// `/api` requests that arrived with more than `latency_knee` in flight (itself included).
    pub above_knee: u64,
    /// The most runs one list or external-ids response carried: what a client held at once.
    pub max_runs_per_read: usize,
    /// `/api` requests by the Unix second they arrived in: the rate the server saw, whoever
    /// sent them (several bulkops replicas share one job's rate).
    pub per_second: BTreeMap<u64, u64>,
    /// When each `/api` request arrived, in milliseconds since the Unix epoch, in order: the
    /// rate over any window, not only calendar seconds (`GET /_sim/arrivals`).
    pub arrivals_ms: Vec<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunStatus {
    Queued,
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Cancelled,
        RunStatus::Failed,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        RunStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "QUEUED",
            RunStatus::Running => "RUNNING",
            RunStatus::Completed => "COMPLETED",
            RunStatus::Cancelled => "CANCELLED",
            RunStatus::Failed => "FAILED",
        }
    }

    fn is_active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

/// `API` rows were created through the REST API; `DEFAULT` rows come from a code definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Api,
    Default,
}

pub struct Workflow {
    pub id: Uuid,
    pub version_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Step ids; a standalone task run uses step 0, a DAG's task `i` uses step `i`.
    pub steps: Vec<Uuid>,
}

pub struct Task {
    pub external_id: Uuid,
    pub task_id: i64,
    pub step: usize,
}

pub struct Run {
    pub id: Uuid,
    pub workflow: usize,
    pub status: RunStatus,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When its latest attempt started; `None` while it never left the queue.
    pub started_at: Option<DateTime<Utc>>,
    pub task_id: i64,
    /// Empty for a standalone task run; the DAG's tasks otherwise.
    pub tasks: Vec<Task>,
    pub cancels: u32,
    pub replays: u32,
    pub retry_count: u32,
    /// Replayed while QUEUED: it stays QUEUED for good (docs/hatchet-behaviour.md D1).
    pub wedged: bool,
    pending_cancel: bool,
    /// The generation of the replay in flight, if any.
    pending_replay: Option<u64>,
}

impl Run {
    pub fn is_dag(&self) -> bool {
        !self.tasks.is_empty()
    }

    /// The task external ids a replay of this run reports.
    pub fn task_external_ids(&self) -> Vec<Uuid> {
        if self.is_dag() {
            self.tasks.iter().map(|t| t.external_id).collect()
        } else {
            vec![self.id]
        }
    }

    fn in_flight(&self) -> bool {
        self.status.is_active() || self.pending_replay.is_some()
    }

    fn busy(&self) -> bool {
        self.in_flight() || self.pending_cancel
    }
}

#[derive(Clone)]
pub struct Scheduled {
    pub id: Uuid,
    pub workflow: usize,
    pub trigger_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub input: Value,
    pub metadata: Metadata,
    pub priority: i64,
    pub method: Method,
}

#[derive(Clone)]
pub struct Cron {
    pub id: Uuid,
    pub workflow: usize,
    pub name: String,
    pub expression: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub input: Value,
    pub metadata: Metadata,
    pub priority: i64,
    pub method: Method,
}

/// Which runs a list, external-ids or filter-mode cancel/replay selects.
#[derive(Default)]
pub struct RunFilter {
    pub since: Option<DateTime<Utc>>,
    /// `created_at > since` instead of `>=` (the external-ids endpoint).
    pub since_strict: bool,
    pub until: Option<DateTime<Utc>>,
    /// Empty means every status.
    pub statuses: Vec<RunStatus>,
    pub workflow_ids: Vec<Uuid>,
    pub metadata: Vec<(String, String)>,
    /// AND the metadata pairs instead of OR-ing them.
    pub metadata_all: bool,
}

/// A metadata value compared with a filter's string: strings as-is, anything else as JSON.
fn metadata_value_is(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        other => serde_json::from_str::<Value>(wanted).is_ok_and(|w| w == *other),
    }
}

/// True when `metadata` has every pair (`all`) or at least one pair (`!all`); no pairs matches.
pub fn metadata_matches(metadata: &Metadata, pairs: &[(String, String)], all: bool) -> bool {
    if pairs.is_empty() {
        return true;
    }
    let has =
        |(k, v): &(String, String)| metadata.get(k).is_some_and(|val| metadata_value_is(val, v));
    if all {
        pairs.iter().all(has)
    } else {
        pairs.iter().any(has)
    }
}

/// Triggers are stored as `TIMESTAMP(3)`: millisecond precision.
pub fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// `n` instants spread evenly over `[from, to]`, both ends included.
fn spread(from: DateTime<Utc>, to: DateTime<Utc>, n: usize, i: usize) -> DateTime<Utc> {
    if n <= 1 {
        return from;
    }
    let span = (to - from).num_nanoseconds().unwrap_or(0) as i128;
    let offset = span * i as i128 / (n as i128 - 1);
    from + TimeDelta::nanoseconds(offset as i64)
}

/// What a seeding call of runs asks for.
pub struct RunSeed {
    pub count: usize,
    pub status: RunStatus,
    pub metadata: Metadata,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub dag_tasks: usize,
}

/// What a seeding call of scheduled runs or crons asks for.
pub struct TriggerSeed {
    pub count: usize,
    pub metadata: Metadata,
    pub input: Value,
    /// Every K-th row is code-defined (`DEFAULT`); 0 = none.
    pub code_defined_every: usize,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub expression: String,
}

impl TriggerSeed {
    fn method(&self, i: usize) -> Method {
        if self.code_defined_every > 0 && (i + 1).is_multiple_of(self.code_defined_every) {
            Method::Default
        } else {
            Method::Api
        }
    }
}

#[derive(Default)]
pub struct Store {
    pub workflows: Vec<Workflow>,
    pub runs: Vec<Run>,
    run_index: HashMap<Uuid, usize>,
    task_index: HashMap<Uuid, usize>,
    /// Indexes into `runs`, newest first.
    order: Vec<usize>,
    /// Ordered by id, so a stable sort on another key breaks ties by `id ASC`.
    pub scheduled: BTreeMap<Uuid, Scheduled>,
    pub crons: BTreeMap<Uuid, Cron>,
    next_task_id: i64,
    next_replay_generation: u64,
    next_cron_number: u64,
    /// Replays accepted with a 200 and then lost (`replay_drop_rate`, `replay_batch_tasks`,
    /// `replay_apply_ms`).
    pub dropped_replays: u64,
    /// The task ids each replay request named (as answered), in arrival order.
    pub replay_request_tasks: Vec<usize>,
    /// Until when the replay lock is held by a request being applied (`replay_apply_ms`).
    pub replay_lock_until: Option<tokio::time::Instant>,
}

impl Store {
    pub fn workflow_named(&self, name: &str) -> Option<usize> {
        self.workflows.iter().position(|w| w.name == name)
    }

    pub fn workflow_or_create(&mut self, name: &str) -> usize {
        if let Some(i) = self.workflow_named(name) {
            return i;
        }
        self.workflows.push(Workflow {
            id: Uuid::new_v4(),
            version_id: Uuid::new_v4(),
            name: name.to_string(),
            created_at: Utc::now(),
            steps: vec![Uuid::new_v4()],
        });
        self.workflows.len() - 1
    }

    fn ensure_steps(&mut self, workflow: usize, n: usize) {
        let steps = &mut self.workflows[workflow].steps;
        while steps.len() < n {
            steps.push(Uuid::new_v4());
        }
    }

    fn take_task_id(&mut self) -> i64 {
        self.next_task_id += 1;
        self.next_task_id
    }

    fn push_run(
        &mut self,
        workflow: usize,
        status: RunStatus,
        metadata: Metadata,
        created_at: DateTime<Utc>,
        dag_tasks: usize,
    ) -> usize {
        // Postgres keeps microseconds: a finer time would be one no client can name exactly.
        let created_at = created_at.trunc_subsecs(6);
        let id = Uuid::new_v4();
        let task_id = self.take_task_id();
        let tasks: Vec<Task> = (0..dag_tasks)
            .map(|step| Task {
                external_id: Uuid::new_v4(),
                task_id: self.take_task_id(),
                step,
            })
            .collect();
        let idx = self.runs.len();
        for t in &tasks {
            self.task_index.insert(t.external_id, idx);
        }
        self.run_index.insert(id, idx);
        self.runs.push(Run {
            id,
            workflow,
            status,
            metadata,
            created_at,
            updated_at: created_at,
            // Hatchet takes ~150 ms from creation to the start of a run.
            started_at: (status != RunStatus::Queued)
                .then(|| created_at + chrono::TimeDelta::milliseconds(150)),
            task_id,
            tasks,
            cancels: 0,
            replays: 0,
            retry_count: 0,
            wedged: false,
            pending_cancel: false,
            pending_replay: None,
        });
        idx
    }

    fn resort(&mut self) {
        let runs = &self.runs;
        self.order = (0..runs.len()).collect();
        self.order.sort_unstable_by(|&a, &b| {
            (runs[b].created_at, runs[b].id).cmp(&(runs[a].created_at, runs[a].id))
        });
    }

    pub fn seed_runs(&mut self, workflow: usize, seed: RunSeed) {
        self.ensure_steps(workflow, seed.dag_tasks.max(1));
        self.runs.reserve(seed.count);
        for i in 0..seed.count {
            let at = spread(seed.from, seed.to, seed.count, i);
            self.push_run(
                workflow,
                seed.status,
                seed.metadata.clone(),
                at,
                seed.dag_tasks,
            );
        }
        self.resort();
    }

    /// A new QUEUED run, as "run now" on a scheduled run or cron creates. Returns its id.
    pub fn trigger_run(&mut self, workflow: usize, metadata: Metadata) -> Uuid {
        let idx = self.push_run(workflow, RunStatus::Queued, metadata, Utc::now(), 0);
        self.resort();
        self.runs[idx].id
    }

    pub fn seed_scheduled(&mut self, workflow: usize, seed: &TriggerSeed) {
        let now = Utc::now();
        for i in 0..seed.count {
            let row = Scheduled {
                id: Uuid::new_v4(),
                workflow,
                trigger_at: to_millis(spread(seed.from, seed.to, seed.count, i)),
                created_at: now,
                updated_at: now,
                input: seed.input.clone(),
                metadata: seed.metadata.clone(),
                priority: 1,
                method: seed.method(i),
            };
            self.scheduled.insert(row.id, row);
        }
    }

    pub fn seed_crons(&mut self, workflow: usize, seed: &TriggerSeed) {
        let now = Utc::now();
        for i in 0..seed.count {
            self.next_cron_number += 1;
            let name = format!(
                "{}-cron-{}",
                self.workflows[workflow].name, self.next_cron_number
            );
            let row = Cron {
                id: Uuid::new_v4(),
                workflow,
                name,
                expression: seed.expression.clone(),
                enabled: true,
                created_at: now,
                updated_at: now,
                input: seed.input.clone(),
                metadata: seed.metadata.clone(),
                priority: 1,
                method: seed.method(i),
            };
            self.crons.insert(row.id, row);
        }
    }

    /// The run a run id or a DAG task id belongs to.
    pub fn resolve(&self, external_id: Uuid) -> Option<usize> {
        self.run_index
            .get(&external_id)
            .or_else(|| self.task_index.get(&external_id))
            .copied()
    }

    pub fn run_by_id(&self, id: Uuid) -> Option<&Run> {
        self.run_index.get(&id).map(|&i| &self.runs[i])
    }

    fn run_matches(&self, run: &Run, f: &RunFilter) -> bool {
        let after_since = match f.since {
            Some(s) if f.since_strict => run.created_at > s,
            Some(s) => run.created_at >= s,
            None => true,
        };
        after_since
            && f.until.is_none_or(|u| run.created_at <= u)
            && (f.statuses.is_empty() || f.statuses.contains(&run.status))
            && (f.workflow_ids.is_empty()
                || f.workflow_ids.contains(&self.workflows[run.workflow].id))
            && metadata_matches(&run.metadata, &f.metadata, f.metadata_all)
    }

    /// Indexes of the matching runs, newest first.
    pub fn select_runs<'a>(&'a self, f: &'a RunFilter) -> impl Iterator<Item = usize> + 'a {
        self.order
            .iter()
            .copied()
            .filter(move |&i| self.run_matches(&self.runs[i], f))
    }

    /// Records an accepted cancel of these runs (each once). Returns the runs whose status will
    /// flip to CANCELLED when `finish_cancel` runs.
    pub fn accept_cancel(&mut self, runs: &[usize]) -> Vec<usize> {
        let mut flipping = Vec::new();
        for &i in runs {
            let run = &mut self.runs[i];
            run.cancels += 1;
            if run.in_flight() {
                run.pending_cancel = true;
                flipping.push(i);
            }
        }
        flipping
    }

    pub fn finish_cancel(&mut self, runs: &[usize]) {
        let now = Utc::now();
        for &i in runs {
            let run = &mut self.runs[i];
            if !run.pending_cancel {
                continue;
            }
            run.pending_cancel = false;
            if run.in_flight() {
                run.status = RunStatus::Cancelled;
                run.pending_replay = None;
                run.updated_at = now;
            }
        }
    }

    /// Accepts a replay of these runs as Hatchet v0.104.7 does (docs/hatchet-behaviour.md D1,
    /// D3). A QUEUED run is replayed and wedged: its retry count rises and it stays QUEUED for
    /// good. Other busy runs (RUNNING, or with a cancel or replay pending) are skipped silently.
    /// Of the rest, `drop_rate` of them (rounded down, picked at random) are lost silently, as
    /// when the server's replay lock drops a batch. Returns `(run, generation)` per replay that
    /// will run.
    pub fn accept_replay(&mut self, runs: &[usize], faults: ReplayFaults) -> Vec<(usize, u64)> {
        let mut replayable = Vec::new();
        for &i in runs {
            let run = &mut self.runs[i];
            if run.status == RunStatus::Queued && !run.pending_cancel {
                run.replays += 1;
                run.retry_count += 1;
                run.wedged = true;
                run.pending_replay = None;
            } else if !run.busy() {
                replayable.push(i);
            }
        }
        if faults.batch_tasks > 0 {
            let first = self.first_batch(&replayable, faults.batch_tasks);
            self.dropped_replays += (replayable.len() - first) as u64;
            replayable.truncate(first);
        }
        let dropped = (replayable.len() as f64 * faults.drop_rate).floor() as usize;
        if dropped > 0 {
            replayable.shuffle(&mut rand::rng());
            replayable.truncate(replayable.len() - dropped);
            self.dropped_replays += dropped as u64;
        }
        let now = Utc::now();
        let mut accepted = Vec::new();
        for i in replayable {
            self.next_replay_generation += 1;
            let generation = self.next_replay_generation;
            let run = &mut self.runs[i];
            run.replays += 1;
            run.retry_count += 1;
            run.started_at = Some(now);
            run.pending_replay = Some(generation);
            accepted.push((i, generation));
        }
        accepted
    }

    /// Loses a replay request whole, as one that met the busy replay lock: the runs a replay
    /// would have acted on count as dropped, and nothing changes.
    pub fn lose_replay(&mut self, runs: &[usize]) {
        let lost = runs.iter().filter(|&&i| !self.runs[i].busy()).count();
        self.dropped_replays += lost as u64;
    }

    /// How many of these runs (at least one) fit in one batch of `batch_tasks` tasks, whole runs
    /// in request order.
    fn first_batch(&self, runs: &[usize], batch_tasks: usize) -> usize {
        let mut tasks = 0;
        runs.iter()
            .take_while(|&&i| {
                tasks += self.runs[i].tasks.len().max(1);
                tasks <= batch_tasks
            })
            .count()
            .max(1)
            .min(runs.len())
    }

    /// Moves replayed runs to `status`; `done` ends the replay.
    pub fn advance_replay(&mut self, accepted: &[(usize, u64)], status: RunStatus, done: bool) {
        let now = Utc::now();
        for &(i, generation) in accepted {
            let run = &mut self.runs[i];
            if run.pending_replay == Some(generation) {
                run.status = status;
                run.updated_at = now;
                if done {
                    run.pending_replay = None;
                }
            }
        }
    }
}

/// How the server loses accepted replays (see `FaultConfig`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplayFaults {
    pub drop_rate: f64,
    pub batch_tasks: usize,
}

/// A set that remembers insertion order, for de-duplicated id lists.
#[derive(Default)]
pub struct OrderedIds {
    seen: HashSet<Uuid>,
    pub ids: Vec<Uuid>,
}

impl OrderedIds {
    pub fn push(&mut self, id: Uuid) -> bool {
        let new = self.seen.insert(id);
        if new {
            self.ids.push(id);
        }
        new
    }

    pub fn contains(&self, id: Uuid) -> bool {
        self.seen.contains(&id)
    }
}

impl sim_kit::CountsRoutes for AppState {
    fn count_route(&self, route: String, mutating: bool) {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let millis = u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX);
        let mut counters = self.requests();
        *counters.by_route.entry(route).or_default() += 1;
        *counters
            .per_second
            .entry(since_epoch.as_secs())
            .or_default() += 1;
        counters.arrivals_ms.push(millis);
        if mutating {
            counters.mutating += 1;
        }
    }
}
