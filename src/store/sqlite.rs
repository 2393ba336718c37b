use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{
    params, Connection, OptionalExtension, Params, Row, Statement, ToSql, Transaction,
    TransactionBehavior,
};

use super::fault::Fault;
use super::{
    Begun, ChunkState, Counts, Item, ItemOutcome, ItemState, JobControl, JobRecord, JobState,
    Lease, NewItem, NewJob, PageCommit, ReportRow, StoreError,
};
use crate::job::{JobSpec, Window};

/// The jobs table, as every schema has it (columns added since: `ADDED_JOB_COLUMNS`).
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
"#;

/// The tables of schema 2 that hold a job's work, keyed by the job's number (`jobs.number`):
/// created as schema 2 wrote them, then brought to schema 3 by `to_schema_3`.
const WORK_SCHEMA_2: &str = r#"
CREATE UNIQUE INDEX IF NOT EXISTS jobs_number ON jobs(number);
CREATE TABLE IF NOT EXISTS pages (
    job       INTEGER NOT NULL,
    page      INTEGER NOT NULL,
    scope     TEXT,
    first_seq INTEGER NOT NULL,
    end_seq   INTEGER NOT NULL,
    PRIMARY KEY (job, page)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
    job         INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    key         BLOB NOT NULL,
    page        INTEGER NOT NULL,
    chunk       INTEGER,
    state       INTEGER NOT NULL,
    reason      TEXT,
    http_status INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT,
    payload     TEXT,
    PRIMARY KEY (job, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS items_key ON items(job, key);
CREATE INDEX IF NOT EXISTS items_by_chunk ON items(job, chunk, seq);
CREATE INDEX IF NOT EXISTS items_by_state ON items(job, state, seq);
CREATE TABLE IF NOT EXISTS chunks (
    job   INTEGER NOT NULL,
    chunk INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (job, chunk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_by_state ON chunks(job, state, chunk);
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
///
/// Schema 3: items are keyed by an integer sequence within an integer job number, their ids kept
/// as 16-byte keys where they are UUIDs (index seeks compare integers and short blobs, not text
/// ids: the top of the profile under schema 1). An item is written into one B-tree besides its
/// table, `items_key`, which drops duplicates; a page's items are inserted in key order so that
/// each commit walks that index once. A page and a chunk are each a range of sequence numbers
/// (`chunks.first_seq`, `end_seq`), and an item gets its chunk at its insert: no index on chunk
/// or state is written at an insert, an outcome or a settling, and what schema 2 looked up
/// through them is a range of the table's own key (docs/benchmarks.md has the measurements).
///
/// Schema 4: each job's concurrency (`jobs.concurrency`), which its resumes keep.
const SCHEMA_VERSION: i32 = 4;

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

/// The embedded SQLite store, in WAL mode.
///
/// Durability: every commit reaches the OS before it returns (WAL, `synchronous=NORMAL`), so a
/// `kill -9` loses nothing committed: a killed process leaves its writes in the OS's cache. Only
/// a power loss or kernel crash can lose the commits since the last fsync, so the commits that a
/// request sent afterwards relies on are fsynced (`synchronous=FULL`, see `durable_write`): an
/// enumerated page (its items with their chunks, the chunks it fills, their archived
/// definitions and the cursor) and the `sending` mark of a non-idempotent chunk. Everything else
/// (outcomes, chunk completions, settling, heartbeats, control) may be lost to a power loss
/// without harm: resume sends an idempotent chunk again, finds a non-idempotent one still
/// `sending` and reconciles it, verifies again, and settles again what is still `sent`.
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

/// An item's id as stored in `items.key`: a UUID in its canonical form (lower-case,
/// hyphenated) as its 16 bytes, any other id as its text. A text never equals a blob in SQLite,
/// so the two kinds cannot collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Uuid([u8; 16]),
    Text(&'a str),
}

impl<'a> Key<'a> {
    fn of(id: &'a str) -> Self {
        match uuid::Uuid::try_parse(id) {
            Ok(uuid)
                if uuid
                    .hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer())
                    == id =>
            {
                Key::Uuid(uuid.into_bytes())
            }
            _ => Key::Text(id),
        }
    }
}

impl ToSql for Key<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Key::Uuid(bytes) => ValueRef::Blob(bytes),
            Key::Text(text) => ValueRef::Text(text.as_bytes()),
        }))
    }
}

/// The id an `items.key` value stands for.
fn id_of(key: ValueRef<'_>) -> Result<String, Fault> {
    match key {
        ValueRef::Blob(bytes) => uuid::Uuid::from_slice(bytes)
            .map(|uuid| uuid.hyphenated().to_string())
            .map_err(|e| Fault::Damaged(format!("item key: {e}"))),
        ValueRef::Text(text) => std::str::from_utf8(text)
            .map(str::to_string)
            .map_err(|e| Fault::Damaged(format!("item key: {e}"))),
        other => Err(Fault::Damaged(format!(
            "item key of type {}",
            other.data_type()
        ))),
    }
}

/// `items.state` as stored: a small integer, so that the state index compares integers. The
/// codes are written into state files: never renumber them.
fn state_code(state: ItemState) -> i64 {
    match state {
        ItemState::Pending => 0,
        ItemState::Sent => 1,
        ItemState::Done => 2,
        ItemState::Failed => 3,
        ItemState::Skipped => 4,
        ItemState::Unconfirmed => 5,
    }
}

fn state_of(code: i64) -> Result<ItemState, Fault> {
    ItemState::ALL
        .into_iter()
        .find(|&state| state_code(state) == code)
        .ok_or_else(|| Fault::Damaged(format!("unknown item state {code}")))
}

/// The number of job `id` (0, which no job has, when there is no such job: it matches no item).
fn job_number(conn: &Connection, id: &str) -> Result<i64, Fault> {
    let number = conn
        .prepare_cached("SELECT number FROM jobs WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(number.unwrap_or(0))
}

/// The items of a chunk: the chunk's range of the table's key, less the items of that range
/// that belong to no chunk or another (settled at their insert, or moved by a resend round).
const CHUNK_ITEMS: &str = "SELECT i.seq, i.key, i.page, i.payload, i.attempts FROM chunks c \
     JOIN items i ON i.job = c.job AND i.seq >= c.first_seq AND i.seq < c.end_seq \
     WHERE c.job = ?1 AND c.chunk = ?2 AND i.chunk = ?2 AND i.state = 0 ORDER BY i.seq";

/// The sequence numbers and keys of a chunk's items, whatever their state: where a chunk's
/// outcomes are matched to its items.
const CHUNK_KEYS: &str = "SELECT i.seq, i.key FROM chunks c \
     JOIN items i ON i.job = c.job AND i.seq >= c.first_seq AND i.seq < c.end_seq \
     WHERE c.job = ?1 AND c.chunk = ?2 AND i.chunk = ?2 ORDER BY i.seq";

const ITEM_COLUMNS: &str = "seq, key, page, payload, attempts";

const JOB_COLUMNS: &str = "id, identity, name, spec, since, until, state, cursor, enumerated, \
     chunk_size, created_at, finished_at, started_by, reason, rate, resend_rounds, concurrency";

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
    concurrency: Option<i64>,
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
            concurrency: row.get(16)?,
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
            concurrency: self.concurrency.and_then(|n| usize::try_from(n).ok()),
        })
    }
}

fn item_from_row(row: &Row<'_>) -> Result<Item, Fault> {
    Ok(Item {
        seq: row.get(0)?,
        id: id_of(row.get_ref(1)?)?,
        page: row.get(2)?,
        payload: row
            .get_ref(3)?
            .as_str_or_null()
            .map_err(rusqlite::Error::from)?
            .map(parse_json)
            .transpose()?,
        attempts: row.get(4)?,
    })
}

/// Runs `stmt` with `params` and reads every row as an item.
fn items_of(stmt: &mut Statement<'_>, params: impl Params) -> Result<Vec<Item>, Fault> {
    let mut rows = stmt.query(params)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        items.push(item_from_row(row)?);
    }
    Ok(items)
}

/// Columns of `jobs` added after the first release, for state files written before them.
const ADDED_JOB_COLUMNS: [(&str, &str); 5] = [
    ("rate", "REAL"),
    ("resend_rounds", "INTEGER NOT NULL DEFAULT 0"),
    ("owner", "TEXT"),
    ("heartbeat", "TEXT"),
    ("number", "INTEGER"),
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

/// The page size of a new state file, in bytes.
const PAGE_SIZE: i64 = 16_384;

/// How many prepared statements a connection keeps: more than the store has, so that none is
/// prepared again (rusqlite keeps 16).
const STATEMENT_CACHE: usize = 64;

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

/// Whether the store holds schema 1's work tables (keyed by the job's text id).
fn has_schema_1(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('items') WHERE name = 'job_id'",
        [],
        |r| r.get(0),
    )
}

/// Moves schema 1's work tables aside (their indexes dropped: schema 2 reuses some of the
/// names), to be copied into schema 2 by `copy_schema_1`.
const SCHEMA_1_ASIDE: &str = "
DROP INDEX IF EXISTS items_id;
DROP INDEX IF EXISTS items_chunk;
DROP INDEX IF EXISTS items_by_chunk;
DROP INDEX IF EXISTS items_state;
DROP INDEX IF EXISTS items_page;
DROP INDEX IF EXISTS items_by_page;
DROP INDEX IF EXISTS chunks_state;
ALTER TABLE items RENAME TO items_1;
ALTER TABLE chunks RENAME TO chunks_1;
ALTER TABLE pages RENAME TO pages_1;
";

/// Copies the work of schema 1 into schema 2: job numbers for text ids, a sequence range for
/// each page, keys and state codes for ids and state names.
fn copy_schema_1(tx: &Transaction<'_>) -> Result<(), Fault> {
    tx.execute_batch(
        "INSERT INTO chunks (job, chunk, state)
           SELECT j.number, c.chunk, c.state FROM chunks_1 c JOIN jobs j ON j.id = c.job_id;
         INSERT INTO pages (job, page, scope, first_seq, end_seq)
           SELECT j.number, p.page, p.scope, COALESCE(r.first_seq, 0), COALESCE(r.end_seq, 0)
             FROM pages_1 p JOIN jobs j ON j.id = p.job_id
             LEFT JOIN (SELECT job_id, page, MIN(seq) AS first_seq, MAX(seq) + 1 AS end_seq
                          FROM items_1 GROUP BY job_id, page) r
               ON r.job_id = p.job_id AND r.page = p.page;",
    )?;
    let mut read = tx.prepare(
        "SELECT j.number, i.seq, i.id, i.page, i.chunk, i.state, i.reason, i.http_status, \
         i.attempts, i.updated_at, i.payload FROM items_1 i JOIN jobs j ON j.id = i.job_id",
    )?;
    let mut insert = tx.prepare(
        "INSERT INTO items (job, seq, key, page, chunk, state, reason, http_status, attempts, \
         updated_at, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(2)?;
        let state: ItemState = row.get::<_, String>(5)?.parse().map_err(Fault::Damaged)?;
        insert.execute(params![
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            Key::of(&id),
            row.get::<_, i64>(3)?,
            row.get::<_, Option<i64>>(4)?,
            state_code(state),
            row.get::<_, Option<String>>(6)?,
            row.get::<_, Option<i64>>(7)?,
            row.get::<_, i64>(8)?,
            row.get::<_, Option<String>>(9)?,
            row.get::<_, Option<String>>(10)?,
        ])?;
    }
    tx.execute_batch("DROP TABLE items_1; DROP TABLE chunks_1; DROP TABLE pages_1;")?;
    Ok(())
}

/// Schema 2 to 3: each chunk gains its range of sequence numbers; the items of the short tail
/// that schema 2 left without a chunk (enumeration goes on) join the job's open chunk, which
/// the next page fills; the chunk and state indexes go.
const TO_SCHEMA_3: &str = "
ALTER TABLE chunks ADD COLUMN first_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chunks ADD COLUMN end_seq INTEGER NOT NULL DEFAULT 0;
UPDATE chunks SET
  first_seq = COALESCE((SELECT MIN(seq) FROM items INDEXED BY items_by_chunk
                         WHERE job = chunks.job AND chunk = chunks.chunk), 0),
  end_seq = COALESCE((SELECT MAX(seq) + 1 FROM items INDEXED BY items_by_chunk
                       WHERE job = chunks.job AND chunk = chunks.chunk), 0);
INSERT INTO chunks (job, chunk, state, first_seq, end_seq)
  SELECT i.job, j.chunk_count + 1, 'open', MIN(i.seq), MAX(i.seq) + 1
    FROM items i JOIN jobs j ON j.number = i.job
   WHERE i.chunk IS NULL AND i.state = 0 GROUP BY i.job;
UPDATE items SET chunk = (SELECT chunk_count + 1 FROM jobs WHERE number = items.job)
 WHERE chunk IS NULL AND state = 0;
DROP INDEX items_by_chunk;
DROP INDEX items_by_state;
";

fn to_schema_3(tx: &Transaction<'_>) -> Result<(), Fault> {
    tx.execute_batch(TO_SCHEMA_3)?;
    Ok(())
}

/// Schema 4: each job's concurrency (`jobs.concurrency`), which its resumes keep. A step of its
/// own, after the others, and idempotent: a file of schema 3 or before gains the column, NULL for its
/// jobs (they resume with the configured concurrency, as before).
fn add_job_concurrency(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let present: bool = tx.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('jobs') WHERE name = 'concurrency'",
        [],
        |r| r.get(0),
    )?;
    if !present {
        tx.execute_batch("ALTER TABLE jobs ADD COLUMN concurrency INTEGER")?;
    }
    Ok(())
}

/// Creates or upgrades the schema in one immediate transaction, so that processes opening a new
/// or old state file at the same instant do not race (one would add a column the other added).
fn migrate(conn: &mut Connection) -> Result<(), Fault> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    add_missing_columns(&tx)?;
    tx.execute_batch(ONE_OPEN_JOB_PER_IDENTITY)?;
    // Jobs from before job numbers are numbered in the order they were inserted.
    tx.execute("UPDATE jobs SET number = rowid WHERE number IS NULL", [])?;
    let version: i32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    // A new file (version 0) goes through every step too: on empty tables they cost nothing.
    if version < 3 {
        let schema_1 = has_schema_1(&tx)?;
        if schema_1 {
            tx.execute_batch(SCHEMA_1_ASIDE)?;
        }
        tx.execute_batch(WORK_SCHEMA_2)?;
        if schema_1 {
            copy_schema_1(&tx)?;
        }
        to_schema_3(&tx)?;
    }
    add_job_concurrency(&tx)?;
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
    tx.commit()?;
    Ok(())
}

/// Runs `op` in a write transaction that is fsynced at commit (with it, every commit before it):
/// for what must survive a power loss before a request goes out (see `Store`).
fn durable_write<T>(
    conn: &mut Connection,
    op: impl FnOnce(&Transaction<'_>) -> Result<T, Fault>,
) -> Result<T, Fault> {
    conn.pragma_update(None, "synchronous", "FULL")?;
    let done = write(conn).map_err(Fault::from).and_then(|tx| {
        let value = op(&tx)?;
        tx.commit()?;
        Ok(value)
    });
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    done
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
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    check_ours(&conn)?;
    // For a new file only (an existing one keeps its page size): a 16 KiB page holds four times
    // the items of the default 4 KiB, so a job makes a quarter of the page reads and writes;
    // measured, 15% less CPU for a 1M-run cancel (docs/benchmarks.md).
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    use_wal(&conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
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
            place: super::Place::File(self.path.clone()),
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
    /// `jobs abort`), its rate and its concurrency (`jobs retune`).
    pub fn job_control(&self, id: &str) -> Result<JobControl, StoreError> {
        self.with(|conn| {
            let (state, rate, concurrency): (String, Option<f64>, Option<i64>) = conn.query_row(
                "SELECT state, rate, concurrency FROM jobs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            Ok(JobControl {
                state: state.parse().map_err(Fault::Damaged)?,
                rate,
                concurrency: concurrency.and_then(|n| usize::try_from(n).ok()),
            })
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

    pub fn set_job_concurrency(&mut self, id: &str, concurrency: usize) -> Result<(), StoreError> {
        self.with_mut(|conn| {
            conn.execute(
                "UPDATE jobs SET concurrency = ?2 WHERE id = ?1",
                params![id, concurrency as i64],
            )?;
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
            durable_write(conn, |tx| {
                let (job, first_seq, page_no) = tx
                    .prepare_cached(
                        "SELECT number, item_count, page_count FROM jobs WHERE id = ?1",
                    )?
                    .query_row([job_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                let mut chunker = Chunker::open(tx, job_id)?;
                let added = insert_items(tx, job, first_seq, page_no, &page.items, &mut chunker)?;
                let end_seq = first_seq + page.items.len() as i64;
                let scope = page.page_scope.map(|s| s.to_string());
                tx.prepare_cached(
                    "INSERT INTO pages (job, page, scope, first_seq, end_seq) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![job, page_no, scope, first_seq, end_seq])?;
                let enumerated = page.next_cursor.is_none();
                tx.prepare_cached(
                    "UPDATE jobs SET item_count = ?2, page_count = page_count + 1, cursor = ?3, \
                     enumerated = ?4 WHERE id = ?1",
                )?
                .execute(params![
                    job_id,
                    end_seq,
                    page.next_cursor,
                    enumerated
                ])?;
                chunker.close(tx, job_id, enumerated)?;
                Ok(added)
            })
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
            let job = job_number(conn, job_id)?;
            let mut stmt = conn.prepare_cached(
                "SELECT chunk FROM chunks WHERE job = ?1 AND state = 'pending' AND chunk > ?2 \
                 ORDER BY chunk LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![job, after, limit as i64], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            Ok(rows)
        })
    }

    /// Chunks left in `sending` by a process that died mid-request.
    pub fn in_doubt_chunks(&self, job_id: &str) -> Result<Vec<i64>, StoreError> {
        self.with(|conn| {
            let job = job_number(conn, job_id)?;
            let mut stmt = conn.prepare_cached(
                "SELECT chunk FROM chunks WHERE job = ?1 AND state = 'sending' ORDER BY chunk",
            )?;
            let rows = stmt
                .query_map([job], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            Ok(rows)
        })
    }

    /// The items of a chunk that still need a request.
    pub fn chunk_items(&self, job_id: &str, chunk: i64) -> Result<Vec<Item>, StoreError> {
        self.with(|conn| {
            let job = job_number(conn, job_id)?;
            let mut stmt = conn.prepare_cached(CHUNK_ITEMS)?;
            items_of(&mut stmt, params![job, chunk])
        })
    }

    pub fn set_chunk_state(
        &mut self,
        job_id: &str,
        chunk: i64,
        state: ChunkState,
    ) -> Result<(), StoreError> {
        self.with_mut(|conn| {
            let mark = |tx: &Transaction<'_>| mark_chunk(tx, job_id, chunk, state);
            // A `sending` mark must survive a power loss: the request goes out next.
            if state == ChunkState::Sending {
                durable_write(conn, mark)
            } else {
                let tx = write(conn)?;
                mark(&tx)?;
                tx.commit()?;
                Ok(())
            }
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
            let job = job_number(&tx, job_id)?;
            let mut found = Outcomes::new(outcomes);
            let mut chunk_items = tx.prepare_cached(CHUNK_KEYS)?;
            found.find_in(&mut chunk_items, Scan::Chunk(chunk), params![job, chunk])?;
            drop(chunk_items);
            found.write(&tx, job)?;
            // Items left pending (the server could not be reached) keep their chunk to be sent
            // again on resume.
            let left = outcomes.iter().any(|o| o.state == ItemState::Pending);
            let state = if left {
                ChunkState::Pending
            } else {
                ChunkState::Done
            };
            mark_chunk(&tx, job_id, chunk, state)?;
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
            let job = job_number(&tx, job_id)?;
            Outcomes::new(outcomes).write(&tx, job)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Gives every item still `sent` its final `state` and `reason`, in one transaction, a range
    /// of `SETTLE_RANGE` sequence numbers a statement (one statement over the whole job would
    /// first collect every key it rewrites); returns how many.
    pub fn settle_sent(
        &mut self,
        job_id: &str,
        state: ItemState,
        reason: &str,
    ) -> Result<u64, StoreError> {
        self.with_mut(|conn| {
            let tx = write(conn)?;
            let (job, item_count): (i64, i64) = tx
                .prepare_cached("SELECT number, item_count FROM jobs WHERE id = ?1")?
                .query_row([job_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let mut settle = tx.prepare_cached(
                "UPDATE items SET state = ?5, reason = ?6, updated_at = ?7 \
                 WHERE job = ?1 AND seq >= ?2 AND seq < ?3 AND state = ?4",
            )?;
            let now = ts(Utc::now());
            let mut settled = 0;
            for from in (0..item_count.max(0)).step_by(SETTLE_RANGE) {
                settled += settle.execute(params![
                    job,
                    from,
                    from + SETTLE_RANGE as i64,
                    state_code(ItemState::Sent),
                    state_code(state),
                    reason,
                    now
                ])?;
            }
            drop(settle);
            tx.commit()?;
            Ok(settled as u64)
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
            let job = job_number(&tx, job_id)?;
            let moved: Vec<i64> = tx
                .prepare_cached(
                    "UPDATE items SET state = ?3, chunk = NULL, reason = ?4, updated_at = ?5 \
                     WHERE job = ?1 AND state = ?2 RETURNING seq",
                )?
                .query_map(
                    params![
                        job,
                        state_code(from),
                        state_code(ItemState::Pending),
                        reason,
                        ts(Utc::now())
                    ],
                    |r| r.get(0),
                )?
                .collect::<Result<_, _>>()?;
            let mut in_order = moved.clone();
            in_order.sort_unstable();
            let mut chunker = Chunker::open(&tx, job_id)?;
            let mut set_chunk =
                tx.prepare_cached("UPDATE items SET chunk = ?3 WHERE job = ?1 AND seq = ?2")?;
            for seq in in_order {
                set_chunk.execute(params![job, seq, chunker.assign(seq)])?;
            }
            drop(set_chunk);
            chunker.close(&tx, job_id, true)?;
            tx.commit()?;
            Ok(moved.len() as u64)
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
            let job = job_number(conn, job_id)?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM items WHERE job = ?1 AND state = ?2 AND seq > ?3 \
                 ORDER BY seq LIMIT ?4"
            ))?;
            items_of(
                &mut stmt,
                params![job, state_code(state), after_seq, limit as i64],
            )
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
            let job = job_number(conn, job_id)?;
            // In enumeration order, along the primary key: through the state index the three
            // states' items would be sorted anew for every batch.
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM items NOT INDEXED WHERE job = ?1 AND seq > ?2 \
                 AND state IN (?3, ?4, ?5) ORDER BY seq LIMIT ?6"
            ))?;
            items_of(
                &mut stmt,
                params![
                    job,
                    after_seq,
                    state_code(ItemState::Done),
                    state_code(ItemState::Sent),
                    state_code(ItemState::Unconfirmed),
                    limit as i64
                ],
            )
        })
    }

    /// The pages that still have items in `state`, with their scopes.
    pub fn pages_with(
        &self,
        job_id: &str,
        state: ItemState,
    ) -> Result<Vec<(i64, Option<serde_json::Value>)>, StoreError> {
        self.with(|conn| {
            let job = job_number(conn, job_id)?;
            let mut stmt = conn.prepare_cached(
                "SELECT p.page, p.scope FROM pages p WHERE p.job = ?1 AND EXISTS \
                 (SELECT 1 FROM items i WHERE i.job = p.job AND i.state = ?2 \
                  AND i.seq >= p.first_seq AND i.seq < p.end_seq) ORDER BY p.page",
            )?;
            let rows = stmt
                .query_map(params![job, state_code(state)], |r| {
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
            let job = job_number(conn, job_id)?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM items WHERE job = ?1 AND state = ?3 \
                 AND seq >= (SELECT first_seq FROM pages WHERE job = ?1 AND page = ?2) \
                 AND seq < (SELECT end_seq FROM pages WHERE job = ?1 AND page = ?2) ORDER BY seq"
            ))?;
            items_of(&mut stmt, params![job, page, state_code(state)])
        })
    }

    pub fn counts(&self, job_id: &str) -> Result<Counts, StoreError> {
        self.with(|conn| {
            let job = job_number(conn, job_id)?;
            let mut stmt = conn.prepare_cached(
                "SELECT state, COUNT(*) FROM items WHERE job = ?1 GROUP BY state",
            )?;
            let mut counts = Counts::default();
            let rows = stmt.query_map([job], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (state, n) = row?;
                counts.add(state_of(state)?, n.max(0) as u64);
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
            let number = job_number(conn, &job.id)?;
            let problems = [
                ItemState::Failed,
                ItemState::Skipped,
                ItemState::Unconfirmed,
            ]
            .map(state_code);
            let filter = if problems_only {
                format!(
                    "AND state IN ({}, {}, {})",
                    problems[0], problems[1], problems[2]
                )
            } else {
                String::new()
            };
            let mut stmt = conn.prepare(&format!(
                "SELECT key, state, reason, http_status, attempts, updated_at, payload FROM items \
                 NOT INDEXED WHERE job = ?1 {filter} ORDER BY seq"
            ))?;
            let mut rows = stmt.query([number])?;
            let operation = job.spec.operation_name().to_string();
            while let Some(row) = rows.next()? {
                let walk = each(ReportRow {
                    id: id_of(row.get_ref(0)?)?,
                    operation: operation.clone(),
                    outcome: state_of(row.get(1)?)?.as_str().to_string(),
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
         created_at, started_by, reason, owner, heartbeat, number, concurrency) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7, ?8, ?9, ?10, ?11, ?12, ?9, \
         (SELECT COALESCE(MAX(number), 0) + 1 FROM jobs), ?13)",
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
            owner,
            new.concurrency as i64
        ],
    )?;
    Ok(id)
}

/// Inserts a page's items from sequence number `first_seq` on, each pending one in its chunk,
/// and returns the states of those it added (an id the job already has is left out, its number
/// unused). They are written in key order: the key index is then walked once, from one end to
/// the other, instead of seeking a random place for every item. Chunks are given as if no id
/// were a duplicate; the rare page that held one has its later items' chunks given again.
fn insert_items(
    tx: &Transaction<'_>,
    job: i64,
    first_seq: i64,
    page: i64,
    items: &[NewItem],
    chunker: &mut Chunker,
) -> Result<Counts, Fault> {
    let now = ts(Utc::now());
    let pending = |item: &NewItem| item.settled.is_none();
    let before = chunker.clone();
    let seq_of = |at: usize| first_seq + at as i64;
    let chunks: Vec<Option<i64>> = (0..items.len())
        .map(|at| pending(&items[at]).then(|| chunker.assign(seq_of(at))))
        .collect();
    let mut in_key_order: Vec<(Key<'_>, usize)> = items
        .iter()
        .enumerate()
        .map(|(at, item)| (Key::of(&item.id), at))
        .collect();
    // Stable: of two equal ids in one page, the first enumerated is kept.
    in_key_order.sort_by(|a, b| a.0.cmp(&b.0));
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO items (job, seq, key, page, chunk, state, reason, payload, \
         updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut added = Counts::default();
    let mut inserted = vec![false; items.len()];
    for (key, at) in in_key_order {
        let item = &items[at];
        let payload = item.payload.as_ref().map(|p| p.to_string());
        let (state, reason) = match &item.settled {
            Some((state, reason)) => (*state, Some(reason.as_str())),
            None => (ItemState::Pending, None),
        };
        inserted[at] = insert.execute(params![
            job,
            seq_of(at),
            key,
            page,
            chunks[at],
            state_code(state),
            reason,
            payload,
            now
        ])? > 0;
        if inserted[at] {
            added.add(state, 1);
        }
    }
    let dropped_pending = (0..items.len()).any(|at| !inserted[at] && pending(&items[at]));
    if dropped_pending {
        *chunker = before;
        let mut set_chunk =
            tx.prepare_cached("UPDATE items SET chunk = ?3 WHERE job = ?1 AND seq = ?2")?;
        for at in (0..items.len()).filter(|&at| inserted[at] && pending(&items[at])) {
            let chunk = chunker.assign(seq_of(at));
            if chunks[at] != Some(chunk) {
                set_chunk.execute(params![job, seq_of(at), chunk])?;
            }
        }
    }
    Ok(added)
}

/// Gives pending items their chunks, in enumeration order: `chunk_size` items a chunk, each
/// chunk the range of sequence numbers from its first item to its last. The last chunk, while
/// short, stays `open` (no one takes it) for the next page to fill, until enumeration ends.
#[derive(Clone)]
struct Chunker {
    chunk_size: i64,
    /// The chunk being filled, its range so far and how many items it has.
    open: i64,
    range: Option<(i64, i64)>,
    fill: i64,
    /// Chunks filled since `open` (number, range).
    full: Vec<(i64, (i64, i64))>,
}

impl Chunker {
    /// Takes up where the job's last chunk left off: its open chunk, if it has one.
    fn open(tx: &Transaction<'_>, job_id: &str) -> Result<Self, Fault> {
        let (job, chunk_size, chunk_count): (i64, i64, i64) = tx
            .prepare_cached("SELECT number, chunk_size, chunk_count FROM jobs WHERE id = ?1")?
            .query_row([job_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let open = chunk_count + 1;
        let range: Option<(i64, i64)> = tx
            .prepare_cached(
                "SELECT first_seq, end_seq FROM chunks WHERE job = ?1 AND chunk = ?2 \
                 AND state = 'open'",
            )?
            .query_row(params![job, open], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let fill = match range {
            Some((first, end)) => tx
                .prepare_cached(
                    "SELECT COUNT(*) FROM items WHERE job = ?1 AND seq >= ?2 AND seq < ?3 \
                     AND chunk = ?4",
                )?
                .query_row(params![job, first, end, open], |r| r.get(0))?,
            None => 0,
        };
        Ok(Chunker {
            chunk_size: chunk_size.max(1),
            open,
            range,
            fill,
            full: Vec::new(),
        })
    }

    /// The chunk of the pending item `seq`.
    fn assign(&mut self, seq: i64) -> i64 {
        let chunk = self.open;
        let (first, end) = self.range.unwrap_or((seq, seq + 1));
        let range = (first.min(seq), end.max(seq + 1));
        self.fill += 1;
        if self.fill >= self.chunk_size {
            self.full.push((chunk, range));
            self.open += 1;
            self.range = None;
            self.fill = 0;
        } else {
            self.range = Some(range);
        }
        chunk
    }

    /// Writes the chunks: the full ones pending, the open one pending too when enumeration is
    /// over (`last`), else still open; and the job's count of chunks that can be taken.
    fn close(self, tx: &Transaction<'_>, job_id: &str, last: bool) -> Result<(), Fault> {
        let job = job_number(tx, job_id)?;
        let mut put = tx.prepare_cached(
            "INSERT INTO chunks (job, chunk, state, first_seq, end_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (job, chunk) DO UPDATE SET \
             state = excluded.state, first_seq = excluded.first_seq, end_seq = excluded.end_seq",
        )?;
        for (chunk, (first, end)) in &self.full {
            put.execute(params![
                job,
                chunk,
                ChunkState::Pending.as_str(),
                first,
                end
            ])?;
        }
        let mut taken = self.open - 1;
        if let Some((first, end)) = self.range {
            let state = if last {
                taken = self.open;
                ChunkState::Pending.as_str()
            } else {
                OPEN_CHUNK
            };
            put.execute(params![job, self.open, state, first, end])?;
        }
        tx.prepare_cached("UPDATE jobs SET chunk_count = ?2 WHERE id = ?1")?
            .execute(params![job_id, taken])?;
        Ok(())
    }
}

/// The state of a chunk still being filled: not a `ChunkState`, since no one takes it.
const OPEN_CHUNK: &str = "open";

/// How many sequence numbers one settling statement covers.
const SETTLE_RANGE: usize = 16_384;

/// A page read to match outcomes pays for itself when at least one row in this many is one of
/// them: reading a row in order costs a fraction of seeking one id in the key index.
const PAGE_READ_WORTH: usize = 8;

/// Outcomes to write, each matched to its item's sequence number (by the item's id).
struct Outcomes<'a> {
    outcomes: &'a [ItemOutcome],
    found: Vec<Option<Found>>,
    /// The outcomes not yet matched, by id.
    unmatched: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Outcomes<'a> {
    fn new(outcomes: &'a [ItemOutcome]) -> Self {
        let mut unmatched: HashMap<&str, Vec<usize>> = HashMap::new();
        for (at, outcome) in outcomes.iter().enumerate() {
            unmatched.entry(outcome.id.as_str()).or_default().push(at);
        }
        Outcomes {
            outcomes,
            found: vec![None; outcomes.len()],
            unmatched,
        }
    }

    /// Matches the outcomes to the items `stmt` reads (`seq, key`): one pass over a range of
    /// items where they are expected (a chunk, a page) instead of one index seek each. Returns
    /// how many rows it read and how many of them it matched.
    fn find_in(
        &mut self,
        stmt: &mut Statement<'_>,
        scan: Scan,
        params: impl Params,
    ) -> Result<(usize, usize), Fault> {
        let (mut read, mut matched) = (0, 0);
        let mut rows = stmt.query(params)?;
        while let Some(row) = rows.next()? {
            if self.unmatched.is_empty() {
                break;
            }
            let id = id_of(row.get_ref(1)?)?;
            if let Some(ats) = self.unmatched.remove(id.as_str()) {
                matched += 1;
                let seq = row.get(0)?;
                self.matched(&ats, seq, Some((scan, read)));
            }
            read += 1;
        }
        Ok((read, matched))
    }

    fn matched(&mut self, ats: &[usize], seq: i64, row: Option<(Scan, usize)>) {
        for &at in ats {
            self.found[at] = Some(Found { seq, row });
        }
    }

    /// Matches the outcomes left by their keys. While the outcomes are most of the items of
    /// the pages they are on (verification's are one page's items), the page of one names the
    /// others, read in one pass; once a page read matches few, the rest are sought one by one.
    fn find_by_key(&mut self, tx: &Transaction<'_>, job: i64) -> Result<(), Fault> {
        let mut by_key = tx.prepare_cached(
            "SELECT seq, page FROM items INDEXED BY items_key WHERE job = ?1 AND key = ?2",
        )?;
        let mut page_items = tx.prepare_cached(
            "SELECT i.seq, i.key FROM pages p JOIN items i ON i.job = p.job \
             AND i.seq >= p.first_seq AND i.seq < p.end_seq WHERE p.job = ?1 AND p.page = ?2 \
             ORDER BY i.seq",
        )?;
        let mut read_pages = true;
        while let Some(&id) = self.unmatched.keys().next() {
            let found: Option<(i64, i64)> = by_key
                .query_row(params![job, Key::of(id)], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            // An id of no item of the job has nothing to update.
            let ats = self.unmatched.remove(id).unwrap_or_default();
            let Some((seq, page)) = found else {
                continue;
            };
            self.matched(&ats, seq, None);
            if read_pages && !self.unmatched.is_empty() {
                let (read, matched) =
                    self.find_in(&mut page_items, Scan::Page(page), params![job, page])?;
                read_pages = matched * PAGE_READ_WORTH >= read;
            }
        }
        Ok(())
    }

    /// Writes every outcome into its item, in enumeration order (neighbours share pages). A
    /// run of items that were neighbours in one scan and get the same outcome (a chunk's items
    /// all sent, say) is written by one statement over their range.
    fn write(mut self, tx: &Transaction<'_>, job: i64) -> Result<(), Fault> {
        self.find_by_key(tx, job)?;
        let now = ts(Utc::now());
        const SET: &str = "UPDATE items SET state = ?4, reason = ?5, \
             http_status = COALESCE(?6, http_status), attempts = attempts + ?7, updated_at = ?8 \
             WHERE job = ?1 AND seq >= ?2 AND seq <= ?3";
        let mut one = tx.prepare_cached(SET)?;
        let mut in_chunk = tx.prepare_cached(&format!("{SET} AND chunk = ?9"))?;
        let mut in_page = tx.prepare_cached(&format!("{SET} AND page = ?9"))?;
        let mut matched: Vec<(Found, &ItemOutcome)> = self
            .found
            .iter()
            .zip(self.outcomes)
            .filter_map(|(found, outcome)| found.map(|found| (found, outcome)))
            .collect();
        // Stable: outcomes for one item are written in the order given.
        matched.sort_by_key(|(found, _)| found.seq);
        let mut at = 0;
        while at < matched.len() {
            let (first, o) = matched[at];
            let mut end = at + 1;
            while end < matched.len()
                && first.neighbours(&matched[end - 1].0, &matched[end].0)
                && same_outcome(o, matched[end].1)
            {
                end += 1;
            }
            let last = matched[end - 1].0.seq;
            let (state, status, attempts) = (
                state_code(o.state),
                o.http_status.map(i64::from),
                i64::from(o.attempts),
            );
            let set: [&dyn ToSql; 8] = [
                &job, &first.seq, &last, &state, &o.reason, &status, &attempts, &now,
            ];
            let scan = first.row.map(|(scan, _)| scan).filter(|_| end > at + 1);
            match scan {
                Some(Scan::Chunk(chunk)) => {
                    in_chunk.execute(&[&set[..], &[&chunk]].concat()[..])?
                }
                Some(Scan::Page(page)) => in_page.execute(&[&set[..], &[&page]].concat()[..])?,
                None => one.execute(&set[..])?,
            };
            at = end;
        }
        Ok(())
    }
}

/// Where an outcome's item was found: in a scan of a chunk's or a page's items, at a row of it,
/// or (`row` empty) by its key alone.
#[derive(Debug, Clone, Copy)]
struct Found {
    seq: i64,
    row: Option<(Scan, usize)>,
}

impl Found {
    /// Whether `next` came right after `previous` in the scan that found `self`: then the range
    /// from one to the other, within that scan's chunk or page, holds no other item.
    fn neighbours(&self, previous: &Found, next: &Found) -> bool {
        match (self.row, previous.row, next.row) {
            (Some((scan, _)), Some((scan_p, at_p)), Some((scan_n, at_n))) => {
                scan == scan_p && scan == scan_n && at_n == at_p + 1
            }
            _ => false,
        }
    }
}

/// A scan that matched outcomes to items: the chunk's items (the chunk column tells them from
/// others in its range), or the page's (all the items in its range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    Chunk(i64),
    Page(i64),
}

fn same_outcome(a: &ItemOutcome, b: &ItemOutcome) -> bool {
    (a.state, &a.reason, a.http_status, a.attempts)
        == (b.state, &b.reason, b.http_status, b.attempts)
}

fn mark_chunk(
    tx: &Transaction<'_>,
    job_id: &str,
    chunk: i64,
    state: ChunkState,
) -> Result<(), Fault> {
    let job = job_number(tx, job_id)?;
    tx.prepare_cached("UPDATE chunks SET state = ?3 WHERE job = ?1 AND chunk = ?2")?
        .execute(params![job, chunk, state.as_str()])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dispatching a chunk must read only its range of items: a scan of the job's items, once
    /// per chunk, is quadratic in the job's size. So must matching a chunk's outcomes.
    #[test]
    fn chunk_lookups_read_the_chunks_range_of_items() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        for query in [CHUNK_ITEMS, CHUNK_KEYS] {
            let plan: Vec<String> = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
                .unwrap()
                .query_map(params![1, 1], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter()
                    .any(|step| step
                        .contains("SEARCH i USING PRIMARY KEY (job=? AND seq>? AND seq<?)")),
                "{plan:?}"
            );
        }
    }

    /// A running job as `begin_job` writes it, with a spec no one reads: enough for the work.
    fn bare_job(store: &Store, chunk_size: i64) -> &'static str {
        store
            .conn
            .execute(
                "INSERT INTO jobs (id, identity, spec, since, until, state, chunk_size, \
                 created_at, started_by, number) \
                 VALUES ('j', 'i', '{}', '', '', 'running', ?1, '', 't', 1)",
                [chunk_size],
            )
            .unwrap();
        "j"
    }

    fn page(ids: &[&str], last: bool) -> PageCommit {
        PageCommit {
            items: ids.iter().map(|id| NewItem::new(*id)).collect(),
            next_cursor: (!last).then(|| "more".to_string()),
            page_scope: None,
        }
    }

    fn outcome(id: &str, state: ItemState) -> ItemOutcome {
        ItemOutcome {
            id: id.into(),
            state,
            reason: None,
            http_status: None,
            attempts: 1,
        }
    }

    fn ids(items: &[Item]) -> Vec<&str> {
        items.iter().map(|item| item.id.as_str()).collect()
    }

    #[test]
    fn ids_come_back_as_written_and_an_id_seen_before_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let job = bare_job(&store, 2);
        let uuid = "0b5c8ad2-4f6e-4c3a-9d2e-1a2b3c4d5e6f";
        // Not in canonical form, so kept as text: a different id from `uuid`.
        let upper = "0B5C8AD2-4F6E-4C3A-9D2E-1A2B3C4D5E6F";
        let other = "7f000000-0000-4000-8000-000000000001";
        let first = store
            .commit_page(job, page(&[uuid, upper, "nightly", uuid], false))
            .unwrap();
        assert_eq!((first.total, first.pending), (3, 3), "{first:?}");
        let second = store
            .commit_page(job, page(&["nightly", other], true))
            .unwrap();
        assert_eq!((second.total, second.pending), (1, 1), "{second:?}");

        assert_eq!(store.pending_chunks(job, 0, 10).unwrap(), [1, 2]);
        assert_eq!(ids(&store.chunk_items(job, 1).unwrap()), [uuid, upper]);
        assert_eq!(ids(&store.chunk_items(job, 2).unwrap()), ["nightly", other]);

        let sent = [
            outcome(upper, ItemState::Sent),
            outcome(uuid, ItemState::Sent),
        ];
        store.finish_chunk(job, 1, &sent).unwrap();
        assert!(store.chunk_items(job, 1).unwrap().is_empty());
        let settled = [
            outcome(other, ItemState::Failed),
            outcome("nightly", ItemState::Done),
            outcome("no such item", ItemState::Done),
        ];
        store.record_outcomes(job, &settled).unwrap();
        let counts = store.counts(job).unwrap();
        assert_eq!(
            (counts.total, counts.sent, counts.done, counts.failed),
            (4, 2, 1, 1),
            "{counts:?}"
        );
        let pages = store.pages_with(job, ItemState::Sent).unwrap();
        assert_eq!(pages.iter().map(|(page, _)| *page).collect::<Vec<_>>(), [0]);
        let on_page = store.page_items(job, 0, ItemState::Sent).unwrap();
        assert_eq!(ids(&on_page), [uuid, upper]);
        assert!(on_page.iter().all(|item| item.attempts == 1));
    }

    #[test]
    fn outcomes_spread_thin_over_pages_are_each_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let job = bare_job(&store, 100);
        let pages: Vec<Vec<String>> = (0..2)
            .map(|p| (0..20).map(|i| format!("run-{p}-{i}")).collect())
            .collect();
        for (at, ids) in pages.iter().enumerate() {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            store.commit_page(job, page(&ids, at == 1)).unwrap();
        }
        let outcomes = [
            outcome(&pages[0][3], ItemState::Done),
            outcome(&pages[1][5], ItemState::Failed),
            outcome(&pages[1][7], ItemState::Skipped),
        ];
        store.record_outcomes(job, &outcomes).unwrap();
        let counts = store.counts(job).unwrap();
        assert_eq!(
            (counts.pending, counts.done, counts.failed, counts.skipped),
            (37, 1, 1, 1),
            "{counts:?}"
        );
        let left = ids(&store.chunk_items(job, 1).unwrap()).len();
        assert_eq!(left, 37, "the chunk keeps only the items with no outcome");
    }

    /// A schema-2 store mid-enumeration has a short tail of items with no chunk: migrated, the
    /// tail is the open chunk that the next page fills, and the chunks taken before keep theirs.
    #[test]
    fn a_schema_2_store_mid_enumeration_keeps_its_chunks_and_fills_its_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path).unwrap();
        let job = bare_job(&store, 2);
        store
            .commit_page(job, page(&["a", "b", "c"], false))
            .unwrap();
        store
            .finish_chunk(job, 1, &[outcome("a", ItemState::Sent)])
            .unwrap();
        drop(store);
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "UPDATE items SET chunk = NULL WHERE chunk = 2;
                 DELETE FROM chunks WHERE state = 'open';
                 ALTER TABLE chunks DROP COLUMN first_seq;
                 ALTER TABLE chunks DROP COLUMN end_seq;
                 CREATE INDEX items_by_chunk ON items(job, chunk, seq);
                 CREATE INDEX items_by_state ON items(job, state, seq);
                 PRAGMA user_version = 2;",
            )
            .unwrap();
        let mut store = Store::open(&path).unwrap();
        let version: i32 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(store.pending_chunks(job, 0, 10).unwrap(), Vec::<i64>::new());
        store.commit_page(job, page(&["d", "e"], true)).unwrap();
        assert_eq!(store.pending_chunks(job, 0, 10).unwrap(), [2, 3]);
        assert_eq!(ids(&store.chunk_items(job, 1).unwrap()), ["b"]);
        assert_eq!(ids(&store.chunk_items(job, 2).unwrap()), ["c", "d"]);
        assert_eq!(ids(&store.chunk_items(job, 3).unwrap()), ["e"]);
    }

    /// A chunk's outcomes are written over its range in one statement when they are the same:
    /// an item in that range that is not the chunk's (settled at its insert) keeps its own.
    #[test]
    fn a_chunks_outcomes_written_over_its_range_leave_other_items_in_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let job = bare_job(&store, 3);
        let mut items = page(&["a", "b", "c"], true);
        items.items.insert(
            1,
            NewItem {
                id: "settled".into(),
                payload: None,
                settled: Some((ItemState::Skipped, "defined in code".into())),
            },
        );
        store.commit_page(job, items).unwrap();
        assert_eq!(ids(&store.chunk_items(job, 1).unwrap()), ["a", "b", "c"]);
        let sent = ["c", "a", "b"].map(|id| outcome(id, ItemState::Sent));
        store.finish_chunk(job, 1, &sent).unwrap();
        let counts = store.counts(job).unwrap();
        assert_eq!((counts.sent, counts.skipped), (3, 1), "{counts:?}");
        let skipped = store.page_items(job, 0, ItemState::Skipped).unwrap();
        assert_eq!((ids(&skipped), skipped[0].attempts), (vec!["settled"], 0));
    }

    #[test]
    fn a_new_state_file_has_16_kib_pages() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let page_size: i64 = store
            .conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(page_size, PAGE_SIZE);
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
