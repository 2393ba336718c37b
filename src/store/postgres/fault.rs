//! A failure of the PostgreSQL store as the client library and the store's own checks see it,
//! and its cause in the backend-neutral terms of `StoreError`.

use postgres::error::SqlState;

use crate::store::{Place, StoreError};

#[derive(Debug)]
pub(super) enum Fault {
    Pg(postgres::Error),
    /// The commit of a transaction failed: if the connection was lost meanwhile, it may have
    /// committed or not.
    AtCommit(postgres::Error),
    /// Stored data this bulkops cannot read.
    Damaged(String),
    /// The database is no store this bulkops can use (the reason says why).
    NotOurs(String),
    /// Another process holds the chunk now: this one's lease on it ran out.
    ChunkTaken {
        job: String,
        chunk: i64,
    },
}

impl From<postgres::Error> for Fault {
    fn from(e: postgres::Error) -> Self {
        Fault::Pg(e)
    }
}

impl Fault {
    /// The cause, for the store at `place` (its URL without the password).
    pub(super) fn at(self, place: &Place) -> StoreError {
        let path = place.clone();
        let e = match self {
            Fault::Damaged(what) => {
                return StoreError::Unusable {
                    place: path,
                    problem: format!("holds data this bulkops cannot read ({what})"),
                }
            }
            Fault::NotOurs(problem) => {
                return StoreError::Unusable {
                    place: path,
                    problem,
                }
            }
            Fault::ChunkTaken { job, chunk } => return StoreError::ChunkTaken { job, chunk },
            Fault::AtCommit(e) if lost_connection(&e) => {
                return StoreError::Failed {
                    place: path,
                    reason: format!(
                        "the connection was lost while committing, which may have gone through \
                         and so is not repeated ({})",
                        told(&e)
                    ),
                }
            }
            Fault::Pg(e) | Fault::AtCommit(e) => e,
        };
        let reason = told(&e);
        let Some(code) = e.code() else {
            // No answer from the server: the connection broke, or a value did not convert.
            return StoreError::Failed {
                place: path,
                reason,
            };
        };
        match code.code() {
            c if c.starts_with("28") => StoreError::Inaccessible {
                place: path,
                reason,
            },
            _ if *code == SqlState::INVALID_CATALOG_NAME
                || *code == SqlState::INVALID_SCHEMA_NAME
                || *code == SqlState::INSUFFICIENT_PRIVILEGE
                || *code == SqlState::READ_ONLY_SQL_TRANSACTION =>
            {
                StoreError::Inaccessible {
                    place: path,
                    reason,
                }
            }
            _ if *code == SqlState::DISK_FULL
                || *code == SqlState::IO_ERROR
                || *code == SqlState::OUT_OF_MEMORY =>
            {
                StoreError::Io {
                    place: path,
                    reason,
                }
            }
            _ if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED => {
                StoreError::Unusable {
                    place: path,
                    problem: format!("is damaged ({reason})"),
                }
            }
            _ => StoreError::Failed {
                place: path,
                reason,
            },
        }
    }
}

/// Whether `e` says the connection is gone (closed, reset, or ended by the server: an
/// administrator's `pg_terminate_backend`, a shutdown or restart), even before the client
/// marks itself closed.
pub(super) fn lost_connection(e: &postgres::Error) -> bool {
    let ended = e.code().is_some_and(|code| {
        *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || code.code().starts_with("08")
    });
    // A reset socket (`Connection reset by peer` while a terminated backend's answer was read)
    // comes as an I/O error before the client counts itself closed.
    let reset = std::error::Error::source(e).is_some_and(|c| c.is::<std::io::Error>());
    e.is_closed() || ended || reset
}

/// The error with its causes: the client library's own text ("db error", "error connecting to
/// server") names no cause.
pub(super) fn told(e: &postgres::Error) -> String {
    let mut told = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        told = format!("{told}: {c}");
        cause = c.source();
    }
    told
}
