"""HTTP backends for the load balancer tests: small threaded servers on the host that a
target group can reach as the Docker bridge gateway (``172.17.0.1``, registered with
``AvailabilityZone=all``, as a private address outside the VPC).

Each backend answers:
- ``GET /health``: 200 ``{"status": "ok"}``, or 500 while ``failing`` is set;
- ``GET /slow?seconds=S``: waits S seconds, then 200 (a long in-flight request);
- ``GET /ws``: a WebSocket that echoes every text frame it receives;
- anything else: 200 with a JSON document naming the backend, the path and the
  X-Forwarded-* / X-Amzn-Trace-Id headers it saw.

Every request is counted per path, so tests can tell which backend served what.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# The address targets on the host are registered with: the Docker bridge's gateway.
HOST_TARGET_IP = "172.17.0.1"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Backend:
    """One backend server on an ephemeral port of every host address."""

    def __init__(self, name: str):
        self.name = name
        self.failing = False
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 (http.server naming)
                backend.serve(self)

            def do_POST(self):  # noqa: N802
                backend.serve(self)

        self.server = ThreadingHTTPServer(("0.0.0.0", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, path_prefix: str = "") -> int:
        with self.lock:
            return sum(n for p, n in self.hits.items() if p.startswith(path_prefix))

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        with self.lock:
            self.hits[url.path] += 1
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        if url.path == "/health":
            if self.failing:
                self.reply(handler, 500, {"status": "failing"})
            else:
                self.reply(handler, 200, {"status": "ok"})
        elif url.path == "/slow":
            seconds = float(parse_qs(url.query).get("seconds", ["2"])[0])
            time.sleep(seconds)
            self.reply(handler, 200, {"backend": self.name, "slept": seconds})
        elif url.path == "/ws" and handler.headers.get("Upgrade", "").lower() == "websocket":
            self.websocket_echo(handler)
        else:
            self.reply(
                handler,
                200,
                {
                    "backend": self.name,
                    "path": handler.path,
                    "host": handler.headers.get("Host"),
                    "x_forwarded_for": handler.headers.get("X-Forwarded-For"),
                    "x_forwarded_proto": handler.headers.get("X-Forwarded-Proto"),
                    "x_forwarded_port": handler.headers.get("X-Forwarded-Port"),
                    "x_amzn_trace_id": handler.headers.get("X-Amzn-Trace-Id"),
                },
            )

    @staticmethod
    def reply(handler: BaseHTTPRequestHandler, status: int, document: dict) -> None:
        body = json.dumps(document).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def websocket_echo(self, handler: BaseHTTPRequestHandler) -> None:
        key = handler.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept)
        handler.end_headers()
        handler.wfile.flush()
        handler.close_connection = True
        while True:
            frame = read_frame(handler.rfile)
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 0x8:  # close
                handler.wfile.write(encode_frame(0x8, payload, mask=False))
                handler.wfile.flush()
                return
            if opcode == 0x1:
                reply = f"{self.name}:{payload.decode()}".encode()
                handler.wfile.write(encode_frame(0x1, reply, mask=False))
                handler.wfile.flush()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def read_exact(stream, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(stream) -> tuple[int, bytes] | None:
    """One WebSocket frame (no fragmentation) from a file-like stream."""
    head = read_exact(stream, 2)
    if head is None:
        return None
    opcode = head[0] & 0x0F
    masked = head[1] & 0x80
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", read_exact(stream, 2) or b"\0\0")[0]
    elif length == 127:
        length = struct.unpack("!Q", read_exact(stream, 8) or b"\0" * 8)[0]
    mask = read_exact(stream, 4) if masked else None
    payload = read_exact(stream, length) if length else b""
    if payload is None:
        return None
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload


def encode_frame(opcode: int, payload: bytes, mask: bool) -> bytes:
    head = bytes([0x80 | opcode])
    length = len(payload)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not mask:
        return head + payload
    key = b"\x01\x02\x03\x04"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class WebSocketClient:
    """A minimal WebSocket client over a plain TCP connection to a listener."""

    def __init__(self, address: tuple[str, int], host: str, path: str = "/ws", timeout=30.0):
        self.sock = socket.create_connection(address, timeout=timeout)
        key = base64.b64encode(b"wharf-e2e-ws-key").decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.stream = self.sock.makefile("rb")
        status = self.stream.readline().decode()
        headers = {}
        while True:
            line = self.stream.readline().decode().strip()
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.status_line = status.strip()
        self.headers = headers
        expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if " 101 " not in status or headers.get("sec-websocket-accept") != expected:
            raise AssertionError(f"WebSocket upgrade refused: {status!r} {headers}")

    def echo(self, text: str) -> str:
        self.sock.sendall(encode_frame(0x1, text.encode(), mask=True))
        frame = read_frame(self.stream)
        assert frame is not None, "the WebSocket closed instead of echoing"
        return frame[1].decode()

    def close(self) -> None:
        try:
            self.sock.sendall(encode_frame(0x8, b"", mask=True))
        except OSError:
            pass
        # The file object keeps the socket open: close both.
        self.stream.close()
        self.sock.close()
