//! Issue 8, "Tell the truth": the exit code follows from the cause — 2 for what the user can fix
//! (a damaged, foreign, newer or read-only state file among them), 3 for what is transient or
//! resumable, 1 only for a finished job with failed items — and a state file that changes under
//! a running job stops it with exit 3, never a crash.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::support::{
    after_progress, error_lines, interrupt_after_progress, run, seed_runs, Ran, Sim, FAST_REPLAYS,
    SLOW_CANCEL,
};

const CANCEL: [&str; 5] = ["runs", "cancel", "--since", "1d", "--yes"];

/// What is wrong with a run, if anything: the code and, for an error, one `error:` line that
/// names the state file and says `fix`.
fn mismatch(ran: &Ran, code: i32, state: &Path, fix: &str) -> Option<String> {
    if ran.code != code {
        return Some(format!(
            "exit code {} (not {code}): {}",
            ran.code, ran.stderr
        ));
    }
    let lines = error_lines(&ran.stderr);
    let named = state.display().to_string();
    let one_line = lines.len() == 1 && lines[0].starts_with("error: ");
    if !one_line || !lines[0].contains(&named) || !lines[0].contains(fix) {
        return Some(format!(
            "stderr is not one 'error: ...' line naming {named} and '{fix}': {lines:?}"
        ));
    }
    None
}

/// A state file of the current bulkops with one finished job of 2,000 items.
fn finished_store(sim: &Sim, state: &Path) {
    let ran = run(sim.bulkops(state).args(CANCEL).args(["--rate", "1000"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

fn set_user_version(state: &Path, version: i64) {
    rusqlite::Connection::open(state)
        .unwrap()
        .pragma_update(None, "user_version", version)
        .unwrap();
}

/// Overwrites the first page of the `items` table and of each of its indexes with garbage: the
/// file still opens, but reading any item meets a malformed page.
fn damage_items(state: &Path) {
    let db = rusqlite::Connection::open(state).unwrap();
    let page_size: u64 = db.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    let roots: Vec<u64> = db
        .prepare("SELECT rootpage FROM sqlite_master WHERE tbl_name = 'items' AND rootpage > 0")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(db);
    assert!(!roots.is_empty());
    let file = OpenOptions::new().write(true).open(state).unwrap();
    for root in roots {
        let garbage = vec![0xA5u8; page_size as usize];
        std::os::unix::fs::FileExt::write_all_at(&file, &garbage, (root - 1) * page_size).unwrap();
    }
}

fn tables(state: &Path) -> Vec<String> {
    rusqlite::Connection::open(state)
        .unwrap()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Makes `paths` immutable (`chattr +i`), which even root cannot write, and takes the flag
/// off again when dropped so that the test's directory can be removed.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(paths: &[PathBuf]) -> Immutable {
        let status = Command::new("chattr")
            .arg("+i")
            .args(paths)
            .status()
            .expect("chattr runs");
        assert!(
            status.success(),
            "chattr +i failed: this file system cannot make a file read-only for root"
        );
        Immutable(paths.to_vec())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").args(&self.0).status();
    }
}

/// Whether this process could write `file`, or create a file in `dir` (as root, permission bits
/// do not stop either).
fn writable(file: &Path, dir: &Path) -> bool {
    OpenOptions::new().append(true).open(file).is_ok()
        || std::fs::write(dir.join("probe"), "x").is_ok()
}

/// What is wrong with how `jobs list` and a cancel meet the state file `state`: each must exit 2
/// with one line saying `fix`, and send nothing.
fn refusals(sim: &Sim, case: &str, state: &Path, fix: &str) -> Vec<String> {
    let sent = sim.mutating_requests();
    let mut wrong = Vec::new();
    for args in [&["jobs", "list"][..], &CANCEL[..]] {
        let ran = run(sim.bulkops(state).args(args));
        if let Some(problem) = mismatch(&ran, 2, state, fix) {
            wrong.push(format!("{case} ({}): {problem}", args.join(" ")));
        }
    }
    if sim.mutating_requests() != sent {
        wrong.push(format!("{case}: a mutating request reached the server"));
    }
    wrong
}

#[test]
fn causes_damaged_foreign_newer_and_read_only_state_files_exit_2_naming_the_fix() {
    let sim = Sim::start();
    seed_runs(&sim, 2_000, "QUEUED", "wf", 20, 1, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);

    std::fs::write(file("garbage.db"), vec![0x5Au8; 8192]).unwrap();
    rusqlite::Connection::open(file("foreign.db"))
        .unwrap()
        .execute_batch("CREATE TABLE customers (id INTEGER, name TEXT)")
        .unwrap();
    finished_store(&sim, &file("malformed.db"));
    damage_items(&file("malformed.db"));
    finished_store(&sim, &file("newer.db"));
    set_user_version(&file("newer.db"), 1_000);
    // Read-only: the file and its directory (where SQLite would create the -wal), by mode bits
    // and, since root writes through those, by the immutable flag.
    let locked_dir = file("locked");
    std::fs::create_dir(&locked_dir).unwrap();
    let read_only = locked_dir.join("state.db");
    finished_store(&sim, &read_only);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let _immutable = writable(&read_only, &locked_dir)
        .then(|| Immutable::set(&[read_only.clone(), locked_dir.clone()]));
    assert!(
        !writable(&read_only, &locked_dir),
        "the state file could not be made read-only"
    );

    // Runs the refused commands would select (the first ones are cancelled by now): a selection
    // that matches nothing creates no job, and so never reaches a damaged page.
    seed_runs(&sim, 100, "QUEUED", "wf2", 20, 1, json!({}));
    let move_it = "move it away or pass --state";
    let cases = [
        ("a file that is not SQLite", file("garbage.db"), move_it),
        ("another program's database", file("foreign.db"), move_it),
        (
            "a store with malformed pages",
            file("malformed.db"),
            move_it,
        ),
        ("a store of a newer bulkops", file("newer.db"), move_it),
        ("a read-only state file", read_only.clone(), "writable"),
    ];
    let mut wrong: Vec<String> = cases
        .iter()
        .flat_map(|(case, state, fix)| refusals(&sim, case, state, fix))
        .collect();
    let foreign_tables = tables(&file("foreign.db"));
    if foreign_tables != ["customers"] {
        wrong.push(format!("the foreign file was changed: {foreign_tables:?}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn causes_only_failed_items_exit_1_and_an_interruption_exits_3() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 10, "FAILED", "wf", 10, 1, json!({}));
    sim.faults(json!({"replay_drop_rate": 1.0}));
    let replayed = run(sim
        .bulkops(&dir.path().join("replay.db"))
        .args(["runs", "replay", "--since", "1d", "--status", "FAILED"])
        .args(["--verify-timeout", "1s", "--yes", "-o", "json"])
        .env("BULKOPS_VERIFY_POLL", "100ms")
        .env("BULKOPS_REPLAY_INTERVAL", FAST_REPLAYS));
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    let summary = replayed.summary();
    assert_eq!(summary["state"], "finished", "{summary}");
    assert_eq!(summary["counts"]["failed"], 10, "{summary}");
    assert!(
        error_lines(&replayed.stderr).is_empty(),
        "{}",
        replayed.stderr
    );

    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));
    let stopped =
        interrupt_after_progress(sim.bulkops(&dir.path().join("cancel.db")).args(SLOW_CANCEL));
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    assert_eq!(stopped.summary()["state"], "interrupted");
}

#[test]
fn causes_a_state_directory_deleted_mid_job_stops_it_at_once_with_exit_3_naming_the_path() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let state = state_dir.join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));

    let ran = after_progress(
        sim.bulkops(&state).args(SLOW_CANCEL),
        Duration::from_secs(10),
        |_| std::fs::remove_dir_all(&state_dir).unwrap(),
    );

    let problem = mismatch(&ran, 3, &state, "was moved or deleted while the job ran");
    assert!(problem.is_none(), "{}", problem.unwrap_or_default());
    assert!(!state_dir.exists(), "the state was written again elsewhere");
}

#[test]
fn causes_state_files_made_immutable_mid_job_stop_it_with_exit_3_and_no_crash() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let state = state_dir.join("state.db");
    seed_runs(&sim, 10_000, "QUEUED", "wf", 20, 1, json!({}));
    let files: Vec<PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| state_dir.join(format!("state.db{suffix}")))
        .chain([state_dir.clone()])
        .collect();

    let mut immutable = None;
    let ran = after_progress(
        sim.bulkops(&state).args(SLOW_CANCEL),
        Duration::from_secs(10),
        |_| immutable = Some(Immutable::set(&files)),
    );

    let problem = mismatch(&ran, 3, &state, "could not be read or written");
    assert!(problem.is_none(), "{}", problem.unwrap_or_default());
    let refused = run(sim.bulkops(&state).args(["jobs", "list"]));
    let problem = mismatch(&refused, 2, &state, "writable");
    assert!(problem.is_none(), "{}", problem.unwrap_or_default());
    drop(immutable);
    let listed = run(sim.bulkops(&state).args(["jobs", "list", "-o", "json"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let job: serde_json::Value = serde_json::from_str(listed.stdout.trim()).expect("one job");
    assert_eq!(job["state"], "interrupted", "{job}");
    assert!(job["counts"]["total"].as_u64() > Some(0), "{job}");
}
