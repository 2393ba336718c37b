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

/// What `jobs retune` changes: the rate, the concurrency, or both.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retune {
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
}

/// Sets an open job's rate and concurrency, now (the process running it reads them within a
/// second) and on every later resume. Everything is checked before anything is written.
pub fn retune(settings: &Settings, id: &str, retune: Retune) -> Result<JobRecord, Error> {
    if let Some(rate) = retune.rate {
        crate::job::check_rate(rate)?;
    }
    if let Some(concurrency) = retune.concurrency {
        crate::job::check_concurrency(concurrency)?;
    }
    let mut store = settings.state.open()?;
    let job = open_job(store.as_ref(), &settings.state, id, "retuned")?;
    if retune.concurrency.is_some() && crate::ops::rules::one_request_at_a_time(&job.spec) {
        return Err(Error::ConcurrencyNotHonoured {
            operation: job.spec.operation_name(),
            job: job.id,
        });
    }
    if let Some(rate) = retune.rate {
        store.set_job_rate(&job.id, rate)?;
    }
    if let Some(concurrency) = retune.concurrency {
        store.set_job_concurrency(&job.id, concurrency)?;
    }
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
