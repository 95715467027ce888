"""The inbox and a conversation change in front of the agent, without a reload."""
from __future__ import annotations

from tests.ui.conftest import log_in, shot
from tests.ui.seed import add_outbound, conversation_of, customer_writes, status


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
