#!/usr/bin/env bash
# Deploy benchmark (bench/deploy_bench.py): seed 004's whole `act push` deploy of a small image
# against wharf, split into setup, build, push, register/update and the wait for stability.
# Builds wharf in release mode (set WHARF_BIN to use another binary), starts Docker if needed.
# Usage: scripts/bench-deploy.sh [--runs 3] [--write docs/benchmarks.md]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh >/dev/null
scripts/ensure-docker.sh
if [[ -z ${WHARF_BIN:-} ]]; then
    echo "bench: building wharf (release)"
    cargo build --release --bin wharf
fi
exec .deps/venv/bin/python bench/deploy_bench.py "$@"
