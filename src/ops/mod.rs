//! The operations bulkops performs, one file each. An operation knows how to enumerate its
//! items page by page, how to act on a chunk of them, and how to confirm the outcome on the
//! server; the engine does the rest (dispatch, limits, retries, checkpoints).

mod crons_delete;
mod manifest;
mod run_selection;
mod runs_cancel;
mod runs_replay;
mod scheduled;
mod scheduled_delete;
mod scheduled_recreate;
mod scheduled_reschedule;

pub use crons_delete::{CronSelection, CronsDelete};
pub use manifest::{Manifest, ManifestError};
pub use run_selection::RunSelection;
pub use runs_cancel::RunsCancel;
pub use runs_replay::RunsReplay;
pub use scheduled::{Archive, ScheduledFilter, ScheduledSelection};
pub use scheduled_delete::ScheduledDelete;
pub use scheduled_recreate::ScheduledRecreate;
pub use scheduled_reschedule::{Move, ScheduledReschedule, Source, TargetRule};

use async_trait::async_trait;

use crate::backend::hatchet::HatchetError;
use crate::engine::Caller;
use crate::store::{Item, ItemOutcome, ItemState, NewItem};

/// What one enumeration step produced.
pub struct Page {
    pub items: Vec<NewItem>,
    /// Where to continue; `None` when enumeration is complete.
    pub next_cursor: Option<String>,
    /// What this page covered, kept for verification.
    pub scope: Option<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Hatchet(#[from] crate::backend::hatchet::HatchetError),
    #[error("bad enumeration cursor in the state store: {0}")]
    Cursor(String),
}

/// How the engine may send an operation's chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sending {
    /// Sending a chunk twice is harmless. Otherwise a chunk is marked `sending` before its
    /// request and reconciled, not resent, after a crash.
    pub idempotent: bool,
    /// Acting on items shifts the pages still to be read (offset paging over the very set being
    /// mutated): execution waits until enumeration is complete.
    pub after_enumeration: bool,
}

impl Sending {
    /// Idempotent requests, sent while enumeration goes on (cancel by id).
    pub const REPEATABLE: Sending = Sending {
        idempotent: true,
        after_enumeration: false,
    };
    /// Requests that must not be sent twice, sent while enumeration goes on.
    pub const ONCE: Sending = Sending {
        idempotent: false,
        after_enumeration: false,
    };
    /// Idempotent requests over a list they shift, sent once it has been read to the end.
    pub const REPEATABLE_AFTER_ENUMERATION: Sending = Sending {
        idempotent: true,
        after_enumeration: true,
    };
}

#[async_trait]
pub trait Operation: Send + Sync {
    /// The cursor a new job starts enumerating from.
    fn initial_cursor(&self) -> String;

    async fn enumerate(&self, caller: &Caller, cursor: &str) -> Result<Page, OpError>;

    fn sending(&self) -> Sending;

    /// Acts on one chunk; every item gets an outcome (`Sent` when the server accepted it and
    /// verification will confirm it).
    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome>;

    /// Confirms items in `Sent` against the server's current state; returns outcomes only for
    /// items whose fate is now known. Operations whose requests take effect synchronously
    /// leave nothing in `Sent` and keep this default.
    async fn verify(
        &self,
        caller: &Caller,
        scope: Option<&serde_json::Value>,
        items: &[Item],
    ) -> Result<Vec<ItemOutcome>, OpError> {
        let _ = (caller, scope, items);
        Ok(Vec::new())
    }

    /// For an operation whose server may accept a request and silently never apply it: how
    /// items still unconfirmed when `--verify-timeout` runs out are handled. `None` (the
    /// default): they end `unconfirmed`.
    fn resend_unconfirmed(&self) -> Option<Resend> {
        None
    }

    /// Decides the fate of a chunk found in `sending` after a crash, without resending blindly.
    /// Returns, per item, either an outcome or `None` to send it again.
    async fn reconcile(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<Vec<(Item, Option<ItemOutcome>)>, OpError> {
        let _ = caller;
        Ok(items.iter().cloned().map(|i| (i, None)).collect())
    }
}

/// Sending again what the server accepted but never applied. The engine puts such items back
/// in new chunks and runs them through `execute` again (which must send only items it proves
/// unchanged), then verifies them with a fresh `--verify-timeout`; after `rounds` such rounds in
/// one process, the items left fail with `reason`.
#[derive(Debug, Clone, Copy)]
pub struct Resend {
    pub rounds: u32,
    pub reason: &'static str,
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
/// request itself (4xx, an unreadable answer) is `Failed`.
pub fn request_failed(
    items: &[Item],
    e: &HatchetError,
    attempts: u32,
    what: &str,
    verifiable: bool,
) -> Vec<ItemOutcome> {
    let (state, reason) = if !e.is_transient() {
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
