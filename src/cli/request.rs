//! From clap's arguments to the app's request: the selection flags as typed become a
//! `Selector` (and the manifest they name), the execution flags an `Execution`, the global
//! ones the settings.

use chrono::Utc;

use super::args::{
    BulkExecArgs, CommonSelectArgs, CronSelectArgs, GlobalArgs, NewJobArgs, PaceArgs,
    RunSelectArgs, ScheduledSelectArgs,
};
use crate::app::{Error, Execution, JobRequest};
use crate::config::{Overrides, Settings};
use crate::job::{
    parse_metadata, parse_shift, parse_statuses, parse_time, OperationKind, RescheduleTarget,
    SelectorFields, SpecError, TimeSpec,
};
use crate::ops::Manifest;

/// The selection flags as typed, for any operation (each subcommand fills what it offers).
#[derive(Debug, Default)]
pub struct SelectInput {
    pub(crate) since: Option<String>,
    pub(crate) until: Option<String>,
    pub(crate) statuses: Vec<String>,
    pub(crate) workflows: Vec<String>,
    pub(crate) metadata: Vec<String>,
    pub(crate) trigger_after: Option<String>,
    pub(crate) trigger_before: Option<String>,
    pub(crate) cron_names: Vec<String>,
    pub(crate) include_code_defined: bool,
    pub(crate) ids_file: Option<String>,
    /// The ids themselves, as a request gives them instead of a file.
    pub(crate) ids: Option<Vec<String>>,
}

impl From<CommonSelectArgs> for SelectInput {
    fn from(a: CommonSelectArgs) -> Self {
        SelectInput {
            since: a.since,
            until: a.until,
            workflows: a.workflows,
            metadata: a.metadata,
            ids_file: a.ids_file,
            ..SelectInput::default()
        }
    }
}

impl From<RunSelectArgs> for SelectInput {
    fn from(a: RunSelectArgs) -> Self {
        SelectInput {
            statuses: a.statuses,
            ..a.common.into()
        }
    }
}

impl From<ScheduledSelectArgs> for SelectInput {
    fn from(a: ScheduledSelectArgs) -> Self {
        SelectInput {
            trigger_after: a.trigger_after,
            trigger_before: a.trigger_before,
            ..a.common.into()
        }
    }
}

impl From<CronSelectArgs> for SelectInput {
    fn from(a: CronSelectArgs) -> Self {
        SelectInput {
            cron_names: a.cron_names,
            include_code_defined: a.include_code_defined,
            ..a.common.into()
        }
    }
}

fn time_flag(flag: &'static str, value: Option<&str>) -> Result<Option<TimeSpec>, SpecError> {
    value.map(|v| TimeSpec::parse(flag, v)).transpose()
}

fn trigger_flag(flag: &'static str, value: Option<&str>) -> Result<Option<TimeSpec>, SpecError> {
    value.map(|v| TimeSpec::parse_trigger(flag, v)).transpose()
}

/// The request of `kind` over the selection typed; the manifest it names is read and checked
/// here (nothing is sent on a malformed id).
pub fn job_request(
    kind: OperationKind,
    select: impl Into<SelectInput>,
) -> Result<JobRequest, Error> {
    let a = select.into();
    let manifest = match (&a.ids_file, &a.ids) {
        (Some(path), _) => Some(Manifest::read(path)?),
        (None, Some(ids)) => Some(Manifest::from_list(ids)?),
        (None, None) => None,
    };
    let selector = SelectorFields {
        since: time_flag("since", a.since.as_deref())?,
        until: time_flag("until", a.until.as_deref())?,
        statuses: parse_statuses(&a.statuses)?,
        workflows: a.workflows,
        metadata: parse_metadata(&a.metadata)?,
        ids_digest: manifest.as_ref().map(|m| m.digest.clone()),
        trigger_after: trigger_flag("trigger-after", a.trigger_after.as_deref())?,
        trigger_before: trigger_flag("trigger-before", a.trigger_before.as_deref())?,
        cron_names: a.cron_names,
        include_code_defined: a.include_code_defined,
    };
    Ok(JobRequest {
        kind,
        selector,
        manifest,
    })
}

/// The operation of `scheduled reschedule`, from `--to` / `--shift` (checked here: a target in
/// the past is refused unless allowed).
pub fn reschedule_kind(
    to: Option<&str>,
    shift: Option<&str>,
    allow_past: bool,
) -> Result<OperationKind, SpecError> {
    let target = match (to, shift) {
        (Some(to), None) => {
            let at = parse_time(to).map_err(|_| SpecError::BadTarget(to.to_string()))?;
            if at <= Utc::now() && !allow_past {
                return Err(SpecError::TargetInPast);
            }
            RescheduleTarget::To(at)
        }
        (None, Some(shift)) => {
            parse_shift(shift)?;
            RescheduleTarget::Shift(shift.trim().to_string())
        }
        _ => return Err(SpecError::RescheduleTarget),
    };
    Ok(OperationKind::ScheduledReschedule { target, allow_past })
}

/// The execution flags of whichever flag groups a command offers; a flag it does not offer
/// stays at its default.
#[derive(Debug, Default, Clone)]
pub struct ExecFlags {
    pub pace: PaceArgs,
    pub concurrency: Option<usize>,
    pub chunk_size: Option<usize>,
    pub new_job: NewJobArgs,
    pub job_name: Option<String>,
    pub again: bool,
    pub metrics_addr: Option<String>,
}

impl From<BulkExecArgs> for ExecFlags {
    fn from(a: BulkExecArgs) -> Self {
        ExecFlags {
            pace: a.pace,
            concurrency: a.spread.concurrency,
            chunk_size: a.chunks.chunk_size,
            new_job: a.new_job,
            job_name: a.name.job_name,
            again: false,
            metrics_addr: a.metrics.metrics_addr,
        }
    }
}

impl ExecFlags {
    pub fn execution(&self) -> Execution {
        Execution {
            rate: self.pace.rate,
            concurrency: self.concurrency,
            no_verify: self.pace.no_verify,
            dry_run: self.new_job.dry_run,
            yes: self.new_job.yes,
            reason: self.new_job.reason.clone(),
            job_name: self.job_name.clone(),
            again: self.again,
        }
    }
}

/// The settings, with the flags as the top layer; logging starts here, in the format they say.
pub fn load_settings(global: &GlobalArgs, exec: &ExecFlags) -> Result<Settings, Error> {
    let overrides = Overrides {
        rate: exec.pace.rate,
        concurrency: exec.concurrency,
        chunk_size: exec.chunk_size,
        state: global.state.clone(),
        reports_dir: global.reports_dir.clone(),
        log_format: global.log_format.clone(),
        verify_timeout: exec.pace.verify_timeout.clone(),
        request_timeout: exec.pace.request_timeout.clone(),
        metrics_addr: exec.metrics_addr.clone(),
    };
    let settings = Settings::load(global.config.as_deref(), &overrides, std::env::vars_os())?;
    crate::telemetry::init(settings.log_format);
    Ok(settings)
}
