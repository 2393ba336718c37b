//! `bulkops jobs ...` and `bulkops report`.

use std::io::Write;

use super::args::{ExecArgs, GlobalArgs, JobsCommand, Output, ReportArgs};
use super::run_job::{load_settings, open_store, resume};
use super::{bad, failed, output, CliError, Exit};
use crate::store::{JobRecord, Store};

pub fn run(global: &GlobalArgs, cmd: JobsCommand) -> Result<Exit, CliError> {
    match cmd {
        JobsCommand::List => {
            let store = open(global)?;
            for job in store.jobs().map_err(failed)? {
                let counts = store.counts(&job.id).map_err(failed)?;
                match global.output {
                    Output::Json => println!("{}", output::job_line(&job, &counts)),
                    Output::Text => println!(
                        "{:<28} {:<22} {:<9} {}  items {} done {} failed {} skipped {} unconfirmed {}",
                        job.id,
                        job.spec.operation.name(),
                        job.state.as_str(),
                        job.created_at.format("%Y-%m-%d %H:%M:%S"),
                        counts.total,
                        counts.done,
                        counts.failed,
                        counts.skipped,
                        counts.unconfirmed
                    ),
                }
            }
            Ok(Exit::Success)
        }
        JobsCommand::Show { job } => {
            let store = open(global)?;
            let job = find(&store, &job)?;
            let counts = store.counts(&job.id).map_err(failed)?;
            let line = output::job_line(&job, &counts);
            match global.output {
                Output::Json => println!("{line}"),
                Output::Text => println!(
                    "{}",
                    serde_json::to_string_pretty(&line).unwrap_or_default()
                ),
            }
            Ok(Exit::Success)
        }
        JobsCommand::Resume { job, exec } => resume(global, &job, &exec),
    }
}

pub fn report(global: &GlobalArgs, args: &ReportArgs) -> Result<Exit, CliError> {
    let store = open(global)?;
    let job = find(&store, &args.job)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    crate::report::write_report(&store, &job, args.failed, args.format, &mut out).map_err(failed)?;
    out.flush().map_err(failed)?;
    Ok(Exit::Success)
}

fn open(global: &GlobalArgs) -> Result<Store, CliError> {
    let settings = load_settings(global, &ExecArgs::default())?;
    open_store(&settings)
}

fn find(store: &Store, id: &str) -> Result<JobRecord, CliError> {
    store
        .job(id)
        .map_err(failed)?
        .ok_or_else(|| bad(format!("no job '{id}' in {}: see `bulkops jobs list`", store.path().display())))
}
