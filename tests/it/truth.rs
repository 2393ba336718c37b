//! Issue 8, "Tell the truth": what bulkops says about a job whose process is gone, output into
//! a closed pipe, and text from an untrusted server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::support::{
    after_progress, interrupt_after_progress, mint_token, only_job, run, seed_runs, Sim,
    SLOW_CANCEL,
};

/// The state `jobs list -o json` and `jobs show -o json` give the only job.
fn shown_states(sim: &Sim, state: &Path) -> (String, String) {
    let job = only_job(sim, state);
    let listed = run(sim.bulkops(state).args(["jobs", "list", "-o", "json"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: Value = serde_json::from_str(listed.stdout.trim()).expect("a JSON job line");
    let shown = run(sim
        .bulkops(state)
        .args(["jobs", "show", &job, "-o", "json"]));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let shown: Value = serde_json::from_str(&shown.stdout).expect("a JSON job");
    let state_of = |v: &Value| v["state"].as_str().unwrap_or_default().to_string();
    (state_of(&listed), state_of(&shown))
}

#[test]
fn truth_a_job_whose_process_was_killed_shows_interrupted_and_a_live_one_running() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let mut while_running = (String::new(), String::new());
    let killed = after_progress(
        sim.bulkops(&state).args(SLOW_CANCEL),
        Duration::from_secs(60),
        |pid| {
            while_running = shown_states(&sim, &state);
            let status = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            assert!(status.expect("kill runs").success());
        },
    );
    assert_ne!(killed.code, 0);
    assert_eq!(while_running, ("running".into(), "running".into()));
    assert_eq!(
        shown_states(&sim, &state),
        ("interrupted".into(), "interrupted".into()),
        "no process holds the job any more"
    );
}

// SQLite only (scripts/test.sh skips it on PostgreSQL by name): it reads the lease from the file.
#[test]
fn truth_an_orderly_sigterm_releases_the_lease_and_the_job_shows_interrupted() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let stopped = interrupt_after_progress(sim.bulkops(&state).args(SLOW_CANCEL));
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    assert_eq!(
        shown_states(&sim, &state),
        ("interrupted".into(), "interrupted".into())
    );
    let db = rusqlite::Connection::open(&state).expect("the state file opens");
    let owner: Option<String> = db
        .query_row("SELECT owner FROM jobs", [], |r| r.get(0))
        .expect("one job");
    assert_eq!(owner, None, "the lease is released on the way out");
}

/// Runs `cmd` with its stdout a pipe whose read end is closed before it writes anything.
fn run_into_closed_pipe(cmd: &mut Command) -> (i32, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bulkops starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("bulkops exits");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn truth_output_into_a_closed_pipe_ends_quietly_with_exit_0() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    seed_runs(&sim, 10, "QUEUED", "other", 20, 1, json!({}));
    let cancel = ["runs", "cancel", "--since", "1d", "--yes", "--rate", "1000"];
    let ran = run(sim.bulkops(&state).args(cancel).args(["--workflow", "wf"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let job = only_job(&sim, &state);

    // A report of 3,000 rows is far more than one write, so it must meet the closed pipe.
    let commands: Vec<Vec<&str>> = vec![
        vec!["jobs", "list"],
        vec!["jobs", "list", "-o", "json"],
        vec!["jobs", "show", &job],
        vec!["report", &job],
        vec!["report", &job, "--format", "json"],
        vec!["runs", "cancel", "--since", "1d", "--dry-run"],
        // A whole job, whose summary meets the closed pipe at the end.
        vec![
            "runs",
            "cancel",
            "--since",
            "1d",
            "--yes",
            "--workflow",
            "other",
        ],
    ];
    for args in commands {
        let (code, stderr) = run_into_closed_pipe(sim.bulkops(&state).args(&args));
        assert_eq!(code, 0, "{args:?}:\n{stderr}");
        for noise in ["panicked", "Broken pipe", "error:"] {
            assert!(!stderr.contains(noise), "{args:?}:\n{stderr}");
        }
    }
    assert_eq!(sim.count("other", "CANCELLED"), 10);
}

/// What the fake server answers: status and body for a method, path and the request's head.
type Answer = Box<dyn FnMut(&str, &str, &str) -> (u16, String) + Send>;

/// A bounded fake HTTP server on 127.0.0.1: it answers at most `max_requests` requests, each on
/// its own connection, and stops after `lifetime` whatever happens. Returns its `host:port`.
fn fake_server(max_requests: usize, lifetime: Duration, mut answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("an address").to_string();
    listener.set_nonblocking(true).expect("non-blocking accept");
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut served = 0;
        while served < max_requests && started.elapsed() < lifetime {
            match listener.accept() {
                Ok((stream, _)) => {
                    served += 1;
                    serve_one(stream, &mut answer);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    address
}

fn serve_one(stream: TcpStream, answer: &mut Answer) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut head = String::new();
    let mut content_length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        head.push_str(&line);
    }
    let mut body = vec![0; content_length];
    let _ = reader.read_exact(&mut body);
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default();
    let path = request_line.next().unwrap_or_default();
    let (status, text) = answer(method, path, &head);
    let response = format!(
        "HTTP/1.1 {status} Fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = (&stream).write_all(response.as_bytes());
}

/// The request's headers, `Authorization` first (so that a cut body still shows it), then the
/// request line and the rest: what a proxy that echoes its request puts in an error page.
fn echo(head: &str) -> String {
    let (auth, rest): (Vec<&str>, Vec<&str>) = head
        .lines()
        .partition(|l| l.to_ascii_lowercase().starts_with("authorization:"));
    format!("{} | {}", auth.join(" | "), rest.join(" | "))
}

/// A token shaped like a real one: the fixed header, the claims, and an ES256-sized signature.
pub(crate) fn realistic_token(server_url: &str) -> (String, Vec<String>) {
    let minted = mint_token(json!({
        "sub": uuid::Uuid::new_v4().to_string(),
        "server_url": server_url,
        "exp": chrono::Utc::now().timestamp() + 3600,
    }));
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        (0..64u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect::<Vec<_>>(),
    );
    let (unsigned, _) = minted.rsplit_once('.').expect("three parts");
    let token = format!("{unsigned}.{signature}");
    let mut secrets = vec![token.clone()];
    // Any long stretch of a part is a leak, even if a length cap cut the rest.
    secrets.extend(
        token
            .split('.')
            .map(|part| part.chars().take(24).collect::<String>()),
    );
    (token, secrets)
}

pub(crate) const PASSWORD: &str = "secretpw";

pub(crate) fn assert_no_secret(place: &str, text: &[u8], secrets: &[String]) {
    let text = String::from_utf8_lossy(text);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{PASSWORD}"));
    for secret in secrets.iter().map(String::as_str).chain([PASSWORD, &basic]) {
        assert!(
            !text.contains(secret),
            "{place} holds the secret {secret}:\n{text}"
        );
    }
}

/// A fake Hatchet whose access check and listing answer as Hatchet does (`runs` runs in the
/// first slice), and whose every cancel fails with a 400 whose JSON message echoes the
/// request's headers. Returns its `host:port`.
pub(crate) fn echoing_hatchet(runs: usize) -> String {
    let ids: Vec<String> = (0..runs)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let listed = json!(ids).to_string();
    let rows: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "metadata": { "id": id }, "status": "QUEUED" }))
        .collect();
    let page = json!({ "rows": rows, "pagination": { "num_pages": 1 } }).to_string();
    let mut first_slice: Option<String> = None;
    let mut first_page: Option<String> = None;
    fake_server(
        50,
        Duration::from_secs(120),
        Box::new(move |method, path, head| {
            if path.contains("/workflow-runs/external-ids") {
                // The ids in the first slice (however often it is listed: the survey before
                // the job lists it too); nothing in later ones.
                let first = first_slice.get_or_insert_with(|| path.to_string());
                let rows = if first == path {
                    listed.clone()
                } else {
                    "null".into()
                };
                (200, rows)
            } else if path.contains("/workflow-runs?") {
                // A slice's probe: one list page, the same ids in the first slice listed.
                let first = first_page.get_or_insert_with(|| path.to_string());
                let rows = if first == path {
                    page.clone()
                } else {
                    json!({ "rows": [] }).to_string()
                };
                (200, rows)
            } else if path.contains("/tasks/cancel") {
                (
                    400,
                    json!({ "message": format!("echo: {}", echo(head)) }).to_string(),
                )
            } else if method == "GET" && path.contains("/workflows") {
                (200, json!({ "rows": [] }).to_string())
            } else {
                (404, echo(head))
            }
        }),
    )
}

// SQLite only (scripts/test.sh skips it on PostgreSQL by name): it searches the state file's and
// its write-ahead log's bytes for the token.
#[test]
fn truth_a_server_that_echoes_the_token_gets_it_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");

    // 1. The access check answers 400 with the request's headers, as plain text.
    let address = fake_server(
        20,
        Duration::from_secs(60),
        Box::new(|_, _, head| (400, echo(head))),
    );
    let url = format!("http://user:{PASSWORD}@{address}");
    let (token, secrets) = realistic_token(&url);
    let refused = run(crate::support::bulkops_command(&state)
        .env("HATCHET_CLIENT_TOKEN", &token)
        .env("HATCHET_CLIENT_SERVER_URL", &url)
        .args(["runs", "cancel", "--since", "1h", "--yes"]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("access check with HTTP 400"),
        "{}",
        refused.stderr
    );
    assert_no_secret(
        "stderr of a refused start",
        refused.stderr.as_bytes(),
        &secrets,
    );
    assert_no_secret(
        "stdout of a refused start",
        refused.stdout.as_bytes(),
        &secrets,
    );

    // 2. A job whose every cancel fails with a 400 that echoes the request's headers.
    let address = echoing_hatchet(3);
    let url = format!("http://user:{PASSWORD}@{address}");
    let (token, secrets) = realistic_token(&url);
    let bulkops = || {
        let mut cmd = crate::support::bulkops_command(&state);
        cmd.env("HATCHET_CLIENT_TOKEN", &token);
        cmd
    };
    let ran = run(bulkops().args(["runs", "cancel", "--since", "1h", "--yes", "-o", "json"]));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(ran.summary()["counts"]["failed"], 3, "{}", ran.stdout);
    assert_no_secret("stderr of the job", ran.stderr.as_bytes(), &secrets);
    assert_no_secret("stdout of the job", ran.stdout.as_bytes(), &secrets);

    let job = ran.summary()["job"].as_str().expect("job id").to_string();
    for format in ["csv", "json"] {
        let report = run(bulkops().args(["report", &job, "--format", format]));
        assert_eq!(report.code, 0, "{}", report.stderr);
        assert!(report.stdout.contains("HTTP 400"), "{}", report.stdout);
        assert_no_secret(
            &format!("the {format} report"),
            report.stdout.as_bytes(),
            &secrets,
        );
    }
    let listed = run(bulkops().args(["jobs", "list", "-o", "json"]));
    assert_no_secret("jobs list", listed.stdout.as_bytes(), &secrets);
    let reports = dir.path().join("state-reports");
    let mut files = vec![state.clone(), dir.path().join("state.db-wal")];
    files.extend(
        std::fs::read_dir(&reports)
            .expect("the saved reports")
            .map(|entry| entry.expect("an entry").path()),
    );
    for file in files.iter().filter(|f| f.exists()) {
        let bytes = std::fs::read(file).expect("readable");
        assert_no_secret(&file.display().to_string(), &bytes, &secrets);
    }
}

#[test]
fn truth_an_interrupted_then_aborted_cancel_tells_accepted_from_never_sent_and_undo_covers_every_accepted_run(
) {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 20_000, "QUEUED", "wf", 20, 1, json!({}));
    // Cancels are accepted as they go, confirmed only after the last chunk.
    let text_cancel = [
        "runs",
        "cancel",
        "--since",
        "1d",
        "--yes",
        "--rate",
        "20",
        "--chunk-size",
        "100",
    ];
    let stopped = interrupt_after_progress(sim.bulkops(&state).args(text_cancel));
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    std::thread::sleep(Duration::from_secs(1)); // the simulator applies accepted cancels
    let cancelled = sim.count("wf", "CANCELLED");
    assert!(cancelled > 0);
    let job = only_job(&sim, &state);
    let shown = run(sim
        .bulkops(&state)
        .args(["jobs", "show", &job, "-o", "json"]));
    let shown: Value = serde_json::from_str(shown.stdout.trim()).expect("job JSON");
    let counts = &shown["counts"];
    let accepted = counts["done"].as_u64().unwrap() + counts["sent"].as_u64().unwrap();
    assert_eq!(accepted, cancelled, "{counts}");
    let never_sent = counts["pending"].as_u64().unwrap();
    assert_eq!(never_sent, 20_000 - cancelled, "{counts}");
    assert!(
        stopped.stdout.contains(&format!(
            "accepted but not yet confirmed {}, never sent {never_sent}",
            counts["sent"]
        )),
        "{}",
        stopped.stdout
    );

    let aborted = run(sim.bulkops(&state).args(["jobs", "abort", &job]));
    assert_eq!(aborted.code, 0, "{}", aborted.stderr);
    assert!(
        aborted.stdout.contains(&format!("never sent {never_sent}")),
        "{}",
        aborted.stdout
    );
    let undo = run(sim
        .bulkops(&state)
        .args(["jobs", "undo", &job, "-o", "json"]));
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    let offered: Value = serde_json::from_str(undo.stdout.trim()).expect("undo JSON");
    assert_eq!(offered["cancelled"], cancelled, "{offered}");
    let ids = std::fs::read_to_string(offered["ids_file"].as_str().unwrap()).unwrap();
    assert_eq!(ids.lines().count() as u64, cancelled);
}
