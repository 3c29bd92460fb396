"""ECS answers as AWS gives them, for calls written for AWS rather than for wharf (issue 18).

The EC2 launch type in the control plane: a task definition without requiresCompatibilities
is an EC2 definition (compatibilities ["EXTERNAL", "EC2"], no networkMode written back,
containers may carry their own memory instead of the task); RunTask / CreateService without
a launch type use the cluster's default capacity provider strategy, else EC2; wharf has no
container instances, so EC2 answers what AWS answers for an empty cluster. Then the error
codes and messages, and the fields AWS leaves out.

Each test notes what wharf answered before. Nothing here needs a container runtime.
"""

from __future__ import annotations

import json

import pytest

from wharf_e2e import ACCOUNT_ID, unique_suffix, wait_until

REGION = "us-east-1"
NO_INSTANCES = "No Container Instances were found in your cluster."
EC2_CONTAINERS = json.dumps([{"name": "sleep", "image": "busybox", "memory": 10, "command": ["sleep", "360"]}])


def cluster_arn(name: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/{name}"


@pytest.fixture
def names(cli):
    suffix = unique_suffix()
    return {"cluster": f"fid-{cli}-{suffix}", "family": f"sleep360-{cli}-{suffix}"}


def setup_ec2(w, cli, names) -> dict:
    w.aws("ecs", "create-cluster", "--cluster-name", names["cluster"], cli=cli)
    return w.aws(
        "ecs", "register-task-definition", "--family", names["family"],
        "--container-definitions", EC2_CONTAINERS, cli=cli,
    ).json


def test_a_definition_without_requires_compatibilities_is_an_ec2_definition(module_wharf, cli, names):
    w = module_wharf
    out = setup_ec2(w, cli, names)
    td = out["taskDefinition"]
    # Before: ["EC2"], and a `tags: []` AWS does not send.
    assert td["compatibilities"] == ["EXTERNAL", "EC2"]
    assert "tags" not in out
    # bridge is the behaviour; AWS does not write networkMode back when it was left out.
    assert "networkMode" not in td
    assert "cpu" not in td and "memory" not in td
    c = td["containerDefinitions"][0]
    assert c["memory"] == 10 and c["essential"] is True
    for empty in ("portMappings", "environment", "mountPoints", "volumesFrom"):
        assert c[empty] == [], (empty, c)
    # requiresCompatibilities EC2 with memoryReservation only is fine too.
    w.aws(
        "ecs", "register-task-definition", "--family", names["family"] + "-res",
        "--requires-compatibilities", "EC2",
        "--container-definitions", json.dumps([{"name": "app", "image": "busybox", "memoryReservation": 64}]),
        cli=cli,
    )
    # An awsvpc definition that meets Fargate's rules lists both.
    both = w.aws(
        "ecs", "register-task-definition", "--family", names["family"] + "-vpc",
        "--requires-compatibilities", "EC2", "--network-mode", "awsvpc", "--cpu", "256", "--memory", "512",
        "--container-definitions", json.dumps([{"name": "app", "image": "busybox"}]),
        cli=cli,
    ).json["taskDefinition"]
    assert both["compatibilities"] == ["EC2", "FARGATE"]


def test_registration_errors_are_aws_errors(module_wharf, cli, names):
    w = module_wharf
    family = names["family"]
    # Before: accepted (no memory anywhere).
    r = w.aws_error(
        "ClientException",
        "ecs", "register-task-definition", "--family", family,
        "--container-definitions", json.dumps([{"name": "web", "image": "busybox"}]), cli=cli,
    )
    assert "Invalid setting for container 'web'. At least one of 'memory' or 'memoryReservation' must be specified." in r.stderr
    # Before: "... (container 's')." appended.
    r = w.aws_error(
        "ClientException",
        "ecs", "register-task-definition", "--family", family,
        "--container-definitions", json.dumps([{"name": "s", "memory": 10}]), cli=cli,
    )
    assert r.stderr.strip().endswith("Container.image should not be null or empty.")
    r = w.aws_error(
        "ClientException",
        "ecs", "register-task-definition", "--family", family,
        "--container-definitions", json.dumps([{"image": "busybox", "memory": 10}]), cli=cli,
    )
    assert r.stderr.strip().endswith("Container.name should not be null or empty.")


def test_deregister_needs_a_revision(module_wharf, cli, names):
    w = module_wharf
    setup_ec2(w, cli, names)
    # Before: "Invalid revision number. Number: FAMILY: give family:revision ...".
    r = w.aws_error(
        "ClientException", "ecs", "deregister-task-definition", "--task-definition", names["family"], cli=cli,
    )
    assert r.stderr.strip().endswith("Revision is missing.")
    r = w.aws_error(
        "InvalidParameterException",
        "ecs", "deregister-task-definition", "--task-definition", names["family"] + ":latest", cli=cli,
    )
    assert r.stderr.strip().endswith("Invalid revision number. Number: latest")
    # The family's revision is untouched.
    td = w.aws("ecs", "describe-task-definition", "--task-definition", names["family"], cli=cli).json
    assert td["taskDefinition"]["status"] == "ACTIVE"


@pytest.mark.parametrize("launch_type", [None, "EC2"])
def test_run_task_on_ec2_without_container_instances(module_wharf, cli, names, launch_type):
    w = module_wharf
    setup_ec2(w, cli, names)
    extra = ["--launch-type", launch_type] if launch_type else []
    # Before: no launch type ran the EC2 definition on Fargate; EC2 answered 200 with an
    # ARN-less failure. AWS: InvalidParameterException.
    r = w.aws_error(
        "InvalidParameterException",
        "ecs", "run-task", "--cluster", names["cluster"], "--task-definition", names["family"], *extra,
        cli=cli,
    )
    assert r.stderr.strip().endswith(NO_INSTANCES)
    listed = w.aws("ecs", "list-tasks", "--cluster", names["cluster"], "--desired-status", "STOPPED", cli=cli).json
    assert listed["taskArns"] == []
    assert w.aws("ecs", "list-tasks", "--cluster", names["cluster"], cli=cli).json["taskArns"] == []


def test_fargate_refuses_an_ec2_only_definition(module_wharf, cli, names):
    w = module_wharf
    setup_ec2(w, cli, names)
    r = w.aws_error(
        "InvalidParameterException",
        "ecs", "run-task", "--cluster", names["cluster"], "--task-definition", names["family"],
        "--launch-type", "FARGATE", cli=cli,
    )
    assert r.stderr.strip().endswith("Task definition does not support launch_type FARGATE.")


def test_the_cluster_default_strategy_is_used_without_a_launch_type(module_wharf, cli, names):
    w = module_wharf
    cluster = names["cluster"]
    w.aws(
        "ecs", "create-cluster", "--cluster-name", cluster,
        "--capacity-providers", "FARGATE", "FARGATE_SPOT",
        "--default-capacity-provider-strategy", "capacityProvider=FARGATE_SPOT,weight=1",
        cli=cli,
    )
    w.aws(
        "ecs", "register-task-definition", "--family", names["family"],
        "--requires-compatibilities", "FARGATE", "--network-mode", "awsvpc", "--cpu", "256", "--memory", "512",
        "--container-definitions", json.dumps([{"name": "app", "image": "busybox"}]),
        cli=cli,
    )
    subnet = w.aws("ec2", "describe-subnets", cli=cli).json["Subnets"][0]["SubnetId"]
    out = w.aws(
        "ecs", "run-task", "--cluster", cluster, "--task-definition", names["family"],
        "--network-configuration", f"awsvpcConfiguration={{subnets=[{subnet}]}}",
        cli=cli,
    ).json
    assert out["failures"] == []
    assert out["tasks"][0]["capacityProviderName"] == "FARGATE_SPOT"
    task = out["tasks"][0]["taskArn"]
    w.aws("ecs", "stop-task", "--cluster", cluster, "--task", task, cli=cli)


def test_an_ec2_service_is_created_and_cannot_place_tasks(module_wharf, cli, names):
    w = module_wharf
    setup_ec2(w, cli, names)
    cluster = names["cluster"]
    # Before: refused with "Task definition does not support launch_type FARGATE.".
    svc = w.aws(
        "ecs", "create-service", "--cluster", cluster, "--service-name", "ecs-simple-service",
        "--task-definition", names["family"], "--desired-count", "1", cli=cli,
    ).json["service"]
    assert svc["launchType"] == "EC2"
    assert svc["deployments"][0]["launchType"] == "EC2"
    # AWS writes no platform, no tags, no role for such a service.
    for absent in ("platformVersion", "platformFamily", "tags", "roleArn"):
        assert absent not in svc, (absent, svc)
    assert "platformVersion" not in svc["deployments"][0]
    expected = (
        "service ecs-simple-service was unable to place a task because no container instance met all "
        f"of its requirements. Reason: {NO_INSTANCES} For more information, see the Troubleshooting "
        "section of the Amazon ECS Developer Guide."
    )

    def events():
        described = w.aws(
            "ecs", "describe-services", "--cluster", cluster, "--services", "ecs-simple-service", cli=cli,
        ).json["services"][0]
        return [e["message"] for e in described["events"]]

    wait_until(lambda: expected in events(), "the service's unable-to-place event", deadline=60)
    assert events().count(expected) == 1
    assert w.aws("ecs", "list-tasks", "--cluster", cluster, cli=cli).json["taskArns"] == []
    # EC2 has no platform version.
    r = w.aws_error(
        "InvalidParameterException",
        "ecs", "create-service", "--cluster", cluster, "--service-name", "with-platform",
        "--task-definition", names["family"], "--desired-count", "1",
        "--launch-type", "EC2", "--platform-version", "1.4.0", cli=cli,
    )
    assert r.stderr.strip().endswith("The platform version must be null when specifying an EC2 launch type.")
    w.aws("ecs", "delete-service", "--cluster", cluster, "--service", "ecs-simple-service", "--force", cli=cli)


def test_a_deleted_cluster_is_inactive_where_aws_shows_it(module_wharf, cli, names):
    w = module_wharf
    cluster = names["cluster"]
    w.aws("ecs", "create-cluster", "--cluster-name", cluster, cli=cli)
    deleted = w.aws("ecs", "delete-cluster", "--cluster", cluster, cli=cli).json["cluster"]
    assert deleted["status"] == "INACTIVE"
    described = w.aws("ecs", "describe-clusters", "--clusters", cluster, cli=cli).json
    assert [c["status"] for c in described["clusters"]] == ["INACTIVE"]
    assert described["failures"] == []
    assert cluster_arn(cluster) not in w.aws("ecs", "list-clusters", cli=cli).json["clusterArns"]
    for args in (
        ["describe-tasks", "--cluster", cluster, "--tasks", "0123456789abcdef0123456789abcdef"],
        ["list-tasks", "--cluster", cluster],
        ["list-services", "--cluster", cluster],
        ["run-task", "--cluster", cluster, "--task-definition", "x:1"],
        ["stop-task", "--cluster", cluster, "--task", "0123456789abcdef0123456789abcdef"],
        ["delete-cluster", "--cluster", cluster],
    ):
        w.aws_error("ClusterNotFoundException", "ecs", *args, cli=cli)
    w.aws_error(
        "ClusterNotFoundException",
        "ecs", "describe-tasks", "--cluster", "no-such-cluster", "--tasks", "0123456789abcdef0123456789abcdef",
        cli=cli,
    )


def test_account_settings_and_what_new_clusters_get(module_wharf, cli, names):
    """put-account-setting(-default) / list-account-settings / delete-account-setting as AWS
    answers them; the containerInsights default reaches new clusters; update-cluster(-settings)
    change a cluster's settings. Before: every one of these calls was an unknown operation."""
    w = module_wharf
    root = f"arn:aws:iam::{ACCOUNT_ID}:root"
    effective = w.aws("ecs", "list-account-settings", "--effective-settings", cli=cli).json["settings"]
    by_name = {s["name"]: s for s in effective}
    assert by_name["containerInsights"]["value"] == "disabled"
    assert by_name["taskLongArnFormat"]["value"] == "enabled"
    assert by_name["taskLongArnFormat"]["principalArn"] == root
    # The long ARN formats can no longer be disabled.
    r = w.aws_error("InvalidParameterException", "ecs", "put-account-setting-default",
                    "--name", "taskLongArnFormat", "--value", "disabled", cli=cli)
    assert "You can no longer disable Long Arn settings." in r.stderr
    w.aws_error("InvalidParameterException", "ecs", "put-account-setting",
                "--name", "containerInsights", "--value", "sometimes", cli=cli)

    put = w.aws("ecs", "put-account-setting-default", "--name", "containerInsights", "--value", "enabled",
                cli=cli).json["setting"]
    # CLI v2 2.9's model predates the `type` member and leaves it out.
    assert put.pop("type", "user") == "user"
    assert put == {"name": "containerInsights", "value": "enabled", "principalArn": root}
    try:
        only = w.aws("ecs", "list-account-settings", "--name", "containerInsights", cli=cli).json["settings"]
        assert [(s["name"], s["value"]) for s in only] == [("containerInsights", "enabled")]
        created = w.aws("ecs", "create-cluster", "--cluster-name", names["cluster"], cli=cli).json["cluster"]
        assert created["settings"] == [{"name": "containerInsights", "value": "enabled"}]
        # A user's own value wins over the default for that user.
        user = f"arn:aws:iam::{ACCOUNT_ID}:user/ci"
        w.aws("ecs", "put-account-setting", "--name", "containerInsights", "--value", "disabled",
              "--principal-arn", user, cli=cli)
        mine = w.aws("ecs", "list-account-settings", "--name", "containerInsights", "--principal-arn", user,
                     "--effective-settings", cli=cli).json["settings"]
        assert [s["value"] for s in mine] == ["disabled"]
        gone = w.aws("ecs", "delete-account-setting", "--name", "containerInsights", "--principal-arn", user,
                     cli=cli).json["setting"]
        assert gone["value"] == "disabled" and gone["principalArn"] == user
        back = w.aws("ecs", "list-account-settings", "--name", "containerInsights", "--principal-arn", user,
                     "--effective-settings", cli=cli).json["settings"]
        assert [s["value"] for s in back] == ["enabled"]
    finally:
        w.aws("ecs", "delete-account-setting", "--name", "containerInsights", "--principal-arn", root, cli=cli)

    updated = w.aws("ecs", "update-cluster-settings", "--cluster", names["cluster"],
                    "--settings", "name=containerInsights,value=enhanced", cli=cli).json["cluster"]
    assert updated["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    described = w.aws("ecs", "describe-clusters", "--clusters", names["cluster"], "--include", "SETTINGS",
                      cli=cli).json["clusters"][0]
    assert described["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    w.aws("ecs", "update-cluster", "--cluster", names["cluster"],
          "--settings", "name=containerInsights,value=disabled", cli=cli)
    w.aws_error("InvalidParameterException", "ecs", "update-cluster-settings", "--cluster", names["cluster"],
                "--settings", "name=containerInsights,value=sideways", cli=cli)
    w.aws_error("ClusterNotFoundException", "ecs", "update-cluster-settings", "--cluster", "no-such-cluster",
                "--settings", "name=containerInsights,value=enabled", cli=cli)
    w.aws("ecs", "delete-cluster", "--cluster", names["cluster"], cli=cli)


def test_capacity_providers_and_execute_command(module_wharf, cli, names):
    """describe-capacity-providers and put-cluster-capacity-providers with the providers every
    account has; ExecuteCommand answers as AWS does without ECS Exec (boto3: the CLI wants the
    Session Manager plugin before it calls). Before: unknown operations."""
    w = module_wharf
    described = w.aws("ecs", "describe-capacity-providers", cli=cli).json
    assert [p["name"] for p in described["capacityProviders"]] == ["FARGATE", "FARGATE_SPOT"]
    assert all(p["status"] == "ACTIVE" for p in described["capacityProviders"])
    assert described["capacityProviders"][0]["capacityProviderArn"].endswith(":capacity-provider/FARGATE")
    missing = w.aws("ecs", "describe-capacity-providers", "--capacity-providers", "FARGATE", "my-asg-cp",
                    cli=cli).json
    assert [f["reason"] for f in missing["failures"]] == ["MISSING"]

    cluster = names["cluster"]
    w.aws("ecs", "create-cluster", "--cluster-name", cluster, cli=cli)
    put = w.aws("ecs", "put-cluster-capacity-providers", "--cluster", cluster,
                "--capacity-providers", "FARGATE", "FARGATE_SPOT",
                "--default-capacity-provider-strategy",
                "capacityProvider=FARGATE_SPOT,weight=3", "capacityProvider=FARGATE,weight=1,base=1",
                cli=cli).json["cluster"]
    assert put["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert put["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
        {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
    ]
    w.aws_error("InvalidParameterException", "ecs", "put-cluster-capacity-providers", "--cluster", cluster,
                "--capacity-providers", "FARGATE", "--default-capacity-provider-strategy",
                "capacityProvider=FARGATE_SPOT,weight=1", cli=cli)
    w.aws_error("InvalidParameterException", "ecs", "put-cluster-capacity-providers", "--cluster", cluster,
                "--capacity-providers", "my-asg-cp", "--default-capacity-provider-strategy",
                "capacityProvider=my-asg-cp,weight=1", cli=cli)
    w.aws_error("ClusterNotFoundException", "ecs", "put-cluster-capacity-providers", "--cluster", "no-such",
                "--capacity-providers", "FARGATE", "--default-capacity-provider-strategy",
                "capacityProvider=FARGATE,weight=1", cli=cli)

    ecs = w.boto3_client("ecs", region=REGION)
    family = names["family"] + "-exec"
    ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": "wharf.invalid/none:1"}])
    ec2 = w.boto3_client("ec2", region=REGION)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet]}}
    plain = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE",
                         networkConfiguration=network)["tasks"][0]
    assert plain["enableExecuteCommand"] is False
    with pytest.raises(Exception) as e:
        ecs.execute_command(cluster=cluster, task=plain["taskArn"], command="/bin/sh", interactive=True)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "execute command was not enabled when the task was run" in e.value.response["Error"]["Message"]
    enabled = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE",
                           networkConfiguration=network, enableExecuteCommand=True)["tasks"][0]
    assert enabled["enableExecuteCommand"] is True
    with pytest.raises(Exception) as e:
        ecs.execute_command(cluster=cluster, task=enabled["taskArn"], command="/bin/sh", interactive=True)
    assert e.value.response["Error"]["Code"] == "TargetNotConnectedException"
    for t in (plain, enabled):
        ecs.stop_task(cluster=cluster, task=t["taskArn"])
    wait_until(lambda: all(t["lastStatus"] == "STOPPED" for t in ecs.describe_tasks(
        cluster=cluster, tasks=[plain["taskArn"], enabled["taskArn"]])["tasks"]), "the tasks stopped", deadline=120)
    w.aws("ecs", "delete-cluster", "--cluster", cluster, cli=cli)
