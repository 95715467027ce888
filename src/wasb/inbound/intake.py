"""The webhook's durable intake: keep the raw body, then answer 200; its event and jobs.

Requests hand their body to one writer thread, which commits whatever has accumulated
in one transaction: with synchronous=FULL that is one fsync for many webhooks (group
commit), so durability costs little throughput. On SQLite the body goes to the intake
journal (`wasb.inbound.journal`), which the worker moves here; on PostgreSQL the writer
stores the event and its jobs at once (`IntakeWriter`). Both end in `store_group`.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import orjson
from sqlalchemy.orm import Session

from wasb.whatsapp.webhook import NotAnEnvelope, lock_keys, parse_envelope
from wasb.inbound.tables import FAILED, PENDING, InboundEvent
from wasb.jobs.queue import JobQueue
from wasb.store.base import utcnow
from wasb.store.engine import Database
from wasb.store.upsert import insert_for

log = logging.getLogger(__name__)

PROCESS_TASK = "inbound.process"
MAX_GROUP = 500


@dataclass(frozen=True)
class Accepted:
    """What the webhook is told: the body is durable and will be processed (its event id
    is not known yet where the body waits in the journal)."""


@dataclass(frozen=True)
class Waiting:
    """Webhooks accepted and not yet in the service database."""

    count: int
    oldest_at: datetime | None


@dataclass
class Stored:
    event_id: int | None  # None: the same body was stored before
    duplicate: bool
    jobs: int


@dataclass
class _Pending:
    body: bytes
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


def inspect_body(body: bytes) -> tuple[list[str], str | None]:
    """The lock keys a body needs jobs for, or why it cannot be processed."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return [], f"body is not valid JSON: {exc}"
    try:
        return lock_keys(parse_envelope(document)), None
    except NotAnEnvelope as exc:
        return [], str(exc)
    except Exception as exc:  # a shape the parser did not foresee: this body fails, alone
        log.exception("webhook body could not be read")
        return [], f"body could not be read: {type(exc).__name__}: {exc}"


def event_ref(event_id: int) -> str:
    """What an event's jobs work for: the queue finds and retries them by it."""
    return f"event:{event_id}"


def store_bodies(session, jobs: JobQueue, bodies: list[bytes], received_at: list[datetime] | None = None) -> list[Stored]:
    """Insert each body once (by hash) with one job per customer, in the caller's transaction.

    A few statements for the whole group (not per body): this runs for every webhook.
    """
    dialect = session.get_bind().dialect.name
    table = InboundEvent.__table__
    now = utcnow()
    rows: dict[str, dict] = {}
    keys_of: dict[str, list[str]] = {}
    digests = []
    for i, body in enumerate(bodies):
        digest = hashlib.sha256(body).hexdigest()
        digests.append(digest)
        if digest in rows:
            continue
        keys, problem = inspect_body(body)
        keys_of[digest] = keys
        rows[digest] = {"body": body, "sha256": digest, "received_at": received_at[i] if received_at else now,
                        "state": FAILED if problem else PENDING, "pending_jobs": len(keys), "error": problem}
    stmt = insert_for(dialect, table).on_conflict_do_nothing(index_elements=["sha256"]).returning(
        table.c.id, table.c.sha256)
    inserted = dict((sha, event_id) for event_id, sha in session.execute(stmt, list(rows.values())).all()) if rows else {}
    # In arrival order (not RETURNING's, which no database promises): a customer's jobs
    # run in the order of their job ids.
    jobs.enqueue_many(session, [
        {"task": PROCESS_TASK, "payload": {"event_id": inserted[sha], "lock": key}, "lock": key,
         "ref": event_ref(inserted[sha])}
        for sha in rows if sha in inserted for key in keys_of[sha]])
    results, seen = [], set()
    for digest in digests:
        new = digest in inserted and digest not in seen
        seen.add(digest)
        results.append(Stored(inserted.get(digest) if new else None, not new,
                              len(keys_of.get(digest, [])) if new else 0))
    return results


def store_failed(session, body: bytes, reason: str, received_at: datetime | None = None) -> Stored:
    """Keep a body that could not be stored with its jobs: failed, with the reason, no jobs."""
    table = InboundEvent.__table__
    digest = hashlib.sha256(body).hexdigest()
    stmt = insert_for(session.get_bind().dialect.name, table).on_conflict_do_nothing(
        index_elements=["sha256"]).returning(table.c.id)
    event_id = session.execute(stmt, {"body": body, "sha256": digest, "received_at": received_at or utcnow(),
                                      "state": FAILED, "pending_jobs": 0, "error": reason[:2000]}).scalar()
    return Stored(event_id, event_id is None, 0)


# Called in the transaction that stores bodies, with the id of the last one it stores (the
# journal's cursor moves with them).
RecordMoved = Callable[[Session, int], None]


def store_group(db: Database, jobs: JobQueue, bodies: list[bytes], *, received_at: list[datetime] | None = None,
                ids: list[int] | None = None, record_moved: RecordMoved | None = None) -> list[Stored | Exception]:
    """Store bodies in one transaction. Whatever one body does to the group's transaction,
    the others must not pay for it: then each is stored alone, and a body that cannot be
    stored even alone is kept as a failed event with the reason. A body the database takes
    in no form gets its exception; with `record_moved` (the journal), nothing after it is
    stored, so the journal's cursor never passes a body that is not in the database."""
    try:
        with db.sessions() as session, session.begin():
            results: list[Stored | Exception] = list(store_bodies(session, jobs, bodies, received_at))
            if record_moved and ids:
                record_moved(session, ids[-1])
        return results
    except Exception:
        log.exception("could not store %d webhook bodies together; storing each alone", len(bodies))
    results = []
    for i, body in enumerate(bodies):
        at = received_at[i] if received_at else None
        try:
            results.append(_store_alone(db, jobs, body, at, ids[i] if ids else None, record_moved))
        except Exception as final:
            if record_moved:
                raise
            results.append(final)
    return results


def _store_alone(db: Database, jobs: JobQueue, body: bytes, at: datetime | None, moved_id: int | None,
                 record_moved: RecordMoved | None) -> Stored:
    try:
        with db.sessions() as session, session.begin():
            (result,) = store_bodies(session, jobs, [body], [at] if at else None)
            if record_moved and moved_id is not None:
                record_moved(session, moved_id)
            return result
    except Exception as exc:
        log.exception("could not store a webhook body")
        reason = f"could not be stored for processing: {exc}"
    with db.sessions() as session, session.begin():
        result = store_failed(session, body, reason, at)
        if record_moved and moved_id is not None:
            record_moved(session, moved_id)
        return result


class IntakeWriter:
    """The intake on PostgreSQL: the body and its jobs go straight into the service
    database (no database-wide write lock there, so the worker's transactions never hold
    a webhook up), group-committed by one thread."""

    def __init__(self, db: Database, jobs: JobQueue, wake: Callable[[], None] = lambda: None):
        self.db = db
        self.jobs = jobs
        self.wake = wake
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wasb-intake", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:
            self._queue.put(None)
            self._thread.join(10)

    async def store(self, body: bytes) -> Accepted:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Pending(body, loop, future))
        await future
        return Accepted()

    def waiting(self) -> Waiting:
        """Nothing waits outside the service database: its jobs are the backlog."""
        return Waiting(0, None)

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
            results = store_group(self.db, self.jobs, [p.body for p in group])
            for pending, result in zip(group, results):
                if isinstance(result, Exception):
                    pending.loop.call_soon_threadsafe(_set_exception, pending.future, result)
                else:
                    pending.loop.call_soon_threadsafe(_set_result, pending.future, result)
            self.wake()


def _set_result(future: asyncio.Future, value) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
