from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException

from wasb.scheduler.registry import job_specs
from wasb.scheduler.service import (
    JobBusy, JobNotFound, JobStopped, JobUpdateError, get_job, list_jobs, request_run, reset_job, update_job,
)
from wasb.store.base import utcnow
from wasb.web.api.deps import Admin, AppDep
from wasb.web.api.views import scheduled_job_view
from wasb.web.errors import errors
from wasb.web.params import contains_nul

router = APIRouter(prefix="/api/v1/jobs", tags=["scheduled jobs"], responses=errors(401, 403))
EDITABLE = {"active", "schedule", "max_attempts"}


def _known(app, name: str):
    spec = job_specs(app).get(name)
    if spec is None:
        raise HTTPException(404, f"no scheduled job {name!r}")
    return spec


@router.get("")
def list_scheduled(app: AppDep, who: Admin):
    specs = job_specs(app)
    with app.db.read_sessions() as session:
        return [scheduled_job_view(row, specs[row.name]) for row in list_jobs(session, specs)]


@router.get("/{name}", responses=errors(404))
def get_scheduled(name: str, app: AppDep, who: Admin):
    spec = _known(app, name)
    with app.db.read_sessions() as session:
        try:
            return scheduled_job_view(get_job(session, name), spec)
        except JobNotFound as exc:
            raise HTTPException(404, str(exc))


@router.put("/{name}", responses=errors(400, 404))
def set_scheduled(name: str, app: AppDep, who: Admin, changes: dict[str, Any] = Body(...)):
    """Change `active`, `schedule` ("every 300 s", "at 17:45", or {"every_seconds"} / {"at"}), `max_attempts`."""
    spec = _known(app, name)
    if contains_nul(changes):
        raise HTTPException(422, "changes must not contain the NUL character (\\u0000)")
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise HTTPException(422, f"not editable: {', '.join(unknown)} (editable: active, schedule, max_attempts)")
    if "active" in changes and not isinstance(changes["active"], bool):
        raise HTTPException(422, "active is true or false")
    with app.db.sessions() as session, session.begin():
        try:
            row = update_job(session, name, app.config.tz, utcnow(), actor=f"admin:{who.name}", **changes)
        except JobNotFound as exc:
            raise HTTPException(404, str(exc))
        except JobUpdateError as exc:
            raise HTTPException(422, str(exc))
        return scheduled_job_view(row, spec)


@router.post("/{name}/run", status_code=202, responses=errors(404, 409))
def run_scheduled(name: str, app: AppDep, who: Admin):
    """Queue a run now; 409 while a run is queued or running, or when the job is stopped."""
    spec = _known(app, name)
    with app.db.sessions() as session, session.begin():
        try:
            request_run(session, app.queue, name, utcnow())
        except JobNotFound as exc:
            raise HTTPException(404, str(exc))
        except (JobBusy, JobStopped) as exc:
            raise HTTPException(409, str(exc))
        return scheduled_job_view(get_job(session, name), spec)


@router.post("/{name}/reset", responses=errors(404, 409))
def reset_scheduled(name: str, app: AppDep, who: Admin):
    """Attempts back to 0; a stopped job is scheduled again."""
    spec = _known(app, name)
    with app.db.sessions() as session, session.begin():
        try:
            row = reset_job(session, name, app.config.tz, utcnow(), actor=f"admin:{who.name}")
        except JobNotFound as exc:
            raise HTTPException(404, str(exc))
        except JobBusy as exc:
            raise HTTPException(409, str(exc))
        return scheduled_job_view(row, spec)
