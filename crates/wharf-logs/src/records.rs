//! What CloudWatch Logs keeps in the store, and the keys it keeps it under.
//!
//! - `logs.groups`: `<account>/<region>/<group>` -> [`StoredGroup`].
//! - `logs.streams`: `<account>/<region>/<group>:<stream>` -> [`StoredStream`] (group names
//!   cannot contain `:`, so a group's streams are exactly the keys under `<group key>:`).
//! - `logs.events`: `<gid>/<sid:020>/<timestamp:016>/<seq:020>` -> [`StoredEvent`]. `gid` is
//!   the group incarnation's random id and `sid` the stream's number within it, so a stream's
//!   events are one key range in time order, and a deleted group or stream leaves no key a
//!   re-created one could reuse: its events are removed later, in bounded chunks, by the
//!   retention loop (`logs.purges`).
//! - `logs.purges`: `<event key prefix>` -> [`StoredPurge`], event ranges waiting to be deleted.
//! - `logs.queries`: `<account>/<region>/<query id>` -> [`StoredQuery`], Logs Insights queries
//!   and their results.
//!
//! Numbers in keys are zero-padded to a fixed width so that string order is numeric order.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wharf_store::{Table, TableFormat};

/// Table of log groups.
pub const GROUPS: Table<StoredGroup> = Table::new("logs.groups", 1);
/// Table of log streams.
pub const STREAMS: Table<StoredStream> = Table::new("logs.streams", 1);
/// Table of log events.
pub const EVENTS: Table<StoredEvent> = Table::new("logs.events", 1);
/// Table of event ranges left behind by deleted groups and streams.
pub const PURGES: Table<StoredPurge> = Table::new("logs.purges", 1);
/// Table of Logs Insights queries.
pub const QUERIES: Table<StoredQuery> = Table::new("logs.queries", 1);

/// Every table of CloudWatch Logs, with the format this wharf writes (checked at start).
pub const TABLES: &[TableFormat] = &[
    GROUPS.format(),
    STREAMS.format(),
    EVENTS.format(),
    PURGES.format(),
    QUERIES.format(),
];

/// Largest timestamp a key can hold (16 digits, about the year 318857).
pub const MAX_TIMESTAMP: i64 = 9_999_999_999_999_999;

/// A log group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredGroup {
    /// `logGroupName`.
    pub name: String,
    /// `creationTime`, epoch milliseconds.
    pub created: i64,
    /// `retentionInDays`; `None` keeps events forever.
    pub retention_days: Option<i32>,
    /// `kmsKeyId`, recorded but not used (wharf does not encrypt).
    pub kms_key_id: Option<String>,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
    /// `logGroupClass`.
    pub class: String,
    /// `deletionProtectionEnabled`: blocks DeleteLogGroup / DeleteLogStream.
    pub deletion_protection: bool,
    /// This incarnation's id: the first part of every event key of the group.
    pub gid: String,
    /// The number the next stream gets (never reused, so event ranges never collide).
    pub next_sid: u64,
    /// Its metric filters, by name (they go with the group).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metric_filters: BTreeMap<String, StoredMetricFilter>,
}

/// A metric filter of a log group: matching events become CloudWatch data points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMetricFilter {
    /// `filterPattern` as given.
    pub pattern: String,
    /// `creationTime`, epoch milliseconds.
    pub created: i64,
    /// The one `metricTransformations` entry.
    pub transformation: StoredTransformation,
}

/// What a matching event becomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTransformation {
    /// `metricName`.
    pub metric_name: String,
    /// `metricNamespace`.
    pub namespace: String,
    /// `metricValue`: a number, `$.json.selector` or `$field` of a space-delimited pattern.
    pub value: String,
    /// `defaultValue`: what an event that does not match counts.
    pub default_value: Option<f64>,
    /// `dimensions`: name -> `$.json.selector` or `$field`.
    pub dimensions: BTreeMap<String, String>,
    /// `unit` (CloudWatch's standard units; `None` when not given).
    pub unit: Option<String>,
}

/// A log stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredStream {
    /// `logStreamName`.
    pub name: String,
    /// `creationTime`, epoch milliseconds.
    pub created: i64,
    /// The stream's number within its group (second part of its event keys).
    pub sid: u64,
    /// `firstEventTimestamp`: the oldest event still stored.
    pub first_ts: Option<i64>,
    /// `lastEventTimestamp`: the newest event ever stored.
    pub last_ts: Option<i64>,
    /// `lastIngestionTime`.
    pub last_ingestion: Option<i64>,
    /// Bytes of the messages still stored (summed into the group's `storedBytes`).
    pub stored_bytes: i64,
    /// The sequence number the next event gets; also the `uploadSequenceToken`.
    pub next_seq: u64,
}

/// One event; its timestamp and sequence number are in its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The message.
    #[serde(rename = "m")]
    pub message: String,
    /// `ingestionTime`, epoch milliseconds.
    #[serde(rename = "i")]
    pub ingestion: i64,
}

/// An event range to delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPurge {
    /// What was deleted, for the log.
    pub what: String,
}

/// A Logs Insights query (StartQuery) and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredQuery {
    /// `queryId`.
    pub id: String,
    /// `queryString`, as given.
    pub query_string: String,
    /// `queryLanguage` (`CWLI`).
    pub language: String,
    /// The log groups queried, by name, in request order.
    pub groups: Vec<String>,
    /// `status`: `Scheduled`, `Running`, `Complete`, `Failed`, `Cancelled`, `Timeout`.
    pub status: String,
    /// `createTime`, epoch milliseconds.
    pub created: i64,
    /// `startTime` / `endTime` of the request, epoch seconds.
    pub start_time: i64,
    /// See `start_time`.
    pub end_time: i64,
    /// The result rows: (field, value) pairs, `@ptr` last on event rows.
    pub rows: Vec<Vec<(String, String)>>,
    /// `statistics.recordsMatched`.
    pub matched: u64,
    /// `statistics.recordsScanned`.
    pub scanned: u64,
    /// `statistics.bytesScanned`.
    pub bytes: u64,
}

/// The key of query `id`.
pub fn query_key(account: &str, region: &str, id: &str) -> String {
    format!("{account}/{region}/{id}")
}

/// Where an event sits: in time order within a stream, and across the streams of a group
/// (ties broken by stream number, then arrival).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventPos {
    /// Event timestamp, epoch milliseconds.
    pub ts: i64,
    /// The stream's number.
    pub sid: u64,
    /// Arrival order within the stream.
    pub seq: u64,
}

impl EventPos {
    /// AWS's 56-digit `eventId` shape: timestamp, stream number, sequence number.
    pub fn event_id(&self) -> String {
        format!("{:016}{:020}{:020}", clamp_ts(self.ts), self.sid, self.seq)
    }

    /// Parses [`EventPos::event_id`].
    pub fn parse_event_id(text: &str) -> Option<Self> {
        if text.len() != 56 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            ts: text[..16].parse().ok()?,
            sid: text[16..36].parse().ok()?,
            seq: text[36..].parse().ok()?,
        })
    }

    /// The position just after this one in the same stream.
    pub fn next(&self) -> Self {
        Self {
            seq: self.seq.saturating_add(1),
            ..*self
        }
    }
}

/// `ts` within what a key can hold.
pub fn clamp_ts(ts: i64) -> i64 {
    ts.clamp(0, MAX_TIMESTAMP)
}

/// The key of group `name`.
pub fn group_key(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

/// The prefix of every group key in an account and region.
pub fn groups_prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

/// The prefix of every stream key of the group whose key is `group_key`.
pub fn streams_prefix(group_key: &str) -> String {
    format!("{group_key}:")
}

/// The key of stream `stream` of the group whose key is `group_key`.
pub fn stream_key(group_key: &str, stream: &str) -> String {
    format!("{group_key}:{stream}")
}

/// The prefix of every event key of a group incarnation.
pub fn group_events_prefix(gid: &str) -> String {
    format!("{gid}/")
}

/// The prefix of every event key of stream `sid` of group incarnation `gid`.
pub fn stream_events_prefix(gid: &str, sid: u64) -> String {
    format!("{gid}/{sid:020}/")
}

/// The key of the event at (`ts`, `seq`) under `prefix` (a [`stream_events_prefix`]); also
/// the inclusive lower bound of the events at or after that position.
pub fn event_key(prefix: &str, ts: i64, seq: u64) -> String {
    format!("{prefix}{:016}/{seq:020}", clamp_ts(ts))
}

/// An exclusive upper bound after every event under `prefix`.
pub fn events_end(prefix: &str) -> String {
    format!("{prefix}~")
}

/// (timestamp, sequence number) from an event key.
pub fn parse_event_key(key: &str) -> Option<(i64, u64)> {
    let (rest, seq) = key.rsplit_once('/')?;
    let (_, ts) = rest.rsplit_once('/')?;
    Some((ts.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_in_time_order() {
        let p = stream_events_prefix("abc", 7);
        let keys = [
            event_key(&p, 0, 5),
            event_key(&p, 999, 0),
            event_key(&p, 1_000, 0),
            event_key(&p, 1_000, 1),
            event_key(&p, 1_700_000_000_000, 0),
        ];
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
        assert!(keys.iter().all(|k| k.as_str() < events_end(&p).as_str()));
        assert_eq!(parse_event_key(&keys[3]), Some((1_000, 1)));
        assert_eq!(event_key(&p, -5, 0), event_key(&p, 0, 0));
    }

    #[test]
    fn event_ids_round_trip_and_order() {
        let a = EventPos {
            ts: 1_700_000_000_000,
            sid: 2,
            seq: 9,
        };
        let b = EventPos {
            ts: 1_700_000_000_000,
            sid: 3,
            seq: 0,
        };
        assert_eq!(a.event_id().len(), 56);
        assert_eq!(EventPos::parse_event_id(&a.event_id()), Some(a));
        assert!(a.event_id() < b.event_id());
        assert!(a < b);
        assert_eq!(EventPos::parse_event_id("12x"), None);
    }

    #[test]
    fn tables_keep_their_names_at_format_1() {
        let names: Vec<(&str, u32)> = TABLES.iter().map(|t| (t.name, t.version)).collect();
        assert_eq!(
            names,
            vec![
                ("logs.groups", 1),
                ("logs.streams", 1),
                ("logs.events", 1),
                ("logs.purges", 1),
                ("logs.queries", 1),
            ]
        );
    }
}
