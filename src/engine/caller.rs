use std::future::Future;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::backend::hatchet::HatchetError;

/// The one process-wide ceiling on requests per second, shared by every executor and by
/// enumeration and verification. Its rate can be changed while it is in use (`jobs retune`):
/// governor quotas are fixed, so a change swaps in a new governor.
pub struct Limiter {
    governor: RwLock<Arc<DefaultDirectRateLimiter>>,
}

fn governor(rate_per_sec: f64) -> Arc<DefaultDirectRateLimiter> {
    let period = Duration::from_secs_f64(1.0 / rate_per_sec.max(0.001));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN);
    Arc::new(RateLimiter::direct(quota))
}

pub fn limiter(rate_per_sec: f64) -> Arc<Limiter> {
    Arc::new(Limiter {
        governor: RwLock::new(governor(rate_per_sec)),
    })
}

impl Limiter {
    /// Waits for the next request slot at the current rate.
    pub async fn until_ready(&self) {
        // Cloned out so that no lock is held while waiting; a poisoned lock (a panic
        // elsewhere) still holds a usable governor.
        let governor = match self.governor.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        governor.until_ready().await;
    }

    /// Changes the rate; calls already waiting finish at the old one.
    pub fn set_rate(&self, rate_per_sec: f64) {
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
}

/// Makes calls under the shared limiter with retries, recording what it saw.
pub struct Caller {
    limiter: Arc<Limiter>,
    policy: RetryPolicy,
    stats: Mutex<CallStats>,
}

impl Caller {
    pub fn new(limiter: Arc<Limiter>, policy: RetryPolicy) -> Self {
        Caller {
            limiter,
            policy,
            stats: Mutex::new(CallStats::default()),
        }
    }

    pub fn stats(&self) -> CallStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn record(&self, result: Result<Duration, &HatchetError>) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.requests += 1;
            match result {
                Ok(latency) => {
                    stats.slowest_ok = Some(stats.slowest_ok.map_or(latency, |s| s.max(latency)))
                }
                Err(e) if e.is_pressure() => stats.pressure += 1,
                Err(_) => {}
            }
        }
    }

    /// Calls `f` until it succeeds or fails for good. With `safe_to_repeat` false (a
    /// non-idempotent request), only failures that certainly were not applied are retried.
    /// Returns the result and how many attempts were made.
    pub async fn call<T, F, Fut>(
        &self,
        safe_to_repeat: bool,
        f: F,
    ) -> (Result<T, HatchetError>, u32)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, HatchetError>>,
    {
        let attempts = AtomicU32::new(0);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_retries)
            .with_jitter();
        let max_retry_after = self.policy.max_retry_after;
        let result = (|| async {
            self.limiter.until_ready().await;
            attempts.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let result = f().await;
            self.record(result.as_ref().map(|_| started.elapsed()));
            result
        })
        .retry(backoff)
        .when(|e: &HatchetError| e.is_transient() && (safe_to_repeat || e.certainly_not_applied()))
        .adjust(|e: &HatchetError, next: Option<Duration>| {
            // Retry-After replaces our own delay, but never adds attempts beyond the policy.
            next.map(|d| e.retry_after().map_or(d, |ra| ra.min(max_retry_after)))
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

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_millis(20),
        }
    }

    fn status(code: u16) -> HatchetError {
        HatchetError::Status {
            status: code,
            message: "x".into(),
            retry_after: Some(Duration::from_millis(10)),
        }
    }

    #[tokio::test]
    async fn retries_transient_failures_of_idempotent_calls() {
        let caller = Caller::new(limiter(1000.0), policy());
        let n = AtomicU32::new(0);
        let (result, attempts) = caller
            .call(true, || async {
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
            .call(false, || async { Err::<(), _>(status(503)) })
            .await;
        assert_eq!(result.unwrap_err().status(), Some(503));
        assert_eq!(attempts, 1);
        // A 429 was rejected before being handled, so it is retried even here.
        let (result, attempts) = caller
            .call(false, || async { Err::<(), _>(status(429)) })
            .await;
        assert!(result.is_err());
        assert_eq!(attempts, 4);
    }

    #[tokio::test]
    async fn gives_up_on_client_errors_at_once() {
        let caller = Caller::new(limiter(1000.0), policy());
        let (result, attempts) = caller
            .call(true, || async { Err::<(), _>(status(400)) })
            .await;
        assert!(result.is_err());
        assert_eq!(attempts, 1);
    }
}
