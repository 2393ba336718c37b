//! Per-item reports: one line per item with its id, operation, outcome, reason, HTTP status,
//! attempts and time, as CSV or JSON lines.

use std::fs;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::store::{JobRecord, ReportRow, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the report {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot write the report: {0}")]
    Write(io::Error),
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv_line(row: &ReportRow) -> String {
    [
        csv_field(&row.id),
        csv_field(&row.operation),
        csv_field(&row.outcome),
        csv_field(row.reason.as_deref().unwrap_or("")),
        row.http_status.map(|s| s.to_string()).unwrap_or_default(),
        row.attempts.to_string(),
        csv_field(row.time.as_deref().unwrap_or("")),
    ]
    .join(",")
}

/// Streams a job's report to `out`; returns the number of rows written.
pub fn write_report(
    store: &dyn Store,
    job: &JobRecord,
    problems_only: bool,
    format: ReportFormat,
    out: &mut dyn Write,
) -> Result<u64, ReportError> {
    if format == ReportFormat::Csv {
        writeln!(out, "id,operation,outcome,reason,http_status,attempts,time")
            .map_err(ReportError::Write)?;
    }
    let mut rows = 0;
    // A failed write ends the walk, and is the report's error, not the store's.
    let mut write_failure = None;
    store.for_each_report_row(job, problems_only, &mut |row| {
        rows += 1;
        let line = match format {
            ReportFormat::Csv => csv_line(&row),
            ReportFormat::Json => serde_json::to_string(&row).unwrap_or_default(),
        };
        match writeln!(out, "{line}") {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                write_failure = Some(e);
                ControlFlow::Break(())
            }
        }
    })?;
    match write_failure {
        Some(e) => Err(ReportError::Write(e)),
        None => Ok(rows),
    }
}

/// Writes the full CSV report of a job into `dir` (created if missing) and returns its path.
pub fn save_report(store: &dyn Store, job: &JobRecord, dir: &Path) -> Result<PathBuf, ReportError> {
    let path = dir.join(format!("{}.csv", job.id));
    let io_err = |source| ReportError::Io {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_err)?;
    let file = fs::File::create(&path).map_err(io_err)?;
    let mut out = io::BufWriter::new(file);
    write_report(store, job, false, ReportFormat::Csv, &mut out).map_err(|e| match e {
        ReportError::Write(source) => io_err(source),
        other => other,
    })?;
    out.flush().map_err(io_err)?;
    Ok(path)
}

/// Where reports go unless configured otherwise: `<state stem>-reports` beside the state file.
pub fn reports_beside(state: &Path) -> PathBuf {
    let stem = state
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bulkops".into());
    state
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(format!("{stem}-reports"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let row = ReportRow {
            id: "a".into(),
            operation: "runs cancel".into(),
            outcome: "failed".into(),
            reason: Some("HTTP 400: bad, \"very\"".into()),
            http_status: Some(400),
            attempts: 2,
            time: None,
        };
        assert_eq!(
            csv_line(&row),
            "a,runs cancel,failed,\"HTTP 400: bad, \"\"very\"\"\",400,2,"
        );
    }
}
