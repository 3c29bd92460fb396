"""Support code for wharf's end-to-end tests.

Starts the real ``wharf`` binary (``$WHARF_BIN``) on a private data directory, drives it
with the real AWS CLI (v1 from the project's venv, v2 from Debian's ``awscli`` package),
with boto3, and with raw SigV4-signed HTTP requests.

The server contract these helpers rely on:

- ``$WHARF_BIN server --port 0 --data-dir DIR [--accept-any-credentials] [--account-id N]``
  binds 127.0.0.1 on a free port;
- when ready it writes ``DIR/endpoint`` (atomically) containing e.g.
  ``http://127.0.0.1:43123`` and prints ``wharf listening on http://127.0.0.1:43123``;
- on first start it creates ``DIR/credentials``, an AWS shared-credentials file whose
  ``[default]`` profile holds the root access key id and secret;
- SIGTERM stops it gracefully.
"""

from __future__ import annotations

import base64
import configparser
import datetime as _dt
import hashlib
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FIXTURES = HERE / "fixtures"

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

AWS_CLI = {
    "v1": Path(os.environ.get("WHARF_E2E_AWS_V1", REPO_ROOT / ".deps" / "venv" / "bin" / "aws")),
    "v2": Path(os.environ.get("WHARF_E2E_AWS_V2", "/usr/bin/aws")),
}
# Exit status of each CLI when the service answered with an error.
CLI_SERVICE_ERROR_EXIT = {"v1": 255, "v2": 254}

START_DEADLINE_S = 60.0
STOP_GRACE_S = 10.0
CLI_TIMEOUT_S = 180.0
POLL_INTERVAL_S = 0.02

# Target group health checks fast enough for a test (AWS's minimum interval is 5 s), with a
# timeout that a busy machine still meets: CreateTargetGroup keyword arguments.
FAST_TARGET_HEALTH = dict(
    HealthCheckPath="/health",
    HealthCheckIntervalSeconds=5,
    HealthCheckTimeoutSeconds=4,
    HealthyThresholdCount=2,
    UnhealthyThresholdCount=2,
)

# AWS protocol constants (botocore's service-2.json metadata).
ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113"
QUERY_VERSIONS = {"sts": "2011-06-15", "iam": "2010-05-08", "ec2": "2016-11-15"}


def scrub_aws_environment() -> None:
    """Keep the host's AWS configuration away from boto3/botocore in this process."""
    for key in list(os.environ):
        if key.startswith("AWS_") or key.startswith("BOTO_"):
            del os.environ[key]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def wharf_binary() -> Path:
    value = os.environ.get("WHARF_BIN")
    if not value:
        pytest.fail(
            "WHARF_BIN is not set. Point it at the wharf binary, e.g.\n"
            "    cargo build && WHARF_BIN=$PWD/target/debug/wharf "
            ".deps/venv/bin/python -m pytest tests/e2e\n"
            "(scripts/test.sh does this for you).",
            pytrace=False,
        )
    path = Path(value)
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"WHARF_BIN={value!r} is not an executable file", pytrace=False)
    return path.resolve()


def tail(path: Path, max_bytes: int = 64 * 1024) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    if len(data) > max_bytes:
        data = b"[... log truncated ...]\n" + data[-max_bytes:]
    return data.decode("utf-8", "replace")


def read_credentials(path: Path, profile: str = "default") -> tuple[str, str]:
    parser = configparser.ConfigParser()
    parser.read(path)
    section = parser[profile]
    return section["aws_access_key_id"], section["aws_secret_access_key"]


def write_credentials(path: Path, access_key: str, secret_key: str) -> Path:
    path.write_text(
        f"[default]\naws_access_key_id = {access_key}\naws_secret_access_key = {secret_key}\n"
    )
    return path


# ---------------------------------------------------------------------------------------
# The server process
# ---------------------------------------------------------------------------------------


class WharfServer:
    """One wharf data directory, served by a (re)startable ``wharf server`` process."""

    _counter = itertools.count(1)

    def __init__(self, binary: Path, data_dir: Path, log_dir: Path, extra_args=()):
        self.binary = binary
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.extra_args = [str(a) for a in extra_args]
        self.proc: subprocess.Popen | None = None
        self.endpoint: str | None = None
        self.log_paths: list[Path] = []
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def endpoint_file(self) -> Path:
        return self.data_dir / "endpoint"

    @property
    def credentials_file(self) -> Path:
        return self.data_dir / "credentials"

    @property
    def log_path(self) -> Path:
        return self.log_paths[-1]

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "server",
            "--port",
            "0",
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]

    def start(self) -> str:
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        # A server killed with SIGKILL leaves its endpoint file behind: remove it so that
        # we wait for the new process's own announcement.
        self.endpoint_file.unlink(missing_ok=True)
        log_path = self.log_dir / f"wharf-{next(self._counter)}.log"
        self.log_paths.append(log_path)
        # No AWS_* from the host, and no WHARF_* server settings (WHARF_PORT,
        # WHARF_ACCEPT_ANY_CREDENTIALS, ...) other than the log filter: flags only.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") and (not k.startswith("WHARF_") or k == "WHARF_LOG")
        }
        env.setdefault("RUST_BACKTRACE", "1")
        with open(log_path, "wb") as log:
            log.write(("$ " + " ".join(self.command()) + "\n").encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.data_dir,
                start_new_session=True,
            )
        self.endpoint = self._wait_ready()
        return self.endpoint

    def _wait_ready(self) -> str:
        assert self.proc is not None
        deadline = time.monotonic() + START_DEADLINE_S
        endpoint = None
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                pytest.fail(
                    f"wharf server exited with status {code} before it was ready\n"
                    f"--- {self.log_path} ---\n{tail(self.log_path)}",
                    pytrace=False,
                )
            if endpoint is None and self.endpoint_file.exists():
                text = self.endpoint_file.read_text().strip()
                if text.startswith("http://") or text.startswith("https://"):
                    endpoint = text
            if endpoint is not None and self.credentials_file.exists():
                url = urllib.parse.urlsplit(endpoint)
                try:
                    with socket.create_connection((url.hostname, url.port), timeout=1):
                        return endpoint
                except OSError:
                    pass
            time.sleep(POLL_INTERVAL_S)
        self.kill()
        pytest.fail(
            f"wharf server not ready within {START_DEADLINE_S:.0f} s "
            f"(endpoint file {self.endpoint_file}: "
            f"{'present' if self.endpoint_file.exists() else 'missing'}, credentials file: "
            f"{'present' if self.credentials_file.exists() else 'missing'})\n"
            f"--- {self.log_path} ---\n{tail(self.log_path)}",
            pytrace=False,
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """``kill -9`` the server (and anything it started in its session)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def terminate(self, grace: float = STOP_GRACE_S) -> tuple[int | None, bool]:
        """SIGTERM, wait up to ``grace`` s, then SIGKILL.

        Returns (exit status of the graceful stop or None, whether SIGKILL was needed).
        """
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), False
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=grace)
            # Reap anything left in the process group.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            return code, False
        except subprocess.TimeoutExpired:
            self.kill()
            return None, True


def remove_task_containers(data_dir: Path) -> int:
    """Removes the containers the wharf of ``data_dir`` left on the Docker Engine (wharf keeps
    task containers running across its own stops, to adopt them), and its security group table
    in the machine's namespace (kept while wharf is stopped, as the tasks are): the fixtures call
    this after the server's last stop, so no test leaves containers or filters behind. Returns
    how many containers it removed; without an engine or an instance id, nothing."""
    instance = data_dir / "instance-id"
    docker = docker_binary()
    if not instance.is_file() or not docker.exists():
        return 0
    instance_id = instance.read_text().strip()
    table = "wharf_sg_" + "".join(c for c in instance_id if c.isascii() and c.isalnum())[:32]
    subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True, check=False)
    label = f"label=wharf.instance={instance_id}"
    try:
        ids = subprocess.run(
            [str(docker), "ps", "-aq", "--filter", label],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout.split()
        if ids:
            subprocess.run(
                [str(docker), "rm", "-f", *ids], capture_output=True, timeout=120, check=False
            )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return len(ids)


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


@dataclass
class CliResult:
    cli: str
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    json: Any

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\n"
            f"[aws {self.cli}] exit status {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def error_code(self) -> str | None:
        """The AWS error code, for json (``__type``) and query/ec2 (``<Code>``) errors."""
        text = self.text.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                return None
            code = data.get("__type") or data.get("code") or data.get("Code")
            if code:
                # botocore: "aws.protocoltests#Foo:http://..." -> "Foo"
                return code.split("#")[-1].split(":")[0]
            return None
        start = text.find("<Code>")
        if start >= 0:
            return text[start + 6 : text.find("</Code>", start)]
        return None

    def error_message(self) -> str:
        text = self.text.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
                return data.get("message") or data.get("Message") or ""
            except ValueError:
                return ""
        start = text.find("<Message>")
        if start >= 0:
            return text[start + 9 : text.find("</Message>", start)]
        return ""

    def describe(self) -> str:
        return f"HTTP {self.status} {self.headers}\n{self.text[:4000]}"


# ---------------------------------------------------------------------------------------
# Raw HTTP
# ---------------------------------------------------------------------------------------


def send_http(
    endpoint: str, method: str, path: str, headers: dict[str, str], body: bytes, timeout=30.0
) -> RawResponse:
    """Send one HTTP/1.1 request and read the answer.

    The body is written from a second thread while this one reads the response, so a
    server that answers early (413) and closes its end does not leave us stuck writing.
    """
    url = urllib.parse.urlsplit(endpoint)
    sock = socket.create_connection((url.hostname, url.port), timeout=timeout)
    try:
        head = [f"{method} {path} HTTP/1.1"]
        names = {k.lower() for k in headers}
        if "host" not in names:
            head.append(f"Host: {url.netloc}")
        for key, value in headers.items():
            head.append(f"{key}: {value}")
        if "content-length" not in names:
            head.append(f"Content-Length: {len(body)}")
        head.append("Connection: close")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        write_error: list[BaseException] = []

        def writer():
            try:
                sock.sendall(payload)
            except OSError as exc:  # the server may close early on an oversized body
                write_error.append(exc)

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            data = response.read()
        except (ConnectionError, http.client.HTTPException) as exc:
            raise AssertionError(
                f"no HTTP response from {endpoint} ({exc!r}; write error: {write_error!r})"
            ) from exc
        thread.join(timeout=timeout)
        return RawResponse(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=data,
        )
    finally:
        sock.close()


def sigv4_headers(
    endpoint: str,
    service: str,
    region: str,
    access_key: str,
    secret_key: str,
    body: bytes,
    headers: dict[str, str],
    method: str = "POST",
    path: str = "/",
    when: _dt.datetime | None = None,
) -> dict[str, str]:
    """Headers of a request signed exactly as botocore signs it (``SigV4Auth``)."""
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = endpoint.rstrip("/") + path
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = botocore.auth.SigV4Auth(Credentials(access_key, secret_key), service, region)
    if when is None:
        signer.add_auth(request)
    else:
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
            signer.add_auth(request)
    out = dict(request.headers.items())
    out["Host"] = urllib.parse.urlsplit(endpoint).netloc
    return out


# ---------------------------------------------------------------------------------------
# The fixture object
# ---------------------------------------------------------------------------------------


class Wharf:
    """A running wharf plus the clients that talk to it (see conftest.py)."""

    def __init__(self, binary: Path, root: Path, extra_args=()):
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.work = root / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        self.server = WharfServer(binary, root / "data", root / "logs", extra_args)
        self.server.start()

    # -- server lifecycle -------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        assert self.server.endpoint, "server not started"
        return self.server.endpoint

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    @property
    def credentials_file(self) -> Path:
        return self.server.credentials_file

    @property
    def credentials(self) -> tuple[str, str]:
        return read_credentials(self.credentials_file)

    def restart(self) -> str:
        """``kill -9`` the server and start a new one on the same data directory."""
        self.server.kill()
        return self.server.start()

    def stop(self) -> tuple[int | None, bool]:
        """Graceful stop (SIGTERM); see WharfServer.terminate."""
        return self.server.terminate()

    def start(self) -> str:
        return self.server.start()

    def log_text(self) -> str:
        return "\n".join(tail(p) for p in self.server.log_paths)

    # -- AWS CLI ----------------------------------------------------------------------

    def cli_env(self, credentials_file: Path | None = None) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file or self.credentials_file),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def aws(
        self,
        *args: str,
        cli: str = "v1",
        check: bool = True,
        region: str | None = DEFAULT_REGION,
        output: str = "json",
        credentials_file: Path | None = None,
        endpoint: str | None = None,
        timeout: float = CLI_TIMEOUT_S,
    ) -> CliResult:
        """Run ``aws ARGS --endpoint-url ... --region ... --output json``.

        ``--region``/``--output`` given in ARGS (as the seeds do) win over the defaults.
        """
        exe = AWS_CLI[cli]
        if not exe.exists():
            pytest.fail(
                f"AWS CLI {cli} not found at {exe}: run scripts/ensure-deps.sh", pytrace=False
            )
        args = [str(a) for a in args]
        argv = [str(exe), *args, "--endpoint-url", endpoint or self.endpoint]
        if region is not None and "--region" not in args:
            argv += ["--region", region]
        if "--output" not in args:
            argv += ["--output", output]
        proc = subprocess.run(
            argv,
            env=self.cli_env(credentials_file),
            cwd=self.work,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        parsed = None
        if proc.stdout.strip():
            try:
                parsed = json.loads(proc.stdout)
            except ValueError:
                parsed = None
        result = CliResult(cli, argv, proc.returncode, proc.stdout, proc.stderr, parsed)
        if check and proc.returncode != 0:
            pytest.fail("AWS CLI command failed\n" + result.describe(), pytrace=False)
        return result

    def aws_error(self, code: str | tuple[str, ...], *args: str, cli: str = "v1", **kwargs):
        """Run a CLI command that must fail with the AWS error ``code`` (or one of them).

        Checks the exit status the CLI uses for service errors (v1: 255, v2: 254) and the
        CLI's message ``An error occurred (CODE) when calling the OP operation: ...``.
        """
        codes = (code,) if isinstance(code, str) else tuple(code)
        result = self.aws(*args, cli=cli, check=False, **kwargs)
        found = [c for c in codes if f"An error occurred ({c})" in result.stderr]
        assert result.returncode == CLI_SERVICE_ERROR_EXIT[cli] and found, (
            f"expected AWS error {' or '.join(codes)} "
            f"(exit status {CLI_SERVICE_ERROR_EXIT[cli]})\n" + result.describe()
        )
        # The CLIs retry only 5xx and throttling answers; a client error is final.
        assert "reached max retries" not in result.stderr, (
            "the CLI retried: the server answered 5xx or throttled\n" + result.describe()
        )
        return result

    def put_fixture(self, fixture: str, name: str | None = None) -> str:
        """Copy tests/e2e/fixtures/FIXTURE into the CLI's working directory as NAME, so
        commands can use relative ``file://NAME`` paths exactly as the seeds do."""
        name = name or fixture
        shutil.copyfile(FIXTURES / fixture, self.work / name)
        return name

    def write_json(self, name: str, data: Any) -> str:
        """Write DATA to a file in the CLI's working directory; returns ``file://PATH``."""
        path = self.work / name
        path.write_text(json.dumps(data, indent=2))
        return f"file://{path}"

    # -- boto3 ------------------------------------------------------------------------

    def boto3_client(
        self,
        service: str,
        region: str = DEFAULT_REGION,
        access_key: str | None = None,
        secret_key: str | None = None,
    ):
        import boto3
        from botocore.config import Config

        if access_key is None or secret_key is None:
            access_key, secret_key = self.credentials
        session = boto3.session.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
        )
        return session.client(
            service,
            endpoint_url=self.endpoint,
            config=Config(
                retries={"mode": "standard", "max_attempts": 1},
                connect_timeout=10,
                read_timeout=60,
            ),
        )

    # -- raw signed HTTP ---------------------------------------------------------------

    def raw(
        self,
        service: str,
        body: bytes,
        headers: dict[str, str],
        region: str = DEFAULT_REGION,
        access_key: str | None = None,
        secret_key: str | None = None,
        sign: bool = True,
        when: _dt.datetime | None = None,
        timeout: float = 30.0,
    ) -> RawResponse:
        if sign:
            if access_key is None or secret_key is None:
                access_key, secret_key = self.credentials
            headers = sigv4_headers(
                self.endpoint, service, region, access_key, secret_key, body, headers, when=when
            )
        return send_http(self.endpoint, "POST", "/", headers, body, timeout=timeout)

    def raw_json(
        self,
        operation: str,
        payload: Any = None,
        *,
        body: bytes | None = None,
        service: str = "ecs",
        target_prefix: str = ECS_TARGET_PREFIX,
        **kwargs,
    ) -> RawResponse:
        """A json-1.1 request, e.g. ``raw_json("ListClusters", {})``."""
        if body is None:
            body = json.dumps({} if payload is None else payload).encode()
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{target_prefix}.{operation}",
        }
        return self.raw(service, body, headers, **kwargs)

    def raw_query(self, service: str, action: str, params: dict | None = None, **kwargs):
        """A query (sts, iam) or ec2 protocol request."""
        form = {"Action": action, "Version": QUERY_VERSIONS[service], **(params or {})}
        body = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return self.raw(service, body, headers, **kwargs)


# ---------------------------------------------------------------------------------------
# Output helpers
# ---------------------------------------------------------------------------------------


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of the AWS CLI's ``--output table`` for a flat object or list of objects.

    Finds the header row (the first ``| a | b |`` line followed by data lines) and maps
    each following data row onto it.
    """
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|"):
            rows.append([cell.strip() for cell in line[1:-1].split("|")])
    # rows[0] is the title (one cell), then header, then values.
    multi = [r for r in rows if len(r) > 1]
    if not multi:
        return []
    header, values = multi[0], multi[1:]
    return [dict(zip(header, v)) for v in values]


def tag_dict(tags, key="key", value="value") -> dict[str, str]:
    return {t[key]: t[value] for t in tags or []}


# ---------------------------------------------------------------------------------------
# ECR: the registry (raw HTTP), skopeo and the Docker CLI
# ---------------------------------------------------------------------------------------
#
# The server contract the ECR tests rely on, beyond the above:
#
# - the OCI Distribution API is served under /v2/ on the same port as the AWS APIs;
# - `repositoryUri` is `127.0.0.1:<port>/<name>`; GetAuthorizationToken's proxyEndpoint is
#   `http://127.0.0.1:<port>` and its token is base64("AWS:<password>");
# - registry auth is HTTP Basic `AWS:<password>`; `GET /v2/` without it answers 401 with
#   `WWW-Authenticate: Basic realm=...` and `Docker-Distribution-API-Version: registry/2.0`;
# - `--ecr-lifecycle-interval-seconds N`, `--registry-gc-interval-seconds N` and
#   `--registry-gc-grace-seconds N` set how often lifecycle policies are applied, how often
#   unreferenced blobs are collected, and how old an unreferenced blob must be to go.

ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921"
SKOPEO = Path(os.environ.get("WHARF_E2E_SKOPEO", "/usr/bin/skopeo"))
ENSURE_DOCKER = REPO_ROOT / "scripts" / "ensure-docker.sh"
DOCKER_HOST = os.environ.get("WHARF_E2E_DOCKER_HOST", "unix:///var/run/docker.sock")
SKOPEO_TIMEOUT_S = 300.0
DOCKER_TIMEOUT_S = 300.0


def docker_binary() -> Path:
    """Debian's docker CLI (docker.io, the one CI has) unless $WHARF_E2E_DOCKER says otherwise."""
    value = os.environ.get("WHARF_E2E_DOCKER")
    if value:
        return Path(value)
    if Path("/usr/bin/docker").exists():
        return Path("/usr/bin/docker")
    found = shutil.which("docker")
    return Path(found) if found else Path("/usr/bin/docker")


def wait_until(predicate, what: str, deadline: float = 30.0, interval: float = 0.1):
    """Polls ``predicate`` until it returns a truthy value (returned), or fails after
    ``deadline`` seconds naming ``what`` and the last value or exception seen."""
    end = time.monotonic() + deadline
    last: Any = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except (AssertionError, OSError) as exc:
            last = exc
        if time.monotonic() >= end:
            pytest.fail(f"timed out after {deadline:.0f} s waiting for {what}; last: {last!r}", pytrace=False)
        time.sleep(interval)


def as_datetime(value) -> _dt.datetime:
    """A timestamp as the CLIs print it (v1: epoch seconds; v2: ISO 8601) or boto3 gives it."""
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    return _dt.datetime.fromisoformat(value)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for listeners the test creates)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def task_id(arn: str) -> str:
    """The id at the end of a task ARN."""
    return arn.rsplit("/", 1)[1]


def eni_details(task: dict) -> dict[str, str]:
    """An awsvpc task's ENI attachment details as a dict (privateIPv4Address, ...)."""
    attachments = [a for a in task.get("attachments", []) if a["type"] == "ElasticNetworkInterface"]
    assert len(attachments) == 1, task.get("attachments")
    return {d["name"]: d["value"] for d in attachments[0].get("details", [])}


def private_ip(task: dict) -> str:
    """An awsvpc task's private address."""
    return eni_details(task)["privateIPv4Address"]


def unique_suffix() -> str:
    return uuid.uuid4().hex[:10]


def git_sha_like(seed: str) -> str:
    """A 40-hex tag, as CI pipelines tag images with the commit SHA."""
    return hashlib.sha1(seed.encode()).hexdigest()


def registry_error_codes(response: RawResponse) -> list[str]:
    """The `code`s of a registry error body `{"errors": [{"code": ...}]}` ([] if none)."""
    try:
        data = json.loads(response.body or b"{}")
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return [e.get("code") for e in data.get("errors") or [] if isinstance(e, dict)]


def assert_registry_error(response: RawResponse, status: int | tuple[int, ...], code: str | tuple[str, ...]):
    statuses = (status,) if isinstance(status, int) else tuple(status)
    codes = (code,) if isinstance(code, str) else tuple(code)
    found = registry_error_codes(response)
    assert response.status in statuses and any(c in found for c in codes), (
        f"expected HTTP {'/'.join(map(str, statuses))} with registry error {' or '.join(codes)}, got "
        f"{response.describe()}"
    )
    assert response.headers.get("content-type", "").startswith("application/json"), (
        "registry errors are JSON: " + response.describe()
    )


class Registry:
    """Raw HTTP/1.1 to an OCI Distribution registry (one connection per request, no redirects
    followed)."""

    def __init__(self, endpoint: str, username: str | None = "AWS", password: str | None = None):
        self.endpoint = endpoint.rstrip("/")
        url = urllib.parse.urlsplit(self.endpoint)
        self.host, self.port = url.hostname, url.port
        self.netloc = url.netloc
        self.username, self.password = username, password

    def with_credentials(self, username: str | None, password: str | None) -> "Registry":
        return Registry(self.endpoint, username, password)

    def auth_header(self, username=None, password=None) -> dict[str, str]:
        username = username if username is not None else self.username
        password = password if password is not None else self.password
        if username is None or password is None:
            return {}
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        auth: bool = True,
        timeout: float = 60.0,
    ) -> RawResponse:
        """One request; ``path`` may also be a Location header (absolute URL or path)."""
        if path.startswith("http://") or path.startswith("https://"):
            url = urllib.parse.urlsplit(path)
            assert url.netloc == self.netloc, f"Location {path!r} points away from {self.netloc}"
            path = url.path + (f"?{url.query}" if url.query else "")
        all_headers = dict(self.auth_header() if auth else {})
        all_headers.update(headers or {})
        # send_http writes the body from another thread, so an answer sent before the whole
        # body was read (an oversized manifest refused early) still arrives.
        return send_http(self.endpoint, method, path, all_headers, body, timeout=timeout)

    # -- blobs ------------------------------------------------------------------------

    @staticmethod
    def add_query(location: str, **params: str) -> str:
        sep = "&" if "?" in location else "?"
        return location + sep + urllib.parse.urlencode(params)

    def start_upload(self, repo: str, query: str = "") -> RawResponse:
        response = self.request("POST", f"/v2/{repo}/blobs/uploads/{query}")
        return response

    def upload_blob(self, repo: str, data: bytes) -> str:
        """Monolithic upload (POST, then PUT ?digest= with the bytes); returns the digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = self.start_upload(repo)
        assert start.status == 202 and start.headers.get("location"), (
            f"POST /v2/{repo}/blobs/uploads/: expected 202 with a Location\n" + start.describe()
        )
        done = self.request(
            "PUT",
            self.add_query(start.headers["location"], digest=digest),
            data,
            {"Content-Type": "application/octet-stream"},
        )
        assert done.status == 201, f"PUT of blob {digest}: expected 201\n" + done.describe()
        assert done.headers.get("docker-content-digest") == digest, done.describe()
        return digest

    def head_blob(self, repo: str, digest: str) -> RawResponse:
        return self.request("HEAD", f"/v2/{repo}/blobs/{digest}")

    # -- manifests --------------------------------------------------------------------

    def put_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> RawResponse:
        return self.request(
            "PUT", f"/v2/{repo}/manifests/{reference}", body, {"Content-Type": media_type}
        )

    def get_manifest(self, repo: str, reference: str, accept: str | None = None, method="GET") -> RawResponse:
        accept = accept or ", ".join(
            [
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.docker.distribution.manifest.list.v2+json",
            ]
        )
        return self.request(method, f"/v2/{repo}/manifests/{reference}", headers={"Accept": accept})

    def push_small_image(self, repo: str, tag: str, seed: str, layer_size: int = 2048) -> dict:
        """Uploads a one-layer image (config + layer) and its OCI manifest under ``tag``.

        Returns {"digest", "manifest", "config", "layer"} (digests and manifest bytes)."""
        from ecr_images import MT_OCI_MANIFEST, image_manifest, make_config_blob, make_layer_blob

        layer = make_layer_blob(layer_size, seed)
        config = make_config_blob([layer.digest], label=seed)
        self.upload_blob(repo, layer.data)
        self.upload_blob(repo, config.data)
        manifest = image_manifest(config.descriptor, [layer.descriptor])
        response = self.put_manifest(repo, tag, manifest, MT_OCI_MANIFEST)
        assert response.status == 201, f"PUT manifest {repo}:{tag}: expected 201\n" + response.describe()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        assert response.headers.get("docker-content-digest") == digest, response.describe()
        return {"digest": digest, "manifest": manifest, "config": config.digest, "layer": layer.digest}


class Ecr:
    """ECR on a running wharf: its API (boto3), registry credentials and a raw registry client."""

    def __init__(self, wharf: Wharf):
        self.wharf = wharf
        self.client = wharf.boto3_client("ecr")
        self._password: str | None = None

    @property
    def host(self) -> str:
        """`127.0.0.1:<port>`: the registry host in every repositoryUri."""
        return urllib.parse.urlsplit(self.wharf.endpoint).netloc

    def uri(self, name: str) -> str:
        return f"{self.host}/{name}"

    @property
    def password(self) -> str:
        if self._password is None:
            data = self.client.get_authorization_token()["authorizationData"][0]
            user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
            assert user == "AWS" and password, f"token does not decode to AWS:<password>: {data!r}"
            self._password = password
        return self._password

    @property
    def creds(self) -> str:
        """skopeo's --creds value."""
        return f"AWS:{self.password}"

    @property
    def registry(self) -> Registry:
        return Registry(self.wharf.endpoint, "AWS", self.password)

    def create_repository(self, name: str, **kwargs) -> dict:
        return self.client.create_repository(repositoryName=name, **kwargs)["repository"]

    def image_details(self, repo: str) -> list[dict]:
        details, token = [], None
        for _ in range(100):
            kwargs = {"repositoryName": repo, **({"nextToken": token} if token else {})}
            page = self.client.describe_images(**kwargs)
            details += page["imageDetails"]
            token = page.get("nextToken")
            if not token:
                return details
        raise AssertionError("describe-images did not stop paginating after 100 pages")

    def tags_by_digest(self, repo: str) -> dict[str, set[str]]:
        return {d["imageDigest"]: set(d.get("imageTags") or []) for d in self.image_details(repo)}


class Skopeo:
    """Runs Debian's skopeo with a private HOME, auth file and temp dir."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        (self.workdir / "home").mkdir(parents=True, exist_ok=True)
        (self.workdir / "tmp").mkdir(parents=True, exist_ok=True)
        if not SKOPEO.exists():
            pytest.fail(f"skopeo not found at {SKOPEO}: run scripts/ensure-deps.sh", pytrace=False)

    def env(self) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.workdir / "home"),
            "TMPDIR": str(self.workdir / "tmp"),
            "REGISTRY_AUTH_FILE": str(self.workdir / "auth.json"),
            "LANG": "C.UTF-8",
        }

    def run(self, *args: str, check: bool = True, timeout: float = SKOPEO_TIMEOUT_S):
        argv = [str(SKOPEO), "--insecure-policy", *[str(a) for a in args]]
        proc = subprocess.run(
            argv, env=self.env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"$ {' '.join(argv)}\nskopeo exit status {proc.returncode}\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}",
                pytrace=False,
            )
        return proc

    def copy(self, src: str, dest: str, *, src_creds=None, dest_creds=None, all_images=False, extra=(), check=True):
        args = ["copy"]
        if all_images:
            args.append("--all")
        if src.startswith("docker://"):
            args += ["--src-tls-verify=false"]
            if src_creds:
                args += ["--src-creds", src_creds]
        if dest.startswith("docker://"):
            args += ["--dest-tls-verify=false"]
            if dest_creds:
                args += ["--dest-creds", dest_creds]
        return self.run(*args, *extra, src, dest, check=check)

    def inspect(self, ref: str, creds: str | None, raw: bool = False, check: bool = True):
        args = ["inspect", "--tls-verify=false"]
        if creds:
            args += ["--creds", creds]
        if raw:
            args.append("--raw")
        proc = self.run(*args, ref, check=check)
        if not check:
            return proc
        return proc.stdout if raw else json.loads(proc.stdout)


class DockerCli:
    """The docker CLI against the local engine, with a private DOCKER_CONFIG.

    Every image reference given to ``track`` and every container name from ``container_name``
    is removed by ``cleanup`` (the fixture calls it), whatever the test's outcome."""

    def __init__(self, workdir: Path, run_id: str):
        self.binary = docker_binary()
        self.workdir = Path(workdir)
        self.config_dir = self.workdir / "docker-config"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id
        self.images: list[str] = []
        self.image_ids: list[str] = []
        self.containers: list[str] = []

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.workdir),
            "DOCKER_CONFIG": str(self.config_dir),
            "DOCKER_HOST": DOCKER_HOST,
            # The legacy builder: a FROM scratch build needs nothing else (no buildx, no
            # BuildKit image pulls).
            "DOCKER_BUILDKIT": "0",
            "LANG": "C.UTF-8",
        }
        env.update(extra or {})
        return env

    def run(self, *args: str, check: bool = True, input: str | None = None, timeout: float = DOCKER_TIMEOUT_S):
        argv = [str(self.binary), *[str(a) for a in args]]
        proc = subprocess.run(
            argv,
            env=self.env(),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"$ {' '.join(argv)}\ndocker exit status {proc.returncode}\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}",
                pytrace=False,
            )
        return proc

    def track(self, *refs: str) -> None:
        self.images.extend(refs)

    def track_id(self, ref: str) -> str:
        """Records the image ID behind ``ref``: clean-up removes it with every tag and digest
        reference it has (a pushed image keeps a ``repo@digest`` reference after its tags go)."""
        image_id = self.run("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
        self.image_ids.append(image_id)
        return image_id

    def container_name(self, what: str) -> str:
        name = f"wharf-e2e-{what}-{self.run_id}"
        self.containers.append(name)
        return name

    def image_exists(self, ref: str) -> bool:
        return self.run("image", "inspect", ref, check=False).returncode == 0

    def cleanup(self) -> list[str]:
        problems = []
        for name in self.containers:
            proc = self.run("rm", "-f", name, check=False, timeout=60)
            if proc.returncode != 0 and "No such container" not in proc.stderr:
                problems.append(f"docker rm -f {name}: {proc.stderr.strip()}")
        for ref in [*reversed(self.images), *self.image_ids]:
            proc = self.run("rmi", "-f", ref, check=False, timeout=60)
            if proc.returncode != 0 and "No such image" not in proc.stderr:
                problems.append(f"docker rmi -f {ref}: {proc.stderr.strip()}")
        for image_id in self.image_ids:
            if self.image_exists(image_id):
                problems.append(f"image {image_id} is still there after clean-up")
        return problems


def ensure_docker_engine() -> str:
    """Runs scripts/ensure-docker.sh (idempotent; starts dockerd if none answers).

    Returns its output; fails the test (never skips) with the script's output otherwise."""
    env = dict(os.environ)
    env["DOCKER_HOST"] = DOCKER_HOST
    try:
        proc = subprocess.run(
            [str(ENSURE_DOCKER)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=150,
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{ENSURE_DOCKER} did not finish within 150 s: {exc}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"no Docker Engine: {ENSURE_DOCKER} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}",
            pytrace=False,
        )
    return proc.stdout


def default_network(wharf, cli="v1"):
    """The default VPC id and two of its subnets (in two zones), as the seeds look them up."""
    vpc_id = wharf.aws(
        "ec2", "describe-vpcs",
        "--filters", "Name=isDefault,Values=true",
        "--query", "Vpcs[0].VpcId",
        "--output", "text",
        cli=cli,
    ).stdout.strip()
    subnets = wharf.aws(
        "ec2", "describe-subnets",
        "--filters", f"Name=vpc-id,Values={vpc_id}",
        "--query", "Subnets[*].SubnetId",
        "--output", "text",
        cli=cli,
    ).stdout.split()
    return vpc_id, subnets[:2]


def admit_listener_clients(wharf, lb_arn: str, region: str = "us-east-1") -> None:
    """Lets the machine's clients (loopback) reach every listener of load balancer ``lb_arn``
    through its security groups, which wharf enforces as AWS does. The seeds open their ALB's
    group to the world on 80 / 443; the tests' listeners are on free ports, so every TCP port
    is opened, to 127.0.0.0/8 only. A load balancer made without groups has the VPC's default
    group, which on its own admits only its members."""
    ec2 = wharf.boto3_client("ec2", region=region)
    elbv2 = wharf.boto3_client("elbv2", region=region)
    lb = elbv2.describe_load_balancers(LoadBalancerArns=[lb_arn])["LoadBalancers"][0]
    for group in lb.get("SecurityGroups", []):
        try:
            ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                "IpRanges": [{"CidrIp": "127.0.0.0/8", "Description": "the tests' clients"}]}])
        except ec2.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "InvalidPermission.Duplicate":
                raise
