//! Issue 8, "Tell the truth": what bulkops says about a job whose process is gone, output into
//! a closed pipe, and text from an untrusted server.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{after_progress, interrupt_after_progress, only_job, run, seed_runs, Sim};

/// A cancel of 10,000 runs in chunks of 100 at 0.5 requests/s: minutes long, so it is still
/// running whenever the test looks.
const SLOW_CANCEL: [&str; 11] = [
    "runs",
    "cancel",
    "--since",
    "1d",
    "--yes",
    "-o",
    "json",
    "--rate",
    "0.5",
    "--chunk-size",
    "100",
];

/// The state `jobs list -o json` and `jobs show -o json` give the only job.
fn shown_states(sim: &Sim, state: &Path) -> (String, String) {
    let job = only_job(sim, state);
    let listed = run(sim.bulkops(state).args(["jobs", "list", "-o", "json"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: Value = serde_json::from_str(listed.stdout.trim()).expect("a JSON job line");
    let shown = run(sim
        .bulkops(state)
        .args(["jobs", "show", &job, "-o", "json"]));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let shown: Value = serde_json::from_str(&shown.stdout).expect("a JSON job");
    let state_of = |v: &Value| v["state"].as_str().unwrap_or_default().to_string();
    (state_of(&listed), state_of(&shown))
}

#[test]
fn truth_a_job_whose_process_was_killed_shows_interrupted_and_a_live_one_running() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let mut while_running = (String::new(), String::new());
    let killed = after_progress(
        sim.bulkops(&state).args(SLOW_CANCEL),
        Duration::from_secs(60),
        |pid| {
            while_running = shown_states(&sim, &state);
            let status = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            assert!(status.expect("kill runs").success());
        },
    );
    assert_ne!(killed.code, 0);
    assert_eq!(while_running, ("running".into(), "running".into()));
    assert_eq!(
        shown_states(&sim, &state),
        ("interrupted".into(), "interrupted".into()),
        "no process holds the job any more"
    );
}

#[test]
fn truth_an_orderly_sigterm_releases_the_lease_and_the_job_shows_interrupted() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let stopped = interrupt_after_progress(sim.bulkops(&state).args(SLOW_CANCEL));
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    assert_eq!(
        shown_states(&sim, &state),
        ("interrupted".into(), "interrupted".into())
    );
    let db = rusqlite::Connection::open(&state).expect("the state file opens");
    let owner: Option<String> = db
        .query_row("SELECT owner FROM jobs", [], |r| r.get(0))
        .expect("one job");
    assert_eq!(owner, None, "the lease is released on the way out");
}

/// Runs `cmd` with its stdout a pipe whose read end is closed before it writes anything.
fn run_into_closed_pipe(cmd: &mut Command) -> (i32, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bulkops starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("bulkops exits");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn truth_output_into_a_closed_pipe_ends_quietly_with_exit_0() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    seed_runs(&sim, 10, "QUEUED", "other", 20, 1, json!({}));
    let cancel = ["runs", "cancel", "--since", "1d", "--yes", "--rate", "1000"];
    let ran = run(sim.bulkops(&state).args(cancel).args(["--workflow", "wf"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let job = only_job(&sim, &state);

    // A report of 3,000 rows is far more than one write, so it must meet the closed pipe.
    let commands: Vec<Vec<&str>> = vec![
        vec!["jobs", "list"],
        vec!["jobs", "list", "-o", "json"],
        vec!["jobs", "show", &job],
        vec!["report", &job],
        vec!["report", &job, "--format", "json"],
        vec!["runs", "cancel", "--since", "1d", "--dry-run"],
        // A whole job, whose summary meets the closed pipe at the end.
        vec![
            "runs",
            "cancel",
            "--since",
            "1d",
            "--yes",
            "--workflow",
            "other",
        ],
    ];
    for args in commands {
        let (code, stderr) = run_into_closed_pipe(sim.bulkops(&state).args(&args));
        assert_eq!(code, 0, "{args:?}:\n{stderr}");
        for noise in ["panicked", "Broken pipe", "error:"] {
            assert!(!stderr.contains(noise), "{args:?}:\n{stderr}");
        }
    }
    assert_eq!(sim.count("other", "CANCELLED"), 10);
}
