"""Capped exponential backoff with equal jitter: each delay is half its ceiling plus a
random part of the other half, so retries spread out yet never come back at once."""
from __future__ import annotations

import random


def backoff_seconds(attempt: int, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None) -> float:
    """Delay before attempt `attempt + 1`; `attempt` counts the failures so far (>= 1)."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(ceiling / 2, ceiling)


def waiting_seconds(waited: float, floor: float = 1.0, cap: float = 300.0, rng: random.Random | None = None) -> float:
    """Delay before looking again at something outside that is not ready: a quarter of
    the time already waited (1 s at first, 5 min at most), with jitter, so a short
    outage is caught up at once and a long one costs few attempts."""
    ceiling = min(cap, max(floor, waited / 4))
    return (rng or random).uniform(ceiling / 2, ceiling)
