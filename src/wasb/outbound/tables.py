"""The health of a WhatsApp channel (a business number) as the sender last found it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, UTCDateTime, utcnow

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"


class ChannelHealth(Base):
    __tablename__ = "channel_health"

    phone_number_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=HEALTHY)
    reason: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None] = mapped_column(Integer)
    # Since when the channel has been in this status, and when the sender last tried it.
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A short hash of the token Meta refused: a different token is worth trying at once.
    token_fingerprint: Mapped[str | None] = mapped_column(String(16))


class SendSlot(Base):
    """One of a number's `capacity` send tokens, shared by every sender process on PostgreSQL
    (`wasb.outbound.shared_limits`): free from `free_at` on (a token under way: far ahead)."""

    __tablename__ = "send_slot"

    phone_number_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    free_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SendPace(Base):
    """When the latest messages to one recipient went out (epoch seconds, the database's
    clock), for the per-recipient pacing shared by every sender process on PostgreSQL."""

    __tablename__ = "send_pace"

    phone_number_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(64), primary_key=True)
    times: Mapped[list] = mapped_column(JSON().with_variant(ARRAY(Float), "postgresql"))
