//! Several `bulkops` processes on one job through a PostgreSQL state (issue 11 points 2 and 3):
//! they join it instead of being refused, split its chunks and its rate, and take over from one
//! killed with `kill -9`. Each test makes a schema of its own in the database
//! `BULKOPS_TEST_POSTGRES_URL` names, whichever store the rest of the suite runs on (so these
//! run in both of the test command's passes), and fails without one: it never skips.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{bulkops_with_default_state, postgres_state, seed_runs, Ran, Sim};

/// The job's rate: every replica together, as the simulator must see it.
const RATE: f64 = 50.0;

/// A `bulkops` aimed at `sim` with the PostgreSQL state that stands for `state`.
fn on_postgres(sim: &Sim, state: &Path) -> Command {
    let mut cmd = bulkops_with_default_state();
    let reports = state.with_file_name("reports");
    cmd.arg("--state")
        .arg(postgres_state(state))
        .arg("--reports-dir")
        .arg(reports)
        .env("HATCHET_CLIENT_TOKEN", &sim.token);
    cmd
}

/// A running replica: its stderr drained on a thread (kept for the failure messages), and the
/// moment it first reported items processed.
struct Replica {
    child: Child,
    progressed: mpsc::Receiver<()>,
    stderr: JoinHandle<String>,
}

impl Replica {
    fn start(cmd: &mut Command) -> Replica {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bulkops starts");
        let (tx, progressed) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let event: Value = serde_json::from_str(&line).unwrap_or_default();
                if event["processed"].as_u64().is_some_and(|n| n > 0) {
                    let _ = tx.send(());
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        Replica {
            child,
            progressed,
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_for_progress(&self) {
        self.progressed
            .recv_timeout(Duration::from_secs(90))
            .expect("the replica processed items");
    }

    fn kill_9(&mut self) {
        self.child.kill().expect("kill -9");
    }

    fn wait(self) -> Ran {
        let out = self.child.wait_with_output().expect("bulkops exits");
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: self.stderr.join().unwrap_or_default(),
        }
    }
}

/// This host's name as `store::this_process()` writes it into leases (`host:pid`).
fn lease_owner(pid: u32) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    format!("{}:{pid}", host.trim())
}

fn database(state: &Path) -> postgres::Client {
    postgres::Client::connect(&postgres_state(state), postgres::NoTls).expect("the test database")
}

fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
    assert!(sent.expect("kill runs").success());
}

/// Chunks `owner` holds now.
fn chunks_held(db: &mut postgres::Client, owner: &str) -> i64 {
    db.query_one("SELECT COUNT(*) FROM chunks WHERE owner = $1", &[&owner])
        .expect("chunks")
        .get(0)
}

/// The most requests the simulator saw in one second, and in two seconds running, from
/// `/_sim/stats`'s per-second counts.
fn busiest(stats: &Value) -> (u64, u64) {
    let per_second: Vec<(u64, u64)> = stats["requests_per_second"]
        .as_object()
        .expect("requests per second")
        .iter()
        .map(|(second, n)| (second.parse().expect("a second"), n.as_u64().expect("n")))
        .collect();
    let at = |second: u64| {
        per_second
            .iter()
            .find(|(s, _)| *s == second)
            .map_or(0, |(_, n)| *n)
    };
    let one = per_second.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let two = per_second
        .iter()
        .map(|(s, n)| n + at(s + 1))
        .max()
        .unwrap_or(0);
    (one, two)
}

#[test]
fn three_replicas_share_a_cancel_and_a_killed_one_is_taken_over() {
    let sim = Sim::start();
    // Every request takes a moment, so a chunk is on the wire most of the time.
    sim.faults(json!({"latency_ms": 30}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 100_000, "QUEUED", "wf", 20, 1, json!({}));
    let rate = RATE.to_string();
    let command = || {
        let mut cmd = on_postgres(&sim, &state);
        cmd.args(["runs", "cancel", "--since", "1d", "--workflow", "wf"])
            .args(["--yes", "-o", "json", "--chunk-size", "200"])
            .args(["--rate", &rate]);
        cmd
    };
    let started = Instant::now();
    let mut first = Replica::start(&mut command());
    first.wait_for_progress();
    // The second joins with the same command, the third with `jobs resume`, each once the one
    // before it is under way.
    let second = Replica::start(&mut command());
    second.wait_for_progress();
    let job = {
        let mut db = database(&state);
        let row = db.query_one("SELECT id FROM jobs", &[]).expect("one job");
        row.get::<_, String>(0)
    };
    let third = Replica::start(
        on_postgres(&sim, &state)
            .args(["jobs", "resume", &job, "-o", "json"])
            .args(["--rate", &rate]),
    );
    third.wait_for_progress();

    // The first (the one that enumerates) is killed while it holds a chunk: stopped first, so
    // that what it holds cannot change between the look and the kill.
    let mut db = database(&state);
    let killed = lease_owner(first.pid());
    let deadline = Instant::now() + Duration::from_secs(60);
    let held_when_killed = loop {
        signal(first.pid(), "-STOP");
        let held = chunks_held(&mut db, &killed);
        if held > 0 {
            first.kill_9();
            break held;
        }
        signal(first.pid(), "-CONT");
        assert!(
            Instant::now() < deadline,
            "the first replica never held a chunk"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let first = first.wait();
    assert_ne!(first.code, 0);

    let (second, third) = (second.wait(), third.wait());
    let took = started.elapsed();
    for (name, ran) in [("second", &second), ("third", &third)] {
        assert_eq!(ran.code, 0, "the {name} replica:\n{}", ran.stderr);
        let requests = ran.summary()["run"]["requests"]
            .as_u64()
            .unwrap_or_default();
        assert!(
            requests > 10,
            "the {name} replica took part: {}",
            ran.stdout
        );
    }

    // One of the two completed the job and reported it.
    let reported = [&second, &third]
        .iter()
        .filter(|ran| ran.summary()["report"].is_string())
        .count();
    assert_eq!(reported, 1, "{}\n{}", second.stdout, third.stdout);

    // Every run cancelled, nothing else touched.
    assert_eq!(sim.count("wf", "CANCELLED"), 100_000);
    assert_eq!(sim.count("wf", "QUEUED"), 0);
    let dump = sim.dump();
    let cancelled_twice = dump["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|run| run["cancels"].as_u64() > Some(1))
        .count() as i64;
    // Only what the killed replica had on the wire can have gone out twice (cancel is
    // idempotent, so its chunks are sent again rather than reconciled).
    assert!(
        cancelled_twice <= held_when_killed * 200,
        "{cancelled_twice} runs cancelled twice"
    );

    // No chunk completed twice: each item's outcome was recorded once, every chunk is done
    // and nobody's, and the job finished.
    let row = db
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE state = 'done'), MAX(attempts), MIN(attempts) \
             FROM items",
            &[],
        )
        .expect("items");
    let (done, most, least): (i64, i32, i32) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((done, most, least), (100_000, 1, 1));
    let row = db
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE state <> 'done' OR owner IS NOT NULL), COUNT(*) \
             FROM chunks",
            &[],
        )
        .expect("chunks");
    let (open, chunks): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((open, chunks), (0, 500));
    let row = db
        .query_one(
            "SELECT state, (SELECT COUNT(*) FROM replicas) FROM jobs",
            &[],
        )
        .expect("the job");
    let (job_state, replicas): (String, i64) = (row.get(0), row.get(1));
    assert_eq!((job_state.as_str(), replicas), ("finished", 0));

    // The server never saw more than the job's rate, whoever sent.
    let (one_second, two_seconds) = busiest(&sim.stats());
    eprintln!(
        "three replicas: {took:?}; busiest second {one_second} requests, busiest two seconds \
         {two_seconds}, at a job rate of {RATE}/s"
    );
    assert!(
        one_second as f64 <= RATE * 1.1,
        "{one_second} requests in one second at a rate of {RATE}"
    );
    assert!(two_seconds as f64 <= 2.0 * RATE * 1.1);
}

/// The most requests the simulator saw in any window of `window_ms` (sliding, to the
/// millisecond), from `/_sim/arrivals`.
fn busiest_window(arrivals: &Value, window_ms: u64) -> usize {
    let at: Vec<u64> = arrivals["arrivals_ms"]
        .as_array()
        .expect("arrival times")
        .iter()
        .map(|t| t.as_u64().expect("milliseconds"))
        .collect();
    let mut most = 0;
    let mut first = 0;
    for (last, &t) in at.iter().enumerate() {
        while t - at[first] >= window_ms {
            first += 1;
        }
        most = most.max(last + 1 - first);
    }
    most
}

#[test]
fn replicas_started_together_keep_to_the_jobs_rate_from_their_first_request() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 300, "QUEUED", "wf", 20, 1, json!({}));
    const REPLICAS: usize = 3;
    const JOB_RATE: u64 = 5;
    let replicas: Vec<Replica> = (0..REPLICAS)
        .map(|_| {
            Replica::start(
                on_postgres(&sim, &state)
                    .args(["runs", "cancel", "--since", "1d", "--workflow", "wf"])
                    .args(["--yes", "-o", "json", "--chunk-size", "25"])
                    .args(["--rate", &JOB_RATE.to_string()])
                    .env("BULKOPS_VERIFY_POLL", "100ms"),
            )
        })
        .collect();
    for ran in replicas.into_iter().map(Replica::wait) {
        assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
        let requests = ran.summary()["run"]["requests"].as_u64();
        assert!(requests > Some(0), "each replica took part: {}", ran.stdout);
    }
    assert_eq!(sim.count("wf", "CANCELLED"), 300);
    // Every request counts, the token check, the workflow lookups and the first look at the
    // selection included. Each replica's limiter holds one slot of credit (its first request,
    // or the first after its share changed, may go at once), so in a window of W seconds the
    // replicas together may send at most W × the job's rate + one request each; on main the
    // three sent their start-up requests at 50/s each, outside the job's rate.
    let arrivals = sim.arrivals();
    for seconds in [1, 2, 4] {
        let busiest = busiest_window(&arrivals, seconds * 1000);
        let bound = (seconds * JOB_RATE) as usize + REPLICAS;
        eprintln!("busiest {seconds} s: {busiest} requests (at most {bound})");
        assert!(
            busiest <= bound,
            "{busiest} requests in {seconds} s at a job rate of {JOB_RATE}/s over {REPLICAS} \
             replicas (at most {bound}): {arrivals}"
        );
    }
}

#[test]
fn a_service_replica_stopped_by_sigterm_leaves_its_chunks_to_the_replica_sharing_its_job() {
    let sim = Sim::start();
    sim.faults(json!({"latency_ms": 30}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 6_000, "QUEUED", "wf", 20, 1, json!({}));
    // A CLI replica runs job `shared`; a service fires the same job from its file every second
    // and so joins it.
    let cli = Replica::start(
        on_postgres(&sim, &state)
            .args([
                "runs",
                "cancel",
                "--since",
                "1d",
                "--workflow",
                "wf",
                "--job",
                "shared",
            ])
            .args(["--yes", "-o", "json", "--chunk-size", "50", "--rate", "10"])
            .env("BULKOPS_VERIFY_POLL", "100ms"),
    );
    cli.wait_for_progress();
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    std::fs::write(
        jobs.join("shared.toml"),
        "cron = \"* * * * * *\"\noperation = \"runs cancel\"\nsince = \"1d\"\n\
         workflow = [\"wf\"]\nchunk-size = 50\nrate = 10\n",
    )
    .unwrap();
    let service = Replica::start(
        on_postgres(&sim, &state)
            .args(["serve", "--listen", "127.0.0.1:0", "--jobs-dir"])
            .arg(&jobs),
    );
    let served_by = lease_owner(service.pid());
    let mut db = database(&state);
    let deadline = Instant::now() + Duration::from_secs(60);
    while chunks_held(&mut db, &served_by) == 0 {
        assert!(Instant::now() < deadline, "the service never took a chunk");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(service.pid(), "-TERM");
    let served = service.wait();
    assert_eq!(served.code, 0, "{}", served.stderr);
    assert!(
        served
            .stderr
            .contains("every job this process ran was stopped and released"),
        "{}",
        served.stderr
    );
    // Released as it stopped: nothing of the job is still its.
    let row = db
        .query_one(
            "SELECT (SELECT COUNT(*) FROM chunks WHERE owner = $1), \
             (SELECT COUNT(*) FROM replicas WHERE owner = $1), \
             (SELECT state FROM jobs)",
            &[&served_by],
        )
        .expect("the job");
    let (held, replica, job_state): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((held, replica, job_state.as_str()), (0, 0, "running"));

    // The CLI replica finishes the job, every run cancelled and each item recorded once.
    let ran = cli.wait();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["state"], "finished", "{}", ran.stdout);
    assert_eq!(sim.count("wf", "CANCELLED"), 6_000);
    assert_every_item_done_once(&mut db, 6_000);
}

/// Every one of the job's `n` items is done, each recorded once.
fn assert_every_item_done_once(db: &mut postgres::Client, n: i64) {
    let row = db
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE state = 'done'), MAX(attempts) FROM items",
            &[],
        )
        .expect("items");
    let (done, most): (i64, i32) = (row.get(0), row.get(1));
    assert_eq!((done, most), (n, 1));
}

/// Who holds the job's lease now (`host:pid`), if anyone.
fn lease_holder(db: &mut postgres::Client) -> Option<String> {
    db.query_opt("SELECT owner FROM jobs WHERE owner IS NOT NULL", &[])
        .expect("the job")
        .map(|row| row.get(0))
}

/// Chunks `owner` has marked `sending`: requests of a non-idempotent operation in flight.
fn chunks_sending(db: &mut postgres::Client, owner: &str) -> i64 {
    db.query_one(
        "SELECT COUNT(*) FROM chunks WHERE owner = $1 AND state = 'sending'",
        &[&owner],
    )
    .expect("chunks")
    .get(0)
}

#[test]
fn three_replicas_on_one_replay_killed_twice_replay_each_run_once() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 3_000, "FAILED", "wf", 20, 1, json!({}));
    seed_runs(&sim, 500, "COMPLETED", "wf", 20, 1, json!({}));
    let start = || {
        Replica::start(
            on_postgres(&sim, &state)
                .args(["runs", "replay", "--since", "1d", "--workflow", "wf"])
                .args(["--yes", "-o", "json", "--chunk-size", "100"])
                .args(["--rate", "50", "--verify-timeout", "5s"])
                .env("BULKOPS_VERIFY_POLL", "100ms")
                .env("BULKOPS_REPLAY_INTERVAL", crate::support::FAST_REPLAYS),
        )
    };
    // Started together: one runs the job, the others stand by.
    let mut replicas: Vec<Replica> = (0..3).map(|_| start()).collect();
    let mut db = database(&state);
    let mut killed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while killed.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "no replica was ever caught sending"
        );
        std::thread::sleep(Duration::from_millis(5));
        let Some(holder) = lease_holder(&mut db) else {
            continue;
        };
        let Some(at) = replicas.iter().position(|r| lease_owner(r.pid()) == holder) else {
            continue;
        };
        // Stopped first, so that what it holds cannot change between the look and the kill.
        signal(replicas[at].pid(), "-STOP");
        if chunks_sending(&mut db, &holder) == 0 {
            signal(replicas[at].pid(), "-CONT");
            continue;
        }
        let mut victim = replicas.remove(at);
        victim.kill_9();
        killed.push(victim.wait());
    }
    assert!(killed.iter().all(|ran| ran.code != 0));
    let last = replicas.pop().expect("one left").wait();
    assert_eq!(last.code, 0, "{}", last.stderr);
    let summary = last.summary();
    assert_eq!(summary["state"], "finished", "{summary}");
    assert_eq!(summary["counts"]["done"], 3_000, "{summary}");
    assert_eq!(
        summary["counts"]["total"], 3_000,
        "the completed runs are not selected"
    );
    assert!(
        last.stderr.contains("standing by to take it over"),
        "the last one stood by first"
    );
    assert!(
        last.stderr
            .contains("checking an in-doubt chunk before resending anything"),
        "the chunk the one before it was sending was reconciled, not resent blindly"
    );

    let stats = sim.stats();
    assert_eq!(stats["max_replays_per_run"], 1, "a run was replayed twice");
    assert_eq!(stats["replayed_runs"], 3_000);
    assert_eq!(stats["wedged_runs"], 0);
}

/// The chunks `replica`'s debug log says it answered (sent and got an answer for).
fn chunks_answered(replica: &Ran) -> Vec<i64> {
    replica
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "chunk answered")
        .filter(|line| line["fields"]["interrupted"] == false)
        .filter_map(|line| line["span"]["chunk"].as_i64())
        .collect()
}

#[test]
fn a_replicas_verify_timeout_settles_only_the_items_it_may_judge() {
    // A cancel shows on the server 3 s after it was accepted.
    let sim = Sim::start_with(&["--cancel-delay-ms", "3000"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 5_000, "QUEUED", "wf", 20, 1, json!({}));
    // The first replica gives up on a confirmation after 1 s, the second waits a minute: the
    // first's timeout must not settle what the second sent.
    let command = |verify_timeout: &str| {
        let mut cmd = on_postgres(&sim, &state);
        cmd.args(["runs", "cancel", "--since", "1d", "--workflow", "wf"])
            .args(["--yes", "-o", "json", "--chunk-size", "100", "--rate", "10"])
            .args(["--verify-timeout", verify_timeout])
            .env("BULKOPS_VERIFY_POLL", "100ms")
            .env("RUST_LOG", "bulkops=debug");
        cmd
    };
    let impatient = Replica::start(&mut command("1s"));
    impatient.wait_for_progress();
    let patient = Replica::start(&mut command("60s"));
    let (impatient, patient) = (impatient.wait(), patient.wait());
    for ran in [&impatient, &patient] {
        assert!(ran.code <= 1, "{}", ran.stderr);
    }
    let sent_by_patient = chunks_answered(&patient);
    assert!(
        sent_by_patient.len() > 3,
        "the second replica took part: {sent_by_patient:?}"
    );
    let mut db = database(&state);
    let rows = db
        .query(
            "SELECT chunk, state, COALESCE(reason, '') FROM items \
             WHERE chunk = ANY($1) AND state <> 'done'",
            &[&sent_by_patient],
        )
        .expect("items");
    let early: Vec<(i64, String, String)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert!(
        early.is_empty(),
        "{} items the second replica sent (and would have confirmed within its minute) were \
         settled by the first: {:?}",
        early.len(),
        early.first()
    );
    // The first one's own items did run out of time.
    let unconfirmed: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM items WHERE state = 'unconfirmed'",
            &[],
        )
        .expect("items")
        .get(0);
    assert!(unconfirmed > 0, "the first replica's items ran out of time");
    assert_eq!(sim.count("wf", "CANCELLED"), 5_000);
}

#[test]
fn a_shared_job_is_completed_and_reported_once_by_the_replica_that_completes_it() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 4_000, "QUEUED", "wf", 20, 1, json!({}));
    let start = || {
        Replica::start(
            on_postgres(&sim, &state)
                .args(["runs", "cancel", "--since", "1d", "--workflow", "wf"])
                .args(["--yes", "-o", "json", "--chunk-size", "100", "--rate", "5"])
                .env("BULKOPS_VERIFY_POLL", "100ms"),
        )
    };
    // 40 chunks at 5 requests/s: the job still runs when the others arrive (a newcomer waits
    // for its share before it joins; at 20/s, under load, the job had ended and one began
    // another).
    let first = start();
    first.wait_for_progress();
    let others = [start(), start()];
    let owners: Vec<String> = std::iter::once(&first)
        .chain(&others)
        .map(|r| lease_owner(r.pid()))
        .collect();
    let ran: Vec<Ran> = std::iter::once(first)
        .chain(others)
        .map(Replica::wait)
        .collect();
    for r in &ran {
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.summary()["counts"]["total"], 4_000, "{}", r.stdout);
    }
    let completing: Vec<usize> = (0..ran.len())
        .filter(|&i| ran[i].summary()["report"].is_string())
        .collect();
    assert_eq!(
        completing.len(),
        1,
        "one replica completes and reports the job: {:#?}",
        ran.iter().map(Ran::summary).collect::<Vec<_>>()
    );
    let finisher = completing[0];
    let summary = ran[finisher].summary();
    assert_eq!(summary["state"], "finished");
    assert_eq!(summary["counts"]["done"], 4_000, "{summary}");
    let report = std::fs::read_to_string(summary["report"].as_str().unwrap()).expect("report");
    assert_eq!(report.lines().count(), 4_001, "a header and every item");
    // The others say which replica finishes it.
    for (i, r) in ran.iter().enumerate().filter(|(i, _)| *i != finisher) {
        let note = r.summary()["note"].as_str().unwrap_or_default().to_string();
        assert!(
            note.contains(&owners[finisher]),
            "replica {i} names {} as the one finishing the job: {note}",
            owners[finisher]
        );
    }
    let mut db = database(&state);
    let row = db
        .query_one("SELECT state, finished_by FROM jobs", &[])
        .expect("the job");
    let (job_state, by): (String, Option<String>) = (row.get(0), row.get(1));
    assert_eq!(job_state, "finished");
    assert_eq!(by.as_deref(), Some(owners[finisher].as_str()));
    assert_eq!(sim.count("wf", "CANCELLED"), 4_000);
}

#[test]
fn a_replica_whose_stalled_chunk_was_taken_drops_it_and_goes_on() {
    let sim = Sim::start();
    sim.faults(json!({"latency_ms": 30}));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 4_000, "QUEUED", "wf", 20, 1, json!({}));
    let start = || {
        Replica::start(
            on_postgres(&sim, &state)
                .args(["runs", "cancel", "--since", "1d", "--workflow", "wf"])
                .args(["--yes", "-o", "json", "--chunk-size", "50", "--rate", "20"])
                .env("BULKOPS_VERIFY_POLL", "200ms"),
        )
    };
    // The first holds the job's lease and so sees it out; the second stalls.
    let holder = start();
    holder.wait_for_progress();
    let stalled = start();
    stalled.wait_for_progress();
    let mut db = database(&state);
    let (holder_owner, stalled_owner) = (lease_owner(holder.pid()), lease_owner(stalled.pid()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let chunk: i64 = loop {
        signal(stalled.pid(), "-STOP");
        let held = db
            .query_opt(
                "SELECT chunk FROM chunks WHERE owner = $1 AND state = 'pending' LIMIT 1",
                &[&stalled_owner],
            )
            .expect("chunks");
        if let Some(row) = held {
            break row.get(0);
        }
        signal(stalled.pid(), "-CONT");
        assert!(
            Instant::now() < deadline,
            "the second replica never held a chunk"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    // Its lease on the chunk runs out (30 s without a heartbeat) and the holder takes it.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let taken: bool = db
            .query_one(
                "SELECT owner = $3 OR (state = 'done' AND sent_by = $3) FROM chunks \
                 WHERE chunk = $1 AND owner IS DISTINCT FROM $2",
                &[&chunk, &stalled_owner, &holder_owner],
            )
            .map(|row| row.get::<_, Option<bool>>(0).unwrap_or(false))
            .unwrap_or(false);
        if taken {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nobody took the stalled chunk {chunk}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(stalled.pid(), "-CONT");
    let (holder, stalled) = (holder.wait(), stalled.wait());
    assert_eq!(holder.code, 0, "{}", holder.stderr);
    assert_eq!(
        stalled.code, 0,
        "the stalled replica goes on: {}",
        stalled.stderr
    );
    assert!(
        stalled.stderr.contains("another replica took this chunk"),
        "{}",
        stalled.stderr
    );
    assert_eq!(sim.count("wf", "CANCELLED"), 4_000);
    let row = db
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE state = 'done'), MAX(attempts) FROM items",
            &[],
        )
        .expect("items");
    let (done, most): (i64, i32) = (row.get(0), row.get(1));
    assert_eq!(
        (done, most),
        (4_000, 1),
        "the stalled one's outcomes were not recorded"
    );
}

/// Ends the server's side of every connection named `application`; how many there were.
fn terminate_backends(db: &mut postgres::Client, application: &str) -> i64 {
    db.query_one(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = $1",
        &[&application],
    )
    .expect("pg_terminate_backend")
    .get(0)
}

#[test]
fn a_job_survives_its_postgresql_connection_being_cut_five_times() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 6_000, "QUEUED", "wf", 20, 1, json!({}));
    // Named, so that only this job's connection is cut.
    let application = format!("bulkops-cut-{}", std::process::id());
    let url = format!("{}&application_name={application}", postgres_state(&state));
    let mut cmd = bulkops_with_default_state();
    cmd.arg("--state")
        .arg(&url)
        .arg("--reports-dir")
        .arg(dir.path().join("reports"))
        .env("HATCHET_CLIENT_TOKEN", &sim.token)
        .args(["runs", "cancel", "--since", "1d", "--workflow", "wf"])
        .args(["--yes", "-o", "json", "--chunk-size", "100", "--rate", "10"]);
    let mut replica = Replica::start(&mut cmd);
    replica.wait_for_progress();
    let mut db = database(&state);
    assert_eq!(terminate_backends(&mut db, &application), 1);
    // Cut again each time it has connected again, mid-call or between calls, as it happens,
    // while it runs (a cut on a commit stops it: below).
    'cuts: for cut in 1..5 {
        let deadline = Instant::now() + Duration::from_secs(20);
        while terminate_backends(&mut db, &application) == 0 {
            if replica.child.try_wait().expect("the replica").is_some() {
                break 'cuts;
            }
            assert!(
                Instant::now() < deadline,
                "never connected again after cut {cut}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut ran = replica.wait();
    assert!(ran.stderr.contains("connecting again"), "{}", ran.stderr);
    if ran.code == 3 {
        // A cut that lands on a commit cannot be told from one after it: that call is not
        // repeated and the job stops resumably, nothing lost.
        assert!(
            ran.stderr.contains("lost while committing"),
            "{}",
            ran.stderr
        );
        let job = ran.summary()["job"].as_str().unwrap().to_string();
        ran = crate::support::run(
            bulkops_with_default_state()
                .arg("--state")
                .arg(&url)
                .arg("--reports-dir")
                .arg(dir.path().join("reports"))
                .env("HATCHET_CLIENT_TOKEN", &sim.token)
                .args(["jobs", "resume", &job, "-o", "json"]),
        );
    }
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.summary()["state"], "finished", "{}", ran.stdout);
    assert_eq!(sim.count("wf", "CANCELLED"), 6_000);
    assert_every_item_done_once(&mut db, 6_000);
}

/// The firings `served` logged as run (`fired`), with their jobs.
fn firings(served: &Ran) -> Vec<(String, String)> {
    served
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "fired")
        .map(|line| {
            let field = |name: &str| {
                line["fields"][name]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            };
            (field("firing"), field("job"))
        })
        .collect()
}

#[test]
fn two_services_on_one_store_run_each_scheduled_firing_once() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    // Runs that stay selected: every firing finds them again, and is a job of its own.
    seed_runs(&sim, 20, "COMPLETED", "sched", 20, 1, json!({}));
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    std::fs::write(
        jobs.join("every-2s.toml"),
        "cron = \"*/2 * * * * *\"\noperation = \"runs cancel\"\nsince = \"1d\"\n\
         workflow = [\"sched\"]\nstatus = [\"COMPLETED\"]\nrate = 50\n",
    )
    .unwrap();
    let serve = || {
        Replica::start(
            on_postgres(&sim, &state)
                .args(["serve", "--listen", "127.0.0.1:0", "--jobs-dir"])
                .arg(&jobs)
                .env("BULKOPS_VERIFY_POLL", "100ms"),
        )
    };
    let services = [serve(), serve()];
    std::thread::sleep(Duration::from_secs(9));
    for service in &services {
        signal(service.pid(), "-TERM");
    }
    let [first, second] = services.map(Replica::wait);
    for served in [&first, &second] {
        assert_eq!(served.code, 0, "{}", served.stderr);
    }
    let (mine, theirs) = (firings(&first), firings(&second));
    let twice: Vec<&(String, String)> = mine
        .iter()
        .filter(|(at, _)| theirs.iter().any(|(other, _)| other == at))
        .collect();
    assert!(
        twice.is_empty(),
        "firings run by both services: {twice:?}\n{mine:?}\n{theirs:?}"
    );
    let fired = mine.len() + theirs.len();
    assert!(fired >= 3, "{mine:?} {theirs:?}");
    assert!(
        [&first, &second]
            .iter()
            .any(|s| s.stderr.contains("another replica claimed this firing")),
        "the other one left each firing to the one that claimed it"
    );
    // Each firing that ran is one job, and no job came otherwise.
    let mut db = database(&state);
    let jobs: i64 = db
        .query_one("SELECT COUNT(*) FROM jobs", &[])
        .expect("jobs")
        .get(0);
    assert_eq!(jobs as usize, fired, "{mine:?} {theirs:?}");
    let claimed: i64 = db
        .query_one("SELECT COUNT(DISTINCT fired_at) FROM schedule_firings", &[])
        .expect("firings")
        .get(0);
    assert!(claimed as usize >= fired);
}

/// A TCP relay to the test database that can be cut: its connections closed and its port shut,
/// so that connecting again is refused, as with a database server that is down.
struct Relay {
    port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    streams: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn to(target: String) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("address").port();
        let relay = Relay {
            port,
            cut: Default::default(),
            streams: Default::default(),
        };
        let (cut, streams) = (relay.cut.clone(), relay.streams.clone());
        std::thread::spawn(move || {
            while !cut.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                client.set_nonblocking(false).expect("blocking");
                let server = std::net::TcpStream::connect(&target).expect("the database");
                let mut kept = streams.lock().expect("streams");
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                kept.extend([client, server]);
            }
            // The listener goes with the thread: the port refuses connections from now on.
        });
        relay
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for stream in self.streams.lock().expect("streams").iter() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn a_store_gone_longer_than_the_lease_timeout_stops_the_job_resumably() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 6_000, "QUEUED", "wf", 20, 1, json!({}));
    let direct = postgres_state(&state);
    let url = url::Url::parse(&direct).expect("a URL");
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let relay = Relay::to(target);
    let mut relayed = url.clone();
    relayed.set_port(Some(relay.port)).unwrap();
    let with_state = |state_url: &str| {
        let mut cmd = bulkops_with_default_state();
        cmd.arg("--state")
            .arg(state_url)
            .arg("--reports-dir")
            .arg(dir.path().join("reports"))
            .env("HATCHET_CLIENT_TOKEN", &sim.token);
        cmd
    };
    let replica = Replica::start(
        with_state(relayed.as_str())
            .args(["runs", "cancel", "--since", "1d", "--workflow", "wf"])
            .args(["--yes", "-o", "json", "--chunk-size", "100", "--rate", "10"]),
    );
    replica.wait_for_progress();
    let cut_at = Instant::now();
    relay.cut();
    let stopped = replica.wait();
    let waited = cut_at.elapsed();
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    assert!(
        waited >= Duration::from_secs(29),
        "it tried to connect again for the lease timeout: {waited:?}"
    );
    assert!(
        stopped.stderr.contains("could not be made again"),
        "{}",
        stopped.stderr
    );
    // Nothing lost: what was pending is pending, and a resume finishes the job.
    let mut db = database(&state);
    let job: String = db
        .query_one("SELECT id FROM jobs WHERE state = 'running'", &[])
        .expect("the job, still open")
        .get(0);
    let pending: i64 = db
        .query_one("SELECT COUNT(*) FROM items WHERE state = 'pending'", &[])
        .expect("items")
        .get(0);
    assert!(pending > 0, "the cut came mid-job");
    let resumed =
        crate::support::run(with_state(&direct).args(["jobs", "resume", &job, "-o", "json"]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(
        resumed.summary()["counts"]["done"],
        6_000,
        "{}",
        resumed.stdout
    );
    assert_eq!(sim.count("wf", "CANCELLED"), 6_000);
}
