"""Upgrading wharf never loses or misreads a user's data; an older wharf never misreads a newer
data directory.

``fixtures/datadir-v1`` is a data directory written by wharf before the store was versioned
(see datadir_fixture.py for how it was made and what it holds). Today's wharf opens a copy and
must show every cluster, task definition, service, task, repository, image, secret, parameter,
load balancer, log event, role, security group and certificate exactly as the old wharf showed
them (``expected.json``). A data directory marked as written by a newer wharf is refused at
start with a message that says so, before anything is served.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from datadir_fixture import observe
from wharf_e2e import FIXTURES, Wharf, wharf_binary

FIXTURE = FIXTURES / "datadir-v1"


def copy_fixture(root: Path) -> Path:
    data = root / "data"
    shutil.copytree(FIXTURE / "data", data)
    return data


def diff(expected, actual, path="$") -> list[str]:
    """Where two JSON values differ, as JSON paths (at most a few dozen)."""
    if type(expected) is not type(actual):
        return [f"{path}: expected {expected!r}, found {actual!r}"]
    if isinstance(expected, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                out.append(f"{path}.{key}: missing (expected {expected[key]!r})")
            elif key not in expected:
                out.append(f"{path}.{key}: unexpected {actual[key]!r}")
            else:
                out += diff(expected[key], actual[key], f"{path}.{key}")
        return out
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} items, found {len(actual)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in diff(e, a, f"{path}[{i}]")]
    return [] if expected == actual else [f"{path}: expected {expected!r}, found {actual!r}"]


def test_a_data_directory_of_the_unversioned_store_opens_with_everything_intact(tmp_path):
    copy_fixture(tmp_path)
    wharf = Wharf(wharf_binary(), tmp_path)
    try:
        expected = json.loads((FIXTURE / "expected.json").read_text())
        actual = observe(wharf)
        problems = diff(expected, actual)
        assert not problems, "the upgraded data directory differs:\n" + "\n".join(problems[:40])
        # The migrated store keeps working: a write and a restart later, everything is there.
        wharf.aws("ecs", "create-cluster", "--cluster-name", "after-upgrade")
        wharf.restart()
        clusters = wharf.aws("ecs", "list-clusters").json["clusterArns"]
        assert any(a.endswith("/after-upgrade") for a in clusters)
        assert any(a.endswith("/fixture-cluster") for a in clusters)
    finally:
        wharf.stop()


def start_refused(data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(wharf_binary()), "server", "--port", "0", "--data-dir", str(data)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "change, names",
    [
        ("UPDATE meta SET value = value + 1 WHERE name = 'store_format'", "store format"),
        ("UPDATE table_formats SET version = version + 1 WHERE tbl = 'ecs.task'", "ecs.task"),
    ],
    ids=["store-layout", "record-format"],
)
def test_a_data_directory_of_a_newer_wharf_is_refused(tmp_path, change, names):
    data = copy_fixture(tmp_path)
    # Let today's wharf upgrade it once, then mark it as written by a newer one.
    wharf = Wharf(wharf_binary(), tmp_path)
    wharf.stop()
    with sqlite3.connect(data / "wharf.db") as db:
        assert db.execute(change).rowcount == 1
    result = start_refused(data)
    assert result.returncode != 0, result.stdout + result.stderr
    message = result.stderr
    assert "written by a newer wharf" in message and names in message, message
    assert not (data / "endpoint").exists(), "a refused server must not announce an endpoint"
