#!/usr/bin/env bash
# Task start benchmark: RunTask -> RUNNING on wharf beside `docker run` on the same engine, in
# the same run (bench/tasks_bench.py). Builds wharf in release mode, starts Docker if needed.
# Usage: scripts/bench-tasks.sh [--tasks 20] [--burst 10] [--write docs/benchmarks.md]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh >/dev/null
scripts/ensure-docker.sh
echo "bench: building wharf (release)"
cargo build --release --bin wharf
exec .deps/venv/bin/python bench/tasks_bench.py "$@"
