"""The web UI over plain HTTP (no browser): log in with the form, read the page's CSRF token."""
from __future__ import annotations

import re

import httpx

from wasb.store.engine import open_database


def add_user(database_url: str, username: str, password: str, *, is_admin: bool = False) -> None:
    from wasb.auth.service import create_user

    db = open_database(database_url)
    try:
        with db.sessions() as session, session.begin():
            create_user(session, username, password, is_admin=is_admin)
    finally:
        db.dispose()


def form_csrf(client: httpx.Client, path: str = "/ui/login") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def page_csrf(client: httpx.Client, path: str = "/ui/inbox") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


def try_login(client: httpx.Client, username: str, password: str, headers: dict | None = None) -> httpx.Response:
    return client.post("/ui/login", data={"username": username, "password": password, "csrf": form_csrf(client)},
                       headers=headers or {})


def logged_in(base_url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    response = try_login(client, username, password)
    assert response.status_code == 303, response.text
    return client
