//! The error contract: with `-o json`, an error is one JSON object on stderr with its message,
//! its exit code and a machine-readable cause; without, one `error: ` line.

use serde_json::Value;

use crate::support::{bulkops_bare, run, Sim};

/// The one JSON error object of a run's stderr (whatever else it holds is log lines).
fn json_error(stderr: &str) -> Value {
    let errors: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("exit_code").is_some() && v.get("cause").is_some())
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("error: ")),
        "a text error besides: {stderr}"
    );
    errors.into_iter().next().unwrap()
}

#[test]
fn with_json_output_every_kind_of_error_is_one_object_with_exit_code_and_cause() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");

    let unknown = run(sim
        .bulkops(&state)
        .args(["jobs", "show", "nope", "-o", "json"]));
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    let error = json_error(&unknown.stderr);
    assert_eq!(error["exit_code"], 2);
    assert_eq!(error["cause"], "unknown_job");
    assert!(error["error"].as_str().unwrap().contains("no job 'nope'"));

    // Not parsed at all: the `-o json` is still seen.
    let usage = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "--bogus", "-o", "json"]));
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    assert_eq!(json_error(&usage.stderr)["cause"], "usage");

    let selection = run(sim.bulkops(&state).args([
        "runs", "cancel", "--status", "QUEUED", "--yes", "-o", "json",
    ]));
    assert_eq!(selection.code, 2, "{}", selection.stderr);
    assert_eq!(json_error(&selection.stderr)["cause"], "invalid_selection");

    let token = run(bulkops_bare()
        .arg("--state")
        .arg(&state)
        .args(["runs", "cancel", "--since", "1h", "--yes", "-o", "json"]));
    assert_eq!(token.code, 2, "{}", token.stderr);
    assert_eq!(json_error(&token.stderr)["cause"], "token");
    assert_eq!(sim.mutating_requests(), 0);

    // The same error as text: one line.
    let text = run(sim.bulkops(&state).args(["jobs", "show", "nope"]));
    let lines: Vec<&str> = text.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", text.stderr);
    assert!(
        lines[0].starts_with("error: no job 'nope'"),
        "{}",
        text.stderr
    );
}
