"""The change feed: one row per conversation touched by a committed transaction.

Append-only (no hot counter row for concurrent writers to queue on); rows older than a
few minutes are pruned. Other processes poll it, so pages stay live when several web
and worker processes share one PostgreSQL database.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, BigId, UTCDateTime, utcnow


class LiveChange(Base):
    __tablename__ = "live_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # What changed: "conversation".
    topic: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64))
    # The process that wrote it: it has told its own pages already.
    origin: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
