//! The Hatchet REST client, following `docs/hatchet-contract.md` (quirks included).

mod client;
mod error;
pub mod models;
mod redact;
mod tls;
mod token;

pub use client::{HatchetClient, RunFilter, RunPage};
pub use error::HatchetError;
pub use redact::without_credentials;
pub use tls::{TlsConfig, TlsError};
pub use token::{ApiToken, Connection, TokenError};
