"""The load balancer data plane through ``wharf server``: real HTTP(S) traffic through the
listeners the ELBv2 API creates, to backends on the host (registered as the Docker bridge
gateway, ``172.17.0.1`` with ``AvailabilityZone=all``; see backends.py).

Covers rule routing, health state transitions, fail-open, draining of a long request and of
a WebSocket, HTTPS with a certificate requested from ACM and verified against wharf's CA,
the HTTP 80 -> HTTPS 443 redirect, weighted forwarding, ALB's error answers (502, 503, 504)
and zero failed requests while a target is deregistered under a bounded load, plus the
seed's ``curl -i https://$ALB_DNS/health``.

Listeners other than the seed's 80 / 443 use free ephemeral ports. Clients reach them on
127.0.0.1 with the load balancer's DNS name as Host (curl resolves ``*.localhost`` to the
loopback address itself).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time

import pytest
from botocore.exceptions import ClientError

from backends import HOST_TARGET_IP, Backend, WebSocketClient
from wharf_e2e import admit_listener_clients, default_network, free_port, wait_until

CURL = "/usr/bin/curl"
# Short health checks so that state changes take seconds (AWS's minimum interval is 5 s).
FAST_HEALTH = dict(
    HealthCheckPath="/health",
    HealthCheckIntervalSeconds=5,
    HealthCheckTimeoutSeconds=2,
    HealthyThresholdCount=2,
    UnhealthyThresholdCount=2,
)


@pytest.fixture
def backends(docker_engine):
    """A factory of host backends (the Docker engine provides the 172.17.0.1 bridge)."""
    started: list[Backend] = []

    def start(name: str) -> Backend:
        backend = Backend(name)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.stop()


class Alb:
    """One load balancer made through boto3, with helpers to send traffic to it."""

    def __init__(self, wharf, name: str = "traffic-alb"):
        self.wharf = wharf
        self.elbv2 = wharf.boto3_client("elbv2")
        self.vpc_id, subnets = default_network(wharf)
        lb = self.elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]
        self.arn = lb["LoadBalancerArn"]
        admit_listener_clients(wharf, self.arn)
        self.dns = lb["DNSName"]

    def target_group(self, name: str, backends=(), **health) -> str:
        settings = {**FAST_HEALTH, **health}
        tg = self.elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=8000, VpcId=self.vpc_id, TargetType="ip", **settings
        )["TargetGroups"][0]["TargetGroupArn"]
        if backends:
            self.register(tg, *backends)
        return tg

    def register(self, tg: str, *backends: Backend) -> None:
        self.elbv2.register_targets(TargetGroupArn=tg, Targets=[target(b) for b in backends])

    def deregister(self, tg: str, *backends: Backend) -> None:
        self.elbv2.deregister_targets(TargetGroupArn=tg, Targets=[target(b) for b in backends])

    def set_attribute(self, tg: str, key: str, value: str) -> None:
        self.elbv2.modify_target_group_attributes(
            TargetGroupArn=tg, Attributes=[{"Key": key, "Value": value}]
        )

    def listener(self, default_actions, port: int | None = None, **extra) -> tuple[str, int]:
        port = port or free_port()
        arn = self.elbv2.create_listener(
            LoadBalancerArn=self.arn, Protocol=extra.pop("Protocol", "HTTP"), Port=port,
            DefaultActions=default_actions, **extra,
        )["Listeners"][0]["ListenerArn"]
        return arn, port

    def health(self, tg: str) -> dict[int, dict]:
        """Target port -> TargetHealth."""
        described = self.elbv2.describe_target_health(TargetGroupArn=tg)
        return {d["Target"]["Port"]: d["TargetHealth"] for d in described["TargetHealthDescriptions"]}

    def wait_state(self, tg: str, backend: Backend, state: str, deadline: float = 60.0) -> dict:
        found: dict = {}

        def reached():
            found.update(self.health(tg).get(backend.port, {"State": "gone"}))
            return found.get("State") == state

        wait_until(reached, f"target {backend.name} {state} (last: {found})", deadline=deadline)
        return dict(found)

    def wait_gone(self, tg: str, backend: Backend, deadline: float = 60.0) -> None:
        wait_until(
            lambda: backend.port not in self.health(tg),
            f"target {backend.name} deregistered",
            deadline=deadline,
        )

    def get(self, port: int, path: str = "/", timeout: float = 30.0, headers=None):
        """GET through the listener on 127.0.0.1:PORT with the load balancer's Host."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Host": self.dns, **(headers or {})})
            response = conn.getresponse()
            return response.status, response.read().decode(errors="replace"), dict(response.getheaders())
        finally:
            conn.close()

    def backend_of(self, port: int, path: str = "/") -> str:
        status, body, _ = self.get(port, path)
        assert status == 200, (status, body)
        return json.loads(body)["backend"]


def target(backend: Backend) -> dict:
    return {"Id": HOST_TARGET_IP, "Port": backend.port, "AvailabilityZone": "all"}


def forward(tg: str) -> list[dict]:
    return [{"Type": "forward", "TargetGroupArn": tg}]


def curl(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CURL, "--silent", "--show-error", "--max-time", "30", *args],
        capture_output=True, text=True, timeout=timeout,
    )


# ---------------------------------------------------------------------------------------


def test_rule_routing_and_forwarded_headers(wharf, backends):
    api, web = backends("api"), backends("web")
    alb = Alb(wharf)
    tg_api = alb.target_group("tg-api", [api])
    tg_web = alb.target_group("tg-web", [web])
    listener, port = alb.listener(forward(tg_web))
    alb.elbv2.create_rule(
        ListenerArn=listener, Priority=10,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=forward(tg_api),
    )
    alb.elbv2.create_rule(
        ListenerArn=listener, Priority=5,
        Conditions=[{"Field": "http-header", "HttpHeaderConfig": {
            "HttpHeaderName": "X-Canary", "Values": ["yes"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "418", "ContentType": "text/plain", "MessageBody": "canary"}}],
    )
    alb.wait_state(tg_api, api, "healthy")
    alb.wait_state(tg_web, web, "healthy")

    assert alb.backend_of(port, "/api/users") == "api"
    assert alb.backend_of(port, "/api/") == "api"
    assert alb.backend_of(port, "/") == "web"
    assert alb.backend_of(port, "/apix") == "web"
    assert alb.backend_of(port, "/index.html") == "web"
    status, body, _ = alb.get(port, "/api/x", headers={"X-Canary": "yes"})
    assert (status, body) == (418, "canary")

    # What the target sees: X-Forwarded-* and a trace id, the Host the client sent.
    status, body, _ = alb.get(port, "/api/echo?x=1", headers={"X-Forwarded-For": "203.0.113.9"})
    seen = json.loads(body)
    assert seen["path"] == "/api/echo?x=1"
    assert seen["host"] == alb.dns
    assert seen["x_forwarded_for"] == "203.0.113.9, 127.0.0.1"
    assert seen["x_forwarded_proto"] == "http"
    assert seen["x_forwarded_port"] == str(port)
    assert seen["x_amzn_trace_id"].startswith("Root=1-")

    # The same through curl and the DNS name the API returned, as the seeds do.
    done = curl(f"http://{alb.dns}:{port}/api/hello")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["backend"] == "api"

    # Rules change live: /api/* now goes to web, without restarting anything.
    rule = next(
        r for r in alb.elbv2.describe_rules(ListenerArn=listener)["Rules"] if r["Priority"] == "10"
    )
    alb.elbv2.modify_rule(RuleArn=rule["RuleArn"], Actions=forward(tg_web))
    wait_until(lambda: alb.backend_of(port, "/api/users") == "web", "rule change applied")


def test_health_transitions_and_fail_open(wharf, backends):
    a, b = backends("a"), backends("b")
    alb = Alb(wharf)
    tg = alb.target_group("tg-health", [a, b])
    _, port = alb.listener(forward(tg))
    # Registered targets start in `initial` (AWS: Elb.RegistrationInProgress).
    first = alb.health(tg)
    assert {h["State"] for h in first.values()} <= {"initial", "healthy"}
    alb.wait_state(tg, a, "healthy")
    alb.wait_state(tg, b, "healthy")
    served = {alb.backend_of(port) for _ in range(20)}
    assert served == {"a", "b"}

    # a starts failing its health check: unhealthy with AWS's reason, no more traffic.
    a.failing = True
    state = alb.wait_state(tg, a, "unhealthy")
    assert state["Reason"] == "Target.ResponseCodeMismatch"
    assert state["Description"] == "Health checks failed with these codes: [500]"
    before = a.count("/api")
    assert {alb.backend_of(port, "/api/x") for _ in range(20)} == {"b"}
    assert a.count("/api") == before

    # Both unhealthy: ALB fails open and routes to all of them.
    b.failing = True
    alb.wait_state(tg, b, "unhealthy")
    assert {alb.backend_of(port, "/open") for _ in range(20)} == {"a", "b"}

    # a recovers: healthy again, and the only one to get traffic.
    a.failing = False
    alb.wait_state(tg, a, "healthy")
    assert {alb.backend_of(port, "/back") for _ in range(20)} == {"a"}

    # A target registered later gets no traffic before it is healthy.
    c = backends("c")
    c.failing = True
    alb.register(tg, c)
    for _ in range(20):
        assert alb.backend_of(port, "/late") == "a"
    assert c.count("/late") == 0


def test_error_answers(wharf, backends):
    a = backends("a")
    alb = Alb(wharf)
    alb.elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=alb.arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "2"}]
    )
    empty = alb.target_group("tg-empty")
    _, empty_port = alb.listener(forward(empty))
    status, body, _ = alb.get(empty_port)
    assert status == 503 and "503 Service Temporarily Unavailable" in body

    # A target that refuses connections: 502.
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        closed_port = s.getsockname()[1]
    dead = alb.target_group("tg-dead")
    alb.elbv2.register_targets(
        TargetGroupArn=dead,
        Targets=[{"Id": HOST_TARGET_IP, "Port": closed_port, "AvailabilityZone": "all"}],
    )
    _, dead_port = alb.listener(forward(dead))
    wait_until(lambda: alb.health(dead)[closed_port]["State"] == "unhealthy", "dead target unhealthy")
    status, body, _ = alb.get(dead_port)
    assert status == 502 and "502 Bad Gateway" in body

    # A target slower than the idle timeout: 504.
    slow = alb.target_group("tg-slow", [a])
    _, slow_port = alb.listener(forward(slow))
    alb.wait_state(slow, a, "healthy")
    started = time.monotonic()
    status, body, _ = alb.get(slow_port, "/slow?seconds=6")
    assert status == 504 and "504 Gateway Time-out" in body
    assert time.monotonic() - started < 5.5


def test_draining_finishes_in_flight_requests_and_websockets(wharf, backends):
    a, b = backends("a"), backends("b")
    alb = Alb(wharf)
    tg = alb.target_group("tg-drain", [a])
    alb.set_attribute(tg, "deregistration_delay.timeout_seconds", "40")
    _, port = alb.listener(forward(tg))
    alb.wait_state(tg, a, "healthy")

    # A long request and a WebSocket in flight on a.
    result: dict = {}

    def long_request():
        result["answer"] = alb.get(port, "/slow?seconds=4")

    slow = threading.Thread(target=long_request)
    slow.start()
    wait_until(lambda: a.count("/slow") == 1, "long request reached a")
    ws = WebSocketClient(("127.0.0.1", port), alb.dns)
    assert ws.echo("one") == "a:one"

    alb.register(tg, b)
    alb.wait_state(tg, b, "healthy")
    alb.deregister(tg, a)
    state = alb.health(tg)[a.port]
    assert state["State"] == "draining"
    assert state["Reason"] == "Target.DeregistrationInProgress"
    assert state["Description"] == "Target deregistration is in progress"
    # No new requests to a while it drains; the in-flight ones go on.
    assert {alb.backend_of(port, "/new") for _ in range(10)} == {"b"}
    assert a.count("/new") == 0
    assert ws.echo("two") == "a:two"
    fresh = WebSocketClient(("127.0.0.1", port), alb.dns)
    assert fresh.echo("three") == "b:three"
    fresh.close()

    slow.join(timeout=30)
    status, body, _ = result["answer"]
    assert status == 200 and json.loads(body)["backend"] == "a"
    ws.close()
    # Nothing left in flight: deregistration completes well before the 40 s delay.
    started = time.monotonic()
    alb.wait_gone(tg, a, deadline=30)
    assert time.monotonic() - started < 30


def test_weighted_forward(wharf, backends):
    heavy, light = backends("heavy"), backends("light")
    alb = Alb(wharf)
    tg_heavy = alb.target_group("tg-heavy", [heavy])
    tg_light = alb.target_group("tg-light", [light])
    _, port = alb.listener([{
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tg_heavy, "Weight": 3},
            {"TargetGroupArn": tg_light, "Weight": 1},
        ]},
    }])
    alb.wait_state(tg_heavy, heavy, "healthy")
    alb.wait_state(tg_light, light, "healthy")
    total = 400
    served = [alb.backend_of(port, "/w") for _ in range(total)]
    share = served.count("heavy") / total
    assert 0.65 <= share <= 0.85, share
    assert served.count("heavy") + served.count("light") == total


def test_no_failed_requests_while_a_target_is_deregistered(wharf, backends):
    a, b = backends("a"), backends("b")
    alb = Alb(wharf)
    tg = alb.target_group("tg-load", [a, b])
    alb.set_attribute(tg, "deregistration_delay.timeout_seconds", "5")
    _, port = alb.listener(forward(tg))
    alb.wait_state(tg, a, "healthy")
    alb.wait_state(tg, b, "healthy")

    failures: list = []
    done = threading.Event()
    sent = [0] * 4
    # Bounded load: 4 keep-alive clients, at most 600 requests each and 60 s in all.
    deadline = time.monotonic() + 60

    def client(i: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not done.is_set() and sent[i] < 600 and time.monotonic() < deadline:
            try:
                conn.request("GET", f"/load/{i}", headers={"Host": alb.dns})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(response.status)
            except (OSError, http.client.HTTPException) as e:
                failures.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            sent[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    wait_until(lambda: a.count("/load") > 50 and b.count("/load") > 50, "load on both targets")
    alb.deregister(tg, a)
    alb.wait_gone(tg, a)
    after_gone, b_at_gone = a.count("/load"), b.count("/load")
    wait_until(
        lambda: b.count("/load") > b_at_gone + 200 or min(sent) >= 600, "load after deregistration"
    )
    done.set()
    for t in threads:
        t.join(timeout=60)
    assert failures == [], failures[:10]
    assert b.count("/load") > b_at_gone + 200 or min(sent) >= 600
    # Once deregistered, a got nothing more.
    assert a.count("/load") == after_gone


def test_seed_https_alb(wharf, backends):
    """Seed 002: tg-blog-api, blog-alb, HTTPS 443 -> tg-blog-api, HTTP 80 -> 443, and
    `curl -i https://$ALB_DNS/health` (with wharf's CA trusted, as the README explains)."""
    api = backends("blog-api")
    vpc_id, subnets = default_network(wharf)
    tg = wharf.aws(
        "elbv2", "create-target-group",
        "--name", "tg-blog-api",
        "--protocol", "HTTP", "--port", "8000",
        "--vpc-id", vpc_id,
        "--target-type", "ip",
        "--health-check-path", "/health",
        "--healthy-threshold-count", "2",
        "--health-check-interval-seconds", "15",
        "--query", "TargetGroups[0].TargetGroupArn", "--output", "text",
    ).stdout.strip()
    lb = wharf.aws(
        "elbv2", "create-load-balancer", "--name", "blog-alb", "--subnets", *subnets,
        "--query", "LoadBalancers[0].LoadBalancerArn", "--output", "text",
    ).stdout.strip()
    admit_listener_clients(wharf, lb)
    # Register the host backend on its own port (the service would register task IPs on 8000).
    wharf.aws(
        "elbv2", "register-targets", "--target-group-arn", tg,
        "--targets", f"Id={HOST_TARGET_IP},Port={api.port},AvailabilityZone=all",
    )
    cert = wharf.aws(
        "acm", "request-certificate",
        "--domain-name", "blog.example.com",
        "--subject-alternative-names", "blog.example.com", "*.us-east-1.elb.localhost",
        "--validation-method", "DNS",
        "--query", "CertificateArn", "--output", "text",
    ).stdout.strip()
    wharf.aws(
        "elbv2", "create-listener", "--load-balancer-arn", lb,
        "--protocol", "HTTPS", "--port", "443",
        "--certificates", f"CertificateArn={cert}",
        "--default-actions", f"Type=forward,TargetGroupArn={tg}",
    )
    wharf.aws(
        "elbv2", "create-listener", "--load-balancer-arn", lb,
        "--protocol", "HTTP", "--port", "80",
        "--default-actions",
        "Type=redirect,RedirectConfig={Protocol=HTTPS,Port=443,StatusCode=HTTP_301}",
    )
    wharf.aws(
        "elbv2", "wait", "target-in-service", "--target-group-arn", tg,
        "--targets", f"Id={HOST_TARGET_IP},Port={api.port},AvailabilityZone=all",
        timeout=300,
    )
    alb_dns = wharf.aws(
        "elbv2", "describe-load-balancers", "--names", "blog-alb",
        "--query", "LoadBalancers[0].DNSName", "--output", "text",
    ).stdout.strip()
    ca = str(wharf.data_dir / "ca.pem")

    # curl -i https://$ALB_DNS/health  ->  HTTP/2 200, {"status": "ok"}
    done = curl("-i", "--cacert", ca, f"https://{alb_dns}/health")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("HTTP/2 200"), done.stdout
    assert done.stdout.rstrip().endswith('{"status": "ok"}'), done.stdout
    # HTTP/1.1 too, and the custom domain by SNI (certificate verified for both names).
    done = curl(
        "-i", "--http1.1", "--cacert", ca,
        "--resolve", "blog.example.com:443:127.0.0.1", "https://blog.example.com/health",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("HTTP/1.1 200"), done.stdout
    # Without trusting wharf's CA the certificate is refused.
    untrusted = curl("--cacert", "/etc/ssl/certs/ca-certificates.crt", f"https://{alb_dns}/health")
    assert untrusted.returncode == 60, (untrusted.returncode, untrusted.stderr)

    # HTTP 80 -> 301 to HTTPS 443, which curl -L follows.
    done = curl("-i", f"http://{alb_dns}/health?x=1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("HTTP/1.1 301"), done.stdout
    assert f"location: https://{alb_dns}:443/health?x=1" in done.stdout.lower(), done.stdout
    done = curl("-L", "--cacert", ca, f"http://{alb_dns}/health")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"status": "ok"}
    # The backend saw the TLS listener's port and protocol.
    done = curl("--cacert", ca, f"https://{alb_dns}/who")
    seen = json.loads(done.stdout)
    assert (seen["x_forwarded_proto"], seen["x_forwarded_port"]) == ("https", "443")


def test_shared_ports_restart_and_a_port_in_use(wharf, backends):
    """Two load balancers with listeners on one port are told apart by Host; listeners come
    back after wharf is killed and restarted; a port another program holds is refused with
    nothing created."""
    one, two = backends("one"), backends("two")
    first, second = Alb(wharf, "first-alb"), Alb(wharf, "second-alb")
    tg_one = first.target_group("tg-one", [one])
    tg_two = second.target_group("tg-two", [two])
    port = free_port()
    first.listener(forward(tg_one), port=port)
    second.listener(forward(tg_two), port=port)
    first.wait_state(tg_one, one, "healthy")
    second.wait_state(tg_two, two, "healthy")
    assert first.backend_of(port) == "one"
    assert second.backend_of(port) == "two"
    for alb, name in ((first, "one"), (second, "two")):
        done = curl(f"http://{alb.dns}:{port}/curl")
        assert done.returncode == 0 and json.loads(done.stdout)["backend"] == name, done

    # kill -9 and start again on the same data directory: the listeners listen again.
    wharf.restart()
    first.elbv2, second.elbv2 = wharf.boto3_client("elbv2"), wharf.boto3_client("elbv2")
    first.wait_state(tg_one, one, "healthy")
    wait_until(lambda: first.backend_of(port) == "one", "listener back after the restart")
    assert second.backend_of(port) == "two"

    # A port held by another program: InvalidConfigurationRequest, no listener recorded.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with pytest.raises(ClientError) as refused:
            first.listener(forward(tg_one), port=taken)
        assert refused.value.response["Error"]["Code"] == "InvalidConfigurationRequest"
        assert f"port {taken} is already in use" in refused.value.response["Error"]["Message"]
    ports = [l["Port"] for l in first.elbv2.describe_listeners(LoadBalancerArn=first.arn)["Listeners"]]
    assert ports == [port]
    assert first.backend_of(port) == "one"
