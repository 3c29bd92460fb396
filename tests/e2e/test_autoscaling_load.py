"""Auto scaling that acts on real load (issue 17), end to end on the Docker Engine.

One wharf started with ``--metric-time-scale 0.05`` (AWS's 60-second metric period lasts 3 s,
and every interval derived from it with it: alarm periods, cooldowns, how often wharf publishes
its own metrics), one pushed test image, one cluster and one load balancer (``service_lab``).

- Seed 002's auto scaling step, its two commands exactly as written (``blog-cluster`` /
  ``blog-api``, min 2 / max 10, target tracking on ``ECSServiceAverageCPUUtilization`` at 60):
  CPU-heavy requests through the ALB (``GET /burn``) raise ``CPUUtilization``, the policy's
  AlarmHigh alarm fires, desiredCount grows (never above max), the new tasks are registered,
  healthy and answer; when the load stops the service goes back to its minimum through the
  AlarmLow alarm, with no failed request during scale-in (light traffic keeps flowing), and
  DescribeScalingActivities tells the story in AWS's words.
- The same with an ``ALBRequestCountPerTarget`` policy, driven by request volume alone.
- What ``get-metric-statistics`` shows matches what the test did: the ALB's RequestCount of a
  target group is exactly the number of requests the test sent through it; CPUUtilization is
  high under the burn load.

Every wait polls with a generous deadline; every load loop is bounded in requests and time.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest

from service_lab import Lab, Listener, Load, lb_get, own_lab
from wharf_e2e import wait_until

CLUSTER = "blog-cluster"
SERVICE = "blog-api"
# AWS's 60 s metric period lasts 3 s here.
TIME_SCALE = 0.05
SCALE_DEADLINE_S = 240.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory, module_docker, testapp_local_image):
    with own_lab(tmp_path_factory.mktemp("scaling-wharf"), module_docker, testapp_local_image, alb="blog-alb",
                 cluster=CLUSTER, extra_args=["--metric-time-scale", str(TIME_SCALE)]) as lab:
        yield lab


def scaling(lab: Lab):
    return lab.client("application-autoscaling")


def cloudwatch(lab: Lab):
    return lab.client("cloudwatch")


def desired(lab: Lab, name: str) -> int:
    return lab.describe(name)["desiredCount"]


def activities(lab: Lab, name: str) -> list[dict]:
    return scaling(lab).describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId=f"service/{CLUSTER}/{name}"
    )["ScalingActivities"]


def burn(port: int, host: str, stop: threading.Event, until: float, ms: int = 40) -> None:
    """CPU-heavy requests, back to back, until ``stop`` or ``until`` (monotonic)."""
    while not stop.is_set() and time.monotonic() < until:
        try:
            lb_get(port, host, f"/burn?ms={ms}")
        except OSError:
            time.sleep(0.1)


class BurnLoad:
    """``threads`` clients sending ``GET /burn`` through a listener, bounded in time."""

    def __init__(self, listener: Listener, host: str, threads: int = 4, max_seconds: float = 180.0):
        self.stop_event = threading.Event()
        until = time.monotonic() + max_seconds
        self.threads = [
            threading.Thread(target=burn, args=(listener.port, host, self.stop_event, until), daemon=True)
            for _ in range(threads)
        ]

    def __enter__(self) -> "BurnLoad":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=60)


def healthy_count(lab: Lab, listener: Listener) -> int:
    return len(lab.healthy_ips(listener.tg))


def wait_scaled_back(lab: Lab, name: str, listener: Listener, minimum: int) -> list:
    """Light traffic through the listener while the service scales back to ``minimum``; returns
    the answers (every one must be a 200)."""
    load = Load(listener.port, lab.lb_dns, threads=2, max_requests=20000,
                max_seconds=SCALE_DEADLINE_S, pause=0.05).start()
    try:
        lab.wait_service(name,
                         lambda s: s["desiredCount"] == minimum and s["runningCount"] == minimum,
                         f"scale-in back to {minimum}", deadline=SCALE_DEADLINE_S)
        wait_until(lambda: healthy_count(lab, listener) == minimum and all(
            h["State"] == "healthy" for h in lab.target_health(listener.tg).values()),
            "only the remaining tasks in the target group", deadline=60)
    finally:
        answers = load.stop()
    return answers


def test_seed_cpu_target_tracking_scales_out_under_load_and_back_in(lab: Lab):
    listener = lab.target_group("blog-tg")
    td = lab.register("blog-api", name="v1")
    lab.create_service(SERVICE, td, 2, listener)
    lab.wait_steady(SERVICE, listener, 2)

    # Seed 002's commands as written (the CLI v1; its endpoint and region are the lab's).
    w = lab.wharf
    w.aws("application-autoscaling", "register-scalable-target",
          "--service-namespace", "ecs",
          "--resource-id", "service/blog-cluster/blog-api",
          "--scalable-dimension", "ecs:service:DesiredCount",
          "--min-capacity", "2", "--max-capacity", "10")
    w.aws("application-autoscaling", "put-scaling-policy",
          "--service-namespace", "ecs",
          "--resource-id", "service/blog-cluster/blog-api",
          "--scalable-dimension", "ecs:service:DesiredCount",
          "--policy-name", "cpu-target",
          "--policy-type", "TargetTrackingScaling",
          "--target-tracking-scaling-policy-configuration", """{
      "TargetValue": 60.0,
      "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
      "ScaleOutCooldown": 30,
      "ScaleInCooldown": 120
    }""")
    policy = scaling(lab).describe_scaling_policies(ServiceNamespace="ecs", PolicyNames=["cpu-target"])[
        "ScalingPolicies"][0]
    alarm_names = sorted(a["AlarmName"] for a in policy["Alarms"])
    assert len(alarm_names) == 2 and all(
        n.startswith("TargetTracking-service/blog-cluster/blog-api-Alarm") for n in alarm_names), alarm_names

    # CPU-heavy load: the service grows, within max, and the new tasks serve.
    biggest = 2
    with BurnLoad(listener, lab.lb_dns):
        def grew(svc: dict) -> bool:
            nonlocal biggest
            biggest = max(biggest, svc["desiredCount"])
            return svc["desiredCount"] > 2
        lab.wait_service(SERVICE, grew, "desiredCount above 2 under CPU load", deadline=SCALE_DEADLINE_S)
        grown = desired(lab, SERVICE)
        assert 2 < grown <= 10
        lab.wait_service(SERVICE, lambda s: s["runningCount"] >= grown,
                         f"{grown} tasks running", deadline=SCALE_DEADLINE_S)
        wait_until(lambda: healthy_count(lab, listener) >= grown,
                   f"{grown} healthy targets", deadline=120)
        biggest = max(biggest, desired(lab, SERVICE))
    # The policy's AlarmHigh alarm went to ALARM, in AWS's words (it may be back to OK now that
    # the load is spread over more tasks).
    high = [n for n in alarm_names if "AlarmHigh" in n][0]
    history = cloudwatch(lab).describe_alarm_history(AlarmName=high, HistoryItemType="StateUpdate")[
        "AlarmHistoryItems"]
    to_alarm = [h for h in history if json.loads(h["HistoryData"])["newState"]["stateValue"] == "ALARM"]
    assert to_alarm, history
    assert json.loads(to_alarm[-1]["HistoryData"])["newState"]["stateReason"].startswith(
        "Threshold Crossed"), to_alarm[-1]

    # Every task answers (new ones included): distinct hostnames through the listener.
    hosts = set()
    for _ in range(60):
        hosts.add(lb_get(listener.port, lab.lb_dns, "/").host)
        if len(hosts) >= grown:
            break
    assert len(hosts) >= grown, hosts

    # CPUUtilization as CloudWatch reports it was high under load.
    now = dt.datetime.now(dt.timezone.utc)
    stats = cloudwatch(lab).get_metric_statistics(
        Namespace="AWS/ECS", MetricName="CPUUtilization",
        Dimensions=[{"Name": "ClusterName", "Value": CLUSTER}, {"Name": "ServiceName", "Value": SERVICE}],
        StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=1),
        Period=60, Statistics=["Maximum", "Average"],
    )["Datapoints"]
    assert stats and max(p["Maximum"] for p in stats) > 60, stats

    # Load off: back to the minimum through AlarmLow, without a failed request.
    answers = wait_scaled_back(lab, SERVICE, listener, 2)
    assert answers and not Load.failures(answers), Load.describe(answers)
    assert biggest <= 10

    acts = activities(lab, SERVICE)
    descriptions = [a["Description"] for a in acts]
    assert f"Setting desired count to {grown}." in descriptions, descriptions
    assert "Setting desired count to 2." in descriptions, descriptions
    out = [a for a in acts if a["Description"] == f"Setting desired count to {grown}."][0]
    assert out["StatusCode"] == "Successful", out
    assert "AlarmHigh" in out["Cause"] and "in state ALARM triggered policy cpu-target" in out["Cause"], out

    # Deleting the service deregisters its scalable target (and the policy's alarms go).
    lab.delete_and_wait(SERVICE)
    wait_until(lambda: not scaling(lab).describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{CLUSTER}/{SERVICE}"])["ScalableTargets"],
        "the scalable target of the deleted service deregistered", deadline=60)
    wait_until(lambda: not cloudwatch(lab).describe_alarms(AlarmNames=alarm_names)["MetricAlarms"],
               "the policy's alarms deleted", deadline=30)


def test_request_count_per_target_scales_on_traffic_and_counts_exactly(lab: Lab):
    listener = lab.target_group("rps-tg")
    td = lab.register("rps-api", name="rps")
    name = "rps-api"
    lab.create_service(name, td, 2, listener)
    lab.wait_steady(name, listener, 2)
    lb_arn, tg_arn = lab.lb_arn, listener.tg
    label = f"{lb_arn.split(':loadbalancer/', 1)[1]}/{tg_arn.split(':', 5)[5]}"
    resource = f"service/{CLUSTER}/{name}"
    scaling(lab).register_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2, MaxCapacity=4)
    scaling(lab).put_scaling_policy(
        ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount",
        PolicyName="rps-target", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 20.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": label},
            "ScaleOutCooldown": 30, "ScaleInCooldown": 60,
        })

    # Exactly N requests, counted by the ALB's RequestCount of this target group (only this
    # test's requests reach it; health checks are not requests). The window opens before the
    # target group existed (GetMetricStatistics rounds its start down to the minute anyway).
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    sent = 0
    for _ in range(150):
        assert lb_get(listener.port, lab.lb_dns, "/health").status == 200
        sent += 1
    dimensions = [
        {"Name": "TargetGroup", "Value": tg_arn.split(":", 5)[5]},
        {"Name": "LoadBalancer", "Value": lb_arn.split(":loadbalancer/", 1)[1]},
    ]

    def counted() -> float:
        points = cloudwatch(lab).get_metric_statistics(
            Namespace="AWS/ApplicationELB", MetricName="RequestCount",
            Dimensions=dimensions,
            StartTime=start, EndTime=start + dt.timedelta(minutes=15), Period=60, Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    wait_until(lambda: counted() >= sent, f"RequestCount to reach {sent}", deadline=60)
    assert counted() == sent

    # Request volume alone makes it grow to its max of 4 ...
    load = Load(listener.port, lab.lb_dns, threads=3, max_requests=100000, max_seconds=SCALE_DEADLINE_S,
                pause=0.0).start()
    try:
        lab.wait_service(name, lambda s: s["desiredCount"] > 2, "scale-out on request count",
                         deadline=SCALE_DEADLINE_S)
        lab.wait_service(name, lambda s: s["runningCount"] == s["desiredCount"] and s["desiredCount"] > 2,
                         "the new tasks running", deadline=SCALE_DEADLINE_S)
        assert desired(lab, name) <= 4
    finally:
        answers = load.stop()
    assert not Load.failures(answers), Load.describe(answers)

    # ... and back to 2 when it stops, no request failing on the way.
    answers = []
    load = Load(listener.port, lab.lb_dns, threads=1, max_requests=20000, max_seconds=SCALE_DEADLINE_S,
                pause=0.2).start()
    try:
        lab.wait_service(name, lambda s: s["desiredCount"] == 2 and s["runningCount"] == 2,
                         "scale-in back to 2", deadline=SCALE_DEADLINE_S)
    finally:
        answers = load.stop()
    assert answers and not Load.failures(answers), Load.describe(answers)
    assert any("rps-target" in a["Cause"] for a in activities(lab, name)), json.dumps(
        activities(lab, name), default=str)[:2000]
    lab.delete_and_wait(name)
