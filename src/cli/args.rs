//! Command-line definitions (clap). Follows the `hatchet` CLI's habits: `--since 24h`,
//! repeatable `--status`, `-y/--yes`, `-o json`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::ReportFormat;

#[derive(Debug, Parser)]
#[command(
    name = "bulkops",
    version,
    about = "Resumable, rate-limited bulk operations on Hatchet runs, scheduled runs and crons",
    after_help = "Connection: HATCHET_CLIENT_TOKEN (tenant and server come from the token), \
                  HATCHET_CLIENT_SERVER_URL and HATCHET_CLIENT_TENANT_ID override.\n\
                  Exit codes: 0 all done, 1 finished with item failures, 2 bad input (nothing sent), \
                  3 interrupted (run the same command again to resume)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Checkpoint store (SQLite file) [default: $BULKOPS_STATE, else
    /// $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]
    #[arg(long, global = true, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Extra settings file (TOML), between the defaults and BULKOPS_* variables
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format: text, json or auto (text on a terminal)
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Output of the final summary and listings
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Workflow runs
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Scheduled runs
    #[command(subcommand)]
    Scheduled(ScheduledCommand),
    /// Cron triggers
    #[command(subcommand)]
    Crons(CronsCommand),
    /// Jobs in the state store
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Per-item report of a job
    Report(ReportArgs),
    /// Print the shell completion script, e.g. `bulkops completions bash > /etc/bash_completion.d/bulkops`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `bulkops manpage | man -l -`
    Manpage,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Cancel every matching run (default statuses: QUEUED, RUNNING)
    Cancel(CancelArgs),
    /// Replay every matching run once (default statuses: FAILED, CANCELLED)
    Replay(ReplayArgs),
}

#[derive(Debug, Subcommand)]
pub enum ScheduledCommand {
    /// Delete every matching API-created scheduled run (definitions are kept for `jobs undo`)
    Delete(ScheduledArgs),
    /// Move every matching API-created scheduled run to a new trigger time
    Reschedule(RescheduleArgs),
}

#[derive(Debug, Subcommand)]
pub enum CronsCommand {
    /// Delete every matching cron trigger (one request each)
    Delete(CronsArgs),
}

#[derive(Debug, Args)]
pub struct ScheduledArgs {
    #[command(flatten)]
    pub select: ScheduledSelectArgs,
    #[command(flatten)]
    pub exec: BulkExecArgs,
}

#[derive(Debug, Args)]
pub struct RescheduleArgs {
    /// New trigger time for every row (RFC 3339)
    #[arg(long, value_name = "TIME", conflicts_with = "shift")]
    pub to: Option<String>,
    /// Move every row by this much (1h, -30m, 2d)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub shift: Option<String>,
    /// Accept targets in the past (such rows fire at once)
    #[arg(long)]
    pub allow_past: bool,
    /// Run a `--shift` again although the same job already finished (it moves the rows again)
    #[arg(long)]
    pub again: bool,
    #[command(flatten)]
    pub select: ScheduledSelectArgs,
    #[command(flatten)]
    pub exec: BulkExecArgs,
}

#[derive(Debug, Args)]
pub struct CronsArgs {
    #[command(flatten)]
    pub select: CronSelectArgs,
    #[command(flatten)]
    pub spread: SpreadArgs,
    #[command(flatten)]
    pub pace: PaceArgs,
    #[command(flatten)]
    pub new_job: NewJobArgs,
    #[command(flatten)]
    pub name: JobNameArg,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ScheduledSelectArgs {
    #[command(flatten)]
    pub common: CommonSelectArgs,
    /// Rows due at or after this time: RFC 3339, or +2h (from now) / -1d (ago)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub trigger_after: Option<String>,
    /// Rows due before this time: RFC 3339, or +2h (from now) / -1d (ago)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub trigger_before: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct CronSelectArgs {
    #[command(flatten)]
    pub common: CommonSelectArgs,
    /// Cron name (repeatable)
    #[arg(long = "cron-name", value_name = "NAME")]
    pub cron_names: Vec<String>,
    /// Also delete code-defined crons (they come back on the next deploy)
    #[arg(long)]
    pub include_code_defined: bool,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    #[command(flatten)]
    pub select: RunSelectArgs,
    #[command(flatten)]
    pub exec: BulkExecArgs,
}

/// Replay sends one request at a time (the server loses replays that overlap), so it offers no
/// `--concurrency`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub select: RunSelectArgs,
    #[command(flatten)]
    pub chunks: ChunkArgs,
    #[command(flatten)]
    pub pace: PaceArgs,
    #[command(flatten)]
    pub new_job: NewJobArgs,
    #[command(flatten)]
    pub name: JobNameArg,
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunSelectArgs {
    #[command(flatten)]
    pub common: CommonSelectArgs,
    /// Run status (repeatable or comma-separated): QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED
    #[arg(long = "status", value_name = "STATUS", value_delimiter = ',')]
    pub statuses: Vec<String>,
}

/// Filters every operation offers.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonSelectArgs {
    /// Created after this time: a duration ago (24h, 7d) or RFC 3339 (required for runs)
    #[arg(short = 's', long, value_name = "TIME")]
    pub since: Option<String>,
    /// Created up to this time [default: now, frozen when the job is created]
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE's prefix gets it
    #[arg(short = 'w', long = "workflow", value_name = "NAME|ID")]
    pub workflows: Vec<String>,
    /// Additional metadata key=value (repeatable; all must match)
    #[arg(long = "metadata", value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
    /// Act on exactly these ids: one per line or a JSON array; `-` reads standard input
    #[arg(long, value_name = "FILE")]
    pub ids_file: Option<String>,
}

/// Every execution flag: for the commands that send many items per request, in overlapping
/// chunks.
#[derive(Debug, Args, Clone, Default)]
pub struct BulkExecArgs {
    #[command(flatten)]
    pub spread: SpreadArgs,
    #[command(flatten)]
    pub chunks: ChunkArgs,
    #[command(flatten)]
    pub pace: PaceArgs,
    #[command(flatten)]
    pub new_job: NewJobArgs,
    #[command(flatten)]
    pub name: JobNameArg,
}

/// How fast a job talks to the server and how it confirms outcomes: every command that sends.
#[derive(Debug, Args, Clone, Default)]
pub struct PaceArgs {
    /// Requests per second, for the whole process (0.01 to 10000)
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Do not confirm outcomes on the server after execution
    #[arg(long)]
    pub no_verify: bool,
    /// How long to wait for the server to confirm outcomes
    #[arg(long, value_name = "DURATION")]
    pub verify_timeout: Option<String>,
    /// Per-request timeout
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,
}

/// Commands whose chunks may overlap.
#[derive(Debug, Args, Clone, Default)]
pub struct SpreadArgs {
    /// Most chunks in flight at once (1 to 64)
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
}

/// Commands that send many items per request.
#[derive(Debug, Args, Clone, Default)]
pub struct ChunkArgs {
    /// Items per request (1 to 1000)
    #[arg(long, value_name = "N")]
    pub chunk_size: Option<usize>,
}

/// Commands that start a job.
#[derive(Debug, Args, Clone, Default)]
pub struct NewJobArgs {
    /// Count the matching items and show a few, without changing anything
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Why this job runs (kept with the job)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// Commands whose job may be named (an undo's identity comes from the job it undoes).
#[derive(Debug, Args, Clone, Default)]
pub struct JobNameArg {
    /// A stable job name (for cron): re-running resumes it while unfinished
    #[arg(long = "job", value_name = "NAME")]
    pub job_name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs with their state and counts
    List,
    /// Show one job
    Show { job: String },
    /// Resume an unfinished job
    Resume {
        job: String,
        /// Most chunks in flight at once, 1 to 64 (not for a replay, which sends one request at a
        /// time)
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        #[command(flatten)]
        pace: PaceArgs,
    },
    /// Pause a running job: the process running it finishes its in-flight chunks and exits 3;
    /// `jobs resume` (or the same command) continues it
    Pause { job: String },
    /// Change a job's requests per second, in the process running it (within a second) and on
    /// every later resume
    Retune {
        job: String,
        /// New requests per second, for the whole process (0.01 to 10000)
        #[arg(long, value_name = "R")]
        rate: f64,
    },
    /// Give up on an unfinished job: nothing more is sent for it (a process running it stops
    /// after its in-flight chunks), and the same command then starts a new job
    Abort { job: String },
    /// Undo a finished job: re-create deleted scheduled runs, restore previous trigger times,
    /// or (for a cancel) write the ids it cancelled and print the matching replay
    Undo {
        job: String,
        #[command(flatten)]
        spread: SpreadArgs,
        #[command(flatten)]
        pace: PaceArgs,
        #[command(flatten)]
        new_job: NewJobArgs,
    },
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    pub job: String,
    /// Only failed, skipped and unconfirmed items
    #[arg(long)]
    pub failed: bool,
    #[arg(long, value_enum, default_value_t = ReportFormat::Csv)]
    pub format: ReportFormat,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::job::{MAX_CONCURRENCY, MAX_RATE, MIN_RATE};

    /// The bounds in --help are written out (clap takes literals); they must be the checked ones.
    #[test]
    fn help_states_the_checked_bounds() {
        let mut cli = Cli::command();
        let cancel = cli
            .find_subcommand_mut("runs")
            .and_then(|runs| runs.find_subcommand_mut("cancel"))
            .expect("runs cancel");
        let help = cancel.render_long_help().to_string();
        assert!(
            help.contains(&format!("({MIN_RATE} to {MAX_RATE})")),
            "{help}"
        );
        assert!(
            help.contains(&format!("(1 to {MAX_CONCURRENCY})")),
            "{help}"
        );
    }
}
