use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;

use super::descriptor::{counted, no_warning, Descriptor, Parts, Rules, Undo};
use super::scheduled::Archive;
use super::{item_outcome, request_failed, OpError, Operation, Page, Sending};
use crate::backend::hatchet::models::ScheduledRun;
use crate::backend::hatchet::{HatchetClient, HatchetError};
use crate::engine::Caller;
use crate::engine::Failure;
use crate::store::{Item, ItemOutcome, ItemState, NewItem};

const LIST_PAGE: usize = 1_000;

/// One request per row: small chunks, so a checkpoint comes often.
pub const DESCRIPTOR: Descriptor = Descriptor {
    default_statuses: &[],
    rules: Rules {
        chunk_default: 50,
        chunk_max: 50,
        concurrency_cap: None,
        undo: Undo::Impossible,
    },
    // A second undo would re-create the same rows again.
    repeat_is_safe: |_| false,
    required: &[],
    warning: no_warning,
    action: |kind, n| {
        let of = kind.undoes().unwrap_or_default();
        format!(
            "re-create {} that job {of} deleted (undo of job {of})",
            counted(n, "scheduled run", "scheduled runs")
        )
    },
    build: |parts: Parts| {
        Ok(Arc::new(ScheduledRecreate::new(
            parts.client,
            parts.archive,
        )))
    },
};

/// The undo of `scheduled delete`: re-creates each deleted row from the definition archived in
/// the delete job's store (workflow, input, metadata, trigger time, priority). There is no
/// bulk create, so each row is one request. Creating is not idempotent: after a crash, an
/// in-doubt chunk's rows are looked up by definition before anything is sent again.
pub struct ScheduledRecreate {
    client: HatchetClient,
    archive: Archive,
}

fn definition(item: &Item) -> Option<ScheduledRun> {
    item.payload
        .as_ref()
        .and_then(|p| serde_json::from_value(p.clone()).ok())
}

/// What makes two rows the same scheduled run, ids aside.
fn key(row: &ScheduledRun) -> String {
    serde_json::json!([
        row.workflow_name,
        row.trigger_at.timestamp_millis(),
        row.input,
        row.additional_metadata,
        row.priority.unwrap_or(1)
    ])
    .to_string()
}

impl ScheduledRecreate {
    pub fn new(client: HatchetClient, archive: Archive) -> Self {
        ScheduledRecreate { client, archive }
    }

    /// Definitions of the rows that exist now in the workflows of `items`, with how many rows
    /// share each.
    async fn existing(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<HashMap<String, usize>, HatchetError> {
        let workflows: HashSet<String> = items
            .iter()
            .filter_map(|i| definition(i)?.workflow_id)
            .collect();
        let mut keys = HashMap::new();
        for workflow in &workflows {
            let mut offset = 0;
            loop {
                let (result, _) = caller
                    .call("hatchet.scheduled.list", true, || {
                        self.client
                            .list_scheduled(Some(workflow), &[], offset, LIST_PAGE)
                    })
                    .await;
                let rows = result?;
                let short = rows.len() < LIST_PAGE;
                for row in &rows {
                    *keys.entry(key(row)).or_insert(0) += 1;
                }
                if short {
                    break;
                }
                offset += LIST_PAGE;
            }
        }
        Ok(keys)
    }

    async fn create(&self, caller: &Caller, item: &Item) -> ItemOutcome {
        let Some(row) = definition(item) else {
            return item_outcome(
                item,
                ItemState::Failed,
                "no archived definition".into(),
                None,
                0,
            );
        };
        let input = row.input.clone().unwrap_or_else(|| serde_json::json!({}));
        let metadata = row
            .additional_metadata
            .clone()
            .unwrap_or_else(|| serde_json::json!({}));
        let (result, attempts) = caller
            .call("hatchet.scheduled.create", false, || {
                self.client.create_scheduled(
                    &row.workflow_name,
                    row.trigger_at,
                    &input,
                    &metadata,
                    row.priority,
                )
            })
            .await;
        match result {
            Ok(created) => item_outcome(
                item,
                ItemState::Done,
                format!("re-created as {}", created.metadata.id),
                Some(200),
                attempts,
            ),
            Err(e) if e.certainly_not_applied() => {
                request_failed(std::slice::from_ref(item), &e, attempts, "create", false).remove(0)
            }
            Err(e) => match self.existing(caller, std::slice::from_ref(item)).await {
                Ok(keys) if keys.contains_key(&key(&row)) => item_outcome(
                    item,
                    ItemState::Done,
                    format!("re-created (the request failed with {e}, but the row exists)"),
                    e.status(),
                    attempts,
                ),
                _ => item_outcome(
                    item,
                    ItemState::Failed,
                    format!("create failed ({e}) and no identical row was found; not resent"),
                    e.status(),
                    attempts,
                ),
            },
        }
    }
}

#[async_trait]
impl Operation for ScheduledRecreate {
    fn initial_cursor(&self) -> String {
        Archive::initial_cursor()
    }

    async fn enumerate(&self, _caller: &Caller, cursor: &str) -> Result<Page, OpError> {
        let (rows, next_cursor) = self.archive.next_page(cursor)?;
        let now = Utc::now();
        let items = rows
            .iter()
            .map(|(id, payload)| {
                let mut item = NewItem::new(id.clone());
                item.payload = Some(payload.clone());
                let due = serde_json::from_value::<ScheduledRun>(payload.clone())
                    .map(|row| row.trigger_at);
                match due {
                    Ok(due) if due <= now => {
                        item.settled = Some((
                            ItemState::Skipped,
                            "its trigger time has passed: re-creating it would run it at once"
                                .into(),
                        ))
                    }
                    Ok(_) => {}
                    Err(e) => {
                        item.settled = Some((
                            ItemState::Failed,
                            format!("unreadable archived definition: {e}"),
                        ))
                    }
                }
                item
            })
            .collect();
        Ok(Page {
            items,
            next_cursor,
            scope: None,
        })
    }

    fn sending(&self) -> Sending {
        Sending::ONCE
    }

    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        // A row whose twin exists already (an earlier undo, or someone re-created it by hand)
        // is not created again: each existing twin stands for one archived row.
        let mut existing = match self.existing(caller, items).await {
            Ok(keys) => keys,
            Err(e) => return request_failed(items, &e, 0, "listing of the existing rows", false),
        };
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let twin = definition(item).and_then(|row| existing.get_mut(&key(&row)));
            match twin {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    outcomes.push(item_outcome(
                        item,
                        ItemState::Skipped,
                        "an identical row exists already (re-created earlier): not created again"
                            .into(),
                        None,
                        0,
                    ));
                }
                _ => outcomes.push(self.create(caller, item).await),
            }
        }
        outcomes
    }

    async fn reconcile(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<Vec<(Item, Option<ItemOutcome>)>, OpError> {
        let existing = self.existing(caller, items).await?;
        Ok(items
            .iter()
            .map(|item| {
                let found = definition(item).is_some_and(|row| existing.contains_key(&key(&row)));
                let decided = found.then(|| {
                    item_outcome(
                        item,
                        ItemState::Done,
                        "re-created before the interruption (an identical row exists)".into(),
                        None,
                        0,
                    )
                });
                (item.clone(), decided)
            })
            .collect())
    }
}
