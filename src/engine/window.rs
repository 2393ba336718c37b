use std::time::Duration;

use super::CallStats;

/// The concurrency window: how many chunks may be in flight. It halves when the server shows
/// pressure (429, 5xx, timeouts) or its latency climbs well above the best seen, and grows back
/// additively (one more chunk per window's worth of clean results).
#[derive(Debug, Clone)]
pub struct AdaptiveWindow {
    current: f64,
    max: usize,
    best_latency: Option<Duration>,
    resizes: Resizes,
    ever_shrank: bool,
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

/// Latency this many times the best seen counts as pressure.
const LATENCY_FACTOR: u32 = 4;

impl AdaptiveWindow {
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        AdaptiveWindow {
            current: (max as f64 / 2.0).max(1.0),
            max,
            best_latency: None,
            resizes: Resizes::default(),
            ever_shrank: false,
        }
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

    fn adapt(&mut self, stats: &CallStats) {
        let slow = match (stats.slowest_ok, self.best_latency) {
            (Some(latency), Some(best)) => {
                latency > best * LATENCY_FACTOR + Duration::from_millis(50)
            }
            _ => false,
        };
        if let Some(latency) = stats.slowest_ok {
            self.best_latency = Some(self.best_latency.map_or(latency, |b| b.min(latency)));
        }
        if stats.pressure > 0 || slow {
            self.current = (self.current / 2.0).max(1.0);
        } else if stats.requests > 0 {
            self.current = (self.current + 1.0 / self.current).min(self.max as f64);
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
}
