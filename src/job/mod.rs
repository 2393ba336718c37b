//! What a job is: an operation applied to a selection of items on one target, as the user wrote
//! it (`JobSpec`), plus the values frozen when the job is created (`Window`).

mod error;
mod limits;
mod spec;
mod time;

pub use error::SpecError;
pub use limits::{
    check_chunk_size, check_concurrency, check_rate, MAX_CHUNK_SIZE, MAX_CONCURRENCY, MAX_RATE,
    MIN_RATE,
};
pub use spec::{
    parse_metadata, parse_statuses, CreatedFilter, CronsFilter, HandingerJob, HandingerOperation,
    HandingerTarget, HatchetJob, Items, JobSpec, MetadataPair, OperationKind, RescheduleTarget,
    Resource, RunStatus, RunsFilter, ScheduledRunsFilter, Selector, SelectorFields, Target,
};
pub use time::{
    parse_duration, parse_shift, parse_time, DurationError, TimeSpec, Window, MAX_DURATION_DAYS,
};
