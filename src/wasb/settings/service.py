"""Admin settings: stored in the database, first values from the environment.

Later features add their keys to `AdminSettings`; an unknown key in a PUT is refused
rather than stored, so a typo never looks like a saved setting.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.auth.tables import User
from wasb.config import Config
from wasb.crm.port import PersonKind
from wasb.domain.pricing import default_country_prices
from wasb.domain.business_hours import WEEKDAYS, BusinessHours, InvalidHours, parse_intervals
from wasb.settings.tables import Setting
from wasb.store.upsert import insert_for


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_AWAY_MESSAGE = 4096  # a WhatsApp text's limit
MAX_HOLIDAYS = 366

PHONE_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
WEBSERVICE_ID = re.compile(r"^[0-9]+x[0-9]+$")


def _default_opt_out_keywords() -> dict[str, list[str]]:
    return {"en": ["STOP", "STOP ALL", "UNSUBSCRIBE"], "it": ["ANNULLA", "BASTA", "DISISCRIVIMI"]}


def _default_opt_in_keywords() -> dict[str, list[str]]:
    return {"en": ["START"], "it": ["ISCRIVIMI"]}


def _default_opt_out_replies() -> dict[str, str]:
    return {"en": "You will no longer receive marketing messages from us. Reply START to receive them again.",
            "it": "Non riceverai più messaggi promozionali da noi. Rispondi ISCRIVIMI per riceverli di nuovo."}


def _default_opt_in_replies() -> dict[str, str]:
    return {"en": "You will receive our marketing messages again. Reply STOP to stop them.",
            "it": "Riceverai di nuovo i nostri messaggi promozionali. Rispondi ANNULLA per non riceverli più."}


def _default_template_prices() -> dict[str, float]:
    # Meta's published per-message rates for Italy (rate card of July 2025, USD): what
    # analytics charges a template whose status carried no `pricing` yet, or was billable.
    return {"marketing": 0.0691, "utility": 0.03, "authentication": 0.03}


def _default_phone_fields() -> dict[str, list[str]]:
    # Accounts have no `mobile` on vtenext or vtiger: their number is in `phone`.
    return {"lead": ["mobile"], "contact": ["mobile"], "account": ["phone"]}


def _clean_prices(value: dict[str, float]) -> dict[str, float]:
    if any(price < 0 or price > 100 for price in value.values()):
        raise ValueError("a price is from 0 to 100")
    return {category.strip().lower(): price for category, price in value.items() if category.strip()}


class FallbackTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=16)


class AdminSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    auto_ticket: bool = True
    phone_prefix: Literal["+", "00"] = "+"
    time_window_days: int = Field(default=1, ge=1, le=3650)
    # The user WASB writes as and whose own comments are never sent to customers.
    # Embedded CRM: a WASB username (empty = the first admin). vtenext / vtiger: the
    # CRM user's webservice id, e.g. `19x5` (Users module prefix + user id; empty =
    # the user WASB logs in as, WASB_CRM_USER).
    reference_user: str = Field(default="", max_length=100)
    ticket_priority: str = Field(default="High", min_length=1, max_length=32)
    status_open: str = Field(default="Open", min_length=1, max_length=64)
    status_waiting: str = Field(default="Wait For Response", min_length=1, max_length=64)
    status_answered: str = Field(default="Answered by customer", min_length=1, max_length=64)
    status_closed: str = Field(default="Closed", min_length=1, max_length=64)
    # Sending: Meta's throughput tier for the number (80/s by default, up to 1,000/s).
    send_rate_per_second: int = Field(default=80, ge=1, le=1000)
    # The channel's access token, when an admin replaced WASB_ACCESS_TOKEN at run time.
    access_token: str = Field(default="", max_length=2000)
    # Outbound files: uploaded to Meta and sent by id, or sent as a temporary public link.
    media_delivery: Literal["upload", "link"] = "upload"
    # The ticket processes (the plugin's "vtenext Processes"), each switched on or off.
    process_ticket_comments: bool = True       # an agent's ticket comment goes out on WhatsApp
    process_conversation_messages: bool = True  # an agent's WhatsApp message shows on the ticket
    process_contact_push: bool = True          # a new CRM record with a mobile joins the address book
    # An agent opening a conversation marks the customer's messages read at Meta (blue ticks).
    mark_read_on_open: bool = True
    # An agent's reply in an unassigned conversation makes it theirs (Chatwoot and Zammad do too).
    assign_on_reply: bool = True
    # A customer's new conversation goes to an agent who is online (a page of theirs listening
    # in the last 90 s) with the fewest open conversations, in turn, up to the cap each.
    auto_assign: bool = False
    auto_assign_cap: int = Field(default=10, ge=1, le=1000)
    contact_push_kinds: list[Literal["lead", "contact", "account"]] = Field(default_factory=lambda: ["contact"])
    # The utility template sent instead of a ticket comment when the customer's window is closed;
    # its parameters are filled from the sources an admin set on the template's page.
    fallback_template: FallbackTemplate | None = None

    @field_validator("fallback_template", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        # A form's empty field means "no fallback template", not an invalid one.
        return None if value in ("", "null", {}) else value
    # External CRMs: the zone the CRM writes its times in (no offset in its values),
    # and the fields matched against a customer's number, per kind of record (the
    # first one is where a new record's number is written).
    crm_timezone: str = Field(default="Europe/Rome", max_length=64)
    crm_phone_fields: dict[PersonKind, list[str]] = Field(default_factory=_default_phone_fields)

    @field_validator("crm_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Rome)") from exc
        return value

    @field_validator("crm_phone_fields")
    @classmethod
    def _field_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for kind, names in value.items():
            if not names:
                raise ValueError(f"{kind}: at least one phone field")
            bad = [n for n in names if not PHONE_FIELD.match(n)]
            if bad:
                raise ValueError(f"{kind}: not a field name: {', '.join(map(repr, bad))}")
        return {**_default_phone_fields(), **value}
    # How long a temporary public document link lives if WhatsApp never fetches it.
    document_link_ttl_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # closeConversations: `window` closes a conversation N hours after the customer's
    # last message (when the customer-service window closes); `created` N hours after
    # it started (the original plugin's rule).
    close_after: Literal["window", "created"] = "window"
    close_after_hours: int = Field(default=24, ge=1, le=24 * 365)
    # Business hours, in the service's time zone (WASB_TIMEZONE): per weekday its open
    # intervals "HH:MM-HH:MM" (an end before the start runs past midnight), and the
    # holidays (dates closed all day). No interval on any day: always open, no away message.
    business_hours: dict[Weekday, list[str]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list, max_length=MAX_HOLIDAYS)
    # Sent once per conversation per closed period to a customer who writes outside the
    # hours (empty: nothing is sent; the inbox still says the business is closed).
    away_message: str = Field(default="", max_length=MAX_AWAY_MESSAGE)

    @field_validator("business_hours")
    @classmethod
    def _intervals(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        problems, days = [], {}
        for day in WEEKDAYS:  # in week order, whatever order they came in
            if day not in value:
                continue
            try:
                intervals = parse_intervals(", ".join(value[day]))
            except InvalidHours as exc:
                problems.append(f"{day}: {exc}")
                continue
            if intervals:
                days[day] = [i.text() for i in sorted(intervals, key=lambda i: i.start)]
        if problems:
            raise ValueError("; ".join(problems))
        return days

    @field_validator("holidays")
    @classmethod
    def _sorted_dates(cls, value: list[date]) -> list[date]:
        return sorted(set(value))

    @field_validator("away_message")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()

    def business_hours_rule(self) -> BusinessHours:
        return BusinessHours.from_texts(self.business_hours, self.holidays)
    # Consent (wasb.contacts.consent): a customer's whole message equal to one of these words
    # (any case, spaces around ignored) opts them out of marketing, or back in; per language,
    # the language the confirmation reply is written in. The default language answers a word
    # several languages share.
    opt_out_keywords: dict[str, list[str]] = Field(default_factory=_default_opt_out_keywords)
    opt_in_keywords: dict[str, list[str]] = Field(default_factory=_default_opt_in_keywords)
    opt_out_replies: dict[str, str] = Field(default_factory=_default_opt_out_replies)
    opt_in_replies: dict[str, str] = Field(default_factory=_default_opt_in_replies)
    consent_default_language: str = Field(default="it", min_length=2, max_length=16)
    # The CRM checkbox kept equal to the opt-out (e.g. vtenext's `emailoptout` or a custom
    # `cf_123`); empty: the CRM is not told.
    consent_crm_field: str = Field(default="", max_length=64)
    # Analytics: the price of one template message per category (lower case, as Meta's
    # `pricing.category`), in `price_currency`; a category not listed costs nothing.
    template_prices: dict[str, float] = Field(default_factory=_default_template_prices)
    price_currency: str = Field(default="USD", min_length=3, max_length=3)
    # Campaigns' cost estimate: the price per category in a country (ISO code), over the flat
    # `template_prices` for the countries listed.
    country_prices: dict[str, dict[str, float]] = Field(default_factory=default_country_prices)
    # Who may send campaigns besides the admins (user names).
    campaign_senders: list[str] = Field(default_factory=list, max_length=500)

    @field_validator("template_prices")
    @classmethod
    def _prices(cls, value: dict[str, float]) -> dict[str, float]:
        return _clean_prices(value)

    @field_validator("country_prices")
    @classmethod
    def _country_prices(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        cleaned: dict[str, dict[str, float]] = {}
        for country, prices in value.items():
            code = country.strip().upper()
            if len(code) != 2 or not code.isalpha():
                raise ValueError(f"a country is its two-letter ISO code (IT, DE, US…), not {country!r}")
            cleaned[code] = _clean_prices(prices)
        return cleaned

    @field_validator("opt_out_keywords", "opt_in_keywords")
    @classmethod
    def _keywords(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        cleaned = {lang: [" ".join(w.split()) for w in words if w.strip()] for lang, words in value.items()}
        too_long = [w for words in cleaned.values() for w in words if len(w) > 64]
        if too_long:
            raise ValueError(f"a keyword is at most 64 characters: {too_long[0][:70]!r}")
        return cleaned

    @field_validator("opt_out_replies", "opt_in_replies")
    @classmethod
    def _replies(cls, value: dict[str, str]) -> dict[str, str]:
        if any(not text.strip() or len(text) > 1024 for text in value.values()):
            raise ValueError("each reply is a text of 1 to 1024 characters")
        return value

    @model_validator(mode="after")
    def _keywords_mean_one_thing(self) -> "AdminSettings":
        out = {w.casefold() for words in self.opt_out_keywords.values() for w in words}
        back = {w.casefold() for words in self.opt_in_keywords.values() for w in words}
        both = sorted(out & back)
        if both:
            raise ValueError(f"a word cannot both opt out and opt back in: {', '.join(both)}")
        return self

    @field_validator("consent_crm_field")
    @classmethod
    def _crm_field(cls, value: str) -> str:
        value = value.strip()
        if value and not PHONE_FIELD.match(value):
            raise ValueError(f"not a field name: {value!r}")
        return value


class SettingsError(ValueError):
    """Settings refused; `fields` names the reason per setting (a form shows each next to its field)."""

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.fields = fields or {}


def _field_errors(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else ""
        where = ".".join(map(str, error["loc"][1:]))
        message = error["msg"].removeprefix("Value error, ")
        fields[key] = "; ".join(filter(None, [fields.get(key), f"{where}: {message}" if where else message]))
    return fields


def _described(error: dict) -> str:
    """`field.sub: reason`, or the reason alone for a rule across settings."""
    where = ".".join(map(str, error["loc"]))
    return f"{where}: {error['msg']}" if where else error["msg"].removeprefix("Value error, ")


def defaults(config: Config) -> dict[str, Any]:
    return {
        "auto_ticket": config.auto_ticket,
        "phone_prefix": config.phone_prefix,
        "time_window_days": config.time_window_days,
        "reference_user": config.reference_user,
        "ticket_priority": config.ticket_priority,
        "status_answered": config.status_answered,
    }


SECRET_KEYS = ("access_token",)


def mask_secret(value: str) -> str:
    """Enough of a secret to tell two apart (`…a1B2`), never enough to use it or to
    narrow a guess: at most the last four characters, and none of a short secret."""
    if not value:
        return ""
    return "…" + value[-4:] if len(value) >= 16 else "…"


def public_settings(settings: AdminSettings) -> dict[str, Any]:
    """The settings as an admin sees them: secrets masked."""
    view = settings.model_dump()
    for key in SECRET_KEYS:
        view[key] = mask_secret(view[key])
    return view


def load_settings(session: Session, config: Config) -> AdminSettings:
    values = defaults(config)
    for key, value in session.execute(select(Setting.key, Setting.value)):
        if key in AdminSettings.model_fields:
            values[key] = value
    if not values["reference_user"] and config.crm == "embedded":
        # The plugin's "reference user" defaults to the first admin. (An external
        # CRM's default is the user WASB logs in as, known only to the adapter.)
        values["reference_user"] = session.scalar(
            select(User.username).where(User.is_admin.is_(True)).order_by(User.id).limit(1)) or ""
    return AdminSettings(**values)


def settings_for_transaction(session: Session, config: Config) -> AdminSettings:
    """The settings, read once per transaction (a worker batch runs many jobs in one)."""
    cached = session.info.get("admin_settings")
    if cached is None:
        cached = session.info["admin_settings"] = load_settings(session, config)
    return cached


def update_settings(session: Session, config: Config, changes: dict[str, Any]) -> AdminSettings:
    current = load_settings(session, config).model_dump()
    # A masked secret sent back unchanged (GET, edit another field, PUT) keeps the stored one.
    changes = {k: v for k, v in changes.items()
               if not (k in SECRET_KEYS and isinstance(v, str) and v and v == mask_secret(current[k]))}
    unknown = sorted(set(changes) - set(AdminSettings.model_fields))
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    try:
        updated = AdminSettings(**{**current, **changes})
    except ValidationError as exc:
        raise SettingsError("; ".join(_described(e) for e in exc.errors()), _field_errors(exc)) from exc
    if config.crm != "embedded" and updated.reference_user and not WEBSERVICE_ID.match(updated.reference_user):
        why = (f"on {config.crm} it is the CRM user's webservice id like 19x5 "
               f"(or empty for the login user), not {updated.reference_user!r}")
        raise SettingsError(f"reference_user: {why}", {"reference_user": why})
    dialect = session.get_bind().dialect.name
    stored = updated.model_dump(mode="json")  # nested settings (fallback_template) as plain JSON
    for key in changes:
        stmt = insert_for(dialect, Setting.__table__).values(key=key, value=stored[key])
        session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))
    return updated
