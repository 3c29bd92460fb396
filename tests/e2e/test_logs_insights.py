"""CloudWatch Logs Insights through the real AWS CLI (v1 and v2): start-query /
get-query-results over a known set of events with known answers (counts by bin, parse
fields, filter by regex, stats by a JSON field, sort / limit), describe-queries, stop-query
on a finished query, and the errors of a malformed query or a missing log group.

Only the endpoint differs from what a user types against AWS.
"""

from __future__ import annotations

import datetime as _dt
import time

import pytest

from wharf_e2e import ACCOUNT_ID, DEFAULT_REGION, wait_until

# Whole hour between 2 and 3 hours ago (PutLogEvents takes events up to 14 days old), so the
# 5-minute bins of the events below are known.
BASE_S = (int(time.time()) // 3600 - 2) * 3600
BASE = BASE_S * 1000

WEB = [
    (BASE + 0, "GET /a 200 12ms"),
    (BASE + 60_000, "GET /b 500 40ms"),
    (BASE + 130_000, "POST /a 200 8ms"),
]
API = [
    (BASE + 310_000, '{"level":"ERROR","latency":30,"user":{"id":"u1"}}'),
    (BASE + 320_000, '{"level":"INFO","latency":10,"user":{"id":"u2"}}'),
    (BASE + 600_000, '{"level":"ERROR","latency":50,"user":{"id":"u1"}}'),
    # After the queried hour.
    (BASE + 3_700_000, '{"level":"ERROR","latency":99,"user":{"id":"late"}}'),
]


def insights_time(ms: int) -> str:
    """A timestamp as Logs Insights prints it: ``2024-01-02 03:04:05.000`` (UTC)."""
    t = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


@pytest.fixture(scope="module")
def app_group(module_wharf):
    """Log group ``/insights/app`` with streams ``web`` and ``api`` holding WEB and API."""
    wharf = module_wharf
    group = "/insights/app"
    wharf.aws("logs", "create-log-group", "--log-group-name", group)
    for stream, events in (("web", WEB), ("api", API)):
        wharf.aws("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", stream)
        path = wharf.write_json(
            f"insights-{stream}.json", [{"timestamp": t, "message": m} for t, m in events]
        )
        wharf.aws(
            "logs", "put-log-events",
            "--log-group-name", group, "--log-stream-name", stream, "--log-events", path,
        )
    return group


def start(wharf, cli, group, query, *extra):
    return wharf.aws(
        "logs", "start-query",
        "--log-group-name", group,
        "--start-time", str(BASE_S),
        "--end-time", str(BASE_S + 3599),
        "--query-string", query,
        *extra,
        cli=cli,
    ).json["queryId"]


def results(wharf, cli, query_id):
    """get-query-results until the query has ended; the answer."""
    answer = {}

    def done():
        answer.update(wharf.aws("logs", "get-query-results", "--query-id", query_id, cli=cli).json)
        return answer["status"] not in ("Scheduled", "Running")

    wait_until(done, f"query {query_id} to end", deadline=60)
    return answer


def rows(answer, keep_ptr=False):
    return [
        {f["field"]: f["value"] for f in row if keep_ptr or f["field"] != "@ptr"}
        for row in answer["results"]
    ]


def run(wharf, cli, group, query, *extra):
    return results(wharf, cli, start(wharf, cli, group, query, *extra))


def test_counts_by_bin(module_wharf, cli, app_group):
    answer = run(module_wharf, cli, app_group, "stats count(*) by bin(5m)")
    assert answer["status"] == "Complete"
    assert rows(answer) == [
        {"bin(5m)": insights_time(BASE), "count(*)": "3"},
        {"bin(5m)": insights_time(BASE + 300_000), "count(*)": "2"},
        {"bin(5m)": insights_time(BASE + 600_000), "count(*)": "1"},
    ]
    stats = answer["statistics"]
    assert stats["recordsScanned"] == 6.0
    assert stats["recordsMatched"] == 6.0
    assert stats["bytesScanned"] == sum(len(m) for _, m in WEB + API[:3])


def test_parse_fields_and_filter(module_wharf, cli, app_group):
    answer = run(
        module_wharf, cli, app_group,
        'parse @message "* * * *ms" as method, path, status, ms '
        "| filter status = 200 | fields method, path, ms | sort @timestamp asc",
    )
    assert rows(answer) == [
        {"method": "GET", "path": "/a", "ms": "12"},
        {"method": "POST", "path": "/a", "ms": "8"},
    ]
    # Event rows carry @ptr, last.
    assert all(row[-1]["field"] == "@ptr" and row[-1]["value"] for row in answer["results"])

    regex = run(
        module_wharf, cli, app_group,
        r"fields @timestamp, @message, @logStream, @log | filter @message like /\s5\d\d\s/",
    )
    assert rows(regex) == [
        {
            "@timestamp": insights_time(BASE + 60_000),
            "@message": "GET /b 500 40ms",
            "@logStream": "web",
            "@log": f"{ACCOUNT_ID}:{app_group}",
        }
    ]
    named = run(
        module_wharf, cli, app_group,
        r"parse @message /^(?<verb>[A-Z]+) (?<route>\S+)/ | filter ispresent(verb) "
        "| stats count(*) as n by verb | sort n desc",
    )
    assert rows(named) == [{"verb": "GET", "n": "2"}, {"verb": "POST", "n": "1"}]


def test_json_fields_stats_sort_limit(module_wharf, cli, app_group):
    answer = run(
        module_wharf, cli, app_group,
        "filter ispresent(level) | stats count(*) as n, avg(latency) as avg, max(latency) by level "
        "| sort n desc",
    )
    assert rows(answer) == [
        {"level": "ERROR", "n": "2", "avg": "40", "max(latency)": "50"},
        {"level": "INFO", "n": "1", "avg": "10", "max(latency)": "10"},
    ]
    top = run(
        module_wharf, cli, app_group,
        "fields @timestamp, user.id | filter level = 'ERROR' or latency < 20 | sort latency desc | limit 2",
    )
    assert rows(top) == [
        {"@timestamp": insights_time(BASE + 600_000), "user.id": "u1"},
        {"@timestamp": insights_time(BASE + 310_000), "user.id": "u1"},
    ]
    # StartQuery's --limit caps the rows.
    capped = run(module_wharf, cli, app_group, "fields @message", "--limit", "4")
    assert len(capped["results"]) == 4
    deduped = run(module_wharf, cli, app_group, "fields @logStream | sort @timestamp desc | dedup @logStream")
    assert rows(deduped) == [{"@logStream": "api"}, {"@logStream": "web"}]


def test_describe_and_stop_queries(module_wharf, cli, app_group):
    wharf = module_wharf
    query_id = start(wharf, cli, app_group, "fields @message | limit 1")
    results(wharf, cli, query_id)
    described = wharf.aws("logs", "describe-queries", "--log-group-name", app_group, cli=cli).json["queries"]
    mine = [q for q in described if q["queryId"] == query_id]
    assert len(mine) == 1
    assert mine[0]["queryString"] == "fields @message | limit 1"
    assert mine[0]["status"] == "Complete"
    assert mine[0]["logGroupName"] == app_group
    assert abs(mine[0]["createTime"] - time.time() * 1000) < 120_000
    # Newest first.
    assert described[0]["queryId"] == query_id
    cancelled = wharf.aws("logs", "describe-queries", "--status", "Cancelled", cli=cli).json["queries"]
    assert all(q["status"] == "Cancelled" for q in cancelled)
    # A query that has ended is not running.
    wharf.aws_error("InvalidParameterException", "logs", "stop-query", "--query-id", query_id, cli=cli)
    wharf.aws_error("ResourceNotFoundException", "logs", "get-query-results", "--query-id", "no-such-query", cli=cli)


def test_query_errors(module_wharf, cli, app_group):
    wharf = module_wharf
    for bad in ("frobnicate @message", "stats latency", "fields @message |", "pattern @message"):
        wharf.aws_error(
            "MalformedQueryException", "logs", "start-query",
            "--log-group-name", app_group,
            "--start-time", str(BASE_S), "--end-time", str(BASE_S + 60),
            "--query-string", bad,
            cli=cli,
        )
    wharf.aws_error(
        "ResourceNotFoundException", "logs", "start-query",
        "--log-group-name", "/insights/missing",
        "--start-time", str(BASE_S), "--end-time", str(BASE_S + 60),
        "--query-string", "fields @message",
        cli=cli,
    )
    wharf.aws_error(
        "InvalidParameterException", "logs", "start-query",
        "--log-group-name", app_group,
        "--start-time", str(BASE_S + 60), "--end-time", str(BASE_S),
        "--query-string", "fields @message",
        cli=cli,
    )


def test_boto3_group_identifiers_and_paging(module_wharf, app_group):
    logs = module_wharf.boto3_client("logs")
    arn = f"arn:aws:logs:{DEFAULT_REGION}:{ACCOUNT_ID}:log-group:{app_group}"
    query_id = logs.start_query(
        logGroupIdentifiers=[arn],
        startTime=BASE_S,
        endTime=BASE_S + 3599,
        queryString="fields @message | sort @timestamp asc",
    )["queryId"]
    answer = logs.get_query_results(queryId=query_id)
    assert answer["status"] == "Complete"
    assert [r[0]["value"] for r in answer["results"]] == [m for _, m in WEB + API[:3]]
