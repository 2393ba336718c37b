//! `jobs watch` from another process while a job runs: it follows the counts, ends when the
//! job ends with the exit code the job's own process ends with, and on Ctrl-C with 0.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    after_progress, bulkops_command, errors, only_job, run, seed_runs, terminate, Ran, Sim,
    SLOW_CANCEL,
};

/// A cancel of 1,000 runs in chunks of 50 at 2 requests/s: about ten seconds of sending, long
/// enough for a watcher to look many times.
const PACED_CANCEL: [&str; 11] = [
    "runs",
    "cancel",
    "--since",
    "1d",
    "--yes",
    "-o",
    "json",
    "--rate",
    "2",
    "--chunk-size",
    "50",
];

fn spawn_watch(state: &Path, job: &str, output: &str) -> Child {
    bulkops_command(state)
        .args(["jobs", "watch", job, "-o", output])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the watcher starts")
}

fn ended(child: Child) -> Ran {
    let out = child.wait_with_output().expect("the watcher exits");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn processed(line: &Value) -> u64 {
    let counts = &line["counts"];
    counts["total"].as_u64().unwrap() - counts["pending"].as_u64().unwrap()
}

#[test]
fn a_watcher_sees_the_counts_rise_and_ends_with_the_job_and_its_exit_code() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 1_000, "QUEUED", "wf", 20, 1, json!({}));

    let mut watchers = Vec::new();
    let mut job = String::new();
    let cancel = after_progress(
        sim.bulkops(&state).args(PACED_CANCEL),
        Duration::from_secs(120),
        |_| {
            job = only_job(&sim, &state);
            watchers.push(spawn_watch(&state, &job, "json"));
            watchers.push(spawn_watch(&state, &job, "text"));
        },
    );
    assert_eq!(cancel.code, 0, "{}", cancel.stderr);
    let text = ended(watchers.pop().unwrap());
    let json = ended(watchers.pop().unwrap());

    assert_eq!(json.code, 0, "{}", json.stderr);
    let lines = json.json_lines();
    let seen: Vec<u64> = lines.iter().map(processed).collect();
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "counts went back: {seen:?}"
    );
    let mut distinct = seen.clone();
    distinct.dedup();
    assert!(distinct.len() >= 3, "the watcher saw no rise: {seen:?}");
    let (last, running) = lines.split_last().unwrap();
    assert!(running
        .iter()
        .all(|l| l["ended"] == false && l["job"] == job.as_str()));
    assert!(
        running.iter().any(|l| l["state"] == "running"),
        "{}",
        json.stdout
    );
    assert_eq!(
        (&last["state"], &last["ended"], &last["exit_code"]),
        (&json!("finished"), &json!(true), &json!(0))
    );
    assert_eq!(last["counts"], cancel.summary()["counts"]);
    assert_eq!(last["counts"]["done"], 1_000);
    assert!(
        lines
            .iter()
            .any(|l| l["items_per_sec"].as_f64().is_some_and(|r| r > 0.0)),
        "no rate in {}",
        json.stdout
    );

    assert_eq!(text.code, 0, "{}", text.stderr);
    let text_lines: Vec<&str> = text.stdout.lines().collect();
    assert!(text_lines.len() >= 2, "{}", text.stdout);
    assert!(
        text_lines
            .iter()
            .all(|l| l.starts_with(&format!("job {job} "))),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains('\x1b'), "no redraw off a terminal");
    assert!(text_lines
        .last()
        .unwrap()
        .ends_with("1,000/1,000 done · 0 sent · 0 pending · ended, exit 0"));
    assert!(text.stdout.contains("/s · ETA"), "{}", text.stdout);

    // A job that already ended: one look, and its exit code.
    let after = run(sim
        .bulkops(&state)
        .args(["jobs", "watch", &job, "-o", "json"]));
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(after.json_lines().len(), 1);
}

#[test]
fn a_watcher_ends_with_3_when_the_job_is_interrupted_and_with_0_on_ctrl_c() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let mut follower = None;
    let cancel = after_progress(
        sim.bulkops(&state).args(SLOW_CANCEL),
        Duration::from_secs(60),
        |pid| {
            let job = only_job(&sim, &state);
            follower = Some(spawn_watch(&state, &job, "json"));
            let stopped = spawn_watch(&state, &job, "text");
            std::thread::sleep(Duration::from_secs(2));
            let interrupted = Command::new("kill")
                .args(["-INT", &stopped.id().to_string()])
                .status();
            assert!(interrupted.expect("kill runs").success());
            let stopped = ended(stopped);
            assert_eq!(
                stopped.code, 0,
                "Ctrl-C ends a watcher with 0: {}",
                stopped.stderr
            );
            assert!(stopped.stdout.contains("running"), "{}", stopped.stdout);
            terminate(pid);
        },
    );
    assert_eq!(cancel.code, 3, "{}", cancel.stderr);
    let follower = ended(follower.unwrap());
    assert_eq!(follower.code, 3, "{}", follower.stderr);
    let lines = follower.json_lines();
    let last = lines.last().unwrap();
    assert_eq!(
        (&last["state"], &last["exit_code"]),
        (&json!("interrupted"), &json!(3))
    );
    assert!(lines[..lines.len() - 1]
        .iter()
        .any(|l| l["state"] == "running"));
}

#[test]
fn watching_a_job_that_does_not_exist_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    for output in ["text", "json"] {
        let refused = run(bulkops_command(&state).args(["jobs", "watch", "nope-1", "-o", output]));
        assert_eq!(refused.code, 2, "{}", refused.stderr);
        assert!(refused.stdout.is_empty(), "{}", refused.stdout);
        let errors = errors(&refused.stderr);
        assert_eq!(errors.len(), 1, "{}", refused.stderr);
        assert!(errors[0].contains("nope-1") && errors[0].contains("bulkops jobs list"));
    }
}
