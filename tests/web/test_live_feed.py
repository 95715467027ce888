"""Changes committed anywhere reach the pages: at once in this process, by polling from others."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.live import feed
from wasb.live.tables import LiveChange
from wasb.store.engine import open_database


@pytest.fixture
def db(database_url):
    db = open_database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def published(monkeypatch) -> list:
    """What the hub would tell this process's open pages."""
    seen: list = []
    monkeypatch.setattr(feed.hub, "publish", seen.append)
    return seen


def _conversation(session) -> Conversation:
    contact = WaContact(wa_id="393331234567", phone_e164="+393331234567")
    session.add(contact)
    session.flush()
    conversation = Conversation(name="c", phone_number_id="1", wa_contact_id=contact.id)
    session.add(conversation)
    session.flush()
    return conversation


def test_a_committed_message_is_recorded_and_published_once(db, published):
    with db.sessions() as session, session.begin():
        conversation = _conversation(session)
        session.add(Message(conversation_id=conversation.id, direction="in", type="text", body="x",
                            status="received"))
    with db.read_sessions() as session:
        rows = session.scalars(select(LiveChange)).all()
    assert [(r.topic, r.ref, r.origin) for r in rows] == [("conversation", str(conversation.id), feed.ORIGIN)]
    assert published == [[feed.Change("conversation", str(conversation.id))]]


def test_a_batch_of_savepoints_is_recorded_and_published_once_at_the_outer_commit(db, published):
    """The worker runs batched jobs in savepoints: nothing is announced before the real
    commit, and a job rolled back to its savepoint does not lose the others' changes."""
    with db.sessions() as session, session.begin():
        with session.begin_nested():
            first = _conversation(session)
        try:
            with session.begin_nested():
                session.add(Message(conversation_id=first.id, direction="in", type="text", body="x",
                                    status="received"))
                session.flush()
                raise RuntimeError("this job failed")
        except RuntimeError:
            pass
        with session.begin_nested():
            second = Conversation(name="d", phone_number_id="1", wa_contact_id=first.wa_contact_id)
            session.add(second)
        assert published == []
    with db.read_sessions() as session:
        refs = session.scalars(select(LiveChange.ref).order_by(LiveChange.id)).all()
    assert refs == [str(first.id), str(second.id)]
    assert published == [[feed.Change("conversation", str(first.id)), feed.Change("conversation", str(second.id))]]


def test_a_rolled_back_change_is_neither_recorded_nor_published(db, published):
    try:
        with db.sessions() as session, session.begin():
            _conversation(session)
            raise RuntimeError("the CRM failed")
    except RuntimeError:
        pass
    with db.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(LiveChange)) == 0
    assert published == []


def test_the_poller_publishes_changes_written_by_other_processes_only(db):
    poller = feed.Poller(db)
    poller.start()
    poller.stop()  # polled by hand below
    with db.sessions() as session, session.begin():
        session.add_all([LiveChange(topic="conversation", ref="5", origin="another-process"),
                         LiveChange(topic="conversation", ref="6", origin=feed.ORIGIN)])

    async def receive():
        queue = feed.hub.subscribe()
        try:
            assert poller.poll_once() == 1
            return await asyncio.wait_for(queue.get(), 5)
        finally:
            feed.hub.unsubscribe(queue)

    # In a thread of its own: the browser tests' Playwright keeps a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        received = pool.submit(asyncio.run, receive()).result(10)
    assert received == [feed.Change("conversation", "5")]
    assert poller.poll_once() == 0  # seen once, never again
