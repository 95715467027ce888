"""Open pages hear of every step of a send (the sender writes most of them with Core
statements, not objects), and of conversations closeConversations closes."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select, update

from tests.support.wired import wired_service
from wasb.conversations.tables import Conversation, Message
from wasb.live import feed
from wasb.store.base import utcnow

CUSTOMER = "393351032246"


class Announcements:
    """What this process's open pages are told, with the statuses of the outbound messages
    at that moment (read as the change is published: right after its commit, before the
    sender goes on)."""

    def __init__(self, db, monkeypatch):
        self.seen: list[tuple[str, dict[int, str]]] = []
        self.lock = threading.Lock()
        publish = feed.hub.publish

        def recording(changes):
            with db.read_sessions() as s:
                statuses = dict(s.execute(select(Message.id, Message.status).where(Message.direction == "out")).all())
            with self.lock:
                self.seen += [(c.ref, statuses) for c in changes]
            publish(changes)

        monkeypatch.setattr(feed.hub, "publish", recording)

    def statuses_of(self, conversation_id: int, message_id: int) -> list[str]:
        with self.lock:
            return [statuses[message_id] for ref, statuses in self.seen
                    if ref == str(conversation_id) and message_id in statuses]


def _customer_writes(wired) -> dict:
    answer = wired.sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Daniele", "text": "Buongiorno"})
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text
    return wired.wait_until(lambda: next(iter(wired.get("/api/v1/conversations")), None), what="the conversation")


def test_every_step_of_a_send_reaches_the_open_pages(database_url, tmp_path, monkeypatch):
    with wired_service(database_url, tmp_path) as wired:
        conversation = _customer_writes(wired)
        announced = Announcements(wired.app.db, monkeypatch)
        row = wired.api("POST", f"/api/v1/conversations/{conversation['id']}/messages",
                        json={"type": "text", "body": "Certo"})
        assert row.status_code == 201, row.text
        told = lambda: announced.statuses_of(conversation["id"], row.json()["id"])  # noqa: E731
        wired.wait_until(lambda: "read" in told() or None, what="the read tick announced")
        # `sending` is written by a Core UPDATE before the call to Meta; `sent` with the wamid after it.
        assert {"queued", "sending", "sent", "read"} <= set(told()), told()
        assert told().index("sending") < told().index("sent")


def test_conversations_closed_by_a_close_conversations_run_reach_the_open_pages(database_url, tmp_path, monkeypatch):
    with wired_service(database_url, tmp_path) as wired:
        conversation = _customer_writes(wired)
        with wired.app.db.sessions() as s, s.begin():
            s.execute(update(Conversation).values(last_inbound_at=utcnow() - timedelta(hours=30)))
        told: list[str] = []
        publish = feed.hub.publish
        monkeypatch.setattr(feed.hub, "publish", lambda changes: (told.extend(c.ref for c in changes),
                                                                   publish(changes)))
        answer = wired.api("POST", "/api/v1/jobs/closeConversations/run")
        assert answer.status_code == 202, answer.text
        wired.wait_until(lambda: wired.get(f"/api/v1/conversations/{conversation['id']}")["status"] == "closed",
                         what="the conversation closed")
        wired.wait_until(lambda: str(conversation["id"]) in told or None, what="the close announced")
