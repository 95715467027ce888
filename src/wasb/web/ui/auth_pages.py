"""Logging in and out, and the user's language."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from wasb.auth.service import log_in, set_language
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
    with app.db.sessions() as session, session.begin():
        outcome = log_in(session, username, password)  # a refusal is committed too: it counts
    user = outcome.user
    if user is None:
        error = _("Wrong username or password.")
        if outcome.locked_until:
            minutes = max(1, int((outcome.locked_until - utcnow()).total_seconds() // 60) + 1)
            error = _("Too many failed attempts: this account is locked for {minutes} minutes.", minutes=minutes)
        return render(request, "ui/login.html", status_code=401, next=_safe_next(next), error=error,
                      username=username)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.headers.append("set-cookie", cookie_header(request.app.state.ui_signer(), new_session(user),
                                                        secure=request.url.scheme == "https"))
    return response


@router.post("/logout")
def logout(request: Request):
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
