use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::descriptor::{
    always_safe, counted, no_warning, Descriptor, Parts, Required, Rules, Undo,
};
use super::run_selection::RunSnapshot;
use super::{
    item_outcome, request_failed, OpError, Operation, Page, Resend, RunSelection, Sending,
};
use crate::backend::hatchet::HatchetError;
use crate::engine::Failure;
use crate::engine::{Caller, Delivery, Pacer, RequestSizes};
use crate::job::{RunStatus, MAX_CHUNK_SIZE};
use crate::store::{Item, ItemOutcome, ItemState};

/// The server sends replays in batches of about 100 tasks with a 200 ms pause after each
/// (docs/hatchet-contract.md §c); the client waits twice that on top of its base timeout.
const TIMEOUT_PER_TASK: Duration = Duration::from_millis(4);

/// The server replays a request in batches of about 100 tasks, and of concurrent batches all but
/// one can lose its advisory lock and vanish (docs/hatchet-behaviour.md D16): a request carries
/// at most this many tasks (a single bigger DAG run goes alone). Requests start at half of it and
/// double while every one is seen applied; a loss halves them, down to 10 (the size that lost
/// nothing even at a fixed second apart, D3), and they then grow back by a quarter.
const REQUEST_TASKS: RequestSizes = RequestSizes {
    min: 10,
    start: 50,
    step: 25,
    max: 100,
};

/// The pause before each look for the last request applied (one list page of the runs still in
/// their enumerated status, a few hundred rows, 70 to 300 ms on Hatchet v0.104.7). Not shorter:
/// the looks load the same server that applies the replays, and at 50 ms, 15 to 31 looks a
/// request, 1,200 runs took 51 s where at 250 ms they took 41 s (docs/benchmarks.md).
const APPLY_POLL: Duration = Duration::from_millis(250);
/// How many runs' details a look reads when its page does not tell whether the last request was
/// applied: one round of parallel details calls.
const DETAILS_SAMPLE: usize = 8;
/// How old the look's read of the next request's runs may be for that request to go on it
/// instead of reading them again: more than the default floor between requests, so that only a
/// slower `--replay-interval` makes the request read afresh.
const READ_AHEAD_MAX_AGE: Duration = Duration::from_millis(250);

/// Hatchet v0.104.7 (Postgres message queue) answers 200 with every id even when it drops a
/// replay batch (docs/hatchet-behaviour.md D3); runs still unchanged after `--verify-timeout`
/// are sent again this many times.
const RESEND_ROUNDS: u32 = 3;
const DROPPED: &str =
    "the server accepted the replay but never ran it (dropped): the run is unchanged since enumeration";

/// 100 runs per chunk by default, sent as requests of at most 100 tasks: Hatchet silently drops
/// replay batches that are big or that meet the previous one still being applied
/// (docs/hatchet-behaviour.md D3); one request at a time, through the pacer.
pub const DESCRIPTOR: Descriptor = Descriptor {
    default_statuses: &[RunStatus::Failed, RunStatus::Cancelled],
    rules: Rules {
        chunk_default: 100,
        chunk_max: MAX_CHUNK_SIZE,
        concurrency_cap: Some(1),
        undo: Undo::Impossible,
    },
    // Each run's retry count is compared with the one enumerated, so a run replayed by an
    // earlier job is skipped, not replayed again.
    repeat_is_safe: always_safe,
    required: &[Required::Since],
    warning: no_warning,
    action: |_, n| format!("replay {}", counted(n, "run", "runs")),
    // Runs are listed with their DAG tasks and retry counts. Before an unanswered or in-doubt
    // request's runs are judged unchanged (and so safe to send again), the lists, which lag, are
    // read once more five verification polls later.
    build: |parts: Parts| {
        Ok(Arc::new(RunsReplay::new(
            parts.runs(DESCRIPTOR.default_statuses, true),
            parts.tuning.verify_poll * 5,
            parts.tuning.replay_interval,
        )))
    },
};

/// `bulkops runs replay`: replay by id in chunks. Replay is not idempotent (every accepted replay
/// runs the task again), so each item's payload holds the run as enumerated (status, retry
/// count, DAG task ids) and every decision compares the server's current state with it:
/// a run whose retry count rose was replayed; a run whose status changed without one was not
/// replayed by this job. Runs that are QUEUED or RUNNING are never sent (Hatchet wedges a
/// replayed QUEUED run and ignores a RUNNING one). Before each request the chunk is re-read
/// and only unchanged runs are sent; after a crash an in-doubt chunk is judged the same way,
/// and so is a run the server accepted but dropped before it is sent again, so nothing is
/// replayed twice. Requests go one at a time through a closed-loop pacer, since the server loses
/// replay batches that arrive while it still applies the previous one (D3): after each request
/// its runs are re-read until a retry count has risen, and only then does the next go.
pub struct RunsReplay {
    selection: RunSelection,
    /// How long the server's lists may lag behind an accepted replay: an in-doubt chunk that
    /// shows no change is read again after this long before anything is resent, and a request
    /// not seen applied within it counts as (partly) lost.
    settle: Duration,
    pacer: Pacer,
    /// What the next request waits to see applied (see `last_request_applied`); only touched
    /// inside the pacer.
    watch: std::sync::Mutex<Watch>,
}

/// The accepted runs of the last replay request, and those of the one before not yet seen
/// replayed when the last was let go.
#[derive(Default)]
struct Watch {
    last: Vec<Item>,
    sent_at: Option<tokio::time::Instant>,
    before: Vec<Item>,
    /// The last look's read of the runs the next request may take, for its check.
    ahead: Option<ReadAhead>,
}

/// The current state of some runs, read at one moment.
struct ReadAhead {
    at: tokio::time::Instant,
    current: HashMap<String, RunSnapshot>,
}

impl ReadAhead {
    /// The read, if it shows every one of `items` and is at most `max_age` old.
    fn covering(self, items: &[Item], max_age: Duration) -> Option<HashMap<String, RunSnapshot>> {
        let fresh = self.at.elapsed() <= max_age;
        (fresh && items.iter().all(|i| self.current.contains_key(&i.id))).then_some(self.current)
    }
}

/// The distinct enumerated statuses of `items`, or `None` if one has a status this build cannot
/// name (then nothing may be filtered on it).
fn enumerated_statuses(items: &[Item]) -> Option<Vec<RunStatus>> {
    let mut statuses: Vec<RunStatus> = Vec::new();
    for item in items {
        let status = baseline(item)?.status.parse::<RunStatus>().ok()?;
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    Some(statuses)
}

/// What the current state of a run says about a replay.
#[derive(Debug, PartialEq)]
enum Judgement {
    /// The retry count rose above the baseline.
    Replayed {
        from: i64,
        to: i64,
    },
    /// QUEUED or RUNNING now, without a new retry.
    Active(String),
    /// The status moved away from the enumerated one without a new retry.
    Changed {
        from: String,
        to: String,
    },
    Gone,
    Unchanged,
}

fn judge(baseline: &RunSnapshot, current: Option<&RunSnapshot>) -> Judgement {
    match current {
        None => Judgement::Gone,
        Some(now) if now.retry > baseline.retry => Judgement::Replayed {
            from: baseline.retry,
            to: now.retry,
        },
        Some(now) if now.is_active() => Judgement::Active(now.status.clone()),
        Some(now) if now.status != baseline.status => Judgement::Changed {
            from: baseline.status.clone(),
            to: now.status.clone(),
        },
        Some(_) => Judgement::Unchanged,
    }
}

/// When a run is judged: the words of the outcome, and whether an active run is final.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Moment {
    /// Just before its request: anything but unchanged means "do not send".
    BeforeSend,
    /// After an accepted request: an active run may be our replay under way.
    AfterSend,
    /// In a chunk a crash left in doubt.
    InDoubt,
}

fn still_active(status: &str) -> String {
    format!("still active ({status}): replaying it would wedge a QUEUED run on Hatchet (it would never start, and could stall the other queued runs of its workflow) or be ignored for a RUNNING one; replay it once it has finished")
}

fn baseline(item: &Item) -> Option<RunSnapshot> {
    item.payload
        .as_ref()
        .and_then(|p| serde_json::from_value(p.clone()).ok())
}

/// A run's id and creation time, as a re-read takes them.
fn reread_keys(items: &[Item]) -> Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> {
    items
        .iter()
        .map(|i| (i.id.clone(), baseline(i).and_then(|b| b.created_at)))
        .collect()
}

fn task_count(item: &Item) -> usize {
    baseline(item).map_or(1, |b| b.tasks.len().max(1))
}

/// The leading runs of `items` that fit in one request of at most `max_tasks` tasks (at least
/// one run: a bigger DAG run goes alone).
fn first_request(items: &[Item], max_tasks: usize) -> &[Item] {
    let mut tasks = 0;
    let fit = items
        .iter()
        .take_while(|item| {
            tasks += task_count(item);
            tasks <= max_tasks
        })
        .count();
    &items[..fit.max(1).min(items.len())]
}

/// The outcome a judgement gives at `moment`; `None` leaves the run undecided (unchanged, or
/// active right after its replay was accepted).
fn decide(item: &Item, judgement: Judgement, moment: Moment) -> Option<ItemOutcome> {
    let (state, reason) = match judgement {
        Judgement::Unchanged => return None,
        Judgement::Active(_) if moment == Moment::AfterSend => return None,
        Judgement::Active(status) => (ItemState::Skipped, still_active(&status)),
        Judgement::Gone => (ItemState::Skipped, "no longer found on the server".into()),
        // Before the first request for it, a risen retry count is someone else's replay (another
        // state file, host or tool): this job did not replay it, and must not.
        Judgement::Replayed { from, to } if moment == Moment::BeforeSend && item.attempts == 0 => (
            ItemState::Skipped,
            format!("replayed by someone else since this job enumerated it (retry count {from} -> {to}): not sent"),
        ),
        Judgement::Replayed { from, to } => {
            let when = match moment {
                Moment::BeforeSend => "replayed late by an earlier request of this job, so not sent again",
                Moment::AfterSend => "replayed",
                Moment::InDoubt => "replayed before the interruption",
            };
            (ItemState::Done, format!("{when} (retry count {from} -> {to})"))
        }
        Judgement::Changed { from, to } => (
            ItemState::Skipped,
            format!("status changed from {from} to {to} since enumeration without a new retry: not replayed"),
        ),
    };
    Some(item_outcome(item, state, reason, None, 0))
}

impl RunsReplay {
    /// `interval`: the least time between the answer to one replay request and the next
    /// request, which also waits for the last to show applied.
    pub fn new(selection: RunSelection, settle: Duration, interval: Duration) -> Self {
        RunsReplay {
            selection,
            settle,
            pacer: Pacer::new(interval, REQUEST_TASKS),
            watch: std::sync::Mutex::default(),
        }
    }

    fn request_timeout(&self, items: &[Item]) -> Duration {
        let tasks: usize = items.iter().map(task_count).sum();
        self.selection.client().timeout() + TIMEOUT_PER_TASK * tasks as u32
    }

    /// The current state of the items' runs, in one re-read; a run absent is gone.
    async fn read_states(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<HashMap<String, RunSnapshot>, HatchetError> {
        self.selection
            .reread(caller, &reread_keys(items), &[])
            .await
    }

    /// As `read_states`, for runs about to be sent, which are expected unchanged: the list takes
    /// only their enumerated statuses (what left them is read by its details).
    async fn read_before_send(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<HashMap<String, RunSnapshot>, HatchetError> {
        let Some(statuses) = enumerated_statuses(items) else {
            return self.read_states(caller, items).await;
        };
        self.selection
            .reread(caller, &reread_keys(items), &statuses)
            .await
    }

    /// Re-reads the items and decides each at `moment`: an outcome for each run whose fate is
    /// now known, `None` for the undecided ones (at `BeforeSend`: the ones that may be sent).
    async fn judge_items(
        &self,
        caller: &Caller,
        items: &[Item],
        moment: Moment,
    ) -> Result<Vec<(Item, Option<ItemOutcome>)>, HatchetError> {
        let current = self.read_states(caller, items).await?;
        Ok(Self::judge_read(items, &current, moment))
    }

    /// Decides each item at `moment` from a read of the runs' current state.
    fn judge_read(
        items: &[Item],
        current: &HashMap<String, RunSnapshot>,
        moment: Moment,
    ) -> Vec<(Item, Option<ItemOutcome>)> {
        items
            .iter()
            .map(|item| {
                let decided = match baseline(item) {
                    Some(base) => decide(item, judge(&base, current.get(&item.id)), moment),
                    None => Some(item_outcome(
                        item,
                        ItemState::Failed,
                        "no enumerated state of this run in the store, so a replay could not be checked: nothing was sent".into(),
                        None,
                        0,
                    )),
                };
                (item.clone(), decided)
            })
            .collect()
    }

    /// Outcomes of an accepted replay request, from the TASK ids it returned.
    fn accepted(items: &[Item], returned: &[String], attempts: u32) -> Vec<ItemOutcome> {
        let returned: HashSet<&str> = returned.iter().map(String::as_str).collect();
        items
            .iter()
            .map(|item| {
                let tasks = baseline(item).map(|b| b.tasks).unwrap_or_default();
                let (got, of) = if tasks.is_empty() {
                    (usize::from(returned.contains(item.id.as_str())), 1)
                } else {
                    let got = tasks.iter().filter(|t| returned.contains(t.as_str())).count();
                    (got, tasks.len())
                };
                let (state, reason) = if got == of {
                    (ItemState::Sent, None)
                } else if got == 0 {
                    (ItemState::Skipped, Some("the server returned none of its task ids: unknown run, another tenant's, or its steps were deleted".to_string()))
                } else {
                    (ItemState::Failed, Some(format!("only {got} of {of} DAG tasks were accepted for replay; check this run by hand")))
                };
                ItemOutcome {
                    id: item.id.clone(),
                    state,
                    reason,
                    http_status: Some(200),
                    attempts,
                }
            })
            .collect()
    }

    /// Waits until the last request shows applied, or `settle` has passed since it was sent:
    /// the closed loop's signal that the server is ready for the next request. A request of at
    /// most 100 tasks is applied as one batch under the server's replay lock, so the first of its
    /// runs seen replayed means the lock is free again; the rest show later (the lists lag, by
    /// seconds under load), and are looked at once more while the next request is awaited. Only
    /// the pace learns from it: the runs' outcomes are verification's, their chunk being recorded
    /// already. Lost: none was seen within `settle`, or runs of the request before were still
    /// unchanged once the last showed applied; applied: all of the request before (if it was left
    /// open) or of the last were seen.
    ///
    /// Each look is one list page over the runs still in their enumerated statuses (runs created
    /// at one instant share a span, and a list of all of them is 1,000 rows, half a second to
    /// two): newest first, the request before's and the last's still unapplied runs come first,
    /// then `upcoming` (the runs the next request may take), whose read is kept for that
    /// request's check. A run absent from a page that holds every such run has left its status;
    /// absent from a full page, its details tell (one call, for the first such run of the last
    /// request).
    async fn last_request_applied(&self, caller: &Caller, upcoming: &[Item]) -> Delivery {
        let Watch {
            mut last,
            sent_at,
            mut before,
            ahead: _,
        } = std::mem::take(&mut *self.watch_lock());
        let (Some(sent_at), false) = (sent_at, last.is_empty()) else {
            return Delivery::Unknown;
        };
        let (sent, before_left) = (last.len(), !before.is_empty());
        let deadline = sent_at + self.settle;
        let mut polls = 0u32;
        loop {
            polls += 1;
            let now = tokio::time::Instant::now();
            tokio::time::sleep(APPLY_POLL.min(deadline.saturating_duration_since(now))).await;
            let looked = self.look(caller, &before, &last, upcoming, polls as usize - 1);
            let Ok((current, unseen)) = looked.await else {
                return Delivery::Unknown;
            };
            self.watch_lock().ahead = Some(ReadAhead {
                at: tokio::time::Instant::now(),
                current,
            });
            last.retain(|i| unseen.contains(&i.id));
            before.retain(|i| unseen.contains(&i.id));
            if last.len() < sent {
                // One verdict per request: the one before's, if it was left open, else the last's.
                let delivery = if !before.is_empty() {
                    Delivery::Lost
                } else if before_left || last.is_empty() {
                    Delivery::Applied
                } else {
                    Delivery::Unknown
                };
                self.watch_lock().before = last;
                tracing::debug!(
                    waited_ms = sent_at.elapsed().as_millis() as u64,
                    polls,
                    ?delivery,
                    "replay request seen applied"
                );
                return delivery;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::debug!(
                    waited_ms = sent_at.elapsed().as_millis() as u64,
                    polls,
                    "replay request not seen applied within the settle time: counted as lost"
                );
                return Delivery::Lost;
            }
        }
    }

    /// One look (the `look`-th for this request) for the last request applied, which also reads the runs of the one before not
    /// seen yet and `upcoming`: the state of the upcoming runs it shows, and which of `before` and
    /// `last` are not seen replayed (or otherwise decided) yet. A run counts as unseen only when
    /// the page shows it unchanged (or, for the last request, its details do): a loss is told
    /// from what is seen, and a run the page did not reach once the request showed applied
    /// says nothing.
    async fn look(
        &self,
        caller: &Caller,
        before: &[Item],
        last: &[Item],
        upcoming: &[Item],
        look: usize,
    ) -> Result<(HashMap<String, RunSnapshot>, HashSet<String>), HatchetError> {
        let sent: Vec<Item> = before.iter().chain(last).cloned().collect();
        let asked: Vec<Item> = sent.iter().chain(upcoming).cloned().collect();
        let Some(statuses) = enumerated_statuses(&asked) else {
            // No status to list by: the runs' whole span, as verification reads it.
            let current = self.read_states(caller, &asked).await?;
            return Ok((current.clone(), Self::undecided(&sent, &current)));
        };
        // Room for as many rows again: runs of the span not asked for (of slices not reached
        // yet, in a request that spans several) come first when they are newer.
        let (mut current, complete) = self
            .selection
            .page_in_status(caller, &reread_keys(&asked), &statuses, asked.len() * 2)
            .await?;
        // Shown on the page, a run may still have been replayed (its status the same).
        let mut unseen = Self::undecided(&sent, &current);
        unseen.retain(|id| current.contains_key(id));
        // Absent from a full page: gone past it, or out of its statuses. If nothing of the last
        // request is seen otherwise, the details of a few such runs tell whether it was applied
        // (a few others each look: its runs show at different times, seconds apart).
        let (absent, shown): (Vec<&Item>, Vec<&Item>) = last
            .iter()
            .partition(|i| !complete && !current.contains_key(&i.id));
        let seen_on_page = shown.iter().any(|i| !unseen.contains(&i.id));
        if !seen_on_page && !absent.is_empty() {
            let start = look * DETAILS_SAMPLE % absent.len();
            let sample: Vec<Item> = absent
                .iter()
                .cycle()
                .skip(start)
                .take(DETAILS_SAMPLE.min(absent.len()))
                .map(|i| (*i).clone())
                .collect();
            if !self.any_seen(caller, &sample).await? {
                // None applied yet: neither is the rest of its batch.
                unseen.extend(absent.iter().map(|i| i.id.clone()));
            }
        }
        let upcoming_ids: HashSet<&str> = upcoming.iter().map(|i| i.id.as_str()).collect();
        current.retain(|id, _| upcoming_ids.contains(id.as_str()));
        Ok((current, unseen))
    }

    /// Whether any of `sample` shows replayed (or otherwise decided), from their details: the
    /// first alone, then the rest at once if that one came back within a poll's pause (a low
    /// `--rate` is not spent on them).
    async fn any_seen(&self, caller: &Caller, sample: &[Item]) -> Result<bool, HatchetError> {
        let Some((first, rest)) = sample.split_first() else {
            return Ok(false);
        };
        let started = tokio::time::Instant::now();
        for part in [std::slice::from_ref(first), rest] {
            let ids: Vec<String> = part.iter().map(|i| i.id.clone()).collect();
            let read: HashMap<String, RunSnapshot> = self
                .selection
                .snapshots(caller, &ids)
                .await?
                .into_iter()
                .filter_map(|run| Some((run.id, run.snapshot?)))
                .collect();
            if Self::undecided(part, &read).len() < part.len() {
                return Ok(true);
            }
            if started.elapsed() > APPLY_POLL {
                break;
            }
        }
        Ok(false)
    }

    /// The ids of `items` whose state in `current` decides nothing after their request (unchanged,
    /// or active with their replay under way).
    fn undecided(items: &[Item], current: &HashMap<String, RunSnapshot>) -> HashSet<String> {
        Self::judge_read(items, current, Moment::AfterSend)
            .into_iter()
            .filter(|(_, decided)| decided.is_none())
            .map(|(item, _)| item.id)
            .collect()
    }

    fn watch_lock(&self) -> std::sync::MutexGuard<'_, Watch> {
        self.watch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One paced section: the next request's worth of `items` (at most `max_tasks` tasks) is
    /// re-read and sent, and its accepted runs are left to watch. Returns its outcomes and how
    /// many items it took.
    async fn send_next(
        &self,
        caller: &Caller,
        items: &[Item],
        max_tasks: usize,
    ) -> (Vec<ItemOutcome>, usize) {
        let request = first_request(items, max_tasks);
        let outcomes = self.check_and_send(caller, request).await;
        let accepted: HashSet<&str> = outcomes
            .iter()
            .filter(|o| o.state == ItemState::Sent)
            .map(|o| o.id.as_str())
            .collect();
        let mut watch = self.watch_lock();
        watch.last = request
            .iter()
            .filter(|i| accepted.contains(i.id.as_str()))
            .cloned()
            .collect();
        watch.sent_at = Some(tokio::time::Instant::now());
        tracing::debug!(
            runs = request.len(),
            max_tasks,
            sent = watch.last.len(),
            "replay request"
        );
        drop(watch);
        (outcomes, request.len())
    }

    /// Re-reads the chunk and replays the runs that are unchanged since enumeration.
    async fn check_and_send(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        // Runs that changed since enumeration were replayed already (by someone else, or by a
        // request of this job the server ran late) or are active now: sending them would replay
        // twice, wedge them, or be ignored.
        let ahead = self.watch_lock().ahead.take();
        let current = match ahead.and_then(|read| read.covering(items, READ_AHEAD_MAX_AGE)) {
            Some(current) => current,
            None => match self.read_before_send(caller, items).await {
                Ok(current) => current,
                // Nothing was sent: a read that failed for transient reasons keeps them pending.
                Err(e) => return request_failed(items, &e, 0, "re-read before the replay", false),
            },
        };
        let judged = Self::judge_read(items, &current, Moment::BeforeSend);
        let (decided, to_send): (Vec<_>, Vec<_>) =
            judged.into_iter().partition(|(_, o)| o.is_some());
        let mut outcomes: Vec<ItemOutcome> = decided.into_iter().filter_map(|(_, o)| o).collect();
        let to_send: Vec<Item> = to_send.into_iter().map(|(i, _)| i).collect();
        if to_send.is_empty() {
            return outcomes;
        }
        let ids: Vec<String> = to_send.iter().map(|i| i.id.clone()).collect();
        let timeout = self.request_timeout(&to_send);
        let client = self.selection.client();
        let (result, attempts) = caller
            .call("hatchet.tasks.replay", false, || {
                client.replay(&ids, timeout)
            })
            .await;
        match result {
            Ok(returned) => outcomes.extend(Self::accepted(&to_send, &returned, attempts)),
            Err(e) if e.certainly_not_applied() => outcomes.extend(request_failed(
                &to_send,
                &e,
                attempts,
                "replay request",
                false,
            )),
            Err(e) => {
                // The server may have queued some batches: find out, never resend blindly. What
                // shows no replay yet awaits verification like an accepted request (and is sent
                // again only once a re-read proves it unchanged).
                tokio::time::sleep(self.settle).await;
                let undecided = request_failed(&to_send, &e, attempts, "replay request", true);
                match self.judge_items(caller, &to_send, Moment::AfterSend).await {
                    Ok(judged) => outcomes.extend(
                        judged
                            .into_iter()
                            .zip(undecided)
                            .map(|((_, decided), fallback)| decided.unwrap_or(fallback)),
                    ),
                    Err(_) => outcomes.extend(undecided),
                }
            }
        }
        outcomes
    }
}

#[async_trait]
impl Operation for RunsReplay {
    fn initial_cursor(&self) -> String {
        self.selection.initial_cursor()
    }

    async fn enumerate(&self, caller: &Caller, cursor: &str) -> Result<Page, OpError> {
        let (runs, next_cursor, scope) = self.selection.next_slice(caller, cursor).await?;
        let items = runs
            .into_iter()
            .map(|run| {
                let snapshot = run.snapshot.clone();
                let mut item = run.into_item(snapshot.as_ref().map(|s| serde_json::json!(s)));
                if let Some(s) = snapshot.filter(RunSnapshot::is_active) {
                    item.settled = Some((ItemState::Skipped, still_active(&s.status)));
                }
                item
            })
            .collect();
        Ok(Page {
            items,
            next_cursor,
            scope: Some(scope),
        })
    }

    fn sending(&self) -> Sending {
        Sending::ONCE
    }

    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        // Inside the pacer: the re-read is as fresh as it can be, one replay request is in
        // flight at a time, and the next goes once the previous one shows applied.
        let mut outcomes = Vec::with_capacity(items.len());
        let mut rest = items;
        while !rest.is_empty() {
            let upcoming = first_request(rest, REQUEST_TASKS.max);
            let (sent, taken) = self
                .pacer
                .run(self.last_request_applied(caller, upcoming), |max_tasks| {
                    self.send_next(caller, rest, max_tasks)
                })
                .await;
            outcomes.extend(sent);
            rest = &rest[taken..];
        }
        outcomes
    }

    async fn verify(
        &self,
        caller: &Caller,
        _scope: Option<&serde_json::Value>,
        items: &[Item],
    ) -> Result<Vec<ItemOutcome>, OpError> {
        let judged = self.judge_items(caller, items, Moment::AfterSend).await?;
        Ok(judged.into_iter().filter_map(|(_, o)| o).collect())
    }

    /// A run still unchanged after `--verify-timeout` (and re-read again just before its next
    /// request) was not replayed, so sending it again cannot replay it twice.
    fn resend_unconfirmed(&self) -> Option<Resend> {
        Some(Resend {
            rounds: RESEND_ROUNDS,
            reason: DROPPED,
        })
    }

    async fn reconcile(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<Vec<(Item, Option<ItemOutcome>)>, OpError> {
        let mut judged = self.judge_items(caller, items, Moment::InDoubt).await?;
        let unchanged: Vec<Item> = judged
            .iter()
            .filter(|(_, o)| o.is_none())
            .map(|(i, _)| i.clone())
            .collect();
        if unchanged.is_empty() || self.settle.is_zero() {
            return Ok(judged);
        }
        // The lists lag: look again before declaring these safe to resend.
        tokio::time::sleep(self.settle).await;
        let again: HashMap<String, Option<ItemOutcome>> = self
            .judge_items(caller, &unchanged, Moment::InDoubt)
            .await?
            .into_iter()
            .map(|(i, o)| (i.id, o))
            .collect();
        for (item, decided) in &mut judged {
            if decided.is_none() {
                *decided = again.get(&item.id).cloned().flatten();
            }
        }
        Ok(judged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(status: &str, retry: i64, tasks: &[&str]) -> RunSnapshot {
        RunSnapshot {
            status: status.into(),
            retry,
            created_at: None,
            tasks: tasks.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn item(id: &str, base: &RunSnapshot) -> Item {
        Item {
            seq: 1,
            id: id.into(),
            page: 1,
            payload: Some(serde_json::json!(base)),
            attempts: 0,
        }
    }

    #[test]
    fn judges_against_the_enumerated_baseline() {
        let base = snap("FAILED", 1, &[]);
        assert_eq!(judge(&base, None), Judgement::Gone);
        assert_eq!(
            judge(&base, Some(&snap("FAILED", 1, &[]))),
            Judgement::Unchanged
        );
        assert_eq!(
            judge(&base, Some(&snap("QUEUED", 2, &[]))),
            Judgement::Replayed { from: 1, to: 2 }
        );
        assert_eq!(
            judge(&base, Some(&snap("COMPLETED", 1, &[]))),
            Judgement::Changed {
                from: "FAILED".into(),
                to: "COMPLETED".into()
            }
        );
        for status in ["QUEUED", "RUNNING"] {
            assert_eq!(
                judge(&base, Some(&snap(status, 1, &[]))),
                Judgement::Active(status.into())
            );
        }
    }

    #[test]
    fn an_active_run_is_never_sent_but_may_be_our_replay_after_sending() {
        let base = snap("FAILED", 0, &[]);
        let run = item("r1", &base);
        let active = || judge(&base, Some(&snap("QUEUED", 0, &[])));
        for moment in [Moment::BeforeSend, Moment::InDoubt] {
            let skipped = decide(&run, active(), moment).expect("decided");
            assert_eq!(skipped.state, ItemState::Skipped);
            assert!(skipped
                .reason
                .unwrap()
                .starts_with("still active (QUEUED): replaying it would wedge"));
        }
        assert_eq!(decide(&run, active(), Moment::AfterSend), None);
        assert_eq!(
            decide(&run, judge(&base, Some(&base)), Moment::BeforeSend),
            None
        );
        let replayed = || judge(&base, Some(&snap("QUEUED", 1, &[])));
        let elsewhere = decide(&run, replayed(), Moment::BeforeSend).expect("decided");
        assert_eq!(elsewhere.state, ItemState::Skipped);
        assert!(elsewhere.reason.unwrap().starts_with(
            "replayed by someone else since this job enumerated it (retry count 0 -> 1)"
        ));
        let resent = Item {
            attempts: 1,
            ..run.clone()
        };
        let late = decide(&resent, replayed(), Moment::BeforeSend).expect("decided");
        assert_eq!(late.state, ItemState::Done);
        assert!(late
            .reason
            .unwrap()
            .contains("not sent again (retry count 0 -> 1)"));
    }

    #[test]
    fn a_request_takes_the_leading_whole_runs_that_fit_its_tasks() {
        let dag = |n: usize| {
            let tasks: Vec<String> = (0..n).map(|t| format!("t{t}")).collect();
            let tasks: Vec<&str> = tasks.iter().map(String::as_str).collect();
            item("d", &snap("FAILED", 0, &tasks))
        };
        let taken = |items: &[Item], max: usize| first_request(items, max).len();
        let standalone: Vec<Item> = (0..150)
            .map(|_| item("r", &snap("FAILED", 0, &[])))
            .collect();
        assert_eq!(taken(&standalone, REQUEST_TASKS.max), 100);
        assert_eq!(taken(&standalone[..30], REQUEST_TASKS.max), 30);
        let dags: Vec<Item> = (0..50).map(|_| dag(3)).collect();
        assert_eq!(taken(&dags, 100), 33, "99 tasks");
        assert_eq!(taken(&dags, 50), 16, "48 tasks");
        assert_eq!(taken(&[dag(150), dag(2)], 100), 1, "a big DAG goes alone");
        assert_eq!(taken(&[dag(2), dag(150)], 100), 1);
        assert_eq!(taken(&dags, 1), 1, "at least one run");
        assert!(first_request(&[], 100).is_empty());
    }

    #[test]
    fn reads_task_ids_of_the_response() {
        let standalone = item("r1", &snap("FAILED", 0, &[]));
        let dag = item("d1", &snap("FAILED", 0, &["t1", "t2"]));
        let half = item("d2", &snap("FAILED", 0, &["t3", "t4"]));
        let unknown = item("r2", &snap("FAILED", 0, &[]));
        let returned = ["r1", "t1", "t2", "t3"].map(String::from);
        let got = RunsReplay::accepted(&[standalone, dag, half, unknown], &returned, 1);
        let states: Vec<ItemState> = got.iter().map(|o| o.state).collect();
        assert_eq!(
            states,
            vec![
                ItemState::Sent,
                ItemState::Sent,
                ItemState::Failed,
                ItemState::Skipped
            ]
        );
        assert!(got[2].reason.as_deref().unwrap().contains("1 of 2"));
        assert!(got
            .iter()
            .all(|o| o.http_status == Some(200) && o.attempts == 1));
    }
}
