//! The command line: parsing, the flow of a job run, and output. Exit codes: 0 all done,
//! 1 finished with item failures, 2 bad input or configuration (nothing sent), 3 interrupted
//! (resumable).

mod args;
mod jobs;
mod output;
mod run_job;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::{Command, CronsCommand, RunsCommand, ScheduledCommand};
use run_job::{Execution, Request};

use crate::job::OperationKind;

/// How a command ended, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    ItemFailures = 1,
    BadInput = 2,
    Interrupted = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A command that could not run. `BadInput` means nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Failed(String),
    /// Stopped for a transient reason before anything was sent: run it again later.
    #[error("{0}")]
    Interrupted(String),
}

impl CliError {
    pub fn exit(&self) -> Exit {
        match self {
            CliError::BadInput(_) => Exit::BadInput,
            CliError::Failed(_) => Exit::ItemFailures,
            CliError::Interrupted(_) => Exit::Interrupted,
        }
    }
}

fn bad(e: impl std::fmt::Display) -> CliError {
    CliError::BadInput(e.to_string())
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

/// A command-line error on one line: clap draws its errors over several (the message, a tip,
/// a usage block), and bad input must give one line that names the fix.
fn usage_error(error: &clap::Error) -> CliError {
    let rendered = error.render().to_string();
    let lines: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    // A line ending in ':' introduces the next one (a list of arguments); others are separate.
    let mut message = String::new();
    for line in lines {
        if !message.is_empty() {
            message.push_str(if message.ends_with(':') { " " } else { "; " });
        }
        message.push_str(line);
    }
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    CliError::BadInput(format!("{message} (see --help)"))
}

/// Parses the command line and runs it.
pub fn run() -> Result<Exit, CliError> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => return Err(usage_error(&e)),
        // --help and --version: printed to stdout, not an error.
        Err(e) => {
            e.print().map_err(failed)?;
            return Ok(Exit::Success);
        }
    };
    match cli.command {
        Command::Runs(RunsCommand::Cancel(args)) => run_job::run_new(
            &cli.global,
            Request::new(OperationKind::RunsCancel, args.select),
            &args.exec.into(),
        ),
        Command::Runs(RunsCommand::Replay(args)) => run_job::run_new(
            &cli.global,
            Request::new(OperationKind::RunsReplay, args.select),
            &Execution {
                pace: args.pace,
                chunk_size: args.chunks.chunk_size,
                new_job: args.new_job,
                job_name: args.name.job_name,
                ..Execution::default()
            },
        ),
        Command::Scheduled(ScheduledCommand::Delete(args)) => run_job::run_new(
            &cli.global,
            Request::new(OperationKind::ScheduledDelete, args.select),
            &args.exec.into(),
        ),
        Command::Scheduled(ScheduledCommand::Reschedule(args)) => {
            let kind = run_job::reschedule_kind(
                args.to.as_deref(),
                args.shift.as_deref(),
                args.allow_past,
            )?;
            run_job::run_new(
                &cli.global,
                Request::new(kind, args.select),
                &Execution {
                    again: args.again,
                    ..args.exec.into()
                },
            )
        }
        Command::Crons(CronsCommand::Delete(args)) => run_job::run_new(
            &cli.global,
            Request::new(OperationKind::CronsDelete, args.select),
            &Execution {
                pace: args.pace,
                concurrency: args.spread.concurrency,
                new_job: args.new_job,
                job_name: args.name.job_name,
                ..Execution::default()
            },
        ),
        Command::Jobs(cmd) => jobs::run(&cli.global, cmd),
        Command::Report(args) => jobs::report(&cli.global, &args),
    }
}
