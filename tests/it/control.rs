//! `jobs pause`, `jobs retune` and `jobs abort` from another process, while a job runs.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{
    after_event, after_progress, only_job, run, seed_runs, terminate, wait_or_kill, Sim,
    FAST_REPLAYS,
};

/// A cancel of 10,000 runs in chunks of 100 at 0.5 requests/s: over 200 s unless something
/// changes it, so a run that ends within `DEADLINE` was changed by the control under test.
const SLOW: [&str; 4] = ["--rate", "0.5", "--chunk-size", "100"];
const DEADLINE: Duration = Duration::from_secs(60);
const ARGS: [&str; 7] = ["runs", "cancel", "--since", "1d", "--yes", "-o", "json"];

fn job_view(sim: &Sim, state: &std::path::Path, job: &str) -> Value {
    let shown = run(sim.bulkops(state).args(["jobs", "show", job, "-o", "json"]));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    serde_json::from_str(&shown.stdout).expect("a JSON job")
}

#[test]
fn retune_changes_the_rate_of_the_running_process() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let ran = after_progress(sim.bulkops(&state).args(ARGS).args(SLOW), DEADLINE, |_| {
        let job = only_job(&sim, &state);
        let retuned = run(sim
            .bulkops(&state)
            .args(["jobs", "retune", &job, "--rate", "1000"]));
        assert_eq!(retuned.code, 0, "{}", retuned.stderr);
    });
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 10_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 10_000);
    assert!(ran.stderr.contains("new rate from `bulkops jobs retune`"));
    let job = only_job(&sim, &state);
    assert_eq!(job_view(&sim, &state, &job)["rate"], 1000.0);

    for bad_rate in ["0", "-5"] {
        let refused = run(sim
            .bulkops(&state)
            .args(["jobs", "retune", &job, "--rate", bad_rate]));
        assert_eq!(refused.code, 2, "{}", refused.stderr);
    }
    let finished = run(sim
        .bulkops(&state)
        .args(["jobs", "retune", &job, "--rate", "5"]));
    assert_eq!(finished.code, 2, "a finished job has no rate to change");
    assert!(finished.stderr.contains("finished"), "{}", finished.stderr);
}

#[test]
fn pause_stops_the_running_process_and_resume_continues_at_the_retuned_rate() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let mut job = String::new();
    let paused = after_progress(sim.bulkops(&state).args(ARGS).args(SLOW), DEADLINE, |_| {
        job = only_job(&sim, &state);
        let pause = run(sim.bulkops(&state).args(["jobs", "pause", &job]));
        assert_eq!(pause.code, 0, "{}", pause.stderr);
    });
    assert_eq!(paused.code, 3, "{}", paused.stderr);
    let summary = paused.summary();
    assert!(
        summary["note"]
            .as_str()
            .unwrap_or_default()
            .contains("paused"),
        "{summary}"
    );
    assert_eq!(job_view(&sim, &state, &job)["state"], "paused");
    let sent = sim.mutating_requests();
    assert!(sim.count("wf", "QUEUED") > 0, "paused before the end");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        sim.mutating_requests(),
        sent,
        "nothing is sent while paused"
    );

    let refused = run(sim.bulkops(&state).args(["jobs", "pause", &job]));
    assert_eq!(refused.code, 2, "only a running job can be paused");

    let retuned = run(sim
        .bulkops(&state)
        .args(["jobs", "retune", &job, "--rate", "1000"]));
    assert_eq!(retuned.code, 0, "{}", retuned.stderr);
    // Resumed without --rate: at 0.5/s the rest would take minutes.
    let resumed = after_progress(
        sim.bulkops(&state)
            .args(["jobs", "resume", &job, "-o", "json"]),
        DEADLINE,
        |_| {},
    );
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.summary()["counts"]["done"], 10_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 10_000);
    assert_eq!(job_view(&sim, &state, &job)["state"], "finished");
}

#[test]
fn abort_stops_the_running_process_and_nothing_more_is_sent() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let mut job = String::new();
    let aborted = after_progress(sim.bulkops(&state).args(ARGS).args(SLOW), DEADLINE, |_| {
        job = only_job(&sim, &state);
        let abort = run(sim.bulkops(&state).args(["jobs", "abort", &job]));
        assert_eq!(abort.code, 0, "{}", abort.stderr);
    });
    assert_eq!(aborted.code, 3, "{}", aborted.stderr);
    assert!(
        aborted.summary()["note"]
            .as_str()
            .unwrap_or_default()
            .contains("aborted"),
        "{}",
        aborted.stdout
    );
    let view = job_view(&sim, &state, &job);
    assert_eq!(view["state"], "aborted");
    assert!(
        view["counts"]["pending"].as_u64().unwrap_or(0) > 0,
        "{view}"
    );
    let sent = sim.mutating_requests();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sim.mutating_requests(), sent);
    let resume = run(sim.bulkops(&state).args(["jobs", "resume", &job]));
    assert_eq!(resume.code, 2, "an aborted job is not resumed");
}

#[test]
fn a_second_process_is_refused_a_running_job_and_a_killed_one_leaves_it_free() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let killed = after_progress(sim.bulkops(&state).args(ARGS).args(SLOW), DEADLINE, |pid| {
        let second = run(sim.bulkops(&state).args(ARGS).args(SLOW));
        assert_eq!(second.code, 2, "{}", second.stderr);
        let errors = crate::support::errors(&second.stderr);
        assert_eq!(errors.len(), 1, "{}", second.stderr);
        assert!(
            errors[0].contains(&format!(":{pid} ")) && errors[0].contains("jobs pause"),
            "{}",
            second.stderr
        );
        let status = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        assert!(status.expect("kill runs").success());
    });
    assert_ne!(killed.code, 0);

    // Its holder is gone: the same command resumes the job at once.
    let resumed = run(sim.bulkops(&state).args(ARGS).args(["--rate", "1000"]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.summary()["counts"]["done"], 10_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 10_000);
    assert_eq!(
        only_job(&sim, &state),
        resumed.summary()["job"].as_str().unwrap()
    );
}

/// A process told to stop while it waits (for its rate limit, or for the replay pacer) must
/// stop at once, not when the wait would have ended.
const PROMPTLY: Duration = Duration::from_secs(8);
const REPLAY_ROUTE: &str = "POST /api/v1/stable/tenants/{tenant}/tasks/replay";

#[test]
fn a_signal_interrupts_a_job_waiting_for_its_rate_limit() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 2_000, "QUEUED", "wf", 20, 1, json!({}));

    // At 0.1 requests/s every request after the first waits 10 s, the start-up's included
    // (the token check, then the first look at the selection): the job's first request goes
    // some 20 s in, and its answer's progress line finds the process waiting 10 s for the next
    // slot (and handling signals), longer than PROMPTLY.
    let listed = |event: &Value| event["event"] == "progress";
    let slow = ["--rate", "0.1", "--chunk-size", "100"];
    let ran = after_event(
        sim.bulkops(&state).args(ARGS).args(slow),
        listed,
        PROMPTLY,
        terminate,
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        ran.summary()["note"]
            .as_str()
            .unwrap_or_default()
            .contains("interrupted"),
        "{}",
        ran.stdout
    );
    let resumed = run(sim.bulkops(&state).args(ARGS).args(["--rate", "1000"]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.summary()["counts"]["done"], 2_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 2_000);
}

#[test]
fn a_signal_during_the_start_up_stops_the_job_with_exit_3_and_nothing_changed() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 2_000, "QUEUED", "wf", 20, 1, json!({}));

    // The start-up's requests (the token check, the first look at the selection) take their
    // slots of the job's rate: at 0.2 requests/s each after the first waits 5 s, so a signal
    // once the first has arrived meets the process before its job has begun.
    let slow = ["--rate", "0.2", "--chunk-size", "100"];
    let child = sim
        .bulkops(&state)
        .args(ARGS)
        .args(slow)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bulkops starts");
    let arrived = || sim.arrivals()["arrivals_ms"].as_array().map_or(0, Vec::len);
    let waiting_since = Instant::now();
    while arrived() == 0 {
        assert!(
            waiting_since.elapsed() < DEADLINE,
            "no request arrived within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    terminate(child.id());
    let ended = wait_or_kill(child, DEADLINE);
    assert_eq!(
        ended.code, 3,
        "a signal during the start-up must stop the job as any stop does\n{}",
        ended.stderr
    );
    assert_eq!(
        sim.mutating_requests(),
        0,
        "nothing may be sent after a stop"
    );
    let resumed = run(sim.bulkops(&state).args(ARGS).args(["--rate", "1000"]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.summary()["counts"]["done"], 2_000);
}

#[test]
fn a_signal_interrupts_a_replay_waiting_for_its_pacer_and_nothing_is_replayed_twice() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 200, "FAILED", "wf", 20, 1, json!({}));
    let replay = [
        "runs", "replay", "--since", "1d", "--yes", "-o", "json", "--rate", "1000",
    ];

    // After the first replay request the next one waits a minute in the pacer.
    let listed = |event: &Value| event["event"] == "progress";
    let ran = after_event(
        sim.bulkops(&state)
            .args(replay)
            .env("BULKOPS_REPLAY_INTERVAL", "60s")
            .env("BULKOPS_VERIFY_POLL", "200ms"),
        listed,
        PROMPTLY,
        |pid| {
            let replayed = || sim.stats()["requests"][REPLAY_ROUTE].as_u64().unwrap_or(0);
            let started = std::time::Instant::now();
            while replayed() == 0 {
                assert!(started.elapsed() < DEADLINE, "no replay request was sent");
                std::thread::sleep(Duration::from_millis(20));
            }
            terminate(pid);
        },
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let resumed = run(sim
        .bulkops(&state)
        .args(replay)
        .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS)
        .env("BULKOPS_VERIFY_POLL", "200ms"));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.summary()["counts"]["done"], 200);
    let stats = sim.stats();
    assert_eq!(stats["max_replays_per_run"], 1, "{stats}");
    assert_eq!(stats["replayed_runs"], 200, "{stats}");
}

/// The adaptive window a run starts with, read from the metrics of `jobs resume JOB` (`extra`
/// its flags) once its first chunks are done; then the run is stopped (exit 3).
pub(crate) fn window_of_resume(
    sim: &Sim,
    state: &std::path::Path,
    job: &str,
    extra: &[&str],
) -> f64 {
    let metrics = format!("127.0.0.1:{}", crate::metrics::free_port());
    let mut window = None;
    let mut resume = sim.bulkops(state);
    resume
        .args([
            "jobs",
            "resume",
            job,
            "-o",
            "json",
            "--metrics-addr",
            &metrics,
        ])
        .args(extra);
    let ran = after_progress(&mut resume, DEADLINE, |pid| {
        let scraped = reqwest::blocking::get(format!("http://{metrics}/metrics"))
            .and_then(|r| r.text())
            .expect("the metrics address answers");
        let samples = crate::metrics::samples(&scraped);
        window = Some(crate::metrics::total(&samples, "bulkops_window", &[]));
        terminate(pid);
    });
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    window.expect("a scrape")
}

#[test]
fn a_resumed_job_keeps_the_concurrency_it_was_created_with_unless_told_another() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));
    // Created with one chunk in flight at most, stopped after its first chunks.
    let created = after_progress(
        sim.bulkops(&state).args(ARGS).args([
            "--rate",
            "4",
            "--chunk-size",
            "100",
            "--concurrency",
            "1",
        ]),
        DEADLINE,
        terminate,
    );
    assert_eq!(created.code, 3, "{}", created.stderr);
    let job = only_job(&sim, &state);
    // A window starts at half the concurrency, at least 1, and grows by clean chunks up to the
    // concurrency: the job's own 1 holds it at 1, where the default 4 starts it at 2.
    assert_eq!(
        window_of_resume(&sim, &state, &job, &[]),
        1.0,
        "the job's own concurrency"
    );
    // 16 starts it at 8, above all the default 4 allows.
    assert!(
        window_of_resume(&sim, &state, &job, &["--concurrency", "16"]) >= 8.0,
        "--concurrency given wins"
    );
    assert_eq!(
        window_of_resume(&sim, &state, &job, &[]),
        1.0,
        "and does not stay"
    );
}

#[test]
fn retune_changes_the_concurrency_of_the_running_process_and_not_of_a_replay() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));
    seed_runs(&sim, 10, "FAILED", "other", 20, 1, json!({}));
    let metrics = format!("127.0.0.1:{}", crate::metrics::free_port());
    let window = || {
        let scraped = reqwest::blocking::get(format!("http://{metrics}/metrics"))
            .and_then(|r| r.text())
            .expect("the metrics address answers");
        crate::metrics::total(&crate::metrics::samples(&scraped), "bulkops_window", &[])
    };
    let mut widest = 0.0;
    let ran = after_progress(
        sim.bulkops(&state)
            .args(ARGS)
            .args(["--rate", "20", "--chunk-size", "100", "--concurrency", "1"])
            .args(["--metrics-addr", &metrics]),
        DEADLINE,
        |pid| {
            assert_eq!(window(), 1.0, "one chunk at a time as started");
            let job = only_job(&sim, &state);
            let retuned = run(sim.bulkops(&state).args([
                "jobs",
                "retune",
                &job,
                "--concurrency",
                "6",
                "-o",
                "json",
            ]));
            assert_eq!(retuned.code, 0, "{}", retuned.stderr);
            assert_eq!(retuned.summary(), json!({"job": job, "concurrency": 6}));
            // A window grows by a chunk per window's worth of clean chunks: past 1 only if 6
            // is its bound now.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while widest < 2.0 && std::time::Instant::now() < deadline {
                widest = window();
                std::thread::sleep(Duration::from_millis(100));
            }
            terminate(pid);
        },
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        widest >= 2.0,
        "the window stayed at {widest}: {}",
        ran.stderr
    );
    assert!(ran
        .stderr
        .contains("new concurrency from `bulkops jobs retune`"));
    let job = ran.summary()["job"].as_str().unwrap().to_string();
    assert_eq!(job_view(&sim, &state, &job)["state"], "interrupted");

    // A replay sends one request at a time: refused, naming the fix.
    let replay = after_event(
        sim.bulkops(&state)
            .args([
                "runs", "replay", "--since", "1d", "-w", "other", "--yes", "-o", "json",
            ])
            .args(["--rate", "0.2"]),
        |event| event.get("processed").is_some(),
        DEADLINE,
        |pid| {
            let replay = run(sim.bulkops(&state).args(["jobs", "list", "-o", "json"]));
            let job = replay
                .json_lines()
                .into_iter()
                .find(|j| j["operation"] == "runs replay")
                .expect("the replay job");
            let refused = run(sim.bulkops(&state).args([
                "jobs",
                "retune",
                job["job"].as_str().unwrap(),
                "--concurrency",
                "2",
            ]));
            assert_eq!(refused.code, 2, "{}", refused.stderr);
            assert!(
                refused
                    .stderr
                    .contains("sends one request at a time: drop --concurrency"),
                "{}",
                refused.stderr
            );
            terminate(pid);
        },
    );
    assert_eq!(replay.code, 3, "{}", replay.stderr);
}
