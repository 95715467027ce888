"""Downloading a customer's photo, document, voice note or video from Meta.

Storing the message enqueues a `media.download` job of its own (lock
`media:<message id>`, never the customer's lock), so a slow or failing download
neither holds up that customer's next messages nor runs the message twice. The
job asks Meta where the file is (`GET /{media-id}`), downloads it with the bearer
token, checks it against the webhook's sha256, and keeps it in the media store.

Failures are retried on the download's own schedule (30 s doubling, at most an
hour apart) until Meta forgets the file, 7 days after the message; then the media
is `expired`. Failures that waiting does not cure (a file that does not match its
hash, a media id Meta refuses) are tried a few times, then the media is `failed`.
The message itself is never touched beyond its media columns.

No database lock is held while Meta answers: the message is read in a read
session, and the job's own (write) session is used only once the file is on disk.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.conversations.tables import Message
from wasb.jobs.backoff import backoff_seconds
from wasb.jobs.queue import JobQueue, Task, last_line
from wasb.media.store import MediaStore, StoredFile
from wasb.runtime import Runtime
from wasb.store.base import utcnow
from wasb.store.engine import Database
from wasb.whatsapp.client import GraphClient
from wasb.whatsapp.errors import GraphError, PermanentError
from wasb.whatsapp.media import sha256_matches

log = logging.getLogger(__name__)

DOWNLOAD_TASK = "media.download"

PENDING = "pending"
STORED = "stored"
FAILED = "failed"
EXPIRED = "expired"

MEDIA_LIFETIME = timedelta(days=7)  # how long Meta keeps a media id downloadable
FIRST_RETRY_SECONDS = 30.0
RETRY_CAP_SECONDS = 3600.0
# Failures that do not heal by waiting are tried this many times in all.
ATTEMPTS_WHEN_HOPELESS = 3


class MediaMismatch(Exception):
    """The bytes downloaded are not the file the webhook described."""


@dataclass(frozen=True)
class Wanted:
    message_id: int
    media_id: str
    sha256: str | None
    mime_type: str | None
    received_at: datetime


def enqueue_download(session: Session, queue: JobQueue, message_id: int) -> None:
    """Called when an inbound message is stored with its media `pending`: the media is
    fetched by a job of its own, enqueued in the same transaction."""
    _enqueue(session, queue, message_id, failures=0)


def _enqueue(session: Session, queue: JobQueue, message_id: int, failures: int, delay_seconds: float = 0) -> None:
    queue.enqueue(session, DOWNLOAD_TASK, {"message_id": message_id, "failures": failures},
                  lock=f"media:{message_id}", ref=_ref(message_id), delay_seconds=delay_seconds)


def _ref(message_id: int) -> str:
    return f"message:{message_id}:media"


def media_store(config: Any) -> MediaStore:
    return MediaStore(config.media_dir)


# --- the job ---------------------------------------------------------------------------


def download(rt: Runtime, session: Session, payload: dict) -> None:
    wanted = _still_wanted(rt.db, payload["message_id"])
    if wanted is None:
        return  # stored, given up, or gone: a duplicate job has nothing to do
    failures = int(payload.get("failures") or 0)
    try:
        stored, mime = fetch_and_store(rt.config, wanted)
    except (GraphError, MediaMismatch, OSError) as exc:
        _after_failure(session, rt.queue, wanted.message_id, failures + 1, exc)
        return
    message = session.get(Message, wanted.message_id)
    if message is None or message.media_state != PENDING:
        return
    message.media_state, message.media_path, message.media_size = STORED, stored.path, stored.size
    message.media_error = None
    message.media_mime = message.media_mime or mime
    log.info("media of message %s stored (%s bytes)", message.id, stored.size)


def _still_wanted(db: Database, message_id: int) -> Wanted | None:
    with db.read_sessions() as read:
        message = read.get(Message, message_id)
        if message is None or message.media_state != PENDING or not message.media_id:
            return None
        return Wanted(message.id, message.media_id, message.media_sha256, message.media_mime, message.timestamp)


def fetch_and_store(config: Any, wanted: Wanted) -> tuple[StoredFile, str | None]:
    """Meta's URL for the media id, the bytes behind it, checked, then on disk."""
    with GraphClient.from_config(config) as client:
        info = client.get_media(wanted.media_id)
        content = client.download_media(info.url)
    expected = wanted.sha256 or info.sha256  # the webhook's (base64), else Meta's answer (hex)
    if expected and not sha256_matches(content, expected):
        raise MediaMismatch(f"the {len(content)} bytes downloaded do not match the sha256 "
                            f"the webhook gave ({expected})")
    return media_store(config).put_content(content), info.mime_type


def _after_failure(session: Session, queue: JobQueue, message_id: int, failures: int, exc: Exception) -> None:
    message = session.get(Message, message_id)
    if message is None or message.media_state != PENDING:
        return
    now = utcnow()
    deadline = message.timestamp + MEDIA_LIFETIME
    reason = describe_failure(exc)
    hopeless = isinstance(exc, (MediaMismatch, PermanentError))
    if now >= deadline:
        message.media_state = EXPIRED
        message.media_error = f"Meta keeps media for 7 days and no longer has this file ({reason})"
    elif hopeless and failures >= ATTEMPTS_WHEN_HOPELESS:
        message.media_state = FAILED
        message.media_error = f"gave up after {failures} attempts: {reason}"
    else:
        message.media_error = f"attempt {failures} failed, will try again: {reason}"
        delay = backoff_seconds(failures, base=FIRST_RETRY_SECONDS, cap=RETRY_CAP_SECONDS)
        # The last try happens at the deadline at the latest: after it, Meta has nothing.
        _enqueue(session, queue, message_id, failures, min(delay, max(0.0, (deadline - now).total_seconds())))
    log.warning("media of message %s: attempt %s failed (%s) -> %s", message_id, failures, reason,
                message.media_state)


def describe_failure(exc: Exception) -> str:
    """A sentence for the message's media_error (never a token or a signed URL)."""
    if isinstance(exc, GraphError):
        code = f" (code {exc.code})" if exc.code is not None else ""
        return f"WhatsApp answered{code}: {exc.details or exc.message}"
    if isinstance(exc, OSError):
        return f"the file could not be written: {exc.strerror or type(exc).__name__}"
    return str(exc)


def _give_up(rt: Runtime, session: Session, payload: dict, error: str) -> None:
    """The job itself kept crashing (not Meta, not the file): say so on the message."""
    message = session.get(Message, payload["message_id"])
    if message is not None and message.media_state == PENDING:
        message.media_state = FAILED
        message.media_error = f"the download job failed: {last_line(error, 'unknown error')}"


DOWNLOAD = Task(name=DOWNLOAD_TASK, run=download, max_attempts=5, on_give_up=_give_up)


# --- reconciliation (syncMessages) --------------------------------------------------------


def retry_pending_media(rt: Runtime, limit: int = 500) -> dict:
    """Media that is pending without a job to fetch it (lost, or from before this
    feature) or that failed gets a fresh download while Meta still keeps it; older
    media is marked expired. Returns counts for the sync's summary."""
    now = utcnow()
    requeued = expired = 0
    with rt.db.sessions() as session, session.begin():
        candidates = session.scalars(
            select(Message).where(Message.direction == "in", Message.media_id.is_not(None),
                                  Message.media_state.in_((PENDING, FAILED)))
            .order_by(Message.id).limit(limit)).all()
        live = {job.ref for job in rt.queue.jobs_of(session, [_ref(m.id) for m in candidates]) if job.waiting}
        for message in candidates:
            if _ref(message.id) in live:
                continue
            if now >= message.timestamp + MEDIA_LIFETIME:
                message.media_state = EXPIRED
                message.media_error = "Meta keeps media for 7 days; it was not downloaded in time"
                expired += 1
                continue
            message.media_state = PENDING
            _enqueue(session, rt.queue, message.id, failures=0)
            requeued += 1
    return {"requeued": requeued, "expired": expired}
