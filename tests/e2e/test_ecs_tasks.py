"""Fargate tasks end to end (issue 4): RunTask / StopTask / DescribeTasks / ListTasks driven
by the real AWS CLIs and boto3 against ``wharf server``, with the tasks running as Docker
containers and answering HTTP from the host.

Every test runs the test application image (tests/testapp; see testapp.py) pushed into the
module's wharf. One wharf, one pushed image and one docker CLI are shared by the module
(``lab``); each test uses clusters and task definition families of its own, so their
listings do not see each other. The restart tests come last: they kill and restart the
shared server.

What is covered, test by test:

- the seeds' task definitions run as written (seed 002 ``blog-api`` in ap-northeast-2 with
  its ``curl`` health check, ``awslogs-create-group`` and ``aws logs tail``; seed 003
  ``news-api-task`` with its log group created first, and its public IP pipeline
  ``list-tasks | describe-tasks | describe-network-interfaces``), the image answering on
  port 8000 at the public and the private address;
- the shape of a described task and of its network interface;
- how tasks end: an essential container's exit, a non-essential one's, an OOM kill,
  StopTask (SIGTERM; SIGKILL after ``stopTimeout``), a custom reason, a stop before the
  task ever ran;
- awslogs: no line lost when a task ends, the stream name, a missing log group;
- what the task definition says is what runs (environment and overrides, command,
  entryPoint, workingDirectory, user, ulimits, readonlyRootFilesystem, health checks,
  dependsOn, one network namespace per task);
- bad input and images that cannot be pulled, leaving nothing behind;
- ListTasks' filters and pagination;
- a wharf killed and started again adopts running tasks (and notices an exit it missed),
  and stops those whose containers vanished while it was down.

Every wait is a polling loop with a generous deadline; every task a test starts is stopped
(and waited for) before the next test, and the module ends by checking that no container
of this wharf is left in the engine.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from testapp import TestappImage, push_testapp
from wharf_e2e import (
    ACCOUNT_ID,
    AWS_CLI,
    DockerCli,
    Ecr,
    Wharf,
    eni_details,
    private_ip,
    task_id,
)

REGION = "us-east-1"
SEED_002_REGION = "ap-northeast-2"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/ecsTaskExecutionRole"
EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"

# How long a task may take to reach a state (the CI machine is a slow 2-core one).
RUN_DEADLINE_S = 90.0
STOP_DEADLINE_S = 90.0
HTTP_DEADLINE_S = 60.0
LOGS_DEADLINE_S = 60.0
POLL_S = 0.25

TERMINAL = "STOPPED"
# Task states after RUNNING: a task waited on for RUNNING that shows one of these will never
# get there (again).
ENDING = {"DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}


# ---------------------------------------------------------------------------------------
# The shared lab: one wharf, the pushed test image, clients, cleanup
# ---------------------------------------------------------------------------------------


@dataclass
class Launched:
    region: str
    cluster: str
    arn: str


@dataclass(repr=False)
class Lab:
    wharf: Wharf
    docker: DockerCli
    # testapp:latest in us-east-1 (serves on 8080).
    image: TestappImage
    # The local tag of the test app with PORT=8000 (the seeds' port).
    image_8000: str
    instance_id: str
    launched: list[Launched] = field(default_factory=list)
    _clients: dict = field(default_factory=dict)
    _networks: dict = field(default_factory=dict)
    _clusters: set = field(default_factory=set)
    _pushed: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Lab(wharf={self.wharf.endpoint}, instance={self.instance_id}, tasks launched={len(self.launched)})"

    # -- clients (rebuilt when a restart moved the endpoint) ----------------------------

    def client(self, service: str, region: str = REGION):
        key = (service, region, self.wharf.endpoint)
        if key not in self._clients:
            self._clients[key] = self.wharf.boto3_client(service, region=region)
        return self._clients[key]

    def ecs(self, region: str = REGION):
        return self.client("ecs", region)

    def ec2(self, region: str = REGION):
        return self.client("ec2", region)

    def logs(self, region: str = REGION):
        return self.client("logs", region)

    # -- network -------------------------------------------------------------------------

    def network(self, region: str = REGION) -> tuple[list[dict], str]:
        """The default VPC's subnets of ``region`` and its ``default`` security group."""
        if region not in self._networks:
            ec2 = self.ec2(region)
            vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
            subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
            groups = ec2.describe_security_groups(
                Filters=[
                    {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                    {"Name": "group-name", "Values": ["default"]},
                ]
            )["SecurityGroups"]
            assert subnets and groups, (subnets, groups)
            # These tests reach their tasks from the machine: the group admits everyone.
            ec2.authorize_security_group_ingress(GroupId=groups[0]["GroupId"], IpPermissions=[
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            self._networks[region] = (subnets, groups[0]["GroupId"])
        return self._networks[region]

    def awsvpc(self, public: bool = True, region: str = REGION) -> dict:
        subnets, group = self.network(region)
        return {
            "awsvpcConfiguration": {
                "subnets": [s["SubnetId"] for s in subnets],
                "securityGroups": [group],
                "assignPublicIp": "ENABLED" if public else "DISABLED",
            }
        }

    # -- ECS -----------------------------------------------------------------------------

    def cluster(self, name: str, region: str = REGION) -> str:
        if (name, region) not in self._clusters:
            self.ecs(region).create_cluster(clusterName=name)
            self._clusters.add((name, region))
        return name

    def register(
        self,
        family: str,
        containers: list[dict],
        cpu: str = "256",
        memory: str = "512",
        region: str = REGION,
    ) -> str:
        """Registers a Fargate task definition; each container gets the test image and
        ``essential: true`` unless it says otherwise. Returns the revision's ARN."""
        defs = [{"image": str(self.image), "essential": True, **c} for c in containers]
        td = self.ecs(region).register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu=cpu,
            memory=memory,
            executionRoleArn=EXECUTION_ROLE,
            containerDefinitions=defs,
        )["taskDefinition"]
        return td["taskDefinitionArn"]

    def run(
        self,
        cluster: str,
        task_definition: str,
        *,
        public: bool = True,
        count: int = 1,
        region: str = REGION,
        **kwargs,
    ) -> list[dict]:
        out = self.ecs(region).run_task(
            cluster=self.cluster(cluster, region),
            taskDefinition=task_definition,
            count=count,
            launchType="FARGATE",
            networkConfiguration=self.awsvpc(public, region),
            **kwargs,
        )
        assert out.get("failures") == [], out
        tasks = out["tasks"]
        assert len(tasks) == count, out
        for t in tasks:
            self.launched.append(Launched(region, cluster, t["taskArn"]))
        return tasks

    def track(self, region: str, cluster: str, arn: str) -> str:
        """Records a task started some other way (the CLI), for the clean-up."""
        self.launched.append(Launched(region, cluster, arn))
        return arn

    def describe(self, cluster: str, arns: list[str], region: str = REGION) -> dict[str, dict]:
        out = self.ecs(region).describe_tasks(cluster=cluster, tasks=arns)
        assert not out.get("failures"), out
        return {t["taskArn"]: t for t in out["tasks"]}

    def wait(
        self,
        cluster: str,
        arns: list[str],
        until: Callable[[dict], bool],
        what: str,
        *,
        region: str = REGION,
        deadline: float = RUN_DEADLINE_S,
        hopeless: Callable[[dict], bool] | None = None,
    ) -> dict[str, dict]:
        """Polls DescribeTasks until ``until(task)`` holds for every task; fails after
        ``deadline`` s, or at once when ``hopeless(task)`` says it never will."""
        end = time.monotonic() + deadline
        while True:
            tasks = self.describe(cluster, arns, region)
            if all(until(tasks[a]) for a in arns):
                return tasks
            stuck = [a for a in arns if hopeless is not None and hopeless(tasks[a]) and not until(tasks[a])]
            if stuck or time.monotonic() >= end:
                why = "will never get there" if stuck else f"timed out after {deadline:.0f} s"
                pytest.fail(
                    f"waiting for {what}: {why}\n" + "\n".join(summary(tasks[a]) for a in arns),
                    pytrace=False,
                )
            time.sleep(POLL_S)

    def wait_running(self, cluster: str, arns: list[str], region: str = REGION, **kw) -> dict[str, dict]:
        return self.wait(
            cluster,
            arns,
            lambda t: t["lastStatus"] == "RUNNING",
            "RUNNING",
            region=region,
            hopeless=lambda t: t["lastStatus"] in ENDING or t["desiredStatus"] == "STOPPED",
            **kw,
        )

    def wait_stopped(self, cluster: str, arns: list[str], region: str = REGION, **kw) -> dict[str, dict]:
        kw.setdefault("deadline", STOP_DEADLINE_S)
        return self.wait(cluster, arns, lambda t: t["lastStatus"] == TERMINAL, "STOPPED", region=region, **kw)

    def stop(self, cluster: str, arns: list[str], region: str = REGION, reason: str | None = None) -> dict[str, dict]:
        """StopTask for each, then waits until all are STOPPED."""
        for arn in arns:
            kwargs = {"reason": reason} if reason else {}
            self.ecs(region).stop_task(cluster=cluster, task=arn, **kwargs)
        return self.wait_stopped(cluster, arns, region)

    # -- the engine ------------------------------------------------------------------------

    def containers(self, *label_filters: str, all_states: bool = True) -> list[dict]:
        """This wharf's containers in the engine (``docker ps``), optionally filtered by more
        labels (``key=value``)."""
        args = ["ps", "--no-trunc", "--format", "{{json .}}"]
        if all_states:
            args.append("-a")
        for f in ("wharf.managed=true", f"wharf.instance={self.instance_id}", *label_filters):
            args += ["--filter", f"label={f}"]
        out = self.docker.run(*args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def task_containers(self, arn: str, all_states: bool = True) -> list[dict]:
        return self.containers(f"wharf.task-arn={arn}", all_states=all_states)

    def inspect(self, container_id: str) -> dict:
        return json.loads(self.docker.run("inspect", container_id).stdout)[0]

    # -- images ------------------------------------------------------------------------------

    def push(self, local: str, repository: str, tag: str, region: str = REGION) -> str:
        """Pushes ``local`` as ``repository:tag`` in ``region`` (once); the ECR-style name."""
        key = (local, repository, tag, region)
        if key not in self._pushed:
            ecr = Ecr(self.wharf)
            ecr.client = self.wharf.boto3_client("ecr", region=region)
            self._pushed[key] = push_testapp(ecr, self.docker, local, repository=repository, tag=tag)
        return self._pushed[key]


def summary(task: dict) -> str:
    """One task in a few lines, for failure messages."""
    lines = [
        f"task {task.get('taskArn')}: lastStatus={task.get('lastStatus')} "
        f"desiredStatus={task.get('desiredStatus')} health={task.get('healthStatus')} "
        f"stopCode={task.get('stopCode')} stoppedReason={task.get('stoppedReason')!r}"
    ]
    for c in task.get("containers", []):
        lines.append(
            f"  container {c.get('name')}: lastStatus={c.get('lastStatus')} "
            f"exitCode={c.get('exitCode')} health={c.get('healthStatus')} reason={c.get('reason')!r}"
        )
    return "\n".join(lines)


def build_port_8000_image(docker: DockerCli, base: str, workdir: Path) -> str:
    """``FROM <test app> / ENV PORT=8000``: the seeds' applications listen on 8000."""
    context = workdir / "port-8000"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text(
        f"FROM {base}\nENV PORT=8000\nEXPOSE 8000\nLABEL org.wharf.test.variant=port-8000-{docker.run_id}\n"
    )
    tag = f"wharf-e2e-testapp-8000:{docker.run_id}"
    docker.track(tag)
    docker.run("build", "--quiet", "--platform", "linux/amd64", "-t", tag, str(context))
    docker.track_id(tag)
    return tag


@pytest.fixture(scope="module")
def lab(module_wharf, module_docker, testapp_local_image, tmp_path_factory):
    wharf = module_wharf
    image = push_testapp(Ecr(wharf), module_docker, testapp_local_image)
    image_8000 = build_port_8000_image(module_docker, testapp_local_image, tmp_path_factory.mktemp("images"))
    instance_id = (wharf.data_dir / "instance-id").read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{8,}", instance_id), instance_id
    lab = Lab(wharf, module_docker, image, image_8000, instance_id)
    yield lab

    # Whatever a failed test left running: stop it through wharf if it is up, then make
    # sure the engine has nothing of this wharf's (containers outlive the server).
    if wharf.server.running():
        _stop_leftovers(lab, lab.launched)
    leftovers = lab.containers()
    if leftovers:
        warnings.warn(
            "containers left behind by the ECS task tests (removed now): "
            + ", ".join(c["Names"] for c in leftovers),
            stacklevel=1,
        )
        for c in leftovers:
            lab.docker.run("rm", "-f", c["ID"], check=False)


def _stop_leftovers(lab: Lab, launched: list[Launched]) -> list[str]:
    """Stops every task in ``launched`` that is not STOPPED and waits; returns what it found
    still running."""
    found = []
    for item in launched:
        try:
            task = lab.describe(item.cluster, [item.arn], item.region)[item.arn]
        except (ClientError, AssertionError, KeyError):
            continue
        if task["lastStatus"] != TERMINAL:
            found.append(item)
            if task["desiredStatus"] != "STOPPED":
                lab.ecs(item.region).stop_task(cluster=item.cluster, task=item.arn, reason="e2e clean-up")
    for item in found:
        try:
            lab.wait_stopped(item.cluster, [item.arn], item.region)
        except (Exception, pytest.fail.Exception) as exc:  # clean-up goes on
            warnings.warn(f"task {item.arn} did not stop: {exc}", stacklevel=1)
    return [i.arn for i in found]


@pytest.fixture(autouse=True)
def stop_what_the_test_started(lab):
    """Each test stops its own tasks; this stops whatever an interrupted one left, so the next
    test starts clean."""
    before = len(lab.launched)
    yield
    if not lab.wharf.server.running():  # a restart test failed half-way
        lab.wharf.start()
    _stop_leftovers(lab, lab.launched[before:])


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(ip: str, port: int, path: str = "/health", timeout: float = 5.0) -> tuple[int, str]:
    """GET http://ip:port/path from the host (never through a proxy): (status, body)."""
    try:
        with _NO_PROXY.open(f"http://{ip}:{port}{path}", timeout=timeout) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def wait_http(ip: str, port: int, path: str = "/health", deadline: float = HTTP_DEADLINE_S) -> str:
    """Polls until GET answers 200; returns the body."""
    end = time.monotonic() + deadline
    last: Any = None
    while True:
        try:
            status, body = http_get(ip, port, path, timeout=3)
            if status == 200:
                return body
            last = (status, body)
        except OSError as exc:
            last = exc
        if time.monotonic() >= end:
            pytest.fail(f"GET http://{ip}:{port}{path} never answered 200 in {deadline:.0f} s; last: {last!r}", pytrace=False)
        time.sleep(POLL_S)


def public_ip(lab: Lab, task: dict, region: str = REGION) -> str | None:
    eni = eni_details(task)["networkInterfaceId"]
    ni = lab.ec2(region).describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
    return (ni.get("Association") or {}).get("PublicIp")


def container(task: dict, name: str) -> dict:
    found = [c for c in task["containers"] if c["name"] == name]
    assert len(found) == 1, summary(task)
    return found[0]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def awslogs(group: str, prefix: str, create: bool = True, region: str = REGION) -> dict:
    options = {"awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": prefix}
    if create:
        options["awslogs-create-group"] = "true"
    return {"logDriver": "awslogs", "options": options}


def stream_messages(lab: Lab, group: str, stream: str, region: str = REGION) -> list[str]:
    """Every message of a stream, oldest first: GetLogEvents from the head, following
    nextForwardToken until it comes back unchanged."""
    logs = lab.logs(region)
    messages: list[str] = []
    kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    token = None
    for _ in range(1000):
        page = logs.get_log_events(**kwargs, **({"nextToken": token} if token else {}))
        messages += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            return messages
        token = page["nextForwardToken"]
    raise AssertionError("get-log-events never stopped paginating")


def wait_log_line(lab: Lab, group: str, stream: str, text: str, region: str = REGION) -> list[str]:
    end = time.monotonic() + LOGS_DEADLINE_S
    while True:
        try:
            messages = stream_messages(lab, group, stream, region)
        except ClientError as err:  # the stream may not exist yet
            messages = [repr(err)]
        if any(text in m for m in messages):
            return messages
        if time.monotonic() >= end:
            pytest.fail(f"{text!r} never reached {group} / {stream}; it has {messages[-20:]!r}", pytrace=False)
        time.sleep(0.5)


def run_shell(lab: Lab, script: str, cli: str, extra_env: dict | None = None, timeout: float = 180) -> str:
    """Runs a shell script as the seeds do, with ``aws`` on PATH meaning the chosen CLI
    against this wharf (a wrapper that adds --endpoint-url); returns stdout."""
    bindir = lab.wharf.work / f"bin-{cli}"
    bindir.mkdir(exist_ok=True)
    wrapper = bindir / "aws"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {shlex.quote(str(AWS_CLI[cli]))} --endpoint-url {shlex.quote(lab.wharf.endpoint)} \"$@\"\n"
    )
    wrapper.chmod(0o755)
    env = {
        **lab.wharf.cli_env(),
        "PATH": f"{bindir}:/usr/bin:/bin",
        "AWS_DEFAULT_REGION": REGION,
        **(extra_env or {}),
    }
    proc = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        env=env,
        cwd=lab.wharf.work,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (
        f"$ {script}\nexit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
    return proc.stdout


class FollowTail:
    """``aws logs tail GROUP --follow`` (CLI v2) in the background, collecting its lines."""

    def __init__(self, lab: Lab, group: str, region: str, *extra: str):
        argv = [
            str(AWS_CLI["v2"]), "logs", "tail", group, "--follow", *extra,
            "--endpoint-url", lab.wharf.endpoint, "--region", region,
        ]
        # The CLI block-buffers stdout into a pipe unless told otherwise.
        env = {**lab.wharf.cli_env(), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            argv, env=env, cwd=lab.wharf.work, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        self.lines: list[str] = []
        self.seen = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.seen:
                self.lines.append(line.rstrip("\n"))
                self.seen.notify_all()

    def wait_for(self, text: str, deadline: float = LOGS_DEADLINE_S) -> bool:
        end = time.monotonic() + deadline
        with self.seen:
            while not any(text in line for line in self.lines):
                left = end - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return False
                self.seen.wait(timeout=min(left, 0.5))
            return True

    def close(self) -> str:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.thread.join(timeout=5)
        return self.proc.stderr.read() if self.proc.stderr else ""


def engine_time(text: str) -> _dt.datetime:
    """A Docker Engine timestamp (RFC 3339 with up to nanoseconds, e.g.
    ``2024-05-01T10:00:01.123456789Z``) as a UTC datetime."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    assert m, f"not an engine timestamp: {text!r}"
    base, fraction, zone = m.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    return _dt.datetime.fromisoformat(f"{base}.{micro}{zone}")


# ---------------------------------------------------------------------------------------
# 1. The seeds' task definitions, as written
# ---------------------------------------------------------------------------------------


def test_seed_002_blog_api_runs_healthy_reachable_and_logs(lab: Lab):
    """Seed 002 with CLI v2: ECR repository and push in ap-northeast-2, the task definition
    registered verbatim (only its image exists now), run-task in the default VPC with a
    public IP; RUNNING, then HEALTHY through the seed's `curl -fsS ... || exit 1` health
    check; /health answers at the public and the private address; `aws logs tail` shows the
    app's output, and `--follow` a line written after it started."""
    w, region, cli = lab.wharf, SEED_002_REGION, "v2"

    # 2) Push the image to ECR, as the seed does (the registry host is wharf's).
    repo = w.aws(
        "ecr", "create-repository", "--repository-name", "blog-api",
        "--image-scanning-configuration", "scanOnPush=true", "--region", region, cli=cli,
    ).json["repository"]
    uri = repo["repositoryUri"]
    login = (
        f"{shlex.quote(str(AWS_CLI[cli]))} ecr get-login-password --region {region} "
        f"--endpoint-url {shlex.quote(w.endpoint)} | "
        f"{shlex.quote(str(lab.docker.binary))} login --username AWS --password-stdin {shlex.quote(uri)}"
    )
    proc = subprocess.run(
        ["bash", "-c", "set -o pipefail; " + login], env={**w.cli_env(), **lab.docker.env()},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0 and "Login Succeeded" in proc.stdout, proc
    for tag in ("v1", "latest"):
        lab.docker.track(f"{uri}:{tag}")
        lab.docker.run("tag", lab.image_8000, f"{uri}:{tag}")
        lab.docker.run("push", f"{uri}:{tag}")

    # 3) The task definition, verbatim from the seed.
    w.put_fixture("blog-api-task-definition.json", "task-definition.json")
    td = w.aws(
        "ecs", "register-task-definition", "--cli-input-json", "file://task-definition.json",
        "--region", region, cli=cli,
    ).json["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/blog-api:v1"

    # 5) The cluster, the default VPC's subnets and a security group for the tasks.
    w.aws("ecs", "create-cluster", "--cluster-name", "blog-cluster", "--region", region, cli=cli)
    vpc_id = w.aws(
        "ec2", "describe-vpcs", "--filters", "Name=isDefault,Values=true", "--query", "Vpcs[0].VpcId",
        "--output", "text", "--region", region, cli=cli,
    ).stdout.strip()
    subnets = w.aws(
        "ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpc_id}",
        "--query", "Subnets[*].SubnetId", "--output", "text", "--region", region, cli=cli,
    ).stdout.split()
    assert len(subnets) >= 2, subnets
    sg = w.aws(
        "ec2", "create-security-group", "--group-name", "blog-api-fargate", "--description", "sg-fargate: only ALB to Fargate",
        "--vpc-id", vpc_id, "--query", "GroupId", "--output", "text", "--region", region, cli=cli,
    ).stdout.strip()
    w.aws(
        "ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "8000",
        "--cidr", "0.0.0.0/0", "--region", region, cli=cli,
    )

    task = w.aws(
        "ecs", "run-task", "--cluster", "blog-cluster", "--task-definition", f"blog-api:{td['revision']}",
        "--launch-type", "FARGATE",
        "--network-configuration",
        f"awsvpcConfiguration={{subnets=[{','.join(subnets)}],securityGroups=[{sg}],assignPublicIp=ENABLED}}",
        "--region", region, cli=cli,
    ).json["tasks"][0]
    arn = lab.track(region, "blog-cluster", task["taskArn"])
    assert task["lastStatus"] == "PROVISIONING" and task["desiredStatus"] == "RUNNING", task
    assert arn.startswith(f"arn:aws:ecs:{region}:{ACCOUNT_ID}:task/blog-cluster/")

    running = lab.wait_running("blog-cluster", [arn], region)[arn]
    # The CLI's own waiter agrees (it returns at its first poll).
    w.aws("ecs", "wait", "tasks-running", "--cluster", "blog-cluster", "--tasks", arn, "--region", region, cli=cli)

    # The public IP, the way seed 003 finds it, and the app on port 8000 at both addresses.
    ip = run_shell(
        lab,
        f"aws ecs list-tasks --cluster blog-cluster --region {region} --query 'taskArns[0]' --output text"
        f" | xargs -I {{}} aws ecs describe-tasks --cluster blog-cluster --region {region} --tasks {{}}"
        " --query 'tasks[0].attachments[0].details[?name==`networkInterfaceId`].value' --output text"
        f" | xargs -I {{}} aws ec2 describe-network-interfaces --region {region} --network-interface-ids {{}}"
        " --query 'NetworkInterfaces[0].Association.PublicIp' --output text",
        cli,
    ).strip()
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("100.64.0.0/16"), ip
    assert wait_http(ip, 8000, "/health") == "ok\n"
    assert wait_http(private_ip(running), 8000, "/health") == "ok\n"
    env = wait_http(ip, 8000, "/env").splitlines()
    assert "ENVIRONMENT=production" in env and "LOG_LEVEL=info" in env, env

    # awslogs-create-group made /ecs/blog-api; tail shows the app's first line.
    stream = f"api/api/{task_id(arn)}"
    wait_log_line(lab, "/ecs/blog-api", stream, "listening on 8000", region)
    out = w.aws("logs", "tail", "/ecs/blog-api", "--since", "5m", "--region", region, cli="v2").stdout
    assert any(line.endswith(f" {stream} listening on 8000") for line in out.splitlines()), out

    follow = FollowTail(lab, "/ecs/blog-api", region, "--since", "5m", "--format", "short")
    try:
        assert follow.wait_for("listening on 8000"), f"tail --follow printed {follow.lines!r}"
        marker = unique("after-follow-started")
        assert http_get(ip, 8000, f"/log?text={marker}")[0] == 200
        # The CLI polls every 5 s.
        assert follow.wait_for(marker), f"tail --follow printed {follow.lines!r}"
    finally:
        errors = follow.close()
    assert "Traceback" not in errors, errors

    # HEALTHY: the first check runs `interval` (10 s) after the start.
    healthy = lab.wait(
        "blog-cluster", [arn], lambda t: t.get("healthStatus") == "HEALTHY", "HEALTHY", region=region,
        hopeless=lambda t: t["lastStatus"] in ENDING or t.get("healthStatus") == "UNHEALTHY",
    )[arn]
    assert container(healthy, "api")["healthStatus"] == "HEALTHY"

    stopped = w.aws("ecs", "stop-task", "--cluster", "blog-cluster", "--task", arn, "--region", region, cli=cli).json["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    done = lab.wait_stopped("blog-cluster", [arn], region)[arn]
    assert done["stopCode"] == "UserInitiated" and container(done, "api")["exitCode"] == 0, summary(done)


def _create_once(wharf: Wharf, cli: str, create: list[str], exists_code: str) -> None:
    """A seed step that the run with the other CLI finds done already (create-log-group,
    create-role): it succeeds, or fails with ``exists_code`` and the seed moves on."""
    result = wharf.aws(*create, cli=cli, check=False)
    if result.returncode != 0:
        assert f"An error occurred ({exists_code})" in result.stderr, result.describe()


def test_seed_003_news_api_runs_and_answers_on_its_public_ip(lab: Lab, cli: str):
    """Seed 003 with both CLIs: the log group created first, the execution role, the task
    definition verbatim, the default VPC's subnets joined with `tr '\\t' ','`, a security
    group; run-task with a public IP; the seed's pipeline finds the public IP and the app
    answers there; its output is in /ecs/news-api."""
    w = lab.wharf
    push = lab.push(lab.image_8000, "news-aggregator-api", "latest")
    assert push == f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/news-aggregator-api:latest"

    w.aws("ecs", "create-cluster", "--cluster-name", "news-api-cluster", "--region", REGION, cli=cli)
    _create_once(
        w, cli, ["logs", "create-log-group", "--log-group-name", "/ecs/news-api", "--region", REGION],
        "ResourceAlreadyExistsException",
    )
    w.put_fixture("ecs-trust-policy.json")
    _create_once(
        w, cli,
        ["iam", "create-role", "--role-name", "ecsTaskExecutionRole",
         "--assume-role-policy-document", "file://ecs-trust-policy.json"],
        "EntityAlreadyExists",
    )
    w.aws("iam", "attach-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-arn", EXECUTION_POLICY_ARN, cli=cli)
    w.put_fixture("news-api-task-definition.json", "task-definition.json")
    td = w.aws(
        "ecs", "register-task-definition", "--cli-input-json", "file://task-definition.json",
        "--region", REGION, cli=cli,
    ).json["taskDefinition"]

    started_by = f"seed-003-{cli}"
    script = f"""
VPC_ID=$(aws ec2 describe-vpcs --filters "Name=isDefault,Values=true" --query 'Vpcs[0].VpcId' --output text)
SUBNET_IDS=$(aws ec2 describe-subnets --filters "Name=vpc-id,Values=$VPC_ID" --query 'Subnets[*].SubnetId' --output text | tr '\\t' ',')
ECS_SG=$(aws ec2 describe-security-groups --filters Name=group-name,Values=news-api-ecs-sg --query 'SecurityGroups[0].GroupId' --output text)
if [ "$ECS_SG" = None ]; then
  ECS_SG=$(aws ec2 create-security-group --group-name news-api-ecs-sg --description "Security group for News API ECS tasks" --vpc-id $VPC_ID --query 'GroupId' --output text)
  # Section 8: port 8000 open to this machine only: its address as a task with a public IP
  # sees it is the public range's gateway (what checkip would answer on AWS).
  MY_IP=100.64.0.1
  aws ec2 authorize-security-group-ingress --group-id $ECS_SG --protocol tcp --port 8000 --cidr $MY_IP/32 >/dev/null
fi
aws ecs run-task \\
    --cluster news-api-cluster \\
    --task-definition news-api-task:{td['revision']} \\
    --count 1 \\
    --launch-type FARGATE \\
    --started-by {started_by} \\
    --network-configuration "awsvpcConfiguration={{subnets=[$SUBNET_IDS],securityGroups=[$ECS_SG],assignPublicIp=ENABLED}}" \\
    --region us-east-1 \\
    --query 'tasks[0].taskArn' --output text
"""
    arn = lab.track(REGION, "news-api-cluster", run_shell(lab, script, cli).strip())
    assert arn.startswith(f"arn:aws:ecs:us-east-1:{ACCOUNT_ID}:task/news-api-cluster/"), arn
    running = lab.wait_running("news-api-cluster", [arn])[arn]

    # "Get a task's public IP", as the seed does it (list-tasks by who started it, as there
    # is no service here).
    task_ip = run_shell(
        lab,
        f"""
TASK_IP=$(aws ecs list-tasks \\
    --cluster news-api-cluster \\
    --started-by {started_by} \\
    --query 'taskArns[0]' \\
    --output text | xargs -I {{}} aws ecs describe-tasks \\
    --cluster news-api-cluster \\
    --tasks {{}} \\
    --query 'tasks[0].attachments[0].details[?name==`networkInterfaceId`].value' \\
    --output text | xargs -I {{}} aws ec2 describe-network-interfaces \\
    --network-interface-ids {{}} \\
    --query 'NetworkInterfaces[0].Association.PublicIp' \\
    --output text)
echo "$TASK_IP"
""",
        cli,
    ).strip()
    assert ipaddress.ip_address(task_ip) in ipaddress.ip_network("100.64.0.0/16"), task_ip
    assert task_ip == public_ip(lab, running)
    assert wait_http(task_ip, 8000, "/health") == "ok\n"
    assert http_get(task_ip, 8000, "/docs")[0] == 404, "the test app has no /docs; it answers"
    env = http_get(task_ip, 8000, "/env")[1].splitlines()
    assert "NEWSAPI_KEY=your-newsapi-key-here" in env, env
    assert any(line.startswith("DATABASE_URL=postgresql://newsadmin:") for line in env), env
    private = private_ip(running)
    assert ipaddress.ip_address(private) in ipaddress.ip_network("172.31.0.0/16"), private
    # The group admits the machine's address on the public side only: its private address
    # is filtered.
    with pytest.raises(OSError):
        http_get(private, 8000, "/health", timeout=2)

    stream = f"ecs/news-api/{task_id(arn)}"
    wait_log_line(lab, "/ecs/news-api", stream, "listening on 8000")
    events = w.aws(
        "logs", "get-log-events", "--log-group-name", "/ecs/news-api", "--log-stream-name", stream,
        "--start-from-head", cli=cli,
    ).json["events"]
    assert events[0]["message"] == "listening on 8000", events[:3]

    w.aws("ecs", "stop-task", "--cluster", "news-api-cluster", "--task", arn, cli=cli)
    done = lab.wait_stopped("news-api-cluster", [arn])[arn]
    assert done["stopCode"] == "UserInitiated", summary(done)


# ---------------------------------------------------------------------------------------
# 2. What DescribeTasks and DescribeNetworkInterfaces say about a task
# ---------------------------------------------------------------------------------------


def test_describe_tasks_and_network_interface_fields(lab: Lab):
    cluster = "fields"
    family = unique("fields")
    td = lab.register(family, [{"name": "web", "command": ["serve", "8080"], "portMappings": [{"containerPort": 8080}]}])
    public = lab.run(cluster, td, public=True)[0]
    private = lab.run(cluster, td, public=False)[0]
    arns = [public["taskArn"], private["taskArn"]]
    for t in (public, private):
        assert t["lastStatus"] == "PROVISIONING" and t["desiredStatus"] == "RUNNING", summary(t)
        assert t["attachments"][0]["status"] == "PRECREATED", t["attachments"]
    tasks = lab.wait_running(cluster, arns)
    subnets, group = lab.network()
    by_id = {s["SubnetId"]: s for s in subnets}

    for arn in arns:
        t = tasks[arn]
        assert (t["lastStatus"], t["desiredStatus"]) == ("RUNNING", "RUNNING")
        assert t["createdAt"] <= t["pullStartedAt"] <= t["pullStoppedAt"] <= t["startedAt"], summary(t)
        assert t["connectivity"] == "CONNECTED" and t["createdAt"] <= t["connectivityAt"] <= t["startedAt"]
        assert (t["cpu"], t["memory"]) == ("256", "512")
        assert t["group"] == f"family:{family}"
        assert t["launchType"] == "FARGATE"
        assert re.fullmatch(r"\d+\.\d+\.\d+", t["platformVersion"]), t["platformVersion"]
        assert t["taskDefinitionArn"] == td
        assert t["clusterArn"] == f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/{cluster}"
        assert re.fullmatch(rf"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task/{cluster}/[0-9a-f]{{32}}", arn)
        assert "stopCode" not in t and "stoppedAt" not in t and "stoppingAt" not in t

        (attachment,) = t["attachments"]
        assert attachment["type"] == "ElasticNetworkInterface" and attachment["status"] == "ATTACHED"
        d = eni_details(t)
        assert set(d) == {"subnetId", "networkInterfaceId", "macAddress", "privateIPv4Address", "privateDnsName"}, d
        subnet = by_id[d["subnetId"]]
        assert t["availabilityZone"] == subnet["AvailabilityZone"]
        ip = d["privateIPv4Address"]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(subnet["CidrBlock"]), (ip, subnet["CidrBlock"])
        assert d["privateDnsName"] == f"ip-{ip.replace('.', '-')}.ec2.internal"
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", d["macAddress"]), d["macAddress"]
        assert re.fullmatch(r"eni-[0-9a-f]{8,17}", d["networkInterfaceId"]), d

        web = container(t, "web")
        assert web["lastStatus"] == "RUNNING" and web["image"] == str(lab.image)
        assert web["networkInterfaces"] == [{"attachmentId": attachment["id"], "privateIpv4Address": ip}]
        assert web["containerArn"].startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:container/{cluster}/{task_id(arn)}/")
        assert web["taskArn"] == arn and web.get("runtimeId")
        engine = lab.inspect(web["runtimeId"])
        assert engine["State"]["Running"] and engine["Config"]["Labels"]["wharf.task-arn"] == arn

        ni = lab.ec2().describe_network_interfaces(NetworkInterfaceIds=[d["networkInterfaceId"]])["NetworkInterfaces"][0]
        assert ni["Status"] == "in-use"
        assert ni["PrivateIpAddress"] == ip and ni["SubnetId"] == d["subnetId"]
        assert ni["MacAddress"] == d["macAddress"] and ni["VpcId"] == subnet["VpcId"]
        assert ni["AvailabilityZone"] == subnet["AvailabilityZone"]
        assert [g["GroupId"] for g in ni["Groups"]] == [group]
        assert ni["InterfaceType"] == "interface" and ni["RequesterManaged"] is True
        assert ni["Description"] == f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:attachment/{attachment['id']}"
        assert wait_http(ip, 8080) == "ok\n"

    pub_ip = public_ip(lab, tasks[public["taskArn"]])
    assert pub_ip and ipaddress.ip_address(pub_ip) in ipaddress.ip_network("100.64.0.0/16"), pub_ip
    assert wait_http(pub_ip, 8080) == "ok\n"
    assert public_ip(lab, tasks[private["taskArn"]]) is None, "assignPublicIp=DISABLED: no Association"
    # The filter the ECS docs use to find tasks' interfaces.
    found = lab.ec2().describe_network_interfaces(
        Filters=[{"Name": "private-ip-address", "Values": [private_ip(tasks[private["taskArn"]])]}]
    )["NetworkInterfaces"]
    assert [n["NetworkInterfaceId"] for n in found] == [eni_details(tasks[private["taskArn"]])["networkInterfaceId"]]

    enis = [eni_details(tasks[a])["networkInterfaceId"] for a in arns]
    stopped = lab.stop(cluster, arns)
    for arn in arns:
        t = stopped[arn]
        assert t["createdAt"] <= t["startedAt"] <= t["stoppingAt"] <= t["stoppedAt"], summary(t)
        assert t["executionStoppedAt"] <= t["stoppedAt"]
        assert t["attachments"][0]["status"] == "DELETED", t["attachments"]
        assert t["connectivity"] == "DISCONNECTED"
        assert lab.task_containers(arn) == []
    for eni in enis:
        with pytest.raises(ClientError) as err:
            lab.ec2().describe_network_interfaces(NetworkInterfaceIds=[eni])
        assert err.value.response["Error"]["Code"] == "InvalidNetworkInterfaceID.NotFound"


# ---------------------------------------------------------------------------------------
# 3-4. How tasks end
# ---------------------------------------------------------------------------------------


def test_exit_paths_essential_sidecar_and_oom(lab: Lab):
    cluster = "exits"
    exits = lab.register(unique("exit3"), [{"name": "app", "command": ["exit", "3"]}])
    sidecar = lab.register(
        unique("sidecar"),
        [
            {"name": "web", "command": ["serve", "8080"]},
            {"name": "side", "command": ["exit", "5"], "essential": False},
        ],
    )
    oom = lab.register(unique("oom"), [{"name": "hog", "command": ["hog", "64"], "memory": 32}])
    a = lab.run(cluster, exits, public=False)[0]["taskArn"]
    b = lab.run(cluster, sidecar, public=False)[0]["taskArn"]
    c = lab.run(cluster, oom, public=False)[0]["taskArn"]

    # The sidecar exits; the task goes on.
    with_sidecar = lab.wait(
        cluster, [b],
        lambda t: t["lastStatus"] == "RUNNING" and container(t, "side")["lastStatus"] == "STOPPED",
        "the non-essential container to stop", hopeless=lambda t: t["lastStatus"] in ENDING,
    )[b]
    assert container(with_sidecar, "side")["exitCode"] == 5, summary(with_sidecar)
    assert with_sidecar["desiredStatus"] == "RUNNING" and "stopCode" not in with_sidecar, summary(with_sidecar)
    assert container(with_sidecar, "web")["lastStatus"] == "RUNNING"
    assert wait_http(private_ip(with_sidecar), 8080) == "ok\n"
    # The agent records an exit and any stop it causes in one write: the task is not
    # stopping now, nor after the HTTP round trip above.
    again = lab.describe(cluster, [b])[b]
    assert again["lastStatus"] == "RUNNING" and again["desiredStatus"] == "RUNNING", summary(again)

    done = lab.wait_stopped(cluster, [a, c])
    t = done[a]
    assert t["stopCode"] == "EssentialContainerExited", summary(t)
    assert t["stoppedReason"] == "Essential container in task exited", summary(t)
    app = container(t, "app")
    assert (app["lastStatus"], app["exitCode"]) == ("STOPPED", 3), summary(t)
    assert t["desiredStatus"] == "STOPPED" and t["stoppingAt"] <= t["stoppedAt"]

    t = done[c]
    assert t["stopCode"] == "EssentialContainerExited", summary(t)
    assert t["stoppedReason"] == "OutOfMemoryError: Container killed due to memory usage", summary(t)
    hog = container(t, "hog")
    assert hog["exitCode"] == 137, summary(t)
    assert hog.get("reason", "").startswith("OutOfMemoryError"), summary(t)
    assert hog.get("memory") == "32"

    stopped = lab.stop(cluster, [b])[b]
    assert stopped["stopCode"] == "UserInitiated"
    assert container(stopped, "side")["exitCode"] == 5 and container(stopped, "web")["exitCode"] == 0
    for arn in (a, b, c):
        assert lab.task_containers(arn) == [], f"containers of {arn} left in the engine"


def test_stop_task_graceful_forced_and_reason(lab: Lab):
    cluster = "stops"
    group = unique("/e2e/stops")
    graceful = lab.register(unique("graceful"), [{"name": "web", "command": ["serve", "8080"]}])
    stubborn = lab.register(
        unique("stubborn"),
        [{
            "name": "sleeper", "command": ["sleep", "--ignore-term"], "stopTimeout": 2,
            "logConfiguration": awslogs(group, "stub"),
        }],
    )
    g = lab.run(cluster, graceful, public=False)[0]["taskArn"]
    s = lab.run(cluster, stubborn, public=False)[0]["taskArn"]
    running = lab.wait_running(cluster, [g, s])
    wait_http(private_ip(running[g]), 8080)
    stream = f"stub/sleeper/{task_id(s)}"
    wait_log_line(lab, group, stream, "sleeping, ignoring SIGTERM")

    # StopTask without a reason: SIGTERM, the server exits 0 at once.
    began = time.monotonic()
    answer = lab.ecs().stop_task(cluster=cluster, task=g)["task"]
    assert answer["desiredStatus"] == "STOPPED" and answer["stoppedReason"] == "Task stopped by user"
    # With a reason, through the CLI; the process ignores SIGTERM: SIGKILL after 2 s.
    reason = "Scaling in: deploying v2"
    cli_answer = lab.wharf.aws("ecs", "stop-task", "--cluster", cluster, "--task", s, "--reason", reason, cli="v1").json["task"]
    assert cli_answer["desiredStatus"] == "STOPPED" and cli_answer["stoppedReason"] == reason

    done = lab.wait_stopped(cluster, [g, s])
    elapsed = time.monotonic() - began
    t = done[g]
    assert (t["stopCode"], t["stoppedReason"]) == ("UserInitiated", "Task stopped by user"), summary(t)
    assert container(t, "web")["exitCode"] == 0, summary(t)
    assert t["stoppingAt"] <= t["stoppedAt"] and t["desiredStatus"] == "STOPPED"

    t = done[s]
    assert (t["stopCode"], t["stoppedReason"]) == ("UserInitiated", reason), summary(t)
    assert container(t, "sleeper")["exitCode"] == 137, summary(t)
    took = (t["stoppedAt"] - t["stoppingAt"]).total_seconds()
    assert 1.5 <= took < 20, f"stopTimeout 2: SIGKILL after ~2 s, the stop took {took:.1f} s"
    assert elapsed < 25, f"both stops took {elapsed:.1f} s (the default stopTimeout is 30 s)"
    messages = stream_messages(lab, group, stream)
    assert "ignoring SIGTERM" in messages, "output written while stopping is shipped too"

    # Stopping again changes nothing and keeps the first reason; an unknown task is an error.
    again = lab.ecs().stop_task(cluster=cluster, task=s, reason="another reason")["task"]
    assert again["lastStatus"] == "STOPPED" and again["stoppedReason"] == reason
    with pytest.raises(ClientError) as err:
        lab.ecs().stop_task(cluster=cluster, task="0123456789abcdef0123456789abcdef")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_stop_task_before_the_task_runs(lab: Lab):
    """StopTask right after RunTask, while the task is still PROVISIONING: it goes to STOPPED
    without ever being RUNNING (no startedAt), and nothing is left in the engine."""
    cluster = "stops-early"
    td = lab.register(unique("early"), [{"name": "web", "command": ["serve", "8080"]}])
    early = lab.run(cluster, td, public=False)[0]["taskArn"]
    answer = lab.ecs().stop_task(cluster=cluster, task=early)["task"]
    t = lab.wait_stopped(cluster, [early])[early]
    assert (t["stopCode"], t["stoppedReason"]) == ("UserInitiated", "Task stopped by user"), summary(t)
    assert lab.task_containers(early) == [], "containers of a task stopped while starting are left"
    if answer["lastStatus"] in ("PROVISIONING", "PENDING"):
        assert "startedAt" not in t, (
            f"stopped while {answer['lastStatus']}, the task never ran, yet it has startedAt "
            f"{t['startedAt']}\n" + summary(t)
        )


# ---------------------------------------------------------------------------------------
# 5. awslogs
# ---------------------------------------------------------------------------------------


def test_awslogs_keeps_every_line_and_missing_group_fails_the_task(lab: Lab):
    cluster = "logs"
    group = unique("/e2e/batch")
    writer = lab.register(
        unique("writer"), [{"name": "writer", "command": ["log", "500"], "logConfiguration": awslogs(group, "batch")}]
    )
    missing_group = unique("/e2e/not-created")
    nogroup = lab.register(
        unique("nogroup"),
        [{"name": "app", "command": ["serve"], "logConfiguration": awslogs(missing_group, "x", create=False)}],
    )
    w = lab.run(cluster, writer, public=False)[0]["taskArn"]
    n = lab.run(cluster, nogroup, public=False)[0]["taskArn"]
    done = lab.wait_stopped(cluster, [w, n])

    t = done[w]
    assert t["stopCode"] == "EssentialContainerExited" and container(t, "writer")["exitCode"] == 0, summary(t)
    streams = lab.logs().describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [f"batch/writer/{task_id(w)}"]
    # Already complete when the task is STOPPED: no line lost on exit.
    messages = stream_messages(lab, group, f"batch/writer/{task_id(w)}")
    stdout = [m for m in messages if m.startswith("line ")]
    assert stdout == [f"line {i} of 500" for i in range(1, 501)], (len(stdout), stdout[:3], stdout[-3:])
    stderr = [m for m in messages if m.startswith("err ")]
    assert sorted(stderr, key=lambda m: int(m.split()[1])) == [f"err {i}" for i in range(10, 501, 10)]
    assert len(messages) == 550, f"{len(messages)} messages"

    t = done[n]
    assert t["stopCode"] == "TaskFailedToStart", summary(t)
    assert t["stoppedReason"].startswith("ResourceInitializationError:"), summary(t)
    assert "log group" in t["stoppedReason"], summary(t)
    assert "startedAt" not in t, "it never ran"
    assert lab.task_containers(n) == [] and lab.task_containers(w) == []
    with pytest.raises(ClientError):
        lab.logs().describe_log_streams(logGroupName=missing_group)


# ---------------------------------------------------------------------------------------
# 6. The task definition is what runs
# ---------------------------------------------------------------------------------------


def test_task_definition_settings_are_honoured(lab: Lab):
    cluster = "settings"
    check = lambda cmd: {"command": cmd, "interval": 5, "timeout": 3, "retries": 2, "startPeriod": 0}  # noqa: E731
    settings = lab.register(
        unique("settings"),
        [
            {
                "name": "app",
                "entryPoint": ["/testapp"],
                "command": ["sleep"],  # replaced by the override
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "workingDirectory": "/tmp",
                "user": "1000:1000",
                "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
                "healthCheck": check(["CMD", "/testapp", "check", "8080"]),
            },
            {
                "name": "ro",
                "entryPoint": ["/bin/sh", "-c"],
                "command": ["exec /testapp serve 8081"],
                "readonlyRootFilesystem": True,
            },
        ],
    )
    deps = lab.register(
        unique("deps"),
        [
            {"name": "init", "command": ["exit", "0"], "essential": False},
            {
                "name": "web",
                "command": ["serve", "8080"],
                "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
                "healthCheck": check(["CMD", "/testapp", "check", "8080"]),
            },
            {
                # Shares the task's network namespace: 127.0.0.1:8080 is the web container.
                "name": "probe",
                "entryPoint": ["/bin/sh", "-c"],
                "command": ["/testapp check 8080 && exec /testapp sleep"],
                "dependsOn": [{"containerName": "web", "condition": "HEALTHY"}],
                "essential": False,
            },
        ],
    )
    sick = lab.register(
        unique("sick"),
        [{"name": "web", "command": ["serve", "8080"], "healthCheck": check(["CMD-SHELL", "/testapp check 9999"])}],
    )
    overrides = {
        "containerOverrides": [
            {
                "name": "app",
                "command": ["serve", "8080"],
                "environment": [{"name": "B", "value": "override"}, {"name": "C", "value": "3"}],
            }
        ]
    }
    a = lab.run(cluster, settings, public=False, overrides=overrides)[0]["taskArn"]
    b = lab.run(cluster, deps, public=False)[0]["taskArn"]
    c = lab.run(cluster, sick, public=False)[0]["taskArn"]

    # Settings: environment (definition, then overrides), command, user, directory, limits.
    t = lab.wait_running(cluster, [a])[a]
    ip = private_ip(t)
    env = wait_http(ip, 8080, "/env").splitlines()
    assert {"A=1", "B=override", "C=3", "AWS_EXECUTION_ENV=AWS_ECS_FARGATE"} <= set(env), env
    assert "B=2" not in env
    info = json.loads(http_get(ip, 8080, "/info")[1])
    assert (info["cwd"], info["uid"], info["gid"]) == ("/tmp", 1000, 1000), info
    assert (info["nofile_soft"], info["nofile_hard"]) == (1024, 2048), info
    assert info["root_writable"] is False, info
    ro = json.loads(wait_http(ip, 8081, "/info"))
    assert (ro["uid"], ro["root_writable"], ro["root_write_error"]) == (0, False, "Read-only file system"), ro
    assert ro["cwd"] == "/"
    healthy = lab.wait(
        cluster, [a], lambda t: t.get("healthStatus") == "HEALTHY", "HEALTHY",
        hopeless=lambda t: t["lastStatus"] in ENDING or t.get("healthStatus") == "UNHEALTHY",
    )[a]
    assert container(healthy, "app")["healthStatus"] == "HEALTHY"
    assert container(healthy, "ro")["healthStatus"] == "UNKNOWN", "no health check"
    (app_override,) = [o for o in healthy["overrides"]["containerOverrides"] if o["name"] == "app"]
    assert app_override["command"] == ["serve", "8080"], healthy["overrides"]

    # dependsOn: web after init's success, probe after web is healthy, over localhost.
    t = lab.wait(
        cluster, [b],
        lambda t: t["lastStatus"] == "RUNNING" and container(t, "probe")["lastStatus"] == "RUNNING",
        "the probe container to start", hopeless=lambda t: t["lastStatus"] in ENDING,
    )[b]
    init, web, probe = (container(t, n) for n in ("init", "web", "probe"))
    assert (init["lastStatus"], init["exitCode"]) == ("STOPPED", 0), summary(t)
    assert t["desiredStatus"] == "RUNNING", "a non-essential container's exit does not stop the task"
    engine = {n: lab.inspect(x["runtimeId"])["State"] for n, x in (("init", init), ("web", web), ("probe", probe))}
    assert engine_time(engine["web"]["StartedAt"]) > engine_time(engine["init"]["FinishedAt"]), engine
    waited = engine_time(engine["probe"]["StartedAt"]) - engine_time(engine["web"]["StartedAt"])
    assert waited.total_seconds() >= 4, (
        "the probe waited for web's first successful health check (interval 5 s)", engine,
    )
    assert engine["probe"]["Running"], "check 8080 against 127.0.0.1 succeeded"
    assert container(t, "web")["healthStatus"] == "HEALTHY"

    # A failing health check: container and task UNHEALTHY; a standalone task keeps running.
    t = lab.wait(
        cluster, [c], lambda t: t.get("healthStatus") == "UNHEALTHY", "UNHEALTHY",
        hopeless=lambda t: t["lastStatus"] in ENDING,
    )[c]
    assert container(t, "web")["healthStatus"] == "UNHEALTHY" and t["lastStatus"] == "RUNNING", summary(t)

    done = lab.stop(cluster, [a, b, c])
    assert container(done[b], "probe")["exitCode"] == 0, summary(done[b])


# ---------------------------------------------------------------------------------------
# 7. Bad input
# ---------------------------------------------------------------------------------------


def test_run_task_refuses_bad_input(lab: Lab, cli: str):
    w = lab.wharf
    cluster = lab.cluster(f"bad-input-{cli}")
    family = f"bad-input-{cli}"
    lab.register(family, [{"name": "app", "command": ["serve"]}])
    subnets, group = lab.network()
    network = f"awsvpcConfiguration={{subnets=[{subnets[0]['SubnetId']}],securityGroups=[{group}],assignPublicIp=ENABLED}}"
    base = ["ecs", "run-task", "--cluster", cluster, "--task-definition", family, "--launch-type", "FARGATE"]

    out = w.aws_error(
        "InvalidParameterException", *base,
        "--network-configuration", "awsvpcConfiguration={subnets=[subnet-0badbadbadbadbad0],assignPublicIp=ENABLED}",
        cli=cli,
    )
    assert "subnet-0badbadbadbadbad0" in out.stderr
    out = w.aws_error(
        "InvalidParameterException", *base, "--network-configuration", network,
        "--overrides", json.dumps({"containerOverrides": [{"name": "ghost", "command": ["exit", "0"]}]}), cli=cli,
    )
    assert "ghost" in out.stderr
    out = w.aws_error(
        "InvalidParameterException", *base, "--network-configuration", network,
        "--overrides", json.dumps({"cpu": "256", "memory": "4096"}), cli=cli,
    )
    assert "Fargate" in out.stderr
    w.aws_error("InvalidParameterException", *base, "--network-configuration", network, "--count", "11", cli=cli)
    out = w.aws_error("InvalidParameterException", *base, cli=cli)
    assert "network" in out.stderr.lower()
    out = w.aws_error(
        "InvalidParameterException",
        "ecs", "run-task", "--cluster", cluster, "--task-definition", "no-such-family:1", "--launch-type", "FARGATE",
        "--network-configuration", network, cli=cli,
    )
    assert "TaskDefinition not found" in out.stderr

    for status in ("RUNNING", "STOPPED"):
        listed = w.aws("ecs", "list-tasks", "--cluster", cluster, "--desired-status", status, cli=cli).json
        assert listed["taskArns"] == [], f"a refused run-task left a {status} task: {listed}"
    cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/{cluster}"
    assert lab.containers(f"wharf.cluster={cluster_arn}") == []


def test_images_that_cannot_be_pulled_fail_the_task(lab: Lab):
    cluster = "pulls"
    registry = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com"
    no_tag = lab.register(unique("notag"), [{"name": "app", "image": f"{registry}/testapp:nope"}])
    no_repo = lab.register(unique("norepo"), [{"name": "app", "image": f"{registry}/no-such-repository:latest"}])
    mixed = lab.register(
        unique("mixed"),
        [
            {"name": "good", "command": ["serve", "8080"]},
            {"name": "bad", "image": f"{registry}/testapp:nope", "essential": False},
        ],
    )
    arns = [lab.run(cluster, td, public=False)[0]["taskArn"] for td in (no_tag, no_repo, mixed)]
    done = lab.wait_stopped(cluster, arns)
    for arn in arns:
        t = done[arn]
        assert t["stopCode"] == "TaskFailedToStart", summary(t)
        assert t["stoppedReason"].startswith("CannotPullContainerError:"), summary(t)
        assert "startedAt" not in t, summary(t)
        assert t["pullStartedAt"] <= t["pullStoppedAt"] <= t["stoppedAt"], summary(t)
        assert lab.task_containers(arn) == [], f"containers of {arn} left in the engine"
        eni = eni_details(t).get("networkInterfaceId")
        if eni:
            with pytest.raises(ClientError):
                lab.ec2().describe_network_interfaces(NetworkInterfaceIds=[eni])
    bad = container(done[arns[2]], "bad")
    assert bad.get("reason", "").startswith("CannotPullContainerError:"), summary(done[arns[2]])
    assert "testapp:nope" in done[arns[0]]["stoppedReason"]


# ---------------------------------------------------------------------------------------
# 8. ListTasks
# ---------------------------------------------------------------------------------------


def test_list_tasks_filters_and_pages(lab: Lab):
    cluster = "listing"
    fam_a, fam_b = unique("list-a"), unique("list-b")
    td_a = lab.register(fam_a, [{"name": "app", "command": ["sleep"]}])
    td_b = lab.register(fam_b, [{"name": "app", "command": ["sleep"]}])
    a = [t["taskArn"] for t in lab.run(cluster, td_a, public=False, count=3, startedBy="batch-1")]
    b = [t["taskArn"] for t in lab.run(cluster, td_b, public=False, startedBy="batch-2")]
    lab.wait_running(cluster, a + b)
    stopped = a[0]
    lab.stop(cluster, [stopped])
    ecs = lab.ecs()

    def listed(**kwargs) -> set[str]:
        return set(ecs.list_tasks(cluster=cluster, **kwargs)["taskArns"])

    assert listed() == set(a[1:] + b), "RUNNING only by default"
    assert listed(desiredStatus="RUNNING") == set(a[1:] + b)
    assert listed(desiredStatus="STOPPED") == {stopped}
    assert listed(family=fam_a) == set(a[1:])
    assert listed(family=fam_b) == set(b)
    assert listed(family=fam_a, desiredStatus="STOPPED") == {stopped}
    assert listed(startedBy="batch-1") == set(a[1:])
    assert listed(startedBy="batch-2") == set(b)
    assert listed(startedBy="nobody") == set()
    assert listed(launchType="FARGATE") == set(a[1:] + b)

    first = ecs.list_tasks(cluster=cluster, maxResults=2)
    assert len(first["taskArns"]) == 2 and first.get("nextToken"), first
    rest = ecs.list_tasks(cluster=cluster, maxResults=2, nextToken=first["nextToken"])
    assert len(rest["taskArns"]) == 1 and not rest.get("nextToken"), rest
    pages = list(ecs.get_paginator("list_tasks").paginate(cluster=cluster, PaginationConfig={"PageSize": 1}))
    assert [len(p["taskArns"]) for p in pages] == [1, 1, 1], pages
    assert {arn for p in pages for arn in p["taskArns"]} == set(a[1:] + b)

    out = lab.wharf.aws("ecs", "list-tasks", "--cluster", cluster, "--desired-status", "STOPPED", cli="v2").json
    assert out["taskArns"] == [stopped]

    lab.stop(cluster, a[1:] + b)
    assert listed() == set()
    assert listed(desiredStatus="STOPPED") == set(a + b)


# ---------------------------------------------------------------------------------------
# 9. Restarts (last: they restart the module's server)
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Runtime secrets and identity (issue 7)
# ---------------------------------------------------------------------------------------

TASK_ROLE_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})

# Run inside the Python image: what the SDK sees, with no configuration at all.
IDENTITY_SCRIPT = r"""
import json, os, sys, urllib.request
import boto3
print("ENV", json.dumps({k: v for k, v in os.environ.items() if k.startswith(("AWS_", "ECS_"))}), flush=True)
meta = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
if meta:
    task = json.load(urllib.request.urlopen(meta + "/task", timeout=10))
    me = json.load(urllib.request.urlopen(meta, timeout=10))
    print("META", json.dumps({"task": task, "container": me}), flush=True)
try:
    who = boto3.client("sts").get_caller_identity()["Arn"]
    value = boto3.client("ssm").get_parameter(Name=sys.argv[1], WithDecryption=True)["Parameter"]["Value"]
    print("CALLED", json.dumps({"arn": who, "value": value}), flush=True)
except Exception as e:
    print("FAILED", type(e).__name__, str(e), flush=True)
"""


def credentials_url(env: dict) -> str:
    """Where the SDKs fetch a task's role credentials: the relative URI on
    169.254.170.2:80, or the full URI when the task endpoint had to take another port
    (another wharf on this machine holds 80)."""
    if "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" in env:
        return "http://169.254.170.2" + env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
    return env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]


@pytest.fixture(scope="module")
def python_image(lab: Lab, tmp_path_factory) -> str:
    from pyimage import build_python_image

    local = build_python_image(lab.docker, tmp_path_factory.mktemp("pyimage"))
    return lab.push(local, "pyapp", "latest")


def test_secrets_are_injected_and_never_shown(lab: Lab):
    secret_value = f"pw-{uuid.uuid4().hex}"
    api_key = f"key-{uuid.uuid4().hex}"
    sm = lab.client("secretsmanager")
    ssm = lab.client("ssm")
    name = unique("db")
    secret_arn = sm.create_secret(
        Name=name, SecretString=json.dumps({"username": "app", "password": secret_value})
    )["ARN"]
    param = f"/{unique('app')}/api-key"
    ssm.put_parameter(Name=param, Value=api_key, Type="SecureString")
    param_arn = ssm.get_parameter(Name=param)["Parameter"]["ARN"]
    family = unique("secrets")
    td = lab.register(family, [{
        "name": "app",
        "command": ["serve"],
        "environment": [{"name": "PLAIN", "value": "visible-in-describe"}],
        "secrets": [
            {"name": "DB_PASSWORD", "valueFrom": f"{secret_arn}:password::"},
            {"name": "DB_USER", "valueFrom": f"{secret_arn}:username::"},
            {"name": "API_KEY", "valueFrom": param_arn},
            {"name": "API_KEY_BY_NAME", "valueFrom": param},
        ],
    }])
    cluster = unique("sec")
    arn = lab.run(cluster, td)[0]["taskArn"]
    task = lab.wait_running(cluster, [arn])[arn]
    env = dict(
        line.split("=", 1)
        for line in wait_http(private_ip(task), 8080, "/env").splitlines()
        if "=" in line
    )
    assert env["DB_PASSWORD"] == secret_value
    assert env["DB_USER"] == "app"
    assert env["API_KEY"] == api_key
    assert env["API_KEY_BY_NAME"] == api_key
    assert env["PLAIN"] == "visible-in-describe"

    # The seeds' warning: environment values show in describe-task-definition, secrets do not.
    described = lab.wharf.aws("ecs", "describe-task-definition", "--task-definition", td).stdout
    assert "visible-in-describe" in described
    tasks_out = lab.wharf.aws("ecs", "describe-tasks", "--cluster", cluster, "--tasks", arn).stdout
    for text in (described, tasks_out, lab.wharf.log_text()):
        assert secret_value not in text and api_key not in text
    assert f"{secret_arn}:password::" in described
    lab.stop(cluster, [arn])


def test_unreadable_secrets_and_missing_execution_roles_fail_as_fargate_does(lab: Lab):
    family = unique("badsecret")
    missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:nope-AbCdEf"
    td = lab.register(family, [{"name": "app", "command": ["serve"],
                                "secrets": [{"name": "X", "valueFrom": missing}]}])
    cluster = unique("badsec")
    arn = lab.run(cluster, td)[0]["taskArn"]
    task = lab.wait_stopped(cluster, [arn])[arn]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secret from asm: service call has been "
        f"retried 1 time(s): failed to fetch secret {missing} from secrets manager: "
        "ResourceNotFoundException: Secrets Manager can't find the specified secret."
    )
    assert lab.task_containers(arn, all_states=True) == []

    param = f"/{unique('none')}/here"
    td = lab.register(unique("badparam"), [{"name": "app", "command": ["serve"],
                                             "secrets": [{"name": "X", "valueFrom": param}]}])
    arn = lab.run(cluster, td)[0]["taskArn"]
    task = lab.wait_stopped(cluster, [arn])[arn]
    assert task["stoppedReason"].endswith(f"invalid ssm parameters: {param}"), task["stoppedReason"]

    # Secrets without an execution role: refused at registration, as ECS does.
    ecs = lab.ecs()
    with pytest.raises(ClientError) as refused:
        ecs.register_task_definition(
            family=unique("noexec"), networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": str(lab.image),
                                   "secrets": [{"name": "X", "valueFrom": param}]}],
        )
    assert refused.value.response["Error"]["Code"] == "ClientException"
    assert "executionRoleArn" in refused.value.response["Error"]["Message"]
    # An ECR image without an execution role cannot be pulled.
    td = ecs.register_task_definition(
        family=unique("noexec"), networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": str(lab.image), "command": ["serve"]}],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = lab.run(cluster, td)[0]["taskArn"]
    task = lab.wait_stopped(cluster, [arn])[arn]
    assert task["stoppedReason"].startswith("CannotPullContainerError:"), task["stoppedReason"]


def test_task_role_credentials_and_metadata_inside_the_task(lab: Lab, python_image: str):
    iam = lab.client("iam")
    role_name = unique("app-task-role")
    role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TASK_ROLE_TRUST)["Role"]["Arn"]
    param = f"/{unique('cfg')}/greeting"
    lab.client("ssm").put_parameter(Name=param, Value="hello from ssm", Type="SecureString")
    group = f"/ecs/{unique('identity')}"
    ecs = lab.ecs()
    results = {}
    for with_role in (True, False):
        family = unique("identity")
        extra = {"taskRoleArn": role_arn} if with_role else {}
        td = ecs.register_task_definition(
            family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512", executionRoleArn=EXECUTION_ROLE, **extra,
            containerDefinitions=[{
                "name": "app", "image": python_image, "essential": True,
                "command": ["python3", "-c", IDENTITY_SCRIPT, param],
                "logConfiguration": awslogs(group, family),
            }],
        )["taskDefinition"]["taskDefinitionArn"]
        cluster = unique("identity")
        arn = lab.run(cluster, td)[0]["taskArn"]
        task = lab.wait_stopped(cluster, [arn], deadline=180)[arn]
        assert container(task, "app")["exitCode"] == 0, summary(task)
        stream = f"{family}/app/{task_id(arn)}"
        lines = wait_log_line(lab, group, stream, "CALLED" if with_role else "FAILED")
        results[with_role] = {l.split(" ", 1)[0]: l.split(" ", 1)[1] for l in lines if " " in l}

    mine = results[True]
    env = json.loads(mine["ENV"])
    assert credentials_url(env).startswith("http://169.254.170.2")
    called = json.loads(mine["CALLED"])
    assert called["value"] == "hello from ssm"
    assert re.fullmatch(
        rf"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/[0-9a-f]{{32}}", called["arn"]
    ), called
    meta = json.loads(mine["META"])
    assert meta["task"]["TaskARN"].startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task/")
    assert meta["task"]["LaunchType"] == "FARGATE"
    assert meta["task"]["Limits"] == {"CPU": 0.25, "Memory": 512}
    assert meta["task"]["Containers"][0]["Name"] == "app"
    assert meta["container"]["Networks"][0]["NetworkMode"] == "awsvpc"
    assert meta["container"]["Networks"][0]["IPv4Addresses"][0].startswith("172.31.")
    assert meta["container"]["LogDriver"] == "awslogs"

    # Without a task role: no credentials, and the SDK says so.
    theirs = results[False]
    assert not any(k.startswith("AWS_CONTAINER_CREDENTIALS") for k in json.loads(theirs["ENV"]))
    assert theirs["FAILED"].startswith("NoCredentialsError"), theirs


def test_task_role_credentials_are_served_rotate_and_need_their_token(lab: Lab):
    iam = lab.client("iam")
    role_name = unique("svc-role")
    role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TASK_ROLE_TRUST)["Role"]["Arn"]
    family = unique("creds")
    td = lab.ecs().register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512", executionRoleArn=EXECUTION_ROLE, taskRoleArn=role_arn,
        containerDefinitions=[{"name": "app", "image": str(lab.image), "essential": True,
                               "command": ["serve"]}],
    )["taskDefinition"]["taskDefinitionArn"]
    cluster = unique("creds")
    arn = lab.run(cluster, td)[0]["taskArn"]
    task = lab.wait_running(cluster, [arn])[arn]
    env = dict(
        line.split("=", 1)
        for line in wait_http(private_ip(task), 8080, "/env").splitlines()
        if "=" in line
    )
    url = credentials_url(env)
    base = env["AWS_ENDPOINT_URL"]
    # What the SDKs fetch (the task endpoint is reachable from this machine too).
    with urllib.request.urlopen(url, timeout=10) as answer:
        creds = json.load(answer)
    assert set(creds) == {"RoleArn", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    assert creds["RoleArn"] == role_arn and creds["AccessKeyId"].startswith("ASIA")
    expires = _dt.datetime.strptime(creds["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
    left = expires - _dt.datetime.now(_dt.timezone.utc)
    assert _dt.timedelta(hours=5) < left <= _dt.timedelta(hours=6), left
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert json.load(answer)["AccessKeyId"] == creds["AccessKeyId"], "rotated within the hour"

    import boto3

    def sts(token):
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=token, region_name=REGION,
        )
        return session.client("sts", endpoint_url=lab.wharf.endpoint)

    who = sts(creds["Token"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/{task_id(arn)}"
    for token in (None, creds["Token"][:-4] + "AAAA"):
        with pytest.raises(ClientError) as refused:
            sts(token).get_caller_identity()
        assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
    # Unknown ids get the ECS agent's answer; once the task stops its credentials are not served.
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{base}/v2/credentials/not-a-task", timeout=10)
    assert missing.value.code == 400
    lab.stop(cluster, [arn])
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(url, timeout=10)
    assert gone.value.code == 400


def test_restart_adopts_running_tasks(lab: Lab):
    """kill -9 and start on the same data directory: a running task is adopted (same
    containers, still answering, its log stream resumed without duplicates, output written
    while wharf was down included); a task whose essential container exited while wharf was
    down is stopped for that exit."""
    cluster = "restart"
    group = unique("/e2e/adopt")
    td = lab.register(unique("adopt"), [{"name": "web", "command": ["serve", "8080"], "logConfiguration": awslogs(group, "web")}])
    arn, dies = (t["taskArn"] for t in lab.run(cluster, td, public=False, count=2))
    before = lab.wait_running(cluster, [arn, dies])
    ip, dies_ip = private_ip(before[arn]), private_ip(before[dies])
    stream, dies_stream = f"web/web/{task_id(arn)}", f"web/web/{task_id(dies)}"
    assert wait_http(ip, 8080) == "ok\n" and wait_http(dies_ip, 8080) == "ok\n"
    assert http_get(ip, 8080, "/log?text=before-restart")[0] == 200
    wait_log_line(lab, group, stream, "before-restart")
    engine_before = sorted(c["ID"] for c in lab.task_containers(arn))
    assert len(engine_before) == 2, "the sandbox and the container"

    lab.wharf.server.kill()  # kill -9
    # While wharf is down: one task writes a line, the other's essential container exits.
    assert http_get(ip, 8080, "/log?text=while-wharf-was-down")[0] == 200
    assert http_get(dies_ip, 8080, "/exit?code=4")[0] == 200
    lab.wharf.start()  # the same data directory

    after = lab.describe(cluster, [arn])[arn]
    assert after["lastStatus"] == "RUNNING" and after["desiredStatus"] == "RUNNING", summary(after)
    assert container(after, "web")["runtimeId"] == container(before[arn], "web")["runtimeId"]
    assert private_ip(after) == ip
    assert http_get(ip, 8080, "/log?text=after-restart")[0] == 200
    messages = wait_log_line(lab, group, stream, "after-restart")
    # The new agent has adopted the task (its log pump runs): nothing duplicated or replaced.
    assert sorted(c["ID"] for c in lab.task_containers(arn)) == engine_before
    assert lab.describe(cluster, [arn])[arn]["lastStatus"] == "RUNNING"
    assert wait_http(ip, 8080) == "ok\n"
    for line in ("listening on 8080", "before-restart", "while-wharf-was-down", "after-restart"):
        assert messages.count(line) == 1, (f"{line!r} should be in the stream once", messages)

    gone = lab.wait_stopped(cluster, [dies])[dies]
    assert gone["stopCode"] == "EssentialContainerExited", summary(gone)
    assert gone["stoppedReason"] == "Essential container in task exited", summary(gone)
    assert container(gone, "web")["exitCode"] == 4, summary(gone)
    assert "exiting with 4" in stream_messages(lab, group, dies_stream)
    assert lab.task_containers(dies) == []

    done = lab.stop(cluster, [arn])[arn]
    assert done["stopCode"] == "UserInitiated" and container(done, "web")["exitCode"] == 0, summary(done)
    assert lab.task_containers(arn) == []


def test_restart_stops_tasks_whose_containers_vanished(lab: Lab):
    cluster = "vanish"
    td = lab.register(unique("vanish"), [{"name": "web", "command": ["serve", "8080"]}])
    arn = lab.run(cluster, td, public=False)[0]["taskArn"]
    lab.wait_running(cluster, [arn])
    assert lab.task_containers(arn)

    _, killed = lab.wharf.stop()
    assert not killed, "wharf ignored SIGTERM"
    for c in lab.task_containers(arn):
        lab.docker.run("rm", "-f", c["ID"])
    assert lab.task_containers(arn) == []
    lab.wharf.start()

    t = lab.wait_stopped(cluster, [arn])[arn]
    reason = t["stoppedReason"]
    assert "containers were not found" in reason and "restart" in reason, summary(t)
    assert t["desiredStatus"] == "STOPPED" and t["stopCode"] != "UserInitiated", summary(t)
    assert lab.task_containers(arn) == []


def test_no_container_of_this_wharf_is_left(lab: Lab):
    """Every test stopped what it started: the engine holds nothing of this wharf's."""
    left = lab.containers()
    assert left == [], [f"{c['Names']} ({c['Status']})" for c in left]
    for item in lab.launched:
        task = lab.describe(item.cluster, [item.arn], item.region)[item.arn]
        assert task["lastStatus"] == TERMINAL, summary(task)
