//! The Hatchet user's language: workflows by name or id, `-w`/`-s` as the `hatchet` CLI has
//! them, and `HATCHET_CLIENT_NAMESPACE` applied to workflow names as the SDKs do.

use serde_json::{json, Value};

use crate::support::{run, seed_runs, Sim};

/// The simulator's workflow id of `name`.
fn workflow_id(sim: &Sim, name: &str) -> String {
    let list: Value = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/v1/tenants/{}/workflows",
            sim.url, sim.tenant
        ))
        .bearer_auth(&sim.token)
        .send()
        .expect("simulator answers")
        .json()
        .expect("json");
    list["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|w| w["name"] == name)
        .and_then(|w| w["metadata"]["id"].as_str())
        .expect("the workflow")
        .to_string()
}

#[test]
fn workflows_by_namespaced_name_or_by_id_with_the_short_flags() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 30, "QUEUED", "staging_orders", 10, 1, json!({}));
    seed_runs(&sim, 20, "QUEUED", "orders", 10, 1, json!({}));
    seed_runs(&sim, 10, "QUEUED", "billing", 10, 1, json!({}));

    // In the namespace, `orders` is `staging_orders`, as the SDKs register it.
    let namespaced = run(sim
        .bulkops(&state)
        .args([
            "runs", "cancel", "-s", "1d", "-w", "orders", "--yes", "-o", "json",
        ])
        .env("HATCHET_CLIENT_NAMESPACE", "Staging"));
    assert_eq!(namespaced.code, 0, "{}", namespaced.stderr);
    assert_eq!(sim.count("staging_orders", "CANCELLED"), 30);
    assert_eq!(
        sim.count("orders", "QUEUED"),
        20,
        "the bare name was not meant"
    );

    let id = workflow_id(&sim, "billing");
    let by_id = run(sim.bulkops(&state).args([
        "runs", "cancel", "-s", "1d", "-w", &id, "--yes", "-o", "json",
    ]));
    assert_eq!(by_id.code, 0, "{}", by_id.stderr);
    assert_eq!(sim.count("billing", "CANCELLED"), 10);
    assert_eq!(sim.count("orders", "QUEUED"), 20);

    let unknown = run(sim.bulkops(&state).args([
        "runs",
        "cancel",
        "-s",
        "1d",
        "-w",
        "00000000-0000-4000-8000-000000000000",
        "--yes",
    ]));
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("unknown workflow"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn jobs_list_has_a_header_zoned_times_and_tells_jobs_apart_and_show_has_a_text_view() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10, "QUEUED", "orders", 10, 1, json!({}));
    seed_runs(&sim, 10, "QUEUED", "billing", 10, 1, json!({}));
    let cancel = |extra: &[&str]| {
        let ran = run(sim
            .bulkops(&state)
            .args(["runs", "cancel", "-s", "1d", "--yes", "-o", "json"])
            .args(extra));
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        ran.summary()["job"].as_str().unwrap().to_string()
    };
    let by_selection = cancel(&["-w", "orders"]);
    let named = cancel(&["-w", "billing", "--job", "nightly-billing"]);

    let listed = run(sim.bulkops(&state).args(["jobs", "list"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", listed.stdout);
    assert!(lines[0].starts_with("JOB ") && lines[0].contains("CREATED (UTC)"));
    let row = |id: &str| *lines.iter().find(|l| l.starts_with(id)).expect("a row");
    let created = row(&by_selection)
        .split_whitespace()
        .find(|w| w.ends_with('Z') && w.contains('T'))
        .expect("a zoned creation time");
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    assert!(row(&by_selection).contains("workflow orders, status QUEUED or RUNNING (default)"));
    assert!(row(&by_selection).contains("10/10"));
    assert!(row(&named).contains("--job nightly-billing"));

    let shown = run(sim.bulkops(&state).args(["jobs", "show", &by_selection]));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    for field in [
        "job:",
        "operation:",
        "state:",
        "selection:",
        "target:",
        "created:",
        "items:",
    ] {
        assert!(
            shown.stdout.lines().any(|l| l.starts_with(field)),
            "no {field} in\n{}",
            shown.stdout
        );
    }
    assert!(!shown.stdout.trim_start().starts_with('{'), "still JSON");
}
