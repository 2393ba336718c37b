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
use crate::job::{
    HatchetJob, Items, OperationKind, RunStatus, Selector, SelectorFields, SpecError, TimeSpec,
    Window,
};
use crate::store::Counts;

/// What every operation states about its chunks and its undo, whatever its backend (a Handinger
/// operation's file states only these, as `RULES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
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
}

/// A Hatchet operation's rules, stated once in its own file.
pub struct Descriptor {
    /// The run statuses it selects when `--status` is not given (empty: it selects no runs).
    pub default_statuses: &'static [RunStatus],
    /// How its chunks are sized and sent, and how its job is undone.
    pub rules: Rules,
    /// Whether running the same job twice leaves things as running it once (a shift moves rows
    /// again, an undo re-creates the same rows again): a finished job that is not safe to
    /// repeat is not repeated by accident.
    pub repeat_is_safe: fn(&OperationKind) -> bool,
    /// Selector fields it needs besides any filter at all (which every operation but an undo
    /// needs), unless it acts on the ids of a manifest.
    pub required: &'static [Required],
    /// A warning the summary of a finished job carries.
    pub warning: fn(&HatchetJob, &Counts) -> Option<&'static str>,
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

impl Undo {
    /// The operation of the job that undoes job `of`, when an undo is a job of its own.
    pub fn job(self, of: &str) -> Option<OperationKind> {
        let of = of.to_string();
        match self {
            Undo::Recreate => Some(OperationKind::ScheduledRecreate { of }),
            Undo::Restore => Some(OperationKind::ScheduledRestore { of }),
            Undo::OfferReplay | Undo::Impossible => None,
        }
    }
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
            Required::Since => selector.created().is_none_or(|c| c.since.is_some()),
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
    selector: SelectorFields,
    target: crate::job::Target,
) -> Result<HatchetJob, SpecError> {
    let spec = HatchetJob::new(operation, selector, target)?;
    let required = descriptor(&spec.operation).required;
    if !required.iter().all(|r| r.is_met(&spec.selector)) {
        return Err(SpecError::EmptySelector);
    }
    Ok(spec)
}

impl Rules {
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
    pub spec: HatchetJob,
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
        let statuses = match &self.spec.selector {
            Selector::Runs(Items::Matching(filter)) if !filter.statuses.is_empty() => {
                filter.statuses.clone()
            }
            _ => defaults.to_vec(),
        };
        match self.manifest.clone() {
            Some(ids) => RunSelection::from_manifest(self.client.clone(), self.window, ids),
            None => RunSelection::new(
                self.client.clone(),
                self.window,
                statuses,
                self.workflow_ids(),
                self.spec.selector.metadata().to_vec(),
                need_run_details,
                self.tuning.slice_target,
            ),
        }
    }

    /// The scheduled runs a job selects; relative trigger times resolve against its creation.
    pub fn scheduled(&self) -> Result<ScheduledSelection, SpecError> {
        let (after, before) = match &self.spec.selector {
            Selector::Scheduled(Items::Matching(f)) => (&f.trigger_after, &f.trigger_before),
            _ => (&None, &None),
        };
        let trigger =
            |time: &Option<TimeSpec>| time.as_ref().map(|t| t.resolve(self.created)).transpose();
        let filter = ScheduledFilter {
            workflow_ids: self.workflow_ids(),
            metadata: self.spec.selector.metadata().to_vec(),
            trigger_after: trigger(after)?,
            trigger_before: trigger(before)?,
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
pub fn no_warning(_: &HatchetJob, _: &Counts) -> Option<&'static str> {
    None
}

/// `n` and the noun in its number: "1 run", "2,000 runs".
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", format_count(n), if n == 1 { one } else { many })
}

pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{RescheduleTarget, Target};

    fn target() -> Target {
        Target {
            server_url: "http://127.0.0.1:1".into(),
            tenant: "t".into(),
        }
    }

    fn every_kind() -> Vec<OperationKind> {
        vec![
            OperationKind::RunsCancel,
            OperationKind::RunsReplay,
            OperationKind::ScheduledDelete,
            OperationKind::ScheduledReschedule {
                target: RescheduleTarget::Shift("1h".into()),
                allow_past: false,
            },
            OperationKind::ScheduledReschedule {
                target: RescheduleTarget::To(DateTime::UNIX_EPOCH),
                allow_past: true,
            },
            OperationKind::CronsDelete,
            OperationKind::ScheduledRecreate { of: "j".into() },
            OperationKind::ScheduledRestore { of: "j".into() },
        ]
    }

    #[test]
    fn runs_need_since_unless_they_come_from_an_ids_file() {
        let workflow_only = SelectorFields {
            workflows: vec!["w".into()],
            ..SelectorFields::default()
        };
        for kind in [OperationKind::RunsCancel, OperationKind::RunsReplay] {
            assert_eq!(
                job_spec(kind.clone(), workflow_only.clone(), target()),
                Err(SpecError::EmptySelector),
                "{kind:?}"
            );
            let since = SelectorFields {
                since: Some(TimeSpec::parse("since", "1h").unwrap()),
                ..workflow_only.clone()
            };
            assert!(job_spec(kind.clone(), since, target()).is_ok());
            let by_ids = SelectorFields {
                ids_digest: Some("d".into()),
                ..SelectorFields::default()
            };
            assert!(job_spec(kind, by_ids, target()).is_ok());
        }
        assert!(job_spec(OperationKind::ScheduledDelete, workflow_only, target()).is_ok());
        assert!(job_spec(
            OperationKind::ScheduledRecreate { of: "j".into() },
            SelectorFields::default(),
            target()
        )
        .is_ok());
    }

    #[test]
    fn chunk_sizes_and_concurrency_stay_within_each_operations_bounds() {
        let replay = descriptor(&OperationKind::RunsReplay).rules;
        assert_eq!(replay.chunk_size(None), 100);
        assert_eq!(replay.chunk_size(Some(10_000)), crate::job::MAX_CHUNK_SIZE);
        assert_eq!(replay.concurrency(32), 1);
        assert!(replay.one_request_at_a_time());
        let cancel = descriptor(&OperationKind::RunsCancel).rules;
        assert_eq!(cancel.chunk_size(None), super::super::CHUNK);
        assert_eq!(cancel.chunk_size(Some(7)), 7);
        assert_eq!(cancel.concurrency(32), 32);
        assert!(!cancel.one_request_at_a_time());
        let crons = descriptor(&OperationKind::CronsDelete).rules;
        assert_eq!(crons.chunk_size(Some(500)), 50);
        for kind in every_kind() {
            let d = descriptor(&kind).rules;
            assert!(d.chunk_default <= d.chunk_max, "{kind:?}");
            assert!(d.chunk_size(Some(usize::MAX)) <= d.chunk_max, "{kind:?}");
        }
    }

    #[test]
    fn only_runs_have_default_statuses_and_they_differ_by_operation() {
        assert_eq!(
            descriptor(&OperationKind::RunsCancel).default_statuses,
            &[RunStatus::Queued, RunStatus::Running]
        );
        assert_eq!(
            descriptor(&OperationKind::RunsReplay).default_statuses,
            &[RunStatus::Failed, RunStatus::Cancelled]
        );
        for kind in every_kind().into_iter().skip(2) {
            assert!(descriptor(&kind).default_statuses.is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn undo_and_repeat_safety_are_stated_per_operation() {
        let undo_of = |kind: &OperationKind| descriptor(kind).rules.undo;
        let kinds = every_kind();
        assert_eq!(undo_of(&kinds[0]), Undo::OfferReplay);
        assert_eq!(undo_of(&kinds[1]), Undo::Impossible);
        assert_eq!(undo_of(&kinds[2]), Undo::Recreate);
        assert_eq!(undo_of(&kinds[3]), Undo::Restore);
        assert_eq!(undo_of(&kinds[5]), Undo::Impossible);
        assert_eq!(undo_of(&kinds[6]), Undo::Impossible);
        assert_eq!(undo_of(&kinds[7]), Undo::Impossible);
        assert_eq!(
            undo_of(&kinds[2]).job("j"),
            Some(OperationKind::ScheduledRecreate { of: "j".into() })
        );
        assert_eq!(
            undo_of(&kinds[3]).job("j"),
            Some(OperationKind::ScheduledRestore { of: "j".into() })
        );
        assert_eq!(undo_of(&kinds[0]).job("j"), None);
        let safe: Vec<bool> = kinds
            .iter()
            .map(|kind| (descriptor(kind).repeat_is_safe)(kind))
            .collect();
        // A shift and both undos move or re-create the same rows again.
        assert_eq!(safe, [true, true, true, false, true, true, false, false]);
    }

    #[test]
    fn only_deleting_code_defined_crons_warns() {
        let spec = |include_code_defined| {
            HatchetJob::new(
                OperationKind::CronsDelete,
                SelectorFields {
                    workflows: vec!["w".into()],
                    include_code_defined,
                    ..SelectorFields::default()
                },
                target(),
            )
            .unwrap()
        };
        let done = |n| Counts {
            total: n,
            done: n,
            ..Counts::default()
        };
        let warning = descriptor(&OperationKind::CronsDelete).warning;
        assert!(warning(&spec(true), &done(1)).is_some_and(|w| w.contains("come back")));
        assert_eq!(warning(&spec(true), &done(0)), None);
        assert_eq!(warning(&spec(false), &done(3)), None);
        let delete = descriptor(&OperationKind::ScheduledDelete).warning;
        assert_eq!(delete(&spec(true), &done(3)), None);
    }

    #[test]
    fn a_confirmation_says_the_action_in_the_operations_words() {
        let kinds = every_kind();
        let action = |kind: &OperationKind, n| (descriptor(kind).action)(kind, n);
        assert_eq!(action(&kinds[0], 1), "cancel 1 run");
        assert_eq!(action(&kinds[1], 2000), "replay 2,000 runs");
        assert_eq!(action(&kinds[3], 2), "move 2 scheduled runs by 1h");
        assert_eq!(action(&kinds[5], 3), "delete 3 crons");
        assert!(action(&kinds[6], 1).ends_with("that job j deleted (undo of job j)"));
    }
}
