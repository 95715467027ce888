"""Jinja2 pages: the environment, filters for times and statuses, flash messages."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from wasb.store.base import utcnow
from wasb.web.ui.i18n import language_of, translator
from wasb.web.ui.meta_reasons import reason_in
from wasb.web.ui.notifications import waiting_for
from wasb.web.ui.views import comment_parts
from wasb.web.ui.avatars import avatar_tone

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
FLASH_COOKIE = "wasb_flash"

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


env.filters["iso"] = _iso
env.globals["comment_parts"] = comment_parts
env.globals["avatar_tone"] = avatar_tone


# Month abbreviations by language: strftime's %b follows the process's locale, not the user's.
MONTHS = {"en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
          "it": ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic")}


def strftime_in(value: datetime, fmt: str, lang: str) -> str:
    months = MONTHS.get(lang, MONTHS["en"])
    return value.strftime(fmt.replace("%b", months[value.month - 1]))


def _local(tz, lang: str = "en"):
    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return strftime_in(value.astimezone(tz), fmt, lang) if value else ""
    return local


def _short(tz, lang: str = "en"):
    """Today: the time; this year: day and month; else the date."""
    def short(value: datetime | None) -> str:
        if not value:
            return ""
        local, now = value.astimezone(tz), utcnow().astimezone(tz)
        if local.date() == now.date():
            return local.strftime("%H:%M")
        if local.year == now.year:
            return strftime_in(local, "%d %b", lang)
        return local.strftime("%Y-%m-%d")
    return short


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    app = request.app.state.wasb
    user = getattr(request.state, "ui_user", None)
    lang = language_of(user, request.headers.get("accept-language", ""))
    tz = app.config.tz
    flash = _read_flash(request)
    if user is not None and _is_page(name):
        # Every page shows what waits for the agent (the badge, the tab title) from its first paint.
        context.setdefault("unread_count", waiting_for(request, user.username))
    html = env.get_template(name).render(
        request=request, user=user, csrf=getattr(request.state, "csrf", ""), lang=lang, _=translator(lang),
        local=_local(tz, lang), short=_short(tz, lang), reason=reason_in(lang), tzname=app.config.timezone, now=utcnow(), flash=flash,
        path=request.url.path, **context)
    response = HTMLResponse(html, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def _is_page(name: str) -> bool:
    """A whole page (fragments a live update swaps in start with "_"; an error page asks nothing)."""
    base = name.rpartition("/")[2]
    return not base.startswith("_") and base != "error.html"


def _read_flash(request: Request) -> dict | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    signer = request.app.state.ui_signer()
    body, _, mac = raw.partition("~")
    if not mac or signer.sign_text(body) != mac:
        return None
    try:
        return orjson.loads(bytes.fromhex(body))
    except ValueError:
        return None


def redirect(request: Request, url: str, *, ok: str | None = None, error: str | None = None) -> RedirectResponse:
    """303 back to a page, with a one-time message (signed, so a link cannot plant text)."""
    response = RedirectResponse(url, status_code=303)
    if ok or error:
        body = orjson.dumps({"kind": "error" if error else "ok", "text": error or ok}).hex()
        response.set_cookie(FLASH_COOKIE, f"{body}~{request.app.state.ui_signer().sign_text(body)}", path="/",
                            httponly=True, samesite="lax", secure=request.url.scheme == "https", max_age=60)
    return response


def wants_json(request: Request) -> bool:
    return request.headers.get("x-requested-with") == "fetch"


def outcome(request: Request, back: str, *, ok: str | None = None, error: str | None = None, status: int = 200):
    """An action's answer: JSON for the page's fetch calls, a redirect with a message otherwise."""
    if wants_json(request):
        return JSONResponse({"ok": error is None, "message": error or ok}, status_code=status if error else 200)
    return redirect(request, back, ok=ok, error=error)
