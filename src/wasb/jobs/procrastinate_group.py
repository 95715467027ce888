"""Groups on the procrastinate engine: the jobs of the group queue (the tasks with a
`run_group`: the sends to Meta) run many at once through one `run_group` call, as the
embedded worker runs a claim's sends.

procrastinate's own worker fetches one job at a time and runs the task's `run`: one send
per round trip, its attempt and its answer each committed alone, the calls to Meta never
overlapping beyond `--concurrency`. Here one statement takes up to `size` due jobs of the
group queue, at most one per lock (procrastinate_loop.py: the fetch rule, the worker, its
heartbeat), marked `doing` for this loop's worker; `run_group` runs them outside any
transaction (it commits its own work: a send's attempt is committed before it leaves);
then the succeeded jobs are deleted in one statement and every other outcome is recorded
as the worker's decision code (`_settle`, the one procrastinate's tasks use) says: a Defer
or a `wait_on` exception again later without spending an attempt, any other exception
again after its backoff until `max_attempts`, then `on_give_up` and failed.

A group's work cannot be rolled back (it has been committed, and sent): if this loop was
taken for dead meanwhile and some of its jobs were put back, they run again, and the task
finds its work done (a send is never made twice: the message is no longer `queued`).
"""
from __future__ import annotations

import logging

from wasb.jobs.procrastinate_loop import Fetched, JobLoop, delete_done
from wasb.jobs.procrastinate_queue import GROUP_QUEUE
from wasb.jobs.queue import run_as_group

log = logging.getLogger(__name__)


class GroupLoop(JobLoop):
    queue = GROUP_QUEUE
    kind = "group"

    def _run(self, jobs: list[Fetched], worker: int) -> None:
        by_task: dict[str, list[Fetched]] = {}
        for job in jobs:
            by_task.setdefault(job.task, []).append(job)
        done: list[int] = []
        failures: list[tuple[Fetched, Exception, str]] = []
        for name, group in by_task.items():
            for job, outcome in zip(group, self._run_group(name, group)):
                if outcome is None:
                    done.append(job.id)
                else:
                    failures.append((job, *outcome))
        if done:
            with self.db.sessions() as s, s.begin():
                deleted = delete_done(s, done, worker)
            if deleted != len(done):
                log.warning("group: %d of %d finished job(s) were put back while they ran: they run again",
                            len(done) - deleted, len(done))
        self._settle_all(failures)

    def _run_group(self, name: str, jobs: list[Fetched]) -> list[tuple[Exception, str] | None]:
        task = self.tasks.get(name)
        if task is None or task.run_group is None:
            missing = LookupError(f"no task named {name!r} that runs by groups in this process")
            return [(missing, f"LookupError: {missing}")] * len(jobs)
        return run_as_group(self.runtime, task, [j.args["payload"] for j in jobs])
