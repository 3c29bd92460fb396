#!/usr/bin/env python3
"""Services benchmark: a rolling deployment of 4 tasks behind wharf's ALB, split into the waits
the configuration asks for, the container engine's own work and wharf's overhead; and the
service controller's throughput at 1,000 services on the fake runtime
(crates/wharf-agent/examples/service_controller_bench.rs), beside the store floor.

Rolling deployment (real `wharf server`, Docker, the testapp image pushed to wharf's ECR), per
run: a service of 4 awsvpc tasks behind an ALB listener on 127.0.0.1 (ip target group, health
check every 5 s, 2 to be healthy, deregistration delay 5 s), steady; then UpdateService to
revision 2, polled every 50 ms (DescribeServices, DescribeTasks, DescribeTargetHealth) until the
deployment is COMPLETED, 4 revision-2 tasks run and every revision-1 task is STOPPED. The
critical path is cut at the last task of each step:

  UpdateService -> launched (createdAt) -> RUNNING (startedAt) -> registered (seen in the target
  group) -> healthy -> old targets deregistered (seen draining or gone) -> old tasks told to stop (seen
  desiredStatus STOPPED) -> STOPPED (stoppedAt) -> seen complete.

Configured waits: the health checks (a target is checked at registration and then every
interval, so two passing checks take (threshold - 1) x interval = 5 s). The deregistration
delay (5 s) is not waited for: with no request in flight a deregistering target is done at once
(as on AWS), and the benchmark sends none. Engine: in
the same run, 4 `docker run -d` of the same image at once until the last runs, and 4 `docker
stop` at once (the peer of the task start and stop). wharf's overhead: everything else.

Usage: scripts/bench-services.sh [--runs 3] [--services 1000] [--skip-controller]
       [--skip-rolling] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from testapp import TESTAPP_PORT, build_testapp_image, push_testapp  # noqa: E402
from wharf_e2e import DockerCli, Ecr, Wharf, unique_suffix  # noqa: E402

MARK_START, MARK_END = "<!-- services-bench:start -->", "<!-- services-bench:end -->"
TASKS = 4
HEALTH = dict(HealthCheckPath="/health", HealthCheckIntervalSeconds=5,
              HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2, UnhealthyThresholdCount=2)
DEREGISTRATION_DELAY_S = 5
POLL_S = 0.05
STEADY_DEADLINE_S = 180
PEER_NETWORK = "wharf-bench-services-peer"
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"

# The critical path, in order: (key, label, what it is compared with).
STEPS = [
    ("launch", "UpdateService -> last new task launched", "overhead"),
    ("running", "launched -> last new task RUNNING", "docker run"),
    ("registered", "RUNNING -> last new task registered", "overhead"),
    ("healthy", "registered -> last new target healthy", "health"),
    ("deregistered", "healthy -> last old target deregistered", "overhead"),
    ("stop_requested", "deregistered -> last old task told to stop", "drain"),
    ("stopped", "told to stop -> last old task STOPPED", "docker stop"),
    ("complete", "STOPPED -> deployment seen COMPLETED", "overhead"),
]


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def cargo_target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def epoch(value) -> float:
    """A boto3 timestamp (datetime) as epoch seconds."""
    return value.timestamp()


# ---------------------------------------------------------------------------------------------
# The controller at 1,000 services (the cargo example)
# ---------------------------------------------------------------------------------------------


def run_controller_bench(services: int) -> dict:
    binary = cargo_target_dir() / "release" / "examples" / "service_controller_bench"
    log(f"controller: {services} services on the fake runtime ({binary.name}) ...")
    proc = subprocess.run([str(binary), "--services", str(services), "--json"],
                          stdout=subprocess.PIPE, stderr=None, text=True, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"{binary.name} exited {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def controller_table(r: dict) -> str:
    c, s, roll, s2 = r["create"], r["steady"], r["roll"], r["steady_after_roll"]
    rows = [
        "| measurement | wharf controller | store floor | ratio (controller / floor) |",
        "|---|---|---|---|",
        f"| create {r['services']} services ({r['tasks_desired']} tasks): until all steady (s, wall) "
        f"| {c['wall_s']:.1f} | | |",
        f"| create: time in passes (s), {c['passes']} passes, {c['committed_steps']} committed steps "
        f"| {c['controller_s']:.2f} | {c['floor_s']:.2f} | {c['controller_s'] / c['floor_s']:.1f}x |",
        f"| steady: one pass over {r['services']} services, {s['task_records']} task records (ms, median) "
        f"| {s['pass_ms_median']:.1f} | {s['floor_ms_median']:.1f} | "
        f"{s['pass_ms_median'] / s['floor_ms_median']:.1f}x |",
        f"| steady: services reconciled per second | {s['services_per_s']:.0f} | "
        f"{r['services'] / s['floor_ms_median'] * 1000:.0f} | |",
        f"| steady: of a pass, reading the records into their types (ms) | {s['typed_read_ms_median']:.1f} | | |",
        f"| roll all {r['services']} to revision 2: until all steady (s, wall) | {roll['wall_s']:.1f} | | |",
        f"| roll: until the last old task is STOPPED (s, wall) | {roll['all_stopped_s']:.1f} | | |",
        f"| roll: time in passes (s), {roll['passes']} passes, {roll['committed_steps']} committed steps "
        f"| {roll['controller_s']:.2f} | {roll['floor_s']:.2f} | {roll['controller_s'] / roll['floor_s']:.1f}x |",
        f"| steady after the roll: one pass, {s2['task_records']} task records (ms, median) "
        f"| {s2['pass_ms_median']:.1f} | {s2['floor_ms_median']:.1f} | "
        f"{s2['pass_ms_median'] / s2['floor_ms_median']:.1f}x |",
        f"| DescribeServices of 10 services, {s['task_records']} / {s2['task_records']} task records (ms) "
        f"| {c['describe_10_ms']:.0f} / {roll['describe_10_ms']:.0f} | | |",
    ]
    if r.get("agent_idle_cpu") is not None:
        rows.append(f"| agent, {r['tasks_desired']} tasks running, nothing changing (CPU, share of one core) "
                    f"| {r['agent_idle_cpu']:.2f} | | |")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------
# The rolling deployment (wharf server + Docker)
# ---------------------------------------------------------------------------------------------


class Rolling:
    """One wharf server with one load balancer; one service (and target group) per run."""

    def __init__(self, wharf: Wharf, image: str):
        self.ecs = wharf.boto3_client("ecs")
        self.elb = wharf.boto3_client("elbv2")
        ec2 = wharf.boto3_client("ec2")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        self.vpc = vpc
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        self.subnets = [s["SubnetId"] for s in subnets][:2]
        self.cluster = "bench"
        self.ecs.create_cluster(clusterName=self.cluster)
        self.revisions = [self._register(image, v) for v in ("1", "2")]
        self.lb = self.elb.create_load_balancer(Name="bench-alb", Subnets=self.subnets)[
            "LoadBalancers"][0]["LoadBalancerArn"]
        self.live: list[tuple[str, str, str]] = []  # (service, target group, listener)
        self.removed: set[str] = set()

    def _register(self, image: str, version: str) -> str:
        return self.ecs.register_task_definition(
            family="bench-roll", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512", executionRoleArn=EXECUTION_ROLE,
            containerDefinitions=[{
                "name": "app", "image": image, "command": ["serve", str(TESTAPP_PORT)],
                "portMappings": [{"containerPort": TESTAPP_PORT}],
                "environment": [{"name": "VERSION", "value": version}]}],
        )["taskDefinition"]["taskDefinitionArn"]

    def service(self, name: str):
        return self.ecs.describe_services(cluster=self.cluster, services=[name])["services"][0]

    def tasks(self, name: str) -> list[dict]:
        arns = []
        for status in ("RUNNING", "STOPPED"):
            arns += self.ecs.list_tasks(cluster=self.cluster, serviceName=name,
                                        desiredStatus=status)["taskArns"]
        out = []
        for i in range(0, len(arns), 100):
            out += self.ecs.describe_tasks(cluster=self.cluster, tasks=arns[i:i + 100])["tasks"]
        return out

    def health(self, tg: str) -> dict[str, str]:
        """Target IP -> state."""
        d = self.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        return {t["Target"]["Id"]: t["TargetHealth"]["State"] for t in d}

    def start(self, run: int) -> tuple[str, str]:
        tg = self.elb.create_target_group(
            Name=f"bench-roll-{run}", Protocol="HTTP", Port=TESTAPP_PORT, VpcId=self.vpc,
            TargetType="ip", **HEALTH)["TargetGroups"][0]["TargetGroupArn"]
        self.elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": str(DEREGISTRATION_DELAY_S)}])
        listener = self.elb.create_listener(
            LoadBalancerArn=self.lb, Protocol="HTTP", Port=free_port(),
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]["ListenerArn"]
        name = f"bench-roll-{run}"
        self.live.append((name, tg, listener))
        t0 = time.monotonic()
        self.ecs.create_service(
            cluster=self.cluster, serviceName=name, taskDefinition=self.revisions[0],
            desiredCount=TASKS, launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": self.subnets}},
            loadBalancers=[{"targetGroupArn": tg, "containerName": "app",
                            "containerPort": TESTAPP_PORT}],
            deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100})
        end = t0 + STEADY_DEADLINE_S
        while True:
            s = self.service(name)
            d = s["deployments"]
            if len(d) == 1 and d[0]["rolloutState"] == "COMPLETED" and s["runningCount"] == TASKS:
                break
            if time.monotonic() > end:
                raise RuntimeError(f"service {name} not steady within {STEADY_DEADLINE_S}s: {d}")
            time.sleep(0.1)
        log(f"run {run}: {TASKS} tasks steady after {time.monotonic() - t0:.1f}s")
        return name, tg

    def roll(self, name: str, tg: str) -> dict:
        """UpdateService to revision 2; returns each milestone's epoch time."""
        old = {t["taskArn"]: t for t in self.tasks(name)
               if t["lastStatus"] == "RUNNING" and t["taskDefinitionArn"] == self.revisions[0]}
        old_ips = {arn: private_ip(t) for arn, t in old.items()}
        seen_registered: dict[str, float] = {}
        seen_healthy: dict[str, float] = {}
        seen_draining: dict[str, float] = {}
        seen_stop: dict[str, float] = {}
        t0 = time.time()
        self.ecs.update_service(cluster=self.cluster, service=name, taskDefinition=self.revisions[1])
        end = time.monotonic() + STEADY_DEADLINE_S
        while True:
            now_poll = time.time()
            tasks = self.tasks(name)
            health = self.health(tg)
            s = self.service(name)
            now = time.time()
            # A poll's observations are dated at the middle of the poll.
            at = (now_poll + now) / 2
            new = [t for t in tasks if t["taskDefinitionArn"] == self.revisions[1]]
            for t in new:
                ip = private_ip(t)
                if ip and ip in health:
                    seen_registered.setdefault(t["taskArn"], at)
                    if health[ip] == "healthy":
                        seen_healthy.setdefault(t["taskArn"], at)
            by_arn = {t["taskArn"]: t for t in tasks}
            for arn, ip in old_ips.items():
                if health.get(ip) in ("draining", None):
                    seen_draining.setdefault(arn, at)
                if by_arn.get(arn, {}).get("desiredStatus") == "STOPPED":
                    seen_stop.setdefault(arn, at)
            d = s["deployments"]
            running_new = [t for t in new if t["lastStatus"] == "RUNNING"]
            old_stopped = all(by_arn.get(a, {}).get("lastStatus") == "STOPPED" for a in old)
            if (len(d) == 1 and d[0]["rolloutState"] == "COMPLETED"
                    and d[0]["taskDefinition"] == self.revisions[1]
                    and len(running_new) == TASKS and old_stopped):
                break
            if time.monotonic() > end:
                raise RuntimeError(f"rollout of {name} not complete within {STEADY_DEADLINE_S}s: "
                                   f"{d}; events {[e['message'] for e in s['events'][:5]]}")
            time.sleep(POLL_S)
        new_running = [t for t in new if t["lastStatus"] == "RUNNING"]
        return {
            "start": t0,
            "launch": max(epoch(t["createdAt"]) for t in new_running),
            "running": max(epoch(t["startedAt"]) for t in new_running),
            "registered": max(seen_registered[t["taskArn"]] for t in new_running),
            "healthy": max(seen_healthy[t["taskArn"]] for t in new_running),
            "deregistered": max(seen_draining.values()),
            "stop_requested": max(seen_stop.values()),
            "stopped": max(epoch(by_arn[a]["stoppedAt"]) for a in old),
            "complete": at,
        }

    def remove(self, name: str) -> None:
        """Scales to 0, deletes the service and waits until its tasks are STOPPED."""
        if name in self.removed:
            return
        self.removed.add(name)
        try:
            self.ecs.update_service(cluster=self.cluster, service=name, desiredCount=0)
        except Exception as e:  # noqa: BLE001 - clean-up goes on regardless
            log(f"scale {name} to 0: {e}")
        self.ecs.delete_service(cluster=self.cluster, service=name, force=True)
        end = time.monotonic() + STEADY_DEADLINE_S
        while time.monotonic() < end:
            if all(t["lastStatus"] == "STOPPED" for t in self.tasks(name)) and \
                    self.service(name)["status"] == "INACTIVE":
                return
            time.sleep(0.2)
        log(f"warning: service {name} still has tasks after {STEADY_DEADLINE_S}s")

    def close(self) -> None:
        for name, tg, listener in self.live:
            try:
                self.remove(name)
            except Exception as e:  # noqa: BLE001
                log(f"clean-up of {name}: {e}")
            for call in (lambda: self.elb.delete_listener(ListenerArn=listener),
                         lambda: self.elb.delete_target_group(TargetGroupArn=tg)):
                try:
                    call()
                except Exception as e:  # noqa: BLE001
                    log(f"clean-up: {e}")
        self.live = []
        try:
            self.elb.delete_load_balancer(LoadBalancerArn=self.lb)
        except Exception as e:  # noqa: BLE001
            log(f"clean-up: {e}")


def private_ip(task: dict) -> str | None:
    for a in task.get("attachments", []):
        for d in a.get("details", []):
            if d["name"] == "privateIPv4Address" and d.get("value"):
                return d["value"]
    return None


class DockerPeer:
    """The same 4 containers started and stopped by hand on the same engine."""

    def __init__(self, docker: DockerCli, image: str):
        self.docker, self.image = docker, image
        docker.run("network", "create", "--subnet", "10.251.0.0/16", PEER_NETWORK, check=False)

    def _start(self, name: str, t0: float, out: list) -> None:
        self.docker.run("run", "-d", "--name", name, "--network", PEER_NETWORK, "--memory", "512m",
                        self.image, "serve", str(TESTAPP_PORT))
        end = t0 + STEADY_DEADLINE_S
        while time.monotonic() < end:
            if self.docker.run("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true":
                out.append(time.monotonic() - t0)
                return
            time.sleep(0.01)

    def _stop(self, name: str, t0: float, out: list) -> None:
        self.docker.run("stop", "-t", "30", name)
        out.append(time.monotonic() - t0)

    def _all(self, target, names: list[str]) -> float:
        results: list[float] = []
        t0 = time.monotonic()
        threads = [threading.Thread(target=target, args=(n, t0, results)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if len(results) != len(names):
            raise RuntimeError("a peer container did not start or stop")
        return max(results)

    def cycle(self) -> tuple[float, float]:
        """Seconds until the last of 4 runs, and until the last of 4 is stopped."""
        names = [f"wharf-bench-svc-peer-{unique_suffix()}" for _ in range(TASKS)]
        try:
            start = self._all(self._start, names)
            stop = self._all(self._stop, names)
        finally:
            self.docker.run("rm", "-f", *names, check=False)
        return start, stop

    def close(self) -> None:
        self.docker.run("network", "rm", PEER_NETWORK, check=False)


def steps_of(m: dict) -> dict:
    order = ["start"] + [k for k, _, _ in STEPS]
    return {k: m[k] - m[prev] for prev, k in zip(order, order[1:])}


def rolling_table(runs: list[dict]) -> str:
    med = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    step_med = {k: statistics.median(r["steps"][k] for r in runs) for k, _, _ in STEPS}
    total = med("total")
    health_cfg = (HEALTH["HealthyThresholdCount"] - 1) * HEALTH["HealthCheckIntervalSeconds"]
    # Nothing is in flight when the old targets are deregistered: draining is over at once.
    drain_cfg = 0
    peers = {"docker run": med("docker_run"), "docker stop": med("docker_stop"),
             "health": health_cfg, "drain": drain_cfg}
    rows = ["| step (last task of 4) | wharf (s) | configured wait or engine peer (s) | wharf beyond it (s) |",
            "|---|---|---|---|"]
    for key, label, kind in STEPS:
        peer = peers.get(kind)
        ref = f"{peer:.2f} ({kind})" if peer is not None else ""
        beyond = step_med[key] - (peer or 0.0)
        rows.append(f"| {label} | {step_med[key]:.2f} | {ref} | {beyond:+.2f} |")
    configured = health_cfg + drain_cfg
    engine = peers["docker run"] + peers["docker stop"]
    overhead = total - configured - engine
    rows += [
        f"| **UpdateService -> COMPLETED, only revision 2 running** | **{total:.2f}** | | |",
        "",
        "| split of the wall time (medians) | s | share |",
        "|---|---|---|",
        f"| configured waits: health checks ({health_cfg} s; the deregistration delay, "
        f"{DEREGISTRATION_DELAY_S} s, is not waited for with nothing in flight) "
        f"| {configured:.2f} | {configured / total:.0%} |",
        f"| container engine: 4 x docker run + 4 x docker stop, at once (peer, same run) | {engine:.2f} | "
        f"{engine / total:.0%} |",
        f"| wharf's overhead (the rest) | {overhead:.2f} | {overhead / total:.0%} |",
    ]
    return "\n".join(rows)


def run_rolling(wharf_bin: str, runs: int) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory(prefix="wharf-services-bench-") as tmp:
        tmp = Path(tmp)
        docker = DockerCli(tmp / "docker", unique_suffix())
        wharf = Wharf(Path(wharf_bin), tmp / "wharf", ["--log", "warn"])
        rolling = peer = None
        try:
            log("building and pushing the testapp image ...")
            local = build_testapp_image(docker, tmp)
            image = push_testapp(Ecr(wharf), docker, local)
            rolling = Rolling(wharf, image)
            peer = DockerPeer(docker, local)
            peer.cycle()  # warm-up: the peer network and the engine's caches
            for run in range(1, runs + 1):
                name, tg = rolling.start(run)
                m = rolling.roll(name, tg)
                docker_run, docker_stop = peer.cycle()
                r = {"steps": steps_of(m), "total": m["complete"] - m["start"],
                     "docker_run": docker_run, "docker_stop": docker_stop}
                results.append(r)
                log(f"run {run}: rolled in {r['total']:.2f}s; steps "
                    + ", ".join(f"{k} {v:.2f}" for k, v in r["steps"].items())
                    + f"; docker run {docker_run:.2f}s, docker stop {docker_stop:.2f}s")
                rolling.remove(name)
        finally:
            if rolling:
                rolling.close()
            if peer:
                peer.close()
            wharf.stop()
            docker.cleanup()
    return results


# ---------------------------------------------------------------------------------------------


def load_note() -> str:
    load = os.getloadavg()
    others = subprocess.run(["pgrep", "-f", "pytest"], capture_output=True, text=True).stdout.split()
    note = f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} before it started"
    if others:
        note += f"; {len(others)} pytest process(es) were running (figures taken under load)"
    return note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wharf", default=str(cargo_target_dir() / "release" / "wharf"),
                    type=lambda p: str(Path(p).resolve()))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--skip-controller", action="store_true")
    ap.add_argument("--skip-rolling", action="store_true")
    ap.add_argument("--write", help="replace the services section of this markdown file")
    args = ap.parse_args()
    if not 1 <= args.runs <= 20:
        sys.exit("--runs 1-20")

    parts = []
    stamp = time.strftime("%Y-%m-%d")
    if not args.skip_controller:
        note = load_note()
        r = run_controller_bench(args.services)
        parts.append(f"Controller, measured {stamp} on {r['cores']} cores ({note}):\n\n"
                     + controller_table(r))
    if not args.skip_rolling:
        note = load_note()
        runs = run_rolling(args.wharf, args.runs)
        parts.append(f"Rolling deployment of {TASKS} tasks, measured {stamp} on {os.cpu_count()} cores, "
                     f"median of {args.runs} runs ({note}). All runs (s): "
                     + ", ".join(f"{r['total']:.2f}" for r in runs) + ".\n\n" + rolling_table(runs))
    text = "\n\n".join(parts)
    print(text)
    if args.write:
        path = Path(args.write)
        doc = path.read_text()
        if MARK_START not in doc:
            sys.exit(f"{path} has no {MARK_START} ... {MARK_END} section")
        old = re.search(re.escape(MARK_START) + "(.*?)" + re.escape(MARK_END), doc, flags=re.S).group(1)
        if args.skip_controller or args.skip_rolling:
            # Keep the half of the section this run did not measure.
            kept = [p for p in _sections(old)
                    if p.startswith("Controller" if args.skip_controller else "Rolling")]
            text = "\n\n".join(kept + [text] if args.skip_controller else [text] + kept)
        block = f"{MARK_START}\n{text}\n{MARK_END}"
        doc = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, doc, flags=re.S)
        path.write_text(doc)
        log(f"wrote {path}")


def _sections(block: str) -> list[str]:
    """The measured parts of a services section: each starts with 'Controller' or 'Rolling'."""
    parts, current = [], []
    for line in block.strip().splitlines():
        if line.startswith(("Controller, measured", "Rolling deployment of")) and current:
            parts.append("\n".join(current).strip())
            current = []
        current.append(line)
    if current:
        parts.append("\n".join(current).strip())
    return parts


if __name__ == "__main__":
    main()
