//! What the rest of bulkops asks of a checkpoint store, whatever keeps it: jobs, leases and
//! control, pages, chunks and items, manifests and report rows. Every failure is a
//! `StoreError`, which names no database library.
//!
//! The embedded SQLite store implements it (`SqliteStore`); a shared PostgreSQL store for
//! replicas fits the same trait:
//! - `begin_job` and `claim_job` are one transaction each (`SELECT … FOR UPDATE` on the job
//!   row, or an `INSERT … ON CONFLICT` against the partial unique index on open identities);
//!   the lease is the job row's `owner` and `heartbeat`, and `heartbeat` answers `false` once
//!   another replica took the job after `LEASE_TIMEOUT` without one.
//! - `take_chunks` is where replicas would share a job's chunks:
//!   `UPDATE chunks SET state = 'sending', owner = $1, lease_until = now() + interval … WHERE
//!   (job_id, chunk) IN (SELECT job_id, chunk FROM chunks WHERE job_id = $2 AND state =
//!   'pending' AND chunk > $3 ORDER BY chunk LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING …`, so
//!   two replicas never take the same chunk, and a chunk whose `lease_until` passed (its
//!   replica died) goes back to `pending` or, for a non-idempotent operation, to the in-doubt
//!   chunks that `in_doubt_chunks` lists for reconciliation. `heartbeat` would extend the
//!   `lease_until` of the chunks the process holds.
//! - `finish_chunk` writes the outcomes and releases the chunk in one transaction, whoever
//!   holds the job.
//!
//! The engine calls a store only through `StoreThread`, off the thread that drives requests.

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};

use super::{
    Arrived, Begun, ChunkState, Completion, Counts, Item, ItemOutcome, ItemState, JobControl,
    JobRecord, JobState, Lease, NewJob, PageCommit, ReportRow, Sharing, StoreError,
};

/// A chunk taken for sending, with the items that still need a request.
#[derive(Debug, Clone)]
pub struct TakenChunk {
    pub chunk: i64,
    pub items: Vec<Item>,
}

/// A checkpoint store (see the module's documentation for how a shared PostgreSQL store fits).
/// Each write is one transaction, except that `take_chunks` marks chunk by chunk: a failure
/// midway leaves the chunks marked so far `sending`, in doubt and reconciled on resume, never
/// sent twice.
pub trait Store: Send {
    /// Whether the store is still the one opened (for a file: the path still names it).
    fn check_in_place(&self) -> Result<(), StoreError>;

    // --- jobs, leases and control ------------------------------------------------------

    /// Creates the job, or resumes the unfinished one with its identity, and takes it for
    /// `owner`, atomically; a live holder's lease is the answer instead.
    fn begin_job(
        &mut self,
        new: NewJob,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<Begun, Lease>, StoreError>;
    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError>;
    /// The open (running or paused) job with this identity, if any.
    fn open_job(&self, identity: &str) -> Result<Option<JobRecord>, StoreError>;
    /// The last job with this identity that ran to its end, if any.
    fn finished_job(&self, identity: &str) -> Result<Option<JobRecord>, StoreError>;
    fn jobs(&self) -> Result<Vec<JobRecord>, StoreError>;
    /// What another process may have changed about a running job: its state, rate and
    /// concurrency.
    fn job_control(&self, id: &str) -> Result<JobControl, StoreError>;
    fn set_job_state(
        &mut self,
        id: &str,
        state: JobState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    fn set_job_rate(&mut self, id: &str, rate: f64) -> Result<(), StoreError>;
    fn set_job_concurrency(&mut self, id: &str, concurrency: usize) -> Result<(), StoreError>;
    /// Takes the job for `owner` unless a live holder has it (then its lease is the answer).
    fn claim_job(
        &mut self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Lease>, StoreError>;
    /// Renews `owner`'s lease; `false` when another process has taken the job over.
    fn heartbeat(&mut self, id: &str, owner: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;
    fn release_job(&mut self, id: &str, owner: &str) -> Result<(), StoreError>;
    /// Who holds the job now, if anyone.
    fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError>;

    // --- replicas: several processes on one job (a shared store only) ------------------

    /// Whether several processes, on any host, may run one job together (PostgreSQL).
    fn shares_jobs(&self) -> bool {
        false
    }

    /// Joins a job that another live process holds, as one more replica that takes chunks;
    /// `false` where jobs are not shared (SQLite: one process at a time per job).
    fn join_job(&mut self, id: &str, owner: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let _ = (id, owner, now);
        Ok(false)
    }

    /// Registers `owner` as arriving at the job `identity` names, before its first request,
    /// so that the replicas running it count `owner` in their share of the rate from then on
    /// (`share`); a second call renews the registration. Says how many other live processes
    /// are on it and whether `owner` was counted already. Where jobs are not shared nobody
    /// else can be: `Arrived::ALONE`.
    fn arrive(
        &mut self,
        identity: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Arrived, StoreError> {
        let _ = (identity, owner, now);
        Ok(Arrived::ALONE)
    }

    /// `owner` no longer arrives at `identity`: it stands by and sends nothing.
    fn depart(&mut self, identity: &str, owner: &str) -> Result<(), StoreError> {
        let _ = (identity, owner);
        Ok(())
    }

    /// Sweeps out the job's replicas that are gone (their chunks are free at once), takes the
    /// job's lease for `owner` when its holder is gone (the lease holder enumerates), and says
    /// how the job is shared now; `None` where jobs are not shared.
    fn share(
        &mut self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Sharing>, StoreError> {
        let _ = (id, owner, now);
        Ok(None)
    }

    /// Completes the job once, for the one replica that finds nothing left, in one transaction:
    /// finished (and `Completed`) when no item is pending or sent and no other live replica
    /// holds the job; `Elsewhere` when another replica finished it, or holds it while `owner`
    /// has nothing of its own left to judge (the holder completes it, as the others are told);
    /// else `Open`. Where jobs are not shared, the caller is the only process: the job is
    /// finished.
    fn complete_job(
        &mut self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Completion, StoreError> {
        let _ = owner;
        self.set_job_state(id, JobState::Finished, now)?;
        Ok(Completion::Completed)
    }

    /// Up to `limit` items still `sent` after `after_seq`, in order, that `owner` may settle
    /// now that its confirmation window ran out: where jobs are shared, those it sent itself,
    /// and those of a sender that is gone once sent before `sent_before` (a live replica
    /// judges its own by its own `--verify-timeout`); elsewhere every one, since this process
    /// sent them all.
    fn settleable_sent(
        &self,
        job_id: &str,
        owner: &str,
        sent_before: DateTime<Utc>,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let _ = (owner, sent_before);
        self.items_in_state(job_id, ItemState::Sent, after_seq, limit)
    }

    /// Claims the firing of scheduled job `schedule` at `at` for `owner`, once among every
    /// process on the store: `false` when another one claimed it first and runs it. Where jobs
    /// are not shared, one process runs the schedules: always `true`.
    fn claim_firing(
        &mut self,
        schedule: &str,
        at: DateTime<Utc>,
        owner: &str,
    ) -> Result<bool, StoreError> {
        let _ = (schedule, at, owner);
        Ok(true)
    }

    // --- pages and manifests -----------------------------------------------------------

    /// One enumerated page, its cursor advance and the chunks it completes, atomically.
    /// Returns the states of the items it added.
    fn commit_page(&mut self, job_id: &str, page: PageCommit) -> Result<Counts, StoreError>;
    /// The pages that still have items in `state`, with their scopes.
    fn pages_with(
        &self,
        job_id: &str,
        state: ItemState,
    ) -> Result<Vec<(i64, Option<serde_json::Value>)>, StoreError>;
    /// The items of one page in `state`.
    fn page_items(
        &self,
        job_id: &str,
        page: i64,
        state: ItemState,
    ) -> Result<Vec<Item>, StoreError>;
    /// Keeps a manifest's ids under its digest, once.
    fn put_manifest(&mut self, digest: &str, ids: &[String]) -> Result<(), StoreError>;
    /// The ids of a manifest, in order; empty when unknown.
    fn manifest(&self, digest: &str) -> Result<Vec<String>, StoreError>;

    // --- chunks and items --------------------------------------------------------------

    /// Pending chunks after `after`, in order.
    fn pending_chunks(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError>;
    /// Chunks left in `sending` by a process that died mid-request.
    fn in_doubt_chunks(&self, job_id: &str) -> Result<Vec<i64>, StoreError>;
    /// The items of a chunk that still need a request.
    fn chunk_items(&self, job_id: &str, chunk: i64) -> Result<Vec<Item>, StoreError>;
    fn set_chunk_state(
        &mut self,
        job_id: &str,
        chunk: i64,
        state: ChunkState,
    ) -> Result<(), StoreError>;
    /// A finished chunk's outcomes and its new state, atomically.
    fn finish_chunk(
        &mut self,
        job_id: &str,
        chunk: i64,
        outcomes: &[ItemOutcome],
    ) -> Result<(), StoreError>;
    /// Outcomes found outside a chunk request (verification, reconciliation).
    fn record_outcomes(&mut self, job_id: &str, outcomes: &[ItemOutcome])
        -> Result<(), StoreError>;
    /// Gives every item still `sent` that `owner` may settle (see `settleable_sent`) its final
    /// `state` and `reason`; returns how many. By default a batch at a time through
    /// `settleable_sent` and `record_outcomes`; a store that can do it in one statement says so.
    fn settle_sent(
        &mut self,
        job_id: &str,
        owner: &str,
        sent_before: DateTime<Utc>,
        state: ItemState,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let mut settled = 0;
        let mut after = -1;
        loop {
            let batch = self.settleable_sent(job_id, owner, sent_before, after, 5000)?;
            let Some(last) = batch.last() else {
                return Ok(settled);
            };
            after = last.seq;
            settled += batch.len() as u64;
            let outcomes: Vec<ItemOutcome> = batch
                .into_iter()
                .map(|item| ItemOutcome {
                    id: item.id,
                    state,
                    reason: Some(reason.to_string()),
                    http_status: None,
                    attempts: 0,
                })
                .collect();
            self.record_outcomes(job_id, &outcomes)?;
        }
    }
    /// Items in `from` back to pending in new chunks, counting the round in the job.
    fn requeue_for_resend(
        &mut self,
        job_id: &str,
        from: ItemState,
        reason: &str,
    ) -> Result<u64, StoreError>;
    /// Up to `limit` items in `state` after `after_seq`, in enumeration order.
    fn items_in_state(
        &self,
        job_id: &str,
        state: ItemState,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError>;
    /// Up to `limit` items after `after_seq` that the server accepted (what an undo covers).
    fn accepted_items(
        &self,
        job_id: &str,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError>;
    fn counts(&self, job_id: &str) -> Result<Counts, StoreError>;

    /// Up to `limit` pending chunks after `after` with their items, taken for sending: a chunk
    /// with nothing left to send is marked done and passed over, and with `mark_sending` (an
    /// operation that must not be sent twice) each is durably `sending` before it is returned,
    /// so a crash from then on leaves it in doubt.
    fn take_chunks(
        &mut self,
        job_id: &str,
        after: i64,
        limit: usize,
        mark_sending: bool,
    ) -> Result<Vec<TakenChunk>, StoreError> {
        let mut taken = Vec::new();
        let mut after = after;
        while taken.len() < limit {
            let Some(&chunk) = self.pending_chunks(job_id, after, 1)?.first() else {
                break;
            };
            after = chunk;
            let items = self.chunk_items(job_id, chunk)?;
            if items.is_empty() {
                self.set_chunk_state(job_id, chunk, ChunkState::Done)?;
                continue;
            }
            if mark_sending {
                self.set_chunk_state(job_id, chunk, ChunkState::Sending)?;
            }
            taken.push(TakenChunk { chunk, items });
        }
        Ok(taken)
    }

    // --- reports -----------------------------------------------------------------------

    /// Calls `each` for every item of a job (only failed, skipped and unconfirmed ones with
    /// `problems_only`), in enumeration order, without loading them all at once, until it
    /// breaks.
    fn for_each_report_row(
        &self,
        job: &JobRecord,
        problems_only: bool,
        each: &mut dyn FnMut(ReportRow) -> ControlFlow<()>,
    ) -> Result<(), StoreError>;
}
