//! A store failure as SQLite and the store's own checks see it, and its cause in terms of the
//! state file (`StoreError`), which decides what the user is told.

use std::path::Path;

use rusqlite::ErrorCode;

use super::{Place, StoreError};

/// A failure inside the store, before it is put in terms of the state file (see `Fault::at`).
#[derive(Debug)]
pub(super) enum Fault {
    Sqlite(rusqlite::Error),
    /// Stored data this bulkops cannot read.
    Damaged(String),
    /// The file is no store this bulkops can use (the reason says why).
    NotOurs(String),
}

impl From<rusqlite::Error> for Fault {
    fn from(e: rusqlite::Error) -> Self {
        Fault::Sqlite(e)
    }
}

impl Fault {
    /// The cause, in terms of the state file at `path`.
    pub(super) fn at(self, path: &Path) -> StoreError {
        let path = Place::File(path.to_path_buf());
        let unreadable = |what: String| StoreError::Unusable {
            place: path.clone(),
            problem: format!("holds data this bulkops cannot read ({what})"),
        };
        let e = match self {
            Fault::Damaged(what) => return unreadable(what),
            Fault::NotOurs(problem) => {
                return StoreError::Unusable {
                    place: path,
                    problem,
                }
            }
            Fault::Sqlite(e) => e,
        };
        let reason = e.to_string();
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => StoreError::Unusable {
                place: path,
                problem: "is not a SQLite database".into(),
            },
            Some(ErrorCode::DatabaseCorrupt) => StoreError::Unusable {
                place: path,
                problem: format!("is damaged ({reason})"),
            },
            Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
                StoreError::Inaccessible {
                    place: path,
                    reason,
                }
            }
            Some(
                ErrorCode::SystemIoFailure | ErrorCode::DiskFull | ErrorCode::NoLargeFileSupport,
            ) => StoreError::Io {
                place: path,
                reason,
            },
            Some(_) => StoreError::Failed {
                place: path,
                reason,
            },
            // Values of another type than the schema says: not written by this bulkops.
            None if matches!(
                e,
                rusqlite::Error::FromSqlConversionFailure(..)
                    | rusqlite::Error::InvalidColumnType(..)
                    | rusqlite::Error::IntegralValueOutOfRange(..)
            ) =>
            {
                unreadable(reason)
            }
            None => StoreError::Failed {
                place: path,
                reason,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> Fault {
        Fault::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn sqlite_failures_are_told_by_their_cause() {
        let path = Path::new("/s.db");
        let needs_the_user = |code| sqlite(code).at(path).needs_the_user();
        for code in [
            rusqlite::ffi::SQLITE_NOTADB,
            rusqlite::ffi::SQLITE_CORRUPT,
            rusqlite::ffi::SQLITE_READONLY,
            rusqlite::ffi::SQLITE_CANTOPEN,
            rusqlite::ffi::SQLITE_PERM,
        ] {
            assert!(needs_the_user(code), "{code}");
        }
        for code in [
            rusqlite::ffi::SQLITE_FULL,
            rusqlite::ffi::SQLITE_IOERR,
            rusqlite::ffi::SQLITE_BUSY,
        ] {
            assert!(!needs_the_user(code), "{code}");
        }
        assert!(matches!(
            sqlite(rusqlite::ffi::SQLITE_FULL).at(path),
            StoreError::Io { .. }
        ));
        let busy = sqlite(rusqlite::ffi::SQLITE_BUSY).at(path);
        assert!(!busy.concerns_the_file(), "a lock held too long passes");
        for e in [
            busy,
            Fault::Damaged("x".into()).at(path),
            Fault::NotOurs("is x".into()).at(path),
        ] {
            assert!(e.to_string().contains("/s.db"), "{e}");
        }
    }
}
