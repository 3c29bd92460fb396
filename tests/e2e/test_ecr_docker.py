"""Docker Engine (Debian's docker.io) against wharf's registry, as the seeds use it:

    aws ecr get-login-password | docker login --username AWS --password-stdin $REPO
    docker build -t app . && docker tag app $REPO:v1 && docker push $REPO:v1

The engine cannot pull from the internet here, so the image is built by the test itself:
``FROM scratch`` with Debian's static busybox (ecr_images.write_docker_context). Each test
uses its own DOCKER_CONFIG and image names unique to the run, and removes every image and
container it created (the ``docker`` fixture).

The ``docker_engine`` fixture runs scripts/ensure-docker.sh, which starts dockerd when no
engine answers; when that is impossible the tests fail with the script's output.
"""

from __future__ import annotations

import re
import shlex
import subprocess

from ecr_images import MT_DOCKER_MANIFEST, write_docker_context
from wharf_e2e import AWS_CLI, DockerCli, Ecr, git_sha_like

PUSH_DIGEST = re.compile(r"^(\S+): digest: (sha256:[0-9a-f]{64}) size: \d+$", re.M)


def build(docker: DockerCli, tmp_path, what: str) -> str:
    """Builds the busybox image; returns its local tag (tracked for clean-up)."""
    marker = f"{what}-{docker.run_id}"
    context = write_docker_context(tmp_path / f"ctx-{what}", marker)
    tag = f"wharf-e2e-{what}:{docker.run_id}"
    docker.track(tag)
    docker.run("build", "--quiet", "--platform", "linux/amd64", "-t", tag, str(context))
    docker.track_id(tag)
    return tag


def login_like_the_seeds(wharf, docker: DockerCli, uri: str, cli: str = "v2") -> subprocess.CompletedProcess:
    """`aws ecr get-login-password | docker login --username AWS --password-stdin $REPO`."""
    aws = [str(AWS_CLI[cli]), "ecr", "get-login-password", "--region", "us-east-1", "--endpoint-url", wharf.endpoint]
    login = [str(docker.binary), "login", "--username", "AWS", "--password-stdin", uri]
    script = f"set -o pipefail; {shlex.join(aws)} | {shlex.join(login)}"
    env = {**wharf.cli_env(), **docker.env()}
    proc = subprocess.run(
        ["bash", "-c", script], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "Login Succeeded" in proc.stdout, (
        f"$ {script}\nexit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
    return proc


def push(docker: DockerCli, ref: str) -> str:
    """docker push; returns the manifest digest Docker reports."""
    out = docker.run("push", ref).stdout
    found = dict(PUSH_DIGEST.findall(out))
    tag = ref.rsplit(":", 1)[1]
    assert tag in found, f"no digest for {tag} in docker push output:\n{out}"
    return found[tag]


def test_docker_login_push_pull_run(wharf, ecr: Ecr, docker: DockerCli, tmp_path):
    repo = f"blog-api-{docker.run_id}"
    uri = ecr.create_repository(repo)["repositoryUri"]
    assert uri == f"{ecr.host}/{repo}"
    local = build(docker, tmp_path, "app")
    version, sha = "v1.0.0", git_sha_like(docker.run_id)

    login_like_the_seeds(wharf, docker, uri)
    for tag in (version, sha):
        docker.track(f"{uri}:{tag}")
        docker.run("tag", local, f"{uri}:{tag}")
    digest = push(docker, f"{uri}:{version}")
    assert push(docker, f"{uri}:{sha}") == digest

    # What Docker pushed, as the ECR API sees it: one schema 2 image with both tags.
    details = ecr.image_details(repo)
    assert len(details) == 1, details
    assert details[0]["imageDigest"] == digest
    assert sorted(details[0]["imageTags"]) == sorted([version, sha])
    assert details[0]["imageManifestMediaType"] == MT_DOCKER_MANIFEST
    assert details[0]["imageSizeInBytes"] > 500_000, "the busybox layer is ~1 MB compressed"

    # Nothing local any more: pull by tag, then by digest, and run it.
    docker.run("rmi", f"{uri}:{version}", f"{uri}:{sha}", local)
    assert not docker.image_exists(f"{uri}:{version}")
    docker.run("pull", f"{uri}:{version}")
    repo_digests = docker.run("image", "inspect", "--format", "{{json .RepoDigests}}", f"{uri}:{version}").stdout
    assert f"{uri}@{digest}" in repo_digests, repo_digests
    docker.run("rmi", f"{uri}:{version}")

    by_digest = f"{uri}@{digest}"
    docker.track(by_digest)
    docker.run("pull", by_digest)
    out = docker.run(
        "run", "--rm", "--name", docker.container_name("echo"), "--network", "none",
        by_digest, "echo", f"hello from {repo}",
    )
    assert out.stdout.strip() == f"hello from {repo}", out
    marker = docker.run(
        "run", "--rm", "--name", docker.container_name("cat"), "--network", "none", by_digest, "cat", "/marker"
    ).stdout
    assert marker.strip() == f"app-{docker.run_id}"
    docker.run("rmi", by_digest)

    # Logged out, the engine is refused.
    docker.run("logout", ecr.host)
    refused = docker.run("pull", f"{uri}:{version}", check=False)
    assert refused.returncode != 0
    assert "no basic auth credentials" in refused.stderr or "unauthorized" in refused.stderr.lower(), refused.stderr


def test_docker_push_refusals(wharf, ecr: Ecr, docker: DockerCli, tmp_path):
    """A repository that does not exist (NAME_UNKNOWN) and an immutable tag (TAG_INVALID)."""
    repo = f"ai-assistant-{docker.run_id}"
    uri = ecr.create_repository(repo, imageTagMutability="IMMUTABLE")["repositoryUri"]
    first = build(docker, tmp_path, "first")
    second = build(docker, tmp_path, "second")
    login_like_the_seeds(wharf, docker, uri, cli="v1")

    missing = f"{ecr.host}/not-created-{docker.run_id}:v1"
    docker.track(missing)
    docker.run("tag", first, missing)
    refused = docker.run("push", missing, check=False)
    assert refused.returncode != 0, refused.stdout
    assert "name unknown" in refused.stderr.lower(), refused.stderr

    docker.track(f"{uri}:v1")
    docker.run("tag", first, f"{uri}:v1")
    digest = push(docker, f"{uri}:v1")
    docker.run("tag", second, f"{uri}:v1")
    refused = docker.run("push", f"{uri}:v1", check=False)
    assert refused.returncode != 0, "docker overwrote an immutable tag:\n" + refused.stdout
    assert "tag invalid" in refused.stderr.lower() or "tag_invalid" in refused.stderr.lower(), refused.stderr
    assert ecr.tags_by_digest(repo) == {digest: {"v1"}}
