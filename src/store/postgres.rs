//! The `Store` trait on PostgreSQL, for a state that outlives a pod and is shared by processes on
//! several hosts. Semantics are the SQLite store's; what sharing adds is each chunk's lease:
//! `take_chunks` takes chunks with `FOR UPDATE SKIP LOCKED` and marks them held by this store's
//! holder until `lease_until` (renewed by `heartbeat`), so two processes never take the same
//! chunk, and a holder whose lease ran out and whose chunk another process took cannot finish it
//! (`StoreError::ChunkTaken`). The schema is versioned and its migrations are embedded.

mod fault;

use super::Place;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::ops::ControlFlow;
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::config::SslMode;
use postgres::{Client, GenericClient, NoTls, Row, Transaction};

use self::fault::Fault;
use super::lease::LEASE_TIMEOUT;
use super::{
    Arrived, Begun, ChunkState, Completion, Counts, Item, ItemOutcome, ItemState, JobControl,
    JobRecord, JobState, Lease, NewJob, PageCommit, ReportRow, Sharing, Store, StoreError,
    TakenChunk,
};
use crate::job::{JobSpec, Window};

/// The schema, one migration per version, applied in order; `bulkops_schema` records the
/// versions applied. A database of a later version is refused: this bulkops would misread it.
const MIGRATIONS: [&str; 5] = [
    include_str!("postgres/migrations/0001_store.sql"),
    include_str!("postgres/migrations/0002_replicas.sql"),
    include_str!("postgres/migrations/0003_replicas_once.sql"),
    include_str!("postgres/migrations/0004_job_concurrency.sql"),
    include_str!("postgres/migrations/0005_arrivals.sql"),
];

/// Classes of the advisory locks that serialise what a unique index cannot: migrating, creating
/// a job (its id counts the identity's jobs), keeping a manifest once, counting arrivals.
const MIGRATION_LOCK: i32 = 0x626b_0001;
const JOB_CREATION_LOCK: i32 = 0x626b_0002;
const MANIFEST_LOCK: i32 = 0x626b_0003;
const ARRIVAL_LOCK: i32 = 0x626b_0004;

/// How long a chunk stays with its holder without a heartbeat: as long as a job's lease.
const CHUNK_LEASE_SECONDS: f64 = LEASE_TIMEOUT.num_seconds() as f64;

/// How long a call waits for a lock another process holds (a row, an advisory lock) before it
/// fails, as the SQLite store waits for the file's lock.
const LOCK_TIMEOUT: &str = "SET lock_timeout = '30s'";

/// How long opening waits for the server before giving up, when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often one call is run again on a new connection before the store gives up.
const RERUNS_AFTER_A_LOSS: usize = 5;

/// The first and the longest pause between attempts to connect again.
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_LONGEST: Duration = Duration::from_secs(2);

/// Report rows read per query: a report streams without loading the whole job.
const REPORT_BATCH: i32 = 1000;

const JOB_COLUMNS: &str = "id, identity, name, spec, since, until, state, cursor, enumerated, \
     chunk_size, created_at, finished_at, started_by, reason, rate, resend_rounds, concurrency";

const ITEM_COLUMNS: &str = "seq, id, page, payload, attempts";

/// A chunk another holder may still be sending is left alone until its lease passes.
const FREE_FOR_ME: &str = "(owner IS NULL OR owner = $2 OR lease_until < now())";

pub struct PgStore {
    client: RefCell<Connection>,
    /// How to connect again when the connection is lost (a server restart, a terminated
    /// backend).
    config: postgres::Config,
    /// Since when the connection is lost and not made again: reconnecting is given up after
    /// `LEASE_TIMEOUT`, when other replicas count this one as gone.
    lost_since: std::cell::Cell<Option<std::time::Instant>>,
    /// The URL without its password: what errors name.
    place: Place,
    /// Who this store takes chunks as: the process, as a job's lease names it.
    holder: String,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("place", &self.place)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

/// The client, closed off the async runtime as it is used off it (see `off_the_runtime`).
struct Connection(Option<Client>);

impl Connection {
    fn client(&mut self) -> &mut Client {
        self.0
            .as_mut()
            .expect("the client is taken out only when the store is dropped")
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let client = self.0.take();
        off_the_runtime(move || drop(client));
    }
}

/// Runs `work`, which may block on the client library. The library drives its connection on a
/// runtime of its own, which cannot run on a thread that is driving another (the CLI calls its
/// store from inside its async runtime): there `work` runs on a thread of its own meanwhile.
fn off_the_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    std::thread::scope(|scope| match scope.spawn(work).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// `url` without its password (in the authority or a `password` parameter), to be shown.
pub fn without_password(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "a PostgreSQL URL that cannot be read".into();
    };
    if parsed.password().is_some() {
        // Only URLs that cannot have a password refuse this, and this one had one.
        let _ = parsed.set_password(None);
    }
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(key, _)| key != "password")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    if parsed.query_pairs().count() != kept.len() {
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    parsed.to_string()
}

impl PgStore {
    /// Connects to the database `url` names (`postgres://user:password@host:port/db`) and brings
    /// its schema (the first of the URL's `search_path`) up to date; `holder` names this process
    /// in chunk leases, as `this_process()` names it in job leases.
    pub fn open(url: &str, holder: &str) -> Result<Self, StoreError> {
        let place = Place::Database(without_password(url));
        let mut config: postgres::Config = url.parse().map_err(|e| StoreError::Unusable {
            place: place.clone(),
            problem: format!("is not a PostgreSQL URL this bulkops can use ({e})"),
        })?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(StoreError::Unusable {
                place,
                problem: "asks for TLS (sslmode=require), which this bulkops does not speak to \
                          PostgreSQL: use sslmode=disable or sslmode=prefer on a trusted network"
                    .into(),
            });
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("bulkops");
        }
        let client = connect(&config).map_err(|e| match e {
            Fault::Pg(e) => StoreError::Inaccessible {
                place: place.clone(),
                reason: fault::told(&e),
            },
            fault => fault.at(&place),
        })?;
        Ok(PgStore {
            client: RefCell::new(Connection(Some(client))),
            config,
            lost_since: std::cell::Cell::new(None),
            place,
            holder: holder.to_string(),
        })
    }

    /// Runs `op` on the connection and puts its failure in terms of the store. A connection
    /// found lost is made again (`reconnect`) and `op` run again: every `op` given here is one
    /// statement that sets what it sets (run twice, it leaves the same), or a transaction that
    /// did not reach its commit, which the server rolled back with the connection.
    fn with<T: Send>(
        &self,
        mut op: impl FnMut(&mut Client) -> Result<T, Fault> + Send,
    ) -> Result<T, StoreError> {
        let mut connection = self.client.borrow_mut();
        let mut lost = false;
        for _ in 0..RERUNS_AFTER_A_LOSS {
            if lost || connection.client().is_closed() {
                self.reconnect(&mut connection)?;
            }
            let client = connection.client();
            match off_the_runtime(|| op(&mut *client)) {
                // A commit whose answer was lost may have committed: never run again.
                Err(Fault::Pg(e)) if fault::lost_connection(&e) || client.is_closed() => {
                    tracing::warn!(
                        "the connection to the PostgreSQL state was lost ({}): connecting again",
                        fault::told(&e)
                    );
                    lost = true;
                }
                done => return done.map_err(|fault| fault.at(&self.place)),
            }
        }
        Err(StoreError::Failed {
            place: self.place.clone(),
            reason: format!(
                "the connection was lost {RERUNS_AFTER_A_LOSS} times in a row during one call"
            ),
        })
    }

    /// `with`, in one transaction committed when `op` succeeds.
    fn in_transaction<T: Send>(
        &self,
        mut op: impl FnMut(&mut Transaction<'_>) -> Result<T, Fault> + Send,
    ) -> Result<T, StoreError> {
        self.with(|client| {
            let mut tx = client.transaction()?;
            let value = op(&mut tx)?;
            tx.commit().map_err(Fault::AtCommit)?;
            Ok(value)
        })
    }

    /// Connects again with growing pauses, for as long as other replicas would still count
    /// this one as live (`LEASE_TIMEOUT` since the loss); then the store has failed, and what
    /// was committed stands (the job resumes from it).
    fn reconnect(&self, connection: &mut Connection) -> Result<(), StoreError> {
        let since = self
            .lost_since
            .get()
            .unwrap_or_else(std::time::Instant::now);
        self.lost_since.set(Some(since));
        let bound = LEASE_TIMEOUT.to_std().unwrap_or(Duration::from_secs(30));
        let mut pause = RECONNECT_FIRST;
        loop {
            match connect(&self.config) {
                Ok(client) => {
                    let old = connection.0.replace(client);
                    off_the_runtime(move || drop(old));
                    self.lost_since.set(None);
                    tracing::info!(
                        "connected to the PostgreSQL state again after {:.1}s",
                        since.elapsed().as_secs_f64()
                    );
                    return Ok(());
                }
                Err(fault) if since.elapsed() + pause >= bound => {
                    let reason = match fault {
                        Fault::Pg(e) => fault::told(&e),
                        other => return Err(other.at(&self.place)),
                    };
                    return Err(StoreError::Failed {
                        place: self.place.clone(),
                        reason: format!(
                            "the connection was lost {}s ago and could not be made again: {reason}",
                            since.elapsed().as_secs()
                        ),
                    });
                }
                Err(_) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(RECONNECT_LONGEST);
                }
            }
        }
    }

    fn fault(&self, e: postgres::Error) -> StoreError {
        Fault::from(e).at(&self.place)
    }

    fn chunk_list(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<i64>, StoreError> {
        self.with(|client| column(client.query(sql, params)?))
    }
}

/// A new connection, readied.
fn connect(config: &postgres::Config) -> Result<Client, Fault> {
    let mut client = off_the_runtime(|| config.connect(NoTls))?;
    off_the_runtime(|| ready(&mut client))?;
    Ok(client)
}

/// Readies a new connection: its lock timeout, and the schema brought up to date.
fn ready(client: &mut Client) -> Result<(), Fault> {
    client.batch_execute(LOCK_TIMEOUT)?;
    migrate(client)
}

fn migrate(client: &mut Client) -> Result<(), Fault> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&MIGRATION_LOCK])?;
    // In the schema the store lives in, not in one later on the search path.
    let versioned: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() \
             AND tablename = 'bulkops_schema')",
            &[],
        )?
        .try_get(0)?;
    if !versioned {
        let tables: Vec<String> = column(tx.query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
             ORDER BY tablename",
            &[],
        )?)?;
        if !tables.is_empty() {
            return Err(Fault::NotOurs(format!(
                "is another program's database (tables: {})",
                tables.join(", ")
            )));
        }
        tx.batch_execute(
            "CREATE TABLE bulkops_schema (version INTEGER PRIMARY KEY, \
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )?;
    }
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM bulkops_schema", &[])?
        .try_get(0)?;
    let known = MIGRATIONS.len() as i32;
    if current > known {
        return Err(Fault::NotOurs(format!(
            "was written by a newer bulkops (schema {current}; this one knows up to {known})"
        )));
    }
    for (version, sql) in (1..).zip(MIGRATIONS).skip(current as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO bulkops_schema (version) VALUES ($1)",
            &[&version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

fn column<T: for<'a> postgres::types::FromSql<'a>>(rows: Vec<Row>) -> Result<Vec<T>, Fault> {
    rows.iter()
        .map(|row| row.try_get(0).map_err(Fault::from))
        .collect()
}

/// Times as the SQLite store writes them in reports.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Fault> {
    serde_json::from_str(text).map_err(|e| Fault::Damaged(e.to_string()))
}

fn job_from_row(row: &Row) -> Result<JobRecord, Fault> {
    let spec: String = row.try_get(3)?;
    let spec: JobSpec = parse_json(&spec)?;
    let state: String = row.try_get(6)?;
    let chunk_size: i64 = row.try_get(9)?;
    let resend_rounds: i32 = row.try_get(15)?;
    let concurrency: Option<i32> = row.try_get(16)?;
    Ok(JobRecord {
        id: row.try_get(0)?,
        identity: row.try_get(1)?,
        name: row.try_get(2)?,
        spec,
        window: Window {
            since: row.try_get(4)?,
            until: row.try_get(5)?,
        },
        state: state.parse().map_err(Fault::Damaged)?,
        cursor: row.try_get(7)?,
        enumerated: row.try_get(8)?,
        chunk_size: usize::try_from(chunk_size).unwrap_or(1).max(1),
        created_at: row.try_get(10)?,
        finished_at: row.try_get(11)?,
        started_by: row.try_get(12)?,
        reason: row.try_get(13)?,
        rate: row.try_get(14)?,
        resend_rounds: u32::try_from(resend_rounds).unwrap_or(0),
        concurrency: concurrency.and_then(|n| usize::try_from(n).ok()),
    })
}

fn jobs_from_rows(rows: Vec<Row>) -> Result<Vec<JobRecord>, Fault> {
    rows.iter().map(job_from_row).collect()
}

fn item_from_row(row: &Row) -> Result<Item, Fault> {
    let payload: Option<String> = row.try_get(3)?;
    let attempts: i32 = row.try_get(4)?;
    Ok(Item {
        seq: row.try_get(0)?,
        id: row.try_get(1)?,
        page: row.try_get(2)?,
        payload: payload.as_deref().map(parse_json).transpose()?,
        attempts: u32::try_from(attempts).unwrap_or(0),
    })
}

fn items_from_rows(rows: Vec<Row>) -> Result<Vec<Item>, Fault> {
    rows.iter().map(item_from_row).collect()
}

fn latest_job(
    client: &mut impl GenericClient,
    identity: &str,
    state: &str,
) -> Result<Option<JobRecord>, Fault> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE identity = $1 AND {state} \
         ORDER BY created_at DESC, created_seq DESC LIMIT 1"
    );
    client
        .query_opt(&sql, &[&identity])?
        .as_ref()
        .map(job_from_row)
        .transpose()
}

/// Who holds job `id`, if anyone; with `lock`, the job row stays locked until the transaction
/// ends.
fn read_lease(
    client: &mut impl GenericClient,
    id: &str,
    lock: bool,
) -> Result<Option<Lease>, Fault> {
    let sql = format!(
        "SELECT owner, heartbeat FROM jobs WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = client.query_one(&sql, &[&id])?;
    let owner: Option<String> = row.try_get(0)?;
    let heartbeat: Option<DateTime<Utc>> = row.try_get(1)?;
    Ok(owner.zip(heartbeat).map(|(owner, heartbeat)| Lease {
        job: id.to_string(),
        owner,
        heartbeat,
    }))
}

/// Takes job `id` for `owner` inside `tx`, unless another holder may still be running it. The
/// chunks a holder that is gone still held are free again at once: nobody sends them.
fn take_lease(
    tx: &mut Transaction<'_>,
    id: &str,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Lease>, Fault> {
    if let Some(lease) = read_lease(tx, id, true)? {
        if lease.owner != owner {
            if lease.is_held(now) {
                return Ok(Err(lease));
            }
            forget_replica(tx, id, &lease.owner)?;
        }
    }
    tx.execute(
        "UPDATE jobs SET owner = $2, heartbeat = $3 WHERE id = $1",
        &[&id, &owner, &now],
    )?;
    register_replica(tx, id, owner, now)?;
    Ok(Ok(()))
}

/// `owner` runs job `id` (or still does: its heartbeat).
fn register_replica(
    tx: &mut Transaction<'_>,
    id: &str,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<(), Fault> {
    tx.execute(
        "INSERT INTO replicas (job_id, owner, heartbeat) VALUES ($1, $2, $3) \
         ON CONFLICT (job_id, owner) DO UPDATE SET heartbeat = EXCLUDED.heartbeat",
        &[&id, &owner, &now],
    )?;
    // Counted as a replica from now on, and no longer once it leaves the job.
    tx.execute(
        "DELETE FROM arrivals WHERE owner = $2 \
         AND identity = (SELECT identity FROM jobs WHERE id = $1)",
        &[&id, &owner],
    )?;
    Ok(())
}

/// Rows of `owner, heartbeat` as the leases of processes on `job` (a job's id, or an identity
/// for arrivals).
fn leases_of(rows: &[Row], job: &str) -> Result<Vec<Lease>, Fault> {
    rows.iter()
        .map(|row| {
            Ok(Lease {
                job: job.to_string(),
                owner: row.try_get(0)?,
                heartbeat: row.try_get(1)?,
            })
        })
        .collect()
}

/// The owners of the live arrivals at `identity`; those that are gone are swept out.
fn live_arrivals(
    tx: &mut Transaction<'_>,
    identity: &str,
    now: DateTime<Utc>,
) -> Result<BTreeSet<String>, Fault> {
    let rows = tx.query(
        "SELECT owner, heartbeat FROM arrivals WHERE identity = $1",
        &[&identity],
    )?;
    let mut live = BTreeSet::new();
    for arrival in leases_of(&rows, identity)? {
        if arrival.is_arriving(now) {
            live.insert(arrival.owner);
        } else {
            tx.execute(
                "DELETE FROM arrivals WHERE identity = $1 AND owner = $2",
                &[&identity, &arrival.owner],
            )?;
        }
    }
    Ok(live)
}

/// `owner` no longer runs job `id`: its row goes, and its chunks are free (one it marked
/// `sending` is in doubt for whoever reconciles it).
fn forget_replica(tx: &mut Transaction<'_>, id: &str, owner: &str) -> Result<(), Fault> {
    tx.execute(
        "DELETE FROM replicas WHERE job_id = $1 AND owner = $2",
        &[&id, &owner],
    )?;
    tx.execute(
        "UPDATE chunks SET owner = NULL, lease_until = NULL WHERE job_id = $1 AND owner = $2",
        &[&id, &owner],
    )?;
    Ok(())
}

/// Inserts a new running job held by `owner`; its id is its name (or identity) and a number.
fn insert_job(
    tx: &mut Transaction<'_>,
    new: &NewJob,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<String, Fault> {
    let prefix = new.name.clone().unwrap_or_else(|| new.identity.clone());
    let previous: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM jobs WHERE identity = $1",
            &[&new.identity],
        )?
        .try_get(0)?;
    let id = format!("{prefix}-{}", previous + 1);
    let spec = serde_json::to_string(&new.spec).map_err(|e| Fault::Damaged(e.to_string()))?;
    tx.execute(
        "INSERT INTO jobs (id, identity, name, spec, since, until, state, cursor, chunk_size, \
         created_at, started_by, reason, owner, heartbeat, concurrency) \
         VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9, $10, $11, $12, $9, $13)",
        &[
            &id,
            &new.identity,
            &new.name,
            &spec,
            &new.window.since,
            &new.window.until,
            &new.cursor,
            &(new.chunk_size as i64),
            &now,
            &new.started_by,
            &new.reason,
            &owner,
            &i32::try_from(new.concurrency).unwrap_or(i32::MAX),
        ],
    )?;
    Ok(id)
}

/// One outcome per item, as writing them one after another leaves it (an `UPDATE … FROM`
/// touches a row once): the last state and reason, the last status that came, attempts added up.
fn merged(outcomes: &[ItemOutcome]) -> Vec<ItemOutcome> {
    let mut slot: HashMap<&str, usize> = HashMap::new();
    let mut merged: Vec<ItemOutcome> = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        match slot.get(o.id.as_str()) {
            Some(&i) => {
                let m = &mut merged[i];
                m.state = o.state;
                m.reason.clone_from(&o.reason);
                m.http_status = o.http_status.or(m.http_status);
                m.attempts = m.attempts.saturating_add(o.attempts);
            }
            None => {
                slot.insert(&o.id, merged.len());
                merged.push(o.clone());
            }
        }
    }
    merged
}

/// Writes outcomes in one statement; an item's attempts add up, its status stays when none came.
fn write_outcomes(
    tx: &mut Transaction<'_>,
    job_id: &str,
    outcomes: &[ItemOutcome],
) -> Result<(), Fault> {
    let outcomes = merged(outcomes);
    let ids: Vec<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
    let states: Vec<&str> = outcomes.iter().map(|o| o.state.as_str()).collect();
    let reasons: Vec<Option<&str>> = outcomes.iter().map(|o| o.reason.as_deref()).collect();
    let statuses: Vec<Option<i32>> = outcomes
        .iter()
        .map(|o| o.http_status.map(i32::from))
        .collect();
    let attempts: Vec<i64> = outcomes.iter().map(|o| i64::from(o.attempts)).collect();
    tx.execute(
        "UPDATE items SET state = o.state, reason = o.reason, \
         http_status = COALESCE(o.status, items.http_status), \
         attempts = items.attempts + o.attempts, updated_at = $2 \
         FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[]) \
              AS o(id, state, reason, status, attempts) \
         WHERE items.job_id = $1 AND items.id = o.id",
        &[
            &job_id,
            &Utc::now(),
            &ids,
            &states,
            &reasons,
            &statuses,
            &attempts,
        ],
    )?;
    Ok(())
}

/// Groups not-yet-chunked pending items into chunks of `chunk_size`, in enumeration order.
/// A short tail is chunked only once enumeration is complete.
fn assign_chunks(
    tx: &mut Transaction<'_>,
    job_id: &str,
    chunk_size: i64,
    final_page: bool,
) -> Result<(), Fault> {
    let size = chunk_size.max(1) as usize;
    let mut next_chunk: i64 = tx
        .query_one("SELECT chunk_count FROM jobs WHERE id = $1", &[&job_id])?
        .try_get(0)?;
    let unassigned: Vec<i64> = column(tx.query(
        "SELECT seq FROM items WHERE job_id = $1 AND chunk IS NULL AND state = 'pending' \
         ORDER BY seq",
        &[&job_id],
    )?)?;
    let (mut seqs, mut chunk_of, mut chunks) = (Vec::new(), Vec::new(), Vec::new());
    for group in unassigned.chunks(size) {
        if group.len() < size && !final_page {
            break;
        }
        next_chunk += 1;
        chunks.push(next_chunk);
        seqs.extend_from_slice(group);
        chunk_of.extend(std::iter::repeat_n(next_chunk, group.len()));
    }
    tx.execute(
        "INSERT INTO chunks (job_id, chunk, state) \
         SELECT $1, c, 'pending' FROM unnest($2::bigint[]) AS c",
        &[&job_id, &chunks],
    )?;
    tx.execute(
        "UPDATE items SET chunk = n.chunk FROM unnest($2::bigint[], $3::bigint[]) AS n(seq, chunk) \
         WHERE items.job_id = $1 AND items.seq = n.seq",
        &[&job_id, &seqs, &chunk_of],
    )?;
    tx.execute(
        "UPDATE jobs SET chunk_count = $2 WHERE id = $1",
        &[&job_id, &next_chunk],
    )?;
    Ok(())
}

impl Store for PgStore {
    /// The server connection is what this store has open: it must still be there, or be made
    /// again.
    fn check_in_place(&self) -> Result<(), StoreError> {
        let mut connection = self.client.borrow_mut();
        if connection.client().is_closed() {
            self.reconnect(&mut connection)?;
        }
        Ok(())
    }

    /// Creates or resumes the job and takes it, in one transaction under the job-creation
    /// lock: two processes started at the same instant get one job, the second the lease.
    fn begin_job(
        &mut self,
        new: NewJob,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<Begun, Lease>, StoreError> {
        self.in_transaction(|tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&JOB_CREATION_LOCK])?;
            let open = tx.query_opt(
                "SELECT id FROM jobs WHERE identity = $1 AND state IN ('running', 'paused')",
                &[&new.identity],
            )?;
            match open {
                Some(row) => {
                    let id: String = row.try_get(0)?;
                    Ok(take_lease(tx, &id, owner, now)?.map(|()| Begun::Resumed(id)))
                }
                None => {
                    let id = insert_job(tx, &new, owner, now)?;
                    register_replica(tx, &id, owner, now)?;
                    Ok(Ok(Begun::Created(id)))
                }
            }
        })
    }

    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        self.with(|client| {
            let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
            client
                .query_opt(&sql, &[&id])?
                .as_ref()
                .map(job_from_row)
                .transpose()
        })
    }

    fn open_job(&self, identity: &str) -> Result<Option<JobRecord>, StoreError> {
        self.with(|client| latest_job(client, identity, "state IN ('running', 'paused')"))
    }

    fn finished_job(&self, identity: &str) -> Result<Option<JobRecord>, StoreError> {
        self.with(|client| latest_job(client, identity, "state = 'finished'"))
    }

    fn jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.with(|client| {
            let sql = format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY created_at, created_seq");
            jobs_from_rows(client.query(&sql, &[])?)
        })
    }

    fn job_control(&self, id: &str) -> Result<JobControl, StoreError> {
        self.with(|client| {
            let row = client.query_one(
                "SELECT state, rate, concurrency FROM jobs WHERE id = $1",
                &[&id],
            )?;
            let state: String = row.try_get(0)?;
            let concurrency: Option<i32> = row.try_get(2)?;
            Ok(JobControl {
                state: state.parse().map_err(Fault::Damaged)?,
                rate: row.try_get(1)?,
                concurrency: concurrency.and_then(|n| usize::try_from(n).ok()),
            })
        })
    }

    fn set_job_state(
        &mut self,
        id: &str,
        state: JobState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let finished = (!state.is_open()).then_some(now);
        self.with(|client| {
            client.execute(
                "UPDATE jobs SET state = $2, finished_at = $3 WHERE id = $1",
                &[&id, &state.as_str(), &finished],
            )?;
            Ok(())
        })
    }

    fn set_job_rate(&mut self, id: &str, rate: f64) -> Result<(), StoreError> {
        self.with(|client| {
            client.execute("UPDATE jobs SET rate = $2 WHERE id = $1", &[&id, &rate])?;
            Ok(())
        })
    }

    fn set_job_concurrency(&mut self, id: &str, concurrency: usize) -> Result<(), StoreError> {
        let concurrency = i32::try_from(concurrency).unwrap_or(i32::MAX);
        self.with(|client| {
            client.execute(
                "UPDATE jobs SET concurrency = $2 WHERE id = $1",
                &[&id, &concurrency],
            )?;
            Ok(())
        })
    }

    fn claim_job(
        &mut self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Lease>, StoreError> {
        self.in_transaction(|tx| take_lease(tx, id, owner, now))
    }

    /// Renews the job's lease if `owner` holds it, `owner`'s row as a replica, and with them the
    /// leases of the chunks this store holds; `false` once another process took the job over or
    /// swept this replica out as gone.
    fn heartbeat(&mut self, id: &str, owner: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let holder = self.holder.clone();
        self.in_transaction(|tx| {
            let holds = tx.execute(
                "UPDATE jobs SET heartbeat = $3 WHERE id = $1 AND owner = $2",
                &[&id, &owner, &now],
            )? == 1;
            let replica = tx.execute(
                "UPDATE replicas SET heartbeat = $3 WHERE job_id = $1 AND owner = $2",
                &[&id, &owner, &now],
            )? == 1;
            let renewed = holds || replica;
            if renewed {
                tx.execute(
                    "UPDATE chunks SET lease_until = now() + make_interval(secs => $3) \
                     WHERE job_id = $1 AND owner = $2",
                    &[&id, &holder, &CHUNK_LEASE_SECONDS],
                )?;
            }
            Ok(renewed)
        })
    }

    /// Lets the job go, and the chunks this store holds: whatever it marked sending is then in
    /// doubt for the next holder.
    fn release_job(&mut self, id: &str, owner: &str) -> Result<(), StoreError> {
        let holder = self.holder.clone();
        self.in_transaction(|tx| {
            tx.execute(
                "UPDATE jobs SET owner = NULL, heartbeat = NULL WHERE id = $1 AND owner = $2",
                &[&id, &owner],
            )?;
            forget_replica(tx, id, owner)?;
            tx.execute(
                "UPDATE chunks SET owner = NULL, lease_until = NULL \
                 WHERE job_id = $1 AND owner = $2",
                &[&id, &holder],
            )?;
            Ok(())
        })
    }

    fn shares_jobs(&self) -> bool {
        true
    }

    /// Joins as one more replica; takes the job's lease instead when its holder is gone.
    fn join_job(&mut self, id: &str, owner: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.in_transaction(|tx| {
            if take_lease(tx, id, owner, now)?.is_err() {
                register_replica(tx, id, owner, now)?;
            }
            Ok(true)
        })
    }

    /// Under a lock of its own, so that of processes arriving at one instant each counts those
    /// before it: exactly one finds nobody else.
    fn arrive(
        &mut self,
        identity: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Arrived, StoreError> {
        self.in_transaction(|tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&ARRIVAL_LOCK])?;
            let mut present = live_arrivals(tx, identity, now)?;
            let counted = present.remove(owner);
            let rows = tx.query(
                "SELECT r.owner, r.heartbeat FROM replicas r JOIN jobs j ON j.id = r.job_id \
                 WHERE j.identity = $1 AND j.state IN ('running', 'paused') AND r.owner <> $2",
                &[&identity, &owner],
            )?;
            for replica in leases_of(&rows, identity)? {
                if replica.is_held(now) {
                    present.insert(replica.owner);
                }
            }
            tx.execute(
                "INSERT INTO arrivals (identity, owner, heartbeat) VALUES ($1, $2, $3) \
                 ON CONFLICT (identity, owner) DO UPDATE SET heartbeat = EXCLUDED.heartbeat",
                &[&identity, &owner, &now],
            )?;
            Ok(Arrived {
                others: present.len(),
                counted,
            })
        })
    }

    fn depart(&mut self, identity: &str, owner: &str) -> Result<(), StoreError> {
        self.with(|client| {
            client.execute(
                "DELETE FROM arrivals WHERE identity = $1 AND owner = $2",
                &[&identity, &owner],
            )?;
            Ok(())
        })
    }

    /// In one transaction with the job row locked, so that two replicas sweeping at once agree
    /// on who is gone and on who takes the lease.
    fn share(
        &mut self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Sharing>, StoreError> {
        self.in_transaction(|tx| {
            let lease = read_lease(tx, id, true)?;
            let rows = tx.query(
                "SELECT owner, heartbeat FROM replicas WHERE job_id = $1 AND owner <> $2",
                &[&id, &owner],
            )?;
            for other in leases_of(&rows, id)? {
                if !other.is_held(now) {
                    forget_replica(tx, id, &other.owner)?;
                }
            }
            let free = lease.is_none_or(|lease| lease.owner == owner || !lease.is_held(now));
            // One swept out as gone learns it from its heartbeat; it takes nothing over.
            let registered = tx
                .query_opt(
                    "SELECT 1 FROM replicas WHERE job_id = $1 AND owner = $2",
                    &[&id, &owner],
                )?
                .is_some();
            if free && registered {
                // The holder is gone (or was never there): this replica enumerates from now on.
                let _ = take_lease(tx, id, owner, now)?;
            }
            let row = tx.query_one(
                "SELECT j.owner = $2, j.cursor, j.enumerated, j.identity \
                 FROM jobs j WHERE j.id = $1",
                &[&id, &owner],
            )?;
            let enumerator: Option<bool> = row.try_get(0)?;
            let identity: String = row.try_get(3)?;
            // Processes on their way to the job count too: they send their first requests
            // within its rate.
            let mut live = live_arrivals(tx, &identity, now)?;
            let replicas: Vec<String> =
                column(tx.query("SELECT owner FROM replicas WHERE job_id = $1", &[&id])?)?;
            live.extend(replicas);
            Ok(Some(Sharing {
                live: live.len().max(1),
                enumerator: enumerator.unwrap_or(false),
                cursor: row.try_get(1)?,
                enumerated: row.try_get(2)?,
            }))
        })
    }

    fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError> {
        self.with(|client| read_lease(client, id, false))
    }

    /// The firing's row is the claim: of two replicas firing at once, one inserts it.
    fn claim_firing(
        &mut self,
        schedule: &str,
        at: DateTime<Utc>,
        owner: &str,
    ) -> Result<bool, StoreError> {
        self.with(|client| {
            let inserted = client.execute(
                "INSERT INTO schedule_firings (schedule, fired_at, claimed_by) \
                 VALUES ($1, $2, $3) ON CONFLICT (schedule, fired_at) DO NOTHING",
                &[&schedule, &at, &owner],
            )?;
            Ok(inserted == 1)
        })
    }

    /// With the job row locked, so that of two replicas finding nothing left at once one
    /// completes the job and the other learns it.
    fn complete_job(
        &mut self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Completion, StoreError> {
        self.in_transaction(|tx| {
            let row = tx.query_one(
                "SELECT state, COALESCE(finished_by, '') FROM jobs WHERE id = $1 FOR UPDATE",
                &[&id],
            )?;
            let (state, finished_by): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            match state.parse::<JobState>().map_err(Fault::Damaged)? {
                JobState::Finished => {
                    let by = if finished_by.is_empty() {
                        "another process".to_string()
                    } else {
                        finished_by
                    };
                    return Ok(Completion::Elsewhere { by, finished: true });
                }
                // Paused or aborted from outside: the control poll stops the run.
                JobState::Running => {}
                _ => return Ok(Completion::Open),
            }
            let row = tx.query_one(
                "SELECT EXISTS (SELECT 1 FROM items WHERE job_id = $1 \
                    AND state IN ('pending', 'sent')), \
                 EXISTS (SELECT 1 FROM items i JOIN chunks c \
                    ON c.job_id = i.job_id AND c.chunk = i.chunk \
                    WHERE i.job_id = $1 AND i.state = 'sent' AND c.sent_by = $2)",
                &[&id, &owner],
            )?;
            let (open, own_sent): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
            if own_sent {
                return Ok(Completion::Open);
            }
            // A live holder is the one the replicas whose part ended were told finishes the job:
            // it completes it at its next look, whoever settles the last items.
            let holder = read_lease(tx, id, false)?.filter(|l| l.owner != owner && l.is_held(now));
            if let Some(lease) = holder {
                return Ok(Completion::Elsewhere {
                    by: lease.owner,
                    finished: false,
                });
            }
            if !open {
                tx.execute(
                    "UPDATE jobs SET state = 'finished', finished_at = $2, finished_by = $3 \
                     WHERE id = $1",
                    &[&id, &now, &owner],
                )?;
                return Ok(Completion::Completed);
            }
            // The holder is gone: this replica holds the job from now on, and sees it out.
            let _ = take_lease(tx, id, owner, now)?;
            Ok(Completion::Open)
        })
    }

    /// A chunk's items are its sender's (`chunks.sent_by`) to judge while that replica is live;
    /// those of one that is gone (or of nobody: found by reconciliation) are anyone's once their
    /// window ran out.
    fn settleable_sent(
        &self,
        job_id: &str,
        owner: &str,
        sent_before: DateTime<Utc>,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        self.with(|client| {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM items i \
                 LEFT JOIN chunks c ON c.job_id = i.job_id AND c.chunk = i.chunk \
                 WHERE i.job_id = $1 AND i.state = 'sent' AND i.seq > $4 \
                 AND (c.sent_by = $2 OR (i.updated_at < $3 AND NOT EXISTS \
                      (SELECT 1 FROM replicas r WHERE r.job_id = i.job_id \
                       AND r.owner = c.sent_by))) \
                 ORDER BY i.seq LIMIT $5"
            );
            let params: [&(dyn postgres::types::ToSql + Sync); 5] =
                [&job_id, &owner, &sent_before, &after_seq, &(limit as i64)];
            items_from_rows(client.query(&sql, &params)?)
        })
    }

    /// One page in one transaction, the job row locked so that pages of one job are numbered
    /// one after the other. An id already enumerated (in this page or before) is passed over.
    fn commit_page(&mut self, job_id: &str, page: PageCommit) -> Result<Counts, StoreError> {
        self.in_transaction(|tx| {
            let row = tx.query_one(
                "SELECT item_count, page_count, chunk_size FROM jobs WHERE id = $1 FOR UPDATE",
                &[&job_id],
            )?;
            let (mut seq, page_no, chunk_size): (i64, i64, i64) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            let offered: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
            let known: Vec<String> = column(tx.query(
                "SELECT id FROM items WHERE job_id = $1 AND id = ANY($2)",
                &[&job_id, &offered],
            )?)?;
            let mut seen: HashSet<&str> = known.iter().map(String::as_str).collect();
            let mut added = Counts::default();
            let (mut seqs, mut ids, mut states, mut reasons, mut payloads) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for item in &page.items {
                if !seen.insert(item.id.as_str()) {
                    continue;
                }
                let (state, reason) = match &item.settled {
                    Some((state, reason)) => (*state, Some(reason.as_str())),
                    None => (ItemState::Pending, None),
                };
                seqs.push(seq);
                ids.push(item.id.as_str());
                states.push(state.as_str());
                reasons.push(reason);
                payloads.push(item.payload.as_ref().map(|p| p.to_string()));
                seq += 1;
                added.add(state, 1);
            }
            tx.execute(
                "INSERT INTO items (job_id, seq, id, page, state, reason, payload, updated_at) \
                 SELECT $1, n.seq, n.id, $2, n.state, n.reason, n.payload, $3 \
                 FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[]) \
                      AS n(seq, id, state, reason, payload)",
                &[
                    &job_id,
                    &page_no,
                    &Utc::now(),
                    &seqs,
                    &ids,
                    &states,
                    &reasons,
                    &payloads,
                ],
            )?;
            let scope = page.page_scope.as_ref().map(|s| s.to_string());
            tx.execute(
                "INSERT INTO pages (job_id, page, scope) VALUES ($1, $2, $3)",
                &[&job_id, &page_no, &scope],
            )?;
            let enumerated = page.next_cursor.is_none();
            tx.execute(
                "UPDATE jobs SET item_count = $2, page_count = page_count + 1, cursor = $3, \
                 enumerated = $4 WHERE id = $1",
                &[&job_id, &seq, &page.next_cursor, &enumerated],
            )?;
            assign_chunks(tx, job_id, chunk_size, enumerated)?;
            Ok(added)
        })
    }

    fn pages_with(
        &self,
        job_id: &str,
        state: ItemState,
    ) -> Result<Vec<(i64, Option<serde_json::Value>)>, StoreError> {
        self.with(|client| {
            let rows = client.query(
                "SELECT p.page, p.scope FROM pages p WHERE p.job_id = $1 AND EXISTS \
                 (SELECT 1 FROM items i WHERE i.job_id = p.job_id AND i.page = p.page \
                  AND i.state = $2) ORDER BY p.page",
                &[&job_id, &state.as_str()],
            )?;
            rows.iter()
                .map(|row| {
                    let scope: Option<String> = row.try_get(1)?;
                    Ok((
                        row.try_get(0)?,
                        scope.as_deref().map(parse_json).transpose()?,
                    ))
                })
                .collect()
        })
    }

    fn page_items(
        &self,
        job_id: &str,
        page: i64,
        state: ItemState,
    ) -> Result<Vec<Item>, StoreError> {
        self.with(|client| {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM items WHERE job_id = $1 AND page = $2 \
                 AND state = $3 ORDER BY seq"
            );
            items_from_rows(client.query(&sql, &[&job_id, &page, &state.as_str()])?)
        })
    }

    /// Keeps a manifest once: under a lock on its digest, two processes keeping the same one at
    /// the same instant write it once.
    fn put_manifest(&mut self, digest: &str, ids: &[String]) -> Result<(), StoreError> {
        self.in_transaction(|tx| {
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&MANIFEST_LOCK, &digest],
            )?;
            tx.execute(
                "INSERT INTO manifests (digest, seq, id) \
                 SELECT $1, n.ord - 1, n.id FROM unnest($2::text[]) WITH ORDINALITY AS n(id, ord) \
                 WHERE NOT EXISTS (SELECT 1 FROM manifests WHERE digest = $1)",
                &[&digest, &ids],
            )?;
            Ok(())
        })
    }

    fn manifest(&self, digest: &str) -> Result<Vec<String>, StoreError> {
        self.with(|client| {
            column(client.query(
                "SELECT id FROM manifests WHERE digest = $1 ORDER BY seq",
                &[&digest],
            )?)
        })
    }

    /// Pending chunks in order, but for those another holder is sending.
    fn pending_chunks(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError> {
        let sql = format!(
            "SELECT chunk FROM chunks WHERE job_id = $1 AND state = 'pending' AND {FREE_FOR_ME} \
             AND chunk > $3 ORDER BY chunk LIMIT $4"
        );
        self.chunk_list(&sql, &[&job_id, &self.holder, &after, &(limit as i64)])
    }

    /// Chunks left `sending` by a process that is gone (its lease on them ran out or was
    /// released), and those this store marked itself.
    fn in_doubt_chunks(&self, job_id: &str) -> Result<Vec<i64>, StoreError> {
        let sql = format!(
            "SELECT chunk FROM chunks WHERE job_id = $1 AND state = 'sending' AND {FREE_FOR_ME} \
             ORDER BY chunk"
        );
        self.chunk_list(&sql, &[&job_id, &self.holder])
    }

    fn chunk_items(&self, job_id: &str, chunk: i64) -> Result<Vec<Item>, StoreError> {
        self.with(|client| {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM items WHERE job_id = $1 AND chunk = $2 \
                 AND state = 'pending' ORDER BY seq"
            );
            items_from_rows(client.query(&sql, &[&job_id, &chunk])?)
        })
    }

    /// A chunk marked `sending` is this store's until its lease passes; in any other state it is
    /// nobody's.
    fn set_chunk_state(
        &mut self,
        job_id: &str,
        chunk: i64,
        state: ChunkState,
    ) -> Result<(), StoreError> {
        let holder = (state == ChunkState::Sending).then(|| self.holder.clone());
        self.with(|client| {
            client.execute(
                "UPDATE chunks SET state = $3, owner = $4, \
                 lease_until = CASE WHEN $4::text IS NULL THEN NULL \
                                    ELSE now() + make_interval(secs => $5) END \
                 WHERE job_id = $1 AND chunk = $2",
                &[
                    &job_id,
                    &chunk,
                    &state.as_str(),
                    &holder,
                    &CHUNK_LEASE_SECONDS,
                ],
            )?;
            Ok(())
        })
    }

    /// Refused with `StoreError::ChunkTaken`, writing nothing, when another holder took the
    /// chunk after this store's lease on it ran out: that holder sends it and records it (or
    /// already did: a chunk done is nobody's, and its outcomes are written once).
    fn finish_chunk(
        &mut self,
        job_id: &str,
        chunk: i64,
        outcomes: &[ItemOutcome],
    ) -> Result<(), StoreError> {
        let holder = self.holder.clone();
        self.in_transaction(|tx| {
            let sql = format!(
                "SELECT state <> 'done' AND {FREE_FOR_ME} FROM chunks \
                 WHERE job_id = $1 AND chunk = $3 FOR UPDATE"
            );
            let free: Option<bool> = match tx.query_opt(&sql, &[&job_id, &holder, &chunk])? {
                Some(row) => row.try_get(0)?,
                None => Some(true),
            };
            if free != Some(true) {
                return Err(Fault::ChunkTaken {
                    job: job_id.to_string(),
                    chunk,
                });
            }
            write_outcomes(tx, job_id, outcomes)?;
            // Items left pending (the server could not be reached) keep their chunk to be sent
            // again.
            let left = outcomes.iter().any(|o| o.state == ItemState::Pending);
            let state = if left {
                ChunkState::Pending
            } else {
                ChunkState::Done
            };
            tx.execute(
                "UPDATE chunks SET state = $3, owner = NULL, lease_until = NULL, sent_by = $4 \
                 WHERE job_id = $1 AND chunk = $2",
                &[&job_id, &chunk, &state.as_str(), &holder],
            )?;
            Ok(())
        })
    }

    fn record_outcomes(
        &mut self,
        job_id: &str,
        outcomes: &[ItemOutcome],
    ) -> Result<(), StoreError> {
        self.in_transaction(|tx| write_outcomes(tx, job_id, outcomes))
    }

    fn requeue_for_resend(
        &mut self,
        job_id: &str,
        from: ItemState,
        reason: &str,
    ) -> Result<u64, StoreError> {
        self.in_transaction(|tx| {
            let chunk_size: i64 = tx
                .query_one(
                    "UPDATE jobs SET resend_rounds = resend_rounds + 1 WHERE id = $1 \
                     RETURNING chunk_size",
                    &[&job_id],
                )?
                .try_get(0)?;
            let moved = tx.execute(
                "UPDATE items SET state = 'pending', chunk = NULL, reason = $3, updated_at = $4 \
                 WHERE job_id = $1 AND state = $2",
                &[&job_id, &from.as_str(), &reason, &Utc::now()],
            )?;
            assign_chunks(tx, job_id, chunk_size, true)?;
            Ok(moved)
        })
    }

    fn items_in_state(
        &self,
        job_id: &str,
        state: ItemState,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        self.with(|client| {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM items WHERE job_id = $1 AND state = $2 \
                 AND seq > $3 ORDER BY seq LIMIT $4"
            );
            let params: [&(dyn postgres::types::ToSql + Sync); 4] =
                [&job_id, &state.as_str(), &after_seq, &(limit as i64)];
            items_from_rows(client.query(&sql, &params)?)
        })
    }

    fn accepted_items(
        &self,
        job_id: &str,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        self.with(|client| {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM items WHERE job_id = $1 \
                 AND state IN ('done', 'sent', 'unconfirmed') AND seq > $2 ORDER BY seq LIMIT $3"
            );
            items_from_rows(client.query(&sql, &[&job_id, &after_seq, &(limit as i64)])?)
        })
    }

    fn counts(&self, job_id: &str) -> Result<Counts, StoreError> {
        self.with(|client| {
            let rows = client.query(
                "SELECT state, COUNT(*) FROM items WHERE job_id = $1 GROUP BY state",
                &[&job_id],
            )?;
            let mut counts = Counts::default();
            for row in rows {
                let state: String = row.try_get(0)?;
                let n: i64 = row.try_get(1)?;
                counts.add(state.parse().map_err(Fault::Damaged)?, n.max(0) as u64);
            }
            Ok(counts)
        })
    }

    /// Takes chunks one transaction at a time: the chunks are locked `FOR UPDATE SKIP LOCKED`,
    /// so a process taking at the same instant passes over them, and marked held by this store
    /// (and `sending`, with `mark_sending`) before the transaction commits.
    fn take_chunks(
        &mut self,
        job_id: &str,
        after: i64,
        limit: usize,
        mark_sending: bool,
    ) -> Result<Vec<TakenChunk>, StoreError> {
        let holder = self.holder.clone();
        let mut taken = Vec::new();
        let mut after = after;
        while taken.len() < limit {
            let wanted = (limit - taken.len()) as i64;
            let batch = self.in_transaction(|tx| {
                let sql = format!(
                    "UPDATE chunks SET owner = $2, \
                     lease_until = now() + make_interval(secs => $5), \
                     state = CASE WHEN $6 THEN 'sending' ELSE state END \
                     WHERE (job_id, chunk) IN (SELECT job_id, chunk FROM chunks \
                        WHERE job_id = $1 AND state = 'pending' AND {FREE_FOR_ME} AND chunk > $3 \
                        ORDER BY chunk LIMIT $4 FOR UPDATE SKIP LOCKED) \
                     RETURNING chunk"
                );
                let mut chunks: Vec<i64> = column(tx.query(
                    &sql,
                    &[
                        &job_id,
                        &holder,
                        &after,
                        &wanted,
                        &CHUNK_LEASE_SECONDS,
                        &mark_sending,
                    ],
                )?)?;
                chunks.sort_unstable();
                let rows = tx.query(
                    &format!(
                        "SELECT {ITEM_COLUMNS}, chunk FROM items WHERE job_id = $1 \
                         AND chunk = ANY($2) AND state = 'pending' ORDER BY chunk, seq"
                    ),
                    &[&job_id, &chunks],
                )?;
                let mut batch: Vec<TakenChunk> = chunks
                    .iter()
                    .map(|&chunk| TakenChunk {
                        chunk,
                        items: Vec::new(),
                    })
                    .collect();
                for row in &rows {
                    let chunk: i64 = row.try_get(5)?;
                    let item = item_from_row(row)?;
                    if let Some(slot) = batch.iter_mut().find(|t| t.chunk == chunk) {
                        slot.items.push(item);
                    }
                }
                // Nothing left to send: done, and nobody's.
                let empty: Vec<i64> = batch
                    .iter()
                    .filter(|t| t.items.is_empty())
                    .map(|t| t.chunk)
                    .collect();
                tx.execute(
                    "UPDATE chunks SET state = 'done', owner = NULL, lease_until = NULL \
                     WHERE job_id = $1 AND chunk = ANY($2)",
                    &[&job_id, &empty],
                )?;
                Ok(batch)
            })?;
            let Some(last) = batch.last().map(|t| t.chunk) else {
                break;
            };
            after = last;
            taken.extend(batch.into_iter().filter(|t| !t.items.is_empty()));
        }
        Ok(taken)
    }

    fn for_each_report_row(
        &self,
        job: &JobRecord,
        problems_only: bool,
        each: &mut dyn FnMut(ReportRow) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let filter = if problems_only {
            "AND state IN ('failed', 'skipped', 'unconfirmed')"
        } else {
            ""
        };
        let sql = format!(
            "SELECT seq, id, state, reason, http_status, attempts, updated_at, payload FROM items \
             WHERE job_id = $1 {filter} ORDER BY seq"
        );
        let operation = job.spec.operation_name().to_string();
        let mut connection = self.client.borrow_mut();
        if connection.client().is_closed() {
            self.reconnect(&mut connection)?;
        }
        let client = connection.client();
        // One query, read through a portal batch by batch: one plan and one walk of the index
        // for the whole job, and never the whole job in memory.
        let mut tx = off_the_runtime(|| client.transaction()).map_err(|e| self.fault(e))?;
        let walked = (|| -> Result<(), Fault> {
            let portal = off_the_runtime(|| tx.bind(&sql, &[&job.id]))?;
            loop {
                let rows = off_the_runtime(|| tx.query_portal(&portal, REPORT_BATCH))?;
                if rows.is_empty() {
                    return Ok(());
                }
                for row in &rows {
                    if each(report_row(row, &operation)?).is_break() {
                        return Ok(());
                    }
                }
            }
        })();
        // Read only: nothing to commit, and the rollback closes the portal.
        off_the_runtime(move || drop(tx));
        walked.map_err(|fault| fault.at(&self.place))
    }
}

fn report_row(row: &Row, operation: &str) -> Result<ReportRow, Fault> {
    let status: Option<i32> = row.try_get(4)?;
    let attempts: i32 = row.try_get(5)?;
    let time: Option<DateTime<Utc>> = row.try_get(6)?;
    let payload: Option<String> = row.try_get(7)?;
    Ok(ReportRow {
        id: row.try_get(1)?,
        operation: operation.to_string(),
        outcome: row.try_get(2)?,
        reason: row.try_get(3)?,
        http_status: status.and_then(|s| u16::try_from(s).ok()),
        attempts: u32::try_from(attempts).unwrap_or(0),
        time: time.map(ts),
        payload: payload.as_deref().map(parse_json).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store in a schema of its own of the database the store conformance tests use.
    fn store() -> PgStore {
        let base = std::env::var("BULKOPS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| crate::store::conformance::DEFAULT_POSTGRES_URL.to_string());
        let schema = format!("reconnect_{}", uuid::Uuid::new_v4().simple());
        let mut admin = Client::connect(&base, NoTls).expect("the test database");
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("a schema");
        let joiner = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{joiner}options=-c%20search_path%3D{schema}");
        PgStore::open(&url, "host:1").expect("the store")
    }

    #[test]
    fn a_call_whose_connection_the_server_ends_midway_runs_again_on_a_new_one() {
        let store = store();
        let mut runs = 0;
        let answered = store.with(|client| {
            runs += 1;
            if runs == 1 {
                // The server ends the connection while the call is on it: the error comes
                // before the client has marked itself closed.
                client.batch_execute("SELECT pg_terminate_backend(pg_backend_pid())")?;
            }
            let one: i32 = client.query_one("SELECT 1", &[])?.try_get(0)?;
            Ok(one)
        });
        assert_eq!(answered.expect("run again on a new connection"), 1);
        assert_eq!(runs, 2);
    }
}
