use std::future::Future;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::sync::watch;

use super::{Answer, ApplyLag, Failure, Meter, Unmetered};

/// The one process-wide ceiling on requests per second, shared by every executor and by
/// enumeration and verification. Its rate can be changed while it is in use (`jobs retune`):
/// governor quotas are fixed, so a change swaps in a new governor. Once stopped it grants no
/// slot again: a job that stops sends nothing more, and what waits is dropped by its owner
/// (see `Caller::interrupted`) instead of waiting out its slot.
pub struct Limiter {
    governor: RwLock<Arc<DefaultDirectRateLimiter>>,
    /// The rate the governor grants, as `f64` bits (for the meter; the governor cannot say).
    rate_bits: AtomicU64,
    stopped: watch::Sender<bool>,
}

/// A waiting request wakes no sooner than the timer's millisecond allows, so the slots of one
/// millisecond may go at once: with a single slot of credit, a late wake-up forfeits the slots it
/// overslept and 100,000 requests/s gave about 30,000 (docs/benchmarks.md, "The pacer"). Up to
/// 1,000 requests/s this is one slot: strictly spaced.
const BURST_SPAN_SECS: f64 = 0.001;

fn governor(rate_per_sec: f64) -> Arc<DefaultDirectRateLimiter> {
    // Rates are checked where they come in; this only keeps the period finite.
    let rate = crate::job::check_rate(rate_per_sec).unwrap_or(crate::job::MIN_RATE);
    let period = Duration::from_secs_f64(1.0 / rate);
    // At most MAX_RATE / 1,000 slots: the cast cannot truncate.
    let burst = NonZeroU32::new((rate * BURST_SPAN_SECS).ceil() as u32).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    Arc::new(RateLimiter::direct(quota))
}

pub fn limiter(rate_per_sec: f64) -> Arc<Limiter> {
    Arc::new(Limiter {
        governor: RwLock::new(governor(rate_per_sec)),
        rate_bits: AtomicU64::new(rate_per_sec.to_bits()),
        stopped: watch::Sender::new(false),
    })
}

impl Limiter {
    /// Waits for the next request slot at the current rate; after `stop`, for ever.
    pub async fn until_ready(&self) {
        // Cloned out so that no lock is held while waiting; a poisoned lock (a panic
        // elsewhere) still holds a usable governor.
        let governor = match self.governor.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        tokio::select! {
            biased;
            () = self.stopped() => std::future::pending().await,
            () = governor.until_ready() => {}
        }
    }

    /// Takes a request slot if one is free now, without waiting; never after `stop`.
    pub fn try_ready(&self) -> bool {
        let governor = match self.governor.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        !*self.stopped.borrow() && governor.check().is_ok()
    }

    /// No request slot is granted from now on.
    pub fn stop(&self) {
        self.stopped.send_replace(true);
    }

    /// Resolves once `stop` has been called.
    pub async fn stopped(&self) {
        // The sender lives in `self`, so the wait cannot fail for want of one.
        let _ = self.stopped.subscribe().wait_for(|stopped| *stopped).await;
    }

    /// Requests per second granted now.
    pub fn rate(&self) -> f64 {
        f64::from_bits(self.rate_bits.load(Ordering::Relaxed))
    }

    /// Changes the rate; calls already waiting finish at the old one.
    pub fn set_rate(&self, rate_per_sec: f64) {
        self.rate_bits
            .store(rate_per_sec.to_bits(), Ordering::Relaxed);
        let fresh = governor(rate_per_sec);
        match self.governor.write() {
            Ok(mut slot) => *slot = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Longest `Retry-After` obeyed; a longer one is capped so a job cannot stall for hours.
    pub max_retry_after: Duration,
}

/// What the calls of one unit of work saw, for the adaptive window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStats {
    pub requests: u32,
    /// Responses that signal overload: 429, 5xx, timeouts, dropped connections.
    pub pressure: u32,
    pub slowest_ok: Option<Duration>,
    /// How late the server applied what it accepted, when a look at a probed item said so
    /// (see `ApplyProbe`).
    pub apply_lag: Option<ApplyLag>,
}

/// What the requests of every caller that shares it met, added up: how hard the server pushed
/// back over a whole run, for the pressure log and the summary (`CallStats` is per unit of work,
/// for the adaptive window).
#[derive(Debug, Default)]
pub struct Traffic {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    unanswered: AtomicU64,
    server_errors: AtomicU64,
}

/// A reading of [`Traffic`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrafficCounts {
    pub requests: u64,
    /// Attempts made again after a transient failure.
    pub retries: u64,
    /// Answers 429: the server's rate limit (its Retry-After is obeyed).
    pub throttled: u64,
    /// Requests with no answer: connection refused, timed out, or dropped mid-request.
    pub unanswered: u64,
    /// Answers 5xx.
    pub server_errors: u64,
}

impl TrafficCounts {
    /// What happened after `earlier` (a reading of the same traffic).
    pub fn since(&self, earlier: &TrafficCounts) -> TrafficCounts {
        TrafficCounts {
            requests: self.requests.saturating_sub(earlier.requests),
            retries: self.retries.saturating_sub(earlier.retries),
            throttled: self.throttled.saturating_sub(earlier.throttled),
            unanswered: self.unanswered.saturating_sub(earlier.unanswered),
            server_errors: self.server_errors.saturating_sub(earlier.server_errors),
        }
    }

    /// Whether the server pushed back at all.
    pub fn under_pressure(&self) -> bool {
        self.retries + self.throttled + self.unanswered + self.server_errors > 0
    }
}

impl Traffic {
    pub fn counts(&self) -> TrafficCounts {
        let read = |n: &AtomicU64| n.load(Ordering::Relaxed);
        TrafficCounts {
            requests: read(&self.requests),
            retries: read(&self.retries),
            throttled: read(&self.throttled),
            unanswered: read(&self.unanswered),
            server_errors: read(&self.server_errors),
        }
    }

    fn answered(&self, result: Result<(), &dyn Failure>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let Err(e) = result else {
            return;
        };
        let counter = match e.answer() {
            Answer::Throttled => &self.throttled,
            Answer::ServerError => &self.server_errors,
            Answer::Unanswered => &self.unanswered,
            Answer::Refused => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
}

/// Makes calls under the shared limiter with retries, recording what it saw.
pub struct Caller {
    limiter: Arc<Limiter>,
    policy: RetryPolicy,
    stats: Mutex<CallStats>,
    traffic: Arc<Traffic>,
    meter: Arc<dyn Meter>,
    /// How many of its requests are on the wire now.
    on_the_wire: watch::Sender<usize>,
}

/// Counts one request on the wire for as long as it lives.
struct OnTheWire<'a>(&'a watch::Sender<usize>);

impl<'a> OnTheWire<'a> {
    fn new(count: &'a watch::Sender<usize>) -> Self {
        count.send_modify(|n| *n += 1);
        OnTheWire(count)
    }
}

impl Drop for OnTheWire<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl Caller {
    pub fn new(limiter: Arc<Limiter>, policy: RetryPolicy) -> Self {
        Caller {
            limiter,
            policy,
            stats: Mutex::new(CallStats::default()),
            traffic: Arc::default(),
            meter: Arc::new(Unmetered),
            on_the_wire: watch::Sender::new(0),
        }
    }

    /// The same caller, telling `meter` of every attempt and retry.
    pub fn reporting_to(self, meter: Arc<dyn Meter>) -> Self {
        Caller { meter, ..self }
    }

    /// The same caller, adding what its requests meet to `traffic` (shared with others).
    pub fn counting_into(self, traffic: Arc<Traffic>) -> Self {
        Caller { traffic, ..self }
    }

    /// Resolves once the limiter is stopped and none of this caller's requests is on the wire.
    /// Whatever uses the caller then waits only for what it will never get (a request slot, a
    /// retry, a pacer, a settling delay), so it can be dropped at once without losing the
    /// answer to a request that was sent.
    pub async fn interrupted(&self) {
        self.limiter.stopped().await;
        let _ = self.on_the_wire.subscribe().wait_for(|n| *n == 0).await;
    }

    /// Requests per second the shared limiter grants now.
    pub fn rate(&self) -> f64 {
        self.limiter.rate()
    }

    pub fn stats(&self) -> CallStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// `timed`: whether the answer's latency is the unit of work's own (a look at another
    /// endpoint on the side is not, and would read as queueing if it were slower).
    fn record(
        &self,
        endpoint: &'static str,
        result: Result<(), &dyn Failure>,
        took: Duration,
        timed: bool,
    ) {
        self.traffic.answered(result);
        self.meter.request(endpoint, result, took);
        if let Ok(mut stats) = self.stats.lock() {
            stats.requests += 1;
            match result {
                Ok(()) if timed => {
                    stats.slowest_ok = Some(stats.slowest_ok.map_or(took, |s| s.max(took)))
                }
                Err(e) if e.is_pressure() => stats.pressure += 1,
                _ => {}
            }
        }
    }

    /// The server applied what `endpoint` accepted this late (or has not yet, this long after):
    /// kept for the adaptive window, and an applied one told to the meter.
    pub fn observe_apply_lag(&self, endpoint: &'static str, sample: ApplyLag) {
        if sample.applied {
            self.meter.apply_lag(endpoint, sample.lag);
        }
        if let Ok(mut stats) = self.stats.lock() {
            stats.apply_lag = Some(sample);
        }
    }

    /// One attempt under the limiter, never repeated: `f` is sent when its slot comes and its
    /// answer recorded like any other.
    async fn attempt<T, E, Fut>(
        &self,
        endpoint: &'static str,
        timed: bool,
        f: impl FnOnce() -> Fut,
    ) -> Result<T, E>
    where
        E: Failure,
        Fut: Future<Output = Result<T, E>>,
    {
        self.limiter.until_ready().await;
        let started = Instant::now();
        let result = {
            let _sent = OnTheWire::new(&self.on_the_wire);
            f().await
        };
        let answer = result.as_ref().map(|_| ()).map_err(|e| e as &dyn Failure);
        self.record(endpoint, answer, started.elapsed(), timed);
        result
    }

    /// A read on the side of a unit of work that may as well be skipped: sent only if a request
    /// slot is free at once (`None` otherwise), and only once, so that it never holds the work
    /// up, for a slot or with back-off. Its failure is pressure like any other; its latency,
    /// another endpoint's, is not compared with the work's own.
    pub async fn look<T, E, Fut>(
        &self,
        endpoint: &'static str,
        f: impl FnOnce() -> Fut,
    ) -> Option<Result<T, E>>
    where
        E: Failure,
        Fut: Future<Output = Result<T, E>>,
    {
        if !self.limiter.try_ready() {
            return None;
        }
        let started = Instant::now();
        let result = {
            let _sent = OnTheWire::new(&self.on_the_wire);
            f().await
        };
        let answer = result.as_ref().map(|_| ()).map_err(|e| e as &dyn Failure);
        self.record(endpoint, answer, started.elapsed(), false);
        Some(result)
    }

    /// Calls `f` until it succeeds or fails for good. With `safe_to_repeat` false (a
    /// non-idempotent request), only failures that certainly were not applied are retried.
    /// `endpoint` names the request for the meter: a few fixed words per operation (never a
    /// URL with ids in it). Returns the result and how many attempts were made.
    pub async fn call<T, E, F, Fut>(
        &self,
        endpoint: &'static str,
        safe_to_repeat: bool,
        f: F,
    ) -> (Result<T, E>, u32)
    where
        E: Failure,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let attempts = AtomicU32::new(0);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_retries)
            .with_jitter();
        let max_retry_after = self.policy.max_retry_after;
        let result = (|| {
            self.attempt(endpoint, true, || {
                attempts.fetch_add(1, Ordering::Relaxed);
                f()
            })
        })
        .retry(backoff)
        .when(|e: &E| e.is_transient() && (safe_to_repeat || e.certainly_not_applied()))
        .adjust(|e: &E, next: Option<Duration>| {
            // Retry-After replaces our own delay, but never adds attempts beyond the policy.
            next.map(|d| e.retry_after().map_or(d, |ra| ra.min(max_retry_after)))
        })
        .notify(|_: &E, _: Duration| {
            self.traffic.retried();
            self.meter.retry(endpoint);
        })
        .await;
        (result, attempts.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_rate_applies_to_the_next_request() {
        let limiter = limiter(0.1);
        limiter.until_ready().await; // the one-request burst
        limiter.set_rate(1000.0);
        // At 0.1/s the next slot is 10 s away.
        let next = tokio::time::timeout(Duration::from_secs(5), limiter.until_ready()).await;
        assert!(next.is_ok(), "still waiting at the old rate");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_interrupts_a_wait_for_a_slot_at_once() {
        let caller = Caller::new(limiter(0.01), policy());
        let sent = AtomicU32::new(0);
        let call = || async {
            sent.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Fake>(())
        };
        let (first, _) = caller.call("test", true, call).await; // the one-request burst
        assert!(first.is_ok());
        // The next slot is 100 s away: stopping after 1 s must end the wait there.
        let waiting = caller.call("test", true, call);
        let stop = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            caller.limiter.stop();
        };
        let started = tokio::time::Instant::now();
        tokio::select! {
            _ = waiting => panic!("a request was sent after the stop"),
            ((), ()) = async { tokio::join!(stop, caller.interrupted()) } => {}
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(sent.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_interrupts_a_retry_after_sleep_at_once() {
        let policy = RetryPolicy {
            max_retry_after: Duration::from_secs(600),
            ..policy()
        };
        let caller = Caller::new(limiter(1000.0), policy);
        let busy = || async { Err::<(), _>(Fake::Status(429, Some(Duration::from_secs(600)))) };
        let started = tokio::time::Instant::now();
        let stop = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            caller.limiter.stop();
        };
        tokio::select! {
            _ = caller.call("test", true, busy) => panic!("the retry did not wait"),
            ((), ()) = async { tokio::join!(stop, caller.interrupted()) } => {}
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(caller.stats().requests, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_waits_for_a_request_on_the_wire() {
        let caller = Caller::new(limiter(1000.0), policy());
        let answered = AtomicU32::new(0);
        let slow = || async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            answered.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Fake>(())
        };
        let call = caller.call("test", true, slow);
        let stop_then_wait = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            caller.limiter.stop();
            caller.interrupted().await;
        };
        tokio::pin!(call);
        tokio::select! {
            biased;
            (result, _) = &mut call => assert!(result.is_ok()),
            () = stop_then_wait => panic!("interrupted while a request was on the wire"),
        }
        assert_eq!(answered.load(Ordering::Relaxed), 1);
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_millis(20),
        }
    }

    /// A backend's failures as the engine sees them: an HTTP status, or no connection.
    #[derive(Debug, thiserror::Error)]
    enum Fake {
        #[error("HTTP {0}")]
        Status(u16, Option<Duration>),
        #[error("connection refused")]
        Refused,
    }

    impl Failure for Fake {
        fn is_transient(&self) -> bool {
            matches!(self, Fake::Refused | Fake::Status(429 | 500..=599, _))
        }
        fn certainly_not_applied(&self) -> bool {
            matches!(self, Fake::Refused | Fake::Status(400..=499, _))
        }
        fn is_pressure(&self) -> bool {
            matches!(self, Fake::Status(429 | 500..=599, _))
        }
        fn retry_after(&self) -> Option<Duration> {
            match self {
                Fake::Status(_, after) => *after,
                Fake::Refused => None,
            }
        }
        fn answer(&self) -> Answer {
            match self {
                Fake::Status(429, _) => Answer::Throttled,
                Fake::Status(500..=599, _) => Answer::ServerError,
                Fake::Status(..) => Answer::Refused,
                Fake::Refused => Answer::Unanswered,
            }
        }
        fn http_status(&self) -> Option<u16> {
            match self {
                Fake::Status(code, _) => Some(*code),
                Fake::Refused => None,
            }
        }
    }

    fn status(code: u16) -> Fake {
        Fake::Status(code, Some(Duration::from_millis(10)))
    }

    #[tokio::test]
    async fn retries_transient_failures_of_idempotent_calls() {
        let caller = Caller::new(limiter(1000.0), policy());
        let n = AtomicU32::new(0);
        let (result, attempts) = caller
            .call("test", true, || async {
                if n.fetch_add(1, Ordering::Relaxed) < 2 {
                    Err(status(503))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(attempts, 3);
        assert_eq!(caller.stats().pressure, 2);
    }

    #[tokio::test]
    async fn never_repeats_an_ambiguous_non_idempotent_call() {
        let caller = Caller::new(limiter(1000.0), policy());
        let (result, attempts) = caller
            .call("test", false, || async { Err::<(), _>(status(503)) })
            .await;
        assert!(matches!(result.unwrap_err(), Fake::Status(503, _)));
        assert_eq!(attempts, 1);
        // A 429 was rejected before being handled, so it is retried even here.
        let (result, attempts) = caller
            .call("test", false, || async { Err::<(), _>(status(429)) })
            .await;
        assert!(result.is_err());
        assert_eq!(attempts, 4);
    }

    #[tokio::test]
    async fn callers_sharing_traffic_add_up_retries_and_what_the_server_answered() {
        let traffic = Arc::new(Traffic::default());
        let caller = || Caller::new(limiter(1000.0), policy()).counting_into(traffic.clone());
        let n = AtomicU32::new(0);
        let (result, _) = caller()
            .call("test", true, || async {
                match n.fetch_add(1, Ordering::Relaxed) {
                    0 => Err(status(429)),
                    1 => Err(status(503)),
                    _ => Ok(()),
                }
            })
            .await;
        assert!(result.is_ok());
        let (result, attempts) = caller()
            .call("test", true, || async { Err::<(), _>(Fake::Refused) })
            .await;
        assert!(result.is_err());
        assert_eq!(attempts, 4);
        assert_eq!(
            traffic.counts(),
            TrafficCounts {
                requests: 7,
                retries: 5,
                throttled: 1,
                unanswered: 4,
                server_errors: 1,
            }
        );
    }

    #[tokio::test]
    async fn gives_up_on_client_errors_at_once() {
        let caller = Caller::new(limiter(1000.0), policy());
        let (result, attempts) = caller
            .call("test", true, || async { Err::<(), _>(status(400)) })
            .await;
        assert!(result.is_err());
        assert_eq!(attempts, 1);
    }
}
