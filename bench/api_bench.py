#!/usr/bin/env python3
"""API latency and throughput benchmark: wharf beside moto (the Python AWS API emulator) in the
same run, driven by wrk with SigV4-signed requests.

For each operation (DescribeServices, RegisterTaskDefinition) and each client count, a request
is signed with botocore (valid for 5 minutes, so wrk can replay it for the run) and wrk measures
requests/s and latency percentiles against both servers. wharf verifies every signature; moto
checks none, which favours moto.

Usage: scripts/bench-api.sh [--seconds N] [--clients 1,16,64] [--write docs/benchmarks.md]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
TASK_DEF = {
    "family": "blog-api",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "containerDefinitions": [{
        "name": "api",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/blog-api:v1",
        "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
        "essential": True,
        "environment": [{"name": "ENVIRONMENT", "value": "production"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/blog-api", "awslogs-region": REGION, "awslogs-stream-prefix": "api"}},
        "healthCheck": {"command": ["CMD-SHELL", "curl -fsS http://127.0.0.1:8000/health || exit 1"],
                        "interval": 10, "timeout": 3, "retries": 3, "startPeriod": 30},
    }],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


class Target:
    def __init__(self, name, endpoint, key, secret, proc):
        self.name, self.endpoint, self.key, self.secret, self.proc = name, endpoint, key, secret, proc

    def client(self, service="ecs"):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=self.key, aws_secret_access_key=self.secret)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_wharf(binary, tmp):
    data = Path(tmp) / "wharf"
    proc = subprocess.Popen([binary, "server", "--port", "0", "--data-dir", str(data), "--log", "warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: (data / "endpoint").exists(), "wharf's endpoint file")
    endpoint = (data / "endpoint").read_text().strip()
    creds = dict(re.findall(r"^(aws_\w+)\s*=\s*(\S+)", (data / "credentials").read_text(), re.M))
    return Target("wharf", endpoint, creds["aws_access_key_id"], creds["aws_secret_access_key"], proc)


def start_moto(moto_server):
    port = free_port()
    proc = subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    wait_for(lambda: urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).status == 200, "moto")
    return Target("moto", endpoint, "AKIDBENCH", "benchsecret", proc)


def prepare(target):
    ecs = target.client()
    ec2 = target.client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    ecs.create_cluster(clusterName="bench")
    ecs.register_task_definition(**TASK_DEF)
    ecs.create_service(cluster="bench", serviceName="api", taskDefinition="blog-api:1", desiredCount=2,
                       launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                           "subnets": [subnet], "securityGroups": [group]}})


def signed_request(target, op, body):
    host = target.endpoint.split("//", 1)[1]
    req = AWSRequest(method="POST", url=target.endpoint + "/", data=json.dumps(body).encode(), headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{op}",
        "Host": host,
    })
    SigV4Auth(Credentials(target.key, target.secret), "ecs", REGION).add_auth(req)
    return req


def wrk_script(req):
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{req.body.decode()}]==]"]
    for k, v in req.headers.items():
        lines.append(f'wrk.headers["{k}"] = [==[{v}]==]')
    return "\n".join(lines) + "\n"


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def run_wrk(target, op, body, clients, seconds, tmp):
    return wrk_measure(target, signed_request(target, op, body), op, clients, seconds, tmp)


def wrk_measure(target, req, label, clients, seconds, tmp):
    """wrk replaying the signed request `req` against `target`: req/s, p50/p99 ms, non-2xx."""
    script = Path(tmp) / f"{target.name}-{label}-{clients}.lua"
    script.write_text(wrk_script(req))
    threads = min(clients, 2)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--latency",
                          "-s", str(script), target.endpoint + "/"],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = int(errors.group(1)) if errors else 0
    return {"rps": rps, "p50": pct.get("50"), "p99": pct.get("99"), "errors": failed}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wharf", default=str(ROOT / "target/release/wharf"))
    ap.add_argument("--moto-server", default=shutil.which("moto_server") or "moto_server")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", default="1,16,64")
    ap.add_argument("--write", help="replace the API section of this markdown file with the results")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    ops = {
        "DescribeServices": {"cluster": "bench", "services": ["api"]},
        "RegisterTaskDefinition": TASK_DEF,
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [start_wharf(args.wharf, tmp), start_moto(args.moto_server)]
        try:
            for t in targets:
                prepare(t)
            for op, body in ops.items():
                for c in clients:
                    res = {}
                    for t in targets:
                        print(f"bench: {op} x{c} clients against {t.name} for {args.seconds}s ...", flush=True)
                        res[t.name] = run_wrk(t, op, body, c, args.seconds, tmp)
                    rows.append((op, c, res["wharf"], res["moto"]))
        finally:
            for t in targets:
                t.stop()
    text = comparison_table(rows)
    print(text)
    if args.write:
        stamp = f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, {args.seconds} s per cell.\n\n"
        write_section(args.write, "api-bench", stamp + text)


def comparison_table(rows):
    """A markdown table of `(operation, clients, wharf result, moto result)` rows."""
    table = ["| operation | clients | wharf req/s | wharf p50 ms | wharf p99 ms | moto req/s | moto p50 ms | moto p99 ms | throughput ratio | errors (wharf/moto) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for op, c, w, m in rows:
        ratio = w["rps"] / m["rps"] if m["rps"] else float("inf")
        table.append(f"| {op} | {c} | {w['rps']:.0f} | {w['p50']:.2f} | {w['p99']:.2f} | {m['rps']:.0f} | "
                     f"{m['p50']:.2f} | {m['p99']:.2f} | {ratio:.1f}x | {w['errors']}/{m['errors']} |")
    return "\n".join(table)


def write_section(path, marker, text):
    """Replaces the block between `<!-- MARKER:start -->` and `<!-- MARKER:end -->` of the markdown
    file at `path` with `text` (appends the block when the file has none)."""
    path = Path(path)
    doc = path.read_text() if path.exists() else ""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = f"{start}\n{text}\n{end}"
    doc = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, doc, flags=re.S) if start in doc else doc + "\n" + block + "\n"
    path.write_text(doc)


if __name__ == "__main__":
    main()
