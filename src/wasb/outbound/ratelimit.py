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
    """`capacity` tokens; a token spent comes back exactly `period` seconds later.

    This is the rule Meta enforces (at most N messages in any one second), kept exactly: a
    classic refill-at-rate bucket either allows bursts that break it (a full bucket plus a
    second's refill) or, with no burst, wastes the time the sender spends between groups.
    Here a pause leaves its unused tokens for the next second, never more. `try_take` never
    blocks.
    """

    def __init__(self, capacity: int, period: float = 1.0, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: collections.deque[float] = collections.deque()
        self.configure(capacity, period)

    def configure(self, capacity: int, period: float = 1.0) -> None:
        self.capacity = max(1, int(capacity))
        self.period = float(period)

    def try_take(self) -> float:
        """0 when a token was taken, else the seconds until one comes back (none taken)."""
        with self._lock:
            now = self._clock()
            while self._spent and now - self._spent[0] >= self.period:
                self._spent.popleft()
            if len(self._spent) >= self.capacity:
                return self._spent[len(self._spent) - self.capacity] + self.period - now
            self._spent.append(now)
            return 0.0


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


def tier_capacity(rate_per_second: int) -> int:
    """Tokens per second for a number: its tier with a little headroom, because Meta counts
    arrivals and ours jitter on the way."""
    return max(1, math.floor(rate_per_second * TIER_HEADROOM))
