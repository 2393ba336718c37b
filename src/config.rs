//! Layered settings: built-in defaults (`config/default.toml`) < `--config FILE` <
//! `BULKOPS_*` environment variables < command-line flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

use crate::job::SpecError;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}: check --config FILE and the BULKOPS_* variables")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {key} = '{value}' is not a duration: use e.g. 30s or 2m")]
    Duration { key: &'static str, value: String },
    #[error(transparent)]
    Invalid(#[from] SpecError),
    #[error("log_format '{0}' is unknown: use text, json or auto")]
    LogFormat(String),
    #[error("no default state location (neither XDG_STATE_HOME nor HOME is set): pass --state PATH or set BULKOPS_STATE")]
    NoStateHome,
    #[error("cannot create the state directory {path}: {source}: pass --state PATH or set BULKOPS_STATE")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
    Auto,
}

#[derive(Debug, Deserialize)]
struct Raw {
    rate: f64,
    concurrency: usize,
    chunk_size: Option<usize>,
    /// Unset: one place per user and machine (`default_state`).
    state: Option<PathBuf>,
    request_timeout: String,
    max_retries: usize,
    log_format: String,
    verify_timeout: String,
    verify_poll: String,
    slice_target: usize,
    replay_interval: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub rate: f64,
    pub concurrency: usize,
    /// `None` when nothing sets it: each operation then uses its own default.
    pub chunk_size: Option<usize>,
    pub state: PathBuf,
    pub request_timeout: Duration,
    pub max_retries: usize,
    pub log_format: LogFormat,
    pub verify_timeout: Duration,
    pub verify_poll: Duration,
    pub slice_target: usize,
    pub replay_interval: Duration,
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub chunk_size: Option<usize>,
    pub state: Option<PathBuf>,
    pub log_format: Option<String>,
    pub verify_timeout: Option<String>,
    pub request_timeout: Option<String>,
}

fn duration(key: &'static str, value: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(value.trim()).map_err(|_| ConfigError::Duration {
        key,
        value: value.to_string(),
    })
}

impl Settings {
    pub fn load(file: Option<&Path>, flags: &Overrides) -> Result<Self, ConfigError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(file) = file {
            builder = builder.add_source(File::from(file.to_path_buf()).required(true));
        }
        builder = builder
            .add_source(Environment::with_prefix("BULKOPS").try_parsing(true))
            .set_override_option("rate", flags.rate)?
            .set_override_option("concurrency", flags.concurrency.map(|v| v as u64))?
            .set_override_option("chunk_size", flags.chunk_size.map(|v| v as u64))?
            .set_override_option(
                "state",
                flags
                    .state
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            )?
            .set_override_option("log_format", flags.log_format.clone())?
            .set_override_option("verify_timeout", flags.verify_timeout.clone())?
            .set_override_option("request_timeout", flags.request_timeout.clone())?;
        let raw: Raw = builder.build()?.try_deserialize()?;
        Settings::validate(raw)
    }

    fn validate(raw: Raw) -> Result<Self, ConfigError> {
        if let Some(n) = raw.chunk_size.filter(|n| !(1..=1000).contains(n)) {
            return Err(SpecError::ChunkSize(n).into());
        }
        if !(raw.rate > 0.0 && raw.rate.is_finite()) {
            return Err(SpecError::Rate.into());
        }
        if raw.concurrency == 0 {
            return Err(SpecError::Concurrency.into());
        }
        let log_format = match raw.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            "auto" => LogFormat::Auto,
            other => return Err(ConfigError::LogFormat(other.to_string())),
        };
        Ok(Settings {
            rate: raw.rate,
            concurrency: raw.concurrency,
            chunk_size: raw.chunk_size,
            state: match raw.state {
                Some(path) => path,
                None => default_state()?,
            },
            request_timeout: duration("request_timeout", &raw.request_timeout)?,
            max_retries: raw.max_retries,
            log_format,
            verify_timeout: duration("verify_timeout", &raw.verify_timeout)?,
            verify_poll: duration("verify_poll", &raw.verify_poll)?,
            slice_target: raw.slice_target.max(1),
            replay_interval: duration("replay_interval", &raw.replay_interval)?,
        })
    }
}

/// The state file when none is named: one per user and machine, whatever the working directory,
/// so that the same job started from two directories meets one job and one lease (two files
/// would each run it). `$XDG_STATE_HOME/bulkops/state.db`, else
/// `~/.local/state/bulkops/state.db`; the directory is created.
fn default_state() -> Result<PathBuf, ConfigError> {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = var("XDG_STATE_HOME")
        .or_else(|| var("HOME").map(|home| home.join(".local").join("state")))
        .ok_or(ConfigError::NoStateHome)?;
    let dir = base.join("bulkops");
    std::fs::create_dir_all(&dir).map_err(|source| ConfigError::StateDir {
        path: dir.clone(),
        source,
    })?;
    Ok(dir.join("state.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_files_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "rate = 7.0\nconcurrency = 9\n").unwrap();
        let s = Settings::load(
            Some(&file),
            &Overrides {
                concurrency: Some(2),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(s.rate, 7.0);
        assert_eq!(s.concurrency, 2);
        assert_eq!(s.chunk_size, None, "left to each operation");
        assert_eq!(s.replay_interval, Duration::from_secs(2));
    }

    #[test]
    fn refuses_out_of_range_values() {
        let bad = |o: Overrides| Settings::load(None, &o).unwrap_err().to_string();
        assert!(bad(Overrides {
            chunk_size: Some(0),
            ..Overrides::default()
        })
        .contains("1 to 1000"));
        assert!(bad(Overrides {
            chunk_size: Some(1001),
            ..Overrides::default()
        })
        .contains("1 to 1000"));
        assert!(bad(Overrides {
            rate: Some(0.0),
            ..Overrides::default()
        })
        .contains("--rate"));
    }
}
