//! The app's front end on a terminal (or off one): the confirmation question on stderr, a
//! progress bar or JSON progress lines, and SIGINT/SIGTERM as the stop signal.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use futures::future::{FutureExt, Shared};

use super::output;
use crate::app::{Confirmation, Event, Frontend, StopSignal};
use crate::config::LogFormat;
use crate::engine::{LineProgress, Lines, Progress, TtyProgress};

pub struct Terminal {
    log_format: LogFormat,
    /// SIGINT or SIGTERM, listened for from the terminal's creation: a signal during the
    /// start-up (whose requests wait for slots of the job's rate) is kept for the engine, which
    /// stops at once, rather than ending the process by the signal's default action.
    stop: Shared<StopSignal>,
}

impl Terminal {
    pub fn new(log_format: LogFormat) -> Self {
        Self {
            log_format,
            stop: stop_on_signal().shared(),
        }
    }
}

impl Frontend for Terminal {
    fn can_ask(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// Asks on the terminal; anything but yes is no.
    fn confirm(&mut self, confirmation: &Confirmation<'_>) -> Result<bool, std::io::Error> {
        eprint!(
            "{}",
            output::confirmation(
                confirmation.spec,
                confirmation.window,
                confirmation.now,
                confirmation.found
            )
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
    }

    fn progress(&mut self, job: &str, verify_timeout: Option<Duration>) -> Box<dyn Progress> {
        let bars = crate::telemetry::progress_bars()
            .filter(|_| crate::telemetry::interactive(self.log_format));
        match bars {
            Some(bars) => Box::new(TtyProgress::new(job, verify_timeout, bars)),
            None if crate::telemetry::json_logs(self.log_format) => {
                Box::new(LineProgress::new(job, verify_timeout, Lines::Json))
            }
            None => Box::new(LineProgress::new(job, verify_timeout, Lines::Text)),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Begun { job, resumed: true } => {
                tracing::info!(job = %job, "resuming the unfinished job with the same identity");
            }
            Event::Begun { resumed: false, .. } => {}
        }
    }

    fn stop_signal(&mut self) -> StopSignal {
        Box::pin(self.stop.clone())
    }
}

/// SIGINT or SIGTERM. The handlers are installed here, before the job starts: installed when
/// first awaited, a signal that came sooner would end the process by its default action,
/// without a summary.
pub fn stop_on_signal() -> StopSignal {
    use tokio::signal::unix::{signal, SignalKind};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    Box::pin(async move {
        let next = |s: Result<tokio::signal::unix::Signal, std::io::Error>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = next(interrupt) => {},
            _ = next(terminate) => {},
        }
    })
}
