use std::time::{Duration, Instant};

use super::{ApplyLag, CallStats};

/// The concurrency window: how many chunks may be in flight, at most `--concurrency`. It halves
/// when the server refuses (429, 5xx, timeouts), and, since a server that is not rate-limited
/// keeps answering while its work queues up, it also feels latency (AIMD on
/// latency, Vegas-style): a chunk whose requests took well above the recent best (the server's
/// no-load latency) shrinks it by a quarter, at most once per window's worth of chunks (those
/// were sent under the larger window); a clean one grows it additively (one more chunk per
/// window's worth). Below the server's knee the latency stays at its best and the window grows;
/// one chunk beyond it and the latency rises: the window settles just below the knee.
///
/// A server that answers at once and applies later shows its backlog in neither: it is fed the
/// server's apply lag too (`observe_apply_lag`, see `ApplyLag`), with a rule of its own.
#[derive(Debug, Clone)]
pub struct AdaptiveWindow {
    current: f64,
    max: usize,
    baseline: Baseline,
    lag: LagState,
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
#[derive(Debug, Clone)]
struct Baseline {
    previous: Option<Duration>,
    current: Option<Duration>,
    seen: usize,
    period: usize,
}

const BASELINE_PERIOD: usize = 100;

impl Baseline {
    fn new(period: usize) -> Self {
        Baseline {
            previous: None,
            current: None,
            seen: 0,
            period,
        }
    }

    fn best(&self) -> Option<Duration> {
        match (self.previous, self.current) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn add(&mut self, latency: Duration) {
        self.current = Some(self.current.map_or(latency, |c| c.min(latency)));
        self.seen += 1;
        if self.seen >= self.period {
            self.previous = self.current.take();
            self.seen = 0;
        }
    }
}

/// What the server's apply lag says of the window. The lag's baseline is the least seen, as
/// latency's is. Lag well above it means the server is behind; then its trend says how far:
/// two samples of requests sent under the same window, the later one's lag longer by `g`
/// seconds per second between them, mean the backlog grows: the window sent `1 + g` times what
/// the server applies, and shrinks by that (within bounds); a lag that stays high shrinks it a
/// little, so the backlog drains; a falling one holds it. Samples of requests sent before a
/// shrink tell nothing of the smaller window (the lag answers a round trip as long as itself
/// late); those sent since are measured against the lag the backlog had grown to by it. While
/// samples come, the window grows only as far as they allow: a quarter more (a chunk at
/// least) with each one near the baseline.
#[derive(Debug, Clone)]
struct LagState {
    baseline: Baseline,
    /// The last sample seen applied.
    last_applied: Option<ApplyLag>,
    /// When the lag last shrank the window.
    shrank_at: Option<Instant>,
    /// The most the window may grow to once samples come: raised by a quarter (a chunk at
    /// least) with each sample near the baseline, lowered to the window when the lag is high,
    /// and forgotten once it reaches `--concurrency`. Latency's growth, a chunk per window's
    /// worth of chunks, would otherwise fill the server's backlog long before its lag could tell.
    ceiling: Option<f64>,
}

/// Samples come a second or more apart: the baseline is the least of the last 30 to 60.
const LAG_BASELINE_PERIOD: usize = 30;
/// Lag above this many times its baseline, plus `LAG_SLACK`, means the server is behind.
const LAG_TOLERANCE: f64 = 2.0;
/// A probe knows a lag to within half of itself: below this much extra, no backlog is told.
const LAG_SLACK: Duration = Duration::from_millis(500);
/// What a lag that rises leaves of the window: the share of the backlog's growth the server
/// keeps up with, between these two.
const LAG_BACKOFF: f64 = 0.75;
const LAG_BACKOFF_MOST: f64 = 0.5;
/// What a lag that stays high leaves of it, so that the backlog drains.
const LAG_DRAIN: f64 = 0.9;
/// A lag that grows faster than this (seconds per second of sending) holds the window even
/// below the threshold: the backlog has begun to build.
const LAG_RISING: f64 = 0.2;
/// How much higher each sample near the baseline lets the window grow (at least a chunk).
const LAG_GROWTH: f64 = 0.25;

impl LagState {
    /// How fast the lag grows, in seconds per second of sending, from the last sample applied
    /// since the window last shrank to `sample`, sent since then too: 0 or more when it does
    /// not fall. `None` when that is not known: no such samples, a falling lag, or one still
    /// awaited that is no longer yet than the last applied.
    fn trend(&self, sample: &ApplyLag) -> Option<f64> {
        if self.shrank_at.is_some_and(|at| sample.accepted < at) {
            return None;
        }
        let previous = self.last_applied?;
        let apart = sample.accepted.checked_duration_since(previous.accepted)?;
        let longer = sample.lag.checked_sub(previous.lag)?;
        if !sample.applied && longer.is_zero() {
            return None;
        }
        Some(longer.as_secs_f64() / apart.as_secs_f64().max(f64::EPSILON))
    }

    fn new() -> Self {
        LagState {
            baseline: Baseline::new(LAG_BASELINE_PERIOD),
            last_applied: None,
            shrank_at: None,
            ceiling: None,
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
            baseline: Baseline::new(BASELINE_PERIOD),
            lag: LagState::new(),
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

    /// What a chunk's requests met: refusals, latency, and the apply lag a probe saw beside them.
    pub fn observe(&mut self, stats: &CallStats) {
        self.resizing(|w| {
            w.adapt(stats);
            if let Some(sample) = &stats.apply_lag {
                w.adapt_to_lag(sample);
            }
        });
    }

    /// How late the server applied (or has not yet applied) a request it accepted.
    pub fn observe_apply_lag(&mut self, sample: &ApplyLag) {
        self.resizing(|w| w.adapt_to_lag(sample));
    }

    /// Runs `change` and counts how the window moved.
    fn resizing(&mut self, change: impl FnOnce(&mut Self)) {
        let allowed = self.allowed();
        change(self);
        match self.allowed().cmp(&allowed) {
            std::cmp::Ordering::Less => {
                self.resizes.shrank += 1;
                self.ever_shrank = true;
            }
            std::cmp::Ordering::Greater if self.ever_shrank => self.resizes.grew += 1,
            _ => {}
        }
    }

    fn adapt_to_lag(&mut self, sample: &ApplyLag) {
        let lag = &mut self.lag;
        let behind = lag
            .baseline
            .best()
            .map(|best| best.mul_f64(LAG_TOLERANCE) + LAG_SLACK)
            .is_some_and(|threshold| sample.lag > threshold);
        let trend = lag.trend(sample);
        if sample.applied {
            lag.baseline.add(sample.lag);
            lag.last_applied = Some(*sample);
        }
        if !behind {
            // From the first sample on, growth waits for the lag to say it did no harm: near
            // the baseline and not rising fast.
            let ceiling = lag.ceiling.unwrap_or(self.current);
            let rising = trend.is_some_and(|growth| growth > LAG_RISING);
            let raised = if sample.applied && !rising {
                ceiling + (ceiling * LAG_GROWTH).max(1.0)
            } else {
                ceiling
            };
            lag.ceiling = (raised < self.max as f64).then_some(raised);
            return;
        }
        let factor = match trend {
            // The backlog grows (1 + growth) times as fast as the server applies it: the
            // window sends that many times too much.
            Some(growth) if growth > 0.0 => {
                (1.0 / (1.0 + growth)).clamp(LAG_BACKOFF_MOST, LAG_BACKOFF)
            }
            // Flat and high: the backlog does not drain.
            Some(_) => LAG_DRAIN,
            // Falling, or not known yet.
            None => 1.0,
        };
        if factor < 1.0 {
            self.current = (self.current * factor).max(1.0);
            let now = sample.seen();
            lag.shrank_at = Some(now);
            // Only samples of requests sent since tell how the smaller window does: they are
            // measured against the lag the backlog had grown to by now, as the trend says.
            let grown = sample.lag.mul_f64(1.0 + trend.unwrap_or(0.0).max(0.0));
            lag.last_applied = Some(ApplyLag {
                accepted: now,
                lag: grown,
                applied: true,
            });
        }
        lag.ceiling = Some(lag.ceiling.map_or(self.current, |c| c.min(self.current)));
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
            let ceiling = self.lag.ceiling.unwrap_or(self.max as f64);
            let grown = (self.current + self.growth()).min(self.max as f64);
            // Never below where it is: a ceiling only holds growth back.
            self.current = grown.min(ceiling).max(self.current);
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
            apply_lag: None,
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
            apply_lag: None,
        });
        assert_eq!(w.allowed(), 4);
        w.observe(&CallStats {
            requests: 2,
            pressure: 2,
            slowest_ok: None,
            apply_lag: None,
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
            apply_lag: None,
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

    /// A server that answers every chunk in `LATENCY` and applies what it accepted in order, at
    /// `apply_rate(t)` runs a second: a backlog whose lag rises with the load sent, while the
    /// latency stays flat. Clients keep as many chunks in flight as the window allows, and a
    /// probe looks beside each answer, in virtual time. Returns, per answer, when it came, the
    /// window after it, and how late that chunk's runs are applied.
    async fn drive_against_a_backlog(
        apply_rate: impl Fn(Duration) -> f64,
        for_how_long: Duration,
        concurrency: usize,
    ) -> Vec<(Duration, usize, Duration)> {
        use crate::engine::{limiter, Applied, ApplyProbe, Caller, RetryPolicy};
        use std::collections::HashMap;
        use tokio::time::Instant as Virtual;
        const LATENCY: Duration = Duration::from_millis(100);
        const RUNS_PER_CHUNK: f64 = 100.0;
        let policy = RetryPolicy {
            max_retries: 0,
            min_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            max_retry_after: Duration::ZERO,
        };
        let limiter = limiter(1_000_000.0);
        let probe = ApplyProbe::new("test.cancel");
        let mut window = AdaptiveWindow::new(concurrency);
        let mut applied_at: HashMap<String, Virtual> = HashMap::new();
        let mut queue_free = Virtual::now();
        let start = Virtual::now();
        let (done, mut answered) = tokio::sync::mpsc::unbounded_channel();
        let (mut outstanding, mut sent) = (0, 0u64);
        let mut seen = Vec::new();
        while start.elapsed() < for_how_long {
            while outstanding < window.allowed() {
                outstanding += 1;
                sent += 1;
                let done = done.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(LATENCY).await;
                    let _ = done.send(format!("chunk-{sent}"));
                });
            }
            let chunk = answered.recv().await.expect("a chunk is out");
            outstanding -= 1;
            let now = Virtual::now();
            let caller = Caller::new(limiter.clone(), policy.clone());
            probe
                .look(&caller, "test.look", |id| {
                    let applied = applied_at.get(&id).is_some_and(|&at| Virtual::now() >= at);
                    async move {
                        Ok::<_, crate::engine::failure::Never>(if applied {
                            Applied::Yes
                        } else {
                            Applied::NotYet
                        })
                    }
                })
                .await;
            let rate = apply_rate(start.elapsed());
            queue_free = queue_free.max(now) + Duration::from_secs_f64(RUNS_PER_CHUNK / rate);
            applied_at.insert(chunk.clone(), queue_free);
            probe.accepted(&caller, &[chunk]);
            let mut stats = ok(LATENCY.as_millis() as u64);
            stats.apply_lag = caller.stats().apply_lag;
            window.observe(&stats);
            seen.push((start.elapsed(), window.allowed(), queue_free - now));
        }
        seen
    }

    #[tokio::test(start_paused = true)]
    async fn the_apply_lag_holds_the_window_near_the_servers_apply_rate_and_lets_it_recover() {
        // The window sends 1,000 runs/s per chunk in flight; the server applies 4,000 a
        // second for two minutes (a knee at 4 chunks), then 40,000 (none below 16).
        let slow_for = Duration::from_secs(120);
        let seen = drive_against_a_backlog(
            |t| if t < slow_for { 4_000.0 } else { 40_000.0 },
            Duration::from_secs(180),
            16,
        )
        .await;
        // Sixteen chunks in flight at four times the apply rate build a backlog of a few seconds
        // before the first samples tell (a round trip as long as the lag); once it drained,
        // the window keeps the lag within a few times the threshold of its baseline (0.1 s ×
        // 2 + 0.5 s).
        let settled: Vec<_> = seen
            .iter()
            .filter(|(t, ..)| (Duration::from_secs(40)..slow_for).contains(t))
            .collect();
        let worst_start = seen.iter().map(|(.., lag)| *lag).max().unwrap();
        assert!(worst_start < Duration::from_secs(8), "{worst_start:?}");
        let worst_lag = settled.iter().map(|(.., lag)| *lag).max().unwrap();
        assert!(
            worst_lag < Duration::from_secs(4),
            "the backlog grew to a lag of {worst_lag:?}"
        );
        let mean = settled.iter().map(|(_, w, _)| *w as f64).sum::<f64>() / settled.len() as f64;
        assert!(
            (2.0..=5.0).contains(&mean),
            "settled at a window of {mean:.2}, not near the apply rate's 4"
        );
        let (_, last_window, last_lag) = seen.last().unwrap();
        assert_eq!(
            *last_window, 16,
            "the window grew back once the server caught up"
        );
        assert!(*last_lag < Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lag_that_stays_at_its_baseline_never_holds_the_window() {
        // A server that always applies 2 s late, however much it is sent: no backlog.
        let mut w = AdaptiveWindow::new(16);
        let start = Instant::now();
        for i in 0..100u32 {
            let accepted = start + Duration::from_secs(u64::from(i));
            w.observe_apply_lag(&ApplyLag {
                accepted,
                lag: Duration::from_millis(2_000 + u64::from(i % 3) * 100),
                applied: true,
            });
            for _ in 0..20 {
                w.observe(&ok(10));
            }
        }
        assert_eq!(w.allowed(), 16);
        assert!(!w.resizes().any());
    }

    #[test]
    fn a_rising_lag_shrinks_the_window_a_falling_one_holds_it_and_old_news_is_not_heard_twice() {
        let mut w = AdaptiveWindow::new(16);
        let start = Instant::now();
        let at = |s: f64| start + Duration::from_secs_f64(s);
        let applied = |accepted: f64, lag: f64| ApplyLag {
            accepted: at(accepted),
            lag: Duration::from_secs_f64(lag),
            applied: true,
        };
        let awaited = |accepted: f64, lag: f64| ApplyLag {
            applied: false,
            ..applied(accepted, lag)
        };
        for _ in 0..200 {
            w.observe(&ok(10));
        }
        assert_eq!(w.allowed(), 16);
        // Baseline 0.1 s (threshold 0.7 s), then a lag that grows a second per second sent.
        w.observe_apply_lag(&applied(0.0, 0.1));
        w.observe_apply_lag(&applied(1.0, 0.5));
        w.observe_apply_lag(&awaited(2.0, 1.5));
        assert_eq!(w.allowed(), 8, "twice what the server applies: halved");
        // Runs sent before that shrink, late as they are, say nothing of the smaller window.
        w.observe_apply_lag(&applied(2.5, 2.5));
        w.observe_apply_lag(&awaited(3.0, 2.0));
        assert_eq!(w.allowed(), 8);
        // Sent since: the lag falls from the 3 s the backlog had grown to: held.
        w.observe_apply_lag(&applied(4.0, 2.0));
        w.observe_apply_lag(&applied(5.0, 1.5));
        for _ in 0..200 {
            w.observe(&ok(10));
        }
        assert_eq!(w.allowed(), 8, "held while the backlog drains");
        // Flat and high: a tenth off, so that it drains.
        w.observe_apply_lag(&applied(6.0, 1.5));
        assert_eq!(w.allowed(), 7);
        // Back near the baseline: a quarter more per sample, none from latency alone.
        for i in 0..3 {
            w.observe_apply_lag(&applied(10.0 + f64::from(i), 0.1));
        }
        for _ in 0..200 {
            w.observe(&ok(10));
        }
        assert!((11..=14).contains(&w.allowed()), "{}", w.allowed());
    }
}
