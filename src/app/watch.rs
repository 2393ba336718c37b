//! Watching a job that another process runs: the store is read again on every look, and the
//! rate and time left come from how the counts moved between looks.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{find, finished_code, BulkopsExitCode, Error};
use crate::config::Settings;
use crate::engine::processed;
use crate::store::{Counts, JobRecord, JobState, Location, Store};

/// How often `jobs watch` reads the store: the running process records progress and reads its
/// controls about as often.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The rate is measured over the looks of this last stretch, so that it follows a retune or a
/// slowing server within seconds without jumping at every chunk.
const RATE_OVER: Duration = Duration::from_secs(10);

/// One look at a watched job.
#[derive(Debug, Clone)]
pub struct Sight {
    pub job: JobRecord,
    /// As `jobs show` says it: `running`, `paused`, `finished`, `aborted` or `interrupted`.
    pub state: &'static str,
    pub counts: Counts,
    /// Items sent or settled per second over the last looks; `None` before a second look.
    pub rate: Option<f64>,
    /// Time until every item is sent at that rate, once the listing is complete and the rate
    /// is above 0 (verification of the last items comes after it).
    pub eta: Option<Duration>,
    /// How the job ended, as the exit code its own process ended with; `None` while it runs.
    pub ended: Option<u8>,
}

/// A job watched from another process.
pub struct Watch {
    store: Box<dyn Store>,
    /// Where the store is, to name it when the job is gone.
    state: Location,
    job: String,
    rate: RateMeter,
    /// Whether the last look found the job `running` with no process holding it. A process
    /// closing a job releases it just before it marks it finished, so one such look is not yet
    /// the end.
    unheld: bool,
}

impl Watch {
    /// Watches the job `id`; a job the store does not have is bad input.
    pub fn open(settings: &Settings, id: &str) -> Result<Watch, Error> {
        let store = settings.state.open()?;
        let job = find(store.as_ref(), &settings.state, id)?.id;
        Ok(Watch {
            store,
            state: settings.state.clone(),
            job,
            rate: RateMeter::default(),
            unheld: false,
        })
    }

    /// Reads the job and its counts again.
    pub fn look(&mut self, now: Instant) -> Result<Sight, Error> {
        let job = find(self.store.as_ref(), &self.state, &self.job)?;
        let counts = self.store.counts(&job.id)?;
        let held = self
            .store
            .lease(&job.id)?
            .is_some_and(|lease| lease.is_held(Utc::now()));
        let rate = self.rate.record(now, processed(&counts));
        let eta = rate
            .filter(|rate| *rate > 0.0 && job.enumerated)
            .map(|rate| Duration::from_secs_f64((counts.pending as f64 / rate).min(1e9)));
        let unheld_before = self.unheld;
        self.unheld = job.state == JobState::Running && !held;
        let (state, ended) = standing(job.state, held, unheld_before, &counts);
        Ok(Sight {
            job,
            state,
            counts,
            rate,
            eta,
            ended,
        })
    }
}

/// A job's state as `jobs show` says it, and its exit code once it ended: `finished` as its run
/// ended; paused, aborted or interrupted as interrupted, once no process holds it. A `running`
/// job nobody holds has ended only when the look before found it so too.
fn standing(
    state: JobState,
    held: bool,
    unheld_before: bool,
    counts: &Counts,
) -> (&'static str, Option<u8>) {
    match (state, held) {
        (JobState::Running, true) => ("running", None),
        (JobState::Running, false) => (
            "interrupted",
            unheld_before.then_some(BulkopsExitCode::INTERRUPTED),
        ),
        (JobState::Paused | JobState::Aborted, true) => (state.as_str(), None),
        (JobState::Paused | JobState::Aborted, false) => {
            (state.as_str(), Some(BulkopsExitCode::INTERRUPTED))
        }
        (JobState::Finished, _) => ("finished", Some(finished_code(counts))),
    }
}

/// Items processed per second over the looks of the last `RATE_OVER`.
#[derive(Debug, Default)]
struct RateMeter {
    /// Processed items at each recent look.
    looks: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    /// Records this look and returns the rate since the oldest look of the last `RATE_OVER`.
    fn record(&mut self, now: Instant, processed: u64) -> Option<f64> {
        self.looks.push_back((now, processed));
        while self
            .looks
            .get(1)
            .is_some_and(|(at, _)| now.duration_since(*at) >= RATE_OVER)
        {
            self.looks.pop_front();
        }
        let (since, then) = *self.looks.front()?;
        let secs = now.duration_since(since).as_secs_f64();
        (secs > 0.0).then(|| processed.saturating_sub(then) as f64 / secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(failed: u64, unconfirmed: u64) -> Counts {
        Counts {
            total: 10,
            done: 10 - failed - unconfirmed,
            failed,
            unconfirmed,
            ..Counts::default()
        }
    }

    #[test]
    fn the_rate_is_what_was_processed_over_the_last_ten_seconds() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut meter = RateMeter::default();
        assert_eq!(meter.record(at(0), 0), None, "one look has no rate");
        assert_eq!(meter.record(at(2), 100), Some(50.0));
        assert_eq!(meter.record(at(4), 100), Some(25.0));
        // After a pause the older looks drop out: from second 4 on, 0 items in 10 s.
        for secs in 5..=14 {
            meter.record(at(secs), 100);
        }
        assert_eq!(meter.record(at(15), 100), Some(0.0));
        assert_eq!(meter.record(at(16), 160), Some(6.0));
    }

    #[test]
    fn a_job_ends_as_its_own_process_would_have_ended() {
        let clean = counts(0, 0);
        let ok = BulkopsExitCode::OK;
        let interrupted = Some(BulkopsExitCode::INTERRUPTED);
        assert_eq!(
            standing(JobState::Running, true, true, &clean),
            ("running", None)
        );
        assert_eq!(
            standing(JobState::Finished, false, false, &clean),
            ("finished", Some(ok))
        );
        for (failed, unconfirmed) in [(1, 0), (0, 2)] {
            assert_eq!(
                standing(
                    JobState::Finished,
                    false,
                    false,
                    &counts(failed, unconfirmed)
                )
                .1,
                Some(BulkopsExitCode::ITEM_FAILURES)
            );
        }
        // Paused or aborted: over once the process running it let it go.
        for state in [JobState::Paused, JobState::Aborted] {
            assert_eq!(standing(state, true, false, &clean), (state.as_str(), None));
            assert_eq!(
                standing(state, false, false, &clean),
                (state.as_str(), interrupted)
            );
        }
        // Released but not yet marked finished, or gone: only a second look tells.
        assert_eq!(
            standing(JobState::Running, false, false, &clean),
            ("interrupted", None)
        );
        assert_eq!(
            standing(JobState::Running, false, true, &clean),
            ("interrupted", interrupted)
        );
    }
}
