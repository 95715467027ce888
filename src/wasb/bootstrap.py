"""The composition root: wires the real adapters from the process configuration."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.orm import Session

import wasb.live.feed  # noqa: F401  (registers the change listener: pages stay live)
from wasb.config import Config
from wasb.domain.clock import follow_offset_file
from wasb.crm.embedded.crm import EmbeddedCRM
from wasb.crm.guard import GuardedCRM
from wasb.crm.port import CRM
from wasb.crm.vtenext.link import VtenextLink
from wasb.campaigns.dispatch import DISPATCH as DISPATCH_CAMPAIGN
from wasb.documents.links import REMOVE_LINK
from wasb.hooks.delivery import DELIVER as DELIVER_WEBHOOK
from wasb.inbound.intake import IntakeWriter
from wasb.contacts.consent import CRM_FIELD as CONSENT_TO_CRM
from wasb.inbound.journal import JournalMover, JournalWriter, journal_path
from wasb.inbound.process import PROCESS
from wasb.jobs.procrastinate_queue import ProcrastinateQueue
from wasb.jobs.procrastinate_worker import ProcrastinateWorker
from wasb.jobs.queue import EmbeddedQueue, JobQueue, Task, sessions_carry
from wasb.jobs.wake import Listener, Waker, wake_path
from wasb.jobs.worker import Worker
from wasb.media.downloads import DOWNLOAD
from wasb.outbound.ratelimit import tier_capacity
from wasb.outbound.read_receipts import MARK_READ
from wasb.outbound.sender import CONFIRM, SEND
from wasb.outbound.shared_limits import SharedPairPacer, SharedTokenBucket
from wasb.outbound.service import MIRROR
from wasb.runtime import CommitThenCall, InTransaction, Runtime
from wasb.scheduler.task import SCHEDULED_RUN
from wasb.scheduler.ticker import Ticker, register_jobs
from wasb.settings.service import load_settings
from wasb.store.engine import Database, open_database
from wasb.store.base import utcnow
from wasb.tickets.agent_comments import POLL_AGENT_COMMENTS, ensure_polling
from wasb.whatsapp.client import GraphClient

log = logging.getLogger(__name__)


def all_tasks() -> dict[str, Task[Runtime]]:
    return {task.name: task for task in (PROCESS, POLL_AGENT_COMMENTS, SEND, CONFIRM, MIRROR, CONSENT_TO_CRM,
                                         DOWNLOAD, REMOVE_LINK, SCHEDULED_RUN, MARK_READ, DELIVER_WEBHOOK,
                                         DISPATCH_CAMPAIGN)}


@dataclass(eq=False)
class App(Runtime):
    """The process: the runtime (what services and jobs may use), plus the moving parts
    that only the process starts and stops (intake writer, worker, ticker).

    Two ways to run the jobs: `start(worker=True)` runs the worker and the ticker as
    threads of this process (the in-process tests, whatever embeds the app); `wasb serve`
    starts the web with `start(worker=False)` and a `wasb worker` process, which calls
    `start_worker()`. Either way `wake_worker()` tells the worker there is work."""

    worker: Worker[Runtime] | ProcrastinateWorker[Runtime] | None = None
    intake: IntakeWriter | JournalWriter | None = None
    ticker: Ticker | None = None
    waker: Waker | None = None
    listener: Listener | None = None

    def start(self, *, worker: bool = True) -> None:
        self.intake = self.new_intake()
        self.intake.start()
        register_jobs(self, self.clock())  # the jobs panel lists every job, whoever runs them
        if worker:
            self.start_worker()

    def start_worker(self, *, listen: bool = False) -> None:
        """The worker, the scheduler's ticker and the agent-comment poll, as threads of this
        process. `listen`: also take the wake-ups other processes send (the worker process)."""
        if self.config.scheduler:
            # Before the worker: runs orphaned by a dead process are failed first,
            # so their re-queued jobs do not find them still "running".
            self.ticker = Ticker(self, tick_seconds=self.config.scheduler_tick_seconds)
            self.ticker.start()
        self.worker = self.new_worker()
        if listen:
            self.listener = Listener(wake_path(self.config.database_url), self.worker.wake)
            self.listener.start()
        if self.crm_link is not None:  # agents answer in the external CRM: their comments are polled
            ensure_polling(self)
        self.worker.start()

    def wake_worker(self) -> None:
        """After a commit that gave the worker something to do: this process's worker
        thread, or the worker process (a datagram; nothing happens if none listens)."""
        if self.worker is not None:
            self.worker.wake()
        elif self.waker is not None:
            self.waker.notify()

    def new_intake(self) -> IntakeWriter | JournalWriter:
        """On SQLite the webhook's bodies go to the intake journal (never behind the worker's
        write lock); on PostgreSQL straight into the service database."""
        journal = journal_path(self.db.url)
        if journal is None:
            return IntakeWriter(self.db, self.queue, wake=self.wake_worker)
        return JournalWriter(journal, self.db, wake=self.wake_worker)

    def new_worker(self, **options) -> Worker[Runtime] | ProcrastinateWorker[Runtime]:
        """The one place a worker of this process's jobs is made (`options`: the Worker's, for
        a test or a command that drains the queue by hand), on the engine of WASB_QUEUE."""
        if self.config.queue == "procrastinate":
            settings = dict(concurrency=self.config.worker_concurrency, poll_seconds=self.config.worker_poll_seconds,
                            heartbeat_seconds=self.config.heartbeat_seconds,
                            stalled_worker_seconds=self.config.stalled_worker_seconds,
                            stalled_check_seconds=self.config.stalled_check_seconds)
            # Options only the embedded worker knows (its batch, its claim) mean nothing here.
            options = {k: v for k, v in options.items() if k in settings or k in ("name", "batch_size")}
            return ProcrastinateWorker(self, self.db, self.tasks, **{**settings, **options})
        journal = journal_path(self.db.url)
        settings = dict(poll_seconds=self.config.worker_poll_seconds,
                        stalled_after=timedelta(seconds=self.config.worker_stalled_seconds),
                        may_batch=self.crm_policy.may_batch,
                        # The worker moves the journal's webhooks into the job table itself.
                        before_claim=JournalMover(journal, self.db, self.queue) if journal else None)
        return Worker(self, self.db, self.tasks, **{**settings, **options})

    def stop(self) -> None:
        if self.listener:
            self.listener.stop()
        if self.ticker:
            self.ticker.stop()
        if self.worker:
            self.worker.stop()
        if self.intake:
            self.intake.stop()
        if self.waker:
            self.waker.close()
        self.graph.close()
        if self.crm_link:
            self.crm_link.close()
        self.db.dispose()


def build_app(config: Config | None = None, *, migrate: bool = True,
              clock: Callable[[], datetime] = utcnow) -> App:
    """The one wiring, for every combination of CRM (embedded, vtenext), database and
    WhatsApp side (Meta or the simulator: WASB_GRAPH_URL): each part is chosen on its own."""
    config = config or Config()
    # `make run`: the window is measured on the simulator's clock (no file: the real one).
    follow_offset_file(config.demo_clock_file or None)
    if migrate:
        # Here: Alembic costs a process 10 MiB, and the worker child (migrate=False) never needs it.
        from wasb.store.migrate import upgrade

        upgrade(config.database_url)
    db = open_database(config.database_url)
    tasks = all_tasks()
    # The external CRM's shared session, or None when the CRM lives in the service database.
    link = VtenextLink(config, db) if config.crm == "vtenext" else None
    # Decided here once: the embedded CRM writes in the job's transaction; an external
    # CRM's calls go over the network, so its jobs commit before each call.
    crm_policy = InTransaction() if link is None else CommitThenCall()
    # On procrastinate the tasks that may share a transaction have a queue of their own, run by batches.
    queue: JobQueue = (ProcrastinateQueue(tasks, config.stalled_worker_seconds,
                                          batchable={name for name, task in tasks.items()
                                                     if crm_policy.may_batch(task)})
                       if config.queue == "procrastinate" else EmbeddedQueue(tasks))
    # Events (outgoing webhooks) defer their deliveries in whatever transaction emits them.
    sessions_carry(db.sessions, queue)
    app = App(
        config=config,
        db=db,
        tasks=tasks,
        queue=queue,
        crm_factory=_crm_factory(config, link),
        crm_policy=crm_policy,
        crm_link=link,
        # The channel's client: WASB_GRAPH_URL (Meta, or the simulator) + WASB_GRAPH_VERSION.
        graph=GraphClient.from_config(config),
        clock=clock,
        waker=Waker(wake_path(config.database_url)),
        # Meta counts the tier per number, whoever sends: several processes send on
        # PostgreSQL, so they share the rate there; with SQLite one worker process sends.
        send_limits=None if db.dialect == "sqlite" else _shared_send_limits(db),
    )
    if isinstance(queue, EmbeddedQueue):
        # Every enqueue, whichever process commits it, wakes whoever runs the jobs
        # (procrastinate's workers hear of new jobs from PostgreSQL's NOTIFY).
        queue._wake = app.wake_worker
    return app


def _shared_send_limits(db: Database) -> Callable[[str], tuple[SharedTokenBucket, SharedPairPacer]]:
    return lambda number: (SharedTokenBucket(db, number, tier_capacity(80)), SharedPairPacer(db, number))


def _crm_factory(config: Config, link: VtenextLink | None) -> Callable[[Session], CRM]:
    if link is None:
        return lambda session: EmbeddedCRM(session, config.default_country)

    def vtenext_crm(session: Session) -> CRM:
        # Settings are read per use: an admin's change applies to the next job.
        # A call made with the session's transaction closed (a job between its commits)
        # may wait for its outcome to be stored: the web process reads it there.
        return GuardedCRM(link.adapter(load_settings(session, config)), health=link.health,
                          settled=lambda: not session.in_transaction())

    return vtenext_crm
