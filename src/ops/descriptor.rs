//! What an operation states about itself besides how it acts: each operation file exports one
//! [`Descriptor`], and [`descriptor`] finds it with one exhaustive match, so a new operation
//! cannot be added without saying every one of these things.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{
    crons_delete, runs_cancel, runs_replay, scheduled_delete, scheduled_recreate,
    scheduled_reschedule, Archive, Operation, RunSelection, ScheduledFilter, ScheduledSelection,
};
use crate::backend::hatchet::HatchetClient;
use crate::engine::format_count;
use crate::job::{JobSpec, OperationKind, RunStatus, Selector, SpecError, TimeSpec, Window};
use crate::store::Counts;

/// An operation's rules, stated once in its own file.
pub struct Descriptor {
    /// The run statuses it selects when `--status` is not given (empty: it selects no runs).
    pub default_statuses: &'static [RunStatus],
    /// Items per chunk when none is configured.
    pub chunk_default: usize,
    /// The most items a chunk may hold, whatever is configured.
    pub chunk_max: usize,
    /// The most chunks in flight, whatever `--concurrency` says (`None`: as configured). A cap
    /// of one means its requests go one at a time (through the operation's pacer): more chunks
    /// in flight would only wait, and a non-idempotent one would wait marked `sending`, in doubt
    /// after a crash; such a job refuses `--concurrency`.
    pub concurrency_cap: Option<usize>,
    /// What `jobs undo` does with a job of it.
    pub undo: Undo,
    /// Whether running the same job twice leaves things as running it once (a shift moves rows
    /// again, an undo re-creates the same rows again): a finished job that is not safe to
    /// repeat is not repeated by accident.
    pub repeat_is_safe: fn(&OperationKind) -> bool,
    /// Selector fields it needs besides any filter at all (which every operation but an undo
    /// needs), unless it acts on the ids of a manifest.
    pub required: &'static [Required],
    /// A warning the summary of a finished job carries.
    pub warning: fn(&JobSpec, &Counts) -> Option<&'static str>,
    /// What a job of it does to `n` items, as a confirmation asks it ("cancel 3 runs").
    pub action: fn(&OperationKind, u64) -> String,
    /// Builds the operation of a job.
    pub build: fn(Parts) -> Result<Arc<dyn Operation>, SpecError>,
}

/// How a job is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// Re-create the archived rows (`ScheduledRecreate`).
    Recreate,
    /// Put back the previous trigger times (`ScheduledRestore`).
    Restore,
    /// Cancel cannot be reversed: write the ids it cancelled and print their replay.
    OfferReplay,
    Impossible,
}

/// A selector field an operation cannot do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// A lower bound on creation time: Hatchet's run listing needs one, and a bare status or
    /// workflow over all of history is almost always a mistake.
    Since,
}

impl Required {
    fn is_met(self, selector: &Selector) -> bool {
        match self {
            Required::Since => selector.since.is_some(),
        }
    }
}

/// The descriptor of `kind`.
pub fn descriptor(kind: &OperationKind) -> &'static Descriptor {
    match kind {
        OperationKind::RunsCancel => &runs_cancel::DESCRIPTOR,
        OperationKind::RunsReplay => &runs_replay::DESCRIPTOR,
        OperationKind::ScheduledDelete => &scheduled_delete::DESCRIPTOR,
        OperationKind::ScheduledReschedule { .. } => &scheduled_reschedule::DESCRIPTOR,
        OperationKind::ScheduledRestore { .. } => &scheduled_reschedule::RESTORE_DESCRIPTOR,
        OperationKind::ScheduledRecreate { .. } => &scheduled_recreate::DESCRIPTOR,
        OperationKind::CronsDelete => &crons_delete::DESCRIPTOR,
    }
}

/// Validates a spec as its operation requires; nothing has been sent when this fails.
pub fn job_spec(
    operation: OperationKind,
    selector: Selector,
    target: crate::job::Target,
) -> Result<JobSpec, SpecError> {
    let spec = JobSpec::new(operation, selector, target)?;
    let by_ids = spec.selector.ids_digest.is_some();
    let required = descriptor(&spec.operation).required;
    if !by_ids && !required.iter().all(|r| r.is_met(&spec.selector)) {
        return Err(SpecError::EmptySelector);
    }
    Ok(spec)
}

impl Descriptor {
    /// Items per chunk: as configured, within the operation's bounds.
    pub fn chunk_size(&self, configured: Option<usize>) -> usize {
        configured.unwrap_or(self.chunk_default).min(self.chunk_max)
    }

    /// Chunks in flight: as configured, within the operation's cap.
    pub fn concurrency(&self, configured: usize) -> usize {
        self.concurrency_cap
            .map_or(configured, |cap| cap.min(configured))
    }

    /// Whether it sends one request at a time, so that `--concurrency` means nothing for it.
    pub fn one_request_at_a_time(&self) -> bool {
        self.concurrency_cap == Some(1)
    }
}

/// Tuning an operation takes from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    pub verify_poll: Duration,
    pub replay_interval: Duration,
    pub slice_target: usize,
}

/// A workflow `--workflow` named, resolved on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    pub id: String,
    pub name: String,
}

/// What a constructor builds an operation from: the job, its frozen window, and what was read
/// for it (workflows looked up, a manifest's ids and an undone job's archive from the store).
pub struct Parts {
    pub spec: JobSpec,
    pub window: Window,
    /// When the job was created: relative trigger times resolve against it.
    pub created: DateTime<Utc>,
    pub client: HatchetClient,
    pub workflows: Vec<Workflow>,
    pub manifest: Option<Vec<String>>,
    /// What the job an undo undoes did (empty for other jobs).
    pub archive: Archive,
    pub tuning: Tuning,
}

impl Parts {
    /// The runs a job selects, with `defaults` when no `--status` is given.
    pub fn runs(&self, defaults: &[RunStatus], need_run_details: bool) -> RunSelection {
        let selector = &self.spec.selector;
        match self.manifest.clone() {
            Some(ids) => RunSelection::from_manifest(self.client.clone(), self.window, ids),
            None => RunSelection::new(
                self.client.clone(),
                self.window,
                if selector.statuses.is_empty() {
                    defaults.to_vec()
                } else {
                    selector.statuses.clone()
                },
                self.workflow_ids(),
                selector.metadata.clone(),
                need_run_details,
                self.tuning.slice_target,
            ),
        }
    }

    /// The scheduled runs a job selects; relative trigger times resolve against its creation.
    pub fn scheduled(&self) -> Result<ScheduledSelection, SpecError> {
        let selector = &self.spec.selector;
        let trigger =
            |time: &Option<TimeSpec>| time.as_ref().map(|t| t.resolve(self.created)).transpose();
        let filter = ScheduledFilter {
            workflow_ids: self.workflow_ids(),
            metadata: selector.metadata.clone(),
            trigger_after: trigger(&selector.trigger_after)?,
            trigger_before: trigger(&selector.trigger_before)?,
            created: self.window,
        };
        Ok(match self.manifest.clone() {
            Some(ids) => ScheduledSelection::from_manifest(self.client.clone(), filter, ids),
            None => ScheduledSelection::new(self.client.clone(), filter),
        })
    }

    pub fn workflow_ids(&self) -> Vec<String> {
        self.workflows.iter().map(|w| w.id.clone()).collect()
    }
}

/// For operations whose repeat changes nothing more.
pub fn always_safe(_: &OperationKind) -> bool {
    true
}

/// For operations whose finished job carries no warning.
pub fn no_warning(_: &JobSpec, _: &Counts) -> Option<&'static str> {
    None
}

/// `n` and the noun in its number: "1 run", "2,000 runs".
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", format_count(n), if n == 1 { one } else { many })
}

pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}
