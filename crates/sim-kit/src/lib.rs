//! What the Hatchet and Handinger simulators share, so that a fault, a request count or the
//! start-up line means the same in both: the roll of a request-level fault and the responses it
//! leads to, the middleware counting `/api` requests per route, and the binary's `main`.

mod announce;
mod count;
mod fault;

pub use announce::announce_and_serve;
pub use count::{count_request, CountsRoutes};
pub use fault::{check_rates, proxy_error, severed, Fault, RequestFaults};
