use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::handinger_selection::{item_id, unknown_type_item, WorkerPages};
use super::{item_outcome, OpError, Operation, Page, Rules, Sending, Undo};
use crate::backend::handinger::models::WorkerSchedule;
use crate::backend::handinger::{CancelAnswer, HandingerError};
use crate::engine::{Caller, Failure};
use crate::store::{Item, ItemOutcome, ItemState, NewItem};

/// One request per schedule (the API has no bulk cancel): a chunk is a batch of requests.
pub const RULES: Rules = Rules {
    chunk_default: 50,
    chunk_max: 500,
    concurrency_cap: None,
    undo: Undo::Impossible,
};

/// Cancels of one chunk in flight at once.
const IN_FLIGHT: usize = 16;

/// What an item keeps: where the schedule lives and what it was, so a report (and a later
/// undo) can name and re-make it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cancellation {
    pub worker: String,
    pub schedule: WorkerSchedule,
}

fn target_of(item: &Item) -> Option<Cancellation> {
    item.payload
        .as_ref()
        .and_then(|p| serde_json::from_value(p.clone()).ok())
}

/// `bulkops handinger schedules cancel`: lists each worker's schedules, keeps those the
/// selection picks, and cancels them one request each. `{"cancelled": false}` and 404 are
/// outcomes with a reason. A cancel is harmless to repeat, but a repeat cannot tell our own
/// lost cancel from someone else's: so a chunk is marked before it is sent, and one a crash
/// interrupted is checked against the worker's list before the rest is sent again. A cancel
/// takes effect when answered, so nothing is left to verify.
pub struct HandingerCancel {
    pages: WorkerPages,
}

impl HandingerCancel {
    pub fn new(pages: WorkerPages) -> Self {
        HandingerCancel { pages }
    }

    /// One item of a chunk; `unreachable` says why the server stopped answering, once it did.
    async fn execute_one(
        &self,
        caller: &Caller,
        item: &Item,
        unreachable: &Mutex<Option<String>>,
    ) -> ItemOutcome {
        let stopped = unreachable.lock().map(|u| u.clone()).unwrap_or_default();
        if let Some(why) = stopped {
            return item_outcome(item, ItemState::Pending, why, None, 0);
        }
        let Some(target) = target_of(item) else {
            let reason = "unreadable schedule in the state store: not cancelled".to_string();
            return item_outcome(item, ItemState::Failed, reason, None, 0);
        };
        match self.cancel_one(caller, item, &target).await {
            Ok(outcome) => outcome,
            Err((e, attempts)) if e.is_transient() => {
                let why = format!("not sent: the cancel did not get through ({e})");
                if let Ok(mut u) = unreachable.lock() {
                    u.get_or_insert_with(|| why.clone());
                }
                item_outcome(item, ItemState::Pending, why, e.status(), attempts)
            }
            Err((e, attempts)) => {
                let reason = format!("cancel refused: {e}");
                item_outcome(item, ItemState::Failed, reason, e.status(), attempts)
            }
        }
    }

    async fn cancel_one(
        &self,
        caller: &Caller,
        item: &Item,
        target: &Cancellation,
    ) -> Result<ItemOutcome, (HandingerError, u32)> {
        let client = self.pages.client();
        let (answer, attempts) = caller
            .call("handinger.schedules.cancel", true, || {
                client.cancel_schedule(&target.worker, &target.schedule.id)
            })
            .await;
        let answer = answer.map_err(|e| (e, attempts))?;
        // An earlier attempt (this process's, or one before a crash) may have cancelled it with
        // its answer lost: then "already gone" is our own cancel.
        let sent_before = attempts > 1 || item.attempts > 0;
        let (state, reason, status) = match answer {
            CancelAnswer::Cancelled => (ItemState::Done, None, 200),
            CancelAnswer::NotCancelled if sent_before => (
                ItemState::Done,
                Some("cancelled: an earlier attempt's answer was lost, and the server now answers {\"cancelled\": false} (already cancelled)".to_string()),
                200,
            ),
            CancelAnswer::NotFound if sent_before => (
                ItemState::Done,
                Some("cancelled: an earlier attempt's answer was lost, and the server no longer has it (404)".to_string()),
                404,
            ),
            CancelAnswer::NotCancelled => (
                ItemState::Skipped,
                Some("the server answered {\"cancelled\": false}: it was already cancelled".to_string()),
                200,
            ),
            CancelAnswer::NotFound => (
                ItemState::Skipped,
                Some("no longer on the server (404): it ran, or was cancelled elsewhere".to_string()),
                404,
            ),
        };
        Ok(ItemOutcome {
            id: item.id.clone(),
            state,
            reason,
            http_status: Some(status),
            attempts,
        })
    }
}

#[async_trait]
impl Operation for HandingerCancel {
    fn initial_cursor(&self) -> String {
        WorkerPages::initial_cursor()
    }

    async fn enumerate(&self, caller: &Caller, cursor: &str) -> Result<Page, OpError> {
        let page = self.pages.next_page(caller, cursor).await?;
        let filter = self.pages.filter();
        let items = page
            .schedules
            .into_iter()
            .filter(|s| filter.selects(s))
            .map(|schedule| {
                if schedule.schedule_type().is_none() {
                    return unknown_type_item(&page.worker, &schedule);
                }
                let mut item = NewItem::new(item_id(&page.worker, &schedule));
                let kept = Cancellation {
                    worker: page.worker.clone(),
                    schedule,
                };
                item.payload = serde_json::to_value(kept).ok();
                item
            })
            .collect();
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
            scope: None,
        })
    }

    fn sending(&self) -> Sending {
        Sending::ONCE
    }

    /// A chunk's cancels go out `IN_FLIGHT` at a time, under the process's rate limit: one
    /// after another, each retry's backoff would hold up the whole chunk. Once one did not get
    /// through after its retries, the server stopped answering: what was not sent yet is not
    /// sent, and stays pending.
    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        let unreachable = &Mutex::new(None);
        // Futures do nothing until polled: the stream starts them IN_FLIGHT at a time.
        let each: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(n, item)| async move { (n, self.execute_one(caller, item, unreachable).await) })
            .collect();
        let mut outcomes: Vec<(usize, ItemOutcome)> = futures::stream::iter(each)
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        outcomes.sort_by_key(|(n, _)| *n);
        outcomes.into_iter().map(|(_, outcome)| outcome).collect()
    }

    /// A schedule of an interrupted chunk that its worker no longer lists was cancelled by the
    /// interrupted attempt (or ran meanwhile); the others are sent again.
    async fn reconcile(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<Vec<(Item, Option<ItemOutcome>)>, OpError> {
        let mut listed: HashMap<String, HashSet<String>> = HashMap::new();
        let mut decided = Vec::with_capacity(items.len());
        let client = self.pages.client();
        for item in items {
            let Some(target) = target_of(item) else {
                decided.push((item.clone(), None));
                continue;
            };
            if !listed.contains_key(&target.worker) {
                let (schedules, _) = caller
                    .call("handinger.schedules.list", true, || {
                        client.list_schedules(&target.worker)
                    })
                    .await;
                let ids = schedules?.into_iter().map(|s| s.id).collect();
                listed.insert(target.worker.clone(), ids);
            }
            let still_there = listed
                .get(&target.worker)
                .is_some_and(|ids| ids.contains(&target.schedule.id));
            let outcome = (!still_there).then(|| {
                let reason =
                    "cancelled by an attempt a crash interrupted: the worker no longer lists it"
                        .to_string();
                item_outcome(item, ItemState::Done, reason, None, 1)
            });
            decided.push((item.clone(), outcome));
        }
        Ok(decided)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::backend::handinger::models::ScheduleType;
    use crate::backend::handinger::testing::Sim;
    use crate::ops::handinger_selection::harness::{caller, count, enumerate_all, run_to_end};
    use crate::ops::HandingerSelection;

    fn cancel_op(sim: &Sim, selection: HandingerSelection) -> HandingerCancel {
        let filter = selection
            .resolve(chrono::Utc::now())
            .expect("a valid selection");
        HandingerCancel::new(WorkerPages::new(sim.client(Duration::from_secs(5)), filter))
    }

    async fn seed(sim: &Sim, workers: usize, per_worker: usize) -> Vec<String> {
        let seeded = sim
            .control(
                "/_sim/seed",
                Some(json!({"workers": workers, "per_worker": per_worker})),
            )
            .await;
        serde_json::from_value(seeded["workers"].clone()).expect("worker ids")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancels_10000_schedules_on_50_workers_once_under_20_percent_faults_and_drops() {
        let sim = Sim::start().await;
        let workers = seed(&sim, 50, 200).await;
        let faults = json!({"error_rate": 0.08, "rate_limited_rate": 0.06, "retry_after_ms": 2, "drop_rate": 0.06});
        sim.control("/_sim/faults", Some(faults)).await;
        let op = cancel_op(
            &sim,
            HandingerSelection {
                workers,
                ..HandingerSelection::default()
            },
        );
        let caller = caller();
        let (items, settled) = enumerate_all(&op, &caller).await;
        assert_eq!((items.len(), settled.len()), (10_000, 0));
        let outcomes = run_to_end(&op, &caller, items, 50).await;
        assert_eq!(
            count(&outcomes, ItemState::Done),
            10_000,
            "{:?}",
            outcomes.values().find(|o| o.state != ItemState::Done)
        );
        let stats = sim.control("/_sim/stats", None).await;
        assert_eq!(stats["schedules"], 0);
        assert_eq!(stats["cancels"], 10_000, "each schedule cancelled once");
        assert!(
            stats["requests"]["DELETE /api/workers/{worker_id}/schedules/{schedule_id}"].as_u64()
                > Some(10_000),
            "faults were met"
        );
    }

    #[tokio::test]
    async fn a_404_and_cancelled_false_are_outcomes_with_reasons_not_errors() {
        let sim = Sim::start().await;
        let workers = seed(&sim, 1, 3).await;
        let op = cancel_op(
            &sim,
            HandingerSelection {
                workers: workers.clone(),
                ..HandingerSelection::default()
            },
        );
        let caller = caller();
        let (mut items, _) = enumerate_all(&op, &caller).await;
        let first = target_of(&items[0]).expect("a target");
        let client = sim.client(Duration::from_secs(5));
        client
            .cancel_schedule(&workers[0], &first.schedule.id)
            .await
            .expect("cancelled elsewhere");
        let mut unknown = target_of(&items[1]).expect("a target");
        unknown.schedule.id = "sch_never_known".into();
        items[1].payload = serde_json::to_value(unknown).ok();
        let outcomes = op.execute(&caller, &items).await;
        let states: Vec<_> = outcomes.iter().map(|o| o.state).collect();
        assert_eq!(
            states,
            [ItemState::Skipped, ItemState::Skipped, ItemState::Done]
        );
        assert!(outcomes[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("already cancelled"));
        assert!(outcomes[1].reason.as_deref().unwrap().contains("404"));
        assert_eq!(outcomes[1].http_status, Some(404));
    }

    #[tokio::test]
    async fn an_interrupted_chunk_is_checked_against_the_list_before_anything_is_sent_again() {
        let sim = Sim::start().await;
        let workers = seed(&sim, 2, 3).await;
        let op = cancel_op(
            &sim,
            HandingerSelection {
                workers: workers.clone(),
                ..HandingerSelection::default()
            },
        );
        let caller = caller();
        let (items, _) = enumerate_all(&op, &caller).await;
        let client = sim.client(Duration::from_secs(5));
        for item in [&items[0], &items[4]] {
            let t = target_of(item).expect("a target");
            client
                .cancel_schedule(&t.worker, &t.schedule.id)
                .await
                .expect("the interrupted attempt");
        }
        let decided = op.reconcile(&caller, &items).await.expect("reconciled");
        let done: Vec<usize> = decided
            .iter()
            .enumerate()
            .filter(|(_, (_, o))| o.as_ref().is_some_and(|o| o.state == ItemState::Done))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(done, [0, 4]);
        assert_eq!(
            decided.iter().filter(|(_, o)| o.is_none()).count(),
            4,
            "the rest is sent again"
        );
        let stats = sim.control("/_sim/stats", None).await;
        assert_eq!(stats["mutating_requests"], 2, "reconciling sent nothing");
    }

    #[tokio::test]
    async fn only_what_the_selection_names_is_cancelled() {
        let sim = Sim::start().await;
        let workers = seed(&sim, 2, 40).await;
        let selection = HandingerSelection {
            workers,
            types: vec![ScheduleType::Cron],
            input_contains: Some("worker-0002".into()),
            ..HandingerSelection::default()
        };
        let op = cancel_op(&sim, selection);
        let caller = caller();
        let (items, _) = enumerate_all(&op, &caller).await;
        assert_eq!(items.len(), 10, "a quarter of one worker's 40");
        let outcomes = run_to_end(&op, &caller, items, 50).await;
        assert_eq!(count(&outcomes, ItemState::Done), 10);
        let stats = sim.control("/_sim/stats", None).await;
        assert_eq!(stats["schedules"], 70);
        assert_eq!(stats["schedules_by_type"]["cron"], 10);
    }
}
