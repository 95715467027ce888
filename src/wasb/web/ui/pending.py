"""The UI's connections to services other branches are still building — all in one place.

Each function here is what a page calls; the lead replaces its body with a call to the
real service when that lands (issue numbers below). Until then each one says plainly
that the feature is not wired, and the pages show that message instead of pretending.
Nothing here sends anything: sending logic belongs to the WhatsApp side, not the UI.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from wasb.conversations.tables import Message


class NotWiredYet(RuntimeError):
    """The service behind this button has not landed yet."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


# --- issue 3: outbound messages (media download is wired) ----------------------------

def send_text(app: Any, session: Session, *, conversation_id: int, author: str, body: str,
              attachment: Attachment | None = None, reply_to: str | None = None) -> Message:
    """Write a queued outbound row and enqueue its send job (POST /api/v1/conversations/{id}/messages).

    Must raise an exception whose str() a person can read when the window is closed.
    """
    raise NotWiredYet("Sending messages is not wired yet (issue 3: outbound messages).")


def media_url(message: Message) -> str | None:
    """Where a logged-in user downloads this message's media, once it is in the media store.

    Wired: the REST API's GET /api/v1/messages/{id}/media accepts the UI's session cookie.
    """
    from wasb.media.downloads import STORED

    return f"/api/v1/messages/{message.id}/media" if message.media_state == STORED and message.media_path else None


@dataclass(frozen=True)
class ChannelHealth:
    state: str  # "ok", "unhealthy" (e.g. token expired: Meta's 190), "unknown"
    detail: str = ""


def channel_health(app: Any) -> ChannelHealth:
    """The sender marks the channel unhealthy on an auth error (issue 3)."""
    return ChannelHealth("unknown", "Channel health is reported once the sender is wired (issue 3).")


# --- issue 4: templates, actions, ticket processes -------------------------------------

def send_template(app: Any, session: Session, *, conversation_id: int, author: str, template_id: int,
                  params: dict[str, str]) -> Message:
    """POST /api/v1/templates/{id}/send to the conversation's customer."""
    raise NotWiredYet("Sending templates is not wired yet (issue 4: templates and actions).")


def send_template_to_person(app: Any, session: Session, *, person_id: str, author: str, template_id: int,
                            params: dict[str, str]) -> Message:
    """"Send Template" from a CRM record: POST /api/v1/templates/{id}/send {to: {person_id}}
    (opens or reuses the person's conversation)."""
    raise NotWiredYet("Sending templates is not wired yet (issue 4: templates and actions).")


def add_ticket_comment(app: Any, session: Session, *, ticket_id: str, author: str, body: str) -> None:
    """The ticket process: the comment is stored on the ticket and goes out on WhatsApp
    (as text inside the window, through the fallback template outside it)."""
    raise NotWiredYet("Ticket comments are not wired yet (issue 4: the ticket process).")


def sync_templates(app: Any) -> str:
    """POST /api/v1/templates/sync: returns a one-line summary."""
    raise NotWiredYet("Template sync is not wired yet (issue 4: templates).")


def push_person(app: Any, session: Session, *, person_id: str) -> None:
    """"Push to WhatsApp address book" (POST /api/v1/people/{id}/push)."""
    raise NotWiredYet("Pushing a record to the address book is not wired yet (issue 4).")


# --- issue 5: scheduled jobs (wired: wasb.scheduler.service) ------------------------------

@dataclass(frozen=True)
class JobRow:
    name: str
    description: str
    active: bool
    status: str  # idle, running, failed, stopped
    attempts: int
    max_attempts: int
    last_run: datetime | None
    schedule: str  # "at 17:45" / "every 300 s"
    last_error: str | None = None
    next_run: datetime | None = None
    queued: bool = False
    last_duration_seconds: float | None = None


def list_jobs(app: Any, session: Session) -> list[JobRow] | None:
    """The plugin's cron table (None would mean no scheduler: the page says so)."""
    from wasb.scheduler.registry import job_specs
    from wasb.scheduler.service import list_jobs as scheduled, schedule_of

    specs = job_specs(app)
    return [JobRow(name=row.name, description=specs[row.name].description, active=row.active, status=row.status,
                   attempts=row.attempts, max_attempts=row.max_attempts, last_run=row.last_run_at,
                   schedule=schedule_of(row).describe(), last_error=row.last_error, next_run=row.next_run_at,
                   queued=row.requested_at is not None, last_duration_seconds=row.last_duration_seconds)
            for row in scheduled(session, specs)]


def _job_refusal(exc: Exception) -> ValueError:
    return ValueError(str(exc))


def run_job(app: Any, name: str, *, actor: str) -> None:
    """Queue a run now ("Run now"); refused while one is queued or running, or when stopped."""
    from wasb.scheduler.service import JobBusy, JobStopped, request_run
    from wasb.store.base import utcnow

    with app.db.sessions() as session, session.begin():
        try:
            request_run(session, app.queue, name, utcnow())
        except (JobBusy, JobStopped) as exc:
            raise _job_refusal(exc) from exc
    if getattr(app, "worker", None):
        app.worker.wake()


def reset_job(app: Any, name: str, *, actor: str) -> None:
    from wasb.scheduler.service import JobBusy, reset_job as reset
    from wasb.store.base import utcnow

    with app.db.sessions() as session, session.begin():
        try:
            reset(session, name, app.config.tz, utcnow(), actor=actor)
        except JobBusy as exc:
            raise _job_refusal(exc) from exc


def set_job(app: Any, name: str, *, active: bool, schedule: str, actor: str) -> None:
    """"Set": the active flag and the schedule ("at 17:45", "every 300 s")."""
    from wasb.scheduler.service import update_job
    from wasb.store.base import utcnow

    with app.db.sessions() as session, session.begin():
        update_job(session, name, app.config.tz, utcnow(), actor=actor, active=active, schedule=schedule or None)
