//! The engine: a Coordinator actor (a shell around the transition function in `machine.rs`)
//! that enumerates into the store and hands chunks to Executor actors on credits (never
//! `do_send` for work), a process-wide rate limiter, an adaptive concurrency window (fed by
//! latency, refusals and the server's apply lag, which a probe samples), retries, and a pacer
//! for operations whose requests must be spaced. It knows no backend: operations come in
//! through the `Operation` port, and their failures are read through `Failure`.

mod caller;
mod coordinator;
mod executor;
mod failure;
mod machine;
mod meter;
mod operation;
mod pacer;
mod probe;
mod progress;
mod window;

pub use caller::{limiter, CallStats, Caller, Limiter, RetryPolicy, Traffic, TrafficCounts};
pub use coordinator::{Coordinator, Ended, EngineSettings, RunOutcome, RunTotals, Stop};
pub use failure::{Answer, Failure};
pub use meter::{tally, Meter, Unmetered};
pub use operation::{OpError, Operation, Page, Resend, Sending};
pub use pacer::{Delivery, Pacer, RequestSizes};
pub use probe::{Applied, ApplyLag, ApplyProbe};
pub use progress::{
    format_count, format_duration, format_rate, processed, rounded_rate, LineProgress, Lines,
    NoProgress, Progress, Stage, TtyProgress,
};
pub use window::{AdaptiveWindow, Resizes};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("enumeration stopped: {0}")]
    Enumerate(OpError),
    #[error("verification stopped: {0}")]
    Verify(OpError),
    #[error("reconciling an in-doubt chunk failed: {0}")]
    Reconcile(OpError),
    #[error(
        "the server at {server} stopped answering ({reason}); the items not yet sent stay pending"
    )]
    Unreachable { server: String, reason: String },
    #[error("another process took this job over (this one sent no heartbeat for too long)")]
    LeaseLost,
    #[error("an executor stopped unexpectedly: {0}")]
    Mailbox(#[from] actix::MailboxError),
}
