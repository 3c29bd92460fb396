//! Container output into CloudWatch Logs: the [`LogSink`] the task agent writes each
//! container's lines through (the `awslogs` log driver's job). Each call is one store
//! transaction; nothing here panics, whatever the lines or names.

use crate::events::{append_events, EVENT_OVERHEAD, MAX_BATCH_BYTES};
use crate::groups::{new_group, valid_group_name, valid_stream_name};
use crate::metric_filters;
use crate::records::{group_key, stream_key, StoredGroup, StoredStream, GROUPS, STREAMS};
use crate::streams::new_stream;
use crate::Logs;
use wharf_core::{LogDestination, LogLine, LogSink, LogSinkError, Timestamp};
use wharf_store::{StoreError, Tx};

/// Largest message one event holds; longer lines are split (as the awslogs driver does).
const MAX_MESSAGE_BYTES: usize = MAX_BATCH_BYTES - EVENT_OVERHEAD;

/// Why a sink transaction stopped.
enum Refusal {
    GroupNotFound,
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

fn to_sink_error(dest: &LogDestination, r: Refusal) -> LogSinkError {
    match r {
        Refusal::GroupNotFound => LogSinkError::GroupNotFound(dest.group.clone()),
        Refusal::Store(e) => {
            tracing::error!(error = %e, group = %dest.group, stream = %dest.stream, "cannot store container output");
            LogSinkError::Failed(format!("cannot store log events: {e}"))
        }
    }
}

fn check_names(dest: &LogDestination) -> Result<(), LogSinkError> {
    if !valid_group_name(&dest.group) || dest.group.starts_with("aws/") {
        return Err(LogSinkError::Failed(format!(
            "invalid log group name '{}': 1 to 512 of A-Z a-z 0-9 . - _ / #, not starting with aws/",
            dest.group
        )));
    }
    if !valid_stream_name(&dest.stream) {
        return Err(LogSinkError::Failed(format!(
            "invalid log stream name '{}': 1 to 512 characters without ':' or '*'",
            dest.stream
        )));
    }
    Ok(())
}

/// The destination's group (created when `create`) and stream (always created), saving
/// whichever records changed.
fn ensure(
    logs: &Logs,
    tx: &Tx<'_>,
    dest: &LogDestination,
    create: bool,
    now: i64,
) -> Result<(StoredGroup, String, StoredStream), Refusal> {
    let gkey = group_key(&dest.account, &dest.region, &dest.group);
    let (mut group, mut dirty) = match tx.get::<StoredGroup>(GROUPS, &gkey)? {
        Some(g) => (g, false),
        None if create => (new_group(logs, &dest.group, now), true),
        None => return Err(Refusal::GroupNotFound),
    };
    let skey = stream_key(&gkey, &dest.stream);
    let stream = match tx.get::<StoredStream>(STREAMS, &skey)? {
        Some(s) => s,
        None => {
            let s = new_stream(&mut group, &dest.stream, now);
            tx.put(STREAMS, &skey, &s)?;
            dirty = true;
            s
        }
    };
    if dirty {
        tx.put(GROUPS, &gkey, &group)?;
    }
    Ok((group, skey, stream))
}

/// `message` in pieces of at most [`MAX_MESSAGE_BYTES`], cut at character boundaries.
fn pieces(message: &str) -> impl Iterator<Item = &str> {
    let mut rest = message;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut cut = rest.len().min(MAX_MESSAGE_BYTES);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        rest = tail;
        Some(head)
    })
}

impl LogSink for Logs {
    fn prepare(&self, dest: &LogDestination, create_group: bool) -> Result<(), LogSinkError> {
        check_names(dest)?;
        let now = self.clock.now().millis;
        self.store
            .write(|tx| ensure(self, tx, dest, create_group, now).map(|_| ()))
            .map_err(|r| to_sink_error(dest, r))
    }

    fn append(&self, dest: &LogDestination, lines: &[LogLine]) -> Result<(), LogSinkError> {
        check_names(dest)?;
        // CloudWatch Logs has no empty events; the awslogs driver skips empty lines too.
        let events: Vec<(i64, &str)> = lines
            .iter()
            .flat_map(|l| pieces(&l.message).map(move |p| (l.timestamp.millis, p)))
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let now = self.clock.now().millis;
        let metrics = self
            .store
            .write(|tx| {
                // The stream is re-created if someone deleted it while the task ran; the
                // group is not (that is what `prepare` decided).
                let (group, skey, mut stream) = ensure(self, tx, dest, false, now)?;
                append_events(tx, &group, &skey, &mut stream, events.iter().copied(), now)?;
                Ok(metric_filters::data_points(&group, events.iter().copied()))
            })
            .map_err(|r| to_sink_error(dest, r))?;
        self.publish(&dest.account, &dest.region, metrics);
        Ok(())
    }

    fn last_timestamp(&self, dest: &LogDestination) -> Result<Option<Timestamp>, LogSinkError> {
        if check_names(dest).is_err() {
            return Ok(None);
        }
        let gkey = group_key(&dest.account, &dest.region, &dest.group);
        self.store
            .read(|tx| {
                if !tx.exists(GROUPS, &gkey)? {
                    return Ok(None);
                }
                let s: Option<StoredStream> = tx.get(STREAMS, &stream_key(&gkey, &dest.stream))?;
                Ok(s.and_then(|s| s.last_ts).map(Timestamp::from_millis))
            })
            .map_err(|e: Refusal| to_sink_error(dest, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::*;
    use crate::testing::{Fixture, T0};

    fn dest(group: &str) -> LogDestination {
        LogDestination {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            group: group.into(),
            stream: "ecs/web/0123abcd".into(),
        }
    }

    fn line(ts: i64, m: &str) -> LogLine {
        LogLine {
            timestamp: Timestamp::from_millis(ts),
            message: m.into(),
        }
    }

    #[test]
    fn prepare_creates_or_refuses_the_group() {
        let f = Fixture::new();
        assert_eq!(
            f.logs.prepare(&dest("/ecs/web"), false),
            Err(LogSinkError::GroupNotFound("/ecs/web".into()))
        );
        f.logs.prepare(&dest("/ecs/web"), true).unwrap();
        // Idempotent, and fine once the group exists even without create.
        f.logs.prepare(&dest("/ecs/web"), true).unwrap();
        f.logs.prepare(&dest("/ecs/web"), false).unwrap();
        let streams = f
            .logs
            .describe_log_streams(
                &f.ctx(),
                DescribeLogStreamsRequest {
                    log_group_name: Some("/ecs/web".into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .log_streams
            .unwrap();
        assert_eq!(streams.len(), 1);
        assert!(matches!(
            f.logs.prepare(&dest("bad name"), true),
            Err(LogSinkError::Failed(_))
        ));
        let mut d = dest("/ok");
        d.stream = "a:b".into();
        assert!(matches!(
            f.logs.prepare(&d, true),
            Err(LogSinkError::Failed(_))
        ));
    }

    #[test]
    fn append_stores_lines_in_order() {
        let f = Fixture::new();
        let d = dest("/ecs/web");
        f.logs.prepare(&d, true).unwrap();
        assert_eq!(f.logs.last_timestamp(&d).unwrap(), None);
        f.logs
            .append(
                &d,
                &[
                    line(T0 - 10, "first"),
                    line(T0 - 10, "second, same millisecond"),
                    line(T0 - 5, ""),
                    line(T0 - 1, "third"),
                ],
            )
            .unwrap();
        f.logs.append(&d, &[]).unwrap();
        let got = f
            .logs
            .get_log_events(
                &f.ctx(),
                GetLogEventsRequest {
                    log_group_name: Some(d.group.clone()),
                    log_stream_name: d.stream.clone(),
                    start_from_head: Some(true),
                    ..Default::default()
                },
            )
            .unwrap()
            .events
            .unwrap();
        let msgs: Vec<_> = got.iter().map(|e| e.message.clone().unwrap()).collect();
        assert_eq!(msgs, ["first", "second, same millisecond", "third"]);
        assert_eq!(got[0].ingestion_time, Some(T0));
        assert_eq!(
            f.logs.last_timestamp(&d).unwrap(),
            Some(Timestamp::from_millis(T0 - 1))
        );
        assert_eq!(f.logs.last_timestamp(&dest("/nope")).unwrap(), None);
    }

    #[test]
    fn append_needs_the_group_but_recreates_the_stream() {
        let f = Fixture::new();
        let d = dest("/ecs/web");
        assert_eq!(
            f.logs.append(&d, &[line(T0, "x")]),
            Err(LogSinkError::GroupNotFound("/ecs/web".into()))
        );
        f.logs.prepare(&d, true).unwrap();
        f.logs
            .delete_log_stream(
                &f.ctx(),
                DeleteLogStreamRequest {
                    log_group_name: d.group.clone(),
                    log_stream_name: d.stream.clone(),
                },
            )
            .unwrap();
        f.logs.append(&d, &[line(T0, "after delete")]).unwrap();
        assert_eq!(
            f.logs.last_timestamp(&d).unwrap(),
            Some(Timestamp::from_millis(T0))
        );
    }

    #[test]
    fn long_lines_are_split_at_character_boundaries() {
        let long = "é".repeat(MAX_MESSAGE_BYTES); // two bytes each
        let parts: Vec<&str> = pieces(&long).collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.len() <= MAX_MESSAGE_BYTES));
        assert_eq!(parts.concat(), long);
        assert_eq!(pieces("").count(), 0);
    }
}
