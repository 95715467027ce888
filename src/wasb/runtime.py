"""The runtime: what services and jobs may use, built once per process by `bootstrap`.

It holds the adapters chosen from the configuration (database, job queue, CRM, Graph
client) and the CRM call policy, and nothing of the process's moving parts (worker
thread, intake writer, ticker: those are `bootstrap.App`'s). Whatever the CRM, the
WhatsApp side or the queue engine, the same fields are filled, so every combination
is wired by the same code.
"""
from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from wasb.config import Config
from wasb.crm.port import CRM
from wasb.crm.vtenext.link import VtenextLink
from wasb.jobs.queue import JobQueue, Task
from wasb.store.base import utcnow
from wasb.store.engine import Database
from wasb.whatsapp.client import GraphClient


class CrmCallPolicy(abc.ABC):
    """How a job that calls the CRM holds its transaction: chosen once, in bootstrap,
    and used by the jobs (the owners of their transaction). The one other reader is the
    agent's request path: with the embedded CRM an agent's message is mirrored to the
    ticket in the request's transaction, with an external one by a job.

    - `InTransaction` (the embedded CRM, a few tables of the same database): CRM writes
      are ordinary statements of the job's transaction, so such jobs may share one
      transaction with other jobs (a batch), and an item is undone with a savepoint.
    - `CommitThenCall` (an external CRM over HTTP): the job commits its work before
      every CRM call, so no database lock is held while the CRM answers (or times out),
      and each step recorded so far (a CRM id, `crm_pending`) survives a failure: a retry
      resumes after the last recorded step instead of repeating it. Such jobs run one
      per transaction, never batched.
    """

    in_transaction: bool

    def may_batch(self, task: Task) -> bool:
        """Whether the worker may run `task` inside a shared batch transaction."""
        return task.batchable or (task.calls_crm and self.in_transaction)

    @abc.abstractmethod
    def crm_for_job(self, session: Session, crm: CRM) -> CRM:
        """The CRM a job hands to its services (for an external CRM: each call first
        commits what the job has done so far)."""

    @abc.abstractmethod
    def crm_calls(self, db: Database,
                  crm_factory: Callable[[Session], CRM]) -> contextlib.AbstractContextManager[CRM]:
        """A CRM for calls a job makes apart from its own write transaction (a sync asks
        the CRM, then writes the answers in a short transaction of its own)."""


class InTransaction(CrmCallPolicy):
    in_transaction = True

    def crm_for_job(self, session: Session, crm: CRM) -> CRM:
        return crm

    @contextmanager
    def crm_calls(self, db: Database, crm_factory: Callable[[Session], CRM]) -> Iterator[CRM]:
        # The CRM's tables are in this database: its writes need a write transaction.
        with db.sessions() as session, session.begin():
            yield crm_factory(session)


class CommitThenCall(CrmCallPolicy):
    in_transaction = False

    def crm_for_job(self, session: Session, crm: CRM) -> CRM:
        return _CommitsFirst(crm, session)  # type: ignore[return-value]

    @contextmanager
    def crm_calls(self, db: Database, crm_factory: Callable[[Session], CRM]) -> Iterator[CRM]:
        # The session only reads the admin settings the CRM is called with; it is closed
        # before the first call, so no transaction is open while the CRM answers.
        with db.read_sessions() as session:
            crm = crm_factory(session)
        yield crm


class _CommitsFirst:
    """The job's CRM under `CommitThenCall`: the job's session is committed before each
    call, so the call never runs while the job holds a database write lock."""

    def __init__(self, crm: CRM, session: Session):
        self._crm = crm
        self._session = session

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._crm, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._session.in_transaction():
                self._session.commit()
            return attr(*args, **kwargs)

        return call


@dataclass(eq=False)  # identity: caches keyed by the runtime (e.g. the outbound channel) need a hash
class Runtime:
    config: Config
    db: Database
    queue: JobQueue
    tasks: dict[str, Task]
    # A CRM bound to a session: the embedded one works in that session; an external one
    # reads the admin settings from it.
    crm_factory: Callable[[Session], CRM]
    crm_policy: CrmCallPolicy
    graph: GraphClient
    # The time the scheduler and the services read; tests move it by hand.
    clock: Callable[[], datetime] = utcnow
    # The external CRM's shared session and health (None with the embedded CRM).
    crm_link: VtenextLink | None = None
    # The scheduler's jobs (name -> scheduler.registry.JobSpec); None: the product's own.
    # Tests run their own jobs through the real scheduler with it.
    scheduled_jobs: dict[str, Any] | None = field(default=None)
    # The send rate and the per-recipient pacing of a number (phone_number_id -> (bucket,
    # pacer), `wasb.outbound.shared_limits` on PostgreSQL); None: this process's own.
    send_limits: Callable[[str], tuple[Any, Any]] | None = None

    @property
    def tz(self) -> ZoneInfo:
        return self.config.tz

    def crm(self, session: Session) -> CRM:
        return self.crm_factory(session)

    def crm_calls(self) -> contextlib.AbstractContextManager[CRM]:
        """See `CrmCallPolicy.crm_calls`."""
        return self.crm_policy.crm_calls(self.db, self.crm_factory)
