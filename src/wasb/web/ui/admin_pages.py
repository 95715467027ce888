"""Admin pages: settings and the channel, scheduled jobs, inbound events, users and tokens."""
from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from wasb.auth.service import (
    UserExists, create_token, create_user, list_tokens, list_users, revoke_token, set_active, unlock_user,
)
from wasb.inbound.service import EventNotFound, list_events, retry_event
from wasb.settings.service import (
    SECRET_KEYS, AdminSettings, SettingsError, load_settings, mask_secret, update_settings,
)
from wasb.web.backlog import service_backlog
from wasb.web.params import RowId
from wasb.web.ui import actions
from wasb.web.ui.deps import AdminUser, csrf_protected
from wasb.web.ui.i18n import LANGUAGES, translator
from wasb.web.ui.render import outcome, redirect, render

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(csrf_protected)])


# --- settings ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SettingField:
    key: str
    kind: str  # "bool", "choice", "int", "text", "user", "json" (lists and mappings)
    value: Any
    choices: tuple = ()
    description: str = ""


def _kind_of(key: str) -> str:
    annotation = AdminSettings.model_fields[key].annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    origin = typing.get_origin(annotation) or annotation
    if annotation is bool:
        return "bool"
    if origin is Literal:
        return "choice"
    if annotation is int:
        return "int"
    if origin in (dict, list, tuple, set):
        return "json"
    return "text"


def setting_fields(settings: AdminSettings, usernames: list[str], *, users_are_wasb_users: bool) -> list[SettingField]:
    """One form field per AdminSettings key, so keys later issues add appear by themselves."""
    fields = []
    for key, info in AdminSettings.model_fields.items():
        value = getattr(settings, key)
        if key in SECRET_KEYS:  # never put a secret in a page: show it masked, a masked value sent back is ignored
            value = mask_secret(value)
        annotation = info.annotation
        kind = _kind_of(key)
        if key == "reference_user" and users_are_wasb_users:
            fields.append(SettingField(key, "user", value, tuple(usernames), info.description or ""))
        elif kind == "choice":
            fields.append(SettingField(key, kind, value, typing.get_args(annotation), info.description or ""))
        elif kind == "json":
            fields.append(SettingField(key, kind, json.dumps(value, indent=2, ensure_ascii=False), (),
                                       info.description or ""))
        else:
            fields.append(SettingField(key, kind, "" if value is None else value, (), info.description or ""))
    return fields


def changed_settings(current: AdminSettings, form) -> dict[str, Any]:
    """What the form changes, and only that: an untouched default stays a default
    (e.g. the reference user keeps following the first admin)."""
    changes: dict[str, Any] = {}
    for key in AdminSettings.model_fields:
        kind, now = _kind_of(key), getattr(current, key)
        if kind == "bool":
            value: Any = form.get(key) == "on"
        elif key not in form:
            continue
        elif kind == "json":
            try:
                value = json.loads(str(form.get(key)))
            except ValueError as exc:
                raise SettingsError(f"{key}: not valid JSON ({exc})") from exc
        else:
            value = str(form.get(key)).strip()
            if str(now) == value or (now is None and value == ""):  # an empty field shows "not set"
                continue
        if value != now:
            changes[key] = value
    return changes


def channel_view(config) -> list[tuple[str, str]]:
    return [
        ("Phone number id", config.phone_number_id),
        ("WhatsApp Business account id", config.waba_id),
        ("Access token", mask_secret(config.access_token.get_secret_value())),
        ("App secret", mask_secret(config.app_secret.get_secret_value())),
        ("Verify token", mask_secret(config.verify_token.get_secret_value())),
        ("Graph API", f"{config.graph_url} ({config.graph_version})"),
        ("CRM", config.crm + (f" — {config.crm_url}" if config.crm_url else "")),
        ("Time zone", config.timezone),
        ("Default country", config.default_country),
    ]


def _settings_page(request: Request, settings: AdminSettings, *, error: str | None = None, status_code: int = 200):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        usernames = [u.username for u in list_users(session)]
    fields = setting_fields(settings, usernames, users_are_wasb_users=app.config.crm == "embedded")
    return render(request, "ui/settings.html", status_code=status_code, fields=fields,
                  channel=channel_view(app.config), health=actions.channel_health(app), error=error)


@router.get("/settings")
def settings_page(request: Request, user: AdminUser):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        settings = load_settings(session, app.config)
    return _settings_page(request, settings)


@router.post("/settings")
async def settings_save(request: Request, user: AdminUser):
    app = request.app.state.wasb
    form = await request.form()
    _ = translator(user.language)

    def save() -> str | None:
        try:
            with app.db.sessions() as session, session.begin():
                changes = changed_settings(load_settings(session, app.config), form)
                if changes:
                    update_settings(session, app.config, changes)  # pydantic turns "2" into 2, refuses "two"
        except SettingsError as exc:
            return str(exc)
        return None

    error = await run_in_threadpool(save)
    if error:
        with app.db.read_sessions() as session:
            current = load_settings(session, app.config)
        return await run_in_threadpool(_settings_page, request, current, error=error, status_code=422)
    return redirect(request, "/ui/settings", ok=_("Settings saved."))


# --- jobs --------------------------------------------------------------------------------

@router.get("/jobs")
def jobs(request: Request, user: AdminUser):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        rows = actions.list_jobs(app, session)
        behind = service_backlog(app.config, app.db, app.queue, session)
    return render(request, "ui/jobs.html", jobs=rows, backlog=behind)


@router.post("/jobs/{name}/{action}")
def job_action(request: Request, user: AdminUser, name: str, action: Literal["run", "reset", "set", "active"],
               schedule: str = Form(""), active: str = Form("")):
    _ = translator(user.language)
    app = request.app.state.wasb
    actor = f"admin:{user.username}"
    try:
        if action == "run":
            actions.run_job(app, name, actor=actor)
            done = _("{name} will run in a moment.", name=name)
        elif action == "reset":
            actions.reset_job(app, name, actor=actor)
            done = _("{name} reset.", name=name)
        elif action == "active":  # the switch, saved on its own as soon as it changes
            on = active == "on"
            actions.set_job(app, name, active=on, actor=actor)
            done = _("{name} switched on.", name=name) if on else _("{name} switched off.", name=name)
        else:
            actions.set_job(app, name, schedule=schedule.strip(), actor=actor)
            done = _("{name} saved.", name=name)
    except LookupError as exc:
        raise HTTPException(404, str(exc))
    except ValueError as exc:  # a schedule it cannot read, a job already running or stopped
        return outcome(request, "/ui/jobs", error=str(exc), status=409)
    return outcome(request, "/ui/jobs", ok=done)


# --- inbound events ----------------------------------------------------------------------

@router.get("/inbound-events")
def inbound_events(request: Request, user: AdminUser, state: str = "failed"):
    app = request.app.state.wasb
    state = state if state in ("failed", "pending", "processed", "all") else "failed"
    with app.db.read_sessions() as session:
        events = list_events(session, None if state == "all" else state, 200, 0)
    return render(request, "ui/inbound_events.html", events=events, state=state)


@router.post("/inbound-events/{event_id}/retry")
def inbound_event_retry(request: Request, user: AdminUser, event_id: RowId):
    _ = translator(user.language)
    app = request.app.state.wasb
    with app.db.sessions() as session, session.begin():
        try:
            event = retry_event(session, app.queue, event_id)
        except EventNotFound as exc:
            raise HTTPException(404, str(exc))
        state = event.state
    app.wake_worker()
    message = _("Event {id} queued again.", id=event_id) if state == "pending" else _(
        "Event {id} could not be retried: its body is not a WhatsApp webhook.", id=event_id)
    return outcome(request, "/ui/inbound-events", ok=message)


# --- users and API tokens ----------------------------------------------------------------

def _users_page(request: Request, *, new_token: str | None = None, error: str | None = None, status_code: int = 200):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        users, tokens = list_users(session), list_tokens(session)
    return render(request, "ui/users.html", status_code=status_code, users=users, tokens=tokens,
                  new_token=new_token, error=error, languages=LANGUAGES)


@router.get("/users")
def users(request: Request, user: AdminUser):
    return _users_page(request)


@router.post("/users")
def user_create(request: Request, user: AdminUser, username: str = Form(""), password: str = Form(""),
                role: str = Form("agent"), language: str = Form("en")):
    _ = translator(user.language)
    try:
        with request.app.state.wasb.db.sessions() as session, session.begin():
            create_user(session, username, password, is_admin=role == "admin",
                        language=language if language in LANGUAGES else "en")
    except UserExists:
        return _users_page(request, error=_("A user named {name} already exists.", name=username), status_code=409)
    except ValueError as exc:
        return _users_page(request, error=_(str(exc)), status_code=422)
    return redirect(request, "/ui/users", ok=_("User {name} created.", name=username))


@router.post("/users/{user_id}/unlock")
def user_unlock(request: Request, user: AdminUser, user_id: RowId):
    _ = translator(user.language)
    with request.app.state.wasb.db.sessions() as session, session.begin():
        unlock_user(session, user_id)
    return redirect(request, "/ui/users", ok=_("Unlocked."))


@router.post("/users/{user_id}/deactivate")
def user_deactivate(request: Request, user: AdminUser, user_id: int):
    _ = translator(user.language)
    if user_id == user.id:  # the last admin could lock everybody out
        return redirect(request, "/ui/users", error=_("You cannot deactivate yourself."))
    with request.app.state.wasb.db.sessions() as session, session.begin():
        set_active(session, user_id, False)
    return redirect(request, "/ui/users", ok=_("Deactivated: logged out everywhere."))


@router.post("/users/{user_id}/activate")
def user_activate(request: Request, user: AdminUser, user_id: int):
    _ = translator(user.language)
    with request.app.state.wasb.db.sessions() as session, session.begin():
        set_active(session, user_id, True)
    return redirect(request, "/ui/users", ok=_("Activated."))


@router.post("/tokens")
def token_create(request: Request, user: AdminUser, name: str = Form(""), role: str = Form("agent")):
    _ = translator(user.language)
    if not name.strip():
        return _users_page(request, error=_("A token needs a name."), status_code=422)
    with request.app.state.wasb.db.sessions() as session, session.begin():
        secret = create_token(session, name.strip(), is_admin=role == "admin", user_id=None)
    # Shown once, in this response only: never stored, never in a redirect or a cookie.
    response = _users_page(request, new_token=secret)
    response.headers["cache-control"] = "no-store"
    return response


@router.post("/tokens/{token_id}/revoke")
def token_revoke(request: Request, user: AdminUser, token_id: RowId):
    _ = translator(user.language)
    with request.app.state.wasb.db.sessions() as session, session.begin():
        revoked = revoke_token(session, token_id)
    return redirect(request, "/ui/users", ok=_("Token revoked.") if revoked else None)
