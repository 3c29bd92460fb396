"""The task test image itself (tests/testapp, built by testapp.py), checked without wharf:
the binary on the host, then the image under ``docker run`` — serving over the container's
bridge address, exit codes, logs, signals and the ``check`` health check command — and
finally that it pushes into a wharf registry under the name task definitions use.

If these fail, the ECS task tests that run this image cannot be trusted either.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

from testapp import TESTAPP_PORT, compile_testapp
from wharf_e2e import DockerCli, free_port, send_http, wait_until


def get(host: str, port: int, path: str, timeout: float = 10.0):
    return send_http(f"http://{host}:{port}", "GET", path, {}, b"", timeout=timeout)


# ---------------------------------------------------------------------------------------
# The binary on the host
# ---------------------------------------------------------------------------------------


def test_binary_subcommands_on_the_host(tmp_path):
    binary = str(compile_testapp())
    assert compile_testapp() == compile_testapp(), "the compiled binary is cached"
    with open(binary, "rb") as f:
        assert f.read(4) == b"\x7fELF"

    run = lambda *args, **kw: subprocess.run(  # noqa: E731
        [binary, *args], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, **kw
    )
    done = run("exit", "3", "50")
    assert (done.returncode, done.stdout) == (3, "exiting with 3\n")
    done = run("log", "20")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [f"line {i} of 20" for i in range(1, 21)]
    assert done.stderr.splitlines() == ["err 10", "err 20"]
    done = run("env", env={"A": "1", "NAME": "x"})
    assert sorted(done.stdout.splitlines()) == ["A=1", "NAME=x"]
    assert run("exit", "256").returncode == 2, "bad arguments are a usage error"
    assert run("no-such-command").returncode == 2

    port = free_port()
    server = subprocess.Popen(
        [binary, "serve", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={"NAME": "host-run"},
    )
    try:
        assert server.stdout.readline() == f"listening on {port}\n"
        assert get("127.0.0.1", port, "/health").body == b"ok\n"
        root = json.loads(get("127.0.0.1", port, "/").body)
        assert root["name"] == "host-run" and root["pid"] == server.pid
        assert run("check", str(port)).returncode == 0
        assert run("check", str(port), "/status?code=503").returncode == 1
        assert run("check", str(free_port())).returncode == 1, "nothing listening"
        answer = get("127.0.0.1", port, "/log?text=hello%20there")
        assert answer.status == 200
        slow = time.monotonic()
        assert get("127.0.0.1", port, "/slow?ms=300").status == 200
        assert time.monotonic() - slow >= 0.3
        assert get("127.0.0.1", port, "/hog?mb=8").body == b"allocated 8\n"
        assert get("127.0.0.1", port, "/status?code=418").status == 418
        assert get("127.0.0.1", port, "/nope").status == 404
        server.terminate()
        out, _ = server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0
    lines = out.splitlines()
    assert "hello there" in lines
    assert "GET /health 200" in lines and "GET /status?code=418 418" in lines
    assert lines[-1] == "received SIGTERM, exiting"

    # /exit answers, then the server exits with that code.
    port = free_port()
    server = subprocess.Popen([binary, "serve", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        assert get("127.0.0.1", port, "/exit?code=7").body == b"exiting with 7\n"
        assert server.wait(timeout=10) == 7
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_curl_personality_and_info_on_the_host(tmp_path):
    """Called as ``curl``, the binary is the part of curl health checks use; ``info`` reports
    what task tests check (working directory, user, open-files limit, writable root)."""
    curl = tmp_path / "curl"
    curl.symlink_to(compile_testapp())
    run = lambda *args: subprocess.run(  # noqa: E731
        [str(curl), *args], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )
    port, closed = free_port(), free_port()
    server = subprocess.Popen(
        [str(compile_testapp()), "serve", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline() == f"listening on {port}\n"
        done = run("-fsS", f"http://127.0.0.1:{port}/health")
        assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")
        done = run("-f", "-s", "-S", f"http://localhost:{port}/status?code=503")
        assert done.returncode == 22 and "returned error: 503" in done.stderr, done
        done = run("-fs", f"http://127.0.0.1:{port}/status?code=503")
        assert (done.returncode, done.stderr) == (22, ""), "-s without -S says nothing"
        done = run(f"http://127.0.0.1:{port}/status?code=503")
        assert (done.returncode, done.stdout) == (0, "status 503\n"), "no -f: any answer is a success"
        out = tmp_path / "body"
        done = run("-fsSo", str(out), f"127.0.0.1:{port}/health")
        assert done.returncode == 0 and out.read_text() == "ok\n", done
        done = run("-fsS", "-o", "/dev/null", f"http://127.0.0.1:{port}/info")
        assert (done.returncode, done.stdout) == (0, ""), done
        done = run("-fsS", f"http://127.0.0.1:{closed}/health")
        assert done.returncode == 7 and "Failed to connect" in done.stderr, done
        assert run("-fsS", f"https://127.0.0.1:{port}/").returncode == 1
        assert run("-fsS", "http://no-such-host.invalid/").returncode == 6
        assert run("--no-such-option", f"http://127.0.0.1:{port}/").returncode == 2

        info = json.loads(send_http(f"http://127.0.0.1:{port}", "GET", "/info", {}, b"").body)
        assert info["cwd"] == os.getcwd()
        assert info["uid"] == os.getuid() and info["gid"] == os.getgid()
        assert info["nofile_soft"] > 0
    finally:
        server.terminate()
        server.wait(timeout=10)

    done = subprocess.run(
        [str(compile_testapp()), "info"], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    info = json.loads(done.stdout)
    assert info["cwd"] == str(tmp_path)
    assert set(info) >= {"uid", "gid", "nofile_soft", "nofile_hard", "root_writable", "root_write_error"}


# ---------------------------------------------------------------------------------------
# The image under docker run
# ---------------------------------------------------------------------------------------


def container_ip(docker: DockerCli, name: str) -> str:
    ip = docker.run(
        "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name
    ).stdout.strip()
    assert ip, (
        f"container {name} has no bridge address: is the engine running with --bridge=none? "
        "(scripts/ensure-docker.sh falls back to that in restricted sandboxes)"
    )
    return ip


def state(docker: DockerCli, name: str) -> dict:
    return json.loads(docker.run("inspect", "--format", "{{json .State}}", name).stdout)


def test_image_serves_over_the_container_address(docker, testapp_local_image):
    name = docker.container_name("serve")
    docker.run("run", "-d", "--name", name, "-e", "NAME=web", testapp_local_image)
    ip = container_ip(docker, name)

    health = wait_until(
        lambda: get(ip, TESTAPP_PORT, "/health", timeout=2), f"{name} to answer on {ip}:8080"
    )
    assert (health.status, health.body) == (200, b"ok\n")
    root = json.loads(get(ip, TESTAPP_PORT, "/").body)
    assert root["name"] == "web"
    container_id = docker.run("inspect", "--format", "{{.Id}}", name).stdout.strip()
    assert root["hostname"] == container_id[:12], "Docker names the host after the container"
    env = get(ip, TESTAPP_PORT, "/env").body.decode().splitlines()
    assert "NAME=web" in env
    assert get(ip, TESTAPP_PORT, "/status?code=503").status == 503

    # The health check command, as a task definition's healthCheck would run it.
    assert docker.run("exec", name, "/testapp", "check", "8080").returncode == 0
    failing = docker.run("exec", name, "/testapp", "check", "8080", "/status?code=500", check=False)
    assert failing.returncode == 1, failing
    # busybox provides a shell for CMD-SHELL health checks and debugging.
    shell = docker.run("exec", name, "/bin/sh", "-c", "echo $((6 * 7)); ls /bin/wget")
    assert shell.stdout.split() == ["42", "/bin/wget"]

    # docker stop sends SIGTERM to PID 1: the server says so and exits 0 at once.
    started = time.monotonic()
    docker.run("stop", "--time", "20", name)
    assert time.monotonic() - started < 10, "SIGTERM was not handled"
    assert state(docker, name)["ExitCode"] == 0
    logs = docker.run("logs", name).stdout.splitlines()
    assert logs[0] == "listening on 8080"
    assert "GET /health 200" in logs and "GET /status?code=503 503" in logs
    assert logs[-1] == "received SIGTERM, exiting"


def test_image_exit_codes_and_logs(docker, testapp_local_image):
    name = docker.container_name("exit")
    done = docker.run(
        "run", "--name", name, "--network", "none", testapp_local_image, "exit", "3", check=False
    )
    assert (done.returncode, done.stdout) == (3, "exiting with 3\n"), done
    assert state(docker, name)["ExitCode"] == 3

    name = docker.container_name("log")
    done = docker.run("run", "--name", name, "--network", "none", testapp_local_image, "log", "20")
    assert done.stdout.splitlines() == [f"line {i} of 20" for i in range(1, 21)]
    assert done.stderr.splitlines() == ["err 10", "err 20"]

    # /exit?code=N: the container stops with N.
    name = docker.container_name("crash")
    docker.run("run", "-d", "--name", name, testapp_local_image, "serve", "9000")
    ip = container_ip(docker, name)
    wait_until(lambda: get(ip, 9000, "/health", timeout=2), f"{name} to answer on {ip}:9000")
    assert get(ip, 9000, "/exit?code=42").body == b"exiting with 42\n"
    wait_until(lambda: not state(docker, name)["Running"], f"{name} to exit")
    assert state(docker, name)["ExitCode"] == 42


def test_image_health_check_and_signals(docker, testapp_local_image):
    # A CMD-SHELL health check (docker's --health-cmd) runs through busybox's /bin/sh.
    name = docker.container_name("healthy")
    docker.run(
        "run", "-d", "--name", name,
        "--health-cmd", "/testapp check 8080", "--health-interval", "1s", "--health-retries", "2",
        testapp_local_image,
    )
    wait_until(
        lambda: (state(docker, name).get("Health") or {}).get("Status") == "healthy",
        f"{name} to become healthy",
    )
    docker.run("rm", "-f", name)

    # `sleep` exits on SIGTERM; `sleep --ignore-term` only reports it and is killed.
    name = docker.container_name("sleep")
    docker.run("run", "-d", "--name", name, "--network", "none", testapp_local_image, "sleep")
    docker.run("stop", "--time", "20", name)
    assert state(docker, name)["ExitCode"] == 0

    name = docker.container_name("stubborn")
    docker.run(
        "run", "-d", "--name", name, "--network", "none", testapp_local_image, "sleep", "--ignore-term"
    )
    wait_until(lambda: "sleeping" in docker.run("logs", name).stdout, f"{name} to start")
    docker.run("stop", "--time", "1", name)
    assert state(docker, name)["ExitCode"] == 137, "killed after the grace period"
    assert "ignoring SIGTERM" in docker.run("logs", name).stdout.splitlines()

    # `hog` allocates step by step and then holds the memory; a limit below it kills it.
    name = docker.container_name("hog")
    docker.run(
        "run", "-d", "--name", name, "--network", "none", "--memory", "32m", "--memory-swap", "32m",
        testapp_local_image, "hog", "64",
    )
    wait_until(lambda: not state(docker, name)["Running"], f"{name} to be killed")
    assert state(docker, name)["OOMKilled"] is True, state(docker, name)
    assert "allocated 1 of 64 MiB" in docker.run("logs", name).stdout


def test_image_curl_and_container_settings(docker, testapp_local_image):
    """The seeds' CMD-SHELL health check runs against the image (curl is the testapp), and
    ``info`` sees docker's working directory, user, ulimits and read-only root."""
    name = docker.container_name("seedcheck")
    docker.run(
        "run", "-d", "--name", name, "--network", "none", "-e", "PORT=8000",
        "--health-cmd", "curl -fsS http://127.0.0.1:8000/health || exit 1",
        "--health-interval", "1s", "--health-retries", "2",
        testapp_local_image,
    )
    wait_until(
        lambda: (state(docker, name).get("Health") or {}).get("Status") == "healthy",
        f"{name} to become healthy through curl",
    )
    for path in ("/usr/bin/curl", "/bin/curl"):
        done = docker.run("exec", name, path, "-fsS", "http://localhost:8000/health")
        assert done.stdout == "ok\n", done
    failing = docker.run("exec", name, "/bin/sh", "-c", "curl -fsS http://127.0.0.1:8000/status?code=500 || exit 1", check=False)
    assert failing.returncode == 1, failing
    docker.run("rm", "-f", name)

    name = docker.container_name("info")
    done = docker.run(
        "run", "--name", name, "--network", "none", "--user", "1000:1000", "--workdir", "/tmp",
        "--ulimit", "nofile=1024:2048", "--read-only", testapp_local_image, "info",
    )
    info = json.loads(done.stdout)
    assert (info["cwd"], info["uid"], info["gid"]) == ("/tmp", 1000, 1000), info
    assert (info["nofile_soft"], info["nofile_hard"]) == (1024, 2048), info
    assert info["root_writable"] is False and info["root_write_error"], info

    name = docker.container_name("info-ro")
    done = docker.run("run", "--name", name, "--network", "none", "--read-only", testapp_local_image, "info")
    info = json.loads(done.stdout)
    assert (info["uid"], info["root_writable"], info["root_write_error"]) == (0, False, "Read-only file system")
    name = docker.container_name("info-rw")
    done = docker.run("run", "--name", name, "--network", "none", testapp_local_image, "info")
    assert json.loads(done.stdout)["root_writable"] is True


# ---------------------------------------------------------------------------------------
# Into a wharf registry
# ---------------------------------------------------------------------------------------


def test_image_pushes_into_wharf(wharf, ecr, docker, testapp_image):
    assert re.fullmatch(r"\d{12}\.dkr\.ecr\.us-east-1\.amazonaws\.com/testapp:latest", testapp_image)
    assert testapp_image.local == f"{ecr.host}/testapp:latest"
    assert testapp_image.repository_uri == ecr.client.describe_repositories(
        repositoryNames=["testapp"]
    )["repositories"][0]["repositoryUri"]
    assert ecr.tags_by_digest("testapp") == {testapp_image.digest: {"latest"}}

    # Pulled back under its digest, it still runs.
    by_digest = f"{testapp_image.repository_uri}@{testapp_image.digest}"
    docker.track(by_digest)
    docker.run("pull", by_digest)
    done = docker.run(
        "run", "--rm", "--name", docker.container_name("pulled"), "--network", "none",
        by_digest, "exit", "0",
    )
    assert done.stdout == "exiting with 0\n"
