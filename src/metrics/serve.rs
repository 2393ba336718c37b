//! `GET /metrics` over HTTP: a router the service mounts, and a listener of its own for a job
//! the CLI runs (`--metrics-addr`), alive as long as its `Exporter`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::{process, Registry};

/// The Prometheus text format's media type, as scrapers ask for it.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot serve metrics on {addr}: {source}: pass another --metrics-addr (or BULKOPS_METRICS_ADDR), e.g. 127.0.0.1:9090")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// `GET /metrics` of this process's registry (`process()`).
pub fn router() -> Router {
    Registry::router(process())
}

impl Registry {
    /// `GET /metrics` of this registry.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new().route(
            "/metrics",
            get(move || {
                let text = self.render();
                async move { ([(header::CONTENT_TYPE, TEXT_FORMAT)], text).into_response() }
            }),
        )
    }
}

/// Serves `router()` on its own address until dropped.
#[derive(Debug)]
pub struct Exporter {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Exporter {
    /// Listens on `addr` (port 0: any free port) at once, so that an address in use or not
    /// this host's is refused before the job sends anything; serves on the current runtime.
    pub async fn start(addr: SocketAddr, routes: Router) -> Result<Exporter, MetricsError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| MetricsError::Bind { addr, source })?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, routes).await {
                tracing::warn!(%addr, "metrics stopped being served: {e}");
            }
        });
        tracing::info!(%addr, "serving metrics at http://{addr}/metrics");
        Ok(Exporter { addr, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}
