//! `--metrics-addr`: a real cancel serves `GET /metrics` while it runs, its counts rise and
//! agree with what the simulator saw, 429s show as throttled, the token never appears; a bad
//! or taken address is bad input on every command that offers the flag, with nothing sent.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{after_progress, bulkops_bare, error_lines, run, seed_runs, Sim};

/// Requests one scrape may be behind the simulator: those on the wire (at most the four
/// executors and one listing) and one more sent between the scrape and the look at the
/// simulator.
const IN_FLIGHT: f64 = 6.0;

/// The samples of a scrape: `name{labels}` (labels in their rendered order) to value.
pub(crate) fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let value = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
            (series.to_string(), value)
        })
        .collect()
}

/// The sum of every series of `name` whose labels include all of `labels` (`key="value"`).
pub(crate) fn total(samples: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            series.split_once('{').map_or(series.as_str(), |(n, _)| n) == name
                && labels.iter().all(|l| series.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

/// The simulator's count of `/api` requests, all of them or those whose route contains `route`.
fn sim_requests(stats: &Value, route: &str) -> f64 {
    stats["requests"]
        .as_object()
        .expect("requests by route")
        .iter()
        .filter(|(key, _)| key.contains(route))
        .map(|(_, n)| n.as_f64().unwrap_or(0.0))
        .sum()
}

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A scrape and the simulator's stats read just after it.
struct Look {
    metrics: BTreeMap<String, f64>,
    text: String,
    sim: Value,
}

/// A cancel of 1,000 runs in chunks of 50 at 4 requests/s.
const PACED_CANCEL: [&str; 13] = [
    "runs",
    "cancel",
    "--since",
    "1d",
    "-w",
    "wf",
    "--yes",
    "-o",
    "json",
    "--rate",
    "4",
    "--chunk-size",
    "50",
];

/// What `--metrics-addr` served while a command ran, and how it ended.
struct Scraped {
    looks: Vec<Look>,
    out: std::process::Output,
    /// Its stderr, line by line.
    logs: Vec<String>,
}

/// Runs `command` with `--metrics-addr` on a free port, scraping `/metrics` (and reading the
/// simulator's counters just after) every 250 ms until it exits.
fn scraped_while_it_runs(sim: &Sim, command: &mut Command) -> Scraped {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = command
        .args(["--metrics-addr", &addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bulkops starts");
    let stderr = child.stderr.take().expect("stderr");
    let logs = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let url = format!("http://{addr}/metrics");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut looks = Vec::new();
    while child.try_wait().expect("bulkops runs").is_none() {
        assert!(Instant::now() < deadline, "the command did not end");
        if let Ok(answer) = http.get(&url).send() {
            let content_type = answer.headers()[reqwest::header::CONTENT_TYPE].clone();
            assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
            if let Ok(text) = answer.text() {
                looks.push(Look {
                    metrics: samples(&text),
                    text,
                    sim: sim.stats(),
                });
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let out = child.wait_with_output().expect("bulkops exits");
    let logs = logs.join().unwrap_or_default();
    Scraped { looks, out, logs }
}

#[test]
fn a_cancel_serves_metrics_that_rise_while_it_runs_and_agree_with_the_simulator() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 1_000, "QUEUED", "wf", 20, 1, json!({}));
    sim.faults(json!({"rate_limited_rate": 0.2, "retry_after_s": 0}));
    // 20 chunks of 50 at 4 requests/s, and the 429s retried: several seconds of sending.
    let mut cancel = sim.bulkops(&state);
    cancel
        .args(PACED_CANCEL)
        .args(["--log-format", "json"])
        .env("RUST_LOG", "info,bulkops=debug");
    let Scraped { looks, out, logs } = scraped_while_it_runs(&sim, &mut cancel);
    assert_eq!(out.status.code(), Some(0), "{}", logs.join("\n"));
    assert_eq!(sim.count("wf", "CANCELLED"), 1_000);
    assert!(looks.len() >= 4, "only {} scrapes mid-job", looks.len());

    let cancel = "endpoint=\"hatchet.tasks.cancel\"";
    let sent = |look: &Look| {
        let labels = ["operation=\"runs cancel\"", "outcome=\"sent\""];
        total(&look.metrics, "bulkops_items_total", &labels)
    };
    let accepted = |look: &Look| {
        let labels = [cancel, "status=\"ok\""];
        total(&look.metrics, "bulkops_requests_total", &labels)
    };
    for pair in looks.windows(2) {
        assert!(sent(&pair[1]) >= sent(&pair[0]), "items_total fell");
        assert!(
            accepted(&pair[1]) >= accepted(&pair[0]),
            "requests_total fell"
        );
    }
    let (first, last) = (&looks[0], &looks[looks.len() - 1]);
    assert!(sent(last) > sent(first), "items_total did not rise mid-job");
    assert!(
        accepted(last) > accepted(first),
        "requests_total did not rise"
    );

    for look in &looks {
        // The simulator counts a request when it arrives, bulkops when it is answered.
        let ours = total(&look.metrics, "bulkops_requests_total", &[]);
        let seen = sim_requests(&look.sim, "");
        assert!(
            ours <= seen && seen <= ours + IN_FLIGHT,
            "bulkops counted {ours} requests, the simulator {seen}"
        );
        let ours = total(&look.metrics, "bulkops_requests_total", &[cancel]);
        let seen = sim_requests(&look.sim, "/tasks/cancel");
        assert!(
            ours <= seen && seen <= ours + IN_FLIGHT,
            "bulkops counted {ours} cancels, the simulator {seen}"
        );
        // Each accepted chunk of 50 is counted sent once its outcome is in the store.
        let (sent, accepted) = (sent(look), accepted(look));
        assert!(
            sent <= 50.0 * accepted && 50.0 * accepted <= sent + 50.0 * IN_FLIGHT,
            "{sent} items sent for {accepted} accepted cancels"
        );
        assert!(!look.text.contains(&sim.token), "the token in /metrics");
        let signature = sim.token.rsplit('.').next().unwrap();
        assert!(
            !look.text.contains(signature),
            "the token's signature in /metrics"
        );
    }
    // The gauges count while the job runs: not before it (the selection is being looked at),
    // nor once its run ended (then they are back at 0 until the process exits).
    let running: Vec<&Look> = looks
        .iter()
        .filter(|look| total(&look.metrics, "bulkops_rate_per_second", &[]) > 0.0)
        .collect();
    assert!(!running.is_empty(), "no scrape saw the job's rate");
    for look in running {
        let rate = total(&look.metrics, "bulkops_rate_per_second", &[]);
        assert_eq!(rate, 4.0, "{}", look.text);
        let window = total(&look.metrics, "bulkops_window", &[]);
        assert!((1.0..=4.0).contains(&window), "window {window}");
    }
    let throttled = total(&last.metrics, "bulkops_throttled_total", &[cancel]);
    let answered_429 = total(
        &last.metrics,
        "bulkops_requests_total",
        &[cancel, "status=\"429\""],
    );
    assert!(throttled > 0.0, "no 429 among {}", last.text);
    assert_eq!(throttled, answered_429);
    let takeovers = total(&last.metrics, "bulkops_lease_takeovers_total", &[]);
    assert_eq!(takeovers, 0.0, "a new job is no takeover");
    let retries = total(&last.metrics, "bulkops_retries_total", &[cancel]);
    assert!(retries >= throttled, "every 429 is retried: {}", last.text);

    // The log lines of a chunk's work carry the job and the chunk (JSON logs).
    let chunk_lines: Vec<Value> = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["span"]["name"] == "chunk")
        .collect();
    assert!(!chunk_lines.is_empty(), "no log line of a chunk");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("the JSON summary");
    for line in &chunk_lines {
        assert_eq!(line["span"]["job"], summary["job"], "{line}");
        assert!(line["span"]["chunk"].as_u64().is_some(), "{line}");
    }
}

/// Every command that runs a job, with what it needs besides the flag to get as far as
/// listening (an unknown job, a worker nobody checked yet: the address is refused first).
const COMMANDS: [&[&str]; 10] = [
    &["serve", "--listen", "127.0.0.1:0"],
    &["runs", "cancel", "--since", "1d", "--yes"],
    &["runs", "replay", "--since", "1d", "--yes"],
    &["scheduled", "delete", "-w", "wf", "--yes"],
    &[
        "scheduled",
        "reschedule",
        "--shift",
        "1h",
        "-w",
        "wf",
        "--yes",
    ],
    &["crons", "delete", "-w", "wf", "--yes"],
    &["jobs", "resume", "no-such-job"],
    &["jobs", "undo", "no-such-job", "--yes"],
    &[
        "handinger",
        "schedules",
        "cancel",
        "--worker",
        "wrk_1",
        "--yes",
    ],
    &[
        "handinger",
        "schedules",
        "reschedule",
        "--worker",
        "wrk_1",
        "--shift",
        "1h",
        "--yes",
    ],
];

#[test]
fn a_metrics_address_in_use_or_malformed_is_bad_input_on_every_command_and_nothing_is_sent() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    for command in COMMANDS {
        let in_use = run(sim
            .bulkops(&state)
            .args(command)
            .args(["--metrics-addr", &taken]));
        let lines = error_lines(&in_use.stderr);
        assert_eq!(in_use.code, 2, "{command:?}: {}", in_use.stderr);
        assert_eq!(lines.len(), 1, "{command:?}: {}", in_use.stderr);
        assert!(
            lines[0].contains(&format!("cannot serve metrics on {taken}"))
                && lines[0].contains("--metrics-addr"),
            "{command:?}: {}",
            lines[0]
        );
        let malformed = run(sim
            .bulkops(&state)
            .args(command)
            .env("BULKOPS_METRICS_ADDR", "localhost"));
        let lines = error_lines(&malformed.stderr);
        assert_eq!(malformed.code, 2, "{command:?}: {}", malformed.stderr);
        assert_eq!(lines.len(), 1, "{command:?}: {}", malformed.stderr);
        assert!(
            lines[0].contains("metrics address 'localhost'") && lines[0].contains("IP:PORT"),
            "{command:?}: {}",
            lines[0]
        );
    }
    assert_eq!(sim_requests(&sim.stats(), ""), 0.0, "a request was sent");
    assert!(
        !dir.path().join("state-reports").exists(),
        "no job ran to its report"
    );
}

#[test]
fn config_show_names_the_metrics_address_and_its_layer() {
    let shown = run(bulkops_bare()
        .args(["config", "show", "-o", "json"])
        .env("BULKOPS_METRICS_ADDR", "0.0.0.0:9090"));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    let setting = shown["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "metrics_addr")
        .cloned()
        .expect("metrics_addr is shown");
    assert_eq!(setting["value"], "0.0.0.0:9090");
    assert_eq!(setting["source"], "env");
}

#[test]
fn resuming_a_job_whose_process_was_killed_counts_one_lease_takeover() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 1_000, "QUEUED", "wf", 20, 1, json!({}));
    let killed = after_progress(
        sim.bulkops(&state).args(PACED_CANCEL),
        Duration::from_secs(60),
        |pid| {
            let status = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            assert!(status.expect("kill runs").success());
        },
    );
    assert_ne!(killed.code, 0, "the first run was killed");
    let Scraped { looks, out, logs } =
        scraped_while_it_runs(&sim, sim.bulkops(&state).args(PACED_CANCEL));
    assert_eq!(out.status.code(), Some(0), "{}", logs.join("\n"));
    assert_eq!(sim.count("wf", "CANCELLED"), 1_000);
    let takeovers = |look: &Look| {
        let labels = ["operation=\"runs cancel\""];
        total(&look.metrics, "bulkops_lease_takeovers_total", &labels)
    };
    let last = looks.last().expect("a scrape while the job ran");
    assert_eq!(takeovers(last), 1.0, "{}", last.text);
    assert!(
        logs.iter()
            .any(|l| l.contains("took the job over from a holder that is gone")),
        "the takeover is logged"
    );
}
