#!/usr/bin/env python3
"""Task start benchmark: how long `RunTask` takes to reach RUNNING on wharf, beside the same
container started with `docker run` on the same engine in the same run (the floor wharf builds
on: the ECS agent on Fargate does the same engine calls plus its own bookkeeping).

- sequential: --tasks tasks one after the other (image already present): time from the
  RunTask call to DescribeTasks answering RUNNING (polled every 10 ms); peer: `docker run -d`
  to `docker inspect` answering running, same image, network and memory limit;
- burst: --burst tasks started by one RunTask (count) / --burst `docker run -d` at once:
  time from the call to each one running;
- memory: wharf's resident memory with the burst's tasks running, minus before, per task.

Usage: scripts/bench-tasks.sh [--tasks 20] [--burst 10] [--write docs/benchmarks.md]
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
from testapp import build_testapp_image, push_testapp  # noqa: E402
from wharf_e2e import DockerCli, Ecr, Wharf, unique_suffix  # noqa: E402

MARK_START, MARK_END = "<!-- tasks-bench:start -->", "<!-- tasks-bench:end -->"
DEADLINE_S = 120
POLL_S = 0.01
PEER_NETWORK = "wharf-bench-peer"


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def rss_kib(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.M).group(1))


class WharfTasks:
    def __init__(self, wharf: Wharf, image: str):
        self.ecs = wharf.boto3_client("ecs")
        ec2 = wharf.boto3_client("ec2")
        self.subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        self.ecs.register_task_definition(
            family="bench", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": image, "command": ["serve", "8080"],
                                   "portMappings": [{"containerPort": 8080}]}],
        )

    def run(self, count: int) -> list[float]:
        """Starts `count` tasks with one RunTask; seconds from the call to each one RUNNING."""
        t0 = time.monotonic()
        out = self.ecs.run_task(
            taskDefinition="bench", launchType="FARGATE", count=count,
            networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet]}})
        arns = [t["taskArn"] for t in out["tasks"]]
        done: dict[str, float] = {}
        end = t0 + DEADLINE_S
        while len(done) < len(arns):
            if time.monotonic() > end:
                sys.exit(f"tasks did not reach RUNNING within {DEADLINE_S}s")
            for t in self.ecs.describe_tasks(tasks=[a for a in arns if a not in done])["tasks"]:
                if t["lastStatus"] == "RUNNING":
                    done[t["taskArn"]] = time.monotonic() - t0
                elif t["lastStatus"] == "STOPPED":
                    sys.exit(f"a task stopped: {t.get('stoppedReason')}")
            time.sleep(POLL_S)
        self.arns = getattr(self, "arns", []) + arns
        return list(done.values())

    def stop_all(self) -> None:
        for arn in getattr(self, "arns", []):
            self.ecs.stop_task(task=arn)
        end = time.monotonic() + DEADLINE_S
        pending = list(getattr(self, "arns", []))
        while pending and time.monotonic() < end:
            tasks = self.ecs.describe_tasks(tasks=pending[:100])["tasks"]
            pending = [t["taskArn"] for t in tasks if t["lastStatus"] != "STOPPED"] + pending[100:]
            time.sleep(0.2)
        self.arns = []


class DockerPeer:
    """The same container, started by hand on the engine."""

    def __init__(self, docker: DockerCli, image: str):
        self.docker, self.image, self.names = docker, image, []
        docker.run("network", "create", "--subnet", "10.250.0.0/16", PEER_NETWORK, check=False)

    def _start_one(self, results: list, t0: float) -> None:
        name = f"wharf-bench-peer-{unique_suffix()}"
        self.names.append(name)
        self.docker.run("run", "-d", "--name", name, "--network", PEER_NETWORK, "--memory", "512m",
                        self.image, "serve", "8080")
        end = t0 + DEADLINE_S
        while time.monotonic() < end:
            state = self.docker.run("inspect", "-f", "{{.State.Running}}", name).stdout.strip()
            if state == "true":
                results.append(time.monotonic() - t0)
                return
            time.sleep(POLL_S)
        sys.exit("docker run: container not running in time")

    def run(self, count: int) -> list[float]:
        results: list[float] = []
        t0 = time.monotonic()
        threads = [threading.Thread(target=self._start_one, args=(results, t0)) for _ in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def stop_all(self) -> None:
        if self.names:
            self.docker.run("rm", "-f", *self.names, check=False)
        self.names = []

    def close(self) -> None:
        self.stop_all()
        self.docker.run("network", "rm", PEER_NETWORK, check=False)


def summarize(values: list[float]) -> dict:
    return {"p50": statistics.median(values), "p99": pct(values, 99), "max": max(values)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wharf", default=str(ROOT / "target/release/wharf"), type=lambda p: str(Path(p).resolve()))
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--burst", type=int, default=10)
    ap.add_argument("--write", help="replace the tasks section of this markdown file")
    args = ap.parse_args()
    if not (1 <= args.tasks <= 100 and 1 <= args.burst <= 10):
        sys.exit("--tasks 1-100, --burst 1-10 (RunTask's count limit)")

    with tempfile.TemporaryDirectory(prefix="wharf-tasks-bench-") as tmp:
        tmp = Path(tmp)
        docker = DockerCli(tmp / "docker", unique_suffix())
        wharf = Wharf(Path(args.wharf), tmp / "wharf", ["--log", "warn"])
        peer = None
        try:
            log("building and pushing the testapp image ...")
            local = build_testapp_image(docker, tmp)
            image = push_testapp(Ecr(wharf), docker, local)
            tasks = WharfTasks(wharf, image)
            peer = DockerPeer(docker, local)
            log("warming up (first task creates the networks and pulls) ...")
            tasks.run(1)
            tasks.stop_all()
            peer.run(1)
            peer.stop_all()

            seq = {"wharf": [], "docker": []}
            for i in range(args.tasks):
                seq["wharf"] += tasks.run(1)
                seq["docker"] += peer.run(1)
            log(f"sequential: wharf p50 {statistics.median(seq['wharf']):.3f}s, "
                f"docker p50 {statistics.median(seq['docker']):.3f}s")
            tasks.stop_all()
            peer.stop_all()

            before = rss_kib(wharf.server.proc.pid)
            burst = {"wharf": tasks.run(args.burst)}
            time.sleep(1)
            after = rss_kib(wharf.server.proc.pid)
            tasks.stop_all()
            burst["docker"] = peer.run(args.burst)
            peer.stop_all()
            log(f"burst: wharf p50 {statistics.median(burst['wharf']):.3f}s, "
                f"docker p50 {statistics.median(burst['docker']):.3f}s")
        finally:
            if peer:
                peer.close()
            wharf.stop()
            docker.cleanup()

    s = {k: summarize(v) for k, v in seq.items()}
    b = {k: summarize(v) for k, v in burst.items()}
    per_task_kib = (after - before) / args.burst
    rows = [
        "| measurement | wharf RunTask -> RUNNING | docker run -> running | ratio (wharf / docker) |",
        "|---|---|---|---|",
    ]
    for label, d in ((f"{args.tasks} tasks one by one", s), (f"{args.burst} tasks at once", b)):
        for q in ("p50", "p99"):
            rows.append(f"| {label}, {q} (s) | {d['wharf'][q]:.3f} | {d['docker'][q]:.3f} | "
                        f"{d['wharf'][q] / d['docker'][q]:.2f}x |")
    rows.append(f"| wharf resident memory per running task (KiB) | {per_task_kib:.0f} | | |")
    table = "\n".join(rows)
    print(table)
    if args.write:
        path = Path(args.write)
        doc = path.read_text() if path.exists() else "# Benchmarks\n"
        stamp = f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores.\n\n"
        block = f"{MARK_START}\n{stamp}{table}\n{MARK_END}"
        if MARK_START in doc:
            doc = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, doc, flags=re.S)
        else:
            doc = doc.rstrip("\n") + "\n\n" + SECTION + block + "\n"
        path.write_text(doc)
        log(f"wrote {path}")


SECTION = """\
## Tasks: RunTask to RUNNING

Command: `scripts/bench-tasks.sh --write docs/benchmarks.md`

- wharf: release build; one awsvpc task of the testapp image (tests/testapp, pushed into
  wharf's registry, so every start pulls its manifest from wharf's registry with a token),
  `serve` in 256 CPU units / 512 MiB, awslogs off; RUNNING as DescribeTasks reports it, polled
  every 10 ms.
- Peer: the same image started with `docker run -d --network <bridge> --memory 512m` on the same
  engine, running as `docker inspect` reports it, polled every 10 ms.
- Target: p50 under 1 s (Fargate takes tens of seconds).

"""


if __name__ == "__main__":
    main()
