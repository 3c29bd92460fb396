#!/usr/bin/env python3
"""Load balancer benchmark: wharf's load balancer, nginx and HAProxy in front of the same backend
in one run, on the same machine, with the same load generators, plus the backend directly (the
physical limit).

- backend: an nginx instance (1 worker) serving a small static file (--body-bytes) on loopback;
- proxies, each with keep-alive connections to the backend and X-Forwarded-For added:
  - wharf: `examples/lb_bench_server` (release build): one load balancer, an HTTP and an HTTPS
    listener (TLS 1.2/1.3, ALPN h2) forwarding to a target group with the backend as its
    only, health-checked target;
  - nginx: `proxy_pass` to an upstream with `keepalive`, HTTP/1.1 upstream, `listen ... ssl http2`;
  - HAProxy: `mode http`, `http-reuse always`, `option forwardfor`, `ssl crt ... alpn h2,http/1.1`;
  each proxy gets as many workers / threads as the machine has cores;
- wharf-nometrics: the same wharf binary with `--metrics off` (no counting for the
  `AWS/ApplicationELB` metrics): with both in --targets, the table gives the cost of counting
  (wharf / wharf-nometrics throughput and p99, measured in the same run, rounds interleaved);
- load: wrk (`-t 2 -c N -d S --latency`) for plain HTTP/1.1 keep-alive and for HTTPS with
  HTTP/1.1 keep-alive at each --connections count; h2load (`-c 16 -m 10`, per-request log) for
  HTTPS with HTTP/2; every cell runs the targets in turn, --rounds times in rotated order;
  median requests/s, p50 and p99 latency per cell, and ratios.

Usage: scripts/bench-lb.sh [--seconds 5] [--rounds 3] [--connections 16,64,256]
       [--targets direct,wharf,wharf-nometrics,nginx,haproxy] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_DEADLINE_S = 60
MARK_START, MARK_END = "<!-- lb-bench:start -->", "<!-- lb-bench:end -->"
TLS_NAME = "bench.example.com"


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(predicate, what: str, proc: subprocess.Popen, log_path: Path) -> None:
    end = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"{what}: the process exited with status {proc.returncode}; log {log_path}:\n"
                     + log_path.read_text(errors="replace")[-4000:])
        if predicate():
            return
        time.sleep(0.05)
    sys.exit(f"timed out after {START_DEADLINE_S}s waiting for {what}; log {log_path}")


class Server:
    """A process started for the benchmark, stopped with SIGTERM (SIGKILL after 15 s)."""

    name = ""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"{self.name}.log"
        self.http_port = 0
        self.tls_port = 0

    def spawn(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(self.log_path, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self) -> None:
        wait_for(lambda: http_ok(f"http://127.0.0.1:{self.http_port}/index.html"), f"{self.name} on HTTP",
                 self.proc, self.log_path)
        if self.tls_port:
            wait_for(lambda: port_open(self.tls_port), f"{self.name} on HTTPS", self.proc, self.log_path)

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system, every thread) the process has used so far."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


NGINX_COMMON = """\
pid {pid};
error_log {log} warn;
daemon off;
master_process on;
events {{ worker_connections 8192; multi_accept on; }}
"""


class Backend(Server):
    name = "backend"

    def start(self, body_bytes: int) -> None:
        root = self.workdir / "www"
        root.mkdir(mode=0o755)
        os.chmod(self.workdir, 0o755)
        (root / "index.html").write_bytes(b"x" * body_bytes)
        self.http_port = free_port()
        conf = self.workdir / "backend-nginx.conf"
        conf.write_text(NGINX_COMMON.format(pid=self.workdir / "backend.pid", log=self.log_path) + f"""\
worker_processes 1;
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{self.http_port} backlog=4096 reuseport;
        root {root};
        location / {{ }}
    }}
}}
""")
        self.spawn(["nginx", "-c", str(conf), "-p", str(self.workdir), "-e", str(self.log_path)])
        self.wait_ready()


class Direct(Server):
    """The backend itself: the physical limit."""

    name = "direct"

    def start(self, backend: Backend, cert: Path, key: Path, workers: int) -> None:
        self.http_port = backend.http_port


class Wharf(Server):
    """wharf's load balancer, counting for its metrics (as wharf runs it) or not."""

    name = "wharf"

    def __init__(self, workdir: Path, binary: str, metrics: bool = True):
        if not metrics:
            self.name = "wharf-nometrics"
        super().__init__(workdir)
        self.binary = binary
        self.metrics = metrics

    def start(self, backend: Backend, cert: Path, key: Path, workers: int) -> None:
        self.http_port, self.tls_port = free_port(), free_port()
        self.spawn([self.binary, "--port", str(self.http_port), "--tls-port", str(self.tls_port),
                    "--backend", f"127.0.0.1:{backend.http_port}", "--cert", str(cert), "--key", str(key),
                    "--workers", str(workers), "--metrics", "on" if self.metrics else "off"])
        self.wait_ready()


class Nginx(Server):
    name = "nginx"

    def start(self, backend: Backend, cert: Path, key: Path, workers: int) -> None:
        self.http_port, self.tls_port = free_port(), free_port()
        conf = self.workdir / "proxy-nginx.conf"
        conf.write_text(NGINX_COMMON.format(pid=self.workdir / "proxy.pid", log=self.log_path) + f"""\
worker_processes {workers};
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    upstream app {{
        server 127.0.0.1:{backend.http_port};
        keepalive 512;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{self.http_port} backlog=4096;
        listen 127.0.0.1:{self.tls_port} ssl http2 backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Port $server_port;
        }}
    }}
}}
""")
        self.spawn(["nginx", "-c", str(conf), "-p", str(self.workdir), "-e", str(self.log_path)])
        self.wait_ready()


class HAProxy(Server):
    name = "haproxy"

    def start(self, backend: Backend, cert: Path, key: Path, workers: int) -> None:
        self.http_port, self.tls_port = free_port(), free_port()
        bundle = self.workdir / "haproxy.pem"
        bundle.write_text(cert.read_text() + key.read_text())
        conf = self.workdir / "haproxy.cfg"
        conf.write_text(f"""\
global
    nbthread {workers}
    maxconn 8000
    tune.ssl.default-dh-param 2048
defaults
    mode http
    timeout connect 10s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    option http-keep-alive
    http-reuse always
frontend web
    bind 127.0.0.1:{self.http_port}
    bind 127.0.0.1:{self.tls_port} ssl crt {bundle} alpn h2,http/1.1 ssl-min-ver TLSv1.2
    option forwardfor
    http-request set-header X-Forwarded-Proto https if {{ ssl_fc }}
    http-request set-header X-Forwarded-Proto http if !{{ ssl_fc }}
    default_backend app
backend app
    server s1 127.0.0.1:{backend.http_port} maxconn 4000
""")
        self.spawn(["haproxy", "-db", "-f", str(conf)])
        self.wait_ready()


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, connections: int, seconds: int) -> dict:
    threads = min(connections, 2)
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        sys.exit(f"$ {' '.join(argv)}\nunexpected wrk output:\n{out}")
    pct = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return {"rps": float(m.group(1)), "p50": pct.get("50"), "p99": pct.get("99"), "errors": errors}


def h2load(url: str, clients: int, streams: int, seconds: int, workdir: Path) -> dict:
    log_file = workdir / "h2load.tsv"
    argv = ["h2load", "-c", str(clients), "-m", str(streams), "-t", "2", "-D", str(seconds),
            "--warm-up-time=1", f"--log-file={log_file}", url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120).stdout
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    if not m:
        sys.exit(f"$ {' '.join(argv)}\nunexpected h2load output:\n{out}")
    lat = []
    for line in log_file.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[1] != "-1":
            lat.append(int(parts[2]) / 1000.0)
    lat.sort()
    pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None)
    failed = re.search(r"requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored",
                       out)
    codes = re.search(r"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    errors = (int(failed.group(1)) + int(failed.group(2)) if failed else 0) + \
        (sum(int(x) for x in codes.groups()) if codes else 0)
    log_file.unlink(missing_ok=True)
    return {"rps": float(m.group(1)), "p50": pct(0.50), "p99": pct(0.99), "errors": errors}


def make_cert(workdir: Path) -> tuple[Path, Path]:
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={TLS_NAME}",
                    "-addext", f"subjectAltName=DNS:{TLS_NAME}"], check=True, capture_output=True)
    # PKCS#8 for every consumer.
    pk8 = workdir / "key8.pem"
    subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", str(key), "-out", str(pk8)], check=True,
                   capture_output=True)
    return cert, pk8


def median_or_none(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec=".2f") -> str:
    return "n/a" if v is None else format(v, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wharf", default=str(ROOT / "target/release/examples/lb_bench_server"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", default="16,64,256")
    ap.add_argument("--h2-clients", type=int, default=16)
    ap.add_argument("--h2-streams", type=int, default=10)
    ap.add_argument("--body-bytes", type=int, default=1024)
    ap.add_argument("--targets", default="direct,wharf,nginx,haproxy")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--write", help="replace the load balancer section of this markdown file with the results")
    args = ap.parse_args()
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    conns = [int(c) for c in args.connections.split(",") if c.strip()]
    if not names or not set(names) <= {"direct", "wharf", "wharf-nometrics", "nginx", "haproxy"}:
        sys.exit("--targets: any of direct, wharf, wharf-nometrics, nginx, haproxy")
    if not (1 <= args.seconds <= 120 and 1 <= args.rounds <= 9 and conns and all(1 <= c <= 1024 for c in conns)
            and 1 <= args.h2_clients <= 256 and 1 <= args.h2_streams <= 100 and 1 <= args.body_bytes <= 1 << 20):
        sys.exit("out-of-range argument (seconds 1-120, connections 1-1024, h2 clients 1-256, streams 1-100)")
    for tool in ("nginx", "haproxy", "wrk", "h2load", "openssl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/bench-lb.sh, which installs it")

    results: dict[tuple[str, str], dict] = {}
    cells = [("HTTP/1.1", c) for c in conns] + [("HTTPS HTTP/1.1", c) for c in conns] + \
            [("HTTPS HTTP/2", args.h2_clients)]
    with tempfile.TemporaryDirectory(prefix="wharf-lb-bench-") as tmp:
        tmp = Path(tmp)
        # nginx's workers run as an unprivileged user: they must reach the backend's files.
        os.chmod(tmp, 0o755)
        cert, key = make_cert(tmp)
        backend_dir = tmp / "backend"
        backend_dir.mkdir()
        backend = Backend(backend_dir)
        servers: dict[str, Server] = {}
        try:
            backend.start(args.body_bytes)
            for name in names:
                workdir = tmp / name
                workdir.mkdir()
                server = {"direct": Direct, "nginx": Nginx, "haproxy": HAProxy}.get(name)
                if name.startswith("wharf"):
                    target = Wharf(workdir, args.wharf, metrics=name == "wharf")
                else:
                    target = server(workdir)
                target.start(backend, cert, key, args.workers)
                servers[name] = target
            # Every cell measures the targets one after the other, --rounds times in rotated
            # order, so that noise from the rest of the machine hits them alike; medians count.
            for proto, c in cells:
                runs: dict[str, list[dict]] = {n: [] for n in names}
                for rnd in range(args.rounds):
                    order = names[rnd % len(names):] + names[:rnd % len(names)]
                    for name in order:
                        target = servers[name]
                        if proto.startswith("HTTPS") and not target.tls_port:
                            continue
                        if proto == "HTTP/1.1":
                            url = f"http://127.0.0.1:{target.http_port}/index.html"
                        else:
                            url = f"https://127.0.0.1:{target.tls_port}/index.html"
                        if proto == "HTTPS HTTP/2":
                            cpu0 = target.cpu_seconds()
                            res = h2load(url, c, args.h2_streams, args.seconds, tmp)
                        else:
                            wrk(url, c, 1)  # warm-up: fills the keep-alive pools
                            cpu0 = target.cpu_seconds()
                            res = wrk(url, c, args.seconds)
                        cpu1 = target.cpu_seconds()
                        # The proxy's own CPU per request: steadier than throughput on a busy
                        # machine (wharf's targets only; nginx and HAProxy run several processes).
                        res["cpu_us"] = ((cpu1 - cpu0) * 1e6 / (res["rps"] * args.seconds)
                                         if isinstance(target, Wharf) and cpu0 is not None and cpu1 is not None
                                         and res["rps"] else None)
                        runs[name].append(res)
                        log(f"{name:8} {proto:15} c={c:<4} round {rnd + 1}: {res['rps']:>8.0f} req/s  "
                            f"p50 {fmt(res['p50'])} ms  p99 {fmt(res['p99'])} ms  errors {res['errors']}"
                            + (f"  CPU {res['cpu_us']:.1f} us/req" if res.get("cpu_us") else ""))
                for name, rs in runs.items():
                    if rs:
                        results[(name, f"{proto}|{c}")] = {
                            "rps": statistics.median(r["rps"] for r in rs),
                            "p50": median_or_none([r["p50"] for r in rs]),
                            "p99": median_or_none([r["p99"] for r in rs]),
                            "cpu_us": median_or_none([r.get("cpu_us") for r in rs]),
                            "errors": sum(r["errors"] for r in rs),
                        }
        finally:
            for target in servers.values():
                target.stop()
            backend.stop()

    proxies = [n for n in names if n != "direct"]
    peers = [p for p in ("nginx", "haproxy") if p in proxies]
    head = ["protocol", "connections"]
    for n in names:
        head += [f"{n} req/s", f"{n} p50 ms", f"{n} p99 ms"]
    if "wharf" in proxies:
        head += [f"wharf / {p} req/s" for p in peers]
    metrics_cost = "wharf" in names and "wharf-nometrics" in names
    if metrics_cost:
        head += ["metrics on / off req/s", "metrics on / off p99", "wharf CPU us/req on / off",
                 "metrics on / off CPU per request"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    errors = {n: 0 for n in names}
    for proto, c in cells:
        key_ = f"{proto}|{c}"
        if not any((n, key_) in results for n in names):
            continue
        label = f"{c} x {args.h2_streams} streams" if proto == "HTTPS HTTP/2" else str(c)
        row = [proto, label]
        for n in names:
            r = results.get((n, key_))
            row += [fmt(r and r["rps"], ".0f"), fmt(r and r["p50"]), fmt(r and r["p99"])]
            errors[n] += r["errors"] if r else 0
        w = results.get(("wharf", key_))
        for p in (peers if "wharf" in proxies else []):
            o = results.get((p, key_))
            row.append(f"{w['rps'] / o['rps']:.2f}x" if w and o and o["rps"] else "n/a")
        if metrics_cost:
            off = results.get(("wharf-nometrics", key_))
            row.append(f"{w['rps'] / off['rps']:.3f}x" if w and off and off["rps"] else "n/a")
            row.append(f"{w['p99'] / off['p99']:.2f}x" if w and off and w["p99"] and off["p99"] else "n/a")
            row.append(f"{fmt(w and w['cpu_us'], '.1f')} / {fmt(off and off['cpu_us'], '.1f')}")
            row.append(f"{w['cpu_us'] / off['cpu_us']:.3f}x" if w and off and w["cpu_us"] and off["cpu_us"]
                       else "n/a")
        rows.append("| " + " | ".join(row) + " |")
    table = "\n".join(rows)
    err_line = ", ".join(f"{n} {errors[n]}" for n in names)
    print(table)
    print(f"\nErrors (non-2xx, socket errors): {err_line}.")

    if args.write:
        path = Path(args.write)
        doc = path.read_text() if path.exists() else "# Benchmarks\n"
        versions = tool_versions()
        stamp = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, median of {args.rounds} "
                 f"rounds of {args.seconds} s per cell, {args.body_bytes}-byte response; {versions}. Errors (non-2xx, socket errors): {err_line}.\n\n")
        block = f"{MARK_START}\n{stamp}{table}\n{MARK_END}"
        if MARK_START in doc:
            doc = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, doc, flags=re.S)
        else:
            doc = doc.rstrip("\n") + "\n\n" + SECTION.format(seconds=args.seconds, rounds=args.rounds,
                                                               conns=args.connections) \
                + block + "\n"
        path.write_text(doc)
        log(f"wrote {path}")


def tool_versions() -> str:
    def first(argv: list[str], pattern: str) -> str:
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except OSError:
            return "?"
        m = re.search(pattern, p.stdout + p.stderr)
        return m.group(1) if m else "?"

    nginx = first(["nginx", "-v"], r"nginx/([\d.]+)")
    haproxy = first(["haproxy", "-v"], r"version ([\d.]+)")
    wrk_v = first(["wrk", "-v"], r"wrk (?:\S*/)?([\d.]+)")
    h2 = first(["h2load", "--version"], r"nghttp2/([\d.]+)")
    return f"nginx {nginx}, HAProxy {haproxy}, wrk {wrk_v}, h2load {h2}"


SECTION = """\
## Load balancer: requests through wharf's ALB, nginx and HAProxy

Command: `scripts/bench-lb.sh --seconds {seconds} --rounds {rounds} --connections {conns} --write docs/benchmarks.md`

- Backend: nginx (1 worker) serving a small static file on loopback; `direct` is wrk against it
  without a proxy (the physical limit on this machine).
- wharf: `crates/wharf-lb/examples/lb_bench_server.rs`, release build: one load balancer, an
  HTTP and an HTTPS listener (TLS 1.2/1.3, ALPN h2, ECDSA P-256 certificate) forwarding to a
  target group whose only (health-checked) target is the backend; one worker thread per core;
  X-Forwarded-For / -Proto / -Port and X-Amzn-Trace-Id added to every request.
- Peers, same machine, same backend: Debian's nginx (`proxy_pass` to an upstream with
  `keepalive 512`, one worker per core, X-Forwarded-* set) and HAProxy (`mode http`,
  `http-reuse always`, `option forwardfor`, one thread per core).
- Load: wrk `-t 2 -c N` (HTTP/1.1 keep-alive, plain and over TLS, after a 1 s warm-up); h2load
  `-c 16 -m 10` over TLS with ALPN h2 (latency percentiles from its per-request log). Each cell
  measures every target in turn, {rounds} rounds in rotated order; the tables give medians. All
  processes share the same cores, so the load generator and the backend compete with the
  proxy, alike for each proxy.
- Goal for wharf: throughput at least nginx's and HAProxy's (ratios >= 1), p99 no worse.

"""


if __name__ == "__main__":
    main()
