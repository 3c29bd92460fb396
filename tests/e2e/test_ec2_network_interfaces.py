"""EC2 DescribeNetworkInterfaces as the seeds and users reach it before any task runs:

    aws ec2 describe-network-interfaces --network-interface-ids $ENI
    aws ec2 describe-network-interfaces --filters Name=subnet-id,Values=$SUBNET

Interfaces are created only by the task runtime (a Fargate task's ENI); their full shape is
checked by the ECS task tests. Here: the empty answers, the errors and the argument checks,
with both CLIs, boto3 and a raw request (the XML the ec2 protocol sends).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def test_describe_with_no_interfaces_is_empty(wharf, cli):
    out = wharf.aws("ec2", "describe-network-interfaces", cli=cli).json
    assert out == {"NetworkInterfaces": []}

    subnet = wharf.aws(
        "ec2", "describe-subnets", "--query", "Subnets[0].SubnetId", "--output", "text", cli=cli
    ).stdout.strip()
    assert subnet.startswith("subnet-")
    out = wharf.aws(
        "ec2", "describe-network-interfaces",
        "--filters", f"Name=subnet-id,Values={subnet}", "Name=status,Values=in-use",
        cli=cli,
    ).json
    assert out["NetworkInterfaces"] == []
    # The query the ECS docs use to find a task's public address.
    text = wharf.aws(
        "ec2", "describe-network-interfaces",
        "--filters", "Name=description,Values=arn:aws:ecs:*:attachment/*",
        "--query", "NetworkInterfaces[0].Association.PublicIp", "--output", "text",
        cli=cli,
    ).stdout
    assert text.strip() == "None"


def test_unknown_interface_is_not_found(wharf, cli):
    result = wharf.aws_error(
        "InvalidNetworkInterfaceID.NotFound",
        "ec2", "describe-network-interfaces", "--network-interface-ids", "eni-0123456789abcdef0",
        cli=cli,
    )
    assert "The networkInterface ID 'eni-0123456789abcdef0' does not exist" in result.stderr
    wharf.aws_error(
        "InvalidNetworkInterfaceID.NotFound",
        "ec2", "describe-network-interfaces", "--network-interface-ids", "eni-x",
        cli=cli,
    )


def test_malformed_interface_id(wharf, cli):
    result = wharf.aws_error(
        "InvalidNetworkInterfaceID.Malformed",
        "ec2", "describe-network-interfaces", "--network-interface-ids", "sg-0123456789abcdef0",
        cli=cli,
    )
    assert 'expecting "eni-..."' in result.stderr


def test_argument_checks(wharf, cli):
    wharf.aws_error(
        "InvalidParameterValue",
        "ec2", "describe-network-interfaces", "--filters", "Name=colour,Values=red",
        cli=cli,
    )
    wharf.aws_error("DryRunOperation", "ec2", "describe-network-interfaces", "--dry-run", cli=cli)


def test_boto3_pagination_and_limits(wharf):
    ec2 = wharf.boto3_client("ec2")
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []
    page = ec2.describe_network_interfaces(MaxResults=5)
    assert page["NetworkInterfaces"] == [] and "NextToken" not in page
    pages = list(ec2.get_paginator("describe_network_interfaces").paginate(PaginationConfig={"PageSize": 5}))
    assert [p["NetworkInterfaces"] for p in pages] == [[]]

    # botocore checks the minimum (5) itself; the maximum is the server's to check.
    with pytest.raises(ClientError) as err:
        ec2.describe_network_interfaces(MaxResults=1001)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as err:
        ec2.describe_network_interfaces(MaxResults=5, NextToken="not-a-token")
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as err:
        ec2.describe_network_interfaces(NetworkInterfaceIds=["eni-0abc"], MaxResults=5)
    assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_raw_ec2_protocol_answer(wharf):
    response = wharf.raw_query(
        "ec2", "DescribeNetworkInterfaces", {"Filter.1.Name": "vpc-id", "Filter.1.Value.1": "vpc-*"}
    )
    assert response.status == 200, response.describe()
    assert "<DescribeNetworkInterfacesResponse" in response.text
    assert "<networkInterfaceSet" in response.text

    response = wharf.raw_query("ec2", "DescribeNetworkInterfaces", {"MaxResults": "3"})
    assert response.status == 400, response.describe()
    assert response.error_code() == "InvalidParameterValue"

    response = wharf.raw_query(
        "ec2", "DescribeNetworkInterfaces", {"NetworkInterfaceId.1": "eni-00000000000000001"}
    )
    assert response.status == 400, response.describe()
    assert response.error_code() == "InvalidNetworkInterfaceID.NotFound"
