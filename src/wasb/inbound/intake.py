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
from sqlalchemy import select

from wasb.inbound.envelope import NotAnEnvelope, lock_keys, parse_envelope
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


def store_bodies(session, jobs: JobQueue, bodies: list[bytes]) -> list[Stored]:
    """Insert each body once (by hash) with one job per customer, in the caller's transaction."""
    dialect = session.get_bind().dialect.name
    table = InboundEvent.__table__
    results: list[Stored] = []
    for body in bodies:
        digest = hashlib.sha256(body).hexdigest()
        keys, problem = inspect_body(body)
        now = utcnow()
        stmt = insert_for(dialect, table).values(
            body=body, sha256=digest, received_at=now, state=FAILED if problem else PENDING,
            pending_jobs=len(keys), error=problem,
        ).on_conflict_do_nothing(index_elements=["sha256"]).returning(table.c.id)
        event_id = session.execute(stmt).scalar()
        if event_id is None:
            results.append(Stored(None, True, 0))
            continue
        jobs.enqueue_many(session, [
            {"task": PROCESS_TASK, "payload": {"event_id": event_id, "lock": key}, "lock": key,
             "ref": f"event:{event_id}"} for key in keys])
        results.append(Stored(event_id, False, len(keys)))
    return results


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
        except Exception as exc:  # the caller answers 500 and Meta redelivers
            log.exception("could not store %d webhook bodies", len(group))
            for pending in group:
                pending.loop.call_soon_threadsafe(_set_exception, pending.future, exc)
            return
        # Two identical bodies in one group: the second finds the first's row.
        for pending, result in zip(group, results):
            pending.loop.call_soon_threadsafe(_set_result, pending.future, result)


def _set_result(future: asyncio.Future, value) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
