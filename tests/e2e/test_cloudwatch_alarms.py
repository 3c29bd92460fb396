"""CloudWatch alarms through the real AWS CLI v1 (JSON 1.0), v2 (query protocol) and boto3:
PutMetricAlarm (metric and metric-math alarms), DescribeAlarms and its filters and pages,
DescribeAlarmsForMetric, DescribeAlarmHistory, DeleteAlarms, SetAlarmState,
Enable/DisableAlarmActions, tags on alarm ARNs, the errors AWS answers for bad input, and the
evaluation loop: an alarm on a custom metric goes to ALARM when the data points breach and back
to OK when they stop, with AWS's state reasons and history.

One server for the module, started with ``--metric-time-scale 0.05``: AWS's 60-second period
lasts 3 s, so an alarm with three evaluation periods decides within seconds. Each test uses
alarm names and namespaces of its own (per CLI), so tests do not see each other's alarms.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID, DEFAULT_REGION, Wharf, remove_task_containers, wait_until, wharf_binary

TOPIC = f"arn:aws:sns:{DEFAULT_REGION}:{ACCOUNT_ID}:ops"
POLICY = (
    f"arn:aws:autoscaling:{DEFAULT_REGION}:{ACCOUNT_ID}:scalingPolicy:0a1b2c3d-0000-4000-8000-"
    "000000000000:resource/ecs/service/c/s:policyName/p"
)


@pytest.fixture(scope="module")
def cw(tmp_path_factory) -> Wharf:
    """One wharf whose metric periods run 20 times faster than AWS's (60 s -> 3 s)."""
    instance = Wharf(
        wharf_binary(), tmp_path_factory.mktemp("alarms-wharf"), ["--metric-time-scale", "0.05"]
    )
    yield instance
    instance.stop()
    remove_task_containers(instance.data_dir)


def alarm_arn(name: str) -> str:
    return f"arn:aws:cloudwatch:{DEFAULT_REGION}:{ACCOUNT_ID}:alarm:{name}"


def put_alarm(w, cli: str, name: str, *extra: str, namespace: str = "Shop", metric: str = "Cpu"):
    return w.aws(
        "cloudwatch", "put-metric-alarm",
        "--alarm-name", name,
        "--namespace", namespace,
        "--metric-name", metric,
        "--dimensions", "Name=Service,Value=web",
        "--statistic", "Average",
        "--period", "60",
        "--evaluation-periods", "3",
        "--threshold", "75",
        "--comparison-operator", "GreaterThanThreshold",
        *extra,
        cli=cli,
    )


def describe(w, cli: str, *args: str) -> list[dict]:
    return w.aws("cloudwatch", "describe-alarms", *args, cli=cli).json["MetricAlarms"]


def alarm(w, cli: str, name: str) -> dict:
    found = describe(w, cli, "--alarm-names", name)
    assert len(found) == 1, found
    return found[0]


def history(w, cli: str, name: str, *args: str) -> list[dict]:
    return w.aws(
        "cloudwatch", "describe-alarm-history", "--alarm-name", name, *args, cli=cli
    ).json["AlarmHistoryItems"]


# ---------------------------------------------------------------------------------------
# PutMetricAlarm, DescribeAlarms, DescribeAlarmsForMetric, tags, DeleteAlarms
# ---------------------------------------------------------------------------------------


def test_put_describe_tag_and_delete(cw, cli):
    w = cw
    prefix = f"crud-{cli}-"
    put_alarm(
        w, cli, prefix + "cpu",
        "--alarm-description", "cpu is high",
        "--datapoints-to-alarm", "2",
        "--treat-missing-data", "ignore",
        "--alarm-actions", TOPIC, POLICY,
        "--ok-actions", TOPIC,
        "--unit", "Percent",
        "--tags", "Key=team,Value=ops",
    )
    put_alarm(w, cli, prefix + "mem", metric="Mem")
    a = alarm(w, cli, prefix + "cpu")
    assert a["AlarmArn"] == alarm_arn(prefix + "cpu")
    assert a["StateValue"] == "INSUFFICIENT_DATA"
    assert a["StateReason"] == "Unchecked: Initial alarm creation"
    assert a["AlarmDescription"] == "cpu is high"
    assert a["ActionsEnabled"] is True
    assert a["AlarmActions"] == [TOPIC, POLICY]
    assert a["OKActions"] == [TOPIC]
    assert a["InsufficientDataActions"] == []
    assert a["Namespace"] == "Shop" and a["MetricName"] == "Cpu"
    assert a["Dimensions"] == [{"Name": "Service", "Value": "web"}]
    assert (a["Statistic"], a["Period"], a["Unit"]) == ("Average", 60, "Percent")
    assert (a["EvaluationPeriods"], a["DatapointsToAlarm"]) == (3, 2)
    assert (a["Threshold"], a["ComparisonOperator"]) == (75.0, "GreaterThanThreshold")
    assert a["TreatMissingData"] == "ignore"
    for field in ("StateUpdatedTimestamp", "AlarmConfigurationUpdatedTimestamp", "StateTransitionedTimestamp"):
        assert field in a, field

    # Filters: prefix, action prefix, state; the composite list is empty.
    out = w.aws("cloudwatch", "describe-alarms", "--alarm-name-prefix", prefix, cli=cli).json
    assert [x["AlarmName"] for x in out["MetricAlarms"]] == [prefix + "cpu", prefix + "mem"]
    assert out["CompositeAlarms"] == []
    by_action = describe(w, cli, "--alarm-name-prefix", prefix, "--action-prefix", "arn:aws:sns:")
    assert [x["AlarmName"] for x in by_action] == [prefix + "cpu"]
    assert describe(w, cli, "--alarm-name-prefix", prefix, "--state-value", "ALARM") == []
    composite = w.aws(
        "cloudwatch", "describe-alarms", "--alarm-types", "CompositeAlarm", "--alarm-name-prefix", prefix, cli=cli
    ).json
    assert composite.get("MetricAlarms", []) == [] and composite["CompositeAlarms"] == []
    # Pages of one alarm: the CLI follows NextToken and sees both.
    paged = describe(w, cli, "--alarm-name-prefix", prefix, "--page-size", "1")
    assert [x["AlarmName"] for x in paged] == [prefix + "cpu", prefix + "mem"]
    first = w.aws(
        "cloudwatch", "describe-alarms", "--alarm-name-prefix", prefix, "--max-items", "1", cli=cli
    ).json
    assert len(first["MetricAlarms"]) == 1 and first["NextToken"]

    for_metric = w.aws(
        "cloudwatch", "describe-alarms-for-metric", "--namespace", "Shop", "--metric-name", "Cpu",
        "--dimensions", "Name=Service,Value=web", "--statistic", "Average", cli=cli,
    ).json["MetricAlarms"]
    assert prefix + "cpu" in [x["AlarmName"] for x in for_metric]
    assert prefix + "mem" not in [x["AlarmName"] for x in for_metric]

    # Tags.
    arn = alarm_arn(prefix + "cpu")
    w.aws("cloudwatch", "tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=prod", "Key=team,Value=sre", cli=cli)
    w.aws("cloudwatch", "untag-resource", "--resource-arn", arn, "--tag-keys", "env", cli=cli)
    tags = w.aws("cloudwatch", "list-tags-for-resource", "--resource-arn", arn, cli=cli).json["Tags"]
    assert tags == [{"Key": "team", "Value": "sre"}]

    # History of the creation.
    created = history(w, cli, prefix + "cpu", "--history-item-type", "ConfigurationUpdate")
    assert created[0]["HistorySummary"] == f'Alarm "{prefix}cpu" created'
    assert created[0]["AlarmType"] == "MetricAlarm"
    data = json.loads(created[0]["HistoryData"])
    assert data["type"] == "Create" and data["createdAlarm"]["alarmName"] == prefix + "cpu"

    # DeleteAlarms: a missing name deletes nothing; then both go.
    w.aws_error(
        "ResourceNotFound", "cloudwatch", "delete-alarms", "--alarm-names", prefix + "cpu", prefix + "nope", cli=cli
    )
    assert len(describe(w, cli, "--alarm-name-prefix", prefix)) == 2
    w.aws("cloudwatch", "delete-alarms", "--alarm-names", prefix + "cpu", prefix + "mem", cli=cli)
    assert describe(w, cli, "--alarm-name-prefix", prefix) == []
    deleted = history(w, cli, prefix + "cpu", "--history-item-type", "ConfigurationUpdate")
    assert deleted[0]["HistorySummary"] == f'Alarm "{prefix}cpu" deleted'


def test_errors_aws_answers(cw, cli):
    w = cw
    name = f"bad-{cli}"

    def refused(code: str, *extra: str, base: bool = True) -> str:
        args = ["cloudwatch", "put-metric-alarm", "--alarm-name", name, *extra]
        if base:
            args += ["--namespace", "Shop", "--metric-name", "Cpu", "--evaluation-periods", "3",
                     "--comparison-operator", "GreaterThanThreshold"]
        return w.aws_error(code, *args, cli=cli).stderr

    ok = ["--statistic", "Average", "--period", "60", "--threshold", "1"]
    err = refused("ValidationError", *ok, "--datapoints-to-alarm", "4")
    assert "DatapointsToAlarm must be less than or equal to EvaluationPeriods" in err
    assert "Period" in refused("InvalidParameterValue", "--statistic", "Average", "--period", "45", "--threshold", "1")
    refused("InvalidParameterCombination", *ok, "--extended-statistic", "p99")
    refused("MissingParameter", "--statistic", "Average", "--period", "60")
    assert "anomaly" in refused(
        "ValidationError", "--alarm-name", name, "--namespace", "Shop", "--metric-name", "Cpu",
        "--statistic", "Average", "--period", "60", "--evaluation-periods", "1", "--threshold", "1",
        "--comparison-operator", "LessThanLowerOrGreaterThanUpperThreshold", base=False,
    )
    refused("InvalidParameterValue", *ok, "--treat-missing-data", "sometimes")
    err = refused("ValidationError", *ok, "--alarm-actions", *[f"{TOPIC}{i}" for i in range(6)])
    assert "Member must have length less than or equal to 5" in err
    assert describe(w, cli, "--alarm-names", name) == []

    w.aws_error(
        "ResourceNotFound", "cloudwatch", "set-alarm-state", "--alarm-name", name,
        "--state-value", "OK", "--state-reason", "x", cli=cli,
    )
    w.aws_error(
        "ResourceNotFoundException", "cloudwatch", "list-tags-for-resource", "--resource-arn", alarm_arn(name), cli=cli,
    )
    w.aws_error(
        "InvalidParameterCombination", "cloudwatch", "describe-alarms",
        "--alarm-names", "a", "--alarm-name-prefix", "a", cli=cli,
    )


# ---------------------------------------------------------------------------------------
# SetAlarmState, Enable/DisableAlarmActions
# ---------------------------------------------------------------------------------------


def test_set_alarm_state_and_actions_switch(cw, cli):
    w = cw
    name = f"manual-{cli}"
    # `ignore` keeps the state while there is no data, so the loop leaves what we set.
    put_alarm(w, cli, name, "--treat-missing-data", "ignore", "--alarm-actions", TOPIC)
    w.aws_error(
        "InvalidFormat", "cloudwatch", "set-alarm-state", "--alarm-name", name, "--state-value", "ALARM",
        "--state-reason", "x", "--state-reason-data", "{not json", cli=cli,
    )
    w.aws(
        "cloudwatch", "set-alarm-state", "--alarm-name", name, "--state-value", "ALARM",
        "--state-reason", "testing the pager", "--state-reason-data", '{"cause": "drill"}', cli=cli,
    )
    a = alarm(w, cli, name)
    assert a["StateValue"] == "ALARM"
    assert a["StateReason"] == "testing the pager"
    assert json.loads(a["StateReasonData"]) == {"cause": "drill"}
    updates = history(w, cli, name, "--history-item-type", "StateUpdate")
    assert updates[0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    data = json.loads(updates[0]["HistoryData"])
    assert data["oldState"]["stateValue"] == "INSUFFICIENT_DATA"
    assert data["newState"] == {"stateValue": "ALARM", "stateReason": "testing the pager", "stateReasonData": {"cause": "drill"}}
    # The SNS action is kept, and its run recorded as not delivered.
    actions = history(w, cli, name, "--history-item-type", "Action")
    assert actions and actions[0]["HistorySummary"].startswith(f"Failed to execute action {TOPIC}")

    w.aws("cloudwatch", "disable-alarm-actions", "--alarm-names", name, cli=cli)
    assert alarm(w, cli, name)["ActionsEnabled"] is False
    w.aws("cloudwatch", "set-alarm-state", "--alarm-name", name, "--state-value", "OK", "--state-reason", "back", cli=cli)
    assert len(history(w, cli, name, "--history-item-type", "Action")) == 1
    w.aws("cloudwatch", "enable-alarm-actions", "--alarm-names", name, cli=cli)
    assert alarm(w, cli, name)["ActionsEnabled"] is True
    w.aws("cloudwatch", "delete-alarms", "--alarm-names", name, cli=cli)


# ---------------------------------------------------------------------------------------
# The evaluation loop on a custom metric
# ---------------------------------------------------------------------------------------


class Publisher:
    """Puts one data point of `value` every half second (boto3) until stopped."""

    def __init__(self, w, namespace: str, value: float):
        self.client = w.boto3_client("cloudwatch")
        self.namespace = namespace
        self.value = value
        self.stop = threading.Event()
        self.errors: list[Exception] = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 90
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.client.put_metric_data(
                    Namespace=self.namespace,
                    MetricData=[{
                        "MetricName": "Cpu",
                        "Dimensions": [{"Name": "Service", "Value": "web"}],
                        "Value": self.value,
                        "Unit": "Percent",
                    }],
                )
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append(e)
            self.stop.wait(0.5)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.errors, self.errors[:3]


ALARM_REASON = re.compile(
    r"Threshold Crossed: 3 out of the last 3 datapoints \[90\.0 \(\d\d/\d\d/\d\d \d\d:\d\d:\d\d\), "
    r"90\.0 \(.*\), 90\.0 \(.*\)\] were greater than the threshold \(75\.0\) "
    r"\(minimum 3 datapoints for OK -> ALARM transition\)\."
)
OK_REASON = re.compile(
    r"Threshold Crossed: [123] out of the last 3 datapoints \[[0-9.]+ \(.*\)\] (was|were) not greater than "
    r"the threshold \(75\.0\) \(minimum 1 datapoint for ALARM -> OK transition\)\."
)


def test_alarm_follows_a_custom_metric_to_alarm_and_back(cw, cli):
    w = cw
    namespace = f"Shop/{cli}"
    name = f"cpu-high-{cli}"
    # notBreaching: without data the alarm is OK, and it needs three breaching periods (3 of 3).
    put_alarm(w, cli, name, "--alarm-actions", TOPIC, "--treat-missing-data", "notBreaching", namespace=namespace)
    wait_until(lambda: alarm(w, cli, name)["StateValue"] == "OK", "the alarm going to OK without data", deadline=30)
    assert alarm(w, cli, name)["StateReason"] == (
        "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints "
        "were treated as [NonBreaching]."
    )

    hot = Publisher(w, namespace, 90.0)
    try:
        a = wait_until(
            lambda: (x := alarm(w, cli, name))["StateValue"] == "ALARM" and x,
            "the alarm going to ALARM on breaching data",
            deadline=45,
        )
    finally:
        hot.close()
    assert ALARM_REASON.fullmatch(a["StateReason"]), a["StateReason"]
    data = json.loads(a["StateReasonData"])
    assert data["version"] == "1.0" and data["statistic"] == "Average" and data["period"] == 60
    assert data["threshold"] == 75.0
    assert data["recentDatapoints"] == [90.0, 90.0, 90.0]
    assert len(data["evaluatedDatapoints"]) == 3
    assert data["evaluatedDatapoints"][0]["value"] == 90.0
    assert data["evaluatedDatapoints"][0]["sampleCount"] >= 1

    calm = Publisher(w, namespace, 20.0)
    try:
        a = wait_until(
            lambda: (x := alarm(w, cli, name))["StateValue"] == "OK" and x,
            "the alarm going back to OK",
            deadline=45,
        )
    finally:
        calm.close()
    assert OK_REASON.fullmatch(a["StateReason"]), a["StateReason"]

    updates = [h["HistorySummary"] for h in history(w, cli, name, "--history-item-type", "StateUpdate")]
    assert updates == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from INSUFFICIENT_DATA to OK",
    ]
    ascending = history(w, cli, name, "--history-item-type", "StateUpdate", "--scan-by", "TimestampAscending")
    to_alarm = json.loads(ascending[1]["HistoryData"])
    assert to_alarm["newState"]["stateValue"] == "ALARM"
    assert ALARM_REASON.fullmatch(to_alarm["newState"]["stateReason"])
    assert to_alarm["newState"]["stateReasonData"]["recentDatapoints"] == [90.0, 90.0, 90.0]
    # The SNS action ran on the transition to ALARM only (wharf records it as not delivered).
    actions = history(w, cli, name, "--history-item-type", "Action")
    assert len(actions) == 1 and TOPIC in actions[0]["HistorySummary"]
    w.aws("cloudwatch", "delete-alarms", "--alarm-names", name, cli=cli)


# ---------------------------------------------------------------------------------------
# boto3
# ---------------------------------------------------------------------------------------


def test_boto3_metric_math_alarm_history_and_tags(cw):
    client = cw.boto3_client("cloudwatch")
    name = "boto3-math"

    def stat(id_: str, metric: str) -> dict:
        return {
            "Id": id_,
            "MetricStat": {
                "Metric": {"Namespace": "Shop/boto3", "MetricName": metric},
                "Period": 60,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    client.put_metric_alarm(
        AlarmName=name,
        Metrics=[stat("m1", "Errors"), stat("m2", "Requests"),
                 {"Id": "e1", "Expression": "m1 / m2 * 100", "Label": "error rate", "ReturnData": True}],
        EvaluationPeriods=2,
        DatapointsToAlarm=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="ignore",
        AlarmActions=[POLICY],
        Tags=[{"Key": "team", "Value": "ops"}],
    )
    a = client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert a["StateValue"] == "INSUFFICIENT_DATA"
    assert "MetricName" not in a
    assert [m["Id"] for m in a["Metrics"]] == ["m1", "m2", "e1"]
    assert a["Metrics"][2]["Expression"] == "m1 / m2 * 100"
    assert a["Metrics"][0]["MetricStat"]["Metric"]["MetricName"] == "Errors"
    assert client.list_tags_for_resource(ResourceARN=alarm_arn(name))["Tags"] == [{"Key": "team", "Value": "ops"}]

    with pytest.raises(ClientError) as e:
        client.put_metric_alarm(
            AlarmName="boto3-bad",
            Metrics=[{**stat("m1", "Errors"), "ReturnData": True}, {"Id": "e1", "Expression": "m1 * 2"}],
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"] == "Exactly one element of the metrics list should return data."

    client.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="drill")
    client.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="done")
    pages = client.get_paginator("describe_alarm_history").paginate(
        AlarmName=name, PaginationConfig={"PageSize": 1}
    )
    items = [i for page in pages for i in page["AlarmHistoryItems"]]
    summaries = [i["HistorySummary"] for i in items]
    assert summaries[0] == "Alarm updated from ALARM to OK"
    assert "Alarm updated from INSUFFICIENT_DATA to ALARM" in summaries
    assert summaries[-1] == f'Alarm "{name}" created'
    # The scaling policy action ran (it names a policy this wharf does not have: recorded).
    assert any(POLICY in s for s in summaries if s.startswith(("Successfully", "Failed")))

    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceARN=alarm_arn("boto3-missing"), Tags=[{"Key": "a", "Value": "b"}])
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    client.tag_resource(ResourceARN=alarm_arn(name), Tags=[{"Key": "env", "Value": "dev"}])
    client.untag_resource(ResourceARN=alarm_arn(name), TagKeys=["team"])
    assert client.list_tags_for_resource(ResourceARN=alarm_arn(name))["Tags"] == [{"Key": "env", "Value": "dev"}]

    client.disable_alarm_actions(AlarmNames=[name])
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is False
    client.enable_alarm_actions(AlarmNames=[name])
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is True

    # A single-metric alarm, found by its metric.
    client.put_metric_alarm(
        AlarmName="boto3-p99",
        Namespace="Shop/boto3",
        MetricName="Latency",
        Dimensions=[{"Name": "Service", "Value": "web"}],
        ExtendedStatistic="p99",
        EvaluateLowSampleCountPercentile="ignore",
        Period=60,
        EvaluationPeriods=5,
        DatapointsToAlarm=3,
        Threshold=0.5,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    found = client.describe_alarms_for_metric(
        Namespace="Shop/boto3", MetricName="Latency", Dimensions=[{"Name": "Service", "Value": "web"}],
        ExtendedStatistic="p99",
    )["MetricAlarms"]
    assert [a["AlarmName"] for a in found] == ["boto3-p99"]
    assert found[0]["EvaluateLowSampleCountPercentile"] == "ignore"
    assert "Statistic" not in found[0]

    with pytest.raises(ClientError) as e:
        client.delete_alarms(AlarmNames=[name, "boto3-nope"])
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"
    client.delete_alarms(AlarmNames=[name, "boto3-p99"])
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []
