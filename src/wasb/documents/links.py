"""Temporary public links to a CRM document (the plugin's "Create Local Document Link").

WhatsApp sends a document by link by fetching it itself, without our login. So the
document is copied into the media store under `links/<sha256 of the token>` and
served at `/public/media/<token>/<filename>` to whoever has the URL:

- the token is `secrets.token_urlsafe(32)` (256 bits); only its hash is stored;
- the first GET claims the link (a conditional UPDATE, so two fetchers can never
  both get it) and the copy is deleted once the body has been sent;
- a link never fetched dies after `document_link_ttl_minutes` (default 10): a job
  enqueued with the link removes it then, and a request after the deadline is
  refused (and removes it) even if that job has not run yet;
- the file to serve is found by looking the token up, never from the URL: the
  filename in the URL must equal the link's own, and is otherwise ignored.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wasb.config import Config
from wasb.crm.port import CRM
from wasb.documents.tables import DocumentLinkRecord
from wasb.domain.filenames import safe_filename
from wasb.jobs.queue import JobQueue, Task
from wasb.media.store import MediaStore, OutsideStore
from wasb.runtime import Runtime
from wasb.settings.service import load_settings
from wasb.store.base import utcnow

log = logging.getLogger(__name__)

REMOVE_LINK_TASK = "document_link.remove"
PUBLIC_PREFIX = "/public/media"
# What secrets.token_urlsafe(32) makes: 43 characters of the URL-safe base64 alphabet.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


class DocumentNotFound(LookupError):
    pass


@dataclass(frozen=True)
class DocumentLink:
    """A link just made. `token` and `url` exist only here: they are not stored."""

    id: int
    url: str
    token: str
    document_id: str
    filename: str
    mime_type: str
    size: int
    expires_at: datetime


@dataclass(frozen=True)
class OpenedLink:
    id: int
    path: Path
    filename: str
    mime_type: str
    size: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PublicUrlMissing(RuntimeError):
    """No WASB_PUBLIC_URL: there is no address to put in a link."""


def public_base_url(config: Config) -> str:
    """Where Meta's fetcher reaches us: WASB_PUBLIC_URL, and only that. Never the Host
    header of the request: a caller could set it to any site, and the link goes to a customer."""
    if not config.public_url:
        raise PublicUrlMissing("temporary document links need WASB_PUBLIC_URL (the https:// address "
                               "WhatsApp reaches this service at); it is not set")
    return config.public_url.rstrip("/")


def link_store(config: Config) -> MediaStore:
    return MediaStore(config.media_dir)


def create_link(session: Session, config: Config, crm: CRM, queue: JobQueue, document_id: str, base_url: str,
                *, now: datetime | None = None) -> DocumentLink:
    """Copy a CRM document to a public path under a fresh token; it lives until its
    first fetch or the TTL, whichever comes first."""
    document = crm.get_document(str(document_id))
    if document is None:
        raise DocumentNotFound(f"no document {document_id}")
    now = now or utcnow()
    ttl = timedelta(minutes=load_settings(session, config).document_link_ttl_minutes)
    token = secrets.token_urlsafe(32)
    hashed = token_hash(token)
    filename = safe_filename(document.filename, fallback="document")
    stored = link_store(config).put_named(f"links/{hashed}", document.content)
    record = DocumentLinkRecord(token_hash=hashed, document_id=document.id, filename=filename,
                                mime_type=document.mime_type, path=stored.path, size=stored.size,
                                created_at=now, expires_at=now + ttl)
    session.add(record)
    session.flush()
    queue.enqueue(session, REMOVE_LINK_TASK, {"link_id": record.id}, ref=f"document_link:{record.id}",
                  delay_seconds=ttl.total_seconds() + 1)
    url = f"{base_url.rstrip('/')}{PUBLIC_PREFIX}/{token}/{quote(filename)}"
    return DocumentLink(id=record.id, url=url, token=token, document_id=document.id, filename=filename,
                        mime_type=document.mime_type, size=stored.size, expires_at=record.expires_at)


def find_link(session: Session, store: MediaStore, token: str, filename: str,
              now: datetime | None = None) -> DocumentLinkRecord | None:
    """The live link behind a URL, or None (unknown token, other filename, fetched,
    deleted, expired, file gone). An expired one found here is removed."""
    if not _TOKEN.match(token):
        return None
    record = session.scalars(select(DocumentLinkRecord).where(
        DocumentLinkRecord.token_hash == token_hash(token))).first()
    if record is None or record.deleted_at is not None or record.fetched_at is not None:
        return None
    if filename != record.filename:
        return None
    if (now or utcnow()) >= record.expires_at:
        _remove(session, store, record, now or utcnow())
        return None
    try:
        if not store.resolve(record.path).is_file():
            return None
    except OutsideStore:
        log.error("document link %s points outside the media store; refused", record.id)
        return None
    return record


def claim_link(session: Session, store: MediaStore, token: str, filename: str,
               now: datetime | None = None) -> OpenedLink | None:
    """The first fetch: marks the link fetched (only one request can win) and answers
    what to send. The caller deletes the copy with `finish_fetch` once it is sent."""
    now = now or utcnow()
    record = find_link(session, store, token, filename, now)
    if record is None:
        return None
    claimed = session.execute(update(DocumentLinkRecord).where(
        DocumentLinkRecord.id == record.id, DocumentLinkRecord.fetched_at.is_(None),
        DocumentLinkRecord.deleted_at.is_(None)).values(fetched_at=now)).rowcount
    if claimed != 1:
        return None
    return OpenedLink(record.id, store.resolve(record.path), record.filename, record.mime_type, record.size)


def finish_fetch(session: Session, store: MediaStore, link_id: int) -> None:
    record = session.get(DocumentLinkRecord, link_id)
    if record is not None and record.deleted_at is None:
        _remove(session, store, record, utcnow())


def remove_expired_links(session: Session, store: MediaStore, now: datetime | None = None,
                         limit: int = 500) -> int:
    """Delete every link past its TTL, fetched or not (a fetched copy whose deletion
    did not happen, because the fetcher hung up mid-way, goes here too)."""
    now = now or utcnow()
    records = session.scalars(select(DocumentLinkRecord).where(
        DocumentLinkRecord.deleted_at.is_(None), DocumentLinkRecord.expires_at <= now)
        .order_by(DocumentLinkRecord.id).limit(limit)).all()
    for record in records:
        _remove(session, store, record, now)
    return len(records)


def _remove(session: Session, store: MediaStore, record: DocumentLinkRecord, now: datetime) -> None:
    try:
        store.remove(record.path)
    except OutsideStore:
        log.error("document link %s points outside the media store; file left alone", record.id)
    record.deleted_at = now


def _remove_link_job(rt: Runtime, session: Session, payload: dict) -> None:
    # The sweep covers this link (its TTL has passed) and any other left behind.
    remove_expired_links(session, link_store(rt.config))


REMOVE_LINK = Task(name=REMOVE_LINK_TASK, run=_remove_link_job, max_attempts=5)
