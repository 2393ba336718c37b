//! The integration suite: real `bulkops` processes against the `hatchet-sim` simulator, each
//! test with its own simulator on 127.0.0.1:0 and its own state file.

mod app;
mod bad_input;
mod cancel;
mod causes;
mod colour;
mod config_show;
mod control;
mod errors;
mod generated;
mod handinger;
mod language;
mod metrics;
mod migration;
mod ops;
mod outage;
mod output;
mod pace;
mod replicas;
mod report;
mod safety;
mod serve;
mod state;
mod support;
mod tell;
mod tls;
mod truth;
mod watch;
