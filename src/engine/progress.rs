use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;

use crate::store::Counts;

/// What the engine is doing, as progress shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Deciding chunks a crashed process left in doubt.
    Reconciling,
    /// Listing the selection (operations that may act while listing do).
    Enumerating,
    Executing,
    /// Waiting for the server to show the outcomes (at most `--verify-timeout`).
    Verifying,
    /// Sending again what the server accepted but never applied.
    Resending,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Reconciling => "reconciling",
            Stage::Enumerating => "enumerating",
            Stage::Executing => "executing",
            Stage::Verifying => "verifying",
            Stage::Resending => "resending",
        }
    }
}

/// Where the engine reports progress: a bar on a TTY, JSON lines on stderr otherwise.
pub trait Progress {
    fn stage(&self, stage: Stage);
    fn update(&self, counts: &Counts, enumerated: bool);
    /// The job run ended: nothing more is shown (the summary follows).
    fn finish(&self);
}

pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: Stage) {}
    fn update(&self, _: &Counts, _: bool) {}
    fn finish(&self) {}
}

/// What both forms of progress show, from the counts and this run's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub stage: Stage,
    pub counts: Counts,
    pub enumerated: bool,
    /// Items that left `pending` per second in this run (a resumed job's earlier items do not
    /// count).
    pub items_per_sec: f64,
    /// Time to the end, verification included, when it can be told.
    pub eta: Option<Duration>,
    /// The most verification may still take (`--verify-timeout`, or what is left of it), when
    /// items await it.
    pub verify_at_most: Option<Duration>,
}

/// Items no longer waiting to be sent.
pub fn processed(counts: &Counts) -> u64 {
    counts.total.saturating_sub(counts.pending)
}

/// Items whose outcome is final: done, failed, skipped or unconfirmed.
fn settled(counts: &Counts) -> u64 {
    processed(counts).saturating_sub(counts.sent)
}

impl Reading {
    /// The reading in words, for the bar: short, so that it fits a line.
    fn in_words(&self, job: &str) -> String {
        let c = &self.counts;
        let eta = match (self.stage, self.eta, self.verify_at_most) {
            (Stage::Verifying, _, Some(left)) => format!("ETA ≤{} (verify)", format_duration(left)),
            (_, Some(eta), Some(verify)) => format!(
                "ETA {} + verify ≤{}",
                format_duration(eta.saturating_sub(verify)),
                format_duration(verify)
            ),
            (_, Some(eta), None) => format!("ETA {}", format_duration(eta)),
            (_, None, _) if !self.enumerated => "ETA after listing".to_string(),
            (_, None, _) => "ETA unknown".to_string(),
        };
        let mut words = format!(
            "{}/{} confirmed · {} sent",
            format_count(c.done),
            format_count(c.total),
            format_count(c.sent)
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
        format!(
            "{words} · {} {} · {eta} · job {job}",
            self.stage.as_str(),
            format_rate(self.items_per_sec),
        )
    }
}

/// The state behind a [`Reading`].
struct Tracker {
    verify_timeout: Option<Duration>,
    state: Mutex<Tracked>,
}

struct Tracked {
    stage: Stage,
    stage_since: Instant,
    counts: Counts,
    enumerated: bool,
    started: Instant,
    /// Processed items when this run first reported.
    processed_at_start: Option<u64>,
}

impl Tracker {
    /// `verify_timeout` is `None` when nothing is verified (`--no-verify`).
    fn new(verify_timeout: Option<Duration>) -> Self {
        let now = Instant::now();
        Tracker {
            verify_timeout,
            state: Mutex::new(Tracked {
                stage: Stage::Reconciling,
                stage_since: now,
                counts: Counts::default(),
                enumerated: false,
                started: now,
                processed_at_start: None,
            }),
        }
    }

    /// Returns whether the stage changed.
    fn stage(&self, stage: Stage) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let changed = state.stage != stage;
        // A new round of verification has its own timeout, so its clock restarts too.
        state.stage = stage;
        state.stage_since = Instant::now();
        changed
    }

    fn update(&self, counts: &Counts, enumerated: bool) {
        if let Ok(mut state) = self.state.lock() {
            state.processed_at_start.get_or_insert(processed(counts));
            state.counts = counts.clone();
            state.enumerated = enumerated;
        }
    }

    fn reading(&self) -> Option<Reading> {
        let state = self.state.lock().ok()?;
        let counts = state.counts.clone();
        let processed = processed(&counts);
        let elapsed = state.started.elapsed().as_secs_f64();
        let this_run = processed.saturating_sub(state.processed_at_start.unwrap_or(processed));
        let items_per_sec = if elapsed > 0.0 {
            this_run as f64 / elapsed
        } else {
            0.0
        };
        let verify_at_most = match (state.stage, self.verify_timeout) {
            (_, None) => None,
            (Stage::Verifying, Some(timeout)) => {
                Some(timeout.saturating_sub(state.stage_since.elapsed()))
            }
            // Only what was sent and awaits confirmation is verified.
            (_, Some(timeout)) => (counts.sent > 0).then_some(timeout),
        };
        let sending = match state.stage {
            Stage::Executing | Stage::Resending => {
                (items_per_sec > 0.0).then(|| counts.pending as f64 / items_per_sec)
            }
            Stage::Verifying => Some(0.0),
            Stage::Reconciling | Stage::Enumerating => None,
        };
        let eta = sending.map(|secs| {
            Duration::from_secs_f64(secs.min(1e9)) + verify_at_most.unwrap_or_default()
        });
        Some(Reading {
            stage: state.stage,
            counts,
            enumerated: state.enumerated,
            items_per_sec,
            eta,
            verify_at_most,
        })
    }
}

/// A progress bar on the terminal; log lines print above it (see `telemetry`).
pub struct TtyProgress {
    bar: ProgressBar,
    tracker: Arc<Tracker>,
}

impl TtyProgress {
    /// A bar for `job` among `bars`; `verify_timeout` as for JSON progress.
    pub fn new(job: &str, verify_timeout: Option<Duration>, bars: &MultiProgress) -> Self {
        let tracker = Arc::new(Tracker::new(verify_timeout));
        let shown = tracker.clone();
        let job = job.to_string();
        // The words are drawn from the tracker at every tick, so the time left keeps counting
        // down between updates.
        let style = ProgressStyle::with_template("{spinner} [{bar:20}] {reading}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
            .with_key(
                "reading",
                move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    if let Some(reading) = shown.reading() {
                        let _ = out.write_str(&reading.in_words(&job));
                    }
                },
            );
        let bar = bars.add(ProgressBar::new(0).with_style(style));
        bar.enable_steady_tick(Duration::from_millis(200));
        TtyProgress { bar, tracker }
    }
}

impl Progress for TtyProgress {
    fn stage(&self, stage: Stage) {
        self.tracker.stage(stage);
        self.bar.tick();
    }

    fn update(&self, counts: &Counts, enumerated: bool) {
        self.tracker.update(counts, enumerated);
        // indicatif draws an empty job's bar full.
        self.bar.set_length(counts.total.max(1));
        self.bar.set_position(settled(counts));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Progress as lines on stderr, at most one a second (plus stage changes), where no bar is
/// drawn: JSON objects beside JSON logs, or log lines in words beside text logs, so that a log
/// file holds one kind of line.
pub struct LineProgress {
    job: String,
    lines: Lines,
    tracker: Tracker,
    last: Mutex<Option<Instant>>,
}

/// What a [`LineProgress`] line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One JSON object (`event`: `phase` or `progress`) per line.
    Json,
    /// An `info` log line in words, as the bar would read.
    Text,
}

impl LineProgress {
    /// Progress of `job`; `verify_timeout` is `None` when nothing is verified (`--no-verify`).
    pub fn new(job: &str, verify_timeout: Option<Duration>, lines: Lines) -> Self {
        LineProgress {
            job: job.to_string(),
            lines,
            tracker: Tracker::new(verify_timeout),
            last: Mutex::new(None),
        }
    }

    fn json_line(&self, reading: &Reading) -> serde_json::Value {
        let seconds = |d: Option<Duration>| d.map(|d| d.as_secs_f64().ceil());
        json!({
            "event": "progress",
            "job": self.job,
            "phase": reading.stage.as_str(),
            "enumerated": reading.counts.total,
            "enumeration_complete": reading.enumerated,
            "processed": processed(&reading.counts),
            "settled": settled(&reading.counts),
            "confirmed": reading.counts.done,
            "sent": reading.counts.sent,
            "counts": reading.counts,
            "items_per_sec": rounded_rate(reading.items_per_sec),
            "eta_s": seconds(reading.eta),
            "verify_at_most_s": seconds(reading.verify_at_most),
        })
    }
}

impl Progress for LineProgress {
    fn stage(&self, stage: Stage) {
        if !self.tracker.stage(stage) {
            return;
        }
        match self.lines {
            Lines::Json => eprintln!(
                "{}",
                json!({"event": "phase", "job": self.job, "phase": stage.as_str()})
            ),
            Lines::Text => tracing::info!("job {}: {}", self.job, stage.as_str()),
        }
    }

    fn update(&self, counts: &Counts, enumerated: bool) {
        self.tracker.update(counts, enumerated);
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *last = Some(Instant::now());
        let Some(reading) = self.tracker.reading() else {
            return;
        };
        match self.lines {
            Lines::Json => eprintln!("{}", self.json_line(&reading)),
            Lines::Text => tracing::info!("{}", reading.in_words(&self.job)),
        }
    }

    fn finish(&self) {}
}

/// A rate as people read it: whole numbers from 10 up, one decimal below.
pub fn rounded_rate(per_sec: f64) -> f64 {
    if per_sec >= 10.0 {
        per_sec.round()
    } else {
        (per_sec * 10.0).round() / 10.0
    }
}

/// `1,234/s`, `2.5/s`.
pub fn format_rate(per_sec: f64) -> String {
    let rate = rounded_rate(per_sec);
    if rate >= 10.0 {
        format!("{}/s", format_count(rate as u64))
    } else {
        format!("{rate:.1}/s")
    }
}

/// `1,234,567`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `45s`, `2m 5s`, `3h 20m`, in whole seconds.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64().ceil() as u64;
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_rates_and_durations_read_plainly() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1,000");
        assert_eq!(format_count(20_076_207), "20,076,207");
        assert_eq!(format_rate(20_076.207_1), "20,076/s");
        assert_eq!(format_rate(9.94), "9.9/s");
        assert_eq!(format_rate(9.96), "10/s");
        assert_eq!(format_rate(0.0), "0.0/s");
        assert_eq!(rounded_rate(12.5), 13.0);
        assert_eq!(format_duration(Duration::from_millis(200)), "1s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m 5s");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(
            format_duration(Duration::from_secs(3 * 3600 + 1250)),
            "3h 20m"
        );
    }

    fn counts(total: u64, pending: u64, sent: u64) -> Counts {
        Counts {
            total,
            pending,
            sent,
            done: total - pending - sent,
            ..Counts::default()
        }
    }

    #[test]
    fn the_eta_covers_verification_and_a_resumed_run_rates_only_its_own_items() {
        let tracker = Tracker::new(Some(Duration::from_secs(120)));
        tracker.stage(Stage::Executing);
        // Resumed with 9,000 of 10,000 already processed: not this run's work.
        tracker.update(&counts(10_000, 1_000, 0), true);
        let first = tracker.reading().unwrap();
        assert_eq!(first.items_per_sec, 0.0);
        assert_eq!(first.eta, None, "no rate yet");
        std::thread::sleep(Duration::from_millis(100));
        tracker.update(&counts(10_000, 900, 100), true);
        let executing = tracker.reading().unwrap();
        assert!(executing.items_per_sec < 2_000.0, "{executing:?}");
        assert_eq!(executing.verify_at_most, Some(Duration::from_secs(120)));
        assert!(
            executing.eta.unwrap() > Duration::from_secs(120),
            "{executing:?}"
        );

        tracker.stage(Stage::Verifying);
        tracker.update(&counts(10_000, 0, 1_000), true);
        let verifying = tracker.reading().unwrap();
        let left = verifying.verify_at_most.unwrap();
        assert!(left <= Duration::from_secs(120) && left > Duration::from_secs(119));
        assert_eq!(verifying.eta, Some(left));
        assert_eq!(settled(&verifying.counts), 9_000);
    }

    #[test]
    fn nothing_awaits_verification_without_sent_items_or_with_no_verify() {
        let tracker = Tracker::new(Some(Duration::from_secs(120)));
        tracker.stage(Stage::Executing);
        tracker.update(&counts(100, 100, 0), true);
        assert_eq!(tracker.reading().unwrap().verify_at_most, None);
        let unverified = Tracker::new(None);
        unverified.stage(Stage::Executing);
        unverified.update(&counts(100, 50, 50), true);
        assert_eq!(unverified.reading().unwrap().verify_at_most, None);
    }
}
