"""The API gateway: SigV4 authentication, error shapes and exit statuses, malformed and
unknown requests, and the server's own start-up contract."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time

import botocore.session
import pytest

from wharf_e2e import ACCOUNT_ID, CLI_SERVICE_ERROR_EXIT, read_credentials, write_credentials

# The codes a json-1.1 AWS service uses to say "your input is invalid".
VALIDATION_CODES = {"InvalidParameterException", "ClientException", "ValidationException"}


def random_access_key() -> str:
    return "AKIA" + secrets.token_hex(8).upper()


def assert_aws_error(response, status, code=None):
    """An AWS-shaped error answer (json ``__type`` or XML ``<Code>``)."""
    assert response.status in ((status,) if isinstance(status, int) else status), response.describe()
    got = response.error_code()
    assert got, f"no AWS error code in the answer:\n{response.describe()}"
    if code is not None:
        codes = (code,) if isinstance(code, str) else code
        assert got in codes, f"expected {codes}, got {got}:\n{response.describe()}"
    return got


# ---------------------------------------------------------------------------------------
# The server's start-up contract
# ---------------------------------------------------------------------------------------


def test_server_announces_endpoint_and_writes_credentials(wharf):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", wharf.endpoint), wharf.endpoint
    assert wharf.server.endpoint_file.read_text().strip() == wharf.endpoint
    access_key, secret_key = read_credentials(wharf.credentials_file)
    assert access_key and secret_key and access_key != secret_key
    deadline = time.monotonic() + 10
    line = f"wharf listening on {wharf.endpoint}"
    while line not in wharf.log_text():
        assert time.monotonic() < deadline, f"{line!r} not printed:\n{wharf.log_text()}"
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------
# Error exit statuses of both CLIs, for each protocol
# ---------------------------------------------------------------------------------------


def test_service_errors_exit_status(wharf, cli):
    # json 1.1 (ECS)
    result = wharf.aws_error(
        "ClusterNotFoundException",
        "ecs", "describe-services", "--cluster", "nope", "--services", "api",
        cli=cli,
    )
    assert "when calling the DescribeServices operation" in result.stderr
    # query (IAM)
    result = wharf.aws_error("NoSuchEntity", "iam", "get-role", "--role-name", "nope", cli=cli)
    assert "when calling the GetRole operation" in result.stderr
    # ec2
    result = wharf.aws_error(
        "InvalidGroup.NotFound",
        "ec2", "describe-security-groups", "--group-ids", "sg-0123456789abcdef0",
        cli=cli,
    )
    assert "sg-0123456789abcdef0" in result.stderr
    assert result.returncode == CLI_SERVICE_ERROR_EXIT[cli]


# ---------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------


def test_wrong_secret_is_refused(wharf):
    access_key, secret_key = wharf.credentials
    bad = write_credentials(wharf.root / "bad-secret", access_key, secret_key[:-4] + "XXXX")
    # AWS's json services answer InvalidSignatureException (ECS: "An error occurred
    # (InvalidSignatureException) when calling the RunTask operation: The request signature
    # we calculated does not match ..."); the query services answer SignatureDoesNotMatch.
    wharf.aws_error(
        "InvalidSignatureException",
        "ecs", "create-cluster", "--cluster-name", "forged", credentials_file=bad,
    )
    wharf.aws_error("SignatureDoesNotMatch", "sts", "get-caller-identity", credentials_file=bad)
    wharf.aws_error("SignatureDoesNotMatch", "iam", "list-roles", credentials_file=bad)
    # The refused request changed nothing.
    assert wharf.boto3_client("ecs").list_clusters()["clusterArns"] == []


def test_unknown_access_key_is_refused(wharf):
    unknown = write_credentials(
        wharf.root / "unknown-key", random_access_key(), secrets.token_urlsafe(30)
    )
    wharf.aws_error(
        "UnrecognizedClientException", "ecs", "list-clusters", credentials_file=unknown
    )
    wharf.aws_error("InvalidClientTokenId", "sts", "get-caller-identity", credentials_file=unknown)
    wharf.aws_error("InvalidClientTokenId", "iam", "list-roles", credentials_file=unknown)
    # EC2: "AWS was not able to validate the provided access credentials".
    wharf.aws_error("AuthFailure", "ec2", "describe-vpcs", credentials_file=unknown)


def test_expired_and_missing_signatures_are_refused(wharf):
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    response = wharf.raw_json("ListClusters", {}, when=old)
    assert_aws_error(response, (400, 403), "InvalidSignatureException")
    assert "expired" in response.error_message().lower(), response.describe()
    response = wharf.raw_query("sts", "GetCallerIdentity", when=old)
    assert_aws_error(response, 403, "SignatureDoesNotMatch")
    assert "expired" in response.error_message().lower(), response.describe()

    # No Authorization header at all.
    response = wharf.raw_json("ListClusters", {}, sign=False)
    code = assert_aws_error(response, (400, 403))
    assert code.startswith("MissingAuthenticationToken"), response.describe()
    response = wharf.raw_query("sts", "GetCallerIdentity", sign=False)
    code = assert_aws_error(response, (400, 403))
    assert code.startswith("MissingAuthenticationToken"), response.describe()

    # Signed for one service, sent to another's operation.
    response = wharf.raw_json("ListClusters", {}, service="iam")
    assert 400 <= response.status < 500, response.describe()


def test_accept_any_credentials(wharf_factory):
    wharf = wharf_factory("--accept-any-credentials")
    anyone = write_credentials(wharf.root / "anyone", random_access_key(), "not-the-secret")
    account = wharf.aws(
        "sts", "get-caller-identity", "--query", "Account", "--output", "text",
        credentials_file=anyone,
    )
    assert account.stdout.strip() == ACCOUNT_ID
    # The region still comes from the signature's credential scope.
    cluster = wharf.aws(
        "ecs", "create-cluster", "--cluster-name", "anywhere", region="eu-west-1",
        credentials_file=anyone,
    ).json["cluster"]
    assert cluster["clusterArn"] == f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:cluster/anywhere"
    ecs = wharf.boto3_client(
        "ecs", region="eu-west-1", access_key=random_access_key(), secret_key="x" * 40
    )
    assert ecs.list_clusters()["clusterArns"] == [cluster["clusterArn"]]


def test_account_id_flag(wharf_factory):
    wharf = wharf_factory("--account-id", "210987654321")
    assert wharf.boto3_client("sts").get_caller_identity()["Account"] == "210987654321"
    arn = wharf.boto3_client("ecs").create_cluster(clusterName="c")["cluster"]["clusterArn"]
    assert arn == "arn:aws:ecs:us-east-1:210987654321:cluster/c"


# ---------------------------------------------------------------------------------------
# Malformed, invalid and unknown requests (raw HTTP, signed like botocore signs)
# ---------------------------------------------------------------------------------------


def test_malformed_json_body(wharf):
    response = wharf.raw_json("CreateCluster", body=b'{"clusterName": "half')
    assert_aws_error(response, 400, "SerializationException")
    assert wharf.boto3_client("ecs").list_clusters()["clusterArns"] == []
    # Bodies of the wrong JSON type: AWS's json services answer SerializationException
    # (e.g. "NUMBER_VALUE can not be converted to a String"), not a validation error.
    response = wharf.raw_json("CreateCluster", body=b'["clusterName"]')
    assert_aws_error(response, 400, "SerializationException")
    response = wharf.raw_json("CreateCluster", {"clusterName": 42})
    assert_aws_error(response, 400, "SerializationException")


def test_missing_required_member(wharf):
    response = wharf.raw_json("DescribeTaskDefinition", {})
    assert_aws_error(response, 400, VALIDATION_CODES)
    assert "taskDefinition" in response.error_message(), response.describe()

    response = wharf.raw_query("iam", "GetRole")
    assert_aws_error(response, 400, ("ValidationError", "MissingParameter"))
    assert "rolename" in response.error_message().lower(), response.describe()


def test_unknown_enum_value(wharf):
    wharf.boto3_client("ecs").create_cluster(clusterName="news-api-cluster")
    response = wharf.raw_json(
        "ListServices", {"cluster": "news-api-cluster", "launchType": "BOGUS"}
    )
    assert_aws_error(response, 400, VALIDATION_CODES)
    assert "launchType" in response.error_message(), response.describe()
    assert "BOGUS" in response.error_message(), response.describe()

    # botocore does not check enums either: the CLI sends the value and shows the answer.
    result = wharf.aws_error(
        tuple(VALIDATION_CODES),
        "ecs", "list-task-definitions", "--sort", "SIDEWAYS",
    )
    assert "sort" in result.stderr


def test_unknown_operation(wharf):
    response = wharf.raw_json("NoSuchThing", {})
    assert_aws_error(response, 400, "UnknownOperationException")
    response = wharf.raw_json("ListClusters", {}, target_prefix="NoSuchService_20200101")
    assert_aws_error(response, 400, "UnknownOperationException")
    response = wharf.raw_query("iam", "NoSuchThing")
    assert_aws_error(response, 400, ("InvalidAction", "UnknownOperationException"))


@pytest.mark.parametrize("operation", ["describe-capacity-providers", "list-container-instances"])
def test_unimplemented_operation_is_a_clear_client_error(wharf, operation):
    """Whatever wharf leaves out must answer with a 4xx that names the operation (the CLI
    would retry a 5xx), or work."""
    op_name = "".join(word.capitalize() for word in operation.split("-"))
    raw = wharf.raw_json(op_name, {})
    assert raw.status < 500, raw.describe()
    result = wharf.aws("ecs", operation, check=False)
    if result.returncode == 0:
        return
    assert result.returncode == CLI_SERVICE_ERROR_EXIT["v1"], result.describe()
    match = re.search(r"An error occurred \((\w+)\) when calling the (\w+) operation[^:]*: (.*)", result.stderr)
    assert match, result.describe()
    code, _, message = match.groups()
    assert code not in ("ServerException", "InternalFailure", "InternalError"), result.describe()
    assert code == "ClusterNotFoundException" or op_name in message, result.describe()


@pytest.mark.parametrize("service", ["ecs", "sts", "iam", "ec2"])
def test_every_operation_answers_without_a_server_error(wharf, service):
    """Each operation of the service's botocore model, sent with empty input: an answer,
    never a 5xx, and every error AWS-shaped."""
    model = botocore.session.get_session().get_service_model(service)
    bad = []
    for operation in model.operation_names:
        if service == "ecs":
            response = wharf.raw_json(operation, {})
        else:
            response = wharf.raw_query(service, operation)
        if response.status >= 500:
            bad.append(f"{operation}: HTTP {response.status} {response.text[:200]}")
        elif response.status >= 400 and not response.error_code():
            bad.append(f"{operation}: HTTP {response.status} without an AWS error code: "
                       f"{response.text[:200]}")
    assert not bad, f"{len(bad)} of {len(model.operation_names)} operations:\n" + "\n".join(bad)


def test_oversized_body_is_refused(wharf):
    huge = json.dumps(
        {
            "family": "huge",
            "containerDefinitions": [
                {
                    "name": "x",
                    "image": "busybox",
                    "environment": [{"name": "BLOB", "value": "x" * (11 * 1024 * 1024)}],
                }
            ],
        }
    ).encode()
    response = wharf.raw_json("RegisterTaskDefinition", body=huge, timeout=60)
    assert response.status in (400, 413), response.describe()
    # Still serving, and nothing was registered.
    ecs = wharf.boto3_client("ecs")
    assert ecs.list_task_definition_families()["families"] == []
    assert ecs.create_cluster(clusterName="after")["cluster"]["status"] == "ACTIVE"
