"""What UI routes share: who is logged in, admin-only pages, CSRF on every unsafe request."""
from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request

from wasb.web.ui.sessions import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, UiUser


class LoginRequired(Exception):
    """Not logged in: pages redirect to the login form, fetches get 401."""

    def __init__(self, next_path: str):
        self.next_path = next_path


class Forbidden(Exception):
    """Logged in, but this page is for admins."""


async def csrf_protected(request: Request) -> None:
    """Every POST of the UI carries the session's CSRF token (form field or header)."""
    if request.method in SAFE_METHODS:
        return
    expected = getattr(request.state, "csrf", None)
    sent = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        sent = form.get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


def current_user(request: Request) -> UiUser:
    user = getattr(request.state, "ui_user", None)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target, safe="/"))
    return user


def current_admin(user: Annotated[UiUser, Depends(current_user)]) -> UiUser:
    if not user.is_admin:
        raise Forbidden()
    return user


User = Annotated[UiUser, Depends(current_user)]
AdminUser = Annotated[UiUser, Depends(current_admin)]
