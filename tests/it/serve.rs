//! `bulkops serve`: a real process on 127.0.0.1 (a free port) against the simulator, driven
//! over HTTP as a client would: jobs submitted, followed by polling and by server-sent events,
//! steered, reported; bad input refused with the command line's own message and nothing sent;
//! the token; SIGTERM; no secret anywhere.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::metrics::{free_port, samples, total};
use crate::support::{errors, run, seed_runs, terminate, HandingerSim, Sim, Simulated};
use crate::truth::{assert_no_secret, echoing_hatchet, realistic_token, PASSWORD};

const API_TOKEN: &str = "test-api-token-0123456789abcdef";

/// A simulator, a temporary directory and a state path in it.
fn sim_and_state() -> (Sim, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    (Sim::start(), dir, state)
}

/// A `bulkops serve` process, and (through `Deref`) a client of its API.
struct Served {
    child: Child,
    client: Client,
}

/// A client of a served API, with the token, and the server's logs for failure messages.
#[derive(Clone)]
struct Client {
    url: String,
    token: Option<String>,
    http: reqwest::blocking::Client,
    /// Everything the server wrote on stderr (its logs) so far.
    stderr: Arc<Mutex<String>>,
}

impl std::ops::Deref for Served {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Served {
    /// Starts `cmd` (a bulkops command with its state and credentials) as `serve` on a free
    /// loopback port, with `token` as its API token.
    fn start(cmd: &mut Command, token: Option<&str>) -> Served {
        Served::start_with(cmd, token, &["--listen", "127.0.0.1:0"])
    }

    /// `start` with these arguments of `serve`.
    fn start_with(cmd: &mut Command, token: Option<&str>, args: &[&str]) -> Served {
        cmd.arg("serve")
            .args(args)
            .args(["-o", "json"])
            .env("BULKOPS_VERIFY_POLL", "200ms")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            cmd.env("BULKOPS_API_TOKEN", token);
        }
        let mut child = cmd.spawn().expect("bulkops serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let drained = stderr.clone();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut all = drained.lock().unwrap_or_else(|e| e.into_inner());
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("serve prints where it listens");
        let hello: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!(
                "no address on stdout: {line:?}\n{}",
                stderr.lock().unwrap_or_else(|e| e.into_inner())
            )
        });
        let client = Client {
            url: hello["listening"].as_str().expect("an address").to_string(),
            token: token.map(str::to_string),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("a client"),
            stderr,
        };
        Served { child, client }
    }

    /// SIGTERM, and it exits 0: its logs.
    fn stops_cleanly(self) -> String {
        let (code, logs) = self.terminate();
        assert_eq!(code, 0, "{logs}");
        logs
    }

    /// SIGTERM, then its exit code (within a minute) and its logs.
    fn terminate(self) -> (i32, String) {
        terminate(self.child.id());
        self.exit()
    }

    /// Its exit code (within a minute of now) and its logs.
    fn exit(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("waitable") {
                break status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "serve still runs a minute after SIGTERM:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        // The log drain ends with the process.
        std::thread::sleep(Duration::from_millis(200));
        (code, self.logs())
    }
}

impl Client {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Status and body text.
    fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .expect("an answer");
        (response.status().as_u16(), response.text().expect("a body"))
    }

    fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.get(path);
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"));
        (status, body)
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .request(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .expect("an answer");
        let status = response.status().as_u16();
        let text = response.text().expect("a body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"));
        (status, body)
    }

    /// Submits a job that must begin: its id.
    fn submit(&self, job: Value) -> String {
        let (status, body) = self.post("/jobs", job);
        assert_eq!(status, 202, "{body}\n{}", self.logs());
        body["job"].as_str().expect("a job id").to_string()
    }

    /// `GET /jobs/{id}` until `done` says so.
    fn until(&self, job: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let (status, shown) = self.get_json(&format!("/jobs/{job}"));
            assert_eq!(status, 200, "{shown}");
            if done(&shown) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: still {shown}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn until_ended(&self, job: &str) -> Value {
        self.until(job, "ended", |shown| shown["ended"] == true)
    }

    /// `POST /jobs/{job}/{action}` (pause or abort): answered with the job's new `state`, and
    /// its run here ends so, as its own process would with exit 3.
    fn stop_by(&self, job: &str, action: &str, state: &str) {
        let (status, answer) = self.post(&format!("/jobs/{job}/{action}"), json!({}));
        assert_eq!(
            (status, answer["state"].as_str()),
            (200, Some(state)),
            "{answer}"
        );
        let ended = self.until_ended(job);
        let how = (ended["state"].as_str(), ended["exit_code"].as_u64());
        assert_eq!(how, (Some(state), Some(3)), "{ended}");
    }

    fn logs(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The server-sent events of `path`, as (event, data), until the stream ends.
    fn events(&self, path: &str) -> Vec<(String, Value)> {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 200);
        let mut events = Vec::new();
        let mut name = String::new();
        for line in BufReader::new(response).lines().map_while(Result::ok) {
            if let Some(event) = line.strip_prefix("event: ") {
                name = event.to_string();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let data = serde_json::from_str(data).unwrap_or_else(|_| panic!("{data}"));
                events.push((name.clone(), data));
            }
        }
        events
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cancel(extra: Value) -> Value {
    let mut job = json!({"operation": "runs cancel", "since": "1d"});
    if let (Value::Object(job), Value::Object(extra)) = (&mut job, extra) {
        job.extend(extra);
    }
    job
}

#[test]
fn a_submitted_cancel_runs_in_the_service_and_is_followed_to_its_end_and_reported() {
    let (sim, _dir, state) = sim_and_state();
    seed_runs(&sim, 2_000, "QUEUED", "cc", 20, 1, json!({}));
    seed_runs(&sim, 300, "QUEUED", "other", 20, 1, json!({}));
    let served = Served::start(&mut sim.bulkops(&state), Some(API_TOKEN));
    let job = served.submit(cancel(
        json!({"workflow": ["cc"], "rate": 20, "chunk-size": 100}),
    ));
    let followed = {
        let (client, path) = (served.client.clone(), format!("/jobs/{job}/events"));
        std::thread::spawn(move || client.events(&path))
    };
    // Polling: a rate appears once a client looked twice.
    let moving = served.until(&job, "a rate", |shown| {
        shown["items_per_sec"].is_number() || shown["ended"] == true
    });
    assert_eq!(moving["job"], job.as_str());
    let ended = served.until_ended(&job);
    assert_eq!(ended["state"], "finished", "{ended}");
    assert_eq!(ended["exit_code"], 0, "{ended}");
    assert_eq!(ended["counts"]["done"], 2_000, "{ended}");
    assert_eq!(sim.count("cc", "CANCELLED"), 2_000);
    assert_eq!(sim.count("other", "QUEUED"), 300, "never wider than asked");

    let events = followed.join().expect("the event stream was read");
    let (last, progress) = events.split_last().expect("events");
    assert_eq!(last.0, "end", "{events:?}");
    assert_eq!(last.1["exit_code"], 0, "{events:?}");
    assert_eq!(last.1["counts"]["done"], 2_000, "{events:?}");
    assert!(
        !progress.is_empty() && progress.iter().all(|(name, _)| name == "progress"),
        "{events:?}"
    );

    let (status, listed) = served.get_json("/jobs");
    assert_eq!(status, 200);
    assert_eq!(listed["jobs"][0]["job"], job.as_str(), "{listed}");
    assert_eq!(listed["jobs"][0]["state"], "finished", "{listed}");

    let (status, csv) = served.get(&format!("/jobs/{job}/report?format=csv"));
    assert_eq!(status, 200, "{csv}");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,operation,outcome,reason,http_status,attempts,time")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2_000);
    assert!(rows.iter().all(|row| row.contains(",runs cancel,done,")));
    let (status, ndjson) = served.get(&format!("/jobs/{job}/report?format=ndjson"));
    assert_eq!(status, 200, "{ndjson}");
    let items: Vec<Value> = ndjson
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(items.len(), 2_000);
    assert!(items.iter().all(|item| item["outcome"] == "done"));
    let (status, failed) = served.get(&format!("/jobs/{job}/report?format=ndjson&failed=true"));
    assert_eq!((status, failed.as_str()), (200, ""));
    let (status, body) = served.get_json(&format!("/jobs/{job}/report?format=xml"));
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        "unknown report format 'xml': use csv or ndjson"
    );
    let (status, body) = served.get_json(&format!("/jobs/{job}/report?failed=maybe"));
    assert_eq!(
        (status, body["cause"].as_str()),
        (400, Some("bad_body")),
        "{body}"
    );

    // The same job submitted again: it finished, so the same command starts a new one, which
    // finds nothing left to cancel.
    let (status, again) = served.post("/jobs", cancel(json!({"workflow": ["cc"]})));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["state"], "nothing matches", "{again}");
}

#[test]
fn the_service_serves_the_metrics_of_the_jobs_it_runs_on_its_metrics_address() {
    let (sim, _dir, state) = sim_and_state();
    seed_runs(&sim, 500, "QUEUED", "cc", 20, 1, json!({}));
    let metrics = format!("127.0.0.1:{}", free_port());
    let served = Served::start_with(
        &mut sim.bulkops(&state),
        Some(API_TOKEN),
        &["--listen", "127.0.0.1:0", "--metrics-addr", &metrics],
    );
    let job = served.submit(cancel(json!({"workflow": ["cc"], "chunk-size": 100})));
    let ended = served.until_ended(&job);
    assert_eq!(ended["counts"]["done"], 500, "{ended}");
    let scraped = reqwest::blocking::get(format!("http://{metrics}/metrics"))
        .and_then(|r| r.text())
        .expect("the metrics address answers");
    let scraped = samples(&scraped);
    let done = total(&scraped, "bulkops_items_total", &[r#"outcome="done""#]);
    assert_eq!(done, 500.0, "{scraped:?}");
    let cancels = total(&scraped, "bulkops_requests_total", &["cancel"]);
    assert!(cancels >= 5.0, "500 runs in chunks of 100: {scraped:?}");
}

#[test]
fn bad_input_is_refused_with_400_and_the_command_lines_own_message_and_nothing_is_sent() {
    let (sim, _dir, state) = sim_and_state();
    seed_runs(&sim, 50, "QUEUED", "wf", 20, 1, json!({}));
    seed_runs(&sim, 5, "FAILED", "wf", 20, 1, json!({}));
    let served = Served::start(&mut sim.bulkops(&state), Some(API_TOKEN));
    let same_as_cli: [(&[&str], Value); 9] = [
        (
            &["runs", "cancel", "-w", "wf"],
            json!({"operation": "runs cancel", "workflow": ["wf"]}),
        ),
        (
            &["runs", "cancel", "--since", "1d", "--metadata", "a:b=c"],
            cancel(json!({"metadata": ["a:b=c"]})),
        ),
        (
            &["runs", "cancel", "--since", "1d", "--status", "DONE"],
            cancel(json!({"status": ["DONE"]})),
        ),
        (
            &["runs", "cancel", "--since", "yesterday"],
            json!({"operation": "runs cancel", "since": "yesterday"}),
        ),
        (
            &["runs", "cancel", "--since", "1d", "--rate", "0"],
            cancel(json!({"rate": 0})),
        ),
        (
            &["runs", "cancel", "--since", "1d", "--concurrency", "65"],
            cancel(json!({"concurrency": 65})),
        ),
        (
            &["runs", "cancel", "--since", "1d", "-w", "no-such-workflow"],
            cancel(json!({"workflow": ["no-such-workflow"]})),
        ),
        (
            &["scheduled", "reschedule", "--shift", "0s"],
            json!({"operation": "scheduled reschedule", "shift": "0s"}),
        ),
        (
            &[
                "runs",
                "replay",
                "--since",
                "1d",
                "--verify-timeout",
                "soon",
            ],
            json!({"operation": "runs replay", "since": "1d", "verify-timeout": "soon"}),
        ),
    ];
    for (args, body) in same_as_cli {
        let cli = run(sim.bulkops(&state).args(args).arg("--yes"));
        assert_eq!(cli.code, 2, "{args:?}: {}", cli.stderr);
        let said = errors(&cli.stderr);
        assert_eq!(said.len(), 1, "{args:?}: {}", cli.stderr);
        let (status, answer) = served.post("/jobs", body.clone());
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(
            format!("error: {}", answer["error"].as_str().unwrap_or_default()),
            said[0],
            "{body}"
        );
    }
    let api_only = [
        (
            cancel(json!({"token": "eyJhbGciOi"})),
            "credentials_in_request",
        ),
        (
            cancel(json!({"metadata": ["k=v"], "nested": {"api_key": "x"}})),
            "credentials_in_request",
        ),
        (
            json!({"operation": "runs replay", "since": "1d", "concurrency": 2}),
            "flag_not_offered",
        ),
        (
            cancel(json!({"ids-file": "/etc/passwd"})),
            "flag_not_offered",
        ),
        (json!({"operation": "runs obliterate"}), "unknown_operation"),
        (json!({"since": "1d"}), "bad_body"),
        (cancel(json!({"rate": "fast"})), "bad_body"),
        (json!(["runs cancel"]), "bad_body"),
    ];
    for (body, cause) in api_only {
        let (status, answer) = served.post("/jobs", body.clone());
        assert_eq!(
            (status, answer["cause"].as_str()),
            (400, Some(cause)),
            "{body}: {answer}"
        );
        let message = answer["error"].as_str().expect("a message");
        assert!(
            !message.contains('\n') && !message.contains("eyJhbGciOi"),
            "{message}"
        );
    }
    let refused = served
        .request(reqwest::Method::POST, "/jobs")
        .body("{not json")
        .send()
        .expect("an answer");
    assert_eq!(refused.status().as_u16(), 400);

    // A dry run counts and changes nothing.
    let (status, found) = served.post(
        "/jobs",
        cancel(json!({"dry-run": true, "workflow": ["wf"]})),
    );
    assert_eq!(
        (status, found["matching"].as_u64()),
        (200, Some(50)),
        "{found}"
    );

    assert_eq!(sim.mutating_requests(), 0, "nothing was sent");
    assert_eq!(sim.count("wf", "QUEUED"), 50);
    let (_, listed) = served.get_json("/jobs");
    assert_eq!(listed["jobs"], json!([]), "no job was created");
}

#[test]
fn without_the_token_only_the_probes_answer_and_nothing_is_sent() {
    let (sim, _dir, state) = sim_and_state();
    seed_runs(&sim, 20, "QUEUED", "wf", 20, 1, json!({}));
    let served = Served::start(&mut sim.bulkops(&state), Some(API_TOKEN));
    let anonymous = reqwest::blocking::Client::new();
    let url = |path: &str| format!("{}{path}", served.url);
    for probe in ["/healthz", "/readyz"] {
        let answer = anonymous.get(url(probe)).send().expect("an answer");
        assert_eq!(answer.status().as_u16(), 200, "{probe}");
    }
    let guarded = [
        ("GET", "/jobs"),
        ("POST", "/jobs"),
        ("GET", "/openapi.yaml"),
        ("GET", "/jobs/x"),
        ("POST", "/jobs/x/pause"),
        ("GET", "/jobs/x/events"),
        ("GET", "/jobs/x/report"),
    ];
    let submission = cancel(json!({}));
    for (method, path) in guarded {
        let method: reqwest::Method = method.parse().expect("a method");
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("Basic dGVzdA=="),
            Some(API_TOKEN),
        ] {
            let mut request = anonymous
                .request(method.clone(), url(path))
                .json(&submission);
            if let Some(auth) = auth {
                request = request.header("Authorization", auth);
            }
            let answer = request.send().expect("an answer");
            assert_eq!(
                answer.status().as_u16(),
                401,
                "{method} {path} with {auth:?}"
            );
            assert_eq!(answer.headers()["www-authenticate"], "Bearer");
            let body: Value = answer.json().expect("a JSON error");
            assert_eq!(body["cause"], "unauthorized");
        }
    }
    assert_eq!(sim.mutating_requests(), 0);
    let (status, _) = served.get_json("/jobs");
    assert_eq!(status, 200, "the token itself is let through");
    // The document served is the one checked in.
    let (status, document) = served.get("/openapi.yaml");
    assert_eq!(status, 200);
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/serve-openapi.yaml"),
    )
    .expect("the checked-in document");
    assert_eq!(document, committed);
    let (status, missing) = served.get_json("/no/such/route");
    assert_eq!((status, missing["cause"].as_str()), (404, Some("no_route")));
}

#[test]
fn serve_refuses_an_address_other_hosts_reach_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    for output in ["text", "json"] {
        let refused = run(crate::support::bulkops_command(&state).args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "-o",
            output,
        ]));
        assert_eq!(refused.code, 2, "{}", refused.stderr);
        let said = errors(&refused.stderr);
        assert_eq!(said.len(), 1, "{}", refused.stderr);
        assert!(
            said[0].starts_with(
                "error: refusing to serve 0.0.0.0:0 without an API token: set BULKOPS_API_TOKEN"
            ),
            "{}",
            said[0]
        );
    }
    let empty = run(crate::support::bulkops_command(&state)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env("BULKOPS_API_TOKEN", ""));
    assert_eq!(empty.code, 2, "{}", empty.stderr);
    assert!(
        errors(&empty.stderr)[0].contains("the API token is empty"),
        "{}",
        empty.stderr
    );
    // With a token, it serves other hosts too (and a SIGTERM ends it with 0).
    let served = Served::start_with(
        &mut crate::support::bulkops_command(&state),
        Some(API_TOKEN),
        &["--listen", "0.0.0.0:0"],
    );
    assert!(served.url.starts_with("http://0.0.0.0:"), "{}", served.url);
    assert_eq!(served.get("/healthz"), (200, "ok\n".to_string()));
    served.stops_cleanly();
}

#[test]
fn a_client_that_never_finishes_its_request_does_not_hold_the_process_at_sigterm() {
    let (sim, _dir, state) = sim_and_state();
    let served = Served::start(&mut sim.bulkops(&state), Some(API_TOKEN));
    let address = served.url.trim_start_matches("http://").to_string();
    let mut stuck = std::net::TcpStream::connect(address).expect("a connection");
    std::io::Write::write_all(&mut stuck, b"GET /jobs HTTP/1.1\r\nHost: x\r\n").unwrap();
    let stopping = Instant::now();
    served.stops_cleanly();
    let took = stopping.elapsed();
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_job_is_paused_resumed_retuned_and_aborted_over_http() {
    let (sim, _dir, state) = sim_and_state();
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    let served = Served::start(&mut sim.bulkops(&state), Some(API_TOKEN));
    let job = served.submit(cancel(json!({"rate": 2, "chunk-size": 50})));
    let sent = |shown: &Value| {
        shown["counts"]["done"].as_u64().unwrap_or(0)
            + shown["counts"]["sent"].as_u64().unwrap_or(0)
    };
    served.until(&job, "first chunks", |shown| sent(shown) > 0);

    // The same job submitted again while it runs here: refused, not run twice.
    let (status, twice) = served.post("/jobs", cancel(json!({"rate": 2, "chunk-size": 50})));
    assert_eq!(
        (status, twice["cause"].as_str()),
        (409, Some("job_running_here")),
        "{twice}"
    );
    let (status, resumed) = served.post(&format!("/jobs/{job}/resume"), json!({}));
    assert_eq!(status, 409, "{resumed}");

    served.stop_by(&job, "pause", "paused");
    let (status, again) = served.post(&format!("/jobs/{job}/pause"), json!({}));
    assert_eq!(
        (status, again["cause"].as_str()),
        (409, Some("job_not_running")),
        "{again}"
    );

    let (status, resumed) = served.post(&format!("/jobs/{job}/resume"), json!({"rate": 2}));
    assert_eq!(
        (status, resumed["job"].as_str()),
        (202, Some(job.as_str())),
        "{resumed}"
    );
    served.until(&job, "running again", |shown| shown["state"] == "running");

    let (status, retuned) = served.post(&format!("/jobs/{job}/retune"), json!({"rate": 5}));
    assert_eq!(
        (status, retuned["rate"].as_f64()),
        (200, Some(5.0)),
        "{retuned}"
    );
    let (_, shown) = served.get_json(&format!("/jobs/{job}"));
    assert_eq!(shown["rate"], 5.0, "{shown}");
    let retune = format!("/jobs/{job}/retune");
    let cli = cli_refusal(
        sim.bulkops(&state),
        &["jobs", "retune", &job, "--rate", "0"],
    );
    refused_as_the_cli(&served, &retune, json!({"rate": 0}), 400, &cli);
    let (status, retuned) = served.post(
        &format!("/jobs/{job}/retune"),
        json!({"rate": 5, "concurrency": 8}),
    );
    assert_eq!(
        (status, retuned),
        (200, json!({"job": job, "rate": 5.0, "concurrency": 8}))
    );
    let cli = cli_refusal(
        sim.bulkops(&state),
        &["jobs", "retune", &job, "--concurrency", "65"],
    );
    refused_as_the_cli(&served, &retune, json!({"concurrency": 65}), 400, &cli);
    let (status, refused) = served.post(&format!("/jobs/{job}/retune"), json!({}));
    assert_eq!(
        (status, refused["cause"].as_str()),
        (400, Some("bad_body")),
        "{refused}"
    );

    served.stop_by(&job, "abort", "aborted");
    // Cancels are applied a moment after they are accepted: what was sent is what counts.
    let sent = sim.mutating_requests();
    assert!(sent > 0 && sent < 60, "{sent} chunk requests");
    let (status, refused) = served.post(&format!("/jobs/{job}/resume"), json!({}));
    assert_eq!(
        (status, refused["cause"].as_str()),
        (409, Some("nothing_to_resume")),
        "{refused}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        sim.mutating_requests(),
        sent,
        "nothing sent after the abort"
    );

    for path in ["/jobs/nope", "/jobs/nope/events", "/jobs/nope/report"] {
        let (status, missing) = served.get_json(path);
        assert_eq!(
            (status, missing["cause"].as_str()),
            (404, Some("unknown_job")),
            "{path}"
        );
    }
    let (status, _) = served.post("/jobs/nope/pause", json!({}));
    assert_eq!(status, 404);
}

#[test]
fn sigterm_refuses_new_jobs_stops_the_running_one_releases_it_exits_0_and_it_resumes() {
    let (sim, _dir, state) = sim_and_state();
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    let served = Served::start(&mut sim.bulkops(&state), Some(API_TOKEN));
    let job = served.submit(cancel(json!({"rate": 2, "chunk-size": 50})));
    served.until(&job, "first chunks", |shown| {
        shown["counts"]["pending"].as_u64() < Some(3_000)
    });
    // Slow answers: the stop waits for the requests on the wire, seconds during which the
    // service takes no new job and is not ready.
    sim.faults(json!({"latency_ms": 3000}));
    std::thread::sleep(Duration::from_secs(1));
    terminate(served.child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while served.get("/readyz").0 != 503 {
        assert!(Instant::now() < deadline, "still ready:\n{}", served.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, refused) = served.post("/jobs", cancel(json!({"workflow": ["wf"]})));
    let refusal = (status, refused["cause"].as_str());
    assert_eq!(refusal, (503, Some("shutting_down")), "{refused}");
    let (code, logs) = served.exit();
    assert_eq!(code, 0, "{logs}");
    sim.faults(json!({}));
    assert!(
        logs.contains("every job this process ran was stopped and released"),
        "{logs}"
    );

    let shown = run(sim
        .bulkops(&state)
        .args(["jobs", "show", &job, "-o", "json"]));
    let shown: Value = serde_json::from_str(shown.stdout.trim()).expect("the job");
    assert_eq!(shown["state"], "interrupted", "{shown}");
    let resumed = run(sim
        .bulkops(&state)
        .args(["jobs", "resume", &job, "--rate", "200", "-o", "json"])
        .env("BULKOPS_VERIFY_POLL", "200ms"));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.summary()["counts"]["done"], 3_000);
    assert_eq!(sim.count("wf", "CANCELLED"), 3_000);
    assert_eq!(sim.stats()["max_cancels_per_run"], 1, "{}", sim.stats());
}

// SQLite only (scripts/test.sh skips it on PostgreSQL by name), as
// `truth_a_server_that_echoes_the_token_gets_it_nowhere`: it searches the state file's bytes.
#[test]
fn no_secret_reaches_a_response_a_log_a_report_or_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let address = echoing_hatchet(3);
    let url = format!("http://user:{PASSWORD}@{address}");
    let (token, mut secrets) = realistic_token(&url);
    secrets.push(API_TOKEN.to_string());
    let handinger = HandingerSim::start();
    let workers = handinger.seed(json!({"workers": 1, "per_worker": 3}));
    secrets.push(handinger.api_key.clone());
    let served = Served::start(
        crate::support::bulkops_command(&state)
            .env("HATCHET_CLIENT_TOKEN", &token)
            .env("HATCHET_CLIENT_SERVER_URL", &url)
            .env("HANDINGER_API_KEY", &handinger.api_key)
            .env("HANDINGER_BASE_URL", &handinger.url),
        Some(API_TOKEN),
    );
    let mut answers = Vec::new();
    let (status, refused) = served.post("/jobs", cancel(json!({"token": token})));
    assert_eq!(status, 400);
    answers.push(refused.to_string());
    let job = served.submit(json!({"operation": "runs cancel", "since": "1h"}));
    let ended = served.until_ended(&job);
    assert_eq!(ended["exit_code"], 1, "{ended}");
    assert_eq!(ended["counts"]["failed"], 3, "{ended}");
    for path in [
        format!("/jobs/{job}"),
        "/jobs".to_string(),
        format!("/jobs/{job}/report?format=csv"),
        format!("/jobs/{job}/report?format=ndjson"),
        format!("/jobs/{job}/events"),
        "/readyz".to_string(),
    ] {
        let (status, text) = served.get(&path);
        assert_eq!(status, 200, "{path}: {text}");
        answers.push(text);
    }
    assert!(answers[3].contains("HTTP 400"), "{}", answers[3]);
    // A Handinger job, on the key of the service's environment.
    let cancelled = served.submit(json!({
        "operation": "handinger schedules cancel", "worker": workers, "reason": "no secret",
    }));
    let ended = served.until_ended(&cancelled);
    assert_eq!(ended["counts"]["done"], 3, "{ended}");
    for path in [
        format!("/jobs/{cancelled}"),
        format!("/jobs/{cancelled}/report?format=ndjson"),
    ] {
        let (status, text) = served.get(&path);
        assert_eq!(status, 200, "{path}: {text}");
        answers.push(text);
    }
    let logs = served.stops_cleanly();
    for (i, answer) in answers.iter().enumerate() {
        assert_no_secret(&format!("answer {i}"), answer.as_bytes(), &secrets);
    }
    assert_no_secret("the logs", logs.as_bytes(), &secrets);
    let mut files = vec![state.clone(), dir.path().join("state.db-wal")];
    files.extend(
        std::fs::read_dir(dir.path().join("state-reports"))
            .expect("the saved reports")
            .map(|entry| entry.expect("an entry").path()),
    );
    for file in files.iter().filter(|f| f.exists()) {
        let bytes = std::fs::read(file).expect("readable");
        assert_no_secret(&file.display().to_string(), &bytes, &secrets);
    }
}

/// A directory of scheduled jobs' files, each `(name, text)`.
fn jobs_dir(dir: &Path, files: &[(&str, &str)]) -> std::path::PathBuf {
    let jobs = dir.join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    for (name, text) in files {
        std::fs::write(jobs.join(name), text).unwrap();
    }
    jobs
}

#[test]
fn scheduled_jobs_fire_as_ordinary_jobs_and_a_firing_during_a_run_is_skipped() {
    let (sim, dir, state) = sim_and_state();
    seed_runs(&sim, 400, "QUEUED", "sched", 20, 1, json!({}));
    seed_runs(&sim, 50, "QUEUED", "other", 20, 1, json!({}));
    // Every 2 s; a run lasts several seconds (10 chunks at 2 requests/s).
    let jobs = jobs_dir(
        dir.path(),
        &[(
            "every-2s.toml",
            "cron = \"*/2 * * * * *\"\noperation = \"runs cancel\"\nsince = \"1d\"\nworkflow = [\"sched\"]\nrate = 2\nchunk-size = 40\n",
        )],
    );
    let jobs = jobs.to_str().expect("a path");
    let served = Served::start_with(
        &mut sim.bulkops(&state),
        Some(API_TOKEN),
        &["--listen", "127.0.0.1:0", "--jobs-dir", jobs],
    );
    let finished = |done: u64| {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (_, listed) = served.get_json("/jobs");
            let jobs = listed["jobs"].as_array().cloned().unwrap_or_default();
            let ended: Vec<&Value> = jobs
                .iter()
                .filter(|job| job["state"] == "finished" && job["counts"]["done"] == done)
                .collect();
            if let Some(job) = ended.first() {
                return ((*job).clone(), jobs.len());
            }
            assert!(Instant::now() < deadline, "{listed}\n{}", served.logs());
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    let (first, count) = finished(400);
    assert_eq!(count, 1, "one job for the first run");
    assert!(
        first["job"].as_str().unwrap().starts_with("every-2s-"),
        "{first}"
    );
    assert!(
        served
            .logs()
            .contains("skipped: the previous run is still going"),
        "{}",
        served.logs()
    );
    // Nothing left: a firing creates no job. New runs: the next firing is a new job.
    let quiet = Instant::now() + Duration::from_secs(60);
    while !served.logs().contains("nothing matches") {
        assert!(Instant::now() < quiet, "{}", served.logs());
        std::thread::sleep(Duration::from_millis(200));
    }
    seed_runs(&sim, 40, "QUEUED", "sched", 20, 1, json!({}));
    let (second, count) = finished(40);
    assert_eq!(count, 2, "{second}");
    assert_ne!(second["job"], first["job"]);
    assert_eq!(sim.count("sched", "CANCELLED"), 440);
    assert_eq!(sim.count("other", "QUEUED"), 50);
    assert_eq!(sim.stats()["max_cancels_per_run"], 1, "{}", sim.stats());
    served.stops_cleanly();
}

#[test]
fn a_bad_scheduled_job_stops_serve_before_it_listens_naming_its_file() {
    let (sim, dir, state) = sim_and_state();
    let cli = run(sim
        .bulkops(&state)
        .args(["runs", "cancel", "-w", "wf", "--yes"]));
    let no_since = errors(&cli.stderr)[0]
        .trim_start_matches("error: ")
        .to_string();
    let cases = [
        ("operation = \"runs cancel\"\nsince = \"1d\"\n", "no `cron`".to_string()),
        (
            "cron = \"61 * * * *\"\noperation = \"runs cancel\"\nsince = \"1d\"\n",
            "cron \"61 * * * *\"".to_string(),
        ),
        ("cron = \"0 3 * * *\"\noperation = \"runs cancel\"\nworkflow = [\"wf\"]\n", no_since),
        (
            "cron = \"0 3 * * *\"\noperation = \"runs cancel\"\nsince = \"1d\"\napi-token = \"x\"\n",
            "credentials are never taken from a request".to_string(),
        ),
        ("cron = \"0 3 * * *\"\noperation = [", "TOML".to_string()),
    ];
    for (i, (text, says)) in cases.iter().enumerate() {
        let name = format!("bad-{i}.toml");
        let jobs = jobs_dir(&dir.path().join(i.to_string()), &[(&name, text)]);
        let refused = run(sim
            .bulkops(&state)
            .args(["serve", "--listen", "127.0.0.1:0", "--jobs-dir"])
            .arg(&jobs));
        assert_eq!(refused.code, 2, "{text}: {}", refused.stderr);
        let said = errors(&refused.stderr);
        assert_eq!(said.len(), 1, "{}", refused.stderr);
        let file = jobs.join(&name);
        assert!(
            said[0].starts_with(&format!("error: {}: ", file.display()))
                && said[0].contains(says.as_str()),
            "{text}: {} (wanted {says})",
            said[0]
        );
        assert!(
            refused.stdout.is_empty(),
            "it never listened: {}",
            refused.stdout
        );
    }
    assert_eq!(sim.mutating_requests(), 0);
}

#[test]
fn scheduled_handinger_jobs_fire_on_the_services_key_and_are_checked_as_the_command_line_checks_them(
) {
    let sim = HandingerSim::start();
    let workers = sim.seed(json!({"workers": 2, "per_worker": 4, "types": ["delayed"]}));
    let (w0, w1) = (workers[0].as_str(), workers[1].as_str());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let every_2s = "cron = \"*/2 * * * * *\"\noperation = \"handinger schedules cancel\"\n";

    // Checked at startup as the command line checks the same flags, and on the key of the
    // service's own environment.
    let weekly = cli_refusal(
        sim.bulkops(&state),
        &[
            "handinger",
            "schedules",
            "cancel",
            "--worker",
            w0,
            "--type",
            "weekly",
            "--yes",
        ],
    );
    let no_key = {
        let mut cmd = sim.bulkops(&state);
        cmd.env_remove("HANDINGER_API_KEY");
        cli_refusal(
            cmd,
            &["handinger", "schedules", "cancel", "--worker", w0, "--yes"],
        )
    };
    let bad_type = format!("{every_2s}worker = [\"{w0}\"]\ntype = [\"weekly\"]\n");
    let good = format!("{every_2s}worker = [\"{w0}\"]\ntype = [\"delayed\"]\nrate = 50\n");
    for (i, (text, without_key, says)) in [(&bad_type, false, &weekly), (&good, true, &no_key)]
        .into_iter()
        .enumerate()
    {
        let jobs = jobs_dir(&dir.path().join(i.to_string()), &[("h.toml", text)]);
        let mut cmd = sim.bulkops(&state);
        if without_key {
            cmd.env_remove("HANDINGER_API_KEY");
        }
        let refused = run(cmd
            .args(["serve", "--listen", "127.0.0.1:0", "--jobs-dir"])
            .arg(&jobs));
        assert_eq!(refused.code, 2, "{text}: {}", refused.stderr);
        let said = errors(&refused.stderr);
        let says = says.trim_start_matches("error: ");
        let file = jobs.join("h.toml");
        assert_eq!(
            said,
            [format!("error: {}: {says}", file.display())],
            "{}",
            refused.stderr
        );
        assert!(
            refused.stdout.is_empty(),
            "it never listened: {}",
            refused.stdout
        );
    }
    assert_eq!(sim.mutating_requests(), 0, "nothing was sent");

    // A good one fires as an ordinary job, named after its file: w0's schedules are cancelled,
    // w1's are left.
    let jobs = jobs_dir(&dir.path().join("good"), &[("cancel-delayed.toml", &good)]);
    let served = Served::start_with(
        &mut sim.bulkops(&state),
        Some(API_TOKEN),
        &[
            "--listen",
            "127.0.0.1:0",
            "--jobs-dir",
            jobs.to_str().expect("a path"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let (_, listed) = served.get_json("/jobs");
        let finished = listed["jobs"].as_array().and_then(|jobs| {
            jobs.iter()
                .find(|job| job["state"] == "finished" && job["counts"]["done"] == 4)
                .cloned()
        });
        if let Some(job) = finished {
            break job;
        }
        assert!(Instant::now() < deadline, "{listed}\n{}", served.logs());
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        job["job"].as_str().unwrap().starts_with("cancel-delayed-"),
        "{job}"
    );
    assert_eq!(job["operation"], "handinger schedules cancel", "{job}");
    assert!(
        next_runs(&sim, w0).is_empty(),
        "every one of w0's is cancelled"
    );
    assert_eq!(next_runs(&sim, w1).len(), 4, "w1's are left");
    served.stops_cleanly();
}

#[test]
fn the_example_scheduled_jobs_are_valid() {
    let (sim, _dir, state) = sim_and_state();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/jobs");
    let served = Served::start_with(
        &mut sim.bulkops(&state),
        None,
        &[
            "--listen",
            "127.0.0.1:0",
            "--jobs-dir",
            examples.to_str().expect("a path"),
        ],
    );
    let logs = served.stops_cleanly();
    for name in ["cancel-queued-over-a-day", "delete-stale-scheduled-runs"] {
        assert!(
            logs.contains(&format!("\"schedule\":\"{name}\"")),
            "{name}: {logs}"
        );
    }
}

/// The message of `args` run by the command line, which must refuse it with exit 2.
fn cli_refusal(mut cmd: Command, args: &[&str]) -> String {
    let cli = run(cmd.args(args));
    assert_eq!(cli.code, 2, "{args:?}: {}", cli.stderr);
    let said = errors(&cli.stderr);
    assert_eq!(said.len(), 1, "{args:?}: {}", cli.stderr);
    said[0].clone()
}

/// `POST path` is refused with `status` and the command line's very message.
fn refused_as_the_cli(served: &Served, path: &str, body: Value, status: u16, cli: &str) {
    let (got, answer) = served.post(path, body.clone());
    assert_eq!(got, status, "{body}: {answer}");
    assert_eq!(
        format!("error: {}", answer["error"].as_str().unwrap_or_default()),
        cli,
        "{body}"
    );
}

#[test]
fn a_scheduled_reschedule_over_http_is_undone_over_http_and_the_rows_are_back() {
    let (sim, _dir, state) = sim_and_state();
    sim.seed(json!({"scheduled": 300, "workflow": "wf"}));
    sim.seed(json!({"scheduled": 40, "workflow": "other"}));
    let before = crate::ops::scheduled(&sim);
    let served = Served::start(&mut sim.bulkops(&state), Some(API_TOKEN));
    let job = served.submit(json!({
        "operation": "scheduled reschedule", "shift": "1h", "workflow": ["wf"], "chunk-size": 50,
    }));
    let moved = served.until_ended(&job);
    assert_eq!(moved["counts"]["done"], 300, "{moved}");
    let at =
        |r: &Value| chrono::DateTime::parse_from_rfc3339(r["triggerAt"].as_str().unwrap()).unwrap();
    let shifted = crate::ops::scheduled(&sim);
    for (id, row) in &before {
        let hours = if row["workflowName"] == "wf" { 1 } else { 0 };
        assert_eq!((at(&shifted[id]) - at(row)).num_hours(), hours, "row {id}");
    }

    let (status, begun) = served.post(&format!("/jobs/{job}/undo"), json!({"rate": 100}));
    assert_eq!(status, 202, "{begun}\n{}", served.logs());
    let undo = begun["job"]
        .as_str()
        .expect("the undo job's id")
        .to_string();
    assert_ne!(undo, job);
    let undone = served.until_ended(&undo);
    assert_eq!(undone["counts"]["done"], 300, "{undone}");
    assert_eq!(undone["operation"], "scheduled restore (undo)", "{undone}");
    let restored = crate::ops::scheduled(&sim);
    for (id, row) in &before {
        assert_eq!(restored[id]["triggerAt"], row["triggerAt"], "row {id}");
    }

    // Undone twice: refused as the command line refuses it, nothing sent.
    let sent = sim.mutating_requests();
    let cli = cli_refusal(sim.bulkops(&state), &["jobs", "undo", &job, "--yes"]);
    refused_as_the_cli(&served, &format!("/jobs/{job}/undo"), json!({}), 409, &cli);
    let cli = cli_refusal(
        sim.bulkops(&state),
        &["jobs", "undo", "no-such-job", "--yes"],
    );
    refused_as_the_cli(&served, "/jobs/no-such-job/undo", json!({}), 404, &cli);
    let (status, answer) = served.post(&format!("/jobs/{job}/undo"), json!({"status": ["X"]}));
    assert_eq!(
        (status, answer["cause"].as_str()),
        (400, Some("flag_not_offered")),
        "{answer}"
    );
    assert_eq!(sim.mutating_requests(), sent);
    served.stops_cleanly();
}

#[test]
fn ids_given_inline_act_on_exactly_those_runs_and_are_checked_as_a_files_lines() {
    let (sim, _dir, state) = sim_and_state();
    seed_runs(&sim, 60, "QUEUED", "wf", 20, 1, json!({}));
    let runs = sim.dump()["runs"].as_array().unwrap().clone();
    let ids: Vec<String> = runs
        .iter()
        .step_by(6)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 10);
    let served = Served::start(&mut sim.bulkops(&state), Some(API_TOKEN));

    let bad = [
        (
            json!({"operation": "runs cancel", "ids": [ids[0], "not-a-uuid"]}),
            "ids_file",
        ),
        (json!({"operation": "runs cancel", "ids": []}), "ids_file"),
        (
            json!({"operation": "runs cancel", "ids": vec![ids[0].clone(); 10_001]}),
            "too_many_ids",
        ),
        (
            json!({"operation": "runs cancel", "ids": "one"}),
            "bad_body",
        ),
    ];
    for (body, cause) in bad {
        let (status, answer) = served.post("/jobs", body.clone());
        assert_eq!(
            (status, answer["cause"].as_str()),
            (400, Some(cause)),
            "{answer}"
        );
    }
    let (_, answer) = served.post(
        "/jobs",
        json!({"operation": "runs cancel", "ids": [ids[0], "not-a-uuid"]}),
    );
    // The item is named as the request names it: a JSON pointer into the body's array.
    assert_eq!(
        answer["error"],
        "ids[1]: \"not-a-uuid\" is not a UUID: fix or remove that item"
    );
    // With filters, refused as the command line refuses an ids file with them.
    let file = _dir.path().join("ids.txt");
    std::fs::write(&file, ids.join("\n")).unwrap();
    let cli = cli_refusal(
        sim.bulkops(&state),
        &[
            "runs",
            "cancel",
            "--ids-file",
            file.to_str().unwrap(),
            "--since",
            "1d",
            "--yes",
        ],
    );
    let both = json!({"operation": "runs cancel", "ids": ids, "since": "1d"});
    refused_as_the_cli(&served, "/jobs", both, 400, &cli);
    assert_eq!(sim.mutating_requests(), 0, "nothing was sent");

    let job = served.submit(json!({"operation": "runs cancel", "ids": ids}));
    let ended = served.until_ended(&job);
    assert_eq!(ended["counts"]["done"], 10, "{ended}");
    let cancelled: Vec<String> = sim.dump()["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "CANCELLED")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let (mut cancelled, mut asked) = (cancelled, ids.clone());
    cancelled.sort();
    asked.sort();
    assert_eq!(cancelled, asked, "exactly those runs");
    assert_eq!(sim.count("wf", "QUEUED"), 50);
    served.stops_cleanly();
}

/// The live schedules of `worker`, by id, with their next run.
fn next_runs(sim: &HandingerSim, worker: &str) -> std::collections::BTreeMap<String, Value> {
    crate::handinger::live(sim)
        .into_iter()
        .filter(|(w, _)| w == worker)
        .map(|(_, s)| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["nextRunAt"].clone(),
            )
        })
        .collect()
}

#[test]
fn handinger_jobs_run_over_http_validated_as_the_cli_validates_them_and_undo_puts_them_back() {
    let sim = HandingerSim::start();
    let workers = sim.seed(json!({"workers": 2, "per_worker": 6, "types": ["scheduled"]}));
    let (w0, w1) = (workers[0].as_str(), workers[1].as_str());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let served = Served::start(&mut sim.bulkops(&state), Some(API_TOKEN));
    let cancel = "handinger schedules cancel";
    let reschedule = "handinger schedules reschedule";
    let same_as_cli: [(&[&str], Value); 6] = [
        (&["cancel"], json!({"operation": cancel})),
        (
            &["cancel", "--worker", w0, "--type", "weekly"],
            json!({"operation": cancel, "worker": [w0], "type": ["weekly"]}),
        ),
        (
            &["cancel", "--worker", "no-such-worker"],
            json!({"operation": cancel, "worker": ["no-such-worker"]}),
        ),
        (
            &["cancel", "--worker", w0, "--concurrency", "65"],
            json!({"operation": cancel, "worker": [w0], "concurrency": 65}),
        ),
        (
            &["reschedule", "--worker", w0, "--cron", "* * *"],
            json!({"operation": reschedule, "worker": [w0], "cron": "* * *"}),
        ),
        (
            &["reschedule", "--worker", w0, "--interval", "0"],
            json!({"operation": reschedule, "worker": [w0], "interval": 0}),
        ),
    ];
    for (args, body) in same_as_cli {
        let mut cmd = sim.bulkops(&state);
        cmd.args(["handinger", "schedules"]);
        let cli = cli_refusal(cmd, &[args, &["--yes"]].concat());
        refused_as_the_cli(&served, "/jobs", body, 400, &cli);
    }
    let api_only = [
        (
            json!({"operation": reschedule, "worker": [w0], "shift": "1h", "concurrency": 2}),
            "flag_not_offered",
        ),
        (
            json!({"operation": cancel, "worker": [w0], "no-verify": true}),
            "flag_not_offered",
        ),
        (
            json!({"operation": cancel, "worker": [w0], "since": "1d"}),
            "flag_not_offered",
        ),
        (
            json!({"operation": cancel, "workers-file": "/etc/hosts"}),
            "flag_not_offered",
        ),
        (
            json!({"operation": cancel, "worker": [w0], "HANDINGER_API_KEY": "k"}),
            "credentials_in_request",
        ),
        (
            json!({"operation": cancel, "worker": [w0], "ids": ["a b"]}),
            "ids_file",
        ),
        (
            json!({"operation": reschedule, "worker": [w0], "interval": [1]}),
            "bad_body",
        ),
    ];
    for (body, cause) in api_only {
        let (status, answer) = served.post("/jobs", body.clone());
        assert_eq!(
            (status, answer["cause"].as_str()),
            (400, Some(cause)),
            "{body}: {answer}"
        );
    }
    let (_, answer) = served.post(
        "/jobs",
        json!({"operation": cancel, "worker": [w0], "ids": ["ok", "a b"]}),
    );
    assert_eq!(
        answer["error"],
        "ids[1]: \"a b\" is not a schedule id (no spaces, quotes or control characters): fix or remove that item"
    );
    assert_eq!(sim.mutating_requests(), 0, "nothing was sent");

    // A cancel of two schedules by id, one as a report writes it.
    let first = next_runs(&sim, w0);
    let named: Vec<&String> = first.keys().step_by(3).collect();
    assert_eq!(named.len(), 2);
    let ids = json!([named[0], format!("{w0}/{}", named[1])]);
    let job = served.submit(json!({"operation": cancel, "worker": [w0], "ids": ids}));
    let ended = served.until_ended(&job);
    assert_eq!(ended["counts"]["done"], 2, "{ended}");
    let left = next_runs(&sim, w0);
    assert_eq!(left.len(), 4);
    assert!(named.iter().all(|id| !left.contains_key(*id)));
    // A cancel cannot be undone: as the command line says.
    let cli = cli_refusal(sim.bulkops(&state), &["jobs", "undo", &job, "--yes"]);
    refused_as_the_cli(&served, &format!("/jobs/{job}/undo"), json!({}), 400, &cli);

    // A reschedule of the other worker, undone over HTTP: every next run is back.
    let before: Vec<Value> = next_runs(&sim, w1).into_values().collect();
    let job = served.submit(json!({"operation": reschedule, "worker": [w1], "shift": "2h"}));
    let moved = served.until_ended(&job);
    assert_eq!(moved["counts"]["done"], 6, "{moved}");
    let shifted: Vec<Value> = next_runs(&sim, w1).into_values().collect();
    assert_eq!(shifted.len(), 6);
    assert!(shifted.iter().all(|at| !before.contains(at)), "{shifted:?}");
    let (status, begun) = served.post(&format!("/jobs/{job}/undo"), json!({}));
    assert_eq!(status, 202, "{begun}");
    let undo = begun["job"].as_str().unwrap().to_string();
    let undone = served.until_ended(&undo);
    assert_eq!(undone["counts"]["done"], 6, "{undone}");
    let mut after: Vec<Value> = next_runs(&sim, w1).into_values().collect();
    let mut before = before;
    let key = |v: &Value| v.to_string();
    after.sort_by_key(key);
    before.sort_by_key(key);
    assert_eq!(after, before, "every original next run is back");
    assert_eq!(sim.stats()["duplicate_creates"], 0);
    let cli = cli_refusal(sim.bulkops(&state), &["jobs", "undo", &job, "--yes"]);
    refused_as_the_cli(&served, &format!("/jobs/{job}/undo"), json!({}), 409, &cli);
    served.stops_cleanly();
}

#[test]
fn check_config_checks_what_serve_checks_before_it_serves_and_binds_its_addresses_only_to_let_them_go(
) {
    let (sim, dir, state) = sim_and_state();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/jobs");
    let examples = examples.to_str().expect("a path");
    // Free ports: the check binds them and lets them go again.
    let free_port = || {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().to_string()
    };
    let (listen, metrics_addr) = (free_port(), free_port());
    let check = |args: &[&str]| {
        run(sim
            .bulkops(&state)
            .args(["serve", "--check-config"])
            .args(args))
    };
    let valid = check(&[
        "--listen",
        &listen,
        "--metrics-addr",
        &metrics_addr,
        "--jobs-dir",
        examples,
        "-o",
        "json",
    ]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    assert_eq!(
        valid.summary(),
        json!({"valid": true, "listen": listen, "metrics_addr": metrics_addr, "scheduled_jobs": 2})
    );
    let text = check(&["--listen", &listen]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(
        text.stdout.trim(),
        format!("configuration valid: serve would listen on {listen}, with 0 scheduled jobs")
    );
    for let_go in [&listen, &metrics_addr] {
        std::net::TcpListener::bind(let_go).expect("the check let the address go");
    }

    // Each refused with exit 2 and one line, as serve itself refuses it.
    let bad_job = jobs_dir(
        dir.path(),
        &[(
            "bad.toml",
            "cron = \"61 * * * *\"\noperation = \"runs cancel\"\nsince = \"1d\"\n",
        )],
    );
    let bad_job = bad_job.to_str().expect("a path");
    // Each: serve's arguments, its environment, what the one line says.
    type Refusal<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    // Ports held here, as another process would hold them.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held_listen = held.local_addr().unwrap().to_string();
    let metrics = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held_metrics = metrics.local_addr().unwrap().to_string();
    let listen_taken = format!("cannot listen on {held_listen}");
    let refusals: [Refusal; 6] = [
        (&["--listen", &held_listen], &[], &listen_taken),
        (&["--metrics-addr", &held_metrics], &[], &held_metrics),
        (&["--listen", "0.0.0.0:0"], &[], "without an API token"),
        (
            &["--jobs-dir", bad_job],
            &[],
            "bad.toml: cron \"61 * * * *\"",
        ),
        (&[], &[("BULKOPS_RATE", "0")], "rate"),
        (&["--metrics-addr", "nowhere"], &[], "nowhere"),
    ];
    for (args, env, says) in refusals {
        let mut cmd = sim.bulkops(&state);
        cmd.args(["serve"]).args(args);
        cmd.envs(env.iter().copied());
        let served = run(&mut cmd);
        let checked = run(sim
            .bulkops(&state)
            .args(["serve", "--check-config"])
            .args(args)
            .envs(env.iter().copied()));
        assert_eq!(
            (checked.code, served.code),
            (2, 2),
            "{args:?}: {}",
            checked.stderr
        );
        let said = errors(&checked.stderr);
        assert_eq!(said, errors(&served.stderr), "{args:?}");
        assert_eq!(said.len(), 1, "{args:?}: {}", checked.stderr);
        assert!(said[0].contains(says), "{args:?}: {}", said[0]);
        assert!(checked.stdout.is_empty(), "{}", checked.stdout);
    }
    assert_eq!(sim.mutating_requests(), 0);
    drop((held, metrics));
}
