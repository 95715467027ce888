"""What an agent sees when Meta refuses or holds a message (the error injected through the
simulator's control API): the reason in our words and in Meta's, live on the open conversation."""
from __future__ import annotations

from tests.ui.conftest import AGENT, log_in
from wasb.simulator.meta_errors import CATALOGUE

CUSTOMER = "393331234567"


def _conversation(wired) -> dict:
    wired.customer_writes(CUSTOMER, "Buongiorno, avete novità?", name="Giulia Verdi")
    (conversation,) = wired.server.wait_until(
        lambda: wired.server.get(f"/api/v1/conversations?phone=%2B{CUSTOMER}"), what="the customer's conversation")
    return conversation


def test_a_message_meta_refuses_shows_why_in_our_words_and_metas(wired_ui, context):
    conversation = _conversation(wired_ui)
    wired_ui.sim.post("/_sim/inject", json={"code": 131026, "to": CUSTOMER}).raise_for_status()
    agent = context.new_page()
    log_in(agent, wired_ui.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    reply = "Le scrivo appena arriva."
    agent.get_by_role("combobox", name="Message", exact=True).fill(reply)
    agent.keyboard.press("Enter")

    refused = agent.locator("#thread .msg-out", has_text=reply).locator(".msg-error")
    refused.wait_for()  # no reload: the failure comes live
    text = refused.inner_text()
    assert "Not delivered (131026)" in text and CATALOGUE[131026][2] in text
    assert "may not be on WhatsApp" in text
    assert wired_ui.sent_to(CUSTOMER) == []


def test_a_template_held_by_meta_says_so_until_it_is_delivered(wired_ui, context):
    conversation = _conversation(wired_ui)
    wired_ui.sim.post("/_sim/templates", json={"name": "promo", "language": "it", "category": "MARKETING",
                                               "body_text": "Offerta per {{1}}!"}).raise_for_status()
    assert wired_ui.server.api("POST", "/api/v1/templates/sync").status_code == 200  # so its text is known
    wired_ui.sim.post("/_sim/inject", json={"message_status": "held_for_quality_assessment", "to": CUSTOMER,
                                            "hold_seconds": 6}).raise_for_status()
    agent = context.new_page()
    log_in(agent, wired_ui.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    answer = wired_ui.server.api("POST", f"/api/v1/conversations/{conversation['id']}/messages", json={
        "type": "template", "template": {"name": "promo", "language": "it", "parameters": ["Giulia"]}})
    assert answer.status_code == 201, answer.text
    out = agent.locator("#thread .msg-out", has_text="Offerta per Giulia!")
    out.locator(".msg-held", has_text="Held by WhatsApp for a quality check").wait_for()
    out.and_(agent.locator("[data-status='delivered']")).wait_for(timeout=30_000)
    assert out.locator(".msg-held").count() == 0 and out.locator(".msg-error").count() == 0
