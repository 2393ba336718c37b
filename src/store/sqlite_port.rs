//! The SQLite store behind the `Store` trait: each method is the store's own.

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};

use super::sqlite::Store as Sqlite;
use super::{
    Begun, ChunkState, Counts, Item, ItemOutcome, ItemState, JobRecord, JobState, Lease, NewJob,
    PageCommit, ReportRow, Store, StoreError,
};

impl Store for Sqlite {
    fn check_in_place(&self) -> Result<(), StoreError> {
        Sqlite::check_in_place(self)
    }

    fn begin_job(
        &mut self,
        new: NewJob,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<Begun, Lease>, StoreError> {
        Sqlite::begin_job(self, new, owner, now)
    }

    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        Sqlite::job(self, id)
    }

    fn open_job(&self, identity: &str) -> Result<Option<JobRecord>, StoreError> {
        Sqlite::open_job(self, identity)
    }

    fn finished_job(&self, identity: &str) -> Result<Option<JobRecord>, StoreError> {
        Sqlite::finished_job(self, identity)
    }

    fn jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        Sqlite::jobs(self)
    }

    fn job_control(&self, id: &str) -> Result<(JobState, Option<f64>), StoreError> {
        Sqlite::job_control(self, id)
    }

    fn set_job_state(
        &mut self,
        id: &str,
        state: JobState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Sqlite::set_job_state(self, id, state, now)
    }

    fn set_job_rate(&mut self, id: &str, rate: f64) -> Result<(), StoreError> {
        Sqlite::set_job_rate(self, id, rate)
    }

    fn claim_job(
        &mut self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Lease>, StoreError> {
        Sqlite::claim_job(self, id, owner, now)
    }

    fn heartbeat(&mut self, id: &str, owner: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        Sqlite::heartbeat(self, id, owner, now)
    }

    fn release_job(&mut self, id: &str, owner: &str) -> Result<(), StoreError> {
        Sqlite::release_job(self, id, owner)
    }

    fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError> {
        Sqlite::lease(self, id)
    }

    fn commit_page(&mut self, job_id: &str, page: PageCommit) -> Result<Counts, StoreError> {
        Sqlite::commit_page(self, job_id, page)
    }

    fn pages_with(
        &self,
        job_id: &str,
        state: ItemState,
    ) -> Result<Vec<(i64, Option<serde_json::Value>)>, StoreError> {
        Sqlite::pages_with(self, job_id, state)
    }

    fn page_items(
        &self,
        job_id: &str,
        page: i64,
        state: ItemState,
    ) -> Result<Vec<Item>, StoreError> {
        Sqlite::page_items(self, job_id, page, state)
    }

    fn put_manifest(&mut self, digest: &str, ids: &[String]) -> Result<(), StoreError> {
        Sqlite::put_manifest(self, digest, ids)
    }

    fn manifest(&self, digest: &str) -> Result<Vec<String>, StoreError> {
        Sqlite::manifest(self, digest)
    }

    fn pending_chunks(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError> {
        Sqlite::pending_chunks(self, job_id, after, limit)
    }

    fn in_doubt_chunks(&self, job_id: &str) -> Result<Vec<i64>, StoreError> {
        Sqlite::in_doubt_chunks(self, job_id)
    }

    fn chunk_items(&self, job_id: &str, chunk: i64) -> Result<Vec<Item>, StoreError> {
        Sqlite::chunk_items(self, job_id, chunk)
    }

    fn set_chunk_state(
        &mut self,
        job_id: &str,
        chunk: i64,
        state: ChunkState,
    ) -> Result<(), StoreError> {
        Sqlite::set_chunk_state(self, job_id, chunk, state)
    }

    fn finish_chunk(
        &mut self,
        job_id: &str,
        chunk: i64,
        outcomes: &[ItemOutcome],
    ) -> Result<(), StoreError> {
        Sqlite::finish_chunk(self, job_id, chunk, outcomes)
    }

    fn record_outcomes(
        &mut self,
        job_id: &str,
        outcomes: &[ItemOutcome],
    ) -> Result<(), StoreError> {
        Sqlite::record_outcomes(self, job_id, outcomes)
    }

    /// One statement over every `sent` item: a SQLite job is run by one process at a time, so
    /// every one is this process's or a gone one's (what `settleable_sent` gives here too).
    fn settle_sent(
        &mut self,
        job_id: &str,
        _owner: &str,
        _sent_before: DateTime<Utc>,
        state: ItemState,
        reason: &str,
    ) -> Result<u64, StoreError> {
        Sqlite::settle_sent(self, job_id, state, reason)
    }

    fn requeue_for_resend(
        &mut self,
        job_id: &str,
        from: ItemState,
        reason: &str,
    ) -> Result<u64, StoreError> {
        Sqlite::requeue_for_resend(self, job_id, from, reason)
    }

    fn items_in_state(
        &self,
        job_id: &str,
        state: ItemState,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        Sqlite::items_in_state(self, job_id, state, after_seq, limit)
    }

    fn accepted_items(
        &self,
        job_id: &str,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        Sqlite::accepted_items(self, job_id, after_seq, limit)
    }

    fn counts(&self, job_id: &str) -> Result<Counts, StoreError> {
        Sqlite::counts(self, job_id)
    }

    fn for_each_report_row(
        &self,
        job: &JobRecord,
        problems_only: bool,
        each: &mut dyn FnMut(ReportRow) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        Sqlite::for_each_report_row(self, job, problems_only, each)
    }
}
