"""Message statuses: they only move forward, and `failed` is final."""
from __future__ import annotations

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
READ = "read"
FAILED = "failed"
RECEIVED = "received"
# An agent's ticket comment kept back while the customer's window is closed: no send job
# exists for it; the customer's next message releases it (it becomes `queued`).
HELD = "held"

_RANK = {QUEUED: 0, SENDING: 1, SENT: 2, DELIVERED: 3, READ: 4}


def next_status(current: str, incoming: str) -> str:
    """The status a message ends with when `incoming` arrives while it is `current`.

    Webhooks arrive late, twice and out of order: a `delivered` after `read` changes
    nothing; `failed` wins over anything but stays once reached.
    """
    if current == FAILED:
        return FAILED
    if incoming == FAILED:
        return FAILED
    if incoming not in _RANK:
        return current  # unknown status values (e.g. "deleted", "warning") are recorded elsewhere
    if current not in _RANK:
        return incoming
    return incoming if _RANK[incoming] > _RANK[current] else current
