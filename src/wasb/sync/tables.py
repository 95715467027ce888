"""Where each incremental sync left off, so a run only reads what changed since."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, UTCDateTime, utcnow


class SyncCursor(Base):
    __tablename__ = "sync_cursor"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Opaque to the service for CRM feeds (the adapter's own format).
    value: Mapped[str | None] = mapped_column(Text)
    # When the feed was last read up to `value`: a cursor older than the sync window
    # is dropped and the feed restarts at the window's start.
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
