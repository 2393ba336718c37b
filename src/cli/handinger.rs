//! `bulkops handinger schedules list|cancel|reschedule`: the flags, their mapping to the app's
//! request, and how the CLI words Handinger jobs and listings.

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand};
use serde_json::json;

use super::args::{GlobalArgs, JobNameArg, MetricsArgs, NewJobArgs, Output, PaceArgs, SpreadArgs};
use super::output::{self, outln, Column};
use super::request::{load_settings, ExecFlags};
use crate::app::{self, Credentials, Error, HandingerCheck, HandingerRequest, JobCommand};
use crate::backend::handinger::models::WorkerSchedule;
use crate::engine::format_count;
use crate::job::{parse_shift, parse_time, HandingerOperation, SpecError, TimeSpec};
use crate::ops::{read_input, rfc3339, HandingerSelection, Replacement};

#[derive(Debug, Subcommand)]
pub enum HandingerCommand {
    /// Worker schedules (one-off, delayed, cron, interval)
    #[command(subcommand)]
    Schedules(SchedulesCommand),
}

#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// Print every schedule the selection holds, changing nothing (the dry run of the others)
    ///
    /// A table, or with -o json JSON lines, one schedule a line: worker and the API's fields
    /// (id, type, budget, input, nextRunAt, and cron, intervalSeconds or delayInSeconds).
    #[command(
        after_help = "Examples:\n  bulkops handinger schedules list --worker wrk_1 --type cron\n  bulkops handinger schedules list --workers-file workers.txt --next-run-before +1d -o json"
    )]
    List(ScheduleSelectArgs),
    /// Cancel every selected schedule, one request each
    #[command(
        after_help = "Examples:\n  bulkops handinger schedules cancel --worker wrk_1 --worker wrk_2 --type delayed\n  bulkops handinger schedules cancel --workers-file workers.txt --input-contains acme --yes"
    )]
    Cancel(ScheduleCancelArgs),
    /// Replace every selected schedule: create the new one, then cancel the original
    /// (`jobs undo` puts the originals back)
    #[command(
        group(ArgGroup::new("replacement").required(true).args(["to", "shift", "cron", "interval"])),
        after_help = "Examples:\n  bulkops handinger schedules reschedule --worker wrk_1 --type scheduled --shift 1h\n  bulkops handinger schedules reschedule --worker wrk_1 --type cron --cron \"0 3 * * *\""
    )]
    Reschedule(ScheduleRescheduleArgs),
}

/// Which schedules: the workers (the API cannot list them), then filters on each one's list.
#[derive(Debug, Args, Clone, Default)]
pub struct ScheduleSelectArgs {
    /// Worker id (repeatable)
    #[arg(long = "worker", value_name = "ID")]
    pub workers: Vec<String>,
    /// Worker ids, one a line (`#` comments); `-` reads standard input
    #[arg(long, value_name = "FILE|-")]
    pub workers_file: Option<String>,
    /// Schedule type (repeatable): scheduled, delayed, cron, interval [default: every type]
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Budget (repeatable): low, standard, high, unlimited [default: every budget]
    #[arg(long = "budget", value_name = "BUDGET")]
    pub budgets: Vec<String>,
    /// Next run after this time: RFC 3339, or +2h (from now) / -1d (ago)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub next_run_after: Option<String>,
    /// Next run before this time: RFC 3339, or +2h (from now) / -1d (ago)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub next_run_before: Option<String>,
    /// Only schedules whose input contains this text
    #[arg(long, value_name = "TEXT")]
    pub input_contains: Option<String>,
    /// Only these schedule ids (of the workers given): one a line (`#` comments; `worker/id` as a
    /// report writes them); `-` reads standard input
    #[arg(long, value_name = "FILE")]
    pub ids_file: Option<String>,
}

/// A cancel takes effect when answered: there is nothing to confirm afterwards, so it offers
/// no `--no-verify` or `--verify-timeout`.
#[derive(Debug, Args)]
pub struct ScheduleCancelArgs {
    #[command(flatten)]
    pub select: ScheduleSelectArgs,
    #[command(flatten)]
    pub spread: SpreadArgs,
    #[command(flatten)]
    pub chunks: ScheduleChunkArgs,
    #[command(flatten)]
    pub pace: RequestPaceArgs,
    #[command(flatten)]
    pub new_job: NewJobArgs,
    #[command(flatten)]
    pub name: JobNameArg,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// The API has no bulk call: a chunk is a batch of single requests, checkpointed together.
#[derive(Debug, Args, Clone, Default)]
pub struct ScheduleChunkArgs {
    /// Schedules per chunk, one request each (1 to 1000) [env: BULKOPS_CHUNK_SIZE] [default:
    /// cancel 50, at most 500; reschedule 25, at most 200]
    #[arg(long, value_name = "N")]
    pub chunk_size: Option<usize>,
}

/// The pace flags of a command with nothing to verify.
#[derive(Debug, Args, Clone, Default)]
pub struct RequestPaceArgs {
    /// Requests per second, for the whole process (0.01 to 1000000) [env: BULKOPS_RATE]
    /// [default: 50]
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Per-request timeout [env: BULKOPS_REQUEST_TIMEOUT] [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,
}

/// A reschedule sends one chunk at a time (two chunks on one worker could take each other's
/// replacement for their own), so it offers no `--concurrency`.
#[derive(Debug, Args)]
pub struct ScheduleRescheduleArgs {
    /// New time for one-off (scheduled, delayed) schedules: RFC 3339
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Move one-off schedules' next run by this much (1h, -30m, 2d)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub shift: Option<String>,
    /// Replace recurring (cron, interval) schedules by this cron rule (five fields)
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// Replace recurring schedules by an interval of this many seconds
    #[arg(long, value_name = "SECONDS")]
    pub interval: Option<String>,
    #[command(flatten)]
    pub select: ScheduleSelectArgs,
    #[command(flatten)]
    pub chunks: ScheduleChunkArgs,
    #[command(flatten)]
    pub pace: PaceArgs,
    #[command(flatten)]
    pub new_job: NewJobArgs,
    #[command(flatten)]
    pub name: JobNameArg,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Runs a `bulkops handinger` command.
pub async fn run(global: &GlobalArgs, command: HandingerCommand) -> Result<u8, Error> {
    let HandingerCommand::Schedules(command) = command;
    match command {
        SchedulesCommand::List(select) => list(global, select).await,
        SchedulesCommand::Cancel(args) => {
            let exec = ExecFlags {
                pace: PaceArgs {
                    rate: args.pace.rate,
                    request_timeout: args.pace.request_timeout,
                    ..PaceArgs::default()
                },
                concurrency: args.spread.concurrency,
                chunk_size: args.chunks.chunk_size,
                new_job: args.new_job,
                job_name: args.name.job_name,
                again: false,
                metrics_addr: args.metrics.metrics_addr,
            };
            let operation = HandingerOperation::HandingerCancel;
            new_job(global, exec, operation, args.select).await
        }
        SchedulesCommand::Reschedule(args) => {
            let exec = ExecFlags {
                pace: args.pace,
                chunk_size: args.chunks.chunk_size,
                new_job: args.new_job,
                job_name: args.name.job_name,
                metrics_addr: args.metrics.metrics_addr,
                ..ExecFlags::default()
            };
            let replacement = replacement(
                args.to.as_deref(),
                args.shift.as_deref(),
                args.cron.as_deref(),
                args.interval.as_deref(),
            )?;
            let operation = HandingerOperation::HandingerReschedule { replacement };
            new_job(global, exec, operation, args.select).await
        }
    }
}

async fn new_job(
    global: &GlobalArgs,
    exec: ExecFlags,
    operation: HandingerOperation,
    select: ScheduleSelectArgs,
) -> Result<u8, Error> {
    super::run_job(global, exec, || {
        let selection = selection(select)?;
        Ok(JobCommand::Handinger(Box::new(HandingerRequest {
            operation,
            selection,
        })))
    })
    .await
}

/// What replaces each schedule, checked before anything is sent (clap requires exactly one).
pub(crate) fn replacement(
    to: Option<&str>,
    shift: Option<&str>,
    cron: Option<&str>,
    interval: Option<&str>,
) -> Result<Replacement, Error> {
    Ok(match (to, shift, cron, interval) {
        (Some(to), None, None, None) => {
            Replacement::To(parse_time(to).map_err(|_| SpecError::BadTarget(to.to_string()))?)
        }
        (None, Some(shift), None, None) => Replacement::Shift {
            seconds: parse_shift(shift)?.num_seconds(),
        },
        (None, None, Some(cron), None) => Replacement::cron(cron).map_err(HandingerCheck::from)?,
        (None, None, None, Some(interval)) => {
            Replacement::interval(interval).map_err(HandingerCheck::from)?
        }
        _ => {
            return Err(Error::Usage(
                "give exactly one of --to, --shift, --cron, --interval (see --help)".into(),
            ))
        }
    })
}

/// The selection as typed, its files read and every value checked (nothing is sent on junk).
pub(crate) fn selection(a: ScheduleSelectArgs) -> Result<HandingerSelection, Error> {
    let mut workers = a.workers;
    if let Some(path) = &a.workers_file {
        let text = read_input(path).map_err(|e| HandingerCheck::WorkersFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        workers.extend(HandingerSelection::parse_workers(&text).map_err(HandingerCheck::from)?);
    }
    let check = |e| Error::Handinger(HandingerCheck::Selection(e));
    let types = a
        .types
        .iter()
        .map(|t| HandingerSelection::parse_type(t))
        .collect::<Result<_, _>>()
        .map_err(check)?;
    let budgets = a
        .budgets
        .iter()
        .map(|b| HandingerSelection::parse_budget(b))
        .collect::<Result<_, _>>()
        .map_err(check)?;
    let time = |flag: &'static str, value: Option<String>| {
        value.map(|v| TimeSpec::parse_trigger(flag, &v)).transpose()
    };
    let ids = match &a.ids_file {
        Some(path) => {
            let text = read_input(path).map_err(|e| HandingerCheck::IdsFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            Some(HandingerSelection::parse_ids(&text).map_err(check)?)
        }
        None => None,
    };
    Ok(HandingerSelection {
        workers,
        types,
        budgets,
        next_run_after: time("next-run-after", a.next_run_after)?,
        next_run_before: time("next-run-before", a.next_run_before)?,
        input_contains: a.input_contains,
        ids,
    })
}

/// `handinger schedules list`: what the selection holds, as a table or JSON lines (a schedule
/// a line, with its worker).
async fn list(global: &GlobalArgs, select: ScheduleSelectArgs) -> Result<u8, Error> {
    let settings = load_settings(global, &ExecFlags::default())?;
    let selection = selection(select)?;
    let found = app::handinger_list(&settings, &Credentials::from_env(), selection).await?;
    match global.output {
        Output::Json => {
            for (worker, schedule) in &found {
                outln!("{}", schedule_line(worker, schedule))?;
            }
        }
        Output::Text => {
            let rows: Vec<Vec<String>> = found.iter().map(|(w, s)| row(w, s)).collect();
            for line in output::table(&SCHEDULE_LIST, &rows) {
                outln!("{line}")?;
            }
            outln!(
                "{} matching; nothing was changed",
                schedules(found.len() as u64)
            )?;
        }
    }
    Ok(app::BulkopsExitCode::OK)
}

/// One schedule as a JSON line: the API's fields, and the worker it belongs to.
fn schedule_line(worker: &str, schedule: &WorkerSchedule) -> serde_json::Value {
    let mut line = json!(schedule);
    if let Some(fields) = line.as_object_mut() {
        fields.insert("worker".into(), json!(worker));
    }
    line
}

/// The columns of `handinger schedules list` as text.
const SCHEDULE_LIST: [Column; 6] = [
    Column {
        heading: "WORKER",
        right: false,
    },
    Column {
        heading: "SCHEDULE",
        right: false,
    },
    Column {
        heading: "TYPE",
        right: false,
    },
    Column {
        heading: "NEXT RUN (UTC)",
        right: false,
    },
    Column {
        heading: "BUDGET",
        right: false,
    },
    Column {
        heading: "INPUT",
        right: false,
    },
];

/// One schedule as a table row; its input cut to 60 characters, on one line.
fn row(worker: &str, s: &WorkerSchedule) -> Vec<String> {
    let kind = s.schedule_type().map_or("unknown", |t| t.as_str());
    vec![
        worker.to_string(),
        s.id.clone(),
        kind.to_string(),
        rfc3339(s.next_run_at),
        s.budget.clone(),
        // A line break or tab in the input would break the table's row.
        s.input
            .chars()
            .take(60)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    ]
}

fn schedules(n: u64) -> String {
    format!(
        "{} schedule{}",
        format_count(n),
        if n == 1 { "" } else { "s" }
    )
}

/// What a job of `operation` does to `n` schedules, as a confirmation asks it.
pub fn action(operation: &HandingerOperation, n: u64) -> String {
    match operation {
        HandingerOperation::HandingerCancel => format!("cancel {}", schedules(n)),
        HandingerOperation::HandingerReschedule { replacement } => {
            let how = match replacement {
                Replacement::To(at) => format!("move {} to {}", schedules(n), rfc3339(*at)),
                Replacement::Shift { seconds } => {
                    format!("move {} by {seconds:+}s", schedules(n))
                }
                Replacement::Cron(expr) => {
                    format!("replace {} by cron {:?}", schedules(n), expr.as_str())
                }
                Replacement::Interval { seconds } => {
                    format!("replace {} by an interval of {seconds}s", schedules(n))
                }
            };
            format!("{how} (each: create the new one, then cancel the original)")
        }
        HandingerOperation::HandingerRestore { of } => {
            format!(
                "put back the originals of {} (undo of job {of})",
                schedules(n)
            )
        }
    }
}

/// Every filter of a selection, relative next-run times resolved against `now`.
pub fn selection_in_words(selection: &HandingerSelection, now: DateTime<Utc>) -> String {
    // A long workers file is named by its count and first few ids.
    const SHOWN: usize = 3;
    let workers = &selection.workers;
    let mut parts = vec![match workers.len() {
        1 => format!("worker {}", workers[0]),
        n if n <= SHOWN => format!("workers {}", workers.join(", ")),
        n => format!("{n} workers ({}, …)", workers[..SHOWN].join(", ")),
    }];
    if !selection.types.is_empty() {
        let types: Vec<&str> = selection.types.iter().map(|t| t.as_str()).collect();
        parts.push(format!("type {}", types.join(" or ")));
    }
    if !selection.budgets.is_empty() {
        parts.push(format!("budget {}", selection.budgets.join(" or ")));
    }
    let at = |t: &Option<crate::job::TimeSpec>| {
        t.as_ref().and_then(|t| t.resolve(now).ok()).map(rfc3339)
    };
    if let Some(after) = at(&selection.next_run_after) {
        parts.push(format!("next run after {after}"));
    }
    if let Some(before) = at(&selection.next_run_before) {
        parts.push(format!("next run before {before}"));
    }
    if let Some(text) = &selection.input_contains {
        parts.push(format!("input containing {text:?}"));
    }
    if let Some(ids) = &selection.ids {
        parts.push(format!(
            "the {} ids in the ids file",
            format_count(ids.len() as u64)
        ));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::handinger::models::ScheduleType;

    #[test]
    fn a_confirmation_says_what_each_operation_does_to_how_many_schedules() {
        let cancel = HandingerOperation::HandingerCancel;
        assert_eq!(action(&cancel, 1), "cancel 1 schedule");
        assert_eq!(action(&cancel, 2000), "cancel 2,000 schedules");
        let cron = HandingerOperation::HandingerReschedule {
            replacement: Replacement::cron("0 3 * * *").unwrap(),
        };
        assert!(action(&cron, 3).starts_with("replace 3 schedules by cron \"0 3 * * *\""));
        let undo = HandingerOperation::HandingerRestore { of: "j-1".into() };
        assert!(action(&undo, 2).ends_with("(undo of job j-1)"));
    }

    #[test]
    fn a_selection_in_words_names_every_filter_and_a_long_worker_list_by_its_count() {
        let now = parse_time("2026-01-10T00:00:00Z").unwrap();
        let selection = HandingerSelection {
            workers: (1..=5).map(|n| format!("w{n}")).collect(),
            types: vec![ScheduleType::Cron],
            next_run_before: Some(TimeSpec::parse_trigger("next-run-before", "+1h").unwrap()),
            input_contains: Some("acme".into()),
            ..HandingerSelection::default()
        };
        assert_eq!(
            selection_in_words(&selection, now),
            "5 workers (w1, w2, w3, …), type cron, next run before 2026-01-10T01:00:00Z, input containing \"acme\""
        );
    }

    #[test]
    fn a_schedule_row_keeps_its_input_on_one_line_and_the_json_line_names_its_worker() {
        let schedule = WorkerSchedule {
            id: "sch_1".into(),
            budget: "low".into(),
            input: format!("first\nsecond\tthird{}", "x".repeat(80)),
            next_run_at: parse_time("2026-01-10T00:00:00Z").unwrap(),
            timing: crate::backend::handinger::models::Timing::Cron {
                cron: "0 3 * * *".into(),
            },
        };
        let cells = row("wrk_1", &schedule);
        assert_eq!(cells[2], "cron");
        assert!(cells[5].starts_with("first second third"), "{}", cells[5]);
        assert_eq!(cells[5].chars().count(), 60);
        let line = schedule_line("wrk_1", &schedule);
        assert_eq!(
            (&line["worker"], &line["id"], &line["type"], &line["cron"]),
            (
                &json!("wrk_1"),
                &json!("sch_1"),
                &json!("cron"),
                &json!("0 3 * * *")
            )
        );
    }

    #[test]
    fn exactly_one_replacement_is_taken_and_each_is_checked() {
        assert_eq!(
            replacement(None, Some("-30m"), None, None).unwrap(),
            Replacement::Shift { seconds: -1800 }
        );
        assert!(replacement(None, None, Some("* * *"), None).is_err());
        assert!(replacement(None, None, None, Some("-5")).is_err());
        assert!(replacement(Some("2026-01-01T00:00:00Z"), Some("1h"), None, None).is_err());
        assert!(replacement(None, None, None, None).is_err());
    }
}
