"""The webhook's durable intake: store the raw body and its jobs, then answer 200.

Requests hand their body to one writer thread, which commits whatever has
accumulated in one transaction: with synchronous=FULL that is one fsync for many
webhooks (group commit), so durability costs little throughput.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import threading
from dataclasses import dataclass

import orjson

from wasb.whatsapp.webhook import NotAnEnvelope, lock_keys, parse_envelope
from wasb.inbound.tables import FAILED, PENDING, InboundEvent
from wasb.jobs.queue import JobQueue
from wasb.store.base import utcnow
from wasb.store.engine import Database
from wasb.store.upsert import insert_for

log = logging.getLogger(__name__)

PROCESS_TASK = "inbound.process"
MAX_GROUP = 500


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


def store_bodies(session, jobs: JobQueue, bodies: list[bytes]) -> list[Stored]:
    """Insert each body once (by hash) with one job per customer, in the caller's transaction.

    A few statements for the whole group (not per body): this runs on the webhook's
    hot path.
    """
    dialect = session.get_bind().dialect.name
    table = InboundEvent.__table__
    now = utcnow()
    rows: dict[str, dict] = {}
    keys_of: dict[str, list[str]] = {}
    digests = []
    for body in bodies:
        digest = hashlib.sha256(body).hexdigest()
        digests.append(digest)
        if digest in rows:
            continue
        keys, problem = inspect_body(body)
        keys_of[digest] = keys
        rows[digest] = {"body": body, "sha256": digest, "received_at": now, "state": FAILED if problem else PENDING,
                        "pending_jobs": len(keys), "error": problem}
    stmt = insert_for(dialect, table).on_conflict_do_nothing(index_elements=["sha256"]).returning(
        table.c.id, table.c.sha256)
    inserted = dict((sha, event_id) for event_id, sha in session.execute(stmt, list(rows.values())).all()) if rows else {}
    jobs.enqueue_many(session, [
        {"task": PROCESS_TASK, "payload": {"event_id": event_id, "lock": key}, "lock": key, "ref": event_ref(event_id)}
        for sha, event_id in inserted.items() for key in keys_of[sha]])
    results, seen = [], set()
    for digest in digests:
        new = digest in inserted and digest not in seen
        seen.add(digest)
        results.append(Stored(inserted.get(digest) if new else None, not new,
                              len(keys_of.get(digest, [])) if new else 0))
    return results


def store_failed(session, body: bytes, reason: str) -> Stored:
    """Keep a body that could not be stored with its jobs: failed, with the reason, no jobs."""
    table = InboundEvent.__table__
    digest = hashlib.sha256(body).hexdigest()
    stmt = insert_for(session.get_bind().dialect.name, table).on_conflict_do_nothing(
        index_elements=["sha256"]).returning(table.c.id)
    event_id = session.execute(stmt, {"body": body, "sha256": digest, "received_at": utcnow(), "state": FAILED,
                                      "pending_jobs": 0, "error": reason[:2000]}).scalar()
    return Stored(event_id, event_id is None, 0)


class IntakeWriter:
    def __init__(self, db: Database, jobs: JobQueue):
        self.db = db
        self.jobs = jobs
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wasb-intake", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:
            self._queue.put(None)
            self._thread.join(10)

    async def store(self, body: bytes) -> Stored:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Pending(body, loop, future))
        return await future

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
        try:
            with self.db.sessions() as session, session.begin():
                results = store_bodies(session, self.jobs, [p.body for p in group])
        except Exception:
            # Whatever one body did to the group's transaction, the others must not pay for it.
            log.exception("could not store %d webhook bodies together; storing each alone", len(group))
            for pending in group:
                self._commit_alone(pending)
            return
        for pending, result in zip(group, results):
            pending.loop.call_soon_threadsafe(_set_result, pending.future, result)

    def _commit_alone(self, pending: _Pending) -> None:
        """One body in its own transaction; if even that fails, the body is kept as a
        failed event with the reason. Only when the database takes nothing at all does
        the caller answer an error (and Meta redelivers)."""
        try:
            with self.db.sessions() as session, session.begin():
                (result,) = store_bodies(session, self.jobs, [pending.body])
        except Exception as exc:
            log.exception("could not store a webhook body")
            try:
                with self.db.sessions() as session, session.begin():
                    result = store_failed(session, pending.body, f"could not be stored for processing: {exc}")
            except Exception as final:
                pending.loop.call_soon_threadsafe(_set_exception, pending.future, final)
                return
        pending.loop.call_soon_threadsafe(_set_result, pending.future, result)


def _set_result(future: asyncio.Future, value) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
