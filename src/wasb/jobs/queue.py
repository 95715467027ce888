"""The JobQueue interface and its embedded engine.

`enqueue` writes into the caller's session, so a job exists if and only if the
transaction that asked for it commits (no lost or phantom jobs). Everything else the
product wants to know or change about jobs goes through the same interface, so no
module outside `wasb.jobs` reads or writes the job table and a second engine only has
to implement these methods (and pass the contract tests in tests/jobs).
"""
from __future__ import annotations

import traceback
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Generic, Protocol, TypeVar

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from wasb.jobs.liveness import dead_here
from wasb.jobs.tables import DOING, FAILED, TODO, Job
from wasb.store.engine import after_commit
from wasb.store.base import utcnow

__all__ = ["DOING", "FAILED", "TODO", "Backlog", "EmbeddedQueue", "JobQueue", "JobState", "Lag", "Task", "checkpoint",
           "last_line", "queue_of", "run_as_group", "run_each_in_savepoint", "sessions_carry"]


# What every job receives first: the process's runtime (wasb.runtime.Runtime, a floor
# above this one, so the engine names it only as a type parameter).
R = TypeVar("R")


@dataclass(frozen=True)
class Task(Generic[R]):
    name: str
    run: Callable[[R, Session, dict], None]
    max_attempts: int = 8
    # Pure database work can share one transaction with other jobs of a batch;
    # work that calls out (Meta) must commit on its own.
    batchable: bool = False
    # The job calls the CRM: whether it may be batched is the CRM call policy's to say
    # (wasb.runtime.CrmCallPolicy.may_batch), decided once for the process.
    calls_crm: bool = False
    # Optional: run every claimed job of this task at once (runtime, payloads) -> one outcome per
    # job: None (done), or the exception it raised (Defer, or a failure). The task commits its
    # own work, e.g. a group of sends to Meta. A claim holds at most one job per lock, so one
    # customer's jobs still run one at a time, in order.
    run_group: Callable[[R, list[dict]], list] | None = None
    # Called in a fresh transaction after the last attempt failed.
    on_give_up: Callable[[R, Session, dict, str], None] | None = None
    # Exceptions that mean "something outside is not ready" (an external CRM down or
    # refusing our credentials): the job waits and tries again later without using up
    # an attempt, so an outage of any length loses nothing. Other errors count.
    wait_on: tuple[type[BaseException], ...] = ()


def last_line(error: str, empty: str = "") -> str:
    """The last line of a failed try's traceback (the exception and its message): what a log
    line or an agent is shown of it; `empty` when there is nothing."""
    return error.strip().splitlines()[-1] if error.strip() else empty


def checkpoint(session: Session) -> None:
    """Commit what a job has done so far, so a retry finds it. For the job that owns the
    session only (never a service), and only when it runs alone: a batched job shares
    its transaction with others and must not commit."""
    if session.in_transaction():
        session.commit()


def run_each_in_savepoint(runtime, session: Session,
                          work: list[tuple[str, Task | None, dict]]) -> list[tuple[Exception, str] | None]:
    """Run a batch's jobs (task name, task, payload) in the caller's transaction, each in a
    savepoint: one that raises is rolled back alone. One outcome per job, in order: None
    (done), or the exception and its traceback (the engine decides what it means: a Defer,
    a wait, a failure). The engine deletes the done jobs in the same transaction."""
    outcomes: list[tuple[Exception, str] | None] = []
    for name, task, payload in work:
        try:
            if task is None:
                raise LookupError(f"no task named {name!r} in this process")
            with session.begin_nested():
                task.run(runtime, session, payload)
        except Exception as exc:
            outcomes.append((exc, traceback.format_exc(limit=5)))
            continue
        outcomes.append(None)
    return outcomes


def run_as_group(runtime, task: Task, payloads: list[dict]) -> list[tuple[Exception, str] | None]:
    """Run a claim's jobs of a `run_group` task in one call, outside any transaction (the task
    commits its own work). One outcome per job, in order, as run_each_in_savepoint gives them:
    None (done), or the exception and its traceback (the engine decides what it means)."""
    try:
        outcomes = task.run_group(runtime, payloads)
        if len(outcomes) != len(payloads):
            raise RuntimeError(f"{task.name}: {len(outcomes)} outcome(s) for {len(payloads)} job(s)")
    except Exception as exc:  # the whole group failed: each job counts an attempt
        error = traceback.format_exc(limit=5)
        return [(exc, error)] * len(payloads)
    return [None if outcome is None else (outcome, "".join(traceback.format_exception(outcome, limit=5)))
            for outcome in outcomes]


@dataclass(frozen=True)
class JobState:
    """One job as the product sees it. A job that finished is gone: only jobs still
    waiting (`todo`), running (`doing`) or given up (`failed`) have a state."""

    ref: str | None
    task: str
    status: str
    attempts: int
    max_attempts: int
    scheduled_at: datetime
    last_error: str | None

    @property
    def waiting(self) -> bool:
        """Not done yet: queued, backing off, or running now."""
        return self.status in (TODO, DOING)


@dataclass(frozen=True)
class Backlog:
    """How one task's jobs stand: what an admin is shown about work that waits."""

    pending: int  # waiting or running
    retrying: int  # pending after at least one failed (or deferred) try
    failed: int  # given up after the last attempt
    oldest_pending_at: datetime | None
    last_error: str | None  # of the latest pending job that failed a try
    next_try_at: datetime | None  # when that job is tried again


@dataclass(frozen=True)
class Lag:
    """Work due now across every task: how much, and since when the oldest waits."""

    due: int  # waiting jobs whose time has come (not backing off, not scheduled later)
    oldest_due_at: datetime | None  # when the job due the longest became due
    # Locks (customers) whose running job belongs to a worker that is gone: their later jobs
    # wait until that job is put back (procrastinate: a silent heartbeat; embedded: a dead
    # process of this host).
    stuck_locks: int = 0


class JobQueue(Protocol):
    def enqueue(self, session: Session, task: str, payload: dict, *, lock: str | None = None,
                ref: str | None = None, delay_seconds: float = 0, max_attempts: int | None = None) -> None: ...

    def enqueue_many(self, session: Session, jobs: list[dict]) -> None: ...

    def jobs_of(self, session: Session, refs: Collection[str]) -> list[JobState]:
        """The jobs still known of these refs (waiting, running or failed), oldest first."""
        ...

    def backlog(self, session: Session, task: str) -> Backlog: ...

    def lag(self, session: Session) -> Lag:
        """How far behind the workers are (what `/healthz` and the jobs page show)."""
        ...

    def run_now(self, session: Session, tasks: Collection[str]) -> int:
        """Jobs of these tasks waiting for a later time are due now (what they waited for is
        back); returns how many."""
        ...

    def retry(self, session: Session, ref: str) -> int:
        """A ref's failed jobs go back in the queue with fresh attempts; returns how many."""
        ...


class EmbeddedQueue:
    def __init__(self, tasks: dict[str, Task], wake: Callable[[], None] | None = None):
        self.tasks = tasks
        self._wake = wake or (lambda: None)

    def _row(self, task: str, payload: dict, lock: str | None, ref: str | None,
             delay_seconds: float, max_attempts: int | None) -> dict:
        if task not in self.tasks:
            raise KeyError(f"unknown task {task!r}")
        now = utcnow()
        return {
            "task": task, "payload": payload, "lock_key": lock, "ref": ref, "status": TODO,
            "attempts": 0, "max_attempts": max_attempts or self.tasks[task].max_attempts,
            "scheduled_at": now + timedelta(seconds=delay_seconds), "created_at": now,
        }

    def enqueue(self, session: Session, task: str, payload: dict, *, lock: str | None = None,
                ref: str | None = None, delay_seconds: float = 0, max_attempts: int | None = None) -> None:
        session.execute(insert(Job), [self._row(task, payload, lock, ref, delay_seconds, max_attempts)])
        after_commit(session, self._wake)

    def enqueue_many(self, session: Session, jobs: list[dict]) -> None:
        if not jobs:
            return
        rows = [self._row(j["task"], j["payload"], j.get("lock"), j.get("ref"), j.get("delay_seconds", 0),
                          j.get("max_attempts")) for j in jobs]
        session.execute(insert(Job), rows)
        after_commit(session, self._wake)

    def jobs_of(self, session: Session, refs: Collection[str]) -> list[JobState]:
        if not refs:
            return []
        rows = session.execute(select(Job.ref, Job.task, Job.status, Job.attempts, Job.max_attempts,
                                      Job.scheduled_at, Job.last_error)
                               .where(Job.ref.in_(list(refs))).order_by(Job.id))
        return [JobState(*row) for row in rows]

    def backlog(self, session: Session, task: str) -> Backlog:
        pending = (Job.task == task) & Job.status.in_((TODO, DOING))
        count, oldest = session.execute(select(func.count(), func.min(Job.created_at)).where(pending)).one()
        retrying = session.scalar(select(func.count()).where(pending, Job.last_error.is_not(None)))
        failed = session.scalar(select(func.count()).where(Job.task == task, Job.status == FAILED))
        latest = session.execute(select(Job.last_error, Job.scheduled_at).where(pending, Job.last_error.is_not(None))
                                 .order_by(Job.id.desc()).limit(1)).first()
        return Backlog(pending=count, retrying=retrying, failed=failed, oldest_pending_at=oldest,
                       last_error=latest.last_error if latest else None,
                       next_try_at=latest.scheduled_at if latest else None)

    def lag(self, session: Session) -> Lag:
        due, oldest = session.execute(select(func.count(), func.min(Job.scheduled_at))
                                      .where(Job.status == TODO, Job.scheduled_at <= utcnow())).one()
        held = session.execute(select(Job.lock_key, Job.worker).distinct()
                                .where(Job.status == DOING, Job.lock_key.is_not(None)))
        return Lag(due=due, oldest_due_at=oldest, stuck_locks=len({lock for lock, worker in held if dead_here(worker)}))

    def run_now(self, session: Session, tasks: Collection[str]) -> int:
        now = utcnow()
        result = session.execute(update(Job).where(Job.task.in_(list(tasks)), Job.status == TODO,
                                                   Job.scheduled_at > now).values(scheduled_at=now))
        if result.rowcount:
            after_commit(session, self._wake)
        return result.rowcount or 0

    def retry(self, session: Session, ref: str) -> int:
        result = session.execute(update(Job).where(Job.ref == ref, Job.status == FAILED).values(
            status=TODO, attempts=0, scheduled_at=utcnow(), worker=None))
        if result.rowcount:
            after_commit(session, self._wake)
        return result.rowcount or 0


_SESSION_QUEUE = "wasb.job_queue"


def sessions_carry(sessions: sessionmaker, queue: JobQueue) -> None:
    """Every session of this maker carries the process's queue: a service deep in a call
    (an event emitted where a conversation closes) then defers a job in its caller's
    transaction without every caller above passing the queue down."""
    sessions.configure(info={**(sessions.kw.get("info") or {}), _SESSION_QUEUE: queue})


def queue_of(session: Session) -> JobQueue:
    """The queue the session's process wired (`sessions_carry`)."""
    queue = session.info.get(_SESSION_QUEUE)
    if queue is None:
        raise LookupError("this session carries no job queue (made outside wasb.bootstrap.build_app)")
    return queue
