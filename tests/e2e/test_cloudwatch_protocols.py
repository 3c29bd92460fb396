"""CloudWatch over every protocol its pinned model lists (smithy-rpc-v2-cbor, json, query), with
the clients that speak each: AWS CLI v1 and boto3 (awsJson 1.0, botocore's first choice),
Debian's AWS CLI v2.9 (awsQuery: its model predates the list), and botocore's own Smithy RPC v2
CBOR serializer and parser (what the JavaScript v3, Go and Java SDKs speak), chosen by handing
a botocore session a copy of the CloudWatch model that lists only that protocol (a query-only
copy gives boto3 the query protocol too). The same calls must give the same results and the
same errors whatever the protocol (gzip-compressed PutMetricData bodies included), and the
answers must carry what each protocol promises (`x-amzn-query-error` for the query-compatible
errors, the Smithy headers for CBOR).

One server for the module; each test uses names of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time

import boto3
import botocore.parsers
import botocore.session
import pytest
from botocore.config import Config

from wharf_e2e import DEFAULT_REGION, send_http, sigv4_headers, unique_suffix

PROTOCOLS = ("json", "query", "smithy-rpc-v2-cbor")
SERVICE = "GraniteServiceVersion20100801"


class Wire:
    """The raw HTTP of a client's calls (botocore's before-send / after-call events)."""

    def __init__(self, client):
        self.requests = []
        self.responses = []
        client.meta.events.register("before-send.cloudwatch", self._sent)
        client.meta.events.register("after-call.cloudwatch", self._answered)

    def _sent(self, request, **_):
        self.requests.append(request)

    def _answered(self, http_response, **_):
        self.responses.append(http_response)

    @property
    def request(self):
        return self.requests[-1]

    @property
    def response(self):
        return self.responses[-1]


def cloudwatch(w, protocol: str | None = None):
    """A boto3 CloudWatch client of the module's server; with `protocol`, one whose botocore
    speaks only that protocol (its own serializer, signer and parser for it)."""
    session = botocore.session.Session()
    if protocol is not None:
        loader = session.get_component("data_loader")
        model = loader.load_service_model("cloudwatch", "service-2")
        model["metadata"]["protocols"] = [protocol]
        model["metadata"]["protocol"] = protocol
        root = w.work / f"botocore-models-{protocol}"
        version_dir = root / "cloudwatch" / model["metadata"]["apiVersion"]
        version_dir.mkdir(parents=True, exist_ok=True)
        (version_dir / "service-2.json").write_text(json.dumps(model))
        loader.search_paths.insert(0, str(root))
    access_key, secret_key = w.credentials
    client = boto3.session.Session(
        botocore_session=session,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=DEFAULT_REGION,
    ).client(
        "cloudwatch",
        endpoint_url=w.endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=60),
    )
    assert client.meta.service_model.resolved_protocol == (protocol or "json")
    return client


@pytest.fixture(scope="module")
def clients(module_wharf):
    """A boto3 client per protocol."""
    return {p: cloudwatch(module_wharf, p) for p in PROTOCOLS}


def cbor_document(body: bytes):
    """A CBOR body as botocore's CBOR parser reads it."""
    parser = botocore.parsers.RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def minute_start(minutes_ago: int) -> dt.datetime:
    now = int(time.time())
    return dt.datetime.fromtimestamp(now - now % 60 - minutes_ago * 60, dt.timezone.utc)


def as_utc(value) -> dt.datetime:
    """A timestamp as boto3 (datetime) or the CLIs show it (v1 prints what the wire carried:
    epoch seconds over json, ISO 8601 over query), in UTC."""
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(dt.timezone.utc)


def without_metadata(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def normal(value):
    """An answer with every datetime in UTC, so answers compare whatever zone botocore used."""
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------
# Which client speaks what
# ---------------------------------------------------------------------------------------


def test_each_client_speaks_the_protocol_it_should(module_wharf, clients):
    w = module_wharf
    v1 = w.aws("cloudwatch", "list-metrics", "--namespace", "None/Such", "--debug", cli="v1")
    assert f"'X-Amz-Target': '{SERVICE}.ListMetrics'" in v1.stderr
    assert "application/x-amz-json-1.0" in v1.stderr
    assert v1.json == {"Metrics": []}
    v2 = w.aws("cloudwatch", "list-metrics", "--namespace", "None/Such", "--debug", cli="v2")
    assert "'body': {'Action': 'ListMetrics', 'Version': '2010-08-01'" in v2.stderr
    assert v2.json == {"Metrics": []}
    assert cloudwatch(w).meta.service_model.resolved_protocol == "json"

    json_client = cloudwatch(w, "json")
    wire = Wire(json_client)
    json_client.list_metrics(Namespace="None/Such")
    assert wire.request.headers["X-Amz-Target"] == f"{SERVICE}.ListMetrics".encode()
    assert wire.response.headers["content-type"] == "application/x-amz-json-1.0"

    cbor = cloudwatch(w, "smithy-rpc-v2-cbor")
    wire = Wire(cbor)
    assert cbor.list_metrics(Namespace="None/Such")["Metrics"] == []
    assert wire.request.url.endswith(f"/service/{SERVICE}/operation/ListMetrics")
    assert wire.request.headers["smithy-protocol"] == b"rpc-v2-cbor"
    assert "X-Amz-Target" not in wire.request.headers
    assert wire.response.headers["content-type"] == "application/cbor"
    assert wire.response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert cbor_document(wire.response.content) == {"Metrics": []}


# ---------------------------------------------------------------------------------------
# The same results
# ---------------------------------------------------------------------------------------


def test_metrics_read_the_same_over_every_protocol(module_wharf, clients):
    """Each protocol writes the same points under its own dimension; every protocol reads every
    one back, and all readings agree, the CLIs' included."""
    w = module_wharf
    namespace = f"Protocols/{unique_suffix()}"
    start = minute_start(3)
    for writer, client in clients.items():
        client.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": "Latency",
                    "Dimensions": [{"Name": "Via", "Value": writer}],
                    "Timestamp": start + dt.timedelta(seconds=5),
                    "Values": [0.25, 1.5, 1024.125],
                    "Counts": [1, 2, 3],
                    "Unit": "Milliseconds",
                },
                {
                    "MetricName": "Latency",
                    "Dimensions": [{"Name": "Via", "Value": writer}],
                    "Timestamp": start + dt.timedelta(seconds=65),
                    "StatisticValues": {"SampleCount": 4, "Sum": 10.5, "Minimum": 0.5, "Maximum": 7},
                    "Unit": "Milliseconds",
                },
            ],
        )
    window = dict(StartTime=start, EndTime=start + dt.timedelta(minutes=3), Period=60)
    stats_args = dict(
        Namespace=namespace,
        MetricName="Latency",
        Statistics=["SampleCount", "Average", "Sum", "Minimum", "Maximum"],
        **window,
    )
    for writer in PROTOCOLS:
        dims = [{"Name": "Via", "Value": writer}]
        readings = {
            reader: normal(
                without_metadata(client.get_metric_statistics(Dimensions=dims, **stats_args))
            )
            for reader, client in clients.items()
        }
        first = readings["json"]
        points = sorted(first["Datapoints"], key=lambda d: d["Timestamp"])
        assert [(p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"]) for p in points] == [
            (6.0, 0.25 + 3.0 + 3072.375, 0.25, 1024.125),
            (4.0, 10.5, 0.5, 7.0),
        ], first
        for reader, reading in readings.items():
            reading["Datapoints"].sort(key=lambda d: d["Timestamp"])
            assert reading == {**first, "Datapoints": points}, (writer, reader)

        queries = [
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": "Latency", "Dimensions": dims},
                    "Period": 60,
                    "Stat": "Sum",
                },
            },
            {"Id": "doubled", "Expression": "m1 * 2", "Label": "twice"},
        ]
        data = {
            reader: normal(
                without_metadata(
                    client.get_metric_data(
                        MetricDataQueries=queries,
                        StartTime=window["StartTime"],
                        EndTime=window["EndTime"],
                        ScanBy="TimestampAscending",
                    )
                )
            )
            for reader, client in clients.items()
        }
        assert all(d == data["json"] for d in data.values()), data
        by_id = {r["Id"]: r for r in data["json"]["MetricDataResults"]}
        assert by_id["m1"]["Values"] == [3075.625, 10.5]
        assert by_id["doubled"]["Values"] == [6151.25, 21.0]

        # The CLIs (slow to start) read the points CBOR wrote, over json (v1) and query (v2).
        if writer == "smithy-rpc-v2-cbor":
            cli_args = [
                "cloudwatch", "get-metric-statistics", "--namespace", namespace,
                "--metric-name", "Latency", "--dimensions", f"Name=Via,Value={writer}",
                "--start-time", window["StartTime"].isoformat(),
                "--end-time", window["EndTime"].isoformat(), "--period", "60",
                "--statistics", "SampleCount", "Average", "Sum", "Minimum", "Maximum",
            ]  # fmt: skip
            for cli in ("v1", "v2"):
                out = w.aws(*cli_args, cli=cli).json
                got = sorted(
                    ({**p, "Timestamp": as_utc(p["Timestamp"])} for p in out["Datapoints"]),
                    key=lambda d: d["Timestamp"],
                )
                assert got == points, cli
                assert out["Label"] == "Latency"

    listings = {
        reader: sorted(
            (m["MetricName"], m["Dimensions"][0]["Value"])
            for m in client.list_metrics(Namespace=namespace)["Metrics"]
        )
        for reader, client in clients.items()
    }
    assert listings["json"] == [("Latency", p) for p in sorted(PROTOCOLS)]
    assert all(v == listings["json"] for v in listings.values())


def test_alarms_read_the_same_over_every_protocol(module_wharf, clients):
    """An alarm made through each protocol reads the same through every protocol; tagging (an
    empty answer), setting state and deleting (no answer at all) work through each."""
    suffix = unique_suffix()
    names = {p: f"proto-{p}-{suffix}" for p in PROTOCOLS}
    for maker, client in clients.items():
        client.put_metric_alarm(
            AlarmName=names[maker],
            AlarmDescription=f"made over {maker}",
            Namespace=f"Protocols/{suffix}",
            MetricName="Errors",
            Dimensions=[{"Name": "Via", "Value": maker}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=3,
            DatapointsToAlarm=2,
            Threshold=2.5,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=["arn:aws:sns:us-east-1:123456789012:ops"],
            Tags=[{"Key": "made-by", "Value": maker}],
        )
    every = list(names.values())
    views = {
        reader: normal(without_metadata(client.describe_alarms(AlarmNames=every)))
        for reader, client in clients.items()
    }
    alarms = {a["AlarmName"]: a for a in views["json"]["MetricAlarms"]}
    assert set(alarms) == set(every)
    assert alarms[names["smithy-rpc-v2-cbor"]]["Threshold"] == 2.5
    assert alarms[names["query"]]["AlarmDescription"] == "made over query"
    for reader, view in views.items():
        assert {a["AlarmName"]: a for a in view["MetricAlarms"]} == alarms, reader
        assert view["CompositeAlarms"] == views["json"]["CompositeAlarms"]

    for writer, client in clients.items():
        arn = alarms[names[writer]]["AlarmArn"]
        answer = client.tag_resource(ResourceARN=arn, Tags=[{"Key": "tagged-over", "Value": writer}])
        assert without_metadata(answer) == {}
        for reader, other in clients.items():
            tags = other.list_tags_for_resource(ResourceARN=arn)["Tags"]
            assert sorted((t["Key"], t["Value"]) for t in tags) == [
                ("made-by", writer),
                ("tagged-over", writer),
            ], (writer, reader)
        answer = client.set_alarm_state(
            AlarmName=names[writer], StateValue="ALARM", StateReason=f"set over {writer}"
        )
        assert without_metadata(answer) == {}

    # The alarms' evaluation may set them back at once; the history keeps each change.
    for writer in PROTOCOLS:
        histories = {
            reader: normal(
                client.describe_alarm_history(
                    AlarmName=names[writer], HistoryItemType="StateUpdate"
                )["AlarmHistoryItems"]
            )
            for reader, client in clients.items()
        }
        assert histories["json"], writer
        assert any(f"set over {writer}" in h["HistoryData"] for h in histories["json"]), histories
        assert all(h == histories["json"] for h in histories.values()), (writer, histories)

    for writer, client in clients.items():
        assert without_metadata(client.delete_alarms(AlarmNames=[names[writer]])) == {}
    for client in clients.values():
        assert client.describe_alarms(AlarmNames=every)["MetricAlarms"] == []


def test_compressed_put_metric_data_over_every_protocol(module_wharf, clients):
    """botocore gzips a PutMetricData body of 10 KiB or more (the operation's
    requestcompression trait), whatever the protocol; every point arrives."""
    namespace = f"Protocols/Gzip-{unique_suffix()}"
    for writer, client in clients.items():
        wire = Wire(client)
        client.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": f"Big{i:03}",
                    "Dimensions": [{"Name": "Via", "Value": writer}],
                    "Value": float(i),
                }
                for i in range(300)
            ],
        )
        assert wire.request.headers["Content-Encoding"] == b"gzip", writer
    for reader, client in clients.items():
        pages = client.get_paginator("list_metrics").paginate(Namespace=namespace)
        seen = {(m["MetricName"], m["Dimensions"][0]["Value"]) for p in pages for m in p["Metrics"]}
        assert seen == {(f"Big{i:03}", w) for i in range(300) for w in PROTOCOLS}, reader


# ---------------------------------------------------------------------------------------
# The same errors
# ---------------------------------------------------------------------------------------


ERRORS = [
    # (what, call, code botocore reports, exception class, HTTP status)
    (
        "missing alarm",
        lambda c: c.set_alarm_state(AlarmName="no-such-alarm", StateValue="OK", StateReason="x"),
        "ResourceNotFound",
        "ResourceNotFound",
        404,
    ),
    (
        "start after end",
        lambda c: c.get_metric_statistics(
            Namespace="N",
            MetricName="M",
            StartTime=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc),
            EndTime=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
            Period=60,
            Statistics=["Sum"],
        ),
        "InvalidParameterValue",
        "InvalidParameterValueException",
        400,
    ),
    (
        "not a statistic",
        lambda c: c.get_metric_statistics(
            Namespace="N",
            MetricName="M",
            StartTime=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
            EndTime=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc),
            Period=60,
            Statistics=["Bogus"],
        ),
        "ValidationError",
        "ClientError",
        400,
    ),
    (
        # botocore sends NaN as the text "NaN" (json, query) or a CBOR float: the service sees
        # a NaN whatever the protocol and refuses it as AWS does.
        "NaN value",
        lambda c: c.put_metric_data(
            Namespace="Protocols/NaN", MetricData=[{"MetricName": "M", "Value": math.nan}]
        ),
        "InvalidParameterValue",
        "InvalidParameterValueException",
        400,
    ),
    (
        "tags of a missing alarm",
        lambda c: c.list_tags_for_resource(
            ResourceARN="arn:aws:cloudwatch:us-east-1:123456789012:alarm:no-such-alarm"
        ),
        "ResourceNotFoundException",
        "ResourceNotFoundException",
        404,
    ),
]


@pytest.mark.parametrize("what,call,code,exception,status", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_the_same_over_every_protocol(module_wharf, clients, what, call, code, exception, status):
    seen = {}
    for protocol, client in clients.items():
        wire = Wire(client)
        with pytest.raises(Exception) as raised:
            call(client)
        err = raised.value
        assert type(err).__name__ == exception, (protocol, err)
        assert err.response["Error"]["Code"] == code, (protocol, err.response)
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == status, protocol
        seen[protocol] = err.response["Error"]["Message"]
        headers = wire.response.headers
        if protocol != "query":
            # What botocore reads the code from on a query-compatible service.
            assert headers["x-amzn-query-error"] == f"{code};Sender", protocol
        if protocol == "smithy-rpc-v2-cbor":
            assert headers["smithy-protocol"] == "rpc-v2-cbor"
            body = cbor_document(wire.response.content)
            assert body["__type"].startswith("com.amazonaws.cloudwatch#"), body
            assert body["message"] == seen[protocol]
    assert len(set(seen.values())) == 1, seen


def test_the_clis_report_the_same_codes(module_wharf):
    w = module_wharf
    for cli in ("v1", "v2"):
        w.aws_error(
            "ResourceNotFound",
            "cloudwatch", "set-alarm-state", "--alarm-name", "no-such-alarm",
            "--state-value", "OK", "--state-reason", "x",
            cli=cli,
        )  # fmt: skip
        w.aws_error(
            "InvalidParameterValue",
            "cloudwatch", "get-metric-statistics", "--namespace", "N", "--metric-name", "M",
            "--start-time", "2026-01-02T00:00:00Z", "--end-time", "2026-01-01T00:00:00Z",
            "--period", "60", "--statistics", "Sum",
            cli=cli,
        )  # fmt: skip


# ---------------------------------------------------------------------------------------
# CBOR on the wire
# ---------------------------------------------------------------------------------------


def test_cbor_answers_as_the_smithy_spec_says(module_wharf):
    cbor = cloudwatch(module_wharf, "smithy-rpc-v2-cbor")
    wire = Wire(cbor)
    cbor.put_metric_data(
        Namespace=f"Protocols/{unique_suffix()}",
        MetricData=[{"MetricName": "M", "Value": 1.0}],
    )
    # An operation without output: no body and so no content type; the protocol header always.
    answer = wire.response
    assert answer.status_code == 200
    assert answer.content == b""
    assert "content-type" not in answer.headers
    assert answer.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert wire.request.headers["Content-Type"] == b"application/cbor"

    with pytest.raises(cbor.exceptions.ResourceNotFound):
        cbor.set_alarm_state(AlarmName="no-such-alarm", StateValue="OK", StateReason="x")
    body = cbor_document(wire.response.content)
    assert body == {
        "__type": "com.amazonaws.cloudwatch#ResourceNotFound",
        "message": body["message"],
    }
    assert "no-such-alarm" in body["message"]
    assert wire.response.headers["content-type"] == "application/cbor"


def raw_cbor(w, operation: str, body: bytes, **extra_headers):
    path = f"/service/{SERVICE}/operation/{operation}"
    headers = {
        "Content-Type": "application/cbor",
        "Accept": "application/cbor",
        "smithy-protocol": "rpc-v2-cbor",
        **extra_headers,
    }
    access_key, secret_key = w.credentials
    signed = sigv4_headers(
        w.endpoint, "monitoring", DEFAULT_REGION, access_key, secret_key, body, headers, path=path
    )
    return send_http(w.endpoint, "POST", path, signed, body)


def test_hostile_cbor_is_refused_and_the_server_carries_on(module_wharf):
    w = module_wharf
    namespace_key = b"\x69Namespace"
    bodies = {
        "truncated": b"\xa1" + namespace_key + b"\x65Pro",
        "nested 50,000 deep": b"\xa1" + namespace_key + b"\x81" * 50_000 + b"\x01",
        "a 2^64-byte string announced": b"\xa1" + namespace_key + b"\x7b" + b"\xff" * 8,
        "trailing bytes": b"\xa0\x00",
        "not a map": b"\x80",
        "integer keys": b"\xa1\x01\x02",
    }
    for what, body in bodies.items():
        answer = raw_cbor(w, "ListMetrics", body)
        assert answer.status == 400, (what, answer.describe())
        assert answer.headers["smithy-protocol"] == "rpc-v2-cbor"
        error = cbor_document(answer.body)
        assert error["__type"] == "com.amazonaws.cloudwatch#SerializationException", (what, error)
    # A well-formed request on the same server still works.
    ok = raw_cbor(w, "ListMetrics", b"\xa1" + namespace_key + b"\x64None")
    assert ok.status == 200, ok.describe()
    assert cbor_document(ok.body) == {"Metrics": []}
    # X-Amz-Target beside a CBOR request makes it malformed (the spec: servers must refuse).
    refused = raw_cbor(w, "ListMetrics", b"\xa0", **{"X-Amz-Target": f"{SERVICE}.ListMetrics"})
    assert refused.status == 400
    assert cbor_document(refused.body)["__type"].endswith("#UnknownOperationException")
