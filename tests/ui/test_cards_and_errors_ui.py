"""In the browser: a failed message shows every error Meta's status listed, live on the open
conversation; a shared contact card's "Add to CRM" button creates the lead and says so."""
from __future__ import annotations

from tests.ui.conftest import AGENT, log_in, shot
from wasb.simulator.meta_errors import CATALOGUE

CUSTOMER = "393331234588"


def test_several_errors_and_a_card_added_to_the_crm(wired_ui, context):
    card = {"name": {"formatted_name": "Chandler Bing"}, "phones": [{"phone": "+1 555-555-5555", "type": "CELL"}]}
    wired_ui.sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Giulia Verdi", "type": "contacts",
                                             "contacts": [card]}).raise_for_status()
    (conversation,) = wired_ui.server.wait_until(
        lambda: wired_ui.server.get(f"/api/v1/conversations?phone=%2B{CUSTOMER}"), what="the customer's conversation")
    wired_ui.sim.post("/_sim/inject", json={"code": 131049, "also": [131026], "to": CUSTOMER,
                                            "via": "webhook"}).raise_for_status()
    agent = context.new_page()
    log_in(agent, wired_ui.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    reply = "Le scrivo appena arriva."
    agent.get_by_role("combobox", name="Message", exact=True).fill(reply)
    agent.keyboard.press("Enter")

    failed = agent.locator("#thread .msg-out", has_text=reply).locator(".msg-errors li")
    failed.nth(1).wait_for()  # no reload: the failed status comes live
    assert failed.count() == 2
    assert "(131049)" in failed.nth(0).inner_text() and CATALOGUE[131026][2] in failed.nth(1).inner_text()

    agent.get_by_role("button", name="Add Chandler Bing to CRM").click()
    agent.get_by_text("Lead Chandler Bing added to the CRM.").wait_for()
    shot(agent, "conversation-card-and-errors")
    (lead,) = wired_ui.server.get("/api/v1/people?phone=%2B15555555555")
    assert lead["name"] == "Chandler Bing" and lead["kind"] == "lead"
