"""Assignment in the browser, in English and Italian: an agent answers an unassigned
conversation and it becomes theirs (the header's picker shows them, "me"); they hand it to a
colleague from the same picker. One service wired to the simulator for the module."""
from __future__ import annotations

import pytest

from tests.support.wired import module_wired
from tests.ui.conftest import LAPTOP, add_agent, create_users, log_in, shot

WORDS = {"en": {"assigned": "Assigned to", "me": "me", "handed": "Assigned to colleague.",
                "ticket": "Ticket assigned to colleague."},
         "it": {"assigned": "Assegnato a", "me": "io", "handed": "Assegnata a colleague.",
                "ticket": "Ticket assegnato a colleague."}}
CUSTOMERS = {"en": ("393336660001", "Marco Rossi"), "it": ("393336660002", "Lucia Verdi")}


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "ui-assignment") as w:
        for lang in WORDS:
            add_agent(w, lang)
        create_users(w, [dict(username="colleague", password="colleague-password-1")])
        yield w


@pytest.mark.parametrize("lang", ["en", "it"])
def test_answering_an_unassigned_conversation_takes_it_and_the_picker_hands_it_on(wired, page, lang):
    words, agent = WORDS[lang], f"agent-{lang}"
    wa_id, customer = CUSTOMERS[lang]
    conversation = wired.customer_writes(wa_id, customer, "Buongiorno")
    assert conversation["assigned_user"] is None

    log_in(page, wired.url, (agent, f"agent-password-{lang}"), next_path=f"/ui/conversations/{conversation['id']}")
    picker = page.get_by_label(words["assigned"], exact=True)
    assert picker.input_value() == ""  # unassigned
    page.locator("#message-body").fill("Eccomi, come posso aiutarla?")
    page.locator("#composer .btn-send").click()
    # The composer posts in the page; the header comes back live with the new assignee.
    page.wait_for_function("id => document.getElementById(id).value !== ''", arg=f"assign-{conversation['id']}")
    picker = page.get_by_label(words["assigned"], exact=True)
    assert picker.input_value() == agent
    assert picker.locator("option:checked").inner_text() == f"{agent} ({words['me']})"
    assert wired.get(f"/api/v1/conversations/{conversation['id']}")["assigned_user"] == agent
    # the inbox's row follows, live: the agent's name where "unassigned" was
    page.locator(f'#inbox-list .conv[data-id="{conversation["id"]}"]').get_by_text(agent, exact=True).wait_for()
    shot(page, f"assignment-taken-on-reply-{lang}")

    picker.select_option("colleague")  # the picker submits itself
    page.get_by_text(words["handed"]).wait_for()
    assert wired.get(f"/api/v1/conversations/{conversation['id']}")["assigned_user"] == "colleague"


@pytest.mark.parametrize("lang", ["en", "it"])
def test_the_tickets_assignee_is_picked_on_its_page(wired, page, lang):
    words, agent = WORDS[lang], f"agent-{lang}"
    wa_id = {"en": "393336660011", "it": "393336660012"}[lang]
    conversation = wired.customer_writes(wa_id, "Cliente Ticket", "Un problema")
    ticket_id = conversation["ticket_id"]

    log_in(page, wired.url, (agent, f"agent-password-{lang}"), next_path=f"/ui/tickets/{ticket_id}")
    picker = page.locator("#ticket-assignee")
    assert page.get_by_label(words["assigned"], exact=True).count() == 1
    picker.select_option("colleague")  # the picker submits itself
    page.get_by_text(words["ticket"]).wait_for()
    assert wired.get(f"/api/v1/tickets/{ticket_id}")["assigned_user"] == "colleague"
    assert page.locator("#ticket-assignee option:checked").inner_text() == "colleague"
    # the ticket's facts are read again: its assignee by name
    page.locator("#ticket-facts dd").get_by_text("colleague", exact=True).wait_for()
    shot(page, f"ticket-assignee-{lang}")


TYPING = {"en": "colleague is also writing to this customer…", "it": "Anche colleague sta scrivendo a questo cliente…"}


@pytest.mark.parametrize("lang", ["en", "it"])
def test_an_agent_is_warned_when_a_colleague_writes_in_the_same_conversation(wired, page, browser, lang):
    agent = f"agent-{lang}"
    wa_id = {"en": "393336660021", "it": "393336660022"}[lang]
    conversation = wired.customer_writes(wa_id, "Cliente Conteso", "Aiuto")
    path = f"/ui/conversations/{conversation['id']}"
    log_in(page, wired.url, (agent, f"agent-password-{lang}"), next_path=path)
    page.wait_for_function("() => document.body.dataset.live === 'on'")  # listening
    warning = page.locator("#agent-typing")
    assert warning.is_hidden()

    other = browser.new_context(viewport=LAPTOP)
    try:
        colleague = other.new_page()
        log_in(colleague, wired.url, ("colleague", "colleague-password-1"), next_path=path)
        colleague.locator("#message-body").press_sequentially("Ci penso io")
        warning.wait_for(state="visible")
        assert warning.inner_text() == TYPING[lang]
        assert colleague.locator("#agent-typing").is_hidden()  # not about oneself
        shot(page, f"agent-typing-warning-{lang}")
    finally:
        other.close()


def test_a_tickets_page_follows_changes_made_elsewhere_live(wired, page, browser):
    """Status and assignee set on another agent's page or through the API: an open ticket page
    shows them without a reload (no conversation changed with them)."""
    conversation = wired.customer_writes("393336660031", "Cliente Live", "Ciao")
    path = f"/ui/tickets/{conversation['ticket_id']}"
    log_in(page, wired.url, ("agent-en", "agent-password-en"), next_path=path)
    page.wait_for_function("() => document.body.dataset.live === 'on'")
    facts = page.locator("#ticket-facts")

    other = browser.new_context(viewport=LAPTOP)
    try:
        colleague = other.new_page()
        log_in(colleague, wired.url, ("colleague", "colleague-password-1"), next_path=path)
        colleague.locator("#ticket-status").select_option("Closed")
        colleague.get_by_role("button", name="Set").click()
        colleague.wait_for_load_state()
    finally:
        other.close()
    facts.locator(".status-closed").wait_for()  # live, no reload
    assert page.locator("#ticket-status").input_value() == "Closed"  # the picker follows too

    answer = wired.api("PUT", f"/api/v1/tickets/{conversation['ticket_id']}/assignee", json={"user_id": "agent-it"})
    assert answer.status_code == 200, answer.text
    facts.locator("dd").get_by_text("agent-it", exact=True).wait_for()
