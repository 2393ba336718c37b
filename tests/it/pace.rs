//! How fast bulkops goes against a server that only slows down: the concurrency window that
//! feels latency, and the closed-loop replay that sends the next request once the previous one
//! shows applied.

use serde_json::json;

use crate::support::{run, seed_runs, Sim, FAST_REPLAYS};

const CANCEL_ROUTE: &str = "POST /api/v1/stable/tenants/{tenant}/tasks/cancel";

#[test]
fn cancel_against_a_server_that_slows_beyond_4_requests_keeps_the_window_below_the_knee() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 6_000, "QUEUED", "wf", 48, 1, json!({}));
    // Never a refusal: 30 ms at up to 4 requests in flight, 30 ms more for each one beyond.
    sim.faults(json!({"latency_ms": 30, "latency_knee": 4, "latency_per_request_ms": 30}));
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "--since", "3d", "--yes", "-o", "json"])
        .args([
            "--rate",
            "10000",
            "--concurrency",
            "16",
            "--chunk-size",
            "20",
        ]));
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 6_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 6_000);
    let stats = sim.stats();
    assert_eq!(stats["requests"][CANCEL_ROUTE], 300);
    let requests: u64 = stats["requests"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|n| n.as_u64())
        .sum();
    let above = stats["requests_above_knee"].as_u64().unwrap();
    // A window of 16 would have nearly every request beyond the knee; the adaptive one crosses
    // it only to find it (and at the start, from half of --concurrency).
    assert!(
        above * 3 < requests,
        "{above} of {requests} requests arrived beyond the knee: {stats}"
    );
}

/// Sizes of the replay requests the simulator saw, in tasks, in order.
fn replay_sizes(stats: &serde_json::Value) -> Vec<u64> {
    stats["replay_request_tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_u64())
        .collect()
}

#[test]
fn replay_against_a_server_that_applies_late_sends_each_request_once_the_last_is_applied() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 300, "FAILED", "wf", 10, 1, json!({}));
    // Each request takes the server 300 ms to apply, under a lock that loses any replay request
    // arriving meanwhile (D3); the floor between requests is far shorter.
    sim.faults(json!({"replay_apply_ms": 300}));
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "replay", "--since", "1d", "--yes", "-o", "json"])
        .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS));
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let summary = ran.summary();
    assert_eq!(summary["counts"]["done"], 300, "{summary}");
    let stats = sim.stats();
    assert_eq!(stats["dropped_replays"], 0, "a request met the busy lock");
    assert_eq!(stats["max_replays_per_run"], 1);
    assert_eq!(stats["replayed_runs"], 300);
    // Nothing lost, so each request may be 25 tasks bigger than the last, up to 100; the 50 runs
    // left of the first chunk of 100 go as one.
    assert_eq!(replay_sizes(&stats), vec![50, 50, 100, 100]);
}

#[test]
fn replay_requests_double_until_a_batch_is_lost_then_grow_by_steps_and_every_run_is_replayed_once()
{
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 300, "FAILED", "wf", 10, 1, json!({}));
    // The server keeps the first 60 tasks of a request and silently loses the rest (D16).
    sim.faults(json!({"replay_batch_tasks": 60}));
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "replay", "--since", "1d", "--yes", "-o", "json"])
        .args(["--verify-timeout", "1s", "--chunk-size", "1000"])
        .env("BULKOPS_VERIFY_POLL", "100ms")
        .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS));
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let summary = ran.summary();
    assert_eq!(summary["counts"]["done"], 300, "{summary}");
    let stats = sim.stats();
    assert_eq!(stats["max_replays_per_run"], 1, "a run was replayed twice");
    assert_eq!(stats["replayed_runs"], 300);
    let sizes = replay_sizes(&stats);
    // A loss shows once the next request is seen applied while runs of the lost one still are
    // not: 50 goes and shows applied, so the size doubles; of 100 the last 40 are lost, which
    // shows at the look after the next 100 (40 more lost) and halves the size: the 50 left of
    // the chunk. The 80 lost are resent: the second 100's loss halves them again (25), then
    // each request applied adds 25 (50, then the 5 left).
    assert_eq!(
        sizes,
        [50, 100, 100, 50, 25, 50, 5],
        "doubles while nothing is lost, halves at a loss, then grows by 25: {sizes:?}"
    );
    assert!(sizes.iter().all(|&n| n <= 100), "{sizes:?}");
    let lost: u64 = sizes.iter().map(|&n| n.saturating_sub(60)).sum();
    assert_eq!(stats["dropped_replays"], lost, "{sizes:?}");
}

const LIST_ROUTE: &str = "GET /api/v1/stable/tenants/{tenant}/workflow-runs";
const REPLAY_ROUTE: &str = "POST /api/v1/stable/tenants/{tenant}/tasks/replay";

#[test]
fn replay_reads_the_runs_once_per_request_to_see_the_last_applied_and_check_the_next() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "FAILED", "wf", 2, 1, json!({}));
    // Applied at once, so the first look after each request sees it; a request's tasks beyond
    // the first 100 would be lost (D16).
    sim.faults(json!({"replay_batch_tasks": 100}));
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "replay", "--since", "3h", "--yes", "-o", "json"])
        .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS));
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 3_000);
    let stats = sim.stats();
    assert_eq!(stats["max_replays_per_run"], 1);
    assert_eq!(stats["replayed_runs"], 3_000);
    assert_eq!(stats["dropped_replays"], 0);
    let replays = stats["requests"][REPLAY_ROUTE].as_u64().unwrap();
    let lists = stats["requests"][LIST_ROUTE].as_u64().unwrap();
    // The look that sees a request applied also reads the runs the next one takes, which go on
    // that read: one re-read per request, besides enumeration's and verification's dozen or so
    // lists; a re-read before each request as well would make it two per request (75 here).
    assert!(
        lists <= replays + 16,
        "{lists} lists for {replays} replays: {stats}"
    );
}

#[test]
fn replay_against_a_server_that_applies_late_and_loses_big_batches_loses_nothing_to_its_lock() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 1_000, "FAILED", "wf", 3, 1, json!({}));
    // Each request takes the server 200 ms to apply under its lock, and of a request only the
    // first 60 tasks are kept (D3, D16): the look polls several times a request, each a page of
    // the runs still FAILED.
    sim.faults(json!({"replay_apply_ms": 200, "replay_batch_tasks": 60}));
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "replay", "--since", "1d", "--yes", "-o", "json"])
        .args(["--verify-timeout", "2s"])
        .env("BULKOPS_VERIFY_POLL", "200ms")
        .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS));
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 1_000);
    let stats = sim.stats();
    assert_eq!(stats["max_replays_per_run"], 1, "a run was replayed twice");
    assert_eq!(stats["replayed_runs"], 1_000);
    let sizes = replay_sizes(&stats);
    // Every loss is a batch beyond the first 60 tasks: none is a request that met the lock.
    let lost: u64 = sizes.iter().map(|&n| n.saturating_sub(60)).sum();
    assert_eq!(stats["dropped_replays"], lost, "{sizes:?}");
    assert_eq!(sizes.iter().sum::<u64>(), 1_000 + lost, "{sizes:?}");
}

const EXTERNAL_IDS_ROUTE: &str = "GET /api/v1/stable/tenants/{tenant}/workflow-runs/external-ids";

#[test]
fn verifying_cancels_a_server_applies_late_lists_a_slice_twice_a_round_not_three_times() {
    // Cancels take effect 2.5 s after they are accepted; verification looks every 200 ms.
    let poll = std::time::Duration::from_millis(200);
    let sim = Sim::start_with(&["--cancel-delay-ms", "2500"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    // Created within a minute, so enumeration reads them as one slice.
    let minutes_ago = |m: i64| (chrono::Utc::now() - chrono::Duration::minutes(m)).to_rfc3339();
    let seeded = sim.seed(json!({
        "runs": 2_000, "status": "QUEUED", "workflow": "wf",
        "created_from": minutes_ago(2), "created_to": minutes_ago(1),
    }));
    assert_eq!(seeded["seeded"], 2_000);
    let started = std::time::Instant::now();
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "--since", "5m", "--yes", "-o", "json"])
        .args(["--rate", "10000", "--chunk-size", "500"])
        .env("BULKOPS_VERIFY_POLL", "200ms"));
    let elapsed = started.elapsed();
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 2_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 2_000);
    let stats = sim.stats();
    let reads = stats["requests"][EXTERNAL_IDS_ROUTE].as_u64().unwrap();
    // The 2,000 runs are one slice. Each round that finds runs not yet CANCELLED reads them
    // QUEUED or RUNNING too, and never looks for COMPLETED or FAILED ones when none is left
    // otherwise: two reads a round, of rounds a poll or more apart, plus enumeration's one.
    // Looking for each finished status in turn made it three a round.
    let rounds_at_most = (elapsed.as_millis() / poll.as_millis()) as u64 + 1;
    assert!(
        reads <= 2 * rounds_at_most + 1,
        "{reads} external-ids reads in at most {rounds_at_most} rounds: {stats}"
    );
}

const DETAILS_ROUTE: &str = "GET /api/v1/stable/workflow-runs/{v1-workflow-run}";

/// Requests the simulator saw, every route.
fn all_requests(stats: &serde_json::Value) -> u64 {
    stats["requests"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|n| n.as_u64())
        .sum()
}

#[test]
fn cancel_against_a_server_that_applies_cancels_slowly_keeps_its_backlog_bounded() {
    let sim = Sim::start_with(&["--cancel-delay-ms", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    const RUNS: u64 = 60_000;
    const APPLY_RATE: u64 = 2_000;
    seed_runs(&sim, RUNS, "QUEUED", "wf", 48, 1, json!({}));
    seed_runs(&sim, 300, "QUEUED", "other", 48, 1, json!({}));
    // Answers in 200 ms however much is sent, and applies 2,000 cancels a second: chunks of 50
    // send 250 runs a second per chunk in flight, so a window above 8 grows the backlog.
    sim.faults(json!({"latency_ms": 200, "cancel_apply_rate": APPLY_RATE}));
    let ran = run(sim
        .bulkops(&state)
        .args([
            "runs", "cancel", "--since", "3d", "-w", "wf", "--yes", "-o", "json",
        ])
        .args([
            "--rate",
            "10000",
            "--concurrency",
            "16",
            "--chunk-size",
            "50",
        ]));
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], RUNS);
    assert_eq!(sim.count("wf", "CANCELLED"), RUNS);
    assert_eq!(
        sim.count("other", "QUEUED"),
        300,
        "a run that was not selected"
    );
    let stats = sim.stats();
    let lag_max = stats["cancel_apply_lag_max_ms"].as_u64().unwrap();
    // A window of 16, which latency alone allows, sends twice what the server applies: the lag
    // grows for as long as the job sends, to half of RUNS / APPLY_RATE (15 s). The window the
    // lag feeds finds the server behind within a few seconds and then keeps the lag bounded
    // whatever the job's size (4.5 s in a run on a 2-core machine; 9 s without it at 40,000).
    assert!(
        lag_max < 1_000 * RUNS / APPLY_RATE / 4,
        "the server's backlog reached a lag of {lag_max} ms: {stats}"
    );
}

#[test]
fn probing_a_server_that_applies_cancels_at_once_costs_a_few_requests_per_1000_runs() {
    let sim = Sim::start_with(&["--cancel-delay-ms", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    const RUNS: u64 = 30_000;
    seed_runs(&sim, RUNS, "QUEUED", "wf", 48, 1, json!({}));
    // A second a chunk, so that the job sends for long enough to probe a few times.
    sim.faults(json!({"latency_ms": 20}));
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "--since", "3d", "--yes", "-o", "json"])
        .args(["--rate", "10000", "--chunk-size", "100"]));
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(sim.count("wf", "CANCELLED"), RUNS);
    let stats = sim.stats();
    let looks = stats["requests"][DETAILS_ROUTE].as_u64().unwrap_or(0);
    assert!(looks > 0, "no probe looked: {stats}");
    let per_1000 = looks as f64 * 1000.0 / RUNS as f64;
    assert!(
        per_1000 <= 3.0,
        "{looks} looks for {RUNS} runs ({per_1000:.1} per 1,000), of {} requests",
        all_requests(&stats)
    );
}
