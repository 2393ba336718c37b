//! bulkops: resumable, rate-limited bulk operations on Hatchet runs, scheduled runs and crons.
//!
//! - `job`: what a job is (spec, selector, frozen window) and input validation;
//! - `backend`: REST clients (Hatchet);
//! - `ops`: one file per operation (enumerate, execute, verify, reconcile);
//! - `engine`: the coordinator (a transition function and its actor shell), executor actors,
//!   limiter, adaptive window, retries;
//! - `store`: the checkpoint store: the `Store` trait, its SQLite implementation, the thread it
//!   runs on;
//! - `app`: the life of a job (plan, dry run, create/resume/undo, lease, run, report), driven
//!   by a front end through domain requests, events and outcomes; the top error type;
//! - `cli`: the front end: clap to requests, outcomes to output, errors to exit codes;
//! - `serve`: the other front end, `bulkops serve`: an HTTP API that runs jobs in its process;
//! - `config`: layered settings (defaults < `--config` < `BULKOPS_*` < flags);
//! - `report`: the per-item report (CSV or JSON lines);
//! - `telemetry`: logs and the choice between text and JSON;
//! - `metrics`: the engine's meter as a Prometheus registry, served as `GET /metrics`.
//!
//! How a job lives and which test proves each invariant: `docs/architecture.md`.

pub mod app;
pub mod backend;
pub mod cli;
pub mod config;
pub mod engine;
pub mod job;
pub mod metrics;
pub mod ops;
pub mod report;
pub mod serve;
pub mod store;
pub mod telemetry;
