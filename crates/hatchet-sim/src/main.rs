//! `hatchet-sim`: serves the simulator and prints one JSON line `{url, token, tenant}`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use uuid::Uuid;

/// A stateful simulator of the Hatchet REST API, with fault injection.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1; 0 picks any free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Delay before an accepted cancel flips runs to CANCELLED.
    #[arg(long, default_value_t = 300)]
    cancel_delay_ms: u64,
    /// Delay before a replayed run turns QUEUED, and again before it turns COMPLETED.
    #[arg(long, default_value_t = 300)]
    replay_delay_ms: u64,
    /// Tenant id; random when omitted.
    #[arg(long)]
    tenant: Option<Uuid>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = hatchet_sim::SimConfig {
        port: args.port,
        cancel_delay: Duration::from_millis(args.cancel_delay_ms),
        replay_delay: Duration::from_millis(args.replay_delay_ms),
        tenant: args.tenant,
    };
    let sim = match hatchet_sim::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("hatchet-sim: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let line = serde_json::json!({ "url": sim.url, "token": sim.token, "tenant": sim.tenant });
    let url = sim.url.clone();
    sim_kit::announce_and_serve("hatchet-sim", &url, line, sim.wait()).await
}
