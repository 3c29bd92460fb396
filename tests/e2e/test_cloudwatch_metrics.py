"""CloudWatch metrics through the real AWS CLI v1 (JSON 1.0), v2 (query protocol) and boto3:
PutMetricData (values, values with counts, statistic sets, StorageResolution 1 and 60,
dimensions, units), GetMetricStatistics (the five statistics and pNN percentiles, periods,
unit filter, exact dimensions), GetMetricData (several MetricStat queries, metric math,
ReturnData, labels, ScanBy, MaxDatapoints pages), ListMetrics (namespace, metric name and
dimension filters, RecentlyActive, pages of 500), and the errors AWS answers for bad input.

Every value put is read back exactly. All tests share one server; each uses namespaces of its
own (per CLI), so they do not see each other's metrics.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import time

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID

_files = itertools.count()


def minute_start(minutes_ago: int) -> int:
    """Epoch seconds of the start of the minute `minutes_ago` minutes before this one."""
    now = int(time.time())
    return now - now % 60 - minutes_ago * 60


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(value) -> float:
    """A timestamp as the CLI prints it (epoch seconds or ISO 8601)."""
    if isinstance(value, (int, float)):
        return float(value)
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def put(w, cli: str, namespace: str, data: list[dict]):
    path = w.write_json(f"metric-data-{next(_files)}.json", data)
    return w.aws("cloudwatch", "put-metric-data", "--namespace", namespace, "--metric-data", path, cli=cli)


def put_error(w, cli: str, code: str | tuple[str, ...], namespace: str, data: list[dict]) -> str:
    path = w.write_json(f"metric-data-{next(_files)}.json", data)
    return w.aws_error(
        code, "cloudwatch", "put-metric-data", "--namespace", namespace, "--metric-data", path, cli=cli
    ).stderr


def dim_args(dims: list[tuple[str, str]]) -> list[str]:
    return [f"Name={n},Value={v}" for n, v in dims]


def statistics(w, cli, namespace, name, dims, start, end, period, *extra) -> list[dict]:
    args = ["cloudwatch", "get-metric-statistics", "--namespace", namespace, "--metric-name", name]
    if dims:
        args += ["--dimensions", *dim_args(dims)]
    args += ["--start-time", iso(start), "--end-time", iso(end), "--period", str(period), *extra]
    out = w.aws(*args, cli=cli).json
    assert out["Label"] == name
    return sorted(out["Datapoints"], key=lambda d: when(d["Timestamp"]))


WEB = [("Service", "web"), ("Az", "a")]


def web_dims() -> list[dict]:
    return [{"Name": n, "Value": v} for n, v in WEB]


# ---------------------------------------------------------------------------------------
# PutMetricData + GetMetricStatistics
# ---------------------------------------------------------------------------------------


def test_values_counts_and_statistic_sets_read_back_exactly(module_wharf, cli):
    w, ns = module_wharf, f"E2E/{cli}/Stats"
    t = minute_start(10)
    put(w, cli, ns, [
        {"MetricName": "Latency", "Dimensions": web_dims(), "Timestamp": iso(t + 5),
         "Values": [float(v) for v in range(1, 101)], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": web_dims(), "Timestamp": iso(t + 65),
         "Values": [10, 1000], "Counts": [9, 1], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": web_dims(), "Timestamp": iso(t + 125),
         "StatisticValues": {"SampleCount": 4, "Sum": 20, "Minimum": 2, "Maximum": 8}, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": web_dims(), "Timestamp": iso(t + 130),
         "Value": 6, "Unit": "Milliseconds"},
    ])
    dps = statistics(w, cli, ns, "Latency", WEB, t, t + 180, 60,
                     "--statistics", "Sum", "SampleCount", "Minimum", "Maximum", "Average")
    assert [when(d["Timestamp"]) for d in dps] == [t, t + 60, t + 120]
    got = [(d["SampleCount"], d["Sum"], d["Minimum"], d["Maximum"], d["Average"], d["Unit"]) for d in dps]
    assert got == [
        (100.0, 5050.0, 1.0, 100.0, 50.5, "Milliseconds"),
        (10.0, 1090.0, 10.0, 1000.0, 109.0, "Milliseconds"),
        (5.0, 26.0, 2.0, 8.0, 5.2, "Milliseconds"),
    ]
    # the dimensions in another order name the same metric; a subset names another one
    reordered = statistics(w, cli, ns, "Latency", list(reversed(WEB)), t, t + 180, 180, "--statistics", "Sum")
    assert [(when(d["Timestamp"]), d["Sum"]) for d in reordered] == [(t, 6166.0)]
    assert statistics(w, cli, ns, "Latency", WEB[:1], t, t + 180, 60, "--statistics", "Sum") == []

    # percentiles from the raw values; the statistic set has none (its samples differ)
    dps = statistics(w, cli, ns, "Latency", WEB, t, t + 180, 60, "--extended-statistics", "p50", "p90", "p99")
    assert dps[0]["ExtendedStatistics"] == {"p50": 50.0, "p90": 90.0, "p99": 99.0}
    assert dps[1]["ExtendedStatistics"] == {"p50": 10.0, "p90": 10.0, "p99": 1000.0}
    assert "p99" not in (dps[2].get("ExtendedStatistics") or {})
    assert "Sum" not in dps[0]

    # the unit filter: only data put with that unit
    assert statistics(w, cli, ns, "Latency", WEB, t, t + 180, 60, "--statistics", "Sum", "--unit", "Seconds") == []
    assert len(statistics(w, cli, ns, "Latency", WEB, t, t + 180, 60, "--statistics", "Sum", "--unit", "Milliseconds")) == 3


def test_high_resolution_points_and_short_periods(module_wharf, cli):
    w, ns = module_wharf, f"E2E/{cli}/HighRes"
    t = minute_start(5)
    put(w, cli, ns, [
        {"MetricName": "Queue", "Timestamp": iso(t + s), "Value": v, "StorageResolution": 1, "Unit": "Count"}
        for s, v in [(1, 1.0), (2, 2.0), (12, 4.0), (13, 8.0)]
    ])
    one = statistics(w, cli, ns, "Queue", [], t, t + 60, 1, "--statistics", "Sum")
    assert [(when(d["Timestamp"]) - t, d["Sum"]) for d in one] == [(1, 1.0), (2, 2.0), (12, 4.0), (13, 8.0)]
    ten = statistics(w, cli, ns, "Queue", [], t, t + 60, 10, "--statistics", "Sum", "Maximum")
    assert [(when(d["Timestamp"]) - t, d["Sum"], d["Maximum"]) for d in ten] == [(0, 3.0, 2.0), (10, 12.0, 8.0)]
    minute = statistics(w, cli, ns, "Queue", [], t, t + 60, 60, "--statistics", "SampleCount")
    assert [d["SampleCount"] for d in minute] == [4.0]

    # data starting more than 3 hours ago is only served in periods of whole minutes
    old = minute_start(5 * 60)
    put(w, cli, ns, [{"MetricName": "Old", "Timestamp": iso(old + 7), "Value": 5.0, "StorageResolution": 1}])
    assert statistics(w, cli, ns, "Old", [], old, old + 60, 1, "--statistics", "Sum") == []
    assert [(when(d["Timestamp"]), d["Sum"]) for d in
            statistics(w, cli, ns, "Old", [], old, old + 60, 60, "--statistics", "Sum")] == [(old, 5.0)]


def test_get_metric_statistics_errors(module_wharf, cli):
    w = module_wharf
    t = minute_start(10)
    base = ["cloudwatch", "get-metric-statistics", "--namespace", "E2E/x", "--metric-name", "M"]
    err = w.aws_error("InvalidParameterValue", *base, "--start-time", iso(t), "--end-time", iso(t + 600),
                      "--period", "7", "--statistics", "Sum", cli=cli)
    assert "Period" in err.stderr
    err = w.aws_error("InvalidParameterCombination", *base, "--start-time", iso(t - 86400), "--end-time", iso(t),
                      "--period", "1", "--statistics", "Sum", cli=cli)
    assert "You have requested up to 86400 datapoints, which exceeds the limit of 1440." in err.stderr
    err = w.aws_error("InvalidParameterCombination", *base, "--start-time", iso(t), "--end-time", iso(t + 60),
                      "--period", "60", cli=cli)
    assert "Must specify either Statistics or ExtendedStatistics" in err.stderr
    err = w.aws_error("InvalidParameterValue", *base, "--start-time", iso(t), "--end-time", iso(t + 60),
                      "--period", "60", "--extended-statistics", "p101", cli=cli)
    assert "p101" in err.stderr
    err = w.aws_error("InvalidParameterValue", *base, "--start-time", iso(t + 60), "--end-time", iso(t),
                      "--period", "60", "--statistics", "Sum", cli=cli)
    assert "StartTime must be less than" in err.stderr


# ---------------------------------------------------------------------------------------
# PutMetricData errors
# ---------------------------------------------------------------------------------------


def test_put_metric_data_errors(module_wharf, cli):
    w, ns = module_wharf, f"E2E/{cli}/Errors"
    now = time.time()
    ok = {"MetricName": "M", "Value": 1}
    stderr = put_error(w, cli, "InvalidParameterValue", "AWS/Mine", [ok])
    assert "The value AWS/Mine for parameter Namespace is invalid." in stderr
    stderr = put_error(w, cli, "InvalidParameterCombination", ns, [
        ok, {"MetricName": "M", "Value": 1, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}])
    assert ("The parameters MetricData.member.2.Value and MetricData.member.2.StatisticValues are mutually "
            "exclusive and you have specified both.") in stderr
    # every member's problems of the first kind found, one per line
    stderr = put_error(w, cli, "InvalidParameterValue", ns, [
        {"MetricName": "M", "Values": [1, 2], "Counts": [1]},
        {"MetricName": "M", "Values": list(range(151))},
        {"MetricName": "M", "Value": 1, "StorageResolution": 5},
        {"MetricName": "M", "Value": 1, "Timestamp": iso(now - 15 * 86400)},
        {"MetricName": "M", "Value": 1, "Timestamp": iso(now + 3 * 3600)},
        ok,
    ])
    assert stderr.strip().endswith(
        "The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size.\n"
        "The collection MetricData.member.2.Values must not have a size greater than 150.\n"
        "The value 5 for parameter MetricData.member.3.StorageResolution is invalid.\n"
        "The parameter MetricData.member.4.Timestamp must specify a time within the past two weeks.\n"
        "The parameter MetricData.member.5.Timestamp must specify a time no more than two hours in the future."
    )
    # the model's own constraints (at most 30 dimensions) are checked by the wire layer first,
    # in the Smithy wording (ValidationError)
    dims = [{"Name": f"d{i}", "Value": "v"} for i in range(31)]
    stderr = put_error(w, cli, ("InvalidParameterValue", "ValidationError"), ns,
                       [{"MetricName": "M", "Value": 1, "Dimensions": dims}])
    assert "30" in stderr and "Dimensions" in stderr
    stderr = put_error(w, cli, "InvalidParameterValue", ns, [{"MetricName": "M", "Value": 1, "StorageResolution": 5}])
    assert "The value 5 for parameter MetricData.member.1.StorageResolution is invalid." in stderr
    # Unit is an enum of the model: the wire layer refuses other values first
    stderr = put_error(w, cli, ("InvalidParameterValue", "ValidationError"), ns,
                       [{"MetricName": "M", "Value": 1, "Unit": "Furlongs"}])
    assert "Furlongs" in stderr and "Unit" in stderr
    # (CLI v1 gzips a body this large: see test_compressed_put_metric_data)
    stderr = put_error(w, cli, "InvalidParameterValue", ns, [ok] * 1001)
    assert "The collection MetricData must not have a size greater than 1000." in stderr
    # nothing of a refused call was stored
    assert w.aws("cloudwatch", "list-metrics", "--namespace", ns, cli=cli).json["Metrics"] == []


# ---------------------------------------------------------------------------------------
# GetMetricData
# ---------------------------------------------------------------------------------------


def stat_query(qid: str, namespace: str, stat: str, **extra) -> dict:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": "Requests", "Dimensions": web_dims()},
            "Period": 60,
            "Stat": stat,
        },
        **extra,
    }


def put_requests(w, cli, ns) -> int:
    """Five minutes of Requests: minute i has the values i+1 and 2*(i+1) (sum 3*(i+1))."""
    t = minute_start(8)
    put(w, cli, ns, [
        {"MetricName": "Requests", "Dimensions": web_dims(), "Timestamp": iso(t + i * 60 + 10),
         "Values": [i + 1, 2 * (i + 1)], "Unit": "Count"}
        for i in range(5)
    ])
    return t


def by_id(results: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """Results by Id, the pages of a paginated call joined."""
    out: dict[str, list[tuple[float, float]]] = {}
    for r in results:
        out.setdefault(r["Id"], []).extend(zip((when(x) for x in r["Timestamps"]), r["Values"]))
    return out


def test_get_metric_data_queries_math_and_pages(module_wharf, cli):
    w, ns = module_wharf, f"E2E/{cli}/Data"
    t = put_requests(w, cli, ns)
    queries = [
        stat_query("m1", ns, "Sum"),
        stat_query("m2", ns, "SampleCount", ReturnData=False),
        {"Id": "avg", "Expression": "m1 / m2", "Label": "mean"},
        {"Id": "e2", "Expression": "(m1 + 1) * 2 - m2"},
        {"Id": "total", "Expression": "SUM(m1)"},
        {"Id": "e4", "Expression": "AVG(METRICS())"},
    ]
    path = w.write_json(f"queries-{next(_files)}.json", queries)
    args = ["cloudwatch", "get-metric-data", "--metric-data-queries", path,
            "--start-time", iso(t - 600), "--end-time", iso(t + 600)]
    out = w.aws(*args, "--scan-by", "TimestampAscending", cli=cli).json
    results = out["MetricDataResults"]
    assert [r["Id"] for r in results] == ["m1", "avg", "e2", "total", "e4"]
    assert [r["Label"] for r in results[:2]] == ["Requests", "mean"]
    assert all(r["StatusCode"] == "Complete" for r in results)
    series = by_id(results)
    minutes = [t + 60 * i for i in range(5)]
    assert series["m1"] == [(m, 3.0 * (i + 1)) for i, m in enumerate(minutes)]
    assert series["avg"] == [(m, 1.5 * (i + 1)) for i, m in enumerate(minutes)]
    assert series["e2"] == [(m, (3.0 * (i + 1) + 1) * 2 - 2) for i, m in enumerate(minutes)]
    assert series["total"] == [(m, 45.0) for m in minutes]
    assert series["e4"] == [(m, (3.0 * (i + 1) + 2) / 2) for i, m in enumerate(minutes)]

    # the default order is newest first; --page-size sets MaxDatapoints and the CLI follows
    # NextToken, joining the pages
    paged = w.aws(*args, "--page-size", "3", cli=cli).json["MetricDataResults"]
    assert by_id(paged)["m1"] == list(reversed(series["m1"]))
    assert by_id(paged)["total"] == list(reversed(series["total"]))
    assert len(paged) > len(results)


def test_get_metric_data_errors(module_wharf, cli):
    w, ns = module_wharf, f"E2E/{cli}/DataErrors"
    t = minute_start(5)

    def refused(queries: list[dict], code: str = "ValidationError") -> str:
        path = w.write_json(f"queries-{next(_files)}.json", queries)
        return w.aws_error(code, "cloudwatch", "get-metric-data", "--metric-data-queries", path,
                           "--start-time", iso(t - 600), "--end-time", iso(t), cli=cli).stderr

    assert "Error in expression e1: Unexpected end of expression." in refused(
        [stat_query("m1", ns, "Sum"), {"Id": "e1", "Expression": "m1 +"}])
    assert "Error in expression e1: Unknown function \"NOPE\"" in refused(
        [stat_query("m1", ns, "Sum"), {"Id": "e1", "Expression": "NOPE(m1)"}])
    assert "Error in expression e1: Unrecognized metric or expression id \"m9\"." in refused(
        [stat_query("m1", ns, "Sum"), {"Id": "e1", "Expression": "m1 * m9"}])
    assert "MetricDataQueries.member.1.Id" in refused([stat_query("M1", ns, "Sum")])
    assert "The value for parameter MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic." in refused(
        [stat_query("m1", ns, "Median")])
    assert "mutually exclusive" in refused([stat_query("m1", ns, "Sum", Expression="1")])
    assert "is not unique" in refused([stat_query("m1", ns, "Sum"), stat_query("m1", ns, "Sum")])


# ---------------------------------------------------------------------------------------
# ListMetrics
# ---------------------------------------------------------------------------------------


def names(metrics: list[dict]) -> list[str]:
    return sorted(m["MetricName"] for m in metrics)


def test_list_metrics_filters(module_wharf, cli):
    w, ns = module_wharf, f"E2E/{cli}/List"
    put(w, cli, ns, [
        {"MetricName": "CPU", "Dimensions": [{"Name": "Cluster", "Value": "c1"}, {"Name": "Service", "Value": "web"}], "Value": 1},
        {"MetricName": "CPU", "Dimensions": [{"Name": "Cluster", "Value": "c1"}], "Value": 1},
        {"MetricName": "Memory", "Dimensions": [{"Name": "Cluster", "Value": "c2"}], "Value": 1},
        {"MetricName": "Old", "Value": 1, "Timestamp": iso(time.time() - 5 * 3600)},
    ])
    base = ["cloudwatch", "list-metrics", "--namespace", ns]
    everything = w.aws(*base, cli=cli).json["Metrics"]
    assert names(everything) == ["CPU", "CPU", "Memory", "Old"]
    cpu_web = [m for m in everything if len(m.get("Dimensions", [])) == 2][0]
    assert cpu_web == {"Namespace": ns, "MetricName": "CPU", "Dimensions": [
        {"Name": "Cluster", "Value": "c1"}, {"Name": "Service", "Value": "web"}]}
    assert names(w.aws(*base, "--metric-name", "CPU", cli=cli).json["Metrics"]) == ["CPU", "CPU"]
    assert names(w.aws(*base, "--dimensions", "Name=Cluster,Value=c1", cli=cli).json["Metrics"]) == ["CPU", "CPU"]
    assert names(w.aws(*base, "--dimensions", "Name=Service", cli=cli).json["Metrics"]) == ["CPU"]
    assert names(w.aws(*base, "--dimensions", "Name=Cluster", cli=cli).json["Metrics"]) == ["CPU", "CPU", "Memory"]
    # RecentlyActive is about when data was last put, not the data points' timestamps
    assert names(w.aws(*base, "--recently-active", "PT3H", cli=cli).json["Metrics"]) == ["CPU", "CPU", "Memory", "Old"]
    # RecentlyActive is an enum of the model: the wire layer refuses other values
    w.aws_error(("InvalidParameterValue", "ValidationError"), *base, "--recently-active", "PT1H", cli=cli)


def test_list_metrics_pages_of_500(module_wharf):
    w, ns = module_wharf, "E2E/Pages"
    put(w, "v1", ns, [{"MetricName": f"M{i:03}", "Value": i} for i in range(501)])
    # both CLIs follow NextToken
    for cli in ("v1", "v2"):
        listed = w.aws("cloudwatch", "list-metrics", "--namespace", ns, cli=cli).json["Metrics"]
        assert names(listed) == [f"M{i:03}" for i in range(501)]
    cw = w.boto3_client("cloudwatch")
    first = cw.list_metrics(Namespace=ns)
    assert len(first["Metrics"]) == 500
    second = cw.list_metrics(Namespace=ns, NextToken=first["NextToken"])
    assert [m["MetricName"] for m in second["Metrics"]] == ["M500"]
    assert "NextToken" not in second
    linked = cw.list_metrics(Namespace=ns, MetricName="M007", IncludeLinkedAccounts=True)
    assert linked["OwningAccounts"] == [ACCOUNT_ID]


# ---------------------------------------------------------------------------------------
# boto3
# ---------------------------------------------------------------------------------------


def test_boto3_put_get_and_pages(module_wharf):
    w, ns = module_wharf, "E2E/boto3"
    cw = w.boto3_client("cloudwatch")
    t = minute_start(6)
    start = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": web_dims(), "Timestamp": start + dt.timedelta(seconds=60 * i + 1),
         "Values": [0.25 * (i + 1), 1.0], "Counts": [3, 1], "Unit": "Seconds", "StorageResolution": 60}
        for i in range(4)
    ])
    out = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=web_dims(),
                                   StartTime=start, EndTime=start + dt.timedelta(minutes=4),
                                   Period=60, Statistics=["Sum", "SampleCount", "Minimum", "Maximum"])
    dps = sorted(out["Datapoints"], key=lambda d: d["Timestamp"])
    assert [(d["SampleCount"], d["Sum"], d["Minimum"], d["Maximum"], d["Unit"]) for d in dps] == [
        (4.0, 0.75 * (i + 1) + 1.0, min(0.25 * (i + 1), 1.0), max(0.25 * (i + 1), 1.0), "Seconds") for i in range(4)
    ]
    pct = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=web_dims(),
                                   StartTime=start, EndTime=start + dt.timedelta(minutes=4),
                                   Period=240, ExtendedStatistics=["p75", "p99.9"])["Datapoints"]
    # 16 samples: 0.25 x3, 0.5 x3, 0.75 x3, 1.0 x7
    assert pct[0]["ExtendedStatistics"] == {"p75": 1.0, "p99.9": 1.0}
    pct = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=web_dims(),
                                   StartTime=start, EndTime=start + dt.timedelta(minutes=4),
                                   Period=240, ExtendedStatistics=["p50"])["Datapoints"]
    assert pct[0]["ExtendedStatistics"] == {"p50": 0.75}

    # MaxDatapoints pages, oldest first
    query = [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Latency", "Dimensions": web_dims()},
                                         "Period": 60, "Stat": "Maximum"}}]
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = cw.get_metric_data(MetricDataQueries=query, StartTime=start, EndTime=start + dt.timedelta(minutes=4),
                                  ScanBy="TimestampAscending", MaxDatapoints=3, **kwargs)
        pages += 1
        r = page["MetricDataResults"][0]
        assert r["StatusCode"] == ("PartialData" if "NextToken" in page else "Complete")
        seen += list(zip([x.timestamp() for x in r["Timestamps"]], r["Values"]))
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 2
    assert seen == [(t + 60 * i, 1.0) for i in range(4)]
    with pytest.raises(ClientError) as e:
        cw.get_metric_data(MetricDataQueries=query, StartTime=start, EndTime=start + dt.timedelta(minutes=4),
                           NextToken="not-a-token")
    assert e.value.response["Error"]["Code"] == "InvalidNextToken"


def test_nan_and_infinity_are_refused_as_aws_refuses_them(module_wharf):
    w = module_wharf
    for value in ("NaN", "Infinity"):
        err = w.aws_error("InvalidParameterValue", "cloudwatch", "put-metric-data", "--namespace", "E2E/nan",
                          "--metric-name", "M", "--value", value, cli="v2")
        assert "for parameter MetricData.member.1.Value is invalid." in err.stderr
    cw = w.boto3_client("cloudwatch")
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace="E2E/nan", MetricData=[{"MetricName": "M", "Value": math.nan}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "MetricData.member.1.Value" in e.value.response["Error"]["Message"]


def test_compressed_put_metric_data(module_wharf):
    w, ns = module_wharf, "E2E/Gzip"
    put(w, "v1", ns, [{"MetricName": f"Big{i:03}", "Value": i} for i in range(400)])
    assert len(w.aws("cloudwatch", "list-metrics", "--namespace", ns).json["Metrics"]) == 400


def test_boto3_refuses_reserved_namespaces_and_bad_math(module_wharf):
    cw = module_wharf.boto3_client("cloudwatch")
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace="AWS/ECS", MetricData=[{"MetricName": "CPUUtilization", "Value": 1}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert e.value.response["Error"]["Message"] == "The value AWS/ECS for parameter Namespace is invalid."
    with pytest.raises(ClientError) as e:
        cw.get_metric_data(MetricDataQueries=[{"Id": "e1", "Expression": "(1 +"}],
                           StartTime=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1),
                           EndTime=dt.datetime.now(dt.timezone.utc))
    assert e.value.response["Error"]["Code"] == "ValidationError"
