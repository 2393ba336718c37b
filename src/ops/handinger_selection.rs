//! Which Handinger worker schedules a job acts on: the workers (the API cannot list them), and
//! filters the client applies to each worker's whole list (the API has none).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OpError;
use crate::backend::handinger::models::{ScheduleType, WorkerSchedule, BUDGETS};
use crate::backend::handinger::{HandingerClient, HandingerError};
use crate::engine::Caller;
use crate::job::{SpecError, TimeSpec};
use crate::store::NewItem;

/// The selection as the user wrote it (relative times unresolved), to be kept in the job spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandingerSelection {
    pub workers: Vec<String>,
    /// Empty: every type.
    #[serde(default)]
    pub types: Vec<ScheduleType>,
    /// Empty: every budget.
    #[serde(default)]
    pub budgets: Vec<String>,
    pub next_run_after: Option<TimeSpec>,
    pub next_run_before: Option<TimeSpec>,
    pub input_contains: Option<String>,
    /// Only these schedule ids (of the given workers), from `--ids-file`.
    pub ids: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SelectionError {
    #[error("no worker given: pass --worker ID (repeatable) or --workers-file FILE (one id a line, - for stdin)")]
    NoWorkers,
    #[error("--workers-file line {line}: {value:?} is not a worker id (no spaces, quotes or control characters): fix or delete the line")]
    BadWorker { line: usize, value: String },
    #[error("--ids-file line {line}: {value:?} is not a schedule id (no spaces, quotes or control characters): fix or delete the line")]
    BadId { line: usize, value: String },
    #[error("unknown schedule type {0:?}: use scheduled, delayed, cron or interval")]
    UnknownType(String),
    #[error("unknown budget {0:?}: use low, standard, high or unlimited")]
    UnknownBudget(String),
    #[error("--ids-file holds no schedule id: give at least one, or drop --ids-file")]
    NoIds,
    #[error("--next-run-after {after} is not before --next-run-before {before}: swap them")]
    EmptyWindow {
        after: DateTime<Utc>,
        before: DateTime<Utc>,
    },
    #[error(transparent)]
    Time(#[from] SpecError),
}

/// The ids of `text`, one a line; blank lines and `#` comments are skipped, anything else
/// that is not an id is refused with its line number.
fn id_lines(
    text: &str,
    bad: impl Fn(usize, String) -> SelectionError,
) -> Result<Vec<String>, SelectionError> {
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !is_worker_id(line) || line.ends_with('/') {
            return Err(bad(n + 1, line.chars().take(60).collect()));
        }
        ids.push(line.to_string());
    }
    Ok(ids)
}

/// A worker id as the API takes it in a path: printable, no whitespace or quotes.
fn is_worker_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"\"'`".contains(c))
}

impl HandingerSelection {
    /// Order and repeats of workers, types, budgets and ids do not change what is selected, so
    /// they do not change a job's identity either.
    pub fn normalize(&mut self) {
        for list in [&mut self.workers, &mut self.budgets] {
            list.sort();
            list.dedup();
        }
        self.types.sort_by_key(|t| t.as_str());
        self.types.dedup();
        if let Some(ids) = &mut self.ids {
            ids.sort();
            ids.dedup();
        }
    }

    pub fn parse_type(text: &str) -> Result<ScheduleType, SelectionError> {
        ScheduleType::ALL
            .into_iter()
            .find(|t| t.as_str() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| SelectionError::UnknownType(text.to_string()))
    }

    pub fn parse_budget(text: &str) -> Result<String, SelectionError> {
        let budget = text.trim().to_ascii_lowercase();
        BUDGETS
            .contains(&budget.as_str())
            .then_some(budget)
            .ok_or_else(|| SelectionError::UnknownBudget(text.to_string()))
    }

    /// Worker ids from a file's text: one a line; blank lines and `#` comments are skipped,
    /// anything else that is not an id is refused with its line number.
    pub fn parse_workers(text: &str) -> Result<Vec<String>, SelectionError> {
        id_lines(text, |line, value| SelectionError::BadWorker {
            line,
            value,
        })
    }

    /// Schedule ids from an ids file's text, as `parse_workers` reads workers; a line as a
    /// report writes it (`worker/schedule`) stands for its schedule id.
    pub fn parse_ids(text: &str) -> Result<Vec<String>, SelectionError> {
        let ids = id_lines(text, |line, value| SelectionError::BadId { line, value })?;
        Ok(ids
            .into_iter()
            .map(|id| id.rsplit('/').next().unwrap_or_default().to_string())
            .collect())
    }

    /// Checks the selection and resolves its window at `now` (the job's creation).
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<ScheduleFilter, SelectionError> {
        let mut seen = HashSet::new();
        let workers: Vec<String> = self
            .workers
            .iter()
            .filter(|w| seen.insert(w.as_str()))
            .cloned()
            .collect();
        if workers.is_empty() {
            return Err(SelectionError::NoWorkers);
        }
        if let Some((n, bad)) = workers.iter().enumerate().find(|(_, w)| !is_worker_id(w)) {
            return Err(SelectionError::BadWorker {
                line: n + 1,
                value: bad.clone(),
            });
        }
        for budget in &self.budgets {
            Self::parse_budget(budget)?;
        }
        if self.ids.as_ref().is_some_and(Vec::is_empty) {
            return Err(SelectionError::NoIds);
        }
        let after = self
            .next_run_after
            .as_ref()
            .map(|t| t.resolve(now))
            .transpose()?;
        let before = self
            .next_run_before
            .as_ref()
            .map(|t| t.resolve(now))
            .transpose()?;
        if let (Some(after), Some(before)) = (after, before) {
            if after >= before {
                return Err(SelectionError::EmptyWindow { after, before });
            }
        }
        Ok(ScheduleFilter {
            workers,
            types: self.types.clone(),
            budgets: self
                .budgets
                .iter()
                .map(|b| b.to_ascii_lowercase())
                .collect(),
            after,
            before,
            input_contains: self.input_contains.clone(),
            ids: self.ids.as_ref().map(|ids| ids.iter().cloned().collect()),
        })
    }
}

/// A selection with its window resolved: what the client checks on every listed schedule.
#[derive(Debug, Clone)]
pub struct ScheduleFilter {
    workers: Vec<String>,
    types: Vec<ScheduleType>,
    budgets: Vec<String>,
    after: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
    input_contains: Option<String>,
    ids: Option<HashSet<String>>,
}

impl ScheduleFilter {
    /// Whether `s` is selected. A schedule of a type this version does not know is selected
    /// only when no type is asked for (it is then reported, never acted on).
    pub fn selects(&self, s: &WorkerSchedule) -> bool {
        let type_ok = match s.schedule_type() {
            Some(t) => self.types.is_empty() || self.types.contains(&t),
            None => self.types.is_empty(),
        };
        type_ok
            && (self.budgets.is_empty() || self.budgets.contains(&s.budget))
            && self.after.is_none_or(|after| s.next_run_at > after)
            && self.before.is_none_or(|before| s.next_run_at < before)
            && self
                .input_contains
                .as_ref()
                .is_none_or(|text| s.input.contains(text.as_str()))
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&s.id))
    }
}

/// One enumeration page per worker: the cursor is the index of the next worker to list.
pub struct WorkerPages {
    client: HandingerClient,
    filter: ScheduleFilter,
}

/// One worker's whole list, read at enumeration.
pub struct WorkerPage {
    pub worker: String,
    pub schedules: Vec<WorkerSchedule>,
    pub next_cursor: Option<String>,
}

impl WorkerPages {
    pub fn new(client: HandingerClient, filter: ScheduleFilter) -> Self {
        WorkerPages { client, filter }
    }

    pub fn client(&self) -> &HandingerClient {
        &self.client
    }

    pub fn filter(&self) -> &ScheduleFilter {
        &self.filter
    }

    pub fn initial_cursor() -> String {
        "0".to_string()
    }

    pub async fn next_page(&self, caller: &Caller, cursor: &str) -> Result<WorkerPage, OpError> {
        let index: usize = cursor
            .parse()
            .map_err(|_| OpError::Cursor(format!("not a worker index: {cursor:?}")))?;
        let worker = self
            .filter
            .workers
            .get(index)
            .ok_or_else(|| OpError::Cursor(format!("worker index {index} out of range")))?;
        let client = &self.client;
        let (listed, _) = caller
            .call("handinger.schedules.list", true, || {
                client.list_schedules(worker)
            })
            .await;
        let next = index + 1;
        Ok(WorkerPage {
            worker: worker.clone(),
            schedules: listed?,
            next_cursor: (next < self.filter.workers.len()).then(|| next.to_string()),
        })
    }
}

/// An item's id: worker and schedule, since schedule ids need not be unique across workers.
pub fn item_id(worker: &str, schedule: &WorkerSchedule) -> String {
    format!("{worker}/{}", schedule.id)
}

/// An item for a schedule of an unknown type: listed, reported, never touched.
pub fn unknown_type_item(worker: &str, schedule: &WorkerSchedule) -> NewItem {
    let mut item = NewItem::new(item_id(worker, schedule));
    item.settled = Some((
        crate::store::ItemState::Skipped,
        "its type is unknown to this version of bulkops: not touched".to_string(),
    ));
    item
}

impl From<HandingerError> for OpError {
    fn from(e: HandingerError) -> Self {
        OpError::Backend(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: serde_json::Value) -> WorkerSchedule {
        serde_json::from_value(json).expect("a schedule")
    }

    #[test]
    fn workers_files_skip_comments_and_refuse_junk_by_line() {
        assert_eq!(
            HandingerSelection::parse_workers("# team A\nw-1\n\n  w-2  \n"),
            Ok(vec!["w-1".to_string(), "w-2".to_string()])
        );
        assert_eq!(
            HandingerSelection::parse_workers("w-1\nw 2\n"),
            Err(SelectionError::BadWorker {
                line: 2,
                value: "w 2".into()
            })
        );
        assert!(HandingerSelection::parse_workers("\"w\"").is_err());
    }

    #[test]
    fn types_and_budgets_are_checked() {
        assert_eq!(
            HandingerSelection::parse_type("Cron"),
            Ok(ScheduleType::Cron)
        );
        assert_eq!(
            HandingerSelection::parse_type("weekly"),
            Err(SelectionError::UnknownType("weekly".into()))
        );
        assert_eq!(HandingerSelection::parse_budget("HIGH"), Ok("high".into()));
        assert!(HandingerSelection::parse_budget("huge").is_err());
    }

    #[test]
    fn a_selection_needs_workers_and_a_window_that_is_not_empty() {
        let now = Utc::now();
        assert_eq!(
            HandingerSelection::default().resolve(now).unwrap_err(),
            SelectionError::NoWorkers
        );
        let inverted = HandingerSelection {
            workers: vec!["w".into()],
            next_run_after: Some(TimeSpec::Ahead("2h".into())),
            next_run_before: Some(TimeSpec::Ahead("1h".into())),
            ..HandingerSelection::default()
        };
        assert!(matches!(
            inverted.resolve(now),
            Err(SelectionError::EmptyWindow { .. })
        ));
        let no_ids = HandingerSelection {
            workers: vec!["w".into()],
            ids: Some(vec![]),
            ..HandingerSelection::default()
        };
        assert_eq!(no_ids.resolve(now).unwrap_err(), SelectionError::NoIds);
    }

    #[test]
    fn every_filter_must_hold() {
        let now = Utc::now();
        let selection = HandingerSelection {
            workers: vec!["w".into(), "w".into()],
            types: vec![ScheduleType::Cron],
            budgets: vec!["standard".into()],
            next_run_before: Some(TimeSpec::Ahead("1h".into())),
            input_contains: Some("nightly".into()),
            ..HandingerSelection::default()
        };
        let filter = selection.resolve(now).expect("valid");
        assert_eq!(filter.workers, ["w"], "a worker named twice is listed once");
        let soon = (now + chrono::TimeDelta::minutes(5)).to_rfc3339();
        let base = serde_json::json!({"id": "a", "budget": "standard", "input": "the nightly sync",
            "nextRunAt": soon, "type": "cron", "cron": "0 3 * * *"});
        assert!(filter.selects(&row(base.clone())));
        let mut other = base.clone();
        other["input"] = "hourly".into();
        assert!(!filter.selects(&row(other)));
        let mut other = base.clone();
        other["budget"] = "high".into();
        assert!(!filter.selects(&row(other)));
        let mut other = base.clone();
        other["nextRunAt"] = (now + chrono::TimeDelta::hours(2)).to_rfc3339().into();
        assert!(!filter.selects(&row(other)));
        let mut other = base;
        other["type"] = "interval".into();
        other["intervalSeconds"] = 60.into();
        assert!(!filter.selects(&row(other)));
    }
}

/// Runs a Handinger operation as the engine would, in process, against the simulator.
#[cfg(test)]
pub(crate) mod harness {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use crate::engine::{limiter, Caller, Operation, RetryPolicy};
    use crate::store::{Item, ItemOutcome, ItemState};

    pub fn caller() -> Caller {
        let policy = RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            max_retry_after: Duration::from_millis(5),
        };
        Caller::new(limiter(crate::job::MAX_RATE), policy)
    }

    /// Every page: the items to act on, and those settled at enumeration with their reasons.
    pub async fn enumerate_all(
        op: &dyn Operation,
        caller: &Caller,
    ) -> (Vec<Item>, Vec<(String, ItemState, String)>) {
        let mut items = Vec::new();
        let mut settled = Vec::new();
        let mut cursor = Some(op.initial_cursor());
        let mut page = 0;
        while let Some(at) = cursor {
            let found = retried(|| op.enumerate(caller, &at)).await;
            for new in found.items {
                match new.settled {
                    Some((state, reason)) => settled.push((new.id, state, reason)),
                    None => items.push(Item {
                        seq: i64::try_from(items.len()).unwrap_or(0),
                        id: new.id,
                        page,
                        payload: new.payload,
                        attempts: 0,
                    }),
                }
            }
            cursor = found.next_cursor;
            page += 1;
        }
        (items, settled)
    }

    /// A step the engine would stop on (a read failed for good, the job ends resumably) is taken
    /// again, as a resume would.
    async fn retried<T, F, Fut>(step: F) -> T
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, crate::engine::OpError>>,
    {
        let mut last = None;
        for _ in 0..20 {
            match step().await {
                Ok(value) => return value,
                Err(e) => last = Some(e),
            }
        }
        panic!("failed 20 times: {last:?}");
    }

    fn again(item: &Item, outcome: &ItemOutcome) -> Item {
        Item {
            attempts: item.attempts + outcome.attempts,
            ..item.clone()
        }
    }

    /// Executes in chunks; what stays pending goes again (a resume); what is sent is verified,
    /// and what verification cannot settle is executed again (the engine's resend rounds).
    /// Returns every item's last outcome.
    pub async fn run_to_end(
        op: &dyn Operation,
        caller: &Caller,
        items: Vec<Item>,
        chunk: usize,
    ) -> BTreeMap<String, ItemOutcome> {
        let mut last = BTreeMap::new();
        let mut todo = items;
        for _ in 0..50 {
            if todo.is_empty() {
                break;
            }
            let mut sent = Vec::new();
            let mut next = Vec::new();
            for batch in todo.chunks(chunk) {
                let outcomes = op.execute(caller, batch).await;
                assert_eq!(outcomes.len(), batch.len(), "an outcome for every item");
                for (item, outcome) in batch.iter().zip(outcomes) {
                    assert_eq!(item.id, outcome.id, "outcomes in item order");
                    match outcome.state {
                        ItemState::Pending => next.push(again(item, &outcome)),
                        ItemState::Sent => sent.push(again(item, &outcome)),
                        _ => {}
                    }
                    last.insert(item.id.clone(), outcome);
                }
            }
            if !sent.is_empty() {
                let verified = retried(|| op.verify(caller, None, &sent)).await;
                for outcome in verified {
                    last.insert(outcome.id.clone(), outcome);
                }
                next.extend(
                    sent.into_iter()
                        .filter(|i| last[&i.id].state == ItemState::Sent),
                );
            }
            todo = next;
        }
        last
    }

    /// As `run_to_end`, but each chunk's execution is cut off (its future dropped, as a
    /// `kill -9` drops a process) after a random delay of up to `max_cut_ms`; a cut chunk is
    /// reconciled, as a resume does with a chunk left in doubt, and what it leaves undecided
    /// is executed again. Returns every item's last outcome and how many chunks were cut.
    pub async fn run_with_crashes(
        op: &dyn Operation,
        caller: &Caller,
        items: Vec<Item>,
        chunk: usize,
        max_cut_ms: u64,
    ) -> (BTreeMap<String, ItemOutcome>, usize) {
        use rand::Rng;
        let mut last = BTreeMap::new();
        let mut todo = items;
        let mut cuts = 0;
        for _ in 0..200 {
            if todo.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for batch in todo.chunks(chunk) {
                let cut = Duration::from_millis(rand::rng().random_range(0..=max_cut_ms));
                if let Ok(outcomes) = tokio::time::timeout(cut, op.execute(caller, batch)).await {
                    for (item, outcome) in batch.iter().zip(outcomes) {
                        if outcome.state == ItemState::Pending || outcome.state == ItemState::Sent {
                            next.push(again(item, &outcome));
                        }
                        last.insert(item.id.clone(), outcome);
                    }
                    continue;
                }
                cuts += 1;
                // A restarted process comes back later than the requests it dropped.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let decided = retried(|| op.reconcile(caller, batch)).await;
                for (item, outcome) in decided {
                    match outcome {
                        Some(o) => {
                            last.insert(item.id.clone(), o);
                        }
                        None => next.push(item),
                    }
                }
            }
            todo = next;
        }
        assert!(todo.is_empty(), "{} items never settled", todo.len());
        (last, cuts)
    }

    pub fn count(outcomes: &BTreeMap<String, ItemOutcome>, state: ItemState) -> usize {
        outcomes.values().filter(|o| o.state == state).count()
    }
}
