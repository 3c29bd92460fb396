"""The metrics wharf measures itself (issue 17, item 2), end to end on the Docker Engine.

One wharf with ``--metric-time-scale 0.05`` (AWS's 60-second metric period lasts 3 s, and wharf
publishes its own metrics that often), one pushed test image, a service of 2 tasks behind an
Application Load Balancer (``service_lab``):

- ``AWS/ApplicationELB``: N requests through the load balancer are counted exactly once:
  ``get-metric-statistics`` (AWS CLI v1 and v2) shows ``RequestCount`` Sum == N for the load
  balancer and for its target group, ``HTTPCode_Target_2XX_Count`` == N, a
  ``TargetResponseTime`` sample per request; ``HealthyHostCount`` == 2 and
  ``UnHealthyHostCount`` == 0 for the target group.
- ``AWS/ECS``: ``CPUUtilization`` and ``MemoryUtilization`` appear for the service
  (``ClusterName`` + ``ServiceName``) and the cluster, from the engine's stats of the running
  tasks, with sane values (a percentage, memory above 0 and at most 100 of the task's 512 MiB;
  two tasks per data point).

Every wait polls with a generous deadline; the request loop is bounded.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from service_lab import Lab, lb_get, own_lab
from wharf_e2e import wait_until

CLUSTER = "metrics-cluster"
SERVICE = "metrics-api"
TIME_SCALE = 0.05
REQUESTS = 120


@pytest.fixture(scope="module")
def lab(tmp_path_factory, module_docker, testapp_local_image):
    with own_lab(tmp_path_factory.mktemp("metrics-wharf"), module_docker, testapp_local_image, alb="metrics-alb",
                 cluster=CLUSTER, extra_args=["--metric-time-scale", str(TIME_SCALE)]) as lab:
        yield lab


def statistics(lab: Lab, cli: str, namespace: str, metric: str, dims: dict[str, str],
               start: dt.datetime, stats: list[str]) -> list[dict]:
    """``aws cloudwatch get-metric-statistics`` with CLI ``cli``, one-minute periods."""
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    out = lab.wharf.aws(
        "cloudwatch", "get-metric-statistics", "--namespace", namespace, "--metric-name", metric,
        "--dimensions", *[f"Name={k},Value={v}" for k, v in dims.items()],
        "--start-time", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--end-time", end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--period", "60", "--statistics", *stats, cli=cli)
    return json.loads(out.stdout)["Datapoints"]


def total(points: list[dict], field: str = "Sum") -> float:
    return sum(p[field] for p in points)


def test_the_load_balancer_and_the_tasks_publish_their_metrics(lab: Lab):
    listener = lab.target_group("metrics-tg")
    td = lab.register("metrics-api")
    lab.create_service(SERVICE, td, 2, listener)
    lab.wait_steady(SERVICE, listener, 2)
    lb_dim = lab.lb_arn.split(":loadbalancer/", 1)[1]
    tg_dim = listener.tg.split(":", 5)[5]
    assert lb_dim.startswith("app/metrics-alb/") and tg_dim.startswith("targetgroup/metrics-tg/")

    # Exactly REQUESTS requests through the load balancer (health checks are not requests; a
    # data point is stamped with the start of the period it describes, so the window opens
    # one period before the first request).
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=60 * TIME_SCALE + 1)
    for _ in range(REQUESTS):
        assert lb_get(listener.port, lab.lb_dns, "/").status == 200
    by_lb = {"LoadBalancer": lb_dim}
    by_group = {"TargetGroup": tg_dim, "LoadBalancer": lb_dim}

    wait_until(lambda: total(statistics(lab, "v1", "AWS/ApplicationELB", "RequestCount", by_lb, start,
                                        ["Sum"])) >= REQUESTS,
               f"RequestCount to reach {REQUESTS}", deadline=60)
    # A few more periods: nothing is counted twice, and both CLIs read the same.
    cw = lab.client("cloudwatch")
    wait_until(lambda: len(cw.get_metric_statistics(
        Namespace="AWS/ApplicationELB", MetricName="HealthyHostCount",
        Dimensions=[{"Name": k, "Value": v} for k, v in by_group.items()],
        StartTime=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=60 * TIME_SCALE * 3),
        EndTime=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1),
        Period=60, Statistics=["Maximum"])["Datapoints"]) >= 1,
        "HealthyHostCount published every period", deadline=30)
    for cli in ("v1", "v2"):
        assert total(statistics(lab, cli, "AWS/ApplicationELB", "RequestCount", by_lb, start,
                                ["Sum"])) == REQUESTS, cli
    assert total(statistics(lab, "v2", "AWS/ApplicationELB", "RequestCount", by_group, start,
                            ["Sum"])) == REQUESTS
    assert total(statistics(lab, "v1", "AWS/ApplicationELB", "HTTPCode_Target_2XX_Count", by_lb,
                            start, ["Sum"])) == REQUESTS
    assert not statistics(lab, "v1", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", by_lb,
                          start, ["Sum"]), "no 5XX: no data point at all"
    times = statistics(lab, "v1", "AWS/ApplicationELB", "TargetResponseTime", by_group, start,
                       ["SampleCount", "Maximum"])
    assert total(times, "SampleCount") == REQUESTS, times
    assert all(0 < p["Maximum"] < 5 for p in times), times
    # (A one-minute bucket may also hold the periods before the targets passed their checks.)
    healthy = statistics(lab, "v1", "AWS/ApplicationELB", "HealthyHostCount", by_group, start,
                         ["Maximum"])
    latest = max(healthy, key=lambda p: p["Timestamp"])
    assert latest["Maximum"] == 2, healthy
    unhealthy = statistics(lab, "v1", "AWS/ApplicationELB", "UnHealthyHostCount", by_group, start,
                           ["Maximum"])
    assert unhealthy and all(p["Maximum"] == 0 for p in unhealthy), unhealthy

    # The tasks' utilization, from the engine's stats: both tasks in each service data point.
    by_service = {"ClusterName": CLUSTER, "ServiceName": SERVICE}

    def utilization(metric: str, dims: dict[str, str]) -> list[dict]:
        return statistics(lab, "v2", "AWS/ECS", metric, dims, start,
                          ["SampleCount", "Average", "Minimum", "Maximum"])

    wait_until(lambda: any(p["SampleCount"] >= 2 for p in utilization("MemoryUtilization", by_service)),
               "MemoryUtilization of both tasks", deadline=60)
    memory = utilization("MemoryUtilization", by_service)
    assert all(0 < p["Minimum"] <= p["Maximum"] <= 100 for p in memory), memory
    cpu = utilization("CPUUtilization", by_service)
    assert cpu and all(0 <= p["Minimum"] <= p["Maximum"] < 400 for p in cpu), cpu
    assert any(p["SampleCount"] >= 2 for p in cpu), cpu
    cluster = utilization("CPUUtilization", {"ClusterName": CLUSTER})
    assert cluster and any(p["SampleCount"] >= 2 for p in cluster), cluster
    for p in cpu + memory:
        assert p["Unit"] == "Percent", p
