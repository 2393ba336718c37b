use std::time::Duration;

use super::CallStats;

/// The concurrency window: how many chunks may be in flight, at most `--concurrency`. It halves
/// when the server refuses (429, 5xx, timeouts), and, since a server that is not rate-limited
/// keeps answering while its work queues up, it also feels latency (AIMD on
/// latency, Vegas-style): a chunk whose requests took well above the recent best (the server's
/// no-load latency) shrinks it by a quarter, at most once per window's worth of chunks (those
/// were sent under the larger window); a clean one grows it additively (one more chunk per
/// window's worth). Below the server's knee the latency stays at its best and the window grows;
/// one chunk beyond it and the latency rises: the window settles just below the knee.
#[derive(Debug, Clone)]
pub struct AdaptiveWindow {
    current: f64,
    max: usize,
    baseline: Baseline,
    /// Chunks still to observe before latency may shrink the window again.
    latency_cooldown: usize,
    /// The window at which the latency last rose: growth slows near it, so that the window
    /// probes the knee gently instead of overshooting it by a round trip's growth.
    queued_at: Option<f64>,
    resizes: Resizes,
    ever_shrank: bool,
}

/// The server's latency without load: the least seen over the last one to two periods of
/// `BASELINE_PERIOD` chunks, so that one lucky answer does not count for ever and a server that
/// became slower for good is learnt within two periods.
#[derive(Debug, Clone, Default)]
struct Baseline {
    previous: Option<Duration>,
    current: Option<Duration>,
    seen: usize,
}

const BASELINE_PERIOD: usize = 100;

impl Baseline {
    fn best(&self) -> Option<Duration> {
        match (self.previous, self.current) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn add(&mut self, latency: Duration) {
        self.current = Some(self.current.map_or(latency, |c| c.min(latency)));
        self.seen += 1;
        if self.seen >= BASELINE_PERIOD {
            self.previous = self.current.take();
            self.seen = 0;
        }
    }
}

/// How often the chunks allowed in flight fell and rose (since `AdaptiveWindow::clear_resizes`).
/// Growth counts only once the window has shrunk: the first climb from half the concurrency is
/// how every job starts, not news.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resizes {
    pub shrank: u32,
    pub grew: u32,
}

impl Resizes {
    pub fn any(&self) -> bool {
        self.shrank + self.grew > 0
    }
}

/// Latency above this many times the baseline, plus `LATENCY_SLACK`, means the server queues.
const LATENCY_TOLERANCE: f64 = 1.5;
/// Keeps jitter of fast answers (a few ms on loopback) from reading as queueing.
const LATENCY_SLACK: Duration = Duration::from_millis(5);
/// What a chunk that queued leaves of the window: latency is a softer signal than a refusal.
const LATENCY_BACKOFF: f64 = 0.75;
/// Growth within this share of the window that last queued (and beyond it, until one more
/// chunk fits) is this many times slower.
const NEAR_THE_KNEE: f64 = 0.9;
const CAUTIOUS_GROWTH: f64 = 4.0;

impl AdaptiveWindow {
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        AdaptiveWindow {
            current: (max as f64 / 2.0).max(1.0),
            max,
            baseline: Baseline::default(),
            latency_cooldown: 0,
            queued_at: None,
            resizes: Resizes::default(),
            ever_shrank: false,
        }
    }

    /// A new concurrency (`jobs retune`): the window keeps its place below it, and above it
    /// drops to it; it grows to a higher one as it grows at any time.
    pub fn set_max(&mut self, max: usize) {
        self.max = max.max(1);
        self.current = self.current.min(self.max as f64);
    }

    pub fn allowed(&self) -> usize {
        (self.current.floor() as usize).clamp(1, self.max)
    }

    pub fn resizes(&self) -> Resizes {
        self.resizes
    }

    pub fn clear_resizes(&mut self) {
        self.resizes = Resizes::default();
    }

    pub fn observe(&mut self, stats: &CallStats) {
        let allowed = self.allowed();
        self.adapt(stats);
        match self.allowed().cmp(&allowed) {
            std::cmp::Ordering::Less => {
                self.resizes.shrank += 1;
                self.ever_shrank = true;
            }
            std::cmp::Ordering::Greater if self.ever_shrank => self.resizes.grew += 1,
            _ => {}
        }
    }

    fn queued(&self, latency: Duration) -> bool {
        self.baseline
            .best()
            .is_some_and(|best| latency > best.mul_f64(LATENCY_TOLERANCE) + LATENCY_SLACK)
    }

    fn adapt(&mut self, stats: &CallStats) {
        let queued = stats.slowest_ok.is_some_and(|latency| self.queued(latency));
        if let Some(latency) = stats.slowest_ok {
            self.baseline.add(latency);
        }
        let cooling = self.latency_cooldown > 0;
        self.latency_cooldown = self.latency_cooldown.saturating_sub(1);
        if stats.pressure > 0 {
            self.current = (self.current / 2.0).max(1.0);
        } else if queued && !cooling {
            self.queued_at = Some(self.current);
            self.current = (self.current * LATENCY_BACKOFF).max(1.0);
            self.latency_cooldown = self.allowed();
        } else if stats.requests > 0 && !queued {
            self.current = (self.current + self.growth()).min(self.max as f64);
        }
    }

    /// One more chunk per window's worth of clean chunks; near the level that last queued,
    /// `CAUTIOUS_GROWTH` times slower, and past it by a chunk, the level is forgotten.
    fn growth(&mut self) -> f64 {
        let step = 1.0 / self.current;
        match self.queued_at {
            Some(level) if self.current > level + 1.0 => {
                self.queued_at = None;
                step
            }
            Some(level) if self.current >= level * NEAR_THE_KNEE => step / CAUTIOUS_GROWTH,
            _ => step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(ms: u64) -> CallStats {
        CallStats {
            requests: 1,
            pressure: 0,
            slowest_ok: Some(Duration::from_millis(ms)),
        }
    }

    #[test]
    fn halves_on_pressure_and_grows_back_additively() {
        let mut w = AdaptiveWindow::new(8);
        assert_eq!(w.allowed(), 4);
        for _ in 0..40 {
            w.observe(&ok(10));
        }
        assert_eq!(w.allowed(), 8);
        w.observe(&CallStats {
            requests: 2,
            pressure: 1,
            slowest_ok: None,
        });
        assert_eq!(w.allowed(), 4);
        w.observe(&CallStats {
            requests: 2,
            pressure: 2,
            slowest_ok: None,
        });
        assert_eq!(w.allowed(), 2);
        w.observe(&ok(10));
        assert_eq!(w.allowed(), 2, "growth is additive, not a jump back");
        w.observe(&ok(1000));
        assert_eq!(w.allowed(), 1, "a latency spike counts as pressure");
    }

    #[test]
    fn counts_how_often_it_shrank_and_grew_back() {
        let mut w = AdaptiveWindow::new(4);
        for _ in 0..10 {
            w.observe(&ok(10));
        }
        assert_eq!(w.allowed(), 4);
        assert!(!w.resizes().any(), "the first climb is no news");
        w.observe(&CallStats {
            requests: 1,
            pressure: 1,
            slowest_ok: None,
        });
        assert_eq!(w.allowed(), 2);
        for _ in 0..10 {
            w.observe(&ok(10));
        }
        assert_eq!(w.resizes(), Resizes { shrank: 1, grew: 2 });
        w.clear_resizes();
        assert!(!w.resizes().any());
    }

    /// A server that answers in `BASE` while at most `KNEE` requests are in flight and
    /// `PER_REQUEST` slower for each one beyond, never refusing; clients keep as many requests in
    /// flight as the window allows, in virtual time. Returns the window after each answer.
    async fn drive_against_a_knee(answers: usize, concurrency: usize) -> Vec<usize> {
        const BASE: Duration = Duration::from_millis(40);
        const PER_REQUEST: Duration = Duration::from_millis(30);
        let window = std::sync::Arc::new(std::sync::Mutex::new(AdaptiveWindow::new(concurrency)));
        let in_flight = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (done, mut answered) = tokio::sync::mpsc::unbounded_channel();
        let mut seen = Vec::with_capacity(answers);
        let mut outstanding = 0;
        while seen.len() < answers {
            let allowed = window.lock().unwrap().allowed();
            while outstanding < allowed {
                outstanding += 1;
                let (in_flight, done) = (in_flight.clone(), done.clone());
                tokio::spawn(async move {
                    use std::sync::atomic::Ordering;
                    let at_arrival = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    let latency = BASE + PER_REQUEST * at_arrival.saturating_sub(KNEE) as u32;
                    tokio::time::sleep(latency).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let _ = done.send(latency);
                });
            }
            let latency = answered.recv().await.expect("a request is out");
            outstanding -= 1;
            let mut window = window.lock().unwrap();
            window.observe(&ok(latency.as_millis() as u64));
            seen.push(window.allowed());
        }
        seen
    }

    const KNEE: usize = 6;

    #[tokio::test(start_paused = true)]
    async fn settles_just_below_the_knee_of_a_server_that_only_slows_down() {
        let windows = drive_against_a_knee(3_000, 32).await;
        let settled = &windows[1_000..];
        // Only crossing the knee finds it: the window probes one chunk beyond, briefly.
        let above = settled.iter().filter(|&&w| w > KNEE).count();
        assert!(
            above * 4 < settled.len(),
            "above the knee for {above} of {} answers",
            settled.len()
        );
        assert!(settled.iter().all(|&w| w <= KNEE + 1), "{settled:?}");
        let mean = settled.iter().sum::<usize>() as f64 / settled.len() as f64;
        assert!(
            (KNEE as f64 - 1.5..=KNEE as f64).contains(&mean),
            "settled at {mean:.2}, not just below the knee of {KNEE}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn below_the_knee_the_ceiling_holds() {
        let windows = drive_against_a_knee(500, 4).await;
        assert_eq!(windows.last(), Some(&4), "--concurrency is the ceiling");
        assert!(windows.iter().all(|&w| w <= 4));
    }

    #[test]
    fn one_lucky_answer_does_not_hold_the_window_down_for_ever() {
        let mut w = AdaptiveWindow::new(8);
        w.observe(&ok(1));
        for _ in 1..BASELINE_PERIOD {
            w.observe(&ok(100));
        }
        assert_eq!(w.allowed(), 1, "a hundred times the best seen is queueing");
        for _ in 0..(2 * BASELINE_PERIOD) {
            w.observe(&ok(100));
        }
        assert_eq!(
            w.allowed(),
            8,
            "the lucky answer has aged out of the baseline"
        );
    }
}
