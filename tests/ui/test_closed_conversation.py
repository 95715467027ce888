"""A closed conversation in the browser: the composer is disabled with a hint, Reopen
brings it back (English and Italian), and a new conversation shows the earlier one."""
from __future__ import annotations

import pytest

from tests.ui.conftest import add_agent, log_in, shot
from tests.ui.seed import conversation_of, customer_writes

TEXTS = {
    "en": {"hint": "This conversation is closed: reopen it to write to the customer.", "reopen": "Reopen",
           "close": "Close", "earlier": "Earlier conversations with this customer"},
    "it": {"hint": "Questa conversazione è chiusa: riaprila per scrivere al cliente.", "reopen": "Riapri",
           "close": "Chiudi", "earlier": "Conversazioni precedenti con questo cliente"},
}


@pytest.mark.parametrize("language", ["en", "it"])
def test_a_closed_conversation_disables_the_composer_and_reopen_brings_it_back(ui_server, page, language):
    texts = TEXTS[language]
    customer_writes(ui_server, "393331234567", "Buongiorno", "wamid.C1", name="Giulia Verdi")
    ui_server.wait_idle()
    conversation = conversation_of(ui_server, "393331234567")
    log_in(page, ui_server.url, add_agent(ui_server, language),
           next_path=f"/ui/conversations/{conversation['id']}")
    page.locator("#close-conversation").click()
    page.locator("#reopen-conversation").wait_for()
    composer = page.locator("#composer-closed")
    assert composer.get_by_text(texts["hint"]).is_visible()
    assert page.locator("#message-body").is_disabled()
    assert composer.locator("button.btn-send").is_disabled()
    assert page.locator("form#composer").count() == 0
    shot(page, f"conversation-closed-{language}")

    page.get_by_role("button", name=texts["reopen"]).click()
    page.locator("form#composer").wait_for()
    assert page.locator("#message-body").is_enabled()
    assert page.get_by_role("button", name=texts["close"]).is_visible()
    assert ui_server.get(f"/api/v1/conversations/{conversation['id']}")["status"] == "open"


def test_a_new_conversation_shows_the_earlier_one_above_it(ui_server, page):
    customer_writes(ui_server, "393331234567", "Il pacco non è arrivato", "wamid.E1", name="Giulia Verdi")
    ui_server.wait_idle()
    first = conversation_of(ui_server, "393331234567")
    log_in(page, ui_server.url, add_agent(ui_server, "it"), next_path=f"/ui/conversations/{first['id']}")
    page.locator("#close-conversation").click()
    page.locator("#reopen-conversation").wait_for()
    customer_writes(ui_server, "393331234567", "Novità?", "wamid.E2", name="Giulia Verdi")
    ui_server.wait_idle()
    (newer,) = ui_server.get("/api/v1/conversations?status=open")
    page.goto(f"{ui_server.url}/ui/conversations/{newer['id']}")
    earlier = page.locator("#earlier")
    assert earlier.get_by_text(TEXTS["it"]["earlier"]).is_visible()
    assert earlier.get_by_text("Il pacco non è arrivato").is_visible()
    assert page.locator("#thread").get_by_text("Novità?").is_visible()
    assert page.locator("#thread").get_by_text("Il pacco non è arrivato").count() == 0
