//! What the engine tells whoever measures it (a Prometheus registry, or nothing): requests and
//! their answers, retries, how late the server applied what it accepted, item outcomes, its
//! rate and window, a run's end. It names no exporter and no backend: the endpoint is the name
//! an operation gives its request, the operation the job's own name for it, and a failure
//! speaks for itself through `Failure`.

use std::fmt::Debug;
use std::time::Duration;

use super::Failure;
use crate::store::{ItemOutcome, ItemState};

pub trait Meter: Send + Sync + Debug {
    /// One attempt at `endpoint` was answered (or not) after `took`.
    fn request(&self, endpoint: &'static str, result: Result<(), &dyn Failure>, took: Duration);
    /// An attempt at `endpoint` is made again after a transient failure.
    fn retry(&self, endpoint: &'static str);
    /// `count` items of an `operation` got `state` in the store.
    fn items(&self, operation: &'static str, state: ItemState, count: u64);
    /// The server was seen to apply what `endpoint` accepted `lag` after it answered.
    fn apply_lag(&self, endpoint: &'static str, lag: Duration);
    /// The requests per second `job` may make now.
    fn rate(&self, job: &str, operation: &'static str, per_second: f64);
    /// The chunks `job` may have in flight now.
    fn window(&self, job: &str, operation: &'static str, chunks: usize);
    /// This process took `job` over from a holder that was gone.
    fn lease_takeover(&self, operation: &'static str);
    /// Another process took a chunk this one was sending, once this one's lease on it ran
    /// out (a stall): its outcomes were not recorded here.
    fn chunk_taken_over(&self, operation: &'static str);
    /// A run of `job` ended after `took`, finished or not; its rate and window no longer count.
    fn run_ended(&self, job: &str, operation: &'static str, took: Duration, finished: bool);
}

/// Measures nothing: for callers nobody exports (tests, read-only look-ups).
#[derive(Debug, Default, Clone, Copy)]
pub struct Unmetered;

impl Meter for Unmetered {
    fn request(&self, _: &'static str, _: Result<(), &dyn Failure>, _: Duration) {}
    fn retry(&self, _: &'static str) {}
    fn apply_lag(&self, _: &'static str, _: Duration) {}
    fn items(&self, _: &'static str, _: ItemState, _: u64) {}
    fn rate(&self, _: &str, _: &'static str, _: f64) {}
    fn window(&self, _: &str, _: &'static str, _: usize) {}
    fn lease_takeover(&self, _: &'static str) {}
    fn chunk_taken_over(&self, _: &'static str) {}
    fn run_ended(&self, _: &str, _: &'static str, _: Duration, _: bool) {}
}

/// Tells `meter` the outcomes just written, one call per state (pending is no outcome: an item
/// left pending is sent again).
pub fn tally(meter: &dyn Meter, operation: &'static str, outcomes: &[ItemOutcome]) {
    for state in ItemState::ALL {
        if state == ItemState::Pending {
            continue;
        }
        let count = outcomes.iter().filter(|o| o.state == state).count() as u64;
        if count > 0 {
            meter.items(operation, state, count);
        }
    }
}
