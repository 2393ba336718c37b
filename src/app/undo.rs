//! `jobs undo JOB`: a new resumable job that re-creates what a scheduled delete removed or puts
//! back what a reschedule moved; for a cancel, the ids it cancelled and the matching replay.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;

use super::run::{check_tenant, hatchet_of, run_spec, Planned};
use super::{control, Credentials, Error, Execution, Frontend, Outcome};
use crate::config::Settings;
use crate::job::{JobSpec, SelectorFields};
use crate::ops::{self, Archive, Undo};
use crate::store::{Item, JobRecord, Store};

/// The ids a cancel cancelled, written for their replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOffer {
    pub job: String,
    pub cancelled: u64,
    pub ids_file: PathBuf,
    /// The command that replays exactly those runs.
    pub command: String,
}

/// Undoes the finished job `job_id`.
pub(super) async fn undo(
    settings: &Settings,
    credentials: &Credentials,
    job_id: &str,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let store = settings.state.open()?;
    let job = control::find(store.as_ref(), &settings.state, job_id)?;
    if job.state.is_open() {
        return Err(Error::StillOpen {
            job: job.id,
            state: job.state.as_str(),
        });
    }
    let undo = ops::rules::undo(&job.spec);
    if undo == Undo::OfferReplay {
        return offer_replay(store.as_ref(), settings, &job).map(Outcome::ReplayOffered);
    }
    if let JobSpec::Handinger(spec) = &job.spec {
        if undo != Undo::Restore {
            return Err(Error::CannotUndo {
                operation: job.spec.operation_name(),
            });
        }
        let spec = spec.clone();
        return super::handinger::undo(settings, credentials, store, &job.id, spec, exec, frontend)
            .await;
    }
    let spec = hatchet_of(&job)?;
    let Some(kind) = undo.job(&job.id) else {
        return Err(Error::CannotUndo {
            operation: spec.operation.name(),
        });
    };
    let conn = credentials.connection()?;
    check_tenant(&job, &conn)?;
    let spec = ops::job_spec(kind, SelectorFields::default(), spec.target.clone())?;
    let now = Utc::now();
    let window = spec.resolve_window(now)?;
    let planned = Planned { spec, window, now };
    run_spec(settings, conn, store, planned, exec, frontend).await
}

/// Calls `visit` with every item of job `of` the server accepted, in enumeration order.
fn walk_accepted(
    store: &dyn Store,
    of: &str,
    mut visit: impl FnMut(Item) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut after = -1;
    loop {
        let batch = store.accepted_items(of, after, 5000)?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.seq;
        batch.into_iter().try_for_each(&mut visit)?;
    }
}

/// The items an undo job walks: what the server accepted of job `of`, with their payloads.
pub(super) fn archive(store: &dyn Store, of: &str) -> Result<Archive, Error> {
    accepted_payloads(store, of).map(Archive::new)
}

/// The ids and payloads of what the server accepted of job `of`.
pub(super) fn accepted_payloads(
    store: &dyn Store,
    of: &str,
) -> Result<Vec<(String, serde_json::Value)>, Error> {
    let mut items = Vec::new();
    walk_accepted(store, of, |item| {
        items.extend(item.payload.map(|payload| (item.id, payload)));
        Ok(())
    })?;
    Ok(items)
}

/// Writes the ids a cancel job cancelled, one per line, next to the state file (in the reports
/// directory for a database).
fn offer_replay(
    store: &dyn Store,
    settings: &Settings,
    job: &JobRecord,
) -> Result<ReplayOffer, Error> {
    let path = settings.state.file_for(
        &format!("{}-cancelled-ids.txt", job.id),
        &settings.reports_dir,
    );
    let cannot_write = |source| Error::Write {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(cannot_write)?;
    }
    let cannot_write = |source| Error::Write {
        path: path.clone(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(cannot_write)?);
    let mut cancelled = 0u64;
    walk_accepted(store, &job.id, |item| {
        cancelled += 1;
        writeln!(out, "{}", item.id).map_err(cannot_write)
    })?;
    out.flush().map_err(cannot_write)?;
    Ok(ReplayOffer {
        job: job.id.clone(),
        cancelled,
        command: format!("bulkops runs replay --ids-file {}", path.display()),
        ids_file: path,
    })
}
