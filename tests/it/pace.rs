//! How fast bulkops goes against a server that only slows down: the concurrency window that
//! feels latency, and the closed-loop replay that sends the next request once the previous one
//! shows applied.

use serde_json::json;

use crate::support::{run, seed_runs, Sim};

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
