"""boto3 finds wharf the way AWS's tools read endpoint configuration, with nothing in code:
``AWS_ENDPOINT_URL``, the per-service ``AWS_ENDPOINT_URL_<SERVICE>`` and ``endpoint_url`` in the
shared config file (global and in a ``services`` section), in AWS's order of precedence, and
``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` turns them off. (The AWS CLI v1 is covered by
test_github_actions.py, the JavaScript SDK v3 by tests/js.)

A dead port stands for "somewhere else": a client that used it fails to connect, so each case
proves which setting won.
"""

from __future__ import annotations

import os

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from wharf_e2e import free_port

CONFIG = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=3, read_timeout=30)


@pytest.fixture
def endpoint_env(monkeypatch, tmp_path, wharf):
    """A clean AWS environment with wharf's root keys; returns (set_env, write_config, dead)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    key, secret = wharf.credentials
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    dead = f"http://127.0.0.1:{free_port()}"

    def write_config(text: str) -> None:
        (tmp_path / "config").write_text(text)

    return monkeypatch.setenv, write_config, dead


def account(service_client) -> str:
    return service_client.get_caller_identity()["Account"]


def clusters(ecs) -> list:
    return ecs.list_clusters()["clusterArns"]


def client(name: str):
    return boto3.session.Session().client(name, config=CONFIG)


def refused(call) -> bool:
    try:
        call()
    except botocore.exceptions.EndpointConnectionError:
        return True
    return False


def test_aws_endpoint_url_reaches_every_service(endpoint_env, wharf):
    set_env, _, _ = endpoint_env
    set_env("AWS_ENDPOINT_URL", wharf.endpoint)
    assert account(client("sts")) == "123456789012"
    assert clusters(client("ecs")) == []
    assert client("ec2").describe_vpcs()["Vpcs"], "the default VPC"


def test_a_service_variable_beats_the_global_one(endpoint_env, wharf):
    set_env, _, dead = endpoint_env
    set_env("AWS_ENDPOINT_URL", dead)
    set_env("AWS_ENDPOINT_URL_ECS", wharf.endpoint)
    assert clusters(client("ecs")) == []
    assert refused(lambda: account(client("sts")))


def test_endpoint_url_in_the_config_file(endpoint_env, wharf):
    _, write_config, dead = endpoint_env
    write_config(
        "[default]\n"
        f"endpoint_url = {dead}\n"
        "services = wharf\n"
        "\n"
        "[services wharf]\n"
        "ecs =\n"
        f"  endpoint_url = {wharf.endpoint}\n"
    )
    assert clusters(client("ecs")) == []
    assert refused(lambda: account(client("sts")))
    write_config(f"[default]\nendpoint_url = {wharf.endpoint}\n")
    assert account(client("sts")) == "123456789012"


def test_the_environment_beats_the_config_file_and_can_be_ignored(endpoint_env, wharf):
    set_env, write_config, dead = endpoint_env
    write_config(f"[default]\nendpoint_url = {dead}\n")
    set_env("AWS_ENDPOINT_URL", wharf.endpoint)
    assert account(client("sts")) == "123456789012"
    # Ignored: boto3 goes to AWS's own endpoint. Only what it resolves is checked (nothing
    # is sent to the internet).
    set_env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert client("sts").meta.endpoint_url.startswith("https://sts.")
