//! Never twice, never wider than asked: two processes on one job, one job from two
//! directories, a run replayed by someone else, an undo run twice, flags that must be honoured.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    after_progress, bulkops_with_default_state, only_job, run, seed_runs, Ran, Sim, StateKind,
    FAST_REPLAYS,
};

fn replay_args() -> Vec<&'static str> {
    vec![
        "runs",
        "replay",
        "--since",
        "1d",
        "--status",
        "FAILED",
        "--verify-timeout",
        "2s",
        "--yes",
        "-o",
        "json",
    ]
}

/// The `error: ` lines of a run's stderr (the rest is JSON log lines).
fn errors(ran: &Ran) -> Vec<String> {
    crate::support::errors(&ran.stderr)
}

fn assert_refused_as_held(ran: &Ran) {
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let errors = errors(ran);
    assert_eq!(errors.len(), 1, "{}", ran.stderr);
    assert!(
        errors[0].starts_with("error: job ") && errors[0].contains(" is being run by process "),
        "not the holder's refusal: {}",
        errors[0]
    );
}

#[test]
fn one_replay_started_twice_at_once_makes_one_job_and_replays_each_run_once() {
    for trial in 0..10u64 {
        let skew = Duration::from_millis(trial * 11);
        let sim = Sim::start_with(&["--replay-delay-ms", "20"]);
        sim.faults(json!({"latency_ms": 300}));
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        seed_runs(&sim, 100, "FAILED", "wf", 10, 1, json!({}));
        let start = || {
            sim.bulkops(&state)
                .args(replay_args())
                .env("BULKOPS_VERIFY_POLL", "100ms")
                .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("bulkops starts")
        };
        let first = start();
        std::thread::sleep(skew);
        let second = start();
        let ran: Vec<Ran> = [first, second]
            .into_iter()
            .map(|child| {
                let out = child.wait_with_output().expect("bulkops exits");
                Ran {
                    code: out.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                }
            })
            .collect();
        let (winners, losers): (Vec<&Ran>, Vec<&Ran>) = ran.iter().partition(|r| r.code == 0);
        // On PostgreSQL the second stands by to take the job over if the first goes (see
        // replicas::), and ends with it.
        let refused = usize::from(StateKind::of_this_run() == StateKind::Sqlite);
        assert_eq!(
            (winners.len(), losers.len()),
            (2 - refused, refused),
            "trial {trial} ({skew:?} apart): exits {:?}\n{}\n{}",
            ran.iter().map(|r| r.code).collect::<Vec<_>>(),
            ran[0].stderr,
            ran[1].stderr
        );
        if let Some(loser) = losers.first() {
            assert_refused_as_held(loser);
        } else {
            assert!(
                ran.iter()
                    .any(|r| r.stderr.contains("standing by to take it over")),
                "trial {trial}: neither stood by"
            );
        }
        assert_eq!(winners[0].summary()["counts"]["done"], 100);
        only_job(&sim, &state);
        let stats = sim.stats();
        assert_eq!(
            stats["max_replays_per_run"], 1,
            "trial {trial}: a run was replayed twice"
        );
        assert_eq!(stats["replayed_runs"], 100);
    }
}

/// `bulkops` with no `--state`, run from `cwd`, with `XDG_STATE_HOME` set as a user's would be.
fn from_directory(sim: &Sim, cwd: &Path, state_home: &Path) -> Command {
    let mut cmd = bulkops_with_default_state();
    cmd.current_dir(cwd)
        .env("XDG_STATE_HOME", state_home)
        .env("HATCHET_CLIENT_TOKEN", &sim.token);
    cmd
}

// SQLite only (scripts/test.sh skips it on PostgreSQL by name): it is about the default state
// file under XDG_STATE_HOME.
#[test]
fn the_same_replay_from_two_directories_meets_one_job_in_the_default_state() {
    let sim = Sim::start_with(&["--replay-delay-ms", "20"]);
    let home = tempfile::tempdir().unwrap();
    let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    seed_runs(&sim, 1_000, "FAILED", "wf", 10, 1, json!({}));
    let slow = ["--rate", "10"];

    let first = after_progress(
        from_directory(&sim, here.path(), home.path())
            .args(replay_args())
            .args(slow)
            .env("BULKOPS_VERIFY_POLL", "100ms")
            .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS),
        Duration::from_secs(120),
        |_| {
            let second = run(from_directory(&sim, there.path(), home.path())
                .args(replay_args())
                .args(slow));
            assert_refused_as_held(&second);
        },
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let state = home.path().join("bulkops").join("state.db");
    assert!(state.exists(), "the default state is under XDG_STATE_HOME");
    for dir in [here.path(), there.path()] {
        let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
        assert!(left.is_empty(), "a state file in the working directory");
    }
    only_job(&sim, &state);
    assert_eq!(sim.stats()["max_replays_per_run"], 1);
    assert_eq!(sim.stats()["replayed_runs"], 1_000);
}

/// Replays these runs directly, as another tool or another bulkops host would.
fn replay_elsewhere(sim: &Sim, ids: &[String]) {
    let resp = reqwest::blocking::Client::new()
        .post(format!(
            "{}/api/v1/stable/tenants/{}/tasks/replay",
            sim.url, sim.tenant
        ))
        .bearer_auth(&sim.token)
        .json(&json!({ "externalIds": ids }))
        .send()
        .expect("simulator answers");
    assert!(resp.status().is_success(), "{}", resp.status());
}

fn never_replayed(sim: &Sim) -> Vec<String> {
    sim.dump()["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["replays"] == 0)
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

#[test]
fn a_run_replayed_by_someone_else_after_enumeration_is_skipped_and_not_sent() {
    let sim = Sim::start_with(&["--replay-delay-ms", "20"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 200, "FAILED", "wf", 10, 1, json!({}));

    // Requests 3 s apart: the other replay lands between two of this job's requests.
    let mut elsewhere = 0;
    let ran = after_progress(
        sim.bulkops(&state)
            .args(replay_args())
            .env("BULKOPS_VERIFY_POLL", "100ms")
            .env("BULKOPS_REPLAY_INTERVAL", "3s"),
        Duration::from_secs(120),
        |_| {
            let rest = never_replayed(&sim);
            assert!(!rest.is_empty() && rest.len() < 200, "{}", rest.len());
            replay_elsewhere(&sim, &rest);
            elsewhere = rest.len();
        },
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let counts = &ran.summary()["counts"];
    assert_eq!(counts["done"], 200 - elsewhere, "{counts}");
    assert_eq!(counts["skipped"], elsewhere, "{counts}");
    let stats = sim.stats();
    assert_eq!(stats["max_replays_per_run"], 1, "a run was replayed twice");
    assert_eq!(stats["replayed_runs"], 200);
    let job = only_job(&sim, &state);
    let report = run(sim
        .bulkops(&state)
        .args(["report", &job, "--failed", "--format", "json"]));
    let skipped: Vec<Value> = report
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON report line"))
        .collect();
    assert_eq!(skipped.len(), elsewhere, "{}", report.stdout);
    assert!(skipped.iter().all(|r| r["reason"]
        .as_str()
        .unwrap_or("")
        .starts_with("replayed by someone else since this job enumerated it")));
}

fn seed_scheduled(sim: &Sim, n: u64) {
    let seeded = sim.seed(json!({
        "scheduled": n, "workflow": "nightly", "metadata": {"tenant": "old"},
    }));
    assert_eq!(seeded["seeded"].as_u64(), Some(n), "{seeded}");
}

fn scheduled_count(sim: &Sim) -> usize {
    sim.dump()["scheduled"].as_array().expect("scheduled").len()
}

#[test]
fn an_undo_is_done_once_a_second_is_refused_and_existing_twins_are_not_recreated() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_scheduled(&sim, 200);
    let delete = run(sim.bulkops(&state).args([
        "scheduled",
        "delete",
        "--workflow",
        "nightly",
        "--yes",
        "-o",
        "json",
    ]));
    assert_eq!(delete.code, 0, "{}", delete.stderr);
    assert_eq!(scheduled_count(&sim), 0);
    let job = delete.summary()["job"].as_str().unwrap().to_string();

    let undo = || {
        run(sim
            .bulkops(&state)
            .args(["jobs", "undo", &job, "--yes", "-o", "json"]))
    };
    let first = undo();
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.summary()["counts"]["done"], 200);
    assert_eq!(scheduled_count(&sim), 200);

    let before = sim.mutating_requests();
    let second = undo();
    assert_eq!(second.code, 2, "{}", second.stderr);
    let errors = errors(&second);
    assert_eq!(errors.len(), 1, "{}", second.stderr);
    assert!(
        errors[0].contains(&format!("job {job} was already undone by job ")),
        "{}",
        errors[0]
    );
    assert_eq!(
        sim.mutating_requests(),
        before,
        "the refusal sent something"
    );
    assert_eq!(scheduled_count(&sim), 200, "rows were re-created twice");
}

#[test]
fn flags_a_command_does_not_honour_are_not_offered() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let cases: [&[&str]; 8] = [
        &["jobs", "resume", "j", "--dry-run"],
        &["jobs", "resume", "j", "--reason", "x"],
        &["jobs", "resume", "j", "--job", "x"],
        &["jobs", "resume", "j", "--again"],
        &["runs", "cancel", "--since", "1h", "--again"],
        &["runs", "replay", "--since", "1h", "--concurrency", "4"],
        &["crons", "delete", "--workflow", "w", "--chunk-size", "10"],
        &["crons", "delete", "--workflow", "w", "--again"],
    ];
    for args in cases {
        let ran = run(crate::support::bulkops_command(&state).args(args));
        assert_eq!(ran.code, 2, "{args:?} was accepted:\n{}", ran.stderr);
        assert!(
            ran.stderr.contains("unexpected argument"),
            "{args:?}: {}",
            ran.stderr
        );
    }
    assert!(!state.exists(), "a refused command opened the state");
}

#[test]
fn a_metadata_key_with_a_colon_is_refused_before_anything_is_sent() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 30, "QUEUED", "wf", 10, 1, json!({"k": "x:v"}));
    seed_scheduled(&sim, 10);
    let dump = sim.dump();
    let commands: [&[&str]; 3] = [
        &["runs", "cancel", "--since", "1d"],
        &["scheduled", "delete"],
        &["crons", "delete"],
    ];
    for command in commands {
        let ran = run(sim
            .bulkops(&state)
            .args(command)
            .args(["--metadata", "k:x=v", "--yes"]));
        assert_eq!(ran.code, 2, "{command:?}: {}", ran.stderr);
        let errors = errors(&ran);
        assert_eq!(errors.len(), 1, "{}", ran.stderr);
        assert!(errors[0].contains("contains ':'"), "{}", errors[0]);
    }
    assert_eq!(sim.mutating_requests(), 0);
    assert_eq!(sim.dump(), dump, "the simulator's data changed");
    assert_eq!(sim.count("wf", "QUEUED"), 30);
}

#[test]
fn a_named_job_run_again_with_another_selection_is_refused_and_resumes_as_it_was() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 2_000, "QUEUED", "orders", 10, 1, json!({}));
    seed_runs(&sim, 100, "QUEUED", "billing", 10, 1, json!({}));
    let named = |workflow: &str| {
        let mut cmd = sim.bulkops(&state);
        cmd.args([
            "runs", "cancel", "--since", "1d", "--job", "nightly", "--yes",
        ])
        .args(["-o", "json", "--workflow", workflow]);
        cmd
    };
    let stopped = crate::support::interrupt_after_progress(named("orders").args([
        "--rate",
        "5",
        "--chunk-size",
        "100",
    ]));
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);

    let before = sim.mutating_requests();
    let other = run(&mut named("billing"));
    assert_eq!(other.code, 2, "{}", other.stderr);
    let errors = errors(&other);
    assert_eq!(errors.len(), 1, "{}", other.stderr);
    assert!(
        errors[0].contains("is unfinished with another selection"),
        "{}",
        errors[0]
    );
    assert_eq!(
        sim.mutating_requests(),
        before,
        "the refusal sent something"
    );
    assert_eq!(sim.count("billing", "QUEUED"), 100);

    let resumed = run(named("orders").args(["--rate", "1000"]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(sim.count("orders", "CANCELLED"), 2_000);
    assert_eq!(sim.count("billing", "QUEUED"), 100);
}
