# Sourced by the benchmarks of the load balancer's path to a task's network namespace
# (bench-netns.sh, bench-sg.sh): builds wharf's load balancer, makes namespace $ns with an nginx
# backend reachable from the machine over a veth, and starts load balancers in front of it.
# Expects: $ns (namespace name), $veth (the machine's end), $work (scratch dir), a `pids` array
# and a cleanup trap that kills "${pids[@]}" and deletes $ns. Sets: $lb (the binary), $net (the
# veth's /30 prefix: the machine is $net.1, the backend $net.2). nginx listens on $net.2:8081
# (keep-alive) and $net.2:8082 (closes every connection).

echo "bench: building wharf's load balancer (release)"
cargo build --release -q -p wharf-lb --example lb_bench_server
target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
lb="$target_dir/release/examples/lb_bench_server"

net="10.$((250 + RANDOM % 5)).$((RANDOM % 250))"
ip netns add "$ns"
ip link add "$veth" type veth peer name eth0 netns "$ns"
ip addr add "$net.1/30" dev "$veth"
ip link set "$veth" up
ip -n "$ns" addr add "$net.2/30" dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns" link set lo up
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<NGINX
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
NGINX
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
