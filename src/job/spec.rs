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
}

/// Which items a job acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
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

impl Selector {
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

    fn has_filter(&self) -> bool {
        self.since.is_some()
            || self.until.is_some()
            || !self.statuses.is_empty()
            || !self.workflows.is_empty()
            || !self.metadata.is_empty()
            || self.trigger_after.is_some()
            || self.trigger_before.is_some()
            || !self.cron_names.is_empty()
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

/// A Hatchet job: a run, scheduled-run or cron operation on a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HatchetJob {
    pub operation: OperationKind,
    pub selector: Selector,
    pub target: Target,
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
        selector: Selector,
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
    /// Normalises a spec and checks what holds for every operation; nothing has been sent when
    /// this fails.
    pub fn new(
        operation: OperationKind,
        mut selector: Selector,
        target: Target,
    ) -> Result<Self, SpecError> {
        selector.normalize();
        let by_ids = selector.ids_digest.is_some();
        if by_ids && selector.has_filter() {
            return Err(SpecError::IdsAndFilter);
        }
        // An undo selects by the job it undoes; every other job needs a filter at least (what
        // else an operation requires is its descriptor's, see `ops::job_spec`).
        if !by_ids && operation.undoes().is_none() && !selector.has_filter() {
            return Err(SpecError::EmptySelector);
        }
        Ok(HatchetJob {
            operation,
            selector,
            target,
        })
    }

    /// Resolves the creation-time window once; it is stored with the job and never recomputed.
    /// The trigger window is checked here too, resolved against the same `now`.
    pub fn resolve_window(&self, now: DateTime<Utc>) -> Result<Window, SpecError> {
        let resolve = |time: &Option<TimeSpec>| time.as_ref().map(|t| t.resolve(now)).transpose();
        let since = resolve(&self.selector.since)?.unwrap_or(DateTime::UNIX_EPOCH);
        let until = resolve(&self.selector.until)?.unwrap_or(now);
        if since > now {
            return Err(SpecError::TimeInFuture { flag: "since" });
        }
        if until > now {
            return Err(SpecError::TimeInFuture { flag: "until" });
        }
        if since >= until {
            return Err(SpecError::EmptyWindow);
        }
        let trigger_after = resolve(&self.selector.trigger_after)?;
        let trigger_before = resolve(&self.selector.trigger_before)?;
        if let (Some(after), Some(before)) = (trigger_after, trigger_before) {
            if after >= before {
                return Err(SpecError::EmptyTriggerWindow);
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
        let a = Selector {
            since: Some(TimeSpec::Ago("24h".into())),
            statuses: vec![RunStatus::Running, RunStatus::Queued],
            ..Selector::default()
        };
        let b = Selector {
            statuses: vec![RunStatus::Queued, RunStatus::Running],
            ..a.clone()
        };
        let c = Selector {
            statuses: vec![RunStatus::Queued],
            ..a.clone()
        };
        let id = |s: Selector| {
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
            JobSpec::new(OperationKind::RunsCancel, Selector::default(), target()),
            Err(SpecError::EmptySelector)
        );
        let mixed = Selector {
            ids_digest: Some("x".into()),
            statuses: vec![RunStatus::Queued],
            ..Selector::default()
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

    #[test]
    fn window_is_checked() {
        let now = crate::job::parse_time("2026-01-10T00:00:00Z").unwrap();
        let spec = |since: &str, until: Option<&str>| {
            JobSpec::new(
                OperationKind::RunsCancel,
                Selector {
                    since: Some(TimeSpec::parse("since", since).unwrap()),
                    until: until.map(|u| TimeSpec::parse("until", u).unwrap()),
                    ..Selector::default()
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
                Selector {
                    trigger_after: Some(TimeSpec::parse_trigger("trigger-after", after).unwrap()),
                    trigger_before: Some(
                        TimeSpec::parse_trigger("trigger-before", before).unwrap(),
                    ),
                    ..Selector::default()
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
