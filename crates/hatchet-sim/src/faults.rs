//! Fault injection for `/api` routes: errors, 429s, latency and dropped connections.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sim_kit::{check_rates, proxy_error, severed, Fault, RequestFaults};

use crate::errors::ApiError;
use crate::state::Shared;

const SIM: &str = "hatchet-sim";

/// The fault configuration; every field is optional and 0 means off.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Share of requests answered with a 500/502/503/504 before they are applied.
    pub error_rate: f64,
    /// Share of requests answered with 429, body `null` and `Retry-After`.
    pub rate_limited_rate: f64,
    pub retry_after_s: u64,
    /// Delay added to every request.
    pub latency_ms: u64,
    /// Share of requests whose connection is dropped: half before, half after being applied.
    pub drop_rate: f64,
    /// Share of bulk-delete/bulk-update calls that apply their first 200-item chunk, then 500.
    pub bulk_partial_failure_rate: f64,
    /// Share of the runs of each accepted replay request (rounded down) that are silently never
    /// replayed: 200 with every id, counters unchanged.
    pub replay_drop_rate: f64,
    /// Replays a request in batches of this many tasks (whole runs, in request order) and loses
    /// every batch after the first, as Hatchet v0.104.7 loses the batches that miss its
    /// advisory lock (docs/hatchet-behaviour.md D16). 0 = one batch, nothing lost.
    pub replay_batch_tasks: usize,
    /// How long the engine takes to apply one accepted replay request, holding the tenant's
    /// replay lock meanwhile: the runs' retry counts rise only once it is applied, and a replay
    /// request that arrives while the lock is held is lost whole (200 with every id, nothing
    /// replayed), as Hatchet v0.104.7 loses the batches that miss its advisory lock
    /// (docs/hatchet-behaviour.md D3). 0 = applied at once, no lock.
    pub replay_apply_ms: u64,
    /// Runs a second the engine applies accepted cancels at, in the order accepted (each no
    /// sooner than `--cancel-delay-ms` after its request): a backlog, so the apply lag rises
    /// with the load sent while the answers stay as fast. 0 = each cancel applied after the
    /// delay, however many.
    pub cancel_apply_rate: u64,
    /// Requests in flight the server serves at its base latency; 0 = no knee.
    pub latency_knee: usize,
    /// Added to every request for each request in flight beyond `latency_knee`: a server that
    /// answers slower the more it is asked at once, without ever refusing.
    pub latency_per_request_ms: u64,
}

impl FaultConfig {
    /// Rejects rates outside [0, 1] and sums of request-level rates above 1.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("error_rate", self.error_rate),
            ("rate_limited_rate", self.rate_limited_rate),
            ("drop_rate", self.drop_rate),
            ("bulk_partial_failure_rate", self.bulk_partial_failure_rate),
            ("replay_drop_rate", self.replay_drop_rate),
        ];
        check_rates(&rates, self.request_faults())
    }

    fn request_faults(&self) -> RequestFaults {
        RequestFaults {
            drop_rate: self.drop_rate,
            error_rate: self.error_rate,
            rate_limited_rate: self.rate_limited_rate,
        }
    }

    /// Whether this bulk call should fail after its first chunk.
    pub fn bulk_partial_failure(&self) -> bool {
        self.bulk_partial_failure_rate > 0.0
            && rand::rng().random_bool(self.bulk_partial_failure_rate)
    }
}

/// Middleware: applies the current fault configuration to `/api` requests
/// (`/api/ready` is exempt, so readiness probes stay reliable).
pub async fn inject(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/api/") || path == "/api/ready" {
        return next.run(req).await;
    }
    let config = state.faults();
    let in_flight = state.arrive(config.latency_knee);
    let beyond_knee = if config.latency_knee > 0 {
        in_flight.count().saturating_sub(config.latency_knee) as u64
    } else {
        0
    };
    let latency = config.latency_ms + config.latency_per_request_ms * beyond_knee;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match config.request_faults().roll() {
        Fault::None => next.run(req).await,
        Fault::DropBefore => severed(SIM),
        Fault::DropAfter => {
            drop(next.run(req).await);
            severed(SIM)
        }
        Fault::ServerError => server_error(),
        Fault::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::RETRY_AFTER, config.retry_after_s.to_string()),
                (header::CONTENT_TYPE, "application/json".to_string()),
            ],
            "null",
        )
            .into_response(),
    }
}

/// A 500 from the API, or a 502/503/504 as a proxy in front of it would answer.
fn server_error() -> Response {
    match proxy_error() {
        None => ApiError::Internal.into_response(),
        Some((status, text)) => {
            (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
        }
    }
}
