//! `bulkops serve`: an HTTP API (axum) over the application layer, for a process that runs the
//! jobs submitted to it. A submitted job is the `JobRequest` the command line builds from the
//! same flags, validated the same way, and it runs in this process as a CLI job would: same
//! engine, same store, same reports. The routes are listed once (`routes`): the router is built
//! from that list, and a test checks the OpenAPI document (docs/serve-openapi.yaml, served at
//! /openapi.yaml) against it.
//!
//! - `auth`: the bearer token, compared in constant time;
//! - `jobs`: submit, list, show, pause/resume/abort/retune, undo, report;
//! - `events`: a job's progress as server-sent events;
//! - `runner`: the jobs' runs on the process's actix System, and their answer to a submission;
//! - `schedule`: scheduled jobs from `--jobs-dir`, each firing an ordinary job;
//! - `error`: errors as an HTTP status and a one-line JSON error;
//! - `openapi`: the document.
//!
//! Shutdown (SIGTERM, SIGINT): no new jobs, every running job is stopped as the CLI stops one
//! on a signal (requests on the wire are awaited, the lease released, the job resumable), then
//! the listener closes and the process exits 0.

mod auth;
mod error;
mod events;
mod jobs;
mod openapi;
mod runner;
mod schedule;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::{oneshot, watch};

use crate::app::{BulkopsExitCode, Credentials, Error};
use crate::config::{ApiToken, Overrides, Settings};
pub use error::ApiError;

/// What `bulkops serve` was started with.
pub struct Service {
    pub listen: SocketAddr,
    /// `--config FILE`, layered into every submitted job's settings.
    pub config: Option<PathBuf>,
    /// The global flags (state, reports directory, log format), the layer under a request's own.
    pub global: Overrides,
    /// This process's settings: its store, its API token.
    pub settings: Settings,
    /// The Hatchet and Handinger credentials of this process's environment, the only ones used.
    pub credentials: Credentials,
    /// `--jobs-dir`: the scheduled jobs' files.
    pub jobs_dir: Option<PathBuf>,
}

/// How long running jobs get to stop after SIGTERM; then the process exits anyway, with 3
/// (the jobs stay resumable). Below deploy/serve.yaml's grace period of 60 s.
const STOP_DEADLINE: Duration = Duration::from_secs(45);

/// How long open connections get to end once the jobs stopped.
const CONNECTIONS_DEADLINE: Duration = Duration::from_secs(5);

/// What every handler shares.
#[derive(Clone)]
struct Api(Arc<Shared>);

struct Shared {
    settings: Settings,
    config: Option<PathBuf>,
    global: Overrides,
    token: Option<ApiToken>,
    runner: runner::Handle,
    /// `true` once shutdown began: no new jobs, event streams end.
    closing: watch::Receiver<bool>,
    /// The jobs asked for by `GET /jobs/{id}`.
    watches: jobs::Watches,
}

impl Api {
    fn closing(&self) -> bool {
        *self.0.closing.borrow()
    }

    /// A job's settings: this process's flags and `--config`, under the request's own flags,
    /// loaded and checked as the command line loads them.
    fn settings_with(&self, flags: Overrides) -> Result<Settings, Error> {
        let layered = Overrides {
            state: self.0.global.state.clone(),
            reports_dir: self.0.global.reports_dir.clone(),
            log_format: self.0.global.log_format.clone(),
            ..flags
        };
        Ok(Settings::load(
            self.0.config.as_deref(),
            &layered,
            std::env::vars_os(),
        )?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
        }
    }
}

/// One route: its method and path as the OpenAPI document names them, whether it is open
/// without the token, and its handler.
struct Route {
    verb: Verb,
    path: &'static str,
    open: bool,
    handler: MethodRouter<Api>,
}

fn route<H, T>(verb: Verb, path: &'static str, open: bool, handler: H) -> Route
where
    H: Handler<T, Api>,
    T: 'static,
{
    Route {
        verb,
        path,
        open,
        handler: on(verb.filter(), handler),
    }
}

/// Every route, once.
fn routes() -> Vec<Route> {
    use Verb::{Get, Post};
    vec![
        route(Get, "/healthz", true, health),
        route(Get, "/readyz", true, ready),
        route(Get, "/openapi.yaml", false, openapi::document),
        route(Get, "/jobs", false, jobs::list),
        route(Post, "/jobs", false, jobs::submit),
        route(Get, "/jobs/{id}", false, jobs::show),
        route(Post, "/jobs/{id}/pause", false, jobs::pause),
        route(Post, "/jobs/{id}/resume", false, jobs::resume),
        route(Post, "/jobs/{id}/abort", false, jobs::abort),
        route(Post, "/jobs/{id}/retune", false, jobs::retune),
        route(Post, "/jobs/{id}/undo", false, jobs::undo),
        route(Get, "/jobs/{id}/report", false, jobs::report),
        route(Get, "/jobs/{id}/events", false, events::stream),
    ]
}

/// The method and path of every route, as the OpenAPI document must name them.
pub fn route_list() -> Vec<(Verb, &'static str)> {
    routes().iter().map(|r| (r.verb, r.path)).collect()
}

fn router(api: Api) -> Router {
    let (open, guarded): (Vec<Route>, Vec<Route>) = routes().into_iter().partition(|r| r.open);
    let add = |router: Router<Api>, r: Route| router.route(r.path, r.handler);
    let open = open.into_iter().fold(Router::new(), add);
    let guarded = guarded.into_iter().fold(Router::new(), add).route_layer(
        axum::middleware::from_fn_with_state(api.clone(), auth::require),
    );
    open.merge(guarded).fallback(no_route).with_state(api)
}

/// The process is up.
async fn health() -> &'static str {
    "ok\n"
}

/// Ready for work: the store answers, and shutdown has not begun.
async fn ready(State(api): State<Api>) -> Response {
    if api.closing() {
        return ApiError::ShuttingDown.into_response();
    }
    let state = api.0.settings.state.clone();
    let reachable = jobs::blocking(move || Ok(state.open()?.check_in_place()?)).await;
    match reachable {
        Ok(()) => "ready\n".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.body()).into_response(),
    }
}

async fn no_route() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "no such route: see GET /openapi.yaml", "cause": "no_route"})),
    )
        .into_response()
}

/// A service ready to listen: everything it checks before it binds was checked.
struct Prepared {
    listen: SocketAddr,
    api: Api,
    close: watch::Sender<bool>,
    jobs: runner::Jobs,
    schedules: Vec<schedule::Schedule>,
}

/// Checks what `serve` checks before it listens (a token for an address other hosts reach,
/// every scheduled job's file) and sets up its jobs' runner.
fn prepare(service: Service) -> Result<Prepared, Error> {
    let listen = service.listen;
    let token = service.settings.api_token.clone();
    if token.is_none() && !listen.ip().is_loopback() {
        return Err(Error::Unprotected { listen });
    }
    let (close, closing) = watch::channel(false);
    let (runner, jobs) = runner::start(service.credentials.clone(), closing.clone());
    let api = Api(Arc::new(Shared {
        settings: service.settings,
        config: service.config,
        global: service.global,
        token,
        runner,
        closing,
        watches: jobs::Watches::default(),
    }));
    let schedules = match &service.jobs_dir {
        Some(dir) => schedule::load(&api, &service.credentials, dir)?,
        None => Vec::new(),
    };
    Ok(Prepared {
        listen,
        api,
        close,
        jobs,
        schedules,
    })
}

/// `serve --check-config`: everything `run` checks before it takes requests, the address to
/// listen on bound and let go again (a port in use is refused as `run` refuses it), without
/// serving or running anything. The number of scheduled jobs checked.
pub async fn check(service: Service) -> Result<usize, Error> {
    let prepared = prepare(service)?;
    drop(bind(prepared.listen).await?);
    Ok(prepared.schedules.len())
}

/// The listener of `listen`, and the address it got (`--listen …:0` takes a free port).
async fn bind(listen: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), Error> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| Error::Listen { listen, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::Listen { listen, source })?;
    Ok((listener, bound))
}

/// Serves until SIGTERM or SIGINT, then stops the running jobs and exits: 0 once they all
/// stopped, 3 when some were still stopping at `STOP_DEADLINE`. `announce` is told the address
/// bound before the first request is taken.
pub async fn run(
    service: Service,
    announce: impl FnOnce(SocketAddr) -> Result<(), Error>,
) -> Result<u8, Error> {
    let Prepared {
        listen,
        api,
        close,
        jobs,
        schedules,
    } = prepare(service)?;
    let (listener, bound) = bind(listen).await?;
    // Installed before anything is announced: a signal that came sooner would end the process
    // by its default action.
    let stop = crate::cli::stop_on_signal();
    let (drained, when_drained) = oneshot::channel::<()>();
    schedule::start(&api, schedules);
    let server = axum::serve(listener, router(api)).with_graceful_shutdown(async move {
        let _ = when_drained.await;
    });
    let mut server = tokio::spawn(std::future::IntoFuture::into_future(server));
    announce(bound)?;
    tracing::info!(listen = %bound, "serving the bulkops API");
    tokio::select! {
        () = stop => {}
        served = &mut server => return Err(listen_error(listen, served)),
    }
    tracing::info!("stopping: no new jobs; running jobs stop after their requests on the wire");
    let _ = close.send(true);
    let all_stopped = tokio::time::timeout(STOP_DEADLINE, jobs.all_ended())
        .await
        .is_ok();
    let _ = drained.send(());
    // Open connections get a moment to end (event streams end with `closing`); a client that
    // does not let go does not hold the process.
    if let Ok(Ok(Err(source))) = tokio::time::timeout(CONNECTIONS_DEADLINE, server).await {
        return Err(Error::Listen { listen, source });
    }
    if all_stopped {
        tracing::info!("stopped: every job this process ran was stopped and released");
        Ok(BulkopsExitCode::OK)
    } else {
        tracing::warn!(
            deadline_s = STOP_DEADLINE.as_secs(),
            "stopped with jobs still stopping: they resume as interrupted jobs"
        );
        Ok(BulkopsExitCode::INTERRUPTED)
    }
}

/// The server ended before any signal: its listener failed.
fn listen_error(
    listen: SocketAddr,
    served: Result<Result<(), std::io::Error>, tokio::task::JoinError>,
) -> Error {
    let source = match served {
        Ok(Err(e)) => e,
        Ok(Ok(())) => std::io::Error::other("the listener closed"),
        Err(e) => std::io::Error::other(e.to_string()),
    };
    Error::Listen { listen, source }
}
