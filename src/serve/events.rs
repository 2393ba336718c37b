//! `GET /jobs/{id}/events`: a job's progress as server-sent events, read from the store every
//! second as `jobs watch` reads it, whichever process runs the job. An event `progress` each
//! time the state or the counts moved, then one `end` (with the exit code the job's own
//! process ends with) and the stream closes; it also closes when this service shuts down.

use std::convert::Infallible;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::watch;
use tokio::time::Interval;

use super::jobs::blocking;
use super::{Api, ApiError};
use crate::app::{Sight, Watch, WATCH_EVERY};
use crate::cli::watch_json;
use crate::store::Counts;

struct Following {
    watch: Watch,
    ticks: Interval,
    closing: watch::Receiver<bool>,
    /// What the last event said.
    last: Option<(&'static str, Counts)>,
}

pub(super) async fn stream(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let settings = api.0.settings.clone();
    // An unknown job is 404 here, before the stream starts.
    let watch = blocking(move || Watch::open(&settings, &id)).await?;
    let following = Following {
        watch,
        ticks: tokio::time::interval(WATCH_EVERY),
        closing: api.0.closing.clone(),
        last: None,
    };
    let events = futures::stream::unfold(Some(following), |following| async move {
        let (event, following) = next_event(following?).await?;
        Some((Ok(event), following))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// The next event, and what follows it (`None` after the last); `None` at shutdown.
async fn next_event(mut f: Following) -> Option<(Event, Option<Following>)> {
    loop {
        tokio::select! {
            _ = f.ticks.tick() => {}
            _ = f.closing.wait_for(|closing| *closing) => return None,
        }
        let mut watch = f.watch;
        let (watch, sight) = tokio::task::spawn_blocking(move || {
            let sight = watch.look(Instant::now());
            (watch, sight)
        })
        .await
        .ok()?;
        f.watch = watch;
        let sight: Sight = match sight {
            Ok(sight) => sight,
            Err(e) => {
                let error = ApiError::App(e).body().0;
                return Some((
                    Event::default().event("error").data(error.to_string()),
                    None,
                ));
            }
        };
        let data = watch_json(&sight).to_string();
        if sight.ended.is_some() {
            return Some((Event::default().event("end").data(data), None));
        }
        let shown = (sight.state, sight.counts.clone());
        if f.last.as_ref() != Some(&shown) {
            f.last = Some(shown);
            return Some((Event::default().event("progress").data(data), Some(f)));
        }
    }
}
