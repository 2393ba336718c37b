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

/// Whether `e` ends the connection it came on: the socket closed, or the server said it is
/// closing it (an administrator's `pg_terminate_backend`, a shutdown, a connection error). The
/// server's word can arrive before the client sees the socket close, so `Client::is_closed` alone
/// misses it.
pub(super) fn ends_the_connection(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.is_closed()
        || e.code().is_some_and(|code| {
            [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(code)
                || code.code().starts_with("08")
        })
}
