"""Logging in and out, roles, CSRF and lockout — in the browser and over plain HTTP."""
from __future__ import annotations

import re

import httpx

from tests.support.server import run_cli
from tests.ui.conftest import ADMIN, AGENT, log_in, shot


def test_a_user_created_with_the_cli_logs_in_with_that_password(ui_server, page):
    done = run_cli(ui_server.env, "user", "create", "operator", "--language", "it", stdin="operator-pass-1\n")
    assert done.returncode == 0, done.stderr
    log_in(page, ui_server.url, ("operator", "operator-pass-1"))
    assert page.get_by_role("heading", name="Posta in arrivo").is_visible()


def test_an_agent_logs_in_sees_the_inbox_and_logs_out(ui_server, page):
    page.goto(ui_server.url + "/ui/inbox")
    page.wait_for_url("**/ui/login?next=/ui/inbox")  # not logged in: sent to the login form
    log_in(page, ui_server.url, AGENT)
    assert page.get_by_role("heading", name="Inbox").is_visible()
    assert page.get_by_role("link", name="Settings").count() == 0  # agents are not shown admin pages
    cookie = next(c for c in page.context.cookies() if c["name"] == "wasb_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.locator(".me summary").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/ui/login")
    page.goto(ui_server.url + "/ui/people")
    page.wait_for_url("**/ui/login?next=/ui/people")


def test_a_wrong_password_is_refused_with_a_message(ui_server, page):
    page.goto(ui_server.url + "/ui/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert page.locator("#login-error").inner_text() == "Wrong username or password."
    shot(page, "login-refused-laptop")


def test_an_agent_is_refused_admin_pages(ui_server, page):
    log_in(page, ui_server.url, AGENT)
    for path in ("/ui/settings", "/ui/jobs", "/ui/users", "/ui/inbound-events"):
        response = page.goto(ui_server.url + path)
        assert response.status == 403, path
        assert page.get_by_role("heading", name="Not for you").is_visible()
    shot(page, "forbidden-laptop")


def test_a_post_without_the_csrf_token_is_refused(ui_server, page):
    log_in(page, ui_server.url, ADMIN)
    # The browser's own cookie, a form post without the token: what a forged cross-site form sends.
    response = page.request.post(ui_server.url + "/ui/settings", form={"ticket_priority": "Low"})
    assert response.status == 403
    wrong = page.request.post(ui_server.url + "/ui/settings", form={"ticket_priority": "Low", "csrf": "forged"})
    assert wrong.status == 403
    assert ui_server.get("/api/v1/settings")["ticket_priority"] == "High"


def test_the_api_called_with_the_session_cookie_needs_the_csrf_header(ui_server, page):
    log_in(page, ui_server.url, ADMIN)
    assert page.request.get(ui_server.url + "/api/v1/settings").status == 200  # reads need no token
    refused = page.request.put(ui_server.url + "/api/v1/settings", data={"ticket_priority": "Low"})
    assert refused.status == 403
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    accepted = page.request.put(ui_server.url + "/api/v1/settings", data={"ticket_priority": "Low"},
                                headers={"X-CSRF-Token": token})
    assert accepted.status == 200 and accepted.json()["ticket_priority"] == "Low"


def test_repeated_wrong_passwords_hold_the_address_even_for_the_right_one(ui_server):
    from wasb.auth.login import CLIENT_MAX_FAILURES

    with httpx.Client(base_url=ui_server.url) as client:
        def attempt(password):
            form = client.get("/ui/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            return client.post("/ui/login", data={"username": AGENT[0], "password": password, "csrf": csrf})

        for _ in range(CLIENT_MAX_FAILURES):
            assert "Wrong username or password." in attempt("wrong-password").text
        held = attempt(AGENT[1])
        assert held.status_code == 429 and "try again in 15 minutes" in held.text
        assert int(held.headers["retry-after"]) > 0
        assert "wasb_session" in client.cookies  # still only the anonymous session


def test_a_login_form_without_csrf_is_refused(ui_server):
    response = httpx.post(ui_server.url + "/ui/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert response.status_code == 403


def test_a_forged_session_cookie_is_ignored(ui_server):
    response = httpx.get(ui_server.url + "/ui/settings", cookies={"wasb_session": "eyJ1IjoxfQ.forged"},
                         follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")
