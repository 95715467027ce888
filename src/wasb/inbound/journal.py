"""The intake journal (SQLite): where a webhook is durable before we answer 200.

SQLite has one write lock per database file. When the webhook stored its body in the
service database, every answer to Meta queued behind the worker's transactions (a batch
of tickets holds the lock for tens of milliseconds, a sync longer). So the webhook writes
to a file of its own, `<database>.intake`, that only the intake writes: WAL,
synchronous=FULL, one writer thread committing whatever accumulated in one transaction
(group commit: one fsync for many webhooks).

The worker moves journal rows into the service database (`inbound_event` and its jobs,
`wasb.inbound.intake.store_group`) and records, in the same transaction, how far it has
moved (`intake_cursor`, per journal file: a journal made anew starts from zero). A row
is therefore moved exactly once whatever is killed when: before the main commit it is
moved again, after it the cursor says it is done. The journal writer deletes the rows
the cursor has passed; the mover never writes the journal.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.engine import make_url

from wasb.inbound.intake import MAX_GROUP, Accepted, Waiting, store_group
from wasb.inbound.tables import IntakeCursor
from wasb.jobs.queue import JobQueue
from wasb.store.engine import SQLITE_BUSY_TIMEOUT_MS, Database
from wasb.store.upsert import insert_for

log = logging.getLogger(__name__)

SUFFIX = ".intake"
# How often the writer deletes the rows the worker has moved (a read of the service
# database, then one DELETE in the journal).
PRUNE_SECONDS = 1.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # AUTOINCREMENT: an id is never given twice in one file, even after the rows are deleted.
    "CREATE TABLE IF NOT EXISTS intake (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL, "
    "received_at REAL NOT NULL)",
)


def journal_path(database_url: str) -> Path | None:
    """The journal beside a SQLite database file; None where there is none to put beside
    (PostgreSQL: no database-wide lock, the intake writes the service database directly)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + SUFFIX)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                           timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a 200 to Meta means the body is on disk
    conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return conn


def open_journal(path: Path) -> tuple[sqlite3.Connection, str]:
    """A connection to the journal (made if missing) and the journal's own id."""
    conn = connect(path)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('uid', ?)", (secrets.token_hex(8),))
        (uid,) = conn.execute("SELECT value FROM meta WHERE key = 'uid'").fetchone()
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        conn.close()
        raise
    return conn, uid


def moved_up_to(session, uid: str) -> int:
    return session.scalar(select(IntakeCursor.moved_id).where(IntakeCursor.journal == uid)) or 0


def journal_backlog(path: Path, db: Database) -> Waiting:
    """Webhooks accepted into the journal and not yet moved: how many, since when."""
    if not path.exists():
        return Waiting(0, None)
    conn = connect(path)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'uid'").fetchone()
        if row is None:
            return Waiting(0, None)
        with db.read_sessions() as session:
            moved = moved_up_to(session, row[0])
        count, oldest = conn.execute("SELECT count(*), min(received_at) FROM intake WHERE id > ?", (moved,)).fetchone()
    finally:
        conn.close()
    return Waiting(count, datetime.fromtimestamp(oldest, timezone.utc) if oldest is not None else None)


@dataclass
class _Pending:
    body: bytes
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


class JournalWriter:
    """The web process's intake on SQLite: one thread appends bodies to the journal in
    group commits and answers each request once its group is on disk."""

    def __init__(self, path: Path, db: Database, wake: Callable[[], None] = lambda: None):
        self.path = path
        self.db = db
        self.wake = wake
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._uid = ""
        self._pruned_at = 0.0

    def start(self) -> None:
        self._conn, self._uid = open_journal(self.path)
        self._thread = threading.Thread(target=self._run, name="wasb-intake", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:
            self._queue.put(None)
            self._thread.join(10)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def store(self, body: bytes) -> Accepted:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Pending(body, loop, future))
        return await future

    def waiting(self) -> Waiting:
        return journal_backlog(self.path, self.db)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[_Pending]) -> None:
        conn = self._conn
        now = time.time()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT INTO intake (body, received_at) VALUES (?, ?)",
                                 [(p.body, now) for p in group])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except Exception as exc:
            # The journal took nothing (disk full, file gone): each request answers an
            # error and Meta delivers again. Nothing was accepted, so nothing is lost.
            log.exception("could not write %d webhook bodies to the intake journal", len(group))
            for pending in group:
                pending.loop.call_soon_threadsafe(_set_exception, pending.future, exc)
            return
        accepted = Accepted()
        for pending in group:
            pending.loop.call_soon_threadsafe(_set_result, pending.future, accepted)
        self.wake()
        if now - self._pruned_at >= PRUNE_SECONDS:
            self._prune(now)

    def _prune(self, now: float) -> None:
        """Delete what the worker has moved (a failure here only postpones it)."""
        self._pruned_at = now
        try:
            with self.db.read_sessions() as session:
                moved = moved_up_to(session, self._uid)
            if moved:
                self._conn.execute("DELETE FROM intake WHERE id <= ?", (moved,))
        except Exception:
            log.exception("could not prune the intake journal")


class JournalMover:
    """The worker's side: moves journal rows into the service database, in order, each
    exactly once (the cursor moves in the same transaction as the rows)."""

    def __init__(self, path: Path, db: Database, queue_: JobQueue, *, limit: int = MAX_GROUP):
        self.path = path
        self.db = db
        self.queue = queue_
        self.limit = limit
        self._conn: sqlite3.Connection | None = None
        self._uid = ""

    def __call__(self) -> int:
        """Move what is waiting (up to `limit` rows); returns how many rows were moved."""
        if self._conn is None:
            if not self.path.exists():
                return 0
            self._conn, self._uid = open_journal(self.path)
        with self.db.read_sessions() as session:
            moved = moved_up_to(session, self._uid)
        rows = self._conn.execute("SELECT id, body, received_at FROM intake WHERE id > ? ORDER BY id LIMIT ?",
                                  (moved, self.limit)).fetchall()
        if not rows:
            return 0
        store_group(self.db, self.queue, [r[1] for r in rows],
                    received_at=[datetime.fromtimestamp(r[2], timezone.utc) for r in rows],
                    ids=[r[0] for r in rows], record_moved=self._record_moved)
        return len(rows)

    def _record_moved(self, session, up_to: int) -> None:
        """In the transaction that stores the rows: they are moved."""
        table = IntakeCursor.__table__
        stmt = insert_for(session.get_bind().dialect.name, table).values(journal=self._uid, moved_id=up_to)
        session.execute(stmt.on_conflict_do_update(index_elements=["journal"], set_={"moved_id": up_to}))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _set_result(future: asyncio.Future, value) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
