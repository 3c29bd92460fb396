"""Seed 004's GitHub Actions workflow against wharf, run by ``act`` on this machine (issue 20).

One wharf and one app repository per module (see act_pipeline.py): the seed's steps 2-9 and
12 are set up once (ECR repository ``ai-assistant`` with immutable tags, log group, cluster,
task definition ``ai-assistant-task`` from the seed's step 6, ALB + target group + listener
on a free port, service ``ai-assistant-service`` with the circuit breaker and rollback)
serving ``v1``; then each test commits to the repository and runs ``act push``: the jobs run
on the host, the public actions are the stand-ins in fixtures/github-actions/actions, the
only endpoint setting is ``AWS_ENDPOINT_URL`` and the ``aws`` on PATH is the AWS CLI v1.

What is covered, in order (the tests share the service and run in this order):

- the seed's workflow exactly as written: it stops at "Register new task definition
  revision", as it does on AWS: the AWS CLI refuses DescribeTaskDefinition's read-only
  members (taskDefinitionArn, revision, ...) in ``--cli-input-json``; everything before it
  ran (the image is in ECR under the commit SHA) and the service is untouched;
- the workflow with that fixed (fixtures/github-actions/deploy-fixed.yml: the jq step also
  deletes the read-only members; a last step checks the service runs the new revision):
  a commit is deployed: image tagged with the SHA, a new revision naming it under
  proxyEndpoint's host (pulled by wharf's runtime), a new PRIMARY deployment, the service
  stable on it, the ALB answering the new version, the new task's logs in CloudWatch Logs;
- the same steps with the AWS CLI v1 and the endpoint from ``AWS_ENDPOINT_URL``,
  ``AWS_ENDPOINT_URL_ECS`` or the config file's ``endpoint_url`` only; every UpdateService
  (a new revision, or ``--force-new-deployment`` alone) starts a new PRIMARY deployment;
- a broken commit (the image exits at once): the circuit breaker fails the rollout
  (``rolloutState`` FAILED with its reason) and rolls back; ``services-stable`` succeeds
  once the rollback is stable (as on AWS), so the seed's wait step passes and the added check
  step fails the workflow with a clear message; the ALB serves the old version throughout.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import warnings

import pytest

import act_pipeline as ap
from service_lab import BREAKER_REASON, Load, lb_get, service_summary
from wharf_e2e import AWS_CLI, task_id

FIXED_WORKFLOW = ap.GITHUB_ACTIONS / "deploy-fixed.yml"
SEED_STEPS = [
    "Checkout",
    "Configure AWS credentials",
    "Login to Amazon ECR",
    "Build and push Docker image",
    "Download current task definition",
    "Update image in task definition",
    "Register new task definition revision",
    "Update ECS service to use new task revision",
    "Wait for service stability (optional but recommended)",
]
CHECK_STEP = "Check the service runs the new revision"


@pytest.fixture(scope="module")
def pipeline(module_wharf, module_docker, tmp_path_factory):
    root = tmp_path_factory.mktemp("github-actions")
    repo = ap.AppRepo(root / "app")
    seed = ap.setup_seed_004(module_wharf, module_docker, repo)
    ap.wait_stable_on(seed, seed.first_task_definition)
    yield seed, repo, root
    # The service's tasks stop before the images they run are removed (module_docker).
    ecs = seed.client("ecs")
    try:
        ecs.delete_service(cluster=ap.CLUSTER, service=ap.SERVICE, force=True)
        end = time.monotonic() + 120
        while time.monotonic() < end:
            arns = ecs.list_tasks(cluster=ap.CLUSTER, desiredStatus="RUNNING")["taskArns"]
            arns += ecs.list_tasks(cluster=ap.CLUSTER, desiredStatus="STOPPED")["taskArns"]
            tasks = ecs.describe_tasks(cluster=ap.CLUSTER, tasks=arns)["tasks"] if arns else []
            if all(t["lastStatus"] == "STOPPED" for t in tasks):
                break
            time.sleep(0.5)
        else:
            warnings.warn("the pipeline service's tasks did not stop within 120 s", stacklevel=1)
    except Exception as exc:  # clean-up goes on
        warnings.warn(f"clean-up of {ap.SERVICE}: {exc!r}", stacklevel=1)


def act_push(pipeline, module_docker, sha: str, name: str) -> ap.ActRun:
    seed, repo, root = pipeline
    run = ap.run_act(repo, seed.wharf, module_docker, root / f"act-{name}")
    # What the workflow left in the engine: its local tag and the pushed SHA tag.
    pushed = f"{seed.registry}/{ap.REPOSITORY}:{sha}"
    module_docker.track("ai-assistant:latest", pushed)
    if module_docker.image_exists(pushed):
        module_docker.track_id(pushed)
    return run


def step_results(run: ap.ActRun) -> dict[str, str | None]:
    return {name: step.result for name, step in run.steps.items()}


def alb_name(seed: ap.Seed004) -> str | None:
    answer = lb_get(seed.listener_port, seed.lb_dns)
    assert answer.status == 200, answer
    return answer.name


def primary(svc: dict) -> dict:
    found = [d for d in svc["deployments"] if d["status"] == "PRIMARY"]
    assert len(found) == 1, service_summary(svc)
    return found[0]


def new_task_logs(seed: ap.Seed004, task_arn: str) -> list[str]:
    stream = f"ecs/{ap.CONTAINER}/{task_id(task_arn)}"
    events = seed.client("logs").get_log_events(logGroupName=ap.LOG_GROUP, logStreamName=stream,
                                                startFromHead=True)["events"]
    return [e["message"] for e in events]


# ---------------------------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_the_seed_workflow_as_written_stops_at_register(pipeline, module_docker):
    seed, repo, _ = pipeline
    before = seed.service()
    repo.set_workflow(ap.WORKFLOW.read_text())
    sha = repo.commit("v1-as-written")
    run = act_push(pipeline, module_docker, sha, "as-written")

    assert run.returncode != 0, run.describe()
    results = step_results(run)
    for name in SEED_STEPS[:6]:
        assert results.get(name) == "success", f"{name}: {results}\n{run.describe()}"
    assert results.get("Register new task definition revision") == "failure", run.describe()
    assert results.get("Update ECS service to use new task revision") is None, run.describe()
    # The AWS CLI's own parameter validation, as against AWS.
    assert 'Unknown parameter in input: "taskDefinitionArn"' in run.text(), run.describe()
    # The steps before it did their work: the image is in ECR under the commit SHA.
    images = seed.client("ecr").describe_images(repositoryName=ap.REPOSITORY, imageIds=[{"imageTag": sha}])
    assert images["imageDetails"], images
    # Nothing changed in ECS.
    after = seed.service()
    assert after["taskDefinition"] == before["taskDefinition"]
    assert [d["id"] for d in after["deployments"]] == [d["id"] for d in before["deployments"]]
    families = seed.client("ecs").list_task_definitions(familyPrefix=ap.FAMILY)["taskDefinitionArns"]
    assert len(families) == 1, families


@pytest.mark.timeout(900)
def test_a_commit_is_deployed(pipeline, module_docker):
    seed, repo, _ = pipeline
    ecs = seed.client("ecs")
    before = seed.service()
    old_primary = primary(before)["id"]
    old_revision = int(before["taskDefinition"].rsplit(":", 1)[1])
    repo.set_workflow(FIXED_WORKFLOW.read_text())
    sha = repo.commit("v2")
    run = act_push(pipeline, module_docker, sha, "deploy")

    assert run.returncode == 0, run.describe()
    results = step_results(run)
    for name in [*SEED_STEPS, CHECK_STEP]:
        assert results.get(name) == "success", f"{name}: {results}\n{run.describe()}"
    # The stand-in's `registry` output is proxyEndpoint's host.
    assert f"IMAGE_SHA_TAG={seed.registry}/{ap.REPOSITORY}:{sha}" in run.text(), run.describe()

    # ECR: the image under the commit SHA.
    detail = seed.client("ecr").describe_images(
        repositoryName=ap.REPOSITORY, imageIds=[{"imageTag": sha}])["imageDetails"][0]
    assert sha in detail["imageTags"], detail

    # A new revision naming it (under proxyEndpoint's host).
    image = f"{seed.registry}/{ap.REPOSITORY}:{sha}"
    td = ecs.describe_task_definition(taskDefinition=ap.FAMILY)["taskDefinition"]
    assert td["revision"] == old_revision + 1, td["taskDefinitionArn"]
    assert td["containerDefinitions"][0]["image"] == image, td["containerDefinitions"]
    assert td["containerDefinitions"][0]["name"] == ap.CONTAINER

    # The service: a new PRIMARY deployment, stable on the new revision.
    svc = ap.wait_stable_on(seed, td["taskDefinitionArn"])
    dep = primary(svc)
    assert dep["id"] != old_primary, service_summary(svc)
    assert dep["rolloutState"] == "COMPLETED", service_summary(svc)

    # wharf's runtime pulled the image by that name: the task runs it.
    arns = ecs.list_tasks(cluster=ap.CLUSTER, serviceName=ap.SERVICE, desiredStatus="RUNNING")["taskArns"]
    tasks = [t for t in ecs.describe_tasks(cluster=ap.CLUSTER, tasks=arns)["tasks"]
             if t["taskDefinitionArn"] == td["taskDefinitionArn"] and t["lastStatus"] == "RUNNING"]
    assert len(tasks) == 1, tasks
    container = tasks[0]["containers"][0]
    assert container["image"] == image and container["lastStatus"] == "RUNNING", container

    # The ALB answers with the new version.
    assert alb_name(seed) == "v2"

    # The new task's logs in CloudWatch Logs.
    end = time.monotonic() + 60
    while "listening on 80" not in new_task_logs(seed, tasks[0]["taskArn"]):
        assert time.monotonic() < end, new_task_logs(seed, tasks[0]["taskArn"])
        time.sleep(0.5)


def aws_v1(seed: ap.Seed004, home, *args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    """The AWS CLI v1 with credentials and region from the environment and the endpoint from
    ``env_extra`` only (never ``--endpoint-url``)."""
    access_key, secret_key = seed.wharf.credentials
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_REGION": ap.REGION,
        "AWS_DEFAULT_REGION": ap.REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        **env_extra,
    }
    assert "--endpoint-url" not in args
    return subprocess.run([str(AWS_CLI["v1"]), *args], env=env, cwd=home, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=700)


@pytest.mark.timeout(900)
def test_cli_v1_with_aws_endpoint_url_only(pipeline, tmp_path):
    """The workflow's AWS steps with the AWS CLI v1, the endpoint from the environment or the
    config file only; every UpdateService starts a new PRIMARY deployment."""
    seed, _, _ = pipeline
    endpoint = seed.wharf.endpoint
    config = tmp_path / "config"
    config.write_text(f"[default]\nendpoint_url = {endpoint}\n")
    ways = {
        "AWS_ENDPOINT_URL": {"AWS_ENDPOINT_URL": endpoint},
        "AWS_ENDPOINT_URL_ECS": {"AWS_ENDPOINT_URL_ECS": endpoint},
        "endpoint_url in the config file": {"AWS_CONFIG_FILE": str(config)},
    }
    for way, extra in ways.items():
        out = aws_v1(seed, tmp_path, "ecs", "describe-services", "--cluster", ap.CLUSTER,
                     "--services", ap.SERVICE, "--output", "json", env_extra=extra)
        assert out.returncode == 0, f"{way}: {out.stderr}"
        assert json.loads(out.stdout)["services"][0]["serviceName"] == ap.SERVICE, way

    env = {"AWS_ENDPOINT_URL": endpoint}

    def run(*args: str) -> subprocess.CompletedProcess:
        out = aws_v1(seed, tmp_path, *args, env_extra=env)
        assert out.returncode == 0, f"$ aws {' '.join(args)}\n{out.stdout}\n{out.stderr}"
        return out

    # The workflow's steps, with the running image.
    run("ecs", "describe-task-definition", "--task-definition", ap.FAMILY, "--query", "taskDefinition",
        "--output", "json")
    described = json.loads(run("ecs", "describe-task-definition", "--task-definition", ap.FAMILY,
                               "--query", "taskDefinition", "--output", "json").stdout)
    for key in ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
                "registeredAt", "registeredBy"):
        described.pop(key, None)
    (tmp_path / "updated-task-definition.json").write_text(json.dumps(described))
    registered = json.loads(run("ecs", "register-task-definition", "--cli-input-json",
                                "file://updated-task-definition.json",
                                "--query", "taskDefinition.{family:family,revision:revision}",
                                "--output", "json").stdout)
    before = primary(seed.service())["id"]
    # A new revision, without --force-new-deployment: a new PRIMARY deployment.
    updated = json.loads(run("ecs", "update-service", "--cluster", ap.CLUSTER, "--service", ap.SERVICE,
                             "--task-definition", f"{registered['family']}:{registered['revision']}",
                             "--output", "json").stdout)["service"]
    first = primary(updated)["id"]
    assert first != before, service_summary(updated)
    run("ecs", "wait", "services-stable", "--cluster", ap.CLUSTER, "--services", ap.SERVICE)
    # --force-new-deployment alone (same revision): another new PRIMARY deployment.
    forced = json.loads(run("ecs", "update-service", "--cluster", ap.CLUSTER, "--service", ap.SERVICE,
                            "--force-new-deployment", "--output", "json").stdout)["service"]
    second = primary(forced)["id"]
    assert second not in (before, first), service_summary(forced)
    assert forced["taskDefinition"].endswith(f"/{registered['family']}:{registered['revision']}")
    run("ecs", "wait", "services-stable", "--cluster", ap.CLUSTER, "--services", ap.SERVICE)
    svc = ap.wait_stable_on(seed, forced["taskDefinition"])
    assert primary(svc)["id"] == second, service_summary(svc)


class ServiceWatch:
    """Polls DescribeServices and the ALB in the background (bounded in count and time):
    every (deployment id, status, rolloutState, reason) seen, and every ALB answer."""

    def __init__(self, seed: ap.Seed004, max_polls: int = 4000, max_seconds: float = 600.0):
        self.seed = seed
        self.seen: set[tuple] = set()
        self.answers = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._max_polls, self._max_seconds = max_polls, max_seconds
        self._thread = threading.Thread(target=self._run, daemon=True, name="service-watch")

    def __enter__(self) -> "ServiceWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        ecs = self.seed.wharf.boto3_client("ecs", region=ap.REGION)
        end = time.monotonic() + self._max_seconds
        for _ in range(self._max_polls):
            if self._stop.is_set() or time.monotonic() >= end:
                return
            try:
                svc = ecs.describe_services(cluster=ap.CLUSTER, services=[ap.SERVICE])["services"][0]
                for d in svc["deployments"]:
                    self.seen.add((d["id"], d["status"], d.get("rolloutState"), d.get("rolloutStateReason")))
            except Exception as exc:  # recorded, asserted on
                self.errors.append(repr(exc))
            try:
                self.answers.append(lb_get(self.seed.listener_port, self.seed.lb_dns))
            except OSError as exc:
                self.errors.append(repr(exc))
            time.sleep(0.2)


@pytest.mark.timeout(900)
def test_a_broken_commit_is_rolled_back_and_fails_the_workflow(pipeline, module_docker):
    seed, repo, _ = pipeline
    good = seed.service()
    good_td = good["taskDefinition"]
    good_version = alb_name(seed)
    repo.set_workflow(FIXED_WORKFLOW.read_text())
    sha = repo.commit("v3-broken", ["exit", "1"])

    with ServiceWatch(seed) as watch:
        run = act_push(pipeline, module_docker, sha, "broken")

    assert run.returncode != 0, run.describe()
    results = step_results(run)
    # The seed's steps all pass: `services-stable` succeeds once the rollback is stable.
    for name in SEED_STEPS:
        assert results.get(name) == "success", f"{name}: {results}\n{run.describe()}"
    assert results.get(CHECK_STEP) == "failure", run.describe()
    broken_revision = int(good_td.rsplit(":", 1)[1]) + 1
    good_name = good_td.rsplit("/", 1)[1]
    message = f"deployment of {ap.FAMILY}:{broken_revision} failed: the service runs {good_name} (rolled back)"
    assert message in run.text(), run.describe()

    # The rollout was FAILED with the circuit breaker's reason, then rolled back.
    failed = [s for s in watch.seen if s[2] == "FAILED"]
    assert failed and all(s[3] == BREAKER_REASON for s in failed), sorted(watch.seen, key=str)
    svc = ap.wait_stable_on(seed, good_td)
    assert svc["taskDefinition"] == good_td
    messages = [e["message"] for e in svc["events"]]
    assert any("deployment failed: tasks failed to start." in m for m in messages), messages
    assert any(m.startswith(f"(service {ap.SERVICE}) rolling back to deployment ") for m in messages), messages

    # The ALB served the old version throughout.
    assert not watch.errors, watch.errors[:5]
    assert len(watch.answers) >= 10, len(watch.answers)
    assert not Load.failures(watch.answers), Load.describe(watch.answers)
    assert {a.name for a in watch.answers} == {good_version}, Load.describe(watch.answers)
