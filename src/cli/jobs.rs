//! `bulkops jobs ...` and `bulkops report`.

use std::io::Write;

use super::args::{GlobalArgs, JobsCommand, Output, ReportArgs};
use super::output::outln;
use super::request::{load_settings, ExecFlags};
use super::{output, run_job};
use crate::app::{self, BulkopsExitCode, Error, JobCommand};
use crate::config::Settings;
use crate::store::Store;

pub async fn run(global: &GlobalArgs, cmd: JobsCommand) -> Result<u8, Error> {
    match cmd {
        JobsCommand::List => {
            let (_, store) = open(global)?;
            if global.output == Output::Text {
                outln!("{}", output::job_list_header())?;
            }
            for job in store.jobs()? {
                let counts = store.counts(&job.id)?;
                let state = app::current_state(store.as_ref(), &job)?;
                match global.output {
                    Output::Json => outln!("{}", output::job_line(&job, state, &counts))?,
                    Output::Text => outln!("{}", output::job_list_row(&job, state, &counts))?,
                }
            }
            Ok(BulkopsExitCode::OK)
        }
        JobsCommand::Show { job } => {
            let (settings, store) = open(global)?;
            let job = app::find(store.as_ref(), &settings.state, &job)?;
            let counts = store.counts(&job.id)?;
            let state = app::current_state(store.as_ref(), &job)?;
            match global.output {
                Output::Json => outln!("{}", output::job_line(&job, state, &counts))?,
                Output::Text => outln!("{}", output::job_text(&job, state, &counts))?,
            }
            Ok(BulkopsExitCode::OK)
        }
        JobsCommand::Resume {
            job,
            concurrency,
            pace,
        } => {
            let exec = ExecFlags {
                pace,
                concurrency,
                ..ExecFlags::default()
            };
            run_job(global, exec, || Ok(JobCommand::Resume { job })).await
        }
        JobsCommand::Undo {
            job,
            spread,
            pace,
            new_job,
        } => {
            let exec = ExecFlags {
                pace,
                concurrency: spread.concurrency,
                new_job,
                ..ExecFlags::default()
            };
            run_job(global, exec, || Ok(JobCommand::Undo { job })).await
        }
        JobsCommand::Pause { job } => {
            let job = app::pause(&settings(global)?, &job)?;
            outln!(
                "job {} paused: a process running it stops after its in-flight chunks; `bulkops jobs resume {}` continues it",
                job.id, job.id
            )?;
            Ok(BulkopsExitCode::OK)
        }
        JobsCommand::Retune { job, rate } => {
            let job = app::retune(&settings(global)?, &job, rate)?;
            outln!(
                "job {}: {rate} requests/s from now on (a process running it applies it within a second)",
                job.id
            )?;
            Ok(BulkopsExitCode::OK)
        }
        JobsCommand::Abort { job } => {
            let (job, counts) = app::abort(&settings(global)?, &job)?;
            outln!(
                "job {} aborted: nothing more is sent for it; {} (see `bulkops report {}`; `bulkops jobs undo {}` covers every accepted item)",
                job.id,
                output::counts_in_words(&counts),
                job.id,
                job.id
            )?;
            Ok(BulkopsExitCode::OK)
        }
    }
}

pub fn report(global: &GlobalArgs, args: &ReportArgs) -> Result<u8, Error> {
    let (settings, store) = open(global)?;
    let job = app::find(store.as_ref(), &settings.state, &args.job)?;
    let mut out = std::io::BufWriter::new(output::Stdout);
    crate::report::write_report(store.as_ref(), &job, args.failed, args.format, &mut out)?;
    out.flush().map_err(Error::Stdout)?;
    Ok(BulkopsExitCode::OK)
}

fn settings(global: &GlobalArgs) -> Result<Settings, Error> {
    load_settings(global, &ExecFlags::default())
}

/// The settings and the store they name, opened once.
fn open(global: &GlobalArgs) -> Result<(Settings, Box<dyn Store>), Error> {
    let settings = settings(global)?;
    let store = settings.state.open()?;
    Ok((settings, store))
}
