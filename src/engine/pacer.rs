use std::future::Future;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces one operation's mutating requests: one at a time across the process, each starting at
/// least `interval` after the previous one ended. Unlike the process-wide rate limiter it slows
/// only what runs inside it, so enumeration and verification reads keep their own pace.
pub struct Pacer {
    interval: Duration,
    /// When the last paced section ended; held for the whole of a section.
    last: Mutex<Option<Instant>>,
}

impl Pacer {
    pub fn new(interval: Duration) -> Self {
        Pacer {
            interval,
            last: Mutex::new(None),
        }
    }

    /// Runs `section` once the previous section has ended at least `interval` ago; waiters go in
    /// arrival order.
    pub async fn run<T>(&self, section: impl Future<Output = T>) -> T {
        let mut last = self.last.lock().await;
        if let Some(ended) = *last {
            tokio::time::sleep_until(ended + self.interval).await;
        }
        let out = section.await;
        *last = Some(Instant::now());
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_section_at_a_time_spaced_by_the_interval() {
        let interval = Duration::from_millis(100);
        let section = Duration::from_millis(20);
        let pacer = Arc::new(Pacer::new(interval));
        let inside = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (pacer, inside) = (pacer.clone(), inside.clone());
                tokio::spawn(async move {
                    pacer
                        .run(async {
                            let overlapping = inside.fetch_add(1, Ordering::SeqCst);
                            let at = started.elapsed();
                            tokio::time::sleep(section).await;
                            inside.fetch_sub(1, Ordering::SeqCst);
                            (at, overlapping)
                        })
                        .await
                })
            })
            .collect();
        let mut starts = Vec::new();
        for task in tasks {
            let (at, overlapping) = task.await.unwrap();
            assert_eq!(overlapping, 0, "two sections ran at once");
            starts.push(at);
        }
        starts.sort();
        assert!(starts[0] < interval, "the first section waits for nothing");
        for pair in starts.windows(2) {
            assert!(
                pair[1] - pair[0] >= section + interval,
                "each section starts an interval after the previous one ended: {starts:?}"
            );
        }
    }
}
