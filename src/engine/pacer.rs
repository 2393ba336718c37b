use std::future::Future;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Paces one operation's mutating requests in a closed loop: one section at a time across the
/// process, each starting once the server shows the previous one's request applied and at least
/// `floor` after the previous one ended, so the next request goes as soon as the server is done
/// with the last, not after a guessed interval. The size a request may have doubles while
/// nothing has been lost (a slow start, as TCP's), halves at a loss, and from then on grows by a
/// step up to the most: a server that lost a size once is approached again gently. Unlike the
/// process-wide rate limiter it slows only what runs inside it, so enumeration and
/// verification reads keep their own pace.
pub struct Pacer {
    floor: Duration,
    sizes: RequestSizes,
    /// Held for the whole of a section.
    state: Mutex<PacerState>,
}

/// How big a section's request may be, in the operation's own unit (tasks, for replay). Below
/// `min` a request's fixed cost outweighs what a smaller one could save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSizes {
    pub min: usize,
    pub start: usize,
    pub step: usize,
    pub max: usize,
}

/// What became of a section's request, for the size of the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Everything it sent was seen applied.
    Applied,
    /// Part of it was not seen applied in time: the server dropped or is behind.
    Lost,
    /// Nothing was sent, or its fate could not be read: no news about the size.
    Unknown,
}

struct PacerState {
    ended: Option<Instant>,
    size: usize,
    /// Below it the size doubles, from it on it grows by the step: the most at first, the size
    /// a loss halved to after one.
    threshold: usize,
}

impl Pacer {
    pub fn new(floor: Duration, sizes: RequestSizes) -> Self {
        let min = sizes.min.max(1);
        let max = sizes.max.max(min);
        Pacer {
            floor,
            sizes: RequestSizes { min, max, ..sizes },
            state: Mutex::new(PacerState {
                ended: None,
                size: sizes.start.clamp(min, max),
                threshold: max,
            }),
        }
    }

    /// Runs `section` with the size its request may have: once `previous_applied` (the wait
    /// for the previous section's request to show applied) has said what became of it, which
    /// sizes this one, and at least `floor` after the previous section ended. Waiters go in
    /// arrival order. The wait runs inside the next section, not the previous one, so that a
    /// section ends as soon as its request is answered and its outcome can be recorded.
    pub async fn run<T, W, F, Fut>(&self, previous_applied: W, section: F) -> T
    where
        W: Future<Output = Delivery>,
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = T>,
    {
        let mut state = self.state.lock().await;
        let delivery = previous_applied.await;
        match delivery {
            Delivery::Applied if state.size < state.threshold => {
                state.size = (state.size * 2).min(state.threshold);
            }
            Delivery::Applied => state.size = (state.size + self.sizes.step).min(self.sizes.max),
            Delivery::Lost => {
                state.size = (state.size / 2).max(self.sizes.min);
                state.threshold = state.size;
            }
            Delivery::Unknown => {}
        }
        if let Some(ended) = state.ended {
            tokio::time::sleep_until(ended + self.floor).await;
        }
        let out = section(state.size).await;
        state.ended = Some(Instant::now());
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    const SIZES: RequestSizes = RequestSizes {
        min: 5,
        start: 50,
        step: 25,
        max: 100,
    };

    #[tokio::test(start_paused = true)]
    async fn one_section_at_a_time_spaced_by_the_floor() {
        let floor = Duration::from_millis(100);
        let section = Duration::from_millis(20);
        let pacer = Arc::new(Pacer::new(floor, SIZES));
        let inside = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (pacer, inside) = (pacer.clone(), inside.clone());
                tokio::spawn(async move {
                    pacer
                        .run(async { Delivery::Unknown }, |_| async {
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
        assert!(starts[0] < floor, "the first section waits for nothing");
        for pair in starts.windows(2) {
            assert!(
                pair[1] - pair[0] >= section + floor,
                "each section starts a floor after the previous one ended: {starts:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_request_goes_as_soon_as_the_previous_one_is_applied() {
        let floor = Duration::from_millis(50);
        let pacer = Pacer::new(floor, SIZES);
        let started = Instant::now();
        let applied_after = |ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Delivery::Applied
        };
        // Nothing to wait for before the first; then the server takes 300 ms, then 10 ms (less
        // than the floor), to show the previous request applied: the pace follows it.
        pacer.run(async { Delivery::Unknown }, |_| async {}).await;
        pacer.run(applied_after(300), |_| async {}).await;
        let third = pacer.run(applied_after(10), |_| async { started.elapsed() });
        assert_eq!(third.await, Duration::from_millis(300 + 50));
    }

    /// The sizes `pacer` gives sections that follow `deliveries` (each one the verdict on the
    /// section before it).
    async fn sizes_after(pacer: &Pacer, deliveries: &[Delivery]) -> Vec<usize> {
        let mut sizes = Vec::new();
        for &delivery in deliveries {
            sizes.push(
                pacer
                    .run(async { delivery }, |size| async move { size })
                    .await,
            );
        }
        sizes
    }

    #[tokio::test(start_paused = true)]
    async fn the_size_doubles_until_a_loss_halves_it_then_grows_by_the_step() {
        use Delivery::{Applied, Lost, Unknown};
        let small_start = RequestSizes { start: 10, ..SIZES };
        let pacer = Pacer::new(Duration::ZERO, small_start);
        let deliveries = [
            Applied, Applied, Unknown, Applied, Applied, Lost, Applied, Applied,
        ];
        assert_eq!(
            sizes_after(&pacer, &deliveries).await,
            vec![20, 40, 40, 80, 100, 50, 75, 100],
            "doubles up to the most while nothing is lost; after a loss, a step at a time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_losses_the_size_grows_back_by_the_step_from_where_they_left_it() {
        use Delivery::{Applied, Lost};
        let pacer = Pacer::new(Duration::ZERO, SIZES);
        let mut deliveries = vec![Applied, Lost, Lost, Applied, Lost];
        deliveries.extend([Lost; 7]);
        deliveries.push(Applied);
        assert_eq!(
            sizes_after(&pacer, &deliveries).await,
            vec![100, 50, 25, 50, 25, 12, 6, 5, 5, 5, 5, 5, 30],
            "halves down to the least, then steps up"
        );
    }
}
