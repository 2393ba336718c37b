//! Request-level faults: connections dropped before or after the request is applied, 5xx, 429.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use http_body::Frame;
use rand::Rng;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The connection drops before the request is applied.
    DropBefore,
    /// The request is applied, then the connection drops before the answer.
    DropAfter,
    ServerError,
    RateLimited,
}

/// The shares of requests that meet each request-level fault; they add up to at most 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestFaults {
    pub drop_rate: f64,
    pub error_rate: f64,
    pub rate_limited_rate: f64,
}

impl RequestFaults {
    /// Draws the fault of one request; half the dropped ones are applied first.
    pub fn roll(self) -> Fault {
        let mut rng = rand::rng();
        let r: f64 = rng.random();
        if r < self.drop_rate {
            if rng.random_bool(0.5) {
                Fault::DropBefore
            } else {
                Fault::DropAfter
            }
        } else if r < self.drop_rate + self.error_rate {
            Fault::ServerError
        } else if r < self.drop_rate + self.error_rate + self.rate_limited_rate {
            Fault::RateLimited
        } else {
            Fault::None
        }
    }
}

/// Rejects a rate outside [0, 1] among `rates` (named as in the fault configuration), and
/// request-level shares that add up to more than 1.
pub fn check_rates(rates: &[(&str, f64)], request: RequestFaults) -> Result<(), String> {
    for &(name, rate) in rates {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("{name} must be within [0, 1], got {rate}"));
        }
    }
    if request.error_rate + request.rate_limited_rate + request.drop_rate > 1.0 {
        return Err("error_rate + rate_limited_rate + drop_rate must not exceed 1".into());
    }
    Ok(())
}

/// A 5xx as a proxy in front of the API would answer (502/503/504), or `None` for the API's own
/// 500, whose body each simulator writes as its server does; one in four each.
pub fn proxy_error() -> Option<(StatusCode, &'static str)> {
    match rand::rng().random_range(0..4) {
        0 => None,
        1 => Some((StatusCode::BAD_GATEWAY, "Bad Gateway")),
        2 => Some((StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")),
        _ => Some((StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout")),
    }
}

/// A response whose body fails at once: hyper then aborts the connection, so the client sees
/// it close without a complete response. `sim` names the simulator in the error.
pub fn severed(sim: &'static str) -> Response {
    Response::new(Body::new(SeveredBody { sim }))
}

struct SeveredBody {
    sim: &'static str,
}

impl http_body::Body for SeveredBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!("{}: connection dropped by fault injection", self.sim),
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_out_of_bounds_or_adding_up_past_one_are_refused() {
        let none = RequestFaults::default();
        assert!(check_rates(&[("error_rate", 0.5)], none).is_ok());
        assert!(check_rates(&[("drop_rate", 1.5)], none)
            .unwrap_err()
            .contains("drop_rate must be within [0, 1]"));
        let too_much = RequestFaults {
            drop_rate: 0.6,
            error_rate: 0.6,
            rate_limited_rate: 0.0,
        };
        assert!(check_rates(&[], too_much).is_err());
    }

    #[test]
    fn a_certain_fault_always_comes_and_none_never_does() {
        let always_limited = RequestFaults {
            rate_limited_rate: 1.0,
            ..RequestFaults::default()
        };
        assert!((0..100).all(|_| always_limited.roll() == Fault::RateLimited));
        assert!((0..100).all(|_| RequestFaults::default().roll() == Fault::None));
        let always_dropped = RequestFaults {
            drop_rate: 1.0,
            ..RequestFaults::default()
        };
        let drops: Vec<Fault> = (0..200).map(|_| always_dropped.roll()).collect();
        assert!(drops.contains(&Fault::DropBefore) && drops.contains(&Fault::DropAfter));
    }
}
