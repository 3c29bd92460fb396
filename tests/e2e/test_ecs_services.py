"""ECS services end to end (issue 6): CreateService / UpdateService / DeleteService driven by
the real AWS CLIs and boto3 against ``wharf server``, with the service controller running
real tasks on the Docker Engine behind a real load balancer listener, and every assertion
made on what a user sees: describe-services (counts, deployments, events), describe-tasks,
describe-target-health, ``aws ecs wait services-stable`` and HTTP answers through the
listener.

One wharf, one pushed test image (tests/testapp, serving on 8080; ``GET /`` answers its
``NAME`` variable, which tells revisions apart), one cluster and one load balancer in the
default VPC are shared by the module (``lab``); each test makes its own target group (fast
health checks, 5 s deregistration delay), listener (a free port on 127.0.0.1), task
definition family and services, and its services are deleted (``--force``) and their tasks
waited for STOPPED before the next test. The restart test comes last: it kills the shared
server with SIGKILL and starts it again.

What is covered:

- bad input to CreateService / UpdateService, with both CLIs, leaving nothing behind;
- a seed-like service reaching a steady state (both CLIs' ``services-stable`` waiter),
  spread over two subnets in two zones, registered and healthy in its target group, both
  tasks answering through the listener;
- a task killed from outside replaced (in the zone it left), its target deregistered, no
  request lost after;
- a task whose process hangs (container paused) failing its target group's health checks,
  stopped with AWS's reason after the grace period and replaced;
- scale out and in (draining first), delete refused while scaled above 0, ``--force``;
- a rolling update under continuous load with no failed request, within maximumPercent /
  minimumHealthyPercent;
- the deployment circuit breaker, with and without rollback, and the launch throttle of a
  service whose tasks never start;
- wharf killed in the middle of a rolling update: the deployment resumes and completes with
  no task launched twice and no container leaked.

Every wait is a polling loop with a generous deadline; load loops are bounded in requests and
in time.
"""

from __future__ import annotations

import http.client
import re
import time
import warnings

import pytest
from botocore.exceptions import ClientError

from testapp import push_testapp
from wharf_e2e import (
    Ecr,
    admit_listener_clients,
    as_datetime,
    eni_details,
    private_ip,
    task_id,
    wait_until,
)

from service_lab import (
    REGION,
    CLUSTER,
    APP_PORT,
    APP,
    STOP_DEADLINE_S,
    BREAKER_REASON,
    unique,
    summary,
    service_summary,
    primary,
    event_messages,
    event_count_sum,
    Answer,
    Load,
    Listener,
    Lab,
    _default_network,
)


@pytest.fixture(scope="module")
def lab(module_wharf, module_docker, testapp_local_image):
    wharf = module_wharf
    image = push_testapp(Ecr(wharf), module_docker, testapp_local_image)
    instance_id = (wharf.data_dir / "instance-id").read_text().strip()
    ec2 = wharf.boto3_client("ec2", region=REGION)
    vpc, subnets, group = _default_network(ec2)
    elbv2 = wharf.boto3_client("elbv2", region=REGION)
    lb = elbv2.create_load_balancer(
        Name="svc-e2e-alb", Subnets=[s["SubnetId"] for s in subnets], SecurityGroups=[group]
    )["LoadBalancers"][0]
    admit_listener_clients(wharf, lb["LoadBalancerArn"], REGION)
    wharf.boto3_client("ecs", region=REGION).create_cluster(clusterName=CLUSTER)
    lab = Lab(wharf, module_docker, image, instance_id, vpc, subnets, group, lb["LoadBalancerArn"], lb["DNSName"])
    yield lab

    if not wharf.server.running():
        wharf.start()
    _delete_all_services(lab)
    leftovers = lab.containers(all_states=True)
    if leftovers:
        warnings.warn(
            "containers left behind by the ECS service tests (removed now): "
            + ", ".join(c["Names"] for c in leftovers),
            stacklevel=1,
        )
        for c in leftovers:
            lab.docker.run("rm", "-f", c["ID"], check=False)


def _delete_all_services(lab: Lab) -> None:
    try:
        arns = lab.ecs.list_services(cluster=CLUSTER, maxResults=100)["serviceArns"]
    except ClientError:
        return
    for arn in arns:
        name = arn.rsplit("/", 1)[1]
        try:
            lab.delete_and_wait(name)
        except (Exception, pytest.fail.Exception) as exc:  # clean-up goes on
            warnings.warn(f"service {name} did not go away: {exc}", stacklevel=1)


@pytest.fixture(autouse=True)
def delete_what_the_test_created(lab):
    """Every service a test created is deleted (--force) and its tasks waited for STOPPED
    before the next test starts."""
    lab.services = []
    yield
    if not lab.wharf.server.running():  # the restart test failed half-way
        lab.wharf.start()
    for name in list(dict.fromkeys(lab.services)):
        try:
            lab.delete_and_wait(name)
        except (Exception, pytest.fail.Exception) as exc:
            warnings.warn(f"clean-up of service {name}: {exc}", stacklevel=1)


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------


def test_bad_input_is_refused_and_creates_nothing(lab, cli):
    w = lab.wharf
    family = unique("bad")
    td = lab.register(family)
    listener = lab.target_group(unique("tg-bad"))
    lonely_tg = lab.target_group(unique("tg-nolb"), with_listener=False)
    missing_tg = listener.tg.rsplit("/", 2)[0] + "/tg-missing/0123456789abcdef"
    net = lab.cli_network()

    def create(name: str, *extra: str, td_ref: str = td, cluster: str = CLUSTER, desired: int = 1) -> list[str]:
        return [
            "ecs", "create-service", "--cluster", cluster, "--service-name", name,
            "--task-definition", td_ref, "--desired-count", str(desired), "--launch-type", "FARGATE",
            "--network-configuration", net, *extra,
        ]

    def lb(tg: str, container: str = APP, port: int = APP_PORT) -> list[str]:
        return ["--load-balancers", f"targetGroupArn={tg},containerName={container},containerPort={port}"]

    def refused(code: str, args: list[str], message: str) -> None:
        result = w.aws_error(code, *args, cli=cli)
        assert message in result.stderr, result.describe()

    refused("ClientException", create("bad-td", td_ref=f"{family}-nope:1"), "TaskDefinition not found.")
    refused("ClusterNotFoundException", create("bad-cluster", cluster="no-such-cluster"), "")
    refused(
        "InvalidParameterException", create("bad-tg", *lb(missing_tg)),
        f"The target group {missing_tg} does not exist.",
    )
    refused(
        "InvalidParameterException", create("bad-nolb", *lb(lonely_tg)),
        f"The target group with targetGroupArn {lonely_tg} does not have an associated load balancer.",
    )
    refused(
        "InvalidParameterException", create("bad-container", *lb(listener.tg, container="web")),
        "The container web does not exist in the task definition.",
    )
    refused(
        "InvalidParameterException", create("bad-port", *lb(listener.tg, port=9999)),
        f"The container {APP} did not have a container port 9999 defined.",
    )
    refused(
        "InvalidParameterException",
        create("bad-max", "--deployment-configuration", "maximumPercent=2500,minimumHealthyPercent=100"),
        "deploymentConfiguration.maximumPercent",
    )
    refused(
        "InvalidParameterException",
        create("bad-max-low", "--deployment-configuration", "maximumPercent=50,minimumHealthyPercent=0"),
        "deploymentConfiguration.maximumPercent",
    )
    refused(
        "InvalidParameterException",
        create("bad-min", "--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=101"),
        "deploymentConfiguration.minimumHealthyPercent",
    )
    names = {a.rsplit("/", 1)[1] for a in lab.ecs.list_services(cluster=CLUSTER, maxResults=100)["serviceArns"]}
    assert not {n for n in names if n.startswith("bad-")}, names
    for name in ("bad-td", "bad-tg", "bad-nolb", "bad-container", "bad-port", "bad-max", "bad-max-low", "bad-min"):
        described = lab.ecs.describe_services(cluster=CLUSTER, services=[name])
        assert described["services"] == [], described

    # UpdateService: the same checks; the service is left as it was. (desiredCount 0: no task.)
    name = unique("upd")
    lab.services.append(name)
    w.aws(*create(name, *lb(listener.tg), desired=0), cli=cli)
    before = lab.describe(name)
    update = ["ecs", "update-service", "--cluster", CLUSTER, "--service", name]
    refused("ClientException", [*update, "--task-definition", f"{family}-nope:1"], "TaskDefinition not found.")
    refused(
        "InvalidParameterException",
        [*update, "--deployment-configuration", "maximumPercent=2001,minimumHealthyPercent=100"],
        "deploymentConfiguration.maximumPercent",
    )
    refused(
        "InvalidParameterException",
        [*update, "--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=150"],
        "deploymentConfiguration.minimumHealthyPercent",
    )
    refused(
        "InvalidParameterException", [*update, *lb(lonely_tg)],
        f"The target group with targetGroupArn {lonely_tg} does not have an associated load balancer.",
    )
    refused(
        "InvalidParameterException", [*update, *lb(listener.tg, container="web")],
        "The container web does not exist in the task definition.",
    )
    after = lab.describe(name)
    for key in ("taskDefinition", "desiredCount", "deploymentConfiguration", "loadBalancers", "deployments"):
        assert after.get(key) == before.get(key), (key, before.get(key), after.get(key))
    assert lab.task_arns(name) == [] and lab.task_arns(name, desired="STOPPED") == []


# ---------------------------------------------------------------------------------------
# Steady state
# ---------------------------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_seed_like_service_reaches_a_steady_state(lab):
    w = lab.wharf
    family = unique("blog-api")
    td = lab.register(family)
    listener = lab.target_group(unique("tg-blog"))
    name = unique("blog-api-svc")
    lab.services.append(name)

    # As the seeds write it: the CLI, shorthand network / load balancer / deployment settings.
    created = w.aws(
        "ecs", "create-service",
        "--cluster", CLUSTER,
        "--service-name", name,
        "--task-definition", f"{family}:1",
        "--desired-count", "2",
        "--launch-type", "FARGATE",
        "--network-configuration", lab.cli_network(),
        "--load-balancers", f"targetGroupArn={listener.tg},containerName={APP},containerPort={APP_PORT}",
        "--health-check-grace-period-seconds", "30",
        "--deployment-configuration",
        "deploymentCircuitBreaker={enable=true,rollback=true},maximumPercent=200,minimumHealthyPercent=100",
        cli="v2",
    ).json["service"]
    assert created["status"] == "ACTIVE" and created["desiredCount"] == 2, created
    assert created["taskDefinition"] == td
    assert len(created["deployments"]) == 1 and created["deployments"][0]["status"] == "PRIMARY", created
    assert created["deployments"][0]["rolloutState"] == "IN_PROGRESS", created
    deployment = created["deployments"][0]["id"]
    assert deployment.startswith("ecs-svc/"), deployment

    # Both CLIs' waiter (describe-services every 15 s until one deployment and runningCount ==
    # desiredCount) return 0.
    for cli in ("v1", "v2"):
        waited = w.aws("ecs", "wait", "services-stable", "--cluster", CLUSTER, "--services", name,
                       cli=cli, check=False, timeout=660)
        assert waited.returncode == 0, waited.describe() + "\n" + service_summary(lab.describe(name))

    svc = lab.wait_steady(name, listener, 2)
    assert svc["runningCount"] == 2 and svc["pendingCount"] == 0, service_summary(svc)
    dep = primary(svc)
    assert dep["id"] == deployment
    assert dep["rolloutState"] == "COMPLETED", service_summary(svc)
    assert dep["rolloutStateReason"] == f"ECS deployment {deployment} completed.", service_summary(svc)
    assert (dep["runningCount"], dep["pendingCount"], dep["failedTasks"]) == (2, 0, 0), service_summary(svc)

    tasks = [t for t in lab.tasks(name) if t["lastStatus"] == "RUNNING"]
    assert len(tasks) == 2, "\n".join(map(summary, tasks))
    for t in tasks:
        assert t["startedBy"] == deployment, summary(t)
        assert t["group"] == f"service:{name}", summary(t)
        assert t["taskDefinitionArn"] == td, summary(t)
        assert t["launchType"] == "FARGATE", summary(t)
    # Spread over both subnets, in two zones.
    assert {eni_details(t)["subnetId"] for t in tasks} == set(lab.subnet_ids), "\n".join(map(summary, tasks))
    assert {t["availabilityZone"] for t in tasks} == {s["AvailabilityZone"] for s in lab.subnets}

    # Both registered on their private IP and containerPort, both healthy.
    health = lab.target_health(listener.tg)
    assert set(health) == {(private_ip(t), APP_PORT) for t in tasks}, health
    assert all(h["State"] == "healthy" for h in health.values()), health

    # The events, in AWS's words, newest first.
    svc = lab.describe(name)
    messages = event_messages(svc)
    text = "\n".join(messages)
    assert event_count_sum(messages, rf"^\(service {name}\) has started (\d+) tasks: ") == 2, text
    started = [m for m in messages if " has started " in m]
    for t in tasks:
        assert any(f"(task {task_id(t['taskArn'])})" in m for m in started), text
    assert event_count_sum(
        messages, rf"^\(service {name}\) registered (\d+) targets in \(target-group {re.escape(listener.tg)}\)$"
    ) == 2, text
    completed = f"(service {name}) (deployment {deployment}) deployment completed."
    steady = f"(service {name}) has reached a steady state."
    assert completed in messages and steady in messages, text
    assert messages.index(steady) < max(i for i, m in enumerate(messages) if " has started " in m), text
    times = [as_datetime(e["createdAt"]) for e in svc["events"]]
    assert times == sorted(times, reverse=True), "events are not newest first"

    # Requests through the listener are answered by both tasks.
    hosts = set()
    for _ in range(60):
        answer = lab.get(listener)
        assert answer.status == 200 and answer.name == "v1", answer
        hosts.add(answer.host)
        if len(hosts) == 2:
            break
    assert len(hosts) == 2, f"only {hosts} answered 60 requests"

    # The CLI's view of the same (v1): counts and the deployment.
    seen = w.aws("ecs", "describe-services", "--cluster", CLUSTER, "--services", name, cli="v1").json
    s = seen["services"][0]
    assert (s["runningCount"], s["pendingCount"], s["deployments"][0]["rolloutState"]) == (2, 0, "COMPLETED")


# ---------------------------------------------------------------------------------------
# Replacement
# ---------------------------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_a_killed_task_is_replaced_and_deregistered(lab):
    td = lab.register(unique("kill"))
    listener = lab.target_group(unique("tg-kill"))
    name = unique("kill-svc")
    lab.create_service(name, td, 2, listener)
    lab.wait_steady(name, listener, 2)
    before = {t["taskArn"]: t for t in lab.tasks(name)}
    # The task in the zone of the second subnet: a placement that ties the zones up would
    # pick the first subnet's zone, so only a correct count puts the replacement back here.
    victim_az = lab.subnets[1]["AvailabilityZone"]
    victims = [a for a, t in before.items() if t["availabilityZone"] == victim_az]
    assert len(victims) == 1, "\n".join(map(summary, before.values()))
    victim = victims[0]

    app = lab.containers(f"wharf.task-arn={victim}", "wharf.role=container")
    assert len(app) == 1, app
    lab.docker.run("kill", app[0]["ID"])

    # The task stops as a container exit; a replacement starts and becomes healthy.
    def stopped(_svc):
        t = lab.describe_tasks([victim])[0]
        return t if t["lastStatus"] == "STOPPED" else None

    lab.wait_service(name, stopped, f"killed task {task_id(victim)} STOPPED", deadline=STOP_DEADLINE_S)
    dead = lab.describe_tasks([victim])[0]
    assert dead["desiredStatus"] == "STOPPED" and dead["stopCode"] == "EssentialContainerExited", summary(dead)

    # Right after it is STOPPED: a burst of requests, none lost (never routed to the dead task).
    burst = []
    end = time.monotonic() + 60
    for _ in range(200):
        if time.monotonic() >= end:
            break
        try:
            burst.append(lab.get(listener))
        except (OSError, http.client.HTTPException) as exc:
            burst.append(Answer(time.monotonic(), None, None, None, repr(exc)))
    assert len(burst) >= 50, f"only {len(burst)} requests in 60 s"
    assert not Load.failures(burst), Load.describe(burst)

    svc = lab.wait_steady(name, listener, 2)
    now = {t["taskArn"]: t for t in lab.tasks(name) if t["lastStatus"] == "RUNNING"}
    assert victim not in now and len(now) == 2, "\n".join(map(summary, now.values()))
    replacement = [t for a, t in now.items() if a not in before]
    assert len(replacement) == 1, "\n".join(map(summary, now.values()))
    assert replacement[0]["startedBy"] == primary(svc)["id"]
    # Only the running tasks are targets, all healthy.
    health = lab.target_health(listener.tg)
    assert set(health) == {(private_ip(t), APP_PORT) for t in now.values()}, health
    messages = event_messages(svc)
    text = "\n".join(messages)
    assert f"(service {name}) deregistered 1 targets in (target-group {listener.tg})" in messages, text
    assert any(
        m.startswith(f"(service {name}) has started 1 tasks: (task {task_id(replacement[0]['taskArn'])})")
        for m in messages
    ), text
    # The replacement goes to the zone that lost a task: the service stays spread over both.
    assert replacement[0]["availabilityZone"] == victim_az, (
        f"the replacement of a task in {victim_az} went to {replacement[0]['availabilityZone']}\n"
        + "\n".join(map(summary, now.values()))
    )


@pytest.mark.timeout(600)
def test_a_task_failing_elb_health_checks_is_replaced(lab):
    """One task's process hangs (its container is paused): its target turns unhealthy, and
    after the grace period the scheduler deregisters and stops it with AWS's reason and starts
    another."""
    td = lab.register(unique("hang"), stop_timeout=2)
    listener = lab.target_group(unique("tg-hang"))
    name = unique("hang-svc")
    lab.create_service(name, td, 2, listener, grace=5)
    lab.wait_steady(name, listener, 2)
    before = {t["taskArn"]: t for t in lab.tasks(name)}
    victim = sorted(before)[0]
    app = lab.containers(f"wharf.task-arn={victim}", "wharf.role=container")
    assert len(app) == 1, app
    lab.docker.run("pause", app[0]["ID"])
    try:
        def replaced(svc):
            t = lab.describe_tasks([victim])[0]
            return t["desiredStatus"] == "STOPPED"

        lab.wait_service(name, replaced, f"hung task {task_id(victim)} stopped by the scheduler", deadline=120)
    finally:
        lab.docker.run("unpause", app[0]["ID"], check=False)
    dead = lab.wait_tasks_stopped([victim])[0]
    assert dead["stopCode"] == "ServiceSchedulerInitiated", summary(dead)
    assert dead["stoppedReason"] == f"Task failed ELB health checks in (target-group {listener.tg})", summary(dead)
    svc = lab.wait_steady(name, listener, 2)
    now = [t for t in lab.tasks(name) if t["lastStatus"] == "RUNNING"]
    assert victim not in {t["taskArn"] for t in now} and len(now) == 2, "\n".join(map(summary, now))
    messages = event_messages(svc)
    text = "\n".join(messages)
    unhealthy = (
        f"(service {name}) (task {task_id(victim)}) is unhealthy in (target-group {listener.tg}) "
        "due to (reason Health checks failed)."
    )
    assert unhealthy in messages, text
    assert f"(service {name}) deregistered 1 targets in (target-group {listener.tg})" in messages, text
    assert any(m.startswith(f"(service {name}) has stopped 1 running tasks: (task {task_id(victim)})") for m in messages), text
    for _ in range(20):
        answer = lab.get(listener)
        assert answer.status == 200, answer


# ---------------------------------------------------------------------------------------
# Scaling and deletion
# ---------------------------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_scale_out_and_in_then_delete(lab):
    w = lab.wharf
    td = lab.register(unique("scale"))
    listener = lab.target_group(unique("tg-scale"))
    name = unique("scale-svc")
    lab.create_service(name, td, 2, listener)
    svc = lab.wait_steady(name, listener, 2)
    deployment = primary(svc)["id"]

    # 2 -> 3 (CLI v1): a third task, registered and healthy; the same deployment.
    w.aws("ecs", "update-service", "--cluster", CLUSTER, "--service", name, "--desired-count", "3", cli="v1")
    svc = lab.wait_steady(name, listener, 3)
    assert primary(svc)["id"] == deployment, "a desiredCount change is not a new deployment"
    three = {t["taskArn"]: t for t in lab.tasks(name) if t["lastStatus"] == "RUNNING"}
    assert len(three) == 3

    # 3 -> 1 (CLI v2) under light load: two tasks drained first, then stopped; no request lost.
    load = Load(listener.port, lab.lb_dns, threads=2, max_requests=1500, max_seconds=150, pause=0.05).start()
    try:
        w.aws("ecs", "update-service", "--cluster", CLUSTER, "--service", name, "--desired-count", "1", cli="v2")
        # (Draining ends as soon as no request is in flight, so describe-target-health shows
        # `draining` too briefly to be polled reliably: the events' order and the load show it.)
        svc = lab.wait_steady(name, listener, 1)
    finally:
        answers = load.stop()
    assert not Load.failures(answers), Load.describe(answers)
    assert len(answers) > 20, Load.describe(answers)

    left = [t for t in lab.tasks(name) if t["lastStatus"] == "RUNNING"]
    assert len(left) == 1
    gone = [t for a, t in three.items() if a != left[0]["taskArn"]]
    gone = lab.wait_tasks_stopped([t["taskArn"] for t in gone])
    reason = f"Scaling activity initiated by (deployment {deployment})"
    for t in gone:
        assert t["lastStatus"] == "STOPPED" and t["stoppedReason"] == reason, summary(t)
        assert t["stopCode"] == "ServiceSchedulerInitiated", summary(t)
    assert set(lab.target_health(listener.tg)) == {(private_ip(left[0]), APP_PORT)}
    messages = event_messages(svc)
    text = "\n".join(messages)
    draining_re = rf"^\(service {name}\) has begun draining connections on (\d+) tasks\.$"
    assert event_count_sum(messages, draining_re) == 2, text
    draining = max(i for i, m in enumerate(messages) if re.search(draining_re, m))
    assert event_count_sum(
        messages, rf"^\(service {name}\) deregistered (\d+) targets in \(target-group {re.escape(listener.tg)}\)$"
    ) == 2, text
    stopped_events = [i for i, m in enumerate(messages) if m.startswith(f"(service {name}) has stopped ")]
    assert event_count_sum(messages, rf"^\(service {name}\) has stopped (\d+) running tasks: ") == 2, text
    # Newest first: the stops came after the draining began.
    assert max(stopped_events) < draining, text

    # Delete: refused while desiredCount > 0, then --force: DRAINING until every task is gone,
    # then INACTIVE.
    for cli in ("v1", "v2"):
        result = w.aws_error("InvalidParameterException", "ecs", "delete-service", "--cluster", CLUSTER,
                             "--service", name, cli=cli)
        assert "The service cannot be stopped while it is scaled above 0." in result.stderr, result.describe()
    assert lab.describe(name)["status"] == "ACTIVE"
    deleted = w.aws("ecs", "delete-service", "--cluster", CLUSTER, "--service", name, "--force", cli="v2").json
    assert deleted["service"]["status"] == "DRAINING", deleted
    lab.wait_service(name, lambda s: s["status"] == "INACTIVE", f"service {name} INACTIVE", deadline=STOP_DEADLINE_S)
    tasks = lab.tasks(name, stopped_too=True)
    assert tasks and all(t["lastStatus"] == "STOPPED" for t in tasks), "\n".join(map(summary, tasks))
    assert lab.target_health(listener.tg) == {}
    assert name not in {a.rsplit("/", 1)[1] for a in lab.ecs.list_services(cluster=CLUSTER)["serviceArns"]}
    # The API answers 503 once no target is left.
    assert lab.get(listener).status == 503


# ---------------------------------------------------------------------------------------
# Rolling update
# ---------------------------------------------------------------------------------------


class Bounds:
    """Polls a service during a deployment and records what the bounds are about: tasks in
    service and healthy targets."""

    def __init__(self, lab: Lab, name: str, listener: Listener | None):
        self.lab, self.name, self.listener = lab, name, listener
        self.max_in_service = 0
        self.min_healthy: int | None = None
        self.samples = 0
        self.worst: list[str] = []
        self.deployments: dict[str, dict] = {}

    def __call__(self, svc: dict) -> None:
        tasks = self.lab.in_service(self.name)
        self.samples += 1
        if len(tasks) > self.max_in_service:
            self.max_in_service = len(tasks)
            self.worst = [summary(t) for t in tasks]
        if self.listener is not None:
            healthy = len(self.lab.healthy_ips(self.listener.tg))
            self.min_healthy = healthy if self.min_healthy is None else min(self.min_healthy, healthy)
        for d in svc["deployments"]:
            seen = self.deployments.setdefault(d["id"], {"states": [], "reasons": [], "failed": 0})
            if not seen["states"] or seen["states"][-1] != (d["status"], d["rolloutState"]):
                seen["states"].append((d["status"], d["rolloutState"]))
            if d.get("rolloutStateReason") and d["rolloutStateReason"] not in seen["reasons"]:
                seen["reasons"].append(d["rolloutStateReason"])
            seen["failed"] = max(seen["failed"], d.get("failedTasks", 0))
            seen["taskDefinition"] = d["taskDefinition"]


@pytest.mark.timeout(600)
def test_rolling_update_under_load_loses_no_request(lab):
    w = lab.wharf
    family = unique("roll")
    td1 = lab.register(family, "v1")
    listener = lab.target_group(unique("tg-roll"))
    name = unique("roll-svc")
    lab.create_service(name, td1, 2, listener)
    svc = lab.wait_steady(name, listener, 2)
    first = primary(svc)["id"]
    td2 = lab.register(family, "v2")

    bounds = Bounds(lab, name, listener)
    load = Load(listener.port, lab.lb_dns, threads=3, max_requests=4000, max_seconds=240, pause=0.03).start()
    try:
        # Let the load see version 1 first.
        wait_until_answers(load, 20)
        updated = w.aws("ecs", "update-service", "--cluster", CLUSTER, "--service", name,
                        "--task-definition", f"{family}:2", cli="v2").json["service"]
        assert updated["taskDefinition"] == td2
        deps = {d["status"]: d for d in updated["deployments"]}
        assert set(deps) == {"PRIMARY", "ACTIVE"}, updated["deployments"]
        assert deps["ACTIVE"]["id"] == first and deps["PRIMARY"]["rolloutState"] == "IN_PROGRESS"
        second = deps["PRIMARY"]["id"]
        svc = lab.wait_steady(name, listener, 2, on_poll=bounds)
        # A little more traffic once the new tasks are the only ones.
        wait_until_answers(load, len(load.answers) + 40)
    finally:
        answers = load.stop()

    assert not Load.failures(answers), Load.describe(answers)
    names = [a.name for a in answers]
    assert names[0] == "v1" and names[-1] == "v2", Load.describe(answers)
    after = [lab.get(listener) for _ in range(30)]
    assert {(a.status, a.name) for a in after} == {(200, "v2")}, "after the deployment completed: " + Load.describe(after)
    # maximumPercent 200 of 2: never more than 4 tasks in service; minimumHealthyPercent 100:
    # never fewer than 2 healthy targets.
    assert bounds.samples >= 5
    assert bounds.max_in_service <= 4, "\n".join(bounds.worst)
    assert bounds.min_healthy is not None and bounds.min_healthy >= 2, (
        f"only {bounds.min_healthy} healthy targets at one point"
    )

    dep = primary(svc)
    assert dep["id"] == second and dep["taskDefinition"] == td2
    assert dep["rolloutState"] == "COMPLETED" and dep["rolloutStateReason"] == f"ECS deployment {second} completed."
    assert svc["taskDefinition"] == td2
    running = [t for t in lab.tasks(name) if t["lastStatus"] == "RUNNING"]
    assert len(running) == 2 and all(t["taskDefinitionArn"] == td2 for t in running), "\n".join(map(summary, running))
    # Exactly two tasks were launched for the new deployment, and every old one stopped.
    assert len(lab.tasks(started_by=second, stopped_too=True)) == 2
    old = lab.tasks(started_by=first, stopped_too=True)
    assert len(old) == 2, "\n".join(map(summary, old))
    old = lab.wait_tasks_stopped([t["taskArn"] for t in old])
    for t in old:
        assert t["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/"), summary(t)
        assert t["stopCode"] == "ServiceSchedulerInitiated", summary(t)
    messages = event_messages(svc)
    text = "\n".join(messages)
    assert f"(service {name}) (deployment {second}) deployment completed." in messages, text
    assert event_count_sum(messages, rf"^\(service {name}\) has begun draining connections on (\d+) tasks\.$") == 2, text
    assert event_count_sum(messages, rf"^\(service {name}\) has started (\d+) tasks: ") == 4, text


def wait_until_answers(load: Load, count: int, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while len(load.answers) < count:
        if time.monotonic() >= end:
            pytest.fail(f"the load got only {len(load.answers)} answers in {deadline:.0f} s", pytrace=False)
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------
# Circuit breaker and throttle
# ---------------------------------------------------------------------------------------

# The test app's `exit` personality: prints, exits with status 3 at once.
CRASH = ["exit", "3"]


@pytest.mark.timeout(600)
def test_circuit_breaker_rolls_back_a_broken_revision(lab):
    w = lab.wharf
    family = unique("brk")
    td1 = lab.register(family, "v1")
    listener = lab.target_group(unique("tg-brk"))
    name = unique("brk-svc")
    lab.create_service(name, td1, 2, listener, rollback=True)
    svc = lab.wait_steady(name, listener, 2)
    good = primary(svc)["id"]
    td2 = lab.register(family, "v2", command=CRASH)

    bounds = Bounds(lab, name, listener)
    load = Load(listener.port, lab.lb_dns, threads=2, max_requests=4000, max_seconds=300, pause=0.05).start()
    try:
        updated = w.aws("ecs", "update-service", "--cluster", CLUSTER, "--service", name,
                        "--task-definition", td2, cli="v1").json["service"]
        broken = primary(updated)["id"]
        assert broken != good

        def rolled_back(s: dict) -> bool:
            bounds(s)
            deps = s["deployments"]
            return (
                s["taskDefinition"] == td1 and len(deps) == 1 and deps[0]["id"] not in (good, broken)
                and deps[0]["rolloutState"] == "COMPLETED" and s["runningCount"] == 2
            )

        svc = lab.wait_service(name, rolled_back, "the rollback deployment COMPLETED", deadline=300)
        back = primary(svc)
    finally:
        answers = load.stop()

    text = service_summary(svc)
    seen = bounds.deployments.get(broken)
    assert seen is not None, bounds.deployments
    assert ("PRIMARY", "FAILED") in seen["states"] or ("ACTIVE", "FAILED") in seen["states"], (seen, text)
    assert BREAKER_REASON in seen["reasons"], (seen, text)
    assert seen["failed"] >= 3, (seen, text)
    assert back["taskDefinition"] == td1
    assert back["rolloutStateReason"] in (
        f"ECS deployment {back['id']} completed.",
    ), text
    rollback_seen = bounds.deployments.get(back["id"], {})
    assert f"ECS deployment circuit breaker: rolling back to deploymentId {good}." in rollback_seen.get("reasons", []), (
        rollback_seen, text
    )
    running = [t for t in lab.tasks(name) if t["lastStatus"] == "RUNNING"]
    assert len(running) == 2 and all(t["taskDefinitionArn"] == td1 for t in running), "\n".join(map(summary, running))
    # The broken tasks stopped as container exits.
    failed = lab.tasks(started_by=broken, stopped_too=True)
    assert len(failed) >= 3 and all(t["lastStatus"] == "STOPPED" for t in failed), "\n".join(map(summary, failed))
    messages = event_messages(svc)
    joined = "\n".join(messages)
    assert f"(service {name}) (deployment {broken}) deployment failed: tasks failed to start." in messages, joined
    assert f"(service {name}) rolling back to deployment {good}." in messages, joined
    # The service kept serving version 1 all along.
    assert not Load.failures(answers), Load.describe(answers)
    assert {a.name for a in answers} == {"v1"}, Load.describe(answers)
    assert bounds.min_healthy is not None and bounds.min_healthy >= 2, bounds.min_healthy


@pytest.mark.timeout(600)
def test_circuit_breaker_without_rollback_stops_the_rollout(lab):
    family = unique("brk-norb")
    td1 = lab.register(family, "v1")
    listener = lab.target_group(unique("tg-norb"))
    name = unique("norb-svc")
    lab.create_service(name, td1, 1, listener, rollback=False)
    svc = lab.wait_steady(name, listener, 1)
    good = primary(svc)["id"]
    keeper = [t["taskArn"] for t in lab.tasks(name)]
    assert len(keeper) == 1
    td2 = lab.register(family, "v2", command=CRASH)
    updated = lab.ecs.update_service(cluster=CLUSTER, service=name, taskDefinition=td2)["service"]
    broken = primary(updated)["id"]

    svc = lab.wait_service(
        name, lambda s: primary(s)["rolloutState"] == "FAILED", "the rollout FAILED", deadline=240
    )
    dep = primary(svc)
    assert dep["id"] == broken and dep["rolloutStateReason"] == BREAKER_REASON, service_summary(svc)
    assert dep["failedTasks"] >= 3, service_summary(svc)
    messages = event_messages(svc)
    assert f"(service {name}) (deployment {broken}) deployment failed: tasks failed to start." in messages

    # Frozen: no rollback deployment, no further launch, the old task still running and serving.
    launched = len(lab.tasks(started_by=broken, stopped_too=True))
    end = time.monotonic() + 10
    while time.monotonic() < end:
        s = lab.describe(name)
        assert {d["id"] for d in s["deployments"]} == {broken, good}, service_summary(s)
        answer = lab.get(listener)
        assert answer.status == 200 and answer.name == "v1", answer
        time.sleep(1)
    assert len(lab.tasks(started_by=broken, stopped_too=True)) == launched, "the failed rollout kept launching"
    kept = lab.describe_tasks(keeper)[0]
    assert kept["lastStatus"] == "RUNNING" and kept["desiredStatus"] == "RUNNING", summary(kept)
    assert lab.healthy_ips(listener.tg) == {private_ip(kept)}


@pytest.mark.timeout(600)
def test_tasks_that_never_start_are_throttled(lab):
    """Breaker off, an image that is not in the registry: every task fails before RUNNING;
    launches are held back 5 s, then 10 s, ... and the service says it is unable to start
    tasks consistently."""
    missing = f"{lab.image.rsplit(':', 1)[0]}:no-such-tag"
    td = lab.register(unique("nopull"), image=missing)
    name = unique("nopull-svc")
    lab.create_service(name, td, 1, None, breaker=False, rollback=False)
    unable = f"(service {name}) is unable to consistently start tasks successfully."
    svc = lab.wait_service(name, lambda s: unable in event_messages(s), "the 'unable to start' event", deadline=240)
    tasks = sorted(lab.tasks(name, stopped_too=True), key=lambda t: as_datetime(t["createdAt"]))
    assert len(tasks) >= 3, "\n".join(map(summary, tasks))
    for t in tasks[:3]:
        if t["lastStatus"] == "STOPPED":
            assert t["stopCode"] == "TaskFailedToStart", summary(t)
            assert "CannotPullContainerError" in t["stoppedReason"], summary(t)
            assert "startedAt" not in t, summary(t)
    created = [as_datetime(t["createdAt"]) for t in tasks]
    gaps = [(b - a).total_seconds() for a, b in zip(created, created[1:])]
    # The back-off starts when a launch fails, which is after that task was created.
    assert gaps[0] >= 4.5 and gaps[1] >= 9.5, f"launch gaps {gaps}\n" + "\n".join(map(summary, tasks))
    assert primary(svc)["rolloutState"] == "IN_PROGRESS", service_summary(svc)


# ---------------------------------------------------------------------------------------
# Restart in the middle of a deployment (last: it kills the shared server)
# ---------------------------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_wharf_killed_mid_deployment_resumes_it(lab):
    w = lab.wharf
    family = unique("rst")
    td1 = lab.register(family, "v1")
    listener = lab.target_group(unique("tg-rst"))
    name = unique("rst-svc")
    lab.create_service(name, td1, 2, listener)
    svc = lab.wait_steady(name, listener, 2)
    first = primary(svc)["id"]
    td2 = lab.register(family, "v2")
    updated = lab.ecs.update_service(cluster=CLUSTER, service=name, taskDefinition=td2)["service"]
    second = primary(updated)["id"]
    bounds = Bounds(lab, name, listener)

    # Kill wharf once the new deployment has launched its tasks, before it completes.
    def launched(s: dict) -> bool:
        bounds(s)
        return len(lab.tasks(started_by=second)) >= 1

    lab.wait_service(name, launched, "the new deployment's first task", deadline=120)
    before = lab.describe(name)
    assert primary(before)["rolloutState"] == "IN_PROGRESS", (
        "the deployment completed before wharf could be killed mid-way\n" + service_summary(before)
    )
    events_before = {(e["id"], e["message"]) for e in before["events"]}
    w.restart()

    # A second kill once a new task is RUNNING (being registered, or waiting to turn healthy),
    # if the deployment has not completed by then.
    def new_task_running(s: dict) -> bool:
        bounds(s)
        if primary(s)["rolloutState"] != "IN_PROGRESS":
            return True
        return any(t["lastStatus"] == "RUNNING" for t in lab.tasks(started_by=second))

    s = lab.wait_service(name, new_task_running, "a task of the new deployment RUNNING", deadline=120)
    kills = 1
    if primary(s)["rolloutState"] == "IN_PROGRESS":
        events_before |= {(e["id"], e["message"]) for e in lab.describe(name)["events"]}
        w.restart()
        kills += 1

    svc = lab.wait_steady(name, listener, 2, on_poll=bounds)
    dep = primary(svc)
    assert dep["id"] == second and dep["rolloutState"] == "COMPLETED", service_summary(svc)
    assert bounds.max_in_service <= 4, "\n".join(bounds.worst)
    # No task launched twice, none leaked.
    new = lab.tasks(started_by=second, stopped_too=True)
    assert len(new) == 2, "\n".join(map(summary, new))
    running = [t for t in lab.tasks(name) if t["lastStatus"] == "RUNNING"]
    assert {t["taskArn"] for t in running} == {t["taskArn"] for t in new}, "\n".join(map(summary, running))
    old = lab.tasks(started_by=first, stopped_too=True)
    assert len(old) == 2, "\n".join(map(summary, old))
    lab.wait_tasks_stopped([t["taskArn"] for t in old])

    expected = {t["taskArn"]: ["container", "sandbox"] for t in running}

    def engine_matches():
        by_task: dict[str, list[str]] = {}
        for c in lab.containers():
            labels = lab.container_labels(c)
            by_task.setdefault(labels.get("wharf.task-arn", "?"), []).append(labels.get("wharf.role", "?"))
        by_task = {k: sorted(v) for k, v in by_task.items()}
        assert by_task == expected, f"running containers by task: {by_task}, RUNNING tasks: {expected}"
        return True

    wait_until(engine_matches, "the engine's running containers to be exactly the RUNNING tasks'", deadline=60)
    # What happened before the restart is still told.
    events_after = {(e["id"], e["message"]) for e in svc["events"]}
    assert events_before <= events_after, events_before - events_after
    assert f"(service {name}) (deployment {second}) deployment completed." in event_messages(svc)
    # And the listener is back, serving version 2.
    for _ in range(20):
        answer = lab.get(listener)
        assert answer.status == 200 and answer.name == "v2", answer
