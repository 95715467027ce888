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


def test_a_customers_stop_ticks_the_crm_checkbox_and_unticking_it_in_the_crm_opts_them_back_in(
        wired_crm, vtenext_fake):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from tests.support.jobs import run_job

    srv, sim = wired_crm
    saved = srv.api("PUT", "/api/v1/settings", json={"consent_crm_field": "emailoptout"})
    assert saved.status_code == 200, saved.text
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Daniele", "text": "STOP"}).raise_for_status()
    (conversation,) = srv.wait_until(lambda: srv.get(f"/api/v1/conversations?phone=%2B{CUSTOMER}"),
                                     what="the customer's conversation")
    person_id = conversation["person_id"]
    # Written by a job of its own (an external CRM is never called inside the message's transaction).
    srv.wait_until(lambda: vtenext_fake.row(person_id).get("emailoptout") == "1", what="the CRM checkbox ticked")
    assert srv.get(f"/api/v1/people/{person_id}")["consent"]["source"] == "keyword"

    # Someone unticks it in the CRM, later than WASB's change: the next syncCustomers brings it back.
    later = datetime.now(ZoneInfo(vtenext_fake.zone)) + timedelta(minutes=1)
    vtenext_fake.set_time(later.strftime("%Y-%m-%d %H:%M:%S"))
    with vtenext_fake.lock:
        vtenext_fake._row(person_id)["emailoptout"] = "0"
    vtenext_fake.touch(person_id)
    run_job(srv, "syncCustomers")
    consent = srv.get(f"/api/v1/people/{person_id}")["consent"]
    assert consent["marketing_opted_out"] is False and consent["source"] == "crm"
    assert vtenext_fake.row(person_id)["emailoptout"] == "0"  # not written back by the sync itself
