//! A job's rate holds from a process's first request (issue 11 point 2). A process about to run
//! a job (new, resumed, or one more replica) registers in the store by the job's identity before
//! its token check, workflow lookups and first look at the selection; the replicas running the
//! job count it in their share from then on (`Store::share`), and it sends those requests
//! through the limiter it will run the job with, at its own share. One that finds others on the
//! job waits until they have slowed down before its first request; the first one goes at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::run::retry_policy;
use super::{Error, Execution};
use crate::config::Settings;
use crate::engine::{self, Caller, Limiter, RetryPolicy};
use crate::store::{JobRecord, Store};

/// How long a process arriving at a job that others run (or arrive at) waits before its first
/// request: a control poll of theirs and some, so that they have slowed down to their new share
/// of the rate before it adds its own.
const SETTLE: Duration = Duration::from_millis(1500);

/// Read-only calls made before a job starts retry as often as the job's own calls (a 429 or 5xx
/// from a busy server is not bad input) but with short delays, so that an unreachable server is
/// reported within seconds.
pub(super) fn preflight_policy(settings: &Settings) -> RetryPolicy {
    RetryPolicy {
        max_retries: settings.max_retries,
        min_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
        max_retry_after: Duration::from_secs(5),
    }
}

/// The rate a run of a job goes at: one `jobs retune` stored, unless `--rate` says otherwise.
pub(super) fn job_rate(exec: &Execution, settings: &Settings, job: Option<&JobRecord>) -> f64 {
    match (exec.rate, job.and_then(|job| job.rate)) {
        (None, Some(retuned)) => retuned,
        _ => settings.rate,
    }
}

/// This process's place among those on one job, from before its first request.
pub(super) struct Pace {
    identity: String,
    owner: String,
    /// The job's rate, all processes together.
    rate: f64,
    /// This process's share of the job's rate: every request of the run goes through it.
    limiter: Arc<Limiter>,
    /// The open job with the identity as this process arrived: the one it joins.
    found: Option<JobRecord>,
}

impl Pace {
    /// Registers this process at the job `identity` names (`found` open then, if any), and,
    /// when others are on it already, waits until they have slowed down; its share is `rate`
    /// over the processes on the job once it has waited (others arriving at the same instant
    /// are known by then).
    pub async fn arrive(
        store: &mut dyn Store,
        identity: &str,
        rate: f64,
        found: Option<JobRecord>,
    ) -> Result<Pace, Error> {
        let owner = crate::store::this_process();
        let mut arrived = store.arrive(identity, &owner, Utc::now())?;
        if arrived.others > 0 {
            settle(identity, arrived.others).await;
            arrived = store.arrive(identity, &owner, Utc::now())?;
        }
        Ok(Pace {
            identity: identity.to_string(),
            owner,
            rate,
            limiter: engine::limiter(share(rate, arrived.others)),
            found,
        })
    }

    /// Renews the registration between the requests made before the job starts, and just
    /// before the job is begun or joined, and follows the number of processes on the job. One
    /// that was counted as gone meanwhile (a confirmation left unanswered, a start longer than
    /// the lease timeout) waits again for the others to slow down when there are any.
    pub async fn renew(&self, store: &mut dyn Store) -> Result<(), Error> {
        let arrived = store.arrive(&self.identity, &self.owner, Utc::now())?;
        let share = share(self.rate, arrived.others);
        if share != self.limiter.rate() {
            self.reshare(share).await;
        }
        if !arrived.counted && arrived.others > 0 {
            settle(&self.identity, arrived.others).await;
        }
        Ok(())
    }

    /// The identity of the job this process arrived at.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The open job with that identity as this process arrived, if any.
    pub fn found(&self) -> Option<&JobRecord> {
        self.found.as_ref()
    }

    /// Leaves the job to the process running it: this one stands by and sends nothing.
    pub fn stand_by(&self, store: &mut dyn Store) -> Result<(), Error> {
        Ok(store.depart(&self.identity, &self.owner)?)
    }

    /// A caller of the requests made before the job starts (the token check, lookups), with
    /// short retry delays.
    pub fn preflight_caller(&self, settings: &Settings) -> Caller {
        self.caller(preflight_policy(settings))
    }

    /// A caller with the job's own retries (the first look at the selection).
    pub fn survey_caller(&self, settings: &Settings) -> Caller {
        self.caller(retry_policy(settings))
    }

    fn caller(&self, policy: RetryPolicy) -> Caller {
        Caller::new(self.limiter.clone(), policy).reporting_to(crate::metrics::process())
    }

    /// The limiter the engine runs the job with, at this process's share: the engine's first
    /// request keeps the spacing after the last one made before it.
    pub fn into_limiter(self) -> Arc<Limiter> {
        self.limiter
    }

    /// A new rate for the limiter, once its next slot at the old one has come: a limiter with a
    /// new rate grants its first slot at once, which must not come sooner after the last request
    /// than the old rate allows.
    async fn reshare(&self, rate: f64) {
        self.limiter.until_ready().await;
        self.limiter.set_rate(rate);
    }
}

/// One process's share of a job's `rate` with `others` on it.
fn share(rate: f64, others: usize) -> f64 {
    rate / (others + 1) as f64
}

async fn settle(identity: &str, others: usize) {
    tracing::info!(
        identity,
        others,
        "other processes run this job or are starting it: waiting for them to slow down to their new share of its rate before the first request"
    );
    tokio::time::sleep(SETTLE).await;
}
