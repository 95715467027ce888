"""Canned replies in the browser, in English and Italian: an agent creates one on its page,
types `/` in a conversation's composer, moves through the picker with the arrows (Esc
closes it), picks the reply (Enter, or a click), and sends it: the customer's phone gets the
text with the placeholders filled from the CRM record, the ticket and the agent.

One service wired to the simulator for the module; a customer and an agent per language."""
from __future__ import annotations

import pytest

from tests.support.wired import module_wired
from tests.ui.conftest import PHONE, create_users, log_in, shot

WORDS = {"en": {"page": "Canned replies", "create": "Create", "team": "team", "personal": "personal"},
         "it": {"page": "Risposte rapide", "create": "Crea", "team": "tutto il team", "personal": "personale"}}
CUSTOMERS = {"en": ("393335550001", "Marco Rossi"), "it": ("393335550002", "Lucia Verdi")}


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "ui-canned-replies") as w:
        create_users(w, [dict(username=f"agent-{lang}", password=f"agent-password-{lang}", language=lang)
                         for lang in WORDS])
        # The team's reply, written by an admin through the API: in every agent's picker.
        answer = w.api("POST", "/api/v1/canned-replies", json={
            "shortcut": "shipping-info", "title": "Shipping times", "body": "We ship in 2 days.", "shared": True})
        assert answer.status_code == 201, answer.text
        yield w


@pytest.mark.parametrize("lang", ["en", "it"])
def test_an_agent_creates_a_canned_reply_and_sends_it_filled_from_the_composer(wired, page, lang):
    words = WORDS[lang]
    agent = f"agent-{lang}"
    wa_id, customer = CUSTOMERS[lang]
    answer = wired.sim.post("/_sim/inbound", json={"from": wa_id, "name": customer, "text": "Where is my parcel?"})
    assert answer.json()["webhook_status"] == 200, answer.text
    wired.wait_idle()
    (conversation,) = wired.get(f"/api/v1/conversations?phone=%2B{wa_id}")
    ticket = wired.get(f"/api/v1/tickets/{conversation['ticket_id']}")

    # The page, from the sidebar.
    log_in(page, wired.url, (agent, f"agent-password-{lang}"))
    page.locator('.rail a[href="/ui/canned-replies"]').click()
    page.wait_for_url("**/ui/canned-replies")
    assert page.locator("h1").inner_text() == words["page"]
    page.locator("#new-shortcut").fill(f"ship-{lang}")
    page.locator("#new-title").fill("Parcel shipped")
    page.locator("#new-body").fill("Hi {{first_name}}, your parcel for ticket {{ticket_no}} left today. "
                                   "{{agent}} {{tracking}}")
    page.get_by_role("button", name=words["create"]).click()
    row = page.locator(f'tr[data-canned="ship-{lang}"]')
    row.wait_for()
    assert "Parcel shipped" in row.inner_text()
    shot(page, f"canned-replies-page-{lang}")
    row.locator("summary").click()  # Edit: the reply's form, as saved
    assert row.locator(f"#edit-{row.get_attribute('data-id')}-title").input_value() == "Parcel shipped"
    shot(page, f"canned-replies-edit-{lang}")
    row.locator("summary").click()

    # The composer: "/ship" shows both replies, the arrows move, Esc closes.
    page.goto(f"{wired.url}/ui/conversations/{conversation['id']}")
    body = page.locator("#message-body")
    body.click()
    body.press_sequentially("/ship")
    picker = page.locator("#canned-picker")
    picker.wait_for(state="visible")
    options = picker.locator(".canned-option")
    assert options.count() == 2
    assert [options.nth(i).locator("code").inner_text() for i in range(2)] == [f"/ship-{lang}", "/shipping-info"]
    assert options.nth(0).locator(".chip").inner_text() == words["personal"]
    assert options.nth(1).locator(".chip").inner_text() == words["team"]
    assert options.nth(0).get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowDown")
    assert options.nth(1).get_attribute("aria-selected") == "true"
    shot(page, f"canned-replies-picker-{lang}")
    page.keyboard.press("ArrowUp")
    assert options.nth(0).get_attribute("aria-selected") == "true"
    page.keyboard.press("Escape")
    picker.wait_for(state="hidden")
    assert body.input_value() == "/ship" and body.evaluate("el => el === document.activeElement")

    # Typing on filters the list again: one left, picked with Enter (English) or a click (Italian).
    body.press_sequentially("-")
    picker.wait_for(state="visible")
    assert options.count() == 1
    if lang == "en":
        page.keyboard.press("Enter")
    else:
        options.first.click()
    expected = (f"Hi {customer.split()[0]}, your parcel for ticket {ticket['number']} left today. "
                f"{agent} {{{{tracking}}}}")
    page.wait_for_function("want => document.querySelector('#message-body').value === want", arg=expected)
    picker.wait_for(state="hidden")
    assert wired.sim.get("/_sim/sent", params={"to": wa_id}).json() == []  # picking sent nothing

    # The agent completes what was left, and sends.
    body.press("End")
    for _ in range(len("{{tracking}}")):
        body.press("Backspace")
    body.press_sequentially("(TRK123)")
    shot(page, f"canned-replies-filled-{lang}")
    body.press("Enter")
    sent_text = expected.replace("{{tracking}}", "(TRK123)")
    (sent,) = wired.wait_until(lambda: wired.sim.get("/_sim/sent", params={"to": wa_id}).json(),
                               what="the canned reply at the simulated phone")
    assert sent["text"] == sent_text
    page.locator(".msg-out", has_text="(TRK123)").wait_for()


def test_the_picker_fits_a_phone_screen(wired, browser):
    wa_id = "393335550003"
    assert wired.sim.post("/_sim/inbound", json={"from": wa_id, "name": "Sara Neri", "text": "Ciao"}).status_code == 200
    wired.wait_idle()
    (conversation,) = wired.get(f"/api/v1/conversations?phone=%2B{wa_id}")
    ctx = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        ctx.set_default_timeout(30_000)
        page = ctx.new_page()
        log_in(page, wired.url, ("agent-en", "agent-password-en"), next_path=f"/ui/conversations/{conversation['id']}")
        page.locator("#message-body").press_sequentially("/")
        option = page.locator("#canned-picker .canned-option", has_text="/shipping-info")
        option.wait_for()
        box, screen = option.bounding_box(), page.viewport_size
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= screen["width"], (box, screen)
        shot(page, "canned-replies-picker-phone")
        option.click()
        page.wait_for_function("() => document.querySelector('#message-body').value === 'We ship in 2 days.'")
    finally:
        ctx.close()
