"""Admin pages: settings and the channel, scheduled jobs, inbound events, users and tokens."""
from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from wasb.domain.schedule import MAX_EVERY_SECONDS, MIN_EVERY_SECONDS, InvalidSchedule, parse_schedule
from wasb.auth.service import (
    UserExists, create_token, create_user, list_tokens, list_users, revoke_token, set_active, set_password, set_role,
    unlock_user,
)
from wasb.inbound.service import EventNotFound, list_events, retry_event
from wasb.crm.port import PERSON_KINDS
from wasb.domain.business_hours import WEEKDAYS, InvalidHours, parse_intervals
from wasb.templates.service import APPROVED, list_templates
from wasb.settings.service import (
    SECRET_KEYS, AdminSettings, SettingsError, load_settings, mask_secret, update_settings,
)
from wasb.web.backlog import service_backlog
from wasb.web.params import RowId
from wasb.web.ui import actions
from wasb.web.ui.deps import AdminUser, csrf_protected
from wasb.web.ui.event_rows import event_row
from wasb.web.ui.i18n import LANGUAGES, translator
from wasb.web.ui.render import outcome, redirect, render

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(csrf_protected)])


# --- settings ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SettingField:
    key: str
    # "bool", "choice", "int", "text", "user", "template" (an approved template), "kinds" (a
    # set of choices, one box each), "phones" (field names per kind of record), "hours" (open
    # intervals per weekday), "dates" (one date a line), "longtext" (a message), "words"
    # (comma-separated words per language), "texts" (a text per language), "prices" (a
    # price per template category), "json" (a structure no control fits yet)
    kind: str
    value: Any
    choices: tuple = ()
    description: str = ""
    error: str | None = None
    low: int | None = None
    high: int | None = None
    # "hours": the reason per weekday, shown beside that day's intervals.
    part_errors: dict[str, str] = field(default_factory=dict)


PER_LANGUAGE_WORDS = ("opt_out_keywords", "opt_in_keywords")
PER_LANGUAGE_TEXTS = ("opt_out_replies", "opt_in_replies")
PER_LANGUAGE = ("words", "texts")
# Meta's pricing categories (`pricing.category` of a status), in the order the settings list them.
PRICED_CATEGORIES = ("marketing", "utility", "authentication")
TEMPLATE_SEPARATOR = "|"  # between a template's name and its language (Meta allows neither in a name)


SPECIAL_KINDS = {"fallback_template": "template", "crm_phone_fields": "phones", "business_hours": "hours",
                 "holidays": "dates", "away_message": "longtext", "template_prices": "prices",
                 "country_prices": "country_prices", "campaign_senders": "kinds",
                 **dict.fromkeys(PER_LANGUAGE_WORDS, "words"), **dict.fromkeys(PER_LANGUAGE_TEXTS, "texts")}


def _kind_of(key: str) -> str:
    if key in SPECIAL_KINDS:
        return SPECIAL_KINDS[key]
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
    if origin is list and typing.get_origin(typing.get_args(annotation)[0]) is Literal:
        return "kinds"
    if origin in (dict, list, tuple, set):
        return "json"
    return "text"


def _bounds(key: str) -> tuple[int | None, int | None]:
    low = high = None
    for rule in AdminSettings.model_fields[key].metadata:
        low = getattr(rule, "ge", low)
        high = getattr(rule, "le", high)
    return low, high


def _shown(key: str, kind: str, value: Any) -> Any:
    """A stored value as its control shows it."""
    if kind == "template":
        return f"{value.name}{TEMPLATE_SEPARATOR}{value.language}" if value else ""
    if kind in ("phones", "words"):
        return {k: ", ".join(names) for k, names in value.items()}
    if kind == "hours":
        return {day: ", ".join(value.get(day, [])) for day in WEEKDAYS}
    if kind == "dates":
        return "\n".join(d.isoformat() for d in value)
    if kind == "country_prices":
        return "\n".join(f"{country} " + " ".join(f"{c}={p:g}" for c, p in prices.items())
                         for country, prices in value.items())
    if kind in ("texts", "prices"):
        return dict(value)
    if kind == "kinds":
        return list(value)
    if kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if key in SECRET_KEYS:  # never put a secret in a page: show it masked, a masked value sent back is ignored
        return mask_secret(value)
    return "" if value is None else value


def _typed(key: str, kind: str, form) -> Any:
    """What the admin typed, as its control shows it (a refused form keeps every edit)."""
    if kind == "bool":
        return form.get(key) == "on"
    if kind == "kinds":
        return list(form.getlist(key))
    if kind == "phones":
        return {k: str(form.get(f"{key}.{k}") or "") for k in PERSON_KINDS}
    if kind == "hours":
        return {day: str(form.get(f"{key}.{day}") or "") for day in WEEKDAYS}
    if kind in (*PER_LANGUAGE, "prices"):
        return {part: str(form.get(f"{key}.{part}") or "") for part in _parts_in(key, form)}
    return str(form.get(key))


def _parts_in(key: str, form) -> list[str]:
    """The parts a per-part setting's fields name (`opt_out_keywords.it`, `template_prices.utility`)."""
    return [name.removeprefix(f"{key}.") for name in form.keys() if name.startswith(f"{key}.")]


def _typed_present(key: str, kind: str, form) -> bool:
    if kind in ("bool", "kinds"):
        return True
    if kind == "phones":
        return any(f"{key}.{k}" in form for k in PERSON_KINDS)
    if kind == "hours":
        return any(f"{key}.{day}" in form for day in WEEKDAYS)
    if kind in (*PER_LANGUAGE, "prices"):
        return bool(_parts_in(key, form))
    return key in form


def _day_errors(error: str | None) -> dict[str, str]:
    """The business hours' reason ("mon: …; sat: …") split per weekday."""
    parts: dict[str, str] = {}
    for part in (error or "").split("; "):
        day, _, why = part.partition(": ")
        if day in WEEKDAYS and why:
            parts[day] = why
    return parts


def setting_fields(settings: AdminSettings, usernames: list[str], *, users_are_wasb_users: bool,
                   templates: list[tuple[str, str]] = (), form=None,
                   errors: dict[str, str] | None = None) -> list[SettingField]:
    """One form field per AdminSettings key, so keys later issues add appear by themselves.
    `templates` are the approved (name, language) pairs; `form`, a refused form to show again."""
    fields = []
    errors = errors or {}
    for key, info in AdminSettings.model_fields.items():
        kind = _kind_of(key)
        value = _shown(key, kind, getattr(settings, key))
        if form is not None and _typed_present(key, kind, form):
            value = _typed(key, kind, form)
        choices: tuple = ()
        if key == "reference_user" and users_are_wasb_users:
            kind, choices = "user", tuple(usernames)
        elif kind == "choice":
            choices = typing.get_args(info.annotation)
        elif key == "campaign_senders":  # the agents (admins may send campaigns anyway)
            choices = tuple(dict.fromkeys([*usernames, *value]))
        elif kind == "kinds":
            choices = typing.get_args(typing.get_args(info.annotation)[0])
        elif kind == "template":
            choices = tuple((f"{n}{TEMPLATE_SEPARATOR}{lang}", f"{n} · {lang}") for n, lang in templates)
            if value and value not in [c[0] for c in choices]:  # no longer approved: still shown as chosen
                choices += ((value, value.replace(TEMPLATE_SEPARATOR, " · ")),)
        elif kind == "phones":
            choices = tuple(PERSON_KINDS)
        elif kind == "hours":
            choices = WEEKDAYS
        elif kind == "prices":  # Meta's categories, and any other one set
            choices = tuple(dict.fromkeys([*PRICED_CATEGORIES, *value]))
        elif kind in PER_LANGUAGE:  # the languages set, and the UI's own (to add words for one)
            choices = tuple((lang, LANGUAGES.get(lang, lang)) for lang in dict.fromkeys([*value, *LANGUAGES]))
        low, high = _bounds(key) if kind == "int" else (None, None)
        fields.append(SettingField(key, kind, value, choices, info.description or "", errors.get(key), low, high,
                                   _day_errors(errors.get(key)) if kind == "hours" else {}))
    return fields


def _parse(key: str, kind: str, form) -> Any:
    """The form's value as the setting takes it; ValueError with the reason."""
    if kind == "json":
        try:
            return json.loads(str(form.get(key)))
        except ValueError as exc:
            raise ValueError(f"not valid JSON ({exc})") from exc
    if kind == "template":
        raw = str(form.get(key)).strip()
        if not raw:
            return None
        name, separator, language = raw.rpartition(TEMPLATE_SEPARATOR)
        if not separator:
            raise ValueError("choose a template from the list")
        return {"name": name, "language": language}
    if kind == "phones":
        return {k: [n.strip() for n in str(form.get(f"{key}.{k}") or "").split(",") if n.strip()]
                for k in PERSON_KINDS if f"{key}.{k}" in form}
    if kind == "kinds":
        return list(form.getlist(key))
    if kind == "hours":
        return _hours(key, form)
    if kind == "dates":
        return _dates(str(form.get(key)))
    if kind == "country_prices":
        return _country_prices(str(form.get(key)))
    if kind == "words":
        return {lang: [w.strip() for w in str(form.get(f"{key}.{lang}") or "").split(",") if w.strip()]
                for lang in _parts_in(key, form)}
    if kind == "texts":
        return {lang: str(form.get(f"{key}.{lang}") or "").strip() for lang in _parts_in(key, form)}
    if kind == "prices":
        return _prices(key, form)
    return str(form.get(key)).strip()


def _prices(key: str, form) -> dict[str, float]:
    """A price per category; an empty field leaves the category free of charge."""
    prices = {}
    for category in _parts_in(key, form):
        text = str(form.get(f"{key}.{category}") or "").strip().replace(",", ".")
        if not text:
            continue
        try:
            prices[category] = float(text)
        except ValueError:
            raise ValueError(f"the price of {category} is not a number: {text[:20]!r}") from None
    return prices


def _country_prices(text: str) -> dict[str, dict[str, float]]:
    """A line per country: `DE marketing=0.1365 utility=0.055 authentication=0.0768`."""
    table: dict[str, dict[str, float]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        country, *pairs = line.split()
        prices = {}
        for pair in pairs:
            category, equals, price = pair.partition("=")
            try:
                prices[category] = float(price.replace(",", "."))
            except ValueError:
                equals = ""
            if not equals:
                raise ValueError(f"line {number}: write each price as category=price, e.g. marketing=0.0691, "
                                 f"not {pair[:30]!r}") from None
        table[country] = prices
    return table


def _hours(key: str, form) -> dict[str, list[str]]:
    """Each day's intervals; every day that cannot be read is named ("tue: …"), for its field."""
    days, problems = {}, []
    for day in WEEKDAYS:
        text = str(form.get(f"{key}.{day}") or "")
        try:
            intervals = parse_intervals(text)
        except InvalidHours as exc:
            problems.append(f"{day}: {exc}")
            continue
        if intervals:
            days[day] = [i.text() for i in intervals]
    if problems:
        raise ValueError("; ".join(problems))
    return days


def _dates(text: str) -> list[date]:
    days, bad = [], []
    for word in text.replace(",", " ").split():
        try:
            days.append(date.fromisoformat(word))
        except ValueError:
            bad.append(word)
    if bad:
        raise ValueError(f"not a date (YYYY-MM-DD): {', '.join(map(repr, bad))}")
    return sorted(set(days))


def changed_settings(current: AdminSettings, form) -> dict[str, Any]:
    """What the form changes, and only that: an untouched default stays a default
    (e.g. the reference user keeps following the first admin). SettingsError names
    every field it cannot read."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in AdminSettings.model_fields:
        kind, now = _kind_of(key), getattr(current, key)
        if kind == "bool":
            value: Any = form.get(key) == "on"
        elif kind == "kinds" and not hasattr(form, "getlist"):
            continue
        elif not _typed_present(key, kind, form):
            continue
        else:
            try:
                value = _parse(key, kind, form)
            except ValueError as exc:
                errors[key] = str(exc)
                continue
            if kind == "template":
                now = now.model_dump() if now else None
            elif kind in ("phones", "words"):
                value = {**{k: list(v) for k, v in now.items()}, **value}
            elif kind == "texts":  # an emptied language has no reply of its own (the default language's goes)
                value = {k: v for k, v in {**now, **value}.items() if v}
            elif kind == "kinds" and set(value) == set(now):
                continue
            elif kind in ("text", "longtext", "choice", "int", "user") and (
                    str(now) == value or (now is None and value == "")):  # an empty field shows "not set"
                continue
        if value != now:
            changes[key] = value
    if errors:
        raise SettingsError("; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
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


def _settings_page(request: Request, settings: AdminSettings, *, error: str | None = None, status_code: int = 200,
                   form=None, errors: dict[str, str] | None = None):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        usernames = [u.username for u in list_users(session)]
        templates = [(t.name, t.language) for t in list_templates(session, status=APPROVED)]
    fields = setting_fields(settings, usernames, users_are_wasb_users=app.config.crm == "embedded",
                            templates=templates, form=form, errors=errors)
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

    def save() -> SettingsError | None:
        try:
            with app.db.sessions() as session, session.begin():
                changes = changed_settings(load_settings(session, app.config), form)
                if changes:
                    update_settings(session, app.config, changes)  # pydantic turns "2" into 2, refuses "two"
        except SettingsError as exc:
            return exc if exc.fields else SettingsError(str(exc), {"": str(exc)})
        return None

    refused = await run_in_threadpool(save)
    if refused:
        with app.db.read_sessions() as session:
            current = load_settings(session, app.config)
        # Nothing is saved, and the page shows what was typed, every field's reason beside it.
        return await run_in_threadpool(_settings_page, request, current, error=" ".join(filter(None, [
            _("Nothing was saved: correct the fields marked below."), refused.fields.get("")])),
                                       status_code=422, form=form, errors=refused.fields)
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
            try:
                parse_schedule(schedule.strip())
            except InvalidSchedule:
                return outcome(request, "/ui/jobs", status=422, error=_(
                    "A schedule is “every N s” (N from {low} to {high}) or “at HH:MM”, not “{value}”.",
                    low=MIN_EVERY_SECONDS, high=MAX_EVERY_SECONDS, value=schedule.strip()))
            actions.set_job(app, name, schedule=schedule.strip(), actor=actor)
            done = _("{name} saved.", name=name)
    except LookupError as exc:
        raise HTTPException(404, str(exc))
    except actions.JobRefused as exc:
        why = (_("{name} stopped after too many failed runs: reset it to run it again.", name=name)
               if exc.why == "stopped" else _("{name} is running or queued: try again once the run is over.", name=name))
        return outcome(request, "/ui/jobs", error=why, status=409)
    except ValueError as exc:  # what the scheduler refuses for a reason the page does not know
        return outcome(request, "/ui/jobs", error=str(exc), status=409)
    return outcome(request, "/ui/jobs", ok=done)


# --- inbound events ----------------------------------------------------------------------

@router.get("/inbound-events")
def inbound_events(request: Request, user: AdminUser, state: str = "failed"):
    app = request.app.state.wasb
    state = state if state in ("failed", "pending", "processed", "all") else "failed"
    with app.db.read_sessions() as session:
        events = [event_row(e) for e in list_events(session, None if state == "all" else state, 200, 0)]
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
                role: str = Form("agent"), language: str = Form("")):
    _ = translator(user.language)
    # A new user speaks the language of the admin who creates them unless the form says
    # otherwise (the form preselects it too): colleagues of an Italian admin are Italian.
    if language not in LANGUAGES:
        language = user.language if user.language in LANGUAGES else "en"
    try:
        with request.app.state.wasb.db.sessions() as session, session.begin():
            create_user(session, username, password, is_admin=role == "admin", language=language)
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


@router.post("/users/{user_id}/role")
def user_role(request: Request, user: AdminUser, user_id: RowId, role: Literal["admin", "agent"] = Form(...)):
    _ = translator(user.language)
    if user_id == user.id:  # an admin demoting themself could leave nobody to manage the users
        return redirect(request, "/ui/users", error=_("You cannot change your own role."))
    with request.app.state.wasb.db.sessions() as session, session.begin():
        changed = set_role(session, user_id, role == "admin")
    return redirect(request, "/ui/users", ok=_("Role changed.") if changed else None,
                    error=None if changed else _("No such user."))


@router.post("/users/{user_id}/password")
def user_password(request: Request, user: AdminUser, user_id: RowId, password: str = Form("")):
    """An admin sets a new password for someone who forgot theirs: their sessions end, the
    lockout is lifted; the admin tells them the password by a channel of their own."""
    _ = translator(user.language)
    try:
        with request.app.state.wasb.db.sessions() as session, session.begin():
            changed = set_password(session, user_id, password)
    except ValueError as exc:
        return _users_page(request, error=_(str(exc)), status_code=422)
    return redirect(request, "/ui/users", ok=_("Password reset: the user is logged out everywhere.") if changed
                    else None, error=None if changed else _("No such user."))


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
