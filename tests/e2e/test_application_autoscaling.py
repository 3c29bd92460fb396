"""Application Auto Scaling for ECS services through the real AWS CLI (v1 and v2) and boto3:
scalable targets, target-tracking and step scaling policies with the alarms AWS creates for
them, alarm invocations that change a service's desiredCount, scheduled actions, scaling
activities in AWS's words, tags, every error a user meets, and the deregistration of a deleted
service's target.

One wharf for the module, started with ``--metric-time-scale 0.05`` (AWS's 60-second periods
last 3 s: alarm periods, cooldowns, the scaling loop). The services are EC2 launch type ones:
wharf has no container instances, so they keep their desiredCount without running a task (the
scaling under real load, with Docker, is test_autoscaling_load.py). Seed 002's two commands
run exactly as written.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID, DEFAULT_REGION, Wharf, wait_until, wharf_binary

CLUSTER = "blog-cluster"
DIM = "ecs:service:DesiredCount"
TIME_SCALE = 0.05
SEED_POLICY = """{
      "TargetValue": 60.0,
      "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
      "ScaleOutCooldown": 30,
      "ScaleInCooldown": 120
    }"""


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    wharf = Wharf(wharf_binary(), tmp_path_factory.mktemp("autoscaling-wharf"),
                  ["--metric-time-scale", str(TIME_SCALE)])
    try:
        wharf.aws("ecs", "create-cluster", "--cluster-name", CLUSTER)
        wharf.aws("ecs", "register-task-definition", "--family", "blog",
                  "--container-definitions",
                  json.dumps([{"name": "app", "image": "busybox", "memory": 16, "command": ["sleep", "600"]}]))
        yield wharf
    finally:
        wharf.stop()


def make_service(w: Wharf, name: str, desired: int = 2) -> str:
    """An EC2 service of ``desired`` tasks (none ever placed); its resource id."""
    w.boto3_client("ecs").create_service(cluster=CLUSTER, serviceName=name, taskDefinition="blog",
                                         desiredCount=desired)
    return f"service/{CLUSTER}/{name}"


def desired(w: Wharf, name: str) -> int:
    return w.boto3_client("ecs").describe_services(cluster=CLUSTER, services=[name])[
        "services"][0]["desiredCount"]


def scaling(w: Wharf):
    return w.boto3_client("application-autoscaling")


def register(w: Wharf, resource: str, min_capacity: int = 1, max_capacity: int = 5, **extra):
    return scaling(w).register_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIM,
        MinCapacity=min_capacity, MaxCapacity=max_capacity, **extra)


def activities(w: Wharf, resource: str, **extra) -> list[dict]:
    return scaling(w).describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIM, **extra)["ScalingActivities"]


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as excinfo:
        call()
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def target_tracking(w: Wharf, resource: str, name: str, config: dict) -> dict:
    return scaling(w).put_scaling_policy(
        PolicyName=name, ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIM,
        PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration=config)


# ---------------------------------------------------------------------------------------
# Seed 002
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_service(w):
    return make_service(w, "blog-api")


def test_seed_002_auto_scaling_step_as_written(w, seed_service, cli):
    register = w.aws("application-autoscaling", "register-scalable-target",
                     "--service-namespace", "ecs",
                     "--resource-id", "service/blog-cluster/blog-api",
                     "--scalable-dimension", "ecs:service:DesiredCount",
                     "--min-capacity", "2", "--max-capacity", "10", cli=cli).json
    # CLI v2 2.9's model predates ScalableTargetARN (it prints nothing); v1's shows it.
    target_arn = (register or {}).get("ScalableTargetARN")
    if cli == "v1":
        assert target_arn.startswith(f"arn:aws:application-autoscaling:{DEFAULT_REGION}:{ACCOUNT_ID}:scalable-target/")
        assert len(target_arn.rsplit("/", 1)[1]) == 36
    policy = w.aws("application-autoscaling", "put-scaling-policy",
                   "--service-namespace", "ecs",
                   "--resource-id", "service/blog-cluster/blog-api",
                   "--scalable-dimension", "ecs:service:DesiredCount",
                   "--policy-name", "cpu-target",
                   "--policy-type", "TargetTrackingScaling",
                   "--target-tracking-scaling-policy-configuration", SEED_POLICY, cli=cli).json
    assert policy["PolicyARN"].startswith(f"arn:aws:autoscaling:{DEFAULT_REGION}:{ACCOUNT_ID}:scalingPolicy:")
    assert policy["PolicyARN"].endswith(":resource/ecs/service/blog-cluster/blog-api:policyName/cpu-target")
    names = sorted(a["AlarmName"] for a in policy["Alarms"])
    assert [n.rsplit("-", 5)[0] for n in names] == [
        "TargetTracking-service/blog-cluster/blog-api-AlarmHigh",
        "TargetTracking-service/blog-cluster/blog-api-AlarmLow",
    ], names
    for a in policy["Alarms"]:
        assert a["AlarmARN"] == f"arn:aws:cloudwatch:{DEFAULT_REGION}:{ACCOUNT_ID}:alarm:{a['AlarmName']}"

    target = w.aws("application-autoscaling", "describe-scalable-targets", "--service-namespace", "ecs",
                   "--resource-ids", "service/blog-cluster/blog-api", cli=cli).json["ScalableTargets"]
    assert len(target) == 1
    t = target[0]
    assert (t["MinCapacity"], t["MaxCapacity"], t.get("ScalableTargetARN")) == (2, 10, target_arn)
    assert t["RoleARN"] == (
        f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_ECSService")
    assert t["SuspendedState"] == {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                                   "ScheduledScalingSuspended": False}

    described = w.aws("application-autoscaling", "describe-scaling-policies", "--service-namespace", "ecs",
                      "--resource-id", "service/blog-cluster/blog-api",
                      "--scalable-dimension", "ecs:service:DesiredCount", cli=cli).json["ScalingPolicies"]
    assert [p["PolicyName"] for p in described] == ["cpu-target"]
    assert described[0]["PolicyType"] == "TargetTrackingScaling"
    assert described[0]["TargetTrackingScalingPolicyConfiguration"] == json.loads(SEED_POLICY)
    assert sorted(a["AlarmName"] for a in described[0]["Alarms"]) == names

    # The alarms, as AWS creates them.
    alarms = {a["AlarmName"]: a for a in w.aws("cloudwatch", "describe-alarms", "--alarm-names", *names,
                                               cli=cli).json["MetricAlarms"]}
    high = alarms[names[0]]
    low = alarms[names[1]]
    for a in (high, low):
        assert a["Namespace"] == "AWS/ECS" and a["MetricName"] == "CPUUtilization"
        assert a["Statistic"] == "Average" and a["Period"] == 60
        assert sorted((d["Name"], d["Value"]) for d in a["Dimensions"]) == [
            ("ClusterName", "blog-cluster"), ("ServiceName", "blog-api")]
        assert a["AlarmActions"] == [policy["PolicyARN"]]
        assert a["AlarmDescription"] == f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy['PolicyARN']}."
        assert a["TreatMissingData"] == "missing"
    assert (high["ComparisonOperator"], high["Threshold"], high["EvaluationPeriods"]) == ("GreaterThanThreshold", 60.0, 3)
    assert (low["ComparisonOperator"], low["Threshold"], low["EvaluationPeriods"]) == ("LessThanThreshold", 54.0, 15)


# ---------------------------------------------------------------------------------------
# It acts
# ---------------------------------------------------------------------------------------


def test_alarm_high_grows_the_service_and_the_activity_says_so(w):
    resource = make_service(w, "api-high")
    register(w, resource, 2, 4)
    policy = target_tracking(w, resource, "cpu", {
        "TargetValue": 50.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        "ScaleOutCooldown": 0,
    })
    high = [a["AlarmName"] for a in policy["Alarms"] if "-AlarmHigh-" in a["AlarmName"]][0]
    cw = w.boto3_client("cloudwatch")
    cw.set_alarm_state(AlarmName=high, StateValue="ALARM", StateReason="load test")
    wait_until(lambda: desired(w, "api-high") == 3, "desiredCount 3 after AlarmHigh", deadline=30)
    act = activities(w, resource)[0]
    assert act["Description"] == "Setting desired count to 3."
    assert act["Cause"] == f"monitor alarm {high} in state ALARM triggered policy cpu"
    assert act["StatusCode"] == "Successful"
    assert act["StatusMessage"] == "Successfully set desired count to 3. Change successfully fulfilled by ecs."
    assert act["EndTime"] >= act["StartTime"]
    history = cw.describe_alarm_history(AlarmName=high, HistoryItemType="Action")["AlarmHistoryItems"]
    assert any(policy["PolicyARN"] in h["HistorySummary"] for h in history), history

    # Never above max: more ALARMs take it to 4 and then make a not scaled activity.
    for _ in range(3):
        cw.set_alarm_state(AlarmName=high, StateValue="OK", StateReason="reset")
        cw.set_alarm_state(AlarmName=high, StateValue="ALARM", StateReason="load test")
    wait_until(lambda: desired(w, "api-high") == 4, "desiredCount 4", deadline=30)
    wait_until(lambda: any(a.get("NotScaledReasons") for a in activities(w, resource, IncludeNotScaledActivities=True)),
               "a not scaled activity at max", deadline=30)
    assert desired(w, "api-high") == 4
    assert not any(a.get("NotScaledReasons") for a in activities(w, resource))
    not_scaled = [a for a in activities(w, resource, IncludeNotScaledActivities=True) if a.get("NotScaledReasons")][0]
    assert not_scaled["NotScaledReasons"][0]["Code"] == "AlreadyAtMaxCapacity"
    assert not_scaled["NotScaledReasons"][0]["MaxCapacity"] == 4


def test_step_scaling_policy_acts_on_a_user_alarm_over_put_metric_data(w):
    resource = make_service(w, "api-step")
    register(w, resource, 1, 10)
    arn = scaling(w).put_scaling_policy(
        PolicyName="queue-depth", ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIM,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [
                {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 3},
            ],
            "Cooldown": 600,
            "MetricAggregationType": "Average",
        })["PolicyARN"]
    policy = scaling(w).describe_scaling_policies(ServiceNamespace="ecs", PolicyNames=["queue-depth"])[
        "ScalingPolicies"][0]
    assert policy["PolicyType"] == "StepScaling"
    assert policy["StepScalingPolicyConfiguration"]["StepAdjustments"][1] == {
        "MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 3}
    cw = w.boto3_client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="queue-depth-high", Namespace="Blog", MetricName="QueueDepth",
        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=70.0,
        ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])
    # The policy lists the user's alarm that invokes it.
    policy = scaling(w).describe_scaling_policies(ServiceNamespace="ecs", PolicyNames=["queue-depth"])[
        "ScalingPolicies"][0]
    assert [a["AlarmName"] for a in policy["Alarms"]] == ["queue-depth-high"], policy["Alarms"]
    assert policy["Alarms"][0]["AlarmARN"].endswith(":alarm:queue-depth-high"), policy["Alarms"]

    def push():
        cw.put_metric_data(Namespace="Blog", MetricData=[
            {"MetricName": "QueueDepth", "Value": 95.0, "Timestamp": dt.datetime.now(dt.timezone.utc)}])
        return desired(w, "api-step") != 2

    # 95 is 25 over the threshold of 70: the second step, +3. The 600 s cooldown (30 s here)
    # keeps the repeated ALARM invocations from adding more.
    wait_until(push, "the step policy to act", deadline=60, interval=1.0)
    assert desired(w, "api-step") == 5
    act = activities(w, resource)[0]
    assert act["Cause"] == "monitor alarm queue-depth-high in state ALARM triggered policy queue-depth"
    assert act["Description"] == "Setting desired count to 5."


def test_suspended_dynamic_scaling_does_not_act(w):
    resource = make_service(w, "api-suspended")
    register(w, resource, 1, 6, SuspendedState={"DynamicScalingOutSuspended": True})
    policy = target_tracking(w, resource, "cpu", {
        "TargetValue": 50.0, "DisableScaleIn": True,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageMemoryUtilization"}})
    assert len(policy["Alarms"]) == 1 and "-AlarmHigh-" in policy["Alarms"][0]["AlarmName"]
    alarm = w.boto3_client("cloudwatch").describe_alarms(AlarmNames=[policy["Alarms"][0]["AlarmName"]])[
        "MetricAlarms"][0]
    assert alarm["MetricName"] == "MemoryUtilization"
    cw = w.boto3_client("cloudwatch")
    cw.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="ALARM", StateReason="test")
    wait_until(lambda: cw.describe_alarm_history(AlarmName=alarm["AlarmName"], HistoryItemType="Action")[
        "AlarmHistoryItems"], "the action to run", deadline=30)
    assert desired(w, "api-suspended") == 2
    assert activities(w, resource, IncludeNotScaledActivities=True) == []
    # Resumed (only the flag named changes), the next ALARM scales out.
    register_update = scaling(w).register_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIM,
        SuspendedState={"DynamicScalingOutSuspended": False})
    assert register_update["ScalableTargetARN"]
    t = scaling(w).describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"][0]
    assert (t["MinCapacity"], t["MaxCapacity"]) == (1, 6)
    cw.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="OK", StateReason="test")
    cw.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="ALARM", StateReason="test")
    wait_until(lambda: desired(w, "api-suspended") == 3, "scale-out once resumed", deadline=30)


def test_register_brings_desired_count_within_the_new_bounds(w, cli):
    name = f"api-bounds-{cli}"
    resource = make_service(w, name, desired=1)
    w.aws("application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
          "--resource-id", resource, "--scalable-dimension", DIM,
          "--min-capacity", "3", "--max-capacity", "6", cli=cli)
    assert desired(w, name) == 3
    w.aws("application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
          "--resource-id", resource, "--scalable-dimension", DIM, "--max-capacity", "3", cli=cli)
    acts = w.aws("application-autoscaling", "describe-scaling-activities", "--service-namespace", "ecs",
                 "--resource-id", resource, cli=cli).json["ScalingActivities"]
    assert [(a["Description"], a["Cause"]) for a in acts] == [
        ("Setting desired count to 3.", "minimum capacity was set to 3")]
    scaling(w).register_scalable_target(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIM,
                                        MinCapacity=1, MaxCapacity=2)
    assert desired(w, name) == 2
    assert activities(w, resource)[0]["Cause"] == "maximum capacity was set to 2"


# ---------------------------------------------------------------------------------------
# Scheduled actions
# ---------------------------------------------------------------------------------------


def test_scheduled_actions_run_and_are_described(w, cli):
    name = f"api-sched-{cli}"
    resource = make_service(w, name)
    register(w, resource, 1, 5)
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=8)).strftime("%Y-%m-%dT%H:%M:%S")
    w.aws("application-autoscaling", "put-scheduled-action", "--service-namespace", "ecs",
          "--scheduled-action-name", "evening", "--resource-id", resource, "--scalable-dimension", DIM,
          "--schedule", f"at({soon})", "--scalable-target-action", "MinCapacity=3,MaxCapacity=8", cli=cli)
    w.aws("application-autoscaling", "put-scheduled-action", "--service-namespace", "ecs",
          "--scheduled-action-name", "weekdays", "--resource-id", resource, "--scalable-dimension", DIM,
          "--schedule", "cron(15 12 ? * MON-FRI *)", "--timezone", "America/New_York",
          "--scalable-target-action", "MinCapacity=1", cli=cli)
    w.aws("application-autoscaling", "put-scheduled-action", "--service-namespace", "ecs",
          "--scheduled-action-name", "hourly", "--resource-id", resource, "--scalable-dimension", DIM,
          "--schedule", "rate(1 hour)", "--scalable-target-action", "MaxCapacity=9", cli=cli)
    actions = w.aws("application-autoscaling", "describe-scheduled-actions", "--service-namespace", "ecs",
                    "--resource-id", resource, "--scalable-dimension", DIM, cli=cli).json["ScheduledActions"]
    by_name = {a["ScheduledActionName"]: a for a in actions}
    assert sorted(by_name) == ["evening", "hourly", "weekdays"]
    assert by_name["evening"]["Schedule"] == f"at({soon})"
    assert by_name["evening"]["ScalableTargetAction"] == {"MinCapacity": 3, "MaxCapacity": 8}
    assert by_name["weekdays"]["Timezone"] == "America/New_York"
    assert by_name["evening"]["ScheduledActionARN"].startswith(f"arn:aws:autoscaling:{DEFAULT_REGION}:{ACCOUNT_ID}:scheduledAction:")
    assert by_name["evening"]["ScheduledActionARN"].endswith(f":resource/ecs/{resource}:scheduledActionName/evening")

    wait_until(lambda: desired(w, name) == 3, "the at() action to raise the desired count to 3", deadline=60)
    t = scaling(w).describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"][0]
    assert (t["MinCapacity"], t["MaxCapacity"]) == (3, 8)
    acts = activities(w, resource)
    assert ("Setting min capacity to 3 and max capacity to 8", "scheduled action name evening was triggered",
            "Successfully set min capacity to 3 and max capacity to 8") in [
        (a["Description"], a["Cause"], a.get("StatusMessage")) for a in acts]
    assert ("Setting desired count to 3.", "minimum capacity was set to 3") in [
        (a["Description"], a["Cause"]) for a in acts]

    w.aws("application-autoscaling", "delete-scheduled-action", "--service-namespace", "ecs",
          "--scheduled-action-name", "hourly", "--resource-id", resource, "--scalable-dimension", DIM, cli=cli)
    left = scaling(w).describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=resource,
                                                 ScheduledActionNames=["hourly", "weekdays"])["ScheduledActions"]
    assert [a["ScheduledActionName"] for a in left] == ["weekdays"]


# ---------------------------------------------------------------------------------------
# Tags, paging, deregistration
# ---------------------------------------------------------------------------------------


def test_tags_on_scalable_targets(w):
    # CLI v2 2.9 predates tagging in Application Auto Scaling: CLI v1 and boto3.
    cli = "v1"
    name = "api-tags"
    resource = make_service(w, name)
    arn = w.aws("application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
                "--resource-id", resource, "--scalable-dimension", DIM, "--min-capacity", "1",
                "--max-capacity", "3", "--tags", "environment=production", cli=cli).json["ScalableTargetARN"]
    w.aws("application-autoscaling", "tag-resource", "--resource-arn", arn, "--tags", "team=blog", cli=cli)
    tags = w.aws("application-autoscaling", "list-tags-for-resource", "--resource-arn", arn, cli=cli).json["Tags"]
    assert tags == {"environment": "production", "team": "blog"}
    w.aws("application-autoscaling", "untag-resource", "--resource-arn", arn, "--tag-keys", "environment", cli=cli)
    tags = w.aws("application-autoscaling", "list-tags-for-resource", "--resource-arn", arn, cli=cli).json["Tags"]
    assert tags == {"team": "blog"}
    w.aws_error("ValidationException", "application-autoscaling", "register-scalable-target",
                "--service-namespace", "ecs", "--resource-id", resource, "--scalable-dimension", DIM,
                "--tags", "again=yes", cli=cli)
    w.aws_error("ValidationException", "application-autoscaling", "tag-resource", "--resource-arn", arn,
                "--tags", "aws:reserved=x", cli=cli)
    missing = arn[:-4] + "0000"
    w.aws_error("ResourceNotFoundException", "application-autoscaling", "list-tags-for-resource",
                "--resource-arn", missing, cli=cli)
    client = scaling(w)
    client.tag_resource(ResourceARN=arn, Tags={"owner": "ops"})
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "blog", "owner": "ops"}
    code, _ = error_of(lambda: client.tag_resource(ResourceARN=arn, Tags={f"k{i}": "v" for i in range(50)}))
    assert code == "TooManyTagsException"
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "blog", "owner": "ops"}


def test_paging_of_targets_policies_and_activities(w):
    resources = [make_service(w, f"api-page-{i}") for i in range(3)]
    for r in resources:
        register(w, r, 1, 3)
        target_tracking(w, r, "cpu", {"TargetValue": 70.0, "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    client = scaling(w)
    first = client.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=resources, MaxResults=2)
    assert len(first["ScalableTargets"]) == 2 and first["NextToken"]
    second = client.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=resources, MaxResults=2,
                                              NextToken=first["NextToken"])
    assert len(second["ScalableTargets"]) == 1 and "NextToken" not in second
    seen = [t["ResourceId"] for t in first["ScalableTargets"] + second["ScalableTargets"]]
    assert sorted(seen) == sorted(resources)
    pages = client.get_paginator("describe_scaling_policies").paginate(
        ServiceNamespace="ecs", PolicyNames=["cpu"], PaginationConfig={"PageSize": 1})
    policies = [p["ResourceId"] for page in pages for p in page["ScalingPolicies"]]
    assert set(resources) <= set(policies)
    assert error_of(lambda: client.describe_scalable_targets(ServiceNamespace="ecs", NextToken="nope"))[0] == \
        "InvalidNextTokenException"
    code, message = error_of(lambda: client.describe_scaling_policies(ServiceNamespace="ecs", MaxResults=51))
    assert code == "ValidationException" and "less than or equal to 50" in message


def test_deleting_the_service_deregisters_its_target(w):
    resource = make_service(w, "api-gone")
    register(w, resource, 1, 3)
    policy = target_tracking(w, resource, "cpu", {"TargetValue": 70.0, "PredefinedMetricSpecification": {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    names = [a["AlarmName"] for a in policy["Alarms"]]
    cw = w.boto3_client("cloudwatch")
    assert len(cw.describe_alarms(AlarmNames=names)["MetricAlarms"]) == 2
    w.aws("ecs", "delete-service", "--cluster", CLUSTER, "--service", "api-gone", "--force")
    wait_until(lambda: not scaling(w).describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])[
        "ScalableTargets"], "the deleted service's target deregistered", deadline=30)
    assert scaling(w).describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIM)[
        "ScalingPolicies"] == []
    assert cw.describe_alarms(AlarmNames=names)["MetricAlarms"] == []
    code, _ = error_of(lambda: scaling(w).deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIM))
    assert code == "ObjectNotFoundException"


def test_deregister_and_delete_policy_remove_alarms(w, cli):
    name = f"api-dereg-{cli}"
    resource = make_service(w, name)
    register(w, resource, 1, 3)
    cw = w.boto3_client("cloudwatch")
    first = target_tracking(w, resource, "one", {"TargetValue": 70.0, "PredefinedMetricSpecification": {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    second = target_tracking(w, resource, "two", {"TargetValue": 40.0, "CustomizedMetricSpecification": {
        "MetricName": "QueueDepth", "Namespace": "Blog", "Statistic": "Maximum",
        "Dimensions": [{"Name": "Queue", "Value": "jobs"}]}})
    custom = cw.describe_alarms(AlarmNames=[second["Alarms"][0]["AlarmName"]])["MetricAlarms"][0]
    assert (custom["Namespace"], custom["MetricName"], custom["Statistic"]) == ("Blog", "QueueDepth", "Maximum")
    # Policies of one target share the uuid in their ARN, as on AWS.
    assert first["PolicyARN"].split(":")[6] == second["PolicyARN"].split(":")[6]
    w.aws("application-autoscaling", "delete-scaling-policy", "--service-namespace", "ecs",
          "--resource-id", resource, "--scalable-dimension", DIM, "--policy-name", "one", cli=cli)
    assert cw.describe_alarms(AlarmNames=[a["AlarmName"] for a in first["Alarms"]])["MetricAlarms"] == []
    w.aws("application-autoscaling", "deregister-scalable-target", "--service-namespace", "ecs",
          "--resource-id", resource, "--scalable-dimension", DIM, cli=cli)
    assert cw.describe_alarms(AlarmNames=[a["AlarmName"] for a in second["Alarms"]])["MetricAlarms"] == []
    assert scaling(w).describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIM)[
        "ScalingPolicies"] == []


# ---------------------------------------------------------------------------------------
# Bad input: AWS's errors, nothing changed
# ---------------------------------------------------------------------------------------


def test_errors_with_the_cli(w, cli):
    name = f"api-errors-{cli}"
    resource = make_service(w, name)
    aas = ("application-autoscaling",)

    def fails(code, *args, contains: str | None = None, both: bool = False):
        # CLI v2 runs one case of each error (each CLI call costs a second or more).
        if cli == "v2" and not both:
            return
        r = w.aws_error(code, *aas, *args, cli=cli)
        if contains:
            assert contains in r.stderr, r.describe()

    target = ("--resource-id", resource, "--scalable-dimension", DIM)
    fails("ValidationException", "register-scalable-target", "--service-namespace", "dynamodb",
          "--resource-id", "table/t", "--scalable-dimension", "dynamodb:table:ReadCapacityUnits",
          "--min-capacity", "1", "--max-capacity", "2", contains="ECS services only", both=True)
    fails("ValidationException", "register-scalable-target", "--service-namespace", "ecs",
          "--resource-id", f"service/{CLUSTER}/nope", "--scalable-dimension", DIM,
          "--min-capacity", "1", "--max-capacity", "2",
          contains=f"ECS service doesn't exist: service/{CLUSTER}/nope", both=True)
    fails("ValidationException", "register-scalable-target", "--service-namespace", "ecs", *target,
          "--min-capacity", "5", "--max-capacity", "2",
          contains="Minimum capacity cannot be greater than maximum capacity", both=True)
    fails("ValidationException", "register-scalable-target", "--service-namespace", "ecs", *target,
          "--min-capacity", "1", contains="MinCapacity and MaxCapacity are required")
    fails("ValidationException", "register-scalable-target", "--service-namespace", "ecs",
          "--resource-id", f"cluster/{CLUSTER}", "--scalable-dimension", DIM,
          "--min-capacity", "1", "--max-capacity", "2",
          contains="Unsupported service namespace, resource type or scalable dimension")
    fails("ObjectNotFoundException", "put-scaling-policy", "--service-namespace", "ecs", *target,
          "--policy-name", "p", "--policy-type", "TargetTrackingScaling",
          "--target-tracking-scaling-policy-configuration", SEED_POLICY,
          contains=f"No scalable target registered for service namespace: ecs, resource ID: {resource}, "
                   f"scalable dimension: {DIM}", both=True)
    fails("ObjectNotFoundException", "deregister-scalable-target", "--service-namespace", "ecs", *target, both=True)
    # Nothing was registered by any of these.
    assert w.aws(*aas, "describe-scalable-targets", "--service-namespace", "ecs", "--resource-ids", resource,
                 cli=cli).json["ScalableTargets"] == []

    w.aws(*aas, "register-scalable-target", "--service-namespace", "ecs", *target,
          "--min-capacity", "1", "--max-capacity", "4", cli=cli)
    fails("ValidationException", "register-scalable-target", "--service-namespace", "ecs", *target,
          "--min-capacity", "5", contains="Minimum capacity cannot be greater than maximum capacity")
    fails("ValidationException", "put-scaling-policy", "--service-namespace", "ecs", *target,
          "--policy-name", "alb", "--policy-type", "TargetTrackingScaling",
          "--target-tracking-scaling-policy-configuration",
          json.dumps({"TargetValue": 100.0, "PredefinedMetricSpecification": {
              "PredefinedMetricType": "ALBRequestCountPerTarget"}}), contains="ResourceLabel")
    fails("ValidationException", "put-scaling-policy", "--service-namespace", "ecs", *target,
          "--policy-name", "ddb", "--policy-type", "TargetTrackingScaling",
          "--target-tracking-scaling-policy-configuration",
          json.dumps({"TargetValue": 70.0, "PredefinedMetricSpecification": {
              "PredefinedMetricType": "DynamoDBReadCapacityUtilization"}}),
          contains="Unsupported predefined metric type DynamoDBReadCapacityUtilization")
    if cli == "v1":  # CLI v2 2.9's model predates the Metrics form.
        fails("ValidationException", "put-scaling-policy", "--service-namespace", "ecs", *target,
              "--policy-name", "math", "--policy-type", "TargetTrackingScaling",
              "--target-tracking-scaling-policy-configuration",
              json.dumps({"TargetValue": 70.0, "CustomizedMetricSpecification": {"Metrics": [
                  {"Id": "m1", "Expression": "SUM(METRICS())", "ReturnData": True}]}}), contains="metric math")
    fails("ValidationException", "put-scaling-policy", "--service-namespace", "ecs", *target,
          "--policy-name", "gap", "--policy-type", "StepScaling",
          "--step-scaling-policy-configuration", json.dumps({
              "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
                  {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": 1},
                  {"MetricIntervalLowerBound": 15.0, "ScalingAdjustment": 2}]}), contains="gap", both=True)
    fails("ValidationException", "put-scaling-policy", "--service-namespace", "ecs", *target,
          "--policy-name", "both", "--policy-type", "StepScaling",
          "--step-scaling-policy-configuration", json.dumps({
              "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [{"ScalingAdjustment": 1}]}),
          contains="Both lower and upper bounds of a step adjustment cannot be left unspecified")
    fails("ObjectNotFoundException", "delete-scaling-policy", "--service-namespace", "ecs", *target,
          "--policy-name", "never", contains="No scaling policy found", both=True)
    fails("ValidationException", "put-scheduled-action", "--service-namespace", "ecs", *target,
          "--scheduled-action-name", "bad", "--schedule", "cron(0 12 * * *)",
          "--scalable-target-action", "MinCapacity=1", contains="6 fields", both=True)
    fails("ValidationException", "put-scheduled-action", "--service-namespace", "ecs", *target,
          "--scheduled-action-name", "bad", "--schedule", "rate(5 weeks)",
          "--scalable-target-action", "MinCapacity=1")
    fails("ValidationException", "put-scheduled-action", "--service-namespace", "ecs", *target,
          "--scheduled-action-name", "bad", "--schedule", "at(2030-01-01T00:00:00)",
          "--scalable-target-action", "MinCapacity=4,MaxCapacity=2")
    fails("ValidationException", "put-scheduled-action", "--service-namespace", "ecs", *target,
          "--scheduled-action-name", "bad", "--schedule", "cron(0 9 * * ? *)", "--timezone", "Mars/Olympus",
          "--scalable-target-action", "MinCapacity=1", contains="Mars/Olympus")
    fails("ObjectNotFoundException", "delete-scheduled-action", "--service-namespace", "ecs", *target,
          "--scheduled-action-name", "never", contains="No scheduled action found", both=True)
    # Nothing was created by any of these.
    assert w.aws(*aas, "describe-scaling-policies", "--service-namespace", "ecs", "--resource-id", resource,
                 cli=cli).json["ScalingPolicies"] == []
    assert w.aws(*aas, "describe-scheduled-actions", "--service-namespace", "ecs", "--resource-id", resource,
                 cli=cli).json["ScheduledActions"] == []
    t = w.aws(*aas, "describe-scalable-targets", "--service-namespace", "ecs", "--resource-ids", resource,
              cli=cli).json["ScalableTargets"][0]
    assert (t["MinCapacity"], t["MaxCapacity"]) == (1, 4)
