"""AWS Secrets Manager through the real AWS CLI (v1 and v2) and boto3: secrets by name, full
and partial ARN; versions and staging labels (put-secret-value, update-secret,
update-secret-version-stage, list-secret-version-ids); idempotent ClientRequestTokens;
deletion with a recovery window, restore and forced deletion; list-secrets filters, sorting
and pages; get-random-password; tags; the errors a user meets; and that values reach neither
the state files nor the log in clear text (they are sealed with <data-dir>/secrets.key, 0600).

Only the endpoint differs from what a user types against AWS. What is asserted is what AWS
answers: field names, ARN shapes, error codes and messages, CLI exit statuses.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import stat
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID, DEFAULT_REGION

DAY_S = 24 * 60 * 60
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def arn_pattern(name: str, region: str = DEFAULT_REGION) -> str:
    return rf"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{re.escape(name)}-[A-Za-z0-9]{{6}}"


def partial_arn(name: str, region: str = DEFAULT_REGION) -> str:
    return f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{name}"


def epoch(value) -> float:
    """A timestamp as CLI v1 (epoch seconds) or v2 (ISO 8601) prints it, or boto3's datetime."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return dt.datetime.fromisoformat(value).timestamp()


def today_midnight() -> float:
    now = time.time()
    return now - now % DAY_S


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def error_message(excinfo) -> str:
    return excinfo.value.response["Error"]["Message"]


def canary(label: str) -> str:
    """A distinctive value that cannot appear anywhere by accident."""
    return f"canary-{label}-{uuid.uuid4().hex}"


# ---------------------------------------------------------------------------------------
# The life of a secret
# ---------------------------------------------------------------------------------------


def test_secret_lifecycle(wharf, cli):
    first = json.dumps({"username": "admin", "password": "first-pass"})
    created = wharf.aws(
        "secretsmanager", "create-secret",
        "--name", "prod/app/db",
        "--description", "Primary database",
        "--secret-string", first,
        "--tags", "Key=team,Value=payments", "Key=env,Value=prod",
        cli=cli,
    ).json
    assert set(created) == {"ARN", "Name", "VersionId"}
    arn = created["ARN"]
    assert re.fullmatch(arn_pattern("prod/app/db"), arn), arn
    assert created["Name"] == "prod/app/db"
    # The CLI sends a UUID ClientRequestToken: it becomes the first VersionId.
    assert UUID.fullmatch(created["VersionId"]), created
    v1 = created["VersionId"]

    # By name, full ARN and partial ARN (without the random suffix).
    for secret_id in ("prod/app/db", arn, partial_arn("prod/app/db")):
        got = wharf.aws("secretsmanager", "get-secret-value", "--secret-id", secret_id, cli=cli).json
        assert got["ARN"] == arn
        assert got["Name"] == "prod/app/db"
        assert got["SecretString"] == first
        assert got["VersionId"] == v1
        assert got["VersionStages"] == ["AWSCURRENT"]
        assert "SecretBinary" not in got
        assert abs(epoch(got["CreatedDate"]) - time.time()) < 120

    described = wharf.aws("secretsmanager", "describe-secret", "--secret-id", arn, cli=cli).json
    assert "SecretString" not in described and "SecretBinary" not in described
    assert described["ARN"] == arn
    assert described["Name"] == "prod/app/db"
    assert described["Description"] == "Primary database"
    assert described["RotationEnabled"] is False
    assert described["VersionIdsToStages"] == {v1: ["AWSCURRENT"]}
    assert described["Tags"] == [{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "prod"}]
    assert "KmsKeyId" not in described
    assert "DeletedDate" not in described
    assert abs(epoch(described["CreatedDate"]) - time.time()) < 120
    assert epoch(described["LastChangedDate"]) >= epoch(described["CreatedDate"])
    # Read today: LastAccessedDate is the day (midnight UTC), not the instant.
    assert epoch(described["LastAccessedDate"]) == today_midnight()

    # put-secret-value: the new version is AWSCURRENT, the old one AWSPREVIOUS.
    second = json.dumps({"username": "admin", "password": "second-pass"})
    put = wharf.aws(
        "secretsmanager", "put-secret-value", "--secret-id", "prod/app/db", "--secret-string", second, cli=cli
    ).json
    assert put["ARN"] == arn and put["Name"] == "prod/app/db"
    assert put["VersionStages"] == ["AWSCURRENT"]
    v2 = put["VersionId"]
    assert v2 != v1
    assert wharf.aws("secretsmanager", "get-secret-value", "--secret-id", arn, cli=cli).json["SecretString"] == second
    previous = wharf.aws(
        "secretsmanager", "get-secret-value", "--secret-id", arn, "--version-stage", "AWSPREVIOUS", cli=cli
    ).json
    assert previous["SecretString"] == first
    assert previous["VersionId"] == v1
    assert previous["VersionStages"] == ["AWSPREVIOUS"]

    # update-secret: metadata, then a value (a third version).
    wharf.aws(
        "secretsmanager", "update-secret", "--secret-id", arn,
        "--description", "Primary database (rotated)", "--kms-key-id", "alias/app-secrets",
        cli=cli,
    )
    third = json.dumps({"username": "admin", "password": "third-pass"})
    updated = wharf.aws(
        "secretsmanager", "update-secret", "--secret-id", "prod/app/db", "--secret-string", third, cli=cli
    ).json
    assert updated["ARN"] == arn
    v3 = updated["VersionId"]
    described = wharf.aws("secretsmanager", "describe-secret", "--secret-id", "prod/app/db", cli=cli).json
    assert described["Description"] == "Primary database (rotated)"
    assert described["KmsKeyId"] == "alias/app-secrets"
    assert described["VersionIdsToStages"] == {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}

    versions = wharf.aws("secretsmanager", "list-secret-version-ids", "--secret-id", arn, cli=cli).json
    assert versions["ARN"] == arn and versions["Name"] == "prod/app/db"
    assert [(v["VersionId"], v["VersionStages"]) for v in versions["Versions"]] == [
        (v2, ["AWSPREVIOUS"]),
        (v3, ["AWSCURRENT"]),
    ]
    with_deprecated = wharf.aws(
        "secretsmanager", "list-secret-version-ids", "--secret-id", arn, "--include-deprecated", cli=cli
    ).json["Versions"]
    assert [v["VersionId"] for v in with_deprecated] == [v1, v2, v3]
    assert with_deprecated[0]["VersionStages"] == []
    assert with_deprecated[2]["KmsKeyIds"] == ["alias/app-secrets"]
    assert with_deprecated[0]["KmsKeyIds"] == ["DefaultEncryptionKey"]
    # A deprecated version is still readable by id.
    old = wharf.aws("secretsmanager", "get-secret-value", "--secret-id", arn, "--version-id", v1, cli=cli).json
    assert old["SecretString"] == first and old["VersionStages"] == []

    # Roll back: AWSCURRENT to v2; AWSPREVIOUS follows to v3, where AWSCURRENT was.
    moved = wharf.aws(
        "secretsmanager", "update-secret-version-stage", "--secret-id", arn,
        "--version-stage", "AWSCURRENT", "--remove-from-version-id", v3, "--move-to-version-id", v2,
        cli=cli,
    ).json
    assert moved == {"ARN": arn, "Name": "prod/app/db"}
    assert wharf.aws("secretsmanager", "get-secret-value", "--secret-id", arn, cli=cli).json["SecretString"] == second
    assert wharf.aws("secretsmanager", "describe-secret", "--secret-id", arn, cli=cli).json[
        "VersionIdsToStages"
    ] == {v2: ["AWSCURRENT"], v3: ["AWSPREVIOUS"]}

    # Tags.
    wharf.aws("secretsmanager", "tag-resource", "--secret-id", arn, "--tags", "Key=team,Value=core", "Key=tier,Value=1", cli=cli)
    wharf.aws("secretsmanager", "untag-resource", "--secret-id", arn, "--tag-keys", "env", "absent", cli=cli)
    tags = wharf.aws("secretsmanager", "describe-secret", "--secret-id", arn, cli=cli).json["Tags"]
    assert tags == [{"Key": "team", "Value": "core"}, {"Key": "tier", "Value": "1"}]

    # Scheduled deletion: not readable, described with DeletedDate, listed only on request.
    deleted = wharf.aws(
        "secretsmanager", "delete-secret", "--secret-id", arn, "--recovery-window-in-days", "7", cli=cli
    ).json
    assert deleted["ARN"] == arn and deleted["Name"] == "prod/app/db"
    assert abs(epoch(deleted["DeletionDate"]) - (time.time() + 7 * DAY_S)) < 120
    err = wharf.aws_error("InvalidRequestException", "secretsmanager", "get-secret-value", "--secret-id", arn, cli=cli)
    assert MARKED in err.stderr
    wharf.aws_error("InvalidRequestException", "secretsmanager", "put-secret-value", "--secret-id", arn, "--secret-string", "x", cli=cli)
    described = wharf.aws("secretsmanager", "describe-secret", "--secret-id", arn, cli=cli).json
    assert epoch(described["DeletedDate"]) == epoch(deleted["DeletionDate"])
    assert wharf.aws("secretsmanager", "list-secrets", cli=cli).json["SecretList"] == []
    planned = wharf.aws("secretsmanager", "list-secrets", "--include-planned-deletion", cli=cli).json["SecretList"]
    assert [s["Name"] for s in planned] == ["prod/app/db"]
    err = wharf.aws_error(
        "InvalidRequestException", "secretsmanager", "create-secret", "--name", "prod/app/db", "--secret-string", "x", cli=cli
    )
    assert "You can't create this secret because a secret with this name is already scheduled for deletion." in err.stderr
    wharf.aws_error("InvalidRequestException", "secretsmanager", "delete-secret", "--secret-id", arn, cli=cli)

    restored = wharf.aws("secretsmanager", "restore-secret", "--secret-id", arn, cli=cli).json
    assert restored == {"ARN": arn, "Name": "prod/app/db"}
    assert wharf.aws("secretsmanager", "get-secret-value", "--secret-id", arn, cli=cli).json["SecretString"] == second
    assert "DeletedDate" not in wharf.aws("secretsmanager", "describe-secret", "--secret-id", arn, cli=cli).json

    # Forced deletion: gone at once, and the name is free again (with a new ARN).
    forced = wharf.aws(
        "secretsmanager", "delete-secret", "--secret-id", "prod/app/db", "--force-delete-without-recovery", cli=cli
    ).json
    assert forced["ARN"] == arn
    assert abs(epoch(forced["DeletionDate"]) - time.time()) < 120
    err = wharf.aws_error("ResourceNotFoundException", "secretsmanager", "describe-secret", "--secret-id", arn, cli=cli)
    assert NOT_FOUND in err.stderr
    again = wharf.aws("secretsmanager", "create-secret", "--name", "prod/app/db", "--secret-string", "new", cli=cli).json
    assert again["ARN"] != arn
    wharf.aws_error("ResourceNotFoundException", "secretsmanager", "get-secret-value", "--secret-id", arn, cli=cli)


def test_errors_users_meet(wharf, cli):
    def fails(code: str, message: str | None, *args: str):
        result = wharf.aws_error(code, "secretsmanager", *args, cli=cli)
        if message is not None:
            assert message in result.stderr, result.describe()
        return result

    fails("ResourceNotFoundException", NOT_FOUND, "get-secret-value", "--secret-id", "nope")
    fails("ResourceNotFoundException", NOT_FOUND, "describe-secret", "--secret-id", partial_arn("nope"))
    fails("ResourceNotFoundException", NOT_FOUND, "delete-secret", "--secret-id", "nope")
    fails("ResourceNotFoundException", NOT_FOUND, "tag-resource", "--secret-id", "nope", "--tags", "Key=a,Value=b")

    arn = wharf.aws("secretsmanager", "create-secret", "--name", "db", "--secret-string", "v", cli=cli).json["ARN"]
    fails(
        "ResourceExistsException",
        "The operation failed because the secret db already exists.",
        "create-secret", "--name", "db", "--secret-string", "w",
    )
    fails(
        "InvalidParameterException",
        "Invalid name. Must be a valid name containing alphanumeric characters",
        "create-secret", "--name", "has space", "--secret-string", "w",
    )
    binary = wharf.work / "blob.bin"
    binary.write_bytes(b"\x00\x01binary")
    fails(
        "InvalidParameterException",
        "You can't specify both a binary secret value and a string secret value in the same secret.",
        "create-secret", "--name", "two-values", "--secret-string", "w", "--secret-binary", f"fileb://{binary}",
    )
    # The same name with another random suffix is another secret.
    fails("ResourceNotFoundException", NOT_FOUND, "get-secret-value", "--secret-id", arn[:-6] + "ZZZZZ9")
    fails(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
        "get-secret-value", "--secret-id", "db", "--version-stage", "AWSPENDING",
    )
    missing_version = str(uuid.uuid4())
    fails(
        "ResourceNotFoundException",
        f"Secrets Manager can't find the specified secret value for VersionId: {missing_version}",
        "get-secret-value", "--secret-id", "db", "--version-id", missing_version,
    )
    current = wharf.aws("secretsmanager", "get-secret-value", "--secret-id", "db", cli=cli).json["VersionId"]
    fails(
        "InvalidRequestException",
        "You provided a VersionStage that is not associated to the provided VersionId.",
        "get-secret-value", "--secret-id", "db", "--version-id", current, "--version-stage", "AWSPREVIOUS",
    )
    fails(
        "InvalidParameterException",
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        "delete-secret", "--secret-id", "db", "--recovery-window-in-days", "3",
    )
    fails(
        "InvalidParameterException",
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        "delete-secret", "--secret-id", "db", "--recovery-window-in-days", "7", "--force-delete-without-recovery",
    )
    # A value one byte over 64 KiB is refused; exactly 64 KiB is fine.
    big = wharf.work / "big.txt"
    big.write_text("s3cretvalue" * 5958)
    refused = fails("ValidationException", "SecretString", "put-secret-value", "--secret-id", "db", "--secret-string", f"file://{big}")
    # botocore marks the value sensitive: the error never quotes it.
    assert "s3cretvalue" not in refused.stderr, refused.describe()
    assert "*** Sensitive Data Redacted ***" in refused.stderr, refused.describe()
    big.write_text("x" * 65536)
    wharf.aws("secretsmanager", "put-secret-value", "--secret-id", "db", "--secret-string", f"file://{big}", cli=cli)
    got = wharf.aws("secretsmanager", "get-secret-value", "--secret-id", "db", cli=cli).json
    assert got["SecretString"] == "x" * 65536


def test_update_secret_version_stage_rules(wharf):
    sm = wharf.boto3_client("secretsmanager")
    v1 = sm.create_secret(Name="staged", SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId="staged", SecretString="two")["VersionId"]
    v3 = sm.put_secret_value(SecretId="staged", SecretString="three", VersionStages=["AWSPENDING"])["VersionId"]
    # A version with only its own label leaves AWSCURRENT where it was.
    assert sm.get_secret_value(SecretId="staged")["SecretString"] == "two"
    assert sm.get_secret_value(SecretId="staged", VersionStage="AWSPENDING")["VersionId"] == v3

    with pytest.raises(ClientError) as e:
        sm.update_secret_version_stage(SecretId="staged", VersionStage="AWSCURRENT", MoveToVersionId=v3)
    assert error_code(e) == "InvalidParameterException"
    assert error_message(e) == (
        "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to "
        f"version {v2}, so you must explicitly reference that version in RemoveFromVersionId."
    )
    with pytest.raises(ClientError) as e:
        sm.update_secret_version_stage(SecretId="staged", VersionStage="AWSCURRENT", RemoveFromVersionId=v1, MoveToVersionId=v3)
    assert error_code(e) == "InvalidParameterException"
    assert f"not attached to version {v1}" in error_message(e)
    with pytest.raises(ClientError) as e:
        sm.update_secret_version_stage(SecretId="staged", VersionStage="AWSCURRENT", RemoveFromVersionId=v2)
    assert error_code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        sm.update_secret_version_stage(
            SecretId="staged", VersionStage="AWSCURRENT", RemoveFromVersionId=v2, MoveToVersionId=str(uuid.uuid4())
        )
    assert error_code(e) == "InvalidParameterException"
    assert "MoveToVersionId" in error_message(e)

    # Finish a "rotation": AWSCURRENT to v3, AWSPREVIOUS follows to v2; remove AWSPENDING.
    sm.update_secret_version_stage(SecretId="staged", VersionStage="AWSCURRENT", RemoveFromVersionId=v2, MoveToVersionId=v3)
    sm.update_secret_version_stage(SecretId="staged", VersionStage="AWSPENDING", RemoveFromVersionId=v3)
    # A custom label can be attached freely.
    sm.update_secret_version_stage(SecretId="staged", VersionStage="blue", MoveToVersionId=v1)
    stages = sm.describe_secret(SecretId="staged")["VersionIdsToStages"]
    assert stages == {v1: ["blue"], v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId="staged", VersionStage="blue")["SecretString"] == "one"


# ---------------------------------------------------------------------------------------
# Values: binary, idempotency, persistence, separation
# ---------------------------------------------------------------------------------------


def test_binary_values_and_size_limits(wharf, cli):
    payload = bytes(range(256)) * 4
    blob = wharf.work / "payload.bin"
    blob.write_bytes(payload)
    wharf.aws("secretsmanager", "create-secret", "--name", "tls/key", "--secret-binary", f"fileb://{blob}", cli=cli)
    got = wharf.aws("secretsmanager", "get-secret-value", "--secret-id", "tls/key", cli=cli).json
    assert "SecretString" not in got
    assert base64.b64decode(got["SecretBinary"]) == payload

    sm = wharf.boto3_client("secretsmanager")
    assert sm.get_secret_value(SecretId="tls/key")["SecretBinary"] == payload
    sm.put_secret_value(SecretId="tls/key", SecretBinary=b"\xff" * 65536)
    assert sm.get_secret_value(SecretId="tls/key")["SecretBinary"] == b"\xff" * 65536
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId="tls/key", SecretBinary=b"\xff" * 65537)
    assert error_code(e) == "ValidationException"
    # 65536 characters, but more than 65536 bytes in UTF-8.
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId="tls/key", SecretString="é" * 40000)
    assert error_code(e) == "InvalidParameterException"
    assert "65536 bytes" in error_message(e)
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId="tls/key")
    assert error_code(e) == "InvalidParameterException"


def test_client_request_tokens_are_idempotent(wharf):
    sm = wharf.boto3_client("secretsmanager")
    token = str(uuid.uuid4())
    created = sm.create_secret(Name="idem", SecretString="one", ClientRequestToken=token)
    assert created["VersionId"] == token
    # The same CreateSecret again (a retry) answers the same secret.
    again = sm.create_secret(Name="idem", SecretString="one", ClientRequestToken=token)
    assert again["ARN"] == created["ARN"] and again["VersionId"] == token

    put_token = str(uuid.uuid4())
    first = sm.put_secret_value(SecretId="idem", SecretString="two", ClientRequestToken=put_token)
    retry = sm.put_secret_value(SecretId="idem", SecretString="two", ClientRequestToken=put_token)
    assert retry["VersionId"] == first["VersionId"] == put_token
    assert retry["VersionStages"] == ["AWSCURRENT"]
    versions = sm.list_secret_version_ids(SecretId="idem", IncludeDeprecated=True)["Versions"]
    assert len(versions) == 2
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId="idem", SecretString="changed", ClientRequestToken=put_token)
    assert error_code(e) == "ResourceExistsException"
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="idem", SecretString="other", ClientRequestToken=token)
    assert error_code(e) == "ResourceExistsException"

    # Without a token (a raw request), the version id is a fresh UUID.
    raw = wharf.raw_json(
        "PutSecretValue", {"SecretId": "idem", "SecretString": "three"},
        service="secretsmanager", target_prefix="secretsmanager",
    )
    assert raw.status == 200, raw.describe()
    assert UUID.fullmatch(raw.json()["VersionId"]), raw.describe()
    # A token shorter than 32 characters is refused (botocore checks that itself: raw request).
    short = wharf.raw_json(
        "PutSecretValue", {"SecretId": "idem", "SecretString": "x", "ClientRequestToken": "short"},
        service="secretsmanager", target_prefix="secretsmanager",
    )
    assert short.status == 400, short.describe()
    assert short.error_code() == "ValidationException"
    assert "ClientRequestToken" in short.error_message()


def test_secrets_survive_a_restart_and_regions_are_separate(wharf):
    east = wharf.boto3_client("secretsmanager")
    west = wharf.boto3_client("secretsmanager", region="eu-west-1")
    east_arn = east.create_secret(Name="shared-name", SecretString="east-value")["ARN"]
    west_arn = west.create_secret(Name="shared-name", SecretString="west-value")["ARN"]
    assert re.fullmatch(arn_pattern("shared-name"), east_arn)
    assert re.fullmatch(arn_pattern("shared-name", "eu-west-1"), west_arn)
    assert west.get_secret_value(SecretId="shared-name")["SecretString"] == "west-value"
    with pytest.raises(ClientError) as e:
        west.get_secret_value(SecretId=east_arn)
    assert error_code(e) == "ResourceNotFoundException"
    assert [s["Name"] for s in west.list_secrets()["SecretList"]] == ["shared-name"]

    wharf.restart()
    east = wharf.boto3_client("secretsmanager")
    got = east.get_secret_value(SecretId=east_arn)
    assert got["SecretString"] == "east-value"
    # Deletion state survives too.
    east.delete_secret(SecretId=east_arn)
    wharf.restart()
    east = wharf.boto3_client("secretsmanager")
    with pytest.raises(ClientError) as e:
        east.get_secret_value(SecretId=east_arn)
    assert error_code(e) == "InvalidRequestException"
    assert east.restore_secret(SecretId=east_arn)["ARN"] == east_arn
    assert east.get_secret_value(SecretId="shared-name")["SecretString"] == "east-value"


def test_force_delete_of_a_secret_that_does_not_exist(wharf):
    sm = wharf.boto3_client("secretsmanager")
    out = sm.delete_secret(SecretId="never-existed", ForceDeleteWithoutRecovery=True)
    assert out["Name"] == "never-existed"
    assert re.fullmatch(arn_pattern("never-existed"), out["ARN"])
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId="never-existed")
    assert error_code(e) == "ResourceNotFoundException"
    # A secret already scheduled for deletion can be forced out.
    sm.create_secret(Name="scheduled", SecretString="v")
    assert abs(sm.delete_secret(SecretId="scheduled")["DeletionDate"].timestamp() - (time.time() + 30 * DAY_S)) < 120
    sm.delete_secret(SecretId="scheduled", ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as e:
        sm.describe_secret(SecretId="scheduled")
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        sm.restore_secret(SecretId="scheduled")
    assert error_code(e) == "ResourceNotFoundException"


# ---------------------------------------------------------------------------------------
# Listing
# ---------------------------------------------------------------------------------------


def test_list_secrets_filters_sorting_and_pages(wharf, cli):
    sm = wharf.boto3_client("secretsmanager")
    specs = [
        ("prod/db", "Primary Postgres credentials", {"team": "payments", "env": "production"}),
        ("prod/api-key", "Partner API key", {"team": "growth"}),
        ("dev/db", "Scratch database", {"env": "dev"}),
        ("DatabaseSecret", None, {}),
    ]
    for name, description, tags in specs:
        kwargs = {"Name": name, "SecretString": "v"}
        if description:
            kwargs["Description"] = description
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        sm.create_secret(**kwargs)
        time.sleep(0.01)  # distinct CreatedDates
    sm.create_secret(Name="old/gone", SecretString="v")
    sm.delete_secret(SecretId="old/gone")

    def names(**kwargs) -> list[str]:
        return [s["Name"] for s in sm.list_secrets(**kwargs)["SecretList"]]

    def flt(key: str, *values: str) -> list[dict]:
        return [{"Key": key, "Values": list(values)}]

    created_order = ["prod/db", "prod/api-key", "dev/db", "DatabaseSecret"]
    assert names() == created_order
    assert names(SortOrder="desc") == created_order[::-1]
    assert names(SortBy="name") == sorted(created_order)
    assert names(IncludePlannedDeletion=True) == created_order + ["old/gone"]

    assert names(Filters=flt("name", "prod/")) == ["prod/db", "prod/api-key"]
    assert names(Filters=flt("name", "Data")) == ["DatabaseSecret"]  # case-sensitive prefix
    assert names(Filters=flt("name", "data")) == []
    assert names(Filters=flt("name", "!prod/")) == ["dev/db", "DatabaseSecret"]
    assert names(Filters=flt("description", "postgres")) == ["prod/db"]  # not case-sensitive
    assert names(Filters=flt("tag-key", "team")) == ["prod/db", "prod/api-key"]
    assert names(Filters=flt("tag-value", "prod", "dev")) == ["prod/db", "dev/db"]
    assert names(Filters=flt("tag-key", "!env")) == ["prod/api-key", "DatabaseSecret"]
    assert names(Filters=flt("all", "PARTNER")) == ["prod/api-key"]
    assert names(Filters=flt("primary-region", "us-east-1")) == created_order
    # Filters combine: name prefix AND tag value.
    assert names(Filters=flt("name", "prod/") + flt("tag-value", "growth")) == ["prod/api-key"]
    with pytest.raises(ClientError) as e:
        sm.list_secrets(Filters=flt("colour", "red"))
    assert error_code(e) == "ValidationException"
    # Never a value in a listing.
    entry = sm.list_secrets(Filters=flt("name", "prod/db"))["SecretList"][0]
    assert "SecretString" not in entry
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
    assert entry["Tags"] == [{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "production"}]
    assert entry["Description"] == "Primary Postgres credentials"

    # Pages: MaxResults + NextToken, and the CLI's own pagination.
    first = sm.list_secrets(MaxResults=3)
    assert [s["Name"] for s in first["SecretList"]] == created_order[:3]
    rest = sm.list_secrets(MaxResults=3, NextToken=first["NextToken"])
    assert [s["Name"] for s in rest["SecretList"]] == created_order[3:]
    assert "NextToken" not in rest
    with pytest.raises(ClientError) as e:
        sm.list_secrets(NextToken="not-a-token")
    assert error_code(e) == "InvalidNextTokenException"
    with pytest.raises(ClientError) as e:
        sm.list_secrets(MaxResults=101)
    assert error_code(e) == "ValidationException"
    paged = wharf.aws("secretsmanager", "list-secrets", "--page-size", "1", cli=cli).json["SecretList"]
    assert [s["Name"] for s in paged] == created_order
    cli_filtered = wharf.aws(
        "secretsmanager", "list-secrets", "--filters", "Key=name,Values=prod/", "Key=tag-key,Values=team",
        "--sort-order", "desc", cli=cli,
    ).json["SecretList"]
    assert [s["Name"] for s in cli_filtered] == ["prod/api-key", "prod/db"]


# ---------------------------------------------------------------------------------------
# Random passwords
# ---------------------------------------------------------------------------------------


def test_get_random_password(wharf, cli):
    def password(*args: str) -> str:
        return wharf.aws("secretsmanager", "get-random-password", *args, cli=cli).json["RandomPassword"]

    default = password()
    assert len(default) == 32
    assert any(c.islower() for c in default) and any(c.isupper() for c in default)
    assert any(c.isdigit() for c in default) and any(c in PUNCTUATION for c in default)
    assert all(c.isalnum() or c in PUNCTUATION for c in default)
    assert password() != default

    plain = password("--password-length", "200", "--exclude-punctuation", "--exclude-characters", "abcXYZ0")
    assert len(plain) == 200 and plain.isalnum()
    assert not set("abcXYZ0") & set(plain)
    digits = password("--password-length", "12", "--exclude-lowercase", "--exclude-uppercase", "--exclude-punctuation")
    assert len(digits) == 12 and digits.isdigit()
    spaced = password("--password-length", "4096", "--include-space")
    assert len(spaced) == 4096 and " " in spaced
    one = password("--password-length", "1", "--no-require-each-included-type")
    assert len(one) == 1

    err = wharf.aws_error("InvalidParameterException", "secretsmanager", "get-random-password", "--password-length", "3", cli=cli)
    assert "Password length is too short based on the required types" in err.stderr
    wharf.aws_error("ValidationException", "secretsmanager", "get-random-password", "--password-length", "4097", cli=cli)
    wharf.aws_error(
        "InvalidParameterException", "secretsmanager", "get-random-password",
        "--exclude-lowercase", "--exclude-uppercase", "--exclude-numbers", "--exclude-punctuation",
        cli=cli,
    )


# ---------------------------------------------------------------------------------------
# Values at rest and in the log
# ---------------------------------------------------------------------------------------


def test_values_are_sealed_at_rest_and_never_logged(wharf_factory):
    wharf = wharf_factory("--log", "debug")
    key_file = wharf.data_dir / "secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.stat().st_size == 32

    created = canary("created")
    put = canary("put")
    updated = canary("updated")
    binary = canary("binary").encode()
    json_secret = json.dumps({"password": canary("json")})
    wharf.aws("secretsmanager", "create-secret", "--name", "leak/check", "--secret-string", created)
    wharf.aws("secretsmanager", "put-secret-value", "--secret-id", "leak/check", "--secret-string", put, cli="v2")
    sm = wharf.boto3_client("secretsmanager")
    sm.update_secret(SecretId="leak/check", SecretString=updated)
    sm.create_secret(Name="leak/binary", SecretBinary=binary)
    sm.create_secret(Name="leak/json", SecretString=json_secret)
    # Read them all (and fail some requests that carry values) so every path has run.
    assert sm.get_secret_value(SecretId="leak/check")["SecretString"] == updated
    assert sm.get_secret_value(SecretId="leak/check", VersionStage="AWSPREVIOUS")["SecretString"] == put
    assert sm.get_secret_value(SecretId="leak/binary")["SecretBinary"] == binary
    assert sm.get_secret_value(SecretId="leak/json")["SecretString"] == json_secret
    with pytest.raises(ClientError):
        sm.create_secret(Name="leak/check", SecretString=created)
    with pytest.raises(ClientError):
        sm.put_secret_value(SecretId="leak/absent", SecretString=put)
    too_big = canary("too-big")
    with pytest.raises(ClientError):
        sm.put_secret_value(SecretId="leak/check", SecretString=too_big + "x" * 65536)

    values = [created, put, updated, json.loads(json_secret)["password"], too_big]
    needles = [v.encode() for v in values] + [binary, base64.b64encode(binary)]

    def check_files(when: str):
        files = [p for p in wharf.data_dir.iterdir() if p.name.startswith("wharf.db")]
        assert any(p.name == "wharf.db" for p in files), files
        everything = b""
        for path in files:
            data = path.read_bytes()
            everything += data
            for needle in needles:
                leaked = needle in data
                assert not leaked, f"{when}: a secret value is in {path.name} in clear text"
        # The records are really in these files (their names and ARNs are not secret).
        assert b"leak/check" in everything and b"secretsmanager.values" in everything
        log = wharf.log_text()
        assert "created secret" in log  # the log is really there
        for value in values + [binary.decode()]:
            leaked = value in log
            assert not leaked, f"{when}: a secret value is in the server log"

    check_files("while running")
    # After a graceful stop (the WAL is checkpointed into wharf.db) and a restart.
    wharf.stop()
    check_files("after stop")
    wharf.start()
    sm = wharf.boto3_client("secretsmanager")
    assert sm.get_secret_value(SecretId="leak/check")["SecretString"] == updated
    check_files("after restart")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
