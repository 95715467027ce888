"""The inbox and a conversation change in front of the agent, without a reload."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import select

from tests.ui.conftest import add_agent, log_in, shot
from tests.ui.seed import add_outbound, conversation_of, customer_writes, shift_last_inbound, status


def test_a_customer_message_appears_live_in_the_open_inbox(ui_server, page):
    log_in(page, ui_server.url)
    page.locator("body[data-live='on']").wait_for(state="attached")  # the event stream is open
    assert page.locator("#inbox-list .conv").count() == 0
    page.evaluate("window.__sameDocument = true")

    customer_writes(ui_server, "393331234567", "Salve, avete disponibilità per domani?", "wamid.LIVE1",
                    name="Giulia Verdi")
    row = page.locator("#inbox-list .conv", has_text="Giulia Verdi")
    row.wait_for()
    assert "disponibilità per domani" in row.inner_text()
    assert row.locator(".badge-unread").inner_text() == "1"
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    shot(page, "inbox-live-laptop")


def test_new_messages_and_status_ticks_appear_live_in_the_open_conversation(ui_server, page):
    customer_writes(ui_server, "393331234567", "Prima domanda", "wamid.T1", name="Giulia Verdi")
    ui_server.wait_idle()
    conversation = conversation_of(ui_server, "393331234567")
    add_outbound(ui_server, conversation["id"], "Eccomi, mi dica.", "wamid.OUT1", author="ada", status="sent")
    log_in(page, ui_server.url, next_path=f"/ui/conversations/{conversation['id']}")
    page.locator("body[data-live='on']").wait_for(state="attached")
    page.evaluate("window.__sameDocument = true")
    outbound = page.locator(".msg-out", has_text="Eccomi")
    assert outbound.get_attribute("data-status") == "sent"

    ui_server.post_webhook(status("wamid.OUT1", "393331234567", "delivered"))
    page.wait_for_selector('.msg-out[data-status="delivered"]')
    ui_server.post_webhook(status("wamid.OUT1", "393331234567", "read"))
    page.locator(".msg-out .ticks-read").wait_for()

    customer_writes(ui_server, "393331234567", "Seconda domanda, grazie", "wamid.T2", name="Giulia Verdi")
    page.locator(".msg-in", has_text="Seconda domanda").wait_for()
    assert page.evaluate("window.__sameDocument") is True
    shot(page, "conversation-live-laptop")


def test_a_failed_message_shows_metas_reason_live(ui_server, page):
    customer_writes(ui_server, "393331234567", "Ciao", "wamid.F1", name="Giulia Verdi")
    ui_server.wait_idle()
    conversation = conversation_of(ui_server, "393331234567")
    add_outbound(ui_server, conversation["id"], "Un messaggio che non arriverà", "wamid.OUTF", author="ada")
    log_in(page, ui_server.url, next_path=f"/ui/conversations/{conversation['id']}")
    page.locator("body[data-live='on']").wait_for(state="attached")
    ui_server.post_webhook(status("wamid.OUTF", "393331234567", "failed", error={
        "code": 131026, "title": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."}}))
    error = page.locator(".msg-failed .msg-error")
    error.wait_for()
    assert "131026" in error.inner_text() and "Message Undeliverable." in error.inner_text()


@pytest.mark.parametrize("language, status_label, answered", [("en", "Status", "Answered by customer"),
                                                              ("it", "Stato", "Risposto dal cliente")])
def test_the_ticket_status_changes_live_with_the_customers_reply(ui_server, page, language, status_label, answered):
    agent = add_agent(ui_server, language)
    customer_writes(ui_server, "393331234567", "Il pacco non è arrivato", "wamid.S1", name="Giulia Verdi")
    ui_server.wait_idle()
    ticket_id = conversation_of(ui_server, "393331234567")["ticket_id"]
    log_in(page, ui_server.url, agent, next_path=f"/ui/tickets/{ticket_id}")
    page.get_by_label(status_label, exact=True).select_option("Wait For Response")
    page.locator("form.inline-form button").click()
    page.wait_for_url(f"**/ui/tickets/{ticket_id}")
    assert ui_server.get(f"/api/v1/tickets/{ticket_id}")["status"] == "Wait For Response"
    page.locator("body[data-live='on']").wait_for(state="attached")
    page.evaluate("window.__sameDocument = true")

    customer_writes(ui_server, "393331234567", "Ancora niente, mi aiutate?", "wamid.S2", name="Giulia Verdi")
    page.locator("#ticket-comments .comment-customer", has_text="Ancora niente").wait_for()
    # The CRM's value is kept (the select's value); it is shown in the agent's language.
    page.locator("#ticket-facts [data-ticket-status='Answered by customer'] .status", has_text=answered).wait_for()
    assert page.get_by_label(status_label, exact=True).input_value() == "Answered by customer"
    assert page.evaluate("window.__sameDocument") is True  # no reload happened


@pytest.mark.parametrize("language, sent, written", [("en", "sent", "written"), ("it", "inviato", "scritto")])
def test_a_held_comment_shows_after_the_reply_that_released_it_and_when_it_was_sent(
        wired_ui, page, language, sent, written):
    agent = add_agent(wired_ui.server, language)
    wired_ui.customer_writes("393331234567", "Il pacco è arrivato rotto", name="Giulia Verdi")
    (conversation,) = wired_ui.server.wait_until(
        lambda: wired_ui.server.get("/api/v1/conversations?phone=%2B393331234567"), what="the conversation")
    shift_last_inbound(wired_ui.server, "393331234567", 25)  # the window is closed
    ticket_id = conversation["ticket_id"]
    log_in(page, wired_ui.url, agent, next_path=f"/ui/tickets/{ticket_id}")
    page.locator("#comment-body").fill("Le spediamo un pacco nuovo oggi.")
    page.locator("form.comment-form button").click()
    page.wait_for_url(f"**/ui/tickets/{ticket_id}")
    ours = page.locator("#ticket-comments .comment-agent", has_text="pacco nuovo")

    def comment_is(*states):
        messages = wired_ui.server.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
        return any(m["body"] == "Le spediamo un pacco nuovo oggi." and m["status"] in states for m in messages)

    wired_ui.server.wait_until(lambda: comment_is("held"), what="the held comment")
    written_at = written_hours_ago(wired_ui.server, "Le spediamo un pacco nuovo oggi.", 2)

    wired_ui.customer_writes("393331234567", "Va bene, grazie", name="Giulia Verdi")
    wired_ui.server.wait_until(lambda: comment_is("sent", "delivered", "read"), what="the released comment")
    page.reload()
    bodies = page.locator("#ticket-comments .comment-body").all_inner_texts()  # newest first
    assert bodies.index("Le spediamo un pacco nuovo oggi.") < bodies.index("Va bene, grazie")
    head = ours.locator(".comment-head").inner_text()
    assert f"{sent} " in head and f"({written} {written_at})" in head


def written_hours_ago(server, body: str, hours: int) -> str:
    """The agent wrote the comment a while before the customer came back; its time as the page
    shows it (the test server's WASB_TIMEZONE is the default, UTC)."""
    from wasb.crm.embedded.tables import CrmComment
    from wasb.store.engine import open_database

    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            comment = session.scalars(select(CrmComment).where(CrmComment.body == body)).one()
            comment.created_at = comment.created_at - timedelta(hours=hours)
            return comment.created_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    finally:
        db.dispose()
