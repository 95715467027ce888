"""What WASB must remember about a vtenext / vtiger CRM across processes, in the
service database (`crm_state`): the login hold and its count of refused logins,
verdicts learnt about the CRM (whether it keeps emoji), and its health (reachable or
not, the last error), which the worker process finds out and the web shows.

Why in the database: `wasb serve`, a second worker and `wasb crm check` are separate
processes logging in as the same CRM user, and the CRM locks that user after 5 refused
logins (LOGIN_LOCKED) whoever made them. A hold kept in one process's memory let
`crm check` try again after the service had stopped, and two runs took the CRM to 6.

The ledger counts every attempt as refused *before* it is made (an attempt that dies
half-way counts), and gives it back when the CRM answered something else than a
refusal. It never allows the attempt that could be the CRM's 5th refusal in a row.

On PostgreSQL (several processes at once) each change is a short transaction of its own
with the row locked, so a reservation is atomic across the cluster, and a login runs
under an advisory lock (`turn`): one process of the cluster logs in at a time, and the
others, once it is their turn, see the hold it set. Nothing there waits for a caller's
transaction (row locks, not a database-wide write lock), and since no two WASB logins
overlap, no challenge token is clobbered by another's: one attempt is enough, so a wrong
key costs exactly one refused login in the whole cluster.

On SQLite writes never wait for the database in the caller's thread: a login can happen in
the middle of a route's SQLite write transaction, and a second write transaction
from the same thread would wait for it forever. Changes are applied to this
process's view at once and written by one writer thread, in order; what is read is
the stored state with the changes still on their way applied on top. The changes on
their way are looked at before the row is read (a change that leaves the queue is in
the row by then), and the row names the last changes written into it (`applied`), so
a change that reached the row in between is not applied twice.
"""
from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from datetime import datetime
from typing import Any, Callable, Protocol

from sqlalchemy import select

from wasb.crm.guard import CrmHealth, HealthView
from wasb.crm.port import CRMUnavailable
from wasb.crm.tables import CrmState
from wasb.store.base import utcnow
from wasb.store.cluster import exclusive
from wasb.store.engine import Database
from wasb.store.upsert import insert_for

log = logging.getLogger(__name__)

# The CRM locks a user after this many refused logins in a row (vtenext and vtiger).
CRM_LOCKS_AFTER = 5
# WASB's refusals in a row stop one short of it: the 5th is never ours.
MAX_REFUSALS = CRM_LOCKS_AFTER - 1

State = dict[str, Any]
Change = Callable[[State], None]
# How many written changes a row remembers: more than can be on their way at once.
APPLIED_KEPT = 64


def budget_spent(user: str, failures: int) -> str:
    return (f"{failures} refused logins in a row as {user}: one more could lock the CRM user "
            f"(the CRM locks it after {CRM_LOCKS_AFTER}); WASB will not try again. Check the user and its "
            "access key in the CRM (unlock it there if needed), then run `wasb crm reset-auth --forget-failures`")


class LoginLedger(Protocol):
    def hold(self, user: str) -> str | None:
        """Why logging in as `user` is disabled, or None."""

    def reserve(self, user: str) -> str | None:
        """Count an attempt as refused in advance; None to go ahead, else why not."""

    def release(self, user: str) -> None:
        """The reserved attempt got no verdict on the credentials (network, CRM fault)."""

    def succeeded(self, user: str) -> None: ...

    def set_hold(self, user: str, reason: str) -> None: ...

    def clear_hold(self, user: str, *, forget_failures: bool = False) -> None: ...

    def turn(self, user: str) -> contextlib.AbstractContextManager[bool]:
        """Held while logging in as `user`; yields whether no other process can log in
        meanwhile (then one attempt is enough: no parallel login clobbers its challenge)."""


# --- the rules, on one user's state: {"failures": n, "hold": reason | None} ----------

def _reserve(state: State, user: str) -> str | None:
    if state.get("hold"):
        return state["hold"]
    if state.get("failures", 0) >= MAX_REFUSALS:
        _hold(state, user, budget_spent(user, state["failures"]))
        return state["hold"]
    state["failures"] = state.get("failures", 0) + 1
    return None


def _release(state: State) -> None:
    state["failures"] = max(0, state.get("failures", 0) - 1)


def _succeeded(state: State) -> None:
    state.update(failures=0, hold=None)


def _hold(state: State, user: str, reason: str) -> None:
    spent = state.get("failures", 0) >= MAX_REFUSALS and "one more could lock" not in reason
    state["hold"] = reason + (f"; {budget_spent(user, state['failures'])}" if spent else "")
    state["at"] = utcnow().isoformat()


def _clear(state: State, forget_failures: bool) -> None:
    state["hold"] = None
    if forget_failures:
        state["failures"] = 0


class _Rules:
    """The ledger's operations on top of `_state(user)` and `_apply(user, change)`."""

    def _state(self, user: str) -> State:
        raise NotImplementedError

    def _apply(self, user: str, change: Change) -> None:
        raise NotImplementedError

    def hold(self, user: str) -> str | None:
        return self._state(user).get("hold")

    def failures(self, user: str) -> int:
        return int(self._state(user).get("failures", 0))

    def reserve(self, user: str) -> str | None:
        with self._lock:
            state = self._state(user)
            before = dict(state)
            answer = _reserve(state, user)
            if state != before:
                self._apply(user, lambda s: _reserve(s, user))
            return answer

    def release(self, user: str) -> None:
        with self._lock:
            self._apply(user, _release)

    def succeeded(self, user: str) -> None:
        with self._lock:
            state = self._state(user)
            if state.get("failures") or state.get("hold"):
                self._apply(user, _succeeded)  # the usual login writes nothing more

    def set_hold(self, user: str, reason: str) -> None:
        with self._lock:
            self._apply(user, lambda s: _hold(s, user, reason))

    def clear_hold(self, user: str, *, forget_failures: bool = False) -> None:
        with self._lock:
            self._apply(user, lambda s: _clear(s, forget_failures))


class MemoryLedger(_Rules):
    """The ledger of one process (a Webservice used on its own, e.g. in a script)."""

    def turn(self, user: str) -> contextlib.AbstractContextManager[bool]:
        return contextlib.nullcontext(False)

    def __init__(self) -> None:
        self._users: dict[str, State] = {}
        self._lock = threading.RLock()

    def _state(self, user: str) -> State:
        return dict(self._users.get(user, {"failures": 0, "hold": None}))

    def _apply(self, user: str, change: Change) -> None:
        state = self._state(user)
        change(state)
        self._users[user] = state


class _Writer:
    """One thread writing `crm_state` rows in order; what is queued stays visible
    (`pending`) until it is committed."""

    def __init__(self, db: Database):
        self._db = db
        self._queue: queue.Queue = queue.Queue()
        self._pending: list[tuple[str, str, Change]] = []  # key, change id, change
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def pending(self, key: str) -> list[tuple[str, Change]]:
        with self._lock:
            return [(cid, change) for k, cid, change in self._pending if k == key]

    def view(self, key: str, fresh: Callable[[], State], keep: Callable[[State], bool]) -> State:
        """The stored row (or `fresh()` where `write` would start afresh) with the changes
        still on their way applied, each once."""
        pending = self.pending(key)  # first: a change that leaves the queue is in the row by then
        stored = read(self._db, key)
        state = dict(stored) if isinstance(stored, dict) and keep(stored) else fresh()
        written = set(state.get("applied") or ())
        for cid, change in pending:
            if cid not in written:
                change(state)
        return state

    def put(self, key: str, fresh: Callable[[], State], change: Change, keep: Callable[[State], bool]) -> None:
        cid = uuid.uuid4().hex
        with self._lock:
            self._pending.append((key, cid, change))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="crm-state-writer", daemon=True)
                self._thread.start()
        self._queue.put((key, cid, fresh, change, keep))

    def flush(self, timeout: float = 30) -> None:
        """Wait until everything queued is written (a process about to exit)."""
        done = threading.Event()
        self._queue.put(done)
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
        if alive:
            done.wait(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            key, cid, fresh, change, keep = item
            try:
                write(self._db, key, fresh, _recorded(cid, change), keep)
            except Exception:  # noqa: BLE001 - a lost write must not kill the writer
                log.exception("could not store the CRM state %s", key)
            finally:
                with self._lock:
                    self._pending.remove(next(p for p in self._pending if p[1] == cid))


def _recorded(cid: str, change: Change) -> Change:
    def apply(state: State) -> None:
        change(state)
        state["applied"] = [*(state.get("applied") or ())[-(APPLIED_KEPT - 1):], cid]
    return apply


def read(db: Database, key: str) -> Any:
    with db.read_sessions() as session:
        row = session.get(CrmState, key)
    return row.value if row is not None else None


def write(db: Database, key: str, fresh: Callable[[], State], change: Change, keep: Callable[[State], bool]) -> None:
    """Read, change and write one row in one short write transaction (row locked on
    PostgreSQL; SQLite's write transactions begin IMMEDIATE)."""
    with db.sessions() as session, session.begin():
        dialect = session.get_bind().dialect.name
        session.execute(insert_for(dialect, CrmState.__table__).values(
            key=key, value=fresh(), updated_at=utcnow()).on_conflict_do_nothing(index_elements=["key"]))
        row = session.execute(select(CrmState).where(CrmState.key == key).with_for_update()).scalar_one()
        state = dict(row.value) if isinstance(row.value, dict) and keep(row.value) else fresh()
        change(state)
        row.value, row.updated_at = state, utcnow()


# How long a process waits for another's login to the CRM (one attempt, with its timeout).
LOGIN_TURN_WAIT_SECONDS = 60.0


class DatabaseLedger(_Rules):
    """The ledger shared by every process on one service database, per CRM and user.

    `atomic` (PostgreSQL's default): every change is written at once in its own short
    transaction, the row locked, and logins take turns across the cluster. Else (SQLite)
    changes go through the writer thread (see the module's docstring)."""

    def __init__(self, db: Database, endpoint: str, writer: _Writer | None = None, *, atomic: bool | None = None):
        self._db = db
        self._endpoint = endpoint
        self._writer = writer or _Writer(db)
        self._atomic = db.dialect != "sqlite" if atomic is None else atomic
        self._lock = threading.RLock()

    def _key(self, user: str) -> str:
        return f"login:{user}"[:100]

    def _fresh(self) -> State:
        return {"endpoint": self._endpoint, "failures": 0, "hold": None}

    def _mine(self, value: State) -> bool:
        return value.get("endpoint") == self._endpoint  # another CRM behind the same user name: its own count

    def _state(self, user: str) -> State:
        if self._atomic:
            stored = read(self._db, self._key(user))
            return dict(stored) if isinstance(stored, dict) and self._mine(stored) else self._fresh()
        return self._writer.view(self._key(user), self._fresh, self._mine)

    def _apply(self, user: str, change: Change) -> None:
        if self._atomic:
            write(self._db, self._key(user), self._fresh, change, self._mine)
        else:
            self._writer.put(self._key(user), self._fresh, change, self._mine)

    def reserve(self, user: str) -> str | None:
        if not self._atomic:
            return super().reserve(user)
        answer: list[str | None] = []
        with self._lock:  # decided on the locked row: two processes cannot both take the last attempt
            write(self._db, self._key(user), self._fresh, lambda state: answer.append(_reserve(state, user)),
                  self._mine)
        return answer[0]

    @contextlib.contextmanager
    def turn(self, user: str):
        if not self._atomic:
            yield False
            return
        with exclusive(self._db, f"crm-login:{self._endpoint}:{user}", wait_seconds=LOGIN_TURN_WAIT_SECONDS) as mine:
            if not mine:
                raise CRMUnavailable("another WASB process has been logging in to the CRM for too long")
            yield True

    def flush(self, timeout: float = 30) -> None:
        self._writer.flush(timeout)


class Verdicts:
    """Facts learnt about one CRM (e.g. `stores_emoji`), kept so a new process starts
    from what an earlier one found out instead of finding out again."""

    def __init__(self, db: Database, endpoint: str, writer: _Writer | None = None):
        self._db = db
        self._key = f"facts:{endpoint}"[:100]
        self._writer = writer or _Writer(db)

    def get(self, name: str) -> Any:
        return self.all().get(name)

    def all(self) -> dict[str, Any]:
        return self._writer.view(self._key, dict, lambda _value: True)

    def put(self, name: str, value: Any) -> None:
        self._writer.put(self._key, dict, lambda state: state.update({name: value}), lambda _value: True)

    def flush(self, timeout: float = 30) -> None:
        self._writer.flush(timeout)


# A run of good answers is written at most this often: the worker calls the CRM for every
# message, and the web only needs to know it is still answering.
HEALTH_REFRESH_SECONDS = 5.0
# How long a caller with no transaction open waits for a change of health to be written.
HEALTH_FLUSH_SECONDS = 2.0


class SharedHealth(CrmHealth):
    """The CRM's health as every process on the database sees it: the worker process makes
    most of the calls, the web shows the outcome (/healthz, the CRM status page).

    A change (reachable or not, another error) is written at once, by the writer thread;
    when the caller holds no transaction (`settled`: a job between its commits) it waits
    for the write, so whoever sees the job's outcome sees the health that caused it. What
    is shown is, field by field, the latest of the stored row and this process's own."""

    def __init__(self, db: Database, endpoint: str, writer: _Writer | None = None):
        super().__init__()
        self._key = f"health:{endpoint}"[:100]
        self._writer = writer or _Writer(db)
        self._stored_lock = threading.Lock()
        self._stored: tuple = (None, None)  # (reachable, last_error) last written
        self._stored_at = -HEALTH_REFRESH_SECONDS

    def ok(self, settled: bool = False) -> None:
        super().ok()
        self._store(settled)

    def failed(self, exc: BaseException, settled: bool = False) -> None:
        super().failed(exc)
        self._store(settled)

    def _store(self, settled: bool) -> None:
        mine = super().view()
        now = time.monotonic()
        with self._stored_lock:
            changed = (mine.reachable, mine.last_error) != self._stored
            if not changed and now - self._stored_at < HEALTH_REFRESH_SECONDS:
                return
            self._stored, self._stored_at = (mine.reachable, mine.last_error), now
        self._writer.put(self._key, dict, _latest(mine), lambda _value: True)
        if changed and settled:
            self._writer.flush(HEALTH_FLUSH_SECONDS)

    def view(self) -> HealthView:
        latest = dict(self._writer.view(self._key, dict, lambda _value: True))
        _latest(super().view())(latest)  # the same rule as when it is stored
        return HealthView(_when(latest.get("ok_at")), latest.get("error"), _when(latest.get("error_at")))

    def flush(self, timeout: float = 30) -> None:
        self._writer.flush(timeout)


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _latest(mine: HealthView) -> Change:
    """Keep, field by field, the later of what is stored (another process's) and `mine`."""
    def change(state: State) -> None:
        if mine.last_ok_at is not None and _iso(mine.last_ok_at) > (state.get("ok_at") or ""):
            state["ok_at"] = _iso(mine.last_ok_at)
        if mine.last_error_at is not None and _iso(mine.last_error_at) > (state.get("error_at") or ""):
            state["error"], state["error_at"] = mine.last_error, _iso(mine.last_error_at)
    return change
