"""A closed conversation: nothing is sent from it until an agent reopens it, and the
customer's next conversation shows what was said before."""
from __future__ import annotations

import pytest

from tests.outbound.flows import CUSTOMER, customer_writes, send, sent_to
from tests.support.ui_http import add_user, logged_in


def close(wasb, conversation_id):
    from wasb.conversations.service import close_conversation
    from wasb.store.engine import open_database

    db = open_database(wasb.database_url)
    try:
        with db.sessions() as session, session.begin():
            close_conversation(session, conversation_id)
    finally:
        db.dispose()
    assert wasb.get(f"/api/v1/conversations/{conversation_id}")["status"] == "closed"


def reopen(wasb, conversation_id, token=None):
    return wasb.api("POST", f"/api/v1/conversations/{conversation_id}/reopen", token=token)


@pytest.fixture
def agent_ui(wasb, database_url):
    """The web UI, logged in as an agent (plain HTTP)."""
    add_user(database_url, "agent-c", "agent-password-c")
    ui = logged_in(wasb.url, "agent-c", "agent-password-c")
    yield ui
    ui.close()


def writes_again(sim, wasb, text):
    """The customer writes after their conversation closed: a new one starts."""
    answer = sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Daniele", "text": text})
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text
    wasb.wait_idle()
    (newer,) = wasb.get("/api/v1/conversations?status=open")
    return newer


def test_reopen_opens_a_closed_conversation_again_and_is_idempotent(wasb, sim):
    conversation = customer_writes(sim, wasb)
    close(wasb, conversation["id"])
    answer = reopen(wasb, conversation["id"], token=wasb.agent_token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "open" and answer.json()["closed_at"] is None
    assert answer.json()["window_expires_at"] is not None
    again = reopen(wasb, conversation["id"])
    assert again.status_code == 200 and again.json()["status"] == "open"
    assert wasb.get(f"/api/v1/conversations/{conversation['id']}")["status"] == "open"
    assert send(wasb, conversation["id"], type="text", body="Eccoci").status_code == 201


def test_reopen_answers_404_for_an_unknown_conversation_and_401_without_a_token(wasb):
    assert reopen(wasb, 987654).status_code == 404
    assert reopen(wasb, 987654, token="not-a-token").status_code == 401


def test_reopen_is_refused_while_the_customers_newer_conversation_is_open(wasb, sim):
    first = customer_writes(sim, wasb)
    close(wasb, first["id"])
    newer = writes_again(sim, wasb, "Sono ancora io")
    assert newer["id"] != first["id"]
    answer = reopen(wasb, first["id"])
    assert answer.status_code == 409
    assert answer.json()["open_conversation_id"] == newer["id"]
    assert wasb.get(f"/api/v1/conversations/{first['id']}")["status"] == "closed"


def test_sending_in_a_closed_conversation_is_refused_and_nothing_goes_out(wasb, sim):
    conversation = customer_writes(sim, wasb)
    close(wasb, conversation["id"])
    answer = send(wasb, conversation["id"], type="text", body="Ci sentiamo?")
    assert answer.status_code == 409
    assert "closed" in answer.json()["detail"] and "reopen" in answer.json()["detail"]
    messages = wasb.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
    assert [m["direction"] for m in messages] == ["in"]
    wasb.wait_idle()
    assert sent_to(sim) == []


def test_the_ui_refuses_a_message_in_a_closed_conversation(wasb, sim, agent_ui):
    conversation = customer_writes(sim, wasb)
    close(wasb, conversation["id"])
    page = agent_ui.get(f"/ui/conversations/{conversation['id']}").text
    assert "This conversation is closed: reopen it to write to the customer." in page
    assert 'action="/ui/conversations/%d/messages"' % conversation["id"] not in page
    assert 'action="/ui/conversations/%d/reopen"' % conversation["id"] in page
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = agent_ui.post(f"/ui/conversations/{conversation['id']}/messages", data={"body": "Ci sei?", "csrf": csrf},
                           headers={"X-Requested-With": "fetch"})
    assert answer.status_code == 409 and "reopen" in answer.json()["message"]
    assert [m["direction"] for m in wasb.get(f"/api/v1/conversations/{conversation['id']}")["messages"]] == ["in"]


def test_a_new_conversation_shows_the_customers_earlier_messages_above_it(wasb, sim, agent_ui):
    first = customer_writes(sim, wasb, text="Il mio ordine 4411 non è arrivato")
    assert send(wasb, first["id"], type="text", body="Lo verifichiamo subito").status_code == 201
    close(wasb, first["id"])
    newer = writes_again(sim, wasb, "Nessuna novità?")
    page = agent_ui.get(f"/ui/conversations/{newer['id']}").text
    earlier, _, thread = page.partition('id="thread"')
    assert 'id="earlier"' in earlier and f'href="/ui/conversations/{first["id"]}"' in earlier
    assert "Il mio ordine 4411 non è arrivato" in earlier and "Lo verifichiamo subito" in earlier
    assert "Nessuna novità?" in thread and "Il mio ordine 4411" not in thread
    # the first conversation has nothing before it
    assert 'id="earlier"' not in agent_ui.get(f"/ui/conversations/{first['id']}").text
