//! Scheduled jobs (`serve --jobs-dir DIR`): every `*.toml` file in the directory is a cron
//! expression (`cron`: five fields, or six with seconds first; UTC) and a job as `POST /jobs`
//! takes it (`operation` and its command's flags by name: a Hatchet operation, or `handinger
//! schedules cancel|reschedule` on the service's own `HANDINGER_API_KEY`). Every file is read and checked at
//! startup as a submission is checked when it runs, so a bad one stops `serve` before it
//! listens (exit 2, naming the file).
//!
//! Each firing is an ordinary job, named after its file as `--job NAME` names one: its relative
//! window is resolved at the firing, it is in the store and in `GET /jobs` like any job. A
//! firing while the file's previous run is still going in this process is skipped and logged,
//! so runs never overlap; one that finds the previous run unfinished but stopped (a restart)
//! resumes it, as a cron job re-run with `--job` does; and on a shared store each firing is
//! claimed in the store before it runs (`Store::claim_firing`), so that of several service
//! replicas one runs it and the others log that they left it.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::Utc;
use croner::Cron;
use serde_json::Value;

use super::jobs::Submitted;
use super::runner::{RunOver, Started};
use super::Api;
use crate::app::{Credentials, Error};

/// One scheduled job, as its file says it.
pub(super) struct Schedule {
    file: PathBuf,
    /// The file's stem: the job's name unless the file gives `job`.
    name: String,
    cron: Cron,
    /// The job as a submission would give it.
    job: Value,
}

fn problem(file: &Path, problem: impl std::fmt::Display) -> Error {
    Error::Schedule {
        file: file.to_path_buf(),
        problem: problem.to_string(),
    }
}

/// Every `*.toml` file of `dir`, in name order, each checked.
pub(super) fn load(
    api: &Api,
    credentials: &Credentials,
    dir: &Path,
) -> Result<Vec<Schedule>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        problem(
            dir,
            format!("{e}: pass --jobs-dir a directory of scheduled jobs (*.toml)"),
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| problem(dir, e))?.path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            files.push(path);
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|file| Schedule::read(api, credentials, &file))
        .collect()
}

impl Schedule {
    fn read(api: &Api, credentials: &Credentials, file: &Path) -> Result<Schedule, Error> {
        let text = std::fs::read_to_string(file).map_err(|e| problem(file, e))?;
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| problem(file, one_line(&e.to_string())))?;
        let mut job = serde_json::to_value(table).map_err(|e| problem(file, e))?;
        let Some(Value::String(pattern)) = job.as_object_mut().and_then(|t| t.remove("cron"))
        else {
            return Err(problem(
                file,
                "no `cron`: give a cron expression, e.g. cron = \"0 3 * * *\" (UTC)",
            ));
        };
        let cron = Cron::from_str(&pattern).map_err(|e| {
            problem(
                file,
                format!("cron \"{pattern}\": {e}: use five fields (minute hour day month weekday), e.g. \"0 3 * * *\""),
            )
        })?;
        let name = file
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(fields) = job.as_object_mut() {
            fields
                .entry("job")
                .or_insert_with(|| Value::String(name.clone()));
        }
        // Checked now as a submission is when it runs: its fields, then the app's checks.
        let checked = Submitted::read(api, job.clone()).map_err(|e| problem(file, e))?;
        checked.check(credentials).map_err(|e| problem(file, e))?;
        Ok(Schedule {
            file: file.to_path_buf(),
            name,
            cron,
            job,
        })
    }
}

/// Claims the firing at `at` in the store, so that of several replicas of the service on one
/// shared store only one runs it: on its own each would run the job again once the other's
/// run finished, or join it.
async fn claim(
    api: &Api,
    name: &str,
    at: chrono::DateTime<Utc>,
) -> Result<bool, super::error::ApiError> {
    let (state, name) = (api.0.settings.state.clone(), name.to_string());
    super::jobs::blocking(move || {
        let owner = crate::store::this_process();
        Ok(state.open()?.claim_firing(&name, at, &owner)?)
    })
    .await
}

/// A parser's message over several lines (TOML shows the line at fault), on one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fires every schedule on this System until shutdown.
pub(super) fn start(api: &Api, schedules: Vec<Schedule>) {
    for schedule in schedules {
        tracing::info!(
            schedule = %schedule.name,
            file = %schedule.file.display(),
            cron = %schedule.cron.pattern,
            "scheduled"
        );
        actix::spawn(fire(api.clone(), schedule));
    }
}

async fn fire(api: Api, schedule: Schedule) {
    let name = schedule.name.as_str();
    let mut closing = api.0.closing.clone();
    let mut previous: Option<RunOver> = None;
    loop {
        let now = Utc::now();
        let next = match schedule.cron.find_next_occurrence(&now, false) {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(schedule = %name, "no next firing ({e}): the schedule ends");
                return;
            }
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = closing.wait_for(|closing| *closing) => return,
        }
        if previous.as_mut().is_some_and(|run| !run.is_over()) {
            tracing::info!(schedule = %name, firing = %next, "skipped: the previous run is still going");
            continue;
        }
        match claim(&api, name, next).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(schedule = %name, firing = %next, "skipped: another replica claimed this firing and runs it");
                continue;
            }
            Err(e) => {
                tracing::warn!(schedule = %name, firing = %next, "not fired: {e}");
                continue;
            }
        }
        // Read again at each firing: the settings as they are now.
        let submitted = match Submitted::read(&api, schedule.job.clone()) {
            Ok(job) => job.submit(&api).await,
            Err(e) => Err(e),
        };
        match submitted {
            Ok((Started::Begun { job }, over)) => {
                tracing::info!(schedule = %name, firing = %next, job = %job, "fired");
                previous = Some(over);
            }
            Ok((Started::Ended(status, answer), _)) => {
                tracing::info!(schedule = %name, firing = %next, status = status.as_u16(), %answer, "fired: no job ran");
            }
            Err(e) => tracing::warn!(schedule = %name, firing = %next, "not fired: {e}"),
        }
    }
}
