//! Log streams: CreateLogStream, DescribeLogStreams (by name or by last event time, either
//! direction, paginated) and DeleteLogStream.

use crate::checks::{invalid, invalid_field, page_limit};
use crate::generated::*;
use crate::groups::{self, check_group_name, check_stream_name, group_not_found};
use crate::records::{
    group_key, stream_events_prefix, stream_key, streams_prefix, StoredGroup, StoredPurge,
    StoredStream, GROUPS, PURGES, STREAMS,
};
use crate::Logs;
use wharf_core::pagination::paginate_ordered;
use wharf_core::RequestContext;
use wharf_store::Tx;

/// DescribeLogStreams' page size limit (and default).
const MAX_STREAMS_PAGE: i32 = 50;

/// ResourceNotFoundException for a missing stream, in AWS's words.
pub(crate) fn stream_not_found() -> Error {
    Error::ResourceNotFoundException("The specified log stream does not exist.".into())
}

/// A new, empty stream record, taking the group's next stream number (the caller stores both).
pub(crate) fn new_stream(group: &mut StoredGroup, name: &str, created: i64) -> StoredStream {
    let sid = group.next_sid;
    group.next_sid = group.next_sid.saturating_add(1);
    StoredStream {
        name: name.to_string(),
        created,
        sid,
        first_ts: None,
        last_ts: None,
        last_ingestion: None,
        stored_bytes: 0,
        next_seq: 1,
    }
}

/// Loads stream `name` of the group whose key is `gkey`, or ResourceNotFoundException.
pub(crate) fn require(tx: &Tx<'_>, gkey: &str, name: &str) -> Result<StoredStream, Error> {
    tx.get(STREAMS, &stream_key(gkey, name))?
        .ok_or_else(stream_not_found)
}

/// `arn:aws:logs:<region>:<account>:log-group:<group>:log-stream:<stream>`.
pub fn stream_arn(ctx: &RequestContext, group: &str, stream: &str) -> String {
    format!(
        "{}:log-stream:{stream}",
        groups::group_arn(&ctx.account_id, &ctx.region, group)
    )
}

/// The `uploadSequenceToken` / `nextSequenceToken` of a stream (accepted and ignored).
pub(crate) fn sequence_token(stream: &StoredStream) -> String {
    format!("{:056}", stream.next_seq)
}

/// `CreateLogStream`.
pub fn create(logs: &Logs, ctx: &RequestContext, group: &str, stream: &str) -> Result<(), Error> {
    check_group_name(group, "logGroupName")?;
    check_stream_name(stream, "logStreamName")?;
    let gkey = group_key(&ctx.account_id, &ctx.region, group);
    logs.store.write(|tx| {
        let mut g: StoredGroup = tx.get(GROUPS, &gkey)?.ok_or_else(group_not_found)?;
        let skey = stream_key(&gkey, stream);
        if tx.exists(STREAMS, &skey)? {
            return Err(Error::ResourceAlreadyExistsException(
                "The specified log stream already exists".into(),
            ));
        }
        let s = new_stream(&mut g, stream, ctx.now.millis);
        tx.put(STREAMS, &skey, &s)?;
        tx.put(GROUPS, &gkey, &g)?;
        Ok(())
    })
}

/// The stream as DescribeLogStreams shows it. `storedBytes` is always 0 for streams, as AWS
/// reports it since 2019 (the group's `storedBytes` carries the total).
fn present(ctx: &RequestContext, group: &str, s: &StoredStream) -> LogStream {
    LogStream {
        log_stream_name: Some(s.name.clone()),
        creation_time: Some(s.created),
        first_event_timestamp: s.first_ts,
        last_event_timestamp: s.last_ts,
        last_ingestion_time: s.last_ingestion,
        upload_sequence_token: Some(sequence_token(s)),
        arn: Some(stream_arn(ctx, group, &s.name)),
        stored_bytes: Some(0),
    }
}

/// `DescribeLogStreams`.
pub fn describe(
    logs: &Logs,
    ctx: &RequestContext,
    input: DescribeLogStreamsRequest,
) -> Result<DescribeLogStreamsResponse, Error> {
    let group = groups::resolve_group_name(
        ctx,
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    let limit = page_limit(input.limit, MAX_STREAMS_PAGE, 50)?;
    let by_time = match input.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(other) => {
            return Err(invalid_field(
                other,
                "orderBy",
                "Member must satisfy enum value set: [LogStreamName, LastEventTime]",
            ))
        }
    };
    let prefix = input.log_stream_name_prefix.as_deref().unwrap_or("");
    if by_time && !prefix.is_empty() {
        return Err(invalid(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let descending = input.descending.unwrap_or(false);
    let gkey = group_key(&ctx.account_id, &ctx.region, &group);
    let streams = logs.store.read(|tx| {
        if !tx.exists(GROUPS, &gkey)? {
            return Err(group_not_found());
        }
        let listed: Vec<(String, StoredStream)> =
            tx.list(STREAMS, &format!("{}{prefix}", streams_prefix(&gkey)))?;
        Ok::<_, Error>(listed.into_iter().map(|(_, s)| s).collect::<Vec<_>>())
    })?;
    // The sort key makes the order total (ties on time broken by name), so tokens are exact.
    let sort_key = |s: &StoredStream| {
        if by_time {
            format!("{:016}/{}", s.last_ts.unwrap_or(0).max(0), s.name)
        } else {
            s.name.clone()
        }
    };
    let mut keyed: Vec<(String, StoredStream)> =
        streams.into_iter().map(|s| (sort_key(&s), s)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if descending {
        keyed.reverse();
    }
    let (page, next) = paginate_ordered(
        keyed,
        |(k, _)| k.clone(),
        input.next_token.as_deref(),
        limit,
        descending,
    )
    .map_err(|_| invalid("The specified nextToken is invalid."))?;
    Ok(DescribeLogStreamsResponse {
        log_streams: Some(page.iter().map(|(_, s)| present(ctx, &group, s)).collect()),
        next_token: next,
    })
}

/// `DeleteLogStream`: the stream goes at once, its events with the retention loop.
pub fn delete(logs: &Logs, ctx: &RequestContext, group: &str, stream: &str) -> Result<(), Error> {
    check_group_name(group, "logGroupName")?;
    check_stream_name(stream, "logStreamName")?;
    let gkey = group_key(&ctx.account_id, &ctx.region, group);
    logs.store.write(|tx| {
        let g: StoredGroup = tx.get(GROUPS, &gkey)?.ok_or_else(group_not_found)?;
        if g.deletion_protection {
            return Err(Error::ValidationException(format!(
                "Log group {group} has deletion protection enabled; disable it before deleting its log streams"
            )));
        }
        let skey = stream_key(&gkey, stream);
        let s = require(tx, &gkey, stream)?;
        tx.delete(STREAMS, &skey)?;
        tx.put(
            PURGES,
            &stream_events_prefix(&g.gid, s.sid),
            &StoredPurge {
                what: format!("log stream {group}:{stream}"),
            },
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Fixture, T0};
    use wharf_core::pagination::encode_token;

    fn names(r: &DescribeLogStreamsResponse) -> Vec<String> {
        r.log_streams
            .as_ref()
            .unwrap()
            .iter()
            .map(|s| s.log_stream_name.clone().unwrap())
            .collect()
    }

    fn req(group: &str) -> DescribeLogStreamsRequest {
        DescribeLogStreamsRequest {
            log_group_name: Some(group.into()),
            ..Default::default()
        }
    }

    #[test]
    fn create_needs_group_and_refuses_duplicates() {
        let f = Fixture::new();
        let ctx = f.ctx();
        assert!(matches!(
            create(&f.logs, &ctx, "/nope", "s"),
            Err(Error::ResourceNotFoundException(m)) if m == "The specified log group does not exist."
        ));
        f.group_and_stream("/g", "s");
        assert!(matches!(
            create(&f.logs, &ctx, "/g", "s"),
            Err(Error::ResourceAlreadyExistsException(_))
        ));
        for bad in ["a:b", "a*", ""] {
            assert!(matches!(
                create(&f.logs, &ctx, "/g", bad),
                Err(Error::InvalidParameterException(_))
            ));
        }
        // Any other character is fine.
        create(&f.logs, &ctx, "/g", "ecs/web/0123 é").unwrap();
    }

    #[test]
    fn describe_orders_and_pages() {
        let f = Fixture::new();
        let ctx = f.ctx();
        f.group_and_stream("/g", "b");
        for s in ["a", "c", "ab"] {
            create(&f.logs, &ctx, "/g", s).unwrap();
        }
        f.put("/g", "c", &[(T0 - 3000, "x")]);
        f.put("/g", "a", &[(T0 - 2000, "x")]);
        f.put("/g", "b", &[(T0 - 1000, "x")]);

        let all = describe(&f.logs, &ctx, req("/g")).unwrap();
        assert_eq!(names(&all), ["a", "ab", "b", "c"]);
        let mut r = req("/g");
        r.descending = Some(true);
        assert_eq!(
            names(&describe(&f.logs, &ctx, r).unwrap()),
            ["c", "b", "ab", "a"]
        );
        let mut r = req("/g");
        r.log_stream_name_prefix = Some("a".into());
        assert_eq!(names(&describe(&f.logs, &ctx, r).unwrap()), ["a", "ab"]);
        let mut r = req("/g");
        r.order_by = Some("LastEventTime".into());
        r.descending = Some(true);
        assert_eq!(
            names(&describe(&f.logs, &ctx, r).unwrap()),
            ["b", "a", "c", "ab"]
        );
        let mut r = req("/g");
        r.order_by = Some("LastEventTime".into());
        r.log_stream_name_prefix = Some("a".into());
        assert!(matches!(
            describe(&f.logs, &ctx, r),
            Err(Error::InvalidParameterException(_))
        ));

        // Pages of one, both directions, every stream exactly once.
        for descending in [false, true] {
            let mut seen = vec![];
            let mut token = None;
            for _ in 0..10 {
                let mut r = req("/g");
                r.limit = Some(1);
                r.descending = Some(descending);
                r.next_token = token.clone();
                let page = describe(&f.logs, &ctx, r).unwrap();
                seen.extend(names(&page));
                token = page.next_token;
                if token.is_none() {
                    break;
                }
            }
            let mut want = vec!["a", "ab", "b", "c"];
            if descending {
                want.reverse();
            }
            assert_eq!(seen, want);
        }
        let mut r = req("/g");
        r.next_token = Some(encode_token("zzz"));
        assert!(names(&describe(&f.logs, &ctx, r).unwrap()).is_empty());
    }

    #[test]
    fn describe_shows_event_times_and_arn() {
        let f = Fixture::new();
        let ctx = f.ctx();
        f.group_and_stream("/g", "s");
        f.put("/g", "s", &[(T0 - 5000, "one"), (T0 - 10, "two")]);
        let s = describe(&f.logs, &ctx, req("/g"))
            .unwrap()
            .log_streams
            .unwrap()
            .remove(0);
        assert_eq!(s.first_event_timestamp, Some(T0 - 5000));
        assert_eq!(s.last_event_timestamp, Some(T0 - 10));
        assert_eq!(s.last_ingestion_time, Some(T0));
        assert_eq!(s.creation_time, Some(T0));
        assert_eq!(
            s.arn.as_deref(),
            Some("arn:aws:logs:us-east-1:123456789012:log-group:/g:log-stream:s")
        );
        assert_eq!(s.upload_sequence_token.as_ref().map(String::len), Some(56));
        assert!(matches!(
            describe(&f.logs, &ctx, req("/missing")),
            Err(Error::ResourceNotFoundException(_))
        ));
    }

    #[test]
    fn delete_stream() {
        let f = Fixture::new();
        let ctx = f.ctx();
        f.group_and_stream("/g", "s");
        f.put("/g", "s", &[(T0, "x")]);
        delete(&f.logs, &ctx, "/g", "s").unwrap();
        assert!(matches!(
            delete(&f.logs, &ctx, "/g", "s"),
            Err(Error::ResourceNotFoundException(m)) if m == "The specified log stream does not exist."
        ));
        assert!(names(&describe(&f.logs, &ctx, req("/g")).unwrap()).is_empty());
        // Re-created, the stream gets a new number and starts empty.
        create(&f.logs, &ctx, "/g", "s").unwrap();
        let got = crate::events::get(
            &f.logs,
            &ctx,
            GetLogEventsRequest {
                log_group_name: Some("/g".into()),
                log_stream_name: "s".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(got.events.unwrap().is_empty());
    }
}
