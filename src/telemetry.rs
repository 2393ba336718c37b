//! Logging: readable text on a terminal (printed above the progress bar, never through it),
//! JSON lines otherwise. `RUST_LOG` narrows or widens what is logged (default `info`).

use std::io::IsTerminal;

use tracing_indicatif::IndicatifLayer;
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

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = matches!(format, LogFormat::Json)
        || (matches!(format, LogFormat::Auto) && !std::io::stderr().is_terminal());
    let result = if json {
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        let indicatif = IndicatifLayer::new();
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_writer(indicatif.get_stderr_writer()),
            )
            .with(indicatif)
            .try_init()
    };
    // A second init (in tests) is harmless.
    let _ = result;
}
