"""The procrastinate engine on a real PostgreSQL: what the contract does not say in general
(tests/jobs/test_queue_contract.py runs on both engines) but the product counts on: order per
lock with several jobs at once, the tries that do not count, the give-up, and the jobs of a
worker process killed -9 back in the queue within seconds."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.jobs.test_queue_contract import try_each
from tests.support.databases import BACKEND
from tests.support.polling import wait_until
from wasb.config import Config
from wasb.jobs.procrastinate_queue import ProcrastinateQueue
from wasb.jobs.procrastinate_worker import ProcrastinateWorker
from wasb.jobs.queue import DOING, FAILED, TODO, Task
from wasb.jobs.worker import Defer
from wasb.web.backlog import service_backlog

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate runs on PostgreSQL only")
ROOT = Path(__file__).resolve().parents[2]


class Outage(Exception):
    """The CRM is down: the task waits without spending an attempt."""


class Script:
    """A task whose tries go as scripted: each try takes the next outcome (None: success)."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, int]] = []
        self.gave_up: list[tuple[dict, str]] = []
        self.lock = threading.Lock()

    def run(self, _app, _session, payload):
        with self.lock:
            self.calls.append((payload["lock"], payload["n"]))
            outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome

    def run_group(self, app, payloads):
        """The same tries, a group at once: one outcome per job."""
        return try_each(self.run, app, payloads)

    def give_up(self, _app, _session, payload, error):
        self.gave_up.append((payload, error))


@pytest.fixture(params=["single", "batched", "grouped"])
def mode(request) -> str:
    """Each test runs its jobs through procrastinate's worker (one job per transaction),
    through the batch loop (the task in the batch queue) and through the group loop (a
    `run_group` task, in the group queue): a try means the same on all three."""
    return request.param


def record_task(script: Script, mode: str, **options) -> Task:
    return Task("record", script.run, run_group=script.run_group if mode == "grouped" else None, **options)


def make(db, script: Script, max_attempts: int = 3, concurrency: int = 1, mode: str = "single"):
    tasks = {"record": record_task(script, mode, max_attempts=max_attempts, on_give_up=script.give_up,
                                   wait_on=(Outage,))}
    queue = ProcrastinateQueue(tasks, batchable={"record"} if mode == "batched" else ())
    return queue, ProcrastinateWorker(None, db, tasks, concurrency=concurrency, poll_seconds=0.05)


def enqueue(db, queue, jobs):
    with db.sessions() as s, s.begin():
        queue.enqueue_many(s, [{"task": "record", "payload": {"lock": lock, "n": n}, "lock": lock,
                                "ref": f"ref:{lock}"} for lock, n in jobs])


def state(db, queue, lock="a"):
    with db.read_sessions() as s:
        return queue.jobs_of(s, [f"ref:{lock}"])


def time_passes(db, queue):
    with db.sessions() as s, s.begin():
        queue.run_now(s, ["record"])


def test_jobs_of_one_lock_run_in_enqueue_order_with_several_at_once(db, mode):
    script = Script()
    queue, worker = make(db, script, concurrency=4, mode=mode)
    jobs = [(lock, n) for n in range(1, 9) for lock in "abcd"]
    enqueue(db, queue, jobs)
    assert worker.drain()
    for lock in "abcd":
        assert [n for held, n in script.calls if held == lock] == list(range(1, 9))
    assert sorted(script.calls) == sorted(jobs)
    assert all(state(db, queue, lock) == [] for lock in "abcd")  # finished jobs are gone


def test_a_defer_and_an_outage_spend_no_attempt_a_failure_does(db, mode):
    script = Script(Defer(3600, "rate limit"), Outage("CRM down"), Defer(3600), RuntimeError("CRM said no"),
                    Outage("CRM down again"), None)
    queue, worker = make(db, script, max_attempts=2, mode=mode)
    enqueue(db, queue, [("a", 1), ("a", 2)])
    seen = []
    for _ in range(5):
        worker.drain()
        first, later = state(db, queue)
        seen.append((first.status, first.attempts, first.last_error.strip().splitlines()[-1]))
        assert first.scheduled_at is not None and later.attempts == 0 and later.status == TODO
        time_passes(db, queue)
    assert seen == [(TODO, 0, "deferred: rate limit"), (TODO, 0, f"{__name__}.Outage: CRM down"),
                    (TODO, 0, "deferred: deferred for 3600.00s"), (TODO, 1, "RuntimeError: CRM said no"),
                    (TODO, 1, f"{__name__}.Outage: CRM down again")]
    worker.drain()
    assert state(db, queue) == [] and script.gave_up == []
    assert script.calls == [("a", 1)] * 6 + [("a", 2)]  # the later job waited for the first


def test_after_the_last_attempt_the_job_fails_once_keeps_its_error_and_frees_the_lock(db, mode):
    script = Script(RuntimeError("no 1"), Outage("down"), RuntimeError("no 2"), RuntimeError("no 3"))
    queue, worker = make(db, script, max_attempts=3, mode=mode)
    enqueue(db, queue, [("a", 1), ("a", 2)])
    for _ in range(4):
        worker.drain()
        time_passes(db, queue)
    assert [(p["n"], e.strip().splitlines()[-1]) for p, e in script.gave_up] == [(1, "RuntimeError: no 3")]
    (failed,) = state(db, queue)
    assert (failed.status, failed.attempts, failed.max_attempts, failed.waiting) == (FAILED, 3, 3, False)
    assert "no 3" in failed.last_error
    assert script.calls[-1] == ("a", 2)  # a failed job no longer holds the customer's lock
    with db.read_sessions() as s:
        backlog = queue.backlog(s, "record")
    assert (backlog.pending, backlog.failed) == (0, 1)
    with db.sessions() as s, s.begin():
        assert queue.retry(s, "ref:a") == 1
    (retried,) = state(db, queue)
    assert (retried.status, retried.attempts) == (TODO, 0)
    worker.drain()
    assert state(db, queue) == [] and script.calls[-1] == ("a", 1)


def _stuck_locks(db, queue) -> int:
    with db.read_sessions() as s:
        return queue.lag(s).stuck_locks


def test_the_jobs_of_a_worker_killed_9_are_back_in_the_queue_within_seconds(db, database_url, tmp_path, mode):
    script = Script()
    queue, _ = make(db, script, mode=mode)
    enqueue(db, queue, [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("c", 1)])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    child = subprocess.Popen([sys.executable, "-m", "tests.jobs.procrastinate_child", database_url, str(tmp_path),
                              mode], cwd=ROOT, env=env)
    try:
        # The child has taken the first job of each customer and hangs in it (a batch hangs
        # in its first job, the two others taken with it; a group in the call that has them all).
        wait_until(lambda: len(list(tmp_path.glob("started-*"))) == (1 if mode == "batched" else 3) and
                   len([j for lock in "abc" for j in state(db, queue, lock) if j.status == DOING]) == 3,
                   60, "the child running a, b and c's first jobs")
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        # Its heartbeat stops: the customers whose job it held are stuck, and it is said.
        wait_until(lambda: _stuck_locks(db, queue) == 3, 60, "the three locks seen stuck")
        with db.read_sessions() as s:  # what /healthz's queue block and the jobs page show
            shown = service_backlog(Config(_env_file=None, database_url=database_url), db, queue, s).view()
        assert shown["stuck_locks"] == 3 and shown["busy"] is True
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    tasks = {"record": record_task(script, mode)}
    worker = ProcrastinateWorker(None, db, tasks, concurrency=2, poll_seconds=0.05, heartbeat_seconds=0.5,
                                 stalled_worker_seconds=2, stalled_check_seconds=0.5)
    worker.start()
    try:
        wait_until(lambda: all(state(db, queue, lock) == [] for lock in "abc"), 60, "every job done after the kill")
    finally:
        worker.stop()
    assert sorted(script.calls) == [("a", 1), ("a", 2), ("b", 1), ("b", 2), ("c", 1)]
    for lock in "ab":  # each customer's first job, put back, ran before its second
        assert [n for held, n in script.calls if held == lock] == [1, 2]
    assert _stuck_locks(db, queue) == 0
