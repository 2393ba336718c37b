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
    Arrived, Begun, ChunkState, Completion, Counts, Item, ItemOutcome, ItemState, JobControl,
    JobRecord, JobState, NewItem, NewJob, PageCommit, ReportRow, Sharing,
};
pub use port::{Store, TakenChunk};
pub use postgres::{without_password, PgStore};
pub use sqlite::Store as SqliteStore;
pub use worker::StoreThread;

use std::path::PathBuf;

use thiserror::Error;

/// Where a store is, as its errors name it: a state file, or a database by its URL without the
/// password. The cause decides the fix a message names, and a database's fixes are not a file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    File(PathBuf),
    /// The URL without its password (`without_password`).
    Database(String),
}

/// A failure of the checkpoint store, by cause: the cause decides what the user is told to do,
/// and so the exit code. Every one names the state file, or the database.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// The file is no store this bulkops can use: not SQLite, damaged, another program's
    /// database, or written by a newer bulkops.
    #[error("{}", unusable(.place, .problem))]
    Unusable { place: Place, problem: String },
    /// The file or its directory cannot be read or written (permissions, an immutable file, a
    /// read-only file system, a missing directory); the database refuses the connection, the
    /// role or its schema.
    #[error("{}", inaccessible(.place, .reason))]
    Inaccessible { place: Place, reason: String },
    /// The path no longer names the file this process has open.
    #[error("{}", replaced(.place))]
    Replaced { place: Place },
    /// Reading or writing the file failed midway (disk full, I/O error); what was committed
    /// before stands.
    #[error("{}", io(.place, .reason))]
    Io { place: Place, reason: String },
    /// Not the file's fault: another process held it locked too long, the connection broke, or
    /// a bug.
    #[error("{}", failed(.place, .reason))]
    Failed { place: Place, reason: String },
    /// Another process took a chunk this one was sending, once this one's lease on it ran out
    /// (it stalled): its outcomes were not recorded, and the process that took it sends it.
    #[error("chunk {chunk} of job {job} was taken over by another process after this one's lease on it ran out: its outcomes were not recorded (that process sends the chunk); run the same command again to go on with the job")]
    ChunkTaken { job: String, chunk: i64 },
    /// The thread that runs the store's calls is gone (a bug), or could not be started.
    #[error("the state store stopped answering ({reason}): run the same command again")]
    Unavailable { reason: String },
}

fn unusable(place: &Place, problem: &str) -> String {
    match place {
        Place::File(path) => format!(
            "the state file {} {problem}: move it away or pass --state with another path",
            path.display()
        ),
        Place::Database(url) => format!(
            "the PostgreSQL state {url} {problem}: pass --state with another database, or another \
             schema of it (?options=-c%20search_path%3Dname)"
        ),
    }
}

fn inaccessible(place: &Place, reason: &str) -> String {
    match place {
        Place::File(path) => format!(
            "cannot read and write the state file {} ({reason}): make it and its directory \
             writable, or pass --state with a writable path",
            path.display()
        ),
        Place::Database(url) => format!(
            "cannot use the PostgreSQL state {url} ({reason}): check that the server answers \
             there, that the URL's user and password are right and that the user may create \
             tables in its schema, or pass --state with another URL"
        ),
    }
}

fn replaced(place: &Place) -> String {
    match place {
        Place::File(path) => format!(
            "the state file {} was moved or deleted while the job ran: put it back (or pass its \
             new path with --state) and run the same command again to resume",
            path.display()
        ),
        Place::Database(url) => format!(
            "the PostgreSQL state {url} is no longer the one this process opened: run the same \
             command again to resume"
        ),
    }
}

fn io(place: &Place, reason: &str) -> String {
    match place {
        Place::File(path) => format!(
            "the state file {} could not be read or written ({reason}): check that its disk has \
             space and that it and its directory are writable, then run the same command again",
            path.display()
        ),
        Place::Database(url) => format!(
            "the PostgreSQL state {url} could not be read or written ({reason}): check the \
             database server's disk and memory, then run the same command again"
        ),
    }
}

fn failed(place: &Place, reason: &str) -> String {
    match place {
        Place::File(path) => format!(
            "the state store {} failed ({reason}): run the same command again",
            path.display()
        ),
        Place::Database(url) => format!(
            "the PostgreSQL state {url} failed ({reason}): check that the server answers, then \
             run the same command again"
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_named_by_its_url_with_its_own_fixes_and_a_file_as_before() {
        let file = Place::File("/s.db".into());
        let database = Place::Database("postgres://bulkops@127.0.0.1:5432/db".into());
        let reason = || "x".to_string();
        let errors = |place: &Place| {
            [
                StoreError::Unusable {
                    place: place.clone(),
                    problem: "is damaged".into(),
                },
                StoreError::Inaccessible {
                    place: place.clone(),
                    reason: reason(),
                },
                StoreError::Replaced {
                    place: place.clone(),
                },
                StoreError::Io {
                    place: place.clone(),
                    reason: reason(),
                },
                StoreError::Failed {
                    place: place.clone(),
                    reason: reason(),
                },
            ]
        };
        for e in errors(&database) {
            let told = e.to_string();
            assert!(
                told.contains("PostgreSQL state postgres://bulkops@127.0.0.1:5432/db"),
                "{told}"
            );
            assert!(
                !told.contains("file") && !told.contains("directory"),
                "{told}"
            );
        }
        let [unusable, inaccessible, ..] = errors(&database);
        assert!(
            unusable.to_string().contains("another database"),
            "{unusable}"
        );
        assert!(
            inaccessible.to_string().contains("server answers"),
            "{inaccessible}"
        );
        // The SQLite wording stays as the integration tests pin it.
        let [unusable, inaccessible, replaced, io, failed] = errors(&file);
        assert_eq!(
            unusable.to_string(),
            "the state file /s.db is damaged: move it away or pass --state with another path"
        );
        assert_eq!(inaccessible.to_string(), "cannot read and write the state file /s.db (x): make it and its directory writable, or pass --state with a writable path");
        assert_eq!(replaced.to_string(), "the state file /s.db was moved or deleted while the job ran: put it back (or pass its new path with --state) and run the same command again to resume");
        assert_eq!(io.to_string(), "the state file /s.db could not be read or written (x): check that its disk has space and that it and its directory are writable, then run the same command again");
        assert_eq!(
            failed.to_string(),
            "the state store /s.db failed (x): run the same command again"
        );
    }
}
