"""The ECS service lab the service tests share (test_ecs_services.py, test_autoscaling_load.py):
one wharf, one pushed test image, one cluster and one load balancer in the default VPC; each
test makes its own target groups, listeners, task definitions and services through ``Lab``,
and drives traffic through a listener with ``Load`` (bounded in requests and time).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from testapp import TestappImage, push_testapp
from wharf_e2e import (
    ACCOUNT_ID,
    admit_listener_clients,
    FAST_TARGET_HEALTH,
    DockerCli,
    Ecr,
    Wharf,
    free_port,
    private_ip,
    remove_task_containers,
    task_id,
    wharf_binary,
)

REGION = "us-east-1"
CLUSTER = "svc-e2e"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/ecsTaskExecutionRole"
# The test app's default port (testapp.py TESTAPP_PORT).
APP_PORT = 8080
APP = "app"

# Deadlines for a slow, shared 2-core machine.
STEADY_DEADLINE_S = 180.0
STOP_DEADLINE_S = 120.0
HTTP_TIMEOUT_S = 20.0
POLL_S = 0.5

DEREGISTRATION_DELAY_S = 5

BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
# Task states at or after which a task is no longer in service.
ENDING = {"DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def summary(task: dict) -> str:
    return (
        f"task {task_id(task['taskArn'])}: {task.get('lastStatus')}/{task.get('desiredStatus')} "
        f"td={task.get('taskDefinitionArn', '').rsplit('/', 1)[-1]} startedBy={task.get('startedBy')} "
        f"az={task.get('availabilityZone')} stopCode={task.get('stopCode')} "
        f"stoppedReason={task.get('stoppedReason')!r}"
    )


def service_summary(svc: dict) -> str:
    lines = [
        f"service {svc.get('serviceName')}: status={svc.get('status')} desired={svc.get('desiredCount')} "
        f"running={svc.get('runningCount')} pending={svc.get('pendingCount')} "
        f"td={svc.get('taskDefinition', '').rsplit('/', 1)[-1]}"
    ]
    for d in svc.get("deployments", []):
        lines.append(
            f"  deployment {d.get('id')} {d.get('status')} td={d.get('taskDefinition', '').rsplit('/', 1)[-1]} "
            f"desired={d.get('desiredCount')} running={d.get('runningCount')} pending={d.get('pendingCount')} "
            f"failed={d.get('failedTasks')} rollout={d.get('rolloutState')} ({d.get('rolloutStateReason')!r})"
        )
    for e in svc.get("events", [])[:15]:
        lines.append(f"  event: {e.get('message')}")
    return "\n".join(lines)


def primary(svc: dict) -> dict:
    found = [d for d in svc["deployments"] if d["status"] == "PRIMARY"]
    assert len(found) == 1, service_summary(svc)
    return found[0]


def event_messages(svc: dict) -> list[str]:
    return [e["message"] for e in svc.get("events", [])]


def event_count_sum(messages: list[str], pattern: str) -> int:
    """Sum of the N in every message matching ``pattern`` (a regex with one ``(\\d+)``)."""
    total = 0
    for m in messages:
        found = re.search(pattern, m)
        if found:
            total += int(found.group(1))
    return total


# ---------------------------------------------------------------------------------------
# Traffic through the listener
# ---------------------------------------------------------------------------------------


@dataclass
class Answer:
    at: float
    status: int | None
    name: str | None
    host: str | None
    error: str | None = None


def lb_get(port: int, host: str, path: str = "/", conn: http.client.HTTPConnection | None = None) -> Answer:
    """One GET through the listener on 127.0.0.1:PORT with the load balancer's Host."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        name = hostname = None
        if response.status == 200 and path == "/":
            try:
                data = json.loads(body)
                name, hostname = data.get("name"), data.get("hostname")
            except ValueError:
                pass
        error = None if response.status == 200 else body[:200]
        return Answer(time.monotonic(), response.status, name, hostname, error)
    finally:
        if own:
            conn.close()


class Load:
    """Bounded continuous GET / traffic through a listener: ``threads`` clients, half of them
    on one keep-alive connection, the others on a fresh connection per request; each stops
    after ``max_requests`` requests, ``max_seconds`` or ``stop()``.

    On a reused keep-alive connection, a request that finds the connection already closed by
    the load balancer (no status line at all) is retried once on a fresh connection, as every
    HTTP client does for an idempotent request; the retry must succeed. Such retries are
    counted in ``stale_retries``."""

    def __init__(self, port: int, host: str, threads: int = 3, max_requests: int = 3000,
                 max_seconds: float = 240.0, pause: float = 0.02):
        self.port, self.host = port, host
        self.max_requests, self.max_seconds, self.pause = max_requests, max_seconds, pause
        self.answers: list[Answer] = []
        self.stale_retries = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i % 2 == 0,), daemon=True, name=f"load-{i}")
            for i in range(threads)
        ]

    def start(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> list[Answer]:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=HTTP_TIMEOUT_S + 10)
        assert not any(t.is_alive() for t in self._threads), "load threads did not stop"
        return self.answers

    def _record(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def _run(self, keep_alive: bool) -> None:
        end = time.monotonic() + self.max_seconds
        conn = None
        for _ in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() >= end:
                break
            if not keep_alive:
                self._record(self._fresh())
            else:
                reused = conn is not None
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S)
                try:
                    self._record(lb_get(self.port, self.host, "/", conn))
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                    conn.close()
                    conn = None
                    if reused:
                        with self._lock:
                            self.stale_retries += 1
                        self._record(self._fresh())
                    else:
                        self._record(Answer(time.monotonic(), None, None, None, repr(exc)))
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = None
                    self._record(Answer(time.monotonic(), None, None, None, repr(exc)))
            time.sleep(self.pause)
        if conn is not None:
            conn.close()

    def _fresh(self) -> Answer:
        try:
            return lb_get(self.port, self.host, "/")
        except (OSError, http.client.HTTPException) as exc:
            return Answer(time.monotonic(), None, None, None, repr(exc))

    @staticmethod
    def failures(answers: list[Answer]) -> list[Answer]:
        return [a for a in answers if a.status != 200]

    @staticmethod
    def describe(answers: list[Answer]) -> str:
        failed = Load.failures(answers)
        names: dict[str, int] = {}
        for a in answers:
            names[str(a.name)] = names.get(str(a.name), 0) + 1
        text = f"{len(answers)} requests, {len(failed)} failed, answered by NAME: {names}"
        if failed:
            t0 = answers[0].at if answers else 0
            text += "\nfirst failures:\n" + "\n".join(
                f"  +{a.at - t0:.1f}s status={a.status} error={a.error!r}" for a in failed[:10]
            )
        return text


# ---------------------------------------------------------------------------------------
# The shared lab
# ---------------------------------------------------------------------------------------


@dataclass
class Listener:
    tg: str
    port: int


@dataclass(repr=False)
class Lab:
    wharf: Wharf
    docker: DockerCli
    image: TestappImage
    instance_id: str
    vpc_id: str
    # Two subnets of the default VPC in two Availability Zones: {"SubnetId", "AvailabilityZone"}.
    subnets: list[dict]
    security_group: str
    lb_arn: str
    lb_dns: str
    # The cluster the services run in.
    cluster: str = CLUSTER
    # Services created by the running test, for its clean-up.
    services: list[str] = field(default_factory=list)
    _clients: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Lab(wharf={self.wharf.endpoint}, instance={self.instance_id})"

    # -- clients (rebuilt when a restart moved the endpoint) ------------------------------

    def client(self, service: str):
        key = (service, self.wharf.endpoint)
        if key not in self._clients:
            self._clients[key] = self.wharf.boto3_client(service, region=REGION)
        return self._clients[key]

    @property
    def ecs(self):
        return self.client("ecs")

    @property
    def elbv2(self):
        return self.client("elbv2")

    # -- network ----------------------------------------------------------------------------

    @property
    def subnet_ids(self) -> list[str]:
        return [s["SubnetId"] for s in self.subnets]

    def awsvpc(self) -> dict:
        return {
            "awsvpcConfiguration": {
                "subnets": self.subnet_ids,
                "securityGroups": [self.security_group],
                "assignPublicIp": "ENABLED",
            }
        }

    def cli_network(self) -> str:
        return (
            f"awsvpcConfiguration={{subnets=[{','.join(self.subnet_ids)}],"
            f"securityGroups=[{self.security_group}],assignPublicIp=ENABLED}}"
        )

    # -- task definitions -------------------------------------------------------------------

    def register(self, family: str, name: str = "v1", image: str | None = None,
                 command: list[str] | None = None, stop_timeout: int | None = None) -> str:
        """A Fargate task definition of one essential container ``app`` (the test image,
        port 8080, ``NAME`` set to ``name``); returns the revision's ARN."""
        container: dict[str, Any] = {
            "name": APP,
            "image": image or str(self.image),
            "essential": True,
            "portMappings": [{"containerPort": APP_PORT, "protocol": "tcp"}],
            "environment": [{"name": "NAME", "value": name}],
        }
        if command is not None:
            container["command"] = command
        if stop_timeout is not None:
            container["stopTimeout"] = stop_timeout
        return self.ecs.register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            executionRoleArn=EXECUTION_ROLE,
            containerDefinitions=[container],
        )["taskDefinition"]["taskDefinitionArn"]

    # -- load balancing -------------------------------------------------------------------

    def target_group(self, name: str, with_listener: bool = True) -> Listener | str:
        tg = self.elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=APP_PORT, VpcId=self.vpc_id, TargetType="ip", **FAST_TARGET_HEALTH
        )["TargetGroups"][0]["TargetGroupArn"]
        self.elbv2.modify_target_group_attributes(
            TargetGroupArn=tg,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(DEREGISTRATION_DELAY_S)}],
        )
        if not with_listener:
            return tg
        port = free_port()
        self.elbv2.create_listener(
            LoadBalancerArn=self.lb_arn, Protocol="HTTP", Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
        )
        return Listener(tg, port)

    def target_health(self, tg: str) -> dict[tuple[str, int], dict]:
        described = self.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        return {(d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"] for d in described}

    def healthy_ips(self, tg: str) -> set[str]:
        return {ip for (ip, _), h in self.target_health(tg).items() if h["State"] == "healthy"}

    def get(self, listener: Listener, path: str = "/") -> Answer:
        return lb_get(listener.port, self.lb_dns, path)

    # -- services -----------------------------------------------------------------------------

    def create_service(self, name: str, task_definition: str, desired: int,
                       listener: Listener | None = None, *, rollback: bool = True,
                       breaker: bool = True, maximum: int = 200, minimum: int = 100,
                       grace: int = 20) -> dict:
        kwargs: dict[str, Any] = {}
        if listener is not None:
            kwargs["loadBalancers"] = [
                {"targetGroupArn": listener.tg, "containerName": APP, "containerPort": APP_PORT}
            ]
            kwargs["healthCheckGracePeriodSeconds"] = grace
        self.services.append(name)
        return self.ecs.create_service(
            cluster=self.cluster,
            serviceName=name,
            taskDefinition=task_definition,
            desiredCount=desired,
            launchType="FARGATE",
            networkConfiguration=self.awsvpc(),
            deploymentConfiguration={
                "maximumPercent": maximum,
                "minimumHealthyPercent": minimum,
                "deploymentCircuitBreaker": {"enable": breaker, "rollback": rollback},
            },
            **kwargs,
        )["service"]

    def describe(self, name: str) -> dict:
        out = self.ecs.describe_services(cluster=self.cluster, services=[name])
        assert not out.get("failures"), out
        return out["services"][0]

    def task_arns(self, name: str | None = None, started_by: str | None = None,
                  desired: str = "RUNNING") -> list[str]:
        kwargs: dict[str, Any] = {"cluster": self.cluster, "desiredStatus": desired}
        if name:
            kwargs["serviceName"] = name
        if started_by:
            kwargs["startedBy"] = started_by
        arns, token = [], None
        for _ in range(50):
            page = self.ecs.list_tasks(**kwargs, **({"nextToken": token} if token else {}))
            arns += page["taskArns"]
            token = page.get("nextToken")
            if not token:
                return arns
        raise AssertionError("list-tasks did not stop paginating")

    def describe_tasks(self, arns: list[str]) -> list[dict]:
        tasks = []
        for i in range(0, len(arns), 100):
            out = self.ecs.describe_tasks(cluster=self.cluster, tasks=arns[i:i + 100])
            assert not out.get("failures"), out
            tasks += out["tasks"]
        return tasks

    def tasks(self, name: str | None = None, started_by: str | None = None,
              stopped_too: bool = False) -> list[dict]:
        arns = self.task_arns(name, started_by)
        if stopped_too:
            arns += self.task_arns(name, started_by, desired="STOPPED")
        return self.describe_tasks(list(dict.fromkeys(arns)))

    def in_service(self, name: str) -> list[dict]:
        """The service's tasks still meant to run and not on their way out."""
        return [t for t in self.tasks(name) if t["desiredStatus"] == "RUNNING" and t["lastStatus"] not in ENDING]

    def wait_service(self, name: str, predicate: Callable[[dict], Any], what: str,
                     deadline: float = STEADY_DEADLINE_S, on_poll: Callable[[dict], None] | None = None) -> dict:
        end = time.monotonic() + deadline
        svc: dict = {}
        while True:
            svc = self.describe(name)
            if on_poll is not None:
                on_poll(svc)
            if predicate(svc):
                return svc
            if time.monotonic() >= end:
                tasks = "\n".join(summary(t) for t in self.tasks(name, stopped_too=True))
                pytest.fail(
                    f"timed out after {deadline:.0f} s waiting for {what}\n{service_summary(svc)}\n{tasks}",
                    pytrace=False,
                )
            time.sleep(POLL_S)

    def wait_steady(self, name: str, listener: Listener | None, desired: int,
                    deadline: float = STEADY_DEADLINE_S, on_poll=None) -> dict:
        """Until the service has one deployment, COMPLETED, ``desired`` RUNNING tasks, none
        pending, and (with a listener) exactly those tasks healthy in the target group."""

        def steady(svc: dict) -> bool:
            deps = svc["deployments"]
            if not (len(deps) == 1 and deps[0]["rolloutState"] == "COMPLETED"
                    and svc["runningCount"] == desired and svc["pendingCount"] == 0):
                return False
            if listener is None:
                return True
            ips = {private_ip(t) for t in self.tasks(name) if t["lastStatus"] == "RUNNING"}
            health = self.target_health(listener.tg)
            return len(ips) == desired and {ip for (ip, _), h in health.items() if h["State"] == "healthy"} == ips \
                and all(h["State"] in ("healthy", "draining") for h in health.values())

        return self.wait_service(name, steady, f"service {name} steady with {desired} tasks", deadline, on_poll)

    def delete_and_wait(self, name: str, deadline: float = STOP_DEADLINE_S) -> None:
        """delete-service --force, then until it is INACTIVE and every task of it STOPPED."""
        try:
            self.ecs.delete_service(cluster=self.cluster, service=name, force=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("ServiceNotActiveException", "ServiceNotFoundException"):
                raise
        end = time.monotonic() + deadline
        while True:
            svc = self.describe(name)
            tasks = self.tasks(name, stopped_too=True)
            if svc["status"] == "INACTIVE" and all(t["lastStatus"] == "STOPPED" for t in tasks):
                return
            if time.monotonic() >= end:
                pytest.fail(
                    f"service {name} not INACTIVE with every task STOPPED after {deadline:.0f} s\n"
                    f"{service_summary(svc)}\n" + "\n".join(summary(t) for t in tasks),
                    pytrace=False,
                )
            time.sleep(POLL_S)

    def wait_tasks_stopped(self, arns: list[str], deadline: float = STOP_DEADLINE_S) -> list[dict]:
        end = time.monotonic() + deadline
        while True:
            tasks = self.describe_tasks(arns)
            if all(t["lastStatus"] == "STOPPED" for t in tasks):
                return tasks
            if time.monotonic() >= end:
                pytest.fail(
                    f"tasks not STOPPED after {deadline:.0f} s\n" + "\n".join(map(summary, tasks)), pytrace=False
                )
            time.sleep(POLL_S)

    # -- the engine -----------------------------------------------------------------------------

    def containers(self, *label_filters: str, all_states: bool = False) -> list[dict]:
        """This wharf's containers in the engine, optionally filtered by more labels."""
        args = ["ps", "--no-trunc", "--format", "{{json .}}"]
        if all_states:
            args.append("-a")
        for f in ("wharf.managed=true", f"wharf.instance={self.instance_id}", *label_filters):
            args += ["--filter", f"label={f}"]
        out = self.docker.run(*args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def container_labels(self, container: dict) -> dict[str, str]:
        labels = {}
        for item in (container.get("Labels") or "").split(","):
            key, _, value = item.partition("=")
            labels[key] = value
        return labels


def _default_network(ec2) -> tuple[str, list[dict], str]:
    """The default VPC, two of its subnets in two zones, and its default security group."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    # Two subnets in two different zones.
    chosen: list[dict] = []
    for s in sorted(subnets, key=lambda s: s["AvailabilityZone"]):
        if all(c["AvailabilityZone"] != s["AvailabilityZone"] for c in chosen):
            chosen.append({"SubnetId": s["SubnetId"], "AvailabilityZone": s["AvailabilityZone"]})
        if len(chosen) == 2:
            break
    assert len(chosen) == 2, f"the default VPC has no two subnets in two zones: {subnets}"
    group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    return vpc, chosen, group


@contextlib.contextmanager
def own_lab(root, docker: DockerCli, local_image, *, alb: str, cluster: str, extra_args=()):
    """A ``Lab`` on a wharf of its own (data under ``root``, started with ``extra_args``): the
    test image pushed, a load balancer ``alb`` on two subnets of the default VPC, the cluster
    ``cluster``. On exit the server stops and its task containers are removed."""
    wharf = Wharf(wharf_binary(), root, extra_args)
    try:
        image = push_testapp(Ecr(wharf), docker, local_image)
        instance_id = (wharf.data_dir / "instance-id").read_text().strip()
        vpc, subnets, group = _default_network(wharf.boto3_client("ec2", region=REGION))
        lb = wharf.boto3_client("elbv2", region=REGION).create_load_balancer(
            Name=alb, Subnets=[s["SubnetId"] for s in subnets], SecurityGroups=[group]
        )["LoadBalancers"][0]
        admit_listener_clients(wharf, lb["LoadBalancerArn"], REGION)
        wharf.boto3_client("ecs", region=REGION).create_cluster(clusterName=cluster)
        yield Lab(wharf, docker, image, instance_id, vpc, subnets, group,
                  lb["LoadBalancerArn"], lb["DNSName"], cluster=cluster)
    finally:
        wharf.stop()
        remove_task_containers(wharf.data_dir)
