//! `bulkops runs cancel` against the simulator: scale beyond the 20k filter cap, a status
//! filter that changes under the job, faults, `kill -9` and resume, and bad input.

use serde_json::json;

use crate::support::{interrupt_after_progress, kill_at_random, mint_token, run, seed_runs, Sim};

#[test]
fn cancels_50k_runs_over_several_days_and_nothing_else() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 50_000, "QUEUED", "wf-a", 5 * 24, 1, json!({}));
    seed_runs(&sim, 5_000, "QUEUED", "wf-b", 5 * 24, 1, json!({}));
    seed_runs(&sim, 2_000, "QUEUED", "wf-a", 10 * 24, 8 * 24, json!({}));
    seed_runs(&sim, 3_000, "COMPLETED", "wf-a", 5 * 24, 1, json!({}));

    let ran = run(sim
        .bulkops(&state)
        .args([
            "runs",
            "cancel",
            "--since",
            "7d",
            "--workflow",
            "wf-a",
            "--yes",
            "-o",
            "json",
        ])
        .args(["--rate", "500", "--concurrency", "8"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let summary = ran.summary();
    assert_eq!(summary["state"], "finished");
    assert_eq!(summary["counts"]["total"], 50_000);
    assert_eq!(summary["counts"]["done"], 50_000);

    assert_eq!(sim.count("wf-a", "CANCELLED"), 50_000);
    assert_eq!(
        sim.count("wf-a", "QUEUED"),
        2_000,
        "runs before the window were touched"
    );
    assert_eq!(sim.count("wf-a", "COMPLETED"), 3_000);
    assert_eq!(
        sim.count("wf-b", "QUEUED"),
        5_000,
        "another workflow was touched"
    );
    let stats = sim.stats();
    assert_eq!(stats["max_cancels_per_run"], 1);
    // ID chunks of 500 only: 100 cancel calls, never the capped filter form.
    assert_eq!(
        stats["requests"]["POST /api/v1/stable/tenants/{tenant}/tasks/cancel"],
        100
    );

    // The per-item report has one line per run.
    let report = run(sim
        .bulkops(&state)
        .args(["report", summary["job"].as_str().unwrap()]));
    assert_eq!(report.code, 0);
    assert_eq!(report.stdout.lines().count(), 50_001);
    assert!(report
        .stdout
        .lines()
        .skip(1)
        .all(|l| l.contains(",runs cancel,done,")));
}

#[test]
fn status_filter_changing_under_the_job_misses_nothing() {
    // Cancelling QUEUED runs while still enumerating QUEUED runs: with offset paging this skips
    // rows; with frozen disjoint slices it must not. Small slices make enumeration and
    // execution interleave many times.
    let sim = Sim::start_with(&["--cancel-delay-ms", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 20_000, "QUEUED", "wf", 48, 1, json!({}));
    seed_runs(&sim, 1_000, "RUNNING", "wf", 48, 1, json!({}));

    let ran = run(sim
        .bulkops(&state)
        .env("BULKOPS_SLICE_TARGET", "300")
        .args([
            "runs", "cancel", "--since", "3d", "--status", "QUEUED", "--yes", "-o", "json",
        ])
        .args(["--rate", "1000", "--chunk-size", "200"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 20_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 20_000);
    assert_eq!(sim.count("wf", "QUEUED"), 0);
    assert_eq!(
        sim.count("wf", "RUNNING"),
        1_000,
        "RUNNING runs were not asked for"
    );
    let slices = sim.stats()["requests"]
        ["GET /api/v1/stable/tenants/{tenant}/workflow-runs/external-ids"]
        .as_u64()
        .unwrap();
    assert!(
        slices > 20,
        "expected many slices, got {slices} external-ids calls"
    );
}

#[test]
fn dense_runs_after_an_empty_stretch_are_never_read_in_one_oversized_response() {
    // Three empty days grow the slice width, then 3,000 runs fall within two hours. With a slice
    // target of 100 no read may carry more than 200 runs (twice the target); a slicer that reads
    // first and splits afterwards gets all 3,000 in one response.
    let sim = Sim::start_with(&["--cancel-delay-ms", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "QUEUED", "wf", 3, 1, json!({}));

    let ran = run(sim
        .bulkops(&state)
        .env("BULKOPS_SLICE_TARGET", "100")
        .args([
            "runs", "cancel", "--since", "4d", "--status", "QUEUED", "--yes", "-o", "json",
        ])
        .args(["--rate", "10000"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 3_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 3_000);
    let stats = sim.stats();
    assert_eq!(stats["max_cancels_per_run"], 1);
    let largest = stats["max_runs_per_read"].as_u64().unwrap();
    assert!(
        largest <= 200,
        "one read carried {largest} runs, over twice the slice target"
    );
}

#[test]
fn a_rate_of_100000_requests_a_second_is_taken() {
    // The benchmark's rate (docs/benchmarks.md), over the ceiling of 10,000 there was before.
    let sim = Sim::start_with(&["--cancel-delay-ms", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 2_000, "QUEUED", "wf", 2, 1, json!({}));

    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "--since", "1d", "--yes", "-o", "json"])
        .args([
            "--rate",
            "100000",
            "--concurrency",
            "32",
            "--chunk-size",
            "100",
        ]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 2_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 2_000);
    assert_eq!(sim.stats()["max_cancels_per_run"], 1);
}

#[test]
fn several_metadata_pairs_all_must_match() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(
        &sim,
        100,
        "QUEUED",
        "both",
        10,
        1,
        json!({"team": "a", "env": "prod"}),
    );
    seed_runs(
        &sim,
        100,
        "QUEUED",
        "team-only",
        10,
        1,
        json!({"team": "a", "env": "dev"}),
    );
    seed_runs(
        &sim,
        100,
        "QUEUED",
        "env-only",
        10,
        1,
        json!({"team": "b", "env": "prod"}),
    );

    let ran = run(sim
        .bulkops(&state)
        .args([
            "runs",
            "cancel",
            "--since",
            "1d",
            "--metadata",
            "team=a",
            "--metadata",
            "env=prod",
        ])
        .args(["--yes", "-o", "json"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 100);
    assert_eq!(sim.count("both", "CANCELLED"), 100);
    assert_eq!(sim.count("team-only", "QUEUED"), 100);
    assert_eq!(sim.count("env-only", "QUEUED"), 100);

    // One pair goes through external-ids (exact match) and must not widen either.
    let ran = run(sim.bulkops(&state).args([
        "runs",
        "cancel",
        "--since",
        "1d",
        "--metadata",
        "env=dev",
        "--yes",
        "-o",
        "json",
    ]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 100);
    assert_eq!(sim.count("team-only", "CANCELLED"), 100);
    assert_eq!(sim.count("env-only", "QUEUED"), 100);
}

#[test]
fn injected_errors_and_429s_lose_nothing() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 30, 1, json!({}));
    sim.faults(
        json!({"error_rate": 0.3, "rate_limited_rate": 0.1, "retry_after_s": 1, "drop_rate": 0.05}),
    );

    let ran = run(sim.bulkops(&state).env("BULKOPS_MAX_RETRIES", "15").args([
        "runs", "cancel", "--since", "2d", "--yes", "-o", "json", "--rate", "200",
    ]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let summary = ran.summary();
    assert_eq!(summary["counts"]["done"], 10_000, "{summary}");
    sim.faults(json!({}));
    assert_eq!(sim.count("wf", "CANCELLED"), 10_000);
    // Faults were really injected and retried through.
    let calls = sim.stats()["requests"]["POST /api/v1/stable/tenants/{tenant}/tasks/cancel"]
        .as_u64()
        .unwrap();
    assert!(
        calls > 20,
        "only {calls} cancel calls for 20 chunks: were faults injected?"
    );
}

#[test]
fn kill_9_at_random_moments_then_rerun_cancels_everything_once() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 30_000, "QUEUED", "wf", 48, 1, json!({}));
    seed_runs(&sim, 2_000, "QUEUED", "other", 48, 1, json!({}));
    let args = [
        "runs",
        "cancel",
        "--since",
        "3d",
        "--workflow",
        "wf",
        "--yes",
        "-o",
        "json",
    ];
    // 120 cancels of 250 runs at 20 requests/s (6 s, and more for the slices) outlast four
    // runs of at most 1.2 s.
    kill_at_random(&sim, &state, &args, 4, "20");
    let ran = run(sim.bulkops(&state).args(args).args(["--rate", "500"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let summary = ran.summary();
    assert_eq!(summary["counts"]["total"], 30_000);
    assert_eq!(summary["counts"]["done"], 30_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 30_000);
    assert_eq!(sim.count("other", "QUEUED"), 2_000);

    // Every run resumed the same job: one job in the store.
    let jobs = run(sim.bulkops(&state).args(["jobs", "list", "-o", "json"]));
    assert_eq!(jobs.stdout.lines().count(), 1, "{}", jobs.stdout);
    // Once finished, the same command would start a new job, but nothing is left to cancel:
    // it says so and creates none.
    let again = run(sim.bulkops(&state).args(args));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.summary()["state"], "nothing matches");
    let jobs = run(sim.bulkops(&state).args(["jobs", "list", "-o", "json"]));
    assert_eq!(jobs.stdout.lines().count(), 1, "{}", jobs.stdout);
}

#[test]
fn sigterm_stops_cleanly_with_exit_3_and_resumes() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));
    let args = [
        "runs",
        "cancel",
        "--since",
        "1d",
        "--yes",
        "-o",
        "json",
        "--chunk-size",
        "100",
    ];
    let out = interrupt_after_progress(sim.bulkops(&state).args(args).args(["--rate", "20"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let summary = out.summary();
    assert_eq!(summary["state"], "interrupted");
    let done_before = summary["counts"]["total"].as_u64().unwrap()
        - summary["counts"]["pending"].as_u64().unwrap();
    assert!(done_before < 10_000);

    let ran = run(sim.bulkops(&state).args(args).args(["--rate", "500"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 10_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 10_000);
}

#[test]
fn dry_run_counts_and_changes_nothing() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 1_234, "QUEUED", "wf", 20, 1, json!({}));
    let ran = run(sim.bulkops(&dir.path().join("s.db")).args([
        "runs",
        "cancel",
        "--since",
        "1d",
        "--dry-run",
        "-o",
        "json",
    ]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let out = ran.summary();
    assert_eq!(out["matching"], 1_234);
    assert_eq!(out["sample"].as_array().unwrap().len(), 5);
    assert_eq!(sim.mutating_requests(), 0);
}

#[test]
fn bad_input_exits_2_with_one_line_and_sends_nothing() {
    let sim = Sim::start();
    seed_runs(&sim, 100, "QUEUED", "wf", 20, 1, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let now = chrono::Utc::now().timestamp();
    let expired = mint_token(json!({"sub": sim.tenant, "server_url": sim.url, "exp": now - 60}));
    let future = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let base = ["runs", "cancel", "--yes"];
    // (arguments, environment, what the error must name)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], vec![], "--since"),
        (vec!["--status", "QUEUED"], vec![], "--since"),
        (
            vec!["--since", "1d", "--status", "PAUSED"],
            vec![],
            "QUEUED, RUNNING",
        ),
        (vec!["--since", &future], vec![], "future"),
        (
            vec!["--since", "1h", "--until", "2h"],
            vec![],
            "earlier than --until",
        ),
        (vec!["--since", "yesterday"], vec![], "24h"),
        (
            vec!["--since", "1d"],
            vec![("HATCHET_CLIENT_TOKEN", "garbage".into())],
            "token",
        ),
        (
            vec!["--since", "1d"],
            vec![("HATCHET_CLIENT_TOKEN", String::new())],
            "HATCHET_CLIENT_TOKEN",
        ),
        (
            vec!["--since", "1d"],
            vec![("HATCHET_CLIENT_TOKEN", expired)],
            "expired",
        ),
        (
            vec!["--since", "1d"],
            vec![(
                "HATCHET_CLIENT_TENANT_ID",
                "00000000-0000-4000-8000-000000000001".into(),
            )],
            "HATCHET_CLIENT_TENANT_ID",
        ),
        (
            vec!["--since", "1d"],
            vec![("HATCHET_CLIENT_SERVER_URL", "http://127.0.0.1:1".into())],
            "cannot reach",
        ),
        (
            vec!["--since", "1d", "--workflow", "no-such-wf"],
            vec![],
            "unknown workflow",
        ),
        (
            vec!["--since", "1d", "--chunk-size", "0"],
            vec![],
            "1 to 1000",
        ),
        (
            vec!["--since", "1d", "--chunk-size", "1001"],
            vec![],
            "1 to 1000",
        ),
        (vec!["--since", "1d", "--rate", "0"], vec![], "--rate"),
        (
            vec!["--since", "1d", "--metadata", "team"],
            vec![],
            "key=value",
        ),
        (
            vec!["--since", "1d", "--state", "/nonexistent-dir/x/state.db"],
            vec![],
            "--state",
        ),
    ];
    for (args, env, fix) in cases {
        let mut cmd = sim.bulkops(&state);
        cmd.args(base).args(&args);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let ran = run(&mut cmd);
        assert_eq!(ran.code, 2, "{args:?} {env:?}: {}", ran.stderr);
        let lines: Vec<&str> = ran
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {lines:?}");
        assert!(
            lines[0].contains(fix),
            "{args:?}: '{}' does not name '{fix}'",
            lines[0]
        );
        assert!(!ran.stderr.contains(&sim.token), "the token leaked");
    }
    // A token of another tenant: the server does not know that tenant (D15).
    let foreign =
        mint_token(json!({"sub": "00000000-0000-4000-8000-000000000002", "server_url": sim.url}));
    let ran = run(sim
        .bulkops(&state)
        .env("HATCHET_CLIENT_TOKEN", &foreign)
        .args(["runs", "cancel", "--since", "1d", "--yes"]));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("404"), "{}", ran.stderr);
    assert_eq!(sim.mutating_requests(), 0, "bad input reached the server");
    assert_eq!(sim.count("wf", "QUEUED"), 100);
}

#[test]
fn an_aborted_job_is_not_resumed_by_the_same_command() {
    // Cancels take effect at once here, so the count of queued runs below is exact.
    let sim = Sim::start_with(&["--cancel-delay-ms", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    let args = [
        "runs",
        "cancel",
        "--since",
        "1d",
        "--yes",
        "-o",
        "json",
        "--chunk-size",
        "100",
    ];
    let first = interrupt_after_progress(sim.bulkops(&state).args(args).args(["--rate", "10"]));
    assert_eq!(first.code, 3, "{}", first.stderr);
    let first_job = first.summary()["job"].as_str().unwrap().to_string();

    let aborted = run(sim.bulkops(&state).args(["jobs", "abort", &first_job]));
    assert_eq!(aborted.code, 0, "{}", aborted.stderr);
    let again = run(sim.bulkops(&state).args(["jobs", "abort", &first_job]));
    assert_eq!(again.code, 2, "aborting twice is bad input");

    let left = sim.count("wf", "QUEUED");
    assert!(left > 0 && left < 3_000, "{left}");
    let second = run(sim.bulkops(&state).args(args).args(["--rate", "500"]));
    assert_eq!(second.code, 0, "{}", second.stderr);
    let summary = second.summary();
    assert_ne!(
        summary["job"].as_str().unwrap(),
        first_job,
        "the aborted job was resumed"
    );
    assert_eq!(summary["counts"]["done"].as_u64(), Some(left));
    assert_eq!(sim.count("wf", "CANCELLED"), 3_000);
}
