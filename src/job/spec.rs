use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{SpecError, TimeSpec, Window};
use crate::ops::{HandingerSelection, Replacement, SelectionError};

/// A Hatchet run status as the REST API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Queued,
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Cancelled,
        RunStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "QUEUED",
            RunStatus::Running => "RUNNING",
            RunStatus::Completed => "COMPLETED",
            RunStatus::Cancelled => "CANCELLED",
            RunStatus::Failed => "FAILED",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        RunStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == upper)
            .ok_or_else(|| SpecError::UnknownStatus(s.to_string()))
    }
}

/// Parses `--status` values (repeated or comma-separated). An empty value is refused: it would
/// otherwise leave the operation's default statuses in charge, a wider selection than asked.
pub fn parse_statuses(values: &[String]) -> Result<Vec<RunStatus>, SpecError> {
    values
        .iter()
        .map(|value| match value.trim() {
            "" => Err(SpecError::EmptyStatus),
            status => status.parse(),
        })
        .collect()
}

/// Parses `--metadata` pairs. Two values for one key are refused: Hatchet filters on only the
/// last of them (docs/hatchet-behaviour.md D5), so the job would select other runs than asked.
pub fn parse_metadata(values: &[String]) -> Result<Vec<MetadataPair>, SpecError> {
    let mut pairs: Vec<MetadataPair> = Vec::with_capacity(values.len());
    for value in values {
        let pair: MetadataPair = value.parse()?;
        if let Some(first) = pairs
            .iter()
            .find(|p| p.key == pair.key && p.value != pair.value)
        {
            return Err(SpecError::DuplicateMetadataKey {
                key: pair.key,
                first: first.value.clone(),
                second: pair.value,
            });
        }
        pairs.push(pair);
    }
    Ok(pairs)
}

/// One `key=value` metadata filter. Several pairs mean AND.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MetadataPair {
    pub key: String,
    pub value: String,
}

impl FromStr for MetadataPair {
    type Err = SpecError;
    /// `key=value`, both non-empty. Hatchet's query takes `key:value` and refuses a third
    /// `:` part, so neither side may hold one.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| SpecError::MetadataWithoutEquals(s.to_string()))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(SpecError::MetadataWithoutKey(s.to_string()));
        }
        if value.is_empty() {
            return Err(SpecError::MetadataWithoutValue(s.to_string()));
        }
        if key.contains(':') || value.contains(':') {
            return Err(SpecError::MetadataColon(s.to_string()));
        }
        Ok(MetadataPair {
            key: key.to_string(),
            value: value.to_string(),
        })
    }
}

impl MetadataPair {
    /// The `key:value` form Hatchet's query parameters take.
    pub fn to_query(&self) -> String {
        format!("{}:{}", self.key, self.value)
    }

    /// Whether a run's metadata object carries this pair (values compared as text).
    pub fn matches(&self, metadata: Option<&serde_json::Value>) -> bool {
        let Some(found) = metadata.and_then(|m| m.get(&self.key)) else {
            return false;
        };
        match found {
            serde_json::Value::String(text) => *text == self.value,
            other => serde_json::to_string(other).is_ok_and(|text| text == self.value),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RescheduleTarget {
    To(DateTime<Utc>),
    /// A signed duration such as `1h` or `-30m`, added to each row's current trigger time.
    Shift(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum OperationKind {
    RunsCancel,
    RunsReplay,
    ScheduledDelete,
    ScheduledReschedule {
        target: RescheduleTarget,
        /// Let targets in the past through (they fire at once).
        #[serde(default)]
        allow_past: bool,
    },
    CronsDelete,
    /// Undo of a scheduled delete: re-create the archived rows of job `of`.
    ScheduledRecreate {
        of: String,
    },
    /// Undo of a reschedule: restore the previous trigger times stored by job `of`.
    ScheduledRestore {
        of: String,
    },
}

impl OperationKind {
    pub fn name(&self) -> &'static str {
        match self {
            OperationKind::RunsCancel => "runs cancel",
            OperationKind::RunsReplay => "runs replay",
            OperationKind::ScheduledDelete => "scheduled delete",
            OperationKind::ScheduledReschedule { .. } => "scheduled reschedule",
            OperationKind::CronsDelete => "crons delete",
            OperationKind::ScheduledRecreate { .. } => "scheduled recreate (undo)",
            OperationKind::ScheduledRestore { .. } => "scheduled restore (undo)",
        }
    }

    /// The job an undo undoes.
    pub fn undoes(&self) -> Option<&str> {
        match self {
            OperationKind::ScheduledRecreate { of } | OperationKind::ScheduledRestore { of } => {
                Some(of)
            }
            _ => None,
        }
    }

    pub fn resource(&self) -> Resource {
        match self {
            OperationKind::RunsCancel | OperationKind::RunsReplay => Resource::Runs,
            OperationKind::ScheduledDelete | OperationKind::ScheduledReschedule { .. } => {
                Resource::Scheduled
            }
            OperationKind::CronsDelete => Resource::Crons,
            OperationKind::ScheduledRecreate { .. } | OperationKind::ScheduledRestore { .. } => {
                Resource::UndoneJob
            }
        }
    }
}

/// The selection flags of a Hatchet job as given, before they are typed by the resource its
/// operation acts on. This is also the form the selection is stored in (the job's identity is
/// its hash), so the fields and their order are those of every earlier version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectorFields {
    pub since: Option<TimeSpec>,
    pub until: Option<TimeSpec>,
    pub statuses: Vec<RunStatus>,
    pub workflows: Vec<String>,
    pub metadata: Vec<MetadataPair>,
    /// SHA-256 of the normalised ID manifest, when the job acts on listed IDs.
    pub ids_digest: Option<String>,
    pub trigger_after: Option<TimeSpec>,
    pub trigger_before: Option<TimeSpec>,
    pub cron_names: Vec<String>,
    pub include_code_defined: bool,
}

impl SelectorFields {
    /// The fields typed for `resource`: a filter the resource does not have, or a filter beside
    /// an ids file, is refused, so that no job selects other items than its flags say.
    fn typed(self, resource: Resource) -> Result<Selector, SpecError> {
        let SelectorFields {
            since,
            until,
            statuses,
            workflows,
            metadata,
            ids_digest,
            trigger_after,
            trigger_before,
            cron_names,
            include_code_defined,
        } = self;
        let foreign = |offered: &[&'static str]| {
            let given = [
                ("status", !statuses.is_empty()),
                ("trigger-after", trigger_after.is_some()),
                ("trigger-before", trigger_before.is_some()),
                ("cron-name", !cron_names.is_empty()),
                ("include-code-defined", include_code_defined),
            ];
            given
                .into_iter()
                .find(|(flag, set)| *set && !offered.contains(flag))
                .map_or(Ok(()), |(flag, _)| {
                    Err(SpecError::FilterNotOffered {
                        flag,
                        resource: resource.name(),
                    })
                })
        };
        let created = CreatedFilter {
            since,
            until,
            workflows,
            metadata,
        };
        let has_created = created.has_filter();
        match resource {
            Resource::Runs => {
                foreign(&["status"])?;
                let has_filter = has_created || !statuses.is_empty();
                let filter = RunsFilter { created, statuses };
                Ok(Selector::Runs(Items::new(ids_digest, filter, has_filter)?))
            }
            Resource::Scheduled => {
                foreign(&["trigger-after", "trigger-before"])?;
                let has_filter = has_created || trigger_after.is_some() || trigger_before.is_some();
                let filter = ScheduledRunsFilter {
                    created,
                    trigger_after,
                    trigger_before,
                };
                Ok(Selector::Scheduled(Items::new(
                    ids_digest, filter, has_filter,
                )?))
            }
            Resource::Crons => {
                foreign(&["cron-name", "include-code-defined"])?;
                let has_filter = has_created || !cron_names.is_empty();
                let filter = CronsFilter {
                    created,
                    cron_names,
                };
                Ok(Selector::Crons {
                    items: Items::new(ids_digest, filter, has_filter)?,
                    include_code_defined,
                })
            }
            Resource::UndoneJob => {
                foreign(&[])?;
                if has_created || ids_digest.is_some() {
                    return Err(SpecError::FilterNotOffered {
                        flag: "since, --until, --workflow, --metadata or --ids-file",
                        resource: resource.name(),
                    });
                }
                Ok(Selector::UndoneJob)
            }
        }
    }
}

/// What an operation acts on; the selection flags it takes follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Runs,
    Scheduled,
    Crons,
    /// An undo acts on what the job it undoes did.
    UndoneJob,
}

impl Resource {
    fn name(self) -> &'static str {
        match self {
            Resource::Runs => "runs",
            Resource::Scheduled => "scheduled runs",
            Resource::Crons => "crons",
            Resource::UndoneJob => "an undo",
        }
    }
}

/// Which items a Hatchet job acts on, one variant per resource: a filter a resource does not
/// have (a status on scheduled runs, a cron name on runs, a filter beside an ids file) cannot
/// be written. Stored and hashed as `SelectorFields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "SelectorFields")]
pub enum Selector {
    Runs(Items<RunsFilter>),
    Scheduled(Items<ScheduledRunsFilter>),
    Crons {
        items: Items<CronsFilter>,
        /// Code-defined crons are spared unless this is set, by filter and by ids alike.
        include_code_defined: bool,
    },
    UndoneJob,
}

/// The items of a resource a job selects: those matching a filter, or those an ids file lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Items<F> {
    Matching(F),
    /// SHA-256 of the normalised ID manifest; the ids are in the store.
    Listed {
        ids_digest: String,
    },
}

impl<F> Items<F> {
    /// By ids or by filter, never both, and never by nothing.
    fn new(ids_digest: Option<String>, filter: F, has_filter: bool) -> Result<Self, SpecError> {
        match ids_digest {
            Some(_) if has_filter => Err(SpecError::IdsAndFilter),
            Some(ids_digest) => Ok(Items::Listed { ids_digest }),
            None if has_filter => Ok(Items::Matching(filter)),
            None => Err(SpecError::EmptySelector),
        }
    }

    pub fn filter(&self) -> Option<&F> {
        match self {
            Items::Matching(filter) => Some(filter),
            Items::Listed { .. } => None,
        }
    }

    fn ids_digest(&self) -> Option<&str> {
        match self {
            Items::Matching(_) => None,
            Items::Listed { ids_digest } => Some(ids_digest),
        }
    }
}

/// The filters every resource has: when it was created, its workflow, its metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreatedFilter {
    pub since: Option<TimeSpec>,
    pub until: Option<TimeSpec>,
    pub workflows: Vec<String>,
    pub metadata: Vec<MetadataPair>,
}

impl CreatedFilter {
    fn has_filter(&self) -> bool {
        self.since.is_some()
            || self.until.is_some()
            || !self.workflows.is_empty()
            || !self.metadata.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunsFilter {
    pub created: CreatedFilter,
    /// Empty: the operation's default statuses.
    pub statuses: Vec<RunStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduledRunsFilter {
    pub created: CreatedFilter,
    pub trigger_after: Option<TimeSpec>,
    pub trigger_before: Option<TimeSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CronsFilter {
    pub created: CreatedFilter,
    pub cron_names: Vec<String>,
}

impl Selector {
    /// The common filters, when the job selects by filter.
    pub fn created(&self) -> Option<&CreatedFilter> {
        match self {
            Selector::Runs(items) => items.filter().map(|f| &f.created),
            Selector::Scheduled(items) => items.filter().map(|f| &f.created),
            Selector::Crons { items, .. } => items.filter().map(|f| &f.created),
            Selector::UndoneJob => None,
        }
    }

    pub fn ids_digest(&self) -> Option<&str> {
        match self {
            Selector::Runs(items) => items.ids_digest(),
            Selector::Scheduled(items) => items.ids_digest(),
            Selector::Crons { items, .. } => items.ids_digest(),
            Selector::UndoneJob => None,
        }
    }

    /// The workflows named (`--workflow`), looked up on the server before the job runs.
    pub fn workflows(&self) -> &[String] {
        self.created().map_or(&[], |f| &f.workflows)
    }

    pub fn metadata(&self) -> &[MetadataPair] {
        self.created().map_or(&[], |f| &f.metadata)
    }
}

impl From<Selector> for SelectorFields {
    fn from(selector: Selector) -> Self {
        let created = |c: CreatedFilter| SelectorFields {
            since: c.since,
            until: c.until,
            workflows: c.workflows,
            metadata: c.metadata,
            ..SelectorFields::default()
        };
        let listed = |ids_digest| SelectorFields {
            ids_digest: Some(ids_digest),
            ..SelectorFields::default()
        };
        match selector {
            Selector::Runs(Items::Matching(f)) => SelectorFields {
                statuses: f.statuses,
                ..created(f.created)
            },
            Selector::Scheduled(Items::Matching(f)) => SelectorFields {
                trigger_after: f.trigger_after,
                trigger_before: f.trigger_before,
                ..created(f.created)
            },
            Selector::Crons {
                items,
                include_code_defined,
            } => SelectorFields {
                include_code_defined,
                ..match items {
                    Items::Matching(f) => SelectorFields {
                        cron_names: f.cron_names,
                        ..created(f.created)
                    },
                    Items::Listed { ids_digest } => listed(ids_digest),
                }
            },
            Selector::Runs(Items::Listed { ids_digest })
            | Selector::Scheduled(Items::Listed { ids_digest }) => listed(ids_digest),
            Selector::UndoneJob => SelectorFields::default(),
        }
    }
}

impl SelectorFields {
    fn normalize(&mut self) {
        self.statuses.sort();
        self.statuses.dedup();
        self.workflows.sort();
        self.workflows.dedup();
        self.metadata.sort();
        self.metadata.dedup();
        self.cron_names.sort();
        self.cron_names.dedup();
    }
}

/// The Hatchet tenant and API origin a job acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub server_url: String,
    pub tenant: String,
}

/// A job as the user wrote it, one variant per backend, so that an operation, a selection and a
/// target of different backends cannot be put together. Its hash is the job's identity.
/// Untagged: a Hatchet job serializes exactly as before Handinger existed (the identities and
/// state files of earlier versions stay valid), and the operation's `kind` tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobSpec {
    Hatchet(HatchetJob),
    Handinger(HandingerJob),
}

/// A Hatchet job: a run, scheduled-run or cron operation on a tenant. Stored as
/// `StoredHatchetJob`, whose selection is typed again by its operation when read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StoredHatchetJob", try_from = "StoredHatchetJob")]
pub struct HatchetJob {
    pub operation: OperationKind,
    pub selector: Selector,
    pub target: Target,
}

#[derive(Serialize, Deserialize)]
struct StoredHatchetJob {
    operation: OperationKind,
    selector: SelectorFields,
    target: Target,
}

impl From<HatchetJob> for StoredHatchetJob {
    fn from(job: HatchetJob) -> Self {
        StoredHatchetJob {
            operation: job.operation,
            selector: job.selector.into(),
            target: job.target,
        }
    }
}

impl TryFrom<StoredHatchetJob> for HatchetJob {
    type Error = SpecError;
    fn try_from(stored: StoredHatchetJob) -> Result<Self, SpecError> {
        HatchetJob::new(stored.operation, stored.selector, stored.target)
    }
}

/// A Handinger job: an operation on worker schedules at one API origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandingerJob {
    pub operation: HandingerOperation,
    pub selector: HandingerSelection,
    pub target: HandingerTarget,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum HandingerOperation {
    HandingerCancel,
    HandingerReschedule {
        replacement: Replacement,
    },
    /// Undo of a reschedule: replace the replacements job `of` made by their originals.
    HandingerRestore {
        of: String,
    },
}

impl HandingerOperation {
    pub fn name(&self) -> &'static str {
        match self {
            HandingerOperation::HandingerCancel => "handinger schedules cancel",
            HandingerOperation::HandingerReschedule { .. } => "handinger schedules reschedule",
            HandingerOperation::HandingerRestore { .. } => "handinger schedules restore (undo)",
        }
    }
}

/// The Handinger API origin a job acts on (never with credentials; the key is not stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandingerTarget {
    pub base_url: String,
}

impl HandingerJob {
    /// Normalises the selection (order and repeats do not change the identity) and checks it;
    /// nothing has been sent when this fails.
    pub fn new(
        operation: HandingerOperation,
        mut selector: HandingerSelection,
        target: HandingerTarget,
        now: DateTime<Utc>,
    ) -> Result<Self, SelectionError> {
        selector.normalize();
        if !matches!(operation, HandingerOperation::HandingerRestore { .. }) {
            selector.resolve(now)?;
        }
        Ok(HandingerJob {
            operation,
            selector,
            target,
        })
    }
}

impl JobSpec {
    /// A Hatchet job, normalised and checked for what holds for every Hatchet operation.
    pub fn new(
        operation: OperationKind,
        selector: SelectorFields,
        target: Target,
    ) -> Result<Self, SpecError> {
        HatchetJob::new(operation, selector, target).map(JobSpec::Hatchet)
    }

    /// Hash of the normalised spec, relative times left unresolved.
    pub fn identity(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The operation's name as commands spell it.
    pub fn operation_name(&self) -> &'static str {
        match self {
            JobSpec::Hatchet(job) => job.operation.name(),
            JobSpec::Handinger(job) => job.operation.name(),
        }
    }

    /// The server a job acts on, as stored (no credentials).
    pub fn server(&self) -> &str {
        match self {
            JobSpec::Hatchet(job) => &job.target.server_url,
            JobSpec::Handinger(job) => &job.target.base_url,
        }
    }

    /// The job an undo undoes.
    pub fn undoes(&self) -> Option<&str> {
        match self {
            JobSpec::Hatchet(job) => job.operation.undoes(),
            JobSpec::Handinger(job) => match &job.operation {
                HandingerOperation::HandingerRestore { of } => Some(of),
                _ => None,
            },
        }
    }

    /// Resolves the window once, at creation; it is stored with the job and never recomputed.
    /// A Handinger job selects by next run, not creation: its window spans all time up to now,
    /// and its next-run bounds resolve against the job's creation.
    pub fn resolve_window(&self, now: DateTime<Utc>) -> Result<Window, SpecError> {
        match self {
            JobSpec::Hatchet(job) => job.resolve_window(now),
            JobSpec::Handinger(_) => Ok(Window {
                since: DateTime::UNIX_EPOCH,
                until: now,
            }),
        }
    }

    pub fn hatchet(&self) -> Option<&HatchetJob> {
        match self {
            JobSpec::Hatchet(job) => Some(job),
            JobSpec::Handinger(_) => None,
        }
    }
}

impl HatchetJob {
    /// Normalises the selection flags (order and repeats do not change the identity) and types
    /// them by the operation's resource; nothing has been sent when this fails. What else an
    /// operation requires is its descriptor's, see `ops::job_spec`.
    pub fn new(
        operation: OperationKind,
        mut selector: SelectorFields,
        target: Target,
    ) -> Result<Self, SpecError> {
        selector.normalize();
        let selector = selector.typed(operation.resource())?;
        Ok(HatchetJob {
            operation,
            selector,
            target,
        })
    }

    /// Resolves the creation-time window once; it is stored with the job and never recomputed.
    /// The trigger window is checked here too, resolved against the same `now`.
    pub fn resolve_window(&self, now: DateTime<Utc>) -> Result<Window, SpecError> {
        let resolve = |time: Option<&TimeSpec>| time.map(|t| t.resolve(now)).transpose();
        let created = self.selector.created();
        let since =
            resolve(created.and_then(|c| c.since.as_ref()))?.unwrap_or(DateTime::UNIX_EPOCH);
        let until = resolve(created.and_then(|c| c.until.as_ref()))?.unwrap_or(now);
        if since > now {
            return Err(SpecError::TimeInFuture { flag: "since" });
        }
        if until > now {
            return Err(SpecError::TimeInFuture { flag: "until" });
        }
        if since >= until {
            return Err(SpecError::EmptyWindow);
        }
        if let Selector::Scheduled(Items::Matching(filter)) = &self.selector {
            let after = resolve(filter.trigger_after.as_ref())?;
            let before = resolve(filter.trigger_before.as_ref())?;
            if let (Some(after), Some(before)) = (after, before) {
                if after >= before {
                    return Err(SpecError::EmptyTriggerWindow);
                }
            }
        }
        Ok(Window { since, until })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            server_url: "http://127.0.0.1:1".into(),
            tenant: "t".into(),
        }
    }

    /// Job specs as versions before Handinger wrote them into state files, with the identities
    /// they had: they still read as the same Hatchet jobs, write back byte for byte, and keep
    /// their identities, so unfinished jobs resume.
    #[test]
    fn a_job_spec_written_before_handinger_keeps_its_form_and_identity() {
        let written = [
            (
                r#"{"operation":{"kind":"runs_cancel"},"selector":{"since":{"ago":"24h"},"until":null,"statuses":["QUEUED"],"workflows":["my-wf"],"metadata":[{"key":"customer","value":"acme"}],"ids_digest":null,"trigger_after":null,"trigger_before":null,"cron_names":[],"include_code_defined":false},"target":{"server_url":"http://127.0.0.1:8080","tenant":"707d0855-80ab-4e1f-a156-f1c4546cbf52"}}"#,
                "d68661082f194b5a",
            ),
            (
                r#"{"operation":{"kind":"scheduled_reschedule","target":{"shift":"1h"},"allow_past":false},"selector":{"since":null,"until":null,"statuses":[],"workflows":["nightly"],"metadata":[],"ids_digest":null,"trigger_after":{"ahead":"2h"},"trigger_before":null,"cron_names":[],"include_code_defined":false},"target":{"server_url":"https://h.example.com","tenant":"t"}}"#,
                "a1ed33d476c6c03f",
            ),
        ];
        for (json, identity) in written {
            let spec: JobSpec = serde_json::from_str(json).expect("a spec written before");
            assert!(spec.hatchet().is_some(), "{json}");
            assert_eq!(serde_json::to_string(&spec).unwrap(), json);
            assert_eq!(spec.identity(), identity);
        }
    }

    fn handinger(workers: &[&str], operation: HandingerOperation) -> JobSpec {
        let selector = HandingerSelection {
            workers: workers.iter().map(|w| w.to_string()).collect(),
            ..HandingerSelection::default()
        };
        let target = HandingerTarget {
            base_url: "http://127.0.0.1:1/".into(),
        };
        JobSpec::Handinger(HandingerJob::new(operation, selector, target, Utc::now()).unwrap())
    }

    #[test]
    fn a_handinger_job_reads_back_as_one_and_its_identity_ignores_worker_order() {
        let spec = handinger(&["w2", "w1", "w2"], HandingerOperation::HandingerCancel);
        let json = serde_json::to_string(&spec).unwrap();
        let back: JobSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
        assert!(back.hatchet().is_none());
        assert_eq!(back.operation_name(), "handinger schedules cancel");
        assert_eq!(
            spec.identity(),
            handinger(&["w1", "w2"], HandingerOperation::HandingerCancel).identity()
        );
        let moved = handinger(
            &["w1", "w2"],
            HandingerOperation::HandingerReschedule {
                replacement: Replacement::Interval { seconds: 60 },
            },
        );
        assert_ne!(moved.identity(), spec.identity());
        let refused = HandingerJob::new(
            HandingerOperation::HandingerCancel,
            HandingerSelection::default(),
            HandingerTarget {
                base_url: "http://127.0.0.1:1/".into(),
            },
            Utc::now(),
        );
        assert_eq!(refused, Err(SelectionError::NoWorkers));
    }

    #[test]
    fn identity_ignores_filter_order_but_not_content() {
        let a = SelectorFields {
            since: Some(TimeSpec::Ago("24h".into())),
            statuses: vec![RunStatus::Running, RunStatus::Queued],
            ..SelectorFields::default()
        };
        let b = SelectorFields {
            statuses: vec![RunStatus::Queued, RunStatus::Running],
            ..a.clone()
        };
        let c = SelectorFields {
            statuses: vec![RunStatus::Queued],
            ..a.clone()
        };
        let id = |s: SelectorFields| {
            JobSpec::new(OperationKind::RunsCancel, s, target())
                .unwrap()
                .identity()
        };
        assert_eq!(id(a.clone()), id(b));
        assert_ne!(id(a), id(c));
    }

    #[test]
    fn refuses_empty_and_mixed_selections() {
        assert_eq!(
            JobSpec::new(
                OperationKind::RunsCancel,
                SelectorFields::default(),
                target()
            ),
            Err(SpecError::EmptySelector)
        );
        let mixed = SelectorFields {
            ids_digest: Some("x".into()),
            statuses: vec![RunStatus::Queued],
            ..SelectorFields::default()
        };
        assert_eq!(
            JobSpec::new(OperationKind::RunsCancel, mixed, target()),
            Err(SpecError::IdsAndFilter)
        );
        assert_eq!(
            "bogus".parse::<RunStatus>(),
            Err(SpecError::UnknownStatus("bogus".into()))
        );
        assert!("k".parse::<MetadataPair>().is_err());
        assert_eq!("queued".parse::<RunStatus>(), Ok(RunStatus::Queued));
    }

    /// The typed selection: a filter its resource lacks cannot be written, whichever way it comes
    /// (flags, a request, a stored spec), and what is stored reads back as the same job.
    #[test]
    fn a_filter_the_resource_lacks_is_refused_and_each_resource_keeps_its_own() {
        let since = || Some(TimeSpec::parse("since", "1d").unwrap());
        let trigger = || Some(TimeSpec::parse_trigger("trigger-before", "+1h").unwrap());
        let refused = [
            (
                OperationKind::ScheduledDelete,
                SelectorFields {
                    statuses: vec![RunStatus::Queued],
                    ..SelectorFields::default()
                },
                "status",
            ),
            (
                OperationKind::RunsCancel,
                SelectorFields {
                    since: since(),
                    cron_names: vec!["nightly".into()],
                    ..SelectorFields::default()
                },
                "cron-name",
            ),
            (
                OperationKind::CronsDelete,
                SelectorFields {
                    workflows: vec!["w".into()],
                    trigger_before: trigger(),
                    ..SelectorFields::default()
                },
                "trigger-before",
            ),
            (
                OperationKind::RunsReplay,
                SelectorFields {
                    since: since(),
                    include_code_defined: true,
                    ..SelectorFields::default()
                },
                "include-code-defined",
            ),
        ];
        for (operation, fields, flag) in refused {
            let err = JobSpec::new(operation.clone(), fields, target()).unwrap_err();
            assert!(
                matches!(err, SpecError::FilterNotOffered { flag: f, .. } if f == flag),
                "{operation:?}: {err}"
            );
            assert!(err.to_string().contains("leave it out"), "{err}");
        }
        let undo = SelectorFields {
            workflows: vec!["w".into()],
            ..SelectorFields::default()
        };
        assert!(matches!(
            JobSpec::new(
                OperationKind::ScheduledRestore { of: "j".into() },
                undo,
                target()
            ),
            Err(SpecError::FilterNotOffered { .. })
        ));

        // Crons by ids keep --include-code-defined; scheduled runs keep their trigger window.
        let crons = JobSpec::new(
            OperationKind::CronsDelete,
            SelectorFields {
                ids_digest: Some("d".into()),
                include_code_defined: true,
                ..SelectorFields::default()
            },
            target(),
        )
        .unwrap();
        let JobSpec::Hatchet(job) = &crons else {
            panic!("a Hatchet job")
        };
        assert_eq!(
            job.selector,
            Selector::Crons {
                items: Items::Listed {
                    ids_digest: "d".into()
                },
                include_code_defined: true
            }
        );
        let scheduled = JobSpec::new(
            OperationKind::ScheduledDelete,
            SelectorFields {
                trigger_before: trigger(),
                ..SelectorFields::default()
            },
            target(),
        )
        .unwrap();
        for spec in [crons, scheduled] {
            let json = serde_json::to_string(&spec).unwrap();
            let back: JobSpec = serde_json::from_str(&json).unwrap();
            assert_eq!(back, spec);
            assert_eq!(back.identity(), spec.identity());
        }

        // A stored spec whose selection its operation cannot take does not read as that job.
        let foreign = r#"{"operation":{"kind":"scheduled_delete"},"selector":{"since":null,"until":null,"statuses":["QUEUED"],"workflows":["w"],"metadata":[],"ids_digest":null,"trigger_after":null,"trigger_before":null,"cron_names":[],"include_code_defined":false},"target":{"server_url":"http://127.0.0.1:8080","tenant":"t"}}"#;
        assert!(serde_json::from_str::<JobSpec>(foreign).is_err());
    }

    #[test]
    fn window_is_checked() {
        let now = crate::job::parse_time("2026-01-10T00:00:00Z").unwrap();
        let spec = |since: &str, until: Option<&str>| {
            JobSpec::new(
                OperationKind::RunsCancel,
                SelectorFields {
                    since: Some(TimeSpec::parse("since", since).unwrap()),
                    until: until.map(|u| TimeSpec::parse("until", u).unwrap()),
                    ..SelectorFields::default()
                },
                target(),
            )
            .unwrap()
        };
        assert_eq!(
            spec("2026-02-01T00:00:00Z", None).resolve_window(now),
            Err(SpecError::TimeInFuture { flag: "since" })
        );
        assert_eq!(
            spec("1h", Some("2h")).resolve_window(now),
            Err(SpecError::EmptyWindow)
        );
        let w = spec("2d", Some("1d")).resolve_window(now).unwrap();
        assert_eq!(w.until - w.since, chrono::Duration::days(1));
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn an_empty_status_is_refused_not_defaulted() {
        for values in [&[""][..], &["", "", ""], &["QUEUED", "", "RUNNING"], &[" "]] {
            assert_eq!(
                parse_statuses(&strings(values)),
                Err(SpecError::EmptyStatus),
                "{values:?}"
            );
        }
        assert_eq!(
            parse_statuses(&strings(&["queued", " RUNNING "])),
            Ok(vec![RunStatus::Queued, RunStatus::Running])
        );
    }

    #[test]
    fn metadata_pairs_need_a_key_a_value_and_one_value_per_key() {
        let one = |v: &str| v.parse::<MetadataPair>();
        assert_eq!(one(""), Err(SpecError::MetadataWithoutEquals("".into())));
        assert_eq!(one("=v"), Err(SpecError::MetadataWithoutKey("=v".into())));
        assert_eq!(one("k="), Err(SpecError::MetadataWithoutValue("k=".into())));
        assert_eq!(one("a:b=c"), Err(SpecError::MetadataColon("a:b=c".into())));
        assert_eq!(one("a=b:c"), Err(SpecError::MetadataColon("a=b:c".into())));
        assert_eq!(
            one(" k =a=b"),
            Ok(MetadataPair {
                key: "k".into(),
                value: "a=b".into()
            })
        );
        assert_eq!(
            parse_metadata(&strings(&["k=a", "x=1", "k=b"])),
            Err(SpecError::DuplicateMetadataKey {
                key: "k".into(),
                first: "a".into(),
                second: "b".into()
            })
        );
        assert_eq!(
            parse_metadata(&strings(&["k=a", "k=a"])).map(|p| p.len()),
            Ok(2)
        );
    }

    #[test]
    fn the_trigger_window_must_not_be_empty() {
        let now = crate::job::parse_time("2026-01-10T00:00:00Z").unwrap();
        let spec = |after: &str, before: &str| {
            JobSpec::new(
                OperationKind::ScheduledDelete,
                SelectorFields {
                    trigger_after: Some(TimeSpec::parse_trigger("trigger-after", after).unwrap()),
                    trigger_before: Some(
                        TimeSpec::parse_trigger("trigger-before", before).unwrap(),
                    ),
                    ..SelectorFields::default()
                },
                target(),
            )
            .unwrap()
            .resolve_window(now)
        };
        assert_eq!(spec("+2h", "+1h"), Err(SpecError::EmptyTriggerWindow));
        assert_eq!(spec("+1h", "+1h"), Err(SpecError::EmptyTriggerWindow));
        assert_eq!(
            spec("2026-01-10T03:00:00Z", "+2h"),
            Err(SpecError::EmptyTriggerWindow)
        );
        assert!(spec("-1h", "+1h").is_ok());
    }

    mod never_panic {
        use proptest::prelude::*;

        use super::super::*;

        fn status() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "(?i)(queued|running|completed|cancelled|failed)?[ ,]{0,3}"
            ]
        }

        fn pair() -> impl Strategy<Value = String> {
            prop_oneof![any::<String>(), "[ a-z:=]{0,3}=?[ a-z:=]{0,3}"]
        }

        proptest! {
            #[test]
            fn statuses_parse_or_fail(values in prop::collection::vec(status(), 0..6)) {
                if let Ok(statuses) = parse_statuses(&values) {
                    prop_assert_eq!(statuses.len(), values.len());
                }
            }

            #[test]
            fn metadata_pairs_parse_or_fail(values in prop::collection::vec(pair(), 0..6)) {
                if let Ok(pairs) = parse_metadata(&values) {
                    for p in &pairs {
                        prop_assert!(!p.key.is_empty() && !p.value.is_empty());
                        prop_assert!(!p.to_query().contains("::"));
                        let same_key_other_value = pairs.iter().any(|q| q.key == p.key && q.value != p.value);
                        prop_assert!(!same_key_other_value);
                    }
                }
            }
        }
    }
}
