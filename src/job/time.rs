use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::SpecError;

/// The longest duration taken from the user, in days (100 years): longer than any real
/// selection or shift, and short enough that adding it to any time of this era stays inside
/// chrono's range.
pub const MAX_DURATION_DAYS: i64 = 36_525;

/// Why a text is not an accepted duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("not a duration")]
    Malformed,
    #[error("longer than 100 years")]
    TooLong,
}

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
        match parse_duration(value) {
            Ok(d) if d >= Duration::zero() => Ok(TimeSpec::Ago(value.trim().to_string())),
            Err(DurationError::TooLong) => Err(SpecError::DurationTooLong {
                flag,
                value: value.to_string(),
            }),
            _ => Err(SpecError::BadTime {
                flag,
                value: value.to_string(),
            }),
        }
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
        let trimmed = value.trim();
        match parse_duration(trimmed) {
            Ok(_) => {}
            Err(DurationError::TooLong) => {
                return Err(SpecError::DurationTooLong {
                    flag,
                    value: value.to_string(),
                })
            }
            Err(DurationError::Malformed) => return Err(bad()),
        }
        if let Some(ahead) = trimmed.strip_prefix('+') {
            Ok(TimeSpec::Ahead(ahead.to_string()))
        } else if let Some(ago) = trimmed.strip_prefix('-') {
            Ok(TimeSpec::Ago(ago.to_string()))
        } else {
            Err(bad())
        }
    }

    /// The time this stands for when the job is created at `now`. Fails (rather than
    /// overflowing) when the result lies outside chrono's range, or when a stored duration is
    /// not one this version accepts.
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, SpecError> {
        let out_of_range = |text: String| SpecError::TimeOutOfRange(text);
        match self {
            TimeSpec::At(at) => Ok(*at),
            TimeSpec::Ago(text) => parse_duration(text)
                .ok()
                .and_then(|d| now.checked_sub_signed(d))
                .ok_or_else(|| out_of_range(text.clone())),
            TimeSpec::Ahead(text) => parse_duration(text)
                .ok()
                .and_then(|d| now.checked_add_signed(d))
                .ok_or_else(|| out_of_range(format!("+{text}"))),
        }
    }
}

/// Parses RFC 3339, normalised to UTC.
pub fn parse_time(value: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(value.trim()).map(|t| t.with_timezone(&Utc))
}

/// Parses `90s`, `30m`, `24h`, `7d`, `1h30m`, with an optional leading `-` or `+`, up to
/// `MAX_DURATION_DAYS` either way.
pub fn parse_duration(value: &str) -> Result<Duration, DurationError> {
    let value = value.trim();
    let (negative, body) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    let std = humantime::parse_duration(body).map_err(|e| match e {
        humantime::DurationError::NumberOverflow => DurationError::TooLong,
        _ => DurationError::Malformed,
    })?;
    let d = Duration::from_std(std).map_err(|_| DurationError::TooLong)?;
    if d > Duration::days(MAX_DURATION_DAYS) {
        return Err(DurationError::TooLong);
    }
    Ok(if negative { -d } else { d })
}

/// Parses `--shift`: a signed, non-zero duration.
pub fn parse_shift(value: &str) -> Result<Duration, SpecError> {
    match parse_duration(value) {
        Ok(d) if d.is_zero() => Err(SpecError::ZeroShift(value.to_string())),
        Ok(d) => Ok(d),
        Err(DurationError::TooLong) => Err(SpecError::DurationTooLong {
            flag: "shift",
            value: value.to_string(),
        }),
        Err(DurationError::Malformed) => Err(SpecError::BadShift(value.to_string())),
    }
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
        assert_eq!(parse_duration("24h"), Ok(Duration::hours(24)));
        assert_eq!(parse_duration("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_duration("-30m"), Ok(Duration::minutes(-30)));
        assert_eq!(parse_duration("soon"), Err(DurationError::Malformed));
        let at = TimeSpec::parse("since", "2026-01-02T03:04:05+02:00").unwrap();
        assert_eq!(
            at,
            TimeSpec::At(parse_time("2026-01-02T01:04:05Z").unwrap())
        );
        let now = parse_time("2026-01-10T00:00:00Z").unwrap();
        assert_eq!(
            TimeSpec::parse("since", "2d").unwrap().resolve(now),
            Ok(parse_time("2026-01-08T00:00:00Z").unwrap())
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
            Ok(parse_time("2026-01-10T01:30:00Z").unwrap())
        );
        assert_eq!(
            trigger("-1d").unwrap().resolve(now),
            Ok(parse_time("2026-01-09T00:00:00Z").unwrap())
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

    #[test]
    fn durations_over_100_years_are_refused_by_name() {
        assert_eq!(parse_duration("36525d"), Ok(Duration::days(36_525)));
        assert_eq!(parse_duration("36526d"), Err(DurationError::TooLong));
        assert_eq!(parse_duration("-99999999d"), Err(DurationError::TooLong));
        assert_eq!(
            parse_duration("99999999999999999999999d"),
            Err(DurationError::TooLong)
        );
        assert_eq!(
            TimeSpec::parse("since", "99999999d"),
            Err(SpecError::DurationTooLong {
                flag: "since",
                value: "99999999d".into()
            })
        );
        assert_eq!(
            TimeSpec::parse_trigger("trigger-after", "+99999999d"),
            Err(SpecError::DurationTooLong {
                flag: "trigger-after",
                value: "+99999999d".into()
            })
        );
    }

    #[test]
    fn resolving_out_of_range_is_an_error_not_a_panic() {
        let now = parse_time("2026-01-10T00:00:00Z").unwrap();
        // Such a spec cannot be parsed today, but may be stored by an older version.
        let far = TimeSpec::Ago("99999999d".into());
        assert_eq!(
            far.resolve(now),
            Err(SpecError::TimeOutOfRange("99999999d".into()))
        );
        let edge = DateTime::<Utc>::MAX_UTC;
        assert_eq!(
            TimeSpec::Ahead("1d".into()).resolve(edge),
            Err(SpecError::TimeOutOfRange("+1d".into()))
        );
    }

    #[test]
    fn shifts_are_non_zero_bounded_durations() {
        assert_eq!(parse_shift("-30m"), Ok(Duration::minutes(-30)));
        for zero in ["0s", "0", "-0m", "+0h"] {
            assert_eq!(parse_shift(zero), Err(SpecError::ZeroShift(zero.into())));
        }
        assert_eq!(
            parse_shift("99999999d"),
            Err(SpecError::DurationTooLong {
                flag: "shift",
                value: "99999999d".into()
            })
        );
        assert_eq!(
            parse_shift("later"),
            Err(SpecError::BadShift("later".into()))
        );
    }

    mod never_panic {
        use proptest::prelude::*;

        use super::super::*;

        /// Durations as people write them, with numbers up to overflow and any unit.
        const DURATION: &str = "[+-]?([0-9]{1,25}(ns|us|ms|s|m|h|d|w|M|y| ?days| ?hours)? ?){1,3}";
        const RFC3339: &str =
            "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})";

        fn now() -> impl Strategy<Value = DateTime<Utc>> {
            let (min, max) = (
                DateTime::<Utc>::MIN_UTC.timestamp(),
                DateTime::<Utc>::MAX_UTC.timestamp(),
            );
            (min..=max).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or_default())
        }

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![any::<String>(), DURATION, RFC3339]
        }

        proptest! {
            #[test]
            fn durations_parse_or_fail_within_bounds(value in text()) {
                if let Ok(d) = parse_duration(&value) {
                    prop_assert!(d.num_days().abs() <= MAX_DURATION_DAYS);
                }
                let _ = parse_shift(&value);
            }

            #[test]
            fn times_parse_and_resolve_or_fail(value in text(), now in now()) {
                for spec in [TimeSpec::parse("since", &value), TimeSpec::parse_trigger("trigger-after", &value)]
                    .into_iter()
                    .flatten()
                {
                    let _ = spec.resolve(now);
                }
            }

            /// Specs as a store may hold them, written by any version.
            #[test]
            fn stored_specs_resolve_or_fail(value in text(), now in now()) {
                let _ = TimeSpec::Ago(value.clone()).resolve(now);
                let _ = TimeSpec::Ahead(value).resolve(now);
            }
        }
    }
}
