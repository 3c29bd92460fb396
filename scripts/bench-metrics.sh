#!/usr/bin/env bash
# CloudWatch metrics benchmark: PutMetricData and GetMetricData throughput of wharf beside moto
# in the same run, wrk as the load generator. Builds wharf in release mode and installs wrk and
# moto (in .deps/bench-venv) when missing.
# Usage: scripts/bench-metrics.sh [--seconds N] [--clients 1,16] [--write docs/benchmarks.md]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
venv=.deps/bench-venv
if [ ! -x "$venv/bin/moto_server" ]; then
  echo "bench: installing moto[server] into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5' boto3
fi
echo "bench: building wharf (release)"
nice cargo build --release --bin wharf
exec "$venv/bin/python" bench/metrics_bench.py --moto-server "$venv/bin/moto_server" "$@"
