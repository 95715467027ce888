"""One holder at a time in the cluster: PostgreSQL advisory locks.

Several processes share one PostgreSQL database (web processes, workers); a few things
must be done by one of them at a time (the scheduler's ticker, the agent-comment poll, a
login to the CRM). An advisory lock belongs to a database session: a process that dies
loses its connection and the lock with it, within the seconds PostgreSQL takes to see the
connection gone, with no lease to expire and no row to clean up.

With SQLite one worker process runs (it holds the worker's flock), so every lock is
granted at once.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Iterator

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from wasb.store.engine import Database

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable 64-bit key for a lock's name (Python's hash() differs per process)."""
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big", signed=True)


def _connect(db: Database) -> Connection:
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _drop(conn: Connection) -> None:
    """Close the session itself (not back to the pool, where it would keep its locks)."""
    try:
        conn.invalidate()
        conn.close()
    except Exception:  # noqa: BLE001 - the connection is already gone
        pass


class ClusterLock:
    """Held by one process of the cluster for as long as it keeps it (`held()` asks again
    each time: a lost connection means the lock may be someone else's now)."""

    def __init__(self, db: Database, name: str):
        self.db, self.name = db, name
        self._key = lock_key(name)
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    def held(self) -> bool:
        if self.db.dialect == "sqlite":
            return True
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    return True
                except Exception:  # noqa: BLE001 - the session is gone, and the lock with it
                    log.warning("lost the cluster lock %s (its database connection broke)", self.name)
                    _drop(self._conn)
                    self._conn = None
            try:
                conn = _connect(self.db)
            except Exception:  # noqa: BLE001 - no database now: not ours this time
                return False
            try:
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar())
            except Exception:  # noqa: BLE001
                _drop(conn)
                return False
            if got:
                self._conn = conn
                log.info("this process now holds the cluster lock %s", self.name)
            else:
                conn.close()
            return got

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None:
                _drop(self._conn)
                self._conn = None


def serialize(session: Session | Connection, name: str) -> None:
    """The rest of the session's (or connection's) transaction runs alone among those that call
    this with the same name (a check then a write, across processes); released at commit or
    rollback."""
    bind = session if isinstance(session, Connection) else session.get_bind()
    if bind.dialect.name != "sqlite":  # SQLite's write transactions are serial already
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(name)})


@contextlib.contextmanager
def exclusive(db: Database, name: str, *, wait_seconds: float = 0.0) -> Iterator[bool]:
    """Hold the lock `name` for the block if it can be had (waiting up to `wait_seconds`);
    yields whether it was. The lock is released when the block ends, or with the process."""
    if db.dialect == "sqlite":
        yield True
        return
    key = lock_key(name)
    conn = _connect(db)
    got = False
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            if got or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        yield got
    finally:
        if got:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.close()
            except Exception:  # noqa: BLE001 - a broken session has lost the lock already
                _drop(conn)
        else:
            conn.close()
