"""The worker of the procrastinate engine: procrastinate's own worker, one procrastinate
task per product Task, with the product's meaning of a try kept.

Each job runs `task.run(runtime, session, payload)` in a session of its own and commits,
like the embedded engine's jobs that run alone: each job of the "wasb" queue is its own
transaction (procrastinate hands a worker one job per fetch; concurrency comes from
`--concurrency` jobs at once). Beside it, each in a loop of its own with the same meaning
of a try (`_settle`): the jobs of the batch queue (tasks that may share a transaction) by
batches (procrastinate_batch.py), and those of the group queue (tasks with a `run_group`:
the sends) by groups through one `run_group` call (procrastinate_group.py).

What a try's outcome means, decided in the wrapper and handed to procrastinate as "retry
at" or "failed":
- `Defer(seconds)`: again in `seconds`, no attempt spent;
- an exception of `task.wait_on` (the CRM down): again after `waiting_seconds`, no attempt spent;
- any other exception: again after `backoff_seconds(attempts)` until `max_attempts`, then
  `on_give_up` in a fresh transaction and the job ends `failed`.
procrastinate's retry adds one to `attempts` whatever the reason, so the tries that did not
count are added to `wasb_job_note.waits` with the error text (procrastinate keeps none).

A dead worker's jobs: every worker beats every `heartbeat_seconds`, and checks every
`stalled_check_seconds` for running jobs whose worker has been silent for
`stalled_worker_seconds` (killed, frozen, its machine gone); those go back to the queue,
their try counted as spent, as on the embedded engine. Two workers finding the same one race
on procrastinate's retry, which moves only a `doing` job: the loser's call fails and is ignored.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from datetime import datetime, timedelta
from typing import Generic

from procrastinate import App as ProcrastinateApp, PsycopgConnector, RetryDecision
from procrastinate.exceptions import ProcrastinateException
from procrastinate.job_context import JobContext
from procrastinate.retry import BaseRetryStrategy
from sqlalchemy.dialects.postgresql import insert as pg_insert

from wasb.jobs.backoff import backoff_seconds, waiting_seconds
from wasb.jobs.procrastinate_batch import BatchLoop
from wasb.jobs.procrastinate_group import GroupLoop
from wasb.jobs.procrastinate_loop import JobLoop, Turns
from wasb.jobs.procrastinate_queue import QUEUE_NAME, notes
from wasb.jobs.queue import R, Task, last_line
from wasb.jobs.worker import Defer
from wasb.metrics import JOB_FAILURES
from wasb.store.base import utcnow
from wasb.store.engine import Database

log = logging.getLogger(__name__)


class _Again(Exception):
    """The try is over, the job runs again in `seconds`."""

    def __init__(self, seconds: float):
        super().__init__(f"again in {seconds:.2f}s")
        self.seconds = seconds


class _GiveUp(Exception):
    """The last attempt failed: the job ends failed (on_give_up has run)."""


class _Decide(BaseRetryStrategy):
    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        if isinstance(exception, _Again):
            return RetryDecision(retry_at=utcnow() + timedelta(seconds=exception.seconds))
        return None  # _GiveUp, or anything the wrapper did not expect: failed


def conninfo(database_url: str) -> str:
    """The libpq address of the service database (SQLAlchemy's URL names the driver)."""
    return "postgresql://" + database_url.split("://", 1)[1]


class ProcrastinateWorker(Generic[R]):
    """The surface the product and the tests use of a worker (start, stop, wake, drain),
    over procrastinate's worker, which runs in a thread of its own with its event loop."""

    def __init__(self, runtime: R, db: Database, tasks: dict[str, Task[R]], *, concurrency: int = 4,
                 poll_seconds: float = 1.0, heartbeat_seconds: float = 2.0, stalled_worker_seconds: float = 10.0,
                 stalled_check_seconds: float = 5.0, batch_size: int = 64, name: str = "wasb"):
        self.runtime = runtime
        self.db = db
        self.tasks = tasks
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.stalled_worker_seconds = stalled_worker_seconds
        self.stalled_check_seconds = stalled_check_seconds
        self.name = name
        self.batch_size = batch_size
        self._loops: list[JobLoop] = []  # the batch and group loops, while started
        self.ran = 0  # tries started by this object (drain: "nothing was due")
        self._count = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task | None = None
        self._stopping = threading.Event()

    # --- procrastinate's app -------------------------------------------------
    def _new_app(self, pool_size: int) -> ProcrastinateApp:
        app = ProcrastinateApp(connector=PsycopgConnector(conninfo=conninfo(self.db.url), min_size=1,
                                                          max_size=pool_size))
        for task in self.tasks.values():
            app.task(name=task.name, queue=QUEUE_NAME, pass_context=True, retry=_Decide())(self._wrap(task))
        return app

    def _options(self, *, wait: bool) -> dict:
        return dict(queues=[QUEUE_NAME], name=self.name, concurrency=self.concurrency, wait=wait,
                    listen_notify=wait, delete_jobs="successful", install_signal_handlers=False,
                    fetch_job_polling_interval=self.poll_seconds, abort_job_polling_interval=max(5.0, self.poll_seconds),
                    update_heartbeat_interval=self.heartbeat_seconds,
                    stalled_worker_timeout=self.stalled_worker_seconds)

    # --- one try -------------------------------------------------------------
    def _wrap(self, task: Task[R]):
        def run(context: JobContext, payload: dict, ref: str | None = None, max_attempts: int | None = None,
                enqueued_at: str | None = None) -> None:
            job = context.job
            with self._count:
                self.ran += 1
            try:
                with self.db.sessions() as s:
                    try:
                        task.run(self.runtime, s, payload)
                        s.commit()
                    except BaseException:
                        s.rollback()
                        raise
            except Exception as exc:
                error = traceback.format_exc(limit=5)
                args = {"payload": payload, "max_attempts": max_attempts, "enqueued_at": enqueued_at}
                again = self._settle(task, job.id, job.attempts, args, exc, error)
                if again is None:
                    raise _GiveUp(last_line(error)) from None
                raise _Again(again) from None

        return run

    def _settle(self, task: Task[R], job_id: int, attempts: int, args: dict, exc: Exception,
                error: str) -> float | None:
        """What a try that raised means (single jobs and batches alike): seconds until the
        next try, or None when the job has failed for good (its on_give_up has run).
        `attempts` is procrastinate's count before this try; `args` the job's."""
        if isinstance(exc, Defer):
            self._note(job_id, f"deferred: {exc}", wait=True)
            return exc.seconds
        if task.wait_on and isinstance(exc, task.wait_on):
            enqueued_at = args.get("enqueued_at")
            since = datetime.fromisoformat(enqueued_at) if enqueued_at else utcnow()
            delay = waiting_seconds((utcnow() - since).total_seconds())
            log.info("job %s (%s) waits %.0f s: %s", job_id, task.name, delay, last_line(error))
            self._note(job_id, error, wait=True)
            return delay
        waits = self._note(job_id, error, wait=False)
        spent = attempts - waits + 1
        limit = args.get("max_attempts") or task.max_attempts
        log.warning("job %s (%s) attempt %s/%s failed: %s", job_id, task.name, spent, limit, last_line(error))
        JOB_FAILURES.labels(task.name, str(spent >= limit).lower()).inc()
        if spent < limit:
            return backoff_seconds(spent)
        if task.on_give_up:
            with self.db.sessions() as s, s.begin():
                task.on_give_up(self.runtime, s, args["payload"], error)
        return None

    def _note(self, job_id: int, error: str, *, wait: bool) -> int:
        """The try's error text, and whether it counted; returns the waits so far."""
        stmt = pg_insert(notes).values(job_id=job_id, waits=int(wait), last_error=error)
        stmt = stmt.on_conflict_do_update(index_elements=[notes.c.job_id], set_={
            "waits": notes.c.waits + stmt.excluded.waits, "last_error": stmt.excluded.last_error,
        }).returning(notes.c.waits)
        with self.db.sessions() as s, s.begin():
            return s.scalar(stmt)

    # --- dead workers' jobs --------------------------------------------------
    async def _recover_stalled(self, app: ProcrastinateApp) -> int:
        manager = app.job_manager
        # Every queue: procrastinate's worker's jobs and the batch and group loops'.
        stalled = await manager.get_stalled_jobs(queue=None, seconds_since_heartbeat=self.stalled_worker_seconds)
        back = 0
        for job in stalled:
            try:
                await manager.retry_job(job, retry_at=utcnow())
                back += 1
            except ProcrastinateException:  # another worker put it back first, or it finished meanwhile
                continue
        if back:
            log.warning("%d job(s) of a silent worker back in the queue", back)
        return back

    async def _watch_stalled(self, app: ProcrastinateApp) -> None:
        while True:
            try:
                await self._recover_stalled(app)
            except Exception:  # the database away for a moment: look again next time
                log.exception("stalled-job check failed")
            await asyncio.sleep(self.stalled_check_seconds)

    # --- lifecycle -----------------------------------------------------------
    def wake(self) -> None:
        """Nothing to do: procrastinate's insert trigger notifies the workers at commit."""

    def _new_loops(self) -> list[JobLoop]:
        """The batch loop, then the group loop when a task runs by groups (a group of sends is
        as large as a batch): the order drain runs them in."""
        kinds = [BatchLoop] + ([GroupLoop] if any(t.run_group for t in self.tasks.values()) else [])
        turns = Turns()  # they take turns (procrastinate_loop.py says why)
        return [kind(self.runtime, self.db, self.tasks, self._settle, conninfo=conninfo(self.db.url),
                     size=self.batch_size, poll_seconds=self.poll_seconds, heartbeat_seconds=self.heartbeat_seconds,
                     turns=turns)
                for kind in kinds]

    def start(self) -> None:
        self._loops = self._new_loops()
        for loop in self._loops:
            loop.start()
        ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve(ready)), name="wasb-worker",
                                        daemon=True)
        self._thread.start()
        ready.wait(30)

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        ready.set()
        while not self._stopping.is_set():
            app = self._new_app(self.concurrency + 3)
            try:
                async with app.open_async():
                    watch = asyncio.create_task(self._watch_stalled(app))
                    try:
                        await app.run_worker_async(**self._options(wait=True))
                    finally:
                        watch.cancel()
            except asyncio.CancelledError:
                return
            except Exception:  # the database unreachable: the loop must survive it, as the embedded one does
                log.exception("procrastinate worker stopped: starting again")
                await asyncio.sleep(1.0)

    def stop(self, timeout: float = 10) -> None:
        """The running jobs finish (procrastinate's graceful stop), then the thread ends."""
        self._stopping.set()
        if self._loop is not None and self._main is not None:
            try:
                self._loop.call_soon_threadsafe(self._main.cancel)
            except RuntimeError:  # the loop has ended already
                pass
        if self._thread:
            self._thread.join(timeout)
        for loop in self._loops:
            loop.stop(timeout)

    def drain(self, timeout: float = 30.0) -> bool:
        """Run until nothing is due (tests and CLI); True when the queue is idle."""
        deadline = time.monotonic() + timeout
        batch, *group = loops = self._new_loops()
        try:
            while time.monotonic() < deadline:
                # The batch queue until a fetch finds nothing due, then the group queue's, then
                # procrastinate's: when the two latter ran nothing, nothing can have become due
                # in the former.
                batch.run_until_idle(deadline)
                grouped = sum(loop.run_until_idle(deadline) for loop in group)
                before = self.ran
                if (left := deadline - time.monotonic()) > 0:
                    asyncio.run(self._run_until_idle(left))
                if self.ran == before and not grouped:
                    return time.monotonic() < deadline
            return False
        finally:
            for loop in loops:
                loop.unregister()

    async def _run_until_idle(self, timeout: float) -> None:
        app = self._new_app(3)
        async with app.open_async():
            try:
                await asyncio.wait_for(app.run_worker_async(**self._options(wait=False)), timeout)
            except asyncio.TimeoutError:
                pass
