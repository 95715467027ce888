"""The queue task that runs one requested run of a scheduled job.

It commits its own work in its own transactions (a sync run pages through thousands
of records and must not hold the write lock for all of it), and never touches the
session the worker hands it. Failures are counted by the scheduler (attempts n / max),
so the task itself never raises for the queue to retry.
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from wasb.jobs.queue import Task
from wasb.runtime import Runtime
from wasb.scheduler.service import RUN_TASK, execute_run

log = logging.getLogger(__name__)


def run_requested(rt: Runtime, session: Session, payload: dict) -> None:
    outcome = execute_run(rt, payload["name"], now=rt.clock, queued=True,
                          scheduled=payload.get("trigger") == "schedule")
    if not outcome.ran:
        log.info("scheduled job %s: run skipped (already running, stopped or switched off)", payload["name"])


SCHEDULED_RUN = Task(name=RUN_TASK, run=run_requested, max_attempts=1)
