//! Where the checkpoint store lives, as `--state`/`BULKOPS_STATE` names it: a SQLite file, or a
//! PostgreSQL database (`postgres://…`) that several hosts and pods can share.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{this_process, without_password, PgStore, SqliteStore, Store, StoreError};

/// A state location: what `--state` names.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    /// The URL as given, password included: shown only through `Display`, which leaves it out.
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL names a database, anything else a file.
    pub fn parse(state: PathBuf) -> Location {
        match state.to_str() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Location::Postgres(url.to_string())
            }
            _ => Location::File(state),
        }
    }

    /// Opens the store; this process names itself in its leases (`this_process()`).
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(match self {
            Location::File(path) => Box::new(SqliteStore::open(path)?),
            Location::Postgres(url) => Box::new(PgStore::open(url, &this_process())?),
        })
    }

    /// The location as given, password included: only for a caller that masks it.
    pub fn as_given(&self) -> String {
        match self {
            Location::File(path) => path.to_string_lossy().into_owned(),
            Location::Postgres(url) => url.clone(),
        }
    }

    /// Where reports go unless configured: `<state stem>-reports` beside a state file,
    /// `bulkops-reports` in the working directory for a database (there is no file to be beside).
    pub fn default_reports_dir(&self) -> PathBuf {
        match self {
            Location::File(path) => reports_beside(path),
            Location::Postgres(_) => PathBuf::from("bulkops-reports"),
        }
    }

    /// Where a file the user asked for and that belongs with the state goes: beside a state
    /// file, in the reports directory for a database.
    pub fn file_for(&self, name: &str, reports_dir: &Path) -> PathBuf {
        match self {
            Location::File(path) => path.with_file_name(name),
            Location::Postgres(_) => reports_dir.join(name),
        }
    }
}

/// `<state stem>-reports` beside the state file.
fn reports_beside(state: &Path) -> PathBuf {
    let stem = state
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bulkops".into());
    state
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(format!("{stem}-reports"))
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

/// Never the password, also in `Debug` output (settings are logged).
impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => f.debug_tuple("File").field(path).finish(),
            Location::Postgres(_) => f.debug_tuple("Postgres").field(&self.to_string()).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_names_a_database_and_is_shown_without_its_password() {
        let url = Location::parse("postgres://bulkops:s3cret@127.0.0.1:5432/db".into());
        assert!(matches!(url, Location::Postgres(_)));
        assert!(matches!(
            Location::parse("postgresql://h/db".into()),
            Location::Postgres(_)
        ));
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("127.0.0.1:5432/db"), "{shown}");
        }
        assert_eq!(url.default_reports_dir(), PathBuf::from("bulkops-reports"));
        let dir = Path::new("/r");
        assert_eq!(url.file_for("x.txt", dir), PathBuf::from("/r/x.txt"));
    }

    #[test]
    fn anything_else_is_a_file_with_its_reports_beside_it() {
        let file = Location::parse("/var/lib/bulkops/state.db".into());
        assert_eq!(file, Location::File("/var/lib/bulkops/state.db".into()));
        assert_eq!(
            file.default_reports_dir(),
            PathBuf::from("/var/lib/bulkops/state-reports")
        );
        assert_eq!(
            file.file_for("x.txt", Path::new("/r")),
            PathBuf::from("/var/lib/bulkops/x.txt")
        );
        assert_eq!(file.to_string(), "/var/lib/bulkops/state.db");
    }
}
