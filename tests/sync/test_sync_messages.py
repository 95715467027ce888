"""syncMessages reconciles what was left half-done: failed or orphaned inbound events, statuses
that arrived before their message; the outbound parts report what they sent."""
import copy
import time
from datetime import timedelta

import orjson
from sqlalchemy import func, select

from tests.conftest import load_fixture
from tests.inbound.test_inbound_to_crm import text_message
from tests.support.queue_rows import drop_jobs, engine_of
from wasb.conversations.tables import Conversation, Message, PendingStatus
from wasb.crm.embedded.crm import EmbeddedCRM
from wasb.crm.port import CRMError
from wasb.inbound.intake import store_bodies
from wasb.inbound.tables import InboundEvent
from wasb.store.base import utcnow


def status_webhook(wamid: str, status: str, timestamp: int, pricing: dict | None = None) -> dict:
    body = copy.deepcopy(load_fixture("status_sent_v23_with_pricing.json"))
    item = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    item.update(id=wamid, status=status, timestamp=str(timestamp))
    if pricing is None:
        item.pop("pricing")
    else:
        item["pricing"] = pricing
    return body


def add_outbound(live, wamid: str, at=None) -> None:
    """An outbound message as the sender stores it once Meta answered with its wamid."""
    with live.app.db.sessions() as s, s.begin():
        conversation = s.scalars(select(Conversation)).first()
        s.add(Message(wamid=wamid, conversation_id=conversation.id, direction="out", type="text", body="hi",
                      status="sending", timestamp=at or utcnow()))


def count(live, model, *where) -> int:
    with live.app.db.read_sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def event_states(live) -> list[str]:
    with live.app.db.read_sessions() as s:
        return list(s.scalars(select(InboundEvent.state).order_by(InboundEvent.id)))


def test_statuses_that_arrived_before_their_message_are_applied(live):
    live.post(text_message("393351032246", "ciao", "wamid.in1", str(int(time.time())), "Daniele"))
    live.post(status_webhook("wamid.out1", "delivered", int(time.time())))
    assert count(live, PendingStatus) == 1
    add_outbound(live, "wamid.out1")
    result = live.run("syncMessages")
    assert result["statuses_applied"] == 1
    assert count(live, PendingStatus) == 0
    with live.app.db.read_sessions() as s:
        message = s.scalars(select(Message).where(Message.wamid == "wamid.out1")).one()
        assert (message.status, message.delivered_at is not None) == ("delivered", True)


class BrokenCRM(EmbeddedCRM):
    """Fails in a way waiting does not cure (an outage only makes events wait)."""

    def find_people_by_phone(self, e164):
        raise CRMError("the CRM refused the query")


def test_failed_inbound_events_are_retried(live):
    live.app.crm_factory = lambda session: BrokenCRM(session, "IT")
    live.post(text_message("393351032246", "ciao", "wamid.f1", str(int(time.time())), "Daniele"), wait=False)
    for _ in range(200):
        if event_states(live) == ["failed"]:
            break
        live.rt.time_passes()
        time.sleep(0.05)
    assert event_states(live) == ["failed"]
    live.app.crm_factory = lambda session: EmbeddedCRM(session, "IT")  # the CRM is fixed
    result = live.run("syncMessages")
    assert len(result["retried_events"]) == 1
    live.wait_idle()
    assert event_states(live) == ["processed"]
    assert count(live, Message, Message.wamid == "wamid.f1") == 1


def test_inbound_events_left_pending_without_jobs_are_queued_again(live):
    raw = orjson.dumps(text_message("393351032246", "lost?", "wamid.s1", str(int(time.time())), "Daniele"))
    with live.app.db.sessions() as s, s.begin():
        (stored,) = store_bodies(s, live.app.queue, [raw])
        drop_jobs(s, engine_of(live.app))  # the jobs are gone (an operator's cleanup, a restore...)
    assert event_states(live) == ["pending"]
    assert live.run("syncMessages", at=utcnow() - timedelta(seconds=1))["requeued_events"] == []  # too young yet
    result = live.run("syncMessages", at=utcnow() + timedelta(minutes=2))
    assert len(result["requeued_events"]) == 1
    live.wait_idle()
    assert event_states(live) == ["processed"]
    assert count(live, Message, Message.wamid == "wamid.s1") == 1


def test_the_outbound_steps_report_what_they_did(live):
    result = live.run("syncMessages")
    assert result["retry_pending_media"] == {"requeued": 0, "expired": 0}
    assert "embedded CRM" in result["send_crm_agent_comments"]["skipped"]
    assert result["send_queued_outbound"] == {"sent": 0, "failed": 0, "waiting": 0}
