"""A task image with Python and boto3, for tests whose task code calls AWS APIs (task role
credentials, the metadata endpoint). The Docker Engine here cannot pull images, so the image
is made FROM scratch out of this machine's files: the Python 3.11 interpreter with the shared
libraries it and its extension modules need, the standard library (without tests, idle,
tkinter...), and boto3 / botocore from the test venv (botocore's data only for the services
the tests call). ``python3`` is on PATH; there is no shell.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from wharf_e2e import DockerCli

REPO = Path(__file__).resolve().parents[2]
VENV_SITE = next((REPO / ".deps" / "venv" / "lib").glob("python3*/site-packages"), None)
STDLIB = Path(sysconfig.get_paths()["stdlib"])
PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
SKIP_STDLIB = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "__pycache__",
               "site-packages", "dist-packages", "pydoc_data"}
PYDIR = f"python{sys.version_info.major}.{sys.version_info.minor}"
PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
BOTOCORE_SERVICES = ("sts", "ssm", "secretsmanager", "ecs", "iam", "logs")


def _libraries(binary: Path) -> set[Path]:
    """The shared libraries `binary` loads (ldd), the loader included."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    found = set()
    for line in out.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            found.add(Path(m.group(1)))
    return found


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src.resolve(), dst)


def write_python_context(context: Path, marker: str) -> Path:
    if context.exists():
        shutil.rmtree(context)
    root = context / "root"
    if VENV_SITE is None:
        raise RuntimeError("no test venv under .deps/venv: run scripts/ensure-deps.sh")
    python = PYTHON if PYTHON.exists() else Path(shutil.which("python3") or "/usr/bin/python3")
    _copy(python, root / "usr/local/bin/python3")
    libs = _libraries(python)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for entry in STDLIB.iterdir():
        if entry.name in SKIP_STDLIB:
            continue
        target = root / "usr/local/lib" / PYDIR / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, ignore=ignore, symlinks=False)
        else:
            _copy(entry, target)
    dynload = STDLIB / "lib-dynload"
    if dynload.is_dir():
        for module in dynload.glob("*.so"):
            libs |= _libraries(module)
    for lib in libs:
        _copy(lib, root / str(lib).lstrip("/"))
    site = root / "usr/local/lib" / PYDIR / "site-packages"
    for name in PACKAGES:
        src = VENV_SITE / name
        if src.is_dir():
            shutil.copytree(src, site / name, ignore=ignore)
        elif src.exists():
            _copy(src, site / name)
    data = site / "botocore" / "data"
    for entry in list(data.iterdir()):
        if entry.is_dir() and entry.name not in BOTOCORE_SERVICES:
            shutil.rmtree(entry)
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "wharf-e2e-marker").write_text(marker + "\n")
    (root / "tmp").mkdir(exist_ok=True)
    (context / "Dockerfile").write_text(
        "FROM scratch\n"
        "COPY root/ /\n"
        "ENV PATH=/usr/local/bin PYTHONHOME=/usr/local PYTHONDONTWRITEBYTECODE=1 HOME=/tmp "
        f"PYTHONPATH=/usr/local/lib/{PYDIR}/site-packages\n"
        'ENTRYPOINT []\nCMD ["python3", "-c", "import boto3; print(boto3.__version__)"]\n'
    )
    return context


def build_python_image(builder: DockerCli, workdir: Path) -> str:
    """Builds the Python + boto3 image; returns its local tag (tracked for clean-up)."""
    key = hashlib.sha256(f"{PYTHON}{VENV_SITE}".encode()).hexdigest()[:12]
    context = write_python_context(Path(workdir) / "pyimage-context", f"pyimage-{key}-{builder.run_id}")
    tag = f"wharf-e2e-python:{key}-{builder.run_id}"
    builder.track(tag)
    builder.run("build", "--quiet", "--platform", "linux/amd64", "-t", tag, str(context), timeout=600)
    builder.track_id(tag)
    return tag
