//! Text logs carry ANSI colour codes only on a terminal, and never with `NO_COLOR` set.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::support::{after_line, bulkops_bare, run, seed_runs, terminate, Sim};
use crate::tell::Terminal;

/// Whether `text` holds an ANSI colour (SGR) sequence: ESC `[`, digits and `;`, then `m`.
fn has_colour(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|after| {
        after.strip_prefix('[').is_some_and(|rest| {
            let params = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';');
            params.starts_with('m')
        })
    })
}

/// `runs cancel` of the simulator's runs with text logs, at `rate` requests per second.
fn cancel_with_text_logs(sim: &Sim, state: &Path, rate: &str) -> Command {
    let mut cmd = bulkops_bare();
    cmd.arg("--state")
        .arg(state)
        .args([
            "--log-format",
            "text",
            "runs",
            "cancel",
            "--since",
            "1d",
            "--yes",
        ])
        .args(["--rate", rate, "--chunk-size", "100"])
        .env("HATCHET_CLIENT_TOKEN", &sim.token)
        .env("BULKOPS_VERIFY_POLL", "200ms")
        .env_remove("NO_COLOR");
    cmd
}

#[test]
fn off_a_terminal_text_logs_carry_no_colour_codes() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    seed_runs(&sim, 2_000, "QUEUED", "wf", 20, 1, json!({}));

    // Progress comes as text log lines too, never JSON beside the text: the first chunks sent.
    // Not the first confirmed: a verification round that confirms every run at once ends the
    // job before another progress line, and the signal then finds no process (seen under load).
    let progressed =
        |line: &str| line.contains(" confirmed · ") && !line.contains(" confirmed · 0 sent");
    let stopped = after_line(
        &mut cancel_with_text_logs(&sim, &state, "5"),
        progressed,
        Duration::from_secs(120),
        terminate,
    );
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .lines()
            .any(|l| l.contains("INFO") && progressed(l)),
        "a text progress line: {}",
        stopped.stderr
    );
    assert!(
        stopped
            .stderr
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_err()),
        "no JSON line among text logs: {}",
        stopped.stderr
    );
    assert!(
        stopped.stderr.contains("WARN") && stopped.stderr.contains("stopping"),
        "a text log line: {}",
        stopped.stderr
    );
    assert!(!has_colour(&stopped.stderr), "{:?}", stopped.stderr);

    let resumed = run(&mut cancel_with_text_logs(&sim, &state, "1000"));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed.stderr.contains("INFO") && resumed.stderr.contains("resuming"),
        "a text log line: {}",
        resumed.stderr
    );
    assert!(!has_colour(&resumed.stderr), "{:?}", resumed.stderr);
}

#[test]
fn on_a_terminal_text_logs_are_coloured_unless_no_color_is_set() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 3_000, "QUEUED", "wf", 20, 1, json!({}));
    for (i, no_color) in [None, Some("1")].into_iter().enumerate() {
        let mut cmd = cancel_with_text_logs(&sim, &dir.path().join(format!("{i}.db")), "10");
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        let mut term = Terminal::start(&cmd);
        term.wait_for("executing", Duration::from_secs(60));
        // Ctrl-C: the stop is logged as a warning, above the bar.
        term.type_keys("\x03");
        let (code, shown) = term.finish(Duration::from_secs(60));
        assert_eq!(code, 3, "{shown}");
        assert!(shown.contains("stopping"), "{shown}");
        assert_eq!(
            has_colour(&shown),
            no_color.is_none(),
            "NO_COLOR={no_color:?}: {shown:?}"
        );
    }
}

#[test]
fn on_a_terminal_help_is_styled_unless_no_color_is_set() {
    for no_color in [None, Some("1")] {
        let mut cmd = bulkops_bare();
        cmd.args(["runs", "cancel", "--help"])
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        let (code, shown) = Terminal::start(&cmd).finish(Duration::from_secs(30));
        assert_eq!(code, 0, "{shown}");
        assert!(shown.contains("--since"), "{shown}");
        assert_eq!(
            has_colour(&shown),
            no_color.is_none(),
            "NO_COLOR={no_color:?}: {shown:?}"
        );
    }
}

#[test]
fn colour_codes_are_told_from_other_escapes() {
    assert!(has_colour("\x1b[2m2026\x1b[0m \x1b[33mWARN\x1b[0m"));
    assert!(!has_colour("\x1b[2K\rbar\x1b[1A"));
    assert!(!has_colour("plain"));
}
