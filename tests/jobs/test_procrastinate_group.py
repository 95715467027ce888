"""The group loop of the procrastinate engine on a real PostgreSQL: the jobs of a `run_group`
task (the sends) of many customers run through one call, one customer's still one after the
other, and each outcome of a group recorded for its own job only
(tests/jobs/test_procrastinate_engine.py runs the try semantics and the kill -9 on the group
loop too)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from tests.support.databases import BACKEND
from tests.support.polling import wait_until
from wasb.jobs.procrastinate_queue import GROUP_QUEUE, ProcrastinateQueue
from wasb.jobs.procrastinate_worker import ProcrastinateWorker
from wasb.jobs.queue import FAILED, TODO, Task
from wasb.jobs.worker import Defer

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate runs on PostgreSQL only")


class Sends:
    """A run_group task that records each call's payloads; `outcomes` maps a customer to what
    its next send raises (taken once), every other send succeeds."""

    def __init__(self, pause: float = 0.0, **outcomes):
        self.pause = pause  # how long a call takes (a send's round trip to Meta)
        self.outcomes = {c: list(o) for c, o in outcomes.items()}
        self.groups: list[list[tuple[str, int]]] = []
        self.gave_up: list[dict] = []
        self.guard = threading.Lock()
        self.running: set[str] = set()
        self.overlaps: list[str] = []  # a customer seen in two calls at once

    def run(self, _app, _session, payload):
        raise AssertionError("a run_group task's job must not run alone on procrastinate")

    def run_group(self, _app, payloads: list[dict]) -> list:
        with self.guard:
            self.groups.append([(p["customer"], p["n"]) for p in payloads])
            mine = [p["customer"] for p in payloads]
            self.overlaps += [c for c in mine if c in self.running]
            self.running.update(mine)
            outcomes = [self.outcomes.get(c, []).pop(0) if self.outcomes.get(c) else None for c in mine]
        time.sleep(self.pause)
        with self.guard:
            self.running.difference_update(mine)
        return outcomes

    def give_up(self, _app, _session, payload, error):
        self.gave_up.append(payload)

    def task(self, max_attempts: int = 8) -> Task:
        return Task("send", self.run, max_attempts=max_attempts, run_group=self.run_group, on_give_up=self.give_up)


def _setup(db, sends: Sends, max_attempts: int = 8, **options):
    tasks = {"send": sends.task(max_attempts)}
    return ProcrastinateQueue(tasks), ProcrastinateWorker(None, db, tasks, concurrency=1, poll_seconds=0.05,
                                                          **options)


def _enqueue(db, queue, items):
    with db.sessions() as s, s.begin():
        queue.enqueue_many(s, [{"task": "send", "payload": {"customer": c, "n": n}, "lock": f"customer:{c}",
                                "ref": f"message:{c}{n}"} for c, n in items])


def _queues(db) -> set[str]:
    with db.read_sessions() as s:
        return set(s.scalars(text("SELECT DISTINCT queue_name FROM procrastinate_jobs")))


def _left(db) -> int:
    with db.read_sessions() as s:
        return s.scalar(text("SELECT count(*) FROM procrastinate_jobs"))


def test_many_customers_sends_go_through_one_run_group_call(db):
    sends = Sends()
    queue, worker = _setup(db, sends)
    customers = [f"c{i}" for i in range(30)]
    _enqueue(db, queue, [(c, 1) for c in customers])
    assert _queues(db) == {GROUP_QUEUE}
    assert worker.drain()
    assert len(sends.groups) == 1 and sorted(sends.groups[0]) == sorted((c, 1) for c in customers)
    assert _left(db) == 0  # every job done and deleted


def test_a_group_holds_one_send_per_customer_and_a_customers_sends_keep_their_order(db):
    sends = Sends()
    queue, worker = _setup(db, sends)
    _enqueue(db, queue, [(c, n) for n in range(1, 4) for c in ("a", "b")] + [("c", 1)])
    assert worker.drain()
    # Three rounds: a and b's first sends with c's, then their second, then their third.
    assert [sorted(g) for g in sends.groups] == [[("a", 1), ("b", 1), ("c", 1)], [("a", 2), ("b", 2)],
                                                 [("a", 3), ("b", 3)]]
    assert _left(db) == 0


def test_two_workers_groups_never_run_a_customers_sends_at_once_nor_out_of_order(db):
    sends = Sends(pause=0.01)
    queue, first = _setup(db, sends, batch_size=4)
    second = ProcrastinateWorker(None, db, first.tasks, concurrency=1, poll_seconds=0.05, batch_size=4)
    customers = [f"c{i}" for i in range(10)]
    _enqueue(db, queue, [(c, n) for n in range(1, 6) for c in customers])
    first.start()
    second.start()
    try:
        wait_until(lambda: _left(db) == 0, 60, "every send done by the two workers")
    finally:
        first.stop()
        second.stop()
    ran = [item for group in sends.groups for item in group]
    assert sorted(ran) == sorted((c, n) for n in range(1, 6) for c in customers)  # each once
    for c in customers:
        assert [n for who, n in ran if who == c] == [1, 2, 3, 4, 5]
    assert sends.overlaps == []
    assert all(len({c for c, _ in group}) == len(group) for group in sends.groups)  # one per customer


def test_a_defer_and_a_failure_in_a_group_are_recorded_for_their_job_only(db):
    sends = Sends(b=[Defer(3600, "pacing this customer")], c=[RuntimeError("Meta said 500"),
                                                              RuntimeError("Meta said 503")])
    queue, worker = _setup(db, sends, max_attempts=2)
    _enqueue(db, queue, [("a", 1), ("b", 1), ("c", 1), ("d", 1), ("c", 2)])
    assert worker.drain()
    assert sorted(sends.groups[0]) == [("a", 1), ("b", 1), ("c", 1), ("d", 1)] and len(sends.groups) == 1
    with db.read_sessions() as s:
        jobs = {j.ref: j for j in queue.jobs_of(s, ["message:a1", "message:b1", "message:c1", "message:d1",
                                                   "message:c2"])}
    assert set(jobs) == {"message:b1", "message:c1", "message:c2"}  # a and d done and gone
    deferred, failed = jobs["message:b1"], jobs["message:c1"]
    assert (deferred.status, deferred.attempts) == (TODO, 0)  # a Defer spends no attempt
    assert deferred.last_error == "deferred: pacing this customer"
    assert (failed.status, failed.attempts, failed.waiting) == (TODO, 1, True)
    assert "Meta said 500" in failed.last_error
    assert (jobs["message:c2"].status, jobs["message:c2"].attempts) == (TODO, 0)  # behind c's first

    with db.sessions() as s, s.begin():  # the backoff and the deferral are over
        queue.run_now(s, ["send"])
    assert worker.drain()
    assert sorted(sends.groups[1]) == [("b", 1), ("c", 1)]
    with db.read_sessions() as s:
        (gave_up,) = queue.jobs_of(s, ["message:b1", "message:c1"])
    assert (gave_up.ref, gave_up.status, gave_up.attempts) == ("message:c1", FAILED, 2)
    assert "Meta said 503" in gave_up.last_error
    assert sends.gave_up == [{"customer": "c", "n": 1}]
    assert sends.groups[2:] == [[("c", 2)]]  # a failed job frees its customer's next send
    assert _left(db) == 1


def test_a_group_call_that_raises_spends_an_attempt_of_each_of_its_jobs(db):
    tasks = {"send": Task("send", Sends().run, run_group=lambda _app, _payloads: 1 / 0)}
    queue = ProcrastinateQueue(tasks)
    worker = ProcrastinateWorker(None, db, tasks, concurrency=1, poll_seconds=0.05)
    _enqueue(db, queue, [("a", 1), ("b", 1)])
    assert worker.drain()
    with db.read_sessions() as s:
        jobs = queue.jobs_of(s, ["message:a1", "message:b1"])
    assert [(j.status, j.attempts) for j in jobs] == [(TODO, 1), (TODO, 1)]
    assert all("ZeroDivisionError" in j.last_error for j in jobs)
