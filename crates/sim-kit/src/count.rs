//! Counting `/api` requests per route template, faulted or not, for `/_sim/stats`.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// A simulator's state that keeps request counts.
pub trait CountsRoutes: Send + Sync + 'static {
    /// One request to `route` (`METHOD /route/template`); `mutating` when it may change state.
    fn count_route(&self, route: String, mutating: bool);
}

/// Middleware: counts each `/api` request under its route template (the matched path, so ids
/// do not make a route of their own).
pub async fn count_request<S: CountsRoutes>(
    State(state): State<Arc<S>>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path().starts_with("/api/") {
        let template = req
            .extensions()
            .get::<MatchedPath>()
            .map_or("(unmatched)", |m| m.as_str());
        let route = format!("{} {template}", req.method());
        let mutating = matches!(
            *req.method(),
            Method::POST | Method::PATCH | Method::DELETE | Method::PUT
        );
        state.count_route(route, mutating);
    }
    next.run(req).await
}
