"""Running a scheduled job through the API of a running server, and waiting for its end."""
from __future__ import annotations


def run_job(server, name: str) -> dict:
    before = server.get(f"/api/v1/jobs/{name}")["last_run_at"]
    response = server.api("POST", f"/api/v1/jobs/{name}/run")
    assert response.status_code == 202, response.text

    def finished():
        job = server.get(f"/api/v1/jobs/{name}")
        done = job["last_run_at"] != before and not job["queued"] and job["status"] != "running"
        return job if done else None

    return server.wait_until(finished, what=f"a run of {name}")


def stop_job(database_url: str, name: str, attempts: int = 5) -> None:
    """The state five failed runs leave (how a job fails is covered in-process)."""
    from sqlalchemy import update

    from wasb.scheduler.tables import ScheduledJob
    from wasb.store.engine import open_database

    db = open_database(database_url)
    try:
        with db.sessions() as s, s.begin():
            s.execute(update(ScheduledJob).where(ScheduledJob.name == name).values(
                status="stopped", attempts=attempts, last_error="RuntimeError: the CRM did not answer"))
    finally:
        db.dispose()
