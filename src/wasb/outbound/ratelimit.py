"""Rate limits the sender keeps below Meta's, so Meta's 130429 / 131056 stay exceptions.

Meta counts messages per business number per second (the throughput tier: 80/s by default,
up to 1,000/s) and per recipient (the "pair rate": a burst of about 45, then about one
message every 6 s). These counters live in this process's memory: right with SQLite, where one worker process
sends. On PostgreSQL every sender shares them through the database instead
(`wasb.outbound.shared_limits`, same interface, chosen once by `wasb.bootstrap`).
"""
from __future__ import annotations

import collections
import math
import threading
import time

# Below Meta's pair limit (45 in 6 s in the simulator and in Meta's documentation).
PAIR_BURST = 40
PAIR_WINDOW_SECONDS = 6.0
# Keep a little under the tier. The bucket already allows for the delays on the way (see
# TokenBucket), so this is only a margin: one message a second at Meta's default 80/s.
TIER_HEADROOM = 0.99


class TokenBucket:
    """At most `capacity` sends in any `period` seconds *as Meta counts them*, whatever the
    delays on the way.

    Meta counts a message when it arrives, at some moment between our taking a token and our
    reading the answer. A token taken is therefore held while its send is under way and comes
    back `period` seconds after the answer (`release`), not after it was taken: the next send
    on that token starts after the answer plus a period, so it arrives at least a period after
    the one before it. Counting from the take instead (as this bucket once did) let a send
    delayed on the way and the next one, fast, land within the same second at Meta: a
    refusal (130429) for each. A pause leaves its unused tokens for the next second, never
    more. `try_take` never blocks.
    """

    def __init__(self, capacity: int, period: float = 1.0, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._held = 0  # tokens of sends under way
        self._returned: collections.deque[float] = collections.deque()  # when their answers came
        self.configure(capacity, period)

    def configure(self, capacity: int, period: float = 1.0) -> None:
        self.capacity = max(1, int(capacity))
        self.period = float(period)

    def try_take(self) -> float:
        """0 when a token was taken (hand it back with `release` once the send is answered, or
        failed), else the seconds until one can be free (none taken)."""
        with self._lock:
            now = self._clock()
            while self._returned and now - self._returned[0] >= self.period:
                self._returned.popleft()
            busy = self._held + len(self._returned)
            if busy >= self.capacity:
                needed = busy - self.capacity  # how many returned tokens must expire first (0-based)
                if needed < len(self._returned):
                    return self._returned[needed] + self.period - now
                return self.period  # every token is under way: none is free before a period from now
            self._held += 1
            return 0.0

    def release(self) -> None:
        """The send that took a token has its answer (or gave up): it counts from now on."""
        with self._lock:
            self._held = max(0, self._held - 1)
            self._returned.append(self._clock())


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

    def try_take_many(self, recipients: list[str]) -> list[float]:
        return [self.try_take(recipient) for recipient in recipients]

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
    """Tokens per second for a number: its tier with a little headroom."""
    return max(1, math.floor(rate_per_second * TIER_HEADROOM))
