from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException

from wasb.outbound.channel import channel_for, channel_health, resume_sending
from wasb.settings.service import SettingsError, load_settings, public_settings, update_settings
from wasb.web.api.deps import Admin, AppDep
from wasb.web.errors import errors
from wasb.web.params import contains_nul

router = APIRouter(prefix="/api/v1/settings", tags=["settings"], responses=errors(401, 403))

READ_ONLY = ("channel",)


@router.get("")
def get_settings(app: AppDep, who: Admin):
    with app.db.read_sessions() as session:
        view = public_settings(load_settings(session, app.config))
        view["channel"] = channel_health(session, app.config.phone_number_id).view()
        return view


@router.put("", responses=errors(400))
def put_settings(app: AppDep, who: Admin, changes: dict[str, Any] = Body(...)):
    if contains_nul(changes):
        raise HTTPException(422, "settings must not contain the NUL character (\\u0000)")
    changes = {k: v for k, v in changes.items() if k not in READ_ONLY}
    with app.db.sessions() as session, session.begin():
        try:
            updated = update_settings(session, app.config, changes)
        except SettingsError as exc:
            raise HTTPException(422, str(exc))
        if "access_token" in changes or "send_rate_per_second" in changes:
            resume_sending(session, app.queue)  # a new token: what waited for it goes now
        view = public_settings(updated)
        view["channel"] = channel_health(session, app.config.phone_number_id).view()
    channel_for(app).forget_settings()
    app.wake_worker()
    return view
