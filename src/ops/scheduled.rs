//! What the scheduled-run operations share: selection through the scheduled list, the archive
//! of a finished job's items that the undo operations walk, and confirming rows one by one.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::manifest::IdPages;
use super::{request_failed, OpError};
use crate::backend::hatchet::models::{BulkError, ScheduledRun};
use crate::backend::hatchet::{HatchetClient, HatchetError};
use crate::engine::Caller;
use crate::engine::Failure;
use crate::job::{MetadataPair, Window};
use crate::store::{Item, ItemOutcome, ItemState, NewItem};

const LIST_PAGE: usize = 500;
const MANIFEST_PAGE: usize = 500;
const GETS_IN_FLIGHT: usize = 8;

/// Which scheduled runs a job selects; everything but the workflow is checked on the client.
/// `created` is the job's frozen window, applied to `createdAt`.
#[derive(Debug, Clone)]
pub struct ScheduledFilter {
    /// Resolved workflow ids; empty means every workflow.
    pub workflow_ids: Vec<String>,
    pub metadata: Vec<MetadataPair>,
    pub trigger_after: Option<DateTime<Utc>>,
    pub trigger_before: Option<DateTime<Utc>>,
    pub created: Window,
}

impl ScheduledFilter {
    fn keeps(&self, row: &ScheduledRun) -> bool {
        let created_ok = row
            .metadata
            .created_at
            .is_none_or(|c| c > self.created.since && c <= self.created.until);
        // The server filters by metadata too, but a selection is never wider than asked.
        let metadata_ok = self
            .metadata
            .iter()
            .all(|pair| pair.matches(row.additional_metadata.as_ref()));
        created_ok
            && metadata_ok
            && self.trigger_after.is_none_or(|t| row.trigger_at >= t)
            && self.trigger_before.is_none_or(|t| row.trigger_at < t)
    }
}

/// A row found by enumeration, or a manifest id the server does not have.
pub enum Found {
    Row(Box<ScheduledRun>),
    Missing(String),
}

impl Found {
    /// The store item: code-defined rows and unknown ids are settled as skipped at once;
    /// `payload` says what the operation keeps of a row it will act on.
    pub fn into_item(
        self,
        payload: impl FnOnce(&ScheduledRun) -> Result<serde_json::Value, String>,
    ) -> NewItem {
        match self {
            Found::Missing(id) => {
                let mut item = NewItem::new(id);
                item.settled = Some((
                    ItemState::Skipped,
                    "not found (already deleted, fired, or another tenant's)".into(),
                ));
                item
            }
            Found::Row(row) => {
                let mut item = NewItem::new(row.metadata.id.clone());
                item.payload = Some(serde_json::json!(row));
                if row.is_code_defined() {
                    item.settled = Some((
                        ItemState::Skipped,
                        "code-defined (method DEFAULT): Hatchet only changes API-created scheduled runs; change the workflow's code instead".into(),
                    ));
                    return item;
                }
                match payload(&row) {
                    Ok(p) => item.payload = Some(p),
                    Err(reason) => item.settled = Some((ItemState::Skipped, reason)),
                }
                item
            }
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ListCursor {
    workflow: usize,
    offset: usize,
}

/// Walks the scheduled list with offset paging ordered by `triggerAt DESC`: rows that fire and
/// vanish are the oldest, at the end, so they cannot shift a page still to be read. The
/// operations mutate only once this walk is complete, and the store drops duplicates.
pub struct ScheduledSelection {
    client: HatchetClient,
    filter: ScheduledFilter,
    manifest: Option<IdPages>,
}

impl ScheduledSelection {
    pub fn new(client: HatchetClient, filter: ScheduledFilter) -> Self {
        ScheduledSelection {
            client,
            filter,
            manifest: None,
        }
    }

    pub fn from_manifest(client: HatchetClient, filter: ScheduledFilter, ids: Vec<String>) -> Self {
        ScheduledSelection {
            client,
            filter,
            manifest: Some(IdPages::new(ids, MANIFEST_PAGE)),
        }
    }

    pub fn client(&self) -> &HatchetClient {
        &self.client
    }

    pub fn initial_cursor(&self) -> String {
        if self.manifest.is_some() {
            return IdPages::initial_cursor();
        }
        serde_json::to_string(&ListCursor {
            workflow: 0,
            offset: 0,
        })
        .unwrap_or_default()
    }

    pub async fn next_page(
        &self,
        caller: &Caller,
        cursor: &str,
    ) -> Result<(Vec<Found>, Option<String>), OpError> {
        if let Some(pages) = &self.manifest {
            let (ids, next) = pages.next(cursor)?;
            let rows = current_rows(&self.client, caller, ids).await?;
            let found = ids
                .iter()
                .map(|id| match rows.get(id).cloned().flatten() {
                    Some(row) => Found::Row(Box::new(row)),
                    None => Found::Missing(id.clone()),
                })
                .collect();
            return Ok((found, next));
        }
        let at: ListCursor =
            serde_json::from_str(cursor).map_err(|e| OpError::Cursor(e.to_string()))?;
        let workflow = self
            .filter
            .workflow_ids
            .get(at.workflow)
            .map(String::as_str);
        let (result, _) = caller
            .call("hatchet.scheduled.list", true, || {
                self.client
                    .list_scheduled(workflow, &self.filter.metadata, at.offset, LIST_PAGE)
            })
            .await;
        let rows = result?;
        // Newest trigger first: past `--trigger-after`, nothing later on this walk matches.
        let exhausted = rows.len() < LIST_PAGE
            || rows
                .last()
                .zip(self.filter.trigger_after)
                .is_some_and(|(last, after)| last.trigger_at < after);
        let next = if !exhausted {
            Some(ListCursor {
                workflow: at.workflow,
                offset: at.offset + LIST_PAGE,
            })
        } else if at.workflow + 1 < self.filter.workflow_ids.len() {
            Some(ListCursor {
                workflow: at.workflow + 1,
                offset: 0,
            })
        } else {
            None
        };
        let found = rows
            .into_iter()
            .filter(|r| self.filter.keeps(r))
            .map(|r| Found::Row(Box::new(r)))
            .collect();
        Ok((
            found,
            next.map(|c| serde_json::to_string(&c).unwrap_or_default()),
        ))
    }
}

/// Each row as it is now (`None`: it no longer exists), a few reads in flight.
pub async fn current_rows(
    client: &HatchetClient,
    caller: &Caller,
    ids: &[String],
) -> Result<HashMap<String, Option<ScheduledRun>>, HatchetError> {
    let reads: Vec<_> = ids
        .iter()
        .map(|id| current_row(client, caller, id))
        .collect();
    stream::iter(reads)
        .buffered(GETS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

async fn current_row(
    client: &HatchetClient,
    caller: &Caller,
    id: &str,
) -> Result<(String, Option<ScheduledRun>), HatchetError> {
    let (result, _) = caller
        .call("hatchet.scheduled.get", true, || client.get_scheduled(id))
        .await;
    result.map(|row| (id.to_string(), row))
}

/// An archived item: its id and payload.
pub type Archived = (String, serde_json::Value);

/// The items of a finished job that an undo acts on, walked by offset.
pub struct Archive {
    items: Vec<Archived>,
    pages: IdPages,
}

impl Archive {
    pub fn new(items: Vec<Archived>) -> Self {
        let ids = items.iter().map(|(id, _)| id.clone()).collect();
        Archive {
            items,
            pages: IdPages::new(ids, MANIFEST_PAGE),
        }
    }

    pub fn initial_cursor() -> String {
        IdPages::initial_cursor()
    }

    pub fn next_page(&self, cursor: &str) -> Result<(&[Archived], Option<String>), OpError> {
        let (ids, next) = self.pages.next(cursor)?;
        let start: usize = cursor.parse().unwrap_or(0);
        Ok((&self.items[start..start + ids.len()], next))
    }
}

/// "At risk" when a row was due to fire within this long of being changed: the ticker may
/// already hold it (docs/hatchet-contract.md §d.9).
pub const AT_RISK: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

pub fn at_risk_note(trigger_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    (trigger_at - now < AT_RISK).then(|| {
        format!(
            "at risk: it was due at {} (within 10 s), so it may have fired at its old time",
            trigger_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        )
    })
}

/// What a bulk-delete or bulk-update call said, normalised: the ids it applied and per-item
/// errors, or nothing at all when the call failed in a way that may hide partial success.
pub struct BulkAnswer {
    pub applied: HashSet<String>,
    pub errors: HashMap<String, String>,
    /// 200, or the status of the failed call.
    pub http_status: Option<u16>,
    pub attempts: u32,
}

impl BulkAnswer {
    /// `Err` holds the outcomes of a call the server refused outright (nothing applied).
    pub fn from_result(
        items: &[Item],
        what: &str,
        result: Result<(Vec<String>, Vec<BulkError>), HatchetError>,
        attempts: u32,
    ) -> Result<Self, Vec<ItemOutcome>> {
        match result {
            Ok((applied, errors)) => Ok(BulkAnswer {
                applied: applied.into_iter().collect(),
                errors: errors
                    .into_iter()
                    .filter_map(|e| Some((e.id?, e.error)))
                    .collect(),
                http_status: Some(200),
                attempts,
            }),
            Err(e) if e.certainly_not_applied() => {
                Err(request_failed(items, &e, attempts, what, false))
            }
            // A 500 can follow partial success (docs/hatchet-contract.md §d.9): every row is
            // checked.
            Err(e) => Ok(BulkAnswer {
                applied: HashSet::new(),
                errors: items
                    .iter()
                    .map(|i| (i.id.clone(), format!("{what} failed: {e}")))
                    .collect(),
                http_status: e.status(),
                attempts,
            }),
        }
    }

    /// Outcomes for every item: applied ids are done (`note` adds e.g. an at-risk warning);
    /// the others are re-read and `check` decides from the row as it is now (`Ok(note)`: the
    /// change is in place; `Err(reason)`: it is not).
    pub async fn settle(
        self,
        client: &HatchetClient,
        caller: &Caller,
        items: &[Item],
        note: impl Fn(&Item) -> Option<String>,
        check: impl Fn(&Item, Option<&ScheduledRun>) -> Result<Option<String>, String>,
    ) -> Vec<ItemOutcome> {
        let outcome = |item: &Item, state, reason: Option<String>, http_status| ItemOutcome {
            id: item.id.clone(),
            state,
            reason: join_notes(reason, note(item)),
            http_status,
            attempts: self.attempts,
        };
        let (applied, unclear): (Vec<&Item>, Vec<&Item>) =
            items.iter().partition(|i| self.applied.contains(&i.id));
        let mut outcomes: Vec<ItemOutcome> = applied
            .into_iter()
            .map(|i| outcome(i, ItemState::Done, None, Some(200)))
            .collect();
        if unclear.is_empty() {
            return outcomes;
        }
        let ids: Vec<String> = unclear.iter().map(|i| i.id.clone()).collect();
        let rows = match current_rows(client, caller, &ids).await {
            Ok(rows) => rows,
            Err(e) => {
                outcomes.extend(unclear.into_iter().map(|i| {
                    let reason = format!("not confirmed, and re-reading the row failed: {e}");
                    outcome(i, ItemState::Unconfirmed, Some(reason), self.http_status)
                }));
                return outcomes;
            }
        };
        for item in unclear {
            let row = rows.get(&item.id).and_then(Option::as_ref);
            outcomes.push(match check(item, row) {
                Ok(reason) => outcome(item, ItemState::Done, reason, self.http_status),
                Err(reason) => {
                    let error = self.errors.get(&item.id).map(String::as_str);
                    let reason =
                        format!("{reason}: {}", error.unwrap_or("no per-item error given"));
                    outcome(item, ItemState::Failed, Some(reason), self.http_status)
                }
            });
        }
        outcomes
    }
}

fn join_notes(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}
