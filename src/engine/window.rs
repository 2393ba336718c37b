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
        }
    }

    pub fn allowed(&self) -> usize {
        (self.current.floor() as usize).clamp(1, self.max)
    }

    pub fn observe(&mut self, stats: &CallStats) {
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
}
