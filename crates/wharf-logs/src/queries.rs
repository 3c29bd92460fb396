//! Logs Insights operations: StartQuery (checks the request, reads the events of the log
//! groups in the time range and runs the query with the pure engine in `insights`, so the
//! query is `Complete` by the first GetQueryResults), GetQueryResults, StopQuery (a query
//! that has ended is refused, as AWS refuses it) and DescribeQueries.

use crate::checks::{invalid, page_limit};
use crate::generated::*;
use crate::groups::{self, check_group_name, resolve_group_name, retention_floor};
use crate::insights::{self, Event, Run};
use crate::records::{
    clamp_ts, event_key, groups_prefix, parse_event_key, query_key, stream_events_prefix,
    streams_prefix, StoredQuery, EVENTS, QUERIES, STREAMS,
};
use crate::Logs;
use wharf_core::pagination::{decode_token, encode_token, paginate_ordered};
use wharf_core::RequestContext;
use wharf_store::Tx;

/// Rows a query returns when neither the query nor the request sets a limit.
pub const DEFAULT_LIMIT: usize = 1_000;
/// Most rows a query returns.
pub const MAX_LIMIT: usize = 10_000;
/// Most log groups one query reads (`logGroupNames` / `logGroupIdentifiers`).
pub const MAX_GROUPS: usize = 50;
/// The only query language wharf runs.
const LANGUAGE: &str = "CWLI";
/// Events read per store round trip.
const CHUNK: usize = 1_000;

fn query_not_found(id: &str) -> Error {
    Error::ResourceNotFoundException(format!("Query {id} does not exist."))
}

/// `StartQuery`.
pub fn start(
    logs: &Logs,
    ctx: &RequestContext,
    input: StartQueryRequest,
) -> Result<StartQueryResponse, Error> {
    if let Some(lang) = input.query_language.as_deref() {
        if lang != LANGUAGE {
            return Err(invalid(format!(
                "queryLanguage {lang} is not supported by wharf: only Logs Insights QL (CWLI) queries run"
            )));
        }
    }
    let names = requested_groups(ctx, &input)?;
    if input.end_time < input.start_time {
        return Err(invalid(format!(
            "endTime ({}) must be greater than or equal to startTime ({})",
            input.end_time, input.start_time
        )));
    }
    let query = insights::parse(&input.query_string)
        .map_err(|e| Error::MalformedQueryException(e.to_string()))?;
    let cap = match input.limit {
        Some(n) => usize::try_from(n).unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT),
        None if query
            .commands
            .iter()
            .any(|c| matches!(c, insights::parse::Command::Limit(_))) =>
        {
            MAX_LIMIT
        }
        None => DEFAULT_LIMIT,
    };
    // Whole seconds, both ends included.
    let lo = input.start_time.saturating_mul(1000);
    let hi = input.end_time.saturating_mul(1000).saturating_add(999);
    let mut run = Run::new(&query);
    logs.store.read(|tx| {
        let mut events = Vec::new();
        for (gi, name) in names.iter().enumerate() {
            read_group(tx, ctx, (gi, name), lo, hi, &mut events)?;
        }
        events.sort_by_key(|(pos, _)| *pos);
        for (_, e) in &events {
            run.feed(e);
        }
        Ok::<_, Error>(())
    })?;
    let outcome = run.finish(cap);
    let id = logs.ids.uuid();
    let record = StoredQuery {
        id: id.clone(),
        query_string: input.query_string,
        language: LANGUAGE.into(),
        groups: names,
        status: "Complete".into(),
        created: ctx.now.millis,
        start_time: input.start_time,
        end_time: input.end_time,
        rows: outcome.rows,
        matched: outcome.matched,
        scanned: outcome.scanned,
        bytes: outcome.bytes,
    };
    let key = query_key(&ctx.account_id, &ctx.region, &id);
    logs.store.write(|tx| tx.put(QUERIES, &key, &record))?;
    Ok(StartQueryResponse { query_id: Some(id) })
}

/// The group names of a StartQuery: exactly one of `logGroupName`, `logGroupNames`,
/// `logGroupIdentifiers` (names or ARNs), at most [`MAX_GROUPS`], without repeats.
fn requested_groups(ctx: &RequestContext, input: &StartQueryRequest) -> Result<Vec<String>, Error> {
    let given = [
        input.log_group_name.is_some(),
        input.log_group_names.is_some(),
        input.log_group_identifiers.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        return Err(invalid(
            "Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified.",
        ));
    }
    let mut names = Vec::new();
    if let Some(n) = &input.log_group_name {
        check_group_name(n, "logGroupName")?;
        names.push(n.clone());
    }
    for n in input.log_group_names.iter().flatten() {
        check_group_name(n, "logGroupNames")?;
        names.push(n.clone());
    }
    for id in input.log_group_identifiers.iter().flatten() {
        names.push(resolve_group_name(ctx, None, Some(id))?);
    }
    if names.is_empty() {
        return Err(invalid("At least one log group must be specified."));
    }
    if names.len() > MAX_GROUPS {
        return Err(invalid(format!(
            "A query can read at most {MAX_GROUPS} log groups; {} were given.",
            names.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    Ok(names)
}

/// Where an event sorts among the events of every queried group: time, then group, stream
/// and arrival.
type Pos = (i64, usize, u64, u64);

/// Appends the events of group `name` (the `gi`th queried) with `lo <= timestamp <= hi` that retention still
/// shows.
fn read_group(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    (gi, name): (usize, &str),
    lo: i64,
    hi: i64,
    out: &mut Vec<(Pos, Event)>,
) -> Result<(), Error> {
    let group = groups::require(tx, ctx, name).map_err(|e| match e {
        Error::ResourceNotFoundException(_) => {
            Error::ResourceNotFoundException(format!("Log group '{name}' does not exist."))
        }
        other => other,
    })?;
    let gkey = crate::records::group_key(&ctx.account_id, &ctx.region, name);
    let lo = clamp_ts(lo.max(retention_floor(&group, ctx.now.millis)));
    let hi = clamp_ts(hi);
    if lo > hi {
        return Ok(());
    }
    let log = format!("{}:{name}", ctx.account_id);
    for (_, stream) in tx.list(STREAMS, &streams_prefix(&gkey))? {
        let prefix = stream_events_prefix(&group.gid, stream.sid);
        let mut next = event_key(&prefix, lo, 0);
        let end = event_key(&prefix, hi.saturating_add(1), 0);
        loop {
            let rows = tx.range(EVENTS, &next, &end, CHUNK, false)?;
            let n = rows.len();
            for (key, e) in rows {
                let Some((ts, seq)) = parse_event_key(&key) else {
                    continue;
                };
                next = event_key(&prefix, ts, seq.saturating_add(1));
                out.push((
                    (ts, gi, stream.sid, seq),
                    Event {
                        timestamp: ts,
                        ingestion: e.ingestion,
                        message: e.message,
                        log_stream: stream.name.clone(),
                        log: log.clone(),
                        ptr: encode_token(&key),
                    },
                ));
            }
            if n < CHUNK {
                break;
            }
        }
    }
    Ok(())
}

/// `GetQueryResults`: the rows (a page of `maxItems` when asked), the statistics and the
/// status.
pub fn results(
    logs: &Logs,
    ctx: &RequestContext,
    input: GetQueryResultsRequest,
) -> Result<GetQueryResultsResponse, Error> {
    let key = query_key(&ctx.account_id, &ctx.region, &input.query_id);
    let q = logs
        .store
        .read(|tx| tx.get(QUERIES, &key))?
        .ok_or_else(|| query_not_found(&input.query_id))?;
    let start = match input.next_token.as_deref() {
        None | Some("") => 0,
        Some(t) => decode_token(t)
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| invalid("The specified nextToken is invalid."))?,
    };
    let max = match input.max_items {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).max(1),
        None => usize::MAX,
    };
    let end = start.saturating_add(max).min(q.rows.len());
    let next_token = (end < q.rows.len()).then(|| encode_token(&end.to_string()));
    let results = q
        .rows
        .get(start.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(|row| {
            row.iter()
                .map(|(f, v)| ResultField {
                    field: Some(f.clone()),
                    value: Some(v.clone()),
                })
                .collect()
        })
        .collect();
    Ok(GetQueryResultsResponse {
        query_language: Some(q.language.clone()),
        results: Some(results),
        statistics: Some(QueryStatistics {
            records_matched: Some(q.matched as f64),
            records_scanned: Some(q.scanned as f64),
            bytes_scanned: Some(q.bytes as f64),
            ..Default::default()
        }),
        status: Some(q.status),
        next_token,
        ..Default::default()
    })
}

/// `StopQuery`: cancels a query that is still scheduled or running; one that has ended is
/// refused with InvalidParameterException.
pub fn stop(
    logs: &Logs,
    ctx: &RequestContext,
    input: StopQueryRequest,
) -> Result<StopQueryResponse, Error> {
    let key = query_key(&ctx.account_id, &ctx.region, &input.query_id);
    logs.store.write(|tx| {
        let mut q = tx
            .get(QUERIES, &key)?
            .ok_or_else(|| query_not_found(&input.query_id))?;
        if !matches!(q.status.as_str(), "Scheduled" | "Running") {
            return Err(invalid(format!(
                "Query {} is not running: its status is {}.",
                q.id, q.status
            )));
        }
        q.status = "Cancelled".into();
        tx.put(QUERIES, &key, &q)?;
        Ok(StopQueryResponse {
            success: Some(true),
        })
    })
}

/// `DescribeQueries`: the account's queries in the region, newest first, filtered by log
/// group, status and language.
pub fn describe(
    logs: &Logs,
    ctx: &RequestContext,
    input: DescribeQueriesRequest,
) -> Result<DescribeQueriesResponse, Error> {
    let max = page_limit(input.max_results, 1000, 1000)?;
    let queries = logs.store.read(|tx| {
        if let Some(g) = input.log_group_name.as_deref() {
            check_group_name(g, "logGroupName")?;
            groups::require(tx, ctx, g)?;
        }
        Ok::<_, Error>(tx.list(QUERIES, &groups_prefix(&ctx.account_id, &ctx.region))?)
    })?;
    let mut list: Vec<StoredQuery> = queries
        .into_iter()
        .map(|(_, q)| q)
        .filter(|q| {
            input
                .log_group_name
                .as_ref()
                .is_none_or(|g| q.groups.contains(g))
                && input.status.as_ref().is_none_or(|s| &q.status == s)
                && input
                    .query_language
                    .as_ref()
                    .is_none_or(|l| &q.language == l)
        })
        .collect();
    let order = |q: &StoredQuery| format!("{:016}/{}", clamp_ts(q.created), q.id);
    list.sort_by_key(|q| std::cmp::Reverse(order(q)));
    let (page, next_token) = paginate_ordered(list, order, input.next_token.as_deref(), max, true)
        .map_err(|_| invalid("The specified nextToken is invalid."))?;
    Ok(DescribeQueriesResponse {
        queries: Some(
            page.into_iter()
                .map(|q| QueryInfo {
                    query_language: Some(q.language),
                    query_id: Some(q.id),
                    query_string: Some(q.query_string),
                    status: Some(q.status),
                    create_time: Some(q.created),
                    log_group_name: q.groups.into_iter().next(),
                    ..Default::default()
                })
                .collect(),
        ),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Fixture, T0};
    use crate::LogsApi;
    use std::sync::Arc;

    fn start_req(groups: &[&str], q: &str) -> StartQueryRequest {
        StartQueryRequest {
            log_group_names: Some(groups.iter().map(|g| (*g).to_string()).collect()),
            start_time: T0 / 1000,
            end_time: T0 / 1000 + 3600,
            query_string: q.into(),
            ..Default::default()
        }
    }

    fn fixture() -> Fixture {
        let f = Fixture::new();
        f.group_and_stream("/app", "web");
        f.group_and_stream("/other", "s");
        f.put(
            "/app",
            "web",
            &[
                (T0, "GET /a 200"),
                (T0 + 60_000, "GET /b 500"),
                (T0 + 400_000, "POST /a 200"),
                // Outside the queried hour.
                (T0 + 3_601_000, "GET /late 200"),
            ],
        );
        f.put("/other", "s", &[(T0 + 1_000, "GET /x 404")]);
        f
    }

    fn get(logs: &Arc<Logs>, ctx: &RequestContext, id: &str) -> GetQueryResultsResponse {
        logs.get_query_results(
            ctx,
            GetQueryResultsRequest {
                query_id: id.into(),
                ..Default::default()
            },
        )
        .expect("results")
    }

    fn cells(r: &GetQueryResultsResponse) -> Vec<Vec<(String, String)>> {
        r.results
            .iter()
            .flatten()
            .map(|row| {
                row.iter()
                    .map(|f| {
                        (
                            f.field.clone().unwrap_or_default(),
                            f.value.clone().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn runs_over_the_groups_in_the_time_range() {
        let f = fixture();
        let ctx = f.ctx();
        let id = f
            .logs
            .start_query(
                &ctx,
                start_req(&["/app", "/other"], "stats count(*) by bin(5m)"),
            )
            .expect("start")
            .query_id
            .expect("id");
        let r = get(&f.logs, &ctx, &id);
        assert_eq!(r.status.as_deref(), Some("Complete"));
        assert_eq!(
            cells(&r),
            vec![
                vec![
                    ("bin(5m)".to_string(), "2023-11-14 22:10:00.000".to_string()),
                    ("count(*)".to_string(), "3".to_string())
                ],
                vec![
                    ("bin(5m)".to_string(), "2023-11-14 22:20:00.000".to_string()),
                    ("count(*)".to_string(), "1".to_string())
                ],
            ]
        );
        let s = r.statistics.expect("statistics");
        assert_eq!(s.records_scanned, Some(4.0));
        assert_eq!(s.records_matched, Some(4.0));

        let id = f
            .logs
            .start_query(
                &ctx,
                start_req(
                    &["/app", "/other"],
                    "fields @timestamp, @message, @log | sort @timestamp desc | limit 2",
                ),
            )
            .expect("start")
            .query_id
            .expect("id");
        let rows = cells(&get(&f.logs, &ctx, &id));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][1].1, "POST /a 200");
        assert_eq!(rows[1][2].1, "123456789012:/app");
        assert_eq!(rows[0][3].0, "@ptr");
    }

    #[test]
    fn request_checks() {
        let f = fixture();
        let ctx = f.ctx();
        let e = f
            .logs
            .start_query(&ctx, start_req(&["/app"], "stats nope(x)"));
        assert!(matches!(e, Err(Error::MalformedQueryException(m)) if m.contains("nope")));
        let e = f
            .logs
            .start_query(&ctx, start_req(&["/missing"], "fields @message"));
        assert!(matches!(e, Err(Error::ResourceNotFoundException(m)) if m.contains("/missing")));
        let mut r = start_req(&["/app"], "fields @message");
        r.log_group_name = Some("/app".into());
        assert!(matches!(
            f.logs.start_query(&ctx, r),
            Err(Error::InvalidParameterException(_))
        ));
        let mut r = start_req(&["/app"], "fields @message");
        r.end_time = r.start_time - 1;
        assert!(matches!(
            f.logs.start_query(&ctx, r),
            Err(Error::InvalidParameterException(_))
        ));
        let mut r = start_req(&[], "fields @message");
        r.log_group_names = None;
        r.log_group_identifiers = Some(vec![
            "arn:aws:logs:us-east-1:123456789012:log-group:/app:*".into(),
        ]);
        r.limit = Some(2);
        let id = f
            .logs
            .start_query(&ctx, r)
            .expect("arn")
            .query_id
            .expect("id");
        assert_eq!(cells(&get(&f.logs, &ctx, &id)).len(), 2);
        let e = f.logs.get_query_results(
            &ctx,
            GetQueryResultsRequest {
                query_id: "nope".into(),
                ..Default::default()
            },
        );
        assert!(matches!(e, Err(Error::ResourceNotFoundException(_))));
    }

    #[test]
    fn stop_and_describe() {
        let f = fixture();
        let ctx = f.ctx();
        let a = f
            .logs
            .start_query(&ctx, start_req(&["/app"], "fields @message"))
            .expect("a")
            .query_id
            .expect("id");
        f.clock.advance(1_000);
        let ctx2 = f.ctx();
        let b = f
            .logs
            .start_query(&ctx2, start_req(&["/other"], "fields @message"))
            .expect("b")
            .query_id
            .expect("id");
        // A completed query is not running.
        let e = f.logs.stop_query(
            &ctx,
            StopQueryRequest {
                query_id: a.clone(),
            },
        );
        assert!(matches!(e, Err(Error::InvalidParameterException(m)) if m.contains("not running")));
        // A running one is cancelled (wharf's queries complete at once; set one running).
        let key = query_key("123456789012", "us-east-1", &a);
        f.logs
            .store
            .write(|tx| {
                let mut q = tx.get(QUERIES, &key)?.expect("query");
                q.status = "Running".into();
                tx.put(QUERIES, &key, &q)
            })
            .expect("write");
        let ok = f
            .logs
            .stop_query(
                &ctx,
                StopQueryRequest {
                    query_id: a.clone(),
                },
            )
            .expect("stop");
        assert_eq!(ok.success, Some(true));

        let list = |req: DescribeQueriesRequest| -> Vec<(String, String)> {
            f.logs
                .describe_queries(&ctx2, req)
                .expect("describe")
                .queries
                .unwrap_or_default()
                .into_iter()
                .map(|q| (q.query_id.unwrap_or_default(), q.status.unwrap_or_default()))
                .collect()
        };
        assert_eq!(
            list(DescribeQueriesRequest::default()),
            [
                (b.clone(), "Complete".to_string()),
                (a.clone(), "Cancelled".to_string())
            ]
        );
        let by_status = list(DescribeQueriesRequest {
            status: Some("Cancelled".into()),
            ..Default::default()
        });
        assert_eq!(by_status, [(a.clone(), "Cancelled".to_string())]);
        let by_group = list(DescribeQueriesRequest {
            log_group_name: Some("/other".into()),
            ..Default::default()
        });
        assert_eq!(by_group, [(b.clone(), "Complete".to_string())]);
        let page = f
            .logs
            .describe_queries(
                &ctx2,
                DescribeQueriesRequest {
                    max_results: Some(1),
                    ..Default::default()
                },
            )
            .expect("page");
        let rest = list(DescribeQueriesRequest {
            next_token: page.next_token,
            ..Default::default()
        });
        assert_eq!(rest, [(a, "Cancelled".to_string())]);
    }
}
