//! The command line: it maps clap's arguments to the app's requests, the app's outcomes to
//! output, and errors to an exit code (`app::BulkopsExitCode`). One actix System serves the
//! whole process.

mod args;
mod handinger;
mod jobs;
mod output;
mod request;
mod serve;
mod terminal;

use std::io::Write;

use clap::Parser;

pub use args::Cli;
use args::{
    Command, ConfigCommand, CronsCommand, GlobalArgs, Output, RunsCommand, ScheduledCommand,
};
pub(crate) use handinger::{
    replacement as handinger_replacement, selection as handinger_flags, ScheduleSelectArgs,
};
pub(crate) use jobs::{retune_json, watch_json};
pub(crate) use output::{dry_run_json, job_line, nothing_matches_json};
pub(crate) use request::{job_request, reschedule_kind, SelectInput};
use request::{load_settings, ExecFlags};
pub(crate) use terminal::stop_on_signal;
use terminal::Terminal;

use crate::app::{self, Credentials, End, Error, JobCommand, Outcome, RunEnd};
use crate::job::OperationKind;
use crate::metrics::Exporter;

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
/// stderr on one line (with `-o json`, as one JSON object).
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let output = output_asked(std::env::args_os().skip(1));
            return report_error(output, &usage_error(&e));
        }
        // --help and --version: printed to stdout, not an error; the version as JSON too.
        Err(e) => {
            let json_version = e.kind() == clap::error::ErrorKind::DisplayVersion
                && output_asked(std::env::args_os().skip(1)) == Output::Json;
            let printed = if json_version {
                let version = serde_json::json!({"version": env!("CARGO_PKG_VERSION")});
                output::outln!("{version}")
            } else {
                // A closed stdout (`bulkops --help | head -1`) ends it quietly, as Stdout does.
                match e.print() {
                    Err(closed) if closed.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                    printed => printed.map_err(Error::Stdout),
                }
            };
            return match printed {
                Ok(()) => app::BulkopsExitCode::OK,
                Err(e) => report_error(Output::Text, &e),
            };
        }
    };
    let output = cli.global.output;
    // One System for the process: every job of it runs on this one.
    match actix::System::new().block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => report_error(output, &e),
    }
}

/// The `-o` a command line that did not parse asked for, so that its error is JSON too.
fn output_asked(args: impl Iterator<Item = std::ffi::OsString>) -> Output {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    let json = args.iter().enumerate().any(|(i, arg)| match arg.as_str() {
        "-o" | "--output" => args.get(i + 1).is_some_and(|next| next == "json"),
        other => matches!(other, "-ojson" | "-o=json" | "--output=json"),
    });
    if json {
        Output::Json
    } else {
        Output::Text
    }
}

/// An error as stderr shows it: one line of text, or with `-o json` one JSON object with the
/// message, the exit code and the cause in a word a program can match on.
fn error_text(output: Output, error: &Error) -> String {
    match output {
        Output::Text => format!("error: {error}"),
        Output::Json => serde_json::json!({
            "error": error.to_string(),
            "cause": error.cause(),
            "exit_code": error.exit_code(),
        })
        .to_string(),
    }
}

/// Writes `error` to stderr and returns its exit code.
fn report_error(output: Output, error: &Error) -> u8 {
    // Not `eprintln!`: a closed stderr must not turn the error into a panic.
    let _ = writeln!(std::io::stderr(), "{}", error_text(output, error));
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
                metrics_addr: args.metrics.metrics_addr,
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
                metrics_addr: args.metrics.metrics_addr,
                ..ExecFlags::default()
            };
            new_job(&global, OperationKind::CronsDelete, args.select, exec).await
        }
        Command::Handinger(cmd) => handinger::run(&global, cmd).await,
        Command::Jobs(cmd) => jobs::run(&global, cmd).await,
        Command::Report(args) => jobs::report(&global, &args),
        Command::Completions { shell } => output::completions(global.output, shell),
        Command::Manpage => output::manpage(global.output),
        Command::Config(ConfigCommand::Show) => config_show(&global),
        Command::Serve(args) => serve::run(&global, &args).await,
    }
}

/// `config show`: the effective settings, each with its layer, and the connection, masked.
fn config_show(global: &GlobalArgs) -> Result<u8, Error> {
    let flags = crate::config::Overrides {
        state: global.state.clone(),
        reports_dir: global.reports_dir.clone(),
        log_format: global.log_format.clone(),
        ..Default::default()
    };
    let env = std::env::vars_os();
    let shown = crate::config::Effective::load(global.config.as_deref(), &flags, env)?;
    match global.output {
        Output::Json => output::outln!("{}", serde_json::json!(shown)),
        Output::Text => output::outln!("{shown}"),
    }?;
    Ok(app::BulkopsExitCode::OK)
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
    // Listening before anything is sent: an address in use is bad input, like a bad flag.
    let _metrics = match settings.metrics_addr {
        Some(addr) => Some(Exporter::start(addr, crate::metrics::router()).await?),
        None => None,
    };
    let mut terminal = Terminal::new(settings.log_format);
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
                End::Elsewhere { note, finished } => (
                    if *finished { "finished" } else { "running" },
                    None,
                    Some(note.clone()),
                ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::SpecError;

    fn args(line: &str) -> impl Iterator<Item = std::ffi::OsString> + '_ {
        line.split_whitespace().map(std::ffi::OsString::from)
    }

    #[test]
    fn a_command_line_that_did_not_parse_still_says_which_output_it_wants() {
        for json in [
            "runs cancel -o json --bogus",
            "-o json jobs list --what",
            "jobs show --output json",
            "jobs show --output=json x y",
            "report -ojson",
        ] {
            assert_eq!(output_asked(args(json)), Output::Json, "{json}");
        }
        for text in [
            "runs cancel --bogus",
            "-o",
            "-o text",
            "--output jsonl",
            "json",
        ] {
            assert_eq!(output_asked(args(text)), Output::Text, "{text}");
        }
    }

    #[test]
    fn with_json_output_an_error_is_one_object_with_its_exit_code_and_cause() {
        let error = Error::Spec(SpecError::EmptySelector);
        let line = error_text(Output::Json, &error);
        assert!(!line.contains('\n'));
        let object: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(object["exit_code"], 2);
        assert_eq!(object["cause"], "invalid_selection");
        assert_eq!(object["error"], error.to_string());
        assert_eq!(
            error_text(Output::Text, &Error::NotATerminal),
            "error: not a terminal: pass --yes to run without confirmation"
        );
        let interrupted = error_text(Output::Json, &Error::EngineVanished { job: "j".into() });
        let object: serde_json::Value = serde_json::from_str(&interrupted).unwrap();
        assert_eq!(
            (object["exit_code"].as_u64(), object["cause"].as_str()),
            (Some(3), Some("engine_vanished"))
        );
    }
}
