//! Thin entry point: parse, run, map errors to exit codes.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    match bulkops::cli::run() {
        Ok(exit) => exit.into(),
        Err(e) => {
            // Not `eprintln!`: a closed stderr must not turn the error into a panic.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            e.exit().into()
        }
    }
}
