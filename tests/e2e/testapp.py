"""The test application image the ECS task tests run, built locally with no network access.

``tests/testapp/testapp.c`` is one static program with subcommands (``serve``, ``exit``,
``log``, ``hog``, ``sleep``, ``check``, ``env``, ``wait-file``; see the comment at its top).
This module

- compiles it (``gcc -static -O2``), cached under ``tests/e2e/.cache/`` by the sha256 of the
  source and the flags, so a session compiles at most once and an unchanged source never
  again (``compile_testapp``);
- builds a Docker image ``FROM scratch`` with ``/testapp`` (``ENTRYPOINT ["/testapp"]``,
  ``CMD ["serve"]``, port 8080) and Debian's static busybox as ``/bin/busybox`` with every
  applet linked into ``/bin`` (so ``/bin/sh`` and ``CMD-SHELL`` health checks work), and
  ``/usr/bin/curl`` and ``/bin/curl`` linked to ``/testapp`` (its curl personality, for the
  seeds' ``curl -fsS http://127.0.0.1:8000/health || exit 1``), using
  ``ecr_images.write_docker_context`` and the legacy builder (``build_testapp_image``);
- pushes that image into a wharf server's registry and names it the way task definitions
  do, ``<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`` (``push_testapp``).

The conftest fixtures ``testapp_local_image`` (session: build once) and ``testapp_image``
(per test: push into that test's wharf) use these; a module that keeps one wharf server for
several tests can call ``push_testapp`` itself once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from ecr_images import write_docker_context
from wharf_e2e import HERE, REPO_ROOT, DockerCli, Ecr

TESTAPP_SOURCE = REPO_ROOT / "tests" / "testapp" / "testapp.c"
# Compiled binaries, one per source digest. The directory ignores itself in git (it writes
# its own .gitignore) and is listed in the repository's .gitignore as well.
CACHE_DIR = Path(os.environ.get("WHARF_E2E_CACHE", HERE / ".cache"))
CFLAGS = ("-static", "-O2", "-Wall", "-Wextra")
# The port `serve` listens on when no PORT is given.
TESTAPP_PORT = 8080
# The repository `push_testapp` pushes to unless told otherwise.
TESTAPP_REPOSITORY = "testapp"

# Image layout: busybox and its applet links first and the testapp binary next (layers the
# build cache can share between sessions), the per-build marker last.
TESTAPP_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp /usr/bin && chmod 1777 /tmp && ln -s /testapp /usr/bin/curl && ln -s /testapp /bin/curl"]
COPY testapp /testapp
COPY marker /marker
LABEL org.wharf.test={label}
EXPOSE 8080
ENTRYPOINT ["/testapp"]
CMD ["serve"]
"""


def gcc_binary() -> str:
    """Debian's gcc unless $WHARF_E2E_GCC says otherwise."""
    value = os.environ.get("WHARF_E2E_GCC")
    if value:
        return value
    if Path("/usr/bin/gcc").exists():
        return "/usr/bin/gcc"
    return shutil.which("gcc") or "/usr/bin/gcc"


def source_digest() -> str:
    """sha256 of the source and the compiler flags: what a cached binary is keyed by."""
    h = hashlib.sha256()
    h.update(TESTAPP_SOURCE.read_bytes())
    h.update(("\0" + " ".join(CFLAGS)).encode())
    return h.hexdigest()


def compile_testapp(cache_dir: Path = CACHE_DIR) -> Path:
    """The static testapp binary for the current source, compiled if not cached yet."""
    cache_dir = Path(cache_dir)
    binary = cache_dir / f"testapp-{source_digest()[:16]}"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    cache_dir.mkdir(parents=True, exist_ok=True)
    ignore = cache_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Build outputs of the end-to-end suite (tests/e2e/testapp.py).\n*\n")
    # Compile to a private name and rename: a concurrent run never sees half a binary.
    partial = binary.with_name(f"{binary.name}.{os.getpid()}.partial")
    gcc = gcc_binary()
    argv = [gcc, *CFLAGS, "-o", str(partial), str(TESTAPP_SOURCE)]
    try:
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300
        )
    except FileNotFoundError:
        raise AssertionError(f"{gcc} is missing: install Debian's gcc (scripts/ensure-deps.sh)")
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise AssertionError(
            f"$ {' '.join(argv)}\nexit status {proc.returncode}\n{proc.stdout}{proc.stderr}"
        )
    os.replace(partial, binary)
    return binary


def write_testapp_context(directory: Path, marker: str) -> Path:
    """A Docker build context for the testapp image (see TESTAPP_DOCKERFILE)."""
    return write_docker_context(
        directory, marker, dockerfile=TESTAPP_DOCKERFILE, files={"testapp": compile_testapp()}
    )


def build_testapp_image(docker: DockerCli, workdir: Path) -> str:
    """Builds the testapp image; returns its local tag.

    The image carries ``docker.run_id`` in its marker, so every builder gets an image of its
    own (clean-up by image id never removes someone else's); the image id is tracked with
    ``docker``, whose clean-up removes it with every reference it gained (tags and the
    ``repo@digest`` names pushes leave)."""
    key = source_digest()[:16]
    context = write_testapp_context(Path(workdir) / "testapp-context", f"testapp-{key}-{docker.run_id}")
    tag = f"wharf-e2e-testapp:{key}-{docker.run_id}"
    docker.track(tag)
    docker.run("build", "--quiet", "--platform", "linux/amd64", "-t", tag, str(context))
    docker.track_id(tag)
    return tag


class TestappImage(str):
    """The pushed image's name as task definitions write it,
    ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`` (the string itself), with
    the other names of the same image as attributes."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    repository: str
    tag: str
    digest: str
    # `127.0.0.1:<port>/<repository>`: the repositoryUri CreateRepository returned.
    repository_uri: str
    # `<repository_uri>:<tag>`: what docker pushed and can pull directly.
    local: str

    def __new__(cls, uri: str, **names: str) -> "TestappImage":
        image = super().__new__(cls, uri)
        for key, value in names.items():
            setattr(image, key, value)
        return image


def docker_login(ecr: Ecr, docker: DockerCli) -> None:
    """``docker login`` to the wharf registry with an ECR authorization token."""
    docker.run("login", "--username", "AWS", "--password-stdin", ecr.host, input=ecr.password)


def push_testapp(
    ecr: Ecr,
    docker: DockerCli,
    local_image: str,
    repository: str = TESTAPP_REPOSITORY,
    tag: str = "latest",
) -> TestappImage:
    """Pushes ``local_image`` to ``repository:tag`` in the wharf behind ``ecr`` (creating the
    repository if needed); the pushed tag is tracked with ``docker`` for clean-up."""
    try:
        repo = ecr.create_repository(repository)
    except ecr.client.exceptions.RepositoryAlreadyExistsException:
        repo = ecr.client.describe_repositories(repositoryNames=[repository])["repositories"][0]
    repository_uri = repo["repositoryUri"]
    docker_login(ecr, docker)
    local = f"{repository_uri}:{tag}"
    docker.track(local)
    docker.run("tag", local_image, local)
    docker.run("push", local)
    details = ecr.client.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    digest = details["imageDetails"][0]["imageDigest"]
    region = ecr.client.meta.region_name
    uri = f"{repo['registryId']}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"
    return TestappImage(
        uri,
        repository=repository,
        tag=tag,
        digest=digest,
        repository_uri=repository_uri,
        local=local,
    )
