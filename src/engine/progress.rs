use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

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

pub struct TtyProgress {
    bar: ProgressBar,
}

impl TtyProgress {
    pub fn new(bar: ProgressBar) -> Self {
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix:>12} [{bar:40}] {pos}/{len} {per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        TtyProgress { bar }
    }
}

impl Progress for TtyProgress {
    fn phase(&self, name: &str) {
        self.bar.set_prefix(name.to_string());
    }

    fn update(&self, counts: &Counts, enumerated: bool) {
        self.bar.set_length(counts.total);
        self.bar.set_position(counts.total - counts.pending);
        let more = if enumerated { "" } else { "+ (still listing)" };
        self.bar.set_message(format!(
            "{more} done {} failed {} skipped {}",
            counts.done, counts.failed, counts.skipped
        ));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
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
        let Ok(mut last) = self.last.lock() else { return };
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
