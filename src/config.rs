//! Layered settings: built-in defaults (`config/default.toml`) < `--config FILE` <
//! `BULKOPS_*` environment variables < command-line flags. A key no setting has is refused in
//! every layer: a misspelt setting would otherwise be ignored, and the job run with the default.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat, Source as _};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::job::{check_chunk_size, check_concurrency, check_rate, DurationError, SpecError};
use crate::store::Location;

const DEFAULTS: &str = include_str!("../config/default.toml");

/// Every setting, as a file names it (`BULKOPS_` and upper case in the environment).
const KEYS: [&str; 14] = [
    "rate",
    "concurrency",
    "chunk_size",
    "state",
    "reports_dir",
    "request_timeout",
    "max_retries",
    "log_format",
    "verify_timeout",
    "verify_poll",
    "slice_target",
    "replay_interval",
    "metrics_addr",
    "api_token",
];

/// `BULKOPS_*` variables that are not settings but belong to the project's scripts, which
/// export them to every command they run, bulkops included: scripts/lib.sh (`BULKOPS_ROOT`,
/// `BULKOPS_CACHE`), scripts/test.sh (`BULKOPS_BIN`), and the knobs of scripts/hatchet-up.sh
/// and hatchet-down.sh (`BULKOPS_HATCHET_*`).
const SCRIPT_VARIABLES: [&str; 3] = ["BULKOPS_ROOT", "BULKOPS_CACHE", "BULKOPS_BIN"];
const SCRIPT_PREFIX: &str = "BULKOPS_HATCHET_";
const ENV_PREFIX: &str = "BULKOPS_";

/// Slices are sized to about this many runs; more would overflow the slicing arithmetic long
/// before it helped.
const MAX_SLICE_TARGET: usize = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {}: check --config FILE and the BULKOPS_* variables", one_line(.0))]
    Load(#[from] config::ConfigError),
    #[error("unknown setting '{key}' in {place}: {hint}")]
    UnknownKey {
        key: String,
        place: String,
        hint: String,
    },
    #[error("{0} is not valid UTF-8: fix or unset it")]
    NotUnicode(String),
    #[error("the state path is empty: pass --state PATH or set BULKOPS_STATE to a file, e.g. ./bulkops-state.db")]
    EmptyState,
    #[error("the reports directory is empty: pass --reports-dir DIR or set BULKOPS_REPORTS_DIR to a directory, or leave it unset")]
    EmptyReportsDir,
    #[error("configuration: {key} = '{value}' is not a duration: use e.g. 30s or 2m")]
    Duration { key: &'static str, value: String },
    #[error("configuration: {key} = '{value}' is longer than 100 years: use e.g. 30s or 2m")]
    DurationTooLong { key: &'static str, value: String },
    #[error("configuration: {key} must be above 0s: use e.g. 30s")]
    ZeroDuration { key: &'static str },
    #[error("configuration: slice_target {0} is out of range: use 1 to {max}", max = MAX_SLICE_TARGET)]
    SliceTarget(usize),
    #[error(transparent)]
    Invalid(#[from] SpecError),
    #[error("the metrics address '{0}' (--metrics-addr, BULKOPS_METRICS_ADDR or metrics_addr) is no IP:PORT to listen on: use e.g. 127.0.0.1:9090 (port 0: any free port)")]
    MetricsAddr(String),
    #[error("the API token is empty: set BULKOPS_API_TOKEN to a secret (e.g. `openssl rand -hex 32`) or leave it unset")]
    EmptyApiToken,
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

/// A foreign error's text on one line (the TOML parser draws the offending line over several).
fn one_line(error: &config::ConfigError) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
    Auto,
}

impl LogFormat {
    fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
            LogFormat::Auto => "auto",
        }
    }
}

#[derive(Debug, Deserialize)]
struct Raw {
    rate: f64,
    concurrency: usize,
    chunk_size: Option<usize>,
    /// Unset: one place per user and machine (`default_state`).
    state: Option<PathBuf>,
    /// Unset: the state location's default (`Location::default_reports_dir`).
    reports_dir: Option<PathBuf>,
    request_timeout: String,
    max_retries: usize,
    log_format: String,
    verify_timeout: String,
    verify_poll: String,
    slice_target: usize,
    replay_interval: String,
    /// Unset: no metrics are served.
    metrics_addr: Option<String>,
    api_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub rate: f64,
    pub concurrency: usize,
    /// `None` when nothing sets it: each operation then uses its own default.
    pub chunk_size: Option<usize>,
    pub state: Location,
    /// Where finished jobs' reports (and an undo's list of cancelled ids, for a database) go.
    pub reports_dir: PathBuf,
    pub request_timeout: Duration,
    pub max_retries: usize,
    pub log_format: LogFormat,
    pub verify_timeout: Duration,
    pub verify_poll: Duration,
    pub slice_target: usize,
    pub replay_interval: Duration,
    /// Where a job's `GET /metrics` is served while it runs, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    /// The bearer token clients of `bulkops serve` send; unset, only a loopback address is
    /// served.
    pub api_token: Option<ApiToken>,
}

/// A secret that `Debug` never shows, so that no log of the settings carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// The token itself, for the one comparison that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(****)")
    }
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub chunk_size: Option<usize>,
    pub state: Option<PathBuf>,
    pub reports_dir: Option<PathBuf>,
    pub log_format: Option<String>,
    pub verify_timeout: Option<String>,
    pub request_timeout: Option<String>,
    pub metrics_addr: Option<String>,
}

impl Overrides {
    /// The settings the command line sets.
    fn keys(&self) -> Vec<&'static str> {
        [
            ("rate", self.rate.is_some()),
            ("concurrency", self.concurrency.is_some()),
            ("chunk_size", self.chunk_size.is_some()),
            ("state", self.state.is_some()),
            ("reports_dir", self.reports_dir.is_some()),
            ("log_format", self.log_format.is_some()),
            ("verify_timeout", self.verify_timeout.is_some()),
            ("request_timeout", self.request_timeout.is_some()),
            ("metrics_addr", self.metrics_addr.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect()
    }
}

/// A non-negative duration of at most 100 years (so no deadline computed from it overflows).
fn duration(key: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let not_a_duration = || ConfigError::Duration {
        key,
        value: value.to_string(),
    };
    match crate::job::parse_duration(value) {
        Ok(d) => d.to_std().map_err(|_| not_a_duration()),
        Err(DurationError::TooLong) => Err(ConfigError::DurationTooLong {
            key,
            value: value.to_string(),
        }),
        Err(DurationError::Malformed) => Err(not_a_duration()),
    }
}

/// Levenshtein distance, for suggesting the setting a misspelt key meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Refuses `key` unless it is a setting, with the nearest setting as the fix; `spell` writes
/// a setting the way `place` names it.
fn check_key(key: &str, place: &str, spell: impl Fn(&str) -> String) -> Result<(), ConfigError> {
    let plain = key.to_ascii_lowercase();
    let plain = plain.strip_prefix("bulkops_").unwrap_or(&plain);
    if KEYS.contains(&plain) && spell(plain) == key {
        return Ok(());
    }
    let nearest = KEYS
        .iter()
        .map(|k| (edit_distance(plain, k), *k))
        .min()
        .filter(|(distance, k)| *distance <= 2 && *distance < k.len());
    let hint = match nearest {
        Some((_, k)) => format!("did you mean '{}'?", spell(k)),
        None => {
            let all: Vec<String> = KEYS.iter().map(|k| spell(k)).collect();
            format!("the settings are {}", all.join(", "))
        }
    };
    Err(ConfigError::UnknownKey {
        key: key.to_string(),
        place: place.to_string(),
        hint,
    })
}

fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The `BULKOPS_*` settings among `env`, keyed as `Environment` expects; any other `BULKOPS_*`
/// variable is refused, except the scripts' own.
fn settings_in_env(
    env: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<config::Map<String, String>, ConfigError> {
    let mut settings = config::Map::new();
    for (name, value) in env {
        // Every setting's name is ASCII: a name that is not UTF-8 is none of ours.
        let Some(name) = name.to_str() else { continue };
        let upper = name.to_ascii_uppercase();
        if !upper.starts_with(ENV_PREFIX)
            || SCRIPT_VARIABLES.contains(&upper.as_str())
            || upper.starts_with(SCRIPT_PREFIX)
        {
            continue;
        }
        check_key(name, "the environment", env_name)?;
        let value = value
            .into_string()
            .map_err(|_| ConfigError::NotUnicode(name.to_string()))?;
        settings.insert(name.to_string(), value);
    }
    Ok(settings)
}

/// The layers merged, and which settings the file and the environment set (for `config show`).
struct Layered {
    raw: Raw,
    in_file: Vec<String>,
    in_env: Vec<String>,
}

fn layered(
    file: Option<&Path>,
    flags: &Overrides,
    env: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Layered, ConfigError> {
    let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
    let mut in_file = Vec::new();
    if let Some(file) = file {
        let source = File::from(file.to_path_buf()).required(true);
        let place = file.display().to_string();
        for key in source.collect()?.keys() {
            check_key(key, &place, str::to_string)?;
            in_file.push(key.clone());
        }
        builder = builder.add_source(source);
    }
    let env = settings_in_env(env)?;
    let in_env = env
        .keys()
        .map(|name| name[ENV_PREFIX.len()..].to_ascii_lowercase())
        .collect();
    builder = builder
        .add_source(
            Environment::with_prefix("BULKOPS")
                .try_parsing(true)
                .source(Some(env)),
        )
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
        .set_override_option(
            "reports_dir",
            flags
                .reports_dir
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        )?
        .set_override_option("log_format", flags.log_format.clone())?
        .set_override_option("verify_timeout", flags.verify_timeout.clone())?
        .set_override_option("request_timeout", flags.request_timeout.clone())?
        .set_override_option("metrics_addr", flags.metrics_addr.clone())?;
    Ok(Layered {
        raw: builder.build()?.try_deserialize()?,
        in_file,
        in_env,
    })
}

impl Settings {
    /// Loads the layers; `env` is the process environment (`std::env::vars_os()`).
    pub fn load(
        file: Option<&Path>,
        flags: &Overrides,
        env: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<Self, ConfigError> {
        Settings::validate(layered(file, flags, env)?.raw)
    }

    fn validate(raw: Raw) -> Result<Self, ConfigError> {
        let chunk_size = raw.chunk_size.map(check_chunk_size).transpose()?;
        let rate = check_rate(raw.rate)?;
        let concurrency = check_concurrency(raw.concurrency)?;
        if raw.state.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return Err(ConfigError::EmptyState);
        }
        if raw
            .reports_dir
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return Err(ConfigError::EmptyReportsDir);
        }
        if !(1..=MAX_SLICE_TARGET).contains(&raw.slice_target) {
            return Err(ConfigError::SliceTarget(raw.slice_target));
        }
        let log_format = match raw.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            "auto" => LogFormat::Auto,
            other => return Err(ConfigError::LogFormat(other.to_string())),
        };
        let request_timeout = duration("request_timeout", &raw.request_timeout)?;
        if request_timeout.is_zero() {
            return Err(ConfigError::ZeroDuration {
                key: "request_timeout",
            });
        }
        let metrics_addr = raw
            .metrics_addr
            .map(|addr| {
                addr.trim()
                    .parse::<SocketAddr>()
                    .map_err(|_| ConfigError::MetricsAddr(addr))
            })
            .transpose()?;
        let api_token = match raw.api_token {
            Some(token) if token.is_empty() => return Err(ConfigError::EmptyApiToken),
            token => token.map(ApiToken),
        };
        let state = Location::parse(match raw.state {
            Some(path) => path,
            None => default_state()?,
        });
        Ok(Settings {
            rate,
            concurrency,
            chunk_size,
            reports_dir: raw
                .reports_dir
                .unwrap_or_else(|| state.default_reports_dir()),
            state,
            request_timeout,
            max_retries: raw.max_retries,
            log_format,
            verify_timeout: duration("verify_timeout", &raw.verify_timeout)?,
            verify_poll: duration("verify_poll", &raw.verify_poll)?,
            slice_target: raw.slice_target,
            replay_interval: duration("replay_interval", &raw.replay_interval)?,
            metrics_addr,
            api_token,
        })
    }
}

/// Where a setting's value came from: the highest layer that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Default,
    File,
    Env,
    Flag,
}

/// How `config show` shows a connection variable.
#[derive(Clone, Copy)]
enum Shows {
    /// As given (a URL's password masked).
    Value,
    /// Never: masked.
    Secret,
    /// PEM text, many lines long: by its size.
    PemText,
}

/// The variables the commands read besides the settings, named as the Hatchet SDKs name them.
/// (The Handinger backend's `HANDINGER_API_KEY` belongs here, as a secret, once a command uses
/// that backend.)
const CONNECTION: [(&str, Shows); 13] = [
    ("HATCHET_CLIENT_TOKEN", Shows::Secret),
    ("HATCHET_CLIENT_SERVER_URL", Shows::Value),
    ("HATCHET_CLIENT_TENANT_ID", Shows::Value),
    ("HATCHET_CLIENT_NAMESPACE", Shows::Value),
    ("HATCHET_CLIENT_TLS_STRATEGY", Shows::Value),
    ("HATCHET_CLIENT_TLS_ROOT_CA_FILE", Shows::Value),
    ("HATCHET_CLIENT_TLS_ROOT_CA", Shows::PemText),
    ("HATCHET_CLIENT_TLS_CERT_FILE", Shows::Value),
    ("HATCHET_CLIENT_TLS_CERT", Shows::PemText),
    ("HATCHET_CLIENT_TLS_KEY_FILE", Shows::Value),
    ("HATCHET_CLIENT_TLS_KEY", Shows::Secret),
    ("HATCHET_CLIENT_TLS_SERVER_NAME", Shows::Value),
    ("HATCHET_CLIENT_TLS_MIN_VERSION", Shows::Value),
];
const MASK: &str = "****";

/// One value of `config show`.
#[derive(Debug, Serialize)]
pub struct Shown {
    pub name: &'static str,
    /// `None`: unset (a connection variable, `metrics_addr`, the API token), or left to each
    /// operation (`chunk_size`).
    pub value: Option<Value>,
    /// `None`: an unset connection variable.
    pub source: Option<Source>,
}

/// The effective configuration, each value with its source, secrets masked: `config show`.
#[derive(Debug, Serialize)]
pub struct Effective {
    pub file: Option<PathBuf>,
    pub settings: Vec<Shown>,
    pub connection: Vec<Shown>,
}

/// `text` with the password of a URL in it masked (a PostgreSQL state URL, a server URL with
/// credentials), in the userinfo and in a `password` query parameter.
fn masked_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return text.to_string();
    };
    let in_query = |key: &str| key.contains("password");
    let query_password = url.query_pairs().any(|(key, _)| in_query(&key));
    if url.password().is_none() && !query_password {
        return text.to_string();
    }
    if url.password().is_some() && url.set_password(Some(MASK)).is_err() {
        return MASK.to_string();
    }
    if query_password {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if in_query(&key) {
                    MASK.to_string()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

impl Effective {
    /// The settings as `Settings::load` resolves them, validated the same way, and the
    /// connection variables among `env`.
    pub fn load(
        file: Option<&Path>,
        flags: &Overrides,
        env: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<Self, ConfigError> {
        let env: Vec<(OsString, OsString)> = env.into_iter().collect();
        let layered = layered(file, flags, env.iter().cloned())?;
        let in_flags = flags.keys();
        let s = Settings::validate(layered.raw)?;
        let source = |key: &str| {
            let set = |keys: &[String]| keys.iter().any(|k| k == key);
            if in_flags.contains(&key) {
                Source::Flag
            } else if set(&layered.in_env) {
                Source::Env
            } else if set(&layered.in_file) {
                Source::File
            } else {
                Source::Default
            }
        };
        let time = |d: Duration| json!(humantime::format_duration(d).to_string());
        let values: [(&'static str, Option<Value>); KEYS.len()] = [
            ("rate", Some(json!(s.rate))),
            ("concurrency", Some(json!(s.concurrency))),
            ("chunk_size", s.chunk_size.map(|n| json!(n))),
            ("state", Some(json!(masked_url(&s.state.as_given())))),
            ("reports_dir", Some(json!(s.reports_dir.to_string_lossy()))),
            ("request_timeout", Some(time(s.request_timeout))),
            ("max_retries", Some(json!(s.max_retries))),
            ("log_format", Some(json!(s.log_format.as_str()))),
            ("verify_timeout", Some(time(s.verify_timeout))),
            ("verify_poll", Some(time(s.verify_poll))),
            ("slice_target", Some(json!(s.slice_target))),
            ("replay_interval", Some(time(s.replay_interval))),
            ("metrics_addr", s.metrics_addr.map(|a| json!(a.to_string()))),
            ("api_token", s.api_token.as_ref().map(|_| json!(MASK))),
        ];
        let settings = values
            .into_iter()
            .map(|(name, value)| Shown {
                name,
                value,
                source: Some(source(name)),
            })
            .collect();
        let connection = CONNECTION
            .iter()
            .map(|&(name, shows)| {
                let value = env
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.to_string_lossy());
                Shown {
                    name,
                    source: value.is_some().then_some(Source::Env),
                    value: value.map(|v| match shows {
                        _ if v.is_empty() => json!(""),
                        Shows::Secret => json!(MASK),
                        Shows::PemText => json!(format!("(PEM text, {} bytes)", v.len())),
                        Shows::Value => json!(masked_url(&v)),
                    }),
                }
            })
            .collect();
        Ok(Effective {
            file: file.map(Path::to_path_buf),
            settings,
            connection,
        })
    }
}

impl std::fmt::Display for Effective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self
            .connection
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0);
        let file = self
            .file
            .as_ref()
            .map_or("no --config file".to_string(), |p| {
                format!("file {}", p.display())
            });
        writeln!(
            f,
            "settings (lowest first: default < {file} < env BULKOPS_* < flag):"
        )?;
        for shown in &self.settings {
            let value = match &shown.value {
                Some(Value::String(text)) => text.clone(),
                Some(value) => value.to_string(),
                None if shown.name == "metrics_addr" => "(not served)".to_string(),
                None if shown.name == "chunk_size" => "(each operation's own)".to_string(),
                None => "(unset)".to_string(),
            };
            let source = shown.source.map_or("", |s| match s {
                Source::Default => "default",
                Source::File => "file",
                Source::Env => "env",
                Source::Flag => "flag",
            });
            writeln!(f, "  {:width$}  {value:24}  {source}", shown.name)?;
        }
        write!(f, "connection (from the environment):")?;
        for shown in &self.connection {
            match &shown.value {
                Some(Value::String(text)) => {
                    write!(f, "\n  {:width$}  {text:24}  env", shown.name)?
                }
                _ => write!(f, "\n  {:width$}  (unset)", shown.name)?,
            }
        }
        Ok(())
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

    fn no_env() -> Vec<(OsString, OsString)> {
        Vec::new()
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    fn config_file(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let file = dir.path().join("c.toml");
        std::fs::write(&file, text).unwrap();
        file
    }

    #[test]
    fn flags_beat_environment_beats_files_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(&dir, "rate = 7.0\nconcurrency = 9\nmax_retries = 2\n");
        let s = Settings::load(
            Some(&file),
            &Overrides {
                concurrency: Some(2),
                ..Overrides::default()
            },
            env(&[
                ("BULKOPS_MAX_RETRIES", "3"),
                ("BULKOPS_VERIFY_POLL", "200ms"),
            ]),
        )
        .unwrap();
        assert_eq!(s.rate, 7.0);
        assert_eq!(s.concurrency, 2);
        assert_eq!(s.max_retries, 3);
        assert_eq!(s.verify_poll, Duration::from_millis(200));
        assert_eq!(s.chunk_size, None, "left to each operation");
        assert_eq!(s.replay_interval, Duration::from_millis(200));
    }

    #[test]
    fn refuses_out_of_range_values() {
        let bad = |o: Overrides| Settings::load(None, &o, no_env()).unwrap_err().to_string();
        let flags = |f: fn(&mut Overrides)| {
            let mut o = Overrides::default();
            f(&mut o);
            o
        };
        assert!(bad(flags(|o| o.chunk_size = Some(0))).contains("1 to 1000"));
        assert!(bad(flags(|o| o.chunk_size = Some(1001))).contains("1 to 1000"));
        for rate in [0.0, 1e-300, 0.001, 1e9, f64::NAN] {
            let refused = bad(Overrides {
                rate: Some(rate),
                ..Overrides::default()
            });
            assert!(refused.contains("0.01 to 1000000"), "{rate}: {refused}");
        }
        assert!(bad(flags(|o| o.concurrency = Some(100_000_000))).contains("1 to 64"));
        assert!(bad(flags(|o| o.state = Some(PathBuf::new()))).contains("--state"));
        let zero = bad(flags(|o| o.request_timeout = Some("0s".into())));
        assert!(zero.contains("request_timeout must be above 0s"), "{zero}");
        let long = bad(flags(|o| o.verify_timeout = Some("99999999d".into())));
        assert!(long.contains("longer than 100 years"), "{long}");
    }

    #[test]
    fn unknown_keys_are_refused_with_the_nearest_setting() {
        let dir = tempfile::tempdir().unwrap();
        let load_file = |text: &str| {
            let file = config_file(&dir, text);
            Settings::load(Some(&file), &Overrides::default(), no_env())
                .unwrap_err()
                .to_string()
        };
        let place = dir.path().join("c.toml").display().to_string();
        assert_eq!(
            load_file("rat = 0.01\n"),
            format!("unknown setting 'rat' in {place}: did you mean 'rate'?")
        );
        assert!(load_file("[limits]\nrate = 1.0\n").contains("the settings are rate, "));
        let load_env = |name: &str| {
            Settings::load(None, &Overrides::default(), env(&[(name, "1")]))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            load_env("BULKOPS_RATEE"),
            "unknown setting 'BULKOPS_RATEE' in the environment: did you mean 'BULKOPS_RATE'?"
        );
        assert!(load_env("BULKOPS_VERIFY_TIMOUT").contains("'BULKOPS_VERIFY_TIMEOUT'"));
        assert!(load_env("BULKOPS_WHATEVER").contains("BULKOPS_SLICE_TARGET"));
    }

    #[test]
    fn the_scripts_own_variables_are_not_settings_but_allowed() {
        let scripts = env(&[
            ("BULKOPS_ROOT", "/src/bulkops"),
            ("BULKOPS_CACHE", "/root/.cache/bulkops"),
            ("BULKOPS_BIN", "/x/bulkops"),
            ("BULKOPS_HATCHET_API_PORT", "8080"),
            ("HOME", "/root"),
        ]);
        let s = Settings::load(None, &Overrides::default(), scripts).unwrap();
        assert_eq!(s.rate, 50.0);
    }

    fn shown<'a>(shown: &'a [Shown], name: &str) -> (&'a Option<Value>, Option<Source>) {
        let found = shown.iter().find(|s| s.name == name).expect(name);
        (&found.value, found.source)
    }

    #[test]
    fn config_show_names_the_layer_of_each_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(&dir, "rate = 7.0\nconcurrency = 9\nverify_poll = \"3s\"\n");
        let flags = Overrides {
            concurrency: Some(2),
            log_format: Some("json".into()),
            ..Overrides::default()
        };
        let env = env(&[
            ("BULKOPS_MAX_RETRIES", "3"),
            ("BULKOPS_VERIFY_POLL", "200ms"),
            ("HATCHET_CLIENT_NAMESPACE", "staging"),
        ]);
        let effective = Effective::load(Some(&file), &flags, env).unwrap();
        let names: Vec<&str> = effective.settings.iter().map(|s| s.name).collect();
        assert_eq!(names, KEYS, "every setting, in the order of KEYS");
        let settings = &effective.settings;
        assert_eq!(
            shown(settings, "rate"),
            (&Some(json!(7.0)), Some(Source::File))
        );
        assert_eq!(
            shown(settings, "concurrency"),
            (&Some(json!(2)), Some(Source::Flag))
        );
        assert_eq!(
            shown(settings, "max_retries"),
            (&Some(json!(3)), Some(Source::Env))
        );
        assert_eq!(
            shown(settings, "verify_poll"),
            (&Some(json!("200ms")), Some(Source::Env))
        );
        assert_eq!(
            shown(settings, "log_format"),
            (&Some(json!("json")), Some(Source::Flag))
        );
        assert_eq!(
            shown(settings, "verify_timeout"),
            (&Some(json!("2m")), Some(Source::Default))
        );
        assert_eq!(
            shown(settings, "chunk_size"),
            (&None, Some(Source::Default))
        );
        let connection = &effective.connection;
        assert_eq!(
            shown(connection, "HATCHET_CLIENT_NAMESPACE"),
            (&Some(json!("staging")), Some(Source::Env))
        );
        assert_eq!(shown(connection, "HATCHET_CLIENT_TOKEN"), (&None, None));
        let text = effective.to_string();
        assert!(text.contains(&format!("file {}", file.display())), "{text}");
        let rate_line = text
            .lines()
            .find(|l| l.trim_start().starts_with("rate "))
            .unwrap();
        assert!(
            rate_line.contains("7.0") && rate_line.ends_with("file"),
            "{rate_line}"
        );
    }

    #[test]
    fn config_show_masks_every_secret() {
        let secrets = [
            "tok3n.s3cret.sig",
            "pgpa55",
            "qpa55",
            "srvpa55",
            "ap1-t0ken",
            "k3ym4t3r1al",
        ];
        let env = env(&[
            ("HATCHET_CLIENT_TOKEN", secrets[0]),
            ("BULKOPS_API_TOKEN", secrets[4]),
            (
                "BULKOPS_STATE",
                "postgres://bulkops:pgpa55@db:5432/bulkops?password=qpa55&sslmode=require",
            ),
            (
                "HATCHET_CLIENT_SERVER_URL",
                "https://ops:srvpa55@hatchet.example",
            ),
            ("HATCHET_CLIENT_TLS_SERVER_NAME", "hatchet.internal"),
            (
                "HATCHET_CLIENT_TLS_KEY",
                "-----BEGIN PRIVATE KEY-----\nk3ym4t3r1al\n",
            ),
            (
                "HATCHET_CLIENT_TLS_ROOT_CA",
                "-----BEGIN CERTIFICATE-----\nMIIB\n",
            ),
        ]);
        let effective = Effective::load(None, &Overrides::default(), env).unwrap();
        let connection = &effective.connection;
        assert_eq!(
            shown(connection, "HATCHET_CLIENT_TOKEN").0,
            &Some(json!(MASK))
        );
        assert_eq!(
            shown(connection, "HATCHET_CLIENT_TLS_SERVER_NAME").0,
            &Some(json!("hatchet.internal")),
            "what is no secret is shown as given"
        );
        assert_eq!(
            shown(connection, "HATCHET_CLIENT_TLS_ROOT_CA").0,
            &Some(json!("(PEM text, 33 bytes)")),
            "PEM text by its size: one line a variable"
        );
        assert_eq!(
            shown(&effective.settings, "api_token"),
            (&Some(json!(MASK)), Some(Source::Env))
        );
        assert_eq!(
            shown(&effective.settings, "state").0,
            &Some(json!(
                "postgres://bulkops:****@db:5432/bulkops?password=****&sslmode=require"
            ))
        );
        for shown in [effective.to_string(), json!(effective).to_string()] {
            for secret in secrets {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
    }

    #[test]
    fn config_show_refuses_what_every_command_refuses() {
        let refused = Effective::load(None, &Overrides::default(), env(&[("BULKOPS_RATEE", "1")]))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("did you mean 'BULKOPS_RATE'?"),
            "{refused}"
        );
    }

    #[test]
    fn an_empty_state_path_is_refused_from_the_environment_too() {
        let refused = Settings::load(None, &Overrides::default(), env(&[("BULKOPS_STATE", "")]))
            .unwrap_err()
            .to_string();
        assert!(refused.contains("state path is empty"), "{refused}");
    }

    #[test]
    fn the_reports_directory_follows_the_state_unless_set_and_an_empty_one_is_refused() {
        let file = Overrides {
            state: Some("/var/lib/b/state.db".into()),
            ..Overrides::default()
        };
        let settings = Settings::load(None, &file, no_env()).unwrap();
        assert_eq!(
            settings.reports_dir,
            PathBuf::from("/var/lib/b/state-reports")
        );
        let database = Overrides {
            state: Some("postgres://u:p@h/db".into()),
            ..Overrides::default()
        };
        let settings = Settings::load(None, &database, no_env()).unwrap();
        assert!(matches!(settings.state, Location::Postgres(_)));
        assert_eq!(settings.reports_dir, PathBuf::from("bulkops-reports"));
        let set = Settings::load(None, &database, env(&[("BULKOPS_REPORTS_DIR", "/r")])).unwrap();
        assert_eq!(set.reports_dir, PathBuf::from("/r"));
        let refused = Settings::load(None, &file, env(&[("BULKOPS_REPORTS_DIR", "")]))
            .unwrap_err()
            .to_string();
        assert!(refused.contains("--reports-dir"), "{refused}");
    }

    #[test]
    fn a_malformed_file_is_reported_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(&dir, "rate = = 1\n[[\n");
        let refused = Settings::load(Some(&file), &Overrides::default(), no_env())
            .unwrap_err()
            .to_string();
        assert!(!refused.contains('\n'), "{refused}");
        assert!(refused.contains("line 1"), "{refused}");
    }

    mod never_panic {
        use proptest::prelude::*;

        use super::*;

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "-?[0-9]{1,25}(\\.[0-9]{1,5})?(e-?[0-9]{1,3})?",
                "[0-9]{1,25}(ms|s|m|h|d|y)",
                "(true|false|text|json|auto|NaN|inf)",
            ]
        }

        fn flag() -> impl Strategy<Value = Option<String>> {
            prop::option::of(value())
        }

        proptest! {
            #[test]
            fn any_environment_loads_or_fails(
                vars in prop::collection::vec((0..KEYS.len() + 1, value()), 0..5),
            ) {
                let env: Vec<(OsString, OsString)> = vars
                    .into_iter()
                    .map(|(key, value)| {
                        let name = KEYS.get(key).map_or("BULKOPS_X".to_string(), |k| env_name(k));
                        (name.into(), value.into())
                    })
                    .collect();
                let _ = Settings::load(None, &Overrides::default(), env);
            }

            #[test]
            fn any_flags_load_or_fail(
                rate in any::<f64>(),
                concurrency in any::<usize>(),
                chunk_size in any::<usize>(),
                timeouts in (flag(), flag(), flag()),
                metrics_addr in flag(),
            ) {
                let flags = Overrides {
                    rate: Some(rate),
                    concurrency: Some(concurrency),
                    chunk_size: Some(chunk_size),
                    state: None,
                    reports_dir: None,
                    log_format: timeouts.0,
                    verify_timeout: timeouts.1,
                    request_timeout: timeouts.2,
                    metrics_addr,
                };
                let _ = Settings::load(None, &flags, no_env());
            }

            #[test]
            fn any_file_loads_or_fails(lines in prop::collection::vec((0..KEYS.len() + 1, value()), 0..4)) {
                let dir = tempfile::tempdir().unwrap();
                let text: String = lines
                    .into_iter()
                    .map(|(key, value)| {
                        let key = KEYS.get(key).copied().unwrap_or("extra");
                        format!("{key} = {}\n", toml_value(&value))
                    })
                    .collect();
                let file = config_file(&dir, &text);
                let _ = Settings::load(Some(&file), &Overrides::default(), no_env());
            }
        }

        /// The value as TOML writes it: a number or boolean as is, anything else quoted.
        fn toml_value(value: &str) -> String {
            if value.parse::<f64>().is_ok() || value == "true" || value == "false" {
                value.to_string()
            } else {
                serde_json::Value::from(value).to_string()
            }
        }
    }
}
