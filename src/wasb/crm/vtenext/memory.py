"""What WASB must remember about a vtenext / vtiger CRM across processes, in the
service database (`crm_state`): the login hold and its count of refused logins, and
verdicts learnt about the CRM (whether it keeps emoji).

Why in the database: `wasb serve`, a second worker and `wasb crm check` are separate
processes logging in as the same CRM user, and the CRM locks that user after 5 refused
logins (LOGIN_LOCKED) whoever made them. A hold kept in one process's memory let
`crm check` try again after the service had stopped, and two runs took the CRM to 6.

The login ledger counts every attempt as refused *before* it is made (an attempt that
dies half-way counts), and gives it back when the CRM answered something else than a
refusal. It never allows the attempt that could be the CRM's 5th refusal in a row.
"""
from __future__ import annotations

import threading
from typing import Any, Protocol

from sqlalchemy import select

from wasb.crm.tables import CrmState
from wasb.store.base import utcnow
from wasb.store.engine import Database
from wasb.store.upsert import insert_for

# The CRM locks a user after this many refused logins in a row (vtenext and vtiger).
CRM_LOCKS_AFTER = 5
# WASB's refusals in a row stop one short of it: the 5th is never ours.
MAX_REFUSALS = CRM_LOCKS_AFTER - 1


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


class MemoryLedger:
    """The ledger of one process (a Webservice used on its own, e.g. in a script)."""

    def __init__(self) -> None:
        self._state: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _of(self, user: str) -> dict[str, Any]:
        return self._state.setdefault(user, {"failures": 0, "hold": None})

    def hold(self, user: str) -> str | None:
        with self._lock:
            return self._of(user)["hold"]

    def reserve(self, user: str) -> str | None:
        with self._lock:
            return _reserve(self._of(user), user)

    def release(self, user: str) -> None:
        with self._lock:
            state = self._of(user)
            state["failures"] = max(0, state["failures"] - 1)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._state[user] = {"failures": 0, "hold": None}

    def set_hold(self, user: str, reason: str) -> None:
        with self._lock:
            _hold(self._of(user), user, reason)

    def clear_hold(self, user: str, *, forget_failures: bool = False) -> None:
        with self._lock:
            state = self._of(user)
            state["hold"] = None
            if forget_failures:
                state["failures"] = 0


def _hold(state: dict[str, Any], user: str, reason: str) -> None:
    spent = state.get("failures", 0) >= MAX_REFUSALS and "one more could lock" not in reason
    state["hold"] = reason + (f"; {budget_spent(user, state['failures'])}" if spent else "")
    state["at"] = utcnow().isoformat()


def _reserve(state: dict[str, Any], user: str) -> str | None:
    if state.get("hold"):
        return state["hold"]
    if state.get("failures", 0) >= MAX_REFUSALS:
        state["hold"] = budget_spent(user, state["failures"])
        return state["hold"]
    state["failures"] = state.get("failures", 0) + 1
    return None


class DatabaseLedger:
    """The ledger shared by every process on one service database, per CRM and user."""

    def __init__(self, db: Database, endpoint: str):
        self._db = db
        self._endpoint = endpoint

    def _key(self, user: str) -> str:
        return f"login:{user}"[:100]

    def _change(self, user: str, change) -> Any:
        """Read, change and write the user's row in one short write transaction (row
        locked on PostgreSQL; SQLite's write transactions begin IMMEDIATE)."""
        key = self._key(user)
        with self._db.sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            session.execute(insert_for(dialect, CrmState.__table__).values(
                key=key, value=self._fresh(), updated_at=utcnow()).on_conflict_do_nothing(index_elements=["key"]))
            row = session.execute(select(CrmState).where(CrmState.key == key).with_for_update()).scalar_one()
            state = dict(row.value) if isinstance(row.value, dict) else {}
            if state.get("endpoint") != self._endpoint:
                state = self._fresh()  # another CRM behind the same user name: its own count
            answer = change(state)
            row.value, row.updated_at = state, utcnow()
            return answer

    def _fresh(self) -> dict[str, Any]:
        return {"endpoint": self._endpoint, "failures": 0, "hold": None}

    def hold(self, user: str) -> str | None:
        with self._db.read_sessions() as session:
            row = session.get(CrmState, self._key(user))
        if row is None or not isinstance(row.value, dict) or row.value.get("endpoint") != self._endpoint:
            return None
        return row.value.get("hold")

    def failures(self, user: str) -> int:
        with self._db.read_sessions() as session:
            row = session.get(CrmState, self._key(user))
        ok = row is not None and isinstance(row.value, dict) and row.value.get("endpoint") == self._endpoint
        return int(row.value.get("failures", 0)) if ok else 0

    def reserve(self, user: str) -> str | None:
        return self._change(user, lambda state: _reserve(state, user))

    def release(self, user: str) -> None:
        self._change(user, lambda state: state.update(failures=max(0, state.get("failures", 0) - 1)))

    def succeeded(self, user: str) -> None:
        self._change(user, lambda state: state.update(failures=0, hold=None))

    def set_hold(self, user: str, reason: str) -> None:
        self._change(user, lambda state: _hold(state, user, reason))

    def clear_hold(self, user: str, *, forget_failures: bool = False) -> None:
        def clear(state: dict[str, Any]) -> None:
            state["hold"] = None
            if forget_failures:
                state["failures"] = 0

        self._change(user, clear)


class Verdicts:
    """Facts learnt about one CRM (e.g. `stores_emoji`), kept so a new process starts
    from what an earlier one found out instead of finding out again."""

    def __init__(self, db: Database, endpoint: str):
        self._db = db
        self._key = f"facts:{endpoint}"[:100]

    def get(self, name: str) -> Any:
        with self._db.read_sessions() as session:
            row = session.get(CrmState, self._key)
        return row.value.get(name) if row is not None and isinstance(row.value, dict) else None

    def put(self, name: str, value: Any) -> None:
        with self._db.sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            session.execute(insert_for(dialect, CrmState.__table__).values(
                key=self._key, value={}, updated_at=utcnow()).on_conflict_do_nothing(index_elements=["key"]))
            row = session.execute(select(CrmState).where(CrmState.key == self._key).with_for_update()).scalar_one()
            row.value, row.updated_at = {**(row.value or {}), name: value}, utcnow()
