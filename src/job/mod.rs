//! What a job is: an operation applied to a selection of items on one target, as the user wrote
//! it (`JobSpec`), plus the values frozen when the job is created (`Window`).

mod error;
mod spec;
mod time;

pub use error::SpecError;
pub use spec::{
    JobSpec, MetadataPair, OperationKind, RescheduleTarget, RunStatus, Selector, Target,
};
pub use time::{parse_duration, parse_time, TimeSpec, Window};
