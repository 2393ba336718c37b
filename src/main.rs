//! Thin entry point: the CLI runs the command and says how the process ends.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(bulkops::cli::main())
}
