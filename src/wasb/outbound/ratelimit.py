"""Rate limits the sender keeps below Meta's, so Meta's 130429 / 131056 stay exceptions.

Meta counts messages per business number per second (the throughput tier: 80/s by default,
up to 1,000/s) and per recipient (the "pair rate": a burst of about 45, then about one
message every 6 s). Both counters live in memory, per process: several sender processes
on one number should share the tier between them (documented limitation).
"""
from __future__ import annotations

import collections
import math
import threading
import time

# Below Meta's pair limit (45 in 6 s in the simulator and in Meta's documentation).
PAIR_BURST = 40
PAIR_WINDOW_SECONDS = 6.0
# Keep a little under the tier: Meta counts arrivals, and our send times jitter.
TIER_HEADROOM = 0.98


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. `try_take` never blocks."""

    def __init__(self, rate: float, burst: float = 1.0, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self.configure(rate, burst)
        self._tokens = self.burst
        self._at = clock()

    def configure(self, rate: float, burst: float = 1.0) -> None:
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))

    def try_take(self) -> float:
        """0 when a token was taken, else the seconds until one will be free (none taken)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


class PairPacer:
    """At most `burst` messages to one recipient in any `window` seconds (a sliding window)."""

    def __init__(self, burst: int = PAIR_BURST, window: float = PAIR_WINDOW_SECONDS, clock=time.monotonic):
        self.burst, self.window, self._clock = burst, window, clock
        self._lock = threading.Lock()
        self._times: dict[str, collections.deque[float]] = {}

    def try_take(self, recipient: str) -> float:
        with self._lock:
            now = self._clock()
            times = self._times.setdefault(recipient, collections.deque())
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= self.burst:
                return times[0] + self.window - now
            times.append(now)
            if len(self._times) > 10_000:
                self._forget_idle(now)
            return 0.0

    def give_back(self, recipient: str) -> None:
        """The message did not go out after all (the number's bucket had no token)."""
        with self._lock:
            times = self._times.get(recipient)
            if times:
                times.pop()

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, t in self._times.items() if not t or now - t[-1] >= self.window]:
            del self._times[key]


def tier_bucket(rate_per_second: int) -> tuple[float, float]:
    """(rate, burst) for a number's bucket: the tier with headroom, a burst of 2% of it, so
    no sliding second ever holds more than the tier."""
    rate = rate_per_second * TIER_HEADROOM
    return rate, max(1.0, math.floor(rate_per_second * (1 - TIER_HEADROOM)))
