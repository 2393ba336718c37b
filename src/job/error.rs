use thiserror::Error;

use super::{MAX_CHUNK_SIZE, MAX_CONCURRENCY, MAX_DURATION_DAYS, MAX_RATE, MIN_RATE};

/// Bad input found before anything is sent. Each message names the fix.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("no selection given: pass --since (and filters such as --status, --workflow, --metadata) or --ids-file")]
    EmptySelector,
    #[error("unknown status '{0}': use one of QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED")]
    UnknownStatus(String),
    #[error("--status has an empty value: list one or more of QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED, or leave --status out for the operation's default")]
    EmptyStatus,
    #[error("--{flag} '{value}' is not a time: use a duration such as 24h or 7d, or an RFC 3339 time such as 2026-01-02T03:04:05Z")]
    BadTime { flag: &'static str, value: String },
    #[error("--{flag} '{value}' is not a trigger time: write a duration from now with its direction, +2h (ahead) or -1d (ago), or an RFC 3339 time")]
    BadTriggerTime { flag: &'static str, value: String },
    #[error(
        "--{flag} '{value}' is longer than 100 years: use a duration of at most {max}d",
        max = MAX_DURATION_DAYS
    )]
    DurationTooLong { flag: &'static str, value: String },
    #[error(
        "the time '{0}' from now lies outside the supported range: use a duration under 100 years"
    )]
    TimeOutOfRange(String),
    #[error("--{flag} is in the future: pick a time before now")]
    TimeInFuture { flag: &'static str },
    #[error("--since is not before --until: pick a --since earlier than --until")]
    EmptyWindow,
    #[error("--trigger-after is not before --trigger-before: pick a --trigger-after earlier than --trigger-before")]
    EmptyTriggerWindow,
    #[error("--metadata '{0}' has no '=': write it as key=value")]
    MetadataWithoutEquals(String),
    #[error("--metadata '{0}' has an empty key: write it as key=value")]
    MetadataWithoutKey(String),
    #[error("--metadata '{0}' has an empty value: write it as key=value")]
    MetadataWithoutValue(String),
    #[error("--metadata '{0}' contains ':', which Hatchet's metadata filter cannot express: filter on another key or value")]
    MetadataColon(String),
    #[error("--metadata key '{key}' is given twice ('{first}' and '{second}'): Hatchet filters on one value per key, so pass it once")]
    DuplicateMetadataKey {
        key: String,
        first: String,
        second: String,
    },
    #[error("chunk size {0} is out of range: use 1 to {max}, e.g. --chunk-size 500", max = MAX_CHUNK_SIZE)]
    ChunkSize(usize),
    #[error("rate {0} is out of range: use {min} to {max} requests/s, e.g. --rate 20", min = MIN_RATE, max = MAX_RATE)]
    Rate(String),
    #[error("concurrency {0} is out of range: use 1 to {max}, e.g. --concurrency 4", max = MAX_CONCURRENCY)]
    Concurrency(usize),
    #[error("both IDs and a filter given: pass either --ids-file or filters, not both")]
    IdsAndFilter,
    #[error("--{flag} does not select {resource}: leave it out")]
    FilterNotOffered {
        flag: &'static str,
        resource: &'static str,
    },
    #[error("{0}")]
    Manifest(String),
    #[error("--shift '{0}' is not a duration: use e.g. 1h, -30m or 2d")]
    BadShift(String),
    #[error("--shift '{0}' moves nothing: give a non-zero duration such as 1h or -30m")]
    ZeroShift(String),
    #[error("--to '{0}' is not an RFC 3339 time: use e.g. 2026-12-01T03:00:00Z, or --shift for a duration")]
    BadTarget(String),
    #[error("give exactly one of --to TIME or --shift DURATION")]
    RescheduleTarget,
    #[error("--to is in the past: pick a future time, or pass --allow-past")]
    TargetInPast,
}
