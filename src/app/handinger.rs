//! Handinger jobs: the key and base URL read as the SDK reads them, the selection checked and
//! every worker looked up before anything is sent; then the life every job has
//! (`run::run_planned`).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::pace::{preflight_policy, Pace};
use super::run::{arrive, named_identity, run_planned, Build, Planned};
use super::undo::accepted_payloads;
use super::{Credentials, Error, Execution, Frontend, Outcome};
use crate::backend::handinger::models::WorkerSchedule;
use crate::backend::handinger::{
    ConnectionError, HandingerClient, HandingerConnection, HandingerError,
};
use crate::config::Settings;
use crate::engine::{self, Caller, Failure};
use crate::job::{HandingerJob, HandingerOperation, HandingerTarget, JobSpec, Window};
use crate::ops::{
    HandingerCancel, HandingerReschedule, HandingerSelection, Operation, RescheduleError,
    SelectionError, WorkerPages,
};
use crate::store::Store;

/// A new Handinger job as asked.
#[derive(Debug, Clone)]
pub struct HandingerRequest {
    pub operation: HandingerOperation,
    pub selection: HandingerSelection,
}

/// Why a Handinger job cannot start; nothing was sent but read-only lists.
#[derive(Debug, thiserror::Error)]
pub enum HandingerCheck {
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error(transparent)]
    Selection(#[from] SelectionError),
    #[error(transparent)]
    Replacement(#[from] RescheduleError),
    #[error("--workers-file {path} cannot be read ({reason}): give a readable file, or - for standard input")]
    WorkersFile { path: String, reason: String },
    #[error("--ids-file {path} cannot be read ({reason}): give a readable file, or - for standard input")]
    IdsFile { path: String, reason: String },
    #[error("worker {worker} is not on the Handinger server at {server} (404): check the id, or drop it from --worker / --workers-file")]
    UnknownWorker { worker: String, server: String },
    #[error("the Handinger server at {server} rejected HANDINGER_API_KEY (HTTP {status}): use a valid API key of the account that owns the workers")]
    KeyRejected { server: String, status: u16 },
    #[error("cannot reach the Handinger server at {server} ({source}): check HANDINGER_BASE_URL")]
    Unreachable {
        server: String,
        source: HandingerError,
    },
    #[error("the Handinger server at {server} is busy or failing ({source}); nothing was sent: run the same command again later")]
    Busy {
        server: String,
        source: HandingerError,
    },
    #[error("the Handinger server at {server} answered the list of worker {worker} with {source}: check HANDINGER_BASE_URL and the key")]
    Refused {
        server: String,
        worker: String,
        source: HandingerError,
    },
    #[error("job {job} acts on the Handinger server at {job_server}, but HANDINGER_BASE_URL says {server}: set HANDINGER_BASE_URL={job_server}")]
    OtherServer {
        job: String,
        job_server: String,
        server: String,
    },
}

impl HandingerCheck {
    /// Busy or failing is the server's, and passes; the rest the user fixes.
    pub fn is_transient(&self) -> bool {
        matches!(self, HandingerCheck::Busy { .. })
    }

    pub fn cause(&self) -> &'static str {
        match self {
            HandingerCheck::Connection(ConnectionError::MissingKey) => "handinger_key_missing",
            HandingerCheck::Connection(_) => "handinger_connection",
            HandingerCheck::Selection(_) => "invalid_selection",
            HandingerCheck::Replacement(_) => "invalid_replacement",
            HandingerCheck::WorkersFile { .. } => "workers_file",
            HandingerCheck::IdsFile { .. } => "ids_file",
            HandingerCheck::UnknownWorker { .. } => "unknown_worker",
            HandingerCheck::KeyRejected { .. } => "key_rejected",
            HandingerCheck::Unreachable { .. } => "server_unreachable",
            HandingerCheck::Busy { .. } => "server_busy",
            HandingerCheck::Refused { .. } => "access_refused",
            HandingerCheck::OtherServer { .. } => "other_server",
        }
    }
}

impl Credentials {
    fn handinger(&self) -> Result<HandingerConnection, HandingerCheck> {
        Ok(HandingerConnection::resolve(
            self.handinger_api_key.as_deref(),
            self.handinger_base_url.as_deref(),
        )?)
    }
}

/// Builds a Handinger job's operation; its client was checked against the server.
pub(super) struct HandingerBuild {
    spec: HandingerJob,
    client: HandingerClient,
}

#[async_trait::async_trait(?Send)]
impl Build for HandingerBuild {
    async fn operation(
        &self,
        _window: Window,
        created: DateTime<Utc>,
        store: &dyn Store,
    ) -> Result<Arc<dyn Operation>, Error> {
        let client = self.client.clone();
        let pages = || -> Result<WorkerPages, Error> {
            let filter = self
                .spec
                .selector
                .resolve(created)
                .map_err(HandingerCheck::from)?;
            Ok(WorkerPages::new(client.clone(), filter))
        };
        Ok(match &self.spec.operation {
            HandingerOperation::HandingerCancel => Arc::new(HandingerCancel::new(pages()?)),
            HandingerOperation::HandingerReschedule { replacement } => {
                Arc::new(HandingerReschedule::new(pages()?, replacement.clone()))
            }
            HandingerOperation::HandingerRestore { of } => {
                let done = accepted_payloads(store, of)?;
                Arc::new(
                    HandingerReschedule::undo(client.clone(), done)
                        .map_err(HandingerCheck::from)?,
                )
            }
        })
    }
}

/// Connects as the environment says and checks, read-only, that the key is taken and that
/// every worker the job names exists; `job` names a stored job, whose server must be the one
/// the environment points at.
pub(super) async fn checked(
    settings: &Settings,
    credentials: &Credentials,
    spec: &HandingerJob,
    job: Option<&str>,
    pace: &Pace,
) -> Result<HandingerBuild, Error> {
    let conn = credentials.handinger()?;
    let server = conn.base_url.to_string();
    if let Some(job) = job {
        if server != spec.target.base_url {
            return Err(HandingerCheck::OtherServer {
                job: job.to_string(),
                job_server: spec.target.base_url.clone(),
                server,
            }
            .into());
        }
    }
    let caller = pace.preflight_caller(settings);
    let client = connect_checked(settings, conn, &spec.selector.workers, &caller)
        .await?
        .0;
    Ok(HandingerBuild {
        spec: spec.clone(),
        client,
    })
}

/// A client of `conn`, and each of `workers`' whole list: read-only, so that a key that is not
/// taken or a worker that does not exist is said before anything is sent.
async fn connect_checked(
    settings: &Settings,
    conn: HandingerConnection,
    workers: &[String],
    caller: &Caller,
) -> Result<(HandingerClient, Vec<(String, Vec<WorkerSchedule>)>), Error> {
    let server = conn.base_url.to_string();
    let client = HandingerClient::new(conn, settings.request_timeout).map_err(|source| {
        HandingerCheck::Unreachable {
            server: server.clone(),
            source,
        }
    })?;
    let mut lists = Vec::with_capacity(workers.len());
    for worker in workers {
        let (listed, _) = caller
            .call("handinger.schedules.list", true, || {
                client.list_schedules(worker)
            })
            .await;
        let source = match listed {
            Ok(schedules) => {
                lists.push((worker.clone(), schedules));
                continue;
            }
            Err(source) => source,
        };
        let server = server.clone();
        return Err(match source {
            HandingerError::Status { status: 404, .. } => HandingerCheck::UnknownWorker {
                worker: worker.clone(),
                server,
            },
            HandingerError::Status {
                status: status @ (401 | 403),
                ..
            } => HandingerCheck::KeyRejected { server, status },
            source @ HandingerError::Connect(_) => HandingerCheck::Unreachable { server, source },
            source if source.is_transient() => HandingerCheck::Busy { server, source },
            source => HandingerCheck::Refused {
                server,
                worker: worker.clone(),
                source,
            },
        }
        .into());
    }
    Ok((client, lists))
}

/// What `selection` holds now, worker by worker (`handinger schedules list`): read-only.
pub async fn list(
    settings: &Settings,
    credentials: &Credentials,
    mut selection: HandingerSelection,
) -> Result<Vec<(String, WorkerSchedule)>, Error> {
    let conn = credentials.handinger()?;
    selection.normalize();
    let filter = selection
        .resolve(Utc::now())
        .map_err(HandingerCheck::from)?;
    // No job, so no job rate: the setting's.
    let caller = Caller::new(engine::limiter(settings.rate), preflight_policy(settings))
        .reporting_to(crate::metrics::process());
    let (_, lists) = connect_checked(settings, conn, &selection.workers, &caller).await?;
    Ok(lists
        .into_iter()
        .flat_map(|(worker, schedules)| {
            schedules
                .into_iter()
                .filter(|s| filter.selects(s))
                .map(move |s| (worker.clone(), s))
        })
        .collect())
}

/// Runs a new Handinger job, or resumes the unfinished one with the same identity.
pub(super) async fn run_new(
    settings: &Settings,
    credentials: &Credentials,
    request: HandingerRequest,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let now = Utc::now();
    let spec = new_spec(credentials, request, now)?;
    run_checked(
        settings,
        credentials,
        settings.state.open()?,
        spec,
        now,
        exec,
        frontend,
    )
    .await
}

/// A new Handinger job's spec as far as it is checked before anything is sent: the key and
/// base URL of the environment, the selection and the replacement at `now`.
fn new_spec(
    credentials: &Credentials,
    request: HandingerRequest,
    now: DateTime<Utc>,
) -> Result<HandingerJob, Error> {
    let conn = credentials.handinger()?;
    let target = HandingerTarget {
        base_url: conn.base_url.to_string(),
    };
    let spec = HandingerJob::new(request.operation, request.selection, target, now)
        .map_err(HandingerCheck::from)?;
    Ok(spec)
}

/// Checks a new Handinger job's request as far as it can be before anything is sent, as
/// running it would first (the workers are looked up when it runs): for a job that is to run
/// later, refused as early as it would be then.
pub fn check_request(credentials: &Credentials, request: &HandingerRequest) -> Result<(), Error> {
    new_spec(credentials, request.clone(), Utc::now()).map(|_| ())
}

async fn run_checked(
    settings: &Settings,
    credentials: &Credentials,
    mut store: Box<dyn Store>,
    spec: HandingerJob,
    now: DateTime<Utc>,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let identity = match &exec.job_name {
        Some(name) => named_identity(name, &spec.target.base_url, ""),
        None => JobSpec::Handinger(spec.clone()).identity(),
    };
    let pace = arrive(store.as_mut(), &identity, exec, settings).await?;
    let build = checked(settings, credentials, &spec, None, &pace).await?;
    let stored = JobSpec::Handinger(spec);
    let window = stored.resolve_window(now)?;
    let planned = Planned {
        spec: stored,
        window,
        now,
    };
    run_planned(settings, store, planned, pace, &build, exec, frontend).await
}

/// The undo of finished reschedule `of`: a job that replaces its replacements by the originals.
pub(super) async fn undo(
    settings: &Settings,
    credentials: &Credentials,
    store: Box<dyn Store>,
    of: &str,
    undone: HandingerJob,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    let conn = credentials.handinger()?;
    let server = conn.base_url.to_string();
    if server != undone.target.base_url {
        return Err(HandingerCheck::OtherServer {
            job: of.to_string(),
            job_server: undone.target.base_url,
            server,
        }
        .into());
    }
    let now = Utc::now();
    let spec = HandingerJob::new(
        HandingerOperation::HandingerRestore { of: of.to_string() },
        undone.selector,
        undone.target,
        now,
    )
    .map_err(HandingerCheck::from)?;
    run_checked(settings, credentials, store, spec, now, exec, frontend).await
}
