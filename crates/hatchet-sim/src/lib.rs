//! hatchet-sim: a stateful, in-memory simulator of the Hatchet REST API subset that bulk
//! cancel/replay/delete/reschedule tools use (see `docs/hatchet-contract.md`), with fault
//! injection and a control API (`/_sim/...`) for tests.

mod errors;
mod faults;
mod query;
mod routes;
mod state;
mod token;
mod views;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::state::AppState;
use crate::token::TokenAuthority;

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// 0 picks any free port.
    pub port: u16,
    /// How long after an accepted cancel the runs flip to CANCELLED.
    pub cancel_delay: Duration,
    /// How long after an accepted replay the runs turn QUEUED (and as long again to COMPLETED).
    pub replay_delay: Duration,
    /// The tenant; random when `None`.
    pub tenant: Option<Uuid>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            port: 0,
            cancel_delay: Duration::from_millis(300),
            replay_delay: Duration::from_millis(300),
            tenant: None,
        }
    }
}

/// A simulator serving on 127.0.0.1.
pub struct RunningSim {
    pub url: String,
    pub token: String,
    pub tenant: Uuid,
    pub addr: SocketAddr,
    server: JoinHandle<io::Result<()>>,
}

impl RunningSim {
    /// Serves until the server fails.
    pub async fn wait(self) -> io::Result<()> {
        self.server.await.map_err(io::Error::other)?
    }
}

/// Binds 127.0.0.1:`port`, mints the token and starts serving in the background.
pub async fn start(config: SimConfig) -> io::Result<RunningSim> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let tenant = config.tenant.unwrap_or_else(Uuid::new_v4);
    let auth = TokenAuthority::mint(tenant, &url, addr.port());
    let token = auth.token().to_string();
    let state = Arc::new(AppState::new(
        tenant,
        auth,
        config.cancel_delay,
        config.replay_delay,
    ));
    let app = routes::router(state);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(RunningSim {
        url,
        token,
        tenant,
        addr,
        server,
    })
}
