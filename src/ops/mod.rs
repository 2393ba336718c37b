//! The operations bulkops performs, one file each. An operation knows how to enumerate its
//! items page by page, how to act on a chunk of them, and how to confirm the outcome on the
//! server; the engine does the rest (dispatch, limits, retries, checkpoints). Everything else
//! an operation says about itself (name, default statuses, chunk bounds, concurrency cap, undo,
//! whether a repeat is safe, required selector fields, warnings, constructor) is its file's
//! `DESCRIPTOR`, found through [`descriptor`].

mod crons_delete;
mod descriptor;
mod handinger_cancel;
mod handinger_reschedule;
mod handinger_selection;
mod manifest;
mod run_selection;
mod runs_cancel;
mod runs_replay;
mod scheduled;
mod scheduled_delete;
mod scheduled_recreate;
mod scheduled_reschedule;

pub use crons_delete::{CronSelection, CronsDelete};
pub use descriptor::{
    descriptor, job_spec, rfc3339, Descriptor, Parts, Required, Rules, Tuning, Undo, Workflow,
};
pub use handinger_cancel::{Cancellation, HandingerCancel};
pub use handinger_reschedule::{CronExpr, HandingerReschedule, Replacement, RescheduleError};
pub use handinger_selection::{HandingerSelection, ScheduleFilter, SelectionError, WorkerPages};
pub use manifest::{read_input, Manifest, ManifestError};
pub use run_selection::RunSelection;
pub use runs_cancel::RunsCancel;
pub use runs_replay::RunsReplay;
pub use scheduled::{Archive, ScheduledFilter, ScheduledSelection};
pub use scheduled_delete::ScheduledDelete;
pub use scheduled_recreate::ScheduledRecreate;
pub use scheduled_reschedule::{Move, ScheduledReschedule, Source, TargetRule};

pub use crate::engine::{OpError, Operation, Page, Resend, Sending};

use crate::backend::hatchet::HatchetError;
use crate::engine::Failure;
use crate::job::HandingerOperation;
use crate::store::{Item, ItemOutcome, ItemState};

fn rules_of(spec: &crate::job::JobSpec) -> &'static Rules {
    use crate::job::JobSpec;
    match spec {
        JobSpec::Hatchet(job) => &descriptor(&job.operation).rules,
        JobSpec::Handinger(job) => match job.operation {
            HandingerOperation::HandingerCancel => &handinger_cancel::RULES,
            HandingerOperation::HandingerReschedule { .. } => &handinger_reschedule::RULES,
            HandingerOperation::HandingerRestore { .. } => &handinger_reschedule::UNDO_RULES,
        },
    }
}

/// What the app asks of any job's operation, whatever its backend.
pub mod rules {
    use super::{descriptor, rules_of, Undo};
    use crate::job::JobSpec;
    use crate::store::Counts;

    /// Items per chunk: as configured, within the operation's bounds.
    pub fn chunk_size(spec: &JobSpec, configured: Option<usize>) -> usize {
        rules_of(spec).chunk_size(configured)
    }

    /// Whether it sends one request at a time, so that `--concurrency` means nothing for it.
    pub fn one_request_at_a_time(spec: &JobSpec) -> bool {
        rules_of(spec).one_request_at_a_time()
    }

    /// Chunks in flight: as configured, within the operation's cap.
    pub fn concurrency(spec: &JobSpec, configured: usize) -> usize {
        rules_of(spec).concurrency(configured)
    }

    /// Whether running the same job twice leaves things as running it once. A Handinger
    /// reschedule replaces each schedule by a new one with a new id, so its repeat finds the
    /// replacements and leaves them be (nothing to change); its undo would replace them again.
    pub fn repeat_is_safe(spec: &JobSpec) -> bool {
        match spec {
            JobSpec::Hatchet(job) => (descriptor(&job.operation).repeat_is_safe)(&job.operation),
            JobSpec::Handinger(_) => spec.undoes().is_none(),
        }
    }

    pub fn undo(spec: &JobSpec) -> Undo {
        rules_of(spec).undo
    }

    /// A warning the summary of a finished job carries.
    pub fn warning(spec: &JobSpec, counts: &Counts) -> Option<&'static str> {
        match spec {
            JobSpec::Hatchet(job) => (descriptor(&job.operation).warning)(job, counts),
            JobSpec::Handinger(_) => None,
        }
    }
}

/// Items per chunk where nothing narrower applies (Hatchet's own tools send 500).
pub const CHUNK: usize = 500;

impl From<HatchetError> for OpError {
    fn from(e: HatchetError) -> Self {
        OpError::Backend(Box::new(e))
    }
}

/// The same outcome for every item of a chunk.
pub fn outcome_for_all(
    items: &[Item],
    state: ItemState,
    reason: Option<String>,
    http_status: Option<u16>,
    attempts: u32,
) -> Vec<ItemOutcome> {
    items
        .iter()
        .map(|item| ItemOutcome {
            id: item.id.clone(),
            state,
            reason: reason.clone(),
            http_status,
            attempts,
        })
        .collect()
}

/// The outcome of a request that failed for good, by what its error says. Failing to reach the
/// server (connection refused, still rate-limited after every retry) is not an item failure: the
/// items stay `Pending` and the engine stops the job resumably. An ambiguous failure (timeout,
/// dropped connection, 5xx: the request may have been applied) leaves them `Sent`, to be
/// confirmed on the server, when the operation verifies; otherwise they stay `Pending` too (an
/// idempotent request is safely sent again on resume). Only what the server said about the
/// request itself (4xx, an unreadable answer) is `Failed`; a refused TLS certificate is not
/// retried, but it says nothing of the request, which never left: its items stay `Pending`.
pub fn request_failed(
    items: &[Item],
    e: &HatchetError,
    attempts: u32,
    what: &str,
    verifiable: bool,
) -> Vec<ItemOutcome> {
    let refused_for_good = !e.is_transient() && !matches!(e, HatchetError::Tls(_));
    let (state, reason) = if refused_for_good {
        (ItemState::Failed, format!("{what} refused: {e}"))
    } else if e.certainly_not_applied() || !verifiable {
        (
            ItemState::Pending,
            format!("not sent: {what} did not reach the server ({e})"),
        )
    } else {
        (
            ItemState::Sent,
            format!("answer lost ({e}): the {what} may have been applied; confirmed on the server"),
        )
    };
    outcome_for_all(items, state, Some(reason), e.status(), attempts)
}

/// One item's outcome with a reason.
pub fn item_outcome(
    item: &Item,
    state: ItemState,
    reason: String,
    http_status: Option<u16>,
    attempts: u32,
) -> ItemOutcome {
    ItemOutcome {
        id: item.id.clone(),
        state,
        reason: Some(reason),
        http_status,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_certificate_leaves_items_unsent_and_a_refused_request_fails_them() {
        let items = [Item {
            seq: 1,
            id: "run-1".into(),
            page: 0,
            payload: None,
            attempts: 0,
        }];
        let state = |e: HatchetError| request_failed(&items, &e, 1, "cancel", true)[0].state;
        let tls = HatchetError::Tls("invalid peer certificate: UnknownIssuer".into());
        assert!(!tls.is_transient(), "a certificate refusal is not retried");
        assert_eq!(state(tls), ItemState::Pending);
        let not_found = HatchetError::Status {
            status: 404,
            message: "not found".into(),
            retry_after: None,
        };
        assert_eq!(state(not_found), ItemState::Failed);
        assert_eq!(
            state(HatchetError::Timeout(std::time::Duration::from_secs(1))),
            ItemState::Sent
        );
    }
}
