#!/usr/bin/env bash
# What sampling the stats of running tasks costs wharf (issue 17): starts N tasks (a sandbox and
# a busybox `sleep` container each) on the Docker Engine through wharf's runtime, runs the task
# agent's metrics sampler over them for a few rounds, and prints the wall time per round and the
# CPU time wharf's process and dockerd used for it (next to an idle stretch of the same length).
# Release build; every container, network and image it creates is removed at the end.
# Usage: scripts/bench-stats-sampling.sh [--tasks 100] [--rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-docker.sh >/dev/null
echo "bench: building the sampling benchmark (release)"
cargo build --release -p wharf-agent --example stats_sampling_bench
target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
exec "$target_dir/release/examples/stats_sampling_bench" "$@"
