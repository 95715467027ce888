"""Bounds on slow clients: a connection that dribbles its request is closed, not held.

uvicorn bounds only the idle time between requests (timeout_keep_alive); a client that
opens a connection and sends its headers or its body a byte at a time would hold a
connection, a file descriptor and (for the body) a task for as long as it likes. Three
bounds, each configurable (WASB_HEADER_TIMEOUT_SECONDS, WASB_BODY_TIMEOUT_SECONDS,
WASB_MAX_CONNECTIONS):

- the request line and headers must arrive within `header_timeout` of the connection (or
  of the request's first byte on a kept-alive connection): `header_timeout_protocol`, the
  uvicorn protocol with that timer, answers 408 and closes;
- the whole body must arrive within `body_timeout` of the headers, however it trickles:
  `BodyTimeoutMiddleware` answers 408 (Connection: close) and tells the app the client left;
- uvicorn's limit_concurrency caps connections and requests in progress: past the cap
  requests get 503 at once instead of piling up (`wasb serve` sets it).
"""
from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

TIMEOUT_408 = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
               b"content-length: 16\r\nconnection: close\r\n\r\nrequest too slow")


def header_timeout_protocol(header_timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a deadline on the request line and headers."""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm_header_timer(self) -> None:
            self._cancel_header_timer()
            self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(TIMEOUT_408)
                self.transport.close()

        def connection_made(self, transport) -> None:  # noqa: ANN001 - asyncio's signature
            super().connection_made(transport)
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_header_timer()

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            super().on_headers_complete()

    return HeaderTimeoutProtocol


class BodyTimeoutMiddleware:
    """The request body must be complete within `timeout` seconds of the headers."""

    def __init__(self, app, *, timeout: float):
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        deadline = asyncio.get_running_loop().time() + self.timeout
        state = {"body_done": False, "response_started": False, "timed_out": False}

        async def bounded_receive():
            if state["body_done"] or state["timed_out"]:
                # After the body: what is left is waiting for a disconnect (streaming answers).
                return await receive() if not state["timed_out"] else {"type": "http.disconnect"}
            try:
                # A timeout scope, not wait_for: no task per chunk of every request body.
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                state["timed_out"] = True
                if not state["response_started"]:
                    log.warning("request body not complete after %.0f s: answered 408 (%s %s)",
                                self.timeout, scope["method"], scope["path"])
                    await send({"type": "http.response.start", "status": 408,
                                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                            (b"connection", b"close")]})
                    await send({"type": "http.response.body", "body": b"request body too slow"})
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                state["body_done"] = True
            return message

        async def guarded_send(message):
            if state["timed_out"]:
                return  # the 408 was the answer; what the app says after it goes nowhere
            if message["type"] == "http.response.start":
                state["response_started"] = True
            await send(message)

        await self.app(scope, bounded_receive, guarded_send)
