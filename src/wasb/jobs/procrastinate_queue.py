"""The JobQueue on procrastinate (PostgreSQL): its `procrastinate_jobs` table, read and
written through the caller's SQLAlchemy session.

A job is a row of `procrastinate_jobs` inserted in the caller's transaction (the insert
trigger NOTIFYs the workers at commit: no wake-up of ours), with `lock` = our lock key, so
procrastinate's fetch keeps one customer's jobs in order, and `args` =
{"payload", "ref", "max_attempts", "enqueued_at"}: what the product asks about a job
travels with it, in the one row procrastinate already writes.

procrastinate counts every try in `attempts` (a retry adds one) and keeps no error text.
What it lacks lives in `wasb_job_note`, one row per job that has had a try that went wrong
(migration 0015_procrastinate, deleted with the job): `waits`, the tries that did not count
(a Defer, a CRM outage), and `last_error`. The attempts the product shows and compares with
max_attempts are procrastinate's minus the waits, plus the try running now: the embedded
engine's numbers.

A finished job is deleted (the worker runs with delete_jobs="successful"): as on the
embedded engine, only jobs waiting, running or given up have a state.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

import orjson
from sqlalchemy import (BigInteger, Column, Integer, MetaData, String, Table, Text, and_, case, cast, func, insert,
                        or_, select, update)
from sqlalchemy.dialects.postgresql import ENUM, JSONB, TIMESTAMP
from sqlalchemy.orm import Session

from wasb.jobs.queue import DOING, FAILED, TODO, Backlog, JobState, Lag, Task
from wasb.store.base import UTCDateTime, utcnow

# The jobs procrastinate's own worker runs, one per transaction; the order that matters is per
# lock, which procrastinate keeps across queues.
QUEUE_NAME = "wasb"
# The jobs of the tasks that may share a transaction: run by batches (procrastinate_batch.py).
BATCH_QUEUE = "wasb.batch"
# The jobs of the tasks with a `run_group` (the sends): run by groups through one call
# (procrastinate_group.py).
GROUP_QUEUE = "wasb.group"
# The channel procrastinate's insert trigger notifies (a job made due by an UPDATE notifies it too).
ANY_QUEUE_CHANNEL = "procrastinate_any_queue_v1"

# procrastinate's tables as far as the product reads them: a MetaData of their own, never
# created by ours (procrastinate's schema is applied by migration 0015_procrastinate).
_meta = MetaData()
_status = ENUM("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted",
               name="procrastinate_job_status", create_type=False)
jobs = Table(
    "procrastinate_jobs", _meta,
    Column("id", BigInteger, primary_key=True),
    Column("queue_name", String),
    Column("task_name", String),
    Column("lock", Text),
    Column("args", JSONB),
    Column("status", _status),
    Column("scheduled_at", UTCDateTime),
    Column("attempts", Integer),
    Column("worker_id", BigInteger),
)
workers = Table(
    "procrastinate_workers", _meta,
    Column("id", BigInteger, primary_key=True),
    Column("last_heartbeat", UTCDateTime),
)
notes = Table(
    "wasb_job_note", _meta,
    Column("job_id", BigInteger, primary_key=True),
    Column("waits", Integer),
    Column("last_error", Text),
)

job_ref = jobs.c.args["ref"].astext
_enqueued_at = cast(jobs.c.args["enqueued_at"].astext, TIMESTAMP(timezone=True))
_max_attempts = cast(jobs.c.args["max_attempts"].astext, Integer)
_waits = func.coalesce(notes.c.waits, 0)
# What the product calls attempts: the tries that counted, the one running now included.
shown_attempts = jobs.c.attempts - _waits + case((jobs.c.status == DOING, 1), else_=0)
with_notes = jobs.outerjoin(notes, notes.c.job_id == jobs.c.id)
_pending = jobs.c.status.in_((TODO, DOING))


def job_args(payload: dict, ref: str | None, max_attempts: int, enqueued_at: datetime) -> dict:
    return {"payload": payload, "ref": ref, "max_attempts": max_attempts, "enqueued_at": enqueued_at.isoformat()}


class ProcrastinateQueue:
    def __init__(self, tasks: dict[str, Task], stalled_worker_seconds: float = 10.0,
                 batchable: Collection[str] = ()):
        self.tasks = tasks
        # The tasks whose jobs go to the batch queue (the CRM call policy's may_batch, decided
        # once in bootstrap): the queue is chosen when the job is written.
        self.batchable = frozenset(batchable)
        # A worker silent for longer is dead: the locks its jobs hold are stuck until the
        # next stalled-job check of a living worker puts them back.
        self.stalled_worker_seconds = stalled_worker_seconds

    def _row(self, task: str, payload: dict, lock: str | None, ref: str | None,
             delay_seconds: float, max_attempts: int | None) -> dict:
        if task not in self.tasks:
            raise KeyError(f"unknown task {task!r}")
        now = utcnow()
        args = job_args(payload, ref, max_attempts or self.tasks[task].max_attempts, now)
        queue = (BATCH_QUEUE if task in self.batchable
                 else GROUP_QUEUE if self.tasks[task].run_group is not None else QUEUE_NAME)
        return {"queue_name": queue, "task_name": task, "lock": lock, "args": args,
                "scheduled_at": now + timedelta(seconds=delay_seconds)}

    def enqueue(self, session: Session, task: str, payload: dict, *, lock: str | None = None,
                ref: str | None = None, delay_seconds: float = 0, max_attempts: int | None = None) -> None:
        session.execute(insert(jobs), [self._row(task, payload, lock, ref, delay_seconds, max_attempts)])

    def enqueue_many(self, session: Session, items: list[dict]) -> None:
        if not items:
            return
        rows = [self._row(j["task"], j["payload"], j.get("lock"), j.get("ref"), j.get("delay_seconds", 0),
                          j.get("max_attempts")) for j in items]
        session.execute(insert(jobs), rows)

    def jobs_of(self, session: Session, refs: Collection[str]) -> list[JobState]:
        if not refs:
            return []
        rows = session.execute(
            select(job_ref, jobs.c.task_name, cast(jobs.c.status, String), shown_attempts, _max_attempts,
                   func.coalesce(jobs.c.scheduled_at, _enqueued_at), notes.c.last_error)
            .select_from(with_notes)
            .where(job_ref.in_(list(refs)), jobs.c.status.in_((TODO, DOING, FAILED)))
            .order_by(jobs.c.id))
        return [JobState(*row) for row in rows]

    def backlog(self, session: Session, task: str) -> Backlog:
        pending = and_(jobs.c.task_name == task, _pending)
        count, oldest = session.execute(select(func.count(), func.min(_enqueued_at)).where(pending)).one()
        retrying = session.scalar(select(func.count()).select_from(with_notes)
                                  .where(pending, notes.c.last_error.is_not(None)))
        failed = session.scalar(select(func.count()).where(jobs.c.task_name == task, jobs.c.status == FAILED))
        latest = session.execute(select(notes.c.last_error, jobs.c.scheduled_at).select_from(with_notes)
                                 .where(pending, notes.c.last_error.is_not(None))
                                 .order_by(jobs.c.id.desc()).limit(1)).first()
        return Backlog(pending=count, retrying=retrying, failed=failed, oldest_pending_at=oldest,
                       last_error=latest.last_error if latest else None,
                       next_try_at=latest.scheduled_at if latest else None)

    def lag(self, session: Session) -> Lag:
        due_at = func.coalesce(jobs.c.scheduled_at, _enqueued_at)
        due, oldest = session.execute(select(func.count(), func.min(due_at))
                                      .where(jobs.c.status == TODO, due_at <= utcnow())).one()
        return Lag(due=due, oldest_due_at=oldest, stuck_locks=self.stuck_locks(session))

    def stuck_locks(self, session: Session) -> int:
        """Locks held by a running job whose worker is silent (or gone): the customer's
        later jobs wait until a living worker puts that job back."""
        silent = or_(workers.c.id.is_(None),
                     workers.c.last_heartbeat < func.now() - timedelta(seconds=self.stalled_worker_seconds))
        return session.scalar(
            select(func.count(jobs.c.lock.distinct()))
            .select_from(jobs.outerjoin(workers, workers.c.id == jobs.c.worker_id))
            .where(jobs.c.status == DOING, jobs.c.lock.is_not(None), silent)) or 0

    def run_now(self, session: Session, tasks: Collection[str]) -> int:
        now = utcnow()
        result = session.execute(update(jobs).where(jobs.c.task_name.in_(list(tasks)), jobs.c.status == TODO,
                                                    jobs.c.scheduled_at > now).values(scheduled_at=now))
        if result.rowcount:
            _notify(session)
        return result.rowcount or 0

    def retry(self, session: Session, ref: str) -> int:
        ids = session.scalars(update(jobs).where(job_ref == ref, jobs.c.status == FAILED)
                              .values(status=TODO, attempts=0, scheduled_at=utcnow(), worker_id=None)
                              .returning(jobs.c.id)).all()
        if ids:
            # Fresh attempts: the waits counted against the old ones go too (the last error stays shown).
            session.execute(update(notes).where(notes.c.job_id.in_(ids)).values(waits=0))
            _notify(session)
        return len(ids)


def _notify(session: Session) -> None:
    """Wake the listening workers at commit (NOTIFY is transactional): jobs became due by
    an UPDATE, which procrastinate's insert trigger does not see."""
    session.execute(select(func.pg_notify(ANY_QUEUE_CHANNEL, orjson.dumps({"type": "job_inserted"}).decode())))
