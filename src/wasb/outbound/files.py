"""Files an agent uploads with a message, kept until the sender has handed them to Meta.

Content-addressed (`<media_dir>/outbound/<sha256>`): the same file sent twice is stored once,
and a name can never point outside the directory.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.conversations.tables import Conversation, Message
from wasb.store.base import utcnow

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def upload_path(sha256: str) -> str:
    """The upload's path inside the media directory, as the media store names files: the
    message that sent it serves it from there (GET /api/v1/messages/{id}/media)."""
    if not _SHA256.match(sha256):
        raise ValueError("not a sha256 digest")
    return f"outbound/{sha256}"


def _path(media_dir: Path, sha256: str) -> Path:
    return Path(media_dir) / upload_path(sha256)


def store_upload(media_dir: Path, content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    target = _path(media_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    return digest


def read_upload(media_dir: Path, sha256: str) -> bytes | None:
    path = _path(media_dir, sha256)
    return path.read_bytes() if path.exists() else None


# Meta keeps an uploaded file 30 days; a media id younger than this is used again.
REUSE_UPLOAD = timedelta(days=25)


def uploaded_media_id(session: Session, sha256: str, phone_number_id: str) -> str | None:
    """The media id Meta gave this file when a message of `phone_number_id` uploaded it lately:
    a campaign's header file is uploaded once, not once per recipient."""
    return session.scalar(
        select(Message.media_id).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.media_sha256 == sha256, Message.media_uploaded_at > utcnow() - REUSE_UPLOAD,
               Message.media_id.is_not(None), Conversation.phone_number_id == phone_number_id)
        .order_by(Message.media_uploaded_at.desc()).limit(1))
