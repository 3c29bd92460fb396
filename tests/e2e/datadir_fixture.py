"""A data directory written by an older wharf, and what a newer wharf must find in it.

``populate`` creates one of everything a user keeps in wharf (ECS clusters, task definitions,
services and tasks; an ECR repository with an image; a secret, parameters, a load balancer
with its listener and target group, log events, an IAM role, a security group, a
certificate); ``observe`` reads all of it back with boto3, as comparable JSON (times, and
what depends on the server's port, left out).

The checked-in fixture ``fixtures/datadir-v1/`` (store layout 1: before the store was
versioned) was made by running this module against that wharf:

    .deps/venv/bin/python tests/e2e/datadir_fixture.py --binary target/debug/wharf \\
        --out tests/e2e/fixtures/datadir-v1

which writes the data directory (stopped cleanly, the database checkpointed) and
``expected.json`` beside it. test_store_upgrade.py opens a copy with today's wharf and compares.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from wharf_e2e import ACCOUNT_ID, FIXTURES, Registry, Wharf, wait_until

CLUSTER = "fixture-cluster"
FAMILY = "fixture-app"
SERVICE = "fixture-svc"
REPO = "fixture/app"
SECRET = "fixture/db"
LOG_GROUP = "/fixture/app"
ROLE = "fixtureTaskRole"
SG_NAME = "fixture-tasks"
LB_NAME = "fixture-alb"
TG_NAME = "fixture-tg"
# A listener port the restored server binds again; high and unusual, so that it is free.
LISTENER_PORT = 47613
EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"

# Keys whose values change with the time or the server's port, not with the stored data.
VOLATILE = {
    "ResponseMetadata",
    "repositoryUri",
    "registryId_uri",
    "events",
    "LastModifiedDate",
    "LastAccessedDate",
    "lastEvaluatedAt",
    "NextToken",
    "nextToken",
}


def task_definition(revision_note: str) -> dict:
    td = json.loads((FIXTURES / "news-api-task-definition.json").read_text())
    td["family"] = FAMILY
    td["containerDefinitions"][0]["environment"].append({"name": "NOTE", "value": revision_note})
    return td


def clients(wharf: Wharf) -> tuple:
    """boto3 clients of every service the fixture uses, in a fixed order."""
    return tuple(
        wharf.boto3_client(name)
        for name in ("ecs", "ec2", "iam", "ecr", "secretsmanager", "ssm", "logs", "elbv2", "acm")
    )


def populate(wharf: Wharf) -> None:
    ecs, ec2, iam, ecr, sm, ssm, logs, elbv2, acm = clients(wharf)

    iam.create_role(
        RoleName=ROLE,
        AssumeRolePolicyDocument=(FIXTURES / "ecs-trust-policy.json").read_text(),
        Description="fixture",
    )
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=EXECUTION_POLICY_ARN)

    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = sorted(
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    )
    sg = ec2.create_security_group(
        GroupName=SG_NAME, Description="fixture tasks", VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "tier", "Value": "app"}]}],
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}
        ],
    )

    ecs.create_cluster(clusterName=CLUSTER, tags=[{"key": "env", "value": "fixture"}])
    for note in ("one", "two", "three"):
        ecs.register_task_definition(**task_definition(note))
    ecs.deregister_task_definition(taskDefinition=f"{FAMILY}:1")

    lb = elbv2.create_load_balancer(Name=LB_NAME, Subnets=subnets[:2], SecurityGroups=[sg])["LoadBalancers"][0]
    tg = elbv2.create_target_group(
        Name=TG_NAME, Protocol="HTTP", Port=8000, VpcId=vpc_id, TargetType="ip",
        HealthCheckPath="/health",
    )["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=LISTENER_PORT,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )
    elbv2.add_tags(ResourceArns=[lb["LoadBalancerArn"]], Tags=[{"Key": "app", "Value": "fixture"}])

    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=f"{FAMILY}:2",
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg], "assignPublicIp": "ENABLED"}
        },
        loadBalancers=[{"targetGroupArn": tg["TargetGroupArn"], "containerName": "news-api", "containerPort": 8000}],
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 50,
        },
        tags=[{"key": "team", "value": "fixture"}],
    )
    ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=f"{FAMILY}:3")

    # A task that cannot start (its image exists nowhere): its record ends STOPPED.
    run = ecs.run_task(
        cluster=CLUSTER,
        taskDefinition=f"{FAMILY}:3",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets[:1], "assignPublicIp": "DISABLED"}},
        startedBy="fixture",
    )
    task_arn = run["tasks"][0]["taskArn"]
    wait_until(
        lambda: ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"][0]["lastStatus"] == "STOPPED",
        "the fixture task to stop",
        deadline=120,
    )

    ecr.create_repository(
        repositoryName=REPO, imageTagMutability="IMMUTABLE", tags=[{"Key": "app", "Value": "fixture"}]
    )
    ecr.put_lifecycle_policy(
        repositoryName=REPO,
        lifecyclePolicyText=json.dumps(
            {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5}, "action": {"type": "expire"}}]}
        ),
    )
    import base64

    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    password = base64.b64decode(token).decode().partition(":")[2]
    Registry(wharf.endpoint, "AWS", password).push_small_image(REPO, "v1", seed="fixture")

    sm.create_secret(Name=SECRET, SecretString='{"user":"app","password":"first"}', Tags=[{"Key": "app", "Value": "fixture"}])
    sm.put_secret_value(SecretId=SECRET, SecretString='{"user":"app","password":"second"}')
    ssm.put_parameter(Name="/fixture/plain", Value="hello", Type="String", Tags=[{"Key": "app", "Value": "fixture"}])
    ssm.put_parameter(Name="/fixture/secret", Value="s3cret-1", Type="SecureString")
    ssm.put_parameter(Name="/fixture/secret", Value="s3cret-2", Type="SecureString", Overwrite=True)

    logs.create_log_group(logGroupName=LOG_GROUP, tags={"app": "fixture"})
    logs.put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=7)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="s1")
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName="s1",
        logEvents=[{"timestamp": 1_767_225_600_000 + i, "message": f"line {i}"} for i in range(3)],
    )

    acm.request_certificate(DomainName="fixture.example.com", ValidationMethod="DNS")


def strip(value):
    """The JSON of a boto3 answer without what changes with time or port."""
    if isinstance(value, dict):
        return {k: strip(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [strip(v) for v in value]
    if hasattr(value, "isoformat"):
        return "<time>"
    return value


def observe(wharf: Wharf) -> dict:
    """Everything populate() stored, read back (comparable JSON)."""
    ecs, ec2, iam, ecr, sm, ssm, logs, elbv2, acm = clients(wharf)

    out: dict = {}
    out["clusters"] = ecs.describe_clusters(clusters=[CLUSTER], include=["TAGS"])["clusters"]
    out["task_definitions"] = ecs.list_task_definitions()["taskDefinitionArns"]
    out["task_definition_1"] = ecs.describe_task_definition(taskDefinition=f"{FAMILY}:1", include=["TAGS"])
    out["task_definition_3"] = ecs.describe_task_definition(taskDefinition=f"{FAMILY}:3", include=["TAGS"])
    services = ecs.describe_services(cluster=CLUSTER, services=[SERVICE], include=["TAGS"])["services"]
    for s in services:
        # Counts and deployment rollout state are live, computed from tasks by the controller.
        for d in s.get("deployments", []):
            d.pop("rolloutStateReason", None)
    out["services"] = services
    task_arns = ecs.list_tasks(cluster=CLUSTER, desiredStatus="STOPPED")["taskArns"]
    out["tasks"] = ecs.describe_tasks(cluster=CLUSTER, tasks=task_arns, include=["TAGS"])["tasks"]

    out["repositories"] = ecr.describe_repositories(repositoryNames=[REPO])["repositories"]
    out["images"] = ecr.describe_images(repositoryName=REPO)["imageDetails"]
    out["image"] = ecr.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])["images"]
    out["lifecycle_policy"] = ecr.get_lifecycle_policy(repositoryName=REPO)["lifecyclePolicyText"]
    out["repository_tags"] = ecr.list_tags_for_resource(resourceArn=out["repositories"][0]["repositoryArn"])["tags"]

    out["secret"] = sm.describe_secret(SecretId=SECRET)
    out["secret_value"] = sm.get_secret_value(SecretId=SECRET)["SecretString"]
    out["secret_versions"] = sm.list_secret_version_ids(SecretId=SECRET)["Versions"]
    out["parameters"] = ssm.get_parameters(Names=["/fixture/plain", "/fixture/secret"], WithDecryption=True)["Parameters"]
    out["parameter_history"] = ssm.get_parameter_history(Name="/fixture/secret", WithDecryption=True)["Parameters"]

    out["load_balancers"] = elbv2.describe_load_balancers(Names=[LB_NAME])["LoadBalancers"]
    lb_arn = out["load_balancers"][0]["LoadBalancerArn"]
    out["listeners"] = elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    out["target_groups"] = elbv2.describe_target_groups(Names=[TG_NAME])["TargetGroups"]
    out["lb_tags"] = elbv2.describe_tags(ResourceArns=[lb_arn])["TagDescriptions"]

    out["log_groups"] = logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    out["log_events"] = [
        {"timestamp": e["timestamp"], "message": e["message"]}
        for e in logs.get_log_events(logGroupName=LOG_GROUP, logStreamName="s1", startFromHead=True)["events"]
    ]

    out["role"] = iam.get_role(RoleName=ROLE)["Role"]
    out["role_policies"] = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    out["security_groups"] = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [SG_NAME]}]
    )["SecurityGroups"]
    out["certificates"] = [
        acm.describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"]
        for c in acm.list_certificates()["CertificateSummaryList"]
    ]
    return json.loads(json.dumps(strip(out), default=str))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, type=Path, help="the wharf binary that writes the fixture")
    parser.add_argument("--out", required=True, type=Path, help="directory to write (replaced)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wharf = Wharf(args.binary.resolve(), Path(tmp))
        try:
            populate(wharf)
            expected = observe(wharf)
        finally:
            code, killed = wharf.stop()
        if killed or code not in (0, None):
            print(f"wharf did not stop cleanly (status {code})", file=sys.stderr)
            return 1
        shutil.rmtree(args.out, ignore_errors=True)
        data = Path(tmp) / "data"
        shutil.copytree(
            data, args.out / "data",
            ignore=shutil.ignore_patterns("endpoint", "*.db-wal", "*.db-shm", "uploads"),
        )
        (args.out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
