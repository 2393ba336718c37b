//! Issue 8, "Tell the truth", points 9 to 12: a confirmation that counts first and says the
//! whole selection, refusals off a terminal, server pressure in the log and in the summary, and
//! progress a person can act on.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{
    after_event, bulkops_bare, interrupt_after_progress, only_job, run, seed_runs, terminate, Ran,
    Sim, FAST_REPLAYS,
};

const COLS: u16 = 160;
const ROWS: u16 = 100;

/// A command on a pseudo-terminal (util-linux `script`): its stdin, stdout and stderr are one
/// terminal, as a person at a shell has them.
pub struct Terminal {
    child: Child,
    keyboard: Option<ChildStdin>,
    shown: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

fn shell_quoted(word: &OsStr) -> String {
    format!("'{}'", word.to_string_lossy().replace('\'', r"'\''"))
}

impl Terminal {
    pub fn start(cmd: &Command) -> Terminal {
        let mut line = format!(
            "stty cols {COLS} rows {ROWS}; exec {}",
            shell_quoted(cmd.get_program())
        );
        for arg in cmd.get_args() {
            line.push(' ');
            line.push_str(&shell_quoted(arg));
        }
        let mut script = Command::new("script");
        script.args(["-qec", &line, "/dev/null"]);
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => script.env(key, value),
                None => script.env_remove(key),
            };
        }
        let mut child = script
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script (util-linux) starts");
        let mut screen = child.stdout.take().expect("stdout");
        let shown = Arc::new(Mutex::new(Vec::new()));
        let sink = shown.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = screen.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            keyboard: child.stdin.take(),
            child,
            shown,
            reader: Some(reader),
        }
    }

    /// Everything written to the terminal so far, escape sequences included.
    fn output(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    pub fn wait_for(&self, text: &str, within: Duration) {
        let started = Instant::now();
        while !self.output().contains(text) {
            assert!(
                started.elapsed() < within,
                "{text:?} did not appear within {within:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn type_keys(&mut self, keys: &str) {
        let keyboard = self.keyboard.as_mut().expect("keyboard");
        keyboard.write_all(keys.as_bytes()).expect("typed");
        keyboard.flush().expect("typed");
    }

    /// Waits for the command's exit (killing it after `within`): its exit code and the raw
    /// output.
    pub fn finish(mut self, within: Duration) -> (i32, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("script waits") {
                break status;
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!("still running after {within:?}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        drop(self.keyboard.take());
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status.code().unwrap_or(-1), self.output())
    }
}

/// What a terminal shows once `output` has been drawn on it.
fn screen(output: &str) -> String {
    let mut parser = vt100::Parser::new(ROWS, COLS, 0);
    parser.process(output.as_bytes());
    parser.screen().contents()
}

/// The tokens of `text` that are RFC 3339 times.
fn times_in(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| matches!(c, ',' | '.' | '(' | ')' | ';' | '[' | ']')))
        .filter(|w| chrono::DateTime::parse_from_rfc3339(w).is_ok())
        .map(str::to_string)
        .collect()
}

fn job_count(sim: &Sim, state: &Path) -> usize {
    let jobs = run(sim.bulkops(state).args(["jobs", "list", "-o", "json"]));
    assert_eq!(jobs.code, 0, "{}", jobs.stderr);
    jobs.stdout.lines().count()
}

/// The JSON lines on stderr.
fn events(ran: &Ran) -> Vec<Value> {
    ran.stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn progress_lines(ran: &Ran) -> Vec<Value> {
    events(ran)
        .into_iter()
        .filter(|e| e["event"] == "progress")
        .collect()
}

// --- 9: the confirmation prompt -----------------------------------------------------------

#[test]
fn tell_the_prompt_counts_first_and_says_the_whole_selection_in_plain_words() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(
        &sim,
        120,
        "QUEUED",
        "cc",
        20,
        1,
        json!({"customer": "acme"}),
    );
    seed_runs(
        &sim,
        30,
        "QUEUED",
        "cc",
        20,
        1,
        json!({"customer": "other"}),
    );
    let cancel = [
        "runs",
        "cancel",
        "--since",
        "1d",
        "--workflow",
        "cc",
        "--metadata",
        "customer=acme",
    ];

    let mut term = Terminal::start(sim.bulkops(&state).args(cancel));
    term.wait_for("[y/N]", Duration::from_secs(60));
    term.type_keys("n\n");
    let (code, shown) = term.finish(Duration::from_secs(60));
    assert_eq!(code, 2, "{shown}");
    let prompt = &shown[..shown.find("[y/N]").unwrap()];
    for words in [
        "cancel 120 runs",
        "workflow cc",
        "metadata customer=acme",
        "status QUEUED or RUNNING (default)",
        &format!("tenant {}", sim.tenant),
        sim.url.trim_end_matches('/'),
    ] {
        assert!(
            prompt.contains(words),
            "{words:?} not in the prompt:\n{prompt}"
        );
    }
    let times = times_in(prompt);
    assert_eq!(times.len(), 2, "the window, from and to:\n{prompt}");
    for time in times {
        let parsed = chrono::DateTime::parse_from_rfc3339(&time).unwrap();
        assert_eq!(
            parsed.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            time,
            "RFC 3339 in whole seconds:\n{prompt}"
        );
    }
    assert!(shown.contains("not confirmed"), "{shown}");
    assert_eq!(sim.mutating_requests(), 0);
    assert_eq!(job_count(&sim, &state), 0, "a job was created unconfirmed");

    let mut term = Terminal::start(sim.bulkops(&state).args(cancel).args(["--rate", "1000"]));
    term.wait_for("[y/N]", Duration::from_secs(60));
    term.type_keys("y\n");
    let (code, shown) = term.finish(Duration::from_secs(120));
    assert_eq!(code, 0, "{shown}");
    assert_eq!(sim.count("cc", "CANCELLED"), 120);
    assert_eq!(sim.count("cc", "QUEUED"), 30);
}

#[test]
fn tell_the_prompt_says_what_will_be_skipped_and_why() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    // Every fourth row is code-defined: Hatchet does not delete those.
    sim.seed(json!({"scheduled": 20, "workflow": "nightly", "code_defined_every": 4}));

    let mut term =
        Terminal::start(
            sim.bulkops(&state)
                .args(["scheduled", "delete", "--workflow", "nightly"]),
        );
    term.wait_for("[y/N]", Duration::from_secs(60));
    term.type_keys("n\n");
    let (code, shown) = term.finish(Duration::from_secs(60));
    assert_eq!(code, 2, "{shown}");
    let prompt = &shown[..shown.find("[y/N]").unwrap()];
    assert!(prompt.contains("delete 15 scheduled runs"), "{prompt}");
    assert!(prompt.contains("5 skipped"), "{prompt}");
    assert!(prompt.contains("code-defined"), "{prompt}");
    assert_eq!(sim.mutating_requests(), 0);
}

#[test]
fn tell_an_undo_prompt_names_the_job_it_undoes() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    sim.seed(json!({"scheduled": 10, "workflow": "nightly"}));
    let deleted = run(sim.bulkops(&state).args([
        "scheduled",
        "delete",
        "--workflow",
        "nightly",
        "--yes",
        "-o",
        "json",
    ]));
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    let job = deleted.summary()["job"].as_str().unwrap().to_string();
    let before = sim.mutating_requests();

    let mut term = Terminal::start(sim.bulkops(&state).args(["jobs", "undo", &job]));
    term.wait_for("[y/N]", Duration::from_secs(60));
    term.type_keys("n\n");
    let (code, shown) = term.finish(Duration::from_secs(60));
    assert_eq!(code, 2, "{shown}");
    let prompt = &shown[..shown.find("[y/N]").unwrap()];
    assert!(prompt.contains("re-create 10 scheduled runs"), "{prompt}");
    assert!(prompt.contains(&format!("job {job}")), "{prompt}");
    assert!(!prompt.contains("every item"), "{prompt}");
    assert!(!prompt.contains("1970"), "{prompt}");
    assert_eq!(sim.mutating_requests(), before);
}

// --- 10: off a terminal --------------------------------------------------------------------

#[test]
fn tell_off_a_terminal_a_destructive_command_without_yes_is_refused_and_sends_nothing() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 50, "QUEUED", "wf", 20, 1, json!({}));
    seed_runs(&sim, 50, "FAILED", "wf", 20, 1, json!({}));
    sim.seed(json!({"scheduled": 10, "workflow": "nightly"}));
    sim.seed(json!({"crons": 5, "workflow": "hourly"}));
    let commands: [&[&str]; 5] = [
        &["runs", "cancel", "--since", "1d"],
        &["runs", "replay", "--since", "1d"],
        &["scheduled", "delete", "--workflow", "nightly"],
        &[
            "scheduled",
            "reschedule",
            "--shift",
            "1h",
            "--workflow",
            "nightly",
        ],
        &["crons", "delete", "--workflow", "hourly"],
    ];
    let refused = "error: not a terminal: pass --yes to run without confirmation";
    for command in commands {
        let ran = run(sim.bulkops(&state).args(command));
        assert_eq!(ran.code, 2, "{command:?}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim(), refused, "{command:?}");
        assert_eq!(ran.stdout, "", "{command:?}");
        let dry = run(sim.bulkops(&state).args(command).arg("--dry-run"));
        assert_eq!(
            dry.code, 0,
            "{command:?} --dry-run needs no --yes: {}",
            dry.stderr
        );
    }
    assert_eq!(sim.mutating_requests(), 0);
    assert_eq!(job_count(&sim, &state), 0);

    // An undo is a new job too.
    let deleted = run(sim.bulkops(&state).args([
        "scheduled",
        "delete",
        "--workflow",
        "nightly",
        "--yes",
        "-o",
        "json",
    ]));
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    let job = deleted.summary()["job"].as_str().unwrap().to_string();
    let before = sim.mutating_requests();
    let undo = run(sim.bulkops(&state).args(["jobs", "undo", &job]));
    assert_eq!(undo.code, 2, "{}", undo.stderr);
    assert_eq!(undo.stderr.trim(), refused);
    assert_eq!(sim.mutating_requests(), before);
    assert_eq!(job_count(&sim, &state), 1);
}

#[test]
fn tell_resuming_an_unfinished_job_needs_no_yes() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    let cancel = [
        "runs",
        "cancel",
        "--since",
        "1d",
        "-o",
        "json",
        "--chunk-size",
        "100",
    ];
    let first = interrupt_after_progress(
        sim.bulkops(&state)
            .args(cancel)
            .args(["--yes", "--rate", "5"]),
    );
    assert_eq!(first.code, 3, "{}", first.stderr);
    let job = only_job(&sim, &state);

    // The same command, without --yes: it was confirmed when it was created.
    let again = interrupt_after_progress(sim.bulkops(&state).args(cancel).args(["--rate", "5"]));
    assert_eq!(again.code, 3, "{}", again.stderr);
    assert_eq!(again.summary()["job"], job.as_str());

    let resumed = run(sim
        .bulkops(&state)
        .args(["jobs", "resume", &job, "--rate", "1000", "-o", "json"])
        .env("BULKOPS_VERIFY_POLL", "200ms"));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.summary()["counts"]["done"], 3_000);
}

#[test]
fn tell_a_selection_that_matches_nothing_creates_no_job_and_says_so() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10, "QUEUED", "wf", 20, 1, json!({"team": "a"}));
    let nobody = [
        "runs",
        "cancel",
        "--since",
        "1d",
        "--metadata",
        "team=nobody",
        "--yes",
    ];
    let ran = run(sim.bulkops(&state).args(nobody));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, "nothing matches: no job created\n");
    let json = run(sim.bulkops(&state).args(nobody).args(["-o", "json"]));
    assert_eq!(json.code, 0, "{}", json.stderr);
    let said = json.summary();
    assert_eq!(said["state"], "nothing matches", "{said}");
    assert_eq!(said["matching"], 0, "{said}");
    assert_eq!(said["job"], Value::Null, "{said}");
    assert_eq!(job_count(&sim, &state), 0);
    assert_eq!(sim.mutating_requests(), 0);
}

// --- 11: server pressure -------------------------------------------------------------------

/// The log lines that report server pressure.
fn pressure_lines(ran: &Ran) -> Vec<Value> {
    events(ran)
        .into_iter()
        .filter(|e| {
            e["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("server pressure"))
        })
        .collect()
}

fn field(line: &Value, name: &str) -> u64 {
    line["fields"][name].as_u64().unwrap_or(0)
}

#[test]
fn tell_server_pressure_is_logged_at_most_every_10s_and_counted_in_the_summary() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    sim.faults(json!({"error_rate": 0.3, "rate_limited_rate": 0.2, "retry_after_s": 0}));
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "--since", "1d", "--yes", "-o", "json"])
        .args(["--rate", "1000", "--chunk-size", "100"])
        .env("BULKOPS_MAX_RETRIES", "12")
        .env("BULKOPS_VERIFY_POLL", "200ms"));
    assert_ne!(ran.code, 2, "{}", ran.stderr);

    let lines = pressure_lines(&ran);
    assert!(!lines.is_empty(), "no pressure logged:\n{}", ran.stderr);
    assert!(lines.iter().any(|l| field(l, "retried") > 0), "{lines:?}");
    assert!(lines.iter().any(|l| field(l, "throttled") > 0), "{lines:?}");
    let at: Vec<chrono::DateTime<chrono::FixedOffset>> = lines
        .iter()
        .map(|l| chrono::DateTime::parse_from_rfc3339(l["timestamp"].as_str().unwrap()).unwrap())
        .collect();
    for pair in at.windows(2) {
        assert!(
            pair[1] - pair[0] >= chrono::Duration::milliseconds(9_900),
            "two pressure lines within 10 s: {lines:?}"
        );
    }

    let summary = ran.summary();
    let this_run = &summary["run"];
    assert!(this_run["requests"].as_u64().unwrap() > 30, "{summary}");
    assert!(this_run["retries"].as_u64().unwrap() > 0, "{summary}");
    assert!(this_run["throttled"].as_u64().unwrap() > 0, "{summary}");
    assert!(this_run["elapsed_s"].as_f64().is_some(), "{summary}");
    assert!(this_run["items_per_sec"].as_f64().is_some(), "{summary}");
    assert_eq!(this_run["resent"], 0, "{summary}");
}

#[test]
fn tell_a_server_that_stops_answering_is_logged_while_its_requests_are_retried() {
    let mut sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 20_000, "QUEUED", "wf", 20, 1, json!({}));
    let mut cmd = sim.bulkops(&state);
    cmd.args(["runs", "cancel", "--since", "1d", "--yes", "-o", "json"])
        .args(["--rate", "20", "--chunk-size", "100"])
        .env("BULKOPS_MAX_RETRIES", "5");
    let ran = crate::support::after_progress(&mut cmd, Duration::from_secs(120), |_| sim.stop());
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let lines = pressure_lines(&ran);
    assert!(
        lines.iter().any(|l| field(l, "unanswered") > 0),
        "no line says requests went unanswered:\n{}",
        ran.stderr
    );
    assert!(ran.summary()["run"]["unanswered"].as_u64().unwrap() > 0);
}

// --- 12: progress --------------------------------------------------------------------------

#[test]
fn tell_json_progress_says_phase_confirmed_sent_and_an_eta_through_verification() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 200, "FAILED", "wf", 20, 1, json!({}));
    // Every replay is accepted and never applied: verification waits its whole timeout.
    sim.faults(json!({"replay_drop_rate": 1.0}));
    let ran = run(sim
        .bulkops(&state)
        .args(["runs", "replay", "--since", "1d", "--yes", "-o", "json"])
        .args(["--rate", "1000", "--verify-timeout", "3s"])
        .env("BULKOPS_VERIFY_POLL", "200ms")
        .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let job = ran.summary()["job"].as_str().unwrap().to_string();

    let lines = progress_lines(&ran);
    assert!(!lines.is_empty(), "{}", ran.stderr);
    for line in &lines {
        assert_eq!(line["job"], job.as_str(), "{line}");
        let phase = line["phase"].as_str().unwrap_or_default();
        assert!(
            [
                "reconciling",
                "enumerating",
                "executing",
                "verifying",
                "resending"
            ]
            .contains(&phase),
            "{line}"
        );
        for count in ["confirmed", "sent", "processed"] {
            assert!(line[count].as_u64().is_some(), "{count}: {line}");
        }
        let rate = line["items_per_sec"].as_f64().unwrap();
        assert!(rate < 10.0 || rate.fract() == 0.0, "{line}");
    }
    let verifying: Vec<&Value> = lines.iter().filter(|l| l["phase"] == "verifying").collect();
    assert!(!verifying.is_empty(), "{}", ran.stderr);
    for line in &verifying {
        let eta = line["eta_s"].as_f64().unwrap_or(-1.0);
        assert!(
            (0.0..=3.0).contains(&eta),
            "the time left of the timeout: {line}"
        );
        assert_eq!(line["confirmed"], 0, "nothing is confirmed: {line}");
    }
    assert!(
        verifying
            .iter()
            .any(|l| l["eta_s"].as_f64().unwrap() >= 1.0),
        "the ETA stayed 0 through verification: {verifying:?}"
    );
}

#[test]
fn tell_a_resumed_job_reports_the_rate_of_this_run_not_of_the_whole_job() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));
    let cancel = [
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
    let far = |e: &Value| e["processed"].as_u64().is_some_and(|n| n >= 2_000);
    let first = after_event(
        sim.bulkops(&state).args(cancel).args(["--rate", "50"]),
        far,
        Duration::from_secs(60),
        terminate,
    );
    assert_eq!(first.code, 3, "{}", first.stderr);

    // 2 requests/s of 100 runs: about 200 runs/s, whatever the job did before.
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    let a_few =
        move |e: &Value| e["event"] == "progress" && counted.fetch_add(1, Ordering::Relaxed) >= 3;
    let resumed = after_event(
        sim.bulkops(&state).args(cancel).args(["--rate", "2"]),
        a_few,
        Duration::from_secs(60),
        terminate,
    );
    assert_eq!(resumed.code, 3, "{}", resumed.stderr);
    let lines = progress_lines(&resumed);
    assert!(lines.len() >= 3, "{}", resumed.stderr);
    for line in lines {
        let rate = line["items_per_sec"].as_f64().unwrap();
        assert!(
            rate <= 400.0,
            "the rate counts the earlier run's items: {line}"
        );
    }
}

/// A terminal run of a cancel of 3,000 runs in 30 requests at 10/s: a bar for about 3 s.
fn cancel_on_a_terminal(sim: &Sim, state: &Path) -> Terminal {
    let mut cmd = bulkops_bare();
    cmd.arg("--state")
        .arg(state)
        .args(["runs", "cancel", "--since", "1d", "--yes"])
        .args(["--rate", "10", "--chunk-size", "100"])
        .env("HATCHET_CLIENT_TOKEN", &sim.token)
        .env("BULKOPS_VERIFY_POLL", "200ms");
    Terminal::start(&cmd)
}

#[test]
fn tell_on_a_terminal_the_bar_shows_the_job_and_is_cleared_before_the_summary() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    // Slow answers, so that the second Ctrl-C comes while the first stop awaits them.
    sim.faults(json!({"latency_ms": 1000}));

    // Ctrl-C twice while the bar is drawn: one stop, and no stale copy of the bar.
    let mut term = cancel_on_a_terminal(&sim, &state);
    term.wait_for("executing", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    term.type_keys("\x03");
    std::thread::sleep(Duration::from_millis(300));
    term.type_keys("\x03");
    let (code, shown) = term.finish(Duration::from_secs(60));
    assert_eq!(code, 3, "{shown}");
    let job = only_job(&sim, &state);
    let bar_draws: Vec<&str> = shown
        .split(['\r', '\n'])
        .filter(|l| l.contains("ETA"))
        .collect();
    assert!(
        bar_draws
            .iter()
            .any(|l| l.contains(&job) && l.contains("executing")),
        "the bar names neither the job nor its phase: {bar_draws:?}"
    );
    let stopped = screen(&shown);
    assert!(stopped.contains("interrupted"), "{stopped}");
    assert!(
        !stopped.contains("ETA"),
        "a bar is left on the screen:\n{stopped}"
    );

    // The same command resumes it to the end: the bar is gone before the summary.
    sim.faults(json!({}));
    let term = cancel_on_a_terminal(&sim, &state);
    let (code, shown) = term.finish(Duration::from_secs(120));
    assert_eq!(code, 0, "{shown}");
    let finished = screen(&shown);
    assert!(finished.contains("finished"), "{finished}");
    assert!(
        !finished.contains("ETA"),
        "a bar is left on the screen:\n{finished}"
    );
}
