"""The contact panel in the browser, in English and Italian: the agent opens it from the
conversation's header, reads the CRM record, the other conversations and the ticket, edits the
e-mail and is back in the conversation with the panel showing it. One wired service."""
from __future__ import annotations

import pytest

from tests.support.wired import module_wired
from tests.ui.conftest import add_agent, log_in, shot

WORDS = {"en": {"contact": "Contact", "edit": "Edit", "email": "E-mail", "save": "Save", "saved": "Saved.",
                "lead": "lead", "tickets": "Tickets"},
         "it": {"contact": "Contatto", "edit": "Modifica", "email": "E-mail", "save": "Salva", "saved": "Salvato.",
                "lead": "lead", "tickets": "Ticket"}}
CUSTOMERS = {"en": ("393339990001", "Tina Rossi"), "it": ("393339990002", "Ugo Bruni")}


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "ui-contact-panel") as w:
        for lang in WORDS:
            add_agent(w, lang)
        yield w


@pytest.mark.parametrize("lang", ["en", "it"])
def test_the_agent_reads_and_edits_the_customers_record_beside_the_conversation(wired, page, lang):
    words, agent = WORDS[lang], f"agent-{lang}"
    wa_id, name = CUSTOMERS[lang]
    conversation = wired.customer_writes(wa_id, name, "Buongiorno")
    ticket = wired.get(f"/api/v1/tickets/{conversation['ticket_id']}")

    log_in(page, wired.url, (agent, f"agent-password-{lang}"), next_path=f"/ui/conversations/{conversation['id']}")
    panel = page.get_by_role("complementary", name=words["contact"])
    assert panel.is_hidden()  # closed by default on a laptop
    toggle = page.locator("#contact-panel-toggle")
    toggle.click()
    panel.wait_for()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert panel.get_by_role("link", name=name).is_visible()
    assert panel.locator(".chip").first.inner_text() == words["lead"]
    assert panel.locator("#contact-tickets").get_by_role("link", name=ticket["number"]).is_visible()

    panel.get_by_text(words["edit"], exact=True).click()
    email = f"{lang}@example.com"
    panel.get_by_label(words["email"]).fill(email)
    panel.get_by_role("button", name=words["save"]).click()
    page.wait_for_url(f"**/ui/conversations/{conversation['id']}*")
    page.get_by_text(words["saved"], exact=True).wait_for()
    panel = page.get_by_role("complementary", name=words["contact"])
    assert panel.is_visible()  # the choice to keep it open is remembered
    assert panel.locator("#contact-facts").get_by_role("link", name=email).is_visible()
    assert wired.get(f"/api/v1/people/{conversation['person_id']}")["email"] == email
    shot(page, f"contact-panel-{lang}")
