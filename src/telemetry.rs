//! Logging: readable text on a terminal (printed above the progress bar, never through it),
//! JSON lines otherwise. `RUST_LOG` narrows or widens what is logged (default `info`). Text is
//! coloured only on a terminal, and never with `NO_COLOR` set (no-color.org).

use std::io::{self, IsTerminal};
use std::sync::OnceLock;

use indicatif::{MultiProgress, ProgressDrawTarget, TermLike};
use tracing_indicatif::writer::IndicatifWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Whether output goes to a person: then progress is a bar and logs are text.
pub fn interactive(format: LogFormat) -> bool {
    match format {
        LogFormat::Text => std::io::stderr().is_terminal(),
        LogFormat::Json => false,
        LogFormat::Auto => std::io::stderr().is_terminal(),
    }
}

/// Whether log lines are JSON objects: asked for, or `auto` off a terminal.
pub fn json_logs(format: LogFormat) -> bool {
    matches!(format, LogFormat::Json)
        || (matches!(format, LogFormat::Auto) && !std::io::stderr().is_terminal())
}

/// The progress bars of text logging; log lines are printed above them.
static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Where a progress bar goes, once text logging is set up.
pub fn progress_bars() -> Option<&'static MultiProgress> {
    BARS.get()
}

/// Stderr as the bars see it: two columns narrower than it is. indicatif pads a bar to the full
/// width, leaving the cursor at the edge, so the `^C` a terminal echoes for Ctrl-C would wrap
/// onto a new line and leave the bar above it behind as a stale copy; with room for the echo,
/// the next draw overwrites it on the same line.
#[derive(Debug)]
struct RoomForEcho(console::Term);

/// Columns left free at the end of a bar's line.
const ECHO_ROOM: u16 = 2;

impl TermLike for RoomForEcho {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(ECHO_ROOM).max(1)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Whether text logs may carry ANSI colours: only to a terminal, and not when the user set
/// `NO_COLOR` to anything but the empty string.
fn colours(to_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    to_terminal && no_color.is_none_or(|v| v.is_empty())
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let result = if json_logs(format) {
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        let bars = BARS.get_or_init(|| {
            MultiProgress::with_draw_target(ProgressDrawTarget::term_like_with_hz(
                Box::new(RoomForEcho(console::Term::stderr())),
                20,
            ))
        });
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(colours(
                        std::io::stderr().is_terminal(),
                        std::env::var_os("NO_COLOR"),
                    ))
                    .with_writer(IndicatifWriter::<tracing_indicatif::writer::Stderr>::new(
                        bars.clone(),
                    )),
            )
            .try_init()
    };
    // A second init (in tests) is harmless.
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::colours;

    #[test]
    fn colours_only_to_a_terminal_without_no_color() {
        assert!(colours(true, None));
        assert!(colours(true, Some("".into())), "an empty NO_COLOR is unset");
        assert!(!colours(true, Some("1".into())));
        assert!(!colours(false, None));
    }
}
