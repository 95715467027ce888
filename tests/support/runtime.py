"""The product built in-process, without a server: the fast tier of the tests.

`start_runtime` gives a test the product as `wasb serve` wires it (bootstrap, its worker, the
real CRM adapter) on a real database of its own (a copy of the migrated template, see
databases.py). A customer's webhook is handed to the intake writer as the webhook route
hands it, without HTTP: the tests of signatures, answers and routes speak HTTP to the same
app served in the test's process (inprocess.py), or to `wasb serve` where the process itself
is under test (crash, restart, log, throughput).

This is the only module of tests/ that builds the product: every test, fixture and server
that needs it (the in-process server, the wired service, the scheduler's app) gets it here,
so a change in how bootstrap builds it is adapted in one place."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from sqlalchemy import select

from tests.support.polling import PATIENCE
from tests.support.server import ACCESS_TOKEN, APP_SECRET, NO_META, PHONE_NUMBER_ID, VERIFY_TOKEN, WABA_ID
from wasb.bootstrap import App, build_app
from wasb.config import Config
from wasb.inbound.intake import Accepted
from wasb.inbound.tables import PENDING, InboundEvent
from wasb.jobs.procrastinate_worker import ProcrastinateWorker
from wasb.jobs.worker import Worker


def test_config(database_url: str, tmp_path, **overrides: Any) -> Config:
    values = dict(database_url=database_url, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN,
                  access_token=ACCESS_TOKEN, phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID,
                  media_dir=tmp_path / "media", worker_poll_seconds=0.05, graph_url=NO_META)
    return Config(_env_file=None, **{**values, **overrides})


test_config.__test__ = False  # a helper, not a test, whatever its name


def build(config: Config) -> App:
    """The product as bootstrap builds it, not started (no worker, no ticker)."""
    return build_app(config)


def worker_of(app: App, **options: Any) -> Worker | ProcrastinateWorker:
    """A worker of the app's own jobs (the intake journal's move included), for a test to
    drain by hand."""
    return app.new_worker(**options)


def time_passes(app: App) -> None:
    """Make every waiting retry due now, as if its backoff had elapsed (through the queue's
    run_now: either engine)."""
    with app.db.sessions() as s, s.begin():
        app.queue.run_now(s, list(app.tasks))
    if app.worker is not None:
        app.worker.wake()


class RunningProduct:
    """The built product, started (its worker runs the jobs, as in `wasb serve`)."""

    def __init__(self, app: App):
        self.app = app

    @property
    def db(self):
        return self.app.db

    def start(self) -> "RunningProduct":
        self.app.start()
        return self

    def stop(self) -> None:
        self.app.stop()

    def deliver(self, body: dict | bytes) -> Accepted:
        """Meta's webhook body, handed to the intake writer as the webhook route hands a
        signed one (into the intake journal on SQLite, the event and its processing jobs
        on PostgreSQL); the worker takes it from there."""
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        return asyncio.run(self.app.intake.store(raw))

    def time_passes(self) -> None:
        time_passes(self.app)

    def wait_idle(self, timeout: float = PATIENCE) -> None:
        wait_idle(self.app, timeout)


def wait_idle(app: App, timeout: float = PATIENCE) -> None:
    """Every accepted webhook is an event, and every event has been processed or has failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.intake is not None and app.intake.waiting().count:
            time.sleep(0.02)
            continue
        with app.db.read_sessions() as s:
            if s.scalar(select(InboundEvent.id).where(InboundEvent.state == PENDING).limit(1)) is None:
                return
        time.sleep(0.02)
    raise AssertionError("inbound events still pending")


def start_runtime(database_url: str, tmp_path, **overrides: Any) -> RunningProduct:
    return RunningProduct(build(test_config(database_url, tmp_path, **overrides))).start()

