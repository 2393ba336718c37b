//! Looking up jobs and steering them from another process: `jobs pause|retune|abort` write
//! into the store, and the process running the job reads it within a second.

use chrono::Utc;

use super::Error;
use crate::config::Settings;
use crate::store::{Counts, JobRecord, JobState, Location, Store};

/// The job `id`, or an error naming where it was looked for.
pub fn find(store: &dyn Store, state: &Location, id: &str) -> Result<JobRecord, Error> {
    store.job(id)?.ok_or_else(|| Error::UnknownJob {
        job: id.to_string(),
        state: state.to_string(),
    })
}

/// A running or paused job, for an action only those allow.
fn open_job(
    store: &dyn Store,
    state: &Location,
    id: &str,
    action: &'static str,
) -> Result<JobRecord, Error> {
    let job = find(store, state, id)?;
    if job.state.is_open() {
        return Ok(job);
    }
    Err(Error::NotOpen {
        job: job.id,
        state: job.state.as_str(),
        action,
    })
}

/// What a job is doing now, as `jobs list` and `jobs show` say it. The store keeps `running`
/// from a job's start to its end, also after its process died (signal, `kill -9`, crash), so a
/// job is `running` only while a live process holds its lease, and `interrupted` otherwise.
pub fn current_state(store: &dyn Store, job: &JobRecord) -> Result<&'static str, Error> {
    if job.state != JobState::Running {
        return Ok(job.state.as_str());
    }
    let held = store
        .lease(&job.id)?
        .is_some_and(|lease| lease.is_held(Utc::now()));
    Ok(if held { "running" } else { "interrupted" })
}

/// Pauses a running job: the process running it stops after its in-flight chunks.
pub fn pause(settings: &Settings, id: &str) -> Result<JobRecord, Error> {
    let mut store = settings.state.open()?;
    let job = find(store.as_ref(), &settings.state, id)?;
    if job.state != JobState::Running {
        return Err(Error::NotRunning {
            job: job.id,
            state: job.state.as_str(),
        });
    }
    store.set_job_state(&job.id, JobState::Paused, Utc::now())?;
    Ok(job)
}

/// Sets an open job's rate, now and on every later resume.
pub fn retune(settings: &Settings, id: &str, rate: f64) -> Result<JobRecord, Error> {
    crate::job::check_rate(rate)?;
    let mut store = settings.state.open()?;
    let job = open_job(store.as_ref(), &settings.state, id, "retuned")?;
    store.set_job_rate(&job.id, rate)?;
    Ok(job)
}

/// Gives an open job up for good: nothing more is sent for it. Returns the job and its counts.
pub fn abort(settings: &Settings, id: &str) -> Result<(JobRecord, Counts), Error> {
    let mut store = settings.state.open()?;
    let job = open_job(store.as_ref(), &settings.state, id, "aborted")?;
    store.set_job_state(&job.id, JobState::Aborted, Utc::now())?;
    let counts = store.counts(&job.id)?;
    Ok((job, counts))
}
