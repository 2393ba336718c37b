//! The checkpoint store: jobs, the enumeration cursor, items and chunks. Every enumerated page
//! and every finished chunk is one transaction, so a crash at any instant loses nothing that
//! was committed and resends only chunks not marked done. `Store` is what the rest of bulkops
//! asks of it (`port.rs`), `SqliteStore` the embedded implementation, and `StoreThread` runs
//! one on a thread of its own (the engine calls its store only so).

#[cfg(test)]
mod conformance;
mod fault;
mod lease;
mod location;
mod model;
mod port;
mod postgres;
mod sqlite;
mod sqlite_port;
mod worker;

pub use lease::{this_process, Lease};
pub use location::Location;
pub use model::{
    Begun, ChunkState, Counts, Item, ItemOutcome, ItemState, JobRecord, JobState, NewItem, NewJob,
    PageCommit, ReportRow,
};
pub use port::{Store, TakenChunk};
pub use postgres::{without_password, PgStore};
pub use sqlite::Store as SqliteStore;
pub use worker::StoreThread;

use std::path::PathBuf;

use thiserror::Error;

/// A failure of the checkpoint store, by cause: the cause decides what the user is told to do,
/// and so the exit code. Every one names the state file.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// The file is no store this bulkops can use: not SQLite, damaged, another program's
    /// database, or written by a newer bulkops.
    #[error("the state file {path} {problem}: move it away or pass --state with another path")]
    Unusable { path: PathBuf, problem: String },
    /// The file or its directory cannot be read or written (permissions, an immutable file, a
    /// read-only file system, a missing directory).
    #[error("cannot read and write the state file {path} ({reason}): make it and its directory writable, or pass --state with a writable path")]
    Inaccessible { path: PathBuf, reason: String },
    /// The path no longer names the file this process has open.
    #[error("the state file {path} was moved or deleted while the job ran: put it back (or pass its new path with --state) and run the same command again to resume")]
    Replaced { path: PathBuf },
    /// Reading or writing the file failed midway (disk full, I/O error); what was committed
    /// before stands.
    #[error("the state file {path} could not be read or written ({reason}): check that its disk has space and that it and its directory are writable, then run the same command again")]
    Io { path: PathBuf, reason: String },
    /// Not the file's fault: another process held it locked too long, or a bug.
    #[error("the state store {path} failed ({reason}): run the same command again")]
    Failed { path: PathBuf, reason: String },
    /// Another process took a chunk this one was sending, once this one's lease on it ran out
    /// (it stalled): its outcomes were not recorded, and the process that took it sends it.
    #[error("chunk {chunk} of job {job} was taken over by another process after this one's lease on it ran out: its outcomes were not recorded (that process sends the chunk); run the same command again to go on with the job")]
    ChunkTaken { job: String, chunk: i64 },
    /// The thread that runs the store's calls is gone (a bug), or could not be started.
    #[error("the state store stopped answering ({reason}): run the same command again")]
    Unavailable { reason: String },
}

impl StoreError {
    /// Only the user can make the file usable, or choose another; nothing was done with it.
    pub fn needs_the_user(&self) -> bool {
        matches!(
            self,
            StoreError::Unusable { .. } | StoreError::Inaccessible { .. }
        )
    }

    /// The file itself is at fault, not a passing lock or a bug: this process must not use it
    /// any more.
    pub fn concerns_the_file(&self) -> bool {
        !matches!(
            self,
            StoreError::Failed { .. }
                | StoreError::Unavailable { .. }
                | StoreError::ChunkTaken { .. }
        )
    }
}
