//! `bulkops serve`: this process's settings and connection, handed to the service, and the
//! address it listens on printed on stdout (a free port when `--listen` asked for port 0);
//! with `--check-config`, what it would listen on once everything checked (its addresses bound
//! and let go again).

use super::args::{GlobalArgs, Output, ServeArgs};
use super::output::outln;
use super::request::{load_settings, ExecFlags};
use crate::app::{Credentials, Error};
use crate::config::Overrides;
use crate::metrics::Exporter;
use crate::serve::Service;

pub async fn run(global: &GlobalArgs, args: &ServeArgs) -> Result<u8, Error> {
    let exec = ExecFlags {
        metrics_addr: args.metrics.metrics_addr.clone(),
        ..ExecFlags::default()
    };
    let settings = load_settings(global, &exec)?;
    let metrics_addr = settings.metrics_addr;
    let service = Service {
        listen: args.listen,
        config: global.config.clone(),
        // A submitted job's settings are these flags' and its own request's, layered as the
        // command line layers them.
        global: Overrides {
            state: global.state.clone(),
            reports_dir: global.reports_dir.clone(),
            log_format: global.log_format.clone(),
            ..Overrides::default()
        },
        settings,
        credentials: Credentials::from_env(),
        jobs_dir: args.jobs_dir.clone(),
    };
    let output = global.output;
    // Listening before the API does: an address in use is bad input, as for a job command.
    let metrics = match metrics_addr {
        Some(addr) => Some(Exporter::start(addr, crate::metrics::router()).await?),
        None => None,
    };
    if args.check_config {
        let scheduled = crate::serve::check(service).await?;
        // Bound as serve binds it, and let go.
        drop(metrics);
        let metrics = metrics_addr.map(|addr| addr.to_string());
        match output {
            Output::Json => outln!(
                "{}",
                serde_json::json!({"valid": true, "listen": args.listen.to_string(), "metrics_addr": metrics, "scheduled_jobs": scheduled})
            )?,
            Output::Text => outln!(
                "configuration valid: serve would listen on {}{}, with {scheduled} scheduled job{}",
                args.listen,
                metrics.map_or(String::new(), |m| format!(" (metrics on {m})")),
                if scheduled == 1 { "" } else { "s" }
            )?,
        }
        return Ok(crate::app::BulkopsExitCode::OK);
    }
    let _metrics = metrics;
    crate::serve::run(service, move |bound| match output {
        Output::Json => outln!(
            "{}",
            serde_json::json!({"listening": format!("http://{bound}")})
        ),
        Output::Text => outln!("listening on http://{bound}"),
    })
    .await
}
