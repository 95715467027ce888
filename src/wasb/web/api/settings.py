from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException

from wasb.settings.service import SettingsError, load_settings, update_settings
from wasb.web.api.deps import Admin, AppDep

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


@router.get("")
def get_settings(app: AppDep, who: Admin):
    with app.db.read_sessions() as session:
        return load_settings(session, app.config).model_dump()


@router.put("")
def put_settings(app: AppDep, who: Admin, changes: dict[str, Any] = Body(...)):
    with app.db.sessions() as session, session.begin():
        try:
            return update_settings(session, app.config, changes).model_dump()
        except SettingsError as exc:
            raise HTTPException(422, str(exc))
