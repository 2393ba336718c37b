use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::manifest::IdPages;
use super::OpError;
use crate::backend::hatchet::models::{RunDetails, RunSummary, TaskSummary};
use crate::backend::hatchet::{HatchetClient, HatchetError, RunFilter};
use crate::engine::Caller;
use crate::job::{MetadataPair, RunStatus, Window};
use crate::store::{ItemState, NewItem};

/// What the server said about a run when it was read: enough to tell later whether it changed
/// (replay's baseline) and where it sits in time (for re-listing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSnapshot {
    pub status: String,
    /// The highest retry count of the run and its tasks.
    pub retry: i64,
    pub created_at: Option<DateTime<Utc>>,
    /// A DAG run's task ids (empty for a standalone task run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<String>,
}

fn highest_retry(own: Option<i64>, tasks: &[TaskSummary]) -> i64 {
    tasks
        .iter()
        .filter_map(|t| t.retry_count)
        .chain(own)
        .max()
        .unwrap_or(0)
}

impl RunSnapshot {
    pub fn of_summary(row: &RunSummary) -> Self {
        RunSnapshot {
            status: row.status.clone(),
            retry: highest_retry(row.retry_count, &row.children),
            // A DAG row's `createdAt` is its latest start (docs/hatchet-behaviour.md D13).
            created_at: row.metadata.created_at.or(row.created_at),
            tasks: row
                .children
                .iter()
                .map(|t| t.task_external_id.clone())
                .collect(),
        }
    }

    pub fn of_details(details: &RunDetails) -> Self {
        let id = &details.run.metadata.id;
        let standalone = matches!(&details.tasks[..], [only] if only.task_external_id == *id);
        RunSnapshot {
            status: details.run.status.clone(),
            retry: highest_retry(None, &details.tasks),
            created_at: details.run.metadata.created_at.or(details.run.created_at),
            tasks: if standalone {
                Vec::new()
            } else {
                details
                    .tasks
                    .iter()
                    .map(|t| t.task_external_id.clone())
                    .collect()
            },
        }
    }

    pub fn is_active(&self) -> bool {
        self.status
            .parse::<RunStatus>()
            .is_ok_and(RunStatus::is_active)
    }
}

/// A run found by enumeration. The snapshot is known when the list or details endpoint was
/// read; `None` from a manifest means the server does not know the id.
#[derive(Debug, Clone)]
pub struct FoundRun {
    pub id: String,
    pub snapshot: Option<RunSnapshot>,
    pub missing: bool,
}

impl FoundRun {
    /// A run known by its id alone, as external-ids gives it.
    fn unread(id: String) -> Self {
        FoundRun {
            id,
            snapshot: None,
            missing: false,
        }
    }

    /// The store item for this run; a manifest id the server does not know is settled as
    /// skipped at once.
    pub fn into_item(self, payload: Option<serde_json::Value>) -> NewItem {
        let missing = self.missing;
        let mut item = NewItem::new(self.id);
        item.payload = payload;
        if missing {
            item.settled = Some((
                ItemState::Skipped,
                "not found on the server (unknown id, or a run of another tenant)".into(),
            ));
        }
        item
    }
}

/// Walks the frozen window in disjoint, adaptive time slices `(since, until]`, oldest first.
///
/// With at most one metadata pair it reads `external-ids` (ids only, whole slice per call,
/// `since` strict). Several pairs must all match, but that endpoint ORs them, so it then pages the
/// list endpoint with `additional_metadata_operator=AND`, no server-side status filter (so
/// status changes cannot shift its offsets), and checks status and every pair client-side.
/// Operations that need per-run data (replay) always use the list endpoint.
///
/// No response (and no page held in memory) may carry more than `slice_cap` runs, however the
/// density changes across the window: an empty stretch grows the width, and the first dense
/// slice after it would otherwise be read whole before being split. So a slice whose size the
/// slice before it does not tell (the first one, one wider than the last, one just split) is
/// probed first with one list page over the same filters: a short page is the whole slice, and
/// its `num_pages` otherwise says whether to halve it before reading it. A slice after one that
/// held runs at that width is read at once, since its size is known to within the slicer's own
/// margin; a read that still comes back over the cap (the density jumped, or runs arrived) is
/// split after it. The probe replaces a read rather than adding one wherever slices are sparse,
/// so enumeration costs no more requests than it did: each takes a `--rate` slot like any other.
///
/// From a manifest (`--ids-file`) it reads each id's details instead, in pages; a page's scope
/// is then the span of its runs' creation times.
pub struct RunSelection {
    client: HatchetClient,
    window: Window,
    filter: RunFilter,
    use_list: bool,
    target_per_slice: usize,
    manifest: Option<IdPages>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SliceCursor {
    since: DateTime<Utc>,
    width_ms: i64,
    /// The slice before held runs at no narrower a width, so this one's size is known: it is read
    /// without a probe. Absent for the first slice and in cursors written before the probe.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    sized: bool,
}

/// What a page covered, stored with it for verification.
#[derive(Debug, Serialize, Deserialize)]
pub struct SliceScope {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

const MIN_WIDTH_MS: i64 = 1_000;
const LIST_PAGE: usize = 1_000;
/// A slice over this many times `slice_target` runs is split before it is read, to bound memory
/// per page. Twice the target, where `adapt` halves the next slice anyway; with 10 times, the
/// 1M-run bench peaked 2.5 MiB (+10%) above the 100k one (docs/benchmarks.md).
const HARD_MAX_FACTOR: usize = 2;
/// The list endpoint counts at most this many rows (docs/hatchet-contract.md §b.1): a probe
/// tells a slice's size below it and only "at least this" from it on.
const COUNTED_ROWS_MAX: usize = 20_000;
const SLOW_SLICE: Duration = Duration::from_secs(5);
/// Re-reading runs pages the list over their creation span through at most this many rows before
/// it falls back to one details call per run still unseen.
const REREAD_MAX_ROWS: usize = 10 * LIST_PAGE;
/// The smallest page of a re-read by status: a page of 100 rows costs a tenth of one of 1,000 on
/// Hatchet v0.104.7 (70 against 450 ms, docs/benchmarks.md).
const REREAD_MIN_PAGE: usize = 100;
/// Manifest ids per enumerated page (one details call each), and details calls in flight.
const MANIFEST_PAGE: usize = 1_000;
const DETAILS_IN_FLIGHT: usize = 8;

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
            manifest: None,
        }
    }

    /// Selection of exactly the runs listed in a manifest.
    pub fn from_manifest(client: HatchetClient, window: Window, ids: Vec<String>) -> Self {
        RunSelection {
            manifest: Some(IdPages::new(ids, MANIFEST_PAGE)),
            ..RunSelection::new(client, window, Vec::new(), Vec::new(), Vec::new(), true, 1)
        }
    }

    pub fn client(&self) -> &HatchetClient {
        &self.client
    }

    pub fn filter(&self) -> &RunFilter {
        &self.filter
    }

    pub fn initial_cursor(&self) -> String {
        if self.manifest.is_some() {
            return IdPages::initial_cursor();
        }
        let span = (self.window.until - self.window.since).num_milliseconds();
        let cursor = SliceCursor {
            since: self.window.since,
            width_ms: span.clamp(MIN_WIDTH_MS, 3_600_000),
            sized: false,
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
        if let Some(pages) = &self.manifest {
            return self.manifest_page(caller, pages, cursor).await;
        }
        let cursor: SliceCursor =
            serde_json::from_str(cursor).map_err(|e| OpError::Cursor(e.to_string()))?;
        let mut width = cursor.width_ms.max(MIN_WIDTH_MS);
        loop {
            let until =
                (cursor.since + chrono::Duration::milliseconds(width)).min(self.window.until);
            let splittable = width > MIN_WIDTH_MS && until > cursor.since;
            let read = if !splittable {
                self.fetch(caller, cursor.since, until, None).await
            } else if cursor.sized && width == cursor.width_ms {
                self.fetch(caller, cursor.since, until, Some(self.slice_cap()))
                    .await
            } else {
                self.probe(caller, cursor.since, until).await
            };
            match read {
                // Over the cap: counted so before the read, or seen in what it brought.
                Ok(None) => width /= 2,
                Ok(Some((runs, _))) if splittable && runs.len() > self.slice_cap() => width /= 2,
                Ok(Some((runs, elapsed))) => {
                    let next = (until < self.window.until).then(|| {
                        let width_ms = self.adapt(width, runs.len(), elapsed);
                        SliceCursor {
                            since: until,
                            width_ms,
                            sized: !runs.is_empty() && width_ms <= width,
                        }
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

    async fn manifest_page(
        &self,
        caller: &Caller,
        pages: &IdPages,
        cursor: &str,
    ) -> Result<(Vec<FoundRun>, Option<String>, serde_json::Value), OpError> {
        let (ids, next) = pages.next(cursor)?;
        let runs = self.snapshots(caller, ids).await?;
        let created: Vec<DateTime<Utc>> = runs
            .iter()
            .filter_map(|r| r.snapshot.as_ref()?.created_at)
            .collect();
        let scope = match (created.iter().min(), created.iter().max()) {
            (Some(&since), Some(&until)) => serde_json::json!(SliceScope { since, until }),
            _ => serde_json::Value::Null,
        };
        Ok((runs, next, scope))
    }

    /// Reads each run's details (a few calls in flight); unknown ids come back `missing`.
    pub async fn snapshots(
        &self,
        caller: &Caller,
        ids: &[String],
    ) -> Result<Vec<FoundRun>, HatchetError> {
        let reads: Vec<_> = ids.iter().map(|id| self.snapshot(caller, id)).collect();
        stream::iter(reads)
            .buffered(DETAILS_IN_FLIGHT)
            .collect::<Vec<Result<FoundRun, HatchetError>>>()
            .await
            .into_iter()
            .collect()
    }

    async fn snapshot(&self, caller: &Caller, id: &str) -> Result<FoundRun, HatchetError> {
        let (result, _) = caller
            .call("hatchet.runs.details", true, || self.client.run_details(id))
            .await;
        let snapshot = result?.as_ref().map(RunSnapshot::of_details);
        Ok(FoundRun {
            id: id.to_string(),
            missing: snapshot.is_none(),
            snapshot,
        })
    }

    /// The current state of these runs: pages the run list over the span of their creation
    /// times, newest first, until every run is seen; runs it does not reach are read one by one.
    /// A run absent from the result is unknown to the server. The list takes the selection's
    /// workflows and metadata (a replay changes neither) and, when given, only `statuses`: runs
    /// that left them are read one by one, so the answer is the same, and a read of runs
    /// expected unchanged lists only the ones still in their status, newest first as
    /// enumeration took them, in pages about the size of what is asked.
    pub async fn reread(
        &self,
        caller: &Caller,
        runs: &[(String, Option<DateTime<Utc>>)],
        statuses: &[RunStatus],
    ) -> Result<HashMap<String, RunSnapshot>, HatchetError> {
        let mut wanted: HashMap<&str, Option<DateTime<Utc>>> =
            runs.iter().map(|(id, at)| (id.as_str(), *at)).collect();
        let mut found = HashMap::new();
        let filter = RunFilter {
            statuses: statuses.to_vec(),
            ..self.filter.clone()
        };
        let page = if statuses.is_empty() {
            LIST_PAGE
        } else {
            (runs.len() * 2).clamp(REREAD_MIN_PAGE, LIST_PAGE)
        };
        let (mut listed, mut offset) = (0, 0);
        let mut span = creation_span(wanted.values());
        while let Some((since, until)) = span.filter(|_| listed < REREAD_MAX_ROWS) {
            let (result, _) = caller
                .call("hatchet.runs.list", true, || {
                    self.client.list_runs(&filter, since, until, offset, page)
                })
                .await;
            let rows = result?.rows;
            listed += rows.len();
            let short = rows.len() < page;
            for row in rows {
                if wanted.remove(row.metadata.id.as_str()).is_some() {
                    found.insert(row.metadata.id.clone(), RunSnapshot::of_summary(&row));
                }
            }
            if short {
                break;
            }
            // What is still wanted may sit in a narrower span (a run enumerated from an earlier
            // slice widens a request's span over everything between): list only that one.
            let narrower = creation_span(wanted.values());
            offset = if narrower == span { offset + page } else { 0 };
            span = narrower;
        }
        let rest: Vec<String> = wanted.into_keys().map(str::to_string).collect();
        for run in self.snapshots(caller, &rest).await? {
            if let Some(snapshot) = run.snapshot {
                found.insert(run.id, snapshot);
            }
        }
        Ok(found)
    }

    /// One list page over the creation span of these runs, of at most `limit` rows in
    /// `statuses`, newest first, with the selection's workflows and metadata: the state of the
    /// runs it shows, and whether it shows every run of the span in those statuses (a short
    /// page), so that a run absent from it has left them.
    pub async fn page_in_status(
        &self,
        caller: &Caller,
        runs: &[(String, Option<DateTime<Utc>>)],
        statuses: &[RunStatus],
        limit: usize,
    ) -> Result<(HashMap<String, RunSnapshot>, bool), HatchetError> {
        let Some((since, until)) = creation_span(runs.iter().map(|(_, at)| at)) else {
            return Ok((HashMap::new(), false));
        };
        let filter = RunFilter {
            statuses: statuses.to_vec(),
            ..self.filter.clone()
        };
        let limit = limit.clamp(REREAD_MIN_PAGE, LIST_PAGE);
        let (result, _) = caller
            .call("hatchet.runs.list", true, || {
                self.client.list_runs(&filter, since, until, 0, limit)
            })
            .await;
        let rows = result?.rows;
        let complete = rows.len() < limit;
        let asked: HashSet<&str> = runs.iter().map(|(id, _)| id.as_str()).collect();
        let shown = rows
            .iter()
            .filter(|row| asked.contains(row.metadata.id.as_str()))
            .map(|row| (row.metadata.id.clone(), RunSnapshot::of_summary(row)))
            .collect();
        Ok((shown, complete))
    }

    /// The most runs one slice may hold.
    fn slice_cap(&self) -> usize {
        (self.target_per_slice * HARD_MAX_FACTOR).min(COUNTED_ROWS_MAX)
    }

    /// Reads a slice whose size is not known, or gives `None` when it holds more than
    /// `slice_cap` runs. Through the list (several pairs, replay) its first page tells the size.
    /// Otherwise one list page of at most `slice_cap` rows, with the filters external-ids would
    /// get: a short page is the whole slice (`since` moved 1 µs on, as external-ids' is strict),
    /// a full one is followed by the external-ids read unless its count is over the cap. The
    /// count may include a run created at `since`: never fewer than external-ids would read.
    async fn probe(
        &self,
        caller: &Caller,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<(Vec<FoundRun>, Duration)>, HatchetError> {
        let cap = self.slice_cap();
        if self.use_list {
            return self.fetch(caller, since, until, Some(cap)).await;
        }
        let limit = cap.min(LIST_PAGE);
        let after = since + chrono::Duration::microseconds(1);
        let (result, _) = caller
            .call("hatchet.runs.list", true, || {
                self.client.list_runs(&self.filter, after, until, 0, limit)
            })
            .await;
        let page = result?;
        if page.rows.len() < limit {
            let runs = page
                .rows
                .into_iter()
                .map(|row| FoundRun::unread(row.metadata.id));
            return Ok(Some((runs.collect(), page.elapsed)));
        }
        if surely_over(page.num_pages, limit, cap) {
            return Ok(None);
        }
        self.fetch(caller, since, until, Some(cap)).await
    }

    /// The server-side filter of a slice's read. Paging the list sends no status filter, so rows
    /// cannot move between pages while paging.
    fn fetch_filter(&self) -> RunFilter {
        if self.use_list {
            RunFilter {
                statuses: Vec::new(),
                ..self.filter.clone()
            }
        } else {
            self.filter.clone()
        }
    }

    fn adapt(&self, width: i64, found: usize, elapsed: Duration) -> i64 {
        let span = (self.window.until - self.window.since)
            .num_milliseconds()
            .max(MIN_WIDTH_MS);
        let next = if found > self.target_per_slice * 2 || elapsed > SLOW_SLICE {
            width / 2
        } else if found < self.target_per_slice / 4 {
            width.saturating_mul(2)
        } else {
            width
        };
        next.clamp(MIN_WIDTH_MS, span)
    }

    /// Reads the slice. With a `cap`, paging the list stops with `None` once the slice is known
    /// to hold more runs than that; one external-ids answer is the whole slice, whatever its size.
    async fn fetch(
        &self,
        caller: &Caller,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: Option<usize>,
    ) -> Result<Option<(Vec<FoundRun>, Duration)>, HatchetError> {
        if !self.use_list {
            let (result, _) = caller
                .call("hatchet.runs.external_ids", true, || {
                    self.client.external_ids(&self.filter, since, until)
                })
                .await;
            let (ids, elapsed) = result?;
            return Ok(Some((
                ids.into_iter().map(FoundRun::unread).collect(),
                elapsed,
            )));
        }
        let unfiltered = self.fetch_filter();
        let wanted: HashSet<&str> = self.filter.statuses.iter().map(|s| s.as_str()).collect();
        let mut runs = Vec::new();
        let mut seen = HashSet::new();
        let mut elapsed = Duration::ZERO;
        let mut offset = 0;
        loop {
            let (result, _) = caller
                .call("hatchet.runs.list", true, || {
                    self.client
                        .list_runs(&unfiltered, since, until, offset, LIST_PAGE)
                })
                .await;
            let page = result?;
            elapsed += page.elapsed;
            let rows = page.rows.len();
            if cap.is_some_and(|cap| surely_over(page.num_pages, LIST_PAGE, cap)) {
                return Ok(None);
            }
            for row in page.rows {
                let status_ok = wanted.is_empty() || wanted.contains(row.status.as_str());
                let metadata_ok = self
                    .filter
                    .metadata
                    .iter()
                    .all(|pair| pair.matches(row.additional_metadata.as_ref()));
                if status_ok && metadata_ok && seen.insert(row.metadata.id.clone()) {
                    runs.push(FoundRun {
                        snapshot: Some(RunSnapshot::of_summary(&row)),
                        id: row.metadata.id,
                        missing: false,
                    });
                }
            }
            // `num_pages` and `next_page` never say "last page" (docs/hatchet-contract.md
            // §b.1): a short page does.
            if rows < LIST_PAGE {
                return Ok(Some((runs, elapsed)));
            }
            if cap.is_some_and(|cap| runs.len() > cap) {
                return Ok(None);
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
            .call("hatchet.runs.external_ids", true, || {
                self.client.external_ids(&filter, since, scope.until)
            })
            .await;
        Ok(result?.0.into_iter().collect())
    }
}

/// The earliest and latest of these creation times, if any is known.
fn creation_span<'a>(
    times: impl Iterator<Item = &'a Option<DateTime<Utc>>>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    times.flatten().fold(None, |span, &at| match span {
        None => Some((at, at)),
        Some((since, until)) => Some((since.min(at), until.max(at))),
    })
}

/// Whether a list answer's `num_pages` (in pages of `limit`, counted up to `COUNTED_ROWS_MAX`)
/// says for certain that more than `cap` rows match: it counts more than `(num_pages - 1) *
/// limit` of them. A server that sends no count says nothing, leaving the check to the read.
fn surely_over(num_pages: Option<u64>, limit: usize, cap: usize) -> bool {
    let counted_above = num_pages
        .unwrap_or(0)
        .saturating_sub(1)
        .saturating_mul(limit as u64);
    counted_above >= cap as u64
}

fn is_overload(e: &HatchetError) -> bool {
    matches!(e, HatchetError::Timeout(_)) || e.status().is_some_and(|s| s >= 500)
}

#[cfg(test)]
mod tests {
    use super::surely_over;

    #[test]
    fn a_count_is_over_the_cap_only_when_its_pages_leave_no_doubt() {
        // 10 pages of 1,000 may be 9,001 to 10,000 rows: not over a cap of 10,000 for certain.
        assert!(!surely_over(Some(10), 1_000, 10_000));
        // 11 pages hold more than 10,000.
        assert!(surely_over(Some(11), 1_000, 10_000));
        // With one-row pages the count is exact.
        assert!(!surely_over(Some(200), 1, 200));
        assert!(surely_over(Some(201), 1, 200));
        // No count, or none matching, says nothing.
        assert!(!surely_over(None, 1_000, 1));
        assert!(!surely_over(Some(0), 1_000, 1));
    }
}
