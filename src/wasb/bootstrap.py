"""The composition root: wires the real adapters from the process configuration."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.orm import Session

import wasb.live.feed  # noqa: F401  (registers the change listener: pages stay live)
from wasb.config import Config
from wasb.crm.embedded.crm import EmbeddedCRM
from wasb.crm.guard import GuardedCRM
from wasb.crm.port import CRM
from wasb.crm.vtenext.link import VtenextLink
from wasb.inbound.intake import IntakeWriter
from wasb.jobs.queue import EmbeddedQueue, Task
from wasb.jobs.worker import Worker
from wasb.settings.service import load_settings
from wasb.store.engine import Database, open_database
from wasb.store.migrate import upgrade

log = logging.getLogger(__name__)


def all_tasks() -> dict[str, Task]:
    from wasb.tickets.agent_comments import POLL_AGENT_COMMENTS
    from wasb.documents.links import REMOVE_LINK
    from wasb.inbound.process import PROCESS
    from wasb.media.downloads import DOWNLOAD

    return {task.name: task for task in (PROCESS, POLL_AGENT_COMMENTS, DOWNLOAD, REMOVE_LINK)}


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
    # The external CRM's shared session and health (None with the embedded CRM).
    crm_link: VtenextLink | None = None
    extras: dict = field(default_factory=dict)

    def crm(self, session: Session) -> CRM:
        return self.crm_factory(session)

    def start(self, *, worker: bool = True) -> None:
        self.intake = IntakeWriter(self.db, self.queue)
        self.intake.start()
        if worker:
            self.worker = Worker(self, self.db, self.tasks, poll_seconds=self.config.worker_poll_seconds)
            self.queue._wake = self.worker.wake
            if not self.crm_is_local:
                from wasb.tickets.agent_comments import ensure_polling

                ensure_polling(self)
            self.worker.start()

    def stop(self) -> None:
        if self.worker:
            self.worker.stop()
        if self.intake:
            self.intake.stop()
        if self.crm_link:
            self.crm_link.close()
        self.db.dispose()


def build_app(config: Config | None = None, *, migrate: bool = True) -> App:
    config = config or Config()
    if migrate:
        upgrade(config.database_url)
    db = open_database(config.database_url)
    tasks = all_tasks()
    if config.crm == "vtenext":
        link = VtenextLink(config)

        def vtenext_crm(session: Session) -> CRM:
            # Settings are read per use: an admin's change applies to the next job.
            return GuardedCRM(link.adapter(load_settings(session, config)), health=link.health)

        # Calls go over the network: jobs run one per transaction, never batched.
        return App(config=config, db=db, tasks=tasks, queue=EmbeddedQueue(tasks), crm_factory=vtenext_crm,
                   crm_is_local=False, crm_link=link)
    return App(
        config=config,
        db=db,
        tasks=tasks,
        queue=EmbeddedQueue(tasks),
        crm_factory=lambda session: EmbeddedCRM(session, config.default_country),
        crm_is_local=True,
    )
