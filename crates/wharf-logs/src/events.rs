//! Log events: PutLogEvents (AWS's batch rules), GetLogEvents (one stream, from the head or
//! the tail, `f/` and `b/` tokens) and FilterLogEvents (every selected stream of a group,
//! merged in timestamp order, matched against a filter pattern).
//!
//! Reads never show events older than the group's retention period, even before the
//! retention loop has deleted them. Appends go through [`append_events`], shared with the
//! container log sink: one store write per batch.

use crate::checks::{invalid, invalid_field, page_limit, DAY_MS};
use crate::filter::FilterPattern;
use crate::generated::*;
use crate::groups::{self, check_stream_name, retention_floor};
use crate::records::{
    clamp_ts, event_key, events_end, group_key, parse_event_key, stream_events_prefix, stream_key,
    streams_prefix, EventPos, StoredEvent, StoredGroup, StoredStream, EVENTS, STREAMS,
};
use crate::streams::{self, sequence_token};
use crate::Logs;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Range;
use wharf_core::pagination::{decode_token, encode_token};
use wharf_core::RequestContext;
use wharf_store::{StoreError, Tx};

/// Most events in one PutLogEvents batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Most bytes in one PutLogEvents batch (messages in UTF-8 plus [`EVENT_OVERHEAD`] each).
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What AWS adds to each message when sizing a batch.
pub const EVENT_OVERHEAD: usize = 26;
/// Events older than this (before now) are rejected as too old.
pub const MAX_AGE_MS: i64 = 14 * DAY_MS;
/// Events further than this in the future are rejected as too new.
pub const MAX_FUTURE_MS: i64 = 2 * 60 * 60 * 1000;
/// Longest time span of the accepted events of one batch.
pub const MAX_SPAN_MS: i64 = DAY_MS;
/// Most events in one GetLogEvents / FilterLogEvents answer (and the default limit).
pub const MAX_PAGE_EVENTS: i32 = 10_000;
/// Most message bytes in one GetLogEvents / FilterLogEvents answer.
pub const MAX_PAGE_BYTES: usize = 1_048_576;
/// Events FilterLogEvents examines before it answers with what it has and a nextToken.
pub const SCAN_BUDGET: usize = 100_000;
/// Events read from one stream at a time while merging.
const CHUNK: usize = 500;

fn invalid_token() -> Error {
    invalid("The specified nextToken is invalid.")
}

// ---------------------------------------------------------------------------------------------
// PutLogEvents.

/// What PutLogEvents does with a batch: the events it stores and the rejected ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchPlan {
    /// Indexes of the events to store.
    pub accept: Range<usize>,
    /// `rejectedLogEventsInfo`, when some events were too old, expired or too new.
    pub rejected: Option<RejectedLogEventsInfo>,
}

/// Checks a PutLogEvents batch at `now` for a group whose retention floor is `floor` (pure).
/// Broken rules (count, size, order, span) are errors; events outside the accepted time window
/// are skipped and reported, as AWS does.
pub fn plan_batch(events: &[InputLogEvent], now: i64, floor: i64) -> Result<BatchPlan, Error> {
    check_batch(events)?;
    // Sorted, so each rejected kind is a prefix or a suffix.
    let too_old_end = events
        .iter()
        .take_while(|e| e.timestamp < now.saturating_sub(MAX_AGE_MS))
        .count();
    let expired_end = events.iter().take_while(|e| e.timestamp < floor).count();
    let too_new_start = events
        .iter()
        .position(|e| e.timestamp > now.saturating_add(MAX_FUTURE_MS))
        .unwrap_or(events.len());
    let start = too_old_end.max(expired_end);
    let accept = start..too_new_start.max(start);
    if let [first, .., last] = &events[accept.clone()] {
        if last.timestamp.saturating_sub(first.timestamp) > MAX_SPAN_MS {
            return Err(invalid(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
    }
    let index = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let rejected = RejectedLogEventsInfo {
        too_old_log_event_end_index: (too_old_end > 0).then(|| index(too_old_end)),
        expired_log_event_end_index: (expired_end > 0).then(|| index(expired_end)),
        too_new_log_event_start_index: (too_new_start < events.len()).then(|| index(too_new_start)),
    };
    let any = rejected != RejectedLogEventsInfo::default();
    Ok(BatchPlan {
        accept,
        rejected: any.then_some(rejected),
    })
}

/// The batch rules that do not depend on the time or the group: count, size, empty messages,
/// chronological order.
pub fn check_batch(events: &[InputLogEvent]) -> Result<(), Error> {
    if events.is_empty() {
        return Err(invalid_field(
            "[]",
            "logEvents",
            "Member must have length greater than or equal to 1",
        ));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(invalid_field(
            format!("{} events", events.len()),
            "logEvents",
            &format!("Member must have length less than or equal to {MAX_BATCH_EVENTS}"),
        ));
    }
    let size: usize = events
        .iter()
        .map(|e| e.message.len() + EVENT_OVERHEAD)
        .sum();
    if size > MAX_BATCH_BYTES {
        return Err(invalid(format!(
            "Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    if let Some(i) = events.iter().position(|e| e.message.is_empty()) {
        return Err(invalid_field(
            "",
            &format!("logEvents.{}.member.message", i + 1),
            "Member must have length greater than or equal to 1",
        ));
    }
    if events.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
        return Err(invalid(
            "Log events in a single PutLogEvents request must be in chronological order.",
        ));
    }
    Ok(())
}

/// Appends `events` (timestamp, message) to `stream` (stored under `skey`) of `group` inside
/// the caller's write, in the given order, with ingestion time `ingestion`, and saves the
/// stream record.
pub(crate) fn append_events<'a>(
    tx: &Tx<'_>,
    group: &StoredGroup,
    skey: &str,
    stream: &mut StoredStream,
    events: impl IntoIterator<Item = (i64, &'a str)>,
    ingestion: i64,
) -> Result<(), StoreError> {
    let prefix = stream_events_prefix(&group.gid, stream.sid);
    let mut any = false;
    for (ts, message) in events {
        let ts = clamp_ts(ts);
        let seq = stream.next_seq;
        stream.next_seq = stream.next_seq.saturating_add(1);
        tx.put(
            EVENTS,
            &event_key(&prefix, ts, seq),
            &StoredEvent {
                message: message.to_owned(),
                ingestion,
            },
        )?;
        stream.first_ts = Some(stream.first_ts.map_or(ts, |f| f.min(ts)));
        stream.last_ts = Some(stream.last_ts.map_or(ts, |l| l.max(ts)));
        stream.stored_bytes = stream
            .stored_bytes
            .saturating_add(i64::try_from(message.len()).unwrap_or(i64::MAX));
        any = true;
    }
    if any {
        stream.last_ingestion = Some(ingestion);
    }
    tx.put(STREAMS, skey, stream)
}

/// `PutLogEvents`. The sequence token is accepted and ignored, as AWS does now.
pub fn put(
    logs: &Logs,
    ctx: &RequestContext,
    input: PutLogEventsRequest,
) -> Result<PutLogEventsResponse, Error> {
    groups::check_group_name(&input.log_group_name, "logGroupName")?;
    check_stream_name(&input.log_stream_name, "logStreamName")?;
    let now = ctx.now.millis;
    // The rules that do not depend on the group, before taking the writer.
    check_batch(&input.log_events)?;
    let gkey = group_key(&ctx.account_id, &ctx.region, &input.log_group_name);
    let skey = stream_key(&gkey, &input.log_stream_name);
    let (response, metrics) = logs.store.write(|tx| {
        let group = groups::require(tx, ctx, &input.log_group_name)?;
        let mut stream = streams::require(tx, &gkey, &input.log_stream_name)?;
        let plan = plan_batch(&input.log_events, now, retention_floor(&group, now))?;
        let accepted = &input.log_events[plan.accept.clone()];
        let events = accepted.iter().map(|e| (e.timestamp, e.message.as_str()));
        append_events(tx, &group, &skey, &mut stream, events.clone(), now)?;
        let response = PutLogEventsResponse {
            next_sequence_token: Some(sequence_token(&stream)),
            rejected_log_events_info: plan.rejected,
            rejected_entity_info: None,
        };
        Ok::<_, Error>((response, crate::metric_filters::data_points(&group, events)))
    })?;
    logs.publish(&ctx.account_id, &ctx.region, metrics);
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// GetLogEvents.

/// A GetLogEvents token: `f/<56 digits>` (events at or after the position) or `b/<56 digits>`
/// (events before it), the digits in the shape of an `eventId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamToken {
    /// `nextForwardToken`.
    Forward(EventPos),
    /// `nextBackwardToken`.
    Backward(EventPos),
}

impl StreamToken {
    /// The wire form.
    pub fn encode(&self) -> String {
        match self {
            StreamToken::Forward(p) => format!("f/{}", p.event_id()),
            StreamToken::Backward(p) => format!("b/{}", p.event_id()),
        }
    }

    /// Parses the wire form.
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(rest) = text.strip_prefix("f/") {
            return EventPos::parse_event_id(rest).map(StreamToken::Forward);
        }
        if let Some(rest) = text.strip_prefix("b/") {
            return EventPos::parse_event_id(rest).map(StreamToken::Backward);
        }
        None
    }
}

/// `GetLogEvents`: without a token, the first `limit` events of the window when
/// `startFromHead`, else its last `limit` (oldest first either way). When nothing is left in
/// a direction, that direction's token comes back unchanged, which is how clients stop paging.
pub fn get(
    logs: &Logs,
    ctx: &RequestContext,
    input: GetLogEventsRequest,
) -> Result<GetLogEventsResponse, Error> {
    let group = groups::resolve_group_name(
        ctx,
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    check_stream_name(&input.log_stream_name, "logStreamName")?;
    let limit = page_limit(input.limit, MAX_PAGE_EVENTS, MAX_PAGE_EVENTS as usize)?;
    let token = match input.next_token.as_deref() {
        None => None,
        Some(t) => Some(StreamToken::parse(t).ok_or_else(invalid_token)?),
    };
    check_time_range(input.start_time, input.end_time)?;
    let gkey = group_key(&ctx.account_id, &ctx.region, &group);
    let now = ctx.now.millis;
    logs.store.read(|tx| {
        let g = groups::require(tx, ctx, &group)?;
        let s = streams::require(tx, &gkey, &input.log_stream_name)?;
        let sid = s.sid;
        let pos = |ts: i64, seq: u64| EventPos { ts, sid, seq };
        let floor = input.start_time.unwrap_or(0).max(retention_floor(&g, now));
        let mut lo = pos(clamp_ts(floor), 0);
        let mut hi = input.end_time.map(|e| pos(clamp_ts(e), 0));
        let forward = match token {
            Some(StreamToken::Forward(p)) => {
                lo = lo.max(pos(p.ts, p.seq));
                true
            }
            Some(StreamToken::Backward(p)) => {
                let p = pos(p.ts, p.seq);
                hi = Some(hi.map_or(p, |h| h.min(p)));
                false
            }
            None => input.start_from_head.unwrap_or(false),
        };
        let prefix = stream_events_prefix(&g.gid, sid);
        let start = event_key(&prefix, lo.ts, lo.seq);
        let end = hi.map_or_else(|| events_end(&prefix), |h| event_key(&prefix, h.ts, h.seq));
        let mut rows: Vec<(String, StoredEvent)> = if start < end {
            tx.range(EVENTS, &start, &end, limit, !forward)?
        } else {
            Vec::new()
        };
        // At most MAX_PAGE_BYTES, keeping the events nearest the starting point.
        let mut bytes = 0usize;
        let keep = rows
            .iter()
            .take_while(|(_, e)| {
                bytes += e.message.len() + EVENT_OVERHEAD;
                bytes <= MAX_PAGE_BYTES
            })
            .count()
            .max(1)
            .min(rows.len());
        rows.truncate(keep);
        if !forward {
            rows.reverse();
        }
        let mut events = Vec::with_capacity(rows.len());
        let mut first = None;
        let mut last = None;
        for (key, e) in rows {
            let Some((ts, seq)) = parse_event_key(&key) else {
                continue;
            };
            first.get_or_insert(pos(ts, seq));
            last = Some(pos(ts, seq));
            events.push(OutputLogEvent {
                timestamp: Some(ts),
                message: Some(e.message),
                ingestion_time: Some(e.ingestion),
            });
        }
        let (f, b) = match (first, last, token) {
            (Some(first), Some(last), _) => (last.next(), first),
            (_, _, Some(StreamToken::Forward(p) | StreamToken::Backward(p))) => (p, p),
            _ => (lo, lo),
        };
        Ok(GetLogEventsResponse {
            events: Some(events),
            next_forward_token: Some(StreamToken::Forward(f).encode()),
            next_backward_token: Some(StreamToken::Backward(b).encode()),
        })
    })
}

// ---------------------------------------------------------------------------------------------
// FilterLogEvents.

/// One stream's events in a time window, read in chunks while merging.
struct Cursor {
    name: String,
    sid: u64,
    prefix: String,
    /// Inclusive lower bound of what is not read yet.
    next_key: String,
    /// Exclusive upper bound of the window.
    end_key: String,
    buf: VecDeque<(EventPos, StoredEvent)>,
    exhausted: bool,
}

impl Cursor {
    fn new(gid: &str, s: &StoredStream, lo_ts: i64, end_ts: Option<i64>) -> Self {
        let prefix = stream_events_prefix(gid, s.sid);
        Self {
            name: s.name.clone(),
            sid: s.sid,
            next_key: event_key(&prefix, lo_ts, 0),
            end_key: end_ts.map_or_else(|| events_end(&prefix), |e| event_key(&prefix, e, 0)),
            prefix,
            buf: VecDeque::new(),
            exhausted: false,
        }
    }

    /// The position of the next event, reading a chunk when needed.
    fn head(&mut self, tx: &Tx<'_>) -> Result<Option<EventPos>, StoreError> {
        if self.buf.is_empty() && !self.exhausted {
            if self.next_key >= self.end_key {
                self.exhausted = true;
                return Ok(None);
            }
            let rows: Vec<(String, StoredEvent)> =
                tx.range(EVENTS, &self.next_key, &self.end_key, CHUNK, false)?;
            if rows.len() < CHUNK {
                self.exhausted = true;
            }
            for (key, e) in rows {
                if let Some((ts, seq)) = parse_event_key(&key) {
                    let p = EventPos {
                        ts,
                        sid: self.sid,
                        seq,
                    };
                    self.next_key = event_key(&self.prefix, ts, seq.saturating_add(1));
                    self.buf.push_back((p, e));
                }
            }
        }
        Ok(self.buf.front().map(|(p, _)| *p))
    }

    fn done(&self) -> bool {
        self.exhausted && self.buf.is_empty()
    }
}

/// `FilterLogEvents`: events of the selected streams with `startTime <= timestamp <= endTime`
/// that match the pattern, in timestamp order across streams (ties by stream, then arrival).
/// A page ends at `limit` events, 1 MB, or [`SCAN_BUDGET`] events examined; `nextToken` is
/// there only when more events remain to be examined.
pub fn filter(
    logs: &Logs,
    ctx: &RequestContext,
    input: FilterLogEventsRequest,
) -> Result<FilterLogEventsResponse, Error> {
    let query = FilterQuery::check(ctx, &input)?;
    let gkey = group_key(&ctx.account_id, &ctx.region, &query.group);
    let now = ctx.now.millis;
    logs.store.read(|tx| {
        let g = groups::require(tx, ctx, &query.group)?;
        let selected = select_streams(tx, &gkey, &input)?;
        let lo_ts = clamp_ts(
            input
                .start_time
                .unwrap_or(0)
                .max(retention_floor(&g, now))
                .max(query.after.map_or(0, |a| a.ts)),
        );
        // endTime is inclusive here.
        let end_ts = input.end_time.map(|e| clamp_ts(e.saturating_add(1)));
        let (mut searched, mut cursors) = open_cursors(&g, &selected, lo_ts, end_ts);
        let page = merge_page(tx, &mut cursors, &query)?;
        for c in &cursors {
            searched.push((c.name.clone(), c.done()));
        }
        searched.sort();
        let next_token = if page.more {
            page.last_seen
                .or(query.after)
                .map(|p| encode_token(&p.event_id()))
        } else {
            None
        };
        Ok(FilterLogEventsResponse {
            events: Some(page.events),
            searched_log_streams: Some(
                searched
                    .into_iter()
                    .map(|(name, complete)| SearchedLogStream {
                        log_stream_name: Some(name),
                        searched_completely: Some(complete),
                    })
                    .collect(),
            ),
            next_token,
        })
    })
}

/// What a FilterLogEvents request asks for, once checked.
struct FilterQuery {
    /// The log group's name.
    group: String,
    /// `filterPattern`, parsed.
    pattern: FilterPattern,
    /// Most events in the page.
    limit: usize,
    /// `nextToken`: the last event position examined by the previous page.
    after: Option<EventPos>,
}

impl FilterQuery {
    /// Checks the request, in AWS's order: the group, stream names or prefix, the pattern,
    /// `limit`, `nextToken`, the time range.
    fn check(ctx: &RequestContext, input: &FilterLogEventsRequest) -> Result<Self, Error> {
        let group = groups::resolve_group_name(
            ctx,
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        )?;
        if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
            return Err(invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive: specify at most one.",
            ));
        }
        if let Some(names) = &input.log_stream_names {
            if names.is_empty() || names.len() > 100 {
                return Err(invalid_field(
                    format!("{} names", names.len()),
                    "logStreamNames",
                    "Member must have length less than or equal to 100 and greater than or equal to 1",
                ));
            }
            for n in names {
                check_stream_name(n, "logStreamNames")?;
            }
        }
        let pattern = FilterPattern::parse(input.filter_pattern.as_deref())
            .map_err(|e| invalid(e.to_string()))?;
        let limit = page_limit(input.limit, MAX_PAGE_EVENTS, MAX_PAGE_EVENTS as usize)?;
        let after = match input.next_token.as_deref() {
            None => None,
            Some(t) => Some(
                decode_token(t)
                    .and_then(|id| EventPos::parse_event_id(&id))
                    .ok_or_else(invalid_token)?,
            ),
        };
        check_time_range(input.start_time, input.end_time)?;
        Ok(Self {
            group,
            pattern,
            limit,
            after,
        })
    }
}

/// The streams of the group stored under `gkey` that the request names (`logStreamNames`,
/// each once, missing ones skipped) or whose names start with `logStreamNamePrefix` (every
/// stream when neither is given).
fn select_streams(
    tx: &Tx<'_>,
    gkey: &str,
    input: &FilterLogEventsRequest,
) -> Result<Vec<StoredStream>, StoreError> {
    if let Some(names) = &input.log_stream_names {
        let mut out: Vec<StoredStream> = Vec::new();
        for n in names {
            if let Some(s) = tx.get(STREAMS, &stream_key(gkey, n))? {
                if !out.iter().any(|o| o.sid == s.sid) {
                    out.push(s);
                }
            }
        }
        return Ok(out);
    }
    let prefix = input.log_stream_name_prefix.as_deref().unwrap_or("");
    Ok(tx
        .list(STREAMS, &format!("{}{prefix}", streams_prefix(gkey)))?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

/// A cursor over `[lo_ts, end_ts)` for each selected stream with events in that window; the
/// others are searched completely already (returned as `(name, true)`).
fn open_cursors(
    g: &StoredGroup,
    selected: &[StoredStream],
    lo_ts: i64,
    end_ts: Option<i64>,
) -> (Vec<(String, bool)>, Vec<Cursor>) {
    let mut searched = Vec::with_capacity(selected.len());
    let mut cursors = Vec::new();
    for s in selected {
        let overlaps = s.last_ts.is_some_and(|l| l >= lo_ts)
            && end_ts.is_none_or(|e| s.first_ts.is_some_and(|f| f < e));
        if overlaps {
            cursors.push(Cursor::new(&g.gid, s, lo_ts, end_ts));
        } else {
            searched.push((s.name.clone(), true));
        }
    }
    (searched, cursors)
}

/// One page of FilterLogEvents, merged from the cursors.
struct FilterPage {
    /// The matching events, in order.
    events: Vec<FilteredLogEvent>,
    /// The last event position examined (matching or not).
    last_seen: Option<EventPos>,
    /// Whether the page stopped at a limit with events left to examine.
    more: bool,
}

/// Merges the cursors' events in position order, skipping those at or before the token's
/// position, keeping those that match, until `limit` events, [`MAX_PAGE_BYTES`] or
/// [`SCAN_BUDGET`] events examined.
fn merge_page(
    tx: &Tx<'_>,
    cursors: &mut [Cursor],
    query: &FilterQuery,
) -> Result<FilterPage, StoreError> {
    let mut heap = BinaryHeap::new();
    for (i, c) in cursors.iter_mut().enumerate() {
        if let Some(p) = c.head(tx)? {
            heap.push(Reverse((p, i)));
        }
    }
    let mut events = Vec::new();
    let mut bytes = 0usize;
    let mut scanned = 0usize;
    let mut last_seen: Option<EventPos> = None;
    let mut stopped_early = false;
    while let Some(Reverse((p, i))) = heap.pop() {
        if scanned >= SCAN_BUDGET || events.len() >= query.limit || bytes >= MAX_PAGE_BYTES {
            heap.push(Reverse((p, i)));
            stopped_early = true;
            break;
        }
        let Some(cursor) = cursors.get_mut(i) else {
            continue;
        };
        let Some((pos, event)) = cursor.buf.pop_front() else {
            continue;
        };
        if let Some(next) = cursor.head(tx)? {
            heap.push(Reverse((next, i)));
        }
        scanned += 1;
        if query.after.is_some_and(|a| pos <= a) {
            continue;
        }
        last_seen = Some(pos);
        if query.pattern.matches(&event.message) {
            bytes += event.message.len() + EVENT_OVERHEAD;
            events.push(FilteredLogEvent {
                log_stream_name: Some(cursor.name.clone()),
                timestamp: Some(pos.ts),
                message: Some(event.message),
                ingestion_time: Some(event.ingestion),
                event_id: Some(pos.event_id()),
            });
        }
    }
    Ok(FilterPage {
        events,
        last_seen,
        more: stopped_early && !heap.is_empty(),
    })
}

/// `startTime` and `endTime` must not be negative.
fn check_time_range(start: Option<i64>, end: Option<i64>) -> Result<(), Error> {
    for (field, v) in [("startTime", start), ("endTime", end)] {
        if let Some(v) = v.filter(|v| *v < 0) {
            return Err(invalid_field(
                v,
                field,
                "Member must have value greater than or equal to 0",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Fixture, T0};
    use wharf_core::RequestContext;

    fn ev(ts: i64, m: &str) -> InputLogEvent {
        InputLogEvent {
            timestamp: ts,
            message: m.into(),
        }
    }

    #[test]
    fn batch_rules() {
        let now = T0;
        let floor = i64::MIN;
        // Order.
        let e = plan_batch(&[ev(now, "b"), ev(now - 1, "a")], now, floor).unwrap_err();
        assert!(e.message().contains("chronological order"), "{e}");
        // Equal timestamps are in order.
        assert!(plan_batch(&[ev(now, "a"), ev(now, "b")], now, floor).is_ok());
        // Count.
        let many: Vec<_> = (0..10_001).map(|_| ev(now, "x")).collect();
        assert!(plan_batch(&many, now, floor).is_err());
        assert!(plan_batch(&many[..10_000], now, floor).is_ok());
        // Size: 26 bytes per event count.
        let fits = "x".repeat(MAX_BATCH_BYTES - 2 * EVENT_OVERHEAD - 1);
        assert!(plan_batch(&[ev(now, &fits), ev(now, "y")], now, floor).is_ok());
        let e = plan_batch(&[ev(now, &fits), ev(now, "yz")], now, floor).unwrap_err();
        assert!(e.message().contains("Upload too large"), "{e}");
        // Empty batch and empty message.
        assert!(plan_batch(&[], now, floor).is_err());
        assert!(plan_batch(&[ev(now, "")], now, floor).is_err());
        // Span of the accepted events.
        let e = plan_batch(&[ev(now - DAY_MS - 1, "a"), ev(now, "b")], now, floor).unwrap_err();
        assert!(e.message().contains("24 hours"), "{e}");
        assert!(plan_batch(&[ev(now - DAY_MS, "a"), ev(now, "b")], now, floor).is_ok());
    }

    #[test]
    fn too_old_too_new_and_expired_are_reported_not_refused() {
        let now = T0;
        let events = [
            ev(now - 15 * DAY_MS, "ancient"),
            ev(now - 15 * DAY_MS + 1, "ancient too"),
            ev(now - 1000, "ok"),
            ev(now, "ok"),
            ev(now + 3 * 3_600_000, "future"),
        ];
        let plan = plan_batch(&events, now, i64::MIN).unwrap();
        assert_eq!(plan.accept, 2..4);
        let r = plan.rejected.unwrap();
        assert_eq!(r.too_old_log_event_end_index, Some(2));
        assert_eq!(r.too_new_log_event_start_index, Some(4));
        assert_eq!(r.expired_log_event_end_index, None);

        // A 1-day retention makes a 2-day-old event expired.
        let events = [ev(now - 2 * DAY_MS, "old"), ev(now - 10, "ok")];
        let plan = plan_batch(&events, now, now - DAY_MS).unwrap();
        assert_eq!(plan.accept, 1..2);
        assert_eq!(plan.rejected.unwrap().expired_log_event_end_index, Some(1));

        // Everything rejected: nothing stored, no span error.
        let plan = plan_batch(
            &[ev(now - 20 * DAY_MS, "a"), ev(now + 5 * 3_600_000, "b")],
            now,
            i64::MIN,
        )
        .unwrap();
        assert!(plan.accept.is_empty());
        // Nothing rejected: no info.
        assert_eq!(
            plan_batch(&[ev(now, "a")], now, i64::MIN).unwrap().rejected,
            None
        );
    }

    fn get_req(
        head: Option<bool>,
        limit: Option<i32>,
        token: Option<String>,
    ) -> GetLogEventsRequest {
        GetLogEventsRequest {
            log_group_name: Some("/g".into()),
            log_stream_name: "s".into(),
            start_from_head: head,
            limit,
            next_token: token,
            ..Default::default()
        }
    }

    fn messages(r: &GetLogEventsResponse) -> Vec<String> {
        r.events
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| e.message.clone().unwrap())
            .collect()
    }

    fn ten(f: &Fixture) {
        f.group_and_stream("/g", "s");
        let events: Vec<(i64, String)> = (0..10)
            .map(|i| (T0 - 10_000 + i * 100, format!("m{i}")))
            .collect();
        let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
        f.put("/g", "s", &refs);
    }

    #[test]
    fn get_tail_by_default_head_on_request() {
        let f = Fixture::new();
        ten(&f);
        let ctx = f.ctx();
        let tail = get(&f.logs, &ctx, get_req(None, Some(3), None)).unwrap();
        assert_eq!(messages(&tail), ["m7", "m8", "m9"]);
        let head = get(&f.logs, &ctx, get_req(Some(true), Some(3), None)).unwrap();
        assert_eq!(messages(&head), ["m0", "m1", "m2"]);
        let all = get(&f.logs, &ctx, get_req(None, None, None)).unwrap();
        assert_eq!(messages(&all).len(), 10);
        let e = &all.events.as_ref().unwrap()[0];
        assert_eq!(e.timestamp, Some(T0 - 10_000));
        assert_eq!(e.ingestion_time, Some(T0));
        for t in [&all.next_forward_token, &all.next_backward_token] {
            let t = t.as_deref().unwrap();
            assert!(t.starts_with("f/") || t.starts_with("b/"));
            assert_eq!(t.len(), 58);
            assert!(t[2..].bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn get_pages_forward_and_backward_and_repeats_the_last_token() {
        let f = Fixture::new();
        ten(&f);
        let ctx = f.ctx();
        // Forward from the head.
        let mut seen = vec![];
        let mut token = None;
        let mut pages = 0;
        loop {
            let r = get(&f.logs, &ctx, get_req(Some(true), Some(4), token.clone())).unwrap();
            seen.extend(messages(&r));
            pages += 1;
            if r.next_forward_token == token {
                assert!(r.events.unwrap().is_empty());
                break;
            }
            token = r.next_forward_token;
            assert!(pages < 10);
        }
        assert_eq!(seen, (0..10).map(|i| format!("m{i}")).collect::<Vec<_>>());
        // New events show up behind the last forward token.
        let last = token.clone();
        f.put("/g", "s", &[(T0, "late")]);
        let r = get(&f.logs, &ctx, get_req(Some(true), None, last)).unwrap();
        assert_eq!(messages(&r), ["late"]);

        // Backward from the tail.
        let mut seen = vec![];
        let mut token = None;
        loop {
            let r = get(&f.logs, &ctx, get_req(None, Some(4), token.clone())).unwrap();
            let mut page = messages(&r);
            page.reverse();
            seen.extend(page);
            if r.next_backward_token == token {
                break;
            }
            token = r.next_backward_token;
        }
        seen.reverse();
        let mut want: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
        want.push("late".into());
        assert_eq!(seen, want);
    }

    #[test]
    fn get_window_and_errors() {
        let f = Fixture::new();
        ten(&f);
        let ctx = f.ctx();
        let mut r = get_req(Some(true), None, None);
        r.start_time = Some(T0 - 10_000 + 200);
        r.end_time = Some(T0 - 10_000 + 500); // exclusive
        assert_eq!(
            messages(&get(&f.logs, &ctx, r).unwrap()),
            ["m2", "m3", "m4"]
        );
        assert!(matches!(
            get(&f.logs, &ctx, get_req(None, None, Some("x/123".into()))),
            Err(Error::InvalidParameterException(_))
        ));
        let mut r = get_req(None, None, None);
        r.log_stream_name = "nope".into();
        assert!(matches!(
            get(&f.logs, &ctx, r),
            Err(Error::ResourceNotFoundException(m)) if m.contains("log stream")
        ));
        let mut r = get_req(None, None, None);
        r.log_group_name = Some("/nope".into());
        assert!(matches!(
            get(&f.logs, &ctx, r),
            Err(Error::ResourceNotFoundException(m)) if m.contains("log group")
        ));
        assert!(get(&f.logs, &ctx, get_req(None, Some(10_001), None)).is_err());
        assert!(get(&f.logs, &ctx, get_req(None, Some(0), None)).is_err());
    }

    #[test]
    fn get_on_empty_stream_returns_stable_tokens() {
        let f = Fixture::new();
        f.group_and_stream("/g", "s");
        let ctx = f.ctx();
        let r = get(&f.logs, &ctx, get_req(Some(true), None, None)).unwrap();
        assert!(r.events.as_ref().unwrap().is_empty());
        let again = get(
            &f.logs,
            &ctx,
            get_req(Some(true), None, r.next_forward_token.clone()),
        )
        .unwrap();
        assert_eq!(again.next_forward_token, r.next_forward_token);
    }

    #[test]
    fn put_reports_sequence_token_and_rejections() {
        let f = Fixture::new();
        f.group_and_stream("/g", "s");
        let r = f.put("/g", "s", &[(T0 - 20 * DAY_MS, "old"), (T0, "ok")]);
        assert_eq!(r.next_sequence_token.as_ref().map(String::len), Some(56));
        assert_eq!(
            r.rejected_log_events_info
                .unwrap()
                .too_old_log_event_end_index,
            Some(1)
        );
        let got = get(&f.logs, &f.ctx(), get_req(None, None, None)).unwrap();
        assert_eq!(messages(&got), ["ok"]);
        let ctx = f.ctx();
        let missing = put(
            &f.logs,
            &ctx,
            PutLogEventsRequest {
                log_group_name: "/g".into(),
                log_stream_name: "nope".into(),
                log_events: vec![ev(T0, "x")],
                ..Default::default()
            },
        );
        assert!(matches!(missing, Err(Error::ResourceNotFoundException(_))));
    }

    fn filter_req(pattern: Option<&str>) -> FilterLogEventsRequest {
        FilterLogEventsRequest {
            log_group_name: Some("/g".into()),
            filter_pattern: pattern.map(str::to_string),
            ..Default::default()
        }
    }

    fn filtered(r: &FilterLogEventsResponse) -> Vec<String> {
        r.events
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e.log_stream_name.clone().unwrap(),
                    e.message.clone().unwrap()
                )
            })
            .collect()
    }

    fn three_streams(f: &Fixture) -> RequestContext {
        f.group_and_stream("/g", "a");
        let ctx = f.ctx();
        streams::create(&f.logs, &ctx, "/g", "b").unwrap();
        streams::create(&f.logs, &ctx, "/g", "other").unwrap();
        f.put(
            "/g",
            "a",
            &[
                (T0 - 500, "ERROR one"),
                (T0 - 300, "INFO two"),
                (T0 - 100, "ERROR three"),
            ],
        );
        f.put(
            "/g",
            "b",
            &[
                (T0 - 400, "INFO four"),
                (T0 - 300, "ERROR five"),
                (T0 - 50, "WARN six"),
            ],
        );
        f.put("/g", "other", &[(T0 - 450, "ERROR seven")]);
        ctx
    }

    #[test]
    fn filter_merges_streams_in_time_order() {
        let f = Fixture::new();
        let ctx = three_streams(&f);
        let all = filter(&f.logs, &ctx, filter_req(None)).unwrap();
        assert_eq!(
            filtered(&all),
            [
                "a:ERROR one",
                "other:ERROR seven",
                "b:INFO four",
                "a:INFO two",
                "b:ERROR five",
                "a:ERROR three",
                "b:WARN six"
            ]
        );
        assert!(all.next_token.is_none());
        let ids: Vec<_> = all
            .events
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| e.event_id.clone().unwrap())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
        assert_eq!(all.searched_log_streams.unwrap().len(), 3);

        let errors = filter(&f.logs, &ctx, filter_req(Some("ERROR"))).unwrap();
        assert_eq!(
            filtered(&errors),
            [
                "a:ERROR one",
                "other:ERROR seven",
                "b:ERROR five",
                "a:ERROR three"
            ]
        );
        let mut r = filter_req(Some("?WARN ?INFO"));
        r.log_stream_name_prefix = Some("b".into());
        assert_eq!(
            filtered(&filter(&f.logs, &ctx, r).unwrap()),
            ["b:INFO four", "b:WARN six"]
        );
        let mut r = filter_req(None);
        r.log_stream_names = Some(vec!["other".into(), "a".into(), "missing".into()]);
        r.start_time = Some(T0 - 450);
        r.end_time = Some(T0 - 100); // inclusive
        assert_eq!(
            filtered(&filter(&f.logs, &ctx, r).unwrap()),
            ["other:ERROR seven", "a:INFO two", "a:ERROR three"]
        );
    }

    #[test]
    fn filter_pages_with_tokens() {
        let f = Fixture::new();
        let ctx = three_streams(&f);
        let mut seen = vec![];
        let mut token = None;
        for _ in 0..20 {
            let mut r = filter_req(None);
            r.limit = Some(2);
            r.next_token = token.clone();
            let page = filter(&f.logs, &ctx, r).unwrap();
            assert!(page.events.as_ref().unwrap().len() <= 2);
            seen.extend(filtered(&page));
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen.len(), 7);
        assert_eq!(seen[0], "a:ERROR one");
        assert_eq!(seen[6], "b:WARN six");
        let mut r = filter_req(None);
        r.next_token = Some("bogus".into());
        assert!(matches!(
            filter(&f.logs, &ctx, r),
            Err(Error::InvalidParameterException(_))
        ));
    }

    #[test]
    fn filter_refuses_bad_input() {
        let f = Fixture::new();
        let ctx = three_streams(&f);
        let mut r = filter_req(None);
        r.log_stream_names = Some(vec!["a".into()]);
        r.log_stream_name_prefix = Some("a".into());
        assert!(matches!(
            filter(&f.logs, &ctx, r),
            Err(Error::InvalidParameterException(_))
        ));
        let e = filter(&f.logs, &ctx, filter_req(Some("{ $.level = "))).unwrap_err();
        assert!(e.message().starts_with("Invalid filter pattern"), "{e}");
        let mut r = filter_req(None);
        r.log_group_name = Some("/missing".into());
        assert!(matches!(
            filter(&f.logs, &ctx, r),
            Err(Error::ResourceNotFoundException(_))
        ));
        let mut r = filter_req(None);
        r.log_group_name = None;
        r.log_group_identifier = Some(crate::groups::group_arn("123456789012", "us-east-1", "/g"));
        assert_eq!(filter(&f.logs, &ctx, r).unwrap().events.unwrap().len(), 7);
    }

    #[test]
    fn filter_json_pattern() {
        let f = Fixture::new();
        f.group_and_stream("/g", "s");
        f.put(
            "/g",
            "s",
            &[
                (T0 - 3, r#"{"level":"ERROR","ms":5}"#),
                (T0 - 2, r#"{"level":"INFO","ms":500}"#),
                (T0 - 1, "not json ERROR"),
            ],
        );
        let ctx = f.ctx();
        let r = filter(&f.logs, &ctx, filter_req(Some(r#"{ $.level = "ERROR" }"#))).unwrap();
        assert_eq!(filtered(&r), [r#"s:{"level":"ERROR","ms":5}"#]);
        let r = filter(
            &f.logs,
            &ctx,
            filter_req(Some("{ $.ms > 100 || $.level = ERROR }")),
        )
        .unwrap();
        assert_eq!(filtered(&r).len(), 2);
    }

    #[test]
    fn reads_hide_events_past_retention() {
        let f = Fixture::new();
        f.group_and_stream("/g", "s");
        f.put("/g", "s", &[(T0 - 3 * DAY_MS, "old")]);
        f.put("/g", "s", &[(T0 - 1000, "new")]);
        let ctx = f.ctx();
        crate::groups::put_retention(&f.logs, &ctx, "/g", 1).unwrap();
        let got = get(&f.logs, &ctx, get_req(Some(true), None, None)).unwrap();
        assert_eq!(messages(&got), ["new"]);
        let r = filter(&f.logs, &ctx, filter_req(None)).unwrap();
        assert_eq!(filtered(&r), ["s:new"]);
        // Expired events are skipped before the 24-hour span is checked.
        let r = f.put("/g", "s", &[(T0 - 3 * DAY_MS, "expired"), (T0, "kept")]);
        assert_eq!(
            r.rejected_log_events_info
                .unwrap()
                .expired_log_event_end_index,
            Some(1)
        );
    }
}
