//! Clients for the servers bulkops acts on. Each backend speaks its own REST contract; the
//! operations in `crate::ops` use them.

pub mod handinger;
pub mod hatchet;
