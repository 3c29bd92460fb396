#!/usr/bin/env python3
"""Registry benchmark: wharf's registry beside Debian's docker-registry (CNCF distribution) in
the same run, on the same machine, with the same clients.

- push: `skopeo copy` of a ~200 MB multi-layer OCI image (gzip'd random layers written by
  tests/e2e/ecr_images.py) from a local OCI layout into the registry;
- pull: `skopeo copy` of that image from the registry into a fresh OCI layout;
  each run starts both registries on fresh data directories (and skopeo with a fresh blob-info
  cache), so every push uploads every byte; the median of --runs runs is reported;
- manifest GETs: `hey` (or wrk if hey is missing) with --clients concurrent connections
  fetching the image's manifest by tag for --seconds seconds: requests/s, p50 and p99.

wharf checks Basic auth (`AWS:<password>` from GetAuthorizationToken) on every request;
distribution runs without auth (its default), which favours distribution.

Usage: scripts/bench-registry.sh [--size-mb 200] [--layers 5] [--runs 3] [--clients 50]
       [--seconds 10] [--targets wharf,distribution] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import base64
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
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from ecr_images import MT_OCI_MANIFEST, read_oci_layout, write_oci_image  # noqa: E402

REGION = "us-east-1"
REPO = "bench/app"
TAG = "v1"
START_DEADLINE_S = 60
SKOPEO_TIMEOUT_S = 900
MARK_START, MARK_END = "<!-- registry-bench:start -->", "<!-- registry-bench:end -->"


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, proc: subprocess.Popen, log_path: Path, deadline: float = START_DEADLINE_S):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"{what}: the process exited with status {proc.returncode}; log {log_path}:\n"
                     + log_path.read_text(errors="replace")[-4000:])
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"timed out after {deadline}s waiting for {what}; log {log_path}")


def http_status(url: str, headers: dict | None = None) -> int:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


class Target:
    name = ""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"{self.name}.log"
        self.host = ""

    @property
    def creds(self) -> str | None:
        return None

    def auth_header(self) -> dict:
        return {}

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Wharf(Target):
    name = "wharf"

    def __init__(self, workdir: Path, binary: str):
        super().__init__(workdir)
        self.binary = binary
        self.password = ""

    def start(self) -> None:
        data = self.workdir / "wharf-data"
        self.proc = subprocess.Popen(
            [self.binary, "server", "--port", "0", "--data-dir", str(data), "--log", "warn"],
            stdin=subprocess.DEVNULL, stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WHARF_"))},
        )
        wait_for(lambda: (data / "endpoint").exists() and (data / "credentials").exists(),
                 "wharf's endpoint file", self.proc, self.log_path)
        endpoint = (data / "endpoint").read_text().strip()
        self.host = endpoint.split("//", 1)[1]
        creds = dict(re.findall(r"^(aws_\w+)\s*=\s*(\S+)", (data / "credentials").read_text(), re.M))
        import boto3

        ecr = boto3.client("ecr", endpoint_url=endpoint, region_name=REGION,
                           aws_access_key_id=creds["aws_access_key_id"],
                           aws_secret_access_key=creds["aws_secret_access_key"])
        wait_for(lambda: http_status(f"http://{self.host}/v2/") == 401, "wharf's registry /v2/ challenge",
                 self.proc, self.log_path)
        ecr.create_repository(repositoryName=REPO)
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        user, _, self.password = base64.b64decode(token).decode().partition(":")
        assert user == "AWS" and self.password

    @property
    def creds(self) -> str:
        return f"AWS:{self.password}"

    def auth_header(self) -> dict:
        return {"Authorization": "Basic " + base64.b64encode(self.creds.encode()).decode()}


class Distribution(Target):
    name = "distribution"

    def __init__(self, workdir: Path, binary: str):
        super().__init__(workdir)
        self.binary = binary

    def start(self) -> None:
        port = free_port()
        self.host = f"127.0.0.1:{port}"
        storage = self.workdir / "distribution-data"
        storage.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "distribution.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
        )
        self.proc = subprocess.Popen(
            [self.binary, "serve", str(config)],
            stdin=subprocess.DEVNULL, stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT,
        )
        wait_for(lambda: http_status(f"http://{self.host}/v2/") == 200, "distribution's /v2/",
                 self.proc, self.log_path)


def skopeo(args: list[str], home: Path) -> float:
    """Runs skopeo; returns the wall time in seconds."""
    home.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home),
           "REGISTRY_AUTH_FILE": str(home / "auth.json")}
    argv = ["skopeo", "--insecure-policy", *args]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=SKOPEO_TIMEOUT_S)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"$ {' '.join(argv)}\nskopeo failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return elapsed


def push_pull(target: Target, image, run_dir: Path) -> tuple[float, float]:
    dest = f"docker://{target.host}/{REPO}:{TAG}"
    push = ["copy", "--dest-tls-verify=false"] + (["--dest-creds", target.creds] if target.creds else [])
    t_push = skopeo(push + [image.ref, dest], run_dir / "home-push")
    out = run_dir / "pulled"
    pull = ["copy", "--src-tls-verify=false"] + (["--src-creds", target.creds] if target.creds else [])
    t_pull = skopeo(pull + [dest, f"oci:{out}:{TAG}"], run_dir / "home-pull")
    desc, _ = read_oci_layout(out, TAG)
    if desc.digest != image.digest:
        sys.exit(f"{target.name}: pulled {desc.digest}, pushed {image.digest}")
    shutil.rmtree(out)
    return t_push, t_pull


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def manifest_gets(target: Target, clients: int, seconds: int, workdir: Path) -> dict:
    url = f"http://{target.host}/v2/{REPO}/manifests/{TAG}"
    headers = {"Accept": MT_OCI_MANIFEST, **target.auth_header()}
    status = http_status(url, headers)
    if status != 200:
        sys.exit(f"{target.name}: GET {url} answered {status}")
    if shutil.which("hey"):
        argv = ["hey", "-z", f"{seconds}s", "-c", str(clients), "-disable-compression"]
        for k, v in headers.items():
            argv += ["-H", f"{k}: {v}"]
        out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=seconds + 120).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        pct = {p: float(v) * 1000 for p, v in re.findall(r"^\s+(50|99)%+ in ([\d.]+) secs", out, re.M)}
        codes = {int(c): int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
        failed = out.split("Error distribution:", 1)[1] if "Error distribution:" in out else ""
        errors = sum(n for c, n in codes.items() if c != 200) + sum(
            int(n) for n in re.findall(r"^\s+\[(\d+)\]\s", failed, re.M))
        return {"rps": rps, "p50": pct.get("50"), "p99": pct.get("99"), "errors": errors, "tool": "hey"}
    # wrk, with a Lua script for the headers.
    script = workdir / f"{target.name}-get.lua"
    script.write_text("".join(f'wrk.headers["{k}"] = [==[{v}]==]\n' for k, v in headers.items()))
    threads = min(clients, 2)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 120).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": pct.get("50"), "p99": pct.get("99"), "errors": int(m.group(1)) if m else 0,
            "tool": "wrk"}


def fmt(v, spec=".2f") -> str:
    return "n/a" if v is None else format(v, spec)


def ratio(num, den) -> str:
    return "n/a" if not num or not den else f"{num / den:.2f}x"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wharf", default=str(ROOT / "target/release/wharf"))
    ap.add_argument("--registry", default=shutil.which("docker-registry") or "/usr/bin/docker-registry")
    ap.add_argument("--size-mb", type=int, default=200, help="total size of the image's layers")
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--targets", default="wharf,distribution")
    ap.add_argument("--write", help="replace the registry section of this markdown file with the results")
    args = ap.parse_args()
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not set(names) <= {"wharf", "distribution"} or not names:
        sys.exit("--targets: wharf and/or distribution")
    if not (1 <= args.runs <= 10 and 1 <= args.layers <= 20 and 1 <= args.size_mb <= 2000
            and 1 <= args.clients <= 500 and 1 <= args.seconds <= 120):
        sys.exit("out-of-range argument (runs 1-10, layers 1-20, size-mb 1-2000, clients 1-500, seconds 1-120)")

    def make(name: str, workdir: Path) -> Target:
        return Wharf(workdir, args.wharf) if name == "wharf" else Distribution(workdir, args.registry)

    with tempfile.TemporaryDirectory(prefix="wharf-registry-bench-") as tmp:
        tmp = Path(tmp)
        per_layer = args.size_mb * 1024 * 1024 // args.layers
        log(f"writing a {args.size_mb} MB image ({args.layers} layers) ...")
        image = write_oci_image(tmp / "image", TAG, [per_layer] * args.layers, seed="registry-bench")
        total_mb = sum(layer.size for layer in image.layers) / 1e6
        times: dict[str, dict[str, list[float]]] = {n: {"push": [], "pull": []} for n in names}
        gets: dict[str, dict] = {}
        for run in range(args.runs):
            # Alternate the order so that neither always runs with the warmer page cache.
            order = names if run % 2 == 0 else list(reversed(names))
            for name in order:
                run_dir = tmp / f"run{run}-{name}"
                run_dir.mkdir()
                target = make(name, run_dir)
                try:
                    target.start()
                    t_push, t_pull = push_pull(target, image, run_dir)
                    times[name]["push"].append(t_push)
                    times[name]["pull"].append(t_pull)
                    log(f"run {run + 1}/{args.runs} {name}: push {t_push:.2f}s, pull {t_pull:.2f}s")
                    if run == args.runs - 1:
                        log(f"{name}: {args.clients} clients GET the manifest for {args.seconds}s ...")
                        gets[name] = manifest_gets(target, args.clients, args.seconds, run_dir)
                finally:
                    target.stop()
                shutil.rmtree(run_dir, ignore_errors=True)

    med = {n: {k: statistics.median(v) for k, v in times[n].items()} for n in names}
    w, d = ("wharf" in names), ("distribution" in names)
    head = "| measurement | " + " | ".join(names) + (" | ratio (> 1: wharf better) |" if w and d else " |")
    rows = [head, "|---" * (len(names) + 1 + (1 if w and d else 0)) + "|"]

    def row(label, values, better_low=True, spec=".2f"):
        cells = [fmt(values[n], spec) for n in names]
        extra = []
        if w and d:
            # > 1 means wharf is better: time ratios are distribution/wharf, throughput wharf/distribution.
            extra = [ratio(values["distribution"], values["wharf"]) if better_low
                     else ratio(values["wharf"], values["distribution"])]
        rows.append(f"| {label} | " + " | ".join(cells + extra) + " |")

    row(f"push {total_mb:.0f} MB, {args.layers} layers (s, median of {args.runs})", {n: med[n]["push"] for n in names})
    row(f"pull {total_mb:.0f} MB, {args.layers} layers (s, median of {args.runs})", {n: med[n]["pull"] for n in names})
    row(f"manifest GET, {args.clients} clients (req/s)", {n: gets[n]["rps"] for n in names}, better_low=False, spec=".0f")
    row("manifest GET p50 (ms)", {n: gets[n]["p50"] for n in names})
    row("manifest GET p99 (ms)", {n: gets[n]["p99"] for n in names})
    rows.append("| manifest GET errors | " + " | ".join(str(gets[n]["errors"]) for n in names)
                + (" | |" if w and d else " |"))
    runs_line = "; ".join(
        f"{n}: push " + ", ".join(f"{t:.2f}" for t in times[n]["push"])
        + " s, pull " + ", ".join(f"{t:.2f}" for t in times[n]["pull"]) + " s" for n in names)
    table = "\n".join(rows)
    tool = next(iter(gets.values()))["tool"] if gets else "n/a"
    print(table)
    print(f"\nAll runs: {runs_line}. Ratios > 1 mean wharf is faster. Load generator: {tool}.")

    if args.write:
        if not (w and d):
            sys.exit("--write needs both targets")
        path = Path(args.write)
        doc = path.read_text() if path.exists() else "# Benchmarks\n"
        stamp = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores: {args.runs} runs, "
                 f"{args.seconds} s of GETs with {tool}.\n\nAll runs: {runs_line}.\n\n")
        block = f"{MARK_START}\n{stamp}{table}\n{MARK_END}"
        if MARK_START in doc:
            doc = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, doc, flags=re.S)
        else:
            doc = doc.rstrip("\n") + "\n\n" + SECTION.format(
                size=args.size_mb, layers=args.layers, runs=args.runs, clients=args.clients,
                seconds=args.seconds) + block + "\n"
        path.write_text(doc)
        log(f"wrote {path}")


SECTION = """\
## Registry: push, pull and manifest GETs

Command: `scripts/bench-registry.sh --size-mb {size} --layers {layers} --runs {runs} --clients {clients} \
--seconds {seconds} --write docs/benchmarks.md`

- wharf: release build, the registry on the API port, Basic auth (`AWS:<password>`) checked on
  every request.
- Peer: Debian's `docker-registry` (CNCF distribution 2.8), filesystem storage, no auth.
- Image: {layers} gzip'd layers of random bytes ({size} MB in all), written as an OCI layout.
- push/pull: `skopeo copy` between the local OCI layout and the registry; every run starts
  both registries on empty data directories, skopeo with an empty blob-info cache; median of
  {runs} runs, order alternated.
- manifest GETs: `hey -c {clients} -z {seconds}s` (wrk if hey is missing) fetching the image's
  manifest by tag.
- Goal for wharf: at least as fast as distribution (ratios >= 1).

"""


if __name__ == "__main__":
    main()
