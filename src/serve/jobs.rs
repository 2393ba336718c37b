//! The job routes. A submission's fields are the command line's flags, named as the flags
//! are (`since`, `status`, `workflow`, `chunk-size`, ...), and become the same `JobRequest`
//! through the same functions, so a bad one is refused with the very message the command line
//! prints. A submission is its own confirmation (as `--yes`); a request names no file of the
//! server's, so `ids-file` and `workers-file` are not offered: `ids` and `worker` list them
//! inline.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::runner::{RunOver, Started};
use super::{Api, ApiError};
use crate::app::{
    self, Credentials, Error, Execution, HandingerRequest, JobCommand, JobRequest, Sight, Watch,
};
use crate::cli::{
    handinger_flags, handinger_replacement, job_line, job_request, reschedule_kind, retune_json,
    watch_json, ScheduleSelectArgs, SelectInput,
};
use crate::config::{Overrides, Settings};
use crate::job::{HandingerOperation, OperationKind};
use crate::ops::HandingerSelection;
use crate::report::ReportFormat;

/// Runs store calls off the thread that drives the engines and the connections.
pub(super) async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| ApiError::Lost(e.to_string()))?
        .map_err(ApiError::App)
}

/// Words that name a credential in a field: such a field is refused wherever it is.
const CREDENTIAL_WORDS: [&str; 6] = [
    "token",
    "apikey",
    "password",
    "secret",
    "credential",
    "authorization",
];

/// The first field, at any depth, whose name says it is a credential.
fn credential_field(value: &Value) -> Option<String> {
    match value {
        Value::Object(fields) => fields.iter().find_map(|(name, inner)| {
            let plain: String = name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            if CREDENTIAL_WORDS.iter().any(|word| plain.contains(word)) {
                Some(name.clone())
            } else {
                credential_field(inner)
            }
        }),
        Value::Array(items) => items.iter().find_map(credential_field),
        _ => None,
    }
}

/// A JSON object body (an empty body is `{}`), refused when it carries a credential, then
/// read as `T`; also its fields by name, to tell which were given.
fn read_body<T: DeserializeOwned>(bytes: &Bytes) -> Result<(T, Map<String, Value>), ApiError> {
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(bytes).map_err(|e| ApiError::Body(e.to_string()))?
    };
    read_value(value)
}

/// `read_body` of a value already parsed.
fn read_value<T: DeserializeOwned>(value: Value) -> Result<(T, Map<String, Value>), ApiError> {
    if let Some(field) = credential_field(&value) {
        return Err(ApiError::Credentials { field });
    }
    let Value::Object(fields) = &value else {
        return Err(ApiError::Body("expected a JSON object".into()));
    };
    let fields = fields.clone();
    let read = serde_json::from_value(value).map_err(|e| ApiError::Body(e.to_string()))?;
    Ok((read, fields))
}

/// A submitted job: the operation, and its command's flags by name (a field that its command
/// does not offer is refused by `operation`, by name).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct JobBody {
    operation: String,
    since: Option<String>,
    until: Option<String>,
    #[serde(default)]
    status: Vec<String>,
    #[serde(default)]
    workflow: Vec<String>,
    #[serde(default)]
    metadata: Vec<String>,
    trigger_after: Option<String>,
    trigger_before: Option<String>,
    #[serde(default)]
    cron_name: Vec<String>,
    #[serde(default)]
    include_code_defined: bool,
    /// The ids of `--ids-file`, inline: a request names no file of the server's.
    ids: Option<Vec<String>>,
    to: Option<String>,
    shift: Option<String>,
    #[serde(default)]
    allow_past: bool,
    #[serde(default)]
    again: bool,
    #[serde(flatten)]
    handinger: HandingerBody,
    #[serde(flatten)]
    pace: PaceBody,
    concurrency: Option<usize>,
    chunk_size: Option<usize>,
    #[serde(default)]
    dry_run: bool,
    reason: Option<String>,
    job: Option<String>,
}

/// The flags only `handinger schedules cancel|reschedule` offer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct HandingerBody {
    #[serde(default)]
    worker: Vec<String>,
    #[serde(default, rename = "type")]
    types: Vec<String>,
    #[serde(default)]
    budget: Vec<String>,
    next_run_after: Option<String>,
    next_run_before: Option<String>,
    input_contains: Option<String>,
    cron: Option<String>,
    /// Seconds, as a number or as the flag's text.
    interval: Option<Value>,
}

/// The pace flags: every command that sends.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PaceBody {
    rate: Option<f64>,
    #[serde(default)]
    no_verify: bool,
    verify_timeout: Option<String>,
    request_timeout: Option<String>,
}

/// The fields of `PaceBody`.
const PACE: [&str; 4] = ["rate", "no-verify", "verify-timeout", "request-timeout"];

/// The pace fields of a command with nothing to verify (`handinger schedules cancel`).
const REQUEST_PACE: [&str; 2] = ["rate", "request-timeout"];

/// The fields every operation offers, as its command offers the flags.
const EVERY_OPERATION: [&str; 4] = ["operation", "dry-run", "reason", "job"];

/// The selection fields of every Hatchet operation (`ids` is `--ids-file`'s ids).
const HATCHET_SELECTION: [&str; 5] = ["since", "until", "workflow", "metadata", "ids"];

/// The selection fields of the Handinger operations (`worker` as `--worker`; the files of
/// `--workers-file` and `--ids-file` are given inline as `worker` and `ids`).
const HANDINGER_SELECTION: [&str; 7] = [
    "worker",
    "type",
    "budget",
    "next-run-after",
    "next-run-before",
    "input-contains",
    "ids",
];

/// Each operation's command and the fields it offers, group by group.
const OPERATIONS: [(&str, &[&[&str]]); 7] = [
    (
        "runs cancel",
        &[
            &HATCHET_SELECTION,
            &PACE,
            &["status", "concurrency", "chunk-size"],
        ],
    ),
    (
        "runs replay",
        &[&HATCHET_SELECTION, &PACE, &["status", "chunk-size"]],
    ),
    (
        "scheduled delete",
        &[
            &HATCHET_SELECTION,
            &PACE,
            &[
                "trigger-after",
                "trigger-before",
                "concurrency",
                "chunk-size",
            ],
        ],
    ),
    (
        "scheduled reschedule",
        &[
            &HATCHET_SELECTION,
            &PACE,
            &[
                "trigger-after",
                "trigger-before",
                "concurrency",
                "chunk-size",
                "to",
                "shift",
                "allow-past",
                "again",
            ],
        ],
    ),
    (
        "crons delete",
        &[
            &HATCHET_SELECTION,
            &PACE,
            &["cron-name", "include-code-defined", "concurrency"],
        ],
    ),
    (
        "handinger schedules cancel",
        &[
            &HANDINGER_SELECTION,
            &REQUEST_PACE,
            &["concurrency", "chunk-size"],
        ],
    ),
    (
        "handinger schedules reschedule",
        &[
            &HANDINGER_SELECTION,
            &PACE,
            &["to", "shift", "cron", "interval", "chunk-size"],
        ],
    ),
];

/// What a submission asks for, once every field given is one its command offers.
enum Asked {
    Hatchet(OperationKind),
    Handinger(HandingerOperation),
}

/// The operation named, once every field given is one its command offers.
fn operation(
    body: &JobBody,
    given: &Map<String, Value>,
) -> Result<(&'static str, Asked), ApiError> {
    let Some(&(name, offered)) = OPERATIONS.iter().find(|(name, _)| *name == body.operation) else {
        return Err(ApiError::Operation(body.operation.clone()));
    };
    let mut groups = vec![&EVERY_OPERATION[..]];
    groups.extend_from_slice(offered);
    only(name, given, &groups)?;
    let asked = match name {
        "runs cancel" => Asked::Hatchet(OperationKind::RunsCancel),
        "runs replay" => Asked::Hatchet(OperationKind::RunsReplay),
        "scheduled delete" => Asked::Hatchet(OperationKind::ScheduledDelete),
        "crons delete" => Asked::Hatchet(OperationKind::CronsDelete),
        "scheduled reschedule" => Asked::Hatchet(
            reschedule_kind(body.to.as_deref(), body.shift.as_deref(), body.allow_past)
                .map_err(Error::from)?,
        ),
        "handinger schedules cancel" => Asked::Handinger(HandingerOperation::HandingerCancel),
        _ => {
            let h = &body.handinger;
            let interval = match &h.interval {
                None => None,
                Some(Value::String(text)) => Some(text.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(other) => {
                    return Err(ApiError::Body(format!(
                        "interval: {other} is not a number of seconds"
                    )))
                }
            };
            let replacement = handinger_replacement(
                body.to.as_deref(),
                body.shift.as_deref(),
                h.cron.as_deref(),
                interval.as_deref(),
            )?;
            Asked::Handinger(HandingerOperation::HandingerReschedule { replacement })
        }
    };
    Ok((name, asked))
}

/// Refuses the first field given that none of `offered` names.
fn only(
    what: &'static str,
    given: &Map<String, Value>,
    offered: &[&[&str]],
) -> Result<(), ApiError> {
    let taken = |field: &str| offered.iter().any(|fields| fields.contains(&field));
    match given.keys().find(|field| !taken(field)) {
        Some(field) => Err(ApiError::NotOffered {
            operation: what,
            field: field.clone(),
        }),
        None => Ok(()),
    }
}

/// Most ids a request lists; a longer list is a file for the command line's `--ids-file`.
pub(super) const MAX_IDS: usize = 10_000;

fn checked_ids(ids: &Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    match ids {
        Some(ids) if ids.len() > MAX_IDS => Err(ApiError::TooManyIds { given: ids.len() }),
        ids => Ok(ids.clone()),
    }
}

fn selection(body: &JobBody) -> Result<SelectInput, ApiError> {
    Ok(SelectInput {
        since: body.since.clone(),
        until: body.until.clone(),
        // As `--status A,B`: a value may list several.
        statuses: body
            .status
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::to_string)
            .collect(),
        workflows: body.workflow.clone(),
        metadata: body.metadata.clone(),
        trigger_after: body.trigger_after.clone(),
        trigger_before: body.trigger_before.clone(),
        cron_names: body.cron_name.clone(),
        include_code_defined: body.include_code_defined,
        ids_file: None,
        ids: checked_ids(&body.ids)?,
    })
}

/// Schedule ids given inline, each checked as a line of `--ids-file` is.
fn handinger_ids(ids: &[String]) -> Result<Vec<String>, ApiError> {
    ids.iter()
        .enumerate()
        .map(|(at, id)| {
            let bad = || ApiError::BadScheduleId {
                item: at,
                value: id.chars().take(60).collect(),
            };
            // One id an item: a line break would make two lines of one.
            if id.contains(['\n', '\r']) {
                return Err(bad());
            }
            match HandingerSelection::parse_ids(id)
                .map_err(|_| bad())?
                .as_slice()
            {
                [one] => Ok(one.clone()),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// A Handinger selection as `handinger schedules` reads its flags; the ids, each checked as
/// a line of `--ids-file` is.
fn handinger_selection(body: &JobBody) -> Result<HandingerSelection, ApiError> {
    let h = &body.handinger;
    let flags = ScheduleSelectArgs {
        workers: h.worker.clone(),
        types: h.types.clone(),
        budgets: h.budget.clone(),
        next_run_after: h.next_run_after.clone(),
        next_run_before: h.next_run_before.clone(),
        input_contains: h.input_contains.clone(),
        ..ScheduleSelectArgs::default()
    };
    let mut selection = handinger_flags(flags)?;
    if let Some(ids) = checked_ids(&body.ids)? {
        selection.ids = Some(handinger_ids(&ids)?);
    }
    Ok(selection)
}

fn pace_overrides(
    pace: &PaceBody,
    concurrency: Option<usize>,
    chunk_size: Option<usize>,
) -> Overrides {
    Overrides {
        rate: pace.rate,
        concurrency,
        chunk_size,
        verify_timeout: pace.verify_timeout.clone(),
        request_timeout: pace.request_timeout.clone(),
        ..Overrides::default()
    }
}

/// A new Hatchet job as a submission gives it, read and checked as the command line reads and
/// checks its flags (the app checks the rest as it runs it).
pub(super) struct NewJob {
    settings: Settings,
    request: JobRequest,
    exec: Execution,
}

/// A submission (or a scheduled job's file) read: a Hatchet job or a Handinger one.
pub(super) enum Submitted {
    Hatchet(NewJob),
    Handinger {
        settings: Settings,
        request: HandingerRequest,
        exec: Execution,
    },
}

impl Submitted {
    pub(super) fn read(api: &Api, job: Value) -> Result<Submitted, ApiError> {
        let (body, given) = read_value::<JobBody>(job)?;
        let (_, asked) = operation(&body, &given)?;
        // The command line's order: the settings, then the selection.
        let settings = api.settings_with(pace_overrides(
            &body.pace,
            body.concurrency,
            body.chunk_size,
        ))?;
        let exec = Execution {
            rate: body.pace.rate,
            concurrency: body.concurrency,
            no_verify: body.pace.no_verify,
            dry_run: body.dry_run,
            yes: true,
            reason: body.reason.clone(),
            job_name: body.job.clone(),
            again: body.again,
        };
        Ok(match asked {
            Asked::Hatchet(kind) => Submitted::Hatchet(NewJob {
                settings,
                request: job_request(kind, selection(&body)?)?,
                exec,
            }),
            Asked::Handinger(operation) => Submitted::Handinger {
                settings,
                request: HandingerRequest {
                    operation,
                    selection: handinger_selection(&body)?,
                },
                exec,
            },
        })
    }

    /// What the app checks of it before anything is sent, as running it would check it first
    /// (the credentials of the service's environment, the operation's requirements, the window
    /// now).
    pub(super) fn check(&self, credentials: &Credentials) -> Result<(), app::Error> {
        match self {
            Submitted::Hatchet(job) => app::check_request(credentials, &job.request),
            Submitted::Handinger { request, .. } => {
                app::check_handinger_request(credentials, request)
            }
        }
    }

    /// Runs it in this process: how it started, and what tells when its run is over.
    pub(super) async fn submit(self, api: &Api) -> Result<(Started, RunOver), ApiError> {
        let (settings, command, exec) = match self {
            Submitted::Hatchet(job) => (
                job.settings,
                JobCommand::New(Box::new(job.request)),
                job.exec,
            ),
            Submitted::Handinger {
                settings,
                request,
                exec,
            } => (settings, JobCommand::Handinger(Box::new(request)), exec),
        };
        api.0.runner.submit(settings, command, exec).await
    }
}

/// `POST /jobs`: runs a job in this process (202 with its id once its engine took it), or
/// answers what ended it before (a dry run, nothing matching, a refusal).
pub(super) async fn submit(State(api): State<Api>, bytes: Bytes) -> Result<Response, ApiError> {
    if api.closing() {
        return Err(ApiError::ShuttingDown);
    }
    let (job, _) = read_body::<Value>(&bytes)?;
    let (started, _) = Submitted::read(&api, job)?.submit(&api).await?;
    Ok(answer(started))
}

/// A job that began is 202, pointing at it; one that ended before is its own answer.
fn answer(started: Started) -> Response {
    match started {
        Started::Begun { job } => (
            StatusCode::ACCEPTED,
            [(header::LOCATION, format!("/jobs/{job}"))],
            Json(json!({"job": job, "state": "running"})),
        )
            .into_response(),
        Started::Ended(status, body) => (status, Json(body)).into_response(),
    }
}

/// What `jobs resume` offers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ResumeBody {
    #[serde(flatten)]
    pace: PaceBody,
    concurrency: Option<usize>,
}

/// `POST /jobs/{id}/resume`: runs an unfinished job on in this process.
pub(super) async fn resume(
    State(api): State<Api>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if api.closing() {
        return Err(ApiError::ShuttingDown);
    }
    let (body, given) = read_body::<ResumeBody>(&bytes)?;
    only("jobs resume", &given, &[&PACE, &["concurrency"]])?;
    let settings = api.settings_with(pace_overrides(&body.pace, body.concurrency, None))?;
    let exec = Execution {
        rate: body.pace.rate,
        concurrency: body.concurrency,
        no_verify: body.pace.no_verify,
        ..Execution::default()
    };
    let command = JobCommand::Resume { job: id };
    let (started, _) = api.0.runner.submit(settings, command, exec).await?;
    Ok(answer(started))
}

/// What `jobs undo` offers (a request is its own confirmation, as `--yes`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct UndoBody {
    #[serde(flatten)]
    pace: PaceBody,
    concurrency: Option<usize>,
    #[serde(default)]
    dry_run: bool,
    reason: Option<String>,
}

/// `POST /jobs/{id}/undo`: the job that undoes finished job `id` runs in this process (202
/// with its id), or, for a cancel, the ids it cancelled are written and their replay named.
pub(super) async fn undo(
    State(api): State<Api>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if api.closing() {
        return Err(ApiError::ShuttingDown);
    }
    let (body, given) = read_body::<UndoBody>(&bytes)?;
    only(
        "jobs undo",
        &given,
        &[&PACE, &["concurrency", "dry-run", "reason"]],
    )?;
    let settings = api.settings_with(pace_overrides(&body.pace, body.concurrency, None))?;
    let exec = Execution {
        rate: body.pace.rate,
        concurrency: body.concurrency,
        no_verify: body.pace.no_verify,
        dry_run: body.dry_run,
        yes: true,
        reason: body.reason,
        ..Execution::default()
    };
    let command = JobCommand::Undo { job: id };
    let (started, _) = api.0.runner.submit(settings, command, exec).await?;
    Ok(answer(started))
}

/// `GET /jobs`: every job in the store, as `jobs list -o json` gives each.
pub(super) async fn list(State(api): State<Api>) -> Result<Json<Value>, ApiError> {
    let state = api.0.settings.state.clone();
    blocking(move || {
        let store = state.open()?;
        let mut jobs = Vec::new();
        for job in store.jobs()? {
            let counts = store.counts(&job.id)?;
            let now = app::current_state(store.as_ref(), &job)?;
            jobs.push(job_line(&job, now, &counts));
        }
        Ok(Json(json!({ "jobs": jobs })))
    })
    .await
}

/// A look at a job: what `jobs show -o json` says of it, with what `jobs watch -o json` adds
/// (rate, ETA, whether and how it ended).
fn sight_json(sight: &Sight) -> Value {
    let mut shown = job_line(&sight.job, sight.state, &sight.counts);
    if let (Value::Object(fields), Value::Object(watched)) = (&mut shown, watch_json(sight)) {
        fields.extend(watched);
    }
    shown
}

/// A job looked at through `GET /jobs/{id}`: its watch, shared by successive looks.
type Watched = Arc<Mutex<Watch>>;

/// The jobs clients look at, each with its rate meter, so that a client polling every second
/// or so sees a rate and an ETA. Each holds a store connection: one nobody looked at for
/// `FORGET_AFTER` is let go.
#[derive(Default)]
pub(super) struct Watches(Mutex<HashMap<String, (Instant, Watched)>>);

const FORGET_AFTER: Duration = Duration::from_secs(60);

impl Watches {
    fn table(&self) -> MutexGuard<'_, HashMap<String, (Instant, Watched)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The watch of `job` if one is kept (the others unlooked at for too long let go).
    fn get(&self, job: &str, now: Instant) -> Option<Watched> {
        let mut table = self.table();
        table.retain(|_, (seen, _)| now.duration_since(*seen) < FORGET_AFTER);
        let (seen, watch) = table.get_mut(job)?;
        *seen = now;
        Some(watch.clone())
    }

    /// Keeps `watch` for `job`, unless another look kept one meanwhile (then that one).
    fn keep(&self, job: &str, watch: Watch, now: Instant) -> Watched {
        let kept = Arc::new(Mutex::new(watch));
        let mut table = self.table();
        table
            .entry(job.to_string())
            .or_insert((now, kept))
            .1
            .clone()
    }

    fn forget(&self, job: &str) {
        self.table().remove(job);
    }
}

/// `GET /jobs/{id}`.
pub(super) async fn show(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let watches = &api.0.watches;
    let watch = match watches.get(&id, Instant::now()) {
        Some(watch) => watch,
        None => {
            let settings = api.0.settings.clone();
            let job = id.clone();
            let opened = blocking(move || Watch::open(&settings, &job)).await?;
            watches.keep(&id, opened, Instant::now())
        }
    };
    let sight = blocking(move || {
        let mut watch = watch.lock().unwrap_or_else(|e| e.into_inner());
        watch.look(Instant::now())
    })
    .await?;
    if sight.ended.is_some() {
        // An ended job's look never changes: nothing to meter.
        watches.forget(&id);
    }
    Ok(Json(sight_json(&sight)))
}

/// `POST /jobs/{id}/pause`: the process running it stops after its requests on the wire.
pub(super) async fn pause(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let settings = api.0.settings.clone();
    let job = blocking(move || app::pause(&settings, &id)).await?;
    Ok(Json(json!({"job": job.id, "state": "paused"})))
}

/// `POST /jobs/{id}/abort`: nothing more is sent for it.
pub(super) async fn abort(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let settings = api.0.settings.clone();
    let (job, counts) = blocking(move || app::abort(&settings, &id)).await?;
    Ok(Json(
        json!({"job": job.id, "state": "aborted", "counts": counts}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetuneBody {
    rate: Option<f64>,
    concurrency: Option<usize>,
}

/// `POST /jobs/{id}/retune` with `{"rate": R}`, `{"concurrency": N}` or both: the job's new
/// rate and concurrency now (the process running it reads them within a second) and on every
/// later resume, as `jobs retune` sets them.
pub(super) async fn retune(
    State(api): State<Api>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (body, _) = read_body::<RetuneBody>(&bytes)?;
    if body.rate.is_none() && body.concurrency.is_none() {
        return Err(ApiError::Body(
            "give rate, concurrency or both, e.g. {\"rate\": 5}".into(),
        ));
    }
    let settings = api.0.settings.clone();
    let retune = app::Retune {
        rate: body.rate,
        concurrency: body.concurrency,
    };
    let job = blocking(move || app::retune(&settings, &id, retune)).await?;
    Ok(Json(retune_json(&job.id, &retune)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportQuery {
    format: Option<String>,
    #[serde(default)]
    failed: bool,
}

/// Bytes gathered into pieces of about this size before they go to the connection.
const REPORT_PIECE: usize = 64 * 1024;

/// A report written in pieces onto the response body; a client gone ends the writing.
struct BodyWriter {
    piece: Vec<u8>,
    body: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for BodyWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.piece.extend_from_slice(bytes);
        if self.piece.len() >= REPORT_PIECE {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::take(&mut self.piece));
        self.body
            .blocking_send(Ok(piece))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

/// `GET /jobs/{id}/report?format=csv|ndjson&failed=true`: the per-item report, streamed from
/// the store's rows as `bulkops report` writes it.
pub(super) async fn report(
    State(api): State<Api>,
    Path(id): Path<String>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Body(e.body_text()))?;
    let (format, content_type) = match query.format.as_deref().unwrap_or("csv") {
        "csv" => (ReportFormat::Csv, "text/csv; charset=utf-8"),
        "ndjson" => (ReportFormat::Json, "application/x-ndjson"),
        other => return Err(ApiError::ReportFormat(other.to_string())),
    };
    let state = api.0.settings.state.clone();
    let (store, job) = blocking(move || {
        let store = state.open()?;
        let job = app::find(store.as_ref(), &state, &id)?;
        Ok((store, job))
    })
    .await?;
    let (body, pieces) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut out = BodyWriter {
            piece: Vec::new(),
            body: body.clone(),
        };
        let written =
            crate::report::write_report(store.as_ref(), &job, query.failed, format, &mut out)
                .map_err(|e| e.to_string())
                .and_then(|_| out.flush().map_err(|e| e.to_string()));
        if let Err(e) = written {
            tracing::warn!(job = %job.id, "the report's stream broke off: {e}");
            // The body ends in an error, so the client cannot take a part for the whole.
            let _ = body.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    let stream = futures::stream::unfold(pieces, |mut pieces| async move {
        pieces.recv().await.map(|piece| (piece, pieces))
    });
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_is_found_by_its_name_at_any_depth() {
        for body in [
            json!({"token": "x"}),
            json!({"operation": "runs cancel", "HATCHET_CLIENT_TOKEN": "x"}),
            json!({"api_key": "x"}),
            json!({"apiKey": "x"}),
            json!({"metadata": [{"Password": "x"}]}),
            json!({"nested": {"client-secret": "x"}}),
        ] {
            assert!(credential_field(&body).is_some(), "{body}");
        }
        let clean = json!({"operation": "runs cancel", "since": "1d", "metadata": ["k=v"]});
        assert_eq!(credential_field(&clean), None);
    }

    #[test]
    fn a_field_is_taken_only_by_an_operation_whose_command_offers_its_flag() {
        let read = |value: Value| {
            let bytes = Bytes::from(value.to_string());
            let (body, given) = read_body::<JobBody>(&bytes).expect("a body");
            operation(&body, &given).map(|(name, _)| name)
        };
        assert_eq!(
            read(json!({"operation": "runs cancel", "since": "1d", "concurrency": 2})).ok(),
            Some("runs cancel")
        );
        let replay = read(json!({"operation": "runs replay", "since": "1d", "concurrency": 2}));
        assert!(
            matches!(&replay, Err(ApiError::NotOffered { field, .. }) if field == "concurrency"),
            "{replay:?}"
        );
        let crons = read(json!({"operation": "crons delete", "chunk-size": 5}));
        assert!(matches!(crons, Err(ApiError::NotOffered { .. })));
        let unknown = read(json!({"operation": "runs obliterate"}));
        assert!(matches!(unknown, Err(ApiError::Operation(_))));
        let file = read(json!({"operation": "runs cancel", "ids-file": "/etc/passwd"}));
        assert!(
            matches!(&file, Err(ApiError::NotOffered { field, .. }) if field == "ids-file"),
            "{file:?}"
        );
    }
}
