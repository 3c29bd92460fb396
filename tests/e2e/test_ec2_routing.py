"""EC2 routing as seed 002 builds it: a 10.0.0.0/16 VPC with public and private subnets in two
zones, an internet gateway, a public route table (0.0.0.0/0 -> igw) on the public subnets, an
Elastic IP, a NAT gateway in a public subnet and a private route table (0.0.0.0/0 -> nat) on
the private subnets; every error AWS answers on the way; and the teardown in reverse order,
after which nothing is left.

One server for the module; boto3 for most checks, both CLIs for a few representative commands
(and `aws ec2 wait nat-gateway-available`).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import wait_until


def error(code: str, call, **kwargs) -> str:
    """Calls boto3 ``call(**kwargs)``, which must fail with AWS error ``code``; its message."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    err = caught.value.response["Error"]
    assert err["Code"] == code, err
    return err["Message"]


def tag(resource_type: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}]}]


def nat_state(ec2, nat_id: str) -> str:
    return ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]["State"]


def routes_of(ec2, rtb: str) -> dict[str, dict]:
    table = ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]
    return {r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId"): r for r in table["Routes"]}


def test_seed_002_network_up_and_down(module_wharf):
    w = module_wharf
    ec2 = w.boto3_client("ec2")
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tag("vpc", "blog"))["Vpc"]["VpcId"]
    subnets = {}
    for name, cidr, zone in [
        ("public-a", "10.0.1.0/24", zones[0]),
        ("public-b", "10.0.2.0/24", zones[1]),
        ("private-a", "10.0.11.0/24", zones[0]),
        ("private-b", "10.0.12.0/24", zones[1]),
    ]:
        subnets[name] = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    assert len(main) == 1
    main_rtb = main[0]["RouteTableId"]
    main_assoc = main[0]["Associations"][0]["RouteTableAssociationId"]
    assert main[0]["Routes"] == [
        {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"}
    ]

    # Internet gateway.
    igw = ec2.create_internet_gateway(TagSpecifications=tag("internet-gateway", "blog"))["InternetGateway"]
    assert igw["Attachments"] == [] and igw["Tags"] == [{"Key": "Name", "Value": "blog"}]
    igw = igw["InternetGatewayId"]
    public_rtb = ec2.create_route_table(VpcId=vpc, TagSpecifications=tag("route-table", "public"))["RouteTable"]
    assert public_rtb["Associations"] == [] and len(public_rtb["Routes"]) == 1
    public_rtb = public_rtb["RouteTableId"]
    msg = error(
        "InvalidParameterValue",
        ec2.create_route, RouteTableId=public_rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw,
    )
    assert msg == f"route table {public_rtb} and network gateway {igw} belong to different networks"
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    assert ec2.describe_internet_gateways(InternetGatewayIds=[igw])["InternetGateways"][0]["Attachments"] == [
        {"State": "available", "VpcId": vpc}
    ]
    assert [g["InternetGatewayId"] for g in ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}, {"Name": "tag:Name", "Values": ["blog"]}]
    )["InternetGateways"]] == [igw]
    ec2.create_route(RouteTableId=public_rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    public_assocs = [
        ec2.associate_route_table(RouteTableId=public_rtb, SubnetId=subnets[s])["AssociationId"]
        for s in ("public-a", "public-b")
    ]
    assert routes_of(ec2, public_rtb)["0.0.0.0/0"] == {
        "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw, "Origin": "CreateRoute", "State": "active"
    }

    # Internet gateway errors.
    other_igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    msg = error("InvalidParameterValue", ec2.attach_internet_gateway, InternetGatewayId=other_igw, VpcId=vpc)
    assert msg == f"Network {vpc} already has an internet gateway attached"
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    msg = error("Resource.AlreadyAssociated", ec2.attach_internet_gateway, InternetGatewayId=igw, VpcId=default_vpc)
    assert msg == f"resource {igw} is already attached to network {vpc}"
    msg = error("Gateway.NotAttached", ec2.detach_internet_gateway, InternetGatewayId=other_igw, VpcId=vpc)
    assert msg == f"resource {other_igw} is not attached to network {vpc}"
    msg = error("DependencyViolation", ec2.delete_internet_gateway, InternetGatewayId=igw)
    assert msg == f"The internetGateway '{igw}' has dependencies and cannot be deleted."
    error("InvalidInternetGatewayID.NotFound", ec2.delete_internet_gateway, InternetGatewayId="igw-0123456789abcdef0")
    ec2.delete_internet_gateway(InternetGatewayId=other_igw)

    # Route table errors.
    msg = error(
        "RouteAlreadyExists",
        ec2.create_route, RouteTableId=public_rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw,
    )
    assert msg == "The route identified by 0.0.0.0/0 already exists."
    error("InvalidParameterValue", ec2.create_route, RouteTableId=public_rtb, DestinationCidrBlock="10.0.0.0/33", GatewayId=igw)
    msg = error(
        "Resource.AlreadyAssociated",
        ec2.associate_route_table, RouteTableId=main_rtb, SubnetId=subnets["public-a"],
    )
    assert msg == f"the specified association for route table {main_rtb} conflicts with an existing association"
    msg = error("DependencyViolation", ec2.delete_route_table, RouteTableId=public_rtb)
    assert msg == f"The routeTable '{public_rtb}' has dependencies and cannot be deleted."
    error("DependencyViolation", ec2.delete_route_table, RouteTableId=main_rtb)
    msg = error("InvalidParameterValue", ec2.disassociate_route_table, AssociationId=main_assoc)
    assert msg == f"cannot disassociate the main route table association {main_assoc}"
    msg = error("InvalidParameterValue", ec2.delete_route, RouteTableId=public_rtb, DestinationCidrBlock="10.0.0.0/16")
    assert msg == f"cannot remove local route 10.0.0.0/16 in route table {public_rtb}"
    msg = error(
        "InvalidRoute.NotFound",
        ec2.replace_route, RouteTableId=public_rtb, DestinationCidrBlock="8.8.8.0/24", GatewayId=igw,
    )
    assert msg == "There is no route defined for '8.8.8.0/24' in the route table. Use CreateRoute instead."
    error("InvalidRouteTableID.NotFound", ec2.describe_route_tables, RouteTableIds=["rtb-0123456789abcdef0"])

    # Elastic IP and NAT gateway.
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=tag("elastic-ip", "nat"))
    assert eip["Domain"] == "vpc" and eip["PublicIp"].startswith("100.65.")
    msg = error(
        "InvalidParameterValue",
        ec2.create_nat_gateway, SubnetId=subnets["private-a"], AllocationId=eip["AllocationId"],
    )
    assert subnets["private-a"] in msg
    assert ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [vpc]}])["NatGateways"] == []
    error("InvalidAllocationID.NotFound", ec2.create_nat_gateway, SubnetId=subnets["public-a"], AllocationId="eipalloc-0123456789abcdef0")
    nat = ec2.create_nat_gateway(
        SubnetId=subnets["public-a"], AllocationId=eip["AllocationId"], TagSpecifications=tag("natgateway", "blog")
    )["NatGateway"]
    nat_id = nat["NatGatewayId"]
    assert nat["State"] == "pending" and nat["VpcId"] == vpc
    wait_until(lambda: nat_state(ec2, nat_id) == "available", "the NAT gateway to be available", deadline=30)
    # Both CLIs' waiters accept it.
    for cli in ("v1", "v2"):
        w.aws("ec2", "wait", "nat-gateway-available", "--nat-gateway-ids", nat_id, cli=cli)
    address = ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]["NatGatewayAddresses"][0]
    assert address["PublicIp"] == eip["PublicIp"] and address["AllocationId"] == eip["AllocationId"]
    assert address["PrivateIp"].startswith("10.0.1.")
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[address["NetworkInterfaceId"]])["NetworkInterfaces"][0]
    assert eni["Description"] == f"Interface for NAT Gateway {nat_id}"
    assert eni["PrivateIpAddress"] == address["PrivateIp"]
    held = ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"][0]
    assert held["NetworkInterfaceId"] == address["NetworkInterfaceId"]
    assert held["PrivateIpAddress"] == address["PrivateIp"]
    assert held["AssociationId"].startswith("eipassoc-")
    assert ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": ["nat"]}])["Addresses"][0]["PublicIp"] == eip["PublicIp"]
    msg = error("InvalidIPAddress.InUse", ec2.release_address, AllocationId=eip["AllocationId"])
    assert msg == f"Address {eip['PublicIp']} is in use."
    msg = error("DependencyViolation", ec2.detach_internet_gateway, InternetGatewayId=igw, VpcId=vpc)
    assert msg == (
        f"Network {vpc} has some mapped public address(es). "
        "Please unmap those public address(es) before detaching the gateway."
    )

    private_rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_rtb, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    private_assocs = [
        ec2.associate_route_table(RouteTableId=private_rtb, SubnetId=subnets[s])["AssociationId"]
        for s in ("private-a", "private-b")
    ]
    assert routes_of(ec2, private_rtb)["0.0.0.0/0"] == {
        "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat_id, "Origin": "CreateRoute", "State": "active"
    }
    found = ec2.describe_route_tables(Filters=[
        {"Name": "route.nat-gateway-id", "Values": [nat_id]},
        {"Name": "association.subnet-id", "Values": [subnets["private-b"]]},
    ])["RouteTables"]
    assert [t["RouteTableId"] for t in found] == [private_rtb]
    assert {a["SubnetId"] for a in found[0]["Associations"]} == {subnets["private-a"], subnets["private-b"]}
    assert all(a["AssociationState"] == {"State": "associated"} and a["Main"] is False for a in found[0]["Associations"])

    # Teardown, in reverse order.
    for assoc in private_assocs:
        ec2.disassociate_route_table(AssociationId=assoc)
    ec2.delete_nat_gateway(NatGatewayId=nat_id)
    assert routes_of(ec2, private_rtb)["0.0.0.0/0"]["State"] == "blackhole"
    assert "AssociationId" not in ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"][0]
    wait_until(lambda: nat_state(ec2, nat_id) == "deleted", "the NAT gateway to be deleted", deadline=30)
    error("NatGatewayNotFound", ec2.delete_nat_gateway, NatGatewayId=nat_id)
    ec2.delete_route_table(RouteTableId=private_rtb)
    ec2.release_address(AllocationId=eip["AllocationId"])
    for assoc in public_assocs:
        ec2.disassociate_route_table(AssociationId=assoc)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    assert routes_of(ec2, public_rtb)["0.0.0.0/0"]["State"] == "blackhole"
    ec2.delete_route_table(RouteTableId=public_rtb)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    for subnet in subnets.values():
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)

    # Nothing is left: only the default VPC's gateway and table, and the deleted NAT gateway
    # (AWS shows it for an hour).
    by_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    assert ec2.describe_route_tables(Filters=by_vpc)["RouteTables"] == []
    assert ec2.describe_subnets(Filters=by_vpc)["Subnets"] == []
    assert ec2.describe_network_interfaces(Filters=by_vpc)["NetworkInterfaces"] == []
    assert ec2.describe_addresses()["Addresses"] == []
    gateways = ec2.describe_internet_gateways()["InternetGateways"]
    assert [g["Attachments"][0]["VpcId"] for g in gateways] == [default_vpc]
    assert [n["State"] for n in ec2.describe_nat_gateways()["NatGateways"]] == ["deleted"]


def test_public_nat_gateway_without_internet_gateway_fails(module_wharf):
    ec2 = module_wharf.boto3_client("ec2", region="us-west-2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    wait_until(lambda: nat_state(ec2, nat) == "failed", "the NAT gateway to fail", deadline=30)
    failed = ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]
    assert failed["FailureCode"] == "Gateway.NotAttached"
    assert failed["FailureMessage"] == f"Network {vpc} has no Internet gateway attached"
    # A failed gateway holds nothing; it can be deleted.
    assert "AssociationId" not in ec2.describe_addresses(AllocationIds=[eip])["Addresses"][0]
    ec2.release_address(AllocationId=eip)
    ec2.delete_nat_gateway(NatGatewayId=nat)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_elastic_ip_limit(module_wharf):
    ec2 = module_wharf.boto3_client("ec2", region="eu-west-1")
    held = [ec2.allocate_address(Domain="vpc") for _ in range(5)]
    ips = [a["PublicIp"] for a in held]
    assert len(set(ips)) == 5
    msg = error("AddressLimitExceeded", ec2.allocate_address, Domain="vpc")
    assert msg == "The maximum number of addresses has been reached."
    assert sorted(a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]) == sorted(ips)
    error("InvalidAllocationID.NotFound", ec2.release_address, AllocationId="eipalloc-0123456789abcdef0")
    for a in held:
        ec2.release_address(AllocationId=a["AllocationId"])
    assert ec2.describe_addresses()["Addresses"] == []


def test_cli_commands(module_wharf, cli):
    """A few representative commands with each CLI (boto3 sets up and cleans up)."""
    w = module_wharf
    ec2 = w.boto3_client("ec2")
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    rtb = w.aws("ec2", "create-route-table", "--vpc-id", default_vpc, cli=cli).json["RouteTable"]["RouteTableId"]
    result = w.aws_error(
        "InvalidParameterValue",
        "ec2", "create-route", "--route-table-id", rtb, "--destination-cidr-block", "0.0.0.0/0",
        "--gateway-id", igw, cli=cli,
    )
    assert f"route table {rtb} and network gateway {igw} belong to different networks" in result.stderr
    tables = w.aws(
        "ec2", "describe-route-tables", "--filters", f"Name=vpc-id,Values={default_vpc}",
        "Name=route.gateway-id,Values=local", "Name=route.state,Values=active", cli=cli,
    ).json["RouteTables"]
    assert rtb in [t["RouteTableId"] for t in tables]
    eip = w.aws("ec2", "allocate-address", "--domain", "vpc", cli=cli).json
    assert eip["PublicIp"].startswith("100.65.") and eip["NetworkBorderGroup"] == "us-east-1"
    ec2.release_address(AllocationId=eip["AllocationId"])
    ec2.delete_route_table(RouteTableId=rtb)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
