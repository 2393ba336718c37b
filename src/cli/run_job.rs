//! The flow of one job run: settings, connection, validation (nothing sent on bad input),
//! preflight, create or resume, dry run or confirmation, the engine, the summary.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use actix::Actor;
use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::args::{ExecArgs, GlobalArgs, RunSelectArgs};
use super::{bad, failed, output, CliError, Exit};
use crate::backend::hatchet::{Connection, HatchetClient, HatchetError};
use crate::config::{Overrides, Settings};
use crate::engine::{
    self, Caller, Coordinator, EngineSettings, JsonProgress, Progress, RetryPolicy, RunOutcome,
    Stop, TtyProgress,
};
use crate::job::{
    JobSpec, MetadataPair, OperationKind, RunStatus, Selector, Target, TimeSpec, Window,
};
use crate::ops::{Operation, RunSelection, RunsCancel};
use crate::store::{JobRecord, NewJob, Store};

/// What the user asked for, before validation.
pub struct Request {
    kind: OperationKind,
    runs: RunSelectArgs,
}

impl Request {
    pub fn runs(kind: OperationKind, runs: RunSelectArgs) -> Self {
        Request { kind, runs }
    }

    fn selector(&self) -> Result<Selector, CliError> {
        let a = &self.runs;
        Ok(Selector {
            since: a
                .since
                .as_deref()
                .map(|v| TimeSpec::parse("since", v))
                .transpose()
                .map_err(bad)?,
            until: a
                .until
                .as_deref()
                .map(|v| TimeSpec::parse("until", v))
                .transpose()
                .map_err(bad)?,
            statuses: a
                .statuses
                .iter()
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.parse::<RunStatus>())
                .collect::<Result<_, _>>()
                .map_err(bad)?,
            workflows: a.workflows.clone(),
            metadata: a
                .metadata
                .iter()
                .map(|m| m.parse::<MetadataPair>())
                .collect::<Result<_, _>>()
                .map_err(bad)?,
            ..Selector::default()
        })
    }
}

pub fn load_settings(global: &GlobalArgs, exec: &ExecArgs) -> Result<Settings, CliError> {
    let overrides = Overrides {
        rate: exec.rate,
        concurrency: exec.concurrency,
        chunk_size: exec.chunk_size,
        state: global.state.clone(),
        log_format: global.log_format.clone(),
        verify_timeout: exec.verify_timeout.clone(),
        request_timeout: exec.request_timeout.clone(),
    };
    let settings = Settings::load(global.config.as_deref(), &overrides).map_err(bad)?;
    crate::telemetry::init(settings.log_format);
    Ok(settings)
}

pub fn connection_from_env() -> Result<Connection, CliError> {
    let var = |name: &str| std::env::var(name).ok();
    Connection::resolve(
        var("HATCHET_CLIENT_TOKEN").as_deref(),
        var("HATCHET_CLIENT_SERVER_URL").as_deref(),
        var("HATCHET_CLIENT_TENANT_ID").as_deref(),
        Utc::now(),
    )
    .map_err(bad)
}

pub fn open_store(settings: &Settings) -> Result<Store, CliError> {
    Store::open(&settings.state).map_err(bad)
}

/// Checks the server answers and takes the token. Read-only.
async fn preflight(client: &HatchetClient, server: &str) -> Result<(), CliError> {
    match client.check_access().await {
        Ok(()) => Ok(()),
        Err(HatchetError::Status { status: 403, .. }) => Err(CliError::BadInput(format!(
            "the Hatchet server at {server} rejected the token for tenant {} (HTTP 403): use a valid, unrevoked API token of that tenant",
            client.tenant()
        ))),
        Err(e @ (HatchetError::Connect(_) | HatchetError::Timeout(_) | HatchetError::Transport(_))) => {
            Err(CliError::BadInput(format!(
                "cannot reach the Hatchet server at {server} ({e}): check HATCHET_CLIENT_SERVER_URL or the token's server_url"
            )))
        }
        Err(e) => Err(CliError::BadInput(format!(
            "the Hatchet server at {server} answered the access check with {e}: check the server URL and token"
        ))),
    }
}

async fn resolve_workflows(client: &HatchetClient, names: &[String]) -> Result<Vec<String>, CliError> {
    let mut ids = Vec::new();
    for name in names {
        match client.workflow_id(name).await.map_err(failed)? {
            Some(id) => ids.push(id),
            None => {
                return Err(CliError::BadInput(format!(
                    "unknown workflow '{name}' in tenant {}: check the name (it is case-sensitive; with a namespace, include its prefix)",
                    client.tenant()
                )))
            }
        }
    }
    Ok(ids)
}

fn engine_settings(settings: &Settings, exec: &ExecArgs) -> EngineSettings {
    EngineSettings {
        concurrency: settings.concurrency,
        retry: retry_policy(settings),
        verify: !exec.no_verify,
        verify_timeout: settings.verify_timeout,
        verify_poll: settings.verify_poll,
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

/// Builds the operation of a job; workflow names are resolved to ids here.
async fn build_operation(
    spec: &JobSpec,
    window: Window,
    client: HatchetClient,
    settings: &Settings,
) -> Result<Arc<dyn Operation>, CliError> {
    let selector = &spec.selector;
    let workflow_ids = resolve_workflows(&client, &selector.workflows).await?;
    let statuses_or = |default: &[RunStatus]| {
        if selector.statuses.is_empty() {
            default.to_vec()
        } else {
            selector.statuses.clone()
        }
    };
    let op: Arc<dyn Operation> = match &spec.operation {
        OperationKind::RunsCancel => Arc::new(RunsCancel::new(RunSelection::new(
            client,
            window,
            statuses_or(&[RunStatus::Queued, RunStatus::Running]),
            workflow_ids,
            selector.metadata.clone(),
            false,
            settings.slice_target,
        ))),
        other => {
            return Err(CliError::BadInput(format!(
                "{} is not available in this build",
                other.name()
            )))
        }
    };
    Ok(op)
}

fn named_identity(name: &str, target: &Target) -> String {
    let digest = Sha256::digest(format!("name\0{name}\0{}\0{}", target.server_url, target.tenant));
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn started_by() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Runs a new job, or resumes the unfinished one with the same identity.
pub fn run_new(global: &GlobalArgs, req: Request, exec: &ExecArgs) -> Result<Exit, CliError> {
    let settings = load_settings(global, exec)?;
    let selector = req.selector()?;
    let conn = connection_from_env()?;
    let target = Target {
        server_url: conn.server_url.to_string(),
        tenant: conn.tenant.to_string(),
    };
    let spec = JobSpec::new(req.kind, selector, target).map_err(bad)?;
    let window = spec.resolve_window(Utc::now()).map_err(bad)?;
    let mut store = open_store(&settings)?;
    let client = HatchetClient::new(conn, settings.request_timeout).map_err(bad)?;
    let identity = match &exec.job_name {
        Some(name) => named_identity(name, &spec.target),
        None => spec.identity(),
    };
    actix::System::new().block_on(async move {
        preflight(&client, &spec.target.server_url).await?;
        let existing = store.open_job(&identity).map_err(failed)?;
        let window = existing.as_ref().map_or(window, |job| job.window);
        let op = build_operation(&spec, window, client, &settings).await?;
        if exec.dry_run {
            return dry_run(op.as_ref(), &settings, global).await;
        }
        let job = match existing {
            Some(job) => {
                tracing::info!(job = %job.id, "resuming the unfinished job with the same identity");
                job
            }
            None => {
                confirm(&spec, &window, exec.yes)?;
                store
                    .create_job(
                        NewJob {
                            identity,
                            name: exec.job_name.clone(),
                            spec: spec.clone(),
                            window,
                            cursor: op.initial_cursor(),
                            chunk_size: settings.chunk_size,
                            started_by: started_by(),
                            reason: exec.reason.clone(),
                        },
                        Utc::now(),
                    )
                    .map_err(failed)?
            }
        };
        execute(job, store, op, &settings, exec, global).await
    })
}

/// Resumes a job by id, with the connection from the environment.
pub fn resume(global: &GlobalArgs, job_id: &str, exec: &ExecArgs) -> Result<Exit, CliError> {
    let settings = load_settings(global, exec)?;
    let conn = connection_from_env()?;
    let store = open_store(&settings)?;
    let job = store
        .job(job_id)
        .map_err(failed)?
        .ok_or_else(|| bad(format!("no job '{job_id}' in {}: see `bulkops jobs list`", settings.state.display())))?;
    if !job.state.is_open() {
        return Err(bad(format!("job {job_id} is {}: nothing to resume", job.state.as_str())));
    }
    if job.spec.target.tenant != conn.tenant.to_string() {
        return Err(bad(format!(
            "job {job_id} belongs to tenant {}, but the token is for tenant {}: use that tenant's token",
            job.spec.target.tenant, conn.tenant
        )));
    }
    let client = HatchetClient::new(conn, settings.request_timeout).map_err(bad)?;
    actix::System::new().block_on(async move {
        preflight(&client, &job.spec.target.server_url).await?;
        let op = build_operation(&job.spec, job.window, client, &settings).await?;
        execute(job, store, op, &settings, exec, global).await
    })
}

fn confirm(spec: &JobSpec, window: &Window, yes: bool) -> Result<(), CliError> {
    if yes || !std::io::stdin().is_terminal() {
        return Ok(());
    }
    eprint!(
        "About to {} items selected by {} in ({}, {}] on tenant {} at {}.\nContinue? [y/N] ",
        spec.operation.name(),
        serde_json::to_string(&spec.selector).unwrap_or_default(),
        window.since,
        window.until,
        spec.target.tenant,
        spec.target.server_url
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(bad)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES") {
        Ok(())
    } else {
        Err(CliError::BadInput("not confirmed: nothing was sent".into()))
    }
}

async fn dry_run(op: &dyn Operation, settings: &Settings, global: &GlobalArgs) -> Result<Exit, CliError> {
    let caller = Caller::new(engine::limiter(settings.rate), retry_policy(settings));
    let mut cursor = Some(op.initial_cursor());
    let mut count = 0u64;
    let mut sample = Vec::new();
    while let Some(at) = cursor {
        let page = op.enumerate(&caller, &at).await.map_err(failed)?;
        for item in page.items {
            count += 1;
            if sample.len() < 5 {
                sample.push(item.id);
            }
        }
        cursor = page.next_cursor;
    }
    match global.output {
        super::args::Output::Json => println!(
            "{}",
            serde_json::json!({"dry_run": true, "matching": count, "sample": sample})
        ),
        super::args::Output::Text => {
            println!("dry run: {count} matching items; nothing was changed");
            for id in sample {
                println!("  {id}");
            }
        }
    }
    Ok(Exit::Success)
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

pub async fn execute(
    job: JobRecord,
    store: Store,
    op: Arc<dyn Operation>,
    settings: &Settings,
    exec: &ExecArgs,
    global: &GlobalArgs,
) -> Result<Exit, CliError> {
    let progress: Box<dyn Progress> = if crate::telemetry::interactive(settings.log_format) {
        Box::new(TtyProgress::new(&job.id))
    } else {
        Box::new(JsonProgress::default())
    };
    let state_path = store.path().to_path_buf();
    let (done_tx, done_rx) = oneshot::channel();
    let coordinator = Coordinator::new(
        job.clone(),
        store,
        op,
        engine_settings(settings, exec),
        engine::limiter(settings.rate),
        progress,
        done_tx,
    )
    .map_err(failed)?
    .start();
    let stopper = coordinator.clone();
    actix::spawn(async move {
        shutdown_signal().await;
        stopper.do_send(Stop);
    });
    let outcome = done_rx
        .await
        .map_err(|_| failed("the engine stopped without an outcome"))?;
    // Reopen the store for the report: the coordinator owned it.
    let store = Store::open(&state_path).map_err(failed)?;
    let job = store.job(&job.id).map_err(failed)?.unwrap_or(job);
    match outcome {
        RunOutcome::Finished(counts) => {
            let report = crate::report::save_report(&store, &job).map_err(failed)?;
            let exit = if counts.failed + counts.unconfirmed > 0 {
                Exit::ItemFailures
            } else {
                Exit::Success
            };
            output::summary(
                global.output,
                &job,
                "finished",
                &counts,
                Some(&report.display().to_string()),
                exit,
                None,
            );
            Ok(exit)
        }
        RunOutcome::Interrupted { counts, error } => {
            let note = match error {
                Some(e) => format!("stopped by an error: {e}. Run the same command again (or `bulkops jobs resume {}`) to resume", job.id),
                None => format!("interrupted. Run the same command again (or `bulkops jobs resume {}`) to resume", job.id),
            };
            output::summary(global.output, &job, "interrupted", &counts, None, Exit::Interrupted, Some(&note));
            Ok(Exit::Interrupted)
        }
    }
}
