use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::SpecError;

/// A point in time as the user wrote it: relative times stay unresolved in the job identity
/// and are resolved once, at job creation, into the frozen `Window`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSpec {
    /// This long before the job's creation (`24h`, `7d`).
    Ago(String),
    /// This long after the job's creation (`+2h`: trigger times lie ahead).
    Ahead(String),
    At(DateTime<Utc>),
}

impl TimeSpec {
    pub fn parse(flag: &'static str, value: &str) -> Result<Self, SpecError> {
        if let Ok(at) = parse_time(value) {
            return Ok(TimeSpec::At(at));
        }
        parse_duration(value)
            .filter(|d| *d >= Duration::zero())
            .map(|_| TimeSpec::Ago(value.trim().to_string()))
            .ok_or_else(|| SpecError::BadTime {
                flag,
                value: value.to_string(),
            })
    }

    /// A trigger time (`--trigger-after`, `--trigger-before`): RFC 3339, or a duration signed
    /// with its direction, `+2h` ahead or `-1d` ago. A scheduled run's trigger may lie either
    /// way, so a bare `2h` is refused rather than guessed.
    pub fn parse_trigger(flag: &'static str, value: &str) -> Result<Self, SpecError> {
        if let Ok(at) = parse_time(value) {
            return Ok(TimeSpec::At(at));
        }
        let bad = || SpecError::BadTriggerTime {
            flag,
            value: value.to_string(),
        };
        let value = value.trim();
        parse_duration(value).ok_or_else(bad)?;
        if let Some(ahead) = value.strip_prefix('+') {
            Ok(TimeSpec::Ahead(ahead.to_string()))
        } else if let Some(ago) = value.strip_prefix('-') {
            Ok(TimeSpec::Ago(ago.to_string()))
        } else {
            Err(bad())
        }
    }

    pub fn resolve(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        // Durations were validated at parse time; an unparsable one cannot reach here.
        let duration = |text: &str| parse_duration(text).unwrap_or_else(Duration::zero);
        match self {
            TimeSpec::At(at) => *at,
            TimeSpec::Ago(text) => now - duration(text),
            TimeSpec::Ahead(text) => now + duration(text),
        }
    }
}

/// Parses RFC 3339, normalised to UTC.
pub fn parse_time(value: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(value.trim()).map(|t| t.with_timezone(&Utc))
}

/// Parses `90s`, `30m`, `24h`, `7d`, `1h30m`, with an optional leading `-`.
pub fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let (negative, body) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    let std = humantime::parse_duration(body).ok()?;
    let d = Duration::from_std(std).ok()?;
    Some(if negative { -d } else { d })
}

/// The time window of a job, frozen at creation: selection covers `(since, until]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times_parse() {
        assert_eq!(parse_duration("24h"), Some(Duration::hours(24)));
        assert_eq!(parse_duration("7d"), Some(Duration::days(7)));
        assert_eq!(parse_duration("-30m"), Some(Duration::minutes(-30)));
        assert_eq!(parse_duration("soon"), None);
        let at = TimeSpec::parse("since", "2026-01-02T03:04:05+02:00").unwrap();
        assert_eq!(
            at,
            TimeSpec::At(parse_time("2026-01-02T01:04:05Z").unwrap())
        );
        let now = parse_time("2026-01-10T00:00:00Z").unwrap();
        assert_eq!(
            TimeSpec::parse("since", "2d").unwrap().resolve(now),
            parse_time("2026-01-08T00:00:00Z").unwrap()
        );
        assert!(TimeSpec::parse("since", "yesterday").is_err());
        assert!(TimeSpec::parse("since", "-2d").is_err());
    }

    #[test]
    fn trigger_times_say_their_direction() {
        let now = parse_time("2026-01-10T00:00:00Z").unwrap();
        let trigger = |v: &str| TimeSpec::parse_trigger("trigger-before", v);
        assert_eq!(
            trigger("+90m").unwrap().resolve(now),
            parse_time("2026-01-10T01:30:00Z").unwrap()
        );
        assert_eq!(
            trigger("-1d").unwrap().resolve(now),
            parse_time("2026-01-09T00:00:00Z").unwrap()
        );
        assert_eq!(
            trigger("2026-02-01T00:00:00Z").unwrap(),
            TimeSpec::At(parse_time("2026-02-01T00:00:00Z").unwrap())
        );
        for ambiguous in ["2h", "soon", "+soon"] {
            let error = trigger(ambiguous).unwrap_err().to_string();
            assert!(error.contains("+2h") && error.contains("-1d"), "{error}");
        }
    }
}
