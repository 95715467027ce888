"""Read receipts to the customer: an agent opening a conversation marks the customer's last
message read at Meta (blue ticks on their side), once; an agent writing shows them "typing…".
Through a real server (served in the test's process) and the simulator, which records every
mark-as-read it is asked for (GET /_sim/read); one server for the module, a customer per test."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.outbound.conftest import sim_overrides
from tests.outbound.flows import customer_writes
from tests.support.inprocess import module_service
from tests.support.ui_http import add_user, logged_in, page_csrf
from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation
from wasb.store.base import utcnow
from wasb.store.engine import open_database


@pytest.fixture(scope="module")
def shared(tmp_path_factory, simulator_url, sim_settings):
    with module_service(tmp_path_factory, "readreceipts", **sim_overrides(simulator_url, sim_settings)) as service:
        add_user(service.database_url, "giulia", "giulia-password")
        yield service


@pytest.fixture
def wasb(shared, sim):
    sim.post("/_sim/config", json={"webhook_url": shared.url + "/webhooks/whatsapp"}).raise_for_status()
    return shared


@pytest.fixture
def agent(wasb):
    client = logged_in(wasb.url, "giulia", "giulia-password")
    yield client
    client.close()


def writes(sim, wasb, wa_id, text):
    """The customer writes; the wamid Meta gave their message, and their conversation."""
    answer = sim.post("/_sim/inbound", json={"from": wa_id, "name": "Daniele", "text": text})
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text
    wasb.wait_idle()
    (conversation,) = [c for c in wasb.get("/api/v1/conversations") if c["contact"]["wa_id"] == wa_id]
    return answer.json()["wamid"], conversation


def reads_settled(wasb, conversation_id):
    """No mark-as-read job of the conversation's customer messages waits or runs (so "nothing
    more was marked" is a fact, not a race)."""
    refs = [f"message:{m['id']}" for m in wasb.get(f"/api/v1/conversations/{conversation_id}")["messages"]
            if m["direction"] == "in"]

    def settled():
        with wasb.app.db.read_sessions() as session:
            return not [j for j in wasb.app.queue.jobs_of(session, refs) if j.waiting]
    wasb.wait_until(settled, 60, "the mark-as-read jobs done")


def marks(sim):
    return [(m["wamid"], m["typing"]) for m in sim.get("/_sim/read").json()]


def test_opening_the_conversation_marks_the_last_customer_message_read_once(wasb, sim, agent):
    customer = "393351000701"
    customer_writes(sim, wasb, text="Buongiorno", wa_id=customer)
    last, conversation = writes(sim, wasb, customer, "ci sentiamo?")
    page = agent.get(f"/ui/conversations/{conversation['id']}")
    assert page.status_code == 200
    wasb.wait_until(lambda: marks(sim), 60, "a mark-as-read at the simulator")
    # Opened again, and its live refresh: the message is marked already.
    assert agent.get(f"/ui/conversations/{conversation['id']}").status_code == 200
    assert agent.get(f"/ui/conversations/{conversation['id']}/thread").status_code == 200
    reads_settled(wasb, conversation["id"])
    assert marks(sim) == [(last, False)]  # the last message only (Meta marks the earlier ones with it)
    # A new message from the customer, read through the API as an agent's screen shows it: marked too.
    newer, _ = writes(sim, wasb, customer, "ci sono")
    assert wasb.api("GET", f"/api/v1/conversations/{conversation['id']}?mark_read=true").status_code == 200
    wasb.wait_until(lambda: (newer, False) in marks(sim), 60, "the newer message marked read")
    assert wasb.get(f"/api/v1/conversations/{conversation['id']}")["unread"] == 0


def test_with_the_setting_off_opening_a_conversation_marks_nothing(wasb, sim, agent):
    customer = "393351000702"
    _, conversation = writes(sim, wasb, customer, "Buongiorno")
    saved = wasb.api("PUT", "/api/v1/settings", json={"mark_read_on_open": False})
    assert saved.status_code == 200, saved.text
    try:
        assert agent.get(f"/ui/conversations/{conversation['id']}").status_code == 200
        reads_settled(wasb, conversation["id"])
        assert marks(sim) == []
    finally:
        assert wasb.api("PUT", "/api/v1/settings", json={"mark_read_on_open": True}).status_code == 200


def test_an_agent_typing_shows_the_customer_a_typing_indicator_and_needs_the_csrf_token(wasb, sim, agent):
    customer = "393351000703"
    wamid, conversation = writes(sim, wasb, customer, "Buongiorno")
    path = f"/ui/conversations/{conversation['id']}"
    saved = wasb.api("PUT", "/api/v1/settings", json={"mark_read_on_open": False})  # only the typing call
    assert saved.status_code == 200, saved.text
    try:
        csrf = page_csrf(agent, path)
        refused = agent.post(f"{path}/typing", headers={"X-Requested-With": "fetch"})
        assert refused.status_code == 403
        reads_settled(wasb, conversation["id"])
        assert marks(sim) == []
        typing = agent.post(f"{path}/typing", headers={"X-Requested-With": "fetch", "X-CSRF-Token": csrf})
        assert typing.status_code == 204, typing.text
        wasb.wait_until(lambda: marks(sim) == [(wamid, True)], 60, "a typing indicator at the simulator")
        state = sim.get("/phone/api/state", params={"customer": customer}).json()
        assert state["business_typing"] is True
    finally:
        assert wasb.api("PUT", "/api/v1/settings", json={"mark_read_on_open": True}).status_code == 200


def test_a_transient_error_is_retried_and_a_refusal_is_not(wasb, sim, agent):
    customer = "393351000704"
    wamid, conversation = writes(sim, wasb, customer, "Buongiorno")
    sim.post("/_sim/inject", json={"code": 131016, "to": customer, "applies_to": "read"}).raise_for_status()
    assert agent.get(f"/ui/conversations/{conversation['id']}").status_code == 200
    wasb.wait_until(lambda: marks(sim) == [(wamid, False)], 60, "the mark-as-read, tried again")
    assert sim.get("/_sim/inject").json() == []  # the first try met the injected 503

    other = "393351000705"
    refused_wamid, refused = writes(sim, wasb, other, "Salve")
    sim.post("/_sim/inject", json={"code": 100, "to": other, "applies_to": "read"}).raise_for_status()
    assert agent.get(f"/ui/conversations/{refused['id']}").status_code == 200
    reads_settled(wasb, refused["id"])
    assert sim.get("/_sim/inject").json() == []  # Meta was asked, and refused
    assert agent.get(f"/ui/conversations/{refused['id']}").status_code == 200  # not asked again
    reads_settled(wasb, refused["id"])
    assert (refused_wamid, False) not in marks(sim)  # asked again, it would have gone through


def test_outside_the_24_hour_window_neither_read_nor_typing_goes_to_meta(wasb, sim, agent):
    customer = "393351000706"
    _, conversation = writes(sim, wasb, customer, "Buongiorno")
    long_ago = utcnow() - timedelta(hours=25)
    db = open_database(wasb.database_url)
    try:
        with db.sessions() as s, s.begin():
            s.execute(update(Conversation).where(Conversation.id == conversation["id"]).values(last_inbound_at=long_ago))
            s.execute(update(WaContact).where(WaContact.wa_id == customer).values(last_inbound_at=long_ago))
    finally:
        db.dispose()
    path = f"/ui/conversations/{conversation['id']}"
    assert agent.get(path).status_code == 200
    typing = agent.post(f"{path}/typing", headers={"X-Requested-With": "fetch", "X-CSRF-Token": page_csrf(agent, path)})
    assert typing.status_code == 204
    reads_settled(wasb, conversation["id"])
    assert marks(sim) == []
