//! Everything bulkops prints on stdout, through one writer.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::args::Output;
use super::{CliError, Exit};
use crate::backend::hatchet::without_credentials;
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

/// One line on stdout, through [`Stdout`]; use it with [`outln!`].
pub fn write_line(line: fmt::Arguments<'_>) -> Result<(), CliError> {
    let mut out = Stdout;
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(CliError::Stdout)
}

/// `println!` for bulkops output: a closed stdout ends output quietly instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// The end-of-job summary: counts, the report path and how to go on. The job's outcome is in
/// its exit code and the store, so a summary that cannot be written is only a warning.
pub fn summary(
    output: Output,
    job: &JobRecord,
    state: &str,
    counts: &Counts,
    report: Option<&str>,
    exit: Exit,
    note: Option<&str>,
) {
    let text = match output {
        Output::Json => json!({
            "job": job.id,
            "operation": job.spec.operation.name(),
            "state": state,
            "counts": counts,
            "report": report,
            "exit_code": exit as u8,
            "note": note,
        })
        .to_string(),
        Output::Text => {
            let mut text = format!(
                "job {} ({}): {state}\n  {}",
                job.id,
                job.spec.operation.name(),
                counts_in_words(counts),
            );
            if let Some(report) = report {
                text.push_str(&format!("\n  report: {report}"));
            }
            if let Some(note) = note {
                text.push_str(&format!("\n  {note}"));
            }
            text
        }
    };
    if let Err(e) = outln!("{text}") {
        tracing::warn!("{e}");
    }
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

/// One job as `jobs list -o json` and `jobs show` print it; `state` is what it does now.
pub fn job_line(job: &JobRecord, state: &str, counts: &Counts) -> serde_json::Value {
    json!({
        "job": job.id,
        "operation": job.spec.operation.name(),
        "state": state,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "window": {"since": job.window.since, "until": job.window.until},
        "started_by": job.started_by,
        "reason": job.reason,
        "rate": job.rate,
        // A job stored before targets lost their credentials may still carry them.
        "target": {
            "server_url": without_credentials(&job.spec.target.server_url),
            "tenant": job.spec.target.tenant,
        },
        "selector": job.spec.selector,
        "counts": counts,
    })
}
