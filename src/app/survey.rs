//! What enumeration finds for a selection before any job exists.

use std::collections::BTreeMap;

use super::pace::Pace;
use super::Error;
use crate::config::Settings;
use crate::ops::Operation;
use crate::store::{ItemState, Store};

/// What a dry run shows, what a confirmation counts, and whether there is anything to do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Survey {
    pub matching: u64,
    /// The first few ids.
    pub sample: Vec<String>,
    /// Items enumeration already settles as skipped (code-defined rows, active runs, ...), by
    /// reason, the most frequent first.
    pub skipped: Vec<(String, u64)>,
}

impl Survey {
    /// The items the job would act on.
    pub fn to_act_on(&self) -> u64 {
        let skipped: u64 = self.skipped.iter().map(|(_, n)| n).sum();
        self.matching.saturating_sub(skipped)
    }
}

const SAMPLE: usize = 5;

/// How far a survey reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Depth {
    Everything,
    /// Up to the first page with an item in it.
    FirstMatch,
}

/// Enumerates the selection as the job would (read-only), counting and sampling, at this
/// process's share of the job's rate (followed between pages).
pub(super) async fn survey(
    op: &dyn Operation,
    pace: &Pace,
    store: &mut dyn Store,
    settings: &Settings,
    depth: Depth,
) -> Result<Survey, Error> {
    let caller = pace.survey_caller(settings);
    let mut cursor = Some(op.initial_cursor());
    let mut found = Survey::default();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(at) = cursor {
        pace.renew(store).await?;
        let page = op.enumerate(&caller, &at).await?;
        for item in page.items {
            found.matching += 1;
            if found.sample.len() < SAMPLE {
                found.sample.push(item.id);
            }
            if let Some((ItemState::Skipped, reason)) = item.settled {
                *skipped.entry(reason).or_default() += 1;
            }
        }
        if depth == Depth::FirstMatch && found.matching > 0 {
            break;
        }
        cursor = page.next_cursor;
    }
    found.skipped = skipped.into_iter().collect();
    // Stable: equal counts keep the reasons' order.
    found.skipped.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    Ok(found)
}
