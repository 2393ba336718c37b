//! Fault injection for `/api` routes: 5xx, 429 with `retry-after`/`retry-after-ms`, an optional
//! `x-should-retry` verdict, latency, and connections dropped before or after the request is
//! applied.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sim_kit::{check_rates, proxy_error, severed, Fault, RequestFaults};

use crate::routes::error_body;
use crate::state::Shared;

const SIM: &str = "handinger-sim";

/// The fault configuration; every field is optional and 0 (or absent) means off.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Share of requests answered 500/502/503/504 before they are applied.
    pub error_rate: f64,
    /// Share of requests answered 429 before they are applied.
    pub rate_limited_rate: f64,
    /// `retry-after` (seconds) on a 429; 0 sends none.
    pub retry_after_s: u64,
    /// `retry-after-ms` on a 429; 0 sends none.
    pub retry_after_ms: u64,
    /// `x-should-retry` on every injected 5xx and 429, when set.
    pub should_retry: Option<bool>,
    /// Delay added to every request.
    pub latency_ms: u64,
    /// Share of requests whose connection is dropped: half before, half after being applied.
    pub drop_rate: f64,
}

impl FaultConfig {
    /// Rejects rates outside [0, 1] and a sum of rates above 1.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("error_rate", self.error_rate),
            ("rate_limited_rate", self.rate_limited_rate),
            ("drop_rate", self.drop_rate),
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

    fn rate_limited(&self) -> Response {
        let mut resp = error_body(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        let headers = resp.headers_mut();
        if self.retry_after_s > 0 {
            headers.insert("retry-after", HeaderValue::from(self.retry_after_s));
        }
        if self.retry_after_ms > 0 {
            headers.insert("retry-after-ms", HeaderValue::from(self.retry_after_ms));
        }
        self.with_verdict(resp)
    }

    fn server_error(&self) -> Response {
        let (status, text) =
            proxy_error().unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"));
        self.with_verdict(error_body(status, text))
    }

    fn with_verdict(&self, mut resp: Response) -> Response {
        if let Some(verdict) = self.should_retry {
            let value = HeaderValue::from_static(if verdict { "true" } else { "false" });
            resp.headers_mut().insert("x-should-retry", value);
        }
        resp
    }
}

/// Middleware: applies the current fault configuration to `/api` requests.
pub async fn inject(State(state): State<Shared>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let config = state.faults();
    if config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(config.latency_ms)).await;
    }
    match config.request_faults().roll() {
        Fault::None => next.run(req).await,
        Fault::DropBefore => severed(SIM),
        Fault::DropAfter => {
            drop(next.run(req).await);
            severed(SIM)
        }
        Fault::ServerError => config.server_error(),
        Fault::RateLimited => config.rate_limited(),
    }
}
