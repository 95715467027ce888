"""Admin settings: stored in the database, first values from the environment.

Later features add their keys to `AdminSettings`; an unknown key in a PUT is refused
rather than stored, so a typo never looks like a saved setting.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.auth.tables import User
from wasb.config import Config
from wasb.settings.tables import Setting
from wasb.store.upsert import insert_for


class AdminSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    auto_ticket: bool = True
    phone_prefix: Literal["+", "00"] = "+"
    time_window_days: int = Field(default=1, ge=1, le=3650)
    reference_user: str = ""
    ticket_priority: str = Field(default="High", min_length=1, max_length=32)
    status_open: str = Field(default="Open", min_length=1, max_length=64)
    status_waiting: str = Field(default="Wait For Response", min_length=1, max_length=64)
    status_answered: str = Field(default="Answered by customer", min_length=1, max_length=64)
    status_closed: str = Field(default="Closed", min_length=1, max_length=64)


class SettingsError(ValueError):
    pass


def defaults(config: Config) -> dict[str, Any]:
    return {
        "auto_ticket": config.auto_ticket,
        "phone_prefix": config.phone_prefix,
        "time_window_days": config.time_window_days,
        "reference_user": config.reference_user,
        "ticket_priority": config.ticket_priority,
    }


def load_settings(session: Session, config: Config) -> AdminSettings:
    values = defaults(config)
    for key, value in session.execute(select(Setting.key, Setting.value)):
        if key in AdminSettings.model_fields:
            values[key] = value
    if not values["reference_user"]:
        # The plugin's "reference user" defaults to the first admin.
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
    unknown = sorted(set(changes) - set(AdminSettings.model_fields))
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    try:
        updated = AdminSettings(**{**current, **changes})
    except ValidationError as exc:
        raise SettingsError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    dialect = session.get_bind().dialect.name
    for key in changes:
        stmt = insert_for(dialect, Setting.__table__).values(key=key, value=getattr(updated, key))
        session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))
    return updated
