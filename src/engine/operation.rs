//! The port an operation offers the engine: enumerate its items page by page, act on a chunk,
//! confirm outcomes on the server, reconcile a chunk a crash left in doubt. Operations live in
//! `ops`, one file each; the engine knows them only through this trait.

use async_trait::async_trait;

use super::{Caller, Failure};
use crate::store::{Item, ItemOutcome, NewItem};

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
    /// A request to the backend failed for good.
    #[error("{0}")]
    Backend(Box<dyn Failure>),
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
