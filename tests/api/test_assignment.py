"""Assignment: PUT /api/v1/conversations/{id}/assignee gives a conversation to an active user or
to nobody; an agent who answers an unassigned conversation takes it (setting `assign_on_reply`),
in the UI and through the API with their session; an API token never takes one. Through the
simulator's signed webhooks and a real server."""
from __future__ import annotations

from contextlib import closing

import pytest

from tests.support.ui_http import logged_in, page_csrf
from tests.support.wired import module_wired
from tests.ui.conftest import create_users


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "assignee") as w:
        create_users(w, [dict(username="anna", password="anna-password-1"),
                         dict(username="bruno", password="bruno-password-1"),
                         dict(username="gone", password="gone-password-1")])
        with w.app.db.sessions() as session, session.begin():
            from sqlalchemy import update

            from wasb.auth.tables import User
            session.execute(update(User).where(User.username == "gone").values(active=False))
        yield w


def _writes(wired, wa_id: str, name: str) -> dict:
    return wired.customer_writes(wa_id, name, "Buongiorno")


def _assignee(wired, conversation: dict) -> str | None:
    return wired.get(f"/api/v1/conversations/{conversation['id']}")["assigned_user"]


def test_the_assignee_is_set_to_an_active_user_or_to_nobody(wired):
    conversation = _writes(wired, "393335550001", "Carla Rosa")
    path = f"/api/v1/conversations/{conversation['id']}/assignee"
    answer = wired.api("PUT", path, json={"username": "anna"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["assigned_user"] == "anna" == _assignee(wired, conversation)

    for refused in ("nobody-here", "gone"):  # unknown, deactivated
        answer = wired.api("PUT", path, json={"username": refused})
        assert answer.status_code == 422 and refused in answer.json()["detail"]
    assert _assignee(wired, conversation) == "anna"

    assert wired.api("PUT", path, json={"username": None}).json()["assigned_user"] is None
    assert _assignee(wired, conversation) is None
    assert wired.api("PUT", "/api/v1/conversations/999999/assignee", json={"username": "anna"}).status_code == 404


def test_an_agents_reply_takes_an_unassigned_conversation_and_leaves_an_assigned_one(wired):
    free = _writes(wired, "393335550002", "Dario Verdi")
    taken = _writes(wired, "393335550003", "Elena Blu")
    wired.api("PUT", f"/api/v1/conversations/{taken['id']}/assignee", json={"username": "bruno"}).raise_for_status()
    with closing(logged_in(wired.url, "anna", "anna-password-1")) as anna:
        for conversation in (free, taken):
            path = f"/ui/conversations/{conversation['id']}"
            answer = anna.post(f"{path}/messages", data={"csrf": page_csrf(anna, path), "body": "Eccomi"})
            assert answer.status_code == 303, answer.text
    assert _assignee(wired, free) == "anna"
    assert _assignee(wired, taken) == "bruno"  # someone else's stays theirs


def test_an_api_token_never_takes_a_conversation_a_logged_in_agent_through_the_api_does(wired):
    by_token = _writes(wired, "393335550004", "Franco Neri")
    answer = wired.api("POST", f"/api/v1/conversations/{by_token['id']}/messages", json={"body": "Da integrazione"})
    assert answer.status_code == 201, answer.text
    assert _assignee(wired, by_token) is None

    by_agent = _writes(wired, "393335550005", "Gina Gialli")
    with closing(logged_in(wired.url, "bruno", "bruno-password-1")) as bruno:
        answer = bruno.post(f"/api/v1/conversations/{by_agent['id']}/messages", json={"body": "Sono Bruno"},
                            headers={"X-CSRF-Token": page_csrf(bruno)})
        assert answer.status_code == 201, answer.text
    assert _assignee(wired, by_agent) == "bruno"


def test_with_the_setting_off_a_reply_leaves_the_conversation_unassigned(wired):
    assert wired.api("PUT", "/api/v1/settings", json={"assign_on_reply": False}).status_code == 200
    try:
        conversation = _writes(wired, "393335550006", "Ugo Viola")
        with closing(logged_in(wired.url, "anna", "anna-password-1")) as anna:
            path = f"/ui/conversations/{conversation['id']}"
            assert anna.post(f"{path}/messages", data={"csrf": page_csrf(anna, path), "body": "Eccomi"}).status_code == 303
        assert _assignee(wired, conversation) is None
    finally:
        wired.api("PUT", "/api/v1/settings", json={"assign_on_reply": True}).raise_for_status()


def test_a_ticket_is_given_to_an_active_user_through_the_api_and_the_ticket_page(wired):
    conversation = _writes(wired, "393335550007", "Nadia Rossi")
    ticket_id = conversation["ticket_id"]
    answer = wired.api("PUT", f"/api/v1/tickets/{ticket_id}/assignee", json={"user_id": "bruno"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["assigned_user"] == "bruno" == wired.get(f"/api/v1/tickets/{ticket_id}")["assigned_user"]
    for refused in ("nobody-here", "gone"):
        answer = wired.api("PUT", f"/api/v1/tickets/{ticket_id}/assignee", json={"user_id": refused})
        assert answer.status_code == 422 and refused in answer.json()["detail"]
    assert wired.api("PUT", "/api/v1/tickets/999999/assignee", json={"user_id": "anna"}).status_code == 404

    with closing(logged_in(wired.url, "anna", "anna-password-1")) as anna:
        path = f"/ui/tickets/{ticket_id}"
        page = anna.get(path).text
        assert '<option value="bruno" selected>bruno</option>' in page
        answer = anna.post(f"{path}/assignee", data={"csrf": page_csrf(anna, path), "user_id": "anna"})
        assert answer.status_code == 303, answer.text
    assert wired.get(f"/api/v1/tickets/{ticket_id}")["assigned_user"] == "anna"
