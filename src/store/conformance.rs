//! One suite of the `Store` contract, run against every store: SQLite in a temp file, and
//! PostgreSQL in a schema of its own per test, in the database `BULKOPS_TEST_POSTGRES_URL` names
//! (by default the one scripts/store-test-db.sh makes). Without that PostgreSQL the PostgreSQL
//! half fails, naming the script. The tests of chunks shared by several processes run against
//! PostgreSQL only: SQLite keeps a job to one process (its lease), and so its chunks too.

use std::collections::HashSet;
use std::thread;

use ::postgres::NoTls;
use chrono::{DateTime, TimeDelta, Utc};

use super::lease::LEASE_TIMEOUT;
use super::{
    without_password, Begun, ChunkState, Completion, Item, ItemOutcome, ItemState, JobControl,
    JobState, NewItem, NewJob, PageCommit, PgStore, Sharing, SqliteStore, Store, StoreError,
};
use crate::job::{JobSpec, OperationKind, SelectorFields, Target, Window};

pub(super) const DEFAULT_POSTGRES_URL: &str =
    "postgres://bulkops:bulkops@127.0.0.1:5432/bulkops_store_test";

/// Owners on other hosts: their leases are judged by heartbeat alone.
const A: &str = "a.example:1";
const B: &str = "b.example:2";

/// Where a test's store lives; each `open` is another connection to it, as another process
/// would have, with `holder` as its owner.
trait Place: Sync {
    fn try_open(&self, holder: &str) -> Result<Box<dyn Store>, StoreError>;
    /// Marks the store as written by a later bulkops.
    fn mark_newer_schema(&self);

    fn open(&self, holder: &str) -> Box<dyn Store> {
        self.try_open(holder).expect("the store opens")
    }
}

struct SqlitePlace {
    dir: tempfile::TempDir,
}

impl SqlitePlace {
    fn new() -> Self {
        SqlitePlace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("state.db")
    }
}

impl Place for SqlitePlace {
    fn try_open(&self, _holder: &str) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(SqliteStore::open(&self.path())?))
    }

    fn mark_newer_schema(&self) {
        drop(self.open(A));
        rusqlite::Connection::open(self.path())
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
    }
}

struct PgPlace {
    admin: std::sync::Mutex<::postgres::Client>,
    schema: String,
    url: String,
}

impl PgPlace {
    fn new() -> Self {
        let base = std::env::var("BULKOPS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let mut admin = ::postgres::Client::connect(&base, NoTls).unwrap_or_else(|e| {
            panic!(
                "no PostgreSQL for the store conformance tests at {} ({e}): run \
                 scripts/store-test-db.sh and set BULKOPS_TEST_POSTGRES_URL to the URL it prints",
                without_password(&base)
            )
        });
        let schema = format!("conformance_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let joiner = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{joiner}options=-c%20search_path%3D{schema}");
        PgPlace {
            admin: std::sync::Mutex::new(admin),
            schema,
            url,
        }
    }

    /// Runs `sql` on the test's schema, as an operator (or time) would change it.
    fn run(&self, sql: &str) {
        self.admin
            .lock()
            .unwrap()
            .batch_execute(&format!("SET search_path TO {}; {sql}", self.schema))
            .unwrap();
    }

    fn pg(&self, holder: &str) -> PgStore {
        PgStore::open(&self.url, holder).unwrap()
    }

    /// Every chunk lease as if its holder had been silent for longer than a lease lasts.
    fn expire_chunk_leases(&self) {
        self.run("UPDATE chunks SET lease_until = now() - interval '1 second'");
    }
}

impl Drop for PgPlace {
    fn drop(&mut self) {
        let dropped = self
            .admin
            .lock()
            .map(|mut admin| admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema)));
        if let Ok(Err(e)) = dropped {
            eprintln!("cannot drop the test schema {}: {e}", self.schema);
        }
    }
}

impl Place for PgPlace {
    fn try_open(&self, holder: &str) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(PgStore::open(&self.url, holder)?))
    }

    fn mark_newer_schema(&self) {
        drop(self.open(A));
        self.run("INSERT INTO bulkops_schema (version) VALUES (99)");
    }
}

fn new_job(identity: &str, chunk_size: usize) -> NewJob {
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
    NewJob {
        identity: identity.into(),
        name: None,
        spec,
        window: Window {
            since: now - TimeDelta::hours(1),
            until: now,
        },
        cursor: "start".into(),
        chunk_size,
        concurrency: 3,
        started_by: "conformance".into(),
        reason: Some("a test".into()),
    }
}

fn created(store: &mut dyn Store, new: NewJob, owner: &str, now: DateTime<Utc>) -> String {
    match store.begin_job(new, owner, now).unwrap() {
        Ok(Begun::Created(id)) => id,
        other => panic!("expected a new job, got {other:?}"),
    }
}

fn page(ids: &[String], next: Option<&str>, scope: i64) -> PageCommit {
    PageCommit {
        items: ids.iter().map(NewItem::new).collect(),
        next_cursor: next.map(str::to_string),
        page_scope: Some(serde_json::json!({ "slice": scope })),
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:05}")).collect()
}

/// A job held by `A` with `n` items enumerated in one page, in chunks of `chunk_size`.
fn enumerated_job(store: &mut dyn Store, n: usize, chunk_size: usize) -> String {
    let id = created(store, new_job("identity", chunk_size), A, Utc::now());
    store
        .commit_page(&id, page(&names("run", n), None, 0))
        .unwrap();
    id
}

fn outcome(id: &str, state: ItemState) -> ItemOutcome {
    ItemOutcome {
        id: id.into(),
        state,
        reason: Some(format!("{state} in a test")),
        http_status: Some(200),
        attempts: 1,
    }
}

/// The same outcome for each of `items`.
fn outcomes(items: &[Item], state: ItemState) -> Vec<ItemOutcome> {
    items.iter().map(|i| outcome(&i.id, state)).collect()
}

fn ids(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

fn after_the_lease(now: DateTime<Utc>) -> DateTime<Utc> {
    now + LEASE_TIMEOUT + TimeDelta::seconds(1)
}

// --- the contract, for every store ---------------------------------------------------------

fn a_job_is_created_then_resumed_and_a_finished_one_is_not(place: &dyn Place) {
    let mut store = place.open(A);
    let now = Utc::now();
    let first = created(store.as_mut(), new_job("identity", 10), A, now);
    let job = store.job(&first).unwrap().expect("the job");
    assert_eq!(
        (job.identity.as_str(), job.state, job.chunk_size),
        ("identity", JobState::Running, 10)
    );
    assert_eq!(job.concurrency, Some(3), "kept for its resumes");
    assert_eq!(job.cursor.as_deref(), Some("start"));
    assert_eq!(job.reason.as_deref(), Some("a test"));
    assert!(!job.enumerated && job.finished_at.is_none());
    let again = store.begin_job(new_job("identity", 10), A, now).unwrap();
    assert_eq!(again, Ok(Begun::Resumed(first.clone())));
    assert_eq!(store.open_job("identity").unwrap().unwrap().id, first);
    assert!(store.finished_job("identity").unwrap().is_none());

    store
        .set_job_state(&first, JobState::Finished, now)
        .unwrap();
    assert!(store.open_job("identity").unwrap().is_none());
    assert_eq!(store.finished_job("identity").unwrap().unwrap().id, first);
    let second = created(store.as_mut(), new_job("identity", 10), A, now);
    assert_ne!(second, first);
    let listed: Vec<String> = store.jobs().unwrap().into_iter().map(|j| j.id).collect();
    assert_eq!(listed, [first, second]);
    assert!(store.job("no-such-job").unwrap().is_none());
}

fn a_live_lease_refuses_and_a_silent_one_is_taken_over(place: &dyn Place) {
    let mut a = place.open(A);
    let mut b = place.open(B);
    let t0 = Utc::now();
    let id = created(a.as_mut(), new_job("identity", 10), A, t0);
    let refused = b
        .begin_job(new_job("identity", 10), B, t0 + TimeDelta::seconds(1))
        .unwrap()
        .expect_err("A holds the job");
    assert_eq!(
        (refused.job.as_str(), refused.owner.as_str()),
        (id.as_str(), A)
    );
    let t1 = t0 + TimeDelta::seconds(10);
    assert!(a.heartbeat(&id, A, t1).unwrap());
    let lease = b.claim_job(&id, B, t1).unwrap().expect_err("renewed");
    assert_eq!(lease.heartbeat.timestamp_micros(), t1.timestamp_micros());

    b.claim_job(&id, B, after_the_lease(t1))
        .unwrap()
        .expect("A was silent too long");
    assert!(!a.heartbeat(&id, A, after_the_lease(t1)).unwrap());
    assert_eq!(a.lease(&id).unwrap().unwrap().owner, B);
    a.release_job(&id, A).unwrap();
    assert_eq!(
        a.lease(&id).unwrap().unwrap().owner,
        B,
        "only the holder lets go"
    );
    b.release_job(&id, B).unwrap();
    assert!(a.lease(&id).unwrap().is_none());
    a.claim_job(&id, A, t1)
        .unwrap()
        .expect("a released job is free");
}

fn two_processes_beginning_at_once_get_one_job(place: &dyn Place) {
    drop(place.open(A));
    let results: Vec<_> = thread::scope(|scope| {
        let begin = |owner: &'static str| {
            let mut store = place.open(owner);
            scope.spawn(move || store.begin_job(new_job("identity", 10), owner, Utc::now()))
        };
        let started = [begin(A), begin(B)];
        started.map(|t| t.join().unwrap().unwrap()).into()
    });
    let created = results
        .iter()
        .filter(|r| matches!(r, Ok(Begun::Created(_))))
        .count();
    let refused = results.iter().filter(|r| r.is_err()).count();
    assert_eq!((created, refused), (1, 1), "{results:?}");
    assert_eq!(place.open(A).jobs().unwrap().len(), 1);
}

fn job_control_reads_state_and_rate_set_by_another_process(place: &dyn Place) {
    let mut a = place.open(A);
    let mut operator = place.open(B);
    let now = Utc::now();
    let id = created(a.as_mut(), new_job("identity", 10), A, now);
    let control = |state, rate, concurrency| JobControl {
        state,
        rate,
        concurrency: Some(concurrency),
    };
    assert_eq!(
        a.job_control(&id).unwrap(),
        control(JobState::Running, None, 3)
    );
    operator.set_job_rate(&id, 2.5).unwrap();
    operator.set_job_concurrency(&id, 7).unwrap();
    operator.set_job_state(&id, JobState::Paused, now).unwrap();
    assert_eq!(
        a.job_control(&id).unwrap(),
        control(JobState::Paused, Some(2.5), 7)
    );
    assert_eq!(a.job(&id).unwrap().unwrap().concurrency, Some(7));
    assert!(a.job(&id).unwrap().unwrap().finished_at.is_none());
    operator.set_job_state(&id, JobState::Aborted, now).unwrap();
    let job = a.job(&id).unwrap().unwrap();
    assert_eq!((job.state, job.rate), (JobState::Aborted, Some(2.5)));
    assert_eq!(
        job.finished_at.map(|t| t.timestamp_micros()),
        Some(now.timestamp_micros())
    );
}

fn a_page_commits_its_items_cursor_and_full_chunks_together(place: &dyn Place) {
    let mut store = place.open(A);
    let id = created(store.as_mut(), new_job("identity", 3), A, Utc::now());
    let mut first = page(&names("r", 4), Some("after-first"), 0);
    first.items.push(NewItem {
        id: "settled".into(),
        payload: Some(serde_json::json!({"why": "code-defined"})),
        settled: Some((ItemState::Skipped, "defined in code".into())),
    });
    first.items.push(NewItem::new("r00000"));
    let added = store.commit_page(&id, first).unwrap();
    assert_eq!((added.total, added.pending, added.skipped), (5, 4, 1));
    let other = place.open(B);
    let job = other.job(&id).unwrap().unwrap();
    assert_eq!(
        (job.cursor.as_deref(), job.enumerated),
        (Some("after-first"), false)
    );
    assert_eq!(
        other.pending_chunks(&id, 0, 10).unwrap(),
        [1],
        "a short tail waits"
    );
    assert_eq!(
        ids(&other.chunk_items(&id, 1).unwrap()),
        ["r00000", "r00001", "r00002"]
    );

    let mut last = page(&names("s", 2), None, 1);
    last.items[0].payload = Some(serde_json::json!({"at": 7}));
    let added = store.commit_page(&id, last).unwrap();
    assert_eq!((added.total, added.pending), (2, 2));
    let job = other.job(&id).unwrap().unwrap();
    assert_eq!((job.cursor, job.enumerated), (None, true));
    assert_eq!(other.pending_chunks(&id, 0, 10).unwrap(), [1, 2]);
    assert_eq!(other.pending_chunks(&id, 1, 10).unwrap(), [2]);
    assert_eq!(other.pending_chunks(&id, 0, 1).unwrap(), [1]);
    let tail = other.chunk_items(&id, 2).unwrap();
    assert_eq!(ids(&tail), ["r00003", "s00000", "s00001"]);
    assert_eq!(tail[1].payload, Some(serde_json::json!({"at": 7})));
    assert_eq!((tail[0].page, tail[1].page), (0, 1));
    let seqs: Vec<i64> = tail.iter().map(|i| i.seq).collect();
    // Only the order is the contract: a store may leave gaps (SQLite numbers a page's rows
    // before it drops the duplicates).
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] >= 3,
        "items keep enumeration order after the settled one: {seqs:?}"
    );

    let counts = other.counts(&id).unwrap();
    assert_eq!((counts.total, counts.pending, counts.skipped), (7, 6, 1));
    let pages = other.pages_with(&id, ItemState::Pending).unwrap();
    assert_eq!(
        pages,
        [
            (0, Some(serde_json::json!({"slice": 0}))),
            (1, Some(serde_json::json!({"slice": 1})))
        ]
    );
    assert_eq!(other.pages_with(&id, ItemState::Skipped).unwrap().len(), 1);
    let skipped = other.page_items(&id, 0, ItemState::Skipped).unwrap();
    assert_eq!(ids(&skipped), ["settled"]);
    assert_eq!(
        skipped[0].payload,
        Some(serde_json::json!({"why": "code-defined"}))
    );
    assert!(other
        .page_items(&id, 1, ItemState::Skipped)
        .unwrap()
        .is_empty());
}

fn a_failed_page_leaves_nothing_behind(place: &dyn Place) {
    let mut store = place.open(A);
    let failed = store.commit_page("no-such-job", page(&names("r", 3), None, 0));
    assert!(failed.is_err(), "a page of no job is refused");
    let id = created(store.as_mut(), new_job("identity", 3), A, Utc::now());
    let counts = store.counts(&id).unwrap();
    assert_eq!(counts.total, 0);
    assert!(store
        .pages_with(&id, ItemState::Pending)
        .unwrap()
        .is_empty());
    assert!(store.counts("no-such-job").unwrap().total == 0);
}

fn taken_chunks_are_marked_sending_and_in_doubt_after_a_crash(place: &dyn Place) {
    let mut a = place.open(A);
    let id = enumerated_job(a.as_mut(), 8, 2);
    // Chunk 1's items were settled another way: there is nothing left to send.
    a.record_outcomes(
        &id,
        &[
            outcome("run00000", ItemState::Done),
            outcome("run00001", ItemState::Done),
        ],
    )
    .unwrap();
    let taken = a.take_chunks(&id, 0, 2, true).unwrap();
    let chunks: Vec<i64> = taken.iter().map(|t| t.chunk).collect();
    assert_eq!(chunks, [2, 3]);
    assert_eq!(ids(&taken[0].items), ["run00002", "run00003"]);
    assert_eq!(
        a.pending_chunks(&id, 0, 10).unwrap(),
        [4],
        "chunk 1 is done"
    );
    assert_eq!(a.in_doubt_chunks(&id).unwrap(), [2, 3]);
    assert!(a
        .take_chunks(&id, 0, 10, true)
        .unwrap()
        .iter()
        .all(|t| t.chunk == 4));
    a.set_chunk_state(&id, 4, ChunkState::Pending).unwrap();
    drop(a);

    // A's process died: the next process takes the job over and finds what A was sending.
    let mut b = place.open(B);
    b.claim_job(&id, B, after_the_lease(Utc::now()))
        .unwrap()
        .expect("A is gone");
    assert_eq!(b.in_doubt_chunks(&id).unwrap(), [2, 3]);
    assert_eq!(b.pending_chunks(&id, 0, 10).unwrap(), [4]);
    b.set_chunk_state(&id, 2, ChunkState::Pending).unwrap();
    let again = b.take_chunks(&id, 0, 10, false).unwrap();
    assert_eq!(again.iter().map(|t| t.chunk).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(b.in_doubt_chunks(&id).unwrap(), [3]);
    assert_eq!(
        b.pending_chunks(&id, 0, 10).unwrap(),
        [2, 4],
        "without the mark they stay pending"
    );
}

fn a_finished_chunk_records_its_outcomes_and_leaves_the_queue(place: &dyn Place) {
    let mut store = place.open(A);
    let id = enumerated_job(store.as_mut(), 4, 2);
    store.take_chunks(&id, 0, 2, true).unwrap();
    let mut failed = outcome("run00001", ItemState::Failed);
    failed.http_status = None;
    store
        .record_outcomes(&id, &[outcome("run00001", ItemState::Sent)])
        .unwrap();
    store
        .finish_chunk(&id, 1, &[outcome("run00000", ItemState::Done), failed])
        .unwrap();
    let unreachable = ItemOutcome {
        http_status: None,
        attempts: 0,
        ..outcome("run00003", ItemState::Pending)
    };
    store
        .finish_chunk(&id, 2, &[outcome("run00002", ItemState::Done), unreachable])
        .unwrap();
    assert!(store.in_doubt_chunks(&id).unwrap().is_empty());
    assert_eq!(
        store.pending_chunks(&id, 0, 10).unwrap(),
        [2],
        "run00003 goes again"
    );
    assert_eq!(ids(&store.chunk_items(&id, 2).unwrap()), ["run00003"]);
    let counts = store.counts(&id).unwrap();
    assert_eq!((counts.done, counts.failed, counts.pending), (2, 1, 1));
    let job = store.job(&id).unwrap().unwrap();
    let mut rows = Vec::new();
    store
        .for_each_report_row(&job, true, &mut |row| {
            rows.push(row);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.id.as_str(),
            row.outcome.as_str(),
            row.http_status,
            row.attempts
        ),
        ("run00001", "failed", Some(200), 2),
        "the status stays when none came; attempts add up"
    );
    assert_eq!(row.reason.as_deref(), Some("failed in a test"));
    assert_eq!(row.operation, "scheduled delete");
    crate::job::parse_time(row.time.as_deref().unwrap()).expect("an RFC 3339 time");
}

fn outcomes_of_one_item_apply_in_order(place: &dyn Place) {
    let mut store = place.open(A);
    let id = enumerated_job(store.as_mut(), 2, 2);
    let unreachable = ItemOutcome {
        http_status: None,
        ..outcome("run00000", ItemState::Failed)
    };
    store
        .finish_chunk(
            &id,
            1,
            &[
                outcome("run00000", ItemState::Sent),
                outcome("run00001", ItemState::Done),
                unreachable,
            ],
        )
        .unwrap();
    let job = store.job(&id).unwrap().unwrap();
    let mut rows = Vec::new();
    store
        .for_each_report_row(&job, false, &mut |row| {
            rows.push((row.id, row.outcome, row.http_status, row.attempts));
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(
        rows,
        [
            ("run00000".to_string(), "failed".to_string(), Some(200), 2),
            ("run00001".to_string(), "done".to_string(), Some(200), 1)
        ]
    );
}

fn a_resend_round_requeues_in_new_chunks_and_counts(place: &dyn Place) {
    let mut store = place.open(A);
    let id = enumerated_job(store.as_mut(), 5, 2);
    let all: Vec<ItemOutcome> = names("run", 5)
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let state = if i % 2 == 0 {
                ItemState::Unconfirmed
            } else {
                ItemState::Done
            };
            outcome(name, state)
        })
        .collect();
    for chunk in 1..=3 {
        store.finish_chunk(&id, chunk, &[]).unwrap();
    }
    store.record_outcomes(&id, &all).unwrap();
    assert!(store.pending_chunks(&id, 0, 10).unwrap().is_empty());
    let moved = store
        .requeue_for_resend(&id, ItemState::Unconfirmed, "not confirmed: sent again")
        .unwrap();
    assert_eq!(moved, 3);
    assert_eq!(store.job(&id).unwrap().unwrap().resend_rounds, 1);
    assert_eq!(store.pending_chunks(&id, 0, 10).unwrap(), [4, 5]);
    let again = store.chunk_items(&id, 4).unwrap();
    assert_eq!(ids(&again), ["run00000", "run00002"]);
    assert_eq!(again[0].attempts, 1, "what was sent before counts");
    let pending = store
        .items_in_state(&id, ItemState::Pending, -1, 10)
        .unwrap();
    assert_eq!(ids(&pending), ["run00000", "run00002", "run00004"]);
    assert_eq!(
        store
            .requeue_for_resend(&id, ItemState::Unconfirmed, "x")
            .unwrap(),
        0
    );
    assert_eq!(store.job(&id).unwrap().unwrap().resend_rounds, 2);
}

fn items_by_state_and_accepted_items_page_in_enumeration_order(place: &dyn Place) {
    let mut store = place.open(A);
    let id = enumerated_job(store.as_mut(), 6, 3);
    store
        .record_outcomes(
            &id,
            &[
                outcome("run00000", ItemState::Done),
                outcome("run00001", ItemState::Failed),
                outcome("run00002", ItemState::Sent),
                outcome("run00004", ItemState::Unconfirmed),
                outcome("run00005", ItemState::Skipped),
            ],
        )
        .unwrap();
    let first = store.accepted_items(&id, -1, 2).unwrap();
    assert_eq!(ids(&first), ["run00000", "run00002"]);
    let rest = store.accepted_items(&id, first[1].seq, 10).unwrap();
    assert_eq!(ids(&rest), ["run00004"]);
    let pending = store
        .items_in_state(&id, ItemState::Pending, -1, 10)
        .unwrap();
    assert_eq!(ids(&pending), ["run00003"]);
    assert!(store
        .items_in_state(&id, ItemState::Failed, first[0].seq + 1, 10)
        .unwrap()
        .is_empty());
}

fn a_manifest_is_kept_once_in_order(place: &dyn Place) {
    let mut store = place.open(A);
    assert!(store.manifest("digest").unwrap().is_empty());
    let listed = names("id", 3);
    store.put_manifest("digest", &listed).unwrap();
    store.put_manifest("digest", &names("other", 5)).unwrap();
    assert_eq!(place.open(B).manifest("digest").unwrap(), listed);
}

fn report_rows_stream_in_enumeration_order_until_broken(place: &dyn Place) {
    let mut store = place.open(A);
    // More than one batch of a store that reads a report in batches.
    let id = enumerated_job(store.as_mut(), 2345, 500);
    let job = store.job(&id).unwrap().unwrap();
    let mut seen = Vec::new();
    store
        .for_each_report_row(&job, false, &mut |row| {
            seen.push(row.id);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, names("run", 2345));
    let mut first = Vec::new();
    store
        .for_each_report_row(&job, false, &mut |row| {
            first.push(row.id);
            if first.len() == 3 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(first, names("run", 3));
}

fn two_processes_opening_a_new_store_at_once_both_use_it(place: &dyn Place) {
    let opened: Vec<Box<dyn Store>> = thread::scope(|scope| {
        let open = |holder: &'static str| scope.spawn(move || place.open(holder));
        let started = [open(A), open(B)];
        started.map(|t| t.join().unwrap()).into()
    });
    let [mut a, b] = <[Box<dyn Store>; 2]>::try_from(opened).ok().unwrap();
    let id = created(a.as_mut(), new_job("identity", 10), A, Utc::now());
    assert_eq!(b.job(&id).unwrap().unwrap().id, id);
}

/// The CLI calls its store from inside the async runtime that drives its requests.
fn a_store_is_opened_used_and_closed_inside_an_async_runtime(place: &dyn Place) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let jobs = runtime.block_on(async {
        let mut store = place.open(A);
        let id = enumerated_job(store.as_mut(), 3, 10);
        tokio::task::yield_now().await;
        let job = store.job(&id).unwrap().unwrap();
        let mut rows = 0;
        store
            .for_each_report_row(&job, false, &mut |_| {
                rows += 1;
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        (store.jobs().unwrap().len(), rows)
    });
    assert_eq!(jobs, (1, 3));
}

fn a_store_of_a_newer_bulkops_is_refused(place: &dyn Place) {
    place.mark_newer_schema();
    let refused = place.try_open(A).err().expect("a newer schema is refused");
    assert!(matches!(refused, StoreError::Unusable { .. }), "{refused}");
    assert!(refused.needs_the_user());
    assert!(refused.to_string().contains("newer bulkops"), "{refused}");
}

macro_rules! conformance {
    (every store: $($test:ident),* ; shared chunks: $($shared:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $test() { super::$test(&super::SqlitePlace::new()); } )*
        }
        mod on_postgres {
            $( #[test] fn $test() { super::$test(&super::PgPlace::new()); } )*
            $( #[test] fn $shared() { super::$shared(&super::PgPlace::new()); } )*
        }
    };
}

conformance! {
    every store:
        a_job_is_created_then_resumed_and_a_finished_one_is_not,
        a_live_lease_refuses_and_a_silent_one_is_taken_over,
        two_processes_beginning_at_once_get_one_job,
        job_control_reads_state_and_rate_set_by_another_process,
        a_page_commits_its_items_cursor_and_full_chunks_together,
        a_failed_page_leaves_nothing_behind,
        taken_chunks_are_marked_sending_and_in_doubt_after_a_crash,
        a_finished_chunk_records_its_outcomes_and_leaves_the_queue,
        outcomes_of_one_item_apply_in_order,
        a_resend_round_requeues_in_new_chunks_and_counts,
        two_processes_opening_a_new_store_at_once_both_use_it,
        items_by_state_and_accepted_items_page_in_enumeration_order,
        a_manifest_is_kept_once_in_order,
        report_rows_stream_in_enumeration_order_until_broken,
        a_store_is_opened_used_and_closed_inside_an_async_runtime,
        a_store_of_a_newer_bulkops_is_refused;
    shared chunks:
        two_takers_at_once_never_take_the_same_chunk,
        a_stale_holder_cannot_finish_a_chunk_another_took,
        a_held_chunk_is_left_alone_until_its_lease_passes,
        replicas_join_a_job_and_a_silent_one_is_swept_out_with_its_lease_and_chunks,
        processes_arriving_at_a_job_count_in_its_share_until_they_join_stand_by_or_fall_silent,
        the_replica_holding_a_shared_job_completes_it_and_the_others_name_it,
}

// --- chunks shared by several processes (PostgreSQL) ---------------------------------------

fn two_takers_at_once_never_take_the_same_chunk(place: &PgPlace) {
    for mark_sending in [true, false] {
        let mut first = place.pg(A);
        let id = {
            let identity = format!("identity-{mark_sending}");
            let id = created(&mut first, new_job(&identity, 1), A, Utc::now());
            first
                .commit_page(&id, page(&names("run", 60), None, 0))
                .unwrap();
            id
        };
        let takers: Vec<Vec<i64>> = thread::scope(|scope| {
            let take = |holder: &'static str| {
                let mut store = place.pg(holder);
                let id = id.clone();
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let taken = store.take_chunks(&id, 0, 3, mark_sending).unwrap();
                        if taken.is_empty() {
                            return mine;
                        }
                        for chunk in taken {
                            let done = outcomes(&chunk.items, ItemState::Done);
                            store.finish_chunk(&id, chunk.chunk, &done).unwrap();
                            mine.push(chunk.chunk);
                        }
                    }
                })
            };
            let started = [take(A), take(B)];
            started.map(|t| t.join().unwrap()).into()
        });
        let all: Vec<i64> = takers.concat();
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(
            all.len(),
            60,
            "each chunk taken once ({mark_sending}): {takers:?}"
        );
        assert_eq!(distinct, (1..=60).collect(), "{mark_sending}");
        assert_eq!(first.counts(&id).unwrap().done, 60);
    }
}

fn a_stale_holder_cannot_finish_a_chunk_another_took(place: &PgPlace) {
    let mut a = place.pg(A);
    let mut b = place.pg(B);
    let id = enumerated_job(&mut a, 4, 2);
    assert_eq!(a.take_chunks(&id, 0, 2, true).unwrap().len(), 2);
    place.expire_chunk_leases();
    let taken = b.take_chunks(&id, 0, 1, false).unwrap();
    assert!(
        taken.is_empty(),
        "a lapsed sending chunk is in doubt, not pending"
    );
    assert_eq!(b.in_doubt_chunks(&id).unwrap(), [1, 2]);
    b.set_chunk_state(&id, 1, ChunkState::Sending).unwrap();

    let stale = a
        .finish_chunk(&id, 1, &[outcome("run00000", ItemState::Done)])
        .expect_err("B holds chunk 1 now");
    assert!(
        matches!(&stale, StoreError::ChunkTaken { job, chunk: 1 } if *job == id),
        "{stale}"
    );
    assert!(!stale.needs_the_user() && !stale.concerns_the_file());
    assert_eq!(a.counts(&id).unwrap().done, 0, "nothing of A's was written");
    a.finish_chunk(&id, 2, &[outcome("run00002", ItemState::Done)])
        .expect("nobody took chunk 2: A's outcomes stand");
    b.finish_chunk(&id, 1, &[outcome("run00000", ItemState::Done)])
        .unwrap();
    assert_eq!(a.counts(&id).unwrap().done, 2);
    // Once B has finished it, A's late finish is as stale as while B sent it.
    let late = a
        .finish_chunk(&id, 1, &[outcome("run00000", ItemState::Done)])
        .expect_err("B finished chunk 1");
    assert!(
        matches!(late, StoreError::ChunkTaken { chunk: 1, .. }),
        "{late}"
    );
}

fn a_held_chunk_is_left_alone_until_its_lease_passes(place: &PgPlace) {
    let mut a = place.pg(A);
    let mut b = place.pg(B);
    let id = enumerated_job(&mut a, 4, 2);
    b.claim_job(&id, B, Utc::now())
        .unwrap()
        .expect_err("A holds the job");
    assert_eq!(a.take_chunks(&id, 0, 1, false).unwrap()[0].chunk, 1);
    assert_eq!(
        a.take_chunks(&id, 0, 1, true).unwrap()[0].chunk,
        1,
        "A's own"
    );
    let b_takes: Vec<i64> = b
        .take_chunks(&id, 0, 5, false)
        .unwrap()
        .iter()
        .map(|t| t.chunk)
        .collect();
    assert_eq!(b_takes, [2]);
    assert!(
        b.in_doubt_chunks(&id).unwrap().is_empty(),
        "A is sending chunk 1"
    );
    assert_eq!(b.pending_chunks(&id, 0, 5).unwrap(), [2], "B's own");
    assert!(
        a.pending_chunks(&id, 0, 5).unwrap().is_empty(),
        "B holds chunk 2"
    );
    place.run("UPDATE chunks SET lease_until = now() + interval '1 second' WHERE chunk = 1");
    assert!(a.heartbeat(&id, A, Utc::now()).unwrap());
    place.run("SELECT pg_sleep(1.2)");
    assert!(
        b.in_doubt_chunks(&id).unwrap().is_empty(),
        "the heartbeat renewed A's lease"
    );
    place.expire_chunk_leases();
    assert_eq!(b.in_doubt_chunks(&id).unwrap(), [1]);
    assert_eq!(
        a.pending_chunks(&id, 0, 5).unwrap(),
        [2],
        "B's chunk 2 lapsed too"
    );
}

fn replicas_join_a_job_and_a_silent_one_is_swept_out_with_its_lease_and_chunks(place: &PgPlace) {
    const C: &str = "c.example:3";
    let mut a = place.pg(A);
    let mut b = place.pg(B);
    let mut c = place.pg(C);
    let t0 = Utc::now();
    let id = enumerated_job(&mut a, 6, 2);
    assert!(b.join_job(&id, B, t0).unwrap(), "a live holder is joined");
    assert!(c.join_job(&id, C, t0).unwrap());
    let shared = |store: &mut PgStore, owner, now| store.share(&id, owner, now).unwrap().unwrap();
    let seen_by_a = shared(&mut a, A, t0);
    assert_eq!((seen_by_a.live, seen_by_a.enumerator), (3, true));
    assert!(seen_by_a.enumerated && seen_by_a.cursor.is_none());
    assert_eq!(
        (shared(&mut b, B, t0).live, shared(&mut b, B, t0).enumerator),
        (3, false),
        "A holds the lease: B only takes chunks"
    );
    assert!(b.heartbeat(&id, B, t0).unwrap(), "a replica's heartbeat");
    assert_eq!(a.take_chunks(&id, 0, 1, false).unwrap()[0].chunk, 1);
    assert_eq!(b.take_chunks(&id, 0, 1, false).unwrap()[0].chunk, 2);

    // A falls silent; B and C go on.
    let t1 = after_the_lease(t0);
    assert!(b.heartbeat(&id, B, t1).unwrap() && c.heartbeat(&id, C, t1).unwrap());
    let seen_by_c = shared(&mut c, C, t1);
    assert_eq!(
        (seen_by_c.live, seen_by_c.enumerator),
        (2, true),
        "A is swept out and C, the first to see it, enumerates"
    );
    assert!(!shared(&mut b, B, t1).enumerator, "one enumerator");
    let c_takes: Vec<i64> = c
        .take_chunks(&id, 0, 5, false)
        .unwrap()
        .iter()
        .map(|t| t.chunk)
        .collect();
    assert_eq!(c_takes, [1, 3], "A's chunk is free at once, B's is not");
    assert!(
        !a.heartbeat(&id, A, t1).unwrap(),
        "A learns it was swept out"
    );
    c.release_job(&id, C).unwrap();
    assert!(
        !shared(&mut a, A, t1).enumerator,
        "one swept out takes nothing over, even a free lease"
    );
    assert_eq!(
        shared(&mut b, B, t1),
        Sharing {
            live: 1,
            enumerator: true,
            cursor: None,
            enumerated: true,
        },
        "C left: B takes the lease"
    );
}

fn processes_arriving_at_a_job_count_in_its_share_until_they_join_stand_by_or_fall_silent(
    place: &PgPlace,
) {
    const C: &str = "c.example:3";
    let (mut a, mut b, mut c) = (place.pg(A), place.pg(B), place.pg(C));
    let t0 = Utc::now();
    let arrived = |store: &mut PgStore, owner, now| store.arrive("i", owner, now).unwrap();
    let first = arrived(&mut a, A, t0);
    assert_eq!(
        (first.others, first.counted),
        (0, false),
        "the first finds nobody"
    );
    assert_eq!(
        arrived(&mut b, B, t0).others,
        1,
        "the second finds the first"
    );
    let renewed = arrived(&mut a, A, t0);
    assert_eq!((renewed.others, renewed.counted), (1, true));

    // A begins the job: B, still on its way, has a share of it.
    let id = created(&mut a, new_job("i", 2), A, t0);
    let live =
        |store: &mut PgStore, owner, now| store.share(&id, owner, now).unwrap().unwrap().live;
    assert_eq!(live(&mut a, A, t0), 2);
    assert_eq!(arrived(&mut c, C, t0).others, 2, "a replica and an arrival");
    assert_eq!(live(&mut a, A, t0), 3);
    c.depart("i", C).unwrap();
    assert_eq!(live(&mut a, A, t0), 2, "one standing by has no share");
    assert!(b.join_job(&id, B, t0).unwrap());
    assert_eq!(
        live(&mut a, A, t0),
        2,
        "a replica that arrived is counted once"
    );

    // An arrival silent past the lease timeout is swept out; back, it was not counted.
    arrived(&mut c, C, t0);
    let t1 = after_the_lease(t0);
    assert!(a.heartbeat(&id, A, t1).unwrap() && b.heartbeat(&id, B, t1).unwrap());
    assert_eq!(live(&mut a, A, t1), 2, "C is gone");
    let back = arrived(&mut c, C, t1);
    assert_eq!((back.others, back.counted), (2, false));
}

#[test]
fn no_error_or_debug_output_shows_the_password() {
    let refused = PgStore::open("postgres://bulkops:s3cret-pw@127.0.0.1:1/db", A)
        .expect_err("nothing listens on port 1");
    assert!(
        matches!(refused, StoreError::Inaccessible { .. }),
        "{refused}"
    );
    let told = format!("{refused} {refused:?}");
    assert!(!told.contains("s3cret-pw"), "{told}");
    assert!(
        refused
            .to_string()
            .starts_with("cannot use the PostgreSQL state postgres://bulkops@127.0.0.1:1/db"),
        "named as a database, not a file: {refused}"
    );
    assert!(told.contains("postgres://bulkops@127.0.0.1:1/db"), "{told}");
    assert!(
        told.contains("Connection refused"),
        "the cause is told: {told}"
    );

    let place = PgPlace::new();
    let mut wrong = url::Url::parse(&place.url).unwrap();
    let password = wrong
        .password()
        .expect("the test URL has a password")
        .to_string();
    wrong.set_password(Some("wr0ng-pw")).unwrap();
    let refused = PgStore::open(wrong.as_str(), A).expect_err("a wrong password");
    assert!(
        matches!(refused, StoreError::Inaccessible { .. }),
        "{refused}"
    );
    assert!(!format!("{refused} {refused:?}").contains("wr0ng-pw"));
    let store = place.pg(A);
    let shown = format!("{store:?}");
    assert!(!shown.contains(&format!(":{password}@")), "{shown}");
    assert!(shown.contains(wrong.host_str().unwrap()), "{shown}");
}

#[test]
fn a_database_of_another_program_is_refused_and_left_alone() {
    let place = PgPlace::new();
    place.run("CREATE TABLE accounts (id INTEGER)");
    let refused = place.try_open(A).err().expect("another program's tables");
    assert!(
        refused
            .to_string()
            .contains("another program's database (tables: accounts)"),
        "{refused}"
    );
    place.run("SELECT id FROM accounts");
}

#[test]
fn a_url_asking_for_tls_is_refused_naming_the_fix() {
    let place = PgPlace::new();
    let refused = PgStore::open(&format!("{}&sslmode=require", place.url), A).expect_err("no TLS");
    assert!(matches!(refused, StoreError::Unusable { .. }), "{refused}");
    assert!(refused.to_string().contains("sslmode=disable"), "{refused}");
}

#[test]
fn passwords_are_taken_out_of_urls() {
    assert_eq!(
        without_password("postgres://u:p@h:5/db?sslmode=disable&password=q"),
        "postgres://u@h:5/db?sslmode=disable"
    );
    assert_eq!(
        without_password("postgresql://h/db?password=q"),
        "postgresql://h/db"
    );
    assert_eq!(without_password("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(
        without_password("post gres://u:p@"),
        "a PostgreSQL URL that cannot be read"
    );
}

/// A replica whose part is done names the holder as the one finishing the job, so the holder
/// must be the one: even when the replica's own items are the last to settle, a live holder
/// completes the job, and only a gone one leaves it to whoever finds nothing open.
fn the_replica_holding_a_shared_job_completes_it_and_the_others_name_it(place: &PgPlace) {
    let mut a = place.pg(A);
    let mut b = place.pg(B);
    let t0 = Utc::now();
    let id = enumerated_job(&mut a, 4, 2);
    assert!(b.join_job(&id, B, t0).unwrap());
    let send_a_chunk = |store: &mut PgStore| {
        let chunk = store.take_chunks(&id, 0, 1, true).unwrap().remove(0);
        let sent = outcomes(&chunk.items, ItemState::Sent);
        store.finish_chunk(&id, chunk.chunk, &sent).unwrap();
        chunk.items
    };
    let (of_a, of_b) = (send_a_chunk(&mut a), send_a_chunk(&mut b));
    let confirm = |store: &mut PgStore, items: &[Item]| {
        let done = outcomes(items, ItemState::Done);
        store.record_outcomes(&id, &done).unwrap();
    };
    confirm(&mut a, &of_a);
    assert_eq!(
        a.complete_job(&id, A, t0).unwrap(),
        Completion::Open,
        "B's items are still sent: the holder waits for them"
    );
    confirm(&mut b, &of_b);
    let holder_finishes = Completion::Elsewhere {
        by: A.into(),
        finished: false,
    };
    assert_eq!(
        b.complete_job(&id, B, t0).unwrap(),
        holder_finishes,
        "B settled the last items, and the live holder, named to B, completes the job"
    );
    assert_eq!(a.job(&id).unwrap().unwrap().state, JobState::Running);
    assert_eq!(a.complete_job(&id, A, t0).unwrap(), Completion::Completed);
    assert_eq!(
        b.complete_job(&id, B, t0).unwrap(),
        Completion::Elsewhere {
            by: A.into(),
            finished: true
        }
    );

    // A holder gone silent completes nothing: whoever finds nothing open does.
    let id = {
        let identity = "identity-gone-holder";
        let id = created(&mut a, new_job(identity, 2), A, t0);
        a.commit_page(&id, page(&names("other", 2), None, 0))
            .unwrap();
        id
    };
    assert!(b.join_job(&id, B, t0).unwrap());
    let chunk = b.take_chunks(&id, 0, 1, false).unwrap().remove(0);
    let done = outcomes(&chunk.items, ItemState::Done);
    b.finish_chunk(&id, chunk.chunk, &done).unwrap();
    assert_eq!(
        b.complete_job(&id, B, after_the_lease(t0)).unwrap(),
        Completion::Completed
    );
}
