use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;

use super::descriptor::{always_safe, counted, no_warning, Descriptor, Parts, Rules, Undo};
use super::scheduled::{at_risk_note, BulkAnswer};
use super::CHUNK;
use super::{OpError, Operation, Page, ScheduledSelection, Sending};
use crate::backend::hatchet::models::ScheduledRun;
use crate::engine::Caller;
use crate::store::{Item, ItemOutcome};

/// The bulk endpoint takes at most 500 ids.
pub const DESCRIPTOR: Descriptor = Descriptor {
    default_statuses: &[],
    rules: Rules {
        chunk_default: CHUNK,
        chunk_max: 500,
        concurrency_cap: None,
        undo: Undo::Recreate,
    },
    repeat_is_safe: always_safe,
    required: &[],
    warning: no_warning,
    action: |_, n| format!("delete {}", counted(n, "scheduled run", "scheduled runs")),
    build: |parts: Parts| Ok(Arc::new(ScheduledDelete::new(parts.scheduled()?))),
};

/// `bulkops scheduled delete`: enumerates every matching row first (each row's full definition
/// is archived in its payload, for `jobs undo`), then deletes by id through `bulk-delete` in
/// chunks of at most 500, never the filter form (an empty filter deletes the whole tenant).
/// A row the server did not delete, or a chunk that failed with a 500 after partial success, is
/// checked one by one: a row that no longer exists counts as deleted.
pub struct ScheduledDelete {
    selection: ScheduledSelection,
}

impl ScheduledDelete {
    pub fn new(selection: ScheduledSelection) -> Self {
        ScheduledDelete { selection }
    }
}

fn archived(item: &Item) -> Option<ScheduledRun> {
    item.payload
        .as_ref()
        .and_then(|p| serde_json::from_value(p.clone()).ok())
}

#[async_trait]
impl Operation for ScheduledDelete {
    fn initial_cursor(&self) -> String {
        self.selection.initial_cursor()
    }

    async fn enumerate(&self, caller: &Caller, cursor: &str) -> Result<Page, OpError> {
        let (found, next_cursor) = self.selection.next_page(caller, cursor).await?;
        Ok(Page {
            items: found
                .into_iter()
                .map(|f| f.into_item(|row| Ok(serde_json::json!(row))))
                .collect(),
            next_cursor,
            scope: None,
        })
    }

    fn sending(&self) -> Sending {
        Sending::REPEATABLE_AFTER_ENUMERATION
    }

    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let client = self.selection.client();
        let (result, attempts) = caller
            .call("hatchet.scheduled.bulk_delete", true, || {
                client.bulk_delete_scheduled(&ids)
            })
            .await;
        let result = result.map(|r| (r.deleted_ids, r.errors));
        let answer = match BulkAnswer::from_result(items, "bulk delete", result, attempts) {
            Ok(answer) => answer,
            Err(refused) => return refused,
        };
        let now = Utc::now();
        answer
            .settle(
                client,
                caller,
                items,
                |item| archived(item).and_then(|row| at_risk_note(row.trigger_at, now)),
                |_, row| match row {
                    None => Ok(Some(
                        "no longer exists (deleted by an earlier attempt, or it fired)".into(),
                    )),
                    Some(_) => Err("still exists".into()),
                },
            )
            .await
    }
}
