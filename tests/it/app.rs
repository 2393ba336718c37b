//! The application layer driven in process, without clap: a request in domain values, a front
//! end that records what it is asked and told, and the outcome; against the simulator.

use std::path::Path;
use std::time::Duration;

use bulkops::app::{
    self, BulkopsExitCode, Confirmation, Credentials, End, Error, Event, Execution, Frontend,
    JobCommand, JobRequest, Outcome, StopSignal,
};
use bulkops::config::{Overrides, Settings};
use bulkops::engine::{NoProgress, Progress};
use bulkops::job::{OperationKind, RunStatus, SelectorFields, TimeSpec};
use serde_json::json;

use crate::support::{seed_runs, Sim};

/// Records every question and event; answers questions with `answer`.
struct Recorder {
    can_ask: bool,
    answer: bool,
    asked: Vec<u64>,
    events: Vec<Event>,
}

impl Recorder {
    fn new(can_ask: bool, answer: bool) -> Self {
        Recorder {
            can_ask,
            answer,
            asked: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl Frontend for Recorder {
    fn can_ask(&self) -> bool {
        self.can_ask
    }

    fn confirm(&mut self, confirmation: &Confirmation<'_>) -> Result<bool, std::io::Error> {
        self.asked.push(confirmation.found.to_act_on());
        Ok(self.answer)
    }

    fn progress(&mut self, _job: &str, _verify_timeout: Option<Duration>) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }

    fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    fn stop_signal(&mut self) -> StopSignal {
        Box::pin(std::future::pending())
    }
}

fn settings(state: &Path) -> Settings {
    let overrides = Overrides {
        state: Some(state.to_path_buf()),
        rate: Some(1000.0),
        verify_timeout: Some("30s".into()),
        ..Overrides::default()
    };
    Settings::load(None, &overrides, std::iter::empty()).expect("settings")
}

fn credentials(sim: &Sim) -> Credentials {
    Credentials {
        token: Some(sim.token.clone()),
        server_url: Some(sim.url.clone()),
        ..Credentials::default()
    }
}

fn cancel_queued(workflow: &str) -> JobRequest {
    JobRequest {
        kind: OperationKind::RunsCancel,
        selector: SelectorFields {
            since: Some(TimeSpec::parse("since", "24h").expect("since")),
            statuses: vec![RunStatus::Queued],
            workflows: vec![workflow.into()],
            ..SelectorFields::default()
        },
        manifest: None,
    }
}

/// Runs `f` on one System, as the CLI does for its whole process.
fn on_system<T>(f: impl std::future::Future<Output = T>) -> T {
    actix::System::new().block_on(f)
}

#[test]
fn the_app_runs_a_cancel_in_process_asks_first_and_reports_an_outcome() {
    let sim = Sim::start();
    seed_runs(&sim, 120, "QUEUED", "wf", 10, 1, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(&dir.path().join("state.db"));
    let credentials = credentials(&sim);

    // Asked and refused: nothing sent, no job.
    let mut refusing = Recorder::new(true, false);
    let refused = on_system(app::run_job(
        &settings,
        &credentials,
        JobCommand::New(Box::new(cancel_queued("wf"))),
        &Execution::default(),
        &mut refusing,
    ));
    assert!(matches!(refused, Err(Error::NotConfirmed)), "{refused:?}");
    assert_eq!(refusing.asked, vec![120]);
    assert!(refusing.events.is_empty());
    assert_eq!(sim.mutating_requests(), 0);

    // Asked and confirmed: the job runs to its end, every run cancelled.
    let mut confirming = Recorder::new(true, true);
    let outcome = on_system(app::run_job(
        &settings,
        &credentials,
        JobCommand::New(Box::new(cancel_queued("wf"))),
        &Execution::default(),
        &mut confirming,
    ))
    .expect("the job runs");
    assert_eq!(confirming.asked, vec![120]);
    assert_eq!(outcome.exit_code(), BulkopsExitCode::OK);
    let Outcome::Ran(run) = outcome else {
        panic!("a job ran: {outcome:?}")
    };
    assert!(matches!(run.end, End::Finished { .. }), "{:?}", run.end);
    assert_eq!((run.counts.total, run.counts.done), (120, 120));
    assert_eq!(
        confirming.events,
        vec![Event::Begun {
            job: run.job.id.clone(),
            resumed: false
        }]
    );
    assert_eq!(sim.count("wf", "CANCELLED"), 120);

    // A finished job is not resumed; its undo writes the ids it cancelled for their replay.
    let resumed = on_system(app::run_job(
        &settings,
        &credentials,
        JobCommand::Resume {
            job: run.job.id.clone(),
        },
        &Execution::default(),
        &mut confirming,
    ));
    assert!(
        matches!(
            &resumed,
            Err(Error::NothingToResume {
                state: "finished",
                ..
            })
        ),
        "{resumed:?}"
    );
    let undone = on_system(app::run_job(
        &settings,
        &credentials,
        JobCommand::Undo {
            job: run.job.id.clone(),
        },
        &Execution::default(),
        &mut confirming,
    ))
    .expect("an undo");
    let Outcome::ReplayOffered(offer) = undone else {
        panic!("a replay offered: {undone:?}")
    };
    assert_eq!(offer.cancelled, 120);
    let ids = std::fs::read_to_string(&offer.ids_file).unwrap();
    assert_eq!(ids.lines().count(), 120);
    assert!(offer
        .command
        .ends_with(&offer.ids_file.display().to_string()));
}

#[test]
fn the_app_without_anyone_to_ask_needs_yes_and_a_dry_run_changes_nothing() {
    let sim = Sim::start();
    seed_runs(&sim, 30, "QUEUED", "wf", 10, 1, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(&dir.path().join("state.db"));
    let credentials = credentials(&sim);

    let mut nobody = Recorder::new(false, true);
    let unasked = on_system(app::run_job(
        &settings,
        &credentials,
        JobCommand::New(Box::new(cancel_queued("wf"))),
        &Execution::default(),
        &mut nobody,
    ))
    .expect_err("refused");
    assert!(matches!(unasked, Error::NotATerminal), "{unasked:?}");
    assert_eq!(unasked.exit_code(), BulkopsExitCode::BAD_INPUT);

    let dry = Execution {
        dry_run: true,
        ..Execution::default()
    };
    let outcome = on_system(app::run_job(
        &settings,
        &credentials,
        JobCommand::New(Box::new(cancel_queued("wf"))),
        &dry,
        &mut nobody,
    ))
    .expect("a dry run");
    let Outcome::DryRun(found) = outcome else {
        panic!("a dry run: {outcome:?}")
    };
    assert_eq!(found.matching, 30);
    assert!(nobody.asked.is_empty());
    assert_eq!(sim.mutating_requests(), 0);

    // A workflow the server does not know is bad input, named, before anything is sent.
    let unknown = on_system(app::run_job(
        &settings,
        &credentials,
        JobCommand::New(Box::new(cancel_queued("no-such-workflow"))),
        &dry,
        &mut nobody,
    ))
    .expect_err("refused");
    assert!(
        matches!(&unknown, Error::UnknownWorkflow { workflow, .. } if workflow == "no-such-workflow"),
        "{unknown:?}"
    );
    assert_eq!(unknown.exit_code(), BulkopsExitCode::BAD_INPUT);
}
