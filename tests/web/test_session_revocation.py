"""A session ends for real: after logging out, a new password or deactivation, a copy of
the old cookie opens nothing — not the API, not the UI, not a CSRF-protected write."""
from __future__ import annotations

import httpx
import pytest

from tests.support.server import run_cli
from tests.support.ui_http import add_user, logged_in, page_csrf, try_login

ADMIN = ("ada", "admin-password-1")


@pytest.fixture
def session(server):
    """An admin logged in with the form: the client, a copy of its cookie and its CSRF token."""
    add_user(server.database_url, *ADMIN, is_admin=True)
    client = logged_in(server.url, *ADMIN)
    csrf = page_csrf(client)
    stolen = {"wasb_session": client.cookies["wasb_session"]}
    # The cookie works before: reads, pages, writes with the token.
    assert httpx.get(server.url + "/api/v1/settings", cookies=stolen).status_code == 200
    assert httpx.get(server.url + "/ui/inbox", cookies=stolen).status_code == 200
    written = httpx.put(server.url + "/api/v1/settings", cookies=stolen, headers={"X-CSRF-Token": csrf},
                        json={"ticket_priority": "Medium"})
    assert written.status_code == 200, written.text
    yield client, stolen, csrf
    client.close()


def assert_cookie_is_dead(server, cookie: dict, csrf: str) -> None:
    assert httpx.get(server.url + "/api/v1/settings", cookies=cookie).status_code == 401
    page = httpx.get(server.url + "/ui/inbox", cookies=cookie)
    assert page.status_code == 303 and page.headers["location"].startswith("/ui/login")
    write = httpx.put(server.url + "/api/v1/settings", cookies=cookie, headers={"X-CSRF-Token": csrf},
                      json={"ticket_priority": "Low"})
    assert write.status_code == 401
    form = httpx.post(server.url + "/ui/settings", cookies=cookie, data={"csrf": csrf, "ticket_priority": "Low"})
    assert form.status_code in (303, 403) and form.headers.get("location", "/ui/login").startswith("/ui/login")
    assert server.get("/api/v1/settings")["ticket_priority"] == "Medium"


def test_logging_out_ends_the_session_even_for_a_copy_of_the_cookie(server, session):
    client, stolen, csrf = session
    out = client.post("/ui/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert_cookie_is_dead(server, stolen, csrf)


def test_a_new_password_ends_the_users_sessions(server, session):
    _, stolen, csrf = session
    done = run_cli(server.env, "user", "password", ADMIN[0], stdin="a-brand-new-password\n")
    assert done.returncode == 0, done.stderr
    assert_cookie_is_dead(server, stolen, csrf)
    assert logged_in(server.url, ADMIN[0], "a-brand-new-password").get("/ui/inbox").status_code == 200


def test_deactivating_a_user_ends_their_sessions_and_refuses_their_login(server, session):
    _, stolen, csrf = session
    done = run_cli(server.env, "user", "deactivate", ADMIN[0])
    assert done.returncode == 0, done.stderr
    assert_cookie_is_dead(server, stolen, csrf)
    with httpx.Client(base_url=server.url) as client:
        refused = try_login(client, *ADMIN)
        assert refused.status_code == 401 and "Wrong username or password." in refused.text
    assert run_cli(server.env, "user", "activate", ADMIN[0]).returncode == 0
    assert logged_in(server.url, *ADMIN).get("/ui/inbox").status_code == 200


def test_an_admin_deactivates_an_agent_from_the_users_page(server, session):
    admin, _, admin_csrf = session
    add_user(server.database_url, "bruno", "agent-password-1")
    agent = logged_in(server.url, "bruno", "agent-password-1")
    agent_cookie, agent_csrf = {"wasb_session": agent.cookies["wasb_session"]}, page_csrf(agent)
    assert httpx.get(server.url + "/api/v1/conversations", cookies=agent_cookie).status_code == 200
    page = admin.get("/ui/users").text
    user_id = int(page.split('/deactivate"')[0].rsplit("/ui/users/", 1)[1])  # the one row with the button: bruno
    done = admin.post(f"/ui/users/{user_id}/deactivate", data={"csrf": admin_csrf})
    assert done.status_code == 303
    assert "deactivated" in admin.get("/ui/users").text
    assert httpx.get(server.url + "/api/v1/conversations", cookies=agent_cookie).status_code == 401
    assert httpx.get(server.url + "/ui/inbox", cookies=agent_cookie).status_code == 303
    assert httpx.post(server.url + "/ui/logout", cookies=agent_cookie, data={"csrf": agent_csrf}).status_code in (303, 403)
    agent.close()
