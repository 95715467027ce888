"""A small HTTP receiver of outgoing webhooks, on 127.0.0.1, run by a test."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """What the README tells a receiver to check."""
        expected = "sha256=" + hmac.new(secret.encode(), f"{self.headers['x-wasb-timestamp']}.".encode() + self.body,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-wasb-signature", ""))


@dataclass
class Receiver:
    url: str = ""
    failures_first: int = 0  # the first N requests are answered 500
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            answered = 500 if len(self.requests) < self.failures_first else 200
            self.requests.append(Received(headers, body, answered))
            return answered

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.answered == 200]

    def all(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


@contextlib.contextmanager
def receiving(failures_first: int = 0) -> Iterator[Receiver]:
    receiver = Receiver(failures_first=failures_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            code = receiver.take({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(code)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
