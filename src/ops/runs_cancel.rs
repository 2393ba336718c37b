use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use super::descriptor::{
    always_safe, counted, no_warning, Descriptor, Parts, Required, Rules, Undo,
};
use super::run_selection::SliceScope;
use super::CHUNK;
use super::{outcome_for_all, request_failed, OpError, Operation, Page, RunSelection, Sending};
use crate::backend::hatchet::{HatchetClient, HatchetError};
use crate::engine::{Applied, ApplyProbe, Caller};
use crate::job::RunStatus;
use crate::job::MAX_CHUNK_SIZE;
use crate::store::{Item, ItemOutcome, ItemState};

pub const DESCRIPTOR: Descriptor = Descriptor {
    default_statuses: &[RunStatus::Queued, RunStatus::Running],
    rules: Rules {
        chunk_default: CHUNK,
        chunk_max: MAX_CHUNK_SIZE,
        concurrency_cap: None,
        undo: Undo::OfferReplay,
    },
    repeat_is_safe: always_safe,
    required: &[Required::Since],
    warning: no_warning,
    action: |_, n| format!("cancel {}", counted(n, "run", "runs")),
    build: |parts: Parts| {
        Ok(Arc::new(RunsCancel::new(
            parts.runs(DESCRIPTOR.default_statuses, false),
        )))
    },
};

/// `bulkops runs cancel`: cancel by id in chunks (never the server-side filter, which stops at
/// 20,000 runs). Cancel is idempotent, so chunks are simply resent after a crash. The server
/// only queues a cancel, so outcomes are confirmed by re-listing; while chunks go out, a probe
/// reads one cancelled run's details now and then until it shows CANCELLED, and the lag it
/// measures holds the concurrency window back when the server falls behind.
pub struct RunsCancel {
    selection: RunSelection,
    probe: ApplyProbe,
}

const CANCEL: &str = "hatchet.tasks.cancel";

impl RunsCancel {
    pub fn new(selection: RunSelection) -> Self {
        RunsCancel {
            selection,
            probe: ApplyProbe::new(CANCEL),
        }
    }
}

/// Whether a run's details show its cancel applied: CANCELLED; still QUEUED or RUNNING is not
/// yet; a run that finished otherwise, or is gone, never will.
async fn cancel_applied(client: &HatchetClient, id: String) -> Result<Applied, HatchetError> {
    let status = client.run_details(&id).await?.map(|d| d.run.status);
    Ok(match status.map(|s| s.parse::<RunStatus>()) {
        Some(Ok(RunStatus::Cancelled)) => Applied::Yes,
        Some(Ok(status)) if status.is_active() => Applied::NotYet,
        _ => Applied::Never,
    })
}

#[async_trait]
impl Operation for RunsCancel {
    fn initial_cursor(&self) -> String {
        self.selection.initial_cursor()
    }

    async fn enumerate(&self, caller: &Caller, cursor: &str) -> Result<Page, OpError> {
        let (runs, next_cursor, scope) = self.selection.next_slice(caller, cursor).await?;
        Ok(Page {
            items: runs.into_iter().map(|r| r.into_item(None)).collect(),
            next_cursor,
            scope: Some(scope),
        })
    }

    fn sending(&self) -> Sending {
        Sending::REPEATABLE
    }

    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let client = self.selection.client();
        let send = async {
            let answer = caller.call(CANCEL, true, || client.cancel(&ids)).await;
            if answer.0.is_ok() {
                self.probe.accepted(caller, &ids);
            }
            answer
        };
        let look = self.probe.look(caller, "hatchet.runs.details", |id| {
            cancel_applied(client, id)
        });
        let ((result, attempts), ()) = tokio::join!(send, look);
        match result {
            Ok(_) => outcome_for_all(items, ItemState::Sent, None, Some(200), attempts),
            Err(e) => request_failed(items, &e, attempts, "cancel request", true),
        }
    }

    async fn verify(
        &self,
        caller: &Caller,
        scope: Option<&serde_json::Value>,
        items: &[Item],
    ) -> Result<Vec<ItemOutcome>, OpError> {
        let Some(scope) = scope.and_then(|s| serde_json::from_value::<SliceScope>(s.clone()).ok())
        else {
            return Ok(Vec::new());
        };
        let mut outcomes = Vec::new();
        let mut left: Vec<&Item> = items.iter().collect();
        let mut settle =
            |left: &mut Vec<&Item>, found: &HashSet<String>, state, reason: Option<&str>| {
                left.retain(|item| {
                    if !found.contains(&item.id) {
                        return true;
                    }
                    outcomes.push(ItemOutcome {
                        id: item.id.clone(),
                        state,
                        reason: reason.map(str::to_string),
                        http_status: None,
                        attempts: 0,
                    });
                    false
                });
            };
        let cancelled = self
            .selection
            .in_status(caller, &scope, &[RunStatus::Cancelled])
            .await?;
        settle(&mut left, &cancelled, ItemState::Done, None);
        if left.is_empty() {
            return Ok(outcomes);
        }
        // A server behind on its cancels leaves them QUEUED or RUNNING, round after round: one
        // read of those leaves only the runs that finished otherwise to be looked for by status.
        let active = self
            .selection
            .in_status(caller, &scope, &[RunStatus::Queued, RunStatus::Running])
            .await?;
        let mut finished: Vec<&Item> = left
            .into_iter()
            .filter(|i| !active.contains(&i.id))
            .collect();
        let others = [
            (
                RunStatus::Completed,
                "already COMPLETED before the cancel took effect",
            ),
            (
                RunStatus::Failed,
                "already FAILED before the cancel took effect",
            ),
        ];
        for (status, reason) in others {
            if finished.is_empty() {
                break;
            }
            let found = self.selection.in_status(caller, &scope, &[status]).await?;
            settle(&mut finished, &found, ItemState::Skipped, Some(reason));
        }
        Ok(outcomes)
    }
}
