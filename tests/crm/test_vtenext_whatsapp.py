"""WASB_CRM=vtenext end to end with the WhatsApp channel: a real `wasb serve` between the
fake vtenext / vtiger webservice and the WhatsApp simulator (Meta's wire format), both
over real HTTP. A message comes in and becomes a ticket; an agent's comment in the CRM goes out.
(One message in and one reply typed in WASB out, on every wiring: tests/test_wiring.py.)
"""
from __future__ import annotations

import pytest

from tests.crm.test_vtenext_flow import comments_on, vtenext_env
from tests.support.wired import wired_process

CUSTOMER = "393351032246"


@pytest.fixture
def wired_crm(database_url, tmp_path, vtenext_server):
    """`wasb serve` on the fake CRM, its Graph API the simulator, whose webhooks go back to it."""
    with wired_process(database_url, tmp_path, vtenext_env(vtenext_server)) as (srv, sim):
        yield srv, sim


def _sent_to(sim, wa_id: str) -> list[dict]:
    return sim.get("/_sim/sent", params={"to": wa_id}).json()


def _outbound(srv, conversation_id: int) -> list[dict]:
    messages = srv.get(f"/api/v1/conversations/{conversation_id}")["messages"]
    return [m for m in messages if m["direction"] == "out"]


def test_in_from_whatsapp_to_a_crm_ticket_and_an_agents_crm_comment_out_to_the_phone(wired_crm, vtenext_fake):
    srv, sim = wired_crm
    # In: the customer writes on the phone; the webhook becomes a person and a ticket in the CRM.
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Daniele", "text": "Buongiorno"}).raise_for_status()
    (conversation,) = srv.wait_until(lambda: srv.get(f"/api/v1/conversations?phone=%2B{CUSTOMER}"),
                                     what="the customer's conversation")
    srv.wait_idle()
    conversation = srv.get(f"/api/v1/conversations/{conversation['id']}")
    ticket = vtenext_fake.row(conversation["ticket_id"])
    assert ticket["description"].endswith("Buongiorno") and ticket["ticketstatus"] == "Open"

    # Out, written by an agent in the CRM: the poll picks the comment up and it reaches the phone.
    vtenext_fake.add_agent_comment(ticket["id"], "Il corriere passa domani.")
    srv.wait_until(lambda: len(_sent_to(sim, CUSTOMER)) == 1, what="the agent's comment at the simulator")
    assert _sent_to(sim, CUSTOMER)[-1]["text"] == "Il corriere passa domani."
    srv.wait_until(lambda: [m for m in _outbound(srv, conversation["id"])
                            if m["body"] == "Il corriere passa domani." and m["status"] in ("sent", "delivered",
                                                                                            "read")],
                   what="the comment sent")
    assert [c["commentcontent"] for c in comments_on(vtenext_fake, ticket["id"])][-1] == "Il corriere passa domani."


def test_sync_templates_reaches_meta_with_a_vtenext_crm(wired_crm, vtenext_fake):
    srv, sim = wired_crm
    sim.post("/_sim/templates", json={"name": "order_update", "language": "it", "category": "UTILITY",
                                      "status": "APPROVED", "body_text": "Ciao {{1}}"}).raise_for_status()
    answer = srv.api("POST", "/api/v1/templates/sync")
    assert answer.status_code == 200, answer.text
    assert [t["name"] for t in srv.get("/api/v1/templates")] == ["order_update"]
