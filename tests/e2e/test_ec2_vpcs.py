"""EC2 VPCs, subnets, network ACLs, account attributes and tags, as infrastructure code
builds them (issue 14):

    aws ec2 create-vpc --cidr-block 10.0.0.0/16 --tag-specifications 'ResourceType=vpc,Tags=[...]'
    aws ec2 create-subnet --vpc-id $VPC --cidr-block 10.0.1.0/24 --availability-zone us-east-1a
    aws ec2 describe-subnets --filters Name=vpc-id,Values=$VPC
    aws ec2 create-tags --resources $VPC $SUBNET --tags Key=env,Value=lab

One server for the module; each test works in a region of its own (AWS's limit of five VPCs
is per region). Both CLIs drive the representative commands, boto3 the rest: every operation,
every error AWS gives for bad input, AvailableIpAddressCount as interfaces take addresses,
and tags with their filters on every kind of resource.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import wait_until


def error_code(call, *args, **kwargs) -> tuple[str, str]:
    """The AWS error code and message a boto3 call fails with."""
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def tag_filter(key: str, value: str) -> list[dict]:
    return [{"Name": f"tag:{key}", "Values": [value]}]


def new_vpc(ec2, cidr: str = "10.0.0.0/16", **kwargs) -> str:
    return ec2.create_vpc(CidrBlock=cidr, **kwargs)["Vpc"]["VpcId"]


def new_subnet(ec2, vpc: str, cidr: str, **kwargs) -> dict:
    return ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, **kwargs)["Subnet"]


def free_addresses(ec2, subnet: str) -> int:
    return ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailableIpAddressCount"]


CLI_REGION = {"v1": "ca-central-1", "v2": "sa-east-1"}


def test_cli_builds_a_vpc_with_subnets_and_tags(module_wharf, cli):
    wharf, region = module_wharf, CLI_REGION[cli]
    vpc = wharf.aws(
        "ec2", "create-vpc", "--cidr-block", "10.0.0.0/16",
        "--tag-specifications", "ResourceType=vpc,Tags=[{Key=Name,Value=app}]",
        region=region, cli=cli,
    ).json["Vpc"]
    assert vpc["CidrBlock"] == "10.0.0.0/16" and vpc["IsDefault"] is False
    assert vpc["Tags"] == [{"Key": "Name", "Value": "app"}]
    vpc_id = vpc["VpcId"]
    subnet = wharf.aws(
        "ec2", "create-subnet", "--vpc-id", vpc_id, "--cidr-block", "10.0.1.0/24",
        "--availability-zone", f"{region}b",
        region=region, cli=cli,
    ).json["Subnet"]
    assert subnet["AvailabilityZone"] == f"{region}b"
    assert subnet["AvailableIpAddressCount"] == 251
    assert subnet["MapPublicIpOnLaunch"] is False
    wharf.aws(
        "ec2", "create-tags", "--resources", vpc_id, subnet["SubnetId"],
        "--tags", "Key=env,Value=lab",
        region=region, cli=cli,
    )
    found = wharf.aws(
        "ec2", "describe-subnets",
        "--filters", f"Name=vpc-id,Values={vpc_id}", "Name=tag:env,Values=lab",
        region=region, cli=cli,
    ).json["Subnets"]
    assert [s["SubnetId"] for s in found] == [subnet["SubnetId"]]
    assert found[0]["CidrBlock"] == "10.0.1.0/24"
    result = wharf.aws_error(
        "InvalidVpcRange", "ec2", "create-vpc", "--cidr-block", "10.0.0.0/8",
        region=region, cli=cli,
    )
    assert "The CIDR '10.0.0.0/8' is invalid." in result.stderr

    ec2 = wharf.boto3_client("ec2", region=region)
    ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc_id)


def test_vpc_lifecycle_and_its_companions(module_wharf):
    ec2 = module_wharf.boto3_client("ec2", region="us-west-1")
    created = ec2.create_vpc(
        CidrBlock="10.0.0.0/16",
        InstanceTenancy="dedicated",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "lab"}]}],
    )["Vpc"]
    assert created["State"] == "pending"
    vpc = created["VpcId"]
    ec2.get_waiter("vpc_available").wait(VpcIds=[vpc], WaiterConfig={"Delay": 1})
    shown = ec2.describe_vpcs(Filters=tag_filter("Name", "lab"))["Vpcs"]
    assert [v["VpcId"] for v in shown] == [vpc]
    assert shown[0]["InstanceTenancy"] == "dedicated"
    assert shown[0]["CidrBlockAssociationSet"][0]["CidrBlock"] == "10.0.0.0/16"
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    for name, value, expected in [
        ("cidr", "10.0.0.0/16", {vpc}),
        ("is-default", "false", {vpc}),
        ("state", "available", {vpc, default_vpc}),
        ("cidr-block-association.cidr-block", "10.0.*", {vpc}),
        ("owner-id", created["OwnerId"], {vpc, default_vpc}),
        ("dhcp-options-id", created["DhcpOptionsId"], {vpc}),
        ("vpc-id", vpc, {vpc}),
    ]:
        got = ec2.describe_vpcs(Filters=[{"Name": name, "Values": [value]}])["Vpcs"]
        assert {v["VpcId"] for v in got} == expected, name

    # What AWS makes with every VPC: the main route table, the default ACL and group.
    by_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    tables = ec2.describe_route_tables(Filters=by_vpc)["RouteTables"]
    assert len(tables) == 1 and tables[0]["Associations"][0]["Main"] is True
    acls = ec2.describe_network_acls(Filters=by_vpc)["NetworkAcls"]
    assert len(acls) == 1 and acls[0]["IsDefault"] is True
    groups = ec2.describe_security_groups(Filters=by_vpc)["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]

    # DNS attributes: support on, hostnames off for a created VPC; one attribute per call.
    def attribute(name):
        key = name[0].upper() + name[1:]
        return ec2.describe_vpc_attribute(VpcId=vpc, Attribute=name)[key]["Value"]

    assert attribute("enableDnsSupport") is True
    assert attribute("enableDnsHostnames") is False
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    assert attribute("enableDnsHostnames") is True
    code, _ = error_code(
        ec2.modify_vpc_attribute, VpcId=vpc,
        EnableDnsHostnames={"Value": True}, EnableDnsSupport={"Value": True},
    )
    assert code == "InvalidParameterCombination"

    ec2.delete_vpc(VpcId=vpc)
    assert ec2.describe_route_tables(Filters=by_vpc)["RouteTables"] == []
    assert ec2.describe_network_acls(Filters=by_vpc)["NetworkAcls"] == []
    assert ec2.describe_security_groups(Filters=by_vpc)["SecurityGroups"] == []
    code, message = error_code(ec2.describe_vpcs, VpcIds=[vpc])
    assert code == "InvalidVpcID.NotFound" and vpc in message


def test_vpc_errors_and_limits(module_wharf):
    ec2 = module_wharf.boto3_client("ec2", region="us-west-2")
    for cidr, code in [("10.0.0.0/8", "InvalidVpcRange"), ("10.0.0.0/29", "InvalidVpcRange"),
                       ("10.0.0.1/16", "InvalidParameterValue"), ("nonsense", "InvalidParameterValue")]:
        assert error_code(ec2.create_vpc, CidrBlock=cidr)[0] == code, cidr
    code, message = error_code(ec2.create_vpc, CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)
    assert code == "InvalidParameterValue" and "AmazonProvidedIpv6CidrBlock" in message
    code, message = error_code(ec2.create_vpc, Ipv4IpamPoolId="ipam-pool-0123", Ipv4NetmaskLength=16)
    assert code == "InvalidParameterValue" and "Ipv4IpamPoolId" in message

    vpcs = [new_vpc(ec2, "10.0.0.0/16") for _ in range(5)]  # the same range may repeat
    assert error_code(ec2.create_vpc, CidrBlock="10.9.0.0/16") == (
        "VpcLimitExceeded", "The maximum number of VPCs has been reached.")

    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    assert error_code(ec2.delete_vpc, VpcId=default_vpc)[0] == "OperationNotPermitted"
    assert error_code(ec2.delete_vpc, VpcId="vpc-0123456789abcdef0")[0] == "InvalidVpcID.NotFound"

    # Each dependency AWS names keeps the VPC until it is gone.
    vpc = vpcs[0]
    dependency = ("DependencyViolation", f"The vpc '{vpc}' has dependencies and cannot be deleted.")
    subnet = new_subnet(ec2, vpc, "10.0.1.0/24")["SubnetId"]
    assert error_code(ec2.delete_vpc, VpcId=vpc) == dependency
    ec2.delete_subnet(SubnetId=subnet)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    assert error_code(ec2.delete_vpc, VpcId=vpc) == dependency
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    assert error_code(ec2.delete_vpc, VpcId=vpc) == dependency
    ec2.delete_route_table(RouteTableId=table)
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    assert error_code(ec2.delete_vpc, VpcId=vpc) == dependency
    ec2.delete_security_group(GroupId=group)
    for each in vpcs:
        ec2.delete_vpc(VpcId=each)
    assert [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]] == [default_vpc]


def test_subnets_ranges_zones_and_attributes(module_wharf):
    ec2 = module_wharf.boto3_client("ec2", region="eu-west-1")
    vpc = new_vpc(ec2, "10.0.0.0/16")
    first = new_subnet(ec2, vpc, "10.0.1.0/24", AvailabilityZone="eu-west-1b")
    assert (first["AvailabilityZone"], first["AvailabilityZoneId"]) == ("eu-west-1b", "euw1-az2")
    assert first["DefaultForAz"] is False and first["State"] == "available"
    assert first["SubnetArn"].endswith(f":subnet/{first['SubnetId']}")
    by_id = new_subnet(ec2, vpc, "10.0.2.0/24", AvailabilityZoneId="euw1-az3")
    assert by_id["AvailabilityZone"] == "eu-west-1c"
    unplaced = new_subnet(ec2, vpc, "10.0.3.0/28")
    assert unplaced["AvailabilityZone"] == "eu-west-1a", "the zone with the fewest subnets"
    assert unplaced["AvailableIpAddressCount"] == 11

    assert error_code(new_subnet, ec2, vpc, "10.1.0.0/24") == (
        "InvalidSubnet.Range", "The CIDR '10.1.0.0/24' is invalid.")
    assert error_code(new_subnet, ec2, vpc, "10.0.4.0/29")[0] == "InvalidSubnet.Range"
    assert error_code(new_subnet, ec2, vpc, "10.0.1.0/24") == (
        "InvalidSubnet.Conflict", "The CIDR '10.0.1.0/24' conflicts with another subnet")
    assert error_code(new_subnet, ec2, vpc, "10.0.0.0/22")[0] == "InvalidSubnet.Conflict"
    assert error_code(new_subnet, ec2, "vpc-0123456789abcdef0", "10.0.9.0/24")[0] == "InvalidVpcID.NotFound"
    code, message = error_code(new_subnet, ec2, vpc, "10.0.9.0/24", AvailabilityZone="eu-west-1z")
    assert code == "InvalidParameterValue"
    assert "eu-west-1a, eu-west-1b, eu-west-1c" in message

    ec2.modify_subnet_attribute(SubnetId=first["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    code, message = error_code(
        ec2.modify_subnet_attribute, SubnetId=first["SubnetId"], AssignIpv6AddressOnCreation={"Value": True})
    assert code == "InvalidParameterValue" and "AssignIpv6AddressOnCreation" in message

    # Every filter the CLI documents for describe-subnets.
    mine = {s["SubnetId"] for s in (first, by_id, unplaced)}
    cases = [
        ("vpc-id", vpc, mine),
        ("availability-zone", "eu-west-1b", {first["SubnetId"]}),
        ("availability-zone-id", "euw1-az3", {by_id["SubnetId"]}),
        ("available-ip-address-count", "11", {unplaced["SubnetId"]}),
        ("cidr-block", "10.0.2.0/24", {by_id["SubnetId"]}),
        ("map-public-ip-on-launch", "true", {first["SubnetId"]}),
        ("subnet-id", first["SubnetId"], {first["SubnetId"]}),
        ("subnet-arn", first["SubnetArn"], {first["SubnetId"]}),
        ("state", "available", mine),
        ("default-for-az", "false", mine),
        ("owner-id", first["OwnerId"], mine),
        ("ipv6-native", "false", mine),
    ]
    for name, value, expected in cases:
        got = ec2.describe_subnets(Filters=[{"Name": name, "Values": [value]}])["Subnets"]
        assert {s["SubnetId"] for s in got} & mine == expected, name
    defaults = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    assert len(defaults) == 3 and all(s["AvailableIpAddressCount"] == 4091 for s in defaults)
    assert error_code(ec2.describe_subnets, Filters=[{"Name": "colour", "Values": ["x"]}])[0] == "InvalidParameterValue"

    for subnet in mine:
        ec2.delete_subnet(SubnetId=subnet)
    assert error_code(ec2.delete_subnet, SubnetId=first["SubnetId"])[0] == "InvalidSubnetID.NotFound"
    ec2.delete_vpc(VpcId=vpc)


def test_available_addresses_follow_interfaces(module_wharf):
    """An interface endpoint puts an interface in the subnet: one address fewer, and the
    subnet cannot be deleted until the endpoint is gone."""
    ec2 = module_wharf.boto3_client("ec2", region="eu-west-2")
    vpc = new_vpc(ec2, "10.0.0.0/16")
    subnet = new_subnet(ec2, vpc, "10.0.1.0/24")["SubnetId"]
    assert free_addresses(ec2, subnet) == 251
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc, VpcEndpointType="Interface", ServiceName="com.amazonaws.eu-west-2.logs",
        SubnetIds=[subnet], PrivateDnsEnabled=False,
    )["VpcEndpoint"]["VpcEndpointId"]
    assert free_addresses(ec2, subnet) == 250
    assert error_code(ec2.delete_subnet, SubnetId=subnet) == (
        "DependencyViolation", f"The subnet '{subnet}' has dependencies and cannot be deleted.")
    assert error_code(ec2.delete_vpc, VpcId=vpc)[0] == "DependencyViolation"
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint])
    assert free_addresses(ec2, subnet) == 251
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_network_acls(module_wharf):
    ec2 = module_wharf.boto3_client("ec2", region="eu-central-1")
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    vpc = new_vpc(ec2, "10.0.0.0/16")
    subnet = new_subnet(ec2, vpc, "10.0.1.0/24")["SubnetId"]

    acls = ec2.describe_network_acls()["NetworkAcls"]
    assert sorted(a["VpcId"] for a in acls) == sorted([default_vpc, vpc])
    default_acl = next(a for a in acls if a["VpcId"] == default_vpc)
    assert len(default_acl["Associations"]) == 3, "the three default subnets"
    mine = next(a for a in acls if a["VpcId"] == vpc)
    assert mine["IsDefault"] is True
    assert [a["SubnetId"] for a in mine["Associations"]] == [subnet]
    assert mine["Associations"][0]["NetworkAclAssociationId"].startswith("aclassoc-")
    entries = {(e["RuleNumber"], e["Egress"], e["RuleAction"]) for e in mine["Entries"]}
    assert entries == {(100, False, "allow"), (32767, False, "deny"), (100, True, "allow"), (32767, True, "deny")}
    again = ec2.describe_network_acls(NetworkAclIds=[default_acl["NetworkAclId"]])["NetworkAcls"]
    assert again[0]["Associations"] == default_acl["Associations"], "association ids are stable"

    def ids(name, value):
        got = ec2.describe_network_acls(Filters=[{"Name": name, "Values": [value]}])["NetworkAcls"]
        return {a["NetworkAclId"] for a in got}

    assert ids("association.subnet-id", subnet) == {mine["NetworkAclId"]}
    assert ids("vpc-id", vpc) == {mine["NetworkAclId"]}
    assert ids("default", "true") == {mine["NetworkAclId"], default_acl["NetworkAclId"]}
    assert ids("default", "false") == set()
    assert ids("network-acl-id", mine["NetworkAclId"]) == {mine["NetworkAclId"]}
    assert ids("association.network-acl-id", mine["NetworkAclId"]) == {mine["NetworkAclId"]}
    assert ids("entry.rule-number", "32767") == {mine["NetworkAclId"], default_acl["NetworkAclId"]}
    assert ids("entry.rule-action", "deny") == {mine["NetworkAclId"], default_acl["NetworkAclId"]}
    assert ids("owner-id", mine["OwnerId"]) == {mine["NetworkAclId"], default_acl["NetworkAclId"]}
    assert error_code(ec2.describe_network_acls, NetworkAclIds=["acl-0123456789abcdef0"]) == (
        "InvalidNetworkAclID.NotFound", "The networkAcl ID 'acl-0123456789abcdef0' does not exist")

    ec2.delete_subnet(SubnetId=subnet)
    assert ids("association.subnet-id", subnet) == set()
    ec2.delete_vpc(VpcId=vpc)


def test_account_attributes(module_wharf):
    ec2 = module_wharf.boto3_client("ec2", region="ap-southeast-2")
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    attributes = {
        a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
        for a in ec2.describe_account_attributes()["AccountAttributes"]
    }
    assert attributes["default-vpc"] == [default_vpc]
    assert attributes["supported-platforms"] == ["VPC"]
    assert attributes["vpc-max-security-groups-per-interface"] == ["5"]
    assert attributes["max-elastic-ips"] == attributes["vpc-max-elastic-ips"] == ["5"]
    assert "max-instances" in attributes
    only = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [a["AttributeName"] for a in only] == ["default-vpc"]


def test_tags_on_every_resource(module_wharf):
    ec2 = module_wharf.boto3_client("ec2", region="ap-northeast-1")
    vpc = new_vpc(ec2, "10.0.0.0/16")
    subnet = new_subnet(ec2, vpc, "10.0.1.0/24")["SubnetId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    main_table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]["RouteTableId"]
    ec2.create_route(RouteTableId=main_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName="com.amazonaws.ap-northeast-1.s3", RouteTableIds=[table],
    )["VpcEndpoint"]["VpcEndpointId"]
    acl = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkAcls"][0]["NetworkAclId"]
    eni = ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["NatGatewayAddresses"][0]["NetworkInterfaceId"]
    resources = {
        "vpc": vpc, "subnet": subnet, "security-group": group, "internet-gateway": igw,
        "route-table": table, "elastic-ip": allocation, "natgateway": nat,
        "vpc-endpoint": endpoint, "network-acl": acl, "network-interface": eni,
    }
    ec2.create_tags(Resources=list(resources.values()), Tags=[{"Key": "stack", "Value": "blog"}])

    described = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["stack"]}])["Tags"]
    assert {(t["ResourceType"], t["ResourceId"]) for t in described} == {(k, v) for k, v in resources.items()}
    for kind, resource in resources.items():
        got = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": [kind]}])["Tags"]
        assert [(t["ResourceId"], t["Key"], t["Value"]) for t in got] == [(resource, "stack", "blog")], kind
    by_tag = tag_filter("stack", "blog")
    found = {
        "vpc": [v["VpcId"] for v in ec2.describe_vpcs(Filters=by_tag)["Vpcs"]],
        "subnet": [s["SubnetId"] for s in ec2.describe_subnets(Filters=by_tag)["Subnets"]],
        "security-group": [g["GroupId"] for g in ec2.describe_security_groups(Filters=by_tag)["SecurityGroups"]],
        "internet-gateway": [g["InternetGatewayId"] for g in ec2.describe_internet_gateways(Filters=by_tag)["InternetGateways"]],
        "route-table": [t["RouteTableId"] for t in ec2.describe_route_tables(Filters=by_tag)["RouteTables"]],
        "elastic-ip": [a["AllocationId"] for a in ec2.describe_addresses(Filters=by_tag)["Addresses"]],
        "natgateway": [n["NatGatewayId"] for n in ec2.describe_nat_gateways(Filter=by_tag)["NatGateways"]],
        "vpc-endpoint": [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(Filters=by_tag)["VpcEndpoints"]],
        "network-acl": [a["NetworkAclId"] for a in ec2.describe_network_acls(Filters=by_tag)["NetworkAcls"]],
        "network-interface": [
            i["NetworkInterfaceId"] for i in ec2.describe_network_interfaces(Filters=by_tag)["NetworkInterfaces"]
        ],
    }
    assert found == {k: [v] for k, v in resources.items()}

    # DeleteTags: a value must match; without one the key goes; without tags all go.
    ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "stack", "Value": "other"}])
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc]}])["Tags"] != []
    ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "stack"}])
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc]}])["Tags"] == []
    ec2.create_tags(Resources=[subnet], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}])
    ec2.delete_tags(Resources=[subnet])
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [subnet]}])["Tags"] == []

    # Unknown ids get their resource's NotFound code, and nothing is tagged.
    unknown = {
        "vpc-0123456789abcdef0": "InvalidVpcID.NotFound",
        "subnet-0123456789abcdef0": "InvalidSubnetID.NotFound",
        "sg-0123456789abcdef0": "InvalidGroup.NotFound",
        "igw-0123456789abcdef0": "InvalidInternetGatewayID.NotFound",
        "rtb-0123456789abcdef0": "InvalidRouteTableID.NotFound",
        "eipalloc-0123456789abcdef0": "InvalidAllocationID.NotFound",
        "nat-0123456789abcdef0": "NatGatewayNotFound",
        "vpce-0123456789abcdef0": "InvalidVpcEndpointId.NotFound",
        "acl-0123456789abcdef0": "InvalidNetworkAclID.NotFound",
        "eni-0123456789abcdef0": "InvalidNetworkInterfaceID.NotFound",
        "i-0123456789abcdef0": "InvalidID",
        "nonsense": "InvalidID",
    }
    for resource, code in unknown.items():
        got = error_code(ec2.create_tags, Resources=[vpc, resource], Tags=[{"Key": "x", "Value": "y"}])
        assert got[0] == code, resource
    assert ec2.describe_tags(Filters=[{"Name": "key", "Values": ["x"]}])["Tags"] == []
    assert error_code(ec2.create_tags, Resources=[vpc], Tags=[{"Key": "aws:x", "Value": "y"}])[0] == "InvalidParameterValue"

    # 50 tags per resource; DescribeTags pages through them.
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": f"k{i:02}", "Value": "v"} for i in range(50)])
    assert error_code(ec2.create_tags, Resources=[vpc], Tags=[{"Key": "one-more", "Value": "v"}])[0] == "TagLimitExceeded"
    pages = ec2.get_paginator("describe_tags").paginate(
        Filters=[{"Name": "resource-id", "Values": [vpc]}], PaginationConfig={"PageSize": 20})
    sizes = [len(page["Tags"]) for page in pages]
    assert sizes == [20, 20, 10]

    # Tear down in reverse order: the stack leaves nothing behind.
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint])
    ec2.delete_nat_gateway(NatGatewayId=nat)
    wait_until(
        lambda: not ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])["NetworkInterfaces"],
        "the NAT gateway's interface to go", deadline=60,
    )
    ec2.release_address(AllocationId=allocation)
    ec2.delete_route_table(RouteTableId=table)
    ec2.delete_route(RouteTableId=main_table, DestinationCidrBlock="0.0.0.0/0")
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_security_group(GroupId=group)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)
    # Only the deleted NAT gateway is left: AWS shows it (state deleted) for about an hour.
    left = ec2.describe_tags()["Tags"]
    assert [(t["ResourceId"], t["Key"]) for t in left] == [(nat, "stack")]
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"] in ("deleting", "deleted")
