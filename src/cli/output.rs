//! Everything bulkops prints on stdout, through one writer.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use serde_json::json;
use unicode_width::UnicodeWidthStr;

use super::args::Output;
use crate::app::{BulkopsExitCode, Error, ReplayOffer, Survey};
use crate::backend::hatchet::without_credentials;
use crate::engine::{format_count, format_duration, format_rate, rounded_rate, RunTotals};
use crate::job::{HatchetJob, JobSpec, SelectorFields, Window};
use crate::ops::{self, rfc3339};
use crate::store::{Counts, JobRecord};

/// Set once a write met a closed stdout; nothing is written after that.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Stdout for all output. A closed stdout (`bulkops jobs list | head -1`) is its reader saying
/// it has seen enough, as for `ls | head`: output ends there quietly, and the command goes on to
/// end as it would have (same exit code). Any other write error is an error.
pub struct Stdout;

impl Stdout {
    fn unless_closed<T>(
        done: T,
        op: impl FnOnce(&mut io::Stdout) -> io::Result<T>,
    ) -> io::Result<T> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(done);
        }
        match op(&mut io::stdout()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(done)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Stdout::unless_closed(buf.len(), |out| out.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Stdout::unless_closed((), |out| out.flush())
    }
}

/// Completions and the manual page are formats of their own: `-o json` is refused, not ignored.
fn never_json(output: Output, command: &str, what: &str) -> Result<(), Error> {
    match output {
        Output::Json => Err(Error::Usage(format!(
            "`bulkops {command}` prints {what}, not JSON: drop -o json"
        ))),
        Output::Text => Ok(()),
    }
}

/// The completion script for `shell`, from the same definitions as the parser.
pub fn completions(output: Output, shell: clap_complete::Shell) -> Result<u8, Error> {
    never_json(output, "completions", "a shell script")?;
    let mut command = <super::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "bulkops", &mut Stdout);
    Stdout.flush().map_err(Error::Stdout)?;
    Ok(BulkopsExitCode::OK)
}

/// The manual page, from the same definitions as the parser.
pub fn manpage(output: Output) -> Result<u8, Error> {
    never_json(output, "manpage", "a manual page (roff)")?;
    let command = <super::Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(command)
        .render(&mut Stdout)
        .and_then(|()| Stdout.flush())
        .map_err(Error::Stdout)?;
    Ok(BulkopsExitCode::OK)
}

/// One line on stdout, through [`Stdout`]; use it with [`outln!`].
pub fn write_line(line: fmt::Arguments<'_>) -> Result<(), Error> {
    let mut out = Stdout;
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(Error::Stdout)
}

/// `println!` for bulkops output: a closed stdout ends output quietly instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// How a job run ended, for its summary.
pub struct Ending<'a> {
    /// `finished` or `interrupted`.
    pub state: &'a str,
    pub counts: &'a Counts,
    pub report: Option<&'a str>,
    pub exit: u8,
    pub note: Option<&'a str>,
    pub totals: &'a RunTotals,
}

/// The end-of-job summary: counts, what this run did, the report path and how to go on. The
/// job's outcome is in its exit code and the store, so a summary that cannot be written is only
/// a warning.
pub fn summary(output: Output, job: &JobRecord, ending: &Ending) {
    if let Err(e) = outln!("{}", summary_text(output, job, ending)) {
        tracing::warn!("{e}");
    }
}

fn summary_text(output: Output, job: &JobRecord, ending: &Ending) -> String {
    let totals = ending.totals;
    let traffic = &totals.traffic;
    match output {
        Output::Json => json!({
            "job": job.id,
            "operation": job.spec.operation_name(),
            "state": ending.state,
            "counts": ending.counts,
            "run": {
                "elapsed_s": (totals.elapsed.as_secs_f64() * 10.0).round() / 10.0,
                "items": totals.items,
                "items_per_sec": rounded_rate(totals.items_per_sec()),
                "requests": traffic.requests,
                "retries": traffic.retries,
                "throttled": traffic.throttled,
                "unanswered": traffic.unanswered,
                "server_errors": traffic.server_errors,
                "resent": totals.resent,
            },
            "report": ending.report,
            "exit_code": ending.exit,
            "note": ending.note,
        })
        .to_string(),
        Output::Text => {
            let mut text = format!(
                "job {} ({}): {}\n  {}\n  this run: {} items in {} ({}); {} requests, {} retried, {} throttled (429), {} unanswered, {} server errors; {} resent",
                job.id,
                job.spec.operation_name(),
                ending.state,
                counts_in_words(ending.counts),
                format_count(totals.items),
                format_duration(totals.elapsed),
                format_rate(totals.items_per_sec()),
                format_count(traffic.requests),
                format_count(traffic.retries),
                format_count(traffic.throttled),
                format_count(traffic.unanswered),
                format_count(traffic.server_errors),
                format_count(totals.resent),
            );
            if let Some(report) = ending.report {
                text.push_str(&format!("\n  report: {report}"));
            }
            if let Some(note) = ending.note {
                text.push_str(&format!("\n  {note}"));
            }
            text
        }
    }
}

/// The undo of a cancel: where the ids it cancelled are and the replay of exactly those.
pub fn replay_offer(output: Output, offer: &ReplayOffer) -> Result<(), Error> {
    match output {
        Output::Json => outln!(
            "{}",
            json!({"job": offer.job, "cancelled": offer.cancelled, "ids_file": offer.ids_file, "command": offer.command})
        ),
        Output::Text => outln!(
            "job {} cancelled {} runs; their ids are in {}.\nCancel cannot be reversed, but those runs can be replayed:\n  {}",
            offer.job,
            offer.cancelled,
            offer.ids_file.display(),
            offer.command
        ),
    }
}

/// A dry run's findings as one JSON object.
pub fn dry_run_json(found: &Survey) -> serde_json::Value {
    let skipped: Vec<serde_json::Value> = found
        .skipped
        .iter()
        .map(|(reason, items)| json!({"reason": reason, "items": items}))
        .collect();
    json!({"dry_run": true, "matching": found.matching, "sample": found.sample, "skipped": skipped})
}

/// What a dry run found.
pub fn dry_run(output: Output, found: &Survey) -> Result<(), Error> {
    match output {
        Output::Json => outln!("{}", dry_run_json(found)),
        Output::Text => {
            outln!(
                "dry run: {} matching items; nothing was changed",
                found.matching
            )?;
            for id in &found.sample {
                outln!("  {id}")?;
            }
            for (reason, items) in &found.skipped {
                outln!("  {} would be skipped: {reason}", format_count(*items))?;
            }
            Ok(())
        }
    }
}

/// A selection with no item: no job is created.
pub fn nothing_matches(output: Output, spec: &JobSpec) -> Result<(), Error> {
    match output {
        Output::Json => outln!("{}", nothing_matches_json(spec)),
        Output::Text => outln!("{NOTHING_MATCHES}"),
    }
}

const NOTHING_MATCHES: &str = "nothing matches: no job created";

/// A selection that matched nothing, as one JSON object.
pub fn nothing_matches_json(spec: &JobSpec) -> serde_json::Value {
    json!({
        "job": null,
        "operation": spec.operation_name(),
        "state": "nothing matches",
        "matching": 0,
        "exit_code": BulkopsExitCode::OK,
        "note": NOTHING_MATCHES,
    })
}

/// The question asked before a job is created: what it does to how many items, the whole
/// selection (defaults included), what it skips and why, and where.
pub fn confirmation(spec: &JobSpec, window: &Window, now: DateTime<Utc>, found: &Survey) -> String {
    let n = found.to_act_on();
    let action = match spec {
        JobSpec::Hatchet(job) => (ops::descriptor(&job.operation).action)(&job.operation, n),
        JobSpec::Handinger(job) => super::handinger::action(&job.operation, n),
    };
    let of_matching = if n == found.matching {
        String::new()
    } else {
        format!(" (of {} matching)", format_count(found.matching))
    };
    let mut text = format!(
        "About to {action}{of_matching} on {}.\n",
        target_in_words(spec)
    );
    if spec.undoes().is_none() {
        text.push_str(&format!(
            "  Selection: {}.\n",
            selection_in_words(spec, window, now, found.matching)
        ));
    }
    for (reason, items) in &found.skipped {
        text.push_str(&format!("  {} skipped: {reason}\n", format_count(*items)));
    }
    text.push_str("Continue? [y/N] ");
    text
}

/// Every filter of a selection, with the statuses an operation defaults to and the times
/// resolved (relative trigger times against `now`, as the job will).
fn selection_in_words(
    spec: &JobSpec,
    window: &Window,
    now: DateTime<Utc>,
    matching: u64,
) -> String {
    match spec {
        JobSpec::Hatchet(job) => hatchet_selection_in_words(job, window, now, matching),
        JobSpec::Handinger(job) => super::handinger::selection_in_words(&job.selector, now),
    }
}

/// Where a job acts, in words: the tenant and server, or the API origin.
fn target_in_words(spec: &JobSpec) -> String {
    match spec {
        JobSpec::Hatchet(job) => format!(
            "tenant {} at {}",
            job.target.tenant,
            without_credentials(&job.target.server_url).trim_end_matches('/')
        ),
        JobSpec::Handinger(job) => {
            format!("Handinger at {}", job.target.base_url.trim_end_matches('/'))
        }
    }
}

fn hatchet_selection_in_words(
    spec: &HatchetJob,
    window: &Window,
    now: DateTime<Utc>,
    matching: u64,
) -> String {
    // Words for every filter a selection can hold; those its resource lacks are empty.
    let SelectorFields {
        statuses,
        workflows,
        metadata,
        ids_digest,
        trigger_after,
        trigger_before,
        cron_names,
        include_code_defined,
        ..
    } = &SelectorFields::from(spec.selector.clone());
    let either = |items: &[String]| items.join(" or ");
    let mut parts = Vec::new();
    if ids_digest.is_some() {
        parts.push(format!(
            "the {} ids in the ids file",
            format_count(matching)
        ));
    }
    if !workflows.is_empty() {
        parts.push(format!("workflow {}", either(workflows)));
    }
    let defaults = ops::descriptor(&spec.operation).default_statuses;
    if !statuses.is_empty() {
        let named: Vec<String> = statuses.iter().map(|s| s.to_string()).collect();
        parts.push(format!("status {}", either(&named)));
    } else if !defaults.is_empty() && ids_digest.is_none() {
        let named: Vec<String> = defaults.iter().map(|s| s.to_string()).collect();
        parts.push(format!("status {} (default)", either(&named)));
    }
    if !metadata.is_empty() {
        let pairs: Vec<String> = metadata
            .iter()
            .map(|m| format!("{}={}", m.key, m.value))
            .collect();
        parts.push(format!("metadata {}", pairs.join(" and ")));
    }
    if !cron_names.is_empty() {
        parts.push(format!("cron name {}", either(cron_names)));
    }
    if *include_code_defined {
        parts.push("code-defined crons included".to_string());
    }
    let trigger = |t: &Option<crate::job::TimeSpec>| {
        t.as_ref().and_then(|t| t.resolve(now).ok()).map(rfc3339)
    };
    match (trigger(trigger_after), trigger(trigger_before)) {
        (Some(after), Some(before)) => {
            parts.push(format!("trigger time after {after} and before {before}"))
        }
        (Some(after), None) => parts.push(format!("trigger time after {after}")),
        (None, Some(before)) => parts.push(format!("trigger time before {before}")),
        (None, None) => {}
    }
    if ids_digest.is_none() {
        parts.push(if window.since == DateTime::UNIX_EPOCH {
            format!("created up to {}", rfc3339(window.until))
        } else {
            format!(
                "created after {} and up to {}",
                rfc3339(window.since),
                rfc3339(window.until)
            )
        });
    }
    parts.join(", ")
}

/// The counts of a job, saying apart what the server accepted but has not confirmed yet (`sent`)
/// from what was never sent (`pending`): after an interruption the first may well have happened.
pub fn counts_in_words(counts: &Counts) -> String {
    format!(
        "items {}: done {}, failed {}, skipped {}, unconfirmed {}, accepted but not yet confirmed {}, never sent {}",
        counts.total,
        counts.done,
        counts.failed,
        counts.skipped,
        counts.unconfirmed,
        counts.sent,
        counts.pending,
    )
}

/// What tells a job apart in a listing: its `--job` name, else its selection in words.
fn named_or_selected(job: &JobRecord) -> String {
    match &job.name {
        Some(name) => format!("--job {name}"),
        None => match job.spec.undoes() {
            Some(of) => format!("undo of {of}"),
            None => selection_in_words(&job.spec, &job.window, job.created_at, 0),
        },
    }
}

/// A column of a text table: its heading, and whether its values are right-aligned (numbers).
pub struct Column {
    pub heading: &'static str,
    pub right: bool,
}

/// A text table, heading first, each column as wide as its widest value in terminal cells (a
/// wide character takes two); the last column is not padded, so that a line carries no
/// trailing spaces.
pub fn table(columns: &[Column], rows: &[Vec<String>]) -> Vec<String> {
    let cells = |text: &str| UnicodeWidthStr::width(text);
    let width = |i: usize| {
        rows.iter()
            .map(|row| cells(&row[i]))
            .chain([cells(columns[i].heading)])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..columns.len()).map(width).collect();
    let line = |values: Vec<&str>| {
        let last = values.len() - 1;
        let padded: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let pad = " ".repeat(widths[i].saturating_sub(cells(value)));
                match (columns[i].right, i == last) {
                    (true, _) => format!("{pad}{value}"),
                    (false, true) => value.to_string(),
                    (false, false) => format!("{value}{pad}"),
                }
            })
            .collect();
        padded.join("  ")
    };
    let heading = line(columns.iter().map(|c| c.heading).collect());
    let body = rows
        .iter()
        .map(|row| line(row.iter().map(String::as_str).collect()));
    [heading].into_iter().chain(body).collect()
}

/// The columns of `jobs list` as text.
pub const JOB_LIST: [Column; 6] = [
    Column {
        heading: "JOB",
        right: false,
    },
    Column {
        heading: "OPERATION",
        right: false,
    },
    Column {
        heading: "STATE",
        right: false,
    },
    Column {
        heading: "CREATED (UTC)",
        right: false,
    },
    Column {
        heading: "DONE/TOTAL",
        right: true,
    },
    Column {
        heading: "NAME OR SELECTION",
        right: false,
    },
];

/// One row of `jobs list` as text; `state` is what the job does now.
pub fn job_list_row(job: &JobRecord, state: &str, counts: &Counts) -> Vec<String> {
    vec![
        job.id.clone(),
        job.spec.operation_name().to_string(),
        state.to_string(),
        rfc3339(job.created_at),
        format!("{}/{}", counts.done, counts.total),
        named_or_selected(job),
    ]
}

/// `jobs show` as text: one field a line.
pub fn job_text(job: &JobRecord, state: &str, counts: &Counts) -> String {
    let mut lines = vec![
        format!("job:        {}", job.id),
        format!("operation:  {}", job.spec.operation_name()),
        format!("state:      {state}"),
    ];
    if let Some(name) = &job.name {
        lines.push(format!("name:       {name}"));
    }
    lines.push(format!(
        "selection:  {}",
        selection_in_words(&job.spec, &job.window, job.created_at, counts.total)
    ));
    lines.push(format!("target:     {}", target_in_words(&job.spec)));
    let why = job
        .reason
        .as_ref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    lines.push(format!(
        "created:    {} by {}{why}",
        rfc3339(job.created_at),
        job.started_by
    ));
    if let Some(finished) = job.finished_at {
        lines.push(format!("ended:      {}", rfc3339(finished)));
    }
    if let Some(rate) = job.rate {
        lines.push(format!("rate:       {rate} requests/s (jobs retune)"));
    }
    lines.push(format!("items:      {}", counts_in_words(counts)));
    lines.join("\n")
}

/// One job as `jobs list -o json` and `jobs show` print it; `state` is what it does now.
pub fn job_line(job: &JobRecord, state: &str, counts: &Counts) -> serde_json::Value {
    json!({
        "job": job.id,
        "operation": job.spec.operation_name(),
        "state": state,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "window": {"since": job.window.since, "until": job.window.until},
        "started_by": job.started_by,
        "reason": job.reason,
        "rate": job.rate,
        "target": target_json(&job.spec),
        "selector": match &job.spec {
            JobSpec::Hatchet(spec) => json!(spec.selector),
            JobSpec::Handinger(spec) => json!(spec.selector),
        },
        "counts": counts,
    })
}

fn target_json(spec: &JobSpec) -> serde_json::Value {
    match spec {
        // A job stored before targets lost their credentials may still carry them.
        JobSpec::Hatchet(job) => json!({
            "server_url": without_credentials(&job.target.server_url),
            "tenant": job.target.tenant,
        }),
        JobSpec::Handinger(job) => json!({"base_url": job.target.base_url}),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::TrafficCounts;
    use crate::job::{
        parse_metadata, parse_time, OperationKind, RescheduleTarget, RunStatus, Target, TimeSpec,
    };
    use crate::store::JobState;

    fn at(text: &str) -> DateTime<Utc> {
        parse_time(text).unwrap()
    }

    /// Fixed times, ids and addresses: the snapshots hold nothing that changes between runs.
    fn spec(operation: OperationKind, selector: SelectorFields) -> JobSpec {
        let target = Target {
            server_url: "https://hatchet.example.com/".into(),
            tenant: "707d0855-80ab-4e1f-a156-f1c4546cbf52".into(),
        };
        JobSpec::new(operation, selector, target).unwrap()
    }

    fn window() -> Window {
        Window {
            since: at("2026-11-26T06:10:54.547560997Z"),
            until: at("2026-11-27T06:10:54.547560997Z"),
        }
    }

    fn now() -> DateTime<Utc> {
        at("2026-11-27T06:10:54.547560997Z")
    }

    fn found(matching: u64, skipped: &[(&str, u64)]) -> Survey {
        Survey {
            matching,
            sample: Vec::new(),
            skipped: skipped.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn a_cancel_prompt_counts_and_names_the_default_statuses() {
        let selector = SelectorFields {
            since: Some(TimeSpec::Ago("24h".into())),
            workflows: vec!["cc".into()],
            metadata: parse_metadata(&["customer=acme".into()]).unwrap(),
            ..SelectorFields::default()
        };
        let spec = spec(OperationKind::RunsCancel, selector);
        insta::assert_snapshot!(confirmation(&spec, &window(), now(), &found(20_412, &[])));
    }

    #[test]
    fn a_replay_prompt_says_what_is_skipped_and_why() {
        let selector = SelectorFields {
            since: Some(TimeSpec::Ago("24h".into())),
            statuses: vec![RunStatus::Failed, RunStatus::Queued],
            ..SelectorFields::default()
        };
        let spec = spec(OperationKind::RunsReplay, selector);
        let found = found(
            1_000,
            &[("still active (QUEUED): replay it once it has finished", 40)],
        );
        insta::assert_snapshot!(confirmation(&spec, &window(), now(), &found));
    }

    #[test]
    fn a_reschedule_prompt_resolves_trigger_times() {
        let selector = SelectorFields {
            workflows: vec!["nightly".into(), "weekly".into()],
            trigger_after: Some(TimeSpec::Ahead("2h".into())),
            trigger_before: Some(TimeSpec::At(at("2026-12-01T00:00:00Z"))),
            ..SelectorFields::default()
        };
        let operation = OperationKind::ScheduledReschedule {
            target: RescheduleTarget::Shift("1h".into()),
            allow_past: false,
        };
        let unbounded = Window {
            since: DateTime::UNIX_EPOCH,
            ..window()
        };
        let found = found(
            1,
            &[(
                "code-defined (method DEFAULT): change the workflow's code instead",
                1,
            )],
        );
        insta::assert_snapshot!(confirmation(
            &spec(operation, selector),
            &unbounded,
            now(),
            &found
        ));
    }

    #[test]
    fn an_undo_prompt_names_the_job_it_undoes() {
        let operation = OperationKind::ScheduledRecreate {
            of: "4dedb306b023c9fe-1".into(),
        };
        let spec = spec(operation, SelectorFields::default());
        let unbounded = Window {
            since: DateTime::UNIX_EPOCH,
            ..window()
        };
        insta::assert_snapshot!(confirmation(&spec, &unbounded, now(), &found(1, &[])));
    }

    fn job() -> JobRecord {
        let selector = SelectorFields {
            since: Some(TimeSpec::Ago("24h".into())),
            ..SelectorFields::default()
        };
        JobRecord {
            id: "4dedb306b023c9fe-1".into(),
            identity: "4dedb306b023c9fe".into(),
            name: None,
            spec: spec(OperationKind::RunsCancel, selector),
            window: window(),
            state: JobState::Finished,
            cursor: None,
            enumerated: true,
            chunk_size: 500,
            created_at: now(),
            finished_at: Some(now()),
            started_by: "ops".into(),
            reason: None,
            rate: None,
            resend_rounds: 0,
            concurrency: Some(4),
        }
    }

    fn ending<'a>(counts: &'a Counts, totals: &'a RunTotals) -> Ending<'a> {
        Ending {
            state: "finished",
            counts,
            report: Some("/var/lib/bulkops/state.db-reports/4dedb306b023c9fe-1.csv"),
            exit: BulkopsExitCode::ITEM_FAILURES,
            note: None,
            totals,
        }
    }

    fn busy_run() -> (Counts, RunTotals) {
        let counts = Counts {
            total: 20_412,
            done: 20_400,
            unconfirmed: 12,
            ..Counts::default()
        };
        let totals = RunTotals {
            elapsed: Duration::from_millis(83_400),
            items: 20_412,
            traffic: TrafficCounts {
                requests: 61,
                retries: 9,
                throttled: 4,
                unanswered: 2,
                server_errors: 3,
            },
            resent: 0,
        };
        (counts, totals)
    }

    #[test]
    fn a_table_fits_each_column_to_its_widest_value_and_pads_no_line_end() {
        let columns = [
            Column {
                heading: "OPERATION",
                right: false,
            },
            Column {
                heading: "N",
                right: true,
            },
            Column {
                heading: "LAST",
                right: false,
            },
        ];
        let row =
            |a: &str, n: &str, last: &str| vec![a.to_string(), n.to_string(), last.to_string()];
        let rows = [
            row("handinger schedules reschedule", "3", "x"),
            row("runs cancel", "20412", "a longer one"),
        ];
        assert_eq!(
            table(&columns, &rows),
            [
                "OPERATION                           N  LAST",
                "handinger schedules reschedule      3  x",
                "runs cancel                     20412  a longer one",
            ]
        );
    }

    #[test]
    fn the_summary_says_what_this_run_did() {
        let (counts, totals) = busy_run();
        insta::assert_snapshot!(summary_text(
            Output::Text,
            &job(),
            &ending(&counts, &totals)
        ));
    }

    #[test]
    fn the_json_summary_carries_the_same() {
        let (counts, totals) = busy_run();
        let text = summary_text(Output::Json, &job(), &ending(&counts, &totals));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&value).unwrap());
    }

    /// Wide characters (CJK, emoji) take two terminal cells: columns are measured in cells,
    /// so the columns after one still line up.
    #[test]
    fn a_table_measures_wide_characters_in_terminal_cells() {
        let columns = [
            Column {
                heading: "NAME",
                right: false,
            },
            Column {
                heading: "N",
                right: true,
            },
        ];
        let rows = vec![
            vec!["夜間の掃除".to_string(), "1".to_string()],
            vec!["nightly".to_string(), "22".to_string()],
        ];
        let lines = table(&columns, &rows);
        let ends: Vec<usize> = lines
            .iter()
            .map(|l| UnicodeWidthStr::width(l.as_str()))
            .collect();
        assert_eq!(ends, vec![14, 14, 14], "{lines:#?}");
    }
}
