"""Durability: every acknowledged mutation is on disk. The server is killed with SIGKILL
(no chance to flush anything) and restarted on the same data directory; everything a
user created is still there and numbering carries on. Also: SIGTERM is a clean stop, and
concurrent registrations get distinct, gap-free revisions."""

from __future__ import annotations

import json
import threading

from wharf_e2e import ACCOUNT_ID, FIXTURES

EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def news_td(**changes) -> dict:
    td = json.loads((FIXTURES / "news-api-task-definition.json").read_text())
    td.update(changes)
    return td


def td_arn(family: str, revision: int) -> str:
    return f"arn:aws:ecs:us-east-1:{ACCOUNT_ID}:task-definition/{family}:{revision}"


def populate(wharf) -> dict:
    """Create one of everything (boto3 for speed); returns what to look for afterwards."""
    ecs = wharf.boto3_client("ecs")
    ec2 = wharf.boto3_client("ec2")
    iam = wharf.boto3_client("iam")

    ecs.create_cluster(clusterName="news-api-cluster", tags=[{"key": "env", "value": "prod"}])
    ecs.create_cluster(clusterName="scratch")
    for _ in range(3):
        ecs.register_task_definition(**news_td())
    ecs.deregister_task_definition(taskDefinition="news-api-task:1")

    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0][
        "VpcId"
    ]
    subnets = sorted(
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    )
    sg = ec2.create_security_group(
        GroupName="news-api-ecs-sg", Description="tasks", VpcId=vpc_id
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000,
             "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}
        ],
    )

    iam.create_role(
        RoleName="ecsTaskExecutionRole",
        AssumeRolePolicyDocument=(FIXTURES / "ecs-trust-policy.json").read_text(),
    )
    iam.attach_role_policy(RoleName="ecsTaskExecutionRole", PolicyArn=EXECUTION_POLICY_ARN)

    ecs.create_service(
        cluster="news-api-cluster",
        serviceName="news-api-service",
        taskDefinition="news-api-task:2",
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": subnets, "securityGroups": [sg], "assignPublicIp": "ENABLED"
            }
        },
    )
    ecs.update_service(
        cluster="news-api-cluster", service="news-api-service",
        taskDefinition="news-api-task:3", desiredCount=3,
    )
    # The last acknowledged write before the kill.
    ecs.delete_cluster(cluster="scratch")
    return {"vpc_id": vpc_id, "subnets": subnets, "sg": sg}


def verify(wharf, expected: dict) -> None:
    """Check with the AWS CLI, as a user would after the restart."""
    clusters = wharf.aws(
        "ecs", "describe-clusters", "--clusters", "news-api-cluster", "--include", "TAGS"
    ).json["clusters"]
    assert clusters[0]["status"] == "ACTIVE"
    assert clusters[0]["activeServicesCount"] == 1
    assert {t["key"]: t["value"] for t in clusters[0]["tags"]} == {"env": "prod"}
    listed = wharf.aws("ecs", "list-clusters").json["clusterArns"]
    assert f"arn:aws:ecs:us-east-1:{ACCOUNT_ID}:cluster/news-api-cluster" in listed
    # The deletion of `scratch` (the last write before the kill) held.
    scratch = wharf.aws("ecs", "describe-clusters", "--clusters", "scratch").json
    assert [c["status"] for c in scratch["clusters"]] in (["INACTIVE"], [])

    arns = wharf.aws("ecs", "list-task-definitions").json["taskDefinitionArns"]
    assert arns == [td_arn("news-api-task", 2), td_arn("news-api-task", 3)]
    first = wharf.aws(
        "ecs", "describe-task-definition", "--task-definition", "news-api-task:1"
    ).json["taskDefinition"]
    assert first["status"] == "INACTIVE"
    env = first["containerDefinitions"][0]["environment"]
    want = news_td()["containerDefinitions"][0]["environment"]
    assert sorted(env, key=lambda e: e["name"]) == sorted(want, key=lambda e: e["name"])

    service = wharf.aws(
        "ecs", "describe-services", "--cluster", "news-api-cluster", "--services", "news-api-service"
    ).json["services"][0]
    assert service["status"] == "ACTIVE"
    assert service["desiredCount"] == 3
    assert service["taskDefinition"] == td_arn("news-api-task", 3)
    assert sorted(service["networkConfiguration"]["awsvpcConfiguration"]["subnets"]) == expected[
        "subnets"
    ]
    primaries = [d for d in service["deployments"] if d["status"] == "PRIMARY"]
    assert [d["taskDefinition"] for d in primaries] == [td_arn("news-api-task", 3)]

    role = wharf.aws("iam", "get-role", "--role-name", "ecsTaskExecutionRole").json["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/ecsTaskExecutionRole"
    attached = wharf.aws(
        "iam", "list-attached-role-policies", "--role-name", "ecsTaskExecutionRole"
    ).json["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [EXECUTION_POLICY_ARN]

    # The default VPC keeps its id: task network configurations refer to it.
    vpc_id = wharf.aws(
        "ec2", "describe-vpcs",
        "--filters", "Name=isDefault,Values=true",
        "--query", "Vpcs[0].VpcId",
        "--output", "text",
    ).stdout.strip()
    assert vpc_id == expected["vpc_id"]
    group = wharf.aws(
        "ec2", "describe-security-groups", "--group-ids", expected["sg"]
    ).json["SecurityGroups"][0]
    assert group["GroupName"] == "news-api-ecs-sg"
    assert [
        (p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]])
        for p in group["IpPermissions"]
    ] == [("tcp", 8000, 8000, ["10.0.0.0/16"])]


def test_state_survives_kill_9(wharf):
    credentials = wharf.credentials
    expected = populate(wharf)
    old_endpoint = wharf.endpoint

    wharf.restart()  # SIGKILL right after the last acknowledged write, then start again

    assert wharf.server.running()
    # The root credentials are kept, not regenerated.
    assert wharf.credentials == credentials
    if wharf.endpoint != old_endpoint:
        assert wharf.server.endpoint_file.read_text().strip() == wharf.endpoint
    verify(wharf, expected)

    # Numbering continues from the last revision.
    td = wharf.aws(
        "ecs", "register-task-definition",
        "--cli-input-json", wharf.write_json("td.json", news_td()),
    ).json["taskDefinition"]
    assert td["revision"] == 4

    # And a second crash keeps that write too.
    wharf.restart()
    arns = wharf.boto3_client("ecs").list_task_definitions()["taskDefinitionArns"]
    assert arns[-1] == td_arn("news-api-task", 4)


def test_sigterm_stops_gracefully(wharf):
    ecs = wharf.boto3_client("ecs")
    ecs.create_cluster(clusterName="before-stop")
    code, killed = wharf.stop()
    assert not killed, "wharf did not exit within 10 s of SIGTERM"
    assert code == 0, f"wharf exited with status {code} on SIGTERM:\n{wharf.log_text()}"
    wharf.start()
    clusters = wharf.boto3_client("ecs").list_clusters()["clusterArns"]
    assert clusters == [f"arn:aws:ecs:us-east-1:{ACCOUNT_ID}:cluster/before-stop"]


def test_concurrent_register_task_definition(wharf):
    threads_n, per_thread = 8, 5
    total = threads_n * per_thread
    clients = [wharf.boto3_client("ecs") for _ in range(threads_n)]
    barrier = threading.Barrier(threads_n)
    revisions: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            for i in range(per_thread):
                td = news_td()
                td["containerDefinitions"][0]["environment"] = [
                    {"name": "WRITER", "value": f"{index}-{i}"}
                ]
                response = clients[index].register_task_definition(**td)
                with lock:
                    revisions.append(response["taskDefinition"]["revision"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "registrations did not finish"
    assert not errors, errors
    assert sorted(revisions) == list(range(1, total + 1))

    # Each revision holds the definition its writer sent.
    ecs = wharf.boto3_client("ecs")
    paginator = ecs.get_paginator("list_task_definitions")
    arns = [a for page in paginator.paginate(PaginationConfig={"PageSize": 7})
            for a in page["taskDefinitionArns"]]
    assert arns == [td_arn("news-api-task", r) for r in range(1, total + 1)]
    writers = {
        ecs.describe_task_definition(taskDefinition=f"news-api-task:{r}")["taskDefinition"][
            "containerDefinitions"
        ][0]["environment"][0]["value"]
        for r in range(1, total + 1)
    }
    assert len(writers) == total

    wharf.restart()
    after = wharf.boto3_client("ecs").register_task_definition(**news_td())
    assert after["taskDefinition"]["revision"] == total + 1
