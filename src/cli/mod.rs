//! The command line: parsing, the flow of a job run, and output. Exit codes: 0 all done,
//! 1 finished with item failures, 2 input the user can fix (nothing sent; a damaged, foreign or
//! read-only state file among it), 3 transient or interrupted (resumable).

mod args;
mod jobs;
mod output;
mod run_job;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::{Command, ConfigCommand, CronsCommand, Output, RunsCommand, ScheduledCommand};
use run_job::{Execution, Request};

use crate::backend::hatchet::{HatchetError, TokenError};
use crate::config::ConfigError;
use crate::engine::EngineError;
use crate::job::{OperationKind, SpecError};
use crate::ops::{ManifestError, OpError};
use crate::report::ReportError;
use crate::store::StoreError;

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

/// A command that could not run, by cause: the cause decides the exit code (see `exit`). Exit 1
/// is no error: it is a finished job's item failures.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Input or configuration the user can fix, as the message says; nothing was sent.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Stopped for a transient reason before anything was sent: run it again later.
    #[error("{0}")]
    Interrupted(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The server failed a call made outside a job's engine (a dry run's listing).
    #[error(transparent)]
    Server(#[from] OpError),
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A running job stopped because its state file failed: it resumes once that is fixed.
    #[error("job {job} stopped: {source}")]
    JobStopped { job: String, source: StoreError },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
}

impl From<HatchetError> for CliError {
    fn from(e: HatchetError) -> Self {
        CliError::Server(e.into())
    }
}

impl CliError {
    /// 2 for what the user can fix, 3 for the rest: transient, or resumable once it passes.
    pub fn exit(&self) -> Exit {
        let store = |e: &StoreError| {
            if e.needs_the_user() {
                Exit::BadInput
            } else {
                Exit::Interrupted
            }
        };
        match self {
            CliError::BadInput(_)
            | CliError::Spec(_)
            | CliError::Config(_)
            | CliError::Token(_)
            | CliError::Manifest(_) => Exit::BadInput,
            CliError::Store(e)
            | CliError::Engine(EngineError::Store(e))
            | CliError::Report(ReportError::Store(e)) => store(e),
            CliError::Interrupted(_)
            | CliError::Engine(_)
            | CliError::Server(_)
            | CliError::Report(_)
            | CliError::JobStopped { .. }
            | CliError::Write { .. }
            | CliError::Stdout(_) => Exit::Interrupted,
        }
    }
}

/// Input the user can fix, in words that name the fix.
fn bad(e: impl std::fmt::Display) -> CliError {
    CliError::BadInput(e.to_string())
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
            e.print().map_err(CliError::Stdout)?;
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
        Command::Completions { shell } => output::completions(shell),
        Command::Manpage => output::manpage(),
        Command::Config(ConfigCommand::Show) => {
            let flags = crate::config::Overrides {
                state: cli.global.state.clone(),
                log_format: cli.global.log_format.clone(),
                ..Default::default()
            };
            let shown = crate::config::Effective::load(
                cli.global.config.as_deref(),
                &flags,
                std::env::vars_os(),
            )?;
            match cli.global.output {
                Output::Json => output::outln!("{}", serde_json::json!(shown)),
                Output::Text => output::outln!("{shown}"),
            }?;
            Ok(Exit::Success)
        }
    }
}
