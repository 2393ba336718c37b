use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::descriptor::{counted, no_warning, rfc3339, Descriptor, Parts, Rules, Undo};
use super::scheduled::{at_risk_note, Archive, BulkAnswer};
use super::CHUNK;
use super::{OpError, Operation, Page, ScheduledSelection, Sending};
use crate::backend::hatchet::HatchetClient;
use crate::engine::Caller;
use crate::job::{parse_shift, OperationKind, RescheduleTarget, SpecError};
use crate::store::{Item, ItemOutcome, ItemState, NewItem};

/// The bulk endpoint takes at most 500 ids.
pub const DESCRIPTOR: Descriptor = Descriptor {
    default_statuses: &[],
    rules: Rules {
        chunk_default: CHUNK,
        chunk_max: 500,
        concurrency_cap: None,
        undo: Undo::Restore,
    },
    // A shift moves every row once more; a fixed target leaves them where they are.
    repeat_is_safe: |kind| {
        !matches!(
            kind,
            OperationKind::ScheduledReschedule {
                target: RescheduleTarget::Shift(_),
                ..
            }
        )
    },
    required: &[],
    warning: no_warning,
    action: |kind, n| {
        let rows = counted(n, "scheduled run", "scheduled runs");
        match kind {
            OperationKind::ScheduledReschedule {
                target: RescheduleTarget::To(at),
                ..
            } => format!("move {rows} to {}", rfc3339(*at)),
            OperationKind::ScheduledReschedule {
                target: RescheduleTarget::Shift(shift),
                ..
            } => format!("move {rows} by {shift}"),
            _ => format!("move {rows}"),
        }
    },
    build: |parts: Parts| {
        let OperationKind::ScheduledReschedule { target, allow_past } = &parts.spec.operation
        else {
            return Err(SpecError::RescheduleTarget);
        };
        let rule = match target {
            RescheduleTarget::To(at) => TargetRule::To(*at),
            RescheduleTarget::Shift(text) => TargetRule::Shift(parse_shift(text)?),
        };
        let allow_past = *allow_past;
        let source = Source::Select(Box::new(parts.scheduled()?), rule);
        Ok(Arc::new(ScheduledReschedule::new(
            parts.client,
            source,
            allow_past,
        )))
    },
};

/// The undo of a reschedule moves rows back through the same endpoint.
pub const RESTORE_DESCRIPTOR: Descriptor = Descriptor {
    rules: Rules {
        undo: Undo::Impossible,
        ..DESCRIPTOR.rules
    },
    // A second undo would move the same rows back again.
    repeat_is_safe: |_| false,
    action: |kind, n| {
        format!(
            "move {} back to the trigger times they had before job {of} (undo of job {of})",
            counted(n, "scheduled run", "scheduled runs"),
            of = kind.undoes().unwrap_or_default()
        )
    },
    build: |parts: Parts| {
        Ok(Arc::new(ScheduledReschedule::new(
            parts.client,
            Source::Restore(parts.archive),
            false,
        )))
    },
    ..DESCRIPTOR
};

/// How a row's new trigger time is computed at enumeration.
#[derive(Debug, Clone, Copy)]
pub enum TargetRule {
    To(DateTime<Utc>),
    Shift(TimeDelta),
}

impl TargetRule {
    /// `None` when the shifted time leaves chrono's range.
    pub fn target(self, previous: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            TargetRule::To(at) => Some(at),
            TargetRule::Shift(by) => previous.checked_add_signed(by),
        }
    }
}

/// What a reschedule keeps per row: the trigger time it found (for undo) and the one it sets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Move {
    pub previous: DateTime<Utc>,
    pub target: DateTime<Utc>,
}

fn move_of(item: &Item) -> Option<Move> {
    item.payload
        .as_ref()
        .and_then(|p| serde_json::from_value(p.clone()).ok())
}

/// Where the rows come from: a selection with a rule, or (undo) a finished reschedule's moves,
/// played backwards.
pub enum Source {
    Select(Box<ScheduledSelection>, TargetRule),
    Restore(Archive),
}

/// `bulkops scheduled reschedule` and its undo. Every target is computed at enumeration and
/// stored with the previous trigger time, so a resent chunk sets the same times (idempotent) and
/// `jobs undo` can put them back. Updates go through `bulk-update` in chunks of at most 500,
/// in UTC; targets in the past are skipped unless allowed; rows due within 10 s are reported
/// as at risk.
pub struct ScheduledReschedule {
    client: HatchetClient,
    source: Source,
    allow_past: bool,
}

impl ScheduledReschedule {
    pub fn new(client: HatchetClient, source: Source, allow_past: bool) -> Self {
        ScheduledReschedule {
            client,
            source,
            allow_past,
        }
    }

    fn check_target(&self, m: &Move, now: DateTime<Utc>) -> Result<serde_json::Value, String> {
        if m.target <= now && !self.allow_past {
            return Err(format!(
                "target {} is in the past: pass --allow-past to let it fire at once",
                m.target
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ));
        }
        Ok(serde_json::json!(m))
    }
}

#[async_trait]
impl Operation for ScheduledReschedule {
    fn initial_cursor(&self) -> String {
        match &self.source {
            Source::Select(selection, _) => selection.initial_cursor(),
            Source::Restore(_) => Archive::initial_cursor(),
        }
    }

    async fn enumerate(&self, caller: &Caller, cursor: &str) -> Result<Page, OpError> {
        let now = Utc::now();
        let (items, next_cursor) = match &self.source {
            Source::Select(selection, rule) => {
                let (found, next) = selection.next_page(caller, cursor).await?;
                let items = found
                    .into_iter()
                    .map(|f| {
                        f.into_item(|row| {
                            let previous = row.trigger_at;
                            let target = rule.target(previous).ok_or_else(|| {
                                format!("its trigger time {previous} moved by the shift is out of range: not rescheduled")
                            })?;
                            self.check_target(&Move { previous, target }, now)
                        })
                    })
                    .collect();
                (items, next)
            }
            Source::Restore(archive) => {
                let (moves, next) = archive.next_page(cursor)?;
                let items = moves
                    .iter()
                    .map(|(id, payload)| {
                        let mut item = NewItem::new(id.clone());
                        let back = serde_json::from_value::<Move>(payload.clone())
                            .map_err(|e| format!("unreadable archived trigger times: {e}"))
                            .and_then(|m| {
                                self.check_target(
                                    &Move {
                                        previous: m.target,
                                        target: m.previous,
                                    },
                                    now,
                                )
                            });
                        match back {
                            Ok(p) => item.payload = Some(p),
                            Err(reason) => item.settled = Some((ItemState::Skipped, reason)),
                        }
                        item
                    })
                    .collect();
                (items, next)
            }
        };
        Ok(Page {
            items,
            next_cursor,
            scope: None,
        })
    }

    fn sending(&self) -> Sending {
        Sending::REPEATABLE_AFTER_ENUMERATION
    }

    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        let updates: Vec<(String, DateTime<Utc>)> = items
            .iter()
            .filter_map(|i| Some((i.id.clone(), move_of(i)?.target)))
            .collect();
        let client = &self.client;
        let (result, attempts) = caller
            .call("hatchet.scheduled.bulk_update", true, || {
                client.bulk_update_scheduled(&updates)
            })
            .await;
        let result = result.map(|r| (r.updated_ids, r.errors));
        let answer = match BulkAnswer::from_result(items, "bulk update", result, attempts) {
            Ok(answer) => answer,
            Err(refused) => return refused,
        };
        let now = Utc::now();
        answer
            .settle(
                client,
                caller,
                items,
                |item| move_of(item).and_then(|m| at_risk_note(m.previous, now)),
                |item, row| match (row, move_of(item)) {
                    (Some(row), Some(m)) if row.trigger_at == m.target => Ok(None),
                    (None, _) => Err("no longer exists (it fired, or was deleted)".into()),
                    _ => Err("not rescheduled".into()),
                },
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_come_from_the_rule() {
        let t = crate::job::parse_time("2030-01-01T10:00:00Z").unwrap();
        let at = crate::job::parse_time("2031-01-01T00:00:00Z").unwrap();
        assert_eq!(
            TargetRule::Shift(TimeDelta::hours(1)).target(t),
            Some(t + TimeDelta::hours(1))
        );
        assert_eq!(TargetRule::To(at).target(t), Some(at));
        assert_eq!(
            TargetRule::Shift(TimeDelta::days(36_525)).target(DateTime::<Utc>::MAX_UTC),
            None
        );
    }
}
