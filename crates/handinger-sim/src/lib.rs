//! handinger-sim: a stateful, in-memory simulator of Handinger's worker-schedules REST API (list,
//! create, cancel; see `docs/handinger-contract.md`), with fault injection and a control API
//! (`/_sim/...`) for tests. It counts creates per logical schedule, so a duplicated create shows.

mod faults;
mod routes;
mod state;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use state::When;

use crate::state::AppState;

/// How to start a simulator.
#[derive(Clone, Debug, Default)]
pub struct SimConfig {
    /// 0 picks any free port.
    pub port: u16,
    /// The API key the sim accepts; random when `None`.
    pub api_key: Option<String>,
}

/// A simulator serving on 127.0.0.1.
pub struct RunningSim {
    pub url: String,
    pub api_key: String,
    pub addr: SocketAddr,
    server: JoinHandle<io::Result<()>>,
}

impl RunningSim {
    /// Serves until the server fails.
    pub async fn wait(self) -> io::Result<()> {
        self.server.await.map_err(io::Error::other)?
    }
}

/// Binds 127.0.0.1:`port` and starts serving in the background.
pub async fn start(config: SimConfig) -> io::Result<RunningSim> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
    let addr = listener.local_addr()?;
    let api_key = config
        .api_key
        .unwrap_or_else(|| format!("hk_sim_{}", uuid::Uuid::new_v4().simple()));
    let state = Arc::new(AppState::new(api_key.clone()));
    let app = routes::router(state);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(RunningSim {
        url: format!("http://{addr}"),
        api_key,
        addr,
        server,
    })
}
