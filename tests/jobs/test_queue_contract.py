"""The JobQueue contract: what the product asks of any engine, stated through the interface
only (no job table), so a second engine runs these same tests by adding its harness."""
from __future__ import annotations

import dataclasses
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from tests.support.databases import BACKEND
from wasb.jobs.procrastinate_queue import BATCH_QUEUE, GROUP_QUEUE, QUEUE_NAME, ProcrastinateQueue
from wasb.jobs.procrastinate_worker import ProcrastinateWorker
from wasb.jobs.liveness import process_name
from wasb.jobs.queue import DOING, FAILED, TODO, EmbeddedQueue, JobQueue, Task
from wasb.jobs.tables import Job
from wasb.jobs.worker import Worker
from wasb.store.base import utcnow
from wasb.store.engine import open_database


class Calls:
    """The tasks of the contract: `ok` succeeds, `broken` always fails, `slow` is claimed
    and left running by the harness."""

    def __init__(self):
        self.ran: list[tuple[str, dict]] = []

    def ok(self, app, session, payload):
        self.ran.append(("ok", payload))

    def broken(self, app, session, payload):
        self.ran.append(("broken", payload))
        raise RuntimeError("the CRM said no")


def contract_tasks(calls: Calls) -> dict[str, Task]:
    return {"ok": Task("ok", calls.ok), "broken": Task("broken", calls.broken, max_attempts=2),
            "slow": Task("slow", calls.ok)}


def try_each(run, app, payloads: list[dict]) -> list:
    """A group's outcomes as `run_group` gives them: each job tried as `run` would, None or
    the exception it raised."""
    outcomes = []
    for payload in payloads:
        try:
            run(app, None, payload)
        except Exception as exc:
            outcomes.append(exc)
        else:
            outcomes.append(None)
    return outcomes


def by_groups(task: Task) -> Task:
    """The task run by groups: each job of a group tried as `run` would, one outcome per job."""
    return dataclasses.replace(task, run_group=lambda app, payloads: try_each(task.run, app, payloads))


class EmbeddedHarness:
    """Drives the embedded engine the way time and a worker would."""

    def __init__(self, db, calls: Calls):
        self.db = db
        tasks = contract_tasks(calls)
        self.queue: JobQueue = EmbeddedQueue(tasks)
        self.worker = Worker(None, db, tasks, poll_seconds=0.01)

    def work(self) -> None:
        """Run whatever is due now until nothing is."""
        self.worker.drain()

    def start(self, task: str) -> None:
        """A worker takes the task's due jobs and is still running them."""
        self.worker.tasks = {task: self.worker.tasks[task]}
        try:
            assert [j.task for j in self.worker.claim(100)], f"no {task} job was due"
        finally:
            self.worker.tasks = dict(self.queue.tasks)

    def time_passes(self) -> None:
        """Every job waiting for a later time becomes due."""
        with self.db.sessions() as s, s.begin():
            s.execute(update(Job).where(Job.status == TODO).values(scheduled_at=utcnow()))

    def worker_gone(self) -> None:
        """The process running the started jobs is dead (a process of this host that has exited)."""
        gone = subprocess.Popen(["true"])
        gone.wait()
        with self.db.sessions() as s, s.begin():
            s.execute(update(Job).where(Job.status == DOING).values(worker=f"{process_name(gone.pid)}-gone"))


class ProcrastinateHarness:
    """Drives procrastinate: its own worker (wait=False) runs what is due; a job is started by
    procrastinate's own fetch for a registered worker that never finishes it."""

    batchable: tuple[str, ...] = ()
    grouped = False

    def __init__(self, db, calls: Calls):
        self.db = db
        tasks = contract_tasks(calls)
        if self.grouped:
            tasks = {name: by_groups(task) for name, task in tasks.items()}
        self.queue: JobQueue = ProcrastinateQueue(tasks, batchable=self.batchable)
        self.worker = ProcrastinateWorker(None, db, tasks, concurrency=1, poll_seconds=0.05)

    def work(self) -> None:
        assert self.worker.drain()

    def start(self, task: str) -> None:
        with self.db.sessions() as s, s.begin():
            worker = s.scalar(text("SELECT worker_id FROM procrastinate_register_worker_v1()"))
            job = s.execute(text("SELECT (j).id, (j).task_name FROM procrastinate_fetch_job_v2("
                                 "ARRAY[:queue, :batch, :group]::varchar[], :worker) AS j"),
                            {"queue": QUEUE_NAME, "batch": BATCH_QUEUE, "group": GROUP_QUEUE,
                             "worker": worker}).one()
        assert job.task_name == task, f"no {task} job was due"

    def time_passes(self) -> None:
        with self.db.sessions() as s, s.begin():
            self.queue.run_now(s, list(self.queue.tasks))

    def worker_gone(self) -> None:
        """The worker running the started jobs has been silent for an hour."""
        with self.db.sessions() as s, s.begin():
            s.execute(text("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"))


class ProcrastinateBatchHarness(ProcrastinateHarness):
    """procrastinate with every task in the batch queue: the batch loop keeps the same contract."""

    batchable = ("ok", "broken", "slow")


class ProcrastinateGroupHarness(ProcrastinateHarness):
    """procrastinate with every task run by groups (the group queue): the group loop keeps the same contract."""

    grouped = True


ENGINES = ["embedded"] + (["procrastinate", "procrastinate-batch", "procrastinate-group"]
                          if BACKEND == "postgresql" else [])


@pytest.fixture(params=ENGINES)
def engine(request, database_url):
    db = open_database(database_url)
    calls = Calls()
    harness = {"embedded": EmbeddedHarness, "procrastinate": ProcrastinateHarness,
               "procrastinate-batch": ProcrastinateBatchHarness,
               "procrastinate-group": ProcrastinateGroupHarness}[request.param](db, calls)
    harness.calls = calls
    yield harness
    db.dispose()


def _enqueue(engine, task: str, ref: str | None, **options) -> None:
    with engine.db.sessions() as s, s.begin():
        engine.queue.enqueue(s, task, {"ref": ref}, ref=ref, **options)


def _jobs_of(engine, *refs: str):
    with engine.db.read_sessions() as s:
        return engine.queue.jobs_of(s, refs)


def _fail_for_good(engine, ref: str) -> None:
    _enqueue(engine, "broken", ref)
    for _ in range(2):  # max_attempts
        engine.work()
        engine.time_passes()


def test_jobs_of_a_ref_are_listed_waiting_in_enqueue_order(engine):
    _enqueue(engine, "ok", "message:1", delay_seconds=60)
    _enqueue(engine, "slow", "message:1", delay_seconds=60)
    _enqueue(engine, "ok", "message:2")
    jobs = _jobs_of(engine, "message:1")
    assert [(j.ref, j.task, j.status, j.waiting) for j in jobs] == [
        ("message:1", "ok", TODO, True), ("message:1", "slow", TODO, True)]
    assert all(j.attempts == 0 and j.scheduled_at > utcnow() for j in jobs)
    assert {j.ref for j in _jobs_of(engine, "message:1", "message:2", "message:3")} == {"message:1", "message:2"}
    assert _jobs_of(engine) == []


def test_a_finished_job_is_gone_a_running_one_is_waiting_a_failed_one_is_not(engine):
    _enqueue(engine, "ok", "done")
    engine.work()
    assert _jobs_of(engine, "done") == [] and engine.calls.ran == [("ok", {"ref": "done"})]
    _enqueue(engine, "slow", "running")
    engine.start("slow")
    (running,) = _jobs_of(engine, "running")
    assert running.status == DOING and running.waiting and running.attempts == 1
    _fail_for_good(engine, "broken")
    (failed,) = _jobs_of(engine, "broken")
    assert failed.status == FAILED and not failed.waiting and failed.attempts == 2
    assert "the CRM said no" in failed.last_error


def test_the_backlog_of_a_task_counts_pending_retrying_and_failed_jobs(engine):
    with engine.db.read_sessions() as s:
        empty = engine.queue.backlog(s, "broken")
    assert (empty.pending, empty.retrying, empty.failed, empty.oldest_pending_at, empty.last_error,
            empty.next_try_at) == (0, 0, 0, None, None, None)
    before = utcnow()
    _fail_for_good(engine, "given-up")
    _enqueue(engine, "broken", "retrying")
    engine.work()  # one failed try: it backs off
    _enqueue(engine, "broken", "fresh", delay_seconds=60)
    _enqueue(engine, "ok", "another task", delay_seconds=60)
    with engine.db.read_sessions() as s:
        backlog = engine.queue.backlog(s, "broken")
    assert (backlog.pending, backlog.retrying, backlog.failed) == (2, 1, 1)
    assert before <= backlog.oldest_pending_at <= utcnow()
    assert "the CRM said no" in backlog.last_error
    assert backlog.next_try_at > utcnow()


def test_the_lag_counts_the_jobs_due_now_and_since_when_the_oldest_waits(engine):
    with engine.db.read_sessions() as s:
        empty = engine.queue.lag(s)
    assert (empty.due, empty.oldest_due_at) == (0, None)
    _fail_for_good(engine, "given up")  # failed jobs are not waiting
    before = utcnow()
    _enqueue(engine, "ok", "due")
    _enqueue(engine, "slow", "also due")
    _enqueue(engine, "ok", "later", delay_seconds=3600)  # not late: its time has not come
    with engine.db.read_sessions() as s:
        lag = engine.queue.lag(s)
    assert lag.due == 2
    assert before <= lag.oldest_due_at <= utcnow()
    engine.work()
    with engine.db.read_sessions() as s:
        done = engine.queue.lag(s)
    assert (done.due, done.oldest_due_at) == (0, None)  # "later" still waits, but is not late


def test_run_now_makes_the_waiting_jobs_of_the_named_tasks_due(engine):
    _enqueue(engine, "ok", "later", delay_seconds=3600)
    _enqueue(engine, "slow", "not named", delay_seconds=3600)
    _enqueue(engine, "ok", "due already")
    with engine.db.sessions() as s, s.begin():
        assert engine.queue.run_now(s, ["ok"]) == 1  # the due one was not waiting for anything
    engine.work()
    assert sorted(p["ref"] for _, p in engine.calls.ran) == ["due already", "later"]
    assert [j.ref for j in _jobs_of(engine, "later", "not named", "due already")] == ["not named"]


def test_retry_gives_a_refs_failed_jobs_fresh_attempts(engine):
    _fail_for_good(engine, "event:7")
    _enqueue(engine, "ok", "event:7", delay_seconds=3600)  # a waiting job of the ref stays as it is
    with engine.db.sessions() as s, s.begin():
        assert engine.queue.retry(s, "event:8") == 0
        assert engine.queue.retry(s, "event:7") == 1
    retried, waiting = _jobs_of(engine, "event:7")
    assert (retried.task, retried.status, retried.attempts, retried.waiting) == ("broken", TODO, 0, True)
    assert retried.scheduled_at <= utcnow() + timedelta(seconds=1)
    assert waiting.scheduled_at > utcnow() + timedelta(minutes=30)
    runs = len(engine.calls.ran)
    engine.work()
    assert engine.calls.ran[runs:] == [("broken", {"ref": "event:7"})]


def test_what_a_rolled_back_transaction_asked_for_does_not_happen(engine):
    _fail_for_good(engine, "failed")
    _enqueue(engine, "ok", "kept", delay_seconds=3600)
    with engine.db.sessions() as s:
        with s.begin():
            engine.queue.enqueue(s, "ok", {}, ref="phantom")
            engine.queue.run_now(s, ["ok"])
            engine.queue.retry(s, "failed")
            s.rollback()
    assert _jobs_of(engine, "phantom") == []
    (kept,) = _jobs_of(engine, "kept")
    assert kept.scheduled_at > utcnow()
    (failed,) = _jobs_of(engine, "failed")
    assert failed.status == FAILED


def test_a_lock_whose_running_job_belongs_to_a_gone_worker_is_stuck(engine):
    with engine.db.sessions() as s, s.begin():
        engine.queue.enqueue(s, "slow", {}, lock="customer:1", ref="held")
        engine.queue.enqueue(s, "ok", {}, lock="customer:1", ref="behind")
        engine.queue.enqueue(s, "ok", {}, lock="customer:2", ref="free", delay_seconds=3600)
    engine.start("slow")
    with engine.db.read_sessions() as s:
        assert engine.queue.lag(s).stuck_locks == 0  # its worker is alive: it is only busy
    engine.worker_gone()
    with engine.db.read_sessions() as s:
        assert engine.queue.lag(s).stuck_locks == 1
