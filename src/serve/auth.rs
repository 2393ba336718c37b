//! The bearer token every route but the probes needs. Compared in constant time, over SHA-256
//! digests of both sides: a byte-by-byte comparison that stops at the first difference tells,
//! by how long it took, how much of a guess was right, and `subtle`'s comparison of slices
//! returns at once on a different length; digests are of one length, so neither the token's
//! content nor its length shows in the time an answer takes.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Api, ApiError};
use crate::config::ApiToken;

/// Lets the request through when it carries the token (or when none is set: loopback only).
pub(super) async fn require(State(api): State<Api>, request: Request, next: Next) -> Response {
    let Some(token) = &api.0.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer);
    match given {
        Some(given) if matches(given, token) => next.run(request).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

/// The credentials of an `Authorization: Bearer …` header (the scheme in any case, RFC 7235).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, credentials) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

fn matches(given: &str, token: &ApiToken) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(token.expose().as_bytes());
    given.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_after_the_bearer_scheme_matches() {
        let token = crate::config::Settings::load(
            None,
            &crate::config::Overrides::default(),
            [("BULKOPS_API_TOKEN".into(), "s3cret-token".into())],
        )
        .expect("settings load")
        .api_token
        .expect("the token is a setting");
        assert_eq!(bearer("Bearer s3cret-token"), Some("s3cret-token"));
        assert_eq!(bearer("bearer  s3cret-token "), Some("s3cret-token"));
        assert_eq!(bearer("Basic czNjcmV0"), None);
        assert_eq!(bearer("s3cret-token"), None);
        assert!(matches("s3cret-token", &token));
        for wrong in [
            "",
            "s3cret-toke",
            "s3cret-token2",
            "S3CRET-TOKEN",
            "s3cret-tokeN",
        ] {
            assert!(!matches(wrong, &token), "{wrong:?} matched");
        }
        assert_eq!(format!("{token:?}"), "ApiToken(****)");
    }
}
