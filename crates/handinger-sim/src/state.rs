//! The simulated server's state: workers with their schedules, and the counters tests read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::faults::FaultConfig;

/// The longest delay or interval taken: 100 years, so that every next run stays in range.
const MAX_SECONDS: i64 = 100 * 366 * 86_400;

/// When a schedule runs, tagged on `type` as in the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum When {
    Scheduled { date: DateTime<FixedOffset> },
    Delayed { delay_in_seconds: i64 },
    Cron { cron: String },
    Interval { interval_seconds: i64 },
}

impl When {
    pub const TYPES: [&'static str; 4] = ["scheduled", "delayed", "cron", "interval"];

    pub fn type_name(&self) -> &'static str {
        match self {
            When::Scheduled { .. } => "scheduled",
            When::Delayed { .. } => "delayed",
            When::Cron { .. } => "cron",
            When::Interval { .. } => "interval",
        }
    }

    /// Refuses what a server would not schedule: negative delays, intervals below a second,
    /// cron expressions that are not five fields of cron characters.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            When::Scheduled { .. } => Ok(()),
            When::Delayed { delay_in_seconds } if !(0..=MAX_SECONDS).contains(delay_in_seconds) => {
                Err("delayInSeconds must be within 0 and 100 years".into())
            }
            When::Interval { interval_seconds }
                if !(1..=MAX_SECONDS).contains(interval_seconds) =>
            {
                Err("intervalSeconds must be within 1 s and 100 years".into())
            }
            When::Cron { cron } => {
                let fields: Vec<&str> = cron.split_whitespace().collect();
                let cron_chars = |f: &&str| {
                    f.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "*/,-".contains(c))
                };
                if fields.len() == 5 && fields.iter().all(cron_chars) {
                    Ok(())
                } else {
                    Err(format!("invalid cron expression: {cron:?}"))
                }
            }
            _ => Ok(()),
        }
    }

    /// The next run as of `now`. For a cron, the next whole minute: the sim does not evaluate
    /// expressions (nothing it serves depends on the exact instant).
    fn next_run(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let after = |secs: i64| now + TimeDelta::seconds(secs);
        match self {
            When::Scheduled { date } => date.with_timezone(&Utc),
            When::Delayed { delay_in_seconds } => after(*delay_in_seconds),
            When::Interval { interval_seconds } => after(*interval_seconds),
            When::Cron { .. } => {
                let minute = now.with_second(0).and_then(|t| t.with_nanosecond(0));
                minute.unwrap_or(now) + TimeDelta::minutes(1)
            }
        }
    }

    /// The type's own field as the API shows it on a schedule (a `scheduled` one has none:
    /// its date is `nextRunAt`).
    fn own_field(&self) -> Option<(&'static str, Value)> {
        match self {
            When::Scheduled { .. } => None,
            When::Delayed { delay_in_seconds } => Some(("delayInSeconds", json!(delay_in_seconds))),
            When::Cron { cron } => Some(("cron", json!(cron))),
            When::Interval { interval_seconds } => {
                Some(("intervalSeconds", json!(interval_seconds)))
            }
        }
    }

    /// A canonical text of the timing, for the logical-schedule key.
    fn canonical(&self) -> String {
        match self {
            When::Scheduled { date } => format!("scheduled@{}", ts(date.with_timezone(&Utc))),
            When::Delayed { delay_in_seconds } => format!("delayed+{delay_in_seconds}"),
            When::Cron { cron } => format!("cron:{cron}"),
            When::Interval { interval_seconds } => format!("interval/{interval_seconds}"),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    Low,
    #[default]
    Standard,
    High,
    Unlimited,
}

#[derive(Clone, Debug)]
pub struct Schedule {
    pub id: String,
    pub budget: Budget,
    pub input: String,
    pub when: When,
    pub next_run_at: DateTime<Utc>,
}

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Schedule {
    /// The API's `WorkerSchedule`.
    pub fn view(&self) -> Value {
        let mut row = json!({
            "id": self.id,
            "budget": self.budget,
            "input": self.input,
            "nextRunAt": ts(self.next_run_at),
            "type": self.when.type_name(),
        });
        if let Some((field, value)) = self.when.own_field() {
            row[field] = value;
        }
        row
    }
}

/// Same worker, input, budget and timing: the same schedule as far as its owner can tell.
fn logical_key(worker: &str, input: &str, budget: Budget, when: &When) -> String {
    let budget = serde_json::to_value(budget).unwrap_or_default();
    format!("{worker}|{budget}|{}|{input}", when.canonical())
}

#[derive(Default)]
pub struct Worker {
    pub schedules: Vec<Schedule>,
    pub cancelled: Vec<Schedule>,
    cancelled_ids: HashSet<String>,
}

/// What a cancel found.
pub enum Cancelled {
    Now,
    Already,
    Unknown,
}

#[derive(Default)]
pub struct Store {
    pub workers: BTreeMap<String, Worker>,
    /// API creates per logical schedule (seeding does not count).
    pub creates: HashMap<String, u64>,
    pub cancels: u64,
    /// Cancels of a schedule already cancelled or never known.
    pub cancel_misses: u64,
    seeded: u64,
}

impl Store {
    fn new_id() -> String {
        format!("sch_{}", uuid::Uuid::new_v4().simple())
    }

    pub fn seed(&mut self, worker: &str, input_prefix: &str, budget: Budget, when: When) {
        self.seeded += 1;
        let schedule = Schedule {
            id: Self::new_id(),
            budget,
            input: format!("{input_prefix} {worker} #{}", self.seeded),
            next_run_at: when.next_run(Utc::now()),
            when,
        };
        self.workers
            .entry(worker.to_string())
            .or_default()
            .schedules
            .push(schedule);
    }

    /// Creates a schedule on a known worker; `None` when the worker is unknown.
    pub fn create(
        &mut self,
        worker: &str,
        input: String,
        budget: Budget,
        when: When,
    ) -> Option<Schedule> {
        let list = self.workers.get_mut(worker)?;
        *self
            .creates
            .entry(logical_key(worker, &input, budget, &when))
            .or_default() += 1;
        let schedule = Schedule {
            id: Self::new_id(),
            budget,
            input,
            next_run_at: when.next_run(Utc::now()),
            when,
        };
        list.schedules.push(schedule.clone());
        Some(schedule)
    }

    pub fn cancel(&mut self, worker: &str, id: &str) -> Cancelled {
        let Some(list) = self.workers.get_mut(worker) else {
            self.cancel_misses += 1;
            return Cancelled::Unknown;
        };
        match list.schedules.iter().position(|s| s.id == id) {
            Some(at) => {
                let schedule = list.schedules.remove(at);
                list.cancelled_ids.insert(schedule.id.clone());
                list.cancelled.push(schedule);
                self.cancels += 1;
                Cancelled::Now
            }
            None => {
                self.cancel_misses += 1;
                if list.cancelled_ids.contains(id) {
                    Cancelled::Already
                } else {
                    Cancelled::Unknown
                }
            }
        }
    }

    pub fn stats(&self) -> Value {
        let mut by_type: BTreeMap<&str, u64> = When::TYPES.iter().map(|t| (*t, 0)).collect();
        let mut live = 0;
        for worker in self.workers.values() {
            for s in &worker.schedules {
                *by_type.entry(s.when.type_name()).or_default() += 1;
                live += 1;
            }
        }
        let max_creates = self.creates.values().copied().max().unwrap_or(0);
        let duplicated: u64 = self.creates.values().map(|n| n.saturating_sub(1)).sum();
        json!({
            "workers": self.workers.len(),
            "schedules": live,
            "schedules_by_type": by_type,
            "creates": self.creates.values().sum::<u64>(),
            "max_creates_per_logical_schedule": max_creates,
            "duplicate_creates": duplicated,
            "cancels": self.cancels,
            "cancel_misses": self.cancel_misses,
        })
    }

    pub fn dump(&self) -> Value {
        let workers: BTreeMap<&str, Value> = self
            .workers
            .iter()
            .map(|(id, w)| {
                let live: Vec<Value> = w.schedules.iter().map(Schedule::view).collect();
                let gone: Vec<Value> = w.cancelled.iter().map(Schedule::view).collect();
                (id.as_str(), json!({ "schedules": live, "cancelled": gone }))
            })
            .collect();
        json!({ "workers": workers, "creates_per_logical_schedule": self.creates })
    }
}

/// Requests per `METHOD /route/template`, faulted or not, and how many of them mutate.
#[derive(Default)]
pub struct Requests {
    pub by_route: BTreeMap<String, u64>,
    pub mutating: u64,
}

pub struct AppState {
    pub api_key: String,
    store: Mutex<Store>,
    faults: Mutex<FaultConfig>,
    requests: Mutex<Requests>,
}

pub type Shared = std::sync::Arc<AppState>;

/// A poisoned lock still guards consistent data here (every update is a single step).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    pub fn new(api_key: String) -> Self {
        AppState {
            api_key,
            store: Mutex::default(),
            faults: Mutex::default(),
            requests: Mutex::default(),
        }
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub fn requests(&self) -> MutexGuard<'_, Requests> {
        lock(&self.requests)
    }

    pub fn faults(&self) -> FaultConfig {
        lock(&self.faults).clone()
    }

    pub fn set_faults(&self, config: FaultConfig) {
        *lock(&self.faults) = config;
    }
}

impl sim_kit::CountsRoutes for AppState {
    fn count_route(&self, route: String, mutating: bool) {
        let mut counters = self.requests();
        *counters.by_route.entry(route).or_default() += 1;
        if mutating {
            counters.mutating += 1;
        }
    }
}
