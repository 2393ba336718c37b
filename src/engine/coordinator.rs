use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::Utc;
use tokio::sync::oneshot;

use super::executor::{ChunkReport, Executor, RunChunk};
use super::progress::processed;
use super::{
    AdaptiveWindow, CallStats, Caller, EngineError, Limiter, Operation, Page, Progress,
    RetryPolicy, Stage, Traffic, TrafficCounts,
};
use crate::store::{
    ChunkState, Counts, Item, ItemOutcome, ItemState, JobRecord, JobState, PageCommit, Store,
};

#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Confirm outcomes on the server after execution (for operations that can).
    pub verify: bool,
    pub verify_timeout: Duration,
    pub verify_poll: Duration,
    /// This process as the holder of the job's lease (see `store::this_process`).
    pub owner: String,
}

/// How a run of the engine ended.
#[derive(Debug)]
pub enum RunOutcome {
    /// Every item reached a final state; the job is finished.
    Finished(Counts),
    /// Stopped by a signal or an error before the end; the job can be resumed.
    Interrupted {
        counts: Counts,
        error: Option<EngineError>,
    },
}

/// What this run of the job did, for the summary (the counts cover the whole job).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunTotals {
    pub elapsed: Duration,
    /// Items that left `pending` in this run.
    pub items: u64,
    pub traffic: TrafficCounts,
    /// Items sent again because the server accepted but never applied them.
    pub resent: u64,
}

impl RunTotals {
    pub fn items_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.items as f64 / secs
        } else {
            0.0
        }
    }
}

/// How a run of the engine ended, and what it did.
#[derive(Debug)]
pub struct Ended {
    pub outcome: RunOutcome,
    pub totals: RunTotals,
}

/// How often a running job looks for `jobs pause|abort|retune` written by another process.
const CONTROL_POLL: Duration = Duration::from_secs(1);

/// Server pressure is logged at most this often, with what happened since the line before.
const PRESSURE_LOG_EVERY: Duration = Duration::from_secs(10);

/// What the last pressure line covered.
#[derive(Debug, Default)]
struct PressureLogged {
    at: Option<Instant>,
    traffic: TrafficCounts,
}

/// Ask the coordinator to stop at once: nothing more is sent, requests on the wire are awaited.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reconcile,
    Execute,
    Verify,
    Done,
}

pub struct Coordinator {
    job: JobRecord,
    store: Store,
    op: Arc<dyn Operation>,
    settings: EngineSettings,
    limiter: Arc<Limiter>,
    executors: Vec<Addr<Executor>>,
    idle: Vec<usize>,
    window: AdaptiveWindow,
    phase: Phase,
    in_flight: usize,
    last_dispatched: i64,
    enumerating: bool,
    /// A reconcile or verification read is out: the run ends only once it is back.
    checking: bool,
    stopping: bool,
    error: Option<EngineError>,
    counts: Counts,
    verify_queue: VecDeque<(i64, Option<serde_json::Value>)>,
    verify_started: Option<Instant>,
    /// Rounds of items sent again after verification (see `Operation::resend_unconfirmed`),
    /// over every run of the job.
    resends: u32,
    /// The job's stored rate as last seen: only a change of it (`jobs retune`) replaces the
    /// rate this run started with, which a `--rate` flag may have set.
    stored_rate: Option<f64>,
    /// What every request of this run met, shared by all its callers.
    traffic: Arc<Traffic>,
    pressure_logged: PressureLogged,
    started: Instant,
    processed_at_start: u64,
    resent: u64,
    progress: Box<dyn Progress>,
    done: Option<oneshot::Sender<Ended>>,
}

impl Coordinator {
    pub fn new(
        job: JobRecord,
        store: Store,
        op: Arc<dyn Operation>,
        settings: EngineSettings,
        limiter: Arc<Limiter>,
        progress: Box<dyn Progress>,
        done: oneshot::Sender<Ended>,
    ) -> Result<Self, EngineError> {
        let counts = store.counts(&job.id)?;
        let processed_at_start = processed(&counts);
        let (resends, stored_rate) = (job.resend_rounds, job.rate);
        Ok(Coordinator {
            window: AdaptiveWindow::new(settings.concurrency),
            job,
            store,
            op,
            settings,
            limiter,
            executors: Vec::new(),
            idle: Vec::new(),
            phase: Phase::Reconcile,
            in_flight: 0,
            last_dispatched: 0,
            enumerating: false,
            checking: false,
            stopping: false,
            error: None,
            counts,
            verify_queue: VecDeque::new(),
            verify_started: None,
            resends,
            stored_rate,
            traffic: Arc::default(),
            pressure_logged: PressureLogged::default(),
            started: Instant::now(),
            processed_at_start,
            resent: 0,
            progress,
            done: Some(done),
        })
    }

    fn caller(&self) -> Caller {
        Caller::new(self.limiter.clone(), self.settings.retry.clone())
            .counting_into(self.traffic.clone())
    }

    fn totals(&self) -> RunTotals {
        RunTotals {
            elapsed: self.started.elapsed(),
            items: processed(&self.counts).saturating_sub(self.processed_at_start),
            traffic: self.traffic.counts(),
            resent: self.resent,
        }
    }

    /// Logs what the server did to this run's requests (retries, 429s, no answers) and how the
    /// concurrency window followed, at most every `PRESSURE_LOG_EVERY`: a busy or silent server
    /// shows in the log, not only in a slower bar (the summary has the totals).
    fn log_pressure(&mut self) {
        let logged = &self.pressure_logged;
        if logged
            .at
            .is_some_and(|at| at.elapsed() < PRESSURE_LOG_EVERY)
        {
            return;
        }
        let covered = logged.at.unwrap_or(self.started).elapsed().as_secs();
        let traffic = self.traffic.counts();
        let news = traffic.since(&logged.traffic);
        let resizes = self.window.resizes();
        if !news.under_pressure() && !resizes.any() {
            return;
        }
        let window = self.window.allowed();
        let window_words = format!(
            "window of chunks in flight {window} (shrank {} and grew {} times)",
            resizes.shrank, resizes.grew
        );
        if news.under_pressure() {
            tracing::warn!(
                job = %self.job.id,
                requests = news.requests,
                retried = news.retries,
                throttled = news.throttled,
                unanswered = news.unanswered,
                server_errors = news.server_errors,
                window,
                "server pressure in the last {covered}s: {} requests, {} retried, {} throttled (429), {} unanswered (refused, timed out or dropped), {} server errors (5xx); {window_words}",
                news.requests,
                news.retries,
                news.throttled,
                news.unanswered,
                news.server_errors,
            );
        } else {
            tracing::info!(job = %self.job.id, window, "no server pressure in the last {covered}s; {window_words}");
        }
        self.window.clear_resizes();
        self.pressure_logged = PressureLogged {
            at: Some(Instant::now()),
            traffic,
        };
    }

    /// Stops new work after an error; the job stays open for a resume.
    fn fail(&mut self, error: EngineError, ctx: &mut Context<Self>) {
        tracing::error!(job = %self.job.id, "{error}");
        if self.error.is_none() {
            self.error = Some(error);
        }
        self.stop(ctx);
    }

    /// Stops at once: no request is sent from now on, work that waits (for a request slot, a
    /// retry, the pacer) is dropped, and requests on the wire are awaited.
    fn stop(&mut self, ctx: &mut Context<Self>) {
        self.stopping = true;
        self.limiter.stop();
        self.maybe_finish(ctx);
    }

    /// Re-reads the counts from the store (a full scan: only at phase changes).
    fn refresh_counts(&mut self) {
        match self.store.counts(&self.job.id) {
            Ok(counts) => self.counts = counts,
            Err(e) => tracing::warn!("cannot read counts: {e}"),
        }
        self.progress.update(&self.counts, self.job.enumerated);
    }

    /// Keeps the in-memory counts in step with outcomes just written.
    fn count_outcomes(&mut self, from: ItemState, outcomes: &[ItemOutcome]) {
        for o in outcomes {
            self.counts.shift(Some(from), o.state, 1);
        }
        self.progress.update(&self.counts, self.job.enumerated);
    }

    // --- reconcile: chunks a crashed process left in `sending` ---------------------------

    fn reconcile_next(&mut self, ctx: &mut Context<Self>) {
        if self.stopping {
            return self.maybe_finish(ctx);
        }
        let chunk = match self.store.in_doubt_chunks(&self.job.id) {
            Ok(chunks) => chunks.first().copied(),
            Err(e) => return self.fail(e.into(), ctx),
        };
        let Some(chunk) = chunk else {
            self.phase = Phase::Execute;
            self.progress.stage(if self.job.enumerated {
                Stage::Executing
            } else {
                Stage::Enumerating
            });
            self.enumerate_next(ctx);
            return self.dispatch(ctx);
        };
        let items = match self.store.chunk_items(&self.job.id, chunk) {
            Ok(items) => items,
            Err(e) => return self.fail(e.into(), ctx),
        };
        tracing::info!(job = %self.job.id, chunk, items = items.len(), "checking an in-doubt chunk before resending anything");
        let op = self.op.clone();
        let caller = self.caller();
        self.checking = true;
        ctx.spawn(
            async move {
                tokio::select! {
                    biased;
                    decided = op.reconcile(&caller, &items) => Some(decided),
                    () = caller.interrupted() => None,
                }
            }
            .into_actor(self)
            .map(move |result, act, ctx| {
                act.checking = false;
                let decided = match result {
                    Some(Ok(decided)) => decided,
                    Some(Err(e)) => return act.fail(EngineError::Reconcile(e), ctx),
                    // Stopped: the chunk stays in doubt and is reconciled on resume.
                    None => return act.maybe_finish(ctx),
                };
                let outcomes: Vec<ItemOutcome> = decided
                    .into_iter()
                    .filter_map(|(_, outcome)| outcome)
                    .collect();
                let job = act.job.id.clone();
                let written = act
                    .store
                    .record_outcomes(&job, &outcomes)
                    .and_then(|_| act.store.chunk_items(&job, chunk))
                    .and_then(|left| {
                        let state = if left.is_empty() {
                            ChunkState::Done
                        } else {
                            ChunkState::Pending
                        };
                        act.store.set_chunk_state(&job, chunk, state)
                    });
                if let Err(e) = written {
                    return act.fail(e.into(), ctx);
                }
                act.reconcile_next(ctx);
            }),
        );
    }

    // --- enumeration ----------------------------------------------------------------------

    fn enumerate_next(&mut self, ctx: &mut Context<Self>) {
        if self.job.enumerated || self.enumerating || self.stopping {
            return;
        }
        let Some(cursor) = self.job.cursor.clone() else {
            return;
        };
        self.enumerating = true;
        let op = self.op.clone();
        let caller = self.caller();
        ctx.spawn(
            async move {
                tokio::select! {
                    biased;
                    page = op.enumerate(&caller, &cursor) => Some(page),
                    () = caller.interrupted() => None,
                }
            }
            .into_actor(self)
            .map(|result, act, ctx| {
                act.enumerating = false;
                match result {
                    Some(Ok(page)) => act.commit_page(page, ctx),
                    Some(Err(e)) => act.fail(EngineError::Enumerate(e), ctx),
                    // Stopped: the page is read again on resume.
                    None => act.maybe_finish(ctx),
                }
            }),
        );
    }

    fn commit_page(&mut self, page: Page, ctx: &mut Context<Self>) {
        let next = page.next_cursor.clone();
        let commit = PageCommit {
            items: page.items,
            next_cursor: page.next_cursor,
            page_scope: page.scope,
        };
        match self.store.commit_page(&self.job.id, commit) {
            Ok(added) => self.counts.merge(&added),
            Err(e) => return self.fail(e.into(), ctx),
        }
        self.job.enumerated = next.is_none();
        self.job.cursor = next;
        if self.job.enumerated && self.phase == Phase::Execute {
            self.progress.stage(Stage::Executing);
        }
        self.progress.update(&self.counts, self.job.enumerated);
        self.enumerate_next(ctx);
        self.dispatch(ctx);
    }

    // --- execution ------------------------------------------------------------------------

    fn dispatch(&mut self, ctx: &mut Context<Self>) {
        if self.phase != Phase::Execute {
            return;
        }
        let may_execute = self.job.enumerated || !self.op.sending().after_enumeration;
        while !self.stopping && may_execute && self.in_flight < self.window.allowed() {
            let Some(executor) = self.idle.pop() else {
                break;
            };
            match self.next_chunk() {
                Ok(Some((chunk, items))) => self.send_chunk(executor, chunk, items, ctx),
                Ok(None) => {
                    self.idle.push(executor);
                    break;
                }
                Err(e) => {
                    self.idle.push(executor);
                    return self.fail(e, ctx);
                }
            }
        }
        self.maybe_finish(ctx);
    }

    fn next_chunk(&mut self) -> Result<Option<(i64, Vec<Item>)>, EngineError> {
        loop {
            let next = self
                .store
                .pending_chunks(&self.job.id, self.last_dispatched, 1)?;
            let Some(&chunk) = next.first() else {
                return Ok(None);
            };
            self.last_dispatched = chunk;
            let items = self.store.chunk_items(&self.job.id, chunk)?;
            if items.is_empty() {
                self.store
                    .set_chunk_state(&self.job.id, chunk, ChunkState::Done)?;
                continue;
            }
            if !self.op.sending().idempotent {
                // Durable before the request leaves: a crash from here on makes it in doubt.
                self.store
                    .set_chunk_state(&self.job.id, chunk, ChunkState::Sending)?;
            }
            return Ok(Some((chunk, items)));
        }
    }

    fn send_chunk(
        &mut self,
        executor: usize,
        chunk: i64,
        items: Vec<Item>,
        ctx: &mut Context<Self>,
    ) {
        self.in_flight += 1;
        let request = self.executors[executor].send(RunChunk { chunk, items });
        ctx.spawn(request.into_actor(self).map(move |result, act, ctx| {
            act.in_flight -= 1;
            act.idle.push(executor);
            match result {
                Ok(report) => act.chunk_finished(report, ctx),
                Err(e) => act.fail(e.into(), ctx),
            }
        }));
    }

    fn chunk_finished(&mut self, report: ChunkReport, ctx: &mut Context<Self>) {
        self.window.observe(&report.stats);
        let Some(outcomes) = report.outcomes else {
            return self.chunk_interrupted(report.chunk, &report.stats, ctx);
        };
        if let Err(e) = self
            .store
            .finish_chunk(&self.job.id, report.chunk, &outcomes)
        {
            return self.fail(e.into(), ctx);
        }
        self.count_outcomes(ItemState::Pending, &outcomes);
        if let Some(unsent) = outcomes.iter().find(|o| o.state == ItemState::Pending) {
            let error = EngineError::Unreachable {
                server: self.job.spec.server().to_string(),
                reason: unsent.reason.clone().unwrap_or_default(),
            };
            return self.fail(error, ctx);
        }
        self.dispatch(ctx);
    }

    /// A chunk a stop interrupted stays as it was: pending, or in doubt (`sending`) and so
    /// reconciled on resume. One that made no request at all never left, and is pending again.
    fn chunk_interrupted(&mut self, chunk: i64, stats: &CallStats, ctx: &mut Context<Self>) {
        if stats.requests == 0 && !self.op.sending().idempotent {
            if let Err(e) = self
                .store
                .set_chunk_state(&self.job.id, chunk, ChunkState::Pending)
            {
                return self.fail(e.into(), ctx);
            }
        }
        self.maybe_finish(ctx);
    }

    fn maybe_finish(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight > 0 || self.enumerating || self.checking || self.phase == Phase::Done {
            return;
        }
        if self.stopping {
            return self.complete(false);
        }
        if self.phase != Phase::Execute || !self.job.enumerated {
            return;
        }
        match self.store.pending_chunks(&self.job.id, 0, 1) {
            Ok(left) if left.is_empty() => self.start_verify(ctx),
            Ok(_) => {}
            Err(e) => self.fail(e.into(), ctx),
        }
    }

    // --- verification ---------------------------------------------------------------------

    fn start_verify(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Verify;
        if !self.settings.verify {
            let settled = self.settle_sent(
                ItemState::Done,
                "accepted by the server; not verified (--no-verify)",
            );
            return match settled {
                Ok(()) => self.complete(true),
                Err(e) => self.fail(e, ctx),
            };
        }
        self.progress.stage(Stage::Verifying);
        self.verify_started = Some(Instant::now());
        self.verify_next(ctx);
    }

    fn settle_sent(&mut self, state: ItemState, reason: &str) -> Result<(), EngineError> {
        loop {
            let batch = self
                .store
                .items_in_state(&self.job.id, ItemState::Sent, -1, 5000)?;
            if batch.is_empty() {
                return Ok(());
            }
            let outcomes: Vec<ItemOutcome> = batch
                .iter()
                .map(|item| ItemOutcome {
                    id: item.id.clone(),
                    state,
                    reason: Some(reason.to_string()),
                    http_status: None,
                    attempts: 0,
                })
                .collect();
            self.store.record_outcomes(&self.job.id, &outcomes)?;
        }
    }

    fn verify_next(&mut self, ctx: &mut Context<Self>) {
        if self.stopping {
            return self.maybe_finish(ctx);
        }
        if self.verify_queue.is_empty() {
            self.refresh_counts();
            if self.counts.sent == 0 {
                return self.complete(true);
            }
            let waited = self.verify_started.map_or(Duration::ZERO, |t| t.elapsed());
            if waited >= self.settings.verify_timeout {
                return self.verify_timed_out(ctx);
            }
            match self.store.pages_with(&self.job.id, ItemState::Sent) {
                Ok(pages) => self.verify_queue.extend(pages),
                Err(e) => return self.fail(e.into(), ctx),
            }
            // The server's lists lag: give it a moment between rounds.
            ctx.run_later(self.settings.verify_poll, |act, ctx| act.verify_page(ctx));
            return;
        }
        self.verify_page(ctx);
    }

    /// `--verify-timeout` ran out with items still unconfirmed. When the operation's server may
    /// drop accepted requests, they go back to execution (whose checks decide again whether each
    /// may be sent) for a bounded number of rounds, then fail; otherwise they end unconfirmed.
    fn verify_timed_out(&mut self, ctx: &mut Context<Self>) {
        let timeout = self.settings.verify_timeout.as_secs();
        let settled = match self.op.resend_unconfirmed() {
            Some(resend) if self.resends < resend.rounds => {
                self.resends += 1;
                let reason = format!(
                    "accepted, but the server showed no effect within {timeout}s: sending again (round {})",
                    self.resends
                );
                return match self
                    .store
                    .requeue_for_resend(&self.job.id, ItemState::Sent, &reason)
                {
                    Ok(items) => {
                        tracing::warn!(job = %self.job.id, items, round = self.resends, "the server accepted these items but never applied them: sending them again");
                        self.resent += items;
                        self.phase = Phase::Execute;
                        self.progress.stage(Stage::Resending);
                        self.refresh_counts();
                        self.dispatch(ctx)
                    }
                    Err(e) => self.fail(e.into(), ctx),
                };
            }
            Some(resend) => self.settle_sent(
                ItemState::Failed,
                &format!("{} (sent {} times)", resend.reason, self.resends + 1),
            ),
            None => self.settle_sent(
                ItemState::Unconfirmed,
                &format!("not confirmed by the server within {timeout}s (--verify-timeout)"),
            ),
        };
        match settled {
            Ok(()) => self.complete(true),
            Err(e) => self.fail(e, ctx),
        }
    }

    fn verify_page(&mut self, ctx: &mut Context<Self>) {
        // A stop may come while the next round waits for the server's lists to settle.
        if self.stopping || self.phase == Phase::Done {
            return self.maybe_finish(ctx);
        }
        let Some((page, scope)) = self.verify_queue.pop_front() else {
            return self.verify_next(ctx);
        };
        let items = match self.store.page_items(&self.job.id, page, ItemState::Sent) {
            Ok(items) => items,
            Err(e) => return self.fail(e.into(), ctx),
        };
        if items.is_empty() {
            return self.verify_next(ctx);
        }
        let op = self.op.clone();
        let caller = self.caller();
        self.checking = true;
        ctx.spawn(
            async move {
                tokio::select! {
                    biased;
                    outcomes = op.verify(&caller, scope.as_ref(), &items) => Some(outcomes),
                    () = caller.interrupted() => None,
                }
            }
            .into_actor(self)
            .map(|result, act, ctx| {
                act.checking = false;
                match result {
                    Some(Ok(outcomes)) => match act.store.record_outcomes(&act.job.id, &outcomes) {
                        Ok(()) => {
                            act.count_outcomes(ItemState::Sent, &outcomes);
                            act.verify_next(ctx)
                        }
                        Err(e) => act.fail(e.into(), ctx),
                    },
                    Some(Err(e)) => act.fail(EngineError::Verify(e), ctx),
                    // Stopped: the items stay sent and are verified on resume.
                    None => act.maybe_finish(ctx),
                }
            }),
        );
    }

    /// Checks the state file is still in place, renews the job's lease, and obeys what
    /// `jobs pause`, `jobs abort` and `jobs retune` wrote into the store. A state file that
    /// moved, vanished or fails stops the job; a lock another process holds too long does not.
    fn check_control(&mut self, ctx: &mut Context<Self>) {
        if self.phase == Phase::Done {
            return;
        }
        if let Err(e) = self.store.check_in_place() {
            return self.fail(e.into(), ctx);
        }
        match self
            .store
            .heartbeat(&self.job.id, &self.settings.owner, Utc::now())
        {
            Ok(true) => {}
            Ok(false) => return self.fail(EngineError::LeaseLost, ctx),
            Err(e) if e.concerns_the_file() => return self.fail(e.into(), ctx),
            Err(e) => tracing::warn!("cannot renew the job's lease: {e}"),
        }
        let (state, rate) = match self.store.job_control(&self.job.id) {
            Ok(control) => control,
            Err(e) if e.concerns_the_file() => return self.fail(e.into(), ctx),
            Err(e) => return tracing::warn!("cannot read the job's controls: {e}"),
        };
        if rate != self.stored_rate {
            self.stored_rate = rate;
            if let Some(rate) = rate {
                tracing::info!(job = %self.job.id, rate, "new rate from `bulkops jobs retune`");
                self.limiter.set_rate(rate);
            }
        }
        if state != JobState::Running && !self.stopping {
            tracing::warn!(job = %self.job.id, in_flight = self.in_flight, "the job was {} from outside: finishing requests on the wire and stopping", state.as_str());
            self.stop(ctx);
        }
    }

    // --- the end --------------------------------------------------------------------------

    /// Ends the run once: every path to the end goes through here, and a second call (a late
    /// answer after the end) changes nothing.
    fn complete(&mut self, finished: bool) {
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        if let Err(e) = self.store.release_job(&self.job.id, &self.settings.owner) {
            tracing::warn!("cannot release the job's lease: {e}");
        }
        self.refresh_counts();
        self.progress.finish();
        let outcome = if finished {
            if let Err(e) = self
                .store
                .set_job_state(&self.job.id, JobState::Finished, Utc::now())
            {
                self.error = Some(e.into());
            }
            match self.error.take() {
                None => RunOutcome::Finished(self.counts.clone()),
                Some(error) => RunOutcome::Interrupted {
                    counts: self.counts.clone(),
                    error: Some(error),
                },
            }
        } else {
            RunOutcome::Interrupted {
                counts: self.counts.clone(),
                error: self.error.take(),
            }
        };
        if let Some(done) = self.done.take() {
            let totals = self.totals();
            let _ = done.send(Ended { outcome, totals });
        }
    }
}

impl Actor for Coordinator {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        for i in 0..self.settings.concurrency.max(1) {
            let executor = Executor::new(
                self.op.clone(),
                self.limiter.clone(),
                self.settings.retry.clone(),
                self.traffic.clone(),
            );
            self.executors.push(executor.start());
            self.idle.push(i);
        }
        self.progress.stage(Stage::Reconciling);
        self.refresh_counts();
        ctx.run_interval(CONTROL_POLL, |act, ctx| act.check_control(ctx));
        // Looked at every second so that the first sign of pressure shows at once.
        ctx.run_interval(Duration::from_secs(1), |act, _| act.log_pressure());
        self.reconcile_next(ctx);
    }
}

impl Handler<Stop> for Coordinator {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        if !self.stopping {
            tracing::warn!(job = %self.job.id, in_flight = self.in_flight, "stopping: finishing requests on the wire");
        }
        self.stop(ctx);
    }
}

#[cfg(test)]
mod tests {
    //! The coordinator in process, with a fake operation and a store on a temporary file.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use async_trait::async_trait;
    use tokio::sync::Notify;

    use super::*;
    use crate::engine::{limiter, Answer, Failure, OpError, Sending};
    use crate::job::{JobSpec, OperationKind, Selector, Target, Window};
    use crate::store::{Begun, NewItem, NewJob};

    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    struct Never;

    impl Failure for Never {
        fn is_transient(&self) -> bool {
            false
        }
        fn certainly_not_applied(&self) -> bool {
            true
        }
        fn is_pressure(&self) -> bool {
            false
        }
        fn retry_after(&self) -> Option<Duration> {
            None
        }
        fn answer(&self) -> Answer {
            Answer::Refused
        }
    }

    /// Three items, accepted at once; verifying them is one request that stays on the wire
    /// until `release` is notified.
    #[derive(Default)]
    struct SlowVerify {
        verifying: Notify,
        release: Notify,
        verified: AtomicUsize,
    }

    #[async_trait]
    impl Operation for SlowVerify {
        fn initial_cursor(&self) -> String {
            "start".into()
        }

        async fn enumerate(&self, _: &Caller, _: &str) -> Result<Page, OpError> {
            Ok(Page {
                items: ["a", "b", "c"].into_iter().map(NewItem::new).collect(),
                next_cursor: None,
                scope: None,
            })
        }

        fn sending(&self) -> Sending {
            Sending::REPEATABLE
        }

        async fn execute(&self, _: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
            every(items, ItemState::Sent)
        }

        async fn verify(
            &self,
            caller: &Caller,
            _: Option<&serde_json::Value>,
            items: &[Item],
        ) -> Result<Vec<ItemOutcome>, OpError> {
            let (answer, _) = caller
                .call(true, || async {
                    self.verifying.notify_one();
                    self.release.notified().await;
                    Ok::<_, Never>(())
                })
                .await;
            answer.map_err(|e| OpError::Backend(Box::new(e)))?;
            self.verified.fetch_add(items.len(), Ordering::SeqCst);
            Ok(every(items, ItemState::Done))
        }
    }

    fn every(items: &[Item], state: ItemState) -> Vec<ItemOutcome> {
        items
            .iter()
            .map(|item| ItemOutcome {
                id: item.id.clone(),
                state,
                reason: None,
                http_status: None,
                attempts: 1,
            })
            .collect()
    }

    #[derive(Default)]
    struct CountedFinish(Arc<Mutex<usize>>);

    impl Progress for CountedFinish {
        fn stage(&self, _: Stage) {}
        fn update(&self, _: &Counts, _: bool) {}
        fn finish(&self) {
            *self.0.lock().unwrap() += 1;
        }
    }

    fn settings() -> EngineSettings {
        EngineSettings {
            concurrency: 2,
            retry: RetryPolicy {
                max_retries: 0,
                min_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(1),
                max_retry_after: Duration::from_millis(1),
            },
            verify: true,
            verify_timeout: Duration::from_secs(60),
            verify_poll: Duration::from_millis(1),
            owner: crate::store::this_process(),
        }
    }

    fn new_job(store: &mut Store) -> JobRecord {
        let now = Utc::now();
        let spec = JobSpec::new(
            OperationKind::ScheduledDelete,
            Selector {
                workflows: vec!["w".into()],
                ..Selector::default()
            },
            Target {
                server_url: "http://127.0.0.1:1/".into(),
                tenant: "t".into(),
            },
        )
        .unwrap();
        let new = NewJob {
            identity: "identity".into(),
            name: None,
            spec,
            window: Window {
                since: now - chrono::TimeDelta::hours(1),
                until: now,
            },
            cursor: "start".into(),
            chunk_size: 10,
            started_by: "test".into(),
            reason: None,
        };
        let begun = store
            .begin_job(new, &settings().owner, now)
            .unwrap()
            .unwrap();
        let Begun::Created(id) = begun else {
            panic!("a new job")
        };
        store.job(&id).unwrap().unwrap()
    }

    #[test]
    fn a_stop_during_verification_waits_for_the_read_on_the_wire_and_ends_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("state.db")).unwrap();
        let job = new_job(&mut store);
        let op = Arc::new(SlowVerify::default());
        let finishes = Arc::new(Mutex::new(0));
        actix::System::new().block_on(async {
            let (done_tx, mut done_rx) = oneshot::channel();
            let coordinator = Coordinator::new(
                job.clone(),
                store,
                op.clone(),
                settings(),
                limiter(1000.0),
                Box::new(CountedFinish(finishes.clone())),
                done_tx,
            )
            .unwrap()
            .start();
            op.verifying.notified().await;
            coordinator.do_send(Stop);
            // The verification read is still on the wire: the run must not end before it.
            let early = tokio::time::timeout(Duration::from_millis(300), &mut done_rx).await;
            assert!(
                early.is_err(),
                "the run ended while a request was on the wire"
            );
            op.release.notify_one();
            let ended = done_rx.await.expect("an outcome");
            let RunOutcome::Interrupted { counts, error } = ended.outcome else {
                panic!("a stopped run is interrupted")
            };
            assert!(error.is_none());
            assert_eq!(
                counts.done, 3,
                "the answer on the wire was recorded: {counts:?}"
            );
            // Anything still scheduled (a late round, a timer) must not end the run again.
            tokio::time::sleep(Duration::from_millis(100)).await;
        });
        assert_eq!(op.verified.load(Ordering::SeqCst), 3);
        assert_eq!(*finishes.lock().unwrap(), 1, "the run ended more than once");
    }
}
