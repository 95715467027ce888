"""Logging in and out, and the user's language."""
from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from wasb.auth.login import check_attempt, finish_attempt, reserve_attempt
from wasb.auth.service import end_sessions, set_language
from wasb.store.base import utcnow
from wasb.web.ui.deps import User, csrf_protected
from wasb.web.ui.i18n import LANGUAGES, language_of, translator
from wasb.web.ui.render import redirect, render
from wasb.web.ui.sessions import cookie_header, new_session

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(csrf_protected)])


def _safe_next(target: str) -> str:
    # Only paths of this UI: never an absolute URL (an open redirect) or "//host".
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/inbox"


@router.get("/login")
def login_form(request: Request, next: str = "/ui/inbox"):
    if getattr(request.state, "ui_user", None):
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "ui/login.html", next=_safe_next(next), error=None, username="")


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/ui/inbox")):
    app = request.app.state.wasb
    _ = translator(language_of(None, request.headers.get("accept-language", "")))
    # The client's address as uvicorn gives it: the peer, or the X-Forwarded-For of a
    # proxy listed in FORWARDED_ALLOW_IPS (see README, "Behind a reverse proxy").
    client = request.client.host if request.client else ""
    with app.db.sessions() as session, session.begin():
        attempt = reserve_attempt(session, client, username)  # counted before the check: races take slots
    if attempt.throttled_until:
        seconds = max(1, math.ceil((attempt.throttled_until - utcnow()).total_seconds()))
        error = _("Too many failed attempts from your address: try again in {minutes} minutes.",
                  minutes=math.ceil(seconds / 60))
        response = render(request, "ui/login.html", status_code=429, next=_safe_next(next), error=error,
                          username=username)
        response.headers["retry-after"] = str(seconds)
        return response
    correct = check_attempt(attempt, password)
    with app.db.sessions() as session, session.begin():
        user = finish_attempt(session, attempt, correct)
    if user is None:
        # One answer for a wrong password, an unknown name and a locked or deactivated
        # account: the page must not tell which names exist.
        return render(request, "ui/login.html", status_code=401, next=_safe_next(next),
                      error=_("Wrong username or password."), username=username)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.headers.append("set-cookie", cookie_header(request.app.state.ui_signer(), new_session(user),
                                                        secure=request.url.scheme == "https"))
    return response


@router.post("/logout")
def logout(request: Request):
    user = getattr(request.state, "ui_user", None)
    if user is not None:
        # The cookie may have been copied: only a server-side change ends it for sure.
        with request.app.state.wasb.db.sessions() as session, session.begin():
            end_sessions(session, user.id)
    response = RedirectResponse("/ui/login", status_code=303)
    # A fresh anonymous session (new CSRF token), not just a deleted cookie.
    response.headers.append("set-cookie", cookie_header(request.app.state.ui_signer(), new_session(),
                                                        secure=request.url.scheme == "https"))
    return response


@router.post("/language")
def change_language(request: Request, user: User, language: str = Form(...), back: str = Form("/ui/inbox")):
    if language in LANGUAGES:
        with request.app.state.wasb.db.sessions() as session, session.begin():
            set_language(session, user.id, language)
    return redirect(request, _safe_next(back))
