//! Query strings the way oapi-codegen binds them: form style with explode, so arrays repeat
//! the key (`statuses=FAILED&statuses=CANCELLED`). Binding errors are 400 `{"message"}`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::errors::ApiError;

/// The decoded `key=value` pairs of one request, in order.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Query(pairs)
    }

    pub fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn time(&self, key: &'static str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.first(key)
            .map(|v| parse_time(v).map_err(|e| ApiError::bad_param(key, e)))
            .transpose()
    }

    pub fn required_time(&self, key: &'static str) -> Result<DateTime<Utc>, ApiError> {
        self.time(key)?
            .ok_or_else(|| ApiError::bad_param(key, format!("query parameter '{key}' is required")))
    }

    pub fn int(&self, key: &'static str) -> Result<Option<i64>, ApiError> {
        self.first(key)
            .map(|v| v.parse::<i64>().map_err(|e| ApiError::bad_param(key, e)))
            .transpose()
    }

    pub fn bool(&self, key: &'static str) -> Result<Option<bool>, ApiError> {
        self.first(key)
            .map(|v| v.parse::<bool>().map_err(|e| ApiError::bad_param(key, e)))
            .transpose()
    }

    pub fn uuid(&self, key: &'static str) -> Result<Option<Uuid>, ApiError> {
        self.first(key)
            .map(|v| v.parse::<Uuid>().map_err(|e| ApiError::bad_param(key, e)))
            .transpose()
    }

    pub fn uuids(&self, key: &'static str) -> Result<Vec<Uuid>, ApiError> {
        self.all(key)
            .into_iter()
            .map(|v| v.parse::<Uuid>().map_err(|e| ApiError::bad_param(key, e)))
            .collect()
    }
}

pub fn parse_time(value: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(value).map(|t| t.with_timezone(&Utc))
}

/// `key:value` split at the FIRST colon; entries without a colon are dropped (run filters).
pub fn metadata_pairs_lenient(entries: &[&str]) -> Vec<(String, String)> {
    entries
        .iter()
        .filter_map(|e| e.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `key:value` with EXACTLY one colon (scheduled and cron filters); `None` if any entry is bad.
pub fn metadata_pairs_strict<S: AsRef<str>>(entries: &[S]) -> Option<Vec<(String, String)>> {
    entries
        .iter()
        .map(|e| {
            let parts: Vec<&str> = e.as_ref().split(':').collect();
            match parts.as_slice() {
                [k, v] => Some((k.to_string(), v.to_string())),
                _ => None,
            }
        })
        .collect()
}
