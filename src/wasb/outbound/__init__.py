"""Outbound messages: queue (`service`), send (`sender`), limits (`ratelimit`), channel (`channel`)."""
from __future__ import annotations

from wasb.runtime import Runtime


def flush_outbox(rt: Runtime, timeout: float = 30.0):
    """Send every queued message now, respecting the rate limits; returns a `FlushReport`
    (`.sent` ids, `.failed` [{id, code, reason}], `.waiting` [{id, status, reason}], `.view()`)."""
    from wasb.outbound.sender import flush

    return flush(rt, timeout)


__all__ = ["flush_outbox"]
