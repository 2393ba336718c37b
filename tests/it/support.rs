//! Helpers: spawn the simulator on port 0, run the bulkops binary against it, read the
//! simulator's counters.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use rand::Rng;
use serde_json::{json, Value};

/// A simulator binary, built once per test run (each lives in another workspace package, so
/// cargo does not build it for this crate's tests by itself).
fn sim_binary(package: &'static str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<Vec<&'static str>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !built.contains(&package) {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", package])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building {package} failed");
        built.push(package);
    }
    let dir = Path::new(env!("CARGO_BIN_EXE_bulkops"))
        .parent()
        .expect("target dir");
    let bin = dir.join(package);
    assert!(bin.exists(), "{package} not found at {}", bin.display());
    bin
}

/// A simulator process on 127.0.0.1:0, its first stdout line (its address and credentials),
/// and its control API (`/_sim/seed`, `/_sim/faults`, `/_sim/stats`, `/_sim/dump`).
struct SimProcess {
    child: Child,
    url: String,
    http: reqwest::blocking::Client,
}

impl SimProcess {
    fn start(package: &'static str, args: &[&str]) -> (SimProcess, Value) {
        let mut child = Command::new(sim_binary(package))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("simulator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("simulator prints its address");
        let hello: Value = serde_json::from_str(&line).expect("one JSON line");
        let process = SimProcess {
            child,
            url: hello["url"].as_str().expect("url").to_string(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        };
        (process, hello)
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .expect("simulator answers");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().expect("json")
    }

    fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .json()
            .expect("json")
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A simulator that bulkops can be aimed at.
pub trait Simulated {
    /// A `bulkops` command aimed at this simulator with its credentials.
    fn bulkops(&self, state: &Path) -> Command;
}

pub struct Sim {
    process: SimProcess,
    pub url: String,
    pub token: String,
    pub tenant: String,
}

impl Sim {
    pub fn start() -> Sim {
        Sim::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Sim {
        let (process, hello) = SimProcess::start("hatchet-sim", args);
        Sim {
            url: process.url.clone(),
            process,
            token: hello["token"].as_str().expect("token").to_string(),
            tenant: hello["tenant"].as_str().expect("tenant").to_string(),
        }
    }

    pub fn seed(&self, body: Value) -> Value {
        self.process.post("/_sim/seed", body)
    }

    pub fn faults(&self, body: Value) {
        self.process.post("/_sim/faults", body);
    }

    pub fn stats(&self) -> Value {
        self.process.get("/_sim/stats")
    }

    pub fn dump(&self) -> Value {
        self.process.get("/_sim/dump")
    }

    /// When each `/api` request arrived (`arrivals_ms`, ms since the Unix epoch, in order).
    pub fn arrivals(&self) -> Value {
        self.process.get("/_sim/arrivals")
    }

    /// Runs of `workflow` in `status`, per the simulator.
    pub fn count(&self, workflow: &str, status: &str) -> u64 {
        self.stats()["runs_by_workflow"][workflow][status]
            .as_u64()
            .unwrap_or(0)
    }

    pub fn mutating_requests(&self) -> u64 {
        self.stats()["mutating_requests"].as_u64().expect("counter")
    }

    /// A `bulkops` command aimed at this simulator with its own token.
    pub fn bulkops(&self, state: &Path) -> Command {
        let mut cmd = bulkops_command(state);
        cmd.env("HATCHET_CLIENT_TOKEN", &self.token);
        cmd
    }

    /// Ends the simulator at once, as a crashed or unreachable server.
    pub fn stop(&mut self) {
        self.process.stop();
    }
}

impl Simulated for Sim {
    fn bulkops(&self, state: &Path) -> Command {
        Sim::bulkops(self, state)
    }
}

/// The Handinger simulator (`handinger-sim`).
pub struct HandingerSim {
    process: SimProcess,
    pub url: String,
    pub api_key: String,
}

impl HandingerSim {
    pub fn start() -> HandingerSim {
        let (process, hello) = SimProcess::start("handinger-sim", &[]);
        HandingerSim {
            url: process.url.clone(),
            process,
            api_key: hello["api_key"].as_str().expect("api_key").to_string(),
        }
    }

    /// Seeds schedules as `body` says (`workers`, `per_worker`, `types`, ...) and returns the
    /// workers' ids.
    pub fn seed(&self, body: Value) -> Vec<String> {
        let seeded = self.process.post("/_sim/seed", body);
        serde_json::from_value(seeded["workers"].clone()).expect("worker ids")
    }

    pub fn faults(&self, body: Value) {
        self.process.post("/_sim/faults", body);
    }

    pub fn stats(&self) -> Value {
        self.process.get("/_sim/stats")
    }

    pub fn dump(&self) -> Value {
        self.process.get("/_sim/dump")
    }

    pub fn mutating_requests(&self) -> u64 {
        self.stats()["mutating_requests"].as_u64().expect("counter")
    }
}

impl Simulated for HandingerSim {
    fn bulkops(&self, state: &Path) -> Command {
        let mut cmd = bulkops_command(state);
        cmd.env("HANDINGER_API_KEY", &self.api_key);
        cmd.env("HANDINGER_BASE_URL", &self.url);
        cmd
    }
}

/// The bulkops binary with a clean environment (no ambient Hatchet or BULKOPS settings) and the
/// state `state` stands for (see `StateKind`).
pub fn bulkops_command(state: &Path) -> Command {
    let mut cmd = bulkops_with_default_state();
    match StateKind::of_this_run() {
        StateKind::Sqlite => {
            cmd.arg("--state").arg(state);
        }
        StateKind::Postgres => {
            // Reports where a state file would have them, so the suite reads them in one place.
            let stem = state.file_stem().unwrap_or_default().to_string_lossy();
            let reports = state.with_file_name(format!("{stem}-reports"));
            cmd.arg("--state")
                .arg(postgres_state(state))
                .arg("--reports-dir")
                .arg(reports);
        }
    }
    cmd
}

/// The store the suite runs against: `BULKOPS_IT_STORE=postgres` gives each state path the
/// tests name a schema of its own in the database `BULKOPS_TEST_POSTGRES_URL` names (the test
/// command runs the crash and safety modules a second time so), anything else the SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    Sqlite,
    Postgres,
}

impl StateKind {
    pub fn of_this_run() -> StateKind {
        match std::env::var("BULKOPS_IT_STORE").as_deref() {
            Ok("postgres") => StateKind::Postgres,
            _ => StateKind::Sqlite,
        }
    }
}

/// The PostgreSQL URL that stands for the state file `state`: one schema per path (each test's
/// paths are in a temporary directory of its own), made on first use. The database is the test
/// command's to drop.
pub fn postgres_state(state: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let base = std::env::var("BULKOPS_TEST_POSTGRES_URL").expect(
        "BULKOPS_IT_STORE=postgres needs BULKOPS_TEST_POSTGRES_URL: \
         run `bash scripts/store-test-db.sh` and set it to the URL it prints",
    );
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    state.hash(&mut hasher);
    let schema = format!("it_{:016x}", hasher.finish());
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap_or_else(|e| {
        panic!("the test database does not answer ({e}): run scripts/store-test-db.sh")
    });
    admin
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .expect("the test schema is made");
    let joiner = if base.contains('?') { '&' } else { '?' };
    format!("{base}{joiner}options=-c%20search_path%3D{schema}")
}

/// The bulkops binary with a clean environment and no `--state`: it uses its default state.
pub fn bulkops_with_default_state() -> Command {
    let mut cmd = bulkops_bare();
    cmd.arg("--log-format").arg("json");
    cmd
}

/// `bulkops_command` without its global flags, for tests of those flags themselves.
pub fn bulkops_bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bulkops"));
    for (key, _) in std::env::vars_os() {
        let ambient = key.to_str().is_some_and(|key| {
            key.starts_with("HATCHET_CLIENT_")
                || key.starts_with("HANDINGER_")
                || key.to_ascii_uppercase().starts_with("BULKOPS_")
        });
        if ambient {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Every stdout line as JSON: a line that does not parse fails the test.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// The `-o json` summary (last stdout line).
    pub fn summary(&self) -> Value {
        let line = self.stdout.lines().last().unwrap_or("");
        serde_json::from_str(line).unwrap_or_else(|_| {
            panic!(
                "no JSON summary on stdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn run(cmd: &mut Command) -> Ran {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("bulkops runs");
    Ran {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// An RFC 3339 time `hours` ago.
pub fn hours_ago(hours: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339()
}

/// A token shaped like Hatchet's, with the given claims (signature is not checked by clients).
pub fn mint_token(claims: Value) -> String {
    let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.c2ln",
        enc(br#"{"alg":"ES256","typ":"JWT"}"#),
        enc(claims.to_string().as_bytes())
    )
}

pub fn seed_runs(
    sim: &Sim,
    n: u64,
    status: &str,
    workflow: &str,
    from_h: i64,
    to_h: i64,
    metadata: Value,
) {
    let seeded = sim.seed(json!({
        "runs": n, "status": status, "workflow": workflow, "metadata": metadata,
        "created_from": hours_ago(from_h), "created_to": hours_ago(to_h),
    }));
    assert_eq!(seeded["seeded"].as_u64(), Some(n));
}

/// Starts `cmd`, sends it SIGTERM once it has reported progress (its first chunks done), however
/// slow the machine is, and waits for it to exit.
pub fn interrupt_after_progress(cmd: &mut Command) -> Ran {
    after_progress(cmd, Duration::from_secs(120), terminate)
}

/// Sends SIGTERM to `pid`, as a supervisor stopping bulkops would.
pub fn terminate(pid: u32) {
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(killed.expect("kill runs").success());
}

/// Starts `cmd`, calls `act` with its pid once it has reported progress (its first chunks
/// done), however slow the machine is, and waits for it to exit. A process still running
/// `deadline` after `act` is killed and the test fails: `act` was meant to end it sooner.
pub fn after_progress(cmd: &mut Command, deadline: Duration, act: impl FnOnce(u32)) -> Ran {
    let processed = |event: &Value| event["processed"].as_u64().is_some_and(|n| n > 0);
    after_event(cmd, processed, deadline, act)
}

/// `after_progress` with another trigger: `act` runs once a JSON line on stderr satisfies
/// `trigger`.
pub fn after_event(
    cmd: &mut Command,
    trigger: impl Fn(&Value) -> bool + Send + 'static,
    deadline: Duration,
    act: impl FnOnce(u32),
) -> Ran {
    let on_json = move |line: &str| trigger(&serde_json::from_str(line).unwrap_or_default());
    after_line(cmd, on_json, deadline, act)
}

/// `after_event` for any line on stderr, JSON or not.
pub fn after_line(
    cmd: &mut Command,
    trigger: impl Fn(&str) -> bool + Send + 'static,
    deadline: Duration,
    act: impl FnOnce(u32),
) -> Ran {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bulkops starts");
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    // Keep draining stderr so the child never blocks on it; keep it for failure messages.
    let drained = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if trigger(&line) {
                let _ = started_tx.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    started_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("bulkops printed the awaited line");
    act(child.id());
    let (out, overdue) = exit_within(child, deadline);
    let stderr = drained.join().unwrap_or_default();
    assert!(
        !overdue,
        "bulkops was still running {deadline:?} later:\n{stderr}"
    );
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    }
}

/// Waits for `child` to exit: one still running `deadline` later is killed, and the test fails.
pub fn wait_or_kill(child: Child, deadline: Duration) -> Ran {
    let (out, overdue) = exit_within(child, deadline);
    let ran = Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !overdue,
        "bulkops was still running {deadline:?} later:\n{}",
        ran.stderr
    );
    ran
}

/// `child`'s output once it exits, and whether it had to be killed for running past
/// `deadline`.
fn exit_within(child: Child, deadline: Duration) -> (Output, bool) {
    let pid = child.id();
    let (exited_tx, exited_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let overdue = exited_rx.recv_timeout(deadline).is_err();
        if overdue {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        overdue
    });
    let out = child.wait_with_output().expect("bulkops exits");
    let _ = exited_tx.send(());
    (out, watchdog.join().unwrap_or(true))
}

/// The id of the only job in the state file.
pub fn only_job(sim: &Sim, state: &Path) -> String {
    let jobs = run(sim.bulkops(state).args(["jobs", "list", "-o", "json"]));
    let lines: Vec<&str> = jobs.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", jobs.stdout);
    let job: Value = serde_json::from_str(lines[0]).expect("a JSON job line");
    job["job"].as_str().expect("job id").to_string()
}

/// A cancel of 10,000 runs in chunks of 100 at 0.5 requests/s: minutes long, so it is still
/// running whenever the test looks.
pub const SLOW_CANCEL: [&str; 11] = [
    "runs",
    "cancel",
    "--since",
    "1d",
    "--yes",
    "-o",
    "json",
    "--rate",
    "0.5",
    "--chunk-size",
    "100",
];

/// The lines of stderr that are not log lines (JSON objects), with an error that `-o json`
/// wrote as one JSON object shown as the text form would have it: `error: MESSAGE`.
pub fn error_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| match serde_json::from_str::<Value>(l) {
            Ok(v) if v.is_object() => json_error(&v),
            _ => Some(l.to_string()),
        })
        .collect()
}

/// An error as `-o json` writes it on stderr (`error`, `cause`, `exit_code`), in its text form.
fn json_error(line: &Value) -> Option<String> {
    let message = line["error"].as_str()?;
    line["cause"].as_str()?;
    line["exit_code"].as_u64()?;
    Some(format!("error: {message}"))
}

/// The `error: ` lines of stderr, whichever `-o` wrote them.
pub fn errors(stderr: &str) -> Vec<String> {
    error_lines(stderr)
        .into_iter()
        .filter(|l| l.starts_with("error: "))
        .collect()
}

/// Replay pacing for tests that send many chunks (the default is 2s between replay requests).
pub const FAST_REPLAYS: &str = "20ms";

/// Starts the job `times` times in chunks of 250, each run killed with SIGKILL after a random
/// 0.2 to 1.2 s. `rate` must keep the whole job longer than all the runs together, so that every
/// kill lands before the end (a re-run after the end would start a new job).
pub fn kill_at_random(sim: &impl Simulated, state: &Path, args: &[&str], times: usize, rate: &str) {
    let mut rng = rand::rng();
    for _ in 0..times {
        let mut child = sim
            .bulkops(state)
            .args(args)
            .args(["--rate", rate, "--chunk-size", "250"])
            .env("BULKOPS_VERIFY_POLL", "200ms")
            .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bulkops starts");
        std::thread::sleep(Duration::from_millis(rng.random_range(200..1200)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
}
