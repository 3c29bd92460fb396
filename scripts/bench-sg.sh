#!/usr/bin/env bash
# What enforcing security groups costs the load balancer -> task path.
# One nginx backend in a network namespace (a task's sandbox), reached from the machine over a
# veth by wharf's load balancer (release build), as default-VPC tasks are. wrk drives it with
# keep-alive clients, in rounds that alternate: no filter in the namespace, then the filter wharf
# applies for a task whose group admits the load balancer's address on the app's port with the
# default egress rule (nftables table `inet wharf_sg`, as wharf-runtime's packet_filter renders
# it). A second pair of rounds has the backend close every connection, so every request opens a
# new upstream connection through conntrack and the rules. Prints throughput and p99 for both.
# Usage: scripts/bench-sg.sh [--seconds 5] [--rounds 3] [--connections 16]
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
for tool in nginx wrk ip nft jq bc; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx wrk nftables jq bc)" >&2; exit 1; }
done

ns=wharf-bench-sg-$$
veth="wbs$$"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
  ip link delete "$veth" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/bench-netns-backend.sh
source scripts/bench-netns-backend.sh

# The filter of a task whose group admits the load balancer (the machine's end of the veth) on
# the app's ports, with the default egress rule: what wharf applies.
cat >"$work/on.nft" <<EOF
table inet wharf_sg
delete table inet wharf_sg
table inet wharf_sg {
  chain sg_ingress {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "lo" accept
    ip saddr { 10.0.0.0/16 } tcp dport 5432 accept
    ip saddr { 192.168.0.0/24 } tcp dport 22 accept
    ip saddr { $net.1 } tcp dport 8081-8082 accept
  }
  chain sg_egress {
    type filter hook output priority 0; policy drop;
    ct state established,related accept
    oifname "lo" accept
    ip daddr 169.254.170.2 accept
    meta nfproto ipv4 accept
  }
}
EOF
printf 'table inet wharf_sg\ndelete table inet wharf_sg\n' >"$work/off.nft"

start_lb 18191 8081
start_lb 18192 8082

measure() { # port -> "req/s p99"
  wrk -t 1 -c "$connections" -d "${seconds}s" --latency "http://127.0.0.1:$1/" 2>/dev/null |
    awk '/Requests\/sec/ {rps=$2} $1 == "99%" {p99=$2} END {print rps, p99}'
}
printf '%-30s %12s %10s %12s %10s %8s\n' "upstream" "off req/s" "off p99" "on req/s" "on p99" "ratio"
for mode in reused new-per-request; do
  port=18191
  [[ $mode == new-per-request ]] && port=18192
  for round in $(seq 1 "$rounds"); do
    ip netns exec "$ns" nft -f "$work/off.nft"
    read -r off_rps off_p99 < <(measure "$port")
    ip netns exec "$ns" nft -f "$work/on.nft"
    read -r on_rps on_p99 < <(measure "$port")
    printf '%-30s %12s %10s %12s %10s %8.3f\n' "$mode (round $round)" "$off_rps" "$off_p99" "$on_rps" "$on_p99" \
      "$(echo "$on_rps / $off_rps" | bc -l)"
  done
done
