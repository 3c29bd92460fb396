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

ns=wharf-bench-netns-$$
veth="wbn$$"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/bench-netns-backend.sh
source scripts/bench-netns-backend.sh

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
