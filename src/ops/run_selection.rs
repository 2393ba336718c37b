use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OpError;
use crate::backend::hatchet::{HatchetClient, HatchetError, RunFilter};
use crate::engine::Caller;
use crate::job::{MetadataPair, RunStatus, Window};

/// A run found by enumeration. `retry_count` is known when the list endpoint was used.
#[derive(Debug, Clone)]
pub struct FoundRun {
    pub id: String,
    pub retry_count: Option<i64>,
}

/// Walks the frozen window in disjoint, adaptive time slices `(since, until]`, oldest first.
///
/// With at most one metadata pair it reads `external-ids` (ids only, whole slice per call,
/// `since` strict). Several pairs must all match, but that endpoint ORs them, so it then pages the
/// list endpoint with `additional_metadata_operator=AND`, no server-side status filter (so
/// status changes cannot shift its offsets), and checks status and every pair client-side.
/// Operations that need per-run data (replay) always use the list endpoint.
pub struct RunSelection {
    client: HatchetClient,
    window: Window,
    filter: RunFilter,
    use_list: bool,
    target_per_slice: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct SliceCursor {
    since: DateTime<Utc>,
    width_ms: i64,
}

/// What a page covered, stored with it for verification.
#[derive(Debug, Serialize, Deserialize)]
pub struct SliceScope {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

const MIN_WIDTH_MS: i64 = 1_000;
const LIST_PAGE: usize = 1_000;
/// A slice over this many ids is split before it is committed, to bound memory per page.
const HARD_MAX_FACTOR: usize = 10;
const SLOW_SLICE: Duration = Duration::from_secs(5);

impl RunSelection {
    pub fn new(
        client: HatchetClient,
        window: Window,
        statuses: Vec<RunStatus>,
        workflow_ids: Vec<String>,
        metadata: Vec<MetadataPair>,
        need_run_details: bool,
        target_per_slice: usize,
    ) -> Self {
        let use_list = need_run_details || metadata.len() > 1;
        RunSelection {
            client,
            window,
            filter: RunFilter {
                statuses,
                workflow_ids,
                metadata,
            },
            use_list,
            target_per_slice: target_per_slice.max(1),
        }
    }

    pub fn client(&self) -> &HatchetClient {
        &self.client
    }

    pub fn filter(&self) -> &RunFilter {
        &self.filter
    }

    pub fn initial_cursor(&self) -> String {
        let span = (self.window.until - self.window.since).num_milliseconds();
        let cursor = SliceCursor {
            since: self.window.since,
            width_ms: span.clamp(MIN_WIDTH_MS, 3_600_000),
        };
        serde_json::to_string(&cursor).unwrap_or_default()
    }

    /// Reads the next slice. Returns its runs, the next cursor (`None` at the end of the
    /// window) and the slice's scope.
    pub async fn next_slice(
        &self,
        caller: &Caller,
        cursor: &str,
    ) -> Result<(Vec<FoundRun>, Option<String>, serde_json::Value), OpError> {
        let cursor: SliceCursor =
            serde_json::from_str(cursor).map_err(|e| OpError::Cursor(e.to_string()))?;
        let mut width = cursor.width_ms.max(MIN_WIDTH_MS);
        loop {
            let until = (cursor.since + chrono::Duration::milliseconds(width)).min(self.window.until);
            let splittable = width > MIN_WIDTH_MS && until > cursor.since;
            match self.fetch(caller, cursor.since, until).await {
                Ok((runs, _)) if splittable && runs.len() > self.target_per_slice * HARD_MAX_FACTOR => {
                    width /= 2;
                }
                Ok((runs, elapsed)) => {
                    let next = (until < self.window.until).then(|| SliceCursor {
                        since: until,
                        width_ms: self.adapt(width, runs.len(), elapsed),
                    });
                    let scope = serde_json::json!(SliceScope {
                        since: cursor.since,
                        until
                    });
                    let next = next.map(|c| serde_json::to_string(&c).unwrap_or_default());
                    return Ok((runs, next, scope));
                }
                // A slice the server cannot answer in time is split rather than given up on.
                Err(e) if splittable && is_overload(&e) => {
                    tracing::info!(width_ms = width, "slice failed ({e}); splitting it");
                    width /= 2;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn adapt(&self, width: i64, found: usize, elapsed: Duration) -> i64 {
        let span = (self.window.until - self.window.since).num_milliseconds().max(MIN_WIDTH_MS);
        let next = if found > self.target_per_slice * 2 || elapsed > SLOW_SLICE {
            width / 2
        } else if found < self.target_per_slice / 4 {
            width.saturating_mul(2)
        } else {
            width
        };
        next.clamp(MIN_WIDTH_MS, span)
    }

    async fn fetch(
        &self,
        caller: &Caller,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(Vec<FoundRun>, Duration), HatchetError> {
        if !self.use_list {
            let (result, _) = caller
                .call(true, || self.client.external_ids(&self.filter, since, until))
                .await;
            let (ids, elapsed) = result?;
            let runs = ids
                .into_iter()
                .map(|id| FoundRun {
                    id,
                    retry_count: None,
                })
                .collect();
            return Ok((runs, elapsed));
        }
        // Unfiltered by status server-side, so rows cannot move between pages while paging.
        let unfiltered = RunFilter {
            statuses: Vec::new(),
            ..self.filter.clone()
        };
        let wanted: HashSet<&str> = self.filter.statuses.iter().map(|s| s.as_str()).collect();
        let mut runs = Vec::new();
        let mut seen = HashSet::new();
        let mut elapsed = Duration::ZERO;
        let mut offset = 0;
        loop {
            let (result, _) = caller
                .call(true, || {
                    self.client
                        .list_runs(&unfiltered, since, until, offset, LIST_PAGE)
                })
                .await;
            let page = result?;
            elapsed += page.elapsed;
            let rows = page.rows.len();
            for row in page.rows {
                let status_ok = wanted.is_empty() || wanted.contains(row.status.as_str());
                let metadata_ok = self
                    .filter
                    .metadata
                    .iter()
                    .all(|pair| pair.matches(row.additional_metadata.as_ref()));
                if status_ok && metadata_ok && seen.insert(row.metadata.id.clone()) {
                    runs.push(FoundRun {
                        id: row.metadata.id,
                        retry_count: row.retry_count,
                    });
                }
            }
            // `num_pages` and `next_page` never say "last page" (CONTRACT b.1): a short page does.
            if rows < LIST_PAGE {
                return Ok((runs, elapsed));
            }
            offset += LIST_PAGE;
        }
    }

    /// Ids among `ids` that are in `statuses` now, within `scope` (one external-ids call).
    pub async fn in_status(
        &self,
        caller: &Caller,
        scope: &SliceScope,
        statuses: &[RunStatus],
    ) -> Result<HashSet<String>, HatchetError> {
        let filter = RunFilter {
            statuses: statuses.to_vec(),
            ..self.filter.clone()
        };
        // The list endpoint's `since` is inclusive, external-ids' strict: widen by a hair.
        let since = scope.since - chrono::Duration::milliseconds(1);
        let (result, _) = caller
            .call(true, || self.client.external_ids(&filter, since, scope.until))
            .await;
        Ok(result?.0.into_iter().collect())
    }
}

fn is_overload(e: &HatchetError) -> bool {
    matches!(e, HatchetError::Timeout(_)) || e.status().is_some_and(|s| s >= 500)
}
