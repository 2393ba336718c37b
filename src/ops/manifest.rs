//! Selection from a manifest (`--ids-file FILE` or `-` for stdin): one id per line or a JSON
//! array. Every id is validated as a UUID before anything is sent. The normalised list (lower
//! case, first occurrence kept) is hashed into `Selector.ids_digest` and copied into the state
//! store when the job is created, so a resume never depends on the file still being there.

use std::io::Read;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::OpError;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("cannot read the ids file {path}: {reason}: check the path")]
    Read { path: String, reason: String },
    #[error("ids file line {line}: '{text}' is not a UUID: fix or remove that line")]
    BadLine { line: usize, text: String },
    #[error("ids file JSON array item {index}: {text} is not a UUID string: fix that item")]
    BadItem { index: usize, text: String },
    #[error(
        "the ids file is not a JSON array of strings ({0}): write one id per line or a JSON array"
    )]
    Json(String),
    #[error("the ids file lists no ids: give at least one id")]
    Empty,
    /// `index` counts from 0, as the request's JSON array does (`ids[1]` is its second item).
    #[error("ids[{index}]: {text:?} is not a UUID: fix or remove that item")]
    BadId { index: usize, text: String },
    #[error("ids lists no id: give at least one")]
    NoIds,
}

/// A validated, normalised list of ids and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub ids: Vec<String>,
    pub digest: String,
}

/// The text of file `path`, or of standard input for `-`.
pub fn read_input(path: &str) -> std::io::Result<String> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
    }
}

impl Manifest {
    /// Reads `path`, or standard input for `-`.
    pub fn read(path: &str) -> Result<Self, ManifestError> {
        let read_err = |e: std::io::Error| ManifestError::Read {
            path: path.to_string(),
            reason: e.to_string(),
        };
        Manifest::parse(&read_input(path).map_err(read_err)?)
    }

    /// Parses one id per line (blank lines and `#` comments ignored) or a JSON array.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let ids = if text.trim_start().starts_with('[') {
            let values: Vec<serde_json::Value> =
                serde_json::from_str(text).map_err(|e| ManifestError::Json(e.to_string()))?;
            values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .and_then(normalize)
                        .ok_or_else(|| ManifestError::BadItem {
                            index: i + 1,
                            text: v.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            text.lines()
                .enumerate()
                .map(|(i, line)| (i + 1, line.trim()))
                .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
                .map(|(n, line)| {
                    normalize(line).ok_or_else(|| ManifestError::BadLine {
                        line: n,
                        text: line.chars().take(80).collect(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        if ids.is_empty() {
            return Err(ManifestError::Empty);
        }
        Ok(Manifest::from_normalized(ids))
    }

    /// A manifest from ids given as a list (a request's `ids`), each checked as a file's line.
    pub fn from_list(ids: &[String]) -> Result<Self, ManifestError> {
        let ids = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                normalize(id).ok_or_else(|| ManifestError::BadId {
                    index: i,
                    text: id.chars().take(80).collect(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Err(ManifestError::NoIds);
        }
        Ok(Manifest::from_normalized(ids))
    }

    /// A manifest from ids already validated (as copied into the store).
    pub fn from_normalized(ids: Vec<String>) -> Self {
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<String> = ids
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let mut hasher = Sha256::new();
        for id in &ids {
            hasher.update(id.as_bytes());
            hasher.update(b"\n");
        }
        let digest = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Manifest { ids, digest }
    }
}

fn normalize(text: &str) -> Option<String> {
    Uuid::parse_str(text.trim())
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// Walks a manifest in pages with an offset cursor.
#[derive(Clone)]
pub struct IdPages {
    ids: Arc<Vec<String>>,
    page: usize,
}

impl IdPages {
    pub fn new(ids: Vec<String>, page: usize) -> Self {
        IdPages {
            ids: Arc::new(ids),
            page: page.max(1),
        }
    }

    pub fn initial_cursor() -> String {
        "0".to_string()
    }

    /// The ids of the page at `cursor` and the cursor after it (`None` at the end).
    pub fn next(&self, cursor: &str) -> Result<(&[String], Option<String>), OpError> {
        let offset: usize = cursor
            .parse()
            .map_err(|_| OpError::Cursor(format!("manifest offset '{cursor}'")))?;
        let start = offset.min(self.ids.len());
        let end = (start + self.page).min(self.ids.len());
        let next = (end < self.ids.len()).then(|| end.to_string());
        Ok((&self.ids[start..end], next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "6f1c2d3e-0000-4000-8000-000000000001";
    const B: &str = "6F1C2D3E-0000-4000-8000-000000000002";

    #[test]
    fn lines_and_json_give_the_same_normalised_list() {
        let lines = Manifest::parse(&format!("{A}\n\n# comment\n {B} \n{A}\n")).unwrap();
        let json = Manifest::parse(&format!("[\"{A}\", \"{B}\"]")).unwrap();
        assert_eq!(lines, json);
        assert_eq!(lines.ids, vec![A.to_string(), B.to_lowercase()]);
        assert_eq!(lines.digest.len(), 64);
        assert_ne!(lines.digest, Manifest::parse(A).unwrap().digest);
    }

    #[test]
    fn a_malformed_entry_is_named() {
        assert_eq!(
            Manifest::parse(&format!("{A}\nnot-a-uuid\n")),
            Err(ManifestError::BadLine {
                line: 2,
                text: "not-a-uuid".into()
            })
        );
        assert!(matches!(
            Manifest::parse(&format!("[\"{A}\", 7]")),
            Err(ManifestError::BadItem { index: 2, .. })
        ));
        assert_eq!(Manifest::parse("\n# nothing\n"), Err(ManifestError::Empty));
        assert!(matches!(
            Manifest::parse("[oops"),
            Err(ManifestError::Json(_))
        ));
    }

    #[test]
    fn pages_walk_every_id_once() {
        let ids: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        let pages = IdPages::new(ids, 2);
        let mut cursor = Some(IdPages::initial_cursor());
        let mut seen = Vec::new();
        while let Some(at) = cursor {
            let (page, next) = pages.next(&at).unwrap();
            seen.extend(page.iter().cloned());
            cursor = next;
        }
        assert_eq!(seen, vec!["0", "1", "2", "3", "4"]);
        assert!(pages.next("x").is_err());
    }

    mod never_panic {
        use proptest::prelude::*;

        use super::super::*;

        /// Lines that are ids, near-ids, comments or anything.
        fn line() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[0-9a-fA-F-]{30,40}",
                "\\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\}?",
                "#.*",
            ]
        }

        fn json() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                line().prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(3, 16, 4, |inner| {
                prop::collection::vec(inner, 0..4).prop_map(serde_json::Value::from)
            })
        }

        proptest! {
            #[test]
            fn any_text_parses_or_fails(text in any::<String>()) {
                let _ = Manifest::parse(&text);
            }

            #[test]
            fn any_lines_parse_or_fail(lines in prop::collection::vec(line(), 0..8)) {
                if let Ok(m) = Manifest::parse(&lines.join("\n")) {
                    prop_assert!(!m.ids.is_empty());
                }
            }

            #[test]
            fn any_json_array_parses_or_fails(items in prop::collection::vec(json(), 0..6)) {
                let text = serde_json::Value::from(items).to_string();
                let _ = Manifest::parse(&text);
            }
        }
    }
}
