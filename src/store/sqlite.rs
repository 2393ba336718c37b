use std::cell::RefCell;
use std::ops::ControlFlow;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::fault::Fault;
use super::{
    Begun, ChunkState, Counts, Item, ItemOutcome, ItemState, JobRecord, JobState, Lease, NewJob,
    PageCommit, ReportRow, StoreError,
};
use crate::job::{JobSpec, Window};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    identity    TEXT NOT NULL,
    name        TEXT,
    spec        TEXT NOT NULL,
    since       TEXT NOT NULL,
    until       TEXT NOT NULL,
    state       TEXT NOT NULL,
    cursor      TEXT,
    enumerated  INTEGER NOT NULL DEFAULT 0,
    chunk_size  INTEGER NOT NULL,
    item_count  INTEGER NOT NULL DEFAULT 0,
    page_count  INTEGER NOT NULL DEFAULT 0,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    finished_at TEXT,
    started_by  TEXT NOT NULL,
    reason      TEXT
);
CREATE INDEX IF NOT EXISTS jobs_identity ON jobs(identity, state);
CREATE TABLE IF NOT EXISTS pages (
    job_id TEXT NOT NULL,
    page   INTEGER NOT NULL,
    scope  TEXT,
    PRIMARY KEY (job_id, page)
);
CREATE TABLE IF NOT EXISTS items (
    job_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    page        INTEGER NOT NULL,
    chunk       INTEGER,
    state       TEXT NOT NULL,
    reason      TEXT,
    http_status INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT,
    payload     TEXT,
    PRIMARY KEY (job_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS items_id ON items(job_id, id);
-- Lookups by chunk and by page must not fall back to items_state (which scans every pending
-- item of the job): these cover the equality columns and the ORDER BY seq.
DROP INDEX IF EXISTS items_chunk;
CREATE INDEX IF NOT EXISTS items_by_chunk ON items(job_id, chunk, state, seq);
CREATE INDEX IF NOT EXISTS items_state ON items(job_id, state, seq);
DROP INDEX IF EXISTS items_page;
CREATE INDEX IF NOT EXISTS items_by_page ON items(job_id, page, state, seq);
CREATE TABLE IF NOT EXISTS chunks (
    job_id TEXT NOT NULL,
    chunk  INTEGER NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (job_id, chunk)
);
CREATE INDEX IF NOT EXISTS chunks_state ON chunks(job_id, state, chunk);
CREATE TABLE IF NOT EXISTS manifests (
    digest TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    id     TEXT NOT NULL,
    PRIMARY KEY (digest, seq)
);
"#;

/// Marks a SQLite file as a bulkops store (`PRAGMA application_id`: "bkop").
const APPLICATION_ID: i32 = 0x626b_6f70;

/// The schema this bulkops writes (`PRAGMA user_version`). A store of a later schema is refused:
/// this bulkops would misread it.
const SCHEMA_VERSION: i32 = 1;

/// A file as the file system knows it: device and inode.
type FileId = (u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The file SQLite keeps beside the state file with `suffix` (`-wal`, `-shm`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The embedded SQLite store (WAL mode, synchronous=FULL so a committed page or chunk survives
/// power loss as well as `kill -9`).
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The state file and its WAL files as they were when opened: the paths must keep naming
    /// them (see `check_in_place`).
    opened: Vec<(PathBuf, FileId)>,
    /// The first failure that showed the file itself at fault. From then on the store is not
    /// touched again: nothing is written into a file that moved, vanished or stopped taking
    /// writes.
    lost: RefCell<Option<StoreError>>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_ts(text: &str) -> Result<DateTime<Utc>, Fault> {
    crate::job::parse_time(text).map_err(|e| Fault::Damaged(format!("time {text}: {e}")))
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Fault> {
    serde_json::from_str(text).map_err(|e| Fault::Damaged(e.to_string()))
}

const CHUNK_ITEMS: &str = "SELECT seq, id, page, payload, attempts FROM items WHERE job_id = ?1 \
     AND chunk = ?2 AND state = 'pending' ORDER BY seq";

const JOB_COLUMNS: &str = "id, identity, name, spec, since, until, state, cursor, enumerated, \
     chunk_size, created_at, finished_at, started_by, reason, rate, resend_rounds";

struct RawJob {
    id: String,
    identity: String,
    name: Option<String>,
    spec: String,
    since: String,
    until: String,
    state: String,
    cursor: Option<String>,
    enumerated: bool,
    chunk_size: i64,
    created_at: String,
    finished_at: Option<String>,
    started_by: String,
    reason: Option<String>,
    rate: Option<f64>,
    resend_rounds: u32,
}

impl RawJob {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawJob {
            id: row.get(0)?,
            identity: row.get(1)?,
            name: row.get(2)?,
            spec: row.get(3)?,
            since: row.get(4)?,
            until: row.get(5)?,
            state: row.get(6)?,
            cursor: row.get(7)?,
            enumerated: row.get(8)?,
            chunk_size: row.get(9)?,
            created_at: row.get(10)?,
            finished_at: row.get(11)?,
            started_by: row.get(12)?,
            reason: row.get(13)?,
            rate: row.get(14)?,
            resend_rounds: row.get(15)?,
        })
    }

    fn into_record(self) -> Result<JobRecord, Fault> {
        let spec: JobSpec = parse_json(&self.spec)?;
        Ok(JobRecord {
            id: self.id,
            identity: self.identity,
            name: self.name,
            spec,
            window: Window {
                since: parse_ts(&self.since)?,
                until: parse_ts(&self.until)?,
            },
            state: self.state.parse().map_err(Fault::Damaged)?,
            cursor: self.cursor,
            enumerated: self.enumerated,
            chunk_size: usize::try_from(self.chunk_size).unwrap_or(1).max(1),
            created_at: parse_ts(&self.created_at)?,
            finished_at: self.finished_at.as_deref().map(parse_ts).transpose()?,
            started_by: self.started_by,
            reason: self.reason,
            rate: self.rate,
            resend_rounds: self.resend_rounds,
        })
    }
}

type RawItem = (i64, String, i64, Option<String>, u32);

fn item_from_row(row: &Row<'_>) -> rusqlite::Result<RawItem> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_item(raw: RawItem) -> Result<Item, Fault> {
    let (seq, id, page, payload, attempts) = raw;
    Ok(Item {
        seq,
        id,
        page,
        payload: payload.as_deref().map(parse_json).transpose()?,
        attempts,
    })
}

/// Columns of `jobs` added after the first release, for state files written before them.
const ADDED_JOB_COLUMNS: [(&str, &str); 4] = [
    ("rate", "REAL"),
    ("resend_rounds", "INTEGER NOT NULL DEFAULT 0"),
    ("owner", "TEXT"),
    ("heartbeat", "TEXT"),
];

fn add_missing_columns(conn: &Connection) -> rusqlite::Result<()> {
    for (name, definition) in ADDED_JOB_COLUMNS {
        let present: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('jobs') WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!("ALTER TABLE jobs ADD COLUMN {name} {definition}"))?;
        }
    }
    Ok(())
}

/// At most one unfinished job per identity, enforced by the schema. State files written before
/// it may hold several (two processes could both create one): all but the newest are closed
/// as aborted, the state they would have reached had the guard existed.
const ONE_OPEN_JOB_PER_IDENTITY: &str = "
UPDATE jobs SET state = 'aborted', finished_at = COALESCE(finished_at, created_at)
 WHERE state IN ('running', 'paused') AND EXISTS (
   SELECT 1 FROM jobs AS newer WHERE newer.identity = jobs.identity
      AND newer.state IN ('running', 'paused') AND newer.rowid > jobs.rowid);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_open_per_identity ON jobs(identity)
 WHERE state IN ('running', 'paused');
";

/// How long a process waits for another's write transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Refuses a file that is not a bulkops store, or one of a later schema, before anything is
/// written to it. Accepted: an empty file, a store marked as bulkops', and a store of a bulkops
/// from before the marks (a `jobs` table of its shape).
fn check_ours(conn: &Connection) -> Result<(), Fault> {
    let application_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if application_id == APPLICATION_ID {
        let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(Fault::NotOurs(format!(
                "was written by a newer bulkops (schema {version}; this one knows up to {SCHEMA_VERSION})"
            )));
        }
        return Ok(());
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let unmarked_store: bool = conn.query_row(
        "SELECT COUNT(*) = 2 FROM pragma_table_info('jobs') WHERE name IN ('identity', 'spec')",
        [],
        |r| r.get(0),
    )?;
    if application_id == 0 && (tables.is_empty() || unmarked_store) {
        return Ok(());
    }
    Err(Fault::NotOurs(format!(
        "is another program's database (tables: {})",
        tables.join(", ")
    )))
}

/// Creates or upgrades the schema in one immediate transaction, so that processes opening a new
/// or old state file at the same instant do not race (one would add a column the other added).
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    add_missing_columns(&tx)?;
    tx.execute_batch(ONE_OPEN_JOB_PER_IDENTITY)?;
    let marked: bool = tx.query_row(
        "SELECT application_id = ?1 AND user_version = ?2 \
         FROM pragma_application_id, pragma_user_version",
        params![APPLICATION_ID, SCHEMA_VERSION],
        |r| r.get(0),
    )?;
    // Only when needed: an unchanged store commits nothing, and so writes nothing.
    if !marked {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()
}

/// A write transaction that takes the file's write lock at once: a deferred one that read first
/// could fail at its first write, without waiting, when another process wrote meanwhile.
fn write(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

fn latest_job(conn: &Connection, identity: &str, state: &str) -> Result<Option<JobRecord>, Fault> {
    conn.query_row(
        &format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE identity = ?1 \
             AND {state} ORDER BY created_at DESC LIMIT 1"
        ),
        [identity],
        RawJob::from_row,
    )
    .optional()?
    .map(RawJob::into_record)
    .transpose()
}

/// Switches the file to WAL. The switch needs the file to itself, and SQLite reports a busy file
/// at once instead of waiting for it, so a process opening the file while another is switching
/// it retries for as long as any other wait.
fn use_wal(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        let mode: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0));
        match mode {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.map(|_| ()),
        }
    }
}

/// Opens the connection and readies the file: refused unless it is (or can become) a store of
/// this bulkops, switched to WAL, its schema brought up to date.
fn connect(path: &Path) -> Result<Connection, Fault> {
    if path.is_dir() {
        return Err(Fault::NotOurs("is a directory".into()));
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    check_ours(&conn)?;
    use_wal(&conn)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    migrate(&mut conn)?;
    Ok(conn)
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = connect(path).map_err(|fault| fault.at(path))?;
        let opened = [
            path.to_path_buf(),
            beside(path, "-wal"),
            beside(path, "-shm"),
        ]
        .into_iter()
        .filter_map(|file| file_id(&file).map(|id| (file, id)))
        .collect();
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            opened,
            lost: RefCell::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `op` on the connection, unless the file was found at fault before, and puts its
    /// failure in terms of the file.
    fn with<T>(&self, op: impl FnOnce(&Connection) -> Result<T, Fault>) -> Result<T, StoreError> {
        self.usable()?;
        op(&self.conn).map_err(|fault| self.failure(fault))
    }

    /// `with`, for an operation that needs a transaction.
    fn with_mut<T>(
        &mut self,
        op: impl FnOnce(&mut Connection) -> Result<T, Fault>,
    ) -> Result<T, StoreError> {
        self.usable()?;
        let result = op(&mut self.conn);
        result.map_err(|fault| self.failure(fault))
    }

    fn usable(&self) -> Result<(), StoreError> {
        match &*self.lost.borrow() {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn failure(&self, fault: Fault) -> StoreError {
        let error = fault.at(&self.path);
        if error.concerns_the_file() {
            self.abandon(&error);
        }
        error
    }

    /// Leaves the store for good after `error`.
    fn abandon(&self, error: &StoreError) {
        // Closing the connection would checkpoint the WAL into the file; into one made
        // immutable that write faults (SIGBUS on the memory-mapped -shm), and into one moved or
        // deleted it goes nowhere useful.
        if let Err(e) = self
            .conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        {
            tracing::warn!("cannot turn off the checkpoint on close: {e}");
        }
        self.lost.borrow_mut().get_or_insert_with(|| error.clone());
    }

    /// Whether the path still names the file this store has open, and its WAL files: a running
    /// job looks every second, and stops once the file was moved, replaced or deleted.
    pub fn check_in_place(&self) -> Result<(), StoreError> {
        self.usable()?;
        if self
            .opened
            .iter()
            .all(|(file, id)| file_id(file) == Some(*id))
        {
            return Ok(());
        }
        let error = StoreError::Replaced {
            path: self.path.clone(),
        };
        self.abandon(&error);
        Err(error)
    }

    /// Creates the job, or resumes the unfinished one with its identity, and takes it for
    /// `owner`, in one immediate transaction: two processes started at the same instant get
    /// one job, and the second is refused with the holder's lease.
    pub fn begin_job(
        &mut self,
        new: NewJob,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<Begun, Lease>, StoreError> {
        self.with_mut(|conn| {
            let tx = write(conn)?;
            let open: Option<String> = tx
                .query_row(
                    "SELECT id FROM jobs WHERE identity = ?1 AND state IN ('running', 'paused')",
                    [&new.identity],
                    |r| r.get(0),
                )
                .optional()?;
            let begun = match open {
                Some(id) => {
                    if let Err(lease) = take_lease(&tx, &id, owner, now)? {
                        return Ok(Err(lease));
                    }
                    Begun::Resumed(id)
                }
                None => {
                    let id = insert_job(&tx, &new, owner, now)?;
                    Begun::Created(id)
                }
            };
            tx.commit()?;
            Ok(Ok(begun))
        })
    }

    pub fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        self.with(|conn| {
            conn.query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                RawJob::from_row,
            )
            .optional()?
            .map(RawJob::into_record)
            .transpose()
        })
    }

    /// The open (running or paused) job with this identity, if any.
    pub fn open_job(&self, identity: &str) -> Result<Option<JobRecord>, StoreError> {
        self.with(|conn| latest_job(conn, identity, "state IN ('running', 'paused')"))
    }

    /// The last job with this identity that ran to its end, if any.
    pub fn finished_job(&self, identity: &str) -> Result<Option<JobRecord>, StoreError> {
        self.with(|conn| latest_job(conn, identity, "state = 'finished'"))
    }

    /// What another process may have changed about a running job: its state (`jobs pause`,
    /// `jobs abort`) and its rate (`jobs retune`).
    pub fn job_control(&self, id: &str) -> Result<(JobState, Option<f64>), StoreError> {
        self.with(|conn| {
            let (state, rate): (String, Option<f64>) =
                conn.query_row("SELECT state, rate FROM jobs WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            Ok((state.parse().map_err(Fault::Damaged)?, rate))
        })
    }

    /// Takes the job for `owner`, unless another holder may still be running it: then its
    /// lease is the answer. Claims are serialised by an immediate transaction.
    pub fn claim_job(
        &mut self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Lease>, StoreError> {
        self.with_mut(|conn| {
            let tx = write(conn)?;
            let taken = take_lease(&tx, id, owner, now)?;
            if taken.is_ok() {
                tx.commit()?;
            }
            Ok(taken)
        })
    }

    /// Renews `owner`'s lease; `false` when another process has taken the job over.
    pub fn heartbeat(
        &mut self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.with_mut(|conn| {
            let renewed = conn.execute(
                "UPDATE jobs SET heartbeat = ?3 WHERE id = ?1 AND owner = ?2",
                params![id, owner, ts(now)],
            )?;
            Ok(renewed == 1)
        })
    }

    pub fn release_job(&mut self, id: &str, owner: &str) -> Result<(), StoreError> {
        self.with_mut(|conn| {
            conn.execute(
                "UPDATE jobs SET owner = NULL, heartbeat = NULL WHERE id = ?1 AND owner = ?2",
                params![id, owner],
            )?;
            Ok(())
        })
    }

    /// Who holds the job now, if anyone (`None` once its holder released it).
    pub fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError> {
        self.with(|conn| read_lease(conn, id))
    }

    pub fn set_job_rate(&mut self, id: &str, rate: f64) -> Result<(), StoreError> {
        self.with_mut(|conn| {
            conn.execute("UPDATE jobs SET rate = ?2 WHERE id = ?1", params![id, rate])?;
            Ok(())
        })
    }

    pub fn jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs ORDER BY created_at"
            ))?;
            let raws = stmt
                .query_map([], RawJob::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            raws.into_iter().map(RawJob::into_record).collect()
        })
    }

    pub fn set_job_state(
        &mut self,
        id: &str,
        state: JobState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with_mut(|conn| {
            let finished = (!state.is_open()).then(|| ts(now));
            conn.execute(
                "UPDATE jobs SET state = ?2, finished_at = ?3 WHERE id = ?1",
                params![id, state.as_str(), finished],
            )?;
            Ok(())
        })
    }

    /// Writes one enumerated page: its items, the cursor advance and the chunks it completes,
    /// all in one transaction. Returns the states of the items it added.
    pub fn commit_page(&mut self, job_id: &str, page: PageCommit) -> Result<Counts, StoreError> {
        self.with_mut(|conn| {
            let tx = write(conn)?;
            let (mut seq, page_no, chunk_size): (i64, i64, i64) = tx.query_row(
                "SELECT item_count, page_count, chunk_size FROM jobs WHERE id = ?1",
                [job_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let now = ts(Utc::now());
            let mut added = Counts::default();
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO items (job_id, seq, id, page, state, reason, payload, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for item in &page.items {
                    let payload = item.payload.as_ref().map(|p| p.to_string());
                    let (state, reason) = match &item.settled {
                        Some((state, reason)) => (*state, Some(reason.as_str())),
                        None => (ItemState::Pending, None),
                    };
                    let inserted = insert.execute(params![
                        job_id,
                        seq,
                        item.id,
                        page_no,
                        state.as_str(),
                        reason,
                        payload,
                        now
                    ])?;
                    if inserted > 0 {
                        seq += 1;
                        added.add(state, 1);
                    }
                }
            }
            let scope = page.page_scope.map(|s| s.to_string());
            tx.execute(
                "INSERT INTO pages (job_id, page, scope) VALUES (?1, ?2, ?3)",
                params![job_id, page_no, scope],
            )?;
            let enumerated = page.next_cursor.is_none();
            tx.execute(
                "UPDATE jobs SET item_count = ?2, page_count = page_count + 1, cursor = ?3, enumerated = ?4 \
                 WHERE id = ?1",
                params![job_id, seq, page.next_cursor, enumerated],
            )?;
            assign_chunks(&tx, job_id, chunk_size, enumerated)?;
            tx.commit()?;
            Ok(added)
        })
    }

    /// Keeps a manifest's ids under its digest (once; the same digest means the same ids), so a
    /// job selected by `--ids-file` resumes without the file.
    pub fn put_manifest(&mut self, digest: &str, ids: &[String]) -> Result<(), StoreError> {
        self.with_mut(|conn| {
            let tx = write(conn)?;
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM manifests WHERE digest = ?1)",
                [digest],
                |r| r.get(0),
            )?;
            if !known {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO manifests (digest, seq, id) VALUES (?1, ?2, ?3)",
                )?;
                for (seq, id) in ids.iter().enumerate() {
                    insert.execute(params![digest, seq as i64, id])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The ids of a manifest kept by `put_manifest`, in order; empty when unknown.
    pub fn manifest(&self, digest: &str) -> Result<Vec<String>, StoreError> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare("SELECT id FROM manifests WHERE digest = ?1 ORDER BY seq")?;
            let ids = stmt
                .query_map([digest], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
    }

    /// Pending chunks in order, skipping those already in flight.
    pub fn pending_chunks(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT chunk FROM chunks WHERE job_id = ?1 AND state = 'pending' AND chunk > ?2 \
                 ORDER BY chunk LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![job_id, after, limit as i64], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            Ok(rows)
        })
    }

    /// Chunks left in `sending` by a process that died mid-request.
    pub fn in_doubt_chunks(&self, job_id: &str) -> Result<Vec<i64>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT chunk FROM chunks WHERE job_id = ?1 AND state = 'sending' ORDER BY chunk",
            )?;
            let rows = stmt
                .query_map([job_id], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            Ok(rows)
        })
    }

    /// The items of a chunk that still need a request.
    pub fn chunk_items(&self, job_id: &str, chunk: i64) -> Result<Vec<Item>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(CHUNK_ITEMS)?;
            let raws = stmt
                .query_map(params![job_id, chunk], item_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            raws.into_iter().map(to_item).collect()
        })
    }

    pub fn set_chunk_state(
        &mut self,
        job_id: &str,
        chunk: i64,
        state: ChunkState,
    ) -> Result<(), StoreError> {
        self.with_mut(|conn| {
            conn.execute(
                "UPDATE chunks SET state = ?3 WHERE job_id = ?1 AND chunk = ?2",
                params![job_id, chunk, state.as_str()],
            )?;
            Ok(())
        })
    }

    /// Records a finished chunk: its items' outcomes and the chunk marked done, in one
    /// transaction.
    pub fn finish_chunk(
        &mut self,
        job_id: &str,
        chunk: i64,
        outcomes: &[ItemOutcome],
    ) -> Result<(), StoreError> {
        self.with_mut(|conn| {
            let tx = write(conn)?;
            write_outcomes(&tx, job_id, outcomes)?;
            // Items left pending (the server could not be reached) keep their chunk to be sent
            // again on resume.
            let left = outcomes.iter().any(|o| o.state == ItemState::Pending);
            let state = if left {
                ChunkState::Pending
            } else {
                ChunkState::Done
            };
            tx.execute(
                "UPDATE chunks SET state = ?3 WHERE job_id = ?1 AND chunk = ?2",
                params![job_id, chunk, state.as_str()],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Records outcomes found outside a chunk request (verification, reconciliation).
    pub fn record_outcomes(
        &mut self,
        job_id: &str,
        outcomes: &[ItemOutcome],
    ) -> Result<(), StoreError> {
        self.with_mut(|conn| {
            let tx = write(conn)?;
            write_outcomes(&tx, job_id, outcomes)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Puts the items in `from` back to pending for another round of sending, and counts the
    /// round in the job (so that a resumed job keeps to its bound). Returns how many items moved.
    pub fn requeue_for_resend(
        &mut self,
        job_id: &str,
        from: ItemState,
        reason: &str,
    ) -> Result<u64, StoreError> {
        self.with_mut(|conn| {
            let tx = write(conn)?;
            tx.execute(
                "UPDATE jobs SET resend_rounds = resend_rounds + 1 WHERE id = ?1",
                [job_id],
            )?;
            let chunk_size: i64 =
                tx.query_row("SELECT chunk_size FROM jobs WHERE id = ?1", [job_id], |r| {
                    r.get(0)
                })?;
            let moved = tx.execute(
                "UPDATE items SET state = 'pending', chunk = NULL, reason = ?3, updated_at = ?4 \
                 WHERE job_id = ?1 AND state = ?2",
                params![job_id, from.as_str(), reason, ts(Utc::now())],
            )?;
            assign_chunks(&tx, job_id, chunk_size, true)?;
            tx.commit()?;
            Ok(moved as u64)
        })
    }

    /// Up to `limit` items in `state` after `after_seq`, in enumeration order.
    pub fn items_in_state(
        &self,
        job_id: &str,
        state: ItemState,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, id, page, payload, attempts FROM items WHERE job_id = ?1 AND state = ?2 AND seq > ?3 \
                 ORDER BY seq LIMIT ?4",
            )?;
            let raws = stmt
                .query_map(
                    params![job_id, state.as_str(), after_seq, limit as i64],
                    item_from_row,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            raws.into_iter().map(to_item).collect()
        })
    }

    /// Up to `limit` items after `after_seq` that the server accepted — done, sent (not yet
    /// confirmed) or unconfirmed — in enumeration order: what an undo must cover, also of an
    /// aborted or interrupted job.
    pub fn accepted_items(
        &self,
        job_id: &str,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, id, page, payload, attempts FROM items WHERE job_id = ?1 \
                 AND state IN ('done', 'sent', 'unconfirmed') AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let raws = stmt
                .query_map(params![job_id, after_seq, limit as i64], item_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            raws.into_iter().map(to_item).collect()
        })
    }

    /// The pages that still have items in `state`, with their scopes.
    pub fn pages_with(
        &self,
        job_id: &str,
        state: ItemState,
    ) -> Result<Vec<(i64, Option<serde_json::Value>)>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT p.page, p.scope FROM pages p WHERE p.job_id = ?1 AND EXISTS \
                 (SELECT 1 FROM items i WHERE i.job_id = p.job_id AND i.page = p.page AND i.state = ?2) \
                 ORDER BY p.page",
            )?;
            let rows = stmt
                .query_map(params![job_id, state.as_str()], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(page, scope)| Ok((page, scope.as_deref().map(parse_json).transpose()?)))
                .collect()
        })
    }

    /// The items of one page in `state`.
    pub fn page_items(
        &self,
        job_id: &str,
        page: i64,
        state: ItemState,
    ) -> Result<Vec<Item>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, id, page, payload, attempts FROM items WHERE job_id = ?1 AND page = ?2 AND state = ?3 ORDER BY seq",
            )?;
            let raws = stmt
                .query_map(params![job_id, page, state.as_str()], item_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            raws.into_iter().map(to_item).collect()
        })
    }

    pub fn counts(&self, job_id: &str) -> Result<Counts, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT state, COUNT(*) FROM items WHERE job_id = ?1 GROUP BY state",
            )?;
            let mut counts = Counts::default();
            let rows = stmt.query_map([job_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (state, n) = row?;
                let state: ItemState = state.parse().map_err(Fault::Damaged)?;
                counts.add(state, n.max(0) as u64);
            }
            Ok(counts)
        })
    }

    /// Calls `each` for every item of a job (only failed, skipped and unconfirmed ones with
    /// `problems_only`), in enumeration order, without loading them all at once, until it
    /// breaks.
    pub fn for_each_report_row(
        &self,
        job: &JobRecord,
        problems_only: bool,
        mut each: impl FnMut(ReportRow) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        self.with(|conn| {
            let filter = if problems_only {
                "AND state IN ('failed', 'skipped', 'unconfirmed')"
            } else {
                ""
            };
            let mut stmt = conn.prepare(&format!(
                "SELECT id, state, reason, http_status, attempts, updated_at, payload FROM items \
                 WHERE job_id = ?1 {filter} ORDER BY seq"
            ))?;
            let mut rows = stmt.query([&job.id])?;
            let operation = job.spec.operation_name().to_string();
            while let Some(row) = rows.next()? {
                let walk = each(ReportRow {
                    id: row.get(0)?,
                    operation: operation.clone(),
                    outcome: row.get(1)?,
                    reason: row.get(2)?,
                    http_status: row.get::<_, Option<i64>>(3)?.map(|s| s as u16),
                    attempts: row.get::<_, i64>(4)?.max(0) as u32,
                    time: row.get(5)?,
                    payload: row
                        .get::<_, Option<String>>(6)?
                        .as_deref()
                        .map(parse_json)
                        .transpose()?,
                });
                if walk.is_break() {
                    break;
                }
            }
            Ok(())
        })
    }
}

/// Who holds job `id`, if anyone.
fn read_lease(conn: &Connection, id: &str) -> Result<Option<Lease>, Fault> {
    let (owner, heartbeat): (Option<String>, Option<String>) = conn.query_row(
        "SELECT owner, heartbeat FROM jobs WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match (owner, heartbeat) {
        (Some(owner), Some(heartbeat)) => Ok(Some(Lease {
            job: id.to_string(),
            owner,
            heartbeat: parse_ts(&heartbeat)?,
        })),
        _ => Ok(None),
    }
}

/// Takes job `id` for `owner` inside `tx`, unless another holder may still be running it.
fn take_lease(
    tx: &Transaction<'_>,
    id: &str,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Lease>, Fault> {
    if let Some(lease) = read_lease(tx, id)? {
        if lease.owner != owner && lease.is_held(now) {
            return Ok(Err(lease));
        }
    }
    tx.execute(
        "UPDATE jobs SET owner = ?2, heartbeat = ?3 WHERE id = ?1",
        params![id, owner, ts(now)],
    )?;
    Ok(Ok(()))
}

/// Inserts a new running job held by `owner`; its id is its name (or identity) and a number.
fn insert_job(
    tx: &Transaction<'_>,
    new: &NewJob,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<String, Fault> {
    let prefix = new.name.clone().unwrap_or_else(|| new.identity.clone());
    let previous: i64 = tx.query_row(
        "SELECT COUNT(*) FROM jobs WHERE identity = ?1",
        [&new.identity],
        |r| r.get(0),
    )?;
    let id = format!("{prefix}-{}", previous + 1);
    let spec = serde_json::to_string(&new.spec).map_err(|e| Fault::Damaged(e.to_string()))?;
    tx.execute(
        "INSERT INTO jobs (id, identity, name, spec, since, until, state, cursor, chunk_size, \
         created_at, started_by, reason, owner, heartbeat) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7, ?8, ?9, ?10, ?11, ?12, ?9)",
        params![
            id,
            new.identity,
            new.name,
            spec,
            ts(new.window.since),
            ts(new.window.until),
            new.cursor,
            new.chunk_size as i64,
            ts(now),
            new.started_by,
            new.reason,
            owner
        ],
    )?;
    Ok(id)
}

fn write_outcomes(
    tx: &Transaction<'_>,
    job_id: &str,
    outcomes: &[ItemOutcome],
) -> Result<(), Fault> {
    let now = ts(Utc::now());
    let mut update = tx.prepare_cached(
        "UPDATE items SET state = ?3, reason = ?4, http_status = COALESCE(?5, http_status), attempts = attempts + ?6, updated_at = ?7 \
         WHERE job_id = ?1 AND id = ?2",
    )?;
    for o in outcomes {
        update.execute(params![
            job_id,
            o.id,
            o.state.as_str(),
            o.reason,
            o.http_status.map(i64::from),
            i64::from(o.attempts),
            now
        ])?;
    }
    Ok(())
}

/// Groups not-yet-chunked pending items into chunks of `chunk_size`, in enumeration order.
/// A short tail is chunked only once enumeration is complete.
fn assign_chunks(
    tx: &Transaction<'_>,
    job_id: &str,
    chunk_size: i64,
    final_page: bool,
) -> Result<(), Fault> {
    let mut next_chunk: i64 = tx.query_row(
        "SELECT chunk_count FROM jobs WHERE id = ?1",
        [job_id],
        |r| r.get(0),
    )?;
    let unassigned: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT seq FROM items WHERE job_id = ?1 AND chunk IS NULL AND state = 'pending' ORDER BY seq",
        )?;
        let rows = stmt.query_map([job_id], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut set_chunk =
        tx.prepare_cached("UPDATE items SET chunk = ?3 WHERE job_id = ?1 AND seq = ?2")?;
    let mut add_chunk =
        tx.prepare_cached("INSERT INTO chunks (job_id, chunk, state) VALUES (?1, ?2, 'pending')")?;
    for group in unassigned.chunks(chunk_size.max(1) as usize) {
        if group.len() < chunk_size as usize && !final_page {
            break;
        }
        next_chunk += 1;
        add_chunk.execute(params![job_id, next_chunk])?;
        for seq in group {
            set_chunk.execute(params![job_id, seq, next_chunk])?;
        }
    }
    tx.execute(
        "UPDATE jobs SET chunk_count = ?2 WHERE id = ?1",
        params![job_id, next_chunk],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dispatching a chunk must look its items up by chunk: through the state index it would scan
    /// every pending item of the job, once per chunk (quadratic in the job's size).
    #[test]
    fn chunk_lookup_uses_the_chunk_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {CHUNK_ITEMS}"))
            .unwrap()
            .query_map(params!["job", 1], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.contains("items_by_chunk")),
            "{plan:?}"
        );
    }

    #[test]
    fn a_store_whose_file_was_deleted_stops_and_is_not_touched_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        store.check_in_place().expect("in place");
        std::fs::remove_file(&path).unwrap();
        let moved = store.check_in_place().unwrap_err();
        assert!(matches!(moved, StoreError::Replaced { .. }), "{moved}");
        assert!(!moved.needs_the_user() && moved.concerns_the_file());
        let later = store.jobs().unwrap_err();
        assert_eq!(later.to_string(), moved.to_string());
        assert!(store
            .conn
            .db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE)
            .unwrap());
    }

    #[test]
    fn a_state_file_from_the_first_release_gains_the_added_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let old_jobs = SCHEMA.split(";").next().unwrap().to_string();
        assert!(
            !old_jobs.contains(" rate "),
            "the first schema has no rate column"
        );
        Connection::open(&path)
            .unwrap()
            .execute_batch(&old_jobs)
            .unwrap();
        let store = Store::open(&path).unwrap();
        let columns: Vec<String> = store
            .conn
            .prepare("SELECT name FROM pragma_table_info('jobs')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (added, _) in ADDED_JOB_COLUMNS {
            assert!(columns.contains(&added.to_string()), "{columns:?}");
        }
        drop(store);
        Store::open(&path).expect("opening twice adds nothing twice");
    }
}
