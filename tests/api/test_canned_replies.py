"""Canned replies through the REST API and the management page: who sees and changes which
(agents their own, admins the team's), what a shortcut may be, and the text filled for a
conversation from its CRM record, ticket and number and the agent.

One service wired to the simulator for the module (SQLite, or PostgreSQL with
WASB_TEST_DATABASE); each test makes its own replies and customers.
"""
from __future__ import annotations

import re
from contextlib import closing

import httpx
import pytest

from tests.support.wired import module_wired
from wasb.auth.service import create_token, create_user
from wasb.store.engine import open_database

USERS = {"nora": ("nora-password-1", False), "piero": ("piero-password-1", False), "ada": ("ada-password-1", True)}


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "canned-replies") as w:
        yield w


@pytest.fixture(scope="module")
def tokens(wired) -> dict[str, str]:
    """An API token of each user (nora and piero are agents, ada an admin)."""
    db = open_database(wired.database_url)
    try:
        with db.sessions() as session, session.begin():
            made = {}
            for name, (password, is_admin) in USERS.items():
                user = create_user(session, name, password, is_admin=is_admin)
                made[name] = create_token(session, f"{name}-tool", is_admin=is_admin, user_id=user.id)
            return made
    finally:
        db.dispose()


def call(wired, tokens, who: str, method: str, path: str, **kwargs) -> httpx.Response:
    return wired.api(method, path, token=tokens[who], **kwargs)


def new_reply(wired, tokens, who: str, shortcut: str, body: str = "Hello", *, shared: bool = False,
              title: str = "A reply") -> dict:
    answer = call(wired, tokens, who, "POST", "/api/v1/canned-replies",
                  json={"shortcut": shortcut, "title": title, "body": body, "shared": shared})
    assert answer.status_code == 201, answer.text
    return answer.json()


def shortcuts(wired, tokens, who: str, **params) -> set[str]:
    answer = call(wired, tokens, who, "GET", "/api/v1/canned-replies", params=params)
    assert answer.status_code == 200, answer.text
    return {r["shortcut"] for r in answer.json()}


def test_an_agents_own_reply_is_theirs_alone(wired, tokens):
    mine = new_reply(wired, tokens, "nora", "nora-hello", "Ciao, sono Nora")
    assert mine["shared"] is False and mine["editable"] is True and mine["body"] == "Ciao, sono Nora"
    assert "nora-hello" in shortcuts(wired, tokens, "nora")
    # Nobody else sees it, not even an admin: another's personal reply is "not found".
    for who in ("piero", "ada"):
        assert "nora-hello" not in shortcuts(wired, tokens, who)
        path = f"/api/v1/canned-replies/{mine['id']}"
        assert call(wired, tokens, who, "GET", path).status_code == 404
        assert call(wired, tokens, who, "PUT", path, json={"shortcut": "x", "title": "x", "body": "x"}).status_code == 404
        assert call(wired, tokens, who, "DELETE", path).status_code == 404
    changed = call(wired, tokens, "nora", "PUT", f"/api/v1/canned-replies/{mine['id']}",
                   json={"shortcut": "nora-hi", "title": "Greeting", "body": "Ciao!"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["shortcut"], changed.json()["title"], changed.json()["body"]) == ("nora-hi", "Greeting", "Ciao!")
    assert changed.json()["updated_at"] >= mine["updated_at"]
    assert call(wired, tokens, "nora", "DELETE", f"/api/v1/canned-replies/{mine['id']}").status_code == 204
    assert call(wired, tokens, "nora", "GET", f"/api/v1/canned-replies/{mine['id']}").status_code == 404
    assert "nora-hi" not in shortcuts(wired, tokens, "nora")


def test_the_teams_replies_are_seen_by_all_and_changed_by_admins_only(wired, tokens):
    refused = call(wired, tokens, "nora", "POST", "/api/v1/canned-replies",
                   json={"shortcut": "team-try", "title": "t", "body": "b", "shared": True})
    assert refused.status_code == 403, refused.text
    shared = new_reply(wired, tokens, "ada", "shipping", "Your order ships in 2 days", shared=True)
    assert shared["shared"] is True and shared["owner_id"] is None
    for who in ("nora", "piero", "ada"):
        assert "shipping" in shortcuts(wired, tokens, who)
    (seen,) = [r for r in call(wired, tokens, "nora", "GET", "/api/v1/canned-replies").json() if r["id"] == shared["id"]]
    assert seen["editable"] is False
    path = f"/api/v1/canned-replies/{shared['id']}"
    assert call(wired, tokens, "nora", "PUT", path, json={"shortcut": "shipping", "title": "t", "body": "hacked"}).status_code == 403
    assert call(wired, tokens, "nora", "DELETE", path).status_code == 403
    assert call(wired, tokens, "ada", "GET", path).json()["body"] == "Your order ships in 2 days"
    # The admin token without a user (the tests' own) manages shared ones too, but has no personal ones.
    assert wired.api("PUT", path, json={"shortcut": "shipping", "title": "Shipping", "body": "Ships in 3 days"}).status_code == 200
    assert wired.api("POST", "/api/v1/canned-replies", json={"shortcut": "x1", "title": "t", "body": "b"}).status_code == 403
    assert call(wired, tokens, "piero", "GET", path).json()["body"] == "Ships in 3 days"
    assert call(wired, tokens, "ada", "DELETE", path).status_code == 204
    assert "shipping" not in shortcuts(wired, tokens, "piero")


def test_a_shortcut_is_letters_digits_dash_underscore_and_unique_per_owner(wired, tokens):
    for bad in ("", "with space", "però", "a/b", "x" * 33, "{{x}}", "ship!"):
        answer = call(wired, tokens, "piero", "POST", "/api/v1/canned-replies",
                      json={"shortcut": bad, "title": "t", "body": "b"})
        assert answer.status_code == 422, (bad, answer.text)
    for missing in ({"title": "", "body": "b"}, {"title": "t", "body": ""}, {"title": "t", "body": "   "},
                    {"title": "t", "body": "a\x00b"}, {"title": "t" * 101, "body": "b"}, {"title": "t", "body": "b" * 4097}):
        answer = call(wired, tokens, "piero", "POST", "/api/v1/canned-replies", json={"shortcut": "ok", **missing})
        assert answer.status_code == 422, (missing, answer.text)
    made = new_reply(wired, tokens, "piero", "/Return_Policy-2")  # a leading "/" is what a person types
    assert made["shortcut"] == "return_policy-2"
    again = call(wired, tokens, "piero", "POST", "/api/v1/canned-replies",
                 json={"shortcut": "RETURN_POLICY-2", "title": "t", "body": "b"})
    assert again.status_code == 409, again.text
    # Another owner may use the same shortcut: nora, and the team.
    new_reply(wired, tokens, "nora", "return_policy-2")
    team = new_reply(wired, tokens, "ada", "return_policy-2", shared=True)
    assert call(wired, tokens, "ada", "POST", "/api/v1/canned-replies",
                json={"shortcut": "return_policy-2", "title": "t", "body": "b", "shared": True}).status_code == 409
    # Renaming onto a taken shortcut is refused; keeping one's own is not.
    other = new_reply(wired, tokens, "piero", "other")
    path = f"/api/v1/canned-replies/{other['id']}"
    assert call(wired, tokens, "piero", "PUT", path,
                json={"shortcut": "return_policy-2", "title": "t", "body": "b"}).status_code == 409
    assert call(wired, tokens, "piero", "PUT", path, json={"shortcut": "other", "title": "t2", "body": "b"}).status_code == 200
    listed = call(wired, tokens, "piero", "GET", "/api/v1/canned-replies", params={"q": "return"}).json()
    assert sorted((r["shortcut"], r["shared"]) for r in listed) == [("return_policy-2", False), ("return_policy-2", True)]
    assert team["id"] in {r["id"] for r in listed}


def customer_writes(w, wa_id: str, name: str, text: str) -> dict:
    answer = w.sim.post("/_sim/inbound", json={"from": wa_id, "name": name, "text": text})
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text
    w.wait_idle()
    (conversation,) = w.get(f"/api/v1/conversations?phone=%2B{wa_id}")
    return w.get(f"/api/v1/conversations/{conversation['id']}")


def test_the_text_is_filled_for_a_conversation_from_its_crm_record_and_the_agent(wired, tokens):
    conversation = customer_writes(wired, "393334440001", "Giulia Maria Bianchi", "Dov'è il mio ordine?")
    person = wired.get(f"/api/v1/people/{conversation['person_id']}")
    ticket = wired.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    assert person["name"] == "Giulia Maria Bianchi" and ticket["number"]
    reply = new_reply(wired, tokens, "nora", "where",
                      "Hi {{first_name}} ({{ last_name }}, {{name}}, {{phone}}): ticket {{ticket_no}}, "
                      "{{agent}} here. {{order_no}} {{first_name}}")
    answer = call(wired, tokens, "nora", "GET", f"/api/v1/canned-replies/{reply['id']}/rendered",
                  params={"conversation_id": conversation["id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == (f"Hi Giulia (Maria Bianchi, Giulia Maria Bianchi, +393334440001): ticket "
                                     f"{ticket['number']}, nora here. {{{{order_no}}}} Giulia")
    assert answer.json()["unfilled"] == ["order_no"]
    # Another's reply, an unknown conversation: 404.
    assert call(wired, tokens, "piero", "GET", f"/api/v1/canned-replies/{reply['id']}/rendered",
                params={"conversation_id": conversation["id"]}).status_code == 404
    assert call(wired, tokens, "nora", "GET", f"/api/v1/canned-replies/{reply['id']}/rendered",
                params={"conversation_id": 999999}).status_code == 404


def test_a_value_the_conversation_lacks_stays_visible(wired, tokens):
    conversation = customer_writes(wired, "393334440002", "Cher", "Hello")
    reply = new_reply(wired, tokens, "nora", "lacks", "Dear {{first_name}} {{last_name}}, ticket {{ticket_no}}")
    answer = call(wired, tokens, "nora", "GET", f"/api/v1/canned-replies/{reply['id']}/rendered",
                  params={"conversation_id": conversation["id"]}).json()
    ticket = wired.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    assert answer["text"] == f"Dear Cher {{{{last_name}}}}, ticket {ticket['number']}"
    assert answer["unfilled"] == ["last_name"]


# --- the management page ---------------------------------------------------------------------

def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def logged_in(wired, who: str) -> httpx.Client:
    client = httpx.Client(base_url=wired.url, timeout=30)
    csrf = _csrf(client.get("/ui/login").text)
    answer = client.post("/ui/login", data={"username": who, "password": USERS[who][0], "csrf": csrf})
    assert answer.status_code == 303, answer.text
    return client


def test_the_page_manages_replies_with_csrf_and_keeps_a_refused_form(wired, tokens):
    with closing(logged_in(wired, "piero")) as ui:
        page = ui.get("/ui/canned-replies")
        assert page.status_code == 200 and 'href="/ui/canned-replies"' in page.text  # the sidebar's link
        csrf = _csrf(page.text)
        form = {"shortcut": "thanks", "title": "Thanks", "body": "Thank you {{first_name}}!"}
        assert ui.post("/ui/canned-replies", data=form).status_code == 403  # no CSRF token
        assert ui.post("/ui/canned-replies", data={**form, "csrf": csrf}).status_code == 303
        (made,) = [r for r in call(wired, tokens, "piero", "GET", "/api/v1/canned-replies").json() if r["shortcut"] == "thanks"]
        assert made["body"] == "Thank you {{first_name}}!" and made["shared"] is False
        assert "Thank you {{first_name}}!" in ui.get("/ui/canned-replies").text

        # An agent cannot make a shared one, even by writing the form by hand.
        assert ui.post("/ui/canned-replies", data={**form, "shortcut": "t2", "scope": "shared", "csrf": csrf}).status_code == 403
        refused = ui.post("/ui/canned-replies", data={**form, "shortcut": "bad shortcut", "title": "Kept", "csrf": csrf})
        assert refused.status_code == 422
        assert "A shortcut is 1 to 32 letters, digits, - or _." in refused.text
        assert 'value="bad shortcut"' in refused.text and 'value="Kept"' in refused.text
        assert ui.post("/ui/canned-replies", data={**form, "csrf": csrf}).status_code == 409

        assert ui.post(f"/ui/canned-replies/{made['id']}", data={**form, "body": "Grazie!", "csrf": csrf}).status_code == 303
        assert call(wired, tokens, "piero", "GET", f"/api/v1/canned-replies/{made['id']}").json()["body"] == "Grazie!"
        assert ui.post(f"/ui/canned-replies/{made['id']}/delete", data={}).status_code == 403
        assert ui.post(f"/ui/canned-replies/{made['id']}/delete", data={"csrf": csrf}).status_code == 303
        assert call(wired, tokens, "piero", "GET", f"/api/v1/canned-replies/{made['id']}").status_code == 404

    with closing(logged_in(wired, "ada")) as ui:
        csrf = _csrf(ui.get("/ui/canned-replies").text)
        made = ui.post("/ui/canned-replies", data={"shortcut": "opening-hours", "title": "Hours", "csrf": csrf,
                                                   "body": "We are open 9-18", "scope": "shared"})
        assert made.status_code == 303
    with closing(logged_in(wired, "nora")) as ui:
        html = ui.get("/ui/canned-replies").text
        row = re.search(r'<tr data-canned="opening-hours"[^>]*>(.*?)</tr>', html, re.S).group(1)
        assert "We are open 9-18" in row and "Edit" not in row and "Delete" not in row  # seen, not changed
