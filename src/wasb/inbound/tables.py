"""Every webhook body Meta sent us, kept raw and forever (nothing is deleted)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, BigId, UTCDateTime, utcnow

PENDING = "pending"
PROCESSED = "processed"
FAILED = "failed"


class InboundEvent(Base):
    __tablename__ = "inbound_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    # Meta redelivers the same body; its hash makes the second copy a no-op.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    pending_jobs: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class IntakeCursor(Base):
    """How far the worker has moved an intake journal (`wasb.inbound.journal`) into
    `inbound_event`: advanced in the transaction that stores the rows."""

    __tablename__ = "intake_cursor"

    # The journal file's own random id: a journal made anew is moved from its start.
    journal: Mapped[str] = mapped_column(String(32), primary_key=True)
    moved_id: Mapped[int] = mapped_column(BigInteger, default=0)
