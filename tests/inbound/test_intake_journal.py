"""The intake journal (SQLite): a webhook is durable in a file only the intake writes, so
its answer never waits for the worker's write lock; the worker moves each body into the
service database exactly once, whenever it is stopped."""
from __future__ import annotations

import asyncio
import sqlite3
import threading

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from tests.inbound.test_inbound_to_crm import text_message
from tests.support.databases import BACKEND
from tests.support.inprocess import start_in_process
from tests.support.runtime import build, test_config, wait_idle
from tests.support.server import APP_SECRET
from wasb.inbound.journal import JournalMover, JournalWriter, journal_path
from wasb.inbound.tables import InboundEvent
from wasb.jobs.tables import Job
from wasb.whatsapp.signature import HEADER, sign_body

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the journal exists beside a SQLite database only")


def body(i: int) -> bytes:
    return orjson.dumps(text_message(f"39333{i:07d}", f"hello {i}", f"wamid.j{i}"))


def counts(db) -> tuple[int, int]:
    with db.read_sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundEvent)), s.scalar(select(func.count()).select_from(Job))


@pytest.fixture
def product(database_url, tmp_path):
    """The product built, nothing started: the test moves the journal by hand."""
    app = build(test_config(database_url, tmp_path))
    yield app
    app.db.dispose()


def write(app, bodies: list[bytes]) -> None:
    writer = JournalWriter(journal_path(app.db.url), app.db)
    writer.start()
    try:
        async def all_stored():
            return await asyncio.gather(*(writer.store(b) for b in bodies))
        asyncio.run(all_stored())
    finally:
        writer.stop()


def test_an_accepted_body_is_in_the_journal_until_the_worker_moves_it_once(product):
    write(product, [body(i) for i in range(3)])
    assert counts(product.db) == (0, 0)  # durable, not yet an event
    mover = JournalMover(journal_path(product.db.url), product.db, product.queue)
    assert mover() == 3
    assert counts(product.db) == (3, 3)  # an event and its customer's job each
    assert mover() == 0  # moved: never again, though the rows are still in the file
    write(product, [body(3)])  # the writer deletes what was moved as it goes on
    assert mover() == 1 and counts(product.db) == (4, 4)
    mover.close()


def test_a_move_stopped_before_its_commit_is_done_again_and_only_once(product, monkeypatch):
    write(product, [body(i) for i in range(5)])
    mover = JournalMover(journal_path(product.db.url), product.db, product.queue)

    def killed(session, up_to):
        raise RuntimeError("the worker dies here, before its commit")
    monkeypatch.setattr(mover, "_record_moved", killed)
    with pytest.raises(RuntimeError):
        mover()
    assert counts(product.db) == (0, 0)  # nothing half-moved
    monkeypatch.undo()
    assert mover() == 5 and mover() == 0
    assert counts(product.db) == (5, 5)
    mover.close()


def test_a_journal_made_anew_is_moved_from_its_start(product):
    write(product, [body(1)])
    path = journal_path(product.db.url)
    first = JournalMover(path, product.db, product.queue)
    assert first() == 1
    first.close()
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()  # an operator deleted the journal (its cursor stays in the database)
    write(product, [body(2), body(3)])
    second = JournalMover(path, product.db, product.queue)
    assert second() == 2 and counts(product.db) == (3, 3)
    second.close()


def test_the_webhook_is_answered_while_the_worker_holds_the_database_write_lock(database_url, tmp_path):
    server = start_in_process(database_url, tmp_path)
    try:
        path = server.app.db.url.removeprefix("sqlite:///")
        busy_worker = sqlite3.connect(path, isolation_level=None)
        busy_worker.execute("BEGIN IMMEDIATE")  # as a long batch of the worker would
        answers = []
        try:
            raw = body(7)
            posted = threading.Thread(target=lambda: answers.append(httpx.post(
                server.url + "/webhooks/whatsapp", content=raw, timeout=20,
                headers={HEADER: sign_body(raw, APP_SECRET), "Content-Type": "application/json"})))
            posted.start()
            posted.join(15)  # the service database stays locked all along
            assert answers and answers[0].status_code == 200, "the webhook waited for the database's write lock"
        finally:
            busy_worker.execute("ROLLBACK")
            busy_worker.close()
        server.app.intake.wake()
        wait_idle(server.app)
        with server.app.db.read_sessions() as s:
            assert s.scalar(select(InboundEvent.state)) == "processed"
    finally:
        server.stop()


def test_health_says_busy_past_the_backlog_bound_and_still_takes_webhooks(database_url, tmp_path):
    server = start_in_process(database_url, tmp_path, worker=False, backlog_busy_items=2)
    try:
        for i in range(3):
            raw = body(i)
            answer = httpx.post(server.url + "/webhooks/whatsapp", content=raw,
                                headers={HEADER: sign_body(raw, APP_SECRET), "Content-Type": "application/json"})
            assert answer.status_code == 200
        health = httpx.get(server.url + "/healthz")
        assert health.status_code == 200
        report = health.json()
        assert report["status"] == "busy"
        assert report["queue"]["intake_waiting"] == 3 and report["queue"]["busy"] is True
        assert report["queue"]["age_seconds"] >= 0
    finally:
        server.stop()
