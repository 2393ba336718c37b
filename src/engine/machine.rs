//! The coordinator's decisions as a transition function: an event and the present state give
//! the next state and the commands to carry out. Nothing here does I/O or reads a clock (the
//! time comes with each event), so every path through a job's life can be driven in a test;
//! `coordinator.rs` is the shell that executes the commands and turns their results into
//! events.
//!
//! A job goes `Reconcile → Execute ⇄ Verify → Closing → Done`. A stop (a signal, `jobs
//! pause|abort`, an error, a lost lease) ends the run once nothing is outstanding: no chunk in
//! flight or being recorded, no store call, no read on the wire. After `Closing` only the
//! answer to `Close` is heard, and `End` is given exactly once.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::MailboxError;

use super::executor::ChunkReport;
use super::{AdaptiveWindow, EngineError, Resend, RunOutcome, Stage};
use crate::store::{
    Completion, Counts, ItemOutcome, ItemState, JobState, Sharing, StoreError, TakenChunk,
};

/// The reason of an item accepted under `--no-verify`.
const NOT_VERIFIED: &str = "accepted by the server; not verified (--no-verify)";

/// What the machine knows of the job and the operation, fixed for the run.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Sending a chunk twice is harmless; otherwise it is marked `sending` before its request.
    pub idempotent: bool,
    /// Chunks are sent only once enumeration is complete.
    pub after_enumeration: bool,
    pub verify: bool,
    pub verify_timeout: Duration,
    pub verify_poll: Duration,
    pub resend: Option<Resend>,
    pub executors: usize,
    /// The job's id, for the log.
    pub job: String,
    /// The server, as named in an error that it stopped answering.
    pub server: String,
}

/// Where the job stands when this run starts, as the store says.
#[derive(Debug, Clone)]
pub struct Resumed {
    pub counts: Counts,
    pub cursor: Option<String>,
    pub enumerated: bool,
    /// Rounds of resending done by earlier runs.
    pub resend_rounds: u32,
    /// The job's stored rate (`jobs retune`).
    pub rate: Option<f64>,
    /// The rate this run was started with, for the whole job.
    pub run_rate: f64,
    /// How the job is shared by replicas as the run starts; `None` where jobs are not shared.
    pub sharing: Option<Sharing>,
}

/// How a piece of work that talks to the server ended.
#[derive(Debug)]
pub enum Reply<T> {
    Answered(T),
    /// A stop came first; what it would have written stays to be done on resume.
    Interrupted,
    Failed(EngineError),
}

/// A verification round: the job's counts and the pages that still have `sent` items.
pub type Round = (Counts, Vec<(i64, Option<serde_json::Value>)>);

/// What the periodic control check read: the store in place, the lease renewed, and what
/// `jobs pause|abort|retune` wrote.
#[derive(Debug)]
pub struct ControlRead {
    pub in_place: Result<(), StoreError>,
    pub lease_renewed: Result<bool, StoreError>,
    pub control: Result<(JobState, Option<f64>), StoreError>,
    /// How replicas share the job now (`None` where jobs are not shared).
    pub sharing: Result<Option<Sharing>, StoreError>,
}

#[derive(Debug)]
pub enum Event {
    Started,
    Stop,
    /// The first chunk left `sending` by a crashed run, if any.
    InDoubt(Result<Option<TakenChunk>, StoreError>),
    Reconciled(Reply<()>),
    /// A page was read and committed: the cursor to go on from and the items it added.
    Enumerated(Reply<(Option<String>, Counts)>),
    ChunksTaken(Result<Vec<TakenChunk>, StoreError>),
    ChunkAnswered {
        executor: usize,
        answer: Result<ChunkReport, MailboxError>,
    },
    /// The outcomes of a finished chunk are in the store.
    ChunkRecorded(Result<Vec<ItemOutcome>, StoreError>),
    ChunkReset(Result<(), StoreError>),
    Settled(Result<(), StoreError>),
    VerifyRound(Result<Round, StoreError>),
    /// What asking the store to complete the job found.
    Completed(Result<Completion, StoreError>),
    PollDue,
    PageVerified(Reply<Vec<ItemOutcome>>),
    /// Items put back for another round of sending: how many, and the job's counts after.
    Requeued(Result<(u64, Counts), StoreError>),
    ControlTick,
    Control(ControlRead),
    Closed {
        released: Result<(), StoreError>,
        counts: Result<Counts, StoreError>,
    },
}

#[derive(Debug)]
pub enum Command {
    Stage(Stage),
    Progress {
        counts: Counts,
        enumerated: bool,
    },
    /// Nothing more is sent; waits for a request slot, a retry or the pacer end.
    StopSending,
    SetRate(f64),
    LoadInDoubt,
    Reconcile(TakenChunk),
    /// Read the page at the cursor and commit it.
    Enumerate(String),
    TakeChunks {
        after: i64,
        limit: usize,
        mark_sending: bool,
    },
    Send {
        executor: usize,
        chunk: TakenChunk,
    },
    FinishChunk {
        chunk: i64,
        outcomes: Vec<ItemOutcome>,
    },
    /// A chunk taken but never sent is pending again.
    ResetChunk(i64),
    /// Every item still `sent` that this run may judge gets this final state: on a shared
    /// store those it sent, and those of a gone replica sent more than `older_than` ago.
    SettleSent {
        state: ItemState,
        reason: String,
        older_than: Duration,
    },
    ReadVerifyRound,
    /// Ask the store to complete the job (see `Store::complete_job`).
    Complete,
    Wait(Duration),
    /// Verify the page's `sent` items on the server and record what it shows.
    VerifyPage {
        page: i64,
        scope: Option<serde_json::Value>,
    },
    Requeue {
        reason: String,
    },
    CheckControl,
    /// Release the lease and read the final counts.
    Close,
    End(RunOutcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Reconcile,
    Execute,
    Verify,
    /// `Close` is out; only its answer is heard.
    Closing,
    Done,
}

/// What is out and must come back before the run may end.
#[derive(Debug, Default)]
struct Outstanding {
    /// Chunks sent or being recorded.
    chunks: usize,
    /// A `TakeChunks` is out, taking after this chunk.
    taking: Option<i64>,
    enumerating: bool,
    /// A reconcile, verification, settle or requeue is out.
    checking: bool,
    /// `ResetChunk` writes out.
    resets: usize,
}

impl Outstanding {
    fn any(&self) -> bool {
        self.chunks > 0
            || self.taking.is_some()
            || self.enumerating
            || self.checking
            || self.resets > 0
    }
}

pub struct Machine {
    rules: Rules,
    phase: Phase,
    stopping: bool,
    error: Option<EngineError>,
    out: Outstanding,
    window: AdaptiveWindow,
    idle: Vec<usize>,
    last_dispatched: i64,
    /// The last take from the first chunk found none, and nothing was added since.
    drained: bool,
    cursor: Option<String>,
    enumerated: bool,
    counts: Counts,
    controlling: bool,
    verify_queue: VecDeque<(i64, Option<serde_json::Value>)>,
    verify_started: Option<Instant>,
    /// Rounds of resending over every run of the job.
    resends: u32,
    /// Items sent again in this run.
    resent: u64,
    /// The job's stored rate as last seen: only a change of it (`jobs retune`) replaces the
    /// rate this run started with, which a `--rate` flag may have set.
    stored_rate: Option<f64>,
    /// `Close` was asked after the job was completed.
    finishing: bool,
    /// Another replica completes the job, or did (`true`): this run's part is done.
    elsewhere: Option<(String, bool)>,
    /// The pages of the last verification round, while the store is asked to complete the job.
    round_pages: Vec<(i64, Option<serde_json::Value>)>,
    /// Other replicas may run the job too (a shared store): chunks in flight elsewhere keep
    /// items pending, and the job may be finished by another replica.
    shared: bool,
    /// This run lists pages: the only replica, or the one holding the job's lease.
    enumerator: bool,
    /// Live replicas of the job, this one included: each paces at the job's rate over them.
    replicas: usize,
    /// The rate for the whole job: this run's, replaced by a `jobs retune`.
    job_rate: f64,
    /// The rate this run's limiter was last given.
    paced_at: f64,
    commands: Vec<Command>,
}

impl Machine {
    pub fn new(rules: Rules, resumed: Resumed) -> Self {
        let executors = rules.executors.max(1);
        Machine {
            window: AdaptiveWindow::new(executors),
            idle: (0..executors).rev().collect(),
            rules,
            phase: Phase::Reconcile,
            stopping: false,
            error: None,
            out: Outstanding::default(),
            last_dispatched: 0,
            drained: false,
            cursor: resumed.cursor,
            enumerated: resumed.enumerated,
            counts: resumed.counts,
            controlling: false,
            verify_queue: VecDeque::new(),
            verify_started: None,
            resends: resumed.resend_rounds,
            resent: 0,
            stored_rate: resumed.rate,
            finishing: false,
            elsewhere: None,
            round_pages: Vec::new(),
            shared: resumed.sharing.is_some(),
            enumerator: resumed.sharing.as_ref().is_none_or(|s| s.enumerator),
            replicas: resumed.sharing.as_ref().map_or(1, |s| s.live.max(1)),
            job_rate: resumed.run_rate,
            paced_at: resumed.run_rate
                / resumed.sharing.as_ref().map_or(1, |s| s.live.max(1)) as f64,
            commands: Vec::new(),
        }
    }

    #[cfg(test)]
    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    pub fn resent(&self) -> u64 {
        self.resent
    }

    pub fn window(&mut self) -> &mut AdaptiveWindow {
        &mut self.window
    }

    /// The transition: what `event`, arriving at `now`, changes, and what to do about it.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Command> {
        match self.phase {
            Phase::Closing => {
                if let Event::Closed { released, counts } = event {
                    self.closed(released, counts);
                }
            }
            Phase::Done => {}
            _ => self.step(event, now),
        }
        std::mem::take(&mut self.commands)
    }

    fn step(&mut self, event: Event, now: Instant) {
        match event {
            Event::Started => {
                self.emit(Command::Stage(Stage::Reconciling));
                self.progress();
                self.reconcile_next(now);
            }
            Event::Stop => {
                if !self.stopping {
                    tracing::warn!(
                        job = %self.rules.job,
                        in_flight = self.out.chunks,
                        "stopping: finishing requests on the wire"
                    );
                }
                self.stop(now);
            }
            Event::InDoubt(found) => {
                self.out.checking = false;
                match found {
                    Err(e) => self.fail(e.into(), now),
                    Ok(_) if self.stopping => self.maybe_finish(now),
                    Ok(None) => self.execute(now),
                    Ok(Some(chunk)) => {
                        tracing::info!(
                            job = %self.rules.job,
                            chunk = chunk.chunk,
                            items = chunk.items.len(),
                            "checking an in-doubt chunk before resending anything"
                        );
                        self.out.checking = true;
                        self.emit(Command::Reconcile(chunk));
                    }
                }
            }
            Event::Reconciled(reply) => {
                self.out.checking = false;
                match reply {
                    Reply::Answered(()) => self.reconcile_next(now),
                    // The chunk stays in doubt and is reconciled on resume.
                    Reply::Interrupted => self.maybe_finish(now),
                    Reply::Failed(e) => self.fail(e, now),
                }
            }
            Event::Enumerated(reply) => {
                self.out.enumerating = false;
                match reply {
                    Reply::Answered((next, added)) => self.page_committed(next, &added, now),
                    // The page is read again on resume.
                    Reply::Interrupted => self.maybe_finish(now),
                    Reply::Failed(e) => self.fail(e, now),
                }
            }
            Event::ChunksTaken(taken) => self.chunks_taken(taken, now),
            Event::ChunkAnswered { executor, answer } => {
                self.idle.push(executor);
                self.chunk_answered(answer, now);
            }
            Event::ChunkRecorded(recorded) => {
                self.out.chunks -= 1;
                match recorded {
                    Ok(outcomes) => self.chunk_recorded(&outcomes, now),
                    // This replica stalled past its lease on the chunk and another took it:
                    // that one sends and records it, and this one goes on with others.
                    Err(StoreError::ChunkTaken { chunk, .. }) => {
                        tracing::warn!(
                            job = %self.rules.job,
                            chunk,
                            "another replica took this chunk after this one's lease on it ran out (a stall): its outcomes are that replica's to record; going on with other chunks"
                        );
                        self.dispatch(now);
                    }
                    Err(e) => self.fail(e.into(), now),
                }
            }
            Event::ChunkReset(reset) => {
                self.out.resets -= 1;
                match reset {
                    Ok(()) => self.maybe_finish(now),
                    Err(e) => self.fail(e.into(), now),
                }
            }
            Event::Settled(settled) => {
                self.out.checking = false;
                match settled {
                    // Other replicas may still have items out, which they judge themselves:
                    // the counts decide, after a moment.
                    Ok(()) if self.shared => self.emit(Command::Wait(self.rules.verify_poll)),
                    Ok(()) => self.complete(),
                    Err(e) => self.fail(e.into(), now),
                }
            }
            Event::VerifyRound(round) => {
                self.out.checking = false;
                match round {
                    Ok(round) => self.verify_round(round, now),
                    Err(e) => self.fail(e.into(), now),
                }
            }
            Event::Completed(completion) => {
                self.out.checking = false;
                match completion {
                    Ok(completion) => self.completed(completion, now),
                    Err(e) => self.fail(e.into(), now),
                }
            }
            Event::PollDue => self.verify_page(now),
            Event::PageVerified(reply) => {
                self.out.checking = false;
                match reply {
                    Reply::Answered(outcomes) => {
                        self.count(ItemState::Sent, &outcomes);
                        self.verify_next(now);
                    }
                    // The items stay sent and are verified on resume.
                    Reply::Interrupted => self.maybe_finish(now),
                    Reply::Failed(e) => self.fail(e, now),
                }
            }
            Event::Requeued(requeued) => {
                self.out.checking = false;
                match requeued {
                    Ok((items, counts)) => self.requeued(items, counts, now),
                    Err(e) => self.fail(e.into(), now),
                }
            }
            Event::ControlTick => {
                if !self.controlling {
                    self.controlling = true;
                    self.emit(Command::CheckControl);
                }
            }
            Event::Control(read) => {
                self.controlling = false;
                self.control(read, now);
            }
            // Heard only while closing.
            Event::Closed { .. } => {}
        }
    }

    fn emit(&mut self, command: Command) {
        self.commands.push(command);
    }

    fn progress(&mut self) {
        self.emit(Command::Progress {
            counts: self.counts.clone(),
            enumerated: self.enumerated,
        });
    }

    fn count(&mut self, from: ItemState, outcomes: &[ItemOutcome]) {
        for o in outcomes {
            self.counts.shift(Some(from), o.state, 1);
        }
        self.progress();
    }

    /// Stops new work after an error; the job stays open for a resume.
    fn fail(&mut self, error: EngineError, now: Instant) {
        tracing::error!(job = %self.rules.job, "{error}");
        if self.error.is_none() {
            self.error = Some(error);
        }
        self.stop(now);
    }

    /// No request is sent from now on; the run ends once everything out is back.
    fn stop(&mut self, now: Instant) {
        if !self.stopping {
            self.stopping = true;
            self.emit(Command::StopSending);
        }
        self.maybe_finish(now);
    }

    fn maybe_finish(&mut self, now: Instant) {
        if self.out.any() {
            return;
        }
        if self.stopping {
            return self.close(false);
        }
        if self.phase == Phase::Execute && self.enumerated {
            if self.drained {
                self.start_verify(now);
            } else {
                self.dispatch(now);
            }
        }
    }

    // --- reconcile: chunks a crashed process left in `sending` -------------------------

    fn reconcile_next(&mut self, now: Instant) {
        if self.stopping {
            return self.maybe_finish(now);
        }
        self.out.checking = true;
        self.emit(Command::LoadInDoubt);
    }

    fn execute(&mut self, now: Instant) {
        self.phase = Phase::Execute;
        self.emit(Command::Stage(if self.enumerated {
            Stage::Executing
        } else {
            Stage::Enumerating
        }));
        self.enumerate_next();
        self.dispatch(now);
    }

    // --- enumeration -------------------------------------------------------------------

    fn enumerate_next(&mut self) {
        if self.enumerated || self.out.enumerating || self.stopping || !self.enumerator {
            return;
        }
        if let Some(cursor) = self.cursor.clone() {
            self.out.enumerating = true;
            self.emit(Command::Enumerate(cursor));
        }
    }

    fn page_committed(&mut self, next: Option<String>, added: &Counts, now: Instant) {
        self.counts.merge(added);
        self.enumerated = next.is_none();
        self.cursor = next;
        self.drained = false;
        if self.enumerated {
            self.emit(Command::Stage(Stage::Executing));
        }
        self.progress();
        self.enumerate_next();
        self.dispatch(now);
    }

    // --- execution ---------------------------------------------------------------------

    /// Takes as many chunks as the window and the idle executors allow, one take at a time.
    /// While a page is being listed no chunk is taken: listing goes first, so that the request
    /// slots a low `--rate` allows go to learning the whole selection (what an interrupted job
    /// reports as never sent) before acting on it.
    fn dispatch(&mut self, now: Instant) {
        let listing = self.out.enumerating;
        let may_execute = self.enumerated || !(self.rules.after_enumeration || listing);
        if self.phase != Phase::Execute
            || self.stopping
            || !may_execute
            || self.out.taking.is_some()
        {
            return self.maybe_finish(now);
        }
        let room = self.window.allowed().saturating_sub(self.out.chunks);
        let limit = room.min(self.idle.len());
        if limit == 0 {
            return;
        }
        // With nothing in flight every pending chunk is free to take, also one a stop or a
        // lost answer left behind; otherwise those in flight are pending too.
        let after = if self.out.chunks == 0 {
            0
        } else {
            self.last_dispatched
        };
        self.out.taking = Some(after);
        self.emit(Command::TakeChunks {
            after,
            limit,
            mark_sending: !self.rules.idempotent,
        });
    }

    fn chunks_taken(&mut self, taken: Result<Vec<TakenChunk>, StoreError>, now: Instant) {
        let after = self.out.taking.take().unwrap_or_default();
        let taken = match taken {
            Ok(taken) => taken,
            Err(e) => return self.fail(e.into(), now),
        };
        if taken.is_empty() && after == 0 {
            self.drained = true;
        }
        let any = !taken.is_empty();
        for chunk in taken {
            // No more are taken than executors are idle, and idle ones stay so until sent to.
            let executor = if self.stopping { None } else { self.idle.pop() };
            let Some(executor) = executor else {
                // Taken but not sent (a stop came first): pending again, not in doubt.
                if !self.rules.idempotent {
                    self.out.resets += 1;
                    self.emit(Command::ResetChunk(chunk.chunk));
                }
                continue;
            };
            self.out.chunks += 1;
            self.last_dispatched = chunk.chunk;
            self.emit(Command::Send { executor, chunk });
        }
        if any {
            self.dispatch(now);
        } else {
            self.maybe_finish(now);
        }
    }

    fn chunk_answered(&mut self, answer: Result<ChunkReport, MailboxError>, now: Instant) {
        let report = match answer {
            Ok(report) => report,
            Err(e) => {
                self.out.chunks -= 1;
                return self.fail(e.into(), now);
            }
        };
        self.window.observe(&report.stats);
        match report.outcomes {
            Some(outcomes) => self.emit(Command::FinishChunk {
                chunk: report.chunk,
                outcomes,
            }),
            // A chunk a stop interrupted stays as it was: pending, or in doubt (`sending`) and
            // so reconciled on resume. One that made no request never left, and is pending.
            None => {
                self.out.chunks -= 1;
                if report.stats.requests == 0 && !self.rules.idempotent {
                    self.out.resets += 1;
                    self.emit(Command::ResetChunk(report.chunk));
                }
                self.maybe_finish(now);
            }
        }
    }

    fn chunk_recorded(&mut self, outcomes: &[ItemOutcome], now: Instant) {
        self.count(ItemState::Pending, outcomes);
        if let Some(unsent) = outcomes.iter().find(|o| o.state == ItemState::Pending) {
            let error = EngineError::Unreachable {
                server: self.rules.server.clone(),
                reason: unsent.reason.clone().unwrap_or_default(),
            };
            return self.fail(error, now);
        }
        self.dispatch(now);
    }

    // --- verification ------------------------------------------------------------------

    fn start_verify(&mut self, now: Instant) {
        self.phase = Phase::Verify;
        if !self.rules.verify {
            return self.settle(ItemState::Done, NOT_VERIFIED.into(), Duration::ZERO);
        }
        self.emit(Command::Stage(Stage::Verifying));
        self.verify_started = Some(now);
        self.verify_next(now);
    }

    fn settle(&mut self, state: ItemState, reason: String, older_than: Duration) {
        self.out.checking = true;
        self.emit(Command::SettleSent {
            state,
            reason,
            older_than,
        });
    }

    fn verify_next(&mut self, now: Instant) {
        if self.stopping {
            return self.maybe_finish(now);
        }
        if self.verify_queue.is_empty() {
            self.out.checking = true;
            return self.emit(Command::ReadVerifyRound);
        }
        self.verify_page(now);
    }

    fn verify_round(&mut self, (counts, pages): Round, now: Instant) {
        self.counts = counts;
        self.progress();
        if self.stopping {
            return self.maybe_finish(now);
        }
        if self.shared {
            // Whether this replica goes on, ends here or completes the job is the store's to
            // say, in one transaction: of several replicas only one completes it.
            self.round_pages = pages;
            return self.complete();
        }
        if self.counts.sent == 0 {
            return self.complete();
        }
        self.go_on_verifying(pages, now);
    }

    fn complete(&mut self) {
        self.out.checking = true;
        self.emit(Command::Complete);
    }

    fn completed(&mut self, completion: Completion, now: Instant) {
        if self.stopping {
            return self.maybe_finish(now);
        }
        match completion {
            Completion::Completed => self.close(true),
            Completion::Elsewhere { by, finished } => {
                self.elsewhere = Some((by, finished));
                self.close(true);
            }
            Completion::Open if self.counts.sent == 0 => {
                // Chunks in flight at other replicas, or freed from a gone one: take again
                // after a moment.
                self.phase = Phase::Execute;
                self.drained = false;
                self.emit(Command::Wait(self.rules.verify_poll));
            }
            Completion::Open => {
                let pages = std::mem::take(&mut self.round_pages);
                self.go_on_verifying(pages, now);
            }
        }
    }

    /// Another round on the items still `sent`, once the server's lists had a moment, unless
    /// the timeout ran out.
    fn go_on_verifying(&mut self, pages: Vec<(i64, Option<serde_json::Value>)>, now: Instant) {
        if !self.rules.verify {
            // Sent by another replica since this one settled its own.
            return self.settle(ItemState::Done, NOT_VERIFIED.into(), Duration::ZERO);
        }
        let waited = self
            .verify_started
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        if waited >= self.rules.verify_timeout {
            return self.verify_timed_out();
        }
        self.verify_queue.extend(pages);
        // The server's lists lag: give it a moment between rounds.
        self.emit(Command::Wait(self.rules.verify_poll));
    }

    fn verify_page(&mut self, now: Instant) {
        // A stop may come while the next round waits for the server's lists to settle.
        if self.stopping || self.phase != Phase::Verify {
            return self.maybe_finish(now);
        }
        match self.verify_queue.pop_front() {
            Some((page, scope)) => {
                self.out.checking = true;
                self.emit(Command::VerifyPage { page, scope });
            }
            None => self.verify_next(now),
        }
    }

    /// `--verify-timeout` ran out with items still unconfirmed. When the operation's server may
    /// drop accepted requests, they go back to execution (whose checks decide again whether each
    /// may be sent) for a bounded number of rounds, then fail; otherwise they end unconfirmed.
    fn verify_timed_out(&mut self) {
        let timeout = self.rules.verify_timeout.as_secs();
        match self.rules.resend {
            Some(resend) if self.resends < resend.rounds => {
                self.resends += 1;
                self.out.checking = true;
                self.emit(Command::Requeue {
                    reason: format!(
                        "accepted, but the server showed no effect within {timeout}s: sending again (round {})",
                        self.resends
                    ),
                });
            }
            Some(resend) => self.settle(
                ItemState::Failed,
                format!("{} (sent {} times)", resend.reason, self.resends + 1),
                self.rules.verify_timeout,
            ),
            None => self.settle(
                ItemState::Unconfirmed,
                format!("not confirmed by the server within {timeout}s (--verify-timeout)"),
                self.rules.verify_timeout,
            ),
        }
    }

    fn requeued(&mut self, items: u64, counts: Counts, now: Instant) {
        tracing::warn!(
            job = %self.rules.job,
            items,
            round = self.resends,
            "the server accepted these items but never applied them: sending them again"
        );
        self.resent += items;
        self.counts = counts;
        self.phase = Phase::Execute;
        self.drained = false;
        self.verify_queue.clear();
        self.emit(Command::Stage(Stage::Resending));
        self.progress();
        self.dispatch(now);
    }

    // --- control -----------------------------------------------------------------------

    /// A store that moved, vanished or fails stops the job, and so does a lease another process
    /// took; a lock another process holds too long does not.
    fn control(&mut self, read: ControlRead, now: Instant) {
        if let Err(e) = read.in_place {
            return self.fail(e.into(), now);
        }
        match read.lease_renewed {
            Ok(true) => {}
            Ok(false) => return self.fail(EngineError::LeaseLost, now),
            Err(e) if e.concerns_the_file() => return self.fail(e.into(), now),
            Err(e) => tracing::warn!("cannot renew the job's lease: {e}"),
        }
        let (state, rate) = match read.control {
            Ok(control) => control,
            Err(e) if e.concerns_the_file() => return self.fail(e.into(), now),
            Err(e) => return tracing::warn!("cannot read the job's controls: {e}"),
        };
        match read.sharing {
            Ok(Some(sharing)) => self.shared_with(sharing, now),
            Ok(None) => {}
            Err(e) if e.concerns_the_file() => return self.fail(e.into(), now),
            Err(e) => tracing::warn!("cannot read the job's replicas: {e}"),
        }
        let retuned = rate != self.stored_rate;
        if retuned {
            self.stored_rate = rate;
            if let Some(rate) = rate {
                self.job_rate = rate;
            }
        }
        let pace = self.job_rate / self.replicas as f64;
        if (retuned && rate.is_some()) || pace != self.paced_at {
            self.paced_at = pace;
            self.emit(Command::SetRate(pace));
        }
        // Another replica saw nothing left and finished the job: this run's next round sees
        // the same and ends finished too.
        let finished_elsewhere = self.shared && state == JobState::Finished;
        if state != JobState::Running && !self.stopping && !finished_elsewhere {
            tracing::warn!(
                job = %self.rules.job,
                in_flight = self.out.chunks,
                "the job was {} from outside: finishing requests on the wire and stopping",
                state.as_str()
            );
            self.stop(now);
        }
    }

    /// What the store says of the other replicas: how many share the rate, whether this run
    /// enumerates (it takes over from a gone enumerator, going on from the stored cursor), and,
    /// for a run that does not, how far enumeration got. Chunks other replicas' pages made, or
    /// a gone replica's freed chunks, are taken at the next dispatch.
    fn shared_with(&mut self, sharing: Sharing, now: Instant) {
        self.replicas = sharing.live.max(1);
        let took_over = sharing.enumerator && !self.enumerator;
        self.enumerator = sharing.enumerator;
        if !self.enumerator || took_over {
            self.cursor = sharing.cursor;
            if sharing.enumerated && !self.enumerated {
                self.enumerated = true;
                self.emit(Command::Stage(Stage::Executing));
            }
        }
        if self.phase == Phase::Execute && !self.stopping {
            self.drained = false;
            self.enumerate_next();
            self.dispatch(now);
        }
    }

    // --- the end -----------------------------------------------------------------------

    fn close(&mut self, finished: bool) {
        self.phase = Phase::Closing;
        self.finishing = finished;
        self.emit(Command::Close);
    }

    fn closed(&mut self, released: Result<(), StoreError>, counts: Result<Counts, StoreError>) {
        self.phase = Phase::Done;
        if let Err(e) = released {
            tracing::warn!("cannot release the job's lease: {e}");
        }
        match counts {
            Ok(counts) => self.counts = counts,
            Err(e) => tracing::warn!("cannot read counts: {e}"),
        }
        self.progress();
        let counts = self.counts.clone();
        let outcome = match (self.finishing, self.error.take(), self.elsewhere.take()) {
            (true, None, None) => RunOutcome::Finished(counts),
            (true, None, Some((by, finished))) => RunOutcome::Elsewhere {
                counts,
                by,
                finished,
            },
            (_, error, _) => RunOutcome::Interrupted { counts, error },
        };
        self.emit(Command::End(outcome));
    }
}

#[cfg(test)]
mod tests {
    //! The machine driven event by event, with no actor, store or server: each test plays the
    //! answers in the order that makes the case.

    use super::*;
    use crate::engine::CallStats;
    use crate::store::Item;

    fn rules() -> Rules {
        Rules {
            idempotent: true,
            after_enumeration: false,
            verify: true,
            verify_timeout: Duration::from_secs(10),
            verify_poll: Duration::from_millis(1),
            resend: None,
            executors: 4,
            job: "job".into(),
            server: "http://server.test/".into(),
        }
    }

    /// A job whose items are all listed already.
    fn enumerated() -> Resumed {
        Resumed {
            counts: counts(3, 0),
            cursor: None,
            enumerated: true,
            resend_rounds: 0,
            rate: None,
            run_rate: 10.0,
            sharing: None,
        }
    }

    /// A job whose first page is still to be read.
    fn listing() -> Resumed {
        Resumed {
            cursor: Some("start".into()),
            enumerated: false,
            ..enumerated()
        }
    }

    fn counts(pending: u64, sent: u64) -> Counts {
        Counts {
            total: pending + sent,
            pending,
            sent,
            ..Counts::default()
        }
    }

    fn chunk(n: i64) -> TakenChunk {
        TakenChunk {
            chunk: n,
            items: vec![Item {
                seq: n,
                id: format!("item-{n}"),
                page: 0,
                payload: None,
                attempts: 0,
            }],
        }
    }

    fn outcomes(n: i64, state: ItemState) -> Vec<ItemOutcome> {
        vec![ItemOutcome {
            id: format!("item-{n}"),
            state,
            reason: None,
            http_status: None,
            attempts: 1,
        }]
    }

    fn answered(executor: usize, n: i64, outcomes: Option<Vec<ItemOutcome>>) -> Event {
        Event::ChunkAnswered {
            executor,
            answer: Ok(ChunkReport {
                chunk: n,
                outcomes,
                stats: CallStats {
                    requests: 1,
                    ..CallStats::default()
                },
            }),
        }
    }

    fn closed() -> Event {
        Event::Closed {
            released: Ok(()),
            counts: Ok(Counts::default()),
        }
    }

    /// A machine and a clock that only moves when told.
    struct Drive {
        machine: Machine,
        now: Instant,
    }

    impl Drive {
        fn new(rules: Rules, resumed: Resumed) -> Self {
            Drive {
                machine: Machine::new(rules, resumed),
                now: Instant::now(),
            }
        }

        fn on(&mut self, event: Event) -> Vec<Command> {
            self.machine.handle(event, self.now)
        }

        fn later(&mut self, by: Duration) {
            self.now += by;
        }

        /// From the start to the first take of chunks, with nothing in doubt.
        fn start_executing(&mut self) -> Vec<Command> {
            let started = self.on(Event::Started);
            assert!(has(&started, |c| matches!(c, Command::LoadInDoubt)));
            self.on(Event::InDoubt(Ok(None)))
        }

        /// From the start to the first verification round, every chunk already done.
        fn start_verifying(&mut self) {
            let taking = self.start_executing();
            assert!(has(&taking, |c| matches!(
                c,
                Command::TakeChunks { after: 0, .. }
            )));
            let verifying = self.on(Event::ChunksTaken(Ok(vec![])));
            assert!(has(&verifying, |c| matches!(c, Command::ReadVerifyRound)));
        }

        /// After `Close`, nothing but its answer is heard, and that one gives `End` once.
        fn ends_once(&mut self, events: impl Fn() -> Vec<Event>) -> RunOutcome {
            for event in events() {
                let heard = self.on(event);
                assert!(heard.is_empty(), "heard while closing: {heard:?}");
                assert_eq!(self.machine.phase(), Phase::Closing);
            }
            let mut ended = self.on(closed());
            assert_eq!(self.machine.phase(), Phase::Done);
            let Some(Command::End(outcome)) = ended.pop() else {
                panic!("no end: {ended:?}")
            };
            for event in events().into_iter().chain([closed()]) {
                let heard = self.on(event);
                assert!(heard.is_empty(), "heard after the end: {heard:?}");
                assert_eq!(self.machine.phase(), Phase::Done);
            }
            outcome
        }
    }

    /// Every kind of late arrival: answers, timers, a stop, a lost lease.
    fn late_events() -> Vec<Event> {
        vec![
            Event::Stop,
            Event::Started,
            Event::InDoubt(Ok(None)),
            Event::ChunksTaken(Ok(vec![chunk(9)])),
            answered(0, 9, Some(outcomes(9, ItemState::Done))),
            Event::ChunkRecorded(Ok(outcomes(9, ItemState::Done))),
            Event::PollDue,
            Event::VerifyRound(Ok((counts(0, 1), vec![(0, None)]))),
            Event::ControlTick,
            Event::Control(ControlRead {
                in_place: Ok(()),
                lease_renewed: Ok(false),
                control: Ok((JobState::Paused, Some(5.0))),
                sharing: Ok(None),
            }),
        ]
    }

    fn has(commands: &[Command], wanted: impl Fn(&Command) -> bool) -> bool {
        commands.iter().any(wanted)
    }

    fn closes(commands: &[Command]) -> bool {
        has(commands, |c| matches!(c, Command::Close))
    }

    #[test]
    fn a_stop_during_reconcile_waits_for_the_check_on_the_wire_and_ends_once() {
        let mut drive = Drive::new(rules(), enumerated());
        drive.on(Event::Started);
        let checking = drive.on(Event::InDoubt(Ok(Some(chunk(1)))));
        assert!(has(&checking, |c| matches!(c, Command::Reconcile(_))));
        let stopping = drive.on(Event::Stop);
        assert!(has(&stopping, |c| matches!(c, Command::StopSending)));
        assert!(!closes(&stopping), "closed with a check on the wire");
        // Its answer came in before the stop reached it: recorded, and nothing more is looked at.
        let after = drive.on(Event::Reconciled(Reply::Answered(())));
        assert!(matches!(after[..], [Command::Close]), "{after:?}");
        let outcome = drive.ends_once(late_events);
        assert!(matches!(
            outcome,
            RunOutcome::Interrupted { error: None, .. }
        ));
    }

    #[test]
    fn a_stop_while_in_doubt_chunks_are_looked_up_never_starts_execution() {
        let mut drive = Drive::new(rules(), listing());
        drive.on(Event::Started);
        assert!(!closes(&drive.on(Event::Stop)));
        let after = drive.on(Event::InDoubt(Ok(None)));
        assert!(
            matches!(after[..], [Command::Close]),
            "execution began after a stop: {after:?}"
        );
        drive.ends_once(late_events);
    }

    #[test]
    fn a_stop_during_execution_waits_for_every_chunk_on_the_wire_and_its_record() {
        let mut drive = Drive::new(rules(), enumerated());
        let taking = drive.start_executing();
        // Four executors: the window starts at two chunks.
        assert!(has(&taking, |c| matches!(
            c,
            Command::TakeChunks { limit: 2, .. }
        )));
        let sent = drive.on(Event::ChunksTaken(Ok(vec![chunk(1), chunk(2)])));
        let executors: Vec<usize> = sent
            .iter()
            .filter_map(|c| match c {
                Command::Send { executor, .. } => Some(*executor),
                _ => None,
            })
            .collect();
        assert_eq!(executors.len(), 2, "{sent:?}");
        assert!(!closes(&drive.on(Event::Stop)));
        let recording = drive.on(answered(
            executors[0],
            1,
            Some(outcomes(1, ItemState::Sent)),
        ));
        assert!(has(&recording, |c| matches!(
            c,
            Command::FinishChunk { chunk: 1, .. }
        )));
        assert!(!closes(&recording));
        // The other one was interrupted by the stop; the first is still being recorded.
        assert!(!closes(&drive.on(answered(executors[1], 2, None))));
        let recorded = drive.on(Event::ChunkRecorded(Ok(outcomes(1, ItemState::Sent))));
        assert!(closes(&recorded), "{recorded:?}");
        assert!(!has(&recorded, |c| matches!(c, Command::TakeChunks { .. })));
        let RunOutcome::Interrupted { error: None, .. } = drive.ends_once(late_events) else {
            panic!("a stopped run is interrupted")
        };
    }

    #[test]
    fn chunks_taken_for_a_non_idempotent_operation_but_not_sent_are_pending_again() {
        let mut drive = Drive::new(
            Rules {
                idempotent: false,
                ..rules()
            },
            enumerated(),
        );
        let taking = drive.start_executing();
        assert!(has(&taking, |c| matches!(
            c,
            Command::TakeChunks {
                mark_sending: true,
                ..
            }
        )));
        drive.on(Event::Stop);
        // The store marked them `sending` before the stop was heard: not in doubt, never sent.
        let after = drive.on(Event::ChunksTaken(Ok(vec![chunk(1), chunk(2)])));
        assert!(!has(&after, |c| matches!(c, Command::Send { .. })));
        let resets: Vec<i64> = after
            .iter()
            .filter_map(|c| match c {
                Command::ResetChunk(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(resets, [1, 2]);
        assert!(!closes(&after), "closed before the chunks were put back");
        assert!(!closes(&drive.on(Event::ChunkReset(Ok(())))));
        assert!(closes(&drive.on(Event::ChunkReset(Ok(())))));
        drive.ends_once(late_events);
    }

    #[test]
    fn a_stop_during_verification_waits_for_the_read_on_the_wire_and_ends_once() {
        let mut drive = Drive::new(rules(), enumerated());
        drive.start_verifying();
        let waiting = drive.on(Event::VerifyRound(Ok((counts(0, 3), vec![(0, None)]))));
        assert!(has(&waiting, |c| matches!(c, Command::Wait(_))));
        let reading = drive.on(Event::PollDue);
        assert!(has(&reading, |c| matches!(
            c,
            Command::VerifyPage { page: 0, .. }
        )));
        assert!(!closes(&drive.on(Event::Stop)), "closed with a read out");
        let after = drive.on(Event::PageVerified(Reply::Answered(outcomes(
            1,
            ItemState::Done,
        ))));
        assert!(closes(&after), "{after:?}");
        assert!(!has(&after, |c| matches!(c, Command::ReadVerifyRound)));
        drive.ends_once(late_events);
    }

    #[test]
    fn a_stop_while_verification_waits_between_rounds_ends_at_once() {
        let mut drive = Drive::new(rules(), enumerated());
        drive.start_verifying();
        drive.on(Event::VerifyRound(Ok((counts(0, 3), vec![(0, None)]))));
        assert!(closes(&drive.on(Event::Stop)));
        drive.ends_once(late_events);
    }

    #[test]
    fn a_finished_job_changes_nothing_after_its_end() {
        let mut drive = Drive::new(rules(), enumerated());
        drive.start_verifying();
        let completing = drive.on(Event::VerifyRound(Ok((counts(0, 0), vec![]))));
        assert!(
            has(&completing, |c| matches!(c, Command::Complete)),
            "{completing:?}"
        );
        assert!(closes(
            &drive.on(Event::Completed(Ok(Completion::Completed)))
        ));
        let RunOutcome::Finished(_) = drive.ends_once(late_events) else {
            panic!("nothing was left to confirm: the job is finished")
        };
    }

    #[test]
    fn resend_rounds_are_bounded_then_what_is_left_fails() {
        let resend = Resend {
            rounds: 1,
            reason: "accepted but never applied",
        };
        let rules = Rules {
            resend: Some(resend),
            ..rules()
        };
        let mut drive = Drive::new(rules.clone(), enumerated());
        drive.start_verifying();
        drive.later(Duration::from_secs(11));
        let requeue = drive.on(Event::VerifyRound(Ok((counts(0, 1), vec![(0, None)]))));
        let Some(Command::Requeue { reason }) = requeue.last() else {
            panic!("timed out with a round to go: {requeue:?}")
        };
        assert!(reason.contains("round 1"), "{reason}");
        let resending = drive.on(Event::Requeued(Ok((1, counts(1, 0)))));
        assert!(has(&resending, |c| matches!(
            c,
            Command::Stage(Stage::Resending)
        )));
        assert!(has(&resending, |c| matches!(
            c,
            Command::TakeChunks { after: 0, .. }
        )));
        let sent = drive.on(Event::ChunksTaken(Ok(vec![chunk(7)])));
        let Some(Command::Send { executor, .. }) = sent.first() else {
            panic!("{sent:?}")
        };
        let executor = *executor;
        drive.on(answered(executor, 7, Some(outcomes(7, ItemState::Sent))));
        drive.on(Event::ChunkRecorded(Ok(outcomes(7, ItemState::Sent))));
        // The take after chunk 7 finds none; with nothing in flight, one more from the start.
        let sweep = drive.on(Event::ChunksTaken(Ok(vec![])));
        assert!(has(&sweep, |c| matches!(
            c,
            Command::TakeChunks { after: 0, .. }
        )));
        let verifying = drive.on(Event::ChunksTaken(Ok(vec![])));
        assert!(has(&verifying, |c| matches!(c, Command::ReadVerifyRound)));
        // A fresh timeout for the round: not yet out.
        let waiting = drive.on(Event::VerifyRound(Ok((counts(0, 1), vec![(0, None)]))));
        assert!(has(&waiting, |c| matches!(c, Command::Wait(_))));
        drive.on(Event::PollDue);
        drive.later(Duration::from_secs(11));
        drive.on(Event::PageVerified(Reply::Answered(vec![])));
        let settle = drive.on(Event::VerifyRound(Ok((counts(0, 1), vec![(0, None)]))));
        let Some(Command::SettleSent {
            state: ItemState::Failed,
            reason,
            ..
        }) = settle.last()
        else {
            panic!("the rounds are spent: {settle:?}")
        };
        assert_eq!(reason, "accepted but never applied (sent 2 times)");
        let completing = drive.on(Event::Settled(Ok(())));
        assert!(has(&completing, |c| matches!(c, Command::Complete)));
        assert!(closes(
            &drive.on(Event::Completed(Ok(Completion::Completed)))
        ));

        // Rounds spent by an earlier run count: no round left.
        let mut resumed = Drive::new(
            rules,
            Resumed {
                resend_rounds: 1,
                ..enumerated()
            },
        );
        resumed.start_verifying();
        resumed.later(Duration::from_secs(11));
        let settle = resumed.on(Event::VerifyRound(Ok((counts(0, 1), vec![]))));
        assert!(
            has(&settle, |c| matches!(c, Command::SettleSent { .. })),
            "{settle:?}"
        );
    }

    #[test]
    fn a_lost_lease_stops_the_run_once_the_chunk_on_the_wire_is_recorded() {
        let mut drive = Drive::new(rules(), enumerated());
        drive.start_executing();
        let sent = drive.on(Event::ChunksTaken(Ok(vec![chunk(1)])));
        let Some(Command::Send { executor, .. }) = sent.first() else {
            panic!("{sent:?}")
        };
        let executor = *executor;
        // Room for one more chunk: none is left.
        assert!(has(&sent, |c| matches!(
            c,
            Command::TakeChunks { after: 1, .. }
        )));
        drive.on(Event::ChunksTaken(Ok(vec![])));
        assert!(has(&drive.on(Event::ControlTick), |c| matches!(
            c,
            Command::CheckControl
        )));
        assert!(
            drive.on(Event::ControlTick).is_empty(),
            "a second check while the first is out"
        );
        let lost = drive.on(Event::Control(ControlRead {
            in_place: Ok(()),
            lease_renewed: Ok(false),
            control: Ok((JobState::Running, None)),
            sharing: Ok(None),
        }));
        assert!(has(&lost, |c| matches!(c, Command::StopSending)));
        assert!(!closes(&lost), "closed with a chunk on the wire");
        drive.on(answered(executor, 1, Some(outcomes(1, ItemState::Done))));
        assert!(closes(
            &drive.on(Event::ChunkRecorded(Ok(outcomes(1, ItemState::Done))))
        ));
        let outcome = drive.ends_once(late_events);
        assert!(
            matches!(
                outcome,
                RunOutcome::Interrupted {
                    error: Some(EngineError::LeaseLost),
                    ..
                }
            ),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_retune_sets_the_rate_once_and_a_pause_stops_the_run() {
        let mut drive = Drive::new(rules(), enumerated());
        drive.start_verifying();
        let control = |state, rate| {
            Event::Control(ControlRead {
                in_place: Ok(()),
                lease_renewed: Ok(true),
                control: Ok((state, rate)),
                sharing: Ok(None),
            })
        };
        drive.on(Event::ControlTick);
        let retuned = drive.on(control(JobState::Running, Some(5.0)));
        assert!(matches!(retuned[..], [Command::SetRate(rate)] if rate == 5.0));
        drive.on(Event::ControlTick);
        assert!(drive.on(control(JobState::Running, Some(5.0))).is_empty());
        drive.on(Event::ControlTick);
        let paused = drive.on(control(JobState::Paused, Some(5.0)));
        assert!(has(&paused, |c| matches!(c, Command::StopSending)));
        assert!(!closes(&paused), "closed with the round's read out");
        assert!(closes(
            &drive.on(Event::VerifyRound(Ok((counts(0, 3), vec![]))))
        ));
    }

    #[test]
    fn no_chunk_is_taken_while_a_page_is_being_listed() {
        let mut drive = Drive::new(rules(), listing());
        let listing = drive.start_executing();
        assert!(has(&listing, |c| matches!(c, Command::Enumerate(_))));
        assert!(!has(&listing, |c| matches!(c, Command::TakeChunks { .. })));
        let next = drive.on(Event::Enumerated(Reply::Answered((
            Some("page 2".into()),
            counts(300, 0),
        ))));
        assert!(has(&next, |c| matches!(c, Command::Enumerate(_))));
        assert!(!has(&next, |c| matches!(c, Command::TakeChunks { .. })));
        let last = drive.on(Event::Enumerated(Reply::Answered((None, counts(10, 0)))));
        assert!(has(&last, |c| matches!(c, Command::TakeChunks { .. })));
    }

    #[test]
    fn a_chunk_the_server_never_answered_stops_the_run_naming_it() {
        let mut drive = Drive::new(rules(), enumerated());
        drive.start_executing();
        drive.on(Event::ChunksTaken(Ok(vec![chunk(1)])));
        drive.on(Event::ChunksTaken(Ok(vec![])));
        let mut unsent = outcomes(1, ItemState::Pending);
        unsent[0].reason = Some("connection refused".into());
        drive.on(answered(3, 1, Some(unsent.clone())));
        assert!(closes(&drive.on(Event::ChunkRecorded(Ok(unsent)))));
        let outcome = drive.ends_once(late_events);
        let RunOutcome::Interrupted {
            error: Some(EngineError::Unreachable { server, reason }),
            ..
        } = outcome
        else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            (server.as_str(), reason.as_str()),
            ("http://server.test/", "connection refused")
        );
    }

    fn shared(live: usize, enumerator: bool, enumerated: bool) -> Sharing {
        Sharing {
            live,
            enumerator,
            cursor: (!enumerated).then(|| "page-2".to_string()),
            enumerated,
        }
    }

    fn control_shared(state: JobState, rate: Option<f64>, sharing: Sharing) -> Event {
        Event::Control(ControlRead {
            in_place: Ok(()),
            lease_renewed: Ok(true),
            control: Ok((state, rate)),
            sharing: Ok(Some(sharing)),
        })
    }

    fn rates(commands: &[Command]) -> Vec<f64> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::SetRate(rate) => Some(*rate),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_replica_paces_at_the_jobs_rate_over_the_live_replicas_and_follows_joins_leaves_and_retunes(
    ) {
        let mut drive = Drive::new(
            rules(),
            Resumed {
                sharing: Some(shared(2, true, true)),
                ..enumerated()
            },
        );
        drive.start_executing();
        let poll = |drive: &mut Drive, rate, live| {
            drive.on(Event::ControlTick);
            rates(&drive.on(control_shared(
                JobState::Running,
                rate,
                shared(live, true, true),
            )))
        };
        assert!(poll(&mut drive, None, 2).is_empty(), "started at 10 / 2");
        assert_eq!(
            poll(&mut drive, None, 3),
            [10.0 / 3.0],
            "a third replica joined"
        );
        assert!(poll(&mut drive, None, 3).is_empty(), "nothing changed");
        assert_eq!(
            poll(&mut drive, Some(30.0), 3),
            [10.0],
            "jobs retune --rate 30"
        );
        assert_eq!(poll(&mut drive, Some(30.0), 1), [30.0], "the others left");
    }

    #[test]
    fn only_the_enumerating_replica_lists_and_another_takes_over_from_the_stored_cursor() {
        let mut drive = Drive::new(
            rules(),
            Resumed {
                sharing: Some(shared(2, false, false)),
                ..listing()
            },
        );
        let executing = drive.start_executing();
        assert!(
            !has(&executing, |c| matches!(c, Command::Enumerate(_))),
            "another replica enumerates: {executing:?}"
        );
        assert!(has(&executing, |c| matches!(c, Command::TakeChunks { .. })));
        drive.on(Event::ChunksTaken(Ok(vec![])));
        drive.on(Event::ControlTick);
        let took_over = drive.on(control_shared(
            JobState::Running,
            None,
            shared(1, true, false),
        ));
        assert!(
            has(
                &took_over,
                |c| matches!(c, Command::Enumerate(cursor) if cursor == "page-2")
            ),
            "the enumerator is gone: this replica lists on from where it got: {took_over:?}"
        );
    }

    #[test]
    fn a_shared_job_with_items_pending_elsewhere_is_not_finished_and_one_finished_elsewhere_ends_finished(
    ) {
        let mut drive = Drive::new(
            rules(),
            Resumed {
                sharing: Some(shared(2, true, true)),
                ..enumerated()
            },
        );
        drive.start_verifying();
        let asking = drive.on(Event::VerifyRound(Ok((counts(2, 0), vec![]))));
        assert!(has(&asking, |c| matches!(c, Command::Complete)));
        let waiting = drive.on(Event::Completed(Ok(Completion::Open)));
        assert!(!closes(&waiting), "another replica's chunk is in flight");
        assert!(has(&waiting, |c| matches!(c, Command::Wait(_))));
        let again = drive.on(Event::PollDue);
        assert!(
            has(&again, |c| matches!(
                c,
                Command::TakeChunks { after: 0, .. }
            )),
            "takes again, a gone replica's chunks among them: {again:?}"
        );
        drive.on(Event::ControlTick);
        let elsewhere = drive.on(control_shared(
            JobState::Finished,
            None,
            shared(2, true, true),
        ));
        assert!(
            !has(&elsewhere, |c| matches!(c, Command::StopSending)),
            "finished by another replica is no interruption: {elsewhere:?}"
        );
        let verifying = drive.on(Event::ChunksTaken(Ok(vec![])));
        assert!(has(&verifying, |c| matches!(c, Command::ReadVerifyRound)));
        drive.on(Event::VerifyRound(Ok((counts(0, 0), vec![]))));
        let elsewhere = Completion::Elsewhere {
            by: "host:2".into(),
            finished: true,
        };
        assert!(closes(&drive.on(Event::Completed(Ok(elsewhere)))));
        let outcome = drive.ends_once(Vec::new);
        assert!(
            matches!(&outcome, RunOutcome::Elsewhere { by, finished: true, .. } if by == "host:2"),
            "finished by the other replica, which reports it: {outcome:?}"
        );
    }

    #[test]
    fn a_chunk_another_replica_took_is_dropped_and_the_run_goes_on_with_others() {
        let mut drive = Drive::new(
            rules(),
            Resumed {
                sharing: Some(shared(2, true, true)),
                ..enumerated()
            },
        );
        drive.start_executing();
        let sent = drive.on(Event::ChunksTaken(Ok(vec![chunk(1)])));
        let Some(Command::Send { executor, .. }) = sent.first() else {
            panic!("{sent:?}")
        };
        let executor = *executor;
        drive.on(Event::ChunksTaken(Ok(vec![])));
        drive.on(answered(executor, 1, Some(outcomes(1, ItemState::Sent))));
        // This replica stalled past its lease on chunk 1, and another one took it.
        let taken = StoreError::ChunkTaken {
            job: "job".into(),
            chunk: 1,
        };
        let next = drive.on(Event::ChunkRecorded(Err(taken)));
        assert!(
            !has(&next, |c| matches!(
                c,
                Command::StopSending | Command::Close
            )),
            "a chunk another replica sends is no reason to stop: {next:?}"
        );
        assert!(
            has(&next, |c| matches!(c, Command::TakeChunks { after: 0, .. })),
            "takes other chunks: {next:?}"
        );
        assert_eq!(
            drive.machine.counts().sent,
            0,
            "its outcomes are the other's"
        );
    }

    #[test]
    fn a_replica_with_nothing_of_its_own_left_leaves_the_job_to_its_holder() {
        let mut drive = Drive::new(
            rules(),
            Resumed {
                sharing: Some(shared(2, false, true)),
                ..enumerated()
            },
        );
        drive.start_verifying();
        // The holder's items are still sent: this replica asks, and is told who completes it.
        let asking = drive.on(Event::VerifyRound(Ok((counts(0, 5), vec![(0, None)]))));
        assert!(
            has(&asking, |c| matches!(c, Command::Complete)),
            "{asking:?}"
        );
        let holder = Completion::Elsewhere {
            by: "host:1".into(),
            finished: false,
        };
        let leaving = drive.on(Event::Completed(Ok(holder)));
        assert!(
            !has(&leaving, |c| matches!(c, Command::VerifyPage { .. })),
            "the holder verifies them: {leaving:?}"
        );
        assert!(closes(&leaving));
        let outcome = drive.ends_once(Vec::new);
        assert!(
            matches!(&outcome, RunOutcome::Elsewhere { by, finished: false, .. } if by == "host:1"),
            "{outcome:?}"
        );
    }
}
