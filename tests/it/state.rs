//! Where the state and the reports are: `--state postgres://…` opens the PostgreSQL store,
//! anything else the SQLite file, and `--reports-dir` says where finished jobs' reports go. These
//! run on both stores whatever `BULKOPS_IT_STORE` says (they name the state themselves).

use std::path::Path;

use serde_json::json;

use crate::support::{bulkops_with_default_state, postgres_state, run, seed_runs, Ran, Sim};

const CANCEL: [&str; 8] = [
    "runs", "cancel", "--since", "1d", "--yes", "-o", "json", "--rate",
];

fn cancel(sim: &Sim, state: &str, extra: &[&str], cwd: &Path) -> Ran {
    run(bulkops_with_default_state()
        .current_dir(cwd)
        .env("HATCHET_CLIENT_TOKEN", &sim.token)
        .args(["--state", state])
        .args(extra)
        .args(CANCEL)
        .arg("500"))
}

/// The saved report's path from a finished run's summary (relative to the working directory
/// `cwd` if it is), checked to be a file in `dir`.
fn report_in(ran: &Ran, cwd: &Path, dir: &Path) {
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let summary = ran.summary();
    assert_eq!(summary["state"], "finished", "{summary}");
    let report = cwd.join(summary["report"].as_str().expect("a report path"));
    assert!(report.is_file(), "{}", report.display());
    assert_eq!(
        report.parent().unwrap().canonicalize().unwrap(),
        dir.canonicalize().unwrap()
    );
}

#[test]
fn a_postgres_state_holds_the_job_and_its_reports_go_to_the_working_directory_or_reports_dir() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres_state(&dir.path().join("state"));
    seed_runs(&sim, 300, "QUEUED", "wf", 20, 1, json!({}));
    let ran = cancel(&sim, &url, &[], dir.path());
    // No file to be beside: the default is bulkops-reports in the working directory.
    report_in(&ran, dir.path(), &dir.path().join("bulkops-reports"));
    assert_eq!(sim.count("wf", "CANCELLED"), 300);
    let listed = run(bulkops_with_default_state()
        .args(["--state", &url])
        .args(["jobs", "list", "-o", "json"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.stdout.lines().count(), 1, "{}", listed.stdout);
    assert!(listed.stdout.contains("\"finished\""), "{}", listed.stdout);
    assert!(
        !dir.path().join("state").exists(),
        "no state file beside the URL's stand-in"
    );

    seed_runs(&sim, 100, "QUEUED", "wf2", 20, 1, json!({}));
    let reports = dir.path().join("elsewhere");
    let ran = cancel(
        &sim,
        &url,
        &["--reports-dir", reports.to_str().unwrap()],
        dir.path(),
    );
    report_in(&ran, dir.path(), &reports);
}

#[test]
fn reports_dir_is_honoured_for_a_state_file_from_the_flag_and_the_environment() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let state = state.to_str().unwrap();
    seed_runs(&sim, 100, "QUEUED", "wf", 20, 1, json!({}));
    let flag = dir.path().join("by-flag");
    let ran = cancel(
        &sim,
        state,
        &["--reports-dir", flag.to_str().unwrap()],
        dir.path(),
    );
    report_in(&ran, dir.path(), &flag);

    seed_runs(&sim, 100, "QUEUED", "wf2", 20, 1, json!({}));
    let by_env = dir.path().join("by-env");
    let ran = run(bulkops_with_default_state()
        .current_dir(dir.path())
        .env("HATCHET_CLIENT_TOKEN", &sim.token)
        .env("BULKOPS_REPORTS_DIR", &by_env)
        .args(["--state", state])
        .args(CANCEL)
        .arg("500"));
    report_in(&ran, dir.path(), &by_env);
}

#[test]
fn an_unreachable_postgres_state_is_bad_input_named_without_its_password_and_nothing_is_sent() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 10, "QUEUED", "wf", 20, 1, json!({}));
    let ran = cancel(
        &sim,
        "postgres://bulkops:s3cret-pw@127.0.0.1:1/db",
        &[],
        dir.path(),
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(!ran.stderr.contains("s3cret-pw"), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("cannot use the PostgreSQL state postgres://bulkops@127.0.0.1:1/db"),
        "{}",
        ran.stderr
    );
    assert_eq!(sim.mutating_requests(), 0);
    assert_eq!(sim.count("wf", "QUEUED"), 10);
}
