"""VPCs of your own, with real effect (issue 14), end to end with Docker: seed 002's network
built with the API (VPC, public and private subnets in two zones, internet gateway, route
tables, NAT gateway), the ALB in the public subnets and the service in the private ones; a
private subnet without a way out (its tasks cannot pull their image until the VPC endpoints
exist); and two VPCs with the same range, each serving through its own load balancer, whose
tasks cannot reach each other.

One wharf for the module, started with a short ``--task-network-timeout-seconds`` so a task
that cannot reach ECR fails in seconds rather than Fargate's minute.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import uuid
from dataclasses import dataclass

import pytest

from service_lab import APP, APP_PORT, EXECUTION_ROLE, STEADY_DEADLINE_S, lb_get, summary
from testapp import push_testapp
from wharf_e2e import (
    FAST_TARGET_HEALTH,
    admit_listener_clients,
    Ecr,
    Wharf,
    free_port,
    remove_task_containers,
    wait_until,
    wharf_binary,
)

REGION = "us-east-1"
CLUSTER = "vpc-e2e"
NETWORK_TIMEOUT_S = 3


@pytest.fixture(scope="module")
def lab(tmp_path_factory, module_docker, testapp_local_image):
    wharf = Wharf(
        wharf_binary(), tmp_path_factory.mktemp("vpc-networks"),
        ["--task-network-timeout-seconds", str(NETWORK_TIMEOUT_S)],
    )
    try:
        image = push_testapp(Ecr(wharf), module_docker, testapp_local_image)
        clients = {s: wharf.boto3_client(s, region=REGION) for s in ("ec2", "ecs", "elbv2")}
        clients["ecs"].create_cluster(clusterName=CLUSTER)
        yield Lab(wharf, str(image), clients, module_docker)
    finally:
        vpcs = [v["VpcId"] for v in wharf.boto3_client("ec2", region=REGION).describe_vpcs()["Vpcs"]]
        wharf.stop()
        remove_task_containers(wharf.data_dir)
        # The VPCs' network namespaces (a namespace goes with its last task, but the server
        # stopped before its tasks did).
        for vpc in vpcs:
            subprocess.run(["ip", "netns", "delete", f"wharf-{vpc}"], capture_output=True, check=False)


@dataclass
class Network:
    vpc: str
    public: list[str]
    private: list[str]
    private_table: str
    group: str


@dataclass
class Lab:
    wharf: Wharf
    image: str
    clients: dict
    docker: object

    @property
    def ec2(self):
        return self.clients["ec2"]

    @property
    def ecs(self):
        return self.clients["ecs"]

    @property
    def elbv2(self):
        return self.clients["elbv2"]

    def network(self, name: str, *, nat: bool) -> Network:
        """Seed 002's network: 10.0.0.0/16, public 10.0.1-2.0/24 and private 10.0.11-12.0/24
        in two zones, an internet gateway for the public route table, and (``nat``) a NAT
        gateway in the first public subnet for the private route table."""
        ec2 = self.ec2
        tag = lambda kind: [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]  # noqa: E731
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tag("vpc"))["Vpc"]["VpcId"]
        subnets = {}
        for cidr, zone in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b"),
                           ("10.0.11.0/24", "us-east-1a"), ("10.0.12.0/24", "us-east-1b")]:
            subnets[cidr] = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        public = [subnets["10.0.1.0/24"], subnets["10.0.2.0/24"]]
        private = [subnets["10.0.11.0/24"], subnets["10.0.12.0/24"]]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        public_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        for s in public:
            ec2.associate_route_table(RouteTableId=public_table, SubnetId=s)
        private_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        for s in private:
            ec2.associate_route_table(RouteTableId=private_table, SubnetId=s)
        if nat:
            eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
            nat_id = ec2.create_nat_gateway(SubnetId=public[0], AllocationId=eip)["NatGateway"]["NatGatewayId"]
            wait_until(
                lambda: ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]["State"] == "available",
                "the NAT gateway available", deadline=60,
            )
            ec2.create_route(RouteTableId=private_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
        group = ec2.create_security_group(GroupName=f"{name}-tasks", Description="tasks", VpcId=vpc)["GroupId"]
        # The tasks admit the load balancer (which gets the VPC's default group) on the app's port.
        default = ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": APP_PORT, "ToPort": APP_PORT,
            "UserIdGroupPairs": [{"GroupId": default["GroupId"]}]}])
        return Network(vpc, public, private, private_table, group)

    def task_definition(self, family: str, name: str) -> str:
        return self.ecs.register_task_definition(
            family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512", executionRoleArn=EXECUTION_ROLE,
            containerDefinitions=[{
                "name": APP, "image": self.image, "essential": True,
                "portMappings": [{"containerPort": APP_PORT, "protocol": "tcp"}],
                "environment": [{"name": "NAME", "value": name}],
            }],
        )["taskDefinition"]["taskDefinitionArn"]

    def awsvpc(self, net: Network, subnets: list[str] | None = None, public_ip: bool = False) -> dict:
        return {"awsvpcConfiguration": {"subnets": subnets or net.private, "securityGroups": [net.group],
                                        "assignPublicIp": "ENABLED" if public_ip else "DISABLED"}}

    def alb(self, name: str, net: Network) -> tuple[str, int, str]:
        """An ALB on the public subnets forwarding a free port to a new target group in the
        VPC: (target group ARN, port, DNS name)."""
        lb = self.elbv2.create_load_balancer(Name=name, Subnets=net.public)["LoadBalancers"][0]
        admit_listener_clients(self.wharf, lb["LoadBalancerArn"], REGION)
        tg = self.elbv2.create_target_group(
            Name=f"{name}-tg", Protocol="HTTP", Port=APP_PORT, VpcId=net.vpc, TargetType="ip",
            **FAST_TARGET_HEALTH,
        )["TargetGroups"][0]["TargetGroupArn"]
        port = free_port()
        self.elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        return tg, port, lb["DNSName"]

    def service(self, name: str, net: Network, tg: str | None, desired: int = 1,
                subnets: list[str] | None = None) -> None:
        kwargs = {}
        if tg:
            kwargs["loadBalancers"] = [{"targetGroupArn": tg, "containerName": APP, "containerPort": APP_PORT}]
        self.ecs.create_service(
            cluster=CLUSTER, serviceName=name, taskDefinition=self.task_definition(name, name),
            desiredCount=desired, launchType="FARGATE", networkConfiguration=self.awsvpc(net, subnets),
            **kwargs,
        )

    def running_tasks(self, service: str) -> list[dict]:
        arns = self.ecs.list_tasks(cluster=CLUSTER, serviceName=service)["taskArns"]
        if not arns:
            return []
        tasks = self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]
        return [t for t in tasks if t["lastStatus"] == "RUNNING"]

    def wait_serving(self, service: str, tg: str, port: int, dns: str, desired: int = 1) -> list[dict]:
        def healthy():
            described = self.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
            return len([d for d in described if d["TargetHealth"]["State"] == "healthy"]) >= desired
        wait_until(healthy, f"{service}'s targets healthy", deadline=STEADY_DEADLINE_S, interval=0.5)
        answer = lb_get(port, dns)
        assert answer.status == 200, answer
        assert answer.name == service, answer
        return self.running_tasks(service)

    def stop_service(self, service: str) -> None:
        self.ecs.delete_service(cluster=CLUSTER, service=service, force=True)

    def run_task(self, net: Network, family: str, subnets: list[str] | None = None,
                 public_ip: bool = False) -> str:
        out = self.ecs.run_task(cluster=CLUSTER, taskDefinition=self.task_definition(family, family),
                                launchType="FARGATE",
                                networkConfiguration=self.awsvpc(net, subnets, public_ip))
        assert not out["failures"], out
        return out["tasks"][0]["taskArn"]

    def wait_task(self, arn: str, status: str, deadline: float = STEADY_DEADLINE_S) -> dict:
        def reached():
            task = self.ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
            if task["lastStatus"] == status:
                return task
            if task["lastStatus"] == "STOPPED":
                pytest.fail(f"task stopped instead of reaching {status}: {summary(task)}")
            return None
        return wait_until(reached, f"task {arn} {status}", deadline=deadline, interval=0.5)

    def sandbox_curl(self, task: dict, url: str) -> subprocess.CompletedProcess:
        """``curl`` (the test app's) run inside one of ``task``'s containers."""
        container = task["containers"][0]["runtimeId"]
        return self.docker.run("exec", container, "curl", "-sS", "-m", "3", url, check=False)


def private_address(task: dict) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return details["privateIPv4Address"]


def test_seed_002_stack_comes_up_serves_and_tears_down_to_nothing(lab):
    """The stack as infrastructure code applies it (network, endpoints, groups, ALB, target
    group, cluster and service), serving from the private subnets, then destroyed in reverse
    order, after which no describe call shows a leftover."""
    net = lab.network("blog", nat=True)
    lab.ec2.modify_vpc_attribute(VpcId=net.vpc, EnableDnsHostnames={"Value": True})
    endpoints = [
        lab.ec2.create_vpc_endpoint(
            VpcId=net.vpc, VpcEndpointType="Interface", ServiceName=f"com.amazonaws.{REGION}.{svc}",
            SubnetIds=net.private, SecurityGroupIds=[net.group], PrivateDnsEnabled=True,
        )["VpcEndpoint"]["VpcEndpointId"]
        for svc in ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
    ]
    endpoints.append(lab.ec2.create_vpc_endpoint(
        VpcId=net.vpc, VpcEndpointType="Gateway", ServiceName=f"com.amazonaws.{REGION}.s3",
        RouteTableIds=[net.private_table],
    )["VpcEndpoint"]["VpcEndpointId"])
    free_before = {s["SubnetId"]: s["AvailableIpAddressCount"]
                   for s in lab.ec2.describe_subnets(SubnetIds=net.private)["Subnets"]}
    tg, port, dns = lab.alb("blog-alb", net)
    lab.service("blog-api", net, tg, desired=2)
    tasks = lab.wait_serving("blog-api", tg, port, dns, desired=2)
    addresses = {private_address(t) for t in tasks}
    ranges = [ipaddress.ip_network("10.0.11.0/24"), ipaddress.ip_network("10.0.12.0/24")]
    for a in addresses:
        assert any(ipaddress.ip_address(a) in r for r in ranges), addresses
        # AWS's first four addresses are reserved.
        assert int(a.rsplit(".", 1)[1]) >= 4, a
    # Their interfaces are EC2's, with the address and MAC the tasks have.
    enis = lab.ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [net.vpc]}])["NetworkInterfaces"]
    by_ip = {e["PrivateIpAddress"]: e for e in enis}
    for a in addresses:
        assert a in by_ip, (a, list(by_ip))
        assert by_ip[a]["MacAddress"].startswith("0e:"), by_ip[a]
        assert by_ip[a]["SubnetId"] in net.private
    # The tasks took addresses of their subnets.
    free_after = {s["SubnetId"]: s["AvailableIpAddressCount"]
                  for s in lab.ec2.describe_subnets(SubnetIds=net.private)["Subnets"]}
    assert sum(free_before.values()) - sum(free_after.values()) >= 2, (free_before, free_after)
    # Tasks of one VPC reach each other once their group admits itself.
    lab.ec2.authorize_security_group_ingress(GroupId=net.group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": APP_PORT, "ToPort": APP_PORT, "UserIdGroupPairs": [{"GroupId": net.group}]}])
    if len(tasks) >= 2:
        a, b = tasks[0], tasks[1]
        reached = lab.sandbox_curl(a, f"http://{private_address(b)}:{APP_PORT}/health")
        assert reached.returncode == 0, reached

    # Destroy, in the reverse order of creation.
    ec2, elbv2 = lab.ec2, lab.elbv2
    lab.ecs.update_service(cluster=CLUSTER, service="blog-api", desiredCount=0)
    lab.ecs.delete_service(cluster=CLUSTER, service="blog-api")
    wait_until(lambda: not lab.ecs.list_tasks(cluster=CLUSTER, serviceName="blog-api")["taskArns"],
               "blog-api's tasks gone", deadline=STEADY_DEADLINE_S, interval=0.5)
    lb_arn = elbv2.describe_load_balancers(Names=["blog-alb"])["LoadBalancers"][0]["LoadBalancerArn"]
    for listener in elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]:
        elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    elbv2.delete_load_balancer(LoadBalancerArn=lb_arn)
    elbv2.delete_target_group(TargetGroupArn=tg)
    lab.ec2.delete_vpc_endpoints(VpcEndpointIds=endpoints)
    # As on AWS, a group stays in use until the stopped tasks' interfaces are released.
    wait_until(
        lambda: not ec2.describe_network_interfaces(
            Filters=[{"Name": "group-id", "Values": [net.group]}])["NetworkInterfaces"],
        "the tasks' and endpoints' interfaces released", deadline=STEADY_DEADLINE_S, interval=0.5,
    )
    ec2.delete_security_group(GroupId=net.group)
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [net.vpc]}])["NatGateways"]
    for nat in nats:
        ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    wait_until(
        lambda: all(n["State"] == "deleted" for n in ec2.describe_nat_gateways(
            NatGatewayIds=[n["NatGatewayId"] for n in nats])["NatGateways"]),
        "the NAT gateway deleted", deadline=60, interval=0.5,
    )
    for nat in nats:
        for address in nat["NatGatewayAddresses"]:
            ec2.release_address(AllocationId=address["AllocationId"])
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [net.vpc]}])["RouteTables"]
    for table in tables:
        if any(a.get("Main") for a in table["Associations"]):
            continue
        for association in table["Associations"]:
            ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=table["RouteTableId"])
    igws = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [net.vpc]}])["InternetGateways"]
    for igw in igws:
        ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=net.vpc)
        ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
    for subnet in net.public + net.private:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=net.vpc)

    # Nothing is left of it.
    by_vpc = [{"Name": "vpc-id", "Values": [net.vpc]}]
    assert not ec2.describe_vpcs(Filters=by_vpc)["Vpcs"]
    assert not ec2.describe_subnets(Filters=by_vpc)["Subnets"]
    assert not ec2.describe_route_tables(Filters=by_vpc)["RouteTables"]
    assert not ec2.describe_security_groups(Filters=by_vpc)["SecurityGroups"]
    assert not ec2.describe_network_acls(Filters=by_vpc)["NetworkAcls"]
    assert not ec2.describe_network_interfaces(Filters=by_vpc)["NetworkInterfaces"]
    assert not ec2.describe_vpc_endpoints(Filters=by_vpc)["VpcEndpoints"]
    assert igws, "the stack had an internet gateway"
    left = {g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]}
    assert not left & {g["InternetGatewayId"] for g in igws}
    assert all(n["State"] == "deleted" for n in ec2.describe_nat_gateways(Filters=by_vpc)["NatGateways"])
    assert not [a for a in ec2.describe_addresses()["Addresses"]
                if a["AllocationId"] in {x["AllocationId"] for n in nats for x in n["NatGatewayAddresses"]}]
    assert not [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["VpcId"] == net.vpc]
    assert not [t for t in elbv2.describe_target_groups()["TargetGroups"] if t.get("VpcId") == net.vpc]
    # Its network namespace went with its last task.
    wait_until(lambda: subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.count(
        f"wharf-{net.vpc}") == 0, "the VPC's namespace removed", deadline=30)


def test_a_private_subnet_without_a_way_out_cannot_pull_until_the_endpoints_exist(lab):
    net = lab.network("closed", nat=False)
    arn = lab.run_task(net, "closed-app")
    stopped = lab.wait_task(arn, "STOPPED", deadline=120)
    reason = stopped["stoppedReason"]
    assert reason.startswith("CannotPullContainerError: pull image manifest"), reason
    assert reason.endswith("i/o timeout"), reason
    assert stopped["stopCode"] == "TaskFailedToStart", stopped
    # Interface endpoints need the VPC's DNS hostnames for their private DNS names.
    lab.ec2.modify_vpc_attribute(VpcId=net.vpc, EnableDnsHostnames={"Value": True})
    for service in ("ecr.api", "ecr.dkr"):
        lab.ec2.create_vpc_endpoint(
            VpcId=net.vpc, VpcEndpointType="Interface", ServiceName=f"com.amazonaws.{REGION}.{service}",
            SubnetIds=net.private, SecurityGroupIds=[net.group], PrivateDnsEnabled=True,
        )
    # Without the S3 gateway endpoint, the image's layers are still out of reach.
    arn = lab.run_task(net, "closed-app")
    reason = lab.wait_task(arn, "STOPPED", deadline=120)["stoppedReason"]
    assert reason.startswith("CannotPullContainerError: ref pull"), reason
    lab.ec2.create_vpc_endpoint(
        VpcId=net.vpc, VpcEndpointType="Gateway", ServiceName=f"com.amazonaws.{REGION}.s3",
        RouteTableIds=[net.private_table],
    )
    arn = lab.run_task(net, "closed-app")
    running = lab.wait_task(arn, "RUNNING")
    assert ipaddress.ip_address(private_address(running)) in ipaddress.ip_network("10.0.0.0/16")
    lab.ecs.stop_task(cluster=CLUSTER, task=arn)
    lab.wait_task(arn, "STOPPED", deadline=120)


def test_a_public_subnet_needs_a_public_address(lab):
    net = lab.network("edge", nat=False)
    # No public address: the internet gateway route is of no use to the task.
    arn = lab.run_task(net, "edge-app", subnets=net.public[:1])
    reason = lab.wait_task(arn, "STOPPED", deadline=120)["stoppedReason"]
    assert reason.startswith("CannotPullContainerError"), reason
    # With one, it pulls through the internet gateway, and the machine reaches it there.
    arn = lab.run_task(net, "edge-app", subnets=net.public[:1], public_ip=True)
    task = lab.wait_task(arn, "RUNNING")
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    eni = lab.ec2.describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])
    public = eni["NetworkInterfaces"][0]["Association"]["PublicIp"]
    assert ipaddress.ip_address(private_address(task)) in ipaddress.ip_network("10.0.1.0/24")
    # Its group admits the machine's own address (seed 003's `--cidr $MY_IP/32`).
    route = subprocess.run(["ip", "-o", "route", "get", public], capture_output=True, text=True, check=True).stdout.split()
    lab.ec2.authorize_security_group_ingress(GroupId=net.group, IpProtocol="tcp", FromPort=APP_PORT, ToPort=APP_PORT,
                                             CidrIp=f"{route[route.index('src') + 1]}/32")
    answer = subprocess.run(["curl", "-sS", "-m", "10", f"http://{public}:{APP_PORT}/health"],
                            capture_output=True, text=True, check=False)
    assert answer.stdout == "ok\n", answer
    lab.ecs.stop_task(cluster=CLUSTER, task=arn)
    lab.wait_task(arn, "STOPPED", deadline=120)


def test_two_vpcs_with_the_same_range_serve_apart_and_cannot_reach_each_other(lab):
    nets, served = [], []
    for i, name in enumerate(("left", "right")):
        net = lab.network(name, nat=True)
        tg, port, dns = lab.alb(f"{name}-alb", net)
        # Left in 10.0.11.0/24, right in 10.0.12.0/24: the same VPC range, different subnets.
        lab.service(name, net, tg, subnets=[net.private[i]])
        nets.append(net)
        served.append((name, tg, port, dns))
    tasks = [lab.wait_serving(name, tg, port, dns)[0] for name, tg, port, dns in served]
    # Both load balancers keep answering with their own VPC's task, whatever the addresses.
    for (name, _tg, port, dns) in served:
        for _ in range(3):
            answer = lb_get(port, dns)
            assert answer.name == name, answer
    left, right = tasks
    # Each task reaches itself, and never the other VPC's task.
    own = lab.sandbox_curl(left, f"http://{private_address(left)}:{APP_PORT}/")
    assert own.returncode == 0 and json.loads(own.stdout)["name"] == "left", own
    assert private_address(right) != private_address(left)
    crossed = lab.sandbox_curl(left, f"http://{private_address(right)}:{APP_PORT}/")
    assert crossed.returncode != 0, crossed
    for name in ("left", "right"):
        lab.stop_service(name)
