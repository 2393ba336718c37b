use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
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
    one_request_at_a_time: false,
    undo: Undo::Impossible,
};

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

    async fn cancel_one(
        &self,
        caller: &Caller,
        item: &Item,
        target: &Cancellation,
    ) -> Result<ItemOutcome, (HandingerError, u32)> {
        let client = self.pages.client();
        let (answer, attempts) = caller
            .call(true, || {
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

    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        let mut outcomes = Vec::with_capacity(items.len());
        let mut unreachable: Option<String> = None;
        for item in items {
            if let Some(why) = &unreachable {
                // The server stopped answering: the rest is not sent, and stays pending.
                outcomes.push(item_outcome(item, ItemState::Pending, why.clone(), None, 0));
                continue;
            }
            let Some(target) = target_of(item) else {
                let reason = "unreadable schedule in the state store: not cancelled".to_string();
                outcomes.push(item_outcome(item, ItemState::Failed, reason, None, 0));
                continue;
            };
            match self.cancel_one(caller, item, &target).await {
                Ok(outcome) => outcomes.push(outcome),
                Err((e, attempts)) if e.is_transient() => {
                    let why = format!("not sent: the cancel did not get through ({e})");
                    outcomes.push(item_outcome(
                        item,
                        ItemState::Pending,
                        why.clone(),
                        e.status(),
                        attempts,
                    ));
                    unreachable = Some(why);
                }
                Err((e, attempts)) => {
                    let reason = format!("cancel refused: {e}");
                    outcomes.push(item_outcome(
                        item,
                        ItemState::Failed,
                        reason,
                        e.status(),
                        attempts,
                    ));
                }
            }
        }
        outcomes
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
                    .call(true, || client.list_schedules(&target.worker))
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
