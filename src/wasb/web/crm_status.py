"""What an admin is shown about the CRM: reachable or not, credentials refused or not,
and how many customers' events wait for it (the backlog)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from wasb.config import Config
from wasb.crm.vtenext.link import VtenextLink
from wasb.inbound.intake import PROCESS_TASK
from wasb.jobs.queue import JobQueue
from wasb.settings.service import load_settings
from wasb.tickets.agent_comments import POLL_TASK, read_state

CRM_TASKS = (PROCESS_TASK, POLL_TASK)


def backlog(session: Session, queue: JobQueue) -> dict:
    """Inbound jobs not done yet: the events waiting for the CRM (or just queued)."""
    jobs = queue.backlog(session, PROCESS_TASK)
    return {
        "pending_jobs": jobs.pending,
        "waiting_jobs": jobs.retrying,  # tried at least once, waiting to try again
        "failed_jobs": jobs.failed,
        "oldest_pending_since": jobs.oldest_pending_at,
        "last_job_error": _last_line(jobs.last_error) if jobs.last_error else None,
        "next_try_at": jobs.next_try_at,
    }


def crm_status(config: Config, link: VtenextLink | None, queue: JobQueue, session: Session) -> dict:
    """`link`: the external CRM's (None with the embedded CRM)."""
    status: dict[str, Any] = {"crm": config.crm, "backlog": backlog(session, queue)}
    if link is None:
        status.update(state="ok", reachable=True, auth_failure=None)
        return status
    health = link.health.view()  # as the worker process found it (stored in the database)
    auth_failure = link.auth_failure
    reachable = health.reachable
    settings = load_settings(session, config)
    problems = link.problems(settings)
    state = ("auth_failure" if auth_failure else "misconfigured" if problems
             else "unavailable" if reachable is False else "ok")
    status.update(
        state=state,
        url=link.ws.endpoint,
        user=link.ws.username,
        reachable=reachable,
        auth_failure=auth_failure,
        last_ok_at=health.last_ok_at,
        last_error=health.last_error,
        last_error_at=health.last_error_at,
        agent_comments=read_state(session),
        problems=problems,
        warnings=link.warnings(settings),
    )
    if problems:
        status["action"] = ("the customers' messages wait: choose ticket statuses the CRM has in Settings "
                            "(or add the values to the CRM's picklist), give the CRM user's role the rights "
                            "it lacks; `wasb crm check` lists them")
    if auth_failure:
        status["action"] = ("fix the CRM user or access key (WASB_CRM_USER / WASB_CRM_ACCESS_KEY, then "
                            "restart), or unlock the user in the CRM; then POST /api/v1/crm/reset-auth")
    return status


def reset_auth(link: VtenextLink | None, queue: JobQueue, session: Session, *, forget_failures: bool = False) -> int:
    """Allow logging in to the CRM again (every process: the hold is in the database),
    and run the jobs that wait for it now. Returns how many waiting jobs were made due."""
    if link is not None:
        link.reset_auth(forget_failures=forget_failures)
    return queue.run_now(session, CRM_TASKS)


def _last_line(error: str) -> str:
    lines = error.strip().splitlines()
    return lines[-1] if lines else error
