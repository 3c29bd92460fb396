#!/usr/bin/env bash
# Registry benchmark: wharf's registry beside Debian's docker-registry (distribution) in the
# same run: skopeo push and pull of a ~200 MB multi-layer image, and concurrent manifest GETs
# with hey (wrk if hey cannot be installed). Builds wharf in release mode.
# Usage: scripts/bench-registry.sh [--size-mb 200] [--layers 5] [--runs 3] [--clients 50]
#        [--seconds 10] [--targets wharf,distribution] [--write docs/benchmarks.md]
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
missing=()
command -v skopeo >/dev/null || missing+=(skopeo)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v hey >/dev/null || missing+=(hey)
if ((${#missing[@]} > 0)); then
  echo "bench: installing ${missing[*]}"
  apt-get update -qq </dev/null
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null; then
    # hey is not in every Debian release: wrk (with a Lua script for the auth header) instead.
    missing=("${missing[@]/hey/wrk}")
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
  fi
fi

# boto3 for wharf's CreateRepository and GetAuthorizationToken: the e2e suite's venv.
scripts/ensure-deps.sh >/dev/null
echo "bench: building wharf (release)"
cargo build --release --bin wharf
exec .deps/venv/bin/python bench/registry_bench.py "$@"
