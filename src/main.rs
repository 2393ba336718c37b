//! Thin entry point: parse, run, map errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    match bulkops::cli::run() {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {e}");
            e.exit().into()
        }
    }
}
