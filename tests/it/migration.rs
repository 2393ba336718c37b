//! State files of schema 1 (work tables keyed by the job's text id, ids and states as text) and
//! of schema 2 (chunks and states indexed per item) resume under the current schema.

use std::path::Path;

use serde_json::json;

use crate::support::{after_progress, interrupt_after_progress, run, seed_runs, Sim, FAST_REPLAYS};

/// The schema this bulkops writes.
const CURRENT_SCHEMA: i64 = 4;

/// Schema 1's work tables and indexes, as bulkops wrote them before schema 2.
const SCHEMA_1_WORK: &str = "
CREATE TABLE pages (
    job_id TEXT NOT NULL,
    page   INTEGER NOT NULL,
    scope  TEXT,
    PRIMARY KEY (job_id, page)
);
CREATE TABLE items (
    job_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    page        INTEGER NOT NULL,
    chunk       INTEGER,
    state       TEXT NOT NULL,
    reason      TEXT,
    http_status INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT,
    payload     TEXT,
    PRIMARY KEY (job_id, seq)
);
CREATE UNIQUE INDEX items_id ON items(job_id, id);
CREATE INDEX items_by_chunk ON items(job_id, chunk, state, seq);
CREATE INDEX items_state ON items(job_id, state, seq);
CREATE INDEX items_by_page ON items(job_id, page, state, seq);
CREATE TABLE chunks (
    job_id TEXT NOT NULL,
    chunk  INTEGER NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (job_id, chunk)
);
CREATE INDEX chunks_state ON chunks(job_id, state, chunk);
";

/// Rewrites a state file of this bulkops as schema 2 wrote it, keeping every job, page, chunk
/// and item: chunks without their ranges, the items of the open chunk without a chunk, and
/// the chunk and state indexes.
fn downgrade_to_schema_2(state: &Path) {
    let db = rusqlite::Connection::open(state).unwrap();
    db.execute_batch(
        "BEGIN;
         UPDATE items SET chunk = NULL
          WHERE (job, chunk) IN (SELECT job, chunk FROM chunks WHERE state = 'open');
         DELETE FROM chunks WHERE state = 'open';
         ALTER TABLE chunks DROP COLUMN first_seq;
         ALTER TABLE chunks DROP COLUMN end_seq;
         CREATE INDEX items_by_chunk ON items(job, chunk, seq);
         CREATE INDEX items_by_state ON items(job, state, seq);
         ALTER TABLE jobs DROP COLUMN concurrency;
         PRAGMA user_version = 2;
         COMMIT;",
    )
    .expect("the state file is rewritten as schema 2");
}

/// Rewrites a state file of this bulkops as schema 1 wrote it, keeping every job, page, chunk
/// and item: a UUID key back to its text, a state code back to its name.
fn downgrade_to_schema_1(state: &Path) {
    downgrade_to_schema_2(state);
    let db = rusqlite::Connection::open(state).unwrap();
    db.execute_batch(&format!(
        "BEGIN;
         DROP INDEX items_key; DROP INDEX items_by_chunk; DROP INDEX items_by_state;
         DROP INDEX chunks_by_state;
         ALTER TABLE items RENAME TO items_2;
         ALTER TABLE chunks RENAME TO chunks_2;
         ALTER TABLE pages RENAME TO pages_2;
         {SCHEMA_1_WORK}
         INSERT INTO pages SELECT j.id, p.page, p.scope FROM pages_2 p JOIN jobs j ON j.number = p.job;
         INSERT INTO chunks SELECT j.id, c.chunk, c.state FROM chunks_2 c JOIN jobs j ON j.number = c.job;
         INSERT INTO items (job_id, seq, id, page, chunk, state, reason, http_status, attempts,
                            updated_at, payload)
           SELECT j.id, i.seq,
                  CASE typeof(i.key) WHEN 'blob' THEN lower(
                      substr(hex(i.key), 1, 8) || '-' || substr(hex(i.key), 9, 4) || '-' ||
                      substr(hex(i.key), 13, 4) || '-' || substr(hex(i.key), 17, 4) || '-' ||
                      substr(hex(i.key), 21, 12)) ELSE i.key END,
                  i.page, i.chunk,
                  CASE i.state WHEN 0 THEN 'pending' WHEN 1 THEN 'sent' WHEN 2 THEN 'done'
                       WHEN 3 THEN 'failed' WHEN 4 THEN 'skipped' WHEN 5 THEN 'unconfirmed' END,
                  i.reason, i.http_status, i.attempts, i.updated_at, i.payload
             FROM items_2 i JOIN jobs j ON j.number = i.job;
         DROP TABLE items_2; DROP TABLE chunks_2; DROP TABLE pages_2;
         DROP INDEX jobs_number;
         ALTER TABLE jobs DROP COLUMN number;
         PRAGMA user_version = 1;
         COMMIT;"
    ))
    .expect("the state file is rewritten as schema 1");
}

fn schema_version(state: &Path) -> i64 {
    rusqlite::Connection::open(state)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_replay_interrupted_under_schema_1_resumes_to_completion_replaying_each_run_once() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "FAILED", "wf", 20, 1, json!({}));
    let args = [
        "runs",
        "replay",
        "--since",
        "1d",
        "--yes",
        "-o",
        "json",
        "--chunk-size",
        "50",
    ];
    let replay = |rate: &str| {
        let mut cmd = sim.bulkops(&state);
        cmd.args(args)
            .args(["--rate", rate])
            .env("BULKOPS_VERIFY_POLL", "200ms")
            .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS);
        cmd
    };
    let first = interrupt_after_progress(&mut replay("20"));
    assert_eq!(first.code, 3, "{}", first.stderr);
    let counts = first.summary()["counts"].clone();
    let pending = counts["pending"].as_u64().unwrap();
    assert!(pending > 0 && pending < 3_000, "{counts}");

    downgrade_to_schema_1(&state);
    assert_eq!(schema_version(&state), 1);
    let resumed = run(&mut replay("1000"));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let summary = resumed.summary();
    assert_eq!(summary["state"], "finished", "{summary}");
    assert_eq!(summary["counts"]["total"], 3_000, "{summary}");
    assert_eq!(summary["counts"]["done"], 3_000, "{summary}");
    let stats = sim.stats();
    assert_eq!(stats["max_replays_per_run"], 1, "a run was replayed twice");
    assert_eq!(stats["replayed_runs"], 3_000);
    assert_eq!(
        schema_version(&state),
        CURRENT_SCHEMA,
        "the file was migrated"
    );
}

/// A replay killed with SIGKILL midway (a chunk may be left `sending`, in doubt), its state file
/// rewritten as schema 2: the resumed job migrates it, reconciles, and replays every run once.
#[test]
fn a_replay_killed_under_schema_2_resumes_to_completion_replaying_each_run_once() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "FAILED", "wf", 20, 1, json!({}));
    let replay = |rate: &str| {
        let mut cmd = sim.bulkops(&state);
        cmd.args(["runs", "replay", "--since", "1d", "--yes", "-o", "json"])
            .args(["--chunk-size", "50", "--rate", rate])
            .env("BULKOPS_VERIFY_POLL", "200ms")
            .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS);
        cmd
    };
    let kill = |pid: u32| {
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        assert!(killed.expect("kill runs").success());
    };
    let first = after_progress(&mut replay("20"), std::time::Duration::from_secs(120), kill);
    assert_ne!(first.code, 0, "{}", first.stderr);
    let replayed_before = sim.stats()["replayed_runs"].as_u64().unwrap();
    assert!(
        replayed_before > 0 && replayed_before < 3_000,
        "killed halfway: {replayed_before}"
    );

    downgrade_to_schema_2(&state);
    assert_eq!(schema_version(&state), 2);
    let resumed = run(&mut replay("1000"));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let summary = resumed.summary();
    assert_eq!(summary["state"], "finished", "{summary}");
    assert_eq!(summary["counts"]["total"], 3_000, "{summary}");
    assert_eq!(summary["counts"]["done"], 3_000, "{summary}");
    let stats = sim.stats();
    assert_eq!(stats["max_replays_per_run"], 1, "a run was replayed twice");
    assert_eq!(stats["replayed_runs"], 3_000);
    assert_eq!(
        schema_version(&state),
        CURRENT_SCHEMA,
        "the file was migrated"
    );
}

#[test]
fn a_job_interrupted_under_schema_2_resumes_with_the_configured_concurrency() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));
    let first = interrupt_after_progress(sim.bulkops(&state).args([
        "runs",
        "cancel",
        "--since",
        "1d",
        "--yes",
        "-o",
        "json",
        "--rate",
        "4",
        "--chunk-size",
        "100",
        "--concurrency",
        "1",
    ]));
    assert_eq!(first.code, 3, "{}", first.stderr);
    let job = first.summary()["job"].as_str().unwrap().to_string();
    downgrade_to_schema_2(&state);
    assert_eq!(schema_version(&state), 2);
    // The window starts at half the concurrency and grows up to it: the configured 4 gives
    // 2 to 4; the job's own 1, which schema 2 did not keep, would give 1.
    let window = crate::control::window_of_resume(&sim, &state, &job, &[]);
    assert!(
        (2.0..=4.0).contains(&window),
        "the default concurrency of 4: its own was not kept ({window})"
    );
    assert_eq!(
        schema_version(&state),
        CURRENT_SCHEMA,
        "the file was migrated"
    );
    let again = crate::control::window_of_resume(&sim, &state, &job, &["--concurrency", "1"]);
    assert_eq!(again, 1.0, "--concurrency given wins");
}
