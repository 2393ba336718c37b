//! The jobs of the service run where the engine's actors live: on the process's actix System,
//! one local task each, through `app::run_job` as the command line runs them. A request hands
//! its job over a channel and waits for the first thing that tells how it went: the job
//! began (its engine took it: the id), or it ended before that (refused, a dry run, nothing
//! matched). Every job stops when shutdown begins, as a CLI job stops on a signal.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};

use super::ApiError;
use crate::app::{
    self, Confirmation, Credentials, End, Event, Execution, Frontend, JobCommand, Outcome,
    StopSignal,
};
use crate::config::Settings;
use crate::engine::{LineProgress, Lines, Progress};

/// How a submitted job went, as soon as that is known.
pub(super) enum Started {
    /// Its engine took it: it runs on in this process.
    Begun { job: String },
    /// It ended before an engine took it, with this answer.
    Ended(StatusCode, Value),
}

struct Submission {
    settings: Settings,
    command: JobCommand,
    exec: Execution,
    reply: oneshot::Sender<Started>,
    /// Held by the job's run until it is over.
    running: oneshot::Sender<()>,
}

/// Tells when a submitted job's run is over, however it ended.
pub(super) struct RunOver(oneshot::Receiver<()>);

impl RunOver {
    pub(super) fn is_over(&mut self) -> bool {
        !matches!(self.0.try_recv(), Err(oneshot::error::TryRecvError::Empty))
    }
}

/// Where requests hand their jobs.
#[derive(Clone)]
pub(super) struct Handle(mpsc::UnboundedSender<Submission>);

impl Handle {
    /// Runs `command` in this process; answers once it began or ended.
    pub(super) async fn submit(
        &self,
        settings: Settings,
        command: JobCommand,
        exec: Execution,
    ) -> Result<(Started, RunOver), ApiError> {
        let (reply, answer) = oneshot::channel();
        let (running, over) = oneshot::channel();
        let submission = Submission {
            settings,
            command,
            exec,
            reply,
            running,
        };
        // Closed once shutdown began.
        self.0
            .send(submission)
            .map_err(|_| ApiError::ShuttingDown)?;
        let started = answer.await.map_err(|_| ApiError::ShuttingDown)?;
        Ok((started, RunOver(over)))
    }
}

/// Ends once every job run by this process has ended (and no new one can start).
pub(super) struct Jobs(mpsc::Receiver<()>);

impl Jobs {
    pub(super) async fn all_ended(mut self) {
        // Every run holds a sender; `recv` is `None` once the last one is gone.
        while self.0.recv().await.is_some() {}
    }
}

/// Starts taking jobs on this System until `closing` turns `true`.
pub(super) fn start(credentials: Credentials, closing: watch::Receiver<bool>) -> (Handle, Jobs) {
    let (submit, mut submitted) = mpsc::unbounded_channel::<Submission>();
    let (alive, jobs) = mpsc::channel::<()>(1);
    let credentials = Arc::new(credentials);
    actix::spawn(async move {
        let mut shutdown = closing.clone();
        loop {
            let submission = tokio::select! {
                s = submitted.recv() => s,
                _ = shutdown.wait_for(|closing| *closing) => None,
            };
            let Some(submission) = submission else { break };
            actix::spawn(run_one(
                submission,
                credentials.clone(),
                closing.clone(),
                alive.clone(),
            ));
        }
        // Dropping `submitted` and `alive` here: later submissions are refused, and `Jobs`
        // ends with the last running job.
    });
    (Handle(submit), Jobs(jobs))
}

async fn run_one(
    submission: Submission,
    credentials: Arc<Credentials>,
    closing: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
) {
    let Submission {
        settings,
        command,
        exec,
        reply,
        running: _running,
    } = submission;
    let mut frontend = Unattended {
        started: Some(reply),
        closing,
    };
    let outcome = app::run_job(&settings, &credentials, command, &exec, &mut frontend).await;
    match frontend.started.take() {
        Some(reply) => {
            let (status, body) = answer(outcome);
            let _ = reply.send(Started::Ended(status, body));
        }
        None => log_end(&outcome),
    }
}

/// A job that ended before its engine took it, as the answer to its submission.
fn answer(outcome: Result<Outcome, app::Error>) -> (StatusCode, Value) {
    match outcome {
        Ok(Outcome::DryRun(found)) => (StatusCode::OK, crate::cli::dry_run_json(&found)),
        Ok(Outcome::NothingMatches(spec)) => {
            (StatusCode::OK, crate::cli::nothing_matches_json(&spec))
        }
        Ok(Outcome::ReplayOffered(offer)) => (
            StatusCode::OK,
            json!({"job": offer.job, "cancelled": offer.cancelled, "command": offer.command}),
        ),
        Ok(Outcome::Ran(run)) => (StatusCode::OK, ended_json(&run)),
        Err(e) => {
            let error = ApiError::App(e);
            (error.status(), error.body().0)
        }
    }
}

fn ended_json(run: &app::RunEnd) -> Value {
    let state = match run.end {
        End::Finished { .. } => "finished",
        End::Interrupted { .. } => "interrupted",
        End::Elsewhere { finished: true, .. } => "finished",
        End::Elsewhere {
            finished: false, ..
        } => "running",
    };
    json!({
        "job": run.job.id,
        "state": state,
        "counts": run.counts,
        "exit_code": run.exit_code(),
    })
}

/// How a job that ran here ended, in the log: nobody waits for it on a connection.
fn log_end(outcome: &Result<Outcome, app::Error>) {
    match outcome {
        Ok(Outcome::Ran(run)) => {
            let ended = ended_json(run);
            tracing::info!(job = %run.job.id, exit_code = run.exit_code(), %ended, "job ended");
        }
        Ok(_) => tracing::info!("job ended"),
        Err(e) => tracing::warn!(cause = e.cause(), "job stopped: {e}"),
    }
}

/// The front end of a job nobody watches on a terminal: it was confirmed by its submission,
/// its progress goes to the log as JSON lines, and it stops when shutdown begins.
struct Unattended {
    /// Taken when the engine starts: the submission's answer.
    started: Option<oneshot::Sender<Started>>,
    closing: watch::Receiver<bool>,
}

impl Frontend for Unattended {
    fn can_ask(&self) -> bool {
        false
    }

    /// Never asked: a submission runs as with `--yes`.
    fn confirm(&mut self, _: &Confirmation<'_>) -> Result<bool, std::io::Error> {
        Ok(false)
    }

    /// Called once the job is this process's and its engine starts.
    fn progress(&mut self, job: &str, verify_timeout: Option<Duration>) -> Box<dyn Progress> {
        if let Some(reply) = self.started.take() {
            let _ = reply.send(Started::Begun {
                job: job.to_string(),
            });
        }
        Box::new(LineProgress::new(job, verify_timeout, Lines::Json))
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Begun { job, resumed: true } => {
                tracing::info!(job = %job, "resuming the unfinished job with the same identity");
            }
            Event::Begun {
                job,
                resumed: false,
            } => tracing::info!(job = %job, "job created"),
        }
    }

    fn stop_signal(&mut self) -> StopSignal {
        let mut closing = self.closing.clone();
        Box::pin(async move {
            // The sender lives as long as the service; gone, there is nothing left to stop for.
            if closing.wait_for(|closing| *closing).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
