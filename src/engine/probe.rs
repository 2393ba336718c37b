//! The server's apply lag, sampled while a job sends: a server that accepts a request at once
//! and applies it later answers as fast when its engine falls behind, so latency alone never
//! shows it. One item of an accepted request is looked at, now and then, until the server shows
//! it applied; how long that took is the lag the adaptive window hears.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Caller, Failure};

/// What a look at a probed item found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Yes,
    NotYet,
    /// It will never show applied (it ended otherwise, or is gone): no sample.
    Never,
}

/// How late the server applied a request it accepted at `accepted`: `lag` after it, or, with
/// `applied` false, not yet `lag` after it (the lag is at least that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyLag {
    pub accepted: Instant,
    pub lag: Duration,
    pub applied: bool,
}

impl ApplyLag {
    /// When the sample was taken.
    pub fn seen(&self) -> Instant {
        self.accepted + self.lag
    }
}

/// Probes an item of a request accepted at most every `PROBE_EVERY`, at most `PROBES` at once
/// (a server far behind still tells every second whether it falls further behind). Its looks go
/// alongside the operation's own requests, one beside each, through their caller (under the
/// job's rate, and only while chunks are being sent): it never holds a chunk longer than one
/// read beside its request, nor the job.
pub struct ApplyProbe {
    /// The request whose application is sampled, for the meter.
    endpoint: &'static str,
    state: Mutex<Probing>,
}

#[derive(Debug, Default)]
struct Probing {
    probed: Vec<Probed>,
    last_started: Option<Instant>,
}

#[derive(Debug)]
struct Probed {
    id: String,
    accepted: Instant,
    /// `None` while a look is on the wire.
    next_look: Option<Instant>,
}

/// The least time between the starts of two probes: without lag a probe costs one look, so
/// this bounds what probing costs (a request a second)...
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// ... and, at a low `--rate`, this share of the rate at most (at 5 requests/s, a probe every
/// 4 s).
const PROBE_SHARE: f64 = 0.05;
/// Probes awaited at once, at most: a probe a second tells of a server 16 s behind.
const PROBES: usize = 16;
/// The first look, this long after the request was accepted.
const FIRST_LOOK: Duration = Duration::from_millis(100);
/// Looks are spaced by this share of the age so far (and at least `FIRST_LOOK`): a lag is known
/// to within a quarter of itself, in a number of looks that grows with its logarithm.
const LOOK_SPACING: f64 = 0.25;
/// A probe given up this long after its request: the lag is at least that.
const PROBE_FOR: Duration = Duration::from_secs(60);

fn now() -> Instant {
    // tokio's clock, so that tests in virtual time drive the probe too.
    tokio::time::Instant::now().into_std()
}

impl ApplyProbe {
    pub fn new(endpoint: &'static str) -> Self {
        ApplyProbe {
            endpoint,
            state: Mutex::new(Probing::default()),
        }
    }

    fn probing(&self) -> std::sync::MutexGuard<'_, Probing> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The server just accepted a request of `caller`'s for `ids`: one of them is probed,
    /// unless one started less than `PROBE_EVERY` ago (or `PROBE_SHARE` of the rate) or
    /// `PROBES` are awaited.
    pub fn accepted(&self, caller: &Caller, ids: &[String]) {
        let at = now();
        let every = PROBE_EVERY.max(Duration::from_secs_f64(
            (1.0 / (caller.rate() * PROBE_SHARE)).min(PROBE_FOR.as_secs_f64()),
        ));
        let mut probing = self.probing();
        let recent = probing
            .last_started
            .is_some_and(|last| at.saturating_duration_since(last) < every);
        if probing.probed.len() >= PROBES || recent {
            return;
        }
        let Some(id) = ids.first() else { return };
        probing.last_started = Some(at);
        probing.probed.push(Probed {
            id: id.clone(),
            accepted: at,
            next_look: Some(at + FIRST_LOOK),
        });
    }

    /// Looks at a probed item if a look is due (one request through `caller`, as `endpoint`,
    /// with `look`), and tells `caller` the lag it shows.
    pub async fn look<F, Fut, E>(&self, caller: &Caller, endpoint: &'static str, look: F)
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<Applied, E>>,
        E: Failure,
    {
        let Some((id, accepted)) = self.due() else {
            return;
        };
        let Some(found) = caller.look(endpoint, || look(id.clone())).await else {
            // No request slot free now: the next request's look tries again.
            self.look_again(&id, accepted, now());
            return;
        };
        let at = now();
        let lag = at.saturating_duration_since(accepted);
        let sample = match found {
            Ok(Applied::Yes) => Some(ApplyLag {
                accepted,
                lag,
                applied: true,
            }),
            Ok(Applied::NotYet) => Some(ApplyLag {
                accepted,
                lag,
                applied: false,
            }),
            Ok(Applied::Never) | Err(_) => None,
        };
        let mut probing = self.probing();
        let awaited = sample.is_some_and(|s| !s.applied && lag < PROBE_FOR);
        let next = at + FIRST_LOOK.max(lag.mul_f64(LOOK_SPACING));
        // Applied, given up, ended otherwise or unreadable: the probe ends.
        probing.probed.retain_mut(|probed| {
            if probed.id != id || probed.accepted != accepted {
                return true;
            }
            probed.next_look = Some(next);
            awaited
        });
        drop(probing);
        if let Some(sample) = sample {
            caller.observe_apply_lag(self.endpoint, sample);
        }
    }

    fn look_again(&self, id: &str, accepted: Instant, at: Instant) {
        let mut probing = self.probing();
        if let Some(probed) = probing
            .probed
            .iter_mut()
            .find(|p| p.id == id && p.accepted == accepted)
        {
            probed.next_look = Some(at);
        }
    }

    /// The probed item due for a look now, the oldest first, and when its request was
    /// accepted; the look is then taken (none other at it until it is answered).
    fn due(&self) -> Option<(String, Instant)> {
        let at = now();
        let mut probing = self.probing();
        let probed = probing
            .probed
            .iter_mut()
            .find(|p| p.next_look.is_some_and(|next| at >= next))?;
        probed.next_look = None;
        Some((probed.id.clone(), probed.accepted))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::engine::{limiter, Answer, RetryPolicy};

    #[derive(Debug, thiserror::Error)]
    #[error("HTTP 503")]
    struct Busy;

    impl Failure for Busy {
        fn is_transient(&self) -> bool {
            true
        }
        fn certainly_not_applied(&self) -> bool {
            false
        }
        fn is_pressure(&self) -> bool {
            true
        }
        fn retry_after(&self) -> Option<Duration> {
            None
        }
        fn answer(&self) -> Answer {
            Answer::ServerError
        }
        fn http_status(&self) -> Option<u16> {
            Some(503)
        }
    }

    fn caller() -> Caller {
        caller_at(1000.0)
    }

    fn caller_at(rate: f64) -> Caller {
        Caller::new(
            limiter(rate),
            RetryPolicy {
                max_retries: 3,
                min_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                max_retry_after: Duration::from_millis(20),
            },
        )
    }

    /// A server that applies what it accepted `apply_after` later. Sends a chunk every 50 ms
    /// for `for_how_long`, each with its look; returns the samples and the looks made.
    async fn send_chunks(apply_after: Duration, for_how_long: Duration) -> (Vec<ApplyLag>, u32) {
        let probe = ApplyProbe::new("test.apply");
        let accepted_at = Mutex::new(std::collections::HashMap::new());
        let looks = AtomicU32::new(0);
        let mut samples = Vec::new();
        let started = now();
        let mut chunk = 0;
        while now().saturating_duration_since(started) < for_how_long {
            let caller = caller();
            let ids = vec![format!("run-{chunk}")];
            chunk += 1;
            let look = probe.look(&caller, "test.look", |id| {
                looks.fetch_add(1, Ordering::Relaxed);
                let applied = accepted_at
                    .lock()
                    .unwrap()
                    .get(&id)
                    .is_some_and(|&at: &Instant| now() >= at + apply_after);
                async move {
                    Ok::<_, Busy>(if applied {
                        Applied::Yes
                    } else {
                        Applied::NotYet
                    })
                }
            });
            look.await;
            accepted_at.lock().unwrap().insert(ids[0].clone(), now());
            probe.accepted(&caller, &ids);
            samples.extend(caller.stats().apply_lag);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (samples, looks.load(Ordering::Relaxed))
    }

    #[tokio::test(start_paused = true)]
    async fn without_lag_a_probe_costs_one_look_a_second() {
        let (samples, looks) = send_chunks(Duration::ZERO, Duration::from_secs(60)).await;
        // 1,200 chunks in a minute; a probe at most every second, seen applied at its first look.
        assert!((55..=61).contains(&looks), "{looks} looks");
        assert!(samples.iter().all(|s| s.applied && s.lag < FIRST_LOOK * 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lag_is_measured_to_within_a_quarter_of_itself_in_few_looks() {
        let lag = Duration::from_secs(8);
        let (samples, looks) = send_chunks(lag, Duration::from_secs(60)).await;
        let applied: Vec<Duration> = samples
            .iter()
            .filter(|s| s.applied)
            .map(|s| s.lag)
            .collect();
        assert!(applied.len() >= 5, "{samples:?}");
        assert!(
            applied
                .iter()
                .all(|&l| l >= lag && l <= lag.mul_f64(1.0 + LOOK_SPACING) + FIRST_LOOK),
            "{applied:?}"
        );
        // Awaited samples rise towards the lag and say "at least".
        assert!(samples.iter().filter(|s| !s.applied).all(|s| s.lag < lag));
        // Probes go a second apart, four at a time; each looks about log1.25(8 s / 0.1 s) times.
        assert!(applied.len() >= 20, "{} probes", applied.len());
        let per_probe = looks as f64 / applied.len() as f64;
        assert!(
            per_probe <= 22.0,
            "{looks} looks for {} probes",
            applied.len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn probes_that_never_show_applied_are_given_up_after_a_minute() {
        let (samples, _) = send_chunks(Duration::from_secs(3600), Duration::from_secs(150)).await;
        assert!(samples.iter().all(|s| !s.applied));
        // Each probe gives up once, at its first look past the minute.
        let mut given_up: Vec<Instant> = samples
            .iter()
            .filter(|s| s.lag >= PROBE_FOR)
            .map(|s| s.accepted)
            .collect();
        let latest = PROBE_FOR.mul_f64(1.0 + LOOK_SPACING) + FIRST_LOOK;
        assert!(samples.iter().all(|s| s.lag <= latest));
        let probes = given_up.len();
        given_up.sort();
        given_up.dedup();
        assert_eq!(given_up.len(), probes, "a probe gave up twice");
        // The first sixteen (a second apart from the start) all gave up, and then others began.
        assert!(probes > PROBES, "{probes} probes given up");
    }

    #[tokio::test(start_paused = true)]
    async fn at_a_low_rate_probing_takes_a_twentieth_of_it() {
        let probe = ApplyProbe::new("test.apply");
        let caller = caller_at(5.0);
        let started = now();
        let mut chunk = 0;
        while now().saturating_duration_since(started) < Duration::from_secs(20) {
            probe.accepted(&caller, &[format!("run-{chunk}")]);
            chunk += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // 5 requests/s: a probe every 4 s (each seen applied at its first look, without lag).
        assert_eq!(probe.probing().probed.len(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_look_drops_the_probe_counts_as_pressure_and_is_not_repeated() {
        let probe = ApplyProbe::new("test.apply");
        probe.accepted(&caller(), &["run".to_string()]);
        tokio::time::sleep(FIRST_LOOK).await;
        let caller = caller();
        let looks = AtomicU32::new(0);
        probe
            .look(&caller, "test.look", |_| {
                looks.fetch_add(1, Ordering::Relaxed);
                async { Err::<Applied, _>(Busy) }
            })
            .await;
        assert_eq!(looks.load(Ordering::Relaxed), 1, "a look is never retried");
        let stats = caller.stats();
        assert_eq!((stats.requests, stats.pressure), (1, 1));
        assert_eq!(stats.apply_lag, None);
        assert!(probe.due().is_none(), "the probe was dropped");
    }
}
