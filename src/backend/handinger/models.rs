//! The JSON shapes of the worker-schedules API (camelCase). Reads tolerate unknown fields and
//! unknown schedule types, since the API moves faster than this client.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A schedule's budget. Kept as the server's text, so a value newer than this client passes
/// through a reschedule unchanged.
pub type Budget = String;

/// The budgets the API documents, for checking user input.
pub const BUDGETS: [&str; 4] = ["low", "standard", "high", "unlimited"];

/// A schedule's kind, as named in the API's `type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleType {
    Scheduled,
    Delayed,
    Cron,
    Interval,
}

impl ScheduleType {
    pub const ALL: [ScheduleType; 4] = [
        ScheduleType::Scheduled,
        ScheduleType::Delayed,
        ScheduleType::Cron,
        ScheduleType::Interval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleType::Scheduled => "scheduled",
            ScheduleType::Delayed => "delayed",
            ScheduleType::Cron => "cron",
            ScheduleType::Interval => "interval",
        }
    }

    /// One-off schedules run once (moved with a time); the others recur (replaced with a rule).
    pub fn is_one_off(self) -> bool {
        matches!(self, ScheduleType::Scheduled | ScheduleType::Delayed)
    }
}

/// When a schedule runs, as sent in a create (`when`), tagged on `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum When {
    Scheduled { date: DateTime<Utc> },
    Delayed { delay_in_seconds: i64 },
    Cron { cron: String },
    Interval { interval_seconds: i64 },
}

/// A listed schedule's timing: its type and the type's own field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum Timing {
    Scheduled,
    Delayed {
        delay_in_seconds: i64,
    },
    Cron {
        cron: String,
    },
    Interval {
        interval_seconds: i64,
    },
    /// A type this client does not know (a newer API): listed, never acted on.
    #[serde(other)]
    Unknown,
}

/// `WorkerSchedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerSchedule {
    pub id: String,
    pub budget: Budget,
    pub input: String,
    pub next_run_at: DateTime<Utc>,
    #[serde(flatten)]
    pub timing: Timing,
}

impl WorkerSchedule {
    /// `None` for a type this client does not know.
    pub fn schedule_type(&self) -> Option<ScheduleType> {
        match self.timing {
            Timing::Scheduled => Some(ScheduleType::Scheduled),
            Timing::Delayed { .. } => Some(ScheduleType::Delayed),
            Timing::Cron { .. } => Some(ScheduleType::Cron),
            Timing::Interval { .. } => Some(ScheduleType::Interval),
            Timing::Unknown => None,
        }
    }

    /// What a create would need to make this schedule again. A delayed one is re-made as
    /// scheduled at its next run: a delay would count from the create, not from the original.
    pub fn definition(&self) -> Option<Definition> {
        let when = match &self.timing {
            Timing::Scheduled | Timing::Delayed { .. } => When::Scheduled {
                date: self.next_run_at,
            },
            Timing::Cron { cron } => When::Cron { cron: cron.clone() },
            Timing::Interval { interval_seconds } => When::Interval {
                interval_seconds: *interval_seconds,
            },
            Timing::Unknown => return None,
        };
        Some(Definition {
            input: self.input.clone(),
            budget: self.budget.clone(),
            when,
        })
    }

    /// Whether this listed schedule is what a create of `def` makes. A `scheduled` date is
    /// compared to the millisecond (what the API shows); a delay by its length, since its
    /// next run counts from the create.
    pub fn matches(&self, def: &Definition) -> bool {
        if self.input != def.input || self.budget != def.budget {
            return false;
        }
        match (&self.timing, &def.when) {
            (Timing::Scheduled, When::Scheduled { date }) => {
                self.next_run_at.timestamp_millis() == date.timestamp_millis()
            }
            (
                Timing::Delayed {
                    delay_in_seconds: a,
                },
                When::Delayed {
                    delay_in_seconds: b,
                },
            ) => a == b,
            (Timing::Cron { cron: a }, When::Cron { cron: b }) => a == b,
            (
                Timing::Interval {
                    interval_seconds: a,
                },
                When::Interval {
                    interval_seconds: b,
                },
            ) => a == b,
            _ => false,
        }
    }
}

/// The body of a create: `{input, when, budget}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub input: String,
    pub budget: Budget,
    pub when: When,
}

/// `GET /api/workers/{workerId}/schedules`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleList {
    pub schedules: Vec<WorkerSchedule>,
}

/// `DELETE /api/workers/{workerId}/schedules/{scheduleId}`.
#[derive(Debug, Deserialize)]
pub struct CancelResponse {
    pub cancelled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_type_and_tolerates_what_is_newer() {
        let list: ScheduleList = serde_json::from_str(
            r#"{"workerId":"w","schedules":[
              {"id":"a","budget":"low","input":"x","nextRunAt":"2031-01-01T00:00:00.000Z","type":"scheduled"},
              {"id":"b","budget":"standard","input":"y","nextRunAt":"2031-01-01T00:00:00Z","type":"delayed","delayInSeconds":60},
              {"id":"c","budget":"high","input":"z","nextRunAt":"2031-01-01T00:00:00Z","type":"cron","cron":"0 3 * * *","extra":1},
              {"id":"d","budget":"premium","input":"","nextRunAt":"2031-01-01T00:00:00Z","type":"interval","intervalSeconds":30},
              {"id":"e","budget":"low","input":"","nextRunAt":"2031-01-01T00:00:00Z","type":"webhook","url":"u"}
            ]}"#,
        )
        .expect("every row parses");
        let types: Vec<_> = list.schedules.iter().map(|s| s.schedule_type()).collect();
        assert_eq!(
            types,
            [
                Some(ScheduleType::Scheduled),
                Some(ScheduleType::Delayed),
                Some(ScheduleType::Cron),
                Some(ScheduleType::Interval),
                None
            ]
        );
        assert_eq!(list.schedules[3].budget, "premium");
    }

    #[test]
    fn a_create_body_is_camel_case_and_tagged() {
        let def = Definition {
            input: "x".into(),
            budget: "standard".into(),
            when: When::Interval {
                interval_seconds: 90,
            },
        };
        assert_eq!(
            serde_json::to_value(&def).unwrap(),
            serde_json::json!({"input": "x", "budget": "standard", "when": {"type": "interval", "intervalSeconds": 90}})
        );
    }

    #[test]
    fn a_listed_schedule_matches_the_definition_it_was_made_from() {
        let row: WorkerSchedule = serde_json::from_str(
            r#"{"id":"a","budget":"low","input":"x","nextRunAt":"2031-01-01T00:00:00.123Z","type":"scheduled"}"#,
        )
        .unwrap();
        let def = row.definition().expect("known type");
        assert!(row.matches(&def));
        let other_budget = Definition {
            budget: "high".into(),
            ..def.clone()
        };
        assert!(!row.matches(&other_budget));
        let later = Definition {
            when: When::Scheduled {
                date: row.next_run_at + chrono::TimeDelta::milliseconds(1),
            },
            ..def
        };
        assert!(!row.matches(&later));
    }
}
