"""Batches on the procrastinate engine: the jobs of the batch queue (the tasks the process's
CRM policy lets share a transaction) run many at once, as the embedded worker runs them.

procrastinate's own worker fetches one job per round trip and commits each job on its own:
for the inbound jobs (a dozen statements each) the round trips and commits are most of
the cost. Here one statement takes up to `size` due jobs of the batch queue and marks them
`doing` for this loop's procrastinate worker (procrastinate_loop.py: the fetch rule, the
worker, its heartbeat); one transaction runs them, each in a savepoint, and deletes the ones
that succeeded. A job that raised is rolled back to its savepoint alone; after the commit
the worker's decision code (the one procrastinate's tasks use) says when it runs again, or
that it has failed for good.

If this loop was taken for dead (its heartbeat failed for too long) and its jobs were put
back meanwhile, the batch's deletes find fewer of its jobs than it ran: the whole batch is
rolled back and what is still its own goes back to the queue untouched, so no job's work is
kept twice.
"""
from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.orm import Session

from wasb.jobs.procrastinate_loop import Fetched, JobLoop, delete_done
from wasb.jobs.procrastinate_queue import BATCH_QUEUE
from wasb.jobs.queue import run_each_in_savepoint

log = logging.getLogger(__name__)

# A batch rolled back whole: its jobs wait again as they were (the try did not happen).
_PUT_BACK = text("UPDATE procrastinate_jobs SET status = 'todo', worker_id = NULL "
                 "WHERE id = ANY(:ids) AND status = 'doing' AND worker_id = :worker")


class _Lost(Exception):
    """Some of the batch's jobs are no longer this worker's (put back by a stalled-job check)."""


class BatchLoop(JobLoop):
    queue = BATCH_QUEUE
    kind = "batch"

    def _run(self, jobs: list[Fetched], worker: int) -> None:
        failures: list[tuple[Fetched, Exception, str]] = []
        try:
            with self.db.sessions() as s, s.begin():
                done = self._run_in(s, jobs, failures)
                if done and delete_done(s, done, worker) != len(done):  # in the transaction that did the work
                    raise _Lost()
        except _Lost:
            log.warning("batch of %d job(s) rolled back: some were put back while it ran", len(jobs))
            self._put_back(jobs, worker)
            return
        except Exception:  # the commit itself failed (the database away): nothing of it was kept
            self._put_back(jobs, worker)
            raise
        self._settle_all(failures)

    def _put_back(self, jobs: list[Fetched], worker: int) -> None:
        """A batch rolled back whole: its jobs wait again, the try not counted. If even that
        fails, this loop forgets its worker id: the old one's heartbeat stops, and any
        worker's stalled-job check puts the jobs back."""
        try:
            with self.db.sessions() as s, s.begin():
                s.execute(_PUT_BACK, {"ids": [j.id for j in jobs], "worker": worker})
        except Exception:
            log.exception("batch jobs could not be put back: left to the stalled-job check")
            if self.worker_id == worker:
                self.worker_id = None

    def _run_in(self, s: Session, jobs: list[Fetched], failures: list) -> list[int]:
        outcomes = run_each_in_savepoint(self.runtime, s, [(j.task, self.tasks.get(j.task), j.args["payload"])
                                                           for j in jobs])
        failures.extend((job, *outcome) for job, outcome in zip(jobs, outcomes) if outcome is not None)
        return [job.id for job, outcome in zip(jobs, outcomes) if outcome is None]
