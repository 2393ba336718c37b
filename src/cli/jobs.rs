//! `bulkops jobs ...` and `bulkops report`.

use std::io::Write;

use super::args::{GlobalArgs, JobsCommand, Output, ReportArgs};
use super::output::outln;
use super::run_job::{
    connection_from_env, load_settings, open_store, resume, run_spec, walk_accepted, Execution,
};
use super::{bad, output, CliError, Exit};
use crate::job::{JobSpec, OperationKind, Selector};
use crate::ops::{self, Undo};
use crate::store::{JobRecord, JobState, SqliteStore};

pub fn run(global: &GlobalArgs, cmd: JobsCommand) -> Result<Exit, CliError> {
    match cmd {
        JobsCommand::List => {
            let store = open(global)?;
            if global.output == Output::Text {
                outln!("{}", output::job_list_header())?;
            }
            for job in store.jobs()? {
                let counts = store.counts(&job.id)?;
                let state = current_state(&store, &job)?;
                match global.output {
                    Output::Json => outln!("{}", output::job_line(&job, state, &counts))?,
                    Output::Text => outln!("{}", output::job_list_row(&job, state, &counts))?,
                }
            }
            Ok(Exit::Success)
        }
        JobsCommand::Show { job } => {
            let store = open(global)?;
            let job = find(&store, &job)?;
            let counts = store.counts(&job.id)?;
            let state = current_state(&store, &job)?;
            match global.output {
                Output::Json => outln!("{}", output::job_line(&job, state, &counts))?,
                Output::Text => outln!("{}", output::job_text(&job, state, &counts))?,
            }
            Ok(Exit::Success)
        }
        JobsCommand::Resume {
            job,
            concurrency,
            pace,
        } => resume(
            global,
            &job,
            &Execution {
                pace,
                concurrency,
                ..Execution::default()
            },
        ),
        JobsCommand::Undo {
            job,
            spread,
            pace,
            new_job,
        } => undo(
            global,
            &job,
            &Execution {
                pace,
                concurrency: spread.concurrency,
                new_job,
                ..Execution::default()
            },
        ),
        JobsCommand::Pause { job } => {
            let mut store = open(global)?;
            let job = find(&store, &job)?;
            if job.state != JobState::Running {
                return Err(bad(format!(
                    "job {} is {}: only a running job can be paused",
                    job.id,
                    job.state.as_str()
                )));
            }
            store.set_job_state(&job.id, JobState::Paused, chrono::Utc::now())?;
            outln!(
                "job {} paused: a process running it stops after its in-flight chunks; `bulkops jobs resume {}` continues it",
                job.id, job.id
            )?;
            Ok(Exit::Success)
        }
        JobsCommand::Retune { job, rate } => {
            crate::job::check_rate(rate)?;
            let mut store = open(global)?;
            let job = open_job(&store, &job, "retuned")?;
            store.set_job_rate(&job.id, rate)?;
            outln!(
                "job {}: {rate} requests/s from now on (a process running it applies it within a second)",
                job.id
            )?;
            Ok(Exit::Success)
        }
        JobsCommand::Abort { job } => {
            let mut store = open(global)?;
            let job = open_job(&store, &job, "aborted")?;
            store.set_job_state(&job.id, JobState::Aborted, chrono::Utc::now())?;
            let counts = store.counts(&job.id)?;
            outln!(
                "job {} aborted: nothing more is sent for it; {} (see `bulkops report {}`; `bulkops jobs undo {}` covers every accepted item)",
                job.id,
                output::counts_in_words(&counts),
                job.id,
                job.id
            )?;
            Ok(Exit::Success)
        }
    }
}

pub fn report(global: &GlobalArgs, args: &ReportArgs) -> Result<Exit, CliError> {
    let store = open(global)?;
    let job = find(&store, &args.job)?;
    let mut out = std::io::BufWriter::new(output::Stdout);
    crate::report::write_report(&store, &job, args.failed, args.format, &mut out)?;
    out.flush().map_err(CliError::Stdout)?;
    Ok(Exit::Success)
}

/// What a job is doing now, as `jobs list` and `jobs show` say it. The store keeps `running`
/// from a job's start to its end, also after its process died (signal, `kill -9`, crash), so a
/// job is `running` only while a live process holds its lease, and `interrupted` otherwise.
fn current_state(store: &SqliteStore, job: &JobRecord) -> Result<&'static str, CliError> {
    if job.state != JobState::Running {
        return Ok(job.state.as_str());
    }
    let held = store
        .lease(&job.id)?
        .is_some_and(|lease| lease.is_held(chrono::Utc::now()));
    Ok(if held { "running" } else { "interrupted" })
}

fn open(global: &GlobalArgs) -> Result<SqliteStore, CliError> {
    let settings = load_settings(global, &Execution::default())?;
    open_store(&settings)
}

/// A running or paused job, for an action only those allow.
fn open_job(store: &SqliteStore, id: &str, action: &str) -> Result<JobRecord, CliError> {
    let job = find(store, id)?;
    if job.state.is_open() {
        return Ok(job);
    }
    Err(bad(format!(
        "job {} is {}: only a running or paused job can be {action}",
        job.id,
        job.state.as_str()
    )))
}

fn find(store: &SqliteStore, id: &str) -> Result<JobRecord, CliError> {
    store.job(id)?.ok_or_else(|| {
        bad(format!(
            "no job '{id}' in {}: see `bulkops jobs list`",
            store.path().display()
        ))
    })
}

/// `jobs undo JOB`: a new resumable job that re-creates what a scheduled delete removed or puts
/// back what a reschedule moved; for a cancel, the ids it cancelled and the matching replay.
fn undo(global: &GlobalArgs, job_id: &str, exec: &Execution) -> Result<Exit, CliError> {
    let settings = load_settings(global, exec)?;
    let store = open_store(&settings)?;
    let job = find(&store, job_id)?;
    if job.state.is_open() {
        return Err(bad(format!(
            "job {} is still {}: finish it (`bulkops jobs resume {}`) before undoing it",
            job.id,
            job.state.as_str(),
            job.id
        )));
    }
    let kind = match ops::rules(&job.spec.operation).undo {
        Undo::Recreate => OperationKind::ScheduledRecreate { of: job.id.clone() },
        Undo::Restore => OperationKind::ScheduledRestore { of: job.id.clone() },
        Undo::OfferReplay => return offer_replay(global, &store, &job),
        Undo::Impossible => {
            return Err(bad(format!(
                "a {} job cannot be undone: only scheduled delete, scheduled reschedule and runs cancel can",
                job.spec.operation.name()
            )))
        }
    };
    drop(store);
    let conn = connection_from_env()?;
    if job.spec.target.tenant != conn.tenant.to_string() {
        return Err(bad(format!(
            "job {} belongs to tenant {}, but the token is for tenant {}: use that tenant's token",
            job.id, job.spec.target.tenant, conn.tenant
        )));
    }
    let spec = JobSpec::new(kind, Selector::default(), job.spec.target.clone())?;
    run_spec(global, settings, conn, spec, None, exec)
}

/// Writes the ids a cancel job cancelled, one per line, and prints the replay of exactly those.
fn offer_replay(
    global: &GlobalArgs,
    store: &SqliteStore,
    job: &JobRecord,
) -> Result<Exit, CliError> {
    let path = store
        .path()
        .with_file_name(format!("{}-cancelled-ids.txt", job.id));
    let cannot_write = |source| CliError::Write {
        path: path.clone(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(cannot_write)?);
    let mut count = 0u64;
    walk_accepted(store, &job.id, |item| {
        count += 1;
        writeln!(out, "{}", item.id).map_err(cannot_write)
    })?;
    out.flush().map_err(cannot_write)?;
    let command = format!("bulkops runs replay --ids-file {}", path.display());
    match global.output {
        Output::Json => outln!(
            "{}",
            serde_json::json!({"job": job.id, "cancelled": count, "ids_file": path, "command": command})
        )?,
        Output::Text => outln!(
            "job {} cancelled {count} runs; their ids are in {}.\nCancel cannot be reversed, but those runs can be replayed:\n  {command}",
            job.id,
            path.display()
        )?,
    }
    Ok(Exit::Success)
}
