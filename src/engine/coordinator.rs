//! The coordinator actor: a thin shell around the transition function in `machine.rs`. It
//! turns what happens (answers of executors, of the store's thread and of the server, timers,
//! a stop) into events, and carries out the commands the machine gives back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::Utc;
use tokio::sync::oneshot;
use tracing::Instrument;

use super::executor::{Executor, RunChunk};
use super::machine::{Command, ControlRead, Event, Machine, Reply, Resumed, Rules};
use super::progress::processed;
use super::{
    tally, Caller, EngineError, Limiter, Meter, Operation, Progress, RetryPolicy, Traffic,
    TrafficCounts,
};
use crate::store::{
    ChunkState, Counts, ItemOutcome, ItemState, JobControl, JobRecord, JobState, PageCommit, Store,
    StoreError, StoreThread, TakenChunk,
};

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The job's rate for this run, every replica together; the limiter given paces this
    /// run's share of it.
    pub rate: f64,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Confirm outcomes on the server after execution (for operations that can).
    pub verify: bool,
    pub verify_timeout: Duration,
    pub verify_poll: Duration,
    /// This process as the holder of the job's lease (see `store::this_process`).
    pub owner: String,
    /// Told of every request, outcome, rate and window of the run.
    pub meter: Arc<dyn Meter>,
}

/// How a run of the engine ended.
#[derive(Debug)]
pub enum RunOutcome {
    /// Every item reached a final state; this run finished the job.
    Finished(Counts),
    /// This replica's part of a shared job is done: the replica `by` completes the job and
    /// reports it, or did (`finished`).
    Elsewhere {
        counts: Counts,
        by: String,
        finished: bool,
    },
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

/// How a run of the engine ended, and what it did; the store it was given comes back with it
/// (after every call the run made), so the caller reads the report from the same store.
pub struct Ended {
    pub outcome: RunOutcome,
    pub totals: RunTotals,
    pub store: Result<Box<dyn Store>, StoreError>,
}

/// How often a running job looks for `jobs pause|abort|retune` written by another process, and
/// for replicas joining or leaving.
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

pub struct Coordinator {
    machine: Machine,
    job: JobRecord,
    store: Arc<StoreThread>,
    op: Arc<dyn Operation>,
    settings: EngineSettings,
    limiter: Arc<Limiter>,
    executors: Vec<Addr<Executor>>,
    /// What every request of this run met, shared by all its callers.
    traffic: Arc<Traffic>,
    pressure_logged: PressureLogged,
    /// The window last told to the meter.
    metered_window: Option<usize>,
    started: Instant,
    processed_at_start: u64,
    progress: Box<dyn Progress>,
    done: Option<oneshot::Sender<Ended>>,
}

impl Coordinator {
    /// Takes `store` onto a thread of its own (see `StoreThread`) for the run.
    pub fn new(
        job: JobRecord,
        store: Box<dyn Store>,
        op: Arc<dyn Operation>,
        settings: EngineSettings,
        limiter: Arc<Limiter>,
        progress: Box<dyn Progress>,
        done: oneshot::Sender<Ended>,
    ) -> Result<Self, EngineError> {
        let mut store = store;
        let counts = store.counts(&job.id)?;
        let sharing = store.share(&job.id, &settings.owner, Utc::now())?;
        let run_rate = settings.rate;
        let share = sharing
            .as_ref()
            .map_or(run_rate, |sharing| run_rate / sharing.live.max(1) as f64);
        // A limiter whose rate is set anew grants its next slot at once: the one given keeps
        // the spacing after the requests made before the run when its share holds.
        if share != limiter.rate() {
            limiter.set_rate(share);
        }
        let store = StoreThread::spawn(store)?;
        let sending = op.sending();
        let rules = Rules {
            idempotent: sending.idempotent,
            after_enumeration: sending.after_enumeration,
            verify: settings.verify,
            verify_timeout: settings.verify_timeout,
            verify_poll: settings.verify_poll,
            resend: op.resend_unconfirmed(),
            executors: settings.concurrency,
            job: job.id.clone(),
            server: job.spec.server().to_string(),
        };
        let processed_at_start = processed(&counts);
        let resumed = Resumed {
            counts,
            cursor: job.cursor.clone(),
            enumerated: job.enumerated,
            resend_rounds: job.resend_rounds,
            rate: job.rate,
            run_rate,
            concurrency: job.concurrency,
            sharing,
        };
        Ok(Coordinator {
            machine: Machine::new(rules, resumed),
            job,
            store: Arc::new(store),
            op,
            settings,
            limiter,
            executors: Vec::new(),
            traffic: Arc::default(),
            pressure_logged: PressureLogged::default(),
            metered_window: None,
            started: Instant::now(),
            processed_at_start,
            progress,
            done: Some(done),
        })
    }

    fn caller(&self) -> Caller {
        Caller::new(self.limiter.clone(), self.settings.retry.clone())
            .counting_into(self.traffic.clone())
            .reporting_to(self.settings.meter.clone())
    }

    fn operation_name(&self) -> &'static str {
        self.job.spec.operation_name()
    }

    /// Hands `event` to the machine and carries out what it says.
    fn on(&mut self, event: Event, ctx: &mut Context<Self>) {
        for command in self.machine.handle(event, Instant::now()) {
            self.run(command, ctx);
        }
        self.meter_window();
    }

    /// Tells the meter the window when it changed (it changes as chunks are answered).
    fn meter_window(&mut self) {
        let window = self.machine.window().allowed();
        if self.metered_window != Some(window) {
            self.metered_window = Some(window);
            let operation = self.operation_name();
            self.settings.meter.window(&self.job.id, operation, window);
        }
    }

    /// Runs `work` on the store's thread; its answer comes back as the event `answer` makes.
    fn store<T: Send + 'static>(
        &self,
        ctx: &mut Context<Self>,
        work: impl FnOnce(&mut dyn Store, &str) -> Result<T, StoreError> + Send + 'static,
        answer: impl FnOnce(Result<T, StoreError>) -> Event + 'static,
    ) {
        let job = self.job.id.clone();
        let call = self.store.call(move |store| work(store, &job));
        ctx.spawn(
            call.into_actor(self)
                .map(move |result, act, ctx| act.on(answer(result), ctx)),
        );
    }

    /// Runs a piece of work that talks to the server, and so ends early on a stop. What the
    /// operation logs meanwhile carries the job's id.
    fn talk(
        &self,
        ctx: &mut Context<Self>,
        work: impl std::future::Future<Output = Event> + 'static,
    ) {
        let span = tracing::info_span!("job", job = %self.job.id);
        ctx.spawn(
            work.instrument(span)
                .into_actor(self)
                .map(|event, act, ctx| act.on(event, ctx)),
        );
    }

    fn run(&mut self, command: Command, ctx: &mut Context<Self>) {
        match command {
            Command::Stage(stage) => self.progress.stage(stage),
            Command::Progress { counts, enumerated } => self.progress.update(&counts, enumerated),
            Command::StopSending => self.limiter.stop(),
            Command::SetRate(rate) => {
                tracing::info!(
                    job = %self.job.id,
                    rate,
                    "new rate from `bulkops jobs retune`, or replicas joining or leaving"
                );
                self.limiter.set_rate(rate);
                let operation = self.operation_name();
                self.settings.meter.rate(&self.job.id, operation, rate);
            }
            Command::AddExecutors(count) => {
                for _ in 0..count {
                    self.add_executor();
                }
            }
            Command::LoadInDoubt => self.store(
                ctx,
                |store, job| {
                    let Some(&chunk) = store.in_doubt_chunks(job)?.first() else {
                        return Ok(None);
                    };
                    let items = store.chunk_items(job, chunk)?;
                    Ok(Some(TakenChunk { chunk, items }))
                },
                Event::InDoubt,
            ),
            Command::Reconcile(chunk) => self.reconcile(chunk, ctx),
            Command::Enumerate(cursor) => self.enumerate(cursor, ctx),
            Command::TakeChunks {
                after,
                limit,
                mark_sending,
            } => self.store(
                ctx,
                move |store, job| store.take_chunks(job, after, limit, mark_sending),
                Event::ChunksTaken,
            ),
            Command::Send { executor, chunk } => {
                let request = self.executors[executor].send(RunChunk {
                    chunk: chunk.chunk,
                    items: chunk.items,
                });
                self.talk(ctx, async move {
                    Event::ChunkAnswered {
                        executor,
                        answer: request.await,
                    }
                });
            }
            Command::FinishChunk { chunk, outcomes } => {
                let (meter, operation) = (self.settings.meter.clone(), self.operation_name());
                self.store(
                    ctx,
                    move |store, job| {
                        if let Err(e) = store.finish_chunk(job, chunk, &outcomes) {
                            if matches!(e, StoreError::ChunkTaken { .. }) {
                                meter.chunk_taken_over(operation);
                            }
                            return Err(e);
                        }
                        tally(meter.as_ref(), operation, &outcomes);
                        Ok(outcomes)
                    },
                    Event::ChunkRecorded,
                )
            }
            Command::ResetChunk(chunk) => self.store(
                ctx,
                move |store, job| store.set_chunk_state(job, chunk, ChunkState::Pending),
                Event::ChunkReset,
            ),
            Command::SettleSent {
                state,
                reason,
                older_than,
            } => {
                let (meter, operation) = (self.settings.meter.clone(), self.operation_name());
                let owner = self.settings.owner.clone();
                let sent_before = Utc::now()
                    - chrono::TimeDelta::from_std(older_than).unwrap_or(chrono::TimeDelta::MAX);
                self.store(
                    ctx,
                    move |store, job| {
                        let settled =
                            store.settle_sent(job, &owner, sent_before, state, &reason)?;
                        meter.items(operation, state, settled);
                        Ok(())
                    },
                    Event::Settled,
                )
            }
            Command::ReadVerifyRound => self.store(
                ctx,
                |store, job| Ok((store.counts(job)?, store.pages_with(job, ItemState::Sent)?)),
                Event::VerifyRound,
            ),
            Command::Complete => {
                let owner = self.settings.owner.clone();
                self.store(
                    ctx,
                    move |store, job| store.complete_job(job, &owner, Utc::now()),
                    Event::Completed,
                );
            }
            Command::Wait(pause) => {
                ctx.run_later(pause, |act, ctx| act.on(Event::PollDue, ctx));
            }
            Command::VerifyPage { page, scope } => self.verify_page(page, scope, ctx),
            Command::Requeue { reason } => self.store(
                ctx,
                move |store, job| {
                    let moved = store.requeue_for_resend(job, ItemState::Sent, &reason)?;
                    Ok((moved, store.counts(job)?))
                },
                Event::Requeued,
            ),
            Command::CheckControl => {
                let owner = self.settings.owner.clone();
                self.store(
                    ctx,
                    move |store, job| {
                        Ok(ControlRead {
                            in_place: store.check_in_place(),
                            lease_renewed: store.heartbeat(job, &owner, Utc::now()),
                            control: store.job_control(job),
                            sharing: store.share(job, &owner, Utc::now()),
                        })
                    },
                    |read: Result<ControlRead, StoreError>| {
                        Event::Control(read.unwrap_or_else(|e| ControlRead {
                            in_place: Err(e),
                            lease_renewed: Ok(true),
                            control: Ok(JobControl {
                                state: JobState::Running,
                                rate: None,
                                concurrency: None,
                            }),
                            sharing: Ok(None),
                        }))
                    },
                );
            }
            Command::Close => {
                let owner = self.settings.owner.clone();
                self.store(
                    ctx,
                    move |store, job| Ok((store.release_job(job, &owner), store.counts(job))),
                    |closed: Result<_, StoreError>| {
                        let (released, counts) =
                            closed.unwrap_or_else(|e| (Err(e.clone()), Err(e)));
                        Event::Closed { released, counts }
                    },
                );
            }
            Command::End(outcome) => {
                self.progress.finish();
                if let Some(done) = self.done.take() {
                    let totals = self.totals();
                    let finished = !matches!(outcome, RunOutcome::Interrupted { .. });
                    let operation = self.operation_name();
                    let meter = &self.settings.meter;
                    meter.run_ended(&self.job.id, operation, totals.elapsed, finished);
                    let handed = self.store.hand_back();
                    ctx.spawn(actix::fut::wrap_future(async move {
                        let store = handed.await;
                        let _ = done.send(Ended {
                            outcome,
                            totals,
                            store,
                        });
                    }));
                }
            }
        }
    }

    fn reconcile(&self, chunk: TakenChunk, ctx: &mut Context<Self>) {
        let (op, caller, store) = (self.op.clone(), self.caller(), self.store.clone());
        let (meter, operation) = (self.settings.meter.clone(), self.operation_name());
        let job = self.job.id.clone();
        self.talk(ctx, async move {
            let decided = tokio::select! {
                biased;
                decided = op.reconcile(&caller, &chunk.items) => decided,
                () = caller.interrupted() => return Event::Reconciled(Reply::Interrupted),
            };
            let decided = match decided {
                Ok(decided) => decided,
                Err(e) => return Event::Reconciled(Reply::Failed(EngineError::Reconcile(e))),
            };
            let outcomes: Vec<ItemOutcome> = decided
                .into_iter()
                .filter_map(|(_, outcome)| outcome)
                .collect();
            let id = chunk.chunk;
            let written = store
                .call(move |store| {
                    store.record_outcomes(&job, &outcomes)?;
                    tally(meter.as_ref(), operation, &outcomes);
                    // Items left undecided are sent again with the chunk.
                    let state = if store.chunk_items(&job, id)?.is_empty() {
                        ChunkState::Done
                    } else {
                        ChunkState::Pending
                    };
                    store.set_chunk_state(&job, id, state)
                })
                .await;
            Event::Reconciled(match written {
                Ok(()) => Reply::Answered(()),
                Err(e) => Reply::Failed(e.into()),
            })
        });
    }

    fn enumerate(&self, cursor: String, ctx: &mut Context<Self>) {
        let (op, caller, store) = (self.op.clone(), self.caller(), self.store.clone());
        let job = self.job.id.clone();
        self.talk(ctx, async move {
            let page = tokio::select! {
                biased;
                page = op.enumerate(&caller, &cursor) => page,
                () = caller.interrupted() => return Event::Enumerated(Reply::Interrupted),
            };
            let page = match page {
                Ok(page) => page,
                Err(e) => return Event::Enumerated(Reply::Failed(EngineError::Enumerate(e))),
            };
            let next = page.next_cursor.clone();
            let commit = PageCommit {
                items: page.items,
                next_cursor: page.next_cursor,
                page_scope: page.scope,
            };
            let added = store
                .call(move |store| store.commit_page(&job, commit))
                .await;
            Event::Enumerated(match added {
                Ok(added) => Reply::Answered((next, added)),
                Err(e) => Reply::Failed(e.into()),
            })
        });
    }

    fn verify_page(&self, page: i64, scope: Option<serde_json::Value>, ctx: &mut Context<Self>) {
        let (op, caller, store) = (self.op.clone(), self.caller(), self.store.clone());
        let (meter, operation) = (self.settings.meter.clone(), self.operation_name());
        let job = self.job.id.clone();
        self.talk(ctx, async move {
            let read = {
                let job = job.clone();
                store.call(move |store| store.page_items(&job, page, ItemState::Sent))
            };
            let items = match read.await {
                Ok(items) if items.is_empty() => {
                    return Event::PageVerified(Reply::Answered(vec![]))
                }
                Ok(items) => items,
                Err(e) => return Event::PageVerified(Reply::Failed(e.into())),
            };
            let outcomes = tokio::select! {
                biased;
                outcomes = op.verify(&caller, scope.as_ref(), &items) => outcomes,
                () = caller.interrupted() => return Event::PageVerified(Reply::Interrupted),
            };
            let outcomes = match outcomes {
                Ok(outcomes) => outcomes,
                Err(e) => return Event::PageVerified(Reply::Failed(EngineError::Verify(e))),
            };
            let written = store
                .call(move |store| {
                    store.record_outcomes(&job, &outcomes)?;
                    tally(meter.as_ref(), operation, &outcomes);
                    Ok(outcomes)
                })
                .await;
            Event::PageVerified(match written {
                Ok(outcomes) => Reply::Answered(outcomes),
                Err(e) => Reply::Failed(e.into()),
            })
        });
    }

    fn totals(&self) -> RunTotals {
        RunTotals {
            elapsed: self.started.elapsed(),
            items: processed(self.machine.counts()).saturating_sub(self.processed_at_start),
            traffic: self.traffic.counts(),
            resent: self.machine.resent(),
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
        let resizes = self.machine.window().resizes();
        if !news.under_pressure() && !resizes.any() {
            return;
        }
        let window = self.machine.window().allowed();
        self.machine.window().clear_resizes();
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
        self.pressure_logged = PressureLogged {
            at: Some(Instant::now()),
            traffic,
        };
    }
}

impl Coordinator {
    /// One more executor, numbered after the others.
    fn add_executor(&mut self) {
        let executor = Executor::new(
            self.job.id.clone(),
            self.op.clone(),
            self.limiter.clone(),
            self.settings.retry.clone(),
            self.traffic.clone(),
            self.settings.meter.clone(),
        );
        self.executors.push(executor.start());
    }
}

impl Actor for Coordinator {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let operation = self.operation_name();
        let meter = &self.settings.meter;
        meter.rate(&self.job.id, operation, self.limiter.rate());
        for _ in 0..self.settings.concurrency.max(1) {
            self.add_executor();
        }
        ctx.run_interval(CONTROL_POLL, |act, ctx| act.on(Event::ControlTick, ctx));
        // Looked at every second so that the first sign of pressure shows at once.
        ctx.run_interval(Duration::from_secs(1), |act, _| act.log_pressure());
        // A replica joining others waited for them to slow down before its first request,
        // preflight included (the app's `pace`): it starts at once.
        self.on(Event::Started, ctx);
    }
}

impl Handler<Stop> for Coordinator {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        self.on(Event::Stop, ctx);
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
    use crate::engine::Resend;
    use crate::engine::{limiter, Failure, OpError, Page, Sending, Stage};
    use crate::job::{JobSpec, OperationKind, SelectorFields, Target, Window};
    use crate::store::{Begun, Item, NewItem, NewJob, SqliteStore};

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
            rate: 1000.0,
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
            meter: Arc::new(crate::engine::Unmetered),
        }
    }

    fn new_job(store: &mut dyn Store) -> JobRecord {
        let now = Utc::now();
        let spec = JobSpec::new(
            OperationKind::ScheduledDelete,
            SelectorFields {
                workflows: vec!["w".into()],
                ..SelectorFields::default()
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
            concurrency: 4,
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
        let mut store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        let job = new_job(&mut store);
        let op = Arc::new(Held {
            hold_verify: true,
            ..Held::new(Sending::REPEATABLE)
        });
        let finishes = Arc::new(Mutex::new(0));
        actix::System::new().block_on(async {
            let (done_tx, mut done_rx) = oneshot::channel();
            let coordinator = Coordinator::new(
                job.clone(),
                Box::new(store),
                op.clone(),
                settings(),
                limiter(1000.0),
                Box::new(CountedFinish(finishes.clone())),
                done_tx,
            )
            .unwrap()
            .start();
            op.on_the_wire.notified().await;
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

    /// Three items on one page; each kind of request can be held on the wire until `release`.
    struct Held {
        sending: Sending,
        hold_execute: bool,
        hold_verify: bool,
        hold_reconcile: bool,
        /// Whether verification confirms what was sent.
        confirms: bool,
        resend: Option<Resend>,
        on_the_wire: Notify,
        release: Notify,
        executed: AtomicUsize,
        verified: AtomicUsize,
    }

    impl Held {
        fn new(sending: Sending) -> Self {
            Held {
                sending,
                hold_execute: false,
                hold_verify: false,
                hold_reconcile: false,
                confirms: true,
                resend: None,
                on_the_wire: Notify::new(),
                release: Notify::new(),
                executed: AtomicUsize::new(0),
                verified: AtomicUsize::new(0),
            }
        }

        /// One request, held until released when `hold`.
        async fn request(&self, caller: &Caller, hold: bool) -> Result<(), OpError> {
            let (answer, _) = caller
                .call("test", true, || async {
                    if hold {
                        self.on_the_wire.notify_one();
                        self.release.notified().await;
                    }
                    Ok::<_, crate::engine::failure::Never>(())
                })
                .await;
            answer.map_err(|e| OpError::Backend(Box::new(e)))
        }
    }

    #[async_trait]
    impl Operation for Held {
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
            self.sending
        }

        async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
            match self.request(caller, self.hold_execute).await {
                Ok(()) => {
                    self.executed.fetch_add(items.len(), Ordering::SeqCst);
                    every(items, ItemState::Sent)
                }
                Err(_) => every(items, ItemState::Failed),
            }
        }

        async fn verify(
            &self,
            caller: &Caller,
            _: Option<&serde_json::Value>,
            items: &[Item],
        ) -> Result<Vec<ItemOutcome>, OpError> {
            self.request(caller, self.hold_verify).await?;
            self.verified.fetch_add(items.len(), Ordering::SeqCst);
            Ok(if self.confirms {
                every(items, ItemState::Done)
            } else {
                Vec::new()
            })
        }

        fn resend_unconfirmed(&self) -> Option<Resend> {
            self.resend
        }

        async fn reconcile(
            &self,
            caller: &Caller,
            items: &[Item],
        ) -> Result<Vec<(Item, Option<ItemOutcome>)>, OpError> {
            self.request(caller, self.hold_reconcile).await?;
            Ok(items.iter().cloned().map(|i| (i, None)).collect())
        }
    }

    /// A run of `op` on a fresh job in a store at `path`, with `prepare` applied to the store
    /// first; `drive` acts on the running coordinator, then the outcome is awaited.
    fn run_job<F, Fut>(
        path: &std::path::Path,
        op: Arc<Held>,
        settings: EngineSettings,
        prepare: impl FnOnce(&mut SqliteStore, &JobRecord),
        drive: F,
    ) -> (Ended, usize)
    where
        F: FnOnce(Addr<Coordinator>, oneshot::Receiver<Ended>) -> Fut,
        Fut: std::future::Future<Output = Ended>,
    {
        let mut store = SqliteStore::open(path).unwrap();
        let job = new_job(&mut store);
        prepare(&mut store, &job);
        let finishes = Arc::new(Mutex::new(0));
        let ended = actix::System::new().block_on(async {
            let (done_tx, done_rx) = oneshot::channel();
            let coordinator = Coordinator::new(
                job,
                Box::new(store),
                op,
                settings,
                limiter(1000.0),
                Box::new(CountedFinish(finishes.clone())),
                done_tx,
            )
            .unwrap()
            .start();
            let ended = drive(coordinator, done_rx).await;
            // Anything still scheduled (a late answer, a timer) must not end the run again.
            tokio::time::sleep(Duration::from_millis(100)).await;
            ended
        });
        let finished = *finishes.lock().unwrap();
        (ended, finished)
    }

    /// What a run told its meter, as the calls came.
    #[derive(Debug, Default)]
    struct Heard(Mutex<Vec<String>>);

    impl Heard {
        fn hear(&self, what: String) {
            self.0.lock().unwrap().push(what);
        }
        fn all(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    impl crate::engine::Meter for Heard {
        fn request(&self, endpoint: &'static str, result: Result<(), &dyn Failure>, _: Duration) {
            self.hear(format!("request {endpoint} ok={}", result.is_ok()));
        }
        fn retry(&self, endpoint: &'static str) {
            self.hear(format!("retry {endpoint}"));
        }
        fn apply_lag(&self, endpoint: &'static str, _: Duration) {
            self.hear(format!("apply lag {endpoint}"));
        }
        fn items(&self, operation: &'static str, state: ItemState, count: u64) {
            self.hear(format!("items {operation} {} {count}", state.as_str()));
        }
        fn rate(&self, job: &str, _: &'static str, per_second: f64) {
            self.hear(format!("rate {job} {per_second}"));
        }
        fn window(&self, job: &str, _: &'static str, chunks: usize) {
            self.hear(format!("window {job} {chunks}"));
        }
        fn lease_takeover(&self, operation: &'static str) {
            self.hear(format!("takeover {operation}"));
        }
        fn chunk_taken_over(&self, operation: &'static str) {
            self.hear(format!("chunk taken over {operation}"));
        }
        fn run_ended(&self, job: &str, _: &'static str, _: Duration, finished: bool) {
            self.hear(format!("ended {job} finished={finished}"));
        }
    }

    #[test]
    fn the_meter_hears_every_request_every_outcome_the_rate_the_window_and_the_end_once() {
        let dir = tempfile::tempdir().unwrap();
        let heard = Arc::new(Heard::default());
        let settings = EngineSettings {
            meter: heard.clone(),
            ..settings()
        };
        let op = Arc::new(Held::new(Sending::REPEATABLE));
        let (ended, _) = run_job(
            &dir.path().join("state.db"),
            op,
            settings,
            |_, _| {},
            |_, done| async move { done.await.expect("an outcome") },
        );
        assert!(matches!(ended.outcome, RunOutcome::Finished(_)));
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        let job = store.jobs().unwrap().remove(0).id;
        let heard = heard.all();
        let times = |what: &str| heard.iter().filter(|h| *h == what).count();
        // One chunk of three items is sent, then confirmed by one verification read.
        assert_eq!(times("request test ok=true"), 2, "{heard:?}");
        assert_eq!(times("items scheduled delete sent 3"), 1, "{heard:?}");
        assert_eq!(times("items scheduled delete done 3"), 1, "{heard:?}");
        assert_eq!(times(&format!("rate {job} 1000")), 1, "{heard:?}");
        assert!(heard.contains(&format!("window {job} 1")), "{heard:?}");
        assert_eq!(
            heard.last(),
            Some(&format!("ended {job} finished=true")),
            "{heard:?}"
        );
        assert_eq!(times(&format!("ended {job} finished=true")), 1);
    }

    /// Holds until the request is on the wire, stops, and checks that the run waits for it.
    async fn stop_with_a_request_on_the_wire(
        op: &Held,
        coordinator: &Addr<Coordinator>,
        done: &mut oneshot::Receiver<Ended>,
    ) {
        op.on_the_wire.notified().await;
        coordinator.do_send(Stop);
        let early = tokio::time::timeout(Duration::from_millis(300), &mut *done).await;
        assert!(
            early.is_err(),
            "the run ended while a request was on the wire"
        );
        op.release.notify_one();
    }

    #[test]
    fn a_stop_during_execution_waits_for_the_chunk_on_the_wire_records_it_and_ends_once() {
        let dir = tempfile::tempdir().unwrap();
        let op = Arc::new(Held {
            hold_execute: true,
            ..Held::new(Sending::ONCE)
        });
        let (ended, finishes) = run_job(
            &dir.path().join("state.db"),
            op.clone(),
            settings(),
            |_, _| {},
            |coordinator, mut done| {
                let op = op.clone();
                async move {
                    stop_with_a_request_on_the_wire(&op, &coordinator, &mut done).await;
                    done.await.expect("an outcome")
                }
            },
        );
        let RunOutcome::Interrupted { counts, error } = ended.outcome else {
            panic!("a stopped run is interrupted")
        };
        assert!(error.is_none());
        assert_eq!(
            counts.sent, 3,
            "the answer on the wire was recorded: {counts:?}"
        );
        assert_eq!(op.executed.load(Ordering::SeqCst), 3);
        assert_eq!(finishes, 1, "the run ended more than once");
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        let job = store.jobs().unwrap().remove(0);
        assert!(
            store.in_doubt_chunks(&job.id).unwrap().is_empty(),
            "the answered chunk is not in doubt"
        );
    }

    #[test]
    fn a_stop_during_reconcile_waits_for_the_check_on_the_wire_and_leaves_nothing_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let op = Arc::new(Held {
            hold_reconcile: true,
            ..Held::new(Sending::ONCE)
        });
        // A crashed run left the job's one chunk in `sending`.
        let in_doubt = |store: &mut SqliteStore, job: &JobRecord| {
            let page = PageCommit {
                items: ["a", "b", "c"].into_iter().map(NewItem::new).collect(),
                next_cursor: None,
                page_scope: None,
            };
            store.commit_page(&job.id, page).unwrap();
            let chunk = store.pending_chunks(&job.id, 0, 1).unwrap()[0];
            store
                .set_chunk_state(&job.id, chunk, ChunkState::Sending)
                .unwrap();
        };
        let (ended, finishes) = run_job(&path, op.clone(), settings(), in_doubt, |c, mut done| {
            let op = op.clone();
            async move {
                stop_with_a_request_on_the_wire(&op, &c, &mut done).await;
                done.await.expect("an outcome")
            }
        });
        let RunOutcome::Interrupted { counts, error } = ended.outcome else {
            panic!("a stopped run is interrupted")
        };
        assert!(error.is_none());
        assert_eq!(counts.pending, 3, "{counts:?}");
        assert_eq!(op.executed.load(Ordering::SeqCst), 0, "sent after a stop");
        assert_eq!(finishes, 1, "the run ended more than once");
        let store = SqliteStore::open(&path).unwrap();
        let job = store.jobs().unwrap().remove(0);
        assert!(
            store.in_doubt_chunks(&job.id).unwrap().is_empty(),
            "the reconciled chunk (decided: send again) is pending, not in doubt"
        );
    }

    #[test]
    fn a_lost_lease_stops_the_run_after_the_request_on_the_wire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let op = Arc::new(Held {
            hold_execute: true,
            ..Held::new(Sending::REPEATABLE)
        });
        let (ended, finishes) = run_job(
            &path,
            op.clone(),
            settings(),
            |_, _| {},
            |_, mut done| {
                let (op, path) = (op.clone(), path.clone());
                async move {
                    op.on_the_wire.notified().await;
                    // Another process takes the job over (here: the lease is cleared under it).
                    let mut other = SqliteStore::open(&path).unwrap();
                    let job = other.jobs().unwrap().remove(0);
                    other.release_job(&job.id, &settings().owner).unwrap();
                    let early = tokio::time::timeout(CONTROL_POLL * 2, &mut done).await;
                    assert!(early.is_err(), "ended with a request on the wire");
                    op.release.notify_one();
                    done.await.expect("an outcome")
                }
            },
        );
        let RunOutcome::Interrupted { counts, error } = ended.outcome else {
            panic!("a run that lost its lease is interrupted")
        };
        assert!(matches!(error, Some(EngineError::LeaseLost)), "{error:?}");
        assert_eq!(counts.sent, 3, "the answer on the wire was recorded");
        assert_eq!(finishes, 1);
    }

    #[test]
    fn resend_rounds_send_again_then_fail_what_the_server_never_applied() {
        let dir = tempfile::tempdir().unwrap();
        let op = Arc::new(Held {
            confirms: false,
            resend: Some(Resend {
                rounds: 2,
                reason: "accepted but never applied",
            }),
            ..Held::new(Sending::REPEATABLE)
        });
        let settings = EngineSettings {
            verify_timeout: Duration::ZERO,
            ..settings()
        };
        let (ended, finishes) = run_job(
            &dir.path().join("state.db"),
            op.clone(),
            settings,
            |_, _| {},
            |_, done| async move { done.await.expect("an outcome") },
        );
        let RunOutcome::Finished(counts) = ended.outcome else {
            panic!("every item reached a final state")
        };
        assert_eq!(counts.failed, 3, "{counts:?}");
        assert_eq!(
            op.executed.load(Ordering::SeqCst),
            9,
            "sent once and twice again"
        );
        assert_eq!(ended.totals.resent, 6);
        assert_eq!(finishes, 1);
    }

    #[test]
    fn the_store_given_comes_back_with_the_end_holding_what_the_run_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let op = Arc::new(Held::new(Sending::REPEATABLE));
        let (ended, _) = run_job(
            &dir.path().join("state.db"),
            op,
            settings(),
            |_, _| {},
            |_, done| async move { done.await.expect("an outcome") },
        );
        let RunOutcome::Finished(counts) = ended.outcome else {
            panic!("the run finished")
        };
        let store = ended.store.expect("the store handed back");
        let job = store.jobs().unwrap().pop().expect("the job");
        assert_eq!(job.state, JobState::Finished);
        assert_eq!(store.counts(&job.id).unwrap(), counts);
        assert!(
            store.lease(&job.id).unwrap().is_none(),
            "the lease was released"
        );
    }
}
