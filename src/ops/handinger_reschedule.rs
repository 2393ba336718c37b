use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::handinger_selection::{item_id, unknown_type_item, WorkerPages};
use super::{item_outcome, OpError, Operation, Page, Resend, Rules, Sending, Undo};
use crate::backend::handinger::models::{Definition, When, WorkerSchedule};
use crate::backend::handinger::{CancelAnswer, HandingerClient};
use crate::engine::{Caller, Failure};
use crate::store::{Item, ItemOutcome, ItemState, NewItem};

/// One create and one cancel per schedule, one chunk at a time: two chunks on one worker at
/// once could each take the other's replacement for its own when definitions are identical.
pub const RULES: Rules = Rules {
    chunk_default: 25,
    chunk_max: 200,
    concurrency_cap: Some(1),
    undo: Undo::Restore,
};

/// The undo of a reschedule (`HandingerReschedule::undo`) replaces the replacements by their
/// originals, the same way; it has no undo of its own.
pub const UNDO_RULES: Rules = Rules {
    undo: Undo::Impossible,
    ..RULES
};

/// Creates whose answer was lost and whose replacement was then not found, per item and round,
/// before the item is left to verification.
const CREATE_TRIES: u32 = 3;

/// The longest interval taken, in seconds (100 years, as for durations).
const MAX_INTERVAL_SECONDS: i64 = crate::job::MAX_DURATION_DAYS * 86_400;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RescheduleError {
    #[error("--cron {expr:?} is not a cron expression ({reason}): write five fields, minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\"")]
    BadCron { expr: String, reason: String },
    #[error("--interval {0:?} is not a whole number of seconds between 1 and 100 years: e.g. --interval 3600")]
    BadInterval(String),
}

/// A cron expression checked field by field (numbers, names, ranges, lists, steps) before
/// anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CronExpr(String);

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One cron field: its name, its bounds, and the names it accepts (numbered from `min`).
struct CronField {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const CRON_FIELDS: [CronField; 5] = [
    CronField {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    CronField {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    CronField {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    CronField {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
    },
    CronField {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
    },
];

impl CronField {
    fn value(&self, text: &str) -> Result<u32, String> {
        let named = self
            .names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(text))
            .and_then(|i| u32::try_from(i).ok())
            .map(|i| i + self.min);
        let value = match named {
            Some(v) => v,
            None => text
                .parse::<u32>()
                .map_err(|_| format!("{} {text:?} is not a number", self.name))?,
        };
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(format!(
                "{} {value} is outside {}-{}",
                self.name, self.min, self.max
            ))
        }
    }

    fn check(&self, field: &str) -> Result<(), String> {
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (part, None),
            };
            if let Some(step) = step {
                match step.parse::<u32>() {
                    Ok(s) if (1..=self.max.max(1)).contains(&s) => {}
                    _ => {
                        return Err(format!(
                            "{} step {step:?} is not a positive number in range",
                            self.name
                        ))
                    }
                }
            }
            if range == "*" {
                continue;
            }
            match range.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (self.value(a)?, self.value(b)?);
                    if a > b {
                        return Err(format!("{} range {range} runs backwards", self.name));
                    }
                }
                None => {
                    self.value(range)?;
                }
            }
        }
        Ok(())
    }
}

impl CronExpr {
    pub fn parse(text: &str) -> Result<Self, RescheduleError> {
        let bad = |reason: String| RescheduleError::BadCron {
            expr: text.to_string(),
            reason,
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != CRON_FIELDS.len() {
            return Err(bad(format!("{} fields, not 5", fields.len())));
        }
        for (field, rule) in fields.iter().zip(&CRON_FIELDS) {
            rule.check(field).map_err(bad)?;
        }
        Ok(CronExpr(fields.join(" ")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What replaces each selected schedule: a new time for one-off schedules, a new rule for
/// recurring ones. Kept in the job spec; targets are computed once, at enumeration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    To(DateTime<Utc>),
    Shift { seconds: i64 },
    Cron(CronExpr),
    Interval { seconds: i64 },
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Replacement {
    pub fn cron(text: &str) -> Result<Self, RescheduleError> {
        CronExpr::parse(text).map(Replacement::Cron)
    }

    pub fn interval(text: &str) -> Result<Self, RescheduleError> {
        match text.trim().parse::<i64>() {
            Ok(s) if (1..=MAX_INTERVAL_SECONDS).contains(&s) => {
                Ok(Replacement::Interval { seconds: s })
            }
            _ => Err(RescheduleError::BadInterval(text.to_string())),
        }
    }

    /// The definition that replaces `original`, or why it is skipped. A one-off schedule is
    /// replaced by a `scheduled` one at the target time (a delay would count from the create).
    fn replace(&self, original: &WorkerSchedule, now: DateTime<Utc>) -> Result<Definition, String> {
        let kind = original
            .schedule_type()
            .ok_or("its type is unknown to this version of bulkops: not touched")?;
        let one_off = kind.is_one_off();
        let when = match self {
            Replacement::To(_) | Replacement::Shift { .. } if !one_off => {
                return Err(format!(
                    "a {} schedule recurs: replace it with --cron or --interval, not moved",
                    kind.as_str()
                ))
            }
            Replacement::Cron(_) | Replacement::Interval { .. } if one_off => {
                return Err(format!(
                    "a {} schedule runs once: move it with --to or --shift, not replaced",
                    kind.as_str()
                ))
            }
            Replacement::To(at) => When::Scheduled { date: *at },
            Replacement::Shift { seconds } => {
                let date = TimeDelta::try_seconds(*seconds)
                    .and_then(|by| original.next_run_at.checked_add_signed(by))
                    .ok_or("its next run moved by the shift is out of range: not rescheduled")?;
                When::Scheduled { date }
            }
            Replacement::Cron(expr) => When::Cron {
                cron: expr.as_str().to_string(),
            },
            Replacement::Interval { seconds } => When::Interval {
                interval_seconds: *seconds,
            },
        };
        if let When::Scheduled { date } = &when {
            if *date <= now {
                return Err(format!(
                    "target {} is in the past: not rescheduled",
                    rfc3339(*date)
                ));
            }
        }
        let def = Definition {
            input: original.input.clone(),
            budget: original.budget.clone(),
            when,
        };
        if original.matches(&def) {
            return Err("it already runs so: nothing to change".to_string());
        }
        Ok(def)
    }
}

/// What an item keeps from enumeration: the original, its replacement's definition, and what
/// tells our replacement apart from look-alikes when a create's answer was lost — the
/// originals of this job on the worker that get the same replacement (`group`, itself
/// included), and the schedules that already matched it (`twins`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Intent {
    pub worker: String,
    pub original: WorkerSchedule,
    pub replacement: Definition,
    pub group: Vec<String>,
    pub twins: Vec<String>,
}

/// What a worker's list says of one intent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Replaced { by: String, original_present: bool },
    Missing { original_present: bool },
}

/// Finds the replacement of `intent` in `listing`. A schedule matching the definition that is
/// neither a twin nor an original of the group is a replacement made by this job. Every
/// original of the group already gone took one of them with it (it was replaced, then
/// cancelled); one left beyond those belongs to an original still present, whose create went
/// through and whose cancel did not.
fn find(listing: &[WorkerSchedule], intent: &Intent) -> Found {
    let present: HashSet<&str> = listing.iter().map(|s| s.id.as_str()).collect();
    let group: HashSet<&str> = intent.group.iter().map(String::as_str).collect();
    let twins: HashSet<&str> = intent.twins.iter().map(String::as_str).collect();
    let gone = group.iter().filter(|id| !present.contains(**id)).count();
    let made: Vec<&WorkerSchedule> = listing
        .iter()
        .filter(|s| !group.contains(s.id.as_str()) && !twins.contains(s.id.as_str()))
        .filter(|s| s.matches(&intent.replacement))
        .collect();
    let original_present = present.contains(intent.original.id.as_str());
    let ours = if original_present {
        made.len() > gone
    } else {
        !made.is_empty()
    };
    match made.last() {
        Some(newest) if ours => Found::Replaced {
            by: newest.id.clone(),
            original_present,
        },
        _ => Found::Missing { original_present },
    }
}

fn intent_of(item: &Item) -> Option<Intent> {
    item.payload
        .as_ref()
        .and_then(|p| serde_json::from_value(p.clone()).ok())
}

fn done(item: &Item, by: &str, note: &str, attempts: u32) -> ItemOutcome {
    item_outcome(
        item,
        ItemState::Done,
        format!("replaced by {by}{note}"),
        Some(200),
        attempts,
    )
}

fn vanished(item: &Item, attempts: u32) -> ItemOutcome {
    let reason = "the original is no longer on the server (it ran, or was cancelled elsewhere) and no replacement was made".to_string();
    item_outcome(item, ItemState::Skipped, reason, None, attempts)
}

/// `bulkops handinger schedules reschedule`: there is no update call, so each schedule is
/// replaced — create the new one, then cancel the original. The intent (original and
/// replacement) is stored at enumeration, and a chunk is marked in doubt before its first
/// create. A create is never repeated blindly: whenever its answer may be lost (a timeout, a
/// dropped connection, a 5xx, a crash) the worker's list is read and the replacement looked
/// for by its definition before anything is created again. Before acting, each chunk re-reads
/// its workers' lists, so an original that ran or was cancelled meanwhile is not replaced.
pub struct HandingerReschedule {
    pages: WorkerPages,
    source: Source,
}

/// What is replaced: what a selection picks, by a rule; or (undo) the replacements a finished
/// reschedule made, by their originals.
enum Source {
    Select(Replacement),
    /// The finished job's intents by worker, with their item ids; and the ids of items whose
    /// intent could not be read.
    Undo {
        intents: BTreeMap<String, Vec<(String, Intent)>>,
        unreadable: Vec<String>,
    },
}

/// A schedule to replace and its replacement's definition (or why it is skipped).
type Planned = (WorkerSchedule, Result<Definition, String>);

impl HandingerReschedule {
    pub fn new(pages: WorkerPages, replacement: Replacement) -> Self {
        HandingerReschedule {
            pages,
            source: Source::Select(replacement),
        }
    }

    /// The undo of a finished reschedule, from its done items (id and stored intent): each
    /// replacement is replaced in turn by its original's definition (a delayed original comes
    /// back as scheduled at its old next run), with the same guarantees.
    pub fn undo(
        client: HandingerClient,
        done: Vec<(String, serde_json::Value)>,
    ) -> Result<Self, super::SelectionError> {
        let mut intents: BTreeMap<String, Vec<(String, Intent)>> = BTreeMap::new();
        let mut unreadable = Vec::new();
        for (id, payload) in done {
            match serde_json::from_value::<Intent>(payload) {
                Ok(intent) => intents
                    .entry(intent.worker.clone())
                    .or_default()
                    .push((id, intent)),
                Err(_) => unreadable.push(id),
            }
        }
        let selection = super::HandingerSelection {
            workers: intents.keys().cloned().collect(),
            ..super::HandingerSelection::default()
        };
        let filter = selection.resolve(Utc::now())?;
        Ok(HandingerReschedule {
            pages: WorkerPages::new(client, filter),
            source: Source::Undo {
                intents,
                unreadable,
            },
        })
    }

    /// What to replace on one worker whose list is `listing`, and skipped items (id, reason).
    fn plan(
        &self,
        worker: &str,
        listing: &[WorkerSchedule],
        first_page: bool,
    ) -> (Vec<Planned>, Vec<(String, String)>) {
        let now = Utc::now();
        match &self.source {
            Source::Select(rule) => {
                let filter = self.pages.filter();
                let planned = listing
                    .iter()
                    .filter(|s| filter.selects(s))
                    .map(|s| (s.clone(), rule.replace(s, now)))
                    .collect();
                (planned, Vec::new())
            }
            Source::Undo {
                intents,
                unreadable,
            } => {
                let mut skipped: Vec<(String, String)> = Vec::new();
                if first_page {
                    let reason = "unreadable intent in the finished job: not restored";
                    skipped.extend(unreadable.iter().map(|id| (id.clone(), reason.to_string())));
                }
                let mut claimed: HashSet<&str> = HashSet::new();
                let mut planned = Vec::new();
                for (id, done) in intents.get(worker).into_iter().flatten() {
                    let group: HashSet<&str> = done.group.iter().map(String::as_str).collect();
                    let made = listing.iter().find(|s| {
                        !claimed.contains(s.id.as_str())
                            && !group.contains(s.id.as_str())
                            && !done.twins.contains(&s.id)
                            && s.matches(&done.replacement)
                    });
                    let Some(made) = made else {
                        let reason = "its replacement is no longer on the server (it ran, or was cancelled): nothing to restore";
                        skipped.push((id.clone(), reason.to_string()));
                        continue;
                    };
                    claimed.insert(made.id.as_str());
                    let back = done
                        .original
                        .definition()
                        .ok_or_else(|| {
                            "the original's type is unknown to this version: not restored"
                                .to_string()
                        })
                        .and_then(|def| match def.when {
                            When::Scheduled { date } if date <= now => Err(format!(
                                "its old time {} has passed: not restored",
                                rfc3339(date)
                            )),
                            _ => Ok(def),
                        });
                    planned.push((made.clone(), back));
                }
                (planned, skipped)
            }
        }
    }

    fn client(&self) -> &HandingerClient {
        self.pages.client()
    }

    async fn listing(
        &self,
        caller: &Caller,
        worker: &str,
    ) -> Result<Vec<WorkerSchedule>, (crate::backend::handinger::HandingerError, u32)> {
        let client = self.client();
        let (listed, attempts) = caller
            .call("handinger.schedules.list", true, || {
                client.list_schedules(worker)
            })
            .await;
        listed.map_err(|e| (e, attempts))
    }

    /// Cancels the original once its replacement `by` exists.
    async fn cancel_original(
        &self,
        caller: &Caller,
        item: &Item,
        intent: &Intent,
        by: &str,
        listing: &mut Vec<WorkerSchedule>,
        attempts: u32,
    ) -> ItemOutcome {
        let client = self.client();
        let (answer, n) = caller
            .call("handinger.schedules.cancel", true, || {
                client.cancel_schedule(&intent.worker, &intent.original.id)
            })
            .await;
        let attempts = attempts + n;
        let note = match answer {
            Ok(CancelAnswer::Cancelled) => "",
            Ok(CancelAnswer::NotCancelled | CancelAnswer::NotFound) => {
                "; the original was already gone"
            }
            Err(e) if e.is_transient() => {
                let reason = format!("replacement {by} created; cancelling the original did not get through ({e}): finished at verification");
                return item_outcome(item, ItemState::Sent, reason, e.status(), attempts);
            }
            Err(e) => {
                let reason = format!("replacement {by} created, but cancelling the original was refused ({e}): both exist, cancel the original by hand");
                return item_outcome(item, ItemState::Failed, reason, e.status(), attempts);
            }
        };
        listing.retain(|s| s.id != intent.original.id);
        done(item, by, note, attempts)
    }

    /// Replaces one schedule, `listing` being its worker's current list (kept up to date).
    async fn replace(
        &self,
        caller: &Caller,
        item: &Item,
        intent: &Intent,
        listing: &mut Vec<WorkerSchedule>,
    ) -> ItemOutcome {
        let mut attempts = 0;
        for _ in 0..CREATE_TRIES {
            match find(listing, intent) {
                Found::Replaced {
                    by,
                    original_present: true,
                } => {
                    return self
                        .cancel_original(caller, item, intent, &by, listing, attempts)
                        .await
                }
                Found::Replaced {
                    by,
                    original_present: false,
                } => return done(item, &by, "", attempts),
                Found::Missing {
                    original_present: false,
                } => return vanished(item, attempts),
                Found::Missing {
                    original_present: true,
                } => {}
            }
            let client = self.client();
            let (created, n) = caller
                .call("handinger.schedules.create", false, || {
                    client.create_schedule(&intent.worker, &intent.replacement)
                })
                .await;
            attempts += n;
            let e = match created {
                Ok(made) => {
                    let by = made.id.clone();
                    listing.push(made);
                    return self
                        .cancel_original(caller, item, intent, &by, listing, attempts)
                        .await;
                }
                Err(e) => e,
            };
            if !e.is_transient() {
                let reason = format!("create refused ({e}): the original is kept");
                return item_outcome(item, ItemState::Failed, reason, e.status(), attempts);
            }
            if e.certainly_not_applied() {
                let reason = format!("not sent: the create did not reach the server ({e})");
                return item_outcome(item, ItemState::Pending, reason, e.status(), attempts);
            }
            // The create may have happened: look, never create again blindly.
            match self.listing(caller, &intent.worker).await {
                Ok(fresh) => *listing = fresh,
                Err((read, n)) => {
                    let reason = format!("the create's answer was lost ({e}) and the worker's list could not be read ({read}): checked on the server at verification");
                    return item_outcome(item, ItemState::Sent, reason, e.status(), attempts + n);
                }
            }
        }
        let reason = format!("{CREATE_TRIES} creates lost their answer and no replacement was found: checked on the server at verification");
        item_outcome(item, ItemState::Sent, reason, None, attempts)
    }

    /// The intents of `items` by worker, in item order; an unreadable one fails at once.
    fn by_worker<'a>(
        items: &'a [Item],
        outcomes: &mut Vec<ItemOutcome>,
    ) -> BTreeMap<String, Vec<(&'a Item, Intent)>> {
        let mut workers: BTreeMap<String, Vec<(&Item, Intent)>> = BTreeMap::new();
        for item in items {
            match intent_of(item) {
                Some(intent) => workers
                    .entry(intent.worker.clone())
                    .or_default()
                    .push((item, intent)),
                None => outcomes.push(item_outcome(
                    item,
                    ItemState::Failed,
                    "unreadable intent in the state store: not rescheduled".into(),
                    None,
                    0,
                )),
            }
        }
        workers
    }

    /// What the server's lists say of items whose fate is in doubt: finished (cancelling an
    /// original whose replacement exists), vanished, or — `None` — not replaced yet.
    async fn settle(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<Vec<(Item, Option<ItemOutcome>)>, OpError> {
        let mut failed = Vec::new();
        let mut decided = Vec::with_capacity(items.len());
        for (worker, intents) in Self::by_worker(items, &mut failed) {
            let mut listing = self
                .listing(caller, &worker)
                .await
                .map_err(|(e, _)| OpError::from(e))?;
            for (item, intent) in intents {
                let outcome = match find(&listing, &intent) {
                    Found::Replaced {
                        by,
                        original_present: true,
                    } => Some(
                        self.cancel_original(caller, item, &intent, &by, &mut listing, 0)
                            .await,
                    ),
                    Found::Replaced {
                        by,
                        original_present: false,
                    } => Some(done(item, &by, "", 0)),
                    Found::Missing {
                        original_present: false,
                    } => Some(vanished(item, 0)),
                    Found::Missing {
                        original_present: true,
                    } => None,
                };
                decided.push((item.clone(), outcome));
            }
        }
        let by_id: BTreeMap<&str, &Item> = items.iter().map(|i| (i.id.as_str(), i)).collect();
        for outcome in failed {
            if let Some(item) = by_id.get(outcome.id.as_str()) {
                decided.push(((*item).clone(), Some(outcome)));
            }
        }
        Ok(decided)
    }
}

#[async_trait]
impl Operation for HandingerReschedule {
    fn initial_cursor(&self) -> String {
        WorkerPages::initial_cursor()
    }

    async fn enumerate(&self, caller: &Caller, cursor: &str) -> Result<Page, OpError> {
        let page = self.pages.next_page(caller, cursor).await?;
        let (selected, skipped) = self.plan(
            &page.worker,
            &page.schedules,
            cursor == WorkerPages::initial_cursor(),
        );
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (s, def) in &selected {
            if let Ok(def) = def {
                let key = serde_json::to_string(def).unwrap_or_default();
                groups.entry(key).or_default().push(s.id.clone());
            }
        }
        let skipped = skipped.into_iter().map(|(id, reason)| {
            let mut item = NewItem::new(id);
            item.settled = Some((ItemState::Skipped, reason));
            item
        });
        let items = selected
            .into_iter()
            .map(|(original, def)| {
                if original.schedule_type().is_none() {
                    return unknown_type_item(&page.worker, &original);
                }
                let mut item = NewItem::new(item_id(&page.worker, &original));
                match def {
                    Ok(replacement) => {
                        let key = serde_json::to_string(&replacement).unwrap_or_default();
                        let group = groups.get(&key).cloned().unwrap_or_default();
                        let twins = page
                            .schedules
                            .iter()
                            .filter(|s| !group.contains(&s.id) && s.matches(&replacement))
                            .map(|s| s.id.clone())
                            .collect();
                        let intent = Intent {
                            worker: page.worker.clone(),
                            original,
                            replacement,
                            group,
                            twins,
                        };
                        item.payload = serde_json::to_value(intent).ok();
                    }
                    Err(reason) => item.settled = Some((ItemState::Skipped, reason)),
                }
                item
            })
            .chain(skipped)
            .collect();
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
            scope: None,
        })
    }

    fn sending(&self) -> Sending {
        Sending::ONCE
    }

    async fn execute(&self, caller: &Caller, items: &[Item]) -> Vec<ItemOutcome> {
        let mut outcomes = Vec::with_capacity(items.len());
        let mut unreachable: Option<String> = None;
        for (worker, intents) in Self::by_worker(items, &mut outcomes) {
            let mut listing = match &unreachable {
                Some(_) => Vec::new(),
                None => match self.listing(caller, &worker).await {
                    Ok(listing) => listing,
                    Err((e, _)) if e.is_transient() => {
                        unreachable = Some(format!(
                            "not sent: the worker's list could not be read ({e})"
                        ));
                        Vec::new()
                    }
                    Err((e, attempts)) => {
                        for (item, _) in &intents {
                            let reason =
                                format!("the worker's list was refused ({e}): not rescheduled");
                            outcomes.push(item_outcome(
                                item,
                                ItemState::Failed,
                                reason,
                                e.status(),
                                attempts,
                            ));
                        }
                        continue;
                    }
                },
            };
            for (item, intent) in intents {
                if let Some(why) = &unreachable {
                    outcomes.push(item_outcome(item, ItemState::Pending, why.clone(), None, 0));
                    continue;
                }
                let outcome = self.replace(caller, item, &intent, &mut listing).await;
                if outcome.state == ItemState::Pending {
                    unreachable = outcome.reason.clone();
                }
                outcomes.push(outcome);
            }
        }
        outcomes
    }

    async fn verify(
        &self,
        caller: &Caller,
        _scope: Option<&serde_json::Value>,
        items: &[Item],
    ) -> Result<Vec<ItemOutcome>, OpError> {
        let decided = self.settle(caller, items).await?;
        Ok(decided
            .into_iter()
            .filter_map(|(_, outcome)| outcome)
            .collect())
    }

    /// An item still without a replacement when verification runs out is replaced again:
    /// every look found its original present and no replacement, so nothing was created.
    fn resend_unconfirmed(&self) -> Option<Resend> {
        Some(Resend {
            rounds: 2,
            reason: "no replacement could be made: every create's answer was lost",
        })
    }

    async fn reconcile(
        &self,
        caller: &Caller,
        items: &[Item],
    ) -> Result<Vec<(Item, Option<ItemOutcome>)>, OpError> {
        self.settle(caller, items).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{json, Value};

    use super::*;
    use crate::backend::handinger::models::ScheduleType;
    use crate::backend::handinger::testing::Sim;
    use crate::ops::handinger_selection::harness::{
        caller, count, enumerate_all, run_to_end, run_with_crashes,
    };
    use crate::ops::HandingerSelection;

    fn reschedule_op(
        sim: &Sim,
        selection: HandingerSelection,
        rule: Replacement,
    ) -> HandingerReschedule {
        let filter = selection.resolve(Utc::now()).expect("a valid selection");
        HandingerReschedule::new(
            WorkerPages::new(sim.client(Duration::from_secs(5)), filter),
            rule,
        )
    }

    fn selection(workers: &[&str], types: &[ScheduleType]) -> HandingerSelection {
        HandingerSelection {
            workers: workers.iter().map(|w| w.to_string()).collect(),
            types: types.to_vec(),
            ..HandingerSelection::default()
        }
    }

    fn intent(item: &Item) -> Intent {
        intent_of(item).expect("an intent")
    }

    async fn live(sim: &Sim, worker: &str) -> Vec<Value> {
        let dump = sim.control("/_sim/dump", None).await;
        dump["workers"][worker]["schedules"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn cron_expressions_are_checked_field_by_field() {
        for good in [
            "0 3 * * *",
            "*/15 9-17 * * MON-FRI",
            "0 0 1 JAN,JUL *",
            "5,35 */2 1-15/3 * 0-7",
        ] {
            assert!(CronExpr::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "every day",
            "60 * * * *",
            "* * * *",
            "5-1 * * * *",
            "*/0 * * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "0 0 * FOO *",
            "* * * * * *",
        ] {
            let err = CronExpr::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("e.g. \"0 3 * * *\""), "{err}");
        }
        assert_eq!(
            CronExpr::parse("  0   3 * * * ").unwrap().as_str(),
            "0 3 * * *"
        );
    }

    mod never_panics {
        use proptest::prelude::*;

        use super::super::{CronExpr, Replacement};
        use crate::ops::HandingerSelection;

        fn cronish() -> impl Strategy<Value = String> {
            prop::collection::vec("[0-9*/,A-Za-z-]{0,6}", 0..7).prop_map(|f| f.join(" "))
        }

        proptest! {
            #[test]
            fn any_cron_text_parses_or_fails(text in any::<String>(), near in cronish()) {
                let _ = CronExpr::parse(&text);
                if let Ok(expr) = CronExpr::parse(&near) {
                    prop_assert_eq!(expr.as_str().split(' ').count(), 5);
                }
            }

            #[test]
            fn any_interval_or_workers_file_parses_or_fails(text in any::<String>()) {
                let _ = Replacement::interval(&text);
                if let Ok(workers) = HandingerSelection::parse_workers(&text) {
                    prop_assert!(workers.iter().all(|w| !w.is_empty() && !w.contains(char::is_whitespace)));
                }
            }
        }
    }

    #[test]
    fn intervals_are_whole_positive_seconds() {
        assert_eq!(
            Replacement::interval("3600"),
            Ok(Replacement::Interval { seconds: 3600 })
        );
        for bad in ["0", "-5", "1.5", "abc", "99999999999999"] {
            assert_eq!(
                Replacement::interval(bad),
                Err(RescheduleError::BadInterval(bad.into()))
            );
        }
    }

    #[test]
    fn each_rule_applies_to_its_kind_of_schedule_only() {
        let now = Utc::now();
        let at = |t: DateTime<Utc>| rfc3339(t);
        let row = |v: Value| serde_json::from_value::<WorkerSchedule>(v).unwrap();
        let cron = row(
            json!({"id": "c", "budget": "low", "input": "i", "nextRunAt": at(now), "type": "cron", "cron": "0 3 * * *"}),
        );
        let delayed = row(
            json!({"id": "d", "budget": "low", "input": "i", "nextRunAt": at(now + TimeDelta::minutes(5)), "type": "delayed", "delayInSeconds": 300}),
        );
        let shift = Replacement::Shift { seconds: 3600 };
        assert!(shift
            .replace(&cron, now)
            .unwrap_err()
            .contains("--cron or --interval"));
        let moved = shift.replace(&delayed, now).expect("moved");
        assert_eq!(
            moved.when,
            When::Scheduled {
                date: delayed.next_run_at + TimeDelta::hours(1)
            }
        );
        assert_eq!(moved.budget, "low");
        let every = Replacement::cron("0 4 * * *").unwrap();
        assert!(every
            .replace(&delayed, now)
            .unwrap_err()
            .contains("--to or --shift"));
        assert!(Replacement::cron("0 3 * * *")
            .unwrap()
            .replace(&cron, now)
            .unwrap_err()
            .contains("nothing to change"));
        let past = Replacement::Shift { seconds: -3600 };
        assert!(past
            .replace(&delayed, now)
            .unwrap_err()
            .contains("in the past"));
    }

    #[tokio::test]
    async fn crons_are_replaced_then_cancelled_with_no_create_twice() {
        let sim = Sim::start().await;
        sim.control(
            "/_sim/seed",
            Some(json!({"workers": 5, "per_worker": 40, "types": ["cron", "interval"]})),
        )
        .await;
        let workers = [
            "worker-0001",
            "worker-0002",
            "worker-0003",
            "worker-0004",
            "worker-0005",
        ];
        let op = reschedule_op(
            &sim,
            selection(&workers, &[ScheduleType::Cron]),
            Replacement::cron("30 4 * * *").unwrap(),
        );
        let caller = caller();
        let (items, settled) = enumerate_all(&op, &caller).await;
        assert_eq!((items.len(), settled.len()), (100, 0));
        let outcomes = run_to_end(&op, &caller, items, 25).await;
        assert_eq!(count(&outcomes, ItemState::Done), 100);
        let stats = sim.control("/_sim/stats", None).await;
        assert_eq!(
            (
                stats["creates"].as_u64(),
                stats["duplicate_creates"].as_u64()
            ),
            (Some(100), Some(0))
        );
        assert_eq!(stats["cancels"], 100);
        let crons: Vec<Value> = live(&sim, "worker-0003")
            .await
            .into_iter()
            .filter(|s| s["type"] == "cron")
            .collect();
        assert_eq!(crons.len(), 20);
        assert!(crons.iter().all(|s| s["cron"] == "30 4 * * *"));
        let named = outcomes
            .values()
            .next()
            .and_then(|o| o.reason.clone())
            .unwrap();
        let by = named
            .strip_prefix("replaced by ")
            .expect("names the replacement");
        assert!(crons
            .iter()
            .chain(live(&sim, "worker-0001").await.iter())
            .any(|s| s["id"] == by));
    }

    #[tokio::test]
    async fn one_off_schedules_move_by_a_shift_and_recurring_ones_are_skipped_with_the_fix() {
        let sim = Sim::start().await;
        sim.control(
            "/_sim/seed",
            Some(json!({"worker_ids": ["w"], "per_worker": 8})),
        )
        .await;
        let before: Vec<Value> = live(&sim, "w").await;
        let op = reschedule_op(
            &sim,
            selection(&["w"], &[]),
            Replacement::Shift { seconds: 3600 },
        );
        let caller = caller();
        let (items, settled) = enumerate_all(&op, &caller).await;
        assert_eq!((items.len(), settled.len()), (4, 4));
        assert!(settled
            .iter()
            .all(|(_, state, reason)| *state == ItemState::Skipped
                && reason.contains("--cron or --interval")));
        let outcomes = run_to_end(&op, &caller, items, 25).await;
        assert_eq!(count(&outcomes, ItemState::Done), 4);
        let after = live(&sim, "w").await;
        for old in before
            .iter()
            .filter(|s| s["type"] == "scheduled" || s["type"] == "delayed")
        {
            let was: DateTime<Utc> = serde_json::from_value(old["nextRunAt"].clone()).unwrap();
            let moved = after
                .iter()
                .find(|s| s["input"] == old["input"])
                .expect("its replacement");
            let now_at: DateTime<Utc> = serde_json::from_value(moved["nextRunAt"].clone()).unwrap();
            assert_eq!(now_at, was + TimeDelta::hours(1));
            assert_eq!(moved["type"], "scheduled");
            assert_eq!(moved["budget"], old["budget"]);
        }
    }

    #[tokio::test]
    async fn a_crash_between_create_and_cancel_is_reconciled_by_listing_and_nothing_is_created_twice(
    ) {
        let sim = Sim::start().await;
        sim.control(
            "/_sim/seed",
            Some(json!({"worker_ids": ["w"], "per_worker": 3, "types": ["interval"]})),
        )
        .await;
        let op = reschedule_op(
            &sim,
            selection(&["w"], &[]),
            Replacement::Interval { seconds: 90 },
        );
        let caller = caller();
        let (items, _) = enumerate_all(&op, &caller).await;
        let client = sim.client(Duration::from_secs(5));
        // What the crashed process got done: the first item whole, the second only created.
        let (a, b) = (intent(&items[0]), intent(&items[1]));
        client.create_schedule("w", &a.replacement).await.unwrap();
        client.cancel_schedule("w", &a.original.id).await.unwrap();
        let made_b = client.create_schedule("w", &b.replacement).await.unwrap();
        let decided = op.reconcile(&caller, &items).await.expect("reconciled");
        let states: Vec<Option<ItemState>> = decided
            .iter()
            .map(|(_, o)| o.as_ref().map(|o| o.state))
            .collect();
        assert_eq!(states, [Some(ItemState::Done), Some(ItemState::Done), None]);
        assert_eq!(
            decided[1].1.as_ref().unwrap().reason.as_deref(),
            Some(format!("replaced by {}", made_b.id).as_str())
        );
        let outcomes = op.execute(&caller, &items[2..]).await;
        assert_eq!(outcomes[0].state, ItemState::Done);
        let stats = sim.control("/_sim/stats", None).await;
        assert_eq!(
            (
                stats["creates"].as_u64(),
                stats["duplicate_creates"].as_u64()
            ),
            (Some(3), Some(0))
        );
        assert_eq!(stats["cancels"], 3);
        assert!(live(&sim, "w")
            .await
            .iter()
            .all(|s| s["intervalSeconds"] == 90));
    }

    #[tokio::test]
    async fn identical_replacements_are_told_apart_by_counting_what_the_group_made() {
        let sim = Sim::start().await;
        sim.control("/_sim/seed", Some(json!({"worker_ids": ["w"]})))
            .await;
        let client = sim.client(Duration::from_secs(5));
        let soon = Utc::now() + TimeDelta::hours(1);
        let same = Definition {
            input: "same".into(),
            budget: "standard".into(),
            when: When::Scheduled { date: soon },
        };
        for _ in 0..3 {
            client.create_schedule("w", &same).await.unwrap();
        }
        let target = soon + TimeDelta::hours(5);
        let op = reschedule_op(&sim, selection(&["w"], &[]), Replacement::To(target));
        let caller = caller();
        let (items, _) = enumerate_all(&op, &caller).await;
        assert_eq!(intent(&items[0]).group.len(), 3);
        let (a, b) = (intent(&items[0]), intent(&items[1]));
        client.create_schedule("w", &a.replacement).await.unwrap();
        client.cancel_schedule("w", &a.original.id).await.unwrap();
        client.create_schedule("w", &b.replacement).await.unwrap();
        let decided = op.reconcile(&caller, &items).await.expect("reconciled");
        let states: Vec<Option<ItemState>> = decided
            .iter()
            .map(|(_, o)| o.as_ref().map(|o| o.state))
            .collect();
        assert_eq!(states, [Some(ItemState::Done), Some(ItemState::Done), None]);
        op.execute(&caller, &items[2..]).await;
        let dump = sim.control("/_sim/dump", None).await;
        let made: u64 = dump["creates_per_logical_schedule"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(key, _)| key.contains(&target.to_rfc3339_opts(SecondsFormat::Millis, true)))
            .map(|(_, n)| n.as_u64().unwrap())
            .sum();
        assert_eq!(made, 3, "one replacement per original, none twice");
        let left = live(&sim, "w").await;
        assert_eq!(left.len(), 3);
        assert!(left
            .iter()
            .all(|s| s["nextRunAt"] == json!(rfc3339(target))));
    }

    #[tokio::test]
    async fn the_undo_puts_every_original_definition_back_once() {
        let sim = Sim::start().await;
        sim.control(
            "/_sim/seed",
            Some(json!({"worker_ids": ["u1", "u2"], "per_worker": 12})),
        )
        .await;
        let before: Vec<Value> = [live(&sim, "u1").await, live(&sim, "u2").await].concat();
        let caller = caller();
        let crons = reschedule_op(
            &sim,
            selection(&["u1", "u2"], &[ScheduleType::Cron]),
            Replacement::cron("45 1 * * *").unwrap(),
        );
        let (items, _) = enumerate_all(&crons, &caller).await;
        let moved = reschedule_op(
            &sim,
            selection(
                &["u1", "u2"],
                &[ScheduleType::Scheduled, ScheduleType::Delayed],
            ),
            Replacement::Shift { seconds: 7200 },
        );
        let (more, _) = enumerate_all(&moved, &caller).await;
        assert_eq!(
            count(
                &run_to_end(&crons, &caller, items.clone(), 25).await,
                ItemState::Done
            ),
            6
        );
        assert_eq!(
            count(
                &run_to_end(&moved, &caller, more.clone(), 25).await,
                ItemState::Done
            ),
            12
        );
        let done: Vec<(String, Value)> = items
            .iter()
            .chain(&more)
            .map(|i| (i.id.clone(), i.payload.clone().unwrap()))
            .collect();
        let undo =
            HandingerReschedule::undo(sim.client(Duration::from_secs(5)), done).expect("an undo");
        let (back, settled) = enumerate_all(&undo, &caller).await;
        assert_eq!((back.len(), settled.len()), (18, 0));
        assert_eq!(
            count(&run_to_end(&undo, &caller, back, 25).await, ItemState::Done),
            18
        );
        let after: Vec<Value> = [live(&sim, "u1").await, live(&sim, "u2").await].concat();
        assert_eq!(after.len(), 24);
        for old in &before {
            let now = after
                .iter()
                .find(|s| s["input"] == old["input"])
                .expect("restored");
            assert_eq!(now["budget"], old["budget"]);
            assert_eq!(now["nextRunAt"], old["nextRunAt"], "{old}");
            if old["type"] == "delayed" {
                assert_eq!(
                    now["type"], "scheduled",
                    "a delay would count from the create"
                );
            } else {
                assert_eq!(
                    (&now["type"], &now["cron"], &now["intervalSeconds"]),
                    (&old["type"], &old["cron"], &old["intervalSeconds"])
                );
            }
        }
        let stats = sim.control("/_sim/stats", None).await;
        assert_eq!(stats["duplicate_creates"], 0);
        assert_eq!(stats["creates"], 36, "18 replacements, 18 originals back");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reschedule_of_3000_cut_off_at_random_moments_and_resumed_loses_none_and_makes_none_twice(
    ) {
        let sim = Sim::start().await;
        sim.control(
            "/_sim/seed",
            Some(json!({"workers": 10, "per_worker": 300, "types": ["cron", "interval"]})),
        )
        .await;
        let workers: Vec<String> = (1..=10).map(|i| format!("worker-{i:04}")).collect();
        let names: Vec<&str> = workers.iter().map(String::as_str).collect();
        let op = reschedule_op(
            &sim,
            selection(&names, &[ScheduleType::Interval]),
            Replacement::Interval { seconds: 45 },
        );
        let caller = caller();
        let (items, _) = enumerate_all(&op, &caller).await;
        assert_eq!(items.len(), 1500);
        let more = reschedule_op(
            &sim,
            selection(&names, &[ScheduleType::Cron]),
            Replacement::cron("0 5 * * 1").unwrap(),
        );
        let (crons, _) = enumerate_all(&more, &caller).await;
        let (a, cuts_a) = run_with_crashes(&op, &caller, items, 25, 40).await;
        let (b, cuts_b) = run_with_crashes(&more, &caller, crons, 25, 40).await;
        assert!(
            cuts_a + cuts_b > 10,
            "the runs were cut: {}",
            cuts_a + cuts_b
        );
        assert_eq!(
            count(&a, ItemState::Done) + count(&b, ItemState::Done),
            3000
        );
        let stats = sim.control("/_sim/stats", None).await;
        assert_eq!(stats["duplicate_creates"], 0, "none made twice");
        assert_eq!(stats["creates"], 3000, "none lost");
        assert_eq!(stats["cancels"], 3000, "every original cancelled");
        assert_eq!(stats["schedules"], 3000);
        let left = live(&sim, "worker-0007").await;
        assert!(left
            .iter()
            .all(|s| s["intervalSeconds"] == 45 || s["cron"] == "0 5 * * 1"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lost_create_answers_under_dropped_connections_never_make_a_duplicate() {
        let sim = Sim::start().await;
        sim.control(
            "/_sim/seed",
            Some(json!({"workers": 6, "per_worker": 50, "types": ["cron"]})),
        )
        .await;
        sim.control(
            "/_sim/faults",
            Some(json!({"drop_rate": 0.25, "error_rate": 0.05})),
        )
        .await;
        let workers = [
            "worker-0001",
            "worker-0002",
            "worker-0003",
            "worker-0004",
            "worker-0005",
            "worker-0006",
        ];
        let op = reschedule_op(
            &sim,
            selection(&workers, &[]),
            Replacement::cron("15 2 * * *").unwrap(),
        );
        let caller = caller();
        let (items, _) = enumerate_all(&op, &caller).await;
        assert_eq!(items.len(), 300);
        let outcomes = run_to_end(&op, &caller, items, 25).await;
        sim.control("/_sim/faults", Some(json!({}))).await;
        assert_eq!(
            count(&outcomes, ItemState::Done),
            300,
            "{:?}",
            outcomes.values().find(|o| o.state != ItemState::Done)
        );
        let stats = sim.control("/_sim/stats", None).await;
        assert_eq!(stats["duplicate_creates"], 0);
        assert_eq!(stats["creates"], 300);
        assert_eq!(stats["cancels"], 300, "every original cancelled");
        assert_eq!(stats["schedules"], 300);
        let posts = stats["requests"]["POST /api/workers/{worker_id}/schedules"].as_u64();
        assert!(
            posts > Some(300),
            "some creates lost their answer: {posts:?}"
        );
    }
}
