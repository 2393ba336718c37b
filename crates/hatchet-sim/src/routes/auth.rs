//! Bearer-token authentication for `/api/v1`.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::errors::ApiError;
use crate::state::Shared;

/// Accepts a request whose `Authorization` carries a valid token for the sim's tenant and,
/// on tenant-scoped paths, names that same tenant. A path naming any other tenant is 404
/// `{"message":"not found"}` whatever the token (Hatchet looks the tenant up first,
/// docs/hatchet-behaviour.md D15); anything else is 403.
pub async fn require_token(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let token_tenant = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .and_then(|token| state.auth.verify(token));
    let path_ok = match path_tenant(req.uri().path()) {
        Some(segment) => segment.parse::<Uuid>().ok() == Some(state.tenant),
        None => true,
    };
    if !path_ok {
        ApiError::NotFound("not found").into_response()
    } else if token_tenant == Some(state.tenant) {
        next.run(req).await
    } else {
        ApiError::Forbidden.into_response()
    }
}

/// Hatchet splits the header on the literal, case-sensitive `Bearer` and trims the rest.
fn bearer_token(value: &str) -> Option<&str> {
    let mut parts = value.split("Bearer");
    let (_, token) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some(token.trim())
}

/// The `{tenant}` segment of a tenant-scoped path, if any.
fn path_tenant(path: &str) -> Option<&str> {
    let mut segments = path.split('/');
    segments.by_ref().find(|s| *s == "tenants")?;
    segments.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_is_case_sensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), None);
        assert_eq!(bearer_token("Bearer a Bearer b"), None);
    }

    #[test]
    fn tenant_segment_is_found() {
        assert_eq!(
            path_tenant("/api/v1/stable/tenants/xyz/tasks/cancel"),
            Some("xyz")
        );
        assert_eq!(path_tenant("/api/v1/stable/workflow-runs/abc"), None);
    }
}
