"""Waiting for something another process or thread does (no fixed sleeps in tests)."""
from __future__ import annotations

import time
from typing import Any, Callable

# How long a test waits for another process by default: generous, because CI runs the SQLite
# and the PostgreSQL suites side by side on two cores, and a starved worker is slow, not wrong.
PATIENCE = 60.0


def wait_until(predicate: Callable[[], Any], timeout: float = PATIENCE, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy and return that; fail with the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")
