"""ECR API, driven the way the seeds drive it: repositories, authorization tokens, tag
mutability, scanning configuration, lifecycle policies, tags and deletion, through the real
AWS CLI (v1 and v2) and boto3.

Pushes needed here (a non-empty repository) go through the registry with raw HTTP; the real
registry clients (skopeo, Docker) are in test_ecr_registry.py and test_ecr_docker.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from wharf_e2e import ACCOUNT_ID, Ecr, Registry, as_datetime, registry_error_codes

# Seed 004's "Keep last 30 images (enough for rollbacks)" policy, verbatim.
KEEP_LAST_30 = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "Keep last 30 images (enough for rollbacks)",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
            "action": {"type": "expire"},
        }
    ]
}


def repo_arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:ecr:{region}:{ACCOUNT_ID}:repository/{name}"


def assert_repository(repo: dict, name: str, host: str, region="us-east-1", mutability="MUTABLE", scan=False):
    assert repo["repositoryName"] == name, repo
    assert repo["registryId"] == ACCOUNT_ID, repo
    assert repo["repositoryArn"] == repo_arn(name, region), repo
    # A URI `docker push` on this machine can use: the registry is wharf's own port.
    assert repo["repositoryUri"] == f"{host}/{name}", repo
    assert repo["imageTagMutability"] == mutability, repo
    assert repo["imageScanningConfiguration"] == {"scanOnPush": scan}, repo
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}, repo
    created = as_datetime(repo["createdAt"])
    now = dt.datetime.now(dt.timezone.utc)
    assert abs((now - created).total_seconds()) < 300, f"createdAt {created} is not now ({now})"


def test_create_and_describe_repository_as_seed_002(wharf, ecr, cli):
    # Seed 002, verbatim but for the endpoint.
    out = wharf.aws(
        "ecr", "create-repository",
        "--repository-name", "blog-api",
        "--image-scanning-configuration", "scanOnPush=true",
        "--region", "ap-northeast-2",
        cli=cli,
    ).json
    assert_repository(out["repository"], "blog-api", ecr.host, region="ap-northeast-2", scan=True)

    err = wharf.aws_error(
        "RepositoryAlreadyExistsException",
        "ecr", "create-repository", "--repository-name", "blog-api", "--region", "ap-northeast-2",
        cli=cli,
    )
    assert "blog-api" in err.stderr, err.describe()

    # No options: AWS's defaults.
    plain = wharf.aws(
        "ecr", "create-repository", "--repository-name", "team/plain-api", "--region", "ap-northeast-2", cli=cli
    ).json["repository"]
    assert_repository(plain, "team/plain-api", ecr.host, region="ap-northeast-2")

    one = wharf.aws(
        "ecr", "describe-repositories", "--repository-names", "blog-api", "--region", "ap-northeast-2", cli=cli
    ).json["repositories"]
    assert len(one) == 1
    assert one[0] == out["repository"]

    every = wharf.aws("ecr", "describe-repositories", "--region", "ap-northeast-2", cli=cli).json
    assert sorted(r["repositoryName"] for r in every["repositories"]) == ["blog-api", "team/plain-api"]

    # The seeds' `--query` idiom for the URI.
    uri = wharf.aws(
        "ecr", "describe-repositories", "--repository-names", "blog-api",
        "--query", "repositories[0].repositoryUri", "--output", "text",
        "--region", "ap-northeast-2", cli=cli,
    ).stdout.strip()
    assert uri == f"{ecr.host}/blog-api"

    err = wharf.aws_error(
        "RepositoryNotFoundException",
        "ecr", "describe-repositories", "--repository-names", "blog-api", "missing-api",
        "--region", "ap-northeast-2", cli=cli,
    )
    assert "missing-api" in err.stderr, err.describe()


def test_create_repository_options_and_bad_input(wharf, ecr):
    repo = wharf.aws(
        "ecr", "create-repository",
        "--repository-name", "ai-assistant",
        "--image-tag-mutability", "IMMUTABLE",
        "--encryption-configuration", "encryptionType=AES256",
        "--tags", "Key=env,Value=prod", "Key=team,Value=ml",
        cli="v2",
    ).json["repository"]
    assert_repository(repo, "ai-assistant", ecr.host, mutability="IMMUTABLE")
    tags = ecr.client.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "prod"), ("team", "ml")]

    # Names must match ECR's pattern (lower case); botocore checks only the length.
    err = wharf.aws_error(
        "InvalidParameterException", "ecr", "create-repository", "--repository-name", "Blog_API", cli="v2"
    )
    assert "repositoryName" in err.stderr or "Blog_API" in err.stderr, err.describe()
    # An enum value ECR does not know.
    wharf.aws_error(
        ("InvalidParameterException", "ValidationException"),
        "ecr", "create-repository", "--repository-name", "blog-api", "--image-tag-mutability", "SOMETIMES",
        cli="v1",
    )
    # Neither created anything.
    names = [r["repositoryName"] for r in ecr.client.describe_repositories()["repositories"]]
    assert names == ["ai-assistant"]


def test_authorization_token_and_login_password(wharf, ecr, cli):
    before = dt.datetime.now(dt.timezone.utc)
    data = wharf.aws("ecr", "get-authorization-token", cli=cli).json["authorizationData"]
    assert len(data) == 1, data
    auth = data[0]
    assert auth["proxyEndpoint"] == wharf.endpoint == f"http://{ecr.host}"
    user, sep, password = base64.b64decode(auth["authorizationToken"]).decode().partition(":")
    assert (user, sep) == ("AWS", ":") and password, auth
    assert ":" not in password, "the CLI splits the token on ':' into exactly two parts"
    expires = as_datetime(auth["expiresAt"])
    hours = (expires - before).total_seconds() / 3600
    assert 11.9 < hours < 12.1, f"expiresAt {expires}: tokens are valid for 12 hours"

    # get-login-password decodes a fresh token and prints only the password.
    login = wharf.aws("ecr", "get-login-password", cli=cli)
    printed = login.stdout.strip()
    assert printed and ":" not in printed and "\n" not in printed, login.describe()

    # Both passwords open the registry; the token's own password too.
    registry = Registry(wharf.endpoint)
    for pw in {password, printed}:
        ok = registry.with_credentials("AWS", pw).request("GET", "/v2/")
        assert ok.status == 200, ok.describe()
    denied = registry.with_credentials("AWS", printed + "x").request("GET", "/v2/")
    assert denied.status == 401, denied.describe()


def test_tag_mutability_and_scanning_configuration(wharf, ecr):
    ecr.create_repository("blog-api")
    out = wharf.aws(
        "ecr", "put-image-tag-mutability", "--repository-name", "blog-api",
        "--image-tag-mutability", "IMMUTABLE", cli="v2",
    ).json
    assert out == {"registryId": ACCOUNT_ID, "repositoryName": "blog-api", "imageTagMutability": "IMMUTABLE"}
    out = wharf.aws(
        "ecr", "put-image-scanning-configuration", "--repository-name", "blog-api",
        "--image-scanning-configuration", "scanOnPush=true", cli="v1",
    ).json
    assert out == {
        "registryId": ACCOUNT_ID,
        "repositoryName": "blog-api",
        "imageScanningConfiguration": {"scanOnPush": True},
    }
    repo = ecr.client.describe_repositories(repositoryNames=["blog-api"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}

    # Back to MUTABLE.
    ecr.client.put_image_tag_mutability(repositoryName="blog-api", imageTagMutability="MUTABLE")
    repo = ecr.client.describe_repositories(repositoryNames=["blog-api"])["repositories"][0]
    assert repo["imageTagMutability"] == "MUTABLE"

    wharf.aws_error(
        "RepositoryNotFoundException",
        "ecr", "put-image-tag-mutability", "--repository-name", "missing", "--image-tag-mutability", "IMMUTABLE",
        cli="v2",
    )
    wharf.aws_error(
        ("InvalidParameterException", "ValidationException"),
        "ecr", "put-image-tag-mutability", "--repository-name", "blog-api", "--image-tag-mutability", "SOMETIMES",
        cli="v2",
    )
    repo = ecr.client.describe_repositories(repositoryNames=["blog-api"])["repositories"][0]
    assert repo["imageTagMutability"] == "MUTABLE"


def test_lifecycle_policy_put_get_delete(wharf, ecr, cli):
    ecr.create_repository("ai-assistant")
    policy_file = wharf.write_json("ecr-lifecycle-policy.json", KEEP_LAST_30)

    wharf.aws_error(
        "LifecyclePolicyNotFoundException",
        "ecr", "get-lifecycle-policy", "--repository-name", "ai-assistant", cli=cli,
    )
    out = wharf.aws(
        "ecr", "put-lifecycle-policy", "--repository-name", "ai-assistant",
        "--lifecycle-policy-text", policy_file, cli=cli,
    ).json
    assert out["registryId"] == ACCOUNT_ID and out["repositoryName"] == "ai-assistant", out
    assert json.loads(out["lifecyclePolicyText"]) == KEEP_LAST_30

    got = wharf.aws("ecr", "get-lifecycle-policy", "--repository-name", "ai-assistant", cli=cli).json
    assert got["registryId"] == ACCOUNT_ID and got["repositoryName"] == "ai-assistant", got
    assert json.loads(got["lifecyclePolicyText"]) == KEEP_LAST_30

    # Not JSON (the text is long enough for botocore's 100-character minimum): refused, and
    # the policy in place is untouched.
    broken = json.dumps(KEEP_LAST_30, indent=2)[:-3]
    assert len(broken) >= 100
    (wharf.work / "broken.json").write_text(broken)
    wharf.aws_error(
        "InvalidParameterException",
        "ecr", "put-lifecycle-policy", "--repository-name", "ai-assistant",
        "--lifecycle-policy-text", f"file://{wharf.work / 'broken.json'}", cli=cli,
    )
    # JSON, but not a policy: imageCountMoreThan needs countNumber.
    bad = json.loads(json.dumps(KEEP_LAST_30))
    del bad["rules"][0]["selection"]["countNumber"]
    bad["rules"][0]["description"] = "no count number here, which ECR refuses for imageCountMoreThan"
    wharf.aws_error(
        "InvalidParameterException",
        "ecr", "put-lifecycle-policy", "--repository-name", "ai-assistant",
        "--lifecycle-policy-text", wharf.write_json("bad-policy.json", bad), cli=cli,
    )
    got = ecr.client.get_lifecycle_policy(repositoryName="ai-assistant")
    assert json.loads(got["lifecyclePolicyText"]) == KEEP_LAST_30

    deleted = wharf.aws("ecr", "delete-lifecycle-policy", "--repository-name", "ai-assistant", cli=cli).json
    assert json.loads(deleted["lifecyclePolicyText"]) == KEEP_LAST_30
    wharf.aws_error(
        "LifecyclePolicyNotFoundException",
        "ecr", "get-lifecycle-policy", "--repository-name", "ai-assistant", cli=cli,
    )
    wharf.aws_error(
        "LifecyclePolicyNotFoundException",
        "ecr", "delete-lifecycle-policy", "--repository-name", "ai-assistant", cli=cli,
    )
    wharf.aws_error(
        "RepositoryNotFoundException",
        "ecr", "put-lifecycle-policy", "--repository-name", "missing",
        "--lifecycle-policy-text", policy_file, cli=cli,
    )


PULL_FROM_ANOTHER_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "AllowPull",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
    }],
}
REPLICATE_HERE = {
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "ReplicationAccess",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
        "Resource": f"arn:aws:ecr:us-east-1:{ACCOUNT_ID}:repository/*",
    }],
}


def test_repository_and_registry_policies(wharf, ecr, cli):
    """set/get/delete-repository-policy and put/get/delete-registry-policy as the ECR docs
    show them; before: unknown operations."""
    ecr.create_repository("shared-base")
    wharf.aws_error("RepositoryPolicyNotFoundException",
                    "ecr", "get-repository-policy", "--repository-name", "shared-base", cli=cli)
    text = json.dumps(PULL_FROM_ANOTHER_ACCOUNT)
    out = wharf.aws("ecr", "set-repository-policy", "--repository-name", "shared-base",
                    "--policy-text", text, cli=cli).json
    assert out == {"registryId": ACCOUNT_ID, "repositoryName": "shared-base", "policyText": text}
    got = wharf.aws("ecr", "get-repository-policy", "--repository-name", "shared-base", cli=cli).json
    assert json.loads(got["policyText"]) == PULL_FROM_ANOTHER_ACCOUNT
    # A statement without a principal is no resource policy; the one in place stays.
    no_principal = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*"}]}
    r = wharf.aws_error("InvalidParameterException", "ecr", "set-repository-policy",
                        "--repository-name", "shared-base", "--policy-text", json.dumps(no_principal), cli=cli)
    assert "Invalid repository policy provided" in r.stderr and "Principal" in r.stderr
    assert json.loads(ecr.client.get_repository_policy(repositoryName="shared-base")["policyText"]) \
        == PULL_FROM_ANOTHER_ACCOUNT
    deleted = wharf.aws("ecr", "delete-repository-policy", "--repository-name", "shared-base", cli=cli).json
    assert json.loads(deleted["policyText"]) == PULL_FROM_ANOTHER_ACCOUNT
    wharf.aws_error("RepositoryPolicyNotFoundException",
                    "ecr", "delete-repository-policy", "--repository-name", "shared-base", cli=cli)
    wharf.aws_error("RepositoryNotFoundException", "ecr", "set-repository-policy",
                    "--repository-name", "missing", "--policy-text", text, cli=cli)

    wharf.aws_error("RegistryPolicyNotFoundException", "ecr", "get-registry-policy", cli=cli)
    put = wharf.aws("ecr", "put-registry-policy", "--policy-text", json.dumps(REPLICATE_HERE), cli=cli).json
    assert put["registryId"] == ACCOUNT_ID and json.loads(put["policyText"]) == REPLICATE_HERE
    got = wharf.aws("ecr", "get-registry-policy", cli=cli).json
    assert json.loads(got["policyText"]) == REPLICATE_HERE
    wharf.aws_error("InvalidParameterException", "ecr", "put-registry-policy", "--policy-text", "{not json", cli=cli)
    removed = wharf.aws("ecr", "delete-registry-policy", cli=cli).json
    assert json.loads(removed["policyText"]) == REPLICATE_HERE
    wharf.aws_error("RegistryPolicyNotFoundException", "ecr", "delete-registry-policy", cli=cli)


def push_small_image(ecr: Ecr, repo: str, tag: str) -> str:
    """A one-layer OCI image pushed through the registry API; answers its digest."""
    from ecr_images import MT_OCI_MANIFEST, image_manifest, make_config_blob, make_layer_blob

    layer = make_layer_blob(2048, f"{repo}:{tag}")
    config = make_config_blob([layer.digest], label=tag)
    ecr.registry.upload_blob(repo, layer.data)
    ecr.registry.upload_blob(repo, config.data)
    manifest = image_manifest(config.descriptor, [layer.descriptor])
    response = ecr.registry.put_manifest(repo, tag, manifest, MT_OCI_MANIFEST)
    assert response.status == 201, response.describe()
    return response.headers["docker-content-digest"]


def test_scanning_configuration_and_honest_scan_results(wharf, ecr, cli):
    """The registry scanning configuration applies as on AWS; a scan says plainly that none ran
    (wharf has no vulnerability database offline): FAILED with the reason, never findings."""
    got = wharf.aws("ecr", "get-registry-scanning-configuration", cli=cli).json
    assert got["scanningConfiguration"] == {"scanType": "BASIC", "rules": []}
    ecr.create_repository("prod-api")
    ecr.create_repository("dev-api")
    rules = [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "prod-*", "filterType": "WILDCARD"}]}]
    put = wharf.aws("ecr", "put-registry-scanning-configuration", "--scan-type", "BASIC",
                    "--rules", json.dumps(rules), cli=cli).json
    assert put["registryScanningConfiguration"] == {"scanType": "BASIC", "rules": rules}
    wharf.aws_error("ValidationException", "ecr", "put-registry-scanning-configuration", "--scan-type", "BASIC",
                    "--rules", json.dumps([{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [
                        {"filter": "*", "filterType": "WILDCARD"}]}]), cli=cli)
    batch = wharf.aws("ecr", "batch-get-repository-scanning-configuration",
                      "--repository-names", "prod-api", "dev-api", "nope", cli=cli).json
    by_name = {c["repositoryName"]: c for c in batch["scanningConfigurations"]}
    assert by_name["prod-api"]["scanFrequency"] == "SCAN_ON_PUSH" and by_name["prod-api"]["scanOnPush"] is True
    assert by_name["prod-api"]["appliedScanFilters"] == rules[0]["repositoryFilters"]
    assert by_name["dev-api"]["scanFrequency"] == "MANUAL" and by_name["dev-api"]["scanOnPush"] is False
    assert batch["failures"] == [
        {"repositoryName": "nope", "failureCode": "REPOSITORY_NOT_FOUND", "failureReason": "REPOSITORY_NOT_FOUND"}]

    # A push to a repository the rule names records the scan it asked for.
    pushed = push_small_image(ecr, "prod-api", "v1")
    findings = wharf.aws("ecr", "describe-image-scan-findings", "--repository-name", "prod-api",
                         "--image-id", "imageTag=v1", cli=cli).json
    assert findings["imageScanStatus"]["status"] == "FAILED"
    assert "no vulnerability database" in findings["imageScanStatus"]["description"]
    # No findings (the CLI's paginator may add an empty findings list of its own).
    assert not (findings.get("imageScanFindings") or {}).get("findings"), findings
    assert findings["imageId"]["imageDigest"] == pushed
    # Elsewhere no scan ran until one is asked for.
    push_small_image(ecr, "dev-api", "v1")
    wharf.aws_error("ScanNotFoundException", "ecr", "describe-image-scan-findings", "--repository-name", "dev-api",
                    "--image-id", "imageTag=v1", cli=cli)
    started = wharf.aws("ecr", "start-image-scan", "--repository-name", "dev-api", "--image-id", "imageTag=v1",
                        cli=cli).json
    assert started["imageScanStatus"]["status"] == "FAILED"
    assert "no vulnerability database" in started["imageScanStatus"]["description"]
    details = ecr.client.describe_images(repositoryName="dev-api")["imageDetails"]
    assert details[0]["imageScanStatus"]["status"] == "FAILED"
    wharf.aws_error("ImageNotFoundException", "ecr", "start-image-scan", "--repository-name", "dev-api",
                    "--image-id", "imageTag=v9", cli=cli)
    wharf.aws("ecr", "put-registry-scanning-configuration", "--scan-type", "BASIC", "--rules", "[]", cli=cli)


def test_tag_resource_and_list_tags(wharf, ecr):
    arn = ecr.create_repository("blog-api", tags=[{"Key": "env", "Value": "dev"}])["repositoryArn"]
    assert arn == repo_arn("blog-api")
    wharf.aws(
        "ecr", "tag-resource", "--resource-arn", arn, "--tags", "Key=team,Value=blog", "Key=env,Value=prod",
        cli="v2",
    )
    tags = wharf.aws("ecr", "list-tags-for-resource", "--resource-arn", arn, cli="v1").json["tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "prod"), ("team", "blog")]
    wharf.aws("ecr", "untag-resource", "--resource-arn", arn, "--tag-keys", "env", cli="v2")
    tags = ecr.client.list_tags_for_resource(resourceArn=arn)["tags"]
    assert tags == [{"Key": "team", "Value": "blog"}]
    wharf.aws_error(
        ("RepositoryNotFoundException", "InvalidParameterException"),
        "ecr", "list-tags-for-resource", "--resource-arn", repo_arn("missing"), cli="v2",
    )


def test_delete_repository_not_empty_then_force(wharf, ecr: Ecr):
    # An empty repository goes without --force.
    ecr.create_repository("scratchpad")
    gone = wharf.aws("ecr", "delete-repository", "--repository-name", "scratchpad", cli="v2").json
    assert gone["repository"]["repositoryName"] == "scratchpad"

    ecr.create_repository("blog-api")
    pushed = ecr.registry.push_small_image("blog-api", "v1", seed="delete-me")
    ids = ecr.client.list_images(repositoryName="blog-api")["imageIds"]
    assert ids == [{"imageDigest": pushed["digest"], "imageTag": "v1"}]

    err = wharf.aws_error(
        "RepositoryNotEmptyException", "ecr", "delete-repository", "--repository-name", "blog-api", cli="v1"
    )
    assert "blog-api" in err.stderr, err.describe()
    # Still there, image and all.
    assert ecr.client.list_images(repositoryName="blog-api")["imageIds"] == ids

    out = wharf.aws("ecr", "delete-repository", "--repository-name", "blog-api", "--force", cli="v1").json
    assert out["repository"]["repositoryName"] == "blog-api"
    assert out["repository"]["repositoryArn"] == repo_arn("blog-api")
    wharf.aws_error(
        "RepositoryNotFoundException", "ecr", "describe-repositories", "--repository-names", "blog-api", cli="v2"
    )
    wharf.aws_error(
        "RepositoryNotFoundException", "ecr", "delete-repository", "--repository-name", "blog-api", cli="v2"
    )
    # The registry no longer knows the repository.
    response = ecr.registry.get_manifest("blog-api", "v1")
    assert response.status == 404 and "NAME_UNKNOWN" in registry_error_codes(response), response.describe()

    # A new repository of the same name starts empty.
    ecr.create_repository("blog-api")
    assert ecr.client.list_images(repositoryName="blog-api")["imageIds"] == []
    response = ecr.registry.get_manifest("blog-api", pushed["digest"])
    assert response.status == 404, response.describe()


def test_ecr_json_errors_on_the_wire(wharf):
    """The json-1.1 error shape for ECR, below the CLIs."""
    from wharf_e2e import ECR_TARGET_PREFIX

    response = wharf.raw_json(
        "DescribeRepositories",
        {"repositoryNames": ["nope"]},
        service="ecr",
        target_prefix=ECR_TARGET_PREFIX,
    )
    assert response.status == 400, response.describe()
    assert response.error_code() == "RepositoryNotFoundException", response.describe()
    assert "nope" in response.error_message(), response.describe()


def test_invalid_repository_names_are_refused(ecr):
    import botocore.exceptions

    for name in ["a", "UPPER", "trailing-", "double//slash", "/leading", "x" * 257]:
        try:
            ecr.client.create_repository(repositoryName=name)
        except botocore.exceptions.ParamValidationError:
            # botocore itself refuses names shorter than 2 characters.
            assert len(name) < 2, name
        except ecr.client.exceptions.InvalidParameterException:
            pass
        else:
            pytest.fail(f"create-repository accepted the invalid name {name!r}")
    assert ecr.client.describe_repositories()["repositories"] == []
