"""CloudWatch Logs through the real AWS CLI (v1 and v2) and boto3: log groups and streams,
put-log-events / get-log-events (head and tail) / filter-log-events, retention, tags, the
error codes a user meets, and CLI v2's `aws logs tail` (with and without --follow).

Only the endpoint differs from what a user types against AWS. What is asserted is what AWS
answers: field names, ARNs, token shapes, error codes and CLI exit statuses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID, AWS_CLI, DEFAULT_REGION

DAY_MS = 24 * 60 * 60 * 1000
TOKEN = re.compile(r"[fb]/\d{56}")


def now_ms() -> int:
    return int(time.time() * 1000)


def group_arn(name: str, region: str = DEFAULT_REGION) -> str:
    return f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{name}"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def put_events(wharf, group: str, stream: str, events: list[tuple[int, str]], cli: str = "v1") -> dict:
    """put-log-events with the events in a JSON file (messages may hold commas and quotes)."""
    path = wharf.write_json(
        f"events-{abs(hash((group, stream, len(events), events[0][0])))}.json",
        [{"timestamp": t, "message": m} for t, m in events],
    )
    return wharf.aws(
        "logs", "put-log-events",
        "--log-group-name", group,
        "--log-stream-name", stream,
        "--log-events", path,
        cli=cli,
    ).json


# ---------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------


def test_log_group_lifecycle(wharf, cli):
    wharf.aws("logs", "create-log-group", "--log-group-name", "/ecs/web", "--tags", "team=web,env=prod", cli=cli)
    wharf.aws("logs", "create-log-group", "--log-group-name", "/ecs/worker", cli=cli)
    wharf.aws("logs", "create-log-group", "--log-group-name", "other", cli=cli)

    groups = wharf.aws("logs", "describe-log-groups", cli=cli).json["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/ecs/web", "/ecs/worker", "other"]
    web = groups[0]
    assert web["arn"] == group_arn("/ecs/web") + ":*"
    assert abs(web["creationTime"] - now_ms()) < 60_000
    assert web["storedBytes"] == 0
    assert web["metricFilterCount"] == 0
    assert "retentionInDays" not in web
    if cli == "v1":
        # CLI v2 2.9's model predates these members (its parser drops them).
        assert web["logGroupArn"] == group_arn("/ecs/web")
        assert web["logGroupClass"] == "STANDARD"

    prefixed = wharf.aws("logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/", cli=cli).json
    assert [g["logGroupName"] for g in prefixed["logGroups"]] == ["/ecs/web", "/ecs/worker"]
    pattern = wharf.aws("logs", "describe-log-groups", "--log-group-name-pattern", "work", cli=cli).json
    assert [g["logGroupName"] for g in pattern["logGroups"]] == ["/ecs/worker"]

    wharf.aws_error(
        "ResourceAlreadyExistsException",
        "logs", "create-log-group", "--log-group-name", "/ecs/web", cli=cli,
    )
    wharf.aws_error(
        "InvalidParameterException",
        "logs", "create-log-group", "--log-group-name", "bad name with spaces", cli=cli,
    )

    wharf.aws("logs", "delete-log-group", "--log-group-name", "/ecs/worker", cli=cli)
    result = wharf.aws_error(
        "ResourceNotFoundException",
        "logs", "delete-log-group", "--log-group-name", "/ecs/worker", cli=cli,
    )
    assert "The specified log group does not exist." in result.stderr
    names = wharf.aws("logs", "describe-log-groups", "--query", "logGroups[].logGroupName", cli=cli).json
    assert names == ["/ecs/web", "other"]


def test_describe_log_groups_paginates(wharf):
    logs = wharf.boto3_client("logs")
    names = [f"/app/g{i:02d}" for i in range(57)]
    for n in names:
        logs.create_log_group(logGroupName=n)
    first = logs.describe_log_groups(limit=50)
    assert len(first["logGroups"]) == 50 and first.get("nextToken")
    pages = logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix="/app/", PaginationConfig={"PageSize": 10}
    )
    seen = [g["logGroupName"] for page in pages for g in page["logGroups"]]
    assert seen == names
    # The CLI pages through everything by itself.
    listed = wharf.aws("logs", "describe-log-groups", "--query", "logGroups[].logGroupName").json
    assert listed == names
    with pytest.raises(ClientError) as err:
        logs.describe_log_groups(limit=51)
    assert error_code(err) == "InvalidParameterException"


def test_retention_policy_values(wharf, cli):
    wharf.aws("logs", "create-log-group", "--log-group-name", "/r", cli=cli)
    wharf.aws("logs", "put-retention-policy", "--log-group-name", "/r", "--retention-in-days", "14", cli=cli)
    group = wharf.aws("logs", "describe-log-groups", cli=cli).json["logGroups"][0]
    assert group["retentionInDays"] == 14
    for bad in ["2", "0", "4000"]:
        result = wharf.aws_error(
            "InvalidParameterException",
            "logs", "put-retention-policy", "--log-group-name", "/r", "--retention-in-days", bad, cli=cli,
        )
        assert "retentionInDays" in result.stderr
    wharf.aws_error(
        "ResourceNotFoundException",
        "logs", "put-retention-policy", "--log-group-name", "/missing", "--retention-in-days", "7", cli=cli,
    )
    wharf.aws("logs", "delete-retention-policy", "--log-group-name", "/r", cli=cli)
    group = wharf.aws("logs", "describe-log-groups", cli=cli).json["logGroups"][0]
    assert "retentionInDays" not in group


def test_retention_hides_expired_events(wharf):
    logs = wharf.boto3_client("logs")
    logs.create_log_group(logGroupName="/ret")
    logs.create_log_stream(logGroupName="/ret", logStreamName="s")
    now = now_ms()
    logs.put_log_events(
        logGroupName="/ret", logStreamName="s",
        logEvents=[{"timestamp": now - 3 * DAY_MS, "message": "three days old"}],
    )
    logs.put_log_events(
        logGroupName="/ret", logStreamName="s",
        logEvents=[{"timestamp": now - 1000, "message": "fresh"}],
    )
    got = logs.get_log_events(logGroupName="/ret", logStreamName="s", startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["three days old", "fresh"]
    logs.put_retention_policy(logGroupName="/ret", retentionInDays=1)
    got = logs.get_log_events(logGroupName="/ret", logStreamName="s", startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["fresh"]
    filtered = logs.filter_log_events(logGroupName="/ret")
    assert [e["message"] for e in filtered["events"]] == ["fresh"]
    # Events past the retention period are now rejected as expired, not stored.
    out = logs.put_log_events(
        logGroupName="/ret", logStreamName="s",
        logEvents=[{"timestamp": now - 2 * DAY_MS, "message": "expired"}, {"timestamp": now, "message": "ok"}],
    )
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}


def test_tags_by_arn_and_by_name(wharf, cli):
    wharf.aws("logs", "create-log-group", "--log-group-name", "/tagged", "--tags", "a=1", cli=cli)
    arn = group_arn("/tagged")
    wharf.aws("logs", "tag-resource", "--resource-arn", arn, "--tags", "b=2,c=3", cli=cli)
    tags = wharf.aws("logs", "list-tags-for-resource", "--resource-arn", arn, cli=cli).json["tags"]
    assert tags == {"a": "1", "b": "2", "c": "3"}
    wharf.aws("logs", "untag-resource", "--resource-arn", arn, "--tag-keys", "a", "b", cli=cli)
    assert wharf.aws("logs", "list-tags-log-group", "--log-group-name", "/tagged", cli=cli).json["tags"] == {"c": "3"}
    wharf.aws("logs", "tag-log-group", "--log-group-name", "/tagged", "--tags", "d=4", cli=cli)
    wharf.aws("logs", "untag-log-group", "--log-group-name", "/tagged", "--tags", "c", cli=cli)
    assert wharf.aws("logs", "list-tags-for-resource", "--resource-arn", arn, cli=cli).json["tags"] == {"d": "4"}
    # Tagging takes the ARN without the trailing :* (the model's pattern has no '*').
    wharf.aws_error(
        "InvalidParameterException",
        "logs", "list-tags-for-resource", "--resource-arn", arn + ":*", cli=cli,
    )
    wharf.aws_error(
        "ResourceNotFoundException",
        "logs", "list-tags-for-resource", "--resource-arn", group_arn("/nope"), cli=cli,
    )


# ---------------------------------------------------------------------------------------
# Streams and events
# ---------------------------------------------------------------------------------------


def test_streams_put_and_get_events(wharf, cli):
    wharf.aws("logs", "create-log-group", "--log-group-name", "/app", cli=cli)
    wharf.aws("logs", "create-log-stream", "--log-group-name", "/app", "--log-stream-name", "web/1", cli=cli)
    wharf.aws_error(
        "ResourceAlreadyExistsException",
        "logs", "create-log-stream", "--log-group-name", "/app", "--log-stream-name", "web/1", cli=cli,
    )
    wharf.aws_error(
        "ResourceNotFoundException",
        "logs", "create-log-stream", "--log-group-name", "/nope", "--log-stream-name", "x", cli=cli,
    )
    wharf.aws_error(
        "InvalidParameterException",
        "logs", "create-log-stream", "--log-group-name", "/app", "--log-stream-name", "a:b", cli=cli,
    )

    base = now_ms() - 60_000
    events = [(base + i * 10, f'line {i}, with "quotes"') for i in range(25)]
    out = put_events(wharf, "/app", "web/1", events, cli=cli)
    assert re.fullmatch(r"\d+", out["nextSequenceToken"]), out
    assert "rejectedLogEventsInfo" not in out

    stream = wharf.aws("logs", "describe-log-streams", "--log-group-name", "/app", cli=cli).json["logStreams"][0]
    assert stream["logStreamName"] == "web/1"
    assert stream["arn"] == group_arn("/app") + ":log-stream:web/1"
    assert stream["firstEventTimestamp"] == base
    assert stream["lastEventTimestamp"] == base + 240
    assert abs(stream["lastIngestionTime"] - now_ms()) < 60_000
    assert stream["uploadSequenceToken"]

    # Default: the newest events (the tail), oldest first.
    tail = wharf.aws(
        "logs", "get-log-events", "--log-group-name", "/app", "--log-stream-name", "web/1", "--limit", "5", cli=cli
    ).json
    assert [e["message"] for e in tail["events"]] == [m for _, m in events[-5:]]
    assert TOKEN.fullmatch(tail["nextForwardToken"]) and tail["nextForwardToken"].startswith("f/")
    assert TOKEN.fullmatch(tail["nextBackwardToken"]) and tail["nextBackwardToken"].startswith("b/")
    event = tail["events"][-1]
    assert event["timestamp"] == events[-1][0] and "ingestionTime" in event

    head = wharf.aws(
        "logs", "get-log-events", "--log-group-name", "/app", "--log-stream-name", "web/1",
        "--start-from-head", "--limit", "10", cli=cli,
    ).json
    assert [e["message"] for e in head["events"]] == [m for _, m in events[:10]]

    # Walk forward with the token until the same token comes back.
    token, seen = head["nextForwardToken"], [e["message"] for e in head["events"]]
    for _ in range(10):
        page = wharf.aws(
            "logs", "get-log-events", "--log-group-name", "/app", "--log-stream-name", "web/1",
            "--start-from-head", "--limit", "10", "--next-token", token, cli=cli,
        ).json
        seen += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            assert page["events"] == []
            break
        token = page["nextForwardToken"]
    assert seen == [m for _, m in events]

    # The time window: startTime inclusive, endTime exclusive.
    window = wharf.aws(
        "logs", "get-log-events", "--log-group-name", "/app", "--log-stream-name", "web/1",
        "--start-time", str(base + 50), "--end-time", str(base + 100), "--start-from-head", cli=cli,
    ).json
    assert [e["timestamp"] for e in window["events"]] == [base + 50 + i * 10 for i in range(5)]

    wharf.aws_error(
        "ResourceNotFoundException",
        "logs", "get-log-events", "--log-group-name", "/app", "--log-stream-name", "missing", cli=cli,
    )
    wharf.aws("logs", "delete-log-stream", "--log-group-name", "/app", "--log-stream-name", "web/1", cli=cli)
    wharf.aws_error(
        "ResourceNotFoundException",
        "logs", "delete-log-stream", "--log-group-name", "/app", "--log-stream-name", "web/1", cli=cli,
    )
    assert wharf.aws("logs", "describe-log-streams", "--log-group-name", "/app", cli=cli).json["logStreams"] == []


def test_describe_log_streams_order(wharf):
    logs = wharf.boto3_client("logs")
    logs.create_log_group(logGroupName="/o")
    now = now_ms()
    for i, name in enumerate(["b", "a", "c"]):
        logs.create_log_stream(logGroupName="/o", logStreamName=name)
        logs.put_log_events(
            logGroupName="/o", logStreamName=name, logEvents=[{"timestamp": now - 1000 * (3 - i), "message": name}]
        )
    names = lambda r: [s["logStreamName"] for s in r["logStreams"]]  # noqa: E731
    assert names(logs.describe_log_streams(logGroupName="/o")) == ["a", "b", "c"]
    assert names(logs.describe_log_streams(logGroupName="/o", descending=True)) == ["c", "b", "a"]
    by_time = logs.describe_log_streams(logGroupName="/o", orderBy="LastEventTime", descending=True)
    assert names(by_time) == ["c", "a", "b"]
    pages = logs.get_paginator("describe_log_streams").paginate(
        logGroupName="/o", PaginationConfig={"PageSize": 1}
    )
    assert [s["logStreamName"] for p in pages for s in p["logStreams"]] == ["a", "b", "c"]
    with pytest.raises(ClientError) as err:
        logs.describe_log_streams(logGroupName="/o", orderBy="LastEventTime", logStreamNamePrefix="a")
    assert error_code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        logs.describe_log_streams(logGroupName="/missing")
    assert error_code(err) == "ResourceNotFoundException"


def test_put_log_events_batch_rules(wharf):
    logs = wharf.boto3_client("logs")
    logs.create_log_group(logGroupName="/b")
    logs.create_log_stream(logGroupName="/b", logStreamName="s")
    now = now_ms()

    with pytest.raises(ClientError) as err:
        logs.put_log_events(
            logGroupName="/b", logStreamName="s",
            logEvents=[{"timestamp": now, "message": "2"}, {"timestamp": now - 1, "message": "1"}],
        )
    assert error_code(err) == "InvalidParameterException"
    assert "chronological" in err.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as err:
        logs.put_log_events(
            logGroupName="/b", logStreamName="s",
            logEvents=[{"timestamp": now - DAY_MS - 60_000, "message": "a"}, {"timestamp": now, "message": "b"}],
        )
    assert error_code(err) == "InvalidParameterException"
    assert "24 hours" in err.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as err:
        logs.put_log_events(
            logGroupName="/b", logStreamName="s",
            logEvents=[{"timestamp": now, "message": "x" * 600_000}, {"timestamp": now, "message": "y" * 600_000}],
        )
    assert error_code(err) == "InvalidParameterException"

    # Too old and too new events are skipped and reported; the rest is stored.
    out = logs.put_log_events(
        logGroupName="/b", logStreamName="s", sequenceToken="ignored-anyway",
        logEvents=[
            {"timestamp": now - 15 * DAY_MS, "message": "too old"},
            {"timestamp": now - 10, "message": "kept 1"},
            {"timestamp": now, "message": "kept 2"},
            {"timestamp": now + 3 * 3600 * 1000, "message": "too new"},
        ],
    )
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 3}
    got = logs.get_log_events(logGroupName="/b", logStreamName="s")
    assert [e["message"] for e in got["events"]] == ["kept 1", "kept 2"]

    # A full batch: 10,000 events in one request.
    big = [{"timestamp": now, "message": f"e{i}"} for i in range(10_000)]
    logs.put_log_events(logGroupName="/b", logStreamName="s", logEvents=big)
    got = logs.get_log_events(logGroupName="/b", logStreamName="s", startFromHead=True)
    assert len(got["events"]) == 10_000
    assert got["events"][0]["message"] == "kept 1"

    with pytest.raises(ClientError) as err:
        logs.put_log_events(logGroupName="/b", logStreamName="nope", logEvents=[{"timestamp": now, "message": "x"}])
    assert error_code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        logs.put_log_events(logGroupName="/nope", logStreamName="s", logEvents=[{"timestamp": now, "message": "x"}])
    assert error_code(err) == "ResourceNotFoundException"


def test_filter_log_events(wharf, cli):
    wharf.aws("logs", "create-log-group", "--log-group-name", "/f", cli=cli)
    for s in ["api/1", "api/2", "worker/1"]:
        wharf.aws("logs", "create-log-stream", "--log-group-name", "/f", "--log-stream-name", s, cli=cli)
    base = now_ms() - 60_000
    put_events(wharf, "/f", "api/1", [(base + 0, "ERROR boom"), (base + 30, "INFO ok"), (base + 60, "ERROR again")], cli)
    put_events(wharf, "/f", "api/2", [(base + 10, "WARN slow"), (base + 40, "ERROR other stream")], cli)
    put_events(
        wharf, "/f", "worker/1",
        [(base + 20, '{"level": "ERROR", "ms": 12}'), (base + 50, '{"level": "INFO", "ms": 900}')],
        cli,
    )

    everything = wharf.aws("logs", "filter-log-events", "--log-group-name", "/f", cli=cli).json
    assert [e["timestamp"] for e in everything["events"]] == [base + i * 10 for i in range(7)]
    assert len({e["eventId"] for e in everything["events"]}) == 7
    assert {e["logStreamName"] for e in everything["events"]} == {"api/1", "api/2", "worker/1"}

    errors = wharf.aws(
        "logs", "filter-log-events", "--log-group-name", "/f", "--filter-pattern", "ERROR", cli=cli
    ).json["events"]
    assert [e["message"] for e in errors] == [
        "ERROR boom", '{"level": "ERROR", "ms": 12}', "ERROR other stream", "ERROR again",
    ]
    phrase = wharf.aws(
        "logs", "filter-log-events", "--log-group-name", "/f", "--filter-pattern", '"ERROR other"', cli=cli
    ).json["events"]
    assert [e["message"] for e in phrase] == ["ERROR other stream"]
    either = wharf.aws(
        "logs", "filter-log-events", "--log-group-name", "/f", "--filter-pattern", "?WARN ?INFO",
        "--log-stream-name-prefix", "api/", cli=cli,
    ).json["events"]
    assert [e["message"] for e in either] == ["WARN slow", "INFO ok"]
    json_pattern = wharf.aws(
        "logs", "filter-log-events", "--log-group-name", "/f", "--filter-pattern", "{ $.ms > 100 }", cli=cli
    ).json["events"]
    assert [e["message"] for e in json_pattern] == ['{"level": "INFO", "ms": 900}']
    named = wharf.aws(
        "logs", "filter-log-events", "--log-group-name", "/f", "--log-stream-names", "api/2", "worker/1",
        "--start-time", str(base + 20), "--end-time", str(base + 40), cli=cli,
    ).json["events"]
    assert [e["timestamp"] for e in named] == [base + 20, base + 40]

    # The CLI follows nextToken across small pages and sees every event exactly once.
    paged = wharf.aws(
        "logs", "filter-log-events", "--log-group-name", "/f", "--page-size", "2", cli=cli
    ).json["events"]
    assert [e["eventId"] for e in paged] == [e["eventId"] for e in everything["events"]]

    wharf.aws_error(
        "InvalidParameterException",
        "logs", "filter-log-events", "--log-group-name", "/f", "--filter-pattern", "{ $.level = ", cli=cli,
    )
    wharf.aws_error(
        "ResourceNotFoundException",
        "logs", "filter-log-events", "--log-group-name", "/nope", cli=cli,
    )


def test_log_group_identifier_arn(wharf):
    logs = wharf.boto3_client("logs")
    logs.create_log_group(logGroupName="/id")
    logs.create_log_stream(logGroupName="/id", logStreamName="s")
    logs.put_log_events(logGroupName="/id", logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "hi"}])
    got = logs.get_log_events(logGroupIdentifier=group_arn("/id"), logStreamName="s")
    assert [e["message"] for e in got["events"]] == ["hi"]
    filtered = logs.filter_log_events(logGroupIdentifier=group_arn("/id"))
    assert [e["message"] for e in filtered["events"]] == ["hi"]
    streams = logs.describe_log_streams(logGroupIdentifier="/id")
    assert [s["logStreamName"] for s in streams["logStreams"]] == ["s"]
    with pytest.raises(ClientError) as err:
        logs.get_log_events(logGroupName="/id", logGroupIdentifier="/id", logStreamName="s")
    assert error_code(err) == "InvalidParameterException"


# ---------------------------------------------------------------------------------------
# aws logs tail (CLI v2 only)
# ---------------------------------------------------------------------------------------


def test_logs_tail_since(wharf):
    logs = wharf.boto3_client("logs")
    logs.create_log_group(logGroupName="/tail")
    for s in ["a", "b"]:
        logs.create_log_stream(logGroupName="/tail", logStreamName=s)
    now = now_ms()
    logs.put_log_events(
        logGroupName="/tail", logStreamName="a",
        logEvents=[
            {"timestamp": now - 20 * 60_000, "message": "twenty minutes ago"},
            {"timestamp": now - 2 * 60_000, "message": "two minutes ago"},
            {"timestamp": now - 30_000, "message": "thirty seconds ago"},
        ],
    )
    logs.put_log_events(
        logGroupName="/tail", logStreamName="b",
        logEvents=[{"timestamp": now - 60_000, "message": "one minute ago"}],
    )
    out = wharf.aws("logs", "tail", "/tail", "--since", "5m", cli="v2").stdout
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert lines[0].endswith(" a two minutes ago")
    assert lines[1].endswith(" b one minute ago")
    assert lines[2].endswith(" a thirty seconds ago")
    short = wharf.aws("logs", "tail", "/tail", "--since", "1h", "--format", "short", "--filter-pattern", "ago", cli="v2")
    assert len(short.stdout.splitlines()) == 4
    wharf.aws_error("ResourceNotFoundException", "logs", "tail", "/missing", cli="v2")


def test_logs_tail_follow_sees_new_lines(wharf):
    logs = wharf.boto3_client("logs")
    logs.create_log_group(logGroupName="/follow")
    logs.create_log_stream(logGroupName="/follow", logStreamName="s")
    logs.put_log_events(
        logGroupName="/follow", logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "before start"}]
    )
    argv = [
        str(AWS_CLI["v2"]), "logs", "tail", "/follow", "--follow", "--format", "short",
        "--endpoint-url", wharf.endpoint, "--region", DEFAULT_REGION,
    ]
    # The CLI writes each event to a block-buffered stdout when it is a pipe.
    env = {**wharf.cli_env(), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=wharf.work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    seen = threading.Condition()

    def reader():
        assert proc.stdout is not None
        for line in proc.stdout:
            with seen:
                lines.append(line.rstrip("\n"))
                seen.notify_all()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()

    def wait_for(text: str, deadline_s: float) -> bool:
        end = time.monotonic() + deadline_s
        with seen:
            while not any(text in line for line in lines):
                left = end - time.monotonic()
                if left <= 0 or proc.poll() is not None:
                    return False
                seen.wait(timeout=min(left, 0.5))
            return True

    try:
        assert wait_for("before start", 30), f"tail --follow printed {lines!r}"
        logs.put_log_events(
            logGroupName="/follow", logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "after start"}]
        )
        # The CLI polls every 5 s.
        assert wait_for("after start", 30), f"tail --follow printed {lines!r}"
        assert sum("before start" in line for line in lines) == 1, lines
    finally:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        thread.join(timeout=5)
    errors = proc.stderr.read() if proc.stderr else ""
    assert "Traceback" not in errors, errors


def test_get_log_events_boto3_token_semantics(wharf):
    logs = wharf.boto3_client("logs")
    logs.create_log_group(logGroupName="/tok")
    logs.create_log_stream(logGroupName="/tok", logStreamName="s")
    empty = logs.get_log_events(logGroupName="/tok", logStreamName="s")
    assert empty["events"] == []
    assert TOKEN.fullmatch(empty["nextForwardToken"]) and TOKEN.fullmatch(empty["nextBackwardToken"])
    now = now_ms()
    logs.put_log_events(
        logGroupName="/tok", logStreamName="s",
        logEvents=[{"timestamp": now - 100 + i, "message": f"m{i}"} for i in range(7)],
    )
    # Backward from the tail, three at a time, until the backward token repeats.
    page = logs.get_log_events(logGroupName="/tok", logStreamName="s", limit=3)
    seen = [e["message"] for e in page["events"]]
    assert seen == ["m4", "m5", "m6"]
    token = page["nextBackwardToken"]
    for _ in range(10):
        page = logs.get_log_events(logGroupName="/tok", logStreamName="s", limit=3, nextToken=token)
        seen = [e["message"] for e in page["events"]] + seen
        if page["nextBackwardToken"] == token:
            break
        token = page["nextBackwardToken"]
    assert seen == [f"m{i}" for i in range(7)]
    with pytest.raises(ClientError) as err:
        logs.get_log_events(logGroupName="/tok", logStreamName="s", nextToken="not-a-token")
    assert error_code(err) == "InvalidParameterException"
    # storedBytes of the group counts the messages.
    group = logs.describe_log_groups(logGroupNamePrefix="/tok")["logGroups"][0]
    assert group["storedBytes"] == 14
    assert json.dumps(group)  # plain JSON values only


# ---------------------------------------------------------------------------------------
# Metric filters
# ---------------------------------------------------------------------------------------


def test_metric_filters_count_events_into_cloudwatch(wharf, cli):
    """put-metric-filter as the AWS docs show it; the events that match become CloudWatch data
    points, at the events' own minute; describe / test / delete answer as AWS does."""
    group, stream = "/ecs/news-api", "app/web/1"
    wharf.aws("logs", "create-log-group", "--log-group-name", group, cli=cli)
    wharf.aws("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", stream, cli=cli)
    wharf.aws(
        "logs", "put-metric-filter", "--log-group-name", group, "--filter-name", "errors",
        "--filter-pattern", "ERROR",
        "--metric-transformations", "metricName=ErrorCount,metricNamespace=NewsApi,metricValue=1,defaultValue=0",
        cli=cli,
    )
    wharf.aws(
        "logs", "put-metric-filter", "--log-group-name", group, "--filter-name", "latency",
        "--filter-pattern", "{ $.latency > 0 }",
        "--metric-transformations",
        json.dumps([{"metricName": "Latency", "metricNamespace": "NewsApi", "metricValue": "$.latency",
                     "dimensions": {"Route": "$.route"}, "unit": "Milliseconds"}]),
        cli=cli,
    )
    described = wharf.aws("logs", "describe-metric-filters", "--log-group-name", group, cli=cli).json
    filters = {f["filterName"]: f for f in described["metricFilters"]}
    assert sorted(filters) == ["errors", "latency"]
    assert filters["errors"]["metricTransformations"] == [
        {"metricName": "ErrorCount", "metricNamespace": "NewsApi", "metricValue": "1", "defaultValue": 0.0}]
    assert filters["latency"]["metricTransformations"][0]["dimensions"] == {"Route": "$.route"}
    assert filters["errors"]["logGroupName"] == group and isinstance(filters["errors"]["creationTime"], int)
    by_metric = wharf.aws("logs", "describe-metric-filters", "--metric-name", "Latency",
                          "--metric-namespace", "NewsApi", cli=cli).json["metricFilters"]
    assert [f["filterName"] for f in by_metric] == ["latency"]
    prefixed = wharf.aws("logs", "describe-metric-filters", "--log-group-name", group,
                         "--filter-name-prefix", "err", cli=cli).json["metricFilters"]
    assert [f["filterName"] for f in prefixed] == ["errors"]

    minute = (now_ms() // 60_000 - 2) * 60_000
    put_events(wharf, group, stream, [
        (minute + 1_000, "ERROR db timeout"),
        (minute + 2_000, '{"latency": 120, "route": "/news"}'),
        (minute + 3_000, '{"latency": 80, "route": "/news"}'),
        (minute + 4_000, "ERROR again"),
        (minute + 5_000, "INFO fine"),
    ], cli=cli)

    cw = wharf.boto3_client("cloudwatch")
    start = minute // 1000 - 60

    def stats(name: str, dimensions: list[dict]) -> list[dict]:
        return cw.get_metric_statistics(
            Namespace="NewsApi", MetricName=name, Dimensions=dimensions, StartTime=start,
            EndTime=start + 600, Period=60, Statistics=["Sum", "SampleCount", "Average"])["Datapoints"]

    errors = stats("ErrorCount", [])
    assert len(errors) == 1, errors
    assert errors[0]["Sum"] == 2.0 and errors[0]["SampleCount"] == 5.0, errors
    latency = stats("Latency", [{"Name": "Route", "Value": "/news"}])
    assert len(latency) == 1 and latency[0]["Average"] == 100.0 and latency[0]["Unit"] == "Milliseconds", latency

    tested = wharf.aws(
        "logs", "test-metric-filter", "--filter-pattern", "[ip, user, status = 5*, bytes]",
        "--log-event-messages", "10.0.0.1 bob 503 1024", "10.0.0.2 ann 200 12", cli=cli,
    ).json
    assert tested["matches"] == [{
        "eventNumber": 1, "eventMessage": "10.0.0.1 bob 503 1024",
        "extractedValues": {"$ip": "10.0.0.1", "$user": "bob", "$status": "503", "$bytes": "1024"},
    }]

    logs = wharf.boto3_client("logs")
    with pytest.raises(ClientError) as e:
        logs.describe_metric_filters(filterNamePrefix="err")
    assert error_code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.put_metric_filter(logGroupName=group, filterName="bad", filterPattern="ERROR",
                               metricTransformations=[{"metricName": "M", "metricNamespace": "N",
                                                       "metricValue": "$nope"}])
    assert error_code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.put_metric_filter(logGroupName="/missing", filterName="x", filterPattern="",
                               metricTransformations=[{"metricName": "M", "metricNamespace": "N",
                                                       "metricValue": "1"}])
    assert error_code(e) == "ResourceNotFoundException"

    wharf.aws("logs", "delete-metric-filter", "--log-group-name", group, "--filter-name", "errors", cli=cli)
    with pytest.raises(ClientError) as e:
        logs.delete_metric_filter(logGroupName=group, filterName="errors")
    assert error_code(e) == "ResourceNotFoundException"
    assert "metric filter does not exist" in e.value.response["Error"]["Message"]
    left = wharf.aws("logs", "describe-metric-filters", "--log-group-name", group, cli=cli).json["metricFilters"]
    assert [f["filterName"] for f in left] == ["latency"]
