from __future__ import annotations

from fastapi import APIRouter

from wasb.web.crm_status import crm_status, reset_auth
from wasb.web.api.deps import Admin, AppDep, Caller
from wasb.web.errors import errors

router = APIRouter(prefix="/api/v1/crm", tags=["crm"], responses=errors(401))


@router.get("/status")
def status(app: AppDep, who: Caller):
    with app.db.read_sessions() as session:
        return crm_status(app.config, app.crm_link, app.queue, session)


@router.post("/reset-auth", responses=errors(403))
def reset_credentials_failure(app: AppDep, who: Admin):
    """After an admin fixed the CRM user or its access key: log in again on next use."""
    with app.db.sessions() as session, session.begin():
        resumed = reset_auth(app.crm_link, app.queue, session)
    with app.db.read_sessions() as session:
        return {**crm_status(app.config, app.crm_link, app.queue, session), "resumed_jobs": resumed}
