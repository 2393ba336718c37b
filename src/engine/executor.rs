use std::sync::Arc;

use actix::prelude::*;
use tracing::Instrument;

use super::{CallStats, Caller, Limiter, Meter, Operation, RetryPolicy, Traffic};
use crate::store::{Item, ItemOutcome};

/// Acts on one chunk at a time (`AtomicResponse`): the coordinator's credits, not a mailbox,
/// decide how much work is outstanding.
pub struct Executor {
    /// The job's id, for the span every chunk's log lines carry.
    job: String,
    op: Arc<dyn Operation>,
    limiter: Arc<Limiter>,
    policy: RetryPolicy,
    traffic: Arc<Traffic>,
    meter: Arc<dyn Meter>,
}

impl Executor {
    pub fn new(
        job: String,
        op: Arc<dyn Operation>,
        limiter: Arc<Limiter>,
        policy: RetryPolicy,
        traffic: Arc<Traffic>,
        meter: Arc<dyn Meter>,
    ) -> Self {
        Executor {
            job,
            op,
            limiter,
            policy,
            traffic,
            meter,
        }
    }
}

impl Actor for Executor {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "ChunkReport")]
pub struct RunChunk {
    pub chunk: i64,
    pub items: Vec<Item>,
}

#[derive(Debug)]
pub struct ChunkReport {
    pub chunk: i64,
    /// `None` when a stop interrupted the chunk before it ended (see `Caller::interrupted`).
    pub outcomes: Option<Vec<ItemOutcome>>,
    pub stats: CallStats,
}

impl Handler<RunChunk> for Executor {
    type Result = AtomicResponse<Self, ChunkReport>;

    fn handle(&mut self, msg: RunChunk, _ctx: &mut Self::Context) -> Self::Result {
        let op = self.op.clone();
        let caller = Caller::new(self.limiter.clone(), self.policy.clone())
            .counting_into(self.traffic.clone())
            .reporting_to(self.meter.clone());
        AtomicResponse::new(Box::pin(
            async move {
                let outcomes = tokio::select! {
                    biased;
                    outcomes = op.execute(&caller, &msg.items) => Some(outcomes),
                    () = caller.interrupted() => None,
                };
                let stats = caller.stats();
                tracing::debug!(
                    items = msg.items.len(),
                    requests = stats.requests,
                    interrupted = outcomes.is_none(),
                    "chunk answered"
                );
                ChunkReport {
                    chunk: msg.chunk,
                    outcomes,
                    stats,
                }
            }
            .instrument(tracing::info_span!("chunk", job = %self.job, chunk = msg.chunk))
            .into_actor(self),
        ))
    }
}
