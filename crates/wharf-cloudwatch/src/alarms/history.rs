//! Alarm history: the items CloudWatch records (ConfigurationUpdate on create / update /
//! delete, StateUpdate on each state change, Action for each action run), written in AWS's
//! `HistorySummary` / `HistoryData` forms, kept 30 days (as AWS does; older items are removed
//! as new ones are written, a bounded amount at a time), and DescribeAlarmHistory's query.

use super::wire::history_json;
use crate::records::{alarm_prefix, history_key, AlarmHistoryRecord, AlarmRecord, ALARM_HISTORY};
use serde_json::{json, Value};
use wharf_core::{IdGen, Timestamp};
use wharf_store::{StoreError, Tx};

/// How long history is kept: AWS's 30 days.
pub const RETENTION_MILLIS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Orders the items written in the same millisecond.
static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Most expired items removed per write (keeps each write short).
const PRUNE_BATCH: usize = 100;

/// A history item, before it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `HistoryItemType`.
    pub item_type: &'static str,
    /// `HistorySummary`.
    pub summary: String,
    /// `HistoryData`.
    pub data: Value,
}

/// `Alarm "<name>" created` with the alarm as created.
pub fn created(r: &AlarmRecord) -> Item {
    Item {
        item_type: "ConfigurationUpdate",
        summary: format!("Alarm \"{}\" created", r.name),
        data: json!({"type": "Create", "version": "1.0", "createdAlarm": history_json(r)}),
    }
}

/// `Alarm "<name>" updated` with the configuration before and after.
pub fn updated(before: &AlarmRecord, after: &AlarmRecord) -> Item {
    Item {
        item_type: "ConfigurationUpdate",
        summary: format!("Alarm \"{}\" updated", after.name),
        data: json!({
            "type": "Update",
            "version": "1.0",
            "originalUpdatedAlarm": history_json(before),
            "updatedAlarm": history_json(after),
        }),
    }
}

/// `Alarm "<name>" deleted` with the alarm as it was.
pub fn deleted(r: &AlarmRecord) -> Item {
    Item {
        item_type: "ConfigurationUpdate",
        summary: format!("Alarm \"{}\" deleted", r.name),
        data: json!({"type": "Delete", "version": "1.0", "deletedAlarm": history_json(r)}),
    }
}

fn state_json(value: &str, reason: &str, reason_data: Option<&str>) -> Value {
    let mut state = json!({"stateValue": value, "stateReason": reason});
    if let Some(data) = reason_data.and_then(|d| serde_json::from_str::<Value>(d).ok()) {
        state["stateReasonData"] = data;
    }
    state
}

/// `Alarm updated from <old> to <new>` with both states.
pub fn state_update(before: &AlarmRecord, after: &AlarmRecord) -> Item {
    Item {
        item_type: "StateUpdate",
        summary: format!(
            "Alarm updated from {} to {}",
            before.state_value, after.state_value
        ),
        data: json!({
            "version": "1.0",
            "oldState": state_json(&before.state_value, &before.state_reason, before.state_reason_data.as_deref()),
            "newState": state_json(&after.state_value, &after.state_reason, after.state_reason_data.as_deref()),
        }),
    }
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionResult {
    /// The handler ran it.
    Succeeded,
    /// The handler failed with this message, or none handles it.
    Failed(String),
    /// wharf does not deliver this kind of action (SNS, EC2, Systems Manager ...).
    NotDelivered,
}

/// The Action item for `arn` run at the state change of `state_updated`.
pub fn action(arn: &str, state_updated: Timestamp, result: &ActionResult) -> Item {
    let (state, summary, error) = match result {
        ActionResult::Succeeded => (
            "Succeeded",
            format!("Successfully executed action {arn}"),
            None,
        ),
        ActionResult::Failed(e) => (
            "Failed",
            format!("Failed to execute action {arn}. Received error: \"{e}\""),
            Some(e.clone()),
        ),
        ActionResult::NotDelivered => (
            "Failed",
            format!("Failed to execute action {arn}: wharf does not deliver this kind of action (it is kept and listed)"),
            Some("wharf does not deliver this kind of action".to_string()),
        ),
    };
    let mut data = json!({
        "actionState": state,
        "stateUpdateTimestamp": state_updated.millis,
        "notificationResource": arn,
    });
    if let Some(e) = error {
        data["error"] = json!(e);
    }
    Item {
        item_type: "Action",
        summary,
        data,
    }
}

/// Writes `item` of alarm `name` at `at`, and removes a batch of items past retention.
pub fn record(
    tx: &Tx<'_>,
    ids: &dyn IdGen,
    account: &str,
    region: &str,
    name: &str,
    at: Timestamp,
    item: Item,
) -> Result<(), StoreError> {
    // Items of one millisecond keep the order they were written in (a state change before the
    // actions it ran); the random part keeps keys unique across restarts.
    let seq = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let key = history_key(account, region, at, &format!("{seq:016x}{}", ids.hex(4)));
    tx.put(
        ALARM_HISTORY,
        &key,
        &AlarmHistoryRecord {
            alarm_name: name.to_string(),
            timestamp: at,
            item_type: item.item_type.to_string(),
            summary: item.summary,
            data: item.data.to_string(),
        },
    )?;
    let prefix = alarm_prefix(account, region);
    let cutoff = history_key(account, region, at.plus_millis(-RETENTION_MILLIS), "");
    for old in tx.range_keys(ALARM_HISTORY, &prefix, &cutoff, PRUNE_BATCH)? {
        tx.delete(ALARM_HISTORY, &old)?;
    }
    Ok(())
}

/// DescribeAlarmHistory's filters.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `AlarmName`.
    pub alarm_name: Option<String>,
    /// `HistoryItemType`.
    pub item_type: Option<String>,
    /// `StartDate` (inclusive).
    pub start: Option<Timestamp>,
    /// `EndDate` (inclusive).
    pub end: Option<Timestamp>,
    /// Newest first (`TimestampDescending`, the default).
    pub descending: bool,
}

/// The items of `account` / `region` matching `q`, with their keys, in the order asked.
pub fn find(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    q: &Query,
) -> Result<Vec<(String, AlarmHistoryRecord)>, StoreError> {
    let start = history_key(account, region, q.start.unwrap_or_default(), "");
    let end = match q.end {
        Some(e) => history_key(account, region, e.plus_millis(1), ""),
        None => format!("{}\u{10FFFF}", alarm_prefix(account, region)),
    };
    let mut items = tx.range(ALARM_HISTORY, &start, &end, usize::MAX, q.descending)?;
    items.retain(|(_, item)| {
        q.alarm_name.as_ref().is_none_or(|n| item.alarm_name == *n)
            && q.item_type.as_ref().is_none_or(|t| item.item_type == *t)
    });
    Ok(items)
}
