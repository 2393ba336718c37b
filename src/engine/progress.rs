use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::ProgressStyle;
use serde_json::json;
use tracing_indicatif::span_ext::IndicatifSpanExt;

use crate::store::Counts;

/// Where the engine reports progress: a bar on a TTY, JSON lines on stderr otherwise.
pub trait Progress {
    fn phase(&self, name: &str);
    fn update(&self, counts: &Counts, enumerated: bool);
    fn finish(&self);
}

pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str) {}
    fn update(&self, _: &Counts, _: bool) {}
    fn finish(&self) {}
}

/// A progress bar on the terminal, drawn by tracing-indicatif so log lines print above it
/// instead of tearing it.
pub struct TtyProgress {
    span: tracing::Span,
    phase: Mutex<String>,
}

impl TtyProgress {
    pub fn new(job: &str) -> Self {
        let span = tracing::info_span!("job", id = job);
        span.pb_set_style(
            &ProgressStyle::with_template(
                "{spinner} [{bar:40}] {pos}/{len} {per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        span.pb_start();
        TtyProgress {
            span,
            phase: Mutex::new(String::new()),
        }
    }
}

impl Progress for TtyProgress {
    fn phase(&self, name: &str) {
        if let Ok(mut phase) = self.phase.lock() {
            *phase = name.to_string();
        }
    }

    fn update(&self, counts: &Counts, enumerated: bool) {
        self.span.pb_set_length(counts.total);
        self.span.pb_set_position(counts.total - counts.pending);
        let phase = self.phase.lock().map(|p| p.clone()).unwrap_or_default();
        let listing = if enumerated { "" } else { " (still listing)" };
        self.span.pb_set_message(&format!(
            "{phase}{listing}: done {} failed {} skipped {} awaiting confirmation {}",
            counts.done, counts.failed, counts.skipped, counts.sent
        ));
    }

    fn finish(&self) {}
}

/// One JSON object per line on stderr, at most one a second (plus phase changes).
pub struct JsonProgress {
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl Default for JsonProgress {
    fn default() -> Self {
        JsonProgress {
            started: Instant::now(),
            last: Mutex::new(None),
        }
    }
}

impl Progress for JsonProgress {
    fn phase(&self, name: &str) {
        eprintln!("{}", json!({"event": "phase", "phase": name}));
    }

    fn update(&self, counts: &Counts, enumerated: bool) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *last = Some(Instant::now());
        let elapsed = self.started.elapsed().as_secs_f64();
        let processed = counts.total - counts.pending;
        eprintln!(
            "{}",
            json!({
                "event": "progress",
                "enumerated": counts.total,
                "enumeration_complete": enumerated,
                "processed": processed,
                "counts": counts,
                "items_per_sec": if elapsed > 0.0 { (processed as f64 / elapsed).round() } else { 0.0 },
            })
        );
    }

    fn finish(&self) {}
}
