"""The job queue's own rows, for a test that must look under the JobQueue interface (a job's
payload, how many jobs of a task exist, jobs an operator deleted), on whichever engine the
product runs: the embedded `job` table or procrastinate's `procrastinate_jobs`.

`engine` is Config.queue ("embedded" or "procrastinate"): `engine_of` gives it for an app or
a database URL (the default of that URL, or WASB_QUEUE)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, delete, func, select, update
from sqlalchemy.orm import Session

from wasb.config import Config
from wasb.jobs import procrastinate_queue as pq
from wasb.jobs.tables import TODO, Job
from wasb.store.base import utcnow


@dataclass(frozen=True)
class QueuedJob:
    id: int
    task: str
    ref: str | None
    status: str
    attempts: int
    lock: str | None
    payload: dict
    last_error: str | None
    scheduled_at: datetime | None


def engine_of(app_or_url) -> str:
    if isinstance(app_or_url, str):
        return Config(_env_file=None, database_url=app_or_url).queue
    return app_or_url.config.queue


def queued_jobs(session: Session, engine: str, *, task: str | None = None, ref: str | None = None) -> list[QueuedJob]:
    """Every job still known (waiting, running or failed), oldest first."""
    if engine == "embedded":
        query = select(Job.id, Job.task, Job.ref, Job.status, Job.attempts, Job.lock_key, Job.payload, Job.last_error,
                       Job.scheduled_at).order_by(Job.id)
        if task is not None:
            query = query.where(Job.task == task)
        if ref is not None:
            query = query.where(Job.ref == ref)
        return [QueuedJob(*row) for row in session.execute(query)]
    j = pq.jobs.c
    query = (select(j.id, j.task_name, pq.job_ref, cast(j.status, String), pq.shown_attempts, j.lock,
                    j.args["payload"], pq.notes.c.last_error, j.scheduled_at)
             .select_from(pq.with_notes).where(j.status.in_(("todo", "doing", "failed"))).order_by(j.id))
    if task is not None:
        query = query.where(j.task_name == task)
    if ref is not None:
        query = query.where(pq.job_ref == ref)
    return [QueuedJob(*row) for row in session.execute(query)]


def count_jobs(session: Session, engine: str, task: str | None = None) -> int:
    return len(queued_jobs(session, engine, task=task))


def make_due(session: Session, engine: str) -> int:
    """Every job waiting for a later time (a backoff, a delay) is due now."""
    if engine == "embedded":
        return session.execute(update(Job).where(Job.status == TODO).values(scheduled_at=utcnow())).rowcount
    return session.execute(update(pq.jobs).where(pq.jobs.c.status == "todo", pq.jobs.c.scheduled_at > func.now())
                           .values(scheduled_at=utcnow())).rowcount


def drop_jobs(session: Session, engine: str, task: str | None = None) -> None:
    """The jobs are gone (an operator's cleanup, a restore from a backup...)."""
    if engine == "embedded":
        session.execute(delete(Job).where(Job.task == task) if task else delete(Job))
        return
    session.execute(delete(pq.jobs).where(pq.jobs.c.task_name == task) if task else delete(pq.jobs))
