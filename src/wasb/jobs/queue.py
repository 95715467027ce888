"""The JobQueue interface and its embedded engine.

`enqueue` writes into the caller's session, so a job exists if and only if the
transaction that asked for it commits (no lost or phantom jobs).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Generic, Protocol, TypeVar

from sqlalchemy import insert
from sqlalchemy.orm import Session

from wasb.jobs.tables import Job
from wasb.store.engine import after_commit
from wasb.store.base import utcnow


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


def checkpoint(session: Session) -> None:
    """Commit what a job has done so far, so a retry finds it. For the job that owns the
    session only (never a service), and only when it runs alone: a batched job shares
    its transaction with others and must not commit."""
    if session.in_transaction():
        session.commit()


class JobQueue(Protocol):
    def enqueue(self, session: Session, task: str, payload: dict, *, lock: str | None = None,
                ref: str | None = None, delay_seconds: float = 0, max_attempts: int | None = None) -> None: ...

    def enqueue_many(self, session: Session, jobs: list[dict]) -> None: ...


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
            "task": task, "payload": payload, "lock_key": lock, "ref": ref, "status": "todo",
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


def enqueue_task(session: Session, task: Task, payload: dict, **options: Any) -> None:
    """Enqueue `task` from deep inside a service that has a session but not the app's
    queue (the row is the same; the running worker finds it on its next poll)."""
    EmbeddedQueue({task.name: task}).enqueue(session, task.name, payload, **options)
