use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::descriptor::{always_safe, counted, Descriptor, Parts, Rules, Undo};
use super::manifest::IdPages;
use super::{item_outcome, request_failed, OpError, Operation, Page, Sending};
use crate::backend::hatchet::models::Cron;
use crate::backend::hatchet::HatchetClient;
use crate::engine::Caller;
use crate::job::{MetadataPair, Selector, Window};
use crate::store::{Item, ItemOutcome, ItemState, NewItem};

const LIST_PAGE: usize = 500;
const MANIFEST_PAGE: usize = 2_000;

const RETURNS_ON_DEPLOY: &str =
    "code-defined: it returns when the workflow is next deployed with a changed definition";

/// One request per cron: small chunks, so a checkpoint comes often.
pub const DESCRIPTOR: Descriptor = Descriptor {
    default_statuses: &[],
    rules: Rules {
        chunk_default: 50,
        chunk_max: 50,
        concurrency_cap: None,
        undo: Undo::Impossible,
    },
    repeat_is_safe: always_safe,
    required: &[],
    warning: |spec, counts| {
        let include_code_defined = matches!(
            spec.selector,
            Selector::Crons {
                include_code_defined: true,
                ..
            }
        );
        (include_code_defined && counts.done > 0).then_some(
            "warning: code-defined crons deleted with --include-code-defined come back when their workflow is next deployed with a changed definition",
        )
    },
    action: |_, n| format!("delete {}", counted(n, "cron", "crons")),
    // Crons are listed by workflow name, not id.
    build: |parts: Parts| {
        let (cron_names, include_code_defined) = match &parts.spec.selector {
            Selector::Crons {
                items,
                include_code_defined,
            } => (
                items.filter().map(|f| f.cron_names.clone()),
                *include_code_defined,
            ),
            _ => (None, false),
        };
        let selection = CronSelection {
            workflows: parts.workflows.iter().map(|w| w.name.clone()).collect(),
            cron_names: cron_names.unwrap_or_default(),
            metadata: parts.spec.selector.metadata().to_vec(),
            created: parts.window,
            include_code_defined,
        };
        Ok(Arc::new(CronsDelete::new(
            parts.client,
            selection,
            parts.manifest,
        )))
    },
};

/// Which crons a job selects: every combination of workflow name and cron name (an empty list
/// means any), with all metadata pairs, created inside the job's window.
pub struct CronSelection {
    pub workflows: Vec<String>,
    pub cron_names: Vec<String>,
    pub metadata: Vec<MetadataPair>,
    pub created: Window,
    pub include_code_defined: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct ListCursor {
    combo: usize,
    offset: usize,
}

/// `bulkops crons delete`: one DELETE per cron (there is no bulk endpoint). The server does not
/// protect code-defined crons, so they are deleted only with `--include-code-defined` (and come
/// back on the next deploy). An unknown id answers 500: a 500 whose re-list no longer shows
/// the cron counts as deleted.
pub struct CronsDelete {
    client: HatchetClient,
    selection: CronSelection,
    manifest: Option<IdPages>,
}

/// Each value as a filter, or one "any" when there are none.
fn any_of(values: &[String]) -> Vec<Option<&str>> {
    if values.is_empty() {
        vec![None]
    } else {
        values.iter().map(|v| Some(v.as_str())).collect()
    }
}

fn archived(item: &Item) -> Option<Cron> {
    item.payload
        .as_ref()
        .and_then(|p| serde_json::from_value(p.clone()).ok())
}

impl CronsDelete {
    pub fn new(
        client: HatchetClient,
        selection: CronSelection,
        manifest: Option<Vec<String>>,
    ) -> Self {
        CronsDelete {
            client,
            selection,
            manifest: manifest.map(|ids| IdPages::new(ids, MANIFEST_PAGE)),
        }
    }

    fn combos(&self) -> Vec<(Option<&str>, Option<&str>)> {
        let names = any_of(&self.selection.cron_names);
        any_of(&self.selection.workflows)
            .into_iter()
            .flat_map(|w| names.iter().map(move |n| (w, *n)))
            .collect()
    }

    /// The item for a listed cron, unless it was created outside the job's window or lacks a
    /// metadata pair (the server filters by metadata too, but a selection is never wider than
    /// asked).
    fn item_in_window(&self, cron: Cron) -> Option<NewItem> {
        let window = &self.selection.created;
        let outside = cron
            .metadata
            .created_at
            .is_some_and(|c| c <= window.since || c > window.until);
        let metadata_ok = self
            .selection
            .metadata
            .iter()
            .all(|pair| pair.matches(cron.additional_metadata.as_ref()));
        if outside || !metadata_ok {
            return None;
        }
        Some(self.item(cron))
    }

    /// The item for a cron the job acts on: a code-defined one is skipped unless included.
    fn item(&self, cron: Cron) -> NewItem {
        let mut item = NewItem::new(cron.metadata.id.clone());
        if cron.is_code_defined() && !self.selection.include_code_defined {
            item.settled = Some((
                ItemState::Skipped,
                "code-defined cron: pass --include-code-defined to delete it (it returns on the next deploy)".into(),
            ));
        }
        item.payload = Some(serde_json::json!(cron));
        item
    }

    /// A manifest page's crons as the server lists them now (no bulk read by id exists, and a
    /// single GET of an unknown id answers 500), so that code-defined ones are spared there
    /// too; ids it does not list are skipped.
    async fn manifest_items(
        &self,
        caller: &Caller,
        ids: &[String],
    ) -> Result<Vec<NewItem>, OpError> {
        let mut wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut found: HashMap<String, Cron> = HashMap::new();
        let mut offset = 0;
        while !wanted.is_empty() {
            let (result, _) = caller
                .call("hatchet.crons.list", true, || {
                    self.client.list_crons(None, None, &[], offset, LIST_PAGE)
                })
                .await;
            let rows = result?;
            let short = rows.len() < LIST_PAGE;
            for cron in rows {
                if wanted.remove(cron.metadata.id.as_str()) {
                    found.insert(cron.metadata.id.clone(), cron);
                }
            }
            if short {
                break;
            }
            offset += LIST_PAGE;
        }
        Ok(ids
            .iter()
            .map(|id| match found.remove(id) {
                Some(cron) => self.item(cron),
                None => {
                    let mut item = NewItem::new(id);
                    item.settled = Some((
                        ItemState::Skipped,
                        "not found (already deleted, or another tenant's)".into(),
                    ));
                    item
                }
            })
            .collect())
    }

    /// Whether a cron is still listed (by its workflow and name).
    async fn still_listed(&self, caller: &Caller, cron: &Cron) -> Option<bool> {
        let (result, _) = caller
            .call("hatchet.crons.list", true, || {
                self.client.list_crons(
                    Some(&cron.workflow_name),
                    cron.name.as_deref(),
                    &[],
                    0,
                    LIST_PAGE,
                )
            })
            .await;
        let rows = result.ok()?;
        Some(rows.iter().any(|c| c.metadata.id == cron.metadata.id))
    }

    async fn delete(&self, caller: &Caller, item: &Item) -> ItemOutcome {
        let cron = archived(item);
        let note = cron
            .as_ref()
            .filter(|c| c.is_code_defined())
            .map(|_| RETURNS_ON_DEPLOY.to_string());
        let (result, attempts) = caller
            .call("hatchet.crons.delete", true, || {
                self.client.delete_cron(&item.id)
            })
            .await;
        let done = |reason: Option<String>, status| ItemOutcome {
            id: item.id.clone(),
            state: ItemState::Done,
            reason,
            http_status: status,
            attempts,
        };
        match result {
            Ok(()) => done(note, Some(204)),
            Err(e) if e.status() == Some(500) => {
                // Unknown ids answer 500 (docs/hatchet-contract.md §e): look before calling it
                // a failure.
                let listed = match &cron {
                    Some(cron) => self.still_listed(caller, cron).await,
                    None => None,
                };
                match listed {
                    Some(false) => done(
                        Some("no longer listed (deleted by an earlier attempt; the server answers 500 for unknown crons)".into()),
                        Some(500),
                    ),
                    _ => item_outcome(
                        item,
                        ItemState::Failed,
                        format!("delete failed: {e} (an unknown cron id also answers 500)"),
                        Some(500),
                        attempts,
                    ),
                }
            }
            Err(e) => {
                request_failed(std::slice::from_ref(item), &e, attempts, "delete", false).remove(0)
            }
        }
    }
}

#[async_trait]
impl Operation for CronsDelete {
    fn initial_cursor(&self) -> String {
        if self.manifest.is_some() {
            return IdPages::initial_cursor();
        }
        serde_json::to_string(&ListCursor {
            combo: 0,
            offset: 0,
        })
        .unwrap_or_default()
    }

    async fn enumerate(&self, caller: &Caller, cursor: &str) -> Result<Page, OpError> {
        if let Some(pages) = &self.manifest {
            let (ids, next_cursor) = pages.next(cursor)?;
            return Ok(Page {
                items: self.manifest_items(caller, ids).await?,
                next_cursor,
                scope: None,
            });
        }
        let at: ListCursor =
            serde_json::from_str(cursor).map_err(|e| OpError::Cursor(e.to_string()))?;
        let combos = self.combos();
        let (workflow, name) = combos.get(at.combo).copied().unwrap_or((None, None));
        let (result, _) = caller
            .call("hatchet.crons.list", true, || {
                self.client.list_crons(
                    workflow,
                    name,
                    &self.selection.metadata,
                    at.offset,
                    LIST_PAGE,
                )
            })
            .await;
        let rows = result?;
        let next = if rows.len() == LIST_PAGE {
            Some(ListCursor {
                combo: at.combo,
                offset: at.offset + LIST_PAGE,
            })
        } else if at.combo + 1 < combos.len() {
            Some(ListCursor {
                combo: at.combo + 1,
                offset: 0,
            })
        } else {
            None
        };
        Ok(Page {
            items: rows
                .into_iter()
                .filter_map(|c| self.item_in_window(c))
                .collect(),
            next_cursor: next.map(|c| serde_json::to_string(&c).unwrap_or_default()),
            scope: None,
        })
    }

    fn sending(&self) -> Sending {
        Sending::REPEATABLE_AFTER_ENUMERATION
    }

    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            outcomes.push(self.delete(caller, item).await);
        }
        outcomes
    }
}
