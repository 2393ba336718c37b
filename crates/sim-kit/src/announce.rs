//! A simulator binary's life: one JSON line on stdout saying where it serves and with which
//! credentials (tests and scripts read it), then serving until the server fails.

use std::fmt::Display;
use std::future::Future;
use std::io::{self, Write};
use std::process::ExitCode;

/// Prints `line`, then waits for `serving` to end. `sim` names the simulator on stderr.
pub async fn announce_and_serve(
    sim: &str,
    url: &str,
    line: serde_json::Value,
    serving: impl Future<Output = io::Result<()>>,
) -> ExitCode {
    let mut stdout = io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    eprintln!("{sim}: serving on {url}");
    exit_code(sim, "server failed", serving.await)
}

/// What a start-up or serving failure says on stderr, as an exit code.
fn exit_code(sim: &str, what: &str, result: Result<(), impl Display>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{sim}: {what}: {e}");
            ExitCode::FAILURE
        }
    }
}
