//! The catalogue of bad input: every case must end with exit 2 and a one-line error, with
//! nothing sent to the server and no job created.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::{
    bulkops_bare, error_lines, mint_token, run, seed_runs, HandingerSim, Ran, Sim,
};

const RUN_ID: &str = "6f1c2d3e-0000-4000-8000-000000000001";

/// One bad invocation: what it is called in a failure message, its arguments, and the
/// environment variables it sets (`None` removes one).
struct Case {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, Option<String>)>,
    /// Whether the case gives the global flags (`--state`, `--log-format`) itself, instead of
    /// the catalogue's.
    bare: bool,
}

fn case(name: &'static str, args: &[&str]) -> Case {
    Case {
        name,
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        bare: false,
    }
}

fn with_env(mut case: Case, key: &'static str, value: &str) -> Case {
    case.env.push((key, Some(value.to_string())));
    case
}

fn without_env(mut case: Case, key: &'static str) -> Case {
    case.env.push((key, None));
    case
}

fn bare(mut case: Case) -> Case {
    case.bare = true;
    case
}

fn cases(dir: &Path, state: &Path, worker: &str) -> Vec<Case> {
    let state = state.display().to_string();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let missing = dir.join("missing.txt").display().to_string();
    let empty_ids = file("empty-ids.txt", "\n# nothing here\n");
    let bad_ids = file("bad-ids.txt", &format!("{RUN_ID}\nnot-a-uuid\n"));
    let bad_json_ids = file("bad-ids.json", &format!("[\"{RUN_ID}\", 7]"));
    let good_ids = file("ids.txt", &format!("{RUN_ID}\n"));
    let unknown_key = file("unknown-key.toml", "rat = 0.01\n");
    let nested_key = file("nested-key.toml", "[limits]\nrate = 1.0\n");
    let not_toml = file("not-toml.toml", "rate = = 1\n[[\n");
    let missing_config = dir.join("missing.toml").display().to_string();
    let rate_config = file("rate.toml", "rate = 0.0\n");

    let c = |name, args: &[&str]| case(name, args);
    let cancel = |name, extra: &[&str]| {
        let mut args = vec!["runs", "cancel", "--since", "1d", "--yes"];
        args.extend_from_slice(extra);
        case(name, &args)
    };
    let replay = |name, extra: &[&str]| {
        let mut args = vec!["runs", "replay", "--since", "1d", "--yes"];
        args.extend_from_slice(extra);
        case(name, &args)
    };
    let sched_delete = |name, extra: &[&str]| {
        let mut args = vec!["scheduled", "delete", "--workflow", "wf", "--yes"];
        args.extend_from_slice(extra);
        case(name, &args)
    };
    let resched = |name, extra: &[&str]| {
        let mut args = vec!["scheduled", "reschedule", "--workflow", "wf", "--yes"];
        args.extend_from_slice(extra);
        case(name, &args)
    };
    let crons = |name, extra: &[&str]| {
        let mut args = vec!["crons", "delete", "--workflow", "wf", "--yes"];
        args.extend_from_slice(extra);
        case(name, &args)
    };
    let junk_workers = file("junk-workers.txt", &format!("{worker}\nnot a worker id\n"));
    let hcancel = |name, extra: &[&str]| {
        let mut args = vec![
            "handinger",
            "schedules",
            "cancel",
            "--worker",
            worker,
            "--yes",
        ];
        args.extend_from_slice(extra);
        case(name, &args)
    };
    let hmove = |name, extra: &[&str]| {
        let mut args = vec![
            "handinger",
            "schedules",
            "reschedule",
            "--worker",
            worker,
            "--yes",
        ];
        args.extend_from_slice(extra);
        case(name, &args)
    };
    let expired = mint_token(json!({
        "sub": "707d0855-80ab-4e1f-a156-f1c4546cbf52",
        "server_url": "http://127.0.0.1:1",
        "exp": 1_000_000_000,
    }));

    vec![
        // --- handinger schedules ---
        without_env(
            hcancel("handinger without HANDINGER_API_KEY", &[]),
            "HANDINGER_API_KEY",
        ),
        with_env(
            hcancel("handinger with a key of spaces", &[]),
            "HANDINGER_API_KEY",
            "two words",
        ),
        with_env(
            hcancel("handinger base url without a scheme", &[]),
            "HANDINGER_BASE_URL",
            "handinger.example.com",
        ),
        with_env(
            hcancel("handinger with a rejected key", &[]),
            "HANDINGER_API_KEY",
            "hk_wrong",
        ),
        hcancel("handinger unknown --type", &["--type", "weekly"]),
        hcancel("handinger unknown --budget", &["--budget", "huge"]),
        hcancel("handinger unknown worker", &["--worker", "wrk_nobody"]),
        c(
            "handinger without a worker",
            &["handinger", "schedules", "cancel", "--yes"],
        ),
        c(
            "handinger workers file with junk",
            &[
                "handinger",
                "schedules",
                "cancel",
                "--workers-file",
                &junk_workers,
                "--yes",
            ],
        ),
        c(
            "handinger missing workers file",
            &["handinger", "schedules", "list", "--workers-file", &missing],
        ),
        hcancel(
            "handinger empty next-run window",
            &["--next-run-after", "+2h", "--next-run-before", "+1h"],
        ),
        hcancel(
            "handinger bare next-run duration",
            &["--next-run-before", "2h"],
        ),
        hcancel("handinger empty ids file", &["--ids-file", &empty_ids]),
        hcancel("handinger cancel offers no --no-verify", &["--no-verify"]),
        hmove("handinger malformed cron", &["--cron", "61 * * * *"]),
        hmove("handinger cron of four fields", &["--cron", "0 3 * *"]),
        hmove("handinger interval of zero", &["--interval", "0"]),
        hmove("handinger --to not a time", &["--to", "tomorrow"]),
        hmove("handinger zero shift", &["--shift", "0s"]),
        hmove("handinger reschedule without a replacement", &[]),
        hmove(
            "handinger two replacements",
            &["--shift", "1h", "--interval", "60"],
        ),
        hmove(
            "handinger reschedule offers no --concurrency",
            &["--shift", "1h", "--concurrency", "4"],
        ),
        // --- runs cancel: selection ---
        cancel("empty status", &["--status", ""]),
        cancel("status of commas only", &["--status", ",,"]),
        cancel(
            "an empty status between two",
            &["--status", "QUEUED,,RUNNING"],
        ),
        cancel("unknown status", &["--status", "BOGUS"]),
        c("runs without --since", &["runs", "cancel", "--yes"]),
        c(
            "runs with filters but no --since",
            &[
                "runs",
                "cancel",
                "--status",
                "QUEUED",
                "--workflow",
                "wf",
                "--yes",
            ],
        ),
        c(
            "since not a time",
            &["runs", "cancel", "--since", "yesterday", "--yes"],
        ),
        c(
            "since negative",
            &["runs", "cancel", "--since=-2d", "--yes"],
        ),
        c(
            "since 99999999d",
            &["runs", "cancel", "--since", "99999999d", "--yes"],
        ),
        c(
            "since beyond any number",
            &[
                "runs",
                "cancel",
                "--since",
                "99999999999999999999999d",
                "--yes",
            ],
        ),
        c(
            "since in the future",
            &["runs", "cancel", "--since", "2999-01-01T00:00:00Z", "--yes"],
        ),
        cancel("until 99999999d", &["--until", "99999999d"]),
        cancel("until not a time", &["--until", "soon"]),
        c(
            "since after until",
            &["runs", "cancel", "--since", "1h", "--until", "2h", "--yes"],
        ),
        cancel("unknown workflow", &["--workflow", "no-such-workflow"]),
        cancel("empty metadata", &["--metadata", ""]),
        cancel("metadata without a key", &["--metadata", "=v"]),
        cancel("metadata without a value", &["--metadata", "k="]),
        cancel("metadata without '='", &["--metadata", "k"]),
        cancel(
            "two values for one metadata key",
            &["--metadata", "k=a", "--metadata", "k=b"],
        ),
        cancel("metadata with ':'", &["--metadata", "a:b=c"]),
        c(
            "ids file missing",
            &["runs", "cancel", "--ids-file", &missing, "--yes"],
        ),
        c(
            "ids file empty",
            &["runs", "cancel", "--ids-file", &empty_ids, "--yes"],
        ),
        c(
            "ids file with a malformed line",
            &["runs", "cancel", "--ids-file", &bad_ids, "--yes"],
        ),
        c(
            "ids file with a malformed JSON item",
            &["runs", "cancel", "--ids-file", &bad_json_ids, "--yes"],
        ),
        cancel("ids file and filters", &["--ids-file", &good_ids]),
        c(
            "unknown flag",
            &["runs", "cancel", "--since", "1d", "--statu", "QUEUED"],
        ),
        // --- runs cancel: execution ---
        cancel("rate 0", &["--rate", "0"]),
        cancel("negative rate", &["--rate=-5"]),
        cancel("rate 1e-300", &["--rate", "1e-300"]),
        cancel("rate below the floor", &["--rate", "0.001"]),
        cancel("rate above the ceiling", &["--rate", "1e9"]),
        cancel("rate just above the ceiling", &["--rate", "1000000.5"]),
        cancel("rate NaN", &["--rate", "NaN"]),
        cancel("rate infinite", &["--rate", "inf"]),
        cancel("rate not a number", &["--rate", "fast"]),
        cancel(
            "metrics address without a port",
            &["--metrics-addr", "127.0.0.1"],
        ),
        cancel(
            "metrics address a host name",
            &["--metrics-addr", "localhost:9090"],
        ),
        replay(
            "replay metrics port out of range",
            &["--metrics-addr", "127.0.0.1:70000"],
        ),
        cancel("concurrency 0", &["--concurrency", "0"]),
        cancel("huge concurrency", &["--concurrency", "100000000"]),
        cancel("concurrency above the bound", &["--concurrency", "65"]),
        cancel("negative concurrency", &["--concurrency=-1"]),
        cancel("chunk size 0", &["--chunk-size", "0"]),
        cancel("chunk size 1001", &["--chunk-size", "1001"]),
        cancel(
            "verify timeout not a duration",
            &["--verify-timeout", "soon"],
        ),
        cancel(
            "verify timeout 99999999d",
            &["--verify-timeout", "99999999d"],
        ),
        cancel("request timeout 0s", &["--request-timeout", "0s"]),
        cancel(
            "request timeout not a duration",
            &["--request-timeout", "x"],
        ),
        bare(cancel(
            "log format unknown",
            &["--state", &state, "--log-format", "xml"],
        )),
        // --- runs replay ---
        replay("replay with an empty status", &["--status", ""]),
        replay("replay with an unknown status", &["--status", "DONE"]),
        c(
            "replay without --since",
            &["runs", "replay", "--status", "FAILED", "--yes"],
        ),
        c(
            "replay since 99999999d",
            &["runs", "replay", "--since", "99999999d", "--yes"],
        ),
        replay("replay until 99999999d", &["--until", "99999999d"]),
        replay("replay chunk size 0", &["--chunk-size", "0"]),
        replay("replay rate 0", &["--rate", "0"]),
        replay("replay huge concurrency", &["--concurrency", "100000000"]),
        replay(
            "replay with two values for a key",
            &["--metadata", "k=a", "--metadata", "k=b"],
        ),
        // --- scheduled delete ---
        c(
            "scheduled delete with no selection",
            &["scheduled", "delete", "--yes"],
        ),
        sched_delete(
            "trigger after later than trigger before",
            &["--trigger-after", "+2h", "--trigger-before", "+1h"],
        ),
        sched_delete(
            "trigger after equal to trigger before",
            &["--trigger-after", "+1h", "--trigger-before", "+1h"],
        ),
        sched_delete(
            "absolute trigger after a relative trigger before",
            &[
                "--trigger-after",
                "2999-01-01T00:00:00Z",
                "--trigger-before",
                "+1h",
            ],
        ),
        sched_delete("bare trigger duration", &["--trigger-after", "2h"]),
        sched_delete("trigger not a time", &["--trigger-before", "soon"]),
        sched_delete(
            "trigger after +99999999d",
            &["--trigger-after", "+99999999d"],
        ),
        sched_delete(
            "trigger before -99999999d",
            &["--trigger-before", "-99999999d"],
        ),
        sched_delete("scheduled since 99999999d", &["--since", "99999999d"]),
        sched_delete("scheduled until 99999999d", &["--until", "99999999d"]),
        sched_delete("scheduled metadata =v", &["--metadata", "=v"]),
        sched_delete(
            "scheduled duplicate metadata key",
            &["--metadata", "k=a", "--metadata", "k=b"],
        ),
        c(
            "scheduled delete of an unknown workflow",
            &[
                "scheduled",
                "delete",
                "--workflow",
                "no-such-workflow",
                "--yes",
            ],
        ),
        sched_delete("scheduled chunk size 1001", &["--chunk-size", "1001"]),
        // --- scheduled reschedule ---
        resched("shift 0s", &["--shift", "0s"]),
        resched("shift 0", &["--shift", "0"]),
        resched("shift -0m", &["--shift=-0m"]),
        resched("shift 99999999d", &["--shift", "99999999d"]),
        resched("shift -99999999d", &["--shift=-99999999d"]),
        resched("shift not a duration", &["--shift", "later"]),
        resched("to not a time", &["--to", "tomorrow"]),
        resched("to in the past", &["--to", "2020-01-01T00:00:00Z"]),
        resched(
            "both --to and --shift",
            &["--to", "2999-01-01T00:00:00Z", "--shift", "1h"],
        ),
        resched("neither --to nor --shift", &[]),
        c(
            "reschedule with no selection",
            &["scheduled", "reschedule", "--shift", "1h", "--yes"],
        ),
        resched(
            "reschedule trigger after +99999999d",
            &["--shift", "1h", "--trigger-after", "+99999999d"],
        ),
        resched(
            "reschedule trigger window empty",
            &[
                "--shift",
                "1h",
                "--trigger-after",
                "+3h",
                "--trigger-before",
                "+1h",
            ],
        ),
        resched("reschedule rate 0", &["--shift", "1h", "--rate", "0"]),
        // --- crons delete ---
        c(
            "crons since 99999999d",
            &["crons", "delete", "--since", "99999999d", "--yes"],
        ),
        crons("crons until 99999999d", &["--until", "99999999d"]),
        c(
            "crons delete with no selection",
            &["crons", "delete", "--yes"],
        ),
        c(
            "crons delete of an unknown workflow",
            &["crons", "delete", "--workflow", "no-such-workflow", "--yes"],
        ),
        crons("crons metadata =x", &["--metadata", "=x"]),
        crons("crons rate 0", &["--rate", "0"]),
        crons("crons huge concurrency", &["--concurrency", "100000000"]),
        // --- settings ---
        bare(cancel("empty --state", &["--state", ""])),
        bare(with_env(
            cancel("empty BULKOPS_STATE", &[]),
            "BULKOPS_STATE",
            "",
        )),
        with_env(
            cancel("unknown BULKOPS_RATEE", &[]),
            "BULKOPS_RATEE",
            "0.01",
        ),
        with_env(
            cancel("unknown BULKOPS_ variable far from any", &[]),
            "BULKOPS_WHATEVER",
            "1",
        ),
        with_env(cancel("BULKOPS_RATE 0", &[]), "BULKOPS_RATE", "0"),
        with_env(
            cancel("BULKOPS_RATE not a number", &[]),
            "BULKOPS_RATE",
            "fast",
        ),
        with_env(
            cancel("BULKOPS_CONCURRENCY huge", &[]),
            "BULKOPS_CONCURRENCY",
            "100000000",
        ),
        with_env(
            cancel("BULKOPS_VERIFY_POLL not a duration", &[]),
            "BULKOPS_VERIFY_POLL",
            "soon",
        ),
        with_env(
            cancel("BULKOPS_REPLAY_INTERVAL 99999999d", &[]),
            "BULKOPS_REPLAY_INTERVAL",
            "99999999d",
        ),
        cancel("unknown key in a config file", &["--config", &unknown_key]),
        cancel("a table in a config file", &["--config", &nested_key]),
        cancel("config file missing", &["--config", &missing_config]),
        cancel("config file not TOML", &["--config", &not_toml]),
        cancel("config file rate 0", &["--config", &rate_config]),
        // --- connection ---
        with_env(
            cancel("malformed token", &[]),
            "HATCHET_CLIENT_TOKEN",
            "not-a-token",
        ),
        with_env(
            cancel("expired token", &[]),
            "HATCHET_CLIENT_TOKEN",
            &expired,
        ),
        without_env(cancel("no token", &[]), "HATCHET_CLIENT_TOKEN"),
        with_env(
            cancel("server URL not a URL", &[]),
            "HATCHET_CLIENT_SERVER_URL",
            "not a url",
        ),
        // --- jobs and report ---
        c("jobs show of an unknown job", &["jobs", "show", "nope"]),
        c("jobs resume of an unknown job", &["jobs", "resume", "nope"]),
        c(
            "jobs resume with concurrency 0",
            &["jobs", "resume", "nope", "--concurrency", "0"],
        ),
        c("jobs pause of an unknown job", &["jobs", "pause", "nope"]),
        c("jobs abort of an unknown job", &["jobs", "abort", "nope"]),
        c("jobs undo of an unknown job", &["jobs", "undo", "nope"]),
        c(
            "jobs retune with rate 0",
            &["jobs", "retune", "nope", "--rate", "0"],
        ),
        c(
            "jobs retune with rate 1e-300",
            &["jobs", "retune", "nope", "--rate", "1e-300"],
        ),
        c(
            "jobs retune with a huge rate",
            &["jobs", "retune", "nope", "--rate", "1e300"],
        ),
        c(
            "jobs retune of an unknown job",
            &["jobs", "retune", "nope", "--rate", "5"],
        ),
        c("jobs retune without --rate", &["jobs", "retune", "nope"]),
        c(
            "jobs retune with concurrency 0",
            &["jobs", "retune", "nope", "--concurrency", "0"],
        ),
        c(
            "jobs list with a missing config",
            &["jobs", "list", "--config", &missing_config],
        ),
        with_env(
            c("jobs list with an unknown variable", &["jobs", "list"]),
            "BULKOPS_STAT",
            "x.db",
        ),
        c("unknown jobs subcommand", &["jobs", "bogus"]),
        c("report of an unknown job", &["report", "nope"]),
        c(
            "report in an unknown format",
            &["report", "nope", "--format", "xml"],
        ),
        c("report without a job", &["report"]),
    ]
}

/// Refusing bad input takes well under a second; a case that runs longer did not refuse it,
/// and is killed so that it cannot hold up the catalogue (a job at a tiny rate waits for ever).
const REFUSED_WITHIN: Duration = Duration::from_secs(20);

fn run_briefly(cmd: &mut Command) -> Ran {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bulkops starts");
    let pid = child.id();
    let (exited_tx, exited_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let overdue = exited_rx.recv_timeout(REFUSED_WITHIN).is_err();
        if overdue {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
    let out = child.wait_with_output().expect("bulkops exits");
    let _ = exited_tx.send(());
    let _ = watchdog.join();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn jobs_in(sim: &Sim, state: &Path) -> String {
    let listed = run(sim.bulkops(state).args(["jobs", "list", "-o", "json"]));
    assert_eq!(listed.code, 0, "jobs list: {}", listed.stderr);
    listed.stdout
}

fn command(sim: &Sim, handinger: &HandingerSim, state: &Path, case: &Case) -> Command {
    let mut cmd = if case.bare {
        let mut cmd = bulkops_bare();
        cmd.env("HATCHET_CLIENT_TOKEN", &sim.token);
        cmd
    } else {
        sim.bulkops(state)
    };
    cmd.env("HANDINGER_API_KEY", &handinger.api_key);
    cmd.env("HANDINGER_BASE_URL", &handinger.url);
    // Every case runs from the catalogue's directory, so a store opened by mistake on a
    // default path lands there, not in the repository.
    cmd.current_dir(state.parent().expect("state dir"));
    cmd.args(&case.args);
    for (key, value) in &case.env {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

#[test]
fn every_bad_input_is_refused_with_one_line_and_nothing_sent() {
    let sim = Sim::start();
    seed_runs(&sim, 50, "QUEUED", "wf", 5, 1, json!({"k": "a"}));
    seed_runs(&sim, 50, "FAILED", "wf", 5, 1, json!({"k": "b"}));
    sim.seed(json!({"scheduled": 20, "workflow": "wf", "metadata": {"k": "a"}}));
    sim.seed(json!({"crons": 5, "workflow": "wf"}));
    let handinger = HandingerSim::start();
    let workers = handinger.seed(json!({"workers": 1, "per_worker": 8}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let catalogue = cases(dir.path(), &state, &workers[0]);
    assert_eq!(jobs_in(&sim, &state), "", "no job before the catalogue");

    let mut names = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for case in &catalogue {
        assert!(names.insert(case.name), "two cases named '{}'", case.name);
        let data = (sim.dump(), handinger.dump());
        let sent = (sim.mutating_requests(), handinger.mutating_requests());
        let ran = run_briefly(&mut command(&sim, &handinger, &state, case));
        let lines = error_lines(&ran.stderr);
        let mut wrong = Vec::new();
        if ran.code != 2 {
            wrong.push(format!("exit code {} (not 2)", ran.code));
        }
        if lines.len() != 1 || !lines[0].starts_with("error: ") || lines[0].len() <= 7 {
            wrong.push(format!("stderr is not one 'error: ...' line: {lines:?}"));
        }
        if (sim.mutating_requests(), handinger.mutating_requests()) != sent {
            wrong.push("a mutating request reached the server".into());
        }
        if (sim.dump(), handinger.dump()) != data {
            wrong.push("the server's data changed".into());
        }
        let jobs = jobs_in(&sim, &state);
        if !jobs.is_empty() {
            wrong.push(format!("a job was created: {}", jobs.trim()));
            // Not left for the next case to resume.
            std::fs::remove_file(&state).unwrap();
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "case '{}' ({}): {}",
                case.name,
                case.args.join(" "),
                wrong.join("; ")
            ));
        }
    }
    assert!(
        catalogue.len() >= 60,
        "the catalogue has {} cases",
        catalogue.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs were not refused cleanly:\n{}",
        failures.len(),
        catalogue.len(),
        failures.join("\n")
    );
}
