//! The one error type at the top: every command that could not run ends with one of these,
//! and its cause decides the exit code. Each domain keeps its own error enum, wrapped here.

use std::path::PathBuf;

use super::HandingerCheck;
use crate::backend::hatchet::{HatchetError, TokenError};
use crate::config::ConfigError;
use crate::engine::EngineError;
use crate::job::SpecError;
use crate::metrics::MetricsError;
use crate::ops::{ManifestError, OpError};
use crate::report::ReportError;
use crate::store::{Lease, StoreError};

/// The exit codes, by meaning. Exit 1 is no error: it is a finished job's item failures.
pub struct BulkopsExitCode;

impl BulkopsExitCode {
    /// Every item done or skipped with a reason; or nothing matched and no job was created.
    pub const OK: u8 = 0;
    /// Finished, but some items failed or could not be confirmed.
    pub const ITEM_FAILURES: u8 = 1;
    /// Input or configuration the user can fix; nothing was sent.
    pub const BAD_INPUT: u8 = 2;
    /// Interrupted or transient: the same command resumes.
    pub const INTERRUPTED: u8 = 3;
}

fn secs(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A command that could not run, by cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line itself, as the parser explained it on one line.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Handinger(#[from] HandingerCheck),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("the ids of this job are not in {state}: run it again with its --ids-file")]
    ManifestMissing { state: String },
    #[error("the Hatchet server at {server} rejected the token for tenant {tenant} (HTTP 403): use a valid, unrevoked API token of that tenant")]
    TokenRejected { server: String, tenant: String },
    /// Nothing listens there: most likely a wrong URL, which the user can fix.
    #[error("cannot reach the Hatchet server at {server} ({source}): check HATCHET_CLIENT_SERVER_URL or the token's server_url")]
    Unreachable {
        server: String,
        source: HatchetError,
    },
    /// A certificate was refused, one way or the other: the source names the setting to fix.
    #[error("cannot use TLS with the Hatchet server at {server}: {source}")]
    TlsRefused {
        server: String,
        source: HatchetError,
    },
    /// It answered, but busy or failing (429, 5xx, timeouts, dropped connections): not the
    /// user's input; nothing was sent.
    #[error("the Hatchet server at {server} is busy or failing ({source}); nothing was sent: run the same command again later")]
    ServerBusy {
        server: String,
        source: HatchetError,
    },
    #[error("the Hatchet server at {server} answered the access check with {source}: check the server URL and token")]
    AccessRefused {
        server: String,
        source: HatchetError,
    },
    /// The access check passed just before: whatever fails now is the server's, not input.
    #[error("looking up workflow '{workflow}' failed ({source}); nothing was sent: run the same command again later")]
    WorkflowLookup {
        workflow: String,
        source: HatchetError,
    },
    #[error("unknown workflow '{workflow}' in tenant {tenant}: check the name (it is case-sensitive) or id, and HATCHET_CLIENT_NAMESPACE")]
    UnknownWorkflow { workflow: String, tenant: String },
    #[error("job {job} is a {operation} job, which this command does not run: see `bulkops jobs show {job}`")]
    OtherBackend {
        job: String,
        operation: &'static str,
    },
    #[error("job {job} is unfinished with another selection or operation ({operation}): resume it with `bulkops jobs resume {job}`, or give it up with `bulkops jobs abort {job}` before running this one")]
    OtherSelection { job: String, operation: String },
    #[error("job {} is being run by process {} (last heartbeat {}): wait for it to end, or stop it with `bulkops jobs pause {}`", .0.job, .0.owner, secs(.0.heartbeat), .0.job)]
    Held(Lease),
    #[error("job {of} was already undone by job {job} (finished {finished}): undoing it again would re-create or move back the same rows again; see `bulkops report {job}`")]
    AlreadyUndone {
        of: String,
        job: String,
        finished: String,
    },
    #[error("this exact {operation} already finished as job {job} at {finished}: running it again would move the same rows again; see `bulkops report {job}`, or pass --again to do it once more")]
    AlreadyFinished {
        operation: String,
        job: String,
        finished: String,
    },
    #[error("no job '{job}' in {state}: see `bulkops jobs list`")]
    UnknownJob { job: String, state: String },
    #[error("job {job} is {state}: nothing to resume")]
    NothingToResume { job: String, state: &'static str },
    #[error("job {job} is a {operation}, which sends one request at a time: drop --concurrency")]
    ConcurrencyNotHonoured {
        job: String,
        operation: &'static str,
    },
    #[error("job {job} belongs to tenant {job_tenant}, but the token is for tenant {token_tenant}: use that tenant's token")]
    OtherTenant {
        job: String,
        job_tenant: String,
        token_tenant: String,
    },
    #[error("job {job} is {state}: only a running job can be paused")]
    NotRunning { job: String, state: &'static str },
    #[error("job {job} is {state}: only a running or paused job can be {action}")]
    NotOpen {
        job: String,
        state: &'static str,
        action: &'static str,
    },
    #[error(
        "job {job} is still {state}: finish it (`bulkops jobs resume {job}`) before undoing it"
    )]
    StillOpen { job: String, state: &'static str },
    #[error("a {operation} job cannot be undone: only scheduled delete, scheduled reschedule and runs cancel can")]
    CannotUndo { operation: &'static str },
    #[error("not a terminal: pass --yes to run without confirmation")]
    NotATerminal,
    #[error("not confirmed: nothing was sent")]
    NotConfirmed,
    #[error("{0}")]
    Answer(std::io::Error),
    /// Another process finished or gave up the job between its creation and this read.
    #[error("job {job} vanished from {state} as it began: run the same command again")]
    JobVanished { job: String, state: String },
    #[error("the engine stopped without an outcome: run the same command again (or `bulkops jobs resume {job}`) to resume")]
    EngineVanished { job: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The server failed a call made outside a job's engine (a dry run's listing).
    #[error(transparent)]
    Server(#[from] OpError),
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A running job stopped because its state file failed: it resumes once that is fixed.
    #[error("job {job} stopped: {source}")]
    JobStopped { job: String, source: StoreError },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
    /// A service runs many jobs in one process: one engine per job among them.
    #[error("job {job} is already running in this process: follow it (GET /jobs/{job}, or `bulkops jobs watch {job}`)")]
    RunningHere { job: String },
    /// A scheduled job's file (`serve --jobs-dir`): the problem names the fix.
    #[error("{}: {problem}", file.display())]
    Schedule { file: PathBuf, problem: String },
    /// `serve` on an address other hosts reach, with nothing to tell its clients apart.
    #[error("refusing to serve {listen} without an API token: set BULKOPS_API_TOKEN (or api_token in --config FILE), or listen on loopback (--listen 127.0.0.1:8080)")]
    Unprotected { listen: std::net::SocketAddr },
    #[error("cannot listen on {listen}: {source}: pass --listen with a free address of this host")]
    Listen {
        listen: std::net::SocketAddr,
        source: std::io::Error,
    },
}

impl From<HatchetError> for Error {
    fn from(e: HatchetError) -> Self {
        Error::Server(e.into())
    }
}

impl Error {
    /// [`BulkopsExitCode::BAD_INPUT`] for what the user can fix, [`BulkopsExitCode::INTERRUPTED`]
    /// for the rest: transient, or resumable once it passes.
    pub fn exit_code(&self) -> u8 {
        let store = |e: &StoreError| {
            if e.needs_the_user() {
                BulkopsExitCode::BAD_INPUT
            } else {
                BulkopsExitCode::INTERRUPTED
            }
        };
        match self {
            Error::Store(e)
            | Error::Engine(EngineError::Store(e))
            | Error::Report(ReportError::Store(e)) => store(e),
            Error::Handinger(e) if e.is_transient() => BulkopsExitCode::INTERRUPTED,
            Error::ServerBusy { .. }
            | Error::WorkflowLookup { .. }
            | Error::JobVanished { .. }
            | Error::EngineVanished { .. }
            | Error::Engine(_)
            | Error::Server(_)
            | Error::Report(_)
            | Error::JobStopped { .. }
            | Error::Write { .. }
            | Error::Stdout(_) => BulkopsExitCode::INTERRUPTED,
            Error::Usage(_)
            | Error::Spec(_)
            | Error::Config(_)
            | Error::Token(_)
            | Error::Manifest(_)
            | Error::Handinger(_)
            | Error::Metrics(_)
            | Error::ManifestMissing { .. }
            | Error::TokenRejected { .. }
            | Error::Unreachable { .. }
            | Error::TlsRefused { .. }
            | Error::AccessRefused { .. }
            | Error::UnknownWorkflow { .. }
            | Error::OtherSelection { .. }
            | Error::OtherBackend { .. }
            | Error::Held(_)
            | Error::AlreadyUndone { .. }
            | Error::AlreadyFinished { .. }
            | Error::UnknownJob { .. }
            | Error::NothingToResume { .. }
            | Error::ConcurrencyNotHonoured { .. }
            | Error::OtherTenant { .. }
            | Error::NotRunning { .. }
            | Error::NotOpen { .. }
            | Error::StillOpen { .. }
            | Error::CannotUndo { .. }
            | Error::NotATerminal
            | Error::NotConfirmed
            | Error::Answer(_)
            | Error::RunningHere { .. }
            | Error::Schedule { .. }
            | Error::Unprotected { .. }
            | Error::Listen { .. } => BulkopsExitCode::BAD_INPUT,
        }
    }

    /// The cause in a word a program can match on (the `cause` of a JSON error).
    pub fn cause(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Spec(_) => "invalid_selection",
            Error::Config(_) => "configuration",
            Error::Token(_) => "token",
            Error::Manifest(_) => "ids_file",
            Error::Handinger(e) => e.cause(),
            Error::Metrics(_) => "metrics_address",
            Error::ManifestMissing { .. } => "ids_not_in_store",
            Error::TokenRejected { .. } => "token_rejected",
            Error::Unreachable { .. } => "server_unreachable",
            Error::TlsRefused { .. } => "tls_refused",
            Error::ServerBusy { .. } => "server_busy",
            Error::AccessRefused { .. } => "access_refused",
            Error::WorkflowLookup { .. } => "workflow_lookup_failed",
            Error::UnknownWorkflow { .. } => "unknown_workflow",
            Error::OtherSelection { .. } => "job_has_another_selection",
            Error::OtherBackend { .. } => "job_of_another_backend",
            Error::Held(_) => "job_held_by_another_process",
            Error::AlreadyUndone { .. } => "already_undone",
            Error::AlreadyFinished { .. } => "already_finished",
            Error::UnknownJob { .. } => "unknown_job",
            Error::NothingToResume { .. } => "nothing_to_resume",
            Error::ConcurrencyNotHonoured { .. } => "flag_not_honoured",
            Error::OtherTenant { .. } => "other_tenant",
            Error::NotRunning { .. } => "job_not_running",
            Error::NotOpen { .. } => "job_not_open",
            Error::StillOpen { .. } => "job_still_open",
            Error::CannotUndo { .. } => "cannot_undo",
            Error::NotATerminal => "not_a_terminal",
            Error::NotConfirmed => "not_confirmed",
            Error::Answer(_) => "no_answer",
            Error::JobVanished { .. } => "job_vanished",
            Error::EngineVanished { .. } => "engine_vanished",
            Error::Store(_) | Error::Engine(EngineError::Store(_)) => "state_file",
            Error::Engine(_) => "engine",
            Error::Server(_) => "server",
            Error::Report(_) => "report",
            Error::JobStopped { .. } => "job_stopped",
            Error::Write { .. } => "cannot_write",
            Error::Stdout(_) => "stdout",
            Error::RunningHere { .. } => "job_running_here",
            Error::Schedule { .. } => "schedule",
            Error::Unprotected { .. } => "no_api_token",
            Error::Listen { .. } => "cannot_listen",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_codes_are_the_documented_ones() {
        assert_eq!(
            [
                BulkopsExitCode::OK,
                BulkopsExitCode::ITEM_FAILURES,
                BulkopsExitCode::BAD_INPUT,
                BulkopsExitCode::INTERRUPTED
            ],
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn what_the_user_can_fix_is_2_and_what_passes_is_3() {
        let fixable = [
            Error::Usage("unexpected argument".into()),
            Error::Spec(SpecError::EmptySelector),
            Error::NotATerminal,
            Error::NotConfirmed,
            Error::UnknownWorkflow {
                workflow: "w".into(),
                tenant: "t".into(),
            },
            Error::UnknownJob {
                job: "j".into(),
                state: "s.db".into(),
            },
            Error::CannotUndo {
                operation: "runs replay",
            },
            Error::TlsRefused {
                server: "https://h".into(),
                source: HatchetError::Tls("invalid peer certificate: UnknownIssuer".into()),
            },
            Error::Unprotected {
                listen: ([0, 0, 0, 0], 8080).into(),
            },
        ];
        for e in &fixable {
            assert_eq!(e.exit_code(), BulkopsExitCode::BAD_INPUT, "{e}");
        }
        let passing = [
            Error::EngineVanished { job: "j".into() },
            Error::JobVanished {
                job: "j".into(),
                state: "s.db".into(),
            },
            Error::Engine(EngineError::LeaseLost),
            Error::Stdout(std::io::Error::other("closed")),
        ];
        for e in &passing {
            assert_eq!(e.exit_code(), BulkopsExitCode::INTERRUPTED, "{e}");
        }
    }

    #[test]
    fn a_state_file_error_is_2_when_the_user_must_act_and_3_when_it_passes() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("not-a-store.db");
        std::fs::write(
            &foreign,
            "this is no SQLite file, it is long enough to be read",
        )
        .unwrap();
        let damaged = crate::store::SqliteStore::open(&foreign)
            .err()
            .expect("refused");
        assert!(damaged.needs_the_user());
        assert_eq!(
            Error::Store(damaged.clone()).exit_code(),
            BulkopsExitCode::BAD_INPUT
        );
        assert_eq!(
            Error::Engine(EngineError::Store(damaged)).exit_code(),
            BulkopsExitCode::BAD_INPUT
        );
    }
}
