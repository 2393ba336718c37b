use serde_json::json;

use super::args::Output;
use super::Exit;
use crate::store::{Counts, JobRecord};

/// The end-of-job summary: counts, the report path and how to go on.
pub fn summary(
    output: Output,
    job: &JobRecord,
    state: &str,
    counts: &Counts,
    report: Option<&str>,
    exit: Exit,
    note: Option<&str>,
) {
    match output {
        Output::Json => println!(
            "{}",
            json!({
                "job": job.id,
                "operation": job.spec.operation.name(),
                "state": state,
                "counts": counts,
                "report": report,
                "exit_code": exit as u8,
                "note": note,
            })
        ),
        Output::Text => {
            println!(
                "job {} ({}): {state}\n  items {}: done {}, failed {}, skipped {}, unconfirmed {}, not yet processed {}",
                job.id,
                job.spec.operation.name(),
                counts.total,
                counts.done,
                counts.failed,
                counts.skipped,
                counts.unconfirmed,
                counts.pending + counts.sent,
            );
            if let Some(report) = report {
                println!("  report: {report}");
            }
            if let Some(note) = note {
                println!("  {note}");
            }
        }
    }
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
        "target": {"server_url": job.spec.target.server_url, "tenant": job.spec.target.tenant},
        "selector": job.spec.selector,
        "counts": counts,
    })
}
