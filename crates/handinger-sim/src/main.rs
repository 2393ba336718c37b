//! `handinger-sim`: serves the simulator and prints one JSON line `{url, api_key}`.

use std::process::ExitCode;

use clap::Parser;

/// A stateful simulator of Handinger's worker-schedules REST API, with fault injection.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1; 0 picks any free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The API key to accept; random when omitted.
    #[arg(long)]
    api_key: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = handinger_sim::SimConfig {
        port: args.port,
        api_key: args.api_key,
    };
    let sim = match handinger_sim::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("handinger-sim: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let line = serde_json::json!({ "url": sim.url, "api_key": sim.api_key });
    let url = sim.url.clone();
    sim_kit::announce_and_serve("handinger-sim", &url, line, sim.wait()).await
}
