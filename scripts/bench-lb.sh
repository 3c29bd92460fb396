#!/usr/bin/env bash
# Load balancer benchmark: wharf's load balancer (crates/wharf-lb, release build), nginx and
# HAProxy in front of the same nginx backend in one run, plus the backend directly; wrk for
# HTTP/1.1 keep-alive (plain and TLS), h2load for HTTP/2 over TLS. Installs what it needs.
# Usage: scripts/bench-lb.sh [--seconds 5] [--rounds 3] [--connections 16,64,256]
#        [--targets direct,wharf,nginx,haproxy] [--write docs/benchmarks.md]
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v openssl >/dev/null || missing+=(openssl)
if ((${#missing[@]} > 0)); then
  echo "bench: installing ${missing[*]}"
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

scripts/ensure-deps.sh >/dev/null
echo "bench: building wharf's load balancer (release)"
cargo build --release -p wharf-lb --example lb_bench_server
target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
exec .deps/venv/bin/python bench/lb_bench.py --wharf "$target_dir/release/examples/lb_bench_server" "$@"
