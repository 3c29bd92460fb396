#!/usr/bin/env python3
"""Runs the end-to-end suite (tests/e2e) as N concurrent pytest processes ("shards").

Most of an end-to-end test's time is spent waiting (for containers, health checks, the
AWS CLI's start-up), so two shards on two cores finish far sooner than one run. Each shard
starts its own wharf servers (ephemeral ports, temp data dirs), exactly as a single run does.

Test files are dealt to shards by weight (seconds), heaviest first, each to the lightest
shard so far. Weights come from tests/e2e/shard-weights.json (refresh it with `record` after
a run); a file not listed there weighs its size in KB, a rough guess. Files listed together
under "same_shard" always share a shard: they bind fixed load balancer ports (80, 443, 8443)
on 127.0.0.1, which two servers cannot both hold.

    scripts/e2e-shards.py run [--shards N] [--junit-dir DIR]   # the whole suite
    scripts/e2e-shards.py plan [--shards N]                     # show the split
    scripts/e2e-shards.py record DIR                             # weights from a run's junit XML

Each shard's output goes to <junit-dir>/shard-<i>.log and is printed when the shard ends;
the exit status is the first failing shard's (0 when all pass).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "e2e"
WEIGHTS = E2E / "shard-weights.json"
PYTHON = ROOT / ".deps" / "venv" / "bin" / "python"


def load_weights() -> tuple[dict[str, float], list[list[str]]]:
    if not WEIGHTS.exists():
        return {}, []
    data = json.loads(WEIGHTS.read_text())
    return data.get("seconds", {}), data.get("same_shard", [])


def plan(shards: int) -> list[list[str]]:
    """The test files of each shard."""
    seconds, together = load_weights()
    files = sorted(p.name for p in E2E.glob("test_*.py"))
    weight = {f: seconds.get(f, (E2E / f).stat().st_size / 1000) for f in files}
    # Units: a group of files that must share a shard, or one file.
    grouped = {f for group in together for f in group}
    units = [[f for f in group if f in weight] for group in together]
    units = [u for u in units if u]
    units += [[f] for f in files if f not in grouped]
    units.sort(key=lambda u: -sum(weight[f] for f in u))
    split: list[list[str]] = [[] for _ in range(shards)]
    load = [0.0] * shards
    for unit in units:
        i = load.index(min(load))
        split[i] += unit
        load[i] += sum(weight[f] for f in unit)
    for i, files_of_shard in enumerate(split):
        print(f"shard {i}: ~{load[i]:.0f} s, {len(files_of_shard)} files: {' '.join(files_of_shard)}")
    return split


def run(shards: int, junit_dir: Path, extra: list[str]) -> int:
    junit_dir.mkdir(parents=True, exist_ok=True)
    split = [s for s in plan(shards) if s]
    procs = []
    started = time.monotonic()
    for i, files in enumerate(split):
        log = open(junit_dir / f"shard-{i}.log", "wb")
        cmd = [
            str(PYTHON), "-m", "pytest", "-v", "--durations=15",
            f"--junitxml={junit_dir / f'shard-{i}.xml'}",
            *[str(E2E / f) for f in files], *extra,
        ]
        # Each shard is its own process group, so a stuck shard's children are not orphaned.
        procs.append((i, log, subprocess.Popen(
            cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "WHARF_E2E_SHARD": str(i)},
        )))
    print(f"{len(procs)} shards started; their output follows as each ends", flush=True)
    status = 0
    pending = list(procs)
    while pending:
        for entry in list(pending):
            i, log, proc = entry
            if proc.poll() is None:
                continue
            pending.remove(entry)
            log.close()
            elapsed = time.monotonic() - started
            print(f"\n===== shard {i} ended with status {proc.returncode} after {elapsed:.0f} s =====",
                  flush=True)
            sys.stdout.write((junit_dir / f"shard-{i}.log").read_text(errors="replace"))
            sys.stdout.flush()
            if proc.returncode != 0 and status == 0:
                status = proc.returncode
        if pending:
            time.sleep(1)
            if int(time.monotonic() - started) % 120 == 0:
                print(f"... {len(pending)} shard(s) still running after "
                      f"{time.monotonic() - started:.0f} s", flush=True)
    return status


def record(junit_dir: Path) -> None:
    """Per-file seconds from the junit XML of a run, written to shard-weights.json."""
    totals: dict[str, float] = {}
    for xml in sorted(junit_dir.glob("shard-*.xml")):
        for case in ET.parse(xml).getroot().iter("testcase"):
            module = case.get("classname", "").split(".")[0]
            totals[f"{module}.py"] = totals.get(f"{module}.py", 0.0) + float(case.get("time", 0))
    _, together = load_weights()
    WEIGHTS.write_text(json.dumps(
        {"seconds": {k: round(v) for k, v in sorted(totals.items())}, "same_shard": together},
        indent=2) + "\n")
    print(f"wrote {WEIGHTS} ({len(totals)} files)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run the suite in shards")
    p_run.add_argument("--shards", type=int, default=int(os.environ.get("WHARF_E2E_SHARDS", "2")))
    p_run.add_argument("--junit-dir", type=Path, default=ROOT / "target" / "e2e-shards")
    p_run.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    p_plan = sub.add_parser("plan", help="show how files are split")
    p_plan.add_argument("--shards", type=int, default=int(os.environ.get("WHARF_E2E_SHARDS", "2")))
    p_rec = sub.add_parser("record", help="refresh shard-weights.json from a run's junit XML")
    p_rec.add_argument("junit_dir", type=Path)
    args = parser.parse_args()
    if args.command == "plan":
        plan(args.shards)
        return 0
    if args.command == "record":
        record(args.junit_dir)
        return 0
    return run(max(1, args.shards), args.junit_dir, args.extra)


if __name__ == "__main__":
    sys.exit(main())
