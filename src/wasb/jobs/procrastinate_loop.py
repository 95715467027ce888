"""What the procrastinate engine's loops of their own share (the batch loop,
procrastinate_batch.py, and the group loop, procrastinate_group.py): a procrastinate worker
of their own, the fetch of many due jobs of one queue in one statement, and the recording of
a try's outcome as the worker's decision code (`_settle`) says.

Due means what procrastinate_fetch_job_v2 means: no job of the same lock, in any queue,
running, or waiting ahead of it (higher priority, or same priority and a lower id); rows
other workers are taking are skipped (SKIP LOCKED). In one statement's snapshot only the
first waiting job of a lock can qualify, so a fetch holds at most one job per lock, which
procrastinate's unique index on running locks requires anyway. The jobs are marked `doing`
for this loop's worker in the same statement: if the process dies, they are that worker's,
and any living worker's stalled-job check puts them back once its heartbeat has stopped.

The loop is a procrastinate worker of its own (procrastinate_workers row, heartbeat every
`heartbeat_seconds` from a thread of its own, so a long batch or group never looks dead).

One process's loops take turns (`Turns`, first come first served), as the embedded worker runs its
claim's batch, then its group: a batch of status updates holds its conversations' rows until
its one commit, and a group's sends storing their answers in the same conversations would
wait for it (on PostgreSQL, most of a group's time when both ran at once).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wasb.jobs.procrastinate_queue import ANY_QUEUE_CHANNEL
from wasb.jobs.queue import Task
from wasb.store.base import utcnow
from wasb.store.engine import Database

log = logging.getLogger(__name__)


@dataclass
class Fetched:
    id: int
    task: str
    args: dict
    attempts: int  # procrastinate's, before this try


# procrastinate_fetch_job_v2's condition, LIMIT n instead of 1, for one queue.
_FETCH = text("""
WITH candidate AS (
    SELECT jobs.id
      FROM procrastinate_jobs AS jobs
     WHERE NOT EXISTS (
               SELECT 1 FROM procrastinate_jobs AS other_jobs
                WHERE jobs.lock IS NOT NULL
                  AND other_jobs.lock = jobs.lock
                  AND (other_jobs.status = 'doing'
                       OR (other_jobs.status = 'todo'
                           AND (other_jobs.priority > jobs.priority
                                OR (other_jobs.priority = jobs.priority AND other_jobs.id < jobs.id)))))
       AND jobs.status = 'todo'
       AND jobs.queue_name = :queue
       AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
     ORDER BY jobs.priority DESC, jobs.id ASC
     LIMIT :limit
       FOR UPDATE OF jobs SKIP LOCKED
)
UPDATE procrastinate_jobs SET status = 'doing', worker_id = :worker
  FROM candidate
 WHERE procrastinate_jobs.id = candidate.id
RETURNING procrastinate_jobs.id, procrastinate_jobs.task_name, procrastinate_jobs.args,
          procrastinate_jobs.attempts
""")
# What procrastinate's delete_jobs="successful" ends in: the job's events go by cascade, as
# does our wasb_job_note; its periodic-defer link is cleared by procrastinate's delete trigger.
_DELETE_DONE = text("DELETE FROM procrastinate_jobs WHERE id = ANY(:ids) AND status = 'doing' "
                    "AND worker_id = :worker RETURNING id")
_RETRY = text("SELECT procrastinate_retry_job_v2(:id, :at, NULL, NULL, NULL)")
_FAIL = text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)")
_REGISTER = text("SELECT worker_id FROM procrastinate_register_worker_v1()")
_BEAT = text("UPDATE procrastinate_workers SET last_heartbeat = now() WHERE id = :worker RETURNING id")
_UNREGISTER = text("SELECT procrastinate_unregister_worker_v1(:worker)")

# After a try that raised: seconds until the next try, or None when the job has failed for
# good (its on_give_up has run). The worker's own decision, shared with its single jobs.
Settle = Callable[[Task, int, int, dict, Exception, str], "float | None"]


def delete_done(session: Session, ids: list[int], worker: int) -> int:
    """The succeeded jobs gone, if still this worker's; returns how many were."""
    return len(session.scalars(_DELETE_DONE, {"ids": ids, "worker": worker}).all())


class Turns:
    """The loops of one process run their rounds one at a time, in the order they asked: a loop
    that always has work never keeps the other waiting (a plain lock would let it take the
    turn again as soon as it leaves it)."""

    def __init__(self):
        self._changed = threading.Condition()
        self._next = 0  # the ticket the next loop to ask gets
        self._serving = 0  # the ticket whose turn it is

    @contextmanager
    def turn(self):
        with self._changed:
            ticket = self._next
            self._next += 1
            self._changed.wait_for(lambda: self._serving == ticket)
        try:
            yield
        finally:
            with self._changed:
                self._serving += 1
                self._changed.notify_all()


class JobLoop:
    """Fetches up to `size` due jobs of `queue` and runs them (`_run`, a subclass's), in a
    thread of its own, as a procrastinate worker of its own."""

    queue: str
    kind: str  # for the threads' names and the logs

    def __init__(self, runtime, db: Database, tasks: dict[str, Task], settle: Settle, *, conninfo: str,
                 size: int = 64, poll_seconds: float = 0.2, heartbeat_seconds: float = 2.0,
                 turns: Turns | None = None):
        self.runtime = runtime
        self.db = db
        self.tasks = tasks
        self.settle = settle
        self.conninfo = conninfo
        self.size = size
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.turns = turns or Turns()
        self.worker_id: int | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- this loop as a procrastinate worker --------------------------------
    def register(self) -> int:
        with self.db.sessions() as s, s.begin():
            self.worker_id = s.scalar(_REGISTER)
        return self.worker_id

    def beat(self) -> None:
        """Tell the other workers this one is alive; registered again if it was taken for dead."""
        with self.db.sessions() as s, s.begin():
            if self.worker_id is not None and s.scalar(_BEAT, {"worker": self.worker_id}) is not None:
                return
        log.warning("%s worker %s was taken for dead: registered again", self.kind, self.worker_id)
        self.register()

    def unregister(self) -> None:
        if self.worker_id is None:
            return
        with self.db.sessions() as s, s.begin():
            s.execute(_UNREGISTER, {"worker": self.worker_id})
        self.worker_id = None

    # --- one round -----------------------------------------------------------
    def fetch(self, limit: int) -> tuple[int, list[Fetched]]:
        """Up to `limit` due jobs of this loop's queue, marked running for this worker; and the
        worker id they were marked for (the heartbeat may register anew meanwhile)."""
        worker = self.worker_id if self.worker_id is not None else self.register()
        try:
            with self.db.sessions() as s, s.begin():
                rows = s.execute(_FETCH, {"queue": self.queue, "limit": limit, "worker": worker}).all()
        except IntegrityError:
            # Another worker took a job of one of these locks between our snapshot and our
            # update (the unique index on running locks said no): nothing taken, look again.
            log.info("%s fetch raced another worker: fetching again", self.kind)
            return worker, []
        return worker, sorted((Fetched(r.id, r.task_name, r.args, r.attempts) for r in rows), key=lambda j: j.id)

    def run_once(self) -> int:
        with self.turns.turn():
            worker, jobs = self.fetch(self.size)
            if jobs:
                self._run(jobs, worker)
        return len(jobs)

    def _run(self, jobs: list[Fetched], worker: int) -> None:
        raise NotImplementedError

    def _settle(self, job: Fetched, exc: Exception, error: str) -> None:
        """A try that raised, recorded as the worker's decision code says: again later, or failed."""
        task = self.tasks.get(job.task)
        again = self.settle(task, job.id, job.attempts, job.args, exc, error) if task else None
        with self.db.sessions() as s, s.begin():
            if again is None:
                s.execute(_FAIL, {"id": job.id})
            else:
                s.execute(_RETRY, {"id": job.id, "at": utcnow() + timedelta(seconds=again)})

    def _settle_all(self, failures: list[tuple[Fetched, Exception, str]]) -> None:
        for job, exc, error in failures:
            try:
                self._settle(job, exc, error)
            except Exception:  # put back meanwhile by a stalled-job check, or the database away
                log.exception("job %s: its failed try could not be recorded", job.id)

    def run_until_idle(self, deadline: float) -> int:
        """Rounds until nothing of the queue is due (drain); returns the jobs run."""
        ran, beaten = 0, time.monotonic()
        while time.monotonic() < deadline:
            n = self.run_once()
            if not n:
                break
            ran += n
            if time.monotonic() - beaten > self.heartbeat_seconds:  # no heartbeat thread here
                self.beat()
                beaten = time.monotonic()
        return ran

    # --- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        self.register()
        for target, name in ((self._loop, f"wasb-{self.kind}"), (self._beat_loop, f"wasb-{self.kind}-heartbeat")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        try:
            self.unregister()
        except Exception:  # the database away: its heartbeat stops, the row is pruned later
            log.exception("%s worker could not unregister", self.kind)

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                self.beat()
            except Exception:
                log.exception("%s worker heartbeat failed", self.kind)

    def _loop(self) -> None:
        listener: psycopg.Connection | None = None
        while not self._stop.is_set():
            try:
                if listener is None:
                    listener = self._listen()
                ran = self.run_once()
                if not ran:
                    # Woken by the insert trigger's NOTIFY (and run_now/retry's); the poll
                    # covers jobs made due by time, or by the end of a job of their lock.
                    for _ in listener.notifies(timeout=self.poll_seconds, stop_after=1):
                        pass
            except Exception:  # the loop must survive a database hiccup
                log.exception("%s loop error", self.kind)
                if listener is not None:
                    listener.close()
                    listener = None
                self._stop.wait(1.0)
        if listener is not None:
            listener.close()

    def _listen(self) -> psycopg.Connection:
        conn = psycopg.connect(self.conninfo, autocommit=True)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(ANY_QUEUE_CHANNEL)))
        return conn
