"""STS, IAM and EC2 (VPC, subnets, security groups) as the seeds use them: the account id
for image URIs, the task execution role, the default VPC's subnets and the security
groups of the tasks and the load balancer."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID, FIXTURES

EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
TRUST_POLICY = json.loads((FIXTURES / "ecs-trust-policy.json").read_text())


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


# ---------------------------------------------------------------------------------------
# STS
# ---------------------------------------------------------------------------------------


def test_sts_get_caller_identity(wharf, cli):
    # ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)  (seeds 002, 004)
    out = wharf.aws("sts", "get-caller-identity", "--query", "Account", "--output", "text", cli=cli)
    assert out.stdout == f"{ACCOUNT_ID}\n"
    identity = wharf.aws("sts", "get-caller-identity", cli=cli).json
    assert identity["Account"] == ACCOUNT_ID
    # The data directory's credentials are the account's root credentials.
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert identity["UserId"] == ACCOUNT_ID


# ---------------------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------------------


def test_iam_task_execution_role_lifecycle(wharf):
    """Seed 003's role commands, then what a user meets when cleaning up."""
    wharf.put_fixture("ecs-trust-policy.json")
    role = wharf.aws(
        "iam", "create-role",
        "--role-name", "ecsTaskExecutionRole",
        "--assume-role-policy-document", "file://ecs-trust-policy.json",
    ).json["Role"]
    assert role["RoleName"] == "ecsTaskExecutionRole"
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/ecsTaskExecutionRole"
    assert role["Path"] == "/"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role["RoleId"]), role["RoleId"]
    assert role.get("CreateDate")
    assert role["AssumeRolePolicyDocument"] == TRUST_POLICY

    # "create-role then reports EntityAlreadyExists and you can move on" (seed 003).
    wharf.aws_error(
        "EntityAlreadyExists",
        "iam", "create-role",
        "--role-name", "ecsTaskExecutionRole",
        "--assume-role-policy-document", "file://ecs-trust-policy.json",
    )

    got = wharf.aws("iam", "get-role", "--role-name", "ecsTaskExecutionRole").json["Role"]
    assert got["Arn"] == role["Arn"] and got["RoleId"] == role["RoleId"]
    assert got["AssumeRolePolicyDocument"] == TRUST_POLICY
    assert got["MaxSessionDuration"] == 3600

    wharf.aws(
        "iam", "attach-role-policy",
        "--role-name", "ecsTaskExecutionRole",
        "--policy-arn", EXECUTION_POLICY_ARN,
    )
    attached = wharf.aws(
        "iam", "list-attached-role-policies", "--role-name", "ecsTaskExecutionRole"
    ).json
    assert attached["AttachedPolicies"] == [
        {"PolicyName": "AmazonECSTaskExecutionRolePolicy", "PolicyArn": EXECUTION_POLICY_ARN}
    ]

    wharf.aws_error("DeleteConflict", "iam", "delete-role", "--role-name", "ecsTaskExecutionRole")

    wharf.aws(
        "iam", "detach-role-policy",
        "--role-name", "ecsTaskExecutionRole",
        "--policy-arn", EXECUTION_POLICY_ARN,
    )
    attached = wharf.aws(
        "iam", "list-attached-role-policies", "--role-name", "ecsTaskExecutionRole"
    ).json
    assert attached["AttachedPolicies"] == []
    wharf.aws("iam", "delete-role", "--role-name", "ecsTaskExecutionRole")
    wharf.aws_error("NoSuchEntity", "iam", "get-role", "--role-name", "ecsTaskExecutionRole")


def test_iam_errors(wharf):
    iam = wharf.boto3_client("iam")
    policy = json.dumps(TRUST_POLICY)
    with pytest.raises(ClientError) as exc:
        iam.attach_role_policy(RoleName="nope", PolicyArn=EXECUTION_POLICY_ARN)
    assert error_code(exc) == "NoSuchEntity"

    iam.create_role(RoleName="blog-api-task-role", AssumeRolePolicyDocument=policy)
    with pytest.raises(ClientError) as exc:
        iam.attach_role_policy(
            RoleName="blog-api-task-role", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy"
        )
    assert error_code(exc) == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName="broken", AssumeRolePolicyDocument="{not json")
    assert error_code(exc) == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as exc:
        iam.detach_role_policy(RoleName="blog-api-task-role", PolicyArn=EXECUTION_POLICY_ARN)
    assert error_code(exc) == "NoSuchEntity"

    names = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert "blog-api-task-role" in names and "broken" not in names
    # IAM is global: the role is visible whatever region the client signs for.
    other = wharf.boto3_client("iam", region="eu-west-1")
    assert other.get_role(RoleName="blog-api-task-role")["Role"]["RoleName"] == "blog-api-task-role"


# ---------------------------------------------------------------------------------------
# EC2: default VPC and subnets
# ---------------------------------------------------------------------------------------


def test_default_vpc_and_subnets(wharf):
    vpc_id = wharf.aws(
        "ec2", "describe-vpcs",
        "--filters", "Name=isDefault,Values=true",
        "--query", "Vpcs[0].VpcId",
        "--output", "text",
    ).stdout.strip()
    assert re.fullmatch(r"vpc-[0-9a-f]{8}([0-9a-f]{9})?", vpc_id), vpc_id

    vpcs = wharf.aws("ec2", "describe-vpcs", "--vpc-ids", vpc_id).json["Vpcs"]
    assert len(vpcs) == 1
    vpc = vpcs[0]
    assert vpc["IsDefault"] is True
    assert vpc["State"] == "available"
    assert vpc["CidrBlock"] == "172.31.0.0/16"
    assert vpc["OwnerId"] == ACCOUNT_ID
    network = ipaddress.ip_network(vpc["CidrBlock"])

    subnets = wharf.aws(
        "ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpc_id}"
    ).json["Subnets"]
    assert len(subnets) >= 2
    zones = [s["AvailabilityZone"] for s in subnets]
    assert len(set(zones)) == len(zones), f"one default subnet per zone: {zones}"
    cidrs = []
    for subnet in subnets:
        assert re.fullmatch(r"subnet-[0-9a-f]{8}([0-9a-f]{9})?", subnet["SubnetId"])
        assert subnet["VpcId"] == vpc_id
        assert subnet["DefaultForAz"] is True
        assert subnet["MapPublicIpOnLaunch"] is True
        assert subnet["State"] == "available"
        assert re.fullmatch(r"us-east-1[a-z]", subnet["AvailabilityZone"])
        cidr = ipaddress.ip_network(subnet["CidrBlock"])
        assert cidr.subnet_of(network)
        cidrs.append(cidr)
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])

    # Every region has its own default VPC with subnets in that region's zones.
    ec2 = wharf.boto3_client("ec2", region="eu-west-1")
    west_vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    assert len(west_vpc) == 1 and west_vpc[0]["VpcId"] != vpc_id
    west_subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [west_vpc[0]["VpcId"]]}]
    )["Subnets"]
    assert len(west_subnets) >= 2
    assert all(s["AvailabilityZone"].startswith("eu-west-1") for s in west_subnets)


# ---------------------------------------------------------------------------------------
# EC2: security groups
# ---------------------------------------------------------------------------------------


def _rules(permissions):
    """Flatten IpPermissions into comparable tuples."""
    out = set()
    for p in permissions:
        key = (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"))
        for r in p.get("IpRanges", []):
            out.add((*key, "cidr", r["CidrIp"]))
        for g in p.get("UserIdGroupPairs", []):
            out.add((*key, "group", g["GroupId"]))
    return out


def test_security_groups_and_rules(wharf):
    vpc_id = wharf.aws(
        "ec2", "describe-vpcs",
        "--filters", "Name=isDefault,Values=true",
        "--query", "Vpcs[0].VpcId",
        "--output", "text",
    ).stdout.strip()

    def create(name, description):
        return wharf.aws(
            "ec2", "create-security-group",
            "--group-name", name,
            "--description", description,
            "--vpc-id", vpc_id,
            "--query", "GroupId",
            "--output", "text",
        ).stdout.strip()

    ecs_sg = create("news-api-ecs-sg", "Security group for News API ECS tasks")
    alb_sg = create("news-api-alb-sg", "Security group for the News API load balancer")
    assert re.fullmatch(r"sg-[0-9a-f]{8}([0-9a-f]{9})?", ecs_sg), ecs_sg
    assert ecs_sg != alb_sg
    wharf.aws_error(
        "InvalidGroup.Duplicate",
        "ec2", "create-security-group",
        "--group-name", "news-api-ecs-sg", "--description", "again", "--vpc-id", vpc_id,
    )

    # A new group allows all outbound traffic already.
    wharf.aws_error(
        "InvalidPermission.Duplicate",
        "ec2", "authorize-security-group-egress",
        "--group-id", ecs_sg, "--protocol", "-1", "--cidr", "0.0.0.0/0",
    )
    # sg-alb: 80, 443 from anywhere; sg-fargate: 8000 only from sg-alb (seed 002).
    for port in ("80", "443"):
        wharf.aws(
            "ec2", "authorize-security-group-ingress",
            "--group-id", alb_sg, "--protocol", "tcp", "--port", port, "--cidr", "0.0.0.0/0",
        )
    wharf.aws(
        "ec2", "authorize-security-group-ingress",
        "--group-id", ecs_sg, "--protocol", "tcp", "--port", "8000", "--source-group", alb_sg,
    )
    wharf.aws(
        "ec2", "authorize-security-group-ingress",
        "--group-id", ecs_sg, "--protocol", "tcp", "--port", "8000", "--cidr", "203.0.113.7/32",
    )
    wharf.aws_error(
        "InvalidPermission.Duplicate",
        "ec2", "authorize-security-group-ingress",
        "--group-id", ecs_sg, "--protocol", "tcp", "--port", "8000", "--cidr", "203.0.113.7/32",
    )
    wharf.aws_error(
        "InvalidGroup.NotFound",
        "ec2", "authorize-security-group-ingress",
        "--group-id", ecs_sg, "--protocol", "tcp", "--port", "5432",
        "--source-group", "sg-0123456789abcdef0",
    )

    groups = wharf.aws(
        "ec2", "describe-security-groups", "--group-ids", ecs_sg, alb_sg
    ).json["SecurityGroups"]
    by_id = {g["GroupId"]: g for g in groups}
    assert set(by_id) == {ecs_sg, alb_sg}
    ecs = by_id[ecs_sg]
    assert ecs["GroupName"] == "news-api-ecs-sg"
    assert ecs["Description"] == "Security group for News API ECS tasks"
    assert ecs["VpcId"] == vpc_id
    assert ecs["OwnerId"] == ACCOUNT_ID
    assert _rules(ecs["IpPermissions"]) == {
        ("tcp", 8000, 8000, "group", alb_sg),
        ("tcp", 8000, 8000, "cidr", "203.0.113.7/32"),
    }
    assert _rules(ecs["IpPermissionsEgress"]) == {("-1", None, None, "cidr", "0.0.0.0/0")}
    assert _rules(by_id[alb_sg]["IpPermissions"]) == {
        ("tcp", 80, 80, "cidr", "0.0.0.0/0"),
        ("tcp", 443, 443, "cidr", "0.0.0.0/0"),
    }
    # Filters work as in seed 003's look-ups.
    named = wharf.aws(
        "ec2", "describe-security-groups",
        "--filters", "Name=group-name,Values=news-api-ecs-sg", f"Name=vpc-id,Values={vpc_id}",
        "--query", "SecurityGroups[0].GroupId",
        "--output", "text",
    ).stdout.strip()
    assert named == ecs_sg

    # Seed 003's tightening step: drop the CIDR rule, keep the source-group rule.
    wharf.aws(
        "ec2", "revoke-security-group-ingress",
        "--group-id", ecs_sg, "--protocol", "tcp", "--port", "8000", "--cidr", "203.0.113.7/32",
    )
    ec2 = wharf.boto3_client("ec2")
    remaining = ec2.describe_security_groups(GroupIds=[ecs_sg])["SecurityGroups"][0]
    assert _rules(remaining["IpPermissions"]) == {("tcp", 8000, 8000, "group", alb_sg)}

    # A group that another group's rule references cannot be deleted.
    wharf.aws_error("DependencyViolation", "ec2", "delete-security-group", "--group-id", alb_sg)
    wharf.aws(
        "ec2", "revoke-security-group-ingress",
        "--group-id", ecs_sg, "--protocol", "tcp", "--port", "8000", "--source-group", alb_sg,
    )
    wharf.aws("ec2", "delete-security-group", "--group-id", alb_sg)
    wharf.aws("ec2", "delete-security-group", "--group-id", ecs_sg)
    wharf.aws_error(
        "InvalidGroup.NotFound", "ec2", "describe-security-groups", "--group-ids", ecs_sg
    )
    # The default VPC's own `default` group is still there.
    default = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    assert len(default) == 1
