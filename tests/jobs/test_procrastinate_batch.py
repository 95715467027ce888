"""The batch loop of the procrastinate engine on a real PostgreSQL: many customers' jobs in
one transaction, a failing job rolled back alone, and one customer's order kept across the
batch queue and procrastinate's own queue (tests/jobs/test_procrastinate_engine.py runs
the try semantics and the kill -9 on both; the contract tests run on the batch queue too)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, text

from tests.support.databases import BACKEND
from tests.support.statements import counting
from wasb.jobs.procrastinate_queue import BATCH_QUEUE, QUEUE_NAME, ProcrastinateQueue
from wasb.jobs.procrastinate_worker import ProcrastinateWorker
from wasb.jobs.queue import TODO, Task

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate runs on PostgreSQL only")


@pytest.fixture
def db(db):
    with db.sessions() as s, s.begin():
        s.execute(text("CREATE TABLE batch_probe (n integer PRIMARY KEY, tx bigint)"))
    return db


def probe(_app, session, payload) -> None:
    """Writes a row in the job's transaction (kept only if the job's work is), then fails when told."""
    session.execute(text("INSERT INTO batch_probe (n, tx) VALUES (:n, txid_current())"), {"n": payload["n"]})
    if payload.get("fail"):
        raise RuntimeError(f"job {payload['n']} failed")


def _rows(db) -> dict[int, int]:
    with db.read_sessions() as s:
        return dict(s.execute(text("SELECT n, tx FROM batch_probe")).all())


def _jobs(db) -> list[tuple[str, str, int]]:
    with db.read_sessions() as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT queue_name, status::text, (args->'payload'->>'n')::int FROM procrastinate_jobs ORDER BY id"))]


def test_a_batch_runs_many_customers_jobs_in_one_transaction(db):
    tasks = {"probe": Task("probe", probe)}
    queue = ProcrastinateQueue(tasks, batchable={"probe"})
    worker = ProcrastinateWorker(None, db, tasks, concurrency=1, poll_seconds=0.05, batch_size=64)
    with db.sessions() as s, s.begin():
        queue.enqueue_many(s, [{"task": "probe", "payload": {"n": n}, "lock": f"customer:{n}"} for n in range(40)])
    assert {q for q, _, _ in _jobs(db)} == {BATCH_QUEUE}
    commits = []

    def committed(_conn) -> None:
        commits.append(1)

    event.listen(db.engine, "commit", committed)
    try:
        with counting(db.engine) as seen:
            assert worker.drain()
    finally:
        event.remove(db.engine, "commit", committed)
    rows = _rows(db)
    assert sorted(rows) == list(range(40)) and len(set(rows.values())) == 1  # one transaction did them all
    assert _jobs(db) == []  # and removed them
    fetches = [q for q in seen.queue if "UPDATE procrastinate_jobs SET status = 'doing'" in q]
    deletes = [q for q in seen.queue if q.startswith("DELETE FROM procrastinate_jobs")]
    assert [q for q in seen.work if "procrastinate" in q] == []  # the 40 jobs' own work only
    # One fetch that found the 40, one that found nothing; one delete; a SAVEPOINT per job.
    assert (len(fetches), len(deletes)) == (2, 1)
    assert len([c for c in seen.control if c.upper().startswith("SAVEPOINT")]) == 40
    # register, the fetch, the batch, the empty fetch, unregister: not one per job.
    assert len(commits) == 5


def test_a_failing_job_in_a_batch_is_rolled_back_alone_the_others_are_kept(db):
    tasks = {"probe": Task("probe", probe, max_attempts=3)}
    queue = ProcrastinateQueue(tasks, batchable={"probe"})
    worker = ProcrastinateWorker(None, db, tasks, concurrency=1, poll_seconds=0.05)
    with db.sessions() as s, s.begin():
        queue.enqueue_many(s, [{"task": "probe", "payload": {"n": n, "fail": n == 3}, "lock": f"customer:{n}",
                                "ref": f"event:{n}"} for n in range(6)])
    assert worker.drain()
    rows = _rows(db)
    assert sorted(rows) == [0, 1, 2, 4, 5] and len(set(rows.values())) == 1
    with db.read_sessions() as s:
        (failed,) = queue.jobs_of(s, ["event:3"])
    # Its first attempt spent, waiting for its backoff; the error kept for the jobs page.
    assert (failed.status, failed.attempts, failed.waiting) == (TODO, 1, True)
    assert "job 3 failed" in failed.last_error
    assert _jobs(db) == [(BATCH_QUEUE, "todo", 3)]


def test_a_customers_order_holds_across_the_batch_queue_and_procrastinates_own(db):
    """A message's processing (batched), then its send (procrastinate's worker, alone), then
    the next message: the send waits for the processing and the next processing for the send."""
    ran: list[tuple[str, str, int]] = []
    guard = threading.Lock()

    def record(kind):
        def run(_app, _session, payload):
            if kind == "send":
                time.sleep(0.01)  # a send takes a while: the next processing must still wait for it
            with guard:
                ran.append((payload["customer"], kind, payload["n"]))
        return run

    tasks = {"process": Task("process", record("process")), "send": Task("send", record("send"))}
    queue = ProcrastinateQueue(tasks, batchable={"process"})
    customers = [f"c{i}" for i in range(6)]
    items = [{"task": kind, "payload": {"customer": c, "n": n}, "lock": f"customer:{c}"}
             for n in range(4) for kind in ("process", "send") for c in customers]
    with db.sessions() as s, s.begin():
        queue.enqueue_many(s, items)
    assert {q for q, _, _ in _jobs(db)} == {BATCH_QUEUE, QUEUE_NAME}
    worker = ProcrastinateWorker(None, db, tasks, concurrency=4, poll_seconds=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while _jobs(db) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert _jobs(db) == []
    for c in customers:
        assert [(kind, n) for who, kind, n in ran if who == c] == [
            (kind, n) for n in range(4) for kind in ("process", "send")]
