"""An app (not serving) on a fresh database, with a controllable clock and test jobs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.support.inprocess import server_in_process as server  # noqa: F401  (the jobs' HTTP surface, in-process)
from tests.support.runtime import build, test_config, worker_of
from wasb.domain.schedule import Schedule
from wasb.scheduler.registry import JobSpec
from wasb.scheduler.service import get_job
from wasb.scheduler.ticker import enqueue_due, register_jobs


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Probe:
    """A scheduled job that records each run and fails while told to."""

    def __init__(self):
        self.runs: list[datetime] = []
        self.failing = False

    def __call__(self, app, ctx) -> dict:
        self.runs.append(ctx.now())
        if self.failing:
            raise RuntimeError("the CRM did not answer")
        return {"run": len(self.runs)}


class Scheduled:
    def __init__(self, app, clock: Clock, probe: Probe):
        self.app, self.clock, self.probe = app, clock, probe
        self.worker = worker_of(app, poll_seconds=0.01)

    def job(self, name: str = "probe"):
        with self.app.db.read_sessions() as s:
            return get_job(s, name)

    def tick(self) -> list[str]:
        return enqueue_due(self.app, self.clock())

    def work(self) -> None:
        assert self.worker.drain(10)

    def next_slot(self) -> list[str]:
        """Time jumps to the job's next run; the ticker queues it; the worker runs it."""
        self.clock.now = self.job().next_run_at
        queued = self.tick()
        self.work()
        return queued


@pytest.fixture
def scheduled(database_url, tmp_path):
    apps = []

    def make(schedule: Schedule = Schedule.every(60), *, timezone_name: str = "UTC",
             start: datetime = datetime(2025, 3, 28, 12, 0, tzinfo=timezone.utc)) -> Scheduled:
        app = build(test_config(database_url, tmp_path, timezone=timezone_name))
        apps.append(app)
        clock, probe = Clock(start), Probe()
        app.clock = clock
        app.scheduled_jobs = {"probe": JobSpec("probe", probe, schedule, "a test job")}
        register_jobs(app, clock())
        return Scheduled(app, clock, probe)

    yield make
    for app in apps:
        app.db.dispose()

