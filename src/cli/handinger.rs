//! How the CLI words Handinger jobs: what a job does to how many schedules, and its selection.

use chrono::{DateTime, Utc};

use crate::engine::format_count;
use crate::job::HandingerOperation;
use crate::ops::{rfc3339, HandingerSelection, Replacement};

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
    let mut parts = vec![format!(
        "worker{} {}",
        if selection.workers.len() == 1 {
            ""
        } else {
            "s"
        },
        selection.workers.join(", ")
    )];
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
