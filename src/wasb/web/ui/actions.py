"""The UI's connections to the services that send, sync and push — all in one place.

Each function is what a page calls, and each calls the same service function as the REST
API, so the UI and the API cannot drift apart. Nothing here sends anything itself:
sending belongs to `wasb.outbound`, templates to `wasb.templates`, the ticket process to
`wasb.tickets.process`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from wasb.bootstrap import App
from wasb.conversations.tables import Message


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


# --- messages ---------------------------------------------------------------------------

def send_text(app: App, session: Session, *, conversation_id: int, author: str, body: str,
              attachment: Attachment | None = None, reply_to: str | None = None) -> Message:
    """Write a queued outbound row and enqueue its send job (POST /api/v1/conversations/{id}/messages).

    Raises an exception whose str() a person can read, e.g. when the window is closed.
    """
    from wasb.outbound.service import Outgoing, queue_message

    kind = "text"
    upload = _upload(attachment)
    if attachment is not None:
        kind = "image" if attachment.content_type.startswith("image/") else "document"
    outgoing = Outgoing(type=kind, body=body or None, upload=upload, reply_to=reply_to)
    return queue_message(app, session, conversation_id, outgoing, author)


def media_url(message: Message) -> str | None:
    """Where a logged-in user downloads this message's media, once it is in the media store
    (the REST API's GET /api/v1/messages/{id}/media accepts the UI's session cookie)."""
    from wasb.media.downloads import STORED

    return f"/api/v1/messages/{message.id}/media" if message.media_state == STORED and message.media_path else None


@dataclass(frozen=True)
class ChannelHealth:
    state: str  # "ok", "unhealthy" (e.g. token expired: Meta's 190), "unknown"
    detail: str = ""


def channel_health(app: App) -> ChannelHealth:
    """The sender marks the channel unhealthy on an auth error (Meta's 190)."""
    from wasb.outbound import channel
    from wasb.outbound.tables import HEALTHY

    with app.db.read_sessions() as session:
        health = channel.channel_health(session, app.config.phone_number_id)
    return ChannelHealth("ok" if health.status == HEALTHY else health.status, health.reason or "")


# --- templates, actions, the ticket process ---------------------------------------------

def send_template(app: App, session: Session, *, conversation_id: int, author: str, template_id: int,
                  params: dict[str, str], header: Attachment | None = None) -> Message:
    """POST /api/v1/templates/{id}/send to the conversation's customer (`header`: the file of a
    media header)."""
    from wasb.conversations.tables import Conversation
    from wasb.outbound.service import Outgoing, queue_message
    from wasb.templates.parameters import as_mapping, check_values, describe_parameters
    from wasb.templates.service import check_sendable, get_template

    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise LookupError(f"no conversation {conversation_id}")
    template = get_template(session, template_id)
    check_sendable(template)
    spec = describe_parameters(template)
    values = check_values(spec, as_mapping(spec, params or None), header_document=header is not None)
    outgoing = Outgoing(type="template", template_name=template.name, template_language=template.language,
                        template_values=values, upload=_upload(header))
    return queue_message(app, session, conversation_id, outgoing, author)


def send_template_to_person(app: App, session: Session, *, person_id: str, author: str, template_id: int,
                            params: dict[str, str], header: Attachment | None = None) -> Message:
    """"Send Template" from a CRM record: POST /api/v1/templates/{id}/send {to: {person_id}}
    (opens or reuses the person's conversation)."""
    from wasb.outbound.templates import TemplateSend, send_template as send

    return send(app, session, template_id,
                TemplateSend(person_id=person_id, params=params or None, header_upload=_upload(header)), author)


def _upload(attachment: Attachment | None):
    from wasb.outbound.service import Upload

    return Upload(attachment.filename, attachment.content_type, attachment.content) if attachment else None


def add_ticket_comment(app: App, session: Session, *, ticket_id: str, author: str, body: str):
    """The ticket process: the comment is stored on the ticket and goes out on WhatsApp
    (as text inside the window; outside it, it waits and the fallback template asks the
    customer to write). Returns the CommentDelivery: what became of it."""
    from wasb.tickets.process import comment_to_whatsapp

    return comment_to_whatsapp(app, session, ticket_id, body, author)


def sync_templates(app: App) -> dict[str, int]:
    """POST /api/v1/templates/sync: how many templates Meta has, and what changed here."""
    from wasb.sync.templates import sync_from_meta as sync

    summary = sync(app)
    return {"seen": summary.seen, "new": len(summary.created), "changed": len(summary.updated),
            "gone": len(summary.deleted)}


def push_person(app: App, session: Session, *, person_id: str) -> None:
    """"Push to WhatsApp address book" (POST /api/v1/people/{id}/push)."""
    from wasb.contacts.push import push_person as push

    push(app, session, person_id)


# --- scheduled jobs ---------------------------------------------------------------------

@dataclass(frozen=True)
class JobRow:
    name: str
    description: str
    active: bool
    status: str  # idle, running, failed, stopped
    attempts: int
    max_attempts: int
    last_run: datetime | None
    schedule: str  # "at 17:45" / "every 300 s" (English, as the API says it)
    last_error: str | None = None
    next_run: datetime | None = None
    queued: bool = False
    last_duration_seconds: float | None = None
    every_seconds: int | None = None  # the schedule's parts, for the page to word it in the user's language
    daily_at: str | None = None


def list_jobs(app: App, session: Session) -> list[JobRow]:
    """The plugin's cron table."""
    from wasb.scheduler.registry import job_specs
    from wasb.scheduler.service import list_jobs as scheduled, schedule_of

    specs = job_specs(app)
    return [JobRow(name=row.name, description=specs[row.name].description, active=row.active, status=row.status,
                   attempts=row.attempts, max_attempts=row.max_attempts, last_run=row.last_run_at,
                   schedule=schedule_of(row).describe(), last_error=row.last_error, next_run=row.next_run_at,
                   queued=row.requested_at is not None, last_duration_seconds=row.last_duration_seconds,
                   every_seconds=schedule_of(row).every_seconds, daily_at=schedule_of(row).at)
            for row in scheduled(session, specs)]


class JobRefused(ValueError):
    """A run or reset refused: `busy` (running or queued) or `stopped` (reset it first)."""

    def __init__(self, message: str, why: str):
        super().__init__(message)
        self.why = why


def _job_refusal(exc: Exception) -> ValueError:
    from wasb.scheduler.service import JobStopped

    return JobRefused(str(exc), "stopped" if isinstance(exc, JobStopped) else "busy")


def run_job(app: App, name: str, *, actor: str) -> None:
    """Queue a run now ("Run now"); refused while one is queued or running, or when stopped."""
    from wasb.scheduler.service import JobBusy, JobStopped, request_run
    from wasb.store.base import utcnow

    with app.db.sessions() as session, session.begin():
        try:
            request_run(session, app.queue, name, utcnow())
        except (JobBusy, JobStopped) as exc:
            raise _job_refusal(exc) from exc
    app.wake_worker()


def reset_job(app: App, name: str, *, actor: str) -> None:
    from wasb.scheduler.service import JobBusy, reset_job as reset
    from wasb.store.base import utcnow

    with app.db.sessions() as session, session.begin():
        try:
            reset(session, name, app.config.tz, utcnow(), actor=actor)
        except JobBusy as exc:
            raise _job_refusal(exc) from exc


def set_job(app: App, name: str, *, actor: str, active: bool | None = None, schedule: str | None = None) -> None:
    """The active switch, or "Set" with the schedule ("at 17:45", "every 300 s"); None leaves a field as it is."""
    from wasb.scheduler.service import update_job
    from wasb.store.base import utcnow

    with app.db.sessions() as session, session.begin():
        update_job(session, name, app.config.tz, utcnow(), actor=actor, active=active, schedule=schedule or None)
