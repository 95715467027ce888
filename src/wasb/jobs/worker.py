"""The embedded engine's dispatcher: claims due jobs and runs them in a thread.

Per-lock order: a job is due only when no earlier job with the same lock key is
still waiting or running, so one customer's events run one at a time, in arrival
order, while different customers' run side by side. On PostgreSQL the claim uses
SKIP LOCKED, so several worker processes can share the table.
"""
from __future__ import annotations

import logging
import os
import threading
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Generic

from sqlalchemy import and_, exists, literal, select, update
from sqlalchemy.orm import aliased

from wasb.jobs.backoff import backoff_seconds, waiting_seconds
from wasb.jobs.liveness import host as _host, pid_of as _pid_of, process_name, running as _running
from wasb.jobs.queue import R, Task, last_line, run_as_group, run_each_in_savepoint
from wasb.jobs.tables import DOING, FAILED, TODO, Job
from wasb.metrics import JOB_FAILURES
from wasb.store.base import utcnow
from wasb.store.engine import Database

log = logging.getLogger(__name__)

STALLED_AFTER = timedelta(minutes=15)
_jobs = Job.__table__


def release_jobs_of(db: Database, pid: int) -> int:
    """A worker process of this host is dead (its supervisor reaped it): the jobs it left
    `doing` go back to the queue now, not after `stalled_after`, so its customers' later
    jobs do not wait behind them. Returns how many."""
    with db.sessions() as s, s.begin():
        result = s.execute(update(Job).where(Job.status == DOING, Job.worker.startswith(f"{process_name(pid)}-",
                                                                                       autoescape=True))
                           .values(status=TODO, worker=None))
        return result.rowcount or 0


class Defer(Exception):
    """Raised by a task that cannot run yet (a rate limit, a channel waiting for a new token):
    run it again in `seconds`, without counting an attempt. Its transaction is rolled back,
    so a task commits what it must keep before deferring."""

    def __init__(self, seconds: float, reason: str = ""):
        super().__init__(reason or f"deferred for {seconds:.2f}s")
        self.seconds = max(0.0, float(seconds))
        self.reason = reason


@dataclass
class Claimed:
    id: int
    task: str
    payload: dict
    attempts: int
    max_attempts: int
    created_at: datetime | None = None


def _own_flag(task: Task) -> bool:
    return task.batchable


class Worker(Generic[R]):
    """Runs the jobs of `tasks`, each given `runtime` first. `may_batch` says which tasks
    may share one transaction (the process's CRM call policy decides for CRM jobs)."""

    def __init__(self, runtime: R, db: Database, tasks: dict[str, Task[R]], *, poll_seconds: float = 0.2,
                 batch_size: int = 64, name: str | None = None, stalled_after: timedelta = STALLED_AFTER,
                 may_batch: Callable[[Task[R]], bool] = _own_flag,
                 before_claim: Callable[[], int] | None = None):
        self.runtime = runtime
        # Work that feeds the queue, done by this loop before each claim (the intake
        # journal's move into the job table); returns how much it did.
        self.before_claim = before_claim
        self.may_batch = may_batch
        self.stalled_after = stalled_after
        self.db = db
        self.tasks = tasks
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.name = name or f"{process_name(os.getpid())}-{uuid.uuid4().hex[:6]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self.recover_stalled(everything=self.db.dialect == "sqlite")
        self._thread = threading.Thread(target=self._loop, name="wasb-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # the loop must survive a database hiccup
                log.exception("worker loop error")
                ran = 0
            if not ran:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    # --- claiming ----------------------------------------------------------
    def recover_stalled(self, everything: bool = False) -> int:
        """Jobs left `doing` by a process that died go back to the queue.

        With SQLite only one process runs a worker, so at start-up every `doing`
        job is an orphan; elsewhere those of a process of this host that is gone, and
        those running for longer than is sane (a process of another host).
        """
        cond = Job.status == DOING
        if not everything:
            cond = and_(cond, Job.started_at < utcnow() - self.stalled_after)
        with self.db.sessions() as s, s.begin():
            recovered = s.execute(update(Job).where(cond).values(status=TODO, worker=None)).rowcount or 0
            here = s.scalars(select(Job.worker).distinct().where(
                Job.status == DOING, Job.worker.startswith(f"{_host()}:", autoescape=True)))
            dead = {pid for pid in map(_pid_of, here) if pid is not None and not _running(pid)}
        return recovered + sum(release_jobs_of(self.db, pid) for pid in dead)

    def claim(self, limit: int) -> list[Claimed]:
        """Up to `limit` due jobs, oldest first, each the first waiting job of its lock, marked
        `doing` in one statement (one round trip, whatever the batch).

        The two indexes it walks (migration 0009_job_claim): `ix_job_status_id` gives the jobs to do in id
        order, so the scan stops at the `limit`-th due one instead of sorting every due job; the
        partial `ix_job_waiting_lock` holds only the waiting and running jobs, so "an earlier job
        of my lock is waiting or running" is one index probe.
        """
        now = utcnow()
        job, earlier = aliased(Job, name="candidate"), aliased(Job, name="earlier")
        # Literal statuses: SQLite uses a partial index only when the query states its condition.
        waiting = earlier.status.in_([literal(TODO, literal_execute=True), literal(DOING, literal_execute=True)])
        blocked = exists().where(earlier.lock_key == job.lock_key, earlier.id < job.id, waiting)
        due = (
            select(job.id)
            .where(job.status == TODO, job.scheduled_at <= now, job.lock_key.is_(None) | ~blocked)
            .order_by(job.id)
            .limit(limit)
        )
        if self.db.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True, of=job)
        due = due.cte("due")
        # UPDATE … FROM the chosen ids: a join on the primary key (PostgreSQL plans `id IN
        # (subquery)` as a hash join over the whole table).
        claim = (
            update(Job).where(Job.id == due.c.id)
            .values(status=DOING, started_at=now, worker=self.name, attempts=Job.attempts + 1)
            .returning(Job.id, Job.task, Job.payload, Job.attempts, Job.max_attempts, Job.created_at)
        )
        with self.db.sessions() as s, s.begin():
            rows = s.execute(claim).all()
        return [Claimed(r.id, r.task, r.payload, r.attempts, r.max_attempts, r.created_at)
                for r in sorted(rows, key=lambda r: r.id)]

    # --- running -----------------------------------------------------------
    def run_once(self) -> int:
        fed = self.before_claim() if self.before_claim else 0
        jobs = self.claim(self.batch_size)
        if not jobs:
            return fed
        batch = [j for j in jobs if self._batchable(j)]
        alone = [j for j in jobs if not self._batchable(j)]
        if batch:
            self._run_batch(batch)
        grouped: dict[str, list[Claimed]] = {}
        for job in alone:
            task = self.tasks.get(job.task)
            if task is not None and task.run_group is not None:
                grouped.setdefault(job.task, []).append(job)
            else:
                self._run_alone(job)
        for name, group in grouped.items():
            self._run_group(self.tasks[name], group)
        return len(jobs)

    def _run_group(self, task: Task[R], jobs: list[Claimed]) -> None:
        outcomes = run_as_group(self.runtime, task, [j.payload for j in jobs])
        done = [j.id for j, outcome in zip(jobs, outcomes) if outcome is None]
        if done:
            with self.db.sessions() as s, s.begin():
                s.execute(_jobs.delete().where(_jobs.c.id.in_(done)))
        for job, outcome in zip(jobs, outcomes):
            if outcome is None:
                continue
            exc, error = outcome
            if isinstance(exc, Defer):
                self._deferred(job, exc)
            else:
                self._failed(job, error, exc)

    def _batchable(self, job: Claimed) -> bool:
        task = self.tasks.get(job.task)
        return bool(task and self.may_batch(task))

    def _run_batch(self, jobs: list[Claimed]) -> None:
        """Run pure-database jobs in one transaction, each inside a savepoint.

        One commit (one fsync) for the batch instead of one per job; a job that
        raises is rolled back to its savepoint alone and handled as a failure.
        """
        with self.db.sessions() as s, s.begin():
            outcomes = run_each_in_savepoint(self.runtime, s, [(j.task, self.tasks.get(j.task), j.payload)
                                                               for j in jobs])
            done = [j.id for j, outcome in zip(jobs, outcomes) if outcome is None]
            if done:  # one statement for the batch, in the transaction that did the work
                s.execute(_jobs.delete().where(_jobs.c.id.in_(done)))
        tried = [(job, outcome) for job, outcome in zip(jobs, outcomes) if outcome is not None]
        for job, (exc, error) in tried:
            if not isinstance(exc, Defer):
                self._failed(job, error, exc)
        for job, (exc, _) in tried:
            if isinstance(exc, Defer):
                self._deferred(job, exc)

    def _run_alone(self, job: Claimed) -> None:
        """One job in its own session. The task may commit part of its work
        (`checkpoint`) before calling out, so a retry resumes instead of redoing it;
        the job row goes with the last commit."""
        task = self.tasks.get(job.task)
        try:
            if task is None:
                raise LookupError(f"no task named {job.task!r} in this process")
            with self.db.sessions() as s:
                try:
                    task.run(self.runtime, s, job.payload)
                    s.execute(_jobs.delete().where(_jobs.c.id == job.id))
                    s.commit()
                except BaseException:
                    s.rollback()
                    raise
        except Defer as later:
            self._deferred(job, later)
        except Exception as exc:
            self._failed(job, traceback.format_exc(limit=5), exc)

    def _deferred(self, job: Claimed, later: Defer) -> None:
        with self.db.sessions() as s, s.begin():
            s.execute(update(Job).where(Job.id == job.id).values(
                status=TODO, worker=None, attempts=Job.attempts - 1, last_error=f"deferred: {later}",
                scheduled_at=utcnow() + timedelta(seconds=later.seconds)))

    def _failed(self, job: Claimed, error: str, exc: Exception | None = None) -> None:
        task = self.tasks.get(job.task)
        if task is not None and task.wait_on and isinstance(exc, task.wait_on):
            self._wait(job, error)
            return
        log.warning("job %s (%s) attempt %s/%s failed: %s", job.id, job.task, job.attempts, job.max_attempts,
                    last_line(error))
        JOB_FAILURES.labels(job.task, str(job.attempts >= job.max_attempts).lower()).inc()
        with self.db.sessions() as s, s.begin():
            if job.attempts >= job.max_attempts:
                s.execute(update(Job).where(Job.id == job.id).values(status=FAILED, last_error=error))
                if task and task.on_give_up:
                    task.on_give_up(self.runtime, s, job.payload, error)
            else:
                delay = backoff_seconds(job.attempts)
                s.execute(update(Job).where(Job.id == job.id).values(
                    status=TODO, last_error=error, worker=None,
                    scheduled_at=utcnow() + timedelta(seconds=delay)))

    def _wait(self, job: Claimed, error: str) -> None:
        """Something outside is not ready: try later, without counting the attempt."""
        now = utcnow()
        waited = (now - job.created_at).total_seconds() if job.created_at else 0.0
        delay = waiting_seconds(waited)
        log.info("job %s (%s) waits %.0f s: %s", job.id, job.task, delay,
                 last_line(error))
        with self.db.sessions() as s, s.begin():
            s.execute(update(Job).where(Job.id == job.id).values(
                status=TODO, last_error=error, worker=None, attempts=Job.attempts - 1,
                scheduled_at=now + timedelta(seconds=delay)))

    def drain(self, timeout: float = 30.0) -> bool:
        """Run until nothing is due (tests and CLI); True when the queue is idle."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.run_once():
                return True
        return False

