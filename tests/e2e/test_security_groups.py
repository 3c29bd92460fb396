"""Security groups that really filter (issue 15), end to end with Docker, in the default VPC.

- Seed 003: a task whose group admits nothing is out of reach at its public address;
  ``authorize-security-group-ingress`` for port 8000 from the machine's ``/32`` opens it within
  a second, ``revoke-security-group-ingress`` closes it again.
- Seed 002's tiers: the ALB's group, the tasks' group admitting only the ALB's group, a
  database task admitting only the tasks' group. Through the ALB works; the machine straight
  to a task is refused; task -> database works; an unrelated task and the ALB cannot reach
  the database; revoking the tasks' default egress rule stops their outbound connections.
- The filters stay in force while wharf is stopped, and wharf applies changes again after a
  restart.

One wharf for the module (the default: ``--security-groups enforce``).
"""

from __future__ import annotations

import http.client
import subprocess
import ipaddress
import re
import threading
import time
from dataclasses import dataclass

import pytest

from service_lab import APP, APP_PORT, EXECUTION_ROLE, STEADY_DEADLINE_S, lb_get, summary
from testapp import push_testapp
from wharf_e2e import FAST_TARGET_HEALTH, Ecr, Wharf, free_port, remove_task_containers, wait_until, wharf_binary

REGION = "us-east-1"
CLUSTER = "sg-e2e"


@dataclass
class Lab:
    wharf: Wharf
    image: str
    docker: object
    vpc: str
    subnets: list[str]

    def client(self, service: str):
        return self.wharf.boto3_client(service, region=REGION)

    def group(self, name: str) -> str:
        return self.client("ec2").create_security_group(
            GroupName=name, Description=name, VpcId=self.vpc)["GroupId"]

    def task_definition(self, family: str) -> str:
        return self.client("ecs").register_task_definition(
            family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512", executionRoleArn=EXECUTION_ROLE,
            containerDefinitions=[{
                "name": APP, "image": self.image, "essential": True,
                "portMappings": [{"containerPort": APP_PORT, "protocol": "tcp"}],
                "environment": [{"name": "NAME", "value": family}],
            }],
        )["taskDefinition"]["taskDefinitionArn"]

    def awsvpc(self, group: str) -> dict:
        return {"awsvpcConfiguration": {"subnets": self.subnets, "securityGroups": [group],
                                        "assignPublicIp": "ENABLED"}}

    def run_task(self, family: str, group: str) -> dict:
        out = self.client("ecs").run_task(cluster=CLUSTER, taskDefinition=self.task_definition(family),
                                          launchType="FARGATE", networkConfiguration=self.awsvpc(group))
        assert not out["failures"], out
        return self.wait_running(out["tasks"][0]["taskArn"])

    def wait_running(self, arn: str) -> dict:
        def reached():
            task = self.client("ecs").describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
            if task["lastStatus"] == "STOPPED":
                pytest.fail(f"task stopped: {summary(task)}")
            return task if task["lastStatus"] == "RUNNING" else None
        return wait_until(reached, f"task {arn} RUNNING", deadline=STEADY_DEADLINE_S, interval=0.5)

    def curl_from(self, task: dict, url: str) -> subprocess.CompletedProcess:
        """``curl`` run inside ``task`` (its traffic leaves through its interface's filter)."""
        container = task["containers"][0]["runtimeId"]
        return self.docker.run("exec", container, "curl", "-sS", "-m", "3", url, check=False)


def details(task: dict) -> dict[str, str]:
    return {d["name"]: d["value"] for d in task["attachments"][0]["details"]}


def public_address(lab: Lab, task: dict) -> str:
    eni = lab.client("ec2").describe_network_interfaces(
        NetworkInterfaceIds=[details(task)["networkInterfaceId"]])["NetworkInterfaces"][0]
    return eni["Association"]["PublicIp"]


def my_ip(towards: str) -> str:
    """The machine's own address as a task sees it (what seed 003's checkip gives on AWS)."""
    route = subprocess.run(["ip", "-o", "route", "get", towards], capture_output=True, text=True, check=True)
    words = route.stdout.split()
    return words[words.index("src") + 1]


def lb_refuses(port: int, host: str) -> bool:
    """Whether the listener gives the machine no answer within two seconds."""
    out = subprocess.run(["curl", "-sS", "-m", "2", "-H", f"Host: {host}", f"http://127.0.0.1:{port}/health"],
                         capture_output=True, text=True, check=False)
    return out.returncode == 28  # curl's "operation timed out"


def filtered(lab: Lab, address: str) -> bool:
    """Whether this wharf's security group table in the machine's namespace names ``address``."""
    instance = (lab.wharf.data_dir / "instance-id").read_text().strip()
    table = "wharf_sg_" + "".join(c for c in instance if c.isascii() and c.isalnum())[:32]
    out = subprocess.run(["nft", "list", "table", "inet", table], capture_output=True, text=True, check=False)
    return re.search(rf"(?<![\d.]){re.escape(address)}(?![\d.])", out.stdout) is not None


def machine_get(ip: str, path: str = "/health") -> str | None:
    """The machine's ``curl`` straight to a task; ``None`` when it gets no answer."""
    out = subprocess.run(["curl", "-sS", "-m", "2", f"http://{ip}:{APP_PORT}{path}"],
                         capture_output=True, text=True, check=False)
    return out.stdout if out.returncode == 0 else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory, module_docker, testapp_local_image):
    wharf = Wharf(wharf_binary(), tmp_path_factory.mktemp("security-groups"))
    try:
        image = push_testapp(Ecr(wharf), module_docker, testapp_local_image)
        ec2 = wharf.boto3_client("ec2", region=REGION)
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
        wharf.boto3_client("ecs", region=REGION).create_cluster(clusterName=CLUSTER)
        yield Lab(wharf, str(image), module_docker, vpc, sorted(subnets))
    finally:
        wharf.stop()
        remove_task_containers(wharf.data_dir)


def test_seed_003_opens_the_app_port_to_one_address_and_closes_it_again(lab):
    """Seed 003 section 8 (its port 8000 is the test app's port here)."""
    ecs_sg = lab.group("news-api-tasks")
    task = lab.run_task("news-api", ecs_sg)
    ip = public_address(lab, task)
    # Nothing admits the machine yet.
    assert machine_get(ip) is None
    mine = my_ip(ip)
    lab.client("ec2").authorize_security_group_ingress(
        GroupId=ecs_sg, IpProtocol="tcp", FromPort=APP_PORT, ToPort=APP_PORT, CidrIp=f"{mine}/32")
    opened = time.monotonic()
    wait_until(lambda: machine_get(ip) == "ok\n", "the app's port open to the machine", deadline=10, interval=0.1)
    assert time.monotonic() - opened < 5, "the rule took far more than a second to apply"
    # The rule names one address: another source is still refused (checked from a second task).
    other = lab.run_task("news-other", lab.group("news-other"))
    assert lab.curl_from(other, f"http://{details(task)['privateIPv4Address']}:{APP_PORT}/health").returncode != 0
    lab.client("ec2").revoke_security_group_ingress(
        GroupId=ecs_sg, IpProtocol="tcp", FromPort=APP_PORT, ToPort=APP_PORT, CidrIp=f"{mine}/32")
    wait_until(lambda: machine_get(ip) is None, "the app's port closed again", deadline=10, interval=0.2)
    for t in (task, other):
        lab.client("ecs").stop_task(cluster=CLUSTER, task=t["taskArn"])


def test_a_services_groups_move_with_its_tasks(lab):
    """UpdateService with other security groups rolls the service onto tasks that carry them."""
    ecs, ec2 = lab.client("ecs"), lab.client("ec2")
    closed, opened = lab.group("svc-closed"), lab.group("svc-opened")
    ec2.authorize_security_group_ingress(GroupId=opened, IpProtocol="tcp", FromPort=APP_PORT, ToPort=APP_PORT,
                                         CidrIp="0.0.0.0/0")
    ecs.create_service(cluster=CLUSTER, serviceName="moving", taskDefinition=lab.task_definition("moving"),
                       desiredCount=1, launchType="FARGATE", networkConfiguration=lab.awsvpc(closed))

    def running_with(group: str) -> dict | None:
        arns = ecs.list_tasks(cluster=CLUSTER, serviceName="moving", desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
        for task in tasks:
            if task["lastStatus"] != "RUNNING":
                continue
            eni = ec2.describe_network_interfaces(
                NetworkInterfaceIds=[details(task)["networkInterfaceId"]])["NetworkInterfaces"][0]
            if [g["GroupId"] for g in eni["Groups"]] == [group]:
                return task
        return None

    first = wait_until(lambda: running_with(closed), "the service's task RUNNING", deadline=STEADY_DEADLINE_S)
    assert machine_get(public_address(lab, first)) is None
    ecs.update_service(cluster=CLUSTER, service="moving", networkConfiguration=lab.awsvpc(opened))
    moved = wait_until(lambda: running_with(opened), "a task with the new group RUNNING", deadline=STEADY_DEADLINE_S)
    wait_until(lambda: machine_get(public_address(lab, moved)) == "ok\n",
               "the new task reachable through its new group", deadline=10, interval=0.2)
    ecs.delete_service(cluster=CLUSTER, service="moving", force=True)


def test_seed_002_tiers_admit_only_the_tier_in_front(lab):
    ec2, elbv2, ecs = lab.client("ec2"), lab.client("elbv2"), lab.client("ecs")
    alb_sg, tasks_sg, db_sg, other_sg = (lab.group(n) for n in ("tier-alb", "tier-tasks", "tier-db", "tier-other"))
    # Seed 002 opens port 80 of the ALB to the world; the test's listener is on a free port.
    port = free_port()
    ec2.authorize_security_group_ingress(GroupId=alb_sg, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0")
    ec2.authorize_security_group_ingress(GroupId=tasks_sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": APP_PORT, "ToPort": APP_PORT, "UserIdGroupPairs": [{"GroupId": alb_sg}]}])
    ec2.authorize_security_group_ingress(GroupId=db_sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": APP_PORT, "ToPort": APP_PORT, "UserIdGroupPairs": [{"GroupId": tasks_sg}]}])

    # The ALB, with its interfaces in EC2 as AWS describes them.
    lb = elbv2.create_load_balancer(Name="tier-alb", Subnets=lab.subnets[:2], SecurityGroups=[alb_sg])["LoadBalancers"][0]
    lb_id = lb["LoadBalancerArn"].rsplit("/", 1)[1]
    enis = ec2.describe_network_interfaces(
        Filters=[{"Name": "description", "Values": [f"ELB app/tier-alb/{lb_id}"]}])["NetworkInterfaces"]
    assert len(enis) == 2, enis
    assert {g["GroupId"] for e in enis for g in e["Groups"]} == {alb_sg}
    assert all(e["RequesterId"] == "amazon-elb" for e in enis), enis
    # Each has an address of its own subnet.
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(SubnetIds=[e["SubnetId"] for e in enis])["Subnets"]}
    for e in enis:
        assert ipaddress.ip_address(e["PrivateIpAddress"]) in ipaddress.ip_network(
            subnets[e["SubnetId"]]["CidrBlock"]), e

    tg = elbv2.create_target_group(Name="tier-api", Protocol="HTTP", Port=APP_PORT, VpcId=lab.vpc,
                                   TargetType="ip", **FAST_TARGET_HEALTH)["TargetGroups"][0]["TargetGroupArn"]
    db_tg = elbv2.create_target_group(Name="tier-db", Protocol="HTTP", Port=APP_PORT, VpcId=lab.vpc,
                                      TargetType="ip", **FAST_TARGET_HEALTH)["TargetGroups"][0]["TargetGroupArn"]
    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]
    elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=1,
                      Conditions=[{"Field": "path-pattern", "Values": ["/db/*"]}],
                      Actions=[{"Type": "forward", "TargetGroupArn": db_tg}])

    api = lab.run_task("tier-api", tasks_sg)
    db = lab.run_task("tier-db", db_sg)
    other = lab.run_task("tier-other", other_sg)
    api_ip, db_ip = details(api)["privateIPv4Address"], details(db)["privateIPv4Address"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": api_ip, "Port": APP_PORT}])
    elbv2.register_targets(TargetGroupArn=db_tg, Targets=[{"Id": db_ip, "Port": APP_PORT}])

    def health(group: str) -> str:
        return elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"][0]["TargetHealth"]["State"]

    # Through the ALB works: the tasks' group admits the ALB's.
    wait_until(lambda: health(tg) == "healthy", "the api task healthy behind the ALB", deadline=STEADY_DEADLINE_S)
    answer = lb_get(port, lb["DNSName"])
    assert answer.status == 200 and answer.name == "tier-api", answer
    # Rule changes on the tasks' group do not drop a request through the ALB (each filter is
    # replaced in one step, tracked connections pass).
    answers, stop = [], threading.Event()

    def load():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(2000):
            if stop.is_set():
                break
            answers.append(lb_get(port, lb["DNSName"], conn=conn).status)
        conn.close()

    loader = threading.Thread(target=load)
    loader.start()
    try:
        for k in range(5):
            extra = [{"IpProtocol": "tcp", "FromPort": 9000 + k, "ToPort": 9000 + k, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}]
            ec2.authorize_security_group_ingress(GroupId=tasks_sg, IpPermissions=extra)
            ec2.revoke_security_group_ingress(GroupId=tasks_sg, IpPermissions=extra)
    finally:
        stop.set()
        loader.join(timeout=60)
    assert answers and set(answers) == {200}, (len(answers), sorted(set(answers)))
    # New connections through the ALB keep working too.
    for _ in range(20):
        assert lb_get(port, lb["DNSName"]).status == 200
    # The ALB cannot reach the database: its health checks time out.
    wait_until(lambda: health(db_tg) == "unhealthy", "the database unhealthy behind the ALB", deadline=STEADY_DEADLINE_S)
    # The machine straight to a task is refused, at its public and its private address: the
    # ALB's group stands for the ALB's own addresses, not for the machine.
    assert machine_get(public_address(lab, api)) is None
    assert machine_get(api_ip) is None
    # The ALB's group filters its clients: without a rule for the listener's port a client
    # gets no answer (on AWS its connection times out); a rule for its /32 lets it in again.
    ec2.revoke_security_group_ingress(GroupId=alb_sg, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0")
    wait_until(lambda: lb_refuses(port, lb["DNSName"]), "the ALB refuses the machine", deadline=10, interval=0.2)
    ec2.authorize_security_group_ingress(GroupId=alb_sg, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="127.0.0.1/32")
    wait_until(lambda: not lb_refuses(port, lb["DNSName"]), "the ALB admits 127.0.0.1/32", deadline=10, interval=0.2)
    # Task -> database works; an unrelated task -> database is refused.
    reached = lab.curl_from(api, f"http://{db_ip}:{APP_PORT}/health")
    assert reached.stdout == "ok\n", reached
    assert lab.curl_from(other, f"http://{db_ip}:{APP_PORT}/health").returncode != 0

    # Without the default egress rule the tasks open no connection; with it back they do.
    everything = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.revoke_security_group_egress(GroupId=tasks_sg, IpPermissions=everything)
    wait_until(lambda: lab.curl_from(api, f"http://{db_ip}:{APP_PORT}/health").returncode != 0,
               "the api task's outbound connections stopped", deadline=10, interval=0.2)
    # Inbound connections still get their replies (security groups are stateful).
    assert lb_get(port, lb["DNSName"]).status == 200
    ec2.authorize_security_group_egress(GroupId=tasks_sg, IpPermissions=everything)
    wait_until(lambda: lab.curl_from(api, f"http://{db_ip}:{APP_PORT}/health").stdout == "ok\n",
               "the api task's outbound connections back", deadline=10, interval=0.2)

    # A group in use cannot be deleted.
    with pytest.raises(Exception) as refused:
        ec2.delete_security_group(GroupId=db_sg)
    assert "DependencyViolation" in str(refused.value)

    # Filters stay while wharf is stopped, and changes apply again after it restarts.
    api_public = public_address(lab, api)
    lab.wharf.stop()
    try:
        assert machine_get(api_public) is None
        assert lab.curl_from(other, f"http://{db_ip}:{APP_PORT}/health").returncode != 0
    finally:
        lab.wharf.start()
    ec2 = lab.client("ec2")
    ec2.authorize_security_group_ingress(GroupId=db_sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": APP_PORT, "ToPort": APP_PORT, "UserIdGroupPairs": [{"GroupId": other_sg}]}])
    wait_until(lambda: lab.curl_from(other, f"http://{db_ip}:{APP_PORT}/health").stdout == "ok\n",
               "the unrelated task admitted after the restart", deadline=15, interval=0.3)

    elbv2 = lab.client("elbv2")
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    enis = lab.client("ec2").describe_network_interfaces(
        Filters=[{"Name": "description", "Values": [f"ELB app/tier-alb/{lb_id}"]}])["NetworkInterfaces"]
    assert enis == [], enis
    # The filters are in this wharf's own table of the machine; its tasks' addresses leave it
    # with them.
    assert filtered(lab, api_ip) and filtered(lab, db_ip)
    for t in (api, db, other):
        lab.client("ecs").stop_task(cluster=CLUSTER, task=t["taskArn"])
    wait_until(lambda: not filtered(lab, api_ip) and not filtered(lab, db_ip),
               "the stopped tasks' addresses gone from the filter table", deadline=STEADY_DEADLINE_S)
