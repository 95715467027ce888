"""Outbound messages: queue (`service`), send (`sender`), limits (`ratelimit`), channel (`channel`)."""
from __future__ import annotations

from typing import Any


def flush_outbox(app: Any, timeout: float = 30.0):
    """Send every queued message now, respecting the rate limits; returns a `FlushReport`
    (`.sent` ids, `.failed` [{id, code, reason}], `.waiting` [{id, status, reason}], `.view()`)."""
    from wasb.outbound.sender import flush

    return flush(app, timeout)


__all__ = ["flush_outbox"]
