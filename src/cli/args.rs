//! Command-line definitions (clap). Follows the `hatchet` CLI's habits: `--since 24h`,
//! repeatable `--status`, `-y/--yes`, `-o json`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::report::ReportFormat;

#[derive(Debug, Parser)]
#[command(
    name = "bulkops",
    version,
    about = "Resumable, rate-limited bulk operations on Hatchet runs, scheduled runs and crons",
    after_help = "Connection: HATCHET_CLIENT_TOKEN (tenant and server come from the token), \
                  HATCHET_CLIENT_SERVER_URL and HATCHET_CLIENT_TENANT_ID override; \
                  TLS as the SDKs set it: HATCHET_CLIENT_TLS_STRATEGY, _ROOT_CA_FILE or _ROOT_CA, \
                  _CERT_FILE and _KEY_FILE or _CERT and _KEY, _SERVER_NAME, _MIN_VERSION, SSL_CERT_FILE.\n\
                  Exit codes: 0 all done, 1 finished with item failures, 2 bad input (nothing sent), \
                  3 interrupted (run the same command again to resume).\n\n\
                  Examples:\n  \
                  bulkops runs cancel -s 24h -w my-wf --dry-run\n  \
                  bulkops runs cancel -s 24h -w my-wf --status QUEUED\n  \
                  bulkops jobs list"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts
    /// (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default:
    /// $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// Where finished jobs' reports are written [env: BULKOPS_REPORTS_DIR] [default:
    /// <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]
    #[arg(long, global = true, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Extra settings file (TOML), between the defaults and BULKOPS_* variables
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// What stdout carries: text, or json (JSON objects; listings as JSON lines)
    ///
    /// With json: one JSON object (a summary, a dry run, a job), and for a listing (jobs list,
    /// jobs watch, report, handinger schedules list) JSON lines, one object a line; an error is
    /// then one JSON object on stderr.
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
    /// Handinger worker schedules (HANDINGER_API_KEY, HANDINGER_BASE_URL)
    #[command(subcommand)]
    Handinger(super::handinger::HandingerCommand),
    /// Jobs in the state store
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Per-item report of a job: CSV, or JSON lines (one object per item)
    ///
    /// One line per item, with its id, operation, outcome (done, failed, skipped or
    /// unconfirmed), reason, http_status, attempts and time; a reschedule's also old_trigger_at
    /// and new_trigger_at. As CSV after a header line, or as JSON lines with those fields.
    Report(ReportArgs),
    /// Print the shell completion script, e.g. `bulkops completions bash > /etc/bash_completion.d/bulkops`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `bulkops manpage | man -l -`
    Manpage,
    /// The effective configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Serve the HTTP API: submit, follow, steer and report jobs, which run in this process
    ///
    /// Every route but /healthz and /readyz needs `Authorization: Bearer TOKEN`, the token of
    /// BULKOPS_API_TOKEN (or api_token in --config FILE); without one, only a loopback address
    /// is served. The routes: docs/serve-openapi.yaml, also served at /openapi.yaml. The Hatchet
    /// and Handinger credentials are this process's environment's, never a request's. SIGTERM or
    /// Ctrl-C: no new jobs, running jobs stop after their in-flight requests and stay resumable,
    /// exit 0.
    #[command(
        after_help = "Examples:\n  bulkops serve --jobs-dir config/jobs\n  BULKOPS_API_TOKEN=$(openssl rand -hex 32) bulkops serve --listen 0.0.0.0:8080"
    )]
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0: any free one, printed on stdout); an address
    /// other hosts reach needs an API token
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Scheduled jobs: every *.toml file of DIR, a cron expression (UTC) and a job as POST /jobs
    /// takes it (see config/jobs/); each firing is an ordinary job named after its file, and a
    /// firing while the previous run still goes is skipped
    #[arg(long, value_name = "DIR")]
    pub jobs_dir: Option<PathBuf>,
    /// Check the flags, the configuration, every scheduled job and the addresses (bound and
    /// let go) as serve does before it serves, then exit (0, or 2 naming the fix) without
    /// serving or running anything
    #[arg(long)]
    pub check_config: bool,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting with its source (default, file, env, flag) and the connection variables, secrets masked
    #[command(
        after_help = "Examples:\n  bulkops config show\n  bulkops config show -o json | jq '.settings[] | select(.source != \"default\")'"
    )]
    Show,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Cancel every matching run (default statuses: QUEUED, RUNNING)
    #[command(
        after_help = "Examples:\n  bulkops runs cancel -s 24h --status QUEUED -w my-wf --metadata customer=acme\n  bulkops runs cancel --ids-file incident-ids.txt --yes"
    )]
    Cancel(CancelArgs),
    /// Replay every matching run once (default statuses: FAILED, CANCELLED)
    #[command(
        after_help = "Examples:\n  bulkops runs replay -s 2026-11-20T08:00:00Z --until 2026-11-20T09:30:00Z --status FAILED\n  bulkops runs replay -s 7d -w billing --dry-run"
    )]
    Replay(ReplayArgs),
}

#[derive(Debug, Subcommand)]
pub enum ScheduledCommand {
    /// Delete every matching API-created scheduled run (definitions are kept for `jobs undo`)
    #[command(
        after_help = "Examples:\n  bulkops scheduled delete -w nightly-report --metadata tenant=old-customer\n  bulkops scheduled delete --trigger-before +7d -w cleanup --dry-run"
    )]
    Delete(ScheduledArgs),
    /// Move every matching API-created scheduled run to a new trigger time
    #[command(
        after_help = "Examples:\n  bulkops scheduled reschedule --shift 1h -w nightly-report\n  bulkops scheduled reschedule --to 2026-12-01T03:00:00Z --trigger-before 2026-11-30T00:00:00Z -w w"
    )]
    Reschedule(RescheduleArgs),
}

#[derive(Debug, Subcommand)]
pub enum CronsCommand {
    /// Delete every matching cron trigger (one request each)
    #[command(
        after_help = "Examples:\n  bulkops crons delete -w legacy-sync --cron-name hourly\n  bulkops crons delete -w legacy-sync --include-code-defined"
    )]
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
    #[command(flatten)]
    pub metrics: MetricsArgs,
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
    #[command(flatten)]
    pub metrics: MetricsArgs,
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
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// How fast a job talks to the server and how it confirms outcomes: every command that sends.
#[derive(Debug, Args, Clone, Default)]
pub struct PaceArgs {
    /// Requests per second, for the whole process (0.01 to 1000000) [env: BULKOPS_RATE]
    /// [default: 50]
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Do not confirm outcomes on the server after execution
    #[arg(long)]
    pub no_verify: bool,
    /// How long to wait for the server to confirm outcomes [env: BULKOPS_VERIFY_TIMEOUT]
    /// [default: 120s]
    #[arg(long, value_name = "DURATION")]
    pub verify_timeout: Option<String>,
    /// Per-request timeout [env: BULKOPS_REQUEST_TIMEOUT] [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,
}

/// Commands whose chunks may overlap.
#[derive(Debug, Args, Clone, Default)]
pub struct SpreadArgs {
    /// Most chunks in flight at once (1 to 64) [env: BULKOPS_CONCURRENCY] [default: 4]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
}

/// Commands that send many items per request.
#[derive(Debug, Args, Clone, Default)]
pub struct ChunkArgs {
    /// Items per request (1 to 1000) [env: BULKOPS_CHUNK_SIZE] [default: 500; replay 100;
    /// scheduled at most 500]
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

/// Commands that run a job: its metrics, served while it runs.
#[derive(Debug, Args, Clone, Default)]
pub struct MetricsArgs {
    /// Serve GET /metrics (Prometheus text format) on this IP:PORT while the job (or the
    /// service) runs, e.g. 127.0.0.1:9090 [env: BULKOPS_METRICS_ADDR]
    #[arg(long, value_name = "IP:PORT")]
    pub metrics_addr: Option<String>,
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
    ///
    /// A table, or with -o json JSON lines, one job a line: job, operation, state, created_at,
    /// finished_at, window (since, until), started_by, reason, rate, target, selector, counts
    /// (total, done, failed, skipped, unconfirmed, sent, pending).
    #[command(
        after_help = "Examples:\n  bulkops jobs list\n  bulkops jobs list -o json | jq -r .job"
    )]
    List,
    /// Show one job: its state, selection, target and counts
    ///
    /// One field a line, or with -o json one JSON object with the fields of a `jobs list` line.
    #[command(
        after_help = "Examples:\n  bulkops jobs show 8bade4df8f5a079c-1\n  bulkops jobs show -w 8bade4df8f5a079c-1"
    )]
    Show {
        /// Job id, as `bulkops jobs list` shows it
        job: String,
        /// Follow the job until it ends, as `bulkops jobs watch` does
        #[arg(short = 'w', long)]
        watch: bool,
    },
    /// Follow a job another process runs: its state, counts, rate and time left
    ///
    /// Reads the state file every second. Ends when the job ends, with the exit code its own
    /// process ends with (0 done, 1 items failed or unconfirmed, 3 paused, aborted or
    /// interrupted), or on Ctrl-C with 0. On a terminal one line redrawn in place; otherwise a
    /// line (with -o json a JSON object) whenever the state or counts change.
    #[command(
        after_help = "Examples:\n  bulkops jobs watch 8bade4df8f5a079c-1\n  bulkops jobs watch 8bade4df8f5a079c-1 -o json | jq -c .counts"
    )]
    Watch {
        /// Job id, as `bulkops jobs list` shows it
        job: String,
    },
    /// Resume an unfinished job
    #[command(
        after_help = "Examples:\n  bulkops jobs resume 8bade4df8f5a079c-1\n  bulkops jobs resume 8bade4df8f5a079c-1 --rate 10"
    )]
    Resume {
        /// Job id, as `bulkops jobs list` shows it
        job: String,
        /// Most chunks in flight at once, for this run (1 to 64; not for a replay, which sends one
        /// request at a time) [default: the job's own, as it was created]
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        #[command(flatten)]
        pace: PaceArgs,
        #[command(flatten)]
        metrics: MetricsArgs,
    },
    /// Pause a running job: the process running it finishes its in-flight chunks and exits 3;
    /// `jobs resume` (or the same command) continues it
    #[command(after_help = "Example:\n  bulkops jobs pause 8bade4df8f5a079c-1")]
    Pause {
        /// Job id, as `bulkops jobs list` shows it
        job: String,
    },
    /// Change a job's requests per second or chunks in flight, in the process running it
    /// (within a second) and on every later resume
    #[command(
        group(ArgGroup::new("retuned").required(true).multiple(true).args(["rate", "concurrency"])),
        after_help = "Examples:\n  bulkops jobs retune 8bade4df8f5a079c-1 --rate 5\n  bulkops jobs retune 8bade4df8f5a079c-1 --concurrency 2"
    )]
    Retune {
        /// Job id, as `bulkops jobs list` shows it
        job: String,
        /// New requests per second, for the whole process (0.01 to 1000000)
        #[arg(long, value_name = "R")]
        rate: Option<f64>,
        /// New most chunks in flight (1 to 64; not for a job that sends one request at a time:
        /// replay, Handinger reschedule)
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
    },
    /// Give up on an unfinished job: nothing more is sent for it (a process running it stops
    /// after its in-flight chunks), and the same command then starts a new job
    #[command(after_help = "Example:\n  bulkops jobs abort 8bade4df8f5a079c-1")]
    Abort {
        /// Job id, as `bulkops jobs list` shows it
        job: String,
    },
    /// Undo a finished job: re-create deleted scheduled runs, restore previous trigger times,
    /// or (for a cancel) write the ids it cancelled and print the matching replay
    #[command(after_help = "Example:\n  bulkops jobs undo 8bade4df8f5a079c-1 --yes")]
    Undo {
        /// Job id, as `bulkops jobs list` shows it
        job: String,
        #[command(flatten)]
        spread: SpreadArgs,
        #[command(flatten)]
        pace: PaceArgs,
        #[command(flatten)]
        new_job: NewJobArgs,
        #[command(flatten)]
        metrics: MetricsArgs,
    },
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  bulkops report 8bade4df8f5a079c-1 --failed\n  bulkops report 8bade4df8f5a079c-1 -o json | jq -c 'select(.outcome != \"done\")'"
)]
pub struct ReportArgs {
    /// Job id, as `bulkops jobs list` shows it
    pub job: String,
    /// Only failed, skipped and unconfirmed items
    #[arg(long)]
    pub failed: bool,
    /// csv (a header line, then a row per item) or json (JSON lines: an object per item);
    /// it wins over -o [default: json with -o json, else csv]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<ReportFormat>,
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

    /// The help text of `flag` in `bulkops runs cancel`.
    fn flag_help(flag: &str) -> String {
        let cli = Cli::command();
        let cancel = cli
            .find_subcommand("runs")
            .and_then(|runs| runs.find_subcommand("cancel"))
            .expect("runs cancel");
        let arg = cancel
            .get_arguments()
            .chain(cli.get_arguments())
            .find(|a| a.get_long() == Some(flag))
            .unwrap_or_else(|| panic!("no --{flag}"));
        arg.get_help().map(|h| h.to_string()).unwrap_or_default()
    }

    /// What `[default: …]` says in a help text.
    fn stated_default(help: &str) -> &str {
        let start = help.find("[default: ").expect("a default") + "[default: ".len();
        let rest = &help[start..];
        let end = rest.find([']', ';']).expect("closed");
        &rest[..end]
    }

    /// Defaults in --help are written out too; they must be the built-in settings.
    #[test]
    fn help_states_the_built_in_defaults() {
        let built_in = crate::config::Settings::load(
            None,
            &crate::config::Overrides::default(),
            std::iter::empty(),
        )
        .expect("the built-in settings load");
        let number = |flag: &str| stated_default(&flag_help(flag)).parse::<f64>().unwrap();
        assert_eq!(number("rate"), built_in.rate);
        assert_eq!(number("concurrency") as usize, built_in.concurrency);
        assert_eq!(number("chunk-size") as usize, crate::ops::CHUNK);
        let duration = |flag: &str| humantime::parse_duration(stated_default(&flag_help(flag)));
        assert_eq!(duration("verify-timeout").unwrap(), built_in.verify_timeout);
        assert_eq!(
            duration("request-timeout").unwrap(),
            built_in.request_timeout
        );
        assert_eq!(stated_default(&flag_help("log-format")), "auto");
        for flag in [
            "rate",
            "concurrency",
            "chunk-size",
            "verify-timeout",
            "state",
            "reports-dir",
        ] {
            let env = format!("[env: BULKOPS_{}]", flag.replace('-', "_").to_uppercase());
            assert!(
                flag_help(flag).contains(&env),
                "--{flag} does not name {env}"
            );
        }
    }

    /// Every subcommand's help, as a user reads it: a change to a flag shows in review.
    #[test]
    fn help_of_every_subcommand() {
        fn walk(command: &clap::Command, path: &str, pages: &mut Vec<(String, String)>) {
            let mut command = command.clone().term_width(100);
            pages.push((path.to_string(), command.render_long_help().to_string()));
            for sub in command.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &format!("{path} {}", sub.get_name()), pages);
                }
            }
        }
        let mut pages = Vec::new();
        walk(&Cli::command(), "bulkops", &mut pages);
        assert!(pages.len() > 15, "{} help pages", pages.len());
        for (path, help) in pages {
            insta::assert_snapshot!(path.replace(' ', "_"), help);
        }
    }
}
