"""VPC endpoints, endpoint services and prefix lists, and the ELBv2 / ECS calls on a VPC the user
created, through the AWS CLI v1 and v2 (a few representative commands) and boto3.

The network is seed 002's production shape, built once for the module in ap-northeast-2 (the
seed's region): VPC 10.0.0.0/16 with DNS hostnames, public subnets 10.0.0.0/24 (AZ-a) and
10.0.1.0/24 (AZ-c) routed to an internet gateway, private subnets 10.0.10.0/24 and 10.0.11.0/24
on their own route table, and the seed's two security groups (its sg-alb and sg-fargate) plus one for the
endpoints. On it: the interface endpoints the seed names for private subnets (ecr.api, ecr.dkr,
logs, secretsmanager) and the S3 gateway endpoint ECR's layers need, then describe / modify /
delete and AWS's errors; then a target group, an ALB on the two public subnets, a listener, a
cluster and a service in the private subnets (no task runs: desiredCount 0).
"""

from __future__ import annotations

import ipaddress
import json

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID, FIXTURES

REGION = "ap-northeast-2"


def svc(name: str) -> str:
    return f"com.amazonaws.{REGION}.{name}"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def error_message(excinfo) -> str:
    return excinfo.value.response["Error"]["Message"]


class Net:
    """Seed 002's network, made with boto3."""

    def __init__(self, wharf):
        self.wharf = wharf
        self.ec2 = wharf.boto3_client("ec2", region=REGION)
        ec2 = self.ec2
        self.vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=self.vpc, EnableDnsHostnames={"Value": True})
        self.igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=self.igw, VpcId=self.vpc)

        def subnet(cidr, zone):
            return ec2.create_subnet(VpcId=self.vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}{zone}")[
                "Subnet"
            ]["SubnetId"]

        self.public = [subnet("10.0.0.0/24", "a"), subnet("10.0.1.0/24", "c")]
        self.private = [subnet("10.0.10.0/24", "a"), subnet("10.0.11.0/24", "c")]
        self.public_rtb = ec2.create_route_table(VpcId=self.vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=self.public_rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=self.igw)
        self.private_rtb = ec2.create_route_table(VpcId=self.vpc)["RouteTable"]["RouteTableId"]
        for s in self.public:
            ec2.associate_route_table(RouteTableId=self.public_rtb, SubnetId=s)
        for s in self.private:
            ec2.associate_route_table(RouteTableId=self.private_rtb, SubnetId=s)

        def group(name, desc):
            return ec2.create_security_group(GroupName=name, Description=desc, VpcId=self.vpc)["GroupId"]

        self.sg_alb = group("blog-alb", "Internet to ALB")
        self.sg_fargate = group("blog-fargate", "Only ALB to Fargate")
        self.sg_endpoints = group("blog-endpoints", "HTTPS from the VPC to the endpoints")
        ec2.authorize_security_group_ingress(
            GroupId=self.sg_endpoints,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}],
        )
        self.default_sg = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [self.vpc]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]["GroupId"]

    def endpoint(self, endpoint_id: str) -> dict:
        return self.ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]

    def interface_endpoint(self, service: str, **extra) -> dict:
        return self.ec2.create_vpc_endpoint(
            VpcId=self.vpc,
            VpcEndpointType="Interface",
            ServiceName=svc(service),
            SubnetIds=self.private,
            SecurityGroupIds=[self.sg_endpoints],
            **extra,
        )["VpcEndpoint"]

    def with_private_dns(self, service: str) -> dict:
        """The VPC's endpoint for SERVICE that has its private DNS name, made if missing."""
        found = self.ec2.describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": [self.vpc]}, {"Name": "service-name", "Values": [svc(service)]}]
        )["VpcEndpoints"]
        return next((e for e in found if e["PrivateDnsEnabled"]), None) or self.interface_endpoint(service)

    def routes(self, table: str) -> list[dict]:
        return self.ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]

    def free_ips(self, subnet: str) -> int:
        return self.ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailableIpAddressCount"]


@pytest.fixture(scope="module")
def net(module_wharf) -> Net:
    return Net(module_wharf)


# ---------------------------------------------------------------------------------------
# Endpoint services and prefix lists
# ---------------------------------------------------------------------------------------


def test_endpoint_services_with_the_cli(module_wharf, cli):
    out = module_wharf.aws(
        "ec2", "describe-vpc-endpoint-services",
        "--service-names", svc("ecr.dkr"), svc("ecr.api"),
        "--region", REGION, cli=cli,
    ).json
    assert out["ServiceNames"] == [svc("ecr.api"), svc("ecr.dkr")]
    api, dkr = out["ServiceDetails"]
    assert api["PrivateDnsName"] == f"api.ecr.{REGION}.amazonaws.com"
    assert dkr["PrivateDnsName"] == f"*.dkr.ecr.{REGION}.amazonaws.com"
    assert dkr["BaseEndpointDnsNames"] == [f"dkr.ecr.{REGION}.vpce.amazonaws.com"]
    assert dkr["ServiceType"] == [{"ServiceType": "Interface"}]
    assert dkr["Owner"] == "amazon"
    assert dkr["AcceptanceRequired"] is False
    assert dkr["VpcEndpointPolicySupported"] is True
    assert dkr["AvailabilityZones"] == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    assert dkr["ServiceId"].startswith("vpce-svc-")

    err = module_wharf.aws_error(
        "InvalidServiceName", "ec2", "describe-vpc-endpoint-services",
        "--service-names", svc("nope"), "--region", REGION, cli=cli,
    )
    assert f"The Vpc Endpoint Service '{svc('nope')}' does not exist" in err.stderr

    lists = module_wharf.aws(
        "ec2", "describe-prefix-lists",
        "--filters", f"Name=prefix-list-name,Values={svc('s3')}",
        "--region", REGION, cli=cli,
    ).json["PrefixLists"]
    assert len(lists) == 1 and lists[0]["PrefixListName"] == svc("s3")
    assert lists[0]["PrefixListId"].startswith("pl-")
    assert all(ipaddress.ip_network(c) for c in lists[0]["Cidrs"])


def test_endpoint_services_filters_and_stable_ids(module_wharf):
    ec2 = module_wharf.boto3_client("ec2", region=REGION)
    every = ec2.describe_vpc_endpoint_services()
    names = every["ServiceNames"]
    for needed in ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "sts", "s3", "dynamodb"]:
        assert svc(needed) in names
    assert names.count(svc("s3")) == 2, "S3 offers both endpoint types, one detail each"
    gateways = ec2.describe_vpc_endpoint_services(Filters=[{"Name": "service-type", "Values": ["Gateway"]}])
    assert gateways["ServiceNames"] == [svc("dynamodb"), svc("s3")]
    assert ec2.describe_vpc_endpoint_services()["ServiceDetails"] == every["ServiceDetails"]

    lists = ec2.describe_prefix_lists()["PrefixLists"]
    assert sorted(pl["PrefixListName"] for pl in lists) == [svc("dynamodb"), svc("s3")]
    other = module_wharf.boto3_client("ec2", region="us-east-1").describe_prefix_lists()["PrefixLists"]
    assert {pl["PrefixListId"] for pl in other}.isdisjoint({pl["PrefixListId"] for pl in lists})
    with pytest.raises(ClientError) as e:
        ec2.describe_prefix_lists(PrefixListIds=["pl-00000000"])
    assert error_code(e) == "InvalidPrefixListId.NotFound"


# ---------------------------------------------------------------------------------------
# Seed 002's endpoints
# ---------------------------------------------------------------------------------------


def test_interface_endpoint_with_the_cli(module_wharf, net, cli):
    # v1 creates sts, v2 ssm: each with its own private DNS name in the VPC.
    service = {"v1": "sts", "v2": "ssm"}[cli]
    before = net.free_ips(net.private[0])
    e = module_wharf.aws(
        "ec2", "create-vpc-endpoint",
        "--vpc-id", net.vpc,
        "--vpc-endpoint-type", "Interface",
        "--service-name", svc(service),
        "--subnet-ids", *net.private,
        "--security-group-ids", net.sg_endpoints,
        "--private-dns-enabled",
        "--tag-specifications", f"ResourceType=vpc-endpoint,Tags=[{{Key=Name,Value={service}}}]",
        "--region", REGION, cli=cli,
    ).json["VpcEndpoint"]
    assert e["VpcEndpointId"].startswith("vpce-")
    assert e["VpcEndpointType"] == "Interface"
    assert e["State"] == "available"
    assert e["PrivateDnsEnabled"] is True
    assert sorted(e["SubnetIds"]) == sorted(net.private)
    assert e["Groups"] == [{"GroupId": net.sg_endpoints, "GroupName": "blog-endpoints"}]
    assert e["Tags"] == [{"Key": "Name", "Value": service}]
    assert e["OwnerId"] == ACCOUNT_ID
    dns = [d["DnsName"] for d in e["DnsEntries"]]
    assert dns[0].startswith(e["VpcEndpointId"] + "-") and dns[0].endswith(f".{service}.{REGION}.vpce.amazonaws.com")
    assert any(f"-{REGION}a.{service}." in d for d in dns) and any(f"-{REGION}c.{service}." in d for d in dns)
    assert dns[-1] == f"{service}.{REGION}.amazonaws.com"
    assert net.free_ips(net.private[0]) == before - 1, "the endpoint's interface takes an address"

    listed = module_wharf.aws(
        "ec2", "describe-vpc-endpoints",
        "--filters", f"Name=vpc-id,Values={net.vpc}", f"Name=service-name,Values={svc(service)}",
        "--query", "VpcEndpoints[].VpcEndpointId",
        "--region", REGION, cli=cli,
    ).json
    assert listed == [e["VpcEndpointId"]]


def test_seed_002_endpoints_for_private_subnets(net):
    ec2 = net.ec2
    made = {name: net.interface_endpoint(name) for name in ["ecr.api", "ecr.dkr", "logs", "secretsmanager"]}
    for name, e in made.items():
        assert e["PrivateDnsEnabled"] is True, "AWS's default for AWS services"
        assert len(e["NetworkInterfaceIds"]) == 2
    assert made["ecr.dkr"]["DnsEntries"][-1]["DnsName"] == f"*.dkr.ecr.{REGION}.amazonaws.com"
    assert made["ecr.api"]["DnsEntries"][-1]["DnsName"] == f"api.ecr.{REGION}.amazonaws.com"

    # Each endpoint has one interface per private subnet, with an address of that subnet.
    enis = ec2.describe_network_interfaces(NetworkInterfaceIds=made["logs"]["NetworkInterfaceIds"])[
        "NetworkInterfaces"
    ]
    assert sorted(i["SubnetId"] for i in enis) == sorted(net.private)
    for eni in enis:
        cidr = ec2.describe_subnets(SubnetIds=[eni["SubnetId"]])["Subnets"][0]["CidrBlock"]
        assert ipaddress.ip_address(eni["PrivateIpAddress"]) in ipaddress.ip_network(cidr)
        assert eni["Description"] == f"VPC Endpoint Interface {made['logs']['VpcEndpointId']}"
        assert [g["GroupId"] for g in eni["Groups"]] == [net.sg_endpoints]
    addresses = [
        i["PrivateIpAddress"]
        for i in ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [net.private[0]]}])[
            "NetworkInterfaces"
        ]
    ]
    assert len(addresses) == len(set(addresses)), "no two interfaces share an address"

    # The S3 gateway endpoint on the private route table: a route to S3's prefix list.
    s3 = ec2.create_vpc_endpoint(VpcId=net.vpc, ServiceName=svc("s3"), RouteTableIds=[net.private_rtb])["VpcEndpoint"]
    assert s3["VpcEndpointType"] == "Gateway", "the API's default type"
    assert s3["RouteTableIds"] == [net.private_rtb]
    assert s3["DnsEntries"] == [] and s3["NetworkInterfaceIds"] == []
    assert json.loads(s3["PolicyDocument"])["Statement"][0]["Effect"] == "Allow"
    pl = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [svc("s3")]}])["PrefixLists"][0]
    route = [r for r in net.routes(net.private_rtb) if r.get("DestinationPrefixListId") == pl["PrefixListId"]]
    assert len(route) == 1
    assert route[0]["GatewayId"] == s3["VpcEndpointId"]
    assert route[0]["State"] == "active"
    assert all("DestinationPrefixListId" not in r for r in net.routes(net.public_rtb))

    got = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [net.vpc]}])["VpcEndpoints"]
    ids = {e["VpcEndpointId"] for e in got}
    assert {e["VpcEndpointId"] for e in made.values()} | {s3["VpcEndpointId"]} <= ids
    by_type = ec2.describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [net.vpc]}, {"Name": "vpc-endpoint-type", "Values": ["Gateway"]}]
    )["VpcEndpoints"]
    assert [e["VpcEndpointId"] for e in by_type] == [s3["VpcEndpointId"]]

    # A route that an endpoint manages cannot be taken by hand, nor deleted through the table.
    with pytest.raises(ClientError):
        ec2.delete_route(RouteTableId=net.private_rtb, DestinationPrefixListId=pl["PrefixListId"])


def test_endpoint_interfaces_show_their_type(net):
    e = net.interface_endpoint("application-autoscaling", PrivateDnsEnabled=False)
    enis = net.ec2.describe_network_interfaces(NetworkInterfaceIds=e["NetworkInterfaceIds"])["NetworkInterfaces"]
    by_type = net.ec2.describe_network_interfaces(
        Filters=[{"Name": "interface-type", "Values": ["vpc_endpoint"]}, {"Name": "vpc-id", "Values": [net.vpc]}]
    )["NetworkInterfaces"]
    net.ec2.delete_vpc_endpoints(VpcEndpointIds=[e["VpcEndpointId"]])
    assert [i["InterfaceType"] for i in enis] == ["vpc_endpoint", "vpc_endpoint"]
    assert all(i["RequesterManaged"] for i in enis)
    assert {i["NetworkInterfaceId"] for i in enis} <= {i["NetworkInterfaceId"] for i in by_type}


def test_endpoint_errors(net):
    ec2 = net.ec2
    with pytest.raises(ClientError) as e:
        ec2.create_vpc_endpoint(VpcId=net.vpc, ServiceName=svc("ecr"))
    assert error_code(e) == "InvalidServiceName"
    assert error_message(e) == f"The Vpc Endpoint Service '{svc('ecr')}' does not exist"

    with pytest.raises(ClientError) as e:
        ec2.create_vpc_endpoint(VpcId=net.vpc, ServiceName=svc("ecr.api"), RouteTableIds=[net.private_rtb])
    assert error_code(e) == "InvalidParameter"
    assert "Endpoint type (Gateway) does not match available service types ([Interface])" in error_message(e)

    # The seed's ecr.api endpoint has the private DNS name already.
    net.with_private_dns("ecr.api")
    with pytest.raises(ClientError) as e:
        net.interface_endpoint("ecr.api")
    assert error_code(e) == "InvalidParameter"
    assert f"conflicting DNS domain for api.ecr.{REGION}.amazonaws.com in the VPC {net.vpc}" in error_message(e)
    without_dns = net.interface_endpoint("ecr.api", PrivateDnsEnabled=False)
    assert without_dns["PrivateDnsEnabled"] is False
    assert all(".vpce.amazonaws.com" in d["DnsName"] for d in without_dns["DnsEntries"])

    with pytest.raises(ClientError) as e:
        ec2.create_vpc_endpoint(
            VpcId=net.vpc, VpcEndpointType="Interface", ServiceName=svc("monitoring"),
            SubnetIds=[net.private[0], net.public[0]],
        )
    assert error_code(e) == "DuplicateSubnetsInSameZone"
    assert error_code(e) == "DuplicateSubnetsInSameZone"
    assert "Found another VPC endpoint subnet in the availability zone" in error_message(e)

    other = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    with pytest.raises(ClientError) as e:
        ec2.create_vpc_endpoint(VpcId=other, VpcEndpointType="Interface", ServiceName=svc("logs"))
    assert error_code(e) == "InvalidParameter"
    assert error_message(e) == (
        "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames "
        f"VPC attributes set to true for {other}"
    )
    with pytest.raises(ClientError) as e:
        ec2.create_vpc_endpoint(VpcId=other, ServiceName=svc("s3"), RouteTableIds=[net.private_rtb])
    assert error_code(e) == "InvalidParameter"
    with pytest.raises(ClientError) as e:
        ec2.create_vpc_endpoint(VpcId="vpc-0123456789abcdef0", ServiceName=svc("s3"))
    assert error_code(e) == "InvalidVpcID.NotFound"
    ec2.delete_vpc(VpcId=other)

    with pytest.raises(ClientError) as e:
        ec2.describe_vpc_endpoints(VpcEndpointIds=["vpce-0123456789abcdef0"])
    assert error_code(e) == "InvalidVpcEndpointId.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.describe_vpc_endpoints(Filters=[{"Name": "colour", "Values": ["x"]}])
    assert error_code(e) == "InvalidParameterValue"
    out = ec2.delete_vpc_endpoints(VpcEndpointIds=["vpce-0123456789abcdef0", without_dns["VpcEndpointId"]])
    assert out["Unsuccessful"] == [
        {
            "Error": {
                "Code": "InvalidVpcEndpoint.NotFound",
                "Message": "The Vpc Endpoint Id 'vpce-0123456789abcdef0' does not exist",
            },
            "ResourceId": "vpce-0123456789abcdef0",
        }
    ]


def test_modify_and_delete(module_wharf, net, cli):
    ec2 = net.ec2
    # A DynamoDB gateway endpoint moved from the private table to the public one.
    ddb = ec2.create_vpc_endpoint(VpcId=net.vpc, ServiceName=svc("dynamodb"), RouteTableIds=[net.private_rtb])[
        "VpcEndpoint"
    ]["VpcEndpointId"]
    module_wharf.aws(
        "ec2", "modify-vpc-endpoint", "--vpc-endpoint-id", ddb,
        "--add-route-table-ids", net.public_rtb, "--remove-route-table-ids", net.private_rtb,
        "--region", REGION, cli=cli,
    )
    assert net.endpoint(ddb)["RouteTableIds"] == [net.public_rtb]
    assert any(r.get("GatewayId") == ddb for r in net.routes(net.public_rtb))
    assert not any(r.get("GatewayId") == ddb for r in net.routes(net.private_rtb))

    # An interface endpoint: one subnet removed, the default group added, policy set then reset.
    e = net.interface_endpoint("elasticloadbalancing")["VpcEndpointId"]
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "elasticloadbalancing:Describe*", "Resource": "*"}]})
    assert ec2.modify_vpc_endpoint(
        VpcEndpointId=e, RemoveSubnetIds=[net.private[1]], AddSecurityGroupIds=[net.default_sg], PolicyDocument=policy
    )["Return"] is True
    now = net.endpoint(e)
    assert now["SubnetIds"] == [net.private[0]]
    assert len(now["NetworkInterfaceIds"]) == 1
    assert sorted(g["GroupId"] for g in now["Groups"]) == sorted([net.sg_endpoints, net.default_sg])
    assert json.loads(now["PolicyDocument"]) == json.loads(policy)
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=now["NetworkInterfaceIds"])["NetworkInterfaces"][0]
    assert sorted(g["GroupId"] for g in eni["Groups"]) == sorted([net.sg_endpoints, net.default_sg])
    ec2.modify_vpc_endpoint(VpcEndpointId=e, ResetPolicy=True, AddSubnetIds=[net.private[1]])
    now = net.endpoint(e)
    assert json.loads(now["PolicyDocument"])["Statement"][0]["Action"] == "*"
    assert len(now["NetworkInterfaceIds"]) == 2

    # A group an endpoint's interfaces use cannot be deleted; nor the VPC while endpoints exist.
    with pytest.raises(ClientError) as err:
        ec2.delete_security_group(GroupId=net.sg_endpoints)
    assert error_code(err) == "DependencyViolation"

    enis = now["NetworkInterfaceIds"]
    out = module_wharf.aws(
        "ec2", "delete-vpc-endpoints", "--vpc-endpoint-ids", e, ddb, "--region", REGION, cli=cli
    ).json
    assert out == {"Unsuccessful": []}
    assert not any(r.get("GatewayId") == ddb for r in net.routes(net.public_rtb))
    remaining = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [net.vpc]}])["NetworkInterfaces"]
    assert not {i["NetworkInterfaceId"] for i in remaining} & set(enis)
    with pytest.raises(ClientError) as err:
        ec2.describe_vpc_endpoints(VpcEndpointIds=[e])
    assert error_code(err) == "InvalidVpcEndpointId.NotFound"


# ---------------------------------------------------------------------------------------
# ELBv2 and ECS on the created VPC
# ---------------------------------------------------------------------------------------


def test_alb_target_group_and_service_on_the_created_vpc(module_wharf, net):
    elbv2 = module_wharf.boto3_client("elbv2", region=REGION)
    ecs = module_wharf.boto3_client("ecs", region=REGION)
    ec2 = net.ec2

    tg = elbv2.create_target_group(
        Name="tg-blog-api", Protocol="HTTP", Port=8000, VpcId=net.vpc, TargetType="ip", HealthCheckPath="/health"
    )["TargetGroups"][0]
    assert tg["VpcId"] == net.vpc

    with pytest.raises(ClientError) as e:
        elbv2.create_load_balancer(Name="blog-alb", Subnets=[net.public[0]], SecurityGroups=[net.sg_alb])
    assert "At least two subnets in two different Availability Zones must be specified" in error_message(e)
    with pytest.raises(ClientError) as e:
        elbv2.create_load_balancer(Name="blog-alb", Subnets=[net.public[0], net.private[0]])
    assert error_code(e) == "InvalidConfigurationRequest"
    default_subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]
    with pytest.raises(ClientError) as e:
        elbv2.create_load_balancer(Name="blog-alb", Subnets=[net.public[0], default_subnet["SubnetId"]])
    assert error_code(e) == "InvalidConfigurationRequest"
    default_sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [default_subnet["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    with pytest.raises(ClientError) as e:
        elbv2.create_load_balancer(Name="blog-alb", Subnets=net.public, SecurityGroups=[default_sg])
    assert error_code(e) == "InvalidSecurityGroup"
    # At most five groups, as for any network interface.
    six = [ec2.create_security_group(GroupName=f"alb-extra-{i}", Description="extra", VpcId=net.vpc)["GroupId"]
           for i in range(6)]
    with pytest.raises(ClientError) as e:
        elbv2.create_load_balancer(Name="blog-alb", Subnets=net.public, SecurityGroups=six)
    assert error_code(e) == "InvalidConfigurationRequest"
    assert "at most 5 security groups" in error_message(e)
    for group in six:
        ec2.delete_security_group(GroupId=group)

    lb = elbv2.create_load_balancer(Name="blog-alb", Subnets=net.public, SecurityGroups=[net.sg_alb])[
        "LoadBalancers"
    ][0]
    assert lb["VpcId"] == net.vpc
    assert lb["SecurityGroups"] == [net.sg_alb]
    assert sorted(z["ZoneName"] for z in lb["AvailabilityZones"]) == [f"{REGION}a", f"{REGION}c"]
    bare = elbv2.create_load_balancer(Name="blog-alb-internal", Subnets=net.private, Scheme="internal")[
        "LoadBalancers"
    ][0]
    assert bare["SecurityGroups"] == [net.default_sg], "the VPC's default group when none is named"

    # A target group of another VPC cannot be forwarded to.
    other_tg = elbv2.create_target_group(
        Name="tg-default-vpc", Protocol="HTTP", Port=8000, VpcId=default_subnet["VpcId"], TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(ClientError) as e:
        elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": other_tg}],
        )
    assert error_code(e) == "InvalidConfigurationRequest"
    assert "is in a different VPC than load balancer" in error_message(e)
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )["Listeners"][0]
    assert listener["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    # Targets: addresses of the VPC; one outside it and outside the private ranges is refused.
    elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "10.0.10.200"}])
    with pytest.raises(ClientError) as e:
        elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "8.8.8.8"}])
    assert error_code(e) == "ValidationError"
    elbv2.deregister_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "10.0.10.200"}])

    ecs.create_cluster(clusterName="blog-cluster")
    td = json.loads((FIXTURES / "blog-api-task-definition.json").read_text())
    ecs.register_task_definition(**td)
    awsvpc = {"subnets": net.private, "securityGroups": [net.sg_fargate], "assignPublicIp": "DISABLED"}
    service = ecs.create_service(
        cluster="blog-cluster", serviceName="blog-api", taskDefinition="blog-api", desiredCount=0,
        launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": awsvpc},
        loadBalancers=[{"targetGroupArn": tg["TargetGroupArn"], "containerName": "api", "containerPort": 8000}],
    )["service"]
    assert service["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == net.private
    assert service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == [net.sg_fargate]

    # Groups must be in the subnets' VPC.
    wrong = {**awsvpc, "securityGroups": [default_sg]}
    with pytest.raises(ClientError) as e:
        ecs.create_service(
            cluster="blog-cluster", serviceName="blog-api-2", taskDefinition="blog-api", desiredCount=0,
            launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": wrong},
        )
    assert error_code(e) == "InvalidParameterException"
    assert "belong to different networks" in error_message(e)
    with pytest.raises(ClientError) as e:
        ecs.run_task(
            cluster="blog-cluster", taskDefinition="blog-api", launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": wrong},
        )
    assert error_code(e) == "InvalidParameterException"

    ecs.delete_service(cluster="blog-cluster", service="blog-api", force=True)
