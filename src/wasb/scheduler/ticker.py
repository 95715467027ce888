"""The ticker: turns due schedule slots into ordinary queue jobs.

Each due slot is taken with a conditional UPDATE that moves `next_run_at` on from
the value just read, in the same transaction as the enqueue: that is the dedupe on
(job name, scheduled time), so two tickers would still enqueue each slot once
(PostgreSQL re-reads the row after a concurrent writer commits, and the WHERE no longer
matches). On top of it, one ticker at a time ticks in the cluster: each worker process
runs one, and the one holding the advisory lock `scheduler-ticker` ticks (a process that
dies loses it with its connection, and another takes over at its next tick). So the
recovery of interrupted runs is done by one process too, from the heartbeats.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Callable

from sqlalchemy import select, update

from wasb.domain.schedule import next_run
from wasb.runtime import Runtime
from wasb.scheduler.registry import job_specs
from wasb.scheduler.service import ensure_jobs, recover_interrupted, request_run, schedule_of
from wasb.scheduler.tables import RUNNABLE, ScheduledJob
from wasb.store.cluster import ClusterLock

log = logging.getLogger(__name__)


def _due(now: datetime):
    return (ScheduledJob.active.is_(True), ScheduledJob.status.in_(RUNNABLE),
            ScheduledJob.requested_at.is_(None), ScheduledJob.next_run_at <= now)


def enqueue_due(rt: Runtime, now: datetime) -> list[str]:
    """Queue one run of every job whose slot has come; returns their names."""
    specs = job_specs(rt)
    with rt.db.read_sessions() as s:
        # Look first without the write lock: on SQLite a write transaction every
        # second would queue behind (and delay) the webhook intake for nothing.
        if s.scalar(select(ScheduledJob.name).where(*_due(now)).limit(1)) is None:
            return []
    queued = []
    with rt.db.sessions() as s, s.begin():
        for row in s.scalars(select(ScheduledJob).where(*_due(now))).all():
            if row.name not in specs:
                continue
            slot = row.next_run_at
            following = next_run(schedule_of(row), now, rt.config.tz, previous=slot)
            taken = s.execute(update(ScheduledJob).where(ScheduledJob.name == row.name,
                                                         ScheduledJob.next_run_at == slot, *_due(now))
                              .values(next_run_at=following)
                              .execution_options(synchronize_session=False)).rowcount
            if taken == 1:
                request_run(s, rt.queue, row.name, now, trigger="schedule", scheduled_for=slot)
                queued.append(row.name)
    return queued


def register_jobs(rt: Runtime, now: datetime) -> None:
    """Every known job has a record (with its default schedule the first time)."""
    with rt.db.sessions() as s, s.begin():
        ensure_jobs(s, job_specs(rt), rt.config.tz, now)


def prepare(rt: Runtime, now: datetime) -> list[str]:
    """At the ticker's start: runs orphaned by a dead process count as failed."""
    register_jobs(rt, now)
    with rt.db.sessions() as s, s.begin():
        return recover_interrupted(s, now, everything=rt.db.dialect == "sqlite")


class Ticker:
    """A thread in the worker process that calls `enqueue_due` every `tick_seconds`."""

    def __init__(self, rt: Runtime, *, tick_seconds: float = 1.0, now: Callable[[], datetime] | None = None):
        self.rt = rt
        self.tick_seconds = tick_seconds
        self.now = now or rt.clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._turn = ClusterLock(rt.db, "scheduler-ticker")

    def start(self) -> None:
        recovered = prepare(self.rt, self.now())
        if recovered:
            log.warning("scheduled runs interrupted by a stop, counted as failed: %s", ", ".join(recovered))
        self._thread = threading.Thread(target=self._loop, name="wasb-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
        self._turn.release()

    def tick(self) -> list[str]:
        if not self._turn.held():
            return []  # another process's ticker is the cluster's
        now = self.now()
        if self.rt.db.dialect != "sqlite":
            with self.rt.db.sessions() as s, s.begin():
                recover_interrupted(s, now, everything=False)
        return enqueue_due(self.rt, now)

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            try:
                self.tick()
            except Exception:  # the ticker must outlive a database hiccup
                log.exception("scheduler tick failed")
