"""WASB_CRM=vtenext end to end with the WhatsApp channel: a real `wasb serve` between the
fake vtenext / vtiger webservice and the WhatsApp simulator (Meta's wire format), both
over real HTTP. A message comes in and becomes a ticket; agents' answers go out.
"""
from __future__ import annotations

import httpx
import pytest

from tests.crm.test_vtenext_flow import comments_on, vtenext_env
from tests.support.server import WasbServer
from tests.support.wired import SIM_SETTINGS
from wasb.simulator.app import create_app as create_simulator
from tests.support.harness import serving

CUSTOMER = "393351032246"


@pytest.fixture
def wired_crm(database_url, tmp_path, vtenext_server):
    """`wasb serve` on the fake CRM, its Graph API the simulator, whose webhooks go back to it."""
    with serving(create_simulator(SIM_SETTINGS, webhook_url="http://127.0.0.1:9/unset")) as sim_url:
        srv = WasbServer(database_url, tmp_path,
                         extra_env=vtenext_env(vtenext_server, WASB_GRAPH_URL=sim_url)).start()
        try:
            with httpx.Client(base_url=sim_url, timeout=30) as sim:
                sim.post("/_sim/config", json={"webhook_url": srv.url + "/webhooks/whatsapp",
                                               "retry_delays": [0.05, 0.1]}).raise_for_status()
                yield srv, sim
        finally:
            srv.stop()


def _sent_to(sim, wa_id: str) -> list[dict]:
    return sim.get("/_sim/sent", params={"to": wa_id}).json()


def _outbound(srv, conversation_id: int) -> list[dict]:
    messages = srv.get(f"/api/v1/conversations/{conversation_id}")["messages"]
    return [m for m in messages if m["direction"] == "out"]


def test_in_from_whatsapp_to_a_crm_ticket_and_out_from_wasb_and_the_crm_to_the_phone(wired_crm, vtenext_fake):
    srv, sim = wired_crm
    # In: the customer writes on the phone; the webhook becomes a person and a ticket in the CRM.
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Daniele", "text": "Buongiorno"}).raise_for_status()
    (conversation,) = srv.wait_until(lambda: srv.get(f"/api/v1/conversations?phone=%2B{CUSTOMER}"),
                                     what="the customer's conversation")
    srv.wait_idle()
    conversation = srv.get(f"/api/v1/conversations/{conversation['id']}")
    ticket = vtenext_fake.row(conversation["ticket_id"])
    assert ticket["description"].endswith("Buongiorno") and ticket["ticketstatus"] == "Open"

    # Out, typed in WASB: the reply reaches the phone and is marked sent (the window is open).
    reply = srv.api("POST", f"/api/v1/conversations/{conversation['id']}/messages",
                    json={"type": "text", "body": "Salve, come posso aiutarla?"})
    assert reply.status_code == 201, reply.text
    (sent,) = srv.wait_until(lambda: _sent_to(sim, CUSTOMER), what="the reply at the simulator")
    assert (sent["type"], sent["text"]) == ("text", "Salve, come posso aiutarla?")
    srv.wait_until(lambda: [m for m in _outbound(srv, conversation["id"])
                            if m["wamid"] == sent["wamid"] and m["status"] in ("sent", "delivered", "read")],
                   what="the reply sent")

    # Out, written by an agent in the CRM: the poll picks the comment up and it reaches the phone too.
    vtenext_fake.add_agent_comment(ticket["id"], "Il corriere passa domani.")
    srv.wait_until(lambda: len(_sent_to(sim, CUSTOMER)) == 2, what="the agent's comment at the simulator")
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
