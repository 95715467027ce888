"""Running the simulator for real in tests: a uvicorn server in a thread, and a webhook
receiver that records what the simulator posts and checks each signature.

    with serve(create_app({...}, webhook_url=receiver_url)) as url: ...
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.types import ASGIApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wasb.whatsapp.signature import HEADER, verify_signature


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app: ASGIApp, host: str = "127.0.0.1", port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app on a free port in a background thread; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class ReceivedWebhook:
    body: dict[str, Any]
    raw: bytes
    signature: str | None
    signature_valid: bool
    answered: int


@dataclass
class WebhookRecorder:
    """A tiny stand-in for the service's webhook endpoint."""
    app_secret: str
    path: str = "/webhooks/whatsapp"
    url: str = ""  # set once served
    received: list[ReceivedWebhook] = field(default_factory=list)
    # Statuses to answer with before answering 200 again (to test Meta-style retries).
    fail_next: list[int] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            raw = await request.body()
            signature = request.headers.get(HEADER)
            with self._cond:
                answer = self.fail_next.pop(0) if self.fail_next else 200
                self.received.append(ReceivedWebhook(
                    body=orjson.loads(raw), raw=raw, signature=signature,
                    signature_valid=verify_signature(raw, signature, self.app_secret), answered=answer))
            return Response(status_code=answer)
        return Starlette(routes=[Route(self.path, receive, methods=["POST"])])

    def clear(self) -> None:
        with self._cond:
            self.received.clear()
            self.fail_next.clear()

    def wait_for(self, predicate: Callable[[list[ReceivedWebhook]], Any], timeout: float = 15.0) -> Any:
        """Poll until `predicate(received)` is truthy; return its value (raise on timeout).
        Polling (not waking on every post) keeps a burst of thousands of webhooks cheap."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                snapshot = list(self.received)
            result = predicate(snapshot)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"webhooks never matched; got {len(snapshot)}: "
                                   f"{[w.body for w in snapshot][-3:]}")
            time.sleep(0.02)

    def statuses(self, wamid: str | None = None) -> list[dict[str, Any]]:
        """Every status item received so far (optionally of one message), in arrival order."""
        with self._cond:
            items = [s for w in self.received for e in w.body.get("entry", [])
                     for c in e.get("changes", []) for s in c.get("value", {}).get("statuses", [])]
        return [s for s in items if wamid is None or s.get("id") == wamid]
