"""AWS Systems Manager Parameter Store through the real AWS CLI (v1 and v2) and boto3:
String / StringList / SecureString parameters, versions and `name:version` / `name:label`
selectors, labels, hierarchies (GetParametersByPath, the Path filter), DescribeParameters and
its filters, history, tiers, allowed patterns, data types, policies, tags, and the errors a user
meets. SecureString values must never be readable at rest (the SQLite files) or in the server
log, and are shown only with decryption.

Only the endpoint differs from what a user types against AWS. CLI v1 fetches a `--value` that
looks like a URL (http://, https://) and stores what it downloaded; CLI v2 (and boto3) store the
text as given: test_url_like_values shows both.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID, DEFAULT_REGION

SSM_TARGET = "AmazonSSM"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def arn(name: str, region: str = DEFAULT_REGION) -> str:
    return f"arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter/{name.lstrip('/')}"


def when(value) -> float:
    """A timestamp as the CLI prints it: v1 epoch seconds, v2 ISO 8601."""
    if isinstance(value, (int, float)):
        return float(value)
    return dt.datetime.fromisoformat(value).timestamp()


def put(wharf, name: str, value: str, *extra: str, cli: str = "v1") -> dict:
    return wharf.aws("ssm", "put-parameter", "--name", name, "--value", value, *extra, cli=cli).json


def get(wharf, name: str, *extra: str, cli: str = "v1") -> dict:
    return wharf.aws("ssm", "get-parameter", "--name", name, *extra, cli=cli).json["Parameter"]


# ---------------------------------------------------------------------------------------
# PutParameter / GetParameter
# ---------------------------------------------------------------------------------------


def test_put_get_versions_and_overwrite(module_wharf, cli):
    w = module_wharf
    name = f"/{cli}/app/db/host"
    before = time.time()
    assert put(w, name, "db-1.internal", "--type", "String", "--description", "database host", cli=cli) == {
        "Version": 1,
        "Tier": "Standard",
    }
    p = get(w, name, cli=cli)
    assert p["Name"] == name
    assert p["Type"] == "String"
    assert p["Value"] == "db-1.internal"
    assert p["Version"] == 1
    assert p["ARN"] == f"arn:aws:ssm:us-east-1:{ACCOUNT_ID}:parameter/{cli}/app/db/host"
    assert p["DataType"] == "text"
    assert "Selector" not in p
    modified = when(p["LastModifiedDate"])
    assert before - 5 < modified < time.time() + 5

    err = w.aws_error("ParameterAlreadyExists", "ssm", "put-parameter", "--name", name, "--value", "x", "--type", "String", cli=cli)
    assert name in err.stderr
    # Overwrite: the type may be left out (it is kept), the version goes up.
    assert put(w, name, "db-2.internal", "--overwrite", cli=cli)["Version"] == 2
    p = get(w, name, cli=cli)
    assert (p["Value"], p["Version"], p["Type"]) == ("db-2.internal", 2, "String")
    old = get(w, f"{name}:1", cli=cli)
    assert (old["Name"], old["Value"], old["Version"], old["Selector"]) == (name, "db-1.internal", 1, ":1")
    w.aws_error("ParameterVersionNotFound", "ssm", "get-parameter", "--name", f"{name}:7", cli=cli)
    w.aws_error("ParameterNotFound", "ssm", "get-parameter", "--name", f"/{cli}/app/nothing", cli=cli)
    # The description is kept by the new version.
    meta = w.aws(
        "ssm", "describe-parameters",
        "--parameter-filters", f"Key=Name,Values={name}",
        cli=cli,
    ).json["Parameters"]
    assert [(m["Name"], m["Description"], m["Version"]) for m in meta] == [(name, "database host", 2)]
    # A type change is refused.
    w.aws_error(
        "HierarchyTypeMismatchException",
        "ssm", "put-parameter", "--name", name, "--value", "x", "--type", "SecureString", "--overwrite",
        cli=cli,
    )
    # Root-level names have no slash; their ARN gets exactly one.
    root = f"{cli}-root-level"
    put(w, root, "a,b,c", "--type", "StringList", cli=cli)
    p = get(w, root, cli=cli)
    assert (p["Type"], p["Value"], p["ARN"]) == ("StringList", "a,b,c", arn(root))
    # By ARN, too.
    assert get(w, arn(name), cli=cli)["Value"] == "db-2.internal"
    assert get(w, arn(root), cli=cli)["Name"] == root


def test_name_rules(module_wharf, cli):
    w = module_wharf
    for bad in ("awsThing", "SSM-param", "/ssm/x", "/aws/reference/x", "no/leading/slash", "/has space", "/a//b", "bad$char"):
        result = w.aws_error(
            "ValidationException", "ssm", "put-parameter", "--name", bad, "--value", "v", "--type", "String", cli=cli
        )
        assert "Parameter name" in result.stderr or "reserved parameter name" in result.stderr, result.stderr
    fifteen = f"/{cli}" + "".join(f"/l{i}" for i in range(2, 16))
    assert fifteen.count("/") == 15
    assert put(w, fifteen, "deep", "--type", "String", cli=cli)["Version"] == 1
    result = w.aws_error(
        "HierarchyLevelLimitExceededException",
        "ssm", "put-parameter", "--name", fifteen + "/l16", "--value", "v", "--type", "String",
        cli=cli,
    )
    assert "15" in result.stderr
    long_name = "/" + "n" * 2048
    w.aws_error("ValidationException", "ssm", "put-parameter", "--name", long_name, "--value", "v", "--type", "String", cli=cli)
    # A type is needed to create a parameter.
    result = w.aws_error("ValidationException", "ssm", "put-parameter", "--name", f"/{cli}/untyped", "--value", "v", cli=cli)
    assert "type" in result.stderr.lower()
    w.aws_error("ValidationException", "ssm", "put-parameter", "--name", f"/{cli}/bad-type", "--value", "v", "--type", "Integer", cli=cli)


def test_secure_string_decryption(module_wharf, cli):
    w = module_wharf
    name = f"/{cli}/app/db/password"
    secret = f"pw-{cli}-Correct-Horse-Battery"
    put(w, name, secret, "--type", "SecureString", cli=cli)
    hidden = get(w, name, cli=cli)
    assert hidden["Type"] == "SecureString"
    assert hidden["Value"] and secret not in hidden["Value"]
    assert get(w, name, "--no-with-decryption", cli=cli)["Value"] == hidden["Value"]
    assert get(w, name, "--with-decryption", cli=cli)["Value"] == secret
    meta = w.aws("ssm", "describe-parameters", "--parameter-filters", f"Key=Name,Values={name}", cli=cli).json
    assert meta["Parameters"][0]["KeyId"] == "alias/aws/ssm"
    assert secret not in json.dumps(meta)

    # A customer key id is recorded (wharf has no KMS: the value is sealed with its own key).
    custom = f"/{cli}/app/api-key"
    put(w, custom, "k-123", "--type", "SecureString", "--key-id", "alias/app-secrets", cli=cli)
    meta = w.aws(
        "ssm", "describe-parameters",
        "--parameter-filters", "Key=KeyId,Values=alias/app-secrets", f"Key=Path,Option=Recursive,Values=/{cli}",
        cli=cli,
    ).json
    assert [m["Name"] for m in meta["Parameters"]] == [custom]
    w.aws_error(
        "InvalidKeyId", "ssm", "put-parameter", "--name", f"/{cli}/bad-key", "--value", "v", "--type", "SecureString",
        "--key-id", "not_a_key", cli=cli,
    )
    w.aws_error(
        "ValidationException", "ssm", "put-parameter", "--name", f"/{cli}/plain-key", "--value", "v", "--type", "String",
        "--key-id", "alias/app-secrets", cli=cli,
    )

    many = w.aws("ssm", "get-parameters", "--names", name, custom, "--with-decryption", cli=cli).json
    assert {p["Name"]: p["Value"] for p in many["Parameters"]} == {name: secret, custom: "k-123"}
    encrypted = w.aws("ssm", "get-parameters", "--names", name, cli=cli).json["Parameters"][0]["Value"]
    assert secret not in encrypted
    by_path = w.aws("ssm", "get-parameters-by-path", "--path", f"/{cli}/app/db", cli=cli).json["Parameters"]
    assert [p["Value"] for p in by_path if p["Name"] == name] == [hidden["Value"]]
    by_path = w.aws("ssm", "get-parameters-by-path", "--path", f"/{cli}/app/db", "--with-decryption", cli=cli).json
    assert [p["Value"] for p in by_path["Parameters"] if p["Name"] == name] == [secret]


def test_tiers_and_value_sizes(module_wharf):
    ssm = module_wharf.boto3_client("ssm")
    assert ssm.put_parameter(Name="/tiers/std", Value="s" * 4096, Type="String")["Tier"] == "Standard"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/tiers/too-big", Value="s" * 4097, Type="String")
    assert error_code(e) == "ValidationException"
    assert "4096" in e.value.response["Error"]["Message"]
    assert ssm.put_parameter(Name="/tiers/adv", Value="a" * 8192, Type="String", Tier="Advanced")["Tier"] == "Advanced"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/tiers/adv-too-big", Value="a" * 8193, Type="String", Tier="Advanced")
    assert error_code(e) == "ValidationException"
    it = ssm.put_parameter(Name="/tiers/smart", Value="small", Type="String", Tier="Intelligent-Tiering")
    assert (it["Version"], it["Tier"]) == (1, "Standard")
    it = ssm.put_parameter(Name="/tiers/smart", Value="b" * 5000, Tier="Intelligent-Tiering", Overwrite=True)
    assert (it["Version"], it["Tier"]) == (2, "Advanced")
    # Advanced stays Advanced: without a tier, and a downgrade is refused.
    assert ssm.put_parameter(Name="/tiers/smart", Value="tiny", Overwrite=True)["Tier"] == "Advanced"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/tiers/smart", Value="tiny", Tier="Standard", Overwrite=True)
    assert error_code(e) == "ValidationException"
    assert "downgrade" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/tiers/x", Value="v", Type="String", Tier="Premium")
    assert error_code(e) == "ValidationException"
    tiers = {
        p["Name"]: p["Tier"]
        for p in ssm.describe_parameters(
            ParameterFilters=[{"Key": "Path", "Values": ["/tiers"]}]
        )["Parameters"]
    }
    assert tiers == {"/tiers/std": "Standard", "/tiers/adv": "Advanced", "/tiers/smart": "Advanced"}
    advanced = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Path", "Values": ["/tiers"]}, {"Key": "Tier", "Values": ["Advanced"]}]
    )["Parameters"]
    assert sorted(p["Name"] for p in advanced) == ["/tiers/adv", "/tiers/smart"]
    history = ssm.get_parameter_history(Name="/tiers/smart")["Parameters"]
    assert [(h["Version"], h["Tier"]) for h in history] == [(1, "Standard"), (2, "Advanced"), (3, "Advanced")]


def test_allowed_pattern_and_data_type(module_wharf, cli):
    w = module_wharf
    name = f"/{cli}/port"
    put(w, name, "8080", "--type", "String", "--allowed-pattern", "^\\d+$", cli=cli)
    result = w.aws_error(
        "ParameterPatternMismatchException", "ssm", "put-parameter", "--name", name, "--value", "eighty", "--overwrite", cli=cli
    )
    assert "^\\d+$" in result.stderr
    assert "eighty" not in result.stderr
    # The pattern stays with the parameter.
    assert put(w, name, "9090", "--overwrite", cli=cli)["Version"] == 2
    meta = w.aws("ssm", "describe-parameters", "--parameter-filters", f"Key=Name,Values={name}", cli=cli).json
    assert meta["Parameters"][0]["AllowedPattern"] == "^\\d+$"
    # SecureString values are checked too, and never echoed.
    result = w.aws_error(
        "ParameterPatternMismatchException", "ssm", "put-parameter", "--name", f"/{cli}/pin", "--value", "secret-letters",
        "--type", "SecureString", "--allowed-pattern", "^[0-9]{4}$", cli=cli,
    )
    assert "secret-letters" not in result.stderr
    w.aws_error(
        "InvalidAllowedPatternException", "ssm", "put-parameter", "--name", f"/{cli}/broken", "--value", "x",
        "--type", "String", "--allowed-pattern", "([a-z", cli=cli,
    )

    image = f"/{cli}/golden-ami"
    put(w, image, "ami-0123456789abcdef0", "--type", "String", "--data-type", "aws:ec2:image", cli=cli)
    p = get(w, image, cli=cli)
    assert p["DataType"] == "aws:ec2:image"
    w.aws_error(
        "ValidationException", "ssm", "put-parameter", "--name", f"/{cli}/not-ami", "--value", "hello",
        "--type", "String", "--data-type", "aws:ec2:image", cli=cli,
    )
    result = w.aws_error(
        "ValidationException", "ssm", "put-parameter", "--name", f"/{cli}/dt", "--value", "x",
        "--type", "String", "--data-type", "Text", cli=cli,
    )
    assert "data type" in result.stderr
    found = w.aws(
        "ssm", "describe-parameters", "--parameter-filters", "Key=DataType,Values=aws:ec2:image",
        "Key=Path,Option=Recursive,Values=/" + cli, cli=cli,
    ).json["Parameters"]
    assert [f["Name"] for f in found] == [image]


# ---------------------------------------------------------------------------------------
# Labels and history
# ---------------------------------------------------------------------------------------


def test_labels_and_history(module_wharf, cli):
    w = module_wharf
    name = f"/{cli}/release/image"
    for i in range(1, 4):
        extra = ("--type", "String") if i == 1 else ("--overwrite",)
        put(w, name, f"image:{i}", *extra, cli=cli)

    out = w.aws(
        "ssm", "label-parameter-version", "--name", name, "--parameter-version", "2",
        "--labels", "prod", "stable", "1st", "awsLabel", "has space",
        cli=cli,
    ).json
    assert out["ParameterVersion"] == 2
    assert sorted(out["InvalidLabels"]) == sorted(["1st", "awsLabel", "has space"])
    p = get(w, f"{name}:prod", cli=cli)
    assert (p["Value"], p["Version"], p["Selector"]) == ("image:2", 2, ":prod")
    # Without a version the label goes to the latest one, leaving version 2.
    out = w.aws("ssm", "label-parameter-version", "--name", name, "--labels", "prod", cli=cli).json
    assert (out["ParameterVersion"], out["InvalidLabels"]) == (3, [])
    assert get(w, f"{name}:prod", cli=cli)["Version"] == 3
    history = w.aws("ssm", "get-parameter-history", "--name", name, cli=cli).json["Parameters"]
    assert [(h["Version"], h["Value"], h["Labels"]) for h in history] == [
        (1, "image:1", []),
        (2, "image:2", ["stable"]),
        (3, "image:3", ["prod"]),
    ]
    for h in history:
        assert h["Name"] == name and h["Type"] == "String" and h["Tier"] == "Standard"
        assert h["LastModifiedUser"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
        assert h["Policies"] == [] and h["DataType"] == "text"

    w.aws_error("ParameterVersionNotFound", "ssm", "get-parameter", "--name", f"{name}:staging", cli=cli)
    w.aws_error(
        "ParameterVersionNotFound", "ssm", "label-parameter-version", "--name", name, "--parameter-version", "9",
        "--labels", "x", cli=cli,
    )
    w.aws_error("ParameterNotFound", "ssm", "label-parameter-version", "--name", f"/{cli}/none", "--labels", "x", cli=cli)
    w.aws_error("ParameterNotFound", "ssm", "get-parameter-history", "--name", f"/{cli}/none", cli=cli)
    w.aws_error(
        "ValidationException", "ssm", "label-parameter-version", "--name", name, "--labels", "l" * 101, cli=cli
    )
    # Ten labels per version.
    nine = [f"tag{i}" for i in range(9)]
    w.aws("ssm", "label-parameter-version", "--name", name, "--parameter-version", "1", "--labels", *nine, cli=cli)
    w.aws("ssm", "label-parameter-version", "--name", name, "--parameter-version", "1", "--labels", "tenth", cli=cli)
    result = w.aws_error(
        "ParameterVersionLabelLimitExceeded", "ssm", "label-parameter-version", "--name", name,
        "--parameter-version", "1", "--labels", "eleventh", cli=cli,
    )
    assert "10" in result.stderr


def test_version_limit_and_history_pages(module_wharf):
    ssm = module_wharf.boto3_client("ssm")
    name = "/limits/counter"
    ssm.put_parameter(Name=name, Value="1", Type="String")
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["first"])
    for v in range(2, 101):
        assert ssm.put_parameter(Name=name, Value=str(v), Overwrite=True)["Version"] == v
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=name, Value="101", Overwrite=True)
    assert error_code(e) == "ParameterMaxVersionLimitExceeded"
    assert "Version 1" in e.value.response["Error"]["Message"]
    # Move the label away: the oldest version can go.
    ssm.label_parameter_version(Name=name, ParameterVersion=60, Labels=["first"])
    assert ssm.put_parameter(Name=name, Value="101", Overwrite=True)["Version"] == 101
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=f"{name}:1")
    assert error_code(e) == "ParameterVersionNotFound"

    first = ssm.get_parameter_history(Name=name)
    assert [p["Version"] for p in first["Parameters"]] == list(range(2, 52))
    second = ssm.get_parameter_history(Name=name, NextToken=first["NextToken"])
    assert [p["Version"] for p in second["Parameters"]] == list(range(52, 102))
    assert "NextToken" not in second
    pages = ssm.get_paginator("get_parameter_history").paginate(Name=name, PaginationConfig={"PageSize": 7})
    versions = [p["Version"] for page in pages for p in page["Parameters"]]
    assert versions == list(range(2, 102))
    with pytest.raises(ClientError) as e:
        ssm.get_parameter_history(Name=name, MaxResults=51)
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        ssm.get_parameter_history(Name=name, NextToken="not-a-token")
    assert error_code(e) == "InvalidNextToken"


# ---------------------------------------------------------------------------------------
# GetParameters / GetParametersByPath / Delete
# ---------------------------------------------------------------------------------------


def test_get_parameters_and_delete(module_wharf, cli):
    w = module_wharf
    a, b, c = (f"/{cli}/many/{x}" for x in "abc")
    for n in (a, b, c):
        put(w, n, f"value-{n[-1]}", "--type", "String", cli=cli)
    got = w.aws("ssm", "get-parameters", "--names", a, f"{b}:1", f"{c}:5", f"/{cli}/many/missing", cli=cli).json
    assert sorted((p["Name"], p["Value"]) for p in got["Parameters"]) == [(a, "value-a"), (b, "value-b")]
    assert [p.get("Selector") for p in got["Parameters"] if p["Name"] == b] == [":1"]
    assert sorted(got["InvalidParameters"]) == sorted([f"{c}:5", f"/{cli}/many/missing"])
    eleven = [f"/{cli}/n{i}" for i in range(11)]
    w.aws_error("ValidationException", "ssm", "get-parameters", "--names", *eleven, cli=cli)

    deleted = w.aws("ssm", "delete-parameters", "--names", a, b, f"/{cli}/many/missing", cli=cli).json
    assert sorted(deleted["DeletedParameters"]) == sorted([a, b])
    assert deleted["InvalidParameters"] == [f"/{cli}/many/missing"]
    w.aws_error("ValidationException", "ssm", "delete-parameters", "--names", *eleven, cli=cli)
    w.aws("ssm", "delete-parameter", "--name", c, cli=cli)
    w.aws_error("ParameterNotFound", "ssm", "delete-parameter", "--name", c, cli=cli)
    w.aws_error("ParameterNotFound", "ssm", "get-parameter", "--name", a, cli=cli)
    # The name is free again: a new parameter starts at version 1.
    assert put(w, a, "again", "--type", "String", cli=cli)["Version"] == 1


def test_get_parameters_by_path(module_wharf, cli):
    w = module_wharf
    base = f"/{cli}/svc"
    names = [f"{base}/a", f"{base}/b", f"{base}/c", f"{base}/db/host", f"{base}/db/deep/x", f"/{cli}/svc-other/z"]
    for n in names:
        put(w, n, "v", "--type", "String", cli=cli)
    put(w, f"{base}/db/password", "pw", "--type", "SecureString", cli=cli)

    def by_path(*args):
        return [p["Name"] for p in w.aws("ssm", "get-parameters-by-path", *args, cli=cli).json["Parameters"]]

    assert by_path("--path", base) == [f"{base}/a", f"{base}/b", f"{base}/c"]
    assert by_path("--path", base + "/") == [f"{base}/a", f"{base}/b", f"{base}/c"]
    everything = [f"{base}/a", f"{base}/b", f"{base}/c", f"{base}/db/deep/x", f"{base}/db/host", f"{base}/db/password"]
    assert by_path("--path", base, "--recursive") == everything
    # The CLI pages through with MaxResults 2 and NextToken.
    assert by_path("--path", base, "--recursive", "--page-size", "2") == everything
    assert by_path("--path", base, "--recursive", "--parameter-filters", "Key=Type,Values=SecureString") == [
        f"{base}/db/password"
    ]
    assert by_path(
        "--path", base, "--recursive", "--parameter-filters", "Key=KeyId,Values=alias/aws/ssm"
    ) == [f"{base}/db/password"]
    assert by_path("--path", f"/{cli}/nothing-here") == []
    w.aws_error("ValidationException", "ssm", "get-parameters-by-path", "--path", "no-slash", cli=cli)
    w.aws_error(
        "InvalidFilterKey", "ssm", "get-parameters-by-path", "--path", base,
        "--parameter-filters", "Key=Name,Values=x", cli=cli,
    )
    w.aws_error(
        "InvalidFilterOption", "ssm", "get-parameters-by-path", "--path", base,
        "--parameter-filters", "Key=Type,Option=Contains,Values=String", cli=cli,
    )

    # A Label filter returns the labelled version.
    put(w, f"{base}/a", "v2", "--overwrite", cli=cli)
    w.aws("ssm", "label-parameter-version", "--name", f"{base}/a", "--parameter-version", "1", "--labels", "golden", cli=cli)
    labelled = w.aws(
        "ssm", "get-parameters-by-path", "--path", base, "--parameter-filters", "Key=Label,Values=golden", cli=cli
    ).json["Parameters"]
    assert [(p["Name"], p["Version"], p["Value"]) for p in labelled] == [(f"{base}/a", 1, "v")]


def test_by_path_pages_with_boto3(module_wharf):
    ssm = module_wharf.boto3_client("ssm")
    for i in range(7):
        ssm.put_parameter(Name=f"/paged/p{i}", Value=str(i), Type="String")
    page = ssm.get_parameters_by_path(Path="/paged", MaxResults=3)
    assert [p["Name"] for p in page["Parameters"]] == ["/paged/p0", "/paged/p1", "/paged/p2"]
    page2 = ssm.get_parameters_by_path(Path="/paged", MaxResults=3, NextToken=page["NextToken"])
    assert [p["Name"] for p in page2["Parameters"]] == ["/paged/p3", "/paged/p4", "/paged/p5"]
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path="/paged", PaginationConfig={"PageSize": 2})
    assert [p["Value"] for pg in pages for p in pg["Parameters"]] == [str(i) for i in range(7)]
    # (botocore itself refuses MaxResults 0: `min` is checked client-side, `max` is the server's.)
    with pytest.raises(ClientError) as e:
        ssm.get_parameters_by_path(Path="/paged", MaxResults=11)
    assert error_code(e) == "ValidationException"


# ---------------------------------------------------------------------------------------
# DescribeParameters
# ---------------------------------------------------------------------------------------


def test_describe_parameters_filters(wharf, cli):
    w = wharf
    put(w, "/prod/web/url", "https-not-fetched", "--type", "String", "--tags", "Key=team,Value=web", cli=cli)
    put(w, "/prod/web/key", "describe-secret-1", "--type", "SecureString", "--tags", "Key=team,Value=web-core", cli=cli)
    put(w, "/prod/db/port", "5432", "--type", "String", cli=cli)
    put(w, "/dev/web/url", "x", "--type", "String", cli=cli)
    put(w, "toplevel", "a,b", "--type", "StringList", "--description", "root level", cli=cli)

    def names(*args):
        out = w.aws("ssm", "describe-parameters", *args, cli=cli).json
        assert "describe-secret-1" not in json.dumps(out)
        for p in out["Parameters"]:
            assert "Value" not in p
        return [p["Name"] for p in out["Parameters"]]

    everything = ["/dev/web/url", "/prod/db/port", "/prod/web/key", "/prod/web/url", "toplevel"]
    assert names() == everything
    assert names("--page-size", "2") == everything
    assert names("--parameter-filters", "Key=Path,Values=/prod/web") == ["/prod/web/key", "/prod/web/url"]
    assert names("--parameter-filters", "Key=Path,Values=/prod") == []
    assert names("--parameter-filters", "Key=Path,Option=Recursive,Values=/prod") == [
        "/prod/db/port", "/prod/web/key", "/prod/web/url"
    ]
    assert names("--parameter-filters", "Key=Path,Values=/") == ["toplevel"]
    assert names("--parameter-filters", "Key=Name,Option=BeginsWith,Values=/prod/w") == ["/prod/web/key", "/prod/web/url"]
    assert names("--parameter-filters", "Key=Name,Option=Contains,Values=web") == [
        "/dev/web/url", "/prod/web/key", "/prod/web/url"
    ]
    assert names("--parameter-filters", "Key=Name,Values=/prod/db/port") == ["/prod/db/port"]
    assert names("--parameter-filters", "Key=Type,Values=StringList") == ["toplevel"]
    assert names("--parameter-filters", "Key=Type,Values=String,StringList") == [
        "/dev/web/url", "/prod/db/port", "/prod/web/url", "toplevel"
    ]
    assert names("--parameter-filters", "Key=tag:team,Values=web") == ["/prod/web/url"]
    assert names("--parameter-filters", "Key=tag:team,Option=BeginsWith,Values=web") == ["/prod/web/key", "/prod/web/url"]
    assert names("--parameter-filters", "Key=tag:team") == ["/prod/web/key", "/prod/web/url"]
    assert names("--parameter-filters", "Key=Tier,Values=Standard", "Key=Type,Values=SecureString") == ["/prod/web/key"]
    assert names("--filters", "Key=Name,Values=/prod") == ["/prod/db/port", "/prod/web/key", "/prod/web/url"]
    assert names("--filters", "Key=Type,Values=SecureString") == ["/prod/web/key"]

    top = w.aws("ssm", "describe-parameters", "--parameter-filters", "Key=Name,Values=toplevel", cli=cli).json["Parameters"][0]
    assert top["Description"] == "root level"
    if cli == "v1":
        # CLI v2 2.9's model predates ParameterMetadata.ARN (its parser drops it).
        assert top["ARN"] == arn("toplevel")
    assert (top["Type"], top["Version"], top["Tier"], top["DataType"], top["Policies"]) == (
        "StringList", 1, "Standard", "text", []
    )
    assert top["LastModifiedUser"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert "KeyId" not in top

    w.aws_error(
        "ValidationException", "ssm", "describe-parameters",
        "--filters", "Key=Name,Values=/prod", "--parameter-filters", "Key=Type,Values=String", cli=cli,
    )
    w.aws_error("InvalidFilterKey", "ssm", "describe-parameters", "--parameter-filters", "Key=Label,Values=x", cli=cli)
    w.aws_error(
        "InvalidFilterKey", "ssm", "describe-parameters",
        "--parameter-filters", "Key=Type,Values=String", "Key=Type,Values=SecureString", cli=cli,
    )
    w.aws_error(
        "InvalidFilterOption", "ssm", "describe-parameters", "--parameter-filters", "Key=Path,Option=Equals,Values=/prod", cli=cli
    )
    w.aws_error(
        "InvalidFilterOption", "ssm", "describe-parameters", "--parameter-filters", "Key=Type,Option=Contains,Values=S", cli=cli
    )
    w.aws_error("InvalidFilterValue", "ssm", "describe-parameters", "--parameter-filters", "Key=Type,Values=Text", cli=cli)
    w.aws_error("InvalidFilterValue", "ssm", "describe-parameters", "--parameter-filters", "Key=Name", cli=cli)
    w.aws_error("ValidationException", "ssm", "describe-parameters", "--parameter-filters", "Key=Owner,Values=me", cli=cli)
    w.aws_error("ValidationException", "ssm", "describe-parameters", "--parameter-filters", "Key=Path,Values=prod", cli=cli)


def test_describe_pages_with_boto3(wharf):
    ssm = wharf.boto3_client("ssm")
    for i in range(12):
        ssm.put_parameter(Name=f"/d/p{i:02}", Value="v", Type="String")
    first = ssm.describe_parameters(MaxResults=5)
    assert [p["Name"] for p in first["Parameters"]] == [f"/d/p{i:02}" for i in range(5)]
    second = ssm.describe_parameters(MaxResults=5, NextToken=first["NextToken"])
    assert [p["Name"] for p in second["Parameters"]] == [f"/d/p{i:02}" for i in range(5, 10)]
    third = ssm.describe_parameters(MaxResults=5, NextToken=second["NextToken"])
    assert [p["Name"] for p in third["Parameters"]] == ["/d/p10", "/d/p11"]
    assert "NextToken" not in third
    pages = ssm.get_paginator("describe_parameters").paginate(PaginationConfig={"PageSize": 4})
    assert [p["Name"] for pg in pages for p in pg["Parameters"]] == [f"/d/p{i:02}" for i in range(12)]
    with pytest.raises(ClientError) as e:
        ssm.describe_parameters(MaxResults=51)
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        ssm.describe_parameters(NextToken="bogus")
    assert error_code(e) == "InvalidNextToken"
    assert ssm.describe_parameters(Shared=True)["Parameters"] == []


# ---------------------------------------------------------------------------------------
# Tags, policies, regions, wire
# ---------------------------------------------------------------------------------------


def test_tags(module_wharf, cli):
    w = module_wharf
    name = f"/{cli}/tagged"
    put(w, name, "v", "--type", "String", "--tags", "Key=env,Value=dev", "Key=team,Value=core", cli=cli)

    def tags():
        out = w.aws("ssm", "list-tags-for-resource", "--resource-type", "Parameter", "--resource-id", name, cli=cli).json
        return {t["Key"]: t["Value"] for t in out["TagList"]}

    assert tags() == {"env": "dev", "team": "core"}
    w.aws(
        "ssm", "add-tags-to-resource", "--resource-type", "Parameter", "--resource-id", name,
        "--tags", "Key=env,Value=prod", "Key=cost,Value=42", cli=cli,
    )
    assert tags() == {"env": "prod", "team": "core", "cost": "42"}
    w.aws(
        "ssm", "remove-tags-from-resource", "--resource-type", "Parameter", "--resource-id", name,
        "--tag-keys", "team", "absent", cli=cli,
    )
    assert tags() == {"env": "prod", "cost": "42"}
    # Tags survive new versions.
    put(w, name, "v2", "--overwrite", cli=cli)
    assert tags() == {"env": "prod", "cost": "42"}
    result = w.aws_error(
        "ValidationException", "ssm", "put-parameter", "--name", name, "--value", "v3", "--overwrite",
        "--tags", "Key=a,Value=b", cli=cli,
    )
    assert "tags and overwrite can't be used together" in result.stderr
    w.aws_error(
        "InvalidResourceId", "ssm", "list-tags-for-resource", "--resource-type", "Parameter",
        "--resource-id", f"/{cli}/untagged-missing", cli=cli,
    )
    w.aws_error(
        "InvalidResourceType", "ssm", "list-tags-for-resource", "--resource-type", "Document", "--resource-id", name, cli=cli,
    )
    w.aws_error(
        "ValidationException", "ssm", "list-tags-for-resource", "--resource-type", "Bucket", "--resource-id", name, cli=cli,
    )
    fifty = [f"Key=k{i},Value=v" for i in range(49)]
    w.aws_error(
        "TooManyTagsError", "ssm", "add-tags-to-resource", "--resource-type", "Parameter", "--resource-id", name,
        "--tags", *fifty, cli=cli,
    )
    assert tags() == {"env": "prod", "cost": "42"}


def test_policies_and_expiration(module_wharf):
    ssm = module_wharf.boto3_client("ssm")
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    policies = [
        {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": later}},
        {"Type": "ExpirationNotification", "Version": "1.0", "Attributes": {"Before": "5", "Unit": "Days"}},
        {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "20", "Unit": "Days"}},
    ]
    out = ssm.put_parameter(
        Name="/pol/kept", Value="v", Type="String", Tier="Intelligent-Tiering", Policies=json.dumps(policies)
    )
    assert out["Tier"] == "Advanced"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/pol/kept"]}])["Parameters"][0]
    assert [(p["PolicyType"], p["PolicyStatus"]) for p in meta["Policies"]] == [
        ("Expiration", "Pending"), ("ExpirationNotification", "Pending"), ("NoChangeNotification", "Pending")
    ]
    assert json.loads(meta["Policies"][0]["PolicyText"]) == policies[0]

    def refused(code, **kwargs):
        with pytest.raises(ClientError) as e:
            ssm.put_parameter(Name="/pol/bad", Value="v", Type="String", Tier="Advanced", **kwargs)
        assert error_code(e) == code, e.value.response
        return e.value.response["Error"]["Message"]

    refused("InvalidPolicyTypeException", Policies='[{"Type":"Deletion","Version":"1.0","Attributes":{}}]')
    refused("InvalidPolicyAttributeException", Policies='[{"Type":"Expiration","Version":"1.0","Attributes":{}}]')
    refused("IncompatiblePolicyException", Policies=json.dumps([policies[0], policies[0]]))
    refused("PoliciesLimitExceededException", Policies=json.dumps([policies[2]] * 11))
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/pol/std", Value="v", Type="String", Tier="Standard", Policies=json.dumps(policies[:1]))
    assert error_code(e) == "ValidationException"

    # Expiration deletes the parameter when its time comes.
    ssm.put_parameter(
        Name="/pol/short", Value="v", Type="String", Tier="Advanced",
        Policies=json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": soon}}]),
    )
    assert ssm.get_parameter(Name="/pol/short")["Parameter"]["Value"] == "v"
    time.sleep(5)
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/pol/short")
    assert error_code(e) == "ParameterNotFound"
    listed = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": ["/pol"]}])["Parameters"]
    assert [p["Name"] for p in listed] == ["/pol/kept"]


def test_parameters_are_regional_and_wire_errors(module_wharf):
    w = module_wharf
    east = w.boto3_client("ssm")
    west = w.boto3_client("ssm", region="eu-west-1")
    east.put_parameter(Name="/regional/x", Value="east", Type="String")
    west.put_parameter(Name="/regional/x", Value="west", Type="String")
    assert east.get_parameter(Name="/regional/x")["Parameter"]["Value"] == "east"
    p = west.get_parameter(Name="/regional/x")["Parameter"]
    assert (p["Value"], p["ARN"]) == ("west", arn("/regional/x", "eu-west-1"))
    with pytest.raises(ClientError) as e:
        west.get_parameter(Name=arn("/regional/x"))  # an us-east-1 ARN, asked in eu-west-1
    assert error_code(e) == "ParameterNotFound"
    # The awsJson 1.1 error envelope, as AWS sends it.
    raw = w.raw_json("GetParameter", {"Name": "/regional/none"}, service="ssm", target_prefix=SSM_TARGET)
    assert raw.status == 400
    assert raw.error_code() == "ParameterNotFound"
    assert "/regional/none" in raw.error_message()
    raw = w.raw_json("PutParameter", {"Name": "/regional/y", "Type": "String"}, service="ssm", target_prefix=SSM_TARGET)
    assert (raw.status, raw.error_code()) == (400, "ValidationException")


def test_url_like_values(module_wharf, tmp_path):
    """CLI v1 follows http(s) URLs given as parameter values (and stores what it fetched); CLI
    v2 and boto3 store the text."""
    w = module_wharf
    (tmp_path / "page").write_text("fetched-by-cli-v1")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/page"
        put(w, "/urls/v2", url, "--type", "String", cli="v2")
        assert get(w, "/urls/v2", cli="v2")["Value"] == url
        put(w, "/urls/v1", url, "--type", "String", cli="v1")
        assert get(w, "/urls/v1", cli="v1")["Value"] == "fetched-by-cli-v1"
        w.boto3_client("ssm").put_parameter(Name="/urls/boto3", Value=url, Type="String")
        assert get(w, "/urls/boto3")["Value"] == url
    finally:
        server.shutdown()


# ---------------------------------------------------------------------------------------
# SecureString values at rest and in the log
# ---------------------------------------------------------------------------------------


def test_secure_values_never_stored_or_logged_in_clear(wharf_factory, monkeypatch):
    # The most talkative log level wharf's own code has.
    monkeypatch.setenv("WHARF_LOG", "debug")
    w = wharf_factory()
    markers = {
        "v1": "Zq7-v1-SECRET-marker-0001",
        "v2": "Zq7-v2-SECRET-marker-0002",
        "boto3": "Zq7-boto3-SECRET-marker-0003",
        "history": "Zq7-history-SECRET-marker-0004",
        "pattern": "Zq7-pattern-SECRET-marker-0005",
        "label": "Zq7-label-SECRET-marker-0006",
    }
    put(w, "/vault/one", markers["v1"], "--type", "SecureString", cli="v1")
    put(w, "/vault/two", markers["v2"], "--type", "SecureString", "--key-id", "alias/vault", cli="v2")
    ssm = w.boto3_client("ssm")
    ssm.put_parameter(Name="/vault/three", Value=markers["boto3"], Type="SecureString", Tier="Advanced")
    ssm.put_parameter(Name="/vault/one", Value=markers["history"], Overwrite=True)
    ssm.label_parameter_version(Name="/vault/one", ParameterVersion=1, Labels=["old"])
    ssm.put_parameter(Name="/vault/label", Value=markers["label"], Type="SecureString")
    # A refused put (pattern mismatch) must not leak the value either.
    with pytest.raises(ClientError):
        ssm.put_parameter(Name="/vault/pin", Value=markers["pattern"], Type="SecureString", AllowedPattern="^[0-9]+$")

    # Without decryption: never the values.
    shown = [
        w.aws("ssm", "describe-parameters", cli="v1").stdout,
        w.aws("ssm", "describe-parameters", cli="v2").stdout,
        w.aws("ssm", "get-parameter", "--name", "/vault/one", cli="v1").stdout,
        w.aws("ssm", "get-parameter", "--name", "/vault/two", cli="v2").stdout,
        w.aws("ssm", "get-parameter", "--name", "/vault/one:old", cli="v2").stdout,
        w.aws("ssm", "get-parameters", "--names", "/vault/one", "/vault/two", "/vault/three", cli="v1").stdout,
        w.aws("ssm", "get-parameters-by-path", "--path", "/vault", cli="v2").stdout,
        w.aws("ssm", "get-parameter-history", "--name", "/vault/one", cli="v1").stdout,
        json.dumps(ssm.get_parameter(Name="/vault/three"), default=str),
    ]
    for text in shown:
        for marker in markers.values():
            assert marker not in text, text

    # With decryption: exactly the values (so the markers above were real).
    assert get(w, "/vault/one", "--with-decryption", cli="v1")["Value"] == markers["history"]
    assert get(w, "/vault/one:1", "--with-decryption", cli="v2")["Value"] == markers["v1"]
    assert get(w, "/vault/two", "--with-decryption", cli="v2")["Value"] == markers["v2"]
    assert ssm.get_parameter(Name="/vault/three", WithDecryption=True)["Parameter"]["Value"] == markers["boto3"]
    history = ssm.get_parameter_history(Name="/vault/one", WithDecryption=True)["Parameters"]
    assert [h["Value"] for h in history] == [markers["v1"], markers["history"]]

    def leaks() -> list[str]:
        found = []
        files = [p for p in Path(w.data_dir).rglob("*") if p.is_file()]
        assert any(p.name == "wharf.db" for p in files), files
        files += list(w.server.log_paths)
        for path in files:
            data = path.read_bytes()
            for marker in markers.values():
                if marker.encode() in data:
                    found.append(f"{marker} in {path}")
        return found

    # While running (the WAL holds the recent writes), and after a graceful stop (checkpointed).
    assert any(p.name == "wharf.db-wal" for p in Path(w.data_dir).iterdir())
    assert leaks() == []
    w.stop()
    assert leaks() == []
    # The sealing key survives the restart: the values still decrypt.
    w.start()
    assert w.boto3_client("ssm").get_parameter(Name="/vault/two", WithDecryption=True)["Parameter"]["Value"] == markers["v2"]
    assert leaks() == []
