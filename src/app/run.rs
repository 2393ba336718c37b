//! A job's life: plan (validate, resolve the window and the workflows, build the operation),
//! dry run or confirmation, create or resume and lease in one transaction, run the engine,
//! report.

use std::sync::Arc;

use actix::Actor;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::pace::{job_rate, Pace};
use super::survey::{survey, Depth};
use super::undo::archive;
use super::{
    control, Confirmation, Credentials, End, Error, Event, Execution, Frontend, JobRequest,
    Outcome, RunEnd,
};
use crate::backend::hatchet::{without_credentials, Connection, HatchetClient, HatchetError};
use crate::config::Settings;
use crate::engine::{
    Caller, Coordinator, Ended, EngineError, EngineSettings, Failure, Meter, RetryPolicy,
    RunOutcome, RunTotals, Stop,
};
use crate::job::{HatchetJob, JobSpec, OperationKind, SelectorFields, Target, Window};
use crate::ops::{self, Archive, Operation, Parts, Tuning, Workflow};
use crate::store::{Begun, Completion, JobRecord, JobState, Lease, NewJob, Store};

pub(super) fn retry_policy(settings: &Settings) -> RetryPolicy {
    RetryPolicy {
        max_retries: settings.max_retries,
        min_delay: std::time::Duration::from_millis(200),
        max_delay: std::time::Duration::from_secs(10),
        max_retry_after: std::time::Duration::from_secs(60),
    }
}

/// Checks the server answers and takes the token. Read-only.
async fn preflight(client: &HatchetClient, server: &str, caller: &Caller) -> Result<(), Error> {
    // A job stored before targets lost their credentials may still carry them.
    let server = without_credentials(server);
    let (result, _) = caller
        .call("hatchet.workflows.list", true, || client.check_access())
        .await;
    match result {
        Ok(()) => Ok(()),
        Err(HatchetError::Status { status: 403, .. }) => Err(Error::TokenRejected {
            server,
            tenant: client.tenant().to_string(),
        }),
        Err(source @ HatchetError::Connect(_)) => Err(Error::Unreachable { server, source }),
        Err(source @ HatchetError::Tls(_)) => Err(Error::TlsRefused { server, source }),
        Err(source) if source.is_transient() => Err(Error::ServerBusy { server, source }),
        Err(source) => Err(Error::AccessRefused { server, source }),
    }
}

/// The workflows `--workflow` names (ids or names).
async fn resolve_workflows(
    client: &HatchetClient,
    keys: &[String],
    caller: &Caller,
) -> Result<Vec<Workflow>, Error> {
    let mut found = Vec::new();
    for key in keys {
        let (workflow, _) = caller
            .call("hatchet.workflows.list", true, || client.find_workflow(key))
            .await;
        let workflow = workflow.map_err(|source| Error::WorkflowLookup {
            workflow: key.clone(),
            source,
        })?;
        match workflow {
            Some((id, name)) => found.push(Workflow { id, name }),
            None => {
                return Err(Error::UnknownWorkflow {
                    workflow: key.clone(),
                    tenant: client.tenant().to_string(),
                })
            }
        }
    }
    Ok(found)
}

/// Builds the operation of a job; workflow names are resolved to ids here, a manifest's ids
/// come from the store, and so does the archive of the job an undo undoes.
async fn build_operation(
    spec: &HatchetJob,
    window: Window,
    created: DateTime<Utc>,
    client: HatchetClient,
    settings: &Settings,
    store: &dyn Store,
    caller: &Caller,
) -> Result<Arc<dyn Operation>, Error> {
    let manifest = match spec.selector.ids_digest() {
        Some(digest) => {
            let ids = store.manifest(digest)?;
            if ids.is_empty() {
                return Err(Error::ManifestMissing {
                    state: settings.state.to_string(),
                });
            }
            Some(ids)
        }
        None => None,
    };
    let workflows = resolve_workflows(&client, spec.selector.workflows(), caller).await?;
    let archive = match spec.operation.undoes() {
        Some(of) => archive(store, of)?,
        None => Archive::new(Vec::new()),
    };
    let parts = Parts {
        spec: spec.clone(),
        window,
        created,
        client,
        workflows,
        manifest,
        archive,
        tuning: Tuning {
            verify_poll: settings.verify_poll,
            replay_interval: settings.replay_interval,
            slice_target: settings.slice_target,
        },
    };
    Ok((ops::descriptor(&spec.operation).build)(parts)?)
}

pub(super) fn named_identity(name: &str, server: &str, tenant: &str) -> String {
    let digest = Sha256::digest(format!("name\0{name}\0{server}\0{tenant}"));
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn started_by() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// A new Hatchet job as far as it is checked before anything is sent: the token, the spec
/// with its operation's requirements, and the window it resolves to at `now`.
pub(super) fn plan(
    credentials: &Credentials,
    kind: OperationKind,
    selector: SelectorFields,
    now: DateTime<Utc>,
) -> Result<(Connection, HatchetJob, Window), Error> {
    let conn = credentials.connection()?;
    // The target is stored, shown and hashed into the job's identity: never with a password.
    let target = Target {
        server_url: without_credentials(conn.server_url.as_str()),
        tenant: conn.tenant.to_string(),
    };
    let spec = ops::job_spec(kind, selector, target)?;
    let window = spec.resolve_window(now)?;
    Ok((conn, spec, window))
}

/// Runs a new job, or resumes the unfinished one with the same identity.
pub(super) async fn run_new(
    settings: &Settings,
    credentials: &Credentials,
    request: JobRequest,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let now = Utc::now();
    let (conn, spec, window) = plan(credentials, request.kind, request.selector, now)?;
    let mut store = settings.state.open()?;
    if let Some(m) = &request.manifest {
        // Kept in the store so a resume never needs the file again.
        store.put_manifest(&m.digest, &m.ids)?;
    }
    let planned = Planned { spec, window, now };
    run_spec(settings, conn, store, planned, exec, frontend).await
}

/// A validated spec and the window it resolved to at `now` (used if it creates a job).
pub(super) struct Planned<S = HatchetJob> {
    pub spec: S,
    pub window: Window,
    pub now: DateTime<Utc>,
}

/// What builds a job's operation, once its backend was checked: the frozen window and the
/// creation time come from the job, once it is known whether it is new.
#[async_trait::async_trait(?Send)]
pub(super) trait Build {
    async fn operation(
        &self,
        window: Window,
        created: DateTime<Utc>,
        store: &dyn Store,
    ) -> Result<Arc<dyn Operation>, Error>;
}

struct HatchetBuild<'a> {
    spec: HatchetJob,
    client: HatchetClient,
    settings: &'a Settings,
    caller: Caller,
}

#[async_trait::async_trait(?Send)]
impl Build for HatchetBuild<'_> {
    async fn operation(
        &self,
        window: Window,
        created: DateTime<Utc>,
        store: &dyn Store,
    ) -> Result<Arc<dyn Operation>, Error> {
        let client = self.client.clone();
        let (settings, caller) = (self.settings, &self.caller);
        build_operation(&self.spec, window, created, client, settings, store, caller).await
    }
}

/// Runs a validated Hatchet spec as a new job, or resumes the unfinished one with its identity.
pub(super) async fn run_spec(
    settings: &Settings,
    conn: Connection,
    mut store: Box<dyn Store>,
    planned: Planned,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let client = HatchetClient::new(conn, settings.request_timeout)?;
    let identity = match &exec.job_name {
        Some(name) => named_identity(
            name,
            &planned.spec.target.server_url,
            &planned.spec.target.tenant,
        ),
        None => JobSpec::Hatchet(planned.spec.clone()).identity(),
    };
    let pace = arrive(store.as_mut(), &identity, exec, settings).await?;
    let caller = pace.preflight_caller(settings);
    preflight(&client, &planned.spec.target.server_url, &caller).await?;
    pace.renew(store.as_mut()).await?;
    let build = HatchetBuild {
        spec: planned.spec.clone(),
        client,
        settings,
        caller,
    };
    let planned = Planned {
        spec: JobSpec::Hatchet(planned.spec),
        window: planned.window,
        now: planned.now,
    };
    run_planned(settings, store, planned, pace, &build, exec, frontend).await
}

/// Registers this process at job `identity` (at the rate its open job was retuned to, if any).
pub(super) async fn arrive(
    store: &mut dyn Store,
    identity: &str,
    exec: &Execution,
    settings: &Settings,
) -> Result<Pace, Error> {
    let open = store.open_job(identity)?;
    let rate = job_rate(exec, settings, open.as_ref());
    Pace::arrive(store, identity, rate, open).await
}

/// Runs a checked spec of any backend as job `identity`: new, or the unfinished one resumed.
pub(super) async fn run_planned(
    settings: &Settings,
    mut store: Box<dyn Store>,
    planned: Planned<JobSpec>,
    pace: Pace,
    build: &dyn Build,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let identity = pace.identity().to_string();
    let Planned {
        spec: stored,
        window,
        now,
    } = planned;
    // A first look, for the window to build the operation with and for what to ask; the job
    // itself is created or resumed, and taken, in one transaction below.
    let existing = match pace.found() {
        // The job this process found open as it arrived is the one it joins: one that ended
        // while this process waited for the others to slow down ends this run too, as it
        // would have once joined, rather than starting another (a dry run looks afresh).
        Some(found) => {
            let job = store.job(&found.id)?.unwrap_or_else(|| found.clone());
            refuse_another_selection(&job, &stored)?;
            if !job.state.is_open() && !exec.dry_run {
                return ended_elsewhere(store.as_mut(), job, settings, None);
            }
            Some(job).filter(|job| job.state.is_open())
        }
        None => store.open_job(&identity)?,
    };
    if let Some(job) = &existing {
        refuse_another_selection(job, &stored)?;
    }
    let (window, created) = existing
        .as_ref()
        .map_or((window, now), |job| (job.window, job.created_at));
    let mut op = build.operation(window, created, store.as_ref()).await?;
    if exec.dry_run {
        let found = survey(
            op.as_ref(),
            &pace,
            store.as_mut(),
            settings,
            Depth::Everything,
        )
        .await?;
        return Ok(Outcome::DryRun(found));
    }
    // An unfinished job was confirmed when it was created: it resumes without asking.
    if existing.is_none() {
        refuse_accidental_repeat(store.as_ref(), &identity, &stored, exec)?;
        // Off a terminal (cron, CI, a container) nobody can answer, so a job that is not
        // confirmed with `--yes` is refused rather than run unasked.
        let asking = !exec.yes;
        if asking && !frontend.can_ask() {
            return Err(Error::NotATerminal);
        }
        // The count comes first in a question; without one, finding one item is enough to
        // know the job is not empty.
        let depth = if asking {
            Depth::Everything
        } else {
            Depth::FirstMatch
        };
        let found = survey(op.as_ref(), &pace, store.as_mut(), settings, depth).await?;
        if found.matching == 0 {
            return Ok(Outcome::NothingMatches(Box::new(stored)));
        }
        if asking {
            let question = Confirmation {
                spec: &stored,
                window: &window,
                now,
                found: &found,
            };
            if !frontend.confirm(&question).map_err(Error::Answer)? {
                return Err(Error::NotConfirmed);
            }
        }
    }
    let owner = crate::store::this_process();
    let new = NewJob {
        identity,
        name: exec.job_name.clone(),
        spec: stored.clone(),
        window,
        cursor: op.initial_cursor(),
        chunk_size: ops::rules::chunk_size(&stored, settings.chunk_size),
        concurrency: ops::rules::concurrency(&stored, settings.concurrency),
        started_by: started_by(),
        reason: exec.reason.clone(),
    };
    let holder = match &existing {
        Some(job) => previous_holder(store.as_ref(), &job.id, &owner)?,
        None => None,
    };
    pace.renew(store.as_mut()).await?;
    let (begun, holder) = match store.begin_job(new, &owner, now)? {
        Ok(begun) => (begun, holder),
        Err(held) => {
            let id = held.job.clone();
            let idempotent = op.sending().idempotent;
            let joined = join(store.as_mut(), idempotent, held, &pace, settings, frontend).await?;
            if let Some(ended) = joined {
                return Ok(ended);
            }
            // Joined, or taken over after standing by (counted there).
            (Begun::Resumed(id), None)
        }
    };
    let job = store
        .job(begun.job_id())?
        .ok_or_else(|| Error::JobVanished {
            job: begun.job_id().to_string(),
            state: settings.state.to_string(),
        })?;
    let resumed = matches!(begun, Begun::Resumed(_));
    if let Some(holder) = holder.filter(|h| h.job == job.id) {
        took_over(&job, &holder);
    }
    if resumed && existing.as_ref().map(|j| &j.id) != Some(&job.id) {
        refuse_another_selection(&job, &stored)?;
        // Another process created it after the first look: its window rules.
        op = build
            .operation(job.window, job.created_at, store.as_ref())
            .await?;
    }
    frontend.event(Event::Begun {
        job: job.id.clone(),
        resumed,
    });
    execute(job, store, op, pace, settings, exec, frontend).await
}

/// A job named with `--job` is resumed by name: run again with another selection or operation,
/// it would go on enumerating and acting with the new one over what the old one enumerated.
fn refuse_another_selection(job: &JobRecord, spec: &JobSpec) -> Result<(), Error> {
    if job.spec == *spec {
        return Ok(());
    }
    Err(Error::OtherSelection {
        job: job.id.clone(),
        operation: job.spec.operation_name().to_string(),
    })
}

/// The Hatchet job a stored job is; a job of another backend is refused by name.
pub(super) fn hatchet_of(job: &JobRecord) -> Result<&HatchetJob, Error> {
    job.spec.hatchet().ok_or_else(|| Error::OtherBackend {
        job: job.id.clone(),
        operation: job.spec.operation_name(),
    })
}

/// A re-run after a crash cannot tell whether the job finished just before it, so re-running a
/// finished job whose repeat is not safe (it would shift every row once more) needs `--again`,
/// and a finished undo is not run again at all. A job named with `--job` is meant to recur
/// (cron) and is not held back.
fn refuse_accidental_repeat(
    store: &dyn Store,
    identity: &str,
    spec: &JobSpec,
    exec: &Execution,
) -> Result<(), Error> {
    if exec.again || exec.job_name.is_some() || ops::rules::repeat_is_safe(spec) {
        return Ok(());
    }
    let Some(job) = store.finished_job(identity)? else {
        return Ok(());
    };
    let finished = job
        .finished_at
        .unwrap_or(job.created_at)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Err(match spec.undoes() {
        Some(of) => Error::AlreadyUndone {
            of: of.to_string(),
            job: job.id,
            finished,
        },
        None => Error::AlreadyFinished {
            operation: spec.operation_name().to_string(),
            job: job.id,
            finished,
        },
    })
}

/// Resumes an unfinished job by id.
pub(super) async fn resume(
    settings: &Settings,
    credentials: &Credentials,
    job_id: &str,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let mut store = settings.state.open()?;
    let job = control::find(store.as_ref(), &settings.state, job_id)?;
    if !job.state.is_open() {
        return Err(Error::NothingToResume {
            job: job.id,
            state: job.state.as_str(),
        });
    }
    if exec.concurrency.is_some() && ops::rules::one_request_at_a_time(&job.spec) {
        return Err(Error::ConcurrencyNotHonoured {
            operation: job.spec.operation_name(),
            job: job.id,
        });
    }
    let op = match &job.spec {
        JobSpec::Hatchet(spec) => {
            let conn = credentials.connection()?;
            check_tenant(&job, &conn)?;
            let client = HatchetClient::new(conn, settings.request_timeout)?;
            let pace = arrive(store.as_mut(), &job.identity, exec, settings).await?;
            let caller = pace.preflight_caller(settings);
            preflight(&client, &spec.target.server_url, &caller).await?;
            pace.renew(store.as_mut()).await?;
            let op = build_operation(
                spec,
                job.window,
                job.created_at,
                client,
                settings,
                store.as_ref(),
                &caller,
            )
            .await?;
            (op, pace)
        }
        JobSpec::Handinger(spec) => {
            let pace = arrive(store.as_mut(), &job.identity, exec, settings).await?;
            let build =
                super::handinger::checked(settings, credentials, spec, Some(&job.id), &pace)
                    .await?;
            let op = build
                .operation(job.window, job.created_at, store.as_ref())
                .await?;
            (op, pace)
        }
    };
    let (op, pace) = op;
    take_and_execute(job, store, op, pace, settings, exec, frontend).await
}

/// Takes an unfinished job for this process and runs it.
async fn take_and_execute(
    job: JobRecord,
    mut store: Box<dyn Store>,
    op: Arc<dyn Operation>,
    pace: Pace,
    settings: &Settings,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let owner = crate::store::this_process();
    let holder = previous_holder(store.as_ref(), &job.id, &owner)?;
    let mut job = job;
    pace.renew(store.as_mut()).await?;
    match store.claim_job(&job.id, &owner, Utc::now())? {
        Ok(()) => {
            if let Some(holder) = holder {
                took_over(&job, &holder);
            }
        }
        Err(held) => {
            let idempotent = op.sending().idempotent;
            let joined = join(store.as_mut(), idempotent, held, &pace, settings, frontend).await?;
            if let Some(ended) = joined {
                return Ok(ended);
            }
            job = store.job(&job.id)?.unwrap_or(job);
        }
    }
    execute(job, store, op, pace, settings, exec, frontend).await
}

/// How often a process standing by for a job looks whether its holder is gone.
const STAND_BY_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// A job another live process holds. On a shared store, a job whose requests are safe to send
/// twice is joined as one more replica (it takes chunks and a share of the rate); a job whose
/// requests are not (replay) stays with one process, since two could each re-read a run before
/// the other's replay shows, and this one stands by to take it over once that holder is gone
/// (its in-doubt chunks are reconciled first, as after any crash). On SQLite the holder is the
/// answer. `None` once this process runs the job (as one more replica, or as its holder once
/// the one before is gone); the outcome when the job ended while it stood by, or a stop came.
async fn join(
    store: &mut dyn Store,
    idempotent: bool,
    held: Lease,
    pace: &Pace,
    settings: &Settings,
    frontend: &mut dyn Frontend,
) -> Result<Option<Outcome>, Error> {
    if !store.shares_jobs() {
        return Err(Error::Held(held));
    }
    let owner = &crate::store::this_process();
    if idempotent && store.join_job(&held.job, owner, Utc::now())? {
        return Ok(None);
    }
    // Standing by, it sends nothing: the holder keeps the whole rate.
    pace.stand_by(store)?;
    tracing::warn!(
        job = %held.job,
        holder = %held.owner,
        "the job runs in another process and its requests must not be sent twice: standing by to take it over if that process goes"
    );
    let mut stop = frontend.stop_signal();
    loop {
        let job = store.job(&held.job)?.ok_or_else(|| Error::JobVanished {
            job: held.job.clone(),
            state: settings.state.to_string(),
        })?;
        if job.state != JobState::Running {
            return ended_elsewhere(store, job, settings, None).map(Some);
        }
        if store.claim_job(&job.id, owner, Utc::now())?.is_ok() {
            // It may have ended between the look and the claim.
            if store
                .job(&job.id)?
                .is_some_and(|j| j.state == JobState::Running)
            {
                took_over(&job, &held);
                return Ok(None);
            }
            store.release_job(&job.id, owner)?;
            continue;
        }
        tokio::select! {
            () = &mut stop => {
                let note = interrupted_note(&held.job);
                return ended_elsewhere(store, job, settings, Some(note)).map(Some);
            }
            () = tokio::time::sleep(STAND_BY_POLL) => {}
        }
    }
}

/// The end of a job this process did not run: finished (by the replica that completed it and
/// wrote its report), paused or aborted by another process, or `stopped` while standing by.
fn ended_elsewhere(
    store: &mut dyn Store,
    job: JobRecord,
    settings: &Settings,
    stopped: Option<String>,
) -> Result<Outcome, Error> {
    let counts = store.counts(&job.id)?;
    let owner = crate::store::this_process();
    let end = match (stopped, job.state) {
        (Some(note), _) => End::Interrupted { note },
        (None, JobState::Finished) => match store.complete_job(&job.id, &owner, Utc::now())? {
            Completion::Elsewhere { by, finished } => elsewhere(&job.id, &by, finished),
            // Only where jobs are not shared, which nobody stands by for.
            Completion::Completed | Completion::Open => End::Finished {
                report: crate::report::save_report(store, &job, &settings.reports_dir)?,
                warning: ops::rules::warning(&job.spec, &counts),
            },
        },
        (None, state) => End::Interrupted {
            note: ended_note(None, state, &job.id),
        },
    };
    Ok(Outcome::Ran(Box::new(RunEnd {
        job,
        counts,
        totals: RunTotals::default(),
        end,
    })))
}

/// How a replica's run of a shared job ends when the replica `by` completes the job, or did.
fn elsewhere(job: &str, by: &str, finished: bool) -> End {
    let note = if finished {
        format!("finished by the replica {by}, which wrote its report (`bulkops report {job}` prints it from the store)")
    } else {
        format!("this replica's part is done: the replica {by} finishes the job and writes its report (`bulkops jobs watch {job}` follows it)")
    };
    End::Elsewhere { note, finished }
}

/// Why a run ended without finishing the job, and what continues it.
fn ended_note(error: Option<EngineError>, state: JobState, job: &str) -> String {
    match (error, state) {
        (Some(e), _) => format!("stopped by an error: {e}. Run the same command again (or `bulkops jobs resume {job}`) to resume"),
        (None, JobState::Paused) => format!("paused by `bulkops jobs pause`. `bulkops jobs resume {job}` (or the same command) continues it"),
        (None, JobState::Aborted) => "aborted by `bulkops jobs abort`: nothing more is sent for it".to_string(),
        (None, _) => interrupted_note(job),
    }
}

fn interrupted_note(job: &str) -> String {
    format!("interrupted. Run the same command again (or `bulkops jobs resume {job}`) to resume")
}

/// Who holds `job` when it is not `owner`: once this process has taken the job, a holder
/// that was gone (killed, crashed, silent past the lease timeout) whose job it took over.
fn previous_holder(store: &dyn Store, job: &str, owner: &str) -> Result<Option<Lease>, Error> {
    Ok(store.lease(job)?.filter(|lease| lease.owner != owner))
}

/// Logs and counts taking `job` over from `holder`, whose process is gone.
fn took_over(job: &JobRecord, holder: &Lease) {
    tracing::info!(job = %job.id, holder = %holder.owner, "took the job over from a holder that is gone");
    crate::metrics::process().lease_takeover(job.spec.operation_name());
}

/// A job acts on its own tenant only.
pub(super) fn check_tenant(job: &JobRecord, conn: &Connection) -> Result<(), Error> {
    let spec = hatchet_of(job)?;
    if spec.target.tenant == conn.tenant.to_string() {
        return Ok(());
    }
    Err(Error::OtherTenant {
        job: job.id.clone(),
        job_tenant: spec.target.tenant.clone(),
        token_tenant: conn.tenant.to_string(),
    })
}

/// The jobs whose engine runs in this process. A lease names the process, so it cannot keep a
/// service that runs many jobs from starting a second engine on one of them (the same job
/// submitted twice, or resumed while it runs): this can.
static RUNNING_HERE: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// A job's place in `RUNNING_HERE`, given up when its run ends however it ends.
struct RunningHere(String);

impl RunningHere {
    fn enter(job: &str) -> Result<RunningHere, Error> {
        let mut running = RUNNING_HERE.lock().unwrap_or_else(|e| e.into_inner());
        if !running.insert(job.to_string()) {
            return Err(Error::RunningHere {
                job: job.to_string(),
            });
        }
        Ok(RunningHere(job.to_string()))
    }
}

impl Drop for RunningHere {
    fn drop(&mut self) {
        let mut running = RUNNING_HERE.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&self.0);
    }
}

/// Runs a job this process has taken (its lease is `owner`'s) to its end or an interruption.
async fn execute(
    job: JobRecord,
    mut store: Box<dyn Store>,
    op: Arc<dyn Operation>,
    pace: Pace,
    settings: &Settings,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let owner = crate::store::this_process();
    let _running = RunningHere::enter(&job.id)?;
    let verify_timeout = (!exec.no_verify).then_some(settings.verify_timeout);
    let progress = frontend.progress(&job.id, verify_timeout);
    // The job's own concurrency holds on resume unless --concurrency says otherwise.
    let concurrency = exec
        .concurrency
        .or(job.concurrency)
        .unwrap_or(settings.concurrency);
    let engine_settings = EngineSettings {
        // A rate set by `jobs retune` holds on resume unless --rate says otherwise.
        rate: job_rate(exec, settings, Some(&job)),
        concurrency: ops::rules::concurrency(&job.spec, concurrency),
        retry: retry_policy(settings),
        verify: !exec.no_verify,
        verify_timeout: settings.verify_timeout,
        verify_poll: settings.verify_poll,
        owner,
        meter: crate::metrics::process(),
    };
    if job.state == JobState::Paused {
        store.set_job_state(&job.id, JobState::Running, Utc::now())?;
    }
    let limiter = pace.into_limiter();
    let (done_tx, done_rx) = oneshot::channel();
    let coordinator = Coordinator::new(
        job.clone(),
        store,
        op,
        engine_settings,
        limiter,
        progress,
        done_tx,
    )?
    .start();
    let stop = frontend.stop_signal();
    let stopper = coordinator.clone();
    let stop_watch = actix::spawn(async move {
        stop.await;
        stopper.do_send(Stop);
    });
    let ended = done_rx.await;
    // A service runs many jobs in one System: this job's watch must not outlive it.
    stop_watch.abort();
    let Ended {
        outcome,
        totals,
        store,
    } = ended.map_err(|_| Error::EngineVanished {
        job: job.id.clone(),
    })?;
    if let RunOutcome::Interrupted {
        error: Some(EngineError::Store(e)),
        ..
    } = &outcome
    {
        if e.concerns_the_file() {
            // The file moved, vanished or fails: no report comes from it.
            return Err(Error::JobStopped {
                job: job.id,
                source: e.clone(),
            });
        }
    }
    // The coordinator hands back the store it was given, for the report.
    let store = store?;
    let job = store.job(&job.id)?.unwrap_or(job);
    let (counts, end) = match outcome {
        RunOutcome::Finished(counts) => {
            let report = crate::report::save_report(store.as_ref(), &job, &settings.reports_dir)?;
            let warning = ops::rules::warning(&job.spec, &counts);
            (counts, End::Finished { report, warning })
        }
        RunOutcome::Elsewhere {
            counts,
            by,
            finished,
        } => (counts, elsewhere(&job.id, &by, finished)),
        RunOutcome::Interrupted { counts, error } => {
            let note = ended_note(error, job.state, &job.id);
            (counts, End::Interrupted { note })
        }
    };
    Ok(Outcome::Ran(Box::new(RunEnd {
        job,
        counts,
        totals,
        end,
    })))
}
