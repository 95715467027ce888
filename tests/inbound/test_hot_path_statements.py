"""The inbound worker's SQL for one customer message, statement by statement (the embedded
CRM, in one transaction). Counted on the write engine while the worker processes stored
events; the queue's own claim and delete of its jobs, and transaction control (BEGIN,
SAVEPOINT, RELEASE), are counted apart (tests/support/statements.py).

Per transaction, whatever the number of messages in the worker's batch: the admin settings
(2 SELECTs), the outgoing webhooks' endpoints (1 SELECT) and the live feed's row(s) (1 INSERT).
Per message: the rest."""
from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select, text

from tests.support.databases import BACKEND
from tests.support.runtime import build, test_config, worker_of
from tests.support.statements import Statements, counting
from wasb.conversations import search
from wasb.conversations.tables import Conversation, Message
from wasb.crm.embedded.tables import CrmComment, CrmTicket
from wasb.inbound.intake import store_bodies
from wasb.inbound.tables import PROCESSED, InboundEvent

PER_TRANSACTION = ["SELECT setting", "SELECT app_user", "SELECT webhook_endpoint", "INSERT live_change"]
NEW_CUSTOMER = ["UPDATE inbound_event",  # the job's customer done, the body read
                "UPDATE wa_contact",  # not known yet (nothing updated)
                "SELECT crm_person", "INSERT crm_person",  # no CRM record has the number: a lead
                "INSERT wa_contact",  # the entry, linked to the lead
                "INSERT crm_ticket", "INSERT conversation", "INSERT message"]
KNOWN_CUSTOMER = ["UPDATE inbound_event",
                  "UPDATE wa_contact",  # found and told the message time
                  "UPDATE conversation",  # the open one found, the message counted in it
                  "SELECT crm_ticket",  # still open?
                  "INSERT crm_comment", "INSERT message"]
STATUS_CHANGES = ["UPDATE crm_ticket"]  # Open -> Answered by customer, before the message


def text_message(wa_id: str, text: str, wamid: str, timestamp: int) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": f"Customer {wa_id[-3:]}"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(timestamp), "type": "text",
                          "text": {"body": text}}]}}]}]}


class Product:
    def __init__(self, app):
        self.app, self.worker = app, worker_of(app)
        self.sent = 0

    def process(self, *wa_ids: str) -> Statements:
        """One text message of each customer, stored, then processed by the worker (one batch)."""
        bodies = []
        for wa_id in wa_ids:
            self.sent += 1
            bodies.append(orjson.dumps(text_message(wa_id, f"message {self.sent}", f"wamid.{self.sent}",
                                                    1764000000 + self.sent)))
        with self.app.db.sessions() as s, s.begin():
            store_bodies(s, self.app.queue, bodies)
        with counting(self.app.db.engine) as seen:
            assert self.worker.drain()
        with self.app.db.read_sessions() as s:
            assert set(s.scalars(select(InboundEvent.state))) == {PROCESSED}
        return seen


@pytest.fixture
def product(database_url, tmp_path):
    app = build(test_config(database_url, tmp_path))
    yield Product(app)
    app.db.dispose()


@pytest.fixture(params=["embedded"] + (["procrastinate"] if BACKEND == "postgresql" else []))
def batching_product(request, database_url, tmp_path):
    """A worker that runs the inbound jobs it takes in one transaction: the embedded engine's,
    and procrastinate's batch loop (the inbound task is in its batch queue)."""
    app = build(test_config(database_url, tmp_path, queue=request.param))
    yield Product(app)
    app.db.dispose()


def per_message(seen: Statements) -> list[str]:
    summary = seen.summary()
    for shared in PER_TRANSACTION:
        summary.remove(shared)
    return summary


def test_a_new_customer_costs_eight_statements_and_a_known_one_six_or_seven(product):
    new = product.process("393330000001")
    assert per_message(new) == NEW_CUSTOMER
    assert sorted(new.summary()) == sorted(NEW_CUSTOMER + PER_TRANSACTION)

    first_reply = product.process("393330000001")  # the ticket is Open: the comment marks it answered
    assert per_message(first_reply) == KNOWN_CUSTOMER[:-1] + STATUS_CHANGES + KNOWN_CUSTOMER[-1:]
    again = product.process("393330000001")  # already answered: no status to write
    assert per_message(again) == KNOWN_CUSTOMER

    with product.app.db.read_sessions() as s:
        (conversation,) = s.scalars(select(Conversation)).all()
        assert conversation.unread == 3 and conversation.ticket_id
        (ticket,) = s.scalars(select(CrmTicket)).all()
        assert str(ticket.id) == conversation.ticket_id and ticket.status == "Answered by customer"
        comments = s.scalars(select(CrmComment.body).order_by(CrmComment.id)).all()
        assert comments == ["message 2", "message 3"]
        messages = s.execute(select(Message.body, Message.crm_comment_id, Message.crm_pending)
                             .order_by(Message.id)).all()
        assert [(m.body, m.crm_comment_id is not None, m.crm_pending) for m in messages] == [
            ("message 1", False, False), ("message 2", True, False), ("message 3", True, False)]


def test_in_a_batch_the_settings_and_the_live_feed_are_paid_once(batching_product):
    product = batching_product
    customers = [f"39333000010{i}" for i in range(4)]
    product.process(*customers)
    product.process(*customers)  # their tickets become answered
    batch = product.process(*customers)
    assert len(batch.work) == len(PER_TRANSACTION) + len(customers) * len(KNOWN_CUSTOMER)
    assert sorted(batch.summary()) == sorted(PER_TRANSACTION + KNOWN_CUSTOMER * len(customers))


@pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL's pg_trgm index keeps itself")
def test_the_search_index_is_filled_by_the_message_that_completes_a_batch(product, monkeypatch):
    monkeypatch.setattr(search, "BATCH", 3)
    first = product.process("393330000001", "393330000002")  # messages 1 and 2: no indexing
    assert not [s for s in first.summary() if "message_search" in s]
    third = product.process("393330000001")  # message 3 indexes 1..3 (two statements, once per batch)
    assert [s for s in third.summary() if "message_search" in s] == ["INSERT message_search",
                                                                     "UPDATE message_search_mark"]
    with product.app.db.read_sessions() as s:
        assert s.scalar(text("SELECT indexed_to FROM message_search_mark")) == 3
        assert s.scalar(text("SELECT count(*) FROM message_search WHERE body LIKE '%message 2%'")) == 1
