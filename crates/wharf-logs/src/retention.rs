//! Deleting what CloudWatch Logs no longer keeps: events older than their group's retention
//! period (by event timestamp), and the events of deleted groups and streams (queued in
//! `logs.purges`). Runs as a background task ([`run_retention_loop`]); every store write
//! deletes a bounded chunk, so ingestion is never blocked for long.
//!
//! Reads already hide expired events, so how often this runs only decides how soon their
//! space is reclaimed.

use crate::groups::retention_floor;
use crate::records::{
    event_key, events_end, parse_event_key, stream_events_prefix, streams_prefix, StoredEvent,
    StoredGroup, StoredPurge, StoredStream, EVENTS, GROUPS, PURGES, STREAMS,
};
use crate::Logs;
use std::sync::Arc;
use std::time::Duration;
use wharf_core::Timestamp;
use wharf_store::StoreError;

/// Events deleted per store write.
const DELETE_CHUNK: usize = 2_000;

/// What one retention pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Events deleted because they were older than their group's retention.
    pub expired_events: usize,
    /// Events of deleted groups and streams deleted.
    pub purged_events: usize,
    /// Deleted groups and streams whose events are now all gone.
    pub purges_finished: usize,
}

impl Logs {
    /// One retention pass at `now`: finishes pending purges, then deletes every event whose
    /// timestamp is older than its group's `retentionInDays` allows.
    pub fn enforce_retention(&self, now: Timestamp) -> Result<RetentionReport, StoreError> {
        let mut report = RetentionReport::default();
        self.finish_purges(&mut report)?;
        let groups: Vec<(String, StoredGroup)> = self.store.read(|tx| tx.list(GROUPS, ""))?;
        for (gkey, group) in groups {
            if group.retention_days.is_none() {
                continue;
            }
            let cutoff = retention_floor(&group, now.millis);
            let streams: Vec<(String, StoredStream)> = self
                .store
                .read(|tx| tx.list(STREAMS, &streams_prefix(&gkey)))?;
            for (skey, stream) in streams {
                if stream.first_ts.is_some_and(|f| f < cutoff) {
                    report.expired_events +=
                        self.expire_stream(&gkey, &group.gid, &skey, stream.sid, now)?;
                }
            }
        }
        Ok(report)
    }

    /// Deletes the events of deleted groups and streams, a chunk per write.
    fn finish_purges(&self, report: &mut RetentionReport) -> Result<(), StoreError> {
        let purges: Vec<(String, StoredPurge)> = self.store.read(|tx| tx.list(PURGES, ""))?;
        for (prefix, purge) in purges {
            loop {
                let (deleted, done) = self.store.write(|tx| {
                    let rows =
                        tx.range_keys(EVENTS, &prefix, &events_end(&prefix), DELETE_CHUNK)?;
                    for key in &rows {
                        tx.delete(EVENTS, key)?;
                    }
                    let done = rows.len() < DELETE_CHUNK;
                    if done {
                        tx.delete(PURGES, &prefix)?;
                    }
                    Ok::<_, StoreError>((rows.len(), done))
                })?;
                report.purged_events += deleted;
                if done {
                    report.purges_finished += 1;
                    tracing::debug!(what = %purge.what, "deleted the events of a deleted log group or stream");
                    break;
                }
            }
        }
        Ok(())
    }

    /// Deletes the expired events of one stream; returns how many.
    fn expire_stream(
        &self,
        gkey: &str,
        gid: &str,
        skey: &str,
        sid: u64,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let (deleted, more) = self.store.write(|tx| {
                // Re-read both: the group may have been deleted (and re-created), its
                // retention changed, or the stream deleted since the pass started.
                let Some(group) = tx.get::<StoredGroup>(GROUPS, gkey)? else {
                    return Ok((0, false));
                };
                let Some(mut stream) = tx.get::<StoredStream>(STREAMS, skey)? else {
                    return Ok((0, false));
                };
                if group.gid != gid || stream.sid != sid || group.retention_days.is_none() {
                    return Ok((0, false));
                }
                let cutoff = retention_floor(&group, now.millis);
                let prefix = stream_events_prefix(gid, sid);
                let end = event_key(&prefix, cutoff, 0);
                let rows: Vec<(String, StoredEvent)> = if prefix < end {
                    tx.range(EVENTS, &prefix, &end, DELETE_CHUNK, false)?
                } else {
                    Vec::new()
                };
                if rows.is_empty() {
                    return Ok((0, false));
                }
                let mut freed = 0i64;
                for (key, event) in &rows {
                    tx.delete(EVENTS, key)?;
                    freed = freed.saturating_add(i64::try_from(event.message.len()).unwrap_or(0));
                }
                let first = tx.range_keys(EVENTS, &prefix, &events_end(&prefix), 1)?;
                stream.first_ts = first
                    .first()
                    .and_then(|k| parse_event_key(k))
                    .map(|(ts, _)| ts);
                stream.stored_bytes = stream.stored_bytes.saturating_sub(freed).max(0);
                tx.put(STREAMS, skey, &stream)?;
                Ok::<_, StoreError>((rows.len(), rows.len() == DELETE_CHUNK))
            })?;
            total += deleted;
            if !more {
                return Ok(total);
            }
        }
    }
}

/// Runs [`Logs::enforce_retention`] every `interval` until `stop` turns true (or its sender
/// goes away); a pass in progress finishes first.
pub async fn run_retention_loop(
    logs: Arc<Logs>,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        let l = logs.clone();
        let step = tokio::task::spawn_blocking(move || {
            let now = l.clock.now();
            l.enforce_retention(now)
        })
        .await;
        match step {
            Ok(Ok(r)) if r == RetentionReport::default() => {}
            Ok(Ok(r)) => tracing::info!(
                expired = r.expired_events,
                purged = r.purged_events,
                "log retention deleted events"
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "log retention pass failed"),
            Err(e) => tracing::error!(error = %e, "log retention pass panicked"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::DAY_MS;
    use crate::generated::*;
    use crate::testing::{Fixture, T0};
    use wharf_core::Clock;

    fn stream(f: &Fixture, g: &str, s: &str) -> LogStream {
        f.logs
            .describe_log_streams(
                &f.ctx(),
                DescribeLogStreamsRequest {
                    log_group_name: Some(g.into()),
                    log_stream_name_prefix: Some(s.into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .log_streams
            .unwrap()
            .remove(0)
    }

    fn event_count(f: &Fixture) -> usize {
        f.logs.store.read(|tx| tx.list(EVENTS, "")).unwrap().len()
    }

    fn stored_bytes(f: &Fixture, g: &str) -> i64 {
        f.logs
            .describe_log_groups(
                &f.ctx(),
                DescribeLogGroupsRequest {
                    log_group_name_prefix: Some(g.into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .log_groups
            .unwrap()
            .remove(0)
            .stored_bytes
            .unwrap()
    }

    #[test]
    fn deletes_events_older_than_retention_as_time_passes() {
        let f = Fixture::new();
        f.group_and_stream("/r", "s");
        f.group_and_stream("/keep", "s");
        f.put("/r", "s", &[(T0 - 2 * DAY_MS, "two days")]);
        f.put("/r", "s", &[(T0 - 1000, "now-ish")]);
        f.put("/keep", "s", &[(T0 - 2 * DAY_MS, "kept")]);
        let ctx = f.ctx();
        f.logs
            .put_retention_policy(
                &ctx,
                PutRetentionPolicyRequest {
                    log_group_name: "/r".into(),
                    retention_in_days: 1,
                },
            )
            .unwrap();
        assert_eq!(stored_bytes(&f, "/r"), 15);

        let r = f.logs.enforce_retention(f.clock.now()).unwrap();
        assert_eq!(r.expired_events, 1);
        assert_eq!(event_count(&f), 2);
        assert_eq!(stream(&f, "/r", "s").first_event_timestamp, Some(T0 - 1000));
        assert_eq!(stream(&f, "/r", "s").last_event_timestamp, Some(T0 - 1000));
        assert_eq!(stored_bytes(&f, "/r"), 7);

        // Nothing more to do until the clock moves past the next event's retention.
        let r = f.logs.enforce_retention(f.clock.now()).unwrap();
        assert_eq!(r, RetentionReport::default());
        f.clock.advance(DAY_MS);
        let r = f.logs.enforce_retention(f.clock.now()).unwrap();
        assert_eq!(r.expired_events, 1);
        assert_eq!(stream(&f, "/r", "s").first_event_timestamp, None);
        assert_eq!(stored_bytes(&f, "/r"), 0);
        // The group without retention keeps everything.
        assert_eq!(event_count(&f), 1);
    }

    #[test]
    fn deletes_large_backlogs_in_chunks() {
        let f = Fixture::new();
        f.group_and_stream("/big", "s");
        let msgs: Vec<String> = (0..(DELETE_CHUNK * 2 + 7))
            .map(|i| format!("m{i}"))
            .collect();
        let batch: Vec<(i64, &str)> = msgs.iter().map(|m| (T0 - 3 * DAY_MS, m.as_str())).collect();
        f.put("/big", "s", &batch);
        f.put("/big", "s", &[(T0, "fresh")]);
        f.logs
            .put_retention_policy(
                &f.ctx(),
                PutRetentionPolicyRequest {
                    log_group_name: "/big".into(),
                    retention_in_days: 1,
                },
            )
            .unwrap();
        let r = f.logs.enforce_retention(f.clock.now()).unwrap();
        assert_eq!(r.expired_events, DELETE_CHUNK * 2 + 7);
        assert_eq!(event_count(&f), 1);
    }

    #[test]
    fn purges_events_of_deleted_groups_and_streams() {
        let f = Fixture::new();
        f.group_and_stream("/a", "s1");
        let ctx = f.ctx();
        f.logs
            .create_log_stream(
                &ctx,
                CreateLogStreamRequest {
                    log_group_name: "/a".into(),
                    log_stream_name: "s2".into(),
                },
            )
            .unwrap();
        f.group_and_stream("/b", "s");
        f.put("/a", "s1", &[(T0, "1"), (T0, "2")]);
        f.put("/a", "s2", &[(T0, "3")]);
        f.put("/b", "s", &[(T0, "4")]);
        f.logs
            .delete_log_stream(
                &ctx,
                DeleteLogStreamRequest {
                    log_group_name: "/a".into(),
                    log_stream_name: "s2".into(),
                },
            )
            .unwrap();
        f.logs
            .delete_log_group(
                &ctx,
                DeleteLogGroupRequest {
                    log_group_name: "/b".into(),
                },
            )
            .unwrap();
        assert_eq!(event_count(&f), 4);
        let r = f.logs.enforce_retention(f.clock.now()).unwrap();
        assert_eq!(r.purged_events, 2);
        assert_eq!(r.purges_finished, 2);
        assert_eq!(event_count(&f), 2);
        let again = f.logs.enforce_retention(f.clock.now()).unwrap();
        assert_eq!(again, RetentionReport::default());
    }

    #[tokio::test]
    async fn loop_stops_when_asked() {
        let f = Fixture::new();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run_retention_loop(
            f.logs.clone(),
            Duration::from_secs(3600),
            rx,
        ));
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the loop stops")
            .unwrap();
    }
}
