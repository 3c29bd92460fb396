#!/usr/bin/env python3
"""CloudWatch metrics throughput: PutMetricData and GetMetricData against wharf beside moto in
the same run, driven by wrk replaying botocore-signed JSON 1.0 requests.

- PutMetricData: 20 metrics (2 dimensions each) of 10 values per request, timestamped by the
  server; on wharf each request is one fsync'd store transaction.
- GetMetricData: two MetricStat queries (Sum, Maximum; period 60) of a metric holding one hour
  of data (60 points of 10 values), before any PutMetricData load (moto's reads scan every
  stored point, so they are measured on the same prefilled data as wharf's).

wharf verifies every signature; moto checks none, which favours moto.

Usage: scripts/bench-metrics.sh [--seconds N] [--clients 1,16] [--write docs/benchmarks.md]
"""
import argparse
import json
import os
import tempfile
import time
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from api_bench import REGION, ROOT, comparison_table, start_moto, start_wharf, wrk_measure, write_section

TARGET_PREFIX = "GraniteServiceVersion20100801"
NAMESPACE = "Bench/App"
DIMENSIONS = [{"Name": "Service", "Value": "api"}, {"Name": "AvailabilityZone", "Value": "us-east-1a"}]


def signed(target, op, body):
    host = target.endpoint.split("//", 1)[1]
    req = AWSRequest(method="POST", url=target.endpoint + "/", data=json.dumps(body).encode(), headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"{TARGET_PREFIX}.{op}",
        "Host": host,
    })
    SigV4Auth(Credentials(target.key, target.secret), "monitoring", REGION).add_auth(req)
    return req


def call(target, op, body):
    req = signed(target, op, body)
    http = urllib.request.Request(req.url, data=req.body, headers=dict(req.headers), method="POST")
    with urllib.request.urlopen(http, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def put_body():
    return {"Namespace": NAMESPACE, "MetricData": [
        {"MetricName": f"Latency{i:02}", "Dimensions": DIMENSIONS, "Unit": "Milliseconds",
         "Values": [float(v) for v in range(1, 11)]}
        for i in range(20)
    ]}


def prefill(target, now):
    """One hour of the metric GetMetricData reads: a point of 10 values per minute."""
    start = now - now % 60 - 3600
    data = [{"MetricName": "Requests", "Dimensions": DIMENSIONS, "Unit": "Count",
             "Timestamp": start + 60 * m + 1, "Values": [float(m + v) for v in range(10)]}
            for m in range(60)]
    call(target, "PutMetricData", {"Namespace": NAMESPACE, "MetricData": data})
    return start


def get_body(start):
    def query(qid, stat):
        return {"Id": qid, "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": "Requests",
                                                     "Dimensions": DIMENSIONS}, "Period": 60, "Stat": stat}}
    return {"MetricDataQueries": [query("m1", "Sum"), query("m2", "Maximum")],
            "StartTime": start, "EndTime": start + 3600, "ScanBy": "TimestampAscending"}


def check_read_back(target, start):
    """Both servers must answer the benchmark's query with the 60 sums it was filled with."""
    out = call(target, "GetMetricData", get_body(start))
    sums = out["MetricDataResults"][0]["Values"]
    expected = [float(sum(m + v for v in range(10))) for m in range(60)]
    if sorted(sums) != sorted(expected):
        raise SystemExit(f"{target.name} answered GetMetricData with {sums[:5]}... instead of {expected[:5]}...")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wharf", default=str(ROOT / "target/release/wharf"))
    ap.add_argument("--moto-server", default=str(ROOT / ".deps/bench-venv/bin/moto_server"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", default="1,16")
    ap.add_argument("--write", help="replace the metrics section of this markdown file with the results")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    seconds = max(1, min(args.seconds, 60))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [start_wharf(args.wharf, tmp), start_moto(args.moto_server)]
        try:
            now = int(time.time())
            starts = {t.name: prefill(t, now) for t in targets}
            for t in targets:
                check_read_back(t, starts[t.name])
            ops = [("GetMetricData", lambda t: get_body(starts[t.name])), ("PutMetricData", lambda t: put_body())]
            for op, body in ops:
                for c in clients:
                    res = {}
                    for t in targets:
                        print(f"bench: {op} x{c} clients against {t.name} for {seconds}s ...", flush=True)
                        res[t.name] = wrk_measure(t, signed(t, op, body(t)), op, c, seconds, tmp)
                    rows.append((op, c, res["wharf"], res["moto"]))
        finally:
            for t in targets:
                t.stop()
    text = comparison_table(rows)
    print(text)
    if args.write:
        build = "release" if "release" in args.wharf else "debug"
        stamp = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, {seconds} s per cell, "
                 f"wharf {build} build.\n\n")
        write_section(args.write, "metrics-bench", stamp + text)


if __name__ == "__main__":
    main()
