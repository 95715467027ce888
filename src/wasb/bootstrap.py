"""The composition root: wires the real adapters from the process configuration."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.orm import Session

import wasb.live.feed  # noqa: F401  (registers the change listener: pages stay live)
from wasb.config import Config
from wasb.crm.embedded.crm import EmbeddedCRM
from wasb.crm.port import CRM
from wasb.inbound.intake import IntakeWriter
from wasb.jobs.queue import EmbeddedQueue, Task
from wasb.jobs.worker import Worker
from wasb.store.engine import Database, open_database
from wasb.store.migrate import upgrade

log = logging.getLogger(__name__)


def all_tasks() -> dict[str, Task]:
    from wasb.inbound.process import PROCESS

    return {task.name: task for task in (PROCESS,)}


@dataclass
class App:
    config: Config
    db: Database
    tasks: dict[str, Task]
    queue: EmbeddedQueue
    crm_factory: Callable[[Session], CRM]
    crm_is_local: bool
    worker: Worker | None = None
    intake: IntakeWriter | None = None
    extras: dict = field(default_factory=dict)

    def crm(self, session: Session) -> CRM:
        return self.crm_factory(session)

    def start(self, *, worker: bool = True) -> None:
        self.intake = IntakeWriter(self.db, self.queue)
        self.intake.start()
        if worker:
            self.worker = Worker(self, self.db, self.tasks, poll_seconds=self.config.worker_poll_seconds)
            self.queue._wake = self.worker.wake
            self.worker.start()

    def stop(self) -> None:
        if self.worker:
            self.worker.stop()
        if self.intake:
            self.intake.stop()
        self.db.dispose()


def build_app(config: Config | None = None, *, migrate: bool = True) -> App:
    config = config or Config()
    if migrate:
        upgrade(config.database_url)
    db = open_database(config.database_url)
    tasks = all_tasks()
    if config.crm != "embedded":
        raise NotImplementedError(f"CRM {config.crm!r} is not wired yet")
    return App(
        config=config,
        db=db,
        tasks=tasks,
        queue=EmbeddedQueue(tasks),
        crm_factory=lambda session: EmbeddedCRM(session, config.default_country),
        crm_is_local=True,
    )
