//! `bulkops jobs ...` and `bulkops report`.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use serde_json::json;

use super::args::{GlobalArgs, JobsCommand, Output, ReportArgs};
use super::output::outln;
use super::request::{load_settings, ExecFlags};
use super::{output, run_job};
use crate::app::{self, BulkopsExitCode, Error, JobCommand, Sight, Watch, WATCH_EVERY};
use crate::config::Settings;
use crate::engine::{format_count, format_duration, format_rate};
use crate::report::ReportFormat;
use crate::store::Store;

pub async fn run(global: &GlobalArgs, cmd: JobsCommand) -> Result<u8, Error> {
    match cmd {
        JobsCommand::List => {
            let (_, store) = open(global)?;
            // Text waits for every row: the columns are as wide as their widest value.
            let mut rows = Vec::new();
            for job in store.jobs()? {
                let counts = store.counts(&job.id)?;
                let state = app::current_state(store.as_ref(), &job)?;
                match global.output {
                    Output::Json => outln!("{}", output::job_line(&job, state, &counts))?,
                    Output::Text => rows.push(output::job_list_row(&job, state, &counts)),
                }
            }
            if global.output == Output::Text {
                for line in output::table(&output::JOB_LIST, &rows) {
                    outln!("{line}")?;
                }
            }
            Ok(BulkopsExitCode::OK)
        }
        JobsCommand::Show { job, watch: true } => watch(global, &job).await,
        JobsCommand::Show { job, watch: false } => {
            let (settings, store) = open(global)?;
            let job = app::find(store.as_ref(), &settings.state, &job)?;
            let counts = store.counts(&job.id)?;
            let state = app::current_state(store.as_ref(), &job)?;
            match global.output {
                Output::Json => outln!("{}", output::job_line(&job, state, &counts))?,
                Output::Text => outln!("{}", output::job_text(&job, state, &counts))?,
            }
            Ok(BulkopsExitCode::OK)
        }
        JobsCommand::Watch { job } => watch(global, &job).await,
        JobsCommand::Resume {
            job,
            concurrency,
            pace,
            metrics,
        } => {
            let exec = ExecFlags {
                pace,
                concurrency,
                metrics_addr: metrics.metrics_addr,
                ..ExecFlags::default()
            };
            run_job(global, exec, || Ok(JobCommand::Resume { job })).await
        }
        JobsCommand::Undo {
            job,
            spread,
            pace,
            new_job,
            metrics,
        } => {
            let exec = ExecFlags {
                pace,
                concurrency: spread.concurrency,
                new_job,
                metrics_addr: metrics.metrics_addr,
                ..ExecFlags::default()
            };
            run_job(global, exec, || Ok(JobCommand::Undo { job })).await
        }
        JobsCommand::Pause { job } => {
            let job = app::pause(&settings(global)?, &job)?;
            let id = &job.id;
            control_said(
                global.output,
                json!({"job": id, "state": "pause requested"}),
                format!("job {id} paused: a process running it stops after its in-flight chunks; `bulkops jobs resume {id}` continues it"),
            )
        }
        JobsCommand::Retune {
            job,
            rate,
            concurrency,
        } => {
            let retune = app::Retune { rate, concurrency };
            let job = app::retune(&settings(global)?, &job, retune)?;
            let id = &job.id;
            let changes: Vec<String> = [
                rate.map(|rate| format!("{rate} requests/s")),
                concurrency.map(|n| format!("at most {n} chunks in flight")),
            ]
            .into_iter()
            .flatten()
            .collect();
            control_said(
                global.output,
                retune_json(id, &retune),
                format!(
                    "job {id}: {} from now on (a process running it applies it within a second)",
                    changes.join(" and ")
                ),
            )
        }
        JobsCommand::Abort { job } => {
            let (job, counts) = app::abort(&settings(global)?, &job)?;
            let id = &job.id;
            let counted = output::counts_in_words(&counts);
            control_said(
                global.output,
                json!({"job": id, "state": "aborted", "counts": counts}),
                format!("job {id} aborted: nothing more is sent for it; {counted} (see `bulkops report {id}`; `bulkops jobs undo {id}` covers every accepted item)"),
            )
        }
    }
}

/// What `jobs retune` (and `POST /jobs/{id}/retune`) changed, as one JSON object: the job and
/// what was given.
pub(crate) fn retune_json(job: &str, retune: &app::Retune) -> serde_json::Value {
    let mut said = json!({ "job": job });
    if let Some(rate) = retune.rate {
        said["rate"] = json!(rate);
    }
    if let Some(concurrency) = retune.concurrency {
        said["concurrency"] = json!(concurrency);
    }
    said
}

/// What `jobs pause|retune|abort` did: one JSON object, or a sentence with what to do next.
fn control_said(out: Output, said: serde_json::Value, sentence: String) -> Result<u8, Error> {
    match out {
        Output::Json => outln!("{said}")?,
        Output::Text => outln!("{sentence}")?,
    }
    Ok(BulkopsExitCode::OK)
}

pub fn report(global: &GlobalArgs, args: &ReportArgs) -> Result<u8, Error> {
    let (settings, store) = open(global)?;
    let job = app::find(store.as_ref(), &settings.state, &args.job)?;
    let format = args.format.unwrap_or(match global.output {
        Output::Json => ReportFormat::Json,
        Output::Text => ReportFormat::Csv,
    });
    let mut out = std::io::BufWriter::new(output::Stdout);
    crate::report::write_report(store.as_ref(), &job, args.failed, format, &mut out)?;
    out.flush().map_err(Error::Stdout)?;
    Ok(BulkopsExitCode::OK)
}

/// `jobs watch`: a look every `WATCH_EVERY` until the job ends (its exit code) or a signal
/// (0: the watcher was stopped, the job goes on).
async fn watch(global: &GlobalArgs, id: &str) -> Result<u8, Error> {
    let settings = settings(global)?;
    let mut watch = Watch::open(&settings, id)?;
    let mut stop = super::stop_on_signal();
    let in_place = global.output == Output::Text && std::io::stdout().is_terminal();
    let mut ticks = tokio::time::interval(WATCH_EVERY);
    let mut last_shown = None;
    loop {
        tokio::select! {
            () = &mut stop => {
                if in_place {
                    outln!("")?;
                }
                return Ok(BulkopsExitCode::OK);
            }
            _ = ticks.tick() => {}
        }
        let sight = watch.look(Instant::now())?;
        let line = watch_line(&sight);
        if in_place {
            let mut out = output::Stdout;
            write!(out, "\r\x1b[2K{line}")
                .and_then(|()| out.flush())
                .map_err(Error::Stdout)?;
        } else {
            // Off a terminal a line only when something moved: a log, not a clock.
            let shown = (sight.state, sight.counts.clone());
            if last_shown.as_ref() != Some(&shown) || sight.ended.is_some() {
                match global.output {
                    Output::Json => outln!("{}", watch_json(&sight))?,
                    Output::Text => outln!("{line}")?,
                }
                last_shown = Some(shown);
            }
        }
        if let Some(code) = sight.ended {
            if in_place {
                outln!("")?;
            }
            return Ok(code);
        }
    }
}

/// One look as a line of text: state, counts, rate and time left, or how the job ended.
fn watch_line(sight: &Sight) -> String {
    let c = &sight.counts;
    let mut words = format!(
        "job {} {} · {}/{} done · {} sent · {} pending",
        sight.job.id,
        sight.state,
        format_count(c.done),
        format_count(c.total),
        format_count(c.sent),
        format_count(c.pending)
    );
    for (n, what) in [
        (c.failed, "failed"),
        (c.skipped, "skipped"),
        (c.unconfirmed, "unconfirmed"),
    ] {
        if n > 0 {
            words.push_str(&format!(" · {} {what}", format_count(n)));
        }
    }
    if let Some(code) = sight.ended {
        return format!("{words} · ended, exit {code}");
    }
    if let Some(rate) = sight.rate {
        words.push_str(&format!(" · {}", format_rate(rate)));
    }
    let eta = match sight.eta {
        None if !sight.job.enumerated => "ETA after listing".to_string(),
        _ if c.pending == 0 && c.sent > 0 => "verifying".to_string(),
        Some(eta) => format!("ETA {} + verify", format_duration(eta)),
        None => "ETA unknown".to_string(),
    };
    format!("{words} · {eta}")
}

/// One look as a JSON line (also what `bulkops serve` answers and streams for a job).
pub fn watch_json(sight: &Sight) -> serde_json::Value {
    json!({
        "job": sight.job.id,
        "state": sight.state,
        "enumerated": sight.job.enumerated,
        "counts": sight.counts,
        "items_per_sec": sight.rate,
        "eta_secs": sight.eta.map(|eta| eta.as_secs()),
        "ended": sight.ended.is_some(),
        "exit_code": sight.ended,
    })
}

fn settings(global: &GlobalArgs) -> Result<Settings, Error> {
    load_settings(global, &ExecFlags::default())
}

/// The settings and the store they name, opened once.
fn open(global: &GlobalArgs) -> Result<(Settings, Box<dyn Store>), Error> {
    let settings = settings(global)?;
    let store = settings.state.open()?;
    Ok((settings, store))
}
