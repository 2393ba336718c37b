//! The checkpoint store: jobs, the enumeration cursor, items and chunks. Every enumerated page
//! and every finished chunk is one transaction, so a crash at any instant loses nothing that
//! was committed and resends only chunks not marked done.

mod lease;
mod model;
mod sqlite;

pub use lease::{this_process, Lease};
pub use model::{
    Begun, ChunkState, Counts, Item, ItemOutcome, ItemState, JobRecord, JobState, NewItem, NewJob,
    PageCommit, ReportRow,
};
pub use sqlite::Store;

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot use state file {path}: {source}: pass --state with a writable path")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("state store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("state store holds unreadable data: {0}")]
    Corrupt(String),
}
