"""The agent and admin web UI: server-rendered pages on the same app as the REST API."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from wasb.bootstrap import App
from wasb.web.errors import validation_message, with_full_allow
from wasb.web.ui import (
    admin_pages, analytics_pages, auth_pages, campaign_pages, canned_pages, hooks_pages, inbox_pages, live, notifications, record_pages,
)
from wasb.web.ui.deps import Forbidden, LoginRequired
from wasb.web.ui.render import render, wants_json
from wasb.web.ui.sessions import CookieSigner, SessionMiddleware, session_secret

STATIC = Path(__file__).resolve().parents[1] / "static"


def install_ui(app: FastAPI, wasb: App) -> None:
    @lru_cache(maxsize=1)
    def signer() -> CookieSigner:
        # Made on first use: the secret may have to be created in the (migrated) database.
        return CookieSigner(session_secret(wasb.db, wasb.config.session_secret.get_secret_value()))

    app.state.ui_signer = signer
    app.add_middleware(SessionMiddleware, signer_for=signer, db=wasb.db)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    for module in (auth_pages, inbox_pages, record_pages, canned_pages, admin_pages, analytics_pages, hooks_pages,
                   campaign_pages, live,
                   notifications):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    @app.get("/ui", include_in_schema=False)
    def home():
        return RedirectResponse("/ui/inbox", status_code=303)

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, exc: LoginRequired):
        if wants_json(request) or request.url.path == "/ui/events":
            return JSONResponse({"detail": "log in first"}, status_code=401)
        return RedirectResponse(f"/ui/login?next={exc.next_path}", status_code=303)

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, exc: Forbidden):
        if wants_json(request):
            return JSONResponse({"detail": "this needs an admin"}, status_code=403)
        return render(request, "ui/error.html", status_code=403, code=403, message="This page is for admins.")

    def is_page(request: Request) -> bool:
        return request.url.path.startswith("/ui/") and not wants_json(request) and request.url.path != "/ui/events"

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        exc = with_full_allow(request, exc)
        # UI pages answer errors with a page; the API keeps FastAPI's JSON.
        if is_page(request):
            response = render(request, "ui/error.html", status_code=exc.status_code, code=exc.status_code,
                              message=str(exc.detail))
            response.headers.update(exc.headers or {})
            return response
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        # A page's address with an id or page number no row can have: say which, on a page.
        if is_page(request):
            return render(request, "ui/error.html", status_code=422, code=422, message=validation_message(exc))
        return await request_validation_exception_handler(request, exc)
