//! Transient is not failed: a server that stops answering stops the job resumably, and an
//! attempt whose answer was lost is confirmed on the server, never reported failed.

use std::time::Duration;

use serde_json::json;

use crate::support::{after_progress, only_job, run, seed_runs, Sim};

#[test]
fn a_server_gone_mid_job_stops_it_with_exit_3_and_fails_no_item() {
    let mut sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 20_000, "QUEUED", "wf", 20, 1, json!({}));
    let url = sim.url.trim_end_matches('/').to_string();
    let mut cmd = sim.bulkops(&state);
    cmd.args(["runs", "cancel", "--since", "1d", "--yes", "-o", "json"])
        .args(["--rate", "20", "--chunk-size", "100"])
        .env("BULKOPS_MAX_RETRIES", "2");
    let ran = after_progress(&mut cmd, Duration::from_secs(120), |_| sim.stop());

    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let summary = ran.summary();
    let counts = &summary["counts"];
    assert_eq!(counts["failed"], 0, "{summary}");
    assert!(counts["pending"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["state"], "interrupted", "{summary}");
    let note = summary["note"].as_str().unwrap_or_default();
    assert!(
        note.contains(&format!("the server at {url}")) && note.contains("stopped answering"),
        "{summary}"
    );
    let logged = ran
        .stderr
        .lines()
        .any(|l| l.contains(&format!("the server at {url}")) && l.contains("stopped answering"));
    assert!(logged, "no log line names the server:\n{}", ran.stderr);
}

#[test]
fn answers_lost_under_faults_are_confirmed_on_the_server_not_failed() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    let cancel = || {
        let mut cmd = sim.bulkops(&state);
        cmd.args(["runs", "cancel", "--since", "1d", "--yes", "-o", "json"])
            .args(["--rate", "1000", "--chunk-size", "100"])
            .env("BULKOPS_VERIFY_POLL", "200ms");
        cmd
    };
    // One retry only, under faults that drop answers after applying the cancel and fail
    // requests: many chunks end on an ambiguous attempt.
    sim.faults(json!({"error_rate": 0.4, "rate_limited_rate": 0.2, "drop_rate": 0.1}));
    let first = run(cancel().env("BULKOPS_MAX_RETRIES", "1"));
    assert_ne!(first.code, 2, "{}", first.stderr);
    sim.faults(json!({}));
    // What the first run left (stopped resumably, or awaiting confirmation) ends without faults.
    let mut last = first;
    for _ in 0..5 {
        if last.code != 3 {
            break;
        }
        last = run(&mut cancel());
    }
    let job = only_job(&sim, &state);
    let shown = run(sim
        .bulkops(&state)
        .args(["jobs", "show", &job, "-o", "json"]));
    let shown: serde_json::Value = serde_json::from_str(shown.stdout.trim()).expect("job JSON");
    let counts = &shown["counts"];
    assert_eq!(counts["failed"], 0, "items reported failed: {counts}");
    assert_eq!(counts["done"], 3_000, "{counts}\n{}", last.stderr);
    assert_eq!(sim.count("wf", "CANCELLED"), 3_000);
}
