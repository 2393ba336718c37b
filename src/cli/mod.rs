//! The command line: it maps clap's arguments to the app's requests, the app's outcomes to
//! output, and errors to an exit code (`app::BulkopsExitCode`). One actix System serves the
//! whole process.

mod args;
mod jobs;
mod output;
mod request;
mod terminal;

use std::io::Write;

use clap::Parser;

pub use args::Cli;
use args::{Command, CronsCommand, GlobalArgs, Output, RunsCommand, ScheduledCommand};
use request::{job_request, load_settings, reschedule_kind, ExecFlags};
use terminal::Terminal;

use crate::app::{self, Credentials, End, Error, JobCommand, Outcome, RunEnd};
use crate::job::OperationKind;

/// A command-line error on one line: clap draws its errors over several (the message, a tip,
/// a usage block), and bad input must give one line that names the fix.
fn usage_error(error: &clap::Error) -> Error {
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
    Error::Usage(format!("{message} (see --help)"))
}

/// Runs the command line and ends as it says: its exit code, after any error was written to
/// stderr on one line.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => return report_error(&usage_error(&e)),
        // --help and --version: printed to stdout, not an error.
        Err(e) => {
            return match e.print() {
                Ok(()) => app::BulkopsExitCode::OK,
                Err(e) => report_error(&Error::Stdout(e)),
            }
        }
    };
    // One System for the process: every job of it runs on this one.
    match actix::System::new().block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => report_error(&e),
    }
}

/// Writes `error` to stderr and returns its exit code.
fn report_error(error: &Error) -> u8 {
    // Not `eprintln!`: a closed stderr must not turn the error into a panic.
    let _ = writeln!(std::io::stderr(), "error: {error}");
    error.exit_code()
}

/// Runs a parsed command line.
async fn run(cli: Cli) -> Result<u8, Error> {
    let global = cli.global;
    match cli.command {
        Command::Runs(RunsCommand::Cancel(args)) => {
            let exec = args.exec.into();
            new_job(&global, OperationKind::RunsCancel, args.select, exec).await
        }
        Command::Runs(RunsCommand::Replay(args)) => {
            let exec = ExecFlags {
                pace: args.pace,
                chunk_size: args.chunks.chunk_size,
                new_job: args.new_job,
                job_name: args.name.job_name,
                ..ExecFlags::default()
            };
            new_job(&global, OperationKind::RunsReplay, args.select, exec).await
        }
        Command::Scheduled(ScheduledCommand::Delete(args)) => {
            let exec = args.exec.into();
            new_job(&global, OperationKind::ScheduledDelete, args.select, exec).await
        }
        Command::Scheduled(ScheduledCommand::Reschedule(args)) => {
            let kind = reschedule_kind(args.to.as_deref(), args.shift.as_deref(), args.allow_past)?;
            let exec = ExecFlags {
                again: args.again,
                ..args.exec.into()
            };
            new_job(&global, kind, args.select, exec).await
        }
        Command::Crons(CronsCommand::Delete(args)) => {
            let exec = ExecFlags {
                pace: args.pace,
                concurrency: args.spread.concurrency,
                new_job: args.new_job,
                job_name: args.name.job_name,
                ..ExecFlags::default()
            };
            new_job(&global, OperationKind::CronsDelete, args.select, exec).await
        }
        Command::Jobs(cmd) => jobs::run(&global, cmd).await,
        Command::Report(args) => jobs::report(&global, &args),
        Command::Completions { shell } => output::completions(shell),
        Command::Manpage => output::manpage(),
    }
}

/// Creates and runs a job, or resumes the unfinished one with the same identity.
async fn new_job(
    global: &GlobalArgs,
    kind: OperationKind,
    select: impl Into<request::SelectInput>,
    exec: ExecFlags,
) -> Result<u8, Error> {
    run_job(global, exec, || {
        Ok(JobCommand::New(Box::new(job_request(kind, select)?)))
    })
    .await
}

/// Runs a job command on the terminal: the settings first (they start logging), then the
/// command `asked` builds (the selection's errors come after the settings' ones).
async fn run_job(
    global: &GlobalArgs,
    exec: ExecFlags,
    asked: impl FnOnce() -> Result<JobCommand, Error>,
) -> Result<u8, Error> {
    let settings = load_settings(global, &exec)?;
    let command = asked()?;
    let mut terminal = Terminal {
        log_format: settings.log_format,
    };
    let credentials = Credentials::from_env();
    let outcome = app::run_job(
        &settings,
        &credentials,
        command,
        &exec.execution(),
        &mut terminal,
    )
    .await?;
    show(global.output, outcome)
}

/// Prints how a command that ran ended, and returns its exit code.
fn show(out: Output, outcome: Outcome) -> Result<u8, Error> {
    let code = outcome.exit_code();
    match outcome {
        Outcome::DryRun(found) => output::dry_run(out, &found)?,
        Outcome::NothingMatches(spec) => output::nothing_matches(out, &spec)?,
        Outcome::ReplayOffered(offer) => output::replay_offer(out, &offer)?,
        Outcome::Ran(run) => {
            let RunEnd {
                job,
                counts,
                totals,
                end,
            } = *run;
            let (state, report, note) = match &end {
                End::Finished { report, warning } => (
                    "finished",
                    Some(report.display().to_string()),
                    warning.map(str::to_string),
                ),
                End::Interrupted { note } => ("interrupted", None, Some(note.clone())),
            };
            output::summary(
                out,
                &job,
                &output::Ending {
                    state,
                    counts: &counts,
                    report: report.as_deref(),
                    exit: code,
                    note: note.as_deref(),
                    totals: &totals,
                },
            );
        }
    }
    Ok(code)
}
