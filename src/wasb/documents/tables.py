"""Temporary public links to a copy of a CRM document (the plugin's "Local Document Link")."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, UTCDateTime, utcnow


class DocumentLinkRecord(Base):
    __tablename__ = "document_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # sha256 of the URL's token: the token itself is never stored, so a copy of the
    # database does not open the links.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    document_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))  # as it appears in the URL (safe_filename)
    mime_type: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(300))  # relative to WASB_MEDIA_DIR
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
