"""Posting signed webhooks to the service, the way Meta does: at least once, retried on non-200.

Each post is signed over the exact bytes sent (`X-Hub-Signature-256`). Posting never blocks
the Graph request that caused it: it runs as a background asyncio task, and a service that
answers anything but 200 (or cannot be reached) gets the same body again after each of
`retry_delays` (Meta keeps trying for up to 7 days; the simulator gives up sooner).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import orjson

from wasb.simulator.http11 import Http11Poster
from wasb.whatsapp.signature import HEADER, sign_body

log = logging.getLogger(__name__)

# Posts in flight at once. Under a burst, thousands of status webhooks wait on a FIFO
# semaphore instead of in httpx's connection pool, whose waiting list gets slow when long.
POST_CONCURRENCY = 32


class WebhookPoster:
    def __init__(self, webhook_url: str, app_secret: str,
                 retry_delays: Callable[[], tuple[float, ...]]) -> None:
        self.webhook_url = webhook_url
        self._app_secret = app_secret
        self._retry_delays = retry_delays
        self._http: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None
        self._raw: Http11Poster | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # What was posted and how the service answered, newest last (for tests and the UI).
        self.log: collections.deque[dict[str, Any]] = collections.deque(maxlen=2000)

    @property
    def http(self) -> httpx.AsyncClient:
        # Created lazily so it belongs to the event loop that serves the app.
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0, pool=None),
                                           limits=httpx.Limits(max_connections=POST_CONCURRENCY))
        return self._http

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run in the background; keep a reference so the task is not garbage-collected."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.log.clear()

    async def post(self, body: dict[str, Any], attempt: int = 1) -> int | None:
        """One signed POST; the service's HTTP status, or None when it could not be reached."""
        raw = orjson.dumps(body)
        headers = {"Content-Type": "application/json", HEADER: sign_body(raw, self._app_secret)}
        entry: dict[str, Any] = {"at": time.time(), "attempt": attempt, "body": body, "status": None}
        try:
            entry["status"] = await self._send(raw, headers)
        except (httpx.HTTPError, OSError, ConnectionError, asyncio.TimeoutError,
                asyncio.IncompleteReadError, ValueError) as exc:
            entry["error"] = type(exc).__name__
            log.info("webhook to %s failed: %s", self.webhook_url, type(exc).__name__)
        self.log.append(entry)
        return entry["status"]

    async def _send(self, raw: bytes, headers: dict[str, str]) -> int:
        if self.webhook_url.startswith("http://"):
            if self._raw is None or self._raw.url != self.webhook_url:
                if self._raw is not None:
                    self._raw.close()
                self._raw = Http11Poster(self.webhook_url, POST_CONCURRENCY)
            return await self._raw.post(raw, headers)
        if self._slots is None:
            self._slots = asyncio.Semaphore(POST_CONCURRENCY)
        async with self._slots:  # https:// (a tunnel to a public service, say): httpx
            response = await self.http.post(self.webhook_url, content=raw, headers=headers)
        return response.status_code

    async def deliver(self, body: dict[str, Any], first_attempt: int = 1) -> bool:
        """Post until the service answers 200 or the retries run out."""
        delays = self._retry_delays()
        attempt = first_attempt
        while True:
            if await self.post(body, attempt) == 200:
                return True
            if attempt > len(delays):
                log.warning("webhook dropped after %d attempts", attempt)
                return False
            await asyncio.sleep(delays[attempt - 1])
            attempt += 1

    def deliver_later(self, body: dict[str, Any], first_attempt: int = 1) -> None:
        self.spawn(self.deliver(body, first_attempt))
