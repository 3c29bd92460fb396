#!/usr/bin/env bash
# What enforcing security groups costs the load balancer -> task path.
# One nginx backend in a network namespace (a task's sandbox), reached from the machine over a
# veth by wharf's load balancer (release build), as default-VPC tasks are. wrk drives it with
# keep-alive clients, in rounds that alternate: no filter, then the table wharf keeps in the
# machine's namespace for a task whose group admits the load balancer's address on the app's
# port with the default egress rule (`inet wharf_sg_<instance>`, as wharf-runtime's
# packet_filter renders it; here `wharf_sg_bench`, removed at the end). A second pair of rounds
# has the backend close every connection, so every request opens a new upstream connection
# through the rules. Prints throughput and p99 for both.
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

# The table wharf keeps for a task whose group admits the load balancer (here the machine's end
# of the veth) on the app's ports, with the default egress rule.
cat >"$work/on.nft" <<EOF
table inet wharf_sg_bench
delete table inet wharf_sg_bench
table inet wharf_sg_bench {
  chain in_0 {
    ip saddr { 10.0.0.0/16 } tcp dport 5432 accept
    ip saddr { 192.168.0.0/24 } tcp dport 22 accept
    ip saddr { $net.1 } tcp dport 8081-8082 accept
    drop
  }
  chain out_0 {
    meta nfproto ipv4 return
    drop
  }
  map ingress {
    type ipv4_addr : verdict
    elements = { $net.2 : jump in_0 }
  }
  map egress {
    type ipv4_addr : verdict
    elements = { $net.2 : jump out_0 }
  }
  chain forward {
    type filter hook forward priority -5; policy accept;
    ct state established,related accept
    ip daddr 169.254.170.2 accept
    ip saddr vmap @egress
    ip daddr vmap @ingress
  }
  chain output {
    type filter hook output priority -5; policy accept;
    ct state established,related accept
    ip daddr vmap @ingress
  }
  chain input {
    type filter hook input priority -5; policy accept;
    ct state established,related accept
    ip daddr 169.254.170.2 accept
    ip saddr vmap @egress
  }
}
EOF
printf 'table inet wharf_sg_bench\ndelete table inet wharf_sg_bench\n' >"$work/off.nft"
trap 'nft -f "$work/off.nft" 2>/dev/null || true; cleanup' EXIT

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
  off_sum=0 on_sum=0
  for round in $(seq 1 "$rounds"); do
    nft -f "$work/off.nft"
    read -r off_rps off_p99 < <(measure "$port")
    nft -f "$work/on.nft"
    read -r on_rps on_p99 < <(measure "$port")
    printf '%-30s %12s %10s %12s %10s %8.3f\n' "$mode (round $round)" "$off_rps" "$off_p99" "$on_rps" "$on_p99" \
      "$(echo "$on_rps / $off_rps" | bc -l)"
    off_sum=$(echo "$off_sum + $off_rps" | bc -l) on_sum=$(echo "$on_sum + $on_rps" | bc -l)
  done
  # Rounds alternate off / on, so the machine's drift falls on both sides of the total.
  printf '%-30s %12.0f %10s %12.0f %10s %8.3f\n' "$mode (all rounds)" "$off_sum" "" "$on_sum" "" \
    "$(echo "$on_sum / $off_sum" | bc -l)"
done
