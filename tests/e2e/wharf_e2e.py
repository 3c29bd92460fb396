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

import configparser
import datetime as _dt
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
