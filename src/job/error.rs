use thiserror::Error;

/// Bad input found before anything is sent. Each message names the fix.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("no selection given: pass --since (and filters such as --status, --workflow, --metadata) or --ids-file")]
    EmptySelector,
    #[error("unknown status '{0}': use one of QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED")]
    UnknownStatus(String),
    #[error("--{flag} '{value}' is not a time: use a duration such as 24h or 7d, or an RFC 3339 time such as 2026-01-02T03:04:05Z")]
    BadTime { flag: &'static str, value: String },
    #[error("--{flag} '{value}' is not a trigger time: write a duration from now with its direction, +2h (ahead) or -1d (ago), or an RFC 3339 time")]
    BadTriggerTime { flag: &'static str, value: String },
    #[error("--{flag} is in the future: pick a time before now")]
    TimeInFuture { flag: &'static str },
    #[error("--since is not before --until: pick a --since earlier than --until")]
    EmptyWindow,
    #[error("--metadata '{0}' has no '=': write it as key=value")]
    MetadataWithoutEquals(String),
    #[error("--metadata key '{0}' contains ':', which Hatchet's metadata filter cannot express (it splits key and value at the first ':'): select by another key, or list the ids with --ids-file")]
    MetadataKeyWithColon(String),
    #[error("--chunk-size {0} is out of range: use 1 to 1000")]
    ChunkSize(usize),
    #[error("--rate must be above 0: use e.g. --rate 20")]
    Rate,
    #[error("--concurrency must be at least 1: use e.g. --concurrency 4")]
    Concurrency,
    #[error("both IDs and a filter given: pass either --ids-file or filters, not both")]
    IdsAndFilter,
    #[error("{0}")]
    Manifest(String),
    #[error("--shift '{0}' is not a duration: use e.g. 1h, -30m or 2d")]
    BadShift(String),
    #[error("give exactly one of --to TIME or --shift DURATION")]
    RescheduleTarget,
    #[error("--to is in the past: pick a future time, or pass --allow-past")]
    TargetInPast,
}
