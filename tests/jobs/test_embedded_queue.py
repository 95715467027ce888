"""The embedded JobQueue engine on a real database: order per lock, retries, give-up, recovery."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from wasb.jobs.queue import EmbeddedQueue, Task
from wasb.jobs.tables import DOING, FAILED, TODO, Job
from wasb.jobs.worker import Worker
from wasb.store.base import utcnow


class Recorder:
    def __init__(self, failures: int = 0):
        self.calls: list[tuple[str, int]] = []
        self.failures = failures
        self.gave_up: list[dict] = []
        self.lock = threading.Lock()

    def run(self, app, session, payload):
        with self.lock:
            self.calls.append((payload["lock"], payload["n"]))
            if self.failures:
                self.failures -= 1
                raise RuntimeError("CRM is down")

    def give_up(self, app, session, payload, error):
        self.gave_up.append({"payload": payload, "error": error})


def make(db, recorder, batchable=False, max_attempts=3):
    task = Task("record", recorder.run, max_attempts=max_attempts, batchable=batchable,
                on_give_up=recorder.give_up)
    tasks = {"record": task}
    return EmbeddedQueue(tasks), Worker(None, db, tasks, poll_seconds=0.01)


def enqueue(db, queue, jobs):
    with db.sessions() as s, s.begin():
        for lock, n in jobs:
            queue.enqueue(s, "record", {"lock": lock, "n": n}, lock=lock, ref=f"ref:{lock}")


def make_due(db):
    with db.sessions() as s, s.begin():
        s.execute(update(Job).where(Job.status == TODO).values(scheduled_at=utcnow()))


@pytest.mark.parametrize("batchable", [False, True])
def test_jobs_of_one_lock_run_in_enqueue_order(db, batchable):
    recorder = Recorder()
    queue, worker = make(db, recorder, batchable)
    enqueue(db, queue, [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)])
    assert worker.drain()
    assert [n for lock, n in recorder.calls if lock == "a"] == [1, 2, 3]
    assert [n for lock, n in recorder.calls if lock == "b"] == [1, 2]
    with db.read_sessions() as s:
        assert s.scalars(select(Job)).all() == []


def test_a_claim_takes_only_the_first_job_of_each_lock(db):
    queue, worker = make(db, Recorder())
    enqueue(db, queue, [("a", 1), ("a", 2), ("b", 1)])
    claimed = worker.claim(10)
    assert sorted((j.payload["lock"], j.payload["n"]) for j in claimed) == [("a", 1), ("b", 1)]
    assert worker.claim(10) == []  # a's second job waits while the first is running


@pytest.mark.parametrize("batchable", [False, True])
def test_a_job_that_fails_is_retried_with_backoff_and_then_succeeds(db, batchable):
    recorder = Recorder(failures=2)
    queue, worker = make(db, recorder, batchable)
    enqueue(db, queue, [("a", 1), ("a", 2)])
    worker.run_once()
    with db.read_sessions() as s:
        first = s.scalars(select(Job).order_by(Job.id)).first()
        assert first.status == TODO and first.attempts == 1 and "CRM is down" in first.last_error
        assert first.scheduled_at > utcnow()  # backing off
    assert worker.run_once() == 0  # nothing due: the later job of the lock waits too
    make_due(db)
    worker.run_once()
    make_due(db)
    worker.drain()
    assert recorder.calls == [("a", 1), ("a", 1), ("a", 1), ("a", 2)]
    assert recorder.gave_up == []


def test_after_the_last_attempt_the_job_fails_and_can_be_retried(db):
    recorder = Recorder(failures=3)
    queue, worker = make(db, recorder, max_attempts=3)
    enqueue(db, queue, [("a", 1), ("a", 2)])
    for _ in range(3):
        worker.run_once()
        make_due(db)
    worker.drain()
    assert len(recorder.gave_up) == 1 and "CRM is down" in recorder.gave_up[0]["error"]
    with db.read_sessions() as s:
        (failed,) = s.scalars(select(Job)).all()
        assert failed.status == FAILED and failed.attempts == 3
    assert ("a", 2) in recorder.calls  # a failed job no longer holds the customer's queue
    with db.sessions() as s, s.begin():
        assert queue.retry(s, "ref:a") == 1
    worker.drain()
    assert recorder.calls[-1] == ("a", 1)
    with db.read_sessions() as s:
        assert s.scalars(select(Job)).all() == []


def test_jobs_left_running_by_a_dead_process_go_back_to_the_queue(db):
    recorder = Recorder()
    queue, worker = make(db, recorder)
    enqueue(db, queue, [("a", 1)])
    assert len(worker.claim(10)) == 1  # claimed, then the process "dies"
    with db.read_sessions() as s:
        assert s.scalars(select(Job.status)).all() == [DOING]
    assert worker.recover_stalled(everything=True) == 1
    worker.drain()
    assert recorder.calls == [("a", 1)]


def test_a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(db):
    queue, worker = make(db, Recorder())
    with db.sessions() as s:
        with s.begin():
            queue.enqueue(s, "record", {"lock": "a", "n": 1}, lock="a")
            s.rollback()
    with db.read_sessions() as s:
        assert s.scalars(select(Job)).all() == []


@pytest.mark.parametrize("batchable", [False, True])
def test_a_deferred_job_runs_later_without_spending_an_attempt_and_keeps_its_lock_order(db, batchable):
    from wasb.jobs.worker import Defer

    calls: list[int] = []
    defers = {"left": 5}

    def run(app, session, payload):
        if payload["n"] == 1 and defers["left"]:
            defers["left"] -= 1
            raise Defer(60, "no token free")
        calls.append(payload["n"])

    tasks = {"record": Task("record", run, max_attempts=2, batchable=batchable)}
    queue, worker = EmbeddedQueue(tasks), Worker(None, db, tasks, poll_seconds=0.01)
    enqueue(db, queue, [("a", 1), ("a", 2)])
    for _ in range(5):  # more deferrals than max_attempts: none of them counts
        worker.run_once()
        with db.read_sessions() as s:
            first = s.scalars(select(Job).order_by(Job.id)).first()
            assert first.status == TODO and first.attempts == 0 and "no token free" in first.last_error
            assert first.scheduled_at > utcnow()
        assert worker.run_once() == 0  # the lock's later job waits behind the deferred one
        make_due(db)
    worker.drain()
    assert calls == [1, 2]


def test_a_claim_takes_the_oldest_due_jobs_up_to_its_limit_one_per_lock(db):
    queue, worker = make(db, Recorder())
    enqueue(db, queue, [(f"c{n % 5}", n) for n in range(20)])
    with db.sessions() as s, s.begin():  # c0's first job waits for later: c0's others wait behind it
        first = s.scalars(select(Job).order_by(Job.id)).first()
        first.scheduled_at = utcnow() + timedelta(minutes=5)
        queue.enqueue(s, "record", {"lock": None, "n": 99})  # no lock: due at once
    claimed = worker.claim(3)
    assert [j.payload["n"] for j in claimed] == [1, 2, 3]
    assert all(j.attempts == 1 for j in claimed)
    claimed = worker.claim(10)
    assert [j.payload["n"] for j in claimed] == [4, 99]  # c1..c3 run (doing), c0 waits for its first
    with db.read_sessions() as s:
        doing = s.scalars(select(Job.payload).where(Job.status == DOING).order_by(Job.id)).all()
    assert [p["n"] for p in doing] == [1, 2, 3, 4, 99]


def test_workers_claiming_at_the_same_time_never_share_a_job(db):
    queue, _ = make(db, Recorder())
    enqueue(db, queue, [(f"c{n}", n) for n in range(60)])
    workers = [make(db, Recorder())[1] for _ in range(3)]
    claimed: list[list[int]] = [[] for _ in workers]
    start = threading.Barrier(len(workers))

    def claim_all(i):
        start.wait()
        while jobs := workers[i].claim(4):
            claimed[i].extend(j.payload["n"] for j in jobs)

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [n for ids in claimed for n in ids]
    assert sorted(everything) == list(range(60))  # each job once, none left behind


def test_the_claim_walks_its_indexes_instead_of_sorting_every_due_job(db):
    """SQLite's plan of the claim (PostgreSQL chooses with its statistics: see the bench)."""
    if db.dialect != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    from sqlalchemy import event

    statements: list[tuple[str, tuple]] = []
    listener = lambda conn, cursor, sql, params, context, many: statements.append((sql, params))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        make(db, Recorder())[1].claim(5)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    (sql, params), = [(sql, params) for sql, params in statements if "UPDATE job" in sql]
    with db.engine.connect() as conn:
        plan = " / ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "USING INDEX ix_job_status_id (status=?)" in plan, plan
    assert "USING INDEX ix_job_waiting_lock (lock_key=? AND id<?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
