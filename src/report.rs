//! Per-item reports: one line per item with its id, operation, outcome, reason, HTTP status,
//! attempts and time, as CSV or JSON lines; for a reschedule (or its undo) also the trigger time
//! each row had and the one it was given.

use std::fs;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::job::OperationKind;
use crate::ops::Move;
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

const HEADER: &str = "id,operation,outcome,reason,http_status,attempts,time";
const TRIGGER_HEADER: &str = ",old_trigger_at,new_trigger_at";

/// Whether a job's items carry trigger times: they move scheduled runs.
fn moves_trigger_times(job: &JobRecord) -> bool {
    job.spec.hatchet().is_some_and(|spec| {
        matches!(
            spec.operation,
            OperationKind::ScheduledReschedule { .. } | OperationKind::ScheduledRestore { .. }
        )
    })
}

/// A row as reported: the stored row, with a reschedule's old and new trigger time.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    row: &'a ReportRow,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_trigger_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_trigger_at: Option<String>,
}

impl<'a> Line<'a> {
    fn new(row: &'a ReportRow, with_trigger_times: bool) -> Self {
        // Rows skipped before a target was set (a target in the past) stored no move.
        let moved = with_trigger_times
            .then(|| row.payload.clone())
            .flatten()
            .and_then(|p| serde_json::from_value::<Move>(p).ok());
        Line {
            row,
            old_trigger_at: moved.as_ref().map(|m| utc(m.previous)),
            new_trigger_at: moved.as_ref().map(|m| utc(m.target)),
        }
    }

    fn csv(&self, with_trigger_times: bool) -> String {
        let row = self.row;
        let mut fields = vec![
            csv_field(&row.id),
            csv_field(&row.operation),
            csv_field(&row.outcome),
            csv_field(row.reason.as_deref().unwrap_or("")),
            row.http_status.map(|s| s.to_string()).unwrap_or_default(),
            row.attempts.to_string(),
            csv_field(row.time.as_deref().unwrap_or("")),
        ];
        if with_trigger_times {
            fields.push(self.old_trigger_at.clone().unwrap_or_default());
            fields.push(self.new_trigger_at.clone().unwrap_or_default());
        }
        fields.join(",")
    }
}

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Streams a job's report to `out`; returns the number of rows written.
pub fn write_report(
    store: &dyn Store,
    job: &JobRecord,
    problems_only: bool,
    format: ReportFormat,
    out: &mut dyn Write,
) -> Result<u64, ReportError> {
    let with_trigger_times = moves_trigger_times(job);
    if format == ReportFormat::Csv {
        let extra = if with_trigger_times {
            TRIGGER_HEADER
        } else {
            ""
        };
        writeln!(out, "{HEADER}{extra}").map_err(ReportError::Write)?;
    }
    let mut rows = 0;
    // A failed write ends the walk, and is the report's error, not the store's.
    let mut write_failure = None;
    store.for_each_report_row(job, problems_only, &mut |row| {
        rows += 1;
        let line = Line::new(&row, with_trigger_times);
        let line = match format {
            ReportFormat::Csv => line.csv(with_trigger_times),
            ReportFormat::Json => serde_json::to_string(&line).unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let row = row(None);
        assert_eq!(
            Line::new(&row, false).csv(false),
            "a,runs cancel,failed,\"HTTP 400: bad, \"\"very\"\"\",400,2,"
        );
    }

    #[test]
    fn a_moved_row_carries_its_old_and_new_trigger_time() {
        let moved = serde_json::json!({
            "previous": "2026-12-01T10:00:00Z",
            "target": "2026-12-01T11:00:00.5Z",
        });
        let row = row(Some(moved));
        let line = Line::new(&row, true);
        assert!(
            line.csv(true)
                .ends_with(",2026-12-01T10:00:00Z,2026-12-01T11:00:00.500Z"),
            "{}",
            line.csv(true)
        );
        let json = serde_json::to_value(&line).unwrap();
        assert_eq!(json["old_trigger_at"], "2026-12-01T10:00:00Z");
        assert_eq!(json["new_trigger_at"], "2026-12-01T11:00:00.500Z");
        assert_eq!(json["id"], "a");
        assert!(json.get("payload").is_none());
        // A skipped row has no move: empty fields, no keys.
        let skipped = self::row(None);
        assert!(Line::new(&skipped, true).csv(true).ends_with(",,"));
        let json = serde_json::to_value(Line::new(&skipped, true)).unwrap();
        assert!(json.get("old_trigger_at").is_none());
    }

    fn row(payload: Option<serde_json::Value>) -> ReportRow {
        ReportRow {
            id: "a".into(),
            operation: "runs cancel".into(),
            outcome: "failed".into(),
            reason: Some("HTTP 400: bad, \"very\"".into()),
            http_status: Some(400),
            attempts: 2,
            time: None,
            payload,
        }
    }
}
