"""An agent writes a private note (shown as one, live on other pages, never sent) and replies
to a specific customer message (the phone receives Meta's `context.message_id`), in English
and in Italian. One service wired to the simulator for the module; a customer per test."""
from __future__ import annotations

import pytest

from tests.support.wired import module_wired
from tests.ui.conftest import create_users, log_in, shot

WORDS = {"en": {"note": "Private note", "reply": "Reply"}, "it": {"note": "Nota privata", "reply": "Rispondi"}}


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "ui-private-notes") as w:
        create_users(w, [dict(username=f"agent-{lang}", password=f"agent-password-{lang}", language=lang)
                         for lang in WORDS])
        yield w


@pytest.mark.parametrize("lang", ["en", "it"])
def test_a_private_note_and_a_reply_to_a_customer_message(wired, page, lang):
    words = WORDS[lang]
    wa_id = {"en": "393332220001", "it": "393332220002"}[lang]
    answer = wired.sim.post("/_sim/inbound", json={"from": wa_id, "name": "Elena Russo", "text": "Is it waterproof?"})
    assert answer.json()["webhook_status"] == 200, answer.text
    wired.wait_idle()
    (conversation,) = wired.get(f"/api/v1/conversations?phone=%2B{wa_id}")
    (asked,) = wired.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
    log_in(page, wired.url, (f"agent-{lang}", f"agent-password-{lang}"), next_path=f"/ui/conversations/{conversation['id']}")

    # A note: the composer's "Private note" box, then Enter.
    page.locator("#note-toggle").check()
    page.locator("#message-body").fill("Ask the supplier about the IP rating")
    page.keyboard.press("Enter")
    note = page.locator(".msg-note", has_text="Ask the supplier about the IP rating")
    note.wait_for()
    assert words["note"] in note.inner_text() and f"agent-{lang}" in note.inner_text()
    # Shown distinctly: yellow (asked of the page as it is, the thread may be swapped by a live update).
    page.wait_for_function("() => [...document.querySelectorAll('.msg-note .bubble')].some("
                           "b => getComputedStyle(b).backgroundColor === 'rgb(255, 246, 204)')")
    (stored,) = wired.get(f"/api/v1/conversations/{conversation['id']}/notes")
    assert stored["author"] == f"agent-{lang}"

    # Another agent's note (through the API) appears live, without a reload.
    wired.api("POST", f"/api/v1/conversations/{conversation['id']}/notes", json={"body": "Supplier says IP67"})
    page.locator(".msg-note", has_text="Supplier says IP67").wait_for()

    # Reply to the customer's message: its quote above the composer, then sent with its id.
    page.locator(f'.msg-in[data-msg-id="{asked["id"]}"] .msg-reply').click()
    preview = page.locator("#reply-preview")
    preview.wait_for(state="visible")
    assert "Is it waterproof?" in preview.inner_text()
    shot(page, f"private-note-and-reply-{lang}")
    assert not page.locator("#note-toggle").is_checked()  # a reply is a message: note mode is off
    page.locator("#message-body").fill("Yes, IP67")
    page.keyboard.press("Enter")
    preview.wait_for(state="hidden")
    (sent,) = wired.wait_until(lambda: wired.sim.get("/_sim/sent", params={"to": wa_id}).json(),
                               what="the reply at the simulator")
    assert sent["text"] == "Yes, IP67" and sent["context"] == asked["wamid"]  # the notes never went out
    page.locator(".msg-out .quote", has_text="Is it waterproof?").wait_for()
    assert page.locator(".msg-reply").first.inner_text().strip() == words["reply"]
