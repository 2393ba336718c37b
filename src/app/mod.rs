//! The application layer: the life of a job, whatever front end drives it. A request comes in
//! as domain values (a [`JobRequest`], [`Execution`], [`Credentials`], the loaded `Settings`),
//! the front end answers questions and draws progress through [`Frontend`], and each command
//! ends in an [`Outcome`] or an [`Error`] whose `exit_code()` says how the process ends.
//!
//! Every function here is `async` and expects to run inside an actix `System` (the engine's
//! actors need one): the CLI starts one for the whole process, a service could run many jobs
//! in one.

mod control;
mod error;
mod handinger;
mod pace;
mod run;
mod survey;
mod undo;
mod watch;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use control::{abort, current_state, find, pause, retune, Retune};
pub use error::{BulkopsExitCode, Error};
pub use handinger::{
    check_request as check_handinger_request, list as handinger_list, HandingerCheck,
    HandingerRequest,
};

pub use survey::Survey;
pub use undo::ReplayOffer;
pub use watch::{Sight, Watch, WATCH_EVERY};

use crate::backend::hatchet::{Connection, TokenError};
use crate::config::Settings;
use crate::engine::{Progress, RunTotals};
use crate::job::{JobSpec, OperationKind, SelectorFields, Window};
use crate::ops::Manifest;
use crate::store::{Counts, JobRecord};

/// A new job as asked: the operation and its selection, validated by the app (nothing is sent
/// when that fails).
#[derive(Debug)]
pub struct JobRequest {
    pub kind: OperationKind,
    pub selector: SelectorFields,
    /// The ids of `--ids-file`, read and checked.
    pub manifest: Option<Manifest>,
}

/// A command that runs a job.
#[derive(Debug)]
pub enum JobCommand {
    /// A new job, or the unfinished one with the same identity.
    New(Box<JobRequest>),
    /// The unfinished job with this id.
    Resume { job: String },
    /// A new job that undoes the finished job with this id (for a cancel: its replay offered).
    Undo { job: String },
    /// A new Handinger job, or the unfinished one with the same identity.
    Handinger(Box<HandingerRequest>),
}

/// Runs a job command to its outcome.
pub async fn run_job(
    settings: &Settings,
    credentials: &Credentials,
    command: JobCommand,
    exec: &Execution,
    frontend: &mut dyn Frontend,
) -> Result<Outcome, Error> {
    match command {
        JobCommand::New(request) => {
            run::run_new(settings, credentials, *request, exec, frontend).await
        }
        JobCommand::Resume { job } => {
            run::resume(settings, credentials, &job, exec, frontend).await
        }
        JobCommand::Undo { job } => undo::undo(settings, credentials, &job, exec, frontend).await,
        JobCommand::Handinger(request) => {
            handinger::run_new(settings, credentials, *request, exec, frontend).await
        }
    }
}

/// Checks a new job's request as far as it can be before anything is sent (the token, the
/// operation's requirements, the window now), as running it would first: for a job that is to
/// run later, refused as early as it would be then.
pub fn check_request(credentials: &Credentials, request: &JobRequest) -> Result<(), Error> {
    let now = Utc::now();
    run::plan(
        credentials,
        request.kind.clone(),
        request.selector.clone(),
        now,
    )
    .map(|_| ())
}

/// What a command asked of execution; what a command does not offer stays at its default.
#[derive(Debug, Default, Clone)]
pub struct Execution {
    /// `--rate` as given: a rate set by `jobs retune` holds on resume unless this is set.
    pub rate: Option<f64>,
    /// `--concurrency` as given (refused for a job that sends one request at a time).
    pub concurrency: Option<usize>,
    pub no_verify: bool,
    pub dry_run: bool,
    /// Run without asking.
    pub yes: bool,
    pub reason: Option<String>,
    /// `--job NAME`: the job's identity is the name (it recurs, e.g. from cron).
    pub job_name: Option<String>,
    /// Run once more a finished job whose repeat is not safe.
    pub again: bool,
}

/// Where the token, the server and its TLS settings come from, as the SDKs read them.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    pub token: Option<String>,
    pub server_url: Option<String>,
    pub tenant_id: Option<String>,
    pub namespace: Option<String>,
    /// The TLS settings by variable name (`HATCHET_CLIENT_TLS_*`, `SSL_CERT_FILE`).
    pub tls: BTreeMap<String, String>,
    /// `HANDINGER_API_KEY` and `HANDINGER_BASE_URL`, as the Handinger SDK reads them.
    pub handinger_api_key: Option<String>,
    pub handinger_base_url: Option<String>,
}

impl Credentials {
    /// The `HATCHET_CLIENT_*` and `HANDINGER_*` variables and `SSL_CERT_FILE`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok();
        // Not `std::env::vars`, which panics on a variable that is not Unicode.
        let tls = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, _)| name.starts_with("HATCHET_CLIENT_TLS_") || name == "SSL_CERT_FILE")
            .collect();
        Credentials {
            token: var("HATCHET_CLIENT_TOKEN"),
            server_url: var("HATCHET_CLIENT_SERVER_URL"),
            tenant_id: var("HATCHET_CLIENT_TENANT_ID"),
            namespace: var("HATCHET_CLIENT_NAMESPACE"),
            tls,
            handinger_api_key: var("HANDINGER_API_KEY"),
            handinger_base_url: var("HANDINGER_BASE_URL"),
        }
    }

    fn connection(&self) -> Result<Connection, TokenError> {
        Connection::resolve(
            self.token.as_deref(),
            self.server_url.as_deref(),
            self.tenant_id.as_deref(),
            Utc::now(),
        )?
        .with_namespace(self.namespace.as_deref())
        .with_tls(|name| self.tls.get(name).cloned())
    }
}

/// What a job's confirmation shows: what it would do, to how many items, over which window.
pub struct Confirmation<'a> {
    pub spec: &'a JobSpec,
    pub window: &'a Window,
    pub now: DateTime<Utc>,
    pub found: &'a Survey,
}

/// Something that happened on the way, for the front end to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The job was created, or the unfinished one with the same identity taken up again, and
    /// this process holds it.
    Begun { job: String, resumed: bool },
}

/// A future that ends when the front end wants the running job stopped.
pub type StopSignal = Pin<Box<dyn Future<Output = ()>>>;

/// What the app needs of whoever drives it.
pub trait Frontend {
    /// Whether someone can answer a confirmation (a terminal); without one, a job not confirmed
    /// with `--yes` is refused.
    fn can_ask(&self) -> bool;
    /// Asks before a job is created; `false` sends nothing.
    fn confirm(&mut self, confirmation: &Confirmation<'_>) -> Result<bool, std::io::Error>;
    /// How a running job's progress is drawn.
    fn progress(&mut self, job: &str, verify_timeout: Option<Duration>) -> Box<dyn Progress>;
    fn event(&mut self, event: Event);
    /// Ends when the running job should stop (a signal, for the CLI).
    fn stop_signal(&mut self) -> StopSignal;
}

/// How a command that ran ended.
#[derive(Debug)]
pub enum Outcome {
    /// `--dry-run`: what the selection holds; nothing was changed.
    DryRun(Survey),
    /// The selection matched nothing: no job was created.
    NothingMatches(Box<JobSpec>),
    /// A job ran to its end or to an interruption.
    Ran(Box<RunEnd>),
    /// The undo of a cancel: the ids it cancelled were written for a replay.
    ReplayOffered(ReplayOffer),
}

/// The end of a job's run.
#[derive(Debug)]
pub struct RunEnd {
    pub job: JobRecord,
    /// The whole job's.
    pub counts: Counts,
    /// This run's.
    pub totals: RunTotals,
    pub end: End,
}

#[derive(Debug)]
pub enum End {
    Finished {
        report: PathBuf,
        /// What the operation warns of, when it applies to this job.
        warning: Option<&'static str>,
    },
    /// Stopped before the end; the note says why and how to go on.
    Interrupted { note: String },
    /// This replica's part of a shared job is done; another replica completes the job and
    /// writes its report, or did (`finished`). The note names it.
    Elsewhere { note: String, finished: bool },
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Ran(run) => run.exit_code(),
            Outcome::DryRun(_) | Outcome::NothingMatches(_) | Outcome::ReplayOffered(_) => {
                BulkopsExitCode::OK
            }
        }
    }
}

impl RunEnd {
    pub fn exit_code(&self) -> u8 {
        match self.end {
            End::Interrupted { .. } => BulkopsExitCode::INTERRUPTED,
            End::Finished { .. } => finished_code(&self.counts),
            // The verdict on the items is the completing replica's to give.
            End::Elsewhere { .. } => BulkopsExitCode::OK,
        }
    }
}

/// The exit code of a finished job: 1 when some items failed or could not be confirmed.
fn finished_code(counts: &Counts) -> u8 {
    if counts.failed + counts.unconfirmed > 0 {
        BulkopsExitCode::ITEM_FAILURES
    } else {
        BulkopsExitCode::OK
    }
}
