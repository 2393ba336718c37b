//! Prometheus metrics of the jobs this process runs: the engine's `Meter`, kept in a registry
//! and served as `GET /metrics` in the Prometheus text format (0.0.4).
//!
//! Why `metrics` + `metrics-exporter-prometheus` and not `prometheus-client`: the latter only
//! writes the OpenMetrics format (its counter families are typed without `_total`, which a 0.0.4
//! parser reads as untyped), while this exporter renders 0.0.4 exactly as Prometheus scrapes
//! it by default. Its recorder is used as a value, never installed globally, so that every
//! test can own a registry; the process has one (`process()`) for the CLI and the service.

mod serve;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ::metrics::{Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

pub use serve::{router, Exporter, MetricsError};

use crate::engine::{Answer, Failure, Meter};
use crate::store::ItemState;

const ITEMS: &str = "bulkops_items_total";
const REQUESTS: &str = "bulkops_requests_total";
const RETRIES: &str = "bulkops_retries_total";
const THROTTLED: &str = "bulkops_throttled_total";
const RATE: &str = "bulkops_rate_per_second";
const WINDOW: &str = "bulkops_window";
const REQUEST_DURATION: &str = "bulkops_request_duration_seconds";
const APPLY_LAG: &str = "bulkops_apply_lag_seconds";
const JOB_DURATION: &str = "bulkops_job_duration_seconds";
const LEASE_TAKEOVERS: &str = "bulkops_lease_takeovers_total";
const CHUNKS_TAKEN_OVER: &str = "bulkops_chunks_taken_over_total";

/// From a loopback answer to a request that waited out a slow server.
const REQUEST_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// From a server that applies at once (a probe's first look is 0.1 s after) to one a minute
/// behind (where a probe gives up).
const APPLY_LAG_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0];
/// From a small cleanup to a day-long replay.
const JOB_BUCKETS: [f64; 10] = [
    1.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 86400.0,
];

/// Histogram samples wait in the recorder until a render or an upkeep folds them into buckets;
/// with nobody scraping, an upkeep this often keeps them from piling up.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// What one running job adds to the rate and window gauges.
#[derive(Debug, Clone, Copy)]
struct Share {
    operation: &'static str,
    rate: f64,
    window: usize,
}

/// The metrics of every job run in this process.
pub struct Registry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Per running job; the gauges are their sums per operation, so that a finished job's
    /// share leaves them and two jobs of one operation add up.
    shares: Mutex<BTreeMap<String, Share>>,
    born: Instant,
    /// Milliseconds after `born` of the last upkeep.
    upkept_ms: AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

/// The registry of this process: what `router()` serves.
pub fn process() -> Arc<Registry> {
    static PROCESS: OnceLock<Arc<Registry>> = OnceLock::new();
    PROCESS.get_or_init(|| Arc::new(Registry::new())).clone()
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), &REQUEST_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(JOB_DURATION.into()), &JOB_BUCKETS)
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(APPLY_LAG.into()), &APPLY_LAG_BUCKETS)
            });
        // Only an empty bucket list is refused, and these are constants.
        let recorder = builder.unwrap_or_default().build_recorder();
        let described: [(&'static str, Option<Unit>, &'static str); 11] = [
            (ITEMS, None, "Items that got an outcome, by operation and outcome (sent: accepted, counted again once confirmed)"),
            (REQUESTS, None, "Requests answered or not, by endpoint and HTTP status (ok, a code, unanswered, unreadable)"),
            (RETRIES, None, "Requests made again after a transient failure, by endpoint"),
            (THROTTLED, None, "Answers 429 (rate-limited), by endpoint"),
            (RATE, None, "Requests per second the running jobs may make, by operation"),
            (WINDOW, None, "Chunks the running jobs may have in flight (the adaptive window), by operation"),
            (REQUEST_DURATION, Some(Unit::Seconds), "Time from sending a request to its answer, by endpoint"),
            (APPLY_LAG, Some(Unit::Seconds), "Time from the server accepting a request to a probe seeing it applied, by endpoint (sampled: about one request a second)"),
            (JOB_DURATION, Some(Unit::Seconds), "Time a run of a job took, by operation and end (finished, interrupted)"),
            (LEASE_TAKEOVERS, None, "Jobs this process took over from a holder that was gone, by operation"),
            (CHUNKS_TAKEN_OVER, None, "Chunks another process took from this one after its lease on them ran out (a stall), by operation: their outcomes are that process's to record"),
        ];
        for (name, unit, help) in described {
            match name {
                RATE | WINDOW => recorder.describe_gauge(name.into(), unit, help.into()),
                REQUEST_DURATION | APPLY_LAG | JOB_DURATION => {
                    recorder.describe_histogram(name.into(), unit, help.into())
                }
                _ => recorder.describe_counter(name.into(), unit, help.into()),
            }
        }
        Registry {
            handle: recorder.handle(),
            recorder,
            shares: Mutex::new(BTreeMap::new()),
            born: Instant::now(),
            upkept_ms: AtomicU64::new(0),
        }
    }

    /// Every series in the Prometheus text format (0.0.4).
    pub fn render(&self) -> String {
        self.handle.render()
    }

    fn record(&self, f: impl FnOnce()) {
        ::metrics::with_local_recorder(&self.recorder, f);
    }

    fn keep_up(&self) {
        let now = self.born.elapsed().as_millis() as u64;
        let last = self.upkept_ms.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= UPKEEP_EVERY.as_millis() as u64;
        if due
            && self
                .upkept_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.handle.run_upkeep();
        }
    }

    /// Sets the gauges of `operation` to the sum of its running jobs' shares.
    fn set_gauges(&self, shares: &BTreeMap<String, Share>, operation: &'static str) {
        let of_operation = || shares.values().filter(|s| s.operation == operation);
        let rate: f64 = of_operation().map(|s| s.rate).sum();
        let window: usize = of_operation().map(|s| s.window).sum();
        self.record(|| {
            ::metrics::gauge!(RATE, "operation" => operation).set(rate);
            ::metrics::gauge!(WINDOW, "operation" => operation).set(window as f64);
        });
    }

    fn share(&self, job: &str, operation: &'static str, change: impl FnOnce(&mut Share)) {
        let Ok(mut shares) = self.shares.lock() else {
            return;
        };
        let share = shares.entry(job.to_string()).or_insert(Share {
            operation,
            rate: 0.0,
            window: 0,
        });
        change(share);
        self.set_gauges(&shares, operation);
    }
}

/// The `status` label: `ok`, the HTTP status of a refusal, or why there is none.
fn status(result: Result<(), &dyn Failure>) -> Cow<'static, str> {
    match result {
        Ok(()) => "ok".into(),
        Err(e) => match (e.http_status(), e.answer()) {
            (Some(code), _) => code.to_string().into(),
            (None, Answer::Unanswered) => "unanswered".into(),
            (None, _) => "unreadable".into(),
        },
    }
}

impl Meter for Registry {
    fn request(&self, endpoint: &'static str, result: Result<(), &dyn Failure>, took: Duration) {
        let throttled = result.is_err_and(|e| e.answer() == Answer::Throttled);
        let status = status(result);
        self.record(|| {
            ::metrics::counter!(REQUESTS, "endpoint" => endpoint, "status" => status).increment(1);
            ::metrics::histogram!(REQUEST_DURATION, "endpoint" => endpoint).record(took);
            if throttled {
                ::metrics::counter!(THROTTLED, "endpoint" => endpoint).increment(1);
            }
        });
        self.keep_up();
    }

    fn retry(&self, endpoint: &'static str) {
        self.record(|| ::metrics::counter!(RETRIES, "endpoint" => endpoint).increment(1));
    }

    fn apply_lag(&self, endpoint: &'static str, lag: Duration) {
        self.record(|| ::metrics::histogram!(APPLY_LAG, "endpoint" => endpoint).record(lag));
        self.keep_up();
    }

    fn items(&self, operation: &'static str, state: ItemState, count: u64) {
        self.record(|| {
            ::metrics::counter!(ITEMS, "operation" => operation, "outcome" => state.as_str())
                .increment(count)
        });
    }

    fn rate(&self, job: &str, operation: &'static str, per_second: f64) {
        self.share(job, operation, |share| share.rate = per_second);
    }

    fn window(&self, job: &str, operation: &'static str, chunks: usize) {
        self.share(job, operation, |share| share.window = chunks);
    }

    fn lease_takeover(&self, operation: &'static str) {
        self.record(|| ::metrics::counter!(LEASE_TAKEOVERS, "operation" => operation).increment(1));
    }

    fn chunk_taken_over(&self, operation: &'static str) {
        self.record(|| {
            ::metrics::counter!(CHUNKS_TAKEN_OVER, "operation" => operation).increment(1)
        });
    }

    fn run_ended(&self, job: &str, operation: &'static str, took: Duration, finished: bool) {
        let end = if finished { "finished" } else { "interrupted" };
        self.record(|| {
            ::metrics::histogram!(JOB_DURATION, "operation" => operation, "end" => end).record(took)
        });
        if let Ok(mut shares) = self.shares.lock() {
            shares.remove(job);
            self.set_gauges(&shares, operation);
        }
    }
}

#[cfg(test)]
mod tests;
