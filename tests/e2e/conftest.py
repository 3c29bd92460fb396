"""Fixtures of wharf's end-to-end suite.

- ``wharf``: a fresh ``wharf server`` on its own data directory (function scope) with
  ``aws(...)``, ``aws_error(...)``, ``boto3_client(...)``, ``raw_json(...)``,
  ``raw_query(...)``, ``restart()`` (kill -9 + start on the same data dir) and ``stop()``.
- ``wharf_factory(*extra_args)``: the same, with extra server flags
  (``--accept-any-credentials``, ``--account-id N``); any number per test.
- ``module_wharf`` (module): one ``wharf server`` shared by the tests of a module, for tests
  that need no server of their own (e.g. the ECS task tests, which share a pushed image);
  stopped gracefully after the module's last test.
- ``cli``: parametrizes a test over the AWS CLI v1 and v2.
- ``ecr``: ECR on the ``wharf`` fixture's server (boto3 client, registry password, raw
  registry client; see ``wharf_e2e.Ecr``).
- ``skopeo``: Debian's skopeo with a private HOME, auth file and temp dir.
- ``docker_engine`` (session): makes sure a Docker Engine answers (scripts/ensure-docker.sh
  starts dockerd if needed); fails, never skips, when it cannot.
- ``docker``: the docker CLI with a private DOCKER_CONFIG; removes every image and
  container the test registered with it.
- ``module_docker`` (module): the same, cleaned up after the module's last test.
- ``testapp_local_image`` (session): the task test image (tests/testapp, see testapp.py),
  built once per session; its local tag.
- ``testapp_image``: that image pushed into the ``wharf`` fixture's registry as
  ``testapp:latest``; a ``str``, the ECR-style name task definitions use
  (``<account>.dkr.ecr.<region>.amazonaws.com/testapp:latest``), with ``.local``,
  ``.repository_uri``, ``.repository``, ``.tag`` and ``.digest``.

The server's log (stdout + stderr) is attached to the report of any failing test (the log
of every wharf the test used, the module's shared one included).
"""

from __future__ import annotations

import warnings

import pytest

from testapp import TestappImage, build_testapp_image, push_testapp
from wharf_e2e import (
    DockerCli,
    Ecr,
    Skopeo,
    Wharf,
    ensure_docker_engine,
    remove_task_containers,
    scrub_aws_environment,
    tail,
    unique_suffix,
    wharf_binary,
)

scrub_aws_environment()

_LIVE_KEY = pytest.StashKey[list]()


@pytest.fixture
def wharf_factory(request, tmp_path):
    instances: list[Wharf] = []
    request.node.stash[_LIVE_KEY] = instances

    def start(*extra_args) -> Wharf:
        binary = wharf_binary()
        instance = Wharf(binary, tmp_path / f"wharf{len(instances)}", extra_args)
        instances.append(instance)
        return instance

    yield start

    for instance in instances:
        _, killed = instance.stop()
        remove_task_containers(instance.data_dir)
        if killed:
            # test_durability.py::test_sigterm_stops_gracefully fails for this; here a
            # warning is enough.
            warnings.warn(
                f"wharf server (pid {instance.server.proc.pid}) ignored SIGTERM for 10 s "
                "and was killed",
                stacklevel=1,
            )


@pytest.fixture
def wharf(wharf_factory) -> Wharf:
    return wharf_factory()


@pytest.fixture(scope="module")
def module_wharf(tmp_path_factory) -> Wharf:
    instance = Wharf(wharf_binary(), tmp_path_factory.mktemp("module-wharf"))
    yield instance
    _, killed = instance.stop()
    remove_task_containers(instance.data_dir)
    if killed:
        warnings.warn(
            f"wharf server (pid {instance.server.proc.pid}) ignored SIGTERM for 10 s and was killed",
            stacklevel=1,
        )


@pytest.fixture(params=["v1", "v2"])
def cli(request) -> str:
    """Which AWS CLI to drive: v1 (PyPI, .deps/venv/bin/aws) or v2 (Debian, /usr/bin/aws)."""
    return request.param


@pytest.fixture
def ecr(wharf) -> Ecr:
    return Ecr(wharf)


@pytest.fixture
def skopeo(tmp_path) -> Skopeo:
    return Skopeo(tmp_path / "skopeo")


@pytest.fixture(scope="session")
def docker_engine() -> str:
    return ensure_docker_engine()


@pytest.fixture
def docker(docker_engine, tmp_path):
    cli = DockerCli(tmp_path / "docker", unique_suffix())
    yield cli
    problems = cli.cleanup()
    if problems:
        warnings.warn("docker clean-up left something behind:\n" + "\n".join(problems), stacklevel=1)


@pytest.fixture(scope="module")
def module_docker(docker_engine, tmp_path_factory):
    cli = DockerCli(tmp_path_factory.mktemp("module-docker"), unique_suffix())
    yield cli
    problems = cli.cleanup()
    if problems:
        warnings.warn("docker clean-up left something behind:\n" + "\n".join(problems), stacklevel=1)


@pytest.fixture(scope="session")
def testapp_local_image(docker_engine, tmp_path_factory):
    builder = DockerCli(tmp_path_factory.mktemp("testapp-docker"), unique_suffix())
    yield build_testapp_image(builder, builder.workdir)
    problems = builder.cleanup()
    if problems:
        warnings.warn("testapp image clean-up left something behind:\n" + "\n".join(problems), stacklevel=1)


@pytest.fixture
def testapp_image(wharf, ecr, docker, testapp_local_image) -> TestappImage:
    return push_testapp(ecr, docker, testapp_local_image)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    instances = list(item.stash.get(_LIVE_KEY, []))
    # Servers of wider-scoped fixtures (module_wharf, or an object holding one) the test used.
    for value in getattr(item, "funcargs", {}).values():
        for candidate in (value, getattr(value, "wharf", None)):
            if isinstance(candidate, Wharf) and all(candidate is not i for i in instances):
                instances.append(candidate)
    for instance in instances:
        for path in instance.server.log_paths:
            report.sections.append((f"wharf server log {path}", tail(path)))
