//! The OpenAPI document of the service, written by hand (docs/serve-openapi.yaml) and served
//! as it is checked in.

use axum::http::header;
use axum::response::IntoResponse;

pub(super) const DOCUMENT: &str = include_str!("../../docs/serve-openapi.yaml");

/// `GET /openapi.yaml`.
pub(super) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], DOCUMENT)
}

#[cfg(test)]
/// The operations the document's `paths` declare, as (method, path): a path is a line of two
/// spaces' indent under `paths:`, its methods the lines of four spaces' indent under it.
fn declared(document: &str) -> Vec<(String, String)> {
    let mut declared = Vec::new();
    let mut in_paths = false;
    let mut path: Option<String> = None;
    for line in document.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_paths = line.trim_end() == "paths:";
            path = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let key = line.trim().strip_suffix(':');
        match (indent, key) {
            (2, Some(key)) => path = Some(key.trim_matches('"').to_string()),
            (4, Some(method)) => {
                if let Some(path) = &path {
                    declared.push((method.to_string(), path.clone()));
                }
            }
            _ => {}
        }
    }
    declared
}

#[cfg(test)]
mod tests {
    use super::*;

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    #[test]
    fn the_document_declares_exactly_the_routes_of_the_router() {
        let routes: Vec<(String, String)> = super::super::route_list()
            .into_iter()
            .map(|(verb, path)| (verb.as_str().to_string(), path.to_string()))
            .collect();
        let declared: Vec<(String, String)> = declared(DOCUMENT)
            .into_iter()
            .filter(|(method, _)| METHODS.contains(&method.as_str()))
            .collect();
        for route in &routes {
            assert!(
                declared.contains(route),
                "{route:?} is routed but not in docs/serve-openapi.yaml"
            );
        }
        for operation in &declared {
            assert!(
                routes.contains(operation),
                "{operation:?} is in docs/serve-openapi.yaml but not routed"
            );
        }
        assert!(
            DOCUMENT.starts_with("openapi: 3.1."),
            "an OpenAPI 3.1 document"
        );
    }

    #[test]
    fn paths_and_their_methods_are_read_from_the_paths_section_only() {
        let document = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      summary: x\n  /b/{id}:\n    post:\n      x:\n        y: z\ncomponents:\n  schemas:\n    get:\n";
        assert_eq!(
            declared(document),
            vec![
                ("get".to_string(), "/a".to_string()),
                ("post".to_string(), "/b/{id}".to_string())
            ]
        );
    }
}
