"""ECS control plane, driven the way the seeds drive it: clusters, task definitions,
services and tags, through the real AWS CLI (v1 and v2) and boto3.

Only the endpoint differs from the seeds' commands. What is asserted is what a user of
AWS sees: exact ARNs, field names, status strings, error codes and CLI exit statuses.
Nothing here needs a container runtime: running/pending counts are not asserted.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import pytest

from wharf_e2e import ACCOUNT_ID, FIXTURES, free_port, parse_table, tag_dict

SEED_002_TD = "blog-api-task-definition.json"  # seed 002, region ap-northeast-2
SEED_003_TD = "news-api-task-definition.json"  # seed 003, region us-east-1
# Seed 004's task definition as published is not valid JSON: its health check reads
# ["CMD-SHELL", ""curl -fs http://localhost:80/health >/dev/null || exit 1"]. The fixture
# drops the stray `"` before `curl` (one character) and is otherwise verbatim.
SEED_004_TD = "ai-assistant-task-definition.json"
TRUST_POLICY = "ecs-trust-policy.json"  # seed 003

EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def cluster_arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:ecs:{region}:{ACCOUNT_ID}:cluster/{name}"


def td_arn(family: str, revision: int, region: str = "us-east-1") -> str:
    return f"arn:aws:ecs:{region}:{ACCOUNT_ID}:task-definition/{family}:{revision}"


def service_arn(cluster: str, name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:ecs:{region}:{ACCOUNT_ID}:service/{cluster}/{name}"


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def assert_registered(td: dict, source: dict, revision: int, region: str) -> None:
    """A task definition as RegisterTaskDefinition/DescribeTaskDefinition return it."""
    family = source["family"]
    assert td["family"] == family
    assert td["revision"] == revision
    assert td["taskDefinitionArn"] == td_arn(family, revision, region)
    assert td["status"] == "ACTIVE"
    assert td["networkMode"] == source["networkMode"]
    assert td["requiresCompatibilities"] == source["requiresCompatibilities"]
    assert "FARGATE" in td["compatibilities"], td["compatibilities"]
    assert td["cpu"] == source["cpu"] and td["memory"] == source["memory"]
    assert td["executionRoleArn"] == source["executionRoleArn"]
    assert td.get("taskRoleArn") == source.get("taskRoleArn")
    assert td.get("registeredAt"), "registeredAt missing"
    # ECS lists the agent capabilities the definition needs; awslogs is one of them.
    names = {attr["name"] for attr in td["requiresAttributes"]}
    assert "com.amazonaws.ecs.capability.logging-driver.awslogs" in names, names
    assert len(td["containerDefinitions"]) == len(source["containerDefinitions"])
    for got, want in zip(td["containerDefinitions"], source["containerDefinitions"]):
        assert got["name"] == want["name"]
        assert got["image"] == want["image"]
        assert got["essential"] is want.get("essential", True)
        # awsvpc: the host port is the container port; tcp is the default protocol.
        assert got["portMappings"] == [
            {
                "containerPort": pm["containerPort"],
                "hostPort": pm["containerPort"],
                "protocol": pm.get("protocol", "tcp"),
            }
            for pm in want["portMappings"]
        ]
        assert sorted(
            (e["name"], e["value"]) for e in got.get("environment", [])
        ) == sorted((e["name"], e["value"]) for e in want.get("environment", []))
        assert got["logConfiguration"]["logDriver"] == want["logConfiguration"]["logDriver"]
        assert got["logConfiguration"]["options"] == want["logConfiguration"]["options"]
        if "healthCheck" in want:
            assert got["healthCheck"] == want["healthCheck"]


def default_network(wharf, region: str = "us-east-1"):
    """Default VPC, its subnets and a fresh security group (boto3, for setup)."""
    ec2 = wharf.boto3_client("ec2", region)
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0][
        "VpcId"
    ]
    subnets = [
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    ]
    sg = ec2.create_security_group(
        GroupName="svc-sg", Description="service tasks", VpcId=vpc_id
    )["GroupId"]
    return vpc_id, subnets, sg


def seed_002_target_group(wharf, region: str, vpc_id: str, subnets: list[str]) -> str:
    """Seed 002's tg-blog-api behind blog-alb (a listener on a free loopback port: CreateService
    wants a target group a load balancer uses)."""
    elbv2 = wharf.boto3_client("elbv2", region)
    lb = elbv2.create_load_balancer(Name="blog-alb", Subnets=subnets[:2])["LoadBalancers"][0]
    tg = elbv2.create_target_group(
        Name="tg-blog-api", Protocol="HTTP", Port=8000, VpcId=vpc_id, TargetType="ip",
        HealthCheckPath="/health",
    )["TargetGroups"][0]["TargetGroupArn"]
    port = free_port()
    elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )
    return tg


def service_prereqs(wharf, cluster="news-api-cluster", revisions=2, region="us-east-1"):
    """Cluster + news-api-task:1..N + network, set up with boto3."""
    ecs = wharf.boto3_client("ecs", region)
    ecs.create_cluster(clusterName=cluster)
    source = load_fixture(SEED_003_TD)
    for _ in range(revisions):
        ecs.register_task_definition(**source)
    _, subnets, sg = default_network(wharf, region)
    network = f"awsvpcConfiguration={{subnets=[{','.join(subnets)}],securityGroups=[{sg}],assignPublicIp=ENABLED}}"
    return ecs, subnets, sg, network


def create_news_service(wharf, network, *extra, cli="v1"):
    return wharf.aws(
        "ecs", "create-service",
        "--cluster", "news-api-cluster",
        "--service-name", "news-api-service",
        "--task-definition", "news-api-task:1",
        "--desired-count", "2",
        "--launch-type", "FARGATE",
        "--network-configuration", network,
        *extra,
        cli=cli,
    ).json["service"]


def primary(service: dict) -> dict:
    primaries = [d for d in service["deployments"] if d["status"] == "PRIMARY"]
    assert len(primaries) == 1, service["deployments"]
    return primaries[0]


# ---------------------------------------------------------------------------------------
# Seed flows
# ---------------------------------------------------------------------------------------


def test_seed_003_news_api_flow(wharf, cli):
    """Seed 003 section 6, command by command, with the AWS CLI v1 and v2."""
    # Creating the ECS cluster: the output the seed shows.
    cluster = wharf.aws(
        "ecs", "create-cluster", "--cluster-name", "news-api-cluster", "--region", "us-east-1",
        cli=cli,
    ).json["cluster"]
    assert {k: cluster[k] for k in (
        "clusterArn", "clusterName", "status", "registeredContainerInstancesCount",
        "runningTasksCount", "pendingTasksCount",
    )} == {
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/news-api-cluster",
        "clusterName": "news-api-cluster",
        "status": "ACTIVE",
        "registeredContainerInstancesCount": 0,
        "runningTasksCount": 0,
        "pendingTasksCount": 0,
    }
    assert cluster["activeServicesCount"] == 0

    listed = wharf.aws("ecs", "list-clusters", "--region", "us-east-1", cli=cli).json
    assert listed["clusterArns"] == [cluster_arn("news-api-cluster")]

    # The task execution role, from the seed's trust policy file.
    wharf.put_fixture(TRUST_POLICY)
    role = wharf.aws(
        "iam", "create-role",
        "--role-name", "ecsTaskExecutionRole",
        "--assume-role-policy-document", "file://ecs-trust-policy.json",
        cli=cli,
    ).json["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
    wharf.aws(
        "iam", "attach-role-policy",
        "--role-name", "ecsTaskExecutionRole",
        "--policy-arn", EXECUTION_POLICY_ARN,
        cli=cli,
    )

    # Register the task definition: revision 1.
    wharf.put_fixture(SEED_003_TD, "task-definition.json")
    td = wharf.aws(
        "ecs", "register-task-definition",
        "--cli-input-json", "file://task-definition.json",
        "--region", "us-east-1",
        cli=cli,
    ).json["taskDefinition"]
    assert_registered(td, load_fixture(SEED_003_TD), 1, "us-east-1")
    listed = wharf.aws("ecs", "list-task-definitions", "--region", "us-east-1", cli=cli).json
    assert listed["taskDefinitionArns"] == [td_arn("news-api-task", 1)]

    # Default VPC, its subnets, a security group for the tasks.
    vpc_id = wharf.aws(
        "ec2", "describe-vpcs",
        "--filters", "Name=isDefault,Values=true",
        "--query", "Vpcs[0].VpcId",
        "--output", "text",
        cli=cli,
    ).stdout.strip()
    assert vpc_id.startswith("vpc-")
    subnet_text = wharf.aws(
        "ec2", "describe-subnets",
        "--filters", f"Name=vpc-id,Values={vpc_id}",
        "--query", "Subnets[*].SubnetId",
        "--output", "text",
        cli=cli,
    ).stdout
    subnet_ids = subnet_text.rstrip("\n").replace("\t", ",")  # | tr '\t' ','
    assert len(subnet_ids.split(",")) >= 2 and all(
        s.startswith("subnet-") for s in subnet_ids.split(",")
    ), subnet_text
    ecs_sg = wharf.aws(
        "ec2", "create-security-group",
        "--group-name", "news-api-ecs-sg",
        "--description", "Security group for News API ECS tasks",
        "--vpc-id", vpc_id,
        "--query", "GroupId",
        "--output", "text",
        cli=cli,
    ).stdout.strip()
    assert ecs_sg.startswith("sg-")
    # The seed then "allows outbound traffic"; a new group already has exactly that rule,
    # and AWS answers InvalidPermission.Duplicate.
    wharf.aws_error(
        "InvalidPermission.Duplicate",
        "ec2", "authorize-security-group-egress",
        "--group-id", ecs_sg, "--protocol", "-1", "--cidr", "0.0.0.0/0",
        cli=cli,
    )

    # Create the service.
    service = wharf.aws(
        "ecs", "create-service",
        "--cluster", "news-api-cluster",
        "--service-name", "news-api-service",
        "--task-definition", "news-api-task:1",
        "--desired-count", "2",
        "--launch-type", "FARGATE",
        "--network-configuration",
        f"awsvpcConfiguration={{subnets=[{subnet_ids}],securityGroups=[{ecs_sg}],assignPublicIp=ENABLED}}",
        "--region", "us-east-1",
        cli=cli,
    ).json["service"]
    assert service["serviceArn"] == service_arn("news-api-cluster", "news-api-service")
    assert service["serviceName"] == "news-api-service"
    assert service["clusterArn"] == cluster_arn("news-api-cluster")
    assert service["status"] == "ACTIVE"
    assert service["desiredCount"] == 2
    assert service["launchType"] == "FARGATE"
    assert service["taskDefinition"] == td_arn("news-api-task", 1)
    assert service["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": subnet_ids.split(","),
        "securityGroups": [ecs_sg],
        "assignPublicIp": "ENABLED",
    }
    deployment = primary(service)
    assert len(service["deployments"]) == 1
    assert deployment["taskDefinition"] == td_arn("news-api-task", 1)
    assert deployment["desiredCount"] == 2

    # Check: monitor the service deployment (table output, as in the seed).
    table = wharf.aws(
        "ecs", "describe-services",
        "--cluster", "news-api-cluster",
        "--services", "news-api-service",
        "--query", "services[0].{Status:status,Running:runningCount,Desired:desiredCount}",
        "--output", "table",
        cli=cli,
    ).stdout
    rows = parse_table(table)
    assert len(rows) == 1, table
    assert rows[0]["Status"] == "ACTIVE", table
    assert rows[0]["Desired"] == "2", table
    assert rows[0]["Running"].isdigit(), table


def test_seed_002_blog_api_flow(wharf):
    """Seed 002 sections 2-5 in ap-northeast-2: task definition revisions, a service with
    a load balancer, a circuit breaker and a health-check grace period, then a rollout."""
    region = "ap-northeast-2"
    account = wharf.aws("sts", "get-caller-identity", "--query", "Account", "--output", "text")
    assert account.stdout.strip() == ACCOUNT_ID

    wharf.put_fixture(SEED_002_TD, "task-definition.json")
    source = load_fixture(SEED_002_TD)
    for revision in (1, 2):
        td = wharf.aws(
            "ecs", "register-task-definition",
            "--cli-input-json", "file://task-definition.json",
            "--region", "ap-northeast-2",
        ).json["taskDefinition"]
        assert_registered(td, source, revision, region)
    # The environment and the awslogs options come back as registered.
    container = td["containerDefinitions"][0]
    assert container["logConfiguration"]["options"]["awslogs-create-group"] == "true"
    assert {e["name"]: e["value"] for e in container["environment"]} == {
        "ENVIRONMENT": "production",
        "LOG_LEVEL": "info",
    }

    wharf.aws("ecs", "create-cluster", "--cluster-name", "blog-cluster", region=region)
    vpc_id, subnets, sg_fargate = default_network(wharf, region)
    tg_arn = seed_002_target_group(wharf, region, vpc_id, subnets)
    service = wharf.aws(
        "ecs", "create-service",
        "--cluster", "blog-cluster",
        "--service-name", "blog-api",
        "--task-definition", "blog-api:1",
        "--desired-count", "2",
        "--launch-type", "FARGATE",
        "--network-configuration", f"""awsvpcConfiguration={{
      subnets=[{subnets[0]}, {subnets[1]}],
      securityGroups=[{sg_fargate}],
      assignPublicIp=ENABLED
    }}""",
        "--load-balancers", f"targetGroupArn={tg_arn},containerName=api,containerPort=8000",
        "--health-check-grace-period-seconds", "60",
        "--deployment-configuration",
        "deploymentCircuitBreaker={enable=true,rollback=true},maximumPercent=200,minimumHealthyPercent=100",
        region=region,
    ).json["service"]
    assert service["serviceArn"] == service_arn("blog-cluster", "blog-api", region)
    assert service["taskDefinition"] == td_arn("blog-api", 1, region)
    assert service["loadBalancers"] == [
        {"targetGroupArn": tg_arn, "containerName": "api", "containerPort": 8000}
    ]
    assert service["healthCheckGracePeriodSeconds"] == 60
    config = service["deploymentConfiguration"]
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert config["maximumPercent"] == 200
    assert config["minimumHealthyPercent"] == 100
    assert service["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": subnets[:2],
        "securityGroups": [sg_fargate],
        "assignPublicIp": "ENABLED",
    }
    assert service["schedulingStrategy"] == "REPLICA"
    deployment = primary(service)
    assert deployment["taskDefinition"] == td_arn("blog-api", 1, region)
    assert deployment["launchType"] == "FARGATE"
    assert deployment["rolloutState"] in ("IN_PROGRESS", "COMPLETED")

    # Rollout of revision 2 (the update-service of seed 002 #3 / seed 004's workflow).
    updated = wharf.aws(
        "ecs", "update-service",
        "--cluster", "blog-cluster",
        "--service", "blog-api",
        "--task-definition", "blog-api:2",
        "--force-new-deployment",
        region=region,
    ).json["service"]
    assert updated["taskDefinition"] == td_arn("blog-api", 2, region)
    assert primary(updated)["taskDefinition"] == td_arn("blog-api", 2, region)
    for d in updated["deployments"]:
        assert d["status"] in ("PRIMARY", "ACTIVE"), d
    # The service keeps its configuration through the update.
    assert updated["loadBalancers"] == service["loadBalancers"]
    assert updated["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }

    scaled = wharf.aws(
        "ecs", "update-service", "--cluster", "blog-cluster", "--service", "blog-api",
        "--desired-count", "3",
        region=region,
    ).json["service"]
    assert scaled["desiredCount"] == 3
    assert primary(scaled)["desiredCount"] == 3

    described = wharf.aws(
        "ecs", "describe-services", "--cluster", "blog-cluster", "--services", "blog-api",
        region=region,
    ).json
    assert described["failures"] == []
    assert described["services"][0]["desiredCount"] == 3
    assert described["services"][0]["taskDefinition"] == td_arn("blog-api", 2, region)


def test_seed_004_ci_workflow(wharf):
    """Seed 004: register with --query, then the GitHub Actions steps (describe, jq image
    swap, register a new revision, update-service --force-new-deployment)."""
    wharf.put_fixture(SEED_004_TD, "task-definition.json")
    response = wharf.aws(
        "ecs", "register-task-definition",
        "--cli-input-json", "file://task-definition.json",
        "--query", "taskDefinition.{family:family,revision:revision}",
        "--output", "json",
    ).json
    assert response == {"family": "ai-assistant-task", "revision": 1}

    wharf.aws("ecs", "create-cluster", "--cluster-name", "ai-assistant-cluster")
    _, subnets, sg = default_network(wharf)
    service = wharf.aws(
        "ecs", "create-service",
        "--cluster", "ai-assistant-cluster",
        "--service-name", "ai-assistant-service",
        "--task-definition", "ai-assistant-task",
        "--desired-count", "1",
        "--launch-type", "FARGATE",
        "--network-configuration",
        f"awsvpcConfiguration={{subnets=[{','.join(subnets)}],securityGroups=[{sg}],assignPublicIp=ENABLED}}",
    ).json["service"]
    # A family without a revision means its latest ACTIVE revision.
    assert service["taskDefinition"] == td_arn("ai-assistant-task", 1)

    # - name: Download current task definition
    described = wharf.aws(
        "ecs", "describe-task-definition",
        "--task-definition", "ai-assistant-task",
        "--query", "taskDefinition",
        "--output", "json",
    )
    (wharf.work / "task-definition.json").write_text(described.stdout)
    assert_registered(described.json, load_fixture(SEED_004_TD), 1, "us-east-1")

    # - name: Update image in task definition (the seed's jq program, with real jq)
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ai-assistant:3f2c1a9"
    program = """
                 (.containerDefinitions[] | select(.name == $CONTAINER_NAME)).image = $IMAGE
               """
    # describe-task-definition's output carries read-only fields that both CLIs reject in
    # --cli-input-json ("Unknown parameter in input: taskDefinitionArn, ..."), on AWS as
    # here; the seed's workflow needs them removed before it can register the result.
    program += (
        " | del(.taskDefinitionArn, .revision, .status, .requiresAttributes,"
        " .compatibilities, .registeredAt, .registeredBy, .deregisteredAt,"
        " .enableFaultInjection)"
    )
    jq = shutil.which("jq", path="/usr/bin:/bin") or "jq"
    updated = subprocess.run(
        [jq, "--arg", "IMAGE", image, "--arg", "CONTAINER_NAME", "ai-assistant-container",
         program, "task-definition.json"],
        cwd=wharf.work, capture_output=True, text=True, check=True,
    ).stdout
    (wharf.work / "updated-task-definition.json").write_text(updated)

    # - name: Register new task definition revision
    response = wharf.aws(
        "ecs", "register-task-definition",
        "--cli-input-json", "file://updated-task-definition.json",
        "--query", "taskDefinition.{family:family,revision:revision}",
        "--output", "json",
    ).json
    assert response == {"family": "ai-assistant-task", "revision": 2}
    family, revision = response["family"], response["revision"]

    # - name: Update ECS service to use new task revision
    service = wharf.aws(
        "ecs", "update-service",
        "--cluster", "ai-assistant-cluster",
        "--service", "ai-assistant-service",
        "--task-definition", f"{family}:{revision}",
        "--force-new-deployment",
    ).json["service"]
    assert service["taskDefinition"] == td_arn("ai-assistant-task", 2)
    assert primary(service)["taskDefinition"] == td_arn("ai-assistant-task", 2)

    new_td = wharf.boto3_client("ecs").describe_task_definition(
        taskDefinition="ai-assistant-task:2"
    )["taskDefinition"]
    assert new_td["containerDefinitions"][0]["image"] == image
    assert new_td["containerDefinitions"][0]["healthCheck"] == load_fixture(SEED_004_TD)[
        "containerDefinitions"
    ][0]["healthCheck"]


# ---------------------------------------------------------------------------------------
# Clusters
# ---------------------------------------------------------------------------------------


def test_describe_clusters_missing_and_default(wharf):
    # No --clusters: ECS describes the `default` cluster, which a new account lacks.
    out = wharf.aws("ecs", "describe-clusters").json
    if out["clusters"]:
        assert [c["clusterName"] for c in out["clusters"]] == ["default"]
        assert out["clusters"][0]["status"] == "ACTIVE"
    else:
        assert out["failures"] == [{"arn": cluster_arn("default"), "reason": "MISSING"}]

    # create-cluster without a name creates `default`.
    created = wharf.aws("ecs", "create-cluster").json["cluster"]
    assert created["clusterName"] == "default"
    assert created["clusterArn"] == cluster_arn("default")
    out = wharf.aws("ecs", "describe-clusters").json
    assert [c["clusterArn"] for c in out["clusters"]] == [cluster_arn("default")]
    assert out["failures"] == []

    # Existing (by name and by ARN) and missing clusters in one call.
    wharf.aws("ecs", "create-cluster", "--cluster-name", "news-api-cluster")
    out = wharf.aws(
        "ecs", "describe-clusters",
        "--clusters", "news-api-cluster", cluster_arn("default"), "nope",
    ).json
    assert [c["clusterName"] for c in out["clusters"]] == ["news-api-cluster", "default"]
    assert all(c["status"] == "ACTIVE" for c in out["clusters"])
    assert out["failures"] == [{"arn": cluster_arn("nope"), "reason": "MISSING"}]

    # CreateCluster is idempotent for an ACTIVE cluster.
    again = wharf.aws("ecs", "create-cluster", "--cluster-name", "news-api-cluster").json
    assert again["cluster"]["clusterArn"] == cluster_arn("news-api-cluster")
    listed = wharf.aws("ecs", "list-clusters").json["clusterArns"]
    assert sorted(listed) == sorted([cluster_arn("default"), cluster_arn("news-api-cluster")])


def test_delete_cluster(wharf):
    wharf.aws("ecs", "create-cluster", "--cluster-name", "short-lived")
    deleted = wharf.aws("ecs", "delete-cluster", "--cluster", "short-lived").json["cluster"]
    assert deleted["clusterArn"] == cluster_arn("short-lived")
    assert deleted["status"] == "INACTIVE"
    out = wharf.aws("ecs", "describe-clusters", "--clusters", "short-lived").json
    # AWS keeps INACTIVE clusters discoverable for a while (describe-clusters, and even
    # list-clusters), or reports them missing.
    if out["clusters"]:
        assert out["clusters"][0]["status"] == "INACTIVE"
    else:
        assert out["failures"] == [{"arn": cluster_arn("short-lived"), "reason": "MISSING"}]
    wharf.aws_error("ClusterNotFoundException", "ecs", "delete-cluster", "--cluster", "nope")


def test_clusters_are_regional(wharf):
    east = wharf.boto3_client("ecs", "us-east-1")
    west = wharf.boto3_client("ecs", "eu-west-1")
    east.create_cluster(clusterName="shared-name")
    assert west.list_clusters()["clusterArns"] == []
    created = west.create_cluster(clusterName="shared-name")["cluster"]
    assert created["clusterArn"] == cluster_arn("shared-name", "eu-west-1")
    assert east.list_clusters()["clusterArns"] == [cluster_arn("shared-name", "us-east-1")]


# ---------------------------------------------------------------------------------------
# Task definitions
# ---------------------------------------------------------------------------------------


def test_describe_task_definition_by_family_revision_and_arn(wharf):
    wharf.put_fixture(SEED_003_TD, "task-definition.json")
    wharf.aws("ecs", "register-task-definition", "--cli-input-json", "file://task-definition.json")
    second = wharf.aws(
        "ecs", "register-task-definition",
        "--cli-input-json", "file://task-definition.json",
        "--tags", "key=team,value=news", "key=env,value=prod",
    ).json
    assert second["taskDefinition"]["revision"] == 2
    assert tag_dict(second.get("tags")) == {"team": "news", "env": "prod"}

    latest = wharf.aws("ecs", "describe-task-definition", "--task-definition", "news-api-task").json
    assert latest["taskDefinition"]["revision"] == 2
    assert not latest.get("tags")  # only with --include TAGS

    first = wharf.aws(
        "ecs", "describe-task-definition", "--task-definition", "news-api-task:1"
    ).json["taskDefinition"]
    assert_registered(first, load_fixture(SEED_003_TD), 1, "us-east-1")

    by_arn = wharf.aws(
        "ecs", "describe-task-definition",
        "--task-definition", td_arn("news-api-task", 2),
        "--include", "TAGS",
    ).json
    assert by_arn["taskDefinition"]["taskDefinitionArn"] == td_arn("news-api-task", 2)
    assert tag_dict(by_arn["tags"]) == {"team": "news", "env": "prod"}

    wharf.aws_error(
        "ClientException", "ecs", "describe-task-definition", "--task-definition", "news-api-task:9"
    )
    wharf.aws_error(
        "ClientException", "ecs", "describe-task-definition", "--task-definition", "no-such-family"
    )


def test_list_task_definitions_filters_sort_and_pagination(wharf):
    ecs = wharf.boto3_client("ecs")
    base = load_fixture(SEED_003_TD)
    for family, count in (("web", 3), ("web-worker", 2), ("api", 1)):
        for _ in range(count):
            ecs.register_task_definition(**{**base, "family": family})
    everything = [
        td_arn("api", 1),
        td_arn("web", 1), td_arn("web", 2), td_arn("web", 3),
        td_arn("web-worker", 1), td_arn("web-worker", 2),
    ]

    def arns(*args):
        return wharf.aws("ecs", "list-task-definitions", *args).json["taskDefinitionArns"]

    assert arns() == everything
    assert arns("--sort", "DESC") == everything[::-1]
    # familyPrefix of ListTaskDefinitions is a full family name, not a prefix.
    assert arns("--family-prefix", "web") == [td_arn("web", r) for r in (1, 2, 3)]
    assert arns("--family-prefix", "web", "--sort", "DESC") == [td_arn("web", r) for r in (3, 2, 1)]

    # CLI pagination: --max-items/--starting-token, and --page-size (server-side pages).
    page = wharf.aws("ecs", "list-task-definitions", "--max-items", "4").json
    assert page["taskDefinitionArns"] == everything[:4]
    assert page.get("NextToken")
    rest = wharf.aws(
        "ecs", "list-task-definitions", "--max-items", "4", "--starting-token", page["NextToken"]
    ).json
    assert rest["taskDefinitionArns"] == everything[4:]
    assert not rest.get("NextToken")
    assert arns("--page-size", "1") == everything
    # The raw API pages too.
    first = ecs.list_task_definitions(maxResults=5)
    assert first["taskDefinitionArns"] == everything[:5] and first.get("nextToken")
    second = ecs.list_task_definitions(maxResults=5, nextToken=first["nextToken"])
    assert second["taskDefinitionArns"] == everything[5:] and not second.get("nextToken")

    families = wharf.aws("ecs", "list-task-definition-families").json["families"]
    assert families == ["api", "web", "web-worker"]
    prefixed = wharf.aws("ecs", "list-task-definition-families", "--family-prefix", "web").json
    assert prefixed["families"] == ["web", "web-worker"]

    ecs.deregister_task_definition(taskDefinition="api:1")
    active = wharf.aws("ecs", "list-task-definition-families", "--status", "ACTIVE").json
    assert active["families"] == ["web", "web-worker"]
    inactive = wharf.aws("ecs", "list-task-definition-families", "--status", "INACTIVE").json
    assert inactive["families"] == ["api"]
    assert arns("--status", "INACTIVE") == [td_arn("api", 1)]
    assert arns() == everything[1:]


def test_deregister_and_delete_task_definitions(wharf):
    ecs = wharf.boto3_client("ecs")
    source = load_fixture(SEED_003_TD)
    ecs.register_task_definition(**source)
    ecs.register_task_definition(**source)

    gone = wharf.aws(
        "ecs", "deregister-task-definition", "--task-definition", "news-api-task:1"
    ).json["taskDefinition"]
    assert gone["taskDefinitionArn"] == td_arn("news-api-task", 1)
    assert gone["status"] == "INACTIVE"
    # An INACTIVE revision can still be described; the family's latest ACTIVE one is 2.
    still = wharf.aws(
        "ecs", "describe-task-definition", "--task-definition", "news-api-task:1"
    ).json["taskDefinition"]
    assert still["status"] == "INACTIVE"
    assert still["containerDefinitions"][0]["name"] == "news-api"
    assert ecs.describe_task_definition(taskDefinition="news-api-task")["taskDefinition"][
        "revision"
    ] == 2
    # Revision numbers are never reused.
    assert ecs.register_task_definition(**source)["taskDefinition"]["revision"] == 3

    deleted = wharf.aws(
        "ecs", "delete-task-definitions", "--task-definitions", "news-api-task:1"
    ).json
    assert [td["taskDefinitionArn"] for td in deleted["taskDefinitions"]] == [
        td_arn("news-api-task", 1)
    ]
    assert deleted["taskDefinitions"][0]["status"] == "DELETE_IN_PROGRESS"
    assert deleted.get("failures", []) == []

    # Only INACTIVE revisions can be deleted: an ACTIVE one is refused (as a failure entry
    # or an error) and stays ACTIVE.
    refused = wharf.aws(
        "ecs", "delete-task-definitions", "--task-definitions", "news-api-task:2", check=False
    )
    if refused.returncode == 0:
        assert refused.json["taskDefinitions"] == []
        assert len(refused.json["failures"]) == 1, refused.json
        assert refused.json["failures"][0]["arn"].endswith("news-api-task:2")
        assert refused.json["failures"][0]["reason"]
    else:
        assert refused.returncode == 255 and (
            "(ClientException)" in refused.stderr or "(InvalidParameterException)" in refused.stderr
        ), refused.describe()
    assert ecs.describe_task_definition(taskDefinition="news-api-task:2")["taskDefinition"][
        "status"
    ] == "ACTIVE"


def _news_variant(**changes) -> dict:
    td = load_fixture(SEED_003_TD)
    td.update(changes)
    return td


def test_invalid_fargate_cpu_memory_pair_is_refused(wharf):
    url = wharf.write_json("bad.json", _news_variant(cpu="256", memory="4096"))
    result = wharf.aws_error(
        "ClientException", "ecs", "register-task-definition", "--cli-input-json", url
    )
    message = result.stderr
    assert "256" in message and "4096" in message, message

    ecs = wharf.boto3_client("ecs")
    for cpu, memory in (("512", "512"), ("4096", "2048"), ("1024", "1024"), ("256", "3072")):
        with pytest.raises(ecs.exceptions.ClientException):
            ecs.register_task_definition(**_news_variant(cpu=cpu, memory=memory))
    assert ecs.list_task_definition_families()["families"] == []

    # The documented Fargate combinations are accepted.
    valid = [
        ("256", "512"), ("256", "2048"), ("512", "1024"), ("512", "4096"), ("1024", "2048"),
        ("1024", "8192"), ("2048", "4096"), ("2048", "16384"), ("4096", "8192"),
        ("4096", "30720"), ("8192", "16384"), ("16384", "32768"),
    ]
    for revision, (cpu, memory) in enumerate(valid, start=1):
        td = ecs.register_task_definition(**_news_variant(cpu=cpu, memory=memory))
        assert td["taskDefinition"]["revision"] == revision
    # vCPU / GB notation is converted to units and MiB at registration.
    td = ecs.register_task_definition(**_news_variant(cpu="1 vCPU", memory="2 GB"))
    assert (td["taskDefinition"]["cpu"], td["taskDefinition"]["memory"]) == ("1024", "2048")


def test_fargate_requires_awsvpc(wharf):
    url = wharf.write_json("bridge.json", _news_variant(networkMode="bridge"))
    result = wharf.aws_error(
        "ClientException", "ecs", "register-task-definition", "--cli-input-json", url
    )
    assert "awsvpc" in result.stderr
    assert wharf.boto3_client("ecs").list_task_definition_families()["families"] == []


def test_task_definition_validation_errors(wharf):
    base = load_fixture(SEED_003_TD)
    duplicate = copy.deepcopy(base)
    duplicate["containerDefinitions"].append(copy.deepcopy(base["containerDefinitions"][0]))
    url = wharf.write_json("dup.json", duplicate)
    wharf.aws_error("ClientException", "ecs", "register-task-definition", "--cli-input-json", url)

    ecs = wharf.boto3_client("ecs")
    no_image = copy.deepcopy(base)
    del no_image["containerDefinitions"][0]["image"]
    with pytest.raises(ecs.exceptions.ClientException):
        ecs.register_task_definition(**no_image)
    with pytest.raises(ecs.exceptions.ClientException):
        ecs.register_task_definition(**{**base, "family": "bad family!"})
    assert ecs.list_task_definition_families()["families"] == []


def test_secrets_are_kept_as_references(wharf):
    td = load_fixture(SEED_003_TD)
    container = td["containerDefinitions"][0]
    container["environment"] = [e for e in container["environment"] if e["name"] == "REDIS_URL"]
    secrets = [
        {
            "name": "DATABASE_URL",
            "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:news-api/db-AbCdEf",
        },
        {
            "name": "NEWSAPI_KEY",
            "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/news-api/newsapi-key",
        },
    ]
    container["secrets"] = secrets
    url = wharf.write_json("secrets.json", td)
    registered = wharf.aws(
        "ecs", "register-task-definition", "--cli-input-json", url
    ).json["taskDefinition"]
    assert registered["containerDefinitions"][0]["secrets"] == secrets
    described = wharf.aws(
        "ecs", "describe-task-definition", "--task-definition", "news-api-task:1"
    ).json["taskDefinition"]
    got = described["containerDefinitions"][0]
    assert got["secrets"] == secrets
    assert [e["name"] for e in got["environment"]] == ["REDIS_URL"]
    names = {attr["name"] for attr in described["requiresAttributes"]}
    assert "ecs.capability.secrets.asm.environment-variables" in names, names
    assert "ecs.capability.secrets.ssm.environment-variables" in names, names


# ---------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------


def test_service_lifecycle(wharf):
    ecs, subnets, sg, network = service_prereqs(wharf)
    service = create_news_service(wharf, network)
    assert service["status"] == "ACTIVE"
    # Defaults for a REPLICA service without a deployment configuration.
    config = service["deploymentConfiguration"]
    assert config["maximumPercent"] == 200 and config["minimumHealthyPercent"] == 100
    assert config["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}
    assert service["schedulingStrategy"] == "REPLICA"
    assert service["deploymentController"] == {"type": "ECS"}

    listed = wharf.aws("ecs", "list-services", "--cluster", "news-api-cluster").json
    assert listed["serviceArns"] == [service_arn("news-api-cluster", "news-api-service")]
    cluster = wharf.aws(
        "ecs", "describe-clusters", "--clusters", "news-api-cluster"
    ).json["clusters"][0]
    assert cluster["activeServicesCount"] == 1

    described = wharf.aws(
        "ecs", "describe-services",
        "--cluster", "news-api-cluster",
        "--services", "news-api-service", "nope",
    ).json
    assert [s["serviceName"] for s in described["services"]] == ["news-api-service"]
    assert len(described["failures"]) == 1, described["failures"]
    assert described["failures"][0]["reason"] == "MISSING"
    assert described["failures"][0]["arn"].startswith("arn:aws:ecs:us-east-1:123456789012:service/")
    assert described["failures"][0]["arn"].endswith("/nope")

    updated = wharf.aws(
        "ecs", "update-service",
        "--cluster", "news-api-cluster",
        "--service", "news-api-service",
        "--task-definition", "news-api-task:2",
        "--desired-count", "3",
        "--force-new-deployment",
    ).json["service"]
    assert updated["desiredCount"] == 3
    assert updated["taskDefinition"] == td_arn("news-api-task", 2)
    assert primary(updated)["taskDefinition"] == td_arn("news-api-task", 2)

    # A cluster with an ACTIVE service cannot be deleted.
    wharf.aws_error(
        "ClusterContainsServicesException", "ecs", "delete-cluster", "--cluster", "news-api-cluster"
    )
    # A service scaled above 0 cannot be deleted without --force.
    wharf.aws_error(
        "InvalidParameterException",
        "ecs", "delete-service", "--cluster", "news-api-cluster", "--service", "news-api-service",
    )
    deleted = wharf.aws(
        "ecs", "delete-service",
        "--cluster", "news-api-cluster", "--service", "news-api-service", "--force",
    ).json["service"]
    assert deleted["status"] == "DRAINING"
    after = ecs.describe_services(cluster="news-api-cluster", services=["news-api-service"])
    if after["services"]:
        assert after["services"][0]["status"] in ("DRAINING", "INACTIVE")
    else:
        assert after["failures"][0]["reason"] == "MISSING"
    wharf.aws_error(
        ("ServiceNotActiveException", "ServiceNotFoundException"),
        "ecs", "update-service",
        "--cluster", "news-api-cluster", "--service", "news-api-service", "--desired-count", "1",
    )


def test_delete_service_scaled_to_zero(wharf):
    ecs, _, _, network = service_prereqs(wharf, revisions=1)
    create_news_service(wharf, network)
    ecs.update_service(cluster="news-api-cluster", service="news-api-service", desiredCount=0)
    deleted = wharf.aws(
        "ecs", "delete-service", "--cluster", "news-api-cluster", "--service", "news-api-service"
    ).json["service"]
    assert deleted["status"] == "DRAINING"
    assert deleted["desiredCount"] == 0


def test_service_errors(wharf):
    ecs, _, _, network = service_prereqs(wharf, revisions=2)
    create_news_service(wharf, network)

    wharf.aws_error(
        "ServiceNotFoundException",
        "ecs", "update-service", "--cluster", "news-api-cluster", "--service", "nope",
        "--desired-count", "1",
    )
    wharf.aws_error(
        "ClusterNotFoundException",
        "ecs", "update-service", "--cluster", "nope", "--service", "news-api-service",
        "--desired-count", "1",
    )
    wharf.aws_error(
        "ClusterNotFoundException",
        "ecs", "describe-services", "--cluster", "nope", "--services", "news-api-service",
    )
    wharf.aws_error("ClusterNotFoundException", "ecs", "list-services", "--cluster", "nope")
    wharf.aws_error(
        "ClusterNotFoundException",
        "ecs", "create-service", "--cluster", "nope", "--service-name", "x",
        "--task-definition", "news-api-task:1", "--desired-count", "1",
        "--launch-type", "FARGATE", "--network-configuration", network,
    )
    # awsvpc task definitions need a network configuration.
    wharf.aws_error(
        "InvalidParameterException",
        "ecs", "create-service", "--cluster", "news-api-cluster", "--service-name", "no-net",
        "--task-definition", "news-api-task:1", "--desired-count", "1",
        "--launch-type", "FARGATE",
    )
    # INACTIVE and unknown task definitions cannot back a new service.
    ecs.deregister_task_definition(taskDefinition="news-api-task:2")
    wharf.aws_error(
        ("InvalidParameterException", "ClientException"),
        "ecs", "create-service", "--cluster", "news-api-cluster", "--service-name", "stale",
        "--task-definition", "news-api-task:2", "--desired-count", "1",
        "--launch-type", "FARGATE", "--network-configuration", network,
    )
    wharf.aws_error(
        ("InvalidParameterException", "ClientException"),
        "ecs", "create-service", "--cluster", "news-api-cluster", "--service-name", "ghost",
        "--task-definition", "no-such-family:1", "--desired-count", "1",
        "--launch-type", "FARGATE", "--network-configuration", network,
    )
    # None of the refused calls left a service behind.
    assert ecs.list_services(cluster="news-api-cluster")["serviceArns"] == [
        service_arn("news-api-cluster", "news-api-service")
    ]


# ---------------------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------------------


def test_tags_on_cluster_task_definition_and_service(wharf):
    created = wharf.aws(
        "ecs", "create-cluster", "--cluster-name", "news-api-cluster",
        "--tags", "key=env,value=dev",
    ).json["cluster"]
    assert created["clusterArn"] == cluster_arn("news-api-cluster")
    ecs = wharf.boto3_client("ecs")
    ecs.register_task_definition(**load_fixture(SEED_003_TD))
    _, subnets, sg = default_network(wharf)
    svc = ecs.create_service(
        cluster="news-api-cluster",
        serviceName="news-api-service",
        taskDefinition="news-api-task:1",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
        tags=[{"key": "tier", "value": "web"}],
    )["service"]
    assert svc["serviceArn"] == service_arn("news-api-cluster", "news-api-service")

    resources = {
        cluster_arn("news-api-cluster"): {"env": "dev"},
        td_arn("news-api-task", 1): {},
        service_arn("news-api-cluster", "news-api-service"): {"tier": "web"},
    }
    for arn, initial in resources.items():
        wharf.aws(
            "ecs", "tag-resource", "--resource-arn", arn,
            "--tags", "key=team,value=news", "key=cost-center,value=42",
        )
        tags = wharf.aws("ecs", "list-tags-for-resource", "--resource-arn", arn).json["tags"]
        assert tag_dict(tags) == {**initial, "team": "news", "cost-center": "42"}, arn
        wharf.aws("ecs", "untag-resource", "--resource-arn", arn, "--tag-keys", "cost-center")
        tags = ecs.list_tags_for_resource(resourceArn=arn)["tags"]
        assert tag_dict(tags) == {**initial, "team": "news"}, arn

    # Re-tagging a key overwrites its value.
    ecs.tag_resource(
        resourceArn=cluster_arn("news-api-cluster"), tags=[{"key": "env", "value": "prod"}]
    )
    described = wharf.aws(
        "ecs", "describe-clusters", "--clusters", "news-api-cluster", "--include", "TAGS"
    ).json["clusters"][0]
    assert tag_dict(described["tags"]) == {"env": "prod", "team": "news"}
    described = ecs.describe_services(
        cluster="news-api-cluster", services=["news-api-service"], include=["TAGS"]
    )["services"][0]
    assert tag_dict(described["tags"]) == {"tier": "web", "team": "news"}
