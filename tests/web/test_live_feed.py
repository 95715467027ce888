"""Changes committed anywhere reach the pages: at once in this process, by polling from others."""
from __future__ import annotations

import asyncio
import secrets
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


# --- changes made by statements, not by objects ------------------------------------------

def _conversations(db, count: int, **values) -> list[int]:
    with db.sessions() as session, session.begin():
        contact = WaContact(wa_id=None, user_id=secrets.token_hex(8))
        session.add(contact)
        session.flush()
        made = [Conversation(name=f"c{n}", phone_number_id="1", wa_contact_id=contact.id, **values)
                for n in range(count)]
        session.add_all(made)
        session.flush()
        return [c.id for c in made]


def _published_ids(published) -> list[str]:
    return sorted((change.ref for batch in published for change in batch), key=int)


def test_conversations_closed_by_close_conversations_are_recorded_and_published(db, published):
    from datetime import timedelta

    from wasb.conversations.closing import close_expired
    from wasb.settings.service import AdminSettings
    from wasb.store.base import utcnow

    now = utcnow()
    old = _conversations(db, 2, last_inbound_at=now - timedelta(hours=30))
    recent = _conversations(db, 1, last_inbound_at=now - timedelta(hours=1))
    published.clear()
    with db.sessions() as session, session.begin():
        assert close_expired(session, AdminSettings(), now) == (2, 2)
    assert _published_ids(published) == [str(i) for i in old]
    with db.read_sessions() as session:
        recorded = session.scalars(select(LiveChange.ref).order_by(LiveChange.id)).all()
    assert recorded[-2:] == [str(i) for i in old] and str(recent[0]) not in recorded[-2:]


def test_a_core_update_of_messages_is_published_for_their_conversations(db, published):
    from sqlalchemy import update

    (first, second, untouched) = _conversations(db, 3)
    with db.sessions() as session, session.begin():
        session.add_all([Message(conversation_id=cid, direction="out", type="text", body="x", status="queued")
                         for cid in (first, second, untouched)])
    published.clear()
    with db.sessions() as session, session.begin():
        taken = session.scalars(update(Message).where(Message.conversation_id.in_([first, second]),
                                                      Message.status == "queued")
                                .values(status="sending").returning(Message.id)).all()
        assert len(taken) == 2  # the caller's RETURNING rows are its own, untouched by the feed
    assert _published_ids(published) == [str(first), str(second)]


def test_a_bulk_update_by_primary_key_is_published(db, published):
    from sqlalchemy import update

    (first, second, untouched) = _conversations(db, 3)
    published.clear()
    with db.sessions() as session, session.begin():
        session.execute(update(Conversation), [{"id": first, "unread": 2},
                                               {"id": second, "unread": 3}])
    assert _published_ids(published) == [str(first), str(second)]


def test_a_core_insert_of_a_message_is_published_for_its_conversation(db, published):
    from wasb.store.upsert import insert_for
    from wasb.store.base import utcnow

    (conversation,) = _conversations(db, 1)
    published.clear()
    with db.sessions() as session, session.begin():
        dialect = session.get_bind().dialect.name
        session.execute(insert_for(dialect, Message.__table__).values(
            conversation_id=conversation, direction="out", type="text", body="from the CRM", status="queued",
            crm_comment_id="9x1", timestamp=utcnow(), created_at=utcnow(), crm_pending=False,
        ).on_conflict_do_nothing(index_elements=["crm_comment_id"]))
    assert _published_ids(published) == [str(conversation)]


def test_a_statement_that_changes_nothing_or_is_rolled_back_announces_nothing(db, published):
    from sqlalchemy import update

    (conversation,) = _conversations(db, 1)
    published.clear()
    with db.sessions() as session, session.begin():
        session.execute(update(Conversation).where(Conversation.id == conversation + 100).values(unread=0))
    try:
        with db.sessions() as session, session.begin():
            session.execute(update(Conversation).where(Conversation.id == conversation).values(unread=0))
            raise RuntimeError("the job failed")
    except RuntimeError:
        pass
    assert published == []
