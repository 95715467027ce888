"""An admin manages users over the UI's forms: a new password for someone who forgot theirs,
a role changed, the last login seen; never their own role."""
from __future__ import annotations

import re

import httpx
import pytest

from wasb.auth.service import user_named
from wasb.store.engine import open_database

from tests.support.ui_http import add_user, logged_in, page_csrf, try_login

ADMIN = ("ada", "admin-password-1")
AGENT = ("bruno", "agent-password-1")


@pytest.fixture
def admin(server):
    add_user(server.database_url, *ADMIN, is_admin=True)
    add_user(server.database_url, *AGENT)
    client = logged_in(server.url, *ADMIN)
    yield client, page_csrf(client)
    client.close()


def user_id(admin_client: httpx.Client, username: str) -> int:
    """The id in the row's forms (the users page has none on the admin's own row)."""
    return int(re.search(r"/ui/users/(\d+)/", row_of(admin_client, username)).group(1))


def row_of(admin_client: httpx.Client, username: str) -> str:
    return next(r for r in admin_client.get("/ui/users").text.split("<tr>") if f'<td class="strong">{username}</td>' in r)


def test_a_reset_password_works_the_old_one_and_the_old_sessions_do_not(server, admin):
    client, csrf = admin
    agent = logged_in(server.url, *AGENT)
    cookie = {"wasb_session": agent.cookies["wasb_session"]}
    assert httpx.get(server.url + "/api/v1/conversations", cookies=cookie).status_code == 200

    done = client.post(f"/ui/users/{user_id(client, 'bruno')}/password", data={"csrf": csrf, "password": "fresh-password-9"})
    assert done.status_code == 303

    assert httpx.get(server.url + "/api/v1/conversations", cookies=cookie).status_code == 401
    with httpx.Client(base_url=server.url) as other:
        assert try_login(other, "bruno", AGENT[1]).status_code == 401
    assert logged_in(server.url, "bruno", "fresh-password-9").get("/ui/inbox").status_code == 200


def test_a_too_short_password_is_refused_with_the_reason_and_the_old_one_still_works(server, admin):
    client, csrf = admin
    refused = client.post(f"/ui/users/{user_id(client, 'bruno')}/password", data={"csrf": csrf, "password": "short"})
    assert refused.status_code == 422 and "at least 8 characters" in refused.text
    assert logged_in(server.url, *AGENT).get("/ui/inbox").status_code == 200


def test_an_agent_made_admin_reaches_the_admin_pages_at_once_and_back(server, admin):
    client, csrf = admin
    agent = logged_in(server.url, *AGENT)
    assert agent.get("/ui/settings").status_code == 403
    bruno = user_id(client, "bruno")
    assert client.post(f"/ui/users/{bruno}/role", data={"csrf": csrf, "role": "admin"}).status_code == 303
    assert agent.get("/ui/settings").status_code == 200  # same session, new role
    assert client.post(f"/ui/users/{bruno}/role", data={"csrf": csrf, "role": "agent"}).status_code == 303
    assert agent.get("/ui/settings").status_code == 403


def test_an_admin_cannot_change_their_own_role_nor_a_role_without_the_csrf_token(server, admin):
    client, csrf = admin
    assert "/role" not in row_of(client, "ada")  # no form offered on one's own row
    db = open_database(server.database_url)
    try:
        with db.sessions() as session:
            ada = user_named(session, "ada").id
    finally:
        db.dispose()
    mine = client.post(f"/ui/users/{ada}/role", data={"csrf": csrf, "role": "agent"})
    assert mine.status_code == 303
    assert "You cannot change your own role." in client.get("/ui/users").text
    assert client.get("/ui/settings").status_code == 200  # still an admin
    forged = client.post(f"/ui/users/{user_id(client, 'bruno')}/role", data={"role": "admin"})
    assert forged.status_code == 403
    assert logged_in(server.url, *AGENT).get("/ui/settings").status_code == 403


def test_the_users_page_shows_when_each_user_last_logged_in(server, admin):
    client, _ = admin
    assert "data-last-login>never<" in row_of(client, "bruno")
    logged_in(server.url, *AGENT).close()
    shown = re.search(r"data-last-login>([^<]*)<", row_of(client, "bruno")).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", shown), shown


def test_an_agent_cannot_manage_users(server, admin):
    add_user(server.database_url, "carla", "carla-password-1")
    agent = logged_in(server.url, *AGENT)
    csrf = page_csrf(agent)
    client, _ = admin
    carla = user_id(client, "carla")
    assert agent.post(f"/ui/users/{carla}/password", data={"csrf": csrf, "password": "taken-over-1"}).status_code == 403
    assert agent.post(f"/ui/users/{carla}/role", data={"csrf": csrf, "role": "admin"}).status_code == 403
    assert logged_in(server.url, "carla", "carla-password-1").get("/ui/inbox").status_code == 200


def test_an_api_tokens_last_use_is_shown_once_it_has_been_used(server, admin):
    client, csrf = admin
    created = client.post("/ui/tokens", data={"csrf": csrf, "name": "workflow", "role": "agent"})
    token = re.search(r'id="new-token" class="token">([^<]+)<', created.text).group(1)

    def last_used() -> str:
        row = next(r for r in client.get("/ui/users").text.split("<tr") if '<td class="strong">workflow</td>' in r)
        return re.search(r"data-last-used>([^<]*)<", row).group(1)

    assert last_used() == "—"
    assert httpx.get(server.url + "/api/v1/conversations", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert re.fullmatch(r"\d\d:\d\d|\d\d \S+", last_used()), last_used()  # today: the time
