"""Private notes in a conversation: written by agents (API and UI), shown in the thread with
their author, never sent to WhatsApp (the simulator receives nothing) and never written on
the CRM ticket; and a reply to a specific message carries Meta's `context.message_id`.

One service wired to the simulator for the module: each test is a customer of its own.
"""
from __future__ import annotations

import re

import httpx
import pytest

from tests.support.wired import module_wired
from tests.ui.conftest import create_users

AGENT = ("nora", "agent-password-1")


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "private-notes") as w:
        yield w


@pytest.fixture(scope="module")
def ui(wired):
    """An agent logged in to the UI: (client, the page's CSRF token)."""
    create_users(wired, [dict(username=AGENT[0], password=AGENT[1])])
    with httpx.Client(base_url=wired.url, timeout=30) as client:
        csrf = _csrf(client.get("/ui/login").text)
        assert client.post("/ui/login", data={"username": AGENT[0], "password": AGENT[1], "csrf": csrf}).status_code == 303
        yield client


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def customer_writes(w, wa_id: str, text: str) -> dict:
    """The customer writes from the simulator; returns their conversation once it is applied."""
    answer = w.sim.post("/_sim/inbound", json={"from": wa_id, "name": "Carla Neri", "text": text})
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text
    w.wait_idle()
    (conversation,) = w.get(f"/api/v1/conversations?phone=%2B{wa_id}")
    return w.get(f"/api/v1/conversations/{conversation['id']}")


def sent_to(w, wa_id: str) -> list[dict]:
    return w.sim.get("/_sim/sent", params={"to": wa_id}).json()


def then_a_message_goes_out(w, conversation: dict, wa_id: str, text: str) -> list[dict]:
    """A real message sent after the note, and waited for at the simulator: what the phone has
    then is everything the service sent before it (a queued note would have gone out first)."""
    answer = w.api("POST", f"/api/v1/conversations/{conversation['id']}/messages", json={"type": "text", "body": text})
    assert answer.status_code == 201, answer.text
    return w.wait_until(lambda: [m for m in sent_to(w, wa_id) if m["text"] == text] and sent_to(w, wa_id),
                        what="the message after the note at the simulator")


def test_a_note_from_the_api_is_listed_but_never_sent_nor_on_the_ticket(wired):
    wa_id = "393331110001"
    conversation = customer_writes(wired, wa_id, "Il pacco è arrivato rotto")
    answer = wired.api("POST", f"/api/v1/conversations/{conversation['id']}/notes",
                       json={"body": "  Called her: refund approved by Marco  "}, token=wired.agent_token)
    assert answer.status_code == 201, answer.text
    note = answer.json()
    assert note["body"] == "Called her: refund approved by Marco"
    assert note["author"] == "token:agent-tool" and note["conversation_id"] == conversation["id"] and note["created_at"]

    assert wired.get(f"/api/v1/conversations/{conversation['id']}/notes") == [note]
    detail = wired.get(f"/api/v1/conversations/{conversation['id']}")
    assert detail["notes"] == [note]
    assert all("refund approved" not in (m["body"] or "") for m in detail["messages"])

    phone = then_a_message_goes_out(wired, conversation, wa_id, "We are on it")
    assert [m["text"] for m in phone] == ["We are on it"]
    ticket = wired.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    bodies = [c["body"] for c in ticket["comments"]]
    assert "We are on it" in bodies  # the agent's message is mirrored there: the ticket is the right one
    assert all("refund approved" not in b for b in bodies)


def test_an_empty_note_is_refused_and_an_unknown_conversation_is_404(wired):
    conversation = customer_writes(wired, "393331110002", "Buongiorno")
    for body in ({"body": ""}, {"body": "   \n "}, {}):
        answer = wired.api("POST", f"/api/v1/conversations/{conversation['id']}/notes", json=body)
        assert answer.status_code == 422, (body, answer.text)
    assert wired.get(f"/api/v1/conversations/{conversation['id']}/notes") == []
    assert wired.api("POST", "/api/v1/conversations/999999/notes", json={"body": "x"}).status_code == 404
    assert wired.api("GET", "/api/v1/conversations/999999/notes").status_code == 404


def test_a_note_from_the_ui_needs_the_csrf_token_and_shows_in_the_thread_with_its_author(wired, ui):
    wa_id = "393331110003"
    conversation = customer_writes(wired, wa_id, "Posso cambiare taglia?")
    page = f"/ui/conversations/{conversation['id']}"
    csrf = _csrf(ui.get(page).text)
    forged = ui.post(f"{page}/notes", data={"body": "no token"})
    assert forged.status_code == 403
    assert ui.post(f"{page}/notes", data={"body": "  ", "csrf": csrf}, headers={"X-Requested-With": "fetch"}).status_code == 422
    assert ui.post(f"{page}/notes", data={"body": "Size M is out of stock", "csrf": csrf}).status_code == 303
    # The composer's "Private note" box on the message form (no JavaScript): a note, not a message.
    assert ui.post(f"{page}/messages", data={"body": "Check the warehouse", "note": "on", "csrf": csrf}).status_code == 303

    notes = wired.get(f"/api/v1/conversations/{conversation['id']}/notes")
    assert [(n["body"], n["author"]) for n in notes] == [("Size M is out of stock", AGENT[0]),
                                                          ("Check the warehouse", AGENT[0])]
    html = ui.get(page).text
    shown = re.findall(r'<li class="msg msg-note"[^>]*>(.*?)</li>', html, re.S)
    assert len(shown) == 2
    assert "Private note" in shown[0] and AGENT[0] in shown[0] and "Size M is out of stock" in shown[0]
    assert all(m["direction"] == "in" for m in wired.get(f"/api/v1/conversations/{conversation['id']}")["messages"])
    phone = then_a_message_goes_out(wired, conversation, wa_id, "Let me check")
    assert [m["text"] for m in phone] == ["Let me check"]


def test_a_reply_from_the_ui_names_the_customers_message_to_whatsapp(wired, ui):
    wa_id = "393331110004"
    conversation = customer_writes(wired, wa_id, "Which colour?")
    (asked,) = conversation["messages"]
    page = f"/ui/conversations/{conversation['id']}"
    html = ui.get(page).text
    assert f'data-reply-to="{asked["id"]}"' in html
    answer = ui.post(f"{page}/messages", data={"body": "Blue", "reply_to": str(asked["id"]), "csrf": _csrf(html)})
    assert answer.status_code == 303
    (sent,) = wired.wait_until(lambda: sent_to(wired, wa_id), what="the reply at the simulator")
    assert sent["text"] == "Blue" and sent["context"] == asked["wamid"]
    html = ui.get(page).text
    quoted = re.search(r'<blockquote class="quote">(.*?)</blockquote>', html, re.S)
    assert quoted and "Which colour?" in quoted.group(1)


def test_a_closed_conversation_still_takes_a_note_and_sends_nothing(wired, ui):
    wa_id = "393331110005"
    conversation = customer_writes(wired, wa_id, "Grazie, tutto risolto")
    page = f"/ui/conversations/{conversation['id']}"
    csrf = _csrf(ui.get(page).text)
    assert ui.post(f"{page}/close", data={"csrf": csrf}).status_code == 303
    html = ui.get(page).text
    assert 'id="note-form"' in html and 'id="composer"' not in html
    assert ui.post(f"{page}/notes", data={"body": "Solved on the phone", "csrf": _csrf(html)}).status_code == 303
    assert [n["body"] for n in wired.get(f"/api/v1/conversations/{conversation['id']}/notes")] == ["Solved on the phone"]
    assert wired.get(f"/api/v1/conversations/{conversation['id']}")["status"] == "closed"  # a note reopens nothing
    assert sent_to(wired, wa_id) == []
