//! The flow of one job run: settings, connection, validation (nothing sent on bad input),
//! preflight, create or resume, dry run or confirmation, the engine, the summary.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use actix::Actor;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::args::{
    BulkExecArgs, CommonSelectArgs, CronSelectArgs, GlobalArgs, NewJobArgs, PaceArgs,
    RunSelectArgs, ScheduledSelectArgs,
};
use super::{bad, output, CliError, Exit};
use crate::backend::hatchet::{without_credentials, Connection, HatchetClient, HatchetError};
use crate::config::{Overrides, Settings};
use crate::engine::Failure;
use crate::engine::{
    self, Caller, Coordinator, Ended, EngineError, EngineSettings, JsonProgress, Progress,
    RetryPolicy, RunOutcome, Stop, TtyProgress,
};
use crate::job::{
    parse_metadata, parse_shift, parse_statuses, parse_time, JobSpec, OperationKind,
    RescheduleTarget, Selector, SpecError, Target, TimeSpec, Window,
};
use crate::ops::{
    self, Archive, CronSelection, CronsDelete, Manifest, Operation, RunSelection, RunsCancel,
    RunsReplay, ScheduledDelete, ScheduledFilter, ScheduledRecreate, ScheduledReschedule,
    ScheduledSelection, Source, TargetRule,
};
use crate::store::{
    Begun, Counts, Item, ItemState, JobRecord, JobState, Lease, NewJob, SqliteStore,
};

/// The selection flags as typed, for any operation (each subcommand fills what it offers).
#[derive(Debug, Default)]
pub struct SelectInput {
    since: Option<String>,
    until: Option<String>,
    statuses: Vec<String>,
    workflows: Vec<String>,
    metadata: Vec<String>,
    trigger_after: Option<String>,
    trigger_before: Option<String>,
    cron_names: Vec<String>,
    include_code_defined: bool,
    ids_file: Option<String>,
}

impl From<CommonSelectArgs> for SelectInput {
    fn from(a: CommonSelectArgs) -> Self {
        SelectInput {
            since: a.since,
            until: a.until,
            workflows: a.workflows,
            metadata: a.metadata,
            ids_file: a.ids_file,
            ..SelectInput::default()
        }
    }
}

impl From<RunSelectArgs> for SelectInput {
    fn from(a: RunSelectArgs) -> Self {
        SelectInput {
            statuses: a.statuses,
            ..a.common.into()
        }
    }
}

impl From<ScheduledSelectArgs> for SelectInput {
    fn from(a: ScheduledSelectArgs) -> Self {
        SelectInput {
            trigger_after: a.trigger_after,
            trigger_before: a.trigger_before,
            ..a.common.into()
        }
    }
}

impl From<CronSelectArgs> for SelectInput {
    fn from(a: CronSelectArgs) -> Self {
        SelectInput {
            cron_names: a.cron_names,
            include_code_defined: a.include_code_defined,
            ..a.common.into()
        }
    }
}

/// What a command asked of execution, from whichever of the flag groups in `args` it offers;
/// a flag a command does not offer stays at its default here.
#[derive(Debug, Default, Clone)]
pub struct Execution {
    pub pace: PaceArgs,
    pub concurrency: Option<usize>,
    pub chunk_size: Option<usize>,
    pub new_job: NewJobArgs,
    pub job_name: Option<String>,
    pub again: bool,
}

impl From<BulkExecArgs> for Execution {
    fn from(a: BulkExecArgs) -> Self {
        Execution {
            pace: a.pace,
            concurrency: a.spread.concurrency,
            chunk_size: a.chunks.chunk_size,
            new_job: a.new_job,
            job_name: a.name.job_name,
            again: false,
        }
    }
}

/// What the user asked for, before validation.
pub struct Request {
    kind: OperationKind,
    select: SelectInput,
}

fn time_flag(flag: &'static str, value: Option<&str>) -> Result<Option<TimeSpec>, SpecError> {
    value.map(|v| TimeSpec::parse(flag, v)).transpose()
}

fn trigger_flag(flag: &'static str, value: Option<&str>) -> Result<Option<TimeSpec>, SpecError> {
    value.map(|v| TimeSpec::parse_trigger(flag, v)).transpose()
}

impl Request {
    pub fn new(kind: OperationKind, select: impl Into<SelectInput>) -> Self {
        Request {
            kind,
            select: select.into(),
        }
    }

    /// The selector, and the manifest it names (read and validated here: nothing is sent on a
    /// malformed id).
    fn selector(&self) -> Result<(Selector, Option<Manifest>), CliError> {
        let a = &self.select;
        let manifest = a.ids_file.as_deref().map(Manifest::read).transpose()?;
        let selector = Selector {
            since: time_flag("since", a.since.as_deref())?,
            until: time_flag("until", a.until.as_deref())?,
            statuses: parse_statuses(&a.statuses)?,
            workflows: a.workflows.clone(),
            metadata: parse_metadata(&a.metadata)?,
            ids_digest: manifest.as_ref().map(|m| m.digest.clone()),
            trigger_after: trigger_flag("trigger-after", a.trigger_after.as_deref())?,
            trigger_before: trigger_flag("trigger-before", a.trigger_before.as_deref())?,
            cron_names: a.cron_names.clone(),
            include_code_defined: a.include_code_defined,
        };
        Ok((selector, manifest))
    }
}

/// The operation of `scheduled reschedule`, from `--to` / `--shift` (checked here: a target in
/// the past is refused unless allowed).
pub fn reschedule_kind(
    to: Option<&str>,
    shift: Option<&str>,
    allow_past: bool,
) -> Result<OperationKind, CliError> {
    let target = match (to, shift) {
        (Some(to), None) => {
            let at = parse_time(to).map_err(|_| SpecError::BadTarget(to.to_string()))?;
            if at <= Utc::now() && !allow_past {
                return Err(SpecError::TargetInPast.into());
            }
            RescheduleTarget::To(at)
        }
        (None, Some(shift)) => {
            parse_shift(shift)?;
            RescheduleTarget::Shift(shift.trim().to_string())
        }
        _ => return Err(SpecError::RescheduleTarget.into()),
    };
    Ok(OperationKind::ScheduledReschedule { target, allow_past })
}

pub fn load_settings(global: &GlobalArgs, exec: &Execution) -> Result<Settings, CliError> {
    let overrides = Overrides {
        rate: exec.pace.rate,
        concurrency: exec.concurrency,
        chunk_size: exec.chunk_size,
        state: global.state.clone(),
        log_format: global.log_format.clone(),
        verify_timeout: exec.pace.verify_timeout.clone(),
        request_timeout: exec.pace.request_timeout.clone(),
    };
    let settings = Settings::load(global.config.as_deref(), &overrides, std::env::vars_os())?;
    crate::telemetry::init(settings.log_format);
    Ok(settings)
}

pub fn connection_from_env() -> Result<Connection, CliError> {
    let var = |name: &str| std::env::var(name).ok();
    Ok(Connection::resolve(
        var("HATCHET_CLIENT_TOKEN").as_deref(),
        var("HATCHET_CLIENT_SERVER_URL").as_deref(),
        var("HATCHET_CLIENT_TENANT_ID").as_deref(),
        Utc::now(),
    )?
    .with_namespace(var("HATCHET_CLIENT_NAMESPACE").as_deref()))
}

pub fn open_store(settings: &Settings) -> Result<SqliteStore, CliError> {
    Ok(SqliteStore::open(&settings.state)?)
}

/// Read-only calls made before a job starts retry as often as the job's own calls (a 429 or 5xx
/// from a busy server is not bad input) but with short delays, so that an unreachable server is
/// reported within seconds.
fn preflight_caller(settings: &Settings) -> Caller {
    let policy = RetryPolicy {
        max_retries: settings.max_retries,
        min_delay: std::time::Duration::from_millis(200),
        max_delay: std::time::Duration::from_secs(2),
        max_retry_after: std::time::Duration::from_secs(5),
    };
    Caller::new(engine::limiter(50.0), policy)
}

/// Checks the server answers and takes the token. Read-only.
async fn preflight(
    client: &HatchetClient,
    server: &str,
    settings: &Settings,
) -> Result<(), CliError> {
    // A job stored before targets lost their credentials may still carry them.
    let server = without_credentials(server);
    let (result, _) = preflight_caller(settings)
        .call(true, || client.check_access())
        .await;
    match result {
        Ok(()) => Ok(()),
        Err(HatchetError::Status { status: 403, .. }) => Err(CliError::BadInput(format!(
            "the Hatchet server at {server} rejected the token for tenant {} (HTTP 403): use a valid, unrevoked API token of that tenant",
            client.tenant()
        ))),
        // Nothing listens there: most likely a wrong URL, which the user can fix.
        Err(e @ HatchetError::Connect(_)) => Err(CliError::BadInput(format!(
            "cannot reach the Hatchet server at {server} ({e}): check HATCHET_CLIENT_SERVER_URL or the token's server_url"
        ))),
        // It answered, but busy or failing (429, 5xx, timeouts, dropped connections): not the
        // user's input; nothing was sent.
        Err(e) if e.is_transient() => Err(CliError::Interrupted(format!(
            "the Hatchet server at {server} is busy or failing ({e}); nothing was sent: run the same command again later"
        ))),
        Err(e) => Err(CliError::BadInput(format!(
            "the Hatchet server at {server} answered the access check with {e}: check the server URL and token"
        ))),
    }
}

/// The workflows `--workflow` names (ids or names), as `(id, name)`.
async fn resolve_workflows(
    client: &HatchetClient,
    keys: &[String],
    settings: &Settings,
) -> Result<Vec<(String, String)>, CliError> {
    let caller = preflight_caller(settings);
    let mut found = Vec::new();
    for key in keys {
        let (workflow, _) = caller.call(true, || client.find_workflow(key)).await;
        // The access check passed just before: whatever fails now is the server's, not input.
        let workflow = workflow.map_err(|e| {
            CliError::Interrupted(format!(
                "looking up workflow '{key}' failed ({e}); nothing was sent: run the same command again later"
            ))
        })?;
        match workflow {
            Some(workflow) => found.push(workflow),
            None => {
                return Err(CliError::BadInput(format!(
                    "unknown workflow '{key}' in tenant {}: check the name (it is case-sensitive) or id, and HATCHET_CLIENT_NAMESPACE",
                    client.tenant()
                )))
            }
        }
    }
    Ok(found)
}

fn engine_settings(
    settings: &Settings,
    exec: &Execution,
    kind: &OperationKind,
    owner: String,
) -> EngineSettings {
    let concurrency = if ops::rules(kind).one_request_at_a_time {
        1
    } else {
        settings.concurrency
    };
    EngineSettings {
        concurrency,
        retry: retry_policy(settings),
        verify: !exec.pace.no_verify,
        verify_timeout: settings.verify_timeout,
        verify_poll: settings.verify_poll,
        owner,
    }
}

fn retry_policy(settings: &Settings) -> RetryPolicy {
    RetryPolicy {
        max_retries: settings.max_retries,
        min_delay: std::time::Duration::from_millis(200),
        max_delay: std::time::Duration::from_secs(10),
        max_retry_after: std::time::Duration::from_secs(60),
    }
}

/// Calls `visit` with every item of job `of` the server accepted, in enumeration order.
pub(super) fn walk_accepted(
    store: &SqliteStore,
    of: &str,
    mut visit: impl FnMut(Item) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let mut after = -1;
    loop {
        let batch = store.accepted_items(of, after, 5000)?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.seq;
        batch.into_iter().try_for_each(&mut visit)?;
    }
}

/// The items an undo job walks: what the server accepted of job `of`, with their payloads.
fn archive(store: &SqliteStore, of: &str) -> Result<Archive, CliError> {
    let mut items = Vec::new();
    walk_accepted(store, of, |item| {
        items.extend(item.payload.map(|payload| (item.id, payload)));
        Ok(())
    })?;
    Ok(Archive::new(items))
}

/// Builds the operation of a job; workflow names are resolved to ids here, relative trigger
/// times against the job's creation, and a manifest's ids come from the store.
async fn build_operation(
    spec: &JobSpec,
    window: Window,
    created: DateTime<Utc>,
    client: HatchetClient,
    settings: &Settings,
    store: &SqliteStore,
) -> Result<Arc<dyn Operation>, CliError> {
    let selector = &spec.selector;
    let manifest = match &selector.ids_digest {
        Some(digest) => {
            let ids = store.manifest(digest)?;
            if ids.is_empty() {
                return Err(bad(format!(
                    "the ids of this job are not in {}: run it again with its --ids-file",
                    store.path().display()
                )));
            }
            Some(ids)
        }
        None => None,
    };
    let workflows = resolve_workflows(&client, &selector.workflows, settings).await?;
    let workflow_ids: Vec<String> = workflows.iter().map(|(id, _)| id.clone()).collect();
    let runs = || match manifest.clone() {
        Some(ids) => RunSelection::from_manifest(client.clone(), window, ids),
        None => RunSelection::new(
            client.clone(),
            window,
            if selector.statuses.is_empty() {
                spec.operation.default_statuses().to_vec()
            } else {
                selector.statuses.clone()
            },
            workflow_ids.clone(),
            selector.metadata.clone(),
            spec.operation == OperationKind::RunsReplay,
            settings.slice_target,
        ),
    };
    let trigger = |time: &Option<TimeSpec>| time.as_ref().map(|t| t.resolve(created)).transpose();
    let (trigger_after, trigger_before) = (
        trigger(&selector.trigger_after)?,
        trigger(&selector.trigger_before)?,
    );
    let scheduled = || {
        let filter = ScheduledFilter {
            workflow_ids: workflow_ids.clone(),
            metadata: selector.metadata.clone(),
            trigger_after,
            trigger_before,
            created: window,
        };
        match manifest.clone() {
            Some(ids) => ScheduledSelection::from_manifest(client.clone(), filter, ids),
            None => ScheduledSelection::new(client.clone(), filter),
        }
    };
    let op: Arc<dyn Operation> = match &spec.operation {
        OperationKind::RunsCancel => Arc::new(RunsCancel::new(runs())),
        OperationKind::RunsReplay => Arc::new(RunsReplay::new(
            runs(),
            settings.verify_poll * 5,
            settings.replay_interval,
        )),
        OperationKind::ScheduledDelete => Arc::new(ScheduledDelete::new(scheduled())),
        OperationKind::ScheduledReschedule { target, allow_past } => {
            let rule = match target {
                RescheduleTarget::To(at) => TargetRule::To(*at),
                RescheduleTarget::Shift(text) => TargetRule::Shift(parse_shift(text)?),
            };
            Arc::new(ScheduledReschedule::new(
                client.clone(),
                Source::Select(Box::new(scheduled()), rule),
                *allow_past,
            ))
        }
        OperationKind::ScheduledRestore { of } => Arc::new(ScheduledReschedule::new(
            client,
            Source::Restore(archive(store, of)?),
            false,
        )),
        OperationKind::ScheduledRecreate { of } => {
            Arc::new(ScheduledRecreate::new(client, archive(store, of)?))
        }
        OperationKind::CronsDelete => Arc::new(CronsDelete::new(
            client,
            CronSelection {
                workflows: workflows.into_iter().map(|(_, name)| name).collect(),
                cron_names: selector.cron_names.clone(),
                metadata: selector.metadata.clone(),
                created: window,
                include_code_defined: selector.include_code_defined,
            },
            manifest,
        )),
    };
    Ok(op)
}

/// Items per chunk: as configured, within the operation's bounds.
fn chunk_size(kind: &OperationKind, configured: Option<usize>) -> usize {
    let rules = ops::rules(kind);
    configured
        .unwrap_or(rules.chunk_default)
        .min(rules.chunk_max)
}

fn named_identity(name: &str, target: &Target) -> String {
    let digest = Sha256::digest(format!(
        "name\0{name}\0{}\0{}",
        target.server_url, target.tenant
    ));
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn started_by() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Runs a new job, or resumes the unfinished one with the same identity.
pub fn run_new(global: &GlobalArgs, req: Request, exec: &Execution) -> Result<Exit, CliError> {
    let settings = load_settings(global, exec)?;
    let (selector, manifest) = req.selector()?;
    let conn = connection_from_env()?;
    // The target is stored, shown and hashed into the job's identity: never with a password.
    let target = Target {
        server_url: without_credentials(conn.server_url.as_str()),
        tenant: conn.tenant.to_string(),
    };
    let spec = JobSpec::new(req.kind, selector, target)?;
    run_spec(global, settings, conn, spec, manifest, exec)
}

/// Runs a validated spec as a new job, or resumes the unfinished one with its identity.
pub fn run_spec(
    global: &GlobalArgs,
    settings: Settings,
    conn: Connection,
    spec: JobSpec,
    manifest: Option<Manifest>,
    exec: &Execution,
) -> Result<Exit, CliError> {
    let now = Utc::now();
    let window = spec.resolve_window(now)?;
    let mut store = open_store(&settings)?;
    if let Some(m) = &manifest {
        // Kept in the store so a resume never needs the file again.
        store.put_manifest(&m.digest, &m.ids)?;
    }
    let client = HatchetClient::new(conn, settings.request_timeout)?;
    let identity = match &exec.job_name {
        Some(name) => named_identity(name, &spec.target),
        None => spec.identity(),
    };
    actix::System::new().block_on(async move {
        preflight(&client, &spec.target.server_url, &settings).await?;
        // A first look, for the window to build the operation with and for what to ask; the
        // job itself is created or resumed, and taken, in one transaction below.
        let existing = store.open_job(&identity)?;
        if let Some(job) = &existing {
            refuse_another_selection(job, &spec)?;
        }
        let (window, created) = existing
            .as_ref()
            .map_or((window, now), |job| (job.window, job.created_at));
        let mut op =
            build_operation(&spec, window, created, client.clone(), &settings, &store).await?;
        if exec.new_job.dry_run {
            let found = survey(op.as_ref(), &settings, Depth::Everything).await?;
            output::dry_run(global.output, &found)?;
            return Ok(Exit::Success);
        }
        // An unfinished job was confirmed when it was created: it resumes without asking.
        if existing.is_none() {
            refuse_accidental_repeat(&store, &identity, &spec, exec)?;
            let asking = must_ask(exec.new_job.yes)?;
            // The count comes first in a question; without one, finding one item is enough
            // to know the job is not empty.
            let depth = if asking {
                Depth::Everything
            } else {
                Depth::FirstMatch
            };
            let found = survey(op.as_ref(), &settings, depth).await?;
            if found.matching == 0 {
                output::nothing_matches(global.output, &spec)?;
                return Ok(Exit::Success);
            }
            if asking {
                confirm(&output::confirmation(&spec, &window, now, &found))?;
            }
        }
        let owner = crate::store::this_process();
        let new = NewJob {
            identity,
            name: exec.job_name.clone(),
            spec: spec.clone(),
            window,
            cursor: op.initial_cursor(),
            chunk_size: chunk_size(&spec.operation, settings.chunk_size),
            started_by: started_by(),
            reason: exec.new_job.reason.clone(),
        };
        let begun = store.begin_job(new, &owner, now)?.map_err(held)?;
        let job = store.job(begun.job_id())?.ok_or_else(|| {
            CliError::Interrupted(format!(
                "job {} vanished from {} as it began: run the same command again",
                begun.job_id(),
                store.path().display()
            ))
        })?;
        match &begun {
            Begun::Resumed(id) => {
                tracing::info!(job = %id, "resuming the unfinished job with the same identity");
                if existing.as_ref().map(|j| &j.id) != Some(id) {
                    refuse_another_selection(&job, &spec)?;
                    // Another process created it after the first look: its window rules.
                    op = build_operation(
                        &spec,
                        job.window,
                        job.created_at,
                        client,
                        &settings,
                        &store,
                    )
                    .await?;
                }
            }
            Begun::Created(_) => {}
        }
        execute(job, store, op, owner, &settings, exec, global).await
    })
}

/// A job named with `--job` is resumed by name: run again with another selection or operation,
/// it would go on enumerating and acting with the new one over what the old one enumerated.
fn refuse_another_selection(job: &JobRecord, spec: &JobSpec) -> Result<(), CliError> {
    if job.spec == *spec {
        return Ok(());
    }
    Err(bad(format!(
        "job {} is unfinished with another selection or operation ({}): resume it with `bulkops jobs resume {}`, or give it up with `bulkops jobs abort {}` before running this one",
        job.id,
        job.spec.operation.name(),
        job.id,
        job.id
    )))
}

/// The refusal of a job another live process holds: the same words wherever it is met.
fn held(lease: Lease) -> CliError {
    bad(format!(
        "job {} is being run by process {} (last heartbeat {}): wait for it to end, or stop it with `bulkops jobs pause {}`",
        lease.job,
        lease.owner,
        lease.heartbeat.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        lease.job
    ))
}

/// A re-run after a crash cannot tell whether the job finished just before it, so re-running a
/// finished job whose effect repeats (it would shift every row once more) needs `--again`, and a
/// finished undo is not run again at all. A job named with `--job` is meant to recur (cron) and
/// is not held back.
fn refuse_accidental_repeat(
    store: &SqliteStore,
    identity: &str,
    spec: &JobSpec,
    exec: &Execution,
) -> Result<(), CliError> {
    if exec.again || exec.job_name.is_some() || !spec.operation.repeats_its_effect() {
        return Ok(());
    }
    let Some(job) = store.finished_job(identity)? else {
        return Ok(());
    };
    let finished = job
        .finished_at
        .unwrap_or(job.created_at)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Err(bad(match spec.operation.undoes() {
        Some(of) => format!(
            "job {of} was already undone by job {} (finished {finished}): undoing it again would re-create or move back the same rows again; see `bulkops report {}`",
            job.id, job.id
        ),
        None => format!(
            "this exact {} already finished as job {} at {finished}: running it again would move the same rows again; see `bulkops report {}`, or pass --again to do it once more",
            spec.operation.name(),
            job.id,
            job.id
        ),
    }))
}

/// Resumes a job by id, with the connection from the environment.
pub fn resume(global: &GlobalArgs, job_id: &str, exec: &Execution) -> Result<Exit, CliError> {
    let settings = load_settings(global, exec)?;
    let conn = connection_from_env()?;
    let mut store = open_store(&settings)?;
    let job = store.job(job_id)?.ok_or_else(|| {
        bad(format!(
            "no job '{job_id}' in {}: see `bulkops jobs list`",
            settings.state.display()
        ))
    })?;
    if !job.state.is_open() {
        return Err(bad(format!(
            "job {job_id} is {}: nothing to resume",
            job.state.as_str()
        )));
    }
    if exec.concurrency.is_some() && ops::rules(&job.spec.operation).one_request_at_a_time {
        return Err(bad(format!(
            "job {job_id} is a replay, which sends one request at a time: drop --concurrency"
        )));
    }
    if job.spec.target.tenant != conn.tenant.to_string() {
        return Err(bad(format!(
            "job {job_id} belongs to tenant {}, but the token is for tenant {}: use that tenant's token",
            job.spec.target.tenant, conn.tenant
        )));
    }
    let client = HatchetClient::new(conn, settings.request_timeout)?;
    actix::System::new().block_on(async move {
        preflight(&client, &job.spec.target.server_url, &settings).await?;
        let op = build_operation(
            &job.spec,
            job.window,
            job.created_at,
            client,
            &settings,
            &store,
        )
        .await?;
        let owner = crate::store::this_process();
        store
            .claim_job(&job.id, &owner, Utc::now())?
            .map_err(held)?;
        execute(job, store, op, owner, &settings, exec, global).await
    })
}

/// Whether to ask before creating a job: on a terminal unless `--yes`. Off a terminal (cron,
/// CI, a container) nobody can answer, so a job that is not confirmed with `--yes` is refused
/// rather than run unasked.
fn must_ask(yes: bool) -> Result<bool, CliError> {
    if yes {
        return Ok(false);
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        return Ok(true);
    }
    Err(bad(
        "not a terminal: pass --yes to run without confirmation",
    ))
}

/// Asks `question` on the terminal; anything but yes is no.
fn confirm(question: &str) -> Result<(), CliError> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(bad)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES") {
        Ok(())
    } else {
        Err(CliError::BadInput("not confirmed: nothing was sent".into()))
    }
}

/// What enumeration finds for a selection before any job exists: what a dry run shows, what a
/// confirmation counts, and whether there is anything to do at all.
#[derive(Debug, Default)]
pub(super) struct Survey {
    pub matching: u64,
    /// The first few ids.
    pub sample: Vec<String>,
    /// Items enumeration already settles as skipped (code-defined rows, active runs, ...), by
    /// reason, the most frequent first.
    pub skipped: Vec<(String, u64)>,
}

impl Survey {
    /// The items the job would act on.
    pub fn to_act_on(&self) -> u64 {
        let skipped: u64 = self.skipped.iter().map(|(_, n)| n).sum();
        self.matching.saturating_sub(skipped)
    }
}

const SAMPLE: usize = 5;

/// How far a survey reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    Everything,
    /// Up to the first page with an item in it.
    FirstMatch,
}

/// Enumerates the selection as the job would (read-only), counting and sampling.
async fn survey(op: &dyn Operation, settings: &Settings, depth: Depth) -> Result<Survey, CliError> {
    let caller = Caller::new(engine::limiter(settings.rate), retry_policy(settings));
    let mut cursor = Some(op.initial_cursor());
    let mut found = Survey::default();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(at) = cursor {
        let page = op.enumerate(&caller, &at).await?;
        for item in page.items {
            found.matching += 1;
            if found.sample.len() < SAMPLE {
                found.sample.push(item.id);
            }
            if let Some((ItemState::Skipped, reason)) = item.settled {
                *skipped.entry(reason).or_default() += 1;
            }
        }
        if depth == Depth::FirstMatch && found.matching > 0 {
            break;
        }
        cursor = page.next_cursor;
    }
    found.skipped = skipped.into_iter().collect();
    // Stable: equal counts keep the reasons' order.
    found.skipped.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    Ok(found)
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate => {},
    }
}

/// A warning the summary of a finished job must carry.
fn finish_warning(job: &JobRecord, counts: &Counts) -> Option<String> {
    let code_defined_crons =
        job.spec.operation == OperationKind::CronsDelete && job.spec.selector.include_code_defined;
    (code_defined_crons && counts.done > 0).then(|| {
        "warning: code-defined crons deleted with --include-code-defined come back when their workflow is next deployed with a changed definition".to_string()
    })
}

/// Runs a job this process has taken (its lease is `owner`'s) to its end or an interruption.
pub async fn execute(
    job: JobRecord,
    mut store: SqliteStore,
    op: Arc<dyn Operation>,
    owner: String,
    settings: &Settings,
    exec: &Execution,
    global: &GlobalArgs,
) -> Result<Exit, CliError> {
    let verify_timeout = (!exec.pace.no_verify).then_some(settings.verify_timeout);
    let bars = crate::telemetry::progress_bars()
        .filter(|_| crate::telemetry::interactive(settings.log_format));
    let progress: Box<dyn Progress> = match bars {
        Some(bars) => Box::new(TtyProgress::new(&job.id, verify_timeout, bars)),
        None => Box::new(JsonProgress::new(&job.id, verify_timeout)),
    };
    let state_path = store.path().to_path_buf();
    let engine_settings = engine_settings(settings, exec, &job.spec.operation, owner);
    if job.state == JobState::Paused {
        store.set_job_state(&job.id, JobState::Running, Utc::now())?;
    }
    // A rate set by `jobs retune` holds on resume unless --rate says otherwise.
    let rate = match (exec.pace.rate, job.rate) {
        (None, Some(retuned)) => retuned,
        _ => settings.rate,
    };
    let (done_tx, done_rx) = oneshot::channel();
    let coordinator = Coordinator::new(
        job.clone(),
        store,
        op,
        engine_settings,
        engine::limiter(rate),
        progress,
        done_tx,
    )?
    .start();
    let stopper = coordinator.clone();
    actix::spawn(async move {
        shutdown_signal().await;
        stopper.do_send(Stop);
    });
    let Ended { outcome, totals } = done_rx.await.map_err(|_| {
        CliError::Interrupted(format!(
            "the engine stopped without an outcome: run the same command again (or `bulkops jobs resume {}`) to resume",
            job.id
        ))
    })?;
    if let RunOutcome::Interrupted {
        error: Some(EngineError::Store(e)),
        ..
    } = &outcome
    {
        if e.concerns_the_file() {
            // Not opened again: the file moved, vanished or fails, and no report comes from it.
            return Err(CliError::JobStopped {
                job: job.id,
                source: e.clone(),
            });
        }
    }
    // Reopen the store for the report: the coordinator owned it.
    let store = SqliteStore::open(&state_path)?;
    let job = store.job(&job.id)?.unwrap_or(job);
    match outcome {
        RunOutcome::Finished(counts) => {
            let report = crate::report::save_report(
                &store,
                &job,
                &crate::report::reports_beside(&state_path),
            )?;
            let exit = if counts.failed + counts.unconfirmed > 0 {
                Exit::ItemFailures
            } else {
                Exit::Success
            };
            output::summary(
                global.output,
                &job,
                &output::Ending {
                    state: "finished",
                    counts: &counts,
                    report: Some(&report.display().to_string()),
                    exit,
                    note: finish_warning(&job, &counts).as_deref(),
                    totals: &totals,
                },
            );
            Ok(exit)
        }
        RunOutcome::Interrupted { counts, error } => {
            let note = match (error, job.state) {
                (Some(e), _) => format!("stopped by an error: {e}. Run the same command again (or `bulkops jobs resume {}`) to resume", job.id),
                (None, JobState::Paused) => format!("paused by `bulkops jobs pause`. `bulkops jobs resume {}` (or the same command) continues it", job.id),
                (None, JobState::Aborted) => "aborted by `bulkops jobs abort`: nothing more is sent for it".to_string(),
                (None, _) => format!("interrupted. Run the same command again (or `bulkops jobs resume {}`) to resume", job.id),
            };
            output::summary(
                global.output,
                &job,
                &output::Ending {
                    state: "interrupted",
                    counts: &counts,
                    report: None,
                    exit: Exit::Interrupted,
                    note: Some(&note),
                    totals: &totals,
                },
            );
            Ok(Exit::Interrupted)
        }
    }
}
