//! The Handinger REST client for worker schedules, following `docs/handinger-contract.md`.

mod client;
mod error;
mod key;
pub mod models;
#[cfg(test)]
pub mod testing;

pub use client::{CancelAnswer, HandingerClient};
pub use error::HandingerError;
pub use key::{ApiKey, ConnectionError, HandingerConnection, DEFAULT_BASE_URL};
