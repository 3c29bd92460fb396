//! The CloudWatch Logs Insights query engine: parse a query ([`parse::parse`]), feed it the
//! events of the queried log groups in time order ([`eval::Run`]), get the rows. Pure: no
//! store, no clock; `queries.rs` reads the events and keeps the results.
//!
//! The subset wharf evaluates (anything else is a `MalformedQueryException` naming it):
//!
//! - commands, separated by `|`, with `#` comments: `fields expr [as name], ...`,
//!   `filter expr`, `stats agg [as name], ... [by expr [as name], ...]`,
//!   `sort expr [asc|desc], ...` (asc by default; AWS's natural order: text before numbers),
//!   `limit n` (1 to 10000), `parse [field] "glob * with * stars" as a, b` and
//!   `parse [field] /regex with (?<named>groups)/` (field `@message` by default),
//!   `display f, ...`, `dedup f, ...`. Not supported: `pattern`, `diff`, `unmask`, `unnest`,
//!   `lookup`, `filterIndex`, `SOURCE`, `anomaly`, and the SQL / PPL query languages.
//! - fields: `@timestamp`, `@message`, `@logStream`, `@log` (`account:group`),
//!   `@ingestionTime`, `@ptr`; the fields of a JSON message, flattened (`a.b`, `list.0`);
//!   fields made by `fields ... as`, `parse` and `stats`; `` `quoted names` ``.
//! - expressions: `=`, `!=`, `<`, `<=`, `>`, `>=` (numeric when both sides are numbers),
//!   `like "substring"`, `like /regex/`, `=~ /regex/`, `not like`, `in [..]`, `not in`,
//!   `and`, `or`, `not`, `+ - * / %`, and the functions `ispresent`, `isempty`, `isblank`,
//!   `strlen`, `tolower`, `toupper`, `concat`, `trim`, `ltrim`, `rtrim`, `strcontains`,
//!   `substr`, `replace`, `abs`, `ceil`, `floor`, `greatest`, `least`, `coalesce`,
//!   `bin(period)` (ms, s, m, h, d, w), `datefloor`, `dateceil`, `fromMillis`, `toMillis`.
//! - aggregations in `stats`: `count(*)` / `count()`, `count(field)`, `count_distinct`,
//!   `sum`, `avg`, `min`, `max`, `earliest`, `latest`, `pct(field, n)`, `stddev`, and
//!   arithmetic over them (`sum(x) / count(*)`).
//! - results: one list of `{field, value}` per row; event rows end with `@ptr`; a query
//!   without `fields` / `display` / `stats` shows every field of the event; `@timestamp`
//!   prints as `2023-11-14 22:13:20.000`.

pub mod eval;
pub mod parse;
pub mod value;

pub use eval::{Event, Outcome, Run};
pub use parse::{parse, Query, QueryError};

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000; // 2023-11-14 22:13:20

    fn ev(offset_s: i64, stream: &str, message: &str) -> Event {
        Event {
            timestamp: T0 + offset_s * 1000,
            ingestion: T0 + offset_s * 1000,
            message: message.into(),
            log_stream: stream.into(),
            log: "123456789012:/app".into(),
            ptr: format!("ptr-{offset_s}-{stream}"),
        }
    }

    fn sample() -> Vec<Event> {
        vec![
            ev(0, "web", "GET /a 200 12ms"),
            ev(60, "web", "GET /b 500 40ms"),
            ev(130, "web", "POST /a 200 8ms"),
            ev(
                310,
                "api",
                r#"{"level":"ERROR","latency":30,"user":{"id":"u1"},"tags":["x","y"]}"#,
            ),
            ev(
                320,
                "api",
                r#"{"level":"INFO","latency":10,"user":{"id":"u2"}}"#,
            ),
            ev(
                600,
                "api",
                r#"{"level":"ERROR","latency":50,"user":{"id":"u1"}}"#,
            ),
        ]
    }

    fn run(q: &str, events: &[Event]) -> Outcome {
        let query = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let mut r = Run::new(&query);
        for e in events {
            r.feed(e);
        }
        r.finish(1000)
    }

    /// The rows as "field=value" strings joined by spaces, without `@ptr`.
    fn table(o: &Outcome) -> Vec<String> {
        o.rows
            .iter()
            .map(|r| {
                r.iter()
                    .filter(|(f, _)| f != "@ptr")
                    .map(|(f, v)| format!("{f}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    fn malformed(q: &str) -> String {
        parse(q)
            .err()
            .unwrap_or_else(|| panic!("{q} parsed"))
            .message
    }

    #[test]
    fn counts_by_bin() {
        let o = run("stats count(*) by bin(5m)", &sample());
        assert_eq!(
            table(&o),
            [
                "bin(5m)=2023-11-14 22:10:00.000 count(*)=2",
                "bin(5m)=2023-11-14 22:15:00.000 count(*)=3",
                "bin(5m)=2023-11-14 22:20:00.000 count(*)=1",
            ]
        );
        assert_eq!((o.matched, o.scanned), (6, 6));
        assert!(o.rows.iter().all(|r| r.iter().all(|(f, _)| f != "@ptr")));
    }

    #[test]
    fn stats_by_field_with_aliases_and_arithmetic() {
        let o = run(
            "filter ispresent(level) | stats count() as n, avg(latency) as avg, max(latency), sum(latency) / count(*) as mean by level | sort n desc",
            &sample(),
        );
        assert_eq!(
            table(&o),
            [
                "level=ERROR n=2 avg=40 max(latency)=50 mean=40",
                "level=INFO n=1 avg=10 max(latency)=10 mean=10",
            ]
        );
        assert_eq!(o.matched, 3);
        let o = run(
            "stats count(level), count_distinct(user.id), min(latency)",
            &sample(),
        );
        assert_eq!(
            table(&o),
            ["count(level)=3 count_distinct(user.id)=2 min(latency)=10"]
        );
        let o = run("filter level = 'nope' | stats count(*)", &sample());
        assert_eq!(table(&o), ["count(*)=0"]);
    }

    #[test]
    fn parse_glob_and_regex_make_fields() {
        let o = run(
            "parse @message '* * * *ms' as method, path, status, ms | filter status = 200 | fields method, path, ms",
            &sample(),
        );
        assert_eq!(
            table(&o),
            ["method=GET path=/a ms=12", "method=POST path=/a ms=8"]
        );
        let o = run(
            r"parse /(?<verb>[A-Z]+) (?<route>\S+) (?<code>\d{3})/ | stats count(*) by code | sort code",
            &sample(),
        );
        // Events without the field form their own group, without the field.
        assert_eq!(
            table(&o),
            ["count(*)=3", "code=200 count(*)=2", "code=500 count(*)=1"]
        );
    }

    #[test]
    fn filters_by_regex_like_in_and_not() {
        let msgs = |o: &Outcome| -> Vec<String> {
            o.rows
                .iter()
                .filter_map(|r| {
                    r.iter()
                        .find(|(f, _)| f == "@message")
                        .map(|(_, v)| v.clone())
                })
                .collect()
        };
        let o = run(
            "fields @message | filter @message like /5\\d\\d/",
            &sample(),
        );
        assert_eq!(msgs(&o), ["GET /b 500 40ms"]);
        let o = run("fields @message | filter @message like 'POST'", &sample());
        assert_eq!(msgs(&o), ["POST /a 200 8ms"]);
        let o = run(
            "fields @message | filter @message =~ /(?i)^get/ and not @message like '500'",
            &sample(),
        );
        assert_eq!(msgs(&o), ["GET /a 200 12ms"]);
        let o = run(
            "fields @message | filter level in ['INFO', 'WARN'] or latency >= 50",
            &sample(),
        );
        assert_eq!(o.rows.len(), 2);
        let o = run(
            "fields @message | filter @message not like /GET|POST/",
            &sample(),
        );
        assert_eq!(o.rows.len(), 3);
        let o = run("filter @logStream != 'api' | fields @logStream", &sample());
        assert_eq!(o.rows.len(), 3);
    }

    #[test]
    fn json_fields_are_discovered_and_flattened() {
        let o = run(
            "filter user.id = 'u1' | fields @timestamp, level, latency, tags.1",
            &sample(),
        );
        assert_eq!(
            table(&o),
            [
                "@timestamp=2023-11-14 22:18:30.000 level=ERROR latency=30 tags.1=y",
                "@timestamp=2023-11-14 22:23:20.000 level=ERROR latency=50",
            ]
        );
        assert_eq!(
            o.rows[0].last().map(|(f, v)| (f.as_str(), v.as_str())),
            Some(("@ptr", "ptr-310-api"))
        );
    }

    #[test]
    fn sort_limit_dedup_and_display() {
        let o = run(
            "fields @timestamp, @message | sort @timestamp desc | limit 2",
            &sample(),
        );
        assert_eq!(o.rows.len(), 2);
        assert!(table(&o)[0].starts_with("@timestamp=2023-11-14 22:23:20.000"));
        let o = run(
            "fields @logStream, @message | sort @timestamp asc | dedup @logStream",
            &sample(),
        );
        assert_eq!(
            table(&o),
            ["@logStream=web @message=GET /a 200 12ms", "@logStream=api @message={\"level\":\"ERROR\",\"latency\":30,\"user\":{\"id\":\"u1\"},\"tags\":[\"x\",\"y\"]}"]
        );
        let o = run(
            "fields @message, strlen(@message) as len | display len | limit 1",
            &sample(),
        );
        assert_eq!(table(&o), ["len=15"]);
        let o = run("filter latency > 0 | sort latency desc", &sample());
        assert_eq!(o.rows.len(), 3);
        assert!(table(&o)[0].contains("latency=50"));
        // The cap of StartQuery's `limit`.
        let query = parse("fields @message").expect("parse");
        let mut r = Run::new(&query);
        for e in sample() {
            r.feed(&e);
        }
        assert_eq!(r.finish(4).rows.len(), 4);
    }

    #[test]
    fn default_fields_and_comments() {
        let o = run(
            "# every event\nfilter @logStream = 'web' # web only\n| limit 1",
            &sample(),
        );
        assert_eq!(
            table(&o),
            ["@timestamp=2023-11-14 22:13:20.000 @message=GET /a 200 12ms @logStream=web @log=123456789012:/app"]
        );
    }

    #[test]
    fn functions_and_arithmetic() {
        let o = run(
            "filter ispresent(latency) | fields latency * 2 as double, toupper(level) as l, concat(level, '-', user.id) as c, bin(1h) as hour | limit 1",
            &sample(),
        );
        assert_eq!(
            table(&o),
            ["double=60 l=ERROR c=ERROR-u1 hour=2023-11-14 22:00:00.000"]
        );
        let o = run("filter latency / 10 % 2 = 1 | fields latency", &sample());
        assert_eq!(table(&o), ["latency=30", "latency=10", "latency=50"]);
    }

    #[test]
    fn malformed_queries_say_what_is_wrong() {
        assert!(malformed("").contains("empty"));
        assert!(malformed("fields @message |").contains("no command follows"));
        assert!(malformed("pattern @message").contains("not supported"));
        assert!(malformed("frobnicate x").contains("unknown command 'frobnicate'"));
        assert!(malformed("stats latency").contains("not an aggregation"));
        assert!(malformed("stats sum(*)").contains("sum(*)"));
        assert!(malformed("filter @message like").contains("like needs"));
        assert!(malformed("filter x = 'unterminated").contains("unterminated"));
        assert!(malformed("limit 0").contains("from 1 to 10000"));
        assert!(malformed("limit 10001").contains("from 1 to 10000"));
        assert!(malformed("stats count(*) by bin(5q)").contains("time unit"));
        assert!(malformed("parse @message 'a * b * c' as x").contains("2 '*' but 1"));
        assert!(malformed("parse @message /no groups/").contains("named groups"));
        assert!(malformed("filter nosuch(x)").contains("unknown or unsupported function"));
        assert!(malformed("fields count(*)").contains("only be used in stats"));
        assert!(malformed("fields a b").contains("expected '|'"));
        let e = parse("fields @message | bogus").expect_err("bogus");
        assert_eq!((e.start, e.end), (18, 23));
    }

    #[test]
    fn divides_where_an_operator_is_expected_and_matches_regex_elsewhere() {
        let q = parse("fields a / 2 as half | filter @message like /a/").expect("parse");
        assert_eq!(q.commands.len(), 2);
        let o = run(
            "fields latency / 2 as half | filter ispresent(half)",
            &sample(),
        );
        assert_eq!(o.rows.len(), 3);
    }
}
