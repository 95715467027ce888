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


# --- issue 5: scheduled jobs -------------------------------------------------------------

@dataclass(frozen=True)
class JobRow:
    name: str
    active: bool
    status: str
    attempts: int
    max_attempts: int
    last_run: datetime | None
    schedule: str  # "at 17:45" / "every 300 s"
    last_error: str | None = None
    next_run: datetime | None = None


def list_jobs(app: Any, session: Session) -> list[JobRow] | None:
    """GET /api/v1/jobs. None means the scheduler has not landed (the page says so)."""
    return None


def run_job(app: Any, name: str) -> None:
    raise NotWiredYet("Running jobs is not wired yet (issue 5: the scheduler).")


def reset_job(app: Any, name: str) -> None:
    raise NotWiredYet("Resetting jobs is not wired yet (issue 5: the scheduler).")


def set_job(app: Any, name: str, *, active: bool, schedule: str) -> None:
    """PUT /api/v1/jobs/{name}: schedule is "HH:MM" (daily) or "every N" seconds."""
    raise NotWiredYet("Editing job schedules is not wired yet (issue 5: the scheduler).")
