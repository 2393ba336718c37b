//! The per-item report of a reschedule carries each row's old and new trigger time.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::support::{run, seed_runs, Sim};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// The simulator's trigger time of every scheduled row, by id.
fn trigger_times(sim: &Sim) -> BTreeMap<String, DateTime<Utc>> {
    sim.dump()["scheduled"]
        .as_array()
        .expect("scheduled rows")
        .iter()
        .map(|r| {
            (
                r["metadata"]["id"].as_str().expect("id").to_string(),
                at(r["triggerAt"].as_str().expect("triggerAt")),
            )
        })
        .collect()
}

/// `report JOB --format json`, one value per line.
fn json_report(sim: &Sim, state: &Path, job: &str) -> Vec<Value> {
    let ran = run(sim.bulkops(state).args(["report", job, "--format", "json"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    ran.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Every one of the 30 rows moved from its time in `from` to its time in `to`.
fn assert_moves(
    rows: &[Value],
    from: &BTreeMap<String, DateTime<Utc>>,
    to: &BTreeMap<String, DateTime<Utc>>,
) {
    assert_eq!(rows.len(), 30);
    for row in rows {
        let id = row["id"].as_str().expect("id");
        assert_eq!(
            at(row["old_trigger_at"].as_str().expect("old")),
            from[id],
            "{row}"
        );
        assert_eq!(
            at(row["new_trigger_at"].as_str().expect("new")),
            to[id],
            "{row}"
        );
    }
}

#[test]
fn a_reschedule_report_has_the_old_and_new_trigger_time_of_every_row_and_its_undo_the_reverse() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    sim.seed(json!({"scheduled": 30, "workflow": "wf"}));
    let before = trigger_times(&sim);

    let ran = run(sim.bulkops(&state).args([
        "scheduled",
        "reschedule",
        "--shift",
        "90m",
        "--workflow",
        "wf",
        "--yes",
        "-o",
        "json",
    ]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let job = ran.summary()["job"].as_str().expect("job").to_string();
    let after = trigger_times(&sim);

    let csv = run(sim.bulkops(&state).args(["report", &job]));
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    let mut lines = csv.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("id,operation,outcome,reason,http_status,attempts,time,old_trigger_at,new_trigger_at")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 30);
    for row in &rows {
        let id = row[0];
        assert_eq!(row[2], "done", "{row:?}");
        assert_eq!(at(row[7]), before[id], "old trigger time of {id}");
        assert_eq!(at(row[8]), after[id], "new trigger time of {id}");
        assert_eq!((at(row[8]) - at(row[7])).num_minutes(), 90);
    }

    assert_moves(&json_report(&sim, &state, &job), &before, &after);

    // The undo moves each row back: from the new time to the old one.
    let undo = run(sim
        .bulkops(&state)
        .args(["jobs", "undo", &job, "--yes", "-o", "json"]));
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    let undo_job = undo.summary()["job"].as_str().expect("job").to_string();
    assert_moves(&json_report(&sim, &state, &undo_job), &after, &before);
    assert_eq!(trigger_times(&sim), before);
}

#[test]
fn reports_of_other_operations_keep_their_columns() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 5, "QUEUED", "wf", 10, 1, json!({}));
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "-s", "1d", "--yes", "-o", "json"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let job = ran.summary()["job"].as_str().expect("job").to_string();
    let csv = run(sim.bulkops(&state).args(["report", &job]));
    assert_eq!(
        csv.stdout.lines().next(),
        Some("id,operation,outcome,reason,http_status,attempts,time")
    );
    let rows = json_report(&sim, &state, &job);
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter().all(|r| r.get("old_trigger_at").is_none()),
        "{rows:?}"
    );
}
