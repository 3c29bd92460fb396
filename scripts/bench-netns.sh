#!/usr/bin/env bash
# What it costs the load balancer to reach targets inside a VPC's own network namespace.
# One nginx backend in a network namespace (as a task of a VPC other than the default one),
# reachable from the machine over a veth; wharf's load balancer (release build) in front of it
# twice, in turn: connecting from the machine over the veth (the peer: how the default VPC's
# tasks are reached) and opening its sockets inside the namespace (how wharf reaches VPC
# tasks). wrk drives each with keep-alive clients; first the backend keeps connections open
# (the load balancer reuses its upstream connections, the usual case), then it closes each
# one (a new upstream connection, so a new socket made in the namespace, per request).
# Inside the namespace the backend's address is local (the loopback path), from the machine
# it is one veth away: the figures bound the namespace's cost, they do not isolate it.
# Usage: scripts/bench-netns.sh [--seconds 5] [--rounds 3] [--connections 16]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=5 rounds=3 connections=16
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in nginx wrk ip; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/bench-lb.sh installs it)" >&2; exit 1; }
done

echo "bench: building wharf's load balancer (release)"
cargo build --release -q -p wharf-lb --example lb_bench_server
target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
lb="$target_dir/release/examples/lb_bench_server"

ns=wharf-bench-netns-$$
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The namespace, a veth to it (10.250.$((RANDOM % 250)).0/30) and nginx inside.
net="10.250.$((RANDOM % 250))"
ip netns add "$ns"
ip link add "wbn$$" type veth peer name eth0 netns "$ns"
ip addr add "$net.1/30" dev "wbn$$"
ip link set "wbn$$" up
ip -n "$ns" addr add "$net.2/30" dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns" link set lo up
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  keepalive_requests 1000000;
  server { listen $net.2:8081; location / { return 200 "ok\n"; } }
  server { listen $net.2:8082; keepalive_timeout 0; location / { return 200 "ok\n"; } }
}
EOF
ip netns exec "$ns" nginx -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)

start_lb() { # port, backend port, extra args...
  local port=$1 backend=$2; shift 2
  "$lb" --port "$port" --backend "$net.2:$backend" --workers 1 "$@" >"$work/lb-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    grep -q ready "$work/lb-$port.log" && return 0
    sleep 0.1
  done
  echo "bench: the load balancer on $port never became ready" >&2
  cat "$work/lb-$port.log" >&2
  exit 1
}
start_lb 18181 8081
start_lb 18182 8081 --backend-namespace "$ns"
start_lb 18183 8082
start_lb 18184 8082 --backend-namespace "$ns"

rps() { # port
  wrk -t 1 -c "$connections" -d "${seconds}s" "http://127.0.0.1:$1/" 2>/dev/null |
    awk '/Requests\/sec/ {print $2}'
}
printf '%-34s %14s %14s %8s\n' "upstream" "machine req/s" "netns req/s" "ratio"
for mode in reused new-per-request; do
  a_port=18181 b_port=18182
  [[ $mode == new-per-request ]] && a_port=18183 b_port=18184
  for round in $(seq 1 "$rounds"); do
    a=$(rps "$a_port")
    b=$(rps "$b_port")
    printf '%-34s %14s %14s %8.3f\n' "$mode (round $round)" "$a" "$b" "$(echo "$b / $a" | bc -l)"
  done
done
