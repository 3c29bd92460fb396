#!/usr/bin/env python3
"""Deploy benchmark: the wall time of seed 004's whole `act push` deploy of a small image
against wharf, split into its parts.

Per run (real `wharf server`, Docker, act from .deps/venv, the stand-in actions of
tests/e2e/fixtures/github-actions; see tests/e2e/act_pipeline.py): the seed's resources are
set up once (service of 1 awsvpc task behind an ALB, target group health checks every 5 s,
2 to be healthy, deregistration delay 5 s, container health check every 5 s), then each run
commits a new version of the test application (a 3 MB `FROM scratch` image) and runs
`act push` with fixtures/github-actions/deploy-fixed.yml. The phases come from act's --json
log (a step starts at its first log line and ends at its result line):

  setup     Checkout + Configure AWS credentials + Login to Amazon ECR
  build     Build and push Docker image, until `docker build` tagged the image
  push      the rest of that step (`docker push`)
  register  Download current task definition + Update image + Register new revision +
            Update ECS service
  wait      Wait for service stability (`aws ecs wait services-stable`, which polls every 15 s)
  stable    of which: from the end of update-service until the service was stable on the new
            revision (one COMPLETED deployment, its task RUNNING), seen by DescribeServices
            every 100 ms from the benchmark
  check     the added check step

Usage: scripts/bench-deploy.sh [--runs 3] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import act_pipeline as ap  # noqa: E402
from wharf_e2e import DockerCli, Wharf, scrub_aws_environment, unique_suffix  # noqa: E402

MARK_START, MARK_END = "<!-- deploy-bench:start -->", "<!-- deploy-bench:end -->"
PHASES = [
    ("setup", "checkout, credentials, ECR login (stand-ins)"),
    ("build", "docker build"),
    ("push", "docker push"),
    ("register", "describe / jq / register-task-definition / update-service"),
    ("wait", "aws ecs wait services-stable"),
    ("stable", "of which: until the service was stable (polled every 100 ms)"),
    ("check", "the added check step"),
]


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def phases(run: ap.ActRun, stable_at: float | None) -> dict[str, float]:
    s = run.steps

    def secs(*names: str) -> float:
        return sum(s[n].seconds for n in names)

    build_step = s["Build and push Docker image"]
    tagged = [t for t, text in build_step.output if text.startswith("Successfully tagged")]
    built_at = tagged[0] if tagged else build_step.end
    return {
        "setup": secs("Checkout", "Configure AWS credentials", "Login to Amazon ECR"),
        "build": built_at - build_step.start,
        "push": build_step.end - built_at,
        "register": secs("Download current task definition", "Update image in task definition",
                         "Register new task definition revision",
                         "Update ECS service to use new task revision"),
        "wait": secs("Wait for service stability (optional but recommended)"),
        "stable": (stable_at or float("nan")) - s["Update ECS service to use new task revision"].end,
        "check": secs("Check the service runs the new revision"),
        "total": run.wall_s,
    }


def wharf_binary() -> Path:
    value = os.environ.get("WHARF_BIN")
    if value:
        return Path(value)
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "wharf"


def bench(runs: int) -> tuple[list[dict[str, float]], dict[str, str]]:
    scrub_aws_environment()
    binary = wharf_binary()
    results = []
    with tempfile.TemporaryDirectory(prefix="wharf-deploy-bench-") as tmp:
        root = Path(tmp)
        wharf = Wharf(binary, root / "wharf")
        docker = DockerCli(root / "docker", unique_suffix())
        seed = None
        try:
            repo = ap.AppRepo(root / "app")
            repo.set_workflow(ap.GITHUB_ACTIONS.joinpath("deploy-fixed.yml").read_text())
            log(f"setting up seed 004's resources on {wharf.endpoint} ({binary})")
            seed = ap.setup_seed_004(wharf, docker, repo)
            ap.wait_stable_on(seed, seed.first_task_definition)
            for i in range(runs):
                sha = repo.commit(f"v{i + 2}")
                revision = int(seed.service()["taskDefinition"].rsplit(":", 1)[1]) + 1
                watch = StableWatch(seed, revision).start()
                run = ap.run_act(repo, wharf, docker, root / f"act-{i}")
                watch.stop()
                docker.track("ai-assistant:latest", f"{seed.registry}/{ap.REPOSITORY}:{sha}")
                if run.returncode != 0:
                    sys.exit(f"act push failed:\n{run.describe()}")
                p = phases(run, watch.stable_at)
                results.append(p)
                log(f"run {i + 1}/{runs}: " + ", ".join(f"{k} {v:.1f}s" for k, v in p.items()))
        finally:
            if seed is not None:
                stop_service(seed)
            wharf.stop()
            for problem in docker.cleanup():
                log(f"clean-up: {problem}")
    versions = {
        "act": subprocess.run([str(ap.ACT), "--version"], capture_output=True, text=True).stdout.strip(),
        "aws": subprocess.run([str(ap.VENV_BIN / "aws"), "--version"], capture_output=True,
                              text=True).stdout.strip().split(" ")[0],
        "wharf": str(binary),
    }
    return results, versions


class StableWatch:
    """DescribeServices every 100 ms until the service is stable on ``revision``."""

    def __init__(self, seed: ap.Seed004, revision: int):
        self.ecs = seed.client("ecs")
        self.revision = revision
        self.stable_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "StableWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        end = time.monotonic() + ap.ACT_TIMEOUT_S
        while not self._stop.is_set() and time.monotonic() < end:
            svc = self.ecs.describe_services(cluster=ap.CLUSTER, services=[ap.SERVICE])["services"][0]
            deps = svc["deployments"]
            if (len(deps) == 1 and deps[0]["taskDefinition"].endswith(f":{self.revision}")
                    and deps[0]["rolloutState"] == "COMPLETED" and svc["runningCount"] == 1):
                self.stable_at = time.time()
                return
            time.sleep(0.1)


def stop_service(seed: ap.Seed004) -> None:
    ecs = seed.client("ecs")
    ecs.delete_service(cluster=ap.CLUSTER, service=ap.SERVICE, force=True)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        arns = ecs.list_tasks(cluster=ap.CLUSTER, desiredStatus="RUNNING")["taskArns"]
        if not arns:
            return
        time.sleep(0.5)


def table(results: list[dict[str, float]]) -> str:
    rows = ["| phase | median (s) | min (s) | max (s) |", "|---|---|---|---|"]
    for key, label in [*PHASES, ("total", "whole `act push` (wall)")]:
        values = [r[key] for r in results]
        rows.append(f"| {key}: {label} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |")
    return "\n".join(rows)


def write_section(path: Path, text: str) -> None:
    doc = path.read_text()
    block = f"{MARK_START}\n{text}\n{MARK_END}"
    if MARK_START in doc:
        doc = re.sub(re.escape(MARK_START) + r".*?" + re.escape(MARK_END), lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", type=Path, help="replace the deploy section of this markdown file")
    args = parser.parse_args()
    results, versions = bench(args.runs)
    out = table(results)
    print(out)
    if args.write:
        stamp = time.strftime("%Y-%m-%d", time.gmtime())
        text = (f"Measured {stamp}, {args.runs} deploys, {os.cpu_count()} cores, {versions['act']}, "
                f"{versions['aws']}, wharf `{Path(versions['wharf']).parent.name}` build.\n\n{out}")
        write_section(args.write, text)
        log(f"wrote {args.write}")


if __name__ == "__main__":
    main()
