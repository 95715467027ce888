""""Add to CRM" on a contact card a customer shared: the conversation shows a button per
named card; its form (CSRF-protected) creates a lead, or a contact as the agent picks, with the card's name and number
through the CRM port; a number the CRM has already is refused with the record that holds it.

The cards come from the simulator in Meta's shape, to a real service; one service for the
module, a customer per test."""
from __future__ import annotations

import html
import re

import httpx
import pytest

from tests.support.wired import module_wired
from wasb.auth.service import create_user
from wasb.store.engine import open_database


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "card-to-crm") as w:
        db = open_database(w.database_url)
        try:
            with db.sessions() as session, session.begin():
                create_user(session, "carla", "agent-password-1")
                create_user(session, "carlo", "agent-password-2", language="it")
        finally:
            db.dispose()
        yield w


def agent(w, username="carla", password="agent-password-1") -> httpx.Client:
    client = httpx.Client(base_url=w.url, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/login").text).group(1)
    assert client.post("/ui/login", data={"username": username, "password": password, "csrf": csrf}).status_code == 303
    return client


def shares_cards(w, wa_id: str, cards: list[dict]) -> dict:
    answer = w.sim.post("/_sim/inbound", json={"from": wa_id, "name": "Cora", "type": "contacts", "contacts": cards})
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text
    w.wait_idle()
    (conversation,) = w.get(f"/api/v1/conversations?phone=%2B{wa_id}")
    return w.get(f"/api/v1/conversations/{conversation['id']}")


CARDS = [{"name": {"formatted_name": "Chandler Bing"},
          "phones": [{"phone": "+1 555-555-5555", "wa_id": "15555555555", "type": "CELL"}]},
         {"name": {"formatted_name": "Monica Geller", "first_name": "Monica"}, "phones": [{"wa_id": "15556666666"}]}]


def test_a_card_becomes_a_lead_with_its_name_and_number(wired):
    conversation = shares_cards(wired, "393330000201", CARDS)
    (message,) = conversation["messages"]
    client = agent(wired)
    try:
        page = html.unescape(client.get(f"/ui/conversations/{conversation['id']}").text)
        actions = re.findall(rf'action="(/ui/conversations/{conversation["id"]}/messages/{message["id"]}/cards/\d+/crm)"',
                             page)
        assert [a.rsplit("/", 2)[1] for a in actions] == ["0", "1"]
        assert "Add Chandler Bing to CRM" in page and "Add Monica Geller to CRM" in page
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)

        assert client.post(actions[0], data={}).status_code == 403  # no CSRF token: nothing written
        assert wired.get("/api/v1/people?phone=%2B15555555555") == []

        done = client.post(actions[0], data={"csrf": csrf}, headers={"X-Requested-With": "fetch"})
        assert done.status_code == 200 and done.json() == {"ok": True, "message": "Lead Chandler Bing added to the CRM."}
        (lead,) = wired.get("/api/v1/people?phone=%2B15555555555")
        assert (lead["kind"], lead["name"], lead["mobile"]) == ("lead", "Chandler Bing", "+15555555555")

        # Without JavaScript the form posts and comes back to the conversation; the agent picked "contact".
        refused = client.post(actions[1], data={"csrf": csrf, "kind": "account"}, headers={"X-Requested-With": "fetch"})
        assert refused.status_code == 422 and refused.json()["message"] == "A card becomes a lead or a contact."
        back = client.post(actions[1], data={"csrf": csrf, "kind": "contact"})
        assert back.status_code == 303 and back.headers["location"].startswith(f"/ui/conversations/{conversation['id']}")
        (second,) = wired.get("/api/v1/people?phone=%2B15556666666")
        assert (second["kind"], second["name"]) == ("contact", "Monica Geller")
    finally:
        client.close()


def test_a_number_the_crm_has_already_is_refused_naming_its_record(wired):
    taken = wired.api("POST", "/api/v1/people", json={"kind": "contact", "name": "Ross", "mobile": "+15558888888"})
    assert taken.status_code == 201, taken.text
    conversation = shares_cards(wired, "393330000202", [{"name": {"formatted_name": "Ross G."},
                                                         "phones": [{"phone": "+1 555 888 8888"}]}])
    (message,) = conversation["messages"]
    client = agent(wired, "carlo", "agent-password-2")  # an Italian agent
    try:
        page = html.unescape(client.get(f"/ui/conversations/{conversation['id']}").text)
        assert "Aggiungi Ross G. al CRM" in page
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        refused = client.post(f"/ui/conversations/{conversation['id']}/messages/{message['id']}/cards/0/crm",
                              data={"csrf": csrf}, headers={"X-Requested-With": "fetch"})
        assert refused.status_code == 409
        assert refused.json()["ok"] is False
        assert refused.json()["message"].startswith("Il cellulare +1 555 888 8888 appartiene già a ")
        assert refused.json()["message"].endswith(" Ross.")
        assert [p["name"] for p in wired.get("/api/v1/people?phone=%2B15558888888")] == ["Ross"]
        missing = client.post(f"/ui/conversations/{conversation['id']}/messages/{message['id']}/cards/5/crm",
                              data={"csrf": csrf})
        assert missing.status_code == 404
    finally:
        client.close()
