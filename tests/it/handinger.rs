//! `bulkops handinger schedules ...` as a user runs it: real processes against `handinger-sim`,
//! with faults, dropped connections and `kill -9`, read back through the simulator's counters.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    after_progress, error_lines, kill_at_random, run, HandingerSim, Ran, Simulated,
};

fn workers_file(dir: &Path, workers: &[String]) -> String {
    let path = dir.join("workers.txt");
    let text = format!("# the workers of this test\n{}\n", workers.join("\n"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn schedules(sim: &HandingerSim, state: &Path, args: &[&str]) -> Ran {
    run(sim
        .bulkops(state)
        .args(["handinger", "schedules"])
        .args(args)
        .args(["-o", "json"]))
}

/// Every live schedule of the simulator, with its worker.
pub(crate) fn live(sim: &HandingerSim) -> Vec<(String, Value)> {
    let dump = sim.dump();
    let workers = dump["workers"].as_object().expect("workers").clone();
    workers
        .into_iter()
        .flat_map(|(worker, list)| {
            let list = list["schedules"].as_array().cloned().unwrap_or_default();
            list.into_iter().map(move |s| (worker.clone(), s))
        })
        .collect()
}

#[test]
fn cancel_of_10000_schedules_on_50_workers_under_faults_and_drops_cancels_each_once() {
    let sim = HandingerSim::start();
    let workers = sim.seed(json!({"workers": 50, "per_worker": 200}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let file = workers_file(dir.path(), &workers);
    // 20% of requests fail: 5xx, 429 with a retry delay, and connections dropped after the
    // server acted (the answer lost).
    sim.faults(json!({"error_rate": 0.08, "rate_limited_rate": 0.06, "retry_after_ms": 2, "drop_rate": 0.06}));
    let cancel = || {
        schedules(
            &sim,
            &state,
            &[
                "cancel",
                "--workers-file",
                &file,
                "--yes",
                "--rate",
                "5000",
                "--concurrency",
                "16",
            ],
        )
    };
    // Over 10,000 requests one may fail all its 7 attempts (about 1 run in 10): the job then
    // stops resumably (exit 3), and the same command finishes it, as a user would run it.
    let mut ran = cancel();
    for _ in 0..3 {
        if ran.code != 3 {
            break;
        }
        ran = cancel();
    }
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let summary = ran.summary();
    assert_eq!(summary["counts"]["done"], 10_000, "{summary}");
    assert_eq!(summary["counts"]["total"], 10_000);
    assert!(
        summary["run"]["retries"].as_u64() > Some(0),
        "faults were met"
    );
    let stats = sim.stats();
    assert_eq!(stats["schedules"], 0, "{stats}");
    assert_eq!(stats["cancels"], 10_000, "each schedule cancelled once");
}

#[test]
fn list_prints_what_the_selection_holds_and_changes_nothing() {
    let sim = HandingerSim::start();
    let workers = sim.seed(json!({"workers": 2, "per_worker": 8}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let ran = schedules(
        &sim,
        &state,
        &[
            "list",
            "--worker",
            &workers[1],
            "--type",
            "cron",
            "--type",
            "interval",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let listed = ran.json_lines();
    assert_eq!(listed.len(), 4, "a line per schedule: {}", ran.stdout);
    for row in &listed {
        assert_eq!(row["worker"], workers[1].as_str());
        assert!(["cron", "interval"].contains(&row["type"].as_str().unwrap()));
    }
    let text =
        run(sim
            .bulkops(&state)
            .args(["handinger", "schedules", "list", "--worker", &workers[0]]));
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(text.stdout.lines().count(), 1 + 8 + 1, "{}", text.stdout);
    assert!(text
        .stdout
        .ends_with("8 schedules matching; nothing was changed\n"));
    assert_eq!(sim.mutating_requests(), 0);
}

#[test]
fn reschedule_of_3000_killed_at_random_and_resumed_loses_none_and_creates_none_twice() {
    let sim = HandingerSim::start();
    let workers =
        sim.seed(json!({"workers": 10, "per_worker": 300, "types": ["scheduled", "delayed"]}));
    let originals: Vec<String> = live(&sim)
        .into_iter()
        .map(|(_, s)| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(originals.len(), 3000);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let file = workers_file(dir.path(), &workers);
    let args = [
        "handinger",
        "schedules",
        "reschedule",
        "--workers-file",
        &file,
        "--shift",
        "3h",
        "--yes",
    ];
    kill_at_random(&sim, &state, &args, 3, "150");
    let ran = run(sim
        .bulkops(&state)
        .args(args)
        .args(["--rate", "2000", "-o", "json"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let summary = ran.summary();
    assert_eq!(summary["counts"]["done"], 3000, "{summary}");
    let stats = sim.stats();
    assert_eq!(stats["creates"], 3000, "{stats}");
    assert_eq!(stats["duplicate_creates"], 0, "{stats}");
    assert_eq!(stats["max_creates_per_logical_schedule"], 1, "{stats}");
    assert_eq!(stats["cancels"], 3000, "originals all cancelled: {stats}");
    let now_live = live(&sim);
    assert_eq!(now_live.len(), 3000);
    assert!(now_live
        .iter()
        .all(|(_, s)| !originals.contains(&s["id"].as_str().unwrap().to_string())));
    assert!(now_live.iter().all(|(_, s)| s["type"] == "scheduled"));
}

/// Each live schedule's worker and definition (type, cron, interval), to compare before and after.
fn definitions(sim: &HandingerSim) -> Vec<(String, Value, Value, Value)> {
    live(sim)
        .into_iter()
        .map(|(w, s)| {
            (
                w,
                s["type"].clone(),
                s["cron"].clone(),
                s["intervalSeconds"].clone(),
            )
        })
        .collect()
}

#[test]
fn undo_of_a_reschedule_puts_every_original_definition_back_once() {
    let sim = HandingerSim::start();
    let workers = sim.seed(json!({"workers": 3, "per_worker": 20, "types": ["cron", "interval"]}));
    let before = definitions(&sim);
    assert_eq!(before.len(), 60);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let mut args = vec!["reschedule", "--interval", "7200", "--yes"];
    for w in &workers {
        args.extend(["--worker", w.as_str()]);
    }
    let moved = schedules(&sim, &state, &args);
    assert_eq!(moved.code, 0, "{}", moved.stderr);
    assert_eq!(moved.summary()["counts"]["done"], 60);
    let replaced = live(&sim);
    assert_eq!(replaced.len(), 60);
    assert!(replaced.iter().all(|(_, s)| s["intervalSeconds"] == 7200));
    let job = moved.summary()["job"].as_str().unwrap().to_string();

    let undone = run(sim
        .bulkops(&state)
        .args(["jobs", "undo", &job, "--yes", "-o", "json"]));
    assert_eq!(undone.code, 0, "{}", undone.stderr);
    assert_eq!(undone.summary()["counts"]["done"], 60, "{}", undone.stdout);
    let mut after = definitions(&sim);
    let mut before = before;
    let key = |r: &(String, Value, Value, Value)| format!("{r:?}");
    before.sort_by_key(key);
    after.sort_by_key(key);
    assert_eq!(after, before, "every original's definition is back, once");
    let stats = sim.stats();
    assert_eq!(stats["creates"], 120, "{stats}");
    assert_eq!(stats["duplicate_creates"], 0, "{stats}");

    let again = run(sim.bulkops(&state).args(["jobs", "undo", &job, "--yes"]));
    assert_eq!(
        again.code, 2,
        "a finished undo is not run again: {}",
        again.stderr
    );
    assert_eq!(error_lines(&again.stderr).len(), 1, "{}", again.stderr);
    assert_eq!(sim.stats()["creates"], 120);
}

#[test]
fn jobs_commands_work_on_handinger_jobs() {
    let sim = HandingerSim::start();
    let workers = sim.seed(json!({"workers": 1, "per_worker": 4}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let ran = schedules(&sim, &state, &["cancel", "--worker", &workers[0], "--yes"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let job = ran.summary()["job"].as_str().unwrap().to_string();
    let show = run(sim
        .bulkops(&state)
        .args(["jobs", "show", &job, "-o", "json"]));
    assert_eq!(show.code, 0, "{}", show.stderr);
    let shown: Value = serde_json::from_str(show.stdout.trim()).unwrap();
    assert_eq!(shown["operation"], "handinger schedules cancel");
    assert_eq!(shown["selector"]["workers"][0], workers[0].as_str());
    assert_eq!(shown["target"]["base_url"], format!("{}/", sim.url));
    let report = run(sim.bulkops(&state).args(["report", &job]));
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert_eq!(report.stdout.lines().count(), 1 + 4, "{}", report.stdout);
    assert!(report.stdout.lines().skip(1).all(|l| l.contains(",done,")));
    let listed = run(sim.bulkops(&state).args(["jobs", "list"]));
    assert!(
        listed.stdout.contains(&format!("worker {}", workers[0])),
        "{}",
        listed.stdout
    );
    let undo = run(sim.bulkops(&state).args(["jobs", "undo", &job, "--yes"]));
    assert_eq!(undo.code, 2, "a cancel cannot be undone: {}", undo.stderr);
}

#[test]
fn an_ids_file_cancels_exactly_the_schedules_it_names() {
    let sim = HandingerSim::start();
    let workers = sim.seed(json!({"workers": 1, "per_worker": 6}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let listed = schedules(&sim, &state, &["list", "--worker", &workers[0]]);
    let listed = listed.json_lines();
    let id = |n: usize| listed[n]["id"].as_str().unwrap().to_string();
    let (first, second) = (id(0), id(3));
    let ids = dir.path().join("ids.txt");
    // One bare id, one as a report writes it (worker/schedule).
    std::fs::write(
        &ids,
        format!("# two of six\n{first}\n{}/{second}\n", workers[0]),
    )
    .unwrap();
    let ran = schedules(
        &sim,
        &state,
        &[
            "cancel",
            "--worker",
            &workers[0],
            "--ids-file",
            &ids.display().to_string(),
            "--yes",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["counts"]["done"], 2);
    let left: Vec<String> = live(&sim)
        .into_iter()
        .map(|(_, s)| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left.len(), 4);
    assert!(!left.contains(&first) && !left.contains(&second));
}

#[test]
fn a_handinger_job_pauses_and_resumes_by_id_and_each_schedule_is_cancelled_once() {
    let sim = HandingerSim::start();
    let workers = sim.seed(json!({"workers": 1, "per_worker": 40}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let job_id = || {
        let listed = run(sim.bulkops(&state).args(["jobs", "list", "-o", "json"]));
        let line: Value = serde_json::from_str(listed.stdout.trim()).expect("one job");
        line["job"].as_str().unwrap().to_string()
    };
    let mut slow = sim.bulkops(&state);
    slow.args([
        "handinger",
        "schedules",
        "cancel",
        "--worker",
        &workers[0],
        "--yes",
    ])
    .args(["--rate", "2", "--chunk-size", "5", "--concurrency", "1"]);
    let paused = after_progress(&mut slow, Duration::from_secs(60), |_| {
        let pause = run(sim.bulkops(&state).args(["jobs", "pause", &job_id()]));
        assert_eq!(pause.code, 0, "{}", pause.stderr);
    });
    assert_eq!(paused.code, 3, "a paused job exits 3: {}", paused.stderr);
    let cancelled = sim.stats()["cancels"].as_u64().unwrap();
    assert!(cancelled < 40, "paused before the end: {cancelled}");
    let resumed = run(sim.bulkops(&state).args([
        "jobs",
        "resume",
        &job_id(),
        "--rate",
        "1000",
        "-o",
        "json",
    ]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.summary()["counts"]["done"], 40);
    assert_eq!(sim.stats()["cancels"], 40, "each schedule cancelled once");
    let shown = run(sim.bulkops(&state).args(["jobs", "show", &job_id()]));
    assert!(
        shown.stdout.contains("state:      finished"),
        "{}",
        shown.stdout
    );
}

/// Transient is not failed, for Handinger too: a server that stops answering mid-reschedule
/// (every connection dropped, half of them after the server acted, so creates are in doubt)
/// stops the job with exit 3 and no item failed; the same command once the server is back
/// reconciles the creates in doubt by listing, and creates none twice.
#[test]
fn a_server_gone_mid_reschedule_stops_with_exit_3_and_the_resume_creates_none_twice() {
    let sim = HandingerSim::start();
    let workers = sim.seed(json!({"workers": 10, "per_worker": 40, "types": ["cron"]}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let file = workers_file(dir.path(), &workers);
    let reschedule = || {
        let mut cmd = sim.bulkops(&state);
        cmd.args([
            "handinger",
            "schedules",
            "reschedule",
            "--workers-file",
            &file,
        ])
        .args(["--cron", "0 4 * * *", "--yes", "--rate", "40", "-o", "json"])
        .env("BULKOPS_MAX_RETRIES", "2");
        cmd
    };
    let first = after_progress(&mut reschedule(), Duration::from_secs(120), |_| {
        sim.faults(json!({"drop_rate": 1.0}))
    });
    assert_eq!(first.code, 3, "{}", first.stderr);
    let summary = first.summary();
    assert_eq!(summary["counts"]["failed"], 0, "{summary}");
    assert_eq!(summary["state"], "interrupted", "{summary}");
    assert!(
        summary["counts"]["pending"].as_u64() > Some(0),
        "stopped before the end: {summary}"
    );
    assert!(
        summary["note"]
            .as_str()
            .is_some_and(|n| n.contains("stopped answering")),
        "{summary}"
    );

    sim.faults(json!({}));
    let resumed = run(&mut reschedule());
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(
        resumed.summary()["counts"]["done"],
        400,
        "{}",
        resumed.stdout
    );
    let stats = sim.stats();
    assert_eq!(stats["duplicate_creates"], 0, "{stats}");
    assert_eq!(stats["max_creates_per_logical_schedule"], 1, "{stats}");
    assert_eq!(stats["creates"], 400, "{stats}");
    let now_live = live(&sim);
    assert_eq!(
        now_live.len(),
        400,
        "originals all cancelled, one replacement each"
    );
    assert!(now_live.iter().all(|(_, s)| s["cron"] == "0 4 * * *"));
}
