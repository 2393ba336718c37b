//! One output contract: every command that prints honours `-o`. With `-o json` each stdout line
//! is a JSON object (a listing is JSON lines, one object per item); with `-o text` none is.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    after_progress, interrupt_after_progress, only_job, run, seed_runs, HandingerSim, Ran, Sim,
    Simulated,
};

const SLOW_RUNS: u64 = 600;

/// What a command printed, and how many stdout lines its items make (`None`: not a listing).
struct Printed {
    command: String,
    ran: Ran,
    code: i32,
    items: Option<usize>,
}

/// `args` with `-o mode` against `sim` and `state`.
fn printed(
    sim: &impl Simulated,
    state: &Path,
    mode: &str,
    args: &[&str],
    code: i32,
    items: Option<usize>,
) -> Printed {
    let ran = run(sim
        .bulkops(state)
        .args(args)
        .args(["-o", mode])
        .env("BULKOPS_VERIFY_POLL", "200ms"));
    Printed {
        command: args.join(" "),
        ran,
        code,
        items,
    }
}

/// A cancel of `SLOW_RUNS` that runs for 30 s (10 runs a request, 2 requests/s) unless
/// something stops it.
fn slow_cancel<'a>(workflow: &'a str, mode: &'a str) -> Vec<&'a str> {
    vec![
        "runs",
        "cancel",
        "-s",
        "1d",
        "-w",
        workflow,
        "--yes",
        "--rate",
        "2",
        "--chunk-size",
        "10",
        "-o",
        mode,
    ]
}

/// Every printing command once, each with `-o mode`, on states and workflows of that mode alone.
fn every_printing_command(
    sim: &Sim,
    handinger: &HandingerSim,
    dir: &Path,
    mode: &str,
) -> Vec<Printed> {
    let state = dir.join(format!("{mode}.db"));
    let (wf, slow, gone) = (
        format!("wf-{mode}"),
        format!("slow-{mode}"),
        format!("gone-{mode}"),
    );
    seed_runs(sim, 300, "QUEUED", &wf, 20, 1, json!({}));
    for workflow in [&slow, &gone] {
        seed_runs(sim, SLOW_RUNS, "QUEUED", workflow, 20, 1, json!({}));
    }
    let mut all = vec![
        printed(sim, &state, mode, &["--version"], 0, None),
        printed(sim, &state, mode, &["config", "show"], 0, None),
    ];
    // A dry run, a selection that matches nothing, and a job that runs to its end.
    for how in [
        &["--dry-run"][..],
        &["--status", "FAILED", "--yes"],
        &["--yes", "--rate", "1000"],
    ] {
        let args = [&["runs", "cancel", "-s", "1d", "-w", wf.as_str()][..], how].concat();
        all.push(printed(sim, &state, mode, &args, 0, None));
    }
    let job = only_job(sim, &state);
    for (args, items) in [
        (vec!["jobs", "list"], Some(1)),
        (vec!["jobs", "show", &job], None),
        (vec!["jobs", "watch", &job], None),
        (vec!["jobs", "show", "-w", &job], None),
        (vec!["report", &job], Some(300)),
        (vec!["report", &job, "--failed"], Some(0)),
        (vec!["jobs", "undo", &job, "--yes"], None),
    ] {
        all.push(printed(sim, &state, mode, &args, 0, items));
    }

    // A running job paused from another process: both print.
    let paused_state = dir.join(format!("paused-{mode}.db"));
    let mut pause = None;
    let cancel = after_progress(
        sim.bulkops(&paused_state).args(slow_cancel(&slow, mode)),
        Duration::from_secs(60),
        |_| {
            let job = only_job(sim, &paused_state);
            pause = Some(printed(
                sim,
                &paused_state,
                mode,
                &["jobs", "pause", &job],
                0,
                None,
            ));
        },
    );
    all.extend(pause);
    all.push(Printed {
        command: "runs cancel (paused)".into(),
        ran: cancel,
        code: 3,
        items: None,
    });
    let paused = only_job(sim, &paused_state);
    for args in [
        vec!["jobs", "retune", &paused, "--rate", "1000"],
        vec!["jobs", "resume", &paused],
    ] {
        all.push(printed(sim, &paused_state, mode, &args, 0, None));
    }

    // An interrupted job, aborted.
    let aborted_state = dir.join(format!("aborted-{mode}.db"));
    let stopped =
        interrupt_after_progress(sim.bulkops(&aborted_state).args(slow_cancel(&gone, mode)));
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    let aborted = only_job(sim, &aborted_state);
    all.push(printed(
        sim,
        &aborted_state,
        mode,
        &["jobs", "abort", &aborted],
        0,
        None,
    ));

    let workers = handinger.seed(json!({"workers": 1, "per_worker": 6}));
    let worker = ["--worker", workers[0].as_str()];
    for (args, items) in [
        (
            [&["handinger", "schedules", "list"][..], &worker].concat(),
            Some(6),
        ),
        (
            [
                &["handinger", "schedules", "cancel"][..],
                &worker,
                &["--dry-run"],
            ]
            .concat(),
            None,
        ),
    ] {
        all.push(printed(handinger, &state, mode, &args, 0, items));
    }
    all
}

#[test]
fn every_printing_command_honours_o_json_with_json_lines_and_o_text_without() {
    let sim = Sim::start();
    let handinger = HandingerSim::start();
    let dir = tempfile::tempdir().unwrap();
    for mode in ["json", "text"] {
        for Printed {
            command,
            ran,
            code,
            items,
        } in every_printing_command(&sim, &handinger, dir.path(), mode)
        {
            let context = format!(
                "-o {mode} {command}:\n{}\nstderr:\n{}",
                ran.stdout, ran.stderr
            );
            assert_eq!(ran.code, code, "{context}");
            let lines: Vec<&str> = ran.stdout.lines().collect();
            let objects = lines
                .iter()
                .filter(|line| serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()))
                .count();
            if mode == "json" {
                assert!(
                    !lines.is_empty() || items == Some(0),
                    "nothing printed: {context}"
                );
                assert_eq!(
                    objects,
                    lines.len(),
                    "a line that is no JSON object: {context}"
                );
                if let Some(items) = items {
                    assert_eq!(lines.len(), items, "a JSON line per item: {context}");
                }
            } else {
                assert!(!lines.is_empty(), "nothing printed: {context}");
                let json = lines
                    .iter()
                    .filter(|l| serde_json::from_str::<Value>(l).is_ok());
                assert_eq!(json.count(), 0, "a JSON line in text: {context}");
            }
        }
    }
}

#[test]
fn report_format_wins_over_o_and_o_json_alone_gives_json_lines() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 40, "QUEUED", "wf", 20, 1, json!({}));
    let cancel = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "-s", "1d", "--yes"]));
    assert_eq!(cancel.code, 0, "{}", cancel.stderr);
    let job = only_job(&sim, &state);
    let report = |args: &[&str]| {
        let ran = run(sim.bulkops(&state).args(["report", &job]).args(args));
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
        ran
    };
    let csv_header = "id,operation,outcome,reason,http_status,attempts,time";
    for csv in [report(&[]), report(&["-o", "json", "--format", "csv"])] {
        let lines: Vec<&str> = csv.stdout.lines().collect();
        assert_eq!(lines.first(), Some(&csv_header), "{}", csv.stdout);
        assert_eq!(lines.len(), 41, "{}", csv.stdout);
    }
    for json in [report(&["-o", "json"]), report(&["--format", "json"])] {
        let rows = json.json_lines();
        assert_eq!(rows.len(), 40, "{}", json.stdout);
        assert!(rows
            .iter()
            .all(|r| r["outcome"] == "done" && r["id"].is_string()));
    }
}

#[test]
fn completions_and_the_manual_page_refuse_o_json_rather_than_ignore_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    for args in [&["completions", "bash"][..], &["manpage"]] {
        let ran = run(crate::support::bulkops_command(&state)
            .args(args)
            .args(["-o", "json"]));
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert_eq!(ran.stdout, "", "{args:?}");
        let error: Value = serde_json::from_str(ran.stderr.trim()).expect("one JSON error");
        assert_eq!(error["cause"], "usage", "{error}");
        assert!(
            error["error"].as_str().unwrap().contains("drop -o json"),
            "{error}"
        );
    }
}

#[test]
fn jobs_list_has_a_header_and_columns_as_wide_as_their_widest_value() {
    let sim = Sim::start();
    let handinger = HandingerSim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 20, "QUEUED", "wf", 20, 1, json!({}));
    let cancel = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "-s", "1d", "--yes"]));
    assert_eq!(cancel.code, 0, "{}", cancel.stderr);
    let workers = handinger.seed(json!({"workers": 1, "per_worker": 3, "types": ["scheduled"]}));
    let reschedule = run(handinger.bulkops(&state).args([
        "handinger",
        "schedules",
        "reschedule",
        "--worker",
        &workers[0],
        "--shift",
        "1h",
        "--yes",
        "--job",
        "move-them",
    ]));
    assert_eq!(reschedule.code, 0, "{}", reschedule.stderr);

    let listed = run(sim.bulkops(&state).args(["jobs", "list"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", listed.stdout);
    let header = lines[0];
    assert!(header.starts_with("JOB "), "{header}");
    let headings = ["OPERATION", "STATE", "CREATED (UTC)", "NAME OR SELECTION"];
    let starts: Vec<usize> = headings
        .iter()
        .map(|h| header.find(h).unwrap_or_else(|| panic!("no {h}: {header}")))
        .collect();
    for row in &lines[1..] {
        for (heading, &at) in headings.iter().zip(&starts) {
            let before = &row[..at];
            assert!(
                before.ends_with("  ") && !row[at..].starts_with(' '),
                "{heading} does not start at column {at}:\n{}",
                listed.stdout
            );
        }
        let created = row[starts[2]..].split_whitespace().next().unwrap();
        assert!(
            created.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(created).is_ok(),
            "{created}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("handinger schedules reschedule")
            && l.ends_with("--job move-them")),
        "{}",
        listed.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("runs cancel") && l.contains("status QUEUED or RUNNING")),
        "{}",
        listed.stdout
    );
}

/// `bulkops --help | head -1`: a reader that has seen enough ends the help quietly, exit 0, as
/// every other output does.
#[test]
fn help_into_a_pipe_closed_early_ends_quietly() {
    for args in [
        &["--help"][..],
        &["runs", "cancel", "--help"],
        &["--version"],
    ] {
        let mut child = crate::support::bulkops_bare()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("bulkops starts");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("bulkops exits");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}
