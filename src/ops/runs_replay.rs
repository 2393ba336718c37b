use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;

use super::run_selection::RunSnapshot;
use super::{item_outcome, outcome_for_all, OpError, Operation, Page, RunSelection};
use crate::backend::hatchet::HatchetError;
use crate::engine::Caller;
use crate::store::{Item, ItemOutcome, ItemState};

/// The server sends replays in batches of about 100 tasks with a 200 ms pause after each
/// (CONTRACT c); the client waits twice that on top of its base timeout.
const TIMEOUT_PER_TASK: Duration = Duration::from_millis(4);

/// `bulkops runs replay`: replay by id in chunks. Replay is not idempotent (every accepted replay
/// runs the task again), so each item's payload holds the run as enumerated (status, retry
/// count, DAG task ids) and every decision compares the server's current state with it:
/// a run whose retry count rose was replayed; a run whose status changed without one was not
/// replayed by this job (the server skips active runs). Before each request the chunk is
/// re-read and only unchanged runs are sent; after a crash an in-doubt chunk is judged the same
/// way, so nothing is replayed twice.
pub struct RunsReplay {
    selection: RunSelection,
    /// How long the server's lists may lag behind an accepted replay: an in-doubt chunk that
    /// shows no change is read again after this long before anything is resent.
    settle: Duration,
}

/// What the current state of a run says about a replay.
#[derive(Debug, PartialEq)]
enum Judgement {
    /// The retry count rose above the baseline.
    Replayed {
        from: i64,
        to: i64,
    },
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
        Some(now) if now.status != baseline.status => Judgement::Changed {
            from: baseline.status.clone(),
            to: now.status.clone(),
        },
        Some(_) => Judgement::Unchanged,
    }
}

fn baseline(item: &Item) -> Option<RunSnapshot> {
    item.payload
        .as_ref()
        .and_then(|p| serde_json::from_value(p.clone()).ok())
}

impl RunsReplay {
    pub fn new(selection: RunSelection, settle: Duration) -> Self {
        RunsReplay { selection, settle }
    }

    fn request_timeout(&self, items: &[Item]) -> Duration {
        let tasks: usize = items
            .iter()
            .map(|i| baseline(i).map_or(1, |b| b.tasks.len().max(1)))
            .sum();
        self.selection.client().timeout() + TIMEOUT_PER_TASK * tasks as u32
    }

    /// Re-reads the items and sorts them: an outcome for each run that changed since
    /// enumeration (`before_send` words the reason for a run about to be sent), `None` for the
    /// unchanged ones, which may be sent.
    async fn judge_items(
        &self,
        caller: &Caller,
        items: &[Item],
        changed_means: &str,
    ) -> Result<Vec<(Item, Option<ItemOutcome>)>, HatchetError> {
        let keys: Vec<_> = items
            .iter()
            .map(|i| (i.id.clone(), baseline(i).and_then(|b| b.created_at)))
            .collect();
        let current = self.selection.reread(caller, &keys).await?;
        Ok(items
            .iter()
            .map(|item| {
                let Some(base) = baseline(item) else {
                    return (item.clone(), None);
                };
                let decided = match judge(&base, current.get(&item.id)) {
                    Judgement::Unchanged => None,
                    Judgement::Gone => Some(item_outcome(
                        item,
                        ItemState::Skipped,
                        "no longer found on the server".into(),
                        None,
                        0,
                    )),
                    Judgement::Replayed { from, to } => Some(item_outcome(
                        item,
                        ItemState::Done,
                        format!("{changed_means} (retry count {from} -> {to})"),
                        None,
                        0,
                    )),
                    Judgement::Changed { from, to } => Some(item_outcome(
                        item,
                        ItemState::Skipped,
                        format!("status changed from {from} to {to} since enumeration without a new retry: not replayed (Hatchet skips active runs)"),
                        None,
                        0,
                    )),
                };
                (item.clone(), decided)
            })
            .collect())
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
                    item.settled = Some((
                        ItemState::Skipped,
                        format!("still {}: Hatchet does not replay active runs", s.status),
                    ));
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

    fn idempotent(&self) -> bool {
        false
    }

    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        // Runs that changed since enumeration were replayed by someone else or are active now:
        // sending them would replay twice or be skipped silently.
        let judged = match self
            .judge_items(
                caller,
                items,
                "already replayed by someone else before this job sent it",
            )
            .await
        {
            Ok(judged) => judged,
            Err(e) => {
                return outcome_for_all(
                    items,
                    ItemState::Failed,
                    Some(format!(
                        "could not check the runs before replaying ({e}); nothing was sent"
                    )),
                    e.status(),
                    0,
                )
            }
        };
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
        let (result, attempts) = caller.call(false, || client.replay(&ids, timeout)).await;
        match result {
            Ok(returned) => outcomes.extend(Self::accepted(&to_send, &returned, attempts)),
            Err(e) if e.certainly_not_applied() => outcomes.extend(outcome_for_all(
                &to_send,
                ItemState::Failed,
                Some(format!("replay request refused: {e}")),
                e.status(),
                attempts,
            )),
            Err(e) => {
                // The server may have queued some batches: find out, never resend blindly.
                tokio::time::sleep(self.settle).await;
                let after = self.judge_items(caller, &to_send, "replayed").await;
                let reason = format!("replay request failed ({e}); the run shows no replay, so it was not resent: replay it again after checking");
                match after {
                    Ok(judged) => outcomes.extend(judged.into_iter().map(|(item, o)| {
                        o.unwrap_or_else(|| item_outcome(&item, ItemState::Failed, reason.clone(), e.status(), attempts))
                    })),
                    Err(reread) => outcomes.extend(outcome_for_all(
                        &to_send,
                        ItemState::Unconfirmed,
                        Some(format!("replay request failed ({e}) and the runs could not be re-read ({reread}); not resent")),
                        e.status(),
                        attempts,
                    )),
                }
            }
        }
        outcomes
    }

    async fn verify(
        &self,
        caller: &Caller,
        _scope: Option<&serde_json::Value>,
        items: &[Item],
    ) -> Result<Vec<ItemOutcome>, OpError> {
        let judged = self.judge_items(caller, items, "replayed").await?;
        Ok(judged.into_iter().filter_map(|(_, o)| o).collect())
    }

    async fn reconcile(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<Vec<(Item, Option<ItemOutcome>)>, OpError> {
        let reason = "replayed before the interruption";
        let mut judged = self.judge_items(caller, items, reason).await?;
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
            .judge_items(caller, &unchanged, reason)
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
