#!/usr/bin/env bash
# Services benchmark (bench/services_bench.py): the service controller at 1,000 services on
# the fake runtime beside the store floor (crates/wharf-agent/examples/service_controller_bench.rs),
# and a rolling deployment of 4 tasks behind wharf's ALB on the Docker Engine, split into
# configured waits, the engine's own work (docker run / docker stop in the same run) and
# wharf's overhead. Builds wharf and the example in release mode, starts Docker if needed.
# Usage: scripts/bench-services.sh [--runs 3] [--services 1000] [--skip-controller]
#        [--skip-rolling] [--write docs/benchmarks.md]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh >/dev/null
scripts/ensure-docker.sh
echo "bench: building wharf and the controller benchmark (release)"
cargo build --release --bin wharf
cargo build --release -p wharf-agent --example service_controller_bench
exec .deps/venv/bin/python bench/services_bench.py "$@"
