"""The send rate and the per-recipient pacing of `wasb.outbound.ratelimit`, shared by every
sender process on one PostgreSQL database (several `wasb worker`s, a flush from a web
process): Meta counts per number, whoever sends.

The number's tier is `capacity` rows of `send_slot`, one per token, each free from its
`free_at` on. Taking a token marks one free row as under way (`free_at` a lease ahead: a
process that dies mid-send gives its tokens back when the lease ends); giving it back once
the send is answered sets `free_at` a period after the answer, as `TokenBucket` does (its
docstring says why the token counts from the answer). The answers' give-backs ride on the
next take (one statement does both), so a send costs one short autocommit statement; a
flusher thread writes them when no take follows soon. Times are the database's clock, so
the processes' clocks need not agree.

Per recipient, `send_pace` keeps the times of the latest sends to each customer (a sliding
window, as `PairPacer`), checked and appended by one upsert.
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import text

from wasb.outbound.ratelimit import PAIR_BURST, PAIR_WINDOW_SECONDS
from wasb.store.engine import Database

log = logging.getLogger(__name__)

# How long a token under way stays taken if its process dies before giving it back: longer
# than any send (the Graph client's timeout) may take.
LEASE_SECONDS = 60.0
# Give-backs wait this long for a take to carry them before they are written alone.
FLUSH_AFTER_SECONDS = 0.02
# Waited after the database could not be asked.
DATABASE_TROUBLE_WAIT = 1.0

_TAKE = text("""
WITH released AS (
    UPDATE send_slot AS s SET free_at = now() + make_interval(secs => :period - r.ago)
    FROM unnest(CAST(:slots AS integer[]), CAST(:agos AS double precision[])) AS r(slot, ago)
    WHERE s.phone_number_id = :number AND s.slot = r.slot
    RETURNING s.slot
), free AS (
    SELECT slot FROM send_slot
    WHERE phone_number_id = :number AND slot < :capacity AND free_at <= now()
    ORDER BY free_at LIMIT :want FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE send_slot AS s SET free_at = now() + make_interval(secs => :lease)
    FROM free WHERE s.phone_number_id = :number AND s.slot = free.slot
    RETURNING s.slot
)
SELECT ARRAY(SELECT slot FROM taken),
       (SELECT EXTRACT(EPOCH FROM min(free_at) - now()) FROM send_slot
        WHERE phone_number_id = :number AND slot < :capacity),
       (SELECT count(*) FROM released)
""")

_SLOTS = text("""
INSERT INTO send_slot (phone_number_id, slot, free_at)
SELECT :number, n, now() FROM generate_series(0, :capacity - 1) AS n
ON CONFLICT DO NOTHING
""")


class SharedTokenBucket:
    """`TokenBucket`'s rule for every sender of one number on a PostgreSQL database; the
    same interface (`try_take`, `release`, `configure`)."""

    def __init__(self, db: Database, phone_number_id: str, capacity: int, period: float = 1.0,
                 lease: float = LEASE_SECONDS):
        self._db = db
        self._number = phone_number_id
        self._lease = lease
        self._lock = threading.Lock()  # one statement at a time from this process
        self._state = threading.Condition()
        self._held: list[int] = []  # tokens of this process's sends under way
        self._spare: list[int] = []  # taken for threads that were waiting, not handed out yet
        self._answered: list[tuple[int, float]] = []  # (slot, monotonic time of the answer) to give back
        self._waiting = 0
        self._not_before = 0.0
        self._flusher: threading.Thread | None = None
        self.capacity = 0
        self.configure(capacity, period)

    def configure(self, capacity: int, period: float = 1.0) -> None:
        capacity, self.period = max(1, int(capacity)), float(period)
        if capacity > self.capacity:  # the rows of a higher tier (a lower one leaves some unused)
            with self._db.engine.connect() as conn:
                conn.execute(_SLOTS, {"number": self._number, "capacity": capacity})
                conn.commit()
        self.capacity = capacity

    def try_take(self) -> float:
        """0 when a token was taken (hand it back with `release`), else the seconds to wait."""
        with self._state:
            self._waiting += 1
        try:
            with self._lock:
                with self._state:
                    if self._spare:
                        self._held.append(self._spare.pop())
                        return 0.0
                    now = time.monotonic()
                    if now < self._not_before:
                        return self._not_before - now
                    want = self._waiting  # the threads queued behind this one get theirs from one statement
                try:
                    slots, wait = self._statement(want)
                except Exception:  # noqa: BLE001 - no send while the database cannot be asked
                    log.warning("the shared send rate could not be read from the database", exc_info=True)
                    return DATABASE_TROUBLE_WAIT
                with self._state:
                    if slots:
                        self._held.append(slots[0])
                        self._spare.extend(slots[1:])
                        return 0.0
                    # Every token under way: they come back a period after their answers at the latest.
                    wait = min(max(wait, 0.001), self.period)
                    self._not_before = time.monotonic() + wait
                    return wait
        finally:
            with self._state:
                self._waiting -= 1

    def release(self) -> None:
        """The send that took a token has its answer (or gave up): it counts from now on."""
        with self._state:
            if not self._held:
                return
            self._answered.append((self._held.pop(), time.monotonic()))
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(target=self._flush_loop, name="wasb-send-slots", daemon=True)
                self._flusher.start()
            self._state.notify_all()

    def _statement(self, want: int) -> tuple[list[int], float]:
        with self._state:
            answered, self._answered = self._answered, []
        now = time.monotonic()
        params = {"number": self._number, "capacity": self.capacity, "period": self.period, "lease": self._lease,
                  "want": want, "slots": [slot for slot, _ in answered],
                  "agos": [now - at for _, at in answered]}
        try:
            with self._db.engine.connect() as conn:
                slots, wait, _ = conn.execute(_TAKE, params).one()
                conn.commit()
        except Exception:
            with self._state:  # written by the next statement instead
                self._answered = answered + self._answered
            raise
        return list(slots or ()), float(wait if wait is not None else self.period)

    def _flush_loop(self) -> None:
        """Give back what no take carried within FLUSH_AFTER_SECONDS."""
        while True:
            with self._state:
                while not self._answered:
                    if not self._state.wait(30):
                        return  # idle: a new release starts another
                oldest = self._answered[0][1]
            time.sleep(max(0.0, oldest + FLUSH_AFTER_SECONDS - time.monotonic()))
            with self._state:
                due = bool(self._answered) and self._answered[0][1] <= oldest
            if due:
                with self._lock:
                    try:
                        self._statement(0)
                    except Exception:  # noqa: BLE001 - tried again by the next take or flush
                        log.warning("could not give send tokens back", exc_info=True)
                        if self._db.disposed or not self._drop_lapsed():
                            return
                        time.sleep(DATABASE_TROUBLE_WAIT)

    def _drop_lapsed(self) -> bool:
        """Forget give-backs whose lease has ended (the database freed those tokens itself);
        False when none are left to try again, so a flusher does not outlive its database."""
        horizon = time.monotonic() - self._lease
        with self._state:
            self._answered = [(slot, at) for slot, at in self._answered if at > horizon]
            return bool(self._answered)


_PACE = text("""
INSERT INTO send_pace AS p (phone_number_id, recipient, times)
SELECT :number, r, ARRAY[EXTRACT(EPOCH FROM now())::float8] FROM unnest(CAST(:recipients AS varchar[])) AS r
ORDER BY r
ON CONFLICT (phone_number_id, recipient) DO UPDATE SET times = CASE
    WHEN (SELECT count(*) FROM unnest(p.times) AS t WHERE t > EXTRACT(EPOCH FROM now()) - :window) < :burst
    THEN ARRAY(SELECT t FROM unnest(p.times) AS t WHERE t > EXTRACT(EPOCH FROM now()) - :window ORDER BY t)
         || EXTRACT(EPOCH FROM now())::float8
    ELSE p.times END
RETURNING recipient, times[array_upper(times, 1)] = EXTRACT(EPOCH FROM now())::float8,
          (SELECT min(t) FROM unnest(times) AS t WHERE t > EXTRACT(EPOCH FROM now()) - :window)
            + :window - EXTRACT(EPOCH FROM now())
""")

_GIVE_BACK = text("""
UPDATE send_pace SET times = times[1:array_upper(times, 1) - 1]
WHERE phone_number_id = :number AND recipient = :recipient
""")


class SharedPairPacer:
    """`PairPacer`'s sliding window per recipient, for every sender of one number."""

    def __init__(self, db: Database, phone_number_id: str, burst: int = PAIR_BURST,
                 window: float = PAIR_WINDOW_SECONDS):
        self._db, self._number = db, phone_number_id
        self.burst, self.window = burst, window

    def try_take(self, recipient: str) -> float:
        return self.try_take_many([recipient])[0]

    def try_take_many(self, recipients: list[str]) -> list[float]:
        """`try_take` for each recipient, in one statement for a group of sends (the same
        recipient twice: the second asks again, after the first counted)."""
        keys = [r[:64] for r in recipients]
        waits: list[float | None] = [None] * len(keys)
        while None in waits:
            batch: dict[str, int] = {}
            for i, key in enumerate(keys):
                if waits[i] is None and key not in batch:
                    batch[key] = i
            with self._db.engine.connect() as conn:  # (rows locked in one order: no deadlock between senders)
                rows = conn.execute(_PACE, {"number": self._number, "recipients": sorted(batch),
                                            "window": self.window, "burst": self.burst}).all()
                conn.commit()
            for recipient, taken, wait in rows:
                waits[batch[recipient]] = 0.0 if taken else max(0.001, float(wait or self.window))
        return [float(w) for w in waits]

    def give_back(self, recipient: str) -> None:
        with self._db.engine.connect() as conn:
            conn.execute(_GIVE_BACK, {"number": self._number, "recipient": recipient[:64]})
            conn.commit()
